//! Arbitrary bytes to the device link's frame reader, as both ends read a frame: the header (magic, kind, a length
//! bounded by the reader's buffer), then the payload and trailer it announces. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medblind_core::wire::frame::{FRAME_HEADER, FRAME_TRAILER, check_trailer, parse_header};

/// The largest payload the readers accept (the firmware's receive buffer is of this order).
const MAX_PAYLOAD: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((header, rest)) = data.split_first_chunk::<FRAME_HEADER>() else { return };
    let Ok((_, len)) = parse_header(header, MAX_PAYLOAD) else { return };
    if rest.len() < len + FRAME_TRAILER {
        return;
    }
    let (payload, tail) = rest.split_at(len);
    let trailer: &[u8; FRAME_TRAILER] = tail[..FRAME_TRAILER].try_into().expect("trailer");
    let _ = check_trailer(header, payload, trailer);
});
