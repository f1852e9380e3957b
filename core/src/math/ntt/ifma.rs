//! The NTT's butterflies on eight lanes with AVX-512 IFMA (52-bit multiply-accumulate), for moduli below
//! [`MODULUS_BOUND`] `= 2^50`: the lazy values (below `4q`) then fit the multiplier's 52-bit inputs.
//!
//! Same stages, twiddles and value ranges as the scalar transform (Harvey's butterflies; Shoup multiplication by
//! `⌊w·2^52/q⌋`, the scalar table's `⌊w·2^64/q⌋` shifted right by 12), so the outputs are equal word for word.
//! Stages whose pairs lie 8 or more words apart load their `x` and `y` halves directly; the three stages of pairs
//! 4, 2 and 1 apart take two vectors at a time, split into their `x` and `y` lanes by one permutation each and
//! merged back by two more.

use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_epi64, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64,
    _mm512_min_epu64, _mm512_permutex2var_epi64, _mm512_permutexvar_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
    _mm512_srli_epi64, _mm512_storeu_epi64, _mm512_sub_epi64,
};

/// Moduli below this take the vector path.
pub const MODULUS_BOUND: u64 = 1 << 50;

/// Whether this CPU has AVX-512F and IFMA (at compile time only, without the `std` feature).
pub fn available() -> bool {
    #[cfg(feature = "std")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(feature = "std"))]
    {
        cfg!(all(target_feature = "avx512f", target_feature = "avx512ifma"))
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

/// `y·w mod q` in `[0, 2q)` for `y < 2^52`, `w < q` and `w_shoup = ⌊w·2^52/q⌋`: `y·w − ⌊y·w_shoup/2^52⌋·q`,
/// which is below `2q < 2^52`, so its low 52 bits are all of it.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_shoup_lazy(y: __m512i, w: __m512i, w_shoup: __m512i, q: __m512i) -> __m512i {
    let zero = _mm512_setzero_si512();
    let quotient = _mm512_madd52hi_epu64(zero, w_shoup, y);
    let product = _mm512_madd52lo_epu64(zero, w, y);
    let multiple = _mm512_madd52lo_epu64(zero, quotient, q);
    _mm512_and_si512(_mm512_sub_epi64(product, multiple), _mm512_set1_epi64((1 << 52) - 1))
}

/// Cooley–Tukey: `(x, y) ↦ (x + wy, x − wy)`, inputs and outputs below `4q`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn forward_butterfly(x: __m512i, y: __m512i, w: (__m512i, __m512i), l: Lanes) -> (__m512i, __m512i) {
    let u = reduce_once(x, l.two_q);
    let v = mul_shoup_lazy(y, w.0, w.1, l.q);
    (_mm512_add_epi64(u, v), _mm512_sub_epi64(_mm512_add_epi64(u, l.two_q), v))
}

/// Gentleman–Sande: `(x, y) ↦ (x + y, (x − y)·w)`, inputs and outputs below `2q`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn inverse_butterfly(x: __m512i, y: __m512i, w: (__m512i, __m512i), l: Lanes) -> (__m512i, __m512i) {
    let sum = reduce_once(_mm512_add_epi64(x, y), l.two_q);
    let difference = _mm512_sub_epi64(_mm512_add_epi64(x, l.two_q), y);
    (sum, mul_shoup_lazy(difference, w.0, w.1, l.q))
}

/// Twiddle `i` and its 52-bit Shoup constant in every lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn broadcast(roots: &[u64], shoups: &[u64], i: usize) -> (__m512i, __m512i) {
    (_mm512_set1_epi64(roots[i] as i64), _mm512_srli_epi64::<12>(_mm512_set1_epi64(shoups[i] as i64)))
}

/// Twiddles `first + blocks[k]` in lane `k` (the eight from `first` must exist).
#[inline]
#[target_feature(enable = "avx512f")]
fn spread(roots: &[u64], shoups: &[u64], first: usize, blocks: &[i64; 8]) -> (__m512i, __m512i) {
    let lanes = indices(blocks);
    let pick = |table: &[u64]| _mm512_permutexvar_epi64(lanes, load(&table[first..]));
    (pick(roots), _mm512_srli_epi64::<12>(pick(shoups)))
}

/// One stage of pairs `t < 8` apart over `a` in chunks of 16 words, block `b` of the stage (pairs `(2tb + j,
/// 2tb + j + t)`) taking twiddle `first + b`; `finish` is applied to both halves of every butterfly's output.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn in_register_stage(
    a: &mut [u64],
    (t, stage): (usize, &InRegister),
    (roots, shoups, first): (&[u64], &[u64], usize),
    butterfly: impl Fn(__m512i, __m512i, (__m512i, __m512i)) -> (__m512i, __m512i),
) {
    let [split_x, split_y] = stage.split.each_ref().map(|i| indices(i));
    let [merge_a, merge_b] = stage.merge.each_ref().map(|i| indices(i));
    for (c, chunk) in a.chunks_exact_mut(16).enumerate() {
        let (lo, hi) = chunk.split_at_mut(8);
        let (va, vb) = (load(lo), load(hi));
        let x = _mm512_permutex2var_epi64(va, split_x, vb);
        let y = _mm512_permutex2var_epi64(va, split_y, vb);
        let (x, y) = butterfly(x, y, spread(roots, shoups, first + c * 8 / t, &stage.blocks));
        store(lo, _mm512_permutex2var_epi64(x, merge_a, y));
        store(hi, _mm512_permutex2var_epi64(x, merge_b, y));
    }
}

/// The forward transform of [`super::NttTable::forward`] on `a` (`N ≥ 16` words in `[0, q)`), twiddles `roots`
/// and their 64-bit Shoup constants `shoups` (`N` each, bit-reversed order); output in `[0, q)`.
///
/// # Safety
/// The CPU must have AVX-512F and IFMA ([`available`]).
///
/// # Panics
/// If `q ≥ 2^50`, `N < 16` or the lengths differ (programming errors: the caller checks all three).
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn forward(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64) {
    let n = a.len();
    assert!(q < MODULUS_BOUND && n >= 16 && roots.len() == n && shoups.len() == n);
    let l = Lanes { q: _mm512_set1_epi64(q as i64), two_q: _mm512_set1_epi64(2 * q as i64) };
    let (mut m, mut t) = (1, n / 2);
    while t >= 8 {
        for (b, block) in a.chunks_exact_mut(2 * t).enumerate() {
            let w = broadcast(roots, shoups, m + b);
            let (xs, ys) = block.split_at_mut(t);
            for (x, y) in xs.chunks_exact_mut(8).zip(ys.chunks_exact_mut(8)) {
                let (u, v) = forward_butterfly(load(x), load(y), w, l);
                store(x, u);
                store(y, v);
            }
        }
        (m, t) = (2 * m, t / 2);
    }
    for (t, stage) in &IN_REGISTER {
        let last = *t == 1;
        in_register_stage(a, (*t, stage), (roots, shoups, m), |x, y, w| {
            let (u, v) = forward_butterfly(x, y, w, l);
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
/// The CPU must have AVX-512F and IFMA ([`available`]).
///
/// # Panics
/// As [`forward`].
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn inverse(a: &mut [u64], roots: &[u64], shoups: &[u64], q: u64, degree_inv: (u64, u64)) {
    let n = a.len();
    assert!(q < MODULUS_BOUND && n >= 16 && roots.len() == n && shoups.len() == n);
    let l = Lanes { q: _mm512_set1_epi64(q as i64), two_q: _mm512_set1_epi64(2 * q as i64) };
    let mut h = n / 2;
    for (t, stage) in IN_REGISTER.iter().rev() {
        in_register_stage(a, (*t, stage), (roots, shoups, h), |x, y, w| inverse_butterfly(x, y, w, l));
        h /= 2;
    }
    let mut t = 8;
    while h >= 1 {
        for (b, block) in a.chunks_exact_mut(2 * t).enumerate() {
            let w = broadcast(roots, shoups, h + b);
            let (xs, ys) = block.split_at_mut(t);
            for (x, y) in xs.chunks_exact_mut(8).zip(ys.chunks_exact_mut(8)) {
                let (u, v) = inverse_butterfly(load(x), load(y), w, l);
                store(x, u);
                store(y, v);
            }
        }
        (h, t) = (h / 2, 2 * t);
    }
    let scale = (_mm512_set1_epi64(degree_inv.0 as i64), _mm512_set1_epi64((degree_inv.1 >> 12) as i64));
    for x in a.chunks_exact_mut(8) {
        store(x, reduce_once(mul_shoup_lazy(load(x), scale.0, scale.1, l.q), l.q));
    }
}
