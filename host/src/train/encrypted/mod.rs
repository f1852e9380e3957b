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

mod epochs;
mod kernels;

use super::batches::{BatchLevels, EncryptedBatch};
use super::key_owner::KeyOwnerService;
use super::layout::Layout;
use super::plan::Plan;
use super::schedule::Schedule;
use super::softmax::SoftmaxApprox;
use anyhow::{Result, anyhow, bail};
use kernels::align_all;
use medblind_core::ckks::{Ct, Engine};

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
}
