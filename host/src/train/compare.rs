//! One dataset trained three ways with the same split and schedule — plaintext with the exact softmax,
//! plaintext with the approximation, and encrypted — and the report: JSON, Markdown, and an SVG plot (plotters)
//! of each run's validation loss and accuracy per epoch.

use super::batches::{BatchLevels, Batches, encrypt_batches};
use super::checkpoint::{Checkpoint, TrainState};
use super::data::{Dataset, Split};
use super::encrypted::{TrainHooks, Trainer};
use super::he::{Bootstrapping, Ct, Engine, KeyOwner};
use super::key_owner::LocalKeyOwner;
use super::layout::Layout;
use super::plain::{self, Softmax};
use super::plan::{Plan, softmax_for};
use super::schedule::Schedule;
use super::softmax::SoftmaxApprox;
use super::store::{self, BatchStore, Part};
use super::workdir::WorkDir;
use super::{EpochLog, TrainReport};
use crate::files::FileError;
use anyhow::Result;
use md5::{Digest, Md5};
use medblind_core::ckks::{Context, Encoder, Params, ParamsLiteral, presets};
use plotters::prelude::*;
use serde_json::{Value, json};
use std::fmt::Write as _;
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
/// preset has a bootstrapping configuration, [`presets::bootstrapping_for`], and the key owner refreshes otherwise).
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
    progress: &mut dyn FnMut(&str),
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
    progress("plaintext training, exact softmax");
    let exact = plain::train(&split.train, &split.val, schedule, Softmax::Exact);
    progress("plaintext training, approximated softmax");
    let approximate = plain::train(&split.train, &split.val, schedule, Softmax::Approx(approx.clone()));
    let encrypted = preset
        .map(|literal| encrypted_run(split, schedule, literal, approx.clone(), work.as_ref(), progress))
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
    progress: &mut dyn FnMut(&str),
) -> Result<EncryptedRun> {
    let params = Params::new(literal)?;
    let ctx = Context::new(&params)?;
    let encoder = Encoder::new(ctx.log_degree())?;
    let layout = Layout::new(ctx.degree() / 2, schedule.batch, split.train.classes, split.train.dim())?;
    let steps = layout.rotation_steps();
    let boot_literal = presets::bootstrapping_for(literal);
    let bootstrapping = boot_literal
        .map(|b| {
            progress(&format!("cloud: precomputing bootstrapping ({})", literal.name));
            Bootstrapping::new(&ctx, b)
        })
        .transpose()?;
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
            progress(&format!("hospital: rotation, relinearization and bootstrapping keys ({})", literal.name));
            owner.bootstrapping_keys(&steps, b)?
        }
        None => {
            progress(&format!("hospital: rotation and relinearization keys ({})", literal.name));
            owner.cloud_keys(&steps)
        }
    };
    let keygen_seconds = start.elapsed().as_secs_f64();
    let engine = match &bootstrapping {
        Some(b) => Engine::bootstrapping(&ctx, &encoder, &keys, b)?,
        None => Engine::new(&ctx, &encoder, &keys),
    };
    let trainer = Trainer::new(&engine, layout, approx.clone())?;
    let start = Instant::now();
    let stored = work.map(|work| stored_batches(&ctx, &owner, layout, trainer.batch_levels(), split, work, progress));
    let stored = stored.transpose()?;
    let (train, val): (Box<dyn Batches + '_>, Box<dyn Batches + '_>) = match &stored {
        Some((stored, _)) => (Box::new(stored.part(&ctx, Part::Train)), Box::new(stored.part(&ctx, Part::Val))),
        None => {
            progress("hospital: encrypting the training and validation sets");
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
        Some(state) => progress(&format!(
            "cloud: encrypted training, resumed at epoch {} after {} of its steps ({} steps in all)",
            state.epoch + 1,
            state.done,
            state.steps
        )),
        None if resumed => progress("cloud: encrypted training, from the start (no step was saved)"),
        None => progress("cloud: encrypted training"),
    }
    let mut service = LocalKeyOwner::new(&owner, &layout, approx, schedule.epochs, schedule.patience);
    if let Some(state) = &resume {
        // The key owner is in this process: its early stopping takes up the saved losses.
        service.resume(state.log.iter().map(|e| e.val_loss.unwrap_or(f64::INFINITY)));
    }
    let mut hooks = InProcessHooks { progress, owner: &owner, layout: &layout, val: &split.val, checkpoint };
    let (weights, mut report) = trainer.train(&*train, &*val, schedule, &mut service, &mut hooks, resume)?;
    report.weights = decrypt_weights(&owner, &layout, &weights)?;
    Ok(EncryptedRun {
        report,
        preset: literal.name.to_string(),
        keygen_seconds,
        encrypt_seconds,
        rotation_keys: keys.galois().len(),
        bootstrapped: bootstrapping.is_some(),
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
    progress: &mut dyn FnMut(&str),
) -> Result<(BatchStore, f64)> {
    if let Some(seconds) = work.encryption_seconds() {
        progress("hospital: the training and validation sets, encrypted by the interrupted run");
        let store = BatchStore::open(&work.batches())?;
        store.expect_key(owner.key(), &work.secret_key_path())?;
        return Ok((store, seconds));
    }
    progress("hospital: encrypting the training and validation sets");
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

/// The trainer's hooks when the key owner is in the same process: progress lines, each epoch's validation
/// accuracy from its decrypted weights, and checkpoints into the working folder.
struct InProcessHooks<'a, 'p> {
    progress: &'p mut dyn FnMut(&str),
    owner: &'a KeyOwner<'a>,
    layout: &'a Layout,
    val: &'a Dataset,
    checkpoint: Option<Checkpoint<'a>>,
}

impl TrainHooks for InProcessHooks<'_, '_> {
    fn progress(&mut self, line: &str) {
        (self.progress)(line);
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

/// A per-epoch validation measure, one panel of the plot.
#[derive(Debug, Clone, Copy)]
enum Curve {
    /// The mean cross-entropy.
    Loss,
    /// The accuracy, in percent.
    Accuracy,
}

impl Curve {
    fn title(self) -> &'static str {
        match self {
            Curve::Loss => "validation loss",
            Curve::Accuracy => "validation accuracy (%)",
        }
    }

    /// `epoch`'s value, if recorded and finite (a diverging run's loss may not be).
    fn value(self, epoch: &EpochLog) -> Option<f64> {
        match self {
            Curve::Loss => epoch.val_loss,
            Curve::Accuracy => epoch.val_accuracy.map(|a| 100.0 * a),
        }
        .filter(|v| v.is_finite())
    }

    /// The value axis for `values`: their span with a margin, so that the change shows (the accuracy within
    /// 0–100 %, the loss above 0).
    fn range(self, values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
        let high = values.clone().fold(f64::NEG_INFINITY, f64::max);
        let low = values.fold(f64::INFINITY, f64::min);
        if !high.is_finite() {
            return 0.0..1.0;
        }
        let margin = (0.1 * (high - low)).max(0.02 * high.abs()).max(1e-6);
        let (low, high) = ((low - margin).max(0.0), high + margin);
        match self {
            Curve::Loss => low..high,
            Curve::Accuracy => low..high.min(100.0),
        }
    }
}

impl Comparison {
    fn runs(&self) -> Vec<(&'static str, &TrainReport)> {
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

    /// The report as JSON. Epochs are numbered from 1, as in the Markdown; a run that stopped because a
    /// validation logit left the approximation's range says so (`range_guard_stop`), and its last loss is `null`.
    pub fn json(&self, split: &Split) -> String {
        let s = &self.schedule;
        let runs: Vec<Value> = self
            .runs()
            .into_iter()
            .zip(self.test_accuracies(split))
            .map(|((name, r), (_, accuracy))| {
                json!({
                    "name": name,
                    "test_accuracy": accuracy,
                    "best_epoch": r.best_epoch + 1,
                    "range_guard_stop": r.stopped_on_range_guard(),
                    "steps": r.steps,
                    "refreshes": r.refreshes,
                    "bootstraps": r.bootstraps,
                    "seconds": r.seconds,
                    "epoch": r.log.iter().map(|l| l.epoch + 1).collect::<Vec<_>>(),
                    "val_loss": r.log.iter().map(|l| l.val_loss).collect::<Vec<_>>(),
                    "val_accuracy": r.log.iter().map(|l| l.val_accuracy).collect::<Vec<_>>(),
                    "val_max_abs_logit": r.log.iter().map(|l| l.val_max_abs_logit).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut report = json!({
            "dataset": self.dataset,
            "source": self.source,
            "backbone": self.backbone,
            "train": self.sizes[0],
            "val": self.sizes[1],
            "test": self.sizes[2],
            "dim": self.dim,
            "classes": self.classes,
            "schedule": {
                "learning_rate": s.learning_rate,
                "decay": s.decay,
                "weight_decay": s.weight_decay,
                "momentum": s.momentum,
                "batch": s.batch,
                "epochs": s.epochs,
                "patience": s.patience,
            },
            "softmax": {
                "bound": self.approx.bound,
                "domain": self.approx.domain,
                "squarings": self.approx.squarings,
                "inverse_degree": self.approx.inverse_degree,
                "headroom": self.approx.headroom,
                "stages": self.approx.stages,
            },
            "runs": runs,
        });
        if let (Some(e), Some(fields)) = (&self.encrypted, report.as_object_mut()) {
            fields.insert("preset".into(), json!(e.preset));
            fields.insert("bootstrapped".into(), json!(e.bootstrapped));
            fields.insert("keygen_seconds".into(), json!(e.keygen_seconds));
            fields.insert("encrypt_seconds".into(), json!(e.encrypt_seconds));
            fields.insert("rotation_keys".into(), json!(e.rotation_keys));
        }
        format!("{report}\n")
    }

    /// The report as a Markdown section.
    pub fn markdown(&self, split: &Split) -> String {
        let s = &self.schedule;
        let mut out = format!(
            "### {} ({} train / {} validation / {} test rows, {} features + bias, {} classes)\n\n\
             {}Schedule: NAG, learning rate {} × {}^epoch, weight decay {}, momentum {}, batch {}, at most {} epochs, patience {}. \
             Softmax approximation: B = {}, D = {}, k = {}, inverse of degree {}, h = {}, {} widening stages.\n\n\
             | run | test accuracy | best epoch (epochs from 1) | steps | ciphertexts refreshed by the key owner | bootstraps | training time |\n| --- | --- | --- | --- | --- | --- | --- |\n",
            self.dataset,
            self.sizes[0],
            self.sizes[1],
            self.sizes[2],
            self.dim - 1,
            self.classes,
            if self.source.is_empty() { String::new() } else { format!("Features: {}.\n\n", self.source) },
            s.learning_rate,
            s.decay,
            s.weight_decay,
            s.momentum,
            s.batch,
            s.epochs,
            s.patience,
            self.approx.bound,
            self.approx.domain,
            self.approx.squarings,
            self.approx.inverse_degree,
            self.approx.headroom,
            self.approx.stages
        );
        for ((name, r), (_, acc)) in self.runs().into_iter().zip(self.test_accuracies(split)) {
            let _ = writeln!(
                out,
                "| {name} | {:.2} % | {}{} | {} | {} | {} | {:.2} s |",
                acc * 100.0,
                r.best_epoch + 1,
                if r.stopped_on_range_guard() {
                    ", then stopped: a validation logit left the approximation's range"
                } else {
                    ""
                },
                r.steps,
                r.refreshes,
                r.bootstraps,
                r.seconds
            );
        }
        if let Some(e) = &self.encrypted {
            let plain_seconds = self.exact.seconds.max(1e-9);
            let steps = e.report.steps.max(1);
            let _ = write!(
                out,
                "\nEncrypted with preset `{}` ({}): {} Galois keys generated in {:.1} s, data encrypted in {:.1} s. \
                 Encrypted training took {:.1} s, {:.1} s per step (validation included) for {} steps of homomorphic \
                 products, rotations and {}, against {:.3} s for plaintext-exact training of the same schedule: \
                 {:.0}× its time.\n",
                e.preset,
                if e.bootstrapped { "the cloud bootstraps" } else { "the key owner refreshes the weights" },
                e.rotation_keys,
                e.keygen_seconds,
                e.encrypt_seconds,
                e.report.seconds,
                e.report.seconds / steps as f64,
                e.report.steps,
                if e.bootstrapped {
                    format!("{} bootstraps", e.report.bootstraps)
                } else {
                    format!("{} ciphertexts refreshed", e.report.refreshes)
                },
                self.exact.seconds,
                e.report.seconds / plain_seconds
            );
        }
        let _ = write!(out, "\n![validation loss and accuracy per epoch]({})\n", self.plot_file());
        out
    }

    /// The plot's file name, beside the Markdown report that embeds it: `DATASET.svg`.
    pub fn plot_file(&self) -> String {
        format!("{}.svg", self.dataset)
    }

    /// Each run's validation loss and validation accuracy per epoch, as an SVG drawn by plotters: a title naming
    /// the dataset, the features' backbone and the preset; the legend in its own row above two panels; one line per
    /// run, each narrower than the one before so that runs that agree stay visible on top of each other.
    ///
    /// # Errors
    /// If plotters fails to draw (it draws into memory, so only on a bug).
    pub fn svg(&self) -> Result<String> {
        const LINES: [(RGBColor, u32); 3] =
            [(RGBColor(0x1f, 0x77, 0xb4), 6), (RGBColor(0xff, 0x7f, 0x0e), 4), (RGBColor(0x2c, 0xa0, 0x2c), 2)];
        let runs = self.runs();
        let epochs = runs.iter().map(|(_, r)| r.log.len()).max().unwrap_or(0);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (1000, 430)).into_drawing_area();
            root.fill(&WHITE)?;
            let root = root.titled(&self.plot_title(), ("sans-serif", 15))?;
            let (legend, panels) = root.split_vertically(30);
            for ((name, _), ((colour, width), x)) in runs.iter().zip(LINES.into_iter().zip([300, 470, 640])) {
                legend.draw(&PathElement::new([(x, 15), (x + 30, 15)], colour.stroke_width(width)))?;
                legend.draw(&Text::new(*name, (x + 38, 8), ("sans-serif", 13)))?;
            }
            for (panel, curve) in panels.split_evenly((1, 2)).iter().zip([Curve::Loss, Curve::Accuracy]) {
                let series: Vec<Vec<(usize, f64)>> = runs
                    .iter()
                    .map(|(_, r)| r.log.iter().filter_map(|l| Some((l.epoch + 1, curve.value(l)?))).collect())
                    .collect();
                let range = curve.range(series.iter().flat_map(|points| points.iter().map(|&(_, v)| v)));
                let mut chart = ChartBuilder::on(panel)
                    .caption(curve.title(), ("sans-serif", 14))
                    .margin(12)
                    .x_label_area_size(36)
                    .y_label_area_size(48)
                    .build_cartesian_2d(0..epochs + 1, range)?;
                chart.configure_mesh().x_desc("epoch").draw()?;
                for (points, (colour, width)) in series.into_iter().zip(LINES) {
                    chart.draw_series(LineSeries::new(points, colour.stroke_width(width)).point_size(width + 1))?;
                }
            }
            root.present()?;
        }
        Ok(svg)
    }

    /// "DATASET, BACKBONE, preset PRESET: validation per epoch", leaving out what is not known.
    fn plot_title(&self) -> String {
        let mut title = self.dataset.clone();
        if !self.backbone.is_empty() {
            let _ = write!(title, ", {}", self.backbone);
        }
        if let Some(e) = &self.encrypted {
            let _ = write!(title, ", preset {}", e.preset);
        }
        title + ": validation per epoch"
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{blobs, test_literal, test_schedule};
    use super::*;

    /// The encrypted run of `c` took every epoch the plaintext-approx run took, with its largest validation logit
    /// and, but for a row on the decision boundary, its validation accuracy.
    fn assert_encrypted_follows_approx(c: &Comparison, split: &Split) {
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

    /// The encrypted run's validation accuracy per epoch, scored by the in-process key owner from the decrypted
    /// weights, follows the plaintext-approx run's and is in the JSON and the plot with the other runs'.
    #[test]
    fn the_report_has_every_runs_validation_accuracy_per_epoch() {
        let split = blobs();
        let c = compare("blobs", &split, &test_schedule(), Some(&test_literal()), None, &mut |_| {}).unwrap();
        assert_encrypted_follows_approx(&c, &split);
        let json = c.json(&split);
        assert_eq!(json.matches("\"val_accuracy\":[").count(), 3, "{json}");
        assert_eq!(json.matches("\"val_max_abs_logit\":[").count(), 3, "{json}");
        // A diverged epoch's infinite loss is null, and the report still parses.
        let mut diverged = c.clone();
        diverged.approximate.log[1].val_loss = Some(f64::INFINITY);
        let parsed: Value = serde_json::from_str(&diverged.json(&split)).unwrap();
        assert_eq!(parsed["runs"][1]["val_loss"][1], Value::Null);
        assert_eq!(parsed["runs"][1]["val_loss"].as_array().map(Vec::len), Some(2));
        assert_eq!(parsed["runs"][1]["range_guard_stop"], Value::Bool(true));
        assert!(diverged.markdown(&split).contains("then stopped: a validation logit left"));
        assert!(!json.contains("null") && !json.contains("\"range_guard_stop\":true"), "{json}");
        // One epoch numbering, from 1, in the JSON and the Markdown.
        let parsed: Value = serde_json::from_str(&json).unwrap();
        let best = c.exact.best_epoch + 1;
        assert_eq!(parsed["runs"][0]["best_epoch"], Value::from(best));
        assert_eq!(parsed["runs"][0]["epoch"][0], Value::from(1));
        assert!(
            c.markdown(&split)
                .contains(&format!("| plaintext-exact | {:.2} % | {best} |", 100.0 * c.test_accuracies(&split)[0].1))
        );
        let svg = c.svg().unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in
            ["validation loss", "validation accuracy", "plaintext-exact", "plaintext-approx", "encrypted", "blobs"]
        {
            assert!(svg.contains(text), "{text} missing from the plot");
        }
        let preset = &c.encrypted.as_ref().unwrap().preset;
        assert!(svg.contains(&format!("preset {preset}")), "the plot's title names the preset");
        assert!(c.markdown(&split).contains("](blobs.svg)"));
    }

    /// A fixed comparison of two epochs (no training), for pinning the reports' bytes.
    fn synthetic() -> (Comparison, Split) {
        use super::super::schedule::Verdict;
        let split = blobs();
        let (classes, dim) = (split.train.classes, split.train.dim());
        let run = |phase: f64, seconds: f64| TrainReport {
            weights: (0..classes).map(|c| (0..dim).map(|j| ((c * dim + j) as f64 + phase).sin()).collect()).collect(),
            best_epoch: 1,
            log: (0..2)
                .map(|epoch| EpochLog {
                    epoch,
                    val_loss: Some(1.0 / (epoch as f64 + 1.0) + phase),
                    verdict: Verdict::Improved,
                    val_accuracy: Some(0.5 + 0.25 * epoch as f64),
                    val_max_abs_logit: Some(3.0 + phase),
                })
                .collect(),
            steps: 6,
            refreshes: 0,
            bootstraps: 0,
            seconds,
        };
        let encrypted = EncryptedRun {
            report: TrainReport { refreshes: 12, ..run(0.125, 30.5) },
            preset: "test-preset".into(),
            keygen_seconds: 1.5,
            encrypt_seconds: 2.25,
            rotation_keys: 9,
            bootstrapped: false,
        };
        let c = Comparison {
            dataset: "blobs".into(),
            source: "`blobs.csv`".into(),
            backbone: "deit_tiny (pretrained)".into(),
            sizes: [split.train.len(), split.val.len(), split.test.len()],
            dim,
            classes,
            schedule: test_schedule(),
            approx: softmax_for(classes, None),
            exact: run(0.0, 0.01),
            approximate: run(0.0625, 0.02),
            encrypted: Some(encrypted),
        };
        (c, split)
    }

    /// The reports of a fixed comparison, byte for byte (the SVG by its MD5).
    #[test]
    fn the_reports_of_a_fixed_comparison_are_pinned() {
        let (c, split) = synthetic();
        let md5 = |text: String| crate::medmnist::hex(&Md5::digest(text.as_bytes()));
        assert_eq!(md5(c.json(&split)), "4727ff4906e5607db844454ffd4f024f");
        assert_eq!(md5(c.markdown(&split)), "fcd7cb8459118d12b483fadc84295f1f");
        assert_eq!(md5(c.svg().unwrap()), "8c319607cd2df214c9f1d7d780fd472d");
    }

    /// With a working folder the encrypted batches are on disk while the cloud trains — every training and
    /// validation batch — they train as the batches held in memory do, and the folder is removed at the end.
    #[test]
    fn a_working_folder_holds_the_batches_trains_like_memory_and_is_removed() {
        let split = blobs();
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("work");
        let mut on_disk = Vec::new();
        let mut progress = |message: &str| {
            if message.starts_with("cloud: encrypted training") {
                on_disk.push(
                    BatchStore::open(&dir.join("batches")).map(|s| s.rows(Part::Train).len() + s.rows(Part::Val).len()),
                );
            }
        };
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
            let mut progress = |message: &str| panic!("{name}: nothing should run, but: {message}");
            let error = compare("blobs", &split, &test_schedule(), Some(&literal), Some(&work(name)), &mut progress)
                .err()
                .unwrap();
            assert!(error.to_string().contains(expected), "{name}: {error}");
        }
        assert_eq!(std::fs::read_to_string(work("foreign").join("notes.txt")).unwrap(), "mine", "nothing touched");
    }
}
