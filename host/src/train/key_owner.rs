//! What only the key owner can do for the cloud during training, and the in-process key owner, which answers only
//! what the agreed schedule asks.

use super::he::{Ct, KeyOwner};
use super::layout::Layout;
use super::plain::{Softmax, Validation};
use super::schedule::{EarlyStopping, Verdict};
use super::softmax::SoftmaxApprox;
use anyhow::{Result, bail};
use rayon::prelude::*;

/// The largest magnitude a refreshed value keeps: far above any weight, exponential or probability an honest
/// cloud refreshes, so a refresh reply never depends on what the ciphertext decrypts to.
pub const REFRESH_BOUND: f64 = 1024.0;

/// What only the key owner can do for the cloud during training.
pub trait KeyOwnerService {
    /// Replaces `cts` with fresh encryptions of the same values at `level` (at most the fresh level: where the
    /// cloud will use them first; never called when the cloud bootstraps). Values beyond ±[`REFRESH_BOUND`] come
    /// back clamped to it.
    ///
    /// # Errors
    /// On a ciphertext of other parameters or a level above the fresh one.
    fn refresh(&mut self, cts: &mut [Ct], level: usize) -> Result<()>;

    /// Judges epoch `epoch` (from 0) from its validation batches' encrypted logits and labels, read by the key
    /// owner only: the cloud learns the verdict, nothing more.
    ///
    /// # Errors
    /// On a ciphertext of other parameters, or an epoch the agreed schedule does not ask for.
    fn validate(&mut self, epoch: usize, batches: &[ValidationBatch]) -> Result<Judgement>;

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

/// The key owner's answer for an epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// What training does next: all the cloud learns.
    pub verdict: Verdict,
    /// The scores behind it, where the reader is the key owner (in-process); `None` across a process boundary.
    pub validation: Option<Validation>,
}

/// The in-process hospital: refreshes by decryption and fresh encryption, scores validation logits with the
/// trainer's softmax approximation in `f64` (the very computation of the plaintext `approx` trainer) and keeps
/// early stopping. It judges each epoch of the agreed schedule once, in order, and none after a stop: asked
/// again for an epoch it answers the verdict it gave, without decrypting anything.
pub struct LocalKeyOwner<'a> {
    owner: &'a KeyOwner<'a>,
    layout: Layout,
    approx: SoftmaxApprox,
    epochs: usize,
    stop: EarlyStopping,
    /// Each judged epoch's loss and verdict, in order.
    judged: Vec<(f64, Verdict)>,
    refreshed: usize,
    clamped: usize,
}

impl<'a> LocalKeyOwner<'a> {
    /// The service of `owner` for batches packed by `layout` and a trainer using `approx`, judging at most
    /// `epochs` epochs with early stopping after `patience` epochs without improvement (0: never).
    pub fn new(
        owner: &'a KeyOwner<'a>,
        layout: &Layout,
        approx: SoftmaxApprox,
        epochs: usize,
        patience: usize,
    ) -> Self {
        Self {
            owner,
            layout: *layout,
            approx,
            epochs,
            stop: EarlyStopping::new(patience),
            judged: Vec::new(),
            refreshed: 0,
            clamped: 0,
        }
    }

    /// The key pair of the owner's keys.
    pub fn key(&self) -> medblind_core::wire::KeyId {
        self.owner.key()
    }

    /// Takes up a run whose first epochs had `losses`, judged as they were then.
    pub fn resume(&mut self, losses: impl IntoIterator<Item = f64>) {
        for loss in losses {
            let verdict = self.stop.judge(self.judged.len(), loss);
            self.judged.push((loss, verdict));
        }
    }

    /// The losses of the epochs judged so far, in order.
    pub fn losses(&self) -> impl Iterator<Item = f64> + '_ {
        self.judged.iter().map(|&(loss, _)| loss)
    }

    /// How many decrypted values were clamped to ±[`REFRESH_BOUND`] (none, for an honest cloud).
    pub fn clamped(&self) -> usize {
        self.clamped
    }
}

impl KeyOwnerService for LocalKeyOwner<'_> {
    fn refresh(&mut self, cts: &mut [Ct], level: usize) -> Result<()> {
        let clamped: usize = cts
            .par_iter_mut()
            .map(|ct| -> Result<usize> {
                let mut values = self.owner.decrypt(ct)?;
                let outside = values.iter().filter(|v| v.is_nan() || v.abs() > REFRESH_BOUND).count();
                for v in &mut values {
                    *v = if v.is_nan() { 0.0 } else { v.clamp(-REFRESH_BOUND, REFRESH_BOUND) };
                }
                *ct = self.owner.encrypt_at(&values, &[], level)?;
                Ok(outside)
            })
            .sum::<Result<_>>()?;
        self.clamped += clamped;
        self.refreshed += cts.len();
        Ok(())
    }

    fn validate(&mut self, epoch: usize, batches: &[ValidationBatch]) -> Result<Judgement> {
        if let Some(&(_, verdict)) = self.judged.get(epoch) {
            return Ok(Judgement { verdict, validation: None });
        }
        if epoch >= self.epochs {
            bail!("validation of epoch {} asked, beyond the agreed {} epochs", epoch + 1, self.epochs);
        }
        if epoch > self.judged.len() {
            bail!("validation of epoch {} asked before epoch {}", epoch + 1, self.judged.len() + 1);
        }
        if self.judged.last().is_some_and(|&(_, v)| v == Verdict::Stop) {
            bail!("validation of epoch {} asked after training was told to stop", epoch + 1);
        }
        let (mut logits, mut labels) = (Vec::new(), Vec::new());
        for batch in batches {
            logits.extend(self.layout.unpack_logits(&self.owner.decrypt(&batch.logits)?, batch.rows));
            let one_hot = self.layout.unpack_logits(&self.owner.decrypt(&batch.labels)?, batch.rows);
            labels.extend(one_hot.iter().map(|y| (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap_or(0)));
        }
        let validation =
            Validation::of(logits.iter().map(Vec::as_slice).zip(labels), Softmax::Approx(self.approx.clone()));
        let verdict = self.stop.judge(epoch, validation.loss);
        self.judged.push((validation.loss, verdict));
        Ok(Judgement { verdict, validation: Some(validation) })
    }

    fn refreshes(&self) -> usize {
        self.refreshed
    }
}
