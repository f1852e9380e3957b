//! `medblind train`: the cloud trains the softmax head on an encrypted batch folder with evaluation keys only.

use super::parties::{CloudFolder, write_cts};
use super::schedule::{ScheduleArgs, TRAINING_DEFAULTS};
use crate::files;
use crate::train::checkpoint::Checkpoint;
use crate::train::exchange::RemoteKeyOwner;
use crate::train::observer::Console;
use crate::train::schedule::Schedule;
use crate::train::store::{self, Part};
use md5::{Digest, Md5};
use std::path::PathBuf;
use std::time::Duration;

/// Cloud: train the softmax head on an encrypted batch folder with evaluation keys only; the hospital answers
/// refresh and validation requests in the exchange folder (`medblind refresh`), and decides early stopping.
#[derive(clap::Args)]
pub struct Args {
    /// The batch folder (from `encrypt-features`).
    #[arg(long)]
    pub data: PathBuf,
    /// The folder shared with the hospital's `medblind refresh`.
    #[arg(long)]
    pub exchange: PathBuf,
    /// The training schedule.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Seconds to wait for the hospital's answer before giving up.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// A checkpoint file: the training state is saved there after every step, and the same command with the
    /// same file resumes an interrupted run after its last saved step (the file is removed when training ends)
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The encrypted weights to write.
    #[arg(long)]
    pub out: PathBuf,
}

impl Args {
    /// The cloud trains on an encrypted batch folder with its evaluation keys only, asking the
    /// hospital for refreshes and validation losses through `exchange`; writes the encrypted weights to `out`. The
    /// batch size is the folder's (fixed when the hospital encrypted it).
    ///
    /// # Errors
    /// A damaged folder, a secret key where evaluation keys belong, no answer from the hospital, or file trouble.
    pub fn run(self, force: bool) -> anyhow::Result<()> {
        let Self { data, exchange: exchange_dir, schedule, timeout, checkpoint, out } = self;
        let (data, exchange_dir, out) = (data.as_path(), exchange_dir.as_path(), out.as_path());
        let (schedule, timeout) = (&schedule.schedule(TRAINING_DEFAULTS), Duration::from_secs(timeout));
        let checkpoint = checkpoint.as_deref();
        files::check_output(out, force)?;
        let cloud = CloudFolder::open(data)?;
        let schedule = &Schedule { batch: cloud.store.batch, ..*schedule };
        let ctx = &cloud.session.ctx;
        let checkpoint = checkpoint.map(|path| -> anyhow::Result<Checkpoint<'_>> {
            let manifest = files::read(&data.join(store::MANIFEST))?;
            let run = [&manifest[..], format!("{schedule:?}").as_bytes()].concat();
            let run = crate::medmnist::hex(&Md5::digest(&run));
            Ok(Checkpoint { path: path.to_path_buf(), ctx, key: cloud.keys.key, run })
        });
        let checkpoint = checkpoint.transpose()?;
        let resume = checkpoint.as_ref().map(Checkpoint::load).transpose()?.flatten();
        if let Some(state) = &resume {
            eprintln!(
                "cloud: resuming at epoch {} after {} of its steps ({} steps in all)",
                state.epoch + 1,
                state.done,
                state.steps
            );
        }
        let engine = cloud.engine()?;
        let trainer = cloud.trainer(&engine)?;
        let mut owner = RemoteKeyOwner::new(exchange_dir, ctx, cloud.keys.key, timeout)?;
        let mut console = Console::new("cloud").saving(checkpoint.as_ref());
        let (train, val) = (cloud.store.part(ctx, Part::Train), cloud.store.part(ctx, Part::Val));
        let result = trainer.train(&train, &val, schedule, &mut owner, &mut console, resume);
        owner.finish()?;
        let (weights, report) = result?;
        write_cts(ctx, &weights, cloud.keys.key, out)?;
        if let Some(checkpoint) = &checkpoint {
            checkpoint.remove()?;
        }
        eprintln!(
            "cloud: {} steps, best epoch {}, {} ciphertexts refreshed by the key owner, {} bootstrapped, {:.1} s; \
             encrypted weights in {}",
            report.steps,
            report.best_epoch + 1,
            report.refreshes,
            report.bootstraps,
            report.seconds,
            out.display()
        );
        Ok(())
    }
}
