//! The hospital's data commands end to end: `data info`, `weights init`, `extract` (feature file with
//! provenance, cache reuse) and `compare` on the extracted features, plus their bad-input paths (exit 2, one line).
#![allow(missing_docs)]

use assert_cmd::Command;
use medblind::deit::{self, DeiT, Token, config::CHANNELS, config::IMAGE, preprocess};
use medblind::features::Features;
use medblind::medmnist::{md5_file, npy};
use std::io::Write;
use std::path::Path;

fn medblind() -> Command {
    Command::cargo_bin("medblind").unwrap()
}

fn fails_with(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().code(2).get_output().clone();
    let text = String::from_utf8(out.stderr).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1, "one line expected:\n{text}");
    text
}

/// An OrganSMNIST-shaped archive (28×28 gray, 11 classes) with `n` images per split.
fn write_organs(path: &Path, n: usize) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for split in ["train", "val", "test"] {
        let pixels: Vec<u8> = (0..n * 28 * 28).map(|i| ((i * 37 + split.len() * 11) % 256) as u8).collect();
        zip.start_file(format!("{split}_images.npy"), options).unwrap();
        zip.write_all(&npy::to_bytes("|u1", &[n, 28, 28], &pixels)).unwrap();
        let labels: Vec<u8> = (0..n).map(|i| (i % 11) as u8).collect();
        zip.start_file(format!("{split}_labels.npy"), options).unwrap();
        zip.write_all(&npy::to_bytes("|u1", &[n, 1], &labels)).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn extract_writes_features_with_provenance_and_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("organsmnist.npz");
    write_organs(&npz, 12);
    let weights = dir.path().join("tiny.safetensors");
    medblind()
        .args(["weights", "init", "--model", "deit_tiny", "--seed", "3", "--out"])
        .arg(&weights)
        .assert()
        .success();
    let out = dir.path().join("features.safetensors");
    let extract = || {
        let mut cmd = medblind();
        cmd.args(["extract", "--dataset", "organsmnist", "--limit", "10", "--data-dir"])
            .arg(dir.path())
            .arg("--weights")
            .arg(&weights)
            .arg("--out")
            .arg(&out);
        cmd
    };
    extract().assert().success();
    let features = Features::load(&out).unwrap();
    assert_eq!(features.dim, 192);
    assert_eq!(features.splits.each_ref().map(|s| s.1.len()), [10, 10, 10]);
    assert_eq!(features.splits[0].1, (0..10).map(|i| i % 11).collect::<Vec<u32>>());
    let p = &features.provenance;
    assert_eq!(
        (p.dataset.as_str(), p.classes, p.model.as_str(), p.token.as_str(), p.limit),
        ("organsmnist", 11, "deit_tiny_patch16_224", "cls", Some(10))
    );
    assert_eq!(p.dataset_md5, md5_file(&npz).unwrap());
    assert_eq!(p.weights_md5, md5_file(&weights).unwrap());

    // The file holds what the model computes for those images.
    let config = deit::model("deit_tiny").unwrap();
    let model = DeiT::from_safetensors(&std::fs::read(&weights).unwrap(), config).unwrap();
    let data = medblind::medmnist::MedMnist::load(&npz, medblind::medmnist::dataset("organsmnist").unwrap()).unwrap();
    let mut input = vec![0.0f32; CHANNELS * IMAGE * IMAGE];
    preprocess::preprocess(data.splits[2].image(7), 28, 1, &mut input);
    assert_eq!(model.features(&input, 1, Token::Cls), features.splits[2].0[7 * 192..8 * 192]);

    let again = extract().assert().success().get_output().stderr.clone();
    assert!(String::from_utf8(again).unwrap().contains("already extracted"));

    let report = dir.path().join("report");
    medblind()
        .args(["compare", "--preset", "none", "--batch", "8", "--epochs", "2", "--data"])
        .arg(&out)
        .arg("--out")
        .arg(&report)
        .assert()
        .success();
    assert!(report.join("organsmnist.md").exists());
}

#[test]
fn demo_runs_the_pipeline_on_local_data_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    write_organs(&dir.path().join("organsmnist.npz"), 16);
    let weights = dir.path().join("tiny.safetensors");
    medblind().args(["weights", "init", "--out"]).arg(&weights).assert().success();
    let report = dir.path().join("report");
    let out = medblind()
        .env("MEDBLIND_CACHE_DIR", dir.path().join("cache"))
        .args(["demo", "--dataset", "organsmnist", "--preset", "none", "--limit", "12", "--batch", "4", "--data-dir"])
        .arg(dir.path())
        .arg("--weights")
        .arg(&weights)
        .arg("--out")
        .arg(&report)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains("12 train / 12 validation / 12 test rows") && table.contains("tiny.safetensors"), "{table}");
    assert!(report.join("organsmnist.md").exists() && report.join("organsmnist.svg").exists());
    assert!(std::fs::read_dir(dir.path().join("cache/features")).unwrap().count() == 1, "features are cached");
}

#[test]
fn data_commands_refuse_bad_input_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("organsmnist.npz");
    write_organs(&npz, 2);
    let weights = dir.path().join("tiny.safetensors");
    medblind().args(["weights", "init", "--out"]).arg(&weights).assert().success();
    let extract = |extra: &[&str]| {
        let mut cmd = medblind();
        cmd.args(["extract", "--dataset", "organsmnist", "--data-dir"])
            .arg(dir.path())
            .arg("--weights")
            .arg(&weights)
            .args(extra);
        cmd
    };
    assert!(fails_with(&mut extract(&["--token", "dist"])).contains("distilled"));
    let err = fails_with(&mut extract(&["--model", "deit_small"]));
    assert!(err.contains("tiny.safetensors") && err.contains("`cls_token`") && err.contains("[1, 1, 384]"), "{err}");
    assert!(fails_with(&mut extract(&["--model", "vit_huge"])).contains("unknown model"));
    assert!(fails_with(&mut extract(&["--size", "30"])).contains("--size 30"));
    assert!(fails_with(&mut extract(&["--limit", "0"])).contains("--limit"));
    let err = fails_with(medblind().args(["data", "info", "dermamnist", "--data-dir"]).arg(dir.path()));
    assert!(err.contains("dermamnist.npz not found") && err.contains("medblind data fetch dermamnist"), "{err}");
    assert!(fails_with(medblind().args(["data", "info", "chestmnist"])).contains("unknown dataset"));
    std::fs::write(&npz, b"PK\x03\x04 not really").unwrap();
    let err = fails_with(medblind().args(["data", "info", "organsmnist", "--data-dir"]).arg(dir.path()));
    assert!(err.contains("organsmnist.npz") && err.contains("medblind data fetch"), "{err}");
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"junk").unwrap();
    let err = fails_with(medblind().args(["compare", "--preset", "none", "--out", "r", "--data"]).arg(&junk));
    assert!(err.contains("junk.safetensors") && err.contains("not a safetensors file"), "{err}");
}

#[test]
fn data_info_reads_the_shared_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/medmnist");
    if !dir.join("bloodmnist.npz").exists() {
        eprintln!("NOT RUN: {} has no bloodmnist.npz", dir.display());
        return;
    }
    let out = medblind()
        .args(["data", "info", "bloodmnist", "--data-dir"])
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("11959 / 1712 / 3421") && text.contains("official v2/v3 file") && text.contains("platelet"),
        "{text}"
    );
}
