//! Homomorphic operations on ciphertexts.
//!
//! Every operation checks levels, scales and slot counts and returns a typed error on a mismatch. The `*_with`
//! forms take a caller scratch buffer of [`Evaluator::scratch_words`] words and never allocate (the firmware
//! path); with the `alloc` feature the plain forms allocate their scratch.
//!
//! Scales: `mul_*` multiply scales; [`Evaluator::rescale_assign`] divides the scale by the dropped prime `q_l`
//! exactly; additions need scales equal up to a relative `2^-20`.

use super::ciphertext::{Ciphertext, Plaintext, plaintext_words};
use super::context::Context;
use super::keys::{GaloisKey, KeySwitchKey, RelinearizationKey};
use super::keyswitch;
use super::params::MAX_MODULI;
use crate::math::{poly, rns};
use crate::{Error, Result};

/// Largest relative difference of two scales that still counts as equal.
pub const SCALE_TOLERANCE: f64 = 1.0 / (1u64 << 20) as f64;

/// Evaluates homomorphic operations under one context.
///
/// With `alloc`, the allocating forms reuse one scratch buffer that grows to the largest need (about 170 MB at
/// N = 2^16 and 31 primes), so an evaluator is meant for one thread; create one per thread, they are cheap.
#[derive(Debug, Clone)]
pub struct Evaluator<'c, T> {
    ctx: &'c Context<T>,
    #[cfg(feature = "alloc")]
    scratch: core::cell::RefCell<alloc::vec::Vec<u64>>,
}

fn check_len(expected: usize, actual: usize) -> Result<()> {
    if actual < expected { Err(Error::BufferLength { expected, actual }) } else { Ok(()) }
}

fn scales_match(a: f64, b: f64) -> bool {
    libm::fabs(a / b - 1.0) <= SCALE_TOLERANCE
}

impl<'c, T: AsRef<[u64]>> Evaluator<'c, T> {
    /// An evaluator for `ctx`.
    pub fn new(ctx: &'c Context<T>) -> Self {
        Self {
            ctx,
            #[cfg(feature = "alloc")]
            scratch: core::cell::RefCell::new(alloc::vec::Vec::new()),
        }
    }

    /// The context.
    pub fn context(&self) -> &'c Context<T> {
        self.ctx
    }

    /// Scratch words any operation needs at `level` (key switching dominates).
    pub fn scratch_words(&self, level: usize) -> usize {
        let ctx = self.ctx;
        let wide = (level + 1 + ctx.params().p().len()) * ctx.degree();
        // Three plaintext-sized buffers (d, k_0, k_1), the digits, two accumulators, the permuted digits, and
        // the decomposition / ModDown scratch.
        3 * plaintext_words(ctx.degree(), level)
            + 2 * keyswitch::digits_words(ctx, level)
            + 2 * wide
            + keyswitch::scratch_words(ctx, level)
    }

    fn check_binary<A, B>(a: &Ciphertext<A>, b_level: usize, b_scale: f64, b_slots: usize) -> Result<()> {
        if a.level != b_level {
            return Err(Error::LevelMismatch { left: a.level, right: b_level });
        }
        if !scales_match(a.scale, b_scale) {
            return Err(Error::ScaleMismatch);
        }
        if a.slots != b_slots {
            return Err(Error::SlotsMismatch { left: a.slots, right: b_slots });
        }
        let _ = core::marker::PhantomData::<B>;
        Ok(())
    }

    /// A plaintext can multiply `a`: at `a`'s level or above, with `a`'s slot count.
    fn check_plain<S, P>(a: &Ciphertext<S>, pt: &Plaintext<P>) -> Result<()> {
        if pt.level < a.level {
            return Err(Error::LevelMismatch { left: a.level, right: pt.level });
        }
        if pt.slots != a.slots {
            return Err(Error::SlotsMismatch { left: a.slots, right: pt.slots });
        }
        Ok(())
    }

    fn binary<S: AsRef<[u64]> + AsMut<[u64]>, S2: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        b: &Ciphertext<S2>,
        op: fn(&[crate::math::zq::Modulus], &mut [u64], &[u64]),
    ) -> Result<()> {
        Self::check_binary::<S, S2>(a, b.level, b.scale, b.slots)?;
        let n = self.ctx.degree();
        let moduli = self.ctx.q_moduli(a.level);
        let (c0, c1) = a.parts_mut(n);
        op(moduli, c0, b.c0(n));
        op(moduli, c1, b.c1(n));
        Ok(())
    }

    /// `a += b`.
    ///
    /// # Errors
    /// On a level, scale or slot mismatch.
    pub fn add_assign<S: AsRef<[u64]> + AsMut<[u64]>, S2: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        b: &Ciphertext<S2>,
    ) -> Result<()> {
        self.binary(a, b, poly::add_assign)
    }

    /// `a -= b`.
    ///
    /// # Errors
    /// On a level, scale or slot mismatch.
    pub fn sub_assign<S: AsRef<[u64]> + AsMut<[u64]>, S2: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        b: &Ciphertext<S2>,
    ) -> Result<()> {
        self.binary(a, b, poly::sub_assign)
    }

    /// `a = -a`.
    pub fn neg_assign<S: AsRef<[u64]> + AsMut<[u64]>>(&self, a: &mut Ciphertext<S>) {
        let n = self.ctx.degree();
        let moduli = self.ctx.q_moduli(a.level);
        let (c0, c1) = a.parts_mut(n);
        poly::neg_assign(moduli, c0);
        poly::neg_assign(moduli, c1);
    }

    /// `a += pt` (the plaintext may be at a higher level; its first limbs are used).
    ///
    /// # Errors
    /// If the plaintext's level is below the ciphertext's, or on a scale or slot mismatch.
    pub fn add_plain_assign<S: AsRef<[u64]> + AsMut<[u64]>, P: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        pt: &Plaintext<P>,
    ) -> Result<()> {
        if pt.level < a.level {
            return Err(Error::LevelMismatch { left: a.level, right: pt.level });
        }
        Self::check_binary::<S, P>(a, a.level, pt.scale, pt.slots)?;
        let n = self.ctx.degree();
        let w = plaintext_words(n, a.level);
        let moduli = self.ctx.q_moduli(a.level);
        poly::add_assign(moduli, a.parts_mut(n).0, &pt.limbs(n)[..w]);
        Ok(())
    }

    /// `a ·= pt`; the scale becomes `Δ_a · Δ_pt`.
    ///
    /// # Errors
    /// If the plaintext's level is below the ciphertext's, or on a slot mismatch.
    pub fn mul_plain_assign<S: AsRef<[u64]> + AsMut<[u64]>, P: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        pt: &Plaintext<P>,
    ) -> Result<()> {
        Self::check_plain(a, pt)?;
        let n = self.ctx.degree();
        let w = plaintext_words(n, a.level);
        let moduli = self.ctx.q_moduli(a.level);
        let (c0, c1) = a.parts_mut(n);
        poly::mul_assign(moduli, c0, &pt.limbs(n)[..w]);
        poly::mul_assign(moduli, c1, &pt.limbs(n)[..w]);
        a.scale *= pt.scale;
        Ok(())
    }

    /// `acc += a · pt` without a temporary; `acc` must be at `a`'s level with scale `Δ_a · Δ_pt`.
    ///
    /// # Errors
    /// On a level, scale or slot mismatch, or a plaintext below `a`'s level.
    pub fn mul_plain_add_assign<S: AsRef<[u64]> + AsMut<[u64]>, S2: AsRef<[u64]>, P: AsRef<[u64]>>(
        &self,
        acc: &mut Ciphertext<S>,
        a: &Ciphertext<S2>,
        pt: &Plaintext<P>,
    ) -> Result<()> {
        Self::check_binary::<S, S2>(acc, a.level, a.scale * pt.scale, a.slots)?;
        Self::check_plain(a, pt)?;
        let n = self.ctx.degree();
        let w = plaintext_words(n, a.level);
        let moduli = self.ctx.q_moduli(a.level);
        let (c0, c1) = acc.parts_mut(n);
        poly::mul_add_assign(moduli, c0, a.c0(n), &pt.limbs(n)[..w]);
        poly::mul_add_assign(moduli, c1, a.c1(n), &pt.limbs(n)[..w]);
        Ok(())
    }

    /// `a ·= round(value · const_scale)` in every slot; the scale becomes `Δ_a · const_scale`.
    /// With `const_scale = 1` and an integral `value` the product is exact.
    pub fn mul_const_assign<S: AsRef<[u64]> + AsMut<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        value: f64,
        const_scale: f64,
    ) {
        let n = self.ctx.degree();
        let moduli = self.ctx.q_moduli(a.level);
        let integer = libm::round(value * const_scale);
        let scalars: heapless::Vec<u64, { MAX_MODULI }> = moduli.iter().map(|m| rns::reduce_f64(m, integer)).collect();
        let (c0, c1) = a.parts_mut(n);
        poly::mul_scalar_assign(moduli, c0, &scalars);
        poly::mul_scalar_assign(moduli, c1, &scalars);
        a.scale *= const_scale;
    }

    /// `acc += round(value · const_scale) · a` in every slot, reading `a` (at `acc`'s level or above) in place:
    /// its limbs above `acc`'s level are left out, no copy. `Δ_a · const_scale` must be `Δ_acc`.
    ///
    /// # Errors
    /// On a level, slot or scale mismatch.
    pub fn mul_const_add_assign<S: AsRef<[u64]> + AsMut<[u64]>, S2: AsRef<[u64]>>(
        &self,
        acc: &mut Ciphertext<S>,
        a: &Ciphertext<S2>,
        value: f64,
        const_scale: f64,
    ) -> Result<()> {
        if a.level < acc.level {
            return Err(Error::LevelMismatch { left: acc.level, right: a.level });
        }
        if a.slots != acc.slots {
            return Err(Error::SlotsMismatch { left: acc.slots, right: a.slots });
        }
        if !scales_match(a.scale * const_scale, acc.scale) {
            return Err(Error::ScaleMismatch);
        }
        let n = self.ctx.degree();
        let moduli = self.ctx.q_moduli(acc.level);
        let integer = libm::round(value * const_scale);
        let scalars: heapless::Vec<u64, { MAX_MODULI }> = moduli.iter().map(|m| rns::reduce_f64(m, integer)).collect();
        let w = plaintext_words(n, acc.level);
        let (a0, a1) = (&a.c0(n)[..w], &a.c1(n)[..w]);
        let (c0, c1) = acc.parts_mut(n);
        poly::mul_scalar_add_assign(moduli, c0, a0, &scalars);
        poly::mul_scalar_add_assign(moduli, c1, a1, &scalars);
        Ok(())
    }

    /// `a += value` in every slot (rounded to a multiple of `1/Δ_a`).
    pub fn add_const_assign<S: AsRef<[u64]> + AsMut<[u64]>>(&self, a: &mut Ciphertext<S>, value: f64) {
        let n = self.ctx.degree();
        let moduli = self.ctx.q_moduli(a.level);
        let integer = libm::round(value * a.scale);
        // A constant polynomial evaluates to the same constant at every NTT point.
        let c0 = a.parts_mut(n).0;
        for (m, limb) in moduli.iter().zip(c0.chunks_exact_mut(n)) {
            let k = rns::reduce_f64(m, integer);
            limb.iter_mut().for_each(|x| *x = m.add(*x, k));
        }
    }

    /// Drops `levels` primes from the top without dividing (the scale is unchanged).
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`] if fewer than `levels` levels are left.
    pub fn drop_level_assign<S: AsRef<[u64]> + AsMut<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        levels: usize,
    ) -> Result<()> {
        if levels > a.level {
            return Err(Error::LevelOutOfRange { level: levels, max: a.level });
        }
        let n = self.ctx.degree();
        let (old, new) = (plaintext_words(n, a.level), plaintext_words(n, a.level - levels));
        a.data_mut().as_mut().copy_within(old..old + new, new);
        a.level -= levels;
        Ok(())
    }

    /// Divides by the top prime `q_l` (with rounding) and drops it: level `l → l - 1`, scale `Δ → Δ / q_l`.
    /// `scratch` holds at least `2N` words.
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`] at level 0; [`Error::BufferLength`] for a short scratch.
    pub fn rescale_assign_with<S: AsRef<[u64]> + AsMut<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        scratch: &mut [u64],
    ) -> Result<()> {
        if a.level == 0 {
            return Err(Error::LevelOutOfRange { level: 1, max: 0 });
        }
        let n = self.ctx.degree();
        check_len(2 * n, scratch.len())?;
        let l = a.level;
        let moduli = self.ctx.q_moduli(l);
        let tables = poly::views(&self.ctx.q_tables(l));
        let q_last = moduli[l];
        let (last, converted) = scratch.split_at_mut(n);
        let old = plaintext_words(n, l);
        for part in 0..2 {
            let data = &mut a.data_mut().as_mut()[part * old..(part + 1) * old];
            let (lower, top) = data.split_at_mut(l * n);
            last.copy_from_slice(top);
            tables[l].inverse(last);
            let last = &*last;
            let half = q_last.value() / 2;
            crate::parallel::for_each_limb_with(lower, n, converted, n, |i, limb, converted| {
                let converted = &mut converted[..n];
                let qi = moduli[i];
                // The centered residue of the last limb (x - q_l when x > q_l/2), reduced mod q_i, branch-free:
                // dividing by q_l then rounds to nearest.
                if q_last.value() / 2 < qi.value() {
                    // Then the centered residue already lies in (-q_i, q_i): one conditional add of q_i.
                    let shift = qi.value().wrapping_sub(q_last.value());
                    for (c, &x) in converted.iter_mut().zip(last) {
                        *c = x.wrapping_add(shift & ((x > half) as u64).wrapping_neg());
                    }
                } else {
                    let minus_q_last = qi.neg(qi.reduce(q_last.value()));
                    for (c, &x) in converted.iter_mut().zip(last) {
                        *c = qi.add(qi.reduce(x), minus_q_last & ((x > half) as u64).wrapping_neg());
                    }
                }
                tables[i].forward(converted);
                let inv = qi.inv(q_last.value()).unwrap_or(0);
                let inv_shoup = qi.shoup(inv);
                // (x - c) / q_l, with x + q_i - c < 2 q_i as mul_shoup's operand.
                for (x, &c) in limb.iter_mut().zip(converted.iter()) {
                    *x = qi.mul_shoup(*x + qi.value() - c, inv, inv_shoup);
                }
            });
        }
        // Move c_1 down to follow c_0's l limbs.
        let new = plaintext_words(n, l - 1);
        a.data_mut().as_mut().copy_within(old..old + new, new);
        a.level -= 1;
        a.scale /= q_last.value() as f64;
        Ok(())
    }

    /// Key-switches `d` (`(l+1)·N` words at `level`, NTT domain) with `key`, writing `(k_0, k_1)`; `work` holds
    /// the digits, accumulators and their scratch. With `galois_element`, `d`'s digits are permuted first
    /// (only meaningful through [`Self::rotate_hoisted_with`]).
    #[allow(clippy::too_many_arguments)]
    fn key_switch<K: AsRef<[u64]>>(
        &self,
        level: usize,
        digits_ready: bool,
        d: &[u64],
        key: &KeySwitchKey<K>,
        galois_element: Option<u64>,
        k0: &mut [u64],
        k1: &mut [u64],
        work: &mut [u64],
    ) {
        let ctx = self.ctx;
        let wide = (level + 1 + ctx.params().p().len()) * ctx.degree();
        let (digits, rest) = work.split_at_mut(keyswitch::digits_words(ctx, level));
        let (acc0, rest) = rest.split_at_mut(wide);
        let (acc1, rest) = rest.split_at_mut(wide);
        let (tmp, rest) = rest.split_at_mut(keyswitch::digits_words(ctx, level));
        if !digits_ready {
            keyswitch::decompose(ctx, level, d, digits, rest);
        }
        keyswitch::inner_product(ctx, level, digits, key, galois_element, acc0, acc1, tmp);
        keyswitch::mod_down(ctx, level, acc0, k0, rest);
        keyswitch::mod_down(ctx, level, acc1, k1, rest);
    }

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
        check_len(self.scratch_words(a.level), scratch.len())?;
        let n = self.ctx.degree();
        let w = plaintext_words(n, a.level);
        let moduli = self.ctx.q_moduli(a.level);
        let (d2, rest) = scratch.split_at_mut(w);
        let (k0, rest) = rest.split_at_mut(w);
        let (k1, work) = rest.split_at_mut(w);
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
        self.key_switch(a.level, false, d2, &rlk.0, None, k0, k1, work);
        let (a0, a1) = a.parts_mut(n);
        poly::add_assign(moduli, a0, k0);
        poly::add_assign(moduli, a1, k1);
        a.scale = scale;
        Ok(())
    }

    /// Applies the automorphism of `gk` (a rotation or conjugation) to `a` in place.
    ///
    /// # Errors
    /// On a short scratch.
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
    /// On a short scratch.
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
        check_len(self.scratch_words(a.level), scratch.len())?;
        let n = self.ctx.degree();
        let w = plaintext_words(n, a.level);
        let moduli = self.ctx.q_moduli(a.level);
        let (d, rest) = scratch.split_at_mut(w);
        let (k0, rest) = rest.split_at_mut(w);
        let (k1, work) = rest.split_at_mut(w);
        let log_n = self.ctx.log_degree();
        let permute = |input: &[u64], out: &mut [u64]| match galois_element {
            Some(g) => poly::automorphism_ntt(log_n, g, input, out),
            None => out.copy_from_slice(input),
        };
        permute(a.c1(n), d);
        self.key_switch(a.level, false, d, key, None, k0, k1, work);
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
    /// On a short scratch or output, or mismatched lengths.
    pub fn rotate_hoisted_with<S: AsRef<[u64]>, O: AsRef<[u64]> + AsMut<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &Ciphertext<S>,
        keys: &[&GaloisKey<K>],
        outs: &mut [Ciphertext<O>],
        scratch: &mut [u64],
    ) -> Result<()> {
        check_len(self.scratch_words(a.level), scratch.len())?;
        check_len(keys.len(), outs.len())?;
        let n = self.ctx.degree();
        let w = plaintext_words(n, a.level);
        let moduli = self.ctx.q_moduli(a.level);
        let (_, rest) = scratch.split_at_mut(w);
        let (k0, rest) = rest.split_at_mut(w);
        let (k1, work) = rest.split_at_mut(w);
        {
            let wide = (a.level + 1 + self.ctx.params().p().len()) * n;
            let digits_words = keyswitch::digits_words(self.ctx, a.level);
            let (digits, rest) = work.split_at_mut(digits_words);
            keyswitch::decompose(self.ctx, a.level, a.c1(n), digits, &mut rest[2 * wide + digits_words..]);
        }
        for (gk, out) in keys.iter().zip(outs.iter_mut()) {
            check_len(2 * w, out.data().as_ref().len())?;
            self.key_switch(a.level, true, &[], &gk.key, Some(gk.galois_element), k0, k1, work);
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
    /// On a short scratch.
    pub fn rotation_sum_assign_with<S: AsRef<[u64]> + AsMut<[u64]>, K: AsRef<[u64]>>(
        &self,
        a: &mut Ciphertext<S>,
        keys: &[&GaloisKey<K>],
        scratch: &mut [u64],
    ) -> Result<()> {
        check_len(self.scratch_words(a.level), scratch.len())?;
        let (n, level) = (self.ctx.degree(), a.level);
        let w = plaintext_words(n, level);
        let wide = (level + 1 + self.ctx.params().p().len()) * n;
        let digits_words = keyswitch::digits_words(self.ctx, level);
        let (moduli, wide_moduli) = (self.ctx.q_moduli(level), self.ctx.qp_moduli(level));
        let (c0_sum, rest) = scratch.split_at_mut(w);
        let (k0, rest) = rest.split_at_mut(w);
        let (k1, rest) = rest.split_at_mut(w);
        let (digits, rest) = rest.split_at_mut(digits_words);
        let (accs, rest) = rest.split_at_mut(2 * wide);
        let (tmp, sums) = rest.split_at_mut(digits_words);
        let sums = &mut sums[..2 * wide];
        keyswitch::decompose(self.ctx, level, a.c1(n), digits, sums);
        sums.fill(0);
        c0_sum.fill(0);
        for gk in keys {
            let (acc0, acc1) = accs.split_at_mut(wide);
            keyswitch::inner_product(self.ctx, level, digits, &gk.key, Some(gk.galois_element), acc0, acc1, tmp);
            let (sum0, sum1) = sums.split_at_mut(wide);
            poly::add_assign(&wide_moduli, sum0, acc0);
            poly::add_assign(&wide_moduli, sum1, acc1);
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

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
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
        /// [`Error::LevelOutOfRange`] at level 0.
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
        pub fn apply_galois_assign<K: AsRef<[u64]>>(
            &self,
            a: &mut Ciphertext<Vec<u64>>,
            gk: &GaloisKey<K>,
        ) -> Result<()> {
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
        /// [`Error::MissingGaloisKey`] if a power-of-two rotation key is not in `keys`.
        pub fn sum_slots_assign<K: AsRef<[u64]>>(
            &self,
            a: &mut Ciphertext<Vec<u64>>,
            keys: &[GaloisKey<K>],
        ) -> Result<()> {
            let mut scratch = self.scratch(a.level);
            let mut step = 1;
            while step < a.slots {
                let g = super::super::keys::rotation_galois_element(self.ctx.degree(), step as i64);
                let key = super::super::keys::find_galois_key(keys, g)?;
                let mut rotated = a.clone();
                self.apply_galois_assign_with(&mut rotated, key, &mut scratch)?;
                self.add_assign(a, &rotated)?;
                step <<= 1;
            }
            Ok(())
        }
    }
}
