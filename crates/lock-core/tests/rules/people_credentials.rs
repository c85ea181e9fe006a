//! §1 People and credentials: how many credentials fit, per person and in the
//! whole lock (R-USR-3), and the same fingerprint, face or palm never enrolled
//! twice (R-USR-7).

use lock_core::internals::{FACES_PER_PERSON, FINGERS_PER_PERSON, PALMS_PER_PERSON};
use lock_core::{
    Action, AppCommand, BiometricEvent, BiometricKind, BoltPosition, EnrollFailure, Event,
    LogEntry, Method, ModuleCommand, Modules, Person, Prompt, Refusal, Reply, Role, TemplateId,
};

use crate::harness::*;

// ----- R-USR-3 ---------------------------------------------------------------

/// Adds templates of `kind` to one new user until the menu refuses; returns how
/// many were stored and what the last refusal was.
fn fill_one_person(b: &mut Bench, kind: BiometricKind, tries: usize) -> (usize, Vec<Prompt>) {
    b.open_menu();
    let who = b.menu_new_person(Role::User);
    let mut refused = Vec::new();
    for i in 0..tries {
        let name = format!("{kind:?}-{i}");
        let digit = match kind {
            BiometricKind::Face => "1",
            BiometricKind::Palm => "2",
            BiometricKind::Finger => "3",
        };
        press!(b, digit);
        if b.module_enrolling(kind) {
            b.present(kind, &name);
        } else {
            refused = b.prompts();
        }
    }
    press!(b, "back back");
    let stored = b.lock.people().get(who).unwrap().templates(kind).len();
    (stored, refused)
}

#[test]
fn r_usr_3_per_person_at_most_3_faces_2_palms_5_fingers() {
    for (kind, limit) in [
        (BiometricKind::Face, FACES_PER_PERSON),
        (BiometricKind::Palm, PALMS_PER_PERSON),
        (BiometricKind::Finger, FINGERS_PER_PERSON),
    ] {
        let mut b = Bench::set_up();
        let (stored, refused) = fill_one_person(&mut b, kind, limit + 1);
        assert_eq!(stored, limit, "{kind:?}");
        assert!(
            refused.contains(&Prompt::Failure(Refusal::PersonCredentialsFull)),
            "{kind:?}: {refused:?}"
        );
        assert!(
            refused.contains(&Prompt::ChooseCredential(Modules::ALL)),
            "back at the credential choice"
        );
    }
    assert_eq!(
        (FACES_PER_PERSON, PALMS_PER_PERSON, FINGERS_PER_PERSON),
        (3, 2, 5)
    );
}

#[test]
fn r_usr_3_per_person_at_most_one_passcode() {
    let mut b = Bench::set_up();
    b.open_menu();
    let who = b.menu_new_person(Role::User);
    b.menu_credential(Cred::Code("730418"));
    assert_prompted!(b, Prompt::Success);
    press!(b, "4");
    assert_prompted!(b, Prompt::Failure(Refusal::PersonCredentialsFull));
    assert!(!b.prompted(Prompt::EnterPasscode));
    // The refused second code is not asked for; its digits go nowhere.
    press!(b, "back back");
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked));
    assert!(b.lock.people().get(who).unwrap().passcode.is_some());
}

#[test]
fn r_usr_3_fifty_of_each_biometric_kind_in_the_lock() {
    for kind in BiometricKind::ALL {
        // Ten users holding 5 (or 3, or 2) templates each, up to 50.
        let mut s = admin_snapshot();
        let mut id = 0u16;
        let mut number = 2u8;
        while id < 50 {
            let mut p = Person::new(n(number), Role::User);
            while id < 50 && p.add_template(kind, TemplateId(id)) {
                id += 1;
            }
            s.people.push(p).unwrap();
            number += 1;
        }
        let mut b = Bench::restored(s);
        assert_eq!(b.lock.people().template_count(kind), 50);
        let people = b.lock.people().len();
        let flash_before = format!("{:?}", b.lock.snapshot());

        b.open_menu();
        b.menu_new_person(Role::User);
        let digit = match kind {
            BiometricKind::Face => "1",
            BiometricKind::Palm => "2",
            BiometricKind::Finger => "3",
        };
        press!(b, digit);
        assert_prompted!(b, Prompt::Failure(Refusal::CredentialStoreFull));
        assert!(
            !b.saw(|a| matches!(a, Action::Module(ModuleCommand::Enroll { .. }))),
            "{kind:?}: no enrollment starts"
        );
        assert!(!b.saw(|a| matches!(a, Action::Persist(_))));
        press!(b, "back back");
        assert_eq!(b.lock.people().len(), people, "nothing stored");
        assert_eq!(
            format!("{:?}", b.lock.snapshot()),
            flash_before,
            "nothing already stored changed"
        );
        // The stored ones still open.
        b.present(kind, &template_name(kind, TemplateId(49)));
        assert!(b.drove(BoltPosition::Unlocked), "{kind:?}");
    }
}

#[test]
fn r_usr_3_fifty_passcodes_in_the_lock() {
    let mut s = admin_snapshot();
    for i in 2..=50u8 {
        s.people
            .push(person_with_code(i, Role::User, &nth_code(u16::from(i))))
            .unwrap();
    }
    let mut b = Bench::restored(s);
    b.open_menu();
    b.menu_new_person(Role::User);
    press!(b, "4");
    assert_prompted!(b, Prompt::Failure(Refusal::CredentialStoreFull));
    assert!(!b.prompted(Prompt::EnterPasscode));
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));
    // Another credential kind is still fine for the same new person.
    b.menu_credential(Cred::Finger("new"));
    assert_prompted!(b, Prompt::Success);
    press!(b, "back back");
    assert_eq!(b.lock.people().len(), 51);
    assert_eq!(b.lock.people().passcode_count(), 50);

    // A duress code takes a slot too: refused when all 50 are taken.
    let reply = b.admin_app(AppCommand::SetDuressPasscode {
        person: n(51),
        code: code("705318"),
    });
    assert_eq!(reply, Reply::Refused(Refusal::CredentialStoreFull));
    assert!(b.lock.people().get(n(51)).unwrap().duress.is_none());
}

// ----- R-USR-7 ---------------------------------------------------------------

#[test]
fn r_usr_7_duplicate_fingerprint_refused_nothing_stored() {
    let mut b = Bench::set_up();
    let jan = b.add_finger(Role::User, "jan");
    let before = format!("{:?}", b.lock.snapshot());
    b.open_menu();
    b.menu_new_person(Role::User);
    press!(b, "3");
    b.finger("jan");
    assert!(
        b.batches().iter().any(|batch| matches!(
            batch.event,
            Event::Biometric(BiometricEvent::EnrollFailed {
                reason: EnrollFailure::Duplicate,
                ..
            })
        )),
        "the module reported the duplicate"
    );
    assert_prompted!(
        b,
        Prompt::Failure(Refusal::Enroll(EnrollFailure::Duplicate))
    );
    assert_prompted!(b, Prompt::ChooseCredential(Modules::ALL));
    assert!(!b.saw(|a| matches!(a, Action::Persist(_))));
    press!(b, "back back");
    assert_eq!(format!("{:?}", b.lock.snapshot()), before, "nothing stored");
    b.finger("jan");
    assert!(b.logs().contains(&LogEntry::Unlock {
        person: Some(jan),
        method: Method::Finger
    }));
}

#[test]
fn r_usr_7_duplicate_face_and_palm_for_the_same_person_refused() {
    for kind in [BiometricKind::Face, BiometricKind::Palm] {
        let mut b = Bench::set_up();
        b.open_menu();
        let who = b.menu_new_person(Role::User);
        let digit = if kind == BiometricKind::Face {
            "1"
        } else {
            "2"
        };
        press!(b, digit);
        b.present(kind, "kim");
        assert_prompted!(b, Prompt::Success);
        press!(b, digit);
        b.present(kind, "kim");
        assert_prompted!(
            b,
            Prompt::Failure(Refusal::Enroll(EnrollFailure::Duplicate))
        );
        press!(b, "back back");
        assert_eq!(
            b.lock.people().get(who).unwrap().templates(kind).len(),
            1,
            "{kind:?}"
        );
    }
}

#[test]
fn r_usr_7_template_id_already_held_is_refused_and_deleted() {
    // A module that wrongly reports a template id someone already holds: the
    // lock refuses it rather than give one template to two people.
    let mut b = Bench::set_up();
    let lea = b.add_finger(Role::User, "lea");
    let held = b.template_of(BiometricKind::Finger, "lea").unwrap();
    b.open_menu();
    b.menu_new_person(Role::User);
    press!(b, "3");
    b.event(Event::Biometric(BiometricEvent::Enrolled {
        kind: BiometricKind::Finger,
        template: held,
    }));
    assert!(
        b.saw(|a| matches!(a, Action::Prompt(Prompt::Failure(_)))),
        "{}",
        b.describe()
    );
    assert!(!b.saw(|a| matches!(a, Action::Persist(_))));
    assert!(
        b.module_commands().contains(&ModuleCommand::Delete {
            kind: BiometricKind::Finger,
            template: held
        }),
        "the module's copy is not left behind:\n{}",
        b.describe()
    );
    press!(b, "back back");
    assert_eq!(b.lock.people().len(), 2);
    assert_eq!(
        b.lock
            .people()
            .owner_of(BiometricKind::Finger, held)
            .map(|p| p.number),
        Some(lea)
    );
}
