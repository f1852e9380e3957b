//! The CKKS scheme over RNS: parameters and presets (more roles follow: encoder, keys, encryption, evaluator).

pub mod params;
pub mod presets;

pub use params::{Params, ParamsLiteral, SecretDistribution, Security};
