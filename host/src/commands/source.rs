//! Where `demo` and `extract` find the images and the ViT that turns them into features: the options, and the
//! choice of a backbone (a network with its weights file) from them.

use crate::download;
use crate::features;
use crate::files::{self, FileError};
use crate::medmnist::{self, fetch};
use crate::vit::{self, Token, Vit, checkpoint};
use anyhow::{Context as _, anyhow, bail};
use std::path::{Path, PathBuf};

/// Where `demo` and `extract` find the images and the ViT that turns them into features.
#[derive(clap::Args)]
pub struct FeatureSource {
    /// A folder holding the dataset's .npz (default: $MEDBLIND_DATA_DIR, ../shared/medmnist, the cache).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The network: dinov2_small, dinov2_base, or a DeiT by timm name (`deit_tiny`, `deit_small`, ...)
    /// [default: the first of dinov2_small, deit_tiny with weights found locally, else downloaded].
    #[arg(long)]
    pub model: Option<String>,
    /// The weights (safetensors in timm's or Hugging Face's layout); default: ../shared/models, the cache, else
    /// the Hugging Face hub.
    #[arg(long, requires = "model")]
    pub weights: Option<PathBuf>,
    /// The features: the class token, the mean of the patch tokens, both concatenated, or DeiT's
    /// distillation token.
    #[arg(long, value_enum, default_value_t = Token::Cls)]
    pub token: Token,
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

/// Networks tried when none is named, best features first.
pub const PREFERENCE: [&str; 2] = ["dinov2_small", "deit_tiny"];

/// A network with the weights file to load.
pub struct Backbone {
    /// The architecture.
    pub model: vit::Config,
    /// Its weights.
    pub weights: PathBuf,
}

/// The network named `name`.
///
/// # Errors
/// If no network has that name (the message lists those there are).
pub fn known_model(name: &str) -> anyhow::Result<vit::Config> {
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
