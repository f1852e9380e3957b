//! Plaintext (`f64`) training with the exact softmax or with the very approximation the encrypted trainer uses.

use super::data::Dataset;
use super::schedule::{EarlyStopping, Schedule, cross_entropy};
use super::softmax::{SoftmaxApprox, softmax_exact};
use super::{EpochLog, TrainReport};
use std::time::Instant;

/// Which softmax the plaintext trainer uses.
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// The mean validation cross-entropy under `softmax`.
pub fn validation_loss(weights: &[Vec<f64>], data: &Dataset, softmax: Softmax) -> f64 {
    let p: Vec<f64> =
        data.features.iter().zip(&data.labels).map(|(x, &y)| softmax.apply(&logits(weights, x))[y]).collect();
    cross_entropy(&p)
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
        let mut max_logit = 0.0f64;
        for &b in &schedule.batch_order(batches.len(), epoch) {
            let rows = batches[b].clone();
            let mut gradient = vec![vec![0.0; dim]; classes];
            for i in rows.clone() {
                let x = &train.features[i];
                let z = logits(&y, x);
                max_logit = z.iter().fold(max_logit, |m, v| m.max(v.abs()));
                let p = softmax.apply(&z);
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
        let val_loss = validation_loss(&w, val, softmax);
        if stop.record(epoch, val_loss) {
            best = w.clone();
        }
        log.push(EpochLog { epoch, val_loss, val_accuracy: Some(accuracy(&w, val)), max_abs_logit: Some(max_logit) });
        if stop.should_stop(epoch) {
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
