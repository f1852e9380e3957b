//! The NTT's butterflies on four lanes with AVX2 and FMA, for every modulus the scalar transform takes.
//!
//! Same stages and twiddles as the scalar transform, and the same fully reduced outputs, word for word:
//! - moduli below [`FLOAT_BOUND`] `= 2^50` (the scaling primes) compute in doubles ([`crate::math::lanes::avx2::Float`]):
//!   AVX2 multiplies integers only 32 bits at a time, while its fused multiply-add gives a 106-bit product in two
//!   instructions. Values are signed integers below `2^52` in magnitude, exact in a double;
//! - larger moduli take Harvey's lazy butterflies on integer lanes (values in `[0, 4q)`, Shoup's product from ten
//!   32-bit products, [`crate::math::lanes::avx2::mul_shoup_lazy`]).
//!
//! Stages whose pairs lie 4 or more words apart load their `x` and `y` halves directly; the two stages of pairs 2
//! and 1 apart take two vectors at a time, split into their `x` and `y` lanes by one shuffle each and merged back
//! by two more.

use crate::math::lanes::avx2::{
    FLOAT_BOUND, Float, load, mul_shoup_lazy, ratio, reduce_once, store, to_float, to_words,
};
use core::arch::x86_64::{
    __m256d, __m256i, _mm_loadu_si128, _mm256_add_epi64, _mm256_add_pd, _mm256_castpd_si256, _mm256_castsi128_si256,
    _mm256_castsi256_pd, _mm256_permute2x128_si256, _mm256_permute4x64_epi64, _mm256_set1_epi64x, _mm256_sub_epi64,
    _mm256_sub_pd, _mm256_unpackhi_epi64, _mm256_unpacklo_epi64,
};

/// The modulus and its double in every integer lane.
#[derive(Clone, Copy)]
struct Lanes {
    q: __m256i,
    two_q: __m256i,
}

impl Lanes {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn new(q: u64) -> Self {
        assert!(q < 1 << 62);
        Self { q: _mm256_set1_epi64x(q as i64), two_q: _mm256_set1_epi64x(2 * q as i64) }
    }
}

/// A twiddle and its Shoup constant in each lane, as words.
type Twiddles = (__m256i, __m256i);

/// Cooley–Tukey on integer lanes: `(x, y) ↦ (x + wy, x − wy)`, inputs and outputs below `4q`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn forward_butterfly(x: __m256i, y: __m256i, w: Twiddles, l: Lanes) -> (__m256i, __m256i) {
    let u = reduce_once(x, l.two_q);
    let v = mul_shoup_lazy(y, w.0, w.1, l.q);
    (_mm256_add_epi64(u, v), _mm256_sub_epi64(_mm256_add_epi64(u, l.two_q), v))
}

/// Gentleman–Sande on integer lanes: `(x, y) ↦ (x + y, (x − y)·w)`, inputs and outputs below `2q`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn inverse_butterfly(x: __m256i, y: __m256i, w: Twiddles, l: Lanes) -> (__m256i, __m256i) {
    let sum = reduce_once(_mm256_add_epi64(x, y), l.two_q);
    let difference = _mm256_sub_epi64(_mm256_add_epi64(x, l.two_q), y);
    (sum, mul_shoup_lazy(difference, w.0, w.1, l.q))
}

/// The stages whose pairs lie fewer than four words apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    /// Pairs `(4b + j, 4b + j + 2)`: two blocks per vector.
    Two,
    /// Pairs `(2b, 2b + 1)`: four blocks per vector.
    One,
}

/// One stage of close pairs over `a` in chunks of 8 words by `butterfly`, block `b` of the stage taking twiddle
/// `first + b`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn close_stage(
    a: &mut [u64],
    close: Close,
    (roots, shoups, first): (&[u64], &[u64], usize),
    butterfly: impl Fn(__m256i, __m256i, Twiddles) -> (__m256i, __m256i),
) {
    for (c, chunk) in a.chunks_exact_mut(8).enumerate() {
        let (lo, hi) = chunk.split_at_mut(4);
        let (va, vb) = (load(lo), load(hi));
        match close {
            Close::Two => {
                // x = (a0, a1, b0, b1), y = (a2, a3, b2, b3); the x lanes belong to blocks 2c, 2c, 2c + 1, 2c + 1.
                let pick = |table: &[u64]| {
                    // SAFETY: two words are readable at `first + 2c` (the stage has `N/4` blocks from `first`).
                    let pair = unsafe { _mm_loadu_si128(table[first + 2 * c..first + 2 * c + 2].as_ptr().cast()) };
                    _mm256_permute4x64_epi64::<0x50>(_mm256_castsi128_si256(pair))
                };
                let x = _mm256_permute2x128_si256::<0x20>(va, vb);
                let y = _mm256_permute2x128_si256::<0x31>(va, vb);
                let (u, v) = butterfly(x, y, (pick(roots), pick(shoups)));
                store(lo, _mm256_permute2x128_si256::<0x20>(u, v));
                store(hi, _mm256_permute2x128_si256::<0x31>(u, v));
            }
            Close::One => {
                // x = (a0, b0, a2, b2), y = (a1, b1, a3, b3); the x lanes belong to blocks 4c + (0, 2, 1, 3).
                let pick = |table: &[u64]| _mm256_permute4x64_epi64::<0xD8>(load(&table[first + 4 * c..]));
                let x = _mm256_unpacklo_epi64(va, vb);
                let y = _mm256_unpackhi_epi64(va, vb);
                let (u, v) = butterfly(x, y, (pick(roots), pick(shoups)));
                store(lo, _mm256_unpacklo_epi64(u, v));
                store(hi, _mm256_unpackhi_epi64(u, v));
            }
        }
    }
}

/// One stage of pairs `t ≥ 4` apart over `a` by `butterfly`, block `b` taking twiddle `first + b`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn wide_stage(
    a: &mut [u64],
    t: usize,
    (roots, shoups, first): (&[u64], &[u64], usize),
    butterfly: impl Fn(__m256i, __m256i, Twiddles) -> (__m256i, __m256i),
) {
    for (b, block) in a.chunks_exact_mut(2 * t).enumerate() {
        let w = (_mm256_set1_epi64x(roots[first + b] as i64), _mm256_set1_epi64x(shoups[first + b] as i64));
        let (xs, ys) = block.split_at_mut(t);
        for (x, y) in xs.chunks_exact_mut(4).zip(ys.chunks_exact_mut(4)) {
            let (u, v) = butterfly(load(x), load(y), w);
            store(x, u);
            store(y, v);
        }
    }
}

/// The forward transform of [`super::NttTable::forward`] on `a` (`N ≥ 8` words in `[0, q)`), twiddles `roots`
/// and their Shoup constants `shoups` (`N` each, bit-reversed order); output in `[0, q)`.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
///
/// # Panics
/// If `q ≥ 2^62`, `N < 8` or the lengths differ (programming errors: the caller checks all three).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn forward(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64) {
    let n = a.len();
    assert!(n >= 8 && roots.len() == n && shoups.len() == n);
    if q < FLOAT_BOUND { forward_float(a, roots, shoups, q) } else { forward_integer(a, roots, shoups, q) }
}

/// The inverse transform of [`super::NttTable::inverse`] on `a` (`N ≥ 8` words in `[0, q)`, bit-reversed), with
/// the inverse twiddles `roots` and their Shoup constants `shoups`, then times `N⁻¹` (`degree_inv` and its Shoup
/// constant); output in `[0, q)`.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
///
/// # Panics
/// As [`forward`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn inverse(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64, degree_inv: (u64, u64)) {
    let n = a.len();
    assert!(n >= 8 && roots.len() == n && shoups.len() == n);
    if q < FLOAT_BOUND {
        inverse_float(a, roots, shoups, q, degree_inv)
    } else {
        inverse_integer(a, roots, shoups, q, degree_inv)
    }
}

/// Doubles as the integer lanes carry them between stages.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn doubles(v: __m256i) -> __m256d {
    _mm256_castsi256_pd(v)
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn bits(v: __m256d) -> __m256i {
    _mm256_castpd_si256(v)
}

/// Rewrites the words of `a` (below `2^52`) in place as the bits of the same values as doubles.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn words_to_doubles(a: &mut [u64]) {
    for x in a.chunks_exact_mut(4) {
        store(x, bits(to_float(load(x))));
    }
}

/// A twiddle and `w/q` as doubles.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn float_twiddles(w: Twiddles) -> (__m256d, __m256d) {
    (to_float(w.0), ratio(w.1))
}

/// [`forward`] in doubles: values below `2q` in magnitude between stages (the reduced `x` below `q/2 + 1`,
/// `wy` below `q/2 + 0.26·2q`).
#[target_feature(enable = "avx2,fma")]
fn forward_float(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64) {
    let f = Float::new(q);
    words_to_doubles(a);
    let butterfly = |x: __m256i, y: __m256i, w: Twiddles| {
        let (w, w_ratio) = float_twiddles(w);
        let x = f.reduce(doubles(x));
        let wy = f.mul(doubles(y), w, w_ratio);
        (bits(_mm256_add_pd(x, wy)), bits(_mm256_sub_pd(x, wy)))
    };
    let n = a.len();
    let (mut m, mut t) = (1, n / 2);
    while t >= 4 {
        wide_stage(a, t, (roots, shoups, m), butterfly);
        (m, t) = (2 * m, t / 2);
    }
    close_stage(a, Close::Two, (roots, shoups, m), butterfly);
    close_stage(a, Close::One, (roots, shoups, 2 * m), |x, y, w| {
        let (u, v) = butterfly(x, y, w);
        (to_words(f.normalize(doubles(u))), to_words(f.normalize(doubles(v))))
    });
}

/// [`inverse`] in doubles: values below `q` in magnitude between stages (sums reduced below `q/2 + 1`, products
/// below `q/2 + 0.26·2q`).
#[target_feature(enable = "avx2,fma")]
fn inverse_float(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64, degree_inv: (u64, u64)) {
    let f = Float::new(q);
    words_to_doubles(a);
    let butterfly = |x: __m256i, y: __m256i, w: Twiddles| {
        let (w, w_ratio) = float_twiddles(w);
        let (x, y) = (doubles(x), doubles(y));
        (bits(f.reduce(_mm256_add_pd(x, y))), bits(f.mul(_mm256_sub_pd(x, y), w, w_ratio)))
    };
    let n = a.len();
    close_stage(a, Close::One, (roots, shoups, n / 2), butterfly);
    close_stage(a, Close::Two, (roots, shoups, n / 4), butterfly);
    let (mut h, mut t) = (n / 8, 4);
    while h >= 1 {
        wide_stage(a, t, (roots, shoups, h), butterfly);
        (h, t) = (h / 2, 2 * t);
    }
    let (w, w_ratio) =
        float_twiddles((_mm256_set1_epi64x(degree_inv.0 as i64), _mm256_set1_epi64x(degree_inv.1 as i64)));
    for x in a.chunks_exact_mut(4) {
        store(x, to_words(f.normalize(f.mul(doubles(load(x)), w, w_ratio))));
    }
}

/// [`forward`] on integer lanes.
#[target_feature(enable = "avx2,fma")]
fn forward_integer(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64) {
    let n = a.len();
    let l = Lanes::new(q);
    let butterfly = |x, y, w| forward_butterfly(x, y, w, l);
    let (mut m, mut t) = (1, n / 2);
    while t >= 4 {
        wide_stage(a, t, (roots, shoups, m), butterfly);
        (m, t) = (2 * m, t / 2);
    }
    close_stage(a, Close::Two, (roots, shoups, m), butterfly);
    close_stage(a, Close::One, (roots, shoups, 2 * m), |x, y, w| {
        let (u, v) = forward_butterfly(x, y, w, l);
        (reduce_once(reduce_once(u, l.two_q), l.q), reduce_once(reduce_once(v, l.two_q), l.q))
    });
}

/// [`inverse`] on integer lanes.
#[target_feature(enable = "avx2,fma")]
fn inverse_integer(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64, degree_inv: (u64, u64)) {
    let n = a.len();
    let l = Lanes::new(q);
    let butterfly = |x, y, w| inverse_butterfly(x, y, w, l);
    close_stage(a, Close::One, (roots, shoups, n / 2), butterfly);
    close_stage(a, Close::Two, (roots, shoups, n / 4), butterfly);
    let (mut h, mut t) = (n / 8, 4);
    while h >= 1 {
        wide_stage(a, t, (roots, shoups, h), butterfly);
        (h, t) = (h / 2, 2 * t);
    }
    let (w, w_shoup) = (_mm256_set1_epi64x(degree_inv.0 as i64), _mm256_set1_epi64x(degree_inv.1 as i64));
    for x in a.chunks_exact_mut(4) {
        store(x, reduce_once(mul_shoup_lazy(load(x), w, w_shoup, l.q), l.q));
    }
}
