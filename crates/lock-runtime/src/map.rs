//! lock-hal's types to lock-core's and back. The two crates do not know each
//! other (drivers depend on lock-hal alone), so the runtime translates.

use lock_core::{BoltPosition, EnrollFailure, EnrollStep, Key, MotorDirection};
use lock_hal as hal;

pub(crate) fn key(key: hal::Key) -> Key {
    match key {
        hal::Key::Digit(d) => Key::Digit(d),
        hal::Key::Back => Key::Back,
        hal::Key::Ok => Key::Ok,
        hal::Key::Home => Key::Home,
        hal::Key::Bell => Key::Bell,
    }
}

pub(crate) fn enroll_step(step: hal::EnrollStep) -> EnrollStep {
    match step {
        hal::EnrollStep::Present => EnrollStep::Present,
        hal::EnrollStep::Lift => EnrollStep::Lift,
        hal::EnrollStep::LookStraight => EnrollStep::LookStraight,
        hal::EnrollStep::HeadUp => EnrollStep::HeadUp,
        hal::EnrollStep::HeadDown => EnrollStep::HeadDown,
        hal::EnrollStep::HeadLeft => EnrollStep::HeadLeft,
        hal::EnrollStep::HeadRight => EnrollStep::HeadRight,
        hal::EnrollStep::Closer => EnrollStep::Closer,
        hal::EnrollStep::Further => EnrollStep::Further,
    }
}

pub(crate) fn enroll_refusal(refusal: hal::EnrollRefusal) -> EnrollFailure {
    match refusal {
        hal::EnrollRefusal::Duplicate => EnrollFailure::Duplicate,
        hal::EnrollRefusal::BadCapture => EnrollFailure::BadCapture,
        hal::EnrollRefusal::Timeout => EnrollFailure::Timeout,
        hal::EnrollRefusal::Full => EnrollFailure::ModuleFull,
    }
}

pub(crate) fn motor(direction: MotorDirection) -> hal::MotorDirection {
    match direction {
        MotorDirection::Forward => hal::MotorDirection::Forward,
        MotorDirection::Reverse => hal::MotorDirection::Reverse,
    }
}

/// Where a movement goes, for the motor.
pub(crate) fn bolt_end(to: BoltPosition) -> hal::BoltEnd {
    match to {
        BoltPosition::Locked => hal::BoltEnd::Locked,
        BoltPosition::Unlocked => hal::BoltEnd::Unlocked,
    }
}

/// The end position the switches report, if at one.
pub(crate) fn bolt(position: hal::BoltPosition) -> Option<BoltPosition> {
    match position {
        hal::BoltPosition::Locked => Some(BoltPosition::Locked),
        hal::BoltPosition::Unlocked => Some(BoltPosition::Unlocked),
        hal::BoltPosition::Between => None,
    }
}

/// A voice module's loudness for the lock's volume setting.
pub(crate) fn volume(volume: lock_core::Volume) -> u8 {
    use lock_core::Volume;
    match volume {
        Volume::Low => 85,
        Volume::Medium => 170,
        Volume::High => 255,
    }
}
