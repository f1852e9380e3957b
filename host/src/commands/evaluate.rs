//! `medblind evaluate`: the hospital decrypts trained weights (and the cloud's encrypted logits) and scores them.

use super::parties::{hospital, hospital_store, standardized_split};
use crate::keystore;
use crate::train::key_owner::KeyOwner;
use crate::train::plain;
use crate::train::store::Part;
use anyhow::bail;
use std::path::{Path, PathBuf};

/// Hospital: decrypt trained weights and print their validation and test accuracy.
#[derive(clap::Args)]
pub struct Args {
    /// The key folder (needs secret.key).
    #[arg(long)]
    pub keys: PathBuf,
    /// The batch folder they were trained on.
    #[arg(long)]
    pub data: PathBuf,
    /// The encrypted weights (from `medblind train`).
    #[arg(long)]
    pub weights: PathBuf,
    /// The feature file the batches came from.
    #[arg(long)]
    pub features: PathBuf,
    /// The cloud's encrypted test logits (from `medblind predict`) to decrypt and score too.
    #[arg(long)]
    pub logits: Option<PathBuf>,
}

impl Args {
    /// The hospital decrypts the trained weights and prints their validation and test accuracy
    /// on the feature file they were trained from; with `logits` (from `medblind predict`) it also decrypts the
    /// cloud's encrypted predictions and scores them against the labels and against the decrypted weights' own.
    ///
    /// # Errors
    /// Unreadable inputs, or weights or logits that do not fit the batch folder's packing.
    pub fn run(self) -> anyhow::Result<()> {
        let Self { keys, data, weights, features, logits } = self;
        let (keys, data, weights, features, logits) =
            (keys.as_path(), data.as_path(), weights.as_path(), features.as_path(), logits.as_deref());
        let (session, (sk, key)) = hospital(keys)?;
        let store = hospital_store(data, &session, key, keys)?;
        let layout = store.layout;
        let owner = KeyOwner::from_secret(&session.ctx, &session.encoder, sk, key);
        let decrypt_all = |path: &Path| -> anyhow::Result<Vec<Vec<f64>>> {
            let bytes = session.read_objects(path)?;
            let cts = keystore::decode_ciphertexts(&session.ctx, path, &bytes, key)?;
            if cts.iter().any(|ct| ct.slots() != layout.slots) {
                bail!("{}: ciphertexts of another packing (not {} slots)", path.display(), layout.slots);
            }
            cts.iter().map(|ct| owner.decrypt(ct)).collect()
        };
        let blocks = decrypt_all(weights)?;
        if blocks.len() != layout.blocks {
            bail!(
                "{}: {} ciphertexts, the packing has {} weight blocks",
                weights.display(),
                blocks.len(),
                layout.blocks
            );
        }
        let w = layout.unpack_weights(&blocks);
        let split = standardized_split(features)?;
        if split.train.dim() != layout.dim || split.train.classes != layout.classes {
            bail!("{}: its features do not match the batches in {}", features.display(), data.display());
        }
        crate::outln!("validation accuracy {:.2} %", 100.0 * plain::accuracy(&w, &split.val))?;
        crate::outln!(
            "test accuracy {:.2} % ({} test rows)",
            100.0 * plain::accuracy(&w, &split.test),
            split.test.len()
        )?;
        if let Some(path) = logits {
            let rows = store.rows(Part::Test);
            let batches = decrypt_all(path)?;
            if batches.len() != rows.len() {
                bail!("{}: {} ciphertexts, the folder has {} test batches", path.display(), batches.len(), rows.len());
            }
            let argmax = |z: &[f64]| (0..z.len()).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap_or(0);
            let predicted: Vec<usize> = batches
                .iter()
                .zip(rows)
                .flat_map(|(slots, &r)| layout.unpack_logits(slots, r))
                .map(|z| argmax(&z))
                .collect();
            let hits = predicted.iter().zip(&split.test.labels).filter(|(p, y)| p == y).count();
            let same = predicted
                .iter()
                .zip(&split.test.features)
                .filter(|&(&p, x)| argmax(&plain::logits(&w, x)) == p)
                .count();
            crate::outln!(
                "encrypted inference: test accuracy {:.2} %, same class as the decrypted weights for {same} of {} rows",
                100.0 * hits as f64 / predicted.len().max(1) as f64,
                predicted.len()
            )?;
        }
        Ok(())
    }
}
