//! The transformer's building blocks on row-major `f32` matrices: linear layers (through `matrixmultiply`'s
//! strided SGEMM, so transposes and per-head slices cost no copies), layer norm, exact GELU, row softmax.

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

/// `out = x · wᵀ + bias` for `x` (`rows × in`) and a PyTorch linear weight `w` (`out × in`).
pub fn linear(x: &[f32], rows: usize, weight: &[f32], bias: &[f32], out: &mut [f32]) {
    let (outs, ins) = (bias.len(), weight.len() / bias.len());
    for row in out.chunks_exact_mut(outs).take(rows) {
        row.copy_from_slice(bias);
    }
    matmul(View::dense(x, rows, ins), View::dense(weight, outs, ins).t(), out, outs, true);
}

/// Layer norm of every row of width `gamma.len()`: `(x − mean) / sqrt(var + eps) · gamma + beta`
/// (biased variance, as PyTorch).
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let width = gamma.len();
    for (row, out) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
        let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / width as f64;
        let inv = (1.0 / (var + f64::from(eps)).sqrt()) as f32;
        let mean = mean as f32;
        for (((o, &v), &g), &b) in out.iter_mut().zip(row).zip(gamma).zip(beta) {
            *o = (v - mean) * inv * g + b;
        }
    }
}

/// GELU in place, the exact (erf) form: `x · Φ(x) = x/2 · (1 + erf(x/√2))`.
pub fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v * core::f32::consts::FRAC_1_SQRT_2));
    }
}

/// The error function by Abramowitz & Stegun 7.1.26 (`1 − t·P(t)·e^(−x²)`, `t = 1/(1 + 0.3275911|x|)`):
/// absolute error below 1.5e-7 in exact arithmetic, 6e-7 in f32 — the size of f32 rounding in the GELU's
/// `1 + erf` — and several times faster than a correctly rounded `erff`.
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * (-a * a).exp()).copysign(x)
}

/// Softmax of every row of width `width`, in place (max-subtracted).
pub fn softmax_rows(x: &mut [f32], width: usize) {
    for row in x.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= inv);
    }
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
        softmax_rows(&mut s, 2);
        let e = 1.0 / (1.0 + std::f64::consts::E);
        assert!((f64::from(s[0]) - e).abs() < 1e-6 && (f64::from(s[2]) - 0.5).abs() < 1e-7);
    }
}
