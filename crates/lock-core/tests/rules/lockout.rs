//! §4 Wrong attempts: R-LKO-1…5, and S-BF-2 (a failure reaches flash before
//! anything observable happens).

use lock_core::internals::{FAST_LOCKOUT, FAST_WINDOW, SLOW_LOCKOUT, SLOW_LOCKOUT_MAX};
use lock_core::{
    Action, AlarmKind, AppCommand, BiometricEvent, BiometricKind, BoltPosition, Change, Duration,
    Event, Key, Link, LockoutCause, LogEntry, Notice, Privilege, Prompt, Refusal, Reply, Role,
    Setting, TemplateId,
};

use crate::harness::*;

fn lock_out(b: &mut Bench) {
    for _ in 0..5 {
        b.wrong_code();
    }
    assert!(b.lock.lockout(b.now).is_some(), "{}", b.describe());
}

fn admin_code_opens(b: &mut Bench) -> bool {
    press!(b, &format!("{ADMIN_CODE} ok"));
    let opened = b.drove(BoltPosition::Unlocked);
    if opened {
        b.event(Event::LockButton);
    }
    opened
}

// ----- R-LKO-1 ---------------------------------------------------------------

#[test]
fn r_lko_1_five_failures_lock_for_three_minutes() {
    let mut b = Bench::set_up();
    for _ in 0..4 {
        b.wrong_code();
        assert_prompted!(b, Prompt::Failure(Refusal::NoMatch));
        assert_eq!(b.lock.lockout(b.now), None);
    }
    b.wrong_code();
    let lockout = b.lock.lockout(b.now).expect("locked");
    assert_eq!(lockout.cause, LockoutCause::Burst);
    assert_eq!(lockout.length, FAST_LOCKOUT);
    assert_eq!(FAST_LOCKOUT, mins(3));
    assert_eq!(lockout.until, b.now + mins(3));
    assert_prompted!(b, Prompt::SystemLocked);
    assert!(b.logs().contains(&LogEntry::Lockout {
        cause: LockoutCause::Burst,
        secs: 180
    }));
}

#[test]
fn r_lko_1_every_verification_refused_during_the_lockout() {
    let mut b = Bench::set_up();
    b.add_person(
        Role::User,
        &[Cred::Finger("kai"), Cred::Face("kai"), Cred::Palm("kai")],
    );
    lock_out(&mut b);
    let counted = b.lock.failures_since_success();
    let until = b.lock.lockout(b.now).unwrap().until;

    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_prompted!(b, Prompt::SystemLocked);
    for kind in BiometricKind::ALL {
        b.present(kind, "kai");
        assert!(!b.drove(BoltPosition::Unlocked), "{kind:?}");
        assert_prompted!(b, Prompt::SystemLocked);
    }
    b.finger("stranger");
    assert_prompted!(b, Prompt::SystemLocked);
    let reply = b.app(
        Privilege::Administrator,
        Link::Bluetooth,
        AppCommand::Unlock,
    );
    assert_eq!(reply, Reply::Refused(Refusal::SystemLocked));
    assert!(!b.drove(BoltPosition::Unlocked));
    b.set();
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(!b.lock.in_menu());
    assert_prompted!(b, Prompt::SystemLocked);

    assert_eq!(
        b.lock.failures_since_success(),
        counted,
        "a success resets nothing"
    );
    assert_eq!(
        b.lock.lockout(b.now).map(|l| l.until),
        Some(until),
        "refused attempts neither end nor extend it"
    );
}

#[test]
fn r_lko_1_face_palm_finger_and_passcode_count_together() {
    let mut b = Bench::set_up();
    b.wrong_code();
    b.finger("x");
    b.face("x");
    b.palm("x");
    assert_eq!(b.lock.lockout(b.now), None);
    assert_eq!(b.lock.failures_since_success(), 4);
    b.wrong_code();
    assert!(b.lock.lockout(b.now).is_some());
}

/// Failures at 0, 1, 2 and 3 minutes, then one at `fifth` after the first.
fn four_then_one_at(fifth: Duration) -> Bench {
    let mut b = Bench::set_up();
    b.wait(secs(1));
    let t0 = b.now;
    for minute in 0..4 {
        b.wait_until(t0 + mins(minute));
        b.wrong_code();
    }
    assert_eq!(b.lock.lockout(b.now), None);
    b.wait_until(t0 + fifth);
    b.wrong_code();
    b
}

#[test]
fn r_lko_1_fifth_failure_at_4_59_locks() {
    let b = four_then_one_at(plus(mins(4), secs(59)));
    assert!(b.lock.lockout(b.now).is_some(), "{}", b.describe());
}

#[test]
fn r_lko_1_fifth_failure_at_5_01_does_not_lock() {
    let mut b = four_then_one_at(plus(mins(5), secs(1)));
    assert_eq!(
        b.lock.lockout(b.now),
        None,
        "the first one is out of the window"
    );
    assert_prompted!(b, Prompt::Failure(Refusal::NoMatch));
    // Five within five minutes again (1, 2, 3 min and twice now): locked.
    b.wrong_code();
    assert!(b.lock.lockout(b.now).is_some());
}

#[test]
fn r_lko_1_lockout_ends_by_itself_after_three_minutes() {
    let mut b = Bench::set_up();
    lock_out(&mut b);
    let until = b.lock.lockout(b.now).unwrap().until;
    assert_eq!(b.lock.next_deadline().map(|d| d <= until), Some(true));
    b.wait_until(Instant_sub(until));
    assert!(b.lock.lockout(b.now).is_some());
    assert!(!admin_code_opens(&mut b));
    b.wait(millis(1));
    assert!(b.logged("lockout-ended"), "{}", b.describe());
    assert_saw!(
        b,
        Action::Notify(Notice::AlarmCleared(AlarmKind::SystemLocked))
    );
    assert!(b.persisted(|c| matches!(c, Change::Attempts(a) if a.lockout.is_none())));
    assert_eq!(b.lock.lockout(b.now), None);
    assert!(admin_code_opens(&mut b));
}

#[allow(non_snake_case)]
fn Instant_sub(t: lock_core::Instant) -> lock_core::Instant {
    lock_core::Instant::from_millis(t.millis() - 1)
}

// ----- R-LKO-2 ---------------------------------------------------------------

#[test]
fn r_lko_2_a_success_resets_the_count() {
    let mut b = Bench::set_up();
    for _ in 0..4 {
        b.wrong_code();
    }
    assert!(admin_code_opens(&mut b));
    assert_eq!(b.lock.failures_since_success(), 0);
    assert!(b.flash.attempts.since_success == 0 && b.flash.attempts.recent == 0);
    for _ in 0..4 {
        b.wrong_code();
    }
    assert_eq!(
        b.lock.lockout(b.now),
        None,
        "4 + success + 4 is not 5 in a row"
    );
    b.wrong_code();
    assert!(b.lock.lockout(b.now).is_some());
}

#[test]
fn r_lko_2_a_biometric_success_resets_the_count_too() {
    let mut b = Bench::set_up();
    b.add_finger(Role::User, "lou");
    for _ in 0..4 {
        b.wrong_code();
    }
    b.finger("lou");
    assert!(b.drove(BoltPosition::Unlocked));
    for _ in 0..4 {
        b.finger("nobody");
    }
    assert_eq!(b.lock.lockout(b.now), None);
}

#[test]
fn r_lko_2_failures_older_than_five_minutes_no_longer_count() {
    let mut b = Bench::set_up();
    for _ in 0..4 {
        b.wrong_code();
    }
    assert_eq!(FAST_WINDOW, mins(5));
    b.wait(FAST_WINDOW);
    for _ in 0..4 {
        b.wrong_code();
        assert_eq!(b.lock.lockout(b.now), None);
    }
    b.wrong_code();
    assert!(b.lock.lockout(b.now).is_some());
}

// ----- R-LKO-3 ---------------------------------------------------------------

#[test]
fn r_lko_3_administrator_lifts_a_lockout_from_the_app() {
    let mut b = Bench::set_up();
    lock_out(&mut b);
    let reply = b.app(Privilege::User, Link::Bluetooth, AppCommand::LiftLockout);
    assert_eq!(reply, Reply::Refused(Refusal::NotPermitted));
    assert!(b.lock.lockout(b.now).is_some());
    assert_eq!(b.admin_app(AppCommand::LiftLockout), Reply::Done);
    assert_eq!(b.lock.lockout(b.now), None);
    assert!(b.logged("lockout-lifted"));
    assert_saw!(
        b,
        Action::Notify(Notice::AlarmCleared(AlarmKind::SystemLocked))
    );
    assert!(b.persisted(|c| matches!(c, Change::Attempts(a) if a.lockout.is_none())));
    assert!(admin_code_opens(&mut b));
}

#[test]
fn r_lko_3_lockout_protection_can_be_switched_off() {
    let mut b = Bench::set_up();
    let reply = b.app(
        Privilege::User,
        Link::Bluetooth,
        AppCommand::Configure(Setting::LockoutProtection(false)),
    );
    assert_eq!(reply, Reply::Refused(Refusal::NotPermitted));
    assert!(b.lock.settings().lockout_protection, "on by default");
    assert_eq!(
        b.admin_app(AppCommand::Configure(Setting::LockoutProtection(false))),
        Reply::Done
    );
    for _ in 0..12 {
        b.wrong_code();
        assert!(b.logged("unlock-failed"), "still logged");
        assert_eq!(b.lock.lockout(b.now), None);
    }
    assert!(admin_code_opens(&mut b));
    b.admin_app(AppCommand::Configure(Setting::LockoutProtection(true)));
    lock_out(&mut b);
}

#[test]
fn r_lko_3_switching_protection_off_ends_an_active_lockout() {
    let mut b = Bench::set_up();
    lock_out(&mut b);
    b.admin_app(AppCommand::Configure(Setting::LockoutProtection(false)));
    assert_eq!(b.lock.lockout(b.now), None);
    assert!(!b.lock.alarms().contains(AlarmKind::SystemLocked));
    assert!(admin_code_opens(&mut b));
}

// ----- R-LKO-4 ---------------------------------------------------------------

#[test]
fn r_lko_4_power_cut_keeps_the_count() {
    let mut b = Bench::set_up();
    for _ in 0..4 {
        b.wrong_code();
    }
    b.power_cycle();
    assert_eq!(b.lock.failures_since_success(), 4);
    assert_eq!(b.lock.lockout(b.now), None);
    b.wrong_code();
    assert!(
        b.lock.lockout(b.now).is_some(),
        "the fifth after the restart locks"
    );
}

#[test]
fn r_lko_4_power_cut_does_not_end_a_lockout() {
    let mut b = Bench::set_up();
    lock_out(&mut b);
    b.wait(mins(2));
    b.power_cycle();
    assert!(b.lock.lockout(b.now).is_some());
    assert!(b.lock.alarms().contains(AlarmKind::SystemLocked));
    assert!(!admin_code_opens(&mut b));
    assert_prompted!(b, Prompt::SystemLocked);
    // It still ends by itself (restarted in full: never shorter than it was).
    b.wait(just_before(FAST_LOCKOUT));
    assert!(b.lock.lockout(b.now).is_some());
    b.wait(millis(1));
    assert_eq!(b.lock.lockout(b.now), None);
    assert!(admin_code_opens(&mut b));
}

#[test]
fn r_lko_4_power_cut_keeps_the_slow_count() {
    let mut b = Bench::set_up();
    for _ in 0..9 {
        slow_failure(&mut b);
    }
    b.power_cycle();
    assert_eq!(b.lock.failures_since_success(), 9);
    slow_failure(&mut b);
    let lockout = b.lock.lockout(b.now).expect("the tenth locks");
    assert_eq!(lockout.cause, LockoutCause::SlowGuessing);
    b.wait(mins(1));
    b.power_cycle();
    let lockout = b
        .lock
        .lockout(b.now)
        .expect("still locked after the restart");
    assert_eq!(
        (lockout.cause, lockout.length),
        (LockoutCause::SlowGuessing, SLOW_LOCKOUT)
    );
}

#[test]
fn r_lko_4_a_failure_is_on_flash_before_its_verdict_is_acted_on() {
    let mut b = Bench::set_up();
    for k in 1..=5u16 {
        press!(b, "909090");
        let actions = b.cut_power_during(Event::Key(Key::Ok));
        assert!(
            matches!(actions.first(), Some(Action::Persist(Change::Attempts(_)))),
            "{actions:?}"
        );
        assert_eq!(b.lock.failures_since_success(), k, "not erased by the cut");
    }
    assert!(
        b.lock.lockout(b.now).is_some(),
        "the fifth, cut before its prompt, still locked"
    );
}

/// One step of a test, by name.
type Step = fn(&mut Bench);

#[test]
fn r_lko_4_s_bf_2_failure_persisted_before_every_observable_action() {
    let mut b = Bench::set_up();
    let failures: [(&str, Step); 7] = [
        ("passcode", |b| b.wrong_code()),
        ("finger", |b| b.finger("x")),
        ("face", |b| b.face("x")),
        ("palm", |b| b.palm("x")),
        ("unknown template", |b| {
            b.event(Event::Biometric(BiometricEvent::Identified {
                kind: BiometricKind::Finger,
                template: TemplateId(999),
            }))
        }),
        ("administrator verification", |b| {
            b.set();
            b.keys("909090 ok");
        }),
        // The fifth in a row is the one that locks: its batch says the most.
        ("fifth, locking", |b| b.wrong_code()),
    ];
    for (i, (what, fail)) in failures.iter().enumerate() {
        if i == 2 {
            // Keep the fast bound from locking in the middle of the list.
            b.wait(FAST_WINDOW);
        }
        let before = b.lock.failures_since_success();
        fail(&mut b);
        assert_eq!(
            b.lock.failures_since_success(),
            before + 1,
            "{what} counted"
        );
        let batch = b
            .batches()
            .iter()
            .find(|batch| {
                batch
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::Persist(Change::Attempts(_))))
            })
            .unwrap_or_else(|| panic!("{what}: no attempts persisted:\n{}", b.describe()));
        let last_persist = batch
            .actions
            .iter()
            .rposition(|a| matches!(a, Action::Persist(Change::Attempts(_))))
            .unwrap();
        let first_observable = batch
            .actions
            .iter()
            .position(Action::is_observable)
            .unwrap_or(usize::MAX);
        assert!(
            last_persist < first_observable,
            "{what}: {:#?}",
            batch.actions
        );
        // Every verdict is acted on in the same batch, after the record.
        assert!(
            batch.actions.iter().any(Action::is_observable),
            "{what}: no verdict in the batch"
        );
    }
    assert!(b.lock.lockout(b.now).is_some(), "the last one locked");
}

// ----- R-LKO-5 ---------------------------------------------------------------

/// One failure, far enough from the last that the fast bound never acts; an
/// active lockout is waited out first.
fn slow_failure(b: &mut Bench) {
    if let Some(l) = b.lock.lockout(b.now) {
        b.wait_until(l.until);
    }
    b.wait(plus(FAST_WINDOW, secs(1)));
    let before = b.lock.failures_since_success();
    b.wrong_code();
    assert_eq!(b.lock.failures_since_success(), before + 1);
}

#[test]
fn r_lko_5_slow_guessing_locks_at_10_15_20_doubling() {
    let mut b = Bench::set_up();
    assert_eq!(SLOW_LOCKOUT, mins(6));
    for k in 1..=20u16 {
        slow_failure(&mut b);
        let expected = match k {
            10 => Some(mins(6)),
            15 => Some(mins(12)),
            20 => Some(mins(24)),
            _ => None,
        };
        let lockout = b.lock.lockout(b.now);
        assert_eq!(lockout.map(|l| l.length), expected, "failure {k}");
        if let Some(l) = lockout {
            assert_eq!(l.cause, LockoutCause::SlowGuessing);
            let secs_ = u32::try_from(l.length.secs()).unwrap();
            assert!(
                b.notified(Notice::Lockout(LockoutCause::SlowGuessing, secs_)),
                "the app is alerted:\n{}",
                b.describe()
            );
            assert_prompted!(b, Prompt::SystemLocked);
            assert!(b.lock.alarms().contains(AlarmKind::SystemLocked));
        }
    }
}

#[test]
fn r_lko_5_doubling_stops_at_24_hours() {
    let mut b = Bench::set_up();
    let mut lengths = Vec::new();
    for k in 1..=55u16 {
        slow_failure(&mut b);
        if let Some(l) = b.lock.lockout(b.now) {
            lengths.push((k, l.length.secs() / 60));
        }
    }
    assert_eq!(
        lengths,
        vec![
            (10, 6),
            (15, 12),
            (20, 24),
            (25, 48),
            (30, 96),
            (35, 192),
            (40, 384),
            (45, 768),
            (50, 1440),
            (55, 1440),
        ]
    );
    assert_eq!(SLOW_LOCKOUT_MAX, lock_core::Duration::from_hours(24));
}

#[test]
fn r_lko_5_one_success_clears_the_slow_count() {
    let mut b = Bench::set_up();
    for _ in 0..9 {
        slow_failure(&mut b);
    }
    assert!(admin_code_opens(&mut b));
    assert_eq!(b.lock.failures_since_success(), 0);
    for _ in 0..9 {
        slow_failure(&mut b);
        assert_eq!(b.lock.lockout(b.now), None);
    }
    slow_failure(&mut b);
    assert!(b.lock.lockout(b.now).is_some());
}

#[test]
fn r_lko_5_fast_failures_count_towards_the_slow_bound() {
    // Ten failures in quick bursts, waiting out the three-minute lockout in
    // between: the tenth locks for the slow bound's six minutes.
    let mut b = Bench::set_up();
    lock_out(&mut b);
    let until = b.lock.lockout(b.now).unwrap().until;
    b.wait_until(until);
    for _ in 0..5 {
        b.wrong_code();
    }
    let lockout = b.lock.lockout(b.now).expect("locked at ten");
    assert_eq!(lockout.cause, LockoutCause::SlowGuessing);
    assert_eq!(lockout.length, SLOW_LOCKOUT);
}
