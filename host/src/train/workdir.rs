//! The working folder of an encrypted run in which the hospital and the cloud share one process
//! ([`super::compare`]), kept so that an interrupted run resumes rather than starting over.
//!
//! It holds `run.txt` (what the run is: data, schedule, parameters — a run of anything else refuses the folder),
//! the key owner's `secret.key` (mode 0600: the folder is the hospital's), `batches/` (the encrypted training and
//! validation sets, [`super::store`]), `encryption.txt` (the seconds their encryption took) and `checkpoint.mbl`
//! (the trainer's state after its last step, [`super::checkpoint`]). Each is written atomically, in that order, so
//! whatever an interruption leaves is either complete or absent.

use crate::files::{self, FileError};
use crate::keystore::{self, KeyedSecret, SECRET_KEY_FILE};
use md5::{Digest, Md5};
use medblind_core::ckks::{Context, SecretKey};
use medblind_core::wire::KeyId;
use std::path::{Path, PathBuf};

/// The file naming the run.
const RUN_FILE: &str = "run.txt";
/// The file with the seconds the encryption took.
const ENCRYPTION_FILE: &str = "encryption.txt";

/// An open working folder.
pub struct WorkDir {
    dir: PathBuf,
    run: String,
}

impl WorkDir {
    /// Opens `dir` for the run described by `run` (one or more lines): creates it if it is missing or empty,
    /// resumes it if it holds the same run.
    ///
    /// # Errors
    /// [`FileError`] if `dir` holds another run or other files, or cannot be written.
    pub fn open(dir: &Path, run: &str) -> Result<Self, FileError> {
        let io = |source| FileError::Io { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(RUN_FILE);
        let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
        if empty {
            files::write_atomic(&path, run.as_bytes(), false)?;
        } else if !path.exists() {
            return Err(FileError::content(
                dir,
                format!("not an encrypted run's working folder (no {RUN_FILE}); name a new or empty folder"),
            ));
        } else if files::read(&path)? != run.as_bytes() {
            return Err(FileError::content(
                dir,
                "holds an unfinished run of other data, schedule or parameters; remove it to start over, or name \
                 another folder",
            ));
        }
        Ok(Self { dir: dir.to_path_buf(), run: run.to_string() })
    }

    /// The run's identity, for its checkpoint.
    pub fn run(&self) -> String {
        crate::medmnist::hex(&Md5::digest(self.run.as_bytes()))
    }

    /// The saved secret key's file.
    pub fn secret_key_path(&self) -> PathBuf {
        self.dir.join(SECRET_KEY_FILE)
    }

    /// The saved secret key and its key pair, if the run got that far.
    ///
    /// # Errors
    /// [`FileError`] if the file is there but unreadable or of other parameters.
    pub fn secret_key(&self, ctx: &Context<Vec<u64>>) -> Result<Option<KeyedSecret>, FileError> {
        let path = self.secret_key_path();
        if !path.exists() {
            return Ok(None);
        }
        keystore::load_secret_key(ctx, &path).map(Some)
    }

    /// Saves a new secret key of key pair `key` (mode 0600), discarding what was made under an earlier one.
    ///
    /// # Errors
    /// [`FileError`] naming the file.
    pub fn save_secret_key(&self, ctx: &Context<Vec<u64>>, sk: &SecretKey<Vec<u64>>, key: KeyId) -> anyhow::Result<()> {
        let io = |path: &Path, source| FileError::Io { path: path.to_path_buf(), source };
        for stale in [self.checkpoint(), self.dir.join(ENCRYPTION_FILE)] {
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| io(&stale, e))?;
            }
        }
        if self.batches().exists() {
            std::fs::remove_dir_all(self.batches()).map_err(|e| io(&self.batches(), e))?;
        }
        keystore::save_secret_key(ctx, sk, key, &self.secret_key_path())
    }

    /// The encrypted batches' folder.
    pub fn batches(&self) -> PathBuf {
        self.dir.join("batches")
    }

    /// The seconds the batches' encryption took, once they are all written.
    pub fn encryption_seconds(&self) -> Option<f64> {
        std::fs::read_to_string(self.dir.join(ENCRYPTION_FILE)).ok()?.trim().parse().ok()
    }

    /// Records that the batches are complete, and what they cost.
    ///
    /// # Errors
    /// [`FileError`] naming the file.
    pub fn batches_done(&self, seconds: f64) -> Result<(), FileError> {
        files::write_atomic(&self.dir.join(ENCRYPTION_FILE), seconds.to_string().as_bytes(), false)
    }

    /// The trainer's checkpoint file.
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint.mbl")
    }

    /// Removes the folder: the run is over.
    ///
    /// # Errors
    /// [`FileError`] naming the folder.
    pub fn remove(self) -> Result<(), FileError> {
        std::fs::remove_dir_all(&self.dir).map_err(|source| FileError::Io { path: self.dir, source })
    }
}
