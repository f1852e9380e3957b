//! The format's version, the kinds of object a header names, and [`byte_tags`], the macro that declares both byte
//! tag enums (these kinds and the device link's [`super::frame::Opcode`]). A leaf: it imports nothing of the crate.

/// The format version this code writes and reads.
pub const VERSION: u16 = 3;

/// Declares a fieldless `#[repr(u8)]` enum whose discriminants are byte tags, with `ALL` (every variant, in
/// order) and `from_tag` (the variant of a byte): each tag is written once, so the two cannot drift apart.
macro_rules! byte_tags {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$doc:meta])* $variant:ident = $tag:literal,)+ }) => {
        $(#[$meta])*
        #[repr(u8)]
        $vis enum $name { $($(#[$doc])* $variant = $tag,)+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The variant whose tag is `tag`, if any.
            pub const fn from_tag(tag: u8) -> Option<Self> {
                match tag {
                    $($tag => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(super) use byte_tags;

byte_tags! {
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
