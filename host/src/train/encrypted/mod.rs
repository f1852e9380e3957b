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
//!
//! [`Plan`]: crate::train::plan::Plan
//! [`SoftmaxApprox`]: crate::train::softmax::SoftmaxApprox
//! [`KeyOwnerService::refresh`]: crate::train::key_owner::KeyOwnerService::refresh

mod epochs;
mod kernels;
mod trainer;

pub use trainer::Trainer;
