//! [`Runtime`]: the loop that joins a board to the lock's state machine.

use core::future::{Future, pending};

use embassy_futures::select::{Either, select};
use heapless::Deque;
use lock_core::{
    Action, Actions, Backlight as BacklightAction, BiometricEvent, BiometricKind, BoltPosition,
    BoltReport, Change, Config, DoorState, Duration, Event, Instant, Lock, LogRecord,
    ModuleCommand, MotorDirection, RestoreError, TemplateId,
};
use lock_hal::{
    Backlight as _, Battery as _, Biometric as _, BoltSensor as _, Button as _, Clock as _,
    ContactSensor as _, EnrollStatus, Error as _, ErrorKind, Identification, KeyEvent, Keypad as _,
    Motor as _, Press, SampleSensor as _, Siren as _, StallSensor as _, TriggerSensor as _,
    UsbPower as _, Voice as _,
};

use crate::app::{App, AppContext, AppEvent, AppIdentity};
use crate::board::{Board, Hardware};
use crate::map;
use crate::pattern::{self, Pattern};
use crate::prompt;
use crate::store::{StateStore, StoreError as _, StoreErrorKind};

/// The runtime's own bound on one bolt movement: it stops the motor and
/// reports [`BoltReport::TimedOut`] when the end switch has not answered by
/// then. Shorter than lock-core's backstop
/// ([`BOLT_TRAVEL_LIMIT`](lock_core::BOLT_TRAVEL_LIMIT), 8 s), so the body's
/// timeout is what normally ends a stuck movement.
pub const TRAVEL_LIMIT: Duration = Duration::from_secs(6);
/// How long the motor is braked before it is left unpowered (R-LCK-3).
pub const BRAKE_TIME: Duration = Duration::from_millis(100);
/// The battery is measured at boot, after every keypad wake, and at least
/// this often.
pub const BATTERY_PERIOD: Duration = Duration::from_hours(1);
/// The longest the runtime waits for one voice clip to end before it plays
/// the next clip of the same batch.
pub const CLIP_LIMIT: Duration = Duration::from_secs(10);
/// A failed store write is tried this many more times before the runtime
/// gives up on it (see [`Runtime`]'s "Storage failures").
pub const STORE_RETRIES: u8 = 1;
/// A failed boot load is tried this many times in all, unless the store says
/// its contents are corrupted.
pub const LOAD_ATTEMPTS: u8 = 3;
/// After an input fails, the runtime stops listening to it for this long,
/// doubling with every further failure up to [`INPUT_BACKOFF_MAX`]: a broken
/// sensor must not spin the loop or fill the log.
pub const INPUT_BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest an input that keeps failing is left alone.
pub const INPUT_BACKOFF_MAX: Duration = Duration::from_mins(10);

/// More owed module commands than any store holds (150 templates and three
/// clears): a bound, so a store that misbehaves cannot hold boot forever.
const MAX_OWED_COMMANDS: usize = 256;

/// Events fed before the next input: what boot reads from the sensors, a
/// bolt already at its end, module faults found while executing actions.
const PENDING_CAPACITY: usize = 16;

/// Inputs kept while a module works on a sample (see
/// `on_module_keeping_inputs`): a 16-digit entry, ✓ and some to spare.
const KEPT_INPUTS: usize = 24;

/// How boot went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot {
    /// The store's state was restored (or the store was empty: a new lock).
    Restored,
    /// The state could not be restored; the lock started fail-secure
    /// ([`Lock::fail_secure`]): only the mechanical key opens, and only a
    /// factory reset (SET held at power-up, then ✓) brings it back.
    FailSecure(BootFault),
}

/// Why the lock started fail-secure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootFault {
    /// The store could not be read.
    Store(StoreErrorKind),
    /// The store's contents broke the lock's own rules (S-ST-3).
    Restore(RestoreError),
}

/// The inputs, for their back-off after errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Keypad,
    Face,
    Palm,
    Finger,
    Bolt,
    Stall,
    Door,
    Tamper,
    KeyCylinder,
    Set,
    LockButton,
    Usb,
    App,
}

const SOURCES: usize = 13;

impl Source {
    fn of(kind: BiometricKind) -> Source {
        match kind {
            BiometricKind::Face => Source::Face,
            BiometricKind::Palm => Source::Palm,
            BiometricKind::Finger => Source::Finger,
        }
    }
}

/// What woke the loop.
enum Input {
    Keypad(Result<KeyEvent, ErrorKind>),
    Sample(BiometricKind, Result<(), ErrorKind>),
    Bolt(Result<lock_hal::BoltPosition, ErrorKind>),
    Stall(Result<(), ErrorKind>),
    Door(Result<bool, ErrorKind>),
    Tamper(Result<(), ErrorKind>),
    KeyCylinder(Result<(), ErrorKind>),
    Set(Result<Press, ErrorKind>),
    LockButton(Result<Press, ErrorKind>),
    Usb(Result<bool, ErrorKind>),
    App(Result<(), ErrorKind>),
    Timer,
}

/// Stops listening to an input that keeps failing.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    quiet_until: Option<Instant>,
    next: Duration,
}

impl Backoff {
    const NEW: Backoff = Backoff {
        quiet_until: None,
        next: INPUT_BACKOFF_FIRST,
    };
}

/// A bolt movement under way.
#[derive(Debug, Clone, Copy)]
struct MotorRun {
    until: Instant,
}

/// An enrolment under way on one module.
#[derive(Debug, Clone, Copy)]
struct Enrolment {
    template: u16,
    step: u8,
}

/// Polls the futures in order and returns the first output, as nested
/// [`select`]s would, in one poll function: each arm `name = future`, every
/// future giving an [`Input`]. (Fourteen nested `select`s cost flash: a
/// state machine and an `Either` per level.)
macro_rules! race {
    ($($name:ident = $future:expr),+ $(,)?) => {
        async {
            $( let mut $name = core::pin::pin!($future); )+
            core::future::poll_fn(|cx| {
                $(
                    if let core::task::Poll::Ready(input) = $name.as_mut().poll(cx) {
                        return core::task::Poll::Ready(input);
                    }
                )+
                core::task::Poll::Pending
            })
            .await
        }
    };
}

/// Runs `body` with `$m` bound to the module of `kind`.
macro_rules! on_module {
    ($hw:expr, $kind:expr, |$m:ident| $body:expr) => {
        match $kind {
            BiometricKind::Face => {
                let $m = &mut $hw.face;
                $body
            }
            BiometricKind::Palm => {
                let $m = &mut $hw.palm;
                $body
            }
            BiometricKind::Finger => {
                let $m = &mut $hw.finger;
                $body
            }
        }
    };
}

/// Runs `op` while the keypad's, SET's and the lock button's events go to
/// `kept` ([`keep_inputs`]).
async fn keeping_inputs<K, S, L, T>(
    others: (&mut K, &mut S, &mut L),
    open: [bool; 3],
    kept: &mut Deque<Input, KEPT_INPUTS>,
    op: impl Future<Output = T>,
) -> T
where
    K: lock_hal::Keypad,
    S: lock_hal::Button,
    L: lock_hal::Button,
{
    match select(op, keep_inputs(others, open, kept)).await {
        Either::First(value) => value,
        Either::Second(never) => match never {},
    }
}

/// Puts the keypad's, SET's and the lock button's events in `kept`, each
/// while its gate in `open` is. An input that fails is kept too (the loop
/// backs off from it when it handles it) and not read again. A function of
/// its own, not generic over the operation beside it: one copy of the code
/// serves every module and operation.
async fn keep_inputs<K, S, L>(
    (keypad, set, lock_button): (&mut K, &mut S, &mut L),
    mut open: [bool; 3],
    kept: &mut Deque<Input, KEPT_INPUTS>,
) -> core::convert::Infallible
where
    K: lock_hal::Keypad,
    S: lock_hal::Button,
    L: lock_hal::Button,
{
    loop {
        let [keypad_on, set_on, button_on] = open;
        let input = race!(
            keypad_input = async {
                let r = gate(keypad_on, keypad.wait_for_event()).await;
                Input::Keypad(r.map_err(|e| e.kind()))
            },
            set_input = async {
                let r = gate(set_on, set.wait_for_press()).await;
                Input::Set(r.map_err(|e| e.kind()))
            },
            button_input = async {
                let r = gate(button_on, lock_button.wait_for_press()).await;
                Input::LockButton(r.map_err(|e| e.kind()))
            },
        )
        .await;
        match input {
            Input::Keypad(Err(_)) => open[0] = false,
            Input::Set(Err(_)) => open[1] = false,
            Input::LockButton(Err(_)) => open[2] = false,
            _ => {}
        }
        if kept.push_back(input).is_err() {
            warn!("an input during a module operation was dropped");
        }
    }
}

/// Runs `body` with `$m` bound to the module of `kind`, as `on_module`,
/// while the keypad's, SET's and the lock button's events are kept in
/// `kept_inputs` for after the result (each unless it is backing off): a
/// module may work on a sample for its whole timeout (a face search, 10 s),
/// and the keypad chip tells only which keys are down now, so a code typed
/// meanwhile would be lost digit by digit, and a press of the inside lock
/// button lost whole. [`Runtime::step`] hands them to the core after
/// everything the module's answer led to. The other inputs are levels
/// (bolt, door, tamper, key cylinder, USB) or queues (the app), seen when
/// the loop next waits.
macro_rules! on_module_keeping_inputs {
    ($self:ident, $kind:expr, |$m:ident| $body:expr) => {{
        let now = $self.now();
        let open = [
            $self.listening(Source::Keypad, now),
            $self.listening(Source::Set, now),
            $self.listening(Source::LockButton, now),
        ];
        let Hardware {
            keypad,
            set_button,
            lock_button,
            face,
            palm,
            finger,
            ..
        } = &mut $self.hw;
        let others = (keypad, set_button, lock_button);
        let kept = &mut $self.kept_inputs;
        match $kind {
            BiometricKind::Face => {
                let $m = face;
                keeping_inputs(others, open, kept, async { $body }).await
            }
            BiometricKind::Palm => {
                let $m = palm;
                keeping_inputs(others, open, kept, async { $body }).await
            }
            BiometricKind::Finger => {
                let $m = finger;
                keeping_inputs(others, open, kept, async { $body }).await
            }
        }
    }};
}

/// Waits for `f`, or forever when `open` is false.
async fn gate<T>(open: bool, f: impl Future<Output = T>) -> T {
    if open { f.await } else { pending().await }
}

fn kind_of(kind: BiometricKind) -> usize {
    match kind {
        BiometricKind::Face => 0,
        BiometricKind::Palm => 1,
        BiometricKind::Finger => 2,
    }
}

/// The lock's runtime: restores the core from the store at boot, waits on
/// every input and timer at once, feeds each to [`Lock::handle`] and executes
/// the returned actions in order through the board's traits.
///
/// # Calling order
///
/// [`Runtime::run`] does everything and never returns. A host that wants to
/// look between steps calls [`Runtime::boot`] once, then [`Runtime::step`]
/// in a loop. Dropping a `step` future is only safe while it waits for an
/// input (nothing else is ever cancelled: store writes, module operations and
/// voice commands run to completion).
///
/// # The loop
///
/// Each step first feeds the events queued by the last actions, then waits,
/// in one `select`, on: the bolt end switches, the stall sensor (only while
/// the motor runs), the keypad, each biometric module's `wait_for_sample`,
/// the door contact, the tamper switch, the key cylinder, SET, the inside
/// lock button, USB power, the [`App`], and the clock until the earliest of
/// the core's [`Lock::next_deadline`], the motor's [`TRAVEL_LIMIT`], the next
/// backlight frame, the next battery measurement and the end of an input's
/// back-off. What fired becomes an [`Event`]; the actions it returns run in
/// order, each [`Action::Persist`] and [`Action::Log`] written before the next
/// action starts (S-BF-2).
///
/// # Storage failures
///
/// A log record that cannot be written is tried [`STORE_RETRIES`] more
/// times, then dropped with an error logged: the event log is an audit
/// trail, and losing one record does not weaken the lock. A change that
/// cannot be written is tried as often; if it still fails, the lock's memory
/// and its flash disagree, so the rest of the batch is skipped (no prompt,
/// motor or radio reaction for a change that is not durable, S-BF-2), the
/// outputs are made safe (motor unpowered, siren off, keypad dark,
/// enrolments cancelled) and the lock restarts fail-secure, as after a
/// corrupted store: only the mechanical key opens until a factory reset.
pub struct Runtime<B: Board, S: StateStore, A: App> {
    hw: Hardware<B>,
    store: S,
    app: A,
    config: Config,
    lock: Lock<Option<A::VisitorCodes>>,
    /// The end switches' last reading.
    bolt_last: lock_hal::BoltPosition,
    door_open: bool,
    usb_present: bool,
    motor: Option<MotorRun>,
    pattern: Option<Pattern>,
    enrolling: [Option<Enrolment>; 3],
    battery_next: Instant,
    backoff: [Backoff; SOURCES],
    pending: Deque<Event, PENDING_CAPACITY>,
    kept_inputs: Deque<Input, KEPT_INPUTS>,
    /// Identifications the core asked for while the motor ran, started once
    /// it has stopped.
    identify_later: heapless::Vec<BiometricKind, 3>,
}

impl<B: Board, S: StateStore, A: App> Runtime<B, S, A> {
    /// A runtime over a board's parts, its store and its app side. Nothing
    /// runs until [`Runtime::boot`] or [`Runtime::run`].
    pub fn new(hw: Hardware<B>, store: S, app: A, config: Config) -> Self {
        Runtime {
            hw,
            store,
            app,
            config,
            lock: Lock::with_visitor_codes(config, None),
            bolt_last: lock_hal::BoltPosition::Between,
            door_open: false,
            usb_present: false,
            motor: None,
            pattern: None,
            enrolling: [None; 3],
            battery_next: Instant::ZERO,
            backoff: [Backoff::NEW; SOURCES],
            pending: Deque::new(),
            kept_inputs: Deque::new(),
            identify_later: heapless::Vec::new(),
        }
    }

    /// Boots, then runs the loop. Never returns.
    pub async fn run(&mut self) {
        self.boot().await;
        loop {
            self.step().await;
        }
    }

    /// The lock's state machine, to look at (the runtime owns it).
    pub fn lock(&self) -> &Lock<Option<A::VisitorCodes>> {
        &self.lock
    }

    /// The app side, to look at.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The board's clock as the lock's time.
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.hw.clock.now_ms())
    }

    /// Gives the parts back.
    pub fn release(self) -> (Hardware<B>, S, A) {
        (self.hw, self.store, self.app)
    }

    /// Boots: reads SET, loads the store's state and restores the core from
    /// it (fail-secure when it cannot, S-ST-3), carries out the module work
    /// an interrupted deletion or reset owes before any credential counts
    /// (S-ST-2), sends [`Event::Boot`], then the
    /// sensors' present state (bolt, door, USB power, battery).
    pub async fn boot(&mut self) -> Boot {
        // A reset can leave outputs in any state: make them safe first.
        self.make_outputs_safe().await;
        let set_held = self.hw.set_button.is_pressed().unwrap_or_else(|e| {
            warn!("SET unreadable at boot: {:?}", e.kind());
            false
        });
        let now = self.now();
        // Neither the snapshot nor the restored lock (each the size of the
        // whole lock) is held across an await, so the boot future carries
        // neither.
        let restored = match self.load().await {
            Ok(snapshot) => match Lock::restore_with(self.config, None, &snapshot, now) {
                Ok(lock) => {
                    self.lock = lock;
                    Ok(())
                }
                Err(e) => Err(BootFault::Restore(e)),
            },
            Err(kind) => Err(BootFault::Store(kind)),
        };
        let outcome = match restored {
            Ok(()) => {
                // S-ST-2: before the core hears of any credential.
                self.carry_out_owed_work().await;
                let started = self.app.start(&mut self.store).await;
                self.adopt_app_identity(started);
                Boot::Restored
            }
            Err(fault) => {
                match fault {
                    BootFault::Restore(_) => {
                        error!("stored state refused by the core: fail-secure");
                    }
                    BootFault::Store(kind) => {
                        error!("store unreadable: fail-secure ({:?})", kind);
                    }
                }
                self.lock = Lock::fail_secure_with(self.config, None);
                Boot::FailSecure(fault)
            }
        };
        self.start_core(set_held).await;
        self.drain().await;
        outcome
    }

    /// Waits for the next input or timer and handles it with everything it
    /// leads to. Cancel-safe only while it waits (see [`Runtime`]).
    pub async fn step(&mut self) {
        self.drain().await;
        let input = self.wait_for_input().await;
        self.on_input(input).await;
        self.drain().await;
        self.catch_up().await;
    }

    /// What had to wait: inputs kept while a module worked on a sample
    /// (`on_module_keeping_inputs`), after what its answer led to, and the
    /// identifications asked for while the motor ran, once it has stopped.
    async fn catch_up(&mut self) {
        loop {
            if let Some(input) = self.kept_inputs.pop_front() {
                self.on_input(input).await;
                if self.kept_inputs.is_empty() {
                    // S-ST-6: kept key presses are passcode digits; a
                    // popped one stays in the queue's storage until wiped.
                    zeroize::Zeroize::zeroize(&mut self.kept_inputs);
                }
            } else if self.motor.is_none()
                && let Some(kind) = self.identify_later.pop()
            {
                if let Some(event) = self.identify(kind).await {
                    self.queue(Event::Biometric(event));
                }
            } else {
                break;
            }
            self.drain().await;
        }
    }

    // ----- boot ------------------------------------------------------------

    async fn load(&mut self) -> Result<lock_core::Snapshot, StoreErrorKind> {
        let mut last = StoreErrorKind::Other;
        for _ in 0..LOAD_ATTEMPTS {
            match self.store.load().await {
                Ok(snapshot) => return Ok(snapshot),
                Err(e) if e.kind() == StoreErrorKind::Corrupted => {
                    return Err(StoreErrorKind::Corrupted);
                }
                Err(e) => {
                    warn!("store load failed, retrying");
                    last = e.kind();
                }
            }
        }
        Err(last)
    }

    /// Hands the core what the app side started with (at boot) or made anew
    /// (after a factory reset). An app side that failed stays dormant and the
    /// lock accepts no visitor code (fail closed).
    fn adopt_app_identity(&mut self, identity: Result<AppIdentity<A::VisitorCodes>, A::Error>) {
        match identity {
            Ok(identity) => {
                let code = identity
                    .verification_code
                    .unwrap_or(self.config.verification_code);
                self.lock.set_verification_code(code);
                *self.lock.visitor_codes_mut() = Some(identity.visitor_codes);
                for until in identity.window_ends {
                    self.lock.watch_window_end(until);
                }
            }
            Err(e) => {
                error!("app side did not start: {:?}", e.kind());
                *self.lock.visitor_codes_mut() = None;
            }
        }
    }

    /// Carries out the module commands an interrupted deletion or factory
    /// reset still owes, and tells the store when all succeeded (a module
    /// that failed is tried again at the next boot).
    async fn carry_out_owed_work(&mut self) {
        let mut all_done = true;
        let mut any = false;
        for n in 0..MAX_OWED_COMMANDS {
            let Some(command) = self.store.owed_module_command(n) else {
                break;
            };
            any = true;
            if self.module(command).await.is_err() {
                all_done = false;
            }
        }
        if any && all_done {
            self.module_work_done().await;
        }
    }

    async fn module_work_done(&mut self) {
        if let Err(e) = self.store.module_work_done().await {
            warn!("store could not record module work done: {:?}", e.kind());
        }
    }

    /// Queues the boot event and the sensors' state for the core just built.
    async fn start_core(&mut self, set_held: bool) {
        self.pending.clear();
        self.set_volume().await;
        self.queue(Event::Boot { set_held });
        match self.hw.bolt.position() {
            Ok(position) => {
                self.bolt_last = position;
                // R-LCK-3: between the ends at boot, power was cut while it
                // moved: the core raises the jam alarm.
                self.queue(Event::Bolt(
                    map::bolt(position).map_or(BoltReport::Between, BoltReport::Reached),
                ));
            }
            Err(e) => warn!("bolt sensor unreadable at boot: {:?}", e.kind()),
        }
        match self.hw.door.is_open() {
            Ok(open) => {
                self.door_open = open;
                self.queue(Event::Door(door_state(open)));
            }
            Err(e) => warn!("door sensor unreadable at boot: {:?}", e.kind()),
        }
        match self.hw.usb_power.is_present() {
            Ok(present) => {
                self.usb_present = present;
                self.queue(Event::UsbPower(present));
            }
            Err(e) => warn!("USB power unreadable at boot: {:?}", e.kind()),
        }
        if let Some(percent) = self.measure_battery().await {
            self.queue(Event::Battery(percent));
        }
    }

    // ----- waiting -----------------------------------------------------------

    /// When the clock must wake the loop.
    fn wake_at(&self, now: Instant) -> Instant {
        // Only back-offs still running: an expired one needs no wake-up.
        let backoffs = self
            .backoff
            .iter()
            .filter_map(|b| b.quiet_until)
            .filter(|t| *t > now);
        [
            self.lock.next_deadline(),
            self.app.next_deadline(),
            self.motor.map(|m| m.until),
            self.pattern.map(|p| p.next_at),
            Some(self.battery_next),
        ]
        .into_iter()
        .flatten()
        .chain(backoffs)
        .min()
        .unwrap_or(self.battery_next)
    }

    fn listening(&self, source: Source, now: Instant) -> bool {
        self.backoff
            .get(source as usize)
            .and_then(|b| b.quiet_until)
            .is_none_or(|t| now >= t)
    }

    async fn wait_for_input(&mut self) -> Input {
        let now = self.now();
        let wake = self.wake_at(now).millis();
        let on = |s| self.listening(s, now);
        // A module operation runs inline and a face search may take the
        // module's whole timeout (10 s): none starts while the motor runs,
        // whose end switch, stall and travel limit must not wait (R-LCK-3).
        // The sample waits in its module until the motor has stopped.
        let sample = |s| on(s) && self.motor.is_none();
        let open = [
            on(Source::Keypad),
            sample(Source::Face),
            sample(Source::Palm),
            sample(Source::Finger),
            on(Source::Bolt),
            on(Source::Stall) && self.motor.is_some(),
            on(Source::Door),
            on(Source::Tamper),
            on(Source::KeyCylinder),
            on(Source::Set),
            on(Source::LockButton),
            on(Source::Usb),
            on(Source::App),
        ];
        let [
            keypad_on,
            face_on,
            palm_on,
            finger_on,
            bolt_on,
            stall_on,
            door_on,
            tamper_on,
            cylinder_on,
            set_on,
            button_on,
            usb_on,
            app_on,
        ] = open;
        let (bolt_last, door_open, usb_present) =
            (self.bolt_last, self.door_open, self.usb_present);
        let Hardware {
            keypad,
            face_sensor,
            palm_sensor,
            finger_sensor,
            bolt,
            stall,
            door,
            tamper,
            key_cylinder,
            set_button,
            lock_button,
            usb_power,
            clock,
            ..
        } = &mut self.hw;
        let app = &mut self.app;
        // Order is priority when several are ready: the bolt first (it ends a
        // motor run), the clock last (every event runs due timers anyway).
        race!(
            stall_input = async {
                Input::Stall(
                    gate(stall_on, stall.wait_for_stall())
                        .await
                        .map_err(|e| e.kind()),
                )
            },
            bolt_input = async {
                Input::Bolt(
                    gate(bolt_on, bolt.wait_for_change(bolt_last))
                        .await
                        .map_err(|e| e.kind()),
                )
            },
            keypad_input = async {
                Input::Keypad(
                    gate(keypad_on, keypad.wait_for_event())
                        .await
                        .map_err(|e| e.kind()),
                )
            },
            face_input = async {
                let r = gate(face_on, face_sensor.wait_for_sample()).await;
                Input::Sample(BiometricKind::Face, r.map_err(|e| e.kind()))
            },
            palm_input = async {
                let r = gate(palm_on, palm_sensor.wait_for_sample()).await;
                Input::Sample(BiometricKind::Palm, r.map_err(|e| e.kind()))
            },
            finger_input = async {
                let r = gate(finger_on, finger_sensor.wait_for_sample()).await;
                Input::Sample(BiometricKind::Finger, r.map_err(|e| e.kind()))
            },
            door_input = async {
                Input::Door(
                    gate(door_on, door.wait_for_change(door_open))
                        .await
                        .map_err(|e| e.kind()),
                )
            },
            tamper_input = async {
                Input::Tamper(
                    gate(tamper_on, tamper.wait_for_trigger())
                        .await
                        .map_err(|e| e.kind()),
                )
            },
            cylinder_input = async {
                let r = gate(cylinder_on, key_cylinder.wait_for_trigger()).await;
                Input::KeyCylinder(r.map_err(|e| e.kind()))
            },
            set_input = async {
                Input::Set(
                    gate(set_on, set_button.wait_for_press())
                        .await
                        .map_err(|e| e.kind()),
                )
            },
            button_input = async {
                let r = gate(button_on, lock_button.wait_for_press()).await;
                Input::LockButton(r.map_err(|e| e.kind()))
            },
            usb_input = async {
                Input::Usb(
                    gate(usb_on, usb_power.wait_for_change(usb_present))
                        .await
                        .map_err(|e| e.kind()),
                )
            },
            app_input = async { Input::App(gate(app_on, app.wait()).await.map_err(|e| e.kind())) },
            timer_input = async {
                clock.wait_until(wake).await;
                Input::Timer
            },
        )
        .await
    }

    /// Records that `source` answered (`Ok`) or failed, and says which.
    fn note<T>(&mut self, source: Source, result: Result<T, ErrorKind>) -> Option<T> {
        let now = self.now();
        let backoff = self.backoff.get_mut(source as usize)?;
        match result {
            Ok(v) => {
                *backoff = Backoff::NEW;
                Some(v)
            }
            Err(kind) => {
                warn!("input failed: {:?}", kind);
                backoff.quiet_until = Some(now + backoff.next);
                backoff.next = Duration::from_millis(
                    backoff
                        .next
                        .doubled()
                        .millis()
                        .min(INPUT_BACKOFF_MAX.millis()),
                );
                None
            }
        }
    }

    async fn on_input(&mut self, input: Input) {
        // Every input reaches the core through the one `feed` at the end: a
        // single await point, where one per input cost flash on the boards.
        let mut woke_keypad = false;
        let event = match input {
            Input::Keypad(r) => self.note(Source::Keypad, r).map(|event| {
                woke_keypad = self.lock.keypad().is_none();
                match event {
                    KeyEvent::Touch => Event::Touch,
                    KeyEvent::Press(k) => Event::Key(map::key(k)),
                    KeyEvent::Hold(k) => Event::KeyHeld(map::key(k)),
                }
            }),
            Input::Sample(kind, r) => {
                if self.note(Source::of(kind), r).is_some() {
                    self.sample(kind).await
                } else {
                    Some(Event::Biometric(BiometricEvent::Fault { kind }))
                }
            }
            Input::Bolt(r) => self.note(Source::Bolt, r).and_then(|position| {
                self.bolt_last = position;
                map::bolt(position).map(|at| Event::Bolt(BoltReport::Reached(at)))
            }),
            Input::Stall(r) => {
                if self.note(Source::Stall, r).is_some() && self.motor.is_some() {
                    // Stop at once; the core's own StopMotor follows.
                    self.stop_motor().await;
                    Some(Event::Bolt(BoltReport::Stalled))
                } else {
                    None
                }
            }
            Input::Door(r) => self.note(Source::Door, r).map(|open| {
                self.door_open = open;
                Event::Door(door_state(open))
            }),
            Input::Tamper(r) => self.note(Source::Tamper, r).map(|()| Event::Tamper),
            Input::KeyCylinder(r) => self
                .note(Source::KeyCylinder, r)
                .map(|()| Event::MechanicalKey),
            Input::Set(r) => self.note(Source::Set, r).map(|press| match press {
                Press::Short => Event::Set,
                Press::Long => Event::SetHeld,
            }),
            Input::LockButton(r) => self.note(Source::LockButton, r).map(|_| Event::LockButton),
            Input::Usb(r) => self.note(Source::Usb, r).map(|present| {
                self.usb_present = present;
                Event::UsbPower(present)
            }),
            Input::App(r) => match self.note(Source::App, r) {
                Some(()) => self.app_input().await,
                None => None,
            },
            Input::Timer => {
                self.timers().await;
                None
            }
        };
        if let Some(event) = event {
            self.feed(event).await;
        }
        // After the wake, so a battery that is already low is announced
        // once, by the wake (R-ALM-3).
        if woke_keypad && let Some(percent) = self.measure_battery().await {
            self.feed(Event::Battery(percent)).await;
        }
    }

    /// Lets the app side handle what arrived; what it hands on to the core.
    async fn app_input(&mut self) -> Option<Event> {
        let now = self.now();
        let cx = AppContext {
            now,
            clock: self.lock.clock(now),
            people: self.lock.people(),
        };
        let processed = self.app.process(&cx, &mut self.store).await;
        // S-VC-5: a revoked phone's codes stop opening before the next key.
        if let Some(codes) = self.app.take_visitor_codes() {
            *self.lock.visitor_codes_mut() = Some(codes);
        }
        let event = match processed {
            Ok(Some(event)) => event,
            Ok(None) => return None,
            Err(e) => {
                warn!("app side failed: {:?}", e.kind());
                return None;
            }
        };
        Some(app_event(event))
    }

    /// Runs whatever timer is due.
    async fn timers(&mut self) {
        let now = self.now();
        if let Some(run) = self.motor
            && now >= run.until
        {
            warn!("bolt travel timed out");
            self.stop_motor().await;
            self.feed(Event::Bolt(BoltReport::TimedOut)).await;
        }
        if let Some(p) = self.pattern
            && now >= p.next_at
        {
            let (mask, next) = p.advance(now);
            self.pattern = next;
            self.set_backlight(mask);
        }
        if now >= self.battery_next
            && let Some(percent) = self.measure_battery().await
        {
            self.feed(Event::Battery(percent)).await;
        }
        if self.lock.next_deadline().is_some_and(|t| now >= t) {
            self.feed(Event::Tick).await;
        }
        // S-PR-7: a radio link that had its time is ended; returns at once.
        self.app.tick(now);
    }

    /// A sample was presented to a module: the next enrolment step if one is
    /// under way there (R-MNU-4), an identification otherwise (R-UNL-1).
    /// What to tell the core.
    async fn sample(&mut self, kind: BiometricKind) -> Option<Event> {
        let slot = kind_of(kind);
        let Some(Some(enrolment)) = self.enrolling.get(slot).copied() else {
            return self.identify(kind).await.map(Event::Biometric);
        };
        let (template, step) = (enrolment.template, enrolment.step);
        // The keypad and the buttons are read meanwhile, as in `identify`:
        // an enrolment step may take the module's whole timeout too.
        let result =
            on_module_keeping_inputs!(self, kind, |m| m.enroll_step().await.map_err(|e| e.kind()));
        let next = match result {
            Ok(EnrollStatus::Next(s)) => {
                self.set_enrolment(
                    kind,
                    Some(Enrolment {
                        template,
                        step: step.saturating_add(1),
                    }),
                );
                BiometricEvent::EnrollProgress {
                    kind,
                    step: map::enroll_step(s),
                }
            }
            Ok(EnrollStatus::Enrolled(id)) => {
                self.set_enrolment(kind, None);
                BiometricEvent::Enrolled {
                    kind,
                    template: TemplateId(id.0),
                }
            }
            Ok(EnrollStatus::Refused(r)) => {
                self.set_enrolment(kind, None);
                BiometricEvent::EnrollFailed {
                    kind,
                    reason: map::enroll_refusal(r),
                }
            }
            Err(e) => {
                self.set_enrolment(kind, None);
                let _ = self.note::<()>(Source::of(kind), Err(e));
                BiometricEvent::Fault { kind }
            }
        };
        Some(Event::Biometric(next))
    }

    fn set_enrolment(&mut self, kind: BiometricKind, enrolment: Option<Enrolment>) {
        if let Some(slot) = self.enrolling.get_mut(kind_of(kind)) {
            *slot = enrolment;
        }
    }

    /// Identifies on a module; what to tell the core, if anything. (It does
    /// not feed the core itself: [`Runtime::execute`] calls it, and the
    /// core's answer must not run inside the batch that asked.)
    ///
    /// The keypad and the buttons are read meanwhile and their events kept
    /// for after the result (`on_module_keeping_inputs`).
    async fn identify(&mut self, kind: BiometricKind) -> Option<BiometricEvent> {
        let result =
            on_module_keeping_inputs!(self, kind, |m| m.identify().await.map_err(|e| e.kind()));
        let event = match result {
            Ok(Identification::Match(id)) => BiometricEvent::Identified {
                kind,
                template: TemplateId(id.0),
            },
            Ok(Identification::NoMatch) => BiometricEvent::NoMatch { kind },
            Ok(Identification::NoSample) => return None,
            Err(e) => {
                // A module that stops answering is left alone for a while,
                // so a stuck sample line cannot hold the loop in timeouts.
                let _ = self.note::<()>(Source::of(kind), Err(e));
                BiometricEvent::Fault { kind }
            }
        };
        Some(event)
    }

    // ----- executing -------------------------------------------------------

    fn queue(&mut self, event: Event) {
        if self.pending.push_back(event).is_err() {
            error!("event queue full: an event was dropped");
        }
    }

    /// Feeds every queued event.
    async fn drain(&mut self) {
        let mut fed = false;
        while let Some(event) = self.pending.pop_front() {
            fed = true;
            self.feed(event).await;
        }
        if fed {
            // S-ST-6: the events fed were key presses (passcode digits) among
            // others; a popped one stays in the queue's storage until wiped.
            zeroize::Zeroize::zeroize(&mut self.pending);
        }
    }

    async fn feed(&mut self, event: Event) {
        let now = self.now();
        let actions = self.lock.handle(now, event);
        self.execute(&actions).await;
    }

    /// Executes one batch in order. Identifications start last: they may take
    /// a module's whole timeout, and the rest of the batch (the keypad
    /// lighting up after a touch) should not wait for them.
    async fn execute(&mut self, actions: &Actions) {
        let mut identify: heapless::Vec<BiometricKind, 3> = heapless::Vec::new();
        let mut speaking = false;
        let mut faulted = [false; 3];
        let mut owes_module_work = false;
        // By reference: a by-value iterator would be a second copy of the
        // batch in this future.
        for action in actions.iter().cloned() {
            match action {
                Action::Persist(change) => {
                    if !self.persist(&change).await {
                        self.storage_failed().await;
                        return;
                    }
                    owes_module_work |=
                        matches!(change, Change::PersonDeleted(_) | Change::FactoryReset);
                    if let Change::FactoryReset = change {
                        let reset = self.app.factory_reset(&mut self.store).await;
                        self.adopt_app_identity(reset);
                    }
                    if let Change::Settings(_) | Change::FactoryReset = change {
                        self.set_volume().await;
                    }
                }
                Action::Log(record) => self.append_log(&record).await,
                Action::DriveBolt { to, motor } => self.drive(to, motor),
                Action::StopMotor => self.stop_motor().await,
                Action::Prompt(p) => {
                    for clip in prompt::clips(&p) {
                        self.play(clip, speaking).await;
                        speaking = true;
                    }
                }
                Action::Keypad(backlight) => self.show(backlight),
                Action::Module(ModuleCommand::Identify(kind)) => {
                    if !identify.contains(&kind) {
                        // Cannot fail: at most one per kind.
                        let _ = identify.push(kind);
                    }
                }
                Action::Module(command) => {
                    if let Err(kind) = self.module(command).await
                        && let Some(seen) = faulted.get_mut(kind_of(kind))
                        && !*seen
                    {
                        // One report per module and batch: a deletion of ten
                        // templates on a dead module is one fault.
                        *seen = true;
                        self.queue(Event::Biometric(BiometricEvent::Fault { kind }));
                    }
                }
                Action::Siren(on) => {
                    if let Err(e) = self.hw.siren.set(on) {
                        warn!("siren failed: {:?}", e.kind());
                    }
                }
                Action::Notify(notice) => {
                    if let Err(e) = self.app.notify(&notice, &mut self.store).await {
                        warn!("app notice failed: {:?}", e.kind());
                    }
                }
                Action::Reply(reply) => {
                    if let Err(e) = self.app.reply(&reply, &mut self.store).await {
                        warn!("app reply failed: {:?}", e.kind());
                    }
                }
                Action::Pairing(open) => {
                    if let Err(e) = self.app.pairing(open).await {
                        warn!("pairing window failed: {:?}", e.kind());
                    }
                }
                Action::ConfirmPairing => {
                    let now = self.now();
                    match self.app.confirm_pairing(now, &mut self.store).await {
                        // The pairing was stored: the core logs it and ends
                        // pairing mode after this batch.
                        Ok(Some(event)) => self.queue(app_event(event)),
                        Ok(None) => {}
                        Err(e) => warn!("pairing confirmation failed: {:?}", e.kind()),
                    }
                }
            }
        }
        // The batch's module commands carried the work out (S-ST-2); after a
        // failure the store keeps it for the next boot.
        if owes_module_work && !faulted.contains(&true) {
            self.module_work_done().await;
        }
        for kind in identify {
            // A face search may take the module's whole timeout: none starts
            // while the motor runs, whose end switch, stall and travel limit
            // must not wait (R-LCK-3); `catch_up` starts it after.
            if self.motor.is_some() {
                if !self.identify_later.contains(&kind) {
                    let _ = self.identify_later.push(kind);
                }
                continue;
            }
            if let Some(event) = self.identify(kind).await {
                self.queue(Event::Biometric(event));
            }
        }
    }

    /// Writes a change, retrying; `false` if it is not durable.
    async fn persist(&mut self, change: &Change) -> bool {
        for _ in 0..=STORE_RETRIES {
            match self.store.apply(change).await {
                Ok(()) => return true,
                Err(e) => error!("store write failed: {:?}", e.kind()),
            }
        }
        false
    }

    async fn append_log(&mut self, record: &LogRecord) {
        for _ in 0..=STORE_RETRIES {
            match self.store.append_log(record).await {
                Ok(()) => return,
                Err(e) => warn!("log append failed: {:?}", e.kind()),
            }
        }
        error!("log record dropped");
    }

    /// A change could not be made durable: restart the core fail-secure.
    async fn storage_failed(&mut self) {
        error!("a change could not be stored: restarting fail-secure");
        self.make_outputs_safe().await;
        self.lock = Lock::fail_secure_with(self.config, None);
        self.start_core(false).await;
    }

    /// Motor unpowered, siren off, keypad dark, enrolments abandoned.
    async fn make_outputs_safe(&mut self) {
        self.motor = None;
        if let Err(e) = self.hw.motor.brake() {
            warn!("motor brake failed: {:?}", e.kind());
        }
        if let Err(e) = self.hw.motor.coast() {
            error!("motor coast failed: {:?}", e.kind());
        }
        if let Err(e) = self.hw.siren.set(false) {
            warn!("siren failed: {:?}", e.kind());
        }
        self.pattern = None;
        self.set_backlight(0);
        for kind in BiometricKind::ALL {
            if let Some(Some(enrolment)) = self.enrolling.get(kind_of(kind)).copied() {
                self.set_enrolment(kind, None);
                if enrolment.step > 0 {
                    let _ = on_module!(self.hw, kind, |m| m.cancel_enroll().await.is_ok());
                }
            }
        }
    }

    /// Starts a bolt movement (R-UNL-2), bounded by the end switch, the
    /// stall input and [`TRAVEL_LIMIT`] (R-LCK-3).
    fn drive(&mut self, to: BoltPosition, direction: MotorDirection) {
        let now = self.now();
        if let Err(e) = self.hw.motor.drive(map::motor(direction)) {
            error!("motor failed: {:?}", e.kind());
            let _ = self.hw.motor.coast();
            self.queue(Event::Bolt(BoltReport::Stalled));
            return;
        }
        self.motor = Some(MotorRun {
            until: now + TRAVEL_LIMIT,
        });
        // Driven towards where it already is, the switch will not change:
        // report the end position now.
        if let Ok(position) = self.hw.bolt.position() {
            self.bolt_last = position;
            if map::bolt(position) == Some(to) {
                self.queue(Event::Bolt(BoltReport::Reached(to)));
            }
        }
    }

    /// Brake, a short pause, then unpowered (R-LCK-3). Without a run under
    /// way the motor is only left unpowered.
    async fn stop_motor(&mut self) {
        if self.motor.take().is_some() {
            if let Err(e) = self.hw.motor.brake() {
                warn!("motor brake failed: {:?}", e.kind());
            }
            let until = (self.now() + BRAKE_TIME).millis();
            self.hw.clock.wait_until(until).await;
        }
        if let Err(e) = self.hw.motor.coast() {
            error!("motor coast failed: {:?}", e.kind());
        }
    }

    /// Plays one clip. `after` another clip of the same batch, waits first
    /// (bounded by [`CLIP_LIMIT`]) for that one to end, so a failure sound is
    /// not cut off by the reason that follows it.
    async fn play(&mut self, clip: u16, after: bool) {
        if after {
            let until = (self.now() + CLIP_LIMIT).millis();
            let Hardware { voice, clock, .. } = &mut self.hw;
            if let Either::First(Err(e)) =
                select(voice.wait_until_done(), clock.wait_until(until)).await
            {
                warn!("voice failed: {:?}", e.kind());
            }
        }
        if let Err(e) = self.hw.voice.play(clip).await {
            warn!("voice failed: {:?}", e.kind());
        }
    }

    async fn set_volume(&mut self) {
        let level = map::volume(self.lock.settings().volume);
        if let Err(e) = self.hw.voice.set_volume(level).await {
            warn!("voice volume failed: {:?}", e.kind());
        }
    }

    fn show(&mut self, backlight: BacklightAction) {
        let (mask, pattern) = pattern::start(backlight, self.now());
        self.pattern = pattern;
        self.set_backlight(mask);
    }

    fn set_backlight(&mut self, mask: u16) {
        if let Err(e) = self.hw.backlight.set(mask) {
            warn!("backlight failed: {:?}", e.kind());
        }
    }

    /// Runs a module command other than `Identify`; `Err(kind)` when the
    /// module failed.
    async fn module(&mut self, command: ModuleCommand) -> Result<(), BiometricKind> {
        let (kind, result) = match command {
            ModuleCommand::Enroll { kind, template } => {
                // The first step runs when the person presents a sample.
                self.set_enrolment(
                    kind,
                    Some(Enrolment {
                        template: template.0,
                        step: 0,
                    }),
                );
                let r = on_module!(self.hw, kind, |m| m
                    .begin_enroll(lock_hal::TemplateId(template.0))
                    .await
                    .map_err(|e| e.kind()));
                if r.is_err() {
                    self.set_enrolment(kind, None);
                }
                (kind, r)
            }
            ModuleCommand::CancelEnroll(kind) => {
                let started = self
                    .enrolling
                    .get(kind_of(kind))
                    .copied()
                    .flatten()
                    .is_some_and(|e| e.step > 0);
                self.set_enrolment(kind, None);
                if !started {
                    return Ok(());
                }
                let r = on_module!(self.hw, kind, |m| m
                    .cancel_enroll()
                    .await
                    .map_err(|e| e.kind()));
                (kind, r)
            }
            ModuleCommand::Delete { kind, template } => {
                let r = on_module!(self.hw, kind, |m| m
                    .delete(lock_hal::TemplateId(template.0))
                    .await
                    .map_err(|e| e.kind()));
                (kind, r)
            }
            ModuleCommand::Clear(kind) => {
                self.set_enrolment(kind, None);
                let r = on_module!(self.hw, kind, |m| m.clear().await.map_err(|e| e.kind()));
                (kind, r)
            }
            // Handled by `execute`, after the rest of the batch.
            ModuleCommand::Identify(_) => return Ok(()),
        };
        result.map_err(|e| {
            warn!("module command failed: {:?}", e);
            kind
        })
    }

    /// Reads the battery for the core's low-battery prompt (R-ALM-3), and
    /// schedules the next reading.
    async fn measure_battery(&mut self) -> Option<u8> {
        self.battery_next = self.now() + BATTERY_PERIOD;
        match self.hw.battery.measure().await {
            Ok(percent) => Some(percent.min(100)),
            Err(e) => {
                warn!("battery measurement failed: {:?}", e.kind());
                None
            }
        }
    }
}

/// What the core hears of the app side's event.
fn app_event(event: AppEvent) -> Event {
    match event {
        AppEvent::Request(request) => Event::App(request),
        AppEvent::Changed(change) => Event::AppChanged(change),
        AppEvent::PairingCode(code) => Event::PairingCode(code),
    }
}

fn door_state(open: bool) -> DoorState {
    if open {
        DoorState::Open
    } else {
        DoorState::Closed
    }
}
