//! Polynomials in the Chebyshev basis: interpolation, plaintext evaluation, and homomorphic evaluation.
//!
//! A [`Chebyshev`] polynomial on `[a, b]` is `p(x) = Σ_{i≤d} c_i·T_i(y)` with `y = (2x − a − b)/(b − a) ∈ [-1, 1]`
//! and `T_i` the Chebyshev polynomials of the first kind. Interpolating at the `d + 1` Chebyshev nodes gives
//! a near-minimax approximation of a smooth function (Trefethen, *Approximation Theory and Approximation
//! Practice*, ch. 3–4).
//!
//! [`evaluate_encrypted`] follows Lattigo's polynomial evaluator (Bossuat et al., Eurocrypt 2021, §4), a
//! baby-step giant-step form of Paterson–Stockmeyer in the Chebyshev basis:
//! 1. `y = α·x + β` (one scalar product and a rescale).
//! 2. Baby steps `T_1..T_{k−1}` and giant steps `T_g`, `g = k, 2k, 4k, … ≤ d` (`k = 2^l`, `l = max(1, ⌊m/2⌋)`,
//!    `m = ⌈log2(d + 1)⌉`), each from `T_{i+j} = 2·T_i·T_j − T_{|i−j|}` at the optimal depth `⌈log2 i⌉`.
//! 3. Recursive division `p = q·T_g + r` (`g` the largest power of two `≤ deg p`, so `deg p < 2g`; from
//!    `T_i = 2·T_{i−g}·T_g − T_{2g−i}`), down to leaves `Σ c_i·T_i` that need only scalar products.
//!    A leaf whose powers sit too low is divided again by a smaller `T_g`: this keeps the depth at `m`.
//!
//! **Levels.** [`Chebyshev::levels_consumed`]: `m` for the polynomial, plus one for the affine map unless the
//! interval is `[-1, 1]`.
//! **Cost** (for `d ≥ 1`): at most `2^l + 2^{m−l} + m − 4` relinearized products — `k − 2` baby steps,
//! `m − l` giant steps, at most `2^{m−l} − 1` divisions by giant steps and `l − 1` by baby steps — e.g. 5 for
//! `d = 7`, 13 for `d = 31`, 18 for `d = 63`; plus `O(d)` scalar products and additions.
//! **Scales.** Every tree node is produced at a prescribed level `l` and scale `Δ·q_l` and then rescaled to `Δ`
//! exactly (up to `f64` rounding): constants multiplying `T_i` are encoded at `Δ·q_l / Δ_{T_i}`, the quotient
//! of a division at `Δ·q_l / Δ_{T_g}`. So the result lands on the caller's target scale whatever the scales
//! of `x`, the powers and the primes; no two operands are ever added at different scales.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::f64::consts::PI;

use super::ciphertext::Ciphertext;
use super::evaluator::Evaluator;
use super::keys::RelinearizationKey;
use crate::{Error, Result};

/// `p(x) = Σ_{i≤d} c_i·T_i((2x − a − b)/(b − a))` on the interval `[a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chebyshev {
    a: f64,
    b: f64,
    /// `c_0..=c_d`, never empty.
    coefficients: Vec<f64>,
}

impl Chebyshev {
    /// Interpolates `f` on `[a, b]` at the `degree + 1` Chebyshev nodes `x_j = cos(π(j + ½)/(d + 1))` (mapped to
    /// `[a, b]`): `p(x_j) = f(x_j)`, and for analytic `f` the error decays geometrically with the degree.
    pub fn interpolate(f: impl Fn(f64) -> f64, a: f64, b: f64, degree: usize) -> Self {
        let n = degree + 1;
        let angle = |j: usize| PI * (j as f64 + 0.5) / n as f64;
        let values: Vec<f64> = (0..n).map(|j| f((b - a) / 2.0 * libm::cos(angle(j)) + (a + b) / 2.0)).collect();
        // Discrete orthogonality of T_i at the nodes: c_i = (2 − [i = 0])/n · Σ_j f(x_j)·T_i(y_j).
        let coefficients = (0..n)
            .map(|i| {
                let sum: f64 = values.iter().enumerate().map(|(j, v)| v * libm::cos(i as f64 * angle(j))).sum();
                sum * if i == 0 { 1.0 } else { 2.0 } / n as f64
            })
            .collect();
        Self { a, b, coefficients }
    }

    /// The polynomial with coefficients `c_0..=c_d` on `[a, b]` (an empty list is the zero polynomial).
    pub fn from_coefficients(a: f64, b: f64, mut coefficients: Vec<f64>) -> Self {
        if coefficients.is_empty() {
            coefficients.push(0.0);
        }
        Self { a, b, coefficients }
    }

    /// `p(x)` by Clenshaw's recurrence `b_i = c_i + 2y·b_{i+1} − b_{i+2}`, `p = c_0 + y·b_1 − b_2`.
    pub fn evaluate(&self, x: f64) -> f64 {
        let y = (2.0 * x - self.a - self.b) / (self.b - self.a);
        let (mut b1, mut b2) = (0.0, 0.0);
        for &c in self.coefficients[1..].iter().rev() {
            (b1, b2) = (c + 2.0 * y * b1 - b2, b1);
        }
        self.coefficients[0] + y * b1 - b2
    }

    /// The degree `d` (the index of the last coefficient, which may be zero).
    pub fn degree(&self) -> usize {
        self.coefficients.len() - 1
    }

    /// The interval `(a, b)`.
    pub fn interval(&self) -> (f64, f64) {
        (self.a, self.b)
    }

    /// `c_0..=c_d`.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// Whether the interval is `[-1, 1]`, so that evaluation needs no affine map.
    fn is_canonical(&self) -> bool {
        (self.a, self.b) == (-1.0, 1.0)
    }

    /// The levels [`evaluate_encrypted`] consumes: [`depth`]`(degree)`, plus one for the map to `[-1, 1]` unless
    /// the interval already is `[-1, 1]`.
    pub fn levels_consumed(&self) -> usize {
        depth(self.degree()) + usize::from(!self.is_canonical())
    }
}

/// The depth of `T_degree`, `⌈log2(degree + 1)⌉`: the levels [`evaluate_encrypted`] consumes for a polynomial
/// on `[-1, 1]` (see [`Chebyshev::levels_consumed`]).
pub const fn depth(degree: usize) -> usize {
    bit_length(degree)
}

/// `⌈log2(d + 1)⌉`.
const fn bit_length(d: usize) -> usize {
    (usize::BITS - d.leading_zeros()) as usize
}

/// An encryption of `p(x)` slot-wise (real or complex slots), at `x`'s level minus
/// [`Chebyshev::levels_consumed`] and scale `target_scale` (exactly, up to `f64` rounding). `x`'s slots should
/// lie in `[a, b]`; outside, `|T_i(y)|` grows like `|y|^i`. See the module documentation for the method and cost.
///
/// # Errors
/// [`Error::ValueOutOfRange`] unless `a < b` are finite, the coefficients finite and `target_scale` finite and
/// positive; [`Error::InvalidSlots`] if `x`'s slot count is not a power of two up to `N/2`;
/// [`Error::LevelOutOfRange`] if `x` is above the top level or has fewer than [`Chebyshev::levels_consumed`] levels left.
pub fn evaluate_encrypted<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ev: &Evaluator<'_, T>,
    x: &Ciphertext<Vec<u64>>,
    poly: &Chebyshev,
    rlk: &RelinearizationKey<K>,
    target_scale: f64,
) -> Result<Ciphertext<Vec<u64>>> {
    let (a, b) = poly.interval();
    let width = b - a;
    let finite = width.is_finite() && width > 0.0 && poly.coefficients.iter().all(|c| c.is_finite());
    if !finite || !target_scale.is_finite() || target_scale <= 0.0 {
        return Err(Error::ValueOutOfRange);
    }
    let params = ev.context().params();
    let (slots, max_slots) = (x.slots(), params.max_slots());
    if !slots.is_power_of_two() || slots > max_slots {
        return Err(Error::InvalidSlots { slots, max: max_slots });
    }
    let depth = poly.levels_consumed();
    let (level, max_level) = (x.level(), params.max_level());
    if level > max_level {
        return Err(Error::LevelOutOfRange { level, max: max_level });
    }
    if level < depth {
        return Err(Error::LevelOutOfRange { level: depth, max: level });
    }
    // y = α·x + β with α encoded at the scale q_level the rescale divides by, so y keeps x's scale.
    let mut y = x.clone();
    if !poly.is_canonical() {
        ev.mul_const_assign(&mut y, 2.0 / width, params.q()[level].value() as f64);
        ev.rescale_assign(&mut y)?;
        ev.add_const_assign(&mut y, -(a + b) / width);
    }
    let basis = PowerBasis::new(ev, rlk, y, poly.degree())?;
    let mut out = basis.evaluate(&poly.coefficients, level + 1 - depth, target_scale)?;
    ev.rescale_assign(&mut out)?;
    Ok(out)
}

/// `T_i(y)` for the baby steps `1 ≤ i < k` and the giant steps `i = k·2^j ≤ d`, `T_i` at level
/// `level(y) − ⌈log2 i⌉`.
struct PowerBasis<'a, T, K> {
    ev: &'a Evaluator<'a, T>,
    rlk: &'a RelinearizationKey<K>,
    powers: BTreeMap<usize, Ciphertext<Vec<u64>>>,
}

impl<'a, T: AsRef<[u64]>, K: AsRef<[u64]>> PowerBasis<'a, T, K> {
    fn new(
        ev: &'a Evaluator<'a, T>,
        rlk: &'a RelinearizationKey<K>,
        y: Ciphertext<Vec<u64>>,
        degree: usize,
    ) -> Result<Self> {
        let baby = 1 << (bit_length(degree) / 2).max(1);
        let mut basis = Self { ev, rlk, powers: BTreeMap::from([(1, y)]) };
        let giant = core::iter::successors(Some(baby), |g: &usize| g.checked_mul(2)).take_while(|&g| g <= degree);
        for i in (2..baby).chain(giant) {
            // i = a + (i − a) with a = 2^{⌈log2 i⌉ − 1}: depth ⌈log2 i⌉.
            let half = 1 << (i - 1).ilog2();
            let t = basis.product(half, i - half)?;
            basis.powers.insert(i, t);
        }
        Ok(basis)
    }

    /// A copy of `T_i` dropped to `level` (at most its own).
    fn at_level(&self, i: usize, level: usize) -> Result<Ciphertext<Vec<u64>>> {
        let t = &self.powers[&i];
        if level > t.level() {
            return Err(Error::LevelMismatch { left: t.level(), right: level });
        }
        Ciphertext::truncated(t, self.ev.context().degree(), level)
    }

    /// `T_{i+j} = 2·T_i·T_j − T_{|i−j|}` (`T_0 = 1`), one level below the lower of `T_i`, `T_j`. `T_{|i−j|}` is
    /// brought to the product's scale by an integer factor before the shared rescale (read in place).
    fn product(&self, i: usize, j: usize) -> Result<Ciphertext<Vec<u64>>> {
        let level = self.powers[&i].level().min(self.powers[&j].level());
        let mut out = self.at_level(i, level)?;
        self.ev.mul_relin_assign(&mut out, &self.at_level(j, level)?, self.rlk)?;
        self.ev.mul_const_assign(&mut out, 2.0, 1.0);
        match i.abs_diff(j) {
            0 => self.ev.add_const_assign(&mut out, -1.0),
            d => {
                let t = &self.powers[&d];
                let ratio = out.scale() / t.scale();
                self.ev.mul_const_add_assign(&mut out, t, -1.0, ratio)?;
            }
        }
        self.ev.rescale_assign(&mut out)?;
        Ok(out)
    }

    /// `Σ c_i·T_i` at `level` and scale `scale·q_level`, before the rescale to `scale` (done by the caller).
    ///
    /// Invariant (from the top call at `level(y) + 1 − m`): `deg < 2^{m'}` with `m' = level(y) + 1 − level`, so
    /// `T_g` with `g ≤ 2^{m'−1}` sits at `level` or above and the quotient fits one level up.
    fn evaluate(&self, coefficients: &[f64], level: usize, scale: f64) -> Result<Ciphertext<Vec<u64>>> {
        let degree = coefficients.iter().rposition(|&c| c != 0.0).unwrap_or(0);
        let coefficients = &coefficients[..=degree];
        let leaf = coefficients
            .iter()
            .enumerate()
            .skip(1)
            .all(|(i, &c)| c == 0.0 || self.powers.get(&i).is_some_and(|t| t.level() >= level));
        if leaf {
            return self.leaf(coefficients, level, scale);
        }
        // p = q·T_g + r with T_g = T_0·T_g and T_i = 2·T_{i−g}·T_g − T_{2g−i} for g < i < 2g.
        let g = 1 << degree.ilog2();
        let (mut quotient, mut remainder) = (vec![0.0; degree - g + 1], coefficients[..g].to_vec());
        quotient[0] = coefficients[g];
        for (i, &c) in coefficients.iter().enumerate().skip(g + 1) {
            quotient[i - g] += 2.0 * c;
            remainder[2 * g - i] -= c;
        }
        let t_g = self.at_level(g, level)?;
        let mut out = self.evaluate(&quotient, level + 1, scale * self.prime(level)? / t_g.scale())?;
        self.ev.rescale_assign(&mut out)?;
        self.ev.mul_relin_assign(&mut out, &t_g, self.rlk)?;
        self.ev.add_assign(&mut out, &self.evaluate(&remainder, level, scale)?)?;
        Ok(out)
    }

    /// `c_0 + Σ c_i·T_i` by scalar products alone, each `T_i` read in place: `c_i` is encoded at
    /// `scale·q_level / Δ_{T_i}`.
    fn leaf(&self, coefficients: &[f64], level: usize, scale: f64) -> Result<Ciphertext<Vec<u64>>> {
        let target = scale * self.prime(level)?;
        let (n, slots) = (self.ev.context().degree(), self.powers[&1].slots());
        let mut out = Ciphertext::zero(n, level, target, slots);
        for (i, &c) in coefficients.iter().enumerate().skip(1).filter(|&(_, &c)| c != 0.0) {
            let term = &self.powers[&i];
            self.ev.mul_const_add_assign(&mut out, term, c, target / term.scale())?;
        }
        self.ev.add_const_assign(&mut out, coefficients[0]);
        Ok(out)
    }

    /// `q_level` as a float.
    fn prime(&self, level: usize) -> Result<f64> {
        let q = self.ev.context().params().q();
        q.get(level).map(|m| m.value() as f64).ok_or(Error::LevelOutOfRange { level, max: q.len() - 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::encryption::{decrypt, encrypt_sk, plaintext_from_coefficients, plaintext_to_coefficients};
    use crate::ckks::{Context, Encoder, Params, SecretKey, presets};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    const TEST_SEED: u64 = 0x5EA1;

    /// `log2` of the largest absolute difference.
    fn max_error_bits(want: &[f64], have: &[f64]) -> f64 {
        libm::log2(want.iter().zip(have).map(|(w, h)| (w - h).abs()).fold(0.0, f64::max))
    }

    /// A uniform value in `[a, b]`.
    fn uniform(rng: &mut ChaCha20Rng, a: f64, b: f64) -> f64 {
        a + (b - a) * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    struct Fixture {
        ctx: Context<Vec<u64>>,
        sk: SecretKey<Vec<u64>>,
        rlk: RelinearizationKey<Vec<u64>>,
        encoder: Encoder<Vec<f64>>,
        rng: ChaCha20Rng,
    }

    impl Fixture {
        /// N = 2^11, 30 levels of ~2^40 primes at scale 2^40.
        fn new() -> Self {
            let ctx = Context::new(&Params::new(&presets::TEST_INSECURE_N2048_DEPTH30).unwrap()).unwrap();
            let mut rng = ChaCha20Rng::seed_from_u64(TEST_SEED);
            let sk = SecretKey::generate(&ctx, &mut rng);
            let rlk = RelinearizationKey::generate(&ctx, &sk, &mut rng);
            let encoder = Encoder::new(ctx.log_degree()).unwrap();
            Self { ctx, sk, rlk, encoder, rng }
        }

        /// `N/2` uniform values in `[a, b]`.
        fn inputs(&mut self, a: f64, b: f64) -> Vec<f64> {
            (0..self.ctx.params().max_slots()).map(|_| uniform(&mut self.rng, a, b)).collect()
        }

        fn encrypt(&mut self, values: &[f64], level: usize) -> Ciphertext<Vec<u64>> {
            let n = self.ctx.degree();
            let scale = self.ctx.params().default_scale();
            let mut coefficients = vec![0.0; n];
            self.encoder.encode_real(values, scale, &mut coefficients).unwrap();
            let storage = vec![0; (level + 1) * n];
            let pt =
                plaintext_from_coefficients(&self.ctx, &coefficients, level, scale, values.len(), storage).unwrap();
            let (mut scratch, mut small) = (vec![0; (level + 1) * n], vec![0i8; n]);
            let out = vec![0; 2 * (level + 1) * n];
            encrypt_sk(&self.ctx, &self.sk, &pt, &mut self.rng, out, &mut scratch, &mut small).unwrap()
        }

        fn decrypt(&self, ct: &Ciphertext<Vec<u64>>) -> Vec<f64> {
            let n = self.ctx.degree();
            let pt = decrypt(&self.ctx, &self.sk, ct, vec![0; (ct.level() + 1) * n]).unwrap();
            let mut coefficients = vec![0.0; n];
            plaintext_to_coefficients(&self.ctx, &pt, &mut vec![0; (ct.level() + 1) * n], &mut coefficients).unwrap();
            let (mut re, mut im) = (vec![0.0; ct.slots()], vec![0.0; ct.slots()]);
            self.encoder.decode(&coefficients, ct.scale(), &mut re, &mut im).unwrap();
            re
        }

        /// Encrypts uniform inputs on `poly`'s interval at `level`, evaluates, checks the output level and scale,
        /// and returns `log2` of the largest slot error against [`Chebyshev::evaluate`].
        fn evaluate_bits(&mut self, poly: &Chebyshev, level: usize, target_scale: f64) -> f64 {
            let (a, b) = poly.interval();
            let inputs = self.inputs(a, b);
            let x = self.encrypt(&inputs, level);
            let ev = Evaluator::new(&self.ctx);
            let out = evaluate_encrypted(&ev, &x, poly, &self.rlk, target_scale).unwrap();
            let d = poly.degree();
            assert_eq!(out.level(), level - poly.levels_consumed(), "degree {d}: output level");
            assert!((out.scale() / target_scale - 1.0).abs() <= 1e-12, "degree {d}: scale {}", out.scale());
            let want: Vec<f64> = inputs.iter().map(|&x| poly.evaluate(x)).collect();
            max_error_bits(&want, &self.decrypt(&out))
        }
    }

    #[test]
    fn interpolation_approximates_cos_and_exp() {
        let grid = |a: f64, b: f64| (0..=1000).map(move |i| a + (b - a) * i as f64 / 1000.0);
        let cos = Chebyshev::interpolate(libm::cos, -8.0, 8.0, 30);
        assert_eq!((cos.degree(), cos.interval()), (30, (-8.0, 8.0)));
        let worst = grid(-8.0, 8.0).map(|x| (cos.evaluate(x) - libm::cos(x)).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-9, "cos: {worst:e}");
        // Too low a degree must fail to approximate: the error is a property of the degree, not of the test.
        let coarse = Chebyshev::interpolate(libm::cos, -8.0, 8.0, 10);
        assert!(grid(-8.0, 8.0).any(|x| (coarse.evaluate(x) - libm::cos(x)).abs() > 1e-3));
        let exp = Chebyshev::interpolate(libm::exp, -1.0, 2.0, 20);
        let worst =
            grid(-1.0, 2.0).map(|x| ((exp.evaluate(x) - libm::exp(x)) / libm::exp(x)).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-13, "exp: {worst:e}");
    }

    #[test]
    fn interpolation_recovers_chebyshev_coefficients_and_clenshaw_matches_the_definition() {
        // x^3 = (3·T_1 + T_3)/4 on [-1, 1]; on [1, 5] the same polynomial of y = (x − 3)/2.
        let cube = Chebyshev::interpolate(|x| libm::pow((x - 3.0) / 2.0, 3.0), 1.0, 5.0, 3);
        for (have, want) in cube.coefficients().iter().zip([0.0, 0.75, 0.0, 0.25]) {
            assert!((have - want).abs() < 1e-15, "{:?}", cube.coefficients());
        }
        // Clenshaw against Σ c_i·cos(i·acos y).
        let poly = Chebyshev::from_coefficients(-2.0, 6.0, vec![0.5, -1.0, 0.25, 2.0, -0.125, 1.5]);
        for x in [-2.0, -1.3, 0.0, 2.0, 4.7, 6.0] {
            let theta = libm::acos((x - 2.0) / 4.0);
            let direct: f64 =
                poly.coefficients().iter().enumerate().map(|(i, c)| c * libm::cos(i as f64 * theta)).sum();
            assert!((poly.evaluate(x) - direct).abs() < 1e-14, "x = {x}");
        }
        let zero = Chebyshev::from_coefficients(0.0, 1.0, Vec::new());
        assert_eq!((zero.degree(), zero.evaluate(0.3)), (0, 0.0));
    }

    #[test]
    fn levels_consumed_is_the_depth_of_t_d_plus_the_affine_map() {
        let table = [(0, 1), (1, 2), (2, 3), (3, 3), (4, 4), (7, 4), (8, 5), (30, 6), (31, 6), (32, 7), (63, 7)];
        for (degree, levels) in table {
            let poly = |a, b| Chebyshev::from_coefficients(a, b, vec![1.0; degree + 1]);
            assert_eq!(poly(-2.0, 1.0).levels_consumed(), levels, "degree {degree}");
            assert_eq!(poly(-1.0, 1.0).levels_consumed(), levels - 1, "degree {degree} on [-1, 1]");
        }
    }

    // Error budget at N = 2^11, Δ = 2^40: a fresh encryption and each rescale leave about 2^-29..2^-28 of slot
    // error at unit scale, and the result's error is dominated by |dp/dy| times the noise of y (one rescale).

    #[test]
    fn encrypted_cosine_degree_30_on_minus_12_12_n2048_depth30() {
        let mut f = Fixture::new();
        let cos = Chebyshev::interpolate(|x| libm::cos(2.0 * PI * (x - 0.25) / 8.0), -12.0, 12.0, 30);
        let top = f.ctx.params().max_level();
        let bits = f.evaluate_bits(&cos, top, f.ctx.params().default_scale());
        // |dp/dy| ≤ 12·2π/8 ≈ 9.4, so ≈ 2^-26 is expected; measured 2^-25.5.
        assert!(bits < -24.0, "2^{bits}");
    }

    #[test]
    fn encrypted_random_polynomials_degree_7_and_63_n2048_depth30() {
        let mut f = Fixture::new();
        let top = f.ctx.params().max_level();
        for degree in [7, 63] {
            // Random coefficients decaying like an interpolant's, c_i ∈ [-1, 1]/(1 + i)², keep |dp/dy| ≲ 3. With
            // uniform c_i ∈ [-1, 1], |dp/dy| reaches 2^11 at degree 63, and the error |dp/dy|·noise(y) ≈ 2^-20
            // would measure the polynomial's conditioning rather than the evaluator.
            let coefficients = (0..=degree).map(|i| uniform(&mut f.rng, -1.0, 1.0) / ((1 + i) * (1 + i)) as f64);
            let poly = Chebyshev::from_coefficients(-3.0, 5.0, coefficients.collect());
            // A target scale that is neither a power of two nor a product of primes.
            let target = 1.2345 * f.ctx.params().default_scale();
            // Degree 7 at the lowest level it fits, so the result is at level 0.
            let level = if degree == 7 { poly.levels_consumed() } else { top };
            let bits = f.evaluate_bits(&poly, level, target);
            // Measured 2^-28.4 (degree 7) and 2^-28.3 (degree 63).
            assert!(bits < -26.0, "degree {degree}: 2^{bits}");
        }
    }

    #[test]
    fn encrypted_degree_0_and_1_n2048_depth30() {
        let mut f = Fixture::new();
        let scale = f.ctx.params().default_scale();
        for coefficients in [vec![0.75], vec![0.0], vec![-0.5, 2.0], vec![0.25, 0.0]] {
            let poly = Chebyshev::from_coefficients(-4.0, 4.0, coefficients);
            let bits = f.evaluate_bits(&poly, 3, scale);
            // Constants are exact; -0.5 + 2y = -0.5 + x/2 carries x's and one rescale's noise: measured 2^-28.0.
            assert!(bits < -26.0, "{:?}: 2^{bits}", poly.coefficients());
        }
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let mut f = Fixture::new();
        let inputs = f.inputs(-1.0, 1.0);
        let low = f.encrypt(&inputs, 3);
        let ev = Evaluator::new(&f.ctx);
        let poly = Chebyshev::from_coefficients(-1.0, 2.0, vec![0.0; 8]);
        let scale = f.ctx.params().default_scale();
        let run =
            |x: &Ciphertext<Vec<u64>>, poly: &Chebyshev, scale: f64| evaluate_encrypted(&ev, x, poly, &f.rlk, scale);
        assert_eq!(run(&low, &poly, scale), Err(Error::LevelOutOfRange { level: 4, max: 3 }));
        for (a, b) in [(1.0, 1.0), (2.0, -2.0), (f64::NAN, 1.0), (0.0, f64::INFINITY)] {
            assert_eq!(run(&low, &Chebyshev::from_coefficients(a, b, vec![1.0]), scale), Err(Error::ValueOutOfRange));
        }
        let nan = Chebyshev::from_coefficients(-1.0, 1.0, vec![1.0, f64::NAN]);
        assert_eq!(run(&low, &nan, scale), Err(Error::ValueOutOfRange));
        assert_eq!(run(&low, &Chebyshev::from_coefficients(-1.0, 1.0, vec![1.0]), 0.0), Err(Error::ValueOutOfRange));
        let mut above = low.clone();
        above.level = 31;
        assert_eq!(run(&above, &poly, scale), Err(Error::LevelOutOfRange { level: 31, max: 30 }));
        let mut odd = low.clone();
        odd.slots = 3;
        assert_eq!(
            run(&odd, &Chebyshev::from_coefficients(-1.0, 1.0, vec![1.0]), scale),
            Err(Error::InvalidSlots { slots: 3, max: 1024 })
        );
    }
}
