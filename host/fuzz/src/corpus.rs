//! Writes the seed corpus of the `inputs` target into `corpus/inputs/`: a small feature file, a batch folder's
//! manifest, and a CSV table with scikit-learn's header, plain and gzip. Deterministic, so the corpus in the
//! repository is what this writes.

use medblind::features::{Features, Provenance};
use std::io::Write;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/inputs");
    std::fs::create_dir_all(&root)?;
    let provenance = Provenance {
        dataset: "bloodmnist".into(),
        dataset_md5: "0".repeat(32),
        classes: 3,
        model: "dinov2_small".into(),
        weights: "model.safetensors".into(),
        weights_md5: "0".repeat(32),
        weights_origin: "pretrained".into(),
        token: "cls".into(),
        limit: Some(4),
    };
    let split =
        |n: usize| ((0..n * 4).map(|i| i as f32 * 0.25 - 1.0).collect(), (0..n as u32).map(|i| i % 3).collect());
    let features = Features { dim: 4, splits: [split(4), split(2), split(2)], provenance };
    features.save(&root.join("features")).map_err(std::io::Error::other)?;
    let manifest = "format=medblind-encrypted-batches/3\nkey=1a2b3c4d\nslots=1024\nbatch=16\nclasses=3\ndim=13\n\
                    train=16,16,4\nval=16\ntest=7\n";
    std::fs::write(root.join("manifest"), manifest)?;
    let csv = "6,2,a,b,c\n0.5,1.5,0\n-1,2,1\n3,0.25,2\n1,1,0\n2,-2,1\n0,0,2\n";
    std::fs::write(root.join("table"), csv)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes())?;
    std::fs::write(root.join("table-gz"), gz.finish()?)?;
    println!("corpus written to {}", root.display());
    Ok(())
}
