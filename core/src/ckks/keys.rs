//! Keys: the secret key `s`, the public key, and key-switching keys (relinearization and Galois keys).
//!
//! All keys are kept in the NTT domain. Key-switching keys follow hybrid key switching (Han–Ki 2020): `Q` is
//! split into `dnum` digits of consecutive primes ([`super::Params::digit`]); digit `j` of a key for `s'` is
//! `(b_j, a_j) = (-a_j·s + e_j + [i ∈ digit j]·P·s', a_j)` over `Q ∪ P` (the bracket is evaluated per prime
//! `q_i`, zero modulo `P`), which works at every level. A key made for level `l` keeps only what a switch at
//! levels `≤ l` reads: the digits with primes in `q_0..=q_l`, each over `q_0..=q_l ∪ P` — a fraction of a full key
//! for the keys only low levels use (the trainer's rotations under bootstrapping, SlotToCoeff's). The `a` parts
//! come from a 32-byte seed, so a key can be shipped as its `b` parts plus the seed.

use super::context::Context;
use crate::math::{poly, sampling};
use crate::{Error, Result};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

use super::params::SecretDistribution;

/// The Galois element of a left rotation by `steps` slots (negative: right), `5^steps mod 2N`.
pub fn rotation_galois_element(degree: usize, steps: i64) -> u64 {
    let two_n = 2 * degree as u64;
    let order = degree as i64 / 2; // 5 has order N/2 modulo 2N
    let exponent = steps.rem_euclid(order.max(1)) as u64;
    let mut g = 1u64;
    for _ in 0..exponent {
        g = g * 5 % two_n;
    }
    g
}

/// The key of Galois element `g` among `keys`.
///
/// # Errors
/// [`Error::MissingGaloisKey`] if none has it.
pub fn find_galois_key<K>(keys: &[GaloisKey<K>], g: u64) -> Result<&GaloisKey<K>> {
    keys.iter().find(|k| k.galois_element == g).ok_or(Error::MissingGaloisKey { galois_element: g })
}

/// The Galois element of complex conjugation, `2N - 1`.
pub fn conjugation_galois_element(degree: usize) -> u64 {
    2 * degree as u64 - 1
}

/// The secret key `s`, in the NTT domain modulo every prime of `Q` and `P`; zeroized on drop.
pub struct SecretKey<S: AsMut<[u64]>> {
    ntt: S,
}

impl<S: AsMut<[u64]>> Drop for SecretKey<S> {
    fn drop(&mut self) {
        self.ntt.as_mut().zeroize();
    }
}

impl<S: AsMut<[u64]>> core::fmt::Debug for SecretKey<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// The storage words of a secret key: `(L + 1 + K)·N`.
pub fn secret_key_words<T>(ctx: &Context<T>) -> usize {
    (ctx.params().q().len() + ctx.params().p().len()) * ctx.degree()
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> SecretKey<S> {
    /// Samples `s` from the parameters' distribution into `storage` (exactly [`secret_key_words`] words).
    /// `scratch` holds `N` bytes for the small coefficients (zeroized before returning).
    ///
    /// # Errors
    /// [`Error::BufferLength`] on a wrongly sized buffer.
    pub fn generate_in<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(
        ctx: &Context<T>,
        rng: &mut R,
        mut storage: S,
        scratch: &mut [i8],
    ) -> Result<Self> {
        let n = ctx.degree();
        let words = secret_key_words(ctx);
        if storage.as_mut().len() != words || scratch.len() != n {
            return Err(Error::BufferLength { expected: words, actual: storage.as_mut().len() });
        }
        match ctx.params().literal().secret {
            SecretDistribution::Ternary => sampling::ternary(rng, scratch),
            SecretDistribution::HammingWeight(h) => sampling::hamming_weight(rng, h as usize, scratch),
        }
        let key = Self::from_coefficients_in(ctx, scratch, storage);
        scratch.zeroize();
        key
    }

    /// The key with the given small coefficients (in `{-1, 0, 1}`), in `storage`.
    ///
    /// # Errors
    /// [`Error::BufferLength`] on a wrongly sized buffer.
    pub fn from_coefficients_in<T: AsRef<[u64]>>(
        ctx: &Context<T>,
        coefficients: &[i8],
        mut storage: S,
    ) -> Result<Self> {
        let words = secret_key_words(ctx);
        if storage.as_mut().len() != words || coefficients.len() != ctx.degree() {
            return Err(Error::BufferLength { expected: words, actual: storage.as_mut().len() });
        }
        let level = ctx.params().max_level();
        sampling::small_to_rns(coefficients, &ctx.qp_moduli(level), storage.as_mut());
        poly::forward(&ctx.qp_tables(level), storage.as_mut());
        Ok(Self { ntt: storage })
    }

    /// `s` modulo every prime of `Q` then `P`, NTT domain.
    pub(crate) fn ntt(&self) -> &[u64] {
        self.ntt.as_ref()
    }

    /// The small coefficients of `s` (for the secret-key file), recovered from the `q_0` limb.
    pub fn coefficients<T: AsRef<[u64]>>(&self, ctx: &Context<T>, out: &mut [u64], coefficients: &mut [i8]) {
        let n = ctx.degree();
        out[..n].copy_from_slice(&self.ntt.as_ref()[..n]);
        ctx.q_tables(0)[0].inverse(&mut out[..n]);
        let q0 = ctx.params().q()[0];
        for (c, &x) in coefficients.iter_mut().zip(&out[..n]) {
            *c = q0.center(x) as i8;
        }
        out[..n].zeroize();
    }
}

/// The public key `(b, a) = (-a·s + e, a)` over `Q` at the top level, NTT domain.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicKey<S> {
    pub(crate) data: S,
    pub(crate) seed: [u8; 32],
}

/// A key-switching key from `s'` to `s` for ciphertexts up to [`Self::level`] `l`: the `β` digits active at `l`
/// ([`super::Params::digits_at`]), each `(b_j, a_j)` over `q_0..=q_l ∪ P`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySwitchKey<S> {
    pub(crate) data: S,
    pub(crate) seed: [u8; 32],
    pub(crate) level: usize,
}

/// The relinearization key: switches `s²` to `s`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelinearizationKey<S>(pub KeySwitchKey<S>);

/// A Galois key: switches `σ_g(s)` to `s`, enabling the automorphism `X ↦ X^g` (a rotation or conjugation).
#[derive(Debug, Clone, PartialEq)]
pub struct GaloisKey<S> {
    /// The Galois element `g`.
    pub galois_element: u64,
    /// The key-switching key.
    pub key: KeySwitchKey<S>,
}

/// The words of a public key: `2(L + 1)·N`.
pub fn public_key_words<T>(ctx: &Context<T>) -> usize {
    2 * ctx.params().q().len() * ctx.degree()
}

/// The words of a key-switching key for levels up to `level`: `β · 2(level + 1 + K)·N` (`dnum · 2(L + 1 + K)·N`
/// at the top level `L`).
pub fn key_switch_key_words<T>(ctx: &Context<T>, level: usize) -> usize {
    let params = ctx.params();
    params.digits_at(level) * 2 * (level + 1 + params.p().len()) * ctx.degree()
}

impl<S: AsRef<[u64]>> PublicKey<S> {
    /// `b`, over `q_0..=q_L`.
    pub(crate) fn b(&self, degree: usize, limbs: usize) -> &[u64] {
        &self.data.as_ref()[..limbs * degree]
    }

    /// `a`, over `q_0..=q_L`.
    pub(crate) fn a(&self, degree: usize, limbs: usize) -> &[u64] {
        &self.data.as_ref()[limbs * degree..2 * limbs * degree]
    }

    /// The seed of `a`.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The storage.
    pub fn data(&self) -> &S {
        &self.data
    }
}

impl<S: AsRef<[u64]>> KeySwitchKey<S> {
    /// The highest level this key switches at.
    pub fn level(&self) -> usize {
        self.level
    }

    /// Whether this key switches at `level`.
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`] above [`Self::level`].
    pub(crate) fn check_level(&self, level: usize) -> Result<()> {
        if level > self.level {
            return Err(Error::LevelOutOfRange { level, max: self.level });
        }
        Ok(())
    }

    /// Digit `j`'s `(b_j, a_j)`, each `limbs = level + 1 + K` limbs.
    pub(crate) fn digit(&self, j: usize, limbs: usize, degree: usize) -> (&[u64], &[u64]) {
        let w = limbs * degree;
        let d = &self.data.as_ref()[2 * j * w..2 * (j + 1) * w];
        d.split_at(w)
    }

    /// The seed of the `a` parts.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The storage.
    pub fn data(&self) -> &S {
        &self.data
    }
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> PublicKey<S> {
    /// The public key with `b` in the first `(L + 1)·N` words of `storage` (at least [`public_key_words`]) and
    /// `a` expanded from `seed` into the next `(L + 1)·N`: `a` is always the expansion of the seed it carries.
    ///
    /// # Errors
    /// [`Error::BufferLength`] if the storage is too short.
    pub(crate) fn from_seed<T>(ctx: &Context<T>, mut storage: S, seed: [u8; 32]) -> Result<Self> {
        let words = public_key_words(ctx);
        if storage.as_mut().len() < words {
            return Err(Error::BufferLength { expected: words, actual: storage.as_mut().len() });
        }
        expand_public_key_a(ctx, &seed, &mut storage.as_mut()[words / 2..words]);
        Ok(Self { data: storage, seed })
    }
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> KeySwitchKey<S> {
    /// The key-switching key for levels up to `level` with each digit's `b_j` in place in `storage` (at least
    /// [`key_switch_key_words`]) and its `a_j` expanded from `seed`: the `a_j` are always the expansion of the
    /// seed it carries.
    ///
    /// # Errors
    /// [`Error::BufferLength`] if the storage is too short.
    pub(crate) fn from_seed<T>(ctx: &Context<T>, mut storage: S, seed: [u8; 32], level: usize) -> Result<Self> {
        let words = key_switch_key_words(ctx, level);
        if storage.as_mut().len() < words {
            return Err(Error::BufferLength { expected: words, actual: storage.as_mut().len() });
        }
        let digit_words = words / ctx.params().digits_at(level);
        for (j, digit) in storage.as_mut()[..words].chunks_exact_mut(digit_words).enumerate() {
            expand_key_switch_a(ctx, &seed, level, j, &mut digit[digit_words / 2..]);
        }
        Ok(Self { data: storage, seed, level })
    }
}

/// Writes a public key's `a` (over `q_0..=q_L`, `(L + 1)·N` words) expanded from its seed.
fn expand_public_key_a<T>(ctx: &Context<T>, seed: &[u8; 32], a: &mut [u64]) {
    sampling::seeded_uniform(seed, ctx.q_moduli(ctx.params().max_level()), 0.., a);
}

/// Writes digit `j`'s `a_j` of a key-switching key for levels up to `l` (over `q_0..=q_l ∪ P`,
/// `(l + 1 + K)·N` words) expanded from its seed: ChaCha20 streams `j·(l + 1 + K) + i` for limb `i`.
fn expand_key_switch_a<T>(ctx: &Context<T>, seed: &[u8; 32], level: usize, digit: usize, a: &mut [u64]) {
    let moduli = ctx.qp_moduli(level);
    let first_stream = (digit * moduli.len()) as u64;
    sampling::seeded_uniform(seed, &moduli, first_stream.., a);
}

/// Adds a fresh centered-binomial error polynomial (NTT domain) to `acc`, over `moduli` with `tables`.
fn add_error<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(
    rng: &mut R,
    moduli: &[crate::math::zq::Modulus],
    tables: &[&crate::math::ntt::NttTable<T>],
    acc: &mut [u64],
    small: &mut [i8],
    scratch: &mut [u64],
) {
    sampling::centered_binomial(rng, small);
    sampling::small_to_rns(small, moduli, scratch);
    poly::forward(tables, scratch);
    poly::add_assign(moduli, acc, scratch);
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> KeySwitchKey<S> {
    /// Generates, in `storage` ([`key_switch_key_words`] at `level`), a key switching `s'` (NTT domain over
    /// `q_0..=q_level`, at least `(level + 1)·N` words) to `sk` at levels up to `level`. `scratch` holds
    /// [`secret_key_words`] words and `small` `N` bytes.
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`] above the top level, [`Error::BufferLength`] for wrongly sized buffers.
    #[allow(clippy::too_many_arguments)]
    pub fn generate_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>, R: RngCore + CryptoRng + ?Sized>(
        ctx: &Context<T>,
        sk: &SecretKey<K>,
        s_prime: &[u64],
        level: usize,
        rng: &mut R,
        mut storage: S,
        scratch: &mut [u64],
        small: &mut [i8],
    ) -> Result<Self> {
        let n = ctx.degree();
        let params = ctx.params();
        if level > params.max_level() {
            return Err(Error::LevelOutOfRange { level, max: params.max_level() });
        }
        let q_count = level + 1;
        let limbs = q_count + params.p().len();
        let words = key_switch_key_words(ctx, level);
        if storage.as_mut().len() != words {
            return Err(Error::BufferLength { expected: words, actual: storage.as_mut().len() });
        }
        if scratch.len() < limbs * n || small.len() < n || s_prime.len() < q_count * n {
            return Err(Error::BufferLength { expected: limbs * n, actual: scratch.len() });
        }
        let moduli = ctx.qp_moduli(level);
        let tables = ctx.qp_tables(level);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        for (j, digit) in storage.as_mut().chunks_exact_mut(2 * limbs * n).enumerate() {
            let (b, a) = digit.split_at_mut(limbs * n);
            expand_key_switch_a(ctx, &seed, level, j, a);
            b.copy_from_slice(a);
            // s over q_0..=q_level, then over P.
            let (b_q, b_p) = b.split_at_mut(q_count * n);
            poly::mul_assign(&moduli[..q_count], b_q, &sk.ntt()[..q_count * n]);
            poly::mul_assign(&moduli[q_count..], b_p, &sk.ntt()[params.q().len() * n..]);
            poly::neg_assign(&moduli, b);
            add_error(rng, &moduli, &tables, b, &mut small[..n], &mut scratch[..limbs * n]);
            // b_j += [P]_{q_i} · s' on digit j's primes.
            for i in params.digit(j).take_while(|&i| i < q_count) {
                let q = &moduli[i];
                let p = params.p().iter().fold(1, |acc, p| q.mul(acc, p.value()));
                let p_shoup = q.shoup(p);
                for (x, &s) in b[i * n..(i + 1) * n].iter_mut().zip(&s_prime[i * n..(i + 1) * n]) {
                    *x = q.add(*x, q.mul_shoup(s, p, p_shoup));
                }
            }
        }
        small.zeroize();
        Ok(Self { data: storage, seed, level })
    }
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> GaloisKey<S> {
    /// Generates, in `storage` ([`key_switch_key_words`] at `level`), the Galois key of `sk` for `X ↦ X^g` at
    /// levels up to `level`; `scratch` holds [`galois_key_scratch_words`] words (it first holds `σ_g(s)`,
    /// zeroized afterwards) and `small` `N` bytes.
    ///
    /// # Errors
    /// As [`KeySwitchKey::generate_in`].
    #[allow(clippy::too_many_arguments)]
    pub fn generate_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>, R: RngCore + CryptoRng + ?Sized>(
        ctx: &Context<T>,
        sk: &SecretKey<K>,
        galois_element: u64,
        level: usize,
        rng: &mut R,
        storage: S,
        scratch: &mut [u64],
        small: &mut [i8],
    ) -> Result<Self> {
        let w = ctx.params().q().len() * ctx.degree();
        let limbs_words = secret_key_words(ctx);
        if scratch.len() < w + limbs_words {
            return Err(Error::BufferLength { expected: w + limbs_words, actual: scratch.len() });
        }
        let (s_galois, rest) = scratch.split_at_mut(w);
        poly::automorphism_ntt(ctx.log_degree(), galois_element, &sk.ntt()[..w], s_galois);
        let key = KeySwitchKey::generate_in(ctx, sk, s_galois, level, rng, storage, rest, small);
        s_galois.zeroize();
        Ok(Self { galois_element, key: key? })
    }
}

/// Scratch words [`GaloisKey::generate_in`] needs: `(2L + 2 + K)·N`.
pub fn galois_key_scratch_words<T>(ctx: &Context<T>) -> usize {
    ctx.params().q().len() * ctx.degree() + secret_key_words(ctx)
}

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    impl SecretKey<Vec<u64>> {
        /// Samples a secret key with owned storage.
        pub fn generate<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(ctx: &Context<T>, rng: &mut R) -> Self {
            let mut scratch = vec![0i8; ctx.degree()];
            // Sizes are right by construction.
            Self::generate_in(ctx, rng, vec![0; secret_key_words(ctx)], &mut scratch)
                .unwrap_or_else(|_| unreachable!("owned buffers are sized from the context"))
        }
    }

    impl PublicKey<Vec<u64>> {
        /// Generates the public key of `sk`.
        pub fn generate<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(
            ctx: &Context<T>,
            sk: &SecretKey<Vec<u64>>,
            rng: &mut R,
        ) -> Self {
            let n = ctx.degree();
            let level = ctx.params().max_level();
            let limbs = level + 1;
            let moduli = ctx.q_moduli(level);
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let mut data = vec![0u64; 2 * limbs * n];
            let (b, a) = data.split_at_mut(limbs * n);
            expand_public_key_a(ctx, &seed, a);
            b.copy_from_slice(a);
            poly::mul_assign(moduli, b, &sk.ntt()[..limbs * n]);
            poly::neg_assign(moduli, b);
            let mut small = vec![0i8; n];
            let mut scratch = vec![0u64; limbs * n];
            add_error(rng, moduli, &ctx.q_tables(level), b, &mut small, &mut scratch);
            Self { data, seed }
        }
    }

    impl KeySwitchKey<Vec<u64>> {
        /// Generates a key switching `s'` (NTT domain over `q_0..=q_L`, `(L + 1)·N` words) to `sk` at every level.
        pub fn generate<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>, R: RngCore + CryptoRng + ?Sized>(
            ctx: &Context<T>,
            sk: &SecretKey<K>,
            s_prime: &[u64],
            rng: &mut R,
        ) -> Self {
            let n = ctx.degree();
            let level = ctx.params().max_level();
            let (mut small, mut scratch) = (vec![0i8; n], vec![0u64; secret_key_words(ctx)]);
            let storage = vec![0u64; key_switch_key_words(ctx, level)];
            Self::generate_in(ctx, sk, s_prime, level, rng, storage, &mut scratch, &mut small)
                .unwrap_or_else(|_| unreachable!("owned buffers are sized from the context"))
        }
    }

    impl RelinearizationKey<Vec<u64>> {
        /// Generates the relinearization key of `sk`.
        pub fn generate<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(
            ctx: &Context<T>,
            sk: &SecretKey<Vec<u64>>,
            rng: &mut R,
        ) -> Self {
            let level = ctx.params().max_level();
            let w = (level + 1) * ctx.degree();
            let mut s_squared = sk.ntt()[..w].to_vec();
            poly::mul_assign(ctx.q_moduli(level), &mut s_squared, &sk.ntt()[..w]);
            let key = KeySwitchKey::generate(ctx, sk, &s_squared, rng);
            s_squared.zeroize();
            Self(key)
        }
    }

    impl GaloisKey<Vec<u64>> {
        /// Generates the Galois key of `sk` for the automorphism `X ↦ X^g` at every level.
        pub fn generate<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>, R: RngCore + CryptoRng + ?Sized>(
            ctx: &Context<T>,
            sk: &SecretKey<K>,
            galois_element: u64,
            rng: &mut R,
        ) -> Self {
            Self::generate_at(ctx, sk, galois_element, ctx.params().max_level(), rng)
                .unwrap_or_else(|_| unreachable!("the top level is in range"))
        }

        /// Generates the Galois key of `sk` for `X ↦ X^g` at levels up to `level` only (smaller, see the module
        /// documentation).
        ///
        /// # Errors
        /// [`Error::LevelOutOfRange`] above the top level.
        pub fn generate_at<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>, R: RngCore + CryptoRng + ?Sized>(
            ctx: &Context<T>,
            sk: &SecretKey<K>,
            galois_element: u64,
            level: usize,
            rng: &mut R,
        ) -> Result<Self> {
            let n = ctx.degree();
            if level > ctx.params().max_level() {
                return Err(Error::LevelOutOfRange { level, max: ctx.params().max_level() });
            }
            let (mut small, mut scratch) = (vec![0i8; n], vec![0u64; galois_key_scratch_words(ctx)]);
            let storage = vec![0u64; key_switch_key_words(ctx, level)];
            Self::generate_in(ctx, sk, galois_element, level, rng, storage, &mut scratch, &mut small)
        }
    }
}
