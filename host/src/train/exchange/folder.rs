//! What both sides of the exchange share: the folder's `done` file, how often they look, and removing a file.

use crate::files::FileError;
use anyhow::Result;
use std::path::Path;
use std::time::Duration;

/// How often each side looks for the other's files.
pub(super) const POLL: Duration = Duration::from_millis(50);
/// The file the cloud writes when training is over.
pub const DONE: &str = "done";

/// Removes a file of the exchange.
pub(super) fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })?;
    Ok(())
}
