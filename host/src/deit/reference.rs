//! A straightforward f64 DeiT, written from the definitions (convolution as a sum over its window, attention
//! head by head with an explicit softmax, GELU through `erf`), and the block-by-block check of the model
//! against it on random weights saved in timm's safetensors layout.

use super::checkpoint::to_safetensors;
use super::config::{CHANNELS, Config, GRID, IMAGE, PATCH};
use super::{DeiT, Token, WeightsError};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::HashMap;

type Matrix = Vec<Vec<f64>>;

struct Reference {
    config: Config,
    tensors: HashMap<String, Vec<f64>>,
}

impl Reference {
    fn t(&self, name: &str) -> &[f64] {
        &self.tensors[name]
    }

    fn linear(&self, x: &Matrix, name: &str) -> Matrix {
        let (w, b) = (self.t(&format!("{name}.weight")), self.t(&format!("{name}.bias")));
        let ins = x[0].len();
        x.iter()
            .map(|row| (0..b.len()).map(|o| b[o] + (0..ins).map(|i| w[o * ins + i] * row[i]).sum::<f64>()).collect())
            .collect()
    }

    fn norm(&self, x: &Matrix, name: &str) -> Matrix {
        let (g, b) = (self.t(&format!("{name}.weight")), self.t(&format!("{name}.bias")));
        x.iter()
            .map(|row| {
                let n = row.len() as f64;
                let mean = row.iter().sum::<f64>() / n;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                row.iter().enumerate().map(|(i, v)| (v - mean) / (var + 1e-6).sqrt() * g[i] + b[i]).collect()
            })
            .collect()
    }

    fn embed(&self, image: &[f32]) -> Matrix {
        let d = self.config.embed_dim;
        let (w, b) = (self.t("patch_embed.proj.weight"), self.t("patch_embed.proj.bias"));
        let pos = self.t("pos_embed");
        let mut tokens: Matrix = vec![self.t("cls_token").to_vec()];
        if self.config.distilled {
            tokens.push(self.t("dist_token").to_vec());
        }
        for py in 0..GRID {
            for px in 0..GRID {
                tokens.push(
                    (0..d)
                        .map(|o| {
                            let mut sum = b[o];
                            for c in 0..CHANNELS {
                                for ky in 0..PATCH {
                                    for kx in 0..PATCH {
                                        let pixel =
                                            image[c * IMAGE * IMAGE + (py * PATCH + ky) * IMAGE + px * PATCH + kx];
                                        sum += w[((o * CHANNELS + c) * PATCH + ky) * PATCH + kx] * f64::from(pixel);
                                    }
                                }
                            }
                            sum
                        })
                        .collect(),
                );
            }
        }
        for (t, row) in tokens.iter_mut().enumerate() {
            row.iter_mut().enumerate().for_each(|(i, v)| *v += pos[t * d + i]);
        }
        tokens
    }

    fn block(&self, i: usize, x: &Matrix) -> Matrix {
        let (d, hd) = (self.config.embed_dim, self.config.head_dim());
        let qkv = self.linear(&self.norm(x, &format!("blocks.{i}.norm1")), &format!("blocks.{i}.attn.qkv"));
        let mut heads = vec![vec![0.0; d]; x.len()];
        for h in 0..self.config.heads {
            let part = |which: usize, t: usize| &qkv[t][which * d + h * hd..which * d + (h + 1) * hd];
            for (t, out) in heads.iter_mut().enumerate() {
                let scores: Vec<f64> = (0..x.len())
                    .map(|s| part(0, t).iter().zip(part(1, s)).map(|(q, k)| q * k).sum::<f64>() / (hd as f64).sqrt())
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (s, score) in scores.iter().enumerate() {
                    let p = (score - max).exp() / total;
                    part(2, s).iter().enumerate().for_each(|(j, v)| out[h * hd + j] += p * v);
                }
            }
        }
        let attended = self.linear(&heads, &format!("blocks.{i}.attn.proj"));
        let x: Matrix = x.iter().zip(&attended).map(|(a, b)| a.iter().zip(b).map(|(a, b)| a + b).collect()).collect();
        let mut hidden = self.linear(&self.norm(&x, &format!("blocks.{i}.norm2")), &format!("blocks.{i}.mlp.fc1"));
        hidden.iter_mut().flatten().for_each(|v| *v = 0.5 * *v * (1.0 + libm::erf(*v / 2f64.sqrt())));
        let mlp = self.linear(&hidden, &format!("blocks.{i}.mlp.fc2"));
        x.iter().zip(&mlp).map(|(a, b)| a.iter().zip(b).map(|(a, b)| a + b).collect()).collect()
    }
}

/// Random weights in timm's layout, scaled so activations stay of order one and every block matters.
fn random_checkpoint(config: Config, seed: u64) -> (Vec<u8>, HashMap<String, Vec<f64>>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut uniform = move |bound: f64| (f64::from(rng.next_u32()) / f64::from(u32::MAX) * 2.0 - 1.0) * bound;
    let tensors: Vec<_> = config
        .tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let len: usize = shape.iter().product();
            let fan_in: usize = shape[1..].iter().product();
            let values: Vec<f32> = (0..len)
                .map(|_| {
                    (if name.contains("norm") && name.ends_with("weight") {
                        1.0 + uniform(0.3)
                    } else if shape.len() == 1 {
                        uniform(0.5)
                    } else if name.ends_with("weight") {
                        uniform((3.0 / fan_in as f64).sqrt() * if name.contains("qkv") { 2.0 } else { 1.0 })
                    } else {
                        uniform(1.0)
                    }) as f32
                })
                .collect();
            (name, shape, values)
        })
        .collect();
    let reference = tensors.iter().map(|(n, _, v)| (n.clone(), v.iter().map(|&x| f64::from(x)).collect())).collect();
    (to_safetensors(&tensors, &[]), reference)
}

fn relative_error(have: &[f32], want: &Matrix) -> f64 {
    let want: Vec<f64> = want.iter().flatten().copied().collect();
    assert_eq!(have.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    have.iter().zip(&want).fold(0.0f64, |m, (h, w)| m.max((f64::from(*h) - w).abs())) / scale
}

fn random_images(count: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..count * CHANNELS * IMAGE * IMAGE)
        .map(|_| (f64::from(rng.next_u32()) / f64::from(u32::MAX) * 4.0 - 2.0) as f32)
        .collect()
}

/// Every stage of `config` (embedding, each block, final norm) agrees with the f64 reference within
/// `tolerance` relative to the stage's largest value; each block is fed the model's own input, so errors do
/// not compound.
fn check_block_by_block(config: Config, images: usize, tolerance: f64) {
    let (bytes, tensors) = random_checkpoint(config, 7);
    let model = DeiT::from_safetensors(&bytes, config).unwrap();
    let reference = Reference { config, tensors };
    let pixels = random_images(images, 3);
    let (d, tokens) = (config.embed_dim, config.tokens());
    let mut x = model.embed(&pixels, images);
    let per_image = |x: &[f32], n: usize| x[n * tokens * d..(n + 1) * tokens * d].to_vec();
    for n in 0..images {
        let want = reference.embed(&pixels[n * CHANNELS * IMAGE * IMAGE..]);
        let err = relative_error(&per_image(&x, n), &want);
        assert!(err < tolerance, "{}: embedding of image {n}: relative error {err:.2e}", config.name);
    }
    for i in 0..config.depth {
        let inputs: Vec<Matrix> = (0..images)
            .map(|n| per_image(&x, n).chunks(d).map(|r| r.iter().map(|&v| f64::from(v)).collect()).collect())
            .collect();
        model.block(i, &mut x, images);
        for (n, input) in inputs.iter().enumerate() {
            let err = relative_error(&per_image(&x, n), &reference.block(i, input));
            assert!(err < tolerance, "{}: block {i}, image {n}: relative error {err:.2e}", config.name);
        }
    }
    let tokens_to_check: &[Token] = if config.distilled { &[Token::Cls, Token::Dist] } else { &[Token::Cls] };
    for &token in tokens_to_check {
        let features = model.head_features(&x, images, token);
        for n in 0..images {
            let last: Matrix = per_image(&x, n).chunks(d).map(|r| r.iter().map(|&v| f64::from(v)).collect()).collect();
            let want = reference.norm(&last, "norm")[usize::from(token == Token::Dist)].clone();
            let err = relative_error(&features[n * d..(n + 1) * d], &vec![want]);
            assert!(
                err < tolerance,
                "{}: final norm, {token:?} token of image {n}: relative error {err:.2e}",
                config.name
            );
        }
    }
}

#[test]
fn a_small_distilled_deit_matches_the_reference_block_by_block() {
    let config = Config { name: "test_distilled_d64", embed_dim: 64, depth: 3, heads: 2, distilled: true };
    check_block_by_block(config, 3, 1e-5);
}

#[test]
fn deit_tiny_matches_the_reference_block_by_block() {
    check_block_by_block(super::model("deit_tiny").unwrap(), 1, 1e-5);
}

#[test]
fn checkpoints_with_a_missing_misshapen_or_wrongly_typed_tensor_name_it() {
    let config = super::model("deit_tiny").unwrap();
    let (bytes, _) = random_checkpoint(config, 1);
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let rebuild = |skip: &str, reshape: &str| {
        let tensors: Vec<_> = file
            .tensors()
            .into_iter()
            .filter(|(name, _)| name != skip)
            .map(|(name, view)| {
                let values: Vec<f32> =
                    view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
                let shape = if name == reshape { vec![values.len()] } else { view.shape().to_vec() };
                (name, shape, values)
            })
            .collect();
        to_safetensors(&tensors, &[])
    };
    let err = DeiT::from_safetensors(&rebuild("blocks.4.mlp.fc1.bias", ""), config).err().unwrap();
    assert_eq!(err, WeightsError::Missing { name: "blocks.4.mlp.fc1.bias".into(), model: "deit_tiny_patch16_224" });
    let err = DeiT::from_safetensors(&rebuild("", "blocks.2.attn.qkv.weight"), config).err().unwrap();
    assert_eq!(
        err.to_string(),
        "tensor `blocks.2.attn.qkv.weight` has shape [110592], but deit_tiny_patch16_224 needs [576, 192]"
    );
    let small = super::model("deit_small").unwrap();
    let err = DeiT::from_safetensors(&bytes, small).err().unwrap();
    assert!(matches!(err, WeightsError::Shape { ref name, .. } if name == "cls_token"), "{err}");
    assert!(matches!(DeiT::from_safetensors(b"junk", config), Err(WeightsError::Format(_))));
    let distilled = super::model("deit_tiny_distilled").unwrap();
    let err = DeiT::from_safetensors(&bytes, distilled).err().unwrap();
    assert_eq!(err, WeightsError::Missing { name: "dist_token".into(), model: "deit_tiny_distilled_patch16_224" });
}

#[test]
fn timm_initialized_checkpoints_load_for_every_variant() {
    for config in super::MODELS {
        let model = DeiT::from_safetensors(&super::checkpoint::timm_init(*config, 1), *config).unwrap();
        let features = model.features(&random_images(1, 5), 1, Token::Cls);
        assert_eq!(features.len(), config.embed_dim);
        assert!(features.iter().all(|v| v.is_finite()), "{}", config.name);
    }
}
