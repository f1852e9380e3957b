//! A straightforward f64 ViT, written from the definitions (convolution as a sum over its window, position
//! embeddings resized by a 4 × 4 bicubic stencil per output, attention head by head with an explicit softmax,
//! GELU through `erf`, LayerScale), and the block-by-block check of the model against it on random weights saved
//! in each family's safetensors layout.

use super::checkpoint::to_safetensors;
use super::config::{CHANNELS, Config, Family, IMAGE};
use super::{Token, Vit, WeightsError};
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

    /// The patch grid's position embeddings at the input's grid: PyTorch's bicubic (`a = −0.75`, half-pixel
    /// centres, border-clamped neighbours) evaluated output by output as a 4 × 4 stencil.
    fn patch_positions(&self) -> Matrix {
        let (d, from, to) = (self.config.embed_dim, self.config.pos_grid, self.config.grid());
        let pos = &self.t(self.config.names().pos_embed())[self.config.prefix_tokens() * d..];
        let kernel = |x: f64| {
            let (a, x) = (-0.75, x.abs());
            if x <= 1.0 {
                (a + 2.0) * x.powi(3) - (a + 3.0) * x * x + 1.0
            } else if x < 2.0 {
                a * x.powi(3) - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a
            } else {
                0.0
            }
        };
        let taps = |o: usize| {
            let source = (o as f64 + 0.5) * from as f64 / to as f64 - 0.5;
            let base = source.floor();
            (-1..=2i64)
                .map(move |k| ((base as i64 + k).clamp(0, from as i64 - 1) as usize, kernel(source - base - k as f64)))
        };
        let mut out = Vec::new();
        for y in 0..to {
            for x in 0..to {
                let mut v = vec![0.0; d];
                for (sy, wy) in taps(y) {
                    for (sx, wx) in taps(x) {
                        let p = &pos[(sy * from + sx) * d..(sy * from + sx + 1) * d];
                        v.iter_mut().zip(p).for_each(|(v, p)| *v += wy * wx * p);
                    }
                }
                out.push(v);
            }
        }
        out
    }

    fn embed(&self, image: &[f32]) -> Matrix {
        let (d, names, patch, grid) =
            (self.config.embed_dim, self.config.names(), self.config.patch, self.config.grid());
        let w = self.t(&format!("{}.weight", names.patch_embed()));
        let b = self.t(&format!("{}.bias", names.patch_embed()));
        let mut tokens: Matrix = vec![self.t(names.cls_token()).to_vec()];
        if self.config.distilled {
            tokens.push(self.t("dist_token").to_vec());
        }
        for py in 0..grid {
            for px in 0..grid {
                tokens.push(
                    (0..d)
                        .map(|o| {
                            let mut sum = b[o];
                            for c in 0..CHANNELS {
                                for ky in 0..patch {
                                    for kx in 0..patch {
                                        let pixel =
                                            image[c * IMAGE * IMAGE + (py * patch + ky) * IMAGE + px * patch + kx];
                                        sum += w[((o * CHANNELS + c) * patch + ky) * patch + kx] * f64::from(pixel);
                                    }
                                }
                            }
                            sum
                        })
                        .collect(),
                );
            }
        }
        let prefix = self.config.prefix_tokens();
        let pos = self.t(names.pos_embed());
        let positions = (0..prefix).map(|t| pos[t * d..(t + 1) * d].to_vec()).chain(self.patch_positions());
        for (row, position) in tokens.iter_mut().zip(positions) {
            row.iter_mut().zip(position).for_each(|(v, p)| *v += p);
        }
        tokens
    }

    /// `x + γ ⊙ branch` (`γ` the LayerScale vector `name`, if the layout has one).
    fn residual(&self, x: &Matrix, branch: &Matrix, scale: Option<String>) -> Matrix {
        let gamma = scale.map(|name| self.t(&name).to_vec());
        x.iter()
            .zip(branch)
            .map(|(a, b)| {
                a.iter().zip(b).enumerate().map(|(j, (a, b))| a + gamma.as_ref().map_or(1.0, |g| g[j]) * b).collect()
            })
            .collect()
    }

    fn block(&self, i: usize, x: &Matrix) -> Matrix {
        let (d, hd, names) = (self.config.embed_dim, self.config.head_dim(), self.config.names());
        let normed = self.norm(x, &names.block(i, "norm1"));
        let [q, k, v] = match self.config.family {
            Family::DeiT => {
                let qkv = self.linear(&normed, &names.block(i, "attn.qkv"));
                [0, 1, 2].map(|which| qkv.iter().map(|row| row[which * d..(which + 1) * d].to_vec()).collect())
            }
            Family::Dinov2 => ["query", "key", "value"]
                .map(|part| self.linear(&normed, &names.block(i, &format!("attention.attention.{part}")))),
        };
        let mut heads = vec![vec![0.0; d]; x.len()];
        for h in 0..self.config.heads {
            let head = |m: &Matrix, t: usize| m[t][h * hd..(h + 1) * hd].to_vec();
            for (t, out) in heads.iter_mut().enumerate() {
                let scores: Vec<f64> = (0..x.len())
                    .map(|s| head(&q, t).iter().zip(head(&k, s)).map(|(q, k)| q * k).sum::<f64>() / (hd as f64).sqrt())
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (s, score) in scores.iter().enumerate() {
                    let p = (score - max).exp() / total;
                    head(&v, s).iter().enumerate().for_each(|(j, v)| out[h * hd + j] += p * v);
                }
            }
        }
        let attended = self.linear(&heads, &names.attention_out(i));
        let x = self.residual(x, &attended, names.layer_scale(i, 1));
        let mut hidden = self.linear(&self.norm(&x, &names.block(i, "norm2")), &names.block(i, "mlp.fc1"));
        hidden.iter_mut().flatten().for_each(|v| *v = 0.5 * *v * (1.0 + libm::erf(*v / 2f64.sqrt())));
        let mlp = self.linear(&hidden, &names.block(i, "mlp.fc2"));
        self.residual(&x, &mlp, names.layer_scale(i, 2))
    }

    /// The features of `token` from the tokens after the last block.
    fn features(&self, last: &Matrix, token: Token) -> Vec<f64> {
        let normed = self.norm(last, self.config.names().final_norm());
        let prefix = self.config.prefix_tokens();
        let patches = &normed[prefix..];
        let mean: Vec<f64> = (0..self.config.embed_dim)
            .map(|j| patches.iter().map(|row| row[j]).sum::<f64>() / patches.len() as f64)
            .collect();
        match token {
            Token::Cls => normed[0].clone(),
            Token::Dist => normed[1].clone(),
            Token::Mean => mean,
            Token::Both => [normed[0].clone(), mean].concat(),
        }
    }
}

/// Random weights in `config`'s layout, scaled so activations stay of order one and every block matters.
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
                    (if (name.contains("norm") && name.ends_with("weight")) || name.ends_with("lambda1") {
                        1.0 + uniform(0.3)
                    } else if shape.len() == 1 {
                        uniform(0.5)
                    } else if name.ends_with("weight") {
                        let attention = name.contains("qkv") || name.contains("query") || name.contains("key");
                        uniform((3.0 / fan_in as f64).sqrt() * if attention { 2.0 } else { 1.0 })
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
    let model = Vit::from_safetensors(&bytes, config).unwrap();
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
    let last: Vec<Matrix> = (0..images)
        .map(|n| per_image(&x, n).chunks(d).map(|r| r.iter().map(|&v| f64::from(v)).collect()).collect())
        .collect();
    for token in [Token::Cls, Token::Dist, Token::Mean, Token::Both].into_iter().filter(|t| t.fits(config)) {
        let features = model.head_features(&x, images, token);
        let width = token.dim(config);
        for (n, last) in last.iter().enumerate() {
            let want = reference.features(last, token);
            let err = relative_error(&features[n * width..(n + 1) * width], &vec![want]);
            assert!(err < tolerance, "{}: {token:?} features of image {n}: relative error {err:.2e}", config.name);
        }
    }
}

#[test]
fn a_small_distilled_deit_matches_the_reference_block_by_block() {
    let config =
        Config { name: "test_distilled_d64", embed_dim: 64, depth: 3, ..super::model("deit_tiny_distilled").unwrap() };
    check_block_by_block(Config { heads: 2, ..config }, 3, 1e-5);
}

#[test]
fn a_small_dinov2_matches_the_reference_block_by_block() {
    // Patch 14 on a 16 × 16 grid, LayerScale, separate query/key/value, positions resized from 9 × 9.
    let config = Config {
        name: "test_dinov2_d64",
        embed_dim: 64,
        depth: 2,
        heads: 2,
        pos_grid: 9,
        ..super::model("dinov2_small").unwrap()
    };
    check_block_by_block(config, 2, 1e-5);
}

#[test]
fn dinov2_small_matches_the_reference_block_by_block() {
    check_block_by_block(super::model("dinov2_small").unwrap(), 1, 1e-5);
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
    let err = Vit::from_safetensors(&rebuild("blocks.4.mlp.fc1.bias", ""), config).err().unwrap();
    assert_eq!(err, WeightsError::Missing { name: "blocks.4.mlp.fc1.bias".into(), model: "deit_tiny_patch16_224" });
    let dinov2 = super::model("dinov2_small").unwrap();
    let err = Vit::from_safetensors(&bytes, dinov2).err().unwrap();
    assert_eq!(err, WeightsError::Missing { name: "embeddings.cls_token".into(), model: "dinov2_small" });
    let err = Vit::from_safetensors(&rebuild("", "blocks.2.attn.qkv.weight"), config).err().unwrap();
    assert_eq!(
        err.to_string(),
        "tensor `blocks.2.attn.qkv.weight` has shape [110592], but deit_tiny_patch16_224 needs [576, 192]"
    );
    let small = super::model("deit_small").unwrap();
    let err = Vit::from_safetensors(&bytes, small).err().unwrap();
    assert!(matches!(err, WeightsError::Shape { ref name, .. } if name == "cls_token"), "{err}");
    assert!(matches!(Vit::from_safetensors(b"junk", config), Err(WeightsError::Format(_))));
    let distilled = super::model("deit_tiny_distilled").unwrap();
    let err = Vit::from_safetensors(&bytes, distilled).err().unwrap();
    assert_eq!(err, WeightsError::Missing { name: "dist_token".into(), model: "deit_tiny_distilled_patch16_224" });
}

#[test]
fn timm_initialized_checkpoints_load_for_every_variant() {
    for config in super::MODELS {
        let model = Vit::from_safetensors(&super::checkpoint::timm_init(*config, 1), *config).unwrap();
        let features = model.features(&random_images(1, 5), 1, Token::Both);
        assert_eq!(features.len(), 2 * config.embed_dim);
        assert!(features.iter().all(|v| v.is_finite()), "{}", config.name);
    }
}
