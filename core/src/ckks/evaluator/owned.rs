//! The allocating forms of the evaluator's operations: one reusable scratch per evaluator, owned outputs.

use super::Evaluator;
use crate::Result;
use crate::ckks::ciphertext::{Ciphertext, plaintext_words};
use crate::ckks::keys::{GaloisKey, KeySwitchKey, RelinearizationKey, find_galois_key, rotation_galois_element};
use alloc::vec::Vec;

impl<T: AsRef<[u64]>> Evaluator<'_, T> {
    /// The reusable scratch, grown to at least the need at `level`.
    fn scratch(&self, level: usize) -> core::cell::RefMut<'_, Vec<u64>> {
        let mut scratch = self.scratch.borrow_mut();
        let words = self.scratch_words(level);
        if scratch.len() < words {
            scratch.resize(words, 0);
        }
        scratch
    }

    /// [`Self::rescale_assign_with`], allocating its scratch; shrinks the storage to the new level.
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`](crate::Error::LevelOutOfRange) at level 0.
    pub fn rescale_assign(&self, a: &mut Ciphertext<Vec<u64>>) -> Result<()> {
        self.rescale_assign_with(a, &mut self.scratch(0))?;
        let words = 2 * plaintext_words(self.ctx.degree(), a.level);
        a.data_mut().truncate(words);
        Ok(())
    }

    /// [`Self::mul_relin_assign_with`], allocating its scratch.
    ///
    /// # Errors
    /// On a level or slot mismatch.
    pub fn mul_relin_assign<K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<Vec<u64>>,
        b: &Ciphertext<Vec<u64>>,
        rlk: &RelinearizationKey<K>,
    ) -> Result<()> {
        let mut scratch = self.scratch(a.level);
        self.mul_relin_assign_with(a, b, rlk, &mut scratch)
    }

    /// [`Self::apply_galois_assign_with`], allocating its scratch.
    ///
    /// # Errors
    /// As the scratch form.
    pub fn apply_galois_assign<K: AsRef<[u64]>>(&self, a: &mut Ciphertext<Vec<u64>>, gk: &GaloisKey<K>) -> Result<()> {
        let mut scratch = self.scratch(a.level);
        self.apply_galois_assign_with(a, gk, &mut scratch)
    }

    /// [`Self::switch_key_assign_with`], allocating its scratch.
    ///
    /// # Errors
    /// As the scratch form.
    pub fn switch_key_assign<K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<Vec<u64>>,
        key: &KeySwitchKey<K>,
    ) -> Result<()> {
        let mut scratch = self.scratch(a.level);
        self.switch_key_assign_with(a, key, &mut scratch)
    }

    /// Hoisted rotations, allocating outputs and scratch.
    ///
    /// # Errors
    /// As the scratch form.
    pub fn rotate_hoisted<K: AsRef<[u64]>>(
        &self,
        a: &Ciphertext<Vec<u64>>,
        keys: &[&GaloisKey<K>],
    ) -> Result<Vec<Ciphertext<Vec<u64>>>> {
        let n = self.ctx.degree();
        let mut outs: Vec<_> = keys.iter().map(|_| Ciphertext::zero(n, a.level, a.scale, a.slots)).collect();
        let mut scratch = self.scratch(a.level);
        self.rotate_hoisted_with(a, keys, &mut outs, &mut scratch)?;
        Ok(outs)
    }

    /// [`Self::rotation_sum_assign_with`], allocating its scratch.
    ///
    /// # Errors
    /// As the scratch form.
    pub fn rotation_sum_assign<K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<Vec<u64>>,
        keys: &[&GaloisKey<K>],
    ) -> Result<()> {
        let mut scratch = self.scratch(a.level);
        self.rotation_sum_assign_with(a, keys, &mut scratch)
    }

    /// `a` with every slot replaced by the sum of all slots: `log2(slots)` rotations by powers of two.
    ///
    /// # Errors
    /// [`Error::MissingGaloisKey`](crate::Error::MissingGaloisKey) if a power-of-two rotation key is not in `keys`.
    pub fn sum_slots_assign<K: AsRef<[u64]>>(&self, a: &mut Ciphertext<Vec<u64>>, keys: &[GaloisKey<K>]) -> Result<()> {
        let mut scratch = self.scratch(a.level);
        let mut step = 1;
        while step < a.slots {
            let g = rotation_galois_element(self.ctx.degree(), step as i64);
            let key = find_galois_key(keys, g)?;
            let mut rotated = a.clone();
            self.apply_galois_assign_with(&mut rotated, key, &mut scratch)?;
            self.add_assign(a, &rotated)?;
            step <<= 1;
        }
        Ok(())
    }
}
