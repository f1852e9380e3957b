//! The [`Trainer`]: its [`Plan`], where it refreshes, and one NAG step from the kernels ([`super::kernels`]).

use crate::train::batches::{BatchLevels, EncryptedBatch};
use crate::train::key_owner::KeyOwnerService;
use crate::train::layout::Layout;
use crate::train::plan::Plan;
use crate::train::schedule::Schedule;
use crate::train::softmax::SoftmaxApprox;
use anyhow::{Result, anyhow, bail};
use medblind_core::ckks::{Ct, Engine};
use rayon::prelude::*;

/// The encrypted trainer (cloud side: an [`Engine`] holds no secret key).
pub struct Trainer<'e> {
    pub(super) engine: &'e Engine<'e>,
    pub(super) layout: Layout,
    pub(super) approx: SoftmaxApprox,
    pub(super) plan: Plan,
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
    pub(super) fn refresh(&self, owner: &mut dyn KeyOwnerService, cts: &mut [Ct]) -> Result<()> {
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
    pub(super) fn refresh_weights(
        &self,
        owner: &mut dyn KeyOwnerService,
        w: &mut Vec<Ct>,
        y: &mut Vec<Ct>,
    ) -> Result<()> {
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

/// Each of `cts` at `level` (not above its own), scale `Δ`: [`Engine::align`] on every core.
pub(super) fn align_all(e: &Engine<'_>, cts: &[Ct], level: usize) -> Result<Vec<Ct>> {
    Ok(cts.par_iter().map(|ct| e.align(ct, level)).collect::<medblind_core::Result<_>>()?)
}
