//! The hospital's data commands end to end: `data info`, `weights init`, `extract` (feature file with
//! provenance, cache reuse) and `compare` on the extracted features, plus their bad-input paths (exit 2, one line).

use crate::medblind;
use assert_cmd::Command;
use medblind::features::Features;
use medblind::medmnist::{md5_file, npy};
use medblind::vit::{self, Token, Vit, config::CHANNELS, config::IMAGE, preprocess};
use std::io::Write;
use std::path::Path;

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
    let extract_to = |out: &Path| {
        let mut cmd = medblind();
        cmd.args(["extract", "--dataset", "organsmnist", "--limit", "10", "--model", "deit_tiny", "--data-dir"])
            .arg(dir.path())
            .arg("--weights")
            .arg(&weights)
            .arg("--out")
            .arg(out);
        cmd
    };
    let extract = || extract_to(&out);
    extract().assert().success();
    assert!(!out.with_extension("part").exists(), "the resumable pieces are removed once the file is saved");
    let features = Features::load(&out).unwrap();
    assert_eq!(features.dim, 192);
    assert_eq!(features.splits.each_ref().map(|s| s.1.len()), [10, 10, 10]);
    assert_eq!(features.splits[0].1, (0..10).map(|i| i % 11).collect::<Vec<u32>>());
    let p = &features.provenance;
    assert_eq!(
        (p.dataset.as_str(), p.classes, p.model.as_str(), p.token.as_str(), p.limit),
        ("organsmnist", 11, "deit_tiny_patch16_224", "cls", Some(10))
    );
    assert_eq!(p.weights_origin, "random initialization");
    assert!(features.backbone().contains("RANDOMLY INITIALIZED"));
    assert_eq!(p.dataset_md5, md5_file(&npz).unwrap());
    assert_eq!(p.weights_md5, md5_file(&weights).unwrap());

    // The file holds what the model computes for those images.
    let config = vit::model("deit_tiny").unwrap();
    let model = Vit::from_safetensors(&std::fs::read(&weights).unwrap(), config).unwrap();
    let data = medblind::medmnist::MedMnist::load(&npz, medblind::medmnist::dataset("organsmnist").unwrap()).unwrap();
    let mut input = vec![0.0f32; CHANNELS * IMAGE * IMAGE];
    preprocess::preprocess(data.splits[2].image(7), 28, 1, &mut input);
    assert_eq!(model.features(&input, 1, Token::Cls), features.splits[2].0[7 * 192..8 * 192]);

    let again = extract().assert().success().get_output().stderr.clone();
    assert!(String::from_utf8(again).unwrap().contains("already extracted"));

    // An interrupted extraction resumes from its pieces: a training piece left by a run of the same inputs is
    // taken as it is (zeros here, to tell it from a recomputed one); pieces of other inputs are discarded.
    for (stamp, reused) in [(format!("{p:?}"), true), ("other inputs".to_string(), false)] {
        let resumed = dir.path().join("resumed.safetensors");
        let part = resumed.with_extension("part");
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(part.join("provenance"), stamp).unwrap();
        std::fs::write(part.join("train-0.f32"), vec![0u8; 10 * 192 * 4]).unwrap();
        extract_to(&resumed).assert().success();
        let loaded = Features::load(&resumed).unwrap();
        assert_eq!(loaded.splits[0].0.iter().all(|&v| v == 0.0), reused);
        assert_eq!(loaded.splits[1..], features.splits[1..]);
        if !reused {
            assert_eq!(loaded.splits[0], features.splits[0]);
        }
        assert!(!part.exists());
        std::fs::remove_file(&resumed).unwrap();
    }

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
        .args(["--model", "deit_tiny", "--weights"])
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
    // Random weights are named so in every report: the table, the Markdown, the JSON and the plot's title.
    assert!(table.contains("RANDOMLY INITIALIZED weights tiny.safetensors"), "{table}");
    for file in ["organsmnist.md", "organsmnist.json", "organsmnist.svg"] {
        let text = std::fs::read_to_string(report.join(file)).unwrap();
        assert!(text.contains("deit_tiny_patch16_224, RANDOMLY INITIALIZED weights tiny.safetensors (MD5"), "{file}");
    }
    assert!(std::fs::read_dir(dir.path().join("cache/features")).unwrap().count() == 1, "features are cached");
}

#[test]
fn data_commands_refuse_bad_input_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("organsmnist.npz");
    write_organs(&npz, 2);
    let weights = dir.path().join("tiny.safetensors");
    medblind().args(["weights", "init", "--out"]).arg(&weights).assert().success();
    let extract = |model: &str, extra: &[&str]| {
        let mut cmd = medblind();
        cmd.args(["extract", "--dataset", "organsmnist", "--model", model, "--data-dir"])
            .arg(dir.path())
            .arg("--weights")
            .arg(&weights)
            .args(extra);
        cmd
    };
    assert!(fails_with(&mut extract("deit_tiny", &["--token", "dist"])).contains("distilled"));
    let err = fails_with(&mut extract("deit_small", &[]));
    assert!(err.contains("tiny.safetensors") && err.contains("`cls_token`") && err.contains("[1, 1, 384]"), "{err}");
    let err = fails_with(&mut extract("dinov2_small", &[]));
    assert!(err.contains("`embeddings.cls_token` is missing"), "{err}");
    assert!(fails_with(&mut extract("vit_huge", &[])).contains("unknown model"));
    assert!(fails_with(&mut extract("deit_tiny", &["--size", "30"])).contains("--size 30"));
    assert!(fails_with(&mut extract("deit_tiny", &["--limit", "0"])).contains("--limit"));
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
