//! `medblind encrypt`: CSV rows into ciphertexts, under the public key or (seeded) the secret key.

use crate::files::{self, FileError};
use crate::keystore::{self, PARAMS_FILE, PUBLIC_KEY_FILE, SECRET_KEY_FILE, Session};
use medblind_core::ckks::{EncryptionKey, Encryptor, PublicKey, SecretKey};
use medblind_core::wire;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::PathBuf;

/// Hospital or device: encrypt every CSV row into one ciphertext.
#[derive(clap::Args)]
pub struct Args {
    /// The key folder.
    #[arg(long)]
    pub keys: PathBuf,
    /// CSV of values, one vector per row.
    #[arg(long)]
    pub input: PathBuf,
    /// The ciphertext file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Encrypt with the secret key, sending a seed instead of half of each ciphertext.
    #[arg(long)]
    pub seeded: bool,
}

enum Key {
    Public(PublicKey<Vec<u64>>),
    Secret(SecretKey<Vec<u64>>),
}

impl Args {
    /// Every CSV row becomes one ciphertext (slots = the row length rounded up to a power of two); seeded,
    /// secret-key encryption halves the output.
    ///
    /// # Errors
    /// On unreadable or malformed input, keys of other parameters, or a row that does not fit.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Self { keys, input, out, seeded } = self;
        files::check_output(&out, force)?;
        let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
        let ctx = &session.ctx;
        let rows = files::read_csv(&input)?;
        let (level, scale) = (ctx.params().max_level(), ctx.params().default_scale());
        let mut rng = ChaCha20Rng::from_os_rng();
        let (key, id) = if seeded {
            let (sk, id) = keystore::load_secret_key(&session.ctx, &keys.join(SECRET_KEY_FILE))?;
            (Key::Secret(sk), id)
        } else {
            let (pk, id) = keystore::load_public_key(&session, &keys.join(PUBLIC_KEY_FILE))?;
            (Key::Public(pk), id)
        };
        let key = match &key {
            Key::Public(pk) => EncryptionKey::Public(pk),
            Key::Secret(sk) => EncryptionKey::Secret(sk),
        };
        let encryptor = Encryptor::new(ctx, &session.encoder, key);
        let mut bytes = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let mut padded = row.clone();
            padded.resize(row.len().next_power_of_two(), 0.0);
            let ct = encryptor
                .encrypt(&padded, &[], level, scale, &mut rng)
                .map_err(|e| FileError::content(&input, format!("row {}: {e}", i + 1)))?;
            bytes.extend(wire::ciphertext_to_vec(ctx, &ct, id)?);
        }
        files::write_output(&out, &bytes, force)?;
        eprintln!("encrypted {} rows into {} ({} bytes)", rows.len(), out.display(), bytes.len());
        Ok(())
    }
}
