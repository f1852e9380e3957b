//! MedMNIST v2/v3 datasets: the official `.npz` files, their catalogue, and how to find or fetch them.
//!
//! An archive holds `{train,val,test}_{images,labels}.npy`: images `uint8` shaped `(n, s, s)` (grayscale) or
//! `(n, s, s, 3)` (RGB), labels integers shaped `(n, 1)`. Every length is checked before anything is allocated.

pub mod catalog;
pub mod fetch;
pub mod npy;

pub use catalog::{DATASETS, Dataset, Release, dataset};

use crate::files::FileError;
use md5::{Digest, Md5};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The three official splits, in file order.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// The images and labels of one split. Pixels are `len × side × side × channels` bytes, channel last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    /// Image side in pixels.
    pub side: usize,
    /// 1 or 3.
    pub channels: usize,
    /// All pixels, image after image.
    pub pixels: Vec<u8>,
    /// One label per image, each `< classes`.
    pub labels: Vec<u32>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image.
    pub fn image_bytes(&self) -> usize {
        self.side * self.side * self.channels
    }

    /// The pixels of image `i` (`side × side × channels`, channel last).
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_bytes();
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// A loaded MedMNIST file.
#[derive(Clone, Debug)]
pub struct MedMnist {
    /// Which dataset.
    pub dataset: &'static Dataset,
    /// The file it was loaded from.
    pub path: std::path::PathBuf,
    /// MD5 of the file (lower-case hex): its identity in feature caches and reports.
    pub md5: String,
    /// `train`, `val`, `test`.
    pub splits: [Images; 3],
}

impl MedMnist {
    /// Loads and checks a MedMNIST archive: every split present, shapes consistent, channels as the dataset has
    /// them, labels below its class count.
    ///
    /// # Errors
    /// [`FileError`] naming the file and what is wrong with it.
    pub fn load(path: &Path, dataset: &'static Dataset) -> Result<MedMnist, FileError> {
        let content = |message: String| FileError::content(path, message);
        let md5 = md5_file(path)?;
        let file = File::open(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| {
            content(format!("not a .npz (zip) archive ({e}); download it again with `medblind data fetch`"))
        })?;
        let mut read = |split: &str| -> Result<Images, FileError> {
            let (images, image_data) = read_array(&mut archive, &format!("{split}_images.npy")).map_err(content)?;
            let (labels, label_data) = read_array(&mut archive, &format!("{split}_labels.npy")).map_err(content)?;
            let n = images.shape.first().copied().unwrap_or(0);
            let (side, channels) = match images.shape[..] {
                [_, h, w] if h == w => (h, 1),
                [_, h, w, c] if h == w => (h, c),
                _ => {
                    return Err(content(format!(
                        "{split}_images has shape {:?}, expected (n, s, s[, 3])",
                        images.shape
                    )));
                }
            };
            if images.dtype != npy::Dtype::U8 {
                return Err(content(format!("{split}_images are {:?}, expected uint8", images.dtype)));
            }
            if channels != dataset.channels {
                return Err(content(format!(
                    "{split}_images have {channels} channels; {} has {}",
                    dataset.title, dataset.channels
                )));
            }
            if !(labels.shape == [n, 1] || labels.shape == [n]) {
                return Err(content(format!("{split}_labels has shape {:?}, expected ({n}, 1)", labels.shape)));
            }
            let labels = npy::to_u32(labels.dtype, &label_data).map_err(|e| content(format!("{split}_labels: {e}")))?;
            let classes = dataset.classes.len();
            if let Some(bad) = labels.iter().find(|&&l| l as usize >= classes) {
                return Err(content(format!(
                    "{split}_labels holds {bad}, but {} has {classes} classes",
                    dataset.title
                )));
            }
            Ok(Images { side, channels, pixels: image_data, labels })
        };
        let splits = [read("train")?, read("val")?, read("test")?];
        if splits.iter().any(|s| s.side != splits[0].side) {
            return Err(content("splits have different image sizes".into()));
        }
        Ok(MedMnist { dataset, path: path.to_path_buf(), md5, splits })
    }

    /// The official 28×28 release this file is, if its checksum is a pinned one.
    pub fn release(&self) -> Option<&'static Release> {
        self.dataset.release(&self.md5)
    }
}

/// Reads one `.npy` member of an archive (an `.npz`), checking its header against the member's size before allocating.
pub fn read_array(archive: &mut zip::ZipArchive<File>, name: &str) -> Result<(npy::Header, Vec<u8>), String> {
    let mut entry = archive.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    let size = usize::try_from(entry.size()).map_err(|_| format!("{name}: too large"))?;
    let (header, taken) = npy::read_header(&mut entry).map_err(|e| format!("{name}: {e}"))?;
    let data = npy::read_data(&mut entry, &header, size.saturating_sub(taken)).map_err(|e| format!("{name}: {e}"))?;
    Ok((header, data))
}

/// MD5 of a file, lower-case hex.
///
/// # Errors
/// [`FileError::Io`] naming the file.
pub fn md5_file(path: &Path) -> Result<String, FileError> {
    let io = |source| FileError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Writes a `.npz` in MedMNIST's layout: `(n, s, s[, 3])` uint8 images and `(n, 1)` labels of `label_descr`.
    pub(crate) fn write_npz(path: &Path, side: usize, channels: usize, counts: [usize; 3], classes: u32) {
        let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (split, &n) in SPLITS.iter().zip(&counts) {
            let mut shape = vec![n, side, side];
            if channels == 3 {
                shape.push(3);
            }
            let pixels: Vec<u8> = (0..n * side * side * channels).map(|i| (i * 7 % 251) as u8).collect();
            zip.start_file(format!("{split}_images.npy"), options).unwrap();
            zip.write_all(&npy::to_bytes("|u1", &shape, &pixels)).unwrap();
            let labels: Vec<u8> = (0..n as i64).flat_map(|i| (i % i64::from(classes)).to_le_bytes()).collect();
            zip.start_file(format!("{split}_labels.npy"), options).unwrap();
            zip.write_all(&npy::to_bytes("<i8", &[n, 1], &labels)).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn a_written_archive_loads_with_its_shapes_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bloodmnist.npz");
        write_npz(&path, 28, 3, [5, 2, 3], 8);
        let data = MedMnist::load(&path, dataset("bloodmnist").unwrap()).unwrap();
        assert_eq!(data.splits.each_ref().map(Images::len), [5, 2, 3]);
        let train = &data.splits[0];
        assert_eq!((train.side, train.channels, train.image_bytes()), (28, 3, 28 * 28 * 3));
        assert_eq!(train.labels, vec![0, 1, 2, 3, 4]);
        assert_eq!(train.image(1)[0], ((28 * 28 * 3 * 7) % 251) as u8);
        assert_eq!(data.md5, md5_file(&path).unwrap());
        assert_eq!(data.release(), None, "a home-made file is not an official release");
        write_npz(&path, 64, 1, [2, 1, 1], 11);
        let data = MedMnist::load(&path, dataset("organcmnist").unwrap()).unwrap();
        assert_eq!((data.splits[0].side, data.splits[0].channels, data.splits[0].image(1).len()), (64, 1, 64 * 64));
    }

    #[test]
    fn wrong_channels_labels_and_damaged_archives_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        write_npz(&path, 28, 1, [4, 1, 1], 8);
        let err = MedMnist::load(&path, dataset("bloodmnist").unwrap()).unwrap_err().to_string();
        assert!(err.contains("x.npz") && err.contains("1 channels"), "{err}");
        write_npz(&path, 28, 1, [12, 1, 1], 12);
        let err = MedMnist::load(&path, dataset("organamnist").unwrap()).unwrap_err().to_string();
        assert!(err.contains("holds 11") && err.contains("11 classes"), "{err}");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = MedMnist::load(&path, dataset("organamnist").unwrap()).unwrap_err().to_string();
        assert!(err.contains("medblind data fetch"), "{err}");
    }

    #[test]
    fn the_real_files_in_shared_match_the_catalogue() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/medmnist");
        if !dir.exists() {
            eprintln!("NOT RUN: {} does not exist", dir.display());
            return;
        }
        let mut checked = 0;
        for dataset in DATASETS {
            let path = dir.join(dataset.file_name(28));
            if !path.exists() {
                eprintln!("not in shared yet: {}", path.display());
                continue;
            }
            let data = MedMnist::load(&path, dataset).unwrap();
            let release =
                data.release().unwrap_or_else(|| panic!("{}: MD5 {} is not an official one", path.display(), data.md5));
            assert_eq!(data.splits.each_ref().map(Images::len), release.counts, "{}", dataset.name);
            assert!(data.splits.iter().all(|s| s.side == 28 && s.channels == dataset.channels));
            for split in &data.splits {
                let mut seen = vec![false; dataset.classes.len()];
                split.labels.iter().for_each(|&l| seen[l as usize] = true);
                assert!(seen.iter().all(|&s| s), "{}: every class appears in every split", dataset.name);
            }
            checked += 1;
        }
        assert!(checked > 0, "{} exists but holds no MedMNIST file", dir.display());
    }
}
