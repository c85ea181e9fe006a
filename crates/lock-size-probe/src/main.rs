//! Size probe: the smallest firmware that keeps lock-core's state machine.
//!
//! It is never flashed. `scripts/size-report.sh` builds it in release for
//! `thumbv6m-none-eabi` (Cortex-M0+, the smallest core among the boards) and
//! reads `.text`, `.rodata`, `.data` and `.bss` from the ELF, so the README can
//! say what the core costs in flash and RAM. The `Lock` is kept in a static,
//! so `.bss` holds its whole state.
//!
//! Every input goes through [`core::hint::black_box`], so the optimiser cannot
//! fold the calls away, and every output goes into it, so the linker keeps the
//! code that computes it.

#![no_std]
#![no_main]

use core::{hint::black_box, mem::MaybeUninit};

use cortex_m_rt::entry;
use lock_core::{Config, Event, Instant, Key, Lock};

#[entry]
fn main() -> ! {
    // cortex-m-rt turns a `static mut` at the top of the entry function into a
    // safe `&'static mut`, so the lock lives in `.bss` and the report's static
    // RAM figure includes its whole state instead of hiding it on the stack.
    // `MaybeUninit` rather than `Option`: `None` is not all zeroes, which would
    // put the whole lock in `.data` and count its initial value as flash.
    static mut LOCK: MaybeUninit<Lock> = MaybeUninit::uninit();
    let lock = LOCK.write(Lock::new(black_box(Config::default())));

    // A touch wakes the keypad, then a digit and OK: enough to reach the
    // keypad, passcode and menu paths of the state machine.
    let events = [Event::Touch, Event::Key(Key::Digit(1)), Event::Key(Key::Ok)];
    let mut t = 0;
    for event in events {
        t += 1_000;
        let actions = lock.handle(Instant::from_millis(black_box(t)), black_box(event));
        black_box(actions.len());
        black_box(&actions);
    }
    black_box(lock.next_deadline());

    loop {
        core::hint::spin_loop();
    }
}

/// Loops forever: the probe only has to link, and a panic crate would add
/// its own code to the figures.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
