//! Arbitrary bytes as every host-side input that is not a wire-format object: a feature file (safetensors and its
//! metadata), a batch folder's manifest, and a CSV table, plain and gzip. None may panic; what parses goes on as
//! far as the commands take it before any key is involved (the split, its standardization, the packing's
//! rotations).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medblind::features::Features;
use medblind::train::data::{self, csv_from_bytes};
use medblind::train::store::BatchStore;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(features) = Features::from_bytes(Path::new("features.safetensors"), bytes) {
        let mut split = features.split();
        data::standardize(&mut split);
    }
    if let Ok(store) = BatchStore::from_manifest(Path::new("cloud"), bytes.to_vec()) {
        let _ = store.layout.rotation_steps();
    }
    for name in ["table.csv", "table.csv.gz"] {
        let _ = csv_from_bytes(Path::new(name), bytes.to_vec());
    }
});
