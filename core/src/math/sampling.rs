//! Sampling of ring elements: uniform residues, ternary and fixed-Hamming-weight secrets, and errors from the
//! centered binomial distribution.
//!
//! Randomness comes from a caller's `R: RngCore + CryptoRng` (a TRNG-seeded generator on the device, the OS
//! generator on the host). Uniform polynomials that must be reproducible from a 32-byte seed (seeded
//! ciphertexts and keys) come from [`seeded_uniform`]: ChaCha20 keyed by the seed, stream `i` for limb `i`.

use super::zq::Modulus;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};

/// The centered binomial parameter `η`: errors are `Σ_{i<η} (a_i - b_i)` for fair bits, standard deviation
/// `sqrt(η/2) ≈ 3.24`, matching the HomomorphicEncryption.org standard's `σ ≈ 3.2`; support `[-21, 21]`.
pub const ERROR_ETA: u32 = 21;

/// Fills `out` with residues uniform in `[0, q)` (rejection sampling, so exactly uniform).
pub fn uniform<R: RngCore + ?Sized>(rng: &mut R, modulus: &Modulus, out: &mut [u64]) {
    let q = modulus.value();
    let mask = u64::MAX >> q.leading_zeros();
    for x in out.iter_mut() {
        *x = loop {
            let candidate = rng.next_u64() & mask;
            if candidate < q {
                break candidate;
            }
        };
    }
}

/// Fills limb `i` of `out` (limbs of `n` words, one per modulus) with the uniform residues derived from `seed`.
///
/// Limb `i` uses ChaCha20 with key `seed` on stream `streams[i]`, so a limb can be regenerated on its own.
pub fn seeded_uniform(seed: &[u8; 32], moduli: &[Modulus], streams: impl Iterator<Item = u64>, out: &mut [u64]) {
    if moduli.is_empty() {
        return;
    }
    let n = out.len() / moduli.len();
    for ((modulus, limb), stream) in moduli.iter().zip(out.chunks_exact_mut(n)).zip(streams) {
        let mut rng = ChaCha20Rng::from_seed(*seed);
        rng.set_stream(stream);
        uniform(&mut rng, modulus, limb);
    }
}

/// Fills `out` with coefficients uniform in `{-1, 0, 1}`.
pub fn ternary<R: RngCore + CryptoRng + ?Sized>(rng: &mut R, out: &mut [i8]) {
    for x in out.iter_mut() {
        // Rejection from 2 bits: 0, 1, 2 -> -1, 0, 1; 3 is redrawn.
        *x = loop {
            let v = (rng.next_u32() & 3) as i8;
            if v < 3 {
                break v - 1;
            }
        };
    }
}

/// Fills `out` with exactly `min(h, len)` coefficients in `{-1, 1}` at uniformly random positions, zero elsewhere.
pub fn hamming_weight<R: RngCore + CryptoRng + ?Sized>(rng: &mut R, h: usize, out: &mut [i8]) {
    out.fill(0);
    let n = out.len();
    // Partial Fisher–Yates over positions, tracked implicitly: pick a zero position uniformly each time.
    let mut placed = 0;
    while placed < h.min(n) {
        let position = uniform_below(rng, n as u64) as usize;
        if out[position] == 0 {
            out[position] = if rng.next_u32() & 1 == 0 { 1 } else { -1 };
            placed += 1;
        }
    }
}

/// Fills `out` with centered binomial errors (see [`ERROR_ETA`]).
pub fn centered_binomial<R: RngCore + CryptoRng + ?Sized>(rng: &mut R, out: &mut [i8]) {
    let mask = (1u64 << ERROR_ETA) - 1;
    for x in out.iter_mut() {
        let bits = rng.next_u64();
        *x = ((bits & mask).count_ones() as i32 - ((bits >> ERROR_ETA) & mask).count_ones() as i32) as i8;
    }
}

/// A uniform integer in `[0, bound)`, `bound > 0`.
fn uniform_below<R: RngCore + ?Sized>(rng: &mut R, bound: u64) -> u64 {
    let mask = u64::MAX >> (bound - 1).max(1).leading_zeros();
    loop {
        let v = rng.next_u64() & mask;
        if v < bound {
            return v;
        }
    }
}

/// Writes the residues of small signed coefficients `x` modulo each of `moduli` into consecutive limbs of `out`.
pub fn small_to_rns(x: &[i8], moduli: &[Modulus], out: &mut [u64]) {
    for (modulus, limb) in moduli.iter().zip(out.chunks_exact_mut(x.len())) {
        for (o, &v) in limb.iter_mut().zip(x) {
            *o = modulus.from_i64(v as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::prime::NttPrimes;
    use rand_chacha::ChaCha20Rng;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(0x5EA1)
    }

    #[test]
    fn uniform_is_in_range_and_balanced() {
        let m = Modulus::new(NttPrimes::new(40, 16).next().unwrap()).unwrap();
        let mut out = [0u64; 4096];
        uniform(&mut rng(), &m, &mut out);
        assert!(out.iter().all(|&x| x < m.value()));
        let mean = out.iter().map(|&x| x as f64 / m.value() as f64).sum::<f64>() / out.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn seeded_uniform_is_reproducible_and_per_limb() {
        let moduli: heapless::Vec<Modulus, 3> =
            NttPrimes::new(40, 16).take(3).map(|q| Modulus::new(q).unwrap()).collect();
        let (mut a, mut b) = ([0u64; 3 * 64], [0u64; 64]);
        seeded_uniform(&[7; 32], &moduli, 0.., &mut a);
        // Limb 2 alone, regenerated from the same seed and stream.
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        rng.set_stream(2);
        uniform(&mut rng, &moduli[2], &mut b);
        assert_eq!(&a[128..], &b[..]);
        let mut c = [0u64; 3 * 64];
        seeded_uniform(&[8; 32], &moduli, 0.., &mut c);
        assert_ne!(a, c);
    }

    #[test]
    fn ternary_and_hamming_weight_distributions() {
        let mut t = [0i8; 3000];
        ternary(&mut rng(), &mut t);
        for v in -1..=1 {
            let count = t.iter().filter(|&&x| x == v).count();
            assert!((900..1100).contains(&count), "{v}: {count}");
        }
        let mut h = [0i8; 1024];
        hamming_weight(&mut rng(), 192, &mut h);
        assert_eq!(h.iter().filter(|&&x| x != 0).count(), 192);
        assert!(h.iter().all(|&x| (-1..=1).contains(&x)));
    }

    #[test]
    fn centered_binomial_has_the_standard_deviation() {
        let mut e = [0i8; 1 << 14];
        centered_binomial(&mut rng(), &mut e);
        assert!(e.iter().all(|&x| x.unsigned_abs() as u32 <= ERROR_ETA));
        let mean = e.iter().map(|&x| x as f64).sum::<f64>() / e.len() as f64;
        let var = e.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / e.len() as f64;
        assert!(mean.abs() < 0.1 && (var - 10.5).abs() < 0.6, "mean {mean} variance {var}");
    }
}
