//! The negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`.
//!
//! Forward: Cooley–Tukey butterflies with the powers of a primitive `2N`-th root `ψ` in bit-reversed order
//! (Longa–Naehrig 2016), so no separate bit-reversal pass is needed; the output is in bit-reversed order.
//! Inverse: Gentleman–Sande butterflies with `ψ^{-1}`, then multiplication by `N^{-1}`.
//! Both use Harvey's lazy butterflies (values kept in `[0, 4q)` resp. `[0, 2q)`, Shoup multiplication), which is
//! why moduli are below `2^62`. Inputs and outputs are fully reduced, in `[0, q)`.
//!
//! The twiddle tables live in caller-provided storage `S` (`4N` words; see [`NttTable::words`]), so the
//! firmware can keep them in a static buffer; with the `alloc` feature, [`NttTable::new`] owns a `Vec`.

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
    /// # Panics
    /// If `a.len() != N` (a programming error: every caller sizes polynomials from the same parameters).
    pub fn forward(&self, a: &mut [u64]) {
        let n = self.degree();
        assert_eq!(a.len(), n, "NTT input length");
        let q = self.modulus.value();
        let two_q = 2 * q;
        let (roots, rest) = self.twiddles.as_ref().split_at(n);
        let roots_shoup = &rest[..n];
        let modulus = self.modulus;
        let mut half = n;
        let mut m = 1;
        while m < n {
            half >>= 1;
            let stage = roots[m..2 * m].iter().zip(&roots_shoup[m..2 * m]);
            for (block, (&w, &w_shoup)) in a.chunks_exact_mut(2 * half).zip(stage) {
                let (lo, hi) = block.split_at_mut(half);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let u = reduce_once(*x, two_q);
                    let v = modulus.mul_shoup_lazy(*y, w, w_shoup);
                    *x = u + v;
                    *y = u + two_q - v;
                }
            }
            m <<= 1;
        }
        for x in a.iter_mut() {
            *x = reduce_once(reduce_once(*x, two_q), q);
        }
    }

    /// In-place inverse of [`Self::forward`]: input in bit-reversed order, output coefficients in `[0, q)`.
    ///
    /// # Panics
    /// If `a.len() != N`.
    pub fn inverse(&self, a: &mut [u64]) {
        let n = self.degree();
        assert_eq!(a.len(), n, "inverse NTT input length");
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
    fn transform_of_x_is_the_odd_powers_of_psi() {
        // NTT(X) evaluates X at ψ^{2·brv(i)+1}: a known-answer check independent of the inverse.
        let t = table(30, 4);
        let m = *t.modulus();
        let psi = primitive_root(&m, 16).unwrap();
        let mut a = [0u64; 16];
        a[1] = 1;
        t.forward(&mut a);
        for (i, &v) in a.iter().enumerate() {
            let brv = i.reverse_bits() >> (usize::BITS - 4);
            assert_eq!(v, m.pow(psi, 2 * brv as u64 + 1));
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
