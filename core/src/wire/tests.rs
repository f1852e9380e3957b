//! The fixture every encoded type's tests share, and the tests that span every kind: truncation, corruption,
//! random input, mismatches, the header layout and the pinned bytes.

extern crate alloc;
use super::*;
use crate::Error;
use crate::Result;
use crate::ckks::context::Context;
use crate::ckks::encryption::{encrypt_pk, encrypt_sk, plaintext_from_coefficients};
use crate::ckks::keys::rotation_galois_element;
use crate::ckks::{Ciphertext, GaloisKey, KeySwitchKey, Plaintext, PublicKey, RelinearizationKey, SecretKey};
use crate::ckks::{Params, ParamsLiteral, presets};
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The key pair every keyed object of the tests belongs to.
pub(super) const KEY: KeyId = KeyId(0x1234_abcd);

pub(super) struct Objects {
    pub(super) ctx: Context<Vec<u64>>,
    pub(super) sk: SecretKey<Vec<u64>>,
    pub(super) pk: PublicKey<Vec<u64>>,
    pub(super) rlk: RelinearizationKey<Vec<u64>>,
    pub(super) gk: GaloisKey<Vec<u64>>,
    pub(super) ksk: KeySwitchKey<Vec<u64>>,
    pub(super) pt: Plaintext<Vec<u64>>,
    pub(super) ct: Ciphertext<Vec<u64>>,
    pub(super) seeded: Ciphertext<Vec<u64>>,
}

pub(super) fn objects(literal: &ParamsLiteral) -> Objects {
    let ctx = Context::new(&Params::new(literal).unwrap()).unwrap();
    let n = ctx.degree();
    let level = ctx.params().max_level();
    let mut rng = ChaCha20Rng::seed_from_u64(0x5EA1);
    let sk = SecretKey::generate(&ctx, &mut rng);
    let pk = PublicKey::generate(&ctx, &sk, &mut rng);
    let rlk = RelinearizationKey::generate(&ctx, &sk, &mut rng);
    let gk = GaloisKey::generate(&ctx, &sk, rotation_galois_element(n, 3), &mut rng);
    let other = SecretKey::generate(&ctx, &mut rng);
    let ksk = KeySwitchKey::generate(&ctx, &sk, &other.ntt()[..(level + 1) * n], &mut rng);
    let coefficients: Vec<f64> = (0..n).map(|i| (i as f64 - 100.0) * 1e6).collect();
    let pt =
        plaintext_from_coefficients(&ctx, &coefficients, level, 2f64.powi(35), 64, vec![0; (level + 1) * n]).unwrap();
    let (mut scratch, mut small) = (vec![0; (level + 1) * n], vec![0i8; n]);
    let ct = encrypt_pk(&ctx, &pk, &pt, &mut rng, vec![0; 2 * (level + 1) * n], &mut scratch, &mut small).unwrap();
    let seeded = encrypt_sk(&ctx, &sk, &pt, &mut rng, vec![0; 2 * (level + 1) * n], &mut scratch, &mut small).unwrap();
    Objects { ctx, sk, pk, rlk, gk, ksk, pt, ct, seeded }
}

/// A context and every kind's encoding under it.
type Encodings = (Context<Vec<u64>>, Vec<(Kind, Vec<u8>)>);

fn every_encoding(o: &Objects) -> Vec<(Kind, Vec<u8>)> {
    vec![
        (Kind::Params, params_to_vec(&o.ctx).unwrap()),
        (Kind::SecretKey, secret_key_to_vec(&o.ctx, &o.sk, KEY).unwrap().to_vec()),
        (Kind::PublicKey, public_key_to_vec(&o.ctx, &o.pk, KEY).unwrap()),
        (Kind::RelinearizationKey, relinearization_key_to_vec(&o.ctx, &o.rlk, KEY).unwrap()),
        (Kind::GaloisKey, galois_key_to_vec(&o.ctx, &o.gk, KEY).unwrap()),
        (Kind::SwitchingKey, switching_key_to_vec(&o.ctx, &o.ksk, KEY).unwrap()),
        (Kind::Plaintext, plaintext_to_vec(&o.ctx, &o.pt).unwrap()),
        (Kind::Ciphertext, ciphertext_to_vec(&o.ctx, &o.ct, KEY).unwrap()),
        (Kind::Ciphertext, ciphertext_to_vec(&o.ctx, &o.seeded, KEY).unwrap()),
    ]
}

/// Decodes `bytes` as `kind` with the owned decoders; `Ok(())` when it decodes.
fn decode_as(ctx: &Context<Vec<u64>>, kind: Kind, bytes: &[u8]) -> Result<()> {
    match kind {
        Kind::Params => decode_params(bytes).map(|_| ()),
        Kind::SecretKey => decode_secret_key(ctx, bytes).map(|_| ()),
        Kind::PublicKey => decode_public_key(ctx, bytes).map(|_| ()),
        Kind::RelinearizationKey => decode_relinearization_key(ctx, bytes).map(|_| ()),
        Kind::GaloisKey => decode_galois_key(ctx, bytes).map(|_| ()),
        Kind::SwitchingKey => decode_switching_key(ctx, bytes).map(|_| ()),
        Kind::Plaintext => decode_plaintext(ctx, bytes).map(|_| ()),
        Kind::Ciphertext => decode_ciphertext(ctx, bytes).map(|_| ()),
    }
}

#[test]
fn every_truncation_is_an_error() {
    let o = objects(&presets::TEST_INSECURE_N1024);
    for (kind, bytes) in every_encoding(&o) {
        // Every prefix of the header and a stride of payload prefixes (every byte is slow for the large keys).
        let stride = (bytes.len() / 997).max(1);
        for len in (0..HEADER_LEN).chain((HEADER_LEN..bytes.len()).step_by(stride)) {
            assert!(decode_as(&o.ctx, kind, &bytes[..len]).is_err(), "{kind} truncated to {len} decoded");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_as(&o.ctx, kind, &longer), Err(Error::Wire(WireError::TrailingBytes)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn single_bit_flips_are_errors_never_panics(which in 0usize..9, position in any::<prop::sample::Index>(), bit in 0u8..8) {
        static OBJECTS: std::sync::OnceLock<Encodings> = std::sync::OnceLock::new();
        let (ctx, encodings) = OBJECTS.get_or_init(|| {
            let o = objects(&presets::TEST_INSECURE_N1024);
            let e = every_encoding(&o);
            (o.ctx, e)
        });
        let (kind, bytes) = &encodings[which];
        let mut corrupted = bytes.clone();
        corrupted[position.index(bytes.len())] ^= 1 << bit;
        prop_assert!(decode_as(ctx, *kind, &corrupted).is_err());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), kind_tag in 1u8..9) {
        static CTX: std::sync::OnceLock<Context<Vec<u64>>> = std::sync::OnceLock::new();
        let ctx = CTX.get_or_init(|| Context::new(&Params::new(&presets::TEST_INSECURE_N1024).unwrap()).unwrap());
        let kinds = [Kind::Params, Kind::SecretKey, Kind::PublicKey, Kind::RelinearizationKey, Kind::GaloisKey, Kind::Plaintext, Kind::Ciphertext, Kind::SwitchingKey];
        let mut framed = b"MBLD\x02\x00".to_vec();
        framed.push(kind_tag);
        framed.extend_from_slice(&bytes);
        prop_assert!(decode_as(ctx, kinds[kind_tag as usize - 1], &framed).is_err());
    }
}

#[test]
fn parameter_mismatch_and_wrong_kind_are_reported() {
    let o = objects(&presets::TEST_INSECURE_N1024);
    let other = Context::new(&Params::new(&presets::N4096_QP109_S28).unwrap()).unwrap();
    let bytes = ciphertext_to_vec(&o.ctx, &o.ct, KEY).unwrap();
    assert_eq!(
        decode_ciphertext(&other, &bytes).unwrap_err(),
        Error::Wire(WireError::ParamsMismatch {
            expected: other.params().fingerprint(),
            found: o.ctx.params().fingerprint()
        })
    );
    assert_eq!(
        decode_plaintext(&o.ctx, &bytes).unwrap_err(),
        Error::Wire(WireError::WrongKind { expected: Kind::Plaintext, found: Kind::Ciphertext })
    );
    let header = peek_header(&bytes).unwrap();
    assert_eq!((header.kind, header.level as usize, header.slots), (Kind::Ciphertext, o.ct.level(), 64));
}

#[test]
fn oversized_claims_are_rejected_without_allocating() {
    let o = objects(&presets::TEST_INSECURE_N1024);
    let mut bytes = ciphertext_to_vec(&o.ctx, &o.ct, KEY).unwrap();
    // A level far above the parameters' (storage would be sized from it).
    bytes[16..18].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(decode_ciphertext(&o.ctx, &bytes).unwrap_err(), Error::Wire(WireError::InvalidField));
    // A payload length of 2^64 - 1.
    let mut bytes = ciphertext_to_vec(&o.ctx, &o.ct, KEY).unwrap();
    bytes[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(decode_ciphertext(&o.ctx, &bytes).unwrap_err(), Error::Wire(WireError::Truncated { .. })));
}

#[test]
fn header_layout_is_pinned() {
    let o = objects(&presets::TEST_INSECURE_N1024);
    let bytes = secret_key_to_vec(&o.ctx, &o.sk, KEY).unwrap();
    assert_eq!(&bytes[0..8], b"MBLD\x03\x00\x02\x00"); // magic, version 3, kind 2 (secret key), no flags
    assert_eq!(&bytes[8..16], &o.ctx.params().fingerprint().to_le_bytes());
    assert_eq!(&bytes[16..24], &[0, 0, 0, 0, 1, 0, 0, 0]); // level 0, reserved, 1 slot
    assert_eq!(&bytes[24..32], &1.0f64.to_le_bytes());
    assert_eq!(&bytes[32..40], &256u64.to_le_bytes()); // N/4 bytes of 2-bit coefficients
    assert_eq!(&bytes[44..48], &[0xcd, 0xab, 0x34, 0x12]); // the key pair
    assert_eq!(bytes.len(), HEADER_LEN + 256);
}

#[test]
fn the_key_pair_is_in_every_keyed_header_and_under_the_checksum() {
    let o = objects(&presets::TEST_INSECURE_N1024);
    for (kind, mut bytes) in every_encoding(&o) {
        let keyed = !matches!(kind, Kind::Params | Kind::Plaintext);
        assert_eq!(peek_header(&bytes).unwrap().key, if keyed { KEY } else { KeyId::NONE }, "{kind}");
        bytes[45] ^= 1;
        assert_eq!(decode_as(&o.ctx, kind, &bytes), Err(Error::Wire(WireError::ChecksumMismatch)), "{kind}");
    }
    assert_eq!(KeyId::random(&mut ChaCha20Rng::seed_from_u64(1)).to_string().len(), 8);
    assert_eq!(KeyId::NONE.to_string(), "none");
}

/// FNV-1a, 64-bit: a digest to pin encodings with.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The exact bytes of every kind (length and digest), from fixed seeds: a change here changes the format.
#[test]
fn wire_bytes_are_pinned() {
    let o = objects(&presets::TEST_INSECURE_N1024);
    let pinned: Vec<(usize, u64)> = every_encoding(&o).iter().map(|(_, b)| (b.len(), fnv1a(b))).collect();
    let expected = [
        (116, 0x69d5cbb6e98a7bec),   // params
        (304, 0xe9cd9a2113d60c76),   // secret key
        (24656, 0xc4d0518acefb09b2), // public key
        (77392, 0x3ab4e1c6a01f81b0), // relinearization key
        (77400, 0x549e68bd47e619d5), // Galois key
        (77392, 0x2913bba7cebc2864), // switching key
        (24624, 0xfdb9f3e6f8acc896), // plaintext
        (49200, 0x38839c41fa98df1f), // ciphertext
        (24656, 0x107b78003bf39010), // seeded ciphertext
    ];
    assert_eq!(pinned, expected);
}
