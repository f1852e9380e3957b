//! The softmax approximation the encrypted trainer evaluates, and its `f64` mirror (the `approx` plaintext
//! trainer), so approximation error and encryption error can be told apart.
//!
//! For logits `z` of `C` classes with `Σ z = 0` (the trainers keep the class weights centred: they start at zero
//! and every gradient's class sum is zero) and `|z| ≤ B`:
//! - `Σ exp(z) ≤ C·cosh(B)` (convexity: `exp(z) ≤ cosh B + z·sinh(B)/B` on `[-B, B]`), and `≥ C` (Jensen); the
//!   normalizer is `R = h·C·cosh(B)` with a headroom `h`;
//! - `e(z) = p(z)^(2^k)` with `p(x) = R^(-1/2^k) · (1 + u + u²/2 + u³/6)`, `u = x/2^k`: `exp(z)/R` to a relative
//!   `2^k·|u|⁴/24 ≈ 6·10⁻⁴` at `B = 8, k = 6` (depth 2 + k);
//! - `S = Σ e ∈ [1/(h·cosh B), 1/h]`, and `1/S = Π_j (1 + t^(2^j))` with `t = 1 - S` (Goldschmidt): `n` factors
//!   leave a relative error `t^(2^(n+1)) ≤ (1 - 1/(h·cosh B))^(2^(n+1))`, `1.7·10⁻⁵` at `B = 8, h = 2, n = 14`
//!   (depth n + 1);
//! - softmax `= e · (1/S)` (depth 1).
//!
//! Beyond `B` the product still converges while `S < 2`, that is while `Σ exp(z) < 2h·C·cosh(B)`: a top logit up
//! to about `B + ln(hC)` (9.39 for 2 classes at `B = 8, h = 2`); past it the inverse diverges. The headroom is
//! there for what the trainers cannot see: the rows of a step, under lookahead weights, reach further than the
//! validation rows the key owner reads, and [`SoftmaxApprox::admits`] draws the line the trainers stop at.

/// The constants of the approximation (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftmaxApprox {
    /// The logit bound `B` the ranges are chosen for.
    pub bound: f64,
    /// `k`: the exponential is a cubic in `z/2^k` raised to the power `2^k` by `k` squarings.
    pub squarings: u32,
    /// `n`: the number of Goldschmidt factors after the first.
    pub inverse_iterations: u32,
    /// `h`: the class sum is at most `1/h` within the bound, so the inverse converges up to `2h` times further.
    pub headroom: f64,
    /// The number of (real) classes `C`.
    pub classes: usize,
}

impl SoftmaxApprox {
    /// `B = 8`, `k = 6`, `n = 14`, `h = 2`: 24 levels in all (see the module documentation for the error bounds).
    pub fn standard(classes: usize) -> Self {
        Self { bound: 8.0, squarings: 6, inverse_iterations: 14, headroom: 2.0, classes }
    }

    /// The levels one evaluation consumes: cubic (2), squarings (k), inverse (n + 1), product (1).
    pub fn depth(&self) -> usize {
        2 + self.squarings as usize + self.inverse_iterations as usize + 2
    }

    /// `R = h·C·cosh(B)`, the normalizer of the exponential.
    pub fn normalizer(&self) -> f64 {
        self.headroom * self.classes as f64 * self.bound.cosh()
    }

    /// The smallest class sum `S` of a centred row within the bound (`1/(h·cosh B)`, at `z = 0`).
    pub fn smallest_sum(&self) -> f64 {
        self.classes as f64 / self.normalizer()
    }

    /// Whether a row of logits lies within the bound the error bounds are stated for.
    pub fn admits(&self, z: &[f64]) -> bool {
        z.iter().all(|v| v.abs() <= self.bound)
    }

    /// The coefficients `c_0..c_3` of `p(x) = Σ c_i x^i` (in `z`, not `u`).
    pub fn cubic(&self) -> [f64; 4] {
        let r = self.normalizer().powf(-1.0 / f64::from(1u32 << self.squarings));
        let step = 1.0 / f64::from(1u32 << self.squarings);
        [r, r * step, r * step * step / 2.0, r * step * step * step / 6.0]
    }

    /// `e(z) ≈ exp(z)/R` as the encrypted trainer computes it.
    pub fn exp_scaled(&self, z: f64) -> f64 {
        let [c0, c1, c2, c3] = self.cubic();
        let mut e = c0 + z * (c1 + z * (c2 + z * c3));
        for _ in 0..self.squarings {
            e *= e;
        }
        e
    }

    /// `1/S` by the Goldschmidt product, as the encrypted trainer computes it.
    pub fn inverse(&self, s: f64) -> f64 {
        let mut t = 1.0 - s;
        let mut y = 1.0 + t;
        for _ in 0..self.inverse_iterations {
            t *= t;
            y *= 1.0 + t;
        }
        y
    }

    /// The approximate softmax of one row of logits.
    pub fn softmax(&self, z: &[f64]) -> Vec<f64> {
        let e: Vec<f64> = z.iter().map(|&x| self.exp_scaled(x)).collect();
        let inv = self.inverse(e.iter().sum());
        e.iter().map(|x| x * inv).collect()
    }
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
    fn approximation_meets_its_stated_bounds_on_centred_logits() {
        for classes in [2, 3, 7, 8, 10, 11] {
            let approx = SoftmaxApprox::standard(classes);
            assert_eq!(approx.depth(), 24);
            for seed in 0..200 {
                let z = centred(seed, classes, approx.bound * (seed % 10 + 1) as f64 / 10.0);
                let (want, have) = (softmax_exact(&z), approx.softmax(&z));
                for (w, h) in want.iter().zip(&have) {
                    // exp: ≤ 6e-4 relative (raised to the 2^k-th power), inverse: ≤ 2e-5 relative.
                    assert!((w - h).abs() <= 1e-3 * w + 1e-9, "C={classes} z={z:?}: {w} vs {h}");
                }
            }
        }
        // Beyond the bound, still a distribution while S < 2 (a top logit below 8 + ln 4 for 2 classes) ...
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
