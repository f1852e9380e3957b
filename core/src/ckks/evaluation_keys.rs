//! The evaluation keys the cloud holds, as one set: relinearization, rotation and conjugation keys, and — when
//! the cloud bootstraps — the sparse-secret encapsulation's two switching keys. None of them reveals a secret.

use super::keys::{
    GaloisKey, KeySwitchKey, RelinearizationKey, conjugation_galois_element, find_galois_key, rotation_galois_element,
};
use crate::{Error, Result};
use alloc::vec::Vec;

/// Sorts `(Galois element, level)` pairs by element and keeps each element once, with its highest level: the
/// level its one key must be made for.
pub fn keep_highest_levels(levels: &mut Vec<(u64, usize)>) {
    levels.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    levels.dedup_by_key(|&mut (g, _)| g);
}

/// Every evaluation key of one secret key `s`.
#[derive(Debug)]
pub struct EvaluationKeys {
    /// Relinearization key of `s`.
    pub relinearization: RelinearizationKey<Vec<u64>>,
    /// Rotation and conjugation keys of `s`, at most one per Galois element.
    pub galois: Vec<GaloisKey<Vec<u64>>>,
    /// The encapsulation's switching keys: present exactly when these keys can bootstrap.
    pub encapsulation: Option<EncapsulationKeys>,
}

/// The switching keys of bootstrapping's sparse-secret encapsulation (made by
/// [`super::bootstrap::generate_encapsulation_keys`]).
#[derive(Debug)]
pub struct EncapsulationKeys {
    /// Switches `s → s'` modulo `q_0·p_0` (in the encapsulation parameters).
    pub to_sparse: KeySwitchKey<Vec<u64>>,
    /// Switches `s' → s` modulo `QP`.
    pub from_sparse: KeySwitchKey<Vec<u64>>,
}

impl EvaluationKeys {
    /// The memory these keys take, in 64-bit words.
    pub fn words(&self) -> usize {
        let words = |key: &KeySwitchKey<Vec<u64>>| key.data().len();
        let encapsulation = self.encapsulation.as_ref().map_or(0, |e| words(&e.to_sparse) + words(&e.from_sparse));
        words(&self.relinearization.0) + self.galois.iter().map(|g| words(&g.key)).sum::<usize>() + encapsulation
    }

    /// Whether these keys can bootstrap.
    pub fn bootstraps(&self) -> bool {
        self.encapsulation.is_some()
    }

    /// The encapsulation keys.
    ///
    /// # Errors
    /// [`Error::CannotBootstrap`] if these keys cannot bootstrap.
    pub fn encapsulation(&self) -> Result<&EncapsulationKeys> {
        self.encapsulation.as_ref().ok_or(Error::CannotBootstrap)
    }

    /// The key of a left rotation by `steps` slots (right for negative) at ring degree `degree`.
    ///
    /// # Errors
    /// [`Error::MissingGaloisKey`] if there is none.
    pub fn rotation(&self, degree: usize, steps: i64) -> Result<&GaloisKey<Vec<u64>>> {
        find_galois_key(&self.galois, rotation_galois_element(degree, steps))
    }

    /// The conjugation key at ring degree `degree`.
    ///
    /// # Errors
    /// [`Error::MissingGaloisKey`] if there is none.
    pub fn conjugation(&self, degree: usize) -> Result<&GaloisKey<Vec<u64>>> {
        find_galois_key(&self.galois, conjugation_galois_element(degree))
    }
}
