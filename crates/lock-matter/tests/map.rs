//! The Door Lock mapping (SPEC.md §10): indices, statuses, every event.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use lock_core::{
    Actor, AlarmKind, BiometricKind, BoltPosition, BoltState, DoorDirection, DoorState, LockMethod,
    LockoutCause, LogEntry, Method, Passcode, PasscodeError, Person, PersonNumber, Privilege,
    Refusal, Role, Setting, TemplateId, Timestamp, Validity, WeeklySchedule,
};
use lock_matter::map::*;
use proptest::prelude::*;

fn n(x: u8) -> PersonNumber {
    PersonNumber::new(x).unwrap()
}

#[test]
fn r_mtr_2_user_indices_are_person_numbers_one_to_a_hundred() {
    for x in 1..=100u8 {
        assert_eq!(user_index(n(x)), u16::from(x));
        assert_eq!(person_of_index(u16::from(x)), Ok(n(x)));
    }
    for bad in [0u16, 101, 255, 256, 0xFFFE, 0xFFFF] {
        assert_eq!(person_of_index(bad), Err(DlStatus::InvalidField), "{bad}");
    }
    assert_eq!(USERS_SUPPORTED, 100);
}

#[test]
fn r_mtr_2_fabrics_have_pairing_numbers_of_their_own() {
    for fabric in 1..=254u8 {
        let p = pairing_of_fabric(fabric);
        assert_eq!(fabric_of_pairing(p), Some(fabric));
        assert!(p >= FABRIC_PAIRING_BASE);
    }
    for app_pairing in [0u16, 1, 2, 40, 0xFEFF, FABRIC_PAIRING_BASE, 0xFFFF] {
        assert_eq!(fabric_of_pairing(app_pairing), None, "{app_pairing:#x}");
    }
}

#[test]
fn r_mtr_2_pins_are_ascii_digits_six_to_ten() {
    assert_eq!(
        pin_of_octets(b"730418").map(|p| p.digits().to_vec()),
        Ok(vec![7, 3, 0, 4, 1, 8])
    );
    assert_eq!(pin_of_octets(b"7304185521").map(|p| p.len()), Ok(10));
    for bad in [
        &b""[..],
        b"73041",
        b"73041855210",
        b"73041a",
        b"730 418",
        b"\x07\x03\x00\x04\x01\x08",
        b"\xff\xff\xff\xff\xff\xff",
    ] {
        assert_eq!(
            pin_of_octets(bad).err(),
            Some(DlStatus::InvalidField),
            "{bad:?}"
        );
    }
    // Strength is the core's to judge when the PIN is stored (R-PIN-2).
    assert!(pin_of_octets(b"123456").is_ok());
    assert_eq!((MIN_PIN_LENGTH, MAX_PIN_LENGTH), (6, 10));
}

proptest! {
    #[test]
    fn r_mtr_2_any_octets_give_a_pin_or_invalid_field(octets in proptest::collection::vec(any::<u8>(), 0..16)) {
        match pin_of_octets(&octets) {
            Ok(pin) => {
                prop_assert!((6..=10).contains(&octets.len()));
                prop_assert!(octets.iter().all(u8::is_ascii_digit));
                let back: Vec<u8> = pin.digits().iter().map(|d| d + b'0').collect();
                prop_assert_eq!(back, octets);
            }
            Err(status) => {
                prop_assert_eq!(status, DlStatus::InvalidField);
                prop_assert!(
                    !(6..=10).contains(&octets.len()) || !octets.iter().all(u8::is_ascii_digit)
                );
            }
        }
    }
}

#[test]
fn r_mtr_2_refusals_have_the_clusters_statuses() {
    use PasscodeError::*;
    let cases = [
        (Refusal::Passcode(Overlaps), DlStatus::Duplicate),
        (Refusal::Passcode(TooWeak), DlStatus::InvalidField),
        (Refusal::Passcode(TooShort), DlStatus::InvalidField),
        (Refusal::Passcode(TooLong), DlStatus::InvalidField),
        (Refusal::Passcode(NotADigit), DlStatus::InvalidField),
        (Refusal::Passcode(Mismatch), DlStatus::InvalidField),
        (Refusal::Passcode(Full), DlStatus::ResourceExhausted),
        (Refusal::PeopleFull, DlStatus::ResourceExhausted),
        (Refusal::CredentialStoreFull, DlStatus::ResourceExhausted),
        (Refusal::PersonCredentialsFull, DlStatus::ResourceExhausted),
        (Refusal::OutOfRange, DlStatus::Occupied),
        (Refusal::NoSuchPerson, DlStatus::NotFound),
        (Refusal::NoMatch, DlStatus::Failure),
        (Refusal::SystemLocked, DlStatus::Failure),
        (Refusal::RemoteUnlockDisabled, DlStatus::Failure),
        (Refusal::NotPermitted, DlStatus::Failure),
        (Refusal::LastAdministrator, DlStatus::Failure),
        (Refusal::OnlyPerson, DlStatus::Failure),
        (Refusal::StorageFault, DlStatus::Failure),
    ];
    for (refusal, status) in cases {
        assert_eq!(status_of(refusal), status, "{refusal:?}");
    }
    // The wire values of the cluster's DlStatus.
    assert_eq!(
        [
            DlStatus::Success as u8,
            DlStatus::Failure as u8,
            DlStatus::Duplicate as u8,
            DlStatus::Occupied as u8,
            DlStatus::InvalidField as u8,
            DlStatus::ResourceExhausted as u8,
            DlStatus::NotFound as u8
        ],
        [0, 1, 2, 3, 0x85, 0x89, 0x8B]
    );
}

#[test]
fn r_mtr_3_the_lockout_reads_as_five_codes_and_three_minutes() {
    assert_eq!(WRONG_CODE_ENTRY_LIMIT, 5);
    assert_eq!(USER_CODE_TEMPORARY_DISABLE_TIME, 180);
}

#[test]
fn r_mtr_4_lock_state_follows_the_bolt() {
    use BoltPosition::*;
    assert_eq!(lock_state(BoltState::At(Locked)), LockState::Locked);
    assert_eq!(lock_state(BoltState::At(Unlocked)), LockState::Unlocked);
    assert_eq!(
        lock_state(BoltState::Moving(Locked)),
        LockState::NotFullyLocked
    );
    assert_eq!(
        lock_state(BoltState::Moving(Unlocked)),
        LockState::NotFullyLocked
    );
    assert_eq!(lock_state(BoltState::Jammed), LockState::NotFullyLocked);
    assert_eq!(
        [
            LockState::NotFullyLocked as u8,
            LockState::Locked as u8,
            LockState::Unlocked as u8
        ],
        [0, 1, 2]
    );
}

#[test]
fn r_mtr_4_door_state_follows_the_sensor_and_the_intrusion_alarm() {
    assert_eq!(door_state(DoorState::Open, false), DoorStateValue::Open);
    assert_eq!(door_state(DoorState::Closed, false), DoorStateValue::Closed);
    assert_eq!(
        door_state(DoorState::Open, true),
        DoorStateValue::ForcedOpen
    );
    assert_eq!(door_state(DoorState::Closed, true), DoorStateValue::Closed);
    assert_eq!(DoorStateValue::ForcedOpen as u8, 3);
}

#[test]
fn r_mtr_5_unlocks_and_locks_are_operations_with_their_source() {
    let unlock = |method| {
        event_of(&LogEntry::Unlock {
            person: Some(n(4)),
            method,
        })
    };
    for (method, source) in [
        (Method::Passcode, OperationSource::Keypad),
        (Method::VisitorCode, OperationSource::Keypad),
        (Method::Face, OperationSource::Biometric),
        (Method::Palm, OperationSource::Biometric),
        (Method::Finger, OperationSource::Biometric),
        (Method::MechanicalKey, OperationSource::Manual),
        (Method::BluetoothKey, OperationSource::ProprietaryRemote),
        (Method::Remote, OperationSource::Remote),
    ] {
        assert_eq!(
            unlock(method),
            Some(DoorLockEvent::Operation {
                kind: LockOperationType::Unlock,
                source,
                user: Some(4),
            }),
            "{method:?}"
        );
    }
    assert_eq!(
        event_of(&LogEntry::Unlock {
            person: None,
            method: Method::Remote
        }),
        Some(DoorLockEvent::Operation {
            kind: LockOperationType::Unlock,
            source: OperationSource::Remote,
            user: None,
        })
    );
    for (method, source) in [
        (LockMethod::Keypad, OperationSource::Keypad),
        (LockMethod::LeavingHome, OperationSource::Keypad),
        (LockMethod::InsideButton, OperationSource::Button),
        (LockMethod::Countdown, OperationSource::Auto),
        (LockMethod::App, OperationSource::Remote),
        (LockMethod::Manual, OperationSource::Manual),
    ] {
        assert_eq!(
            event_of(&LogEntry::Locked(method)),
            Some(DoorLockEvent::Operation {
                kind: LockOperationType::Lock,
                source,
                user: None,
            }),
            "{method:?}"
        );
    }
    assert_eq!(
        [
            OperationSource::Unspecified as u8,
            OperationSource::Manual as u8,
            OperationSource::ProprietaryRemote as u8,
            OperationSource::Keypad as u8,
            OperationSource::Auto as u8,
            OperationSource::Button as u8,
            OperationSource::Remote as u8,
            OperationSource::Biometric as u8
        ],
        [0, 1, 2, 3, 4, 5, 7, 9]
    );
}

#[test]
fn r_mtr_5_refused_verifications_are_operation_errors() {
    for (reason, error) in [
        (Refusal::NoMatch, OperationError::InvalidCredential),
        (Refusal::OutsideValidity, OperationError::Restricted),
        (Refusal::SystemLocked, OperationError::DisabledUserDenied),
        (Refusal::BatteryTooLow, OperationError::InsufficientBattery),
        (Refusal::StorageFault, OperationError::Unspecified),
        (Refusal::CredentialStoreFull, OperationError::Unspecified),
    ] {
        assert_eq!(
            event_of(&LogEntry::UnlockFailed {
                person: None,
                method: Method::Remote,
                reason,
            }),
            Some(DoorLockEvent::OperationError {
                kind: LockOperationType::Unlock,
                source: OperationSource::Remote,
                error,
                user: None,
            }),
            "{reason:?}"
        );
    }
    assert_eq!(
        event_of(&LogEntry::UnlockFailed {
            person: Some(n(9)),
            method: Method::Passcode,
            reason: Refusal::OutsideValidity,
        }),
        Some(DoorLockEvent::OperationError {
            kind: LockOperationType::Unlock,
            source: OperationSource::Keypad,
            error: OperationError::Restricted,
            user: Some(9),
        })
    );
}

#[test]
fn r_mtr_5_alarms_have_the_clusters_codes() {
    for (kind, code) in [
        (AlarmKind::Jam, Some(AlarmCode::LockJammed)),
        (
            AlarmKind::SystemLocked,
            Some(AlarmCode::WrongCodeEntryLimit),
        ),
        (AlarmKind::Tamper, Some(AlarmCode::FrontEscutcheonRemoved)),
        (AlarmKind::Intrusion, Some(AlarmCode::DoorForcedOpen)),
        (AlarmKind::Duress, Some(AlarmCode::ForcedUser)),
        (AlarmKind::LowBattery, None),
    ] {
        assert_eq!(alarm_code(kind), code, "{kind:?}");
        assert_eq!(
            event_of(&LogEntry::Alarm(kind)),
            code.map(DoorLockEvent::Alarm)
        );
    }
    assert_eq!(
        event_of(&LogEntry::FactoryReset),
        Some(DoorLockEvent::Alarm(AlarmCode::LockFactoryReset))
    );
    assert_eq!(
        [
            AlarmCode::LockJammed as u8,
            AlarmCode::LockFactoryReset as u8,
            AlarmCode::WrongCodeEntryLimit as u8,
            AlarmCode::FrontEscutcheonRemoved as u8,
            AlarmCode::DoorForcedOpen as u8,
            AlarmCode::ForcedUser as u8
        ],
        [0, 1, 4, 5, 6, 8]
    );
}

#[test]
fn r_mtr_5_changes_to_people_are_user_changes_with_who_made_them() {
    let fabric = Actor::Pairing(pairing_of_fabric(2));
    let app = Actor::Pairing(1);
    let keypad = Actor::Person(n(1));
    let change = |data, operation, source, fabric, user| {
        Some(DoorLockEvent::UserChange {
            data,
            operation,
            source,
            fabric,
            user,
        })
    };
    use DataOperation::*;
    use LockDataType::*;
    assert_eq!(
        event_of(&LogEntry::UserAdded {
            person: n(3),
            role: Role::User,
            by: fabric
        }),
        change(UserIndex, Add, OperationSource::Remote, Some(2), 3)
    );
    assert_eq!(
        event_of(&LogEntry::UserAdded {
            person: n(3),
            role: Role::User,
            by: keypad
        }),
        change(UserIndex, Add, OperationSource::Keypad, None, 3)
    );
    assert_eq!(
        event_of(&LogEntry::UserChanged {
            person: n(5),
            by: app
        }),
        change(
            UserIndex,
            Modify,
            OperationSource::ProprietaryRemote,
            None,
            5
        )
    );
    assert_eq!(
        event_of(&LogEntry::UserDeleted {
            person: n(5),
            by: fabric
        }),
        change(UserIndex, Clear, OperationSource::Remote, Some(2), 5)
    );
    for (kind, data) in [
        (None, Pin),
        (Some(BiometricKind::Finger), Fingerprint),
        (Some(BiometricKind::Face), Face),
        (Some(BiometricKind::Palm), Unspecified),
    ] {
        assert_eq!(
            event_of(&LogEntry::CredentialAdded {
                person: n(7),
                kind,
                by: keypad
            }),
            change(data, Add, OperationSource::Keypad, None, 7)
        );
    }
}

#[test]
fn r_mtr_5_records_the_attributes_show_raise_no_event() {
    for entry in [
        LogEntry::Lockout {
            cause: LockoutCause::Burst,
            secs: 180,
        },
        LogEntry::LockoutEnded,
        LogEntry::LockoutLifted,
        LogEntry::SettingChanged {
            setting: Setting::RemoteUnlock(true),
            by: Actor::Person(n(1)),
        },
        LogEntry::ClockSet {
            to: Timestamp(1_800_000_000),
            by: 1,
        },
        LogEntry::Paired { pairing: 1 },
        LogEntry::Unpaired { pairing: 2, by: 1 },
        LogEntry::KeyIssued {
            pairing: 3,
            privilege: Privilege::Visitor,
            by: 1,
        },
        LogEntry::DoorDirection(DoorDirection::Left),
        LogEntry::ModuleFault(BiometricKind::Face),
    ] {
        assert_eq!(event_of(&entry), None, "{entry:?}");
    }
}

#[test]
fn r_mtr_2_user_types_read_back_as_the_lock_stores_people() {
    let mut p = Person::new(n(2), Role::User);
    assert_eq!(user_type(&p), UserType::Unrestricted);
    p.validity = Validity {
        from: None,
        until: Some(Timestamp(1_900_000_000)),
    };
    assert_eq!(user_type(&p), UserType::YearDaySchedule);
    p.schedule = Some(WeeklySchedule {
        days: 0b001_1111,
        from_minute: 8 * 60,
        until_minute: 18 * 60,
        utc_offset_minutes: 60,
    });
    assert_eq!(user_type(&p), UserType::WeekDaySchedule);
    assert_eq!(
        user_type(&Person::new(n(1), Role::Administrator)),
        UserType::Programming
    );
    assert_eq!(role_of_user_type(0), Ok(Role::User));
    assert_eq!(role_of_user_type(3), Ok(Role::Administrator));
    for unsupported in [4u8, 5, 6, 7, 8, 9, 10, 0xFF] {
        assert_eq!(role_of_user_type(unsupported), Err(DlStatus::InvalidField));
    }
}

#[test]
fn r_mtr_2_credentials_list_pins_fingers_and_faces_not_palms() {
    let mut p = Person::new(n(6), Role::User);
    p.passcode = Some(Passcode::parse("730418").unwrap());
    p.fingers.push(TemplateId(0)).unwrap();
    p.fingers.push(TemplateId(11)).unwrap();
    p.faces.push(TemplateId(4)).unwrap();
    p.palms.push(TemplateId(2)).unwrap();
    let listed: Vec<Credential> = credentials(&p).collect();
    let c = |kind, index| Credential { kind, index };
    assert_eq!(
        listed,
        [
            c(CredentialType::Pin, 6),
            c(CredentialType::Fingerprint, 1),
            c(CredentialType::Fingerprint, 12),
            c(CredentialType::Face, 5),
        ]
    );
    assert_eq!(template_of_index(12), Some(TemplateId(11)));
    assert_eq!(template_of_index(0), None);
    let other = Person::new(n(7), Role::User);
    let people = [other, p.clone()];
    assert_eq!(
        holder(&people, c(CredentialType::Face, 5)).map(|h| h.number),
        Some(n(6))
    );
    assert!(holder(&people, c(CredentialType::Face, 6)).is_none());
    assert!(holder(&people, c(CredentialType::Pin, 7)).is_none());
    for (value, kind) in [
        (1u8, Some(CredentialType::Pin)),
        (3, Some(CredentialType::Fingerprint)),
        (5, Some(CredentialType::Face)),
        (0, None),
        (2, None),
        (4, None),
        (6, None),
        (0xFF, None),
    ] {
        assert_eq!(CredentialType::of(value), kind, "{value}");
        if let Some(k) = kind {
            assert_eq!(k as u8, value);
        }
    }
}
