//! The device path (no allocator: static-style buffers, `*_in` functions) and the host path (owned types) of the
//! core produce and accept the very same bytes.

use medblind_core::ckks::encryption::{encrypt_sk, plaintext_from_coefficients};
use medblind_core::ckks::secret_key_words;
use medblind_core::ckks::{Context, Decryptor, Encoder, Params, SecretKey, presets};
use medblind_core::ckks::{ciphertext_words, plaintext_words};
use medblind_core::math::ntt::NttTable;
use medblind_core::wire;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The key pair of the test's objects.
const KEY: wire::KeyId = wire::KeyId(0x0bad_cafe);

#[test]
fn buffer_api_and_owned_api_agree_on_the_firmware_preset() {
    let params = Params::new(&presets::N4096_QP109_S28).unwrap();
    let n = params.degree();
    let level = params.max_level();

    // Device side: every table and object in caller-provided buffers.
    let per_table = NttTable::<&mut [u64]>::words(n);
    let mut table_storage = vec![0u64; (params.q().len() + params.p().len()) * per_table];
    let device_ctx = Context::new_in(&params, &mut table_storage).unwrap();
    let mut encoder_storage = vec![0.0; Encoder::<&mut [f64]>::words(n)];
    let encoder = Encoder::new_in(12, &mut encoder_storage[..]).unwrap();
    let mut sk_storage = vec![0u64; secret_key_words(&device_ctx)];
    let mut small = vec![0i8; n];
    let sk = SecretKey::generate_in(&device_ctx, &mut ChaCha20Rng::seed_from_u64(7), &mut sk_storage[..], &mut small)
        .unwrap();
    let features: Vec<f64> = (0..192).map(|i| (i as f64 * 0.37).sin()).chain(core::iter::repeat_n(0.0, 64)).collect();
    let mut coefficients = vec![0.0; n];
    let scale = params.default_scale();
    encoder.encode_real(&features, scale, &mut coefficients).unwrap();
    let mut pt_storage = vec![0u64; plaintext_words(n, level)];
    let pt = plaintext_from_coefficients(&device_ctx, &coefficients, level, scale, 256, &mut pt_storage[..]).unwrap();
    let mut ct_storage = vec![0u64; ciphertext_words(n, level)];
    let mut scratch = vec![0u64; plaintext_words(n, level)];
    let ct = encrypt_sk(
        &device_ctx,
        &sk,
        &pt,
        &mut ChaCha20Rng::seed_from_u64(8),
        &mut ct_storage[..],
        &mut scratch,
        &mut small,
    )
    .unwrap();
    let mut device_bytes = vec![0u8; wire::ciphertext_len(&device_ctx, level, true)];
    let written = wire::encode_ciphertext(&device_ctx, &ct, KEY, &mut device_bytes).unwrap();
    assert_eq!(written, device_bytes.len());
    let mut sk_bytes = vec![0u8; wire::secret_key_len(&device_ctx)];
    wire::encode_secret_key(&device_ctx, &sk, KEY, &mut vec![0; n], &mut vec![0; n], &mut sk_bytes).unwrap();

    // Host side: owned context; the same secret key (from its file bytes) decrypts the device's ciphertext.
    let host_ctx = Context::new(&params).unwrap();
    let host_sk = wire::decode_secret_key(&host_ctx, &sk_bytes).unwrap();
    let host_ct = wire::decode_ciphertext(&host_ctx, &device_bytes).unwrap();
    assert_eq!(wire::peek_header(&device_bytes).unwrap().key, KEY);
    assert_eq!(wire::ciphertext_to_vec(&host_ctx, &host_ct, KEY).unwrap(), device_bytes, "re-encoding changes no byte");
    let host_encoder = Encoder::new(12).unwrap();
    let re = Decryptor::new(&host_ctx, &host_encoder, &host_sk).decrypt(&host_ct).unwrap();
    let worst = features.iter().zip(&re).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    // Scale 2^28, fresh noise ≈ 2^6 spread over 256 slots: about 2^-18.
    assert!(worst < 1e-4, "worst slot error {worst}");
}
