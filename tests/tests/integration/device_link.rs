//! End to end over the device link: the firmware runs under QEMU (Cortex-M7, mps2-an500), the host provisions a
//! secret-key seed and a 7×192 linear head over UART0, streams feature vectors, and decodes the returned
//! ciphertexts (encrypted features and encrypted logits) with the same core code; the hospital-side secret key,
//! derived from the same seed, decrypts them, and the logits match plaintext within 1e-3 with the same argmax.
//!
//! Needs `qemu-system-arm`, `defmt-print` and the `thumbv7em-none-eabihf` target, which `scripts/test` installs.

use medblind::commands::head::HeadFiles;
use medblind::device::{DeviceError, DeviceLink};
use medblind_core::ckks::{Context, Decryptor, Encoder, Params, SecretKey, presets};
use medblind_core::wire;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::PathBuf;
use std::process::Command;

const SEED: [u8; 32] = [42; 32];
const ROWS: usize = 7;
const COLS: usize = 192;

fn firmware_elf() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware");
    for tool in ["qemu-system-arm", "defmt-print"] {
        let found =
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
        assert!(found, "{tool} is not installed: run scripts/test (it installs qemu-system-arm and defmt-print)");
    }
    // The firmware's own target folder, whatever CARGO_TARGET_DIR says, so the binary is where this test looks.
    let target = dir.join("target");
    let status = Command::new("cargo")
        .args(["build", "--release", "--locked", "--bin", "medblind-firmware", "--target-dir"])
        .arg(&target)
        .current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the firmware failed");
    target.join("thumbv7em-none-eabihf/release/medblind-firmware")
}

fn value(i: usize) -> f64 {
    ((i as f64 * 12.9898).sin() * 43758.5453).fract()
}

#[test]
fn device_encrypts_and_evaluates_the_head_like_the_host() {
    let elf = firmware_elf();
    let runner = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/qemu-run.sh");
    let mut device = DeviceLink::start(&runner, &elf).expect("QEMU starts");

    // Requests out of order are refused, not crashes.
    assert!(matches!(device.infer(&[0.5; COLS]), Err(DeviceError::Refused(_))), "{}", device.log());
    device.provision(&SEED).unwrap_or_else(|e| panic!("{e}\n{}", device.log()));
    let weights: Vec<f64> = (0..ROWS * COLS).map(|i| value(i) / 10.0).collect();
    let bias: Vec<f64> = (0..ROWS).map(|r| r as f64 / 100.0).collect();
    device.set_head(ROWS, COLS, &weights, &bias).unwrap_or_else(|e| panic!("{e}\n{}", device.log()));
    assert!(matches!(device.set_head(ROWS, COLS, &weights, &bias), Err(DeviceError::Refused(_))));

    // The hospital's side: same parameters, the secret key derived from the same seed.
    let params = Params::new(&presets::N4096_QP109_S28).unwrap();
    let ctx = Context::new(&params).unwrap();
    let sk = SecretKey::generate(&ctx, &mut ChaCha20Rng::from_seed(SEED));
    let encoder = Encoder::new(12).unwrap();
    let decode = |bytes: &[u8]| {
        assert_eq!(wire::peek_header(bytes).unwrap().key, wire::KeyId::NONE, "a bare seed names no key pair");
        let ct = wire::decode_ciphertext(&ctx, bytes).unwrap();
        let re = Decryptor::new(&ctx, &encoder, &sk).decrypt(&ct).unwrap();
        (ct.seed().is_some(), re)
    };
    for sample in 0..3 {
        let features: Vec<f64> = (0..COLS).map(|c| value(1000 * (sample + 1) + c)).collect();
        let (encrypted, logits) = device.infer(&features).unwrap_or_else(|e| panic!("{e}\n{}", device.log()));
        let (seeded, slots) = decode(&encrypted);
        assert!(seeded, "fresh device encryptions travel seeded");
        let feature_error = features.iter().zip(&slots).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(feature_error < 1e-4, "encrypted features off by {feature_error}");
        let (_, have) = decode(&logits);
        let want: Vec<f64> =
            (0..ROWS).map(|r| bias[r] + (0..COLS).map(|c| weights[r * COLS + c] * features[c]).sum::<f64>()).collect();
        let logit_error = want.iter().zip(&have).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let argmax = |v: &[f64]| (0..ROWS).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        assert!(logit_error < 1e-3, "sample {sample}: logits off by {logit_error}");
        assert_eq!(argmax(&want), argmax(&have[..ROWS]), "sample {sample}: argmax differs");
    }
    let status = device.quit().unwrap();
    assert!(status.success(), "firmware exit status {status}");
}

/// `medblind device` (the library function behind it): a key folder from `keygen`, CSV head and features; the
/// decrypted logits it writes match the plaintext head. A key folder of another preset is refused up front.
#[test]
fn device_command_classifies_csv_rows_on_the_firmware() {
    let firmware = firmware_elf().ancestors().nth(4).unwrap().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let (rows, cols) = (10, 64);
    let head: Vec<Vec<f64>> = (0..rows).map(|r| (0..cols).map(|c| value(r * cols + c) / 4.0).collect()).collect();
    let bias: Vec<f64> = (0..rows).map(|r| value(5000 + r)).collect();
    let inputs: Vec<Vec<f64>> = (0..4).map(|i| (0..cols).map(|c| value(9000 + i * cols + c)).collect()).collect();
    medblind::files::write_csv(&path("head.csv"), &head, false).unwrap();
    medblind::files::write_csv(&path("bias.csv"), std::slice::from_ref(&bias), false).unwrap();
    medblind::files::write_csv(&path("x.csv"), &inputs, false).unwrap();

    let keygen = |preset: &str, out: &str| {
        let preset = preset.parse().unwrap();
        medblind::commands::keygen::Args { preset, out: path(out), heads: Vec::new() }.run(false).unwrap();
    };
    let device = |keys: &str| {
        let head = HeadFiles { weights: path("head.csv"), bias: Some(path("bias.csv")) };
        let (firmware, input, out) = (firmware.clone(), path("x.csv"), path("out.csv"));
        medblind::commands::device::Args { keys: path(keys), firmware, head, input, out }.run(false)
    };
    keygen("test-insecure-n1024", "wrong");
    let refused = device("wrong").unwrap_err();
    assert!(refused.to_string().contains("n4096-qp109-s28"), "{refused}");
    assert!(!path("out.csv").exists());

    keygen("n4096-qp109-s28", "keys");
    device("keys").unwrap();
    let logits = medblind::files::read_csv(&path("out.csv")).unwrap();
    assert_eq!(logits.len(), inputs.len());
    for (x, have) in inputs.iter().zip(&logits) {
        assert_eq!(have.len(), rows);
        for (r, got) in have.iter().enumerate() {
            let want = bias[r] + head[r].iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
            assert!((want - got).abs() < 1e-3, "logit {r}: {got} vs {want}");
        }
    }
}
