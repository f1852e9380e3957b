//! The CKKS scheme over RNS: parameters and presets, the ring context, plaintexts and ciphertexts, keys,
//! encryption and decryption, key switching and the evaluator on caller buffers; with `alloc`, owned entry
//! points — [`Encryptor`] and [`Decryptor`] (slot values in and out), the [`Engine`] (an evaluator that manages
//! levels and scales), one [`EvaluationKeys`] set — polynomial evaluation and bootstrapping
//! (with its slot-domain linear transforms).

#[cfg(feature = "alloc")]
pub mod bootstrap;
pub mod ciphertext;
pub mod context;
pub mod encoder;
pub mod encryption;
#[cfg(feature = "alloc")]
mod engine;
#[cfg(feature = "alloc")]
mod evaluation_keys;
pub mod evaluator;
pub mod keys;
pub mod keyswitch;
pub mod linear_layer;
pub mod params;
#[cfg(feature = "alloc")]
pub mod polynomial;
pub mod presets;
mod scratch;
#[cfg(feature = "alloc")]
pub mod slots;

pub use ciphertext::{Ciphertext, Plaintext};
pub use context::Context;
pub use encoder::Encoder;
#[cfg(feature = "alloc")]
pub use engine::{Ct, Engine};
#[cfg(feature = "alloc")]
pub use evaluation_keys::{EncapsulationKeys, EvaluationKeys};
pub use evaluator::Evaluator;
pub use keys::{GaloisKey, KeySwitchKey, PublicKey, RelinearizationKey, SecretKey};
pub use params::{Params, ParamsLiteral, SecretDistribution, Security};
#[cfg(feature = "alloc")]
pub use polynomial::Chebyshev;
#[cfg(feature = "alloc")]
pub use slots::{Decryptor, EncryptionKey, Encryptor, Slots};

#[cfg(test)]
mod tests;
