//! The training schedule's options, shared by `compare`, `demo` and `train`, with the defaults each sets.

use crate::train::schedule::Schedule;

/// The training schedule shared by `compare` and `demo`.
#[derive(clap::Args)]
pub struct ScheduleArgs {
    /// Rows per mini-batch (a power of two) [default: 512; 64 for `demo`].
    #[arg(long)]
    batch: Option<usize>,
    /// The most epochs [default: 10; 3 for `demo`].
    #[arg(long)]
    epochs: Option<usize>,
    /// The learning rate of the first epoch (larger rates can push logits out of the softmax approximation's range)
    /// [default: 0.1; 4 for `demo`].
    #[arg(long)]
    learning_rate: Option<f64>,
    /// The learning rate's factor per epoch.
    #[arg(long, default_value_t = 0.9)]
    decay: f64,
    /// The weight decay λ (keeps the logits inside the softmax approximation's range) [default: 0.01; 0 for `demo`].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// The Nesterov momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Stop after this many epochs without a lower validation loss (0: never; for `train`, the hospital's
    /// `refresh --patience` decides).
    #[arg(long, default_value_t = 3)]
    patience: usize,
    /// Seeds the split and the batch order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The defaults of the options `compare`, `train` and `demo` set differently: `demo` trains a few hundred
/// pretrained-feature rows, so it takes smaller batches, a larger rate and no weight decay (its logits stay in
/// the widened softmax approximation's range, |z| ≤ 32).
pub struct ScheduleDefaults {
    batch: usize,
    epochs: usize,
    learning_rate: f64,
    weight_decay: f64,
}

/// The defaults of `compare` and `train`.
pub const TRAINING_DEFAULTS: ScheduleDefaults =
    ScheduleDefaults { batch: 512, epochs: 10, learning_rate: 0.1, weight_decay: 0.01 };
/// The defaults of `demo`.
pub const DEMO_DEFAULTS: ScheduleDefaults =
    ScheduleDefaults { batch: 64, epochs: 3, learning_rate: 4.0, weight_decay: 0.0 };

impl ScheduleArgs {
    /// The schedule: the options given, `defaults` for those left out.
    pub fn schedule(&self, defaults: ScheduleDefaults) -> Schedule {
        Schedule {
            learning_rate: self.learning_rate.unwrap_or(defaults.learning_rate),
            decay: self.decay,
            weight_decay: self.weight_decay.unwrap_or(defaults.weight_decay),
            momentum: self.momentum,
            batch: self.batch.unwrap_or(defaults.batch),
            epochs: self.epochs.unwrap_or(defaults.epochs),
            patience: self.patience,
            seed: self.seed,
        }
    }
}
