//! The `medblind` command-line tool.

use clap::{Parser, Subcommand};
use medblind_core::ckks::{Params, Security, params::max_log_qp_128, presets};

#[derive(Parser)]
#[command(name = "medblind", version, about = "Privacy-preserving fine-tuning on medical images with CKKS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the CKKS parameter presets with their security level.
    Params,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Params => list_params(),
    }
}

fn list_params() -> anyhow::Result<()> {
    println!(
        "{:<22} {:>7} {:>6} {:>6} {:>5} {:>6} {:>9} {:>10}  security",
        "preset", "N", "slots", "depth", "dnum", "scale", "log2(QP)", "bound"
    );
    for literal in presets::ALL {
        let params = Params::new(literal)?;
        let bound = max_log_qp_128(literal.log_degree).map_or("-".into(), |b| b.to_string());
        let security = match literal.security {
            Security::Bits128 => "128-bit (HomomorphicEncryption.org)",
            Security::InsecureForTestsOnly => "INSECURE, tests only",
        };
        println!(
            "{:<22} {:>7} {:>6} {:>6} {:>5} {:>6} {:>9.1} {:>10}  {security}",
            literal.name,
            params.degree(),
            params.max_slots(),
            params.max_level(),
            literal.dnum,
            format!("2^{}", literal.log_scale),
            params.log_qp(),
            bound,
        );
    }
    Ok(())
}
