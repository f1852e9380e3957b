//! One dataset trained three ways with the same split and schedule — plaintext with the exact softmax,
//! plaintext with the approximation, and encrypted — and the report: JSON, Markdown, and an SVG plot (plotters)
//! of each run's validation loss and accuracy per epoch.

use super::data::{Dataset, Split};
use super::encrypted::{BatchLevels, Batches, LocalKeyOwner, Plan, Trainer, encrypt_batches, softmax_for};
use super::he::{Bootstrapping, Ct, Engine, KeyOwner};
use super::layout::Layout;
use super::plain::{self, Softmax};
use super::schedule::Schedule;
use super::softmax::SoftmaxApprox;
use super::store::{self, Part};
use super::{EpochLog, TrainReport};
use crate::files::FileError;
use anyhow::Result;
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
/// With `batch_dir` the encrypted batches go to a temporary folder in it and are read back one at a time, so that
/// memory holds one batch rather than the encrypted dataset; the folder is removed afterwards. Without it they are
/// held in memory.
///
/// # Errors
/// If the preset does not fit the packing or has too few levels.
pub fn compare(
    dataset: &str,
    split: &Split,
    schedule: &Schedule,
    preset: Option<&ParamsLiteral>,
    batch_dir: Option<&Path>,
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
    progress("plaintext training, exact softmax");
    let exact = plain::train(&split.train, &split.val, schedule, Softmax::Exact);
    progress("plaintext training, approximated softmax");
    let approximate = plain::train(&split.train, &split.val, schedule, Softmax::Approx(approx.clone()));
    let encrypted = preset
        .map(|literal| encrypted_run(split, schedule, literal, approx.clone(), batch_dir, progress))
        .transpose()?;
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

fn encrypted_run(
    split: &Split,
    schedule: &Schedule,
    literal: &ParamsLiteral,
    approx: SoftmaxApprox,
    batch_dir: Option<&Path>,
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
    let owner = KeyOwner::generate(&ctx, &encoder);
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
    let start = Instant::now();
    progress("hospital: encrypting the training and validation sets");
    let engine = match &bootstrapping {
        Some(b) => Engine::bootstrapping(&ctx, &encoder, &keys, b)?,
        None => Engine::new(&ctx, &encoder, &keys),
    };
    let trainer = Trainer::new(&engine, layout, approx.clone())?;
    let scratch = batch_dir.map(temporary_folder).transpose()?;
    let stored = scratch
        .as_ref()
        .map(|dir| {
            let test = Dataset { features: Vec::new(), labels: Vec::new(), classes: split.train.classes };
            let parts = [&split.train, &split.val, &test];
            store::encrypt_parts(&ctx, &owner, layout, trainer.batch_levels(), parts, dir.path())
        })
        .transpose()?;
    let (train, val): (Box<dyn Batches + '_>, Box<dyn Batches + '_>) = match &stored {
        Some(stored) => (Box::new(stored.part(&ctx, Part::Train)), Box::new(stored.part(&ctx, Part::Val))),
        None => (
            Box::new(encrypt_batches(&owner, &layout, trainer.batch_levels(), &split.train)?),
            Box::new(encrypt_batches(&owner, &layout, BatchLevels::INFERENCE, &split.val)?),
        ),
    };
    let encrypt_seconds = start.elapsed().as_secs_f64();
    let mut service = LocalKeyOwner::new(&owner, &layout, approx);
    progress("cloud: encrypted training");
    let mut accuracies = Vec::new();
    let (weights, mut report) = trainer.train(&*train, &*val, schedule, &mut service, progress, &mut |w| {
        accuracies.push(plain::accuracy(&decrypt_weights(&owner, &layout, w)?, &split.val));
        Ok(())
    })?;
    report.weights = decrypt_weights(&owner, &layout, &weights)?;
    for (epoch, accuracy) in report.log.iter_mut().zip(accuracies) {
        epoch.val_accuracy = Some(accuracy);
    }
    Ok(EncryptedRun {
        report,
        preset: literal.name.to_string(),
        keygen_seconds,
        encrypt_seconds,
        rotation_keys: keys.galois().len(),
        bootstrapped: bootstrapping.is_some(),
    })
}

/// A new empty folder in `dir` (created if missing), removed with everything in it when dropped.
fn temporary_folder(dir: &Path) -> Result<tempfile::TempDir, FileError> {
    std::fs::create_dir_all(dir)
        .and_then(|()| tempfile::Builder::new().prefix("medblind-batches-").tempdir_in(dir))
        .map_err(|source| FileError::Io { path: dir.to_path_buf(), source })
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
            Curve::Loss => Some(epoch.val_loss),
            Curve::Accuracy => epoch.val_accuracy.map(|a| 100.0 * a),
        }
        .filter(|v| v.is_finite())
    }

    /// The value axis for `values`: the loss from 0, the accuracy around its values within 0–100 %.
    fn range(self, values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
        let high = values.clone().fold(f64::NEG_INFINITY, f64::max);
        let low = values.fold(f64::INFINITY, f64::min);
        match self {
            _ if !high.is_finite() => 0.0..1.0,
            Curve::Loss => 0.0..(1.1 * high).max(1e-9),
            Curve::Accuracy => (low - 2.0).max(0.0)..(high + 2.0).min(100.0),
        }
    }

    /// Where the legend hides the fewest points: losses fall, accuracies rise.
    fn legend(self) -> SeriesLabelPosition {
        match self {
            Curve::Loss => SeriesLabelPosition::UpperRight,
            Curve::Accuracy => SeriesLabelPosition::LowerRight,
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

    /// The report as JSON (a loss that is not finite, after the approximation left its range, is `null`).
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
                    "best_epoch": r.best_epoch,
                    "steps": r.steps,
                    "refreshes": r.refreshes,
                    "bootstraps": r.bootstraps,
                    "seconds": r.seconds,
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
             | run | test accuracy | best epoch | steps | ciphertexts refreshed by the key owner | bootstraps | training time |\n| --- | --- | --- | --- | --- | --- | --- |\n",
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
                "| {name} | {:.2} % | {} | {} | {} | {} | {:.2} s |",
                acc * 100.0,
                r.best_epoch + 1,
                r.steps,
                r.refreshes,
                r.bootstraps,
                r.seconds
            );
        }
        if let Some(e) = &self.encrypted {
            let plain_seconds = self.exact.seconds.max(1e-9);
            let _ = write!(
                out,
                "\nEncrypted with preset `{}` ({}): {} Galois keys generated in {:.1} s, data encrypted in {:.1} s; \
                 encrypted / plaintext-exact training time = {:.0}×.\n",
                e.preset,
                if e.bootstrapped { "the cloud bootstraps" } else { "the key owner refreshes the weights" },
                e.rotation_keys,
                e.keygen_seconds,
                e.encrypt_seconds,
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

    /// Each run's validation loss and validation accuracy per epoch, as an SVG drawn by plotters: two panels,
    /// one line per run, each narrower than the one before so that runs that agree stay visible on top of each
    /// other.
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
            let root = SVGBackend::with_string(&mut svg, (1000, 400)).into_drawing_area();
            root.fill(&WHITE)?;
            let features = if self.backbone.is_empty() { String::new() } else { format!(" ({})", self.backbone) };
            let root = root.titled(&format!("{}{features}: validation per epoch", self.dataset), ("sans-serif", 14))?;
            for (panel, curve) in root.split_evenly((1, 2)).iter().zip([Curve::Loss, Curve::Accuracy]) {
                let series: Vec<(&str, Vec<(usize, f64)>)> = runs
                    .iter()
                    .map(|(name, r)| {
                        (*name, r.log.iter().filter_map(|l| Some((l.epoch + 1, curve.value(l)?))).collect())
                    })
                    .collect();
                let range = curve.range(series.iter().flat_map(|(_, points)| points.iter().map(|&(_, v)| v)));
                let mut chart = ChartBuilder::on(panel)
                    .caption(curve.title(), ("sans-serif", 14))
                    .margin(12)
                    .x_label_area_size(36)
                    .y_label_area_size(40)
                    .build_cartesian_2d(0..epochs + 1, range)?;
                chart.configure_mesh().x_desc("epoch").draw()?;
                for ((name, points), (colour, width)) in series.into_iter().zip(LINES) {
                    let style = colour.stroke_width(width);
                    chart
                        .draw_series(LineSeries::new(points, style).point_size(width + 1))?
                        .label(name)
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
                }
                chart
                    .configure_series_labels()
                    .position(curve.legend())
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()?;
            }
            root.present()?;
        }
        Ok(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::super::encrypted::tests::{blobs, test_literal, test_schedule};
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
        diverged.approximate.log[1].val_loss = f64::INFINITY;
        let parsed: Value = serde_json::from_str(&diverged.json(&split)).unwrap();
        assert_eq!(parsed["runs"][1]["val_loss"][1], Value::Null);
        assert_eq!(parsed["runs"][1]["val_loss"].as_array().map(Vec::len), Some(2));
        assert!(!json.contains("null"), "{json}");
        let svg = c.svg().unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in ["validation loss", "validation accuracy", "plaintext-exact", "plaintext-approx", "encrypted"] {
            assert!(svg.contains(text), "{text} missing from the plot");
        }
        assert!(c.markdown(&split).contains("](blobs.svg)"));
    }

    /// With a batch folder the encrypted batches are on disk while the cloud trains — every training and
    /// validation batch, in one temporary folder — they train as the batches held in memory do, and nothing is
    /// left behind.
    #[test]
    fn streamed_batches_train_like_held_ones_and_leave_nothing_behind() {
        let split = blobs();
        let dir = tempfile::tempdir().unwrap();
        let mut on_disk = Vec::new();
        let mut progress = |message: &str| {
            if message == "cloud: encrypted training" {
                for folder in std::fs::read_dir(dir.path()).unwrap() {
                    let folder = folder.unwrap().path();
                    on_disk.push(
                        store::BatchStore::open(&folder).map(|s| s.rows(Part::Train).len() + s.rows(Part::Val).len()),
                    );
                }
            }
        };
        let c =
            compare("blobs", &split, &test_schedule(), Some(&test_literal()), Some(dir.path()), &mut progress).unwrap();
        let batches = |rows: usize| rows.div_ceil(test_schedule().batch);
        let want = batches(split.train.len()) + batches(split.val.len());
        assert_eq!(on_disk.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [want]);
        assert_encrypted_follows_approx(&c, &split);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the batch folder is removed");
    }
}
