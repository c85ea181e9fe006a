//! §1 People and credentials: R-USR-1, 2 and 4…6: the two roles, person
//! numbers, deletion and what it takes with it, validity periods. How many
//! credentials fit and duplicates (R-USR-3, R-USR-7) are in
//! `people_credentials.rs`.

use lock_core::{
    Action, AppCommand, BiometricKind, BoltPosition, Change, Event, LogEntry, Method,
    ModuleCommand, Person, Prompt, Refusal, Reply, Role, TemplateId, Timestamp, Validity,
};

use crate::harness::*;

// ----- R-USR-1 ---------------------------------------------------------------

#[test]
fn r_usr_1_administrator_unlocks_and_opens_the_menu() {
    let mut b = Bench::set_up();
    let admin = b.add_person(Role::Administrator, &[Cred::Code("730418")]);
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
    b.set();
    press!(b, "730418 ok");
    assert!(b.lock.in_menu(), "{}", b.describe());
    assert_eq!(
        b.lock.people().get(admin).unwrap().role,
        Role::Administrator
    );
}

#[test]
fn r_usr_1_user_only_unlocks() {
    let mut b = Bench::set_up();
    b.add_user_with_passcode("730418");
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
    b.set();
    press!(b, "730418 ok");
    assert!(!b.lock.in_menu());
    assert_prompted!(b, Prompt::Failure(Refusal::NotAdministrator));
    assert!(
        !b.drove(BoltPosition::Unlocked),
        "verifying for the menu never opens"
    );
}

#[test]
fn r_usr_1_user_finger_does_not_open_the_menu() {
    let mut b = Bench::set_up();
    b.add_finger(Role::User, "ulla");
    b.set();
    b.finger("ulla");
    assert!(!b.lock.in_menu());
    assert_prompted!(b, Prompt::Failure(Refusal::NotAdministrator));
}

// ----- R-USR-2 ---------------------------------------------------------------

#[test]
fn r_usr_2_numbers_from_001_lowest_free_first() {
    let mut b = Bench::set_up();
    assert!(b.lock.people().get(n(1)).is_some(), "first start made 001");
    assert_eq!(b.add_user_with_passcode("730418"), n(2));
    assert_eq!(b.add_finger(Role::User, "carl"), n(3));
    assert_eq!(b.add_finger(Role::Administrator, "dora"), n(4));
    b.open_menu();
    press!(b, "3 002 ok");
    assert!(b.lock.people().get(n(2)).is_none());
    press!(b, "back");
    assert_eq!(
        b.add_finger(Role::User, "emil"),
        n(2),
        "the lowest free number is reused"
    );
    assert_eq!(b.add_finger(Role::User, "fred"), n(5));
}

#[test]
fn r_usr_2_at_least_100_people() {
    // 99 people built directly: 50 with passcodes (001 is the administrator),
    // 49 with a fingerprint each; the 100th is added at the keypad with a face.
    let mut s = admin_snapshot();
    for i in 2..=50u8 {
        s.people
            .push(person_with_code(i, Role::User, &nth_code(u16::from(i))))
            .unwrap();
    }
    for i in 51..=99u8 {
        let mut p = Person::new(n(i), Role::User);
        assert!(p.add_template(BiometricKind::Finger, TemplateId(u16::from(i))));
        s.people.push(p).unwrap();
    }
    let mut b = Bench::restored(s);
    assert_eq!(b.lock.people().len(), 99);
    assert_eq!(b.add_person(Role::User, &[Cred::Face("hundred")]), n(100));
    assert_eq!(b.lock.people().len(), 100);
    b.face("hundred");
    assert!(b.drove(BoltPosition::Unlocked), "person 100 opens");

    b.open_menu();
    press!(b, "2");
    assert_prompted!(b, Prompt::Failure(Refusal::PeopleFull));
    assert!(
        !b.saw(|a| matches!(a, Action::Prompt(Prompt::PersonNumber(_)))),
        "no number is announced when none is free"
    );
}

// ----- R-USR-4 ---------------------------------------------------------------

#[test]
fn r_usr_4_last_administrator_cannot_be_deleted() {
    let mut b = Bench::set_up();
    b.add_user_with_passcode("730418");
    b.open_menu();
    press!(b, "3 001 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::LastAdministrator));
    assert!(!b.persisted(|c| matches!(c, Change::PersonDeleted(_))));
    assert_eq!(b.lock.people().len(), 2);
    press!(b, "back back");

    let reply = b.admin_app(AppCommand::DeletePerson(n(1)));
    assert_eq!(reply, Reply::Refused(Refusal::LastAdministrator));
    assert_eq!(b.lock.people().len(), 2);

    // With a second administrator, the first may go.
    let second = b.add_person(Role::Administrator, &[Cred::Finger("zoe")]);
    assert_eq!(b.admin_app(AppCommand::DeletePerson(n(1))), Reply::Done);
    assert!(b.lock.people().get(n(1)).is_none());
    // …but now the second is the last one.
    assert_eq!(
        b.admin_app(AppCommand::DeletePerson(second)),
        Reply::Refused(Refusal::LastAdministrator)
    );
}

#[test]
fn r_usr_4_only_person_cannot_be_deleted() {
    let mut b = Bench::set_up();
    b.open_menu();
    press!(b, "3 001 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::OnlyPerson));
    assert_eq!(b.lock.people().len(), 1);
    assert_eq!(
        b.admin_app(AppCommand::DeletePerson(n(1))),
        Reply::Refused(Refusal::OnlyPerson)
    );
    assert_eq!(b.lock.people().len(), 1);
}

#[test]
fn r_usr_4_wrong_number_refused_nothing_deleted() {
    let mut b = Bench::set_up();
    b.add_user_with_passcode("730418");
    let before = format!("{:?}", b.lock.snapshot());
    b.open_menu();
    for typed in [
        "003 ok", "000 ok", "101 ok", "999 ok", "2 ok", "02 ok", "0002 ok", "ok",
    ] {
        press!(b, "3");
        press!(b, typed);
        assert_prompted!(b, Prompt::Failure(Refusal::NoSuchPerson));
        assert!(
            !b.persisted(|c| matches!(c, Change::PersonDeleted(_))),
            "{typed}"
        );
        press!(b, "back");
    }
    assert_eq!(
        b.admin_app(AppCommand::DeletePerson(n(77))),
        Reply::Refused(Refusal::NoSuchPerson)
    );
    assert_eq!(format!("{:?}", b.lock.snapshot()), before);
}

// ----- R-USR-5 ---------------------------------------------------------------

#[test]
fn r_usr_5_deleting_a_person_deletes_every_credential_in_store_and_modules() {
    let mut b = Bench::set_up();
    let who = b.add_person(
        Role::User,
        &[
            Cred::Finger("gus-thumb"),
            Cred::Finger("gus-index"),
            Cred::Face("gus"),
            Cred::Palm("gus"),
            Cred::Code("730418"),
        ],
    );
    let templates = [
        (
            BiometricKind::Finger,
            b.template_of(BiometricKind::Finger, "gus-thumb").unwrap(),
        ),
        (
            BiometricKind::Finger,
            b.template_of(BiometricKind::Finger, "gus-index").unwrap(),
        ),
        (
            BiometricKind::Face,
            b.template_of(BiometricKind::Face, "gus").unwrap(),
        ),
        (
            BiometricKind::Palm,
            b.template_of(BiometricKind::Palm, "gus").unwrap(),
        ),
    ];
    b.open_menu();
    press!(b, "3 002 ok");
    assert_eq!(who, n(2));
    let commands = b.module_commands();
    for (kind, template) in templates {
        assert!(
            commands.contains(&ModuleCommand::Delete { kind, template }),
            "{kind:?} {template:?} not deleted in its module:\n{}",
            b.describe()
        );
    }
    assert_eq!(commands.len(), 4, "{commands:?}");
    // The store's record goes first, so a restart finishes the module deletions.
    let first_delete = b
        .actions()
        .position(|a| matches!(a, Action::Module(ModuleCommand::Delete { .. })))
        .unwrap();
    let record = b
        .actions()
        .position(|a| matches!(a, Action::Persist(Change::PersonDeleted(p)) if *p == who))
        .unwrap();
    assert!(record < first_delete);
    assert!(b.logs().contains(&LogEntry::UserDeleted {
        person: who,
        by: Actor::Person(n(1)),
    }));
    press!(b, "back");

    assert!(b.lock.people().get(who).is_none());
    assert!(b.flash.person(who).is_none(), "gone from the store");
    for kind in BiometricKind::ALL {
        assert_eq!(b.lock.people().template_count(kind), 0);
    }
    // None of it opens any more.
    press!(b, "730418 ok");
    assert!(!b.drove(BoltPosition::Unlocked));
    b.finger("gus-thumb");
    assert!(!b.drove(BoltPosition::Unlocked));
    b.face("gus");
    assert!(!b.drove(BoltPosition::Unlocked));
    // The freed passcode may be given to someone else (no R-PIN-5 clash).
    b.add_user_with_passcode("730418");
}

#[test]
fn r_usr_5_deleting_from_the_app_deletes_module_templates_too() {
    let mut b = Bench::set_up();
    let who = b.add_person(Role::User, &[Cred::Face("hal"), Cred::Palm("hal")]);
    let face = b.template_of(BiometricKind::Face, "hal").unwrap();
    let palm = b.template_of(BiometricKind::Palm, "hal").unwrap();
    let duress = AppCommand::SetDuressPasscode {
        person: who,
        code: code("916027"),
    };
    assert_eq!(b.admin_app(duress), Reply::Done);
    assert_eq!(b.admin_app(AppCommand::DeletePerson(who)), Reply::Done);
    let commands = b.module_commands();
    assert!(commands.contains(&ModuleCommand::Delete {
        kind: BiometricKind::Face,
        template: face
    }));
    assert!(commands.contains(&ModuleCommand::Delete {
        kind: BiometricKind::Palm,
        template: palm
    }));
    assert!(b.lock.people().get(who).is_none());
    b.palm("hal");
    assert!(!b.drove(BoltPosition::Unlocked));
    // Their duress code went with them: it opens nothing and is free again.
    press!(b, "916027 ok");
    assert!(!b.drove(BoltPosition::Unlocked));
    let reuse = AppCommand::SetDuressPasscode {
        person: n(1),
        code: code("916027"),
    };
    assert_eq!(b.admin_app(reuse), Reply::Done);
}

// ----- R-USR-6 ---------------------------------------------------------------

const T0: u64 = 1_767_225_600; // 2026-01-01 00:00:00 UTC

#[test]
fn r_usr_6_outside_validity_refused_logged_not_counted() {
    let mut b = Bench::set_up();
    b.set_clock(T0);
    let who = b.add_user_with_passcode("730418");
    let reply = b.admin_app(AppCommand::SetValidity {
        person: who,
        validity: Validity {
            from: Some(Timestamp(T0 + 3600)),
            until: Some(Timestamp(T0 + 7200)),
        },
    });
    assert_eq!(reply, Reply::Done);

    // Before `from`: refused with the reason, logged, never counted, however often.
    for _ in 0..7 {
        press!(b, "730418 ok");
        assert!(!b.drove(BoltPosition::Unlocked));
        assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
        assert!(
            b.logs().contains(&LogEntry::UnlockFailed {
                person: Some(who),
                method: Method::Passcode,
                reason: Refusal::OutsideValidity,
            }),
            "{}",
            b.describe()
        );
        assert!(!b.persisted(|c| matches!(c, Change::Attempts(_))));
    }
    assert_eq!(b.lock.failures_since_success(), 0);
    assert_eq!(b.lock.lockout(b.now), None);

    // Inside the period: opens.
    b.wait(secs(3600));
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
    b.event(Event::LockButton);

    // After `until` (inclusive bound): refused again.
    b.wait(secs(3601));
    press!(b, "730418 ok");
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    assert_eq!(b.lock.failures_since_success(), 0);
}

#[test]
fn r_usr_6_outside_validity_biometric_not_counted_and_count_kept() {
    let mut b = Bench::set_up();
    b.set_clock(T0);
    let who = b.add_finger(Role::User, "ida");
    b.admin_app(AppCommand::SetValidity {
        person: who,
        validity: Validity {
            from: None,
            until: Some(Timestamp(T0 - 1)),
        },
    });
    // Four real failures, then the expired finger five times: no lockout, and
    // the four still count (an expired credential is no success either).
    for _ in 0..4 {
        b.wrong_code();
    }
    for _ in 0..5 {
        b.finger("ida");
        assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
        assert!(b.logged("unlock-failed"));
    }
    assert_eq!(b.lock.lockout(b.now), None);
    assert_eq!(b.lock.failures_since_success(), 4);
    b.wrong_code();
    assert!(
        b.lock.lockout(b.now).is_some(),
        "the fifth real failure locks"
    );
}

#[test]
fn r_usr_6_bounded_validity_without_a_trusted_clock_refuses() {
    // S-VC-2: a restart loses the wall clock; a bounded period fails closed
    // until the app sets it again, while unbounded people keep working.
    let mut b = Bench::set_up();
    b.set_clock(T0);
    let who = b.add_user_with_passcode("730418");
    b.admin_app(AppCommand::SetValidity {
        person: who,
        validity: Validity {
            from: Some(Timestamp(T0 - 10)),
            until: Some(Timestamp(T0 + 86_400)),
        },
    });
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked));
    b.power_cycle();
    press!(b, "730418 ok");
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(
        b.drove(BoltPosition::Unlocked),
        "unbounded people still open"
    );
    b.set_clock(T0 + 60);
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked));
}

#[test]
fn r_usr_6_s_vc_3_clock_never_moves_back_far_enough_to_revive_an_expired_person() {
    let mut b = Bench::set_up();
    b.set_clock(T0);
    let who = b.add_user_with_passcode("730418");
    b.admin_app(AppCommand::SetValidity {
        person: who,
        validity: Validity {
            from: None,
            until: Some(Timestamp(T0 - 3600)),
        },
    });
    // An hour back would revive them: refused, and the clock keeps its time.
    assert_eq!(
        b.admin_app(AppCommand::SetClock(Timestamp(T0 - 7200))),
        Reply::Refused(Refusal::ClockBackwards)
    );
    press!(b, "730418 ok");
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    // A small correction (drift) is accepted, but small steps do not add up.
    assert_eq!(
        b.admin_app(AppCommand::SetClock(Timestamp(T0 - 60))),
        Reply::Done
    );
    for step in 2..=4 {
        b.admin_app(AppCommand::SetClock(Timestamp(T0 - 60 * 2 * step)));
    }
    assert_eq!(
        b.admin_app(AppCommand::SetClock(Timestamp(T0 - 3600))),
        Reply::Refused(Refusal::ClockBackwards)
    );
    assert!(b.lock.wall_clock(b.now).unwrap().0 >= T0 - 300 - 60);
}
