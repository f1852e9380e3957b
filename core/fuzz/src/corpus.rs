//! Writes the seed corpus: a valid encoding of every wire-format kind under `test-insecure-n1024` into
//! `corpus/objects/` (for `decode` and `decode_checked`), and a valid device-link frame of each direction into
//! `corpus/frames/` (for `frame`). Deterministic (a fixed seed), so the corpus in the repository is what this writes.

use medblind_core::ckks::rotation_galois_element;
use medblind_core::ckks::{
    Context, Encoder, EncryptionKey, Encryptor, GaloisKey, KeySwitchKey, Params, PublicKey, RelinearizationKey,
    SecretKey, Slots, presets,
};
use medblind_core::wire::{self, KeyId, frame};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let ctx = Context::new(&Params::new(&presets::TEST_INSECURE_N1024).expect("preset")).expect("context");
    let encoder = Encoder::new(ctx.log_degree()).expect("encoder");
    let mut rng = ChaCha20Rng::seed_from_u64(0xF022);
    let sk = SecretKey::generate(&ctx, &mut rng);
    let key = KeyId::random(&mut rng);
    let (top, scale) = (ctx.params().max_level(), ctx.params().default_scale());
    let values = [0.5, -0.25, 1.0, 0.0];
    let slots = Slots::new(&ctx, &encoder);
    let encryptor = Encryptor::new(&ctx, &encoder, EncryptionKey::Secret(&sk));
    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("params", wire::params_to_vec(&ctx).expect("params")),
        ("secret-key", wire::secret_key_to_vec(&ctx, &sk, key).expect("secret key").to_vec()),
        ("public-key", wire::public_key_to_vec(&ctx, &PublicKey::generate(&ctx, &sk, &mut rng), key).expect("pk")),
        (
            "relinearization-key",
            wire::relinearization_key_to_vec(&ctx, &RelinearizationKey::generate(&ctx, &sk, &mut rng), key)
                .expect("rlk"),
        ),
        (
            "galois-key",
            wire::galois_key_to_vec(
                &ctx,
                &GaloisKey::generate(&ctx, &sk, rotation_galois_element(1024, 1), &mut rng),
                key,
            )
            .expect("galois key"),
        ),
        (
            "switching-key",
            // From any `s'` (here the constant 1 in the NTT domain over every `q` prime) to `sk`.
            wire::switching_key_to_vec(
                &ctx,
                &KeySwitchKey::generate(&ctx, &sk, &vec![1; (top + 1) * 1024], &mut rng),
                key,
            )
            .expect("switching key"),
        ),
        ("plaintext", wire::plaintext_to_vec(&ctx, &slots.encode(&values, &[], 1, scale).expect("pt")).expect("pt")),
        (
            "ciphertext",
            wire::ciphertext_to_vec(&ctx, &encryptor.encrypt(&values, &[], top, scale, &mut rng).expect("ct"), key)
                .expect("ct"),
        ),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    std::fs::create_dir_all(root.join("objects"))?;
    for (name, bytes) in &objects {
        std::fs::write(root.join("objects").join(name), bytes)?;
    }
    std::fs::create_dir_all(root.join("frames"))?;
    // A 2 × 3 head (six weights, two biases) and three features, as the host sends them.
    let head: Vec<u8> =
        [2u16, 3].iter().flat_map(|v| v.to_le_bytes()).chain((0..8).flat_map(|i| f64::from(i).to_le_bytes())).collect();
    let features: Vec<u8> =
        3u16.to_le_bytes().into_iter().chain([0.5f64, -1.0, 2.0].iter().flat_map(|v| v.to_le_bytes())).collect();
    let frames = [
        ("to-device", 0x11u8, &b"features"[..]),
        ("to-host", 0x91, &objects[7].1[..64]),
        ("head", frame::Opcode::Head as u8, &head[..]),
        ("features", frame::Opcode::Features as u8, &features[..]),
    ];
    for (name, kind, payload) in frames {
        let mut out = vec![0u8; frame::FRAME_HEADER + payload.len() + frame::FRAME_TRAILER];
        let len = frame::encode_frame(kind, payload, &mut out).expect("frame");
        std::fs::write(root.join("frames").join(name), &out[..len])?;
    }
    println!("corpus written to {}", root.display());
    Ok(())
}
