//! Progress bars for long steps (downloads, feature extraction, training). They draw on stderr when it is a
//! terminal and stay silent otherwise, so logs and tests are not flooded.

use indicatif::{ProgressBar, ProgressFinish, ProgressStyle};
use std::time::Duration;

/// A bar counting bytes, for downloads.
pub fn bytes(total: u64, message: impl Into<String>) -> ProgressBar {
    bar(total, message, "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
}

/// A bar counting items (images, steps) with their rate, e.g. `unit = "img"`.
pub fn items(total: u64, message: impl Into<String>, unit: &str) -> ProgressBar {
    bar(total, message, &format!("{{msg}} {{wide_bar}} {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"))
}

/// A bar counting slow steps (encrypted training steps take about a minute each): redrawn every second so the
/// elapsed time moves between steps, and cleared when dropped, also when training stops on an error.
pub fn slow_steps(total: u64, message: impl Into<String>) -> ProgressBar {
    let bar = bar(total, message, "{msg} {wide_bar} {pos}/{len} steps, {elapsed} elapsed, eta {eta}")
        .with_finish(ProgressFinish::AndClear);
    bar.enable_steady_tick(Duration::from_secs(1));
    bar
}

fn bar(total: u64, message: impl Into<String>, template: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style).with_message(message.into())
}
