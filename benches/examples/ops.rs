//! Times MedBlind's CKKS operations the same way `peers/openfhe_ops.py` times OpenFHE's — median wall time of
//! repeated single-threaded runs, keys generated once outside the timing — and prints one JSON object per line.
//!
//! `cargo run --release -p medblind-benches --example ops -- 16` (log2 N: 13, 14, 15 or 16); the kernel set
//! (`$MEDBLIND_KERNELS`, else the best this CPU runs) is named in every line.
#![allow(missing_docs)]

use medblind_benches::setup::{Fixture, s40_preset, select_kernels};
use medblind_core::ckks::encryption::encrypt_pk;
use medblind_core::ckks::{Evaluator, GaloisKey};
use medblind_core::math::kernels;
use medblind_core::math::ntt::NttTable;
use std::time::Instant;

/// Median milliseconds of `runs` calls of `f`, each after `setup`.
fn median_ms<S>(runs: usize, mut setup: impl FnMut() -> S, mut f: impl FnMut(S)) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let input = setup();
            let start = Instant::now();
            f(input);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() {
    let log_n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    select_kernels("ops");
    let kernel_set = kernels::active();
    let literal = s40_preset(log_n).expect("a preset at that degree");
    let Fixture { ctx, pk, rlk, galois, pt, mut rng, .. } = Fixture::new(literal);
    let params = ctx.params();
    let ev = Evaluator::new(&ctx);
    let n = ctx.degree();
    let top = params.max_level();
    let runs = if log_n >= 16 { 7 } else { 15 };
    let (mut scratch, mut small) = (vec![0; (top + 1) * n], vec![0i8; n]);
    let ct = encrypt_pk(&ctx, &pk, &pt, &mut rng, vec![0; 2 * (top + 1) * n], &mut scratch, &mut small).expect("ct");
    // Warm the evaluator's scratch so allocation is not timed.
    ev.mul_relin_assign(&mut ct.clone(), &ct, &rlk).expect("mul");

    let table = NttTable::new(params.q()[0], log_n).expect("table");
    let mut limb: Vec<u64> = ct.c0(n)[..n].to_vec();
    let report = |op: &str, ms: f64| {
        println!(
            "{{\"library\":\"medblind\",\"kernels\":\"{kernel_set}\",\"op\":\"{op}\",\"log_n\":{log_n},\"limbs\":{},\"ms\":{ms:.4}}}",
            top + 1
        )
    };
    report("ntt_forward_one_limb", median_ms(runs * 20, || (), |()| table.forward(&mut limb)));
    report("ntt_inverse_one_limb", median_ms(runs * 20, || (), |()| table.inverse(&mut limb)));
    report(
        "encrypt_pk",
        median_ms(
            runs,
            || (),
            |()| {
                encrypt_pk(&ctx, &pk, &pt, &mut rng, vec![0; 2 * (top + 1) * n], &mut scratch, &mut small)
                    .expect("encrypt");
            },
        ),
    );
    report("mul_relin", median_ms(runs, || ct.clone(), |mut a| ev.mul_relin_assign(&mut a, &ct, &rlk).expect("mul")));
    report("rescale", median_ms(runs, || ct.clone(), |mut a| ev.rescale_assign(&mut a).expect("rescale")));
    report(
        "rotate",
        median_ms(runs, || ct.clone(), |mut a| ev.apply_galois_assign(&mut a, &galois[0]).expect("rotate")),
    );
    let refs: Vec<&GaloisKey<Vec<u64>>> = galois.iter().collect();
    report(
        "rotate_hoisted_x8",
        median_ms(
            runs,
            || (),
            |()| {
                ev.rotate_hoisted(&ct, &refs).expect("hoisted");
            },
        ),
    );
}
