//! Encrypted training as separate parties: the hospital encrypts a feature file into a batch folder
//! (`encrypt-features`) and answers refresh requests (`refresh`); the cloud trains on the folder with evaluation
//! keys only (`train`); the hospital decrypts and evaluates the weights (`evaluate`).

use crate::features::Features;
use crate::files::{self, FileError};
use crate::keystore::CloudKeys;
use crate::keystore::{self, KeyedSecret, PARAMS_FILE, SECRET_KEY_FILE, Session};
use crate::train::batches::Batches;
use crate::train::checkpoint::{Checkpoint, TrainState};
use crate::train::data::{self as dataset, Split};
use crate::train::encrypted::{TrainHooks, Trainer};
use crate::train::exchange::{self, RemoteKeyOwner};
use crate::train::key_owner::KeyOwner;
use crate::train::layout::Layout;
use crate::train::plain;
use crate::train::plan::{Plan, softmax_for};
use crate::train::schedule::Schedule;
use crate::train::store::{self, BatchStore, Part};
use anyhow::{Context as _, bail};
use md5::{Digest, Md5};
use medblind_core::ckks::bootstrap::{Bootstrapper, bootstrapping_for};
use medblind_core::ckks::{Context, Ct, Engine};
use medblind_core::wire::{self, KeyId};
use std::path::Path;
use std::time::{Duration, Instant};

/// The feature file's official splits, standardized on the training part (hospital side; the same every time).
fn standardized_split(features: &Path) -> anyhow::Result<Split> {
    let mut split = Features::load(features)?.split();
    dataset::standardize(&mut split);
    Ok(split)
}

/// The hospital's parameters, and its secret key with its key pair.
fn hospital(keys: &Path) -> anyhow::Result<(Session, KeyedSecret)> {
    let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
    let secret = keystore::load_secret_key(&session, &keys.join(SECRET_KEY_FILE))?;
    Ok((session, secret))
}

/// The hospital's batch folder at `data`, checked to be of the key pair `key` of the key folder `keys`.
fn hospital_store(data: &Path, session: &Session, key: KeyId, keys: &Path) -> anyhow::Result<BatchStore> {
    let store = BatchStore::open_for(data, &session.ctx)?;
    store.expect_key(key, keys)?;
    Ok(store)
}

/// `medblind encrypt-features`: the hospital packs and encrypts a feature file's train, validation and test
/// splits (test labels withheld) into batches of `batch` rows, and writes the folder the cloud trains on (see
/// [`store`]) with the keys the packing's rotations need.
///
/// # Errors
/// Unreadable inputs, a batch the packing cannot take, or file trouble.
pub fn encrypt_features(keys: &Path, features: &Path, batch: usize, out: &Path, force: bool) -> anyhow::Result<()> {
    if !force && std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "{}: the folder is not empty; refusing to write batches into it (pass --force to overwrite)",
            out.display()
        );
    }
    let (session, (sk, key)) = hospital(keys)?;
    let split = standardized_split(features)?;
    let ctx = &session.ctx;
    let layout = Layout::new(ctx.degree() / 2, batch, split.train.classes, split.train.dim())?;
    let approx = softmax_for(split.train.classes, Some(ctx.params().literal()));
    let levels = Plan::for_params(&approx, ctx.params().literal())
        .with_context(|| keys.display().to_string())?
        .batch_levels(&approx);
    let owner = KeyOwner::from_secret(ctx, &session.encoder, sk, key);
    let steps = layout.rotation_steps();
    let cloud = match bootstrapping_for(ctx.params().literal()) {
        Some(b) => {
            eprintln!("hospital: rotation, relinearization and bootstrapping keys (the cloud bootstraps)");
            owner.bootstrapping_keys(&steps, b)?
        }
        None => {
            eprintln!("hospital: {} rotation keys, the conjugation and the relinearization key", steps.len());
            owner.cloud_keys(&steps)
        }
    };
    std::fs::create_dir_all(out).map_err(|source| FileError::Io { path: out.to_path_buf(), source })?;
    files::write_atomic(&out.join(store::KEYS), &cloud.to_bytes(&session)?, false)?;
    files::write_atomic(&out.join(PARAMS_FILE), &wire::params_to_vec(ctx)?, false)?;
    let stored = store::encrypt_parts(ctx, &owner, layout, levels, [&split.train, &split.val, &split.test], out)?;
    let counts = [Part::Train, Part::Val, Part::Test].map(|part| stored.rows(part).len());
    eprintln!(
        "hospital: {} train, {} validation and {} test batches (test labels withheld) of {batch} rows in {} \
         (for the cloud: no secret material)",
        counts[0],
        counts[1],
        counts[2],
        stored.dir().display()
    );
    Ok(())
}

/// The cloud's view of a batch folder: its store, parameters and evaluation keys (refusing a secret key), and
/// bootstrapping when the keys allow it.
struct CloudFolder {
    store: BatchStore,
    session: Session,
    keys: CloudKeys,
    bootstrapper: Option<Bootstrapper>,
}

impl CloudFolder {
    fn open(data: &Path) -> anyhow::Result<Self> {
        let session = Session::from_params_file(&data.join(PARAMS_FILE))?;
        let store = BatchStore::open_for(data, &session.ctx)?;
        let keys = keystore::load_evaluation_keys(&session, &data.join(store::KEYS))?;
        store.expect_key(keys.key, &data.join(store::KEYS))?;
        keys.check_rotations(session.ctx.degree(), &store.layout.rotation_steps())
            .with_context(|| data.join(store::KEYS).display().to_string())?;
        let bootstrapper = match bootstrapping_for(session.ctx.params().literal()) {
            Some(_) if keys.keys.bootstraps() => {
                eprintln!("cloud: precomputing bootstrapping");
                Bootstrapper::for_params(&session.ctx)?
            }
            _ => None,
        };
        Ok(Self { store, session, keys, bootstrapper })
    }

    /// The engine: bootstrapping if the folder's keys allow it.
    fn engine(&self) -> anyhow::Result<Engine<'_>> {
        let (ctx, encoder) = (&self.session.ctx, &self.session.encoder);
        match &self.bootstrapper {
            Some(b) => Ok(Engine::bootstrapping(ctx, encoder, &self.keys.keys, b)?),
            None => Ok(Engine::new(ctx, encoder, &self.keys.keys)),
        }
    }

    fn trainer<'e>(&self, engine: &'e Engine<'e>) -> anyhow::Result<Trainer<'e>> {
        let literal = self.session.ctx.params().literal();
        Trainer::new(engine, self.store.layout, softmax_for(self.store.layout.classes, Some(literal)))
    }
}

fn write_cts(ctx: &Context<Vec<u64>>, cts: &[Ct], key: KeyId, out: &Path) -> anyhow::Result<()> {
    Ok(files::write_atomic(out, &keystore::ciphertexts_to_vec(ctx, cts, key)?, false)?)
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
    checkpoint: Option<&Path>,
    out: &Path,
    force: bool,
) -> anyhow::Result<()> {
    files::check_output(out, force)?;
    let cloud = CloudFolder::open(data)?;
    let schedule = &Schedule { batch: cloud.store.batch, ..*schedule };
    let ctx = &cloud.session.ctx;
    let checkpoint = checkpoint.map(|path| -> anyhow::Result<Checkpoint<'_>> {
        let manifest = files::read(&data.join(store::MANIFEST))?;
        let run = [&manifest[..], format!("{schedule:?}").as_bytes()].concat();
        let run = crate::medmnist::hex(&Md5::digest(&run));
        Ok(Checkpoint { path: path.to_path_buf(), ctx, key: cloud.keys.key, run })
    });
    let checkpoint = checkpoint.transpose()?;
    let resume = checkpoint.as_ref().map(Checkpoint::load).transpose()?.flatten();
    if let Some(state) = &resume {
        eprintln!(
            "cloud: resuming at epoch {} after {} of its steps ({} steps in all)",
            state.epoch + 1,
            state.done,
            state.steps
        );
    }
    let engine = cloud.engine()?;
    let trainer = cloud.trainer(&engine)?;
    let mut owner = RemoteKeyOwner::new(exchange_dir, ctx, cloud.keys.key, timeout)?;
    let start = Instant::now();
    let progress = |m: &str| eprintln!("[{:>7.1} s] cloud: {m}", start.elapsed().as_secs_f64());
    let mut hooks = CloudHooks { progress, checkpoint: checkpoint.as_ref() };
    let (train, val) = (cloud.store.part(ctx, Part::Train), cloud.store.part(ctx, Part::Val));
    let result = trainer.train(&train, &val, schedule, &mut owner, &mut hooks, resume);
    owner.finish()?;
    let (weights, report) = result?;
    write_cts(ctx, &weights, cloud.keys.key, out)?;
    if let Some(checkpoint) = &checkpoint {
        checkpoint.remove()?;
    }
    eprintln!(
        "cloud: {} steps, best epoch {}, {} ciphertexts refreshed by the key owner, {} bootstrapped, {:.1} s; \
         encrypted weights in {}",
        report.steps,
        report.best_epoch + 1,
        report.refreshes,
        report.bootstraps,
        report.seconds,
        out.display()
    );
    Ok(())
}

/// The cloud's training hooks: progress lines, and a checkpoint after every step if asked for one.
struct CloudHooks<'a, F: FnMut(&str)> {
    progress: F,
    checkpoint: Option<&'a Checkpoint<'a>>,
}

impl<F: FnMut(&str)> TrainHooks for CloudHooks<'_, F> {
    fn progress(&mut self, line: &str) {
        (self.progress)(line);
    }

    fn checkpoint(&mut self, state: &TrainState) -> anyhow::Result<()> {
        self.checkpoint.map_or(Ok(()), |c| c.save(state))
    }
}

/// `medblind predict`: encrypted inference in the cloud — the logits of every test batch of the folder under the
/// encrypted weights, written encrypted (one ciphertext per batch, diagonal layout) for the hospital to decrypt.
///
/// # Errors
/// A damaged folder or weights file, weights of another packing, or file trouble.
pub fn predict(data: &Path, weights: &Path, out: &Path, force: bool) -> anyhow::Result<()> {
    files::check_output(out, force)?;
    let cloud = CloudFolder::open(data)?;
    let (ctx, layout) = (&cloud.session.ctx, cloud.store.layout);
    let bytes = cloud.session.read_objects(weights)?;
    keystore::refuse_secret(weights, &bytes)?;
    let w = keystore::decode_ciphertexts(ctx, weights, &bytes, cloud.keys.key)?;
    if w.len() != layout.blocks || w.iter().any(|ct| ct.slots() != layout.slots || ct.level() < 2) {
        bail!(
            "{}: expected {} weight ciphertexts of {} slots with 2 levels left (from `medblind train` on this folder)",
            weights.display(),
            layout.blocks,
            layout.slots
        );
    }
    let engine = Engine::new(ctx, &cloud.session.encoder, &cloud.keys.keys);
    let trainer = cloud.trainer(&engine)?;
    let test = cloud.store.part(ctx, Part::Test);
    let bar = crate::progress::items(test.count() as u64, "encrypted inference", "batches");
    let logits = (0..test.count())
        .map(|b| {
            let z = trainer.predict(&*test.batch(b)?, &w);
            bar.inc(1);
            z
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    bar.finish_and_clear();
    write_cts(ctx, &logits, cloud.keys.key, out)?;
    let rows: usize = cloud.store.rows(Part::Test).iter().sum();
    eprintln!("cloud: encrypted logits of {rows} test rows in {}", out.display());
    Ok(())
}

/// `medblind refresh`: the hospital answers the cloud's refresh and validation requests in `exchange` until the
/// cloud is done, as far as the agreed `epochs` and `patience` imply ([`exchange::serve`]); its ledger lives in the
/// key folder while the run lasts.
///
/// # Errors
/// Unreadable keys or requests, a request outside the agreement, or file trouble.
pub fn refresh(keys: &Path, data: &Path, exchange_dir: &Path, epochs: usize, patience: usize) -> anyhow::Result<()> {
    let (session, (sk, key)) = hospital(keys)?;
    let store = hospital_store(data, &session, key, keys)?;
    let owner = KeyOwner::from_secret(&session.ctx, &session.encoder, sk, key);
    let literal = session.ctx.params().literal();
    let approx = softmax_for(store.layout.classes, Some(literal));
    let agreement = exchange::Agreement {
        epochs,
        patience,
        layout: store.layout,
        plan: Plan::for_params(&approx, literal)?,
        approx,
        train_batches: store.rows(Part::Train).len(),
        val_rows: store.rows(Part::Val).to_vec(),
    };
    let manifest = files::read(&data.join(store::MANIFEST))?;
    let ledger = keys.join(format!("refresh-{}.ledger", &crate::medmnist::hex(&Md5::digest(&manifest))[..12]));
    let start = Instant::now();
    let mut progress = |m: &str| eprintln!("[{:>7.1} s] hospital: {m}", start.elapsed().as_secs_f64());
    progress(&format!(
        "answering the cloud's requests in {} for at most {epochs} epochs (patience {patience})",
        exchange_dir.display()
    ));
    let answered = exchange::serve(exchange_dir, &owner, &session.ctx, &agreement, &ledger, &mut progress)?;
    progress(&format!("the cloud is done ({answered} requests answered)"));
    Ok(())
}

/// `medblind evaluate`: the hospital decrypts the trained weights and prints their validation and test accuracy
/// on the feature file they were trained from; with `logits` (from `medblind predict`) it also decrypts the
/// cloud's encrypted predictions and scores them against the labels and against the decrypted weights' own.
///
/// # Errors
/// Unreadable inputs, or weights or logits that do not fit the batch folder's packing.
pub fn evaluate(
    keys: &Path,
    data: &Path,
    weights: &Path,
    features: &Path,
    logits: Option<&Path>,
) -> anyhow::Result<()> {
    let (session, (sk, key)) = hospital(keys)?;
    let store = hospital_store(data, &session, key, keys)?;
    let layout = store.layout;
    let owner = KeyOwner::from_secret(&session.ctx, &session.encoder, sk, key);
    let decrypt_all = |path: &Path| -> anyhow::Result<Vec<Vec<f64>>> {
        let bytes = session.read_objects(path)?;
        let cts = keystore::decode_ciphertexts(&session.ctx, path, &bytes, key)?;
        if cts.iter().any(|ct| ct.slots() != layout.slots) {
            bail!("{}: ciphertexts of another packing (not {} slots)", path.display(), layout.slots);
        }
        cts.iter().map(|ct| owner.decrypt(ct)).collect()
    };
    let blocks = decrypt_all(weights)?;
    if blocks.len() != layout.blocks {
        bail!("{}: {} ciphertexts, the packing has {} weight blocks", weights.display(), blocks.len(), layout.blocks);
    }
    let w = layout.unpack_weights(&blocks);
    let split = standardized_split(features)?;
    if split.train.dim() != layout.dim || split.train.classes != layout.classes {
        bail!("{}: its features do not match the batches in {}", features.display(), data.display());
    }
    crate::outln!("validation accuracy {:.2} %", 100.0 * plain::accuracy(&w, &split.val))?;
    crate::outln!("test accuracy {:.2} % ({} test rows)", 100.0 * plain::accuracy(&w, &split.test), split.test.len())?;
    if let Some(path) = logits {
        let rows = store.rows(Part::Test);
        let batches = decrypt_all(path)?;
        if batches.len() != rows.len() {
            bail!("{}: {} ciphertexts, the folder has {} test batches", path.display(), batches.len(), rows.len());
        }
        let argmax = |z: &[f64]| (0..z.len()).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap_or(0);
        let predicted: Vec<usize> = batches
            .iter()
            .zip(rows)
            .flat_map(|(slots, &r)| layout.unpack_logits(slots, r))
            .map(|z| argmax(&z))
            .collect();
        let hits = predicted.iter().zip(&split.test.labels).filter(|(p, y)| p == y).count();
        let same =
            predicted.iter().zip(&split.test.features).filter(|&(&p, x)| argmax(&plain::logits(&w, x)) == p).count();
        crate::outln!(
            "encrypted inference: test accuracy {:.2} %, same class as the decrypted weights for {same} of {} rows",
            100.0 * hits as f64 / predicted.len().max(1) as f64,
            predicted.len()
        )?;
    }
    Ok(())
}
