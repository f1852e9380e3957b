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
//!
//! [`Verdict`]: crate::train::schedule::Verdict
//! [`REFRESH_BOUND`]: crate::train::key_owner::REFRESH_BOUND

mod cloud;
mod folder;
mod hospital;

pub use cloud::RemoteKeyOwner;
pub use folder::DONE;
pub use hospital::{Agreement, serve};

#[cfg(test)]
mod tests {
    use super::folder::POLL;
    use super::*;
    use crate::files;
    use crate::keystore;
    use crate::train::fixtures::test_literal;
    use crate::train::key_owner::{KeyOwner, KeyOwnerService, ValidationBatch};
    use crate::train::layout::Layout;
    use crate::train::plan::Plan;
    use crate::train::plan::softmax_for;
    use crate::train::schedule::Verdict;
    use anyhow::Result;
    use medblind_core::ckks::Context;
    use medblind_core::ckks::{Encoder, Params};
    use std::path::Path;
    use std::time::{Duration, Instant};

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
}
