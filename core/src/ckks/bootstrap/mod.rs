//! CKKS bootstrapping: a ciphertext at any level back to a high level, with the same message, without the
//! secret key (Cheon–Han–Kim–Kim–Song 2018, with the improvements of Han–Ki 2020 and Bossuat et al. 2021–22).
//!
//! For `n` slots (`n ≤ N/2`, gap `g = N/2n`) and a ciphertext of `m` at scale `Δ`:
//! 1. **Sparse-secret encapsulation** (Bossuat et al., ACNS 2022): at level 0 the ciphertext is switched to an
//!    ephemeral secret `s'` of Hamming weight `h` (that key lives only modulo `q_0·p_0`), so that
//! 2. **ModRaise** — reading `(c_0, c_1) mod q_0` modulo the whole `Q` — gives `t = Δ·m + q_0·I` with
//!    `|I| ≤ (h + 1)/2` exactly (no failure probability); the result is switched back to the dense key.
//! 3. **SubSum** (sparse only): `log2 g` rotations by multiples of `n` keep `g·t`'s part in `Z[X^g]`.
//! 4. **CoeffToSlot**: the inverse special FFT ([`dft`]) as `cts` merged stages (one level each), then
//!    `ct + conj(ct)` separates real and imaginary parts: the slots hold `x = t_k / q_0 / K` (`K` bounds `|I|`),
//!    in bit-reversed order, `2n` real slots (sparse) or two ciphertexts of `n` (full).
//! 5. **EvalMod**: `sin(2π·K·x)` via `cos(2π(K·x − 1/4)/2^r)` — a Chebyshev interpolant on `[-1, 1]` — and `r`
//!    double-angle steps `cos 2θ = 2cos²θ − 1`; `sin(2π t/q_0) ≈ 2π·Δ·m/q_0` for the small fractional part, and
//!    the factor is absorbed in the scale (no level).
//! 6. **SlotToCoeff**: the special FFT as `stc` merged stages, back to `n` slots of `m` at scale `Δ`.
//!
//! Scales are exact by construction: every linear-transform plaintext is encoded at the scale that lands its
//! output on a chosen target, and the result has exactly the input's scale `Δ`.

pub mod dft;
pub mod diagonal_transform;
mod presets;

pub use presets::{BOOTSTRAP_N65536, BOOTSTRAPPING, TEST_INSECURE_BOOTSTRAP_N4096, bootstrapping_for, fresh_level};

use super::ciphertext::{Ciphertext, Plaintext};
use super::context::Context;
use super::encoder::Encoder;
use super::encryption::plaintext_from_coefficients;
use super::evaluation_keys::{EncapsulationKeys, EvaluationKeys, keep_highest_levels};
use super::evaluator::Evaluator;
use super::keys::{
    GaloisKey, KeySwitchKey, RelinearizationKey, SecretKey, conjugation_galois_element, find_galois_key,
    rotation_galois_element,
};
use super::params::{Params, ParamsLiteral, SecretDistribution};
use super::polynomial::{self, Chebyshev};
use crate::{Error, Result};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use diagonal_transform::{DiagonalMatrix, LinearTransform};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

/// A bootstrapping configuration: the parameters it runs under and how the levels are spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapLiteral {
    /// The ciphertext parameters (dense ternary secret).
    pub params: &'static ParamsLiteral,
    /// The ephemeral sparse key's parameters: `q = [q_0]` of `params`, one special prime, a
    /// [`SecretDistribution::HammingWeight`] secret.
    pub encapsulation: &'static ParamsLiteral,
    /// Levels (merged FFT stages) for CoeffToSlot.
    pub coeffs_to_slots_levels: usize,
    /// Levels (merged FFT stages) for SlotToCoeff.
    pub slots_to_coeffs_levels: usize,
    /// Degree of the Chebyshev interpolant of the scaled cosine.
    pub sine_degree: usize,
    /// Double-angle steps `r`.
    pub double_angles: u32,
}

impl BootstrapLiteral {
    /// The levels one bootstrap consumes: CoeffToSlot, the cosine, the double angles, SlotToCoeff.
    pub fn depth(&self) -> usize {
        self.coeffs_to_slots_levels
            + polynomial::depth(self.sine_degree)
            + self.double_angles as usize
            + self.slots_to_coeffs_levels
    }

    /// The level of a bootstrapped ciphertext: the top level minus [`Self::depth`].
    pub fn output_level(&self) -> usize {
        (self.params.q.len() - 1).saturating_sub(self.depth())
    }

    /// `K`: the bound on `|I|` in `t = Δ·m + q_0·I` after ModRaise under a weight-`h` secret, `(h + 1)/2`,
    /// plus one half for the message and the noise.
    ///
    /// # Errors
    /// [`Error::InvalidEncapsulation`] unless the ephemeral secret is sparse and shares `q_0`.
    fn bound(&self) -> Result<f64> {
        match self.encapsulation.secret {
            SecretDistribution::HammingWeight(h) if self.encapsulation.q == &self.params.q[..1] => {
                Ok((h as f64 + 2.0) / 2.0)
            }
            _ => Err(Error::InvalidEncapsulation),
        }
    }
}

/// The encapsulation keys of `sk` for bootstrapping under `literal` (the key owner's side): a fresh sparse secret
/// `s'` (zeroized afterwards) and the switching keys `s → s'` and `s' → s`.
///
/// # Errors
/// An error of the encapsulation parameters.
pub fn generate_encapsulation_keys<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(
    ctx: &Context<T>,
    literal: &BootstrapLiteral,
    sk: &SecretKey<Vec<u64>>,
    rng: &mut R,
) -> Result<EncapsulationKeys> {
    let n = ctx.degree();
    let sparse_ctx = Context::new(&Params::new(literal.encapsulation)?)?;
    let sparse = SecretKey::generate(&sparse_ctx, rng);
    let to_sparse = KeySwitchKey::generate(&sparse_ctx, &sparse, &sk.ntt()[..n], rng);
    let (mut words, mut small) = (vec![0u64; n], vec![0i8; n]);
    sparse.coefficients(&sparse_ctx, &mut words, &mut small);
    let sparse_in_q = SecretKey::from_coefficients_in(ctx, &small, vec![0; super::keys::secret_key_words(ctx)])
        .unwrap_or_else(|_| unreachable!("owned buffers are sized from the context"));
    words.zeroize();
    small.zeroize();
    let q_words = (ctx.params().max_level() + 1) * n;
    let from_sparse = KeySwitchKey::generate(ctx, sk, &sparse_in_q.ntt()[..q_words], rng);
    Ok(EncapsulationKeys { to_sparse, from_sparse })
}

/// Precomputed bootstrapping for one slot count and message scale.
#[derive(Debug)]
pub struct Bootstrapper {
    literal: BootstrapLiteral,
    slots: usize,
    scale: f64,
    sparse_ctx: Context<Vec<u64>>,
    /// The scale given to the raised ciphertext so its slots read `t / (q_0·K)` after the FFT's `1/g`.
    raised_scale: f64,
    coeffs_to_slots: Vec<LinearTransform>,
    cosine: Chebyshev,
    cosine_scale: f64,
    slots_to_coeffs: Vec<LinearTransform>,
    /// `X^{N/2}` (multiplies every slot by `i` at full packing), at scale 1.
    monomial_i: Plaintext<Vec<u64>>,
    /// Each Galois element bootstrapping uses, with the highest level it is used at, sorted by element.
    galois_levels: Vec<(u64, usize)>,
    threads: usize,
    /// Bootstraps started so far.
    bootstraps: AtomicUsize,
}

impl Bootstrapper {
    /// Precomputes bootstrapping of ciphertexts with `slots` slots at scale `scale` under `ctx` (which must be
    /// built from `literal.params`).
    ///
    /// # Errors
    /// [`Error::InvalidSlots`], [`Error::LevelOutOfRange`] if the parameters have too few levels,
    /// [`Error::InvalidEncapsulation`], or an error of the encapsulation parameters.
    pub fn new<T: AsRef<[u64]>>(
        ctx: &Context<T>,
        literal: &BootstrapLiteral,
        slots: usize,
        scale: f64,
    ) -> Result<Self> {
        let params = ctx.params();
        let degree = ctx.degree();
        if slots == 0 || !slots.is_power_of_two() || slots > degree / 2 {
            return Err(Error::InvalidSlots { slots, max: degree / 2 });
        }
        let top = params.max_level();
        if literal.depth() > top {
            return Err(Error::LevelOutOfRange { level: literal.depth(), max: top });
        }
        let sparse_ctx = Context::new(&Params::new(literal.encapsulation)?)?;
        let encoder = Encoder::new(ctx.log_degree())?;
        let prime = |level: usize| params.q()[level].value() as f64;
        let q0 = prime(0);
        let gap = degree / (2 * slots);
        let full = gap == 1;
        let bound = literal.bound()?;

        // CoeffToSlot: from the raised scale down to the natural scale q_l of the output level, in equal ratios,
        // so that every stage's diagonals are encoded at about the same (large) scale.
        let raised_scale = gap as f64 * q0 * bound;
        let (cts_stages, stc_stages) =
            dft::bootstrap_stages(slots, full, literal.coeffs_to_slots_levels, literal.slots_to_coeffs_levels);
        let (mut level, mut current) = (top, raised_scale);
        let cts_output = prime(top - cts_stages.len());
        let mut coeffs_to_slots = Vec::with_capacity(cts_stages.len());
        for (k, stage) in cts_stages.iter().enumerate() {
            let remaining = (cts_stages.len() - k) as f64;
            let target =
                if remaining == 1.0 { cts_output } else { current * libm::pow(cts_output / current, 1.0 / remaining) };
            coeffs_to_slots.push(LinearTransform::new(ctx, &encoder, stage, level, target * prime(level) / current)?);
            (level, current) = (level - 1, target);
        }

        // EvalMod: the cosine lands on q_l, then each double angle divides by the prime it drops.
        let r = literal.double_angles;
        let cosine = Chebyshev::interpolate(
            |y| libm::cos(2.0 * core::f64::consts::PI * (bound * y - 0.25) / libm::exp2(r as f64)),
            -1.0,
            1.0,
            literal.sine_degree,
        );
        level -= polynomial::depth(literal.sine_degree);
        let cosine_scale = prime(level);
        current = cosine_scale;
        for _ in 0..r {
            current = current * current / prime(level);
            level -= 1;
        }
        // sin(2π·t/q_0) ≈ 2π·Δ·m/q_0: the same ciphertext is m at scale current · 2πΔ/q_0.
        current *= 2.0 * core::f64::consts::PI * scale / q0;

        // SlotToCoeff: natural targets, then exactly Δ.
        let mut slots_to_coeffs = Vec::with_capacity(stc_stages.len());
        for (k, stage) in stc_stages.iter().enumerate() {
            let target = if k + 1 == stc_stages.len() { scale } else { prime(level - 1) };
            slots_to_coeffs.push(LinearTransform::new(ctx, &encoder, stage, level, target * prime(level) / current)?);
            (level, current) = (level - 1, target);
        }

        let mut monomial = vec![0.0; degree];
        monomial[degree / 2] = 1.0;
        let cts_out = top - coeffs_to_slots.len();
        let monomial_i =
            plaintext_from_coefficients(ctx, &monomial, cts_out, 1.0, slots, vec![0; (cts_out + 1) * degree])?;

        let galois_levels = galois_levels_of(degree, slots, top, &cts_stages, stc_top(literal), &stc_stages);
        Ok(Self {
            literal: *literal,
            slots,
            scale,
            sparse_ctx,
            raised_scale,
            coeffs_to_slots,
            cosine,
            cosine_scale,
            slots_to_coeffs,
            monomial_i,
            galois_levels,
            threads: crate::parallel::default_threads(),
            bootstraps: AtomicUsize::new(0),
        })
    }

    /// The bootstrapper of full ciphertexts (`N/2` slots at the default scale) under `ctx`'s parameter set, if
    /// the set has a bootstrapping configuration ([`bootstrapping_for`]): the cloud's way to fresh levels.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn for_params<T: AsRef<[u64]>>(ctx: &Context<T>) -> Result<Option<Self>> {
        let params = ctx.params();
        bootstrapping_for(params.literal())
            .map(|literal| Self::new(ctx, literal, ctx.degree() / 2, params.default_scale()))
            .transpose()
    }

    /// The Galois elements whose keys bootstrapping's [`EvaluationKeys`] must hold, each with the highest level
    /// it is used at (a key made for that level suffices), sorted by element.
    pub fn galois_levels(&self) -> &[(u64, usize)] {
        &self.galois_levels
    }

    /// [`Self::galois_levels`] of a bootstrapper for `slots` slots at ring degree `degree`, without its
    /// precomputation (for the key owner, who generates the keys but never bootstraps).
    ///
    /// # Errors
    /// [`Error::InvalidSlots`].
    pub fn galois_levels_for(degree: usize, literal: &BootstrapLiteral, slots: usize) -> Result<Vec<(u64, usize)>> {
        if slots == 0 || !slots.is_power_of_two() || slots > degree / 2 {
            return Err(Error::InvalidSlots { slots, max: degree / 2 });
        }
        let (cts, stc) = dft::bootstrap_stages(
            slots,
            slots == degree / 2,
            literal.coeffs_to_slots_levels,
            literal.slots_to_coeffs_levels,
        );
        let top = literal.params.q.len() - 1;
        Ok(galois_levels_of(degree, slots, top, &cts, stc_top(literal), &stc))
    }

    /// The level of a bootstrapped ciphertext.
    pub fn output_level(&self) -> usize {
        self.literal.output_level()
    }

    /// Uses `threads` threads (at least one) from now on; the default is the available parallelism (with `std`).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// The bootstraps started so far.
    pub fn bootstraps_done(&self) -> usize {
        self.bootstraps.load(Ordering::Relaxed)
    }

    /// The slot count this bootstraps.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Generates the evaluation keys of `sk` that bootstrapping needs (the key owner's side): the encapsulation
    /// keys ([`generate_encapsulation_keys`]), relinearization, and Galois keys for exactly
    /// [`Self::galois_levels`], each made for its level.
    ///
    /// # Errors
    /// As [`generate_encapsulation_keys`].
    pub fn generate_keys<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(
        &self,
        ctx: &Context<T>,
        sk: &SecretKey<Vec<u64>>,
        rng: &mut R,
    ) -> Result<EvaluationKeys> {
        let encapsulation = generate_encapsulation_keys(ctx, &self.literal, sk, rng)?;
        Ok(EvaluationKeys {
            relinearization: RelinearizationKey::generate(ctx, sk, rng),
            galois: self
                .galois_levels
                .iter()
                .map(|&(g, level)| GaloisKey::generate_at(ctx, sk, g, level, rng))
                .collect::<Result<_>>()?,
            encapsulation: Some(encapsulation),
        })
    }

    /// Bootstraps `ct` (any level, [`Self::slots`] slots, scale `Δ`): an encryption of the same message at
    /// [`Self::output_level`] and scale `Δ`. Values should lie in `[-1, 1]`; the error grows with `|m|³`.
    ///
    /// # Errors
    /// [`Error::SlotsMismatch`] or [`Error::ScaleMismatch`] for a ciphertext this was not built for;
    /// [`Error::CannotBootstrap`] or [`Error::MissingGaloisKey`] for incomplete keys.
    pub fn bootstrap<T: AsRef<[u64]> + Sync>(
        &self,
        ev: &Evaluator<'_, T>,
        ct: &Ciphertext<Vec<u64>>,
        keys: &EvaluationKeys,
    ) -> Result<Ciphertext<Vec<u64>>> {
        if ct.slots != self.slots {
            return Err(Error::SlotsMismatch { left: ct.slots, right: self.slots });
        }
        if libm::fabs(ct.scale / self.scale - 1.0) > super::evaluator::SCALE_TOLERANCE {
            return Err(Error::ScaleMismatch);
        }
        self.bootstraps.fetch_add(1, Ordering::Relaxed);
        // Work on one ciphertext shares its RNS limbs among the threads; work on several shares the ciphertexts.
        crate::parallel::with_limb_threads(self.threads, || {
            let raised = self.raise(ev, ct, keys)?;
            let parts = self.coeffs_to_slots(ev, &raised, keys)?;
            let ctx = ev.context();
            let parts = crate::parallel::map_chunks(&parts, self.threads, |chunk| {
                let ev = Evaluator::new(ctx);
                chunk.iter().map(|part| self.eval_mod(&ev, part, keys)).collect()
            });
            let parts = parts.into_iter().collect::<Result<Vec<_>>>()?;
            self.slots_to_coeffs(ev, parts, keys)
        })
    }

    /// Encapsulation, ModRaise, back to the dense key, SubSum: `t = Δ·m + q_0·I` in `Z[X^g]` at the top level,
    /// with the scale that makes the slots read `t / (q_0·K)` after CoeffToSlot.
    fn raise<T: AsRef<[u64]> + Sync>(
        &self,
        ev: &Evaluator<'_, T>,
        ct: &Ciphertext<Vec<u64>>,
        keys: &EvaluationKeys,
    ) -> Result<Ciphertext<Vec<u64>>> {
        let encapsulation = keys.encapsulation()?;
        let ctx = ev.context();
        let degree = ctx.degree();
        let mut x = Ciphertext::truncated(ct, degree, 0)?;
        Evaluator::new(&self.sparse_ctx).switch_key_assign(&mut x, &encapsulation.to_sparse)?;
        let mut x = mod_raise(ctx, &x);
        ev.switch_key_assign(&mut x, &encapsulation.from_sparse)?;
        let gap = degree / (2 * self.slots);
        for i in 0..gap.trailing_zeros() {
            let mut rotated = x.clone();
            let g = rotation_galois_element(degree, (self.slots << i) as i64);
            ev.apply_galois_assign(&mut rotated, find_galois_key(&keys.galois, g)?)?;
            ev.add_assign(&mut x, &rotated)?;
        }
        x.scale = self.raised_scale;
        Ok(x)
    }

    /// The inverse FFT stages, then real and imaginary parts as real slots: one ciphertext of `2n` slots
    /// (sparse) or two of `n` (full).
    fn coeffs_to_slots<T: AsRef<[u64]> + Sync>(
        &self,
        ev: &Evaluator<'_, T>,
        raised: &Ciphertext<Vec<u64>>,
        keys: &EvaluationKeys,
    ) -> Result<Vec<Ciphertext<Vec<u64>>>> {
        let degree = ev.context().degree();
        let sparse = self.slots < degree / 2;
        let conjugation = find_galois_key(&keys.galois, conjugation_galois_element(degree))?;
        let mut x = raised.clone();
        let stages = self.coeffs_to_slots.len();
        for (k, stage) in self.coeffs_to_slots.iter().enumerate() {
            if k + 1 == stages && sparse {
                x.slots = 2 * self.slots;
            }
            x = stage.evaluate(ev, &x, &keys.galois, self.threads)?;
            ev.rescale_assign(&mut x)?;
        }
        let real_part = |a: &Ciphertext<Vec<u64>>| -> Result<Ciphertext<Vec<u64>>> {
            let mut conjugate = a.clone();
            ev.apply_galois_assign(&mut conjugate, conjugation)?;
            let mut sum = a.clone();
            ev.add_assign(&mut sum, &conjugate)?;
            Ok(sum)
        };
        if sparse {
            return Ok(vec![real_part(&x)?]);
        }
        let mut minus_i_x = x.clone();
        ev.mul_plain_assign(&mut minus_i_x, &self.monomial_i)?;
        ev.neg_assign(&mut minus_i_x);
        Ok(vec![real_part(&x)?, real_part(&minus_i_x)?])
    }

    /// Recombines the parts (`re + i·im` at full packing) and applies the FFT stages: `m` at scale `Δ`.
    fn slots_to_coeffs<T: AsRef<[u64]> + Sync>(
        &self,
        ev: &Evaluator<'_, T>,
        mut parts: Vec<Ciphertext<Vec<u64>>>,
        keys: &EvaluationKeys,
    ) -> Result<Ciphertext<Vec<u64>>> {
        let mut y = parts.remove(0);
        if let Some(mut imaginary) = parts.pop() {
            ev.mul_plain_assign(&mut imaginary, &self.monomial_i)?;
            ev.add_assign(&mut y, &imaginary)?;
        }
        for (k, stage) in self.slots_to_coeffs.iter().enumerate() {
            y = stage.evaluate(ev, &y, &keys.galois, self.threads)?;
            ev.rescale_assign(&mut y)?;
            if k == 0 {
                y.slots = self.slots;
            }
        }
        y.scale = self.scale;
        Ok(y)
    }

    /// `sin(2π·K·x)` of real slots `x ∈ [-1, 1]`, reinterpreted as the message at scale `Δ` times the FFT scale.
    fn eval_mod<T: AsRef<[u64]> + Sync>(
        &self,
        ev: &Evaluator<'_, T>,
        x: &Ciphertext<Vec<u64>>,
        keys: &EvaluationKeys,
    ) -> Result<Ciphertext<Vec<u64>>> {
        let rlk = &keys.relinearization;
        let mut c = polynomial::evaluate_encrypted(ev, x, &self.cosine, rlk, self.cosine_scale)?;
        for _ in 0..self.literal.double_angles {
            let copy = c.clone();
            ev.mul_relin_assign(&mut c, &copy, rlk)?;
            ev.rescale_assign(&mut c)?;
            ev.mul_const_assign(&mut c, 2.0, 1.0);
            ev.add_const_assign(&mut c, -1.0);
        }
        let q0 = ev.context().params().q()[0].value() as f64;
        c.scale *= 2.0 * core::f64::consts::PI * self.scale / q0;
        Ok(c)
    }
}

/// The Galois elements bootstrapping `slots` slots with `stages` needs: their baby and giant rotations, SubSum's
/// rotations by `slots·2^i` (`slots·2^i < N/2`), and conjugation.
/// The level SlotToCoeff starts at: its stages end at [`BootstrapLiteral::output_level`].
fn stc_top(literal: &BootstrapLiteral) -> usize {
    literal.output_level() + literal.slots_to_coeffs_levels
}

/// The Galois elements bootstrapping uses with the highest level each is used at, sorted by element: CoeffToSlot's
/// stage `k` rotates at `top − k`, SlotToCoeff's at `stc_top − k`; SubSum (sparse packing) and conjugation (the
/// real and imaginary parts at full packing) work at the top level.
fn galois_levels_of(
    degree: usize,
    slots: usize,
    top: usize,
    coeffs_to_slots: &[DiagonalMatrix],
    stc_top: usize,
    slots_to_coeffs: &[DiagonalMatrix],
) -> Vec<(u64, usize)> {
    let gap = degree / (2 * slots);
    let mut levels = Vec::new();
    for (stages, first) in [(coeffs_to_slots, top), (slots_to_coeffs, stc_top)] {
        for (k, stage) in stages.iter().enumerate() {
            let rotations = stage.evaluation_rotations().into_iter();
            levels.extend(rotations.map(|r| (rotation_galois_element(degree, r), first - k)));
        }
    }
    levels.extend((0..gap.trailing_zeros()).map(|i| (rotation_galois_element(degree, (slots << i) as i64), top)));
    levels.push((conjugation_galois_element(degree), top));
    keep_highest_levels(&mut levels);
    levels
}

/// Reads a level-0 ciphertext's `(c_0, c_1) mod q_0` (centered) modulo every prime of `Q`: at the top level it
/// decrypts to `t = c_0 + c_1·s` over the integers, `t ≡ Δ·m (mod q_0)`.
fn mod_raise<T: AsRef<[u64]>>(ctx: &Context<T>, ct: &Ciphertext<Vec<u64>>) -> Ciphertext<Vec<u64>> {
    let n = ctx.degree();
    let top = ctx.params().max_level();
    let (moduli, tables) = (ctx.q_moduli(top), ctx.q_tables(top));
    let mut out = Ciphertext::zero(n, top, ct.scale, ct.slots);
    let mut limb = vec![0; n];
    for part in 0..2 {
        limb.copy_from_slice(&ct.data()[part * n..(part + 1) * n]);
        tables[0].inverse(&mut limb);
        let base = part * (top + 1) * n;
        for (i, (m, table)) in moduli.iter().zip(&tables).enumerate() {
            let raised = &mut out.data_mut()[base + i * n..base + (i + 1) * n];
            for (r, &c) in raised.iter_mut().zip(&limb) {
                *r = m.from_i64(moduli[0].center(c));
            }
            table.forward(raised);
        }
    }
    out
}

#[cfg(test)]
mod tests;
