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
    assert_eq!(PIN_USERS_SUPPORTED, 50);
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

#[test]
fn r_mtr_2_next_indices_are_the_next_occupied_ones() {
    let c = |kind, index| Credential { kind, index };
    let mut six = Person::new(n(6), Role::User);
    six.passcode = Some(Passcode::parse("730418").unwrap());
    six.fingers.push(TemplateId(11)).unwrap();
    let mut two = Person::new(n(2), Role::User);
    two.fingers.push(TemplateId(0)).unwrap();
    two.faces.push(TemplateId(4)).unwrap();
    let mut hundred = Person::new(n(100), Role::User);
    hundred.passcode = Some(Passcode::parse("904127").unwrap());
    // Not in number order: the lowest above, whatever the order.
    let people = [six, hundred, two];
    assert_eq!(next_user_index(&people, 0), Some(2));
    assert_eq!(next_user_index(&people, 2), Some(6));
    assert_eq!(next_user_index(&people, 6), Some(100));
    assert_eq!(next_user_index(&people, 100), None);
    assert_eq!(next_user_index(&people, u16::MAX), None);
    assert_eq!(next_user_index(&[], 0), None);
    let next = |kind, index| next_credential_index(&people, c(kind, index));
    // PINs at their owners' numbers; the person without one is skipped.
    assert_eq!(next(CredentialType::Pin, 1), Some(6));
    assert_eq!(next(CredentialType::Pin, 6), Some(100));
    assert_eq!(next(CredentialType::Pin, 100), None);
    // Fingers at template + 1, of any owner; faces apart from fingers.
    assert_eq!(next(CredentialType::Fingerprint, 0), Some(1));
    assert_eq!(next(CredentialType::Fingerprint, 1), Some(12));
    assert_eq!(next(CredentialType::Fingerprint, 12), None);
    assert_eq!(next(CredentialType::Face, 0), Some(5));
    assert_eq!(next(CredentialType::Face, 5), None);
}

#[test]
fn r_mtr_4_sound_volume_and_auto_relock_time_written_are_the_locks_settings() {
    use lock_core::{Setting, Volume};
    for volume in [Volume::Low, Volume::Medium, Volume::High] {
        assert_eq!(volume_of_sound_volume(sound_volume(volume)), Some(volume));
    }
    for value in [0u8, 4, 0xFF] {
        assert_eq!(volume_of_sound_volume(value), None, "{value}");
    }
    let settings = |secs| settings_of_auto_relock_time(secs).map(|s| s.to_vec());
    assert_eq!(settings(0), Some(vec![Setting::AutoLock(false)]));
    assert_eq!(
        settings(30),
        Some(vec![Setting::AutoLockSecs(30), Setting::AutoLock(true)]),
        "the length first: one the core refuses leaves the lock as it was"
    );
    // The core judges 5 s to 1 h; a length no u16 holds is refused here.
    assert_eq!(
        settings(2),
        Some(vec![Setting::AutoLockSecs(2), Setting::AutoLock(true)])
    );
    assert_eq!(settings(70_000), None);
    assert_eq!(settings(u32::MAX), None);
}

// R-MTR-6: week-day and year-day schedules.

fn wd(days_mask: u8, start: (u8, u8), end: (u8, u8)) -> WeekDaySchedule {
    WeekDaySchedule {
        days_mask,
        start_hour: start.0,
        start_minute: start.1,
        end_hour: end.0,
        end_minute: end.1,
    }
}

#[test]
fn r_mtr_6_days_mask_bits_map_both_ways() {
    // Matter: bit 0 Sunday … bit 6 Saturday. The lock: bit 0 Monday … bit 6 Sunday.
    let pairs = [
        (0b000_0001u8, 0b100_0000u8), // Sunday
        (0b000_0010, 0b000_0001),     // Monday
        (0b000_0100, 0b000_0010),     // Tuesday
        (0b000_1000, 0b000_0100),     // Wednesday
        (0b001_0000, 0b000_1000),     // Thursday
        (0b010_0000, 0b001_0000),     // Friday
        (0b100_0000, 0b010_0000),     // Saturday
    ];
    for (mask, days) in pairs {
        assert_eq!(days_of_mask(mask), days, "{mask:#09b}");
        assert_eq!(mask_of_days(days), mask, "{days:#09b}");
    }
    // Monday to Friday; every day.
    assert_eq!(days_of_mask(0b011_1110), 0b001_1111);
    assert_eq!(mask_of_days(0b111_1111), 0b111_1111);
    for x in 0..=0x7Fu8 {
        assert_eq!(mask_of_days(days_of_mask(x)), x);
        assert_eq!(days_of_mask(mask_of_days(x)), x);
    }
}

#[test]
fn r_mtr_6_week_day_schedule_round_trips_in_minutes() {
    let s = weekly_schedule(wd(0b011_1110, (8, 30), (17, 45)), 0).unwrap();
    assert_eq!(
        s,
        WeeklySchedule {
            days: 0b001_1111,
            from_minute: 8 * 60 + 30,
            until_minute: 17 * 60 + 45,
            utc_offset_minutes: 0,
        }
    );
    assert_eq!(week_day_schedule(&s), Ok(wd(0b011_1110, (8, 30), (17, 45))));
    // The person's offset is kept; the hours stay local.
    let kept = weekly_schedule(wd(0b000_0001, (0, 0), (23, 59)), 60).unwrap();
    assert_eq!(
        (kept.from_minute, kept.until_minute, kept.utc_offset_minutes),
        (0, 1439, 60)
    );
    assert_eq!(week_day_schedule(&kept), Ok(wd(1, (0, 0), (23, 59))));
}

#[test]
fn r_mtr_6_week_day_schedule_refusals() {
    for bad in [
        wd(0, (8, 0), (9, 0)),             // no day
        wd(0x80, (8, 0), (9, 0)),          // bit 7 only
        wd(0x81, (8, 0), (9, 0)),          // bit 7 with a day
        wd(1, (24, 0), (23, 0)),           // hour out of range
        wd(1, (8, 0), (24, 0)),            // end hour out of range
        wd(1, (8, 60), (9, 0)),            // minute out of range
        wd(1, (8, 0), (9, 60)),            // end minute out of range
        wd(1, (9, 0), (9, 0)),             // empty window
        wd(1, (18, 0), (8, 0)),            // end before start (no overnight)
        wd(1, (u8::MAX, 0), (u8::MAX, 0)), // nonsense
    ] {
        assert_eq!(
            weekly_schedule(bad, 0),
            Err(DlStatus::InvalidField),
            "{bad:?}"
        );
    }
    // An offset the lock cannot hold.
    assert_eq!(
        weekly_schedule(wd(1, (8, 0), (9, 0)), 15 * 60),
        Err(DlStatus::InvalidField)
    );
}

#[test]
fn r_mtr_6_lock_hours_the_cluster_cannot_express_read_as_failure() {
    let mut s = WeeklySchedule {
        days: 0b100_0000,
        from_minute: 22 * 60,
        until_minute: 6 * 60,
        utc_offset_minutes: 0,
    };
    assert_eq!(week_day_schedule(&s), Err(DlStatus::Failure)); // overnight
    s.days = 0;
    assert_eq!(week_day_schedule(&s), Err(DlStatus::Failure)); // not valid
    // To midnight reads as 23:59.
    let to_midnight = WeeklySchedule {
        days: 0b100_0000,
        from_minute: 20 * 60,
        until_minute: 24 * 60,
        utc_offset_minutes: 0,
    };
    assert_eq!(
        week_day_schedule(&to_midnight),
        Ok(wd(1, (20, 0), (23, 59)))
    );
}

#[test]
fn r_mtr_6_schedule_indices_one_and_clear_all() {
    assert_eq!(schedule_index(1), Ok(()));
    for bad in [0u8, 2, 3, ALL_SCHEDULES, 0xFF] {
        assert_eq!(schedule_index(bad), Err(DlStatus::InvalidField), "{bad}");
    }
    assert_eq!(clear_schedule_index(1), Ok(()));
    assert_eq!(clear_schedule_index(0xFE), Ok(()));
    for bad in [0u8, 2, 0xFD, 0xFF] {
        assert_eq!(
            clear_schedule_index(bad),
            Err(DlStatus::InvalidField),
            "{bad}"
        );
    }
    assert_eq!(
        (WEEK_DAY_SCHEDULES_PER_USER, YEAR_DAY_SCHEDULES_PER_USER),
        (1, 1)
    );
}

#[test]
fn r_mtr_6_year_day_epoch_is_2000() {
    // 2000-01-01T00:00:00Z is Unix 946684800.
    assert_eq!(MATTER_EPOCH_UNIX_SECS, 946_684_800);
    let v = validity_of_year_day(0, 86_400).unwrap();
    assert_eq!(v.from, Some(Timestamp(946_684_800)));
    assert_eq!(v.until, Some(Timestamp(946_771_200)));
    // 2026-12-01T00:00:00Z (Unix 1796083200) and a week later.
    let start = 1_796_083_200 - 946_684_800;
    let end = start + 7 * 86_400;
    let v = validity_of_year_day(start, end).unwrap();
    assert_eq!(v.from, Some(Timestamp(1_796_083_200)));
    assert_eq!(v.until, Some(Timestamp(1_796_688_000)));
    assert_eq!(year_day_of_validity(&v), Some((start, end)));
    // The far end of Matter's range fits.
    let v = validity_of_year_day(0, u32::MAX).unwrap();
    assert_eq!(year_day_of_validity(&v), Some((0, u32::MAX)));
}

#[test]
fn r_mtr_6_year_day_refusals_and_open_ends() {
    assert_eq!(validity_of_year_day(10, 10), Err(DlStatus::InvalidField));
    assert_eq!(validity_of_year_day(11, 10), Err(DlStatus::InvalidField));
    assert_eq!(
        validity_of_year_day(u32::MAX, 0),
        Err(DlStatus::InvalidField)
    );
    assert_eq!(year_day_of_validity(&Validity::ALWAYS), None);
    let open_start = Validity {
        from: None,
        until: Some(Timestamp(MATTER_EPOCH_UNIX_SECS + 100)),
    };
    assert_eq!(year_day_of_validity(&open_start), Some((0, 100)));
    let open_end = Validity {
        from: Some(Timestamp(5)), // before 2000
        until: None,
    };
    assert_eq!(year_day_of_validity(&open_end), Some((0, u32::MAX)));
    let far = Validity {
        from: Some(Timestamp(MATTER_EPOCH_UNIX_SECS)),
        until: Some(Timestamp(u64::MAX)),
    };
    assert_eq!(year_day_of_validity(&far), Some((0, u32::MAX)));
}

proptest! {
    #[test]
    fn r_mtr_6_any_week_day_fields_give_hours_or_invalid_field(
        mask in any::<u8>(), sh in any::<u8>(), sm in any::<u8>(),
        eh in any::<u8>(), em in any::<u8>(), offset in any::<i16>(),
    ) {
        let fields = wd(mask, (sh, sm), (eh, em));
        match weekly_schedule(fields, offset) {
            Ok(s) => {
                prop_assert!(s.is_valid());
                prop_assert_eq!(s.utc_offset_minutes, offset);
                prop_assert_eq!(week_day_schedule(&s), Ok(fields));
            }
            Err(status) => prop_assert_eq!(status, DlStatus::InvalidField),
        }
    }

    #[test]
    fn r_mtr_6_any_year_day_times_give_a_period_or_invalid_field(start in any::<u32>(), end in any::<u32>()) {
        match validity_of_year_day(start, end) {
            Ok(v) => {
                prop_assert!(start < end);
                prop_assert_eq!(year_day_of_validity(&v), Some((start, end)));
            }
            Err(status) => {
                prop_assert!(start >= end);
                prop_assert_eq!(status, DlStatus::InvalidField);
            }
        }
    }

    #[test]
    fn r_mtr_6_any_lock_hours_read_back_or_fail(
        days in any::<u8>(), from in any::<u16>(), until in any::<u16>(), offset in any::<i16>(),
    ) {
        let s = WeeklySchedule { days, from_minute: from, until_minute: until, utc_offset_minutes: offset };
        if let Ok(fields) = week_day_schedule(&s) {
            let back = weekly_schedule(fields, offset).unwrap();
            prop_assert_eq!(back.days, days);
            prop_assert_eq!(back.from_minute, from);
            prop_assert_eq!(back.until_minute, until.min(1439));
        }
    }
}
