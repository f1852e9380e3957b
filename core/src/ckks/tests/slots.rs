//! Slot-level tests: the encoder, encryption and every operation (the linear layer included) against
//! plaintext `f64` slots.

use super::*;
use crate::ckks::linear_layer::{LinearLayer, Work, plain_times_encrypted_rows};

impl Fixture {
    fn encoder(&self) -> Encoder<Vec<f64>> {
        Encoder::new(self.ctx.log_degree()).unwrap()
    }

    /// Random slot values in [-1, 1].
    fn slots(&mut self, count: usize) -> Vec<f64> {
        (0..count).map(|_| (self.rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 * 2.0 - 1.0).collect()
    }

    fn encrypt_slots(&mut self, values: &[f64], level: usize) -> Ciphertext<Vec<u64>> {
        let n = self.n();
        let scale = self.ctx.params().default_scale();
        let mut coefficients = vec![0.0; n];
        self.encoder().encode_real(values, scale, &mut coefficients).unwrap();
        let pt =
            plaintext_from_coefficients(&self.ctx, &coefficients, level, scale, values.len(), vec![0; (level + 1) * n])
                .unwrap();
        let (mut scratch, mut small) = (vec![0; (level + 1) * n], vec![0i8; n]);
        encrypt_pk(&self.ctx, &self.pk, &pt, &mut self.rng, vec![0; 2 * (level + 1) * n], &mut scratch, &mut small)
            .unwrap()
    }

    fn decrypt_slots(&self, ct: &Ciphertext<Vec<u64>>) -> Vec<f64> {
        let n = self.n();
        let pt = decrypt(&self.ctx, &self.sk, ct, vec![0; (ct.level() + 1) * n]).unwrap();
        let mut coefficients = vec![0.0; n];
        plaintext_to_coefficients(&self.ctx, &pt, &mut vec![0; (ct.level() + 1) * n], &mut coefficients).unwrap();
        let (mut re, mut im) = (vec![0.0; ct.slots()], vec![0.0; ct.slots()]);
        self.encoder().decode(&coefficients, ct.scale(), &mut re, &mut im).unwrap();
        re
    }

    fn rotation_keys(&mut self, steps: &[i64]) -> Vec<GaloisKey<Vec<u64>>> {
        let n = self.n();
        steps
            .iter()
            .map(|&k| GaloisKey::generate(&self.ctx, &self.sk, rotation_galois_element(n, k), &mut self.rng))
            .collect()
    }
}

fn assert_slots_close(name: &str, want: &[f64], have: &[f64], min_bits: f64) {
    let bits = -max_error_bits(want, &have[..want.len()]);
    assert!(bits >= min_bits, "{name}: {bits:.1} bits of precision, {min_bits} required");
}

#[test]
fn slot_operations_match_plaintext_slots() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let top = f.ctx.params().max_level();
    for slots in [512, 64] {
        let (a, b) = (f.slots(slots), f.slots(slots));
        let (ca, cb) = (f.encrypt_slots(&a, top), f.encrypt_slots(&b, top));
        // Fresh: noise ~2^10 over scale 2^35 and an N-point sum in decoding: at least 20 bits.
        assert_slots_close("fresh", &a, &f.decrypt_slots(&ca), 20.0);
        let mut sum = ca.clone();
        ev.add_assign(&mut sum, &cb).unwrap();
        assert_slots_close(
            "add",
            &a.iter().zip(&b).map(|(x, y)| x + y).collect::<Vec<_>>(),
            &f.decrypt_slots(&sum),
            19.0,
        );
        let mut product = ca.clone();
        ev.mul_relin_assign(&mut product, &cb, &f.rlk).unwrap();
        ev.rescale_assign(&mut product).unwrap();
        let want: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
        assert_slots_close("mul_relin+rescale", &want, &f.decrypt_slots(&product), 18.0);
        let mut scaled = ca.clone();
        ev.mul_const_assign(&mut scaled, -0.75, f.ctx.params().q()[top].value() as f64);
        ev.rescale_assign(&mut scaled).unwrap();
        ev.add_const_assign(&mut scaled, 0.25);
        let want: Vec<f64> = a.iter().map(|x| -0.75 * x + 0.25).collect();
        assert_slots_close("mul_const+add_const", &want, &f.decrypt_slots(&scaled), 18.0);
        // acc += 2·a with `a` a level up, read in place: (-0.75·a + 0.25) + 2·a at top − 1.
        let mut low_b = cb.clone();
        ev.drop_level_assign(&mut low_b, 2).unwrap();
        let mut acc = scaled.clone();
        ev.mul_const_add_assign(&mut acc, &ca, 2.0, scaled.scale() / ca.scale()).unwrap();
        let want: Vec<f64> = a.iter().map(|x| 1.25 * x + 0.25).collect();
        assert_slots_close("mul_const_add", &want, &f.decrypt_slots(&acc), 18.0);
        let below = ev.mul_const_add_assign(&mut acc, &low_b, 1.0, 1.0);
        assert_eq!(below, Err(crate::Error::LevelMismatch { left: top - 1, right: top - 2 }));
        assert_eq!(ev.mul_const_add_assign(&mut acc, &ca, 1.0, 2.0), Err(crate::Error::ScaleMismatch));
    }
}

#[test]
fn rotations_by_powers_of_two_and_random_steps_rotate_slots() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let slots = 512;
    let steps: Vec<i64> = (0..9).map(|i| 1i64 << i).chain([3, 100, 509, -1, -77]).collect();
    let keys = f.rotation_keys(&steps);
    let a = f.slots(slots);
    let ct = f.encrypt_slots(&a, 1);
    let key_refs: Vec<&GaloisKey<Vec<u64>>> = keys.iter().collect();
    let hoisted = ev.rotate_hoisted(&ct, &key_refs).unwrap();
    for ((&k, key), hoisted) in steps.iter().zip(&keys).zip(&hoisted) {
        let want: Vec<f64> = (0..slots).map(|j| a[(j as i64 + k).rem_euclid(slots as i64) as usize]).collect();
        let mut rotated = ct.clone();
        ev.apply_galois_assign(&mut rotated, key).unwrap();
        assert_slots_close(&alloc::format!("rotate {k}"), &want, &f.decrypt_slots(&rotated), 19.0);
        assert_slots_close(&alloc::format!("hoisted {k}"), &want, &f.decrypt_slots(hoisted), 19.0);
    }
    // Slot sums with power-of-two keys.
    let mut summed = ct.clone();
    ev.sum_slots_assign(&mut summed, &keys[..9]).unwrap();
    let total: f64 = a.iter().sum();
    assert_slots_close("sum_slots", &vec![total; slots], &f.decrypt_slots(&summed), 14.0);
    let missing = ev.sum_slots_assign(&mut summed, &keys[..2]);
    assert!(matches!(missing, Err(crate::Error::MissingGaloisKey { .. })));
    // a + Σ rot(a, k) doubly hoisted, against the slot-wise sum (the noise of one key switch, not of 14).
    let mut sum = ct.clone();
    ev.rotation_sum_assign(&mut sum, &key_refs).unwrap();
    let want: Vec<f64> = (0..slots)
        .map(|j| a[j] + steps.iter().map(|&k| a[(j as i64 + k).rem_euclid(slots as i64) as usize]).sum::<f64>())
        .collect();
    assert_slots_close("rotation sum", &want, &f.decrypt_slots(&sum), 17.0);
    let mut unchanged = ct.clone();
    ev.rotation_sum_assign::<Vec<u64>>(&mut unchanged, &[]).unwrap();
    assert_slots_close("empty rotation sum", &a, &f.decrypt_slots(&unchanged), 19.0);
}

#[test]
fn linear_layer_matches_f64_matrix_product() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let encoder = f.encoder();
    for (rows, cols, slots) in [(10, 100, 128), (7, 192, 256), (1, 5, 8), (16, 16, 16)] {
        let weights = f.slots(rows * cols);
        let bias = f.slots(rows);
        let x = f.slots(cols);
        let mut padded = x.clone();
        padded.resize(slots, 0.0);
        let layer = LinearLayer::new(&weights, rows, cols, Some(&bias), slots).unwrap();
        let steps: Vec<u64> = layer.galois_elements(f.n()).to_vec();
        let keys: Vec<GaloisKey<Vec<u64>>> =
            steps.iter().map(|&g| GaloisKey::generate(&f.ctx, &f.sk, g, &mut f.rng)).collect();
        let ct = f.encrypt_slots(&padded, 2);
        let mut out = Ciphertext::zero(f.n(), 2, 1.0, slots);
        let mut work = vec![0; layer.work_words(&ev, 2)];
        let mut float_work = vec![0.0; layer.float_work_words(f.n())];
        layer
            .evaluate_with(&ev, &encoder, &ct, &keys, &mut out, Work { words: &mut work, floats: &mut float_work })
            .unwrap();
        assert_eq!(out.level(), 1);
        let want: Vec<f64> =
            (0..rows).map(|r| bias[r] + (0..cols).map(|c| weights[r * cols + c] * x[c]).sum::<f64>()).collect();
        // |y| ≲ cols; the noise of r products, k + r/k + log(n/r) rotations stays below 2^-12 of the scale.
        assert_slots_close(&alloc::format!("linear {rows}x{cols}"), &want, &f.decrypt_slots(&out), 12.0);
    }
    // Shape errors and a missing key are typed errors.
    let w = [0.0; 6];
    assert!(matches!(LinearLayer::new(&w, 2, 3, None, 2), Err(crate::Error::Shape { .. })));
    assert!(matches!(LinearLayer::new(&w, 2, 4, None, 8), Err(crate::Error::Shape { .. })));
}

#[test]
fn plain_vector_times_encrypted_rows_matches_f64() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let encoder = f.encoder();
    let (rows, cols, block) = (8, 50, 64);
    let weights = f.slots(rows * cols);
    let x = f.slots(cols);
    let mut packed = vec![0.0; rows * block];
    for r in 0..rows {
        packed[r * block..r * block + cols].copy_from_slice(&weights[r * cols..(r + 1) * cols]);
    }
    let mut ct = f.encrypt_slots(&packed, 2);
    let keys = f.rotation_keys(&[1, 2, 4, 8, 16, 32]);
    let mut work = vec![0; 3 * ev.scratch_words(2)];
    let mut float_work = vec![0.0; f.n() + rows * block];
    plain_times_encrypted_rows(
        &ev,
        &encoder,
        &mut ct,
        &x,
        block,
        &keys,
        Work { words: &mut work, floats: &mut float_work },
    )
    .unwrap();
    let have = f.decrypt_slots(&ct);
    let want: Vec<f64> = (0..rows).map(|r| (0..cols).map(|c| weights[r * cols + c] * x[c]).sum()).collect();
    let picked: Vec<f64> = (0..rows).map(|r| have[r * block]).collect();
    assert_slots_close("x·Enc(W)", &want, &picked, 12.0);
}

/// `Slots`, `Encryptor` and `Decryptor` round trip complex slot values through a plaintext (within the encoder's rounding) and through
/// encryption under either key at every level (within the fresh noise), and refuses a slot count the ring lacks.
#[test]
fn slot_values_round_trip_through_plaintexts_and_both_encryptions() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let encoder = Encoder::new(f.ctx.log_degree()).unwrap();
    let re: Vec<f64> = f.message()[..64].to_vec();
    let im: Vec<f64> = f.message()[..64].to_vec();
    let slots = Slots::new(&f.ctx, &encoder);
    let scale = f.ctx.params().default_scale();
    let (r, i) = slots.decode(&slots.encode(&re, &im, 1, scale).unwrap()).unwrap();
    assert!(max_error_bits(&re, &r).max(max_error_bits(&im, &i)) < -25.0, "rounding only");
    for level in 0..=f.ctx.params().max_level() {
        for public in [false, true] {
            let ct = if public {
                Encryptor::new(&f.ctx, &encoder, EncryptionKey::Public(&f.pk))
                    .encrypt(&re, &im, level, scale, &mut f.rng)
                    .unwrap()
            } else {
                Encryptor::new(&f.ctx, &encoder, EncryptionKey::Secret(&f.sk))
                    .encrypt(&re, &[], level, scale, &mut f.rng)
                    .unwrap()
            };
            assert_eq!((ct.level(), ct.slots()), (level, 64));
            let (r, i) = Decryptor::new(&f.ctx, &encoder, &f.sk).decrypt_complex(&ct).unwrap();
            let want_im = if public { im.clone() } else { vec![0.0; 64] };
            let bits = max_error_bits(&re, &r).max(max_error_bits(&want_im, &i));
            assert!(bits < -12.0, "level {level}, public {public}: error 2^{bits}");
        }
    }
    assert!(slots.encode(&[0.5; 3], &[], 0, scale).is_err(), "3 slots");
    assert!(slots.encode(&vec![0.5; f.ctx.degree()], &[], 0, scale).is_err(), "N slots");
}
