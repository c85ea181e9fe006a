//! Thin adapters from esp-hal and embassy types to the traits the runtime
//! and the drivers take, where no implementation exists already, and the
//! watchdog's feeder.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{Duration, Timer};
use esp_hal::Blocking;
use esp_hal::analog::adc::{Adc, AdcChannel, AdcPin};
use esp_hal::peripherals::ADC1;
use esp_hal::rng::Trng;
use esp_hal::rtc_cntl::Rwdt;
use lock_drivers::battery::RawAdc;
use lock_hal::{Entropy, ErrorKind, ErrorType};

/// The on-chip RNG as a true RNG: its output mixes in RF noise while the
/// radio runs (esp-radio registers itself as the entropy source). When no
/// source is on, it refuses rather than hand out pseudo-random bytes: that
/// is the one failure esp-hal reports. The raw noise is not readable, so
/// it is not health-tested (README.md, Security posture).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChipEntropy;

impl ErrorType for ChipEntropy {
    type Error = ErrorKind;
}

impl Entropy for ChipEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        let trng = Trng::try_new().map_err(|_| ErrorKind::Device)?;
        trng.read(buf);
        Ok(())
    }
}

/// ADC1, shared by the battery divider and the motor's shunt: one blocking
/// conversion (a few microseconds) at a time, never held across an await.
pub type SharedAdc = BlockingMutex<NoopRawMutex, RefCell<Adc<'static, ADC1<'static>, Blocking>>>;

/// Conversions a reading may spin for before it is called a timeout (one
/// takes well under a hundred).
const CONVERSION_SPINS: u32 = 10_000;

/// One ADC1 input: the battery divider's, or the motor shunt's (for
/// lock-drivers' `ShuntStall`).
pub struct AdcInput<'a, P> {
    adc: &'a SharedAdc,
    pin: AdcPin<P, ADC1<'static>>,
}

impl<'a, P: AdcChannel> AdcInput<'a, P> {
    /// The pin, enabled on `adc`'s configuration.
    pub fn new(adc: &'a SharedAdc, pin: AdcPin<P, ADC1<'static>>) -> Self {
        AdcInput { adc, pin }
    }
}

impl<P: AdcChannel> RawAdc for AdcInput<'_, P> {
    type Error = ErrorKind;

    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        self.adc.lock(|adc| {
            let mut adc = adc.borrow_mut();
            for _ in 0..CONVERSION_SPINS {
                match adc.read_oneshot(&mut self.pin) {
                    Ok(raw) => return Ok(raw),
                    Err(nb::Error::WouldBlock) => {}
                    Err(nb::Error::Other(())) => return Err(ErrorKind::Device),
                }
            }
            Err(ErrorKind::Timeout)
        })
    }
}

/// Feeds the RTC watchdog every `period` for as long as the executor polls
/// this future. Joined with the lock in `main`'s one task, it feeds only
/// while that task is polled: a panic, a poll that never returns or a dead
/// executor stops the feeding and the watchdog resets the chip
/// (README.md, Watchdog).
pub async fn feed_watchdog(rwdt: &mut Rwdt, period: Duration) -> ! {
    loop {
        rwdt.feed();
        Timer::after(period).await;
    }
}
