//! `medblind compare`: one labelled feature set trained plaintext-exact, plaintext-approx and encrypted with one
//! split and schedule ([`crate::train::compare`]), and its report written ([`crate::report`]).

use super::preset::PresetOrNone;
use super::schedule::{ScheduleArgs, TRAINING_DEFAULTS};
use crate::features::Features;
use crate::files::{self, FileError};
use crate::keystore;
use crate::report::ReportFiles;
use crate::train::compare::compare;
use crate::train::data::{self as dataset, Split};
use crate::train::observer::Console;
use crate::train::schedule::Schedule;
use medblind_core::ckks::ParamsLiteral;
use std::path::{Path, PathBuf};

/// Train one labelled feature set three ways — plaintext exact softmax, plaintext approximated softmax, encrypted —
/// with the same split and schedule; writes NAME.json, NAME.md and NAME.svg (validation loss and accuracy per epoch).
#[derive(clap::Args)]
pub struct Args {
    /// A feature file from `medblind extract` (.safetensors: its official train/val/test splits), or a CSV
    /// (.csv or .csv.gz; the last column the class label; split 60/15/25 by --seed, stratified).
    #[arg(long)]
    pub data: PathBuf,
    /// The report folder.
    #[arg(long)]
    pub out: PathBuf,
    /// The CKKS preset for the encrypted run (`none`: plaintext runs only).
    #[arg(long, default_value = "n65536-qp1626-s40")]
    pub preset: PresetOrNone,
    /// The encrypted run's working folder (new, empty, or an interrupted run's): the batches are encrypted
    /// there and read back one at a time (memory bounded by one batch), the training state is saved after
    /// every step, and the same command resumes an interrupted run; the folder holds the secret key and is
    /// removed when the run ends.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// The training schedule.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

impl Args {
    /// One dataset trained plaintext-exact, plaintext-approx and (unless the preset is `none`) encrypted — on a
    /// feature file's official splits, or a CSV split 60/15/25 (train / validation / test, stratified) by the
    /// schedule's seed — standardized on the training part; writes `NAME.json`, `NAME.md` and `NAME.svg` (each
    /// run's validation loss and accuracy per epoch, embedded in the Markdown) into the report folder (NAME: the
    /// dataset, or the CSV's name without extensions). With a working folder the encrypted run works there and
    /// resumes there when interrupted (see [`crate::train::compare`]).
    ///
    /// # Errors
    /// On unreadable data, or a schedule the packing cannot take.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let (data, schedule) = (&self.data, self.schedule.schedule(TRAINING_DEFAULTS));
        let (source, split) = if data.extension().is_some_and(|e| e == "safetensors") {
            let features = Features::load(data)?;
            let name = features.provenance.dataset.clone();
            (Source { name, description: features.describe(data), backbone: features.backbone() }, features.split())
        } else {
            let name = data.file_name().and_then(|n| n.to_str()).and_then(|n| n.split('.').next()).unwrap_or("data");
            let split = dataset::split(&dataset::load_csv(data)?, 0.15, 0.25, schedule.seed);
            let description = format!("`{}`, stratified split 60/15/25 with seed {}", data.display(), schedule.seed);
            (Source { name: name.to_string(), description, backbone: String::new() }, split)
        };
        compare_split(&source, split, &self.out, self.preset.0, self.work_dir.as_deref(), &schedule, force).map(drop)
    }
}

/// Where a comparison's data came from, for its reports.
pub struct Source {
    /// The dataset's name, which names the report's files.
    pub name: String,
    /// One line: the file and how it was made.
    pub description: String,
    /// The network and weights that made the features, empty for tables not made by one.
    pub backbone: String,
}

/// Trains `split` three ways (see [`Args::run`]; the encrypted run under `preset`, if any), writes the reports into
/// `out` and prints the Markdown. Report files already there are refused before any training, unless `force`.
///
/// # Errors
/// A schedule the packing cannot take, or file trouble.
pub fn compare_split(
    source: &Source,
    mut split: Split,
    out: &Path,
    preset: Option<&ParamsLiteral>,
    work_dir: Option<&Path>,
    schedule: &Schedule,
    force: bool,
) -> anyhow::Result<ReportFiles> {
    let name = &source.name;
    let written = ReportFiles::new(out, name);
    for path in [&written.markdown, &written.plot, &written.json] {
        files::check_output(path, force)?;
    }
    if let Some(literal) = preset {
        keystore::warn_if_insecure(literal);
    }
    dataset::standardize(&mut split);
    let mut console = Console::new(name.as_str());
    let mut result = compare(name, &split, schedule, preset, work_dir, &mut console)?;
    result.source.clone_from(&source.description);
    result.backbone.clone_from(&source.backbone);
    std::fs::create_dir_all(out).map_err(|e| FileError::Io { path: out.to_path_buf(), source: e })?;
    let markdown = written.write(&result, &split)?;
    crate::output::write(format_args!("{markdown}"))?;
    Ok(written)
}
