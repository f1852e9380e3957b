//! What every encoder and decoder shares: the header of an object ([`Shape`]), writing it around a payload
//! ([`encode`]), opening and checking one ([`open`]), and the bit-packing of RNS limbs.

use super::WireError;
use super::header::{self, HEADER_LEN, Header, KeyId};
use super::kind::Kind;
use super::pack::{BitReader, BitWriter};
use crate::ckks::context::Context;
use crate::math::zq::Modulus;
use crate::{Error, Result};

/// `e` as the crate's error.
pub(super) fn wire<T>(e: WireError) -> Result<T> {
    Err(Error::Wire(e))
}

/// Bytes of the bit-packed limbs of a polynomial over `moduli` (each limb padded to a byte).
pub(super) fn packed_len(moduli: &[Modulus], degree: usize) -> usize {
    moduli.iter().map(|m| (degree * m.bits() as usize).div_ceil(8)).sum()
}

pub(super) fn pack(moduli: &[Modulus], degree: usize, words: &[u64], out: &mut [u8]) -> usize {
    let mut offset = 0;
    for (m, limb) in moduli.iter().zip(words.chunks_exact(degree)) {
        let len = (degree * m.bits() as usize).div_ceil(8);
        let mut writer = BitWriter::new(&mut out[offset..offset + len]);
        limb.iter().for_each(|&x| writer.write(x, m.bits()));
        offset += len;
    }
    offset
}

pub(super) fn unpack(moduli: &[Modulus], degree: usize, bytes: &[u8], out: &mut [u64]) -> Result<usize> {
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
pub(super) struct Shape {
    pub(super) kind: Kind,
    pub(super) seeded: bool,
    pub(super) level: usize,
    pub(super) slots: usize,
    pub(super) scale: f64,
    pub(super) payload: usize,
    pub(super) key: KeyId,
}

/// Writes header + payload (by `body`) into `out`, returning the total length.
pub(super) fn encode<T>(
    ctx: &Context<T>,
    shape: Shape,
    out: &mut [u8],
    body: impl FnOnce(&mut [u8]) -> usize,
) -> Result<usize> {
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
pub(super) fn open<'b, T>(ctx: &Context<T>, bytes: &'b [u8], kind: Kind) -> Result<(Header, &'b [u8])> {
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

pub(super) fn expect_len(payload: &[u8], expected: usize) -> Result<()> {
    if payload.len() != expected { wire(WireError::InvalidField) } else { Ok(()) }
}

pub(super) fn check_slots<T>(ctx: &Context<T>, header: &Header) -> Result<()> {
    let slots = header.slots as usize;
    let ok =
        slots.is_power_of_two() && slots <= ctx.params().max_slots() && header.scale.is_finite() && header.scale > 0.0;
    if ok { Ok(()) } else { wire(WireError::InvalidField) }
}

pub(super) fn check_storage(expected: usize, actual: usize) -> Result<()> {
    if actual < expected { Err(Error::BufferLength { expected, actual }) } else { Ok(()) }
}

/// The 32-byte seed at `offset` of `payload`.
pub(super) fn seed_at(payload: &[u8], offset: usize) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&payload[offset..offset + 32]);
    seed
}
