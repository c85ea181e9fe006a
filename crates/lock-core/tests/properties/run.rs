//! Running a sequence against a [`Lock`]: the lock each [`Start`] begins from
//! (the keypad set-up prefix, the near-full snapshot), and [`run_sequence`],
//! which resolves each [`Input`] against the lock's state, feeds the events,
//! mirrors the store and hands every handled event to the property as a
//! [`Step`].

use lock_core::internals::{FACES_PER_PERSON, FINGERS_PER_PERSON, PALMS_PER_PERSON};
use lock_core::{
    Action, Actions, AppCommand, AppRequest, BiometricEvent, BiometricKind, BoltPosition,
    BoltReport, Change, Config, DoorDirection, Duration, Event, Instant, Key, Link, Lock, Lockout,
    ModuleCommand, Passcode, Person, PersonNumber, Privilege, Role, Settings, Snapshot, TemplateId,
    Timestamp, Validity,
};
use proptest::test_runner::TestCaseError;

use crate::inputs::*;
use crate::scripts::*;

/// The set-up prefix of [`Start::SetUp`], as keypad steps.
fn set_up_ops() -> Vec<Op> {
    let mut ops = vec![key_op(Key::Ok), key_op(Key::Digit(1)), key_op(Key::Ok)];
    for _ in 0..2 {
        ops.extend(digit_ops(&pool_digits(0)));
        ops.push(key_op(Key::Ok));
    }
    // In the menu as 001: user 002 with a passcode, then a fingerprint.
    ops.push(key_op(Key::Digit(2)));
    ops.push(key_op(Key::Digit(4)));
    for _ in 0..2 {
        ops.extend(digit_ops(&pool_digits(1)));
        ops.push(key_op(Key::Ok));
    }
    ops.push(key_op(Key::Back));
    // User 003 with a fingerprint.
    ops.push(key_op(Key::Digit(2)));
    ops.push(key_op(Key::Digit(3)));
    ops.push(op(KEY_GAP, Input::CompleteEnroll(EnrollOutcome::AsAsked)));
    ops.push(key_op(Key::Back));
    // Administrator 004 with a face.
    ops.push(key_op(Key::Digit(1)));
    ops.push(key_op(Key::Digit(1)));
    ops.push(op(KEY_GAP, Input::CompleteEnroll(EnrollOutcome::AsAsked)));
    ops.push(key_op(Key::Back));
    ops.push(key_op(Key::Back));
    ops
}

/// 99 people, 49 faces, palms, fingers and passcodes: one short of every
/// capacity. 001 is an administrator with `POOL[0]`; the others are users;
/// 002 holds 3 faces, 2 palms and 5 fingers; 005 may open only inside a
/// validity period.
fn near_full_snapshot() -> Snapshot {
    let mut people: Vec<Person> = (1..=99)
        .map(|n| {
            Person::new(
                number(n),
                if n == 1 {
                    Role::Administrator
                } else {
                    Role::User
                },
            )
        })
        .collect();
    let mut filler = 1000u16;
    let mut next_filler = || {
        filler += 1;
        let s = format!("0000{filler:04}");
        Passcode::parse(&s).unwrap()
    };
    people[0].passcode = Some(pool_passcode(0));
    // 002 holds a full set of every kind (the largest deletion); the rest are
    // spread over 003… .
    for (kind, per_person, first) in [
        (BiometricKind::Face, FACES_PER_PERSON, 3usize),
        (BiometricKind::Palm, PALMS_PER_PERSON, 20),
        (BiometricKind::Finger, FINGERS_PER_PERSON, 50),
    ] {
        for id in 0..(kind.capacity() - 1) {
            let p = if id < per_person {
                &mut people[1]
            } else {
                &mut people[first - 1 + (id - per_person) / per_person]
            };
            assert!(p.add_template(kind, TemplateId(u16::try_from(id).unwrap())));
        }
    }
    // 40 normal codes and 8 duress codes: 49 with 001's.
    for p in people.iter_mut().skip(59) {
        p.passcode = Some(next_filler());
    }
    for p in people.iter_mut().skip(1).take(8) {
        p.duress = Some(next_filler());
    }
    people[4].validity = Validity {
        from: Some(Timestamp(WALL + 1_000)),
        until: Some(Timestamp(WALL + 50_000)),
    };
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Left),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    for p in people {
        snapshot.people.push(p).unwrap();
    }
    snapshot
}

// ----- running a sequence --------------------------------------------------------

/// One handled event, for the properties to judge.
pub(crate) struct Step<'a> {
    pub(crate) cfg: Config,
    pub(crate) now: Instant,
    pub(crate) event: Event,
    /// The lockout active just before the event, at the same `now`.
    pub(crate) lockout_before: Option<Lockout>,
    /// The menu was open just before the event.
    pub(crate) menu_before: bool,
    /// Every digit keyed since the last ✓ before this event.
    pub(crate) typed: &'a [u8],
    pub(crate) actions: &'a Actions,
    pub(crate) lock: &'a Lock,
    /// What the store holds: every change emitted so far applied in order to
    /// the snapshot the lock started from.
    pub(crate) store: &'a Snapshot,
}

type Check<'c> = dyn FnMut(&Step<'_>) -> Result<(), TestCaseError> + 'c;

struct Run<'c> {
    cfg: Config,
    lock: Lock,
    now: Instant,
    store: Snapshot,
    pending_enroll: Option<(BiometricKind, TemplateId)>,
    last_drive: Option<BoltPosition>,
    latest: Option<PersonNumber>,
    /// Digits keyed since the last ✓ (a superset of the lock's entry, which
    /// is a contiguous run of them), and those keyed before it.
    typed: Vec<u8>,
    last_entry: Vec<u8>,
    check: &'c mut Check<'c>,
}

impl Run<'_> {
    fn feed(&mut self, event: Event) -> Result<(), TestCaseError> {
        let lockout_before = self.lock.lockout(self.now);
        let menu_before = self.lock.in_menu();
        let actions = self.lock.handle(self.now, event);
        for action in &actions {
            match action {
                Action::Persist(change) => {
                    if let Change::Person(p) = change {
                        self.latest = Some(p.number);
                    }
                    self.store.apply(change);
                }
                Action::Module(ModuleCommand::Enroll { kind, template }) => {
                    self.pending_enroll = Some((*kind, *template));
                }
                Action::Module(ModuleCommand::CancelEnroll(_)) => self.pending_enroll = None,
                Action::DriveBolt { to, .. } => self.last_drive = Some(*to),
                _ => {}
            }
        }
        if let Event::Key(Key::Digit(d)) | Event::KeyHeld(Key::Digit(d)) = event
            && d <= 9
        {
            self.typed.push(d);
        }
        let result = (self.check)(&Step {
            cfg: self.cfg,
            now: self.now,
            event,
            typed: &self.typed,
            lockout_before,
            menu_before,
            actions: &actions,
            lock: &self.lock,
            store: &self.store,
        });
        if let Event::Key(Key::Ok) | Event::KeyHeld(Key::Ok) = event {
            self.last_entry = std::mem::take(&mut self.typed);
        }
        result
    }

    fn type_digits(&mut self, ds: &[u8]) -> Result<(), TestCaseError> {
        self.feed(Event::Touch)?;
        for &d in ds {
            self.now = self.now + Duration::from_millis(KEY_GAP);
            self.feed(Event::Key(Key::Digit(d)))?;
        }
        self.now = self.now + Duration::from_millis(KEY_GAP);
        self.feed(Event::Key(Key::Ok))
    }

    /// Every code stored, normal and duress, in number order.
    fn stored_codes(&self) -> Vec<Vec<u8>> {
        self.lock
            .people()
            .iter()
            .flat_map(|p| p.passcode.iter().chain(p.duress.iter()))
            .map(|c| c.digits().to_vec())
            .collect()
    }

    fn run(&mut self, o: &Op) -> Result<(), TestCaseError> {
        self.now = self.now + Duration::from_millis(o.dt);
        match &o.input {
            Input::Nothing => Ok(()),
            Input::Event(e) => self.feed(*e),
            Input::Deadline => match self.lock.next_deadline() {
                Some(t) => {
                    self.now = self.now.max(t);
                    self.feed(Event::Tick)
                }
                None => Ok(()),
            },
            Input::PowerCycle {
                set_held,
                clock_restarts,
            } => {
                if *clock_restarts {
                    self.now = Instant::ZERO;
                }
                self.lock = Lock::restore(self.cfg, &self.lock.snapshot(), self.now)
                    .unwrap_or_else(|_| Lock::fail_secure(self.cfg));
                self.pending_enroll = None;
                self.last_drive = None;
                self.feed(Event::Boot {
                    set_held: *set_held,
                })
            }
            Input::TypeStored {
                pick,
                before,
                after,
            } => {
                let codes = self.stored_codes();
                let code = if codes.is_empty() {
                    pool_digits(*pick)
                } else {
                    codes[pick % codes.len()].clone()
                };
                self.type_digits(&[before.as_slice(), &code, after].concat())
            }
            Input::TypeDigits {
                before,
                code,
                after,
            } => self.type_digits(&[before.as_slice(), code, after].concat()),
            Input::Identify { pick, kind } => {
                let stored: Vec<TemplateId> = self
                    .lock
                    .people()
                    .iter()
                    .flat_map(|p| p.templates(*kind).iter().copied())
                    .collect();
                let event = if stored.is_empty() {
                    BiometricEvent::NoMatch { kind: *kind }
                } else {
                    BiometricEvent::Identified {
                        kind: *kind,
                        template: stored[pick % stored.len()],
                    }
                };
                self.feed(Event::Biometric(event))
            }
            Input::CompleteEnroll(outcome) => {
                let (kind, asked) = self
                    .pending_enroll
                    .unwrap_or((BiometricKind::Finger, TemplateId(7)));
                let event = match *outcome {
                    EnrollOutcome::AsAsked => BiometricEvent::Enrolled {
                        kind,
                        template: asked,
                    },
                    EnrollOutcome::Under(id) => BiometricEvent::Enrolled {
                        kind,
                        template: TemplateId(id),
                    },
                    EnrollOutcome::Failed(reason) => BiometricEvent::EnrollFailed { kind, reason },
                    EnrollOutcome::Progress(step) => BiometricEvent::EnrollProgress { kind, step },
                    EnrollOutcome::Fault => BiometricEvent::Fault { kind },
                };
                if !matches!(outcome, EnrollOutcome::Progress(_)) {
                    self.pending_enroll = None;
                }
                self.feed(Event::Biometric(event))
            }
            Input::BoltFollows => match self.last_drive.take() {
                Some(to) => self.feed(Event::Bolt(BoltReport::Reached(to))),
                None => Ok(()),
            },
            Input::AppOnLatest {
                what,
                code,
                validity,
            } => {
                let person = self.latest.unwrap_or(PersonNumber::FIRST);
                let command = match what {
                    0 => AppCommand::DeletePerson(person),
                    1 => AppCommand::SetValidity {
                        person,
                        validity: *validity,
                    },
                    2 => AppCommand::SetDuressPasscode {
                        person,
                        code: pool_passcode(*code),
                    },
                    _ => AppCommand::SetDuressPasscode {
                        person,
                        code: Passcode::new(
                            &self.last_entry[self.last_entry.len().saturating_sub(10)..],
                        )
                        .unwrap_or_else(|_| pool_passcode(*code)),
                    },
                };
                self.feed(Event::App(AppRequest {
                    pairing: 1,
                    privilege: Privilege::Administrator,
                    link: Link::Remote,
                    command,
                }))
            }
            Input::AdminCredential { pick, biometric } => {
                let admins: Vec<Person> = self
                    .lock
                    .people()
                    .iter()
                    .filter(|p| p.role == Role::Administrator)
                    .cloned()
                    .collect();
                let templates: Vec<(BiometricKind, TemplateId)> =
                    admins.iter().flat_map(Person::all_templates).collect();
                let codes: Vec<Vec<u8>> = admins
                    .iter()
                    .filter_map(|p| p.passcode.map(|c| c.digits().to_vec()))
                    .collect();
                if (*biometric || codes.is_empty()) && !templates.is_empty() {
                    let (kind, template) = templates[pick % templates.len()];
                    self.feed(Event::Biometric(BiometricEvent::Identified {
                        kind,
                        template,
                    }))
                } else if codes.is_empty() {
                    self.type_digits(&pool_digits(0))
                } else {
                    self.type_digits(&codes[pick % codes.len()])
                }
            }
        }
    }
}

/// Runs `ops` from `start`, calling `check` after every event.
pub(crate) fn run_sequence(
    start: Start,
    ops: &[Op],
    check: &mut Check<'_>,
) -> Result<Lock, TestCaseError> {
    let cfg = Config::default();
    let (lock, store) = match start {
        Start::Fresh | Start::SetUp => (Lock::new(cfg), Snapshot::default()),
        Start::NearFull => {
            let snapshot = near_full_snapshot();
            let lock = Lock::restore(cfg, &snapshot, Instant::ZERO)
                .map_err(|e| TestCaseError::fail(format!("near-full restore: {e:?}")))?;
            (lock, snapshot)
        }
    };
    let mut run = Run {
        cfg,
        lock,
        now: Instant::ZERO,
        store,
        pending_enroll: None,
        last_drive: None,
        latest: None,
        typed: Vec::new(),
        last_entry: Vec::new(),
        check,
    };
    run.feed(Event::Boot { set_held: false })?;
    if let Start::SetUp = start {
        for o in set_up_ops() {
            run.run(&o)?;
        }
    }
    for o in ops {
        run.run(o)?;
    }
    Ok(run.lock)
}
