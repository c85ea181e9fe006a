//! The cases the properties found, kept as plain tests: each names the
//! property that found it and replays the smallest story that broke it, on a
//! small restored lock.

use lock_core::internals::{FACES_PER_PERSON, FINGERS_PER_PERSON, PALMS_PER_PERSON};
use lock_core::{
    Action, AppChange, AppCommand, AppRequest, BiometricEvent, BiometricKind, Change, Config,
    DoorDirection, Duration, Event, Instant, Key, Link, Lock, ModuleCommand, Person, Privilege,
    Reply, Role, Settings, Snapshot, TemplateId, Timestamp, Validity,
};

use crate::checks::*;
use crate::inputs::*;

// ----- the cases the properties found, kept as plain tests ---------------------------------

/// A lock set up with administrator 001 (`POOL[0]`) and user 002 (`POOL[1]`),
/// booted at `t = 1 s`.
fn small_lock() -> (Lock, Instant) {
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    let mut admin = Person::new(number(1), Role::Administrator);
    admin.passcode = Some(pool_passcode(0));
    let mut user = Person::new(number(2), Role::User);
    user.passcode = Some(pool_passcode(1));
    snapshot.people.push(admin).unwrap();
    snapshot.people.push(user).unwrap();
    let now = Instant::from_secs(1);
    let mut lock = Lock::restore(Config::default(), &snapshot, now).unwrap();
    lock.handle(now, Event::Boot { set_held: false });
    (lock, now)
}

/// Presses `keys` one a second from `now`, returning every action.
fn press(lock: &mut Lock, now: &mut Instant, keys: &[Key]) -> Vec<Action> {
    let mut all = Vec::new();
    for &k in keys {
        *now = *now + Duration::from_secs(1);
        all.extend(lock.handle(*now, Event::Key(k)));
    }
    all
}

fn code_keys(i: usize) -> Vec<Key> {
    let mut keys: Vec<Key> = pool_digits(i).into_iter().map(Key::Digit).collect();
    keys.push(Key::Ok);
    keys
}

/// Found by `r_mnu_1_dark_keypad_holds_no_menu`: SET, an administrator's code
/// (menu open), long SET (pairing), the app pairs. The keypad went dark but
/// the menu stayed open, with no timer left to close it: the next person to
/// touch the keypad could add an administrator.
#[test]
fn r_mnu_1_pairing_end_closes_the_menu() {
    for end in [
        Event::AppChanged(AppChange::Paired { pairing: 1 }),
        Event::Tick,
    ] {
        let (mut lock, mut now) = small_lock();
        now = now + Duration::from_secs(1);
        lock.handle(now, Event::Set);
        press(&mut lock, &mut now, &code_keys(0));
        assert!(lock.in_menu());
        lock.handle(now, Event::SetHeld);
        if let Event::Tick = end {
            now = now + lock_core::PAIRING_WINDOW;
        }
        lock.handle(now, end);
        assert_eq!(lock.keypad(), None, "{end:?}");
        assert!(
            !lock.in_menu(),
            "{end:?}: the menu outlived the dark keypad"
        );
        // Hours later, someone at the door.
        now = now + Duration::from_hours(3);
        lock.handle(now, Event::Touch);
        let actions = press(&mut lock, &mut now, &[Key::Digit(1)]);
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::Prompt(lock_core::Prompt::PersonNumber(_)))),
            "{end:?}: add-administrator offered without verification: {actions:?}"
        );
    }
}

fn admin_app(command: AppCommand) -> Event {
    Event::App(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Remote,
        command,
    })
}

/// Opens the menu as 001 and starts adding user 003 with a fingerprint, which
/// stores them (R-MNU-4); the menu stays at 003's credential choice.
fn menu_adding_user_with_finger() -> (Lock, Instant) {
    let (mut lock, mut now) = small_lock();
    lock.handle(now, Event::Set);
    press(&mut lock, &mut now, &code_keys(0));
    press(&mut lock, &mut now, &[Key::Digit(2), Key::Digit(3)]);
    let enrolled = lock.handle(
        now,
        Event::Biometric(BiometricEvent::Enrolled {
            kind: BiometricKind::Finger,
            template: TemplateId(0),
        }),
    );
    assert!(
        enrolled
            .iter()
            .any(|a| matches!(a, Action::Persist(Change::Person(p)) if p.number == number(3))),
        "{enrolled:?}"
    );
    assert!(lock.in_menu());
    (lock, now)
}

/// Found by `r_app_3_app_changes_to_a_person_stick`: the app sets a validity
/// period (or a duress code) for a person while the keypad menu is adding
/// credentials to them; the next credential stored the menu's stale copy of
/// the person and the period (or code) was gone.
#[test]
fn r_app_3_app_change_during_keypad_session_sticks() {
    let window = Validity {
        from: Some(Timestamp(WALL)),
        until: Some(Timestamp(WALL + 3_600)),
    };
    let (mut lock, mut now) = menu_adding_user_with_finger();
    let reply = lock.handle(
        now,
        admin_app(AppCommand::SetValidity {
            person: number(3),
            validity: window,
        }),
    );
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    let reply = lock.handle(
        now,
        admin_app(AppCommand::SetDuressPasscode {
            person: number(3),
            code: pool_passcode(2),
        }),
    );
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    // The administrator adds a passcode at the keypad.
    let mut keys = vec![Key::Digit(4)];
    keys.extend(code_keys(3));
    keys.extend(code_keys(3));
    press(&mut lock, &mut now, &keys);
    let p = lock.people().get(number(3)).unwrap();
    assert!(p.passcode.is_some(), "the passcode was added");
    assert_eq!(p.validity, window, "the app's validity period was undone");
    assert!(
        same_passcode(p.duress, Some(pool_passcode(2))),
        "the app's duress code was undone"
    );
}

/// Found by `r_usr_5_deleted_person_returns_only_as_new`: the app deletes a
/// person while the keypad menu is adding credentials to them; the next
/// credential brought them back with their old ones.
#[test]
fn r_usr_5_app_deletion_during_keypad_session_sticks() {
    let (mut lock, mut now) = menu_adding_user_with_finger();
    let reply = lock.handle(now, admin_app(AppCommand::DeletePerson(number(3))));
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    // The administrator, unaware, adds another fingerprint.
    press(&mut lock, &mut now, &[Key::Digit(3)]);
    let actions = lock.handle(
        now,
        Event::Biometric(BiometricEvent::Enrolled {
            kind: BiometricKind::Finger,
            template: TemplateId(1),
        }),
    );
    assert!(
        lock.people().get(number(3)).is_none(),
        "deleted 003 is back: {actions:?}"
    );
    assert!(
        actions.iter().any(|a| matches!(
            a,
            Action::Module(ModuleCommand::Delete {
                kind: BiometricKind::Finger,
                template: TemplateId(1)
            })
        )),
        "the new template must not stay in the module: {actions:?}"
    );
    // The old fingerprint does not open.
    lock.handle(now, Event::Key(Key::Back));
    lock.handle(now, Event::Key(Key::Back));
    let actions = lock.handle(
        now,
        Event::Biometric(BiometricEvent::Identified {
            kind: BiometricKind::Finger,
            template: TemplateId(0),
        }),
    );
    assert!(!unlocks(&actions), "{actions:?}");
}

/// R-PIN-5 race: a new passcode passes the overlap check at its first entry;
/// before the second, the app gives someone a duress code inside it. The
/// confirmed code must be checked again, or the store holds two overlapping
/// codes and the next restore fails (the lock would start fail-secure).
#[test]
fn r_pin_5_overlap_checked_again_at_confirmation() {
    let (mut lock, mut now) = small_lock();
    lock.handle(now, Event::Set);
    press(&mut lock, &mut now, &code_keys(0));
    press(&mut lock, &mut now, &[Key::Digit(2), Key::Digit(4)]);
    press(&mut lock, &mut now, &code_keys(5)); // "52917468", first entry
    let reply = lock.handle(
        now,
        admin_app(AppCommand::SetDuressPasscode {
            person: number(2),
            code: pool_passcode(8), // "291746", inside it
        }),
    );
    assert!(
        reply
            .iter()
            .any(|a| matches!(a, Action::Reply(Reply::Done)))
    );
    press(&mut lock, &mut now, &code_keys(5)); // second entry
    let restored = Lock::restore(Config::default(), &lock.snapshot(), now);
    assert!(restored.is_ok(), "{:?}", restored.err());
}

/// `ACTIONS_CAPACITY` is sized for deleting a person with a full set of
/// templates (15 actions), but every timer that ran out since the last event
/// runs first in the same batch: the keypad (cancelling an enrollment), the
/// lockout, the tamper siren, the pairing window, the bolt's travel limit and
/// the countdown lock. All of them at once, then the app deletes a person with
/// 3 faces, 2 palms and 5 fingers.
#[test]
fn actions_fit_when_every_timer_runs_out_before_a_full_deletion() {
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            auto_lock: true,
            auto_lock_secs: 60,
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    let mut admin = Person::new(number(1), Role::Administrator);
    admin.passcode = Some(pool_passcode(0));
    let mut full = Person::new(number(2), Role::User);
    for (kind, n) in [
        (BiometricKind::Face, FACES_PER_PERSON),
        (BiometricKind::Palm, PALMS_PER_PERSON),
        (BiometricKind::Finger, FINGERS_PER_PERSON),
    ] {
        for id in 0..n {
            assert!(full.add_template(kind, TemplateId(u16::try_from(id).unwrap())));
        }
    }
    snapshot.people.push(admin).unwrap();
    snapshot.people.push(full).unwrap();
    let mut now = Instant::from_secs(1);
    let mut lock = Lock::restore(Config::default(), &snapshot, now).unwrap();
    let step = |lock: &mut Lock, now: &mut Instant, e: Event| {
        *now = *now + Duration::from_millis(100);
        let actions = lock.handle(*now, e);
        assert_eq!(actions.dropped(), 0, "{e:?}");
    };
    step(&mut lock, &mut now, Event::Boot { set_held: false });
    // Bolt driving (travel limit) and the countdown armed.
    step(
        &mut lock,
        &mut now,
        Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Visitor,
            link: Link::Bluetooth,
            command: AppCommand::Unlock,
        }),
    );
    step(&mut lock, &mut now, Event::Tamper);
    // The menu, enrolling a face for a new user.
    step(&mut lock, &mut now, Event::Set);
    for k in code_keys(0) {
        step(&mut lock, &mut now, Event::Key(k));
    }
    step(&mut lock, &mut now, Event::Key(Key::Digit(2)));
    step(&mut lock, &mut now, Event::Key(Key::Digit(1)));
    // Pairing, and a lockout from five unknown fingers.
    step(&mut lock, &mut now, Event::SetHeld);
    for _ in 0..5 {
        step(
            &mut lock,
            &mut now,
            Event::Biometric(BiometricEvent::NoMatch {
                kind: BiometricKind::Finger,
            }),
        );
    }
    assert!(lock.lockout(now).is_some());
    // An hour without events (no ticks came), then the app deletes 002.
    now = now + Duration::from_hours(1);
    let actions = lock.handle(now, admin_app(AppCommand::DeletePerson(number(2))));
    let deletes = actions
        .iter()
        .filter(|a| matches!(a, Action::Module(ModuleCommand::Delete { .. })))
        .count();
    assert_eq!(
        actions.dropped(),
        0,
        "{} actions fit, {} dropped, {deletes} of 10 template deletions kept: {actions:#?}",
        actions.len(),
        actions.dropped()
    );
}
