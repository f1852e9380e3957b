//! The DeiT forward pass (timm's `VisionTransformer`, pre-norm blocks) on CPU, from timm's safetensors weights.
//!
//! `x = [cls, (dist), patches·Wᵀ + b] + pos_embed`; each block: `x += proj(attn(norm1(x)))`,
//! `x += fc2(gelu(fc1(norm2(x))))`; features are the class (or distillation) token after the final norm.
//! Images are processed in groups whose tokens are stacked, so the linear layers are large matrix products.

use super::config::{CHANNELS, Config, GRID, IMAGE, LN_EPS, MLP_RATIO, PATCH, PATCH_VALUES};
use super::layers::{self, View};
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;

/// Which token's final embedding is the feature vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Token {
    /// The class token (every DeiT).
    Cls,
    /// The distillation token (distilled DeiTs only).
    Dist,
}

/// What is wrong with a weights file; the first offending tensor is named.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WeightsError {
    /// Not a safetensors file.
    #[error("not a safetensors file ({0})")]
    Format(String),
    /// A tensor the model needs is absent.
    #[error("tensor `{name}` is missing (is this a timm {model} checkpoint?)")]
    Missing {
        /// timm's tensor name.
        name: String,
        /// The model expected.
        model: &'static str,
    },
    /// A tensor has the wrong shape.
    #[error("tensor `{name}` has shape {found:?}, but {model} needs {expected:?}")]
    Shape {
        /// timm's tensor name.
        name: String,
        /// The model expected.
        model: &'static str,
        /// What the model needs.
        expected: Vec<usize>,
        /// What the file has.
        found: Vec<usize>,
    },
    /// A tensor is not stored as f32, f16 or bf16.
    #[error("tensor `{name}` is {dtype}, expected F32, F16 or BF16")]
    Dtype {
        /// timm's tensor name.
        name: String,
        /// Its stored type.
        dtype: String,
    },
}

struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Block {
    norm1: Norm,
    qkv: Linear,
    proj: Linear,
    norm2: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// A DeiT backbone with its weights (the ImageNet heads are not needed for features and are not kept).
pub struct DeiT {
    config: Config,
    patch: Linear,
    /// Class token, then distillation token if any: `prefix_tokens × D`.
    prefix: Vec<f32>,
    /// `tokens × D`.
    pos_embed: Vec<f32>,
    blocks: Vec<Block>,
    norm: Norm,
}

impl DeiT {
    /// Builds the model from a safetensors checkpoint with timm's names. Every tensor of the checkpoint is
    /// checked in timm's order, so the first missing or misshapen one is the one reported.
    ///
    /// # Errors
    /// [`WeightsError`] naming the first tensor that does not fit.
    pub fn from_safetensors(bytes: &[u8], config: Config) -> Result<DeiT, WeightsError> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
        let mut tensors = HashMap::new();
        for (name, expected) in config.tensor_shapes() {
            let view =
                file.tensor(&name).map_err(|_| WeightsError::Missing { name: name.clone(), model: config.name })?;
            if view.shape() != expected {
                return Err(WeightsError::Shape { name, model: config.name, expected, found: view.shape().to_vec() });
            }
            let values = to_f32(view.dtype(), view.data())
                .ok_or_else(|| WeightsError::Dtype { name: name.clone(), dtype: view.dtype().to_string() })?;
            tensors.insert(name, values);
        }
        let mut take = |name: &str| tensors.remove(name).unwrap_or_default();
        let mut prefix = take("cls_token");
        if config.distilled {
            prefix.extend(take("dist_token"));
        }
        let linear = |take: &mut dyn FnMut(&str) -> Vec<f32>, name: &str| Linear {
            weight: take(&format!("{name}.weight")),
            bias: take(&format!("{name}.bias")),
        };
        let norm = |take: &mut dyn FnMut(&str) -> Vec<f32>, name: &str| Norm {
            gamma: take(&format!("{name}.weight")),
            beta: take(&format!("{name}.bias")),
        };
        let patch = linear(&mut take, "patch_embed.proj");
        let pos_embed = take("pos_embed");
        let blocks = (0..config.depth)
            .map(|i| Block {
                norm1: norm(&mut take, &format!("blocks.{i}.norm1")),
                qkv: linear(&mut take, &format!("blocks.{i}.attn.qkv")),
                proj: linear(&mut take, &format!("blocks.{i}.attn.proj")),
                norm2: norm(&mut take, &format!("blocks.{i}.norm2")),
                fc1: linear(&mut take, &format!("blocks.{i}.mlp.fc1")),
                fc2: linear(&mut take, &format!("blocks.{i}.mlp.fc2")),
            })
            .collect();
        let norm = norm(&mut take, "norm");
        Ok(DeiT { config, patch, prefix, pos_embed, blocks, norm })
    }

    /// The architecture.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Token embeddings before the first block, `count × tokens × D`, of `count` preprocessed images
    /// (`count × 3 × 224 × 224`, channel first).
    pub fn embed(&self, images: &[f32], count: usize) -> Vec<f32> {
        let (d, tokens, prefix) = (self.config.embed_dim, self.config.tokens(), self.config.prefix_tokens());
        let patches = GRID * GRID;
        let mut flat = vec![0.0f32; count * patches * PATCH_VALUES];
        for (image, flat) in
            images.chunks_exact(CHANNELS * IMAGE * IMAGE).zip(flat.chunks_exact_mut(patches * PATCH_VALUES))
        {
            for (p, patch) in flat.chunks_exact_mut(PATCH_VALUES).enumerate() {
                let (py, px) = (p / GRID, p % GRID);
                for (c, rows) in patch.chunks_exact_mut(PATCH * PATCH).enumerate() {
                    for (ky, row) in rows.chunks_exact_mut(PATCH).enumerate() {
                        let start = c * IMAGE * IMAGE + (py * PATCH + ky) * IMAGE + px * PATCH;
                        row.copy_from_slice(&image[start..start + PATCH]);
                    }
                }
            }
        }
        let mut projected = vec![0.0f32; count * patches * d];
        layers::linear(&flat, count * patches, &self.patch.weight, &self.patch.bias, &mut projected);
        let mut x = vec![0.0f32; count * tokens * d];
        for (x, projected) in x.chunks_exact_mut(tokens * d).zip(projected.chunks_exact(patches * d)) {
            x[..prefix * d].copy_from_slice(&self.prefix);
            x[prefix * d..].copy_from_slice(projected);
            x.iter_mut().zip(&self.pos_embed).for_each(|(v, p)| *v += p);
        }
        x
    }

    /// Applies block `index` in place to the tokens of `count` images (`count × tokens × D`).
    pub fn block(&self, index: usize, x: &mut [f32], count: usize) {
        let block = &self.blocks[index];
        let (d, tokens, heads, hd) =
            (self.config.embed_dim, self.config.tokens(), self.config.heads, self.config.head_dim());
        let rows = count * tokens;
        let mut normed = vec![0.0f32; rows * d];
        layers::layer_norm(x, &block.norm1.gamma, &block.norm1.beta, LN_EPS, &mut normed);
        let mut qkv = vec![0.0f32; rows * 3 * d];
        layers::linear(&normed, rows, &block.qkv.weight, &block.qkv.bias, &mut qkv);
        let scale = 1.0 / (hd as f32).sqrt();
        let mut scores = vec![0.0f32; tokens * tokens];
        // `normed` is reused for the heads' outputs, laid out as timm's (tokens, heads·hd).
        for (qkv, out) in qkv.chunks_exact(tokens * 3 * d).zip(normed.chunks_exact_mut(tokens * d)) {
            for h in 0..heads {
                let q = View::columns(qkv, tokens, 3 * d, h * hd, hd);
                let k = View::columns(qkv, tokens, 3 * d, d + h * hd, hd);
                let v = View::columns(qkv, tokens, 3 * d, 2 * d + h * hd, hd);
                layers::matmul(q, k.t(), &mut scores, tokens, false);
                scores.iter_mut().for_each(|s| *s *= scale);
                layers::softmax_rows(&mut scores, tokens);
                layers::matmul(View::dense(&scores, tokens, tokens), v, &mut out[h * hd..], d, false);
            }
        }
        let mut projected = vec![0.0f32; rows * d];
        layers::linear(&normed, rows, &block.proj.weight, &block.proj.bias, &mut projected);
        x.iter_mut().zip(&projected).for_each(|(x, p)| *x += p);
        layers::layer_norm(x, &block.norm2.gamma, &block.norm2.beta, LN_EPS, &mut normed);
        let mut hidden = vec![0.0f32; rows * MLP_RATIO * d];
        layers::linear(&normed, rows, &block.fc1.weight, &block.fc1.bias, &mut hidden);
        layers::gelu(&mut hidden);
        layers::linear(&hidden, rows, &block.fc2.weight, &block.fc2.bias, &mut projected);
        x.iter_mut().zip(&projected).for_each(|(x, p)| *x += p);
    }

    /// The final-norm embedding of `token` for each of `count` images whose tokens went through every block.
    pub fn head_features(&self, x: &[f32], count: usize, token: Token) -> Vec<f32> {
        let (d, tokens) = (self.config.embed_dim, self.config.tokens());
        let index = match token {
            Token::Cls => 0,
            Token::Dist => 1,
        };
        let mut out = vec![0.0f32; count * d];
        for (x, out) in x.chunks_exact(tokens * d).zip(out.chunks_exact_mut(d)) {
            layers::layer_norm(&x[index * d..(index + 1) * d], &self.norm.gamma, &self.norm.beta, LN_EPS, out);
        }
        out
    }

    /// Feature vectors (`count × D`) of preprocessed images (`count × 3 × 224 × 224`).
    ///
    /// # Panics
    /// If `token` is [`Token::Dist`] on a model without a distillation token (checked by callers up front).
    pub fn features(&self, images: &[f32], count: usize, token: Token) -> Vec<f32> {
        assert!(token == Token::Cls || self.config.distilled, "the distillation token needs a distilled model");
        let mut x = self.embed(images, count);
        for i in 0..self.config.depth {
            self.block(i, &mut x, count);
        }
        self.head_features(&x, count, token)
    }
}

/// Little-endian f32, f16 or bf16 bytes as f32.
fn to_f32(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    let halves =
        |convert: fn(u16) -> f32| data.chunks_exact(2).map(|b| convert(u16::from_le_bytes([b[0], b[1]]))).collect();
    match dtype {
        Dtype::F32 => Some(data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()),
        Dtype::BF16 => Some(halves(|h| f32::from_bits(u32::from(h) << 16))),
        Dtype::F16 => Some(halves(f16_to_f32)),
        _ => None,
    }
}

/// IEEE binary16 to f32 (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let mantissa = f32::from(h & 0x3ff);
    sign * match exponent {
        0 => mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(to_f32(Dtype::BF16, &[0x80, 0x3f]).unwrap(), vec![1.0]);
        assert_eq!(to_f32(Dtype::I64, &[0; 8]), None);
    }
}
