//! The single error type of the core. Variants carry only `Copy` data so the firmware can log them.

use crate::wire::WireError;
use core::fmt;

/// Everything that can go wrong in `medblind-core`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The ring degree is not a supported power of two.
    InvalidDegree {
        /// The degree that was asked for.
        degree: usize,
    },
    /// A modulus is not a prime `q < 2^62` with `q ≡ 1 (mod 2N)`.
    InvalidModulus {
        /// The offending modulus.
        modulus: u64,
    },
    /// The same prime appears twice in a modulus chain.
    DuplicateModulus {
        /// The repeated prime.
        modulus: u64,
    },
    /// A caller-provided buffer has the wrong length.
    BufferLength {
        /// The length the operation needs.
        expected: usize,
        /// The length it was given.
        actual: usize,
    },
    /// A parameter set exceeds the HomomorphicEncryption.org bound for 128-bit security.
    Insecure {
        /// `log2(QP)` of the parameter set, rounded up.
        log_qp: u32,
        /// The largest `log2(QP)` allowed at this degree.
        max_log_qp: u32,
    },
    /// A prime of `Q` larger than `P`: no key-switching digit can hold it.
    InvalidKeySwitching {
        /// The prime.
        modulus: u64,
    },
    /// A level above the parameters' top level, or an operation that needs more levels than are left.
    LevelOutOfRange {
        /// The level asked for.
        level: usize,
        /// The largest level allowed here.
        max: usize,
    },
    /// Two operands are at different levels.
    LevelMismatch {
        /// The left operand's level.
        left: usize,
        /// The right operand's level.
        right: usize,
    },
    /// Two operands have different scales (relative difference above `2^-20`).
    ScaleMismatch,
    /// Two operands have different slot counts.
    SlotsMismatch {
        /// The left operand's slots.
        left: usize,
        /// The right operand's slots.
        right: usize,
    },
    /// No key was given for a needed rotation or conjugation.
    MissingGaloisKey {
        /// The Galois element needed.
        galois_element: u64,
    },
    /// A slot count that is not a power of two in `1..=max`, or does not match.
    InvalidSlots {
        /// The slot count given.
        slots: usize,
        /// The largest (or expected) count.
        max: usize,
    },
    /// A value to encode is not finite, or scales to a coefficient of magnitude `2^62` or more.
    ValueOutOfRange,
    /// A matrix, vector or slot count does not fit the operation.
    Shape {
        /// Rows (or blocks).
        rows: usize,
        /// Columns (or vector length).
        cols: usize,
        /// Slots available.
        slots: usize,
    },
    /// Bytes that do not decode (see [`WireError`]).
    Wire(WireError),
    /// A bootstrapping configuration whose ephemeral key does not fit its parameters: the encapsulation must
    /// share the base prime `q_0` and use a sparse (fixed Hamming weight) secret.
    InvalidEncapsulation,
    /// No moduli, or too many for the fixed-capacity tables.
    TooManyModuli {
        /// How many were given.
        count: usize,
        /// The capacity.
        max: usize,
    },
    /// A ciphertext has fewer levels left than the operation consumes.
    OutOfLevels {
        /// The ciphertext's level.
        level: usize,
        /// The levels the operation consumes.
        needed: usize,
    },
    /// Bootstrapping without a bootstrapper, or with evaluation keys that lack the sparse-secret encapsulation's
    /// switching keys.
    CannotBootstrap,
    /// A sum or product over no operands.
    NoOperands,
    /// A polynomial to evaluate on ciphertexts is not interpolated on `[-1, 1]`.
    PolynomialInterval,
}

/// The core's result type.
pub type Result<T> = core::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::InvalidDegree { degree } => {
                write!(f, "ring degree {degree} is not a power of two in 2^1..=2^17")
            }
            Error::InvalidModulus { modulus } => write!(f, "modulus {modulus} is not an NTT-friendly prime below 2^62"),
            Error::DuplicateModulus { modulus } => {
                write!(f, "modulus {modulus} appears twice in the chain")
            }
            Error::BufferLength { expected, actual } => {
                write!(f, "buffer holds {actual} words, {expected} needed")
            }
            Error::Insecure { log_qp, max_log_qp } => {
                write!(f, "log2(QP) = {log_qp} exceeds {max_log_qp}, the 128-bit security bound for this degree")
            }
            Error::InvalidKeySwitching { modulus } => {
                write!(f, "the ciphertext prime {modulus} is larger than P: no key-switching digit can hold it")
            }
            Error::LevelOutOfRange { level, max } => write!(f, "level {level} is out of range (at most {max})"),
            Error::LevelMismatch { left, right } => write!(f, "operands at levels {left} and {right}"),
            Error::ScaleMismatch => f.write_str("operands have different scales"),
            Error::SlotsMismatch { left, right } => write!(f, "operands with {left} and {right} slots"),
            Error::MissingGaloisKey { galois_element } => {
                write!(f, "no Galois key for element {galois_element}")
            }
            Error::InvalidSlots { slots, max } => {
                write!(f, "{slots} slots requested: a power of two up to {max} is needed")
            }
            Error::ValueOutOfRange => f.write_str("a value is not finite or too large for the scale"),
            Error::Shape { rows, cols, slots } => {
                write!(f, "a {rows}×{cols} shape does not fit {slots} slots")
            }
            Error::Wire(e) => write!(f, "{e}"),
            Error::InvalidEncapsulation => {
                f.write_str("the bootstrapping key must be sparse and share the base prime q_0 of the parameters")
            }
            Error::TooManyModuli { count, max } => {
                write!(f, "{count} moduli given, 1 to {max} (and at least one of each kind) supported")
            }
            Error::OutOfLevels { level, needed } => {
                write!(f, "out of levels: the operation consumes {needed}, the ciphertext is at level {level}")
            }
            Error::CannotBootstrap => {
                f.write_str("cannot bootstrap: no bootstrapper, or evaluation keys without the encapsulation keys")
            }
            Error::NoOperands => f.write_str("a sum or product over no operands"),
            Error::PolynomialInterval => f.write_str("the polynomial is not interpolated on [-1, 1]"),
        }
    }
}

impl core::error::Error for Error {}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        Error::Wire(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate alloc;
    use alloc::string::ToString;

    #[test]
    fn error_strings() {
        assert_eq!(Error::BufferLength { expected: 8, actual: 4 }.to_string(), "buffer holds 4 words, 8 needed");
        assert_eq!(
            Error::Insecure { log_qp: 60, max_log_qp: 54 }.to_string(),
            "log2(QP) = 60 exceeds 54, the 128-bit security bound for this degree"
        );
    }
}
