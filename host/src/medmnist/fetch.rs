//! Finding MedMNIST files on disk, and downloading them from the official Zenodo records.
//!
//! Where files are looked for, in order: `--data-dir`, `$MEDBLIND_DATA_DIR`, `../shared/medmnist` (beside a
//! MedBlind checkout), then the download cache (`$MEDBLIND_CACHE_DIR`, else `$XDG_CACHE_HOME/medblind`, else
//! `~/.cache/medblind`), under `medmnist/`.
//!
//! Downloads go to `<cache>/medmnist/<file>.part`, resume from there with an HTTP range request, are checked
//! against the MD5 (pinned for 28×28 files, Zenodo's published checksum for the larger MedMNIST+ sizes), and only
//! then renamed into place, so a file under its official name is always complete and verified.

use super::catalog::{Dataset, RECORD_V3};
use crate::download::{self, FetchError};
use crate::files::FileError;
use std::fs;
use std::path::{Path, PathBuf};

/// Zenodo's public address; a Zenodo-compatible mirror can stand in for it.
pub const ZENODO: &str = "https://zenodo.org";

/// The folders searched for `.npz` files, in order (see the module doc).
pub fn search_dirs(data_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = data_dir.map(Path::to_path_buf).into_iter().collect();
    dirs.extend(std::env::var_os("MEDBLIND_DATA_DIR").map(PathBuf::from));
    dirs.push(PathBuf::from("../shared/medmnist"));
    dirs.push(cache_dir().join("medmnist"));
    dirs
}

/// The download cache.
pub fn cache_dir() -> PathBuf {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("MEDBLIND_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("medblind")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/medblind")))
        .unwrap_or_else(|| PathBuf::from(".medblind-cache"))
}

/// The first existing file for `dataset` at `size` in the search folders.
pub fn locate(dataset: &Dataset, size: usize, data_dir: Option<&Path>) -> Option<PathBuf> {
    let name = dataset.file_name(size);
    search_dirs(data_dir).into_iter().map(|d| d.join(&name)).find(|p| p.is_file())
}

/// The checksums a download may have: the pinned ones for 28×28, Zenodo's published one otherwise.
fn expected_md5s(agent: &ureq::Agent, zenodo: &str, dataset: &Dataset, size: usize) -> Result<Vec<String>, FetchError> {
    if size == 28 {
        return Ok(dataset.releases.iter().map(|r| r.md5.to_string()).collect());
    }
    let url = format!("{zenodo}/api/records/{RECORD_V3}");
    let http = |message: String| FetchError::Http { url: url.clone(), message };
    let mut response = agent.get(&url).call().map_err(|e| http(e.to_string()))?;
    if response.status() != 200 {
        return Err(http(format!("status {}", response.status())));
    }
    let text = response.body_mut().read_to_string().map_err(|e| http(e.to_string()))?;
    let record: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| http(format!("unreadable record metadata ({e})")))?;
    let name = dataset.file_name(size);
    let files = record["files"].as_array().ok_or_else(|| http("record metadata lists no files".into()))?;
    let file = files.iter().find(|f| f["key"] == name.as_str()).ok_or_else(|| http(format!("record has no {name}")))?;
    let md5 = file["checksum"].as_str().and_then(|c| c.strip_prefix("md5:"));
    Ok(vec![md5.ok_or_else(|| http(format!("record gives no MD5 for {name}")))?.to_string()])
}

/// Downloads `dataset` at `size` into `dir` from a Zenodo(-compatible) server, resuming a partial download,
/// and returns the verified file. An existing verified file is returned as it is.
///
/// # Errors
/// [`FetchError`]: network, checksum or file trouble, each saying what to do.
pub fn fetch(dataset: &Dataset, size: usize, dir: &Path, zenodo: &str) -> Result<PathBuf, FetchError> {
    let agent = download::agent();
    let zenodo = zenodo.trim_end_matches('/');
    let expected = expected_md5s(&agent, zenodo, dataset, size)?;
    let name = dataset.file_name(size);
    let target = dir.join(&name);
    if target.is_file() && expected.contains(&super::md5_file(&target)?) {
        return Ok(target);
    }
    fs::create_dir_all(dir).map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?;
    let part = dir.join(format!("{name}.part"));
    let url = format!("{zenodo}/records/{RECORD_V3}/files/{name}?download=1");
    download::resume(&agent, &url, &part)?;
    let actual = super::md5_file(&part)?;
    if !expected.contains(&actual) {
        let _ = fs::remove_file(&part);
        return Err(FetchError::Checksum { path: part, actual, expected: expected.join(" or ") });
    }
    fs::rename(&part, &target).map_err(|source| FileError::Io { path: target.clone(), source })?;
    Ok(target)
}
