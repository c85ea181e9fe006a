//! §3 Unlocking and locking: R-UNL-1…3, R-LCK-1…4.

use lock_core::{
    Action, AlarmKind, AppCommand, BOLT_TRAVEL_LIMIT, BiometricKind, BoltPosition, BoltReport,
    BoltState, Change, DoorDirection, Event, Key, KeyMask, Link, LockMethod, LogEntry, Method,
    MotorDirection, Notice, Privilege, Prompt, Refusal, Reply, Role, Setting,
};

use crate::harness::*;

fn unlock_with_admin_code(b: &mut Bench) {
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
}

fn motor(b: &Bench, to: BoltPosition) -> MotorDirection {
    b.actions()
        .find_map(|a| match a {
            Action::DriveBolt { to: t, motor } if *t == to => Some(*motor),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no drive to {to:?}:\n{}", b.describe()))
}

// ----- R-UNL-1 ---------------------------------------------------------------

#[test]
fn r_unl_1_passcode_unlocks() {
    let mut b = Bench::set_up();
    unlock_with_admin_code(&mut b);
    assert!(b.logs().contains(&LogEntry::Unlock {
        person: Some(n(1)),
        method: Method::Passcode
    }));
}

#[test]
fn r_unl_1_face_palm_and_fingerprint_unlock() {
    let mut b = Bench::set_up();
    let fay = b.add_person(
        Role::User,
        &[Cred::Face("fay"), Cred::Palm("fay"), Cred::Finger("fay")],
    );
    for kind in BiometricKind::ALL {
        b.present(kind, "fay");
        assert!(
            b.drove(BoltPosition::Unlocked),
            "{kind:?}:\n{}",
            b.describe()
        );
        assert!(b.logs().contains(&LogEntry::Unlock {
            person: Some(fay),
            method: Method::from(kind)
        }));
        b.event(Event::LockButton);
        assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
    }
}

#[test]
fn r_unl_1_face_after_a_touch_unlocks() {
    let mut b = Bench::set_up();
    b.add_person(Role::User, &[Cred::Face("gia")]);
    b.touch();
    assert_saw!(
        b,
        Action::Module(lock_core::ModuleCommand::Identify(BiometricKind::Face))
    );
    b.face("gia");
    assert!(b.drove(BoltPosition::Unlocked));
}

#[test]
fn r_unl_1_mechanical_key_is_logged_and_moves_the_bolt_itself() {
    let mut b = Bench::set_up();
    b.event(Event::MechanicalKey);
    assert!(b.logs().contains(&LogEntry::Unlock {
        person: None,
        method: Method::MechanicalKey
    }));
    assert!(
        !b.saw(|a| matches!(a, Action::DriveBolt { .. })),
        "the key turns the bolt, not the motor"
    );
    b.event(Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
}

#[test]
fn r_unl_1_bluetooth_key_unlocks() {
    let mut b = Bench::set_up();
    let reply = b.app(Privilege::Visitor, Link::Bluetooth, AppCommand::Unlock);
    assert_eq!(reply, Reply::Done);
    assert!(b.drove(BoltPosition::Unlocked));
    assert!(b.logs().contains(&LogEntry::Unlock {
        person: None,
        method: Method::BluetoothKey
    }));
}

#[test]
fn r_unl_1_remote_unlock_only_when_enabled() {
    let mut b = Bench::set_up();
    let reply = b.app(Privilege::Administrator, Link::Remote, AppCommand::Unlock);
    assert_eq!(reply, Reply::Refused(Refusal::RemoteUnlockDisabled));
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_eq!(
        b.admin_app(AppCommand::Configure(Setting::RemoteUnlock(true))),
        Reply::Done
    );
    let reply = b.app(Privilege::User, Link::Remote, AppCommand::Unlock);
    assert_eq!(reply, Reply::Done);
    assert!(b.drove(BoltPosition::Unlocked));
    assert!(b.logs().contains(&LogEntry::Unlock {
        person: None,
        method: Method::Remote
    }));
}

// ----- R-UNL-2 ---------------------------------------------------------------

#[test]
fn r_unl_2_success_drives_the_motor_plays_success_and_logs_who_and_how() {
    let mut b = Bench::set_up();
    let hugo = b.add_finger(Role::User, "hugo");
    b.finger("hugo");
    let actions: Vec<&Action> = b.batches()[0].actions.iter().collect();
    assert!(
        actions.iter().any(|a| matches!(
            a,
            Action::DriveBolt {
                to: BoltPosition::Unlocked,
                ..
            }
        )),
        "{actions:?}"
    );
    assert_prompted!(b, Prompt::Unlocked);
    assert!(b.logs().contains(&LogEntry::Unlock {
        person: Some(hugo),
        method: Method::Finger
    }));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Unlocked));
    // The log record carries the person number, on the journal too.
    assert!(b.journal.iter().any(|r| r.entry
        == LogEntry::Unlock {
            person: Some(hugo),
            method: Method::Finger
        }));
}

#[test]
fn r_unl_2_no_match_does_not_move_the_bolt() {
    let mut b = Bench::set_up();
    b.add_finger(Role::User, "hugo");
    b.finger("impostor");
    assert!(!b.saw(|a| matches!(a, Action::DriveBolt { .. })));
    assert_prompted!(b, Prompt::Failure(Refusal::NoMatch));
    assert!(b.logged("unlock-failed"));
    assert_eq!(b.lock.bolt(), BoltState::At(BoltPosition::Locked));
}

// ----- R-UNL-3 ---------------------------------------------------------------

#[test]
fn r_unl_3_first_start_asks_for_the_door_direction_first() {
    let mut b = Bench::fresh();
    assert_prompted!(b, Prompt::DoorDirection);
    assert_eq!(
        b.lock.keypad(),
        Some(KeyMask::of(Key::Ok).with(Key::Back)),
        "awake without a touch"
    );
    // Nothing else is offered yet.
    b.set();
    assert!(!b.prompted(Prompt::VerifyAdministrator));
    b.raw_keys("1");
    assert_eq!(b.lock.settings().door_direction, None, "✓ comes first");
    b.raw_keys("ok");
    assert_eq!(
        b.lock.keypad(),
        Some(
            KeyMask::of(Key::Digit(1))
                .with(Key::Digit(2))
                .with(Key::Back)
        )
    );
    assert!(!b.prompted(Prompt::CreateAdministrator));
    b.raw_keys("3");
    assert_prompted!(b, Prompt::Failure(Refusal::OutOfRange));
    assert_eq!(b.lock.settings().door_direction, None);
    b.raw_keys("2");
    assert_eq!(b.lock.settings().door_direction, Some(DoorDirection::Left));
    assert!(b.persisted(|c| matches!(
        c,
        Change::Settings(s) if s.door_direction == Some(DoorDirection::Left)
    )));
    assert!(
        b.logs()
            .contains(&LogEntry::DoorDirection(DoorDirection::Left))
    );
    // Only then does R-MNU-2 follow.
    assert_eq!(
        b.prompts(),
        vec![Prompt::Success, Prompt::CreateAdministrator]
    );
}

#[test]
fn r_unl_3_back_returns_to_the_question() {
    let mut b = Bench::fresh();
    b.raw_keys("ok back 1");
    assert_eq!(b.lock.settings().door_direction, None);
    b.raw_keys("ok 1");
    assert_eq!(b.lock.settings().door_direction, Some(DoorDirection::Right));
}

#[test]
fn r_unl_3_question_asked_again_after_timeout_and_restart() {
    let mut b = Bench::fresh();
    b.wait(secs(20));
    assert_eq!(b.lock.keypad(), None);
    b.touch();
    assert_prompted!(b, Prompt::DoorDirection);
    b.power_cycle();
    assert_prompted!(b, Prompt::DoorDirection);
    assert!(b.lock.keypad().is_some());
    // Answered and restarted: not asked again, and R-MNU-2 is next.
    b.raw_keys("ok 1");
    b.power_cycle();
    assert!(!b.prompted(Prompt::DoorDirection));
    b.touch();
    assert_prompted!(b, Prompt::CreateAdministrator);
    assert_eq!(b.lock.settings().door_direction, Some(DoorDirection::Right));
}

#[test]
fn r_unl_3_direction_sets_the_motor_direction() {
    let mut right = Bench::fresh();
    right.first_start(DoorDirection::Right, ADMIN_CODE);
    unlock_with_admin_code(&mut right);
    let right_unlock = motor(&right, BoltPosition::Unlocked);
    right.event(Event::LockButton);
    let right_lock = motor(&right, BoltPosition::Locked);

    let mut left = Bench::fresh();
    left.first_start(DoorDirection::Left, ADMIN_CODE);
    unlock_with_admin_code(&mut left);
    let left_unlock = motor(&left, BoltPosition::Unlocked);
    left.event(Event::LockButton);
    let left_lock = motor(&left, BoltPosition::Locked);

    assert_ne!(right_unlock, right_lock);
    assert_ne!(left_unlock, left_lock);
    assert_ne!(right_unlock, left_unlock, "a left door mirrors the motor");
    assert_eq!(right_unlock, left_lock);
}

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
    b.wait(times(BOLT_TRAVEL_LIMIT, 2));
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
    b.wait(times(BOLT_TRAVEL_LIMIT, 2));
    assert_not_saw!(b, Action::StopMotor);
}

#[test]
fn r_lck_3_body_timeout_is_a_jam() {
    let mut b = Bench::set_up();
    b.body = Body::Silent;
    b.event(Event::LockButton);
    assert_eq!(b.lock.bolt(), BoltState::Moving(BoltPosition::Locked));
    b.event(Event::Bolt(BoltReport::TimedOut));
    assert_jammed(&b);
}

#[test]
fn r_lck_3_no_report_at_all_stops_the_motor_at_the_backstop() {
    let mut b = Bench::set_up();
    b.body = Body::Silent;
    unlock_with_admin_code(&mut b);
    assert_not_saw!(b, Action::StopMotor);
    b.wait(just_before(BOLT_TRAVEL_LIMIT));
    assert_not_saw!(b, Action::StopMotor);
    assert_eq!(b.lock.bolt(), BoltState::Moving(BoltPosition::Unlocked));
    b.wait(millis(1));
    assert_jammed(&b);
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
