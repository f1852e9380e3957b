//! Hospital commands for the data: fetching and inspecting MedMNIST files, DeiT weights, feature extraction.

use crate::deit::{self, DeiT, Token, checkpoint};
use crate::download;
use crate::features::{self, Features, Provenance};
use crate::files::{self, FileError};
use crate::medmnist::{self, MedMnist, catalog, fetch};
use crate::progress;
use anyhow::{Context as _, anyhow, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn dataset(name: &str) -> anyhow::Result<&'static medmnist::Dataset> {
    medmnist::dataset(name).ok_or_else(|| anyhow!("unknown dataset `{name}` (one of: {})", catalog::names()))
}

fn check_size(size: usize) -> anyhow::Result<()> {
    if !catalog::SIZES.contains(&size) {
        bail!("--size {size}: MedMNIST images are {:?} pixels", catalog::SIZES);
    }
    Ok(())
}

/// `medblind data fetch`: downloads (or finds, already verified) a dataset file and prints its path.
///
/// # Errors
/// Unknown dataset or size, network, checksum or file trouble.
pub fn fetch(name: &str, size: usize, dir: Option<&Path>, zenodo: &str) -> anyhow::Result<()> {
    let dataset = dataset(name)?;
    check_size(size)?;
    let dir = dir.map_or_else(|| fetch::cache_dir().join("medmnist"), Path::to_path_buf);
    let path = fetch::fetch(dataset, size, &dir, zenodo).with_context(|| {
        format!("fetching {} (a copy downloaded by hand can be used with --data-dir)", dataset.file_name(size))
    })?;
    crate::outln!("{}", path.display())?;
    Ok(())
}

/// Finds a dataset file (see [`fetch::search_dirs`]) and loads it.
///
/// # Errors
/// The file is nowhere to be found (the message lists where it was looked for), or is damaged.
pub fn load_dataset(name: &str, size: usize, data_dir: Option<&Path>) -> anyhow::Result<MedMnist> {
    let dataset = dataset(name)?;
    check_size(size)?;
    let Some(path) = fetch::locate(dataset, size, data_dir) else {
        let dirs: Vec<String> = fetch::search_dirs(data_dir).iter().map(|d| d.display().to_string()).collect();
        bail!(
            "{} not found in {}; run `medblind data fetch {name}{}` or pass --data-dir",
            dataset.file_name(size),
            dirs.join(", "),
            if size == 28 { String::new() } else { format!(" --size {size}") }
        );
    };
    Ok(MedMnist::load(&path, dataset)?)
}

/// `medblind data info`: loads a dataset and prints what it holds.
///
/// # Errors
/// See [`load_dataset`].
pub fn info(name: &str, size: usize, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let data = load_dataset(name, size, data_dir)?;
    let d = data.dataset;
    let [train, val, test] = &data.splits;
    crate::outln!(
        "{} ({}), {} classes, {}x{} {}",
        d.title,
        d.licence,
        d.classes.len(),
        train.side,
        train.side,
        if d.channels == 3 { "RGB" } else { "gray" }
    )?;
    crate::outln!("train / val / test: {} / {} / {}", train.len(), val.len(), test.len())?;
    let release =
        data.release().map_or("not a pinned 28x28 release".to_string(), |r| format!("official {} file", r.version));
    crate::outln!("MD5 {} ({release})", data.md5)?;
    for (i, class) in d.classes.iter().enumerate() {
        let count = train.labels.iter().filter(|&&l| l as usize == i).count();
        crate::outln!("  {i:>2} {class}: {count} training images")?;
    }
    Ok(())
}

/// Where weights for `model` are looked for before downloading: `../shared/models/` (beside a checkout), then
/// the cache.
fn weight_candidates(model: &deit::Config) -> Vec<PathBuf> {
    let shared = Path::new("../shared/models");
    vec![
        shared.join(format!("{}.safetensors", model.name)),
        shared.join(model.name).join("model.safetensors"),
        fetch::cache_dir().join("models").join(format!("{}.safetensors", model.name)),
    ]
}

/// The weights file for `model`: `explicit` if given, else a local copy, else a download from the Hugging Face
/// hub (`$HF_ENDPOINT`, default `https://huggingface.co`) into the cache.
///
/// # Errors
/// `explicit` does not exist, or nothing local and the download failed (the message says to pass `--weights`).
pub fn locate_weights(model: &deit::Config, explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("{}: no such weights file", path.display());
        }
        return Ok(path.to_path_buf());
    }
    let candidates = weight_candidates(model);
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into());
    let url = format!("{}/{}/resolve/main/model.safetensors", endpoint.trim_end_matches('/'), model.hub_repo());
    let target = candidates.last().expect("the cache is a candidate");
    let dir = target.parent().expect("cache files have a folder");
    std::fs::create_dir_all(dir).map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?;
    let part = target.with_extension("safetensors.part");
    eprintln!("downloading {url}");
    download::resume(&download::agent(), &url, &part)
        .with_context(|| format!("no local {} weights; pass --weights PATH (timm safetensors)", model.name))?;
    std::fs::rename(&part, target).map_err(|source| FileError::Io { path: target.clone(), source })?;
    Ok(target.clone())
}

/// Loads a DeiT from a weights file, naming the file in errors.
///
/// # Errors
/// The file cannot be read or does not fit the model.
pub fn load_model(model: deit::Config, weights: &Path) -> anyhow::Result<(DeiT, String)> {
    let bytes = files::read(weights)?;
    let md5 = medmnist::md5_file(weights)?;
    let deit = DeiT::from_safetensors(&bytes, model).with_context(|| format!("{}", weights.display()))?;
    Ok((deit, md5))
}

/// What `medblind extract` is asked to do.
pub struct ExtractRequest<'a> {
    /// Dataset name.
    pub dataset: &'a str,
    /// Image side.
    pub size: usize,
    /// Where the dataset file is, if not in the default places.
    pub data_dir: Option<&'a Path>,
    /// DeiT variant name.
    pub model: &'a str,
    /// Weights file, if not in the default places.
    pub weights: Option<&'a Path>,
    /// Which token is the feature.
    pub token: Token,
    /// Only the first images of each split.
    pub limit: Option<usize>,
    /// Output file (default: the feature cache).
    pub out: Option<&'a Path>,
}

/// `medblind extract`: DeiT features of a dataset into a feature file (reused when the same inputs were
/// already extracted there). Returns the file's path.
///
/// # Errors
/// Missing or damaged data or weights, a token the model does not have, or file trouble.
pub fn extract(request: &ExtractRequest) -> anyhow::Result<PathBuf> {
    let model = deit::model(request.model)
        .ok_or_else(|| anyhow!("unknown model `{}` (one of: {})", request.model, deit::config::names()))?;
    if request.token == Token::Dist && !model.distilled {
        bail!("--token dist needs a distilled model (e.g. deit_tiny_distilled), not {}", model.name);
    }
    if request.limit == Some(0) {
        bail!("--limit must be positive");
    }
    let data = load_dataset(request.dataset, request.size, request.data_dir)?;
    let weights = locate_weights(&model, request.weights)?;
    let (deit, weights_md5) = load_model(model, &weights)?;
    let provenance = Provenance {
        dataset: data.dataset.name.to_string(),
        dataset_md5: data.md5.clone(),
        classes: data.dataset.classes.len(),
        model: model.name.to_string(),
        weights: weights.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        weights_md5,
        token: format!("{:?}", request.token).to_lowercase(),
        limit: request.limit,
    };
    let out = request.out.map_or_else(|| features::cache_dir().join(provenance.cache_name()), Path::to_path_buf);
    if out.is_file() && Features::load(&out).is_ok_and(|f| f.provenance == provenance) {
        eprintln!("features already extracted: {}", out.display());
        return Ok(out);
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?;
    }
    let total: usize = data.splits.iter().map(|s| request.limit.map_or(s.len(), |l| l.min(s.len()))).sum();
    let bar = progress::items(total as u64, format!("{} {}", model.name, data.dataset.name), "img");
    let start = Instant::now();
    let features = features::extract(&data, &deit, request.token, provenance, &|n| bar.inc(n));
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    features.save(&out)?;
    eprintln!(
        "{}: {} images through {} in {seconds:.1} s ({:.1} images/s, {} threads)",
        data.dataset.name,
        features.len(),
        model.name,
        features.len() as f64 / seconds,
        rayon::current_num_threads()
    );
    crate::outln!("{}", out.display())?;
    Ok(out)
}

/// `medblind weights init`: a randomly initialized checkpoint (timm's initialization) in timm's layout.
///
/// # Errors
/// Unknown model or file trouble.
pub fn init_weights(model: &str, seed: u64, out: &Path) -> anyhow::Result<()> {
    let model =
        deit::model(model).ok_or_else(|| anyhow!("unknown model `{model}` (one of: {})", deit::config::names()))?;
    files::write_atomic(out, &checkpoint::timm_init(model, seed), false)?;
    crate::outln!("{}", out.display())?;
    Ok(())
}
