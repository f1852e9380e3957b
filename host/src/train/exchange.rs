//! The key-owner service across a process boundary: the cloud's trainer and the hospital's `medblind refresh`
//! share a folder (a mounted share, or any file transport).
//!
//! Requests are numbered `NNNNNN`: `NNNNNN.refresh` (ciphertexts to refresh) with `NNNNNN.refresh.level` (the level
//! wanted) is answered by `NNNNNN.refresh.reply` (fresh encryptions of the same values at that level);
//! `NNNNNN.validation` (each validation batch's logits then labels) with `NNNNNN.validation.epoch` (the epoch, from
//! 0) is answered by `NNNNNN.validation.reply`, the key owner's [`Verdict`] on the epoch — `improved`, `continue` or
//! `stop` — and nothing else derived from a decryption. The cloud writes `done` when it has finished.
//!
//! The hospital answers only what the [`Agreement`] implies: each epoch of the agreed schedule judged once, in
//! order, none after a stop (a repeated epoch gets the verdict already given, decrypting nothing); refreshes only
//! of the counts and levels the plan names, as many as the schedule needs twice over (room for a cloud that resumes
//! every step once); every value it re-encrypts clamped to ±[`REFRESH_BOUND`], so that a refresh reply never
//! depends on what it decrypts to. What a cloud that deviates from the protocol can learn is therefore bounded by
//! the verdicts: at most `epochs · log2 3` bits per run. A request outside the agreement, or a request file that
//! is not a regular file of the folder (a link, say), is refused: the hospital writes `NNNNNN.KIND.refused` with
//! the reason, logs it and stops. Its judgements are kept in a ledger of its own (outside the shared folder), so a
//! restarted hospital takes up the run where it was. Every file is written atomically and removed once answered;
//! what a stopped cloud process left is removed when the run is over.

use super::key_owner::KeyOwner;
use super::key_owner::{Judgement, KeyOwnerService, LocalKeyOwner, REFRESH_BOUND, ValidationBatch};
use super::layout::Layout;
use super::plan::Plan;
use super::schedule::Verdict;
use super::softmax::SoftmaxApprox;
use crate::files::{self, FileError};
use crate::keystore;
use anyhow::{Result, bail};
use medblind_core::ckks::Context;
use medblind_core::ckks::Ct;
use medblind_core::wire::KeyId;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most bytes read of a request's detail file (a number).
const DETAIL_LIMIT: u64 = 32;

/// How often each side looks for the other's files.
const POLL: Duration = Duration::from_millis(50);
/// The file the cloud writes when training is over.
pub const DONE: &str = "done";

fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })?;
    Ok(())
}

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

/// What the hospital agreed to serve: from the schedule, the packing and the plan it knows every request an honest
/// cloud makes.
pub struct Agreement {
    /// The schedule's epochs.
    pub epochs: usize,
    /// The schedule's patience (early stopping is the hospital's).
    pub patience: usize,
    /// The batches' packing.
    pub layout: Layout,
    /// Where a step takes fresh levels.
    pub plan: Plan,
    /// The softmax approximation the trainer uses.
    pub approx: SoftmaxApprox,
    /// Training batches per epoch.
    pub train_batches: usize,
    /// The real rows of each validation batch.
    pub val_rows: Vec<usize>,
}

impl Agreement {
    /// The (count, level) of every refresh the plan makes: the weights with the lookahead weights at the level a
    /// step starts from, and within a step one ciphertext at the fresh level where the plan cuts it.
    fn refresh_shapes(&self) -> Vec<(usize, usize)> {
        let mut shapes = vec![(2 * self.layout.blocks, self.plan.weights)];
        if self.plan.refreshes_within_step() > 0 {
            shapes.push((1, self.plan.fresh));
        }
        shapes
    }

    /// The most refresh requests answered: what the schedule needs, twice over.
    fn refresh_budget(&self) -> usize {
        2 * self.epochs * self.train_batches * (1 + self.plan.refreshes_within_step())
    }
}

/// Opens `name` of `dir` only if it is a regular file of the folder itself, not a link to one elsewhere.
fn open_request(dir: &Path, name: &str) -> Result<std::fs::File, String> {
    let path = dir.join(name);
    let link = std::fs::symlink_metadata(&path).map_err(|_| format!("{name} is missing"))?;
    if !link.file_type().is_file() {
        return Err(format!("{name} is not a regular file of the exchange folder"));
    }
    let file = std::fs::File::open(&path).map_err(|e| format!("{name}: {e}"))?;
    let opened = file.metadata().map_err(|e| format!("{name}: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (opened.dev(), opened.ino()) != (link.dev(), link.ino()) {
            return Err(format!("{name} changed while it was opened"));
        }
    }
    Ok(file)
}

/// The hospital's side: answers the requests in `dir` with `owner`'s key under `agreement`, keeping its judgements
/// in `ledger` (a file of its own, taken up if it exists, removed when the cloud is done), until the cloud writes
/// `done`; `progress` hears of each answer and refusal. Returns the number of requests answered.
///
/// # Errors
/// A request outside the agreement (after writing the refusal), an unreadable folder or a failed write.
pub fn serve(
    dir: &Path,
    owner: &KeyOwner<'_>,
    ctx: &Context<Vec<u64>>,
    agreement: &Agreement,
    ledger: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?;
    if dir.join(DONE).exists() {
        remove(&dir.join(DONE))?; // from an earlier run: this cloud cannot have finished without us
    }
    let mut local =
        LocalKeyOwner::new(owner, &agreement.layout, agreement.approx.clone(), agreement.epochs, agreement.patience);
    let mut refreshes = 0;
    if ledger.exists() {
        let losses;
        (refreshes, losses) = read_ledger(ledger)?;
        progress(&format!(
            "taking up the run after {refreshes} refreshes and {} judged epochs ({})",
            losses.len(),
            ledger.display()
        ));
        local.resume(losses);
    }
    let mut answered = 0;
    loop {
        let mut requests: Vec<String> = std::fs::read_dir(dir)
            .map_err(|source| FileError::Io { path: dir.to_path_buf(), source })?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| {
                let mut parts = name.split('.');
                parts.next().is_some_and(|id| id.parse::<usize>().is_ok())
                    && matches!((parts.next(), parts.next()), (Some("refresh" | "validation"), None))
            })
            .collect();
        requests.sort();
        for name in &requests {
            let (kind, detail) =
                if name.ends_with(".refresh") { ("refresh", "level") } else { ("validation", "epoch") };
            let answer = answer(dir, name, detail, ctx, agreement, &mut local, &mut refreshes);
            let request = dir.join(name);
            let detail_path = dir.join(format!("{name}.{detail}"));
            match answer {
                Ok((reply, line)) => {
                    write_ledger(ledger, refreshes, local.losses())?;
                    files::write_atomic(&request.with_extension(format!("{kind}.reply")), &reply, false)?;
                    progress(&line);
                    answered += 1;
                    for path in [&detail_path, &request] {
                        remove(path)?;
                    }
                }
                Err(reason) => {
                    files::write_atomic(&request.with_extension(format!("{kind}.refused")), reason.as_bytes(), false)?;
                    progress(&format!("refused {name}: {reason}"));
                    for path in [&detail_path, &request] {
                        if std::fs::symlink_metadata(path).is_ok() {
                            remove(path)?;
                        }
                    }
                    bail!("refused the cloud's request {}: {reason}", request.display());
                }
            }
        }
        if requests.is_empty() && dir.join(DONE).exists() {
            remove_leftovers(dir)?;
            remove(&dir.join(DONE))?;
            if ledger.exists() {
                remove(ledger)?;
            }
            if local.clamped() > 0 {
                progress(&format!("{} refreshed values were beyond ±{REFRESH_BOUND} and clamped", local.clamped()));
            }
            return Ok(answered);
        }
        std::thread::sleep(POLL);
    }
}

/// Removes what a stopped cloud process left in `dir` once the run is over: numbered files, and the temporary
/// files of numbered files (`.NNNNNN.….tmp`, from a write that was cut short).
fn remove_leftovers(dir: &Path) -> Result<()> {
    let io = |source| FileError::Io { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let numbered = |n: &str| n.split('.').next().is_some_and(|id| id.len() == 6 && id.parse::<usize>().is_ok());
        let temporary = name.strip_prefix('.').filter(|n| n.ends_with(".tmp"));
        if numbered(name) || temporary.is_some_and(numbered) {
            remove(&path)?;
        }
    }
    Ok(())
}

/// The reply to request `name` and a line for the hospital's log, or why it is refused.
fn answer(
    dir: &Path,
    name: &str,
    detail: &str,
    ctx: &Context<Vec<u64>>,
    agreement: &Agreement,
    local: &mut LocalKeyOwner<'_>,
    refreshes: &mut usize,
) -> Result<(Vec<u8>, String), String> {
    let mut text = Vec::new();
    let detail_file = open_request(dir, &format!("{name}.{detail}"))?;
    detail_file.take(DETAIL_LIMIT).read_to_end(&mut text).map_err(|e| format!("{name}.{detail}: {e}"))?;
    let number = String::from_utf8_lossy(&text)
        .trim()
        .parse::<usize>()
        .map_err(|_| format!("{name}.{detail} is not a number"))?;
    let path = dir.join(name);
    let bytes = keystore::read_objects(ctx, open_request(dir, name)?, &path).map_err(|e| e.to_string())?;
    let mut cts = keystore::decode_ciphertexts(ctx, &path, &bytes, local.key()).map_err(|e| e.to_string())?;
    if cts.iter().any(|ct| ct.slots() != agreement.layout.slots) {
        return Err(format!("ciphertexts not of {} slots", agreement.layout.slots));
    }
    if detail == "level" {
        let level = number;
        if !agreement.refresh_shapes().contains(&(cts.len(), level)) {
            return Err(format!("a refresh of {} ciphertexts at level {level} is not one the plan makes", cts.len()));
        }
        if *refreshes >= agreement.refresh_budget() {
            return Err(format!("more refreshes than the agreed schedule needs ({})", agreement.refresh_budget() / 2));
        }
        *refreshes += 1;
        local.refresh(&mut cts, level).map_err(|e| e.to_string())?;
        let reply = keystore::ciphertexts_to_vec(ctx, &cts, local.key()).map_err(|e| e.to_string())?;
        return Ok((reply, format!("refreshed {} ciphertexts", cts.len())));
    }
    let epoch = number;
    if cts.len() != 2 * agreement.val_rows.len() {
        return Err(format!(
            "{} ciphertexts, not the logits and labels of {} validation batches",
            cts.len(),
            agreement.val_rows.len()
        ));
    }
    let batches: Vec<ValidationBatch> = cts
        .chunks_exact(2)
        .zip(&agreement.val_rows)
        .map(|(pair, &rows)| ValidationBatch { logits: pair[0].clone(), labels: pair[1].clone(), rows })
        .collect();
    let judgement = local.validate(epoch, &batches).map_err(|e| e.to_string())?;
    let mut line = format!("epoch {}: {}", epoch + 1, judgement.verdict.word());
    match judgement.validation {
        Some(v) => {
            line += &format!(" (validation loss {:.4}", v.loss);
            if let Some(m) = v.max_abs_logit {
                line += &format!(", largest |logit| {m:.2}");
            }
            line.push(')');
        }
        None => line += " (asked again: the verdict already given)",
    }
    Ok((judgement.verdict.word().as_bytes().to_vec(), line))
}

/// The ledger: `refreshes=N`, then `loss=L` per judged epoch, in order.
fn read_ledger(path: &Path) -> Result<(usize, Vec<f64>)> {
    let text = String::from_utf8(files::read(path)?).map_err(|_| FileError::content(path, "not text"))?;
    let bad = |line: &str| FileError::content(path, format!("`{line}` is not a ledger line"));
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let refreshes = first.strip_prefix("refreshes=").and_then(|n| n.parse().ok()).ok_or_else(|| bad(first))?;
    let losses = lines
        .map(|l| l.strip_prefix("loss=").and_then(|v| v.parse().ok()).ok_or_else(|| bad(l)))
        .collect::<Result<_, _>>()?;
    Ok((refreshes, losses))
}

/// Writes the ledger atomically, readable by the hospital only.
fn write_ledger(path: &Path, refreshes: usize, losses: impl Iterator<Item = f64>) -> Result<()> {
    let text: String =
        std::iter::once(format!("refreshes={refreshes}\n")).chain(losses.map(|l| format!("loss={l}\n"))).collect();
    Ok(files::write_atomic(path, text.as_bytes(), true)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::fixtures::test_literal;
    use crate::train::plan::softmax_for;
    use medblind_core::ckks::{Encoder, Params};

    /// The hospital's parameters.
    struct Hospital {
        ctx: Context<Vec<u64>>,
        encoder: Encoder<Vec<f64>>,
    }

    impl Hospital {
        fn new() -> Self {
            let ctx = Context::new(&Params::new(&test_literal()).unwrap()).unwrap();
            let encoder = Encoder::new(ctx.log_degree()).unwrap();
            Self { ctx, encoder }
        }

        /// An agreement of `epochs` epochs (patience 0) over 3 training batches and 2 validation batches.
        fn agreement(&self, epochs: usize) -> Agreement {
            let layout = Layout::new(self.ctx.degree() / 2, 16, 3, 10).unwrap();
            let approx = softmax_for(3, Some(&test_literal()));
            let plan = Plan::for_params(&approx, &test_literal()).unwrap();
            Agreement { epochs, patience: 0, layout, plan, approx, train_batches: 3, val_rows: vec![16, 7] }
        }
    }

    /// Runs the hospital on a fresh folder while `cloud` asks through it, then says `done`; returns the hospital's
    /// result, its log and the folder's files at the end.
    fn exchange(
        hospital: &Hospital,
        agreement: &Agreement,
        owner: &KeyOwner<'_>,
        cloud: impl FnOnce(&Path),
    ) -> (Result<usize>, Vec<String>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, shared) = (dir.path().join("ledger"), dir.path().join("shared"));
        std::fs::create_dir(&shared).unwrap();
        let mut log = Vec::new();
        let served = std::thread::scope(|scope| {
            let server = scope
                .spawn(|| serve(&shared, owner, &hospital.ctx, agreement, &ledger, &mut |l| log.push(l.to_string())));
            cloud(&shared);
            files::write_atomic(&shared.join(DONE), b"", false).unwrap();
            server.join().unwrap()
        });
        let mut left: Vec<String> = std::fs::read_dir(&shared)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name != DONE)
            .collect();
        left.sort();
        (served, log, left)
    }

    /// Validation batches whose every slot holds `value`: logits all `value`, and labels.
    fn batches(owner: &KeyOwner<'_>, agreement: &Agreement, value: f64) -> Vec<ValidationBatch> {
        let slots = agreement.layout.slots;
        (agreement.val_rows.iter())
            .map(|&rows| ValidationBatch {
                logits: owner.encrypt(&vec![value; slots]).unwrap(),
                labels: owner.encrypt(&vec![1.0; slots]).unwrap(),
                rows,
            })
            .collect()
    }

    /// The bisection attack on the validation answers — a constant added to every slot of the validation logits,
    /// bisected on whether the hospital says `stop` (the logits left the approximation's range) — gets one verdict
    /// per agreed epoch and nothing more: an epoch asked again gets the verdict already given whatever the
    /// ciphertexts hold, and after a stop, or beyond the agreed epochs, the hospital refuses and stops.
    #[test]
    fn the_bisection_attack_learns_at_most_one_verdict_per_agreed_epoch() {
        let hospital = Hospital::new();
        let owner = KeyOwner::generate(&hospital.ctx, &hospital.encoder);
        let agreement = hospital.agreement(4);
        let bound = agreement.approx.bound;
        let secret = 7.3; // what the cloud wants to read, to 7 digits
        let mut answers = Vec::new();
        let mut interval = (-4.0 * bound, 4.0 * bound); // where the offset that reaches the bound lies
        let (served, log, left) = exchange(&hospital, &agreement, &owner, |shared| {
            let mut cloud = RemoteKeyOwner::new(shared, &hospital.ctx, owner.key(), Duration::from_secs(60)).unwrap();
            let first = cloud.validate(0, &batches(&owner, &agreement, secret)).unwrap();
            for offset in [100.0, -100.0] {
                assert_eq!(cloud.validate(0, &batches(&owner, &agreement, secret + offset)).unwrap(), first);
            }
            answers.push(first.verdict);
            for epoch in 1..30 {
                let offset = (interval.0 + interval.1) / 2.0;
                match cloud.validate(epoch, &batches(&owner, &agreement, secret + offset)) {
                    Ok(judgement) => {
                        answers.push(judgement.verdict);
                        if judgement.verdict == Verdict::Stop {
                            interval.1 = offset;
                        } else {
                            interval.0 = offset;
                        }
                    }
                    Err(refused) => {
                        assert!(refused.to_string().contains("the key owner refused"), "{refused}");
                        break;
                    }
                }
            }
        });
        assert!(answers.len() <= agreement.epochs, "{answers:?}");
        let width = interval.1 - interval.0;
        assert!(width >= 8.0 * bound / 2f64.powi(agreement.epochs as i32), "{interval:?}");
        let refusal = served.unwrap_err().to_string();
        assert!(refusal.contains("told to stop") || refusal.contains("beyond the agreed"), "{refusal}");
        assert!(log.iter().any(|l| l.starts_with("refused")), "{log:?}");
        assert_eq!(log.iter().filter(|l| l.contains("asked again")).count(), 2, "{log:?}");
        assert!(left.iter().all(|f| f.ends_with(".refused")), "requests and replies consumed: {left:?}");
    }

    /// Refreshes other than the plan's — another level, a malformed or missing one — and a request file that is a
    /// link to a file elsewhere are refused with the reason and not answered; the plan's own is answered.
    #[test]
    fn the_hospital_refuses_refreshes_the_plan_does_not_make_and_links() {
        let hospital = Hospital::new();
        let owner = KeyOwner::generate(&hospital.ctx, &hospital.encoder);
        let agreement = hospital.agreement(2);
        let ct = owner.encrypt(&vec![0.5; agreement.layout.slots]).unwrap();
        let weights =
            keystore::ciphertexts_to_vec(&hospital.ctx, &vec![ct; 2 * agreement.layout.blocks], owner.key()).unwrap();
        let level = agreement.plan.weights;
        let outside = tempfile::tempdir().unwrap();
        let local = outside.path().join("local.ct");
        std::fs::write(&local, &weights).unwrap();
        let cases: [(Option<String>, bool, &str); 5] = [
            (Some((level + 1).to_string()), false, "is not one the plan makes"),
            (Some("two".into()), false, "is not a number"),
            (None, false, "level is missing"),
            (Some(level.to_string()), true, "not a regular file"),
            (Some(level.to_string()), false, "answered"),
        ];
        for (level_text, link, why) in cases {
            let mut answer = None;
            let (served, _, left) = exchange(&hospital, &agreement, &owner, |shared| {
                if let Some(text) = &level_text {
                    std::fs::write(shared.join("000000.refresh.level"), text).unwrap();
                }
                if link {
                    std::os::unix::fs::symlink(&local, shared.join("000000.refresh")).unwrap();
                } else {
                    files::write_atomic(&shared.join("000000.refresh"), &weights, false).unwrap();
                }
                let start = Instant::now();
                while answer.is_none() {
                    answer = ["000000.refresh.reply", "000000.refresh.refused"]
                        .into_iter()
                        .find(|f| shared.join(f).exists());
                    assert!(start.elapsed() < Duration::from_secs(60), "{why}: no answer");
                    std::thread::sleep(POLL);
                }
            });
            if why == "answered" {
                assert_eq!((served.unwrap(), answer), (1, Some("000000.refresh.reply")));
                assert!(left.is_empty(), "a reply the cloud left is removed when it is done: {left:?}");
            } else {
                let error = served.unwrap_err().to_string();
                assert!(error.contains(why), "{why}: {error}");
                assert_eq!(left, ["000000.refresh.refused"], "{why}");
            }
        }
        assert_eq!(std::fs::read(&local).unwrap(), weights, "the link's target is left alone");
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
        let cloud = RemoteKeyOwner::new(dir.path(), &ctx, KeyId(1), Duration::from_secs(1)).unwrap();
        assert_eq!(cloud.next, 8);
        assert!(!dir.path().join("000007.refresh.reply").exists());
        assert!(dir.path().join("000007.refresh").exists() && dir.path().join("notes.txt").exists());
    }
}
