//! The cloud's trainer: Nesterov accelerated gradient on CKKS-encrypted features, labels and weights.
//!
//! One step on a batch (see [`super::layout`] for the packing), from lookahead weights `y`:
//! 1. logits `Z = X·yᵀ` in the diagonal layout (HETAL's DiagABT), divided by the exponential's domain `D` in
//!    the mask: for each of the `c` diagonals `t`, the feature blocks with their rows shifted down by `t` (the
//!    hospital encrypts them so) times `y`, a row sum (two doubly hoisted rotation sums), a mask and a shift to
//!    row `i − t`, column `t`, two diagonals at a time as the real and imaginary parts of one product (2 levels);
//! 2. probabilities `P` by [`SoftmaxApprox`] (16 levels with the standard constants, 26 with the wide ones);
//! 3. the step `η/b·(P − Y)ᵀX` tiled like the weights (HETAL's DiagATB): for each `t`, column `t` of `P − Y`
//!    (scaled by `η/b`) broadcast along its row and moved to the block row of its class, times the feature
//!    blocks the hospital moved as far, then summed over the `rows/c` block rows, again two diagonals at a time
//!    (2 levels);
//! 4. `w' = y − step`, `y' = w' + μ(w' − w)`: the constants go into DiagATB's mask and the scales, so no level.
//!
//! 20 levels in all, 30 with the wide approximation. Where they come from is a [`Plan`] fixed when the trainer is made, from the level of a
//! fresh ciphertext:
//! - **Key-owner refreshes** (parameters with a step's levels or more): a step runs within one ciphertext's levels and
//!   the weights are refreshed before the next by [`KeyOwnerService::refresh`] — the hospital decrypts them and
//!   encrypts them again at the levels a step needs, where DiagABT costs least.
//! - **Bootstrapping** (the engine holds bootstrapping keys; 12 levels after each bootstrap): the cloud refreshes
//!   where the values are in `[0, 1]` and well conditioned — the exponential's partial power `g(z/D)^(2^m)`
//!   before its last two squarings, and the probabilities after a normalization (the renormalized `e·y₀`, class
//!   sums within `ε₀ = 7.3·10⁻²` of 1, and with the wide approximation those of its second stage, so the
//!   Goldschmidt factors after them do not amplify bootstrapping's error): three times per step with the wide
//!   approximation — and the weights and lookahead weights when they fall below the levels the step's first
//!   segment needs, packed by masks into as few full-slot ciphertexts as their distinct values fill (one for a
//!   7-class head over 193 features). The refreshed values are the same numbers either way, so the plaintext
//!   `approx` trainer is mirrored exactly. The key owner then only scores the validation logits.

use super::batches::{BatchLevels, Batches, EncryptedBatch};
use super::checkpoint::TrainState;
use super::key_owner::{KeyOwnerService, ValidationBatch};
use super::layout::Layout;
use super::plan::Plan;
use super::schedule::{Schedule, Verdict};
use super::softmax::SoftmaxApprox;
use super::{EpochLog, TrainReport};
use crate::progress;
use anyhow::{Result, anyhow, bail};
use medblind_core::ckks::{Ct, Engine};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::time::Instant;

/// The encrypted trainer (cloud side: an [`Engine`] holds no secret key).
pub struct Trainer<'e> {
    engine: &'e Engine<'e>,
    layout: Layout,
    approx: SoftmaxApprox,
    plan: Plan,
}

impl<'e> Trainer<'e> {
    /// A trainer for `layout` with the softmax approximation `approx`: fresh levels from the engine's
    /// bootstrapping if it has it, from the key owner otherwise.
    ///
    /// # Errors
    /// If a step cannot fit the parameters' levels (see [`Plan::new`]), or the layout has other slots.
    pub fn new(engine: &'e Engine<'e>, layout: Layout, approx: SoftmaxApprox) -> Result<Self> {
        if layout.slots != engine.slots() {
            bail!("the packing is for {} slots, the parameters have {}", layout.slots, engine.slots());
        }
        let fresh = engine.fresh_level();
        let plan = Plan::new(&approx, fresh, fresh - usize::from(engine.bootstraps()))?;
        Ok(Self { engine, layout, approx, plan })
    }

    /// Where this trainer's steps take fresh levels.
    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// The levels batches for this trainer are encrypted at ([`Plan::batch_levels`]).
    pub fn batch_levels(&self) -> BatchLevels {
        self.plan.batch_levels(&self.approx)
    }

    /// Levels one step with the softmax approximation `approx` consumes.
    pub fn depth_with(approx: &SoftmaxApprox) -> usize {
        2 + approx.depth() + 2
    }

    /// DiagABT: the logits `X·yᵀ` of a batch's shifted feature blocks `shifted` ([`Layout::shifted_features`])
    /// under weight blocks `y` (at any scale), times `factor`, in the diagonal layout. Diagonals `t` and
    /// `t + c/2` share one product as its real and imaginary parts: the blocks of shift `t` times `y` as it is,
    /// summed over the blocks and relinearized once, summed over the columns (two doubly hoisted rotation sums,
    /// [`Layout::row_sum_steps`]) and masked to column 0, where row `i` holds row `i − t`'s logit for class
    /// `i mod c`; one rotation by `t·cols − t` takes it to its slot `(i − t, t)`. One conjugation at the end moves
    /// the imaginary parts (row `i − t − c/2`) a further `c/2·cols − c/2` slots. No rotation of the weights: the
    /// shifts were the hospital's, once per batch. Consumes 2 levels.
    ///
    /// # Errors
    /// If a rotation or the conjugation key is missing, the blocks are not `blocks · c/2`, or the ciphertexts
    /// have too few levels.
    pub fn logits(&self, shifted: &[Ct], y: &[Ct], factor: f64) -> Result<Ct> {
        let (e, l) = (self.engine, &self.layout);
        let half = l.class_slots / 2;
        if shifted.len() != l.blocks * half || y.len() != l.blocks {
            bail!(
                "{} shifted feature and {} weight blocks, expected {} and {}",
                shifted.len(),
                y.len(),
                l.blocks * half,
                l.blocks
            );
        }
        // The weights aligned once here rather than once per diagonal in the dot products (which align each
        // shifted block, used once, themselves).
        let level = shifted.iter().chain(y).map(Ct::level).min().ok_or_else(|| anyhow!("no weight blocks"))?;
        let y = align_all(e, y, level)?;
        // Halved: the real and imaginary parts are each counted twice below.
        let column0 = l.column_mask(0, l.rows, 0.5 * factor);
        let [inner, outer] = l.row_sum_steps();
        let pairs: Vec<Ct> = (0..half)
            .into_par_iter()
            .map(|t| {
                let products: Vec<(&Ct, &Ct)> = (0..l.blocks).map(|b| (&shifted[b * half + t], &y[b])).collect();
                let m = e.rotation_sum(&e.rotation_sum(&e.dot(&products)?, &inner)?, &outer)?;
                e.rotate(&e.mul_values(&m, &column0)?, (t * l.cols - t) as i64)
            })
            .collect::<medblind_core::Result<_>>()?;
        // The halved mask cancels the unpairing's factor 2.
        Ok(e.unpair(&e.sum(&pairs)?, (half * l.cols - half) as i64)?)
    }

    /// Row `i`'s class sum in slots `(i, 0..c)`.
    fn class_sum(&self, v: &Ct) -> Result<Ct> {
        let e = self.engine;
        let c = self.layout.class_slots;
        let mut s = e.add(v, &e.rotate(v, -(c as i64))?)?;
        let mut step = 1;
        while step < c {
            s = e.add(&s, &e.rotate(&s, step as i64)?)?;
            step <<= 1;
        }
        Ok(s)
    }

    /// `cts` at the fresh level: bootstrapped by the engine if it can, refreshed by the key owner otherwise.
    fn refresh(&self, owner: &mut dyn KeyOwnerService, cts: &mut [Ct]) -> Result<()> {
        if !self.engine.bootstraps() {
            return owner.refresh(cts, self.plan.fresh);
        }
        for ct in cts {
            *ct = self.engine.bootstrap(ct)?;
        }
        Ok(())
    }

    /// The weights `w` and lookahead weights `y` at [`Plan::weights`] or above: refreshed by the key owner, or
    /// packed, bootstrapped and unpacked by the engine ([`Self::bootstrap_tiled`]).
    fn refresh_weights(&self, owner: &mut dyn KeyOwnerService, w: &mut Vec<Ct>, y: &mut Vec<Ct>) -> Result<()> {
        let mut both: Vec<Ct> = std::mem::take(w).into_iter().chain(std::mem::take(y)).collect();
        if self.engine.bootstraps() {
            both = self.bootstrap_tiled(&both)?;
        } else {
            // At the level a step needs, where DiagABT costs least.
            owner.refresh(&mut both, self.plan.weights)?;
        }
        *y = both.split_off(self.layout.blocks);
        *w = both;
        Ok(())
    }

    /// Ciphertexts tiled like the weights (period `c·cols`: one block row repeated) bootstrapped at one level
    /// below the fresh one. They share ciphertexts as [`Layout::packed_periods`] groups them: block `k` of a group
    /// moves, by a mask, to segment `k` of every period of `n` slots (1 level). After the bootstrap the periods are
    /// averaged (`log2(slots/n)` rotations) and each block comes back by the same mask and `log2(n/(c·cols))`
    /// rotations that copy segment `k` over its period.
    ///
    /// The averaging makes every block row identical again. Bootstrapping's noise differs from slot to slot, and
    /// block rows that drift apart are not pulled together by the gradient (it is the same for all of them): with
    /// the lookahead `y' = w' + μ(w' − w)` mixing blocks unpacked from different periods, their differences grew
    /// about 2.2-fold per step until they swamped the weights.
    fn bootstrap_tiled(&self, tiled: &[Ct]) -> Result<Vec<Ct>> {
        let (e, l) = (self.engine, &self.layout);
        let period = l.class_slots * l.cols;
        let mut out = Vec::with_capacity(tiled.len());
        for (group, n) in tiled.chunks(l.slots / period).zip(l.packed_periods(tiled.len())) {
            let segment = |k: usize, value: f64| -> Vec<f64> {
                (0..l.slots).map(|s| if (s % n) / period == k { value } else { 0.0 }).collect()
            };
            let parts: Vec<Ct> = group
                .par_iter()
                .enumerate()
                .map(|(k, t)| e.mul_values(t, &segment(k, 1.0)))
                .collect::<medblind_core::Result<_>>()?;
            let mut fresh = e.bootstrap(&e.sum(&parts)?)?;
            let mut shift = n;
            while shift < l.slots {
                fresh = e.add(&fresh, &e.rotate(&fresh, shift as i64)?)?;
                shift <<= 1;
            }
            let copies = (l.slots / n) as f64;
            let unpacked: Vec<Ct> = (0..group.len())
                .into_par_iter()
                .map(|k| {
                    let mut x = e.mul_values(&fresh, &segment(k, 1.0 / copies))?;
                    let mut shift = period;
                    while shift < n {
                        x = e.add(&x, &e.rotate(&x, shift as i64)?)?;
                        shift <<= 1;
                    }
                    Ok(x)
                })
                .collect::<Result<_>>()?;
            out.extend(unpacked);
        }
        Ok(out)
    }

    /// The exponential's polynomial `g(x)` of `x = z/D` (zero outside the real classes of the first `rows`
    /// rows), as `(c₀ + c₁x) + (c₂ + c₃x)·x² + ((c₄ + c₅x) + (c₆ + c₇x)·x²)·x⁴`: the coefficients are masks, so
    /// 3 levels.
    fn exp_polynomial(&self, x: &Ct, rows: usize) -> Result<Ct> {
        let (e, l) = (self.engine, &self.layout);
        let c = self.approx.exp_coefficients();
        let x2 = e.mul_nominal(x, x)?;
        let x4 = e.mul_nominal(&x2, &x2)?;
        let affine =
            |i: usize| e.add_values(&e.mul_values(x, &l.class_mask(rows, c[i + 1]))?, &l.class_mask(rows, c[i]));
        let low = e.add(&affine(0)?, &e.mul_nominal(&affine(2)?, &x2)?)?;
        let high = e.add(&affine(4)?, &e.mul_nominal(&affine(6)?, &x2)?)?;
        Ok(e.add(&low, &e.mul_nominal(&high, &x4)?)?)
    }

    /// The approximate softmax of diagonal-layout logits in units of the exponential's domain (`z/D`, zero
    /// outside the real classes of the first `rows` rows), refreshed where the [`Plan`] says.
    fn softmax(&self, x: &Ct, rows: usize, owner: &mut dyn KeyOwnerService) -> Result<Ct> {
        let (e, a) = (self.engine, &self.approx);
        let mut exp = self.exp_polynomial(x, rows)?;
        for m in 0..a.squarings {
            if self.plan.exp_refresh == Some(m) {
                self.refresh(owner, std::slice::from_mut(&mut exp))?;
            }
            exp = e.mul_nominal(&exp, &exp)?;
        }
        let shifted = e.add_scalar(&self.class_sum(&exp)?, -(a.smallest_sum() + 1.0));
        let inverse = e.polynomial(&shifted, a.inverse_polynomial())?;
        // e·y₀: read at scale Δ it is off by one factor, which the Goldschmidt factors correct with the rest.
        let mut p = e.mul_nominal(&exp, &inverse)?;
        for stage in 0..=a.stages {
            if stage > 0 {
                let t = e.mul_nominal(&p, &p)?;
                let shifted = e.add_scalar(&self.class_sum(&t)?, -a.stage_shift());
                p = e.mul_nominal(&t, &e.polynomial(&shifted, a.stage_inverse_polynomial())?)?;
            }
            if self.plan.normalized_refreshes & 1 << stage != 0 {
                self.refresh(owner, std::slice::from_mut(&mut p))?;
            }
        }
        for _ in 0..a.goldschmidt_factors {
            p = e.mul(&p, &e.scalar_minus(2.0, &self.class_sum(&p)?))?;
        }
        Ok(p)
    }

    /// DiagATB: `2·rate/rows · (P − Y)ᵀX`, tiled like the weights, from `error = P − Y` (diagonal layout) and the
    /// batch's [`Layout::gradient_features`] `x`. Diagonals `t` and `t + c/2` share one product as their real and
    /// imaginary parts: their error columns broadcast along the rows and moved to the block row of `t`'s class
    /// (`c − t` block rows up), where the feature blocks moved as far up meet them; per block one dot product over
    /// the pairs (one relinearization), summed over the `rows/c` block rows; one conjugation per block then moves
    /// the imaginary parts `c/2` block rows further. Consumes 2 levels. The unpairing's factor 2 is left in, for
    /// the update to take into its scale exactly ([`Engine::div_exact`]) after all the noise is in.
    ///
    /// # Errors
    /// If a rotation or the conjugation key is missing or the ciphertexts have too few levels.
    pub fn gradient_step(&self, x: &[Ct], error: &Ct, rows: usize, rate: f64) -> Result<Vec<Ct>> {
        let (e, l) = (self.engine, &self.layout);
        let (c, half) = (l.class_slots, l.class_slots / 2);
        if x.len() != l.blocks * half {
            bail!("{} feature blocks, expected {}", x.len(), l.blocks * half);
        }
        let column = |t: usize| e.mul_values(error, &l.column_mask(t, rows, rate / rows as f64));
        let broadcasts: Vec<Ct> = (0..half)
            .into_par_iter()
            .map(|t| {
                let upper = e.rotate(&column(t + half)?, half as i64)?;
                let mut pair = e.add(&column(t)?, &e.mul_i(&upper)?)?;
                let mut s = 1;
                while s < l.cols {
                    pair = e.add(&pair, &e.rotate(&pair, -(s as i64))?)?;
                    s <<= 1;
                }
                let broadcast = e.rotate(&pair, t as i64)?;
                if t == 0 { Ok(broadcast) } else { e.rotate(&broadcast, ((c - t) * l.cols) as i64) }
            })
            .collect::<medblind_core::Result<_>>()?;
        (0..l.blocks)
            .into_par_iter()
            .map(|b| {
                let products: Vec<(&Ct, &Ct)> = broadcasts.iter().zip(&x[b * half..(b + 1) * half]).collect();
                let mut a = e.dot(&products)?;
                let mut fold = c * l.cols;
                while fold < l.slots {
                    a = e.add(&a, &e.rotate(&a, fold as i64)?)?;
                    fold <<= 1;
                }
                // a repeats every c block rows, so its imaginary part moves c/2 block rows either way.
                e.unpair(&a, (half * l.cols) as i64)
            })
            .collect::<medblind_core::Result<_>>()
            .map_err(Into::into)
    }

    /// One NAG step on `batch`: returns the new weights `w'` and lookahead `y'` at the step's level, or one below
    /// the weights' if that is lower (`owner` refreshes mid-step only if the plan asks it to, which no plan with
    /// bootstrapping or 20 levels does).
    ///
    /// # Errors
    /// If the weights have fewer than [`Plan::weights`] levels, or a key is missing.
    pub fn step(
        &self,
        batch: &EncryptedBatch,
        w: &[Ct],
        y: &[Ct],
        rate: f64,
        schedule: &Schedule,
        owner: &mut dyn KeyOwnerService,
    ) -> Result<(Vec<Ct>, Vec<Ct>)> {
        let e = self.engine;
        let z = self.logits(&batch.shifted, y, 1.0 / self.approx.domain)?;
        let p = self.softmax(&z, batch.rows, owner)?;
        let error = e.sub(&p, &batch.labels)?;
        // `(1 + μ)·step`, read at scale 2Δ (the unpairing's factor 2 undone, exactly) and, divided by 1 + μ, at
        // 2(1 + μ)Δ: w' = shrink·y − step and y' = (1 + μ)·shrink·y − μ·w − (1 + μ)·step, the constant products
        // landing on the step's level (or one below the weights') and scale, so the update takes no level.
        let (shrink, momentum) = (1.0 - rate * schedule.weight_decay, schedule.momentum);
        let steps = self.gradient_step(&batch.features, &error, batch.rows, rate * (1.0 + momentum))?;
        steps
            .iter()
            .zip(w.iter().zip(y))
            .map(|(step, (w, y))| {
                let level = (y.level().checked_sub(1).ok_or_else(|| anyhow!("weights at level 0"))?).min(step.level());
                let step = e.align_to(step, level, step.scale())?;
                let (for_y, for_w) = (e.div_exact(&step, 2.0), e.div_exact(&step, 2.0 * (1.0 + momentum)));
                let nw = e.sub(&e.scaled_to(y, shrink, level, for_w.scale())?, &for_w)?;
                let kept = e.scaled_to(y, (1.0 + momentum) * shrink, level, for_y.scale())?;
                let ny = e.sub(&e.sub(&kept, &e.scaled_to(w, momentum, level, for_y.scale())?)?, &for_y)?;
                Ok((nw, ny))
            })
            .collect::<Result<Vec<_>>>()
            .map(|pairs| pairs.into_iter().unzip())
    }

    /// Encrypted inference: the logits of `batch` under encrypted weights `w`, in the diagonal layout
    /// ([`Layout::unpack_logits`] reads them after decryption), at level 0. The operands are first brought down
    /// to the 2 levels DiagABT consumes, where its rotations cost least (a fraction of what they cost at a fresh
    /// level); the weights passed in keep their level.
    ///
    /// # Errors
    /// If `w` has fewer than 2 levels, or a key is missing.
    pub fn predict(&self, batch: &EncryptedBatch, w: &[Ct]) -> Result<Ct> {
        self.logits(&batch.shifted, &align_all(self.engine, w, BatchLevels::INFERENCE.shifted)?, 1.0)
    }

    /// Trains from zero weights, or from `resume` (a run's [`TrainState`] after a step, as
    /// [`TrainHooks::checkpoint`] was handed it): the steps and epochs that follow are those the uninterrupted
    /// run would have taken. Returns the weights of the epoch with the lowest validation loss, still encrypted, at the
    /// levels inference needs ([`BatchLevels::INFERENCE`]). A
    /// progress bar on stderr (when it is a terminal) counts the steps of each epoch, with the epoch in its message
    /// and an ETA; `hooks` hears of every step and epoch.
    ///
    /// # Errors
    /// As [`Self::step`], the key-owner service and the hooks; a `resume` state of another packing.
    pub fn train(
        &self,
        train: &dyn Batches,
        val: &dyn Batches,
        schedule: &Schedule,
        owner: &mut dyn KeyOwnerService,
        hooks: &mut dyn TrainHooks,
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
        let save = |state: &mut TrainState, owner: &dyn KeyOwnerService, hooks: &mut dyn TrainHooks| {
            state.refreshes = refreshes + owner.refreshes() - refreshes_before;
            state.bootstraps = bootstraps + e.bootstraps_done() - bootstraps_before;
            state.seconds = seconds + start.elapsed().as_secs_f64();
            hooks.checkpoint(state)
        };
        let bar = progress::slow_steps(train.count() as u64, "");
        let stopped = state.log.last().is_some_and(|last| last.verdict == Verdict::Stop);
        while state.epoch < schedule.epochs && !stopped {
            let epoch = state.epoch;
            let rate = schedule.learning_rate_at(epoch);
            let epoch_name = format!("epoch {}/{}", epoch + 1, schedule.epochs);
            bar.reset();
            bar.set_message(epoch_name.clone());
            bar.inc(state.done as u64);
            for &b in &schedule.batch_order(train.count(), epoch)[state.done..] {
                let step_start = Instant::now();
                if state.y[0].level() < self.plan.weights {
                    self.refresh_weights(owner, &mut state.w, &mut state.y)?;
                }
                let batch = train.batch(b)?;
                (state.w, state.y) = self.step(&batch, &state.w, &state.y, rate, schedule, owner)?;
                (state.steps, state.done) = (state.steps + 1, state.done + 1);
                save(&mut state, owner, hooks)?;
                bar.inc(1);
                let seconds = step_start.elapsed().as_secs_f64();
                bar.suspend(|| hooks.progress(&format!("epoch {} step {}: {seconds:.1} s", epoch + 1, state.steps)));
            }
            bar.set_message(format!("{epoch_name}: refresh and validation"));
            if state.y[0].level() < self.plan.weights {
                self.refresh_weights(owner, &mut state.w, &mut state.y)?;
            }
            let val_accuracy = hooks.epoch_weights(&state.w)?;
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
            bar.suspend(|| {
                hooks.progress(&epoch_line(epoch, judgement.verdict, loss, max_abs_logit, self.approx.bound))
            });
            state.log.push(EpochLog {
                epoch,
                val_loss: loss,
                verdict: judgement.verdict,
                val_accuracy,
                val_max_abs_logit: max_abs_logit,
            });
            (state.epoch, state.done) = (epoch + 1, 0);
            save(&mut state, owner, hooks)?;
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
        Ok((state.best, report))
    }
}

/// What a training run tells its caller as it goes; every method does nothing unless overridden.
pub trait TrainHooks {
    /// A line of progress: one per step and per epoch.
    fn progress(&mut self, _line: &str) {}

    /// The weights at the end of an epoch, after the key owner's refresh. A caller holding the secret key in
    /// the same process (the comparison in [`super::compare`]) decrypts them and returns the epoch's validation
    /// accuracy; the cloud cannot, and returns `None`. Nothing it does reaches the trainer.
    ///
    /// # Errors
    /// Whatever stops the caller from scoring the weights.
    fn epoch_weights(&mut self, _w: &[Ct]) -> Result<Option<f64>> {
        Ok(None)
    }

    /// The run's state after every step and after every epoch's validation: saved, it lets an interrupted run
    /// resume ([`super::checkpoint`]).
    ///
    /// # Errors
    /// Whatever stops the caller from keeping it (training stops: a run that cannot be saved is not continued).
    fn checkpoint(&mut self, _state: &TrainState) -> Result<()> {
        Ok(())
    }
}

/// The progress line after an epoch: the key owner's verdict, with the loss and largest logit behind it where they
/// are known (an in-process key owner).
fn epoch_line(epoch: usize, verdict: Verdict, loss: Option<f64>, max_abs_logit: Option<f64>, bound: f64) -> String {
    let mut line = format!("epoch {}: {} (the key owner's verdict", epoch + 1, verdict.word());
    if let Some(loss) = loss {
        let _ = write!(line, "; validation loss {loss:.4}");
    }
    if let Some(logit) = max_abs_logit {
        let _ = write!(line, ", largest |logit| {logit:.2}");
    }
    line.push(')');
    if loss == Some(f64::INFINITY) {
        let _ = write!(line, "; the logits left the softmax approximation's range |z| ≤ {bound}: training stops here");
    }
    line
}

/// Each of `cts` at `level` (not above its own), scale `Δ`: [`Engine::align`] on every core.
fn align_all(e: &Engine<'_>, cts: &[Ct], level: usize) -> Result<Vec<Ct>> {
    Ok(cts.par_iter().map(|ct| e.align(ct, level)).collect::<medblind_core::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::super::TrainReport;
    use super::super::batches::{encrypt_batch, encrypt_batches};
    use super::super::checkpoint::Checkpoint;
    use super::super::fixtures::{blobs, test_literal, test_schedule};
    use super::super::key_owner::KeyOwner;
    use super::super::key_owner::LocalKeyOwner;
    use super::super::plain::{self, Softmax};
    use super::super::plan::softmax_for;
    use super::*;
    use medblind_core::ckks::bootstrap::{Bootstrapper, bootstrapping_for};
    use medblind_core::ckks::{Context, Encoder, Params, ParamsLiteral, presets};

    /// The context and encoder of [`test_literal`].
    fn test_context() -> (Context<Vec<u64>>, Encoder<Vec<f64>>) {
        let ctx = Context::new(&Params::new(&test_literal()).unwrap()).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        (ctx, encoder)
    }

    /// `rows × cols` deterministic values in `[-0.5, 0.5)`, the `seed`-th such matrix.
    fn scattered(rows: usize, cols: usize, seed: usize) -> Vec<Vec<f64>> {
        let value = |i: usize| ((i as f64 * 12.9898).sin() * 43758.5453).fract().abs() - 0.5;
        (0..rows).map(|i| (0..cols).map(|j| value(7919 * seed + cols * i + j)).collect()).collect()
    }

    /// Hooks that do nothing.
    struct Silent;

    impl TrainHooks for Silent {}

    /// Stops a run (with an error) once it has saved `saves` checkpoints into `checkpoint`.
    struct StopAfter<'a> {
        saves: usize,
        checkpoint: &'a Checkpoint<'a>,
    }

    impl TrainHooks for StopAfter<'_> {
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
            let mut hooks = StopAfter { saves, checkpoint: &checkpoint };
            let stopped = trainer.train(&train, &val, &schedule, &mut service(&resume), &mut hooks, resume);
            assert_eq!(stopped.err().map(|e| e.to_string()).as_deref(), Some("interrupted"));
        }
        let resume = checkpoint.load().unwrap();
        assert_eq!(resume.is_some(), !interruptions.is_empty());
        if let Some(state) = &resume {
            let beyond = TrainState { done: 99, ..state.clone() };
            let refused = trainer.train(&train, &val, &schedule, &mut service(&resume), &mut Silent, Some(beyond));
            assert!(refused.err().unwrap().to_string().contains("99 batches into an epoch of 3"));
        }
        let (weights, report) =
            trainer.train(&train, &val, &schedule, &mut service(&resume), &mut Silent, resume.clone()).unwrap();
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

    /// Every part of a batch at the fresh level.
    fn fresh_levels(engine: &Engine<'_>) -> BatchLevels {
        let fresh = engine.fresh_level();
        BatchLevels { shifted: fresh, features: fresh, labels: fresh }
    }

    #[test]
    fn diag_abt_gives_every_diagonal_of_the_plaintext_product_and_zeros_elsewhere() {
        let (ctx, encoder) = test_context();
        let owner = KeyOwner::generate(&ctx, &encoder);
        // 5 classes padded to 8 (four pairs of diagonals) and 2 (one pair); 100 features in 2 blocks of 64
        // columns; 13 of 16 rows.
        for classes in [5, 2] {
            let layout = Layout::new(ctx.degree() / 2, 16, classes, 100).unwrap();
            assert_eq!((layout.cols, layout.blocks), (64, 2));
            let keys = owner.cloud_keys(&layout.rotation_steps());
            let engine = Engine::new(&ctx, &encoder, &keys.keys);
            let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(classes)).unwrap();
            let (x, w) = (scattered(13, 100, 0), scattered(classes, 100, 1));
            let batch = encrypt_batch(&owner, &layout, fresh_levels(&engine), &x, &[]).unwrap();
            let weights: Vec<Ct> = layout.weights(&w).iter().map(|v| owner.encrypt(v).unwrap()).collect();
            let z = trainer.logits(&batch.shifted, &weights, 1.0).unwrap();
            assert_eq!(z.level(), engine.fresh_level() - 2);
            let slots = owner.decrypt(&z).unwrap();
            for (xi, zi) in x.iter().zip(&layout.unpack_logits(&slots, 13)) {
                for (wk, zk) in w.iter().zip(zi) {
                    let want: f64 = xi.iter().zip(wk).map(|(a, b)| a * b).sum();
                    // The product's scale is read as Δ: off by a relative |Δ/q_ℓ − 1| ≤ 1.3·10⁻⁶.
                    assert!((want - zk).abs() < 1e-6 * (1.0 + 2.0 * want.abs()), "logit {zk}, want {want}");
                }
            }
            // Nothing outside the diagonal layout's columns (a padded class's slots hold its zero logits).
            let c = layout.class_slots;
            let stray = (0..slots.len()).filter(|s| s % layout.cols >= c).map(|s| slots[s].abs()).fold(0.0, f64::max);
            assert!(stray < 1e-6, "{stray} outside the diagonal columns ({classes} classes)");
        }
    }

    #[test]
    fn diag_atb_gives_the_plaintext_gradient_tiled_like_the_weights() {
        let (ctx, encoder) = test_context();
        let owner = KeyOwner::generate(&ctx, &encoder);
        let (rows, rate) = (13, 0.7);
        let x = scattered(rows, 100, 0);
        for classes in [5, 2] {
            let layout = Layout::new(ctx.degree() / 2, 16, classes, 100).unwrap();
            let keys = owner.cloud_keys(&layout.rotation_steps());
            let engine = Engine::new(&ctx, &encoder, &keys.keys);
            let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(classes)).unwrap();
            // An error matrix over the real classes, in the diagonal layout.
            let c = layout.class_slots;
            let errors = scattered(rows, classes, 2);
            let mut diagonal = vec![0.0; layout.slots];
            for (i, row) in errors.iter().enumerate() {
                for (k, &v) in row.iter().enumerate() {
                    diagonal[i * layout.cols + (k + c - i % c) % c] = v;
                }
            }
            let batch = encrypt_batch(&owner, &layout, fresh_levels(&engine), &x, &[]).unwrap();
            let error = engine.align(&owner.encrypt(&diagonal).unwrap(), 10).unwrap();
            let step = trainer.gradient_step(&batch.features, &error, rows, rate).unwrap();
            assert!(step.iter().all(|g| g.level() == 8));
            let blocks: Vec<Vec<f64>> =
                step.iter().map(|g| owner.decrypt(&engine.div_exact(g, 2.0)).unwrap()).collect();
            for (k, have) in layout.unpack_weights(&blocks).iter().enumerate() {
                for (j, g) in have.iter().enumerate() {
                    let want = rate / rows as f64 * (0..rows).map(|i| errors[i][k] * x[i][j]).sum::<f64>();
                    assert!((want - g).abs() < 1e-6, "class {k}, feature {j}: {g}, want {want}");
                }
            }
            // Every block row holds the same weights, the padded classes' rows zero.
            let period = c * layout.cols;
            for b in &blocks {
                let apart = (0..b.len()).map(|s| (b[s] - b[s % period]).abs()).fold(0.0, f64::max);
                let padding = b[classes * layout.cols..period].iter().fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(apart < 1e-6 && padding < 1e-6, "block rows apart by {apart}, padding {padding}");
            }
        }
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

    #[test]
    fn packed_weights_come_back_from_bootstrapping_in_two_groups_insecure_n4096() {
        let literal = &presets::TEST_INSECURE_N4096_BOOT;
        let ctx = Context::new(&Params::new(literal).unwrap()).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        // 300 features: 3 blocks of 128 columns; w and y make 6 tiled blocks of period 4·128 = 512, packed 4 + 2
        // (in periods of 2048 and 1024 slots).
        let layout = Layout::new(ctx.degree() / 2, 16, 3, 300).unwrap();
        assert_eq!(layout.packed_periods(2 * layout.blocks), [2048, 1024]);
        let owner = KeyOwner::generate(&ctx, &encoder);
        let boot = bootstrapping_for(literal).unwrap();
        let bootstrapper = Bootstrapper::for_params(&ctx).unwrap().unwrap();
        let keys = owner.bootstrapping_keys(&layout.rotation_steps(), boot).unwrap();
        let engine = Engine::bootstrapping(&ctx, &encoder, &keys.keys, &bootstrapper).unwrap();
        let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(3)).unwrap();
        let matrices: Vec<Vec<Vec<f64>>> = (0..2)
            .map(|m| {
                (0..3).map(|k| (0..300).map(|j| ((m * 977 + k * 301 + j) as f64 * 0.37).sin()).collect()).collect()
            })
            .collect();
        let mut tiled: Vec<Vec<f64>> = matrices.iter().flat_map(|w| layout.weights(w)).collect();
        // Block row 2 of the second group's first block (the second matrix's second block) drifted, as
        // bootstrapping's noise makes block rows drift: it is averaged with block row 0, the other copy of its
        // segment, and every block row comes back the same.
        let (period, drift) = (layout.class_slots * layout.cols, 1e-3);
        tiled[4][2 * period + 7] += drift;
        let mut matrices = matrices;
        matrices[1][0][layout.cols + 7] += drift / 2.0;
        let tiled: Vec<Ct> = tiled.iter().map(|v| engine.align(&owner.encrypt(v).unwrap(), 2).unwrap()).collect();
        let fresh = trainer.bootstrap_tiled(&tiled).unwrap();
        assert_eq!(engine.bootstraps_done(), 2, "one bootstrap per group");
        assert!(fresh.iter().all(|ct| ct.level() == engine.fresh_level() - 1));
        for (m, blocks) in matrices.iter().zip(fresh.chunks(layout.blocks)) {
            let blocks: Vec<Vec<f64>> = blocks.iter().map(|ct| owner.decrypt(ct).unwrap()).collect();
            let apart =
                blocks.iter().flat_map(|b| (0..b.len()).map(|s| (b[s] - b[s % period]).abs())).fold(0.0, f64::max);
            assert!(apart < 1e-6, "block rows differ by {apart}");
            let worst = m
                .iter()
                .flatten()
                .zip(layout.unpack_weights(&blocks).iter().flatten())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-5, "packed weights off by {worst} after bootstrapping");
        }
    }
}
