//! `medblind decrypt`: ciphertexts into CSV rows, with the hospital's secret key.

use crate::files;
use crate::keystore::{self, PARAMS_FILE, SECRET_KEY_FILE, Session};
use medblind_core::ckks::Decryptor;
use medblind_core::wire;
use std::path::PathBuf;

/// Hospital: decrypt every ciphertext into one CSV row.
#[derive(clap::Args)]
pub struct Args {
    /// The key folder (needs secret.key).
    #[arg(long)]
    pub keys: PathBuf,
    /// The ciphertext file.
    #[arg(long)]
    pub input: PathBuf,
    /// The CSV to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only the first COUNT slots of each row.
    #[arg(long)]
    pub count: Option<usize>,
}

impl Args {
    /// Every ciphertext of the input becomes one CSV row of its first `count` slots (all slots by default).
    ///
    /// # Errors
    /// On unreadable or malformed input or keys of other parameters.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Self { keys, input, out, count } = self;
        files::check_output(&out, force)?;
        let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
        let ctx = &session.ctx;
        let (sk, key) = keystore::load_secret_key(&session.ctx, &keys.join(SECRET_KEY_FILE))?;
        let bytes = session.read_objects(&input)?;
        let decryptor = Decryptor::new(ctx, &session.encoder, &sk);
        let mut rows = Vec::new();
        for object in keystore::split_objects(&input, &bytes)? {
            let ct = session.decode(&input, object, key, wire::decode_ciphertext)?;
            let mut re = decryptor.decrypt(&ct)?;
            re.truncate(count.unwrap_or(re.len()).min(re.len()));
            rows.push(re);
        }
        files::write_csv(&out, &rows, force)?;
        eprintln!("decrypted {} ciphertexts into {}", rows.len(), out.display());
        Ok(())
    }
}
