//! The core's arithmetic and CKKS round trips, run ON the emulated Cortex-M7 (defmt-test; any failure exits QEMU
//! with a non-zero status). Every object lives in static buffers: no allocator.
#![no_std]
#![no_main]

use medblind_firmware as _;

use medblind_core::ckks::encryption::{decrypt, encrypt_sk, plaintext_from_coefficients, plaintext_to_coefficients};
use medblind_core::ckks::{Context, Encoder, Params, SecretKey, presets};
use medblind_core::math::ntt::NttTable;
use medblind_core::math::prime::{NttPrimes, is_prime};
use medblind_core::math::zq::Modulus;
use medblind_core::wire;
use medblind_firmware::buffers::{Buffers, N, Work};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// What the tests share: the firmware preset's context and encoder in static buffers.
pub struct State {
    ctx: Context<&'static mut [u64]>,
    encoder: Encoder<&'static mut [f64]>,
    work: Work,
}

fn max_slot_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| libm::fabs(x - y)).fold(0.0, f64::max)
}

#[defmt_test::tests]
mod tests {
    use super::*;
    use defmt::{assert, assert_eq};

    #[init]
    fn init() -> State {
        let params = Params::new(&presets::N4096_QP109_S28).unwrap();
        let Buffers { tables, encoder, work } = Buffers::take().unwrap();
        let ctx = Context::new_in(&params, tables).unwrap();
        let encoder = Encoder::new_in(12, encoder).unwrap();
        State { ctx, encoder, work }
    }

    #[test]
    fn modular_arithmetic_matches_u128_reference() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for bits in [20u32, 40, 61] {
            let m = Modulus::new(NttPrimes::new(bits, 16).next().unwrap()).unwrap();
            let q = m.value() as u128;
            for _ in 0..64 {
                let (a, b) = (rng.next_u64() % m.value(), rng.next_u64() % m.value());
                assert_eq!(m.mul(a, b) as u128, (a as u128 * b as u128) % q);
                assert_eq!(m.mul_shoup(a, b, m.shoup(b)), m.mul(a, b));
                assert_eq!(m.add(a, b) as u128, (a as u128 + b as u128) % q);
                assert_eq!(m.sub(m.add(a, b), b), a);
            }
        }
        assert!(is_prime((1 << 61) - 1) && !is_prime(3_215_031_751));
    }

    #[test]
    fn ntt_product_matches_schoolbook() {
        let q = NttPrimes::new(40, 16).next().unwrap();
        let m = Modulus::new(q).unwrap();
        let mut storage = [0u64; 64];
        let table = NttTable::new_in(m, 4, &mut storage[..]).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut a = [0u64; 16];
        let mut b = [0u64; 16];
        a.iter_mut().chain(b.iter_mut()).for_each(|x| *x = rng.next_u64() % q);
        let mut want = [0u64; 16];
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in b.iter().enumerate() {
                let p = m.mul(x, y);
                let k = (i + j) % 16;
                want[k] = if i + j < 16 { m.add(want[k], p) } else { m.sub(want[k], p) };
            }
        }
        table.forward(&mut a);
        table.forward(&mut b);
        let mut c = [0u64; 16];
        for ((z, &x), &y) in c.iter_mut().zip(&a).zip(&b) {
            *z = m.mul(x, y);
        }
        table.inverse(&mut c);
        assert_eq!(c, want);
    }

    #[test]
    fn ntt_4096_round_trip_with_the_preset_primes(state: &mut State) {
        let n = N;
        let poly = &mut state.work.plaintext[..n];
        let q = state.ctx.params().q()[0].value();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        poly.iter_mut().for_each(|x| *x = rng.next_u64() % q);
        let table = NttTable::new_in(state.ctx.params().q()[0], 12, &mut state.work.ciphertext[..4 * n]).unwrap();
        let copy_sum: u64 = poly.iter().fold(0u64, |s, &x| s.wrapping_add(x));
        table.forward(poly);
        table.inverse(poly);
        assert_eq!(poly.iter().fold(0u64, |s, &x| s.wrapping_add(x)), copy_sum);
    }

    #[test]
    fn encoder_round_trip_keeps_30_bits(state: &mut State) {
        let mut values = [0.0f64; 256];
        for (i, v) in values.iter_mut().enumerate() {
            *v = libm::sin(i as f64 * 0.37);
        }
        let coefficients = &mut state.work.coefficients[..];
        state.encoder.encode_real(&values, libm::exp2(40.0), coefficients).unwrap();
        let (mut re, mut im) = ([0.0f64; 256], [0.0f64; 256]);
        state.encoder.decode(coefficients, libm::exp2(40.0), &mut re, &mut im).unwrap();
        let error = max_slot_error(&values, &re);
        defmt::info!("encoder round trip, 256 slots at 2^40: max error {=f64}", error);
        assert!(error < libm::exp2(-30.0));
    }

    #[test]
    fn seeded_encryption_round_trip_and_wire_bytes(state: &mut State) {
        let ctx = &state.ctx;
        let b = &mut state.work;
        let sk =
            SecretKey::generate_in(ctx, &mut ChaCha20Rng::seed_from_u64(4), &mut b.secret_key[..], &mut b.small[..])
                .unwrap();
        let mut values = [0.0f64; 256];
        for (i, v) in values.iter_mut().enumerate() {
            *v = libm::cos(i as f64 * 0.11);
        }
        let scale = ctx.params().default_scale();
        state.encoder.encode_real(&values, scale, &mut b.coefficients[..]).unwrap();
        let pt = plaintext_from_coefficients(ctx, &b.coefficients[..], 1, scale, 256, &mut b.plaintext[..]).unwrap();
        let ct = encrypt_sk(
            ctx,
            &sk,
            &pt,
            &mut ChaCha20Rng::seed_from_u64(5),
            &mut b.ciphertext[..],
            &mut b.scratch[..],
            &mut b.small[..],
        )
        .unwrap();
        assert!(ct.seed().is_some());
        // Serialize, decode back into the same storage kind, and decrypt.
        static mut WIRE: [u8; 40_000] = [0; 40_000];
        // SAFETY: this test runs once; no other reference to WIRE exists.
        let wire_buffer = unsafe { &mut *core::ptr::addr_of_mut!(WIRE) };
        let key = wire::KeyId(0x5eed_0001);
        let len = wire::encode_ciphertext(ctx, &ct, key, wire_buffer).unwrap();
        assert_eq!(len, wire::ciphertext_len(ctx, 1, true));
        assert_eq!(wire::peek_header(&wire_buffer[..len]).unwrap().key, key);
        defmt::info!("seeded ciphertext: {=usize} bytes on the wire", len);
        let pt2 = decrypt(ctx, &sk, &ct, &mut b.plaintext[..]).unwrap();
        plaintext_to_coefficients(ctx, &pt2, &mut b.scratch[..], &mut b.coefficients[..]).unwrap();
        let (mut re, mut im) = ([0.0f64; 256], [0.0f64; 256]);
        state.encoder.decode(&b.coefficients[..], ct.scale(), &mut re, &mut im).unwrap();
        let error = max_slot_error(&values, &re);
        defmt::info!("encrypt/decrypt round trip at scale 2^28: max error {=f64}", error);
        assert!(error < 1e-4);
        // A corrupted byte is a typed error, not a panic.
        wire_buffer[100] ^= 1;
        assert!(wire::decode_ciphertext_in(ctx, &wire_buffer[..len], &mut b.ciphertext[..]).is_err());
    }

    #[test]
    fn insecure_parameters_are_refused() {
        let mut literal = presets::TEST_INSECURE_N1024;
        literal.security = medblind_core::ckks::Security::Bits128;
        assert!(Params::new(&literal).is_err());
    }
}
