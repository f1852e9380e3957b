//! Arithmetic modulo `q` on four 64-bit lanes with AVX2 and FMA.
//!
//! - Any `q < 2^62` on integer lanes: AVX2 multiplies only 32-bit halves, so Shoup's product
//!   `y·w − ⌊y·w'/2^64⌋·q` takes ten 32-bit products, four for the high word of `y·w'` and three for each low word.
//!   AVX2 has no unsigned 64-bit comparison either; [`reduce_once`] reads the sign of a difference instead.
//! - `q <` [`FLOAT_BOUND`] on doubles ([`Float`]): a fused multiply-add gives the exact 106-bit product as two
//!   doubles, and a rounded quotient from `w/q` brings it back below `q` in magnitude — five floating-point
//!   operations where the integer lanes take ten products and their carries.

use crate::math::kernels::{KernelSet, active};
use crate::math::zq::MAX_MODULI;
use core::arch::x86_64::{
    __m256d, __m256i, _CMP_LT_OQ, _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _mm256_add_epi64, _mm256_add_pd,
    _mm256_and_pd, _mm256_and_si256, _mm256_blendv_pd, _mm256_castpd_si256, _mm256_castsi256_pd, _mm256_cmp_pd,
    _mm256_fmadd_pd, _mm256_fmsub_pd, _mm256_fnmadd_pd, _mm256_loadu_si256, _mm256_mul_epu32, _mm256_mul_pd,
    _mm256_or_si256, _mm256_round_pd, _mm256_set1_epi64x, _mm256_set1_pd, _mm256_setzero_pd, _mm256_slli_epi64,
    _mm256_srli_epi64, _mm256_storeu_si256, _mm256_sub_epi64, _mm256_sub_pd, _mm256_xor_si256,
};

/// Moduli below this compute in doubles ([`Float`]).
pub const FLOAT_BOUND: u64 = 1 << 50;

/// Four words from the start of `words` (at least 4).
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn load(words: &[u64]) -> __m256i {
    assert!(words.len() >= 4);
    // SAFETY: four words are readable at the pointer (checked above); the load is unaligned.
    unsafe { _mm256_loadu_si256(words.as_ptr().cast()) }
}

/// Writes four words at the start of `words` (at least 4).
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn store(words: &mut [u64], v: __m256i) {
    assert!(words.len() >= 4);
    // SAFETY: four words are writable at the pointer (checked above); the store is unaligned.
    unsafe { _mm256_storeu_si256(words.as_mut_ptr().cast(), v) }
}

/// `x − bound` where `x ≥ bound`, else `x`, for `bound ≤ 2^63` and `x < bound + 2^63`: then the difference's
/// sign bit is set exactly when `x < bound`.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn reduce_once(x: __m256i, bound: __m256i) -> __m256i {
    let difference = _mm256_castsi256_pd(_mm256_sub_epi64(x, bound));
    _mm256_castpd_si256(_mm256_blendv_pd(difference, _mm256_castsi256_pd(x), difference))
}

/// `y·w mod q` in `[0, 2q)` for any `y`, `w < q < 2^62` and its Shoup constant `w_shoup = ⌊w·2^64/q⌋`, as the
/// scalar `Modulus::mul_shoup_lazy` computes it: `y·w − ⌊y·w_shoup/2^64⌋·q` modulo `2^64`.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn mul_shoup_lazy(y: __m256i, w: __m256i, w_shoup: __m256i, q: __m256i) -> __m256i {
    let quotient = mul_high(y, w_shoup);
    let high = |v| _mm256_srli_epi64::<32>(v);
    // y·w − quotient·q = (y_l·w_l − quot_l·q_l) + (y_l·w_h + y_h·w_l − quot_l·q_h − quot_h·q_l)·2^32 mod 2^64.
    let low = _mm256_sub_epi64(_mm256_mul_epu32(y, w), _mm256_mul_epu32(quotient, q));
    let cross = _mm256_sub_epi64(
        _mm256_add_epi64(_mm256_mul_epu32(y, high(w)), _mm256_mul_epu32(high(y), w)),
        _mm256_add_epi64(_mm256_mul_epu32(quotient, high(q)), _mm256_mul_epu32(high(quotient), q)),
    );
    _mm256_add_epi64(low, _mm256_slli_epi64::<32>(cross))
}

/// The high words of the 128-bit products `a·b`, from the four products of their 32-bit halves.
#[inline]
#[target_feature(enable = "avx2")]
fn mul_high(a: __m256i, b: __m256i) -> __m256i {
    let (a_high, b_high) = (_mm256_srli_epi64::<32>(a), _mm256_srli_epi64::<32>(b));
    let low32 = _mm256_set1_epi64x(0xffff_ffff);
    let low_low = _mm256_mul_epu32(a, b);
    let low_high = _mm256_mul_epu32(a, b_high);
    let high_low = _mm256_mul_epu32(a_high, b);
    let high_high = _mm256_mul_epu32(a_high, b_high);
    // The middle column: at most three 32-bit words, so its carry into the high word is below 4.
    let middle = _mm256_add_epi64(
        _mm256_add_epi64(_mm256_srli_epi64::<32>(low_low), _mm256_and_si256(low_high, low32)),
        _mm256_and_si256(high_low, low32),
    );
    let carries = _mm256_add_epi64(_mm256_srli_epi64::<32>(low_high), _mm256_srli_epi64::<32>(high_low));
    _mm256_add_epi64(_mm256_add_epi64(high_high, carries), _mm256_srli_epi64::<32>(middle))
}

/// `2^52` as a double, and its bits: a word `v < 2^52` OR'd into those bits is the double `2^52 + v`.
const TWO_52: f64 = 4_503_599_627_370_496.0;
const TWO_52_BITS: i64 = 0x4330_0000_0000_0000;

/// The words `v < 2^52` as doubles (exact).
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn to_float(v: __m256i) -> __m256d {
    let biased = _mm256_castsi256_pd(_mm256_or_si256(v, _mm256_set1_epi64x(TWO_52_BITS)));
    _mm256_sub_pd(biased, _mm256_set1_pd(TWO_52))
}

/// The integral doubles `z ∈ [0, 2^52)` as words (exact; `−0` gives 0).
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn to_words(z: __m256d) -> __m256i {
    let biased = _mm256_castpd_si256(_mm256_add_pd(z, _mm256_set1_pd(TWO_52)));
    _mm256_xor_si256(biased, _mm256_set1_epi64x(TWO_52_BITS))
}

/// `w/q` as a double from Shoup's `⌊w·2^64/q⌋` (any word), within `2^-64 + 2^-53·w/q` of it.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn ratio(shoup: __m256i) -> __m256d {
    let high = to_float(_mm256_srli_epi64::<32>(shoup));
    let low = to_float(_mm256_and_si256(shoup, _mm256_set1_epi64x(0xffff_ffff)));
    _mm256_fmadd_pd(
        high,
        _mm256_set1_pd(1.0 / 4_294_967_296.0),
        _mm256_mul_pd(low, _mm256_set1_pd(1.0 / TWO_52 / 4096.0)),
    )
}

/// Arithmetic modulo `q <` [`FLOAT_BOUND`] on doubles holding integers below `2^52` in magnitude (exact), each
/// standing for its residue: results are congruent to the exact ones, with the magnitudes stated.
#[derive(Clone, Copy)]
pub(crate) struct Float {
    q: __m256d,
    q_inverse: __m256d,
}

/// Round to nearest, without raising the inexact exception.
const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

impl Float {
    /// # Panics
    /// If `q ≥ FLOAT_BOUND` (a programming error: callers pick the integer lanes for those).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn new(q: u64) -> Self {
        assert!(q < FLOAT_BOUND);
        Self { q: _mm256_set1_pd(q as f64), q_inverse: _mm256_set1_pd(1.0 / q as f64) }
    }

    /// `x − q·round(x/q)`, at most `q/2 + 2^-51·|x|` in magnitude.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn reduce(self, x: __m256d) -> __m256d {
        let quotient = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(x, self.q_inverse));
        _mm256_fnmadd_pd(quotient, self.q, x)
    }

    /// `y·w mod q` for `w < q` and `w_ratio` `= w/q` ([`ratio`]): `y·w − c·q` with `c` the rounded
    /// `y·w_ratio`, at most `q/2 + 0.26·|y|` in magnitude for `|y| < 2^52`. The product `y·w` is the exact sum
    /// `high + low` of two doubles, and `high − c·q` is exact because it is an integer below `2^53`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn mul(self, y: __m256d, w: __m256d, w_ratio: __m256d) -> __m256d {
        let high = _mm256_mul_pd(y, w);
        let low = _mm256_fmsub_pd(y, w, high);
        let quotient = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(y, w_ratio));
        _mm256_add_pd(_mm256_fnmadd_pd(quotient, self.q, high), low)
    }

    /// The representative of `x` in `[0, q)`, for `|x| < 2^53`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn normalize(self, x: __m256d) -> __m256d {
        let r = self.reduce(x);
        let negative = _mm256_cmp_pd::<_CMP_LT_OQ>(r, _mm256_setzero_pd());
        _mm256_add_pd(r, _mm256_and_pd(negative, self.q))
    }

    /// `a·b mod q` for words `a, b < q` as doubles: `a·b − c·q` with `c` the rounded `a·b/q`, at most `q` in
    /// magnitude (the quotient is off by at most one, as `a·b/q < 2^50`).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn mul_residues(self, a: __m256d, b: __m256d) -> __m256d {
        let high = _mm256_mul_pd(a, b);
        let low = _mm256_fmsub_pd(a, b, high);
        let quotient = _mm256_round_pd::<NEAREST>(_mm256_mul_pd(high, self.q_inverse));
        _mm256_add_pd(_mm256_fnmadd_pd(quotient, self.q, high), low)
    }
}

/// Whether the active kernel set has AVX2 and FMA.
fn lanes_active() -> bool {
    active() != KernelSet::Scalar
}

/// Terms summed before the running sum is reduced again: four terms below `1.6·2^50` each and a reduced sum
/// stay below `2^53`, where doubles are exact.
const TERMS_PER_REDUCTION: usize = 4;

/// `out[c] = Σ_j a_j[c]·b_j[c] mod q` in `[0, q)`, for limbs `a_j`, `b_j` of words below `q` (at least
/// `out.len()` each) — where the lanes can: the active kernel set has AVX2, `q <` [`FLOAT_BOUND`] and `out` a
/// multiple of 4 words. Returns whether it computed `out`; if not, `out` is untouched.
///
/// Each product is reduced in doubles ([`Float::mul_residues`]), and the running sum every
/// [`TERMS_PER_REDUCTION`] terms.
pub fn dot_product(a: &[&[u64]], b: &[&[u64]], q: u64, out: &mut [u64]) -> bool {
    let fits = q < FLOAT_BOUND && a.len() == b.len() && out.len().is_multiple_of(4);
    if !fits || !lanes_active() || a.iter().chain(b).any(|limb| limb.len() < out.len()) {
        return false;
    }
    // SAFETY: the CPU has AVX2 and FMA (the active set has them).
    unsafe { dot_product_float(a, b, q, out) };
    true
}

#[target_feature(enable = "avx2,fma")]
fn dot_product_float(a: &[&[u64]], b: &[&[u64]], q: u64, out: &mut [u64]) {
    let f = Float::new(q);
    for (c, o) in out.chunks_exact_mut(4).enumerate() {
        let mut sum = _mm256_setzero_pd();
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            if k > 0 && k % TERMS_PER_REDUCTION == 0 {
                sum = f.reduce(sum);
            }
            let (x, y) = (to_float(load(&x[4 * c..])), to_float(load(&y[4 * c..])));
            sum = _mm256_add_pd(sum, f.mul_residues(x, y));
        }
        store(o, to_words(f.normalize(sum)));
    }
}

/// `out[c] = Σ_j x_j[c]·f_j mod t` in `[0, t)`, for limbs `x_j` of words below `2^52` (`narrow`; at least
/// `out.len()` each) and factors `f_j < t` — where the lanes can: the active kernel set has AVX2, `narrow`,
/// `t <` [`FLOAT_BOUND`] and `out` a multiple of 4 words. Returns whether it computed `out`; if not, `out` is
/// untouched.
///
/// Each product is reduced in doubles ([`Float::mul`], at most `t/2 + 0.26·2^52 < 1.6·2^50` in magnitude), and
/// the running sum every [`TERMS_PER_REDUCTION`] terms.
pub fn scaled_sum(x: &[&[u64]], factors: &[u64], narrow: bool, t: u64, out: &mut [u64]) -> bool {
    let fits = narrow && t < FLOAT_BOUND && x.len() == factors.len() && out.len().is_multiple_of(4);
    if !fits || !lanes_active() || x.iter().any(|limb| limb.len() < out.len()) || factors.iter().any(|&f| f >= t) {
        return false;
    }
    // SAFETY: the CPU has AVX2 and FMA (the active set has them).
    unsafe { scaled_sum_float(x, factors, t, out) };
    true
}

#[target_feature(enable = "avx2,fma")]
fn scaled_sum_float(x: &[&[u64]], factors: &[u64], t: u64, out: &mut [u64]) {
    let f = Float::new(t);
    let factors: heapless::Vec<(__m256d, __m256d), MAX_MODULI> = factors
        .iter()
        .map(|&w| {
            let shoup = (((w as u128) << 64) / t as u128) as u64;
            (_mm256_set1_pd(w as f64), _mm256_set1_pd(shoup as f64 / TWO_52 / 4096.0))
        })
        .collect();
    for (c, o) in out.chunks_exact_mut(4).enumerate() {
        let mut sum = _mm256_setzero_pd();
        for (k, (x, &(w, w_ratio))) in x.iter().zip(&factors).enumerate() {
            if k > 0 && k % TERMS_PER_REDUCTION == 0 {
                sum = f.reduce(sum);
            }
            sum = _mm256_add_pd(sum, f.mul(to_float(load(&x[4 * c..])), w, w_ratio));
        }
        store(o, to_words(f.normalize(sum)));
    }
}

/// `a[c] = a[c]·b[c] mod q`, or with `accumulate`, `out[c] = out[c] + a[c]·b[c] mod q`, in `[0, q)` for words
/// below `q` — where the lanes can: the active kernel set has AVX2, `q <` [`FLOAT_BOUND`], `a` and `b` as long as
/// `out` and that a multiple of 4 words. Returns whether it computed `out`; if not, `out` is untouched.
pub fn pointwise_product(out: &mut [u64], a: Option<&[u64]>, b: &[u64], q: u64) -> bool {
    let fits = q < FLOAT_BOUND && b.len() == out.len() && a.is_none_or(|a| a.len() == out.len());
    if !fits || !out.len().is_multiple_of(4) || !lanes_active() {
        return false;
    }
    // SAFETY: the CPU has AVX2 and FMA (the active set has them).
    unsafe { pointwise_product_float(out, a, b, q) };
    true
}

#[target_feature(enable = "avx2,fma")]
fn pointwise_product_float(out: &mut [u64], a: Option<&[u64]>, b: &[u64], q: u64) {
    let f = Float::new(q);
    for (c, o) in out.chunks_exact_mut(4).enumerate() {
        let y = to_float(load(&b[4 * c..]));
        let product = match a {
            Some(a) => _mm256_add_pd(to_float(load(o)), f.mul_residues(to_float(load(&a[4 * c..])), y)),
            None => f.mul_residues(to_float(load(o)), y),
        };
        store(o, to_words(f.normalize(product)));
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::math::kernels::KernelSet;
    use crate::math::prime::NttPrimes;
    use crate::math::zq::Modulus;
    use crate::testing::xorshift;

    /// Four words of a vector.
    fn words(v: __m256i) -> [u64; 4] {
        let mut out = [0; 4];
        // SAFETY: only called where the CPU has AVX2.
        unsafe { store(&mut out, v) };
        out
    }

    #[test]
    fn lane_products_and_reductions_equal_the_scalar_ones() {
        if !KernelSet::Avx2.supported() {
            std::eprintln!("NOT RUN: this CPU lacks AVX2, so the four-lane arithmetic is never taken here");
            return;
        }
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let largest = (1..).map(|k| (1u64 << 62) - 2 * k + 1).find(|&q| crate::math::prime::is_prime(q)).unwrap();
        let usual = [20, 32, 33, 40, 50, 55, 61].map(|bits| NttPrimes::new(bits, 16).next().unwrap());
        for q in usual.into_iter().chain([largest]) {
            let m = Modulus::new(q).unwrap();
            for round in 0..200 {
                let y: [u64; 4] = core::array::from_fn(|i| match (round + i) % 4 {
                    0 => u64::MAX - i as u64,
                    1 => 4 * q - 1 - i as u64,
                    _ => next(),
                });
                let w: [u64; 4] = core::array::from_fn(|i| if (round + i) % 5 == 0 { q - 1 } else { next() % q });
                let w_shoup = w.map(|w| m.shoup(w));
                let x: [u64; 4] = core::array::from_fn(|i| match (round + i) % 4 {
                    0 => [0, 2 * q - 1, 2 * q, 4 * q - 1][round % 4],
                    _ => next() % (4 * q),
                });
                // SAFETY: the CPU has AVX2 (checked above).
                let (product, reduced) = unsafe {
                    let q_lanes = _mm256_set1_epi64x(q as i64);
                    let product = mul_shoup_lazy(load(&y), load(&w), load(&w_shoup), q_lanes);
                    (words(product), words(reduce_once(load(&x), _mm256_set1_epi64x(2 * q as i64))))
                };
                let want: [u64; 4] = core::array::from_fn(|i| m.mul_shoup_lazy(y[i], w[i], w_shoup[i]));
                assert_eq!(product, want, "q = {q}, y = {y:?}, w = {w:?}");
                assert_eq!(reduced, x.map(|x| x.min(x.wrapping_sub(2 * q))), "q = {q}, x = {x:?}");
            }
        }
    }

    /// Four doubles of a vector.
    fn doubles(v: __m256d) -> [f64; 4] {
        // SAFETY: only called where the CPU has AVX2.
        words(unsafe { _mm256_castpd_si256(v) }).map(f64::from_bits)
    }

    #[test]
    fn float_products_are_congruent_and_within_their_stated_bounds() {
        if !KernelSet::Avx2.supported() {
            std::eprintln!("NOT RUN: this CPU lacks AVX2 and FMA, so the four-lane doubles are never taken here");
            return;
        }
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let largest = (1..).map(|k| FLOAT_BOUND - 2 * k + 1).find(|&q| crate::math::prime::is_prime(q)).unwrap();
        let usual = [20, 30, 40, 45].map(|bits| NttPrimes::new(bits, 16).next().unwrap());
        for q in usual.into_iter().chain([largest]) {
            let m = Modulus::new(q).unwrap();
            let residue = |v: f64| (v as i128).rem_euclid(q as i128) as u64;
            for round in 0..500 {
                // Signed integers up to 2^52 − 1 in magnitude, the extremes included.
                let y: [f64; 4] = core::array::from_fn(|i| {
                    let magnitude = match (round + i) % 3 {
                        0 => (1u64 << 52) - 1 - i as u64,
                        _ => next() >> 12,
                    };
                    if (round + i) % 2 == 0 { magnitude as f64 } else { -(magnitude as f64) }
                });
                let w: [u64; 4] = core::array::from_fn(|i| match (round + i) % 5 {
                    0 => q - 1,
                    1 => i as u64,
                    _ => next() % q,
                });
                let w_shoup = w.map(|w| m.shoup(w));
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                let (product, reduced, normal, round_trip) = unsafe {
                    let f = Float::new(q);
                    let y_lanes = _mm256_castsi256_pd(load(&y.map(f64::to_bits)));
                    let product = f.mul(y_lanes, to_float(load(&w)), ratio(load(&w_shoup)));
                    let reduced = f.reduce(y_lanes);
                    let normal = f.normalize(y_lanes);
                    (doubles(product), doubles(reduced), doubles(normal), words(to_words(to_float(load(&w)))))
                };
                for i in 0..4 {
                    let want = m.mul(residue(y[i]), w[i]);
                    assert_eq!(product[i].fract(), 0.0);
                    assert_eq!(residue(product[i]), want, "q = {q}, y = {}, w = {}", y[i], w[i]);
                    assert!(product[i].abs() <= q as f64 / 2.0 + 0.26 * y[i].abs(), "q = {q}, y = {}", y[i]);
                    assert_eq!(residue(reduced[i]), residue(y[i]));
                    assert!(reduced[i].abs() <= q as f64 / 2.0 + y[i].abs() / (1u64 << 51) as f64);
                    assert_eq!(normal[i], residue(y[i]) as f64, "q = {q}, y = {}", y[i]);
                }
                assert_eq!(round_trip, w);
            }
        }
    }
}
