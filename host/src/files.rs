//! Files: atomic writes (temporary file in the same folder, then rename), outputs that never replace a key file,
//! folders published whole, and CSV. Files of wire-format objects — parameter sets, keys, ciphertexts — are read
//! and written by [`crate::keystore`]; this module knows a key file's header only to refuse overwriting one.

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

/// Opens `path` for reading.
///
/// # Errors
/// [`FileError::Io`] naming the file.
pub fn open(path: &Path) -> Result<fs::File, FileError> {
    fs::File::open(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed and synced, then renamed over `path`,
/// so an interrupted write never leaves a damaged file. With `private`, the file is created readable by its owner
/// only (Unix mode 0600) — for the secret key.
///
/// # Errors
/// [`FileError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), FileError> {
    let io = |source| FileError::Io { path: path.to_path_buf(), source };
    let tmp = temporary(path)?;
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

/// Refuses `path` as an output before any work is done: never a key file (whatever `force` says), another
/// existing file or folder only without `force`.
///
/// # Errors
/// [`FileError::Content`] saying why.
pub fn check_output(path: &Path, force: bool) -> Result<(), FileError> {
    let Ok(metadata) = fs::symlink_metadata(path) else { return Ok(()) };
    if metadata.is_file() && holds_keys(path) {
        return Err(FileError::content(path, "this is a key file; an output never replaces one"));
    }
    if !force {
        return Err(FileError::content(path, "already exists; refusing to replace it (pass --force to overwrite)"));
    }
    if !metadata.is_file() {
        return Err(FileError::content(path, "not a file; an output replaces files only"));
    }
    Ok(())
}

/// Whether the file at `path` starts with a wire-format key (secret, public, relinearization, Galois or switching).
fn holds_keys(path: &Path) -> bool {
    use wire::Kind;
    let mut head = [0u8; HEADER_LEN];
    let read = fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head));
    read.is_ok()
        && wire::peek_header(&head).is_ok_and(|h| {
            matches!(
                h.kind,
                Kind::SecretKey | Kind::PublicKey | Kind::RelinearizationKey | Kind::GaloisKey | Kind::SwitchingKey
            )
        })
}

/// Writes a file the user named as an output ([`check_output`]): atomically; without `force`, published by a
/// link that fails if the name was taken meanwhile, so that two writers never replace each other's output.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn write_output(path: &Path, bytes: &[u8], force: bool) -> Result<(), FileError> {
    check_output(path, force)?;
    if force {
        return write_atomic(path, bytes, false);
    }
    let io = |source| FileError::Io { path: path.to_path_buf(), source };
    let tmp = temporary(path)?;
    let result = (|| {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(FileError::content(
            path,
            "was created by another process meanwhile; refusing to replace it (pass --force to overwrite)",
        )),
        other => other.map_err(io),
    }
}

/// The temporary name beside `path` for this process: `.NAME.PID.tmp`.
fn temporary(path: &Path) -> Result<PathBuf, FileError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| FileError::content(path, "not a file name"))?;
    remove_stale_temporaries(dir, &name.to_string_lossy());
    Ok(dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id())))
}

/// Removes what interrupted writers of `name` left in `dir`: `.NAME.PID.tmp` files and folders of processes that
/// no longer run (best effort: what cannot be removed stays).
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let pid =
            file.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp")).and_then(|p| p.parse::<u32>().ok());
        let running = |pid: u32| pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if pid.is_some_and(|pid| !running(pid)) {
            let path = entry.path();
            let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        }
    }
}

/// Creates the folder `out` whole: `fill` writes its files into a temporary folder beside it, which is then renamed
/// into place — where another process put a non-empty folder meanwhile, that is an error unless `force`, which
/// replaces it. A kill at any point leaves either the old folder or the new one, never a mix.
///
/// # Errors
/// [`FileError`] naming the folder, or `fill`'s error (the temporary folder is removed).
pub fn publish_folder(out: &Path, force: bool, fill: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |source| FileError::Io { path: path.to_path_buf(), source }
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let tmp = temporary(out)?;
    fs::create_dir(&tmp).map_err(io(&tmp))?;
    let published = fill(&tmp).and_then(|()| match fs::rename(&tmp, out) {
        Ok(()) => Ok(()),
        Err(_) if force && out.is_dir() => {
            let old = tmp.with_extension("old");
            fs::rename(out, &old).map_err(io(out))?;
            fs::rename(&tmp, out).map_err(io(out))?;
            fs::remove_dir_all(&old).map_err(io(&old))?;
            Ok(())
        }
        Err(_) if out.is_dir() => Err(FileError::content(
            out,
            "another process published a folder there meanwhile; refusing to replace it (pass --force to overwrite)",
        )
        .into()),
        Err(e) => Err(io(out)(e).into()),
    });
    if published.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    published
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

/// Writes rows as comma-separated numbers into an output ([`write_output`]).
///
/// # Errors
/// [`FileError::Io`] naming the file.
pub fn write_csv(path: &Path, rows: &[Vec<f64>], force: bool) -> Result<(), FileError> {
    let text: String =
        rows.iter().map(|r| r.iter().map(|v| format!("{v:.9}")).collect::<Vec<_>>().join(",") + "\n").collect();
    write_output(path, text.as_bytes(), force)
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
