//! The softmax approximation the encrypted trainer evaluates, and its `f64` mirror (the `approx` plaintext
//! trainer), so approximation error and encryption error can be told apart.
//!
//! For logits `z` of `C` classes with `Σ z = 0` (the trainers keep the class weights centred: they start at zero
//! and every gradient's class sum is zero) and `|z| ≤ B`, `Σ exp(z) ∈ [C, C·cosh B]` (Jensen; convexity:
//! `exp(z) ≤ cosh B + z·sinh(B)/B` on `[-B, B]`). With a headroom `h` the inverse below is accurate for class
//! sums up to `h·C·cosh B`: a ratio `κ = h·cosh B` between the largest and the smallest.
//! - **Exponential** `e(z) = g(z/D)^(2^k) ≈ exp(z)/R`: `g` is the degree-7 interpolant of
//!   `exp(D·x/2^k)·R^(-1/2^k)` at the Chebyshev nodes of `x ∈ [-1, 1]`, so `z` is read in units of the
//!   domain `D > B` (DiagABT's mask divides by `D` for free). `R = C·(κ − 1)/2` puts the class sum
//!   `S = Σ e` in `[a, a + 2]` with `a = C/R = 2/(κ − 1)`: the map onto `[-1, 1]` below is a shift, no level.
//!   Relative error `≤ 2^k·|g − g*|/g* ≈ 1.1·10⁻⁴` for `|z| ≤ D = 10, k = 3` (depth 3 + k).
//! - **Inverse** `y₀ = P(S)`: of all polynomials of degree `n − 1`, the one with the least relative error
//!   `|1 − S·P(S)|` on `[a, a + 2]`, `1 − S·P(S) = T_n((2a + 2 − 2S)/2)/T_n(a + 1)` (Chebyshev's shifted minimax:
//!   relative error `ε₀ = 1/T_n(a + 1) = 1/cosh(n·acosh(a + 1))`, `7.3·10⁻²` at `n = 128, κ = 4·cosh 8`), in the
//!   Chebyshev basis of `S − a − 1` (depth `log2 n`). Below `a` it stays below 1; above `a + 2` it diverges.
//! - **Renormalization** `r = e·y₀` (class sum `1 − q` with `|q| ≤ ε₀`) and `f` Goldschmidt factors
//!   `r ← r·(2 − Σ r)`, each squaring the relative error: `ε₀^(2^f) ≈ 2.8·10⁻⁵` at `f = 2` (depth 1 + f).
//!   Degree 127 and two factors take the levels of degree 255 and one, for half the polynomial's work.
//!
//! - **Widening** (`m` stages, [`SoftmaxApprox::widened`]): the steps above compute `softmax(z/2^m)` — the
//!   exponential's domain and the bound are `2^m` times the base's, `x = z/D` as before — and each stage squares
//!   and renormalizes, `r ← t·P₁(Σt)` with `t = r²`, so `m` stages give `softmax(z)`: the ratio the inverse must
//!   cover grows by one squaring of the logits' range per stage instead of exponentially with it. A per-row
//!   factor `1 − q` left by a normalization cancels in the next one (`t` and `Σt` both take `(1 − q)²`), so only
//!   the exponential's error matters before the last stage, doubled by each squaring (`4.4·10⁻⁴` relative after
//!   two), and the Goldschmidt factors move after the last stage. `P₁` is the same minimax inverse on `[a₁, a₁ + 2]`
//!   with `a₁ = 0.8/C`, which holds every `Σt` while the rows' sums are within 10 % of one (`Σt ≥ (Σr)²/C`):
//!   degree 7 (3 levels) up to `C = 11`, where its relative error stays below 10 %, degree 15 beyond. Each stage
//!   costs `2 + 3` levels; two stages on the standard base state the bound `B = 32` (`D = 40`, 26 levels).
//!
//! Beyond `B` the approximation holds while `Σ exp(z) < h·C·cosh B` (a top logit up to `B + ln h`, 9.39 for two
//! classes at `B = 8, h = 4`) and `|z| ≤ D`; past the first the inverse diverges. The headroom is there for what
//! the trainers cannot see: the rows of a step, under lookahead weights, reach further than the validation rows
//! the key owner reads, and [`SoftmaxApprox::admits`] draws the line the trainers stop at.

use medblind_core::ckks::Chebyshev;
use medblind_core::ckks::polynomial::depth;

/// The constants of the approximation (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxApprox {
    /// The logit bound `B` the error bounds are stated for.
    pub bound: f64,
    /// `D`: the exponential's polynomial is fitted on `|z| ≤ D`.
    pub domain: f64,
    /// `k`: the exponential is a degree-7 polynomial raised to the power `2^k` by `k` squarings.
    pub squarings: u32,
    /// `n − 1`: the degree of the inverse's initial polynomial.
    pub inverse_degree: usize,
    /// `f`: the Goldschmidt factors after the renormalization.
    pub goldschmidt_factors: u32,
    /// `h`: the inverse is accurate for class sums up to `h` times the largest within the bound.
    pub headroom: f64,
    /// The number of (real) classes `C`.
    pub classes: usize,
    /// `m`: the squaring-and-renormalizing stages that widen the base approximation's range `2^m` times.
    pub stages: u32,
    /// `P₁` in the Chebyshev basis of `Σt − a₁ − 1` on `[-1, 1]` (unused without stages).
    stage_inverse: Chebyshev,
    /// `g` in the monomial basis of `x = z/D`: `g(x) = Σ c_i x^i`.
    exp_coefficients: [f64; 8],
    /// `P` in the Chebyshev basis of `S − a − 1` on `[-1, 1]`.
    inverse: Chebyshev,
}

impl SoftmaxApprox {
    /// `B = 8`, `D = 10`, `k = 3`, `n = 128`, `f = 2`, `h = 4`: 16 levels in all (see the module documentation
    /// for the error bounds).
    pub fn standard(classes: usize) -> Self {
        Self::new(8.0, 10.0, 3, 127, 2, 4.0, classes)
    }

    /// The standard approximation widened by two stages: `B = 32`, `D = 40`, 26 levels.
    pub fn wide(classes: usize) -> Self {
        Self::standard(classes).widened(2)
    }

    /// This approximation with `stages` more squaring-and-renormalizing stages (see the module documentation):
    /// bound and domain `2^stages` times larger, `stages·(2 + 3)` more levels (`2 + 4` past 11 classes).
    pub fn widened(self, stages: u32) -> Self {
        let factor = f64::from(1u32 << stages);
        let smallest = Self::stage_smallest_sum(self.classes);
        let degree = if stage_error(smallest, 8) <= 0.1 { 7 } else { 15 };
        Self {
            bound: self.bound * factor,
            domain: self.domain * factor,
            stages: self.stages + stages,
            stage_inverse: relative_inverse(smallest, degree),
            ..self
        }
    }

    /// The approximation with these constants (see the module documentation).
    pub fn new(
        bound: f64,
        domain: f64,
        squarings: u32,
        inverse_degree: usize,
        goldschmidt_factors: u32,
        headroom: f64,
        classes: usize,
    ) -> Self {
        let kappa = headroom * bound.cosh();
        let (smallest, normalizer) = (2.0 / (kappa - 1.0), classes as f64 * (kappa - 1.0) / 2.0);
        let power = f64::from(1u32 << squarings);
        let root = normalizer.powf(-1.0 / power);
        let fitted = Chebyshev::interpolate(|x| (domain * x / power).exp() * root, -1.0, 1.0, 7);
        Self {
            bound,
            domain,
            squarings,
            inverse_degree,
            goldschmidt_factors,
            headroom,
            classes,
            stages: 0,
            stage_inverse: relative_inverse(Self::stage_smallest_sum(classes), 7),
            exp_coefficients: monomial(fitted.coefficients()),
            inverse: relative_inverse(smallest, inverse_degree),
        }
    }

    /// The levels one evaluation consumes: the exponential (3 + k), the normalizations
    /// ([`Self::normalization_levels`]) and the Goldschmidt factors (f).
    pub fn depth(&self) -> usize {
        3 + self.squarings as usize + self.normalization_levels() + self.goldschmidt_factors as usize
    }

    /// The levels from the class sum of the exponentials to the last stage's output: the inverse (`log2 n`) and
    /// the renormalization (1), then per stage the square, the stage inverse and the product.
    pub fn normalization_levels(&self) -> usize {
        self.inverse_levels() + 1 + self.stages as usize * (2 + self.stage_inverse.levels_consumed())
    }

    /// The levels of the inverse's polynomial.
    pub fn inverse_levels(&self) -> usize {
        depth(self.inverse_degree)
    }

    /// The smallest class sum `a` of a centred row within the bound (at `z = 0`); the base approximation's bound
    /// `B/2^m` decides it.
    pub fn smallest_sum(&self) -> f64 {
        let base_bound = self.bound / f64::from(1u32 << self.stages);
        2.0 / (self.headroom * base_bound.cosh() - 1.0)
    }

    /// Whether a row of logits lies within the bound the error bounds are stated for.
    pub fn admits(&self, z: &[f64]) -> bool {
        z.iter().all(|v| v.abs() <= self.bound)
    }

    /// `c_0..c_7` of the exponential's polynomial `g(x)`, `x = z/D`.
    pub fn exp_coefficients(&self) -> [f64; 8] {
        self.exp_coefficients
    }

    /// The inverse's polynomial `P`, in the Chebyshev basis of `S − a − 1`.
    pub fn inverse_polynomial(&self) -> &Chebyshev {
        &self.inverse
    }

    /// `a₁ = 0.8/C`: the smallest `Σt` a stage's inverse is fitted for.
    fn stage_smallest_sum(classes: usize) -> f64 {
        0.8 / classes as f64
    }

    /// The stages' inverse `P₁`, in the Chebyshev basis of `Σt − a₁ − 1` (see [`Self::stage_shift`]).
    pub fn stage_inverse_polynomial(&self) -> &Chebyshev {
        &self.stage_inverse
    }

    /// `a₁ + 1`, subtracted from a stage's class sum before its inverse.
    pub fn stage_shift(&self) -> f64 {
        Self::stage_smallest_sum(self.classes) + 1.0
    }

    /// `e(z) ≈ exp(z)/R` as the encrypted trainer computes it.
    pub fn exp_scaled(&self, z: f64) -> f64 {
        let x = z / self.domain;
        let mut e = self.exp_coefficients.iter().rev().fold(0.0, |acc, c| acc * x + c);
        for _ in 0..self.squarings {
            e *= e;
        }
        e
    }

    /// `y₀ = P(S) ≈ 1/S`, as the encrypted trainer computes it.
    pub fn inverse(&self, s: f64) -> f64 {
        self.inverse.evaluate(s - self.smallest_sum() - 1.0)
    }

    /// The approximate softmax of one row of logits.
    pub fn softmax(&self, z: &[f64]) -> Vec<f64> {
        let e: Vec<f64> = z.iter().map(|&x| self.exp_scaled(x)).collect();
        let inv = self.inverse(e.iter().sum());
        let mut r: Vec<f64> = e.iter().map(|x| x * inv).collect();
        for _ in 0..self.stages {
            let t: Vec<f64> = r.iter().map(|x| x * x).collect();
            let inv = self.stage_inverse.evaluate(t.iter().sum::<f64>() - self.stage_shift());
            r = t.iter().map(|x| x * inv).collect();
        }
        for _ in 0..self.goldschmidt_factors {
            let factor = 2.0 - r.iter().sum::<f64>();
            r.iter_mut().for_each(|x| *x *= factor);
        }
        r
    }
}

/// `P(S)` of degree `n − 1` with the least relative error `|1 − S·P(S)|` on `[a, a + 2]`,
/// `1 − S·P(S) = T_n(a + 1 − S)/T_n(a + 1)`, in the Chebyshev basis of `v = S − a − 1`: a polynomial, which
/// interpolation at `n` nodes recovers.
fn relative_inverse(smallest: f64, degree: usize) -> Chebyshev {
    let n = degree as f64 + 1.0;
    let peak = (n * (smallest + 1.0).acosh()).cosh();
    Chebyshev::interpolate(
        |v| (1.0 - (n * (-v).clamp(-1.0, 1.0).acos()).cos() / peak) / (v + smallest + 1.0),
        -1.0,
        1.0,
        degree,
    )
}

/// `1/T_n(a + 1)`: the relative error of [`relative_inverse`] of degree `n − 1` on `[a, a + 2]`.
fn stage_error(smallest: f64, n: usize) -> f64 {
    1.0 / (n as f64 * (smallest + 1.0).acosh()).cosh()
}

/// The monomial coefficients of `Σ c_i T_i(x)` (degree ≤ 7), by `T_{i+1} = 2x·T_i − T_{i−1}` (`T_1 = x·T_0`).
fn monomial(chebyshev: &[f64]) -> [f64; 8] {
    let mut out = [0.0; 8];
    let (mut previous, mut current) = ([0.0; 8], [0.0; 8]);
    current[0] = 1.0;
    for (i, &c) in chebyshev.iter().enumerate() {
        out.iter_mut().zip(&current).for_each(|(o, t)| *o += c * t);
        let factor = if i == 0 { 1.0 } else { 2.0 };
        let mut next = [0.0; 8];
        for j in 0..7 {
            next[j + 1] = factor * current[j];
        }
        next.iter_mut().zip(&previous).for_each(|(n, p)| *n -= p);
        (previous, current) = (current, next);
    }
    out
}

/// The exact softmax of one row of logits.
pub fn softmax_exact(z: &[f64]) -> Vec<f64> {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|x| x / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centred(seed: u64, classes: usize, bound: f64) -> Vec<f64> {
        let mut z: Vec<f64> =
            (0..classes).map(|i| ((seed as f64 * 7.31 + i as f64 * 12.9898).sin() * 43758.5453).fract()).collect();
        let mean = z.iter().sum::<f64>() / classes as f64;
        z.iter_mut().for_each(|x| *x -= mean);
        let top = z.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        z.iter().map(|x| x / top * bound).collect()
    }

    #[test]
    fn exponential_and_inverse_meet_their_stated_bounds() {
        let approx = SoftmaxApprox::standard(7);
        let r = 7.0 * (4.0 * 8f64.cosh() - 1.0) / 2.0;
        for i in 0..=2000 {
            let z = -10.0 + 20.0 * i as f64 / 2000.0;
            let relative = (approx.exp_scaled(z) * r / z.exp() - 1.0).abs();
            assert!(relative <= 1.2e-4, "exp at {z}: relative error {relative}");
        }
        let a = approx.smallest_sum();
        let epsilon = 1.0 / (128.0 * (a + 1.0).acosh()).cosh();
        assert!((0.072..0.074).contains(&epsilon), "{epsilon}");
        for i in 0..=20000 {
            let s = a + 2.0 * i as f64 / 20000.0;
            let q = 1.0 - s * approx.inverse(s);
            assert!(q.abs() <= epsilon * (1.0 + 1e-6), "1 − S·P(S) at {s}: {q}");
        }
        // Below a the error stays below 1; above a + 2 it grows without bound.
        assert!((1.0 - 1e-5 * approx.inverse(1e-5)).abs() < 1.0);
        assert!((1.0 - (a + 2.1) * approx.inverse(a + 2.1)).abs() > 1.0);
    }

    #[test]
    fn approximation_meets_its_stated_bounds_on_centred_logits() {
        for classes in [2, 3, 7, 8, 10, 11] {
            let approx = SoftmaxApprox::standard(classes);
            assert_eq!(approx.depth(), 16);
            for seed in 0..200 {
                let z = centred(seed, classes, approx.bound * (seed % 10 + 1) as f64 / 10.0);
                let (want, have) = (softmax_exact(&z), approx.softmax(&z));
                for (w, h) in want.iter().zip(&have) {
                    // exp: ≤ 1.1e-4 relative (after its squarings), inverse: ≤ 2.8e-5 relative.
                    assert!((w - h).abs() <= 3e-4 * w + 1e-9, "C={classes} z={z:?}: {w} vs {h}");
                }
            }
        }
        // Beyond the bound, still a distribution while Σ exp(z) < 4·C·cosh B (a top logit below 8 + ln 4 for 2
        // classes) ...
        let approx = SoftmaxApprox::standard(2);
        let z = [9.3, -9.3];
        assert!(!approx.admits(&z) && approx.admits(&[8.0, -8.0]));
        let p = approx.softmax(&z);
        assert!((p[0] - 1.0).abs() < 1e-3 && p[1].abs() < 1e-3, "{p:?}");
        // ... and no longer past it.
        let p = approx.softmax(&[9.5, -9.5]);
        assert!(p[0].is_nan() || p[0].abs() >= 2.0, "the inverse should diverge: {p:?}");
    }

    #[test]
    fn widened_approximation_meets_its_bounds_to_32_and_costs_its_stated_levels() {
        for classes in [2, 3, 7, 8, 10, 11, 12, 16] {
            let approx = SoftmaxApprox::wide(classes);
            assert_eq!((approx.bound, approx.domain, approx.stages), (32.0, 40.0, 2));
            // Degree-7 stage inverses up to 11 classes (3 levels each), degree 15 beyond.
            let stage = if classes <= 11 { 3 } else { 4 };
            assert_eq!(approx.stage_inverse_polynomial().levels_consumed(), stage);
            assert_eq!(approx.depth(), 16 + 2 * (2 + stage));
            assert!(stage_error(SoftmaxApprox::stage_smallest_sum(classes), 1 << stage) <= 0.1);
            for seed in 0..300 {
                let z = centred(seed, classes, approx.bound * (seed % 16 + 1) as f64 / 16.0);
                let (want, have) = (softmax_exact(&z), approx.softmax(&z));
                for (w, h) in want.iter().zip(&have) {
                    // exp: ≤ 1.1e-4 relative, doubled by each of the two stages; the last normalization's
                    // residual after two Goldschmidt factors: ≤ 0.1^4.
                    assert!((w - h).abs() <= 6e-4 * w + 1e-9, "C={classes} z={z:?}: {w} vs {h}");
                }
            }
        }
    }
}
