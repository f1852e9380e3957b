//! Arithmetic modulo `q` on eight 64-bit lanes with AVX-512 (F, DQ and IFMA), for every modulus the scalar code
//! takes (below `2^62`): below [`IFMA_BOUND`] `= 2^50`, values below `4q` fit IFMA's 52-bit multiplier, and Shoup
//! multiplication by `⌊w·2^52/q⌋` (the scalar `⌊w·2^64/q⌋` shifted right by 12) takes three 52-bit
//! multiply-accumulates; larger moduli take Shoup's 64-bit form, its high product from four 32-bit products.
//! Every kernel here gives the scalar code's results word for word.

use crate::math::kernels::{KernelSet, active};
use crate::math::zq::MAX_MODULI;
use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_epi64, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64,
    _mm512_min_epu64, _mm512_mul_epu32, _mm512_mullo_epi64, _mm512_set1_epi64, _mm512_setzero_si512, _mm512_srli_epi64,
    _mm512_storeu_epi64, _mm512_sub_epi64,
};

/// Moduli below this multiply with IFMA.
pub const IFMA_BOUND: u64 = 1 << 50;

/// Eight words from the start of `words` (at least 8).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn load(words: &[u64]) -> __m512i {
    assert!(words.len() >= 8);
    // SAFETY: eight words are readable at the pointer (checked above); the load is unaligned.
    unsafe { _mm512_loadu_epi64(words.as_ptr().cast()) }
}

/// Writes eight words at the start of `words` (at least 8).
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn store(words: &mut [u64], v: __m512i) {
    assert!(words.len() >= 8);
    // SAFETY: eight words are writable at the pointer (checked above); the store is unaligned.
    unsafe { _mm512_storeu_epi64(words.as_mut_ptr().cast(), v) }
}

/// `x − bound` where `x ≥ bound`, else `x`.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn reduce_once(x: __m512i, bound: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, bound))
}

/// `y·w mod q` in `[0, 2q)` for `w < q` and its Shoup constant `w_shoup` ([`shoup`]): `y·w − ⌊y·w_shoup/β⌋·q`,
/// which is below `2q`. With `WIDE`, `β = 2^64` and any `y`; otherwise `β = 2^52`, `y < 2^52`, `q < 2^50`, and
/// the result's low 52 bits are all of it.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub(crate) fn mul_shoup_lazy<const WIDE: bool>(y: __m512i, w: __m512i, w_shoup: __m512i, q: __m512i) -> __m512i {
    if WIDE {
        let quotient = mul_high(y, w_shoup);
        return _mm512_sub_epi64(_mm512_mullo_epi64(y, w), _mm512_mullo_epi64(quotient, q));
    }
    let zero = _mm512_setzero_si512();
    let quotient = _mm512_madd52hi_epu64(zero, w_shoup, y);
    let product = _mm512_madd52lo_epu64(zero, w, y);
    let multiple = _mm512_madd52lo_epu64(zero, quotient, q);
    _mm512_and_si512(_mm512_sub_epi64(product, multiple), _mm512_set1_epi64((1 << 52) - 1))
}

/// The high words of the 128-bit products `a·b`, from the four products of their 32-bit halves.
#[inline]
#[target_feature(enable = "avx512f")]
fn mul_high(a: __m512i, b: __m512i) -> __m512i {
    let (a_high, b_high) = (_mm512_srli_epi64::<32>(a), _mm512_srli_epi64::<32>(b));
    let low32 = _mm512_set1_epi64(0xffff_ffff);
    let low_low = _mm512_mul_epu32(a, b);
    let low_high = _mm512_mul_epu32(a, b_high);
    let high_low = _mm512_mul_epu32(a_high, b);
    let high_high = _mm512_mul_epu32(a_high, b_high);
    // The middle column: at most three 32-bit words, so its carry into the high word is below 4.
    let middle = _mm512_add_epi64(
        _mm512_add_epi64(_mm512_srli_epi64::<32>(low_low), _mm512_and_si512(low_high, low32)),
        _mm512_and_si512(high_low, low32),
    );
    let carries = _mm512_add_epi64(_mm512_srli_epi64::<32>(low_high), _mm512_srli_epi64::<32>(high_low));
    _mm512_add_epi64(_mm512_add_epi64(high_high, carries), _mm512_srli_epi64::<32>(middle))
}

/// The lanes' Shoup constants from the scalar table's `⌊w·2^64/q⌋`: as they are with `WIDE`, `⌊w·2^52/q⌋`
/// otherwise.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn shoup<const WIDE: bool>(scalar: __m512i) -> __m512i {
    if WIDE { scalar } else { _mm512_srli_epi64::<12>(scalar) }
}

/// `out[c] = Σ_j a_j[c]·b_j[c] mod q` in `[0, q)`, for limbs `a_j`, `b_j` of words below `q` (at least
/// `out.len()` each) — where the lanes can: the active kernel set is AVX-512 IFMA, `q < 2^50` and `out` a multiple of 8 words.
/// Returns whether it computed `out`; if not, `out` is untouched.
///
/// Each product is below `2^100`; its low 52 bits and its high 48 are summed in separate lanes (up to 4096
/// pairs) and reduced once ([`Reduction::split`]).
pub fn dot_product(a: &[&[u64]], b: &[&[u64]], q: u64, out: &mut [u64]) -> bool {
    let fits = q < IFMA_BOUND && a.len() == b.len() && a.len() <= 4096 && out.len().is_multiple_of(8);
    if !fits || active() != KernelSet::Avx512Ifma || a.iter().chain(b).any(|limb| limb.len() < out.len()) {
        return false;
    }
    // SAFETY: the CPU has the features (checked above).
    unsafe { dot_product_ifma(a, b, q, out) };
    true
}

#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn dot_product_ifma(a: &[&[u64]], b: &[&[u64]], q: u64, out: &mut [u64]) {
    let reduce = Reduction::new(q);
    for (c, o) in out.chunks_exact_mut(8).enumerate() {
        let (mut low, mut high) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (load(&x[8 * c..]), load(&y[8 * c..]));
            low = _mm512_madd52lo_epu64(low, x, y);
            high = _mm512_madd52hi_epu64(high, x, y);
        }
        store(o, reduce.split(high, low));
    }
}

/// `out[c] = Σ_j x_j[c]·f_j mod t` in `[0, t)`, for limbs `x_j` of any words (at least `out.len()` each; with
/// `narrow`, all below `2^52`) and factors `f_j < t` — where the lanes can: the active kernel set is AVX-512 IFMA, `t < 2^50`
/// and `out` a multiple of 8 words. Returns whether it computed `out`; if not, `out` is untouched.
///
/// Unless `narrow`, each word is split as `x = x_h·2^52 + x_l`, and `x·f ≡ x_l·f + x_h·[2^52·f]_t`; the 52-bit
/// halves of the products are summed in separate lanes (up to [`MAX_MODULI`] limbs) and reduced once ([`Reduction::split`]).
pub fn scaled_sum(x: &[&[u64]], factors: &[u64], narrow: bool, t: u64, out: &mut [u64]) -> bool {
    let fits = t < IFMA_BOUND && x.len() == factors.len() && x.len() <= MAX_MODULI && out.len().is_multiple_of(8);
    if !fits
        || active() != KernelSet::Avx512Ifma
        || x.iter().any(|limb| limb.len() < out.len())
        || factors.iter().any(|&f| f >= t)
    {
        return false;
    }
    // SAFETY: the CPU has the features (checked above).
    unsafe { scaled_sum_ifma(x, factors, narrow, t, out) };
    true
}

#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn scaled_sum_ifma(x: &[&[u64]], factors: &[u64], narrow: bool, t: u64, out: &mut [u64]) {
    let reduce = Reduction::new(t);
    let low52 = _mm512_set1_epi64((1 << 52) - 1);
    let factors: heapless::Vec<(__m512i, __m512i), MAX_MODULI> = factors
        .iter()
        .map(|&f| (_mm512_set1_epi64(f as i64), _mm512_set1_epi64((((f as u128) << 52) % t as u128) as i64)))
        .collect();
    for (c, o) in out.chunks_exact_mut(8).enumerate() {
        let (mut low, mut high) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for (x, &(f, f_shifted)) in x.iter().zip(&factors) {
            let x = load(&x[8 * c..]);
            let x_low = if narrow { x } else { _mm512_and_si512(x, low52) };
            low = _mm512_madd52lo_epu64(low, x_low, f);
            high = _mm512_madd52hi_epu64(high, x_low, f);
            if !narrow {
                let x_high = _mm512_srli_epi64::<52>(x);
                low = _mm512_madd52lo_epu64(low, x_high, f_shifted);
                high = _mm512_madd52hi_epu64(high, x_high, f_shifted);
            }
        }
        store(o, reduce.split(high, low));
    }
}

/// Reduces sums held as `high·2^52 + low` modulo `q < 2^62`.
struct Reduction {
    q: __m512i,
    two_q: __m512i,
    /// `[2^52]_q`, `1` and their 64-bit Shoup constants.
    radix: (__m512i, __m512i),
    one: (__m512i, __m512i),
}

impl Reduction {
    #[target_feature(enable = "avx512f")]
    fn new(q: u64) -> Self {
        let shoup64 = |w: u64| _mm512_set1_epi64((((w as u128) << 64) / q as u128) as i64);
        let radix = (1u64 << 52) % q;
        Self {
            q: _mm512_set1_epi64(q as i64),
            two_q: _mm512_set1_epi64(2 * q as i64),
            radix: (_mm512_set1_epi64(radix as i64), shoup64(radix)),
            one: (_mm512_set1_epi64(1), shoup64(1)),
        }
    }

    /// `(high·2^52 + low) mod q` in `[0, q)` for any 64-bit `high` and `low`: two 64-bit Shoup products, each
    /// below `2q`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn split(&self, high: __m512i, low: __m512i) -> __m512i {
        let sum = _mm512_add_epi64(
            mul_shoup_lazy::<true>(high, self.radix.0, self.radix.1, self.q),
            mul_shoup_lazy::<true>(low, self.one.0, self.one.1, self.q),
        );
        reduce_once(reduce_once(sum, self.two_q), self.q)
    }
}
