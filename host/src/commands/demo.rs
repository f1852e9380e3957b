//! `medblind demo`: the whole pipeline on BloodMNIST — locate or fetch the data, ViT features from the best
//! pretrained backbone found, then the head trained plaintext and encrypted with the same schedule — with a report.

use super::compare::{Source, compare_split};
use super::extract::{ExtractRequest, extract};
use super::preset::PresetOrNone;
use super::schedule::{DEMO_DEFAULTS, ScheduleArgs};
use super::source::{self, Backbone, FeatureSource};
use crate::features::Features;
use crate::files;
use crate::medmnist::{catalog, fetch};
use crate::vit::checkpoint;
use std::path::PathBuf;

/// The whole pipeline on BloodMNIST: find or fetch the data, ViT features, the head trained plaintext
/// (exact and approximated softmax) and encrypted with one schedule; prints the table, writes the report.
#[derive(clap::Args)]
pub struct Args {
    /// The dataset.
    #[arg(long, default_value = "bloodmnist")]
    pub dataset: String,
    /// The images and the network.
    #[command(flatten)]
    pub source: FeatureSource,
    /// Images per split (a quick run; see --all).
    #[arg(long, default_value_t = 512)]
    pub limit: usize,
    /// Every image of every split (hours for the encrypted run on 2 cores).
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
    /// The CKKS preset of the encrypted run (`none`: plaintext only).
    #[arg(long, default_value = "n65536-qp1626-s40")]
    pub preset: PresetOrNone,
    /// The training schedule.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// The report folder.
    #[arg(long, default_value = "medblind-demo")]
    pub out: PathBuf,
}

impl Args {
    /// Runs the demo; earlier reports in the report folder are replaced only with `force`.
    ///
    /// # Errors
    /// Missing data that cannot be downloaded, bad options, or any step's failure.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        self.dataset_file()?;
        let backbone = self.backbone()?;
        let features = extract(&ExtractRequest {
            dataset: &self.dataset,
            size: 28,
            data_dir: self.source.data_dir.as_deref(),
            backbone: &backbone,
            token: self.source.token,
            limit: (!self.all).then_some(self.limit),
            out: None,
            force: false,
        })?;
        let loaded = Features::load(&features)?;
        eprintln!("demo: features from {}", loaded.backbone());
        let source = Source {
            name: loaded.provenance.dataset.clone(),
            description: loaded.describe(&features),
            backbone: loaded.backbone(),
        };
        let schedule = self.schedule.schedule(DEMO_DEFAULTS);
        let report = compare_split(&source, loaded.split(), &self.out, self.preset.0, None, &schedule, force)?;
        eprintln!(
            "demo: done. Report: {} (the table above), {} (its plot of validation loss and accuracy per epoch), {} \
             (the figures as JSON)",
            report.markdown.display(),
            report.plot.display(),
            report.json.display()
        );
        Ok(())
    }

    /// The dataset file: found locally, else downloaded from Zenodo.
    fn dataset_file(&self) -> anyhow::Result<()> {
        let dataset = crate::medmnist::dataset(&self.dataset)
            .ok_or_else(|| anyhow::anyhow!("unknown dataset `{}` (one of: {})", self.dataset, catalog::names()))?;
        if fetch::locate(dataset, 28, self.source.data_dir.as_deref()).is_none() {
            eprintln!("demo: {} not found locally; downloading it from Zenodo", dataset.file_name(28));
            fetch::fetch(dataset, 28, &fetch::cache_dir().join("medmnist"), fetch::ZENODO)?;
        }
        Ok(())
    }

    /// The backbone: the one asked for, else the best found or downloaded; offline without any weights, a
    /// timm-initialized DeiT-tiny, announced loudly (its features exercise the pipeline but are not pretrained
    /// features, and every report names them so).
    fn backbone(&self) -> anyhow::Result<Backbone> {
        let FeatureSource { model, weights, .. } = &self.source;
        match source::choose_backbone(model.as_deref(), weights.as_deref()) {
            Ok(backbone) => Ok(backbone),
            Err(e) if weights.is_none() => {
                let name = model.as_deref().unwrap_or(source::PREFERENCE[source::PREFERENCE.len() - 1]);
                let model = crate::vit::model(name).ok_or(e)?;
                let path =
                    fetch::cache_dir().join("models").join(format!("{}-timm-init-seed1.safetensors", model.name));
                eprintln!("demo: WARNING: no pretrained weights found or downloadable.");
                eprintln!(
                    "demo: WARNING: using RANDOMLY INITIALIZED {} weights ({}); accuracy is not that of pretrained \
                     features.",
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
}
