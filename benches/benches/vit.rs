//! ViT feature extraction throughput (images per second) on randomly initialized weights: the whole
//! pipeline (Pillow-exact resize of a 28×28 RGB image, normalization, forward pass) for groups of 8 images on
//! one thread, and the stages of one block.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use medblind::vit::{self, Token, Vit, checkpoint, config::CHANNELS, config::IMAGE, preprocess};
use medblind_benches::setup::pixels;

const GROUP: usize = 8;

fn inputs() -> Vec<f32> {
    let pixels = pixels();
    let mut input = vec![0.0f32; GROUP * CHANNELS * IMAGE * IMAGE];
    for out in input.chunks_exact_mut(CHANNELS * IMAGE * IMAGE) {
        preprocess::preprocess(&pixels, 28, 3, out);
    }
    input
}

fn forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("vit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(GROUP as u64));
    let input = inputs();
    for name in ["deit_tiny", "deit_small", "dinov2_small"] {
        let config = vit::model(name).expect("known model");
        let model = Vit::from_safetensors(&checkpoint::timm_init(config, 1), config).expect("valid checkpoint");
        group.bench_function(BenchmarkId::new("features/1-thread", name), |b| {
            b.iter(|| model.features(&input, GROUP, Token::Cls));
        });
        let x = model.embed(&input, GROUP);
        group.bench_function(BenchmarkId::new("block", name), |b| {
            b.iter_batched_ref(|| x.clone(), |x| model.block(0, x, GROUP), criterion::BatchSize::LargeInput);
        });
    }
    let pixels = pixels();
    group.throughput(Throughput::Elements(1));
    group.bench_function("preprocess/28x28-rgb", |b| {
        let mut out = vec![0.0f32; CHANNELS * IMAGE * IMAGE];
        b.iter(|| preprocess::preprocess(&pixels, 28, 3, &mut out));
    });
    group.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
