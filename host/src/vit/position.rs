//! Resizing the position embeddings' grid to the input's, as PyTorch's `interpolate(mode="bicubic",
//! align_corners=False)` without antialias does for Hugging Face's `Dinov2Embeddings.interpolate_pos_encoding`
//! (ONNX: `Resize`, cubic, `a = −0.75`, half-pixel coordinates): output position `o` reads the source
//! coordinate `(o + ½)·from/to − ½`, weighs its four neighbours with Keys' cubic, and clamps neighbour indices
//! to the border. Weights and sums are in f64; the result is rounded once to f32.

/// Keys' cubic convolution kernel with PyTorch's `a = −0.75`.
fn keys(x: f64) -> f64 {
    const A: f64 = -0.75;
    let x = x.abs();
    if x <= 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    } else {
        0.0
    }
}

/// The 1-D resize as a dense `to × from` matrix (row `o`: the weights of the source positions).
fn resize_matrix(from: usize, to: usize) -> Vec<f64> {
    let mut matrix = vec![0.0; to * from];
    let scale = from as f64 / to as f64;
    for (o, row) in matrix.chunks_exact_mut(from).enumerate() {
        let source = (o as f64 + 0.5) * scale - 0.5;
        let floor = source.floor();
        let t = source - floor;
        for offset in -1..=2i64 {
            let index = (floor as i64 + offset).clamp(0, from as i64 - 1) as usize;
            row[index] += keys(t - offset as f64);
        }
    }
    matrix
}

/// Resizes a `from × from × dim` grid (row, column, channel) to `to × to × dim`; the identity when `to == from`.
pub fn resize_grid(grid: &[f32], from: usize, to: usize, dim: usize) -> Vec<f32> {
    if to == from {
        return grid.to_vec();
    }
    let m = resize_matrix(from, to);
    // Columns first: from rows × to columns, then rows: to × to.
    let mut wide = vec![0.0f64; from * to * dim];
    for y in 0..from {
        for x in 0..to {
            let out = &mut wide[(y * to + x) * dim..(y * to + x + 1) * dim];
            for (j, &w) in m[x * from..(x + 1) * from].iter().enumerate().filter(|(_, w)| **w != 0.0) {
                let source = &grid[(y * from + j) * dim..(y * from + j + 1) * dim];
                out.iter_mut().zip(source).for_each(|(o, &s)| *o += w * f64::from(s));
            }
        }
    }
    let mut resized = vec![0.0f64; to * to * dim];
    for y in 0..to {
        for (i, &w) in m[y * from..(y + 1) * from].iter().enumerate().filter(|(_, w)| **w != 0.0) {
            let source = &wide[i * to * dim..(i + 1) * to * dim];
            let out = &mut resized[y * to * dim..(y + 1) * to * dim];
            out.iter_mut().zip(source).for_each(|(o, &s)| *o += w * s);
        }
    }
    resized.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_match_the_kernel_at_known_points() {
        for (from, to) in [(37, 16), (5, 3), (4, 9)] {
            for row in resize_matrix(from, to).chunks_exact(from) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
        // Keys' kernel: 1 at 0, 0 at the other integers, and its two cubic pieces at ½ and 3/2.
        assert_eq!(keys(0.0), 1.0);
        assert_eq!([keys(1.0), keys(2.0), keys(-1.0)], [0.0; 3]);
        assert!((keys(0.5) - (1.25 * 0.125 - 2.25 * 0.25 + 1.0)).abs() < 1e-15);
        assert!((keys(1.5) - (-0.75 * 3.375 + 3.75 * 2.25 - 6.0 * 1.5 + 3.0)).abs() < 1e-15);
        // Halving 4 → 2: sources at 0.5 and 2.5 (t = ½); the first row's left neighbour (index −1) clamps
        // to 0, the second row's right one (4) to 3.
        let m = resize_matrix(4, 2);
        let (a, b) = (keys(1.5), keys(0.5));
        let want = [a + b, b, a, 0.0, 0.0, a, b, b + a];
        assert!(m.iter().zip(want).all(|(m, w)| (m - w).abs() < 1e-15), "{m:?}");
    }

    #[test]
    fn resizing_keeps_constants_and_mirror_images() {
        let (from, to, dim) = (37, 16, 2);
        let grid: Vec<f32> = (0..from * from).flat_map(|p| [1.5, ((p * 7919) % 101) as f32]).collect();
        let out = resize_grid(&grid, from, to, dim);
        assert!(out.chunks_exact(dim).all(|v| (v[0] - 1.5).abs() < 1e-6));
        // Half-pixel centres make the resize commute with mirroring the grid left to right.
        let mirror = |g: &[f32], side: usize| -> Vec<f32> {
            (0..side * side)
                .flat_map(|p| g[((p / side) * side + side - 1 - p % side) * dim..][..dim].to_vec())
                .collect()
        };
        let mirrored = resize_grid(&mirror(&grid, from), from, to, dim);
        assert!(mirrored.iter().zip(mirror(&out, to)).all(|(a, b)| (a - b).abs() < 1e-4));
        assert_eq!(resize_grid(&grid, from, from, dim), grid);
    }
}
