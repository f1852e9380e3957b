//! `medblind demo`: the whole pipeline on BloodMNIST — locate or fetch the data, ViT features from the best
//! pretrained backbone found, then the head trained plaintext and encrypted with the same schedule — with a report.

use super::data::{self, Backbone, ExtractRequest};
use crate::features::Features;
use crate::files;
use crate::medmnist::{catalog, fetch};
use crate::train::schedule::Schedule;
use crate::vit::{Token, checkpoint};
use std::path::PathBuf;

/// What the demo runs on.
pub struct DemoOptions {
    /// The dataset (BloodMNIST by default).
    pub dataset: String,
    /// A folder holding the dataset's `.npz`.
    pub data_dir: Option<PathBuf>,
    /// The network (`None`: the best one with weights at hand, see [`data::choose_backbone`]).
    pub model: Option<String>,
    /// The weights file, if not found in the default places.
    pub weights: Option<PathBuf>,
    /// Which tokens make the features.
    pub token: Token,
    /// Images per split (`None`: all).
    pub limit: Option<usize>,
    /// The CKKS preset of the encrypted run.
    pub preset: String,
    /// The training schedule.
    pub schedule: Schedule,
    /// The report folder.
    pub out: PathBuf,
    /// Whether earlier reports in it may be replaced.
    pub force: bool,
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

/// The backbone: the one asked for, else the best found or downloaded; offline without any weights, a
/// timm-initialized DeiT-tiny, announced loudly (its features exercise the pipeline but are not pretrained
/// features, and every report names them so).
fn backbone(options: &DemoOptions) -> anyhow::Result<Backbone> {
    match data::choose_backbone(options.model.as_deref(), options.weights.as_deref()) {
        Ok(backbone) => Ok(backbone),
        Err(e) if options.weights.is_none() => {
            let name = options.model.as_deref().unwrap_or(data::PREFERENCE[data::PREFERENCE.len() - 1]);
            let model = crate::vit::model(name).ok_or(e)?;
            let path = fetch::cache_dir().join("models").join(format!("{}-timm-init-seed1.safetensors", model.name));
            eprintln!("demo: WARNING: no pretrained weights found or downloadable.");
            eprintln!(
                "demo: WARNING: using RANDOMLY INITIALIZED {} weights ({}); accuracy is not that of pretrained features.",
                model.name,
                path.display()
            );
            if !path.is_file() {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| files::FileError::Io { path: dir.to_path_buf(), source })?;
                }
                files::write_atomic(&path, &checkpoint::timm_init(model, 1), false)?;
            }
            Ok(Backbone { model, weights: path })
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
    let backbone = backbone(options)?;
    let features = data::extract(&ExtractRequest {
        dataset: &options.dataset,
        size: 28,
        data_dir: options.data_dir.as_deref(),
        backbone: &backbone,
        token: options.token,
        limit: options.limit,
        out: None,
        force: false,
    })?;
    let loaded = Features::load(&features)?;
    eprintln!("demo: features from {}", loaded.backbone());
    let source = super::Source {
        name: loaded.provenance.dataset.clone(),
        description: loaded.describe(&features),
        backbone: loaded.backbone(),
    };
    let report = super::compare_split(
        &source,
        loaded.split(),
        &options.out,
        &options.preset,
        None,
        &options.schedule,
        options.force,
    )?;
    eprintln!(
        "demo: done. Report: {} (the table above), {} (its plot of validation loss and accuracy per epoch), {} \
         (the figures as JSON)",
        report.markdown.display(),
        report.plot.display(),
        report.json.display()
    );
    Ok(report.markdown)
}
