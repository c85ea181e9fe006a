//! What the lock says and sounds: announcements, the voice module's clips
//! and the siren.
//!
//! The runtime hands each of the lock's prompts to the board's [`Sound`] as
//! an [`Announcement`]: what it means, with its reason or its number, not a
//! clip number. A voice module plays it as clips (lock-drivers'
//! `VoicePrompts` over any [`Voice`], with the clip table a module's memory
//! is loaded to); a piezo buzzer plays a pattern of beeps (lock-drivers'
//! `Buzzer`). So a lock without a voice module loses neither the reason of
//! a refusal nor the number of a new person.

use crate::ErrorType;

/// A biometric kind, as an announcement names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Modality {
    /// The 3D face module.
    Face,
    /// The palm-vein module.
    Palm,
    /// The fingerprint module.
    Finger,
}

/// Why a passcode was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PasscodeReason {
    /// Fewer digits than allowed.
    TooShort,
    /// More digits than allowed.
    TooLong,
    /// Something that is not a decimal digit.
    NotADigit,
    /// All digits equal, or a straight run up or down.
    TooWeak,
    /// Contains a stored code, or is contained in one.
    Overlaps,
    /// The second entry differs from the first.
    Mismatch,
    /// No free passcode slot, or the person has theirs already.
    Full,
}

/// Why a biometric enrolment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnrollReason {
    /// The module already holds this face / palm / finger.
    Duplicate,
    /// The captures were poor or did not agree.
    BadCapture,
    /// Nobody presented anything in time.
    Timeout,
    /// The module's own store is full.
    ModuleFull,
    /// The module did not answer or reported an error.
    ModuleFault,
}

/// Why the lock refused something: what a failure announcement says after
/// the failure sound. One for each refusal the lock's core knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reason {
    /// Nothing stored matched: a failed verification.
    NoMatch,
    /// The person is outside their validity period.
    OutsideValidity,
    /// A lockout is active.
    SystemLocked,
    /// A valid credential, but not an administrator's.
    NotAdministrator,
    /// The authenticated privilege does not allow this.
    NotPermitted,
    /// Remote unlock is switched off.
    RemoteUnlockDisabled,
    /// The battery is too low for this.
    BatteryTooLow,
    /// Every person number is taken.
    PeopleFull,
    /// The lock's store of that credential kind is full.
    CredentialStoreFull,
    /// The person has all the credentials of that kind they may.
    PersonCredentialsFull,
    /// A passcode rule.
    Passcode(PasscodeReason),
    /// A biometric enrolment failed.
    Enroll(EnrollReason),
    /// No person has that number.
    NoSuchPerson,
    /// The last administrator cannot be deleted.
    LastAdministrator,
    /// The only person left cannot be deleted.
    OnlyPerson,
    /// A value, or a key at a question, out of range.
    OutOfRange,
    /// The door is open: the bolt is never thrown into an open door.
    DoorOpen,
    /// The alarm lasts while its cause does.
    CauseActive,
    /// The wall clock would move back by more than allowed.
    ClockBackwards,
    /// The storage could not be read.
    StorageFault,
    /// The lock is not set up yet.
    NotSetUp,
}

/// The few kinds of refusal a sound without words (a buzzer) tells apart:
/// the person hears whether to try again, to stop trying, or to get help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RefusalClass {
    /// The credential was not recognised ([`Reason::NoMatch`]).
    NotRecognised,
    /// Recognised or well-formed, but not allowed now: a lockout, a
    /// validity period, a privilege, remote unlock switched off, the door
    /// open, a low battery, an alarm whose cause lasts, a clock moved back,
    /// a rule about the last administrator or the only person, a lock not
    /// set up.
    NotAllowed,
    /// Something is full: the people, a credential store, the person's
    /// credentials, a module's store.
    Full,
    /// What was typed or presented cannot be taken: a passcode rule, a
    /// value out of range, a person number that does not exist, an
    /// enrolment capture that failed or timed out or is already enrolled.
    /// Trying again differently may work.
    BadEntry,
    /// A part failed (storage, a module): get help.
    Fault,
}

impl RefusalClass {
    /// Every class, in the order of [`RefusalClass::index`].
    pub const ALL: [RefusalClass; 5] = [
        RefusalClass::NotRecognised,
        RefusalClass::NotAllowed,
        RefusalClass::Full,
        RefusalClass::BadEntry,
        RefusalClass::Fault,
    ];

    /// 1 to 5, in [`RefusalClass::ALL`]'s order: a buzzer counts it out.
    pub const fn index(self) -> u8 {
        match self {
            RefusalClass::NotRecognised => 1,
            RefusalClass::NotAllowed => 2,
            RefusalClass::Full => 3,
            RefusalClass::BadEntry => 4,
            RefusalClass::Fault => 5,
        }
    }
}

impl Reason {
    /// The class of this refusal.
    pub const fn class(self) -> RefusalClass {
        match self {
            Reason::NoMatch => RefusalClass::NotRecognised,
            Reason::OutsideValidity
            | Reason::SystemLocked
            | Reason::NotAdministrator
            | Reason::NotPermitted
            | Reason::RemoteUnlockDisabled
            | Reason::BatteryTooLow
            | Reason::LastAdministrator
            | Reason::OnlyPerson
            | Reason::DoorOpen
            | Reason::CauseActive
            | Reason::ClockBackwards
            | Reason::NotSetUp => RefusalClass::NotAllowed,
            Reason::PeopleFull
            | Reason::CredentialStoreFull
            | Reason::PersonCredentialsFull
            | Reason::Passcode(PasscodeReason::Full)
            | Reason::Enroll(EnrollReason::ModuleFull) => RefusalClass::Full,
            Reason::Passcode(_)
            | Reason::Enroll(
                EnrollReason::Duplicate | EnrollReason::BadCapture | EnrollReason::Timeout,
            )
            | Reason::NoSuchPerson
            | Reason::OutOfRange => RefusalClass::BadEntry,
            Reason::StorageFault | Reason::Enroll(EnrollReason::ModuleFault) => RefusalClass::Fault,
        }
    }
}

/// What the lock has to say: one of its prompts, with its meaning, reason
/// or number. The runtime makes one of each of the core's prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Announcement {
    /// "Choose the door direction: ✓, then 1 for right-opening, 2 for left."
    DoorDirection,
    /// "Press ✓ to create the administrator."
    CreateAdministrator,
    /// "Enter the passcode, then ✓."
    EnterPasscode,
    /// "Enter the passcode again, then ✓."
    EnterPasscodeAgain,
    /// "Verify an administrator."
    VerifyAdministrator,
    /// The menu's choices.
    Menu,
    /// The credentials to choose from: a number for each fitted module
    /// ("1 face, 2 palm, 3 fingerprint"), then 4 for the passcode, which
    /// every lock has.
    ChooseCredential {
        /// A face module is fitted.
        face: bool,
        /// A palm module is fitted.
        palm: bool,
        /// A fingerprint module is fitted.
        finger: bool,
    },
    /// "Enter the person's number, then ✓."
    EnterPersonNumber,
    /// The settings choices.
    SettingsMenu,
    /// The success sound.
    Success,
    /// "Unlocked."
    Unlocked,
    /// "Locked."
    Locked,
    /// "System locked."
    SystemLocked,
    /// "Pairing mode."
    PairingMode,
    /// "Press ✓ to restore factory settings."
    FactoryResetConfirm,
    /// "Factory settings restored."
    FactoryReset,
    /// "Battery low, please replace."
    LowBattery,
    /// The doorbell chime.
    Chime,
    /// "Leaving-home mode on."
    LeavingHome,
    /// "The bolt is jammed."
    Jammed,
    /// A person's number (1 and up; the new person's after an enrolment).
    PersonNumber(u16),
    /// The lock's serial number.
    SerialNumber(u64),
    /// The firmware version: major, minor, patch.
    FirmwareVersion(u8, u8, u8),
    /// The verification code that pairing shows.
    VerificationCode(u32),
    /// A step of a biometric enrolment the person should take.
    Enroll(Modality, crate::EnrollStep),
    /// The failure sound, and why.
    Failure(Reason),
    /// The Matter manual pairing code (11 digits).
    MatterCode(u64),
}

impl Announcement {
    /// Whether the lock now waits for the person (a question, a menu, an
    /// enrolment step): a buzzer gives these its short "your turn" beep.
    pub const fn asks(&self) -> bool {
        matches!(
            self,
            Announcement::DoorDirection
                | Announcement::CreateAdministrator
                | Announcement::EnterPasscode
                | Announcement::EnterPasscodeAgain
                | Announcement::VerifyAdministrator
                | Announcement::Menu
                | Announcement::ChooseCredential { .. }
                | Announcement::EnterPersonNumber
                | Announcement::SettingsMenu
                | Announcement::FactoryResetConfirm
                | Announcement::Enroll(..)
        )
    }
}

/// The lock's sound: plays [`Announcement`]s however the board can (a voice
/// module's clips, a buzzer's beeps) and clicks for each key press.
///
/// The runtime calls it from a lane of its own, so a long announcement
/// never keeps the lock from listening (R-RSP-1).
pub trait Sound: ErrorType {
    /// Plays the whole announcement and returns when it has ended.
    ///
    /// Cancel-safe: the runtime drops the future to cut the announcement
    /// (a newer one is due), then calls [`Sound::stop`]. An implementation
    /// that gives up on a part (a clip whose end never comes) must still
    /// return in a bounded time.
    async fn say(&mut self, what: &Announcement) -> Result<(), Self::Error>;

    /// Silences whatever plays (after a dropped [`Sound::say`]).
    async fn stop(&mut self) -> Result<(), Self::Error>;

    /// Sets the loudness, 0 (silent) to 255 (loudest); the implementation
    /// scales it to its own steps.
    async fn set_volume(&mut self, level: u8) -> Result<(), Self::Error>;

    /// A short key click for a key press the lock took. Returns when it
    /// has ended; may do nothing (a voice module has no click).
    async fn click(&mut self) -> Result<(), Self::Error>;
}

/// A voice module playing numbered clips from its own memory (JQ8900,
/// WT588F…). lock-drivers' `VoicePrompts` makes a [`Sound`] of one, with
/// the clip table the module's memory is loaded to.
pub trait Voice: ErrorType {
    /// Starts playing clip `clip`, replacing whatever plays. Returns once the
    /// module accepted the command; does not wait for the end.
    async fn play(&mut self, clip: u16) -> Result<(), Self::Error>;

    /// Waits until the current clip has ended (the BUSY line, or the module's
    /// report). Cancel-safe.
    async fn wait_until_done(&mut self) -> Result<(), Self::Error>;

    /// Stops playing.
    async fn stop(&mut self) -> Result<(), Self::Error>;

    /// Sets the loudness, 0 (silent) to 255 (loudest); the implementation
    /// scales it to the module's steps.
    async fn set_volume(&mut self, level: u8) -> Result<(), Self::Error>;
}

/// The alarm siren (or buzzer).
pub trait Siren: ErrorType {
    /// Sounds (`true`) or silences it. Quick and non-blocking.
    fn set(&mut self, on: bool) -> Result<(), Self::Error>;
}

impl<T: Sound + ?Sized> Sound for &mut T {
    async fn say(&mut self, what: &Announcement) -> Result<(), Self::Error> {
        T::say(self, what).await
    }
    async fn stop(&mut self) -> Result<(), Self::Error> {
        T::stop(self).await
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), Self::Error> {
        T::set_volume(self, level).await
    }
    async fn click(&mut self) -> Result<(), Self::Error> {
        T::click(self).await
    }
}

impl<T: Voice + ?Sized> Voice for &mut T {
    async fn play(&mut self, clip: u16) -> Result<(), Self::Error> {
        T::play(self, clip).await
    }
    async fn wait_until_done(&mut self) -> Result<(), Self::Error> {
        T::wait_until_done(self).await
    }
    async fn stop(&mut self) -> Result<(), Self::Error> {
        T::stop(self).await
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), Self::Error> {
        T::set_volume(self, level).await
    }
}

impl<T: Siren + ?Sized> Siren for &mut T {
    fn set(&mut self, on: bool) -> Result<(), Self::Error> {
        T::set(self, on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_class_has_a_reason_and_a_distinct_index() {
        let reasons = [
            Reason::NoMatch,
            Reason::SystemLocked,
            Reason::PeopleFull,
            Reason::Passcode(PasscodeReason::TooWeak),
            Reason::StorageFault,
        ];
        for (reason, class) in reasons.iter().zip(RefusalClass::ALL) {
            assert_eq!(reason.class(), class);
        }
        for (i, class) in RefusalClass::ALL.iter().enumerate() {
            assert_eq!(usize::from(class.index()), i + 1);
        }
        assert_eq!(
            Reason::Enroll(EnrollReason::ModuleFault).class(),
            RefusalClass::Fault
        );
        assert_eq!(
            Reason::Passcode(PasscodeReason::Full).class(),
            RefusalClass::Full
        );
    }
}
