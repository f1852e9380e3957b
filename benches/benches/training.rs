//! One encrypted training iteration, and DiagABT / DiagATB alone, at the training preset `n65536-qp1626-s40`
//! (N = 2^16, 2^15 slots, 128-bit) on BloodMNIST's shape: batch 512, d = 192 features + bias (4 blocks of 64
//! columns), C = 8 classes, on the kernel set named in the group. Each sample takes tens of seconds; run with
//! `cargo bench -p medblind-benches --bench training`.

use criterion::{Criterion, criterion_group, criterion_main};
use medblind::keystore::Session;
use medblind::train::batches::encrypt_batches;
use medblind::train::encrypted::Trainer;
use medblind::train::key_owner::{KeyOwner, LocalKeyOwner};
use medblind::train::layout::Layout;
use medblind::train::softmax::SoftmaxApprox;
use medblind_benches::setup::{one_epoch, preset, session, synthetic};
use medblind_core::ckks::Engine;
use medblind_core::math::kernels;

const BATCH: usize = 512;
const DIM: usize = 193;
const CLASSES: usize = 8;

fn training(c: &mut Criterion) {
    let Session { ctx, encoder } =
        session(preset("n65536-qp1626-s40").expect("training preset")).expect("valid preset");
    let layout = Layout::new(ctx.degree() / 2, BATCH, CLASSES, DIM).expect("layout");
    let owner = KeyOwner::generate(&ctx, &encoder);
    let keys = owner.cloud_keys(&layout.rotation_steps());
    let engine = Engine::new(&ctx, &encoder, &keys.keys);
    let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(CLASSES)).expect("trainer");
    let data = synthetic(BATCH, DIM, DIM, CLASSES, (DIM as f64).sqrt());
    let schedule = one_epoch(BATCH, 0.1, 0.01);
    let batch = encrypt_batches(&owner, &layout, trainer.batch_levels(), &data).expect("encrypt").remove(0);
    // At the level a step starts from, as the trainer leaves them after a refresh.
    let weights: Vec<_> = layout
        .weights(&vec![vec![0.01; DIM]; CLASSES])
        .iter()
        .map(|w| engine.align(&owner.encrypt(w).expect("encrypt"), trainer.plan().weights).expect("level"))
        .collect();
    let logits = trainer.logits(&batch.shifted, &weights, 1.0).expect("logits");
    // In a step, `P − Y` reaches DiagATB after the logits (2 levels) and the softmax.
    let softmax_depth = SoftmaxApprox::standard(CLASSES).depth();
    let error = engine
        .align(&engine.sub(&logits, &batch.labels).expect("error"), logits.level() - softmax_depth)
        .expect("level");

    let mut group = c.benchmark_group(format!("training/{}/n65536/batch512-d193-c8", kernels::active()));
    group.sample_size(10);
    // A step within the preset's levels asks the key owner for nothing.
    let mut service = LocalKeyOwner::new(&owner, &layout, SoftmaxApprox::standard(CLASSES), 1, 0);
    group.bench_function("step", |b| {
        b.iter(|| trainer.step(&batch, &weights, &weights, 0.1, &schedule, &mut service).expect("step"))
    });
    group.bench_function("diag_abt", |b| b.iter(|| trainer.logits(&batch.shifted, &weights, 1.0).expect("logits")));
    group.bench_function("diag_atb", |b| {
        b.iter(|| trainer.gradient_step(&batch.features, &error, BATCH, 0.1).expect("gradient"))
    });
    group.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
