//! The diagonal form's algebra against dense definitions, and the baby-step giant-step split.

use super::*;
use crate::testing::uniform_values;

fn random_vector(n: usize, seed: u64) -> Vec<Complex> {
    let mut next = uniform_values(seed);
    (0..n).map(|_| Complex::new(next(), next())).collect()
}

fn random_matrix(n: usize, rotations: &[usize], seed: u64) -> DiagonalMatrix {
    let mut m = DiagonalMatrix::zero(n);
    for (k, &a) in rotations.iter().enumerate() {
        m.add_diagonal(a, random_vector(n, seed + k as u64));
    }
    m
}

fn max_distance(a: &[Complex], b: &[Complex]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (*x - *y).abs()).fold(0.0, f64::max)
}

#[test]
fn apply_matches_the_dense_matrix_definition() {
    let m = random_matrix(8, &[0, 1, 5], 3);
    let x = random_vector(8, 9);
    // Dense product from the definition M[t][(t+a) mod n] = d_a[t].
    let want: Vec<Complex> = (0..8)
        .map(|t| {
            let mut sum = Complex::ZERO;
            for a in m.rotations() {
                sum += m.diagonals[&a][t] * x[(t + a) % 8];
            }
            sum
        })
        .collect();
    assert!(max_distance(&m.apply(&x), &want) < 1e-15);
}

#[test]
fn compose_is_sequential_application() {
    let (a, b) = (random_matrix(16, &[0, 3, 14], 1), random_matrix(16, &[1, 2, 8, 15], 7));
    let x = random_vector(16, 5);
    assert!(max_distance(&a.compose(&b).apply(&x), &a.apply(&b.apply(&x))) < 1e-12);
}

#[test]
fn tiling_acts_on_periodic_vectors_as_the_original() {
    let m = random_matrix(8, &[0, 1, 7, 6], 2);
    let x = random_vector(8, 4);
    let wide: Vec<Complex> = x.iter().chain(&x).copied().collect();
    let out = m.tiled(2).apply(&wide);
    let want = m.apply(&x);
    assert!(max_distance(&out[..8], &want) < 1e-15 && max_distance(&out[8..], &want) < 1e-15);
    // Rotation 7 of 8 is -1, which on 16 slots is 15.
    assert!(m.tiled(2).rotations().any(|a| a == 15));
}

#[test]
fn the_split_covers_every_rotation_once() {
    let m = random_matrix(64, &[0, 1, 2, 3, 4, 5, 6, 7, 56, 57, 60, 63], 11);
    let (g, babies) = m.split();
    let mut giants: Vec<i64> = m.rotations().map(|a| decompose(a, 64, g).0).collect();
    giants.dedup();
    for a in m.rotations() {
        let (giant, baby) = decompose(a, 64, g);
        assert!(babies.contains(&baby) && (giant + baby as i64).rem_euclid(64) as usize == a);
    }
    assert!(babies.len() + giants.len() < 12, "BSGS needs fewer rotations than diagonals");
}
