//! `medblind weights`: ViT weight files — a randomly initialized checkpoint for when no pretrained one can be had.

use super::source::known_model;
use crate::files;
use crate::vit::checkpoint;
use std::path::PathBuf;

/// ViT weight files.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Write a randomly initialized checkpoint (timm's initialization and layout), for when pretrained weights
    /// cannot be downloaded: features from it exercise the pipeline but are not pretrained features.
    Init {
        /// The network (e.g. deit_tiny, dinov2_small).
        #[arg(long, default_value = "deit_tiny")]
        model: String,
        /// Seeds the initialization.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The safetensors file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

impl Args {
    /// A randomly initialized checkpoint (timm's initialization) in timm's layout; prints
    /// its path.
    ///
    /// # Errors
    /// Unknown model or file trouble.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Action::Init { model, seed, out } = self.action;
        let model = known_model(&model)?;
        files::write_output(&out, &checkpoint::timm_init(model, seed), force)?;
        crate::outln!("{}", out.display())?;
        Ok(())
    }
}
