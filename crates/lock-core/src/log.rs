//! Event records (R-APP-6): who, how, when, what.

use crate::action::{LockMethod, Method, Refusal};
use crate::attempts::LockoutCause;
use crate::event::AlarmKind;
use crate::person::{BiometricKind, PersonNumber, Role};
use crate::settings::{DoorDirection, Setting};
use crate::time::{Instant, Timestamp};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LogEntry {
    /// The door was unlocked (R-UNL-2): by whom (none for the mechanical key),
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
    /// A lockout began (R-LKO-1, R-LKO-5).
    Lockout {
        /// Which bound.
        cause: LockoutCause,
        /// Its length in seconds.
        secs: u32,
    },
    /// A lockout ended by itself.
    LockoutEnded,
    /// An administrator lifted the lockout from the app (R-LKO-3).
    LockoutLifted,
    /// A person was stored with their first credential (R-MNU-4).
    UserAdded {
        /// Their number.
        person: PersonNumber,
        /// Their role.
        role: Role,
    },
    /// A credential was added to an existing person. `None` kind: a passcode.
    CredentialAdded {
        /// Whose.
        person: PersonNumber,
        /// Which biometric kind, or `None` for a passcode.
        kind: Option<BiometricKind>,
    },
    /// A person's validity period changed (R-APP-3).
    UserChanged {
        /// Whose.
        person: PersonNumber,
    },
    /// A person was deleted with every credential (R-USR-5).
    UserDeleted {
        /// Their number.
        person: PersonNumber,
    },
    /// An alarm began.
    Alarm(AlarmKind),
    /// The bolt was thrown.
    Locked(LockMethod),
    /// A setting changed.
    SettingChanged(Setting),
    /// The door direction was chosen (R-UNL-3).
    DoorDirection(DoorDirection),
    /// The lock was reset to factory settings (R-MNU-9).
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
            LogEntry::SettingChanged(_) => "setting-changed",
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
