//! The `medblind` commands: one module per command, each holding its clap arguments (`Args`) beside its handler
//! (`Args::run`), and a few argument groups and helpers that several commands share.
//!
//! The modules are flat rather than grouped by role, because roles do not partition the commands: `encrypt` serves
//! the hospital and a device, `params`, `compare` and `demo` play both parties in one process, and `data`,
//! `extract` and `weights` prepare inputs. Each command's `--help` names its role; by role, they are:
//! - hospital (key owner): [`keygen`], [`encrypt`], [`decrypt`], [`device`], [`encrypt_features`], [`refresh`],
//!   [`evaluate`];
//! - cloud (evaluation keys only, never a secret key): [`infer`], [`train`], [`predict`];
//! - data: [`data`], [`extract`], [`weights`];
//! - both parties in one process: [`compare`], [`demo`]; and [`params`], the presets.
//!
//! Shared: [`preset`] (`--preset`, parsed once by clap), [`schedule`] (the training options), [`source`] (the images
//! and the ViT of `extract` and `demo`), [`head`] (a plaintext linear head), and the parties' views of a batch
//! folder (`parties`).

pub mod compare;
pub mod data;
pub mod decrypt;
pub mod demo;
pub mod device;
pub mod encrypt;
pub mod encrypt_features;
pub mod evaluate;
pub mod extract;
pub mod head;
pub mod infer;
pub mod keygen;
pub mod params;
mod parties;
pub mod predict;
pub mod preset;
pub mod refresh;
pub mod schedule;
pub mod source;
pub mod train;
pub mod weights;
