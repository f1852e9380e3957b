//! The fixed 48-byte header every object starts with.

use super::WireError;
use super::crc::Crc32c;
use super::kind::{Kind, VERSION};
use crate::{Error, Result};

/// Length of the header in bytes.
pub const HEADER_LEN: usize = 48;

const MAGIC: [u8; 4] = *b"MBLD";
const FLAG_SEEDED: u8 = 1;

/// The key pair an object belongs to, so that objects of two key pairs are never mixed unnoticed.
///
/// Drawn at random (never [`KeyId::NONE`]) when a secret key is made, and written into the header of that
/// secret key, its public key, its evaluation keys and every ciphertext encrypted under it. [`KeyId::NONE`] marks
/// objects of no key pair: parameter sets, plaintexts, and the ciphertexts of a device provisioned with a bare
/// seed. Not secret. Decoding reports it ([`Header::key`]); comparing it with the keys in hand is the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyId(pub u32);

impl KeyId {
    /// No key pair.
    pub const NONE: KeyId = KeyId(0);

    /// A fresh identity drawn from `rng`.
    pub fn random(rng: &mut impl rand_core::RngCore) -> Self {
        loop {
            let id = rng.next_u32();
            if id != 0 {
                return KeyId(id);
            }
        }
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if *self == KeyId::NONE { f.write_str("none") } else { write!(f, "{:08x}", self.0) }
    }
}

/// Reads the header of any MedBlind object (to report what a file is before decoding it).
///
/// # Errors
/// A [`WireError`] for a short or malformed header.
pub fn peek_header(bytes: &[u8]) -> Result<Header> {
    Header::read(bytes)
}

/// A decoded header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    /// What the payload is.
    pub kind: Kind,
    /// Whether a uniform part is carried as a 32-byte seed.
    pub seeded: bool,
    /// The parameter-set fingerprint.
    pub fingerprint: u64,
    /// The level.
    pub level: u16,
    /// The slot count.
    pub slots: u32,
    /// The scale.
    pub scale: f64,
    /// The payload length in bytes.
    pub payload_len: u64,
    /// The key pair the object belongs to.
    pub key: KeyId,
}

impl Header {
    /// Writes the header into `head` (`HEADER_LEN` bytes) with the CRC-32C of header and `payload`.
    pub(super) fn write(&self, head: &mut [u8], payload: &[u8]) {
        head.fill(0);
        head[0..4].copy_from_slice(&MAGIC);
        head[4..6].copy_from_slice(&VERSION.to_le_bytes());
        head[6] = self.kind as u8;
        head[7] = if self.seeded { FLAG_SEEDED } else { 0 };
        head[8..16].copy_from_slice(&self.fingerprint.to_le_bytes());
        head[16..18].copy_from_slice(&self.level.to_le_bytes());
        head[20..24].copy_from_slice(&self.slots.to_le_bytes());
        head[24..32].copy_from_slice(&self.scale.to_le_bytes());
        head[32..40].copy_from_slice(&self.payload_len.to_le_bytes());
        head[44..48].copy_from_slice(&self.key.0.to_le_bytes());
        let crc = checksum(head, payload);
        head[40..44].copy_from_slice(&crc.to_le_bytes());
    }

    /// Parses and checks the header fields (not yet the payload or checksum: see [`payload`]).
    pub(super) fn read(bytes: &[u8]) -> Result<Self> {
        let Some(head) = bytes.get(..HEADER_LEN) else {
            return Err(Error::Wire(WireError::Truncated { needed: HEADER_LEN, available: bytes.len() }));
        };
        if head[0..4] != MAGIC {
            return Err(Error::Wire(WireError::BadMagic));
        }
        let version = u16::from_le_bytes([head[4], head[5]]);
        if version != VERSION {
            return Err(Error::Wire(WireError::UnsupportedVersion { found: version }));
        }
        let kind = Kind::from_tag(head[6]).ok_or(Error::Wire(WireError::UnknownKind { tag: head[6] }))?;
        if head[7] & !FLAG_SEEDED != 0 || head[18..20] != [0, 0] {
            return Err(Error::Wire(WireError::InvalidField));
        }
        let u64_at = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().unwrap_or([0; 8]));
        Ok(Self {
            kind,
            seeded: head[7] & FLAG_SEEDED != 0,
            fingerprint: u64_at(8),
            level: u16::from_le_bytes([head[16], head[17]]),
            slots: u32::from_le_bytes([head[20], head[21], head[22], head[23]]),
            scale: f64::from_bits(u64_at(24)),
            payload_len: u64_at(32),
            key: KeyId(u32::from_le_bytes([head[44], head[45], head[46], head[47]])),
        })
    }
}

/// The CRC-32C of the header (checksum field taken as zero) followed by the payload.
fn checksum(head: &[u8], payload: &[u8]) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(&head[..40]);
    crc.update(&[0; 4]);
    crc.update(&head[44..48]);
    crc.update(payload);
    crc.finish()
}

/// The payload of `bytes` after checking its exact length and checksum against `header`.
pub(super) fn payload<'b>(bytes: &'b [u8], header: &Header) -> Result<&'b [u8]> {
    let needed = usize::try_from(header.payload_len).ok().and_then(|len| len.checked_add(HEADER_LEN));
    let Some(needed) = needed else {
        return Err(Error::Wire(WireError::Truncated { needed: usize::MAX, available: bytes.len() }));
    };
    if bytes.len() < needed {
        return Err(Error::Wire(WireError::Truncated { needed, available: bytes.len() }));
    }
    if bytes.len() > needed {
        return Err(Error::Wire(WireError::TrailingBytes));
    }
    let (head, payload) = bytes.split_at(HEADER_LEN);
    let stored = u32::from_le_bytes([head[40], head[41], head[42], head[43]]);
    if checksum(head, payload) != stored {
        return Err(Error::Wire(WireError::ChecksumMismatch));
    }
    Ok(payload)
}
