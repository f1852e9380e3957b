//! One dataset trained three ways with the same split and schedule — plaintext with the exact softmax,
//! plaintext with the approximation, and encrypted — and the report (JSON, Markdown, SVG loss curves).

use super::TrainReport;
use super::data::Split;
use super::encrypted::{LocalKeyOwner, Trainer, encrypt_batches};
use super::he::{Engine, KeyOwner};
use super::layout::Layout;
use super::plain::{self, Softmax};
use super::schedule::Schedule;
use super::softmax::SoftmaxApprox;
use anyhow::Result;
use medblind_core::ckks::{Context, Encoder, Params, ParamsLiteral};
use std::fmt::Write as _;
use std::time::Instant;

/// The three runs on one dataset.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The dataset's name.
    pub dataset: String,
    /// Where the features came from (file, model and weights), empty when not known.
    pub source: String,
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
    /// The training report (weights decrypted by the key owner after training).
    pub report: TrainReport,
    /// The parameter preset.
    pub preset: String,
    /// Seconds to generate the cloud's keys.
    pub keygen_seconds: f64,
    /// Seconds to encrypt the train and validation sets.
    pub encrypt_seconds: f64,
    /// Rotation keys generated.
    pub rotation_keys: usize,
}

/// Trains `split` three ways (the encrypted run with `preset` unless `preset` is `None`).
///
/// # Errors
/// If the preset does not fit the packing or has too few levels.
pub fn compare(
    dataset: &str,
    split: &Split,
    schedule: &Schedule,
    preset: Option<&ParamsLiteral>,
    progress: &mut dyn FnMut(&str),
) -> Result<Comparison> {
    if !schedule.batch.is_power_of_two() {
        anyhow::bail!(
            "the batch size ({}) must be a power of two (the encrypted packing's block rows)",
            schedule.batch
        );
    }
    let classes = split.train.classes;
    let approx = SoftmaxApprox::standard(classes);
    if let Some(literal) = preset {
        // Refuse up front what the encrypted run would refuse after the plaintext runs.
        let params = Params::new(literal)?;
        Layout::new(1 << (literal.log_degree - 1), schedule.batch, classes, split.train.dim())?;
        let depth = Trainer::depth_with(&approx);
        if params.max_level() < depth {
            anyhow::bail!("one training step needs {depth} levels; preset {} has {}", literal.name, params.max_level());
        }
    }
    progress("plaintext training, exact softmax");
    let exact = plain::train(&split.train, &split.val, schedule, Softmax::Exact);
    progress("plaintext training, approximated softmax");
    let approximate = plain::train(&split.train, &split.val, schedule, Softmax::Approx(approx));
    let encrypted = preset.map(|literal| encrypted_run(split, schedule, literal, approx, progress)).transpose()?;
    Ok(Comparison {
        dataset: dataset.to_string(),
        source: String::new(),
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
    progress: &mut dyn FnMut(&str),
) -> Result<EncryptedRun> {
    let params = Params::new(literal)?;
    let ctx = Context::new(&params)?;
    let encoder = Encoder::new(ctx.log_degree())?;
    let layout = Layout::new(ctx.degree() / 2, schedule.batch, split.train.classes, split.train.dim())?;
    let steps = layout.rotation_steps();
    progress(&format!("hospital: {} rotation keys and the relinearization key ({})", steps.len(), literal.name));
    let start = Instant::now();
    let owner = KeyOwner::generate(&ctx, &encoder);
    let keys = owner.cloud_keys(&steps);
    let keygen_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    progress("hospital: encrypting the training and validation sets");
    let train = encrypt_batches(&owner, &layout, &split.train)?;
    let val = encrypt_batches(&owner, &layout, &split.val)?;
    let encrypt_seconds = start.elapsed().as_secs_f64();
    let engine = Engine::new(&ctx, &encoder, &keys);
    let trainer = Trainer::new(&engine, layout, approx)?;
    let mut service = LocalKeyOwner::new(&owner, &layout);
    progress("cloud: encrypted training");
    let (weights, mut report) = trainer.train(&train, &val, schedule, &mut service, progress)?;
    let blocks: Vec<Vec<f64>> = weights.iter().map(|w| owner.decrypt(w)).collect::<Result<_>>()?;
    report.weights = layout.unpack_weights(&blocks);
    Ok(EncryptedRun {
        report,
        preset: literal.name.to_string(),
        keygen_seconds,
        encrypt_seconds,
        rotation_keys: steps.len(),
    })
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

    /// The report as JSON.
    pub fn json(&self, split: &Split) -> String {
        let s = &self.schedule;
        let mut out = format!(
            "{{\"dataset\":\"{}\",\"source\":\"{}\",\"train\":{},\"val\":{},\"test\":{},\"dim\":{},\"classes\":{},\
             \"schedule\":{{\"learning_rate\":{},\"decay\":{},\"weight_decay\":{},\"momentum\":{},\"batch\":{},\"epochs\":{},\"patience\":{}}},\
             \"softmax\":{{\"bound\":{},\"squarings\":{},\"inverse_iterations\":{}}},\"runs\":[",
            self.dataset,
            self.source.replace('\\', "\\\\").replace('"', "\\\""),
            self.sizes[0],
            self.sizes[1],
            self.sizes[2],
            self.dim,
            self.classes,
            s.learning_rate,
            s.decay,
            s.weight_decay,
            s.momentum,
            s.batch,
            s.epochs,
            s.patience,
            self.approx.bound,
            self.approx.squarings,
            self.approx.inverse_iterations
        );
        for (i, ((name, r), (_, acc))) in self.runs().into_iter().zip(self.test_accuracies(split)).enumerate() {
            let losses: Vec<String> = r.log.iter().map(|l| format!("{:.6}", l.val_loss)).collect();
            let _ = write!(
                out,
                "{}{{\"name\":\"{name}\",\"test_accuracy\":{acc:.6},\"best_epoch\":{},\"steps\":{},\"refreshes\":{},\
                 \"seconds\":{:.3},\"val_loss\":[{}]}}",
                if i > 0 { "," } else { "" },
                r.best_epoch,
                r.steps,
                r.refreshes,
                r.seconds,
                losses.join(",")
            );
        }
        out.push(']');
        if let Some(e) = &self.encrypted {
            let _ = write!(
                out,
                ",\"preset\":\"{}\",\"keygen_seconds\":{:.3},\"encrypt_seconds\":{:.3},\"rotation_keys\":{}",
                e.preset, e.keygen_seconds, e.encrypt_seconds, e.rotation_keys
            );
        }
        out.push_str("}\n");
        out
    }

    /// The report as a Markdown section.
    pub fn markdown(&self, split: &Split) -> String {
        let s = &self.schedule;
        let mut out = format!(
            "### {} ({} train / {} validation / {} test rows, {} features + bias, {} classes)\n\n\
             {}Schedule: NAG, learning rate {} × {}^epoch, weight decay {}, momentum {}, batch {}, at most {} epochs, patience {}. \
             Softmax approximation: B = {}, k = {}, n = {}.\n\n\
             | run | test accuracy | best epoch | steps | ciphertexts refreshed by the key owner | training time |\n| --- | --- | --- | --- | --- | --- |\n",
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
            self.approx.squarings,
            self.approx.inverse_iterations
        );
        for ((name, r), (_, acc)) in self.runs().into_iter().zip(self.test_accuracies(split)) {
            let _ = writeln!(
                out,
                "| {name} | {:.2} % | {} | {} | {} | {:.2} s |",
                acc * 100.0,
                r.best_epoch + 1,
                r.steps,
                r.refreshes,
                r.seconds
            );
        }
        if let Some(e) = &self.encrypted {
            let plain_seconds = self.exact.seconds.max(1e-9);
            let _ = write!(
                out,
                "\nEncrypted with preset `{}`: {} rotation keys generated in {:.1} s, data encrypted in {:.1} s; \
                 encrypted / plaintext-exact training time = {:.0}×.\n",
                e.preset,
                e.rotation_keys,
                e.keygen_seconds,
                e.encrypt_seconds,
                e.report.seconds / plain_seconds
            );
        }
        out
    }

    /// Validation loss per epoch of each run, as an SVG line chart.
    pub fn svg(&self) -> String {
        let runs = self.runs();
        let (w, h, pad) = (640.0, 360.0, 48.0);
        let epochs = runs.iter().map(|(_, r)| r.log.len()).max().unwrap_or(1).max(2) as f64;
        let top = runs.iter().flat_map(|(_, r)| r.log.iter().map(|l| l.val_loss)).fold(0.0f64, f64::max).max(1e-9);
        let x = |e: f64| pad + e / (epochs - 1.0) * (w - 2.0 * pad);
        let y = |v: f64| h - pad - v / top * (h - 2.0 * pad);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"{pad}\" y=\"20\">{}: validation loss per epoch</text>\n\
             <line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"black\"/>\n\
             <text x=\"4\" y=\"{}\">{top:.3}</text><text x=\"4\" y=\"{}\">0</text><text x=\"{}\" y=\"{}\">epoch {}</text>\n",
            self.dataset,
            h - pad,
            w - pad,
            h - pad,
            h - pad,
            pad + 4.0,
            h - pad,
            w - pad - 40.0,
            h - pad + 20.0,
            epochs as usize
        );
        for (i, ((name, r), colour)) in runs.iter().zip(["#1f77b4", "#ff7f0e", "#2ca02c"]).enumerate() {
            let points: Vec<String> =
                r.log.iter().map(|l| format!("{:.1},{:.1}", x(l.epoch as f64), y(l.val_loss))).collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n\
                 <text x=\"{}\" y=\"{}\" fill=\"{colour}\">{name}</text>",
                points.join(" "),
                w - pad - 120.0,
                pad + 16.0 * i as f64
            );
        }
        out.push_str("</svg>\n");
        out
    }
}
