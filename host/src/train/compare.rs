//! One dataset trained three ways with the same split and schedule — plaintext with the exact softmax,
//! plaintext with the approximation, and encrypted — into a [`Comparison`], which `crate::report` renders.

use super::TrainReport;
use super::batches::{BatchLevels, Batches, encrypt_batches};
use super::checkpoint::{Checkpoint, TrainState};
use super::data::{Dataset, Split};
use super::encrypted::Trainer;
use super::key_owner::KeyOwner;
use super::key_owner::LocalKeyOwner;
use super::layout::Layout;
use super::observer::{EpochDone, EpochStart, StepDone, TrainObserver};
use super::plain::{self, Softmax};
use super::plan::{Plan, softmax_for};
use super::schedule::Schedule;
use super::softmax::SoftmaxApprox;
use super::store::{self, BatchStore, Part};
use super::workdir::WorkDir;
use crate::files::FileError;
use anyhow::Result;
use md5::{Digest, Md5};
use medblind_core::ckks::bootstrap::{Bootstrapper, bootstrapping_for};
use medblind_core::ckks::{Context, Ct, Encoder, Engine, Params, ParamsLiteral};
use std::path::Path;
use std::time::Instant;

/// The three runs on one dataset.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The dataset's name.
    pub dataset: String,
    /// Where the features came from (file, model and weights), empty when not known.
    pub source: String,
    /// The network and weights that made the features (see [`crate::features::Features::backbone`]), empty when
    /// not known or not made by a network.
    pub backbone: String,
    /// Rows in train / validation / test.
    pub sizes: [usize; 3],
    /// Features (bias included) and classes.
    pub dim: usize,
    /// Classes.
    pub classes: usize,
    /// The schedule of all three runs.
    pub schedule: Schedule,
    /// The softmax approximation.
    pub approx: SoftmaxApprox,
    /// Plaintext, exact softmax.
    pub exact: TrainReport,
    /// Plaintext, approximated softmax.
    pub approximate: TrainReport,
    /// Encrypted (`None` when skipped).
    pub encrypted: Option<EncryptedRun>,
}

/// The encrypted run and what it cost.
#[derive(Debug, Clone)]
pub struct EncryptedRun {
    /// The training report: the weights decrypted by the key owner after training, and each epoch's validation
    /// accuracy scored by the key owner from that epoch's decrypted weights (possible here because the key owner
    /// runs in this process; the cloud's trainer records the validation loss only, and learns nothing new).
    pub report: TrainReport,
    /// The parameter preset.
    pub preset: String,
    /// Seconds to generate the cloud's keys.
    pub keygen_seconds: f64,
    /// Seconds to encrypt the train and validation sets.
    pub encrypt_seconds: f64,
    /// Galois keys generated (the trainer's rotations, and bootstrapping's when the cloud bootstraps).
    pub rotation_keys: usize,
    /// Whether the cloud bootstrapped (otherwise the key owner refreshed).
    pub bootstrapped: bool,
}

/// Trains `split` three ways (the encrypted run with `preset` unless `preset` is `None`; the cloud bootstraps if the
/// preset has a bootstrapping configuration, [`bootstrapping_for`], and the key owner refreshes otherwise).
/// With `work_dir` the encrypted run works in that folder ([`WorkDir`]): the encrypted batches are on disk and read
/// back one at a time, so that memory holds one batch rather than the encrypted dataset, and the trainer's state
/// is saved after every step, so that the same call with the same folder resumes an interrupted run; the folder
/// is removed when the run ends. Without it everything is held in memory.
///
/// # Errors
/// If the preset does not fit the packing or has too few levels, or the folder holds another run.
pub fn compare(
    dataset: &str,
    split: &Split,
    schedule: &Schedule,
    preset: Option<&ParamsLiteral>,
    work_dir: Option<&Path>,
    observer: &mut dyn TrainObserver,
) -> Result<Comparison> {
    if !schedule.batch.is_power_of_two() {
        anyhow::bail!(
            "the batch size ({}) must be a power of two (the encrypted packing's block rows)",
            schedule.batch
        );
    }
    let classes = split.train.classes;
    let approx = softmax_for(classes, preset);
    if let Some(literal) = preset {
        // Refuse up front what the encrypted run would refuse after the plaintext runs.
        Params::new(literal)?;
        Layout::new(1 << (literal.log_degree - 1), schedule.batch, classes, split.train.dim())?;
        Plan::for_params(&approx, literal).map_err(|e| anyhow::anyhow!("preset {}: {e}", literal.name))?;
    }
    let work = match (preset, work_dir) {
        (Some(literal), Some(dir)) => {
            Some(WorkDir::open(dir, &run_description(dataset, split, schedule, literal, &approx))?)
        }
        _ => None,
    };
    observer.message("plaintext training, exact softmax");
    let exact = plain::train(&split.train, &split.val, schedule, Softmax::Exact);
    observer.message("plaintext training, approximated softmax");
    let approximate = plain::train(&split.train, &split.val, schedule, Softmax::Approx(approx.clone()));
    let encrypted = preset
        .map(|literal| encrypted_run(split, schedule, literal, approx.clone(), work.as_ref(), observer))
        .transpose()?;
    if let Some(work) = work {
        work.remove()?;
    }
    Ok(Comparison {
        dataset: dataset.to_string(),
        source: String::new(),
        backbone: String::new(),
        sizes: [split.train.len(), split.val.len(), split.test.len()],
        dim: split.train.dim(),
        classes,
        schedule: *schedule,
        approx,
        exact,
        approximate,
        encrypted,
    })
}

/// What an encrypted run is, for its working folder: the data (a digest of every training and validation value
/// and label), the schedule, the parameters and the softmax approximation.
fn run_description(
    dataset: &str,
    split: &Split,
    schedule: &Schedule,
    literal: &ParamsLiteral,
    approx: &SoftmaxApprox,
) -> String {
    let mut digest = Md5::new();
    for part in [&split.train, &split.val] {
        part.features.iter().flatten().for_each(|v| digest.update(v.to_le_bytes()));
        part.labels.iter().for_each(|&l| digest.update((l as u64).to_le_bytes()));
    }
    format!(
        "dataset={dataset}\nrows={} {}\ndata_md5={}\nschedule={schedule:?}\npreset={}\nsoftmax={approx:?}\n",
        split.train.len(),
        split.val.len(),
        crate::medmnist::hex(&digest.finalize()),
        literal.name
    )
}

fn encrypted_run(
    split: &Split,
    schedule: &Schedule,
    literal: &ParamsLiteral,
    approx: SoftmaxApprox,
    work: Option<&WorkDir>,
    observer: &mut dyn TrainObserver,
) -> Result<EncryptedRun> {
    let params = Params::new(literal)?;
    let ctx = Context::new(&params)?;
    let encoder = Encoder::new(ctx.log_degree())?;
    let layout = Layout::new(ctx.degree() / 2, schedule.batch, split.train.classes, split.train.dim())?;
    let steps = layout.rotation_steps();
    let boot_literal = bootstrapping_for(literal);
    if boot_literal.is_some() {
        observer.message(&format!("cloud: precomputing bootstrapping ({})", literal.name));
    }
    let bootstrapper = Bootstrapper::for_params(&ctx)?;
    let start = Instant::now();
    let saved = work.map(|w| w.secret_key(&ctx)).transpose()?.flatten();
    let resumed = saved.is_some();
    let owner = match saved {
        Some((sk, key)) => KeyOwner::from_secret(&ctx, &encoder, sk, key),
        None => {
            let owner = KeyOwner::generate(&ctx, &encoder);
            if let Some(work) = work {
                work.save_secret_key(&ctx, owner.secret_key(), owner.key())?;
            }
            owner
        }
    };
    let keys = match boot_literal {
        Some(b) => {
            observer.message(&format!("hospital: rotation, relinearization and bootstrapping keys ({})", literal.name));
            owner.bootstrapping_keys(&steps, b)?
        }
        None => {
            observer.message(&format!("hospital: rotation and relinearization keys ({})", literal.name));
            owner.cloud_keys(&steps)
        }
    };
    let keygen_seconds = start.elapsed().as_secs_f64();
    let engine = match &bootstrapper {
        Some(b) => Engine::bootstrapping(&ctx, &encoder, &keys.keys, b)?,
        None => Engine::new(&ctx, &encoder, &keys.keys),
    };
    let trainer = Trainer::new(&engine, layout, approx.clone())?;
    let start = Instant::now();
    let stored = work.map(|work| stored_batches(&ctx, &owner, layout, trainer.batch_levels(), split, work, observer));
    let stored = stored.transpose()?;
    let (train, val): (Box<dyn Batches + '_>, Box<dyn Batches + '_>) = match &stored {
        Some((stored, _)) => (Box::new(stored.part(&ctx, Part::Train)), Box::new(stored.part(&ctx, Part::Val))),
        None => {
            observer.message("hospital: encrypting the training and validation sets");
            (
                Box::new(encrypt_batches(&owner, &layout, trainer.batch_levels(), &split.train)?),
                Box::new(encrypt_batches(&owner, &layout, BatchLevels::INFERENCE, &split.val)?),
            )
        }
    };
    let encrypt_seconds = stored.as_ref().map_or_else(|| start.elapsed().as_secs_f64(), |(_, s)| *s);
    let checkpoint =
        work.map(|work| Checkpoint { path: work.checkpoint(), ctx: &ctx, key: owner.key(), run: work.run() });
    let resume = checkpoint.as_ref().map(Checkpoint::load).transpose()?.flatten();
    match &resume {
        Some(state) => observer.message(&format!(
            "cloud: encrypted training, resumed at epoch {} after {} of its steps ({} steps in all)",
            state.epoch + 1,
            state.done,
            state.steps
        )),
        None if resumed => observer.message("cloud: encrypted training, from the start (no step was saved)"),
        None => observer.message("cloud: encrypted training"),
    }
    let mut service = LocalKeyOwner::new(&owner, &layout, approx, schedule.epochs, schedule.patience);
    if let Some(state) = &resume {
        // The key owner is in this process: its early stopping takes up the saved losses.
        service.resume(state.log.iter().map(|e| e.val_loss.unwrap_or(f64::INFINITY)));
    }
    let mut in_process = InProcess { outer: observer, owner: &owner, layout: &layout, val: &split.val, checkpoint };
    let (weights, mut report) = trainer.train(&*train, &*val, schedule, &mut service, &mut in_process, resume)?;
    report.weights = decrypt_weights(&owner, &layout, &weights)?;
    Ok(EncryptedRun {
        report,
        preset: literal.name.to_string(),
        keygen_seconds,
        encrypt_seconds,
        rotation_keys: keys.keys.galois.len(),
        bootstrapped: bootstrapper.is_some(),
    })
}

/// The training and validation sets encrypted into the working folder's batches (kept from an earlier run if it
/// finished them), and the seconds their encryption took.
fn stored_batches(
    ctx: &Context<Vec<u64>>,
    owner: &KeyOwner<'_>,
    layout: Layout,
    levels: BatchLevels,
    split: &Split,
    work: &WorkDir,
    observer: &mut dyn TrainObserver,
) -> Result<(BatchStore, f64)> {
    if let Some(seconds) = work.encryption_seconds() {
        observer.message("hospital: the training and validation sets, encrypted by the interrupted run");
        let store = BatchStore::open(&work.batches())?;
        store.expect_key(owner.key(), &work.secret_key_path())?;
        return Ok((store, seconds));
    }
    observer.message("hospital: encrypting the training and validation sets");
    let start = Instant::now();
    let dir = work.batches();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| FileError::Io { path: dir.clone(), source })?;
    }
    let test = Dataset { features: Vec::new(), labels: Vec::new(), classes: split.train.classes };
    let store = store::encrypt_parts(ctx, owner, layout, levels, [&split.train, &split.val, &test], &dir)?;
    let seconds = start.elapsed().as_secs_f64();
    work.batches_done(seconds)?;
    Ok((store, seconds))
}

/// The trainer's observer when the key owner is in the same process: progress passed on to the caller's
/// observer, each epoch's validation accuracy from its decrypted weights, and checkpoints into the working folder.
struct InProcess<'a, 'p> {
    outer: &'p mut dyn TrainObserver,
    owner: &'a KeyOwner<'a>,
    layout: &'a Layout,
    val: &'a Dataset,
    checkpoint: Option<Checkpoint<'a>>,
}

impl TrainObserver for InProcess<'_, '_> {
    fn message(&mut self, line: &str) {
        self.outer.message(line);
    }

    fn epoch_started(&mut self, start: &EpochStart) {
        self.outer.epoch_started(start);
    }

    fn step_done(&mut self, step: &StepDone) {
        self.outer.step_done(step);
    }

    fn validating(&mut self) {
        self.outer.validating();
    }

    fn epoch_done(&mut self, done: &EpochDone) {
        self.outer.epoch_done(done);
    }

    fn finished(&mut self) {
        self.outer.finished();
    }

    fn epoch_weights(&mut self, w: &[Ct]) -> Result<Option<f64>> {
        Ok(Some(plain::accuracy(&decrypt_weights(self.owner, self.layout, w)?, self.val)))
    }

    fn checkpoint(&mut self, state: &TrainState) -> Result<()> {
        self.checkpoint.as_ref().map_or(Ok(()), |c| c.save(state))
    }
}

/// The key owner's reading of encrypted weight blocks: decrypted and unpacked into `classes × dim`.
fn decrypt_weights(owner: &KeyOwner<'_>, layout: &Layout, blocks: &[Ct]) -> Result<Vec<Vec<f64>>> {
    let blocks: Vec<Vec<f64>> = blocks.iter().map(|w| owner.decrypt(w)).collect::<Result<_>>()?;
    Ok(layout.unpack_weights(&blocks))
}

impl Comparison {
    /// Each run with its name in the reports: plaintext-exact, plaintext-approx, then encrypted if it ran.
    pub fn runs(&self) -> Vec<(&'static str, &TrainReport)> {
        let mut runs = vec![("plaintext-exact", &self.exact), ("plaintext-approx", &self.approximate)];
        if let Some(e) = &self.encrypted {
            runs.push(("encrypted", &e.report));
        }
        runs
    }

    /// Test accuracy of each run's weights.
    pub fn test_accuracies(&self, split: &Split) -> Vec<(&'static str, f64)> {
        self.runs().into_iter().map(|(name, r)| (name, plain::accuracy(&r.weights, &split.test))).collect()
    }
}

/// The encrypted run of `c` took every epoch the plaintext-approx run took, with its largest validation logit
/// and, but for a row on the decision boundary, its validation accuracy.
#[cfg(test)]
pub(crate) fn assert_encrypted_follows_approx(c: &Comparison, split: &Split) {
    let encrypted = &c.encrypted.as_ref().unwrap().report;
    assert_eq!(encrypted.log.len(), c.approximate.log.len());
    for (want, have) in c.approximate.log.iter().zip(&encrypted.log) {
        // The key owner read the largest validation logit from the decrypted logits.
        let (a, b) = (want.val_max_abs_logit.unwrap(), have.val_max_abs_logit.unwrap());
        assert!((a - b).abs() < 1e-2 * a.max(1.0), "largest |logit| {a} vs {b}");
        let (want, have) = (want.val_accuracy.unwrap(), have.val_accuracy.unwrap());
        // The weights agree to 1e-3: at most a row on the decision boundary may differ.
        assert!((want - have).abs() <= 1.0 / split.val.len() as f64 + 1e-12, "{want} vs {have}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{blobs, test_literal, test_schedule};
    use super::*;

    /// An observer that hands each message to its function.
    struct Messages<F: FnMut(&str)>(F);

    impl<F: FnMut(&str)> TrainObserver for Messages<F> {
        fn message(&mut self, line: &str) {
            (self.0)(line);
        }
    }

    /// With a working folder the encrypted batches are on disk while the cloud trains — every training and
    /// validation batch — they train as the batches held in memory do, and the folder is removed at the end.
    #[test]
    fn a_working_folder_holds_the_batches_trains_like_memory_and_is_removed() {
        let split = blobs();
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("work");
        let mut on_disk = Vec::new();
        let mut progress = Messages(|message: &str| {
            if message.starts_with("cloud: encrypted training") {
                on_disk.push(
                    BatchStore::open(&dir.join("batches")).map(|s| s.rows(Part::Train).len() + s.rows(Part::Val).len()),
                );
            }
        });
        let c = compare("blobs", &split, &test_schedule(), Some(&test_literal()), Some(&dir), &mut progress).unwrap();
        let batches = |rows: usize| rows.div_ceil(test_schedule().batch);
        let want = batches(split.train.len()) + batches(split.val.len());
        assert_eq!(on_disk.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [want]);
        assert_encrypted_follows_approx(&c, &split);
        assert!(!dir.exists(), "the working folder is removed");
    }

    /// A working folder is refused, before any training, when it holds another run or files of its own.
    #[test]
    fn a_working_folder_of_another_run_or_with_other_files_is_refused() {
        let split = blobs();
        let parent = tempfile::tempdir().unwrap();
        let work = |name: &str| parent.path().join(name);
        let other = Schedule { epochs: 3, ..test_schedule() };
        let literal = test_literal();
        let description = run_description("blobs", &split, &other, &literal, &softmax_for(3, Some(&literal)));
        WorkDir::open(&work("other"), &description).unwrap();
        std::fs::create_dir(work("foreign")).unwrap();
        std::fs::write(work("foreign").join("notes.txt"), "mine").unwrap();
        for (name, expected) in [("other", "unfinished run of other data"), ("foreign", "not an encrypted run")] {
            let mut progress = Messages(|message: &str| panic!("{name}: nothing should run, but: {message}"));
            let error = compare("blobs", &split, &test_schedule(), Some(&literal), Some(&work(name)), &mut progress)
                .err()
                .unwrap();
            assert!(error.to_string().contains(expected), "{name}: {error}");
        }
        assert_eq!(std::fs::read_to_string(work("foreign").join("notes.txt")).unwrap(), "mine", "nothing touched");
    }
}
