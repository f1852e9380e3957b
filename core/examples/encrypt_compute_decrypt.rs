//! Encrypt, compute, decrypt: `a·b + a` on the 1024 slots of the insecure test preset N = 2^11. The key owner
//! makes the keys and encrypts under the public key, the cloud computes with the [`Engine`] (which keeps levels
//! and scales) and the evaluation keys only, the key owner decrypts; every slot matches `f64` within 10⁻⁶.
//!
//! `cargo run -p medblind-core --example encrypt_compute_decrypt`; also a doc-test of the crate.
//!
//! [`Engine`]: medblind_core::ckks::Engine

use medblind_core::ckks::{
    Context, Decryptor, Encoder, EncryptionKey, Encryptor, Engine, EvaluationKeys, Params, PublicKey,
    RelinearizationKey, SecretKey, presets,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn main() -> medblind_core::Result<()> {
    let params = Params::new(&presets::TEST_INSECURE_N2048_DEPTH30)?;
    let ctx = Context::new(&params)?;
    let encoder = Encoder::new(ctx.log_degree())?;
    let mut rng = ChaCha20Rng::seed_from_u64(1);

    // The key owner: the secret key, the public key anyone encrypts with, the evaluation keys the cloud holds.
    let sk = SecretKey::generate(&ctx, &mut rng);
    let pk = PublicKey::generate(&ctx, &sk, &mut rng);
    let relinearization = RelinearizationKey::generate(&ctx, &sk, &mut rng);
    let keys = EvaluationKeys { relinearization, galois: Vec::new(), encapsulation: None };

    let engine = Engine::new(&ctx, &encoder, &keys);
    let slots = engine.slots();
    let a: Vec<f64> = (0..slots).map(|i| (i as f64 * 0.37).sin()).collect();
    let b: Vec<f64> = (0..slots).map(|i| (i as f64 * 0.11).cos()).collect();
    let encryptor = Encryptor::new(&ctx, &encoder, EncryptionKey::Public(&pk));
    let (level, scale) = (engine.fresh_level(), params.default_scale());
    let (ca, cb) =
        (encryptor.encrypt(&a, &[], level, scale, &mut rng)?, encryptor.encrypt(&b, &[], level, scale, &mut rng)?);

    // The cloud: one exact product (one level), then a sum with an operand from the level above.
    let result = engine.add(&engine.mul(&ca, &cb)?, &ca)?;

    let have = Decryptor::new(&ctx, &encoder, &sk).decrypt(&result)?;
    let worst = (0..slots).map(|i| (have[i] - (a[i] * b[i] + a[i])).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-6, "largest error {worst:e}");
    println!("a·b + a on {slots} slots at level {}: largest error {worst:.1e}", result.level());
    Ok(())
}
