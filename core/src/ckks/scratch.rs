//! Caller buffers, so the `no_std` paths need no allocator: their length check, and one scratch buffer carved
//! into named buffers of stated sizes.

use crate::{Error, Result};

/// [`Error::BufferLength`] unless a buffer of `actual` words (or values) holds the `expected` ones.
pub(crate) fn check_len(expected: usize, actual: usize) -> Result<()> {
    if actual < expected { Err(Error::BufferLength { expected, actual }) } else { Ok(()) }
}

/// Hands out consecutive, disjoint pieces of one buffer.
pub(crate) struct Carve<'a>(&'a mut [u64]);

impl<'a> Carve<'a> {
    /// Carves `buffer` from its start.
    pub(crate) fn new(buffer: &'a mut [u64]) -> Self {
        Self(buffer)
    }

    /// The next `words` words.
    ///
    /// # Panics
    /// If fewer are left: callers check the buffer against the sum of their sizes first.
    pub(crate) fn take(&mut self, words: usize) -> &'a mut [u64] {
        let (piece, rest) = core::mem::take(&mut self.0).split_at_mut(words);
        self.0 = rest;
        piece
    }
}
