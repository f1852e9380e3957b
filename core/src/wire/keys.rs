//! Keys: the secret key (2-bit coefficients), the public key and the key-switching keys (relinearization,
//! Galois, switching), each `b` part bit-packed and its uniform `a` part carried as a 32-byte seed.

use super::WireError;
use super::codec::{Shape, check_storage, encode, expect_len, open, pack, packed_len, seed_at, unpack, wire};
use super::header::{HEADER_LEN, KeyId};
use super::kind::Kind;
use super::pack::{BitReader, BitWriter};
use crate::Result;
use crate::ckks::context::Context;
use crate::ckks::keys::{self, GaloisKey, KeySwitchKey, PublicKey, RelinearizationKey, SecretKey};

/// Bytes of an encoded secret key: `N` coefficients in `{-1, 0, 1}`, 2 bits each.
pub fn secret_key_len<T>(ctx: &Context<T>) -> usize {
    HEADER_LEN + ctx.degree().div_ceil(4)
}

/// Encodes the secret key of key pair `key` (kind [`Kind::SecretKey`]: only ever written to the key owner's
/// file). `scratch` holds `N` words and `coefficients` `N` bytes (both zeroized afterwards).
///
/// # Errors
/// [`Error::BufferLength`](crate::Error::BufferLength) for short buffers.
pub fn encode_secret_key<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    sk: &SecretKey<K>,
    key: KeyId,
    scratch: &mut [u64],
    coefficients: &mut [i8],
    out: &mut [u8],
) -> Result<usize> {
    let n = ctx.degree();
    check_storage(n, scratch.len())?;
    check_storage(n, coefficients.len())?;
    sk.coefficients(ctx, &mut scratch[..n], &mut coefficients[..n]);
    let payload = n.div_ceil(4);
    let shape = Shape { kind: Kind::SecretKey, seeded: false, level: 0, slots: 1, scale: 1.0, payload, key };
    let result = encode(ctx, shape, out, |p| {
        let mut writer = BitWriter::new(p);
        for &c in &coefficients[..n] {
            writer.write(
                match c {
                    1 => 1,
                    -1 => 2,
                    _ => 0,
                },
                2,
            );
        }
        n.div_ceil(4)
    });
    zeroize::Zeroize::zeroize(&mut coefficients[..n]);
    result
}

/// Decodes a secret key into `storage` ([`keys::secret_key_words`] words); `coefficients` is `N` bytes of scratch
/// (zeroized afterwards).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`](crate::Error::BufferLength) for short buffers.
pub fn decode_secret_key_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    coefficients: &mut [i8],
    storage: K,
) -> Result<SecretKey<K>> {
    let n = ctx.degree();
    check_storage(n, coefficients.len())?;
    let (_, payload) = open(ctx, bytes, Kind::SecretKey)?;
    expect_len(payload, n.div_ceil(4))?;
    let mut reader = BitReader::new(payload);
    for c in coefficients[..n].iter_mut() {
        *c = match reader.read(2) {
            0 => 0,
            1 => 1,
            2 => -1,
            _ => {
                zeroize::Zeroize::zeroize(&mut coefficients[..n]);
                return wire(WireError::InvalidField);
            }
        };
    }
    let key = SecretKey::from_coefficients_in(ctx, &coefficients[..n], storage);
    zeroize::Zeroize::zeroize(&mut coefficients[..n]);
    key
}

/// Bytes of an encoded public key: `b` over `Q` plus the 32-byte seed of `a`.
pub fn public_key_len<T>(ctx: &Context<T>) -> usize {
    HEADER_LEN + packed_len(ctx.params().q(), ctx.degree()) + 32
}

/// Encodes the public key of key pair `key`.
///
/// # Errors
/// [`Error::BufferLength`](crate::Error::BufferLength) if `out` is too short.
pub fn encode_public_key<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    pk: &PublicKey<K>,
    key: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    let (n, q) = (ctx.degree(), ctx.params().q());
    let payload = public_key_len(ctx) - HEADER_LEN;
    let level = ctx.params().max_level();
    let shape = Shape { kind: Kind::PublicKey, seeded: true, level, slots: 1, scale: 1.0, payload, key };
    encode(ctx, shape, out, |p| {
        let written = pack(q, n, pk.b(n, q.len()), p);
        p[written..written + 32].copy_from_slice(pk.seed());
        written + 32
    })
}

/// Decodes a public key into `storage` ([`keys::public_key_words`] words).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`](crate::Error::BufferLength) for short storage.
pub fn decode_public_key_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    mut storage: K,
) -> Result<PublicKey<K>> {
    let (n, q) = (ctx.degree(), ctx.params().q());
    let (_, payload) = open(ctx, bytes, Kind::PublicKey)?;
    expect_len(payload, public_key_len(ctx) - HEADER_LEN)?;
    check_storage(keys::public_key_words(ctx), storage.as_mut().len())?;
    let words = q.len() * n;
    let used = unpack(q, n, payload, &mut storage.as_mut()[..words])?;
    PublicKey::from_seed(ctx, storage, seed_at(payload, used))
}

/// Bytes of an encoded key-switching key for levels up to `level`: the `β` parts `b_j` over `q_0..=q_level ∪ P`
/// ([`crate::ckks::Params::digits_at`]) plus the seed (and, for a Galois key, the 8-byte Galois element).
pub fn key_switch_key_len<T>(ctx: &Context<T>, level: usize, galois: bool) -> usize {
    let qp = ctx.qp_moduli(level);
    HEADER_LEN + usize::from(galois) * 8 + ctx.params().digits_at(level) * packed_len(&qp, ctx.degree()) + 32
}

/// `kind` is [`Kind::GaloisKey`] exactly when `galois` is some.
fn encode_ksk<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    key: &KeySwitchKey<K>,
    kind: Kind,
    galois: Option<u64>,
    id: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    let n = ctx.degree();
    let level = key.level();
    let qp = ctx.qp_moduli(level);
    let payload = key_switch_key_len(ctx, level, galois.is_some()) - HEADER_LEN;
    let shape = Shape { kind, seeded: true, level, slots: 1, scale: 1.0, payload, key: id };
    encode(ctx, shape, out, |p| {
        let mut offset = 0;
        if let Some(g) = galois {
            p[..8].copy_from_slice(&g.to_le_bytes());
            offset = 8;
        }
        for j in 0..ctx.params().digits_at(level) {
            offset += pack(&qp, n, key.digit(j, qp.len(), n).0, &mut p[offset..]);
        }
        p[offset..offset + 32].copy_from_slice(key.seed());
        offset + 32
    })
}

fn decode_ksk<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    kind: Kind,
    mut storage: K,
) -> Result<(Option<u64>, KeySwitchKey<K>)> {
    let n = ctx.degree();
    let galois = kind == Kind::GaloisKey;
    let (header, payload) = open(ctx, bytes, kind)?;
    let level = header.level as usize;
    let qp = ctx.qp_moduli(level);
    expect_len(payload, key_switch_key_len(ctx, level, galois) - HEADER_LEN)?;
    check_storage(keys::key_switch_key_words(ctx, level), storage.as_mut().len())?;
    let mut offset = 0;
    let element = if galois {
        let g = u64::from_le_bytes([
            payload[0], payload[1], payload[2], payload[3], payload[4], payload[5], payload[6], payload[7],
        ]);
        if g % 2 == 0 || g >= 2 * n as u64 {
            return wire(WireError::InvalidField);
        }
        offset = 8;
        Some(g)
    } else {
        None
    };
    let words = qp.len() * n;
    // Validate and place every b_j first, then expand the seed into the a_j.
    for digit in storage.as_mut().chunks_exact_mut(2 * words).take(ctx.params().digits_at(level)) {
        offset += unpack(&qp, n, &payload[offset..], &mut digit[..words])?;
    }
    Ok((element, KeySwitchKey::from_seed(ctx, storage, seed_at(payload, offset), level)?))
}

/// Encodes the relinearization key of key pair `id`.
///
/// # Errors
/// [`Error::BufferLength`](crate::Error::BufferLength) if `out` is too short.
pub fn encode_relinearization_key<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    rlk: &RelinearizationKey<K>,
    id: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    encode_ksk(ctx, &rlk.0, Kind::RelinearizationKey, None, id, out)
}

/// Decodes a relinearization key into `storage` ([`keys::key_switch_key_words`] at the key's level).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`](crate::Error::BufferLength) for short storage.
pub fn decode_relinearization_key_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    storage: K,
) -> Result<RelinearizationKey<K>> {
    decode_ksk(ctx, bytes, Kind::RelinearizationKey, storage).map(|(_, key)| RelinearizationKey(key))
}

/// Encodes a Galois key of key pair `id`.
///
/// # Errors
/// [`Error::BufferLength`](crate::Error::BufferLength) if `out` is too short.
pub fn encode_galois_key<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    gk: &GaloisKey<K>,
    id: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    encode_ksk(ctx, &gk.key, Kind::GaloisKey, Some(gk.galois_element), id, out)
}

/// Decodes a Galois key into `storage` ([`keys::key_switch_key_words`] at the key's level).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`](crate::Error::BufferLength) for short storage.
pub fn decode_galois_key_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    storage: K,
) -> Result<GaloisKey<K>> {
    let (element, key) = decode_ksk(ctx, bytes, Kind::GaloisKey, storage)?;
    Ok(GaloisKey { galois_element: element.unwrap_or(1), key })
}

/// Encodes a key-switching key of key pair `id` from another secret to this parameter set's (bootstrapping's
/// encapsulation keys; `ctx` is the parameter set the key lives in).
///
/// # Errors
/// [`Error::BufferLength`](crate::Error::BufferLength) if `out` is too short.
pub fn encode_switching_key<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    key: &KeySwitchKey<K>,
    id: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    encode_ksk(ctx, key, Kind::SwitchingKey, None, id, out)
}

/// Decodes a key-switching key into `storage` ([`keys::key_switch_key_words`] at the key's level).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`](crate::Error::BufferLength) for short storage.
pub fn decode_switching_key_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    storage: K,
) -> Result<KeySwitchKey<K>> {
    decode_ksk(ctx, bytes, Kind::SwitchingKey, storage).map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{KEY, objects};
    use super::super::{
        decode_galois_key, decode_public_key, decode_relinearization_key, decode_secret_key, decode_switching_key,
        galois_key_to_vec, public_key_to_vec, relinearization_key_to_vec, secret_key_to_vec, switching_key_to_vec,
    };
    use crate::ckks::presets;

    #[test]
    fn keys_round_trip() {
        let o = objects(&presets::TEST_INSECURE_N1024);
        let ctx = &o.ctx;
        let sk = decode_secret_key(ctx, &secret_key_to_vec(ctx, &o.sk, KEY).unwrap()).unwrap();
        assert_eq!(sk.ntt(), o.sk.ntt());
        assert_eq!(decode_public_key(ctx, &public_key_to_vec(ctx, &o.pk, KEY).unwrap()).unwrap(), o.pk);
        assert_eq!(
            decode_relinearization_key(ctx, &relinearization_key_to_vec(ctx, &o.rlk, KEY).unwrap()).unwrap(),
            o.rlk
        );
        assert_eq!(decode_galois_key(ctx, &galois_key_to_vec(ctx, &o.gk, KEY).unwrap()).unwrap(), o.gk);
        assert_eq!(decode_switching_key(ctx, &switching_key_to_vec(ctx, &o.ksk, KEY).unwrap()).unwrap(), o.ksk);
    }

    #[test]
    fn keys_for_lower_levels_round_trip_smaller() {
        use rand_core::SeedableRng;
        let o = objects(&presets::TEST_INSECURE_N1024);
        let (ctx, g) = (&o.ctx, o.gk.galois_element);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for level in 0..=ctx.params().max_level() {
            let gk = crate::ckks::GaloisKey::generate_at(ctx, &o.sk, g, level, &mut rng).unwrap();
            let bytes = galois_key_to_vec(ctx, &gk, KEY).unwrap();
            // (b_j, a_j) over q_0..=q_level and P, for the β digits active at the level.
            let limbs = ctx.params().digits_at(level) * (level + 1 + ctx.params().p().len());
            assert_eq!(gk.key.data().len(), 2 * limbs * ctx.degree());
            assert_eq!(bytes.len(), super::key_switch_key_len(ctx, level, true));
            let decoded = decode_galois_key(ctx, &bytes).unwrap();
            assert_eq!((decoded.key.level(), &decoded), (level, &gk));
        }
    }
}
