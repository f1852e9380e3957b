//! Encrypted training steps timed with the standard and the widened softmax approximation back to back, with the
//! same keys and batches: one epoch over `BATCHES` batches of 1024 rows (`DIM` features with the bias, `CLASSES`
//! classes), the weights refreshed or bootstrapped when the plan says, as `medblind compare` trains. Prints one
//! line per step and a JSON summary per approximation.
//!
//! `cargo run --release -p medblind-benches --example training_step -- PRESET [DIM] [CLASSES] [BATCHES]`
//! (default 385 8 4): `n65536-boot-qp1762-s40` bootstraps, `n65536-qp1626-s40` asks the in-process key owner.
#![allow(missing_docs)]

use medblind::keystore::Session;
use medblind::train::batches::encrypt_batches;
use medblind::train::checkpoint::TrainState;
use medblind::train::data::Dataset;
use medblind::train::encrypted::Trainer;
use medblind::train::key_owner::{KeyOwner, LocalKeyOwner};
use medblind::train::layout::Layout;
use medblind::train::observer::TrainObserver;
use medblind::train::plan::Plan;
use medblind::train::softmax::SoftmaxApprox;
use medblind_benches::setup::{one_epoch, preset, session, synthetic};
use medblind_core::ckks::bootstrap::{Bootstrapper, bootstrapping_for};
use medblind_core::ckks::{Ct, Engine};
use std::time::Instant;

const BATCH: usize = 1024;

/// Records the time between checkpoints (one after every step, one after the validation).
struct StepTimes {
    last: Instant,
    steps: Vec<f64>,
}

impl TrainObserver for StepTimes {
    fn checkpoint(&mut self, state: &TrainState) -> anyhow::Result<()> {
        let seconds = self.last.elapsed().as_secs_f64();
        self.last = Instant::now();
        if state.done > 0 {
            eprintln!("step {}: {seconds:.2} s (bootstraps so far {})", state.steps, state.bootstraps);
            self.steps.push(seconds);
        }
        Ok(())
    }

    fn epoch_weights(&mut self, _w: &[Ct]) -> anyhow::Result<Option<f64>> {
        Ok(None)
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("n65536-boot-qp1762-s40", String::as_str);
    let number = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (dim, classes, batches) = (number(1, 385), number(2, 8), number(3, 4));
    let literal = preset(name)?;
    let Session { ctx, encoder } = session(literal)?;
    let layout = Layout::new(ctx.degree() / 2, BATCH, classes, dim)?;
    let owner = KeyOwner::generate(&ctx, &encoder);
    let boot = bootstrapping_for(literal);
    let start = Instant::now();
    let bootstrapper = Bootstrapper::for_params(&ctx)?;
    let keys = match boot {
        Some(b) => owner.bootstrapping_keys(&layout.rotation_steps(), b)?,
        None => owner.cloud_keys(&layout.rotation_steps()),
    };
    eprintln!("keys and precomputation: {:.1} s", start.elapsed().as_secs_f64());
    let engine = match &bootstrapper {
        Some(b) => Engine::bootstrapping(&ctx, &encoder, &keys.keys, b)?,
        None => Engine::new(&ctx, &encoder, &keys.keys),
    };
    // `dim - 1` features in (-2/√dim, 2/√dim); the last column stays 0.
    let train = synthetic(batches * BATCH, dim - 1, dim, classes, (dim as f64).sqrt() / 2.0);
    let val = Dataset { features: train.features[..64].to_vec(), labels: train.labels[..64].to_vec(), classes };
    let schedule = one_epoch(BATCH, 1.0, 0.0);
    for approx in [SoftmaxApprox::standard(classes), SoftmaxApprox::wide(classes)] {
        let trainer = Trainer::new(&engine, layout, approx.clone())?;
        let plan: Plan = trainer.plan();
        let encrypted = encrypt_batches(&owner, &layout, trainer.batch_levels(), &train)?;
        let validation = encrypt_batches(&owner, &layout, trainer.batch_levels(), &val)?;
        let mut service = LocalKeyOwner::new(&owner, &layout, approx.clone(), schedule.epochs, schedule.patience);
        let mut times = StepTimes { last: Instant::now(), steps: Vec::new() };
        let (_, report) = trainer.train(&encrypted, &validation, &schedule, &mut service, &mut times, None)?;
        let mean = times.steps.iter().sum::<f64>() / times.steps.len() as f64;
        println!(
            "{{\"preset\": \"{name}\", \"softmax_bound\": {}, \"plan\": \"{plan:?}\", \"dim\": {dim}, \"classes\": \
             {classes}, \"steps\": {}, \"step_seconds\": {:?}, \"mean_step_seconds\": {mean:.2}, \"bootstraps\": {}, \
             \"refreshes\": {}}}",
            approx.bound, report.steps, times.steps, report.bootstraps, report.refreshes
        );
    }
    Ok(())
}
