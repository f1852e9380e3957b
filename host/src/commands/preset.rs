//! `--preset`: a parameter preset's name, parsed by clap against [`presets::ALL`] before any command runs, so that
//! a command never holds a name that is not a preset.

use medblind_core::ckks::{ParamsLiteral, presets};
use std::str::FromStr;

/// A preset named by `--preset` (`keygen`).
#[derive(Debug, Clone, Copy)]
pub struct Preset(pub &'static ParamsLiteral);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(name: &str) -> Result<Self, UnknownPreset> {
        find(name).map(Self).ok_or_else(|| {
            let names: Vec<&str> = presets::ALL.iter().map(|l| l.name).collect();
            UnknownPreset(format!("unknown preset `{name}`; presets: {}", names.join(", ")))
        })
    }
}

/// `--preset` of the commands whose encrypted run can be left out (`compare`, `demo`): a preset, or `none` for
/// the plaintext runs only.
#[derive(Debug, Clone, Copy)]
pub struct PresetOrNone(pub Option<&'static ParamsLiteral>);

impl FromStr for PresetOrNone {
    type Err = UnknownPreset;

    fn from_str(name: &str) -> Result<Self, UnknownPreset> {
        match name {
            "none" => Ok(Self(None)),
            name => find(name).map(|l| Self(Some(l))).ok_or_else(|| {
                UnknownPreset(format!(
                    "unknown preset `{name}` (see `medblind params`, or `none` for plaintext runs only)"
                ))
            }),
        }
    }
}

/// A name that is no preset: the one line `medblind` prints for it before exiting with code 2, as for any other
/// bad input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnknownPreset(String);

fn find(name: &str) -> Option<&'static ParamsLiteral> {
    presets::ALL.iter().copied().find(|l| l.name == name)
}
