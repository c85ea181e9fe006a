//! §3 Unlocking: R-UNL-1…3, every way to unlock, what a success does, the
//! door direction asked at first start. Locking (R-LCK-1…4) is in
//! `locking.rs`.

use lock_core::{
    Action, AppCommand, BiometricKind, BoltPosition, BoltReport, BoltState, Change, DoorDirection,
    Event, Key, KeyMask, Link, LogEntry, Method, MotorDirection, Privilege, Prompt, Refusal, Reply,
    Role, Setting,
};

use crate::harness::*;

pub(super) fn unlock_with_admin_code(b: &mut Bench) {
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
