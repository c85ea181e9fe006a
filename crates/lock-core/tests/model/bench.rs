//! The lock under test: a [`Lock`] with a clock, a flash that every `Persist`
//! is applied to and the log of the current transition; each transition is
//! played on it, and [`check`] compares it with the model afterwards.

use std::collections::BTreeMap;

use lock_core::{
    Action, AppCommand, AppRequest, BoltReport, Config, DoorDirection, Event, Instant, Key, Link,
    Lock, LockoutCause, LogEntry, Passcode, Person, PersonNumber, Privilege, Role, Settings,
    Snapshot,
};
use proptest_state_machine::StateMachineTest;

use crate::reference::*;
use crate::transitions::*;

pub(crate) struct Bench {
    lock: Lock,
    now: Instant,
    /// Every `Persist` applied: what a restart finds.
    flash: Snapshot,
    /// Log entries of the current transition.
    log: Vec<LogEntry>,
}

fn snapshot(model: &Model) -> Snapshot {
    let mut s = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    for (&n, (role, code)) in &model.people {
        let mut p = Person::new(PersonNumber::new(n).unwrap(), *role);
        p.passcode = code.as_ref().map(|c| Passcode::new(c).unwrap());
        s.people.push(p).unwrap();
    }
    s
}

impl Bench {
    fn handle(&mut self, event: Event) {
        let actions: Vec<Action> = self.lock.handle(self.now, event).into_iter().collect();
        for a in &actions {
            match a {
                Action::Persist(change) => self.flash.apply(change),
                Action::Log(record) => self.log.push(record.entry),
                _ => {}
            }
        }
        // The lock body reaches where it is driven at once.
        for a in &actions {
            if let Action::DriveBolt { to, .. } = a {
                let more = self
                    .lock
                    .handle(self.now, Event::Bolt(BoltReport::Reached(*to)));
                for a in more.iter() {
                    match a {
                        Action::Persist(change) => self.flash.apply(change),
                        Action::Log(record) => self.log.push(record.entry),
                        _ => {}
                    }
                }
            }
        }
    }

    fn key(&mut self, key: Key) {
        self.now = self.now + lock_core::Duration::from_millis(KEY_GAP_MS);
        self.handle(Event::Key(key));
    }

    fn app(&mut self, command: AppCommand) {
        self.now = self.now + lock_core::Duration::from_millis(KEY_GAP_MS);
        self.handle(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command,
        }));
    }
}

pub(crate) struct LockMatchesModel;

impl StateMachineTest for LockMatchesModel {
    type SystemUnderTest = Bench;
    type Reference = Reference;

    fn init_test(model: &Model) -> Bench {
        let flash = snapshot(model);
        let now = Instant::from_millis(model.now);
        let lock = Lock::restore(Config::default(), &flash, now).unwrap();
        let mut bench = Bench {
            lock,
            now,
            flash,
            log: Vec::new(),
        };
        bench.handle(Event::Boot { set_held: false });
        bench
    }

    fn apply(mut bench: Bench, model: &Model, transition: Transition) -> Bench {
        bench.log.clear();
        match transition {
            Transition::Digits(ds) => {
                for d in ds {
                    bench.key(Key::Digit(d));
                }
            }
            Transition::Entry(ds) => {
                for d in ds {
                    bench.key(Key::Digit(d));
                }
                bench.key(Key::Ok);
            }
            Transition::Key(k) => bench.key(k),
            Transition::Touch => {
                bench.now = bench.now + lock_core::Duration::from_millis(KEY_GAP_MS);
                bench.handle(Event::Touch);
            }
            Transition::Set => {
                bench.now = bench.now + lock_core::Duration::from_millis(KEY_GAP_MS);
                bench.handle(Event::Set);
            }
            Transition::Wait(ms) => {
                let target = bench.now + lock_core::Duration::from_millis(ms);
                while let Some(d) = bench.lock.next_deadline().filter(|&d| d <= target) {
                    bench.now = bench.now.max(d);
                    bench.handle(Event::Tick);
                }
                bench.now = target;
            }
            Transition::PowerCycle => {
                bench.now = Instant::ZERO;
                bench.lock = Lock::restore(Config::default(), &bench.flash, bench.now)
                    .expect("R-LKO-4: what the lock persisted restores");
                bench.handle(Event::Boot { set_held: false });
            }
            Transition::AppLiftLockout => bench.app(AppCommand::LiftLockout),
            Transition::AppDelete(n) => {
                bench.app(AppCommand::DeletePerson(PersonNumber::new(n).unwrap()));
            }
        }
        assert_eq!(
            bench.now.millis(),
            model.now,
            "the bench and the model keep one clock"
        );
        check(&bench, model);
        bench
    }
}

/// The lock agrees with the model on everything the transition could change.
fn check(bench: &Bench, model: &Model) {
    let lock = &bench.lock;
    // R-UNL-2: who opened; R-LKO-1/5: failures and lockouts logged.
    let unlocked: Vec<u8> = bench
        .log
        .iter()
        .filter_map(|e| match e {
            LogEntry::Unlock {
                person: Some(n), ..
            } => Some(n.get()),
            _ => None,
        })
        .collect();
    assert_eq!(unlocked, model.outcome.unlocked_by, "who opened");
    let failures = bench
        .log
        .iter()
        .filter(|e| matches!(e, LogEntry::UnlockFailed { .. }))
        .count();
    assert_eq!(failures, model.outcome.failures, "failures logged");
    let lockouts: Vec<LockoutCause> = bench
        .log
        .iter()
        .filter_map(|e| match e {
            LogEntry::Lockout { cause, .. } => Some(*cause),
            _ => None,
        })
        .collect();
    assert_eq!(lockouts, model.outcome.lockouts, "lockouts that began");
    // R-LKO-1…5: the lockout, its end, and the count.
    let expected_lockout = model
        .lockout
        .filter(|(until, _, _)| model.now < *until)
        .map(|(until, _, cause)| (until, cause));
    let actual_lockout = lock.lockout(bench.now).map(|l| (l.until.millis(), l.cause));
    assert_eq!(actual_lockout, expected_lockout, "the lockout");
    assert_eq!(
        lock.failures_since_success(),
        model.since_success,
        "failures since the last success"
    );
    // R-LKO-4: what reached flash.
    let a = bench.flash.attempts;
    assert_eq!(
        (a.recent, a.since_success, a.lockout),
        model.on_flash,
        "the failure record on flash"
    );
    // R-MNU-1/3: menu and keypad.
    assert_eq!(
        lock.in_menu(),
        matches!(model.mode, Mode::Menu { .. }),
        "menu open"
    );
    assert_eq!(
        lock.keypad().is_some(),
        model.awake_until.is_some(),
        "keypad lit"
    );
    // R-USR-2/4, R-MNU-4/5, R-PIN-1/2/3/5: the people.
    let people: BTreeMap<u8, (Role, Option<Vec<u8>>)> = lock
        .people()
        .iter()
        .map(|p| {
            (
                p.number.get(),
                (p.role, p.passcode.map(|c| c.digits().to_vec())),
            )
        })
        .collect();
    assert_eq!(people, model.people, "the people");
    assert_eq!(
        bench.flash.people.len(),
        model.people.len(),
        "the people on flash"
    );
}
