//! §7 The app side, as far as the core decides it: R-APP-3's people
//! management (add, name, weekly schedules). The protocol around it
//! (pairing, frames, challenges) is lock-proto's and tested there.

use lock_core::{
    AppCommand, BoltPosition, Change, Link, LogEntry, Name, Privilege, Prompt, Refusal, Reply,
    Role, Validity, WeeklySchedule,
};

use crate::harness::*;

/// 2027-01-04 00:00:00 UTC, a Monday.
const MONDAY: u64 = 1_799_020_800;

#[test]
fn r_app_3_add_person_with_a_passcode_takes_the_lowest_free_number() {
    let mut b = Bench::set_up();
    let reply = b.admin_app(AppCommand::AddPerson {
        number: None,
        role: Role::User,
        passcode: code("730418"),
        validity: Validity::ALWAYS,
    });
    assert_eq!(reply, Reply::PersonAdded(n(2)));
    assert!(b.persisted(|c| matches!(c, Change::Person(p) if p.number == n(2))));
    assert!(b.logs().contains(&LogEntry::UserAdded {
        person: n(2),
        role: Role::User,
        by: Actor::Pairing(1),
    }));
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
    // Kept across a power cut (the store replays the change).
    b.power_cycle();
    assert_eq!(b.lock.people().get(n(2)).map(|p| p.role), Some(Role::User));
}

#[test]
fn r_app_3_add_person_keeps_the_passcode_rules() {
    let mut b = Bench::set_up();
    let add = |code_text: &str| AppCommand::AddPerson {
        number: None,
        role: Role::User,
        passcode: code(code_text),
        validity: Validity::ALWAYS,
    };
    // R-PIN-2: too weak.
    assert!(matches!(
        b.admin_app(add("123456")),
        Reply::Refused(Refusal::Passcode(_))
    ));
    // R-PIN-5: contains the administrator's code.
    assert!(matches!(
        b.admin_app(add(&format!("9{ADMIN_CODE}"))),
        Reply::Refused(Refusal::Passcode(_))
    ));
    assert_eq!(b.lock.people().len(), 1);
    assert!(!b.persisted(|c| matches!(c, Change::Person(_))));
}

#[test]
fn r_app_3_s_pr_4_only_an_administrator_adds_names_and_schedules() {
    let mut b = Bench::set_up();
    for command in [
        AppCommand::AddPerson {
            number: None,
            role: Role::Administrator,
            passcode: code("730418"),
            validity: Validity::ALWAYS,
        },
        AppCommand::NamePerson {
            person: n(1),
            name: Name::new("Mallory").unwrap(),
        },
        AppCommand::SetSchedule {
            person: n(1),
            schedule: None,
        },
    ] {
        for privilege in [Privilege::Visitor, Privilege::User] {
            assert_eq!(
                b.app(privilege, Link::Bluetooth, command),
                Reply::Refused(Refusal::NotPermitted)
            );
        }
    }
    assert_eq!(b.lock.people().len(), 1);
}

#[test]
fn r_app_3_a_name_is_stored_and_survives_a_power_cut() {
    let mut b = Bench::set_up();
    let name = Name::new("Ada Lovelace").unwrap();
    assert_eq!(
        b.admin_app(AppCommand::NamePerson { person: n(1), name }),
        Reply::Done
    );
    assert!(b.persisted(|c| matches!(c, Change::Person(p) if p.name == name)));
    b.power_cycle();
    assert_eq!(
        b.lock.people().get(n(1)).unwrap().name.as_str(),
        "Ada Lovelace"
    );
    assert_eq!(
        b.admin_app(AppCommand::NamePerson { person: n(9), name }),
        Reply::Refused(Refusal::NoSuchPerson)
    );
}

#[test]
fn names_refuse_control_characters_and_overlong_text() {
    assert!(Name::new("Zoë").is_ok());
    assert!(Name::new("sixteen bytes ok").is_ok());
    assert!(Name::new("seventeen bytes!!").is_err());
    assert!(Name::new("bell\u{7}").is_err());
    assert!(Name::new("").unwrap().is_valid());
}

#[test]
fn r_app_3_a_weekly_schedule_limits_a_person_and_fails_closed() {
    let mut b = Bench::set_up();
    let who = b.add_user_with_passcode("730418");
    // Monday to Friday, 09:00 to 17:00 UTC.
    let office = WeeklySchedule {
        days: 0b001_1111,
        from_minute: 9 * 60,
        until_minute: 17 * 60,
        utc_offset_minutes: 0,
    };
    assert_eq!(
        b.admin_app(AppCommand::SetSchedule {
            person: who,
            schedule: Some(office)
        }),
        Reply::Done
    );
    // No trusted clock yet: refused as outside validity (S-VC-2).
    press!(b, "730418 ok");
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    // Saturday noon: outside, and not counted towards the lockout.
    b.set_clock(MONDAY + 5 * 86_400 + 12 * 3600);
    for _ in 0..6 {
        press!(b, "730418 ok");
        assert!(!b.drove(BoltPosition::Unlocked));
        assert_prompted!(b, Prompt::Failure(Refusal::OutsideValidity));
    }
    assert_eq!(b.lock.failures_since_success(), 0);
    // Monday 10:00: inside.
    b.set_clock(MONDAY + 7 * 86_400 + 10 * 3600);
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
    // Lifted: the person opens whenever their validity allows.
    b.admin_app(AppCommand::SetSchedule {
        person: who,
        schedule: None,
    });
    assert!(b.lock.people().get(who).unwrap().schedule.is_none());
}

#[test]
fn r_app_3_an_invalid_schedule_or_name_is_refused_and_nothing_changes() {
    let mut b = Bench::set_up();
    let bad = WeeklySchedule {
        days: 0,
        from_minute: 0,
        until_minute: 60,
        utc_offset_minutes: 0,
    };
    assert_eq!(
        b.admin_app(AppCommand::SetSchedule {
            person: n(1),
            schedule: Some(bad)
        }),
        Reply::Refused(Refusal::OutOfRange)
    );
    assert!(!b.persisted(|c| matches!(c, Change::Person(_))));
}
