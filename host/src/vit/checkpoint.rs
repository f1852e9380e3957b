//! Writing checkpoints in timm's safetensors layout: used for randomly initialized models (to exercise and
//! benchmark the pipeline where pretrained weights cannot be downloaded) and by tests.

use super::config::Config;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Serializes named `f32` tensors (name, shape, values) as safetensors, with `metadata` in the header.
///
/// # Panics
/// If a tensor's values do not fill its shape (a caller bug).
pub fn to_safetensors(tensors: &[(String, Vec<usize>, Vec<f32>)], metadata: &[(&str, &str)]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    let views = tensors.iter().zip(&bytes).map(|((name, shape, _), data)| {
        (
            name.clone(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                .expect("values fill the shape"),
        )
    });
    let metadata = metadata.iter().map(|&(k, v)| (k.to_string(), v.to_string())).collect();
    safetensors::serialize(views, Some(metadata)).expect("in-memory serialization")
}

/// A standard normal sample truncated to ±2 (timm's `trunc_normal_` bounds at std 1).
fn truncated_normal(rng: &mut ChaCha20Rng) -> f32 {
    let uniform = |rng: &mut ChaCha20Rng| (f64::from(rng.next_u32()) + 0.5) / 4_294_967_296.0;
    loop {
        let (u, v) = (uniform(rng), uniform(rng));
        let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
        if z.abs() <= 2.0 {
            return z as f32;
        }
    }
}

/// A checkpoint in `config`'s layout initialized as timm initializes a new ViT: linear weights, position
/// embedding and distillation token truncated-normal with std 0.02, class token normal with std 1e-6, patch
/// projection uniform in ±1/√fan_in, biases 0, layer norms 1 and 0, LayerScale 1. Deterministic in `seed`.
pub fn timm_init(config: Config, seed: u64) -> Vec<u8> {
    let names = config.names();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let tensors: Vec<_> = config
        .tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let len: usize = shape.iter().product();
            let values: Vec<f32> = if name.starts_with(names.patch_embed()) {
                let bound = 1.0 / (config.patch_values() as f32).sqrt();
                (0..len).map(|_| (rng.next_u32() as f32 / u32::MAX as f32 * 2.0 - 1.0) * bound).collect()
            } else if (name.contains("norm") && name.ends_with(".weight")) || name.ends_with("lambda1") {
                vec![1.0; len]
            } else if name.ends_with(".bias") {
                vec![0.0; len]
            } else {
                let std = if name == names.cls_token() { 1e-6 } else { 0.02 };
                (0..len).map(|_| truncated_normal(&mut rng) * std).collect()
            };
            (name, shape, values)
        })
        .collect();
    to_safetensors(&tensors, &[("format", "pt"), (MARK.0, MARK.1)])
}

/// The metadata entry [`timm_init`] marks its checkpoints with.
const MARK: (&str, &str) = ("medblind", "random timm initialization");

/// Whether a safetensors file carries [`timm_init`]'s mark (its weights are random, not pretrained).
pub fn is_random_init(bytes: &[u8]) -> bool {
    safetensors::SafeTensors::read_metadata(bytes)
        .ok()
        .and_then(|(_, header)| header.metadata().as_ref().and_then(|m| m.get(MARK.0).cloned()))
        .is_some_and(|v| v == MARK.1)
}
