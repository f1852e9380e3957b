//! A plaintext linear head: its shape (`keygen --head`) and its CSV files (`infer`, `device`).

use crate::files::{self, FileError};
use std::path::PathBuf;

/// A linear head's shape: `rows` outputs (classes) over `cols` inputs (features).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadShape {
    /// Output rows.
    pub rows: usize,
    /// Input columns.
    pub cols: usize,
}

impl std::str::FromStr for HeadShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (rows, cols) = s.split_once('x').ok_or_else(|| format!("`{s}` is not ROWSxCOLS (e.g. 7x192)"))?;
        let parse = |v: &str| v.trim().parse::<usize>().ok().filter(|&v| v > 0);
        match (parse(rows), parse(cols)) {
            (Some(rows), Some(cols)) => Ok(Self { rows, cols }),
            _ => Err(format!("`{s}` is not ROWSxCOLS with positive sizes")),
        }
    }
}

impl HeadShape {
    /// The slots inputs are packed in: the next power of two holding both the inputs and the padded rows (0 when
    /// there is none).
    pub fn slots(&self) -> usize {
        let power = |n: usize| n.checked_next_power_of_two().unwrap_or(0);
        if power(self.cols) == 0 || power(self.rows) == 0 { 0 } else { power(self.cols).max(power(self.rows)) }
    }
}

/// The head's files.
#[derive(clap::Args)]
pub struct HeadFiles {
    /// CSV of the head's weights, one row per class.
    #[arg(long)]
    pub weights: PathBuf,
    /// CSV of the bias, one value per class.
    #[arg(long)]
    pub bias: Option<PathBuf>,
}

/// A head read from its files: at least one row, all as long as the first, and a bias value per row if any.
pub struct Head {
    /// The weights, one row per class.
    pub rows: Vec<Vec<f64>>,
    /// The bias, one value per class.
    pub bias: Option<Vec<f64>>,
}

impl HeadFiles {
    /// Reads the weights, then the bias.
    ///
    /// # Errors
    /// [`FileError`] naming the file: unreadable, rows of different lengths, or a bias value count other than the
    /// rows'.
    pub fn read(&self) -> Result<Head, FileError> {
        let rows = files::read_csv(&self.weights)?;
        let cols = rows[0].len();
        if let Some(bad) = rows.iter().position(|r| r.len() != cols) {
            let message = format!("row {} has {} values, row 1 has {cols}", bad + 1, rows[bad].len());
            return Err(FileError::content(&self.weights, message));
        }
        let bias = match &self.bias {
            Some(path) => {
                let bias = files::read_csv(path)?.concat();
                if bias.len() != rows.len() {
                    let message = format!("{} bias values for {} classes", bias.len(), rows.len());
                    return Err(FileError::content(path, message));
                }
                Some(bias)
            }
            None => None,
        };
        Ok(Head { rows, bias })
    }
}

impl Head {
    /// Its shape: classes × features.
    pub fn shape(&self) -> HeadShape {
        HeadShape { rows: self.rows.len(), cols: self.rows[0].len() }
    }
}
