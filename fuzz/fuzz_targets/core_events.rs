//! The state machine over arbitrary event sequences (quinn's `streams.rs`
//! shape): every three bytes are one input and a time step. An input is one
//! event, a power cut (the lock restored from what it persisted), or an
//! offline visitor code typed at the keypad (made by lock-proto's
//! `VisitorCodeBook` with pairing 1's secret, checked by the lock's
//! `VisitorCodeVerifier`, for a window around the lock's clock). After each event:
//!
//! - `handle` did not panic, dropped no action, left no due timer behind;
//! - no unlock while a lockout was active before the event (except the
//!   administrator commands that end the lockout first, R-LKO-3);
//! - capacities are never exceeded: 100 people, 50 faces, palms, fingers and
//!   passcode slots, 3/2/5 templates per person (R-USR-2, R-USR-3);
//! - a deleted person (or one never added) never opens: every unlock logged
//!   for a person names someone stored before the event (R-USR-5);
//! - a one-time visitor code opens once: its use is persisted before the
//!   bolt moves, and no code is recorded as used twice, also across power
//!   cuts (S-VC-1, R-APP-4);
//! - what the lock persisted restores (S-ST-3's own-snapshot case);
//! - no window end the clock has passed is revived (S-VC-3): nobody whose
//!   validity period ended before the furthest time the lock's clock ever
//!   showed opens, and no visitor code opens unless it is still open at
//!   that time, whatever steps back and power cuts came between (the
//!   harness sends the ticks a runtime sends at the lock's deadlines);
//! - an app command never adds to the failure count (S-BF-1: only a
//!   presented credential counts; a frame that fails authentication never
//!   reaches the core at all);
//! - leaving-home mode and the duress and intrusion alarms come back after
//!   a power cut as they were (R-LCK-4, R-PIN-7).
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use lock_core::PEOPLE_CAPACITY;
use lock_core::internals::{
    FACE_CAPACITY, FACES_PER_PERSON, FINGER_CAPACITY, FINGERS_PER_PERSON, PALM_CAPACITY,
    PALMS_PER_PERSON, PASSCODE_CAPACITY,
};
use lock_core::{
    Action, AlarmKind, AppChange, AppCommand, AppRequest, BiometricEvent, BiometricKind,
    BoltPosition, BoltReport, Change, Config, DoorState, Duration, EnrollFailure, EnrollStep,
    Event, Instant, Key, Link, Lock, LogEntry, Method, Passcode, PersonNumber, Privilege, Setting,
    Snapshot, TemplateId, Timestamp, Validity,
};
use lock_proto::VisitorCodeSpec;
use lock_proto::visitor::{HOUR, Profile, code_id};
use lock_proto::{VisitorCodeBook, VisitorCodeVerifier};

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
            pairing: 1,
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
            _ => BoltReport::Between,
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
                Event::PairingCode(u32::from(arg) * 3_907)
            } else {
                Event::AppChanged(AppChange::Paired {
                    pairing: u16::from(arg % 4) + 1,
                })
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

/// The phone's book of pairing 1; a factory reset gives the lock a new
/// secret, as lock-proto's `Protocol::factory_reset` does.
fn book(generation: u8) -> VisitorCodeBook {
    VisitorCodeBook::new([1, 2, 3, 4, 5, 6, 7, 8], [generation; 32])
}

/// The lock's verifier, accepting pairing 1's codes (as after its phone
/// asked for its secret).
fn verifier(generation: u8) -> VisitorCodeVerifier {
    let mut v = VisitorCodeVerifier::new([1, 2, 3, 4, 5, 6, 7, 8]);
    v.add_issuer(1, [generation; 32]).expect("one issuer fits");
    v
}

/// A visitor code for a window around the lock's clock: the keys that type
/// it, and its id if it is a one-time code.
fn visitor_code(
    lock: &Lock<VisitorCodeVerifier>,
    book: &VisitorCodeBook,
    now: Instant,
    arg: u8,
    dt: u8,
) -> Option<(Vec<Event>, Option<u64>, (Profile, u32))> {
    let wall = lock.wall_clock(now)?;
    let profile = Profile::of_digit(arg % 10)?;
    let step = u64::from(profile.step);
    // The current window's start, or one a little earlier or later.
    let hour = (wall.0 / HOUR) as i64 + i64::from(dt % 16) - 8;
    let hour = u64::try_from(hour).ok()?;
    let start = u32::try_from(hour - hour % step).ok()?;
    let spec = VisitorCodeSpec {
        profile: profile.digit,
        start_hour: start,
        sequence: arg / 10 % 4,
    };
    let code = book.code(&spec).ok()?;
    let mut events = vec![Event::Touch];
    events.extend(code.digits().iter().map(|&d| Event::Key(Key::Digit(d))));
    events.push(Event::Key(Key::Ok));
    let one_time =
        (profile.digit == 0).then(|| code_id(1, spec.profile, spec.start_hour, spec.sequence));
    Some((events, one_time, (profile, start)))
}

fn check_capacities(lock: &Lock<VisitorCodeVerifier>) {
    let people = lock.people();
    assert!(people.len() <= PEOPLE_CAPACITY);
    for (kind, cap) in [
        (BiometricKind::Face, FACE_CAPACITY),
        (BiometricKind::Palm, PALM_CAPACITY),
        (BiometricKind::Finger, FINGER_CAPACITY),
    ] {
        assert!(
            people.template_count(kind) <= cap,
            "more than {cap} {kind:?} templates"
        );
    }
    assert!(
        people.passcode_count() <= PASSCODE_CAPACITY,
        "more than 50 passcodes"
    );
    for p in people.iter() {
        assert!(p.faces.len() <= FACES_PER_PERSON);
        assert!(p.palms.len() <= PALMS_PER_PERSON);
        assert!(p.fingers.len() <= FINGERS_PER_PERSON);
    }
}

/// `CORE_EVENTS_TRACE=1 cargo fuzz run core_events <input>` prints every
/// event and the lock's actions.
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("CORE_EVENTS_TRACE").is_some())
}

struct Run {
    lock: Lock<VisitorCodeVerifier>,
    generation: u8,
    now: Instant,
    /// What the lock persisted, replayed.
    persisted: Snapshot,
    /// One-time codes recorded as used, per verifier generation.
    used: BTreeSet<(u8, u64)>,
    /// The furthest time the lock's wall clock has shown (S-VC-3).
    high: Option<Timestamp>,
}

impl Run {
    fn event(&mut self, ev: Event, one_time: Option<u64>) {
        self.event_typing(ev, one_time, None);
    }

    /// One event; `typed` is the visitor code being typed (profile and
    /// start hour), if any.
    fn event_typing(&mut self, ev: Event, one_time: Option<u64>, typed: Option<(Profile, u32)>) {
        let now = self.now;
        let failures_before = self.lock.failures_since_success();
        // Whose validity period the clock has passed (S-VC-3).
        let ended: BTreeSet<PersonNumber> = self
            .lock
            .people()
            .iter()
            .filter(|p| {
                p.validity
                    .until
                    .zip(self.high)
                    .is_some_and(|(until, high)| until < high)
            })
            .map(|p| p.number)
            .collect();
        let locked_out = self.lock.lockout(now).is_some();
        let lifts = matches!(
            ev,
            Event::App(AppRequest {
                privilege: Privilege::Administrator,
                command: AppCommand::LiftLockout
                    | AppCommand::Configure(Setting::LockoutProtection(false)),
                ..
            })
        );
        let stored: BTreeSet<PersonNumber> = self.lock.people().iter().map(|p| p.number).collect();
        let actions = self.lock.handle(now, ev);
        if trace() {
            eprintln!("{now:?} {ev:?} → {:?}", actions.iter().collect::<Vec<_>>());
        }
        assert_eq!(actions.dropped(), 0, "an action did not fit");
        if locked_out && !lifts {
            assert!(!actions.iter().any(is_unlock), "unlock during a lockout");
        }
        if let Some(d) = self.lock.next_deadline() {
            assert!(d > now, "a due timer was left behind");
        }
        let mut recorded = Vec::new();
        let mut reset = false;
        let mut persisted_at = None;
        let mut unlocked_at = None;
        let mut by_visitor_code = false;
        for (i, a) in actions.iter().enumerate() {
            match a {
                Action::Persist(change) => {
                    self.persisted.apply(change);
                    match change {
                        Change::VisitorCodeUsed { code, .. } => {
                            assert!(
                                self.used.insert((self.generation, code.id)),
                                "one-time visitor code {:#x} recorded as used twice",
                                code.id
                            );
                            recorded.push(code.id);
                            if one_time == Some(code.id) {
                                persisted_at = Some(i);
                            }
                        }
                        Change::FactoryReset => reset = true,
                        _ => {}
                    }
                }
                Action::Log(record) => match record.entry {
                    LogEntry::Unlock {
                        person: Some(n), ..
                    } => {
                        assert!(
                            stored.contains(&n),
                            "person {n:?} opened, not stored (deleted?)"
                        );
                        assert!(
                            !ended.contains(&n),
                            "person {n:?} opened after their validity ended ({:?})",
                            self.high
                        );
                    }
                    LogEntry::Unlock {
                        method: Method::VisitorCode,
                        ..
                    } => by_visitor_code = true,
                    _ => {}
                },
                a if is_unlock(a) => unlocked_at = unlocked_at.or(Some(i)),
                _ => {}
            }
        }
        if let (Some((profile, start)), true, Some(high)) = (typed, by_visitor_code, self.high) {
            assert!(
                profile.is_open(start, high.0),
                "a visitor code opened after its window ended ({high:?})"
            );
        }
        if matches!(ev, Event::App(_)) {
            assert!(
                self.lock.failures_since_success() <= failures_before,
                "an app command counted as a failure"
            );
        }
        if let Some(wall) = self.lock.wall_clock(now) {
            self.high = self.high.max(Some(wall));
        }
        if let (Some(_), true) = (one_time, by_visitor_code) {
            // The typed entry is the one-time code and nothing else.
            assert!(
                persisted_at.is_some_and(|p| unlocked_at.is_none_or(|u| p < u)),
                "a one-time code opened without its use persisted first"
            );
        }
        check_capacities(&self.lock);
        if reset {
            // The app side gives the lock a new visitor secret.
            self.generation = self.generation.wrapping_add(1);
            *self.lock.visitor_codes_mut() = verifier(self.generation);
        }
    }

    /// The ticks a runtime sends at the lock's deadlines up to `now`.
    fn ticks(&mut self) {
        let target = self.now;
        while let Some(d) = self.lock.next_deadline().filter(|&d| d <= target) {
            self.now = d;
            self.event(Event::Tick, None);
        }
        self.now = target;
    }

    fn power_cut(&mut self) {
        let before = self.lock.alarms();
        let leaving_home = self.lock.leaving_home();
        let lock = Lock::restore_with(
            Config::default(),
            verifier(self.generation),
            &self.persisted,
            self.now,
        )
        .unwrap_or_else(|e| panic!("what the lock persisted does not restore: {e:?}"));
        self.lock = lock;
        self.event(Event::Boot { set_held: false }, None);
        for kind in [AlarmKind::Duress, AlarmKind::Intrusion] {
            assert_eq!(
                self.lock.alarms().contains(kind),
                before.contains(kind),
                "{kind:?} across a power cut"
            );
        }
        assert_eq!(self.lock.leaving_home(), leaving_home, "leaving-home mode");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut run = Run {
        lock: Lock::with_visitor_codes(Config::default(), verifier(0)),
        generation: 0,
        now: Instant::ZERO,
        persisted: Snapshot::default(),
        used: BTreeSet::new(),
        high: None,
    };
    run.event(Event::Boot { set_held: false }, None);
    for chunk in data.chunks_exact(3) {
        let (op, arg, dt) = (chunk[0], chunk[1], chunk[2]);
        run.now = run.now + Duration::from_millis(u64::from(dt) * u64::from(dt) * 8);
        run.ticks();
        match op {
            0xFF => run.power_cut(),
            0xFE => {
                let book = book(run.generation);
                if let Some((events, one_time, typed)) =
                    visitor_code(&run.lock, &book, run.now, arg, dt)
                {
                    for ev in events {
                        run.now = run.now + Duration::from_millis(300);
                        run.ticks();
                        run.event_typing(ev, one_time, Some(typed));
                    }
                }
            }
            _ => run.event(event(op, arg), None),
        }
    }
});
