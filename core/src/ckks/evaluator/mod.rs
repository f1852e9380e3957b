//! Homomorphic operations on ciphertexts.
//!
//! Every operation checks levels, scales and slot counts and returns a typed error on a mismatch. The `*_with`
//! forms take a caller scratch buffer of [`Evaluator::scratch_words`] words and never allocate (the firmware
//! path); with the `alloc` feature the plain forms allocate their scratch.
//!
//! Scales: `mul_*` multiply scales; [`Evaluator::rescale_assign`] divides the scale by the dropped prime `q_l`
//! exactly; additions need scales equal up to a relative `2^-20`.
//!
//! This module holds the arithmetic (additions, plaintext and constant products, rescaling); `switching` the
//! operations that key-switch (relinearization, rotations, key switches), `owned` the allocating forms.

use super::ciphertext::{Ciphertext, Plaintext, plaintext_words};
use super::context::Context;
use super::params::MAX_MODULI;
use super::scratch::check_len;
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
        switching::words(self.ctx, level)
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
}

#[cfg(feature = "alloc")]
mod owned;
mod switching;
