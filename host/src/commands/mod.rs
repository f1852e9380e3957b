//! The `medblind` commands for the hospital (key owner) and the cloud.

use crate::files::{self, FileError};
use crate::keystore::{self, EVAL_KEYS_FILE, PARAMS_FILE, PUBLIC_KEY_FILE, SECRET_KEY_FILE, Session};
use crate::report::ReportFiles;
use anyhow::bail;
use medblind_core::ckks::linear::LinearLayer;
use medblind_core::ckks::{Ciphertext, Evaluator, GaloisKey, PublicKey, RelinearizationKey, SecretKey, Slots};
use medblind_core::wire::{self, KeyId};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::Path;

pub mod data;
pub mod demo;
pub mod training;

/// A linear head's shape: `rows` outputs (classes) over `cols` inputs (features).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadShape {
    /// Output rows.
    pub rows: usize,
    /// Input columns.
    pub cols: usize,
}

impl std::str::FromStr for HeadShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (rows, cols) = s.split_once('x').ok_or_else(|| format!("`{s}` is not ROWSxCOLS (e.g. 7x192)"))?;
        let parse = |v: &str| v.trim().parse::<usize>().ok().filter(|&v| v > 0);
        match (parse(rows), parse(cols)) {
            (Some(rows), Some(cols)) => Ok(Self { rows, cols }),
            _ => Err(format!("`{s}` is not ROWSxCOLS with positive sizes")),
        }
    }
}

impl HeadShape {
    /// The slots inputs are packed in: the next power of two holding both the inputs and the padded rows (0 when
    /// there is none).
    pub fn slots(&self) -> usize {
        let power = |n: usize| n.checked_next_power_of_two().unwrap_or(0);
        if power(self.cols) == 0 || power(self.rows) == 0 { 0 } else { power(self.cols).max(power(self.rows)) }
    }
}

/// The operating system's CSPRNG, through ChaCha20.
fn os_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_os_rng()
}

/// `medblind keygen`: a fresh key folder, published whole ([`files::publish_folder`]): a kill or a concurrent
/// `keygen` never leaves a folder of mixed keys. Refuses to replace a key folder unless `force`.
///
/// # Errors
/// On an unknown preset, an existing key folder, or a write failure (naming the file).
pub fn keygen(preset: &str, out: &Path, heads: &[HeadShape], force: bool) -> anyhow::Result<()> {
    let session = Session::from_preset(preset)?;
    if !force && std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{}: a key folder is already there; refusing to replace it (pass --force to overwrite)", out.display());
    }
    let ctx = &session.ctx;
    let mut elements: Vec<u64> = Vec::new();
    for head in heads {
        let max_slots = ctx.params().max_slots();
        let layer_keys = Some(head.slots())
            .filter(|&slots| slots <= max_slots)
            .and_then(|slots| LinearLayer::galois_elements_of_shape(head.rows, head.cols, slots, ctx.degree()).ok());
        let Some(layer_keys) = layer_keys else {
            bail!("--head {}x{} does not fit the {max_slots} slots of {preset}", head.rows, head.cols);
        };
        for g in layer_keys {
            if !elements.contains(&g) {
                elements.push(g);
            }
        }
    }
    let mut rng = os_rng();
    eprintln!("generating keys for {preset} (N = {})…", ctx.degree());
    let sk = SecretKey::generate(ctx, &mut rng);
    let key = KeyId::random(&mut rng);
    let pk = PublicKey::generate(ctx, &sk, &mut rng);
    let rlk = RelinearizationKey::generate(ctx, &sk, &mut rng);
    let mut eval = wire::relinearization_key_to_vec(ctx, &rlk, key)?;
    for (i, &g) in elements.iter().enumerate() {
        eprintln!("  Galois key {}/{}", i + 1, elements.len());
        eval.extend(wire::galois_key_to_vec(ctx, &GaloisKey::generate(ctx, &sk, g, &mut rng), key)?);
    }
    files::publish_folder(out, force, |dir| {
        files::write_atomic(&dir.join(PARAMS_FILE), &wire::params_to_vec(ctx)?, false)?;
        files::write_atomic(&dir.join(PUBLIC_KEY_FILE), &wire::public_key_to_vec(ctx, &pk, key)?, false)?;
        files::write_atomic(&dir.join(EVAL_KEYS_FILE), &eval, false)?;
        files::write_atomic(&dir.join(SECRET_KEY_FILE), &wire::secret_key_to_vec(ctx, &sk, key)?, true)?;
        Ok(())
    })?;
    eprintln!(
        "wrote {} (key pair {key}): {PARAMS_FILE}, {PUBLIC_KEY_FILE}, {EVAL_KEYS_FILE} (for the cloud) and {SECRET_KEY_FILE} (hospital only)",
        out.display()
    );
    Ok(())
}

/// `medblind encrypt`: every CSV row becomes one ciphertext (slots = the row length rounded up to a power of two);
/// with `seeded`, secret-key encryption halves the output.
///
/// # Errors
/// On unreadable or malformed input, keys of other parameters, or a row that does not fit.
pub fn encrypt(keys: &Path, input: &Path, out: &Path, seeded: bool, force: bool) -> anyhow::Result<()> {
    files::check_output(out, force)?;
    let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
    let ctx = &session.ctx;
    let rows = files::read_csv(input)?;
    let (level, scale) = (ctx.params().max_level(), ctx.params().default_scale());
    let mut rng = os_rng();
    let (key, id) = if seeded {
        let (sk, id) = keystore::load_secret_key(&session, &keys.join(SECRET_KEY_FILE))?;
        (Key::Secret(sk), id)
    } else {
        let (pk, id) = keystore::load_public_key(&session, &keys.join(PUBLIC_KEY_FILE))?;
        (Key::Public(pk), id)
    };
    let slots = Slots::new(ctx, &session.encoder);
    let mut bytes = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut padded = row.clone();
        padded.resize(row.len().next_power_of_two(), 0.0);
        let ct = match &key {
            Key::Public(pk) => slots.encrypt_pk(pk, &padded, &[], level, scale, &mut rng),
            Key::Secret(sk) => slots.encrypt_sk(sk, &padded, &[], level, scale, &mut rng),
        }
        .map_err(|e| FileError::content(input, format!("row {}: {e}", i + 1)))?;
        bytes.extend(wire::ciphertext_to_vec(ctx, &ct, id)?);
    }
    files::write_output(out, &bytes, force)?;
    eprintln!("encrypted {} rows into {} ({} bytes)", rows.len(), out.display(), bytes.len());
    Ok(())
}

enum Key {
    Public(PublicKey<Vec<u64>>),
    Secret(SecretKey<Vec<u64>>),
}

/// `medblind decrypt`: every ciphertext in `input` becomes one CSV row of its first `count` slots (all slots by
/// default). Hospital side: needs the secret key.
///
/// # Errors
/// On unreadable or malformed input or keys of other parameters.
pub fn decrypt_file(keys: &Path, input: &Path, out: &Path, count: Option<usize>, force: bool) -> anyhow::Result<()> {
    files::check_output(out, force)?;
    let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
    let ctx = &session.ctx;
    let (sk, key) = keystore::load_secret_key(&session, &keys.join(SECRET_KEY_FILE))?;
    let bytes = session.read_objects(input)?;
    let slots = Slots::new(ctx, &session.encoder);
    let mut rows = Vec::new();
    for object in files::split_objects(input, &bytes)? {
        let ct = session.decode(input, object, key, wire::decode_ciphertext)?;
        let (mut re, _) = slots.decrypt(&sk, &ct)?;
        re.truncate(count.unwrap_or(re.len()).min(re.len()));
        rows.push(re);
    }
    files::write_csv(out, &rows, force)?;
    eprintln!("decrypted {} ciphertexts into {}", rows.len(), out.display());
    Ok(())
}

/// `medblind infer` (cloud): `W·x + b` on every encrypted vector of `input`, with the plaintext head `weights`
/// (rows = classes) and optional `bias`; reads only the parameters and evaluation keys.
///
/// # Errors
/// On a secret-key file, malformed input, missing rotation keys, or shapes that do not fit.
pub fn infer(
    params: &Path,
    eval_keys: &Path,
    weights: &Path,
    bias: Option<&Path>,
    input: &Path,
    out: &Path,
    force: bool,
) -> anyhow::Result<()> {
    files::check_output(out, force)?;
    let session = Session::from_params_file(params)?;
    let ctx = &session.ctx;
    let keys = keystore::load_evaluation_keys(&session, eval_keys)?;
    let rows = read_head_rows(weights)?;
    let cols = rows[0].len();
    let flat: Vec<f64> = rows.concat();
    let bias_values = match bias {
        Some(path) => {
            let b = files::read_csv(path)?.concat();
            if b.len() != rows.len() {
                return Err(
                    FileError::content(path, format!("{} bias values for {} classes", b.len(), rows.len())).into()
                );
            }
            Some(b)
        }
        None => None,
    };
    let shape = HeadShape { rows: rows.len(), cols };
    let layer = LinearLayer::new(&flat, shape.rows, shape.cols, bias_values.as_deref(), shape.slots())?;
    let evaluator = Evaluator::new(ctx);
    let bytes = session.read_objects(input)?;
    keystore::refuse_secret(input, &bytes)?;
    let mut output = Vec::new();
    for (i, object) in files::split_objects(input, &bytes)?.into_iter().enumerate() {
        let x = session.decode(input, object, keys.key, wire::decode_ciphertext)?;
        if x.slots() != shape.slots() {
            return Err(FileError::content(
                input,
                format!(
                    "ciphertext {} has {} slots; a {}x{} head needs {}",
                    i + 1,
                    x.slots(),
                    shape.rows,
                    shape.cols,
                    shape.slots()
                ),
            )
            .into());
        }
        let mut y = Ciphertext::zero(ctx.degree(), x.level(), x.scale(), x.slots());
        let mut work = vec![0; layer.work_words(&evaluator, x.level())];
        let mut float_work = vec![0.0; layer.float_work_words(ctx.degree())];
        layer
            .evaluate_with(&evaluator, &session.encoder, &x, &keys.galois, &mut y, &mut work, &mut float_work)
            .map_err(|e| match e {
                medblind_core::Error::MissingGaloisKey { .. } => FileError::content(
                    eval_keys,
                    format!(
                        "no rotation key for a {}x{} head: generate keys with `medblind keygen --head {}x{}`",
                        shape.rows, shape.cols, shape.rows, shape.cols
                    ),
                ),
                other => FileError::content(input, format!("ciphertext {}: {other}", i + 1)),
            })?;
        output.extend(wire::ciphertext_to_vec(ctx, &y, keys.key)?);
    }
    files::write_output(out, &output, force)?;
    eprintln!("wrote encrypted logits to {}", out.display());
    Ok(())
}

/// `medblind device` (hospital): runs the edge firmware under QEMU, provisions it with the key folder's secret key
/// and the head, streams every CSV row of features to it over the UART link, decrypts the encrypted logits it
/// returns, writes them as CSV, and reports how they compare with the plaintext head.
///
/// # Errors
/// On missing firmware or QEMU, malformed input, or a device refusal.
pub fn device(
    keys: &Path,
    firmware: &Path,
    weights: &Path,
    bias: Option<&Path>,
    input: &Path,
    out: &Path,
    force: bool,
) -> anyhow::Result<()> {
    use crate::device::DeviceLink;
    files::check_output(out, force)?;
    let elf = firmware.join("target/thumbv7em-none-eabihf/release/medblind-firmware");
    if !elf.exists() {
        bail!("{}: no firmware build; run `(cd {} && cargo build --release)`", elf.display(), firmware.display());
    }
    let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
    if session.ctx.params().literal().name != medblind_core::ckks::presets::N4096_QP109_S28.name {
        bail!(
            "{}: the firmware runs preset n4096-qp109-s28; make keys with `medblind keygen --preset n4096-qp109-s28`",
            keys.display()
        );
    }
    let secret_path = keys.join(SECRET_KEY_FILE);
    let secret_bytes = zeroize::Zeroizing::new(session.read_objects(&secret_path)?);
    let (sk, key) = keystore::load_secret_key(&session, &secret_path)?;
    let rows = read_head_rows(weights)?;
    let cols = rows[0].len();
    let bias_values = match bias {
        Some(path) => files::read_csv(path)?.concat(),
        None => vec![0.0; rows.len()],
    };
    if bias_values.len() != rows.len() {
        return Err(FileError::content(
            bias.unwrap_or(weights),
            format!("{} bias values for {} classes", bias_values.len(), rows.len()),
        )
        .into());
    }
    let features = files::read_csv(input)?;
    if let Some(bad) = features.iter().position(|r| r.len() != cols) {
        return Err(FileError::content(
            input,
            format!("row {} has {} features, the head takes {cols}", bad + 1, features[bad].len()),
        )
        .into());
    }
    let mut link = DeviceLink::start(&firmware.join("qemu-run.sh"), &elf)?;
    link.provision(&secret_bytes)?;
    link.set_head(rows.len(), cols, &rows.concat(), &bias_values)?;
    let slots = Slots::new(&session.ctx, &session.encoder);
    let mut decrypted = Vec::new();
    let (mut worst, mut agree) = (0.0f64, 0usize);
    for (i, x) in features.iter().enumerate() {
        let (_, logits) = link.infer(x)?;
        let ct = session
            .decode(input, &logits, key, wire::decode_ciphertext)
            .map_err(|e| anyhow::anyhow!("device reply for row {}: {e}", i + 1))?;
        let (mut re, _) = slots.decrypt(&sk, &ct)?;
        re.truncate(rows.len());
        let plain: Vec<f64> =
            rows.iter().zip(&bias_values).map(|(w, b)| b + w.iter().zip(x).map(|(a, c)| a * c).sum::<f64>()).collect();
        worst = plain.iter().zip(&re).map(|(a, b)| (a - b).abs()).fold(worst, f64::max);
        let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b]));
        agree += usize::from(argmax(&plain) == argmax(&re));
        decrypted.push(re);
    }
    let status = link.quit()?;
    files::write_csv(out, &decrypted, force)?;
    eprintln!(
        "device: {} rows encrypted and classified on the firmware; same class as the plaintext head for {agree}; largest logit error {worst:.2e}; firmware exit {status}",
        features.len()
    );
    Ok(())
}

/// A head's weights from a CSV: one row per class, every row as long as the first.
fn read_head_rows(weights: &Path) -> anyhow::Result<Vec<Vec<f64>>> {
    let rows = files::read_csv(weights)?;
    let cols = rows[0].len();
    if let Some(bad) = rows.iter().position(|r| r.len() != cols) {
        let message = format!("row {} has {} values, row 1 has {cols}", bad + 1, rows[bad].len());
        return Err(FileError::content(weights, message).into());
    }
    Ok(rows)
}

/// `medblind compare`: one dataset trained plaintext-exact, plaintext-approx and (unless `preset` is `none`)
/// encrypted — on a feature file's official splits, or a CSV split 60/15/25 (train / validation / test, stratified)
/// by the schedule's seed — standardized
/// on the training part; writes `NAME.json`, `NAME.md` and `NAME.svg` (each run's validation loss and accuracy per
/// epoch, embedded in the Markdown) into `out` (NAME: the dataset, or the CSV's name without extensions). With
/// `work_dir` the encrypted run works in that folder and resumes there when interrupted (see
/// [`crate::train::compare`]).
///
/// # Errors
/// On unreadable data, an unknown preset, or a schedule the packing cannot take.
pub fn compare(
    data: &Path,
    out: &Path,
    preset: &str,
    work_dir: Option<&Path>,
    schedule: &crate::train::schedule::Schedule,
    force: bool,
) -> anyhow::Result<()> {
    use crate::train::data as dataset;
    let (source, split) = if data.extension().is_some_and(|e| e == "safetensors") {
        let features = crate::features::Features::load(data)?;
        let name = features.provenance.dataset.clone();
        (Source { name, description: features.describe(data), backbone: features.backbone() }, features.split())
    } else {
        let name = data.file_name().and_then(|n| n.to_str()).and_then(|n| n.split('.').next()).unwrap_or("data");
        let split = dataset::split(&dataset::load_csv(data)?, 0.15, 0.25, schedule.seed);
        let description = format!("`{}`, stratified split 60/15/25 with seed {}", data.display(), schedule.seed);
        (Source { name: name.to_string(), description, backbone: String::new() }, split)
    };
    compare_split(&source, split, out, preset, work_dir, schedule, force).map(drop)
}

/// Where a comparison's data came from, for its reports.
pub struct Source {
    /// The dataset's name, which names the report's files.
    pub name: String,
    /// One line: the file and how it was made.
    pub description: String,
    /// The network and weights that made the features, empty for tables not made by one.
    pub backbone: String,
}

/// Trains `split` three ways (see [`compare`]), writes the reports into `out` and prints the Markdown. Report
/// files already there are refused before any training, unless `force`.
///
/// # Errors
/// An unknown preset, a schedule the packing cannot take, or file trouble.
pub fn compare_split(
    source: &Source,
    mut split: crate::train::data::Split,
    out: &Path,
    preset: &str,
    work_dir: Option<&Path>,
    schedule: &crate::train::schedule::Schedule,
    force: bool,
) -> anyhow::Result<ReportFiles> {
    use crate::train::{compare, data as dataset};
    let name = &source.name;
    let written = ReportFiles::new(out, name);
    for path in [&written.markdown, &written.plot, &written.json] {
        files::check_output(path, force)?;
    }
    let literal = match preset {
        "none" => None,
        name => Some(*medblind_core::ckks::presets::ALL.iter().find(|l| l.name == name).ok_or_else(|| {
            anyhow::anyhow!("unknown preset `{name}` (see `medblind params`, or `none` for plaintext runs only)")
        })?),
    };
    if let Some(literal) = &literal {
        keystore::warn_if_insecure(literal);
    }
    dataset::standardize(&mut split);
    let start = std::time::Instant::now();
    let mut progress = |message: &str| eprintln!("[{:>7.1} s] {name}: {message}", start.elapsed().as_secs_f64());
    let mut result = compare::compare(name, &split, schedule, literal, work_dir, &mut progress)?;
    result.source.clone_from(&source.description);
    result.backbone.clone_from(&source.backbone);
    std::fs::create_dir_all(out).map_err(|e| FileError::Io { path: out.to_path_buf(), source: e })?;
    let markdown = written.write(&result, &split)?;
    crate::output::write(format_args!("{markdown}"))?;
    Ok(written)
}
