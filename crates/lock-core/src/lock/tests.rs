//! Unit tests that need the state machine's insides: the fault-injection hook
//! of S-HW-1.

use super::verify::{Evidence, GRANTED, Grant, REFUSED};
use super::*;
use crate::action::Change;
use crate::event::{BiometricEvent, BoltPosition, Key};
use crate::passcode::{Entry, PasscodeMatch};
use crate::person::BiometricKind;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn keys(lock: &mut Lock, t: &mut u64, keys: &str) -> Actions {
    let mut last = Actions::new();
    for c in keys.chars() {
        *t += 300;
        let key = match c {
            '0'..='9' => Key::Digit(c as u8 - b'0'),
            'k' => Key::Ok,
            'b' => Key::Back,
            _ => continue,
        };
        last = lock.handle(at(*t), Event::Key(key));
    }
    last
}

/// A lock with administrator 001 (passcode 135790) and user 002 (passcode
/// 246813), the menu left.
fn set_up() -> (Lock, u64) {
    let mut lock = Lock::new(Config::default());
    let mut t = 0;
    lock.handle(at(t), Event::Boot { set_held: false });
    keys(
        &mut lock,
        &mut t,
        "k1 k 135790k 135790k 24 246813k 246813k b b",
    );
    assert_eq!(lock.people().len(), 2);
    assert!(!lock.in_menu());
    (lock, t)
}

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

#[test]
fn s_hw_1_forced_first_check_does_not_unlock_a_wrong_passcode() {
    let (mut lock, mut t) = set_up();
    lock.handle(at(t), Event::Touch);
    lock.inject_first_check(PersonNumber::FIRST, Method::Passcode);
    let out = keys(&mut lock, &mut t, "999999k");
    assert!(!unlocks(&out), "the second check refused: {out:?}");
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::Persist(Change::Attempts(r)) if r.since_success == 1)),
        "a refused second check counts as a failure"
    );
    // The same entry without the glitch: refused too, and the right code opens.
    let out = keys(&mut lock, &mut t, "135790k");
    assert!(unlocks(&out));
}

#[test]
fn s_hw_1_forced_first_check_does_not_unlock_an_unknown_finger() {
    let (mut lock, t) = set_up();
    lock.inject_first_check(PersonNumber::FIRST, Method::Finger);
    let out = lock.handle(
        at(t + 100),
        Event::Biometric(BiometricEvent::NoMatch {
            kind: BiometricKind::Finger,
        }),
    );
    assert!(!unlocks(&out), "{out:?}");
    assert_eq!(lock.failures_since_success(), 1);
}

#[test]
fn s_hw_1_second_check_rejects_evidence_of_another_person() {
    let (lock, t) = set_up();
    let entry = Entry::from_digits(&[2, 4, 6, 8, 1, 3]);
    let m = lock.stored.passcodes.find(&entry).unwrap();
    assert_eq!(m.owner.get(), 2);
    let honest = Grant {
        person: m.owner,
        method: Method::Passcode,
        evidence: Evidence::Passcode(m),
        duress: false,
    };
    assert_eq!(lock.confirm(at(t), &honest, Some(&entry)), GRANTED);
    // A glitch that swaps the person, or the slot, is caught.
    let swapped = Grant {
        person: PersonNumber::FIRST,
        ..honest
    };
    assert_eq!(lock.confirm(at(t), &swapped, Some(&entry)), REFUSED);
    let other_slot = Grant {
        evidence: Evidence::Passcode(PasscodeMatch { slot: 0, ..m }),
        ..honest
    };
    assert_eq!(lock.confirm(at(t), &other_slot, Some(&entry)), REFUSED);
}

#[test]
fn s_st_6_the_keypad_entry_is_wiped_after_a_verification() {
    let (mut lock, mut t) = set_up();
    for (typed, opens) in [("246813", true), ("97531864", false)] {
        lock.handle(at(t), Event::Touch);
        keys(&mut lock, &mut t, typed);
        assert_eq!(
            lock.keypad.entry.len(),
            typed.len(),
            "typed, not yet checked"
        );
        let out = keys(&mut lock, &mut t, "k");
        assert_eq!(unlocks(&out), opens);
        assert_eq!(
            lock.keypad.entry.buffer(),
            (&[0; crate::passcode::ENTRY_MAX_DIGITS], 0),
            "every digit of {typed} overwritten"
        );
        t += 60_000;
    }
}

#[test]
fn s_st_6_an_entry_wipes_itself_when_dropped_and_when_cleared() {
    use zeroize::{Zeroize, ZeroizeOnDrop};
    fn wiped_on_drop<T: ZeroizeOnDrop>() {}
    wiped_on_drop::<Entry>();
    let mut entry = Entry::from_digits(&[9, 8, 7, 6, 5, 4, 3, 2, 1]);
    // Drop calls exactly this (`impl Drop for Entry`); reading freed memory
    // would need unsafe code, which the workspace forbids.
    entry.zeroize();
    assert_eq!(entry.buffer(), (&[0; crate::passcode::ENTRY_MAX_DIGITS], 0));
    let mut entry = Entry::from_digits(&[9, 8, 7, 6, 5, 4]);
    entry.clear();
    assert_eq!(entry.buffer(), (&[0; crate::passcode::ENTRY_MAX_DIGITS], 0));
}

/// S-ST-3: restoring in place gives the lock `Lock::restore` builds, from
/// whatever the lock held before; a snapshot it refuses leaves it as
/// `Lock::fail_secure` makes one.
#[test]
fn s_st_3_restoring_in_place_equals_restoring_anew() {
    let (source, mut t) = set_up();
    let mut snapshot = source.snapshot();
    snapshot.armed.leaving_home = true;
    snapshot.armed.duress = true;
    snapshot.attempts.since_success = 7;
    let now = at(5_000);
    let anew = Lock::restore(Config::default(), &snapshot, now).unwrap();

    // A lock in the middle of something: awake, in the menu, an alarm on.
    let (mut lock, _) = set_up();
    keys(&mut lock, &mut t, "135790k");
    lock.handle(at(t), Event::Tamper);
    lock.handle(at(t), Event::Battery(3));
    lock.restore_in_place(Config::default(), NoVisitorCodes, &snapshot, now)
        .unwrap();
    assert_eq!(format!("{lock:?}"), format!("{anew:?}"));

    let mut refused = snapshot.clone();
    refused.settings.auto_lock_secs = 0;
    refused.settings.auto_lock = true;
    let err = Lock::restore(Config::default(), &refused, now).unwrap_err();
    assert_eq!(
        lock.restore_in_place(Config::default(), NoVisitorCodes, &refused, now),
        Err(err)
    );
    assert_eq!(
        format!("{lock:?}"),
        format!("{:?}", Lock::fail_secure(Config::default()))
    );
    lock.restore_in_place(Config::default(), NoVisitorCodes, &snapshot, now)
        .unwrap();
    lock.fail_secure_in_place(Config::default(), NoVisitorCodes);
    assert_eq!(
        format!("{lock:?}"),
        format!("{:?}", Lock::fail_secure(Config::default()))
    );
}
