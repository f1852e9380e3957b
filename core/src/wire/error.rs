//! Why bytes could not be decoded. This module imports nothing of the crate's error type, so
//! [`crate::Error`] can wrap a [`WireError`] without an import cycle.

use super::kind::{Kind, VERSION};

/// Why bytes could not be decoded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WireError {
    /// The buffer does not start with `MBLD`.
    BadMagic,
    /// A format version this code does not read.
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// An unknown object-kind tag.
    UnknownKind {
        /// The tag found.
        tag: u8,
    },
    /// A valid object of another kind.
    WrongKind {
        /// The kind expected.
        expected: Kind,
        /// The kind found.
        found: Kind,
    },
    /// The buffer ends before the object does.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Bytes follow the object.
    TrailingBytes,
    /// The CRC-32C does not match: the bytes were corrupted.
    ChecksumMismatch,
    /// Made under other parameters.
    ParamsMismatch {
        /// The fingerprint of the parameters decoded against.
        expected: u64,
        /// The fingerprint in the header.
        found: u64,
    },
    /// A header or payload field is out of range (level, slots, scale, flags, a residue `≥ q`, a secret
    /// coefficient outside `{-1, 0, 1}`, a payload length that does not match the parameters).
    InvalidField,
    /// No preset has this parameter fingerprint.
    UnknownParams {
        /// The fingerprint.
        fingerprint: u64,
    },
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            WireError::BadMagic => f.write_str("not a MedBlind file (bad magic)"),
            WireError::UnsupportedVersion { found } => {
                write!(f, "format version {found} is not supported (this build reads {VERSION})")
            }
            WireError::UnknownKind { tag } => write!(f, "unknown object kind {tag}"),
            WireError::WrongKind { expected, found } => write!(f, "expected a {expected}, found a {found}"),
            WireError::Truncated { needed, available } => {
                write!(f, "truncated: {needed} bytes needed, {available} available")
            }
            WireError::TrailingBytes => f.write_str("unexpected bytes after the object"),
            WireError::ChecksumMismatch => f.write_str("checksum mismatch: the data is corrupted"),
            WireError::ParamsMismatch { expected, found } => {
                write!(f, "made under parameter set {found:016x}, but {expected:016x} is in use")
            }
            WireError::InvalidField => f.write_str("a field is out of range"),
            WireError::UnknownParams { fingerprint } => {
                write!(f, "no preset has parameter fingerprint {fingerprint:016x}")
            }
        }
    }
}
