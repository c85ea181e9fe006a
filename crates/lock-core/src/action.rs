//! What the lock asks of the world: [`Action`]s, returned in order by
//! [`Lock::handle`](crate::Lock::handle).

use crate::attempts::{AttemptRecord, LockoutCause};
use crate::event::EnrollFailure;
use crate::event::{AlarmKind, BoltPosition, DoorState, EnrollStep, Key};
use crate::log::LogRecord;
use crate::passcode::PasscodeError;
use crate::person::{BiometricKind, Modules, Person, PersonNumber, TemplateId};
use crate::settings::{MotorDirection, Settings};
use crate::time::Timestamp;
use crate::visitor::VisitorCodeUse;

/// Most actions one event produces. The worst case, 28, is an app deleting a
/// person with all ten templates in the same batch as every timer running out
/// (keypad with an enrolment, lockout, tamper, pairing, bolt, countdown);
/// `actions_fit_when_every_timer_runs_out_before_a_full_deletion` drives it.
pub const ACTIONS_CAPACITY: usize = 32;

/// A change that must survive power loss, for the store to apply (DESIGN.md:
/// persistence is an Action). The runtime writes it before it executes any
/// later action of the same batch.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Change {
    /// Store or replace this person with all their credentials.
    Person(Person),
    /// Delete this person with every credential of theirs. The
    /// module template deletions that follow in the same batch belong to it: a
    /// store finishes them after a power cut.
    PersonDeleted(PersonNumber),
    /// The settings as they now are.
    Settings(Settings),
    /// The failure counts and lockout as they now are.
    Attempts(AttemptRecord),
    /// Erase every person, credential, template, key and setting.
    FactoryReset,
    /// A one-time visitor code was used at this wall-clock time: it
    /// is on flash before the door opens for it. Applied with
    /// [`record_visitor_code_use`](crate::record_visitor_code_use), which also forgets
    /// codes whose window has ended.
    VisitorCodeUsed {
        /// The code.
        code: VisitorCodeUse,
        /// The lock's wall clock when it was used.
        at: Timestamp,
    },
    /// The wall clock has reached this time: after a restart the
    /// lock refuses to set its clock more than
    /// [`CLOCK_MAX_STEP_BACK`](crate::CLOCK_MAX_STEP_BACK) before it. Written
    /// when the clock is set forward and every
    /// [`CLOCK_MARK_INTERVAL`](crate::CLOCK_MARK_INTERVAL) of wall time.
    ClockMark(Timestamp),
    /// Leaving-home mode and the alarms that last until an administrator
    /// acknowledges them, as they now are: a robber who
    /// pulls the battery after being let in does not clear the duress alarm.
    Armed(Armed),
}

/// What must outlive a power cut besides people and settings: leaving-home
/// mode and the alarms only an administrator's acknowledgement ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Armed {
    /// Leaving-home mode is armed.
    pub leaving_home: bool,
    /// A duress alarm not yet acknowledged.
    pub duress: bool,
    /// An intrusion alarm not yet acknowledged.
    pub intrusion: bool,
}

/// Why something was refused: spoken as a failure prompt, logged, or replied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Refusal {
    /// Nothing stored matched: a failed verification.
    NoMatch,
    /// The person is outside their validity period.
    OutsideValidity,
    /// A lockout is active.
    SystemLocked,
    /// A valid credential, but not an administrator's.
    NotAdministrator,
    /// The authenticated privilege does not allow this command.
    NotPermitted,
    /// Remote unlock is switched off.
    RemoteUnlockDisabled,
    /// The battery is too low for this.
    BatteryTooLow,
    /// All 100 person numbers are taken.
    PeopleFull,
    /// The lock's store of that credential kind is full.
    CredentialStoreFull,
    /// The person has all the credentials of that kind they may.
    PersonCredentialsFull,
    /// A passcode rule.
    Passcode(PasscodeError),
    /// The biometric enrollment failed; `Duplicate`: the module already holds it.
    Enroll(EnrollFailure),
    /// No person has that number.
    NoSuchPerson,
    /// The last administrator cannot be deleted.
    LastAdministrator,
    /// The only person left cannot be deleted.
    OnlyPerson,
    /// A setting value, or a key at a question, out of range.
    OutOfRange,
    /// The door is open: the bolt is never thrown into an open door.
    DoorOpen,
    /// This alarm lasts while its cause does; it cannot be acknowledged away.
    CauseActive,
    /// The wall clock would move back by more than allowed.
    ClockBackwards,
    /// The storage could not be read: the lock fails secure until a factory
    /// reset.
    StorageFault,
    /// The lock is not set up yet (first start).
    NotSetUp,
}

impl From<PasscodeError> for Refusal {
    fn from(e: PasscodeError) -> Refusal {
        Refusal::Passcode(e)
    }
}

/// How a person opened, or tried to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Method {
    /// Face module.
    Face,
    /// Palm-vein module.
    Palm,
    /// Fingerprint module.
    Finger,
    /// Keypad passcode.
    Passcode,
    /// The mechanical key.
    MechanicalKey,
    /// A Bluetooth key next to the door.
    BluetoothKey,
    /// Remote unlock from the app.
    Remote,
    /// An offline visitor code typed at the keypad.
    VisitorCode,
}

impl From<BiometricKind> for Method {
    fn from(kind: BiometricKind) -> Method {
        match kind {
            BiometricKind::Face => Method::Face,
            BiometricKind::Palm => Method::Palm,
            BiometricKind::Finger => Method::Finger,
        }
    }
}

/// What locked the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LockMethod {
    /// ✓ at the keypad outside.
    Keypad,
    /// The inside electronic locking button.
    InsideButton,
    /// The countdown.
    Countdown,
    /// The leaving-home key.
    LeavingHome,
    /// A command from the app.
    App,
    /// By hand or key: the bolt sensor reported it.
    Manual,
}

/// A voice prompt (or sound) to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Prompt {
    /// "Choose the door direction: ✓, then 1 for right-opening, 2 for left."
    DoorDirection,
    /// "Press ✓ to create the administrator".
    CreateAdministrator,
    /// "Enter the passcode, then ✓."
    EnterPasscode,
    /// "Enter the passcode again, then ✓".
    EnterPasscodeAgain,
    /// "Verify an administrator".
    VerifyAdministrator,
    /// The menu's choices.
    Menu,
    /// The new person's number.
    PersonNumber(PersonNumber),
    /// "1 face, 2 palm, 3 fingerprint, 4 passcode": the fitted modules'
    /// choices, each with its number, and the passcode.
    ChooseCredential(Modules),
    /// A step of a biometric enrollment.
    Enroll(BiometricKind, EnrollStep),
    /// "Enter the person's number, then ✓".
    EnterPersonNumber,
    /// The settings choices.
    SettingsMenu,
    /// The serial number.
    SerialNumber(u64),
    /// The firmware version.
    FirmwareVersion(u8, u8, u8),
    /// The verification code that pairing shows.
    VerificationCode(u32),
    /// Success sound.
    Success,
    /// Failure sound, with why.
    Failure(Refusal),
    /// "Unlocked".
    Unlocked,
    /// "Locked".
    Locked,
    /// "System locked".
    SystemLocked,
    /// "Pairing mode".
    PairingMode,
    /// "Press ✓ to restore factory settings".
    FactoryResetConfirm,
    /// "Factory settings restored".
    FactoryReset,
    /// "Battery low, please replace".
    LowBattery,
    /// The doorbell chime.
    Chime,
    /// "Leaving-home mode on".
    LeavingHome,
    /// "The bolt is jammed".
    Jammed,
    /// The Matter manual pairing code (11 digits), after the verification
    /// code in system information on a lock that is a Matter device.
    MatterCode(u64),
}

/// A set of keypad keys, one bit each in [`Key::ALL`]'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KeyMask(pub u16);

impl KeyMask {
    /// No key.
    pub const NONE: KeyMask = KeyMask(0);
    /// The ten digits, ↩ and ✓: the keypad while an entry is being typed.
    pub const ENTRY: KeyMask = KeyMask(0x0FFF);
    /// Every key.
    pub const ALL: KeyMask = KeyMask(0x3FFF);

    /// The mask of one key.
    pub const fn of(key: Key) -> KeyMask {
        KeyMask(1 << key_bit(key))
    }

    /// Whether `key` is in the set.
    pub const fn contains(self, key: Key) -> bool {
        self.0 & (1 << key_bit(key)) != 0
    }

    /// The union.
    pub const fn with(self, key: Key) -> KeyMask {
        KeyMask(self.0 | KeyMask::of(key).0)
    }
}

const fn key_bit(key: Key) -> u16 {
    match key {
        Key::Digit(d) if d <= 9 => d as u16,
        Key::Digit(_) => 15,
        Key::Back => 10,
        Key::Ok => 11,
        Key::Home => 12,
        Key::Bell => 13,
    }
}

/// What the keypad's backlights show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Backlight {
    /// Dark: the keypad sleeps.
    Off,
    /// These keys lit.
    Steady(KeyMask),
    /// These keys blinking until the next backlight action.
    Blink(KeyMask),
    /// The whole keypad flashes twice, then shows `then`.
    FlashTwice {
        /// Shown after the flashes.
        then: KeyMask,
    },
    /// The person number's digits lit in turn, then `then`.
    Spell {
        /// The number to spell.
        number: PersonNumber,
        /// Shown after the digits.
        then: KeyMask,
    },
}

/// A command for a biometric module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ModuleCommand {
    /// Start enrolling; store under `template` if the module lets the host
    /// choose (the verdict reports where it was stored).
    Enroll {
        /// Which module.
        kind: BiometricKind,
        /// The lowest id the lock has free.
        template: TemplateId,
    },
    /// Abandon a running enrollment.
    CancelEnroll(BiometricKind),
    /// Look for a face (palm…) now: the touch that wakes the keypad also
    /// starts a face recognition, besides the module's own
    /// detection of a face coming into range.
    Identify(BiometricKind),
    /// Delete one template.
    Delete {
        /// Which module.
        kind: BiometricKind,
        /// Which template.
        template: TemplateId,
    },
    /// Delete every template.
    Clear(BiometricKind),
}

/// Something the app is told without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Notice {
    /// An alarm began.
    Alarm(AlarmKind),
    /// An alarm ended.
    AlarmCleared(AlarmKind),
    /// A lockout began, with its cause and length in seconds.
    Lockout(LockoutCause, u32),
    /// Someone rang the bell.
    Doorbell,
}

/// The set of active alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Alarms(u8);

impl Alarms {
    const fn bit(kind: AlarmKind) -> u8 {
        match kind {
            AlarmKind::SystemLocked => 1,
            AlarmKind::Tamper => 2,
            AlarmKind::LowBattery => 4,
            AlarmKind::Jam => 8,
            AlarmKind::Duress => 16,
            AlarmKind::Intrusion => 32,
        }
    }

    /// Whether `kind` is active.
    pub const fn contains(self, kind: AlarmKind) -> bool {
        self.0 & Alarms::bit(kind) != 0
    }

    /// No alarm active.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The active alarms.
    pub fn iter(self) -> impl Iterator<Item = AlarmKind> {
        AlarmKind::ALL
            .into_iter()
            .filter(move |&k| self.contains(k))
    }

    pub(crate) fn set(&mut self, kind: AlarmKind, on: bool) -> bool {
        let was = self.contains(kind);
        if on {
            self.0 |= Alarms::bit(kind);
        } else {
            self.0 &= !Alarms::bit(kind);
        }
        was != on
    }
}

/// The bolt as the lock believes it to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BoltState {
    /// At an end position.
    At(BoltPosition),
    /// The motor is driving it there.
    Moving(BoltPosition),
    /// It jammed on its way.
    Jammed,
}

/// The lock's state for the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Status {
    /// Battery percentage, last measured.
    pub battery: u8,
    /// USB-C power connected.
    pub usb_power: bool,
    /// The bolt.
    pub bolt: BoltState,
    /// The door.
    pub door: DoorState,
    /// Active alarms.
    pub alarms: Alarms,
    /// People stored.
    pub people: u8,
}

/// The answer to one app command: every [`AppRequest`](crate::AppRequest) gets
/// exactly one, in the same batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Reply {
    /// Done.
    Done,
    /// The status asked for.
    Status(Status),
    /// Refused, with why.
    Refused(Refusal),
    /// The person was added with this number (`AppCommand::AddPerson`).
    PersonAdded(PersonNumber),
}

/// One thing to do.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Action {
    /// Persist a change before doing anything after it.
    Persist(Change),
    /// Append a record to the event log.
    Log(LogRecord),
    /// Drive the bolt motor until the end position: the lock body
    /// reports back with [`BoltReport`](crate::BoltReport).
    DriveBolt {
        /// Where the bolt should go.
        to: BoltPosition,
        /// The motor direction that gets it there for this door.
        motor: MotorDirection,
    },
    /// Stop the motor: brake, then leave it unpowered.
    StopMotor,
    /// Play a voice prompt.
    Prompt(Prompt),
    /// Set the keypad backlights.
    Keypad(Backlight),
    /// Command a biometric module.
    Module(ModuleCommand),
    /// Sound (`true`) or silence the siren.
    Siren(bool),
    /// Tell the app.
    Notify(Notice),
    /// Answer the app command of this event.
    Reply(Reply),
    /// Open (`true`) or close the pairing window of the app protocol.
    Pairing(bool),
    /// A person pressed ✓ at the lock after it spoke the pairing code
    /// ([`Event::PairingCode`](crate::Event::PairingCode)): the app protocol
    /// may now store the pairing.
    ConfirmPairing,
    /// Read the battery and tell the lock
    /// ([`Event::Battery`](crate::Event::Battery)). Asked at the hourly wake
    /// ([`Timer::Hourly`](crate::Timer::Hourly)), with the clock's mark in
    /// the same wake, so an idle hour wakes the processor once.
    MeasureBattery,
}

impl Action {
    /// Whether this action writes to flash (persisted change or log record).
    pub fn is_persistence(&self) -> bool {
        matches!(self, Action::Persist(_) | Action::Log(_))
    }

    /// Whether someone could notice this action at the door or over the radio:
    /// everything but persistence.
    pub fn is_observable(&self) -> bool {
        !self.is_persistence()
    }
}

/// The actions of one event, in the order to execute them.
///
/// Persistence comes first by construction: a [`Change`] or log record pushed
/// after an observable action is inserted ahead of every observable one, so a
/// failure is on flash before its prompt plays whatever order
/// the state machine found things in.
#[derive(Debug, Clone, Default)]
pub struct Actions {
    list: heapless::Vec<Action, ACTIONS_CAPACITY>,
    dropped: u8,
}

impl Actions {
    /// No actions.
    pub const fn new() -> Actions {
        Actions {
            list: heapless::Vec::new(),
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, action: Action) {
        let at = if action.is_persistence() {
            self.list
                .iter()
                .position(Action::is_observable)
                .unwrap_or(self.list.len())
        } else {
            self.list.len()
        };
        if self.list.insert(at, action).is_err() {
            // Unreachable by the capacity argument above; counted so tests see it.
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// The actions, in order.
    pub fn as_slice(&self) -> &[Action] {
        &self.list
    }

    /// Iterates in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Action> {
        self.list.iter()
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// No action.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Actions that did not fit. Always zero; tests check it.
    pub fn dropped(&self) -> usize {
        usize::from(self.dropped)
    }
}

impl<'a> IntoIterator for &'a Actions {
    type Item = &'a Action;
    type IntoIter = core::slice::Iter<'a, Action>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl IntoIterator for Actions {
    type Item = Action;
    type IntoIter = heapless::vec::IntoIter<Action, ACTIONS_CAPACITY, usize>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}
