//! Encryption (public key, or secret key with a seeded `c_1`), decryption, and the conversions between
//! plaintexts and integral `f64` coefficients (the encoder's input and output).
//!
//! - Public key: `(c_0, c_1) = (v·b + e_0 + m, v·a + e_1)` with `v` ternary and `e_0, e_1` centered binomial.
//! - Secret key: `c_1 = a` expanded from a fresh 32-byte seed, `c_0 = -a·s + e + m`; the seed travels instead of
//!   `c_1`, halving the upload.
//! - Decryption: `m' = c_0 + c_1·s = m + noise`.

use super::ciphertext::{Ciphertext, Plaintext, plaintext_words};
use super::context::Context;
use super::keys::{PublicKey, SecretKey};
use super::scratch::check_len;
use crate::math::{poly, rns, sampling};
use crate::{Error, Result};
use rand_core::{CryptoRng, RngCore};

/// Writes the plaintext of integral coefficients `coefficients` (`N` values, `|c| < 2^62` recommended) at
/// `level` into `pt`'s storage (reduced modulo each prime, then NTT).
///
/// # Errors
/// [`Error::BufferLength`] if the storage is too short or `coefficients` is not `N` long.
pub fn plaintext_from_coefficients<T: AsRef<[u64]>, S: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    coefficients: &[f64],
    level: usize,
    scale: f64,
    slots: usize,
    mut storage: S,
) -> Result<Plaintext<S>> {
    let n = ctx.degree();
    check_len(n, coefficients.len())?;
    check_len(plaintext_words(n, level), storage.as_mut().len())?;
    if level > ctx.params().max_level() {
        return Err(Error::LevelOutOfRange { level, max: ctx.params().max_level() });
    }
    poly::from_rounded(&ctx.q_tables(level), coefficients, &mut storage.as_mut()[..plaintext_words(n, level)]);
    Ok(Plaintext { data: storage, level, scale, slots })
}

/// The centered integral coefficients of `pt` (exact up to `f64` rounding), into `out` (`N` values).
/// `scratch` holds `(level + 1)·N` words.
///
/// # Errors
/// [`Error::BufferLength`] on short buffers.
pub fn plaintext_to_coefficients<T: AsRef<[u64]>, S: AsRef<[u64]>>(
    ctx: &Context<T>,
    pt: &Plaintext<S>,
    scratch: &mut [u64],
    out: &mut [f64],
) -> Result<()> {
    let n = ctx.degree();
    let words = plaintext_words(n, pt.level);
    check_len(words, scratch.len())?;
    check_len(n, out.len())?;
    let scratch = &mut scratch[..words];
    scratch.copy_from_slice(pt.limbs(n));
    poly::inverse(&ctx.q_tables(pt.level), scratch);
    rns::mixed_radix(ctx.q_moduli(pt.level), n, scratch);
    rns::to_centered_f64(ctx.q_moduli(pt.level), scratch, &mut out[..n]);
    Ok(())
}

/// Encrypts `pt` with the public key into `out` (storage of at least `2(level + 1)·N` words).
/// `scratch` holds `(level + 1)·N` words and `small` `N` bytes.
///
/// # Errors
/// [`Error::BufferLength`] on short buffers.
pub fn encrypt_pk<T, K, P, S, R>(
    ctx: &Context<T>,
    pk: &PublicKey<K>,
    pt: &Plaintext<P>,
    rng: &mut R,
    mut out: S,
    scratch: &mut [u64],
    small: &mut [i8],
) -> Result<Ciphertext<S>>
where
    T: AsRef<[u64]>,
    K: AsRef<[u64]>,
    P: AsRef<[u64]>,
    S: AsRef<[u64]> + AsMut<[u64]>,
    R: RngCore + CryptoRng + ?Sized,
{
    let n = ctx.degree();
    let level = pt.level;
    let words = check_buffers(ctx, level, out.as_mut().len(), scratch.len(), small.len())?;
    let (moduli, tables) = (ctx.q_moduli(level), ctx.q_tables(level));
    let top = ctx.params().q().len();
    let (c0, rest) = out.as_mut().split_at_mut(words);
    let c1 = &mut rest[..words];
    let (scratch, small) = (&mut scratch[..words], &mut small[..n]);
    // v ternary, in the NTT domain.
    sampling::ternary(rng, small);
    sampling::small_to_rns(small, moduli, scratch);
    poly::forward(&tables, scratch);
    c0.copy_from_slice(&pk.b(n, top)[..words]);
    c1.copy_from_slice(&pk.a(n, top)[..words]);
    poly::mul_assign(moduli, c0, scratch);
    poly::mul_assign(moduli, c1, scratch);
    for c in [&mut *c0, &mut *c1] {
        add_error(ctx, level, rng, small, scratch, c);
    }
    poly::add_assign(moduli, c0, pt.limbs(n));
    Ciphertext::from_parts(out, n, level, pt.scale, pt.slots)
}

/// Encrypts `pt` with the secret key, `c_1` expanded from a fresh seed (kept in the ciphertext for
/// serialization). Buffers as for [`encrypt_pk`].
///
/// # Errors
/// [`Error::BufferLength`] on short buffers.
pub fn encrypt_sk<T, K, P, S, R>(
    ctx: &Context<T>,
    sk: &SecretKey<K>,
    pt: &Plaintext<P>,
    rng: &mut R,
    mut out: S,
    scratch: &mut [u64],
    small: &mut [i8],
) -> Result<Ciphertext<S>>
where
    T: AsRef<[u64]>,
    K: AsRef<[u64]> + AsMut<[u64]>,
    P: AsRef<[u64]>,
    S: AsRef<[u64]> + AsMut<[u64]>,
    R: RngCore + CryptoRng + ?Sized,
{
    let n = ctx.degree();
    let level = pt.level;
    let words = check_buffers(ctx, level, out.as_mut().len(), scratch.len(), small.len())?;
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let moduli = ctx.q_moduli(level);
    let mut ct = Ciphertext::from_seed(ctx, out, level, pt.scale, pt.slots, seed)?;
    let (c0, c1) = ct.c0_mut_and_c1(n);
    c0.copy_from_slice(c1);
    poly::mul_assign(moduli, c0, &sk.ntt()[..words]);
    poly::neg_assign(moduli, c0);
    add_error(ctx, level, rng, &mut small[..n], &mut scratch[..words], c0);
    poly::add_assign(moduli, c0, pt.limbs(n));
    Ok(ct)
}

/// The words of one part of a ciphertext at `level`, once the buffers of [`encrypt_pk`] and [`encrypt_sk`] are
/// long enough: `out` (two parts), `scratch` (one part) and `small` (`N` bytes).
fn check_buffers<T>(ctx: &Context<T>, level: usize, out: usize, scratch: usize, small: usize) -> Result<usize> {
    let words = plaintext_words(ctx.degree(), level);
    check_len(2 * words, out)?;
    check_len(words, scratch)?;
    check_len(ctx.degree(), small)?;
    Ok(words)
}

/// `c += e` (`(level + 1)·N` words, NTT domain) for a fresh centered binomial error `e`, sampled through `small`
/// (`N` bytes) and `scratch` (`(level + 1)·N` words).
fn add_error<T: AsRef<[u64]>, R: RngCore + CryptoRng + ?Sized>(
    ctx: &Context<T>,
    level: usize,
    rng: &mut R,
    small: &mut [i8],
    scratch: &mut [u64],
    c: &mut [u64],
) {
    let moduli = ctx.q_moduli(level);
    sampling::centered_binomial(rng, small);
    sampling::small_to_rns(small, moduli, scratch);
    poly::forward(&ctx.q_tables(level), scratch);
    poly::add_assign(moduli, c, scratch);
}

/// Decrypts `ct` into a plaintext in `storage` (at least `(level + 1)·N` words).
///
/// # Errors
/// [`Error::BufferLength`] on short buffers.
pub fn decrypt<T, K, C, S>(
    ctx: &Context<T>,
    sk: &SecretKey<K>,
    ct: &Ciphertext<C>,
    mut storage: S,
) -> Result<Plaintext<S>>
where
    T: AsRef<[u64]>,
    K: AsRef<[u64]> + AsMut<[u64]>,
    C: AsRef<[u64]>,
    S: AsRef<[u64]> + AsMut<[u64]>,
{
    let n = ctx.degree();
    let words = plaintext_words(n, ct.level);
    check_len(words, storage.as_mut().len())?;
    let moduli = ctx.q_moduli(ct.level);
    let m = &mut storage.as_mut()[..words];
    m.copy_from_slice(ct.c1(n));
    poly::mul_assign(moduli, m, &sk.ntt()[..words]);
    poly::add_assign(moduli, m, ct.c0(n));
    Ok(Plaintext { data: storage, level: ct.level, scale: ct.scale, slots: ct.slots })
}
