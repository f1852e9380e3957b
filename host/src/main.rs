//! The `medblind` command-line tool: parses the command line, runs one command from [`medblind::commands`], and
//! maps its outcome to an exit code (bad input: one line on stderr, exit code 2).

use clap::{Parser, Subcommand};
use medblind::commands::preset::UnknownPreset;
use medblind::commands::{
    compare, data, decrypt, demo, device, encrypt, encrypt_features, evaluate, extract, infer, keygen, params, predict,
    refresh, train, weights,
};
use std::error::Error as _;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "medblind", version, about = "Privacy-preserving fine-tuning on medical images with CKKS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Replace existing output files (never a key file) and, for `keygen`, an existing key folder.
    #[arg(long, global = true)]
    force: bool,
}

// The commands, in the order `--help` lists them; each one's help is its `Args`' doc comment.
#[derive(Subcommand)]
enum Command {
    Params(params::Args),
    Keygen(keygen::Args),
    Encrypt(encrypt::Args),
    Decrypt(decrypt::Args),
    Device(device::Args),
    Compare(compare::Args),
    Demo(demo::Args),
    EncryptFeatures(encrypt_features::Args),
    Train(train::Args),
    Refresh(refresh::Args),
    Evaluate(evaluate::Args),
    Predict(predict::Args),
    Data(data::Args),
    Extract(extract::Args),
    Weights(weights::Args),
    Infer(infer::Args),
}

fn main() -> ExitCode {
    let Cli { command, force } = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_error(&e),
    };
    // Work on one ciphertext on this thread shares its RNS limbs among the cores; rayon's workers (over
    // ciphertexts) keep one each.
    exit_code(medblind_core::with_limb_threads(rayon::current_num_threads(), || run(command, force)))
}

fn run(command: Command, force: bool) -> anyhow::Result<()> {
    // A kernel set forced through the environment that this CPU cannot run is refused before any work.
    medblind_core::math::kernels::from_env().map_err(anyhow::Error::msg)?;
    match command {
        Command::Params(args) => args.run(),
        Command::Keygen(args) => args.run(force),
        Command::Encrypt(args) => args.run(force),
        Command::Decrypt(args) => args.run(force),
        Command::Device(args) => args.run(force),
        Command::Compare(args) => args.run(force),
        Command::Demo(args) => args.run(force),
        Command::EncryptFeatures(args) => args.run(force),
        Command::Train(args) => args.run(force),
        Command::Refresh(args) => args.run(),
        Command::Evaluate(args) => args.run(),
        Command::Predict(args) => args.run(force),
        Command::Data(args) => args.run(),
        Command::Extract(args) => args.run(force),
        Command::Weights(args) => args.run(force),
        Command::Infer(args) => args.run(force),
    }
}

/// A command line clap refuses: an unknown preset is bad input like any other (one line, exit code 2); the rest
/// clap reports itself (usage errors exit 2, `--help` and `--version` 0).
fn parse_error(e: &clap::Error) -> ExitCode {
    match e.source().and_then(|source| source.downcast_ref::<UnknownPreset>()) {
        Some(unknown) => exit_code(Err(anyhow::anyhow!("{unknown}"))),
        None => e.exit(),
    }
}

fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped early (`medblind data info bloodmnist | head -1`): nothing went wrong.
        Err(e) if medblind::output::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medblind: error: {}", medblind::output::error_line(&e));
            ExitCode::from(2)
        }
    }
}
