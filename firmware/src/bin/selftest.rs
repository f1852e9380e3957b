//! The firmware's main program: provisioned with a secret-key seed and a linear head (7 classes over 192
//! DeiT-tiny features; a fixed test head here), it derives its rotation keys, encrypts a feature vector with the
//! `n4096-qp109-s28` preset (128-bit), evaluates the head homomorphically with the core's linear layer, checks
//! the decrypted logits against plaintext `f64`, serializes both ciphertexts in the shared wire format, and
//! reports instruction counts (run with `QEMU_EXTRA="-icount shift=0"` for meaningful numbers).
#![no_std]
#![no_main]

use medblind_core::ckks::encryption::{decrypt, encrypt_sk, plaintext_from_coefficients, plaintext_to_coefficients};
use medblind_core::ckks::linear_layer::{LinearLayer, Work};
use medblind_core::ckks::{Ciphertext, Context, Encoder, Evaluator, GaloisKey, Params, SecretKey, presets};
use medblind_core::ckks::{galois_key_scratch_words, key_switch_key_words};
use medblind_core::wire::{self, KeyId};
use medblind_firmware::buffers::Buffers;
use medblind_firmware::counter::Counter;
use medblind_firmware::{exit, stack};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The provisioned secret-key seed (a real device receives it from the hospital over a secure channel).
const SECRET_SEED: [u8; 32] = [7; 32];
/// The head: classes × features, inputs packed in 256 slots.
const CLASSES: usize = 7;
const FEATURES: usize = 192;
const SLOTS: usize = 256;

/// The fixed test head `W[r][c] = sin(31r + 0.7c)/10`, bias `r/100`.
fn test_head() -> ([f64; CLASSES * FEATURES], [f64; CLASSES]) {
    let mut weights = [0.0; CLASSES * FEATURES];
    for (i, w) in weights.iter_mut().enumerate() {
        *w = libm::sin(31.0 * (i / FEATURES) as f64 + 0.7 * (i % FEATURES) as f64) / 10.0;
    }
    let mut bias = [0.0; CLASSES];
    for (r, b) in bias.iter_mut().enumerate() {
        *b = r as f64 / 100.0;
    }
    (weights, bias)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    stack::paint();
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
    // (a real device seeds this from its TRNG)
    let (ct, encrypt) = counter.measure(|| {
        encrypt_sk(&ctx, &sk, &pt, &mut rng, &mut work.ciphertext[..], &mut work.scratch[..], &mut work.small[..])
    });
    let ct = ct.unwrap_or_else(|_| exit(6));
    static mut WIRE: [u8; 80_000] = [0; 80_000];
    // SAFETY: `main` runs once; no other reference to WIRE exists.
    let wire_buffer = unsafe { &mut *core::ptr::addr_of_mut!(WIRE) };
    let (len, serialize) = counter.measure(|| wire::encode_ciphertext(&ctx, &ct, KeyId::NONE, wire_buffer));
    let len = len.unwrap_or_else(|_| exit(7));
    // The head: rotation keys derived on the device, then W·x + b on the ciphertext.
    let (weights, bias) = test_head();
    let layer = LinearLayer::new(&weights, CLASSES, FEATURES, Some(&bias), SLOTS).unwrap_or_else(|_| exit(8));
    let elements = layer.galois_elements(ctx.degree());
    let top = ctx.params().max_level();
    let key_words = key_switch_key_words(&ctx, top);
    let mut keys: heapless::Vec<GaloisKey<&mut [u64]>, 12> = heapless::Vec::new();
    let (keys_ok, keygen_rotations) = counter.measure(|| {
        for (&g, storage) in elements.iter().zip(work.keys.chunks_exact_mut(key_words)) {
            let scratch = &mut work.layer[..galois_key_scratch_words(&ctx)];
            let key = GaloisKey::generate_in(&ctx, &sk, g, top, &mut rng, storage, scratch, &mut work.small[..])?;
            keys.push(key).map_err(|_| medblind_core::Error::TooManyModuli { count: 13, max: 12 })?;
        }
        Ok::<(), medblind_core::Error>(())
    });
    keys_ok.unwrap_or_else(|_| exit(9));
    if keys.len() != elements.len() {
        exit(9);
    }
    let evaluator = Evaluator::new(&ctx);
    let mut logits =
        Ciphertext::from_parts(&mut work.logits[..], ctx.degree(), 1, 1.0, SLOTS).unwrap_or_else(|_| exit(10));
    let mut float_work = [0.0f64; 4096 + SLOTS];
    let (evaluated, head) = counter.measure(|| {
        layer.evaluate_with(
            &evaluator,
            &encoder,
            &ct,
            &keys,
            &mut logits,
            Work { words: &mut work.layer[..], floats: &mut float_work },
        )
    });
    evaluated.unwrap_or_else(|_| exit(10));

    // Check on the device: decrypt the logits and compare with the plaintext head.
    let pt = decrypt(&ctx, &sk, &logits, &mut work.plaintext[..]).unwrap_or_else(|_| exit(11));
    plaintext_to_coefficients(&ctx, &pt, &mut work.scratch[..], &mut work.coefficients[..])
        .unwrap_or_else(|_| exit(11));
    let (mut re, mut im) = ([0.0f64; SLOTS], [0.0f64; SLOTS]);
    encoder.decode(&work.coefficients[..], logits.scale(), &mut re, &mut im).unwrap_or_else(|_| exit(11));
    let mut worst = 0.0f64;
    for r in 0..CLASSES {
        let want = bias[r] + (0..FEATURES).map(|c| weights[r * FEATURES + c] * features[c]).sum::<f64>();
        worst = worst.max(libm::fabs(want - re[r]));
    }
    let logits_len =
        wire::encode_ciphertext(&ctx, &logits, KeyId::NONE, &mut wire_buffer[len..]).unwrap_or_else(|_| exit(12));

    defmt::info!("context setup: {=u64} instructions", setup);
    defmt::info!("secret key from seed: {=u64} instructions", keygen);
    defmt::info!("encode 256 slots: {=u64} instructions", encode);
    defmt::info!("encrypt (seeded, 2 limbs): {=u64} instructions", encrypt);
    defmt::info!("serialize: {=u64} instructions, {=usize} bytes", serialize, len);
    defmt::info!(
        "{=usize} rotation keys for the {=usize}x{=usize} head: {=u64} instructions",
        keys.len(),
        CLASSES,
        FEATURES,
        keygen_rotations
    );
    defmt::info!("linear head (encrypted): {=u64} instructions", head);
    defmt::info!("logits ciphertext: {=usize} bytes; largest logit error {=f64}", logits_len, worst);
    if worst > 1e-3 {
        defmt::error!("encrypted head disagrees with the plaintext head");
        exit(1);
    }
    defmt::info!("stack high-water mark: {=usize} bytes", stack::high_water());
    defmt::info!("firmware OK");
    exit(0)
}
