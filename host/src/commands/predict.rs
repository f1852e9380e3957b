//! `medblind predict`: encrypted inference in the cloud.

use super::parties::{CloudFolder, write_cts};
use crate::files;
use crate::keystore;
use crate::train::batches::Batches;
use crate::train::store::Part;
use anyhow::bail;
use medblind_core::ckks::Engine;
use std::path::PathBuf;

/// Cloud: encrypted inference — the test batches' logits under the encrypted weights, written encrypted.
#[derive(clap::Args)]
pub struct Args {
    /// The batch folder (from `encrypt-features`).
    #[arg(long)]
    pub data: PathBuf,
    /// The encrypted weights (from `medblind train`).
    #[arg(long)]
    pub weights: PathBuf,
    /// The encrypted logits to write.
    #[arg(long)]
    pub out: PathBuf,
}

impl Args {
    /// Encrypted inference in the cloud — the logits of every test batch of the folder under the
    /// encrypted weights, written encrypted (one ciphertext per batch, diagonal layout) for the hospital to decrypt.
    ///
    /// # Errors
    /// A damaged folder or weights file, weights of another packing, or file trouble.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Self { data, weights, out } = self;
        let (data, weights, out) = (data.as_path(), weights.as_path(), out.as_path());
        files::check_output(out, force)?;
        let cloud = CloudFolder::open(data)?;
        let (ctx, layout) = (&cloud.session.ctx, cloud.store.layout);
        let bytes = cloud.session.read_objects(weights)?;
        keystore::refuse_secret(weights, &bytes)?;
        let w = keystore::decode_ciphertexts(ctx, weights, &bytes, cloud.keys.key)?;
        if w.len() != layout.blocks || w.iter().any(|ct| ct.slots() != layout.slots || ct.level() < 2) {
            bail!(
                "{}: expected {} weight ciphertexts of {} slots with 2 levels left (from `medblind train` on this folder)",
                weights.display(),
                layout.blocks,
                layout.slots
            );
        }
        let engine = Engine::new(ctx, &cloud.session.encoder, &cloud.keys.keys);
        let trainer = cloud.trainer(&engine)?;
        let test = cloud.store.part(ctx, Part::Test);
        let bar = crate::progress::items(test.count() as u64, "encrypted inference", "batches");
        let logits = (0..test.count())
            .map(|b| {
                let z = trainer.predict(&*test.batch(b)?, &w);
                bar.inc(1);
                z
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        bar.finish_and_clear();
        write_cts(ctx, &logits, cloud.keys.key, out)?;
        let rows: usize = cloud.store.rows(Part::Test).iter().sum();
        eprintln!("cloud: encrypted logits of {rows} test rows in {}", out.display());
        Ok(())
    }
}
