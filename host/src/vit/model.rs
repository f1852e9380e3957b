//! The ViT forward pass (pre-norm blocks) on CPU, from safetensors weights in timm's (DeiT) or Hugging Face's
//! (DINOv2) layout.
//!
//! `x = [cls, (dist), patches·Wᵀ + b] + pos_embed`; each block: `x += γ₁ ⊙ proj(attn(norm1(x)))`,
//! `x += γ₂ ⊙ fc2(gelu(fc1(norm2(x))))` (LayerScale `γ` in DINOv2, 1 in DeiT); features come from the tokens
//! after the final norm. Images are processed in groups whose tokens are stacked, so the linear layers are large
//! matrix products.

use super::config::{CHANNELS, Config, Family, IMAGE, LN_EPS, MLP_RATIO};
use super::gemm::Linear;
use super::layers::{self, View};
use super::position;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;

/// Which final-norm embeddings make the feature vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Token {
    /// The class token (`D` values).
    Cls,
    /// The distillation token (distilled DeiTs only; `D` values).
    Dist,
    /// The mean of the patch tokens (`D` values).
    Mean,
    /// The class token, then the mean of the patch tokens (`2·D` values, as DINOv2's linear probes).
    Both,
}

impl Token {
    /// Whether `config` has this token.
    pub fn fits(self, config: Config) -> bool {
        self != Token::Dist || config.distilled
    }

    /// Feature width with this token on `config`.
    pub fn dim(self, config: Config) -> usize {
        if self == Token::Both { 2 * config.embed_dim } else { config.embed_dim }
    }
}

/// What is wrong with a weights file; the first offending tensor is named.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WeightsError {
    /// Not a safetensors file.
    #[error("not a safetensors file ({0})")]
    Format(String),
    /// A tensor the model needs is absent.
    #[error("tensor `{name}` is missing (is this a {model} checkpoint?)")]
    Missing {
        /// The tensor's name.
        name: String,
        /// The model expected.
        model: &'static str,
    },
    /// A tensor has the wrong shape.
    #[error("tensor `{name}` has shape {found:?}, but {model} needs {expected:?}")]
    Shape {
        /// The tensor's name.
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
        /// The tensor's name.
        name: String,
        /// Its stored type.
        dtype: String,
    },
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Block {
    norm1: Norm,
    /// Query, key and value stacked: `3D × D`.
    qkv: Linear,
    proj: Linear,
    /// LayerScale of the attention branch, if any.
    scale1: Option<Vec<f32>>,
    norm2: Norm,
    fc1: Linear,
    fc2: Linear,
    /// LayerScale of the MLP branch, if any.
    scale2: Option<Vec<f32>>,
}

/// A ViT backbone with its weights (DeiT's ImageNet heads are not needed for features and are not kept).
pub struct Vit {
    config: Config,
    patch: Linear,
    /// Class token, then distillation token if any: `prefix_tokens × D`.
    prefix: Vec<f32>,
    /// `tokens × D`, resized to the input's grid.
    pos_embed: Vec<f32>,
    blocks: Vec<Block>,
    norm: Norm,
}

impl Vit {
    /// Builds the model from a safetensors checkpoint in `config`'s layout. Every tensor is checked in the
    /// checkpoint's order, so the first missing or misshapen one is the one reported.
    ///
    /// # Errors
    /// [`WeightsError`] naming the first tensor that does not fit.
    pub fn from_safetensors(bytes: &[u8], config: Config) -> Result<Vit, WeightsError> {
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
        let names = config.names();
        let mut take = |name: &str| tensors.remove(name).unwrap_or_default();
        let mut prefix = take(names.cls_token());
        if config.distilled {
            prefix.extend(take("dist_token"));
        }
        let raw = |take: &mut dyn FnMut(&str) -> Vec<f32>, name: &str| {
            (take(&format!("{name}.weight")), take(&format!("{name}.bias")))
        };
        let linear = |take: &mut dyn FnMut(&str) -> Vec<f32>, name: &str| {
            let (weight, bias) = raw(take, name);
            Linear::new(&weight, bias)
        };
        let norm = |take: &mut dyn FnMut(&str) -> Vec<f32>, name: &str| Norm {
            gamma: take(&format!("{name}.weight")),
            beta: take(&format!("{name}.bias")),
        };
        let patch = linear(&mut take, names.patch_embed());
        let pos_embed = resized_positions(config, &take(names.pos_embed()));
        let blocks = (0..config.depth)
            .map(|i| {
                let qkv = match config.family {
                    Family::DeiT => linear(&mut take, &names.block(i, "attn.qkv")),
                    Family::Dinov2 => {
                        let parts = ["query", "key", "value"]
                            .map(|part| raw(&mut take, &names.block(i, &format!("attention.attention.{part}"))));
                        let weight: Vec<f32> = parts.iter().flat_map(|p| p.0.iter().copied()).collect();
                        Linear::new(&weight, parts.iter().flat_map(|p| p.1.iter().copied()).collect())
                    }
                };
                Block {
                    norm1: norm(&mut take, &names.block(i, "norm1")),
                    qkv,
                    proj: linear(&mut take, &names.attention_out(i)),
                    scale1: names.layer_scale(i, 1).map(|n| take(&n)),
                    norm2: norm(&mut take, &names.block(i, "norm2")),
                    fc1: linear(&mut take, &names.block(i, "mlp.fc1")),
                    fc2: linear(&mut take, &names.block(i, "mlp.fc2")),
                    scale2: names.layer_scale(i, 2).map(|n| take(&n)),
                }
            })
            .collect();
        let norm = norm(&mut take, names.final_norm());
        Ok(Vit { config, patch, prefix, pos_embed, blocks, norm })
    }

    /// The architecture.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Token embeddings before the first block, `count × tokens × D`, of `count` preprocessed images
    /// (`count × 3 × 224 × 224`, channel first).
    pub fn embed(&self, images: &[f32], count: usize) -> Vec<f32> {
        let (d, tokens, prefix) = (self.config.embed_dim, self.config.tokens(), self.config.prefix_tokens());
        let (grid, patch_side, patch_values) = (self.config.grid(), self.config.patch, self.config.patch_values());
        let patches = grid * grid;
        let mut flat = vec![0.0f32; count * patches * patch_values];
        for (image, flat) in
            images.chunks_exact(CHANNELS * IMAGE * IMAGE).zip(flat.chunks_exact_mut(patches * patch_values))
        {
            for (p, patch) in flat.chunks_exact_mut(patch_values).enumerate() {
                let (py, px) = (p / grid, p % grid);
                for (c, rows) in patch.chunks_exact_mut(patch_side * patch_side).enumerate() {
                    for (ky, row) in rows.chunks_exact_mut(patch_side).enumerate() {
                        let start = c * IMAGE * IMAGE + (py * patch_side + ky) * IMAGE + px * patch_side;
                        row.copy_from_slice(&image[start..start + patch_side]);
                    }
                }
            }
        }
        let mut projected = vec![0.0f32; count * patches * d];
        self.patch.apply(&flat, count * patches, &mut projected);
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
        block.qkv.apply(&normed, rows, &mut qkv);
        let scale = 1.0 / (hd as f32).sqrt();
        let mut scores = vec![0.0f32; tokens * tokens];
        // `normed` is reused for the heads' outputs, laid out as timm's (tokens, heads·hd).
        for (qkv, out) in qkv.chunks_exact(tokens * 3 * d).zip(normed.chunks_exact_mut(tokens * d)) {
            for h in 0..heads {
                let q = View::columns(qkv, tokens, 3 * d, h * hd, hd);
                let k = View::columns(qkv, tokens, 3 * d, d + h * hd, hd);
                let v = View::columns(qkv, tokens, 3 * d, 2 * d + h * hd, hd);
                layers::matmul(q, k.t(), &mut scores, tokens, false);
                layers::softmax_rows(&mut scores, tokens, scale);
                layers::matmul(View::dense(&scores, tokens, tokens), v, &mut out[h * hd..], d, false);
            }
        }
        let mut projected = vec![0.0f32; rows * d];
        block.proj.apply(&normed, rows, &mut projected);
        add_scaled(x, &projected, block.scale1.as_deref());
        layers::layer_norm(x, &block.norm2.gamma, &block.norm2.beta, LN_EPS, &mut normed);
        let mut hidden = vec![0.0f32; rows * MLP_RATIO * d];
        block.fc1.apply(&normed, rows, &mut hidden);
        layers::gelu(&mut hidden);
        block.fc2.apply(&hidden, rows, &mut projected);
        add_scaled(x, &projected, block.scale2.as_deref());
    }

    /// The features of `token` (`count × token.dim(config)`) of `count` images whose tokens went through every
    /// block: the final norm of the class or distillation token, the mean of the normed patch tokens, or both.
    ///
    /// # Panics
    /// If the model does not have `token` (see [`Token::fits`], checked by callers up front).
    pub fn head_features(&self, x: &[f32], count: usize, token: Token) -> Vec<f32> {
        assert!(token.fits(self.config), "{} has no {token:?} token", self.config.name);
        let (d, tokens, prefix) = (self.config.embed_dim, self.config.tokens(), self.config.prefix_tokens());
        let width = token.dim(self.config);
        let norm =
            |row: &[f32], out: &mut [f32]| layers::layer_norm(row, &self.norm.gamma, &self.norm.beta, LN_EPS, out);
        let mut out = vec![0.0f32; count * width];
        let mut normed = vec![0.0f32; (tokens - prefix) * d];
        for (x, out) in x.chunks_exact(tokens * d).zip(out.chunks_exact_mut(width)) {
            let (head, mean) = out.split_at_mut(if token == Token::Mean { 0 } else { d });
            match token {
                Token::Cls | Token::Both => norm(&x[..d], head),
                Token::Dist => norm(&x[d..2 * d], head),
                Token::Mean => {}
            }
            if matches!(token, Token::Mean | Token::Both) {
                norm(&x[prefix * d..], &mut normed);
                for patch in normed.chunks_exact(d) {
                    mean.iter_mut().zip(patch).for_each(|(m, &v)| *m += v);
                }
                let inv = 1.0 / (tokens - prefix) as f32;
                mean.iter_mut().for_each(|m| *m *= inv);
            }
        }
        out
    }

    /// Every token after the final norm (`count × tokens × D`, Hugging Face's `last_hidden_state`) of
    /// preprocessed images (`count × 3 × 224 × 224`).
    pub fn last_hidden_state(&self, images: &[f32], count: usize) -> Vec<f32> {
        let mut x = self.embed(images, count);
        for i in 0..self.config.depth {
            self.block(i, &mut x, count);
        }
        let mut out = vec![0.0f32; x.len()];
        layers::layer_norm(&x, &self.norm.gamma, &self.norm.beta, LN_EPS, &mut out);
        out
    }

    /// Feature vectors (`count × token.dim(config)`) of preprocessed images (`count × 3 × 224 × 224`).
    ///
    /// # Panics
    /// If the model does not have `token` (see [`Token::fits`], checked by callers up front).
    pub fn features(&self, images: &[f32], count: usize, token: Token) -> Vec<f32> {
        let mut x = self.embed(images, count);
        for i in 0..self.config.depth {
            self.block(i, &mut x, count);
        }
        self.head_features(&x, count, token)
    }
}

/// `x += γ ⊙ branch` row by row (`γ` of width `D`), or `x += branch` without LayerScale.
fn add_scaled(x: &mut [f32], branch: &[f32], scale: Option<&[f32]>) {
    match scale {
        Some(gamma) => {
            for (x, branch) in x.chunks_exact_mut(gamma.len()).zip(branch.chunks_exact(gamma.len())) {
                x.iter_mut().zip(branch).zip(gamma).for_each(|((x, b), g)| *x += g * b);
            }
        }
        None => x.iter_mut().zip(branch).for_each(|(x, b)| *x += b),
    }
}

/// The stored position embeddings (`prefix + pos_grid² × D`) with the grid resized to the input's.
fn resized_positions(config: Config, stored: &[f32]) -> Vec<f32> {
    let split = config.prefix_tokens() * config.embed_dim;
    let mut out = stored[..split].to_vec();
    out.extend(position::resize_grid(&stored[split..], config.pos_grid, config.grid(), config.embed_dim));
    out
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
