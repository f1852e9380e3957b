//! Primality and NTT-friendly primes.
//!
//! [`is_prime`] is a deterministic Miller–Rabin test for 64-bit integers (the first twelve prime bases suffice
//! below 3.3 · 10^24). [`NttPrimes`] walks the primes `q ≡ 1 (mod 2N)` closest to `2^bits`, alternating above
//! and below, so that a chain of rescaling primes keeps the CKKS scale near `2^bits`.

use super::zq::{MAX_MODULUS_BITS, Modulus};

const WITNESSES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/// Whether `n` is prime (deterministic for every `u64`).
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for p in WITNESSES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let d_shift = (n - 1).trailing_zeros();
    let d = (n - 1) >> d_shift;
    let mul = |a: u64, b: u64| ((a as u128 * b as u128) % n as u128) as u64;
    let pow = |mut a: u64, mut e: u64| {
        let mut acc = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                acc = mul(acc, a);
            }
            a = mul(a, a);
            e >>= 1;
        }
        acc
    };
    'witness: for a in WITNESSES {
        let mut x = pow(a, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..d_shift {
            x = mul(x, x);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// Whether `q` is a prime below `2^62` with `q ≡ 1 (mod 2N)`, i.e. supports the negacyclic NTT of degree `N`.
pub fn is_ntt_prime(q: u64, degree: usize) -> bool {
    q >> MAX_MODULUS_BITS == 0 && (q - 1).is_multiple_of(2 * degree as u64) && is_prime(q)
}

/// The primes `q ≡ 1 (mod 2N)` nearest to `2^bits`, alternately above and below it, nearest first.
#[derive(Debug, Clone)]
pub struct NttPrimes {
    step: u64,
    up: Option<u64>,
    down: Option<u64>,
    take_up: bool,
}

impl NttPrimes {
    /// Primes for degree `N` near `2^bits` (`2N < 2^bits`, `bits ≤ 61`, so every prime is below `2^62`).
    pub fn new(bits: u32, degree: usize) -> Self {
        let step = 2 * degree as u64;
        let center = 1u64 << bits.min(MAX_MODULUS_BITS - 1);
        Self { step, up: Some(center + 1), down: center.checked_sub(step - 1), take_up: true }
    }

    fn next_from(cursor: &mut Option<u64>, step: u64, up: bool) -> Option<u64> {
        while let Some(c) = *cursor {
            *cursor = if up {
                c.checked_add(step).filter(|n| n >> MAX_MODULUS_BITS == 0)
            } else {
                c.checked_sub(step).filter(|&n| n > step)
            };
            if is_prime(c) {
                return Some(c);
            }
        }
        None
    }
}

impl Iterator for NttPrimes {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let first_up = self.take_up;
        self.take_up = !self.take_up;
        let (first, second) = if first_up { (&mut self.up, &mut self.down) } else { (&mut self.down, &mut self.up) };
        let step = self.step;
        Self::next_from(first, step, first_up).or_else(|| Self::next_from(second, step, !first_up))
    }
}

/// A primitive `2N`-th root of unity `ψ` modulo the prime `q ≡ 1 (mod 2N)` (the smallest such root, so the
/// choice is deterministic), or `None` when `q` does not support degree `N`.
pub fn primitive_root(modulus: &Modulus, degree: usize) -> Option<u64> {
    let q = modulus.value();
    let two_n = 2 * degree as u64;
    if !is_ntt_prime(q, degree) {
        return None;
    }
    // ψ = g^((q-1)/2N) is a primitive 2N-th root iff ψ^N = -1.
    let root = (2..q).map(|g| modulus.pow(g, (q - 1) / two_n)).find(|&psi| modulus.pow(psi, degree as u64) == q - 1)?;
    // Among the φ(2N) primitive roots ψ^(odd), take the smallest.
    let square = modulus.mul(root, root);
    let mut smallest = root;
    let mut candidate = root;
    for _ in 1..degree {
        candidate = modulus.mul(candidate, square);
        smallest = smallest.min(candidate);
    }
    Some(smallest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn trial_division(n: u64) -> bool {
        n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
    }

    proptest! {
        #[test]
        fn miller_rabin_matches_trial_division(n in 0u64..2_000_000) {
            prop_assert_eq!(is_prime(n), trial_division(n));
        }
    }

    #[test]
    fn known_primes_and_composites() {
        assert!(is_prime((1 << 61) - 1));
        assert!(is_prime(0x3fff_ffff_ffe8_0001)); // 62-bit, ≡ 1 mod 2^18
        assert!(is_prime(0xffff_ffff_0000_0001)); // 2^64 - 2^32 + 1
        assert!(!is_prime(0x3fff_ffff_fffc_0001));
        assert!(!is_prime(3_215_031_751)); // strong pseudoprime to bases 2, 3, 5, 7
        assert!(!is_prime(3_825_123_056_546_413_051)); // strong pseudoprime to bases 2..=23
        assert!(!is_prime(((1u64 << 31) - 1) * ((1 << 31) - 1)));
    }

    #[test]
    fn ntt_primes_are_nearest_first_and_distinct() {
        let primes: heapless::Vec<u64, 8> = NttPrimes::new(40, 1 << 12).take(8).collect();
        let center = 1u64 << 40;
        // Alternately above and below 2^40, each side moving away from it.
        for (i, pair) in primes.windows(2).enumerate() {
            assert_eq!(pair[0] > center, i % 2 == 0);
            assert_ne!(pair[1] > center, pair[0] > center);
        }
        for side in [&primes[0..], &primes[1..]] {
            let distances: heapless::Vec<u64, 4> = side.iter().step_by(2).map(|&q| q.abs_diff(center)).collect();
            assert!(distances.windows(2).all(|d| d[0] < d[1]));
        }
        for (i, &q) in primes.iter().enumerate() {
            assert!(is_ntt_prime(q, 1 << 12));
            assert!(!primes[..i].contains(&q));
            assert_eq!(64 - q.leading_zeros(), if q > 1 << 40 { 41 } else { 40 });
        }
    }

    #[test]
    fn primitive_root_has_order_2n() {
        for (bits, log_n) in [(30, 4), (50, 10), (60, 16)] {
            let n = 1usize << log_n;
            let q = NttPrimes::new(bits, n).next().unwrap();
            let m = Modulus::new(q).unwrap();
            let psi = primitive_root(&m, n).unwrap();
            assert_eq!(m.pow(psi, n as u64), q - 1);
            assert_eq!(m.pow(psi, 2 * n as u64), 1);
        }
        assert_eq!(primitive_root(&Modulus::new(97).unwrap(), 1 << 10), None);
    }
}
