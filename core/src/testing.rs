//! Helpers the unit tests of several modules share (test builds only).

/// The xorshift64 sequence of words after `seed` (non-zero): reproducible inputs without a seeded RNG.
pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Values in `[-1, 1)` from the xorshift sequence after `seed | 1`.
pub(crate) fn uniform_values(seed: u64) -> impl FnMut() -> f64 {
    let mut next = xorshift(seed | 1);
    move || (next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}
