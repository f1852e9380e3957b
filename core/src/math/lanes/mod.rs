//! Arithmetic modulo `q` on vector lanes for x86-64, one module per instruction set; [`super::kernels`] says
//! which set runs. Every kernel gives the scalar code's results word for word.

pub mod avx2;
pub mod avx512;

/// `out[c] = Σ_j a_j[c]·b_j[c] mod q` in `[0, q)`, for limbs `a_j`, `b_j` of words below `q` (at least
/// `out.len()` each), on the lanes of the active kernel set where they can ([`avx512::dot_product`],
/// [`avx2::dot_product`]). Returns whether it computed `out`; if not, `out` is untouched.
pub fn dot_product(a: &[&[u64]], b: &[&[u64]], q: u64, out: &mut [u64]) -> bool {
    avx512::dot_product(a, b, q, out) || avx2::dot_product(a, b, q, out)
}

/// `out[c] = Σ_j x_j[c]·f_j mod t` in `[0, t)`, for limbs `x_j` (at least `out.len()` each; with `narrow`, all
/// below `2^52`) and factors `f_j < t`, on the lanes of the active kernel set where they can
/// ([`avx512::scaled_sum`], [`avx2::scaled_sum`]). Returns whether it computed `out`; if not, `out` is untouched.
pub fn scaled_sum(x: &[&[u64]], factors: &[u64], narrow: bool, t: u64, out: &mut [u64]) -> bool {
    avx512::scaled_sum(x, factors, narrow, t, out) || avx2::scaled_sum(x, factors, narrow, t, out)
}

/// `out ⊙= b`, or `out += a ⊙ b` with `a`, for one limb of words below `q`, on the lanes of the active kernel set
/// where they can ([`avx2::pointwise_product`]). Returns whether it computed `out`; if not, `out` is untouched.
pub fn pointwise_product(out: &mut [u64], a: Option<&[u64]>, b: &[u64], q: u64) -> bool {
    avx2::pointwise_product(out, a, b, q)
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    extern crate std;
    use super::*;
    use crate::math::kernels::{KernelSet, active};
    use crate::math::prime::NttPrimes;
    use crate::math::zq::MAX_MODULI;
    use crate::testing::xorshift;
    use alloc::vec::Vec;

    type DotProduct = fn(&[&[u64]], &[&[u64]], u64, &mut [u64]) -> bool;
    type ScaledSum = fn(&[&[u64]], &[u64], bool, u64, &mut [u64]) -> bool;

    /// The lane sets whose kernels run here, with them; says loudly which do not.
    fn lane_sets() -> Vec<(KernelSet, DotProduct, ScaledSum)> {
        let sets: [(KernelSet, DotProduct, ScaledSum); 2] = [
            (KernelSet::Avx2, avx2::dot_product, avx2::scaled_sum),
            (KernelSet::Avx512Ifma, avx512::dot_product, avx512::scaled_sum),
        ];
        let runs = |set: KernelSet| match set {
            KernelSet::Avx512Ifma => active() == KernelSet::Avx512Ifma,
            _ => active() != KernelSet::Scalar,
        };
        for (set, ..) in sets.iter().filter(|(set, ..)| !runs(*set)) {
            std::eprintln!(
                "NOT RUN: the active kernel set is {}, so the {set} products are never taken here",
                active()
            );
        }
        sets.into_iter().filter(|(set, ..)| runs(*set)).collect()
    }

    #[test]
    fn dot_products_equal_the_128_bit_sums_reduced_once() {
        let n = 64;
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        for (set, dot_product, _) in lane_sets() {
            for bits in [20, 40, 49] {
                let q = NttPrimes::new(bits, 16).find(|&q| q < 1 << 50).unwrap();
                for pairs in [1, 2, 4, 5, 7, 16] {
                    for extreme in [false, true] {
                        let mut limb = || -> Vec<u64> {
                            (0..n).map(|_| if extreme { q - 1 - next() % 2 } else { next() % q }).collect()
                        };
                        let (a, b): (Vec<Vec<u64>>, Vec<Vec<u64>>) = (0..pairs).map(|_| (limb(), limb())).unzip();
                        let (a, b): (Vec<&[u64]>, Vec<&[u64]>) =
                            (a.iter().map(|l| &l[..]).collect(), b.iter().map(|l| &l[..]).collect());
                        let want: Vec<u64> = (0..n)
                            .map(|c| {
                                let sum = a.iter().zip(&b).map(|(x, y)| x[c] as u128 * y[c] as u128).sum::<u128>();
                                (sum % q as u128) as u64
                            })
                            .collect();
                        let mut out = alloc::vec![0; n];
                        assert!(dot_product(&a, &b, q, &mut out));
                        assert_eq!(out, want, "{set}: {bits}-bit q, {pairs} pairs, extreme {extreme}");
                    }
                }
            }
            // Where the lanes cannot, nothing is written.
            let (limb, q_wide) = (alloc::vec![1u64; 16], NttPrimes::new(55, 16).next().unwrap());
            let mut out = alloc::vec![7; 16];
            assert!(!dot_product(&[&limb], &[&limb], q_wide, &mut out));
            assert!(!dot_product(&[&limb], &[&limb], 97, &mut out[..7]));
            assert!(!dot_product(&[&limb[..8]], &[&limb], 97, &mut out));
            assert_eq!(out, [7; 16], "{set}");
        }
    }

    #[test]
    fn scaled_sums_equal_the_128_bit_sums_reduced_once() {
        let n = 64;
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for (set, _, scaled_sum) in lane_sets() {
            for bits in [20, 40, 49] {
                let t = NttPrimes::new(bits, 16).find(|&q| q < 1 << 50).unwrap();
                for (count, narrow) in [(1, true), (4, true), (8, true), (30, true), (8, false), (30, false)] {
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
                    // The four lanes take narrow words only (a wide word is no exact double).
                    let computed = scaled_sum(&limbs, &factors, narrow, t, &mut out);
                    if set == KernelSet::Avx2 && !narrow {
                        assert!(!computed && out.iter().all(|&o| o == 0), "{set} took wide words");
                        continue;
                    }
                    assert!(computed, "{set}: {bits}-bit t, {count} limbs, narrow {narrow}");
                    assert_eq!(out, want, "{set}: {bits}-bit t, {count} limbs, narrow {narrow}");
                }
            }
            // Sums that would leave the doubles' exact range without the periodic reductions: the most terms, each
            // an odd residue near t/2.
            let t = NttPrimes::new(49, 16).find(|&q| q < 1 << 50).unwrap();
            let half = (t - 1) / 2;
            let odd_half = if half % 2 == 1 { half } else { half - 1 };
            let limb = alloc::vec![3 * t + odd_half; n];
            let (limbs, factors) = (alloc::vec![&limb[..]; MAX_MODULI], alloc::vec![1; MAX_MODULI]);
            let mut out = alloc::vec![0; n];
            assert!(scaled_sum(&limbs, &factors, true, t, &mut out));
            let want = (MAX_MODULI as u128 * odd_half as u128 % t as u128) as u64;
            assert_eq!(out, alloc::vec![want; n], "{set}: {MAX_MODULI} terms near t/2");
            // Where the lanes cannot (a modulus from 2^50 on, a factor not below t, counts that differ), nothing is
            // written.
            let (limb, t_wide) = (alloc::vec![1u64; 16], NttPrimes::new(55, 16).next().unwrap());
            let mut out = alloc::vec![7; 16];
            assert!(!scaled_sum(&[&limb], &[1], true, t_wide, &mut out));
            assert!(!scaled_sum(&[&limb], &[97], true, 97, &mut out));
            assert!(!scaled_sum(&[&limb, &limb], &[1], true, 97, &mut out));
            assert_eq!(out, [7; 16], "{set}");
        }
    }

    #[test]
    fn pointwise_products_equal_the_128_bit_ones() {
        if active() == KernelSet::Scalar {
            std::eprintln!(
                "NOT RUN: the active kernel set is scalar, so the lanes' pointwise products are never taken"
            );
            return;
        }
        let n = 64;
        let mut next = xorshift(0x5851_f42d_4c95_7f2d);
        for bits in [20, 40, 49] {
            let q = NttPrimes::new(bits, 16).find(|&q| q < 1 << 50).unwrap();
            let mut limb = |extreme: bool| -> Vec<u64> {
                (0..n).map(|c| if extreme && c % 2 == 0 { q - 1 } else { next() % q }).collect()
            };
            for extreme in [false, true] {
                let (a, b, acc) = (limb(extreme), limb(extreme), limb(extreme));
                let product = |x: u64, y: u64| (x as u128 * y as u128 % q as u128) as u64;
                let mut out = a.clone();
                assert!(pointwise_product(&mut out, None, &b, q));
                let want: Vec<u64> = a.iter().zip(&b).map(|(&x, &y)| product(x, y)).collect();
                assert_eq!(out, want, "{bits}-bit q, extreme {extreme}");
                let mut out = acc.clone();
                assert!(pointwise_product(&mut out, Some(&a), &b, q));
                let want: Vec<u64> =
                    acc.iter().zip(a.iter().zip(&b)).map(|(&z, (&x, &y))| (z + product(x, y)) % q).collect();
                assert_eq!(out, want, "{bits}-bit q, extreme {extreme}, accumulated");
            }
        }
        // Where the lanes cannot (a modulus from 2^50 on, lengths that differ or are no multiple of 4), nothing is
        // written.
        let (b, q_wide) = (alloc::vec![1u64; 16], NttPrimes::new(55, 16).next().unwrap());
        let mut out = alloc::vec![7; 16];
        assert!(!pointwise_product(&mut out, None, &b, q_wide));
        assert!(!pointwise_product(&mut out[..6], None, &b[..6], 97));
        assert!(!pointwise_product(&mut out, Some(&b[..8]), &b, 97));
        assert_eq!(out, [7; 16]);
    }
}
