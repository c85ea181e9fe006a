//! The lock body: the bolt motor and the sensors around it. Each sensor is
//! its own trait (tock's HIL rule: reading a sensor and driving an actuator
//! are separate), and each may be absent: pass [`Absent`](crate::Absent).

use crate::ErrorType;

/// Which way to turn the motor. The runtime picks it from the door
/// direction chosen at installation, so the body needs no configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MotorDirection {
    /// Positive polarity.
    Forward,
    /// Negative polarity.
    Reverse,
}

/// An end of the bolt's travel: where a movement goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BoltEnd {
    /// Thrown.
    Locked,
    /// Retracted.
    Unlocked,
}

/// The bolt motor, through an H-bridge.
///
/// Every method is quick and non-blocking (it sets pins or PWM duty) and must
/// not fail silently: a bridge that cannot be driven returns an error.
///
/// The body is timed by the lock, not by the board: the lock's
/// configuration (`lock_core::BoltBody`) says which ends have a switch and
/// how long a movement may take, and the runtime stops the motor at the
/// switch, on a stall, or at that limit (towards an end without a switch,
/// the limit is how the bolt arrives).
pub trait Motor: ErrorType {
    /// Powers the motor in `direction`, moving the bolt `toward` an end,
    /// until [`Motor::brake`] or [`Motor::coast`]. The direction is the
    /// lock's, from the door's hand; `toward` is for a body that cares
    /// (more torque to throw than to retract, say). The runtime bounds the
    /// run.
    fn drive(&mut self, direction: MotorDirection, toward: BoltEnd) -> Result<(), Self::Error>;

    /// Shorts the windings: the motor stops fast.
    fn brake(&mut self) -> Result<(), Self::Error>;

    /// Leaves the motor unpowered. The state the runtime leaves it in after
    /// every movement (R-LCK-3).
    fn coast(&mut self) -> Result<(), Self::Error>;
}

/// Where the bolt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BoltPosition {
    /// Thrown.
    Locked,
    /// Retracted.
    Unlocked,
    /// Between the end switches.
    Between,
}

/// The bolt's end switches: both, or one, as the lock's configuration
/// (`lock_core::BoltBody`) declares. A body with one switch reports that
/// end or [`BoltPosition::Between`] ("not at the switch"), which the lock
/// reads as the other end. A body with none needs no sensor: pass
/// [`Absent`](crate::Absent), which the runtime never asks.
pub trait BoltSensor: ErrorType {
    /// Where the bolt is now.
    fn position(&mut self) -> Result<BoltPosition, Self::Error>;

    /// Waits until the position differs from `last`, then returns it.
    /// Cancel-safe: dropping the future loses nothing, the next call sees the
    /// current position.
    async fn wait_for_change(&mut self, last: BoltPosition) -> Result<BoltPosition, Self::Error>;
}

/// The motor's over-current input: a stall means a jammed bolt (R-LCK-3).
pub trait StallSensor: ErrorType {
    /// Waits until the motor current exceeds the stall threshold. Only
    /// meaningful while the motor is driven. Cancel-safe.
    async fn wait_for_stall(&mut self) -> Result<(), Self::Error>;
}

/// An open / closed input: the door sensor, the latch sensor.
pub trait ContactSensor: ErrorType {
    /// Whether the contact is open now (door open, latch out).
    fn is_open(&mut self) -> Result<bool, Self::Error>;

    /// Waits until the state differs from `last_open`, then returns it.
    /// Debounced by the implementation. Cancel-safe.
    async fn wait_for_change(&mut self, last_open: bool) -> Result<bool, Self::Error>;
}

/// An input that reports an occurrence: the tamper switch (front panel
/// forced), the key-in-cylinder switch.
pub trait TriggerSensor: ErrorType {
    /// Waits for the next occurrence, debounced. Cancel-safe: an occurrence
    /// while no one waits is kept until the next call (at most one).
    async fn wait_for_trigger(&mut self) -> Result<(), Self::Error>;
}

impl<T: Motor + ?Sized> Motor for &mut T {
    fn drive(&mut self, direction: MotorDirection, toward: BoltEnd) -> Result<(), Self::Error> {
        T::drive(self, direction, toward)
    }
    fn brake(&mut self) -> Result<(), Self::Error> {
        T::brake(self)
    }
    fn coast(&mut self) -> Result<(), Self::Error> {
        T::coast(self)
    }
}

impl<T: BoltSensor + ?Sized> BoltSensor for &mut T {
    fn position(&mut self) -> Result<BoltPosition, Self::Error> {
        T::position(self)
    }
    async fn wait_for_change(&mut self, last: BoltPosition) -> Result<BoltPosition, Self::Error> {
        T::wait_for_change(self, last).await
    }
}

impl<T: StallSensor + ?Sized> StallSensor for &mut T {
    async fn wait_for_stall(&mut self) -> Result<(), Self::Error> {
        T::wait_for_stall(self).await
    }
}

impl<T: ContactSensor + ?Sized> ContactSensor for &mut T {
    fn is_open(&mut self) -> Result<bool, Self::Error> {
        T::is_open(self)
    }
    async fn wait_for_change(&mut self, last_open: bool) -> Result<bool, Self::Error> {
        T::wait_for_change(self, last_open).await
    }
}

impl<T: TriggerSensor + ?Sized> TriggerSensor for &mut T {
    async fn wait_for_trigger(&mut self) -> Result<(), Self::Error> {
        T::wait_for_trigger(self).await
    }
}
