//! Pretrained DeiT weights against reference features, when the steering side has put them in `../shared/models/`:
//! `<model>.safetensors` (timm's checkpoint, e.g. `deit_tiny_patch16_224.safetensors`, or
//! `<model>/model.safetensors`) beside `<model>.reference.npz` holding `images.npy` (uint8, `(n, s, s)` or
//! `(n, s, s, 3)`) and `features.npy` (`<f4`, `(n, D)`: the class token after the final norm, from timm with the
//! same preprocessing). Every image's features must agree within 1e-4 relative to its largest feature.
#![allow(missing_docs)]

use medblind::deit::{self, DeiT, Token, config::CHANNELS, config::IMAGE, preprocess};
use medblind::medmnist::{npy, read_array};
use std::path::Path;

#[test]
fn pretrained_weights_reproduce_the_reference_features() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models");
    if !dir.exists() {
        eprintln!("NOT RUN: {} does not exist yet (pretrained DeiT weights are to come)", dir.display());
        return;
    }
    let references: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".reference.npz"))
        .collect();
    assert!(
        !references.is_empty(),
        "{} exists but holds no <model>.reference.npz (see this test's doc)",
        dir.display()
    );
    for reference in references {
        let name = reference.file_name().unwrap().to_string_lossy().trim_end_matches(".reference.npz").to_string();
        let config = deit::model(&name).unwrap_or_else(|| panic!("{}: unknown model {name}", reference.display()));
        let weights = [dir.join(format!("{name}.safetensors")), dir.join(&name).join("model.safetensors")]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no weights for {name} in {}", dir.display()));
        let model = DeiT::from_safetensors(&std::fs::read(&weights).unwrap(), config).unwrap();
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&reference).unwrap()).unwrap();
        let (images, pixels) = read_array(&mut archive, "images.npy").unwrap();
        let (features, values) = read_array(&mut archive, "features.npy").unwrap();
        let want = npy::to_f32(features.dtype, &values).unwrap();
        let (n, side, channels) = match images.shape[..] {
            [n, s, _] => (n, s, 1),
            [n, s, _, c] => (n, s, c),
            _ => panic!("images.npy shape {:?}", images.shape),
        };
        assert_eq!(features.shape, [n, config.embed_dim], "features.npy shape");
        for i in 0..n {
            let image = &pixels[i * side * side * channels..(i + 1) * side * side * channels];
            let mut input = vec![0.0f32; CHANNELS * IMAGE * IMAGE];
            preprocess::preprocess(image, side, channels, &mut input);
            let have = model.features(&input, 1, Token::Cls);
            let want = &want[i * config.embed_dim..(i + 1) * config.embed_dim];
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let err = have.iter().zip(want).fold(0.0f32, |m, (h, w)| m.max((h - w).abs())) / scale;
            assert!(err < 1e-4, "{name}, image {i}: relative error {err:.2e}");
        }
        eprintln!("{name}: {n} reference images reproduced within 1e-4");
    }
}
