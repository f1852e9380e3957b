//! Fine-tuning a softmax-regression head: in plaintext (exact or approximated softmax) and on CKKS-encrypted
//! features and labels (the cloud side), with the same schedule, so the three can be compared.

pub mod batches;
pub mod checkpoint;
pub mod compare;
pub mod data;
pub mod encrypted;
pub mod exchange;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod key_owner;
pub mod layout;
pub mod observer;
pub mod plain;
pub mod plan;
pub mod schedule;
pub mod softmax;
pub mod store;
pub mod workdir;

use schedule::Verdict;

/// One epoch of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochLog {
    /// From 0.
    pub epoch: usize,
    /// The mean validation cross-entropy after the epoch (under the trainer's softmax), where it can be seen: the
    /// plaintext trainers and an in-process key owner know it; a remote key owner keeps it (the cloud learns only
    /// the verdict).
    pub val_loss: Option<f64>,
    /// What early stopping made of the epoch.
    pub verdict: Verdict,
    /// The validation accuracy after the epoch, where it can be seen: the plaintext trainers record it; for an
    /// encrypted run only a key owner can score it, which [`compare`] does in-process (the cloud's trainer leaves it
    /// `None`).
    pub val_accuracy: Option<f64>,
    /// The largest `|logit|` of the validation rows after the epoch: the plaintext trainers see it, the key owner
    /// reads it for an encrypted run in-process (a remote key owner keeps it: the cloud sees only the loss).
    pub val_max_abs_logit: Option<f64>,
}

/// The result of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// The weights of the epoch with the lowest validation loss, `classes × dim` (bias last).
    pub weights: Vec<Vec<f64>>,
    /// That epoch.
    pub best_epoch: usize,
    /// Every epoch run.
    pub log: Vec<EpochLog>,
    /// Gradient steps taken.
    pub steps: usize,
    /// Ciphertexts refreshed by the key owner (0 for plaintext training, and when the cloud bootstraps).
    pub refreshes: usize,
    /// Ciphertexts bootstrapped by the cloud (0 for plaintext training and key-owner refreshes).
    pub bootstraps: usize,
    /// Wall time of the training, seconds.
    pub seconds: f64,
}

impl TrainReport {
    /// Whether training stopped on an infinite validation loss: a validation logit left the softmax
    /// approximation's range (or a probability left [0, 1]).
    pub fn stopped_on_range_guard(&self) -> bool {
        self.log.last().and_then(|l| l.val_loss).is_some_and(|loss| !loss.is_finite())
    }
}
