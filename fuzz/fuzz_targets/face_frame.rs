//! EF AA frames (S-HW-3): parsing any bytes never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_drivers::face::wire::{Frame, Repr};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::new_checked(data) {
        let _ = Repr::parse(&frame);
    }
    let _ = Repr::parse_body(data);
});
