//! `medblind demo`: the whole pipeline on BloodMNIST — locate or fetch the data, DeiT features, then the head
//! trained plaintext and encrypted with the same schedule — with a report.

use super::data::{self, ExtractRequest};
use crate::deit::{self, Token, checkpoint};
use crate::features::Features;
use crate::files;
use crate::medmnist::{catalog, fetch};
use crate::train::schedule::Schedule;
use std::path::PathBuf;

/// What the demo runs on.
pub struct DemoOptions {
    /// The dataset (BloodMNIST by default).
    pub dataset: String,
    /// A folder holding the dataset's `.npz`.
    pub data_dir: Option<PathBuf>,
    /// The DeiT variant.
    pub model: String,
    /// The weights file, if not found in the default places.
    pub weights: Option<PathBuf>,
    /// Images per split (`None`: all).
    pub limit: Option<usize>,
    /// The CKKS preset of the encrypted run.
    pub preset: String,
    /// The training schedule.
    pub schedule: Schedule,
    /// The report folder.
    pub out: PathBuf,
}

/// The dataset file: found locally, else downloaded from Zenodo.
fn dataset_file(options: &DemoOptions) -> anyhow::Result<()> {
    let dataset = crate::medmnist::dataset(&options.dataset)
        .ok_or_else(|| anyhow::anyhow!("unknown dataset `{}` (one of: {})", options.dataset, catalog::names()))?;
    if fetch::locate(dataset, 28, options.data_dir.as_deref()).is_none() {
        eprintln!("demo: {} not found locally; downloading it from Zenodo", dataset.file_name(28));
        fetch::fetch(dataset, 28, &fetch::cache_dir().join("medmnist"), fetch::ZENODO)?;
    }
    Ok(())
}

/// The weights: found or downloaded; offline without any, a timm-initialized checkpoint, announced loudly
/// (its features exercise the pipeline but are not pretrained features, and the report names the file).
fn weights_file(options: &DemoOptions) -> anyhow::Result<PathBuf> {
    let model = deit::model(&options.model)
        .ok_or_else(|| anyhow::anyhow!("unknown model `{}` (one of: {})", options.model, deit::config::names()))?;
    match data::locate_weights(&model, options.weights.as_deref()) {
        Ok(path) => Ok(path),
        Err(e) if options.weights.is_none() => {
            let path = fetch::cache_dir().join("models").join(format!("{}-timm-init-seed1.safetensors", model.name));
            eprintln!("demo: WARNING: no pretrained {} weights ({e:#}).", model.name);
            eprintln!(
                "demo: WARNING: using RANDOMLY INITIALIZED weights ({}); accuracy is not that of pretrained features.",
                path.display()
            );
            if !path.is_file() {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| files::FileError::Io { path: dir.to_path_buf(), source })?;
                }
                files::write_atomic(&path, &checkpoint::timm_init(model, 1), false)?;
            }
            Ok(path)
        }
        Err(e) => Err(e),
    }
}

/// Runs the demo and returns the report's path.
///
/// # Errors
/// Missing data that cannot be downloaded, bad options, or any step's failure.
pub fn demo(options: &DemoOptions) -> anyhow::Result<PathBuf> {
    dataset_file(options)?;
    let weights = weights_file(options)?;
    let features = data::extract(&ExtractRequest {
        dataset: &options.dataset,
        size: 28,
        data_dir: options.data_dir.as_deref(),
        model: &options.model,
        weights: Some(&weights),
        token: Token::Cls,
        limit: options.limit,
        out: None,
    })?;
    let loaded = Features::load(&features)?;
    let report = super::compare_split(
        &loaded.provenance.dataset,
        &loaded.describe(&features),
        loaded.split(),
        &options.out,
        &options.preset,
        None,
        &options.schedule,
    )?;
    eprintln!(
        "demo: report {} (validation loss and accuracy per epoch: {})",
        report.markdown.display(),
        report.plot.display()
    );
    Ok(report.markdown)
}
