//! DeiT's evaluation preprocessing, as timm/torchvision apply it to a PIL image: bicubic resize to 224×224,
//! scale to [0, 1], normalize with ImageNet's mean and standard deviation; grayscale is replicated to 3 channels.
//!
//! The resize reproduces Pillow's `Image.resize(..., BICUBIC)` on 8-bit images bit for bit: separable passes
//! (horizontal, then vertical), the Keys cubic with `a = −0.5` widened by the scale when shrinking, weights
//! normalized per output pixel and rounded to 22-bit fixed point, each pass rounded and clamped to 8 bits.

use super::config::{CHANNELS, IMAGE};

/// ImageNet channel means (RGB).
pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];
/// How the features' inputs were made, for provenance records.
pub const DESCRIPTION: &str = "Pillow-exact bicubic resize to 224x224, /255, ImageNet mean/std, gray replicated to RGB";

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn cubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// For each output position: the first input index and the fixed-point weights of the inputs from there.
fn coefficients(input: usize, output: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = 2.0 * filter_scale;
    (0..output)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            // Pillow truncates towards zero and then clamps.
            let first = ((center - support + 0.5) as i64).max(0) as usize;
            let last = ((center + support + 0.5) as i64).min(input as i64) as usize;
            let weights: Vec<f64> = (first..last).map(|i| cubic((i as f64 - center + 0.5) / filter_scale)).collect();
            let total: f64 = weights.iter().sum();
            let fixed = weights
                .iter()
                .map(|&w| {
                    let w = if total == 0.0 { w } else { w / total } * f64::from(1u32 << PRECISION_BITS);
                    (if w < 0.0 { w - 0.5 } else { w + 0.5 }) as i32
                })
                .collect();
            (first, fixed)
        })
        .collect()
}

fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes a `side × side × channels` (channel last) 8-bit image to `out × out` exactly as Pillow's bicubic.
pub fn resize_bicubic(pixels: &[u8], side: usize, channels: usize, out: usize) -> Vec<u8> {
    let coeffs = coefficients(side, out);
    let round = 1i32 << (PRECISION_BITS - 1);
    // Horizontal pass: side rows × out columns.
    let mut wide = vec![0u8; side * out * channels];
    for y in 0..side {
        for (x, (first, weights)) in coeffs.iter().enumerate() {
            for c in 0..channels {
                let acc = weights
                    .iter()
                    .enumerate()
                    .fold(round, |acc, (i, &w)| acc + i32::from(pixels[(y * side + first + i) * channels + c]) * w);
                wide[(y * out + x) * channels + c] = clip8(acc);
            }
        }
    }
    // Vertical pass: out rows × out columns.
    let mut resized = vec![0u8; out * out * channels];
    for (y, (first, weights)) in coeffs.iter().enumerate() {
        for x in 0..out * channels {
            let acc = weights
                .iter()
                .enumerate()
                .fold(round, |acc, (i, &w)| acc + i32::from(wide[(first + i) * out * channels + x]) * w);
            resized[y * out * channels + x] = clip8(acc);
        }
    }
    resized
}

/// One MedMNIST image (`side × side × channels`, 1 or 3 channels) to DeiT's input: `3 × 224 × 224`, channel first.
pub fn preprocess(pixels: &[u8], side: usize, channels: usize, out: &mut [f32]) {
    let resized = if side == IMAGE { pixels.to_vec() } else { resize_bicubic(pixels, side, channels, IMAGE) };
    for (c, plane) in out.chunks_exact_mut(IMAGE * IMAGE).take(CHANNELS).enumerate() {
        let source = if channels == 1 { 0 } else { c };
        for (v, px) in plane.iter_mut().zip(resized.chunks_exact(channels)) {
            *v = (f32::from(px[source]) / 255.0 - MEAN[c]) / STD[c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    /// The test image of `scripts/reference/pil_bicubic.py`: a linear congruential generator's high bytes.
    fn lcg_image(len: usize) -> Vec<u8> {
        let mut state: u32 = 12345;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect()
    }

    /// Outputs of Pillow 13.0.0 (`scripts/reference/pil_bicubic.py`).
    const PIL_5_TO_3: [u8; 9] = [117, 93, 154, 107, 76, 111, 138, 135, 81];
    const PIL_28_TO_224_RGB_MD5: &str = "a1b12efa76b349e4823ad37fcc6bd7cb";
    const PIL_28_TO_224_GRAY_MD5: &str = "5b5b144be0c156a7db179f5f5247b89b";

    #[test]
    fn resizing_matches_pillow_bit_for_bit() {
        let small = lcg_image(25);
        assert_eq!(resize_bicubic(&small, 5, 1, 3), PIL_5_TO_3);
        let rgb = resize_bicubic(&lcg_image(28 * 28 * 3), 28, 3, 224);
        assert_eq!(crate::medmnist::hex(&Md5::digest(&rgb)), PIL_28_TO_224_RGB_MD5);
        let gray = resize_bicubic(&lcg_image(28 * 28), 28, 1, 224);
        assert_eq!(crate::medmnist::hex(&Md5::digest(&gray)), PIL_28_TO_224_GRAY_MD5);
    }

    #[test]
    fn flat_images_stay_flat_and_gray_is_replicated() {
        let flat = vec![77u8; 28 * 28];
        assert!(resize_bicubic(&flat, 28, 1, 224).iter().all(|&v| v == 77));
        let mut out = vec![0.0; CHANNELS * IMAGE * IMAGE];
        preprocess(&flat, 28, 1, &mut out);
        for c in 0..3 {
            let want = (77.0 / 255.0 - MEAN[c]) / STD[c];
            assert!(out[c * IMAGE * IMAGE..(c + 1) * IMAGE * IMAGE].iter().all(|&v| v == want));
        }
    }
}
