//! The CKKS encoder: slot values ↔ real polynomial coefficients through the canonical embedding.
//!
//! Convention (the evaluator's rotations rely on it): with `n ≤ N/2` slots (a power of two) and gap
//! `g = N/(2n)`, a plaintext is `m(X) = m'(X^g)` with `deg m' < 2n`, and slot `j` holds `m(ζ^{5^j mod 2N})`,
//! `ζ = exp(iπ/N)`. Hence `X ↦ X^{5^k}` rotates the slots left by `k` and `X ↦ X^{2N-1}` conjugates them.
//!
//! Folding `v_k = m'_k + i·m'_{k+n}` turns decoding into `z_j = Σ_{k<n} v_k ζ'^{5^j k}` (`ζ' = ζ^g`, a primitive
//! `4n`-th root; `ζ'^{n·5^j} = i`), which the "special FFT" of Cheon–Han–Kim–Kim–Song (SAC 2018) evaluates in
//! `O(n log n)`; encoding runs its inverse. Arithmetic is `f64` (`libm`), on split real/imaginary arrays so
//! encoding works in place in the caller's coefficient buffer and needs no allocator.

use crate::{Error, Result};
use core::f64::consts::PI;

/// Largest magnitude of an encoded coefficient, `2^62`, so that it reduces exactly modulo any prime.
pub const MAX_COEFFICIENT: f64 = 4_611_686_018_427_387_904.0;

/// Roots of unity for the special FFT of degree `N`, in storage `S` (`4N + 2` words, see [`Encoder::words`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder<S> {
    log_degree: u32,
    /// `exp(2πi·k/2N)` for `k = 0..=2N`: real parts then imaginary parts.
    roots: S,
}

impl<S> Encoder<S> {
    /// Storage words for degree `N`: the `2N + 1` roots, real and imaginary parts.
    pub const fn words(degree: usize) -> usize {
        2 * (2 * degree + 1)
    }

    /// The ring degree `N`.
    pub fn degree(&self) -> usize {
        1 << self.log_degree
    }
}

#[cfg(feature = "alloc")]
impl Encoder<alloc::vec::Vec<f64>> {
    /// An encoder for degree `N = 2^log_degree` with owned tables.
    ///
    /// # Errors
    /// [`Error::InvalidDegree`] unless `1 ≤ log_degree ≤ 17`.
    pub fn new(log_degree: u32) -> Result<Self> {
        let words =
            if crate::math::ntt::LOG_DEGREE_RANGE.contains(&log_degree) { Self::words(1 << log_degree) } else { 0 };
        Self::new_in(log_degree, alloc::vec![0.0; words])
    }
}

impl<S: AsRef<[f64]> + AsMut<[f64]>> Encoder<S> {
    /// An encoder for degree `N = 2^log_degree` with tables in `storage` ([`Self::words`] words).
    ///
    /// # Errors
    /// [`Error::InvalidDegree`], or [`Error::BufferLength`] for wrongly sized storage.
    pub fn new_in(log_degree: u32, mut storage: S) -> Result<Self> {
        if !crate::math::ntt::LOG_DEGREE_RANGE.contains(&log_degree) {
            return Err(Error::InvalidDegree { degree: 1usize.checked_shl(log_degree).unwrap_or(0) });
        }
        let m = 2usize << log_degree;
        let words = storage.as_mut();
        if words.len() != 2 * (m + 1) {
            return Err(Error::BufferLength { expected: 2 * (m + 1), actual: words.len() });
        }
        let (re, im) = words.split_at_mut(m + 1);
        for k in 0..=m {
            let angle = 2.0 * PI * k as f64 / m as f64;
            re[k] = libm::cos(angle);
            im[k] = libm::sin(angle);
        }
        Ok(Self { log_degree, roots: storage })
    }
}

impl<S: AsRef<[f64]>> Encoder<S> {
    fn check_slots(&self, slots: usize) -> Result<()> {
        if slots == 0 || !slots.is_power_of_two() || slots > self.degree() / 2 {
            return Err(Error::InvalidSlots { slots, max: self.degree() / 2 });
        }
        Ok(())
    }

    /// `exp(2πi·k/M')` for the special FFT on `n` slots (`M' = 4n`), read from the degree-`N` table.
    #[inline]
    fn root(&self, k: usize, stride: usize) -> (f64, f64) {
        let m = 2 * self.degree();
        let roots = self.roots.as_ref();
        (roots[k * stride], roots[m + 1 + k * stride])
    }

    /// Encodes `n` slots (`re[j] + i·im[j]`; `im` empty for real values) at `scale` into `coeffs`
    /// (`N` words): `coeffs = round(scale · m)`.
    ///
    /// # Errors
    /// [`Error::InvalidSlots`] unless `n` is a power of two in `1..=N/2` (and `im` is empty or `n` long),
    /// [`Error::BufferLength`] unless `coeffs` has `N` words, [`Error::ValueOutOfRange`] for a non-finite value or
    /// a coefficient of magnitude `2^62` or more.
    pub fn encode(&self, re: &[f64], im: &[f64], scale: f64, coeffs: &mut [f64]) -> Result<()> {
        let n = re.len();
        self.check_slots(n)?;
        if !im.is_empty() && im.len() != n {
            return Err(Error::InvalidSlots { slots: im.len(), max: n });
        }
        if coeffs.len() != self.degree() {
            return Err(Error::BufferLength { expected: self.degree(), actual: coeffs.len() });
        }
        if !scale.is_finite() || re.iter().chain(im).any(|v| !v.is_finite()) {
            return Err(Error::ValueOutOfRange);
        }
        let (work_re, rest) = coeffs.split_at_mut(n);
        let work_im = &mut rest[..n];
        work_re.copy_from_slice(re);
        if im.is_empty() {
            work_im.fill(0.0)
        } else {
            work_im.copy_from_slice(im)
        }
        self.special_ifft(work_re, work_im);
        // m'_k = Re v_k, m'_{k+n} = Im v_k already sit at k and k + n; spread to multiples of the gap g.
        let gap = self.degree() / (2 * n);
        for k in (0..2 * n).rev() {
            let c = libm::round(coeffs[k] * scale);
            if c.is_nan() || libm::fabs(c) >= MAX_COEFFICIENT {
                return Err(Error::ValueOutOfRange);
            }
            coeffs[k] = 0.0;
            coeffs[k * gap] = c;
        }
        Ok(())
    }

    /// Encodes real slot values (see [`Self::encode`]).
    ///
    /// # Errors
    /// As [`Self::encode`].
    pub fn encode_real(&self, values: &[f64], scale: f64, coeffs: &mut [f64]) -> Result<()> {
        self.encode(values, &[], scale, coeffs)
    }

    /// Decodes `coeffs` (`N` integral coefficients, centered) at `scale` into `re`, `im` (`n` slots each).
    ///
    /// # Errors
    /// [`Error::InvalidSlots`] for a bad or mismatched slot count, [`Error::BufferLength`] for `coeffs`.
    pub fn decode(&self, coeffs: &[f64], scale: f64, re: &mut [f64], im: &mut [f64]) -> Result<()> {
        let n = re.len();
        self.check_slots(n)?;
        if im.len() != n {
            return Err(Error::InvalidSlots { slots: im.len(), max: n });
        }
        if coeffs.len() != self.degree() {
            return Err(Error::BufferLength { expected: self.degree(), actual: coeffs.len() });
        }
        let gap = self.degree() / (2 * n);
        for k in 0..n {
            re[k] = coeffs[k * gap] / scale;
            im[k] = coeffs[(k + n) * gap] / scale;
        }
        self.special_fft(re, im);
        Ok(())
    }

    /// `z_j = Σ_k v_k ζ'^{5^j k}` in place (`n` = `re.len()` slots).
    fn special_fft(&self, re: &mut [f64], im: &mut [f64]) {
        let n = re.len();
        let stride = 2 * self.degree() / (4 * n);
        bit_reverse(re);
        bit_reverse(im);
        let mut len = 2;
        while len <= n {
            let (half, quarter_len) = (len / 2, 4 * len);
            let gap = 4 * n / quarter_len;
            for start in (0..n).step_by(len) {
                let mut rot = 1usize; // 5^j mod 4·len
                for j in 0..half {
                    let (wr, wi) = self.root(rot * gap, stride);
                    let (a, b) = (start + j, start + j + half);
                    let (vr, vi) = (re[b] * wr - im[b] * wi, re[b] * wi + im[b] * wr);
                    let (ur, ui) = (re[a], im[a]);
                    re[a] = ur + vr;
                    im[a] = ui + vi;
                    re[b] = ur - vr;
                    im[b] = ui - vi;
                    rot = rot * 5 % quarter_len;
                }
            }
            len *= 2;
        }
    }

    /// The inverse of [`Self::special_fft`].
    fn special_ifft(&self, re: &mut [f64], im: &mut [f64]) {
        let n = re.len();
        let stride = 2 * self.degree() / (4 * n);
        let mut len = n;
        while len >= 2 {
            let (half, quarter_len) = (len / 2, 4 * len);
            let gap = 4 * n / quarter_len;
            for start in (0..n).step_by(len) {
                let mut rot = 1usize;
                for j in 0..half {
                    let (wr, wi) = self.root((quarter_len - rot) * gap, stride);
                    let (a, b) = (start + j, start + j + half);
                    let (ur, ui) = (re[a] + re[b], im[a] + im[b]);
                    let (dr, di) = (re[a] - re[b], im[a] - im[b]);
                    re[a] = ur;
                    im[a] = ui;
                    re[b] = dr * wr - di * wi;
                    im[b] = dr * wi + di * wr;
                    rot = rot * 5 % quarter_len;
                }
            }
            len /= 2;
        }
        let inv = 1.0 / n as f64;
        re.iter_mut().chain(im.iter_mut()).for_each(|x| *x *= inv);
        bit_reverse(re);
        bit_reverse(im);
    }
}

/// Permutes `a` (power-of-two length) into bit-reversed index order.
fn bit_reverse(a: &mut [f64]) {
    let n = a.len();
    if n <= 1 {
        return;
    }
    let shift = usize::BITS - n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> shift;
        if i < j {
            a.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use crate::testing::uniform_values;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Naive canonical embedding: slot j = m(ζ^{5^j mod 2N}), directly from the definition.
    fn naive_decode(coeffs: &[f64], slots: usize) -> (Vec<f64>, Vec<f64>) {
        let n_ring = coeffs.len();
        let two_n = 2 * n_ring as u64;
        let mut e = 1u64;
        let (mut re, mut im) = (vec![0.0; slots], vec![0.0; slots]);
        for j in 0..slots {
            for (k, &c) in coeffs.iter().enumerate() {
                let angle = PI * ((e * k as u64) % two_n) as f64 / n_ring as f64;
                re[j] += c * libm::cos(angle);
                im[j] += c * libm::sin(angle);
            }
            e = e * 5 % two_n;
        }
        (re, im)
    }

    fn values(seed: u64, slots: usize) -> (Vec<f64>, Vec<f64>) {
        let mut next = uniform_values(seed);
        ((0..slots).map(|_| next()).collect(), (0..slots).map(|_| next()).collect())
    }

    fn max_error(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| libm::fabs(x - y)).fold(0.0, f64::max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn fast_decode_matches_the_canonical_embedding(log_n in 1u32..=7, slot_shift in 0u32..4, seed in any::<u64>()) {
            let n_ring = 1usize << log_n;
            let slots = ((n_ring / 2) >> slot_shift).max(1);
            let encoder = Encoder::new(log_n).unwrap();
            let (re, im) = values(seed, slots);
            let mut coeffs = vec![0.0; n_ring];
            encoder.encode(&re, &im, (1u64 << 40) as f64, &mut coeffs).unwrap();
            // Sparse packing: only multiples of the gap are non-zero.
            let gap = n_ring / (2 * slots);
            prop_assert!(coeffs.iter().enumerate().all(|(k, &c)| k % gap == 0 || c == 0.0));
            let (naive_re, naive_im) = naive_decode(&coeffs, slots);
            let (mut fast_re, mut fast_im) = (vec![0.0; slots], vec![0.0; slots]);
            encoder.decode(&coeffs, 1.0, &mut fast_re, &mut fast_im).unwrap();
            let tolerance = 1e-9 * (1u64 << 40) as f64 * n_ring as f64;
            prop_assert!(max_error(&naive_re, &fast_re) < tolerance && max_error(&naive_im, &fast_im) < tolerance);
            // And the naive embedding of the encoding gives back the values (scaled).
            let scale = (1u64 << 40) as f64;
            let back: Vec<f64> = naive_re.iter().map(|v| v / scale).collect();
            prop_assert!(max_error(&back, &re) < 1e-9);
        }

        #[test]
        fn round_trip_keeps_30_bits_at_scale_2_40(log_n in 10u32..=14, slot_shift in 0u32..6, seed in any::<u64>()) {
            let n_ring = 1usize << log_n;
            let slots = (n_ring / 2) >> slot_shift;
            let encoder = Encoder::new(log_n).unwrap();
            let (re, im) = values(seed, slots);
            let mut coeffs = vec![0.0; n_ring];
            let scale = (1u64 << 40) as f64;
            encoder.encode(&re, &im, scale, &mut coeffs).unwrap();
            let (mut out_re, mut out_im) = (vec![0.0; slots], vec![0.0; slots]);
            encoder.decode(&coeffs, scale, &mut out_re, &mut out_im).unwrap();
            let bits = -libm::log2(max_error(&re, &out_re).max(max_error(&im, &out_im)));
            prop_assert!(bits >= 30.0, "{} bits", bits);
        }

        #[test]
        fn automorphisms_rotate_and_conjugate_slots(log_n in 3u32..=10, slot_shift in 0u32..3, k in 0usize..64, seed in any::<u64>()) {
            let n_ring = 1usize << log_n;
            let slots = (n_ring / 2) >> slot_shift;
            let encoder = Encoder::new(log_n).unwrap();
            let (re, im) = values(seed, slots);
            let mut coeffs = vec![0.0; n_ring];
            encoder.encode(&re, &im, 1.0e12, &mut coeffs).unwrap();
            let two_n = 2 * n_ring;
            let mut g = 1usize;
            for _ in 0..k { g = g * 5 % two_n; }
            for (element, conjugate) in [(g, false), (two_n - 1, true)] {
                let mut moved = vec![0.0; n_ring];
                for (i, &c) in coeffs.iter().enumerate() {
                    let j = i * element % two_n;
                    if j < n_ring { moved[j] = c } else { moved[j - n_ring] = -c }
                }
                let (mut out_re, mut out_im) = (vec![0.0; slots], vec![0.0; slots]);
                encoder.decode(&moved, 1.0e12, &mut out_re, &mut out_im).unwrap();
                for j in 0..slots {
                    let (want_re, want_im) = if conjugate { (re[j], -im[j]) } else { (re[(j + k) % slots], im[(j + k) % slots]) };
                    prop_assert!(libm::fabs(out_re[j] - want_re) < 1e-6 && libm::fabs(out_im[j] - want_im) < 1e-6);
                }
            }
        }
    }

    #[test]
    fn real_values_encode_as_real_encode_with_zero_imaginary_part() {
        let encoder = Encoder::new(6).unwrap();
        let (re, _) = values(3, 16);
        let (mut a, mut b) = (vec![0.0; 64], vec![0.0; 64]);
        encoder.encode_real(&re, 1e9, &mut a).unwrap();
        encoder.encode(&re, &[0.0; 16], 1e9, &mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let encoder = Encoder::new(6).unwrap();
        let mut coeffs = vec![0.0; 64];
        assert_eq!(encoder.encode_real(&[1.0; 3], 1.0, &mut coeffs), Err(Error::InvalidSlots { slots: 3, max: 32 }));
        assert_eq!(encoder.encode_real(&[1.0; 64], 1.0, &mut coeffs), Err(Error::InvalidSlots { slots: 64, max: 32 }));
        assert_eq!(encoder.encode_real(&[], 1.0, &mut coeffs), Err(Error::InvalidSlots { slots: 0, max: 32 }));
        assert_eq!(encoder.encode_real(&[f64::NAN; 4], 1.0, &mut coeffs), Err(Error::ValueOutOfRange));
        assert_eq!(encoder.encode_real(&[1e30; 4], 1e40, &mut coeffs), Err(Error::ValueOutOfRange));
        assert_eq!(
            encoder.encode_real(&[1.0; 4], 1.0, &mut coeffs[..10]),
            Err(Error::BufferLength { expected: 64, actual: 10 })
        );
        let (mut re, mut im) = (vec![0.0; 4], vec![0.0; 3]);
        assert_eq!(encoder.decode(&coeffs, 1.0, &mut re, &mut im), Err(Error::InvalidSlots { slots: 3, max: 4 }));
        assert_eq!(Encoder::new(0), Err(Error::InvalidDegree { degree: 1 }));
        assert_eq!(Encoder::new_in(4, [0.0; 5]), Err(Error::BufferLength { expected: 66, actual: 5 }));
    }
}
