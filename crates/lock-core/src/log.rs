//! Event records: who, how, when, what.

use crate::action::{LockMethod, Method, Refusal};
use crate::attempts::LockoutCause;
use crate::event::{AlarmKind, Privilege};
use crate::person::{BiometricKind, PersonNumber, Role};
use crate::settings::{DoorDirection, Setting};
use crate::time::{Instant, Timestamp};

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Actor {
    /// A person at the keypad: the administrator in the menu, or the first
    /// administrator creating themselves.
    Person(PersonNumber),
    /// The phone or key of this pairing, over the app protocol.
    Pairing(u16),
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LogEntry {
    /// The door was unlocked: by whom (none for the mechanical key),
    /// how.
    Unlock {
        /// Who, when known.
        person: Option<PersonNumber>,
        /// How.
        method: Method,
    },
    /// A verification failed or was refused.
    UnlockFailed {
        /// Who, when the credential was recognised (e.g. outside validity).
        person: Option<PersonNumber>,
        /// How.
        method: Method,
        /// Why.
        reason: Refusal,
    },
    /// A lockout began.
    Lockout {
        /// Which bound.
        cause: LockoutCause,
        /// Its length in seconds.
        secs: u32,
    },
    /// A lockout ended by itself.
    LockoutEnded,
    /// An administrator lifted the lockout from the app.
    LockoutLifted,
    /// A person was stored with their first credential.
    UserAdded {
        /// Their number.
        person: PersonNumber,
        /// Their role.
        role: Role,
        /// Who added them.
        by: Actor,
    },
    /// A credential was added to an existing person. `None` kind: a passcode.
    CredentialAdded {
        /// Whose.
        person: PersonNumber,
        /// Which biometric kind, or `None` for a passcode.
        kind: Option<BiometricKind>,
        /// Who added it.
        by: Actor,
    },
    /// A person's validity period changed.
    UserChanged {
        /// Whose.
        person: PersonNumber,
        /// Who changed it.
        by: Actor,
    },
    /// A person was deleted with every credential.
    UserDeleted {
        /// Their number.
        person: PersonNumber,
        /// Who deleted them.
        by: Actor,
    },
    /// An alarm began.
    Alarm(AlarmKind),
    /// The bolt was thrown.
    Locked(LockMethod),
    /// A setting changed.
    SettingChanged {
        /// The setting's new value.
        setting: Setting,
        /// Who changed it.
        by: Actor,
    },
    /// The wall clock was set.
    ClockSet {
        /// To this time.
        to: Timestamp,
        /// By this administrator's pairing.
        by: u16,
    },
    /// A phone was paired as an administrator, confirmed at the lock.
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
    /// A Bluetooth key was issued.
    KeyIssued {
        /// The key's pairing number.
        pairing: u16,
        /// What it may do.
        privilege: Privilege,
        /// The administrator's pairing that issued it.
        by: u16,
    },
    /// The door direction was chosen.
    DoorDirection(DoorDirection),
    /// The lock was reset to factory settings.
    FactoryReset,
    /// A biometric module stopped answering.
    ModuleFault(BiometricKind),
}

impl LogEntry {
    /// The kind's name as scenario files write it (SPEC §8).
    pub const fn kind_name(&self) -> &'static str {
        match self {
            LogEntry::Unlock { .. } => "unlock",
            LogEntry::UnlockFailed { .. } => "unlock-failed",
            LogEntry::Lockout { .. } => "lockout",
            LogEntry::LockoutEnded => "lockout-ended",
            LogEntry::LockoutLifted => "lockout-lifted",
            LogEntry::UserAdded { .. } => "user-added",
            LogEntry::CredentialAdded { .. } => "credential-added",
            LogEntry::UserChanged { .. } => "user-changed",
            LogEntry::UserDeleted { .. } => "user-deleted",
            LogEntry::Alarm(_) => "alarm",
            LogEntry::Locked(_) => "locked",
            LogEntry::SettingChanged { .. } => "setting-changed",
            LogEntry::ClockSet { .. } => "clock-set",
            LogEntry::Paired { .. } => "paired",
            LogEntry::Unpaired { .. } => "unpaired",
            LogEntry::KeyIssued { .. } => "key-issued",
            LogEntry::DoorDirection(_) => "door-direction",
            LogEntry::FactoryReset => "factory-reset",
            LogEntry::ModuleFault(_) => "module-fault",
        }
    }
}

/// One log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LogRecord {
    /// Monotonic time since start.
    pub at: Instant,
    /// Wall-clock time, when the lock has a trusted clock.
    pub wall: Option<Timestamp>,
    /// What happened.
    pub entry: LogEntry,
}
