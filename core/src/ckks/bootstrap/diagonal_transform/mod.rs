//! Slot-domain linear transforms in diagonal form, and their homomorphic evaluation by baby-step giant-step.
//!
//! A [`DiagonalMatrix`] on `n` slots is `M = Σ_a diag(d_a) · R^a`, with `(R^a x)_t = x_{(t+a) mod n}` the left
//! rotation by `a` and `d_a` the `a`-th generalized diagonal (`d_a[t] = M[t][(t+a) mod n]`). Only the non-zero
//! diagonals are stored, so the butterfly stages of an FFT (three diagonals each) and their products (a few
//! dozen) stay small.
//!
//! [`LinearTransform`] evaluates such a matrix on a ciphertext (Halevi–Shoup, with the baby-step giant-step
//! split of Han–Ki / Lattigo's `lintrans`): writing every rotation as `a = G·i + j` with `0 ≤ j < G`,
//! `M x = Σ_i R^{G·i}( Σ_j rot(d_{G·i+j}, −G·i) ⊙ R^j x )`. Double hoisting: the baby rotations `R^j x` share
//! one key-switching decomposition and stay over `Q_l ∪ P` (no ModDown), the diagonals (encoded over `Q_l ∪ P`)
//! multiply them there, each giant step costs one decomposition, and one ModDown ends the sum. One plaintext
//! product per diagonal, one level (the caller rescales).
//!
//! Bootstrapping's CoeffToSlot and SlotToCoeff are its only users: owned ciphertexts (`alloc`), any sparse
//! complex matrix, the baby steps kept over `Q_l ∪ P`. The device's `W·x + b` on caller buffers (`no_std`), with
//! a real dense matrix and a folding step, is [`LinearLayer`](crate::ckks::linear_layer::LinearLayer).

use crate::ckks::ciphertext::Ciphertext;
use crate::ckks::context::Context;
use crate::ckks::encoder::Encoder;
use crate::ckks::evaluator::Evaluator;
use crate::ckks::keys::{GaloisKey, find_galois_key, rotation_galois_element};
use crate::ckks::keyswitch;
use crate::math::complex::Complex;
use crate::math::poly;
use crate::math::zq::Modulus;
use crate::{Error, Result};
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

/// A sparse-in-diagonals complex matrix on `slots` slots (a power of two).
#[derive(Debug, Clone, PartialEq)]
pub struct DiagonalMatrix {
    slots: usize,
    /// Rotation `a ∈ [0, slots)` ↦ the diagonal `d_a` (`slots` entries); no all-zero diagonal is kept.
    diagonals: BTreeMap<usize, Vec<Complex>>,
}

/// `v` rotated left by `a`: `out[t] = v[(t + a) mod n]`.
fn rotated(v: &[Complex], a: usize) -> impl Iterator<Item = Complex> + '_ {
    let a = a % v.len();
    v[a..].iter().chain(&v[..a]).copied()
}

/// `a` as a signed rotation in `(-n/2, n/2]`.
fn signed(a: usize, n: usize) -> i64 {
    if a > n / 2 { a as i64 - n as i64 } else { a as i64 }
}

impl DiagonalMatrix {
    /// The zero matrix.
    pub fn zero(slots: usize) -> Self {
        Self { slots, diagonals: BTreeMap::new() }
    }

    /// `diag(d)`.
    pub fn diagonal(d: Vec<Complex>) -> Self {
        let mut m = Self::zero(d.len());
        m.add_diagonal(0, d);
        m
    }

    /// `M += diag(d) · R^a`.
    ///
    /// # Panics
    /// If `d` does not have `slots` entries.
    pub fn add_diagonal(&mut self, a: usize, d: Vec<Complex>) {
        assert_eq!(d.len(), self.slots, "a diagonal has one entry per slot");
        let a = a % self.slots;
        match self.diagonals.get_mut(&a) {
            Some(existing) => existing.iter_mut().zip(d).for_each(|(x, y)| *x += y),
            None => {
                self.diagonals.insert(a, d);
            }
        }
        if self.diagonals[&a].iter().all(|x| *x == Complex::ZERO) {
            self.diagonals.remove(&a);
        }
    }

    /// The slot count.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The rotations with a non-zero diagonal, in `[0, slots)`.
    pub fn rotations(&self) -> impl Iterator<Item = usize> + '_ {
        self.diagonals.keys().copied()
    }

    /// `M x` (the reference the homomorphic evaluation is tested against).
    pub fn apply(&self, x: &[Complex]) -> Vec<Complex> {
        let mut out = vec![Complex::ZERO; self.slots];
        for (&a, d) in &self.diagonals {
            for ((o, &dt), xt) in out.iter_mut().zip(d).zip(rotated(x, a)) {
                *o += dt * xt;
            }
        }
        out
    }

    /// `self · other` (apply `other` first): `Σ_{a,b} diag(d_a ⊙ rot(e_b, a)) R^{a+b}`.
    ///
    /// # Panics
    /// If the slot counts differ.
    pub fn compose(&self, other: &Self) -> Self {
        assert_eq!(self.slots, other.slots, "composed matrices act on the same slots");
        let mut out = Self::zero(self.slots);
        for (&a, d) in &self.diagonals {
            for (&b, e) in &other.diagonals {
                let product = d.iter().zip(rotated(e, a)).map(|(&x, y)| x * y).collect();
                out.add_diagonal(a + b, product);
            }
        }
        out
    }

    /// The same matrix on `factor·slots` slots for vectors that repeat with period `slots` (a sparse packing
    /// seen as a denser one): diagonals are tiled and each rotation keeps its signed value.
    pub fn tiled(&self, factor: usize) -> Self {
        let wide = self.slots * factor;
        let mut out = Self::zero(wide);
        for (&a, d) in &self.diagonals {
            let a = signed(a, self.slots).rem_euclid(wide as i64) as usize;
            out.add_diagonal(a, d.iter().copied().cycle().take(wide).collect());
        }
        out
    }

    /// The non-zero rotations a [`LinearTransform`] of this matrix evaluates with (babies, then giants).
    pub fn evaluation_rotations(&self) -> Vec<i64> {
        let (giant_step, babies) = self.split();
        let mut giants: Vec<i64> = self.rotations().map(|a| decompose(a, self.slots, giant_step).0).collect();
        giants.sort_unstable();
        giants.dedup();
        babies.iter().map(|&j| j as i64).chain(giants).filter(|&r| r != 0).collect()
    }

    /// The giant step `G` (a power of two) minimizing baby plus giant rotations, and the babies it needs.
    fn split(&self) -> (usize, Vec<usize>) {
        let split_with = |g: usize| {
            let (mut babies, mut giants) = (Vec::new(), Vec::new());
            for a in self.rotations() {
                let (giant, baby) = decompose(a, self.slots, g);
                if !babies.contains(&baby) {
                    babies.push(baby);
                }
                if !giants.contains(&giant) {
                    giants.push(giant);
                }
            }
            (babies, giants.len())
        };
        let mut best = (1, split_with(1));
        let mut g = 2;
        while g <= self.slots {
            let candidate = split_with(g);
            if candidate.0.len() + candidate.1 < best.1.0.len() + best.1.1 {
                best = (g, candidate);
            }
            g *= 2;
        }
        let (g, (mut babies, _)) = best;
        babies.sort_unstable();
        (g, babies)
    }
}

/// Rotation `a` (of `n`) as giant rotation `G·i` plus baby `j ∈ [0, G)`, with `a` taken signed in `(-n/2, n/2]`.
fn decompose(a: usize, n: usize, giant_step: usize) -> (i64, usize) {
    let (a, g) = (signed(a, n), giant_step as i64);
    (a.div_euclid(g) * g, a.rem_euclid(g) as usize)
}

/// The plaintexts of one giant step: `(j, rot(d_{G·i+j}, −G·i))` for each baby `j` present, in the NTT domain
/// over `Q_l ∪ P` (`(l + 1 + K)·N` words), where the baby rotations live.
type GiantStep = Vec<(usize, Vec<u64>)>;

/// A ciphertext over `Q_l ∪ P` whose parts are `P` times those of a ciphertext over `Q_l` (plus key-switching
/// noise): the form rotations take before ModDown.
type Extended = [Vec<u64>; 2];

/// A [`DiagonalMatrix`] encoded for homomorphic evaluation at one level: the diagonals pre-rotated for the
/// baby-step giant-step split, over `Q_l ∪ P`.
#[derive(Debug, Clone)]
pub struct LinearTransform {
    slots: usize,
    level: usize,
    scale: f64,
    giant_step: usize,
    babies: Vec<usize>,
    /// Per giant rotation `G·i`, its plaintexts.
    giants: Vec<(i64, GiantStep)>,
}

impl LinearTransform {
    /// Encodes `matrix` for ciphertexts at `level` with `matrix.slots()` slots; the diagonals are encoded at
    /// `scale`, so the product's scale is the input's times `scale`.
    ///
    /// # Errors
    /// [`Error::InvalidSlots`] if the slot count does not fit the ring, [`Error::LevelOutOfRange`], or
    /// [`Error::ValueOutOfRange`] if an entry times `scale` reaches `2^62`.
    pub fn new<T: AsRef<[u64]>, E: AsRef<[f64]>>(
        ctx: &Context<T>,
        encoder: &Encoder<E>,
        matrix: &DiagonalMatrix,
        level: usize,
        scale: f64,
    ) -> Result<Self> {
        if level > ctx.params().max_level() {
            return Err(Error::LevelOutOfRange { level, max: ctx.params().max_level() });
        }
        let n = matrix.slots;
        let (giant_step, babies) = matrix.split();
        let degree = ctx.degree();
        let (mut re, mut im, mut coeffs) = (vec![0.0; n], vec![0.0; n], vec![0.0; degree]);
        let mut giants: BTreeMap<i64, GiantStep> = BTreeMap::new();
        for (&a, d) in &matrix.diagonals {
            let (giant, baby) = decompose(a, n, giant_step);
            let shift = giant.rem_euclid(n as i64) as usize;
            for ((r, m), x) in re.iter_mut().zip(im.iter_mut()).zip(rotated(d, n - shift)) {
                (*r, *m) = (x.re, x.im);
            }
            encoder.encode(&re, &im, scale, &mut coeffs)?;
            let tables = ctx.qp_tables(level);
            let mut limbs = vec![0; tables.len() * degree];
            poly::from_rounded(&tables, &coeffs, &mut limbs);
            giants.entry(giant).or_default().push((baby, limbs));
        }
        let giants = giants.into_iter().collect();
        Ok(Self { slots: n, level, scale, giant_step, babies, giants })
    }

    /// The level the diagonals are encoded at (the input's level).
    pub fn level(&self) -> usize {
        self.level
    }

    /// The scale of the encoded diagonals.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The giant step `G`.
    pub fn giant_step(&self) -> usize {
        self.giant_step
    }

    /// The non-zero rotations evaluation needs (babies, then giants), in `(-slots, slots)`.
    pub fn rotations(&self) -> impl Iterator<Item = i64> + '_ {
        let babies = self.babies.iter().map(|&j| j as i64);
        babies.chain(self.giants.iter().map(|(g, _)| *g)).filter(|&r| r != 0)
    }

    /// `M · ct` at `ct`'s level, scale `Δ_ct · scale` (rescale afterwards), the rotations and products shared
    /// among `threads` threads. `keys` must hold the Galois key of every rotation in [`Self::rotations`].
    ///
    /// Double hoisting (Bossuat et al., Eurocrypt 2021): `ct`'s `c_1` is decomposed once; the baby rotations
    /// stay over `Q_l ∪ P` (no ModDown), the diagonals multiply them there; each giant step brings only its
    /// `c_1` down to `Q_l` for its own decomposition and stays over `Q_l ∪ P` too; one ModDown of the sum ends.
    ///
    /// # Errors
    /// [`Error::LevelMismatch`] / [`Error::SlotsMismatch`] for a ciphertext this was not encoded for,
    /// [`Error::MissingGaloisKey`] for a missing key, [`Error::LevelOutOfRange`] for one made for lower levels.
    pub fn evaluate<T: AsRef<[u64]> + Sync, K: AsRef<[u64]> + Sync>(
        &self,
        ev: &Evaluator<'_, T>,
        ct: &Ciphertext<Vec<u64>>,
        keys: &[GaloisKey<K>],
        threads: usize,
    ) -> Result<Ciphertext<Vec<u64>>> {
        if ct.level != self.level {
            return Err(Error::LevelMismatch { left: ct.level, right: self.level });
        }
        if ct.slots != self.slots {
            return Err(Error::SlotsMismatch { left: ct.slots, right: self.slots });
        }
        let hoisting = Hoisting::new(ev.context(), ct.level);
        let key = |rotation: i64| -> Result<&GaloisKey<K>> {
            let key = find_galois_key(keys, rotation_galois_element(hoisting.ctx.degree(), rotation))?;
            key.key.check_level(ct.level)?;
            Ok(key)
        };
        // Babies: `P·R^j ct` over Q_l ∪ P from one decomposition of c_1.
        let lifted = hoisting.lift(ct);
        let mut digits = vec![0; keyswitch::digits_words(hoisting.ctx, ct.level)];
        let mut scratch = hoisting.scratch();
        keyswitch::decompose(hoisting.ctx, ct.level, ct.c1(hoisting.ctx.degree()), &mut digits, &mut scratch);
        let babies = crate::parallel::map_chunks(&self.babies, threads, |chunk| {
            let mut permuted = vec![0; digits.len()];
            let mut rotate = |j: usize| match j {
                0 => Ok(lifted.clone()),
                j => {
                    let mut out = hoisting.zero();
                    hoisting.rotate(&lifted[0], &digits, key(j as i64)?, &mut permuted, &mut out);
                    Ok(out)
                }
            };
            chunk.iter().map(|&j| rotate(j)).collect()
        });
        let babies = babies.into_iter().collect::<Result<Vec<Extended>>>()?;
        drop((lifted, digits));
        // Giants: each thread sums its share of `R^{G·i}(Σ_j p_{i,j} ⊙ R^j ct)` over Q_l ∪ P.
        let partial_sums = crate::parallel::map_chunks(&self.giants, threads, |chunk| {
            let mut work = hoisting.workspace();
            let sum = chunk.iter().try_fold(hoisting.zero(), |mut total, (giant, row)| -> Result<Extended> {
                for (p, part) in work.inner.iter_mut().enumerate() {
                    let pairs: Vec<(&[u64], &[u64])> = row
                        .iter()
                        .map(|(j, pt)| {
                            let baby = &babies[self.babies.binary_search(j).expect("every baby is rotated")];
                            (baby[p].as_slice(), pt.as_slice())
                        })
                        .collect();
                    poly::dot(&hoisting.moduli, part, &pairs);
                }
                if *giant == 0 {
                    hoisting.add_assign(&mut total, &work.inner);
                } else {
                    hoisting.rotate_inner(key(*giant)?, &mut work);
                    hoisting.add_assign(&mut total, &work.rotated);
                }
                Ok(total)
            });
            vec![sum]
        });
        let mut total = hoisting.zero();
        for partial in partial_sums {
            hoisting.add_assign(&mut total, &partial?);
        }
        Ok(hoisting.mod_down(total, ct.scale * self.scale, ct.slots))
    }
}

/// Key switching split for double hoisting at one level: ciphertexts over `Q_l ∪ P` scaled by `P`.
struct Hoisting<'c, T> {
    ctx: &'c Context<T>,
    level: usize,
    moduli: Vec<Modulus>,
}

/// One giant-step thread's buffers: a giant step's inner sum and its rotation over `Q_l ∪ P`, the inner sum's
/// `c_1` brought down to `Q_l`, its decomposition and the decomposition's permutation, ModUp/ModDown scratch.
struct Workspace {
    inner: Extended,
    rotated: Extended,
    down: Vec<u64>,
    digits: Vec<u64>,
    permuted: Vec<u64>,
    scratch: Vec<u64>,
}

impl<'c, T: AsRef<[u64]>> Hoisting<'c, T> {
    fn new(ctx: &'c Context<T>, level: usize) -> Self {
        Self { ctx, level, moduli: ctx.qp_moduli(level).to_vec() }
    }

    fn zero(&self) -> Extended {
        let wide = self.moduli.len() * self.ctx.degree();
        [vec![0; wide], vec![0; wide]]
    }

    fn scratch(&self) -> Vec<u64> {
        vec![0; keyswitch::scratch_words(self.ctx, self.level)]
    }

    fn workspace(&self) -> Workspace {
        let digits = keyswitch::digits_words(self.ctx, self.level);
        Workspace {
            inner: self.zero(),
            rotated: self.zero(),
            down: vec![0; (self.level + 1) * self.ctx.degree()],
            digits: vec![0; digits],
            permuted: vec![0; digits],
            scratch: self.scratch(),
        }
    }

    /// `(P·c_0, P·c_1)` over `Q_l ∪ P` (the `P` limbs are zero).
    fn lift(&self, ct: &Ciphertext<Vec<u64>>) -> Extended {
        let n = self.ctx.degree();
        let q_moduli = &self.moduli[..=self.level];
        let p_mod_q: Vec<u64> = q_moduli
            .iter()
            .map(|q| self.ctx.params().p().iter().fold(1, |acc, p| q.mul(acc, p.value() % q.value())))
            .collect();
        let mut out = self.zero();
        for (part, source) in out.iter_mut().zip([ct.c0(n), ct.c1(n)]) {
            part[..source.len()].copy_from_slice(source);
            poly::mul_scalar_assign(q_moduli, &mut part[..source.len()], &p_mod_q);
        }
        out
    }

    /// `out = σ_g` of the `P`-scaled ciphertext with `c_0` part `p_c0` (over `Q_l ∪ P`) and `c_1` decomposing
    /// to `digits`: `(σ(p_c0) + Σ σ(D_j)·b_j, Σ σ(D_j)·a_j)`, without ModDown. `permuted` holds the digits'
    /// words.
    fn rotate<K: AsRef<[u64]>>(
        &self,
        p_c0: &[u64],
        digits: &[u64],
        key: &GaloisKey<K>,
        permuted: &mut [u64],
        out: &mut Extended,
    ) {
        let [acc0, acc1] = out;
        let g = key.galois_element;
        keyswitch::inner_product(
            self.ctx,
            self.level,
            digits,
            &key.key,
            Some(g),
            [&mut acc0[..], &mut acc1[..]],
            permuted,
        );
        let permuted = &mut permuted[..p_c0.len()];
        poly::automorphism_ntt(self.ctx.log_degree(), g, p_c0, permuted);
        poly::add_assign(&self.moduli, acc0, permuted);
    }

    /// `work.rotated = σ_g(work.inner)` for the `P`-scaled ciphertext `work.inner` over `Q_l ∪ P`: its `c_1`
    /// comes down to `Q_l` (its `P` limbs are overwritten) and is decomposed, its `c_0` is permuted as it is.
    fn rotate_inner<K: AsRef<[u64]>>(&self, key: &GaloisKey<K>, work: &mut Workspace) {
        keyswitch::mod_down(self.ctx, self.level, &mut work.inner[1], &mut work.down, &mut work.scratch);
        keyswitch::decompose(self.ctx, self.level, &work.down, &mut work.digits, &mut work.scratch);
        self.rotate(&work.inner[0], &work.digits, key, &mut work.permuted, &mut work.rotated);
    }

    fn add_assign(&self, a: &mut Extended, b: &Extended) {
        for (x, y) in a.iter_mut().zip(b) {
            poly::add_assign(&self.moduli, x, y);
        }
    }

    /// Divides both parts by `P`: the ciphertext over `Q_l`.
    fn mod_down(&self, mut x: Extended, scale: f64, slots: usize) -> Ciphertext<Vec<u64>> {
        let n = self.ctx.degree();
        let mut scratch = self.scratch();
        let mut out = Ciphertext::zero(n, self.level, scale, slots);
        let (c0, c1) = out.parts_mut(n);
        keyswitch::mod_down(self.ctx, self.level, &mut x[0], c0, &mut scratch);
        keyswitch::mod_down(self.ctx, self.level, &mut x[1], c1, &mut scratch);
        out
    }
}

#[cfg(test)]
mod tests;
