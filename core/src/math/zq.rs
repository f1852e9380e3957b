//! Arithmetic in `Z_q` for a word-size prime `q < 2^62`.
//!
//! Products are reduced with Barrett reduction (a precomputed `floor(2^128 / q)`), multiplications by a fixed
//! operand with Shoup's method (a precomputed `floor(w · 2^64 / q)`). The bound `q < 2^62` leaves the two spare
//! bits that Harvey's lazy NTT butterflies need (values kept in `[0, 4q)`).

use crate::{Error, Result};

/// The largest modulus bit size supported: `q < 2^MAX_MODULUS_BITS`.
pub const MAX_MODULUS_BITS: u32 = 62;

/// The most primes an RNS basis (ciphertext and special primes together) may have. It bounds the stack buffers
/// of [`rns`](super::rns) and of the vector lanes, so it lives here, below both.
pub const MAX_MODULI: usize = 64;

/// A modulus `q` with `2 ≤ q < 2^62` and its Barrett constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Modulus {
    q: u64,
    /// `floor(2^128 / q)`, low and high words.
    ratio: [u64; 2],
}

impl Modulus {
    /// Builds the modulus `q`.
    ///
    /// # Errors
    /// [`Error::InvalidModulus`] unless `2 ≤ q < 2^62`.
    pub const fn new(q: u64) -> Result<Self> {
        if q < 2 || q >> MAX_MODULUS_BITS != 0 {
            return Err(Error::InvalidModulus { modulus: q });
        }
        // floor(2^128 / q) = floor((2^128 - 1) / q) because q is not a power of two above 1 or divides exactly.
        let ratio = if q.is_power_of_two() { 1u128 << (128 - q.trailing_zeros()) } else { u128::MAX / q as u128 };
        Ok(Self { q, ratio: [ratio as u64, (ratio >> 64) as u64] })
    }

    /// The modulus `q`.
    #[inline]
    pub const fn value(&self) -> u64 {
        self.q
    }

    /// The bit size of `q`.
    pub const fn bits(&self) -> u32 {
        64 - self.q.leading_zeros()
    }

    /// `a + b mod q` for `a, b < q`.
    #[inline]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        let s = a + b;
        s.min(s.wrapping_sub(self.q))
    }

    /// `a - b mod q` for `a, b < q`.
    #[inline]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        let (d, borrow) = a.overflowing_sub(b);
        d.wrapping_add(self.q & (borrow as u64).wrapping_neg())
    }

    /// `-a mod q` for `a < q`.
    #[inline]
    pub fn neg(&self, a: u64) -> u64 {
        debug_assert!(a < self.q);
        (self.q - a).min(a.wrapping_neg())
    }

    /// `x mod q` for any `x < 2^128`, by Barrett reduction.
    #[inline]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        let (x_lo, x_hi) = (x as u64, (x >> 64) as u64);
        let [r_lo, r_hi] = self.ratio;
        // floor(x · ratio / 2^128), up to an error of at most 2 (the dropped low-word carries).
        let carry = mul_high(x_lo, r_lo);
        let mid1 = mul_wide(x_lo, r_hi) + carry as u128;
        let mid2 = mul_wide(x_hi, r_lo);
        let mid = (mid1 as u64 as u128) + (mid2 as u64 as u128);
        let quotient = x_hi.wrapping_mul(r_hi) as u128 + (mid1 >> 64) + (mid2 >> 64) + (mid >> 64);
        let mut r = (x as u64).wrapping_sub((quotient as u64).wrapping_mul(self.q));
        if r >= self.q {
            r -= self.q;
        }
        if r >= self.q {
            r -= self.q;
        }
        r
    }

    /// `x mod q` for any `x < 2^64`: one-word Barrett with `floor(2^64 / q)` (the high word of the 128-bit ratio).
    #[inline]
    pub fn reduce(&self, x: u64) -> u64 {
        // The quotient estimate is at most 2 below the true one (truncated ratio and product).
        let quotient = mul_high(x, self.ratio[1]);
        let mut r = x.wrapping_sub(quotient.wrapping_mul(self.q));
        if r >= self.q {
            r -= self.q;
        }
        if r >= self.q {
            r -= self.q;
        }
        r
    }

    /// `a · b mod q` for `a, b < 2^64` (not necessarily reduced).
    #[inline]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(mul_wide(a, b))
    }

    /// Shoup's precomputation for a fixed multiplicand `w < q`: `floor(w · 2^64 / q)`.
    #[inline]
    pub const fn shoup(&self, w: u64) -> u64 {
        debug_assert!(w < self.q);
        (((w as u128) << 64) / self.q as u128) as u64
    }

    /// `a · w mod q` in `[0, 2q)`, for any `a < 2^64` and `w < q` with `w_shoup = self.shoup(w)`.
    #[inline]
    pub fn mul_shoup_lazy(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        let quotient = mul_high(a, w_shoup);
        a.wrapping_mul(w).wrapping_sub(quotient.wrapping_mul(self.q))
    }

    /// `a · w mod q` in `[0, q)`, for any `a < 2^64` and `w < q` with `w_shoup = self.shoup(w)`.
    #[inline]
    pub fn mul_shoup(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        let r = self.mul_shoup_lazy(a, w, w_shoup);
        if r >= self.q { r - self.q } else { r }
    }

    /// `a^e mod q`.
    pub fn pow(&self, a: u64, mut e: u64) -> u64 {
        let mut base = self.reduce(a);
        let mut acc = 1 % self.q;
        while e > 0 {
            if e & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        acc
    }

    /// `a^{-1} mod q` for prime `q`, or `None` when `a ≡ 0`.
    pub fn inv(&self, a: u64) -> Option<u64> {
        if self.reduce(a) == 0 { None } else { Some(self.pow(a, self.q - 2)) }
    }

    /// Reduces a signed integer: the representative of `x` in `[0, q)`.
    #[inline]
    pub fn from_i64(&self, x: i64) -> u64 {
        let r = self.reduce(x.unsigned_abs());
        if x < 0 { self.neg(r) } else { r }
    }

    /// The centered representative of `a < q`, in `(-q/2, q/2]`.
    #[inline]
    pub const fn center(&self, a: u64) -> i64 {
        if a > self.q / 2 { a as i64 - self.q as i64 } else { a as i64 }
    }
}

/// The 128-bit product `a · b` (one scalar `mul` on x86-64, see [`mul_high`]).
#[inline(always)]
pub fn mul_wide(a: u64, b: u64) -> u128 {
    #[cfg(target_arch = "x86_64")]
    {
        let (low, high): (u64, u64);
        // SAFETY: `mul` reads rax and its operand and writes rdx:rax; no memory is touched.
        unsafe {
            core::arch::asm!("mul {b}", b = in(reg) b, inout("rax") a => low, out("rdx") high, options(pure, nomem, nostack));
        }
        ((high as u128) << 64) | low as u128
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        a as u128 * b as u128
    }
}

/// The high word of the 128-bit product `a · b`.
///
/// On x86-64 this is one scalar `mul`, kept opaque to the auto-vectorizer: without AVX-512 it otherwise emulates
/// 64-bit products with SSE2 `pmuludq` sequences, which measured 1.7× slower in the NTT.
#[inline(always)]
pub fn mul_high(a: u64, b: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let high: u64;
        // SAFETY: `mul` reads rax and its operand and writes rdx:rax; no memory is touched.
        unsafe {
            core::arch::asm!("mul {b}", b = in(reg) b, inout("rax") a => _, out("rdx") high, options(pure, nomem, nostack));
        }
        high
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        ((a as u128 * b as u128) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Primes checked with an independent tool: `2^62 - 57`, `2^61 - 1`, and NTT primes for `N = 2^17` of 62 and 40 bits.
    const PRIMES: [u64; 4] = [0x3fff_ffff_ffff_ffc7, (1 << 61) - 1, 0x3fff_ffff_ffe8_0001, 0xff_ffe8_0001];

    fn any_modulus() -> impl Strategy<Value = Modulus> {
        (2u64..(1 << 62)).prop_map(|q| Modulus::new(q).unwrap())
    }

    proptest! {
        #[test]
        fn reduce_u128_matches_remainder(m in any_modulus(), x in any::<u128>()) {
            prop_assert_eq!(m.reduce_u128(x) as u128, x % m.value() as u128);
            prop_assert_eq!(m.reduce(x as u64), (x as u64) % m.value());
        }

        #[test]
        fn shoup_matches_barrett(m in any_modulus(), a in any::<u64>(), w in any::<u64>()) {
            let w = w % m.value();
            let lazy = m.mul_shoup_lazy(a, w, m.shoup(w));
            prop_assert!(lazy < 2 * m.value());
            prop_assert_eq!(m.mul_shoup(a, w, m.shoup(w)), m.mul(a, w));
            prop_assert_eq!(m.mul(a, w) as u128, (a as u128 * w as u128) % m.value() as u128);
        }

        #[test]
        fn add_sub_neg(m in any_modulus(), a in any::<u64>(), b in any::<u64>()) {
            let (a, b) = (a % m.value(), b % m.value());
            let q = m.value() as u128;
            prop_assert_eq!(m.add(a, b) as u128, (a as u128 + b as u128) % q);
            prop_assert_eq!(m.sub(m.add(a, b), b), a);
            prop_assert_eq!(m.add(a, m.neg(a)), 0);
        }

        #[test]
        fn inverse_of_prime_modulus(i in 0usize..4, a in 1u64..u64::MAX) {
            let m = Modulus::new(PRIMES[i]).unwrap();
            prop_assume!(a % m.value() != 0);
            prop_assert_eq!(m.mul(a, m.inv(a).unwrap()), 1);
        }

        #[test]
        fn signed_round_trip(m in any_modulus(), x in any::<i64>()) {
            let r = m.from_i64(x);
            prop_assert_eq!(r as i128, (x as i128).rem_euclid(m.value() as i128));
            let c = m.center(r) as i128;
            prop_assert!(c * 2 > -(m.value() as i128) && c * 2 <= m.value() as i128);
            prop_assert_eq!((c - x as i128).rem_euclid(m.value() as i128), 0);
        }
    }

    #[test]
    fn extreme_operands() {
        for q in [2, 3, (1 << 62) - 57, (1 << 61) - 1, 1 << 40] {
            let m = Modulus::new(q).unwrap();
            let x = (q as u128 - 1) * (q as u128 - 1);
            assert_eq!(m.reduce_u128(x) as u128, x % q as u128);
            assert_eq!(m.reduce_u128(u128::MAX) as u128, u128::MAX % q as u128);
            assert_eq!(m.reduce(u64::MAX), u64::MAX % q);
            assert_eq!(m.reduce(q - 1), q - 1);
            assert_eq!(m.reduce(q), 0);
        }
        assert_eq!(Modulus::new(1 << 62), Err(Error::InvalidModulus { modulus: 1 << 62 }));
        assert_eq!(Modulus::new(1), Err(Error::InvalidModulus { modulus: 1 }));
    }
}
