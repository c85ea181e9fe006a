//! The heap lock-sim's runner allocates from (its world keeps `Vec`s,
//! `VecDeque`s and `String`s, the simulated flash is a `Vec<u8>`):
//! embedded-alloc's linked-list first-fit heap over the board's 16 MiB PSRAM.
//! Freed blocks are reused, so the whole scenario folder (each file a fresh
//! simulated lock) runs in one boot.

use core::sync::atomic::{AtomicBool, Ordering};

use embedded_alloc::LlffHeap;

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

/// The PSRAM region of `memory.x`.
const START: usize = 0x2100_0000;
/// Its length.
const SIZE: usize = 16 * 1024 * 1024;

static GIVEN: AtomicBool = AtomicBool::new(false);

/// Gives the heap its memory; only the first call does anything.
pub fn init() {
    if GIVEN.swap(true, Ordering::AcqRel) {
        return;
    }
    #[allow(unsafe_code)]
    // SAFETY: `memory.x` puts no section in PSRAM, so nothing else uses
    // `START..START + SIZE`; the flag makes this the only `init`, and it runs
    // before the first allocation.
    unsafe {
        HEAP.init(START, SIZE);
    }
}

/// Bytes allocated now.
pub fn used() -> usize {
    HEAP.used()
}
