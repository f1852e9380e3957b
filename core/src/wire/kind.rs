//! The format's version and the kinds of object a header names. A leaf: it imports nothing of the crate.

/// The format version this code writes and reads.
pub const VERSION: u16 = 3;

/// The kind of object a buffer holds.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind {
    /// A parameter set.
    Params = 1,
    /// The secret key: only ever in the key owner's file.
    SecretKey = 2,
    /// A public key.
    PublicKey = 3,
    /// The relinearization key.
    RelinearizationKey = 4,
    /// A Galois (rotation or conjugation) key.
    GaloisKey = 5,
    /// A plaintext.
    Plaintext = 6,
    /// A ciphertext.
    Ciphertext = 7,
    /// A key-switching key from another secret (bootstrapping's sparse-secret encapsulation).
    SwitchingKey = 8,
}

impl Kind {
    pub(super) fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => Kind::Params,
            2 => Kind::SecretKey,
            3 => Kind::PublicKey,
            4 => Kind::RelinearizationKey,
            5 => Kind::GaloisKey,
            6 => Kind::Plaintext,
            7 => Kind::Ciphertext,
            8 => Kind::SwitchingKey,
            _ => return None,
        })
    }
}

impl core::fmt::Display for Kind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Kind::Params => "parameter set",
            Kind::SecretKey => "secret key",
            Kind::PublicKey => "public key",
            Kind::RelinearizationKey => "relinearization key",
            Kind::GaloisKey => "Galois key",
            Kind::SwitchingKey => "switching key",
            Kind::Plaintext => "plaintext",
            Kind::Ciphertext => "ciphertext",
        })
    }
}
