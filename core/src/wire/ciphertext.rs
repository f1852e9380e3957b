//! Plaintexts and ciphertexts: bit-packed limbs at their level; a seeded ciphertext carries `c_0` and the seed of
//! `c_1` instead of `c_1`.

use super::codec::{Shape, check_slots, check_storage, encode, expect_len, open, pack, packed_len, seed_at, unpack};
use super::header::{HEADER_LEN, KeyId};
use super::kind::Kind;
use crate::Result;
use crate::ckks::ciphertext::{Ciphertext, Plaintext, plaintext_words};
use crate::ckks::context::Context;

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
/// [`Error::BufferLength`](crate::Error::BufferLength) if `out` is too short.
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
/// A [`WireError`](super::WireError) for malformed input, [`Error::BufferLength`](crate::Error::BufferLength)
/// for short storage.
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

/// Encodes a ciphertext under key pair `key`: one that carries its seed (a fresh secret-key encryption that no
/// operation has touched since) is written seeded, `c_0` and the seed of `c_1`.
///
/// # Errors
/// [`Error::BufferLength`](crate::Error::BufferLength) if `out` is too short.
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
/// A [`WireError`](super::WireError) for malformed input, [`Error::BufferLength`](crate::Error::BufferLength)
/// for short storage.
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
    let used = unpack(q, n, payload, &mut storage.as_mut()[..words])?;
    let (scale, slots) = (header.scale, header.slots as usize);
    if header.seeded {
        Ciphertext::from_seed(ctx, storage, level, scale, slots, seed_at(payload, used))
    } else {
        unpack(q, n, &payload[used..], &mut storage.as_mut()[words..2 * words])?;
        Ciphertext::from_parts(storage, n, level, scale, slots)
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::super::tests::{KEY, objects};
    use super::super::{Header, WireError, ciphertext_to_vec, decode_ciphertext, decode_plaintext, plaintext_to_vec};
    use super::*;
    use crate::Error;
    use crate::ckks::encryption::decrypt;
    use crate::ckks::presets;
    use alloc::vec;

    #[test]
    fn plaintexts_and_ciphertexts_round_trip() {
        let o = objects(&presets::TEST_INSECURE_N1024);
        let ctx = &o.ctx;
        assert_eq!(decode_plaintext(ctx, &plaintext_to_vec(ctx, &o.pt).unwrap()).unwrap(), o.pt);
        assert_eq!(decode_ciphertext(ctx, &ciphertext_to_vec(ctx, &o.ct, KEY).unwrap()).unwrap(), o.ct);
        assert_eq!(decode_ciphertext(ctx, &ciphertext_to_vec(ctx, &o.seeded, KEY).unwrap()).unwrap(), o.seeded);
    }

    #[test]
    fn seeded_ciphertext_is_half_the_size_and_decrypts_identically() {
        let o = objects(&presets::TEST_INSECURE_N1024);
        let ctx = &o.ctx;
        let (full, seeded) =
            (ciphertext_to_vec(ctx, &o.ct, KEY).unwrap(), ciphertext_to_vec(ctx, &o.seeded, KEY).unwrap());
        assert!(seeded.len() * 2 < full.len() + 2 * HEADER_LEN + 64, "{} vs {}", seeded.len(), full.len());
        let back = decode_ciphertext(ctx, &seeded).unwrap();
        let n = ctx.degree();
        let words = (back.level() + 1) * n;
        let a = decrypt(ctx, &o.sk, &o.seeded, vec![0; words]).unwrap();
        let b = decrypt(ctx, &o.sk, &back, vec![0; words]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn residues_at_or_above_the_modulus_are_rejected() {
        let o = objects(&presets::TEST_INSECURE_N1024);
        let mut bytes = plaintext_to_vec(&o.ctx, &o.pt).unwrap();
        // Set the first residue's 50 bits to all ones (2^50 - 1 ≥ q_0), then fix the checksum.
        for b in &mut bytes[HEADER_LEN..HEADER_LEN + 7] {
            *b = 0xff;
        }
        let header = Header::read(&bytes).unwrap();
        let (head, payload) = bytes.split_at_mut(HEADER_LEN);
        header.write(head, payload);
        assert!(matches!(decode_plaintext(&o.ctx, &bytes), Err(Error::Wire(WireError::InvalidField))));
    }
}
