//! Progress bars for long steps (downloads, feature extraction, training). They draw on stderr when it is a
//! terminal and stay silent otherwise, so logs and tests are not flooded.

use indicatif::{ProgressBar, ProgressFinish, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Progress lines for logs: where stderr is not a terminal (no bar is drawn), a line with the count, the rate
/// and the time left at most every 30 seconds; silent on a terminal.
pub struct Log {
    total: u64,
    unit: &'static str,
    start: Instant,
    /// Items done and when the last line was printed.
    state: Mutex<(u64, Instant)>,
    enabled: bool,
}

impl Log {
    /// A log of `total` items named `unit` in its lines.
    pub fn new(total: usize, unit: &'static str) -> Log {
        let now = Instant::now();
        Log {
            total: total as u64,
            unit,
            start: now,
            state: Mutex::new((0, now)),
            enabled: !std::io::stderr().is_terminal(),
        }
    }

    /// Counts `n` more items done.
    pub fn add(&self, n: u64) {
        let Ok(mut state) = self.state.lock() else { return };
        state.0 += n;
        if self.enabled && state.1.elapsed() >= Duration::from_secs(30) {
            state.1 = Instant::now();
            let rate = state.0 as f64 / self.start.elapsed().as_secs_f64();
            let left = (self.total.saturating_sub(state.0)) as f64 / rate.max(1e-9);
            eprintln!("{}/{} {} ({rate:.1}/s, about {:.0} s left)", state.0, self.total, self.unit, left);
        }
    }
}
