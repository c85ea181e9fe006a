//! `clock::EmbassyClock` on embassy-time's mock driver (time moves only when
//! the test advances it): the clock reads embassy-time's uptime, a deadline
//! ends when the time reaches it and not before, and a deadline beyond the
//! tick counter's range never ends. The boards' copies of this clock
//! behaved the same (they were this code).
#![cfg(feature = "embassy-time")]
#![allow(clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use embassy_time::{Duration, MockDriver};
use lock_drivers::clock::EmbassyClock;
use lock_hal::Clock;

fn ready<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
    future
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready()
}

// One test: the mock driver's time is global to the test binary.
#[test]
fn embassy_clock_reads_and_waits_on_embassy_time() {
    let driver = MockDriver::get();
    driver.reset();
    let clock = EmbassyClock;
    assert_eq!(clock.now_ms(), 0);
    driver.advance(Duration::from_millis(1_500));
    assert_eq!(clock.now_ms(), 1_500);

    // A deadline already passed ends at the second poll: embassy-time's
    // Timer always yields once (its wake-up already due).
    {
        let mut passed = pin!(clock.wait_until(1_000));
        assert!(!ready(passed.as_mut()));
        assert!(ready(passed.as_mut()));
    }

    // One ahead ends when the time reaches it, not a tick before.
    {
        let mut ahead = pin!(clock.wait_until(2_000));
        assert!(!ready(ahead.as_mut()));
        driver.advance(Duration::from_micros(499_999));
        assert!(!ready(ahead.as_mut()));
        driver.advance(Duration::from_micros(1));
        assert!(ready(ahead.as_mut()));
    }

    // Beyond the 1 MHz tick counter's range (u64::MAX µs, about 584,942
    // years): never, however far the time moves.
    {
        let mut never = pin!(clock.wait_until(u64::MAX));
        assert!(!ready(never.as_mut()));
        driver.advance(Duration::from_secs(100 * 365 * 24 * 3600));
        assert!(!ready(never.as_mut()));
    }
    let mut first_out_of_range = pin!(clock.wait_until(u64::MAX / 1_000 + 1));
    assert!(!ready(first_out_of_range.as_mut()));
}
