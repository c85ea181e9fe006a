//! Property tests of [`Lock`]: invariants that hold after every event of an
//! arbitrary sequence.
//!
//! The sequences are built to reach the states that matter, not only noise:
//! - they start from a factory-fresh lock, from a lock set up at the keypad
//!   (door direction, first administrator, a user with a passcode, a user with a
//!   fingerprint, an administrator with a face), or from a restored lock that
//!   is one short of every capacity (R-USR-2/3);
//! - next to single random events (every [`Event`] kind, invalid digits,
//!   battery values above 100, every app command and privilege) they contain
//!   scripted chunks: typing a stored passcode with extra digits around it
//!   (R-PIN-4), presenting a stored template, completing the enrollment the
//!   lock asked for, opening the menu and adding a person with one to three
//!   credentials, deleting a person at the keypad, bursts of wrong entries,
//!   pairing, power cuts (restore from the snapshot, then `Boot`) and factory
//!   resets;
//! - time moves on by 0 ms to 30 min between inputs, with or without the tick
//!   a runtime sends at [`Lock::next_deadline`].
//!
//! `sequences_reach_interesting_states` checks that they do reach those states.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: here a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

use lock_core::internals::{
    FACE_CAPACITY, FACES_PER_PERSON, FINGER_CAPACITY, FINGERS_PER_PERSON, PALM_CAPACITY,
    PALMS_PER_PERSON, PASSCODE_CAPACITY,
};
use lock_core::{
    Action, Actions, AlarmKind, AppChange, AppCommand, AppRequest, BiometricEvent, BiometricKind,
    BoltPosition, BoltReport, Change, Config, DoorDirection, DoorState, Duration, EnrollFailure,
    EnrollStep, Event, Instant, Key, Link, Lock, Lockout, LogEntry, ModuleCommand, PEOPLE_CAPACITY,
    Passcode, Person, PersonNumber, Privilege, Reply, Role, Setting, Settings, Snapshot,
    TemplateId, Timestamp, Validity,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use subtle::ConstantTimeEq;

// ----- the passcodes the sequences use ----------------------------------------

/// Codes the sequences type, store and hand out as duress codes. None holds
/// `00`, so none overlaps the near-full lock's filler codes (`0000xxxx`).
const POOL: [&str; 14] = [
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
const POOL_PASSCODES: usize = 12;
/// A code that is stored nowhere and overlaps nothing in the pool.
const WRONG: &str = "468024";

fn digits(code: &str) -> Vec<u8> {
    code.bytes().map(|b| b - b'0').collect()
}

fn pool_digits(i: usize) -> Vec<u8> {
    digits(POOL[i % POOL.len()])
}

fn pool_passcode(i: usize) -> Passcode {
    Passcode::parse(POOL[i % POOL_PASSCODES]).unwrap()
}

fn number(n: u8) -> PersonNumber {
    PersonNumber::new(n).unwrap()
}

// ----- inputs ------------------------------------------------------------------

/// A gap between keys of a scripted chunk: well inside the keypad timeout.
const KEY_GAP: u64 = 300;
/// Wall-clock values for `SetClock` and validity periods.
const WALL: u64 = 1_800_000_000;

/// How the module answers an enrollment the lock asked for.
#[derive(Debug, Clone, Copy)]
enum EnrollOutcome {
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
enum Input {
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
struct Op {
    /// Milliseconds before the input.
    dt: u64,
    input: Input,
}

fn op(dt: u64, input: Input) -> Op {
    Op { dt, input }
}

fn key_op(key: Key) -> Op {
    op(KEY_GAP, Input::Event(Event::Key(key)))
}

fn digit_ops(ds: &[u8]) -> Vec<Op> {
    ds.iter().map(|&d| key_op(Key::Digit(d))).collect()
}

// ----- strategies --------------------------------------------------------------

fn kind() -> impl Strategy<Value = BiometricKind> {
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

fn enroll_step() -> impl Strategy<Value = EnrollStep> {
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

fn enroll_failure() -> impl Strategy<Value = EnrollFailure> {
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
        1 => Just(BoltReport::TimedOut),
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

fn validity() -> impl Strategy<Value = Validity> {
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

fn event() -> impl Strategy<Value = Event> {
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

/// Time before a free-standing input: often none or a little, sometimes long
/// enough for every timer (keypad, tamper, pairing, lockouts) to run out.
fn gap() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => Just(0u64),
        10 => 1u64..2_000,
        4 => 2_000u64..30_000,
        2 => 30_000u64..600_000,
        1 => 600_000u64..=1_800_000,
    ]
}

fn extra_digits() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        4 => prop::collection::vec(0u8..=9, 1..=5),
        1 => prop::collection::vec(0u8..=12, 0..=12),
    ]
}

fn enroll_outcome() -> impl Strategy<Value = EnrollOutcome> {
    prop_oneof![
        6 => Just(EnrollOutcome::AsAsked),
        2 => (0u16..8).prop_map(EnrollOutcome::Under),
        2 => enroll_failure().prop_map(EnrollOutcome::Failed),
        1 => enroll_step().prop_map(EnrollOutcome::Progress),
        1 => Just(EnrollOutcome::Fault),
    ]
}

fn admin_credential() -> impl Strategy<Value = Op> {
    (any::<usize>(), prop::bool::weighted(0.3))
        .prop_map(|(pick, biometric)| op(KEY_GAP, Input::AdminCredential { pick, biometric }))
}

/// One credential in the menu's R-MNU-4 choice: a passcode entered twice (the
/// second entry usually the same), or a biometric enrollment and its outcome.
fn menu_credential() -> impl Strategy<Value = Vec<Op>> {
    prop_oneof![
        (
            0usize..POOL.len(),
            prop::option::weighted(0.2, 0usize..POOL.len())
        )
            .prop_map(|(first, second)| {
                let mut ops = vec![key_op(Key::Digit(4))];
                ops.extend(digit_ops(&pool_digits(first)));
                ops.push(key_op(Key::Ok));
                ops.extend(digit_ops(&pool_digits(second.unwrap_or(first))));
                ops.push(key_op(Key::Ok));
                ops
            }),
        (1u8..=3, enroll_outcome()).prop_map(|(d, outcome)| {
            vec![
                key_op(Key::Digit(d)),
                op(KEY_GAP, Input::CompleteEnroll(outcome)),
            ]
        }),
    ]
}

/// SET, an administrator's credential, `1` or `2`, one to three credentials,
/// ↩ to the menu and usually ↩ out of it (R-MNU-3/4).
fn add_person_script() -> impl Strategy<Value = Vec<Op>> {
    (
        admin_credential(),
        prop::bool::weighted(0.3),
        prop::collection::vec(menu_credential(), 1..=3),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(cred, admin, creds, leave)| {
            let mut ops = vec![op(KEY_GAP, Input::Event(Event::Set)), cred];
            ops.push(key_op(Key::Digit(if admin { 1 } else { 2 })));
            ops.extend(creds.into_iter().flatten());
            ops.push(key_op(Key::Back));
            if leave {
                ops.push(key_op(Key::Back));
            }
            ops
        })
}

/// SET, an administrator's credential, `3`, a person number, ✓ (R-MNU-5).
fn delete_script() -> impl Strategy<Value = Vec<Op>> {
    (admin_credential(), 1u8..=6, prop::bool::weighted(0.9)).prop_map(|(cred, n, leave)| {
        let mut ops = vec![op(KEY_GAP, Input::Event(Event::Set)), cred];
        ops.push(key_op(Key::Digit(3)));
        ops.extend(digit_ops(&[0, 0, n]));
        ops.push(key_op(Key::Ok));
        ops.push(key_op(Key::Back));
        if leave {
            ops.push(key_op(Key::Back));
        }
        ops
    })
}

/// SET, an administrator's credential, `4`, a setting or two.
fn settings_script() -> impl Strategy<Value = Vec<Op>> {
    (admin_credential(), prop::collection::vec(1u8..=3, 1..=2)).prop_map(|(cred, keys)| {
        let mut ops = vec![op(KEY_GAP, Input::Event(Event::Set)), cred];
        ops.push(key_op(Key::Digit(4)));
        ops.extend(digit_ops(&keys));
        ops.push(key_op(Key::Back));
        ops.push(key_op(Key::Back));
        ops
    })
}

/// Wrong entries in quick succession (R-LKO-1's burst).
fn wrong_burst() -> impl Strategy<Value = Vec<Op>> {
    (1usize..=6, prop::bool::ANY).prop_map(|(n, biometric)| {
        (0..n)
            .map(|_| {
                if biometric {
                    op(
                        KEY_GAP,
                        Input::Event(Event::Biometric(BiometricEvent::NoMatch {
                            kind: BiometricKind::Finger,
                        })),
                    )
                } else {
                    op(
                        KEY_GAP,
                        Input::TypeDigits {
                            before: Vec::new(),
                            code: digits(WRONG),
                            after: Vec::new(),
                        },
                    )
                }
            })
            .collect()
    })
}

/// Power back with SET held, then ✓ (R-MNU-9).
fn factory_reset_script() -> impl Strategy<Value = Vec<Op>> {
    prop::bool::weighted(0.8).prop_map(|confirm| {
        let mut ops = vec![op(
            0,
            Input::PowerCycle {
                set_held: true,
                clock_restarts: false,
            },
        )];
        if confirm {
            ops.push(key_op(Key::Ok));
        }
        ops
    })
}

/// Long SET (R-MNU-7), then pairing completes or the window runs out.
fn pairing_script() -> impl Strategy<Value = Vec<Op>> {
    (prop::bool::ANY, 0u64..240_000).prop_map(|(paired, wait)| {
        vec![
            op(KEY_GAP, Input::Event(Event::SetHeld)),
            if paired {
                op(
                    wait,
                    Input::Event(Event::AppChanged(AppChange::Paired { pairing: 1 })),
                )
            } else {
                op(wait, Input::Nothing)
            },
        ]
    })
}

fn app_on_latest() -> impl Strategy<Value = Input> {
    (0u8..4, 0usize..POOL_PASSCODES, validity()).prop_map(|(what, code, validity)| {
        Input::AppOnLatest {
            what,
            code,
            validity,
        }
    })
}

/// `script` with up to two inputs slipped in anywhere: the app, a module or
/// the door does not wait for a keypad dialogue to finish.
fn interrupted(script: impl Strategy<Value = Vec<Op>>) -> impl Strategy<Value = Vec<Op>> {
    let interruption = prop_oneof![
        3 => event().prop_map(Input::Event),
        2 => app_on_latest(),
    ];
    (
        script,
        prop_oneof![
            1 => Just(Vec::new()),
            1 => prop::collection::vec((any::<prop::sample::Index>(), 0u64..5_000, interruption), 1..=2),
        ],
    )
        .prop_map(|(mut ops, extra)| {
            for (at, dt, input) in extra {
                let i = at.index(ops.len() + 1);
                ops.insert(i, op(dt, input));
            }
            ops
        })
}

/// Many timers started within seconds (the bolt's travel, the countdown, the
/// tamper siren, a lockout, pairing, the keypad with an enrollment running),
/// then a silence with no tick and one more input: every timer runs out in
/// the batch of that input (the largest batches, for `ACTIONS_CAPACITY`).
fn pile_up() -> impl Strategy<Value = Vec<Op>> {
    let starter = prop_oneof![
        Just(vec![Input::Event(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Visitor,
            link: Link::Bluetooth,
            command: AppCommand::Unlock,
        }))]),
        Just(vec![Input::Event(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Remote,
            command: AppCommand::Configure(Setting::AutoLock(true)),
        }))]),
        Just(vec![Input::Event(Event::Tamper)]),
        Just(vec![Input::Event(Event::SetHeld)]),
        Just(vec![
            Input::Event(Event::Biometric(
                BiometricEvent::NoMatch {
                    kind: BiometricKind::Finger
                }
            ));
            5
        ]),
        Just(vec![
            Input::Event(Event::Set),
            Input::AdminCredential {
                pick: 0,
                biometric: false
            },
            Input::Event(Event::Key(Key::Digit(2))),
            Input::Event(Event::Key(Key::Digit(1))),
        ]),
        event().prop_map(|e| vec![Input::Event(e)]),
    ];
    (
        prop::collection::vec(starter, 2..=7),
        600_000u64..=7_200_000,
        prop_oneof![
            3 => event().prop_map(Input::Event),
            2 => app_on_latest(),
            1 => (1u8..=5).prop_map(|n| Input::Event(Event::App(AppRequest {
                pairing: 1,
                privilege: Privilege::Administrator,
                link: Link::Remote,
                command: AppCommand::DeletePerson(number(n)),
            }))),
            1 => Just(Input::TypeStored { pick: 0, before: Vec::new(), after: Vec::new() }),
        ],
    )
        .prop_map(|(starters, silence, last)| {
            let mut ops: Vec<Op> = starters
                .into_iter()
                .flatten()
                .map(|input| op(100, input))
                .collect();
            ops.push(op(silence, last));
            ops
        })
}

fn chunk() -> impl Strategy<Value = Vec<Op>> {
    prop_oneof![
        30 => (gap(), event()).prop_map(|(dt, e)| vec![op(dt, Input::Event(e))]),
        4 => gap().prop_map(|dt| vec![op(dt, Input::Nothing)]),
        4 => Just(vec![op(0, Input::Deadline)]),
        2 => (gap(), prop::bool::weighted(0.3)).prop_map(|(dt, clock_restarts)| {
            vec![op(dt, Input::PowerCycle { set_held: false, clock_restarts })]
        }),
        8 => (gap(), any::<usize>(), extra_digits(), extra_digits()).prop_map(
            |(dt, pick, before, after)| vec![op(dt, Input::TypeStored { pick, before, after })]
        ),
        4 => (gap(), 0usize..POOL.len(), extra_digits(), extra_digits()).prop_map(
            |(dt, i, before, after)| {
                vec![op(dt, Input::TypeDigits { before, code: pool_digits(i), after })]
            }
        ),
        5 => (gap(), any::<usize>(), kind())
            .prop_map(|(dt, pick, kind)| vec![op(dt, Input::Identify { pick, kind })]),
        3 => (gap(), enroll_outcome())
            .prop_map(|(dt, outcome)| vec![op(dt, Input::CompleteEnroll(outcome))]),
        3 => gap().prop_map(|dt| vec![op(dt.min(5_000), Input::BoltFollows)]),
        2 => (gap(), app_on_latest()).prop_map(|(dt, input)| vec![op(dt, input)]),
        6 => interrupted(add_person_script()),
        2 => interrupted(delete_script()),
        1 => interrupted(settings_script()),
        3 => wrong_burst(),
        1 => factory_reset_script(),
        1 => pairing_script(),
        2 => pile_up(),
    ]
}

/// How a sequence starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// Factory-fresh, booted: the door-direction question.
    Fresh,
    /// Set up at the keypad: door direction, administrator 001 (`POOL[0]`),
    /// user 002 (`POOL[1]`), user 003 (a fingerprint), administrator 004 (a face).
    SetUp,
    /// Restored one short of every capacity (R-USR-2/3).
    NearFull,
}

fn start() -> impl Strategy<Value = Start> {
    prop_oneof![
        1 => Just(Start::Fresh),
        5 => Just(Start::SetUp),
        2 => Just(Start::NearFull),
    ]
}

fn sequence(max_chunks: usize) -> impl Strategy<Value = (Start, Vec<Op>)> {
    (
        start(),
        prop::collection::vec(chunk(), 1..max_chunks).prop_map(|c| c.concat()),
    )
}

/// The set-up prefix of [`Start::SetUp`], as keypad steps.
fn set_up_ops() -> Vec<Op> {
    let mut ops = vec![key_op(Key::Ok), key_op(Key::Digit(1)), key_op(Key::Ok)];
    for _ in 0..2 {
        ops.extend(digit_ops(&pool_digits(0)));
        ops.push(key_op(Key::Ok));
    }
    // In the menu as 001: user 002 with a passcode, then a fingerprint.
    ops.push(key_op(Key::Digit(2)));
    ops.push(key_op(Key::Digit(4)));
    for _ in 0..2 {
        ops.extend(digit_ops(&pool_digits(1)));
        ops.push(key_op(Key::Ok));
    }
    ops.push(key_op(Key::Back));
    // User 003 with a fingerprint.
    ops.push(key_op(Key::Digit(2)));
    ops.push(key_op(Key::Digit(3)));
    ops.push(op(KEY_GAP, Input::CompleteEnroll(EnrollOutcome::AsAsked)));
    ops.push(key_op(Key::Back));
    // Administrator 004 with a face.
    ops.push(key_op(Key::Digit(1)));
    ops.push(key_op(Key::Digit(1)));
    ops.push(op(KEY_GAP, Input::CompleteEnroll(EnrollOutcome::AsAsked)));
    ops.push(key_op(Key::Back));
    ops.push(key_op(Key::Back));
    ops
}

/// 99 people, 49 faces, palms, fingers and passcodes: one short of every
/// capacity. 001 is an administrator with `POOL[0]`; the others are users;
/// 002 holds 3 faces, 2 palms and 5 fingers; 005 may open only inside a
/// validity period.
fn near_full_snapshot() -> Snapshot {
    let mut people: Vec<Person> = (1..=99)
        .map(|n| {
            Person::new(
                number(n),
                if n == 1 {
                    Role::Administrator
                } else {
                    Role::User
                },
            )
        })
        .collect();
    let mut filler = 1000u16;
    let mut next_filler = || {
        filler += 1;
        let s = format!("0000{filler:04}");
        Passcode::parse(&s).unwrap()
    };
    people[0].passcode = Some(pool_passcode(0));
    // 002 holds a full set of every kind (the largest deletion); the rest are
    // spread over 003… .
    for (kind, per_person, first) in [
        (BiometricKind::Face, FACES_PER_PERSON, 3usize),
        (BiometricKind::Palm, PALMS_PER_PERSON, 20),
        (BiometricKind::Finger, FINGERS_PER_PERSON, 50),
    ] {
        for id in 0..(kind.capacity() - 1) {
            let p = if id < per_person {
                &mut people[1]
            } else {
                &mut people[first - 1 + (id - per_person) / per_person]
            };
            assert!(p.add_template(kind, TemplateId(u16::try_from(id).unwrap())));
        }
    }
    // 40 normal codes and 8 duress codes: 49 with 001's.
    for p in people.iter_mut().skip(59) {
        p.passcode = Some(next_filler());
    }
    for p in people.iter_mut().skip(1).take(8) {
        p.duress = Some(next_filler());
    }
    people[4].validity = Validity {
        from: Some(Timestamp(WALL + 1_000)),
        until: Some(Timestamp(WALL + 50_000)),
    };
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Left),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    for p in people {
        snapshot.people.push(p).unwrap();
    }
    snapshot
}

// ----- running a sequence --------------------------------------------------------

/// One handled event, for the properties to judge.
struct Step<'a> {
    cfg: Config,
    now: Instant,
    event: Event,
    /// The lockout active just before the event, at the same `now`.
    lockout_before: Option<Lockout>,
    /// The menu was open just before the event.
    menu_before: bool,
    /// Every digit keyed since the last ✓ before this event.
    typed: &'a [u8],
    actions: &'a Actions,
    lock: &'a Lock,
    /// What the store holds: every change emitted so far applied in order to
    /// the snapshot the lock started from.
    store: &'a Snapshot,
}

type Check<'c> = dyn FnMut(&Step<'_>) -> Result<(), TestCaseError> + 'c;

struct Run<'c> {
    cfg: Config,
    lock: Lock,
    now: Instant,
    store: Snapshot,
    pending_enroll: Option<(BiometricKind, TemplateId)>,
    last_drive: Option<BoltPosition>,
    latest: Option<PersonNumber>,
    /// Digits keyed since the last ✓ (a superset of the lock's entry, which
    /// is a contiguous run of them), and those keyed before it.
    typed: Vec<u8>,
    last_entry: Vec<u8>,
    check: &'c mut Check<'c>,
}

impl Run<'_> {
    fn feed(&mut self, event: Event) -> Result<(), TestCaseError> {
        let lockout_before = self.lock.lockout(self.now);
        let menu_before = self.lock.in_menu();
        let actions = self.lock.handle(self.now, event);
        for action in &actions {
            match action {
                Action::Persist(change) => {
                    if let Change::Person(p) = change {
                        self.latest = Some(p.number);
                    }
                    self.store.apply(change);
                }
                Action::Module(ModuleCommand::Enroll { kind, template }) => {
                    self.pending_enroll = Some((*kind, *template));
                }
                Action::Module(ModuleCommand::CancelEnroll(_)) => self.pending_enroll = None,
                Action::DriveBolt { to, .. } => self.last_drive = Some(*to),
                _ => {}
            }
        }
        if let Event::Key(Key::Digit(d)) | Event::KeyHeld(Key::Digit(d)) = event
            && d <= 9
        {
            self.typed.push(d);
        }
        let result = (self.check)(&Step {
            cfg: self.cfg,
            now: self.now,
            event,
            typed: &self.typed,
            lockout_before,
            menu_before,
            actions: &actions,
            lock: &self.lock,
            store: &self.store,
        });
        if let Event::Key(Key::Ok) | Event::KeyHeld(Key::Ok) = event {
            self.last_entry = std::mem::take(&mut self.typed);
        }
        result
    }

    fn type_digits(&mut self, ds: &[u8]) -> Result<(), TestCaseError> {
        self.feed(Event::Touch)?;
        for &d in ds {
            self.now = self.now + Duration::from_millis(KEY_GAP);
            self.feed(Event::Key(Key::Digit(d)))?;
        }
        self.now = self.now + Duration::from_millis(KEY_GAP);
        self.feed(Event::Key(Key::Ok))
    }

    /// Every code stored, normal and duress, in number order.
    fn stored_codes(&self) -> Vec<Vec<u8>> {
        self.lock
            .people()
            .iter()
            .flat_map(|p| p.passcode.iter().chain(p.duress.iter()))
            .map(|c| c.digits().to_vec())
            .collect()
    }

    fn run(&mut self, o: &Op) -> Result<(), TestCaseError> {
        self.now = self.now + Duration::from_millis(o.dt);
        match &o.input {
            Input::Nothing => Ok(()),
            Input::Event(e) => self.feed(*e),
            Input::Deadline => match self.lock.next_deadline() {
                Some(t) => {
                    self.now = self.now.max(t);
                    self.feed(Event::Tick)
                }
                None => Ok(()),
            },
            Input::PowerCycle {
                set_held,
                clock_restarts,
            } => {
                if *clock_restarts {
                    self.now = Instant::ZERO;
                }
                self.lock = Lock::restore(self.cfg, &self.lock.snapshot(), self.now)
                    .unwrap_or_else(|_| Lock::fail_secure(self.cfg));
                self.pending_enroll = None;
                self.last_drive = None;
                self.feed(Event::Boot {
                    set_held: *set_held,
                })
            }
            Input::TypeStored {
                pick,
                before,
                after,
            } => {
                let codes = self.stored_codes();
                let code = if codes.is_empty() {
                    pool_digits(*pick)
                } else {
                    codes[pick % codes.len()].clone()
                };
                self.type_digits(&[before.as_slice(), &code, after].concat())
            }
            Input::TypeDigits {
                before,
                code,
                after,
            } => self.type_digits(&[before.as_slice(), code, after].concat()),
            Input::Identify { pick, kind } => {
                let stored: Vec<TemplateId> = self
                    .lock
                    .people()
                    .iter()
                    .flat_map(|p| p.templates(*kind).iter().copied())
                    .collect();
                let event = if stored.is_empty() {
                    BiometricEvent::NoMatch { kind: *kind }
                } else {
                    BiometricEvent::Identified {
                        kind: *kind,
                        template: stored[pick % stored.len()],
                    }
                };
                self.feed(Event::Biometric(event))
            }
            Input::CompleteEnroll(outcome) => {
                let (kind, asked) = self
                    .pending_enroll
                    .unwrap_or((BiometricKind::Finger, TemplateId(7)));
                let event = match *outcome {
                    EnrollOutcome::AsAsked => BiometricEvent::Enrolled {
                        kind,
                        template: asked,
                    },
                    EnrollOutcome::Under(id) => BiometricEvent::Enrolled {
                        kind,
                        template: TemplateId(id),
                    },
                    EnrollOutcome::Failed(reason) => BiometricEvent::EnrollFailed { kind, reason },
                    EnrollOutcome::Progress(step) => BiometricEvent::EnrollProgress { kind, step },
                    EnrollOutcome::Fault => BiometricEvent::Fault { kind },
                };
                if !matches!(outcome, EnrollOutcome::Progress(_)) {
                    self.pending_enroll = None;
                }
                self.feed(Event::Biometric(event))
            }
            Input::BoltFollows => match self.last_drive.take() {
                Some(to) => self.feed(Event::Bolt(BoltReport::Reached(to))),
                None => Ok(()),
            },
            Input::AppOnLatest {
                what,
                code,
                validity,
            } => {
                let person = self.latest.unwrap_or(PersonNumber::FIRST);
                let command = match what {
                    0 => AppCommand::DeletePerson(person),
                    1 => AppCommand::SetValidity {
                        person,
                        validity: *validity,
                    },
                    2 => AppCommand::SetDuressPasscode {
                        person,
                        code: pool_passcode(*code),
                    },
                    _ => AppCommand::SetDuressPasscode {
                        person,
                        code: Passcode::new(
                            &self.last_entry[self.last_entry.len().saturating_sub(10)..],
                        )
                        .unwrap_or_else(|_| pool_passcode(*code)),
                    },
                };
                self.feed(Event::App(AppRequest {
                    pairing: 1,
                    privilege: Privilege::Administrator,
                    link: Link::Remote,
                    command,
                }))
            }
            Input::AdminCredential { pick, biometric } => {
                let admins: Vec<Person> = self
                    .lock
                    .people()
                    .iter()
                    .filter(|p| p.role == Role::Administrator)
                    .cloned()
                    .collect();
                let templates: Vec<(BiometricKind, TemplateId)> =
                    admins.iter().flat_map(Person::all_templates).collect();
                let codes: Vec<Vec<u8>> = admins
                    .iter()
                    .filter_map(|p| p.passcode.map(|c| c.digits().to_vec()))
                    .collect();
                if (*biometric || codes.is_empty()) && !templates.is_empty() {
                    let (kind, template) = templates[pick % templates.len()];
                    self.feed(Event::Biometric(BiometricEvent::Identified {
                        kind,
                        template,
                    }))
                } else if codes.is_empty() {
                    self.type_digits(&pool_digits(0))
                } else {
                    self.type_digits(&codes[pick % codes.len()])
                }
            }
        }
    }
}

/// Runs `ops` from `start`, calling `check` after every event.
fn run_sequence(start: Start, ops: &[Op], check: &mut Check<'_>) -> Result<Lock, TestCaseError> {
    let cfg = Config::default();
    let (lock, store) = match start {
        Start::Fresh | Start::SetUp => (Lock::new(cfg), Snapshot::default()),
        Start::NearFull => {
            let snapshot = near_full_snapshot();
            let lock = Lock::restore(cfg, &snapshot, Instant::ZERO)
                .map_err(|e| TestCaseError::fail(format!("near-full restore: {e:?}")))?;
            (lock, snapshot)
        }
    };
    let mut run = Run {
        cfg,
        lock,
        now: Instant::ZERO,
        store,
        pending_enroll: None,
        last_drive: None,
        latest: None,
        typed: Vec::new(),
        last_entry: Vec::new(),
        check,
    };
    run.feed(Event::Boot { set_held: false })?;
    if let Start::SetUp = start {
        for o in set_up_ops() {
            run.run(&o)?;
        }
    }
    for o in ops {
        run.run(o)?;
    }
    Ok(run.lock)
}

// ----- helpers for the properties ----------------------------------------------------

fn unlocks(actions: &Actions) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::DriveBolt {
                to: BoltPosition::Unlocked,
                ..
            }
        )
    })
}

/// A batch that ends a lockout on purpose (R-LKO-3).
fn lifts_lockout(event: &Event) -> bool {
    matches!(
        event,
        Event::App(AppRequest {
            command: AppCommand::LiftLockout
                | AppCommand::Configure(Setting::LockoutProtection(false)),
            ..
        })
    )
}

/// A failed verification was recorded in this batch.
fn has_failure(actions: &Actions) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::Log(r) if matches!(r.entry, LogEntry::UnlockFailed { reason: lock_core::Refusal::NoMatch, .. })
        )
    })
}

/// A person's record as comparable values (a [`Passcode`] has no `PartialEq`:
/// its digits are compared, in a test, in the open).
type PersonView = (
    u8,
    Role,
    Validity,
    Vec<TemplateId>,
    Vec<TemplateId>,
    Vec<TemplateId>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

fn view(people: &[Person]) -> BTreeMap<u8, PersonView> {
    people
        .iter()
        .map(|p| {
            (
                p.number.get(),
                (
                    p.number.get(),
                    p.role,
                    p.validity,
                    p.faces.to_vec(),
                    p.palms.to_vec(),
                    p.fingers.to_vec(),
                    p.passcode.map(|c| c.digits().to_vec()),
                    p.duress.map(|c| c.digits().to_vec()),
                ),
            )
        })
        .collect()
}

/// R-USR-6 and S-VC-2 as the SPEC words them, written out here rather than
/// taken from the crate: both ends inclusive, either open; a bounded period
/// without a trusted clock admits nothing.
fn admits(v: &Validity, wall: Option<Timestamp>) -> bool {
    match (v.from, v.until, wall) {
        (None, None, _) => true,
        (_, _, None) => false,
        (from, until, Some(t)) => {
            from.is_none_or(|f| t.0 >= f.0) && until.is_none_or(|u| t.0 <= u.0)
        }
    }
}

fn same_passcode(a: Option<Passcode>, b: Option<Passcode>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => bool::from(a.ct_eq(&b)),
        (None, None) => true,
        _ => false,
    }
}

// ----- the properties -----------------------------------------------------------

/// `cases` per property, sized so the whole file runs in well under 30 s in a
/// debug build; `PROPTEST_CASES` overrides it for a deeper run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(160))]

    /// `handle` never panics, every action fits (`dropped() == 0`), every timer
    /// that was due has run (the next deadline lies after `now`), and every app
    /// command gets exactly one reply in its own batch.
    #[test]
    fn handle_never_panics_and_never_drops_actions((start, ops) in sequence(80)) {
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            prop_assert_eq!(s.actions.dropped(), 0, "{:?} at {}: {:?}", s.event, s.now, s.actions);
            if let Some(deadline) = s.lock.next_deadline() {
                prop_assert!(deadline > s.now, "deadline {} not after {} ({:?})", deadline, s.now, s.event);
            }
            let replies = s.actions.iter().filter(|a| matches!(a, Action::Reply(_))).count();
            let expected = usize::from(matches!(s.event, Event::App(_)));
            prop_assert_eq!(replies, expected, "{:?}: {:?}", s.event, s.actions);
            Ok(())
        })?;
    }

    /// R-USR-5: once a person is deleted, nothing opens in their name until
    /// that number is stored again.
    #[test]
    fn r_usr_5_deleted_person_never_opens((start, ops) in sequence(80)) {
        let mut deleted: BTreeSet<u8> = BTreeSet::new();
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            for a in s.actions {
                match a {
                    Action::Persist(Change::PersonDeleted(n)) => {
                        deleted.insert(n.get());
                    }
                    Action::Persist(Change::FactoryReset) => deleted.extend(1..=100),
                    Action::Persist(Change::Person(p)) => {
                        deleted.remove(&p.number.get());
                    }
                    Action::Log(r) => {
                        if let LogEntry::Unlock { person: Some(n), method } = r.entry {
                            prop_assert!(!deleted.contains(&n.get()), "deleted {} opened by {:?} ({:?})", n, method, s.event);
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
    }

    /// R-USR-3 (and R-USR-2, R-USR-7): after every event the lock holds at most
    /// 50 faces, palms, fingers and passcodes, each person at most 3 / 2 / 5
    /// and one passcode (plus a duress code), at most 100 people, and no
    /// template id belongs to two people.
    #[test]
    fn r_usr_3_capacities_never_exceeded((start, ops) in sequence(80)) {
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            let people = s.lock.people();
            prop_assert!(people.len() <= PEOPLE_CAPACITY);
            for (kind, total, each) in [
                (BiometricKind::Face, FACE_CAPACITY, FACES_PER_PERSON),
                (BiometricKind::Palm, PALM_CAPACITY, PALMS_PER_PERSON),
                (BiometricKind::Finger, FINGER_CAPACITY, FINGERS_PER_PERSON),
            ] {
                prop_assert!(people.template_count(kind) <= total, "{:?}: {}", kind, people.template_count(kind));
                let mut owners: BTreeMap<TemplateId, u8> = BTreeMap::new();
                for p in people.iter() {
                    prop_assert!(p.templates(kind).len() <= each, "{} {:?}", p.number, kind);
                    for &t in p.templates(kind) {
                        if let Some(other) = owners.insert(t, p.number.get()) {
                            prop_assert!(false, "{:?} {:?} held by {} and {}", kind, t, other, p.number);
                        }
                    }
                }
            }
            let codes: usize = people.iter().map(|p| usize::from(p.passcode.is_some()) + usize::from(p.duress.is_some())).sum();
            prop_assert!(codes <= PASSCODE_CAPACITY, "{} passcodes", codes);
            Ok(())
        })?;
    }

    /// S-BF-2 (R-LKO-4, DESIGN.md): within every batch, each persisted change
    /// and log record comes before the first observable action.
    #[test]
    fn s_bf_2_persistence_before_observable((start, ops) in sequence(80)) {
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            let mut seen = None;
            for a in s.actions {
                if a.is_observable() {
                    seen.get_or_insert(a);
                } else if let Some(first) = seen {
                    prop_assert!(false, "{:?} after {:?} for {:?}", a, first, s.event);
                }
            }
            Ok(())
        })?;
    }

    /// The changes emitted so far, applied in order to the snapshot the lock
    /// started from, are the lock's snapshot (people with every credential,
    /// settings, failure counts), and a lock restores from them.
    #[test]
    fn snapshot_replay_equals_state((start, ops) in sequence(60)) {
        let mut changed_since_restore = false;
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            let live = s.lock.snapshot();
            prop_assert_eq!(view(&s.store.people), view(&live.people), "after {:?}", s.event);
            for p in live.people.iter() {
                let q = s.store.person(p.number).unwrap();
                prop_assert!(same_passcode(p.passcode, q.passcode) && same_passcode(p.duress, q.duress));
            }
            prop_assert_eq!(s.store.settings, live.settings, "after {:?}", s.event);
            prop_assert_eq!(s.store.attempts, live.attempts, "after {:?}", s.event);
            changed_since_restore |= s.actions.iter().any(|a| matches!(a, Action::Persist(_)));
            // Restoring is the costly part: only after something changed.
            if changed_since_restore {
                changed_since_restore = false;
                let restored = Lock::restore(s.cfg, s.store, s.now);
                prop_assert!(restored.is_ok(), "restore after {:?}: {:?}", s.event, restored.err());
            }
            Ok(())
        })?;
    }

    /// R-LKO-4: cutting the power right after a failure keeps the failure
    /// count and any lockout, both from the lock's snapshot and from what the
    /// store was told.
    #[test]
    fn r_lko_4_failures_survive_power_cycle((start, ops) in sequence(80)) {
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            if !has_failure(s.actions) {
                return Ok(());
            }
            for (what, snapshot) in [("snapshot", s.lock.snapshot()), ("store", s.store.clone())] {
                let restored = Lock::restore(s.cfg, &snapshot, s.now).unwrap();
                prop_assert_eq!(restored.failures_since_success(), s.lock.failures_since_success(), "{}", what);
                prop_assert_eq!(restored.lockout(s.now).is_some(), s.lock.lockout(s.now).is_some(), "{}", what);
            }
            Ok(())
        })?;
    }
}

proptest! {
    // The rule that matters most, and cheap: more cases.
    #![proptest_config(config(400))]

    /// R-LKO-1: while a lockout is active, nothing opens the door and no
    /// verification opens the menu (creating the first administrator at
    /// first start is no verification).
    ///
    /// Excluded: an administrator's `LiftLockout` or
    /// `Configure(LockoutProtection(false))`. Those end the lockout on purpose
    /// (R-LKO-3) before anything else in their batch, so whatever follows them
    /// is no longer "during a lockout". (Neither drives the bolt today; the
    /// exclusion keeps the property about R-LKO-1 only.)
    #[test]
    fn r_lko_1_no_unlock_during_lockout((start, ops) in sequence(80)) {
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            if s.lockout_before.is_none() || lifts_lockout(&s.event) {
                return Ok(());
            }
            prop_assert!(!unlocks(s.actions), "unlocked during {:?} by {:?}: {:?}", s.lockout_before, s.event, s.actions);
            let opened_for = s.actions.iter().find_map(|a| match a {
                Action::Log(r) => match r.entry {
                    LogEntry::Unlock { person: Some(p), method } => Some((p, method)),
                    _ => None,
                },
                _ => None,
            });
            prop_assert_eq!(opened_for, None, "{:?}", s.event);
            // First start's "create administrator" (R-MNU-2) opens the menu for
            // the person it just stored: no verification, nothing to guess.
            let created_first_admin = s.actions.iter().any(|a| {
                matches!(a, Action::Log(r) if matches!(r.entry, LogEntry::UserAdded { role: Role::Administrator, .. }))
            });
            prop_assert!(
                s.menu_before || !s.lock.in_menu() || created_first_admin,
                "menu opened during a lockout by {:?}", s.event
            );
            Ok(())
        })?;
    }
}

// ----- invariants the brief did not list -------------------------------------------

proptest! {
    #![proptest_config(config(160))]

    /// R-MNU-1: a dark keypad holds no menu. Once the keypad is dark, whatever
    /// dialogue was open is over; the next person to touch it must verify.
    #[test]
    fn r_mnu_1_dark_keypad_holds_no_menu((start, ops) in sequence(80)) {
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            prop_assert!(s.lock.keypad().is_some() || !s.lock.in_menu(), "menu open behind a dark keypad after {:?}", s.event);
            Ok(())
        })?;
    }

    /// R-UNL-2 / R-USR-5 / R-USR-6: the door opens in someone's name only
    /// for a credential they hold at that moment (a template of theirs the
    /// module identified, or a code of theirs among the digits keyed since the
    /// last ✓) and inside their validity period. A deleted person's
    /// credentials open for no one, also once their number is given to
    /// someone new.
    #[test]
    fn r_unl_2_who_opens_holds_the_credential((start, ops) in sequence(80)) {
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            for a in s.actions {
                let Action::Log(r) = a else { continue };
                let LogEntry::Unlock { person: Some(n), method } = r.entry else { continue };
                let p = s.lock.people().get(n);
                prop_assert!(p.is_some(), "{} opened but is not stored ({:?})", n, s.event);
                let p = p.unwrap();
                let holds = match s.event {
                    Event::Biometric(BiometricEvent::Identified { kind, template }) => {
                        lock_core::Method::from(kind) == method && p.templates(kind).contains(&template)
                    }
                    Event::Key(Key::Ok) | Event::KeyHeld(Key::Ok) => {
                        method == lock_core::Method::Passcode
                            && p.passcode.iter().chain(p.duress.iter()).any(|c| {
                                s.typed.windows(c.len()).any(|w| w == c.digits())
                            })
                    }
                    _ => false,
                };
                prop_assert!(holds, "{} opened by {:?} after {:?} without holding it", n, method, s.event);
                // R-USR-6: and only inside their validity period.
                prop_assert!(admits(&p.validity, s.lock.wall_clock(s.now)), "{} opened outside {:?}", n, p.validity);
            }
            Ok(())
        })?;
    }

    /// R-USR-5 / R-MNU-4: a deleted person comes back only as a new person
    /// (`UserAdded`), never by a change to their old record.
    #[test]
    fn r_usr_5_deleted_person_returns_only_as_new((start, ops) in sequence(80)) {
        let mut deleted: BTreeSet<u8> = BTreeSet::new();
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            for a in s.actions {
                match a {
                    Action::Persist(Change::PersonDeleted(n)) => {
                        deleted.insert(n.get());
                    }
                    Action::Persist(Change::FactoryReset) => deleted.clear(),
                    Action::Persist(Change::Person(p)) if deleted.remove(&p.number.get()) => {
                        let added = s.actions.iter().any(|b| matches!(b, Action::Log(r) if matches!(r.entry, LogEntry::UserAdded { person, role, .. } if person == p.number && role == p.role)));
                        prop_assert!(added, "deleted {} stored again by {:?}: {:?}", p.number, s.event, s.actions);
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
    }
}

proptest! {
    #![proptest_config(config(160))]

    /// R-APP-3 / R-USR-6 / R-PIN-7: what an administrator set from the app (a
    /// validity period, a duress code) stays as set until the app changes it
    /// again or the person is deleted; the keypad menu never undoes it.
    #[test]
    fn r_app_3_app_changes_to_a_person_stick((start, ops) in sequence(80)) {
        // Per person: the validity and duress digits the app last set.
        let mut validity: BTreeMap<u8, Validity> = BTreeMap::new();
        let mut duress: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            for a in s.actions {
                match a {
                    Action::Persist(Change::PersonDeleted(n)) => {
                        validity.remove(&n.get());
                        duress.remove(&n.get());
                    }
                    Action::Persist(Change::FactoryReset) => {
                        validity.clear();
                        duress.clear();
                    }
                    _ => {}
                }
            }
            if let Event::App(AppRequest { command, .. }) = s.event {
                let done = s.actions.iter().any(|a| matches!(a, Action::Reply(Reply::Done)));
                match command {
                    AppCommand::SetValidity { person, validity: v } if done => {
                        validity.insert(person.get(), v);
                    }
                    AppCommand::SetDuressPasscode { person, code } if done => {
                        duress.insert(person.get(), code.digits().to_vec());
                    }
                    _ => {}
                }
            }
            for p in s.lock.people().iter() {
                if let Some(v) = validity.get(&p.number.get()) {
                    prop_assert_eq!(&p.validity, v, "{}'s validity after {:?}", p.number, s.event);
                }
                if let Some(d) = duress.get(&p.number.get()) {
                    let now = p.duress.map(|c| c.digits().to_vec());
                    prop_assert_eq!(now.as_ref(), Some(d), "{}'s duress code after {:?}", p.number, s.event);
                }
            }
            Ok(())
        })?;
    }
}

// ----- R-PIN-4 at the lock ----------------------------------------------------------

/// Up to four codes that pass R-PIN-1/2/5 among themselves.
fn stored_codes() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(0u8..=9, 6..=10), 1..=4).prop_map(|candidates| {
        let mut kept: Vec<Passcode> = Vec::new();
        for c in candidates {
            let code = Passcode::new(&c).unwrap();
            if code.check_strength().is_ok() && !kept.iter().any(|k| k.overlaps(&code)) {
                kept.push(code);
            }
        }
        kept.iter().map(|c| c.digits().to_vec()).collect()
    })
}

#[derive(Debug, Clone)]
enum Press {
    Digits(Vec<u8>),
    /// A stored code's digits, by index.
    Code(usize),
    Ok,
    Back,
}

fn presses() -> impl Strategy<Value = Vec<Press>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::collection::vec(prop_oneof![10 => 0u8..=9, 1 => 10u8..=12], 1..=8).prop_map(Press::Digits),
            3 => any::<usize>().prop_map(Press::Code),
            4 => Just(Press::Ok),
            1 => Just(Press::Back),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// R-PIN-4 at the lock: ✓ unlocks exactly when a stored passcode (normal or
    /// duress) is a contiguous run of the first 16 digits typed since the last
    /// ✓ that acted or ↩; ✓ with fewer than six digits does nothing and the
    /// digits stay. Lockout protection is off so failures never lock.
    #[test]
    fn r_pin_4_entry_accepted_iff_contains_stored_code(
        codes in stored_codes(),
        duress_last in any::<bool>(),
        presses in presses(),
        gaps in prop::collection::vec(0u64..5_000, 64),
    ) {
        let cfg = Config::default();
        let mut snapshot = Snapshot {
            settings: Settings {
                door_direction: Some(DoorDirection::Right),
                lockout_protection: false,
                ..Settings::default()
            },
            ..Snapshot::default()
        };
        let mut owner: Vec<u8> = Vec::new();
        for (i, c) in codes.iter().enumerate() {
            let n = u8::try_from(i + 1).unwrap();
            let mut p = Person::new(number(n), if n == 1 { Role::Administrator } else { Role::User });
            let code = Passcode::new(c).unwrap();
            if duress_last && i + 1 == codes.len() && i > 0 {
                p.duress = Some(code);
            } else {
                p.passcode = Some(code);
            }
            snapshot.people.push(p).unwrap();
            owner.push(n);
        }
        let mut now = Instant::from_secs(1);
        let mut lock = Lock::restore(cfg, &snapshot, now).unwrap();
        lock.handle(now, Event::Boot { set_held: false });
        lock.handle(now, Event::Touch);

        let mut keys: Vec<Key> = Vec::new();
        for p in &presses {
            match p {
                Press::Digits(ds) => keys.extend(ds.iter().map(|&d| Key::Digit(d))),
                Press::Code(i) => keys.extend(codes[i % codes.len()].iter().map(|&d| Key::Digit(d))),
                Press::Ok => keys.push(Key::Ok),
                Press::Back => keys.push(Key::Back),
            }
        }
        // The model: the entry as R-PIN-4 describes it.
        let mut entry: Vec<u8> = Vec::new();
        for (i, key) in keys.into_iter().enumerate() {
            now = now + Duration::from_millis(gaps[i % gaps.len()]);
            let actions = lock.handle(now, Event::Key(key));
            match key {
                Key::Digit(d) => {
                    if d <= 9 && entry.len() < 16 {
                        entry.push(d);
                    }
                    prop_assert!(!unlocks(&actions));
                }
                Key::Back => {
                    entry.clear();
                    prop_assert!(!unlocks(&actions));
                }
                Key::Ok if entry.len() < 6 => {
                    prop_assert!(
                        actions.iter().all(|a| !matches!(a, Action::Log(_) | Action::Persist(_) | Action::DriveBolt { .. })),
                        "✓ after {} digits acted: {:?}", entry.len(), actions
                    );
                }
                Key::Ok => {
                    let hits: Vec<u8> = codes
                        .iter()
                        .zip(&owner)
                        .filter(|(c, _)| entry.windows(c.len()).any(|w| w == c.as_slice()))
                        .map(|(_, &n)| n)
                        .collect();
                    prop_assert_eq!(unlocks(&actions), !hits.is_empty(), "entry {:?}, codes {:?}", entry, codes);
                    let who = actions.iter().find_map(|a| match a {
                        Action::Log(r) => match r.entry {
                            LogEntry::Unlock { person, .. } => person,
                            _ => None,
                        },
                        _ => None,
                    });
                    if let Some(who) = who {
                        prop_assert!(hits.contains(&who.get()), "opened as {} for {:?}", who, entry);
                    }
                    entry.clear();
                }
                _ => unreachable!(),
            }
            // The bolt gets there at once, so the travel timer never interferes.
            if unlocks(&actions) {
                lock.handle(now, Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
            }
        }
    }
}

// ----- the generator reaches what it should --------------------------------------------

/// The sequences above are only as good as the states they reach: run a
/// batch of them and count.
#[test]
fn sequences_reach_interesting_states() {
    let mut runner = TestRunner::deterministic();
    let strategy = sequence(80);
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for _ in 0..120 {
        let (start, ops) = strategy.new_tree(&mut runner).unwrap().current();
        let mut count = |name: &'static str| *seen.entry(name).or_default() += 1;
        run_sequence(start, &ops, &mut |s: &Step<'_>| {
            for a in s.actions {
                match a {
                    Action::Log(r) => match r.entry {
                        LogEntry::Unlock { method, .. } => count(match method {
                            lock_core::Method::Passcode => "unlock by passcode",
                            lock_core::Method::Face
                            | lock_core::Method::Palm
                            | lock_core::Method::Finger => "unlock by biometric",
                            lock_core::Method::MechanicalKey => "mechanical key",
                            _ => "unlock by app",
                        }),
                        LogEntry::UnlockFailed { .. } => count("failure"),
                        LogEntry::Lockout { .. } => count("lockout"),
                        LogEntry::UserAdded { .. } => count("person added"),
                        LogEntry::CredentialAdded { .. } => count("credential added"),
                        LogEntry::UserDeleted { .. } => count("person deleted"),
                        LogEntry::FactoryReset => count("factory reset"),
                        _ => {}
                    },
                    Action::Reply(Reply::Refused(_)) => count("app refused"),
                    Action::Reply(_) => count("app done"),
                    _ => {}
                }
            }
            if s.lockout_before.is_some() {
                count("event during lockout");
            }
            if !s.menu_before && s.lock.in_menu() {
                count("menu opened");
            }
            if matches!(s.event, Event::Boot { .. }) {
                count("boot");
            }
            if s.lock.people().len() >= 99 {
                count("near capacity");
            }
            Ok(())
        })
        .unwrap();
    }
    for what in [
        "unlock by passcode",
        "unlock by biometric",
        "unlock by app",
        "failure",
        "lockout",
        "person added",
        "credential added",
        "person deleted",
        "factory reset",
        "app refused",
        "app done",
        "event during lockout",
        "menu opened",
        "boot",
        "near capacity",
    ] {
        assert!(
            seen.get(what).copied().unwrap_or(0) > 0,
            "never reached: {what}; {seen:?}"
        );
    }
    eprintln!("{seen:#?}");
}

/// The set-up prefix does what [`Start::SetUp`] says.
#[test]
fn set_up_prefix_stores_four_people() {
    let lock = run_sequence(Start::SetUp, &[], &mut |_: &Step<'_>| Ok(())).unwrap();
    let people: Vec<(u8, Role, bool, usize)> = lock
        .people()
        .iter()
        .map(|p| {
            (
                p.number.get(),
                p.role,
                p.passcode.is_some(),
                p.all_templates().count(),
            )
        })
        .collect();
    assert_eq!(
        people,
        vec![
            (1, Role::Administrator, true, 0),
            (2, Role::User, true, 0),
            (3, Role::User, false, 1),
            (4, Role::Administrator, false, 1),
        ]
    );
    assert!(!lock.in_menu());
}

// ----- the cases the properties found, kept as plain tests ---------------------------------

/// A lock set up with administrator 001 (`POOL[0]`) and user 002 (`POOL[1]`),
/// booted at `t = 1 s`.
fn small_lock() -> (Lock, Instant) {
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    let mut admin = Person::new(number(1), Role::Administrator);
    admin.passcode = Some(pool_passcode(0));
    let mut user = Person::new(number(2), Role::User);
    user.passcode = Some(pool_passcode(1));
    snapshot.people.push(admin).unwrap();
    snapshot.people.push(user).unwrap();
    let now = Instant::from_secs(1);
    let mut lock = Lock::restore(Config::default(), &snapshot, now).unwrap();
    lock.handle(now, Event::Boot { set_held: false });
    (lock, now)
}

/// Presses `keys` one a second from `now`, returning every action.
fn press(lock: &mut Lock, now: &mut Instant, keys: &[Key]) -> Vec<Action> {
    let mut all = Vec::new();
    for &k in keys {
        *now = *now + Duration::from_secs(1);
        all.extend(lock.handle(*now, Event::Key(k)));
    }
    all
}

fn code_keys(i: usize) -> Vec<Key> {
    let mut keys: Vec<Key> = pool_digits(i).into_iter().map(Key::Digit).collect();
    keys.push(Key::Ok);
    keys
}

/// Found by `r_mnu_1_dark_keypad_holds_no_menu`: SET, an administrator's code
/// (menu open), long SET (pairing), the app pairs. The keypad went dark but
/// the menu stayed open, with no timer left to close it: the next person to
/// touch the keypad could add an administrator.
#[test]
fn r_mnu_1_pairing_end_closes_the_menu() {
    for end in [
        Event::AppChanged(AppChange::Paired { pairing: 1 }),
        Event::Tick,
    ] {
        let (mut lock, mut now) = small_lock();
        now = now + Duration::from_secs(1);
        lock.handle(now, Event::Set);
        press(&mut lock, &mut now, &code_keys(0));
        assert!(lock.in_menu());
        lock.handle(now, Event::SetHeld);
        if let Event::Tick = end {
            now = now + lock_core::PAIRING_WINDOW;
        }
        lock.handle(now, end);
        assert_eq!(lock.keypad(), None, "{end:?}");
        assert!(
            !lock.in_menu(),
            "{end:?}: the menu outlived the dark keypad"
        );
        // Hours later, someone at the door.
        now = now + Duration::from_hours(3);
        lock.handle(now, Event::Touch);
        let actions = press(&mut lock, &mut now, &[Key::Digit(1)]);
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::Prompt(lock_core::Prompt::PersonNumber(_)))),
            "{end:?}: add-administrator offered without verification: {actions:?}"
        );
    }
}

fn admin_app(command: AppCommand) -> Event {
    Event::App(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Remote,
        command,
    })
}

/// Opens the menu as 001 and starts adding user 003 with a fingerprint, which
/// stores them (R-MNU-4); the menu stays at 003's credential choice.
fn menu_adding_user_with_finger() -> (Lock, Instant) {
    let (mut lock, mut now) = small_lock();
    lock.handle(now, Event::Set);
    press(&mut lock, &mut now, &code_keys(0));
    press(&mut lock, &mut now, &[Key::Digit(2), Key::Digit(3)]);
    let enrolled = lock.handle(
        now,
        Event::Biometric(BiometricEvent::Enrolled {
            kind: BiometricKind::Finger,
            template: TemplateId(0),
        }),
    );
    assert!(
        enrolled
            .iter()
            .any(|a| matches!(a, Action::Persist(Change::Person(p)) if p.number == number(3))),
        "{enrolled:?}"
    );
    assert!(lock.in_menu());
    (lock, now)
}

/// Found by `r_app_3_app_changes_to_a_person_stick`: the app sets a validity
/// period (or a duress code) for a person while the keypad menu is adding
/// credentials to them; the next credential stored the menu's stale copy of
/// the person and the period (or code) was gone.
#[test]
fn r_app_3_app_change_during_keypad_session_sticks() {
    let window = Validity {
        from: Some(Timestamp(WALL)),
        until: Some(Timestamp(WALL + 3_600)),
    };
    let (mut lock, mut now) = menu_adding_user_with_finger();
    let reply = lock.handle(
        now,
        admin_app(AppCommand::SetValidity {
            person: number(3),
            validity: window,
        }),
    );
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    let reply = lock.handle(
        now,
        admin_app(AppCommand::SetDuressPasscode {
            person: number(3),
            code: pool_passcode(2),
        }),
    );
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    // The administrator adds a passcode at the keypad.
    let mut keys = vec![Key::Digit(4)];
    keys.extend(code_keys(3));
    keys.extend(code_keys(3));
    press(&mut lock, &mut now, &keys);
    let p = lock.people().get(number(3)).unwrap();
    assert!(p.passcode.is_some(), "the passcode was added");
    assert_eq!(p.validity, window, "the app's validity period was undone");
    assert!(
        same_passcode(p.duress, Some(pool_passcode(2))),
        "the app's duress code was undone"
    );
}

/// Found by `r_usr_5_deleted_person_returns_only_as_new`: the app deletes a
/// person while the keypad menu is adding credentials to them; the next
/// credential brought them back with their old ones.
#[test]
fn r_usr_5_app_deletion_during_keypad_session_sticks() {
    let (mut lock, mut now) = menu_adding_user_with_finger();
    let reply = lock.handle(now, admin_app(AppCommand::DeletePerson(number(3))));
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    // The administrator, unaware, adds another fingerprint.
    press(&mut lock, &mut now, &[Key::Digit(3)]);
    let actions = lock.handle(
        now,
        Event::Biometric(BiometricEvent::Enrolled {
            kind: BiometricKind::Finger,
            template: TemplateId(1),
        }),
    );
    assert!(
        lock.people().get(number(3)).is_none(),
        "deleted 003 is back: {actions:?}"
    );
    assert!(
        actions.iter().any(|a| matches!(
            a,
            Action::Module(ModuleCommand::Delete {
                kind: BiometricKind::Finger,
                template: TemplateId(1)
            })
        )),
        "the new template must not stay in the module: {actions:?}"
    );
    // The old fingerprint does not open.
    lock.handle(now, Event::Key(Key::Back));
    lock.handle(now, Event::Key(Key::Back));
    let actions = lock.handle(
        now,
        Event::Biometric(BiometricEvent::Identified {
            kind: BiometricKind::Finger,
            template: TemplateId(0),
        }),
    );
    assert!(!unlocks(&actions), "{actions:?}");
}

/// R-PIN-5 race: a new passcode passes the overlap check at its first entry;
/// before the second, the app gives someone a duress code inside it. The
/// confirmed code must be checked again, or the store holds two overlapping
/// codes and the next restore fails (the lock would start fail-secure).
#[test]
fn r_pin_5_overlap_checked_again_at_confirmation() {
    let (mut lock, mut now) = small_lock();
    lock.handle(now, Event::Set);
    press(&mut lock, &mut now, &code_keys(0));
    press(&mut lock, &mut now, &[Key::Digit(2), Key::Digit(4)]);
    press(&mut lock, &mut now, &code_keys(5)); // "52917468", first entry
    let reply = lock.handle(
        now,
        admin_app(AppCommand::SetDuressPasscode {
            person: number(2),
            code: pool_passcode(8), // "291746", inside it
        }),
    );
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    press(&mut lock, &mut now, &code_keys(5)); // second entry
    let restored = Lock::restore(Config::default(), &lock.snapshot(), now);
    assert!(restored.is_ok(), "{:?}", restored.err());
}

/// `ACTIONS_CAPACITY` is sized for deleting a person with a full set of
/// templates (15 actions), but every timer that ran out since the last event
/// runs first in the same batch: the keypad (cancelling an enrollment), the
/// lockout, the tamper siren, the pairing window, the bolt's travel limit and
/// the countdown lock. All of them at once, then the app deletes a person with
/// 3 faces, 2 palms and 5 fingers.
#[test]
fn actions_fit_when_every_timer_runs_out_before_a_full_deletion() {
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            auto_lock: true,
            auto_lock_secs: 60,
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    let mut admin = Person::new(number(1), Role::Administrator);
    admin.passcode = Some(pool_passcode(0));
    let mut full = Person::new(number(2), Role::User);
    for (kind, n) in [
        (BiometricKind::Face, FACES_PER_PERSON),
        (BiometricKind::Palm, PALMS_PER_PERSON),
        (BiometricKind::Finger, FINGERS_PER_PERSON),
    ] {
        for id in 0..n {
            assert!(full.add_template(kind, TemplateId(u16::try_from(id).unwrap())));
        }
    }
    snapshot.people.push(admin).unwrap();
    snapshot.people.push(full).unwrap();
    let mut now = Instant::from_secs(1);
    let mut lock = Lock::restore(Config::default(), &snapshot, now).unwrap();
    let step = |lock: &mut Lock, now: &mut Instant, e: Event| {
        *now = *now + Duration::from_millis(100);
        let actions = lock.handle(*now, e);
        assert_eq!(actions.dropped(), 0, "{e:?}");
    };
    step(&mut lock, &mut now, Event::Boot { set_held: false });
    // Bolt driving (travel limit) and the countdown armed.
    step(
        &mut lock,
        &mut now,
        Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Visitor,
            link: Link::Bluetooth,
            command: AppCommand::Unlock,
        }),
    );
    step(&mut lock, &mut now, Event::Tamper);
    // The menu, enrolling a face for a new user.
    step(&mut lock, &mut now, Event::Set);
    for k in code_keys(0) {
        step(&mut lock, &mut now, Event::Key(k));
    }
    step(&mut lock, &mut now, Event::Key(Key::Digit(2)));
    step(&mut lock, &mut now, Event::Key(Key::Digit(1)));
    // Pairing, and a lockout from five unknown fingers.
    step(&mut lock, &mut now, Event::SetHeld);
    for _ in 0..5 {
        step(
            &mut lock,
            &mut now,
            Event::Biometric(BiometricEvent::NoMatch {
                kind: BiometricKind::Finger,
            }),
        );
    }
    assert!(lock.lockout(now).is_some());
    // An hour without events (no ticks came), then the app deletes 002.
    now = now + Duration::from_hours(1);
    let actions = lock.handle(now, admin_app(AppCommand::DeletePerson(number(2))));
    let deletes = actions
        .iter()
        .filter(|a| matches!(a, Action::Module(ModuleCommand::Delete { .. })))
        .count();
    assert_eq!(
        actions.dropped(),
        0,
        "{} actions fit, {} dropped, {deletes} of 10 template deletions kept: {actions:#?}",
        actions.len(),
        actions.dropped()
    );
}
