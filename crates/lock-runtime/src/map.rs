//! lock-hal's types to lock-core's and back. The two crates do not know each
//! other (drivers depend on lock-hal alone), so the runtime translates.

use lock_core::{
    BiometricKind, BoltPosition, EnrollFailure, EnrollStep, Key, MotorDirection, PasscodeError,
    Prompt, Refusal,
};
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

/// The sound's loudness for the lock's volume setting.
pub(crate) fn volume(volume: lock_core::Volume) -> u8 {
    use lock_core::Volume;
    match volume {
        Volume::Low => 85,
        Volume::Medium => 170,
        Volume::High => 255,
    }
}

/// What the board's [`Sound`](lock_hal::Sound) is handed for the core's
/// `prompt`: the same meaning, reason or number in lock-hal's words (the
/// drivers know lock-hal alone). A voice module plays it as the clips of
/// lock-drivers' `prompts` table; a buzzer as a pattern of beeps.
pub fn announcement(prompt: &Prompt) -> hal::Announcement {
    use hal::Announcement as A;
    match *prompt {
        Prompt::DoorDirection => A::DoorDirection,
        Prompt::CreateAdministrator => A::CreateAdministrator,
        Prompt::EnterPasscode => A::EnterPasscode,
        Prompt::EnterPasscodeAgain => A::EnterPasscodeAgain,
        Prompt::VerifyAdministrator => A::VerifyAdministrator,
        Prompt::Menu => A::Menu,
        Prompt::PersonNumber(n) => A::PersonNumber(u16::from(n.get())),
        Prompt::ChooseCredential(modules) => A::ChooseCredential {
            face: modules.face,
            palm: modules.palm,
            finger: modules.finger,
        },
        Prompt::Enroll(kind, step) => A::Enroll(modality(kind), hal_enroll_step(step)),
        Prompt::EnterPersonNumber => A::EnterPersonNumber,
        Prompt::SettingsMenu => A::SettingsMenu,
        Prompt::SerialNumber(n) => A::SerialNumber(n),
        Prompt::FirmwareVersion(major, minor, patch) => A::FirmwareVersion(major, minor, patch),
        Prompt::VerificationCode(n) => A::VerificationCode(n),
        Prompt::MatterCode(n) => A::MatterCode(n),
        Prompt::Success => A::Success,
        Prompt::Failure(refusal) => A::Failure(reason(refusal)),
        Prompt::Unlocked => A::Unlocked,
        Prompt::Locked => A::Locked,
        Prompt::SystemLocked => A::SystemLocked,
        Prompt::PairingMode => A::PairingMode,
        Prompt::FactoryResetConfirm => A::FactoryResetConfirm,
        Prompt::FactoryReset => A::FactoryReset,
        Prompt::LowBattery => A::LowBattery,
        Prompt::Chime => A::Chime,
        Prompt::LeavingHome => A::LeavingHome,
        Prompt::Jammed => A::Jammed,
    }
}

fn modality(kind: BiometricKind) -> hal::Modality {
    match kind {
        BiometricKind::Face => hal::Modality::Face,
        BiometricKind::Palm => hal::Modality::Palm,
        BiometricKind::Finger => hal::Modality::Finger,
    }
}

fn hal_enroll_step(step: EnrollStep) -> hal::EnrollStep {
    match step {
        EnrollStep::Present => hal::EnrollStep::Present,
        EnrollStep::Lift => hal::EnrollStep::Lift,
        EnrollStep::LookStraight => hal::EnrollStep::LookStraight,
        EnrollStep::HeadUp => hal::EnrollStep::HeadUp,
        EnrollStep::HeadDown => hal::EnrollStep::HeadDown,
        EnrollStep::HeadLeft => hal::EnrollStep::HeadLeft,
        EnrollStep::HeadRight => hal::EnrollStep::HeadRight,
        EnrollStep::Closer => hal::EnrollStep::Closer,
        EnrollStep::Further => hal::EnrollStep::Further,
    }
}

fn reason(refusal: Refusal) -> hal::Reason {
    use hal::Reason as R;
    match refusal {
        Refusal::NoMatch => R::NoMatch,
        Refusal::OutsideValidity => R::OutsideValidity,
        Refusal::SystemLocked => R::SystemLocked,
        Refusal::NotAdministrator => R::NotAdministrator,
        Refusal::NotPermitted => R::NotPermitted,
        Refusal::RemoteUnlockDisabled => R::RemoteUnlockDisabled,
        Refusal::BatteryTooLow => R::BatteryTooLow,
        Refusal::PeopleFull => R::PeopleFull,
        Refusal::CredentialStoreFull => R::CredentialStoreFull,
        Refusal::PersonCredentialsFull => R::PersonCredentialsFull,
        Refusal::Passcode(e) => R::Passcode(passcode_reason(e)),
        Refusal::Enroll(f) => R::Enroll(enroll_reason(f)),
        Refusal::NoSuchPerson => R::NoSuchPerson,
        Refusal::LastAdministrator => R::LastAdministrator,
        Refusal::OnlyPerson => R::OnlyPerson,
        Refusal::OutOfRange => R::OutOfRange,
        Refusal::DoorOpen => R::DoorOpen,
        Refusal::CauseActive => R::CauseActive,
        Refusal::ClockBackwards => R::ClockBackwards,
        Refusal::StorageFault => R::StorageFault,
        Refusal::NotSetUp => R::NotSetUp,
    }
}

fn passcode_reason(error: PasscodeError) -> hal::PasscodeReason {
    use hal::PasscodeReason as P;
    match error {
        PasscodeError::TooShort => P::TooShort,
        PasscodeError::TooLong => P::TooLong,
        PasscodeError::NotADigit => P::NotADigit,
        PasscodeError::TooWeak => P::TooWeak,
        PasscodeError::Overlaps => P::Overlaps,
        PasscodeError::Mismatch => P::Mismatch,
        PasscodeError::Full => P::Full,
    }
}

fn enroll_reason(failure: EnrollFailure) -> hal::EnrollReason {
    use hal::EnrollReason as E;
    match failure {
        EnrollFailure::Duplicate => E::Duplicate,
        EnrollFailure::BadCapture => E::BadCapture,
        EnrollFailure::Timeout => E::Timeout,
        EnrollFailure::ModuleFull => E::ModuleFull,
        EnrollFailure::ModuleFault => E::ModuleFault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock_core::PersonNumber;

    #[test]
    fn a_prompt_keeps_its_number_and_its_reason() {
        let seven = PersonNumber::new(7).unwrap();
        assert_eq!(
            announcement(&Prompt::PersonNumber(seven)),
            hal::Announcement::PersonNumber(7)
        );
        assert_eq!(
            announcement(&Prompt::FirmwareVersion(1, 12, 0)),
            hal::Announcement::FirmwareVersion(1, 12, 0)
        );
        let weak = announcement(&Prompt::Failure(Refusal::Passcode(PasscodeError::TooWeak)));
        assert_eq!(
            weak,
            hal::Announcement::Failure(hal::Reason::Passcode(hal::PasscodeReason::TooWeak))
        );
        let fault = announcement(&Prompt::Failure(Refusal::Enroll(
            EnrollFailure::ModuleFault,
        )));
        let hal::Announcement::Failure(reason) = fault else {
            panic!("{fault:?}");
        };
        assert_eq!(reason.class(), hal::RefusalClass::Fault);
        assert_eq!(
            announcement(&Prompt::Enroll(BiometricKind::Palm, EnrollStep::Lift)),
            hal::Announcement::Enroll(hal::Modality::Palm, hal::EnrollStep::Lift)
        );
        // The choices are the fitted modules' (R-MNU-4).
        let finger_only = lock_core::Modules {
            finger: true,
            ..lock_core::Modules::NONE
        };
        assert_eq!(
            announcement(&Prompt::ChooseCredential(finger_only)),
            hal::Announcement::ChooseCredential {
                face: false,
                palm: false,
                finger: true
            }
        );
    }
}
