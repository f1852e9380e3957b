//! Plaintexts and ciphertexts: RNS polynomials in the NTT domain with their level, scale and slot count.
//!
//! A plaintext at level `l` holds `l + 1` limbs of `N` words; a ciphertext `(c_0, c_1)` holds `c_0`'s limbs then
//! `c_1`'s, `2(l + 1)` limbs in all, and decrypts to `c_0 + c_1·s ≈ Δ·m`. The storage may be longer than needed
//! (a fixed buffer reused across levels); only the prefix counts.

use super::context::Context;
use super::scratch::check_len;
use crate::Result;
use crate::math::sampling;

/// An encoded message `≈ Δ·m` in the NTT domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Plaintext<S> {
    pub(crate) data: S,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
}

/// A CKKS ciphertext `(c_0, c_1)` in the NTT domain.
///
/// A fresh secret-key encryption carries the seed `c_1` was expanded from, so the wire format can write the seed
/// instead of `c_1`. Invariant: a seed is present only while `c_1` is its expansion. The storage is reached only
/// through this type's accessors, and every mutable one that reaches `c_1` drops the seed, so the operations on
/// ciphertexts never handle it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ciphertext<S> {
    data: S,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
    seed: Option<[u8; 32]>,
}

/// The words a plaintext at `level` needs for degree `degree`.
pub const fn plaintext_words(degree: usize, level: usize) -> usize {
    (level + 1) * degree
}

/// The words a ciphertext at `level` needs for degree `degree`.
pub const fn ciphertext_words(degree: usize, level: usize) -> usize {
    2 * (level + 1) * degree
}

impl<S: AsRef<[u64]>> Plaintext<S> {
    /// Wraps NTT-domain limbs (at least `(level + 1)·N` words) as a plaintext.
    ///
    /// # Errors
    /// [`Error::BufferLength`](crate::Error::BufferLength) if the storage is too short.
    pub fn from_parts(data: S, degree: usize, level: usize, scale: f64, slots: usize) -> Result<Self> {
        check_len(plaintext_words(degree, level), data.as_ref().len())?;
        Ok(Self { data, level, scale, slots })
    }

    /// The limbs in use, `(level + 1)·N` words.
    pub fn limbs(&self, degree: usize) -> &[u64] {
        &self.data.as_ref()[..plaintext_words(degree, self.level)]
    }
}

impl<S> Plaintext<S> {
    /// The level `l` (the plaintext has `l + 1` limbs).
    pub fn level(&self) -> usize {
        self.level
    }

    /// The scale `Δ`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The number of slots encoded.
    pub fn slots(&self) -> usize {
        self.slots
    }
}

impl<S: AsRef<[u64]>> Ciphertext<S> {
    /// Wraps NTT-domain limbs `c_0 ‖ c_1` as a ciphertext.
    ///
    /// # Errors
    /// [`Error::BufferLength`](crate::Error::BufferLength) if the storage is too short.
    pub fn from_parts(data: S, degree: usize, level: usize, scale: f64, slots: usize) -> Result<Self> {
        check_len(ciphertext_words(degree, level), data.as_ref().len())?;
        Ok(Self { data, level, scale, slots, seed: None })
    }

    /// `c_0`'s limbs.
    pub fn c0(&self, degree: usize) -> &[u64] {
        &self.data.as_ref()[..plaintext_words(degree, self.level)]
    }

    /// `c_1`'s limbs.
    pub fn c1(&self, degree: usize) -> &[u64] {
        let w = plaintext_words(degree, self.level);
        &self.data.as_ref()[w..2 * w]
    }
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> Ciphertext<S> {
    /// The ciphertext at `level` (at most the parameters' top level) with `c_0` in place in `data` (at least
    /// `2(level + 1)·N` words) and `c_1` expanded from `seed` (ChaCha20, stream `i` for limb `i`); it keeps the
    /// seed.
    ///
    /// # Errors
    /// [`Error::BufferLength`](crate::Error::BufferLength) if the storage is too short.
    pub(crate) fn from_seed<T: AsRef<[u64]>>(
        ctx: &Context<T>,
        data: S,
        level: usize,
        scale: f64,
        slots: usize,
        seed: [u8; 32],
    ) -> Result<Self> {
        let mut ct = Self::from_parts(data, ctx.degree(), level, scale, slots)?;
        let c1 = ct.parts_mut(ctx.degree()).1;
        sampling::seeded_uniform(&seed, ctx.q_moduli(level), 0.., c1);
        ct.seed = Some(seed);
        Ok(ct)
    }

    /// `c_0` mutably and `c_1` read-only: the seed, if any, stays valid.
    pub(crate) fn c0_mut_and_c1(&mut self, degree: usize) -> (&mut [u64], &[u64]) {
        let w = plaintext_words(degree, self.level);
        let (c0, rest) = self.data.as_mut().split_at_mut(w);
        (c0, &rest[..w])
    }
}

impl<S: AsMut<[u64]>> Ciphertext<S> {
    /// `c_0` and `c_1`, mutably; drops the seed.
    pub fn parts_mut(&mut self, degree: usize) -> (&mut [u64], &mut [u64]) {
        self.seed = None;
        let w = plaintext_words(degree, self.level);
        let (c0, rest) = self.data.as_mut().split_at_mut(w);
        (c0, &mut rest[..w])
    }
}

impl<S> Ciphertext<S> {
    /// The level `l`.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The scale `Δ` of the encrypted message.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Overrides the recorded scale (for callers that track scales exactly, e.g. after multiplying by a
    /// constant that is a power of two).
    pub fn set_scale(&mut self, scale: f64) {
        self.scale = scale;
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The seed `c_1` is the expansion of: present from a secret-key encryption (or a seeded decoding) until an
    /// accessor reaches `c_1`.
    pub fn seed(&self) -> Option<&[u8; 32]> {
        self.seed.as_ref()
    }

    /// The storage.
    pub fn data(&self) -> &S {
        &self.data
    }

    /// The storage, mutably; drops the seed.
    pub(crate) fn data_mut(&mut self) -> &mut S {
        self.seed = None;
        &mut self.data
    }
}

#[cfg(feature = "alloc")]
impl Ciphertext<alloc::vec::Vec<u64>> {
    /// A zero ciphertext at `level` with owned storage.
    pub fn zero(degree: usize, level: usize, scale: f64, slots: usize) -> Self {
        Self { data: alloc::vec![0; ciphertext_words(degree, level)], level, scale, slots, seed: None }
    }

    /// A copy of `ct` at `level` (not above its own), the limbs above dropped: the same message and scale, like
    /// a clone followed by [`crate::ckks::Evaluator::drop_level_assign`] without copying what is dropped.
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`](crate::Error::LevelOutOfRange) if `level` is above `ct`'s.
    pub fn truncated<S: AsRef<[u64]>>(ct: &Ciphertext<S>, degree: usize, level: usize) -> Result<Self> {
        if level > ct.level {
            return Err(crate::Error::LevelOutOfRange { level, max: ct.level });
        }
        let words = plaintext_words(degree, level);
        let mut data = alloc::vec::Vec::with_capacity(2 * words);
        data.extend_from_slice(&ct.c0(degree)[..words]);
        data.extend_from_slice(&ct.c1(degree)[..words]);
        Ok(Self { data, level, scale: ct.scale, slots: ct.slots, seed: None })
    }
}

#[cfg(feature = "alloc")]
impl Plaintext<alloc::vec::Vec<u64>> {
    /// A zero plaintext at `level` with owned storage.
    pub fn zero(degree: usize, level: usize, scale: f64, slots: usize) -> Self {
        Self { data: alloc::vec![0; plaintext_words(degree, level)], level, scale, slots }
    }
}
