//! Feeds arbitrary bytes to every decoder: none may panic or allocate beyond the parameters' sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medblind_core::ckks::{Context, Params, presets};
use medblind_core::wire;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static CTX: OnceLock<Context<Vec<u64>>> = OnceLock::new();
    let ctx = CTX
        .get_or_init(|| Context::new(&Params::new(&presets::TEST_INSECURE_N1024).expect("preset")).expect("context"));
    let _ = wire::peek_header(data);
    let _ = wire::decode_params(data);
    let _ = wire::decode_secret_key(ctx, data);
    let _ = wire::decode_public_key(ctx, data);
    let _ = wire::decode_relinearization_key(ctx, data);
    let _ = wire::decode_galois_key(ctx, data);
    let _ = wire::decode_plaintext(ctx, data);
    let _ = wire::decode_ciphertext(ctx, data);
});
