//! The wire format shared by the firmware and the host: a fixed 48-byte little-endian header, then a payload of
//! bit-packed residues (see `FORMAT.md` next to this file).
//!
//! Decoding derives every size from the [`Context`] it decodes against — never from the input alone — and checks
//! the magic, version, kind, parameter fingerprint, level, slots, scale, payload length, CRC-32C and every residue
//! (`< q_i`) before it writes a word into the caller's storage. Bad input is a typed [`WireError`], never a panic.
//!
//! One module per encoded type (`params`, `keys`, `ciphertext`), each with its round-trip tests; `codec` holds
//! what they share, `owned` the `Vec` conveniences. `kind` and `error` import nothing of the crate's error type,
//! so [`crate::Error`] wraps a [`WireError`] without an import cycle.

mod ciphertext;
mod codec;
mod crc;
mod error;
pub mod frame;
mod header;
mod keys;
mod kind;
#[cfg(feature = "alloc")]
mod owned;
mod pack;
mod params;

pub use ciphertext::{
    ciphertext_len, decode_ciphertext_in, decode_plaintext_in, encode_ciphertext, encode_plaintext, plaintext_len,
};
pub use error::WireError;
pub use header::{HEADER_LEN, Header, KeyId, peek_header};
pub use keys::{
    decode_galois_key_in, decode_public_key_in, decode_relinearization_key_in, decode_secret_key_in,
    decode_switching_key_in, encode_galois_key, encode_public_key, encode_relinearization_key, encode_secret_key,
    encode_switching_key, key_switch_key_len, public_key_len, secret_key_len,
};
pub use kind::{Kind, VERSION};
#[cfg(feature = "alloc")]
pub use owned::*;
pub use params::{decode_params, encode_params, params_len};

use crate::ckks::context::Context;

/// The length of the longest object under `ctx`'s parameters: a bound for readers that size memory from a
/// file of objects.
pub fn max_object_len<T>(ctx: &Context<T>) -> usize {
    let top = ctx.params().max_level();
    [
        key_switch_key_len(ctx, top, true),
        ciphertext_len(ctx, top, false),
        public_key_len(ctx),
        secret_key_len(ctx),
        params_len(ctx.params().literal()),
    ]
    .into_iter()
    .max()
    .unwrap_or(HEADER_LEN)
}

#[cfg(test)]
mod tests;
