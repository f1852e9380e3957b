//! MedBlind's host side: the hospital and cloud roles on top of `medblind-core`.

pub mod commands;
pub mod device;
pub mod files;
pub mod keystore;
pub mod train;
