//! Vision-transformer feature extraction on CPU: DeiT (timm's layout) and DINOv2 (Hugging Face's layout) in one
//! forward pass, Pillow-exact preprocessing, batched and multi-threaded.

pub mod checkpoint;
pub mod config;
mod gemm;
pub mod layers;
pub mod model;
mod position;
pub mod preprocess;
#[cfg(test)]
mod reference;

pub use config::{Config, Family, MODELS, model};
pub use model::{Token, Vit, WeightsError};
