//! The host side of the device link: starts the firmware under QEMU (mps2-an500) with UART0 on a Unix socket,
//! and exchanges frames (`medblind_core::wire::frame`) with it. See `firmware/README.md` for the protocol.

use medblind_core::wire::frame::{self, FRAME_HEADER, FRAME_TRAILER, Opcode};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Replies larger than this are refused (a top-level ciphertext of the firmware preset is ~68 KB).
const MAX_REPLY: usize = 1 << 20;

/// A device link failure.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// QEMU could not be started or reached.
    #[error("device: {0}")]
    Start(String),
    /// Reading or writing the link failed.
    #[error("device link: {0}")]
    Io(#[from] std::io::Error),
    /// A malformed frame arrived.
    #[error("device sent a bad frame: {0:?}")]
    Frame(frame::FrameError),
    /// The device refused a request.
    #[error("device refused the request: {0}")]
    Refused(String),
    /// The device answered with something else than expected.
    #[error("device answered kind {found:#04x}, expected {expected:?}")]
    Unexpected {
        /// Expected reply kind.
        expected: Opcode,
        /// Kind received.
        found: u8,
    },
}

/// A running firmware under QEMU and its UART link.
pub struct DeviceLink {
    child: Child,
    stream: UnixStream,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl DeviceLink {
    /// Starts `elf` with the firmware's QEMU runner (`firmware/qemu-run.sh`) and connects to its UART0.
    /// The firmware's defmt log and QEMU's messages go to a file (see [`Self::log`]).
    ///
    /// # Errors
    /// [`DeviceError::Start`] if QEMU does not start or its socket does not appear within 20 s.
    pub fn start(runner: &Path, elf: &Path) -> Result<Self, DeviceError> {
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("uart0.sock");
        let log = dir.path().join("firmware.log");
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(runner)
            .arg(elf)
            .env("QEMU_SERIAL", "chardev:uart0")
            .env("QEMU_EXTRA", format!("-chardev socket,id=uart0,path={},server=on,wait=on", socket.display()))
            .stdin(Stdio::null())
            .stderr(log_file.try_clone()?)
            .stdout(log_file)
            .spawn()
            .map_err(|e| DeviceError::Start(format!("{}: {e}", runner.display())))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match UnixStream::connect(&socket) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    return Err(DeviceError::Start(format!(
                        "QEMU's UART socket did not appear ({e}); its output: {log}"
                    )));
                }
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        Ok(Self { child, stream, log, _dir: dir })
    }

    /// The firmware's decoded log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn send(&mut self, kind: Opcode, payload: &[u8]) -> Result<(), DeviceError> {
        let mut out = vec![0u8; FRAME_HEADER + payload.len() + FRAME_TRAILER];
        frame::encode_frame(kind.into(), payload, &mut out).map_err(DeviceError::Frame)?;
        self.stream.write_all(&out)?;
        Ok(())
    }

    fn receive(&mut self) -> Result<(u8, Vec<u8>), DeviceError> {
        let mut header = [0u8; FRAME_HEADER];
        self.stream.read_exact(&mut header)?;
        let (kind, len) = frame::parse_header(&header, MAX_REPLY).map_err(DeviceError::Frame)?;
        let mut payload = vec![0u8; len];
        let mut trailer = [0u8; FRAME_TRAILER];
        self.stream.read_exact(&mut payload)?;
        self.stream.read_exact(&mut trailer)?;
        frame::check_trailer(&header, &payload, &trailer).map_err(DeviceError::Frame)?;
        if Opcode::try_from(kind) == Ok(Opcode::Refused) {
            return Err(DeviceError::Refused(String::from_utf8_lossy(&payload).into_owned()));
        }
        Ok((kind, payload))
    }

    fn expect(&mut self, expected: Opcode) -> Result<Vec<u8>, DeviceError> {
        let (found, payload) = self.receive()?;
        if Opcode::try_from(found) == Ok(expected) {
            Ok(payload)
        } else {
            Err(DeviceError::Unexpected { expected, found })
        }
    }

    /// Provisions the secret key: a 32-byte seed (the device derives the key as `SecretKey::generate` would
    /// from `ChaCha20Rng::from_seed`), or a secret key in the wire format (a `secret.key` file's bytes).
    ///
    /// # Errors
    /// On a link failure or a refusal.
    pub fn provision(&mut self, key_material: &[u8]) -> Result<(), DeviceError> {
        self.send(Opcode::Provision, key_material)?;
        self.expect(Opcode::Done).map(drop)
    }

    /// Provisions the linear head (`rows × cols` weights, row-major, and `rows` biases).
    ///
    /// # Errors
    /// On a link failure or a refusal (shape limits: rows ≤ 16, cols ≤ 256).
    pub fn set_head(&mut self, rows: usize, cols: usize, weights: &[f64], bias: &[f64]) -> Result<(), DeviceError> {
        let (Ok(r), Ok(c)) = (u16::try_from(rows), u16::try_from(cols)) else {
            return Err(DeviceError::Refused("head too large".into()));
        };
        let mut payload = Vec::with_capacity(4 + 8 * (weights.len() + bias.len()));
        payload.extend(r.to_le_bytes());
        payload.extend(c.to_le_bytes());
        weights.iter().chain(bias).for_each(|v| payload.extend(v.to_le_bytes()));
        self.send(Opcode::Head, &payload)?;
        self.expect(Opcode::Done).map(drop)
    }

    /// Sends one feature vector; returns the device's encrypted features and encrypted logits (wire format).
    ///
    /// # Errors
    /// On a link failure or a refusal.
    pub fn infer(&mut self, features: &[f64]) -> Result<(Vec<u8>, Vec<u8>), DeviceError> {
        let count = u16::try_from(features.len()).map_err(|_| DeviceError::Refused("too many features".into()))?;
        let mut payload = Vec::with_capacity(2 + 8 * features.len());
        payload.extend(count.to_le_bytes());
        features.iter().for_each(|v| payload.extend(v.to_le_bytes()));
        self.send(Opcode::Features, &payload)?;
        let encrypted = self.expect(Opcode::EncryptedFeatures)?;
        let logits = self.expect(Opcode::EncryptedLogits)?;
        Ok((encrypted, logits))
    }

    /// Asks the firmware to stop and waits for QEMU to exit.
    ///
    /// # Errors
    /// On a link failure.
    pub fn quit(mut self) -> Result<ExitStatus, DeviceError> {
        self.send(Opcode::Quit, &[])?;
        self.expect(Opcode::Done)?;
        Ok(self.child.wait()?)
    }
}

impl Drop for DeviceLink {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
