//! An encrypted training run's state between two steps, in one file, so that a run stopped at any point resumes
//! after its last finished step with the same numbers.
//!
//! The file, written atomically after every step: text lines `key=value` — `format=medblind-checkpoint/1`,
//! `run` (the identity of the run it belongs to: data, schedule and parameters, chosen by the caller), `epoch`
//! (the one in progress, from 0), `done` (its batches finished, in the epoch's order), `steps`, `refreshes`,
//! `bootstraps`, `seconds`, `blocks` (weight ciphertexts per set) and one `log` line per finished epoch (epoch,
//! validation loss, largest |logit| and validation accuracy, `-` where not known) — an empty line, then the
//! weights, the lookahead weights and the best epoch's weights, `blocks` ciphertexts each, in the wire format.
//! Nothing secret: what the cloud holds anyway and what the key owner told it.

use super::EpochLog;
use super::schedule::Verdict;
use crate::files::{self, FileError};
use crate::keystore;
use anyhow::Result;
use medblind_core::ckks::Context;
use medblind_core::ckks::Ct;
use medblind_core::wire::KeyId;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The format tag on the first line.
pub const FORMAT: &str = "medblind-checkpoint/2";

/// Where a training run stands after a step, or at the start of an epoch.
#[derive(Clone, Debug)]
pub struct TrainState {
    /// The epoch in progress (from 0).
    pub epoch: usize,
    /// Its batches already trained on, in the epoch's order.
    pub done: usize,
    /// The weights.
    pub w: Vec<Ct>,
    /// The lookahead weights.
    pub y: Vec<Ct>,
    /// The weights of the epoch with the lowest validation loss so far (zero before the first epoch ends).
    pub best: Vec<Ct>,
    /// The finished epochs.
    pub log: Vec<EpochLog>,
    /// Gradient steps taken.
    pub steps: usize,
    /// Ciphertexts the key owner refreshed.
    pub refreshes: usize,
    /// Ciphertexts the cloud bootstrapped.
    pub bootstraps: usize,
    /// Training time so far, seconds (over every process that worked on the run).
    pub seconds: f64,
}

/// A run's checkpoint file.
pub struct Checkpoint<'a> {
    /// The file.
    pub path: PathBuf,
    /// The parameters its ciphertexts are under.
    pub ctx: &'a Context<Vec<u64>>,
    /// The key pair its ciphertexts belong to: a checkpoint of another key pair is refused.
    pub key: KeyId,
    /// The run's identity: a checkpoint of another run is refused.
    pub run: String,
}

impl Checkpoint<'_> {
    /// Writes `state` atomically.
    ///
    /// # Errors
    /// On an encoding or write failure, naming the file.
    pub fn save(&self, state: &TrainState) -> Result<()> {
        let s = state;
        let mut text = format!(
            "format={FORMAT}\nrun={}\nepoch={}\ndone={}\nsteps={}\nrefreshes={}\nbootstraps={}\nseconds={}\nblocks={}\n",
            self.run,
            s.epoch,
            s.done,
            s.steps,
            s.refreshes,
            s.bootstraps,
            s.seconds,
            s.w.len()
        );
        let known = |v: Option<f64>| v.map_or("-".to_string(), |v| v.to_string());
        for e in &s.log {
            let (loss, logit, accuracy) = (known(e.val_loss), known(e.val_max_abs_logit), known(e.val_accuracy));
            writeln!(text, "log={} {} {loss} {logit} {accuracy}", e.epoch, e.verdict.word())?;
        }
        text.push('\n');
        let mut bytes = text.into_bytes();
        bytes.extend(keystore::ciphertexts_to_vec(self.ctx, s.w.iter().chain(&s.y).chain(&s.best), self.key)?);
        Ok(files::write_atomic(&self.path, &bytes, false)?)
    }

    /// The saved state, or `None` when there is no file.
    ///
    /// # Errors
    /// [`FileError`] naming the file if it belongs to another run or is damaged.
    pub fn load(&self) -> Result<Option<TrainState>, FileError> {
        let (path, ctx, run) = (&self.path, self.ctx, self.run.as_str());
        if !path.exists() {
            return Ok(None);
        }
        let bytes = files::read(path)?;
        let bad = |message: &str| FileError::content(path, format!("not a usable training checkpoint: {message}"));
        let split = bytes.windows(2).position(|w| w == b"\n\n").ok_or_else(|| bad("no header"))?;
        let text = std::str::from_utf8(&bytes[..split]).map_err(|_| bad("the header is not text"))?;
        let mut fields = std::collections::HashMap::new();
        let mut log_lines = Vec::new();
        for line in text.lines() {
            let (key, value) = line.split_once('=').ok_or_else(|| bad("a header line without `=`"))?;
            if key == "log" {
                log_lines.push(value);
            } else {
                fields.insert(key, value);
            }
        }
        if fields.get("format") != Some(&FORMAT) {
            return Err(bad(&format!("expected format {FORMAT}")));
        }
        let log = log_lines
            .into_iter()
            .map(|value| epoch_log(value).ok_or_else(|| bad("a malformed log line")))
            .collect::<Result<Vec<_>, _>>()?;
        if fields.get("run") != Some(&run) {
            return Err(FileError::content(
                path,
                "this checkpoint belongs to another run (other data, schedule or parameters); remove it to start over",
            ));
        }
        let number = |key: &str| -> Result<usize, FileError> {
            fields.get(key).and_then(|v| v.parse().ok()).ok_or_else(|| bad(&format!("no number `{key}`")))
        };
        let seconds = fields.get("seconds").and_then(|v| v.parse().ok()).ok_or_else(|| bad("no number `seconds`"))?;
        let blocks = number("blocks")?;
        let count = keystore::split_objects(path, &bytes[split + 2..])?.len();
        if blocks.checked_mul(3) != Some(count) {
            return Err(bad(&format!("{count} ciphertexts, expected 3 × {blocks}")));
        }
        let mut cts = keystore::decode_ciphertexts(ctx, path, &bytes[split + 2..], self.key)?;
        let best = cts.split_off(2 * blocks);
        let y = cts.split_off(blocks);
        Ok(Some(TrainState {
            epoch: number("epoch")?,
            done: number("done")?,
            w: cts,
            y,
            best,
            log,
            steps: number("steps")?,
            refreshes: number("refreshes")?,
            bootstraps: number("bootstraps")?,
            seconds,
        }))
    }

    /// Removes the file, if there is one: the run is over.
    ///
    /// # Errors
    /// [`FileError`] naming the file.
    pub fn remove(&self) -> Result<(), FileError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(FileError::Io { path: self.path.clone(), source: e })
            }
            _ => Ok(()),
        }
    }
}

/// A `log` line's value: `epoch verdict loss logit accuracy`, `-` for the unknown.
fn epoch_log(value: &str) -> Option<EpochLog> {
    let parts: Vec<&str> = value.split(' ').collect();
    let [epoch, verdict, loss, logit, accuracy] = parts[..] else { return None };
    let known = |v: &str| if v == "-" { Some(None) } else { v.parse().ok().map(Some) };
    Some(EpochLog {
        epoch: epoch.parse().ok()?,
        verdict: Verdict::from_word(verdict)?,
        val_loss: known(loss)?,
        val_max_abs_logit: known(logit)?,
        val_accuracy: known(accuracy)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::test_literal;
    use super::super::key_owner::KeyOwner;
    use super::*;
    use medblind_core::ckks::{Encoder, Params};

    #[test]
    fn a_checkpoint_reads_back_as_saved_and_only_for_its_run() {
        let ctx = Context::new(&Params::new(&test_literal()).unwrap()).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        let owner = KeyOwner::generate(&ctx, &encoder);
        let ct = |v: f64| owner.encrypt(&[v, -v]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let checkpoint =
            Checkpoint { path: dir.path().join("c.mbl"), ctx: &ctx, key: owner.key(), run: "run-a".into() };
        assert!(checkpoint.load().unwrap().is_none(), "no file, no state");
        let log = vec![
            EpochLog {
                epoch: 0,
                val_loss: Some(0.25),
                verdict: Verdict::Improved,
                val_accuracy: Some(0.875),
                val_max_abs_logit: Some(3.5),
            },
            EpochLog {
                epoch: 1,
                val_loss: Some(f64::INFINITY),
                verdict: Verdict::Stop,
                val_accuracy: None,
                val_max_abs_logit: None,
            },
            EpochLog {
                epoch: 2,
                val_loss: None,
                verdict: Verdict::Continue,
                val_accuracy: None,
                val_max_abs_logit: None,
            },
        ];
        let state = TrainState {
            epoch: 2,
            done: 1,
            w: vec![ct(0.5), ct(1.5)],
            y: vec![ct(2.5), ct(3.5)],
            best: vec![ct(4.5), ct(5.5)],
            log: log.clone(),
            steps: 7,
            refreshes: 14,
            bootstraps: 0,
            seconds: 12.75,
        };
        checkpoint.save(&state).unwrap();
        let back = checkpoint.load().unwrap().unwrap();
        assert_eq!((back.epoch, back.done, back.steps, back.refreshes, back.seconds), (2, 1, 7, 14, 12.75));
        assert_eq!(back.log, log);
        for (i, ct) in back.w.iter().chain(&back.y).chain(&back.best).enumerate() {
            let values = owner.decrypt(ct).unwrap();
            assert!((values[0] - (i as f64 + 0.5)).abs() < 1e-6 && (values[1] + i as f64 + 0.5).abs() < 1e-6);
        }
        let stranger = KeyId(owner.key().0.wrapping_add(1));
        let of_another_key =
            Checkpoint { path: checkpoint.path.clone(), ctx: &ctx, key: stranger, run: "run-a".into() };
        let message = of_another_key.load().unwrap_err().to_string();
        assert!(message.contains(&format!("belongs to key pair {}", owner.key())), "{message}");
        let other = Checkpoint { run: "run-b".into(), ..checkpoint };
        assert!(other.load().unwrap_err().to_string().contains("belongs to another run"));
        let bytes = std::fs::read(&other.path).unwrap();
        std::fs::write(&other.path, &bytes[..bytes.len() - 100]).unwrap();
        let checkpoint = Checkpoint { run: "run-a".into(), ..other };
        assert!(checkpoint.load().unwrap_err().to_string().contains("truncated"));
        checkpoint.remove().unwrap();
        checkpoint.remove().unwrap();
        assert!(checkpoint.load().unwrap().is_none());
    }
}
