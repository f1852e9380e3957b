//! Slot values in and out of ciphertexts, with owned storage: [`Slots`] encodes and decodes, [`Encryptor`] encodes
//! then encrypts, [`Decryptor`] decrypts then decodes — the chain of [`Encoder`] and [`encryption`] calls on
//! caller buffers that the `no_std` device path keeps.

use super::encryption::{self, plaintext_from_coefficients, plaintext_to_coefficients};
use super::{Ciphertext, Context, Encoder, Plaintext, PublicKey, SecretKey};
use crate::error::Result;
use alloc::vec;
use alloc::vec::Vec;
use rand_core::{CryptoRng, RngCore};

/// Encoding and decoding of slot values under one context.
pub struct Slots<'a> {
    ctx: &'a Context<Vec<u64>>,
    encoder: &'a Encoder<Vec<f64>>,
}

impl<'a> Slots<'a> {
    /// Slot values for `ctx`, encoded by `encoder` (of the same degree).
    pub fn new(ctx: &'a Context<Vec<u64>>, encoder: &'a Encoder<Vec<f64>>) -> Self {
        Self { ctx, encoder }
    }

    /// `re + i·im` in `re.len()` slots (a power of two, at most `N/2`; `im` empty or as long as `re`) at `scale`,
    /// as a plaintext at `level`.
    ///
    /// # Errors
    /// On a slot count or level the parameters do not have, or values too large for `scale`.
    pub fn encode(&self, re: &[f64], im: &[f64], level: usize, scale: f64) -> Result<Plaintext<Vec<u64>>> {
        let n = self.ctx.degree();
        let mut coefficients = vec![0.0; n];
        self.encoder.encode(re, im, scale, &mut coefficients)?;
        plaintext_from_coefficients(self.ctx, &coefficients, level, scale, re.len(), vec![0; (level + 1) * n])
    }

    /// The real and imaginary parts of `pt`'s slots.
    ///
    /// # Errors
    /// On a plaintext of other parameters.
    pub fn decode(&self, pt: &Plaintext<Vec<u64>>) -> Result<(Vec<f64>, Vec<f64>)> {
        let n = self.ctx.degree();
        let mut coefficients = vec![0.0; n];
        plaintext_to_coefficients(self.ctx, pt, &mut vec![0; (pt.level + 1) * n], &mut coefficients)?;
        let (mut re, mut im) = (vec![0.0; pt.slots], vec![0.0; pt.slots]);
        self.encoder.decode(&coefficients, pt.scale, &mut re, &mut im)?;
        Ok((re, im))
    }
}

/// The key an [`Encryptor`] encrypts under.
#[derive(Clone, Copy)]
pub enum EncryptionKey<'a> {
    /// The public key: anyone may encrypt.
    Public(&'a PublicKey<Vec<u64>>),
    /// The secret key: the key owner's encryptions (smaller noise; the ciphertext's `c_1` is a seed).
    Secret(&'a SecretKey<Vec<u64>>),
}

/// Slot values in, ciphertexts out, under one key.
pub struct Encryptor<'a> {
    slots: Slots<'a>,
    key: EncryptionKey<'a>,
}

impl<'a> Encryptor<'a> {
    /// Encryption under `key` for `ctx`, encoding with `encoder` (of the same degree).
    pub fn new(ctx: &'a Context<Vec<u64>>, encoder: &'a Encoder<Vec<f64>>, key: EncryptionKey<'a>) -> Self {
        Self { slots: Slots::new(ctx, encoder), key }
    }

    /// `re + i·im` ([`Slots::encode`]) encrypted at `level` and `scale`.
    ///
    /// # Errors
    /// As [`Slots::encode`], or a key of other parameters.
    pub fn encrypt<R: RngCore + CryptoRng + ?Sized>(
        &self,
        re: &[f64],
        im: &[f64],
        level: usize,
        scale: f64,
        rng: &mut R,
    ) -> Result<Ciphertext<Vec<u64>>> {
        let pt = self.slots.encode(re, im, level, scale)?;
        let ctx = self.slots.ctx;
        let n = ctx.degree();
        let (out, scratch, small) = (vec![0; 2 * (level + 1) * n], &mut vec![0; (level + 1) * n], &mut vec![0; n]);
        match self.key {
            EncryptionKey::Public(pk) => encryption::encrypt_pk(ctx, pk, &pt, rng, out, scratch, small),
            EncryptionKey::Secret(sk) => encryption::encrypt_sk(ctx, sk, &pt, rng, out, scratch, small),
        }
    }
}

/// Ciphertexts in, slot values out: the secret key's holder only.
pub struct Decryptor<'a> {
    slots: Slots<'a>,
    sk: &'a SecretKey<Vec<u64>>,
}

impl<'a> Decryptor<'a> {
    /// Decryption with `sk` for `ctx`, decoding with `encoder` (of the same degree).
    pub fn new(ctx: &'a Context<Vec<u64>>, encoder: &'a Encoder<Vec<f64>>, sk: &'a SecretKey<Vec<u64>>) -> Self {
        Self { slots: Slots::new(ctx, encoder), sk }
    }

    /// The real and imaginary parts of `ct`'s slots.
    ///
    /// # Errors
    /// On a ciphertext or key of other parameters.
    pub fn decrypt_complex(&self, ct: &Ciphertext<Vec<u64>>) -> Result<(Vec<f64>, Vec<f64>)> {
        let ctx = self.slots.ctx;
        let words = (ct.level() + 1) * ctx.degree();
        self.slots.decode(&encryption::decrypt(ctx, self.sk, ct, vec![0; words])?)
    }

    /// The real parts of `ct`'s slots.
    ///
    /// # Errors
    /// As [`Self::decrypt_complex`].
    pub fn decrypt(&self, ct: &Ciphertext<Vec<u64>>) -> Result<Vec<f64>> {
        Ok(self.decrypt_complex(ct)?.0)
    }
}
