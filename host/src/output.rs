//! The commands' results on standard output. `println!` panics when the reader has gone
//! (`medblind data info bloodmnist | head -1`); writes here fail with [`OutputError::Closed`] instead, which
//! `main` takes as the end of the command and exits quietly with status 0.

use std::io::{self, Write as _};

/// Why a result could not be written to standard output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The reader closed standard output (a broken pipe).
    #[error("standard output was closed by its reader")]
    Closed,
    /// Any other failure.
    #[error("writing to standard output: {0}")]
    Io(io::Error),
}

/// Writes `args` to standard output and flushes it.
///
/// # Errors
/// [`OutputError::Closed`] when the reader has gone, [`OutputError::Io`] on any other failure.
pub fn write(args: std::fmt::Arguments<'_>) -> Result<(), OutputError> {
    let mut stdout = io::stdout().lock();
    stdout.write_fmt(args).and_then(|()| stdout.flush()).map_err(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => OutputError::Closed,
        _ => OutputError::Io(e),
    })
}

/// Whether `error`, or an error it wraps, is standard output closed by its reader.
pub fn is_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|e| matches!(e.downcast_ref::<OutputError>(), Some(OutputError::Closed)))
}

/// `error` and its causes on one line, outermost first, as `{:#}` prints them, but without a cause whose text
/// is already in the line (errors like [`crate::files::FileError::Io`] print their source themselves).
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// `println!` returning `Result<(), OutputError>` instead of panicking (see [`write()`]).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_failures() {
        assert!(is_closed(&anyhow::Error::from(OutputError::Closed).context("printing the table")));
        assert!(!is_closed(&anyhow::Error::from(OutputError::Io(io::Error::other("disk full")))));
        assert!(!is_closed(&anyhow::anyhow!("standard output was closed by its reader")));
    }

    #[test]
    fn an_error_line_names_each_cause_once() {
        let missing = crate::files::read(std::path::Path::new("no/such/file")).unwrap_err();
        let error = anyhow::Error::from(missing).context("reading the features");
        // `{:#}` names the system's error twice: in the file error's text and as its source.
        assert_eq!(format!("{error:#}").matches("No such file").count(), 2);
        let line = error_line(&error);
        assert!(line.starts_with("reading the features: no/such/file: "), "{line}");
        assert_eq!(line.matches("No such file").count(), 1, "{line}");
        let chained = anyhow::anyhow!("disk full").context("writing the report").context("compare");
        assert_eq!(error_line(&chained), "compare: writing the report: disk full");
    }
}
