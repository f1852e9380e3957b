//! The residue number system: integers modulo `Q = q_0 ⋯ q_{k-1}` held as residues modulo each prime.
//!
//! - [`mixed_radix`] turns residues into mixed-radix digits in place (Garner), from which [`to_centered_f64`]
//!   gives the centered representative in `(-Q/2, Q/2]` as `f64` — exact up to the final `f64` rounding.
//! - [`BasisExtension`] is the fast (approximate) basis extension of Bajard et al. / Halevi–Polyakov–Shoup:
//!   from residues of `x ∈ [0, B)` modulo a basis `B` it yields `x + u·B (mod t)` for each target prime `t`,
//!   with an unknown `0 ≤ u < |B|`. Key switching (ModUp/ModDown) tolerates that small multiple.
//! - [`reduce_f64`] reduces an integral `f64` of any magnitude modulo a prime.
//!
//! All functions work coefficient-wise over limbs of `n` words laid out one limb after another.

use super::zq::{MAX_MODULI, Modulus, mul_wide};

/// The centered representative of an integral `value` reduced modulo `modulus`.
///
/// `value` must be finite and integral (the encoder rounds); non-finite values reduce to 0.
pub fn reduce_f64(modulus: &Modulus, value: f64) -> u64 {
    if !value.is_finite() {
        return 0;
    }
    let magnitude = libm::fabs(value);
    let r = if magnitude < 9_223_372_036_854_775_808.0 {
        modulus.reduce(magnitude as u64)
    } else {
        // magnitude = mantissa · 2^shift with a 53-bit mantissa.
        let bits = magnitude.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
        let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
        modulus.mul(modulus.reduce(mantissa), modulus.pow(2, exponent as u64))
    };
    if value < 0.0 { modulus.neg(r) } else { r }
}

/// Converts residues to mixed-radix digits in place (Garner's algorithm).
///
/// `limbs` holds `moduli.len()` limbs of `n` words; on return, limb `i` holds digits `v_i ∈ [0, q_i)` with
/// `x = v_0 + v_1 q_0 + v_2 q_0 q_1 + ⋯`. Cost: `k(k-1)/2` modular multiplications per coefficient.
///
/// # Panics
/// If `limbs.len() != moduli.len() · n` (a sizing bug in the caller).
pub fn mixed_radix(moduli: &[Modulus], n: usize, limbs: &mut [u64]) {
    assert_eq!(limbs.len(), moduli.len() * n, "mixed_radix: limb buffer size");
    for i in 1..moduli.len() {
        let (done, rest) = limbs.split_at_mut(i * n);
        let target = &mut rest[..n];
        let qi = moduli[i];
        for (j, qj) in moduli[..i].iter().enumerate() {
            // Every q_j < q_i·4, so one reduction of q_j mod q_i suffices; q_j^{-1} mod q_i exists (distinct primes).
            let inv = qi.inv(qj.value()).unwrap_or(0);
            let inv_shoup = qi.shoup(inv);
            let digit = &done[j * n..(j + 1) * n];
            for (t, &v) in target.iter_mut().zip(digit) {
                *t = qi.mul_shoup(qi.sub(*t, qi.reduce(v)), inv, inv_shoup);
            }
        }
    }
}

/// The centered value of each coefficient, from mixed-radix digits (see [`mixed_radix`]), into `out[..n]`.
///
/// # Panics
/// If the buffer sizes do not match `moduli.len()` limbs of `out.len()` words.
pub fn to_centered_f64(moduli: &[Modulus], digits: &[u64], out: &mut [f64]) {
    let n = out.len();
    assert_eq!(digits.len(), moduli.len() * n, "to_centered_f64: digit buffer size");
    // Mixed-radix digits of ⌊(Q-1)/2⌋ decide the sign: x > (Q-1)/2 ⇔ x is negative when centered.
    let mut half: heapless::Vec<u64, MAX_MODULI> = heapless::Vec::new();
    // (Q-1)/2 in mixed radix: Q-1 has digits q_i - 1; halving from the top digit down with carries.
    let mut carry = 0u128;
    for m in moduli.iter().rev() {
        let value = carry * m.value() as u128 + (m.value() - 1) as u128;
        let _ = half.push((value / 2) as u64);
        carry = value % 2;
    }
    half.reverse();
    for (c, out) in out.iter_mut().enumerate() {
        let digit = |i: usize| digits[i * n + c];
        let negative = (0..moduli.len()).rev().map(|i| digit(i).cmp(&half[i])).find(|o| o.is_ne())
            == Some(core::cmp::Ordering::Greater);
        // Horner from the top digit; for negative values use x - Q = Σ (v_i - (q_i - 1)) Π_{j<i} q_j - 1.
        let mut acc = 0.0;
        for i in (0..moduli.len()).rev() {
            let d = if negative { digit(i) as f64 - (moduli[i].value() - 1) as f64 } else { digit(i) as f64 };
            acc = acc * moduli[i].value() as f64 + d;
        }
        *out = if negative { acc - 1.0 } else { acc };
    }
}

/// Precomputed constants for the fast basis extension from a basis `B` to target primes.
///
/// Holds `[(B/b_j)^{-1}]_{b_j}` for each source prime; the target factors `[B/b_j]_t` are recomputed per target
/// prime (a `|B|`-term product), negligible next to the `n`-word loops.
#[derive(Debug, Clone)]
pub struct BasisExtension<'a> {
    source: &'a [Modulus],
    hat_inv: heapless::Vec<(u64, u64), MAX_MODULI>,
}

impl<'a> BasisExtension<'a> {
    /// Prepares the extension from `source` (distinct primes).
    pub fn new(source: &'a [Modulus]) -> Self {
        let hat_inv = source
            .iter()
            .enumerate()
            .map(|(j, bj)| {
                let hat =
                    source.iter().enumerate().filter(|&(i, _)| i != j).fold(1, |acc, (_, bi)| bj.mul(acc, bi.value()));
                let inv = bj.inv(hat).unwrap_or(0);
                (inv, bj.shoup(inv))
            })
            .collect();
        Self { source, hat_inv }
    }

    /// (Tests: the two halves below in one call.) Extends coefficient-form residues `input` (`|B|` limbs of `n` words) to one `target` prime, writing
    /// `x + u·B mod t` (`0 ≤ u < |B|`) into `out` (`n` words). `scratch` holds `|B|·n` words.
    ///
    /// # Panics
    /// If the buffer sizes do not match.
    #[cfg(test)]
    fn extend_to(&self, input: &[u64], target: &Modulus, out: &mut [u64], scratch: &mut [u64]) {
        let n = out.len();
        assert!(input.len() == self.source.len() * n && scratch.len() == input.len(), "basis extension sizes");
        self.scale_inputs(input, scratch);
        self.accumulate(scratch, target, out);
    }

    /// (Tests.) Extends to several targets, sharing the per-source scaling: `out` holds `targets.len()` limbs.
    ///
    /// # Panics
    /// If the buffer sizes do not match.
    #[cfg(test)]
    fn extend(&self, input: &[u64], targets: &[Modulus], out: &mut [u64], scratch: &mut [u64]) {
        if self.source.is_empty() {
            return;
        }
        let n = input.len() / self.source.len();
        assert!(out.len() == targets.len() * n && scratch.len() == input.len(), "basis extension sizes");
        self.scale_inputs(input, scratch);
        self.accumulate_many(scratch, targets, out);
    }

    /// The first half of an extension: `scaled_j = [x_j · (B/b_j)^{-1}]_{b_j}` (`|B|` limbs), to be passed to
    /// [`Self::accumulate_many`] once per group of targets.
    pub fn scale_inputs(&self, input: &[u64], scaled: &mut [u64]) {
        if self.source.is_empty() {
            return;
        }
        let n = input.len() / self.source.len();
        for (j, bj) in self.source.iter().enumerate() {
            let (inv, inv_shoup) = self.hat_inv[j];
            for (s, &x) in scaled[j * n..(j + 1) * n].iter_mut().zip(&input[j * n..(j + 1) * n]) {
                *s = bj.mul_shoup(x, inv, inv_shoup);
            }
        }
    }

    /// The second half of an extension: `out_t = Σ_j scaled_j · [B/b_j]_t mod t` for each target `t`.
    pub fn accumulate_many(&self, scaled: &[u64], targets: &[Modulus], out: &mut [u64]) {
        if targets.is_empty() || self.source.is_empty() {
            return;
        }
        let n = scaled.len() / self.source.len();
        let out = &mut out[..targets.len() * n];
        crate::parallel::for_each_limb(out, n, |i, limb| self.accumulate(scaled, &targets[i], limb));
    }

    /// `out = Σ_j scratch_j · [B/b_j]_t mod t`, accumulating 128-bit sums over tiles of coefficients so every
    /// source limb is read sequentially.
    fn accumulate(&self, scratch: &[u64], target: &Modulus, out: &mut [u64]) {
        const TILE: usize = 256;
        let n = out.len();
        let mut factors: heapless::Vec<u64, MAX_MODULI> = heapless::Vec::new();
        for j in 0..self.source.len() {
            let hat = self
                .source
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != j)
                .fold(1, |acc, (_, bi)| target.mul(acc, bi.value()));
            let _ = factors.push(hat);
        }
        #[cfg(target_arch = "x86_64")]
        {
            let limbs: heapless::Vec<&[u64], MAX_MODULI> = scratch.chunks_exact(n).take(self.source.len()).collect();
            let narrow = self.source.iter().all(|b| b.value() < 1 << 52);
            if crate::math::lanes::scaled_sum(&limbs, &factors, narrow, target.value(), out) {
                return;
            }
        }
        let mut acc = [0u128; TILE];
        for start in (0..n).step_by(TILE) {
            let len = TILE.min(n - start);
            let acc = &mut acc[..len];
            acc.fill(0);
            for (j, &f) in factors.iter().enumerate() {
                let limb = &scratch[j * n + start..j * n + start + len];
                // Each product < 2^124: sixteen fit in a u128, so reduce every fifteen terms.
                if j % 15 == 14 {
                    acc.iter_mut().for_each(|a| *a = target.reduce_u128(*a) as u128);
                }
                for (a, &x) in acc.iter_mut().zip(limb) {
                    *a += mul_wide(x, f);
                }
            }
            for (o, &a) in out[start..start + len].iter_mut().zip(acc.iter()) {
                *o = target.reduce_u128(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use crate::math::prime::NttPrimes;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn moduli(bits: u32, count: usize) -> Vec<Modulus> {
        NttPrimes::new(bits, 16).take(count).map(|q| Modulus::new(q).unwrap()).collect()
    }

    /// Residues of a signed 127-bit integer.
    fn residues(moduli: &[Modulus], x: i128) -> Vec<u64> {
        moduli.iter().map(|m| x.rem_euclid(m.value() as i128) as u64).collect()
    }

    proptest! {
        #[test]
        fn centered_reconstruction_matches_u128_crt(x in -(1i128 << 100)..(1i128 << 100)) {
            // Three 40-bit primes: Q ≈ 2^120, so every x here is representable and centered.
            let ms = moduli(40, 3);
            let mut limbs = residues(&ms, x);
            mixed_radix(&ms, 1, &mut limbs);
            let mut out = [0.0];
            to_centered_f64(&ms, &limbs, &mut out);
            // Exact up to f64 rounding (a few ulps from Horner's steps).
            prop_assert!((out[0] - x as f64).abs() <= (x as f64).abs() * libm::exp2(-50.0), "{} vs {}", out[0], x);
            if x.abs() < 1 << 53 {
                prop_assert_eq!(out[0], x as f64);
            }
        }

        #[test]
        fn mixed_radix_digits_rebuild_the_integer(x in 0u128..(1u128 << 119)) {
            let ms = moduli(40, 3);
            let mut limbs = residues(&ms, x as i128);
            mixed_radix(&ms, 1, &mut limbs);
            let rebuilt = limbs[0] as u128 + limbs[1] as u128 * ms[0].value() as u128
                + limbs[2] as u128 * ms[0].value() as u128 * ms[1].value() as u128;
            prop_assert_eq!(rebuilt, x);
        }

        #[test]
        fn fast_extension_is_exact_up_to_a_small_multiple_of_b(x in 0u128..(1u128 << 118), t_index in 0usize..3) {
            let source = moduli(40, 3);
            let targets = moduli(55, 3);
            let b: u128 = source.iter().map(|m| m.value() as u128).product();
            let x = x % b;
            let input = residues(&source, x as i128);
            let mut out = [0u64];
            let mut scratch = [0u64; 3];
            BasisExtension::new(&source).extend_to(&input, &targets[t_index], &mut out, &mut scratch);
            let t = targets[t_index].value() as u128;
            prop_assert!((0..3u128).any(|u| (x % t + (u * (b % t)) % t) % t == out[0] as u128));
        }

        #[test]
        fn reduce_f64_matches_integer_reduction(x in any::<i64>(), shift in 0u32..200) {
            let m = moduli(50, 1)[0];
            let value = (x as f64) * libm::exp2(shift as f64);
            // value = x' · 2^shift exactly, x' = x rounded to 53 bits.
            let x_rounded = x as f64 as i128;
            let want = m.mul(m.from_i64(x_rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64), m.pow(2, shift as u64));
            prop_assume!(x_rounded >= i64::MIN as i128 && x_rounded <= i64::MAX as i128);
            prop_assert_eq!(reduce_f64(&m, value), want);
        }
    }

    #[test]
    fn extension_of_many_limbs_is_exact_for_small_values() {
        // For x < B/|B|... fast extension error u = ⌊Σ_j y_j/b_j⌋ is 0 when x is tiny relative to every b_j.
        let source = moduli(45, 5);
        let targets = moduli(58, 4);
        let n = 4;
        let xs: [i128; 4] = [0, 1, 12345, 1 << 40];
        let mut input = Vec::new();
        for m in &source {
            input.extend(xs.iter().map(|&x| x.rem_euclid(m.value() as i128) as u64));
        }
        let mut out = alloc::vec![0u64; targets.len() * n];
        let mut scratch = alloc::vec![0u64; input.len()];
        BasisExtension::new(&source).extend(&input, &targets, &mut out, &mut scratch);
        let b: Vec<u128> = targets
            .iter()
            .map(|t| source.iter().fold(1u128, |acc, s| acc * s.value() as u128 % t.value() as u128))
            .collect();
        for (k, t) in targets.iter().enumerate() {
            for (c, &x) in xs.iter().enumerate() {
                let got = out[k * n + c] as u128;
                let tv = t.value() as u128;
                assert!((0..5u128).any(|u| (x as u128 + u * b[k]) % tv == got), "target {k} coefficient {c}");
            }
        }
    }
}
