//! The plot: each run's validation loss and accuracy per epoch, drawn by plotters into an SVG.

use crate::train::EpochLog;
use crate::train::compare::Comparison;
use anyhow::Result;
use plotters::prelude::*;
use std::fmt::Write as _;

/// A per-epoch validation measure, one panel of the plot.
#[derive(Debug, Clone, Copy)]
enum Curve {
    /// The mean cross-entropy.
    Loss,
    /// The accuracy, in percent.
    Accuracy,
}

impl Curve {
    fn title(self) -> &'static str {
        match self {
            Curve::Loss => "validation loss",
            Curve::Accuracy => "validation accuracy (%)",
        }
    }

    /// `epoch`'s value, if recorded and finite (a diverging run's loss may not be).
    fn value(self, epoch: &EpochLog) -> Option<f64> {
        match self {
            Curve::Loss => epoch.val_loss,
            Curve::Accuracy => epoch.val_accuracy.map(|a| 100.0 * a),
        }
        .filter(|v| v.is_finite())
    }

    /// The value axis for `values`: their span with a margin, so that the change shows (the accuracy within
    /// 0–100 %, the loss above 0).
    fn range(self, values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
        let high = values.clone().fold(f64::NEG_INFINITY, f64::max);
        let low = values.fold(f64::INFINITY, f64::min);
        if !high.is_finite() {
            return 0.0..1.0;
        }
        let margin = (0.1 * (high - low)).max(0.02 * high.abs()).max(1e-6);
        let (low, high) = ((low - margin).max(0.0), high + margin);
        match self {
            Curve::Loss => low..high,
            Curve::Accuracy => low..high.min(100.0),
        }
    }
}

/// Each run's validation loss and validation accuracy per epoch, as an SVG drawn by plotters: a title naming
/// the dataset, the features' backbone and the preset; the legend in its own row above two panels; one line per
/// run, each narrower than the one before so that runs that agree stay visible on top of each other.
///
/// # Errors
/// If plotters fails to draw (it draws into memory, so only on a bug).
pub fn svg(c: &Comparison) -> Result<String> {
    const LINES: [(RGBColor, u32); 3] =
        [(RGBColor(0x1f, 0x77, 0xb4), 6), (RGBColor(0xff, 0x7f, 0x0e), 4), (RGBColor(0x2c, 0xa0, 0x2c), 2)];
    let runs = c.runs();
    let epochs = runs.iter().map(|(_, r)| r.log.len()).max().unwrap_or(0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 430)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(&title(c), ("sans-serif", 15))?;
        let (legend, panels) = root.split_vertically(30);
        for ((name, _), ((colour, width), x)) in runs.iter().zip(LINES.into_iter().zip([300, 470, 640])) {
            legend.draw(&PathElement::new([(x, 15), (x + 30, 15)], colour.stroke_width(width)))?;
            legend.draw(&Text::new(*name, (x + 38, 8), ("sans-serif", 13)))?;
        }
        for (panel, curve) in panels.split_evenly((1, 2)).iter().zip([Curve::Loss, Curve::Accuracy]) {
            let series: Vec<Vec<(usize, f64)>> = runs
                .iter()
                .map(|(_, r)| r.log.iter().filter_map(|l| Some((l.epoch + 1, curve.value(l)?))).collect())
                .collect();
            let range = curve.range(series.iter().flat_map(|points| points.iter().map(|&(_, v)| v)));
            let mut chart = ChartBuilder::on(panel)
                .caption(curve.title(), ("sans-serif", 14))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(0..epochs + 1, range)?;
            chart.configure_mesh().x_desc("epoch").draw()?;
            for (points, (colour, width)) in series.into_iter().zip(LINES) {
                chart.draw_series(LineSeries::new(points, colour.stroke_width(width)).point_size(width + 1))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// "DATASET, BACKBONE, preset PRESET: validation per epoch", leaving out what is not known.
fn title(c: &Comparison) -> String {
    let mut title = c.dataset.clone();
    if !c.backbone.is_empty() {
        let _ = write!(title, ", {}", c.backbone);
    }
    if let Some(e) = &c.encrypted {
        let _ = write!(title, ", preset {}", e.preset);
    }
    title + ": validation per epoch"
}
