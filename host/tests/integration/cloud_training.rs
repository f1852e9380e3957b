//! Encrypted training with the hospital and the cloud as separate processes: `keygen`, `encrypt-features`
//! (hospital), `train` (cloud, evaluation keys only) with `refresh` (hospital) answering through a shared folder,
//! then `evaluate` (hospital) — on insecure small test parameters so it runs in seconds, once with key-owner
//! refreshes and once with the cloud bootstrapping — and the refusals.

use crate::medblind;
use assert_cmd::Command;
use medblind::features::{Features, Provenance};
use medblind::train::data::standardize;
use medblind::train::plain::{self, Softmax};
use medblind::train::plan::softmax_for;
use medblind::train::schedule::Schedule;
use std::path::Path;

/// Key-owner refreshes: one training step fits its 30 levels.
const PRESET: &str = "test-insecure-n2048-depth30";
/// Bootstrapping: 12 levels after each bootstrap.
const BOOTSTRAP_PRESET: &str = "test-insecure-n4096-boot";

/// Three Gaussian-like blobs in 12 dimensions: 48 / 16 / 16 rows.
fn write_features(path: &Path) {
    let split = |n: usize, offset: usize| {
        let labels: Vec<u32> = (0..n).map(|i| ((i + offset) % 3) as u32).collect();
        let features: Vec<f32> = (0..n * 12)
            .map(|k| {
                let (i, j) = (k / 12 + offset, k % 12);
                (((i * 31 + j * 17) as f32 * 0.7).sin() + if j % 3 == i % 3 { 2.0 } else { 0.0 }) * 5.0
            })
            .collect();
        (features, labels)
    };
    let provenance = Provenance {
        dataset: "blobs".into(),
        dataset_md5: "0".repeat(32),
        classes: 3,
        model: "none".into(),
        weights: "none".into(),
        weights_md5: "0".repeat(32),
        weights_origin: "pretrained".into(),
        token: "cls".into(),
        limit: None,
    };
    Features { dim: 12, splits: [split(48, 0), split(16, 1000), split(16, 2000)], provenance }.save(path).unwrap();
}

/// The error line of a failed command (progress lines may come before it).
fn fails_with(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().code(2).get_output().clone();
    let text = String::from_utf8(out.stderr).unwrap();
    let last = text.trim_end().lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("medblind: error: "), "an error line last:\n{text}");
    last
}

/// The hospital's part before training under `preset`: features (blobs), keys, the encrypted batch folder.
/// Returns the features.
fn hospital_setup(preset: &str, keys: &Path, data: &Path) -> std::path::PathBuf {
    let features = keys.with_file_name("blobs.safetensors");
    write_features(&features);
    medblind().args(["keygen", "--preset", preset, "--out"]).arg(keys).assert().success();
    medblind()
        .args(["encrypt-features", "--batch", "16", "--keys"])
        .arg(keys)
        .arg("--features")
        .arg(&features)
        .arg("--out")
        .arg(data)
        .assert()
        .success();
    features
}

#[test]
fn the_cloud_trains_on_ciphertexts_while_the_hospital_refreshes_from_another_process() {
    let cloud = train_as_separate_processes(PRESET, None);
    assert!(cloud.contains(" 12 ciphertexts refreshed by the key owner, 0 bootstrapped"), "{cloud}");
    assert!(
        cloud.contains("parameter set test-insecure-n2048-depth30 is INSECURE"),
        "the test preset announces itself"
    );
}

/// The cloud killed after its second step resumes from its checkpoint: six steps in all, one refresh of the
/// weights per step (none twice), and the same accuracy.
#[test]
fn a_killed_cloud_resumes_from_its_checkpoint() {
    let cloud = train_as_separate_processes(PRESET, Some(2));
    assert!(cloud.contains("resuming at epoch 1 after 2 of its steps"), "{cloud}");
    assert!(cloud.contains(" 12 ciphertexts refreshed by the key owner, 0 bootstrapped"), "{cloud}");
}

#[test]
fn the_bootstrapping_cloud_trains_without_refreshes_from_the_hospital_insecure_n4096() {
    let cloud = train_as_separate_processes(BOOTSTRAP_PRESET, None);
    // Three bootstraps per step (six steps), and the weights' when they fall below the first segment's 6 levels:
    // after the first step (they start there) and after the fifth; validation logits go to the hospital
    // unbootstrapped.
    assert!(cloud.contains(" 0 ciphertexts refreshed by the key owner, 20 bootstrapped"), "{cloud}");
}

/// The whole protocol as separate processes under `preset`, the cloud saving a checkpoint after every step and,
/// with `kill_after`, killed once it has saved that many steps and started again; checks the encrypted test
/// accuracy against the plaintext `approx` trainer's and returns the cloud's log (of its last start).
fn train_as_separate_processes(preset: &str, kill_after: Option<usize>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data, exchange) = (dir.path().join("keys"), dir.path().join("cloud"), dir.path().join("exchange"));
    let features = hospital_setup(preset, &keys, &data);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        medblind::keystore::refuse_secret(&path, &std::fs::read(&path).unwrap()).unwrap_or_else(|_| {
            assert!(path.extension().is_some_and(|e| e == "txt"), "{} is not wire objects", path.display())
        });
    }

    let hospital = std::process::Command::new(assert_cmd::cargo::cargo_bin("medblind"))
        .args(["refresh", "--keys"])
        .arg(&keys)
        .arg("--data")
        .arg(&data)
        .arg("--exchange")
        .arg(&exchange)
        .args(["--epochs", "2", "--patience", "0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (weights, checkpoint) = (dir.path().join("weights.cts"), dir.path().join("checkpoint.mbl"));
    let schedule = ["--epochs", "2", "--learning-rate", "2.0", "--weight-decay", "0.01", "--momentum", "0.8"];
    let mut args: Vec<std::ffi::OsString> = ["train", "--patience", "0", "--seed", "5"].map(Into::into).to_vec();
    args.extend(schedule.map(Into::into));
    for (flag, path) in
        [("--data", &data), ("--exchange", &exchange), ("--out", &weights), ("--checkpoint", &checkpoint)]
    {
        args.extend([flag.into(), path.into()]);
    }
    if let Some(steps) = kill_after {
        let mut first = std::process::Command::new(assert_cmd::cargo::cargo_bin("medblind"))
            .args(&args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let saved = format!("\nsteps={steps}\n");
        while !std::fs::read(&checkpoint).is_ok_and(|b| b.windows(saved.len()).any(|w| w == saved.as_bytes())) {
            assert!(first.try_wait().unwrap().is_none(), "the cloud ended before its step {steps}");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        first.kill().unwrap();
        first.wait().unwrap();
    }
    let cloud = medblind().args(&args).assert().success().get_output().stderr.clone();
    let cloud = String::from_utf8(cloud).unwrap();
    assert!(!checkpoint.exists(), "the checkpoint is removed when training ends");
    assert!(cloud.contains("6 steps") && cloud.contains("the key owner's verdict"), "{cloud}");
    assert!(!cloud.contains("validation loss"), "the cloud learns verdicts, not losses: {cloud}");
    let hospital = hospital.wait_with_output().unwrap();
    let hospital_log = String::from_utf8_lossy(&hospital.stderr);
    assert!(hospital.status.success(), "{hospital_log}");
    assert!(hospital_log.contains("the cloud is done") && hospital_log.contains("validation loss"), "{hospital_log}");
    assert!(std::fs::read_dir(&keys).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".ledger")));
    let left: Vec<_> = std::fs::read_dir(&exchange).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "every request was answered and cleaned up: {left:?}");

    let logits = dir.path().join("logits.cts");
    medblind()
        .args(["predict", "--data"])
        .arg(&data)
        .arg("--weights")
        .arg(&weights)
        .arg("--out")
        .arg(&logits)
        .assert()
        .success();
    let out = medblind()
        .args(["evaluate", "--keys"])
        .arg(&keys)
        .arg("--data")
        .arg(&data)
        .arg("--weights")
        .arg(&weights)
        .arg("--features")
        .arg(&features)
        .arg("--logits")
        .arg(&logits)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("same class as the decrypted weights for 16 of 16 rows"), "{text}");
    let accuracy: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();

    // The same schedule in plaintext with the same softmax approximation.
    let mut split = Features::load(&features).unwrap().split();
    standardize(&mut split);
    let schedule = Schedule {
        learning_rate: 2.0,
        decay: 0.9,
        weight_decay: 0.01,
        momentum: 0.8,
        batch: 16,
        epochs: 2,
        patience: 0,
        seed: 5,
    };
    let literal = medblind_core::ckks::presets::ALL.iter().find(|l| l.name == preset).unwrap();
    let want = plain::train(&split.train, &split.val, &schedule, Softmax::Approx(softmax_for(3, Some(literal))));
    let want = 100.0 * plain::accuracy(&want.weights, &split.test);
    assert!((accuracy - want).abs() < 0.01, "encrypted {accuracy} % vs plaintext-approx {want} %");
    assert!(want > 90.0, "the blobs are separable ({want} %)");
    let encrypted_inference = text.lines().find_map(|l| l.strip_prefix("encrypted inference: test accuracy ")).unwrap();
    assert!(encrypted_inference.starts_with(&format!("{accuracy:.2} %")), "{text}");
    cloud
}

#[test]
fn training_refuses_secret_keys_missing_hospitals_and_foreign_folders() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data) = (dir.path().join("keys"), dir.path().join("cloud"));
    let features = hospital_setup(PRESET, &keys, &data);
    let train = |data: &Path| {
        let mut cmd = medblind();
        cmd.args(["train", "--timeout", "1", "--exchange"])
            .arg(dir.path().join("x"))
            .arg("--out")
            .arg(dir.path().join("w.cts"))
            .arg("--data")
            .arg(data);
        cmd
    };
    let err = fails_with(&mut train(&data));
    assert!(err.contains("no reply from the key owner") && err.contains("medblind refresh"), "{err}");
    let err = fails_with(&mut train(&keys));
    assert!(err.contains("manifest.txt"), "{err}");
    // Keys of another key pair: the hospital's, and evaluation keys put among the cloud's batches.
    let other = dir.path().join("other");
    medblind().args(["keygen", "--preset", PRESET, "--out"]).arg(&other).assert().success();
    let mut refresh = medblind();
    refresh
        .args(["refresh", "--keys"])
        .arg(&other)
        .arg("--data")
        .arg(&data)
        .arg("--exchange")
        .arg(dir.path().join("x"));
    let err = fails_with(&mut refresh);
    assert!(err.contains("manifest.txt") && err.contains("belong to key pair") && err.contains("other"), "{err}");
    // Batches of another key pair among the folder's (an `encrypt-features --force` cut short, say).
    let foreign = dir.path().join("foreign");
    let mut encrypt = medblind();
    encrypt.args(["encrypt-features", "--batch", "16", "--keys"]).arg(&other).arg("--features").arg(&features);
    encrypt.arg("--out").arg(&foreign).assert().success();
    let batch = |dir: &Path, i: usize| dir.join(format!("train-{i:04}.cts"));
    let own: Vec<Vec<u8>> = (0..3).map(|i| std::fs::read(batch(&data, i)).unwrap()).collect();
    for i in 0..3 {
        std::fs::copy(batch(&foreign, i), batch(&data, i)).unwrap();
    }
    let err = fails_with(&mut train(&data));
    assert!(err.contains("train-000") && err.contains("belongs to key pair"), "{err}");
    for (i, bytes) in own.iter().enumerate() {
        std::fs::write(batch(&data, i), bytes).unwrap();
    }
    std::fs::copy(other.join("eval.keys"), data.join("train.keys")).unwrap();
    let err = fails_with(&mut train(&data));
    assert!(err.contains("train.keys belongs to key pair"), "{err}");
    std::fs::copy(keys.join("secret.key"), data.join("train.keys")).unwrap();
    let err = fails_with(&mut train(&data));
    assert!(err.contains("train.keys") && err.contains("never reads secret keys"), "{err}");
    let encrypt_features = |extra: &[&str]| {
        let mut cmd = medblind();
        cmd.args(["encrypt-features", "--keys"]).arg(&keys).arg("--features").arg(&features).arg("--out").arg(&data);
        cmd.args(["--batch", "24"]).args(extra);
        cmd
    };
    let err = fails_with(&mut encrypt_features(&[]));
    assert!(err.contains("not empty") && err.contains("--force"), "an existing batch folder is kept: {err}");
    let err = fails_with(&mut encrypt_features(&["--force"]));
    assert!(err.contains("power of two"), "{err}");
    // A manifest with impossible counts is refused before anything is divided by them or allocated.
    let manifest = std::fs::read_to_string(data.join("manifest.txt")).unwrap();
    for (key, value) in [
        ("classes", "18446744073709551615"),
        ("classes", "9223372036854775809"),
        ("slots", "18446744073709551615"),
        ("slots", "256"),
    ] {
        let line = manifest.lines().find(|l| l.starts_with(&format!("{key}="))).unwrap();
        std::fs::write(data.join("manifest.txt"), manifest.replace(line, &format!("{key}={value}"))).unwrap();
        let err = fails_with(&mut train(&data));
        assert!(err.contains("manifest.txt"), "{key}={value}: {err}");
    }
    assert!(!dir.path().join("w.cts").exists(), "nothing written on failure");
}
