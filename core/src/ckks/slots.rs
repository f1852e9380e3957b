//! Slot values in and out of ciphertexts, with owned storage: encode then encrypt, decrypt then decode — the chain
//! of [`Encoder`] and [`encryption`] calls on caller buffers that the `no_std` device path keeps.

use super::encryption::{self, plaintext_from_coefficients, plaintext_to_coefficients};
use super::{Ciphertext, Context, Encoder, Plaintext, PublicKey, SecretKey};
use crate::error::Result;
use alloc::vec;
use alloc::vec::Vec;
use rand_core::{CryptoRng, RngCore};

/// Encoding, encryption, decryption and decoding of slot values under one context.
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

    /// `re + i·im` ([`Self::encode`]) encrypted under the secret key at `level`.
    ///
    /// # Errors
    /// As [`Self::encode`], or a key of other parameters.
    pub fn encrypt_sk<R: RngCore + CryptoRng + ?Sized>(
        &self,
        sk: &SecretKey<Vec<u64>>,
        re: &[f64],
        im: &[f64],
        level: usize,
        scale: f64,
        rng: &mut R,
    ) -> Result<Ciphertext<Vec<u64>>> {
        self.encrypt_with(re, im, level, scale, |pt, out, scratch, small| {
            encryption::encrypt_sk(self.ctx, sk, pt, rng, out, scratch, small)
        })
    }

    /// `re + i·im` ([`Self::encode`]) encrypted under the public key at `level`.
    ///
    /// # Errors
    /// As [`Self::encode`], or a key of other parameters.
    pub fn encrypt_pk<R: RngCore + CryptoRng + ?Sized>(
        &self,
        pk: &PublicKey<Vec<u64>>,
        re: &[f64],
        im: &[f64],
        level: usize,
        scale: f64,
        rng: &mut R,
    ) -> Result<Ciphertext<Vec<u64>>> {
        self.encrypt_with(re, im, level, scale, |pt, out, scratch, small| {
            encryption::encrypt_pk(self.ctx, pk, pt, rng, out, scratch, small)
        })
    }

    /// The real and imaginary parts of `ct`'s slots, decrypted with `sk`.
    ///
    /// # Errors
    /// On a ciphertext or key of other parameters.
    pub fn decrypt(&self, sk: &SecretKey<Vec<u64>>, ct: &Ciphertext<Vec<u64>>) -> Result<(Vec<f64>, Vec<f64>)> {
        let words = (ct.level() + 1) * self.ctx.degree();
        self.decode(&encryption::decrypt(self.ctx, sk, ct, vec![0; words])?)
    }

    /// `re + i·im` encoded ([`Self::encode`]) and encrypted by `encrypt`, given the plaintext, the output storage
    /// (two polynomials), scratch (`(level + 1)·N` words) and small-noise bytes (`N`).
    fn encrypt_with(
        &self,
        re: &[f64],
        im: &[f64],
        level: usize,
        scale: f64,
        encrypt: impl FnOnce(&Plaintext<Vec<u64>>, Vec<u64>, &mut [u64], &mut [i8]) -> Result<Ciphertext<Vec<u64>>>,
    ) -> Result<Ciphertext<Vec<u64>>> {
        let pt = self.encode(re, im, level, scale)?;
        let n = self.ctx.degree();
        encrypt(&pt, vec![0; 2 * (level + 1) * n], &mut vec![0; (level + 1) * n], &mut vec![0; n])
    }
}
