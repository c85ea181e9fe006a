//! The outside review's findings at the core (SECURITY.md S-VC-3, S-PR-1,
//! S-BF-1/3; SPEC.md R-PIN-7, R-LCK-3, R-LCK-4, R-LKO-2, R-LKO-5, R-APP-5,
//! R-APP-6): each test failed on the code before its fix.

use lock_core::{
    Action, AlarmKind, AppCommand, BoltReport, BoltState, Change, Event, LogEntry, Notice,
    Privilege, Prompt, Refusal, Reply, Role, Setting, Timestamp, Validity,
};

use crate::harness::*;

/// 2027-01-15 08:00 UTC.
const T0: u64 = 1_800_000_000;

/// A user with passcode 730418 whose validity ends at `until` (inclusive).
fn user_until(b: &mut Bench, until: u64) {
    let who = b.add_user_with_passcode("730418");
    let reply = b.admin_app(AppCommand::SetValidity {
        person: who,
        validity: Validity {
            from: None,
            until: Some(Timestamp(until)),
        },
    });
    assert_eq!(reply, Reply::Done);
}

fn set_clock_reply(b: &mut Bench, at: u64) -> Reply {
    b.admin_app(AppCommand::SetClock(Timestamp(at)))
}

#[test]
fn s_vc_3_a_clock_step_back_never_revives_an_expired_validity_period() {
    let mut b = Bench::set_up();
    b.set_clock(T0);
    user_until(&mut b, T0 + 60);
    b.keys("730418 ok");
    assert!(
        b.drove(lock_core::BoltPosition::Unlocked),
        "{}",
        b.describe()
    );
    b.wait(mins(3));
    b.keys("730418 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    // The administrator's phone steps the clock back within the allowed
    // five minutes, to before the period's end: it stays ended.
    assert_eq!(set_clock_reply(&mut b, T0 + 30), Reply::Done);
    b.keys("730418 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    assert!(!b.drove(lock_core::BoltPosition::Unlocked));
}

#[test]
fn s_vc_3_a_power_cut_and_a_step_back_never_revive_an_expired_validity_period() {
    let mut b = Bench::set_up();
    b.set_clock(T0);
    // Ends ten minutes on: the quarter-hour mark from setting the clock is
    // behind it.
    user_until(&mut b, T0 + 600);
    b.wait(mins(11));
    b.keys("730418 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    // The end is on flash before the lock acted on it (S-VC-3).
    assert!(b.flash.clock_mark.is_some_and(|m| m.0 > T0 + 600));
    b.power_cycle();
    // The clock comes back set to just before the end.
    assert_eq!(set_clock_reply(&mut b, T0 + 590), Reply::Done);
    b.keys("730418 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    assert!(!b.drove(lock_core::BoltPosition::Unlocked));
}

#[test]
fn r_pin_7_a_power_cut_does_not_clear_an_unacknowledged_duress_alarm() {
    let mut b = Bench::set_up();
    let reply = b.admin_app(AppCommand::SetDuressPasscode {
        person: n(1),
        code: lock_core::Passcode::parse("615243").unwrap(),
    });
    assert_eq!(reply, Reply::Done);
    // Let in under duress: the alarm is on flash before the bolt moves.
    b.touch();
    b.keys("615243 ok");
    let batch = b.batches().iter().rev().find(|x| {
        x.actions
            .iter()
            .any(|a| matches!(a, Action::Notify(Notice::Alarm(AlarmKind::Duress))))
    });
    let batch = batch.expect("a duress alarm");
    let armed = batch
        .actions
        .iter()
        .position(|a| matches!(a, Action::Persist(Change::Armed(x)) if x.duress))
        .expect("persisted");
    let first_observable = batch.actions.iter().position(Action::is_observable);
    assert!(first_observable.is_none_or(|o| armed < o));
    // The robber pulls the battery.
    b.power_cycle();
    assert!(b.lock.alarms().contains(AlarmKind::Duress));
    assert!(b.notified(Notice::Alarm(AlarmKind::Duress)), "told again");
    // Only an administrator's acknowledgement ends it, for good.
    assert_eq!(
        b.admin_app(AppCommand::Acknowledge(AlarmKind::Duress)),
        Reply::Done
    );
    b.power_cycle();
    assert!(!b.lock.alarms().contains(AlarmKind::Duress));
}

#[test]
fn r_lck_4_a_power_cut_keeps_leaving_home_mode_and_an_intrusion_alarm() {
    let mut b = Bench::set_up();
    b.touch();
    b.keys("home");
    assert!(b.lock.leaving_home());
    b.power_cycle();
    assert!(b.lock.leaving_home(), "armed mode survives");
    // Forced open: the intrusion alarm, then the battery pulled.
    b.open_door();
    assert!(b.lock.alarms().contains(AlarmKind::Intrusion));
    b.power_cycle();
    assert!(b.lock.alarms().contains(AlarmKind::Intrusion));
    // A verified unlock from outside disarms the mode (R-LCK-4) for good;
    // the alarm stays until acknowledged.
    b.close_door();
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    assert!(!b.lock.leaving_home());
    assert!(b.lock.alarms().contains(AlarmKind::Intrusion));
    b.power_cycle();
    assert!(!b.lock.leaving_home());
    assert!(b.lock.alarms().contains(AlarmKind::Intrusion));
    assert_eq!(
        b.admin_app(AppCommand::Acknowledge(AlarmKind::Intrusion)),
        Reply::Done
    );
    b.power_cycle();
    assert!(b.lock.alarms().is_empty(), "{:?}", b.lock.alarms());
}

#[test]
fn s_pr_1_only_ok_at_the_lock_confirms_a_pairing_code() {
    let mut b = Bench::set_up();
    // Outside pairing mode a code is not even spoken.
    b.event(Event::PairingCode(123_456));
    assert!(!b.prompted(Prompt::VerificationCode(123_456)));
    b.set_hold();
    b.event(Event::PairingCode(123_456));
    assert!(b.saw(|a| matches!(a, Action::Prompt(Prompt::VerificationCode(123_456)))));
    // Digits do not confirm; ✓ does, once.
    b.keys("1 2");
    assert_not_saw!(b, Action::ConfirmPairing);
    b.keys("ok");
    assert_saw!(b, Action::ConfirmPairing);
    b.keys("ok");
    assert_not_saw!(b, Action::ConfirmPairing);
    // ↩ refuses a code: pairing mode ends, nothing is confirmed.
    b.wait(mins(5));
    b.set_hold();
    b.event(Event::PairingCode(654_321));
    b.keys("back");
    assert_not_saw!(b, Action::ConfirmPairing);
    assert!(!b.lock.pairing());
}

#[test]
fn r_lko_5_a_users_own_code_never_clears_the_slow_guessing_count() {
    let mut b = Bench::set_up();
    b.add_user_with_passcode("730418");
    // Four wrong entries, then the user's own code, over and over: the fast
    // count starts again, the slow one does not (R-LKO-2, R-LKO-5).
    for round in 0..2 {
        for _ in 0..4 {
            b.wrong_code();
        }
        b.keys("730418 ok");
        assert!(b.drove(lock_core::BoltPosition::Unlocked), "round {round}");
        assert_eq!(b.lock.lockout(b.now), None, "round {round}");
        b.wait(mins(1));
    }
    b.wrong_code();
    b.wrong_code();
    assert_eq!(b.lock.failures_since_success(), 10);
    assert!(
        b.lock.lockout(b.now).is_some(),
        "the tenth failure locks for six minutes"
    );
    // An administrator's own code clears it.
    b.wait(mins(7));
    b.keys(&format!("{ADMIN_CODE} ok"));
    assert_eq!(b.lock.failures_since_success(), 0);
}

#[test]
fn r_lck_3_a_bolt_between_its_ends_at_boot_raises_the_jam_alarm() {
    let mut b = Bench::set_up();
    b.power_cycle();
    b.event(Event::Bolt(BoltReport::Between));
    assert!(b.lock.alarms().contains(AlarmKind::Jam));
    assert_eq!(b.lock.bolt(), BoltState::Jammed);
    assert!(b.logged("alarm"));
    // Nothing drives it by itself, however long it waits.
    b.wait(mins(10));
    assert!(!b.saw(|a| matches!(a, Action::DriveBolt { .. })));
    // The next verified unlock drives it and clears the alarm on arrival.
    b.keys(&format!("{ADMIN_CODE} ok"));
    assert!(b.drove(lock_core::BoltPosition::Unlocked));
    assert!(!b.lock.alarms().contains(AlarmKind::Jam));
}

#[test]
fn r_app_5_a_visitor_key_never_acts_from_afar() {
    let mut b = Bench::set_up();
    b.admin_app(AppCommand::Configure(Setting::RemoteUnlock(true)));
    for command in [AppCommand::Unlock, AppCommand::Lock] {
        let reply = b.app(Privilege::Visitor, lock_core::Link::Remote, command);
        assert_eq!(reply, Reply::Refused(Refusal::NotPermitted), "{command:?}");
        assert!(!b.saw(|a| matches!(a, Action::DriveBolt { .. })));
    }
    // Next to the door it opens.
    let reply = b.app(
        Privilege::Visitor,
        lock_core::Link::Bluetooth,
        AppCommand::Unlock,
    );
    assert_eq!(reply, Reply::Done);
}

#[test]
fn r_app_6_pairings_keys_the_clock_and_settings_are_logged_with_who() {
    let mut b = Bench::set_up();
    b.set_hold();
    b.event(Event::AppChanged(AppChange::Paired { pairing: 2 }));
    assert!(b.logs().contains(&LogEntry::Paired { pairing: 2 }));
    assert!(!b.lock.pairing(), "pairing mode ended");
    b.event(Event::AppChanged(AppChange::KeyIssued {
        pairing: 3,
        privilege: Privilege::Visitor,
        by: 2,
        until: Some(Timestamp(T0 + 3_600)),
    }));
    assert!(b.logs().contains(&LogEntry::KeyIssued {
        pairing: 3,
        privilege: Privilege::Visitor,
        by: 2,
    }));
    b.event(Event::AppChanged(AppChange::Unpaired { pairing: 3, by: 2 }));
    assert!(b.logs().contains(&LogEntry::Unpaired { pairing: 3, by: 2 }));
    b.set_clock(T0);
    assert!(b.logs().contains(&LogEntry::ClockSet {
        to: Timestamp(T0),
        by: 1
    }));
    b.admin_app(AppCommand::Configure(Setting::AutoLock(true)));
    assert!(b.logs().contains(&LogEntry::SettingChanged {
        setting: Setting::AutoLock(true),
        by: Actor::Pairing(1),
    }));
    // At the keypad, the administrator in the menu.
    b.open_menu();
    b.keys("4 3");
    assert!(b.logs().contains(&LogEntry::SettingChanged {
        setting: Setting::RemoteUnlock(true),
        by: Actor::Person(n(1)),
    }));
    let _ = Role::User;
}

#[test]
fn s_bf_3_an_insiders_code_with_extra_digits_at_set_is_a_counted_guess() {
    let mut b = Bench::set_up();
    b.add_user_with_passcode("730418");
    // Their own code alone: not an administrator, and no guess.
    b.set();
    b.keys("730418 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::NotAdministrator));
    assert_eq!(b.lock.failures_since_success(), 0);
    // With ten digits of guesses after it, the menu opening would answer
    // whether an administrator's code is among them: it counts.
    b.wait(mins(1));
    b.set();
    b.keys("7304180123456789 ok");
    assert!(!b.lock.in_menu());
    assert_eq!(b.lock.failures_since_success(), 1);
    assert_prompted!(b, Prompt::Failure(Refusal::NoMatch));
}

#[test]
fn s_vc_3_a_keys_window_end_is_on_flash_once_the_clock_passes_it() {
    let mut b = Bench::set_up();
    b.set_clock(T0);
    // A key ending seven minutes on, between two quarter-hour marks.
    b.event(Event::AppChanged(AppChange::KeyIssued {
        pairing: 2,
        privilege: Privilege::Visitor,
        by: 1,
        until: Some(Timestamp(T0 + 420)),
    }));
    b.wait(mins(8));
    assert!(
        b.flash.clock_mark.is_some_and(|m| m.0 > T0 + 420),
        "{:?}",
        b.flash.clock_mark
    );
    // After a power cut the clock cannot come back to before its end
    // unnoticed: the lock's clock has reached past it.
    b.power_cycle();
    assert_eq!(set_clock_reply(&mut b, T0 + 400), Reply::Done);
    let clock = b.lock.clock(b.now).unwrap();
    assert!(clock.reached.0 > T0 + 420, "{clock:?}");
}
