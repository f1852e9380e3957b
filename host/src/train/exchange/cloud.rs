//! The cloud's side of the exchange: [`RemoteKeyOwner`] asks the hospital through the folder and waits for its
//! replies.

use super::folder::{DONE, POLL, remove};
use crate::files::{self, FileError};
use crate::keystore;
use crate::train::key_owner::{Judgement, KeyOwnerService, ValidationBatch};
use crate::train::schedule::Verdict;
use anyhow::{Result, bail};
use medblind_core::ckks::{Context, Ct};
use medblind_core::wire::KeyId;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The cloud's side: asks the hospital through the folder and waits for its replies.
pub struct RemoteKeyOwner<'a> {
    dir: PathBuf,
    ctx: &'a Context<Vec<u64>>,
    key: KeyId,
    next: usize,
    /// The first request of this process (those below were a stopped process's).
    first: usize,
    refreshed: usize,
    timeout: Duration,
}

impl<'a> RemoteKeyOwner<'a> {
    /// A service through `dir` for ciphertexts of key pair `key` that gives up after `timeout` without a reply.
    /// Requests are numbered past any an
    /// earlier cloud process left (one that was stopped, say, and is being resumed), whose replies are removed:
    /// a late reply to an old request can never be read as the answer to a new one.
    ///
    /// # Errors
    /// If the folder cannot be created or read, or a file from an earlier run cannot be removed.
    pub fn new(dir: &Path, ctx: &'a Context<Vec<u64>>, key: KeyId, timeout: Duration) -> Result<Self> {
        let io = |source| FileError::Io { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        if dir.join(DONE).exists() {
            remove(&dir.join(DONE))?;
        }
        let next = remove_replies_before(dir, usize::MAX)?.map_or(0, |last| last + 1);
        Ok(Self { dir: dir.to_path_buf(), ctx, key, next, first: next, refreshed: 0, timeout })
    }

    /// Sends a request (its `detail` file first, then the request itself) and returns the reply's bytes.
    fn ask(&mut self, kind: &str, cts: &[Ct], detail: (&str, String)) -> Result<Vec<u8>> {
        let id = format!("{:06}", self.next);
        self.next += 1;
        files::write_atomic(&self.dir.join(format!("{id}.{kind}.{}", detail.0)), detail.1.as_bytes(), false)?;
        let request = self.dir.join(format!("{id}.{kind}"));
        files::write_atomic(&request, &keystore::ciphertexts_to_vec(self.ctx, cts, self.key)?, false)?;
        let (reply, refused) =
            (request.with_extension(format!("{kind}.reply")), request.with_extension(format!("{kind}.refused")));
        let start = Instant::now();
        loop {
            if reply.exists() {
                let bytes = files::read(&reply)?;
                remove(&reply)?;
                return Ok(bytes);
            }
            if refused.exists() {
                let reason = String::from_utf8_lossy(&files::read(&refused)?).trim().to_string();
                bail!("the key owner refused {}: {reason}", request.display());
            }
            if start.elapsed() > self.timeout {
                bail!(
                    "no reply from the key owner in {} s for {} (is `medblind refresh` running on this folder?)",
                    self.timeout.as_secs(),
                    request.display()
                );
            }
            std::thread::sleep(POLL);
        }
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
        let bytes = self.ask("refresh", cts, ("level", level.to_string()))?;
        let fresh = keystore::decode_ciphertexts(self.ctx, &self.dir, &bytes, self.key)?;
        if fresh.len() != cts.len()
            || fresh.iter().zip(cts.iter()).any(|(f, c)| f.level() != level || f.slots() != c.slots())
        {
            bail!(
                "the key owner's refresh in {}: expected {} ciphertexts at level {level}",
                self.dir.display(),
                cts.len()
            );
        }
        cts.clone_from_slice(&fresh);
        self.refreshed += cts.len();
        Ok(())
    }

    fn validate(&mut self, epoch: usize, batches: &[ValidationBatch]) -> Result<Judgement> {
        let cts: Vec<Ct> = batches.iter().flat_map(|b| [b.logits.clone(), b.labels.clone()]).collect();
        let bytes = self.ask("validation", &cts, ("epoch", epoch.to_string()))?;
        let word = String::from_utf8_lossy(&bytes).trim().to_string();
        let verdict = Verdict::from_word(&word)
            .ok_or_else(|| FileError::content(&self.dir, format!("the key owner's verdict `{word}` is not one")))?;
        Ok(Judgement { verdict, validation: None })
    }

    fn refreshes(&self) -> usize {
        self.refreshed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::fixtures::test_literal;
    use medblind_core::ckks::Params;

    /// A cloud process resumed on a folder where a stopped one left a request and its late reply numbers past
    /// them and removes the reply, so it is never read as the answer to a new request.
    #[test]
    fn a_resumed_cloud_numbers_past_the_requests_of_a_stopped_one() {
        let ctx = Context::new(&Params::new(&test_literal()).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for name in ["000007.refresh", "000007.refresh.level", "000007.refresh.reply", "notes.txt"] {
            files::write_atomic(&dir.path().join(name), b"old", false).unwrap();
        }
        let cloud = RemoteKeyOwner::new(dir.path(), &ctx, KeyId(1), Duration::from_secs(1)).unwrap();
        assert_eq!(cloud.next, 8);
        assert!(!dir.path().join("000007.refresh.reply").exists());
        assert!(dir.path().join("000007.refresh").exists() && dir.path().join("notes.txt").exists());
    }
}
