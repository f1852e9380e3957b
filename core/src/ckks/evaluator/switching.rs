//! The evaluator's key-switching operations: relinearization, automorphisms (rotations, conjugation), key
//! switches, hoisted rotations and rotation sums, each on one caller scratch carved by [`Scratch`].

use super::{Evaluator, scales_match};
use crate::ckks::ciphertext::{Ciphertext, plaintext_words};
use crate::ckks::context::Context;
use crate::ckks::keys::{GaloisKey, KeySwitchKey, RelinearizationKey};
use crate::ckks::keyswitch::{self, Buffers};
use crate::ckks::scratch::{Carve, check_len};
use crate::math::poly;
use crate::{Error, Result};

/// The scratch of one key-switching operation at one level, carved in field order from
/// [`Evaluator::scratch_words`] words.
struct Scratch<'a> {
    /// The polynomial to key-switch, then a staged `c_0` (`(l+1)·N` words).
    d: &'a mut [u64],
    /// The key switch's result `(k_0, k_1)` (`(l+1)·N` words each).
    k: [&'a mut [u64]; 2],
    /// Key switching's own buffers.
    ks: Buffers<'a>,
}

impl<'a> Scratch<'a> {
    /// Carves `scratch` for `level`.
    ///
    /// # Errors
    /// [`Error::BufferLength`] if `scratch` is shorter than [`Evaluator::scratch_words`].
    fn carve<T>(ctx: &Context<T>, level: usize, scratch: &'a mut [u64]) -> Result<Self> {
        check_len(words(ctx, level), scratch.len())?;
        let w = plaintext_words(ctx.degree(), level);
        let mut carve = Carve::new(scratch);
        Ok(Self { d: carve.take(w), k: [carve.take(w), carve.take(w)], ks: Buffers::carve(ctx, level, &mut carve) })
    }
}

/// Words of [`Scratch`] at `level`.
pub(super) fn words<T>(ctx: &Context<T>, level: usize) -> usize {
    3 * plaintext_words(ctx.degree(), level) + keyswitch::buffers_words(ctx, level)
}

impl<'c, T: AsRef<[u64]>> Evaluator<'c, T> {
    /// `a ·= b` then relinearizes: the scale becomes `Δ_a · Δ_b` (rescale afterwards).
    ///
    /// # Errors
    /// On a level or slot mismatch or a short scratch.
    pub fn mul_relin_assign_with<S: AsRef<[u64]> + AsMut<[u64]>, S2: AsRef<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        b: &Ciphertext<S2>,
        rlk: &RelinearizationKey<K>,
        scratch: &mut [u64],
    ) -> Result<()> {
        self.dot_relin_assign_with(a, b, &[], rlk, scratch)
    }

    /// `a = a·b + Σ c·d` over the pairs `(c, d)` of `more`, relinearized once: one key switch for the whole sum
    /// instead of one per product, with the noise of one. Every product must have the scale `Δ_a · Δ_b` (which
    /// `a` takes; rescale afterwards), the level and the slots of `a`.
    ///
    /// # Errors
    /// On a level, slot or scale mismatch or a short scratch.
    pub fn dot_relin_assign_with<S: AsRef<[u64]> + AsMut<[u64]>, S2: AsRef<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        b: &Ciphertext<S2>,
        more: &[(&Ciphertext<S2>, &Ciphertext<S2>)],
        rlk: &RelinearizationKey<K>,
        scratch: &mut [u64],
    ) -> Result<()> {
        for x in core::iter::once(b).chain(more.iter().flat_map(|(c, d)| [*c, *d])) {
            if a.level != x.level {
                return Err(Error::LevelMismatch { left: a.level, right: x.level });
            }
            if a.slots != x.slots {
                return Err(Error::SlotsMismatch { left: a.slots, right: x.slots });
            }
        }
        let scale = a.scale * b.scale;
        if more.iter().any(|(c, d)| !scales_match(c.scale * d.scale, scale)) {
            return Err(Error::ScaleMismatch);
        }
        rlk.0.check_level(a.level)?;
        let Scratch { d: d2, k: [k0, k1], mut ks } = Scratch::carve(self.ctx, a.level, scratch)?;
        let n = self.ctx.degree();
        let moduli = self.ctx.q_moduli(a.level);
        let (a0, a1) = a.parts_mut(n);
        let (b0, b1) = (b.c0(n), b.c1(n));
        d2.copy_from_slice(a1);
        poly::mul_assign(moduli, d2, b1);
        poly::mul_assign(moduli, a1, b0);
        poly::mul_add_assign(moduli, a1, a0, b1);
        poly::mul_assign(moduli, a0, b0);
        for (c, d) in more {
            let (c0, c1, d0, d1) = (c.c0(n), c.c1(n), d.c0(n), d.c1(n));
            poly::mul_add_assign(moduli, d2, c1, d1);
            poly::mul_add_assign(moduli, a1, c0, d1);
            poly::mul_add_assign(moduli, a1, c1, d0);
            poly::mul_add_assign(moduli, a0, c0, d0);
        }
        ks.decompose(self.ctx, a.level, d2);
        ks.switch(self.ctx, a.level, &rlk.0, None, [&mut *k0, &mut *k1])?;
        let (a0, a1) = a.parts_mut(n);
        poly::add_assign(moduli, a0, k0);
        poly::add_assign(moduli, a1, k1);
        a.scale = scale;
        Ok(())
    }

    /// Applies the automorphism of `gk` (a rotation or conjugation) to `a` in place.
    ///
    /// # Errors
    /// On a short scratch, or a key made for lower levels than `a`'s.
    pub fn apply_galois_assign_with<S: AsRef<[u64]> + AsMut<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        gk: &GaloisKey<K>,
        scratch: &mut [u64],
    ) -> Result<()> {
        self.switch_assign_with(a, &gk.key, Some(gk.galois_element), scratch)
    }

    /// Switches `a` from the key `key` was made from (`s'`) to the key it encrypts under (`s`): `a` then
    /// decrypts under `s` to what it decrypted to under `s'`, plus key-switching noise.
    ///
    /// # Errors
    /// On a short scratch, or a key made for lower levels than `a`'s.
    pub fn switch_key_assign_with<S: AsRef<[u64]> + AsMut<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        key: &KeySwitchKey<K>,
        scratch: &mut [u64],
    ) -> Result<()> {
        self.switch_assign_with(a, key, None, scratch)
    }

    /// `(c_0, c_1) ← (σ(c_0) + k_0, k_1)` with `(k_0, k_1)` the key switch of `σ(c_1)` (`σ` the automorphism of
    /// `galois_element`, or the identity).
    fn switch_assign_with<S: AsRef<[u64]> + AsMut<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        key: &KeySwitchKey<K>,
        galois_element: Option<u64>,
        scratch: &mut [u64],
    ) -> Result<()> {
        let Scratch { d, k: [k0, k1], mut ks } = Scratch::carve(self.ctx, a.level, scratch)?;
        let n = self.ctx.degree();
        let moduli = self.ctx.q_moduli(a.level);
        let log_n = self.ctx.log_degree();
        let permute = |input: &[u64], out: &mut [u64]| match galois_element {
            Some(g) => poly::automorphism_ntt(log_n, g, input, out),
            None => out.copy_from_slice(input),
        };
        permute(a.c1(n), d);
        ks.decompose(self.ctx, a.level, d);
        ks.switch(self.ctx, a.level, key, None, [&mut *k0, &mut *k1])?;
        // c_0 ← σ(c_0) + k_0 (σ(c_0) staged in d, which is free now), c_1 ← k_1.
        permute(a.c0(n), d);
        poly::add_assign(moduli, d, k0);
        let (c0, c1) = a.parts_mut(n);
        c0.copy_from_slice(d);
        c1.copy_from_slice(k1);
        Ok(())
    }

    /// Hoisted rotations: one decomposition of `a`'s `c_1`, then one automorphism and inner product per key.
    /// `outs[i]` receives `σ_{keys[i]}(a)` (each with storage for `a`'s level).
    ///
    /// # Errors
    /// On a short scratch or output, mismatched lengths, or a key made for lower levels than `a`'s.
    pub fn rotate_hoisted_with<S: AsRef<[u64]>, O: AsRef<[u64]> + AsMut<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &Ciphertext<S>,
        keys: &[&GaloisKey<K>],
        outs: &mut [Ciphertext<O>],
        scratch: &mut [u64],
    ) -> Result<()> {
        let Scratch { k: [k0, k1], mut ks, .. } = Scratch::carve(self.ctx, a.level, scratch)?;
        check_len(keys.len(), outs.len())?;
        let n = self.ctx.degree();
        let w = plaintext_words(n, a.level);
        let moduli = self.ctx.q_moduli(a.level);
        ks.decompose(self.ctx, a.level, a.c1(n));
        for (gk, out) in keys.iter().zip(outs.iter_mut()) {
            check_len(2 * w, out.data().as_ref().len())?;
            ks.switch(self.ctx, a.level, &gk.key, Some(gk.galois_element), [&mut *k0, &mut *k1])?;
            out.level = a.level;
            out.scale = a.scale;
            out.slots = a.slots;
            let (c0, c1) = out.parts_mut(n);
            poly::automorphism_ntt(self.ctx.log_degree(), gk.galois_element, a.c0(n), c0);
            poly::add_assign(moduli, c0, k0);
            c1.copy_from_slice(k1);
        }
        Ok(())
    }

    /// `a ← a + Σ_k σ_{keys[k]}(a)`, doubly hoisted: one decomposition of `a`'s `c_1` for all the rotations, their
    /// key-switching inner products summed over `Q_l ∪ P`, and one ModDown per part for the whole sum — the cost
    /// of about two rotations for any number of them (plus one inner product each), and the noise of one.
    ///
    /// # Errors
    /// On a short scratch, or a key made for lower levels than `a`'s.
    pub fn rotation_sum_assign_with<S: AsRef<[u64]> + AsMut<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        keys: &[&GaloisKey<K>],
        scratch: &mut [u64],
    ) -> Result<()> {
        let Scratch { d: c0_sum, k: [k0, k1], mut ks } = Scratch::carve(self.ctx, a.level, scratch)?;
        let (n, level) = (self.ctx.degree(), a.level);
        keys.iter().try_for_each(|gk| gk.key.check_level(level))?;
        let (moduli, wide_moduli) = (self.ctx.q_moduli(level), self.ctx.qp_moduli(level));
        ks.decompose(self.ctx, level, a.c1(n));
        // The key-switching scratch is free after the decomposition: it holds the two sums over Q_l ∪ P, and
        // the accumulators are ModDown's scratch at the end.
        let Buffers { digits, accs, permuted, scratch: sums } = ks;
        let wide = accs.len() / 2;
        let sums = &mut sums[..2 * wide];
        sums.fill(0);
        c0_sum.fill(0);
        for gk in keys {
            let (acc0, acc1) = accs.split_at_mut(wide);
            keyswitch::inner_product(self.ctx, level, digits, &gk.key, Some(gk.galois_element), [acc0, acc1], permuted);
            let (sum0, sum1) = sums.split_at_mut(wide);
            poly::add_assign(&wide_moduli, sum0, &accs[..wide]);
            poly::add_assign(&wide_moduli, sum1, &accs[wide..]);
            poly::automorphism_ntt(self.ctx.log_degree(), gk.galois_element, a.c0(n), k0);
            poly::add_assign(moduli, c0_sum, k0);
        }
        let (sum0, sum1) = sums.split_at_mut(wide);
        keyswitch::mod_down(self.ctx, level, sum0, k0, accs);
        keyswitch::mod_down(self.ctx, level, sum1, k1, accs);
        poly::add_assign(moduli, c0_sum, k0);
        let (c0, c1) = a.parts_mut(n);
        poly::add_assign(moduli, c0, c0_sum);
        poly::add_assign(moduli, c1, k1);
        Ok(())
    }
}
