//! Encrypted mini-batches: what the hospital encrypts for the cloud, at the levels a step first uses each part.

use super::data::Dataset;
use super::key_owner::KeyOwner;
use super::layout::Layout;
use crate::progress;
use anyhow::Result;
use medblind_core::ckks::Ct;
use rayon::prelude::*;
use std::borrow::Cow;

/// One encrypted mini-batch: its feature blocks, shifted feature blocks and labels (diagonal layout), and how
/// many rows are real. Each part sits at the level the trainer first uses it at ([`Plan::batch_levels`](super::plan::Plan::batch_levels)).
#[derive(Clone)]
pub struct EncryptedBatch {
    /// `layout.blocks · c/2` ciphertexts, [`Layout::gradient_features`] (DiagATB's).
    pub features: Vec<Ct>,
    /// `layout.blocks · c/2` ciphertexts, [`Layout::shifted_features`] (DiagABT's).
    pub shifted: Vec<Ct>,
    /// One-hot labels in the diagonal layout.
    pub labels: Ct,
    /// Real rows (the rest are zero).
    pub rows: usize,
}

/// Mini-batches the trainer fetches one at a time: in memory, or streamed from disk ([`super::store`]) so memory
/// stays bounded by one batch whatever the dataset's size.
pub trait Batches: Sync {
    /// The number of batches.
    fn count(&self) -> usize;

    /// Batch `index` (`< count()`).
    ///
    /// # Errors
    /// If a stored batch cannot be read.
    fn batch(&self, index: usize) -> Result<Cow<'_, EncryptedBatch>>;
}

impl Batches for Vec<EncryptedBatch> {
    fn count(&self) -> usize {
        self.len()
    }

    fn batch(&self, index: usize) -> Result<Cow<'_, EncryptedBatch>> {
        Ok(Cow::Borrowed(&self[index]))
    }
}

/// The levels the parts of a batch are encrypted at: where a step first uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLevels {
    /// The shifted feature blocks: DiagABT's, at the level a step's weights start at.
    pub shifted: usize,
    /// DiagATB's feature blocks, one below the error `P − Y`.
    pub features: usize,
    /// The labels: one above the error's, so that they can take the probabilities' exact scale (or at the
    /// fresh level, where the probabilities come fresh).
    pub labels: usize,
}

impl BatchLevels {
    /// Validation and test batches: the cloud computes only their logits, at the 2 levels DiagABT consumes
    /// ([`Trainer::predict`](super::encrypted::Trainer::predict)), and never computes on their other parts.
    pub const INFERENCE: Self = Self { shifted: 2, features: 0, labels: 0 };
}

/// The hospital's side of the packing: one batch of at most `layout.rows` rows, encrypted at `levels`, with
/// their labels (an empty `labels` encrypts zeros: test batches keep their labels at the hospital).
///
/// # Errors
/// On a layout that does not match the key owner's slots, or levels above the fresh one.
pub fn encrypt_batch(
    owner: &KeyOwner<'_>,
    layout: &Layout,
    levels: BatchLevels,
    features: &[Vec<f64>],
    labels: &[usize],
) -> Result<EncryptedBatch> {
    let rows = features.len();
    let blocks = layout.features(features);
    let shifted = layout.shifted_features(&blocks);
    let shifted = shifted.par_iter().map(|(re, im)| owner.encrypt_at(re, im, levels.shifted)).collect::<Result<_>>()?;
    let features = layout.gradient_features(&blocks);
    let features = features.par_iter().map(|v| owner.encrypt_at(v, &[], levels.features)).collect::<Result<_>>()?;
    let labels = owner.encrypt_at(&layout.labels(labels), &[], levels.labels)?;
    Ok(EncryptedBatch { features, shifted, labels, rows })
}

/// Every batch of `data` (consecutive runs of `layout.rows` rows, as [`Schedule::batches`](super::schedule::Schedule::batches) cuts them), encrypted
/// at `levels`.
///
/// # Errors
/// As [`encrypt_batch`].
pub fn encrypt_batches(
    owner: &KeyOwner<'_>,
    layout: &Layout,
    levels: BatchLevels,
    data: &Dataset,
) -> Result<Vec<EncryptedBatch>> {
    let bar = progress::items(data.len().div_ceil(layout.rows) as u64, "encrypting batches", "batches");
    data.features
        .par_chunks(layout.rows)
        .zip(data.labels.par_chunks(layout.rows))
        .map(|(x, y)| encrypt_batch(owner, layout, levels, x, y).inspect(|_| bar.inc(1)))
        .collect()
}
