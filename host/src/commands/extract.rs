//! `medblind extract`: ViT features of a MedMNIST dataset into a feature file, resumable.

use super::data::load_dataset;
use super::source::{Backbone, FeatureSource, choose_backbone, load_model};
use crate::features::{self, Features, Provenance};
use crate::files::{self, FileError};
use crate::progress;
use crate::vit::Token;
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Hospital: ViT features of a MedMNIST dataset into a feature file (safetensors, with provenance); an
/// interrupted extraction resumes where it stopped.
#[derive(clap::Args)]
pub struct Args {
    /// The dataset (dermamnist, bloodmnist, organamnist, organcmnist, organsmnist).
    #[arg(long)]
    pub dataset: String,
    /// Image side: 28, 64, 128 or 224.
    #[arg(long, default_value_t = 28)]
    pub size: usize,
    /// The images and the network.
    #[command(flatten)]
    pub source: FeatureSource,
    /// Only the first LIMIT images of each split.
    #[arg(long)]
    pub limit: Option<usize>,
    /// The feature file to write (default: in the cache; its path is printed).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl Args {
    /// Extracts the features and prints the feature file's path.
    ///
    /// # Errors
    /// See [`choose_backbone`] and [`extract`].
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let FeatureSource { data_dir, model, weights, token } = self.source;
        let backbone = choose_backbone(model.as_deref(), weights.as_deref())?;
        extract(&ExtractRequest {
            dataset: &self.dataset,
            size: self.size,
            data_dir: data_dir.as_deref(),
            backbone: &backbone,
            token,
            limit: self.limit,
            out: self.out.as_deref(),
            force,
        })
        .map(drop)
    }
}

/// What `medblind extract` is asked to do.
pub struct ExtractRequest<'a> {
    /// Dataset name.
    pub dataset: &'a str,
    /// Image side.
    pub size: usize,
    /// Where the dataset file is, if not in the default places.
    pub data_dir: Option<&'a Path>,
    /// The network and its weights.
    pub backbone: &'a Backbone,
    /// Which token is the feature.
    pub token: Token,
    /// Only the first images of each split.
    pub limit: Option<usize>,
    /// Output file (default: the feature cache).
    pub out: Option<&'a Path>,
    /// Whether another file at `out` may be replaced.
    pub force: bool,
}

/// `medblind extract`: ViT features of a dataset into a feature file (reused when the same inputs were
/// already extracted there). Returns the file's path.
///
/// # Errors
/// Missing or damaged data or weights, a token the model does not have, or file trouble.
pub fn extract(request: &ExtractRequest) -> anyhow::Result<PathBuf> {
    let (model, weights) = (request.backbone.model, &request.backbone.weights);
    if !request.token.fits(model) {
        bail!("--token dist needs a distilled model (e.g. deit_tiny_distilled), not {}", model.name);
    }
    if request.limit == Some(0) {
        bail!("--limit must be positive");
    }
    let data = load_dataset(request.dataset, request.size, request.data_dir)?;
    let (vit, weights_md5, weights_origin) = load_model(model, weights)?;
    let provenance = Provenance {
        dataset: data.dataset.name.to_string(),
        dataset_md5: data.md5.clone(),
        classes: data.dataset.classes.len(),
        model: model.name.to_string(),
        weights: weights.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        weights_md5,
        weights_origin: weights_origin.to_string(),
        token: format!("{:?}", request.token).to_lowercase(),
        limit: request.limit,
    };
    eprintln!(
        "{}: {} (MD5 {}); {} {} weights {} (MD5 {}), {:?} token",
        data.dataset.name,
        data.path.display(),
        provenance.dataset_md5,
        model.name,
        provenance.weights_origin,
        weights.display(),
        provenance.weights_md5,
        request.token
    );
    let out = request.out.map_or_else(|| features::cache_dir().join(provenance.cache_name()), Path::to_path_buf);
    if out.is_file() && Features::load(&out).is_ok_and(|f| f.provenance == provenance) {
        eprintln!("features already extracted: {}", out.display());
        return Ok(out);
    }
    if request.out.is_some() {
        files::check_output(&out, request.force)?;
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?;
    }
    let total: usize = data.splits.iter().map(|s| request.limit.map_or(s.len(), |l| l.min(s.len()))).sum();
    eprintln!("extracting the features of {total} images into {}", out.display());
    let bar = progress::items(total as u64, format!("{} {}", model.name, data.dataset.name), "img");
    let log = progress::Log::new(total, "images");
    let (start, computed) = (Instant::now(), AtomicU64::new(0));
    let resume = out.with_extension("part");
    let features = features::extract(&data, &vit, request.token, provenance, &resume, &|n, resumed| {
        bar.inc(n);
        log.add(n);
        if !resumed {
            computed.fetch_add(n, Ordering::Relaxed);
        }
    })?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    features.save(&out)?;
    std::fs::remove_dir_all(&resume).map_err(|source| FileError::Io { path: resume.clone(), source })?;
    let computed = computed.into_inner();
    let resumed = features.len() as u64 - computed;
    eprintln!(
        "{}: {computed} images through {} in {seconds:.1} s ({:.1} images/s, {} threads){}",
        data.dataset.name,
        model.name,
        computed as f64 / seconds,
        rayon::current_num_threads(),
        if resumed > 0 { format!("; {resumed} resumed from an interrupted run") } else { String::new() }
    );
    crate::outln!("{}", out.display())?;
    Ok(out)
}
