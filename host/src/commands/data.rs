//! `medblind data`: MedMNIST dataset files — fetching one from Zenodo, finding and describing one.

use crate::medmnist::{self, MedMnist, catalog, fetch};
use anyhow::{Context as _, anyhow, bail};
use std::path::{Path, PathBuf};

/// Hospital: MedMNIST dataset files.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Download a dataset from the official MedMNIST Zenodo record (MD5-checked, resumable); prints its path.
    Fetch {
        /// The dataset.
        name: String,
        /// Image side: 28, 64, 128 or 224.
        #[arg(long, default_value_t = 28)]
        size: usize,
        /// The folder to download into (default: the cache, $MEDBLIND_CACHE_DIR or ~/.cache/medblind).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A Zenodo-compatible server (a mirror).
        #[arg(long, default_value = fetch::ZENODO)]
        zenodo: String,
    },
    /// Find a dataset file, check it and print its splits and classes.
    Info {
        /// The dataset.
        name: String,
        /// Image side: 28, 64, 128 or 224.
        #[arg(long, default_value_t = 28)]
        size: usize,
        /// A folder holding the dataset's .npz.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

impl Args {
    /// Runs `data fetch` or `data info`.
    ///
    /// # Errors
    /// Unknown dataset or size; network, checksum or file trouble; a dataset file nowhere to be found.
    pub fn run(self) -> anyhow::Result<()> {
        match self.action {
            Action::Fetch { name, size, dir, zenodo } => fetch(&name, size, dir.as_deref(), &zenodo),
            Action::Info { name, size, data_dir } => info(&name, size, data_dir.as_deref()),
        }
    }
}

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
fn fetch(name: &str, size: usize, dir: Option<&Path>, zenodo: &str) -> anyhow::Result<()> {
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
fn info(name: &str, size: usize, data_dir: Option<&Path>) -> anyhow::Result<()> {
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
