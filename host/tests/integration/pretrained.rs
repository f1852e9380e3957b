//! Pretrained weights against reference outputs, for every model folder in `../shared/models/`: `model.safetensors`
//! beside `reference.npz` holding `images_uint8` (`(n, s, s, 3)` or `(n, s, s)`), `inputs` (`<f4`,
//! `(n, 3, 224, 224)`: the preprocessed images) and `last_hidden_state` (`<f4`, `(n, tokens, D)`: every token
//! after the final norm, from the original framework). The folder is named after the model or its hub name
//! (`dinov2-small`).
//!
//! Checked: the preprocessing reproduces `inputs` within 1e-5 (Pillow-exact resize, then one f32 division and
//! normalization), and every token of every image lies within [`TOKEN_TOLERANCE`] of the reference: f32
//! arithmetic summed in another order than onnxruntime's, on outputs up to about 10 in magnitude (the converter's
//! own f32 NumPy pass agrees with onnxruntime within 5.2e-5).

use medblind::medmnist::{npy, read_array};
use medblind::vit::{self, Vit, config::CHANNELS, config::IMAGE, preprocess};
use std::path::Path;

/// The largest absolute difference allowed on any token value.
const TOKEN_TOLERANCE: f32 = 1e-4;

fn array(archive: &mut zip::ZipArchive<std::fs::File>, name: &str) -> (Vec<usize>, npy::Dtype, Vec<u8>) {
    let (header, data) = read_array(archive, name).unwrap_or_else(|e| panic!("{e}"));
    (header.shape, header.dtype, data)
}

#[test]
fn pretrained_weights_reproduce_the_reference_tokens() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models");
    if !dir.exists() {
        eprintln!("NOT RUN: {} does not exist (pretrained weights with reference outputs)", dir.display());
        return;
    }
    let folders: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("reference.npz").is_file())
        .collect();
    assert!(
        !folders.is_empty(),
        "{} exists but no folder in it holds reference.npz (see this test's doc)",
        dir.display()
    );
    for folder in folders {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let config = vit::MODELS
            .iter()
            .copied()
            .find(|m| m.name == name || m.hub_repo().ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("{}: no model named {name}", folder.display()));
        let model = Vit::from_safetensors(&std::fs::read(folder.join("model.safetensors")).unwrap(), config).unwrap();
        let mut archive = zip::ZipArchive::new(std::fs::File::open(folder.join("reference.npz")).unwrap()).unwrap();
        let (image_shape, _, pixels) = array(&mut archive, "images_uint8.npy");
        let (input_shape, input_dtype, inputs) = array(&mut archive, "inputs.npy");
        let (token_shape, token_dtype, tokens) = array(&mut archive, "last_hidden_state.npy");
        let inputs = npy::to_f32(input_dtype, &inputs).unwrap();
        let want = npy::to_f32(token_dtype, &tokens).unwrap();
        let (n, side, channels) = match image_shape[..] {
            [n, s, _] => (n, s, 1),
            [n, s, _, c] => (n, s, c),
            _ => panic!("images_uint8 shape {image_shape:?}"),
        };
        let (image_len, per_image) = (side * side * channels, CHANNELS * IMAGE * IMAGE);
        assert_eq!(input_shape, [n, CHANNELS, IMAGE, IMAGE], "inputs shape");
        assert_eq!(token_shape, [n, config.tokens(), config.embed_dim], "last_hidden_state shape");
        for i in 0..n {
            let mut input = vec![0.0f32; per_image];
            preprocess::preprocess(&pixels[i * image_len..(i + 1) * image_len], side, channels, &mut input);
            let reference = &inputs[i * per_image..(i + 1) * per_image];
            let err = input.iter().zip(reference).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(err < 1e-5, "{name}, image {i}: preprocessing differs by {err:.2e}");
        }
        let have = model.last_hidden_state(&inputs, n);
        let per_tokens = config.tokens() * config.embed_dim;
        let mut worst = 0.0f32;
        for i in 0..n {
            let (have, want) =
                (&have[i * per_tokens..(i + 1) * per_tokens], &want[i * per_tokens..(i + 1) * per_tokens]);
            let err = have.iter().zip(want).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(err < TOKEN_TOLERANCE, "{name}, image {i}: a token value differs by {err:.2e}");
            worst = worst.max(err);
        }
        eprintln!(
            "{name}: all {} tokens of {n} reference images within {worst:.2e} (tolerance {TOKEN_TOLERANCE:.0e})",
            config.tokens()
        );
    }
}
