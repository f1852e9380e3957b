//! Hospital commands for the data: fetching and inspecting MedMNIST files, DeiT weights, feature extraction.

use crate::download;
use crate::features::{self, Features, Provenance};
use crate::files::{self, FileError};
use crate::medmnist::{self, MedMnist, catalog, fetch};
use crate::progress;
use crate::vit::{self, Token, Vit, checkpoint};
use anyhow::{Context as _, anyhow, bail};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Where weights for `model` are looked for before downloading: `../shared/models/` (beside a checkout: the
/// model's name or its hub name, e.g. `dinov2-small/model.safetensors`), then the cache.
fn weight_candidates(model: &vit::Config) -> Vec<PathBuf> {
    let shared = Path::new("../shared/models");
    let repo = model.hub_repo();
    let hub_name = repo.rsplit('/').next().unwrap_or(model.name);
    vec![
        shared.join(format!("{}.safetensors", model.name)),
        shared.join(model.name).join("model.safetensors"),
        shared.join(hub_name).join("model.safetensors"),
        fetch::cache_dir().join("models").join(format!("{}.safetensors", model.name)),
    ]
}

/// The weights file for `model`: `explicit` if given, else a local copy, else a download from the Hugging Face
/// hub (`$HF_ENDPOINT`, default `https://huggingface.co`) into the cache.
///
/// # Errors
/// `explicit` does not exist, or nothing local and the download failed (the message says to pass `--weights`).
pub fn locate_weights(model: &vit::Config, explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
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
        .with_context(|| format!("no local {} weights; pass --weights PATH (safetensors)", model.name))?;
    std::fs::rename(&part, target).map_err(|source| FileError::Io { path: target.clone(), source })?;
    Ok(target.clone())
}

/// Loads a model from a weights file, naming the file in errors; also returns the file's MD5 and its origin
/// ([`features::RANDOM`] for checkpoints that say they were written by [`checkpoint::timm_init`], else
/// `pretrained`).
///
/// # Errors
/// The file cannot be read or does not fit the model.
pub fn load_model(model: vit::Config, weights: &Path) -> anyhow::Result<(Vit, String, &'static str)> {
    let bytes = files::read(weights)?;
    let md5 = medmnist::md5_file(weights)?;
    let vit = Vit::from_safetensors(&bytes, model).with_context(|| format!("{}", weights.display()))?;
    let origin = match checkpoint::is_random_init(&bytes) {
        true => features::RANDOM,
        false => "pretrained",
    };
    Ok((vit, md5, origin))
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

/// Networks tried when none is named, best features first.
pub const PREFERENCE: [&str; 2] = ["dinov2_small", "deit_tiny"];

/// A network with the weights file to load.
pub struct Backbone {
    /// The architecture.
    pub model: vit::Config,
    /// Its weights.
    pub weights: PathBuf,
}

fn known_model(name: &str) -> anyhow::Result<vit::Config> {
    vit::model(name).ok_or_else(|| anyhow!("unknown model `{name}` (one of: {})", vit::config::names()))
}

/// The network to extract features with: `model` with `weights` (see [`locate_weights`]) when named, else the
/// first of [`PREFERENCE`] whose weights are found locally, else the first that downloads.
///
/// # Errors
/// An unknown model, a missing `weights` file, or no weights found or downloadable for any candidate.
pub fn choose_backbone(model: Option<&str>, weights: Option<&Path>) -> anyhow::Result<Backbone> {
    if let Some(name) = model {
        let model = known_model(name)?;
        return Ok(Backbone { model, weights: locate_weights(&model, weights)? });
    }
    let candidates: Vec<vit::Config> = PREFERENCE.iter().map(|n| known_model(n)).collect::<anyhow::Result<_>>()?;
    if let Some((model, weights)) =
        candidates.iter().find_map(|m| weight_candidates(m).into_iter().find(|p| p.is_file()).map(|p| (*m, p)))
    {
        return Ok(Backbone { model, weights });
    }
    let mut failures = Vec::new();
    for model in candidates {
        match locate_weights(&model, None) {
            Ok(weights) => return Ok(Backbone { model, weights }),
            Err(e) => failures.push(format!("{}: {}", model.name, crate::output::error_line(&e))),
        }
    }
    bail!("no pretrained weights found or downloadable ({}); pass --model and --weights", failures.join("; "))
}

/// `medblind weights init`: a randomly initialized checkpoint (timm's initialization) in timm's layout.
///
/// # Errors
/// Unknown model or file trouble.
pub fn init_weights(model: &str, seed: u64, out: &Path, force: bool) -> anyhow::Result<()> {
    let model =
        vit::model(model).ok_or_else(|| anyhow!("unknown model `{model}` (one of: {})", vit::config::names()))?;
    files::write_output(out, &checkpoint::timm_init(model, seed), force)?;
    crate::outln!("{}", out.display())?;
    Ok(())
}
