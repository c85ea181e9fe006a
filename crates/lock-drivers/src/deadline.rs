//! Timeouts from the caller's clock: a bus operation raced against
//! [`Clock::wait_until`].
//!
//! Racing means the losing future is dropped. For the clock that is allowed
//! (its wait is cancel-safe). For a UART read, embedded-io-async *encourages*
//! but does not require `read` to be cancel-safe; a driver here drops a read
//! only when its deadline has passed, and then abandons the whole exchange:
//! before its next command it forgets every byte it had buffered and hunts
//! for a fresh frame header. A reader that loses bytes on cancel therefore
//! loses only bytes of an answer that was already given up on.

use core::future::Future;

use embassy_futures::select::{Either, select};
use lock_hal::Clock;

/// Runs `operation` until `deadline_ms` on `clock`; `None` if the deadline
/// came first.
pub(crate) async fn before<C: Clock, F: Future>(
    clock: &mut C,
    deadline_ms: u64,
    operation: F,
) -> Option<F::Output> {
    match select(operation, clock.wait_until(deadline_ms)).await {
        Either::First(output) => Some(output),
        Either::Second(()) => None,
    }
}

/// `now + ms`, saturating.
pub(crate) fn after<C: Clock>(clock: &C, ms: u32) -> u64 {
    clock.now_ms().saturating_add(u64::from(ms))
}
