//! Downloads against local servers: `medblind data fetch` from a Zenodo-compatible one (resuming a partial download
//! with a range request, refusing a corrupt file, taking the checksum of a MedMNIST+ size from the record's
//! metadata), and DeiT weights from a Hugging Face-compatible one (`HF_ENDPOINT`) when none are local.

use md5::{Digest, Md5};
use medblind::download::FetchError;
use medblind::medmnist::{dataset, fetch, hex};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Serves `files` (URL path → bytes) with range support until dropped; records each request's Range header.
struct Server {
    url: String,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

fn serve(files: Vec<(String, Vec<u8>)>) -> Server {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&ranges);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let path = request.url().split('?').next().unwrap_or("").to_string();
            let range = request.headers().iter().find(|h| h.field.equiv("Range")).map(|h| h.value.to_string());
            seen.lock().unwrap().push(range.clone());
            let Some((_, body)) = files.iter().find(|(p, _)| *p == path) else {
                let _ = request.respond(tiny_http::Response::empty(404));
                continue;
            };
            let start: usize =
                range.and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok()).unwrap_or(0);
            let response = if start >= body.len() && start > 0 {
                tiny_http::Response::from_data(Vec::new()).with_status_code(416)
            } else {
                tiny_http::Response::from_data(body[start..].to_vec()).with_status_code(if start > 0 {
                    206
                } else {
                    200
                })
            };
            let _ = request.respond(response);
        }
    });
    Server { url, ranges }
}

fn shared_blood() -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/medmnist/bloodmnist.npz");
    if !path.exists() {
        eprintln!("NOT RUN: {} does not exist", path.display());
        return None;
    }
    Some(std::fs::read(path).unwrap())
}

#[test]
fn a_partial_download_resumes_with_a_range_request_and_is_verified() {
    let Some(blood) = shared_blood() else { return };
    let server = serve(vec![("/records/10519652/files/bloodmnist.npz".into(), blood.clone())]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bloodmnist.npz.part"), &blood[..1 << 20]).unwrap();
    let path = fetch::fetch(dataset("bloodmnist").unwrap(), 28, dir.path(), &server.url).unwrap();
    assert_eq!(path, dir.path().join("bloodmnist.npz"));
    assert_eq!(std::fs::read(&path).unwrap(), blood);
    assert!(!dir.path().join("bloodmnist.npz.part").exists());
    assert_eq!(*server.ranges.lock().unwrap(), vec![Some(format!("bytes={}-", 1 << 20))]);
    // A verified file is not downloaded again.
    fetch::fetch(dataset("bloodmnist").unwrap(), 28, dir.path(), &server.url).unwrap();
    assert_eq!(server.ranges.lock().unwrap().len(), 1);
}

#[test]
fn a_corrupt_download_is_refused_and_removed() {
    let Some(mut blood) = shared_blood() else { return };
    blood[12345] ^= 1;
    let server = serve(vec![("/records/10519652/files/bloodmnist.npz".into(), blood)]);
    let dir = tempfile::tempdir().unwrap();
    let err = fetch::fetch(dataset("bloodmnist").unwrap(), 28, dir.path(), &server.url).unwrap_err();
    assert!(matches!(err, FetchError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("7053d0359d879ad8a5505303e11de1dc"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing is left behind");
}

#[test]
fn larger_sizes_are_checked_against_the_records_published_md5() {
    let file: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let md5 = hex(&Md5::digest(&file));
    let record = format!(
        r#"{{"files": [{{"key": "other.npz", "checksum": "md5:00"}}, {{"key": "dermamnist_64.npz", "checksum": "md5:{md5}"}}]}}"#
    );
    let server = serve(vec![
        ("/api/records/10519652".into(), record.into_bytes()),
        ("/records/10519652/files/dermamnist_64.npz".into(), file.clone()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = fetch::fetch(dataset("dermamnist").unwrap(), 64, dir.path(), &server.url).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), file);
    let err = fetch::fetch(dataset("organsmnist").unwrap(), 128, dir.path(), &server.url).unwrap_err();
    assert!(err.to_string().contains("record has no organsmnist_128.npz"), "{err}");
    let err = fetch::fetch(dataset("organsmnist").unwrap(), 28, dir.path(), "http://127.0.0.1:9").unwrap_err();
    assert!(matches!(err, FetchError::Http { .. }) && err.to_string().contains("by hand"), "{err}");
}

#[test]
fn extract_downloads_missing_weights_from_the_hub_into_the_cache() {
    let Some(blood) = shared_blood() else { return };
    let config = medblind::vit::model("deit_tiny").unwrap();
    let weights = medblind::vit::checkpoint::timm_init(config, 9);
    let server =
        serve(vec![("/timm/deit_tiny_patch16_224.fb_in1k/resolve/main/model.safetensors".into(), weights.clone())]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bloodmnist.npz"), blood).unwrap();
    let cache = dir.path().join("cache");
    assert_cmd::Command::cargo_bin("medblind")
        .unwrap()
        .current_dir(dir.path())
        .env("HF_ENDPOINT", &server.url)
        .env("MEDBLIND_CACHE_DIR", &cache)
        .args(["extract", "--dataset", "bloodmnist", "--model", "deit_tiny", "--limit", "2", "--data-dir", "."])
        .assert()
        .success();
    assert_eq!(std::fs::read(cache.join("models/deit_tiny_patch16_224.safetensors")).unwrap(), weights);
    assert_eq!(std::fs::read_dir(cache.join("features")).unwrap().count(), 1);
}
