//! Shared test data: small insecure parameters, separable blobs and a schedule of six steps; and how an encrypted
//! run is checked against its plaintext twin.

use super::compare::Comparison;
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

/// The encrypted run of `c` took every epoch the plaintext-approx run took, with its largest validation logit
/// and, but for a row on the decision boundary, its validation accuracy.
pub fn assert_encrypted_follows_approx(c: &Comparison, split: &Split) {
    let encrypted = &c.encrypted.as_ref().unwrap().report;
    assert_eq!(encrypted.log.len(), c.approximate.log.len());
    for (want, have) in c.approximate.log.iter().zip(&encrypted.log) {
        // The key owner read the largest validation logit from the decrypted logits.
        let (a, b) = (want.val_max_abs_logit.unwrap(), have.val_max_abs_logit.unwrap());
        assert!((a - b).abs() < 1e-2 * a.max(1.0), "largest |logit| {a} vs {b}");
        let (want, have) = (want.val_accuracy.unwrap(), have.val_accuracy.unwrap());
        // The weights agree to 1e-3: at most a row on the decision boundary may differ.
        assert!((want - have).abs() <= 1.0 / split.val.len() as f64 + 1e-12, "{want} vs {have}");
    }
}
