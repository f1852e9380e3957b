//! CKKS operations at N = 2^13 … 2^16 (presets `n*-s40`): encoding, encryption (public key and seeded secret
//! key), multiply + relinearize, rescale, one rotation, eight hoisted rotations, and the linear layer (a 16×256
//! head on 256 slots). Single-threaded, on the kernel set named in the group (the best this CPU runs, or
//! `$MEDBLIND_KERNELS`). `MEDBLIND_BENCH_LOG_N=16` restricts the run to one degree.
#![allow(missing_docs)]

use core::hint::black_box;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use medblind_benches::setup::{Fixture, s40_preset};
use medblind_core::ckks::encryption::{encrypt_pk, encrypt_sk, plaintext_from_coefficients};
use medblind_core::ckks::linear_layer::{LinearLayer, Work};
use medblind_core::ckks::{Ciphertext, Encoder, Evaluator, GaloisKey};
use medblind_core::math::kernels;

fn degrees() -> Vec<&'static medblind_core::ckks::ParamsLiteral> {
    let only: Option<u32> = std::env::var("MEDBLIND_BENCH_LOG_N").ok().and_then(|v| v.parse().ok());
    (13..=16).filter(|&log_n| only.is_none_or(|o| o == log_n)).filter_map(s40_preset).collect()
}

fn ckks(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("ckks/{}", kernels::active()));
    group.sample_size(10);
    for literal in degrees() {
        let Fixture { ctx, sk, pk, rlk, galois, pt, mut rng } = Fixture::new(literal);
        let params = ctx.params();
        let ev = Evaluator::new(&ctx);
        let n = ctx.degree();
        let top = params.max_level();
        let scale = params.default_scale();
        let (mut scratch, mut small) = (vec![0; (top + 1) * n], vec![0i8; n]);
        let id = |op: &str| BenchmarkId::new(op.to_string(), format!("{n}/{}", params.log_qp().round()));

        group.bench_function(id("encrypt_pk"), |b| {
            b.iter(|| encrypt_pk(&ctx, &pk, &pt, &mut rng, vec![0; 2 * (top + 1) * n], &mut scratch, &mut small))
        });
        group.bench_function(id("encrypt_sk_seeded"), |b| {
            b.iter(|| encrypt_sk(&ctx, &sk, &pt, &mut rng, vec![0; 2 * (top + 1) * n], &mut scratch, &mut small))
        });
        let ct: Ciphertext<Vec<u64>> =
            encrypt_pk(&ctx, &pk, &pt, &mut rng, vec![0; 2 * (top + 1) * n], &mut scratch, &mut small).expect("ct");
        group.bench_function(id("mul_relin"), |b| {
            b.iter_batched_ref(|| ct.clone(), |a| ev.mul_relin_assign(a, black_box(&ct), &rlk), BatchSize::LargeInput)
        });
        group.bench_function(id("rescale"), |b| {
            b.iter_batched_ref(|| ct.clone(), |a| ev.rescale_assign(a), BatchSize::LargeInput)
        });
        group.bench_function(id("rotate"), |b| {
            b.iter_batched_ref(|| ct.clone(), |a| ev.apply_galois_assign(a, &galois[0]), BatchSize::LargeInput)
        });
        let refs: Vec<&GaloisKey<Vec<u64>>> = galois.iter().collect();
        group.bench_function(id("rotate_hoisted_x8"), |b| b.iter(|| ev.rotate_hoisted(black_box(&ct), &refs)));

        let encoder = Encoder::new(params.literal().log_degree).expect("encoder");
        let values: Vec<f64> = (0..n / 2).map(|i| (i % 97) as f64 / 97.0).collect();
        let mut encoded = vec![0.0; n];
        group.bench_function(id("encode_full_slots"), |b| {
            b.iter(|| encoder.encode_real(black_box(&values), scale, &mut encoded))
        });

        let (rows, cols, slots) = (16, 256, 256);
        let weights: Vec<f64> = (0..rows * cols).map(|i| (i % 13) as f64 / 13.0 - 0.5).collect();
        let layer = LinearLayer::new(&weights, rows, cols, None, slots).expect("layer");
        let layer_keys: Vec<GaloisKey<Vec<u64>>> =
            layer.galois_elements(n).iter().map(|&g| GaloisKey::generate(&ctx, &sk, g, &mut rng)).collect();
        encoder.encode_real(&values[..slots], scale, &mut encoded).expect("encode");
        let x_pt = plaintext_from_coefficients(&ctx, &encoded, top, scale, slots, vec![0; (top + 1) * n]).expect("pt");
        let x =
            encrypt_pk(&ctx, &pk, &x_pt, &mut rng, vec![0; 2 * (top + 1) * n], &mut scratch, &mut small).expect("x");
        let mut out = Ciphertext::zero(n, top, scale, slots);
        let (mut work, mut float_work) = (vec![0; layer.work_words(&ev, top)], vec![0.0; layer.float_work_words(n)]);
        group.bench_function(id("linear_16x256"), |b| {
            b.iter(|| {
                layer.evaluate_with(
                    &ev,
                    &encoder,
                    &x,
                    &layer_keys,
                    &mut out,
                    Work { words: &mut work, floats: &mut float_work },
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ckks);
criterion_main!(benches);
