//! Arbitrary bytes to the device link's frame reader, as both ends read a frame: the header (magic, kind, a length
//! bounded by the reader's buffer), then the payload and trailer it announces; and the payload, checksum right or
//! not, to the firmware's request parsers (a head, features). None may panic, and a parsed request holds exactly the
//! values its shape says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medblind_core::wire::frame::{
    FRAME_HEADER, FRAME_TRAILER, FeaturesPayload, HeadPayload, check_trailer, parse_header,
};

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
    // The firmware's limits: 16 classes, 256 features.
    if let Some(head) = HeadPayload::parse(payload, 16, 256) {
        assert_eq!(head.values().count(), head.rows * head.cols + head.rows);
    }
    if let Some(features) = FeaturesPayload::parse(payload, 256) {
        assert_eq!(features.values().count(), features.len());
    }
});
