//! `medblind keygen`: a fresh key folder at the hospital.

use super::head::HeadShape;
use super::preset::Preset;
use crate::files;
use crate::keystore::{self, CloudKeys, EVAL_KEYS_FILE, PARAMS_FILE, PUBLIC_KEY_FILE, SECRET_KEY_FILE, Session};
use anyhow::bail;
use medblind_core::ckks::linear_layer::LinearLayer;
use medblind_core::ckks::{EvaluationKeys, GaloisKey, PublicKey, RelinearizationKey, SecretKey};
use medblind_core::wire::KeyId;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::PathBuf;

/// Hospital: generate a key folder (the secret key stays at the hospital; the rest goes to the cloud).
#[derive(clap::Args)]
pub struct Args {
    /// The parameter preset (see `medblind params`).
    #[arg(long, default_value = "n4096-qp109-s28")]
    pub preset: Preset,
    /// The folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also make the rotation keys for a linear head of CLASSESxFEATURES (repeatable).
    #[arg(long = "head")]
    pub heads: Vec<HeadShape>,
}

impl Args {
    /// A fresh key folder, published whole ([`files::publish_folder`]): a kill or a concurrent `keygen` never
    /// leaves a folder of mixed keys. Refuses to replace a key folder unless `force`.
    ///
    /// # Errors
    /// On an existing key folder, a head that does not fit, or a write failure (naming the file).
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let (literal, out) = (self.preset.0, &self.out);
        let session = Session::new(literal)?;
        if !force && std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
            bail!(
                "{}: a key folder is already there; refusing to replace it (pass --force to overwrite)",
                out.display()
            );
        }
        let ctx = &session.ctx;
        let mut elements: Vec<u64> = Vec::new();
        for head in &self.heads {
            let max_slots = ctx.params().max_slots();
            let layer_keys = Some(head.slots()).filter(|&slots| slots <= max_slots).and_then(|slots| {
                LinearLayer::galois_elements_of_shape(head.rows, head.cols, slots, ctx.degree()).ok()
            });
            let Some(layer_keys) = layer_keys else {
                bail!("--head {}x{} does not fit the {max_slots} slots of {}", head.rows, head.cols, literal.name);
            };
            for g in layer_keys {
                if !elements.contains(&g) {
                    elements.push(g);
                }
            }
        }
        let mut rng = ChaCha20Rng::from_os_rng();
        eprintln!("generating keys for {} (N = {})…", literal.name, ctx.degree());
        let sk = SecretKey::generate(ctx, &mut rng);
        let key = KeyId::random(&mut rng);
        let pk = PublicKey::generate(ctx, &sk, &mut rng);
        let rlk = RelinearizationKey::generate(ctx, &sk, &mut rng);
        let galois = elements
            .iter()
            .enumerate()
            .map(|(i, &g)| {
                eprintln!("  Galois key {}/{}", i + 1, elements.len());
                GaloisKey::generate(ctx, &sk, g, &mut rng)
            })
            .collect();
        let eval = CloudKeys { key, keys: EvaluationKeys { relinearization: rlk, galois, encapsulation: None } };
        files::publish_folder(out, force, |dir| {
            keystore::save_params(ctx, &dir.join(PARAMS_FILE))?;
            keystore::save_public_key(ctx, &pk, key, &dir.join(PUBLIC_KEY_FILE))?;
            eval.save(&session, &dir.join(EVAL_KEYS_FILE))?;
            keystore::save_secret_key(ctx, &sk, key, &dir.join(SECRET_KEY_FILE))
        })?;
        eprintln!(
            "wrote {} (key pair {key}): {PARAMS_FILE}, {PUBLIC_KEY_FILE}, {EVAL_KEYS_FILE} (for the cloud) and {SECRET_KEY_FILE} (hospital only)",
            out.display()
        );
        Ok(())
    }
}
