//! §10 Matter, as far as the core decides it: R-MTR-2's people at a
//! chosen number (a Matter user index) under the passcode rules, and
//! R-MTR-3's unlock with a PIN sent along — a verification like one at the
//! keypad, counted towards the same lockout. The cluster around it is
//! lock-matter's and tested there.

use lock_core::{
    AppCommand, BoltPosition, Link, LockoutCause, LogEntry, Method, Privilege, Prompt, Refusal,
    Reply, Role, Setting, Validity,
};

use crate::harness::*;

fn add_at(number: u8, code_text: &str) -> AppCommand {
    AppCommand::AddPerson {
        number: Some(n(number)),
        role: Role::User,
        passcode: code(code_text),
        validity: Validity::ALWAYS,
    }
}

fn remote_on(b: &mut Bench) {
    assert_eq!(
        b.admin_app(AppCommand::Configure(Setting::RemoteUnlock(true))),
        Reply::Done
    );
}

fn unlock_with(b: &mut Bench, code_text: &str) -> Reply {
    b.app(
        Privilege::User,
        Link::Remote,
        AppCommand::UnlockWithPasscode(code(code_text)),
    )
}

#[test]
fn r_mtr_2_a_person_is_added_at_the_number_asked_for() {
    let mut b = Bench::set_up();
    assert_eq!(b.admin_app(add_at(7, "730418")), Reply::PersonAdded(n(7)));
    assert_eq!(b.lock.people().get(n(7)).map(|p| p.role), Some(Role::User));
    // A taken number is refused and nothing changes.
    assert_eq!(
        b.admin_app(add_at(7, "640297")),
        Reply::Refused(Refusal::OutOfRange)
    );
    assert_eq!(
        b.admin_app(add_at(1, "640297")),
        Reply::Refused(Refusal::OutOfRange)
    );
    assert_eq!(b.lock.people().len(), 2);
    // R-PIN-2 and R-PIN-5 hold at a chosen number too.
    assert!(matches!(
        b.admin_app(add_at(8, "123456")),
        Reply::Refused(Refusal::Passcode(_))
    ));
    assert!(matches!(
        b.admin_app(add_at(8, &format!("{ADMIN_CODE}1"))),
        Reply::Refused(Refusal::Passcode(_))
    ));
    assert!(b.lock.people().get(n(8)).is_none());
    b.power_cycle();
    assert!(b.lock.people().get(n(7)).is_some());
}

#[test]
fn r_mtr_3_an_unlock_with_a_stored_passcode_opens_and_logs_the_person() {
    let mut b = Bench::set_up();
    remote_on(&mut b);
    assert_eq!(unlock_with(&mut b, ADMIN_CODE), Reply::Done);
    assert!(b.drove(BoltPosition::Unlocked));
    assert!(b.logs().contains(&LogEntry::Unlock {
        person: Some(n(1)),
        method: Method::Remote
    }));
}

#[test]
fn r_mtr_3_an_unlock_with_a_passcode_is_refused_unless_remote_unlock_is_on() {
    let mut b = Bench::set_up();
    assert_eq!(
        unlock_with(&mut b, ADMIN_CODE),
        Reply::Refused(Refusal::RemoteUnlockDisabled)
    );
    assert!(!b.drove(BoltPosition::Unlocked));
    // Refused before the code is looked at: not counted.
    assert_eq!(b.lock.failures_since_success(), 0);
}

#[test]
fn r_mtr_3_the_code_must_match_exactly_extra_digits_do_not_apply() {
    let mut b = Bench::set_up();
    remote_on(&mut b);
    let reply = unlock_with(&mut b, &format!("77{ADMIN_CODE}"));
    assert_eq!(reply, Reply::Refused(Refusal::NoMatch));
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_eq!(b.lock.failures_since_success(), 1);
}

#[test]
fn r_mtr_3_r_lko_1_wrong_codes_from_afar_and_at_the_keypad_share_one_count() {
    let mut b = Bench::set_up();
    remote_on(&mut b);
    for _ in 0..3 {
        assert_eq!(
            unlock_with(&mut b, "909091"),
            Reply::Refused(Refusal::NoMatch)
        );
        assert!(b.logs().contains(&LogEntry::UnlockFailed {
            person: None,
            method: Method::Remote,
            reason: Refusal::NoMatch,
        }));
    }
    b.wrong_code();
    assert_eq!(b.lock.lockout(b.now), None);
    b.wrong_code();
    let lockout = b.lock.lockout(b.now).expect("locked out");
    assert_eq!(lockout.cause, LockoutCause::Burst);
    // During the lockout the right code is refused unchecked, from afar
    // and at the keypad.
    assert_eq!(
        unlock_with(&mut b, ADMIN_CODE),
        Reply::Refused(Refusal::SystemLocked)
    );
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert_prompted!(b, Prompt::SystemLocked);
    assert!(!b.drove(BoltPosition::Unlocked));
}

#[test]
fn r_mtr_3_s_pr_4_a_visitor_key_cannot_unlock_with_a_code_from_afar() {
    let mut b = Bench::set_up();
    remote_on(&mut b);
    let reply = b.app(
        Privilege::Visitor,
        Link::Remote,
        AppCommand::UnlockWithPasscode(code(ADMIN_CODE)),
    );
    assert_eq!(reply, Reply::Refused(Refusal::NotPermitted));
    assert_eq!(b.lock.failures_since_success(), 0);
}
