//! The scenario-file parser (SPEC §8) is total: any text parses or names a line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = lock_sim::scenario::parse(text) {
            assert!(e.line >= 1 && e.line <= text.lines().count().max(1));
        }
    }
});
