//! The set-up the benches and the timing examples share: presets, the CKKS fixture (context, keys from a fixed
//! seed, a random plaintext), synthetic training data and its schedule, the kernel set from the environment.

use anyhow::anyhow;
use medblind::keystore::Session;
use medblind::train::data::Dataset;
use medblind::train::schedule::Schedule;
use medblind_core::ckks::encryption::plaintext_from_coefficients;
use medblind_core::ckks::rotation_galois_element;
use medblind_core::ckks::{
    Context, Encoder, GaloisKey, Params, ParamsLiteral, Plaintext, PublicKey, RelinearizationKey, SecretKey, presets,
};
use medblind_core::math::kernels;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Selects the kernel set named by `$MEDBLIND_KERNELS` (else the best this CPU runs); on a bad name, prints
/// `PROGRAM: error` and exits with code 2.
pub fn select_kernels(program: &str) {
    if let Err(e) = kernels::from_env() {
        eprintln!("{program}: {e}");
        std::process::exit(2);
    }
}

/// The 128-bit preset at scale 2^40 of degree `2^log_n` (`n*-s40`, log2 N from 13 to 16).
pub fn s40_preset(log_n: u32) -> Option<&'static ParamsLiteral> {
    presets::ALL.iter().copied().find(|l| l.log_degree == log_n && l.log_scale == 40)
}

/// The preset named `name`.
///
/// # Errors
/// If there is none.
pub fn preset(name: &str) -> anyhow::Result<&'static ParamsLiteral> {
    presets::ALL.iter().copied().find(|l| l.name == name).ok_or_else(|| anyhow!("no preset {name}"))
}

/// The context and encoder of `literal` (unlike [`Session::new`], silent on test presets).
///
/// # Errors
/// On invalid parameters.
pub fn session(literal: &ParamsLiteral) -> anyhow::Result<Session> {
    let ctx = Context::new(&Params::new(literal)?)?;
    let encoder = Encoder::new(ctx.log_degree())?;
    Ok(Session { ctx, encoder })
}

/// What the CKKS benches and the `ops` example time with at one preset, drawn from [`Fixture::rng`] (seeded with
/// 1) in this order: the keys, then the plaintext's coefficients.
pub struct Fixture {
    /// The context.
    pub ctx: Context<Vec<u64>>,
    /// The secret key.
    pub sk: SecretKey<Vec<u64>>,
    /// The public key.
    pub pk: PublicKey<Vec<u64>>,
    /// The relinearization key.
    pub rlk: RelinearizationKey<Vec<u64>>,
    /// The keys of the left rotations by 1, 2, 4, …, 128 slots.
    pub galois: Vec<GaloisKey<Vec<u64>>>,
    /// Random integer coefficients below 2^20, at the top level and the default scale, `N/2` slots.
    pub pt: Plaintext<Vec<u64>>,
    /// The generator, for what the caller draws next.
    pub rng: ChaCha20Rng,
}

impl Fixture {
    /// The fixture of `literal`.
    ///
    /// # Panics
    /// On a preset that does not build.
    pub fn new(literal: &ParamsLiteral) -> Self {
        let Session { ctx, .. } = session(literal).expect("preset");
        let (n, top) = (ctx.degree(), ctx.params().max_level());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let sk = SecretKey::generate(&ctx, &mut rng);
        let pk = PublicKey::generate(&ctx, &sk, &mut rng);
        let rlk = RelinearizationKey::generate(&ctx, &sk, &mut rng);
        let galois =
            (0..8).map(|i| GaloisKey::generate(&ctx, &sk, rotation_galois_element(n, 1 << i), &mut rng)).collect();
        let coefficients: Vec<f64> = (0..n).map(|_| (rng.next_u32() >> 12) as f64).collect();
        let scale = ctx.params().default_scale();
        let pt = plaintext_from_coefficients(&ctx, &coefficients, top, scale, n / 2, vec![0; (top + 1) * n])
            .expect("plaintext");
        Self { ctx, sk, pk, rlk, galois, pt, rng }
    }
}

/// A deterministic value in (-1, 1) for index `i` (the fractional part of a sine hash).
fn hashed(i: usize) -> f64 {
    ((i as f64 * 12.9898).sin() * 43758.5453).fract()
}

/// `rows` rows of `width` features, row `i`'s feature `j` being a hash of `i·stride + j` in (-1, 1) divided by
/// `divisor`; labels `i mod classes`.
pub fn synthetic(rows: usize, width: usize, stride: usize, classes: usize, divisor: f64) -> Dataset {
    Dataset {
        features: (0..rows).map(|i| (0..width).map(|j| hashed(i * stride + j) / divisor).collect()).collect(),
        labels: (0..rows).map(|i| i % classes).collect(),
        classes,
    }
}

/// One epoch of batches of `batch` rows (decay and momentum 0.9, no early stop, seed 1).
pub fn one_epoch(batch: usize, learning_rate: f64, weight_decay: f64) -> Schedule {
    Schedule { learning_rate, decay: 0.9, weight_decay, momentum: 0.9, batch, epochs: 1, patience: 0, seed: 1 }
}

/// A 28×28 RGB test image (MedMNIST's size), interleaved.
pub fn pixels() -> Vec<u8> {
    (0..28 * 28 * 3).map(|i| (i * 31 % 256) as u8).collect()
}
