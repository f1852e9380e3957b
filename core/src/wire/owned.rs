//! Owned conveniences over the buffer-based codec: `Vec<u8>` out, owned objects in. Storage is sized from the
//! context (and a header level already checked against it), never from the input's length fields.

use super::codec::wire;
use super::{Header, KeyId, Kind, WireError};
use super::{
    ciphertext_len, decode_ciphertext_in, decode_galois_key_in, decode_plaintext_in, decode_public_key_in,
    decode_relinearization_key_in, decode_secret_key_in, decode_switching_key_in, encode_ciphertext, encode_galois_key,
    encode_params, encode_plaintext, encode_public_key, encode_relinearization_key, encode_secret_key,
    encode_switching_key, key_switch_key_len, params_len, plaintext_len, public_key_len, secret_key_len,
};
use crate::Result;
use crate::ckks::ciphertext::{Ciphertext, Plaintext, plaintext_words};
use crate::ckks::context::Context;
use crate::ckks::keys::{self, GaloisKey, KeySwitchKey, PublicKey, RelinearizationKey, SecretKey};
use alloc::vec;
use alloc::vec::Vec;
use zeroize::Zeroizing;

fn to_vec(len: usize, write: impl FnOnce(&mut [u8]) -> Result<usize>) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let written = write(&mut out)?;
    out.truncate(written);
    Ok(out)
}

/// The level in a header, checked against the context before any storage is sized from it.
fn checked_level<T>(ctx: &Context<T>, bytes: &[u8], kind: Kind) -> Result<usize> {
    let header = Header::read(bytes)?;
    if header.kind != kind {
        return wire(WireError::WrongKind { expected: kind, found: header.kind });
    }
    if header.fingerprint != ctx.params().fingerprint() {
        return wire(WireError::ParamsMismatch { expected: ctx.params().fingerprint(), found: header.fingerprint });
    }
    let level = header.level as usize;
    if level > ctx.params().max_level() { wire(WireError::InvalidField) } else { Ok(level) }
}

/// Encodes the parameter set of `ctx`.
///
/// # Errors
/// Never for a valid context.
pub fn params_to_vec<T>(ctx: &Context<T>) -> Result<Vec<u8>> {
    to_vec(params_len(ctx.params().literal()), |out| encode_params(ctx, out))
}

/// Encodes the secret key into a buffer that is zeroized when dropped.
///
/// # Errors
/// Never for a valid key.
pub fn secret_key_to_vec<T: AsRef<[u64]>>(
    ctx: &Context<T>,
    sk: &SecretKey<Vec<u64>>,
    key: KeyId,
) -> Result<Zeroizing<Vec<u8>>> {
    let n = ctx.degree();
    let (mut scratch, mut coefficients) = (Zeroizing::new(vec![0u64; n]), Zeroizing::new(vec![0i8; n]));
    let mut out = Zeroizing::new(vec![0u8; secret_key_len(ctx)]);
    encode_secret_key(ctx, sk, key, &mut scratch, &mut coefficients, &mut out)?;
    Ok(out)
}

/// Decodes a secret key.
///
/// # Errors
/// A [`WireError`] for malformed input.
pub fn decode_secret_key<T: AsRef<[u64]>>(ctx: &Context<T>, bytes: &[u8]) -> Result<SecretKey<Vec<u64>>> {
    checked_level(ctx, bytes, Kind::SecretKey)?;
    let mut coefficients = Zeroizing::new(vec![0i8; ctx.degree()]);
    decode_secret_key_in(ctx, bytes, &mut coefficients, vec![0; keys::secret_key_words(ctx)])
}

/// Encodes a public key.
///
/// # Errors
/// Never for a valid key.
pub fn public_key_to_vec<T: AsRef<[u64]>>(ctx: &Context<T>, pk: &PublicKey<Vec<u64>>, key: KeyId) -> Result<Vec<u8>> {
    to_vec(public_key_len(ctx), |out| encode_public_key(ctx, pk, key, out))
}

/// Decodes a public key.
///
/// # Errors
/// A [`WireError`] for malformed input.
pub fn decode_public_key<T: AsRef<[u64]>>(ctx: &Context<T>, bytes: &[u8]) -> Result<PublicKey<Vec<u64>>> {
    checked_level(ctx, bytes, Kind::PublicKey)?;
    decode_public_key_in(ctx, bytes, vec![0; keys::public_key_words(ctx)])
}

/// Encodes a relinearization key.
///
/// # Errors
/// Never for a valid key.
pub fn relinearization_key_to_vec<T: AsRef<[u64]>>(
    ctx: &Context<T>,
    rlk: &RelinearizationKey<Vec<u64>>,
    key: KeyId,
) -> Result<Vec<u8>> {
    to_vec(key_switch_key_len(ctx, rlk.0.level(), false), |out| encode_relinearization_key(ctx, rlk, key, out))
}

/// Decodes a relinearization key.
///
/// # Errors
/// A [`WireError`] for malformed input.
pub fn decode_relinearization_key<T: AsRef<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
) -> Result<RelinearizationKey<Vec<u64>>> {
    let level = checked_level(ctx, bytes, Kind::RelinearizationKey)?;
    decode_relinearization_key_in(ctx, bytes, vec![0; keys::key_switch_key_words(ctx, level)])
}

/// Encodes a Galois key.
///
/// # Errors
/// Never for a valid key.
pub fn galois_key_to_vec<T: AsRef<[u64]>>(ctx: &Context<T>, gk: &GaloisKey<Vec<u64>>, key: KeyId) -> Result<Vec<u8>> {
    to_vec(key_switch_key_len(ctx, gk.key.level(), true), |out| encode_galois_key(ctx, gk, key, out))
}

/// Decodes a Galois key.
///
/// # Errors
/// A [`WireError`] for malformed input.
pub fn decode_galois_key<T: AsRef<[u64]>>(ctx: &Context<T>, bytes: &[u8]) -> Result<GaloisKey<Vec<u64>>> {
    let level = checked_level(ctx, bytes, Kind::GaloisKey)?;
    decode_galois_key_in(ctx, bytes, vec![0; keys::key_switch_key_words(ctx, level)])
}

/// Encodes a key-switching key (see [`encode_switching_key`]).
///
/// # Errors
/// Never for a valid key.
pub fn switching_key_to_vec<T: AsRef<[u64]>>(
    ctx: &Context<T>,
    ksk: &KeySwitchKey<Vec<u64>>,
    key: KeyId,
) -> Result<Vec<u8>> {
    to_vec(key_switch_key_len(ctx, ksk.level(), false), |out| encode_switching_key(ctx, ksk, key, out))
}

/// Decodes a key-switching key.
///
/// # Errors
/// A [`WireError`] for malformed input.
pub fn decode_switching_key<T: AsRef<[u64]>>(ctx: &Context<T>, bytes: &[u8]) -> Result<KeySwitchKey<Vec<u64>>> {
    let level = checked_level(ctx, bytes, Kind::SwitchingKey)?;
    decode_switching_key_in(ctx, bytes, vec![0; keys::key_switch_key_words(ctx, level)])
}

/// Encodes a plaintext.
///
/// # Errors
/// Never for a valid plaintext.
pub fn plaintext_to_vec<T: AsRef<[u64]>>(ctx: &Context<T>, pt: &Plaintext<Vec<u64>>) -> Result<Vec<u8>> {
    to_vec(plaintext_len(ctx, pt.level()), |out| encode_plaintext(ctx, pt, out))
}

/// Decodes a plaintext.
///
/// # Errors
/// A [`WireError`] for malformed input.
pub fn decode_plaintext<T: AsRef<[u64]>>(ctx: &Context<T>, bytes: &[u8]) -> Result<Plaintext<Vec<u64>>> {
    let level = checked_level(ctx, bytes, Kind::Plaintext)?;
    decode_plaintext_in(ctx, bytes, vec![0; plaintext_words(ctx.degree(), level)])
}

/// Encodes a ciphertext (seeded when it is a fresh secret-key encryption).
///
/// # Errors
/// Never for a valid ciphertext.
pub fn ciphertext_to_vec<T: AsRef<[u64]>>(ctx: &Context<T>, ct: &Ciphertext<Vec<u64>>, key: KeyId) -> Result<Vec<u8>> {
    to_vec(ciphertext_len(ctx, ct.level(), ct.seed().is_some()), |out| encode_ciphertext(ctx, ct, key, out))
}

/// Decodes a ciphertext.
///
/// # Errors
/// A [`WireError`] for malformed input.
pub fn decode_ciphertext<T: AsRef<[u64]>>(ctx: &Context<T>, bytes: &[u8]) -> Result<Ciphertext<Vec<u64>>> {
    let level = checked_level(ctx, bytes, Kind::Ciphertext)?;
    decode_ciphertext_in(ctx, bytes, vec![0; 2 * plaintext_words(ctx.degree(), level)])
}
