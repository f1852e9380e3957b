//! The key-owner service across a process boundary: the cloud's trainer and the hospital's `medblind refresh`
//! share a folder (a mounted share, or any file transport).
//!
//! Requests are numbered `NNNNNN`: `NNNNNN.refresh` (ciphertexts to refresh) with `NNNNNN.refresh.level` (the level
//! wanted, at most the fresh one) is answered by `NNNNNN.refresh.reply` (fresh encryptions of the same values at
//! that level); `NNNNNN.loss` (each validation batch's logits then
//! labels) with `NNNNNN.loss.rows` (the real rows of each batch) is answered by `NNNNNN.loss.reply`, the validation
//! loss under the softmax approximation **rounded to 1e-4** — the only value derived from a decryption that
//! reaches the cloud (for early stopping);
//! rounding far above the CKKS noise keeps the noise, which IND-CPA-D attacks exploit, from leaving
//! the hospital. The cloud writes `done` when it has finished. Every file is written atomically and removed once
//! answered.

use super::he::{Ct, KeyOwner, fresh_level};
use super::key_owner::{KeyOwnerService, LocalKeyOwner, ValidationBatch};
use super::layout::Layout;
use super::plain::Validation;
use super::softmax::SoftmaxApprox;
use crate::files::{self, FileError};
use anyhow::{Result, bail};
use medblind_core::ckks::Context;
use medblind_core::wire;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often each side looks for the other's files.
const POLL: Duration = Duration::from_millis(50);
/// The file the cloud writes when training is over.
pub const DONE: &str = "done";

fn encode(ctx: &Context<Vec<u64>>, cts: &[Ct]) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for ct in cts {
        bytes.extend(wire::ciphertext_to_vec(ctx, ct)?);
    }
    Ok(bytes)
}

fn decode(ctx: &Context<Vec<u64>>, path: &Path) -> Result<Vec<Ct>> {
    let bytes = files::read(path)?;
    files::split_objects(path, &bytes)?
        .iter()
        .map(|o| wire::decode_ciphertext(ctx, o).map_err(|e| FileError::content(path, e).into()))
        .collect()
}

fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })?;
    Ok(())
}

/// The cloud's side: asks the hospital through the folder and waits for its replies.
pub struct RemoteKeyOwner<'a> {
    dir: PathBuf,
    ctx: &'a Context<Vec<u64>>,
    next: usize,
    /// The first request of this process (those below were a stopped process's).
    first: usize,
    refreshed: usize,
    timeout: Duration,
}

impl<'a> RemoteKeyOwner<'a> {
    /// A service through `dir` that gives up after `timeout` without a reply. Requests are numbered past any an
    /// earlier cloud process left (one that was stopped, say, and is being resumed), whose replies are removed:
    /// a late reply to an old request can never be read as the answer to a new one.
    ///
    /// # Errors
    /// If the folder cannot be created or read, or a file from an earlier run cannot be removed.
    pub fn new(dir: &Path, ctx: &'a Context<Vec<u64>>, timeout: Duration) -> Result<Self> {
        let io = |source| FileError::Io { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        if dir.join(DONE).exists() {
            remove(&dir.join(DONE))?;
        }
        let next = remove_replies_before(dir, usize::MAX)?.map_or(0, |last| last + 1);
        Ok(Self { dir: dir.to_path_buf(), ctx, next, first: next, refreshed: 0, timeout })
    }

    /// Sends a request (`extra` files first, then the request itself) and returns the reply's path.
    fn ask(&mut self, kind: &str, cts: &[Ct], extra: Option<(&str, String)>) -> Result<PathBuf> {
        let id = format!("{:06}", self.next);
        self.next += 1;
        if let Some((suffix, text)) = extra {
            files::write_atomic(&self.dir.join(format!("{id}.{kind}.{suffix}")), text.as_bytes(), false)?;
        }
        files::write_atomic(&self.dir.join(format!("{id}.{kind}")), &encode(self.ctx, cts)?, false)?;
        let reply = self.dir.join(format!("{id}.{kind}.reply"));
        let start = Instant::now();
        while !reply.exists() {
            if start.elapsed() > self.timeout {
                bail!(
                    "no reply from the key owner in {} s for {} (is `medblind refresh` running on this folder?)",
                    self.timeout.as_secs(),
                    self.dir.join(format!("{id}.{kind}")).display()
                );
            }
            std::thread::sleep(POLL);
        }
        Ok(reply)
    }

    /// Tells the hospital that training is over.
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn finish(&self) -> Result<()> {
        // The hospital has answered, by now, whatever a stopped cloud process had asked last.
        remove_replies_before(&self.dir, self.first)?;
        Ok(files::write_atomic(&self.dir.join(DONE), b"", false)?)
    }
}

/// Removes the replies to requests numbered below `limit` from `dir`; returns the highest request number found.
fn remove_replies_before(dir: &Path, limit: usize) -> Result<Option<usize>> {
    let io = |source| FileError::Io { path: dir.to_path_buf(), source };
    let mut last = None;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(id) = name.split('.').next().and_then(|id| id.parse::<usize>().ok()) {
            last = last.max(Some(id));
            if id < limit && name.ends_with(".reply") {
                remove(&path)?;
            }
        }
    }
    Ok(last)
}

impl KeyOwnerService for RemoteKeyOwner<'_> {
    fn refresh(&mut self, cts: &mut [Ct], level: usize) -> Result<()> {
        let top = fresh_level(self.ctx.params());
        if level > top {
            bail!("cannot ask for a refresh at level {level}, above the fresh level {top}");
        }
        let reply = self.ask("refresh", cts, Some(("level", level.to_string())))?;
        let fresh = decode(self.ctx, &reply)?;
        if fresh.len() != cts.len()
            || fresh.iter().zip(cts.iter()).any(|(f, c)| f.level() != level || f.slots() != c.slots())
        {
            bail!("{}: expected {} ciphertexts at level {level}", reply.display(), cts.len());
        }
        cts.clone_from_slice(&fresh);
        self.refreshed += cts.len();
        remove(&reply)
    }

    fn validate(&mut self, batches: &[ValidationBatch]) -> Result<Validation> {
        let cts: Vec<Ct> = batches.iter().flat_map(|b| [b.logits.clone(), b.labels.clone()]).collect();
        let rows: Vec<String> = batches.iter().map(|b| b.rows.to_string()).collect();
        let reply = self.ask("loss", &cts, Some(("rows", rows.join(","))))?;
        let text = String::from_utf8(files::read(&reply)?).unwrap_or_default();
        let loss = text.trim().parse::<f64>().map_err(|_| FileError::content(&reply, "not a number"))?;
        remove(&reply)?;
        Ok(Validation { loss, max_abs_logit: None })
    }

    fn refreshes(&self) -> usize {
        self.refreshed
    }
}

/// The hospital's side: answers the requests in `dir` with `owner`'s key, scoring validation logits with `approx`,
/// until the cloud writes `done`; `progress` hears of each answer. Returns the number of requests answered.
///
/// # Errors
/// On an unreadable request or a failed write.
pub fn serve(
    dir: &Path,
    owner: &KeyOwner<'_>,
    ctx: &Context<Vec<u64>>,
    layout: &Layout,
    approx: SoftmaxApprox,
    progress: &mut dyn FnMut(&str),
) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?;
    if dir.join(DONE).exists() {
        remove(&dir.join(DONE))?; // from an earlier run: this cloud cannot have finished without us
    }
    let mut local = LocalKeyOwner::new(owner, layout, approx);
    let mut answered = 0;
    loop {
        let mut requests: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "refresh" || x == "loss"))
            .collect();
        requests.sort();
        for request in &requests {
            let kind = request.extension().and_then(|x| x.to_str()).unwrap_or_default().to_string();
            let reply = request.with_extension(format!("{kind}.reply"));
            let mut cts = decode(ctx, request)?;
            if cts.iter().any(|ct| ct.slots() != layout.slots) {
                return Err(FileError::content(request, format!("ciphertexts not of {} slots", layout.slots)).into());
            }
            if kind == "refresh" {
                let level_path = request.with_extension("refresh.level");
                let text = String::from_utf8(files::read(&level_path)?).unwrap_or_default();
                let level = text
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&l| l <= fresh_level(ctx.params()))
                    .ok_or_else(|| FileError::content(&level_path, "not a level at or below the fresh one"))?;
                local.refresh(&mut cts, level)?;
                files::write_atomic(&reply, &encode(ctx, &cts)?, false)?;
                remove(&level_path)?;
                progress(&format!("refreshed {} ciphertexts", cts.len()));
            } else {
                let rows_path = request.with_extension("loss.rows");
                let text = String::from_utf8(files::read(&rows_path)?).unwrap_or_default();
                let rows = text.split(',').map(|r| r.trim().parse::<usize>()).collect::<Result<Vec<_>, _>>();
                let rows = rows
                    .ok()
                    .filter(|r| 2 * r.len() == cts.len() && r.iter().all(|&n| n <= layout.rows))
                    .ok_or_else(|| FileError::content(&rows_path, "row counts do not match the request"))?;
                let batches: Vec<ValidationBatch> = cts
                    .chunks_exact(2)
                    .zip(rows)
                    .map(|(pair, rows)| ValidationBatch { logits: pair[0].clone(), labels: pair[1].clone(), rows })
                    .collect();
                let validation = local.validate(&batches)?;
                files::write_atomic(&reply, format!("{:.4}", validation.loss).as_bytes(), false)?;
                remove(&rows_path)?;
                let logit = validation.max_abs_logit.map_or(String::new(), |m| format!(", largest |logit| {m:.2}"));
                progress(&format!("validation loss {:.4}{logit}", validation.loss));
            }
            remove(request)?;
            answered += 1;
        }
        if requests.is_empty() && dir.join(DONE).exists() {
            remove(&dir.join(DONE))?;
            return Ok(answered);
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::fixtures::test_literal;
    use medblind_core::ckks::{Encoder, Params};

    #[test]
    fn the_hospital_refuses_a_refresh_without_a_valid_level() {
        let ctx = Context::new(&Params::new(&test_literal()).unwrap()).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        let owner = KeyOwner::generate(&ctx, &encoder);
        let layout = Layout::new(ctx.degree() / 2, 16, 3, 10).unwrap();
        let ct = owner.encrypt(&vec![0.5; layout.slots]).unwrap();
        for (level, why) in [(Some("31"), "above the fresh level 30"), (Some("two"), "not a number"), (None, "missing")]
        {
            let dir = tempfile::tempdir().unwrap();
            files::write_atomic(
                &dir.path().join("000000.refresh"),
                &encode(&ctx, std::slice::from_ref(&ct)).unwrap(),
                false,
            )
            .unwrap();
            if let Some(level) = level {
                files::write_atomic(&dir.path().join("000000.refresh.level"), level.as_bytes(), false).unwrap();
            }
            let approx = SoftmaxApprox::standard(3);
            let err = serve(dir.path(), &owner, &ctx, &layout, approx, &mut |_| {}).unwrap_err().to_string();
            assert!(err.contains("000000.refresh.level"), "{why}: {err}");
            assert!(!dir.path().join("000000.refresh.reply").exists(), "{why}: answered anyway");
        }
    }

    /// A cloud process resumed on a folder where a stopped one left a request and its late reply numbers past
    /// them and removes the reply, so it is never read as the answer to a new request.
    #[test]
    fn a_resumed_cloud_numbers_past_the_requests_of_a_stopped_one() {
        let ctx = Context::new(&Params::new(&test_literal()).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for name in ["000007.refresh", "000007.refresh.level", "000007.refresh.reply", "notes.txt"] {
            files::write_atomic(&dir.path().join(name), b"old", false).unwrap();
        }
        let cloud = RemoteKeyOwner::new(dir.path(), &ctx, Duration::from_secs(1)).unwrap();
        assert_eq!(cloud.next, 8);
        assert!(!dir.path().join("000007.refresh.reply").exists());
        assert!(dir.path().join("000007.refresh").exists() && dir.path().join("notes.txt").exists());
    }
}
