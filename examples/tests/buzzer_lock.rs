//! The keypad-and-buzzer lock (`examples/src/buzzer_lock.rs`) driven as a
//! person would: first start, a passcode unlock, a fingerprint enrolment
//! and unlock, and a lockout, on its own parts and configuration only.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use lock_core::{BoltPosition as CorePosition, BoltState};
use lock_examples::buzzer_lock::Sim;
use lock_hal::BoltPosition;

const ADMIN: &str = "482915";

/// Runs `acts` from `t` and 8 s beyond; returns the time then.
fn act(sim: &mut Sim, t: u64, acts: &str) -> u64 {
    let end = sim.at(t, acts) + 8_000;
    sim.run_until(end);
    end
}

/// The beeps since the `from`th, by length in ms.
fn beeps(sim: &Sim, from: usize) -> Vec<u64> {
    sim.door.borrow().beeps[from..]
        .iter()
        .map(|b| b.1)
        .collect()
}

#[test]
fn a_keypad_and_buzzer_lock_from_first_start_to_a_lockout() {
    let mut sim = Sim::new().unwrap();

    // First start at the keypad: door direction, administrator 001.
    let mut t = act(
        &mut sim,
        1_000,
        &format!("ok 1 ok {ADMIN} ok {ADMIN} ok back"),
    );
    assert_eq!(sim.seen.borrow().people, 1);

    // The passcode at the dark keypad: printed keys count in the dark, so
    // no wake-up touch is needed. The bolt leaves the only switch and is
    // taken to arrive unlocked at the body's 1.2 s limit: no jam.
    t += 25_000;
    sim.run_until(t);
    assert!(!sim.door.borrow().led, "the keypad went dark");
    t = act(&mut sim, t, &format!("{ADMIN} ok"));
    assert_eq!(sim.door.borrow().bolt, BoltPosition::Unlocked);
    assert_eq!(
        sim.door.borrow().bridge,
        [false, false],
        "motor left coasting"
    );
    assert_eq!(
        sim.seen.borrow().bolt,
        Some(BoltState::At(CorePosition::Unlocked))
    );

    // Holding ✓ is leaving-home: the bolt is thrown to its switch.
    t = act(&mut sim, t, "hold-ok");
    assert_eq!(sim.door.borrow().bolt, BoltPosition::Locked);
    assert_eq!(
        sim.seen.borrow().bolt,
        Some(BoltState::At(CorePosition::Locked))
    );

    // Holding ↩ is SET: verify, add a user, choose the fingerprint (3: the
    // only module, so 1 and 2 offer nothing), present, lift, present.
    let before = sim.door.borrow().beeps.len();
    t = act(&mut sim, t, &format!("hold-back {ADMIN} ok 2"));
    // The new person's number, 002, counted: two 150 ms beeps.
    let counted = beeps(&sim, before);
    assert!(
        counted.windows(2).any(|w| w == [150, 150])
            && counted.iter().filter(|&&b| b == 150).count() == 2,
        "{counted:?}"
    );
    t = act(&mut sim, t, "1 3 finger bob lift finger bob lift back back");
    assert_eq!(sim.seen.borrow().people, 2);
    assert_eq!(sim.door.borrow().templates.len(), 1);

    // The finger opens.
    t = act(&mut sim, t, "finger bob lift");
    assert_eq!(sim.door.borrow().bolt, BoltPosition::Unlocked);
    t = act(&mut sim, t, "hold-ok");
    assert_eq!(sim.door.borrow().bolt, BoltPosition::Locked);

    // Five wrong passcodes: the lockout (R-LKO-1), and the right one is
    // refused now too.
    for _ in 0..5 {
        t = act(&mut sim, t, "135790 ok");
    }
    assert!(sim.seen.borrow().system_locked);
    act(&mut sim, t, &format!("{ADMIN} ok"));
    assert_eq!(sim.door.borrow().bolt, BoltPosition::Locked);
}
