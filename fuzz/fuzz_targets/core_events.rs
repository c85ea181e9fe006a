//! The state machine over arbitrary event sequences (quinn's `streams.rs`
//! shape): every pair of bytes is one event and a time step. After each step:
//! `handle` did not panic, dropped no action, left no due timer behind, and
//! drove no unlock while a lockout was active before the event (except the
//! administrator commands that end the lockout first, R-LKO-3).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_core::{
    Action, AppCommand, AppRequest, BiometricEvent, BiometricKind, BoltPosition, BoltReport,
    Config, DoorState, Duration, EnrollFailure, EnrollStep, Event, Instant, Key, Link, Lock,
    Passcode, PersonNumber, Privilege, Setting, TemplateId, Timestamp, Validity,
};

fn kind(b: u8) -> BiometricKind {
    BiometricKind::ALL[usize::from(b % 3)]
}

fn event(op: u8, arg: u8) -> Event {
    let person = PersonNumber::new(arg % 4 + 1).unwrap_or(PersonNumber::FIRST);
    let privilege = [
        Privilege::Visitor,
        Privilege::User,
        Privilege::Administrator,
    ][usize::from(arg % 3)];
    let app = |command| {
        Event::App(AppRequest {
            privilege,
            link: if arg & 0x80 == 0 {
                Link::Bluetooth
            } else {
                Link::Remote
            },
            command,
        })
    };
    match op % 24 {
        0..=5 => Event::Key(Key::Digit(arg % 11)),
        6 => Event::Key([Key::Ok, Key::Back, Key::Home, Key::Bell][usize::from(arg % 4)]),
        7 => Event::Touch,
        8 => Event::KeyHeld(Key::Digit(arg % 10)),
        9 => {
            if arg % 2 == 0 {
                Event::Set
            } else {
                Event::SetHeld
            }
        }
        10 => Event::LockButton,
        11 => Event::Biometric(BiometricEvent::Identified {
            kind: kind(arg),
            template: TemplateId(u16::from(arg % 8)),
        }),
        12 => Event::Biometric(BiometricEvent::NoMatch { kind: kind(arg) }),
        13 => Event::Biometric(BiometricEvent::Enrolled {
            kind: kind(arg),
            template: TemplateId(u16::from(arg / 3 % 8)),
        }),
        14 => Event::Biometric(match arg % 3 {
            0 => BiometricEvent::EnrollFailed {
                kind: kind(arg),
                reason: EnrollFailure::Duplicate,
            },
            1 => BiometricEvent::EnrollProgress {
                kind: kind(arg),
                step: EnrollStep::Lift,
            },
            _ => BiometricEvent::Fault { kind: kind(arg) },
        }),
        15 => Event::Bolt(match arg % 4 {
            0 => BoltReport::Reached(BoltPosition::Locked),
            1 => BoltReport::Reached(BoltPosition::Unlocked),
            2 => BoltReport::Stalled,
            _ => BoltReport::TimedOut,
        }),
        16 => Event::Door(if arg % 2 == 0 {
            DoorState::Open
        } else {
            DoorState::Closed
        }),
        17 => {
            if arg % 2 == 0 {
                Event::Tamper
            } else {
                Event::MechanicalKey
            }
        }
        18 => {
            if arg & 1 == 0 {
                Event::Battery(arg)
            } else {
                Event::UsbPower(arg & 2 == 0)
            }
        }
        19 => app(match arg % 5 {
            0 => AppCommand::Unlock,
            1 => AppCommand::Lock,
            2 => AppCommand::Status,
            3 => AppCommand::LiftLockout,
            _ => AppCommand::Configure(Setting::LockoutProtection(arg & 8 != 0)),
        }),
        20 => app(match arg % 4 {
            0 => AppCommand::DeletePerson(person),
            1 => AppCommand::SetClock(Timestamp(1_800_000_000 + u64::from(arg) * 600)),
            2 => AppCommand::SetValidity {
                person,
                validity: Validity {
                    from: None,
                    until: Some(Timestamp(1_800_050_000)),
                },
            },
            _ => match Passcode::new(&[9, 0, 5, 1, 7, arg % 10]) {
                Ok(code) => AppCommand::SetDuressPasscode { person, code },
                Err(_) => AppCommand::Status,
            },
        }),
        21 => {
            if arg % 2 == 0 {
                Event::AppAuthFailed
            } else {
                Event::Paired
            }
        }
        22 => Event::Boot {
            set_held: arg % 7 == 0,
        },
        _ => Event::Tick,
    }
}

fn is_unlock(a: &Action) -> bool {
    matches!(
        a,
        Action::DriveBolt {
            to: BoltPosition::Unlocked,
            ..
        }
    )
}

fuzz_target!(|data: &[u8]| {
    let mut lock = Lock::new(Config::default());
    let mut now = Instant::ZERO;
    lock.handle(now, Event::Boot { set_held: false });
    for chunk in data.chunks_exact(3) {
        let (op, arg, dt) = (chunk[0], chunk[1], chunk[2]);
        now = now + Duration::from_millis(u64::from(dt) * u64::from(dt) * 8);
        if op == 0xFF {
            // A power cut: restore from what the lock would have stored.
            let snapshot = lock.snapshot();
            lock = Lock::restore(Config::default(), &snapshot, now).expect("own snapshot restores");
            lock.handle(now, Event::Boot { set_held: false });
            continue;
        }
        let ev = event(op, arg);
        let locked_out = lock.lockout(now).is_some();
        let lifts = matches!(
            ev,
            Event::App(AppRequest {
                privilege: Privilege::Administrator,
                command: AppCommand::LiftLockout
                    | AppCommand::Configure(Setting::LockoutProtection(false)),
                ..
            })
        );
        let actions = lock.handle(now, ev);
        assert_eq!(actions.dropped(), 0, "an action did not fit");
        if locked_out && !lifts {
            assert!(!actions.iter().any(is_unlock), "unlock during a lockout");
        }
        if let Some(d) = lock.next_deadline() {
            assert!(d > now, "a due timer was left behind");
        }
    }
});
