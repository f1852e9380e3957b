//! Encrypted mini-batches in a folder, the way the hospital ships a training set to the cloud, read back one
//! batch at a time so the cloud's memory stays bounded by one batch.
//!
//! The folder holds `params.mbl` (the parameter set), `train.keys` (relinearization key, then the Galois keys of
//! the packing's rotations), `manifest.txt` and one file per batch, `train-NNNN.cts` / `val-NNNN.cts` /
//! `test-NNNN.cts`: the batch's `blocks · c/2` feature ciphertexts, its `blocks · c/2` shifted feature ciphertexts,
//! then its label ciphertext (all zero for test batches: their labels stay at the hospital), in the wire format,
//! each at the level the trainer first uses it at (at most the fresh level; validation and test batches at
//! [`BatchLevels::INFERENCE`](super::batches::BatchLevels::INFERENCE)). `manifest.txt` is `key=value` lines:
//! `format=medblind-encrypted-batches/3`, `key` (the key pair of every ciphertext and key in the folder, 8 hex
//! digits), `slots`, `batch`, `classes`, `dim` (with the bias column), `train`, `val` and `test` (the real rows of
//! each batch, comma-separated). No secret material.

use super::batches::{BatchLevels, Batches, EncryptedBatch, encrypt_batch};
use super::data::Dataset;
use super::key_owner::KeyOwner;
use super::layout::Layout;
use crate::files::{self, FileError};
use crate::keystore;
use anyhow::{Context as _, Result};
use medblind_core::ckks::Context;
use medblind_core::ckks::bootstrap::fresh_level;
use medblind_core::wire::KeyId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The manifest's format tag.
pub const FORMAT: &str = "medblind-encrypted-batches/3";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.txt";
/// The training keys' file name.
pub const KEYS: &str = "train.keys";

/// The training or the validation part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Batches the model is fitted on.
    Train,
    /// Batches of the encrypted validation loss.
    Val,
    /// Batches for encrypted inference.
    Test,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Val => "val",
            Part::Test => "test",
        }
    }
}

/// An encrypted training set on disk.
#[derive(Clone, Debug)]
pub struct BatchStore {
    dir: PathBuf,
    /// The packing of every batch.
    pub layout: Layout,
    /// The batch size it was packed for.
    pub batch: usize,
    /// The key pair of its ciphertexts and keys.
    pub key: KeyId,
    rows: [Vec<usize>; 3],
}

impl BatchStore {
    /// The folder at `dir` ([`Self::open`]), refused unless its packing is for `ctx`'s slot count.
    ///
    /// # Errors
    /// As [`Self::open`], or a manifest of another ring degree.
    pub fn open_for(dir: &Path, ctx: &Context<Vec<u64>>) -> Result<Self> {
        let store = Self::open(dir)?;
        let slots = ctx.degree() / 2;
        if store.layout.slots != slots {
            let message = format!("packed for {} slots; the folder's parameters have {slots}", store.layout.slots);
            return Err(FileError::content(&dir.join(MANIFEST), message).into());
        }
        Ok(store)
    }

    /// Refuses keys of another key pair than the folder's: `key`, from `holder`.
    ///
    /// # Errors
    /// Naming both key pairs.
    pub fn expect_key(&self, key: KeyId, holder: &Path) -> Result<()> {
        if key != self.key {
            let message = format!(
                "the batches belong to key pair {}, but {} belongs to key pair {key}",
                self.key,
                holder.display()
            );
            return Err(FileError::content(&self.dir.join(MANIFEST), message).into());
        }
        Ok(())
    }

    /// The real rows of each batch of `part`.
    pub fn rows(&self, part: Part) -> &[usize] {
        &self.rows[part as usize]
    }

    /// The file of batch `index` of `part`.
    pub fn batch_path(dir: &Path, part: Part, index: usize) -> PathBuf {
        dir.join(format!("{}-{index:04}.cts", part.name()))
    }

    /// Writes the manifest of a store whose batch files `write_batch` has written (returns the store).
    ///
    /// # Errors
    /// On a write failure, naming the file.
    pub fn create(
        dir: &Path,
        layout: Layout,
        batch: usize,
        key: KeyId,
        mut write_batch: impl FnMut(Part, usize, &Path) -> Result<usize>,
        counts: [usize; 3],
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?;
        let mut rows = [Vec::new(), Vec::new(), Vec::new()];
        for (part, (rows, &count)) in [Part::Train, Part::Val, Part::Test].into_iter().zip(rows.iter_mut().zip(&counts))
        {
            for i in 0..count {
                rows.push(write_batch(part, i, &Self::batch_path(dir, part, i))?);
            }
        }
        let list = |r: &[usize]| r.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        let manifest = format!(
            "format={FORMAT}\nkey={:08x}\nslots={}\nbatch={batch}\nclasses={}\ndim={}\ntrain={}\nval={}\ntest={}\n",
            key.0,
            layout.slots,
            layout.classes,
            layout.dim,
            list(&rows[0]),
            list(&rows[1]),
            list(&rows[2])
        );
        files::write_atomic(&dir.join(MANIFEST), manifest.as_bytes(), false)?;
        Ok(Self { dir: dir.to_path_buf(), layout, batch, key, rows })
    }

    /// Opens a store, checking its manifest.
    ///
    /// # Errors
    /// [`FileError`] naming the manifest and what is wrong with it.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::from_manifest(dir, files::read(&dir.join(MANIFEST))?)
    }

    /// The store at `dir` whose manifest holds `bytes`.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn from_manifest(dir: &Path, bytes: Vec<u8>) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = String::from_utf8(bytes).map_err(|_| FileError::content(&path, "not text"))?;
        let fields: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let field = |k: &str| fields.get(k).copied().ok_or_else(|| FileError::content(&path, format!("no `{k}`")));
        if field("format")? != FORMAT {
            return Err(FileError::content(&path, format!("not a {FORMAT} manifest")).into());
        }
        let number = |k: &str| {
            field(k)?.parse::<usize>().map_err(|_| FileError::content(&path, format!("`{k}` is not a number")))
        };
        let list = |k: &str| -> Result<Vec<usize>, FileError> {
            let v = field(k)?;
            if v.is_empty() {
                return Ok(Vec::new());
            }
            v.split(',')
                .map(|r| r.parse().map_err(|_| FileError::content(&path, format!("`{k}` is not a list of row counts"))))
                .collect()
        };
        let key = u32::from_str_radix(field("key")?, 16)
            .map(KeyId)
            .map_err(|_| FileError::content(&path, "`key` is not 8 hex digits"))?;
        let batch = number("batch")?;
        let layout = Layout::new(number("slots")?, batch, number("classes")?, number("dim")?)
            .with_context(|| path.display().to_string())?;
        let rows = [list("train")?, list("val")?, list("test")?];
        if rows.iter().flatten().any(|&r| r == 0 || r > batch) || rows[0].is_empty() {
            return Err(FileError::content(&path, "batch row counts out of range").into());
        }
        Ok(Self { dir: dir.to_path_buf(), layout, batch, key, rows })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The batches of `part`, read from disk on demand under `ctx`'s parameters.
    pub fn part<'a>(&'a self, ctx: &'a Context<Vec<u64>>, part: Part) -> StoredBatches<'a> {
        StoredBatches { store: self, ctx, part }
    }
}

/// The hospital encrypts `parts` (train, validation, test) into a batch folder at `dir`, in batches of
/// `layout.rows` rows: training batches at `train_levels`, the others at [`BatchLevels::INFERENCE`], test labels
/// withheld (encrypted as zeros). One batch is in memory at a time.
///
/// # Errors
/// As [`encrypt_batch`], or on a write failure.
pub fn encrypt_parts(
    ctx: &Context<Vec<u64>>,
    owner: &KeyOwner<'_>,
    layout: Layout,
    train_levels: BatchLevels,
    parts: [&Dataset; 3],
    dir: &Path,
) -> Result<BatchStore> {
    let batch = layout.rows;
    let counts = parts.map(|data| data.len().div_ceil(batch));
    let bar = crate::progress::items(counts.iter().sum::<usize>() as u64, "encrypting batches", "batches");
    let store = BatchStore::create(
        dir,
        layout,
        batch,
        owner.key(),
        |part, index, path| {
            let data = parts[part as usize];
            let rows = index * batch..((index + 1) * batch).min(data.len());
            let labels = if part == Part::Test { &[][..] } else { &data.labels[rows.clone()] };
            let levels = if part == Part::Train { train_levels } else { BatchLevels::INFERENCE };
            let encrypted = encrypt_batch(owner, &layout, levels, &data.features[rows], labels)?;
            write_batch(ctx, &encrypted, owner.key(), path)?;
            bar.inc(1);
            Ok(encrypted.rows)
        },
        counts,
    )?;
    bar.finish_and_clear();
    Ok(store)
}

/// Writes one batch's ciphertexts (features, shifted features, then labels) to `path`.
///
/// # Errors
/// On an encoding or write failure.
fn write_batch(ctx: &Context<Vec<u64>>, batch: &EncryptedBatch, key: KeyId, path: &Path) -> Result<()> {
    let cts = batch.features.iter().chain(&batch.shifted).chain([&batch.labels]);
    Ok(files::write_atomic(path, &keystore::ciphertexts_to_vec(ctx, cts, key)?, false)?)
}

/// One part of a [`BatchStore`], streamed.
pub struct StoredBatches<'a> {
    store: &'a BatchStore,
    ctx: &'a Context<Vec<u64>>,
    part: Part,
}

impl Batches for StoredBatches<'_> {
    fn count(&self) -> usize {
        self.store.rows[self.part as usize].len()
    }

    fn batch(&self, index: usize) -> Result<Cow<'_, EncryptedBatch>> {
        let path = BatchStore::batch_path(&self.store.dir, self.part, index);
        let bytes = keystore::read_objects(self.ctx, files::open(&path)?, &path)?;
        let count = keystore::split_objects(&path, &bytes)?.len();
        let layout = &self.store.layout;
        let blocks = layout.blocks * layout.class_slots / 2;
        let expected = 2 * blocks + 1;
        if count != expected {
            return Err(FileError::content(&path, format!("{count} ciphertexts, expected {expected}")).into());
        }
        let mut cts = keystore::decode_ciphertexts(self.ctx, &path, &bytes, self.store.key)?;
        let fresh = fresh_level(self.ctx.params().literal());
        if cts.iter().any(|ct| ct.level() > fresh || ct.slots() != layout.slots) {
            let message = format!("a ciphertext is above level {fresh} or has other than {} slots", layout.slots);
            return Err(FileError::content(&path, message).into());
        }
        let labels = cts.pop().expect("2·blocks + 1 ciphertexts");
        let shifted = cts.split_off(blocks);
        let rows = self.store.rows[self.part as usize][index];
        Ok(Cow::Owned(EncryptedBatch { features: cts, shifted, labels, rows }))
    }
}
