//! Labelled feature tables: loading (CSV, optionally gzip), a seeded train/validation/test split, and feature
//! scaling fitted on the training part only.

use crate::files::FileError;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::io::Read;
use std::path::Path;

/// Feature rows and their class labels (`labels[i] < classes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One row of `dim` features per sample.
    pub features: Vec<Vec<f64>>,
    /// The class of each row.
    pub labels: Vec<usize>,
    /// The number of classes.
    pub classes: usize,
}

impl Dataset {
    /// The number of features per row.
    pub fn dim(&self) -> usize {
        self.features.first().map_or(0, Vec::len)
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn select(&self, rows: &[usize]) -> Self {
        Self {
            features: rows.iter().map(|&r| self.features[r].clone()).collect(),
            labels: rows.iter().map(|&r| self.labels[r]).collect(),
            classes: self.classes,
        }
    }
}

/// Train, validation and test parts of one dataset.
#[derive(Debug, Clone)]
pub struct Split {
    /// Rows the model is fitted on.
    pub train: Dataset,
    /// Rows for the validation loss (early stopping).
    pub val: Dataset,
    /// Rows for the final accuracy.
    pub test: Dataset,
}

/// Reads a CSV (gzip when the name ends in `.gz`): numeric rows whose last column is the class label (an integer
/// from 0). A first row that does not parse as numbers is a header; scikit-learn's `ROWS,FEATURES,CLASS,…` header
/// is checked against the data (the row and feature counts, and every label naming one of its classes). Without
/// one, the width most rows have is the expected one, so a short or long row is blamed on itself, and every class
/// from 0 to the largest label must have a row.
///
/// # Errors
/// A [`FileError`] naming the file and the first bad row (and column).
pub fn load_csv(path: &Path) -> Result<Dataset, FileError> {
    csv_from_bytes(path, crate::files::read(path)?)
}

/// [`load_csv`] of a file's `bytes` (`path` names it in errors, and says whether it is compressed).
///
/// # Errors
/// As [`load_csv`].
pub fn csv_from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Dataset, FileError> {
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut out)
            .map_err(|e| FileError::content(path, format!("not a gzip CSV: {e}")))?;
        out
    } else {
        String::from_utf8(bytes).map_err(|_| FileError::content(path, "not UTF-8 text"))?
    };
    let bad = |row: usize, message: String| FileError::content(path, format!("row {row}: {message}"));
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).peekable();
    let header = lines.next_if(|(_, l)| l.split(',').any(|v| v.trim().parse::<f64>().is_err())).map(|(_, l)| l);
    // scikit-learn's header: rows, features, then the class names.
    let stated = header.and_then(|h| {
        let fields: Vec<&str> = h.split(',').map(str::trim).collect();
        let (rows, features) = (fields.first()?.parse::<usize>().ok()?, fields.get(1)?.parse::<usize>().ok()?);
        Some((rows, features, fields.len() - 2))
    });
    let mut rows = Vec::new();
    for (i, line) in lines {
        let values = line
            .split(',')
            .enumerate()
            .map(|(column, v)| match v.trim().parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(value),
                Ok(_) => Err(bad(i + 1, format!("column {}: `{}` is not finite", column + 1, v.trim()))),
                Err(_) => Err(bad(i + 1, format!("column {}: `{}` is not a number", column + 1, v.trim()))),
            })
            .collect::<Result<Vec<f64>, _>>()?;
        rows.push((i + 1, values));
    }
    let width = match stated {
        Some((_, features, _)) => features + 1,
        None => {
            let mut widths: Vec<usize> = rows.iter().map(|(_, v)| v.len()).collect();
            widths.sort_unstable();
            widths.chunk_by(|a, b| a == b).max_by_key(|run| run.len()).map_or(0, |run| run[0])
        }
    };
    if width < 2 {
        return Err(FileError::content(path, "no rows of features and a class label"));
    }
    let (mut features, mut labels) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (row, mut values) in rows {
        if values.len() != width {
            return Err(bad(row, format!("{} columns where the others have {width}", values.len())));
        }
        let label = values.pop().filter(|l| *l >= 0.0 && l.fract() == 0.0 && *l < 1e6);
        let Some(label) = label else {
            return Err(bad(row, "the last column is not a class label (an integer from 0)".into()));
        };
        if let Some((_, _, names)) = stated.filter(|&(_, _, names)| label as usize >= names) {
            return Err(bad(row, format!("label {label} names no class: the header names {names}")));
        }
        features.push(values);
        labels.push(label as usize);
    }
    if let Some((count, _, _)) = stated.filter(|&(count, _, _)| count != features.len()) {
        return Err(FileError::content(
            path,
            format!("the header states {count} rows, the file has {}", features.len()),
        ));
    }
    let classes = stated.map_or_else(|| labels.iter().max().map_or(0, |m| m + 1), |(_, _, names)| names);
    if classes < 2 {
        return Err(FileError::content(path, "fewer than two classes"));
    }
    if stated.is_none() {
        // Without a header the classes are 0 to the largest label: each must have a row.
        let mut seen = vec![false; classes];
        labels.iter().for_each(|&l| seen[l] = true);
        if let Some(missing) = seen.iter().position(|&s| !s) {
            let message = format!(
                "no row has label {missing}, yet the largest is {}: labels name classes 0 to C − 1 (or state them in \
                 scikit-learn's header)",
                classes - 1
            );
            return Err(FileError::content(path, message));
        }
    }
    Ok(Dataset { features, labels, classes })
}

/// A seeded, stratified split into `val_fraction` and `test_fraction` of the rows, the rest for training: the
/// rows of each class are shuffled and spread evenly over one order (row `r` of a class of `n` at `(r + ½)/n`),
/// validation and test take its first rows, so every class is in each part in proportion, within one row. Each
/// part keeps the shuffled order.
pub fn split(data: &Dataset, val_fraction: f64, test_fraction: f64, seed: u64) -> Split {
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let mut by_class = vec![Vec::new(); data.classes];
    for (position, &row) in order.iter().enumerate() {
        by_class[data.labels[row]].push(position);
    }
    let mut spread: Vec<(f64, usize)> = by_class
        .iter()
        .flat_map(|positions| {
            let n = positions.len() as f64;
            positions.iter().enumerate().map(move |(r, &p)| ((r as f64 + 0.5) / n, p))
        })
        .collect();
    spread.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let n_val = (data.len() as f64 * val_fraction).round() as usize;
    let n_test = (data.len() as f64 * test_fraction).round() as usize;
    let part = |range: std::ops::Range<usize>| {
        let mut positions: Vec<usize> = spread[range].iter().map(|&(_, p)| p).collect();
        positions.sort_unstable();
        data.select(&positions.iter().map(|&p| order[p]).collect::<Vec<_>>())
    };
    Split { val: part(0..n_val), test: part(n_val..n_val + n_test), train: part(n_val + n_test..data.len()) }
}

/// Per-feature standardization fitted on `split.train` (zero mean, unit variance), then every row divided by
/// `sqrt(dim)` so rows have about unit norm, and a constant bias feature `1` appended (the last column).
pub fn standardize(split: &mut Split) {
    let dim = split.train.dim();
    let n = split.train.len().max(1) as f64;
    let mean: Vec<f64> = (0..dim).map(|j| split.train.features.iter().map(|r| r[j]).sum::<f64>() / n).collect();
    let std: Vec<f64> = (0..dim)
        .map(|j| {
            let var = split.train.features.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
            if var > 0.0 { var.sqrt() } else { 1.0 }
        })
        .collect();
    let norm = (dim as f64).sqrt();
    for part in [&mut split.train, &mut split.val, &mut split.test] {
        for row in &mut part.features {
            for (j, x) in row.iter_mut().enumerate() {
                *x = (*x - mean[j]) / std[j] / norm;
            }
            row.push(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_gzip_and_split_and_standardize() {
        let dir = tempfile::tempdir().unwrap();
        let text = "5,2,a,b,c\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,2\n";
        let plain = dir.path().join("t.csv");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("t.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let a = load_csv(&plain).unwrap();
        assert_eq!(a, load_csv(&gz).unwrap());
        assert_eq!((a.len(), a.dim(), a.classes), (5, 2, 3));
        assert_eq!(a.labels, [0, 1, 0, 1, 2]);

        let mut s = split(&a, 0.2, 0.2, 7);
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (3, 1, 1));
        let mut all: Vec<f64> =
            [&s.train, &s.val, &s.test].iter().flat_map(|d| d.features.iter().map(|r| r[0])).collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, [1.0, 3.0, 5.0, 7.0, 9.0], "a permutation of the rows");
        standardize(&mut s);
        let mean0: f64 = s.train.features.iter().map(|r| r[0]).sum::<f64>();
        assert!(mean0.abs() < 1e-12);
        assert!(s.test.features.iter().all(|r| r.len() == 3 && r[2] == 1.0));

        // 100 rows of classes sized 10, 20, 30 and 40: each part holds every class in proportion.
        let labels: Vec<usize> = (0..100).map(|i| [0, 1, 1, 2, 2, 2, 3, 3, 3, 3][i % 10]).collect();
        let features = (0..100).map(|i| vec![i as f64]).collect();
        let s = split(&Dataset { features, labels, classes: 4 }, 0.2, 0.25, 3);
        for (part, size) in [(&s.val, 20.0), (&s.test, 25.0), (&s.train, 55.0)] {
            assert_eq!(part.len() as f64, size);
            for class in 0..4 {
                let count = part.labels.iter().filter(|&&l| l == class).count() as f64;
                assert!((count - size * (class + 1) as f64 / 10.0).abs() <= 1.0, "class {class}: {count} of {size}");
            }
        }

        for (text, error) in [
            ("1,2,0\n1,x,1\n", "row 2: column 2: `x` is not a number"),
            ("1,2,0\n1,2,1\n3,4,0.5\n", "row 3: the last column is not a class label"),
            ("1,2,0\n1,NaN,1\n", "row 2: column 2: `NaN` is not finite"),
            ("1,2,0\n1,inf,1\n", "row 2: column 2: `inf` is not finite"),
            ("1,0\n1,2,0\n3,4,1\n5,6,1\n", "row 1: 2 columns where the others have 3"),
            ("1,2,0\n3,4,1\n5,6,7,1\n", "row 3: 4 columns where the others have 3"),
            ("3,2,a,b\n1,2,0\n3,4,2\n5,6,1\n", "row 3: label 2 names no class: the header names 2"),
            ("4,2,a,b\n1,2,0\n3,4,1\n5,6,1\n", "the header states 4 rows, the file has 3"),
            ("3,3,a,b\n1,2,0\n3,4,1\n5,6,1\n", "row 2: 3 columns where the others have 4"),
            ("1,2,0\n3,4,0\n", "fewer than two classes"),
            ("1,2,0\n3,4,999999\n", "no row has label 1, yet the largest is 999999"),
        ] {
            std::fs::write(&plain, text).unwrap();
            let message = load_csv(&plain).unwrap_err().to_string();
            assert!(message.contains(error), "{text:?}: {message}");
        }
    }
}
