//! Arbitrary bytes with their checksum made right, to every decoder of its kind: random bytes almost never pass
//! the header's CRC-32C, so without this the fuzzer would not get past it. None may panic or allocate beyond the
//! parameters' sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medblind_core::ckks::{Context, Params, presets};
use medblind_core::wire::{self, HEADER_LEN};
use std::sync::OnceLock;

/// CRC-32C (Castagnoli), bit by bit: the wire format's header checksum.
fn crc32c(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for &byte in parts.iter().flat_map(|p| p.iter()) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

fuzz_target!(|data: &[u8]| {
    static CTX: OnceLock<Context<Vec<u64>>> = OnceLock::new();
    let ctx = CTX
        .get_or_init(|| Context::new(&Params::new(&presets::TEST_INSECURE_N1024).expect("preset")).expect("context"));
    if data.len() < HEADER_LEN {
        return;
    }
    let mut bytes = data.to_vec();
    // The checksum covers header bytes 0..40, four zero bytes in place of itself, 44..48 and the payload.
    let crc = crc32c(&[&bytes[..40], &[0u8; 4], &bytes[44..]]);
    bytes[40..44].copy_from_slice(&crc.to_le_bytes());
    let _ = wire::peek_header(&bytes);
    let _ = wire::decode_params(&bytes);
    let _ = wire::decode_secret_key(ctx, &bytes);
    let _ = wire::decode_public_key(ctx, &bytes);
    let _ = wire::decode_relinearization_key(ctx, &bytes);
    let _ = wire::decode_galois_key(ctx, &bytes);
    let _ = wire::decode_switching_key(ctx, &bytes);
    let _ = wire::decode_plaintext(ctx, &bytes);
    let _ = wire::decode_ciphertext(ctx, &bytes);
});
