//! Model-based test (`proptest-state-machine`) of the keypad menu, the
//! lockout and the people store against a small reference model.
//!
//! The reference model is written from SPEC.md, not from `lock.rs`: a
//! keypad that is awake or dark (R-MNU-1), one entry of at most 16 digits
//! (R-PIN-4), the modes idle / administrator check / menu with its screens
//! (R-MNU-3, R-MNU-4 passcode credentials, R-MNU-5 deletion, settings),
//! people as number → role and passcode (R-USR-2 lowest free number,
//! R-USR-4 deletion refusals, R-PIN-1/2/3/5 for new codes), and the failure
//! counts with their two bounds (R-LKO-1 five in five minutes → three
//! minutes, R-LKO-2 success resets and old failures expire, R-LKO-3 lifted
//! from the app, R-LKO-5 ten, then every five more → six minutes doubling to
//! a day), kept across power cuts as the persisted record says (R-LKO-4,
//! as lock-core's DECISIONS.md has it: recent failures count from
//! boot, an active lockout starts again in full).
//!
//! Transitions are what a person and the app do: digits (stored codes with
//! extra digits around them, new codes, wrong ones, person numbers), single
//! keys, touch, SET, time passing (with the runtime's ticks at every
//! deadline), a power cut, and an administrator's app lifting the lockout or
//! deleting someone. After every transition the lock must agree with the
//! model on: who opened (R-UNL-2's log) and whether a lockout began, the
//! failures logged, the lockout and its end, the failure count and what of
//! it reached flash, whether the menu is open and the keypad lit, and every
//! person with their role and passcode.
//!
//! The modules, in `model/`: `reference` (the model), `transitions` (what
//! a person and the app do, and how the model follows) and `bench` (the lock
//! under test and the comparison after every transition). The two tests are
//! here. A test crate's root looks for modules beside itself, hence the
//! `#[path]`s.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: here a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use lock_core::LockoutCause;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use proptest_state_machine::{ReferenceStateMachine, prop_state_machine};

#[path = "model/bench.rs"]
mod bench;
#[path = "model/reference.rs"]
mod reference;
#[path = "model/transitions.rs"]
mod transitions;

use bench::*;
use reference::*;
use transitions::*;

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        max_shrink_iters: 4096,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// R-MNU-1, R-MNU-3, R-MNU-4, R-MNU-5, R-USR-2, R-USR-4, R-PIN-1…5,
    /// R-LKO-1…5, R-UNL-2: the lock matches the reference model after every
    /// transition of up to 80.
    #[test]
    fn r_lko_1_5_r_mnu_1_5_r_usr_2_4_lock_matches_a_reference_model_of_menu_lockout_and_people(
        sequential 1..80 => LockMatchesModel
    );
}

/// The transitions reach the states the model is about: a menu, a person
/// added and deleted, every kind of lockout, a power cut during one.
#[test]
fn r_lko_5_r_mnu_4_model_transitions_reach_menus_people_and_both_lockouts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = Reference::sequential_strategy(60..80);
    let mut seen = BTreeMap::<&str, usize>::new();
    for _ in 0..150 {
        let (mut state, transitions, _) = strategy.new_tree(&mut runner).unwrap().current();
        for t in &transitions {
            let before = state.clone();
            state = Reference::apply(state, t);
            let mut count = |what| *seen.entry(what).or_default() += 1;
            if matches!(state.mode, Mode::Menu { .. }) && !matches!(before.mode, Mode::Menu { .. })
            {
                count("menu opened");
            }
            if state.people.len() > before.people.len() {
                count("person added");
            }
            if state.people.len() < before.people.len() {
                count("person deleted");
            }
            if !state.outcome.unlocked_by.is_empty() {
                count("unlock");
            }
            for cause in &state.outcome.lockouts {
                count(match cause {
                    LockoutCause::Burst => "burst lockout",
                    LockoutCause::SlowGuessing => "slow-guessing lockout",
                });
            }
            if matches!(t, Transition::PowerCycle) && before.locked_out() {
                count("power cut during a lockout");
            }
            if matches!(t, Transition::AppLiftLockout) && before.locked_out() {
                count("lockout lifted");
            }
        }
    }
    for what in [
        "menu opened",
        "person added",
        "person deleted",
        "unlock",
        "burst lockout",
        "slow-guessing lockout",
        "power cut during a lockout",
        "lockout lifted",
    ] {
        assert!(
            seen.get(what).is_some_and(|&n| n > 0),
            "never reached: {what}; {seen:?}"
        );
    }
    eprintln!("{seen:#?}");
}
