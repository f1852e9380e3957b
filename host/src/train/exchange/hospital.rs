//! The hospital's side of the exchange: [`serve`] answers the cloud's requests within an [`Agreement`], keeping
//! its judgements in a ledger of its own.

use super::folder::{DONE, POLL, remove};
use crate::files::{self, FileError};
use crate::keystore;
use crate::train::key_owner::{KeyOwner, KeyOwnerService, LocalKeyOwner, REFRESH_BOUND, ValidationBatch};
use crate::train::layout::Layout;
use crate::train::plan::Plan;
use crate::train::softmax::SoftmaxApprox;
use anyhow::{Result, bail};
use medblind_core::ckks::Context;
use std::io::Read;
use std::path::Path;

/// The most bytes read of a request's detail file (a number).
const DETAIL_LIMIT: u64 = 32;

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
