//! `medblind infer`: the cloud applies a plaintext linear head to encrypted vectors, with evaluation keys only.

use super::head::HeadFiles;
use crate::files::{self, FileError};
use crate::keystore::{self, Session};
use medblind_core::ckks::linear_layer::{LinearLayer, Work};
use medblind_core::ckks::{Ciphertext, Evaluator};
use medblind_core::wire;
use std::path::PathBuf;

/// Cloud: apply a plaintext linear head to encrypted vectors (reads no secret key).
#[derive(clap::Args)]
pub struct Args {
    /// The parameter file (params.mbl).
    #[arg(long)]
    pub params: PathBuf,
    /// The evaluation keys (eval.keys).
    #[arg(long)]
    pub eval_keys: PathBuf,
    /// The plaintext head.
    #[command(flatten)]
    pub head: HeadFiles,
    /// The encrypted inputs.
    #[arg(long)]
    pub input: PathBuf,
    /// The encrypted logits to write.
    #[arg(long)]
    pub out: PathBuf,
}

impl Args {
    /// `W·x + b` on every encrypted vector of the input, with the plaintext head (rows = classes) and its optional
    /// bias; reads only the parameters and evaluation keys.
    ///
    /// # Errors
    /// On a secret-key file, malformed input, missing rotation keys, or shapes that do not fit.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Self { params, eval_keys, head, input, out } = self;
        files::check_output(&out, force)?;
        let session = Session::from_params_file(&params)?;
        let ctx = &session.ctx;
        let keys = keystore::load_evaluation_keys(&session, &eval_keys)?;
        let head = head.read()?;
        let shape = head.shape();
        let weights = head.rows.concat();
        let layer = LinearLayer::new(&weights, shape.rows, shape.cols, head.bias.as_deref(), shape.slots())?;
        let evaluator = Evaluator::new(ctx);
        let bytes = session.read_objects(&input)?;
        keystore::refuse_secret(&input, &bytes)?;
        let mut output = Vec::new();
        for (i, object) in keystore::split_objects(&input, &bytes)?.into_iter().enumerate() {
            let x = session.decode(&input, object, keys.key, wire::decode_ciphertext)?;
            if x.slots() != shape.slots() {
                let message = format!(
                    "ciphertext {} has {} slots; a {}x{} head needs {}",
                    i + 1,
                    x.slots(),
                    shape.rows,
                    shape.cols,
                    shape.slots()
                );
                return Err(FileError::content(&input, message).into());
            }
            let mut y = Ciphertext::zero(ctx.degree(), x.level(), x.scale(), x.slots());
            let mut work = vec![0; layer.work_words(&evaluator, x.level())];
            let mut float_work = vec![0.0; layer.float_work_words(ctx.degree())];
            layer
                .evaluate_with(
                    &evaluator,
                    &session.encoder,
                    &x,
                    &keys.keys.galois,
                    &mut y,
                    Work { words: &mut work, floats: &mut float_work },
                )
                .map_err(|e| match e {
                    medblind_core::Error::MissingGaloisKey { .. } => FileError::content(
                        &eval_keys,
                        format!(
                            "no rotation key for a {}x{} head: generate keys with `medblind keygen --head {}x{}`",
                            shape.rows, shape.cols, shape.rows, shape.cols
                        ),
                    ),
                    other => FileError::content(&input, format!("ciphertext {}: {other}", i + 1)),
                })?;
            output.extend(wire::ciphertext_to_vec(ctx, &y, keys.key)?);
        }
        files::write_output(&out, &output, force)?;
        eprintln!("wrote encrypted logits to {}", out.display());
        Ok(())
    }
}
