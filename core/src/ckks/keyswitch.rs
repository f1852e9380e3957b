//! Hybrid key switching (Han–Ki 2020), split so rotations can be hoisted (Halevi–Shoup):
//!
//! 1. [`decompose`]: the polynomial `d` at level `l` (NTT domain) is cut into digits `[d]_{Q_j}` over the
//!    active primes of each digit and extended (centered fast basis extension) to all of `Q_l ∪ P` — "ModUp".
//! 2. [`inner_product`]: `(Σ_j D_j·b_j, Σ_j D_j·a_j)` over `Q_l ∪ P`, optionally applying an automorphism to the
//!    digits first (a hoisted rotation reuses one decomposition for many Galois keys).
//! 3. [`mod_down`]: divide by `P` (extend the `P` part to `Q_l`, subtract, multiply by `P^{-1}`).
//!
//! The result `(k_0, k_1)` satisfies `k_0 + k_1·s ≈ d·s'` with noise of order `N` (digits no larger than `P`).
//! Cost at level `l` with `β` digits of about `α` primes: `(l+1) + β(l+1+K-α) + K + (l+1)` NTTs of size `N`.

use super::context::Context;
use super::keys::KeySwitchKey;
use super::scratch::Carve;
use crate::math::poly;
use crate::math::rns::BasisExtension;
use crate::math::zq::{Modulus, mul_wide};

/// Words of `decompose`'s output at `level`: `β(l+1+K)N`.
pub fn digits_words<T>(ctx: &Context<T>, level: usize) -> usize {
    ctx.params().digits_at(level) * (level + 1 + ctx.params().p().len()) * ctx.degree()
}

/// Words of scratch the three steps need at `level` (besides the digits and accumulators).
pub fn scratch_words<T>(ctx: &Context<T>, level: usize) -> usize {
    2 * (level + 1 + ctx.params().p().len()) * ctx.degree()
}

/// Words of [`Buffers`] at `level`: the digits, the two accumulators, the permuted digits and the scratch.
pub(crate) fn buffers_words<T>(ctx: &Context<T>, level: usize) -> usize {
    2 * digits_words(ctx, level) + 2 * (level + 1 + ctx.params().p().len()) * ctx.degree() + scratch_words(ctx, level)
}

/// Key switching's buffers at one level, carved one after another (in field order) from [`buffers_words`] words.
pub(crate) struct Buffers<'a> {
    /// The extended digits ([`digits_words`]).
    pub(crate) digits: &'a mut [u64],
    /// The two accumulators over `Q_l ∪ P`, one after the other (`2(l+1+K)N` words).
    pub(crate) accs: &'a mut [u64],
    /// The permuted digits of a hoisted rotation ([`digits_words`]).
    pub(crate) permuted: &'a mut [u64],
    /// ModUp and ModDown scratch ([`scratch_words`]).
    pub(crate) scratch: &'a mut [u64],
}

impl<'a> Buffers<'a> {
    /// Carves the buffers for `level` from `carve`.
    pub(crate) fn carve<T>(ctx: &Context<T>, level: usize, carve: &mut Carve<'a>) -> Self {
        let wide = (level + 1 + ctx.params().p().len()) * ctx.degree();
        Self {
            digits: carve.take(digits_words(ctx, level)),
            accs: carve.take(2 * wide),
            permuted: carve.take(digits_words(ctx, level)),
            scratch: carve.take(scratch_words(ctx, level)),
        }
    }

    /// ModUp of `d` ([`decompose`]) into the digits.
    pub(crate) fn decompose<T: AsRef<[u64]>>(&mut self, ctx: &Context<T>, level: usize, d: &[u64]) {
        decompose(ctx, level, d, self.digits, self.scratch);
    }

    /// `(k_0, k_1)` (each `(l+1)·N` words): the key switch with `key` of the digits held (after
    /// [`Self::decompose`]), through the automorphism of `galois_element` when given.
    ///
    /// # Errors
    /// [`crate::Error::LevelOutOfRange`] if `key` was made for levels below `level`.
    pub(crate) fn switch<T: AsRef<[u64]>, K: AsRef<[u64]>>(
        &mut self,
        ctx: &Context<T>,
        level: usize,
        key: &KeySwitchKey<K>,
        galois_element: Option<u64>,
        [k0, k1]: [&mut [u64]; 2],
    ) -> crate::Result<()> {
        key.check_level(level)?;
        let (acc0, acc1) = self.accs.split_at_mut(self.accs.len() / 2);
        inner_product(ctx, level, self.digits, key, galois_element, [&mut *acc0, &mut *acc1], self.permuted);
        mod_down(ctx, level, acc0, k0, self.scratch);
        mod_down(ctx, level, acc1, k1, self.scratch);
        Ok(())
    }
}

/// ModUp: writes the extended digits of `d` (`(l+1)·N` words, NTT domain) into `digits`
/// ([`digits_words`]); `scratch` holds [`scratch_words`].
pub fn decompose<T: AsRef<[u64]>>(ctx: &Context<T>, level: usize, d: &[u64], digits: &mut [u64], scratch: &mut [u64]) {
    let n = ctx.degree();
    let q_count = level + 1;
    let limbs = q_count + ctx.params().p().len();
    let moduli = ctx.qp_moduli(level);
    let tables = ctx.qp_tables(level);
    let (coefficients, rest) = scratch.split_at_mut(q_count * n);
    coefficients.copy_from_slice(&d[..q_count * n]);
    poly::inverse(&ctx.q_tables(level), coefficients);
    for (j, digit) in digits.chunks_exact_mut(limbs * n).take(ctx.params().digits_at(level)).enumerate() {
        let range = ctx.params().digit(j);
        let range = range.start..range.end.min(q_count);
        let source = &moduli[range.clone()];
        let extension = BasisExtension::new(source);
        let (scaled, counts) = rest.split_at_mut(source.len() * n);
        extension.scale_inputs(&coefficients[range.start * n..range.end * n], scaled);
        // Targets before the digit's primes, then after them; the digit's own limbs are d itself.
        let (before, tail) = digit.split_at_mut(range.start * n);
        let (own, after) = tail.split_at_mut(source.len() * n);
        extension.accumulate_many(scaled, &moduli[..range.start], before);
        extension.accumulate_many(scaled, &moduli[range.end..], after);
        let counts = &mut counts[..n];
        above_half(source, scaled, counts);
        subtract_multiples(source, &moduli[..range.start], counts, before);
        subtract_multiples(source, &moduli[range.end..], counts, after);
        own.copy_from_slice(&d[range.start * n..range.end * n]);
        poly::forward(&tables[..range.start], before);
        poly::forward(&tables[range.end..limbs], after);
    }
}

/// `accs = [Σ_j σ(D_j)·b_j, Σ_j σ(D_j)·a_j]` over `Q_l ∪ P` (each `(l+1+K)·N` words), where `σ` is
/// `X ↦ X^g` when `galois_element` is given (hoisting) and the identity otherwise; `tmp` holds
/// [`digits_words`] words for the permuted digits. `key` must switch at `level` (callers check
/// [`KeySwitchKey::level`] first).
///
/// Products of operands below `2^62` are summed in 128 bits (`β ≤ 16` fit), so each output coefficient is
/// reduced once.
pub fn inner_product<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    level: usize,
    digits: &[u64],
    key: &KeySwitchKey<K>,
    galois_element: Option<u64>,
    accs: [&mut [u64]; 2],
    tmp: &mut [u64],
) {
    let n = ctx.degree();
    let params = ctx.params();
    let (key_q, k) = (key.level() + 1, params.p().len());
    debug_assert!(level < key_q, "a key for levels up to {} used at level {level}", key_q - 1);
    let limbs = level + 1 + k;
    let beta = params.digits_at(level);
    let digits = &digits[..beta * limbs * n];
    let digits = match galois_element {
        Some(g) => {
            let permuted = &mut tmp[..beta * limbs * n];
            poly::automorphism_ntt(ctx.log_degree(), g, digits, permuted);
            &*permuted
        }
        None => digits,
    };
    let moduli = ctx.qp_moduli(level);
    for (part, acc) in accs.into_iter().enumerate() {
        let key_parts: heapless::Vec<&[u64], 16> = (0..beta)
            .map(|j| {
                let (b, a) = key.digit(j, key_q + k, n);
                if part == 0 { b } else { a }
            })
            .collect();
        crate::parallel::for_each_limb(&mut acc[..limbs * n], n, |limb, out| {
            // Key limbs run q_0..=q_l' then p_0..p_{K-1} (l' the key's level); the q limbs above l are skipped.
            let key_limb = if limb <= level { limb } else { key_q + limb - (level + 1) };
            let digit_limbs: heapless::Vec<&[u64], 16> =
                (0..beta).map(|j| &digits[(j * limbs + limb) * n..(j * limbs + limb + 1) * n]).collect();
            let key_limbs: heapless::Vec<&[u64], 16> =
                key_parts.iter().map(|key_part| &key_part[key_limb * n..(key_limb + 1) * n]).collect();
            #[cfg(target_arch = "x86_64")]
            if crate::math::lanes::dot_product(&digit_limbs, &key_limbs, moduli[limb].value(), out) {
                return;
            }
            for (c, out) in out.iter_mut().enumerate() {
                let sum = digit_limbs.iter().zip(&key_limbs).fold(0u128, |s, (d, k)| s + mul_wide(d[c], k[c]));
                *out = moduli[limb].reduce_u128(sum);
            }
        });
    }
}

/// ModDown: `out = (acc - Ext_{P→Q_l}([acc]_P)) · P^{-1}` over `Q_l` (`(l+1)·N` words), from `acc` over
/// `Q_l ∪ P` (its `P` limbs are overwritten); `scratch` holds [`scratch_words`].
pub fn mod_down<T: AsRef<[u64]>>(
    ctx: &Context<T>,
    level: usize,
    acc: &mut [u64],
    out: &mut [u64],
    scratch: &mut [u64],
) {
    let n = ctx.degree();
    let params = ctx.params();
    let q_moduli = ctx.q_moduli(level);
    let (acc_q, acc_p) = acc.split_at_mut((level + 1) * n);
    poly::inverse(&ctx.p_tables(), acc_p);
    let (scaled, rest) = scratch.split_at_mut(params.p().len() * n);
    let (extended, rest) = rest.split_at_mut((level + 1) * n);
    let extension = BasisExtension::new(params.p());
    extension.scale_inputs(acc_p, scaled);
    extension.accumulate_many(scaled, q_moduli, extended);
    // Centered conversion: the quotient is rounded and the conversion error has mean zero.
    let counts = &mut rest[..n];
    above_half(params.p(), scaled, counts);
    subtract_multiples(params.p(), q_moduli, counts, extended);
    poly::forward(&ctx.q_tables(level), extended);
    let p_inverse: heapless::Vec<u64, { crate::math::zq::MAX_MODULI }> = q_moduli
        .iter()
        .map(|q: &Modulus| {
            let p = params.p().iter().fold(1, |acc, p| q.mul(acc, p.value()));
            q.inv(p).unwrap_or(0)
        })
        .collect();
    out[..(level + 1) * n].copy_from_slice(acc_q);
    poly::sub_assign(q_moduli, &mut out[..(level + 1) * n], extended);
    poly::mul_scalar_assign(q_moduli, &mut out[..(level + 1) * n], &p_inverse);
}

/// `counts[k]` = how many scaled residues `[x_j·(B/b_j)^{-1}]_{b_j}` of coefficient `k` exceed `b_j/2`.
fn above_half(source: &[Modulus], scaled: &[u64], counts: &mut [u64]) {
    let n = counts.len();
    counts.fill(0);
    for (b, limb) in source.iter().zip(scaled.chunks_exact(n)) {
        let half = b.value() / 2;
        counts.iter_mut().zip(limb).for_each(|(c, &x)| *c += u64::from(x > half));
    }
}

/// Turns a fast basis extension from `source` (coefficient form, one limb per target) into its centered form:
/// every scaled residue above `b_j/2` stands for itself minus `b_j`, which takes `B = Π b_j` off the sum once.
/// The conversion error `u·B` then has `|u| ≤ |B|/2` and mean zero; the plain form's `u ∈ [0, |B|)` is biased,
/// and a bias common to all coefficients is what the canonical embedding concentrates on the slots next to 1
/// (`|Σ_k ζ^k| ≈ 2N/π`), costing bits exactly where bootstrapping reads them.
fn subtract_multiples(source: &[Modulus], targets: &[Modulus], counts: &[u64], extended: &mut [u64]) {
    let n = counts.len();
    for (t, limb) in targets.iter().zip(extended.chunks_exact_mut(n)) {
        let b_mod_t = source.iter().fold(1, |acc, b| t.mul(acc, b.value()));
        let multiples: heapless::Vec<u64, { crate::math::zq::MAX_MODULI + 1 }> =
            (0..=source.len() as u64).map(|c| t.mul(c, b_mod_t)).collect();
        for (x, &c) in limb.iter_mut().zip(counts) {
            *x = t.sub(*x, multiples[c as usize]);
        }
    }
}
