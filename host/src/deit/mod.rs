//! DeiT (data-efficient image transformers) feature extraction on CPU: timm's architecture and weight names,
//! Pillow-exact preprocessing, batched and multi-threaded.

pub mod checkpoint;
pub mod config;
pub mod layers;
pub mod model;
pub mod preprocess;
#[cfg(test)]
mod reference;

pub use config::{Config, MODELS, model};
pub use model::{DeiT, Token, WeightsError};
