//! Times and measures MedBlind's bootstrapping the way `peers/bootstrap_*.py` measure the peers: keys generated
//! once (timed separately), the median wall time of bootstraps on one thread and on all cores, and the
//! precision after one bootstrap of real inputs uniform in [-1, 1] (`-log2` of the mean and the largest error
//! over the slots). Prints one JSON object per line, naming the kernel set (`$MEDBLIND_KERNELS`, else the best
//! this CPU runs).
//!
//! `cargo run --release -p medblind-benches --example bootstrap -- [SLOTS…]` (default: 32768 2048) on the
//! 128-bit N = 2^16 preset; `MEDBLIND_BOOTSTRAP_PRESET=test` runs the insecure N = 2^12 test preset instead.
//! `MEDBLIND_BOOTSTRAP_SECRET_WEIGHT=192` is a what-if for the precision analysis: the preset's moduli with a
//! secret of that Hamming weight (HEaaN's choice), which the HomomorphicEncryption.org standard does not cover.
#![allow(missing_docs)]

use medblind::keystore::Session;
use medblind_benches::setup::{select_kernels, session};
use medblind_core::ckks::bootstrap::{BOOTSTRAP_N65536, BootstrapLiteral, Bootstrapper, TEST_INSECURE_BOOTSTRAP_N4096};
use medblind_core::ckks::{Decryptor, EncryptionKey, Encryptor, Evaluator, SecretKey};
use medblind_core::ckks::{ParamsLiteral, SecretDistribution};
use medblind_core::math::kernels;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::time::Instant;

fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

fn main() {
    select_kernels("bootstrap");
    let mut literal: BootstrapLiteral = match std::env::var("MEDBLIND_BOOTSTRAP_PRESET").as_deref() {
        Ok("test") => TEST_INSECURE_BOOTSTRAP_N4096,
        _ => BOOTSTRAP_N65536,
    };
    if let Some(weight) = std::env::var("MEDBLIND_BOOTSTRAP_SECRET_WEIGHT").ok().and_then(|w| w.parse().ok()) {
        let name = format!("{}-h{weight}", literal.params.name).leak();
        let secret = SecretDistribution::HammingWeight(weight);
        literal.params = Box::leak(Box::new(ParamsLiteral { name, secret, ..*literal.params }));
    }
    let Session { ctx, encoder } = session(literal.params).expect("preset");
    let params = ctx.params();
    let n = ctx.degree();
    let mut slot_counts: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    if slot_counts.is_empty() {
        slot_counts = vec![n / 2, 2048];
    }
    let runs: usize = std::env::var("MEDBLIND_BOOTSTRAP_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let mut rng = ChaCha20Rng::from_os_rng();
    let sk = SecretKey::generate(&ctx, &mut rng);
    let scale = params.default_scale();
    let ev = Evaluator::new(&ctx);
    for slots in slot_counts {
        let start = Instant::now();
        let mut bootstrapper = Bootstrapper::new(&ctx, &literal, slots, scale).expect("bootstrapper");
        let setup_s = seconds(start);
        let start = Instant::now();
        let keys = bootstrapper.generate_keys(&ctx, &sk, &mut rng).expect("keys");
        let keygen_s = seconds(start);
        let key_count = keys.galois.len() + 2;
        let key_gib = (keys.words() * 8) as f64 / (1u64 << 30) as f64;

        let values: Vec<f64> = (0..slots).map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0).collect();
        let ct = Encryptor::new(&ctx, &encoder, EncryptionKey::Secret(&sk))
            .encrypt(&values, &[], 0, scale, &mut rng)
            .expect("encrypt");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for threads in [1, cores] {
            bootstrapper.set_threads(threads);
            let mut times = Vec::new();
            let mut out = None;
            for _ in 0..runs {
                let start = Instant::now();
                out = Some(bootstrapper.bootstrap(&ev, &ct, &keys).expect("bootstrap"));
                times.push(seconds(start));
            }
            times.sort_by(f64::total_cmp);
            let out = out.expect("at least one run");
            let level = out.level();
            let re = Decryptor::new(&ctx, &encoder, &sk).decrypt(&out).expect("decrypt");
            let errors: Vec<f64> = values.iter().zip(&re).map(|(v, r)| (v - r).abs()).collect();
            let mean = errors.iter().sum::<f64>() / slots as f64;
            let max = errors.iter().copied().fold(0.0, f64::max);
            println!(
                "{{\"library\":\"medblind\",\"kernels\":\"{}\",\"preset\":\"{}\",\"log_n\":{},\"slots\":{slots},\"threads\":{threads},\
                 \"setup_s\":{setup_s:.2},\"keygen_s\":{keygen_s:.2},\"keys\":{key_count},\"key_gib\":{key_gib:.2},\
                 \"bootstrap_s\":{:.2},\"runs\":{runs},\"mean_bits\":{:.1},\"max_bits\":{:.1},\"levels_left\":{level}}}",
                kernels::active(),
                params.literal().name,
                ctx.log_degree(),
                times[runs / 2],
                -mean.log2(),
                -max.log2(),
            );
        }
    }
}
