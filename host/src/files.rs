//! Files: atomic writes (temporary file in the same folder, then rename) and sequences of wire-format objects.

use medblind_core::wire::{self, HEADER_LEN};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file operation or file content that failed, always naming the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The bytes are not what was expected.
    #[error("{path}: {message}")]
    Content {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl FileError {
    /// A content error for `path`.
    pub fn content(path: &Path, message: impl std::fmt::Display) -> Self {
        FileError::Content { path: path.to_path_buf(), message: message.to_string() }
    }
}

/// Reads a whole file.
///
/// # Errors
/// [`FileError::Io`] naming the file.
pub fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    fs::read(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed and synced, then renamed over `path`,
/// so an interrupted write never leaves a damaged file. With `private`, the file is created readable by its owner
/// only (Unix mode 0600) — for the secret key.
///
/// # Errors
/// [`FileError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), FileError> {
    let io = |source| FileError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io(std::io::Error::other("not a file name")))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Splits a file holding one or more wire-format objects back to back into the objects' byte ranges, checking
/// each header (lengths only; every object is fully checked when decoded).
///
/// # Errors
/// [`FileError::Content`] for an empty file or a malformed or truncated object.
pub fn split_objects<'b>(path: &Path, bytes: &'b [u8]) -> Result<Vec<&'b [u8]>, FileError> {
    let mut objects = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = wire::peek_header(rest)
            .map_err(|e| FileError::content(path, format!("object {}: {e}", objects.len() + 1)))?;
        let len = usize::try_from(header.payload_len)
            .ok()
            .and_then(|p| p.checked_add(HEADER_LEN))
            .filter(|&l| l <= rest.len());
        let Some(len) = len else {
            return Err(FileError::content(path, format!("object {} is truncated", objects.len() + 1)));
        };
        let (object, tail) = rest.split_at(len);
        objects.push(object);
        rest = tail;
    }
    if objects.is_empty() {
        return Err(FileError::content(path, "the file is empty"));
    }
    Ok(objects)
}

/// Reads rows of comma-separated numbers (blank lines and lines starting with `#` skipped).
///
/// # Errors
/// [`FileError`] naming the file, line and field that do not parse.
pub fn read_csv(path: &Path) -> Result<Vec<Vec<f64>>, FileError> {
    let text = String::from_utf8(read(path)?).map_err(|_| FileError::content(path, "not UTF-8 text"))?;
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let row = line
            .split(',')
            .map(|field| {
                let value: f64 = field.trim().parse().map_err(|_| {
                    FileError::content(path, format!("line {}: `{}` is not a number", number + 1, field.trim()))
                })?;
                if value.is_finite() {
                    Ok(value)
                } else {
                    Err(FileError::content(path, format!("line {}: `{}` is not finite", number + 1, field.trim())))
                }
            })
            .collect::<Result<Vec<f64>, _>>()?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(FileError::content(path, "no rows"));
    }
    Ok(rows)
}

/// Writes rows as comma-separated numbers, atomically.
///
/// # Errors
/// [`FileError::Io`] naming the file.
pub fn write_csv(path: &Path, rows: &[Vec<f64>]) -> Result<(), FileError> {
    let text: String =
        rows.iter().map(|r| r.iter().map(|v| format!("{v:.9}")).collect::<Vec<_>>().join(",") + "\n").collect();
    write_atomic(path, text.as_bytes(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        write_atomic(&path, b"one", false).unwrap();
        write_atomic(&path, b"two", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let missing = write_atomic(&dir.path().join("no/such/dir/x"), b"", false).unwrap_err();
        assert!(missing.to_string().contains("no/such/dir/x"));
    }

    #[test]
    fn csv_errors_name_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.csv");
        fs::write(&path, "1,2\n# comment\n3,abc\n").unwrap();
        let e = read_csv(&path).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("abc"), "{e}");
        fs::write(&path, "1,2\n\n3,4.5\n").unwrap();
        assert_eq!(read_csv(&path).unwrap(), vec![vec![1.0, 2.0], vec![3.0, 4.5]]);
    }
}
