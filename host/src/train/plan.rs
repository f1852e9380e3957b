//! Where one training step takes fresh levels: the [`Plan`] fixed when the trainer is made, and the softmax
//! approximation both parties use under a parameter set.

use super::batches::BatchLevels;
use super::softmax::SoftmaxApprox;
use anyhow::{Result, anyhow};
use medblind_core::ckks::ParamsLiteral;
use medblind_core::ckks::bootstrap::{bootstrapping_for, fresh_level};

/// Where one step takes fresh levels (see the module documentation); levels count down from a fresh ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The level of a fresh ciphertext: encrypted by the key owner, or bootstrapped.
    pub fresh: usize,
    /// The level the weights must have at the start of a step; they are refreshed when below.
    pub weights: usize,
    /// The number of squarings after which the exponential's partial power is refreshed (`None`: never).
    pub exp_refresh: Option<u32>,
    /// The normalizations after which the probabilities are refreshed, as bits: bit 0 for the renormalization
    /// `e·y₀`, bit `s` for widening stage `s` ([`SoftmaxApprox::stages`]); each is followed by the next stage or,
    /// after the last, by the Goldschmidt factors.
    pub normalized_refreshes: u32,
}

impl Plan {
    /// The plan for `approx` under a parameter set, from its [`fresh_level`]: bootstrapped weights are unpacked
    /// one level below it ([`bootstrapping_for`]), refreshed ones start there.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn for_params(approx: &SoftmaxApprox, literal: &ParamsLiteral) -> Result<Self> {
        let fresh = fresh_level(literal);
        let unpacking = usize::from(bootstrapping_for(literal).is_some());
        Self::new(approx, fresh, fresh - unpacking)
    }

    /// The plan for `approx` when a fresh ciphertext has `fresh` levels and refreshed weights start a step at
    /// `weights` (`fresh`, or one less when they are unpacked after bootstrapping: packing costs a level too,
    /// which the weights must then still have at the end of a step). A step is cut into as few segments as fit:
    /// the first as long as the weights' levels allow, each later one refreshed after the last normalization it
    /// can still finish.
    ///
    /// # Errors
    /// If a step cannot be cut into segments that fit.
    pub fn new(approx: &SoftmaxApprox, fresh: usize, weights: usize) -> Result<Self> {
        let k = approx.squarings as usize;
        let packing = fresh - weights.min(fresh);
        // DiagABT and the exponential's polynomial; each normalization (the inverse and the renormalization, then
        // per stage the square, its inverse and the product); the Goldschmidt factors and DiagATB (the update
        // takes no level of its own), and the packing.
        let head = 2 + 3;
        let normalizations = normalization_chunks(approx);
        let end = approx.goldschmidt_factors as usize + 2 + packing;
        let all: usize = normalizations.iter().sum();
        let too_few = || {
            anyhow!(
                "one training step needs {} levels; with {fresh} levels per refresh it cannot be cut into \
                 segments that fit",
                head + k + all + end - packing
            )
        };
        if weights >= head + k + all + end {
            return Ok(Self { fresh, weights: head + k + all + end, exp_refresh: None, normalized_refreshes: 0 });
        }
        // Refreshed after normalization `first` at the latest, then wherever the levels run out.
        let reached =
            (0..normalizations.len()).rev().find(|&j| weights >= head + k + normalizations[..=j].iter().sum::<usize>());
        if let Some(first) = reached {
            let later = refreshes_after(&normalizations[first + 1..], fresh, fresh, end).ok_or_else(too_few)?;
            return Ok(Self {
                fresh,
                weights: head + k + normalizations[..=first].iter().sum::<usize>(),
                exp_refresh: None,
                normalized_refreshes: 1 << first | later << (first + 1),
            });
        }
        // The exponential is refreshed as late as its level allows but before its last two squarings, which
        // multiply the refresh's relative error by 4 (by 2^(k−m) after m squarings).
        let m = k.saturating_sub(2).min(weights.checked_sub(head).ok_or_else(too_few)?);
        let level = fresh.checked_sub(k - m).ok_or_else(too_few)?;
        let normalized_refreshes = refreshes_after(&normalizations, level, fresh, end).ok_or_else(too_few)?;
        Ok(Self { fresh, weights: head + m, exp_refresh: Some(m as u32), normalized_refreshes })
    }

    /// How many times a step takes fresh levels within itself (the weights' own refresh aside).
    pub fn refreshes_within_step(&self) -> usize {
        usize::from(self.exp_refresh.is_some()) + self.normalized_refreshes.count_ones() as usize
    }

    /// Where a step under this plan (for `approx`) first uses each part of a batch: DiagABT at the weights'
    /// level, the labels just above where the probabilities come out of the last segment's softmax, DiagATB one
    /// below that.
    pub fn batch_levels(&self, approx: &SoftmaxApprox) -> BatchLevels {
        let (k, f) = (approx.squarings as usize, approx.goldschmidt_factors as usize);
        let normalizations = normalization_chunks(approx);
        let error = match (self.exp_refresh, self.normalized_refreshes) {
            (_, 1..) => {
                let last = (u32::BITS - 1 - self.normalized_refreshes.leading_zeros()) as usize;
                self.fresh - normalizations[last + 1..].iter().sum::<usize>() - f
            }
            (Some(m), 0) => self.fresh - (k - m as usize) - approx.normalization_levels() - f,
            (None, 0) => self.weights - 2 - approx.depth(),
        };
        BatchLevels { shifted: self.weights, features: error - 1, labels: (error + 1).min(self.fresh) }
    }
}

/// The levels of each normalization of `approx`, in order: the inverse and the renormalization, then each stage.
fn normalization_chunks(approx: &SoftmaxApprox) -> Vec<usize> {
    let stage = 2 + approx.stage_inverse_polynomial().levels_consumed();
    std::iter::once(approx.inverse_levels() + 1).chain(std::iter::repeat_n(stage, approx.stages as usize)).collect()
}

/// The refreshes (bits, one per normalization of `chunks`) of a segment that enters `chunks` at `level`, with
/// `fresh` levels after each refresh and `end` levels needed after the last: a refresh after a normalization
/// only when the next one (or the end) would not fit. `None` when a chunk or the end exceeds `fresh`.
fn refreshes_after(chunks: &[usize], mut level: usize, fresh: usize, end: usize) -> Option<u32> {
    let mut bits = 0;
    for (i, &chunk) in chunks.iter().enumerate() {
        level = level.checked_sub(chunk)?;
        let next = chunks.get(i + 1).copied().unwrap_or(end);
        if level < next {
            (bits, level) = (bits | 1 << i, fresh);
        }
    }
    (level >= end).then_some(bits)
}

/// The softmax approximation both parties use under `literal`: [`SoftmaxApprox::wide`] when a step with it fits
/// a [`Plan`] (the training presets, with key-owner refreshes or bootstrapping), [`SoftmaxApprox::standard`]
/// where its ten more levels do not fit; the wide one for plaintext-only runs (`None`).
pub fn softmax_for(classes: usize, literal: Option<&ParamsLiteral>) -> SoftmaxApprox {
    let wide = SoftmaxApprox::wide(classes);
    match literal {
        Some(literal) if Plan::for_params(&wide, literal).is_err() => SoftmaxApprox::standard(classes),
        _ => wide,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_cut_a_step_where_levels_run_out_or_refuse() {
        let approx = SoftmaxApprox::standard(7);
        let plan = |exp_refresh, normalized_refreshes, fresh, weights| Plan {
            fresh,
            weights,
            exp_refresh,
            normalized_refreshes,
        };
        // Key-owner refreshes with more levels than a step needs: the weights at 20 suffice.
        assert_eq!(Plan::new(&approx, 31, 31).unwrap(), plan(None, 0, 31, 20));
        // Bootstrapping with 16 levels: the exponential is refreshed after 1 of its 3 squarings, and the rest
        // (2 squarings, the inverse, the renormalization, the Goldschmidt factors, DiagATB, packing) fits.
        assert_eq!(Plan::new(&approx, 16, 15).unwrap(), plan(Some(1), 0, 16, 6));
        // With 20: the first segment reaches the renormalization.
        assert_eq!(Plan::new(&approx, 20, 19).unwrap(), plan(None, 1, 20, 16));
        // With 24: no refresh within a step.
        assert_eq!(Plan::new(&approx, 24, 23).unwrap(), plan(None, 0, 24, 21));
        assert!(Plan::new(&approx, 9, 8).is_err(), "9 levels cannot hold the inverse");
        // Batches where a step first uses them: the shifted blocks at the weights' level, the labels one above
        // the error P − Y (after the last segment's 2 Goldschmidt factors), the feature blocks one below it.
        let levels = |fresh, weights| Plan::new(&approx, fresh, weights).unwrap().batch_levels(&approx);
        let batch = |shifted, features, labels| BatchLevels { shifted, features, labels };
        assert_eq!(levels(31, 31), batch(20, 1, 3));
        assert_eq!(levels(16, 15), batch(6, 3, 5));
        assert_eq!(levels(20, 19), batch(16, 17, 19));
        assert_eq!(levels(24, 23), batch(21, 2, 4));
        assert_eq!(levels(12, 11), batch(6, 9, 11));
        // The wide approximation (normalizations of 8, 5 and 5 levels): with 30 levels no refresh; with 20 one
        // after the base's renormalization; bootstrapped with 12, the exponential after 1 squaring, then after
        // the base's renormalization and after the second stage.
        let wide = SoftmaxApprox::wide(8);
        assert_eq!(Plan::new(&wide, 30, 30).unwrap(), plan(None, 0, 30, 30));
        assert_eq!(Plan::new(&wide, 20, 20).unwrap(), plan(None, 0b1, 20, 16));
        assert_eq!(Plan::new(&wide, 12, 11).unwrap(), plan(Some(1), 0b101, 12, 6));
        assert_eq!(Plan::new(&wide, 12, 11).unwrap().batch_levels(&wide), batch(6, 9, 11));
        assert!(Plan::new(&wide, 7, 6).is_err(), "7 levels cannot hold the inverse");
    }
}
