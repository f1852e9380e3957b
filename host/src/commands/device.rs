//! `medblind device`: the edge firmware under QEMU, provisioned over UART, classifying CSV rows encrypted.

use super::head::HeadFiles;
use crate::device::DeviceLink;
use crate::files::{self, FileError};
use crate::keystore::{self, PARAMS_FILE, SECRET_KEY_FILE, Session};
use anyhow::bail;
use medblind_core::ckks::{Decryptor, presets};
use medblind_core::wire;
use std::path::PathBuf;

/// Hospital: run the edge firmware under QEMU, provision it over UART, classify every CSV row on it.
#[derive(clap::Args)]
pub struct Args {
    /// The key folder (preset n4096-qp109-s28; its secret key is provisioned to the device).
    #[arg(long)]
    pub keys: PathBuf,
    /// The firmware folder (built with `cargo build --release` there).
    #[arg(long, default_value = "firmware")]
    pub firmware: PathBuf,
    /// The plaintext head.
    #[command(flatten)]
    pub head: HeadFiles,
    /// CSV of feature vectors, one per row.
    #[arg(long)]
    pub input: PathBuf,
    /// The CSV of decrypted logits to write.
    #[arg(long)]
    pub out: PathBuf,
}

impl Args {
    /// Runs the edge firmware under QEMU, provisions it with the key folder's secret key and the head, streams
    /// every CSV row of features to it over the UART link, decrypts the encrypted logits it returns, writes them
    /// as CSV, and reports how they compare with the plaintext head.
    ///
    /// # Errors
    /// On missing firmware or QEMU, malformed input, or a device refusal.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Self { keys, firmware, head, input, out } = self;
        files::check_output(&out, force)?;
        let elf = firmware.join("target/thumbv7em-none-eabihf/release/medblind-firmware");
        if !elf.exists() {
            bail!("{}: no firmware build; run `(cd {} && cargo build --release)`", elf.display(), firmware.display());
        }
        let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
        if session.ctx.params().literal().name != presets::N4096_QP109_S28.name {
            bail!(
                "{}: the firmware runs preset n4096-qp109-s28; make keys with `medblind keygen --preset n4096-qp109-s28`",
                keys.display()
            );
        }
        let secret_path = keys.join(SECRET_KEY_FILE);
        let secret_bytes = zeroize::Zeroizing::new(session.read_objects(&secret_path)?);
        let (sk, key) = keystore::load_secret_key(&session.ctx, &secret_path)?;
        let head = head.read()?;
        let (classes, cols) = (head.rows.len(), head.shape().cols);
        let (rows, bias) = (head.rows, head.bias.unwrap_or_else(|| vec![0.0; classes]));
        let features = files::read_csv(&input)?;
        if let Some(bad) = features.iter().position(|r| r.len() != cols) {
            let message = format!("row {} has {} features, the head takes {cols}", bad + 1, features[bad].len());
            return Err(FileError::content(&input, message).into());
        }
        let mut link = DeviceLink::start(&firmware.join("qemu-run.sh"), &elf)?;
        link.provision(&secret_bytes)?;
        link.set_head(rows.len(), cols, &rows.concat(), &bias)?;
        let decryptor = Decryptor::new(&session.ctx, &session.encoder, &sk);
        let mut decrypted = Vec::new();
        let (mut worst, mut agree) = (0.0f64, 0usize);
        for (i, x) in features.iter().enumerate() {
            let (_, logits) = link.infer(x)?;
            let ct = session
                .decode(&input, &logits, key, wire::decode_ciphertext)
                .map_err(|e| anyhow::anyhow!("device reply for row {}: {e}", i + 1))?;
            let mut re = decryptor.decrypt(&ct)?;
            re.truncate(rows.len());
            let plain: Vec<f64> =
                rows.iter().zip(&bias).map(|(w, b)| b + w.iter().zip(x).map(|(a, c)| a * c).sum::<f64>()).collect();
            worst = plain.iter().zip(&re).map(|(a, b)| (a - b).abs()).fold(worst, f64::max);
            let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b]));
            agree += usize::from(argmax(&plain) == argmax(&re));
            decrypted.push(re);
        }
        let status = link.quit()?;
        files::write_csv(&out, &decrypted, force)?;
        eprintln!(
            "device: {} rows encrypted and classified on the firmware; same class as the plaintext head for {agree}; largest logit error {worst:.2e}; firmware exit {status}",
            features.len()
        );
        Ok(())
    }
}
