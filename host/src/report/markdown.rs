//! The report for people: a Markdown section with the runs' table, the encrypted run's costs, and the plot.

use super::plot_file;
use crate::train::compare::Comparison;
use crate::train::data::Split;
use std::fmt::Write as _;

/// The report as a Markdown section.
pub fn markdown(c: &Comparison, split: &Split) -> String {
    let s = &c.schedule;
    let mut out = format!(
        "### {} ({} train / {} validation / {} test rows, {} features + bias, {} classes)\n\n\
         {}Schedule: NAG, learning rate {} × {}^epoch, weight decay {}, momentum {}, batch {}, at most {} epochs, patience {}. \
         Softmax approximation: B = {}, D = {}, k = {}, inverse of degree {}, h = {}, {} widening stages.\n\n\
         | run | test accuracy | best epoch (epochs from 1) | steps | ciphertexts refreshed by the key owner | bootstraps | training time |\n| --- | --- | --- | --- | --- | --- | --- |\n",
        c.dataset,
        c.sizes[0],
        c.sizes[1],
        c.sizes[2],
        c.dim - 1,
        c.classes,
        if c.source.is_empty() { String::new() } else { format!("Features: {}.\n\n", c.source) },
        s.learning_rate,
        s.decay,
        s.weight_decay,
        s.momentum,
        s.batch,
        s.epochs,
        s.patience,
        c.approx.bound,
        c.approx.domain,
        c.approx.squarings,
        c.approx.inverse_degree,
        c.approx.headroom,
        c.approx.stages
    );
    for ((name, r), (_, acc)) in c.runs().into_iter().zip(c.test_accuracies(split)) {
        let _ = writeln!(
            out,
            "| {name} | {:.2} % | {}{} | {} | {} | {} | {:.2} s |",
            acc * 100.0,
            r.best_epoch + 1,
            if r.stopped_on_range_guard() {
                ", then stopped: a validation logit left the approximation's range"
            } else {
                ""
            },
            r.steps,
            r.refreshes,
            r.bootstraps,
            r.seconds
        );
    }
    if let Some(e) = &c.encrypted {
        let plain_seconds = c.exact.seconds.max(1e-9);
        let steps = e.report.steps.max(1);
        let _ = write!(
            out,
            "\nEncrypted with preset `{}` ({}): {} Galois keys generated in {:.1} s, data encrypted in {:.1} s. \
             Encrypted training took {:.1} s, {:.1} s per step (validation included) for {} steps of homomorphic \
             products, rotations and {}, against {:.3} s for plaintext-exact training of the same schedule: \
             {:.0}× its time.\n",
            e.preset,
            if e.bootstrapped { "the cloud bootstraps" } else { "the key owner refreshes the weights" },
            e.rotation_keys,
            e.keygen_seconds,
            e.encrypt_seconds,
            e.report.seconds,
            e.report.seconds / steps as f64,
            e.report.steps,
            if e.bootstrapped {
                format!("{} bootstraps", e.report.bootstraps)
            } else {
                format!("{} ciphertexts refreshed", e.report.refreshes)
            },
            c.exact.seconds,
            e.report.seconds / plain_seconds
        );
    }
    let _ = write!(out, "\n![validation loss and accuracy per epoch]({})\n", plot_file(c));
    out
}
