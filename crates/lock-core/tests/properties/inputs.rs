//! The inputs of a sequence: the pool of passcodes the sequences type, store
//! and hand out, the [`Input`]s and [`Op`]s a sequence is made of, and the
//! strategies for single events (every [`Event`] kind, invalid digits, battery
//! values above 100, every app command and privilege).

use lock_core::{
    AlarmKind, AppChange, AppCommand, AppRequest, BiometricEvent, BiometricKind, BoltPosition,
    BoltReport, DoorState, EnrollFailure, EnrollStep, Event, Key, Link, Passcode, PersonNumber,
    Privilege, Setting, TemplateId, Timestamp, Validity,
};
use proptest::prelude::*;

// ----- the passcodes the sequences use ----------------------------------------

/// Codes the sequences type, store and hand out as duress codes. None holds
/// `00`, so none overlaps the near-full lock's filler codes (`0000xxxx`).
pub(crate) const POOL: [&str; 14] = [
    "135792",    // 0: the first administrator's
    "246813",    // 1: user 002's
    "975318",    // 2
    "8901234",   // 3
    "1357924",   // 4: contains 0, refused while 0 is stored (R-PIN-5)
    "52917468",  // 5
    "2468135",   // 6: contains 1
    "649205318", // 7
    "291746",    // 8: inside 5
    "920531",    // 9: inside 7
    "111111",    // 10: too weak (R-PIN-2)
    "876543",    // 11: too weak
    "35792",     // 12: too short (R-PIN-1), typed only
    "79135",     // 13: too short, typed only
];
/// The pool entries that are 6 to 10 digits, so a [`Passcode`] exists for them.
pub(crate) const POOL_PASSCODES: usize = 12;
/// A code that is stored nowhere and overlaps nothing in the pool.
pub(crate) const WRONG: &str = "468024";

pub(crate) fn digits(code: &str) -> Vec<u8> {
    code.bytes().map(|b| b - b'0').collect()
}

pub(crate) fn pool_digits(i: usize) -> Vec<u8> {
    digits(POOL[i % POOL.len()])
}

pub(crate) fn pool_passcode(i: usize) -> Passcode {
    Passcode::parse(POOL[i % POOL_PASSCODES]).unwrap()
}

pub(crate) fn number(n: u8) -> PersonNumber {
    PersonNumber::new(n).unwrap()
}

// ----- inputs ------------------------------------------------------------------

/// A gap between keys of a scripted chunk: well inside the keypad timeout.
pub(crate) const KEY_GAP: u64 = 300;
/// Wall-clock values for `SetClock` and validity periods.
pub(crate) const WALL: u64 = 1_800_000_000;

/// How the module answers an enrollment the lock asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EnrollOutcome {
    /// Stored under the id the lock suggested.
    AsAsked,
    /// Stored under an id of the module's own choosing.
    Under(u16),
    /// Failed.
    Failed(EnrollFailure),
    /// A progress step, then nothing yet.
    Progress(EnrollStep),
    /// The module faulted.
    Fault,
}

/// One input of a sequence. Some are resolved against the lock's state when
/// they run (which codes and templates are stored, what enrollment or bolt
/// drive is pending), so that they hit real credentials.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// Nothing: only time passes (a tick that comes late or not at all).
    Nothing,
    /// This event.
    Event(Event),
    /// Time runs to the next deadline and the runtime sends a tick.
    Deadline,
    /// Power lost and restored: restore from the snapshot, then boot.
    PowerCycle {
        set_held: bool,
        clock_restarts: bool,
    },
    /// Touch, `before`, a stored code (normal or duress, by `pick`), `after`, ✓.
    TypeStored {
        pick: usize,
        before: Vec<u8>,
        after: Vec<u8>,
    },
    /// Touch, `before`, the digits, `after`, ✓.
    TypeDigits {
        before: Vec<u8>,
        code: Vec<u8>,
        after: Vec<u8>,
    },
    /// A module identifies a stored template (by `pick`), or `fallback` when
    /// none of that kind is stored.
    Identify { pick: usize, kind: BiometricKind },
    /// The module answers the enrollment the lock asked for last.
    CompleteEnroll(EnrollOutcome),
    /// The bolt reaches where it was last driven.
    BoltFollows,
    /// An administrator's credential, after SET (R-MNU-3): a stored
    /// administrator's passcode or template, by `pick`.
    AdminCredential { pick: usize, biometric: bool },
    /// An administrator's app command about the person stored last (often the
    /// one a keypad menu is adding credentials to right now): delete them, set
    /// a validity period, give them a pool duress code, or give them the code
    /// last entered at the keypad as a duress code (a race with R-PIN-5).
    AppOnLatest {
        what: u8,
        code: usize,
        validity: Validity,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// Milliseconds before the input.
    pub(crate) dt: u64,
    pub(crate) input: Input,
}

pub(crate) fn op(dt: u64, input: Input) -> Op {
    Op { dt, input }
}

pub(crate) fn key_op(key: Key) -> Op {
    op(KEY_GAP, Input::Event(Event::Key(key)))
}

pub(crate) fn digit_ops(ds: &[u8]) -> Vec<Op> {
    ds.iter().map(|&d| key_op(Key::Digit(d))).collect()
}

// ----- strategies --------------------------------------------------------------

pub(crate) fn kind() -> impl Strategy<Value = BiometricKind> {
    prop::sample::select(BiometricKind::ALL.to_vec())
}

fn template() -> impl Strategy<Value = TemplateId> {
    (0u16..8).prop_map(TemplateId)
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        12 => (0u8..=9).prop_map(Key::Digit),
        1 => (10u8..=12).prop_map(Key::Digit),
        4 => Just(Key::Ok),
        2 => Just(Key::Back),
        1 => Just(Key::Home),
        1 => Just(Key::Bell),
    ]
}

pub(crate) fn enroll_step() -> impl Strategy<Value = EnrollStep> {
    prop::sample::select(vec![
        EnrollStep::Present,
        EnrollStep::Lift,
        EnrollStep::LookStraight,
        EnrollStep::HeadUp,
        EnrollStep::HeadDown,
        EnrollStep::HeadLeft,
        EnrollStep::HeadRight,
        EnrollStep::Closer,
        EnrollStep::Further,
    ])
}

pub(crate) fn enroll_failure() -> impl Strategy<Value = EnrollFailure> {
    prop::sample::select(vec![
        EnrollFailure::Duplicate,
        EnrollFailure::BadCapture,
        EnrollFailure::Timeout,
        EnrollFailure::ModuleFull,
        EnrollFailure::ModuleFault,
    ])
}

fn biometric() -> impl Strategy<Value = BiometricEvent> {
    prop_oneof![
        4 => (kind(), template()).prop_map(|(kind, template)| BiometricEvent::Identified { kind, template }),
        3 => kind().prop_map(|kind| BiometricEvent::NoMatch { kind }),
        1 => (kind(), enroll_step()).prop_map(|(kind, step)| BiometricEvent::EnrollProgress { kind, step }),
        2 => (kind(), template()).prop_map(|(kind, template)| BiometricEvent::Enrolled { kind, template }),
        1 => (kind(), enroll_failure()).prop_map(|(kind, reason)| BiometricEvent::EnrollFailed { kind, reason }),
        1 => kind().prop_map(|kind| BiometricEvent::Fault { kind }),
    ]
}

fn bolt_report() -> impl Strategy<Value = BoltReport> {
    prop_oneof![
        3 => Just(BoltReport::Reached(BoltPosition::Locked)),
        3 => Just(BoltReport::Reached(BoltPosition::Unlocked)),
        1 => Just(BoltReport::Stalled),
        1 => Just(BoltReport::Between),
    ]
}

fn setting() -> impl Strategy<Value = Setting> {
    prop_oneof![
        1 => prop::sample::select(vec![
            lock_core::Volume::Low,
            lock_core::Volume::Medium,
            lock_core::Volume::High,
        ])
        .prop_map(Setting::Volume),
        2 => any::<bool>().prop_map(Setting::AutoLock),
        1 => prop_oneof![0u16..=10, 5u16..=60, 3590u16..=3700, any::<u16>()]
            .prop_map(Setting::AutoLockSecs),
        2 => any::<bool>().prop_map(Setting::RemoteUnlock),
        2 => any::<bool>().prop_map(Setting::LockoutProtection),
        1 => (0u8..=60).prop_map(Setting::LowBatteryPercent),
    ]
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        4 => (0u64..100_000).prop_map(|s| Timestamp(WALL + s)),
        1 => any::<u64>().prop_map(Timestamp),
    ]
}

pub(crate) fn validity() -> impl Strategy<Value = Validity> {
    (prop::option::of(timestamp()), prop::option::of(timestamp()))
        .prop_map(|(from, until)| Validity { from, until })
}

fn person_number() -> impl Strategy<Value = PersonNumber> {
    prop_oneof![
        8 => (1u8..=5).prop_map(number),
        1 => (1u8..=100).prop_map(number),
    ]
}

fn app_command() -> impl Strategy<Value = AppCommand> {
    prop_oneof![
        1 => Just(AppCommand::Status),
        4 => Just(AppCommand::Unlock),
        2 => Just(AppCommand::Lock),
        2 => Just(AppCommand::LiftLockout),
        4 => setting().prop_map(AppCommand::Configure),
        2 => (person_number(), validity())
            .prop_map(|(person, validity)| AppCommand::SetValidity { person, validity }),
        2 => person_number().prop_map(AppCommand::DeletePerson),
        3 => (person_number(), 0usize..POOL_PASSCODES).prop_map(|(person, i)| {
            AppCommand::SetDuressPasscode { person, code: pool_passcode(i) }
        }),
        1 => prop::sample::select(AlarmKind::ALL.to_vec()).prop_map(AppCommand::Acknowledge),
        2 => timestamp().prop_map(AppCommand::SetClock),
        1 => Just(AppCommand::LiveVideo),
    ]
}

fn app_request() -> impl Strategy<Value = AppRequest> {
    (
        prop_oneof![
            1 => Just(Privilege::Visitor),
            1 => Just(Privilege::User),
            4 => Just(Privilege::Administrator),
        ],
        prop_oneof![Just(Link::Bluetooth), Just(Link::Remote)],
        app_command(),
    )
        .prop_map(|(privilege, link, command)| AppRequest {
            pairing: 1,
            privilege,
            link,
            command,
        })
}

pub(crate) fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => Just(Event::Touch),
        12 => key().prop_map(Event::Key),
        1 => key().prop_map(Event::KeyHeld),
        2 => Just(Event::Set),
        1 => Just(Event::SetHeld),
        2 => Just(Event::LockButton),
        5 => biometric().prop_map(Event::Biometric),
        1 => Just(Event::MechanicalKey),
        3 => bolt_report().prop_map(Event::Bolt),
        3 => prop_oneof![Just(DoorState::Open), Just(DoorState::Closed)].prop_map(Event::Door),
        1 => Just(Event::Tamper),
        2 => any::<u8>().prop_map(Event::Battery),
        1 => any::<bool>().prop_map(Event::UsbPower),
        7 => app_request().prop_map(Event::App),
        2 => any::<u32>().prop_map(Event::PairingCode),
        1 => Just(Event::AppChanged(AppChange::Paired { pairing: 1 })),
        2 => Just(Event::Tick),
    ]
}
