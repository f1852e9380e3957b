//! Bootstrapping against plaintext references: the linear transforms, every step of the pipeline, whole
//! bootstraps of random complex messages in `[-1, 1]` (sparse and full packing), ten bootstraps in a row, and
//! the errors. All on the insecure N = 2^12 test preset, and named so.
//!
//! Precision is reported in bits, `-log2` of the mean and of the largest absolute error over the slots.

use super::*;
use crate::ckks::encryption::{decrypt, encrypt_sk, plaintext_to_coefficients};
use crate::math::complex::Complex;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

struct Fixture {
    ctx: Context<Vec<u64>>,
    encoder: Encoder<Vec<f64>>,
    sk: SecretKey<Vec<u64>>,
    rng: ChaCha20Rng,
}

/// The message scale: the parameters' default, 2^40.
const SCALE: f64 = (1u64 << 40) as f64;

impl Fixture {
    fn new() -> Self {
        let ctx = Context::new(&Params::new(TEST_INSECURE_BOOTSTRAP_N4096.params).unwrap()).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(0xB007);
        let sk = SecretKey::generate(&ctx, &mut rng);
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        Self { ctx, encoder, sk, rng }
    }

    fn values(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0).collect()
    }

    /// An encryption of `re + i·im` at `level`.
    fn encrypt(&mut self, re: &[f64], im: &[f64], level: usize) -> Ciphertext<Vec<u64>> {
        let n = self.ctx.degree();
        let mut coeffs = vec![0.0; n];
        self.encoder.encode(re, im, SCALE, &mut coeffs).unwrap();
        let pt =
            plaintext_from_coefficients(&self.ctx, &coeffs, level, SCALE, re.len(), vec![0; (level + 1) * n]).unwrap();
        let (mut scratch, mut small) = (vec![0; (level + 1) * n], vec![0i8; n]);
        let out = vec![0; 2 * (level + 1) * n];
        encrypt_sk(&self.ctx, &self.sk, &pt, &mut self.rng, out, &mut scratch, &mut small).unwrap()
    }

    fn decrypt(&self, ct: &Ciphertext<Vec<u64>>) -> (Vec<f64>, Vec<f64>) {
        let n = self.ctx.degree();
        let pt = decrypt(&self.ctx, &self.sk, ct, vec![0; (ct.level() + 1) * n]).unwrap();
        let mut scratch = vec![0; (ct.level() + 1) * n];
        let mut coeffs = vec![0.0; n];
        plaintext_to_coefficients(&self.ctx, &pt, &mut scratch, &mut coeffs).unwrap();
        let (mut re, mut im) = (vec![0.0; ct.slots()], vec![0.0; ct.slots()]);
        self.encoder.decode(&coeffs, ct.scale(), &mut re, &mut im).unwrap();
        (re, im)
    }
}

/// `-log2` of the mean and of the largest absolute error.
fn precision_bits(want: &[f64], have: &[f64]) -> (f64, f64) {
    let errors: Vec<f64> = want.iter().zip(have).map(|(w, h)| libm::fabs(w - h)).collect();
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    (-libm::log2(mean), -libm::log2(errors.iter().copied().fold(0.0, f64::max)))
}

struct Setup {
    f: Fixture,
    bootstrapper: Bootstrapper,
    keys: EvaluationKeys,
}

fn setup(slots: usize) -> Setup {
    let mut f = Fixture::new();
    let bootstrapper = Bootstrapper::new(&f.ctx, &TEST_INSECURE_BOOTSTRAP_N4096, slots, SCALE).unwrap();
    let levels = Bootstrapper::galois_levels_for(f.ctx.degree(), &TEST_INSECURE_BOOTSTRAP_N4096, slots).unwrap();
    assert_eq!(levels, bootstrapper.galois_levels(), "the key owner's list without precomputation");
    // SlotToCoeff's own rotations need keys for its levels only, below CoeffToSlot's.
    let literal = TEST_INSECURE_BOOTSTRAP_N4096;
    let cts_bottom = f.ctx.params().max_level() + 1 - literal.coeffs_to_slots_levels;
    let stc_top = bootstrapper.output_level() + literal.slots_to_coeffs_levels;
    assert!(levels.iter().all(|&(_, level)| level >= cts_bottom || level <= stc_top));
    assert!(levels.iter().any(|&(_, level)| level <= stc_top), "{levels:?}");
    let keys = bootstrapper.generate_keys(&f.ctx, &f.sk, &mut f.rng).unwrap();
    Setup { f, bootstrapper, keys }
}

/// The slot of the CoeffToSlot output holding coefficient `k'` of `t' ∈ Z[Y]`, `Y = X^g`: real and imaginary
/// parts of the folded, bit-reversed coefficients (`2n` slots, or two ciphertexts of `n`).
fn coefficient_index(slots: usize, parts: usize, part: usize, slot: usize) -> usize {
    let (half, index) = if parts == 1 { (slot / slots, slot % slots) } else { (part, slot) };
    let bits = slots.trailing_zeros();
    let reversed = if bits == 0 { index } else { index.reverse_bits() >> (usize::BITS - bits) };
    reversed + half * slots
}

#[test]
fn linear_transforms_match_their_plaintext_reference_insecure_n4096() {
    let mut f = Fixture::new();
    let n = f.ctx.degree();
    let cases: [(usize, Vec<usize>); 3] =
        [(64, vec![0, 1, 2, 32, 33, 63]), (64, (0..12).chain(58..64).collect()), (32, (0..32).collect())];
    for (slots, rotations) in cases {
        let mut m = DiagonalMatrix::zero(slots);
        for &a in &rotations {
            let (re, im) = (f.values(slots), f.values(slots));
            m.add_diagonal(a, re.iter().zip(&im).map(|(&r, &i)| Complex::new(r, i)).collect());
        }
        let (re, im) = (f.values(slots), f.values(slots));
        let level = 5;
        let ct = f.encrypt(&re, &im, level);
        let q = f.ctx.params().q()[level].value() as f64;
        let transform = LinearTransform::new(&f.ctx, &f.encoder, &m, level, q).unwrap();
        // Keys from the matrix alone (what a key owner computes without encoding anything).
        let rotations = m.evaluation_rotations();
        let (mut sorted, mut encoded): (Vec<i64>, Vec<i64>) = (rotations.clone(), transform.rotations().collect());
        sorted.sort_unstable();
        encoded.sort_unstable();
        assert_eq!(sorted, encoded);
        // Keys made for the transform's level and no higher suffice; keys for one level less are refused.
        let mut keys_at = |key_level| -> Vec<GaloisKey<Vec<u64>>> {
            let element = |r| rotation_galois_element(n, r);
            rotations
                .iter()
                .map(|&r| GaloisKey::generate_at(&f.ctx, &f.sk, element(r), key_level, &mut f.rng).unwrap())
                .collect()
        };
        let (keys, low_keys) = (keys_at(level), keys_at(level - 1));
        let ev = Evaluator::new(&f.ctx);
        assert_eq!(
            transform.evaluate(&ev, &ct, &low_keys, 2).err(),
            Some(crate::Error::LevelOutOfRange { level, max: level - 1 })
        );
        let mut out = transform.evaluate(&ev, &ct, &keys, 2).unwrap();
        ev.rescale_assign(&mut out).unwrap();
        let (have_re, have_im) = f.decrypt(&out);
        let x: Vec<Complex> = re.iter().zip(&im).map(|(&r, &i)| Complex::new(r, i)).collect();
        let worst = m
            .apply(&x)
            .iter()
            .zip(have_re.iter().zip(&have_im))
            .map(|(w, (&r, &i))| (*w - Complex::new(r, i)).abs())
            .fold(0.0, f64::max);
        // Key-switching noise at scale 2^40 times up to 32 diagonals of entries up to √2: measured ≤ 2^-25.8.
        assert!(worst < libm::exp2(-22.0), "{slots} slots, {} diagonals: 2^{}", rotations.len(), libm::log2(worst));
    }
}

#[test]
fn each_step_matches_its_plaintext_reference_insecure_n4096() {
    let slots = 32;
    let Setup { mut f, bootstrapper, keys } = setup(slots);
    let (re, im) = (f.values(slots), f.values(slots));
    let ct = f.encrypt(&re, &im, 0);
    let ev = Evaluator::new(&f.ctx);
    let n = f.ctx.degree();
    let gap = n / (2 * slots);
    let mut message = vec![0.0; n];
    f.encoder.encode(&re, &im, SCALE, &mut message).unwrap();
    let q0 = f.ctx.params().q()[0].value() as f64;
    let bound = TEST_INSECURE_BOOTSTRAP_N4096.bound().unwrap();

    // ModRaise: t ≡ g·Δ·m (mod q_0) with |I| ≤ K; errors in units of the message coefficients.
    let raised = bootstrapper.raise(&ev, &ct, &keys).unwrap();
    let pt = decrypt(&f.ctx, &f.sk, &raised, vec![0; (raised.level() + 1) * n]).unwrap();
    let mut t = vec![0.0; n];
    plaintext_to_coefficients(&f.ctx, &pt, &mut vec![0; (raised.level() + 1) * n], &mut t).unwrap();
    t.iter_mut().for_each(|c| *c /= gap as f64);
    let (mut worst, mut largest_i) = (0.0f64, 0.0f64);
    for k in (0..n).step_by(gap) {
        let i = libm::round(t[k] / q0);
        largest_i = largest_i.max(libm::fabs(i));
        worst = worst.max(libm::fabs(t[k] - i * q0 - message[k]) / SCALE);
    }
    assert!(largest_i <= bound && worst < libm::exp2(-30.0), "|I| ≤ {largest_i}, 2^{}", libm::log2(worst));

    // CoeffToSlot: t'_k / (q_0·K) in bit-reversed real slots, imaginary parts zero.
    let parts = bootstrapper.coeffs_to_slots(&ev, &raised, &keys).unwrap();
    let mut worst = 0.0f64;
    for (p, part) in parts.iter().enumerate() {
        let (y, y_im) = f.decrypt(part);
        for j in 0..part.slots() {
            let k = coefficient_index(slots, parts.len(), p, j) * gap;
            worst = worst.max(libm::fabs(y[j] - t[k] / q0 / bound)).max(libm::fabs(y_im[j]));
        }
    }
    // In message units: an error δ in x = t/q_0 is an error K·q_0/Δ·δ in m.
    let cts_error = worst * bound * q0 / SCALE;
    assert!(cts_error < libm::exp2(-27.0), "CoeffToSlot: 2^{}", libm::log2(cts_error));

    // EvalMod: the message coefficients.
    let parts: Vec<_> = parts.iter().map(|p| bootstrapper.eval_mod(&ev, p, &keys).unwrap()).collect();
    let mut worst = 0.0f64;
    for (p, part) in parts.iter().enumerate() {
        for (j, y) in f.decrypt(part).0.iter().enumerate() {
            let k = coefficient_index(slots, parts.len(), p, j) * gap;
            worst = worst.max(libm::fabs(y - message[k] / SCALE));
        }
    }
    assert!(worst < libm::exp2(-25.0), "EvalMod: 2^{}", libm::log2(worst));

    // SlotToCoeff: the slots again.
    let out = bootstrapper.slots_to_coeffs(&ev, parts, &keys).unwrap();
    let (have_re, have_im) = f.decrypt(&out);
    let (mean, max) = precision_bits(&[re, im].concat(), &[have_re, have_im].concat());
    assert!(mean >= 25.0 && max >= 23.0, "{mean:.1} / {max:.1} bits");
}

/// Measured on 2048 complex slots: 26 bits mean, 23 max. At full packing SlotToCoeff sums `n` coefficient
/// errors into each slot, hence `√n` more error than the sparse case.
#[test]
fn insecure_n4096_full_slot_bootstrap_keeps_23_bits() {
    let slots = 2048;
    let Setup { mut f, bootstrapper, keys } = setup(slots);
    let (re, im) = (f.values(slots), f.values(slots));
    let ct = f.encrypt(&re, &im, 1);
    let out = bootstrapper.bootstrap(&Evaluator::new(&f.ctx), &ct, &keys).unwrap();
    assert_eq!((out.level(), out.scale(), out.slots()), (bootstrapper.output_level(), SCALE, slots));
    let (have_re, have_im) = f.decrypt(&out);
    let (mean, max) = precision_bits(&[re, im].concat(), &[have_re, have_im].concat());
    assert!(mean >= 23.0 && max >= 21.0, "{mean:.1} / {max:.1} bits");
}

#[test]
fn insecure_n4096_ten_bootstraps_in_a_row_do_not_drift() {
    let slots = 64;
    let Setup { mut f, bootstrapper, keys } = setup(slots);
    let re = f.values(slots);
    let mut ct = f.encrypt(&re, &[], 0);
    let ev = Evaluator::new(&f.ctx);
    let mut means = Vec::new();
    for _ in 0..10 {
        ct = bootstrapper.bootstrap(&ev, &ct, &keys).unwrap();
        means.push(precision_bits(&re, &f.decrypt(&ct).0).0);
    }
    // Errors add up, partly systematically (the sine's cubic term), so ten bootstraps cost at most log2(10) ≈
    // 3.3 bits: measured 29.2 → 25.8. Drift would compound instead.
    assert!(means[9] >= means[0] - 3.8 && means[9] >= 24.0, "{means:.1?}");
}

#[test]
fn bad_inputs_are_typed_errors() {
    let literal = TEST_INSECURE_BOOTSTRAP_N4096;
    let mut f = Fixture::new();
    for slots in [0, 3, 4096] {
        assert_eq!(
            Bootstrapper::new(&f.ctx, &literal, slots, SCALE).err(),
            Some(Error::InvalidSlots { slots, max: 2048 })
        );
    }
    let too_deep = BootstrapLiteral { coeffs_to_slots_levels: 16, ..literal };
    assert_eq!(
        Bootstrapper::new(&f.ctx, &too_deep, 16, SCALE).err(),
        Some(Error::LevelOutOfRange { level: too_deep.depth(), max: 27 })
    );
    let dense = BootstrapLiteral { encapsulation: literal.params, ..literal };
    assert_eq!(Bootstrapper::new(&f.ctx, &dense, 16, SCALE).err(), Some(Error::InvalidEncapsulation));

    let bootstrapper = Bootstrapper::new(&f.ctx, &literal, 16, SCALE).unwrap();
    let mut keys = bootstrapper.generate_keys(&f.ctx, &f.sk, &mut f.rng).unwrap();
    let values = f.values(16);
    let wrong_slots = f.encrypt(&values[..8], &[], 0);
    let mut wrong_scale = f.encrypt(&values, &[], 0);
    wrong_scale.set_scale(2.0 * SCALE);
    let ct = f.encrypt(&values, &[], 0);
    let ev = Evaluator::new(&f.ctx);
    assert_eq!(
        bootstrapper.bootstrap(&ev, &wrong_slots, &keys).err(),
        Some(Error::SlotsMismatch { left: 8, right: 16 })
    );
    assert_eq!(bootstrapper.bootstrap(&ev, &wrong_scale, &keys).err(), Some(Error::ScaleMismatch));
    let missing = keys.galois.pop().unwrap().galois_element;
    assert_eq!(
        bootstrapper.bootstrap(&ev, &ct, &keys).err(),
        Some(Error::MissingGaloisKey { galois_element: missing })
    );
}

/// A key-switching error with a bias common to all coefficients (a plain fast basis extension's `u ∈ [0, K)`)
/// lands on the slots next to 1, where `|Σ_k ζ^k| ≈ 2N/π`: it showed as errors 50× the mean at slot 0 after
/// a rotation and cost bootstrapping 5 bits of its worst slot. Centered extensions remove it.
#[test]
fn key_switching_error_is_not_concentrated_on_slot_zero_insecure_n4096() {
    let mut f = Fixture::new();
    let (n, slots) = (f.ctx.degree(), 2048);
    let level = f.ctx.params().max_level();
    let (re, im) = (f.values(slots), f.values(slots));
    let scale = libm::exp2(57.0);
    let mut coeffs = vec![0.0; n];
    f.encoder.encode(&re, &im, scale, &mut coeffs).unwrap();
    let pt = plaintext_from_coefficients(&f.ctx, &coeffs, level, scale, slots, vec![0; (level + 1) * n]).unwrap();
    let (mut scratch, mut small) = (vec![0; (level + 1) * n], vec![0i8; n]);
    let out = vec![0; 2 * (level + 1) * n];
    let mut ct = encrypt_sk(&f.ctx, &f.sk, &pt, &mut f.rng, out, &mut scratch, &mut small).unwrap();
    let key = GaloisKey::generate(&f.ctx, &f.sk, rotation_galois_element(n, 128), &mut f.rng);
    Evaluator::new(&f.ctx).apply_galois_assign(&mut ct, &key).unwrap();
    let (have_re, have_im) = f.decrypt(&ct);
    let errors: Vec<f64> = (0..slots)
        .map(|j| libm::hypot(have_re[j] - re[(j + 128) % slots], have_im[j] - im[(j + 128) % slots]))
        .collect();
    let mean = errors.iter().sum::<f64>() / slots as f64;
    assert!(errors[0] < 8.0 * mean && errors[1] < 8.0 * mean, "slot 0: {:e}, mean {mean:e}", errors[0]);
}
