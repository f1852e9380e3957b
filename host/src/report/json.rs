//! The report for programs: one JSON object per comparison.

use crate::train::compare::Comparison;
use crate::train::data::Split;
use serde_json::{Value, json};

/// The report as JSON. Epochs are numbered from 1, as in the Markdown; a run that stopped because a
/// validation logit left the approximation's range says so (`range_guard_stop`), and its last loss is `null`.
pub fn json(c: &Comparison, split: &Split) -> String {
    let s = &c.schedule;
    let runs: Vec<Value> = c
        .runs()
        .into_iter()
        .zip(c.test_accuracies(split))
        .map(|((name, r), (_, accuracy))| {
            json!({
                "name": name,
                "test_accuracy": accuracy,
                "best_epoch": r.best_epoch + 1,
                "range_guard_stop": r.stopped_on_range_guard(),
                "steps": r.steps,
                "refreshes": r.refreshes,
                "bootstraps": r.bootstraps,
                "seconds": r.seconds,
                "epoch": r.log.iter().map(|l| l.epoch + 1).collect::<Vec<_>>(),
                "val_loss": r.log.iter().map(|l| l.val_loss).collect::<Vec<_>>(),
                "val_accuracy": r.log.iter().map(|l| l.val_accuracy).collect::<Vec<_>>(),
                "val_max_abs_logit": r.log.iter().map(|l| l.val_max_abs_logit).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut report = json!({
        "dataset": c.dataset,
        "source": c.source,
        "backbone": c.backbone,
        "train": c.sizes[0],
        "val": c.sizes[1],
        "test": c.sizes[2],
        "dim": c.dim,
        "classes": c.classes,
        "schedule": {
            "learning_rate": s.learning_rate,
            "decay": s.decay,
            "weight_decay": s.weight_decay,
            "momentum": s.momentum,
            "batch": s.batch,
            "epochs": s.epochs,
            "patience": s.patience,
        },
        "softmax": {
            "bound": c.approx.bound,
            "domain": c.approx.domain,
            "squarings": c.approx.squarings,
            "inverse_degree": c.approx.inverse_degree,
            "headroom": c.approx.headroom,
            "stages": c.approx.stages,
        },
        "runs": runs,
    });
    if let (Some(e), Some(fields)) = (&c.encrypted, report.as_object_mut()) {
        fields.insert("preset".into(), json!(e.preset));
        fields.insert("bootstrapped".into(), json!(e.bootstrapped));
        fields.insert("keygen_seconds".into(), json!(e.keygen_seconds));
        fields.insert("encrypt_seconds".into(), json!(e.encrypt_seconds));
        fields.insert("rotation_keys".into(), json!(e.rotation_keys));
    }
    format!("{report}\n")
}
