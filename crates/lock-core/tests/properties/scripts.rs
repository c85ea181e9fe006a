//! Whole sequences: the time between inputs, the scripted chunks that reach
//! the states that matter (a stored passcode with extra digits around it, an
//! administrator's credential after SET, adding and deleting people at the
//! menu, bursts of wrong entries, pairing, factory resets, timers piling up),
//! how a sequence starts ([`Start`]) and [`sequence`] itself.

use lock_core::{
    AppChange, AppCommand, AppRequest, BiometricEvent, BiometricKind, Event, Key, Link, Privilege,
    Setting,
};
use proptest::prelude::*;

use crate::inputs::*;

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
pub(crate) enum Start {
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

pub(crate) fn sequence(max_chunks: usize) -> impl Strategy<Value = (Start, Vec<Op>)> {
    (
        start(),
        prop::collection::vec(chunk(), 1..max_chunks).prop_map(|c| c.concat()),
    )
}
