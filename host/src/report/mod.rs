//! The report of a three-way comparison ([`Comparison`]): JSON for programs ([`json`]), a Markdown section for
//! people ([`markdown`]) and an SVG plot of each run's validation loss and accuracy per epoch ([`svg`]), which the
//! Markdown embeds. The renderers read a finished comparison and never train: this module uses
//! [`crate::train::compare`], never the other way round.

mod json;
mod markdown;
mod plot;

pub use json::json;
pub use markdown::markdown;
pub use plot::svg;

use crate::files;
use crate::train::compare::Comparison;
use crate::train::data::Split;
use std::path::{Path, PathBuf};

/// A report's three files in one folder, named after the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// The Markdown report, `NAME.md`.
    pub markdown: PathBuf,
    /// Its plot of validation loss and accuracy per epoch, `NAME.svg` ([`plot_file`]).
    pub plot: PathBuf,
    /// The same figures for programs, `NAME.json`.
    pub json: PathBuf,
}

impl ReportFiles {
    /// The files of the report on dataset `name` in `out`.
    pub fn new(out: &Path, name: &str) -> Self {
        Self {
            markdown: out.join(format!("{name}.md")),
            plot: out.join(format!("{name}.svg")),
            json: out.join(format!("{name}.json")),
        }
    }

    /// Writes `c`'s report (test accuracies on `split`) into the three files, each atomically, and returns the
    /// Markdown.
    ///
    /// # Errors
    /// [`files::FileError`] naming a file, or a failure to draw the plot.
    pub fn write(&self, c: &Comparison, split: &Split) -> anyhow::Result<String> {
        let markdown = markdown(c, split);
        files::write_atomic(&self.json, json(c, split).as_bytes(), false)?;
        files::write_atomic(&self.markdown, markdown.as_bytes(), false)?;
        files::write_atomic(&self.plot, svg(c)?.as_bytes(), false)?;
        Ok(markdown)
    }
}

/// The plot's file name, beside the Markdown report that embeds it: `DATASET.svg`.
pub fn plot_file(c: &Comparison) -> String {
    format!("{}.svg", c.dataset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::compare::{EncryptedRun, assert_encrypted_follows_approx, compare};
    use crate::train::fixtures::{blobs, test_literal, test_schedule};
    use crate::train::plan::softmax_for;
    use crate::train::{EpochLog, TrainReport};
    use md5::{Digest, Md5};
    use serde_json::Value;

    /// The encrypted run's validation accuracy per epoch, scored by the in-process key owner from the decrypted
    /// weights, follows the plaintext-approx run's and is in the JSON and the plot with the other runs'.
    #[test]
    fn the_report_has_every_runs_validation_accuracy_per_epoch() {
        let split = blobs();
        let c = compare("blobs", &split, &test_schedule(), Some(&test_literal()), None, &mut ()).unwrap();
        assert_encrypted_follows_approx(&c, &split);
        let json = json(&c, &split);
        assert_eq!(json.matches("\"val_accuracy\":[").count(), 3, "{json}");
        assert_eq!(json.matches("\"val_max_abs_logit\":[").count(), 3, "{json}");
        // A diverged epoch's infinite loss is null, and the report still parses.
        let mut diverged = c.clone();
        diverged.approximate.log[1].val_loss = Some(f64::INFINITY);
        let parsed: Value = serde_json::from_str(&super::json(&diverged, &split)).unwrap();
        assert_eq!(parsed["runs"][1]["val_loss"][1], Value::Null);
        assert_eq!(parsed["runs"][1]["val_loss"].as_array().map(Vec::len), Some(2));
        assert_eq!(parsed["runs"][1]["range_guard_stop"], Value::Bool(true));
        assert!(markdown(&diverged, &split).contains("then stopped: a validation logit left"));
        assert!(!json.contains("null") && !json.contains("\"range_guard_stop\":true"), "{json}");
        // One epoch numbering, from 1, in the JSON and the Markdown.
        let parsed: Value = serde_json::from_str(&json).unwrap();
        let best = c.exact.best_epoch + 1;
        assert_eq!(parsed["runs"][0]["best_epoch"], Value::from(best));
        assert_eq!(parsed["runs"][0]["epoch"][0], Value::from(1));
        assert!(
            markdown(&c, &split)
                .contains(&format!("| plaintext-exact | {:.2} % | {best} |", 100.0 * c.test_accuracies(&split)[0].1))
        );
        let svg = svg(&c).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in
            ["validation loss", "validation accuracy", "plaintext-exact", "plaintext-approx", "encrypted", "blobs"]
        {
            assert!(svg.contains(text), "{text} missing from the plot");
        }
        let preset = &c.encrypted.as_ref().unwrap().preset;
        assert!(svg.contains(&format!("preset {preset}")), "the plot's title names the preset");
        assert!(markdown(&c, &split).contains("](blobs.svg)"));
    }

    /// A fixed comparison of two epochs (no training), for pinning the reports' bytes.
    fn synthetic() -> (Comparison, Split) {
        use crate::train::schedule::Verdict;
        let split = blobs();
        let (classes, dim) = (split.train.classes, split.train.dim());
        let run = |phase: f64, seconds: f64| TrainReport {
            weights: (0..classes).map(|c| (0..dim).map(|j| ((c * dim + j) as f64 + phase).sin()).collect()).collect(),
            best_epoch: 1,
            log: (0..2)
                .map(|epoch| EpochLog {
                    epoch,
                    val_loss: Some(1.0 / (epoch as f64 + 1.0) + phase),
                    verdict: Verdict::Improved,
                    val_accuracy: Some(0.5 + 0.25 * epoch as f64),
                    val_max_abs_logit: Some(3.0 + phase),
                })
                .collect(),
            steps: 6,
            refreshes: 0,
            bootstraps: 0,
            seconds,
        };
        let encrypted = EncryptedRun {
            report: TrainReport { refreshes: 12, ..run(0.125, 30.5) },
            preset: "test-preset".into(),
            keygen_seconds: 1.5,
            encrypt_seconds: 2.25,
            rotation_keys: 9,
            bootstrapped: false,
        };
        let c = Comparison {
            dataset: "blobs".into(),
            source: "`blobs.csv`".into(),
            backbone: "deit_tiny (pretrained)".into(),
            sizes: [split.train.len(), split.val.len(), split.test.len()],
            dim,
            classes,
            schedule: test_schedule(),
            approx: softmax_for(classes, None),
            exact: run(0.0, 0.01),
            approximate: run(0.0625, 0.02),
            encrypted: Some(encrypted),
        };
        (c, split)
    }

    /// The reports of a fixed comparison, byte for byte (the SVG by its MD5).
    #[test]
    fn the_reports_of_a_fixed_comparison_are_pinned() {
        let (c, split) = synthetic();
        let md5 = |text: String| crate::medmnist::hex(&Md5::digest(text.as_bytes()));
        assert_eq!(md5(json(&c, &split)), "4727ff4906e5607db844454ffd4f024f");
        assert_eq!(md5(markdown(&c, &split)), "fcd7cb8459118d12b483fadc84295f1f");
        assert_eq!(md5(svg(&c).unwrap()), "8c319607cd2df214c9f1d7d780fd472d");
    }
}
