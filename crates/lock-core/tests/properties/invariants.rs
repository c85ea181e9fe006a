//! The invariants that hold after every event of an arbitrary sequence:
//! `handle` never panics nor drops an action, capacities hold, persistence
//! comes before anything observable, the snapshot replays, failures survive a
//! power cycle, no unlock during a lockout (R-LKO-1), a dark keypad holds no
//! menu (R-MNU-1), who opens holds the credential (R-UNL-2), a deleted person
//! never opens and returns only as new (R-USR-5), and what the app set for a
//! person sticks (R-APP-3).
//!
//! These properties share the sequence strategy, so they share their
//! persisted failure seeds: `invariants.proptest-regressions`, beside this
//! file, is replayed by each of them before any new case.

use std::collections::{BTreeMap, BTreeSet};

use lock_core::internals::{
    FACE_CAPACITY, FACES_PER_PERSON, FINGER_CAPACITY, FINGERS_PER_PERSON, PALM_CAPACITY,
    PALMS_PER_PERSON, PASSCODE_CAPACITY,
};
use lock_core::{
    Action, AppCommand, AppRequest, BiometricEvent, BiometricKind, Change, Event, Key, Lock,
    LogEntry, PEOPLE_CAPACITY, Reply, Role, TemplateId, Validity,
};
use proptest::prelude::*;

use crate::checks::*;
use crate::run::*;
use crate::scripts::*;

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
