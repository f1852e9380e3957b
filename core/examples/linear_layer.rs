//! The device's linear layer: `y = W·x + b` for a plaintext `W` (3 × 16) and bias on an encrypted `x` in 16
//! slots, with [`LinearLayer`] on caller-provided buffers (no allocation in the layer: the firmware runs it
//! so), on the insecure test preset N = 2^10. The 3 outputs match `f64` within 10⁻⁶.
//!
//! `cargo run -p medblind-core --example linear_layer`; also a doc-test of the crate.

use medblind_core::ckks::linear_layer::{LinearLayer, Work};
use medblind_core::ckks::{
    Ciphertext, Context, Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, GaloisKey, Params, SecretKey, presets,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn main() -> medblind_core::Result<()> {
    let params = Params::new(&presets::TEST_INSECURE_N1024)?;
    let ctx = Context::new(&params)?;
    let encoder = Encoder::new(ctx.log_degree())?;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let sk = SecretKey::generate(&ctx, &mut rng);

    let (rows, cols, slots) = (3, 16, 16);
    let weights: Vec<f64> = (0..rows * cols).map(|i| (i as f64 * 0.7).sin()).collect();
    let bias = [0.5, -0.25, 0.125];
    let x: Vec<f64> = (0..cols).map(|j| (j as f64 * 0.3).cos()).collect();
    let layer = LinearLayer::new(&weights, rows, cols, Some(&bias), slots)?;
    // The rotation keys the layer needs, from its shape.
    let n = ctx.degree();
    let keys: Vec<GaloisKey<Vec<u64>>> =
        layer.galois_elements(n).iter().map(|&g| GaloisKey::generate(&ctx, &sk, g, &mut rng)).collect();
    let (level, scale) = (params.max_level(), params.default_scale());
    let ct = Encryptor::new(&ctx, &encoder, EncryptionKey::Secret(&sk)).encrypt(&x, &[], level, scale, &mut rng)?;

    let ev = Evaluator::new(&ctx);
    let mut out = Ciphertext::zero(n, level, scale, slots);
    let (mut work, mut float_work) = (vec![0; layer.work_words(&ev, level)], vec![0.0; layer.float_work_words(n)]);
    layer.evaluate_with(&ev, &encoder, &ct, &keys, &mut out, Work { words: &mut work, floats: &mut float_work })?;
    assert_eq!(out.level(), level - 1);

    let have = Decryptor::new(&ctx, &encoder, &sk).decrypt(&out)?;
    let want: Vec<f64> =
        (0..rows).map(|r| bias[r] + (0..cols).map(|c| weights[r * cols + c] * x[c]).sum::<f64>()).collect();
    let worst = (0..rows).map(|r| (have[r] - want[r]).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-6, "largest error {worst:e}");
    println!("W·x + b ({rows}×{cols}) at level {}: largest error {worst:.1e}", out.level());
    Ok(())
}
