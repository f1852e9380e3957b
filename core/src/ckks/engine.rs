//! The evaluator that manages levels and scales, on owned ciphertexts: the arithmetic the trainer, the CLI and
//! the benches use, over the buffer-level [`Evaluator`].
//!
//! Invariant: every ciphertext has the parameters' default scale `Δ` (2^40 for the training presets), at any
//! level, so any two can be added, except where an operation below says it keeps a scale of its own. Plaintexts
//! and constants multiplied at level `ℓ` are encoded at `q_ℓ·Δ/Δ_a`, so those products rescale to exactly `Δ`;
//! an operand at a higher level is brought down by a multiplication by 1 at the right scale, also exactly.
//! [`Engine::mul`] keeps the true scale `Δ_a·Δ_b/q_ℓ` of a product; [`Engine::mul_nominal`] reads it at `Δ`,
//! a relative error `|Δ/q_ℓ − 1|` per product (≤ 1.3·10⁻⁶ with the presets' primes near 2^40) instead of a
//! scale chain whose relative drift doubles at every level. Operations that keep a scale of their own:
//! [`Engine::mul`], [`Engine::dot`], [`Engine::div_exact`] and [`Engine::scaled_to`]; an operand from a higher
//! level is brought down to their scale in sums, and plaintext products return to `Δ`.

use super::bootstrap::{Bootstrapper, fresh_level};
use super::encryption::plaintext_from_coefficients;
use super::polynomial::{Chebyshev, evaluate_encrypted};
use super::{Ciphertext, Context, Encoder, EvaluationKeys, Evaluator, GaloisKey, Plaintext, Slots};
use crate::{Error, Result};
use alloc::borrow::Cow;
use alloc::vec;
use alloc::vec::Vec;

/// An owned ciphertext.
pub type Ct = Ciphertext<Vec<u64>>;

#[cfg(feature = "std")]
std::thread_local! {
    /// Each thread's key-switching scratch, grown to the largest need seen.
    static SCRATCH: core::cell::RefCell<Vec<u64>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// The cloud's arithmetic: parameters, encoder and evaluation keys only (no secret key). `Sync`: callers may
/// share it between threads.
pub struct Engine<'a> {
    ctx: &'a Context<Vec<u64>>,
    encoder: &'a Encoder<Vec<f64>>,
    keys: &'a EvaluationKeys,
    bootstrapper: Option<&'a Bootstrapper>,
    scale: f64,
    /// The monomial `X^(N/2)` at the top level and scale 1: the imaginary unit in every slot.
    imaginary_unit: Plaintext<Vec<u64>>,
}

impl<'a> Engine<'a> {
    /// An engine over `ctx` with `keys`; fresh levels come from the key owner.
    pub fn new(ctx: &'a Context<Vec<u64>>, encoder: &'a Encoder<Vec<f64>>, keys: &'a EvaluationKeys) -> Self {
        let (n, top) = (ctx.degree(), ctx.params().max_level());
        let mut monomial = vec![0.0; n];
        monomial[n / 2] = 1.0;
        let imaginary_unit = plaintext_from_coefficients(ctx, &monomial, top, 1.0, n / 2, vec![0; (top + 1) * n])
            .unwrap_or_else(|_| unreachable!("a monomial fits every level"));
        Self { ctx, encoder, keys, bootstrapper: None, scale: ctx.params().default_scale(), imaginary_unit }
    }

    /// An engine that bootstraps full ciphertexts with `bootstrapper` (of `ctx`'s parameters, `N/2` slots at the
    /// default scale).
    ///
    /// # Errors
    /// [`Error::CannotBootstrap`] if `keys` hold no encapsulation keys; [`Error::SlotsMismatch`] for a
    /// bootstrapper of fewer slots.
    pub fn bootstrapping(
        ctx: &'a Context<Vec<u64>>,
        encoder: &'a Encoder<Vec<f64>>,
        keys: &'a EvaluationKeys,
        bootstrapper: &'a Bootstrapper,
    ) -> Result<Self> {
        keys.encapsulation()?;
        if bootstrapper.slots() != ctx.degree() / 2 {
            return Err(Error::SlotsMismatch { left: ctx.degree() / 2, right: bootstrapper.slots() });
        }
        Ok(Self { bootstrapper: Some(bootstrapper), ..Self::new(ctx, encoder, keys) })
    }

    /// Whether this engine makes fresh levels itself.
    pub fn bootstraps(&self) -> bool {
        self.bootstrapper.is_some()
    }

    /// The level of a fresh ciphertext ([`fresh_level`]): where the key owner encrypts and bootstrapping lands.
    pub fn fresh_level(&self) -> usize {
        fresh_level(self.ctx.params().literal())
    }

    /// Bootstraps done so far (0 without bootstrapping).
    pub fn bootstraps_done(&self) -> usize {
        self.bootstrapper.map_or(0, Bootstrapper::bootstraps_done)
    }

    /// `a` (values in about `[-1, 1]`, any level, `N/2` slots) at [`Self::fresh_level`].
    ///
    /// # Errors
    /// [`Error::CannotBootstrap`] without a bootstrapper.
    pub fn bootstrap(&self, a: &Ct) -> Result<Ct> {
        let bootstrapper = self.bootstrapper.ok_or(Error::CannotBootstrap)?;
        bootstrapper.bootstrap(&Evaluator::new(self.ctx), a, self.keys)
    }

    /// The number of slots (`N/2`).
    pub fn slots(&self) -> usize {
        self.ctx.degree() / 2
    }

    /// The (public, trivial) encryption of zero at `level`: the trainer's initial weights.
    pub fn zero(&self, level: usize) -> Ct {
        Ct::zero(self.ctx.degree(), level, self.scale, self.slots())
    }

    fn q(&self, level: usize) -> f64 {
        self.ctx.params().q()[level].value() as f64
    }

    /// `f` with an evaluator and key-switching scratch for `level`: this thread's reusable buffer with `std`
    /// (fresh pages cost more than the arithmetic of some operations), a new one otherwise.
    fn with_scratch<R>(&self, level: usize, f: impl FnOnce(&Evaluator<'_, Vec<u64>>, &mut [u64]) -> R) -> R {
        let ev = Evaluator::new(self.ctx);
        let words = ev.scratch_words(level);
        #[cfg(feature = "std")]
        return SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            if scratch.len() < words {
                scratch.resize(words, 0);
            }
            f(&ev, &mut scratch[..])
        });
        #[cfg(not(feature = "std"))]
        f(&ev, &mut vec![0; words])
    }

    fn rescale(&self, a: &mut Ct) -> Result<()> {
        Evaluator::new(self.ctx).rescale_assign(a)
    }

    /// `a` at `level` (not above its own), scale `Δ`.
    pub fn align(&self, a: &Ct, level: usize) -> Result<Ct> {
        self.align_to(a, level, self.scale)
    }

    /// `a` at `level` (not above its own) and scale `scale`, exactly: [`Self::scaled_to`] by 1. At its own level
    /// `a` is returned as it is.
    pub fn align_to(&self, a: &Ct, level: usize, scale: f64) -> Result<Ct> {
        if a.level() == level { Ok(a.clone()) } else { self.scaled_to(a, 1.0, level, scale) }
    }

    /// `c·a` at `level` (below `a`'s) and scale `scale`, exactly: levels dropped, the last by a rescale after a
    /// constant product that lands there.
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`] if `level` is not below `a`'s.
    pub fn scaled_to(&self, a: &Ct, c: f64, level: usize, scale: f64) -> Result<Ct> {
        if a.level() <= level {
            return Err(Error::LevelOutOfRange { level, max: a.level().saturating_sub(1) });
        }
        let mut out = Ct::truncated(a, self.ctx.degree(), level + 1)?;
        let factor = self.q(level + 1) * scale / out.scale();
        Evaluator::new(self.ctx).mul_const_assign(&mut out, c, factor);
        self.rescale(&mut out)?;
        out.set_scale(scale);
        Ok(out)
    }

    /// [`Self::align`], borrowing `a` where it already is at `level`.
    fn borrow_aligned<'c>(&self, a: &'c Ct, level: usize) -> Result<Cow<'c, Ct>> {
        if a.level() == level { Ok(Cow::Borrowed(a)) } else { Ok(Cow::Owned(self.align(a, level)?)) }
    }

    /// `a` and `b` at the lower of their levels; the higher one takes the lower one's scale.
    fn aligned(&self, a: &Ct, b: &Ct) -> Result<(Ct, Ct)> {
        match a.level().cmp(&b.level()) {
            core::cmp::Ordering::Less => Ok((a.clone(), self.align_to(b, a.level(), a.scale())?)),
            core::cmp::Ordering::Greater => Ok((self.align_to(a, b.level(), b.scale())?, b.clone())),
            core::cmp::Ordering::Equal => Ok((a.clone(), b.clone())),
        }
    }

    /// `a · b` (one level) at its true scale `Δ_a·Δ_b/q_ℓ`, exactly. Sums and differences with operands from
    /// higher levels take this scale.
    ///
    /// # Errors
    /// [`Error::OutOfLevels`] if an operand is at level 0.
    pub fn mul(&self, a: &Ct, b: &Ct) -> Result<Ct> {
        let (mut x, y) = self.aligned(a, b)?;
        let level = x.level();
        if level == 0 {
            return Err(Error::OutOfLevels { level, needed: 1 });
        }
        self.with_scratch(level, |ev, scratch| {
            ev.mul_relin_assign_with(&mut x, &y, &self.keys.relinearization, scratch)
        })?;
        self.rescale(&mut x)?;
        Ok(x)
    }

    /// `a · b` (one level), read at scale `Δ`. Its true scale is `Δ_a·Δ_b/q_ℓ`, about `10⁻⁶` from `Δ` for
    /// operands at `Δ` (the primes' distance from `Δ`), so every slot is off by that one factor: harmless where a
    /// later normalization cancels it or nothing amplifies it — never in iterations such as Goldschmidt's
    /// `t^(2^j)` for `t` near 1, which turn a relative `ε` into an absolute `2^j·ε` (use [`Self::mul`] there).
    ///
    /// # Errors
    /// [`Error::OutOfLevels`] if an operand is at level 0.
    pub fn mul_nominal(&self, a: &Ct, b: &Ct) -> Result<Ct> {
        let mut x = self.mul(a, b)?;
        x.set_scale(self.scale);
        Ok(x)
    }

    /// `Σ a_i · b_i` over `pairs` (non-empty), relinearized once (one level), at its true scale `Δ_a·Δ_b/q_ℓ`
    /// (the operands brought to one level at `Δ` where they differ).
    ///
    /// # Errors
    /// [`Error::NoOperands`] if `pairs` is empty, [`Error::OutOfLevels`] if some operand is at level 0.
    pub fn dot(&self, pairs: &[(&Ct, &Ct)]) -> Result<Ct> {
        let level = pairs.iter().flat_map(|(a, b)| [a.level(), b.level()]).min().ok_or(Error::NoOperands)?;
        if level == 0 {
            return Err(Error::OutOfLevels { level, needed: 1 });
        }
        let aligned: Vec<(Cow<Ct>, Cow<Ct>)> = pairs
            .iter()
            .map(|(a, b)| Ok((self.borrow_aligned(a, level)?, self.borrow_aligned(b, level)?)))
            .collect::<Result<_>>()?;
        let ((first, second), rest) = aligned.split_first().ok_or(Error::NoOperands)?;
        let more: Vec<(&Ct, &Ct)> = rest.iter().map(|(a, b)| (a.as_ref(), b.as_ref())).collect();
        let mut x = first.clone().into_owned();
        self.with_scratch(level, |ev, scratch| {
            ev.dot_relin_assign_with(&mut x, second, &more, &self.keys.relinearization, scratch)
        })?;
        self.rescale(&mut x)?;
        Ok(x)
    }

    /// The slot-wise product of `a` with plaintext `values` (one level).
    pub fn mul_values(&self, a: &Ct, values: &[f64]) -> Result<Ct> {
        let level = a.level();
        if level == 0 {
            return Err(Error::OutOfLevels { level, needed: 1 });
        }
        let scale = self.q(level) * self.scale / a.scale();
        let pt = self.encode(values, level, scale)?;
        let mut out = a.clone();
        Evaluator::new(self.ctx).mul_plain_assign(&mut out, &pt)?;
        self.rescale(&mut out)?;
        out.set_scale(self.scale);
        Ok(out)
    }

    /// `c · a` (one level).
    pub fn mul_scalar(&self, a: &Ct, c: f64) -> Result<Ct> {
        let level = a.level();
        if level == 0 {
            return Err(Error::OutOfLevels { level, needed: 1 });
        }
        let mut out = a.clone();
        Evaluator::new(self.ctx).mul_const_assign(&mut out, c, self.q(level) * self.scale / a.scale());
        self.rescale(&mut out)?;
        out.set_scale(self.scale);
        Ok(out)
    }

    /// `a/d` exactly (`d > 0`): the same ciphertext read at `d` times its scale (no level, no noise). Like
    /// [`Self::mul`]'s products, it takes its own scale into sums with operands from higher levels.
    pub fn div_exact(&self, a: &Ct, d: f64) -> Ct {
        let mut out = a.clone();
        out.set_scale(d * a.scale());
        out
    }

    /// `p(a)` slot-wise for a polynomial on `[-1, 1]` (where `a`'s slots should lie), at scale `Δ`: Chebyshev
    /// baby-step giant-step, [`Chebyshev::levels_consumed`] levels.
    ///
    /// # Errors
    /// [`Error::PolynomialInterval`] if `p` is not on `[-1, 1]`, or an error of too few levels.
    pub fn polynomial(&self, a: &Ct, p: &Chebyshev) -> Result<Ct> {
        if p.interval() != (-1.0, 1.0) {
            return Err(Error::PolynomialInterval);
        }
        evaluate_encrypted(&Evaluator::new(self.ctx), a, p, &self.keys.relinearization, self.scale)
    }

    /// `a + b`.
    pub fn add(&self, a: &Ct, b: &Ct) -> Result<Ct> {
        let (mut x, y) = self.aligned(a, b)?;
        Evaluator::new(self.ctx).add_assign(&mut x, &y)?;
        Ok(x)
    }

    /// `a − b`.
    pub fn sub(&self, a: &Ct, b: &Ct) -> Result<Ct> {
        let (mut x, y) = self.aligned(a, b)?;
        Evaluator::new(self.ctx).sub_assign(&mut x, &y)?;
        Ok(x)
    }

    /// The sum of non-empty `parts`.
    ///
    /// # Errors
    /// [`Error::NoOperands`] if `parts` is empty.
    pub fn sum(&self, parts: &[Ct]) -> Result<Ct> {
        let (first, rest) = parts.split_first().ok_or(Error::NoOperands)?;
        rest.iter().try_fold(first.clone(), |acc, p| self.add(&acc, p))
    }

    /// `a + values` slot-wise.
    pub fn add_values(&self, a: &Ct, values: &[f64]) -> Result<Ct> {
        let pt = self.encode(values, a.level(), a.scale())?;
        let mut out = a.clone();
        Evaluator::new(self.ctx).add_plain_assign(&mut out, &pt)?;
        Ok(out)
    }

    /// `c − a` in every slot.
    pub fn scalar_minus(&self, c: f64, a: &Ct) -> Ct {
        let ev = Evaluator::new(self.ctx);
        let mut out = a.clone();
        ev.neg_assign(&mut out);
        ev.add_const_assign(&mut out, c);
        out
    }

    /// `a + c` in every slot.
    pub fn add_scalar(&self, a: &Ct, c: f64) -> Ct {
        let mut out = a.clone();
        Evaluator::new(self.ctx).add_const_assign(&mut out, c);
        out
    }

    /// `a` rotated left by `steps` slots (right for negative): one key switch when a key for `steps` exists,
    /// otherwise one per binary digit of `|steps|` with the `±2^m` keys.
    pub fn rotate(&self, a: &Ct, steps: i64) -> Result<Ct> {
        let slots = self.slots() as i64;
        let mut steps = steps.rem_euclid(slots);
        if steps > slots / 2 {
            steps -= slots;
        }
        let mut out = a.clone();
        let parts: Vec<i64> = if steps == 0 || self.key(steps).is_ok() {
            vec![steps]
        } else {
            (0..63).filter(|m| steps.unsigned_abs() >> m & 1 == 1).map(|m| steps.signum() << m).collect()
        };
        for part in parts.into_iter().filter(|&p| p != 0) {
            let key = self.key(part)?;
            self.with_scratch(out.level(), |ev, scratch| ev.apply_galois_assign_with(&mut out, key, scratch))?;
        }
        Ok(out)
    }

    /// `i·a` in every slot: a product with the monomial `X^(N/2)`, exact (no level, no noise).
    ///
    /// # Errors
    /// If `a` has other slots than the engine's.
    pub fn mul_i(&self, a: &Ct) -> Result<Ct> {
        let mut out = a.clone();
        Evaluator::new(self.ctx).mul_plain_assign(&mut out, &self.imaginary_unit)?;
        Ok(out)
    }

    /// The complex conjugate of `a` in every slot (one key switch).
    ///
    /// # Errors
    /// If the conjugation key is missing.
    pub fn conjugate(&self, a: &Ct) -> Result<Ct> {
        let key = self.keys.conjugation(self.ctx.degree())?;
        let mut out = a.clone();
        self.with_scratch(out.level(), |ev, scratch| ev.apply_galois_assign_with(&mut out, key, scratch))?;
        Ok(out)
    }

    /// `2·(re + im rotated by steps)` for `a = re + i·im` slot-wise (`re`, `im` real): two real vectors carried as
    /// one complex one, unpaired by one conjugation and one rotation (`a + ā = 2·re`, `i·(ā − a) = 2·im`).
    ///
    /// # Errors
    /// If the conjugation key or the rotation's is missing.
    pub fn unpair(&self, a: &Ct, steps: i64) -> Result<Ct> {
        let conjugate = self.conjugate(a)?;
        let imaginary = self.mul_i(&self.sub(&conjugate, a)?)?;
        self.add(&self.add(a, &conjugate)?, &self.rotate(&imaginary, steps)?)
    }

    /// `a` rotated by each of `steps` (keys for each needed), sharing one decomposition.
    pub fn rotate_hoisted(&self, a: &Ct, steps: &[i64]) -> Result<Vec<Ct>> {
        let keys: Vec<&GaloisKey<Vec<u64>>> = steps.iter().map(|&s| self.key(s)).collect::<Result<_>>()?;
        let n = self.ctx.degree();
        let mut outs: Vec<Ct> = steps.iter().map(|_| Ct::zero(n, a.level(), a.scale(), a.slots())).collect();
        self.with_scratch(a.level(), |ev, scratch| ev.rotate_hoisted_with(a, &keys, &mut outs, scratch))?;
        Ok(outs)
    }

    /// `a + Σ_s a rotated by s` over `steps` (a key for each), doubly hoisted: about two rotations' cost and
    /// one's noise ([`Evaluator::rotation_sum_assign`]).
    pub fn rotation_sum(&self, a: &Ct, steps: &[i64]) -> Result<Ct> {
        let keys: Vec<&GaloisKey<Vec<u64>>> = steps.iter().map(|&s| self.key(s)).collect::<Result<_>>()?;
        let mut out = a.clone();
        self.with_scratch(a.level(), |ev, scratch| ev.rotation_sum_assign_with(&mut out, &keys, scratch))?;
        Ok(out)
    }

    fn key(&self, steps: i64) -> Result<&GaloisKey<Vec<u64>>> {
        self.keys.rotation(self.ctx.degree(), steps)
    }

    fn encode(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext<Vec<u64>>> {
        Slots::new(self.ctx, self.encoder).encode(values, &[], level, scale)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::keys::{conjugation_galois_element, rotation_galois_element};
    use crate::ckks::{Decryptor, EncryptionKey, Encryptor, Params, RelinearizationKey, SecretKey, presets};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn every_operation_matches_f64_and_levels_align() {
        let params = Params::new(&presets::TEST_INSECURE_N2048_DEPTH30).unwrap();
        let ctx = Context::new(&params).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(0xE61E);
        let sk = SecretKey::generate(&ctx, &mut rng);
        let n = ctx.degree();
        let mut elements: Vec<u64> = [1, -1, 2, -2, 4, -4, 16].map(|s| rotation_galois_element(n, s)).to_vec();
        elements.push(conjugation_galois_element(n));
        let keys = EvaluationKeys {
            relinearization: RelinearizationKey::generate(&ctx, &sk, &mut rng),
            galois: elements.iter().map(|&g| GaloisKey::generate(&ctx, &sk, g, &mut rng)).collect(),
            encapsulation: None,
        };
        let engine = Engine::new(&ctx, &encoder, &keys);
        let slots = engine.slots();
        let encryptor = Encryptor::new(&ctx, &encoder, EncryptionKey::Secret(&sk));
        let decryptor = Decryptor::new(&ctx, &encoder, &sk);
        let (fresh, scale) = (engine.fresh_level(), params.default_scale());
        let rng = core::cell::RefCell::new(rng);
        let encrypt = |values: &[f64]| encryptor.encrypt(values, &[], fresh, scale, &mut *rng.borrow_mut()).unwrap();
        let a: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.37).sin()).collect();
        let b: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.11).cos()).collect();
        let (ca, cb) = (encrypt(&a), encrypt(&b));
        let close = |ct: &Ct, want: &dyn Fn(usize) -> f64, tol: f64| {
            let have = decryptor.decrypt(ct).unwrap();
            let worst = (0..slots).map(|i| (have[i] - want(i)).abs()).fold(0.0, f64::max);
            assert!(worst < tol, "error {worst}");
        };
        let ab = engine.mul_nominal(&ca, &cb).unwrap();
        close(&ab, &|i| a[i] * b[i], 1e-6);
        let dot = engine.dot(&[(&ca, &cb), (&ab, &ca)]).unwrap();
        close(&dot, &|i| a[i] * b[i] + a[i] * b[i] * a[i], 1e-6);
        assert!(engine.dot(&[]).is_err());
        let p = Chebyshev::interpolate(|x| 1.0 / (x + 1.5), -1.0, 1.0, 15);
        let px = engine.polynomial(&ca, &p).unwrap();
        assert_eq!(px.level(), ca.level() - 4);
        close(&px, &|i| p.evaluate(a[i]), 1e-6);
        assert!(engine.polynomial(&ca, &Chebyshev::interpolate(|x| x, 0.0, 1.0, 3)).is_err());
        // Deep chain, then add operands from very different levels.
        let mut deep = ab.clone();
        for _ in 0..10 {
            deep = engine.mul_scalar(&deep, 1.05).unwrap();
        }
        let mixed = engine.add(&deep, &ca).unwrap();
        close(&mixed, &|i| a[i] * b[i] * 1.05f64.powi(10) + a[i], 1e-5);
        let masked = engine.mul_values(&mixed, &b).unwrap();
        close(&masked, &|i| (a[i] * b[i] * 1.05f64.powi(10) + a[i]) * b[i], 1e-5);
        let shifted = engine.add_values(&engine.add_scalar(&engine.scalar_minus(2.0, &ca), 0.5), &b).unwrap();
        close(&shifted, &|i| 2.5 - a[i] + b[i], 1e-6);
        for steps in [1, -1, 7, -6, 16] {
            let r = engine.rotate(&ca, steps).unwrap();
            close(&r, &|i| a[(i as i64 + steps).rem_euclid(slots as i64) as usize], 1e-6);
        }
        // Division by the scale is exact and spends no level; an operand from a higher level takes its scale.
        let third = engine.div_exact(&ab, 3.0);
        assert_eq!(third.level(), ab.level());
        close(&engine.add(&third, &ca).unwrap(), &|i| a[i] * b[i] / 3.0 + a[i], 1e-6);
        // A constant product lands on any lower level and scale; the sum with it keeps that scale.
        let scaled = engine.scaled_to(&ca, -0.75, third.level(), third.scale()).unwrap();
        close(&engine.sub(&third, &scaled).unwrap(), &|i| a[i] * b[i] / 3.0 + 0.75 * a[i], 1e-6);
        assert!(engine.scaled_to(&third, 2.0, third.level(), third.scale()).is_err());
        // a + i·b: its real part is a; times i, −b; conjugated, then times i, b. No level is spent.
        let complex = engine.add(&ca, &engine.mul_i(&cb).unwrap()).unwrap();
        close(&complex, &|i| a[i], 1e-6);
        close(&engine.mul_i(&complex).unwrap(), &|i| -b[i], 1e-6);
        let conjugated = engine.conjugate(&complex).unwrap();
        close(&engine.mul_i(&conjugated).unwrap(), &|i| b[i], 1e-6);
        assert_eq!(conjugated.level(), ca.level());
        close(&engine.unpair(&complex, 1).unwrap(), &|i| 2.0 * (a[i] + b[(i + 1) % slots]), 1e-6);
        let hoisted = engine.rotate_hoisted(&cb, &[2, -4]).unwrap();
        close(&hoisted[1], &|i| b[(i + slots - 4) % slots], 1e-6);
        assert!(engine.rotate_hoisted(&cb, &[3]).is_err(), "no key for 3");
        assert!(engine.align(&deep, deep.level() + 1).is_err());
        // t^(2^14) for t near 1 (Goldschmidt's powers): exact scales keep it to its noise (the fresh noise times
        // 2^14, ~2·10⁻⁵ relative); reading every square at Δ is off by ~2^14·10⁻⁶.
        let t = 1.0 - 1.0 / 2981.0;
        let (mut exact, mut nominal) = (encrypt(&vec![t; slots]), encrypt(&vec![t; slots]));
        for _ in 0..14 {
            exact = engine.mul(&exact, &exact).unwrap();
            nominal = engine.mul_nominal(&nominal, &nominal).unwrap();
        }
        let want = t.powi(1 << 14);
        close(&exact, &|_| want, 1e-4 * want);
        let off = (decryptor.decrypt(&nominal).unwrap()[0] - want).abs();
        assert!(off > 2e-3 * want, "nominal scales should drift: {off}");
        // A sum with an operand from a higher level takes the exact scale.
        let sum = engine.add(&exact, &ca).unwrap();
        close(&sum, &|i| want + a[i], 1e-6);
    }
}
