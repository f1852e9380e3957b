//! The DeiT variants (Touvron et al., 2021) with timm's names, shapes and Hugging Face hub locations.

/// Input side in pixels.
pub const IMAGE: usize = 224;
/// Patch side in pixels.
pub const PATCH: usize = 16;
/// Patches per side.
pub const GRID: usize = IMAGE / PATCH;
/// Input channels.
pub const CHANNELS: usize = 3;
/// Values in one flattened patch (`channels × patch × patch`, the order of timm's convolution weight).
pub const PATCH_VALUES: usize = CHANNELS * PATCH * PATCH;
/// Hidden width of the MLP relative to the embedding.
pub const MLP_RATIO: usize = 4;
/// Layer-norm epsilon (timm's ViT).
pub const LN_EPS: f32 = 1e-6;
/// ImageNet-1k classes of the pretrained heads.
pub const HEAD_CLASSES: usize = 1000;

/// One DeiT architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// timm's model name, e.g. `deit_tiny_patch16_224`.
    pub name: &'static str,
    /// Token width `D`.
    pub embed_dim: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Attention heads (`D / heads` = 64 for every DeiT).
    pub heads: usize,
    /// Whether the model has a distillation token (`dist_token`, `head_dist`).
    pub distilled: bool,
}

/// Every supported variant.
pub const MODELS: &[Config] = &[
    Config { name: "deit_tiny_patch16_224", embed_dim: 192, depth: 12, heads: 3, distilled: false },
    Config { name: "deit_small_patch16_224", embed_dim: 384, depth: 12, heads: 6, distilled: false },
    Config { name: "deit_base_patch16_224", embed_dim: 768, depth: 12, heads: 12, distilled: false },
    Config { name: "deit_tiny_distilled_patch16_224", embed_dim: 192, depth: 12, heads: 3, distilled: true },
    Config { name: "deit_small_distilled_patch16_224", embed_dim: 384, depth: 12, heads: 6, distilled: true },
    Config { name: "deit_base_distilled_patch16_224", embed_dim: 768, depth: 12, heads: 12, distilled: true },
];

/// Looks a variant up by timm name, with or without the `_patch16_224` suffix (`deit_tiny` works).
pub fn model(name: &str) -> Option<Config> {
    MODELS.iter().copied().find(|m| m.name == name || m.name.strip_suffix("_patch16_224") == Some(name))
}

/// Comma-separated model names, for messages.
pub fn names() -> String {
    MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

impl Config {
    /// Tokens per image: class token, distillation token if any, then the patches.
    pub fn tokens(&self) -> usize {
        self.prefix_tokens() + GRID * GRID
    }

    /// Tokens before the patches (1, or 2 when distilled).
    pub fn prefix_tokens(&self) -> usize {
        1 + usize::from(self.distilled)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.heads
    }

    /// The Hugging Face hub repository with timm's ImageNet-1k weights.
    pub fn hub_repo(&self) -> String {
        format!("timm/{}.fb_in1k", self.name)
    }

    /// Every tensor of timm's checkpoint, in timm's order, with its shape.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let d = self.embed_dim;
        let hidden = MLP_RATIO * d;
        let mut shapes = vec![("cls_token".to_string(), vec![1, 1, d])];
        if self.distilled {
            shapes.push(("dist_token".into(), vec![1, 1, d]));
        }
        shapes.push(("pos_embed".into(), vec![1, self.tokens(), d]));
        shapes.push(("patch_embed.proj.weight".into(), vec![d, CHANNELS, PATCH, PATCH]));
        shapes.push(("patch_embed.proj.bias".into(), vec![d]));
        for i in 0..self.depth {
            let block = |name: &str, shape: Vec<usize>| (format!("blocks.{i}.{name}"), shape);
            shapes.extend([
                block("norm1.weight", vec![d]),
                block("norm1.bias", vec![d]),
                block("attn.qkv.weight", vec![3 * d, d]),
                block("attn.qkv.bias", vec![3 * d]),
                block("attn.proj.weight", vec![d, d]),
                block("attn.proj.bias", vec![d]),
                block("norm2.weight", vec![d]),
                block("norm2.bias", vec![d]),
                block("mlp.fc1.weight", vec![hidden, d]),
                block("mlp.fc1.bias", vec![hidden]),
                block("mlp.fc2.weight", vec![d, hidden]),
                block("mlp.fc2.bias", vec![d]),
            ]);
        }
        shapes.push(("norm.weight".into(), vec![d]));
        shapes.push(("norm.bias".into(), vec![d]));
        shapes.push(("head.weight".into(), vec![HEAD_CLASSES, d]));
        shapes.push(("head.bias".into(), vec![HEAD_CLASSES]));
        if self.distilled {
            shapes.push(("head_dist.weight".into(), vec![HEAD_CLASSES, d]));
            shapes.push(("head_dist.bias".into(), vec![HEAD_CLASSES]));
        }
        shapes
    }
}
