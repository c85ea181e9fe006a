//! [`VoicePrompts`]: the lock's [`Sound`] on a voice module, any [`Voice`]
//! (a [`Jq8900`](crate::voice::Jq8900), a [`Wt588f`](crate::voice::Wt588f)),
//! playing each [`Announcement`] as numbered clips.
//!
//! # The clip table
//!
//! [`clips`] is the contract a voice module's memory is loaded to: clip
//! `n` must say what this table says. Numbers (person numbers, the serial
//! number, the firmware version, the verification code) are spoken digit
//! by digit after a clip naming them. A failure is the failure sound
//! followed by a clip saying why.
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
//! | 26 | 1 face, 2 palm, 3 fingerprint, 4 passcode (all three modules fitted) |
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
//! | 40 + digits | "user number", then its digits, at least three (`007`) |
//! | 41 + digits | "serial number", then its digits |
//! | 42 + digits | "firmware version", then major, 11, minor, 11, patch |
//! | 43 + digits | "verification code", then its digits |
//! | 48 + digits | "Matter pairing code", then its digits |
//! | 44, 45, 46, 47 | one choice each: "1 face", "2 palm", "3 fingerprint", "4 passcode": when not all three modules are fitted, the fitted ones' clips, then 47 |
//! | 50–58 | face enrolment steps, in [`EnrollStep`] order: present, lift, look straight, head up, head down, head left, head right, closer, further |
//! | 60–68 | palm enrolment steps, same order |
//! | 70–78 | fingerprint enrolment steps, same order |
//! | 80 + reason | failure sound, then why: |
//! | 81–99 | no match, outside validity, system locked, not administrator, not permitted, remote unlock disabled, battery too low, people full, credential store full, person's credentials full, no such person, last administrator, only person, out of range, door open, cause still active, clock backwards, storage fault, not set up |
//! | 100–106 | passcode: too short, too long, not a digit, too weak, overlaps a stored code, entries differ, passcodes full |
//! | 110–114 | enrolment: already enrolled, bad capture, timed out, module full, module fault |
//!
//! # Playing
//!
//! [`VoicePrompts::say`] plays an announcement's clips one after the other,
//! each after the one before has ended, so a failure sound is not cut off
//! by the reason that follows it. A clip whose end never comes (a BUSY line
//! that stays active) is given up after [`CLIP_LIMIT_MS`], then the next
//! plays. A clip that fails to play is skipped; the first error is returned
//! once the rest has played. Dropping `say` leaves the clip playing; the
//! runtime then calls [`Sound::stop`]. A voice module has no key click:
//! [`Sound::click`] does nothing.

use embassy_futures::select::{Either, select};
use embedded_hal_async::delay::DelayNs;
use heapless::Vec;
use lock_hal::{
    Announcement, EnrollReason, EnrollStep, ErrorType, Modality, PasscodeReason, Reason, Sound,
    Voice,
};

/// The longest [`VoicePrompts`] waits for one clip to end before it plays
/// the next clip of the announcement, in milliseconds.
pub const CLIP_LIMIT_MS: u32 = 10_000;

/// Most clips one announcement needs: "serial number" and 20 digits.
pub const MAX_CLIPS: usize = 24;

/// The clips of one announcement, in the order to play them.
pub type Clips = Vec<u16, MAX_CLIPS>;

/// The clip saying digit `d` (0–9).
pub const fn digit(d: u8) -> u16 {
    1 + d as u16
}

/// "point".
pub const POINT: u16 = 11;
/// The failure sound that starts every failure announcement.
pub const FAILURE: u16 = 80;
/// "1 face, 2 palm, 3 fingerprint, 4 passcode": all three modules fitted.
pub const CHOOSE_ANY: u16 = 26;
/// "1 face", said when not all modules are fitted.
pub const CHOOSE_FACE: u16 = 44;
/// "2 palm".
pub const CHOOSE_PALM: u16 = 45;
/// "3 fingerprint".
pub const CHOOSE_FINGER: u16 = 46;
/// "4 passcode".
pub const CHOOSE_PASSCODE: u16 = 47;

/// The clips that say `what` (the table in the module docs).
pub fn clips(what: &Announcement) -> Clips {
    let mut out = Clips::new();
    match *what {
        Announcement::DoorDirection => push(&mut out, 20),
        Announcement::CreateAdministrator => push(&mut out, 21),
        Announcement::EnterPasscode => push(&mut out, 22),
        Announcement::EnterPasscodeAgain => push(&mut out, 23),
        Announcement::VerifyAdministrator => push(&mut out, 24),
        Announcement::Menu => push(&mut out, 25),
        Announcement::ChooseCredential { face, palm, finger } => {
            if face && palm && finger {
                push(&mut out, CHOOSE_ANY);
            } else {
                for (fitted, clip) in [
                    (face, CHOOSE_FACE),
                    (palm, CHOOSE_PALM),
                    (finger, CHOOSE_FINGER),
                ] {
                    if fitted {
                        push(&mut out, clip);
                    }
                }
                push(&mut out, CHOOSE_PASSCODE);
            }
        }
        Announcement::EnterPersonNumber => push(&mut out, 27),
        Announcement::SettingsMenu => push(&mut out, 28),
        Announcement::Success => push(&mut out, 29),
        Announcement::Unlocked => push(&mut out, 30),
        Announcement::Locked => push(&mut out, 31),
        Announcement::SystemLocked => push(&mut out, 32),
        Announcement::PairingMode => push(&mut out, 33),
        Announcement::FactoryResetConfirm => push(&mut out, 34),
        Announcement::FactoryReset => push(&mut out, 35),
        Announcement::LowBattery => push(&mut out, 36),
        Announcement::Chime => push(&mut out, 37),
        Announcement::LeavingHome => push(&mut out, 38),
        Announcement::Jammed => push(&mut out, 39),
        Announcement::PersonNumber(n) => {
            push(&mut out, 40);
            push_number(&mut out, u64::from(n), PERSON_NUMBER_DIGITS);
        }
        Announcement::SerialNumber(n) => {
            push(&mut out, 41);
            push_number(&mut out, n, 1);
        }
        Announcement::FirmwareVersion(major, minor, patch) => {
            push(&mut out, 42);
            push_number(&mut out, u64::from(major), 1);
            push(&mut out, POINT);
            push_number(&mut out, u64::from(minor), 1);
            push(&mut out, POINT);
            push_number(&mut out, u64::from(patch), 1);
        }
        Announcement::VerificationCode(n) => {
            push(&mut out, 43);
            push_number(&mut out, u64::from(n), VERIFICATION_CODE_DIGITS);
        }
        Announcement::MatterCode(n) => {
            push(&mut out, 48);
            push_number(&mut out, n, MATTER_CODE_DIGITS);
        }
        Announcement::Enroll(kind, step) => {
            push(&mut out, enroll_base(kind) + step_index(step));
        }
        Announcement::Failure(reason) => {
            push(&mut out, FAILURE);
            push(&mut out, reason_clip(reason));
        }
    }
    out
}

fn push(out: &mut Clips, clip: u16) {
    // Cannot fail: the longest announcement is MAX_CLIPS long.
    let _ = out.push(clip);
}

/// A person's number is said in three digits, as the lock shows it: "007".
pub(crate) const PERSON_NUMBER_DIGITS: usize = 3;
/// The verification code is said in its six digits, as the phone shows it.
pub(crate) const VERIFICATION_CODE_DIGITS: usize = 6;
/// A Matter manual pairing code is said in its eleven digits, as a
/// controller takes it (its first digit may be 0).
pub(crate) const MATTER_CODE_DIGITS: usize = 11;

/// The decimal digits of `n`, most significant first, with leading zeros
/// up to `width` (at least one digit; at most 20).
pub(crate) fn decimal_digits(mut n: u64, width: usize) -> Vec<u8, 20> {
    let mut reversed: Vec<u8, 20> = Vec::new();
    loop {
        // `n % 10` is below 10, so it always fits; u64 has at most 20
        // digits, so the push cannot fail.
        let _ = reversed.push(u8::try_from(n % 10).unwrap_or(0));
        n /= 10;
        if n == 0 {
            break;
        }
    }
    while reversed.len() < width && reversed.push(0).is_ok() {}
    reversed.reverse();
    reversed
}

fn push_number(out: &mut Clips, n: u64, width: usize) {
    for d in decimal_digits(n, width) {
        push(out, digit(d));
    }
}

const fn enroll_base(kind: Modality) -> u16 {
    match kind {
        Modality::Face => 50,
        Modality::Palm => 60,
        Modality::Finger => 70,
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

const fn reason_clip(reason: Reason) -> u16 {
    match reason {
        Reason::NoMatch => 81,
        Reason::OutsideValidity => 82,
        Reason::SystemLocked => 83,
        Reason::NotAdministrator => 84,
        Reason::NotPermitted => 85,
        Reason::RemoteUnlockDisabled => 86,
        Reason::BatteryTooLow => 87,
        Reason::PeopleFull => 88,
        Reason::CredentialStoreFull => 89,
        Reason::PersonCredentialsFull => 90,
        Reason::NoSuchPerson => 91,
        Reason::LastAdministrator => 92,
        Reason::OnlyPerson => 93,
        Reason::OutOfRange => 94,
        Reason::DoorOpen => 95,
        Reason::CauseActive => 96,
        Reason::ClockBackwards => 97,
        Reason::StorageFault => 98,
        Reason::NotSetUp => 99,
        Reason::Passcode(e) => match e {
            PasscodeReason::TooShort => 100,
            PasscodeReason::TooLong => 101,
            PasscodeReason::NotADigit => 102,
            PasscodeReason::TooWeak => 103,
            PasscodeReason::Overlaps => 104,
            PasscodeReason::Mismatch => 105,
            PasscodeReason::Full => 106,
        },
        Reason::Enroll(f) => match f {
            EnrollReason::Duplicate => 110,
            EnrollReason::BadCapture => 111,
            EnrollReason::Timeout => 112,
            EnrollReason::ModuleFull => 113,
            EnrollReason::ModuleFault => 114,
        },
    }
}

/// The lock's [`Sound`] on a voice module: each announcement as the clips
/// of [`clips`], one after the other (see the module docs).
pub struct VoicePrompts<V, D> {
    voice: V,
    delay: D,
}

impl<V: Voice, D: DelayNs> VoicePrompts<V, D> {
    /// Takes the voice module and a delay for the per-clip limit.
    pub fn new(voice: V, delay: D) -> Self {
        VoicePrompts { voice, delay }
    }

    /// Gives the module and the delay back.
    pub fn release(self) -> (V, D) {
        (self.voice, self.delay)
    }

    /// Plays one clip and waits for its end, at most [`CLIP_LIMIT_MS`].
    async fn play_one(&mut self, clip: u16) -> Result<(), V::Error> {
        self.voice.play(clip).await?;
        match select(
            self.voice.wait_until_done(),
            self.delay.delay_ms(CLIP_LIMIT_MS),
        )
        .await
        {
            Either::First(result) => result,
            // Given up on: the next clip plays over it.
            Either::Second(()) => Ok(()),
        }
    }
}

impl<V: ErrorType, D> ErrorType for VoicePrompts<V, D> {
    type Error = V::Error;
}

impl<V: Voice, D: DelayNs> Sound for VoicePrompts<V, D> {
    async fn say(&mut self, what: &Announcement) -> Result<(), V::Error> {
        let mut first_error = None;
        for clip in clips(what) {
            if let Err(e) = self.play_one(clip).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn stop(&mut self) -> Result<(), V::Error> {
        self.voice.stop().await
    }

    async fn set_volume(&mut self, level: u8) -> Result<(), V::Error> {
        self.voice.set_volume(level).await
    }

    /// A voice module has no click: nothing.
    async fn click(&mut self) -> Result<(), V::Error> {
        Ok(())
    }
}
