//! What only the key owner can do for the cloud during training, and the in-process key owner.

use super::he::{Ct, KeyOwner};
use super::layout::Layout;
use super::plain::{Softmax, Validation};
use super::softmax::SoftmaxApprox;
use anyhow::Result;
use rayon::prelude::*;

/// What only the key owner can do for the cloud during training.
pub trait KeyOwnerService {
    /// Replaces `cts` with fresh encryptions of the same values at `level` (at most the fresh level: where the
    /// cloud will use them first; never called when the cloud bootstraps).
    ///
    /// # Errors
    /// On a ciphertext of other parameters or a level above the fresh one.
    fn refresh(&mut self, cts: &mut [Ct], level: usize) -> Result<()>;

    /// Scores an epoch from its validation batches' encrypted logits and labels: read by the key owner only, to
    /// decide on early stopping.
    ///
    /// # Errors
    /// On a ciphertext of other parameters.
    fn validate(&mut self, batches: &[ValidationBatch]) -> Result<Validation>;

    /// How many ciphertexts were refreshed so far.
    fn refreshes(&self) -> usize;
}

/// One validation batch as the cloud hands it to the key owner: its logits (level 0) and one-hot labels (diagonal
/// layout), and how many rows are real.
pub struct ValidationBatch {
    /// `X·Wᵀ` under the epoch's weights.
    pub logits: Ct,
    /// The batch's encrypted labels.
    pub labels: Ct,
    /// Real rows.
    pub rows: usize,
}

/// The in-process hospital: refreshes by decryption and fresh encryption, scores validation logits with the
/// trainer's softmax approximation in `f64` (the very computation of the plaintext `approx` trainer).
pub struct LocalKeyOwner<'a> {
    owner: &'a KeyOwner<'a>,
    layout: Layout,
    approx: SoftmaxApprox,
    refreshed: usize,
}

impl<'a> LocalKeyOwner<'a> {
    /// The service of `owner` for batches packed by `layout` and a trainer using `approx`.
    pub fn new(owner: &'a KeyOwner<'a>, layout: &Layout, approx: SoftmaxApprox) -> Self {
        Self { owner, layout: *layout, approx, refreshed: 0 }
    }
}

impl KeyOwnerService for LocalKeyOwner<'_> {
    fn refresh(&mut self, cts: &mut [Ct], level: usize) -> Result<()> {
        cts.par_iter_mut().try_for_each(|ct| -> Result<()> {
            *ct = self.owner.encrypt_at(&self.owner.decrypt(ct)?, &[], level)?;
            Ok(())
        })?;
        self.refreshed += cts.len();
        Ok(())
    }

    fn validate(&mut self, batches: &[ValidationBatch]) -> Result<Validation> {
        let (mut logits, mut labels) = (Vec::new(), Vec::new());
        for batch in batches {
            logits.extend(self.layout.unpack_logits(&self.owner.decrypt(&batch.logits)?, batch.rows));
            let one_hot = self.layout.unpack_logits(&self.owner.decrypt(&batch.labels)?, batch.rows);
            labels.extend(one_hot.iter().map(|y| (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap_or(0)));
        }
        Ok(Validation::of(logits.iter().map(Vec::as_slice).zip(labels), Softmax::Approx(self.approx.clone())))
    }

    fn refreshes(&self) -> usize {
        self.refreshed
    }
}
