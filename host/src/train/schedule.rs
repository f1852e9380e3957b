//! The training schedule shared by every trainer: mini-batches, Nesterov accelerated gradient, a per-epoch
//! learning-rate decay and early stopping on the validation loss.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Hyper-parameters. The step on a batch `B` of `b` rows at lookahead weights `y` is
/// `w' = (1 − η_e·λ)·y − η_e·(P − Y)ᵀX / b` (`λ`: weight decay, which keeps the logits inside the softmax
/// approximation's range), then `y' = w' + μ·(w' − w)` (Nesterov, Sutskever's form), `η_e = η·decay^e`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// `η`, the learning rate of the first epoch.
    pub learning_rate: f64,
    /// `decay`: the learning rate is multiplied by it after every epoch.
    pub decay: f64,
    /// `λ`, the weight decay (L2 regularization `λ/2·|W|²`).
    pub weight_decay: f64,
    /// `μ`, the momentum.
    pub momentum: f64,
    /// Rows per mini-batch (a power of two for the encrypted packing).
    pub batch: usize,
    /// The most epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a lower validation loss (0: never stop early).
    pub patience: usize,
    /// Seeds the order of the batches in each epoch.
    pub seed: u64,
}

impl Schedule {
    /// The rows of every batch: consecutive chunks of `rows` rows.
    pub fn batches(&self, rows: usize) -> Vec<std::ops::Range<usize>> {
        (0..rows).step_by(self.batch).map(|start| start..(start + self.batch).min(rows)).collect()
    }

    /// The order the batches are visited in during `epoch` (a seeded permutation).
    pub fn batch_order(&self, batches: usize, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..batches).collect();
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        order
    }

    /// `η_e`.
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        self.learning_rate * self.decay.powi(epoch as i32)
    }
}

/// Early stopping: remembers the best validation loss and says when to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStopping {
    patience: usize,
    /// The epoch with the lowest validation loss so far.
    pub best_epoch: Option<usize>,
    best_loss: f64,
    diverged: bool,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement (never, for 0), or after an epoch whose loss is infinite
    /// (the softmax approximation left its range: later epochs would only go further).
    pub fn new(patience: usize) -> Self {
        Self { patience, best_epoch: None, best_loss: f64::INFINITY, diverged: false }
    }

    /// Records `epoch`'s loss; returns whether it is the best so far.
    pub fn record(&mut self, epoch: usize, loss: f64) -> bool {
        self.diverged |= !loss.is_finite();
        let better = loss < self.best_loss;
        if better {
            self.best_loss = loss;
            self.best_epoch = Some(epoch);
        }
        better
    }

    /// Whether training should stop after `epoch`.
    pub fn should_stop(&self, epoch: usize) -> bool {
        self.diverged || (self.patience > 0 && self.best_epoch.is_some_and(|best| epoch >= best + self.patience))
    }

    /// Records `epoch`'s loss and says what training does next.
    pub fn judge(&mut self, epoch: usize, loss: f64) -> Verdict {
        if self.record(epoch, loss) {
            Verdict::Improved
        } else if self.should_stop(epoch) {
            Verdict::Stop
        } else {
            Verdict::Continue
        }
    }
}

/// What early stopping says after an epoch — all a cloud learns from the key owner's validation of it: one of
/// three answers, at most `log2 3` bits per epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The lowest validation loss so far: these weights are the best.
    Improved,
    /// Not the lowest; training goes on.
    Continue,
    /// Not the lowest, and training stops: patience is exhausted, or the validation logits left the softmax
    /// approximation's range.
    Stop,
}

impl Verdict {
    /// The verdict's word in files and logs.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Continue => "continue",
            Verdict::Stop => "stop",
        }
    }

    /// The verdict named by `word`.
    pub fn from_word(word: &str) -> Option<Self> {
        [Verdict::Improved, Verdict::Continue, Verdict::Stop].into_iter().find(|v| v.word() == word)
    }
}

/// Mean cross-entropy from the predicted probability of each row's true class (floored at `1e-12`). Infinite when
/// one is not a probability (outside `[0, 1]` beyond encryption noise, or not finite): the softmax approximation
/// left its range, so the epoch must never count as the best.
pub fn cross_entropy(true_class_probabilities: &[f64]) -> f64 {
    if true_class_probabilities.iter().any(|p| !(-1e-3..=1.0 + 1e-3).contains(p)) {
        return f64::INFINITY;
    }
    let n = true_class_probabilities.len().max(1) as f64;
    true_class_probabilities.iter().map(|p| -p.max(1e-12).ln()).sum::<f64>() / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_orders_and_early_stopping() {
        let s = Schedule {
            learning_rate: 1.0,
            decay: 0.5,
            weight_decay: 0.0,
            momentum: 0.9,
            batch: 4,
            epochs: 3,
            patience: 2,
            seed: 1,
        };
        assert_eq!(s.batches(10), [0..4, 4..8, 8..10]);
        let mut order = s.batch_order(5, 3);
        assert_eq!(order, s.batch_order(5, 3));
        order.sort_unstable();
        assert_eq!(order, [0, 1, 2, 3, 4]);
        assert_eq!(s.learning_rate_at(2), 0.25);
        let mut stop = EarlyStopping::new(2);
        assert!(stop.record(0, 1.0) && !stop.record(1, 1.5) && !stop.should_stop(1));
        assert!(!stop.record(2, 1.2) && stop.should_stop(2) && stop.best_epoch == Some(0));
        assert!((cross_entropy(&[1.0, 0.5]) - 0.5f64.ln().abs() / 2.0).abs() < 1e-15);
        // Noise around 0 and 1 is tolerated; a diverged approximation is never a best epoch.
        assert!(cross_entropy(&[1.0 + 1e-6, -1e-6]).is_finite());
        for diverged in [1e30, -0.5, f64::NAN] {
            assert_eq!(cross_entropy(&[0.5, diverged]), f64::INFINITY);
        }
        let mut stop = EarlyStopping::new(0);
        assert!(stop.record(0, 1.0) && !stop.should_stop(0));
        assert!(!stop.record(1, cross_entropy(&[1e30])) && stop.should_stop(1) && stop.best_epoch == Some(0));
        let mut stop = EarlyStopping::new(2);
        let verdicts: Vec<Verdict> =
            [1.0, 0.5, 0.7, 0.6, 0.4].iter().enumerate().map(|(e, &l)| stop.judge(e, l)).collect();
        assert_eq!(
            verdicts,
            [Verdict::Improved, Verdict::Improved, Verdict::Continue, Verdict::Stop, Verdict::Improved]
        );
        assert_eq!(EarlyStopping::new(0).judge(0, f64::INFINITY), Verdict::Stop);
        for v in verdicts {
            assert_eq!(Verdict::from_word(v.word()), Some(v));
        }
    }
}
