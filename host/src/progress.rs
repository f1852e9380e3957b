//! Progress bars for long steps (downloads, feature extraction, training). They draw on stderr when it is a
//! terminal and stay silent otherwise, so logs and tests are not flooded.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting bytes, for downloads.
pub fn bytes(total: u64, message: impl Into<String>) -> ProgressBar {
    bar(total, message, "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
}

/// A bar counting items (images, steps) with their rate, e.g. `unit = "img"`.
pub fn items(total: u64, message: impl Into<String>, unit: &str) -> ProgressBar {
    bar(total, message, &format!("{{msg}} {{wide_bar}} {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"))
}

fn bar(total: u64, message: impl Into<String>, template: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style).with_message(message.into())
}
