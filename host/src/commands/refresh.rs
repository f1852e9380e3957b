//! `medblind refresh`: the hospital answers the cloud's refresh and validation requests.

use super::parties::{hospital, hospital_store};
use crate::files;
use crate::train::exchange;
use crate::train::key_owner::KeyOwner;
use crate::train::plan::{Plan, softmax_for};
use crate::train::store::{self, Part};
use md5::{Digest, Md5};
use std::path::PathBuf;
use std::time::Instant;

/// Hospital: answer the cloud's refresh and validation requests, as far as the agreed schedule asks, until its training is done.
#[derive(clap::Args)]
pub struct Args {
    /// The key folder (needs secret.key).
    #[arg(long)]
    pub keys: PathBuf,
    /// The batch folder the cloud trains on.
    #[arg(long)]
    pub data: PathBuf,
    /// The folder shared with the cloud's `medblind train`.
    #[arg(long)]
    pub exchange: PathBuf,
    /// The epochs agreed with the cloud: no epoch beyond them is judged.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Early stopping, the hospital's: stop after this many epochs without a lower validation loss (0: never).
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
}

impl Args {
    /// The hospital answers the cloud's refresh and validation requests in `exchange` until the
    /// cloud is done, as far as the agreed `epochs` and `patience` imply ([`exchange::serve`]); its ledger lives in the
    /// key folder while the run lasts.
    ///
    /// # Errors
    /// Unreadable keys or requests, a request outside the agreement, or file trouble.
    pub fn run(self) -> anyhow::Result<()> {
        let Self { keys, data, exchange: exchange_dir, epochs, patience } = self;
        let (keys, data, exchange_dir) = (keys.as_path(), data.as_path(), exchange_dir.as_path());
        let (session, (sk, key)) = hospital(keys)?;
        let store = hospital_store(data, &session, key, keys)?;
        let owner = KeyOwner::from_secret(&session.ctx, &session.encoder, sk, key);
        let literal = session.ctx.params().literal();
        let approx = softmax_for(store.layout.classes, Some(literal));
        let agreement = exchange::Agreement {
            epochs,
            patience,
            layout: store.layout,
            plan: Plan::for_params(&approx, literal)?,
            approx,
            train_batches: store.rows(Part::Train).len(),
            val_rows: store.rows(Part::Val).to_vec(),
        };
        let manifest = files::read(&data.join(store::MANIFEST))?;
        let ledger = keys.join(format!("refresh-{}.ledger", &crate::medmnist::hex(&Md5::digest(&manifest))[..12]));
        let start = Instant::now();
        let mut progress = |m: &str| eprintln!("[{:>7.1} s] hospital: {m}", start.elapsed().as_secs_f64());
        progress(&format!(
            "answering the cloud's requests in {} for at most {epochs} epochs (patience {patience})",
            exchange_dir.display()
        ));
        let answered = exchange::serve(exchange_dir, &owner, &session.ctx, &agreement, &ledger, &mut progress)?;
        progress(&format!("the cloud is done ({answered} requests answered)"));
        Ok(())
    }
}
