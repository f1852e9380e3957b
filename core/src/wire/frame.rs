//! Frames for the device link (UART): `"MB"`, a kind byte, a little-endian `u32` payload length, the payload,
//! and a CRC-32C of kind, length and payload. The same code frames bytes on the firmware and on the host.
//!
//! Kinds 0x01–0x7f go host → device, 0x80–0xff device → host; [`Opcode`] names the ones the firmware speaks.
//! Payloads that carry CKKS objects carry them in the wire format ([`super`]), so they are checked twice: by the
//! frame checksum and by the object's own header.

use super::crc::Crc32c;
use super::kind::byte_tags;

/// Bytes before the payload.
pub const FRAME_HEADER: usize = 7;
/// Bytes after the payload.
pub const FRAME_TRAILER: usize = 4;
const MAGIC: [u8; 2] = *b"MB";

byte_tags! {
/// The kinds of frame the firmware and the host exchange (payloads in `firmware/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Opcode {
    /// Host → device: a 32-byte secret-key seed, or the secret key in the wire format.
    Provision = 0x01,
    /// Host → device: the head (`rows: u16, cols: u16`, then the weights and biases as `f64`).
    Head = 0x02,
    /// Host → device: features to encrypt and classify (`count: u16`, then `count` `f64`).
    Features = 0x03,
    /// Host → device: stop.
    Quit = 0x04,
    /// Device → host: the request is done.
    Done = 0x81,
    /// Device → host: the encrypted features (a ciphertext).
    EncryptedFeatures = 0x83,
    /// Device → host: the encrypted logits (a ciphertext).
    EncryptedLogits = 0x84,
    /// Device → host: the request is refused, with a short reason.
    Refused = 0xee,
}
}

impl TryFrom<u8> for Opcode {
    type Error = FrameError;

    /// The opcode of a frame's kind byte.
    ///
    /// # Errors
    /// [`FrameError::UnknownOpcode`] for a byte that names no opcode.
    fn try_from(kind: u8) -> Result<Self, FrameError> {
        Opcode::from_tag(kind).ok_or(FrameError::UnknownOpcode { kind })
    }
}

impl From<Opcode> for u8 {
    fn from(op: Opcode) -> u8 {
        op as u8
    }
}

/// Why a frame was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// The frame does not start with `MB`.
    BadMagic,
    /// The payload would not fit the receiver's buffer.
    TooLong {
        /// The announced length.
        len: u32,
    },
    /// The checksum does not match.
    Checksum,
    /// The output buffer is too small.
    BufferTooSmall,
    /// The kind byte names no [`Opcode`].
    UnknownOpcode {
        /// The kind byte.
        kind: u8,
    },
}

/// Writes a frame of `kind` around `payload` into `out`, returning its length.
///
/// # Errors
/// [`FrameError::BufferTooSmall`] if `out` cannot hold it.
pub fn encode_frame(kind: u8, payload: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    let total = FRAME_HEADER + payload.len() + FRAME_TRAILER;
    if out.len() < total || u32::try_from(payload.len()).is_err() {
        return Err(FrameError::BufferTooSmall);
    }
    out[..2].copy_from_slice(&MAGIC);
    out[2] = kind;
    out[3..7].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    out[FRAME_HEADER..FRAME_HEADER + payload.len()].copy_from_slice(payload);
    let crc = checksum(&out[2..FRAME_HEADER + payload.len()]);
    out[FRAME_HEADER + payload.len()..total].copy_from_slice(&crc.to_le_bytes());
    Ok(total)
}

/// Parses a frame header: the kind and the payload length, checked against `max_payload`.
///
/// # Errors
/// [`FrameError::BadMagic`] or [`FrameError::TooLong`].
pub fn parse_header(header: &[u8; FRAME_HEADER], max_payload: usize) -> Result<(u8, usize), FrameError> {
    if header[..2] != MAGIC {
        return Err(FrameError::BadMagic);
    }
    let len = u32::from_le_bytes([header[3], header[4], header[5], header[6]]);
    if len as usize > max_payload {
        return Err(FrameError::TooLong { len });
    }
    Ok((header[2], len as usize))
}

/// Checks the trailer of a received frame.
///
/// # Errors
/// [`FrameError::Checksum`] on a mismatch.
pub fn check_trailer(
    header: &[u8; FRAME_HEADER],
    payload: &[u8],
    trailer: &[u8; FRAME_TRAILER],
) -> Result<(), FrameError> {
    let mut crc = Crc32c::new();
    crc.update(&header[2..]);
    crc.update(payload);
    if crc.finish() == u32::from_le_bytes(*trailer) { Ok(()) } else { Err(FrameError::Checksum) }
}

/// A head request's payload, checked: `rows: u16, cols: u16`, then `rows·cols` weights (row-major) and `rows`
/// biases as little-endian `f64`, with `1 ≤ rows ≤ max_rows`, `1 ≤ cols ≤ max_cols` and not a byte more or less.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadPayload<'a> {
    /// Classes.
    pub rows: usize,
    /// Features.
    pub cols: usize,
    values: &'a [u8],
}

impl<'a> HeadPayload<'a> {
    /// The head in `payload`, if it is one within the limits.
    pub fn parse(payload: &'a [u8], max_rows: usize, max_cols: usize) -> Option<Self> {
        let (rows, cols) = (u16_at(payload, 0)?, u16_at(payload, 2)?);
        let fits = (1..=max_rows).contains(&rows) && (1..=max_cols).contains(&cols);
        let values = payload.get(4..).filter(|v| fits && Some(v.len()) == (rows * cols + rows).checked_mul(8))?;
        Some(Self { rows, cols, values })
    }

    /// The `rows·cols` weights, then the `rows` biases.
    pub fn values(&self) -> impl Iterator<Item = f64> + 'a {
        f64s(self.values)
    }
}

/// A features request's payload, checked: `count: u16`, then `count` little-endian `f64`, with
/// `1 ≤ count ≤ max` and not a byte more or less.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeaturesPayload<'a> {
    values: &'a [u8],
}

impl<'a> FeaturesPayload<'a> {
    /// The features in `payload`, if they are within the limit.
    pub fn parse(payload: &'a [u8], max: usize) -> Option<Self> {
        let count = u16_at(payload, 0)?;
        let values = payload.get(2..).filter(|v| (1..=max).contains(&count) && v.len() == 8 * count)?;
        Some(Self { values })
    }

    /// How many features.
    pub fn len(&self) -> usize {
        self.values.len() / 8
    }

    /// Whether there are none (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The features.
    pub fn values(&self) -> impl Iterator<Item = f64> + 'a {
        f64s(self.values)
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    bytes.get(at..at + 2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
}

fn f64s(bytes: &[u8]) -> impl Iterator<Item = f64> + '_ {
    bytes.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
}

fn checksum(bytes: &[u8]) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(bytes);
    crc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opcode_reads_back_from_its_byte() {
        use Opcode::*;
        for &op in Opcode::ALL {
            assert_eq!(Opcode::try_from(op as u8), Ok(op));
            assert_eq!(op as u8 >= 0x80, !matches!(op, Provision | Head | Features | Quit), "{op:?}: direction");
        }
        assert_eq!(Opcode::try_from(0x11), Err(FrameError::UnknownOpcode { kind: 0x11 }));
    }

    #[test]
    fn opcode_bytes_are_pinned() {
        use Opcode::*;
        let ops = [Provision, Head, Features, Quit, Done, EncryptedFeatures, EncryptedLogits, Refused];
        assert_eq!(ops.map(u8::from), [0x01, 0x02, 0x03, 0x04, 0x81, 0x83, 0x84, 0xee]);
    }

    #[test]
    fn payloads_are_read_only_when_their_shape_and_length_agree() {
        // 2 rows, 3 columns, then eight values of 2^-15 (a top byte of 0x3f).
        let head: [u8; 4 + 8 * 8] = core::array::from_fn(|i| match i {
            0 => 2,
            2 => 3,
            _ if i >= 4 && (i - 4) % 8 == 7 => 0x3f,
            _ => 0,
        });
        let parsed = HeadPayload::parse(&head, 16, 256).unwrap();
        assert_eq!((parsed.rows, parsed.cols, parsed.values().count()), (2, 3, 8));
        assert!(parsed.values().all(|v| v > 0.0 && v < 0.01));
        assert_eq!(HeadPayload::parse(&head[..head.len() - 1], 16, 256), None, "one byte short");
        assert_eq!(HeadPayload::parse(&head, 1, 256), None, "too many rows");
        assert_eq!(HeadPayload::parse(&head, 16, 2), None, "too many columns");
        assert_eq!(HeadPayload::parse(&[0, 0, 3, 0], 16, 256), None, "no rows");
        assert_eq!(HeadPayload::parse(&[2], 16, 256), None, "no shape");
        let features = [2, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0];
        let parsed = FeaturesPayload::parse(&features, 4).unwrap();
        let mut values = parsed.values();
        assert_eq!((values.next(), values.next(), values.next()), (Some(1.0), Some(-2.0), None));
        assert_eq!(FeaturesPayload::parse(&features, 1), None, "more than the head takes");
        assert_eq!(FeaturesPayload::parse(&features[..17], 4), None, "one byte short");
        assert_eq!(FeaturesPayload::parse(&[0, 0], 4), None, "none");
    }

    #[test]
    fn round_trip_and_corruption() {
        let mut out = [0u8; 64];
        let len = encode_frame(0x11, b"hello", &mut out).unwrap();
        assert_eq!(len, FRAME_HEADER + 5 + FRAME_TRAILER);
        let header: [u8; FRAME_HEADER] = out[..FRAME_HEADER].try_into().unwrap();
        assert_eq!(parse_header(&header, 100), Ok((0x11, 5)));
        assert_eq!(parse_header(&header, 4), Err(FrameError::TooLong { len: 5 }));
        let trailer: [u8; 4] = out[12..16].try_into().unwrap();
        assert_eq!(check_trailer(&header, b"hello", &trailer), Ok(()));
        assert_eq!(check_trailer(&header, b"hellp", &trailer), Err(FrameError::Checksum));
        let mut bad = header;
        bad[0] = b'X';
        assert_eq!(parse_header(&bad, 100), Err(FrameError::BadMagic));
        assert_eq!(encode_frame(1, &[0; 60], &mut out), Err(FrameError::BufferTooSmall));
    }
}
