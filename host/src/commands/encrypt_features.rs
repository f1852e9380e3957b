//! `medblind encrypt-features`: the hospital packs and encrypts a feature file into the batch folder the cloud
//! trains on.

use super::parties::{hospital, standardized_split};
use crate::files::FileError;
use crate::keystore::{self, PARAMS_FILE};
use crate::train::key_owner::KeyOwner;
use crate::train::layout::Layout;
use crate::train::plan::{Plan, softmax_for};
use crate::train::store::{self, Part};
use anyhow::{Context as _, bail};
use medblind_core::ckks::bootstrap::bootstrapping_for;
use std::path::PathBuf;

/// Hospital: pack and encrypt a feature file's train/validation splits into the batch folder the cloud trains
/// on (with params.mbl and the training keys; no secret material).
#[derive(clap::Args)]
pub struct Args {
    /// The key folder (needs secret.key).
    #[arg(long)]
    pub keys: PathBuf,
    /// The feature file (from `medblind extract`).
    #[arg(long)]
    pub features: PathBuf,
    /// Rows per mini-batch (a power of two).
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// The batch folder to write.
    #[arg(long)]
    pub out: PathBuf,
}

impl Args {
    /// The hospital packs and encrypts a feature file's train, validation and test
    /// splits (test labels withheld) into batches of `batch` rows, and writes the folder the cloud trains on (see
    /// [`store`]) with the keys the packing's rotations need.
    ///
    /// # Errors
    /// Unreadable inputs, a batch the packing cannot take, or file trouble.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Self { keys, features, batch, out } = self;
        let (keys, features, out) = (keys.as_path(), features.as_path(), out.as_path());
        if !force && std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
            bail!(
                "{}: the folder is not empty; refusing to write batches into it (pass --force to overwrite)",
                out.display()
            );
        }
        let (session, (sk, key)) = hospital(keys)?;
        let split = standardized_split(features)?;
        let ctx = &session.ctx;
        let layout = Layout::new(ctx.degree() / 2, batch, split.train.classes, split.train.dim())?;
        let approx = softmax_for(split.train.classes, Some(ctx.params().literal()));
        let levels = Plan::for_params(&approx, ctx.params().literal())
            .with_context(|| keys.display().to_string())?
            .batch_levels(&approx);
        let owner = KeyOwner::from_secret(ctx, &session.encoder, sk, key);
        let steps = layout.rotation_steps();
        let cloud = match bootstrapping_for(ctx.params().literal()) {
            Some(b) => {
                eprintln!("hospital: rotation, relinearization and bootstrapping keys (the cloud bootstraps)");
                owner.bootstrapping_keys(&steps, b)?
            }
            None => {
                eprintln!("hospital: {} rotation keys, the conjugation and the relinearization key", steps.len());
                owner.cloud_keys(&steps)
            }
        };
        std::fs::create_dir_all(out).map_err(|source| FileError::Io { path: out.to_path_buf(), source })?;
        cloud.save(&session, &out.join(store::KEYS))?;
        keystore::save_params(ctx, &out.join(PARAMS_FILE))?;
        let stored = store::encrypt_parts(ctx, &owner, layout, levels, [&split.train, &split.val, &split.test], out)?;
        let counts = [Part::Train, Part::Val, Part::Test].map(|part| stored.rows(part).len());
        eprintln!(
            "hospital: {} train, {} validation and {} test batches (test labels withheld) of {batch} rows in {} \
             (for the cloud: no secret material)",
            counts[0],
            counts[1],
            counts[2],
            stored.dir().display()
        );
        Ok(())
    }
}
