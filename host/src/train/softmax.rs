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
        let n = inverse_degree as f64 + 1.0;
        let peak = (n * (smallest + 1.0).acosh()).cosh();
        // P(S) = (1 − T_n(a + 1 − S)/T_n(a + 1))/S, in v = S − a − 1 (so a + 1 − S = −v): a polynomial, which
        // interpolation at n nodes recovers.
        let inverse = Chebyshev::interpolate(
            |v| {
                let s = v + smallest + 1.0;
                (1.0 - (n * (-v).clamp(-1.0, 1.0).acos()).cos() / peak) / s
            },
            -1.0,
            1.0,
            inverse_degree,
        );
        Self {
            bound,
            domain,
            squarings,
            inverse_degree,
            goldschmidt_factors,
            headroom,
            classes,
            exp_coefficients: monomial(fitted.coefficients()),
            inverse,
        }
    }

    /// The levels one evaluation consumes: the exponential (3 + k), the inverse (`log2 n`), the renormalization
    /// and the Goldschmidt factors (1 + f).
    pub fn depth(&self) -> usize {
        3 + self.squarings as usize + self.inverse_levels() + 1 + self.goldschmidt_factors as usize
    }

    /// The levels of the inverse's polynomial.
    pub fn inverse_levels(&self) -> usize {
        depth(self.inverse_degree)
    }

    /// The smallest class sum `a` of a centred row within the bound (at `z = 0`).
    pub fn smallest_sum(&self) -> f64 {
        2.0 / (self.headroom * self.bound.cosh() - 1.0)
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
        for _ in 0..self.goldschmidt_factors {
            let factor = 2.0 - r.iter().sum::<f64>();
            r.iter_mut().for_each(|x| *x *= factor);
        }
        r
    }
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
}
