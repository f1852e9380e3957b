//! ViT features of a MedMNIST dataset: extraction (batched over both cores, with progress, resumable) and the
//! feature file.
//!
//! # The feature file
//! A safetensors file with, for each split `s` in `train`, `val`, `test`: `s.features` (F32, `n × D`) and
//! `s.labels` (U32, `n`). Its metadata records provenance: `format` = `medblind-features/1`, `dataset`,
//! `dataset_md5` (of the `.npz`), `classes`, `model`, `weights` (file name), `weights_md5`, `weights_origin` (`pretrained` or `random initialization`), `token`
//! (`cls`, `dist`, `mean` or `both`), `preprocessing`, and `limit` (images per split, when only a prefix was extracted).

use crate::files::{self, FileError};
use crate::medmnist::{Images, MedMnist, SPLITS};
use crate::train::data::{Dataset, Split};
use crate::vit::{Token, Vit, config::CHANNELS, config::IMAGE, preprocess};
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The format tag in the file's metadata.
pub const FORMAT: &str = "medblind-features/1";
/// [`Provenance::weights_origin`] of randomly initialized weights.
pub const RANDOM: &str = "random initialization";
/// Images per group in one forward pass (tokens stacked into one matrix).
const GROUP: usize = 8;
/// Images per resumable piece of an extraction (a whole number of groups).
const PIECE: usize = 32 * GROUP;

/// Where the features came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// Dataset name (`bloodmnist`).
    pub dataset: String,
    /// MD5 of the dataset file.
    pub dataset_md5: String,
    /// Number of classes.
    pub classes: usize,
    /// Model name.
    pub model: String,
    /// Weights file name.
    pub weights: String,
    /// MD5 of the weights file.
    pub weights_md5: String,
    /// `pretrained`, or `random initialization` for checkpoints written by `medblind weights init` (features
    /// that exercise the pipeline but are not pretrained features).
    pub weights_origin: String,
    /// `cls`, `dist`, `mean` or `both`.
    pub token: String,
    /// Images per split, if only the first ones were extracted.
    pub limit: Option<usize>,
}

impl Provenance {
    /// The cache file name: identical inputs give the same name.
    pub fn cache_name(&self) -> String {
        let limit = self.limit.map_or(String::new(), |l| format!("-first{l}"));
        format!(
            "{}-{}-{}-{}-{}{limit}.safetensors",
            self.dataset,
            &self.dataset_md5[..12.min(self.dataset_md5.len())],
            self.model,
            &self.weights_md5[..12.min(self.weights_md5.len())],
            self.token
        )
    }
}

/// Features and labels of the three splits.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// Feature width `D`.
    pub dim: usize,
    /// `(features n × D, labels n)` for train, val, test.
    pub splits: [(Vec<f32>, Vec<u32>); 3],
    /// Where they came from.
    pub provenance: Provenance,
}

/// Runs `model` over the first `limit` (or all) images of every split, `GROUP` images per forward pass, groups
/// spread over the rayon pool; `progress` is told how many images are done and whether they were found in
/// `resume` rather than computed.
///
/// The work is cut into pieces of `PIECE` images, each written to the folder `resume` as soon as it is done, so
/// an interrupted extraction picks up where it stopped; the folder records the provenance and is discarded when
/// it does not match. The caller removes it once the feature file is saved.
///
/// # Errors
/// [`FileError`] when a piece cannot be written.
pub fn extract(
    data: &MedMnist,
    model: &Vit,
    token: Token,
    provenance: Provenance,
    resume: &Path,
    progress: &(dyn Fn(u64, bool) + Sync),
) -> Result<Features, FileError> {
    let dim = token.dim(model.config());
    let io = |source| FileError::Io { path: resume.to_path_buf(), source };
    let stamp = resume.join("provenance");
    let expected = format!("{provenance:?}");
    if resume.is_dir() && std::fs::read_to_string(&stamp).ok().as_deref() != Some(expected.as_str()) {
        eprintln!("discarding {}: an unfinished extraction of other inputs", resume.display());
        std::fs::remove_dir_all(resume).map_err(io)?;
    }
    std::fs::create_dir_all(resume).map_err(io)?;
    files::write_atomic(&stamp, expected.as_bytes(), false)?;
    let one = |images: &Images, indices: &[usize]| {
        let mut input = vec![0.0f32; indices.len() * CHANNELS * IMAGE * IMAGE];
        for (&i, out) in indices.iter().zip(input.chunks_exact_mut(CHANNELS * IMAGE * IMAGE)) {
            preprocess::preprocess(images.image(i), images.side, images.channels, out);
        }
        let features = model.features(&input, indices.len(), token);
        progress(indices.len() as u64, false);
        features
    };
    let mut splits = Vec::new();
    for (name, images) in SPLITS.iter().zip(&data.splits) {
        let n = provenance.limit.map_or(images.len(), |l| l.min(images.len()));
        let mut features = Vec::with_capacity(n * dim);
        for start in (0..n).step_by(PIECE) {
            let indices: Vec<usize> = (start..n.min(start + PIECE)).collect();
            let path = resume.join(format!("{name}-{start}.f32"));
            let done = std::fs::read(&path).ok().filter(|b| b.len() == indices.len() * dim * 4);
            let piece: Vec<f32> = match done {
                Some(bytes) => {
                    progress(indices.len() as u64, true);
                    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
                }
                None => {
                    let groups: Vec<Vec<f32>> = indices.par_chunks(GROUP).map(|g| one(images, g)).collect();
                    let piece = groups.concat();
                    let bytes: Vec<u8> = piece.iter().flat_map(|v| v.to_le_bytes()).collect();
                    files::write_atomic(&path, &bytes, false)?;
                    piece
                }
            };
            features.extend(piece);
        }
        splits.push((features, images.labels[..n].to_vec()));
    }
    let splits = splits.try_into().expect("three splits");
    Ok(Features { dim, splits, provenance })
}

impl Features {
    /// Total images over the splits.
    pub fn len(&self) -> usize {
        self.splits.iter().map(|s| s.1.len()).sum()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the feature file atomically (replacing one at `path`: callers decide whether that is allowed).
    ///
    /// # Errors
    /// [`FileError`] naming the file.
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        let p = &self.provenance;
        let (classes, limit) = (p.classes.to_string(), p.limit.map(|l| l.to_string()));
        let mut metadata = vec![
            ("format", FORMAT),
            ("dataset", &p.dataset),
            ("dataset_md5", &p.dataset_md5),
            ("classes", &classes),
            ("model", &p.model),
            ("weights", &p.weights),
            ("weights_md5", &p.weights_md5),
            ("weights_origin", &p.weights_origin),
            ("token", &p.token),
            ("preprocessing", preprocess::DESCRIPTION),
        ];
        if let Some(limit) = &limit {
            metadata.push(("limit", limit));
        }
        let bytes: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = SPLITS
            .iter()
            .zip(&self.splits)
            .flat_map(|(name, (features, labels))| {
                [
                    (
                        format!("{name}.features"),
                        vec![labels.len(), self.dim],
                        Dtype::F32,
                        features.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    ),
                    (
                        format!("{name}.labels"),
                        vec![labels.len()],
                        Dtype::U32,
                        labels.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    ),
                ]
            })
            .collect();
        let views = bytes.iter().map(|(name, shape, dtype, data)| {
            (name.clone(), TensorView::new(*dtype, shape.clone(), data).expect("sizes agree"))
        });
        let metadata = metadata.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>();
        let out = safetensors::serialize(views, Some(metadata)).map_err(|e| FileError::content(path, e))?;
        files::write_atomic(path, &out, false)
    }

    /// Reads a feature file, checking its format tag, every tensor's type and shape, and the labels' range.
    ///
    /// # Errors
    /// [`FileError`] naming the file and the first problem.
    pub fn load(path: &Path) -> Result<Features, FileError> {
        Self::from_bytes(path, &files::read(path)?)
    }

    /// [`Self::load`] of a file's `bytes` (`path` names it in errors).
    ///
    /// # Errors
    /// As [`Self::load`].
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Features, FileError> {
        let bad = |m: String| FileError::content(path, m);
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let format =
            meta.get("format").ok_or_else(|| bad("no `format` in the metadata; not a MedBlind feature file".into()))?;
        if format != FORMAT {
            return Err(bad(format!("format {format:?}, expected {FORMAT}")));
        }
        let field = |k: &str| {
            meta.get(k).cloned().ok_or_else(|| {
                bad(format!("no `{k}` in the metadata: written by an earlier MedBlind; extract the features again"))
            })
        };
        let number = |k: &str| field(k)?.parse::<usize>().map_err(|_| bad(format!("`{k}` is not a number")));
        let provenance = Provenance {
            dataset: field("dataset")?,
            dataset_md5: field("dataset_md5")?,
            classes: number("classes")?,
            model: field("model")?,
            weights: field("weights")?,
            weights_md5: field("weights_md5")?,
            weights_origin: field("weights_origin")?,
            token: field("token")?,
            limit: meta.contains_key("limit").then(|| number("limit")).transpose()?,
        };
        let file = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let tensor = |name: String, dtype: Dtype| {
            let view = file.tensor(&name).map_err(|_| bad(format!("no tensor `{name}`")))?;
            if view.dtype() != dtype {
                return Err(bad(format!("`{name}` is {}, expected {dtype}", view.dtype())));
            }
            Ok((
                view.shape().to_vec(),
                view.data().chunks_exact(4).map(|b| [b[0], b[1], b[2], b[3]]).collect::<Vec<_>>(),
            ))
        };
        let mut dim = None;
        let mut splits = Vec::new();
        for name in SPLITS {
            let (fshape, fdata) = tensor(format!("{name}.features"), Dtype::F32)?;
            let (lshape, ldata) = tensor(format!("{name}.labels"), Dtype::U32)?;
            let [n, d] = fshape[..] else {
                return Err(bad(format!("`{name}.features` has shape {fshape:?}, expected (n, D)")));
            };
            if lshape != [n] || *dim.get_or_insert(d) != d {
                return Err(bad(format!(
                    "`{name}` shapes {fshape:?} and {lshape:?} do not fit together or with the other splits"
                )));
            }
            let labels: Vec<u32> = ldata.into_iter().map(u32::from_le_bytes).collect();
            if let Some(l) = labels.iter().find(|&&l| l as usize >= provenance.classes) {
                return Err(bad(format!("`{name}.labels` holds {l}, but there are {} classes", provenance.classes)));
            }
            splits.push((fdata.into_iter().map(f32::from_le_bytes).collect(), labels));
        }
        let splits: [(Vec<f32>, Vec<u32>); 3] = splits.try_into().expect("three splits");
        Ok(Features { dim: dim.unwrap_or(0), splits, provenance })
    }

    /// One line saying where the features came from, for reports.
    pub fn describe(&self, path: &Path) -> String {
        let p = &self.provenance;
        let limit = p.limit.map_or(String::new(), |l| format!(", first {l} images per split"));
        format!(
            "`{}`: {} of {} (MD5 {}){limit}",
            path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            self.backbone(),
            p.dataset,
            p.dataset_md5
        )
    }

    /// The network and weights that made the features, for titles: `dinov2_small, pretrained weights
    /// model.safetensors (MD5 …), cls token`; randomly initialized weights are named so in capitals.
    pub fn backbone(&self) -> String {
        let p = &self.provenance;
        let origin = if p.weights_origin == RANDOM { "RANDOMLY INITIALIZED" } else { p.weights_origin.as_str() };
        format!("{}, {origin} weights {} (MD5 {}), {} token", p.model, p.weights, p.weights_md5, p.token)
    }

    /// The official train / val / test splits as training tables.
    pub fn split(&self) -> Split {
        let [train, val, test] = self.splits.each_ref().map(|(features, labels)| Dataset {
            features: features
                .chunks_exact(self.dim.max(1))
                .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                .collect(),
            labels: labels.iter().map(|&l| l as usize).collect(),
            classes: self.provenance.classes,
        });
        Split { train, val, test }
    }
}

/// The feature cache folder.
pub fn cache_dir() -> PathBuf {
    crate::medmnist::fetch::cache_dir().join("features")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file whose metadata lacks a MedBlind field says which, and what to do.
    #[test]
    fn a_file_from_elsewhere_or_from_an_earlier_medblind_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let data = 1.0f32.to_le_bytes();
        let view = TensorView::new(Dtype::F32, vec![1], &data).unwrap();
        for (metadata, expected) in [
            (vec![], "not a MedBlind feature file"),
            (
                vec![("format", FORMAT), ("dataset", "bloodmnist")],
                "no `dataset_md5` in the metadata: written by an earlier",
            ),
        ] {
            let path = dir.path().join("f.safetensors");
            let metadata = metadata.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            std::fs::write(&path, safetensors::serialize([("x", view.clone())], Some(metadata)).unwrap()).unwrap();
            let error = Features::load(&path).err().unwrap().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
