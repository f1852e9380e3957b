//! The `medblind` binary end to end: the hospital → cloud → hospital flow, and every bad-input path exiting 2
//! with a one-line error that names the file, without touching what is already on disk.

use crate::medblind;
use assert_cmd::Command;
use std::fs;
use std::path::Path;

fn write_csv(path: &Path, rows: &[Vec<f64>]) {
    let text: String =
        rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n").collect();
    fs::write(path, text).unwrap();
}

fn read_csv(path: &Path) -> Vec<Vec<f64>> {
    fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect()
}

/// A deterministic pseudo-random value in [-1, 1].
fn value(i: usize) -> f64 {
    ((i as f64 * 12.9898).sin() * 43758.5453).fract()
}

/// The one-line error of a failed command (an insecure test preset's warning may come before it).
fn stderr_of(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().code(2).get_output().clone();
    let text = String::from_utf8(out.stderr).unwrap();
    let errors: Vec<&str> = text.trim_end().lines().filter(|l| !l.starts_with("medblind: warning: ")).collect();
    assert_eq!(errors.len(), 1, "one line expected:\n{text}");
    text
}

#[test]
fn params_lists_every_preset_with_its_security() {
    let out = medblind().arg("params").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for literal in medblind_core::ckks::presets::ALL {
        assert!(text.contains(literal.name), "{} missing from:\n{text}", literal.name);
    }
    assert!(text.contains("INSECURE, tests only") && text.contains("128-bit"));
    let boot = text.lines().find(|l| l.starts_with("n65536-boot-qp1762-s40 ")).unwrap();
    assert!(boot.contains(" 12+15 "), "levels after bootstrapping + bootstrapping's own: {boot}");
}

#[test]
fn hospital_cloud_hospital_inference_matches_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (classes, features) = (3, 20);
    medblind().args(["keygen", "--out"]).arg(d.join("keys")).args(["--head", "3x20"]).assert().success();
    let secret = d.join("keys/secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let x: Vec<Vec<f64>> = (0..4).map(|r| (0..features).map(|c| value(r * 100 + c)).collect()).collect();
    let w: Vec<Vec<f64>> = (0..classes).map(|r| (0..features).map(|c| value(7000 + r * 100 + c)).collect()).collect();
    let b = vec![vec![0.5, -0.25, 1.0]];
    write_csv(&d.join("x.csv"), &x);
    write_csv(&d.join("w.csv"), &w);
    write_csv(&d.join("b.csv"), &b);
    for seeded in [false, true] {
        let mut encrypt = medblind();
        encrypt
            .args(["encrypt", "--keys"])
            .arg(d.join("keys"))
            .arg("--input")
            .arg(d.join("x.csv"))
            .arg("--out")
            .arg(d.join("x.ct"))
            .arg("--force"); // the second round replaces the first's outputs
        if seeded {
            encrypt.arg("--seeded");
        }
        encrypt.assert().success();
        medblind()
            .args(["infer", "--params"])
            .arg(d.join("keys/params.mbl"))
            .arg("--eval-keys")
            .arg(d.join("keys/eval.keys"))
            .arg("--weights")
            .arg(d.join("w.csv"))
            .arg("--bias")
            .arg(d.join("b.csv"))
            .arg("--input")
            .arg(d.join("x.ct"))
            .arg("--out")
            .arg(d.join("y.ct"))
            .arg("--force")
            .assert()
            .success();
        medblind()
            .args(["decrypt", "--keys"])
            .arg(d.join("keys"))
            .arg("--input")
            .arg(d.join("y.ct"))
            .arg("--out")
            .arg(d.join("y.csv"))
            .args(["--count", "3", "--force"])
            .assert()
            .success();
        let y = read_csv(&d.join("y.csv"));
        for (xr, yr) in x.iter().zip(&y) {
            for c in 0..classes {
                let want = b[0][c] + w[c].iter().zip(xr).map(|(a, b)| a * b).sum::<f64>();
                // Preset n4096-qp109-s28: scale 2^28, so about 2^-16 absolute error is expected here.
                assert!((want - yr[c]).abs() < 1e-4, "class {c}: {want} vs {} (seeded {seeded})", yr[c]);
            }
        }
    }
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    medblind().args(["keygen", "--out"]).arg(&keys).args(["--head", "2x8"]).assert().success();
    let secret_before = fs::read(keys.join("secret.key")).unwrap();

    // keygen never replaces a key folder without --force.
    let e = stderr_of(medblind().args(["keygen", "--out"]).arg(&keys));
    assert!(e.contains("key folder") && e.contains("--force"), "{e}");
    assert_eq!(fs::read(keys.join("secret.key")).unwrap(), secret_before);

    // A malformed CSV names the line and field.
    fs::write(d.join("bad.csv"), "1,2,3,4,5,6,7,8\n0.5,x,1,2\n").unwrap();
    let e = stderr_of(
        medblind()
            .args(["encrypt", "--keys"])
            .arg(&keys)
            .arg("--input")
            .arg(d.join("bad.csv"))
            .arg("--out")
            .arg(d.join("x.ct")),
    );
    assert!(e.contains("bad.csv") && e.contains("line 2"), "{e}");

    write_csv(&d.join("x.csv"), &[vec![0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4]]);
    medblind()
        .args(["encrypt", "--keys"])
        .arg(&keys)
        .arg("--input")
        .arg(d.join("x.csv"))
        .arg("--out")
        .arg(d.join("x.ct"))
        .assert()
        .success();
    write_csv(&d.join("w.csv"), &[vec![1.0; 8], vec![-1.0; 8]]);
    let infer = |eval_keys: &Path, input: &Path| {
        let mut c = medblind();
        c.args(["infer", "--params"]).arg(keys.join("params.mbl")).arg("--eval-keys").arg(eval_keys);
        c.arg("--weights").arg(d.join("w.csv")).arg("--input").arg(input).arg("--out").arg(d.join("y.ct"));
        c.arg("--force"); // an output already there: the input errors below must still leave it as it was
        c
    };

    // The cloud refuses a secret key wherever it is given one.
    let e = stderr_of(&mut infer(&keys.join("secret.key"), &d.join("x.ct")));
    assert!(e.contains("secret.key") && e.contains("never reads secret keys"), "{e}");

    // A truncated ciphertext file; the existing output file is left as it was.
    fs::write(d.join("y.ct"), b"keep me").unwrap();
    let bytes = fs::read(d.join("x.ct")).unwrap();
    fs::write(d.join("cut.ct"), &bytes[..bytes.len() - 10]).unwrap();
    let e = stderr_of(&mut infer(&keys.join("eval.keys"), &d.join("cut.ct")));
    assert!(e.contains("cut.ct") && e.contains("truncated"), "{e}");
    assert_eq!(fs::read(d.join("y.ct")).unwrap(), b"keep me");

    // A corrupted byte.
    let mut flipped = bytes.clone();
    flipped[200] ^= 4;
    fs::write(d.join("flip.ct"), &flipped).unwrap();
    let e = stderr_of(&mut infer(&keys.join("eval.keys"), &d.join("flip.ct")));
    assert!(e.contains("flip.ct") && e.contains("corrupted"), "{e}");

    // Keys of another parameter set are explained by name.
    let other = d.join("other");
    medblind().args(["keygen", "--preset", "test-insecure-n1024", "--out"]).arg(&other).assert().success();
    let e = stderr_of(&mut infer(&other.join("eval.keys"), &d.join("x.ct")));
    assert!(e.contains("test-insecure-n1024") && e.contains("n4096-qp109-s28"), "{e}");

    // Rotation keys made for another head shape (8x8 needs a baby step of 3 that 2x8 does not).
    write_csv(&d.join("w.csv"), &vec![vec![1.0; 8]; 8]);
    let e = stderr_of(&mut infer(&keys.join("eval.keys"), &d.join("x.ct")));
    assert!(e.contains("--head 8x8"), "{e}");
    // Inputs packed for another width.
    write_csv(&d.join("w.csv"), &vec![vec![1.0; 16]; 2]);
    let e = stderr_of(&mut infer(&keys.join("eval.keys"), &d.join("x.ct")));
    assert!(e.contains("x.ct") && e.contains("needs 16"), "{e}");

    // Missing files and unknown presets.
    let e = stderr_of(
        medblind()
            .args(["decrypt", "--keys"])
            .arg(d.join("nowhere"))
            .arg("--input")
            .arg(d.join("x.ct"))
            .arg("--out")
            .arg(d.join("o.csv")),
    );
    assert!(e.contains("nowhere"), "{e}");
    let e = stderr_of(medblind().args(["keygen", "--preset", "huge", "--out"]).arg(d.join("k2")));
    assert!(e.contains("unknown preset `huge`"), "{e}");
}

/// A reader that stops early (`medblind data info bloodmnist | head -1`) ends the command quietly, with status 0,
/// instead of a "Broken pipe" panic.
#[cfg(unix)]
#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    // `true` exits at once without reading; a second later medblind writes into the pipe nobody reads.
    Command::new("bash")
        .args(["-c", "set -o pipefail; (sleep 1; exec \"$0\" params) | true"])
        .arg(assert_cmd::cargo::cargo_bin("medblind"))
        .assert()
        .success()
        .stderr("");
}

/// Every kernel set this CPU runs computes the same ciphertext bytes; a set forced through `$MEDBLIND_KERNELS`
/// that the CPU cannot run, or that does not exist, is refused before any work.
#[test]
fn every_kernel_set_gives_the_same_ciphertext_and_bad_choices_are_refused() {
    use medblind_core::math::kernels::KernelSet;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    medblind().args(["keygen", "--out"]).arg(d.join("keys")).args(["--head", "3x20"]).assert().success();
    let x: Vec<Vec<f64>> = (0..4).map(|r| (0..20).map(|c| value(r * 100 + c)).collect()).collect();
    let w: Vec<Vec<f64>> = (0..3).map(|r| (0..20).map(|c| value(7000 + r * 100 + c)).collect()).collect();
    write_csv(&d.join("x.csv"), &x);
    write_csv(&d.join("w.csv"), &w);
    let mut encrypt = medblind();
    encrypt.args(["encrypt", "--keys"]).arg(d.join("keys")).arg("--input").arg(d.join("x.csv"));
    encrypt.arg("--out").arg(d.join("x.ct")).assert().success();
    let infer = |kernels: &str, out: &Path| {
        let mut cmd = medblind();
        cmd.env("MEDBLIND_KERNELS", kernels).args(["infer", "--params"]).arg(d.join("keys/params.mbl"));
        cmd.arg("--eval-keys").arg(d.join("keys/eval.keys")).arg("--weights").arg(d.join("w.csv"));
        cmd.arg("--input").arg(d.join("x.ct")).arg("--out").arg(out);
        cmd
    };
    infer("scalar", &d.join("scalar.ct")).assert().success();
    let scalar = fs::read(d.join("scalar.ct")).unwrap();
    for set in KernelSet::ALL.into_iter().filter(|set| *set != KernelSet::Scalar) {
        let out = d.join(format!("{set}.ct"));
        if set.supported() {
            infer(set.name(), &out).assert().success();
            assert!(fs::read(&out).unwrap() == scalar, "{set} and scalar kernels gave different ciphertexts");
        } else {
            eprintln!("NOT RUN: this CPU lacks the {set} instructions; checking they are refused instead");
            let err = stderr_of(&mut infer(set.name(), &out));
            assert!(err.contains(&format!("MEDBLIND_KERNELS={set}: this CPU lacks its instructions")), "{err}");
            assert!(!out.exists());
        }
    }
    let err = stderr_of(&mut infer("avx3", &d.join("avx3.ct")));
    assert!(err.contains("MEDBLIND_KERNELS=avx3: not a kernel set (one of scalar, avx2, avx512-ifma)"), "{err}");
}

#[test]
fn unknown_command_fails_with_usage() {
    medblind().arg("no-such-command").assert().failure().code(2);
}

/// `compare` on the real breast-cancer table (plaintext runs; the encrypted trainer is tested on insecure
/// parameters in the library), and its refusals.
#[test]
fn compare_writes_reports_and_refuses_bad_schedules() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/breast_cancer.csv");
    assert!(data.exists(), "{} is missing: the shared datasets are needed (see README.md)", data.display());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let run = |extra: &[&str]| {
        let mut cmd = medblind();
        cmd.arg("compare").arg("--data").arg(&data).arg("--out").arg(&out).args(extra);
        cmd
    };
    let ok = run(&["--preset", "none", "--epochs", "5"]).assert().success().get_output().stdout.clone();
    let table = String::from_utf8(ok).unwrap();
    assert!(table.contains("| plaintext-exact |") && table.contains("| plaintext-approx |"), "{table}");
    assert!(table.contains("![validation loss and accuracy per epoch](breast_cancer.svg)"), "{table}");
    let json = fs::read_to_string(out.join("breast_cancer.json")).unwrap();
    assert!(
        json.contains("\"train\":342") && json.contains("\"test\":142") && json.contains("\"classes\":2"),
        "{json}"
    );
    // Each run's validation accuracy for each of the 5 epochs.
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{json}");
    for run in runs {
        let per_epoch = run["val_accuracy"].as_array().unwrap();
        assert_eq!(per_epoch.len(), 5, "{json}");
        assert!(per_epoch.iter().all(|a| a.as_f64().is_some_and(|a| (0.5..=1.0).contains(&a))), "{json}");
    }
    let svg = fs::read_to_string(out.join("breast_cancer.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    for text in ["validation loss", "validation accuracy", "plaintext-exact", "plaintext-approx", "<polyline"] {
        assert!(svg.contains(text), "{text} missing from the plot");
    }
    // The reports are not replaced without --force, and nothing is trained before saying so.
    let e = stderr_of(&mut run(&["--preset", "none", "--epochs", "5"]));
    assert!(e.contains("breast_cancer.") && e.contains("--force") && !e.contains("plaintext"), "{e}");
    assert_eq!(fs::read_to_string(out.join("breast_cancer.json")).unwrap(), json);
    assert!(stderr_of(&mut run(&["--force", "--preset", "none", "--batch", "300"])).contains("power of two"));
    let e = stderr_of(&mut run(&["--force", "--preset", "test-insecure-n1024", "--batch", "64"]));
    assert!(e.contains("needs 20 levels"), "{e}");
    assert!(stderr_of(&mut run(&["--force", "--preset", "nope"])).contains("unknown preset"));
    let missing = dir.path().join("missing.csv");
    let text = stderr_of(medblind().arg("compare").arg("--data").arg(&missing).arg("--out").arg(&out));
    assert!(text.contains("missing.csv"), "{text}");
}

/// Outputs never replace a key file, and another existing file only with `--force`; two `keygen`s started together
/// publish one whole key folder and the other fails; what an interrupted writer left is cleaned up; no temporary
/// file is left behind.
#[test]
fn outputs_replace_nothing_without_force_and_never_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    medblind().args(["keygen", "--out"]).arg(&keys).assert().success();
    write_csv(&d.join("x.csv"), &[vec![0.5, -0.25, 1.0, 2.0]]);
    let encrypt = |out: &Path, force: bool| {
        let mut cmd = medblind();
        cmd.args(["encrypt", "--keys"]).arg(&keys).arg("--input").arg(d.join("x.csv")).arg("--out").arg(out);
        if force {
            cmd.arg("--force");
        }
        cmd
    };
    encrypt(&d.join("x.ct"), false).assert().success();
    let first = fs::read(d.join("x.ct")).unwrap();
    let e = stderr_of(&mut encrypt(&d.join("x.ct"), false));
    assert!(e.contains("x.ct") && e.contains("already exists") && e.contains("--force"), "{e}");
    assert_eq!(fs::read(d.join("x.ct")).unwrap(), first, "left as it was");
    encrypt(&d.join("x.ct"), true).assert().success();
    assert_ne!(fs::read(d.join("x.ct")).unwrap(), first, "replaced with --force (a fresh encryption)");
    for key in ["secret.key", "public.key", "eval.keys"] {
        let before = fs::read(keys.join(key)).unwrap();
        let e = stderr_of(&mut encrypt(&keys.join(key), true));
        assert!(e.contains(key) && e.contains("key file"), "{e}");
        assert_eq!(fs::read(keys.join(key)).unwrap(), before, "{key} untouched");
    }

    // Two keygens at once: one folder, whole; the other refused.
    let stale = d.join(".k2.999999999.tmp");
    fs::create_dir(&stale).unwrap();
    fs::write(stale.join("secret.key"), "left by a killed keygen").unwrap();
    let start = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("medblind"))
            .args(["keygen", "--out"])
            .arg(d.join("k2"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let outcomes = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let succeeded = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(succeeded, 1, "{outcomes:?}");
    let failed = outcomes.iter().find(|o| !o.status.success()).unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("--force"), "{failed:?}");
    // The published folder is one key pair: its own ciphertexts decrypt, and another folder's are refused.
    let decrypt = |input: &str, out: &str| {
        let mut cmd = medblind();
        cmd.args(["decrypt", "--keys"])
            .arg(d.join("k2"))
            .arg("--input")
            .arg(d.join(input))
            .arg("--out")
            .arg(d.join(out));
        cmd
    };
    let e = stderr_of(&mut decrypt("x.ct", "wrong.csv"));
    assert!(e.contains("x.ct") && e.contains("belongs to key pair"), "{e}");
    let mut own = medblind();
    own.args(["encrypt", "--keys"]).arg(d.join("k2")).arg("--input").arg(d.join("x.csv"));
    own.arg("--out").arg(d.join("k2.ct")).assert().success();
    decrypt("k2.ct", "k2.csv").assert().success();
    let back = fs::read_to_string(d.join("k2.csv")).unwrap();
    assert!(back.starts_with("0.5") || back.starts_with("0.4999"), "{back}");
    encrypt(&d.join("y.ct"), false).assert().success();
    let mut listing: Vec<String> =
        fs::read_dir(d.join("k2")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    listing.sort();
    assert_eq!(listing, ["eval.keys", "params.mbl", "public.key", "secret.key"]);
    assert!(!stale.exists(), "an interrupted keygen's folder is removed");
    for folder in [d, keys.as_path(), d.join("k2").as_path()] {
        let temporaries: Vec<_> = fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(temporaries.is_empty(), "{temporaries:?} in {}", folder.display());
    }
}

/// A `--head` the parameters cannot hold — far too large, or beyond the machine's word — is refused in one line
/// before any key is made or memory sized by it, and no folder is left.
#[test]
fn keygen_refuses_heads_the_parameters_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    for head in ["100000x100000", "18446744073709551615x2", "2x9223372036854775809", "4097x8"] {
        let keys = dir.path().join("keys");
        let e = stderr_of(medblind().args(["keygen", "--out"]).arg(&keys).args(["--head", head]));
        assert!(e.contains("does not fit") && e.contains("n4096-qp109-s28"), "{head}: {e}");
        assert!(!keys.exists(), "{head}: nothing written");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "{head}: no temporary left");
    }
}

/// The key pair a `keygen` announced (`… (key pair 1a2b3c4d): …`).
fn key_pair_of(keygen: &mut Command) -> String {
    let out = keygen.assert().success().get_output().stderr.clone();
    let text = String::from_utf8(out).unwrap();
    let (_, rest) = text.split_once("(key pair ").unwrap_or_else(|| panic!("no key pair in:\n{text}"));
    rest[..8].to_string()
}

/// Objects of two key pairs are never mixed: a ciphertext, a public key or evaluation keys of another key pair
/// than the keys in use is one error line naming both key pairs, and nothing is written.
#[test]
fn objects_of_two_key_pairs_are_never_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (one, two) = (d.join("one"), d.join("two"));
    let first = key_pair_of(medblind().args(["keygen", "--out"]).arg(&one).args(["--head", "2x8"]));
    let second = key_pair_of(medblind().args(["keygen", "--out"]).arg(&two).args(["--head", "2x8"]));
    assert_ne!(first, second);
    write_csv(&d.join("x.csv"), &[vec![0.5; 8]]);
    let encrypt = |keys: &Path, out: &str| {
        let mut cmd = medblind();
        cmd.args(["encrypt", "--keys"]).arg(keys).arg("--input").arg(d.join("x.csv")).arg("--out").arg(d.join(out));
        cmd
    };
    let decrypt = |keys: &Path, input: &str| {
        let mut cmd = medblind();
        cmd.args(["decrypt", "--keys"]).arg(keys).arg("--input").arg(d.join(input)).arg("--out").arg(d.join("y.csv"));
        cmd
    };
    encrypt(&one, "x.ct").assert().success();
    decrypt(&one, "x.ct").assert().success();
    fs::remove_file(d.join("y.csv")).unwrap();

    // Another key folder's secret key.
    let e = stderr_of(&mut decrypt(&two, "x.ct"));
    assert!(e.contains("x.ct") && e.contains(&format!("key pair {first}")) && e.contains(&second), "{e}");
    // A folder left with one key pair's public key and another's secret key (a key folder mixed by hand).
    let mixed = d.join("mixed");
    fs::create_dir(&mixed).unwrap();
    for name in ["params.mbl", "public.key", "eval.keys"] {
        fs::copy(two.join(name), mixed.join(name)).unwrap();
    }
    fs::copy(one.join("secret.key"), mixed.join("secret.key")).unwrap();
    encrypt(&mixed, "mixed.ct").assert().success();
    let e = stderr_of(&mut decrypt(&mixed, "mixed.ct"));
    assert!(e.contains("mixed.ct") && e.contains(&format!("key pair {second}")) && e.contains(&first), "{e}");
    // The cloud's evaluation keys against a ciphertext of another key pair.
    write_csv(&d.join("w.csv"), &[vec![1.0; 8], vec![-1.0; 8]]);
    let infer = |params: &Path, eval_keys: &Path| {
        let mut cmd = medblind();
        cmd.args(["infer", "--params"]).arg(params).arg("--eval-keys").arg(eval_keys);
        cmd.arg("--weights").arg(d.join("w.csv")).arg("--input").arg(d.join("x.ct")).arg("--out").arg(d.join("z.ct"));
        cmd
    };
    let e = stderr_of(&mut infer(&two.join("params.mbl"), &two.join("eval.keys")));
    assert!(e.contains("x.ct") && e.contains(&first) && e.contains(&second), "{e}");
    // An evaluation-key file of two key pairs.
    let mut eval = fs::read(one.join("eval.keys")).unwrap();
    eval.extend(fs::read(two.join("eval.keys")).unwrap());
    fs::write(mixed.join("eval.keys"), eval).unwrap();
    let e = stderr_of(&mut infer(&one.join("params.mbl"), &mixed.join("eval.keys")));
    assert!(e.contains("eval.keys") && e.contains(&first) && e.contains(&second), "{e}");
    assert!(!d.join("y.csv").exists() && !d.join("z.ct").exists(), "nothing written on failure");
}

/// A file that claims an object longer than any of its parameters is refused from its header, before its bytes
/// are read: a 4 GiB sparse file costs no memory.
#[test]
fn oversized_inputs_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    medblind().args(["keygen", "--out"]).arg(&keys).args(["--head", "2x8"]).assert().success();
    write_csv(&d.join("x.csv"), &[vec![0.5; 8]]);
    let mut encrypt = medblind();
    encrypt.args(["encrypt", "--keys"]).arg(&keys).arg("--input").arg(d.join("x.csv")).arg("--out").arg(d.join("x.ct"));
    encrypt.assert().success();
    // A real ciphertext's header claiming a payload of 4 GiB, in a file of exactly that length.
    let mut head = fs::read(d.join("x.ct")).unwrap()[..48].to_vec();
    let claimed = (4u64 << 30) - 48;
    head[32..40].copy_from_slice(&claimed.to_le_bytes());
    let file = fs::File::create(d.join("huge.ct")).unwrap();
    file.set_len(4 << 30).unwrap();
    drop(file);
    let mut bytes = fs::OpenOptions::new().write(true).open(d.join("huge.ct")).unwrap();
    std::io::Write::write_all(&mut bytes, &head).unwrap();
    drop(bytes);
    let decrypt = |input: &Path| {
        let mut cmd = medblind();
        cmd.args(["decrypt", "--keys"]).arg(&keys).arg("--input").arg(input).arg("--out").arg(d.join("y.csv"));
        cmd
    };
    let e = stderr_of(&mut decrypt(&d.join("huge.ct")));
    assert!(e.contains("huge.ct") && e.contains("claims 4294967296 bytes"), "{e}");
    // Zeros: not a MedBlind file, said from the first 48 bytes.
    let file = fs::File::create(d.join("zeros.ct")).unwrap();
    file.set_len(4 << 30).unwrap();
    drop(file);
    let e = stderr_of(&mut decrypt(&d.join("zeros.ct")));
    assert!(e.contains("zeros.ct") && e.contains("bad magic"), "{e}");
    // A parameter file, too.
    let e = stderr_of(
        medblind()
            .args(["infer", "--params"])
            .arg(d.join("huge.ct"))
            .arg("--eval-keys")
            .arg(keys.join("eval.keys"))
            .arg("--weights")
            .arg(d.join("x.csv"))
            .arg("--input")
            .arg(d.join("x.ct"))
            .arg("--out")
            .arg(d.join("z.ct")),
    );
    assert!(e.contains("huge.ct") && e.contains("claims"), "{e}");
    assert!(!d.join("y.csv").exists() && !d.join("z.ct").exists());
}
