//! The negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`.
//!
//! Forward: Cooley–Tukey butterflies with the powers of a primitive `2N`-th root `ψ` in bit-reversed order
//! (Longa–Naehrig 2016), so no separate bit-reversal pass is needed; the output is in bit-reversed order. Two
//! stages share each pass over the data (radix 4).
//! Inverse: Gentleman–Sande butterflies with `ψ^{-1}`, then multiplication by `N^{-1}`.
//! Both use Harvey's lazy butterflies (values kept in `[0, 4q)` resp. `[0, 2q)`, Shoup multiplication), which is
//! why moduli are below `2^62`. Inputs and outputs are fully reduced, in `[0, q)`.
//! On x86-64 the same butterflies run on four lanes with AVX2 ([`avx2`]) or eight with AVX-512 IFMA ([`avx512`]),
//! whichever [`kernels`](crate::math::kernels) selects, with the same outputs.
//!
//! The twiddle tables live in caller-provided storage `S` (`4N` words; see [`NttTable::words`]), so the
//! firmware can keep them in a static buffer; with the `alloc` feature, [`NttTable::new`] owns a `Vec`.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;

use super::kernels::KernelSet;
use super::prime::primitive_root;
use super::zq::Modulus;
use crate::{Error, Result};

/// Smallest and largest supported `log2(N)`.
pub const LOG_DEGREE_RANGE: core::ops::RangeInclusive<u32> = 1..=17;

/// Precomputed tables for the negacyclic NTT of degree `N` modulo one prime.
///
/// Storage layout, each part `N` words: `ψ^{brv(i)}`, their Shoup constants, `ψ^{-brv(i)}`, their Shoup constants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NttTable<S> {
    modulus: Modulus,
    log_degree: u32,
    degree_inv: u64,
    degree_inv_shoup: u64,
    twiddles: S,
}

impl<S> NttTable<S> {
    /// The number of storage words needed for degree `N`.
    pub const fn words(degree: usize) -> usize {
        4 * degree
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The degree `N`.
    pub fn degree(&self) -> usize {
        1 << self.log_degree
    }
}

#[cfg(feature = "alloc")]
impl NttTable<alloc::vec::Vec<u64>> {
    /// Builds owned tables for degree `N = 2^log_degree`.
    ///
    /// # Errors
    /// As [`NttTable::new_in`].
    pub fn new(modulus: Modulus, log_degree: u32) -> Result<Self> {
        let words = if LOG_DEGREE_RANGE.contains(&log_degree) { Self::words(1 << log_degree) } else { 0 };
        Self::new_in(modulus, log_degree, alloc::vec![0; words])
    }
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> NttTable<S> {
    /// Builds the tables for degree `N = 2^log_degree` in `storage` (exactly [`Self::words`]`(N)` words).
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] if `log_degree` is outside [`LOG_DEGREE_RANGE`], [`Error::InvalidModulus`] if the
    /// modulus is not a prime `≡ 1 (mod 2N)`, [`Error::BufferLength`] if the storage has the wrong length.
    pub fn new_in(modulus: Modulus, log_degree: u32, mut storage: S) -> Result<Self> {
        if !LOG_DEGREE_RANGE.contains(&log_degree) {
            return Err(Error::InvalidDegree { degree: 1usize.checked_shl(log_degree).unwrap_or(0) });
        }
        let n = 1usize << log_degree;
        let words = storage.as_mut();
        if words.len() != Self::words(n) {
            return Err(Error::BufferLength { expected: Self::words(n), actual: words.len() });
        }
        let invalid = Error::InvalidModulus { modulus: modulus.value() };
        let psi = primitive_root(&modulus, n).ok_or(invalid)?;
        let psi_inv = modulus.inv(psi).ok_or(invalid)?;
        let (forward, inverse) = words.split_at_mut(2 * n);
        fill_bit_reversed_powers(&modulus, psi, log_degree, forward);
        fill_bit_reversed_powers(&modulus, psi_inv, log_degree, inverse);
        let degree_inv = modulus.inv(n as u64).ok_or(invalid)?;
        Ok(Self { modulus, log_degree, degree_inv, degree_inv_shoup: modulus.shoup(degree_inv), twiddles: storage })
    }
}

/// Writes `root^{brv(i)}` into `out[..n]` and their Shoup constants into `out[n..2n]`.
fn fill_bit_reversed_powers(modulus: &Modulus, root: u64, log_degree: u32, out: &mut [u64]) {
    let n = 1usize << log_degree;
    let (powers, shoups) = out.split_at_mut(n);
    let mut power = 1;
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - log_degree);
        powers[j] = power;
        shoups[j] = modulus.shoup(power);
        power = modulus.mul(power, root);
    }
}

impl<S: AsRef<[u64]>> NttTable<S> {
    /// The same tables, borrowed.
    pub fn view(&self) -> NttTable<&[u64]> {
        NttTable {
            modulus: self.modulus,
            log_degree: self.log_degree,
            degree_inv: self.degree_inv,
            degree_inv_shoup: self.degree_inv_shoup,
            twiddles: self.twiddles.as_ref(),
        }
    }

    /// In-place forward negacyclic NTT of `a` (`N` coefficients in `[0, q)`); output in bit-reversed order.
    ///
    /// Stage `m` (`m = 1, 2, 4, …, N/2`) splits each of its `m` blocks by twiddle `m + b`. Two stages run per pass
    /// over `a` (radix 4) while three or more remain; the last stage also makes the final reduction.
    ///
    /// # Panics
    /// If `a.len() != N` (a programming error: every caller sizes polynomials from the same parameters).
    pub fn forward(&self, a: &mut [u64]) {
        assert_eq!(a.len(), self.degree(), "NTT input length");
        self.forward_on(crate::math::kernels::active(), a);
    }

    /// [`Self::forward`] on the lanes of `set` where the degree fills two of its vectors (`N ≥ 16` for eight
    /// lanes, `N ≥ 8` for four), else one word at a time.
    ///
    /// # Panics
    /// If this CPU lacks `set`'s instructions.
    fn forward_on(&self, set: KernelSet, a: &mut [u64]) {
        assert!(set.supported(), "{set} kernels on a CPU without them");
        #[cfg(target_arch = "x86_64")]
        {
            let (roots, shoups) = self.twiddles.as_ref()[..2 * a.len()].split_at(a.len());
            let q = self.modulus.value();
            match (set, self.log_degree) {
                // SAFETY: the CPU has the set's instructions (asserted above).
                (KernelSet::Avx512Ifma, 4..) => return unsafe { avx512::forward(a, roots, shoups, q) },
                // SAFETY: as above; AVX-512 IFMA includes AVX2.
                (KernelSet::Avx512Ifma | KernelSet::Avx2, 3..) => return unsafe { avx2::forward(a, roots, shoups, q) },
                _ => {}
            }
        }
        self.forward_scalar(a);
    }

    /// [`Self::forward`] one word at a time.
    fn forward_scalar(&self, a: &mut [u64]) {
        let n = self.degree();
        let q = self.modulus.value();
        let two_q = 2 * q;
        let (roots, rest) = self.twiddles.as_ref().split_at(n);
        let twiddle = |i: usize| (roots[i], rest[i]);
        let modulus = self.modulus;
        // Inputs below 4q, outputs below 4q.
        let butterfly = |x: u64, y: u64, (w, w_shoup): (u64, u64)| {
            let u = reduce_once(x, two_q);
            let v = modulus.mul_shoup_lazy(y, w, w_shoup);
            (u + v, u + two_q - v)
        };
        let mut m = 1;
        while 8 * m <= n {
            let quarter = n / (4 * m);
            for (b, block) in a.chunks_exact_mut(4 * quarter).enumerate() {
                let (outer, left, right) = (twiddle(m + b), twiddle(2 * m + 2 * b), twiddle(2 * m + 2 * b + 1));
                let (x01, x23) = block.split_at_mut(2 * quarter);
                let (x0, x1) = x01.split_at_mut(quarter);
                let (x2, x3) = x23.split_at_mut(quarter);
                for (((p0, p1), p2), p3) in x0.iter_mut().zip(x1).zip(x2).zip(x3) {
                    let (y0, y2) = butterfly(*p0, *p2, outer);
                    let (y1, y3) = butterfly(*p1, *p3, outer);
                    (*p0, *p1) = butterfly(y0, y1, left);
                    (*p2, *p3) = butterfly(y2, y3, right);
                }
            }
            m *= 4;
        }
        if 4 * m == n {
            for (b, block) in a.chunks_exact_mut(4).enumerate() {
                let w = twiddle(m + b);
                (block[0], block[2]) = butterfly(block[0], block[2], w);
                (block[1], block[3]) = butterfly(block[1], block[3], w);
            }
            m *= 2;
        }
        for (b, pair) in a.chunks_exact_mut(2).enumerate() {
            let (x, y) = butterfly(pair[0], pair[1], twiddle(m + b));
            pair[0] = reduce_once(reduce_once(x, two_q), q);
            pair[1] = reduce_once(reduce_once(y, two_q), q);
        }
    }

    /// In-place inverse of [`Self::forward`]: input in bit-reversed order, output coefficients in `[0, q)`.
    ///
    /// # Panics
    /// If `a.len() != N`.
    pub fn inverse(&self, a: &mut [u64]) {
        assert_eq!(a.len(), self.degree(), "inverse NTT input length");
        self.inverse_on(crate::math::kernels::active(), a);
    }

    /// [`Self::inverse`] on the lanes of `set`, as [`Self::forward_on`].
    ///
    /// # Panics
    /// If this CPU lacks `set`'s instructions.
    fn inverse_on(&self, set: KernelSet, a: &mut [u64]) {
        assert!(set.supported(), "{set} kernels on a CPU without them");
        #[cfg(target_arch = "x86_64")]
        {
            let (roots, shoups) = self.twiddles.as_ref()[2 * a.len()..].split_at(a.len());
            let (q, degree_inv) = (self.modulus.value(), (self.degree_inv, self.degree_inv_shoup));
            match (set, self.log_degree) {
                // SAFETY: the CPU has the set's instructions (asserted above).
                (KernelSet::Avx512Ifma, 4..) => return unsafe { avx512::inverse(a, roots, shoups, q, degree_inv) },
                // SAFETY: as above; AVX-512 IFMA includes AVX2.
                (KernelSet::Avx512Ifma | KernelSet::Avx2, 3..) => {
                    return unsafe { avx2::inverse(a, roots, shoups, q, degree_inv) };
                }
                _ => {}
            }
        }
        self.inverse_scalar(a);
    }

    /// [`Self::inverse`] one word at a time.
    fn inverse_scalar(&self, a: &mut [u64]) {
        let n = self.degree();
        let q = self.modulus.value();
        let two_q = 2 * q;
        let tables = &self.twiddles.as_ref()[2 * n..];
        let (roots, roots_shoup) = tables.split_at(n);
        let modulus = self.modulus;
        let mut half = 1;
        let mut m = n;
        while m > 1 {
            let h = m >> 1;
            let stage = roots[h..m].iter().zip(&roots_shoup[h..m]);
            for (block, (&w, &w_shoup)) in a.chunks_exact_mut(2 * half).zip(stage) {
                let (lo, hi) = block.split_at_mut(half);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let (u, v) = (*x, *y);
                    *x = reduce_once(u + v, two_q);
                    *y = modulus.mul_shoup_lazy(u + two_q - v, w, w_shoup);
                }
            }
            half <<= 1;
            m = h;
        }
        for x in a.iter_mut() {
            *x = modulus.mul_shoup(*x, self.degree_inv, self.degree_inv_shoup);
        }
    }
}

/// `x - bound` if `x ≥ bound`, else `x` (branch-free).
#[inline(always)]
fn reduce_once(x: u64, bound: u64) -> u64 {
    x.min(x.wrapping_sub(bound))
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use crate::math::prime::NttPrimes;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Schoolbook product in `Z_q[X]/(X^N + 1)`.
    fn negacyclic_schoolbook(m: &Modulus, a: &[u64], b: &[u64]) -> Vec<u64> {
        let n = a.len();
        let mut c = alloc::vec![0u64; n];
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in b.iter().enumerate() {
                let p = m.mul(x, y);
                let k = i + j;
                c[k % n] = if k < n { m.add(c[k % n], p) } else { m.sub(c[k % n], p) };
            }
        }
        c
    }

    fn table(bits: u32, log_n: u32) -> NttTable<Vec<u64>> {
        let q = NttPrimes::new(bits, 1 << log_n).next().unwrap();
        NttTable::new(Modulus::new(q).unwrap(), log_n).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn product_matches_schoolbook(log_n in 1u32..=7, bits in prop::sample::select(&[20u32, 40, 55, 61][..]), seed in any::<u64>()) {
            let t = table(bits, log_n);
            let n = t.degree();
            let q = t.modulus().value();
            let mut x = seed;
            let mut next = || { x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (x >> 1) % q };
            let a: Vec<u64> = (0..n).map(|_| next()).collect();
            let b: Vec<u64> = (0..n).map(|_| next()).collect();
            let want = negacyclic_schoolbook(t.modulus(), &a, &b);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            t.forward(&mut fa);
            t.forward(&mut fb);
            let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| t.modulus().mul(x, y)).collect();
            t.inverse(&mut c);
            prop_assert_eq!(c, want);
        }

        #[test]
        fn inverse_undoes_forward_at_large_degree(log_n in 10u32..=14, seed in any::<u64>()) {
            let t = table(61, log_n);
            let q = t.modulus().value();
            let a: Vec<u64> = (0..t.degree() as u64).map(|i| (i.wrapping_mul(seed) ^ seed) % q).collect();
            let mut b = a.clone();
            t.forward(&mut b);
            prop_assert!(b.iter().all(|&v| v < q));
            t.inverse(&mut b);
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn lane_transforms_equal_the_scalar_ones_word_for_word() {
        extern crate std;
        for set in [KernelSet::Avx2, KernelSet::Avx512Ifma] {
            if !set.supported() {
                std::eprintln!("NOT RUN: this CPU lacks the {set} instructions, so their NTT is never taken here");
                continue;
            }
            for log_n in 1..=13 {
                let step = 2u64 << log_n;
                // Both sides of IFMA's 2^50 bound (the lazy values right under its 52-bit inputs, or just too large
                // for them), both sides of 2^32 (the four-lane products' halves), and the largest modulus taken.
                let bound = 1 << 50;
                let below = NttPrimes::new(50, 1 << log_n).find(|&q| q < bound).unwrap();
                let above = NttPrimes::new(50, 1 << log_n).find(|&q| q > bound).unwrap();
                let largest =
                    (1..).map(|k| (1 << 62) - k * step + 1).find(|&q| crate::math::prime::is_prime(q)).unwrap();
                let usual = [20, 30, 32, 33, 40, 55, 60, 61]
                    .map(|bits| (bits, NttPrimes::new(bits, 1 << log_n).next().unwrap()));
                for (bits, q) in usual.into_iter().chain([(50, below), (51, above), (62, largest)]) {
                    let t = NttTable::new(Modulus::new(q).unwrap(), log_n).unwrap();
                    let n = t.degree() as u64;
                    let inputs = [
                        (0..n).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % q).collect::<Vec<u64>>(),
                        alloc::vec![q - 1; n as usize],
                        (0..n).map(|i| if i % 3 == 0 { q - 1 } else { i % 2 }).collect(),
                    ];
                    for a in &inputs {
                        let (mut lanes, mut scalar) = (a.clone(), a.clone());
                        t.forward_on(set, &mut lanes);
                        t.forward_scalar(&mut scalar);
                        assert_eq!(lanes, scalar, "{set} forward, N = {n}, {bits}-bit q");
                        t.inverse_on(set, &mut lanes);
                        t.inverse_scalar(&mut scalar);
                        assert_eq!(lanes, scalar, "{set} inverse, N = {n}, {bits}-bit q");
                        assert_eq!(&lanes, a, "{set} round trip, N = {n}, {bits}-bit q");
                    }
                }
            }
        }
    }

    #[test]
    fn lane_transforms_equal_the_scalar_ones_for_every_prime_of_every_preset() {
        extern crate std;
        let log_n = 10;
        for set in [KernelSet::Avx2, KernelSet::Avx512Ifma] {
            if !set.supported() {
                std::eprintln!("NOT RUN: this CPU lacks the {set} instructions, so their NTT is never taken here");
                continue;
            }
            for literal in crate::ckks::presets::ALL {
                for &q in literal.q.iter().chain(literal.p) {
                    let t = NttTable::new(Modulus::new(q).unwrap(), log_n).unwrap();
                    let a: Vec<u64> =
                        (0..1u64 << log_n).map(|i| (i ^ q).wrapping_mul(0x9E37_79B9_7F4A_7C15) % q).collect();
                    let (mut lanes, mut scalar) = (a.clone(), a.clone());
                    t.forward_on(set, &mut lanes);
                    t.forward_scalar(&mut scalar);
                    assert_eq!(lanes, scalar, "{set} forward, {} prime {q:#x}", literal.name);
                    t.inverse_on(set, &mut lanes);
                    t.inverse_scalar(&mut scalar);
                    assert_eq!((&lanes, &scalar), (&a, &a), "{set} inverse, {} prime {q:#x}", literal.name);
                }
            }
        }
    }

    #[test]
    fn forward_evaluates_at_the_odd_powers_of_psi_in_bit_reversed_order() {
        // A known-answer check independent of the inverse: slot i holds a(ψ^{2·brv(i)+1}), for odd and even
        // stage counts (the radix-4 passes and the radix-2 tail) and inputs up to q - 1.
        for (log_n, bits) in (1..=9).flat_map(|log_n| [(log_n, 61), (log_n, 40)]) {
            let t = table(bits, log_n);
            let m = *t.modulus();
            let n = 1usize << log_n;
            let psi = primitive_root(&m, n).unwrap();
            let a: Vec<u64> =
                (0..n as u64).map(|i| m.value() - 1 - i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1000).collect();
            let mut transformed = a.clone();
            t.forward(&mut transformed);
            for (i, &v) in transformed.iter().enumerate() {
                let brv = i.reverse_bits() >> (usize::BITS - log_n);
                let point = m.pow(psi, 2 * brv as u64 + 1);
                let want = a.iter().rev().fold(0, |acc, &c| m.add(m.mul(acc, point), c));
                assert_eq!(v, want, "N = {n}, {bits}-bit q, slot {i}");
            }
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let m = Modulus::new(97).unwrap();
        assert_eq!(NttTable::new(m, 10), Err(Error::InvalidModulus { modulus: 97 }));
        assert_eq!(NttTable::new(m, 0), Err(Error::InvalidDegree { degree: 1 }));
        assert_eq!(NttTable::new(m, 40).unwrap_err(), Error::InvalidDegree { degree: 1 << 40 });
        let q = NttPrimes::new(30, 16).next().unwrap();
        let buf = [0u64; 10];
        assert_eq!(
            NttTable::new_in(Modulus::new(q).unwrap(), 4, buf).unwrap_err(),
            Error::BufferLength { expected: 64, actual: 10 }
        );
    }
}
