//! The bridge between the Door Lock handler and the runtime's app side:
//! a fabric's command reaches the real core and its reply comes back;
//! records and people are answered without the core; the attributes and
//! events follow the lock (SPEC §10).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use embassy_futures::block_on;
use embassy_futures::join::join;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use lock_core::{
    Action, AppCommand, Config, Event, Instant, Key, Lock, LogEntry, LogRecord, Method, Passcode,
    PersonNumber, Privilege, Refusal, Reply, Role, Setting, Validity,
};
use lock_matter::map::{
    self, Credential, CredentialType, DoorLockEvent, LockOperationType, OperationSource, UserType,
    fabric_of_pairing,
};
use lock_matter::{Answer, Bridge, LockView, MatterApp, Request};
use lock_runtime::{App, AppContext, AppEvent, MemoryStore, NoApp};

type TestBridge = Bridge<CriticalSectionRawMutex>;

const ADMIN: &str = "482915";

fn n(x: u8) -> PersonNumber {
    PersonNumber::new(x).unwrap()
}

/// A lock after its first start: administrator 001 with [`ADMIN`].
fn lock() -> (Lock, Instant) {
    let now = Instant::from_millis(1_000);
    let mut lock = Lock::new(Config::default());
    let _ = lock.handle(now, Event::Boot { set_held: false });
    let mut keys = vec![Key::Ok, Key::Digit(1), Key::Ok];
    for _ in 0..2 {
        keys.extend(ADMIN.bytes().map(|b| Key::Digit(b - b'0')));
        keys.push(Key::Ok);
    }
    keys.push(Key::Back);
    for k in keys {
        let _ = lock.handle(now, Event::Key(k));
    }
    assert_eq!(lock.people().len(), 1);
    (lock, now)
}

/// What the runtime does for one request: wait, process, hand it to the
/// core, carry out the log and the reply.
async fn serve(
    app: &mut MatterApp<'_, CriticalSectionRawMutex, NoApp>,
    lock: &mut Lock,
    now: Instant,
    store: &mut MemoryStore,
) -> Option<AppEvent> {
    app.wait().await.unwrap();
    let event = {
        let cx = AppContext::of(lock, now);
        app.process(&cx, store).await.unwrap()
    };
    if let Some(AppEvent::Request(request)) = event {
        for action in lock.handle(now, Event::App(request)).iter() {
            match action {
                Action::Log(record) => app.logged(record),
                Action::Reply(reply) => app.reply(reply, store).await.unwrap(),
                _ => {}
            }
        }
    }
    app.observe(&AppContext::of(lock, now));
    event
}

fn ask(
    bridge: &TestBridge,
    app: &mut MatterApp<'_, CriticalSectionRawMutex, NoApp>,
    lock: &mut Lock,
    now: Instant,
    request: Request,
) -> (Answer, Option<AppEvent>) {
    let mut store = MemoryStore::new();
    block_on(join(bridge.ask(request), serve(app, lock, now, &mut store)))
}

fn command(fabric: u8, privilege: Privilege, command: AppCommand) -> Request {
    Request::Command {
        fabric,
        privilege,
        command,
    }
}

#[test]
fn r_mtr_2_a_fabrics_command_reaches_the_core_as_its_own_pairing() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let (mut lock, now) = lock();
    let (answer, event) = ask(
        &bridge,
        &mut app,
        &mut lock,
        now,
        command(
            3,
            Privilege::Administrator,
            AppCommand::AddPerson {
                number: Some(n(12)),
                role: Role::User,
                passcode: Passcode::parse("730418").unwrap(),
                validity: Validity::ALWAYS,
            },
        ),
    );
    assert!(matches!(answer, Answer::Reply(Reply::PersonAdded(p)) if p == n(12)));
    let Some(AppEvent::Request(request)) = event else {
        panic!("{event:?}");
    };
    assert_eq!(fabric_of_pairing(request.pairing), Some(3));
    assert_eq!(request.link, lock_core::Link::Remote);
    // The log record raised a LockUserChange naming the fabric.
    assert!(matches!(
        bridge.take_event(),
        Some(DoorLockEvent::UserChange {
            fabric: Some(3),
            user: 12,
            source: OperationSource::Remote,
            ..
        })
    ));
    assert_eq!(bridge.view().map(|v| v.people), Some(2));
}

#[test]
fn r_mtr_3_an_unlock_with_a_pin_is_verified_by_the_core_and_reported() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let (mut lock, now) = lock();
    let unlock = |code: &str| {
        command(
            1,
            Privilege::User,
            AppCommand::UnlockWithPasscode(Passcode::parse(code).unwrap()),
        )
    };
    let (answer, _) = ask(&bridge, &mut app, &mut lock, now, unlock(ADMIN));
    assert!(matches!(
        answer,
        Answer::Reply(Reply::Refused(Refusal::RemoteUnlockDisabled))
    ));
    let (answer, _) = ask(
        &bridge,
        &mut app,
        &mut lock,
        now,
        command(
            1,
            Privilege::Administrator,
            AppCommand::Configure(Setting::RemoteUnlock(true)),
        ),
    );
    assert!(matches!(answer, Answer::Reply(Reply::Done)));
    assert!(bridge.view().unwrap().remote_unlock);
    while bridge.take_event().is_some() {}
    let (answer, _) = ask(&bridge, &mut app, &mut lock, now, unlock(ADMIN));
    assert!(matches!(answer, Answer::Reply(Reply::Done)));
    assert_eq!(
        bridge.take_event(),
        Some(DoorLockEvent::Operation {
            kind: LockOperationType::Unlock,
            source: OperationSource::Remote,
            user: Some(1),
        })
    );
    // Five wrong PINs: a lockout, ActuatorEnabled false.
    for _ in 0..5 {
        let (answer, _) = ask(&bridge, &mut app, &mut lock, now, unlock("909091"));
        assert!(matches!(
            answer,
            Answer::Reply(Reply::Refused(Refusal::NoMatch))
        ));
    }
    assert!(!bridge.view().unwrap().actuator_enabled);
    let (answer, _) = ask(&bridge, &mut app, &mut lock, now, unlock(ADMIN));
    assert!(matches!(
        answer,
        Answer::Reply(Reply::Refused(Refusal::SystemLocked))
    ));
}

#[test]
fn r_mtr_2_records_and_holders_are_answered_without_the_core() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let (mut lock, now) = lock();
    let (answer, event) = ask(&bridge, &mut app, &mut lock, now, Request::User(n(1)));
    assert!(event.is_none(), "the core was not asked");
    let Answer::User(Some(record)) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(record.number, n(1));
    assert_eq!(record.user_type, UserType::Programming);
    assert_eq!(
        record.credentials.as_slice(),
        [Credential {
            kind: CredentialType::Pin,
            index: 1
        }]
    );
    let (answer, _) = ask(&bridge, &mut app, &mut lock, now, Request::User(n(2)));
    assert!(matches!(answer, Answer::User(None)));
    let pin_of = |index| Credential {
        kind: CredentialType::Pin,
        index,
    };
    let (answer, _) = ask(
        &bridge,
        &mut app,
        &mut lock,
        now,
        Request::Holder(pin_of(1)),
    );
    assert!(matches!(answer, Answer::Holder(Some(p)) if p == n(1)));
    let (answer, _) = ask(
        &bridge,
        &mut app,
        &mut lock,
        now,
        Request::Holder(pin_of(2)),
    );
    assert!(matches!(answer, Answer::Holder(None)));
    // The next occupied indices, from the people too.
    for (request, next) in [
        (Request::NextUser(0), Some(1)),
        (Request::NextUser(1), None),
        (Request::NextCredential(pin_of(0)), Some(1)),
        (Request::NextCredential(pin_of(1)), None),
    ] {
        let (answer, event) = ask(&bridge, &mut app, &mut lock, now, request);
        assert!(event.is_none(), "the core was not asked");
        assert!(matches!(answer, Answer::Next(n) if n == next), "{answer:?}");
    }
}

#[test]
fn r_mtr_6_schedules_set_by_a_fabric_read_back_in_the_record() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let (mut lock, now) = lock();
    let hours = map::weekly_schedule(
        map::WeekDaySchedule {
            days_mask: 0b011_1110,
            start_hour: 8,
            start_minute: 0,
            end_hour: 17,
            end_minute: 30,
        },
        0,
    )
    .unwrap();
    let period = map::validity_of_year_day(0, 1_000_000).unwrap();
    for c in [
        AppCommand::SetSchedule {
            person: n(1),
            schedule: Some(hours),
        },
        AppCommand::SetValidity {
            person: n(1),
            validity: period,
        },
    ] {
        let (answer, _) = ask(
            &bridge,
            &mut app,
            &mut lock,
            now,
            command(2, Privilege::Administrator, c),
        );
        assert!(matches!(answer, Answer::Reply(Reply::Done)), "{answer:?}");
    }
    let (answer, _) = ask(&bridge, &mut app, &mut lock, now, Request::User(n(1)));
    let Answer::User(Some(record)) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(record.schedule, Some(hours));
    assert_eq!(record.validity, period);
    assert_eq!(
        map::year_day_of_validity(&record.validity),
        Some((0, 1_000_000))
    );
    // Cleared: no hours, always valid.
    for c in [
        AppCommand::SetSchedule {
            person: n(1),
            schedule: None,
        },
        AppCommand::SetValidity {
            person: n(1),
            validity: Validity::ALWAYS,
        },
    ] {
        let _ = ask(
            &bridge,
            &mut app,
            &mut lock,
            now,
            command(2, Privilege::Administrator, c),
        );
    }
    let (answer, _) = ask(&bridge, &mut app, &mut lock, now, Request::User(n(1)));
    let Answer::User(Some(record)) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!((record.schedule, record.validity), (None, Validity::ALWAYS));
}

#[test]
fn r_mtr_4_the_view_follows_the_lock() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let (mut lock, now) = lock();
    assert_eq!(bridge.view(), None, "nothing before the lock booted");
    app.observe(&AppContext::of(&lock, now));
    let view: LockView = bridge.view().unwrap();
    assert_eq!(view.lock_state, lock_matter::map::lock_state(lock.bolt()));
    assert!(view.actuator_enabled);
    assert!(!view.pairing);
    let _ = lock.handle(now, Event::SetHeld);
    app.observe(&AppContext::of(&lock, now));
    assert!(bridge.view().unwrap().pairing);
    // A changed view wakes the handler; an unchanged one does not.
    block_on(bridge.changed());
}

#[test]
fn r_mtr_5_events_queue_in_order_and_the_oldest_is_dropped_when_full() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let record = |person| LogRecord {
        at: Instant::from_millis(0),
        wall: None,
        entry: LogEntry::Unlock {
            person: Some(n(person)),
            method: Method::Passcode,
        },
    };
    for person in 1..=20u8 {
        app.logged(&record(person));
    }
    // Records that raise no event are not queued.
    app.logged(&LogRecord {
        at: Instant::from_millis(0),
        wall: None,
        entry: LogEntry::LockoutEnded,
    });
    assert_eq!(bridge.dropped_events(), 4);
    let users: Vec<Option<u16>> = core::iter::from_fn(|| bridge.take_event())
        .map(|e| match e {
            DoorLockEvent::Operation { user, .. } => user,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(users, (5..=20).map(Some).collect::<Vec<_>>());
}

#[test]
fn r_mtr_1_a_factory_reset_is_counted_for_the_matter_side() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let mut store = MemoryStore::new();
    assert_eq!(bridge.factory_resets(), 0);
    block_on(app.factory_reset(&mut store)).unwrap();
    assert_eq!(bridge.factory_resets(), 1);
}

#[test]
fn a_request_the_core_had_taken_when_power_went_is_answered_restarted() {
    let bridge = TestBridge::new();
    let (lock, now) = lock();
    let mut store = MemoryStore::new();
    let asking = async {
        bridge
            .ask(command(1, Privilege::User, AppCommand::Unlock))
            .await
    };
    let power_cut = async {
        let mut app = MatterApp::new(NoApp, &bridge);
        app.wait().await.unwrap();
        let cx = AppContext::of(&lock, now);
        let taken = app.process(&cx, &mut store).await.unwrap();
        assert!(matches!(taken, Some(AppEvent::Request(_))));
        // The runtime is gone with the power; a new one starts.
        let mut app = MatterApp::new(NoApp, &bridge);
        app.start(&mut store).await.unwrap();
    };
    let (answer, ()) = block_on(join(asking, power_cut));
    assert!(matches!(answer, Answer::Restarted));
}

#[test]
fn r_mtr_1_a_commissioning_is_a_pairing_and_ends_pairing_mode() {
    let bridge = TestBridge::new();
    let mut app = MatterApp::new(NoApp, &bridge);
    let (mut lock, now) = lock();
    let _ = lock.handle(now, Event::SetHeld);
    assert!(lock.pairing());
    let mut store = MemoryStore::new();
    let lock_side = async {
        app.wait().await.unwrap();
        let cx = AppContext::of(&lock, now);
        app.process(&cx, &mut store).await.unwrap()
    };
    let (answer, event) = block_on(join(
        bridge.ask(Request::Commissioned { fabric: 2 }),
        lock_side,
    ));
    assert!(matches!(answer, Answer::Reply(Reply::Done)));
    let Some(AppEvent::Changed(change)) = event else {
        panic!("{event:?}");
    };
    let actions = lock.handle(now, Event::AppChanged(change));
    assert!(!lock.pairing(), "pairing mode ended");
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Log(r) if r.entry == LogEntry::Paired { pairing: lock_matter::map::pairing_of_fabric(2) }
    )));
}
