//! NumPy `.npy` arrays (format versions 1–3), as stored inside MedMNIST's `.npz` archives.
//!
//! Only what MedMNIST needs: C-order arrays of unsigned bytes (images), little-endian integers (labels) and
//! `f32` (reference features).
//! The header is parsed and checked against the number of bytes actually present *before* the data is read,
//! so a truncated or lying file is an error, never a huge allocation.

use std::io::Read;

/// The element types MedMNIST files use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `|u1`: images and (usually) labels.
    U8,
    /// `<f4`: reference features.
    F32,
    /// `<u2`, `<u4`, `<u8`, `<i2`, `<i4`, `<i8`: labels written by other tools.
    Int {
        /// Bytes per element.
        width: usize,
        /// Two's complement.
        signed: bool,
    },
}

impl Dtype {
    fn parse(descr: &str) -> Option<Dtype> {
        let (order, kind) = descr.split_at_checked(1)?;
        let int = |width, signed| Some(Dtype::Int { width, signed });
        match (order, kind) {
            ("|" | "<", "u1") => Some(Dtype::U8),
            ("<", "f4") => Some(Dtype::F32),
            ("|" | "<", "i1") => int(1, true),
            ("<", "u2") => int(2, false),
            ("<", "u4") => int(4, false),
            ("<", "u8") => int(8, false),
            ("<", "i2") => int(2, true),
            ("<", "i4") => int(4, true),
            ("<", "i8") => int(8, true),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::F32 => 4,
            Dtype::Int { width, .. } => width,
        }
    }
}

/// An array header: element type and shape (C order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
}

impl Header {
    /// Number of elements (the product of the shape; 1 for a scalar).
    pub fn elements(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }

    /// Number of data bytes.
    pub fn data_bytes(&self) -> Option<usize> {
        self.elements()?.checked_mul(self.dtype.width())
    }
}

/// What is wrong with an `.npy` stream.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NpyError {
    /// The stream ended early or could not be read.
    #[error("truncated or unreadable ({0})")]
    Read(String),
    /// Not an `.npy` stream.
    #[error("not a NumPy array (bad magic bytes)")]
    Magic,
    /// A format version this reader does not know.
    #[error("unsupported .npy version {0}.{1}")]
    Version(u8, u8),
    /// The header dictionary could not be parsed.
    #[error("malformed header: {0}")]
    Header(String),
    /// An element type other than unsigned bytes or little-endian integers.
    #[error("unsupported element type {0:?}")]
    Dtype(String),
    /// Fortran-ordered arrays are not used by MedMNIST.
    #[error("Fortran-ordered arrays are not supported")]
    FortranOrder,
    /// The header promises a different number of bytes than the stream holds.
    #[error("header promises {promised} data bytes but {present} are present")]
    Length {
        /// From the shape and element type.
        promised: usize,
        /// Actually in the stream.
        present: usize,
    },
    /// An integer that does not fit the expected range.
    #[error("value {0} out of range")]
    Value(i128),
}

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Headers longer than this are refused (NumPy itself writes < 200 bytes).
const MAX_HEADER: usize = 1 << 16;

/// Reads a header from the start of a stream and returns it with the number of bytes it took.
///
/// # Errors
/// Any [`NpyError`] but [`NpyError::Length`] and [`NpyError::Value`].
pub fn read_header(reader: &mut impl Read) -> Result<(Header, usize), NpyError> {
    let mut preamble = [0u8; 8];
    read_exact(reader, &mut preamble)?;
    if &preamble[..6] != MAGIC {
        return Err(NpyError::Magic);
    }
    let (major, minor) = (preamble[6], preamble[7]);
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => return Err(NpyError::Version(major, minor)),
    };
    let mut len = [0u8; 4];
    read_exact(reader, &mut len[..len_bytes])?;
    let header_len = u32::from_le_bytes(len) as usize;
    if header_len > MAX_HEADER {
        return Err(NpyError::Header(format!("{header_len} bytes long")));
    }
    let mut text = vec![0u8; header_len];
    read_exact(reader, &mut text)?;
    let text = if utf8 {
        String::from_utf8(text).ok()
    } else {
        text.is_ascii().then(|| String::from_utf8(text).ok()).flatten()
    }
    .ok_or_else(|| NpyError::Header("not text".into()))?;
    Ok((parse_dict(&text)?, 8 + len_bytes + header_len))
}

fn read_exact(reader: &mut impl Read, buf: &mut [u8]) -> Result<(), NpyError> {
    reader.read_exact(buf).map_err(|e| NpyError::Read(e.to_string()))
}

/// Parses NumPy's header dictionary, e.g. `{'descr': '|u1', 'fortran_order': False, 'shape': (10, 28, 28), }`.
fn parse_dict(text: &str) -> Result<Header, NpyError> {
    let bad = |what: &str| NpyError::Header(what.to_string());
    let body =
        text.trim_end().strip_prefix('{').and_then(|t| t.strip_suffix('}')).ok_or_else(|| bad("no dictionary"))?;
    let value_of = |key: &str| -> Result<&str, NpyError> {
        let start = body.find(&format!("'{key}':")).ok_or_else(|| bad(&format!("no '{key}'")))? + key.len() + 3;
        Ok(body[start..].trim_start())
    };
    let descr = value_of("descr")?;
    let descr =
        descr.strip_prefix('\'').and_then(|d| d.split('\'').next()).ok_or_else(|| bad("descr is not a string"))?;
    let dtype = Dtype::parse(descr).ok_or_else(|| NpyError::Dtype(descr.to_string()))?;
    let fortran = value_of("fortran_order")?;
    if fortran.starts_with("True") {
        return Err(NpyError::FortranOrder);
    }
    if !fortran.starts_with("False") {
        return Err(bad("fortran_order is not a boolean"));
    }
    let shape = value_of("shape")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or_else(|| bad("shape is not a tuple"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().map_err(|_| bad(&format!("dimension {s:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Header { dtype, shape })
}

/// Reads the data that follows a header, whose size the caller knows (`present` bytes left in the stream).
///
/// # Errors
/// [`NpyError::Length`] before allocating if `present` is not exactly what the header promises;
/// [`NpyError::Read`] if the stream ends early.
pub fn read_data(reader: &mut impl Read, header: &Header, present: usize) -> Result<Vec<u8>, NpyError> {
    let promised = header.data_bytes().ok_or(NpyError::Length { promised: usize::MAX, present })?;
    if promised != present {
        return Err(NpyError::Length { promised, present });
    }
    let mut data = vec![0u8; promised];
    read_exact(reader, &mut data)?;
    Ok(data)
}

/// Converts raw little-endian integer data to `u32`, refusing negative or too large values.
///
/// # Errors
/// [`NpyError::Dtype`] for float data; [`NpyError::Value`] for the first value outside `0..=u32::MAX`.
pub fn to_u32(dtype: Dtype, data: &[u8]) -> Result<Vec<u32>, NpyError> {
    if dtype == Dtype::F32 {
        return Err(NpyError::Dtype("<f4 where integers were expected".into()));
    }
    data.chunks_exact(dtype.width())
        .map(|bytes| {
            let mut wide = [0u8; 16];
            wide[..bytes.len()].copy_from_slice(bytes);
            let negative = matches!(dtype, Dtype::Int { signed: true, .. }) && bytes[bytes.len() - 1] & 0x80 != 0;
            if negative {
                wide[bytes.len()..].fill(0xff);
            }
            let value = i128::from_le_bytes(wide);
            u32::try_from(value).map_err(|_| NpyError::Value(value))
        })
        .collect()
}

/// Converts raw `<f4` data to `f32`.
///
/// # Errors
/// [`NpyError::Dtype`] for any other element type.
pub fn to_f32(dtype: Dtype, data: &[u8]) -> Result<Vec<f32>, NpyError> {
    if dtype != Dtype::F32 {
        return Err(NpyError::Dtype(format!("{dtype:?} where <f4 was expected")));
    }
    Ok(data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Serializes an array (version 1.0 header, padded to 64 bytes as NumPy does); used by tests and tools.
pub fn to_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while !(MAGIC.len() + 4 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<(Header, Vec<u8>), NpyError> {
        let mut reader = bytes;
        let (header, taken) = read_header(&mut reader)?;
        let data = read_data(&mut reader, &header, bytes.len() - taken)?;
        Ok((header, data))
    }

    #[test]
    fn arrays_round_trip_through_numpys_layout() {
        let data: Vec<u8> = (0..24).collect();
        let bytes = to_bytes("|u1", &[2, 3, 4], &data);
        assert_eq!((bytes.len() - data.len()) % 64, 0, "NumPy pads the header to 64 bytes");
        let (header, back) = parse(&bytes).unwrap();
        assert_eq!(header, Header { dtype: Dtype::U8, shape: vec![2, 3, 4] });
        assert_eq!(back, data);
        let (header, _) = parse(&to_bytes("<i8", &[3], &[0; 24])).unwrap();
        assert_eq!(header.shape, vec![3]);
    }

    #[test]
    fn a_header_written_by_numpy_parses() {
        let (header, _) =
            parse_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (11959, 1), }").map(|h| (h, ())).unwrap();
        assert_eq!(header, Header { dtype: Dtype::Int { width: 8, signed: true }, shape: vec![11959, 1] });
        assert_eq!(parse_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (), }").unwrap().elements(), Some(1));
    }

    #[test]
    fn labels_convert_from_every_integer_width_and_refuse_negatives() {
        let i8s: Vec<u8> = [3i64, 0, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(to_u32(Dtype::Int { width: 8, signed: true }, &i8s).unwrap(), vec![3, 0, 7]);
        let negative: Vec<u8> = (-1i32).to_le_bytes().to_vec();
        assert_eq!(to_u32(Dtype::Int { width: 4, signed: true }, &negative), Err(NpyError::Value(-1)));
        assert_eq!(to_u32(Dtype::U8, &[5, 255]).unwrap(), vec![5, 255]);
        assert!(to_u32(Dtype::F32, &[0; 4]).is_err());
        assert_eq!(to_f32(Dtype::F32, &1.5f32.to_le_bytes()).unwrap(), vec![1.5]);
    }

    #[test]
    fn malformed_streams_are_refused_before_allocating() {
        let good = to_bytes("|u1", &[4, 4], &[1; 16]);
        assert_eq!(parse(&good[..good.len() - 1]).unwrap_err(), NpyError::Length { promised: 16, present: 15 });
        assert!(matches!(parse(&good[..20]), Err(NpyError::Read(_))));
        let huge = to_bytes("|u1", &[1 << 40, 1 << 40], &[]);
        assert!(matches!(parse(&huge), Err(NpyError::Length { .. })));
        let mut bad_magic = good.clone();
        bad_magic[1] = b'X';
        assert_eq!(parse(&bad_magic).unwrap_err(), NpyError::Magic);
        assert_eq!(parse(&to_bytes("<f8", &[1], &[0; 8])).unwrap_err(), NpyError::Dtype("<f8".into()));
        assert!(matches!(
            parse_dict("{'descr': '|u1', 'fortran_order': True, 'shape': (1,), }"),
            Err(NpyError::FortranOrder)
        ));
        assert!(matches!(parse_dict("{'descr': '|u1', 'shape': (1,), }"), Err(NpyError::Header(_))));
        assert!(matches!(
            parse_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (a,), }"),
            Err(NpyError::Header(_))
        ));
    }
}
