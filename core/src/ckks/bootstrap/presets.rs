//! Bootstrapping's named configurations, and the one place that decides from a parameter set where fresh levels
//! come from: bootstrapping where the set has a configuration, the key owner's re-encryption otherwise.

use super::BootstrapLiteral;
use crate::ckks::params::ParamsLiteral;
use crate::ckks::presets::{
    N65536_BOOT_ENCAPSULATION, N65536_BOOT_QP1762_S40, TEST_INSECURE_N4096_BOOT, TEST_INSECURE_N4096_BOOT_ENCAPSULATION,
};

/// Bootstrapping under [`N65536_BOOT_QP1762_S40`]: CoeffToSlot in 3 levels, a degree-47 cosine and 3 double
/// angles, SlotToCoeff in 3 levels; [`BootstrapLiteral::output_level`] levels are left.
pub const BOOTSTRAP_N65536: BootstrapLiteral = BootstrapLiteral {
    params: &N65536_BOOT_QP1762_S40,
    encapsulation: &N65536_BOOT_ENCAPSULATION,
    coeffs_to_slots_levels: 3,
    slots_to_coeffs_levels: 3,
    sine_degree: 47,
    double_angles: 3,
};

/// **Insecure, for tests only**: [`BOOTSTRAP_N65536`]'s configuration on [`TEST_INSECURE_N4096_BOOT`].
pub const TEST_INSECURE_BOOTSTRAP_N4096: BootstrapLiteral = BootstrapLiteral {
    params: &TEST_INSECURE_N4096_BOOT,
    encapsulation: &TEST_INSECURE_N4096_BOOT_ENCAPSULATION,
    ..BOOTSTRAP_N65536
};

/// Every bootstrapping configuration.
pub const BOOTSTRAPPING: &[&BootstrapLiteral] = &[&BOOTSTRAP_N65536, &TEST_INSECURE_BOOTSTRAP_N4096];

/// The bootstrapping configuration that runs under `params`, if any: when there is one the cloud refreshes
/// ciphertexts itself, otherwise the key owner does.
pub fn bootstrapping_for(params: &ParamsLiteral) -> Option<&'static BootstrapLiteral> {
    BOOTSTRAPPING.iter().find(|b| b.params == params).copied()
}

/// The level of a fresh ciphertext under `params` — where the key owner encrypts and a refresh lands:
/// bootstrapping's output level under a bootstrapping configuration (the levels above are bootstrapping's own),
/// the top level otherwise.
pub fn fresh_level(params: &ParamsLiteral) -> usize {
    bootstrapping_for(params).map_or(params.q.len() - 1, BootstrapLiteral::output_level)
}
