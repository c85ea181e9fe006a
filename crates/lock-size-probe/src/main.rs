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
use lock_core::{Event, Instant, Key, Lock, VisitorCodes};

#[entry]
fn main() -> ! {
    // cortex-m-rt turns a `static mut` at the top of the entry function into a
    // safe `&'static mut`, so the lock lives in `.bss` and the report's static
    // RAM figure includes its whole state instead of hiding it on the stack.
    // `MaybeUninit` rather than `Option`: `None` is not all zeroes, which would
    // put the whole lock in `.data` and count its initial value as flash.
    // The `proto` build holds the lock that takes visitor codes instead: one
    // `Lock<V>` either way, since a second instantiation would count the
    // state machine twice.
    #[cfg(not(feature = "proto"))]
    static mut LOCK: MaybeUninit<Lock> = MaybeUninit::uninit();
    #[cfg(feature = "proto")]
    static mut APP: MaybeUninit<proto::App> = MaybeUninit::uninit();

    #[cfg(not(feature = "proto"))]
    drive(LOCK.write(Lock::new(black_box(lock_core::Config::default()))));
    #[cfg(feature = "proto")]
    proto::run(APP);

    loop {
        core::hint::spin_loop();
    }
}

/// A touch wakes the keypad, then a digit and OK: enough to reach the
/// keypad, passcode and menu paths of the state machine. Returns the time
/// it got to.
fn drive<V: VisitorCodes>(lock: &mut Lock<V>) -> u64 {
    let events = [Event::Touch, Event::Key(Key::Digit(1)), Event::Key(Key::Ok)];
    let mut t = 0;
    for event in events {
        t += 1_000;
        let actions = lock.handle(Instant::from_millis(black_box(t)), black_box(event));
        black_box(actions.len());
        black_box(&actions);
    }
    black_box(lock.next_deadline());
    t
}

/// lock-proto's lock side: a protocol handling a frame (every path of the
/// decoder, the AEAD, pairing and dispatch is reachable from it) and the
/// visitor-code book checking an entry, as a lock with an app has them.
#[cfg(feature = "proto")]
mod proto {
    use core::hint::black_box;
    use core::mem::MaybeUninit;

    use lock_core::{Config, Event, Instant, Key, Link, Lock};
    use lock_proto::{Identity, Protocol, VisitorCodeVerifier};

    /// Bytes from `black_box`: the probe is never run, only linked.
    struct Opaque;

    impl lock_hal::ErrorType for Opaque {
        type Error = lock_hal::ErrorKind;
    }

    impl lock_hal::Entropy for Opaque {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), lock_hal::ErrorKind> {
            for b in buf {
                *b = black_box(0);
            }
            Ok(())
        }
    }

    /// The protocol and a lock that takes its visitor codes.
    pub type App = (Protocol, Lock<VisitorCodeVerifier>);

    pub fn run(app: &'static mut MaybeUninit<App>) {
        let Ok(identity) = Identity::generate(&mut Opaque) else {
            return;
        };
        let protocol = Protocol::new(identity);
        let book = protocol.visitor_code_verifier();
        let (protocol, lock) =
            app.write((protocol, Lock::with_visitor_codes(Config::default(), book)));
        let t = super::drive(lock);
        let frame = black_box([0u8; lock_proto::MAX_FRAME]);
        let len = black_box(64usize);
        let now = Instant::from_millis(black_box(t));
        let wall = lock.clock(now);
        let bytes = frame.get(..len).unwrap_or(&[]);
        let out = protocol.handle_frame(now, wall, Link::Bluetooth, bytes, &mut Opaque);
        black_box(&out);
        let actions = lock.handle(now, black_box(Event::Key(Key::Ok)));
        black_box(&actions);
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
