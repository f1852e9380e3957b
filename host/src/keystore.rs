//! Key folders and files of wire-format objects, and the roles that may read them.
//!
//! A key folder written by `medblind keygen` holds:
//! - `params.mbl` — the parameter set (public);
//! - `secret.key` — the secret key, mode 0600: **hospital only**, never sent anywhere;
//! - `public.key` — the public key (hospital and devices encrypt with it);
//! - `eval.keys` — the relinearization key then the Galois keys: what the cloud needs to compute (an encrypted
//!   batch folder's `train.keys` has the same layout, plus bootstrapping's two switching keys when the cloud
//!   bootstraps).
//!
//! This module owns every read and write of those files, and of any file of wire-format objects (parameter sets,
//! keys, ciphertexts): objects are read header by header before any payload, and split and decoded here;
//! [`crate::files`] only opens files and writes them atomically for it.
//!
//! Every key and ciphertext names its key pair ([`KeyId`], drawn at random by `keygen`); loaders compare it with
//! the keys in hand, so objects of two key pairs are never mixed. The cloud-side loaders refuse any file that
//! holds a secret key.

use crate::files::{self, FileError};
use medblind_core::ckks::bootstrap::bootstrapping_for;
use medblind_core::ckks::{
    Ciphertext, Context, EncapsulationKeys, Encoder, EvaluationKeys, Params, PublicKey, SecretKey, presets,
};
use medblind_core::wire::{self, HEADER_LEN, KeyId, Kind};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// File names inside a key folder.
pub const PARAMS_FILE: &str = "params.mbl";
/// The secret key's file name.
pub const SECRET_KEY_FILE: &str = "secret.key";
/// The public key's file name.
pub const PUBLIC_KEY_FILE: &str = "public.key";
/// The evaluation keys' file name.
pub const EVAL_KEYS_FILE: &str = "eval.keys";

/// The longest object read from a parameter file: more than any preset's parameter set, and enough to refuse a
/// secret key put there by name.
const PARAMS_FILE_LIMIT: u64 = 1 << 16;

/// A parameter set with its ring context and encoder.
pub struct Session {
    /// The context (NTT tables).
    pub ctx: Context<Vec<u64>>,
    /// The encoder.
    pub encoder: Encoder<Vec<f64>>,
}

impl Session {
    /// The session of the parameter file `path`.
    ///
    /// # Errors
    /// [`FileError`] naming the file.
    pub fn from_params_file(path: &Path) -> anyhow::Result<Self> {
        let bytes = read_framed(files::open(path)?, path, |header| {
            let len = header.payload_len.saturating_add(wire::HEADER_LEN as u64);
            if len > PARAMS_FILE_LIMIT { Err(format!("claims {len} bytes; not a parameter set")) } else { Ok(()) }
        })?;
        refuse_secret(path, &bytes)?;
        let literal = wire::decode_params(&bytes).map_err(|e| FileError::content(path, e))?;
        Self::new(literal)
    }

    /// The objects of the file at `path` ([`read_objects`]).
    ///
    /// # Errors
    /// [`FileError`] naming the file.
    pub fn read_objects(&self, path: &Path) -> Result<Vec<u8>, FileError> {
        read_objects(&self.ctx, files::open(path)?, path)
    }

    /// The session of `literal`, saying on stderr if it claims no security ([`warn_if_insecure`]).
    ///
    /// # Errors
    /// If `literal` is not a valid parameter set.
    pub fn new(literal: &medblind_core::ckks::ParamsLiteral) -> anyhow::Result<Self> {
        warn_if_insecure(literal);
        let params = Params::new(literal)?;
        Ok(Self { ctx: Context::new(&params)?, encoder: Encoder::new(literal.log_degree)? })
    }

    /// The context of the sparse secret of bootstrapping under these parameters.
    ///
    /// # Errors
    /// If these parameters have no bootstrapping configuration.
    pub fn encapsulation(&self) -> anyhow::Result<Context<Vec<u64>>> {
        let literal = self.ctx.params().literal();
        let bootstrapping = bootstrapping_for(literal)
            .ok_or_else(|| anyhow::anyhow!("parameter set {} has no bootstrapping configuration", literal.name))?;
        Ok(Context::new(&Params::new(bootstrapping.encapsulation)?)?)
    }

    /// Decodes `bytes` from `path` with `decode` under these parameters ([`decode`]).
    ///
    /// # Errors
    /// [`FileError::Content`] naming the file and the problem.
    pub fn decode<T>(
        &self,
        path: &Path,
        bytes: &[u8],
        key: KeyId,
        decode_with: impl FnOnce(&Context<Vec<u64>>, &[u8]) -> medblind_core::Result<T>,
    ) -> Result<T, FileError> {
        decode(&self.ctx, path, bytes, key, decode_with)
    }
}

/// Decodes `bytes` from `path` with `decode_with` under `ctx`, once they are known to belong to key pair `key`,
/// explaining a parameter mismatch with the presets' names.
///
/// # Errors
/// [`FileError::Content`] naming the file and the problem.
pub fn decode<T>(
    ctx: &Context<Vec<u64>>,
    path: &Path,
    bytes: &[u8],
    key: KeyId,
    decode_with: impl FnOnce(&Context<Vec<u64>>, &[u8]) -> medblind_core::Result<T>,
) -> Result<T, FileError> {
    check_key(path, bytes, key)?;
    decode_with(ctx, bytes).map_err(|e| match e {
        medblind_core::Error::Wire(wire::WireError::ParamsMismatch { expected, found }) => FileError::content(
            path,
            format!("made under parameter set {}, but {} is in use", preset_name(found), preset_name(expected)),
        ),
        other => FileError::content(path, other),
    })
}

/// The objects of `file` (opened as `path`) under `ctx`'s parameters ([`read_framed`]): an object
/// claimed longer than any of these parameters is refused from its header, naming the parameter set it was made
/// under when that is another.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn read_objects(ctx: &Context<Vec<u64>>, file: std::fs::File, path: &Path) -> Result<Vec<u8>, FileError> {
    let (longest, fingerprint) = (wire::max_object_len(ctx), ctx.params().fingerprint());
    read_framed(file, path, |header| {
        let len = header.payload_len.saturating_add(wire::HEADER_LEN as u64);
        if len <= longest as u64 {
            Ok(())
        } else if header.fingerprint != fingerprint {
            let (found, used) = (preset_name(header.fingerprint), preset_name(fingerprint));
            Err(format!("made under parameter set {found}, but {used} is in use"))
        } else {
            Err(format!("claims {len} bytes; no object of these parameters is longer than {longest}"))
        }
    })
}

/// Reads a file of wire-format objects back to back, walking their headers before any payload is read: a file
/// that is not such objects, or an object whose header `fits` refuses (one claimed longer than its parameters
/// allow, say), is refused before any memory is sized from it.
///
/// # Errors
/// [`FileError`] naming the file and the object.
fn read_framed(
    mut file: std::fs::File,
    path: &Path,
    fits: impl Fn(&wire::Header) -> Result<(), String>,
) -> Result<Vec<u8>, FileError> {
    let io = |source| FileError::Io { path: path.to_path_buf(), source };
    let size = file.metadata().map_err(io)?.len();
    let refused =
        |count: usize, why: &dyn std::fmt::Display| FileError::content(path, format!("object {count}: {why}"));
    let (mut offset, mut count) = (0u64, 0usize);
    let mut head = [0u8; HEADER_LEN];
    while offset < size {
        count += 1;
        if size - offset < HEADER_LEN as u64 {
            return Err(refused(count, &"truncated"));
        }
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.read_exact(&mut head).map_err(io)?;
        let header = wire::peek_header(&head).map_err(|e| refused(count, &e))?;
        fits(&header).map_err(|why| refused(count, &why))?;
        offset = offset.saturating_add(header.payload_len).saturating_add(HEADER_LEN as u64);
    }
    if size == 0 {
        return Err(FileError::content(path, "the file is empty"));
    }
    if offset != size {
        return Err(refused(count, &"truncated"));
    }
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
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

/// Refuses an object of another key pair than `key` (a malformed header is left to the decoder to report).
///
/// # Errors
/// [`FileError::Content`] naming both key pairs.
pub fn check_key(path: &Path, bytes: &[u8], key: KeyId) -> Result<(), FileError> {
    match wire::peek_header(bytes) {
        Ok(header) if header.key != key => Err(FileError::content(
            path,
            format!("belongs to key pair {}, but the keys in use are key pair {key}", header.key),
        )),
        _ => Ok(()),
    }
}

/// The key pair `bytes` (a file's first object) names, to check the rest of a file against.
///
/// # Errors
/// [`FileError::Content`] for a malformed header.
pub fn key_of(path: &Path, bytes: &[u8]) -> Result<KeyId, FileError> {
    wire::peek_header(bytes).map(|h| h.key).map_err(|e| FileError::content(path, e))
}

/// Ciphertexts of key pair `key` as one file's bytes.
///
/// # Errors
/// Never for valid ciphertexts.
pub fn ciphertexts_to_vec<'a>(
    ctx: &Context<Vec<u64>>,
    cts: impl IntoIterator<Item = &'a Ciphertext<Vec<u64>>>,
    key: KeyId,
) -> medblind_core::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for ct in cts {
        bytes.extend(wire::ciphertext_to_vec(ctx, ct, key)?);
    }
    Ok(bytes)
}

/// The ciphertexts in `bytes` (from `path`), each checked to belong to key pair `key`.
///
/// # Errors
/// [`FileError::Content`] naming the file: a malformed object, or one of another key pair or parameter set.
pub fn decode_ciphertexts(
    ctx: &Context<Vec<u64>>,
    path: &Path,
    bytes: &[u8],
    key: KeyId,
) -> Result<Vec<Ciphertext<Vec<u64>>>, FileError> {
    split_objects(path, bytes)?
        .iter()
        .map(|o| {
            check_key(path, o, key)?;
            wire::decode_ciphertext(ctx, o).map_err(|e| FileError::content(path, e))
        })
        .collect()
}

/// Says on stderr, every time a command uses one, that a parameter set claims no security.
pub fn warn_if_insecure(literal: &medblind_core::ckks::ParamsLiteral) {
    if literal.security != medblind_core::ckks::Security::Bits128 {
        eprintln!(
            "medblind: warning: parameter set {} is INSECURE, for tests only; never use it for real data",
            literal.name
        );
    }
}

/// The name of the preset with `fingerprint`, or the fingerprint in hex.
pub fn preset_name(fingerprint: u64) -> String {
    presets::ALL
        .iter()
        .find(|l| Params::new(l).is_ok_and(|p| p.fingerprint() == fingerprint))
        .map_or_else(|| format!("{fingerprint:016x}"), |l| l.name.to_string())
}

/// The evaluation keys the cloud holds, and the key pair they belong to (which every ciphertext the cloud reads
/// or writes must name). None of them reveals the secret key.
pub struct CloudKeys {
    /// The key pair.
    pub key: KeyId,
    /// The keys: with the encapsulation keys exactly when the cloud bootstraps.
    pub keys: EvaluationKeys,
}

impl CloudKeys {
    /// Saves the keys at `path`, atomically, as one file: relinearization, Galois, then the two switching keys.
    ///
    /// # Errors
    /// If `session` is not the keys' parameter set, or [`FileError`] naming the file.
    pub fn save(&self, session: &Session, path: &Path) -> anyhow::Result<()> {
        let (ctx, keys) = (&session.ctx, &self.keys);
        let mut bytes = wire::relinearization_key_to_vec(ctx, &keys.relinearization, self.key)?;
        for galois in &keys.galois {
            bytes.extend(wire::galois_key_to_vec(ctx, galois, self.key)?);
        }
        if let Some(EncapsulationKeys { to_sparse, from_sparse }) = &keys.encapsulation {
            bytes.extend(wire::switching_key_to_vec(&session.encapsulation()?, to_sparse, self.key)?);
            bytes.extend(wire::switching_key_to_vec(ctx, from_sparse, self.key)?);
        }
        Ok(files::write_atomic(path, &bytes, false)?)
    }

    /// Checks that the keys rotate by every one of `steps` and conjugate (the trainer's logits need it).
    ///
    /// # Errors
    /// Naming the first missing rotation.
    pub fn check_rotations(&self, degree: usize, steps: &[i64]) -> anyhow::Result<()> {
        for &s in steps {
            self.keys.rotation(degree, s).map_err(|_| anyhow::anyhow!("no key for the rotation by {s} slots"))?;
        }
        self.keys
            .conjugation(degree)
            .map_err(|_| anyhow::anyhow!("no conjugation key (the trainer's logits need it)"))?;
        Ok(())
    }
}

/// Refuses a file that holds a secret key (the cloud never reads one).
///
/// # Errors
/// [`FileError::Content`] if any object in `bytes` is a secret key.
pub fn refuse_secret(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    for object in split_objects(path, bytes)? {
        if wire::peek_header(object).is_ok_and(|h| h.kind == Kind::SecretKey) {
            return Err(FileError::content(
                path,
                "this is a secret key: the cloud side never reads secret keys (keep it at the hospital)",
            ));
        }
    }
    Ok(())
}

/// Loads evaluation keys (`eval.keys`, or a batch folder's keys), refusing a secret key and keys of two key
/// pairs.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn load_evaluation_keys(session: &Session, path: &Path) -> Result<CloudKeys, FileError> {
    let bytes = session.read_objects(path)?;
    refuse_secret(path, &bytes)?;
    let objects = split_objects(path, &bytes)?;
    let key = key_of(path, objects[0])?;
    let relinearization = session.decode(path, objects[0], key, wire::decode_relinearization_key)?;
    let switching = objects.iter().position(|o| wire::peek_header(o).is_ok_and(|h| h.kind == Kind::SwitchingKey));
    let (galois, switching) = objects[1..].split_at(switching.map_or(objects.len(), |i| i) - 1);
    let galois =
        galois.iter().map(|o| session.decode(path, o, key, wire::decode_galois_key)).collect::<Result<_, _>>()?;
    let encapsulation = match switching {
        [] => None,
        [to_sparse, from_sparse] => {
            let sparse = session.encapsulation().map_err(|e| FileError::content(path, e))?;
            check_key(path, to_sparse, key)?;
            let to_sparse = wire::decode_switching_key(&sparse, to_sparse).map_err(|e| FileError::content(path, e))?;
            let from_sparse = session.decode(path, from_sparse, key, wire::decode_switching_key)?;
            Some(EncapsulationKeys { to_sparse, from_sparse })
        }
        other => {
            return Err(FileError::content(path, format!("{} switching keys; bootstrapping has 2", other.len())));
        }
    };
    Ok(CloudKeys { key, keys: EvaluationKeys { relinearization, galois, encapsulation } })
}

/// Loads the public key and its key pair, refusing a secret key.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn load_public_key(session: &Session, path: &Path) -> Result<(PublicKey<Vec<u64>>, KeyId), FileError> {
    let bytes = session.read_objects(path)?;
    refuse_secret(path, &bytes)?;
    let key = key_of(path, &bytes)?;
    Ok((session.decode(path, &bytes, key, wire::decode_public_key)?, key))
}

/// A secret key and its key pair.
pub type KeyedSecret = (SecretKey<Vec<u64>>, KeyId);

/// Loads the secret key and its key pair (hospital side only); the file's bytes are zeroized once decoded.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn load_secret_key(ctx: &Context<Vec<u64>>, path: &Path) -> Result<KeyedSecret, FileError> {
    let bytes = zeroize::Zeroizing::new(read_objects(ctx, files::open(path)?, path)?);
    let key = key_of(path, &bytes)?;
    Ok((decode(ctx, path, &bytes, key, wire::decode_secret_key)?, key))
}

/// Saves the secret key of key pair `key` at `path`, atomically and readable by its owner only (Unix mode 0600).
///
/// # Errors
/// [`FileError`] naming the file.
pub fn save_secret_key(
    ctx: &Context<Vec<u64>>,
    sk: &SecretKey<Vec<u64>>,
    key: KeyId,
    path: &Path,
) -> anyhow::Result<()> {
    let bytes = zeroize::Zeroizing::new(wire::secret_key_to_vec(ctx, sk, key)?);
    Ok(files::write_atomic(path, &bytes, true)?)
}

/// Saves the public key of key pair `key` at `path`, atomically.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn save_public_key(
    ctx: &Context<Vec<u64>>,
    pk: &PublicKey<Vec<u64>>,
    key: KeyId,
    path: &Path,
) -> anyhow::Result<()> {
    Ok(files::write_atomic(path, &wire::public_key_to_vec(ctx, pk, key)?, false)?)
}

/// Saves the parameter set of `ctx` at `path`, atomically.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn save_params(ctx: &Context<Vec<u64>>, path: &Path) -> anyhow::Result<()> {
    Ok(files::write_atomic(path, &wire::params_to_vec(ctx)?, false)?)
}
