//! The lock body: the bolt motor on a DRV8833 / DRV8870-class H-bridge, the
//! bolt's end switches (both, or one: [`EndSwitch`]), and the motor's
//! over-current comparator or shunt.
//!
//! **Wiring.**
//! - Bridge: IN1/IN2 to two GPIOs ([`HBridge`]) or two PWM channels
//!   ([`PwmHBridge`]); optionally nSLEEP to a third GPIO, so the bridge
//!   sleeps (about 1 µA instead of about 1 mA) between movements. IN1/IN2 =
//!   1/0 forward, 0/1 reverse, 1/1 brake, 0/0 coast. nFAULT (open drain) is
//!   not read: a fault shows as a bolt that does not move, which the travel
//!   timeout catches.
//! - End switches: one GPIO per end ([`EndSwitches`]), with interrupts
//!   (embedded-hal-async `Wait`); usually a switch to ground with a pull-up,
//!   so active low.
//! - Over-current: the shunt's op-amp into a comparator, its output to a
//!   GPIO with an interrupt ([`OverCurrent`]); or the op-amp straight into
//!   an ADC input, read through the crate's [`RawAdc`] ([`ShuntStall`]),
//!   which samples it every [`ShuntStall::PERIOD_MS`] while the lock waits
//!   for a stall and calls [`ShuntStall::SAMPLES`] readings in a row at or
//!   above a threshold a stall. The comparator costs a part and wakes the
//!   chip only on a stall; the ADC needs none and keeps the chip awake
//!   every 5 ms, but only while the motor runs.
//!
//! **Protocol source.** The DRV8833 / DRV8870 datasheets' input truth table,
//! as written out in the project's `PERIPHERALS.md`.
//!
//! **Movement.** The lock times the bolt, not the driver: the runtime powers
//! the motor ([`Motor::drive`]), stops it at the end switch, on a stall
//! (after its inrush blanking) or at the body's travel limit in the lock's
//! configuration, then brakes and coasts — the order `PERIPHERALS.md` asks
//! for (R-LCK-3). Which direction throws the bolt depends on the door's
//! hand; the lock core chooses it (R-UNL-3) and the bridge only applies it,
//! with [`HBridge::swap_polarity`] for a motor wired the other way round.
//! A body with a switch at one end only reads through [`EndSwitch`].

use embassy_futures::select::{Either, select};
use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal::pwm::SetDutyCycle;
use embedded_hal_async::digital::Wait;
use lock_hal::{
    BoltEnd, BoltPosition, BoltSensor, Clock, Error as HalError, ErrorKind, ErrorType, Motor,
    MotorDirection, StallSensor,
};

use crate::battery::RawAdc;

/// What went wrong with a pin or PWM channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A GPIO failed.
    #[error("pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
    /// A PWM channel failed.
    #[error("PWM error: {0:?}")]
    Pwm(embedded_hal::pwm::ErrorKind),
    /// Both end switches read active: a wiring or switch fault.
    #[error("both end switches active")]
    BothEnds,
    /// The shunt's ADC failed ([`ShuntStall`]); the ADC error's kind.
    #[error("ADC error: {0:?}")]
    Adc(ErrorKind),
}

impl HalError for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Pin(_) | Error::Pwm(_) => ErrorKind::Bus,
            Error::BothEnds => ErrorKind::Device,
            Error::Adc(kind) => *kind,
        }
    }
}

fn pin<E: embedded_hal::digital::Error>(error: E) -> Error {
    Error::Pin(error.kind())
}

/// An output that is not wired (a bridge without an nSLEEP line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoPin;

impl embedded_hal::digital::ErrorType for NoPin {
    type Error = core::convert::Infallible;
}

impl OutputPin for NoPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A DRV8833-class bridge on two GPIOs (and nSLEEP, if wired).
pub struct HBridge<A, B, S = NoPin> {
    in1: A,
    in2: B,
    sleep: S,
    swapped: bool,
}

impl<A: OutputPin, B: OutputPin> HBridge<A, B, NoPin> {
    /// IN1 and IN2; nSLEEP tied high.
    pub fn new(in1: A, in2: B) -> Self {
        HBridge::with_sleep(in1, in2, NoPin)
    }
}

impl<A: OutputPin, B: OutputPin, S: OutputPin> HBridge<A, B, S> {
    /// IN1, IN2 and nSLEEP: the bridge sleeps whenever the motor coasts.
    pub fn with_sleep(in1: A, in2: B, sleep: S) -> Self {
        HBridge {
            in1,
            in2,
            sleep,
            swapped: false,
        }
    }

    /// For a motor wired the other way round: forward becomes 0/1.
    pub fn swap_polarity(mut self, swapped: bool) -> Self {
        self.swapped = swapped;
        self
    }

    /// Gives the pins back.
    pub fn release(self) -> (A, B, S) {
        (self.in1, self.in2, self.sleep)
    }
}

impl<A, B, S> ErrorType for HBridge<A, B, S> {
    type Error = Error;
}

impl<A: OutputPin, B: OutputPin, S: OutputPin> Motor for HBridge<A, B, S> {
    fn drive(&mut self, direction: MotorDirection, _toward: BoltEnd) -> Result<(), Error> {
        self.sleep.set_high().map_err(pin)?;
        // The pin going low first, so a reversal passes through coast, never
        // through brake.
        if (direction == MotorDirection::Forward) != self.swapped {
            self.in2.set_low().map_err(pin)?;
            self.in1.set_high().map_err(pin)
        } else {
            self.in1.set_low().map_err(pin)?;
            self.in2.set_high().map_err(pin)
        }
    }

    fn brake(&mut self) -> Result<(), Error> {
        self.sleep.set_high().map_err(pin)?;
        self.in1.set_high().map_err(pin)?;
        self.in2.set_high().map_err(pin)
    }

    fn coast(&mut self) -> Result<(), Error> {
        self.in1.set_low().map_err(pin)?;
        self.in2.set_low().map_err(pin)?;
        self.sleep.set_low().map_err(pin)
    }
}

/// A DRV8833-class bridge on two PWM channels: the driven input at
/// [`PwmHBridge::duty_percent`], the other at 0 (fast decay).
pub struct PwmHBridge<A, B> {
    in1: A,
    in2: B,
    duty_percent: u8,
    swapped: bool,
}

impl<A: SetDutyCycle, B: SetDutyCycle> PwmHBridge<A, B> {
    /// IN1 and IN2 channels, driving at `duty_percent` (capped at 100).
    pub fn new(in1: A, in2: B, duty_percent: u8) -> Self {
        PwmHBridge {
            in1,
            in2,
            duty_percent: duty_percent.min(100),
            swapped: false,
        }
    }

    /// For a motor wired the other way round.
    pub fn swap_polarity(mut self, swapped: bool) -> Self {
        self.swapped = swapped;
        self
    }

    /// The duty the motor is driven at.
    pub fn duty_percent(&self) -> u8 {
        self.duty_percent
    }

    /// Gives the channels back.
    pub fn release(self) -> (A, B) {
        (self.in1, self.in2)
    }
}

fn pwm<E: embedded_hal::pwm::Error>(error: E) -> Error {
    Error::Pwm(error.kind())
}

impl<A, B> ErrorType for PwmHBridge<A, B> {
    type Error = Error;
}

impl<A: SetDutyCycle, B: SetDutyCycle> Motor for PwmHBridge<A, B> {
    fn drive(&mut self, direction: MotorDirection, _toward: BoltEnd) -> Result<(), Error> {
        let duty = self.duty_percent;
        if (direction == MotorDirection::Forward) != self.swapped {
            self.in2.set_duty_cycle_fully_off().map_err(pwm)?;
            self.in1.set_duty_cycle_percent(duty).map_err(pwm)
        } else {
            self.in1.set_duty_cycle_fully_off().map_err(pwm)?;
            self.in2.set_duty_cycle_percent(duty).map_err(pwm)
        }
    }

    fn brake(&mut self) -> Result<(), Error> {
        self.in1.set_duty_cycle_fully_on().map_err(pwm)?;
        self.in2.set_duty_cycle_fully_on().map_err(pwm)
    }

    fn coast(&mut self) -> Result<(), Error> {
        self.in1.set_duty_cycle_fully_off().map_err(pwm)?;
        self.in2.set_duty_cycle_fully_off().map_err(pwm)
    }
}

/// Waits until `pin` leaves its current level (`high`).
async fn wait_for_other_level<P: Wait>(pin: &mut P, high: bool) -> Result<(), Error> {
    if high {
        pin.wait_for_low().await.map_err(self::pin)
    } else {
        pin.wait_for_high().await.map_err(self::pin)
    }
}

/// The bolt's two end switches.
pub struct EndSwitches<L, U> {
    locked: L,
    unlocked: U,
    active_low: bool,
}

impl<L: InputPin + Wait, U: InputPin + Wait> EndSwitches<L, U> {
    /// The switch closed when the bolt is thrown, the one closed when it is
    /// retracted; `active_low` when a closed switch reads low.
    pub fn new(locked: L, unlocked: U, active_low: bool) -> Self {
        EndSwitches {
            locked,
            unlocked,
            active_low,
        }
    }

    /// Gives the pins back.
    pub fn release(self) -> (L, U) {
        (self.locked, self.unlocked)
    }

    fn levels(&mut self) -> Result<(bool, bool), Error> {
        let locked = self.locked.is_high().map_err(pin)?;
        let unlocked = self.unlocked.is_high().map_err(pin)?;
        Ok((locked, unlocked))
    }

    fn position_of(&self, (locked, unlocked): (bool, bool)) -> Result<BoltPosition, Error> {
        match (locked != self.active_low, unlocked != self.active_low) {
            (true, true) => Err(Error::BothEnds),
            (true, false) => Ok(BoltPosition::Locked),
            (false, true) => Ok(BoltPosition::Unlocked),
            (false, false) => Ok(BoltPosition::Between),
        }
    }
}

impl<L, U> ErrorType for EndSwitches<L, U> {
    type Error = Error;
}

impl<L: InputPin + Wait, U: InputPin + Wait> BoltSensor for EndSwitches<L, U> {
    fn position(&mut self) -> Result<BoltPosition, Error> {
        let levels = self.levels()?;
        self.position_of(levels)
    }

    /// Waits for either pin to leave the level it reads, by level (not
    /// edge): a change between the read and the wait is not missed, and
    /// dropping the wait loses nothing. Not debounced: the first contact is
    /// what a motor stop needs.
    async fn wait_for_change(&mut self, last: BoltPosition) -> Result<BoltPosition, Error> {
        loop {
            let levels = self.levels()?;
            let position = self.position_of(levels)?;
            if position != last {
                return Ok(position);
            }
            let (locked_high, unlocked_high) = levels;
            match select(
                wait_for_other_level(&mut self.locked, locked_high),
                wait_for_other_level(&mut self.unlocked, unlocked_high),
            )
            .await
            {
                Either::First(result) | Either::Second(result) => result?,
            }
        }
    }
}

/// One end switch, for a body switched at one end only (its other end is
/// reached by the lock's travel limit): reads that end, or
/// [`BoltPosition::Between`] when the bolt is off it, which the lock takes
/// as the other end. Declare the body as such in the lock's configuration
/// (`lock_core::BoltSwitches::LockedOnly` or `UnlockedOnly`).
pub struct EndSwitch<P> {
    pin: P,
    at: BoltPosition,
    active_low: bool,
}

impl<P: InputPin + Wait> EndSwitch<P> {
    /// The switch closed when the bolt is thrown.
    pub fn locked(pin: P, active_low: bool) -> Self {
        EndSwitch {
            pin,
            at: BoltPosition::Locked,
            active_low,
        }
    }

    /// The switch closed when the bolt is retracted.
    pub fn unlocked(pin: P, active_low: bool) -> Self {
        EndSwitch {
            pin,
            at: BoltPosition::Unlocked,
            active_low,
        }
    }

    /// Gives the pin back.
    pub fn release(self) -> P {
        self.pin
    }

    fn read(&mut self) -> Result<(bool, BoltPosition), Error> {
        let high = self.pin.is_high().map_err(pin)?;
        let closed = high != self.active_low;
        Ok((
            high,
            if closed {
                self.at
            } else {
                BoltPosition::Between
            },
        ))
    }
}

impl<P> ErrorType for EndSwitch<P> {
    type Error = Error;
}

impl<P: InputPin + Wait> BoltSensor for EndSwitch<P> {
    fn position(&mut self) -> Result<BoltPosition, Error> {
        Ok(self.read()?.1)
    }

    /// As [`EndSwitches`]: by level, not debounced.
    async fn wait_for_change(&mut self, last: BoltPosition) -> Result<BoltPosition, Error> {
        loop {
            let (high, position) = self.read()?;
            if position != last {
                return Ok(position);
            }
            wait_for_other_level(&mut self.pin, high).await?;
        }
    }
}

/// The over-current comparator output.
pub struct OverCurrent<P> {
    input: P,
    active_low: bool,
}

impl<P: Wait> OverCurrent<P> {
    /// The comparator's output; `active_low` when over-current reads low.
    pub fn new(input: P, active_low: bool) -> Self {
        OverCurrent { input, active_low }
    }

    /// Gives the pin back.
    pub fn release(self) -> P {
        self.input
    }
}

impl<P> ErrorType for OverCurrent<P> {
    type Error = Error;
}

impl<P: Wait> StallSensor for OverCurrent<P> {
    /// Waits for the active level (a level wait: cancel-safe, and an
    /// over-current already present returns at once).
    async fn wait_for_stall(&mut self) -> Result<(), Error> {
        let result = if self.active_low {
            self.input.wait_for_low().await
        } else {
            self.input.wait_for_high().await
        };
        result.map_err(pin)
    }
}

/// The motor's stall from its shunt on an ADC input: the amplified shunt
/// voltage, read every [`ShuntStall::PERIOD_MS`] while the lock waits for a
/// stall (it waits only while the motor runs), a stall being
/// [`ShuntStall::SAMPLES`] readings in a row at or above the threshold, so
/// one noisy reading is not a jam.
pub struct ShuntStall<A, C> {
    adc: A,
    clock: C,
    threshold_raw: u16,
}

impl<A, C> ShuntStall<A, C> {
    /// How often the shunt is read while the motor runs, ms.
    pub const PERIOD_MS: u64 = 5;
    /// Readings in a row at or above the threshold that make a stall.
    pub const SAMPLES: u8 = 3;
}

impl<A: RawAdc, C: Clock> ShuntStall<A, C> {
    /// The shunt's ADC input and the lock's clock; `threshold_raw` is the
    /// reading (as `adc` gives it) of the stall current through the board's
    /// shunt and amplifier.
    pub fn new(adc: A, clock: C, threshold_raw: u16) -> Self {
        ShuntStall {
            adc,
            clock,
            threshold_raw,
        }
    }

    /// Gives the ADC input and the clock back.
    pub fn release(self) -> (A, C) {
        (self.adc, self.clock)
    }
}

impl<A, C> ErrorType for ShuntStall<A, C> {
    type Error = Error;
}

impl<A: RawAdc, C: Clock> StallSensor for ShuntStall<A, C> {
    /// Reads at once, then every [`ShuntStall::PERIOD_MS`] after the last
    /// reading. Cancel-safe (a dropped wait only forgets the readings so
    /// far); a failed reading ends the wait with [`Error::Adc`].
    async fn wait_for_stall(&mut self) -> Result<(), Error> {
        let mut over = 0u8;
        loop {
            let raw = self
                .adc
                .read_raw()
                .await
                .map_err(|error| Error::Adc(error.kind()))?;
            if raw >= self.threshold_raw {
                over = over.saturating_add(1);
                if over >= Self::SAMPLES {
                    return Ok(());
                }
            } else {
                over = 0;
            }
            let next = self.clock.now_ms().saturating_add(Self::PERIOD_MS);
            self.clock.wait_until(next).await;
        }
    }
}
