//! The lock's [`Clock`] on embassy-time, for boards that run an embassy
//! executor (feature `embassy-time`).
//!
//! [`EmbassyClock`] reads embassy-time's [`Instant`] and waits with its
//! [`Timer`], so it runs on whatever time driver the firmware links:
//! esp-rtos's timer on the ESP32-C3, embassy-stm32's (whose RTC carries the
//! count through STOP), embassy-rp's TIMER. A wait arms one alarm and the
//! executor sleeps until it or an interrupt fires; nothing polls. The crate
//! only names embassy-time's API, so it builds without a driver; a firmware
//! without one fails to link.

use embassy_time::{Instant, Timer};
use lock_hal::Clock;

/// The lock's clock: embassy-time's uptime in milliseconds.
///
/// A deadline beyond the tick counter's range (which at embassy-time's
/// default 1 MHz is over half a million years away) is never reached:
/// `wait_until` then waits for ever instead of returning at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    fn now_ms(&self) -> u64 {
        Instant::now().as_millis()
    }

    async fn wait_until(&self, at_ms: u64) {
        match Instant::try_from_millis(at_ms) {
            Some(at) => Timer::at(at).await,
            // Beyond the tick counter's range: never.
            None => core::future::pending().await,
        }
    }
}
