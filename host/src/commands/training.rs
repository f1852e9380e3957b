//! Encrypted training as separate parties: the hospital encrypts a feature file into a batch folder
//! (`encrypt-features`) and answers refresh requests (`refresh`); the cloud trains on the folder with evaluation
//! keys only (`train`); the hospital decrypts and evaluates the weights (`evaluate`).

use crate::features::Features;
use crate::files::{self, FileError};
use crate::keystore::{self, PARAMS_FILE, SECRET_KEY_FILE, Session};
use crate::train::data::{self as dataset, Split};
use crate::train::encrypted::{Trainer, encrypt_batch};
use crate::train::exchange::{self, RemoteKeyOwner};
use crate::train::he::{CloudKeys, Engine, KeyOwner};
use crate::train::layout::Layout;
use crate::train::plain;
use crate::train::schedule::Schedule;
use crate::train::softmax::SoftmaxApprox;
use crate::train::store::{self, BatchStore, Part};
use anyhow::{Context as _, bail};
use medblind_core::wire;
use std::path::Path;
use std::time::{Duration, Instant};

/// The feature file's official splits, standardized on the training part (hospital side; the same every time).
fn standardized_split(features: &Path) -> anyhow::Result<Split> {
    let mut split = Features::load(features)?.split();
    dataset::standardize(&mut split);
    Ok(split)
}

fn hospital(keys: &Path) -> anyhow::Result<(Session, medblind_core::ckks::SecretKey<Vec<u64>>)> {
    let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
    let sk = keystore::load_secret_key(&session, &keys.join(SECRET_KEY_FILE))?;
    Ok((session, sk))
}

/// `medblind encrypt-features`: the hospital packs and encrypts a feature file's train and validation splits
/// into batches of `batch` rows, and writes the folder the cloud trains on (see [`store`]) with the keys the
/// packing's rotations need.
///
/// # Errors
/// Unreadable inputs, a batch the packing cannot take, or file trouble.
pub fn encrypt_features(keys: &Path, features: &Path, batch: usize, out: &Path) -> anyhow::Result<()> {
    let (session, sk) = hospital(keys)?;
    let split = standardized_split(features)?;
    let ctx = &session.ctx;
    let layout = Layout::new(ctx.degree() / 2, batch, split.train.classes, split.train.dim())?;
    let approx = SoftmaxApprox::standard(split.train.classes);
    if ctx.params().max_level() < Trainer::depth_with(&approx) {
        bail!(
            "{}: one training step needs {} levels, these parameters have {}",
            keys.display(),
            Trainer::depth_with(&approx),
            ctx.params().max_level()
        );
    }
    let owner = KeyOwner::from_secret(ctx, &session.encoder, sk);
    let steps = layout.rotation_steps();
    eprintln!("hospital: {} rotation keys and the relinearization key", steps.len());
    let cloud = owner.cloud_keys(&steps);
    std::fs::create_dir_all(out).map_err(|source| FileError::Io { path: out.to_path_buf(), source })?;
    let mut key_bytes = wire::relinearization_key_to_vec(ctx, &cloud.relinearization)?;
    for key in cloud.rotations.values() {
        key_bytes.extend(wire::galois_key_to_vec(ctx, key)?);
    }
    files::write_atomic(&out.join(store::KEYS), &key_bytes, false)?;
    files::write_atomic(&out.join(PARAMS_FILE), &wire::params_to_vec(ctx)?, false)?;
    let counts = [split.train.len().div_ceil(batch), split.val.len().div_ceil(batch)];
    let bar = crate::progress::items(counts.iter().sum::<usize>() as u64, "encrypting batches", "batches");
    let stored = BatchStore::create(
        out,
        layout,
        batch,
        |part, index, path| {
            let data = if part == Part::Train { &split.train } else { &split.val };
            let rows = index * batch..((index + 1) * batch).min(data.len());
            let encrypted = encrypt_batch(&owner, &layout, &data.features[rows.clone()], &data.labels[rows])?;
            store::write_batch(ctx, &encrypted, path)?;
            bar.inc(1);
            Ok(encrypted.rows)
        },
        counts,
    )?;
    bar.finish_and_clear();
    eprintln!(
        "hospital: {} train and {} validation batches of {batch} rows in {} (for the cloud: no secret material)",
        counts[0],
        counts[1],
        stored.dir().display()
    );
    Ok(())
}

/// `medblind train`: the cloud trains on an encrypted batch folder with its evaluation keys only, asking the
/// hospital for refreshes and validation losses through `exchange`; writes the encrypted weights to `out`. The
/// batch size is the folder's (fixed when the hospital encrypted it).
///
/// # Errors
/// A damaged folder, a secret key where evaluation keys belong, no answer from the hospital, or file trouble.
pub fn train(
    data: &Path,
    exchange_dir: &Path,
    schedule: &Schedule,
    timeout: Duration,
    out: &Path,
) -> anyhow::Result<()> {
    let store = BatchStore::open(data)?;
    let schedule = &Schedule { batch: store.batch, ..*schedule };
    let session = Session::from_params_file(&data.join(PARAMS_FILE))?;
    let ctx = &session.ctx;
    let eval = keystore::load_evaluation_keys(&session, &data.join(store::KEYS))?;
    let layout = store.layout;
    let keys = CloudKeys::from_galois(ctx.degree(), eval.relinearization, eval.galois, &layout.rotation_steps())
        .with_context(|| data.join(store::KEYS).display().to_string())?;
    let engine = Engine::new(ctx, &session.encoder, &keys);
    let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(layout.classes))?;
    let mut owner = RemoteKeyOwner::new(exchange_dir, ctx, timeout)?;
    let start = Instant::now();
    let mut progress = |m: &str| eprintln!("[{:>7.1} s] cloud: {m}", start.elapsed().as_secs_f64());
    let (train, val) = (store.part(ctx, Part::Train), store.part(ctx, Part::Val));
    let result = trainer.train(&train, &val, schedule, &mut owner, &mut progress);
    owner.finish()?;
    let (weights, report) = result?;
    let mut bytes = Vec::new();
    for w in &weights {
        bytes.extend(wire::ciphertext_to_vec(ctx, w)?);
    }
    files::write_atomic(out, &bytes, false)?;
    eprintln!(
        "cloud: {} steps, best epoch {}, {} ciphertexts refreshed by the key owner, {:.1} s; encrypted weights in {}",
        report.steps,
        report.best_epoch + 1,
        report.refreshes,
        report.seconds,
        out.display()
    );
    Ok(())
}

/// `medblind refresh`: the hospital answers the cloud's refresh and validation-loss requests in `exchange` until
/// the cloud is done.
///
/// # Errors
/// Unreadable keys or requests, or file trouble.
pub fn refresh(keys: &Path, data: &Path, exchange_dir: &Path) -> anyhow::Result<()> {
    let (session, sk) = hospital(keys)?;
    let store = BatchStore::open(data)?;
    let owner = KeyOwner::from_secret(&session.ctx, &session.encoder, sk);
    let start = Instant::now();
    let mut progress = |m: &str| eprintln!("[{:>7.1} s] hospital: {m}", start.elapsed().as_secs_f64());
    progress(&format!("answering the cloud's requests in {}", exchange_dir.display()));
    let answered = exchange::serve(exchange_dir, &owner, &session.ctx, &store.layout, &mut progress)?;
    progress(&format!("the cloud is done ({answered} requests answered)"));
    Ok(())
}

/// `medblind evaluate`: the hospital decrypts the trained weights and prints the test (and validation) accuracy
/// on the feature file they were trained from.
///
/// # Errors
/// Unreadable inputs or weights that do not fit the batch folder's packing.
pub fn evaluate(keys: &Path, data: &Path, weights: &Path, features: &Path) -> anyhow::Result<()> {
    let (session, sk) = hospital(keys)?;
    let store = BatchStore::open(data)?;
    let owner = KeyOwner::from_secret(&session.ctx, &session.encoder, sk);
    let bytes = files::read(weights)?;
    let blocks: Vec<Vec<f64>> = files::split_objects(weights, &bytes)?
        .iter()
        .map(|o| owner.decrypt(&session.decode(weights, o, wire::decode_ciphertext)?))
        .collect::<anyhow::Result<_>>()?;
    if blocks.len() != store.layout.blocks {
        bail!(
            "{}: {} ciphertexts, the packing has {} weight blocks",
            weights.display(),
            blocks.len(),
            store.layout.blocks
        );
    }
    let w = store.layout.unpack_weights(&blocks);
    let split = standardized_split(features)?;
    if split.train.dim() != store.layout.dim || split.train.classes != store.layout.classes {
        bail!("{}: its features do not match the batches in {}", features.display(), data.display());
    }
    println!("validation accuracy {:.2} %", 100.0 * plain::accuracy(&w, &split.val));
    println!("test accuracy {:.2} % ({} test rows)", 100.0 * plain::accuracy(&w, &split.test), split.test.len());
    Ok(())
}
