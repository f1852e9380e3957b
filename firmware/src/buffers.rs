//! Static storage for the firmware preset (`n4096-qp109-s28`: N = 4096, primes q_0, q_1 and one special prime).
//! Everything lives in `.bss`; the sizes are compile-time constants checked against the core's size functions.

use core::ptr::addr_of_mut;

/// Ring degree of the firmware preset.
pub const N: usize = 4096;
/// Primes of `Q ∪ P`.
pub const MODULI: usize = 3;
/// Ciphertext primes (top level 1).
pub const Q_LIMBS: usize = 2;

/// NTT tables: 4N words per prime.
pub const TABLE_WORDS: usize = MODULI * 4 * N;
/// Encoder roots: 4N + 2.
pub const ENCODER_WORDS: usize = 4 * N + 2;
/// A secret key over Q ∪ P.
pub const SECRET_KEY_WORDS: usize = MODULI * N;
/// A plaintext at the top level.
pub const PLAINTEXT_WORDS: usize = Q_LIMBS * N;
/// A ciphertext at the top level.
pub const CIPHERTEXT_WORDS: usize = 2 * Q_LIMBS * N;

/// Rotation keys the head may need (baby steps, giant steps and folds of a 256-slot layer).
pub const MAX_HEAD_KEYS: usize = 12;
/// One key-switching key: `dnum · 2 · (L + 1 + K) · N` words.
pub const KEY_WORDS: usize = 2 * 2 * MODULI * N;
/// Work space of the linear layer at level 1 for 256 slots and 8 padded rows (k = 4 baby steps).
pub const LAYER_WORDS: usize =
    5 * CIPHERTEXT_WORDS + PLAINTEXT_WORDS + 3 * PLAINTEXT_WORDS + 2 * 2 * MODULI * N + 4 * MODULI * N;

/// Takes a `&'static mut` to a static buffer.
///
/// # Safety
/// Call at most once per buffer (each binary or test `init` does), so no two mutable references alias.
macro_rules! take {
    ($name:ident: [$t:ty; $len:expr]) => {{
        static mut $name: [$t; $len] = [0 as $t; $len];
        // SAFETY: the enclosing function is called once per program run (see `Buffers::take`).
        unsafe { &mut *addr_of_mut!($name) }
    }};
    (psram $name:ident: [$t:ty; $len:expr]) => {{
        #[unsafe(link_section = ".psram")]
        static mut $name: [$t; $len] = [0 as $t; $len];
        // SAFETY: as above; every u64 bit pattern is valid, and the contents are written before they are read.
        unsafe { &mut *addr_of_mut!($name) }
    }};
}

/// Every buffer the firmware needs: the context's and encoder's tables, and the working storage.
pub struct Buffers {
    /// NTT tables, for `Context::new_in`.
    pub tables: &'static mut [u64],
    /// Encoder roots, for `Encoder::new_in`.
    pub encoder: &'static mut [f64],
    /// Working storage.
    pub work: Work,
}

/// Storage for keys, plaintexts, ciphertexts and scratch.
pub struct Work {
    /// The secret key.
    pub secret_key: &'static mut [u64],
    /// A plaintext.
    pub plaintext: &'static mut [u64],
    /// A ciphertext.
    pub ciphertext: &'static mut [u64],
    /// Scratch for encryption and decoding.
    pub scratch: &'static mut [u64],
    /// Encoded coefficients.
    pub coefficients: &'static mut [f64],
    /// Small polynomials.
    pub small: &'static mut [i8],
    /// Rotation keys of the linear head (PSRAM).
    pub keys: &'static mut [u64],
    /// The linear layer's work space (PSRAM).
    pub layer: &'static mut [u64],
    /// The layer's output ciphertext.
    pub logits: &'static mut [u64],
}

impl Buffers {
    /// The buffers. Returns `None` on a second call.
    pub fn take() -> Option<Self> {
        static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        if TAKEN.swap(true, core::sync::atomic::Ordering::AcqRel) {
            return None;
        }
        Some(Self {
            tables: take!(TABLES: [u64; TABLE_WORDS]),
            encoder: take!(ENCODER: [f64; ENCODER_WORDS]),
            work: Work {
                secret_key: take!(SECRET_KEY: [u64; SECRET_KEY_WORDS]),
                plaintext: take!(PLAINTEXT: [u64; PLAINTEXT_WORDS]),
                ciphertext: take!(CIPHERTEXT: [u64; CIPHERTEXT_WORDS]),
                scratch: take!(SCRATCH: [u64; PLAINTEXT_WORDS]),
                coefficients: take!(COEFFICIENTS: [f64; N]),
                small: take!(SMALL: [i8; N]),
                keys: take!(psram KEYS: [u64; MAX_HEAD_KEYS * KEY_WORDS]),
                layer: take!(psram LAYER: [u64; LAYER_WORDS]),
                logits: take!(LOGITS: [u64; CIPHERTEXT_WORDS]),
            },
        })
    }
}
