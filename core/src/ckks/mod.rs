//! The CKKS scheme over RNS: parameters and presets, the ring context, plaintexts and ciphertexts, keys,
//! encryption and decryption, key switching and the evaluator.

pub mod ciphertext;
pub mod context;
pub mod encoder;
pub mod encryption;
pub mod evaluator;
pub mod keys;
pub mod keyswitch;
pub mod linear;
pub mod params;
pub mod presets;

pub use ciphertext::{Ciphertext, Plaintext};
pub use context::Context;
pub use encoder::Encoder;
pub use evaluator::Evaluator;
pub use keys::{GaloisKey, KeySwitchKey, PublicKey, RelinearizationKey, SecretKey};
pub use params::{Params, ParamsLiteral, SecretDistribution, Security};

#[cfg(test)]
mod tests;
