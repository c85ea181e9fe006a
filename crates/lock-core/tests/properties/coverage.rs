//! The generator reaches what it should: the sequences of [`sequence`] reach
//! the states that matter, and the set-up prefix stores the people
//! [`Start::SetUp`] promises.

use std::collections::BTreeMap;

use lock_core::{Action, Event, LogEntry, Reply, Role};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::run::*;
use crate::scripts::*;

// ----- the generator reaches what it should --------------------------------------------

/// The sequences of [`sequence`] are only as good as the states they reach: run a
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
