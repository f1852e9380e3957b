//! The transformer's building blocks on row-major `f32` matrices: attention's products (through
//! `matrixmultiply`'s strided SGEMM, so transposes and per-head slices cost no copies), layer norm, exact GELU,
//! row softmax. Linear layers with packed weights are in `vit/gemm.rs`.

/// A read-only matrix view: element `(r, c)` is `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// Backing values.
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows.
    pub row_stride: usize,
    /// Distance between columns.
    pub col_stride: usize,
}

impl<'a> View<'a> {
    /// A dense row-major `rows × cols` matrix.
    pub fn dense(data: &'a [f32], rows: usize, cols: usize) -> Self {
        View { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// Columns `start..start + cols` of a dense row-major matrix `rows × width` (an attention head's slice).
    pub fn columns(data: &'a [f32], rows: usize, width: usize, start: usize, cols: usize) -> Self {
        View { data: &data[start..], rows, cols, row_stride: width, col_stride: 1 }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        View { rows: self.cols, cols: self.rows, row_stride: self.col_stride, col_stride: self.row_stride, ..self }
    }

    /// Whether every element lies inside `data`.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `out = a · b` (`beta = 0`) or `out += a · b` (`accumulate`), where `out` is `a.rows × b.cols` with row
/// stride `out_stride` (so it may be a column slice of a wider matrix).
///
/// # Panics
/// If the shapes disagree or a view reaches outside its slice (internal invariants of the callers).
pub fn matmul(a: View, b: View, out: &mut [f32], out_stride: usize, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    assert!(a.in_bounds() && b.in_bounds(), "views in bounds");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(m == 0 || n == 0 || (m - 1) * out_stride + n <= out.len(), "output in bounds");
    let stride = |s: usize| isize::try_from(s).expect("stride fits isize");
    // SAFETY: the assertions above keep every element SGEMM reads or writes inside its slice; `out` is borrowed
    // mutably, so it does not alias `a` or `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            stride(a.row_stride),
            stride(a.col_stride),
            b.data.as_ptr(),
            stride(b.row_stride),
            stride(b.col_stride),
            if accumulate { 1.0 } else { 0.0 },
            out.as_mut_ptr(),
            stride(out_stride),
            1,
        );
    }
}

/// Layer norm of every row of width `gamma.len()`: `(x − mean) / sqrt(var + eps) · gamma + beta`
/// (biased variance, as PyTorch; mean and variance in two passes over 8 interleaved `f32` lanes).
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let width = gamma.len();
    with_simd(
        #[inline(always)]
        || {
            for (row, out) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
                let mean = lanes(row, 0.0, |v| v, |a, b| a + b) / width as f32;
                let var = lanes(row, 0.0, |v| (v - mean) * (v - mean), |a, b| a + b) / width as f32;
                let inv = 1.0 / (var + eps).sqrt();
                for (((o, &v), &g), &b) in out.iter_mut().zip(row).zip(gamma).zip(beta) {
                    *o = (v - mean) * inv * g + b;
                }
            }
        },
    );
}

/// GELU in place, the exact (erf) form: `x · Φ(x) = x/2 · (1 + erf(x/√2))`.
pub fn gelu(x: &mut [f32]) {
    with_simd(
        #[inline(always)]
        || {
            for v in x {
                *v = 0.5 * *v * (1.0 + erf(*v * core::f32::consts::FRAC_1_SQRT_2));
            }
        },
    );
}

/// The error function by Abramowitz & Stegun 7.1.26 (`1 − t·P(t)·e^(−x²)`, `t = 1/(1 + 0.3275911|x|)`):
/// absolute error below 1.5e-7 in exact arithmetic, 6e-7 in f32 — the size of f32 rounding in the GELU's
/// `1 + erf` — and branch-free, so that a loop over it vectorizes.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// `e^x` without a library call, so that loops over it vectorize: `x` is clamped to `[−87, 88]` (`e^−87` stands
/// for anything smaller), split as `n·ln 2 + r` with `|r| ≤ ln 2 / 2`, and `e^r` taken from its Taylor polynomial
/// of degree 7 (truncation below 6e-9 relative); the result is within 3 f32 ulps (relative 3.6e-7) of `e^x`.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    /// `1.5 · 2^23`: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * core::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // The low bits of `shifted` hold `n` (|n| ≤ 127) above the bits of `ROUND`; `n + 127` is the biased exponent.
    let biased = shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127);
    p * f32::from_bits(biased << 23)
}

/// Softmax of every row of width `width`, in place (max-subtracted), after scaling the row by `scale`.
pub fn softmax_rows(x: &mut [f32], width: usize, scale: f32) {
    with_simd(
        #[inline(always)]
        || {
            for row in x.chunks_exact_mut(width) {
                let max = lanes(row, f32::NEG_INFINITY, |v| v, f32::max);
                row.iter_mut().for_each(|v| *v = exp((*v - max) * scale));
                let inv = 1.0 / lanes(row, 0.0, |v| v, |a, b| a + b);
                row.iter_mut().for_each(|v| *v *= inv);
            }
        },
    );
}

/// Reduces `map` of every value with `op`, over 8 interleaved lanes (an order that vectorizes), then across the
/// lanes.
#[inline(always)]
fn lanes(values: &[f32], init: f32, map: impl Fn(f32) -> f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(init, |a, &v| op(a, map(v)));
    for chunk in chunks {
        acc.iter_mut().zip(chunk).for_each(|(a, &v)| *a = op(*a, map(v)));
    }
    acc.into_iter().fold(tail, op)
}

/// Runs `kernel` compiled for AVX2 and FMA when the processor has them, else for the baseline target (`kernel`
/// must be `#[inline(always)]` for the features to reach it).
#[inline(always)]
fn with_simd<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "avx2,fma")]
        fn wide<R>(kernel: impl FnOnce() -> R) -> R {
            kernel()
        }
        // SAFETY: the processor has the features `wide` is compiled for.
        return unsafe { wide(kernel) };
    }
    kernel()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
        a.iter()
            .map(|row| (0..b[0].len()).map(|j| row.iter().zip(b).map(|(x, col)| x * col[j]).sum()).collect())
            .collect()
    }

    #[test]
    fn strided_products_match_the_schoolbook_product() {
        let (m, k, n, width) = (5, 7, 3, 11);
        let a: Vec<f32> = (0..m * width).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
        let b: Vec<f32> = (0..n * k).map(|i| ((i * 13 % 19) as f32 - 9.0) / 9.0).collect();
        // a: columns 2..9 of an m × 11 matrix; b: the transpose of a dense n × k matrix.
        let av: Vec<Vec<f64>> = (0..m).map(|r| (0..k).map(|c| f64::from(a[r * width + 2 + c])).collect()).collect();
        let bv: Vec<Vec<f64>> = (0..k).map(|r| (0..n).map(|c| f64::from(b[c * k + r])).collect()).collect();
        let want = naive(&av, &bv);
        let mut out = vec![1.0f32; m * 4];
        matmul(View::columns(&a, m, width, 2, k), View::dense(&b, n, k).t(), &mut out, 4, false);
        for r in 0..m {
            for c in 0..n {
                assert!((f64::from(out[r * 4 + c]) - want[r][c]).abs() < 1e-5);
            }
            assert_eq!(out[r * 4 + 3], 1.0, "the column beyond the output is untouched");
        }
    }

    #[test]
    fn norm_gelu_and_softmax_match_their_definitions() {
        let x = [1.0f32, 2.0, 4.0, -3.0];
        let mut out = [0.0; 4];
        layer_norm(&x, &[1.0, 2.0, 1.0, 1.0], &[0.0, 0.0, 0.5, 0.0], 1e-6, &mut out);
        let (mean, var) = (1.0f64, (0.0 + 1.0 + 9.0 + 16.0) / 4.0);
        let want =
            [0.0, 2.0 / (var + 1e-6f64).sqrt(), 3.0 / (var + 1e-6f64).sqrt() + 0.5, -4.0 / (var + 1e-6f64).sqrt()];
        assert!(out.iter().zip(want).all(|(&o, w)| (f64::from(o) - w).abs() < 1e-6), "{out:?} vs mean {mean}");
        let mut g = [-1.0f32, 0.0, 1.0, 3.0];
        gelu(&mut g);
        let phi = |x: f64| 0.5 * (1.0 + libm::erf(x / 2f64.sqrt()));
        assert!(g.iter().zip([-1.0, 0.0, 1.0, 3.0]).all(|(&v, x)| (f64::from(v) - x * phi(x)).abs() < 1e-6));
        let worst = (-60_000..60_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (f64::from(erf(x)) - libm::erf(f64::from(x))).abs())
            .fold(0.0, f64::max);
        assert!(worst < 6e-7, "erf's largest error on [-6, 6]: {worst:.2e}");
        let mut s = [1000.0f32, 1001.0, 0.0, 0.0];
        softmax_rows(&mut s, 2, 1.0);
        let e = 1.0 / (1.0 + std::f64::consts::E);
        assert!((f64::from(s[0]) - e).abs() < 1e-6 && (f64::from(s[2]) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn the_inline_exponential_is_within_three_ulps_and_rows_of_any_width_normalize() {
        let worst = (-870_000..=880_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (f64::from(exp(x)) / f64::from(x).exp() - 1.0).abs())
            .fold(0.0, f64::max);
        assert!(worst < 3.6e-7, "largest relative error on [-87, 88]: {worst:.2e}");
        assert_eq!(exp(-1e4), exp(-87.0), "below the range, e^-87");
        let (width, scale) = (11, 0.125f32);
        let mut rows: Vec<f32> = (0..3 * width).map(|i| ((i * 29 % 23) as f32 - 11.0) * 7.0).collect();
        let want: Vec<f64> = rows
            .chunks(width)
            .flat_map(|row| {
                let e: Vec<f64> = row.iter().map(|&v| (f64::from(v) * f64::from(scale)).exp()).collect();
                let sum: f64 = e.iter().sum();
                e.into_iter().map(move |v| v / sum)
            })
            .collect();
        softmax_rows(&mut rows, width, scale);
        assert!(rows.iter().zip(&want).all(|(&v, w)| (f64::from(v) - w).abs() < 1e-6 * w.max(1e-3)));
    }
}
