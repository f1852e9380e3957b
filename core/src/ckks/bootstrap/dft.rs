//! The encoder's special FFT as a product of sparse diagonal matrices (CoeffToSlot and SlotToCoeff).
//!
//! With `n` slots the encoder decodes `z = V v`, `V[j][k] = ζ^{5^j·k}` (`ζ = exp(2πi/4n)`), and its fast form is
//! `V = B_L ⋯ B_1 · BitReverse` (`L = log2 n`): stage `B_s` applies butterflies of length `2^s`, three
//! non-zero diagonals (rotations `0, ±2^{s-1}`). Bootstrapping evaluates `B_1 ⋯ B_L` (SlotToCoeff, on
//! bit-reversed input) and `B_1^{-1} ⋯ B_L^{-1}` inverted in order (CoeffToSlot, bit-reversed output); the
//! permutation never needs evaluating because everything between the two is slot-wise. Consecutive stages are
//! merged into as many groups as there are levels to spend: a group of `r` stages has at most `2^{r+1} - 1`
//! diagonals.

use super::diagonal_transform::DiagonalMatrix;
use crate::math::complex::Complex;
use alloc::vec;
use alloc::vec::Vec;

/// The twiddle of butterfly `j` in a block of length `len`: `exp(2πi·(5^j mod 4·len) / (4·len))`.
fn twiddle(j: usize, len: usize) -> Complex {
    let modulus = 4 * len;
    let power = (0..j).fold(1, |p, _| p * 5 % modulus);
    Complex::root_of_unity(power, modulus)
}

/// The stage with blocks of length `len` on `n` slots: `x_a ← x_a + w·x_b`, `x_b ← x_a − w·x_b` for
/// `b = a + len/2`, or its inverse `x_a ← (x_a + x_b)/2`, `x_b ← (x_a − x_b)/(2w)`.
fn stage(n: usize, len: usize, inverse: bool) -> DiagonalMatrix {
    let half = len / 2;
    let (mut same, mut ahead, mut behind) = (vec![Complex::ZERO; n], vec![Complex::ZERO; n], vec![Complex::ZERO; n]);
    for t in 0..n {
        let position = t % len;
        let w = twiddle(position % half, len);
        if inverse {
            let w_inv = w.inv().scale(0.5);
            if position < half {
                (same[t], ahead[t]) = (Complex::real(0.5), Complex::real(0.5));
            } else {
                (same[t], behind[t]) = (-w_inv, w_inv);
            }
        } else if position < half {
            (same[t], ahead[t]) = (Complex::ONE, w);
        } else {
            (same[t], behind[t]) = (-w, Complex::ONE);
        }
    }
    let mut m = DiagonalMatrix::diagonal(same);
    m.add_diagonal(half, ahead);
    m.add_diagonal(n - half, behind);
    m
}

/// `B_1, …, B_L` in the order they apply: their product maps bit-reversed `v` to the slots `V v`.
pub fn slots_from_coefficients(n: usize) -> Vec<DiagonalMatrix> {
    (1..=n.trailing_zeros()).map(|s| stage(n, 1 << s, false)).collect()
}

/// `B_L^{-1}, …, B_1^{-1}` in the order they apply: their product maps slots `z` to bit-reversed `V^{-1} z`.
pub fn coefficients_from_slots(n: usize) -> Vec<DiagonalMatrix> {
    (1..=n.trailing_zeros()).rev().map(|s| stage(n, 1 << s, true)).collect()
}

/// `stages` (in application order) merged into `groups` consecutive products, earlier groups taking the extra
/// stage when the count does not divide; fewer groups if there are fewer stages.
pub fn merge(stages: &[DiagonalMatrix], groups: usize) -> Vec<DiagonalMatrix> {
    let groups = groups.clamp(1, stages.len().max(1));
    let (base, extra) = (stages.len() / groups, stages.len() % groups);
    let mut rest = stages;
    (0..groups)
        .filter_map(|g| {
            let (group, tail) = rest.split_at(base + usize::from(g < extra));
            rest = tail;
            let (first, later) = group.split_first()?;
            Some(later.iter().fold(first.clone(), |product, s| s.compose(&product)))
        })
        .collect()
}

/// The merged FFT stages of CoeffToSlot (the halving before the real/imaginary split folded into the last) and
/// of SlotToCoeff (the recombination of the two halves folded into the first, for sparse packing), in the given
/// numbers of levels, for `slots` slots (`full`: `N/2` of them, else sparse).
pub fn bootstrap_stages(
    slots: usize,
    full: bool,
    coeffs_to_slots_levels: usize,
    slots_to_coeffs_levels: usize,
) -> (Vec<DiagonalMatrix>, Vec<DiagonalMatrix>) {
    let mut cts = merge(&coefficients_from_slots(slots), coeffs_to_slots_levels);
    let last = cts.pop().expect("at least one stage");
    cts.push(if full {
        DiagonalMatrix::diagonal(vec![Complex::real(0.5); slots]).compose(&last)
    } else {
        // [1/2 … 1/2, −i/2 … −i/2] on 2n slots: a + conj(a) is then [Re v, Im v].
        let halves = (0..2 * slots).map(|t| if t < slots { Complex::real(0.5) } else { Complex::new(0.0, -0.5) });
        DiagonalMatrix::diagonal(halves.collect()).compose(&last.tiled(2))
    });
    let mut stc = merge(&slots_from_coefficients(slots), slots_to_coeffs_levels);
    if !full {
        // w = y_lo + i·y_hi, tiled: diagonal 0 = [1 …, i …], rotation n = [i …, 1 …].
        let mut combine = DiagonalMatrix::diagonal(
            (0..2 * slots).map(|t| if t < slots { Complex::ONE } else { Complex::I }).collect(),
        );
        combine
            .add_diagonal(slots, (0..2 * slots).map(|t| if t < slots { Complex::I } else { Complex::ONE }).collect());
        stc[0] = stc[0].tiled(2).compose(&combine);
    }
    (cts, stc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bit_reversed(v: &[Complex]) -> Vec<Complex> {
        let bits = v.len().trailing_zeros();
        (0..v.len()).map(|i| if bits == 0 { v[i] } else { v[i.reverse_bits() >> (usize::BITS - bits)] }).collect()
    }

    fn vector(n: usize, seed: u64) -> Vec<Complex> {
        let mut x = seed | 1;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        };
        (0..n).map(|_| Complex::new(next(), next())).collect()
    }

    /// `V v` from the definition.
    fn naive_slots(v: &[Complex]) -> Vec<Complex> {
        let n = v.len();
        let mut power = 1usize;
        (0..n)
            .map(|_| {
                let z = v
                    .iter()
                    .enumerate()
                    .fold(Complex::ZERO, |acc, (k, &x)| acc + x * Complex::root_of_unity(power * k % (4 * n), 4 * n));
                power = power * 5 % (4 * n);
                z
            })
            .collect()
    }

    fn apply_all(stages: &[DiagonalMatrix], x: &[Complex]) -> Vec<Complex> {
        stages.iter().fold(x.to_vec(), |v, s| s.apply(&v))
    }

    fn max_distance(a: &[Complex], b: &[Complex]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (*x - *y).abs()).fold(0.0, f64::max)
    }

    #[test]
    fn stages_compute_the_canonical_embedding() {
        for n in [1, 2, 4, 16, 64] {
            let v = vector(n, n as u64);
            let fast = apply_all(&slots_from_coefficients(n), &bit_reversed(&v));
            assert!(max_distance(&fast, &naive_slots(&v)) < 1e-12 * n as f64, "n = {n}");
        }
    }

    #[test]
    fn inverse_stages_invert() {
        for n in [2, 8, 32] {
            let z = vector(n, 7);
            let coefficients = apply_all(&coefficients_from_slots(n), &z);
            assert!(max_distance(&naive_slots(&bit_reversed(&coefficients)), &z) < 1e-12 * n as f64, "n = {n}");
        }
    }

    #[test]
    fn merged_groups_compute_the_same_product_with_few_diagonals() {
        let n = 256;
        let stages = slots_from_coefficients(n);
        let x = vector(n, 3);
        for groups in [1, 3, 4, 8] {
            let merged = merge(&stages, groups);
            assert_eq!(merged.len(), groups);
            assert!(max_distance(&apply_all(&merged, &x), &apply_all(&stages, &x)) < 1e-10);
            let most = merged.iter().map(|m| m.rotations().count()).max().unwrap();
            let r = 8usize.div_ceil(groups);
            assert!(most < 1 << (r + 1), "{groups} groups: {most} diagonals");
        }
    }
}
