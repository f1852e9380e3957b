//! The firmware's main program: provisioned with a secret-key seed, it encrypts a feature vector with the
//! `n4096-qp109-s28` preset (128-bit), serializes the ciphertext in the shared wire format, and reports the
//! instruction counts (run with `QEMU_EXTRA="-icount shift=0"` for meaningful numbers).
#![no_std]
#![no_main]

use medblind_core::ckks::encryption::{encrypt_sk, plaintext_from_coefficients};
use medblind_core::ckks::{Context, Encoder, Params, SecretKey, presets};
use medblind_core::wire;
use medblind_firmware::buffers::Buffers;
use medblind_firmware::counter::Counter;
use medblind_firmware::exit;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The provisioned secret-key seed (a real device receives it from the hospital over a secure channel).
const SECRET_SEED: [u8; 32] = [7; 32];

#[cortex_m_rt::entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| exit(2));
    let mut counter = Counter::new(peripherals.SYST);
    let Some(Buffers { tables, encoder, work }) = Buffers::take() else { exit(2) };
    let params = Params::new(&presets::N4096_QP109_S28).unwrap_or_else(|_| exit(3));
    let (ctx, setup) = counter.measure(|| Context::new_in(&params, tables));
    let ctx = ctx.unwrap_or_else(|_| exit(3));
    let encoder = Encoder::new_in(12, encoder).unwrap_or_else(|_| exit(3));
    let (sk, keygen) = counter.measure(|| {
        SecretKey::generate_in(
            &ctx,
            &mut ChaCha20Rng::from_seed(SECRET_SEED),
            &mut work.secret_key[..],
            &mut work.small[..],
        )
    });
    let sk = sk.unwrap_or_else(|_| exit(4));
    let mut features = [0.0f64; 256];
    for (i, f) in features.iter_mut().enumerate().take(192) {
        *f = libm::sin(i as f64 * 0.05);
    }
    let scale = params.default_scale();
    let (encoded, encode) = counter.measure(|| encoder.encode_real(&features, scale, &mut work.coefficients[..]));
    encoded.unwrap_or_else(|_| exit(5));
    let pt = plaintext_from_coefficients(&ctx, &work.coefficients[..], 1, scale, 256, &mut work.plaintext[..])
        .unwrap_or_else(|_| exit(5));
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let (ct, encrypt) = counter.measure(|| {
        encrypt_sk(&ctx, &sk, &pt, &mut rng, &mut work.ciphertext[..], &mut work.scratch[..], &mut work.small[..])
    });
    let ct = ct.unwrap_or_else(|_| exit(6));
    static mut WIRE: [u8; 40_000] = [0; 40_000];
    // SAFETY: `main` runs once; no other reference to WIRE exists.
    let wire_buffer = unsafe { &mut *core::ptr::addr_of_mut!(WIRE) };
    let (len, serialize) = counter.measure(|| wire::encode_ciphertext(&ctx, &ct, wire_buffer));
    let len = len.unwrap_or_else(|_| exit(7));
    defmt::info!("context setup: {=u64} instructions", setup);
    defmt::info!("secret key from seed: {=u64} instructions", keygen);
    defmt::info!("encode 256 slots: {=u64} instructions", encode);
    defmt::info!("encrypt (seeded, 2 limbs): {=u64} instructions", encrypt);
    defmt::info!("serialize: {=u64} instructions, {=usize} bytes", serialize, len);
    defmt::info!("firmware OK");
    exit(0)
}
