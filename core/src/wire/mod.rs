//! The wire format shared by the firmware and the host: a fixed 48-byte little-endian header, then a payload of
//! bit-packed residues (see `FORMAT.md` next to this file).
//!
//! Decoding derives every size from the [`Context`] it decodes against — never from the input alone — and checks
//! the magic, version, kind, parameter fingerprint, level, slots, scale, payload length, CRC-32C and every residue
//! (`< q_i`) before it writes a word into the caller's storage. Bad input is a typed [`WireError`], never a panic.

mod crc;
pub mod frame;
mod header;
mod pack;

pub use header::{HEADER_LEN, Header, KeyId, Kind};

use crate::ckks::ciphertext::{Ciphertext, Plaintext, plaintext_words};
use crate::ckks::context::Context;
use crate::ckks::keys::{GaloisKey, KeySwitchKey, PublicKey, RelinearizationKey, SecretKey};
use crate::ckks::{ParamsLiteral, encryption, keys, presets};
use crate::math::zq::Modulus;
use crate::{Error, Result};
use pack::{BitReader, BitWriter};

/// The format version this code writes and reads.
pub const VERSION: u16 = 2;

/// Why bytes could not be decoded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WireError {
    /// The buffer does not start with `MBLD`.
    BadMagic,
    /// A format version this code does not read.
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// An unknown object-kind tag.
    UnknownKind {
        /// The tag found.
        tag: u8,
    },
    /// A valid object of another kind.
    WrongKind {
        /// The kind expected.
        expected: Kind,
        /// The kind found.
        found: Kind,
    },
    /// The buffer ends before the object does.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Bytes follow the object.
    TrailingBytes,
    /// The CRC-32C does not match: the bytes were corrupted.
    ChecksumMismatch,
    /// Made under other parameters.
    ParamsMismatch {
        /// The fingerprint of the parameters decoded against.
        expected: u64,
        /// The fingerprint in the header.
        found: u64,
    },
    /// A header or payload field is out of range (level, slots, scale, flags, a residue `≥ q`, a secret
    /// coefficient outside `{-1, 0, 1}`, a payload length that does not match the parameters).
    InvalidField,
    /// No preset has this parameter fingerprint.
    UnknownParams {
        /// The fingerprint.
        fingerprint: u64,
    },
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            WireError::BadMagic => f.write_str("not a MedBlind file (bad magic)"),
            WireError::UnsupportedVersion { found } => {
                write!(f, "format version {found} is not supported (this build reads {VERSION})")
            }
            WireError::UnknownKind { tag } => write!(f, "unknown object kind {tag}"),
            WireError::WrongKind { expected, found } => write!(f, "expected a {expected}, found a {found}"),
            WireError::Truncated { needed, available } => {
                write!(f, "truncated: {needed} bytes needed, {available} available")
            }
            WireError::TrailingBytes => f.write_str("unexpected bytes after the object"),
            WireError::ChecksumMismatch => f.write_str("checksum mismatch: the data is corrupted"),
            WireError::ParamsMismatch { expected, found } => {
                write!(f, "made under parameter set {found:016x}, but {expected:016x} is in use")
            }
            WireError::InvalidField => f.write_str("a field is out of range"),
            WireError::UnknownParams { fingerprint } => {
                write!(f, "no preset has parameter fingerprint {fingerprint:016x}")
            }
        }
    }
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        Error::Wire(e)
    }
}

fn wire<T>(e: WireError) -> Result<T> {
    Err(Error::Wire(e))
}

/// Bytes of the bit-packed limbs of a polynomial over `moduli` (each limb padded to a byte).
fn packed_len(moduli: &[Modulus], degree: usize) -> usize {
    moduli.iter().map(|m| (degree * m.bits() as usize).div_ceil(8)).sum()
}

fn pack(moduli: &[Modulus], degree: usize, words: &[u64], out: &mut [u8]) -> usize {
    let mut offset = 0;
    for (m, limb) in moduli.iter().zip(words.chunks_exact(degree)) {
        let len = (degree * m.bits() as usize).div_ceil(8);
        let mut writer = BitWriter::new(&mut out[offset..offset + len]);
        limb.iter().for_each(|&x| writer.write(x, m.bits()));
        offset += len;
    }
    offset
}

fn unpack(moduli: &[Modulus], degree: usize, bytes: &[u8], out: &mut [u64]) -> Result<usize> {
    let mut offset = 0;
    for (m, limb) in moduli.iter().zip(out.chunks_exact_mut(degree)) {
        let len = (degree * m.bits() as usize).div_ceil(8);
        let mut reader = BitReader::new(&bytes[offset..offset + len]);
        for x in limb.iter_mut() {
            let v = reader.read(m.bits());
            if v >= m.value() {
                return wire(WireError::InvalidField);
            }
            *x = v;
        }
        offset += len;
    }
    Ok(offset)
}

/// What an object's header says, for [`encode`] / [`decode`].
struct Shape {
    kind: Kind,
    seeded: bool,
    level: usize,
    slots: usize,
    scale: f64,
    payload: usize,
    key: KeyId,
}

/// Writes header + payload (by `body`) into `out`, returning the total length.
fn encode<T>(ctx: &Context<T>, shape: Shape, out: &mut [u8], body: impl FnOnce(&mut [u8]) -> usize) -> Result<usize> {
    let total = HEADER_LEN + shape.payload;
    if out.len() < total {
        return Err(Error::BufferLength { expected: total, actual: out.len() });
    }
    let header = Header {
        kind: shape.kind,
        seeded: shape.seeded,
        fingerprint: ctx.params().fingerprint(),
        level: shape.level as u16,
        slots: shape.slots as u32,
        scale: shape.scale,
        payload_len: shape.payload as u64,
        key: shape.key,
    };
    let (head, payload) = out[..total].split_at_mut(HEADER_LEN);
    let written = body(payload);
    debug_assert_eq!(written, shape.payload);
    header.write(head, payload);
    Ok(total)
}

/// Checks `bytes` against the expected kind and parameters and returns the header and payload.
fn open<'b, T>(ctx: &Context<T>, bytes: &'b [u8], kind: Kind) -> Result<(Header, &'b [u8])> {
    let header = Header::read(bytes)?;
    if header.kind != kind {
        return wire(WireError::WrongKind { expected: kind, found: header.kind });
    }
    let expected = ctx.params().fingerprint();
    if header.fingerprint != expected {
        return wire(WireError::ParamsMismatch { expected, found: header.fingerprint });
    }
    if header.level as usize > ctx.params().max_level() {
        return wire(WireError::InvalidField);
    }
    let payload = header::payload(bytes, &header)?;
    Ok((header, payload))
}

fn expect_len(payload: &[u8], expected: usize) -> Result<()> {
    if payload.len() != expected { wire(WireError::InvalidField) } else { Ok(()) }
}

fn check_slots<T>(ctx: &Context<T>, header: &Header) -> Result<()> {
    let slots = header.slots as usize;
    let ok =
        slots.is_power_of_two() && slots <= ctx.params().max_slots() && header.scale.is_finite() && header.scale > 0.0;
    if ok { Ok(()) } else { wire(WireError::InvalidField) }
}

fn check_storage(expected: usize, actual: usize) -> Result<()> {
    if actual < expected { Err(Error::BufferLength { expected, actual }) } else { Ok(()) }
}

/// Reads the header of any MedBlind object (to report what a file is before decoding it).
///
/// # Errors
/// A [`WireError`] for a short or malformed header.
pub fn peek_header(bytes: &[u8]) -> Result<Header> {
    Header::read(bytes)
}

/// The length of the longest object under `ctx`'s parameters: a bound for readers that size memory from a
/// file of objects.
pub fn max_object_len<T>(ctx: &Context<T>) -> usize {
    let top = ctx.params().max_level();
    [
        key_switch_key_len(ctx, true),
        ciphertext_len(ctx, top, false),
        public_key_len(ctx),
        secret_key_len(ctx),
        params_len(ctx.params().literal()),
    ]
    .into_iter()
    .max()
    .unwrap_or(HEADER_LEN)
}

// ---- Parameters -------------------------------------------------------------------------------------------

/// Bytes of an encoded parameter set.
pub fn params_len(literal: &ParamsLiteral) -> usize {
    HEADER_LEN + 12 + 8 * (literal.q.len() + literal.p.len())
}

/// Encodes the parameters of `ctx` (the full literal, so a reader can cross-check it).
///
/// # Errors
/// [`Error::BufferLength`] if `out` is too short.
pub fn encode_params<T>(ctx: &Context<T>, out: &mut [u8]) -> Result<usize> {
    let literal = ctx.params().literal();
    let payload = params_len(literal) - HEADER_LEN;
    let shape = Shape {
        kind: Kind::Params,
        seeded: false,
        level: ctx.params().max_level(),
        slots: ctx.params().max_slots(),
        scale: ctx.params().default_scale(),
        payload,
        key: KeyId::NONE,
    };
    encode(ctx, shape, out, |p| {
        let (secret_tag, weight) = match literal.secret {
            crate::ckks::SecretDistribution::Ternary => (0u8, 0u32),
            crate::ckks::SecretDistribution::HammingWeight(h) => (1, h),
        };
        p[0] = literal.log_degree as u8;
        p[1] = literal.log_scale as u8;
        p[2..4].copy_from_slice(&(literal.dnum as u16).to_le_bytes());
        p[4] = secret_tag;
        p[5] = matches!(literal.security, crate::ckks::Security::Bits128) as u8;
        p[6..8].copy_from_slice(&(literal.q.len() as u16).to_le_bytes());
        p[8..12].copy_from_slice(&weight.to_le_bytes());
        for (chunk, &m) in p[12..].chunks_exact_mut(8).zip(literal.q.iter().chain(literal.p)) {
            chunk.copy_from_slice(&m.to_le_bytes());
        }
        payload
    })
}

/// Decodes a parameter set: the preset with the header's fingerprint, after checking that the payload is exactly
/// that preset's encoding.
///
/// # Errors
/// [`WireError::UnknownParams`] if no preset matches, or any header / checksum error.
pub fn decode_params(bytes: &[u8]) -> Result<&'static ParamsLiteral> {
    let header = Header::read(bytes)?;
    if header.kind != Kind::Params {
        return wire(WireError::WrongKind { expected: Kind::Params, found: header.kind });
    }
    let payload = header::payload(bytes, &header)?;
    for literal in presets::ALL {
        let params = crate::ckks::Params::new(literal)?;
        if params.fingerprint() != header.fingerprint {
            continue;
        }
        let expected_len = params_len(literal) - HEADER_LEN;
        expect_len(payload, expected_len)?;
        let primes = literal.q.iter().chain(literal.p);
        let stored =
            payload[12..].chunks_exact(8).map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        let same = payload[0] as u32 == literal.log_degree
            && payload[1] as u32 == literal.log_scale
            && u16::from_le_bytes([payload[2], payload[3]]) as usize == literal.dnum
            && u16::from_le_bytes([payload[6], payload[7]]) as usize == literal.q.len()
            && primes.copied().eq(stored);
        return if same { Ok(literal) } else { wire(WireError::InvalidField) };
    }
    wire(WireError::UnknownParams { fingerprint: header.fingerprint })
}

// ---- Secret key -------------------------------------------------------------------------------------------

/// Bytes of an encoded secret key: `N` coefficients in `{-1, 0, 1}`, 2 bits each.
pub fn secret_key_len<T>(ctx: &Context<T>) -> usize {
    HEADER_LEN + ctx.degree().div_ceil(4)
}

/// Encodes the secret key of key pair `key` (kind [`Kind::SecretKey`]: only ever written to the key owner's
/// file). `scratch` holds `N` words and `coefficients` `N` bytes (both zeroized afterwards).
///
/// # Errors
/// [`Error::BufferLength`] for short buffers.
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
/// A [`WireError`] for malformed input, [`Error::BufferLength`] for short buffers.
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

// ---- Public key -------------------------------------------------------------------------------------------

/// Bytes of an encoded public key: `b` over `Q` plus the 32-byte seed of `a`.
pub fn public_key_len<T>(ctx: &Context<T>) -> usize {
    HEADER_LEN + packed_len(ctx.params().q(), ctx.degree()) + 32
}

/// Encodes the public key of key pair `key`.
///
/// # Errors
/// [`Error::BufferLength`] if `out` is too short.
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
/// A [`WireError`] for malformed input, [`Error::BufferLength`] for short storage.
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
    let (b, a) = storage.as_mut()[..2 * words].split_at_mut(words);
    let used = unpack(q, n, payload, b)?;
    let seed = seed_at(payload, used);
    keys::expand_public_key_a(ctx, &seed, a);
    Ok(PublicKey { data: storage, seed })
}

fn seed_at(payload: &[u8], offset: usize) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&payload[offset..offset + 32]);
    seed
}

// ---- Key-switching keys -----------------------------------------------------------------------------------

/// Bytes of an encoded key-switching key: `dnum` parts `b_j` over `Q ∪ P` plus the seed (and, for a Galois
/// key, the 8-byte Galois element).
pub fn key_switch_key_len<T>(ctx: &Context<T>, galois: bool) -> usize {
    let qp = ctx.qp_moduli(ctx.params().max_level());
    HEADER_LEN + usize::from(galois) * 8 + ctx.params().literal().dnum * packed_len(&qp, ctx.degree()) + 32
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
    let qp = ctx.qp_moduli(ctx.params().max_level());
    let payload = key_switch_key_len(ctx, galois.is_some()) - HEADER_LEN;
    let level = ctx.params().max_level();
    let shape = Shape { kind, seeded: true, level, slots: 1, scale: 1.0, payload, key: id };
    encode(ctx, shape, out, |p| {
        let mut offset = 0;
        if let Some(g) = galois {
            p[..8].copy_from_slice(&g.to_le_bytes());
            offset = 8;
        }
        for j in 0..ctx.params().literal().dnum {
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
    let qp = ctx.qp_moduli(ctx.params().max_level());
    let galois = kind == Kind::GaloisKey;
    let (_, payload) = open(ctx, bytes, kind)?;
    expect_len(payload, key_switch_key_len(ctx, galois) - HEADER_LEN)?;
    check_storage(keys::key_switch_key_words(ctx), storage.as_mut().len())?;
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
    let dnum = ctx.params().literal().dnum;
    // Validate and place every b_j first, then expand the seed into the a_j.
    for (j, digit) in storage.as_mut().chunks_exact_mut(2 * words).take(dnum).enumerate() {
        let _ = j;
        offset += unpack(&qp, n, &payload[offset..], &mut digit[..words])?;
    }
    let seed = seed_at(payload, offset);
    for (j, digit) in storage.as_mut().chunks_exact_mut(2 * words).take(dnum).enumerate() {
        keys::expand_key_switch_a(ctx, &seed, j, &mut digit[words..]);
    }
    Ok((element, KeySwitchKey { data: storage, seed }))
}

/// Encodes the relinearization key of key pair `id`.
///
/// # Errors
/// [`Error::BufferLength`] if `out` is too short.
pub fn encode_relinearization_key<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    rlk: &RelinearizationKey<K>,
    id: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    encode_ksk(ctx, &rlk.0, Kind::RelinearizationKey, None, id, out)
}

/// Decodes a relinearization key into `storage` ([`keys::key_switch_key_words`] words).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`] for short storage.
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
/// [`Error::BufferLength`] if `out` is too short.
pub fn encode_galois_key<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    gk: &GaloisKey<K>,
    id: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    encode_ksk(ctx, &gk.key, Kind::GaloisKey, Some(gk.galois_element), id, out)
}

/// Decodes a Galois key into `storage` ([`keys::key_switch_key_words`] words).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`] for short storage.
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
/// [`Error::BufferLength`] if `out` is too short.
pub fn encode_switching_key<T: AsRef<[u64]>, K: AsRef<[u64]>>(
    ctx: &Context<T>,
    key: &KeySwitchKey<K>,
    id: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    encode_ksk(ctx, key, Kind::SwitchingKey, None, id, out)
}

/// Decodes a key-switching key into `storage` ([`keys::key_switch_key_words`] words).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`] for short storage.
pub fn decode_switching_key_in<T: AsRef<[u64]>, K: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    storage: K,
) -> Result<KeySwitchKey<K>> {
    decode_ksk(ctx, bytes, Kind::SwitchingKey, storage).map(|(_, key)| key)
}

// ---- Plaintexts and ciphertexts ---------------------------------------------------------------------------

/// Bytes of an encoded plaintext at `level`.
pub fn plaintext_len<T>(ctx: &Context<T>, level: usize) -> usize {
    HEADER_LEN + packed_len(&ctx.params().q()[..=level], ctx.degree())
}

/// Bytes of an encoded ciphertext at `level`, seeded (`c_0` + seed) or not (`c_0`, `c_1`).
pub fn ciphertext_len<T>(ctx: &Context<T>, level: usize, seeded: bool) -> usize {
    let limbs = packed_len(&ctx.params().q()[..=level], ctx.degree());
    HEADER_LEN + limbs + if seeded { 32 } else { limbs }
}

/// Encodes a plaintext.
///
/// # Errors
/// [`Error::BufferLength`] if `out` is too short.
pub fn encode_plaintext<T: AsRef<[u64]>, S: AsRef<[u64]>>(
    ctx: &Context<T>,
    pt: &Plaintext<S>,
    out: &mut [u8],
) -> Result<usize> {
    let n = ctx.degree();
    let payload = plaintext_len(ctx, pt.level()) - HEADER_LEN;
    let shape = Shape {
        kind: Kind::Plaintext,
        seeded: false,
        level: pt.level(),
        slots: pt.slots(),
        scale: pt.scale(),
        payload,
        key: KeyId::NONE,
    };
    encode(ctx, shape, out, |p| pack(&ctx.params().q()[..=pt.level()], n, pt.limbs(n), p))
}

/// Decodes a plaintext into `storage` (at least `(level + 1)·N` words).
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`] for short storage.
pub fn decode_plaintext_in<T: AsRef<[u64]>, S: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    mut storage: S,
) -> Result<Plaintext<S>> {
    let n = ctx.degree();
    let (header, payload) = open(ctx, bytes, Kind::Plaintext)?;
    check_slots(ctx, &header)?;
    let level = header.level as usize;
    expect_len(payload, plaintext_len(ctx, level) - HEADER_LEN)?;
    check_storage(plaintext_words(n, level), storage.as_mut().len())?;
    unpack(&ctx.params().q()[..=level], n, payload, &mut storage.as_mut()[..plaintext_words(n, level)])?;
    Plaintext::from_parts(storage, n, level, header.scale, header.slots as usize)
}

/// Encodes a ciphertext under key pair `key`: a fresh secret-key encryption is written seeded (`c_0` and the seed
/// of `c_1`).
///
/// # Errors
/// [`Error::BufferLength`] if `out` is too short.
pub fn encode_ciphertext<T: AsRef<[u64]>, S: AsRef<[u64]>>(
    ctx: &Context<T>,
    ct: &Ciphertext<S>,
    key: KeyId,
    out: &mut [u8],
) -> Result<usize> {
    let n = ctx.degree();
    let level = ct.level();
    let seed = ct.seed().copied();
    let payload = ciphertext_len(ctx, level, seed.is_some()) - HEADER_LEN;
    let q = &ctx.params().q()[..=level];
    let (slots, scale, seeded) = (ct.slots(), ct.scale(), seed.is_some());
    let shape = Shape { kind: Kind::Ciphertext, seeded, level, slots, scale, payload, key };
    encode(ctx, shape, out, |p| {
        let written = pack(q, n, ct.c0(n), p);
        match seed {
            Some(seed) => {
                p[written..written + 32].copy_from_slice(&seed);
                written + 32
            }
            None => written + pack(q, n, ct.c1(n), &mut p[written..]),
        }
    })
}

/// Decodes a ciphertext into `storage` (at least `2(level + 1)·N` words), expanding `c_1` from the seed when
/// the ciphertext was written seeded.
///
/// # Errors
/// A [`WireError`] for malformed input, [`Error::BufferLength`] for short storage.
pub fn decode_ciphertext_in<T: AsRef<[u64]>, S: AsRef<[u64]> + AsMut<[u64]>>(
    ctx: &Context<T>,
    bytes: &[u8],
    mut storage: S,
) -> Result<Ciphertext<S>> {
    let n = ctx.degree();
    let (header, payload) = open(ctx, bytes, Kind::Ciphertext)?;
    check_slots(ctx, &header)?;
    let level = header.level as usize;
    expect_len(payload, ciphertext_len(ctx, level, header.seeded) - HEADER_LEN)?;
    let words = plaintext_words(n, level);
    check_storage(2 * words, storage.as_mut().len())?;
    let q = &ctx.params().q()[..=level];
    let (c0, rest) = storage.as_mut().split_at_mut(words);
    let c1 = &mut rest[..words];
    let used = unpack(q, n, payload, c0)?;
    let seed = if header.seeded {
        let seed = seed_at(payload, used);
        encryption::expand_seed(ctx, &seed, level, c1);
        Some(seed)
    } else {
        unpack(q, n, &payload[used..], c1)?;
        None
    };
    let mut ct = Ciphertext::from_parts(storage, n, level, header.scale, header.slots as usize)?;
    ct.seed = seed;
    Ok(ct)
}

#[cfg(feature = "alloc")]
mod owned;
#[cfg(feature = "alloc")]
pub use owned::*;

#[cfg(test)]
mod tests;
