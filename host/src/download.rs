//! Resumable HTTP downloads with a progress bar (datasets from Zenodo, weights from the Hugging Face hub).

use crate::files::FileError;
use crate::progress;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What went wrong while downloading.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server could not be reached or answered with an error.
    #[error("{url}: {message} (check the network, or download the file by hand and point MedBlind at it)")]
    Http {
        /// What was requested.
        url: String,
        /// What happened.
        message: String,
    },
    /// The downloaded bytes are not the official file.
    #[error(
        "{path}: MD5 {actual} is not the official {expected}; the partial download was removed, run the command again"
    )]
    Checksum {
        /// The rejected download.
        path: PathBuf,
        /// What was downloaded.
        actual: String,
        /// What the record publishes.
        expected: String,
    },
    /// A local file operation failed.
    #[error(transparent)]
    File(#[from] FileError),
}

/// An HTTP agent that reports error statuses as responses (so 206/416 can be handled), with timeouts so an
/// unreachable server fails instead of hanging.
pub fn agent() -> ureq::Agent {
    let seconds = std::time::Duration::from_secs;
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(seconds(20)))
        .timeout_recv_response(Some(seconds(60)))
        .timeout_recv_body(Some(seconds(3600)))
        .build()
        .into()
}

/// Appends the rest of `url` to `part` (a range request from its current length), with a progress bar.
pub fn resume(agent: &ureq::Agent, url: &str, part: &Path) -> Result<(), FetchError> {
    let http = |message: String| FetchError::Http { url: url.to_string(), message };
    let io = |source| FetchError::File(FileError::Io { path: part.to_path_buf(), source });
    let have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", &format!("bytes={have}-"));
    }
    let mut response = request.call().map_err(|e| http(e.to_string()))?;
    let (resume, status) = match response.status().as_u16() {
        206 => (true, 206),
        200 => (false, 200),
        416 if have > 0 => {
            // The range starts at or past the end: the partial file is not a prefix of this one; start over.
            fs::remove_file(part).map_err(io)?;
            return resume(agent, url, part);
        }
        other => return Err(http(format!("status {other}"))),
    };
    let remaining: u64 =
        response.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0);
    let start = if resume { have } else { 0 };
    let mut file = if resume { OpenOptions::new().append(true).open(part) } else { File::create(part) }.map_err(io)?;
    let bar = progress::bytes(
        start + remaining,
        part.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()),
    );
    bar.set_position(start);
    let mut reader = response.body_mut().as_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| http(format!("transfer interrupted after status {status} ({e}); run again to resume")))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(io)?;
        bar.inc(n as u64);
    }
    file.sync_all().map_err(io)?;
    bar.finish_and_clear();
    Ok(())
}
