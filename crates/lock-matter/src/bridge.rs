//! The bridge between a Matter stack and the lock's runtime.
//!
//! The Matter stack runs its own tasks (transport, mDNS, the interaction
//! model); the lock runs lock-runtime's control loop. They meet here:
//!
//! - the Door Lock handler [`Bridge::ask`]s for what only the lock decides
//!   (an unlock, a person added or deleted) and for what it holds (a
//!   person's record, a credential's holder); the runtime's app side,
//!   [`MatterApp`], hands the first to the core as an [`AppRequest`] from
//!   the fabric, exactly as it hands on the phone's, and answers the second
//!   from the lock's people without waking the core;
//! - after every step the app side publishes a [`LockView`] (the
//!   attributes) and queues the events its log records raise, and signals
//!   the handler, which reports them.
//!
//! Nothing here blocks: both sides wait on signals, so the bridge works
//! between two tasks of one executor, two executors, or two threads (with a
//! mutex kind that allows it, e.g. `CriticalSectionRawMutex`).

use core::cell::RefCell;

use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use heapless::Deque;
use lock_core::{
    AlarmKind, AppChange, AppCommand, AppRequest, Instant, Link, LogRecord, Name, Notice,
    PersonNumber, Privilege, Reply, Validity, Volume, WeeklySchedule,
};
use lock_hal::ErrorType;
use lock_runtime::{App, AppContext, AppEvent, AppIdentity, StateStore};

use crate::map::{
    self, Credential, DoorLockEvent, DoorStateValue, LockState, UserType, credentials, holder,
    pairing_of_fabric,
};

/// Events the bridge keeps for the handler; the oldest is dropped first
/// (and counted) when the handler falls this far behind.
pub const EVENT_QUEUE: usize = 16;

/// Credentials one person can hold in the cluster's terms: a PIN, five
/// fingers, three faces (palms are not listed).
pub const CREDENTIALS_PER_USER: usize = 1 + lock_core::TEMPLATES_PER_PERSON;

/// The Door Lock attributes that follow the lock (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockView {
    /// LockState.
    pub lock_state: LockState,
    /// DoorState.
    pub door: DoorStateValue,
    /// ActuatorEnabled: false during a lockout.
    pub actuator_enabled: bool,
    /// Remote unlock (R-APP-2): UnlockDoor is refused without it.
    pub remote_unlock: bool,
    /// AutoRelockTime, seconds: the countdown lock, 0 when it is off.
    pub auto_relock_secs: u32,
    /// SoundVolume.
    pub volume: Volume,
    /// Pairing mode is open: commissioning is allowed (R-MNU-7).
    pub pairing: bool,
    /// People stored.
    pub people: u8,
}

impl LockView {
    /// The attributes of the lock as `cx` shows it.
    pub fn of(cx: &AppContext<'_>) -> LockView {
        let s = cx.settings;
        LockView {
            lock_state: map::lock_state(cx.status.bolt),
            door: map::door_state(
                cx.status.door,
                cx.status.alarms.contains(AlarmKind::Intrusion),
            ),
            actuator_enabled: !cx.locked_out,
            remote_unlock: s.remote_unlock,
            auto_relock_secs: if s.auto_lock {
                u32::from(s.auto_lock_secs)
            } else {
                0
            },
            volume: s.volume,
            pairing: cx.pairing,
            people: cx.status.people,
        }
    }
}

/// A person as GetUser reads them back (SPEC §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Their number: the user index.
    pub number: PersonNumber,
    /// Their name (UserName).
    pub name: Name,
    /// Their user type.
    pub user_type: UserType,
    /// Their credentials.
    pub credentials: heapless::Vec<Credential, CREDENTIALS_PER_USER>,
    /// Their weekly hours (R-APP-3), GetWeekDaySchedule's.
    pub schedule: Option<WeeklySchedule>,
    /// Their validity period (R-USR-6), GetYearDaySchedule's.
    pub validity: Validity,
}

/// What the Door Lock handler asks of the lock.
#[derive(Debug, Clone, Copy)]
pub enum Request {
    /// A command the core decides, from a fabric (its index, 1…254) with
    /// the privilege its access control granted.
    Command {
        /// The fabric's index.
        fabric: u8,
        /// Administrator for the people, user for lock and unlock.
        privilege: Privilege,
        /// What it asks.
        command: AppCommand,
    },
    /// A person's record.
    User(PersonNumber),
    /// Who holds a credential.
    Holder(Credential),
    /// The lowest occupied user index above this one (GetUser's
    /// NextUserIndex).
    NextUser(u16),
    /// The lowest occupied index of this credential's type above its index
    /// (GetCredentialStatus's NextCredentialIndex).
    NextCredential(Credential),
    /// A controller completed commissioning on fabric `fabric` while
    /// pairing mode was open: the lock logs the pairing and ends pairing
    /// mode, as for a phone (R-MNU-7, R-MTR-1). Answered at once.
    Commissioned {
        /// The new fabric's index.
        fabric: u8,
    },
}

/// The lock's answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The core's reply to a [`Request::Command`].
    Reply(Reply),
    /// The record asked for, if the person exists.
    User(Option<UserRecord>),
    /// The holder asked for, if anyone holds the credential.
    Holder(Option<PersonNumber>),
    /// The next occupied index asked for, if there is one.
    Next(Option<u16>),
    /// The lock restarted before it answered (power cut): nothing is known
    /// to have happened; the controller may ask again.
    Restarted,
}

#[derive(Debug)]
enum Slot {
    Empty,
    Asked(Request),
    WithCore,
    Answered(Answer),
}

struct Shared {
    slot: Slot,
    view: Option<LockView>,
    events: Deque<DoorLockEvent, EVENT_QUEUE>,
    dropped_events: u32,
    factory_resets: u32,
}

/// Where the two sides meet; one per lock, shared by reference (a
/// `static`, or a value both tasks borrow).
pub struct Bridge<M: RawMutex> {
    shared: BlockingMutex<M, RefCell<Shared>>,
    to_lock: Signal<M, ()>,
    answered: Signal<M, ()>,
    changed: Signal<M, ()>,
    one_at_a_time: Mutex<M, ()>,
}

impl<M: RawMutex> Default for Bridge<M> {
    fn default() -> Self {
        Bridge::new()
    }
}

impl<M: RawMutex> Bridge<M> {
    /// An empty bridge: no view until the lock has booted.
    pub const fn new() -> Bridge<M> {
        Bridge {
            shared: BlockingMutex::new(RefCell::new(Shared {
                slot: Slot::Empty,
                view: None,
                events: Deque::new(),
                dropped_events: 0,
                factory_resets: 0,
            })),
            to_lock: Signal::new(),
            answered: Signal::new(),
            changed: Signal::new(),
            one_at_a_time: Mutex::new(()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        self.shared.lock(|s| f(&mut s.borrow_mut()))
    }

    /// The Matter side: asks the lock and waits for its answer. One request
    /// is in flight at a time; others wait their turn. Cancel-safe only
    /// before the lock took the request (a command the core started
    /// finishes, and its answer is dropped by the next ask).
    pub async fn ask(&self, request: Request) -> Answer {
        let _turn = self.one_at_a_time.lock().await;
        self.with(|s| s.slot = Slot::Asked(request));
        self.answered.reset();
        self.to_lock.signal(());
        loop {
            let answer = self.with(|s| match core::mem::replace(&mut s.slot, Slot::Empty) {
                Slot::Answered(a) => Some(a),
                other => {
                    s.slot = other;
                    None
                }
            });
            if let Some(answer) = answer {
                return answer;
            }
            self.answered.wait().await;
        }
    }

    /// The attributes as the lock last published them; `None` before it
    /// booted.
    pub fn view(&self) -> Option<LockView> {
        self.with(|s| s.view)
    }

    /// The oldest event not yet reported.
    pub fn take_event(&self) -> Option<DoorLockEvent> {
        self.with(|s| s.events.pop_front())
    }

    /// Events dropped because the handler fell [`EVENT_QUEUE`] behind.
    pub fn dropped_events(&self) -> u32 {
        self.with(|s| s.dropped_events)
    }

    /// Factory resets since start: when it changes, the Matter side
    /// removes every fabric (R-MNU-9).
    pub fn factory_resets(&self) -> u32 {
        self.with(|s| s.factory_resets)
    }

    /// Waits until the view, the events or the reset count changed since
    /// the last wait returned.
    pub async fn changed(&self) {
        self.changed.wait().await;
    }

    fn answer(&self, answer: Answer) {
        self.with(|s| s.slot = Slot::Answered(answer));
        self.answered.signal(());
    }

    fn publish(&self, view: LockView) {
        let changed = self.with(|s| {
            let changed = s.view != Some(view);
            s.view = Some(view);
            changed
        });
        if changed {
            self.changed.signal(());
        }
    }

    fn push_event(&self, event: DoorLockEvent) {
        self.with(|s| {
            if s.events.is_full() {
                let _ = s.events.pop_front();
                s.dropped_events = s.dropped_events.saturating_add(1);
            }
            let _ = s.events.push_back(event);
        });
        self.changed.signal(());
    }
}

/// Who the runtime's pending reply goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Inner,
    Matter,
}

/// The runtime's app side with Matter beside it: `inner` (the lock's own
/// app protocol, or [`lock_runtime::NoApp`]) as before, plus the requests
/// the Door Lock handler asks over `bridge`.
pub struct MatterApp<'b, M: RawMutex, A: App> {
    inner: A,
    bridge: &'b Bridge<M>,
    replying: Option<Route>,
}

impl<'b, M: RawMutex, A: App> MatterApp<'b, M, A> {
    /// `inner` with Matter beside it over `bridge`.
    pub fn new(inner: A, bridge: &'b Bridge<M>) -> Self {
        MatterApp {
            inner,
            bridge,
            replying: None,
        }
    }

    /// The lock's own app side.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// A person's record as GetUser reads it.
    fn user(cx: &AppContext<'_>, number: PersonNumber) -> Option<UserRecord> {
        let p = cx.people.get(number)?;
        Some(UserRecord {
            number,
            name: p.name,
            user_type: map::user_type(p),
            credentials: credentials(p).collect(),
            schedule: p.schedule,
            validity: p.validity,
        })
    }

    /// The lock restarted: a request the core had taken is lost with the
    /// power; one not yet taken is handed on now.
    fn restarted(&self) {
        let lost = self.bridge.with(|s| matches!(s.slot, Slot::WithCore));
        if lost {
            self.bridge.answer(Answer::Restarted);
        }
    }
}

impl<M: RawMutex, A: App> ErrorType for MatterApp<'_, M, A> {
    type Error = A::Error;
}

impl<M: RawMutex, A: App> App for MatterApp<'_, M, A> {
    type VisitorCodes = A::VisitorCodes;

    async fn start<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<Self::VisitorCodes>, Self::Error> {
        self.restarted();
        self.inner.start(store).await
    }

    async fn factory_reset<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<Self::VisitorCodes>, Self::Error> {
        self.bridge.with(|s| {
            s.factory_resets = s.factory_resets.wrapping_add(1);
            s.events.clear();
        });
        self.bridge.changed.signal(());
        self.inner.factory_reset(store).await
    }

    async fn wait(&mut self) -> Result<(), Self::Error> {
        match select(self.inner.wait(), self.bridge.to_lock.wait()).await {
            Either::First(r) => r,
            Either::Second(()) => Ok(()),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.inner.next_deadline()
    }

    fn tick(&mut self, now: Instant) {
        self.inner.tick(now);
    }

    fn observe(&mut self, cx: &AppContext<'_>) {
        self.bridge.publish(LockView::of(cx));
        self.inner.observe(cx);
    }

    fn logged(&mut self, record: &LogRecord) {
        if let Some(event) = map::event_of(&record.entry) {
            self.bridge.push_event(event);
        }
        self.inner.logged(record);
    }

    fn listen(&mut self, on: bool) {
        self.inner.listen(on);
    }

    async fn process<S: StateStore>(
        &mut self,
        cx: &AppContext<'_>,
        store: &mut S,
    ) -> Result<Option<AppEvent>, Self::Error> {
        let asked = self.bridge.with(|s| match s.slot {
            Slot::Asked(request) => {
                s.slot = Slot::WithCore;
                Some(request)
            }
            _ => None,
        });
        match asked {
            Some(Request::Command {
                fabric,
                privilege,
                command,
            }) => {
                self.replying = Some(Route::Matter);
                Ok(Some(AppEvent::Request(AppRequest {
                    pairing: pairing_of_fabric(fabric),
                    privilege,
                    link: Link::Remote,
                    command,
                })))
            }
            Some(Request::User(number)) => {
                self.bridge.answer(Answer::User(Self::user(cx, number)));
                Ok(None)
            }
            Some(Request::Commissioned { fabric }) => {
                self.bridge.answer(Answer::Reply(Reply::Done));
                Ok(Some(AppEvent::Changed(AppChange::Paired {
                    pairing: pairing_of_fabric(fabric),
                })))
            }
            Some(Request::Holder(credential)) => {
                let who = holder(cx.people.iter(), credential).map(|p| p.number);
                self.bridge.answer(Answer::Holder(who));
                Ok(None)
            }
            Some(Request::NextUser(index)) => {
                let next = map::next_user_index(cx.people.iter(), index);
                self.bridge.answer(Answer::Next(next));
                Ok(None)
            }
            Some(Request::NextCredential(credential)) => {
                let next = map::next_credential_index(cx.people.iter(), credential);
                self.bridge.answer(Answer::Next(next));
                Ok(None)
            }
            None => {
                let event = self.inner.process(cx, store).await?;
                if matches!(event, Some(AppEvent::Request(_))) {
                    self.replying = Some(Route::Inner);
                }
                Ok(event)
            }
        }
    }

    fn take_visitor_codes(&mut self) -> Option<Self::VisitorCodes> {
        self.inner.take_visitor_codes()
    }

    async fn notify<S: StateStore>(
        &mut self,
        notice: &Notice,
        store: &mut S,
    ) -> Result<(), Self::Error> {
        self.inner.notify(notice, store).await
    }

    async fn reply<S: StateStore>(
        &mut self,
        reply: &Reply,
        store: &mut S,
    ) -> Result<(), Self::Error> {
        match self.replying.take() {
            Some(Route::Matter) => {
                self.bridge.answer(Answer::Reply(*reply));
                Ok(())
            }
            Some(Route::Inner) | None => self.inner.reply(reply, store).await,
        }
    }

    async fn pairing(&mut self, open: bool) -> Result<(), Self::Error> {
        self.inner.pairing(open).await
    }

    async fn confirm_pairing<S: StateStore>(
        &mut self,
        now: Instant,
        store: &mut S,
    ) -> Result<Option<AppEvent>, Self::Error> {
        let event = self.inner.confirm_pairing(now, store).await?;
        if matches!(event, Some(AppEvent::Request(_))) {
            self.replying = Some(Route::Inner);
        }
        Ok(event)
    }
}
