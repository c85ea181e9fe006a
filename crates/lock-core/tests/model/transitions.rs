//! The transitions a person and the app make, chosen from where the dialogue
//! is, and how each one moves the [`Model`]: the `proptest-state-machine`
//! reference state machine.

use lock_core::Key;
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

use crate::reference::*;

#[derive(Debug, Clone)]
pub(crate) enum Transition {
    /// Digit keys, one after another.
    Digits(Vec<u8>),
    /// Digit keys, then ✓: a code typed in full.
    Entry(Vec<u8>),
    Key(Key),
    Touch,
    Set,
    /// Time passes; the runtime ticks at every deadline on the way.
    Wait(u64),
    PowerCycle,
    /// An administrator's app lifts the lockout (R-LKO-3).
    AppLiftLockout,
    /// An administrator's app deletes a person (R-USR-4).
    AppDelete(u8),
}

pub(crate) struct Reference;

fn code_with_extras(code: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(0u8..=9, 0..=4),
        prop::collection::vec(0u8..=9, 0..=4),
    )
        .prop_map(move |(before, after)| {
            let mut d = before;
            d.extend(&code);
            d.extend(after);
            d
        })
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::initial()).boxed()
    }

    /// What a person does next depends on where the dialogue is, as it
    /// would: at the menu they choose, at a passcode prompt they type one.
    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        let stored: Vec<Vec<u8>> = state.codes().cloned().collect();
        let stored_code = prop::sample::select(stored).prop_flat_map(code_with_extras);
        let pool_code = || prop::sample::select(POOL.to_vec()).prop_map(digits);
        let wrong = prop::collection::vec(0u8..=9, 1..=10);
        let key = |d: u8| Just(Transition::Key(Key::Digit(d)));
        let common = prop_oneof![
            4 => Just(Transition::Key(Key::Ok)),
            2 => Just(Transition::Key(Key::Back)),
            1 => Just(Transition::Touch),
            2 => Just(Transition::Set),
            3 => prop_oneof![
                0u64..3_000,
                15_000u64..30_000,
                60_000u64..400_000,
                3_600_000u64..30 * 3_600_000,
            ]
            .prop_map(Transition::Wait),
            1 => Just(Transition::PowerCycle),
            1 => Just(Transition::AppLiftLockout),
            1 => (1u8..=6).prop_map(Transition::AppDelete),
            1 => (1u8..=5).prop_map(|d| Transition::Key(Key::Digit(d))),
        ];
        // Once someone is guessing, they tend to go on (R-LKO-5 needs ten
        // failures without a success), waiting out each lockout.
        let guessing = state.since_success >= 2;
        let owner_weight = if guessing { 1 } else { 5 };
        if state.locked_out() && guessing {
            return prop_oneof![
                3 => (60_000u64..400_000).prop_map(Transition::Wait),
                1 => wrong.prop_map(Transition::Entry),
                1 => Just(Transition::AppLiftLockout),
                1 => Just(Transition::PowerCycle),
            ]
            .boxed();
        }
        let here: BoxedStrategy<Transition> = match &state.mode {
            Mode::Idle | Mode::Verify => prop_oneof![
                owner_weight => stored_code.prop_map(Transition::Entry),
                6 => wrong.clone().prop_map(Transition::Entry),
                1 => pool_code().prop_map(Transition::Entry),
                2 => wrong.prop_map(Transition::Digits),
            ]
            .boxed(),
            Mode::Menu { screen, .. } => match screen {
                Screen::Top => {
                    prop_oneof![4 => key(1), 4 => key(2), 3 => key(3), 1 => key(4), 1 => key(5)]
                        .boxed()
                }
                Screen::Credential(_) => prop_oneof![6 => key(4), 1 => key(3)].boxed(),
                Screen::NewPasscode(_, None) => pool_code().prop_map(Transition::Entry).boxed(),
                Screen::NewPasscode(_, Some(first)) => prop_oneof![
                    6 => Just(Transition::Entry(first.clone())),
                    1 => pool_code().prop_map(Transition::Entry),
                ]
                .boxed(),
                Screen::Delete => (0u8..=7)
                    .prop_map(|n| Transition::Entry(vec![0, 0, n]))
                    .boxed(),
                Screen::Enrolling(_) | Screen::Settings => prop_oneof![
                    1 => (1u8..=3).prop_map(|d| Transition::Key(Key::Digit(d))),
                    1 => Just(Transition::Key(Key::Back)),
                ]
                .boxed(),
            },
        };
        prop_oneof![3 => here, 2 => common].boxed()
    }

    fn preconditions(state: &Model, transition: &Transition) -> bool {
        !Self::apply(state.clone(), transition).ambiguous
    }

    fn apply(mut state: Model, transition: &Transition) -> Model {
        state.outcome = Outcome::default();
        match transition {
            Transition::Digits(ds) => {
                for &d in ds {
                    state.key(Key::Digit(d));
                }
            }
            Transition::Entry(ds) => {
                for &d in ds {
                    state.key(Key::Digit(d));
                }
                state.key(Key::Ok);
            }
            Transition::Key(k) => state.key(*k),
            Transition::Touch => {
                state.now += KEY_GAP_MS;
                state.expire();
                state.wake();
            }
            Transition::Set => {
                state.now += KEY_GAP_MS;
                state.expire();
                if state.mode == Mode::Idle && !state.people.is_empty() {
                    state.mode = Mode::Verify;
                    state.entry.clear();
                    state.wake();
                }
            }
            Transition::Wait(ms) => {
                let target = state.now + ms;
                loop {
                    let next = [state.awake_until, state.lockout.map(|l| l.0)]
                        .into_iter()
                        .flatten()
                        .filter(|&t| t <= target)
                        .min();
                    let Some(t) = next else { break };
                    state.now = state.now.max(t);
                    state.expire();
                }
                state.now = target;
            }
            Transition::PowerCycle => state.power_cycle(),
            Transition::AppLiftLockout => {
                state.now += KEY_GAP_MS;
                state.expire();
                state.recent.clear();
                state.since_success = 0;
                state.lockout = None;
                state.persist_attempts();
            }
            Transition::AppDelete(n) => {
                state.now += KEY_GAP_MS;
                state.expire();
                if state.may_delete(*n) {
                    state.delete(*n);
                }
            }
        }
        state
    }
}
