//! §5 The keypad menu, people: R-MNU-4 adding a person, their number
//! announced and their credentials one after another, and R-MNU-5 deleting a
//! person by number.

use lock_core::{
    Action, Backlight, BiometricEvent, BiometricKind, BoltPosition, Change, EnrollFailure,
    EnrollStep, Event, LogEntry, ModuleCommand, Modules, PasscodeError, Prompt, Refusal, Role,
};

use crate::harness::*;

// ----- R-MNU-4 ---------------------------------------------------------------

#[test]
fn r_mnu_4_number_announced_then_credentials_one_after_another() {
    let mut b = Bench::set_up();
    b.open_menu();
    press!(b, "2");
    assert_prompted!(b, Prompt::PersonNumber(n(2)));
    assert_saw!(b, Action::Keypad(Backlight::Spell { number, .. }) if *number == n(2));
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));

    press!(b, "3");
    assert_saw!(
        b,
        Action::Module(ModuleCommand::Enroll {
            kind: BiometricKind::Finger,
            ..
        })
    );
    assert_prompted!(
        b,
        Prompt::Enroll(BiometricKind::Finger, EnrollStep::Present)
    );
    for step in [EnrollStep::Lift, EnrollStep::Present] {
        b.event(Event::Biometric(BiometricEvent::EnrollProgress {
            kind: BiometricKind::Finger,
            step,
        }));
        assert_prompted!(b, Prompt::Enroll(BiometricKind::Finger, step));
    }
    b.finger("bea");
    assert_prompted!(b, Prompt::Success);
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));
    assert!(b.logs().contains(&LogEntry::UserAdded {
        person: n(2),
        role: Role::User,
        by: Actor::Person(n(1)),
    }));
    assert!(
        b.flash.person(n(2)).is_some(),
        "stored with the first credential"
    );

    b.menu_credential(Cred::Code("730418"));
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));
    assert!(b.logs().contains(&LogEntry::CredentialAdded {
        person: n(2),
        kind: None,
        by: Actor::Person(n(1)),
    }));
    b.menu_credential(Cred::Palm("bea"));
    assert!(b.logs().contains(&LogEntry::CredentialAdded {
        person: n(2),
        kind: Some(BiometricKind::Palm),
        by: Actor::Person(n(1)),
    }));
    press!(b, "back");
    assert_prompted!(b, Prompt::Menu);
    press!(b, "back");

    let bea = b.lock.people().get(n(2)).unwrap();
    assert_eq!(bea.role, Role::User);
    assert_eq!((bea.fingers.len(), bea.palms.len()), (1, 1));
    assert!(bea.passcode.is_some());
    for open in ["finger", "palm", "code"] {
        match open {
            "finger" => b.finger("bea"),
            "palm" => b.palm("bea"),
            _ => press!(b, "730418 ok"),
        }
        assert!(b.drove(BoltPosition::Unlocked), "{open}");
    }
}

#[test]
fn r_mnu_4_face_enrollment_prompts_the_five_head_poses() {
    let mut b = Bench::set_up();
    b.open_menu();
    b.menu_new_person(Role::User);
    press!(b, "1");
    assert_prompted!(b, Prompt::Enroll(BiometricKind::Face, EnrollStep::Present));
    for step in [
        EnrollStep::LookStraight,
        EnrollStep::HeadUp,
        EnrollStep::HeadDown,
        EnrollStep::HeadLeft,
        EnrollStep::HeadRight,
    ] {
        // Each capture may take a while: the module's progress keeps the
        // keypad awake.
        b.wait(secs(15));
        b.event(Event::Biometric(BiometricEvent::EnrollProgress {
            kind: BiometricKind::Face,
            step,
        }));
        assert_prompted!(b, Prompt::Enroll(BiometricKind::Face, step));
        assert!(b.lock.in_menu());
    }
    b.face("cleo");
    assert_prompted!(b, Prompt::Success);
    assert_eq!(b.lock.people().len(), 2);
}

#[test]
fn r_mnu_4_leaving_before_any_credential_stores_no_one() {
    let mut b = Bench::set_up();
    b.open_menu();
    assert_eq!(b.menu_new_person(Role::User), n(2));
    press!(b, "back");
    assert_prompted!(b, Prompt::Menu);
    assert!(!b.saw(|a| matches!(a, Action::Persist(_))));
    assert_eq!(b.lock.people().len(), 1);
    assert_eq!(
        b.menu_new_person(Role::Administrator),
        n(2),
        "the number is still free"
    );
    press!(b, "back back");
    assert_eq!(b.lock.people().len(), 1);
    assert!(b.flash.people.len() == 1);
}

#[test]
fn r_mnu_4_after_a_refused_or_failed_credential_back_to_the_choice() {
    let mut b = Bench::set_up();
    b.open_menu();
    b.menu_new_person(Role::User);
    press!(b, "4 111111 ok");
    assert_prompted!(
        b,
        Prompt::Failure(Refusal::Passcode(PasscodeError::TooWeak))
    );
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));
    press!(b, "3");
    b.event(Event::Biometric(BiometricEvent::EnrollFailed {
        kind: BiometricKind::Finger,
        reason: EnrollFailure::BadCapture,
    }));
    assert_prompted!(
        b,
        Prompt::Failure(Refusal::Enroll(EnrollFailure::BadCapture))
    );
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));
    press!(b, "1");
    press!(b, "back");
    assert_saw!(
        b,
        Action::Module(ModuleCommand::CancelEnroll(BiometricKind::Face))
    );
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));
    assert_eq!(b.lock.people().len(), 1, "nothing stored so far");
    b.menu_credential(Cred::Finger("dan"));
    assert_prompted!(b, Prompt::Success);
    assert_eq!(b.lock.people().len(), 2);
}

// ----- R-MNU-5 ---------------------------------------------------------------

#[test]
fn r_mnu_5_delete_by_number_then_back_to_the_menu() {
    let mut b = Bench::set_up();
    let who = b.add_user_with_passcode("730418");
    b.open_menu();
    press!(b, "3");
    assert_prompted!(b, Prompt::EnterPersonNumber);
    press!(b, "002 ok");
    assert!(b.persisted(|c| matches!(c, Change::PersonDeleted(p) if *p == who)));
    assert!(b.logged("user-deleted"));
    assert_prompted!(b, Prompt::Success);
    assert_prompted!(b, Prompt::Menu);
    assert!(b.lock.in_menu());
    assert_eq!(b.lock.people().len(), 1);
}

#[test]
fn r_mnu_5_refusal_failure_sound_then_another_number() {
    let mut b = Bench::set_up();
    b.add_user_with_passcode("730418");
    b.open_menu();
    press!(b, "3 001 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::LastAdministrator));
    assert!(b.lock.in_menu());
    press!(b, "055 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::NoSuchPerson));
    // Still waiting for a number: this one is deleted.
    press!(b, "002 ok");
    assert_prompted!(b, Prompt::Success);
    assert_eq!(b.lock.people().len(), 1);
    press!(b, "3 001 ok");
    assert_prompted!(b, Prompt::Failure(Refusal::OnlyPerson));
    press!(b, "back");
    assert_prompted!(b, Prompt::Menu);
    assert!(b.lock.in_menu());
}

#[test]
fn r_mnu_5_administrator_deleting_themselves_leaves_the_menu() {
    let mut b = Bench::set_up();
    b.add_person(Role::Administrator, &[Cred::Code("730418")]);
    b.open_menu();
    press!(b, "3 001 ok");
    assert_prompted!(b, Prompt::Success);
    assert!(!b.lock.in_menu(), "nobody holds the menu now");
    assert!(b.lock.people().get(n(1)).is_none());
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(!b.drove(BoltPosition::Unlocked));
}

#[test]
fn r_mnu_4_enrolled_report_from_another_module_is_deleted_there() {
    let mut b = Bench::set_up();
    b.open_menu();
    press!(b, "2 3");
    b.event(Event::Biometric(BiometricEvent::Enrolled {
        kind: BiometricKind::Face,
        template: lock_core::TemplateId(9),
    }));
    assert_saw!(
        b,
        Action::Module(ModuleCommand::Delete { kind: BiometricKind::Face, template })
            if template.0 == 9
    );
    assert_eq!(b.lock.people().template_count(BiometricKind::Face), 0);
    assert!(
        b.module_enrolling(BiometricKind::Finger),
        "the finger enrolment goes on"
    );
}

#[test]
fn r_mnu_4_a_lock_offers_only_the_modules_it_has() {
    let finger_only = Modules {
        finger: true,
        ..Modules::NONE
    };
    let mut b = Bench::set_up_with(lock_core::Config {
        modules: finger_only,
        ..config()
    });
    b.open_menu();
    press!(b, "2");
    assert_prompted!(b, Prompt::ChooseCredential(finger_only));
    // No face or palm module: their numbers are not taken, and the lock
    // asks nothing of a module it does not have.
    for absent in ["1", "2"] {
        press!(b, absent);
        assert_not_saw!(b, Action::Module(_));
        assert_prompted!(b, Prompt::ChooseCredential(finger_only));
    }
    press!(b, "3");
    assert_saw!(
        b,
        Action::Module(ModuleCommand::Enroll {
            kind: BiometricKind::Finger,
            ..
        })
    );
    b.finger("bea");
    assert_prompted!(b, Prompt::ChooseCredential(finger_only));
    press!(b, "4");
    assert_prompted!(b, Prompt::EnterPasscode);
}

#[test]
fn r_mnu_4_without_a_face_module_a_touch_starts_no_face_search() {
    let config = lock_core::Config {
        modules: Modules {
            face: false,
            ..Modules::ALL
        },
        ..config()
    };
    let mut b = Bench::set_up_with(config);
    b.event(Event::Touch);
    assert_not_saw!(b, Action::Module(_));
    let mut b = Bench::set_up();
    b.event(Event::Touch);
    assert_saw!(
        b,
        Action::Module(ModuleCommand::Identify(BiometricKind::Face))
    );
}
