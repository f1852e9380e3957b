//! The device application: speaks the framed link protocol over UART0 (see `firmware/README.md`).
//!
//! 1. [`Opcode::Provision`] (`0x01`): a 32-byte secret-key seed, or the hospital's secret key in the wire format
//!    (as `medblind keygen` writes it) → the device holds the secret key.
//! 2. [`Opcode::Head`] (`0x02`): `rows: u16, cols: u16`, `rows·cols` weights and `rows` biases (`f64`,
//!    little-endian) → the device derives the head's rotation keys.
//! 3. [`Opcode::Features`] (`0x03`): `count: u16` and `count` features (`f64`) → the device encrypts them (seeded,
//!    preset `n4096-qp109-s28`), evaluates the head homomorphically, and answers [`Opcode::EncryptedFeatures`] and
//!    [`Opcode::EncryptedLogits`], both in the shared wire format.
//! 4. [`Opcode::Quit`] (`0x04`) → exits QEMU with status 0.
//!
//! Every request is acknowledged ([`Opcode::Done`]) or refused ([`Opcode::Refused`]) with a short reason; nothing
//! panics on bad input.
#![no_std]
#![no_main]

use embedded_io::{Read, Write};
use medblind_core::ckks::encryption::{encrypt_sk, plaintext_from_coefficients};
use medblind_core::ckks::linear_layer::{LinearLayer, Work};
use medblind_core::ckks::{Ciphertext, Context, Encoder, Evaluator, GaloisKey, Params, SecretKey, presets};
use medblind_core::ckks::{galois_key_scratch_words, key_switch_key_words};
use medblind_core::wire::frame::{self, FeaturesPayload, HeadPayload, Opcode};
use medblind_core::wire::{self, KeyId};
use medblind_firmware::buffers::{Buffers, N};
use medblind_firmware::exit;
use medblind_firmware::uart::CmsdkUart;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const MAX_ROWS: usize = 16;
const MAX_COLS: usize = 256;
const MAX_PAYLOAD: usize = 4 + 8 * (MAX_ROWS * MAX_COLS + MAX_ROWS);

static mut RX: [u8; MAX_PAYLOAD] = [0; MAX_PAYLOAD];
static mut TX: [u8; 80_000] = [0; 80_000];
static mut HEAD: [f64; MAX_ROWS * MAX_COLS + MAX_ROWS] = [0.0; MAX_ROWS * MAX_COLS + MAX_ROWS];

fn send<W: Write>(uart: &mut W, kind: Opcode, payload: &[u8], scratch: &mut [u8]) {
    // The scratch buffer always holds the largest reply (sized for a top-level ciphertext).
    if let Ok(len) = frame::encode_frame(kind.into(), payload, scratch) {
        let _ = uart.write_all(&scratch[..len]);
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    // SAFETY: UART0 is driven by this program only.
    let mut uart = unsafe { CmsdkUart::new(CmsdkUart::UART0) };
    let Some(Buffers { tables, encoder, work }) = Buffers::take() else { exit(2) };
    // SAFETY: `main` runs once; these are the only references to the statics.
    let (rx, tx, head) = unsafe {
        (&mut *core::ptr::addr_of_mut!(RX), &mut *core::ptr::addr_of_mut!(TX), &mut *core::ptr::addr_of_mut!(HEAD))
    };
    let params = Params::new(&presets::N4096_QP109_S28).unwrap_or_else(|_| exit(3));
    let ctx = Context::new_in(&params, tables).unwrap_or_else(|_| exit(3));
    let encoder = Encoder::new_in(12, encoder).unwrap_or_else(|_| exit(3));
    let evaluator = Evaluator::new(&ctx);
    let mut secret_key_storage = Some(work.secret_key);
    let mut key_storage = Some(work.keys);
    let mut head_storage = Some(head);
    let mut secret_key: Option<SecretKey<&mut [u64]>> = None;
    let mut key_pair = KeyId::NONE;
    let mut layer: Option<(LinearLayer<'static>, heapless::Vec<GaloisKey<&mut [u64]>, 12>)> = None;
    // A device seeds this from its TRNG; QEMU has none, so the provisioned seed is stretched instead.
    let mut rng = ChaCha20Rng::from_seed([0x5a; 32]);
    defmt::info!("medblind-firmware ready on UART0");

    loop {
        let mut header = [0u8; frame::FRAME_HEADER];
        let _ = uart.read_exact(&mut header);
        let (kind, len) = match frame::parse_header(&header, MAX_PAYLOAD) {
            Ok(parsed) => parsed,
            Err(e) => {
                defmt::warn!("bad frame header: {}", e);
                send(&mut uart, Opcode::Refused, b"bad frame header", tx);
                continue;
            }
        };
        let payload = &mut rx[..len];
        let mut trailer = [0u8; frame::FRAME_TRAILER];
        let _ = uart.read_exact(payload);
        let _ = uart.read_exact(&mut trailer);
        if frame::check_trailer(&header, payload, &trailer).is_err() {
            send(&mut uart, Opcode::Refused, b"checksum", tx);
            continue;
        }
        match Opcode::try_from(kind) {
            Ok(Opcode::Provision) => {
                let Some(storage) = secret_key_storage.take() else {
                    send(&mut uart, Opcode::Refused, b"provision: once", tx);
                    continue;
                };
                // Encryption randomness: a real device reads its TRNG; QEMU has none, so it is stretched from
                // the provisioned material (folded to 32 bytes) with a fixed tweak.
                let mut mix = [0xa5u8; 32];
                payload.iter().enumerate().for_each(|(i, b)| mix[i % 32] ^= b.rotate_left((i / 32) as u32 % 8));
                // A bare seed names no key pair; a secret key's header names its own.
                let key = match <[u8; 32]>::try_from(&payload[..]) {
                    Ok(seed) => {
                        SecretKey::generate_in(&ctx, &mut ChaCha20Rng::from_seed(seed), storage, &mut work.small[..])
                            .map(|sk| (sk, KeyId::NONE))
                    }
                    Err(_) => wire::decode_secret_key_in(&ctx, payload, &mut work.small[..], storage)
                        .and_then(|sk| Ok((sk, wire::peek_header(payload)?.key))),
                };
                match key {
                    Ok((sk, id)) => {
                        rng = ChaCha20Rng::from_seed(mix);
                        secret_key = Some(sk);
                        key_pair = id;
                        send(&mut uart, Opcode::Done, &[], tx);
                    }
                    Err(_) => send(
                        &mut uart,
                        Opcode::Refused,
                        b"provision: not a seed or a secret key of this preset (restart the device to retry)",
                        tx,
                    ),
                }
            }
            Ok(Opcode::Head) => {
                let Some(sk) = secret_key.as_ref() else {
                    send(&mut uart, Opcode::Refused, b"head: provision a key first", tx);
                    continue;
                };
                let Some(parsed) = HeadPayload::parse(payload, MAX_ROWS, MAX_COLS) else {
                    send(&mut uart, Opcode::Refused, b"head: rows<=16, cols<=256", tx);
                    continue;
                };
                // Both are there until a head is set, and gone after.
                let (Some(storage), Some(head)) = (key_storage.take(), head_storage.take()) else {
                    send(&mut uart, Opcode::Refused, b"head: once", tx);
                    continue;
                };
                let (rows, cols) = (parsed.rows, parsed.cols);
                let values = rows * cols + rows;
                head[..values].iter_mut().zip(parsed.values()).for_each(|(v, x)| *v = x);
                let head: &'static [f64] = head;
                let (weights, bias) = head[..values].split_at(rows * cols);
                let slots = cols.next_power_of_two().max(rows.next_power_of_two());
                let Ok(new_layer) = LinearLayer::new(weights, rows, cols, Some(bias), slots) else {
                    send(&mut uart, Opcode::Refused, b"head: shape", tx);
                    continue;
                };
                let mut keys = heapless::Vec::new();
                let elements = new_layer.galois_elements(N);
                let top = ctx.params().max_level();
                let chunks = storage.chunks_exact_mut(key_switch_key_words(&ctx, top));
                if elements.len() > chunks.len() {
                    send(&mut uart, Opcode::Refused, b"head: too many rotation keys", tx);
                    continue;
                }
                for (&g, chunk) in elements.iter().zip(chunks) {
                    let scratch = &mut work.layer[..galois_key_scratch_words(&ctx)];
                    match GaloisKey::generate_in(&ctx, sk, g, top, &mut rng, chunk, scratch, &mut work.small[..]) {
                        Ok(key) => {
                            let _ = keys.push(key);
                        }
                        Err(_) => exit(5),
                    }
                }
                layer = Some((new_layer, keys));
                send(&mut uart, Opcode::Done, &[], tx);
            }
            Ok(Opcode::Features) => {
                let (Some(sk), Some((layer, keys))) = (secret_key.as_ref(), layer.as_ref()) else {
                    send(&mut uart, Opcode::Refused, b"features: provision key and head first", tx);
                    continue;
                };
                let slots = layer.slots();
                let Some(parsed) = FeaturesPayload::parse(payload, slots) else {
                    send(&mut uart, Opcode::Refused, b"features: count does not match the head", tx);
                    continue;
                };
                let mut features = [0.0f64; MAX_COLS];
                features.iter_mut().zip(parsed.values()).for_each(|(f, x)| *f = x);
                let scale = ctx.params().default_scale();
                let encrypted = encoder
                    .encode_real(&features[..slots], scale, &mut work.coefficients[..])
                    .and_then(|()| {
                        plaintext_from_coefficients(
                            &ctx,
                            &work.coefficients[..],
                            1,
                            scale,
                            slots,
                            &mut work.plaintext[..],
                        )
                    })
                    .and_then(|pt| {
                        encrypt_sk(
                            &ctx,
                            sk,
                            &pt,
                            &mut rng,
                            &mut work.ciphertext[..],
                            &mut work.scratch[..],
                            &mut work.small[..],
                        )
                    });
                let Ok(ct) = encrypted else {
                    send(&mut uart, Opcode::Refused, b"features: out of range", tx);
                    continue;
                };
                let mut logits =
                    Ciphertext::from_parts(&mut work.logits[..], N, 1, 1.0, slots).unwrap_or_else(|_| exit(6));
                let mut float_work = [0.0f64; N + MAX_COLS];
                if layer
                    .evaluate_with(
                        &evaluator,
                        &encoder,
                        &ct,
                        keys,
                        &mut logits,
                        Work { words: &mut work.layer[..], floats: &mut float_work },
                    )
                    .is_err()
                {
                    send(&mut uart, Opcode::Refused, b"features: head evaluation failed", tx);
                    continue;
                }
                let (object, frame_buffer) = tx.split_at_mut(40_000);
                let written = wire::encode_ciphertext(&ctx, &ct, key_pair, object).unwrap_or_else(|_| exit(7));
                send(&mut uart, Opcode::EncryptedFeatures, &object[..written], frame_buffer);
                let written = wire::encode_ciphertext(&ctx, &logits, key_pair, object).unwrap_or_else(|_| exit(7));
                send(&mut uart, Opcode::EncryptedLogits, &object[..written], frame_buffer);
            }
            Ok(Opcode::Quit) => {
                send(&mut uart, Opcode::Done, &[], tx);
                defmt::info!("quit");
                exit(0);
            }
            _ => send(&mut uart, Opcode::Refused, b"unknown request", tx),
        }
    }
}
