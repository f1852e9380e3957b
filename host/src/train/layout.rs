//! How mini-batches, labels and weights are packed into CKKS slots (HETAL's block packing).
//!
//! A batch is a block of `rows × cols` slots (`rows · cols = slots`, row-major: slot `i·cols + j`), `rows` the
//! batch size (a power of two) and `cols = slots / rows`. Features (`dim`, the bias column included) are split into
//! `blocks = ⌈dim / cols⌉` ciphertexts; missing rows and columns are zero. Classes are padded to `c = 2^⌈log2 C⌉`
//! with `c ≤ rows` and `2c ≤ cols`.
//! - Feature blocks `X_b(i, j) = x_i[b·cols + j]`, encrypted with their rows moved, so that the trainer moves
//!   the weights and the errors instead of every product (the hospital shifts once per batch what the cloud
//!   would rotate every step), for `t < c/2`:
//!   - DiagABT's `S_{b,t} + i·S_{b,t+c/2}` with `S_{b,t}(i, j) = X_b((i − t) mod rows, j)`: the rows moved down
//!     by `t` (and `t + c/2`) as the real (and imaginary) part, multiplied with the weights as they are;
//!   - DiagATB's `X_b((i + c − t) mod rows, j)` (`X_b` itself for `t = 0`): the rows moved up by `c − t`, where
//!     the errors of diagonal `t` meet their class's block row.
//! - Weights (and the lookahead weights) are tiled down the rows: `W_b(i, j) = W[i mod c][b·cols + j]` (rows `≥ C`
//!   of `W` are zero).
//! - Logits, probabilities and labels use the *diagonal* layout: `D(i, t) = M[i][(i + t) mod c]` for `t < c`, zero
//!   in the other columns (labels: `1` where `(i + t) mod c` is row `i`'s class).

use anyhow::{Result, bail};

/// The most slots of any parameter set (N = 2^17).
const MAX_SLOTS: usize = 1 << 16;
/// The most features a packing takes (a ViT-L's class and mean tokens fit many times over).
const MAX_DIM: usize = 1 << 16;

/// A packing (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Slots per ciphertext.
    pub slots: usize,
    /// Rows per block: the batch size.
    pub rows: usize,
    /// Columns per block: `slots / rows`.
    pub cols: usize,
    /// Real classes `C`.
    pub classes: usize,
    /// Padded classes `c`.
    pub class_slots: usize,
    /// Features per row, the bias included.
    pub dim: usize,
    /// Feature blocks per batch.
    pub blocks: usize,
}

impl Layout {
    /// The packing of batches of `batch` rows of `dim` features into `slots` slots.
    ///
    /// # Errors
    /// If `slots` or `batch` is not a power of two, `dim` is out of range, or the classes do not fit.
    pub fn new(slots: usize, batch: usize, classes: usize, dim: usize) -> Result<Self> {
        if !slots.is_power_of_two() || slots > MAX_SLOTS {
            bail!("{slots} slots: the parameters have a power of two of at most {MAX_SLOTS}");
        }
        if !batch.is_power_of_two() || batch > slots {
            bail!("the batch size ({batch}) must be a power of two of at most {slots} (the slots)");
        }
        if dim == 0 || dim > MAX_DIM {
            bail!("{dim} features (with the bias): the packing takes 1 to {MAX_DIM}");
        }
        if classes == 0 || classes > slots / 2 {
            bail!("{classes} classes: the packing takes 1 to {} with {slots} slots", slots / 2);
        }
        let (rows, cols, class_slots) = (batch, slots / batch, classes.next_power_of_two());
        if class_slots > rows || 2 * class_slots > cols {
            bail!(
                "{classes} classes need a batch of at least {class_slots} and at most {} rows with {slots} slots",
                slots / (2 * class_slots)
            );
        }
        Ok(Self { slots, rows, cols, classes, class_slots, dim, blocks: dim.div_ceil(cols) })
    }

    /// The feature blocks of up to `rows` rows.
    pub fn features(&self, batch: &[Vec<f64>]) -> Vec<Vec<f64>> {
        (0..self.blocks)
            .map(|b| {
                let mut v = vec![0.0; self.slots];
                for (i, x) in batch.iter().enumerate() {
                    for (j, &value) in x.iter().skip(b * self.cols).take(self.cols).enumerate() {
                        v[i * self.cols + j] = value;
                    }
                }
                v
            })
            .collect()
    }

    /// DiagABT's shifted feature blocks, from the [`Self::features`] blocks, as `(re, im)`: block `b`, shift
    /// `t < c/2` at index `b·c/2 + t`.
    pub fn shifted_features(&self, blocks: &[Vec<f64>]) -> Vec<(Vec<f64>, Vec<f64>)> {
        let half = self.class_slots / 2;
        let down = |v: &[f64], t| self.rows_down(v, t);
        blocks.iter().flat_map(|v| (0..half).map(move |t| (down(v, t), down(v, t + half)))).collect()
    }

    /// DiagATB's feature blocks, from the [`Self::features`] blocks: block `b`, `t < c/2` at index `b·c/2 + t`.
    pub fn gradient_features(&self, blocks: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let (c, rows) = (self.class_slots, self.rows);
        let up = |v: &[f64], t: usize| self.rows_down(v, if t == 0 { 0 } else { rows - (c - t) });
        blocks.iter().flat_map(|v| (0..c / 2).map(move |t| up(v, t))).collect()
    }

    /// `v` with its rows moved down by `shift` (`< rows`), cyclically.
    fn rows_down(&self, v: &[f64], shift: usize) -> Vec<f64> {
        let mut out = v.to_vec();
        out.rotate_right(shift * self.cols);
        out
    }

    /// The one-hot labels of up to `rows` rows, diagonal layout.
    pub fn labels(&self, labels: &[usize]) -> Vec<f64> {
        let mut v = vec![0.0; self.slots];
        for (i, &y) in labels.iter().enumerate() {
            let t = (y + self.class_slots - i % self.class_slots) % self.class_slots;
            v[i * self.cols + t] = 1.0;
        }
        v
    }

    /// The weight blocks of a `C × dim` matrix, tiled down the rows.
    pub fn weights(&self, w: &[Vec<f64>]) -> Vec<Vec<f64>> {
        (0..self.blocks)
            .map(|b| {
                let mut v = vec![0.0; self.slots];
                for i in 0..self.rows {
                    if let Some(row) = w.get(i % self.class_slots) {
                        for (j, &value) in row.iter().skip(b * self.cols).take(self.cols).enumerate() {
                            v[i * self.cols + j] = value;
                        }
                    }
                }
                v
            })
            .collect()
    }

    /// The logits of the first `rows` rows, `rows × classes`, from slot values in the diagonal layout.
    pub fn unpack_logits(&self, slots: &[f64], rows: usize) -> Vec<Vec<f64>> {
        (0..rows)
            .map(|i| {
                let mut z = vec![0.0; self.classes];
                for t in 0..self.class_slots {
                    let class = (i + t) % self.class_slots;
                    if class < self.classes {
                        z[class] = slots[i * self.cols + t];
                    }
                }
                z
            })
            .collect()
    }

    /// The `C × dim` matrix from its weight blocks (read from the first `C` block rows).
    pub fn unpack_weights(&self, blocks: &[Vec<f64>]) -> Vec<Vec<f64>> {
        (0..self.classes)
            .map(|k| (0..self.dim).map(|j| blocks[j / self.cols][k * self.cols + j % self.cols]).collect())
            .collect()
    }

    /// `value` in column `col` of the first `used` rows.
    pub fn column_mask(&self, col: usize, used: usize, value: f64) -> Vec<f64> {
        let mut v = vec![0.0; self.slots];
        (0..used).for_each(|i| v[i * self.cols + col] = value);
        v
    }

    /// `value` in the diagonal-layout slots of real classes of the first `used` rows.
    pub fn class_mask(&self, used: usize, value: f64) -> Vec<f64> {
        let mut v = vec![0.0; self.slots];
        for i in 0..used {
            for t in 0..self.class_slots {
                if (i + t) % self.class_slots < self.classes {
                    v[i * self.cols + t] = value;
                }
            }
        }
        v
    }

    /// The periods of the ciphertexts `tiled` weight-like blocks (period `c·cols`) are packed into for
    /// bootstrapping: groups of up to `slots/(c·cols)` blocks, each repeating with period
    /// `2^⌈log2(group·c·cols)⌉`.
    pub fn packed_periods(&self, tiled: usize) -> Vec<usize> {
        let period = self.class_slots * self.cols;
        let group = self.slots / period;
        (0..tiled.div_ceil(group)).map(|g| ((tiled - g * group).min(group) * period).next_power_of_two()).collect()
    }

    /// The rotations of a row sum in two doubly hoisted rotation sums: `1..r`, then `r·(1..cols/r)` with
    /// `r = 2^⌈log2(cols)/2⌉`; slot `(i, 0)` then holds row `i`'s sum.
    pub fn row_sum_steps(&self) -> [Vec<i64>; 2] {
        let r = 1usize << self.cols.trailing_zeros().div_ceil(2);
        [(1..r).map(|s| s as i64).collect(), (1..self.cols / r).map(|u| (u * r) as i64).collect()]
    }

    /// Every rotation the trainer needs a key for: `t·cols` (`c/2 ≤ t < c`), `t·cols − t` (`0 < t ≤ c/2`), the
    /// [`Self::row_sum_steps`], `±2^m` (`2^m < cols`) and the row folds `c·cols·2^m` (`c·2^m < rows`).
    pub fn rotation_steps(&self) -> Vec<i64> {
        let (cols, c) = (self.cols as i64, self.class_slots as i64);
        let mut steps: Vec<i64> = (c / 2..c).map(|t| t * cols).chain((1..=c / 2).map(|t| t * cols - t)).collect();
        steps.extend(self.row_sum_steps().concat());
        let powers = (0..self.cols.trailing_zeros()).map(|m| 1i64 << m);
        steps.extend(powers.flat_map(|p| [p, -p]));
        let fold = (self.class_slots * self.cols) as i64;
        steps.extend((0..(self.rows / self.class_slots).trailing_zeros()).map(|m| fold << m));
        steps.sort_unstable();
        steps.dedup();
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts from a damaged manifest or feature file are refused, not divided by or allocated.
    #[test]
    fn impossible_shapes_are_refused() {
        for (slots, batch, classes, dim) in [
            (usize::MAX, 4, 3, 10),
            (3 << 20, 4, 3, 10),
            (64, 4, usize::MAX, 10),
            (64, 4, (1 << 63) + 1, 10),
            (64, 4, 0, 10),
            (64, 4, 3, 0),
            (64, 4, 3, usize::MAX),
            (64, 16, 9, 10),
        ] {
            assert!(Layout::new(slots, batch, classes, dim).is_err(), "{slots} {batch} {classes} {dim}");
        }
    }

    #[test]
    fn packing_round_trips_and_diagonal_labels() {
        let layout = Layout::new(64, 4, 3, 10).unwrap();
        assert_eq!((layout.cols, layout.class_slots, layout.blocks), (16, 4, 1));
        let w: Vec<Vec<f64>> = (0..3).map(|k| (0..10).map(|j| (k * 10 + j) as f64).collect()).collect();
        let packed = layout.weights(&w);
        assert_eq!(layout.unpack_weights(&packed), w);
        assert_eq!(packed[0][3 * 16 + 2], 0.0, "padded class row is zero");
        assert_eq!(packed[0][2 * 16 + 5], 25.0);
        let labels = layout.labels(&[2, 0, 1]);
        // Row 0: class 2 at t = 2; row 1: class 0 at t = 3; row 2: class 1 at t = 3.
        let ones: Vec<usize> = (0..64).filter(|&s| labels[s] == 1.0).collect();
        assert_eq!(ones, [2, 16 + 3, 32 + 3]);
        let mask = layout.class_mask(2, 1.0);
        assert_eq!((0..16).filter(|&s| mask[s] == 1.0).count(), 3);
        assert_eq!(mask[16 + 2], 0.0, "row 1, t = 2 is class 3: padding");
        assert!(Layout::new(64, 2, 3, 10).is_err() && Layout::new(64, 16, 3, 10).is_err());
        let wide = Layout::new(64, 4, 3, 40).unwrap();
        assert_eq!(wide.blocks, 3);
        let x: Vec<Vec<f64>> = (0..2).map(|i| (0..40).map(|j| (100 * i + j) as f64).collect()).collect();
        let blocks = wide.features(&x);
        assert_eq!(blocks[2][16 + 7], 139.0);
        assert_eq!(wide.row_sum_steps(), [vec![1, 2, 3], vec![4, 8, 12]]);
        assert_eq!(wide.rotation_steps(), [-8, -4, -2, -1, 1, 2, 3, 4, 8, 12, 15, 30, 32, 48]);
        // Shift 1 (real part) and 3 (imaginary part) of block 2: row i holds row i − 1 and i − 3, cyclically.
        let shifted = wide.shifted_features(&blocks);
        assert_eq!(shifted.len(), 3 * 2);
        let (re, im) = &shifted[2 * 2 + 1];
        assert_eq!((re[2 * 16 + 7], re[16 + 7], re[7]), (139.0, 39.0, 0.0));
        assert_eq!((im[7], im[16 + 7], im[3 * 16 + 7]), (139.0, 0.0, 39.0));
        // Block 2 for t = 1: rows up by 3, so row 1 holds row 0 and row 2 row 1; for t = 0 the block itself.
        let gradient = wide.gradient_features(&blocks);
        assert_eq!(gradient.len(), 3 * 2);
        assert_eq!(gradient[2 * 2], blocks[2]);
        assert_eq!(
            (gradient[2 * 2 + 1][16 + 7], gradient[2 * 2 + 1][2 * 16 + 7], gradient[2 * 2 + 1][7]),
            (39.0, 139.0, 0.0)
        );
        // Periods of 4·16 = 64 slots: one per ciphertext of 64 slots.
        assert_eq!(wide.packed_periods(6), [64; 6]);
        let narrow = Layout::new(4096, 16, 3, 40).unwrap();
        // c·cols = 4·256 = 1024: four blocks per ciphertext, the fifth alone.
        assert_eq!(narrow.packed_periods(5), [4096, 1024]);
        assert_eq!(narrow.packed_periods(2), [2048]);
    }
}
