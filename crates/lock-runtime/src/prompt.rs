//! Which voice clips say each [`Prompt`]: the table a voice module's memory
//! must be loaded to match.
//!
//! Numbers (person numbers, the serial number, the firmware version, the
//! verification code) are spoken digit by digit after a clip naming them.
//! A failure is the failure sound followed by a clip saying why.
//!
//! | clips | what they say |
//! |---|---|
//! | 1–10 | the digits "zero" to "nine" (clip = 1 + digit) |
//! | 11 | "point" (between the parts of the firmware version) |
//! | 20 | choose the door direction: ✓, then 1 for right-opening, 2 for left |
//! | 21 | press ✓ to create the administrator |
//! | 22 | enter the passcode, then ✓ |
//! | 23 | enter the passcode again, then ✓ |
//! | 24 | verify an administrator |
//! | 25 | the menu: 1 add administrator, 2 add user, 3 delete, 4 settings, 5 system information |
//! | 26 | 1 face, 2 palm, 3 fingerprint, 4 passcode |
//! | 27 | enter the person's number, then ✓ |
//! | 28 | the settings: 1 volume, 2 countdown lock, 3 remote unlock |
//! | 29 | success sound |
//! | 30 | "unlocked" |
//! | 31 | "locked" |
//! | 32 | "system locked" |
//! | 33 | "pairing mode" |
//! | 34 | press ✓ to restore factory settings |
//! | 35 | "factory settings restored" |
//! | 36 | "battery low, please replace" |
//! | 37 | the doorbell chime |
//! | 38 | "leaving-home mode on" |
//! | 39 | "the bolt is jammed" |
//! | 40 + digits | "user number", then its three digits |
//! | 41 + digits | "serial number", then its digits |
//! | 42 + digits | "firmware version", then major, 11, minor, 11, patch |
//! | 43 + digits | "verification code", then its digits |
//! | 50–58 | face enrolment steps, in [`EnrollStep`] order: present, lift, look straight, head up, head down, head left, head right, closer, further |
//! | 60–68 | palm enrolment steps, same order |
//! | 70–78 | fingerprint enrolment steps, same order |
//! | 80 + reason | failure sound, then why: |
//! | 81–99 | no match, outside validity, system locked, not administrator, not permitted, remote unlock disabled, battery too low, people full, credential store full, person's credentials full, no such person, last administrator, only person, out of range, door open, cause still active, clock backwards, storage fault, not set up |
//! | 100–106 | passcode: too short, too long, not a digit, too weak, overlaps a stored code, entries differ, passcodes full |
//! | 110–114 | enrolment: already enrolled, bad capture, timed out, module full, module fault |

use heapless::Vec;
use lock_core::{BiometricKind, EnrollFailure, EnrollStep, PasscodeError, Prompt, Refusal};

/// Most clips one prompt needs: "serial number" and 20 digits.
pub const MAX_CLIPS: usize = 24;

/// The clips of one prompt, in the order to play them.
pub type Clips = Vec<u16, MAX_CLIPS>;

/// The clip saying digit `d` (0–9).
pub const fn digit(d: u8) -> u16 {
    1 + d as u16
}

/// "point".
pub const POINT: u16 = 11;
/// The failure sound that starts every failure prompt.
pub const FAILURE: u16 = 80;

/// The clips that say `prompt`.
pub fn clips(prompt: &Prompt) -> Clips {
    let mut out = Clips::new();
    match *prompt {
        Prompt::DoorDirection => push(&mut out, 20),
        Prompt::CreateAdministrator => push(&mut out, 21),
        Prompt::EnterPasscode => push(&mut out, 22),
        Prompt::EnterPasscodeAgain => push(&mut out, 23),
        Prompt::VerifyAdministrator => push(&mut out, 24),
        Prompt::Menu => push(&mut out, 25),
        Prompt::ChooseCredential(_) => push(&mut out, 26),
        Prompt::EnterPersonNumber => push(&mut out, 27),
        Prompt::SettingsMenu => push(&mut out, 28),
        Prompt::Success => push(&mut out, 29),
        Prompt::Unlocked => push(&mut out, 30),
        Prompt::Locked => push(&mut out, 31),
        Prompt::SystemLocked => push(&mut out, 32),
        Prompt::PairingMode => push(&mut out, 33),
        Prompt::FactoryResetConfirm => push(&mut out, 34),
        Prompt::FactoryReset => push(&mut out, 35),
        Prompt::LowBattery => push(&mut out, 36),
        Prompt::Chime => push(&mut out, 37),
        Prompt::LeavingHome => push(&mut out, 38),
        Prompt::Jammed => push(&mut out, 39),
        Prompt::PersonNumber(n) => {
            push(&mut out, 40);
            for d in n.digits() {
                push(&mut out, digit(d));
            }
        }
        Prompt::SerialNumber(n) => {
            push(&mut out, 41);
            push_number(&mut out, n);
        }
        Prompt::FirmwareVersion(major, minor, patch) => {
            push(&mut out, 42);
            push_number(&mut out, u64::from(major));
            push(&mut out, POINT);
            push_number(&mut out, u64::from(minor));
            push(&mut out, POINT);
            push_number(&mut out, u64::from(patch));
        }
        Prompt::VerificationCode(n) => {
            push(&mut out, 43);
            push_number(&mut out, u64::from(n));
        }
        Prompt::Enroll(kind, step) => push(&mut out, enroll_base(kind) + step_index(step)),
        Prompt::Failure(reason) => {
            push(&mut out, FAILURE);
            push(&mut out, reason_clip(reason));
        }
    }
    out
}

fn push(out: &mut Clips, clip: u16) {
    // Cannot fail: the longest prompt is MAX_CLIPS long.
    let _ = out.push(clip);
}

fn push_number(out: &mut Clips, mut n: u64) {
    let mut reversed: Vec<u8, 20> = Vec::new();
    loop {
        // `n % 10` is below 10, so it always fits.
        let _ = reversed.push(u8::try_from(n % 10).unwrap_or(0));
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in reversed.iter().rev() {
        push(out, digit(*d));
    }
}

const fn enroll_base(kind: BiometricKind) -> u16 {
    match kind {
        BiometricKind::Face => 50,
        BiometricKind::Palm => 60,
        BiometricKind::Finger => 70,
    }
}

const fn step_index(step: EnrollStep) -> u16 {
    match step {
        EnrollStep::Present => 0,
        EnrollStep::Lift => 1,
        EnrollStep::LookStraight => 2,
        EnrollStep::HeadUp => 3,
        EnrollStep::HeadDown => 4,
        EnrollStep::HeadLeft => 5,
        EnrollStep::HeadRight => 6,
        EnrollStep::Closer => 7,
        EnrollStep::Further => 8,
    }
}

const fn reason_clip(reason: Refusal) -> u16 {
    match reason {
        Refusal::NoMatch => 81,
        Refusal::OutsideValidity => 82,
        Refusal::SystemLocked => 83,
        Refusal::NotAdministrator => 84,
        Refusal::NotPermitted => 85,
        Refusal::RemoteUnlockDisabled => 86,
        Refusal::BatteryTooLow => 87,
        Refusal::PeopleFull => 88,
        Refusal::CredentialStoreFull => 89,
        Refusal::PersonCredentialsFull => 90,
        Refusal::NoSuchPerson => 91,
        Refusal::LastAdministrator => 92,
        Refusal::OnlyPerson => 93,
        Refusal::OutOfRange => 94,
        Refusal::DoorOpen => 95,
        Refusal::CauseActive => 96,
        Refusal::ClockBackwards => 97,
        Refusal::StorageFault => 98,
        Refusal::NotSetUp => 99,
        Refusal::Passcode(e) => match e {
            PasscodeError::TooShort => 100,
            PasscodeError::TooLong => 101,
            PasscodeError::NotADigit => 102,
            PasscodeError::TooWeak => 103,
            PasscodeError::Overlaps => 104,
            PasscodeError::Mismatch => 105,
            PasscodeError::Full => 106,
        },
        Refusal::Enroll(f) => match f {
            EnrollFailure::Duplicate => 110,
            EnrollFailure::BadCapture => 111,
            EnrollFailure::Timeout => 112,
            EnrollFailure::ModuleFull => 113,
            EnrollFailure::ModuleFault => 114,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock_core::PersonNumber;

    #[test]
    fn numbers_are_spoken_digit_by_digit() {
        let n = PersonNumber::new(7).unwrap();
        assert_eq!(clips(&Prompt::PersonNumber(n)).as_slice(), &[40, 1, 1, 8]);
        assert_eq!(
            clips(&Prompt::SerialNumber(2026_0001)).as_slice(),
            &[41, 3, 1, 3, 7, 1, 1, 1, 2]
        );
        assert_eq!(
            clips(&Prompt::FirmwareVersion(1, 12, 0)).as_slice(),
            &[42, 2, POINT, 2, 3, POINT, 1]
        );
        assert_eq!(clips(&Prompt::SerialNumber(0)).as_slice(), &[41, 1]);
        assert_eq!(clips(&Prompt::SerialNumber(u64::MAX)).len(), 21);
    }

    #[test]
    fn a_failure_says_the_sound_then_why() {
        assert_eq!(
            clips(&Prompt::Failure(Refusal::Enroll(EnrollFailure::Duplicate))).as_slice(),
            &[FAILURE, 110]
        );
        assert_eq!(
            clips(&Prompt::Enroll(BiometricKind::Finger, EnrollStep::Lift)).as_slice(),
            &[71]
        );
    }
}
