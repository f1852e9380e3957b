//! Bootstrapping: an encryption with no levels left back at the fresh level, without the secret key, on the
//! 2048 slots of the insecure test preset N = 2^12 (the 128-bit preset's primes and levels at a small degree).
//! The key owner generates bootstrapping's evaluation keys; the cloud bootstraps with the [`Engine`]; every slot
//! of values in `[-1, 1]` matches within 2^-20.
//!
//! `cargo run --release -p medblind-core --example bootstrapping`; also a doc-test of the crate.
//!
//! [`Engine`]: medblind_core::ckks::Engine

use medblind_core::ckks::bootstrap::Bootstrapper;
use medblind_core::ckks::{Context, Decryptor, Encoder, EncryptionKey, Encryptor, Engine, Params, SecretKey, presets};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn main() -> medblind_core::Result<()> {
    let params = Params::new(&presets::TEST_INSECURE_N4096_BOOT)?;
    let ctx = Context::new(&params)?;
    let encoder = Encoder::new(ctx.log_degree())?;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let bootstrapper = Bootstrapper::for_params(&ctx)?.expect("the preset has a bootstrapping configuration");

    // The key owner: bootstrapping's relinearization, Galois and encapsulation keys, and an encryption at level 0.
    let sk = SecretKey::generate(&ctx, &mut rng);
    let keys = bootstrapper.generate_keys(&ctx, &sk, &mut rng)?;
    let slots = ctx.degree() / 2;
    let values: Vec<f64> = (0..slots).map(|i| (i as f64 * 0.61).sin()).collect();
    let exhausted = Encryptor::new(&ctx, &encoder, EncryptionKey::Secret(&sk)).encrypt(
        &values,
        &[],
        0,
        params.default_scale(),
        &mut rng,
    )?;

    // The cloud.
    let engine = Engine::bootstrapping(&ctx, &encoder, &keys, &bootstrapper)?;
    let fresh = engine.bootstrap(&exhausted)?;
    assert_eq!(fresh.level(), engine.fresh_level());

    let have = Decryptor::new(&ctx, &encoder, &sk).decrypt(&fresh)?;
    let worst = values.iter().zip(&have).map(|(v, h)| (v - h).abs()).fold(0.0, f64::max);
    assert!(worst < 2f64.powi(-20), "largest error {worst:e}");
    println!("bootstrapped {slots} slots from level 0 to level {}: largest error 2^{:.1}", fresh.level(), worst.log2());
    Ok(())
}
