//! The encrypted linear layer.
//!
//! **Plaintext matrix × encrypted vector** ([`LinearLayer`]): `y = W·x + b` for `W` of `rows × cols` and `x`
//! encrypted in `n` slots (`n` a power of two, `n ≥ cols`). With `r = rows` rounded up to a power of two
//! (`r ≤ n`), the *generalized diagonals* (Halevi–Shoup; the hybrid form of GAZELLE, Juvekar et al. 2018)
//! `u_i[j] = W[j mod r][(j + i) mod n]` for `i < r` give `z = Σ_{i<r} u_i ⊙ rot(x, i)` with
//! `z[j] = Σ_{t<n/r} Σ_i W[j mod r][(j + t·r + i) mod n]·x[…]`, so folding `y = Σ_{t<n/r} rot(z, t·r)` with
//! `log2(n/r)` rotate-and-add steps leaves `(W·x)_j` in slot `j < rows`. Baby-step giant-step: with `i = g·k + h`
//! (`k ≈ √r`), `z = Σ_g rot(Σ_h rot(u_{gk+h}, -g·k) ⊙ rot(x, h), g·k)`, so the `k - 1` baby rotations of `x` are
//! hoisted (one decomposition) and only `r/k - 1` giant rotations follow.
//! Cost: `r` plaintext products, `k - 1` hoisted + `r/k - 1` + `log2(n/r)` rotations, one rescale (depth 1).
//! The diagonals are encoded at scale `q_l` (the prime the rescale removes), so the output keeps `x`'s scale.
//!
//! **Plaintext vector × encrypted matrix** ([`plain_times_encrypted_rows`]): `W` encrypted row by row in blocks
//! of `n` slots (`slot c·n + j = W[c][j]`), `x` in the clear: one plaintext product and `log2(n)`
//! rotate-and-add steps leave `(W·x)_c` in slot `c·n`.
//!
//! This is the model's layer: `no_std`, on caller buffers, a dense real matrix. Bootstrapping's slot-domain
//! transforms (any sparse complex matrix, owned ciphertexts, double hoisting) are
//! `bootstrap::diagonal_transform` (with `alloc`).

use super::ciphertext::{Ciphertext, ciphertext_words, plaintext_words};
use super::encoder::Encoder;
use super::encryption::plaintext_from_coefficients;
use super::evaluator::Evaluator;
use super::keys::{GaloisKey, find_galois_key, rotation_galois_element};
use crate::{Error, Result};

/// The most rotation keys a layer may need (baby, giant and folding steps).
pub const MAX_LAYER_KEYS: usize = 64;

/// The caller's work space for one product: `words` of `u64` and `floats` of `f64`, sized by the product's
/// `*_words` functions.
#[derive(Debug)]
pub struct Work<'a> {
    /// Plaintexts, ciphertexts and the evaluator's scratch.
    pub words: &'a mut [u64],
    /// Encoding space: `N` coefficients and the slot values.
    pub floats: &'a mut [f64],
}

impl Work<'_> {
    /// Checks that a product at `level` has a level to consume and at least `words` and `floats` of space.
    ///
    /// # Errors
    /// [`Error::LevelOutOfRange`] at level 0, [`Error::BufferLength`] for short space.
    fn check(&self, level: usize, words: usize, floats: usize) -> Result<()> {
        if level == 0 {
            return Err(Error::LevelOutOfRange { level: 1, max: 0 });
        }
        if self.words.len() < words {
            return Err(Error::BufferLength { expected: words, actual: self.words.len() });
        }
        if self.floats.len() < floats {
            return Err(Error::BufferLength { expected: floats, actual: self.floats.len() });
        }
        Ok(())
    }
}

/// A plaintext matrix `W` (row-major, `rows × cols`) and optional bias, applied to encrypted vectors.
#[derive(Debug, Clone, Copy)]
pub struct LinearLayer<'w> {
    weights: &'w [f64],
    bias: Option<&'w [f64]>,
    rows: usize,
    cols: usize,
    slots: usize,
    block: usize,
    baby: usize,
}

impl<'w> LinearLayer<'w> {
    /// A layer for inputs packed in `slots` slots (a power of two `≥ cols` and `≥ rows`).
    ///
    /// # Errors
    /// [`Error::Shape`] if the weights or bias have the wrong length or the slot count does not fit.
    pub fn new(weights: &'w [f64], rows: usize, cols: usize, bias: Option<&'w [f64]>, slots: usize) -> Result<Self> {
        let layer = Self::shape(rows, cols, slots)?;
        if Some(weights.len()) != rows.checked_mul(cols) || bias.is_some_and(|b| b.len() != rows) {
            return Err(Error::Shape { rows, cols, slots });
        }
        Ok(Self { weights, bias, ..layer })
    }

    /// The Galois elements a `rows × cols` layer in `slots` slots needs ([`Self::galois_elements`]), known from its
    /// shape alone.
    ///
    /// # Errors
    /// [`Error::Shape`] if the slot count does not fit the shape.
    pub fn galois_elements_of_shape(
        rows: usize,
        cols: usize,
        slots: usize,
        degree: usize,
    ) -> Result<heapless::Vec<u64, MAX_LAYER_KEYS>> {
        Ok(LinearLayer::shape(rows, cols, slots)?.galois_elements(degree))
    }

    /// A layer of this shape without weights (`slots` a power of two `≥ cols` and `≥ rows`).
    fn shape(rows: usize, cols: usize, slots: usize) -> Result<LinearLayer<'static>> {
        let block = rows.checked_next_power_of_two().unwrap_or(0);
        if rows == 0 || cols == 0 || block == 0 || !slots.is_power_of_two() || slots < cols || slots < block {
            return Err(Error::Shape { rows, cols, slots });
        }
        // k = 2^⌈log2(r)/2⌉ baby steps.
        let baby = 1 << block.trailing_zeros().div_ceil(2);
        Ok(LinearLayer { weights: &[], bias: None, rows, cols, slots, block, baby })
    }

    /// The output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The input columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The slot count inputs must be packed in.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The Galois elements of every rotation the layer needs (baby steps, giant steps, folding steps).
    pub fn galois_elements(&self, degree: usize) -> heapless::Vec<u64, MAX_LAYER_KEYS> {
        let mut steps: heapless::Vec<usize, MAX_LAYER_KEYS> = heapless::Vec::new();
        let baby = 1..self.baby.min(self.block);
        let giant = (1..self.block / self.baby).map(|g| g * self.baby);
        let mut fold = self.block;
        let folds = core::iter::from_fn(|| {
            (fold < self.slots).then(|| {
                fold *= 2;
                fold / 2
            })
        });
        for s in baby.chain(giant).chain(folds) {
            if !steps.contains(&s) {
                let _ = steps.push(s);
            }
        }
        steps.iter().map(|&s| self.rotation(degree, s)).collect()
    }

    fn rotation(&self, degree: usize, steps: usize) -> u64 {
        // Rotations act on the n-slot cycle; as a power of 5 modulo 2N this is the same element for every n.
        rotation_galois_element(degree, steps as i64)
    }

    /// `u_i[j] = W[j mod r][(j + i) mod n]`, zero outside `W`.
    fn diagonal(&self, i: usize, j: usize) -> f64 {
        let (row, col) = (j % self.block, (j + i) % self.slots);
        if row < self.rows && col < self.cols { self.weights[row * self.cols + col] } else { 0.0 }
    }

    /// Words of `u64` work space [`Self::evaluate_with`] needs at `level`.
    pub fn work_words<T: AsRef<[u64]>>(&self, ev: &Evaluator<'_, T>, level: usize) -> usize {
        let n = ev.context().degree();
        (self.baby + 1) * ciphertext_words(n, level) + plaintext_words(n, level) + ev.scratch_words(level)
    }

    /// Words of `f64` work space [`Self::evaluate_with`] needs: `N + slots`.
    pub fn float_work_words(&self, degree: usize) -> usize {
        degree + self.slots
    }

    /// `out = W·x + b` in slots `0..rows` (other slots hold partial sums), at `x`'s level minus one and `x`'s
    /// scale. `out` needs storage for `x`'s level; `keys` must contain [`Self::galois_elements`].
    ///
    /// # Errors
    /// [`Error::SlotsMismatch`] if `x` does not have the layer's slot count, [`Error::LevelOutOfRange`] at
    /// level 0, [`Error::MissingGaloisKey`], or [`Error::BufferLength`] for short work space ([`Self::work_words`]
    /// and [`Self::float_work_words`]) or output.
    pub fn evaluate_with<T, E, S, O, K>(
        &self,
        ev: &Evaluator<'_, T>,
        encoder: &Encoder<E>,
        x: &Ciphertext<S>,
        keys: &[GaloisKey<K>],
        out: &mut Ciphertext<O>,
        work: Work<'_>,
    ) -> Result<()>
    where
        T: AsRef<[u64]>,
        E: AsRef<[f64]>,
        S: AsRef<[u64]>,
        O: AsRef<[u64]> + AsMut<[u64]>,
        K: AsRef<[u64]>,
    {
        let ctx = ev.context();
        let n = ctx.degree();
        let level = x.level();
        if x.slots() != self.slots {
            return Err(Error::SlotsMismatch { left: self.slots, right: x.slots() });
        }
        work.check(level, self.work_words(ev, level), self.float_work_words(n))?;
        let ct_words = ciphertext_words(n, level);
        if out.data().as_ref().len() < ct_words {
            return Err(Error::BufferLength { expected: ct_words, actual: out.data().as_ref().len() });
        }
        let Work { words: work, floats: float_work } = work;
        let find_key = |steps: usize| {
            let g = self.rotation(n, steps);
            find_galois_key(keys, g)
        };
        let baby = self.baby.min(self.block);
        let (babies, rest) = work.split_at_mut((baby - 1) * ct_words);
        let (inner, rest) = rest.split_at_mut(ct_words);
        let (product, rest) = rest.split_at_mut(ct_words);
        let (pt_buffer, scratch) = rest.split_at_mut(plaintext_words(n, level));
        let (coefficients, values) = float_work.split_at_mut(n);
        let values = &mut values[..self.slots];

        // Baby steps rot(x, h), 0 < h < k, hoisted; h = 0 is x itself.
        let mut rotated = heapless::Vec::<Ciphertext<&mut [u64]>, MAX_LAYER_KEYS>::new();
        for chunk in babies.chunks_exact_mut(ct_words) {
            let _ = rotated.push(Ciphertext::from_parts(chunk, n, level, x.scale(), x.slots())?);
        }
        let baby_keys: heapless::Vec<&GaloisKey<K>, MAX_LAYER_KEYS> = (1..baby).map(find_key).collect::<Result<_>>()?;
        ev.rotate_hoisted_with(x, &baby_keys, &mut rotated, scratch)?;

        let diagonal_scale = ctx.params().q()[level].value() as f64;
        out.level = level;
        out.slots = x.slots();
        for g in 0..self.block / baby {
            let shift = g * baby;
            let mut inner_ct = Ciphertext::from_parts(&mut *inner, n, level, x.scale(), x.slots())?;
            for h in 0..baby {
                // rot(u_{gk+h}, -gk)[j] = u_{gk+h}[(j - gk) mod n]
                for (j, v) in values.iter_mut().enumerate() {
                    *v = self.diagonal(shift + h, (j + self.slots - shift) % self.slots);
                }
                encoder.encode_real(values, diagonal_scale, coefficients)?;
                let pt =
                    plaintext_from_coefficients(ctx, coefficients, level, diagonal_scale, self.slots, &mut *pt_buffer)?;
                let source = if h == 0 { x.data().as_ref() } else { &rotated[h - 1].data()[..] };
                if h == 0 {
                    inner_ct.data_mut().copy_from_slice(&source[..ct_words]);
                    inner_ct.scale = x.scale();
                    ev.mul_plain_assign(&mut inner_ct, &pt)?;
                } else {
                    let mut product_ct = Ciphertext::from_parts(&mut *product, n, level, x.scale(), x.slots())?;
                    product_ct.data_mut().copy_from_slice(&source[..ct_words]);
                    ev.mul_plain_assign(&mut product_ct, &pt)?;
                    ev.add_assign(&mut inner_ct, &product_ct)?;
                }
            }
            if shift > 0 {
                ev.apply_galois_assign_with(&mut inner_ct, find_key(shift)?, scratch)?;
            }
            if g == 0 {
                out.data_mut().as_mut()[..ct_words].copy_from_slice(&inner_ct.data()[..ct_words]);
                out.scale = inner_ct.scale;
            } else {
                ev.add_assign(out, &inner_ct)?;
            }
        }
        ev.rescale_assign_with(out, scratch)?;

        // Fold: y = Σ_t rot(z, t·r), by doubling.
        let out_words = ciphertext_words(n, out.level);
        let mut step = self.block;
        while step < self.slots {
            let mut folded = Ciphertext::from_parts(&mut product[..out_words], n, out.level, out.scale, out.slots)?;
            folded.data_mut().copy_from_slice(&out.data().as_ref()[..out_words]);
            ev.apply_galois_assign_with(&mut folded, find_key(step)?, scratch)?;
            ev.add_assign(out, &folded)?;
            step *= 2;
        }
        if let Some(bias) = self.bias {
            values.fill(0.0);
            values[..self.rows].copy_from_slice(bias);
            encoder.encode_real(values, out.scale, coefficients)?;
            let pt = plaintext_from_coefficients(ctx, coefficients, out.level, out.scale, self.slots, &mut *pt_buffer)?;
            ev.add_plain_assign(out, &pt)?;
        }
        Ok(())
    }
}

/// `(W·x)_c` into slot `c·n` of `w` (in place), for `W` encrypted row-major in blocks of `n = block` slots
/// (`w`'s slot `c·n + j` holds `W[c][j]`) and plaintext `x` (`len ≤ n`). Needs rotation keys for `1, 2, 4, …, n/2`;
/// consumes one level. `work.words` holds a plaintext and a ciphertext at `w`'s level plus the evaluator's
/// scratch; `work.floats` holds `N + slots` values.
///
/// # Errors
/// [`Error::Shape`] for a bad block size, [`Error::LevelOutOfRange`] at level 0, [`Error::MissingGaloisKey`],
/// [`Error::BufferLength`].
pub fn plain_times_encrypted_rows<T, E, S, K>(
    ev: &Evaluator<'_, T>,
    encoder: &Encoder<E>,
    w: &mut Ciphertext<S>,
    x: &[f64],
    block: usize,
    keys: &[GaloisKey<K>],
    work: Work<'_>,
) -> Result<()>
where
    T: AsRef<[u64]>,
    E: AsRef<[f64]>,
    S: AsRef<[u64]> + AsMut<[u64]>,
    K: AsRef<[u64]>,
{
    let ctx = ev.context();
    let n = ctx.degree();
    let (level, slots) = (w.level(), w.slots());
    if !block.is_power_of_two() || block > slots || x.len() > block {
        return Err(Error::Shape { rows: slots / block.max(1), cols: x.len(), slots });
    }
    let (pt_words, ct_words) = (plaintext_words(n, level), ciphertext_words(n, level));
    work.check(level, pt_words + ct_words + ev.scratch_words(level), n + slots)?;
    let Work { words: work, floats: float_work } = work;
    let (pt_buffer, rest) = work.split_at_mut(pt_words);
    let (tmp, scratch) = rest.split_at_mut(ct_words);
    let (coefficients, values) = float_work.split_at_mut(n);
    let values = &mut values[..slots];
    for (j, v) in values.iter_mut().enumerate() {
        *v = x.get(j % block).copied().unwrap_or(0.0);
    }
    let scale = ctx.params().q()[level].value() as f64;
    encoder.encode_real(values, scale, coefficients)?;
    let pt = plaintext_from_coefficients(ctx, coefficients, level, scale, slots, pt_buffer)?;
    ev.mul_plain_assign(w, &pt)?;
    ev.rescale_assign_with(w, scratch)?;
    let mut step = 1;
    while step < block {
        let g = rotation_galois_element(n, step as i64);
        let key = find_galois_key(keys, g)?;
        let words = ciphertext_words(n, w.level());
        let mut rotated = Ciphertext::from_parts(&mut tmp[..words], n, w.level(), w.scale(), slots)?;
        rotated.data_mut().copy_from_slice(&w.data().as_ref()[..words]);
        ev.apply_galois_assign_with(&mut rotated, key, scratch)?;
        ev.add_assign(w, &rotated)?;
        step *= 2;
    }
    Ok(())
}
