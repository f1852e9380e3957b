//! Coefficient-level tests of encryption and the evaluator against plaintext `f64` polynomial arithmetic
//! (independent of the encoder): every homomorphic result is decrypted and compared with the same operation
//! on the message polynomials, within a stated noise bound.

extern crate alloc;
use super::*;
use crate::ckks::encryption::{
    decrypt, encrypt_pk, encrypt_sk, plaintext_from_coefficients, plaintext_to_coefficients,
};
use crate::ckks::keys::{conjugation_galois_element, rotation_galois_element};
use alloc::vec;
use alloc::vec::Vec;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

const TEST_SEED: u64 = 0x5EA1;

struct Fixture {
    ctx: Context<Vec<u64>>,
    sk: SecretKey<Vec<u64>>,
    pk: PublicKey<Vec<u64>>,
    rlk: RelinearizationKey<Vec<u64>>,
    rng: ChaCha20Rng,
}

impl Fixture {
    fn new(literal: &ParamsLiteral) -> Self {
        let params = Params::new(literal).unwrap();
        let ctx = Context::new(&params).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(TEST_SEED);
        let sk = SecretKey::generate(&ctx, &mut rng);
        let pk = PublicKey::generate(&ctx, &sk, &mut rng);
        let rlk = RelinearizationKey::generate(&ctx, &sk, &mut rng);
        Self { ctx, sk, pk, rlk, rng }
    }

    fn n(&self) -> usize {
        self.ctx.degree()
    }

    /// A random message polynomial with coefficients in [-1, 1].
    fn message(&mut self) -> Vec<f64> {
        (0..self.n()).map(|_| (self.rng.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0).collect()
    }

    fn encrypt(&mut self, m: &[f64], level: usize, public: bool) -> Ciphertext<Vec<u64>> {
        let n = self.n();
        let scale = self.ctx.params().default_scale();
        let coefficients: Vec<f64> = m.iter().map(|x| x * scale).collect();
        let pt = plaintext_from_coefficients(&self.ctx, &coefficients, level, scale, n / 2, vec![0; (level + 1) * n])
            .unwrap();
        let (mut scratch, mut small) = (vec![0; (level + 1) * n], vec![0i8; n]);
        let out = vec![0; 2 * (level + 1) * n];
        if public {
            encrypt_pk(&self.ctx, &self.pk, &pt, &mut self.rng, out, &mut scratch, &mut small).unwrap()
        } else {
            encrypt_sk(&self.ctx, &self.sk, &pt, &mut self.rng, out, &mut scratch, &mut small).unwrap()
        }
    }

    /// Decrypts to message coefficients (divided by the scale).
    fn decrypt(&self, ct: &Ciphertext<Vec<u64>>) -> Vec<f64> {
        let n = self.n();
        let pt = decrypt(&self.ctx, &self.sk, ct, vec![0; (ct.level() + 1) * n]).unwrap();
        let mut out = vec![0.0; n];
        plaintext_to_coefficients(&self.ctx, &pt, &mut vec![0; (ct.level() + 1) * n], &mut out).unwrap();
        out.iter().map(|c| c / ct.scale()).collect()
    }
}

/// `log2` of the largest absolute error.
fn max_error_bits(want: &[f64], have: &[f64]) -> f64 {
    let worst = want.iter().zip(have).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    libm::log2(worst)
}

fn negacyclic(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = a.len();
    let mut c = vec![0.0; n];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            if i + j < n { c[i + j] += x * y } else { c[i + j - n] -= x * y }
        }
    }
    c
}

fn automorphism(a: &[f64], g: u64) -> Vec<f64> {
    let n = a.len();
    let mut out = vec![0.0; n];
    for (i, &x) in a.iter().enumerate() {
        let j = (i as u64 * g % (2 * n as u64)) as usize;
        if j < n { out[j] = x } else { out[j - n] = -x }
    }
    out
}

#[test]
fn encrypt_decrypt_round_trip_public_and_secret_key() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let top = f.ctx.params().max_level();
    for (level, public) in [(top, true), (top, false), (0, true), (2, false)] {
        let m = f.message();
        let ct = f.encrypt(&m, level, public);
        assert_eq!(ct.seed().is_some(), !public);
        // Fresh noise is about N·(small) ≈ 2^10 against a scale of 2^35: at least 20 bits.
        let bits = max_error_bits(&m, &f.decrypt(&ct));
        assert!(bits < -20.0, "level {level} public {public}: error 2^{bits}");
    }
}

#[test]
fn add_sub_neg_constants_match_plaintext() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let top = f.ctx.params().max_level();
    let (a, b) = (f.message(), f.message());
    let (mut ca, cb) = (f.encrypt(&a, top, true), f.encrypt(&b, top, false));
    ev.add_assign(&mut ca, &cb).unwrap();
    let sum: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    assert!(max_error_bits(&sum, &f.decrypt(&ca)) < -19.0);
    ev.sub_assign(&mut ca, &cb).unwrap();
    ev.sub_assign(&mut ca, &cb).unwrap();
    ev.neg_assign(&mut ca);
    let diff: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
    assert!(max_error_bits(&diff, &f.decrypt(&ca)) < -19.0);
    // Constants: add 0.5 (the constant polynomial: coefficient 0 only), multiply by 3 exactly.
    ev.add_const_assign(&mut ca, 0.5);
    ev.mul_const_assign(&mut ca, 3.0, 1.0);
    let mut want: Vec<f64> = diff.iter().map(|x| 3.0 * x).collect();
    want[0] += 1.5;
    assert!(max_error_bits(&want, &f.decrypt(&ca)) < -18.0);
}

#[test]
fn fused_plaintext_product_equals_product_then_sum() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let n = f.n();
    let (a, b) = (f.message(), f.message());
    let (ca, cb) = (f.encrypt(&a, 2, true), f.encrypt(&b, 2, true));
    let small: Vec<f64> = (0..n).map(|i| (i % 7) as f64 - 3.0).collect();
    let pt = plaintext_from_coefficients(&f.ctx, &small, 3, 1.0, n / 2, vec![0; 4 * n]).unwrap();
    let mut separate = ca.clone();
    ev.mul_plain_assign(&mut separate, &pt).unwrap();
    ev.add_assign(&mut separate, &cb).unwrap();
    let mut fused = cb.clone();
    ev.mul_plain_add_assign(&mut fused, &ca, &pt).unwrap();
    assert_eq!(fused.data(), separate.data());
    let mut wrong_scale = cb;
    wrong_scale.set_scale(wrong_scale.scale() * 2.0);
    assert_eq!(ev.mul_plain_add_assign(&mut wrong_scale, &ca, &pt), Err(crate::Error::ScaleMismatch));
}

#[test]
fn mismatches_are_typed_errors() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let m = f.message();
    let mut a = f.encrypt(&m, 3, true);
    let b = f.encrypt(&m, 2, true);
    assert_eq!(ev.add_assign(&mut a, &b), Err(crate::Error::LevelMismatch { left: 3, right: 2 }));
    let mut c = f.encrypt(&m, 2, true);
    c.set_scale(c.scale() * 2.0);
    let mut b2 = b.clone();
    assert_eq!(ev.add_assign(&mut b2, &c), Err(crate::Error::ScaleMismatch));
    let mut low = f.encrypt(&m, 0, true);
    assert_eq!(ev.rescale_assign(&mut low), Err(crate::Error::LevelOutOfRange { level: 1, max: 0 }));
}

#[test]
fn multiply_relinearize_rescale_matches_negacyclic_product() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let top = f.ctx.params().max_level();
    let (a, b) = (f.message(), f.message());
    let (mut ca, cb) = (f.encrypt(&a, top, true), f.encrypt(&b, top, true));
    ev.mul_relin_assign(&mut ca, &cb, &f.rlk).unwrap();
    ev.rescale_assign(&mut ca).unwrap();
    assert_eq!(ca.level(), top - 1);
    let want = negacyclic(&a, &b);
    // Product coefficients reach ~sqrt(N) ≈ 32; noise after rescale is ~2^-20 relative to the scale.
    let bits = max_error_bits(&want, &f.decrypt(&ca));
    assert!(bits < -15.0, "error 2^{bits}");
    // Square again at the lower level (depth 2).
    let c2 = ca.clone();
    ev.mul_relin_assign(&mut ca, &c2, &f.rlk).unwrap();
    ev.rescale_assign(&mut ca).unwrap();
    let want2 = negacyclic(&want, &want);
    let bits2 = max_error_bits(&want2, &f.decrypt(&ca));
    let magnitude = libm::log2(want2.iter().map(|x| x.abs()).fold(0.0, f64::max));
    assert!(bits2 - magnitude < -12.0, "relative error 2^{}", bits2 - magnitude);
}

#[test]
fn sharing_the_limbs_among_threads_changes_no_bit() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let top = f.ctx.params().max_level();
    let (a, b) = (f.message(), f.message());
    let (ca, cb) = (f.encrypt(&a, top, true), f.encrypt(&b, top, true));
    let key = GaloisKey::generate(&f.ctx, &f.sk, rotation_galois_element(f.n(), 3), &mut f.rng);
    // Relinearization (decomposition, inner product, ModDown), rescale, a rotation and a hoisted one.
    let run = |threads: usize| {
        crate::parallel::with_limb_threads(threads, || {
            let mut x = ca.clone();
            ev.mul_relin_assign(&mut x, &cb, &f.rlk).unwrap();
            ev.rescale_assign(&mut x).unwrap();
            let mut rotated = x.clone();
            ev.apply_galois_assign(&mut rotated, &key).unwrap();
            let hoisted = ev.rotate_hoisted(&x, &[&key]).unwrap();
            [x, rotated, hoisted[0].clone()]
        })
    };
    let sequential = run(1);
    let want = negacyclic(&a, &b);
    let bits = max_error_bits(&automorphism(&want, key.galois_element), &f.decrypt(&sequential[1]));
    assert!(bits < -15.0, "error 2^{bits}");
    for threads in [2, 3, 8] {
        let shared = run(threads);
        for (x, y) in shared.iter().zip(&sequential) {
            assert!(x.data() == y.data(), "{threads} limb threads");
        }
    }
}

#[test]
fn a_sum_of_products_relinearized_once_matches_the_sum_of_negacyclic_products() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let top = f.ctx.params().max_level();
    let messages: Vec<Vec<f64>> = (0..6).map(|_| f.message()).collect();
    let cts: Vec<_> = messages.iter().map(|m| f.encrypt(m, top, true)).collect();
    let mut acc = cts[0].clone();
    let more = [(&cts[2], &cts[3]), (&cts[4], &cts[5])];
    let mut scratch = vec![0; ev.scratch_words(top)];
    ev.dot_relin_assign_with(&mut acc, &cts[1], &more, &f.rlk, &mut scratch).unwrap();
    ev.rescale_assign(&mut acc).unwrap();
    let want: Vec<f64> = (0..3)
        .map(|i| negacyclic(&messages[2 * i], &messages[2 * i + 1]))
        .fold(vec![0.0; messages[0].len()], |s, p| s.iter().zip(&p).map(|(x, y)| x + y).collect());
    let bits = max_error_bits(&want, &f.decrypt(&acc));
    assert!(bits < -14.0, "error 2^{bits}");
    // Products of other scales do not add up.
    let mut off = cts[4].clone();
    off.set_scale(2.0 * off.scale());
    let mut acc = cts[0].clone();
    assert_eq!(
        ev.dot_relin_assign_with(&mut acc, &cts[1], &[(&off, &cts[5])], &f.rlk, &mut scratch),
        Err(crate::Error::ScaleMismatch)
    );
}

/// A rescaling prime more than twice the others (the rescale's general conversion path, not the one-add path).
const TEST_INSECURE_MIXED_SIZES: ParamsLiteral = ParamsLiteral {
    name: "test-insecure-mixed-sizes",
    log_degree: 10,
    q: &[0x3_ffff_ffff_c001, 0x7f_ffff_fffd_8801], // 50, 55
    p: &[0x7f_ffff_fffd_d001],                     // 55
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::InsecureForTestsOnly,
};

#[test]
fn rescale_by_a_prime_larger_than_twice_the_others_matches_negacyclic_product() {
    let mut f = Fixture::new(&TEST_INSECURE_MIXED_SIZES);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let (a, b) = (f.message(), f.message());
    let (mut ca, cb) = (f.encrypt(&a, 1, true), f.encrypt(&b, 1, false));
    ev.mul_relin_assign(&mut ca, &cb, &f.rlk).unwrap();
    ev.rescale_assign(&mut ca).unwrap();
    // Scale 2^80 / 2^55 = 2^25 after the rescale; its rounding noise is ~2^5: about 2^-20 relative.
    let bits = max_error_bits(&negacyclic(&a, &b), &f.decrypt(&ca));
    assert!(bits < -15.0, "error 2^{bits}");
}

#[test]
fn rotations_and_conjugation_match_automorphisms_and_hoisting_agrees() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let n = f.n();
    let level = 2;
    let m = f.message();
    let ct = f.encrypt(&m, level, true);
    let mut elements: Vec<u64> =
        [1i64, 2, 4, 64, 256, 511, -1, -3, 77].iter().map(|&k| rotation_galois_element(n, k)).collect();
    elements.push(conjugation_galois_element(n));
    // Keys made for the ciphertext's level (q_0..=q_2 and P, of both digits) and no higher.
    let keys: Vec<GaloisKey<Vec<u64>>> =
        elements.iter().map(|&g| GaloisKey::generate_at(&f.ctx, &f.sk, g, level, &mut f.rng).unwrap()).collect();
    let key_refs: Vec<&GaloisKey<Vec<u64>>> = keys.iter().collect();
    let hoisted = ev.rotate_hoisted(&ct, &key_refs).unwrap();
    // A key for lower levels is refused, and the ciphertext left as it was.
    let low = GaloisKey::generate_at(&f.ctx, &f.sk, elements[0], level - 1, &mut f.rng).unwrap();
    let mut refused = ct.clone();
    assert_eq!(
        ev.apply_galois_assign(&mut refused, &low),
        Err(crate::Error::LevelOutOfRange { level, max: level - 1 })
    );
    assert_eq!(refused, ct);
    for (key, hoisted) in keys.iter().zip(&hoisted) {
        let mut rotated = ct.clone();
        ev.apply_galois_assign(&mut rotated, key).unwrap();
        let want = automorphism(&m, key.galois_element);
        let plain_bits = max_error_bits(&want, &f.decrypt(&rotated));
        let hoisted_bits = max_error_bits(&want, &f.decrypt(hoisted));
        assert!(
            plain_bits < -19.0 && hoisted_bits < -19.0,
            "g = {}: 2^{plain_bits}, 2^{hoisted_bits}",
            key.galois_element
        );
    }
}

#[test]
fn drop_level_keeps_the_message() {
    let mut f = Fixture::new(&presets::TEST_INSECURE_N1024);
    let ev_ctx = Context::new(f.ctx.params()).unwrap();
    let ev = Evaluator::new(&ev_ctx);
    let m = f.message();
    let mut ct = f.encrypt(&m, 4, false);
    let n = f.ctx.degree();
    let truncated = Ciphertext::truncated(&ct, n, 1).unwrap();
    ev.drop_level_assign(&mut ct, 3).unwrap();
    assert_eq!(ct.level(), 1);
    assert!(max_error_bits(&m, &f.decrypt(&ct)) < -20.0);
    assert_eq!((truncated.c0(n), truncated.c1(n), truncated.scale()), (ct.c0(n), ct.c1(n), ct.scale()));
    assert!(matches!(Ciphertext::truncated(&ct, n, 2), Err(crate::Error::LevelOutOfRange { level: 2, max: 1 })));
}

mod slots;
