//! The NTT's butterflies on eight lanes ([`crate::math::lanes::avx512`]), for every modulus the scalar transform takes.
//!
//! Same stages, twiddles and value ranges as the scalar transform (Harvey's butterflies), so the outputs are
//! equal word for word.
//! Stages whose pairs lie 8 or more words apart load their `x` and `y` halves directly; the three stages of pairs
//! 4, 2 and 1 apart take two vectors at a time, split into their `x` and `y` lanes by one permutation each and
//! merged back by two more.

use crate::math::lanes::avx512::{IFMA_BOUND, load, mul_shoup_lazy, reduce_once, shoup, store};
use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_loadu_epi64, _mm512_permutex2var_epi64, _mm512_permutexvar_epi64,
    _mm512_set1_epi64, _mm512_sub_epi64,
};

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

#[inline]
#[target_feature(enable = "avx512f")]
fn indices(i: &[i64; 8]) -> __m512i {
    // SAFETY: eight words are readable at the pointer.
    unsafe { _mm512_loadu_epi64(i.as_ptr()) }
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
/// The CPU must have AVX-512 F, DQ and IFMA ([`crate::math::kernels::KernelSet::Avx512Ifma`]).
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
/// The CPU must have AVX-512 F, DQ and IFMA ([`crate::math::kernels::KernelSet::Avx512Ifma`]).
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
