//! §10 Matter, as far as the core decides it: R-MTR-2's people at a
//! chosen number (a Matter user index) under the passcode rules, and
//! R-MTR-3's unlock with a PIN sent along — a verification like one at the
//! keypad, counted towards the same lockout. The cluster around it is
//! lock-matter's and tested there.

use lock_core::{
    AppCommand, BiometricKind, BoltPosition, Link, LockoutCause, LogEntry, Method, Privilege,
    Prompt, Refusal, Reply, Role, Setting, Validity,
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

#[test]
fn r_mtr_2_a_person_enrolled_at_the_lock_gets_one_passcode_from_afar() {
    let mut b = Bench::set_up();
    let kai = b.add_finger(Role::User, "kai");
    let add = |code_text: &str| AppCommand::AddPasscode {
        person: kai,
        passcode: code(code_text),
    };
    // R-PIN-2 and R-PIN-5 first: nothing stored.
    assert!(matches!(
        b.admin_app(add("123456")),
        Reply::Refused(Refusal::Passcode(_))
    ));
    assert!(matches!(
        b.admin_app(add(&format!("{ADMIN_CODE}7"))),
        Reply::Refused(Refusal::Passcode(_))
    ));
    assert_eq!(b.admin_app(add("730418")), Reply::Done);
    assert!(b.logs().contains(&LogEntry::CredentialAdded {
        person: kai,
        kind: None,
        by: Actor::Pairing(1),
    }));
    // One passcode each.
    assert_eq!(
        b.admin_app(add("640297")),
        Reply::Refused(Refusal::Passcode(lock_core::PasscodeError::Full))
    );
    assert_eq!(
        b.admin_app(AppCommand::AddPasscode {
            person: n(9),
            passcode: code("640297"),
        }),
        Reply::Refused(Refusal::NoSuchPerson)
    );
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked));
}

#[test]
fn r_mtr_2_one_finger_is_removed_and_the_module_forgets_it() {
    let mut b = Bench::set_up();
    let kai = b.add_person(Role::User, &[Cred::Finger("kai"), Cred::Face("kai")]);
    let finger = b.template_of(BiometricKind::Finger, "kai").unwrap();
    let face = b.template_of(BiometricKind::Face, "kai").unwrap();
    let remove = |kind, template| AppCommand::RemoveTemplate {
        person: kai,
        kind,
        template,
    };
    // Not theirs: refused, nothing changes.
    assert_eq!(
        b.admin_app(remove(BiometricKind::Finger, lock_core::TemplateId(999))),
        Reply::Refused(Refusal::OutOfRange)
    );
    assert_eq!(
        b.admin_app(remove(BiometricKind::Finger, finger)),
        Reply::Done
    );
    assert!(
        b.module_commands()
            .contains(&lock_core::ModuleCommand::Delete {
                kind: BiometricKind::Finger,
                template: finger,
            })
    );
    let stored = b.lock.people().get(kai).unwrap();
    assert!(stored.fingers.is_empty());
    assert_eq!(stored.faces.as_slice(), [face]);
    // The last credential goes with the person, not alone.
    assert_eq!(
        b.admin_app(remove(BiometricKind::Face, face)),
        Reply::Refused(Refusal::OutOfRange)
    );
    b.power_cycle();
    assert!(b.lock.people().get(kai).unwrap().fingers.is_empty());
}

// ----- R-MTR-1: the onboarding code in system information (R-MNU-6) ----------

#[test]
fn r_mtr_1_system_information_speaks_the_matter_pairing_code() {
    let mut b = Bench::set_up_with(lock_core::Config {
        matter_code: Some(749_701_123),
        ..config()
    });
    b.open_menu();
    press!(b, "5");
    let c = config();
    assert_eq!(
        b.prompts(),
        vec![
            Prompt::SerialNumber(c.serial),
            Prompt::FirmwareVersion(c.firmware.0, c.firmware.1, c.firmware.2),
            Prompt::VerificationCode(c.verification_code),
            Prompt::MatterCode(749_701_123),
            Prompt::Menu,
        ]
    );
    // Without a code (a lock that is no Matter device): R-MNU-6's three
    // (r_mnu_6_system_information_then_back_to_the_menu).
}
