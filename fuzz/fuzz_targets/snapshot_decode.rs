//! Flash contents are untrusted (S-ST-3): any bytes decoded as a snapshot
//! either fail to decode or restore (or are refused) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_core::{Config, Event, Instant, Lock, Snapshot};

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = postcard::from_bytes::<Snapshot>(data) {
        if let Ok(mut lock) = Lock::restore(Config::default(), &snapshot, Instant::ZERO) {
            lock.handle(Instant::ZERO, Event::Boot { set_held: false });
        }
    }
});
