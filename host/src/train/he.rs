//! CKKS arithmetic on owned ciphertexts with managed scales, for the trainer.
//!
//! Invariant: every ciphertext has the parameters' default scale `Δ` (2^40 for the training preset), at any
//! level, so any two can be added, except where an operation below says it keeps a scale of its own. Plaintexts and constants multiplied at level `ℓ` are encoded at
//! `q_ℓ·Δ/Δ_a`, so those products rescale to exactly `Δ`; an operand at a higher level is brought down by a
//! multiplication by 1 at the right scale, also exactly. A product of two ciphertexts rescales to `Δ²/q_ℓ`
//! and is relabelled `Δ`: a relative error `|Δ/q_ℓ − 1|` per product (≤ 1.3·10⁻⁶ with the presets' primes near
//! 2^40), instead of a scale chain `Δ_{ℓ−1} = Δ_ℓ²/q_ℓ` whose relative drift doubles at every level.
//! Operations that keep a scale of their own, for exactness: [`Engine::mul_exact`], [`Engine::dot`] (whose
//! products go on to a mask that lands on `Δ`), [`Engine::div_exact`] and [`Engine::scaled_to`]; an operand from
//! a higher level is brought down to their scale in sums, and plaintext products return to `Δ`.

use crate::keystore::EvaluationKeys;
use anyhow::{Context as _, Result, anyhow};
use medblind_core::ckks::bootstrap::{BootstrapKeys, BootstrapLiteral, Bootstrapper};
use medblind_core::ckks::encryption::plaintext_from_coefficients;
use medblind_core::ckks::keys::{conjugation_galois_element, find_galois_key, rotation_galois_element};
use medblind_core::ckks::polynomial::{Chebyshev, evaluate_encrypted};
use medblind_core::ckks::{
    Ciphertext, Context, Encoder, Evaluator, GaloisKey, Params, Plaintext, RelinearizationKey, SecretKey, Slots,
    presets,
};
use medblind_core::wire::KeyId;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use zeroize::Zeroizing;

/// An owned ciphertext.
pub type Ct = Ciphertext<Vec<u64>>;

thread_local! {
    static SCRATCH: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// The level of a fresh ciphertext under `params`: where the key owner encrypts. With a bootstrapping
/// configuration ([`presets::bootstrapping_for`]) that is bootstrapping's output level — the levels above are
/// bootstrapping's own — and the top level otherwise.
pub fn fresh_level(params: &Params) -> usize {
    presets::bootstrapping_for(params.literal()).map_or(params.max_level(), |b| b.output_level())
}

/// The evaluation keys the cloud holds, and the key pair they belong to (which every ciphertext the cloud reads
/// or writes must name). None of them reveals the secret key.
pub struct CloudKeys {
    /// The key pair.
    pub key: KeyId,
    /// The keys.
    pub set: CloudKeySet,
}

/// Relinearization and rotation keys, and the sparse-secret encapsulation's switching keys when the cloud
/// bootstraps.
pub enum CloudKeySet {
    /// Relinearization and Galois keys: fresh levels come from the key owner's refreshes.
    Evaluation {
        /// The relinearization key.
        relinearization: RelinearizationKey<Vec<u64>>,
        /// Galois keys, one per rotation.
        galois: Vec<GaloisKey<Vec<u64>>>,
    },
    /// Those and the encapsulation keys: the cloud bootstraps (its Galois keys serve the trainer's rotations and
    /// bootstrapping's alike).
    Bootstrapping(BootstrapKeys),
}

impl CloudKeys {
    /// The keys of a file, checked to rotate by every one of `steps` and to conjugate.
    ///
    /// # Errors
    /// If the rotation by some step has no key.
    pub fn from_file(degree: usize, keys: EvaluationKeys, steps: &[i64]) -> Result<Self> {
        for &s in steps {
            find_galois_key(&keys.galois, rotation_galois_element(degree, s))
                .map_err(|_| anyhow!("no key for the rotation by {s} slots"))?;
        }
        find_galois_key(&keys.galois, conjugation_galois_element(degree))
            .map_err(|_| anyhow!("no conjugation key (the trainer's logits need it)"))?;
        let EvaluationKeys { key, relinearization, galois, encapsulation } = keys;
        let set = match encapsulation {
            None => CloudKeySet::Evaluation { relinearization, galois },
            Some([to_sparse, from_sparse]) => {
                CloudKeySet::Bootstrapping(BootstrapKeys { relinearization, galois, to_sparse, from_sparse })
            }
        };
        Ok(Self { key, set })
    }

    /// The keys as a file holds them.
    pub fn into_file(self) -> EvaluationKeys {
        let key = self.key;
        match self.set {
            CloudKeySet::Evaluation { relinearization, galois } => {
                EvaluationKeys { key, relinearization, galois, encapsulation: None }
            }
            CloudKeySet::Bootstrapping(BootstrapKeys { relinearization, galois, to_sparse, from_sparse }) => {
                EvaluationKeys { key, relinearization, galois, encapsulation: Some([to_sparse, from_sparse]) }
            }
        }
    }

    /// The relinearization key.
    pub fn relinearization(&self) -> &RelinearizationKey<Vec<u64>> {
        match &self.set {
            CloudKeySet::Evaluation { relinearization, .. } => relinearization,
            CloudKeySet::Bootstrapping(keys) => &keys.relinearization,
        }
    }

    /// Every Galois key.
    pub fn galois(&self) -> &[GaloisKey<Vec<u64>>] {
        match &self.set {
            CloudKeySet::Evaluation { galois, .. } => galois,
            CloudKeySet::Bootstrapping(keys) => &keys.galois,
        }
    }

    /// Whether they can bootstrap.
    pub fn bootstraps(&self) -> bool {
        matches!(self.set, CloudKeySet::Bootstrapping(_))
    }
}

/// The cloud's bootstrapping of full ciphertexts (`N/2` slots: a batch's intermediate values, and the packed
/// weights, which repeat with a shorter period but gain little from a sparse bootstrapper of their own — 3 s of
/// 35 — while it would cost its plaintexts and ten more keys, about 5 GiB at N = 2^16).
pub struct Bootstrapping {
    bootstrapper: Bootstrapper,
    count: AtomicUsize,
}

impl Bootstrapping {
    /// Precomputes bootstrapping under `ctx` (built from `literal.params`).
    ///
    /// # Errors
    /// If `ctx` is not `literal`'s.
    pub fn new(ctx: &Context<Vec<u64>>, literal: &BootstrapLiteral) -> Result<Self> {
        if ctx.params().literal() != literal.params {
            return Err(anyhow!("bootstrapping is configured for parameter set {}", literal.params.name));
        }
        let bootstrapper = Bootstrapper::new(ctx, literal, ctx.degree() / 2, ctx.params().default_scale())?;
        Ok(Self { bootstrapper, count: AtomicUsize::new(0) })
    }

    /// Bootstraps done so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// The cloud's arithmetic: parameters, encoder and evaluation keys only (no secret key). `Sync`: the trainer
/// shares it between threads.
pub struct Engine<'a> {
    ctx: &'a Context<Vec<u64>>,
    encoder: &'a Encoder<Vec<f64>>,
    keys: &'a CloudKeys,
    bootstrapping: Option<&'a Bootstrapping>,
    scale: f64,
    /// The monomial `X^(N/2)` at the top level and scale 1: the imaginary unit in every slot.
    imaginary_unit: Plaintext<Vec<u64>>,
}

impl<'a> Engine<'a> {
    /// An engine over `ctx` with `keys`; fresh levels come from the key owner.
    pub fn new(ctx: &'a Context<Vec<u64>>, encoder: &'a Encoder<Vec<f64>>, keys: &'a CloudKeys) -> Self {
        let (n, top) = (ctx.degree(), ctx.params().max_level());
        let mut monomial = vec![0.0; n];
        monomial[n / 2] = 1.0;
        let imaginary_unit = plaintext_from_coefficients(ctx, &monomial, top, 1.0, n / 2, vec![0; (top + 1) * n])
            .expect("a monomial fits every level");
        Self { ctx, encoder, keys, bootstrapping: None, scale: ctx.params().default_scale(), imaginary_unit }
    }

    /// An engine that bootstraps with `bootstrapping`.
    ///
    /// # Errors
    /// If `keys` hold no encapsulation keys.
    pub fn bootstrapping(
        ctx: &'a Context<Vec<u64>>,
        encoder: &'a Encoder<Vec<f64>>,
        keys: &'a CloudKeys,
        bootstrapping: &'a Bootstrapping,
    ) -> Result<Self> {
        if !keys.bootstraps() {
            return Err(anyhow!("these evaluation keys cannot bootstrap (no encapsulation keys)"));
        }
        Ok(Self { bootstrapping: Some(bootstrapping), ..Self::new(ctx, encoder, keys) })
    }

    /// Whether this engine makes fresh levels itself.
    pub fn bootstraps(&self) -> bool {
        self.bootstrapping.is_some()
    }

    /// The level of a fresh ciphertext ([`fresh_level`]): where the key owner encrypts and bootstrapping lands.
    pub fn fresh_level(&self) -> usize {
        fresh_level(self.ctx.params())
    }

    /// Bootstraps done so far (0 without bootstrapping).
    pub fn bootstraps_done(&self) -> usize {
        self.bootstrapping.map_or(0, Bootstrapping::count)
    }

    /// `a` (values in about `[-1, 1]`, any level, `N/2` slots) at [`Self::fresh_level`].
    ///
    /// # Errors
    /// Without bootstrapping.
    pub fn bootstrap(&self, a: &Ct) -> Result<Ct> {
        let (Some(b), CloudKeySet::Bootstrapping(keys)) = (self.bootstrapping, &self.keys.set) else {
            return Err(anyhow!("this engine does not bootstrap"));
        };
        let out = b.bootstrapper.bootstrap(&Evaluator::new(self.ctx), a, keys)?;
        b.count.fetch_add(1, Ordering::Relaxed);
        Ok(out)
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

    fn with_scratch<R>(&self, level: usize, f: impl FnOnce(&Evaluator<'_, Vec<u64>>, &mut [u64]) -> R) -> R {
        let ev = Evaluator::new(self.ctx);
        SCRATCH.with(|cell| {
            let mut scratch = cell.borrow_mut();
            let words = ev.scratch_words(level);
            if scratch.len() < words {
                scratch.resize(words, 0);
            }
            f(&ev, &mut scratch[..])
        })
    }

    fn rescale(&self, a: &mut Ct) -> Result<()> {
        Evaluator::new(self.ctx).rescale_assign(a)?;
        Ok(())
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
    /// If `level` is not below `a`'s.
    pub fn scaled_to(&self, a: &Ct, c: f64, level: usize, scale: f64) -> Result<Ct> {
        if a.level() <= level {
            return Err(anyhow!("a constant product cannot take a ciphertext from level {} to {level}", a.level()));
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

    /// Each of `cts` at `level` (not above its own), scale `Δ`: [`Self::align`] in parallel.
    pub fn align_all(&self, cts: &[Ct], level: usize) -> Result<Vec<Ct>> {
        cts.par_iter().map(|ct| self.align(ct, level)).collect()
    }

    /// `a` and `b` at the lower of their levels; the higher one takes the lower one's scale.
    fn aligned(&self, a: &Ct, b: &Ct) -> Result<(Ct, Ct)> {
        match a.level().cmp(&b.level()) {
            std::cmp::Ordering::Less => Ok((a.clone(), self.align_to(b, a.level(), a.scale())?)),
            std::cmp::Ordering::Greater => Ok((self.align_to(a, b.level(), b.scale())?, b.clone())),
            std::cmp::Ordering::Equal => Ok((a.clone(), b.clone())),
        }
    }

    /// `a · b` (one level), read at scale `Δ`. Its true scale is `Δ_a·Δ_b/q_ℓ`, about `10⁻⁶` from `Δ` for
    /// operands at `Δ` (the primes' distance from `Δ`), so every slot is off by that one factor: harmless where a
    /// later normalization cancels it or nothing amplifies it, which is everywhere but the iterations of
    /// [`Self::mul_exact`].
    ///
    /// # Errors
    /// If an operand is at level 0.
    pub fn mul(&self, a: &Ct, b: &Ct) -> Result<Ct> {
        let mut x = self.mul_exact(a, b)?;
        x.set_scale(self.scale);
        Ok(x)
    }

    /// `a · b` (one level) at its true scale `Δ_a·Δ_b/q_ℓ`: for iterations that would amplify [`Self::mul`]'s
    /// factor (Goldschmidt's `t^(2^j)` for `t` near 1 turns a relative `ε` into an absolute `2^j·ε`). Sums and
    /// differences with operands from higher levels take this scale.
    ///
    /// # Errors
    /// If an operand is at level 0.
    pub fn mul_exact(&self, a: &Ct, b: &Ct) -> Result<Ct> {
        let (mut x, y) = self.aligned(a, b)?;
        let level = x.level();
        if level == 0 {
            return Err(anyhow!("out of levels: a product needs level 1 or more"));
        }
        self.with_scratch(level, |ev, scratch| {
            ev.mul_relin_assign_with(&mut x, &y, self.keys.relinearization(), scratch)
        })?;
        self.rescale(&mut x)?;
        Ok(x)
    }

    /// `Σ a_i · b_i` over `pairs` (non-empty), relinearized once (one level), at its true scale `Δ_a·Δ_b/q_ℓ`
    /// (the operands brought to one level at `Δ` where they differ).
    ///
    /// # Errors
    /// If `pairs` is empty or some operand is at level 0.
    pub fn dot(&self, pairs: &[(&Ct, &Ct)]) -> Result<Ct> {
        let level = pairs.iter().flat_map(|(a, b)| [a.level(), b.level()]).min().context("a dot product of nothing")?;
        if level == 0 {
            return Err(anyhow!("out of levels: a product needs level 1 or more"));
        }
        let aligned: Vec<(Cow<Ct>, Cow<Ct>)> = pairs
            .iter()
            .map(|(a, b)| Ok((self.borrow_aligned(a, level)?, self.borrow_aligned(b, level)?)))
            .collect::<Result<_>>()?;
        let ((first, second), rest) = aligned.split_first().expect("non-empty");
        let more: Vec<(&Ct, &Ct)> = rest.iter().map(|(a, b)| (a.as_ref(), b.as_ref())).collect();
        let mut x = first.clone().into_owned();
        self.with_scratch(level, |ev, scratch| {
            ev.dot_relin_assign_with(&mut x, second, &more, self.keys.relinearization(), scratch)
        })?;
        self.rescale(&mut x)?;
        Ok(x)
    }

    /// The slot-wise product of `a` with plaintext `values` (one level).
    pub fn mul_values(&self, a: &Ct, values: &[f64]) -> Result<Ct> {
        let level = a.level();
        if level == 0 {
            return Err(anyhow!("out of levels: a product needs level 1 or more"));
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
            return Err(anyhow!("out of levels: a product needs level 1 or more"));
        }
        let mut out = a.clone();
        Evaluator::new(self.ctx).mul_const_assign(&mut out, c, self.q(level) * self.scale / a.scale());
        self.rescale(&mut out)?;
        out.set_scale(self.scale);
        Ok(out)
    }

    /// `a/d` exactly (`d > 0`): the same ciphertext read at `d` times its scale (no level, no noise). Like
    /// [`Self::mul_exact`]'s products, it takes its own scale into sums with operands from higher levels.
    pub fn div_exact(&self, a: &Ct, d: f64) -> Ct {
        let mut out = a.clone();
        out.set_scale(d * a.scale());
        out
    }

    /// `p(a)` slot-wise for a polynomial on `[-1, 1]` (where `a`'s slots should lie), at scale `Δ`: Chebyshev
    /// baby-step giant-step, [`Chebyshev::levels_consumed`] levels.
    ///
    /// # Errors
    /// If `a` has too few levels or `p` is not on `[-1, 1]`.
    pub fn polynomial(&self, a: &Ct, p: &Chebyshev) -> Result<Ct> {
        if p.interval() != (-1.0, 1.0) {
            return Err(anyhow!("the polynomial is on {:?}, not on [-1, 1]", p.interval()));
        }
        let ev = Evaluator::new(self.ctx);
        Ok(evaluate_encrypted(&ev, a, p, self.keys.relinearization(), self.scale)?)
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
    pub fn sum(&self, parts: &[Ct]) -> Result<Ct> {
        let (first, rest) = parts.split_first().context("summing no ciphertexts")?;
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
        let key = find_galois_key(self.keys.galois(), conjugation_galois_element(self.ctx.degree()))
            .map_err(|_| anyhow!("no conjugation key"))?;
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
        find_galois_key(self.keys.galois(), rotation_galois_element(self.ctx.degree(), steps))
            .map_err(|_| anyhow!("no rotation key for {steps} slots"))
    }

    fn encode(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext<Vec<u64>>> {
        Ok(Slots::new(self.ctx, self.encoder).encode(values, &[], level, scale)?)
    }
}

/// The key owner (the hospital): encrypts at the fresh level, decrypts, makes the cloud's keys, and refreshes
/// ciphertexts (decrypt and re-encrypt freshly; the decryption never leaves the key owner).
pub struct KeyOwner<'a> {
    ctx: &'a Context<Vec<u64>>,
    encoder: &'a Encoder<Vec<f64>>,
    sk: SecretKey<Vec<u64>>,
    key: KeyId,
    rng: Mutex<ChaCha20Rng>,
}

impl<'a> KeyOwner<'a> {
    /// A key owner with a fresh secret key and key pair identity from the operating system's CSPRNG.
    pub fn generate(ctx: &'a Context<Vec<u64>>, encoder: &'a Encoder<Vec<f64>>) -> Self {
        let mut rng = ChaCha20Rng::from_os_rng();
        let sk = SecretKey::generate(ctx, &mut rng);
        let key = KeyId::random(&mut rng);
        Self { ctx, encoder, sk, key, rng: Mutex::new(rng) }
    }

    /// The key owner of an existing secret key of key pair `key` (from the hospital's key folder).
    pub fn from_secret(
        ctx: &'a Context<Vec<u64>>,
        encoder: &'a Encoder<Vec<f64>>,
        sk: SecretKey<Vec<u64>>,
        key: KeyId,
    ) -> Self {
        Self { ctx, encoder, sk, key, rng: Mutex::new(ChaCha20Rng::from_os_rng()) }
    }

    /// The secret key, for the hospital's own files.
    pub fn secret_key(&self) -> &SecretKey<Vec<u64>> {
        &self.sk
    }

    /// The key pair: every key and ciphertext of this owner names it.
    pub fn key(&self) -> KeyId {
        self.key
    }

    /// The relinearization key, rotation keys for `steps` and the conjugation key.
    pub fn cloud_keys(&self, steps: &[i64]) -> CloudKeys {
        let elements = self.rotation_elements(steps);
        let bar = crate::progress::items(elements.len() as u64 + 1, "generating evaluation keys", "keys");
        let relinearization = RelinearizationKey::generate(self.ctx, &self.sk, &mut self.generator());
        bar.inc(1);
        let galois = self.galois_keys(&elements, &bar);
        CloudKeys { key: self.key, set: CloudKeySet::Evaluation { relinearization, galois } }
    }

    /// The keys for rotations by `steps` and for bootstrapping under `literal` (one Galois key per element for
    /// both).
    ///
    /// # Errors
    /// If the parameters are not `literal`'s.
    pub fn bootstrapping_keys(&self, steps: &[i64], literal: &BootstrapLiteral) -> Result<CloudKeys> {
        if self.ctx.params().literal() != literal.params {
            return Err(anyhow!("bootstrapping is configured for parameter set {}", literal.params.name));
        }
        let mut elements = self.rotation_elements(steps);
        let n = self.ctx.degree();
        elements.extend(Bootstrapper::galois_elements_for(n, literal, n / 2)?);
        elements.sort_unstable();
        elements.dedup();
        let bar = crate::progress::items(elements.len() as u64 + 3, "generating evaluation keys", "keys");
        // The relinearization and encapsulation keys first, then the Galois keys under the bar.
        let mut keys = BootstrapKeys::generate(self.ctx, literal, &self.sk, &[], &mut self.generator())?;
        bar.inc(3);
        keys.galois = self.galois_keys(&elements, &bar);
        Ok(CloudKeys { key: self.key, set: CloudKeySet::Bootstrapping(keys) })
    }

    /// The Galois elements of the rotations by `steps` and of conjugation (the trainer's logits separate real and
    /// imaginary parts), sorted.
    fn rotation_elements(&self, steps: &[i64]) -> Vec<u64> {
        let n = self.ctx.degree();
        let mut elements: Vec<u64> = steps.iter().map(|&s| rotation_galois_element(n, s)).collect();
        elements.push(conjugation_galois_element(n));
        elements.sort_unstable();
        elements.dedup();
        elements
    }

    /// One Galois key per element, made on every core.
    fn galois_keys(&self, elements: &[u64], bar: &indicatif::ProgressBar) -> Vec<GaloisKey<Vec<u64>>> {
        elements
            .par_iter()
            .map(|&g| GaloisKey::generate(self.ctx, &self.sk, g, &mut self.generator()))
            .inspect(|_| bar.inc(1))
            .collect()
    }

    /// A generator for one key or ciphertext, seeded from the key owner's CSPRNG (the seed zeroized), so that
    /// keys and ciphertexts can be made on every core.
    fn generator(&self) -> ChaCha20Rng {
        let mut seed = Zeroizing::new([0u8; 32]);
        self.rng.lock().expect("rng").fill_bytes(&mut seed[..]);
        ChaCha20Rng::from_seed(*seed)
    }

    /// `values` (one per slot) encrypted at the [`fresh_level`] and the default scale.
    ///
    /// # Errors
    /// If `values` is not `N/2` long.
    pub fn encrypt(&self, values: &[f64]) -> Result<Ct> {
        self.encrypt_at(values, &[], fresh_level(self.ctx.params()))
    }

    /// `re + i·im` (one per slot; `im` empty for real values) encrypted at `level` (at most the
    /// [`fresh_level`]) and the default scale: data the cloud uses only at `level` or below.
    ///
    /// # Errors
    /// If `re` is not `N/2` long, `im` neither empty nor as long, or `level` above the fresh one.
    pub fn encrypt_at(&self, re: &[f64], im: &[f64], level: usize) -> Result<Ct> {
        let fresh = fresh_level(self.ctx.params());
        if level > fresh {
            return Err(anyhow!("cannot encrypt at level {level}, above the fresh level {fresh}"));
        }
        let scale = self.ctx.params().default_scale();
        Ok(Slots::new(self.ctx, self.encoder).encrypt_sk(&self.sk, re, im, level, scale, &mut self.generator())?)
    }

    /// The slot values of `ct`.
    ///
    /// # Errors
    /// On a ciphertext of other parameters.
    pub fn decrypt(&self, ct: &Ct) -> Result<Vec<f64>> {
        Ok(Slots::new(self.ctx, self.encoder).decrypt(&self.sk, ct)?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medblind_core::ckks::Params;

    #[test]
    fn every_operation_matches_f64_and_levels_align() {
        let params = Params::new(&super::super::fixtures::test_literal()).unwrap();
        let ctx = Context::new(&params).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        let owner = KeyOwner::generate(&ctx, &encoder);
        let keys = owner.cloud_keys(&[1, -1, 2, -2, 4, -4, 16]);
        let engine = Engine::new(&ctx, &encoder, &keys);
        let slots = engine.slots();
        let a: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.37).sin()).collect();
        let b: Vec<f64> = (0..slots).map(|i| ((i as f64) * 0.11).cos()).collect();
        let (ca, cb) = (owner.encrypt(&a).unwrap(), owner.encrypt(&b).unwrap());
        let close = |ct: &Ct, want: &dyn Fn(usize) -> f64, tol: f64| {
            let have = owner.decrypt(ct).unwrap();
            let worst = (0..slots).map(|i| (have[i] - want(i)).abs()).fold(0.0, f64::max);
            assert!(worst < tol, "error {worst}");
        };
        let ab = engine.mul(&ca, &cb).unwrap();
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
        let (mut exact, mut nominal) =
            (owner.encrypt(&vec![t; slots]).unwrap(), owner.encrypt(&vec![t; slots]).unwrap());
        for _ in 0..14 {
            exact = engine.mul_exact(&exact, &exact).unwrap();
            nominal = engine.mul(&nominal, &nominal).unwrap();
        }
        let want = t.powi(1 << 14);
        close(&exact, &|_| want, 1e-4 * want);
        let off = (owner.decrypt(&nominal).unwrap()[0] - want).abs();
        assert!(off > 2e-3 * want, "nominal scales should drift: {off}");
        // A sum with an operand from a higher level takes the exact scale.
        let sum = engine.add(&exact, &ca).unwrap();
        close(&sum, &|i| want + a[i], 1e-6);
    }
}
