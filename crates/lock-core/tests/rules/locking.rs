//! §3 Locking: R-LCK-1…4, the inside button and ✓ outside, the countdown lock,
//! the bolt motor and jams, leaving-home mode.

use lock_core::{
    Action, AlarmKind, AppCommand, BoltBody, BoltPosition, BoltReport, BoltState, BoltSwitches,
    Change, Config, Event, Key, Link, LockMethod, LogEntry, Notice, Privilege, Prompt, Refusal,
    Reply, Role, Setting,
};

use crate::harness::*;
use crate::unlock::unlock_with_admin_code;

// ----- R-LCK-1 ---------------------------------------------------------------

#[test]
fn r_lck_1_inside_button_locks() {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    b.event(Event::LockButton);
    assert!(b.drove(BoltPosition::Locked));
    assert!(
        b.logs()
            .contains(&LogEntry::Locked(LockMethod::InsideButton))
    );
    assert_prompted!(b, Prompt::Locked);
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
}

#[test]
fn r_lck_1_bolt_never_thrown_into_an_open_door() {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    b.open_door();
    b.event(Event::LockButton);
    assert!(!b.drove(BoltPosition::Locked));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
    press!(b, "ok");
    assert!(!b.drove(BoltPosition::Locked));
    let reply = b.app(Privilege::User, Link::Bluetooth, AppCommand::Lock);
    assert!(matches!(reply, Reply::Refused(_)));
    assert!(!b.drove(BoltPosition::Locked));
}

#[test]
fn r_lck_1_ok_outside_locks_after_the_door_was_opened_from_inside() {
    let mut b = Bench::set_up();
    // Someone inside turns the bolt back by hand and goes out.
    b.event(Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
    b.open_door();
    b.close_door();
    press!(b, "ok");
    assert!(b.drove(BoltPosition::Locked), "{}", b.describe());
    assert!(b.logs().contains(&LogEntry::Locked(LockMethod::Keypad)));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
    // Offered once: a second ✓ does not drive again.
    press!(b, "ok");
    assert!(!b.drove(BoltPosition::Locked));
}

#[test]
fn r_lck_1_ok_does_not_lock_without_an_inside_opening() {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    b.open_door();
    b.close_door();
    press!(b, "ok");
    assert!(
        !b.drove(BoltPosition::Locked),
        "opened from outside: ✓ is not offered"
    );
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
}

// ----- R-LCK-2 ---------------------------------------------------------------

fn with_countdown(secs_: u16) -> Bench {
    let mut b = Bench::set_up();
    assert_eq!(
        b.admin_app(AppCommand::Configure(Setting::AutoLockSecs(secs_))),
        Reply::Done
    );
    assert_eq!(
        b.admin_app(AppCommand::Configure(Setting::AutoLock(true))),
        Reply::Done
    );
    b
}

#[test]
fn r_lck_2_countdown_off_by_default() {
    let mut b = Bench::set_up();
    assert!(!b.lock.settings().auto_lock);
    unlock_with_admin_code(&mut b);
    b.wait(mins(60));
    assert!(!b.drove(BoltPosition::Locked));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
}

#[test]
fn r_lck_2_countdown_locks_the_set_time_after_unlocking() {
    let mut b = with_countdown(10);
    unlock_with_admin_code(&mut b);
    b.wait(millis(9_999));
    assert!(!b.drove(BoltPosition::Locked));
    b.wait(millis(1));
    assert!(b.drove(BoltPosition::Locked), "{}", b.describe());
    assert!(b.logs().contains(&LogEntry::Locked(LockMethod::Countdown)));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
}

#[test]
fn r_lck_2_never_thrown_while_open_and_restarts_when_closed() {
    let mut b = with_countdown(10);
    unlock_with_admin_code(&mut b);
    b.wait(secs(5));
    b.open_door();
    b.wait(mins(2));
    assert!(!b.drove(BoltPosition::Locked), "door open");
    b.close_door();
    b.wait(millis(9_999));
    assert!(!b.drove(BoltPosition::Locked), "counts again from closing");
    b.wait(millis(1));
    assert!(b.drove(BoltPosition::Locked));
}

#[test]
fn r_lck_2_time_is_set_from_the_app_within_range() {
    let mut b = Bench::set_up();
    for bad in [0, 4, 3601] {
        assert_eq!(
            b.admin_app(AppCommand::Configure(Setting::AutoLockSecs(bad))),
            Reply::Refused(Refusal::OutOfRange),
            "{bad}"
        );
    }
    let reply = b.app(
        Privilege::User,
        Link::Bluetooth,
        AppCommand::Configure(Setting::AutoLockSecs(60)),
    );
    assert_eq!(reply, Reply::Refused(Refusal::NotPermitted));
    assert_eq!(
        b.admin_app(AppCommand::Configure(Setting::AutoLockSecs(60))),
        Reply::Done
    );
    assert_eq!(b.lock.settings().auto_lock_secs, 60);
    assert!(b.persisted(|c| matches!(c, Change::Settings(s) if s.auto_lock_secs == 60)));
}

#[test]
fn r_lck_2_switching_off_stops_a_running_countdown() {
    let mut b = with_countdown(30);
    unlock_with_admin_code(&mut b);
    b.wait(secs(10));
    b.admin_app(AppCommand::Configure(Setting::AutoLock(false)));
    b.wait(mins(5));
    assert!(!b.drove(BoltPosition::Locked));
}

// ----- R-LCK-3 ---------------------------------------------------------------

#[test]
fn r_lck_3_motor_stopped_at_the_end_position() {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    let drive = b
        .actions()
        .position(|a| matches!(a, Action::DriveBolt { .. }))
        .unwrap();
    let stop = b
        .actions()
        .position(|a| matches!(a, Action::StopMotor))
        .expect("motor stopped when the sensor reported");
    assert!(stop > drive);
    assert!(!b.lock.alarms().contains(AlarmKind::Jam));
    b.wait(times(TRAVEL_LIMIT, 2));
    assert_not_saw!(b, Action::StopMotor);
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
}

fn assert_jammed(b: &Bench) {
    assert_saw!(b, Action::StopMotor);
    assert_saw!(b, Action::Notify(Notice::Alarm(AlarmKind::Jam)));
    assert!(
        b.logs().contains(&LogEntry::Alarm(AlarmKind::Jam)),
        "logged"
    );
    assert_prompted!(b, Prompt::Jammed);
    assert_eq!(b.lock.bolt(), BoltState::Jammed);
    assert!(b.lock.alarms().contains(AlarmKind::Jam));
}

#[test]
fn r_lck_3_stall_is_a_jam() {
    let mut b = Bench::set_up();
    b.body = Body::Stalls;
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert_jammed(&b);
    // Nothing left running: no second stop, no later jam.
    b.wait(times(TRAVEL_LIMIT, 2));
    assert_not_saw!(b, Action::StopMotor);
}

/// The default body's travel limit.
const TRAVEL_LIMIT: lock_core::Duration = lock_core::Duration::from_secs(6);

#[test]
fn r_lck_3_no_report_by_the_travel_limit_is_a_jam() {
    let mut b = Bench::set_up();
    b.body = Body::Silent;
    unlock_with_admin_code(&mut b);
    assert_not_saw!(b, Action::StopMotor);
    assert_eq!(BoltBody::default().travel_limit, TRAVEL_LIMIT);
    b.wait(just_before(TRAVEL_LIMIT));
    assert_not_saw!(b, Action::StopMotor);
    assert_eq!(b.lock.bolt(), BoltState::Moving(BoltPosition::Unlocked));
    b.wait(millis(1));
    assert_jammed(&b);
}

/// A body with `switches` and a bolt that travels in under a second.
fn quick_body(switches: BoltSwitches) -> Config {
    Config {
        bolt: BoltBody {
            switches,
            travel_limit: millis(1200),
        },
        ..config()
    }
}

#[test]
fn r_lck_3_the_travel_limit_is_the_bodys_own() {
    let mut b = Bench::set_up_with(quick_body(BoltSwitches::Both));
    b.body = Body::Silent;
    b.event(Event::LockButton);
    b.wait(just_before(millis(1200)));
    assert_not_saw!(b, Action::StopMotor);
    b.wait(millis(1));
    assert_jammed(&b);
}

#[test]
fn r_lck_3_towards_an_end_without_a_switch_the_limit_is_arrival() {
    let mut b = Bench::set_up_with(quick_body(BoltSwitches::LockedOnly));
    b.body = Body::Silent;
    unlock_with_admin_code(&mut b);
    // Leaving the locked switch is how the run starts, not a jam.
    b.event(Event::Bolt(BoltReport::Between));
    b.wait(just_before(millis(1200)));
    assert_not_saw!(b, Action::StopMotor);
    b.wait(millis(1));
    assert_saw!(b, Action::StopMotor);
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
    assert!(!b.lock.alarms().contains(AlarmKind::Jam));
    // Unlocking again does not push into the end stop: it is there.
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert_prompted!(b, Prompt::Unlocked);
    assert!(!b.drove(BoltPosition::Unlocked));
    // Towards the switch, the switch ends the run; the limit would be a jam.
    b.event(Event::LockButton);
    assert!(b.drove(BoltPosition::Locked));
    b.wait(millis(1200));
    assert_jammed(&b);
}

#[test]
fn r_lck_3_with_one_switch_not_at_it_is_the_other_end() {
    let mut b = Bench::set_up_with(quick_body(BoltSwitches::LockedOnly));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
    // Turned off the switch by hand: unlocked, no jam.
    b.event(Event::Bolt(BoltReport::Between));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
    assert!(!b.lock.alarms().contains(AlarmKind::Jam));
    b.event(Event::Bolt(BoltReport::Reached(BoltPosition::Locked)));
    assert!(b.logs().contains(&LogEntry::Locked(LockMethod::Manual)));

    // A body switched only when retracted: off the switch, locked.
    let mut b = Bench::set_up_with(quick_body(BoltSwitches::UnlockedOnly));
    b.event(Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
    b.event(Event::Bolt(BoltReport::Between));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
    assert!(!b.lock.alarms().contains(AlarmKind::Jam));
}

#[test]
fn r_lck_3_with_switches_at_both_ends_between_is_a_jam() {
    let mut b = Bench::set_up();
    b.event(Event::Bolt(BoltReport::Between));
    assert_eq!(b.lock.bolt(), BoltState::Jammed);
    assert!(b.lock.alarms().contains(AlarmKind::Jam));
}

#[test]
fn r_lck_3_jam_alarm_lasts_until_the_bolt_reaches_an_end_position() {
    let mut b = Bench::set_up();
    b.body = Body::Stalls;
    b.event(Event::LockButton);
    assert!(b.lock.alarms().contains(AlarmKind::Jam));
    assert_eq!(
        b.admin_app(AppCommand::Acknowledge(AlarmKind::Jam)),
        Reply::Refused(Refusal::CauseActive),
        "lasts while its cause does"
    );
    b.body = Body::Working;
    b.event(Event::LockButton);
    assert_saw!(b, Action::Notify(Notice::AlarmCleared(AlarmKind::Jam)));
    assert!(!b.lock.alarms().contains(AlarmKind::Jam));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
}

// ----- R-LCK-4 ---------------------------------------------------------------

fn armed() -> Bench {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    press!(b, "home");
    assert!(b.lock.leaving_home(), "{}", b.describe());
    b
}

#[test]
fn r_lck_4_leaving_home_key_locks_and_arms() {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    press!(b, "home");
    assert!(b.drove(BoltPosition::Locked));
    assert!(
        b.logs()
            .contains(&LogEntry::Locked(LockMethod::LeavingHome))
    );
    assert_prompted!(b, Prompt::LeavingHome);
    assert!(b.lock.leaving_home());
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
}

#[test]
fn r_lck_4_refused_with_the_door_open() {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    b.open_door();
    press!(b, "home");
    assert!(!b.drove(BoltPosition::Locked));
    assert!(!b.lock.leaving_home());
    assert_prompted!(b, Prompt::Failure(Refusal::DoorOpen));
}

#[test]
fn r_lck_4_door_opening_while_armed_raises_intrusion() {
    let mut b = armed();
    // Someone inside turns the bolt back and opens.
    b.event(Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
    b.open_door();
    assert_saw!(b, Action::Notify(Notice::Alarm(AlarmKind::Intrusion)));
    assert!(b.logs().contains(&LogEntry::Alarm(AlarmKind::Intrusion)));
    assert!(b.lock.alarms().contains(AlarmKind::Intrusion));
}

#[test]
fn r_lck_4_forced_door_raises_intrusion() {
    let mut b = armed();
    b.open_door();
    assert_saw!(b, Action::Notify(Notice::Alarm(AlarmKind::Intrusion)));
}

#[test]
fn r_lck_4_verified_unlock_from_outside_disarms() {
    let mut b = armed();
    b.wrong_code();
    assert!(b.lock.leaving_home(), "a failure does not disarm");
    b.wait(mins(30));
    unlock_with_admin_code(&mut b);
    assert!(!b.lock.leaving_home());
    b.open_door();
    assert_not_saw!(b, Action::Notify(Notice::Alarm(AlarmKind::Intrusion)));
    assert!(!b.lock.alarms().contains(AlarmKind::Intrusion));
}

#[test]
fn r_lck_4_unlock_by_finger_from_outside_disarms() {
    let mut b = Bench::set_up();
    b.add_finger(Role::User, "ivo");
    press!(b, "home");
    assert!(b.lock.leaving_home());
    b.finger("ivo");
    assert!(!b.lock.leaving_home());
    b.open_door();
    assert!(!b.lock.alarms().contains(AlarmKind::Intrusion));
}

#[test]
fn r_lck_1_ok_locks_after_leaving_through_a_door_unlocked_earlier_from_outside() {
    // Someone unlocks from outside and comes in; later they (or anyone) leave
    // from inside: that second opening is from inside, so ✓ outside locks.
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    b.open_door();
    b.close_door();
    b.wait(mins(30));
    b.open_door();
    b.close_door();
    press!(b, "ok");
    assert!(b.drove(BoltPosition::Locked), "{}", b.describe());
    assert!(b.logs().contains(&LogEntry::Locked(LockMethod::Keypad)));
}

#[test]
fn r_lck_1_ok_lights_after_the_door_was_opened_from_inside() {
    let mut b = Bench::set_up();
    b.event(Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
    b.open_door();
    b.close_door();
    // No touch: the lock lights ✓ by itself, and ✓ locks.
    let lit = b.lock.keypad().unwrap_or_default();
    assert!(lit.contains(Key::Ok), "✓ is not lit: {lit:?}");
    b.raw_keys("ok");
    assert!(b.drove(BoltPosition::Locked), "{}", b.describe());
}

#[test]
fn r_lck_2_countdown_also_after_an_unlock_by_hand() {
    // "locks by itself a set time after it was unlocked": also when the bolt
    // was turned back by hand inside (or by the key) and the door stays shut.
    let mut b = with_countdown(10);
    b.event(Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
    b.wait(secs(10));
    assert!(b.drove(BoltPosition::Locked), "{}", b.describe());
    assert!(b.logs().contains(&LogEntry::Locked(LockMethod::Countdown)));
}
