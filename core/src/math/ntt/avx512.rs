//! The NTT's butterflies on eight lanes with AVX-512 (F, DQ and IFMA), for every modulus the scalar transform
//! takes (below `2^62`). Below [`IFMA_BOUND`] `= 2^50` the lazy values (below `4q`) fit IFMA's 52-bit
//! multiplier: Shoup multiplication by `⌊w·2^52/q⌋` (the scalar table's `⌊w·2^64/q⌋` shifted right by 12) takes
//! three 52-bit multiply-accumulates. Larger moduli take Shoup's 64-bit form, its high product from four 32-bit
//! products.
//!
//! Same stages, twiddles and value ranges as the scalar transform (Harvey's butterflies), so the outputs are
//! equal word for word.
//! Stages whose pairs lie 8 or more words apart load their `x` and `y` halves directly; the three stages of pairs
//! 4, 2 and 1 apart take two vectors at a time, split into their `x` and `y` lanes by one permutation each and
//! merged back by two more.

use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_epi64, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64,
    _mm512_min_epu64, _mm512_mul_epu32, _mm512_mullo_epi64, _mm512_permutex2var_epi64, _mm512_permutexvar_epi64,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_srli_epi64, _mm512_storeu_epi64, _mm512_sub_epi64,
};

/// Moduli below this multiply with IFMA.
pub const IFMA_BOUND: u64 = 1 << 50;

/// Whether this CPU has AVX-512 F, DQ and IFMA (at compile time only, without the `std` feature).
pub fn available() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx512f", target_feature = "avx512dq", target_feature = "avx512ifma"))
    }
}

/// One stage's lane arrangement for pairs `t < 8` apart: the permutations splitting two vectors `(a, b)` into
/// their `x` and `y` lanes, those merging `(x, y)` back, and each `x` lane's block relative to the first.
struct InRegister {
    split: [[i64; 8]; 2],
    merge: [[i64; 8]; 2],
    blocks: [i64; 8],
}

/// Pairs 4, 2 and 1 apart (the forward transform's last stages, the inverse's first).
const IN_REGISTER: [(usize, InRegister); 3] = [
    (
        4,
        InRegister {
            split: [[0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]],
            merge: [[0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]],
            blocks: [0, 0, 0, 0, 1, 1, 1, 1],
        },
    ),
    (
        2,
        InRegister {
            split: [[0, 1, 4, 5, 8, 9, 12, 13], [2, 3, 6, 7, 10, 11, 14, 15]],
            merge: [[0, 1, 8, 9, 2, 3, 10, 11], [4, 5, 12, 13, 6, 7, 14, 15]],
            blocks: [0, 0, 1, 1, 2, 2, 3, 3],
        },
    ),
    (
        1,
        InRegister {
            split: [[0, 2, 4, 6, 8, 10, 12, 14], [1, 3, 5, 7, 9, 11, 13, 15]],
            merge: [[0, 8, 1, 9, 2, 10, 3, 11], [4, 12, 5, 13, 6, 14, 7, 15]],
            blocks: [0, 1, 2, 3, 4, 5, 6, 7],
        },
    ),
];

/// The modulus and its multiples in every lane.
#[derive(Clone, Copy)]
struct Lanes {
    q: __m512i,
    two_q: __m512i,
}

/// Eight words from the start of `words` (at least 8).
#[inline]
#[target_feature(enable = "avx512f")]
fn load(words: &[u64]) -> __m512i {
    assert!(words.len() >= 8);
    // SAFETY: eight words are readable at the pointer (checked above); the load is unaligned.
    unsafe { _mm512_loadu_epi64(words.as_ptr().cast()) }
}

/// Writes eight words at the start of `words` (at least 8).
#[inline]
#[target_feature(enable = "avx512f")]
fn store(words: &mut [u64], v: __m512i) {
    assert!(words.len() >= 8);
    // SAFETY: eight words are writable at the pointer (checked above); the store is unaligned.
    unsafe { _mm512_storeu_epi64(words.as_mut_ptr().cast(), v) }
}

#[inline]
#[target_feature(enable = "avx512f")]
fn indices(i: &[i64; 8]) -> __m512i {
    // SAFETY: eight words are readable at the pointer.
    unsafe { _mm512_loadu_epi64(i.as_ptr()) }
}

/// `x − bound` where `x ≥ bound`, else `x`.
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce_once(x: __m512i, bound: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, bound))
}

/// `y·w mod q` in `[0, 2q)` for `w < q` and its Shoup constant `w_shoup` ([`shoup`]): `y·w − ⌊y·w_shoup/β⌋·q`,
/// which is below `2q`. With `WIDE`, `β = 2^64` and any `y`; otherwise `β = 2^52`, `y < 2^52`, `q < 2^50`, and
/// the result's low 52 bits are all of it.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn mul_shoup_lazy<const WIDE: bool>(y: __m512i, w: __m512i, w_shoup: __m512i, q: __m512i) -> __m512i {
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
fn shoup<const WIDE: bool>(scalar: __m512i) -> __m512i {
    if WIDE { scalar } else { _mm512_srli_epi64::<12>(scalar) }
}

/// Cooley–Tukey: `(x, y) ↦ (x + wy, x − wy)`, inputs and outputs below `4q`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn forward_butterfly<const WIDE: bool>(x: __m512i, y: __m512i, w: Twiddles, l: Lanes) -> (__m512i, __m512i) {
    let u = reduce_once(x, l.two_q);
    let v = mul_shoup_lazy::<WIDE>(y, w.0, w.1, l.q);
    (_mm512_add_epi64(u, v), _mm512_sub_epi64(_mm512_add_epi64(u, l.two_q), v))
}

/// Gentleman–Sande: `(x, y) ↦ (x + y, (x − y)·w)`, inputs and outputs below `2q`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inverse_butterfly<const WIDE: bool>(x: __m512i, y: __m512i, w: Twiddles, l: Lanes) -> (__m512i, __m512i) {
    let sum = reduce_once(_mm512_add_epi64(x, y), l.two_q);
    let difference = _mm512_sub_epi64(_mm512_add_epi64(x, l.two_q), y);
    (sum, mul_shoup_lazy::<WIDE>(difference, w.0, w.1, l.q))
}

/// A twiddle and its lanes' Shoup constant ([`shoup`]) in each lane.
type Twiddles = (__m512i, __m512i);

/// Twiddle `i` in every lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn broadcast<const WIDE: bool>(roots: &[u64], shoups: &[u64], i: usize) -> Twiddles {
    (_mm512_set1_epi64(roots[i] as i64), shoup::<WIDE>(_mm512_set1_epi64(shoups[i] as i64)))
}

/// Twiddles `first + blocks[k]` in lane `k` (the eight from `first` must exist).
#[inline]
#[target_feature(enable = "avx512f")]
fn spread<const WIDE: bool>(roots: &[u64], shoups: &[u64], first: usize, blocks: &[i64; 8]) -> Twiddles {
    let lanes = indices(blocks);
    let pick = |table: &[u64]| _mm512_permutexvar_epi64(lanes, load(&table[first..]));
    (pick(roots), shoup::<WIDE>(pick(shoups)))
}

/// One stage of pairs `t < 8` apart over `a` in chunks of 16 words by `butterfly`, block `b` of the stage (pairs
/// `(2tb + j, 2tb + j + t)`) taking twiddle `first + b`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn in_register_stage<const WIDE: bool>(
    a: &mut [u64],
    (t, stage): (usize, &InRegister),
    (roots, shoups, first): (&[u64], &[u64], usize),
    butterfly: impl Fn(__m512i, __m512i, Twiddles) -> (__m512i, __m512i),
) {
    let [split_x, split_y] = stage.split.each_ref().map(|i| indices(i));
    let [merge_a, merge_b] = stage.merge.each_ref().map(|i| indices(i));
    for (c, chunk) in a.chunks_exact_mut(16).enumerate() {
        let (lo, hi) = chunk.split_at_mut(8);
        let (va, vb) = (load(lo), load(hi));
        let x = _mm512_permutex2var_epi64(va, split_x, vb);
        let y = _mm512_permutex2var_epi64(va, split_y, vb);
        let (x, y) = butterfly(x, y, spread::<WIDE>(roots, shoups, first + c * 8 / t, &stage.blocks));
        store(lo, _mm512_permutex2var_epi64(x, merge_a, y));
        store(hi, _mm512_permutex2var_epi64(x, merge_b, y));
    }
}

/// One stage of pairs `t ≥ 8` apart over `a` by `butterfly`, block `b` taking twiddle `first + b`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn wide_stage<const WIDE: bool>(
    a: &mut [u64],
    t: usize,
    (roots, shoups, first): (&[u64], &[u64], usize),
    butterfly: impl Fn(__m512i, __m512i, Twiddles) -> (__m512i, __m512i),
) {
    for (b, block) in a.chunks_exact_mut(2 * t).enumerate() {
        let w = broadcast::<WIDE>(roots, shoups, first + b);
        let (xs, ys) = block.split_at_mut(t);
        for (x, y) in xs.chunks_exact_mut(8).zip(ys.chunks_exact_mut(8)) {
            let (u, v) = butterfly(load(x), load(y), w);
            store(x, u);
            store(y, v);
        }
    }
}

/// The forward transform of [`super::NttTable::forward`] on `a` (`N ≥ 16` words in `[0, q)`), twiddles `roots`
/// and their 64-bit Shoup constants `shoups` (`N` each, bit-reversed order); output in `[0, q)`.
///
/// # Safety
/// The CPU must have AVX-512 F, DQ and IFMA ([`available`]).
///
/// # Panics
/// If `q ≥ 2^62`, `N < 16` or the lengths differ (programming errors: the caller checks all three).
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub unsafe fn forward(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64) {
    if q < IFMA_BOUND { forward_with::<false>(a, roots, shoups, q) } else { forward_with::<true>(a, roots, shoups, q) }
}

#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn forward_with<const WIDE: bool>(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64) {
    let n = a.len();
    assert!(q < 1 << 62 && n >= 16 && roots.len() == n && shoups.len() == n);
    let l = Lanes { q: _mm512_set1_epi64(q as i64), two_q: _mm512_set1_epi64(2 * q as i64) };
    let (mut m, mut t) = (1, n / 2);
    while t >= 8 {
        wide_stage::<WIDE>(a, t, (roots, shoups, m), |x, y, w| forward_butterfly::<WIDE>(x, y, w, l));
        (m, t) = (2 * m, t / 2);
    }
    for (t, stage) in &IN_REGISTER {
        let last = *t == 1;
        in_register_stage::<WIDE>(a, (*t, stage), (roots, shoups, m), |x, y, w| {
            let (u, v) = forward_butterfly::<WIDE>(x, y, w, l);
            if last {
                (reduce_once(reduce_once(u, l.two_q), l.q), reduce_once(reduce_once(v, l.two_q), l.q))
            } else {
                (u, v)
            }
        });
        m *= 2;
    }
}

/// The inverse transform of [`super::NttTable::inverse`] on `a` (`N ≥ 16` words in `[0, q)`, bit-reversed), with
/// the inverse twiddles `roots` and their 64-bit Shoup constants `shoups`, then times `N⁻¹` (`degree_inv` and its
/// 64-bit Shoup constant); output in `[0, q)`.
///
/// # Safety
/// The CPU must have AVX-512 F, DQ and IFMA ([`available`]).
///
/// # Panics
/// As [`forward`].
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
pub unsafe fn inverse(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64, degree_inv: (u64, u64)) {
    if q < IFMA_BOUND {
        inverse_with::<false>(a, roots, shoups, q, degree_inv)
    } else {
        inverse_with::<true>(a, roots, shoups, q, degree_inv)
    }
}

#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inverse_with<const WIDE: bool>(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64, degree_inv: (u64, u64)) {
    let n = a.len();
    assert!(q < 1 << 62 && n >= 16 && roots.len() == n && shoups.len() == n);
    let l = Lanes { q: _mm512_set1_epi64(q as i64), two_q: _mm512_set1_epi64(2 * q as i64) };
    let butterfly = |x, y, w| inverse_butterfly::<WIDE>(x, y, w, l);
    let mut h = n / 2;
    for (t, stage) in IN_REGISTER.iter().rev() {
        in_register_stage::<WIDE>(a, (*t, stage), (roots, shoups, h), butterfly);
        h /= 2;
    }
    let mut t = 8;
    while h >= 1 {
        wide_stage::<WIDE>(a, t, (roots, shoups, h), butterfly);
        (h, t) = (h / 2, 2 * t);
    }
    let (w, w_shoup) = (_mm512_set1_epi64(degree_inv.0 as i64), shoup::<WIDE>(_mm512_set1_epi64(degree_inv.1 as i64)));
    for x in a.chunks_exact_mut(8) {
        store(x, reduce_once(mul_shoup_lazy::<WIDE>(load(x), w, w_shoup, l.q), l.q));
    }
}
