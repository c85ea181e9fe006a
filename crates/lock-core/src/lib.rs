#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests build small numbers from loop counters.
#![cfg_attr(test, allow(clippy::cast_possible_truncation))]
#![doc = include_str!("../README.md")]

mod action;
pub mod attempts;
mod event;
mod lock;
mod log;
pub mod passcode;
pub mod person;
pub mod settings;
mod snapshot;
pub mod time;
pub mod visitor;

pub use action::{
    ACTIONS_CAPACITY, Action, Actions, Alarms, Armed, Backlight, BoltState, Change, KeyMask,
    LockMethod, Method, ModuleCommand, Notice, Prompt, Refusal, Reply, Status,
};
pub use event::{
    AlarmKind, AppChange, AppCommand, AppRequest, BiometricEvent, BoltPosition, BoltReport,
    DoorState, EnrollFailure, EnrollStep, Event, Key, Link, Privilege,
};
pub use lock::{
    BOLT_TRAVEL_LIMIT, CAMERA_MIN_BATTERY, CLOCK_MARK_INTERVAL, CLOCK_MAX_STEP_BACK, Config,
    KEYPAD_TIMEOUT, Lock, PAIRING_WINDOW, TAMPER_ALARM, WATCHED_ENDS,
};
pub use log::{Actor, LogEntry, LogRecord};
pub use passcode::Passcode;
pub use person::{BiometricKind, Name, Person, PersonNumber, Role, TemplateId};
pub use settings::{DoorDirection, MotorDirection, Setting, Settings};
pub use snapshot::{RestoreError, Snapshot};
pub use time::{Duration, Instant, Timestamp, Validity, WallClock, WeeklySchedule};
pub use visitor::{
    NoVisitorCodes, VisitorCodeMatch, VisitorCodeUse, VisitorCodes, VisitorCodesFull,
    VisitorCodesUsed,
};
