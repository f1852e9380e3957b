//! The vision transformers MedBlind extracts features with, one pre-norm ViT in two checkpoint layouts: DeiT
//! (Touvron et al., 2021) with timm's names and DINOv2 (Oquab et al., 2023) with Hugging Face's `Dinov2Model`
//! names, each with its hub location.

/// Input side in pixels.
pub const IMAGE: usize = 224;
/// Input channels.
pub const CHANNELS: usize = 3;
/// Hidden width of the MLP relative to the embedding.
pub const MLP_RATIO: usize = 4;
/// Layer-norm epsilon (timm's ViT and DINOv2).
pub const LN_EPS: f32 = 1e-6;
/// ImageNet-1k classes of DeiT's pretrained heads.
pub const HEAD_CLASSES: usize = 1000;

/// Which checkpoint layout, and with it which of the architecture's options, a model has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// timm's `VisionTransformer`: fused query/key/value, position embeddings on the input's grid, an
    /// ImageNet head (not used for features).
    DeiT,
    /// Hugging Face's `Dinov2Model`: separate query/key/value, LayerScale on both residual branches, position
    /// embeddings on a larger grid resized bicubically to the input's, no head.
    Dinov2,
}

/// One ViT architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The model's name, e.g. `deit_tiny_patch16_224` (timm's) or `dinov2_small`.
    pub name: &'static str,
    /// Checkpoint layout and architecture options.
    pub family: Family,
    /// Token width `D`.
    pub embed_dim: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Attention heads (`D / heads` = 64 for every model here).
    pub heads: usize,
    /// Patch side in pixels (divides [`IMAGE`]).
    pub patch: usize,
    /// Side of the grid the stored position embeddings cover (the input's grid for DeiT, 37 for DINOv2).
    pub pos_grid: usize,
    /// Whether the model has a distillation token (`dist_token`, `head_dist`).
    pub distilled: bool,
}

const fn deit(name: &'static str, embed_dim: usize, heads: usize, distilled: bool) -> Config {
    Config { name, family: Family::DeiT, embed_dim, depth: 12, heads, patch: 16, pos_grid: 14, distilled }
}

const fn dinov2(name: &'static str, embed_dim: usize, heads: usize) -> Config {
    Config { name, family: Family::Dinov2, embed_dim, depth: 12, heads, patch: 14, pos_grid: 37, distilled: false }
}

/// Every supported model.
pub const MODELS: &[Config] = &[
    deit("deit_tiny_patch16_224", 192, 3, false),
    deit("deit_small_patch16_224", 384, 6, false),
    deit("deit_base_patch16_224", 768, 12, false),
    deit("deit_tiny_distilled_patch16_224", 192, 3, true),
    deit("deit_small_distilled_patch16_224", 384, 6, true),
    deit("deit_base_distilled_patch16_224", 768, 12, true),
    dinov2("dinov2_small", 384, 6),
    dinov2("dinov2_base", 768, 12),
];

/// Looks a model up by name; DeiT's `_patch16_224` suffix may be left out (`deit_tiny` works).
pub fn model(name: &str) -> Option<Config> {
    MODELS.iter().copied().find(|m| m.name == name || m.name.strip_suffix("_patch16_224") == Some(name))
}

/// Comma-separated model names, for messages.
pub fn names() -> String {
    MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

impl Config {
    /// Patches per side of the input.
    pub fn grid(&self) -> usize {
        IMAGE / self.patch
    }

    /// Values in one flattened patch (`channels × patch × patch`, the order of the convolution weight).
    pub fn patch_values(&self) -> usize {
        CHANNELS * self.patch * self.patch
    }

    /// Tokens per image: class token, distillation token if any, then the patches.
    pub fn tokens(&self) -> usize {
        self.prefix_tokens() + self.grid() * self.grid()
    }

    /// Tokens before the patches (1, or 2 when distilled).
    pub fn prefix_tokens(&self) -> usize {
        1 + usize::from(self.distilled)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.heads
    }

    /// The Hugging Face hub repository with the pretrained weights.
    pub fn hub_repo(&self) -> String {
        match self.family {
            Family::DeiT => format!("timm/{}.fb_in1k", self.name),
            Family::Dinov2 => format!("facebook/{}", self.name.replace('_', "-")),
        }
    }

    /// The checkpoint's name of each part the forward pass uses.
    pub fn names(&self) -> Names {
        Names(self.family)
    }

    /// Every tensor of the checkpoint, in its usual order, with its shape.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, names) = (self.embed_dim, self.names());
        let hidden = MLP_RATIO * d;
        let linear = |name: String, outs: usize, ins: usize| {
            [(format!("{name}.weight"), vec![outs, ins]), (format!("{name}.bias"), vec![outs])]
        };
        let norm = |name: String| [(format!("{name}.weight"), vec![d]), (format!("{name}.bias"), vec![d])];
        let mut shapes = vec![(names.cls_token().into(), vec![1, 1, d])];
        if self.distilled {
            shapes.push(("dist_token".into(), vec![1, 1, d]));
        }
        let positions = self.prefix_tokens() + self.pos_grid * self.pos_grid;
        shapes.push((names.pos_embed().into(), vec![1, positions, d]));
        shapes.push((format!("{}.weight", names.patch_embed()), vec![d, CHANNELS, self.patch, self.patch]));
        shapes.push((format!("{}.bias", names.patch_embed()), vec![d]));
        for i in 0..self.depth {
            shapes.extend(norm(names.block(i, "norm1")));
            match self.family {
                Family::DeiT => shapes.extend(linear(names.block(i, "attn.qkv"), 3 * d, d)),
                Family::Dinov2 => {
                    for part in ["query", "key", "value"] {
                        shapes.extend(linear(names.block(i, &format!("attention.attention.{part}")), d, d));
                    }
                }
            }
            shapes.extend(linear(names.attention_out(i), d, d));
            if let Some(scale) = names.layer_scale(i, 1) {
                shapes.push((scale, vec![d]));
            }
            shapes.extend(norm(names.block(i, "norm2")));
            shapes.extend(linear(names.block(i, "mlp.fc1"), hidden, d));
            shapes.extend(linear(names.block(i, "mlp.fc2"), d, hidden));
            if let Some(scale) = names.layer_scale(i, 2) {
                shapes.push((scale, vec![d]));
            }
        }
        shapes.extend(norm(names.final_norm().into()));
        if self.family == Family::DeiT {
            shapes.extend(linear("head".into(), HEAD_CLASSES, d));
            if self.distilled {
                shapes.extend(linear("head_dist".into(), HEAD_CLASSES, d));
            }
        }
        shapes
    }
}

/// Tensor names of one checkpoint layout (linear layers and norms are prefixes of `.weight` and `.bias`).
#[derive(Clone, Copy, Debug)]
pub struct Names(Family);

impl Names {
    /// The class token.
    pub fn cls_token(self) -> &'static str {
        match self.0 {
            Family::DeiT => "cls_token",
            Family::Dinov2 => "embeddings.cls_token",
        }
    }

    /// The position embeddings.
    pub fn pos_embed(self) -> &'static str {
        match self.0 {
            Family::DeiT => "pos_embed",
            Family::Dinov2 => "embeddings.position_embeddings",
        }
    }

    /// The patch projection (a convolution).
    pub fn patch_embed(self) -> &'static str {
        match self.0 {
            Family::DeiT => "patch_embed.proj",
            Family::Dinov2 => "embeddings.patch_embeddings.projection",
        }
    }

    /// `part` of block `i`.
    pub fn block(self, i: usize, part: &str) -> String {
        match self.0 {
            Family::DeiT => format!("blocks.{i}.{part}"),
            Family::Dinov2 => format!("encoder.layer.{i}.{part}"),
        }
    }

    /// The attention's output projection in block `i`.
    pub fn attention_out(self, i: usize) -> String {
        match self.0 {
            Family::DeiT => self.block(i, "attn.proj"),
            Family::Dinov2 => self.block(i, "attention.output.dense"),
        }
    }

    /// LayerScale of block `i`'s residual branch `branch` (1: attention, 2: MLP), if the layout has it.
    pub fn layer_scale(self, i: usize, branch: usize) -> Option<String> {
        (self.0 == Family::Dinov2).then(|| self.block(i, &format!("layer_scale{branch}.lambda1")))
    }

    /// The final norm.
    pub fn final_norm(self) -> &'static str {
        match self.0 {
            Family::DeiT => "norm",
            Family::Dinov2 => "layernorm",
        }
    }
}
