//! The app side, as the runtime sees it: [`App`]. [`ProtoApp`](crate::ProtoApp)
//! (feature `lock-proto`) implements it with `lock-proto` over a
//! [`Transport`](lock_hal::Transport) (pairing, authenticated frames, replay
//! protection, offline visitor codes); [`NoApp`] stands in for a lock
//! without one.

use core::convert::Infallible;
use core::future::pending;

use lock_core::{
    AppChange, AppRequest, Instant, Lock, LogRecord, NoVisitorCodes, Notice, People, Reply,
    Settings, Status, Timestamp, VisitorCodes, WallClock,
};
use lock_hal::ErrorType;

use crate::store::StateStore;

/// What the app side hands the lock.
#[derive(Debug, Clone, Copy)]
pub enum AppEvent {
    /// An authenticated command, with the privilege it was authenticated for
    /// (S-PR-4). The runtime answers it with exactly one [`App::reply`]
    /// before it asks for the next event.
    Request(AppRequest),
    /// The app side changed its own records (a pairing, a key): the lock
    /// logs it, and a pairing ends pairing mode (R-APP-6, R-MNU-7).
    Changed(AppChange),
    /// A pairing exchange reached the comparison: the lock says this
    /// six-digit code for the person to compare with the phone's, and ✓ at
    /// the lock confirms it ([`App::confirm_pairing`], S-PR-1).
    PairingCode(u32),
}

/// What the lock takes from its app side at boot and after a factory reset.
#[derive(Debug, Clone)]
pub struct AppIdentity<V> {
    /// The verification code the lock speaks (R-MNU-6), if the app side sets
    /// it; `None` keeps the board's `Config::verification_code`.
    pub verification_code: Option<u32>,
    /// The verifier of offline visitor codes (R-APP-4).
    pub visitor_codes: V,
    /// The last second of each bounded window the app side keeps (its
    /// Bluetooth keys'), for the lock to mark as its clock passes them
    /// (`Lock::watch_window_end`, S-VC-3).
    pub window_ends: heapless::Vec<Timestamp, { lock_core::WATCHED_ENDS }>,
}

/// What the app side may read of the lock while it handles a frame.
#[derive(Debug, Clone, Copy)]
pub struct AppContext<'a> {
    /// Now, on the lock's monotonic clock.
    pub now: Instant,
    /// The lock's trusted wall clock with the furthest it has reached, if
    /// it has one (S-VC-2, S-VC-3).
    pub clock: Option<WallClock>,
    /// The people, to list them (R-APP-3).
    pub people: &'a People,
    /// Battery, bolt, door, alarms.
    pub status: Status,
    /// The lock's settings (remote unlock, volume, the countdown lock…).
    pub settings: &'a Settings,
    /// A lockout is running: every credential is refused unchecked.
    pub locked_out: bool,
    /// Pairing mode is open (R-MNU-7).
    pub pairing: bool,
}

impl<'a> AppContext<'a> {
    /// The lock as the app side sees it at `now`.
    pub fn of<V: VisitorCodes>(lock: &'a Lock<V>, now: Instant) -> AppContext<'a> {
        AppContext {
            now,
            clock: lock.clock(now),
            people: lock.people(),
            status: lock.status(),
            settings: lock.settings(),
            locked_out: lock.lockout(now).is_some(),
            pairing: lock.pairing(),
        }
    }
}

/// The app protocol, as a hook the runtime calls.
///
/// The runtime waits on [`App::wait`] together with every other input, then
/// calls [`App::process`], which may hand it one [`AppEvent`]. It calls the
/// other methods while it executes the core's actions, in order. The methods
/// that take the store persist the app side's own records through it
/// ([`StateStore::read_app_record`], [`StateStore::write_app_record`]);
/// none of them is cancelled by the runtime.
pub trait App: ErrorType {
    /// The offline visitor codes this app side hands out.
    type VisitorCodes: VisitorCodes;

    /// Boot, after the store loaded: reads the app side's records (making
    /// its identity on first start). An error leaves the app side dormant
    /// (no frame is accepted) until a factory reset.
    async fn start<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<Self::VisitorCodes>, Self::Error>;

    /// Factory reset (R-MNU-9), after the store erased everything
    /// ([`lock_core::Change::FactoryReset`] erases the app records too,
    /// S-ST-5): a new identity, no pairings.
    async fn factory_reset<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<Self::VisitorCodes>, Self::Error>;

    /// Waits until something arrived for [`App::process`]. Cancel-safe: the
    /// runtime drops it whenever another input comes first; a frame received
    /// meanwhile must be kept.
    async fn wait(&mut self) -> Result<(), Self::Error>;

    /// When the runtime must call [`App::tick`] next, if ever: the app
    /// side's own deadline (S-PR-7: the end of a radio link that has not
    /// authenticated yet). The default: none.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// The clock reached `now`, at or after [`App::next_deadline`]; a
    /// spurious call does nothing. Returns at once: it never waits on the
    /// radio (S-PR-7, R-RSP-1). The default does nothing.
    fn tick(&mut self, now: Instant) {
        let _ = now;
    }

    /// The lock after a step of the control loop (and after boot): an app
    /// side that serves attributes (Matter's lock state, door state,
    /// users) keeps what it needs. Returns at once; the default does
    /// nothing.
    fn observe(&mut self, cx: &AppContext<'_>) {
        let _ = cx;
    }

    /// The lock wrote `record` to its event log (after it was stored):
    /// an app side that reports events (Matter's) takes them from here.
    /// Returns at once; the default does nothing.
    fn logged(&mut self, record: &LogRecord) {
        let _ = record;
    }

    /// R-NRG-3: the radio listens (`true`) or goes quiet; the runtime
    /// decides when (the lock's setting, a minute after it went idle).
    /// Returns at once. The default does nothing, for an app side with no
    /// radio of its own.
    fn listen(&mut self, on: bool) {
        let _ = on;
    }

    /// Handles what arrived (answering the phone itself where the lock need
    /// not decide), and returns what the lock must hear, if anything.
    async fn process<S: StateStore>(
        &mut self,
        cx: &AppContext<'_>,
        store: &mut S,
    ) -> Result<Option<AppEvent>, Self::Error>;

    /// S-VC-5: the verifier of offline visitor codes, when it changed since
    /// the lock last got one (a phone asked for its secret, or an issuer's
    /// pairing was revoked). The runtime asks after every
    /// [`App::process`], whether it succeeded or not, and gives the lock
    /// what it returns before the next input.
    fn take_visitor_codes(&mut self) -> Option<Self::VisitorCodes> {
        None
    }

    /// Tells the app something without being asked (an alarm, a lockout, the
    /// doorbell). Returns once queued or dropped; never waits on the radio
    /// (S-PR-7).
    async fn notify<S: StateStore>(
        &mut self,
        notice: &Notice,
        store: &mut S,
    ) -> Result<(), Self::Error>;

    /// Answers the request last returned by [`App::process`]. Returns once
    /// queued or dropped; never waits on the radio (S-PR-7).
    async fn reply<S: StateStore>(
        &mut self,
        reply: &Reply,
        store: &mut S,
    ) -> Result<(), Self::Error>;

    /// Opens (`true`) or closes the pairing window (R-MNU-7): only while it
    /// is open may a new phone pair (S-PR-1).
    async fn pairing(&mut self, open: bool) -> Result<(), Self::Error>;

    /// A person pressed ✓ at the lock after it said the pairing code
    /// (`Action::ConfirmPairing`, S-PR-1): store the pairing once the phone
    /// has confirmed too. Returns what the lock must hear.
    async fn confirm_pairing<S: StateStore>(
        &mut self,
        now: Instant,
        store: &mut S,
    ) -> Result<Option<AppEvent>, Self::Error>;
}

/// A lock without an app: it never hears a request and drops every notice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoApp;

impl ErrorType for NoApp {
    type Error = Infallible;
}

impl App for NoApp {
    type VisitorCodes = NoVisitorCodes;

    async fn start<S: StateStore>(
        &mut self,
        _store: &mut S,
    ) -> Result<AppIdentity<NoVisitorCodes>, Infallible> {
        Ok(AppIdentity {
            verification_code: None,
            visitor_codes: NoVisitorCodes,
            window_ends: heapless::Vec::new(),
        })
    }
    async fn factory_reset<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<NoVisitorCodes>, Infallible> {
        self.start(store).await
    }
    async fn wait(&mut self) -> Result<(), Infallible> {
        pending().await
    }
    async fn process<S: StateStore>(
        &mut self,
        _cx: &AppContext<'_>,
        _store: &mut S,
    ) -> Result<Option<AppEvent>, Infallible> {
        Ok(None)
    }
    async fn notify<S: StateStore>(
        &mut self,
        _notice: &Notice,
        _store: &mut S,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    async fn reply<S: StateStore>(
        &mut self,
        _reply: &Reply,
        _store: &mut S,
    ) -> Result<(), Infallible> {
        Ok(())
    }
    async fn pairing(&mut self, _open: bool) -> Result<(), Infallible> {
        Ok(())
    }
    async fn confirm_pairing<S: StateStore>(
        &mut self,
        _now: Instant,
        _store: &mut S,
    ) -> Result<Option<AppEvent>, Infallible> {
        Ok(None)
    }
}
