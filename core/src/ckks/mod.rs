//! The CKKS scheme over RNS: parameters and presets, the ring context, plaintexts and ciphertexts, keys,
//! encryption and decryption, key switching and the evaluator on caller buffers; with `alloc`, owned entry
//! points — [`Encryptor`] and [`Decryptor`] (slot values in and out), the [`Engine`] (an evaluator that manages
//! levels and scales), one [`EvaluationKeys`] set — polynomial evaluation and bootstrapping
//! (with its slot-domain linear transforms).

// The public modules are the concepts used by path: bootstrapping, the buffer-level encryption chain the `no_std`
// device keeps, the device's linear layer, polynomial evaluation and the presets. Everything else is used through
// the names below.
#[cfg(feature = "alloc")]
pub mod bootstrap;
pub(crate) mod ciphertext;
pub(crate) mod context;
pub(crate) mod encoder;
pub mod encryption;
#[cfg(feature = "alloc")]
mod engine;
#[cfg(feature = "alloc")]
mod evaluation_keys;
pub(crate) mod evaluator;
pub(crate) mod keys;
pub(crate) mod keyswitch;
pub mod linear_layer;
pub(crate) mod params;
#[cfg(feature = "alloc")]
pub mod polynomial;
pub mod presets;
mod scratch;
#[cfg(feature = "alloc")]
mod slots;

pub use ciphertext::{Ciphertext, Plaintext, ciphertext_words, plaintext_words};
pub use context::Context;
pub use encoder::Encoder;
#[cfg(feature = "alloc")]
pub use engine::{Ct, Engine};
#[cfg(feature = "alloc")]
pub use evaluation_keys::{EncapsulationKeys, EvaluationKeys, keep_highest_levels};
pub use evaluator::Evaluator;
pub use keys::{
    GaloisKey, KeySwitchKey, PublicKey, RelinearizationKey, SecretKey, conjugation_galois_element, find_galois_key,
    galois_key_scratch_words, key_switch_key_words, rotation_galois_element, secret_key_words,
};
pub use params::{Params, ParamsLiteral, SecretDistribution, Security, max_log_qp_128};
#[cfg(feature = "alloc")]
pub use polynomial::Chebyshev;
#[cfg(feature = "alloc")]
pub use slots::{Decryptor, EncryptionKey, Encryptor, Slots};

#[cfg(test)]
mod tests;
