//! Shared test data: small insecure parameters, separable blobs and a schedule of six steps.

use super::data::{Dataset, Split, split, standardize};
use super::schedule::Schedule;
use medblind_core::ckks::{ParamsLiteral, presets};

/// **Insecure, for tests only**: N = 2^11 with 30 levels (one training step).
pub fn test_literal() -> ParamsLiteral {
    presets::TEST_INSECURE_N2048_DEPTH30
}

/// 48 rows of 11 features (+ bias), 3 classes: Gaussian blobs, deterministic.
pub fn blobs() -> Split {
    let features: Vec<Vec<f64>> = (0..60)
        .map(|i| {
            let class = i % 3;
            (0..11).map(|j| ((i * 31 + j * 17) as f64 * 0.7).sin() + if j % 3 == class { 2.0 } else { 0.0 }).collect()
        })
        .collect();
    let data = Dataset { labels: (0..60).map(|i| i % 3).collect(), features, classes: 3 };
    let mut s = split(&data, 0.1, 0.1, 3);
    standardize(&mut s);
    s
}

/// Two epochs of three batches of 16 rows on [`blobs`]: six steps, each needing a refresh.
pub fn test_schedule() -> Schedule {
    Schedule {
        learning_rate: 2.0,
        decay: 0.9,
        weight_decay: 0.01,
        momentum: 0.8,
        batch: 16,
        epochs: 2,
        patience: 0,
        seed: 5,
    }
}
