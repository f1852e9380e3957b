//! # medblind-core
//!
//! A `#![no_std]` implementation of RNS-CKKS (Cheon–Kim–Kim–Song with the residue number system) for MedBlind:
//! word-size modular arithmetic, the negacyclic NTT, RNS bases with fast basis extension, the CKKS encoder,
//! keys, encryption, the evaluator, the encrypted linear layer, and the wire format shared by the firmware and
//! the host.
//!
//! Layering (strict, as in Lattigo): [`math`] knows nothing of [`ckks`]; the CKKS modules build on `math`.
//! Every operation works on caller-provided buffers; the `alloc` feature adds owned conveniences.
// The examples (one per concept, in `core/examples/`) are doc-tests too; they need `std`.
#![cfg_attr(
    feature = "std",
    doc = concat!(
        "\n# Examples\n\nOne per concept, on the insecure test presets; each is also a runnable example in ",
        "`core/examples/`.\n\nEncrypt, compute, decrypt ([`ckks::Encryptor`], [`ckks::Engine`], ",
        "[`ckks::Decryptor`]):\n```\n",
        include_str!("../examples/encrypt_compute_decrypt.rs"),
        "```\nBootstrapping ([`ckks::bootstrap::Bootstrapper`]):\n```\n",
        include_str!("../examples/bootstrapping.rs"),
        "```\nThe linear layer `W·x + b` ([`ckks::linear_layer::LinearLayer`]):\n```\n",
        include_str!("../examples/linear_layer.rs"),
        "```",
    )
)]
#![no_std]
#![warn(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod ckks;
mod error;
pub mod math;
mod parallel;
#[cfg(test)]
mod testing;
pub mod wire;

pub use error::{Error, Result};
pub use parallel::with_limb_threads;
