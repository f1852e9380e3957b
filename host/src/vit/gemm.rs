//! Linear layers `out = x · Wᵀ + bias` with the weights packed once, when the model is loaded.
//!
//! The product is tiled as in BLIS: the weights in panels of [`NR`] output columns, `k`-major, sliced by [`KC`]
//! inputs; the activations read in place, [`MR`] rows at a time, by blocks of [`MC`] rows; a 6 × 16 micro-kernel
//! (12 AVX2 accumulators, FMA) adds `MR` rows times one panel slice into the output. Without AVX2 and FMA the
//! same tiles go through a portable kernel. Only the order of the additions differs from a schoolbook product.

/// Output columns per weight panel.
const NR: usize = 16;
/// Rows per activation strip.
const MR: usize = 6;
/// Inputs per block (a panel slice of `KC × NR` stays in L1).
const KC: usize = 256;
/// Rows per activation block (its `MC × KC` values stay in L2).
const MC: usize = 16 * MR;

/// A PyTorch linear layer (`weight` of `out × in`) with its weights packed into panels.
pub struct Linear {
    outs: usize,
    ins: usize,
    /// Panel `p` holds, for every input `k`, the weights of outputs `p·NR..p·NR + NR` (zero past `outs`).
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl Linear {
    /// Packs `weight` (`bias.len() × in`, row-major).
    pub fn new(weight: &[f32], bias: Vec<f32>) -> Self {
        let (outs, ins) = (bias.len(), weight.len() / bias.len().max(1));
        let mut panels = vec![0.0; outs.div_ceil(NR) * ins * NR];
        for (o, row) in weight.chunks_exact(ins.max(1)).enumerate().take(outs) {
            let (p, j) = (o / NR, o % NR);
            for (k, &w) in row.iter().enumerate() {
                panels[(p * ins + k) * NR + j] = w;
            }
        }
        Self { outs, ins, panels, bias }
    }

    /// `out = x · Wᵀ + bias` for `rows` rows of `x` (`rows × in`); `out` is `rows × out`.
    pub fn apply(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the processor has AVX2 and FMA, and `tiled` passes operands in bounds.
            return self.tiled(x, rows, out, |kc, a, b, c| unsafe { avx2::kernel(kc, a, b, c) });
        }
        self.tiled(x, rows, out, portable_kernel);
    }

    /// The tiled product with `kernel(kc, a, b, c)`, which adds `MR` rows of `a` (`kc` values each) times a panel
    /// slice `b` (`kc × NR`) into an `MR × NR` tile `c`.
    fn tiled(&self, x: &[f32], rows: usize, out: &mut [f32], kernel: impl Fn(usize, Rows, &[f32], Tile)) {
        let (ins, outs) = (self.ins, self.outs);
        assert!(x.len() >= rows * ins && out.len() >= rows * outs, "operands in bounds");
        for row in out.chunks_exact_mut(outs.max(1)).take(rows) {
            row.copy_from_slice(&self.bias);
        }
        // Rows past the last and columns past the last panel's go through zero-padded copies.
        let mut spare_a = vec![0.0f32; MR * KC];
        let mut spare_c = [0.0f32; MR * NR];
        for k0 in (0..ins).step_by(KC) {
            let kc = KC.min(ins - k0);
            for m0 in (0..rows).step_by(MC) {
                for p in 0..outs.div_ceil(NR) {
                    let panel = &self.panels[(p * ins + k0) * NR..(p * ins + k0 + kc) * NR];
                    let cols = NR.min(outs - p * NR);
                    for first in (m0..rows.min(m0 + MC)).step_by(MR) {
                        let valid = MR.min(rows - first);
                        let a = if valid == MR {
                            Rows { data: &x[first * ins + k0..], stride: ins }
                        } else {
                            for i in 0..MR {
                                let row = &mut spare_a[i * KC..i * KC + kc];
                                match i < valid {
                                    true => row.copy_from_slice(&x[(first + i) * ins + k0..][..kc]),
                                    false => row.fill(0.0),
                                }
                            }
                            Rows { data: &spare_a, stride: KC }
                        };
                        let corner = first * outs + p * NR;
                        if valid == MR && cols == NR {
                            kernel(kc, a, panel, Tile { data: &mut out[corner..], stride: outs });
                        } else {
                            for i in 0..valid {
                                spare_c[i * NR..i * NR + cols].copy_from_slice(&out[corner + i * outs..][..cols]);
                            }
                            kernel(kc, a, panel, Tile { data: &mut spare_c, stride: NR });
                            for i in 0..valid {
                                out[corner + i * outs..][..cols].copy_from_slice(&spare_c[i * NR..i * NR + cols]);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `MR` rows of activations: row `i` starts at `data[i · stride]`.
#[derive(Clone, Copy)]
struct Rows<'a> {
    data: &'a [f32],
    stride: usize,
}

/// An `MR × NR` block of the output: row `i` starts at `data[i · stride]`.
struct Tile<'a> {
    data: &'a mut [f32],
    stride: usize,
}

/// The micro-kernel in portable Rust.
fn portable_kernel(kc: usize, a: Rows, panel: &[f32], c: Tile) {
    for i in 0..MR {
        let row = &a.data[i * a.stride..][..kc];
        let out = &mut c.data[i * c.stride..][..NR];
        for (&ai, b) in row.iter().zip(panel.chunks_exact(NR)) {
            out.iter_mut().zip(b).for_each(|(o, &bj)| *o += ai * bj);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{MR, NR, Rows, Tile};
    use std::arch::x86_64::*;

    /// The micro-kernel: 12 accumulators of 8 lanes loaded from the tile, one broadcast and two panel loads per
    /// row and input, stored back.
    ///
    /// # Safety
    /// The processor must have AVX2 and FMA.
    ///
    /// # Panics
    /// If a row of `a` has fewer than `kc` values, `panel` fewer than `kc × NR` or a tile row fewer than `NR`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn kernel(kc: usize, a: Rows, panel: &[f32], c: Tile) {
        assert!((MR - 1) * a.stride + kc <= a.data.len(), "rows in bounds");
        assert!(panel.len() >= kc * NR && (MR - 1) * c.stride + NR <= c.data.len(), "panel and tile in bounds");
        let (ap, b, cp) = (a.data.as_ptr(), panel.as_ptr(), c.data.as_mut_ptr());
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        // SAFETY: every offset below is inside the slices checked above.
        unsafe {
            for (i, acc) in acc.iter_mut().enumerate() {
                *acc = [_mm256_loadu_ps(cp.add(i * c.stride)), _mm256_loadu_ps(cp.add(i * c.stride + 8))];
            }
            for k in 0..kc {
                let b0 = _mm256_loadu_ps(b.add(k * NR));
                let b1 = _mm256_loadu_ps(b.add(k * NR + 8));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let ai = _mm256_broadcast_ss(&*ap.add(i * a.stride + k));
                    acc[0] = _mm256_fmadd_ps(ai, b0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(ai, b1, acc[1]);
                }
            }
            for (i, acc) in acc.iter().enumerate() {
                _mm256_storeu_ps(cp.add(i * c.stride), acc[0]);
                _mm256_storeu_ps(cp.add(i * c.stride + 8), acc[1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tile shape: rows, inputs and outputs below, at and past a strip, a block and a panel.
    #[test]
    fn packed_products_match_the_schoolbook_product_with_either_kernel() {
        let value = |i: usize| ((i as f64 * 12.9898).sin() * 43758.5453).fract() as f32 - 0.5;
        for (rows, ins, outs) in [(1, 1, 1), (5, 7, 3), (6, 256, 16), (13, 300, 40), (97, 513, 17), (200, 64, 48)] {
            let x: Vec<f32> = (0..rows * ins).map(value).collect();
            let w: Vec<f32> = (0..outs * ins).map(|i| value(i + 7919)).collect();
            let bias: Vec<f32> = (0..outs).map(|i| value(i + 104_729)).collect();
            let layer = Linear::new(&w, bias.clone());
            let mut fast = vec![f32::NAN; rows * outs];
            layer.apply(&x, rows, &mut fast);
            let mut portable = vec![f32::NAN; rows * outs];
            layer.tiled(&x, rows, &mut portable, portable_kernel);
            assert!(fast.iter().chain(&portable).all(|v| v.is_finite()), "every output written");
            for r in 0..rows {
                for o in 0..outs {
                    let want = f64::from(bias[o])
                        + (0..ins).map(|k| f64::from(x[r * ins + k]) * f64::from(w[o * ins + k])).sum::<f64>();
                    for (name, have) in [("fast", fast[r * outs + o]), ("portable", portable[r * outs + o])] {
                        let error = (f64::from(have) - want).abs();
                        assert!(error < 1e-5 * (ins as f64).sqrt(), "{name} {rows}×{ins}×{outs} ({r}, {o}): {error}");
                    }
                }
            }
        }
    }
}
