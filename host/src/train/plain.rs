//! Plaintext (`f64`) training with the exact softmax or with the very approximation the encrypted trainer uses.

use super::data::Dataset;
use super::schedule::{EarlyStopping, Schedule, Verdict, cross_entropy};
use super::softmax::{SoftmaxApprox, softmax_exact};
use super::{EpochLog, TrainReport};
use std::time::Instant;

/// Which softmax the plaintext trainer uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Softmax {
    /// `exp(z_i) / Σ exp(z_j)`.
    Exact,
    /// The encrypted trainer's polynomial approximation, in `f64`.
    Approx(SoftmaxApprox),
}

impl Softmax {
    /// The probabilities of one row of logits.
    pub fn apply(&self, z: &[f64]) -> Vec<f64> {
        match self {
            Softmax::Exact => softmax_exact(z),
            Softmax::Approx(a) => a.softmax(z),
        }
    }

    /// Whether a row of logits lies where this softmax is what it claims (everywhere for the exact one).
    pub fn admits(&self, z: &[f64]) -> bool {
        match self {
            Softmax::Exact => true,
            Softmax::Approx(a) => a.admits(z),
        }
    }
}

/// `W·x` for a `C × d` weight matrix (the bias is the last feature).
pub fn logits(weights: &[Vec<f64>], x: &[f64]) -> Vec<f64> {
    weights.iter().map(|w| w.iter().zip(x).map(|(a, b)| a * b).sum()).collect()
}

/// The fraction of rows whose largest logit is their label.
pub fn accuracy(weights: &[Vec<f64>], data: &Dataset) -> f64 {
    let hits = data
        .features
        .iter()
        .zip(&data.labels)
        .filter(|&(x, &y)| {
            let z = logits(weights, x);
            (0..z.len()).max_by(|&a, &b| z[a].total_cmp(&z[b])) == Some(y)
        })
        .count();
    hits as f64 / data.len().max(1) as f64
}

/// What an epoch's validation rows say: read from plaintext weights, or by the key owner from decrypted logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Validation {
    /// The mean cross-entropy under the trainer's softmax; infinite under the approximation when a row leaves its
    /// bound ([`SoftmaxApprox::admits`]) or a probability is not one ([`cross_entropy`]), so that early stopping
    /// ends the run there.
    pub loss: f64,
    /// The largest `|logit|` of a real class (infinite once a logit is not a number), where the reader may see it
    /// (not the cloud: a remote key owner keeps it).
    pub max_abs_logit: Option<f64>,
}

impl Validation {
    /// The score of `(logits, label)` rows under `softmax`.
    pub fn of<'a>(rows: impl Iterator<Item = (&'a [f64], usize)>, softmax: Softmax) -> Self {
        let (mut max_abs_logit, mut admitted) = (0.0f64, true);
        let p: Vec<f64> = rows
            .map(|(z, y)| {
                // A NaN (weights that diverged) counts as unbounded, not as nothing.
                max_abs_logit =
                    z.iter().fold(max_abs_logit, |m, v| m.max(if v.is_nan() { f64::INFINITY } else { v.abs() }));
                admitted &= softmax.admits(z);
                softmax.apply(z)[y]
            })
            .collect();
        let loss = if admitted { cross_entropy(&p) } else { f64::INFINITY };
        Self { loss, max_abs_logit: Some(max_abs_logit) }
    }

    /// The score of `weights` on `data`.
    pub fn of_weights(weights: &[Vec<f64>], data: &Dataset, softmax: Softmax) -> Self {
        let logits: Vec<Vec<f64>> = data.features.iter().map(|x| logits(weights, x)).collect();
        Self::of(logits.iter().map(Vec::as_slice).zip(data.labels.iter().copied()), softmax)
    }
}

/// Trains a `classes × dim` softmax-regression head from zero weights on `train`, early-stopped on `val`.
pub fn train(train: &Dataset, val: &Dataset, schedule: &Schedule, softmax: Softmax) -> TrainReport {
    let start = Instant::now();
    let (classes, dim) = (train.classes, train.dim());
    let mut w = vec![vec![0.0; dim]; classes];
    let mut y = w.clone();
    let mut best = w.clone();
    let mut stop = EarlyStopping::new(schedule.patience);
    let mut log = Vec::new();
    let batches = schedule.batches(train.len());
    let mut steps = 0;
    for epoch in 0..schedule.epochs {
        let rate = schedule.learning_rate_at(epoch);
        for &b in &schedule.batch_order(batches.len(), epoch) {
            let rows = batches[b].clone();
            let mut gradient = vec![vec![0.0; dim]; classes];
            for i in rows.clone() {
                let x = &train.features[i];
                let p = softmax.apply(&logits(&y, x));
                for (k, row) in gradient.iter_mut().enumerate() {
                    let e = p[k] - f64::from(u8::from(train.labels[i] == k));
                    row.iter_mut().zip(x).for_each(|(g, v)| *g += e * v);
                }
            }
            let (step, shrink) = (rate / rows.len() as f64, 1.0 - rate * schedule.weight_decay);
            for k in 0..classes {
                for j in 0..dim {
                    let next = shrink * y[k][j] - step * gradient[k][j];
                    y[k][j] = next + schedule.momentum * (next - w[k][j]);
                    w[k][j] = next;
                }
            }
            steps += 1;
        }
        let validation = Validation::of_weights(&w, val, softmax.clone());
        let verdict = stop.judge(epoch, validation.loss);
        if verdict == Verdict::Improved {
            best = w.clone();
        }
        log.push(EpochLog {
            epoch,
            val_loss: Some(validation.loss),
            verdict,
            val_accuracy: Some(accuracy(&w, val)),
            val_max_abs_logit: validation.max_abs_logit,
        });
        if verdict == Verdict::Stop {
            break;
        }
    }
    TrainReport {
        weights: best,
        best_epoch: stop.best_epoch.unwrap_or(0),
        log,
        steps,
        refreshes: 0,
        bootstraps: 0,
        seconds: start.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_outside_the_approximations_bound_makes_the_loss_infinite() {
        let approx = Softmax::Approx(SoftmaxApprox::standard(2));
        let inside: [(&[f64], usize); 2] = [(&[1.0, -1.0], 0), (&[-7.9, 7.9], 1)];
        let outside: [(&[f64], usize); 2] = [(&[1.0, -1.0], 0), (&[-8.1, 8.1], 1)];
        let score = Validation::of(inside.into_iter(), approx.clone());
        assert!(score.loss.is_finite() && score.max_abs_logit == Some(7.9));
        assert_eq!(Validation::of(outside.into_iter(), approx).loss, f64::INFINITY);
        // The exact softmax has no bound.
        assert!(Validation::of(outside.into_iter(), Softmax::Exact).loss.is_finite());
        // Weights that diverged: a logit that is not a number is unbounded, not absent.
        let diverged: [(&[f64], usize); 1] = [(&[f64::NAN, 1.0], 0)];
        assert_eq!(
            Validation::of(diverged.into_iter(), Softmax::Approx(SoftmaxApprox::standard(2))).max_abs_logit,
            Some(f64::INFINITY)
        );
    }

    #[test]
    fn the_wide_approximation_trains_past_the_standard_bound_as_the_exact_softmax_does() {
        // A schedule that drives the logits well past the standard approximation's bound of 8.
        let split = crate::train::fixtures::blobs();
        let schedule = Schedule {
            learning_rate: 8.0,
            weight_decay: 0.0,
            epochs: 12,
            patience: 0,
            ..crate::train::fixtures::test_schedule()
        };
        let exact = train(&split.train, &split.val, &schedule, Softmax::Exact);
        let wide = train(&split.train, &split.val, &schedule, Softmax::Approx(SoftmaxApprox::wide(3)));
        let standard = train(&split.train, &split.val, &schedule, Softmax::Approx(SoftmaxApprox::standard(3)));
        let largest = |r: &TrainReport| r.log.iter().filter_map(|l| l.val_max_abs_logit).fold(0.0, f64::max);
        assert!(largest(&exact) > 10.0, "the schedule should push the logits past 8: {}", largest(&exact));
        assert!(standard.log.len() < exact.log.len(), "the standard approximation stops on its range guard");
        let bound = SoftmaxApprox::standard(3).bound;
        assert!(largest(&standard) > bound, "the stop names a logit past {bound}: {}", largest(&standard));
        assert_eq!((wide.log.len(), wide.best_epoch), (exact.log.len(), exact.best_epoch), "no early stop");
        for (a, b) in exact.log.iter().zip(&wide.log) {
            let (x, y) = (a.val_loss.unwrap(), b.val_loss.unwrap());
            assert!((x - y).abs() < 1e-3 * x.max(1.0), "{x} vs {y}");
            assert_eq!(a.val_accuracy, b.val_accuracy);
        }
    }
}
