//! MedBlind's host side: the hospital and cloud roles on top of `medblind-core`.

pub mod commands;
pub mod device;
pub mod download;
pub mod features;
pub mod files;
pub mod keystore;
pub mod medmnist;
pub mod output;
pub mod progress;
pub mod report;
pub mod train;
pub mod vit;
