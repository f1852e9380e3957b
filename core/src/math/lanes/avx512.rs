//! Arithmetic modulo `q` on eight 64-bit lanes with AVX-512 (F, DQ and IFMA), for every modulus the scalar code
//! takes (below `2^62`): below [`IFMA_BOUND`] `= 2^50`, values below `4q` fit IFMA's 52-bit multiplier, and Shoup
//! multiplication by `⌊w·2^52/q⌋` (the scalar `⌊w·2^64/q⌋` shifted right by 12) takes three 52-bit
//! multiply-accumulates; larger moduli take Shoup's 64-bit form, its high product from four 32-bit products.
//! Every kernel here gives the scalar code's results word for word.

use crate::math::kernels::{KernelSet, active};
use crate::math::rns::MAX_MODULI;
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

#[cfg(test)]
mod tests {
    extern crate alloc;
    extern crate std;
    use super::*;
    use crate::math::prime::NttPrimes;
    use alloc::vec::Vec;

    /// Whether the lanes run here; says loudly that `what` was not tested if not.
    fn lanes_here(what: &str) -> bool {
        if active() != KernelSet::Avx512Ifma {
            std::eprintln!("NOT RUN: the active kernel set is {}, so the eight lanes' {what} is never taken", active());
        }
        active() == KernelSet::Avx512Ifma
    }

    /// A xorshift sequence of words.
    fn words(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn dot_products_equal_the_128_bit_sums_reduced_once() {
        if !lanes_here("dot product") {
            return;
        }
        let n = 64;
        let mut next = words(0x2545_f491_4f6c_dd1d);
        for bits in [20, 40, 49] {
            let q = NttPrimes::new(bits, 16).find(|&q| q < IFMA_BOUND).unwrap();
            for pairs in [1, 2, 7, 16] {
                for extreme in [false, true] {
                    let mut limb = || -> Vec<u64> {
                        (0..n).map(|_| if extreme { q - 1 - next() % 2 } else { next() % q }).collect()
                    };
                    let (a, b): (Vec<Vec<u64>>, Vec<Vec<u64>>) = (0..pairs).map(|_| (limb(), limb())).unzip();
                    let (a, b): (Vec<&[u64]>, Vec<&[u64]>) =
                        (a.iter().map(|l| &l[..]).collect(), b.iter().map(|l| &l[..]).collect());
                    let want: Vec<u64> = (0..n)
                        .map(|c| {
                            (a.iter().zip(&b).map(|(x, y)| x[c] as u128 * y[c] as u128).sum::<u128>() % q as u128)
                                as u64
                        })
                        .collect();
                    let mut out = alloc::vec![0; n];
                    assert!(dot_product(&a, &b, q, &mut out));
                    assert_eq!(out, want, "{bits}-bit q, {pairs} pairs, extreme {extreme}");
                }
            }
        }
        // Where the lanes cannot, nothing is written.
        let (limb, q_wide) = (alloc::vec![1u64; 16], NttPrimes::new(55, 16).next().unwrap());
        let mut out = alloc::vec![7; 16];
        assert!(!dot_product(&[&limb], &[&limb], q_wide, &mut out));
        assert!(!dot_product(&[&limb], &[&limb], 97, &mut out[..12]));
        assert!(!dot_product(&[&limb[..8]], &[&limb], 97, &mut out));
        assert_eq!(out, [7; 16]);
    }

    #[test]
    fn scaled_sums_equal_the_128_bit_sums_reduced_once() {
        if !lanes_here("scaled sum") {
            return;
        }
        let n = 64;
        let mut next = words(0x9e37_79b9_7f4a_7c15);
        for bits in [20, 40, 49] {
            let t = NttPrimes::new(bits, 16).find(|&q| q < IFMA_BOUND).unwrap();
            for (count, narrow) in [(1, true), (8, true), (8, false), (30, false), (MAX_MODULI, false)] {
                // Narrow words below 2^52 (up to 2^52 − 1), wide ones anywhere (up to 2^64 − 1).
                let top = if narrow { (1 << 52) - 1 } else { u64::MAX };
                let limbs: Vec<Vec<u64>> = (0..count)
                    .map(|j| (0..n).map(|c| if (c + j) % 5 == 0 { top } else { next() & top }).collect())
                    .collect();
                let factors: Vec<u64> = (0..count).map(|j| if j % 3 == 0 { t - 1 } else { next() % t }).collect();
                let limbs: Vec<&[u64]> = limbs.iter().map(|l| &l[..]).collect();
                let want: Vec<u64> = (0..n)
                    .map(|c| {
                        let sum = limbs
                            .iter()
                            .zip(&factors)
                            .map(|(l, &f)| l[c] as u128 * f as u128 % t as u128)
                            .sum::<u128>();
                        (sum % t as u128) as u64
                    })
                    .collect();
                let mut out = alloc::vec![0; n];
                assert!(scaled_sum(&limbs, &factors, narrow, t, &mut out));
                assert_eq!(out, want, "{bits}-bit t, {count} limbs, narrow {narrow}");
            }
        }
        // Where the lanes cannot (a modulus from 2^50 on, a factor not below t, counts that differ), nothing is
        // written.
        let (limb, t_wide) = (alloc::vec![1u64; 16], NttPrimes::new(55, 16).next().unwrap());
        let mut out = alloc::vec![7; 16];
        assert!(!scaled_sum(&[&limb], &[1], false, t_wide, &mut out));
        assert!(!scaled_sum(&[&limb], &[97], false, 97, &mut out));
        assert!(!scaled_sum(&[&limb, &limb], &[1], false, 97, &mut out));
        assert_eq!(out, [7; 16]);
    }
}
