//! What the lock is told: inputs from the hardware and commands from the app.

use crate::passcode::Passcode;
use crate::person::{BiometricKind, Name, PersonNumber, Role, TemplateId};
use crate::settings::Setting;
use crate::time::{Timestamp, Validity, WeeklySchedule};

/// A key of the touch keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Key {
    /// `0` to `9`. Values above 9 are ignored by the lock.
    Digit(u8),
    /// ↩: back one step, or clear the entry.
    Back,
    /// ✓: confirm.
    Ok,
    /// The leaving-home key.
    Home,
    /// The doorbell key.
    Bell,
}

impl Key {
    /// Every key, for masks and tests.
    pub const ALL: [Key; 14] = [
        Key::Digit(0),
        Key::Digit(1),
        Key::Digit(2),
        Key::Digit(3),
        Key::Digit(4),
        Key::Digit(5),
        Key::Digit(6),
        Key::Digit(7),
        Key::Digit(8),
        Key::Digit(9),
        Key::Back,
        Key::Ok,
        Key::Home,
        Key::Bell,
    ];
}

/// Why a biometric enrollment did not store a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EnrollFailure {
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

/// A step of an enrollment the module asks the person to take; the lock turns
/// each into a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EnrollStep {
    /// Present the finger / palm / face (again).
    Present,
    /// Lift the finger off the sensor.
    Lift,
    /// Look straight at the camera.
    LookStraight,
    /// Raise the head.
    HeadUp,
    /// Lower the head.
    HeadDown,
    /// Turn the head left.
    HeadLeft,
    /// Turn the head right.
    HeadRight,
    /// Come closer.
    Closer,
    /// Move further away.
    Further,
}

/// What a biometric module reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BiometricEvent {
    /// The module matched a presented sample to one of its templates.
    Identified {
        /// Which module.
        kind: BiometricKind,
        /// The template that matched.
        template: TemplateId,
    },
    /// A sample was presented and matched nothing: a failed verification.
    NoMatch {
        /// Which module.
        kind: BiometricKind,
    },
    /// An enrollment moved on; the lock prompts the next step.
    EnrollProgress {
        /// Which module.
        kind: BiometricKind,
        /// What the person should do now.
        step: EnrollStep,
    },
    /// An enrollment finished and the module stored the template under this id.
    Enrolled {
        /// Which module.
        kind: BiometricKind,
        /// Where the module stored it.
        template: TemplateId,
    },
    /// An enrollment ended without a template.
    EnrollFailed {
        /// Which module.
        kind: BiometricKind,
        /// Why.
        reason: EnrollFailure,
    },
    /// The module stopped answering or reported a hardware error. The lock
    /// keeps working with its other methods.
    Fault {
        /// Which module.
        kind: BiometricKind,
    },
}

/// Where the bolt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BoltPosition {
    /// Thrown: the door is locked.
    Locked,
    /// Retracted.
    Unlocked,
}

/// What the lock body reports about a bolt movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BoltReport {
    /// The bolt sensor reports this end position (after a drive, or because
    /// someone turned the bolt by hand or key).
    Reached(BoltPosition),
    /// The motor stalled (over-current): a jam.
    Stalled,
    /// The bolt is at no switch. With switches at both ends, sent only at
    /// boot: the bolt is between them (power was cut while it moved), a jam
    /// too, and it is not driven until the next verified unlock or lock.
    /// With one switch, sent whenever the bolt leaves it: the bolt is taken
    /// to be at the other end ([`BoltSwitches`](crate::BoltSwitches)).
    Between,
}

/// The door sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DoorState {
    /// The door is open.
    Open,
    /// The door is closed.
    Closed,
}

/// The privilege the app protocol authenticated for a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Privilege {
    /// A visitor's Bluetooth key: open and lock only.
    Visitor,
    /// A paired user: open, lock, status.
    User,
    /// A paired administrator: everything.
    Administrator,
}

/// How a command reached the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Link {
    /// A phone next to the door over Bluetooth (a Bluetooth key).
    Bluetooth,
    /// From afar, over Wi-Fi / the internet.
    Remote,
}

/// An alarm the app may acknowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AlarmKind {
    /// A lockout, fast or slow.
    SystemLocked,
    /// The front panel was forced.
    Tamper,
    /// Battery below the threshold.
    LowBattery,
    /// The bolt jammed.
    Jam,
    /// A duress passcode was used.
    Duress,
    /// The door opened while leaving-home mode was armed.
    Intrusion,
}

impl AlarmKind {
    /// Every alarm kind.
    pub const ALL: [AlarmKind; 6] = [
        AlarmKind::SystemLocked,
        AlarmKind::Tamper,
        AlarmKind::LowBattery,
        AlarmKind::Jam,
        AlarmKind::Duress,
        AlarmKind::Intrusion,
    ];

    /// The name scenario files use (SPEC §8).
    pub const fn name(self) -> &'static str {
        match self {
            AlarmKind::SystemLocked => "system-locked",
            AlarmKind::Tamper => "tamper",
            AlarmKind::LowBattery => "low-battery",
            AlarmKind::Jam => "jam",
            AlarmKind::Duress => "duress",
            AlarmKind::Intrusion => "intrusion",
        }
    }
}

/// A command from the app, already authenticated by the protocol layer.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AppCommand {
    /// Battery, bolt, door, alarms. Any privilege.
    Status,
    /// Open the door: from afar (when remote unlock is on) or with a
    /// Bluetooth key.
    Unlock,
    /// Throw the bolt.
    Lock,
    /// End an active lockout. Administrator.
    LiftLockout,
    /// Change a setting (lockout protection, the countdown lock,
    /// remote unlock…). Administrator.
    Configure(Setting),
    /// Set a person's validity period. Administrator.
    SetValidity {
        /// Whose.
        person: PersonNumber,
        /// The new period.
        validity: Validity,
    },
    /// Delete a person and all their credentials.
    /// Administrator.
    DeletePerson(PersonNumber),
    /// Give a person a duress passcode, under the passcode rules.
    /// Administrator.
    SetDuressPasscode {
        /// Whose.
        person: PersonNumber,
        /// The code.
        code: Passcode,
    },
    /// Acknowledge an alarm the app was told of (the duress alarm lasts until
    /// then). Administrator.
    Acknowledge(AlarmKind),
    /// Set the wall clock (only over an authenticated channel).
    /// Administrator.
    SetClock(Timestamp),
    /// Start the camera's live video (refused below 20 % battery). User.
    LiveVideo,
    /// Add a person with a passcode as their first credential (a person
    /// is stored with a credential), under the passcode rules;
    /// faces, palms and fingers are enrolled at the lock. The number asked
    /// for (refused `OutOfRange` if taken), or the lowest free one: the
    /// reply names it. Administrator.
    AddPerson {
        /// Administrator or user.
        role: Role,
        /// Their passcode.
        passcode: Passcode,
        /// When their credentials open.
        validity: Validity,
        /// The person's number (a Matter user index), or `None` for the
        /// lowest free one.
        number: Option<PersonNumber>,
    },
    /// Name a person. Administrator.
    NamePerson {
        /// Whose.
        person: PersonNumber,
        /// The name.
        name: Name,
    },
    /// Limit a person to hours of the week, or (`None`) lift the limit.
    /// Administrator.
    SetSchedule {
        /// Whose.
        person: PersonNumber,
        /// The hours.
        schedule: Option<WeeklySchedule>,
    },
    /// Open the door with a person's passcode sent along (a Matter
    /// controller's UnlockDoor with a PIN, SPEC §10): as [`AppCommand::Unlock`],
    /// and the code must be a stored person's, exactly; a wrong one counts
    /// towards a lockout.
    UnlockWithPasscode(Passcode),
}

/// An authenticated app command with the privilege it was authenticated for.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AppRequest {
    /// The pairing (phone or key) it came from: who, for the log.
    pub pairing: u16,
    /// What the sender may do.
    pub privilege: Privilege,
    /// How it arrived.
    pub link: Link,
    /// What they ask.
    pub command: AppCommand,
}

/// A change the app protocol made to its own records, for the lock's log.
/// A frame that fails authentication is no such change: it
/// presents no credential, is dropped by the protocol and never reaches the
/// lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AppChange {
    /// A phone was paired as an administrator, confirmed with ✓ at the lock.
    Paired {
        /// Its pairing number.
        pairing: u16,
    },
    /// A pairing or key was revoked.
    Unpaired {
        /// The pairing revoked.
        pairing: u16,
        /// The administrator's pairing that revoked it.
        by: u16,
    },
    /// An administrator issued a Bluetooth key.
    KeyIssued {
        /// The new key's pairing number.
        pairing: u16,
        /// What it may do.
        privilege: Privilege,
        /// The administrator's pairing that issued it.
        by: u16,
        /// The last second of its window, if bounded: the lock marks the
        /// clock when it passes.
        until: Option<Timestamp>,
    },
}

/// Everything the lock reacts to. Feed each to [`Lock::handle`](crate::Lock::handle).
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Power came up and the state was restored. `set_held`: SET was held while
    /// power returned. Send once, first.
    Boot {
        /// SET held at power-up.
        set_held: bool,
    },
    /// The keypad area was touched (wakes it).
    Touch,
    /// A key was pressed (and released).
    Key(Key),
    /// A key was held until it acts (`0`: one-time mute).
    KeyHeld(Key),
    /// Short press of SET on the rear panel.
    Set,
    /// Long press of SET.
    SetHeld,
    /// The inside electronic locking button.
    LockButton,
    /// A biometric module reported something.
    Biometric(BiometricEvent),
    /// The mechanical key was turned in the cylinder.
    MechanicalKey,
    /// The lock body reported on the bolt.
    Bolt(BoltReport),
    /// The door sensor changed.
    Door(DoorState),
    /// The front panel was forced off.
    Tamper,
    /// The battery was measured at this percentage.
    Battery(u8),
    /// USB-C power at the front was connected or removed.
    UsbPower(bool),
    /// An authenticated command from the app.
    App(AppRequest),
    /// The app protocol derived a pairing code with a phone in pairing mode:
    /// the lock speaks it, and a press of ✓ at the lock confirms it
    /// ([`Action::ConfirmPairing`](crate::Action::ConfirmPairing)).
    PairingCode(u32),
    /// The app protocol changed its own records (pairings and keys live
    /// there): logged with who made the change. A completed
    /// pairing also ends pairing mode.
    AppChanged(AppChange),
    /// A deadline from [`Lock::next_deadline`](crate::Lock::next_deadline) came.
    /// Harmless at any other time.
    Tick,
}
