//! Plain switches and one output on GPIOs: push buttons (SET, the inside
//! locking button), contacts (the door magnet, the USB-C supply's sense),
//! trigger switches (tamper, key in cylinder) and a siren or buzzer.
//!
//! **Wiring.** Each switch to a GPIO with an interrupt (embedded-hal-async
//! `Wait`), usually to ground with a pull-up, so active low; the siren's
//! driver transistor to an `OutputPin`. Anything behind `InputPin + Wait` /
//! `OutputPin` works: a pin of the chip or of an I/O expander.
//!
//! **Timing from the lock's clock.** Debouncing and the long-press time are
//! measured on the caller's [`Clock`], so a board needs no timer of its own
//! and host tests run on a manual clock. Every wait is on a pin *level* or
//! on the clock, and what a wait has seen so far is kept in the driver, so
//! dropping a wait (the runtime's `select`) loses nothing: the next call
//! carries on from the same state.
//!
//! **Choices.**
//! - A button press counts once the level has stayed active for
//!   [`SwitchConfig::debounce_ms`]. Released within
//!   [`SwitchConfig::short_max_ms`] it is [`Press::Short`]; still held at
//!   [`SwitchConfig::long_ms`] it is [`Press::Long`] at once (lock-hal: "reported
//!   while still held"), and its release reports nothing. A press released
//!   between the two reports nothing either: neither what the person meant
//!   by a tap nor a hold.
//! - A trigger reports when its input becomes active (debounced) and is
//!   armed again once it has been inactive for the debounce time: a tamper
//!   switch left open reports once, not in a loop. An occurrence while no one
//!   waits is kept if the input is still active at the next call; one that
//!   came and went entirely unobserved is not (the pin has no latch).

use embassy_futures::select::{Either, select};
use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal_async::digital::Wait;
use lock_hal::{
    Button, Clock, ContactSensor, ErrorKind, ErrorType, Press, Siren, TriggerSensor, UsbPower,
};

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The pin failed.
    #[error("pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Bus
    }
}

fn pin<E: embedded_hal::digital::Error>(error: E) -> Error {
    Error::Pin(error.kind())
}

/// Timing of a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SwitchConfig {
    /// The switch reads active (closed) when the pin is low.
    pub active_low: bool,
    /// A level must hold this long before it counts.
    pub debounce_ms: u32,
    /// Buttons: the longest press that is still a short one.
    pub short_max_ms: u32,
    /// Buttons: a press held this long is a long one.
    pub long_ms: u32,
}

impl SwitchConfig {
    /// A switch to ground with a pull-up, active when closed (it reads
    /// low): 30 ms debounce, short up to 1.5 s, long at 3 s (lock-hal's
    /// [`Press`]). Buttons, a key-cylinder switch.
    pub const CLOSED_LOW: SwitchConfig = SwitchConfig {
        active_low: true,
        debounce_ms: 30,
        short_max_ms: 1_500,
        long_ms: 3_000,
    };

    /// A switch to ground with a pull-up that is closed in the normal
    /// state, so the event (a door opened, a panel forced off) reads high:
    /// a door reed, a tamper switch. Timing as [`SwitchConfig::CLOSED_LOW`].
    pub const OPENS_HIGH: SwitchConfig = SwitchConfig {
        active_low: false,
        ..SwitchConfig::CLOSED_LOW
    };
}

impl Default for SwitchConfig {
    /// [`SwitchConfig::CLOSED_LOW`].
    fn default() -> SwitchConfig {
        SwitchConfig::CLOSED_LOW
    }
}

/// A switch input: the pin, the clock and its timing.
struct Switch<P, C> {
    pin: P,
    clock: C,
    config: SwitchConfig,
}

/// Waits until `pin` reads high (`true`) or low: a level wait.
async fn level<P: Wait>(pin: &mut P, high: bool) -> Result<(), Error> {
    if high {
        pin.wait_for_high().await.map_err(self::pin)
    } else {
        pin.wait_for_low().await.map_err(self::pin)
    }
}

impl<P: InputPin + Wait, C: Clock> Switch<P, C> {
    fn is_active(&mut self) -> Result<bool, Error> {
        Ok(self.pin.is_low().map_err(pin)? == self.config.active_low)
    }

    /// The pin level that reads `active`.
    fn high_when(&self, active: bool) -> bool {
        active != self.config.active_low
    }

    /// Waits until the pin has read `active` for the debounce time and
    /// returns when that began; `None` if `deadline` comes first.
    async fn settle(&mut self, active: bool, deadline: Option<u64>) -> Result<Option<u64>, Error> {
        let high = self.high_when(active);
        loop {
            match deadline {
                None => level(&mut self.pin, high).await?,
                Some(at) => {
                    match select(level(&mut self.pin, high), self.clock.wait_until(at)).await {
                        Either::First(result) => result?,
                        Either::Second(()) => return Ok(None),
                    }
                }
            }
            let since = self.clock.now_ms();
            let until = since.saturating_add(u64::from(self.config.debounce_ms));
            // A bounce back within the debounce time starts it over. The
            // clock is polled first: at the end of the debounce time the
            // level is read again anyway.
            match select(self.clock.wait_until(until), level(&mut self.pin, !high)).await {
                Either::First(()) => {
                    if self.is_active()? == active {
                        return Ok(Some(since));
                    }
                }
                Either::Second(result) => result?,
            }
        }
    }

    /// [`Switch::settle`] without a deadline.
    async fn settle_forever(&mut self, active: bool) -> Result<u64, Error> {
        loop {
            if let Some(since) = self.settle(active, None).await? {
                return Ok(since);
            }
        }
    }
}

/// A push button: SET on the rear panel, the inside locking button.
pub struct GpioButton<P, C> {
    switch: Switch<P, C>,
    /// When the current press began (debounced), if one is under way.
    pressed_since: Option<u64>,
    /// The current press was reported as long: its release says nothing.
    long_reported: bool,
}

impl<P: InputPin + Wait, C: Clock> GpioButton<P, C> {
    /// Takes the pin and the clock.
    pub fn new(pin: P, clock: C, config: SwitchConfig) -> Self {
        GpioButton {
            switch: Switch { pin, clock, config },
            pressed_since: None,
            long_reported: false,
        }
    }

    /// Gives the pin and the clock back.
    pub fn release(self) -> (P, C) {
        (self.switch.pin, self.switch.clock)
    }
}

impl<P, C> ErrorType for GpioButton<P, C> {
    type Error = Error;
}

impl<P: InputPin + Wait, C: Clock> Button for GpioButton<P, C> {
    fn is_pressed(&mut self) -> Result<bool, Error> {
        self.switch.is_active()
    }

    async fn wait_for_press(&mut self) -> Result<Press, Error> {
        loop {
            let Some(since) = self.pressed_since else {
                self.pressed_since = Some(self.switch.settle_forever(true).await?);
                continue;
            };
            if self.long_reported {
                self.switch.settle_forever(false).await?;
                self.pressed_since = None;
                self.long_reported = false;
                continue;
            }
            let long_at = since.saturating_add(u64::from(self.switch.config.long_ms));
            match self.switch.settle(false, Some(long_at)).await? {
                Some(released) => {
                    self.pressed_since = None;
                    if released.saturating_sub(since) <= u64::from(self.switch.config.short_max_ms)
                    {
                        return Ok(Press::Short);
                    }
                }
                None => {
                    self.long_reported = true;
                    return Ok(Press::Long);
                }
            }
        }
    }
}

/// A contact: the door magnet, a latch sensor.
pub struct GpioContact<P, C> {
    switch: Switch<P, C>,
}

impl<P: InputPin + Wait, C: Clock> GpioContact<P, C> {
    /// Takes the pin and the clock. `config.active_low` says the contact
    /// reads *open* (door open) when the pin is low.
    pub fn new(pin: P, clock: C, config: SwitchConfig) -> Self {
        GpioContact {
            switch: Switch { pin, clock, config },
        }
    }

    /// Gives the pin and the clock back.
    pub fn release(self) -> (P, C) {
        (self.switch.pin, self.switch.clock)
    }
}

impl<P, C> ErrorType for GpioContact<P, C> {
    type Error = Error;
}

impl<P: InputPin + Wait, C: Clock> ContactSensor for GpioContact<P, C> {
    fn is_open(&mut self) -> Result<bool, Error> {
        self.switch.is_active()
    }

    async fn wait_for_change(&mut self, last_open: bool) -> Result<bool, Error> {
        self.switch.settle_forever(!last_open).await?;
        Ok(!last_open)
    }
}

/// The USB-C supply at the front (R-ALM-4): VBUS through a divider into an
/// input, debounced like a door contact ([`GpioContact`]), "open" being
/// "powered" (usually [`SwitchConfig::OPENS_HIGH`]: high while powered).
pub struct GpioUsbSense<P, C>(GpioContact<P, C>);

impl<P: InputPin + Wait, C: Clock> GpioUsbSense<P, C> {
    /// Takes the pin and the clock. `config.active_low` says the supply is
    /// present when the pin is low.
    pub fn new(pin: P, clock: C, config: SwitchConfig) -> Self {
        GpioUsbSense(GpioContact::new(pin, clock, config))
    }

    /// Gives the pin and the clock back.
    pub fn release(self) -> (P, C) {
        self.0.release()
    }
}

impl<P, C> ErrorType for GpioUsbSense<P, C> {
    type Error = Error;
}

impl<P: InputPin + Wait, C: Clock> UsbPower for GpioUsbSense<P, C> {
    fn is_present(&mut self) -> Result<bool, Error> {
        self.0.is_open()
    }

    async fn wait_for_change(&mut self, last: bool) -> Result<bool, Error> {
        self.0.wait_for_change(last).await
    }
}

/// A trigger switch: the tamper switch, the key-in-cylinder switch.
pub struct GpioTrigger<P, C> {
    switch: Switch<P, C>,
    /// The active level was reported and has not ended yet.
    reported: bool,
}

impl<P: InputPin + Wait, C: Clock> GpioTrigger<P, C> {
    /// Takes the pin and the clock. `config.active_low`: the occurrence
    /// (panel forced, key turned) reads low.
    pub fn new(pin: P, clock: C, config: SwitchConfig) -> Self {
        GpioTrigger {
            switch: Switch { pin, clock, config },
            reported: false,
        }
    }

    /// Gives the pin and the clock back.
    pub fn release(self) -> (P, C) {
        (self.switch.pin, self.switch.clock)
    }
}

impl<P, C> ErrorType for GpioTrigger<P, C> {
    type Error = Error;
}

impl<P: InputPin + Wait, C: Clock> TriggerSensor for GpioTrigger<P, C> {
    async fn wait_for_trigger(&mut self) -> Result<(), Error> {
        if self.reported {
            self.switch.settle_forever(false).await?;
            self.reported = false;
        }
        self.switch.settle_forever(true).await?;
        self.reported = true;
        Ok(())
    }
}

/// A siren or buzzer behind a transistor on one GPIO.
pub struct GpioSiren<P> {
    pin: P,
    active_low: bool,
}

impl<P: OutputPin> GpioSiren<P> {
    /// Takes the pin; `active_low` when low sounds it. Does not touch the
    /// pin: the runtime silences it at boot.
    pub fn new(pin: P, active_low: bool) -> Self {
        GpioSiren { pin, active_low }
    }

    /// Gives the pin back.
    pub fn release(self) -> P {
        self.pin
    }
}

impl<P> ErrorType for GpioSiren<P> {
    type Error = Error;
}

impl<P: OutputPin> Siren for GpioSiren<P> {
    fn set(&mut self, on: bool) -> Result<(), Error> {
        if on != self.active_low {
            self.pin.set_high().map_err(pin)
        } else {
            self.pin.set_low().map_err(pin)
        }
    }
}
