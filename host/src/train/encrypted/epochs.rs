//! The epoch loop: steps over the training batches in the schedule's order, the weights refreshed where the
//! [`Plan`](crate::train::plan::Plan) needs them, a validation by the key owner after each epoch, and the run's
//! state handed to the observer after every step and epoch so that an interrupted run can resume.

use super::trainer::{Trainer, align_all};
use crate::train::batches::{BatchLevels, Batches};
use crate::train::checkpoint::TrainState;
use crate::train::key_owner::{KeyOwnerService, ValidationBatch};
use crate::train::observer::{EpochDone, EpochStart, StepDone, TrainObserver};
use crate::train::schedule::{Schedule, Verdict};
use crate::train::{EpochLog, TrainReport};
use anyhow::{Result, bail};
use medblind_core::ckks::Ct;
use std::time::Instant;

impl Trainer<'_> {
    /// Trains from zero weights, or from `resume` (a run's [`TrainState`] after a step, as
    /// [`TrainObserver::checkpoint`] was handed it): the steps and epochs that follow are those the uninterrupted
    /// run would have taken. Returns the weights of the epoch with the lowest validation loss, still encrypted, at the
    /// levels inference needs ([`BatchLevels::INFERENCE`]). `observer` hears of every step and epoch.
    ///
    /// # Errors
    /// As [`Self::step`], the key-owner service and the observer; a `resume` state of another packing.
    pub fn train(
        &self,
        train: &dyn Batches,
        val: &dyn Batches,
        schedule: &Schedule,
        owner: &mut dyn KeyOwnerService,
        observer: &mut dyn TrainObserver,
        resume: Option<TrainState>,
    ) -> Result<(Vec<Ct>, TrainReport)> {
        let start = Instant::now();
        let e = self.engine;
        let (bootstraps_before, refreshes_before) = (e.bootstraps_done(), owner.refreshes());
        let zero = |level| vec![e.zero(level); self.layout.blocks];
        let mut state = resume.unwrap_or_else(|| TrainState {
            epoch: 0,
            done: 0,
            w: zero(self.plan.weights),
            y: zero(self.plan.weights),
            best: zero(BatchLevels::INFERENCE.shifted),
            log: Vec::new(),
            steps: 0,
            refreshes: 0,
            bootstraps: 0,
            seconds: 0.0,
        });
        if [&state.w, &state.y, &state.best].iter().any(|set| set.len() != self.layout.blocks) {
            bail!("the saved training state has other than {} weight blocks", self.layout.blocks);
        }
        if state.done > train.count() {
            bail!("the saved training state is {} batches into an epoch of {}", state.done, train.count());
        }
        let mut best_epoch = state.log.iter().rposition(|e| e.verdict == Verdict::Improved);
        let (refreshes, bootstraps, seconds) = (state.refreshes, state.bootstraps, state.seconds);
        let save = |state: &mut TrainState, owner: &dyn KeyOwnerService, observer: &mut dyn TrainObserver| {
            state.refreshes = refreshes + owner.refreshes() - refreshes_before;
            state.bootstraps = bootstraps + e.bootstraps_done() - bootstraps_before;
            state.seconds = seconds + start.elapsed().as_secs_f64();
            observer.checkpoint(state)
        };
        let stopped = state.log.last().is_some_and(|last| last.verdict == Verdict::Stop);
        while state.epoch < schedule.epochs && !stopped {
            let epoch = state.epoch;
            let rate = schedule.learning_rate_at(epoch);
            let (epochs, steps, done) = (schedule.epochs, train.count(), state.done);
            observer.epoch_started(&EpochStart { epoch, epochs, steps, done });
            for &b in &schedule.batch_order(train.count(), epoch)[state.done..] {
                let step_start = Instant::now();
                if state.y[0].level() < self.plan.weights {
                    self.refresh_weights(owner, &mut state.w, &mut state.y)?;
                }
                let batch = train.batch(b)?;
                (state.w, state.y) = self.step(&batch, &state.w, &state.y, rate, schedule, owner)?;
                (state.steps, state.done) = (state.steps + 1, state.done + 1);
                save(&mut state, owner, observer)?;
                let seconds = step_start.elapsed().as_secs_f64();
                observer.step_done(&StepDone { epoch, steps: state.steps, seconds });
            }
            observer.validating();
            if state.y[0].level() < self.plan.weights {
                self.refresh_weights(owner, &mut state.w, &mut state.y)?;
            }
            let val_accuracy = observer.epoch_weights(&state.w)?;
            let batches: Vec<ValidationBatch> = (0..val.count())
                .map(|b| {
                    let batch = val.batch(b)?;
                    let logits = self.predict(&batch, &state.w)?;
                    Ok(ValidationBatch { logits, labels: batch.labels.clone(), rows: batch.rows })
                })
                .collect::<Result<_>>()?;
            let judgement = owner.validate(epoch, &batches)?;
            if judgement.verdict == Verdict::Improved {
                best_epoch = Some(epoch);
                // Dropping levels is exact, and inference needs no more: the checkpoints stay small.
                state.best = align_all(e, &state.w, BatchLevels::INFERENCE.shifted)?;
            }
            let (loss, max_abs_logit) = judgement.validation.map_or((None, None), |v| (Some(v.loss), v.max_abs_logit));
            let (verdict, bound) = (judgement.verdict, self.approx.bound);
            observer.epoch_done(&EpochDone { epoch, verdict, loss, max_abs_logit, bound });
            state.log.push(EpochLog {
                epoch,
                val_loss: loss,
                verdict: judgement.verdict,
                val_accuracy,
                val_max_abs_logit: max_abs_logit,
            });
            (state.epoch, state.done) = (epoch + 1, 0);
            save(&mut state, owner, observer)?;
            if judgement.verdict == Verdict::Stop {
                break;
            }
        }
        let report = TrainReport {
            weights: Vec::new(),
            best_epoch: best_epoch.unwrap_or(0),
            log: state.log,
            steps: state.steps,
            refreshes: refreshes + owner.refreshes() - refreshes_before,
            bootstraps: bootstraps + e.bootstraps_done() - bootstraps_before,
            seconds: seconds + start.elapsed().as_secs_f64(),
        };
        observer.finished();
        Ok((state.best, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::batches::encrypt_batches;
    use crate::train::checkpoint::Checkpoint;
    use crate::train::fixtures::{blobs, test_literal, test_schedule};
    use crate::train::key_owner::{KeyOwner, LocalKeyOwner};
    use crate::train::layout::Layout;
    use crate::train::plain::{self, Softmax};
    use crate::train::plan::{Plan, softmax_for};
    use anyhow::anyhow;
    use medblind_core::ckks::bootstrap::{Bootstrapper, bootstrapping_for};
    use medblind_core::ckks::{Context, Encoder, Engine, Params, ParamsLiteral, presets};

    /// Stops a run (with an error) once it has saved `saves` checkpoints into `checkpoint`.
    struct StopAfter<'a> {
        saves: usize,
        checkpoint: &'a Checkpoint<'a>,
    }

    impl TrainObserver for StopAfter<'_> {
        fn checkpoint(&mut self, state: &TrainState) -> Result<()> {
            self.checkpoint.save(state)?;
            self.saves -= 1;
            if self.saves == 0 { Err(anyhow!("interrupted")) } else { Ok(()) }
        }
    }

    /// Trains [`blobs`] by [`test_schedule`] encrypted under `literal` — the cloud bootstrapping if the preset has
    /// a bootstrapping configuration — and checks the decrypted weights against the plaintext `approx` trainer's
    /// within `tolerance` of the largest weight, and every epoch's validation loss within `tolerance`. The run is
    /// stopped after each of `interruptions` (counts of checkpoints saved, from the start of the run or of the last
    /// resumption) and resumed from its checkpoint file.
    fn follows_the_plaintext_approx_trainer(
        literal: &ParamsLiteral,
        tolerance: f64,
        interruptions: &[usize],
    ) -> (Plan, TrainReport) {
        let params = Params::new(literal).unwrap();
        let ctx = Context::new(&params).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        let data = blobs();
        let schedule = test_schedule();
        let layout = Layout::new(ctx.degree() / 2, schedule.batch, 3, data.train.dim()).unwrap();
        let owner = KeyOwner::generate(&ctx, &encoder);
        let boot_literal = bootstrapping_for(literal);
        let bootstrapper = Bootstrapper::for_params(&ctx).unwrap();
        let keys = match boot_literal {
            Some(b) => owner.bootstrapping_keys(&layout.rotation_steps(), b).unwrap(),
            None => owner.cloud_keys(&layout.rotation_steps()),
        };
        let engine = match &bootstrapper {
            Some(b) => Engine::bootstrapping(&ctx, &encoder, &keys.keys, b).unwrap(),
            None => Engine::new(&ctx, &encoder, &keys.keys),
        };
        let approx = softmax_for(3, Some(literal));
        let trainer = Trainer::new(&engine, layout, approx.clone()).unwrap();
        let train = encrypt_batches(&owner, &layout, trainer.batch_levels(), &data.train).unwrap();
        let val = encrypt_batches(&owner, &layout, trainer.batch_levels(), &data.val).unwrap();
        // A key owner in the trainer's process, started again with it: it takes up the saved losses.
        let service = |resume: &Option<TrainState>| {
            let mut service = LocalKeyOwner::new(&owner, &layout, approx.clone(), schedule.epochs, schedule.patience);
            if let Some(state) = resume {
                service.resume(state.log.iter().map(|e| e.val_loss.unwrap()));
            }
            service
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.mbl");
        let checkpoint = Checkpoint { path, ctx: &ctx, key: owner.key(), run: "blobs".into() };
        for &saves in interruptions {
            let resume = checkpoint.load().unwrap();
            let mut observer = StopAfter { saves, checkpoint: &checkpoint };
            let stopped = trainer.train(&train, &val, &schedule, &mut service(&resume), &mut observer, resume);
            assert_eq!(stopped.err().map(|e| e.to_string()).as_deref(), Some("interrupted"));
        }
        let resume = checkpoint.load().unwrap();
        assert_eq!(resume.is_some(), !interruptions.is_empty());
        if let Some(state) = &resume {
            let beyond = TrainState { done: 99, ..state.clone() };
            let refused = trainer.train(&train, &val, &schedule, &mut service(&resume), &mut (), Some(beyond));
            assert!(refused.err().unwrap().to_string().contains("99 batches into an epoch of 3"));
        }
        let (weights, report) =
            trainer.train(&train, &val, &schedule, &mut service(&resume), &mut (), resume.clone()).unwrap();
        let blocks: Vec<Vec<f64>> = weights.iter().map(|w| owner.decrypt(w).unwrap()).collect();
        let have = layout.unpack_weights(&blocks);

        let want = plain::train(&data.train, &data.val, &schedule, Softmax::Approx(approx));
        assert_eq!((report.steps, report.best_epoch), (want.steps, want.best_epoch));
        let worst =
            want.weights.iter().flatten().zip(have.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let size = want.weights.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(size > 0.1, "the model moved ({size})");
        assert!(worst < tolerance * size.max(1.0), "encrypted weights off by {worst} (largest weight {size})");
        for (a, b) in want.log.iter().zip(&report.log) {
            let (want, have) = (a.val_loss.unwrap(), b.val_loss.unwrap());
            assert!((want - have).abs() < tolerance, "validation loss {want} vs {have}");
            assert_eq!(a.verdict, b.verdict);
        }
        // The padded class row (3) of the packed weights stays zero.
        let padding = blocks[0][3 * layout.cols..4 * layout.cols].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(padding < 10.0 * tolerance, "padded class row holds {padding}");
        (trainer.plan(), report)
    }

    #[test]
    fn encrypted_training_with_key_owner_refreshes_follows_the_plaintext_approx_trainer() {
        // The wide approximation: 30 levels, the whole step between two refreshes of the weights.
        let (plan, report) = follows_the_plaintext_approx_trainer(&test_literal(), 1e-5, &[]);
        assert_eq!(plan, Plan { fresh: 30, weights: 30, exp_refresh: None, normalized_refreshes: 0 });
        assert_eq!(report.refreshes, 2 * report.steps, "w and y refreshed once per step");
        assert_eq!(report.bootstraps, 0);
    }

    /// Six steps and two epochs save 8 checkpoints: 3 steps and a validation per epoch. Stopped in the middle of
    /// the first epoch, just before its validation, just after it and in the second, the run resumed each time
    /// from its checkpoint file ends as the uninterrupted one does, with the same counts.
    #[test]
    fn training_resumed_from_checkpoints_follows_the_plaintext_approx_trainer() {
        let (_, report) = follows_the_plaintext_approx_trainer(&test_literal(), 1e-5, &[2, 1, 1, 1]);
        assert_eq!((report.steps, report.log.len()), (6, 2));
        assert_eq!(report.refreshes, 2 * report.steps, "w and y refreshed once per step, none twice");
    }

    #[test]
    fn bootstrapped_training_needs_no_key_owner_and_follows_the_plaintext_approx_trainer_insecure_n4096() {
        let (plan, report) = follows_the_plaintext_approx_trainer(&presets::TEST_INSECURE_N4096_BOOT, 1e-4, &[]);
        // 12 levels per bootstrap, the wide approximation: the exponential after 1 of its 3 squarings, the
        // renormalized probabilities, those of the second stage, and the packed weights (one ciphertext) when they
        // are below the 6 levels the first segment needs: a step leaves them at 8, then one lower each step.
        assert_eq!(plan, Plan { fresh: 12, weights: 6, exp_refresh: Some(1), normalized_refreshes: 0b101 });
        assert_eq!(report.refreshes, 0, "the key owner refreshed nothing");
        // Validation logits go to the key owner: no bootstrap.
        let weights = report.bootstraps - 3 * report.steps;
        assert!((report.steps / 4..=report.steps / 4 + report.log.len()).contains(&weights), "{report:?}");
    }
}
