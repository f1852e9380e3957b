//! `medblind params`: the parameter presets with their security.

use medblind_core::ckks::bootstrap::bootstrapping_for;
use medblind_core::ckks::{Params, Security, max_log_qp_128, presets};

/// List the CKKS parameter presets with their security level.
#[derive(clap::Args)]
pub struct Args {}

impl Args {
    /// Prints one line per preset: its degree, slots, depth, key-switching digits, scale, log2(QP), the 128-bit
    /// bound on log2(QP) for its degree, and its security.
    ///
    /// # Errors
    /// If stdout fails (a closed reader is not an error, see [`crate::output`]).
    pub fn run(self) -> anyhow::Result<()> {
        crate::outln!(
            "{:<28} {:>7} {:>6} {:>6} {:>5} {:>6} {:>9} {:>10}  security",
            "preset",
            "N",
            "slots",
            "depth",
            "dnum",
            "scale",
            "log2(QP)",
            "bound"
        )?;
        for literal in presets::ALL {
            let params = Params::new(literal)?;
            let bound = max_log_qp_128(literal.log_degree).map_or("-".into(), |b| b.to_string());
            let security = match literal.security {
                Security::Bits128 => "128-bit (HomomorphicEncryption.org)",
                Security::InsecureForTestsOnly => "INSECURE, tests only",
            };
            // A bootstrapping preset: the levels left after bootstrapping, plus bootstrapping's own.
            let depth = bootstrapping_for(literal)
                .map_or(params.max_level().to_string(), |b| format!("{}+{}", b.output_level(), b.depth()));
            crate::outln!(
                "{:<28} {:>7} {:>6} {:>6} {:>5} {:>6} {:>9.1} {:>10}  {security}",
                literal.name,
                params.degree(),
                params.max_slots(),
                depth,
                params.dnum(),
                format!("2^{}", literal.log_scale),
                params.log_qp(),
                bound,
            )?;
        }
        Ok(())
    }
}
