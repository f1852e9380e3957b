//! Parameter sets: the full literal, so a reader can cross-check it against the preset it names.

use super::WireError;
use super::codec::{Shape, encode, expect_len, wire};
use super::header::{self, HEADER_LEN, Header, KeyId};
use super::kind::Kind;
use crate::Result;
use crate::ckks::context::Context;
use crate::ckks::{ParamsLiteral, presets};

/// Bytes of an encoded parameter set.
pub fn params_len(literal: &ParamsLiteral) -> usize {
    HEADER_LEN + 12 + 8 * (literal.q.len() + literal.p.len())
}

/// Encodes the parameters of `ctx` (the full literal, so a reader can cross-check it).
///
/// # Errors
/// [`Error::BufferLength`](crate::Error::BufferLength) if `out` is too short.
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
        p[2..4].copy_from_slice(&(ctx.params().dnum() as u16).to_le_bytes());
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
/// that preset's encoding. Every preset of [`presets::ALL`] is accepted, the `TEST_INSECURE_*` ones included (the
/// host's tests run under them); a reader that must refuse those checks the literal's `security`.
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
            && u16::from_le_bytes([payload[2], payload[3]]) as usize == params.dnum()
            && u16::from_le_bytes([payload[6], payload[7]]) as usize == literal.q.len()
            && primes.copied().eq(stored);
        return if same { Ok(literal) } else { wire(WireError::InvalidField) };
    }
    wire(WireError::UnknownParams { fingerprint: header.fingerprint })
}

#[cfg(test)]
mod tests {
    use super::super::params_to_vec;
    use super::super::tests::objects;
    use super::*;

    #[test]
    fn params_round_trip() {
        let o = objects(&presets::TEST_INSECURE_N1024);
        let ctx = &o.ctx;
        assert_eq!(decode_params(&params_to_vec(ctx).unwrap()).unwrap(), &presets::TEST_INSECURE_N1024);
    }
}
