#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests build small numbers from loop counters.
#![cfg_attr(test, allow(clippy::cast_possible_truncation))]
#![doc = include_str!("../README.md")]
#![doc = include_str!("../DECISIONS.md")]

mod action;
mod attempts;
mod event;
mod lock;
mod log;
mod passcode;
mod person;
mod settings;
mod snapshot;
mod time;
mod visitor;

pub use action::{
    ACTIONS_CAPACITY, Action, Actions, Alarms, Armed, Backlight, BoltState, Change, KeyMask,
    LockMethod, Method, ModuleCommand, Notice, Prompt, Refusal, Reply, Status,
};
pub use attempts::{AttemptRecord, Lockout, LockoutCause};
pub use event::{
    AlarmKind, AppChange, AppCommand, AppRequest, BiometricEvent, BoltPosition, BoltReport,
    DoorState, EnrollFailure, EnrollStep, Event, Key, Link, Privilege,
};
pub use lock::{
    BoltBody, BoltSwitches, CAMERA_MIN_BATTERY, CLOCK_MARK_INTERVAL, CLOCK_MAX_STEP_BACK, Config,
    KEYPAD_TIMEOUT, Lock, PAIRING_WINDOW, TAMPER_ALARM, Timer, WATCHED_ENDS,
};
pub use log::{Actor, LogEntry, LogRecord};
pub use passcode::{Entry, PASSCODE_CAPACITY, Passcode, PasscodeError};
pub use person::{
    BiometricKind, Modules, Name, NameError, PEOPLE_CAPACITY, People, Person, PersonNumber, Role,
    TEMPLATES_PER_PERSON, TemplateId,
};
pub use settings::{DoorDirection, MotorDirection, RadioListening, Setting, Settings, Volume};
pub use snapshot::{RestoreError, Snapshot};
pub use time::{Duration, Instant, Timestamp, Validity, WallClock, WeeklySchedule};
pub use visitor::{
    CLOCK_FLOOR_ID, NoVisitorCodes, VisitorCodeMatch, VisitorCodeUse, VisitorCodes,
    VisitorCodesFull, VisitorCodesUsed, record_use as record_visitor_code_use,
};

/// Unstable: what benches, fuzz targets and tests reach into besides the
/// public API. Behind the `internals` feature, off by default; no semver
/// promise, never enable it in firmware.
#[cfg(feature = "internals")]
pub mod internals {
    pub use crate::attempts::{FAST_LOCKOUT, FAST_WINDOW, SLOW_LOCKOUT, SLOW_LOCKOUT_MAX};
    pub use crate::passcode::{
        ENTRY_MAX_DIGITS, PASSCODE_CAPACITY, PasscodeKind, PasscodeMatch, PasscodeTable,
    };
    pub use crate::person::{
        FACE_CAPACITY, FACES_PER_PERSON, FINGER_CAPACITY, FINGERS_PER_PERSON, PALM_CAPACITY,
        PALMS_PER_PERSON,
    };
    pub use crate::visitor::clock_floor;
}
