//! [`Runtime`]: the loop that joins a board to the lock's state machine, and
//! the lanes beside it.

use core::ops::{Deref, DerefMut};

use embassy_futures::join::join;
use heapless::Deque;
use lock_core::{
    Action, Actions, Backlight as BacklightAction, BiometricEvent, BiometricKind, BoltPosition,
    BoltReport, BoltSwitches, Change, Config, DoorState, Duration, Event, Instant, Lock, LogRecord,
    ModuleCommand, MotorDirection, RadioListening, RestoreError, Snapshot,
};
use lock_hal::{
    Backlight as _, Battery as _, BoltSensor as _, Button as _, Clock as _, ContactSensor as _,
    Error as _, ErrorKind, Function, Gesture, Key as HalKey, KeyEvent, Keypad as _, Motor as _,
    Press, Siren as _, StallSensor as _, TriggerSensor as _, UsbPower as _,
};

use crate::app::{App, AppContext, AppEvent, AppIdentity};
use crate::board::{Board, Hardware};
use crate::lanes::{self, Backoff, Links, Order, Report, gate, race};
use crate::map;
use crate::pattern::{self, Pattern};
use crate::store::{StateStore, StoreError as _, StoreErrorKind};
use crate::wakes::{WakeCause, Wakes};

/// The motor's stall input is not heard this long after a run starts: a DC
/// motor's start-up current exceeds the stall threshold.
pub const INRUSH_BLANK: Duration = Duration::from_millis(100);
/// R-NRG-3: how long the radio listens on after the lock went idle, when
/// it is set to listen only while the lock is awake.
pub const RADIO_LINGER: Duration = Duration::from_secs(60);
/// How long the motor is braked before it is left unpowered (R-LCK-3).
pub const BRAKE_TIME: Duration = Duration::from_millis(100);
/// A failed store write is tried this many more times before the runtime
/// gives up on it (see [`Runtime`]'s "Storage failures").
pub const STORE_RETRIES: u8 = 1;
/// A failed boot load is tried this many times in all, unless the store says
/// its contents are corrupted.
pub const LOAD_ATTEMPTS: u8 = 3;

/// More owed module commands than any store holds (150 templates and three
/// clears): a bound, so a store that misbehaves cannot hold boot forever.
const MAX_OWED_COMMANDS: usize = 256;

/// Events fed before the next input: what boot reads from the sensors, a
/// bolt already at its end.
const PENDING_CAPACITY: usize = 16;

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

/// The control loop's inputs, for their back-off after errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Keypad,
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

const SOURCES: usize = 10;

/// What woke the loop.
enum Input {
    Keypad(Result<KeyEvent, ErrorKind>),
    Module(BiometricKind, Report),
    Bolt(Result<lock_hal::BoltPosition, ErrorKind>),
    Stall(Result<(), ErrorKind>),
    Door(Result<bool, ErrorKind>),
    Tamper(Result<(), ErrorKind>),
    KeyCylinder(Result<(), ErrorKind>),
    Set(Result<Press, ErrorKind>),
    LockButton(Result<Press, ErrorKind>),
    Usb(Result<bool, ErrorKind>),
    App(Result<(), ErrorKind>),
    Timer(WakeCause),
}

/// The motor's state.
#[derive(Debug, Clone, Copy)]
enum MotorState {
    /// Driving the bolt (the core's travel limit bounds it); a stall is
    /// heard from `blank_until`.
    Running { blank_until: Instant },
    /// Braked; left unpowered at `until` (R-LCK-3).
    Braking { until: Instant },
}

/// Module work a deletion or reset owes (S-ST-2), in flight in the lanes.
#[derive(Debug, Clone, Copy, Default)]
struct Owed {
    /// Orders not yet answered.
    outstanding: u16,
    /// One failed or could not be queued: the store keeps the work for the
    /// next boot.
    failed: bool,
    /// A fault was told to the core for this module already (one per
    /// module until the work is over: a deletion of ten templates on a dead
    /// module is one fault).
    told: [bool; 3],
}

/// The parts the control loop drives: all but the slow ones, which the
/// lanes own, and the clock, which both share.
struct Parts<B: Board> {
    keypad: B::Keypad,
    backlight: B::Backlight,
    motor: B::Motor,
    bolt: B::BoltSensor,
    stall: B::StallSensor,
    door: B::DoorSensor,
    tamper: B::Tamper,
    key_cylinder: B::KeyCylinder,
    set_button: B::SetButton,
    lock_button: B::LockButton,
    battery: B::Battery,
    usb_power: B::UsbPower,
    siren: B::Siren,
}

/// The parts the lanes own.
struct LaneParts<B: Board> {
    face: B::Face,
    palm: B::Palm,
    finger: B::Finger,
    face_sensor: B::FaceSensor,
    palm_sensor: B::PalmSensor,
    finger_sensor: B::FingerSensor,
    sound: B::Sound,
}

impl<B: Board> LaneParts<B> {
    /// The four lanes, joined; never returns.
    async fn run(&mut self, links: &Links<B::Clock>) {
        let LaneParts {
            face,
            palm,
            finger,
            face_sensor,
            palm_sensor,
            finger_sensor,
            sound,
        } = self;
        embassy_futures::join::join4(
            lanes::module_lane(BiometricKind::Face, face, face_sensor, links),
            lanes::module_lane(BiometricKind::Palm, palm, palm_sensor, links),
            lanes::module_lane(BiometricKind::Finger, finger, finger_sensor, links),
            lanes::sound_lane(sound, links),
        )
        .await;
    }
}

/// The lock's runtime: restores the core from the store at boot, waits on
/// every input and timer at once, feeds each to [`Lock::handle`] and executes
/// the returned actions in order through the board's traits; the slow
/// devices work in lanes beside it.
///
/// # Lanes
///
/// The face, palm and finger modules and the sound each run as a future of
/// their own, joined beside the control loop ([`Runtime::run`] joins them;
/// still no executor and no heap). The control loop hands them work through
/// bounded channels and never waits for it: a module's answer (a match, an
/// enrolment step, a fault) is one more input of the loop's select, and the
/// sound plays a batch's announcements one after the other by itself. So
/// while a face searches for 10 s or the lock reads out system information, every
/// key, button, sensor, app frame and deadline is still taken (R-RSP-1), and
/// a passcode opens at its ✓ whatever a module is doing (R-RSP-2). The
/// control loop only ever awaits the store (and the app side, whose work is
/// store writes and frames handed to the radio).
///
/// # The loop
///
/// Each step first feeds the events queued by the last actions, then waits,
/// in one `select`, on: the bolt end switches, the stall sensor (only while
/// the motor runs), the keypad, the module lanes' answers, the door
/// contact, the tamper switch, the key cylinder, SET, the inside lock button,
/// USB power, the [`App`], and the clock until the earliest of the core's
/// [`Lock::next_deadline`], the motor's inrush blanking or brake, the next
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
    core: Core<B, S, A>,
    lanes: LaneParts<B>,
    links: Links<B::Clock>,
}

/// R-NRG-3: the radio's listening as the runtime last told the app side.
#[derive(Debug, Clone, Copy, Default)]
struct Radio {
    /// Told to go quiet.
    quiet: bool,
    /// When it goes quiet, if the lock stays idle until then.
    quiet_at: Option<Instant>,
}

/// The control loop's state.
struct Core<B: Board, S: StateStore, A: App> {
    hw: Parts<B>,
    store: S,
    app: A,
    config: Config,
    lock: Lock<Option<A::VisitorCodes>>,
    boot: Option<Boot>,
    /// The end switches' last reading.
    bolt_last: lock_hal::BoltPosition,
    door_open: bool,
    usb_present: bool,
    motor: Option<MotorState>,
    pattern: Option<Pattern>,
    /// R-NRG-1: the clock's wake-ups, by cause.
    wakes: Wakes,
    /// R-NRG-3: what the app side's radio was told.
    radio: Radio,
    backoff: [Backoff; SOURCES],
    pending: Deque<Event, PENDING_CAPACITY>,
    owed: Owed,
}

/// The control loop at work: its state and the links to the lanes.
struct Control<'r, B: Board, S: StateStore, A: App> {
    core: &'r mut Core<B, S, A>,
    links: &'r Links<B::Clock>,
}

impl<B: Board, S: StateStore, A: App> Deref for Control<'_, B, S, A> {
    type Target = Core<B, S, A>;
    fn deref(&self) -> &Core<B, S, A> {
        self.core
    }
}

impl<B: Board, S: StateStore, A: App> DerefMut for Control<'_, B, S, A> {
    fn deref_mut(&mut self) -> &mut Core<B, S, A> {
        self.core
    }
}

impl<B: Board, S: StateStore, A: App> Runtime<B, S, A> {
    /// A runtime over a board's parts, its store and its app side. Nothing
    /// runs until [`Runtime::run`].
    pub fn new(hw: Hardware<B>, store: S, app: A, config: Config) -> Self {
        let Hardware {
            keypad,
            backlight,
            face,
            palm,
            finger,
            face_sensor,
            palm_sensor,
            finger_sensor,
            motor,
            bolt,
            stall,
            door,
            tamper,
            key_cylinder,
            set_button,
            lock_button,
            battery,
            usb_power,
            sound,
            siren,
            clock,
        } = hw;
        Runtime {
            core: Core {
                hw: Parts {
                    keypad,
                    backlight,
                    motor,
                    bolt,
                    stall,
                    door,
                    tamper,
                    key_cylinder,
                    set_button,
                    lock_button,
                    battery,
                    usb_power,
                    siren,
                },
                store,
                app,
                config,
                lock: Lock::with_visitor_codes(config, None),
                boot: None,
                bolt_last: lock_hal::BoltPosition::Between,
                door_open: false,
                usb_present: false,
                motor: None,
                pattern: None,
                wakes: Wakes::default(),
                radio: Radio::default(),
                backoff: [Backoff::NEW; SOURCES],
                pending: Deque::new(),
                owed: Owed::default(),
            },
            lanes: LaneParts {
                face,
                palm,
                finger,
                face_sensor,
                palm_sensor,
                finger_sensor,
                sound,
            },
            links: Links::new(clock),
        }
    }

    /// Boots, then runs the control loop and the lanes. Never returns.
    pub async fn run(&mut self) {
        self.run_with(|_| {}).await;
    }

    /// As [`Runtime::run`], calling `after_step` after boot and after every
    /// step of the control loop: a host (the simulator, a test) looks at the
    /// lock there. Never returns.
    pub async fn run_with(&mut self, mut after_step: impl FnMut(View<'_, B, S, A>)) {
        let Runtime { core, lanes, links } = self;
        let links = &*links;
        let control = async {
            let mut control = Control { core, links };
            control.boot().await;
            after_step(control.view());
            loop {
                control.step().await;
                after_step(control.view());
            }
        };
        join(control, lanes.run(links)).await;
    }

    /// The lock's state machine, to look at (the runtime owns it).
    pub fn lock(&self) -> &Lock<Option<A::VisitorCodes>> {
        &self.core.lock
    }

    /// The app side, to look at.
    pub fn app(&self) -> &A {
        &self.core.app
    }

    /// Gives the store and the app side back.
    pub fn release(self) -> (S, A) {
        (self.core.store, self.core.app)
    }
}

/// The lock as a host sees it between the control loop's steps
/// ([`Runtime::run_with`]).
pub struct View<'a, B: Board, S: StateStore, A: App> {
    core: &'a Core<B, S, A>,
    now: Instant,
}

impl<'a, B: Board, S: StateStore, A: App> View<'a, B, S, A> {
    /// The lock's state machine.
    pub fn lock(&self) -> &'a Lock<Option<A::VisitorCodes>> {
        &self.core.lock
    }

    /// The app side.
    pub fn app(&self) -> &'a A {
        &self.core.app
    }

    /// How boot went.
    pub fn boot(&self) -> Option<Boot> {
        self.core.boot
    }

    /// The board's clock as the lock's time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// R-NRG-1: the clock's wake-ups since boot, by cause.
    pub fn wakes(&self) -> &'a Wakes {
        &self.core.wakes
    }
}

impl<B: Board, S: StateStore, A: App> Control<'_, B, S, A> {
    fn view(&self) -> View<'_, B, S, A> {
        View {
            core: self.core,
            now: self.now(),
        }
    }

    /// The board's clock as the lock's time.
    fn now(&self) -> Instant {
        Instant::from_millis(self.links.now_ms())
    }

    /// Boots: reads SET, loads the store's state and restores the core from
    /// it (fail-secure when it cannot, S-ST-3), hands the module lanes the
    /// work an interrupted deletion or reset owes before any credential
    /// counts (S-ST-2: each lane takes its orders in turn, so the deletion
    /// runs before any identification on that module), sends
    /// [`Event::Boot`], then the sensors' present state (bolt, door, USB
    /// power, battery).
    async fn boot(&mut self) {
        // A reset can leave outputs in any state: make them safe first.
        self.make_outputs_safe();
        let set_held = self.hw.set_button.is_pressed().unwrap_or_else(|e| {
            warn!("SET unreadable at boot: {:?}", e.kind());
            false
        });
        let now = self.now();
        // One snapshot (the size of the whole lock), which the store fills
        // in place, kept in the boot future rather than moved through the
        // stack, and only while loading (its own block: the future's
        // layout then shares its bytes with the later awaits' futures).
        // The lock is restored where it lives, not built on the stack and
        // moved in.
        let restored = {
            let mut snapshot = Snapshot::default();
            match self.load(&mut snapshot).await {
                Ok(()) => {
                    let config = self.config;
                    self.lock
                        .restore_in_place(config, None, &snapshot, now)
                        .map_err(BootFault::Restore)
                }
                Err(kind) => Err(BootFault::Store(kind)),
            }
        };
        let outcome = match restored {
            Ok(()) => {
                self.hand_over_owed_work().await;
                let core = &mut *self.core;
                let started = core.app.start(&mut core.store).await;
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
                let config = self.config;
                self.lock.fail_secure_in_place(config, None);
                Boot::FailSecure(fault)
            }
        };
        self.boot = Some(outcome);
        self.start_core(set_held).await;
        self.drain().await;
        // The radio starts listening; the lock is awake.
        self.radio(true);
        self.observe();
    }

    /// Waits for the next input or timer and handles it with everything it
    /// leads to.
    async fn step(&mut self) {
        self.drain().await;
        let input = self.wait_for_input().await;
        let woke = !matches!(input, Input::Timer(_));
        self.on_input(input).await;
        self.drain().await;
        self.radio(woke);
        self.observe();
    }

    /// Shows the app side the lock as it is after a step ([`App::observe`]).
    fn observe(&mut self) {
        let now = self.now();
        let core = &mut *self.core;
        let cx = AppContext::of(&core.lock, now);
        core.app.observe(&cx);
    }

    /// R-NRG-2: the face and palm searches a touch began stop when someone
    /// types or the door opens, so the module does not look at an empty
    /// doorstep for the rest of its timeout at hundreds of milliamps. (A
    /// finger search ends as the finger lifts.)
    fn stop_searches(&self) {
        for kind in [BiometricKind::Face, BiometricKind::Palm] {
            self.links.stop_search(kind);
        }
    }

    /// R-NRG-3: with the radio set to listen while the lock is awake, it
    /// goes quiet [`RADIO_LINGER`] after the lock went idle (keypad dark,
    /// motor still) and listens again at the next input (`woke`: a touch,
    /// a button, a sensor, a module's answer, a frame over a link still
    /// up). A module still searching does not hold it: a search ends with
    /// no input when it finds no one (the loop would never look again),
    /// and the longest, the face's 10 s, is well inside the linger. Set to
    /// listen always, it listens.
    fn radio(&mut self, woke: bool) {
        let now = self.now();
        let while_awake = self.lock.radio_listening() == RadioListening::WhileAwake;
        let idle = self.lock.keypad().is_none() && self.motor.is_none();
        let radio = &mut self.core.radio;
        if radio.quiet && (woke || !while_awake) {
            radio.quiet = false;
            self.core.app.listen(true);
        }
        let radio = &mut self.core.radio;
        radio.quiet_at = match radio.quiet_at {
            _ if !while_awake || !idle || radio.quiet => None,
            Some(at) if !woke => Some(at),
            _ => Some(now + RADIO_LINGER),
        };
    }

    // ----- boot ------------------------------------------------------------

    async fn load(&mut self, snapshot: &mut Snapshot) -> Result<(), StoreErrorKind> {
        let mut last = StoreErrorKind::Other;
        for _ in 0..LOAD_ATTEMPTS {
            match self.store.load_into(snapshot).await {
                Ok(()) => return Ok(()),
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

    /// Hands the module lanes the commands an interrupted deletion or
    /// factory reset still owes, then lets them listen to their sample
    /// sensors; the store hears that all succeeded when the last answer
    /// comes (a module that failed is tried again at the next boot).
    async fn hand_over_owed_work(&mut self) {
        let mut any = false;
        for n in 0..MAX_OWED_COMMANDS {
            let Some(command) = self.store.owed_module_command(n) else {
                break;
            };
            let Some((kind, order)) = owed_order(command) else {
                continue;
            };
            any = true;
            self.owed.outstanding = self.owed.outstanding.saturating_add(1);
            self.hand_over(kind, order).await;
        }
        for kind in BiometricKind::ALL {
            // Behind the owed work in each lane's queue.
            self.hand_over(kind, Order::Listen).await;
        }
        if any {
            self.owed_settled().await;
        }
    }

    /// Hands `order` to a lane at boot, waiting for room: the loop is not
    /// running yet, so the lanes' answers are taken meanwhile (a lane waits
    /// for room for its answer), counted, and not told to the core, which
    /// starts after.
    async fn hand_over(&mut self, kind: BiometricKind, order: Order) {
        let links = self.links;
        loop {
            let answer = race!(
                order = async {
                    links.order_waiting(kind, order).await;
                    None
                },
                report = async { Some(links.reports.receive().await) },
            )
            .await;
            match answer {
                None => return,
                Some((_, Report::Done(ok))) => {
                    let owed = &mut self.owed;
                    owed.outstanding = owed.outstanding.saturating_sub(1);
                    owed.failed |= !ok;
                }
                // No sample is taken before `Order::Listen`.
                Some((_, Report::Event(_))) => {}
            }
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
        self.set_volume();
        self.queue(Event::Boot { set_held });
        // A body without switches has nothing to read.
        let bolt = match self.config.bolt.switches {
            BoltSwitches::None => None,
            _ => Some(self.hw.bolt.position()),
        };
        match bolt {
            None => {}
            Some(Ok(position)) => {
                self.bolt_last = position;
                // R-LCK-3: between the ends at boot, power was cut while it
                // moved: the core raises the jam alarm.
                self.queue(Event::Bolt(
                    map::bolt(position).map_or(BoltReport::Between, BoltReport::Reached),
                ));
            }
            Some(Err(e)) => warn!("bolt sensor unreadable at boot: {:?}", e.kind()),
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

    /// When the clock must wake the loop, and what for; `None`: nothing
    /// is due (before boot: the core's hourly wake is always due after).
    fn wake_at(&self, now: Instant) -> Option<(Instant, WakeCause)> {
        // Only back-offs still running: an expired one needs no wake-up.
        let backoffs = self
            .backoff
            .iter()
            .filter_map(|b| b.quiet_until)
            .filter(|t| *t > now.millis())
            .map(|t| (Instant::from_millis(t), WakeCause::Retry));
        let motor = self.motor.and_then(|m| match m {
            // The stall input opens then.
            MotorState::Running { blank_until } => {
                (blank_until > now).then_some((blank_until, WakeCause::Motor))
            }
            MotorState::Braking { until } => Some((until, WakeCause::Motor)),
        });
        [
            self.lock
                .next_timer()
                .map(|(at, timer)| (at, WakeCause::Lock(timer))),
            self.app.next_deadline().map(|at| (at, WakeCause::App)),
            motor,
            self.pattern.map(|p| (p.next_at, WakeCause::Backlight)),
            self.radio.quiet_at.map(|at| (at, WakeCause::Radio)),
        ]
        .into_iter()
        .flatten()
        .chain(backoffs)
        .min_by_key(|&(at, _)| at)
    }

    fn listening(&self, source: Source, now: Instant) -> bool {
        self.backoff
            .get(source as usize)
            .is_none_or(|b| b.listening(now.millis()))
    }

    fn motor_running(&self) -> bool {
        matches!(self.motor, Some(MotorState::Running { .. }))
    }

    /// Whether a stall would be heard: the motor runs, past its inrush.
    fn stall_heard(&self, now: Instant) -> bool {
        matches!(self.motor, Some(MotorState::Running { blank_until }) if now >= blank_until)
    }

    async fn wait_for_input(&mut self) -> Input {
        let now = self.now();
        let wake = self.wake_at(now);
        let on = |s| self.listening(s, now);
        let open = [
            on(Source::Keypad),
            on(Source::Bolt),
            on(Source::Stall) && self.stall_heard(now),
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
        let links = self.links;
        let core = &mut *self.core;
        let (bolt_last, door_open, usb_present) =
            (core.bolt_last, core.door_open, core.usb_present);
        let Parts {
            keypad,
            bolt,
            stall,
            door,
            tamper,
            key_cylinder,
            set_button,
            lock_button,
            usb_power,
            ..
        } = &mut core.hw;
        let app = &mut core.app;
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
            module_input = async {
                let (kind, report) = links.reports.receive().await;
                Input::Module(kind, report)
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
                match wake {
                    Some((at, cause)) => {
                        links.clock.wait_until(at.millis()).await;
                        Input::Timer(cause)
                    }
                    None => core::future::pending().await,
                }
            },
        )
        .await
    }

    /// What the core hears of a keypad event, through the keypad's
    /// [`Layout`](lock_hal::Layout): a gesture mapped to SET, leaving-home
    /// or the bell is that function; a key the lock has no function for is
    /// nothing; a printed key pressed on a dark keypad wakes it and counts.
    fn key_event(&mut self, event: KeyEvent) -> Option<Event> {
        let layout = <B::Keypad as lock_hal::Keypad>::LAYOUT;
        let gesture = match event {
            KeyEvent::Touch => return Some(Event::Touch),
            KeyEvent::Press(k) => Gesture::Press(k),
            KeyEvent::Hold(k) => Gesture::Hold(k),
        };
        let event = match (layout.function(gesture), gesture) {
            (Some(Function::Set), _) => return Some(Event::Set),
            (Some(Function::Home), _) => Event::Key(lock_core::Key::Home),
            (Some(Function::Bell), _) => Event::Key(lock_core::Key::Bell),
            // Not where this keypad has those functions.
            (None, Gesture::Press(HalKey::Home | HalKey::Bell)) => return None,
            (None, Gesture::Press(k)) => Event::Key(map::key(k)),
            (None, Gesture::Hold(k)) => Event::KeyHeld(map::key(k)),
        };
        if let Event::Key(_) = event {
            // Someone types: the search a touch began is not needed any more.
            self.stop_searches();
            // The key was taken: a click says so (a signal to the sound
            // lane, never waited for).
            self.links.click();
            if layout.mechanical && self.lock.keypad().is_none() {
                // A printed key can be aimed at in the dark: it wakes the
                // keypad (this touch) and then counts (queued after it).
                self.queue(event);
                return Some(Event::Touch);
            }
        }
        Some(event)
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
                backoff.fail(now.millis());
                None
            }
        }
    }

    async fn on_input(&mut self, input: Input) {
        // Every input reaches the core through the one `feed` at the end: a
        // single await point, where one per input cost flash on the boards.
        let mut woke_keypad = false;
        let event = match input {
            Input::Keypad(r) => self.note(Source::Keypad, r).and_then(|event| {
                woke_keypad = self.lock.keypad().is_none();
                self.key_event(event)
            }),
            Input::Module(_, Report::Event(event)) => Some(Event::Biometric(event)),
            Input::Module(kind, Report::Done(ok)) => self.owed_done(kind, ok).await,
            Input::Bolt(r) => self.note(Source::Bolt, r).and_then(|position| {
                self.bolt_last = position;
                match map::bolt(position) {
                    Some(at) => Some(Event::Bolt(BoltReport::Reached(at))),
                    // With switches at both ends, between them is on the way
                    // (by motor or by hand); with one, off it is the other end.
                    None if self.config.bolt.switches == BoltSwitches::Both => None,
                    None => Some(Event::Bolt(BoltReport::Between)),
                }
            }),
            Input::Stall(r) => {
                if self.note(Source::Stall, r).is_some() && self.motor_running() {
                    // Stop at once; the core's own StopMotor follows.
                    self.stop_motor();
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
            Input::Timer(cause) => {
                self.core.wakes.count(cause);
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

    /// An owed deletion or clear ended on a module: a fault for the core
    /// (once per module until the work is over), and the store told when
    /// all of it succeeded.
    async fn owed_done(&mut self, kind: BiometricKind, ok: bool) -> Option<Event> {
        let owed = &mut self.owed;
        owed.outstanding = owed.outstanding.saturating_sub(1);
        let mut fault = None;
        if !ok {
            owed.failed = true;
            if let Some(told) = owed.told.get_mut(lanes::index(kind))
                && !*told
            {
                *told = true;
                fault = Some(Event::Biometric(BiometricEvent::Fault { kind }));
            }
        }
        self.owed_settled().await;
        fault
    }

    /// When no owed order is in flight: the store hears the work is done if
    /// none failed, and the next deletion starts afresh.
    async fn owed_settled(&mut self) {
        if self.owed.outstanding > 0 {
            return;
        }
        let failed = core::mem::take(&mut self.owed).failed;
        if !failed {
            self.module_work_done().await;
        }
    }

    /// Lets the app side handle what arrived; what it hands on to the core.
    async fn app_input(&mut self) -> Option<Event> {
        let now = self.now();
        let core = &mut *self.core;
        let cx = AppContext::of(&core.lock, now);
        let processed = core.app.process(&cx, &mut core.store).await;
        // S-VC-5: a revoked phone's codes stop opening before the next key.
        if let Some(codes) = core.app.take_visitor_codes() {
            *core.lock.visitor_codes_mut() = Some(codes);
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
        match self.motor {
            Some(MotorState::Braking { until }) if now >= until => {
                self.motor = None;
                self.coast();
            }
            _ => {}
        }
        if let Some(p) = self.pattern
            && now >= p.next_at
        {
            let (mask, next) = p.advance(now);
            self.pattern = next;
            self.set_backlight(mask);
        }
        if self.lock.next_deadline().is_some_and(|t| now >= t) {
            self.feed(Event::Tick).await;
        }
        // S-PR-7: a radio link that had its time is ended; returns at once.
        self.app.tick(now);
        // R-NRG-3: the lock stayed idle for a minute.
        if self.radio.quiet_at.is_some_and(|at| now >= at) {
            let core = &mut *self.core;
            core.radio = Radio {
                quiet: true,
                quiet_at: None,
            };
            core.app.listen(false);
        }
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

    /// Executes one batch in order. Nothing here waits for a slow device:
    /// module work and announcements go to their lanes.
    async fn execute(&mut self, actions: &Actions) {
        let mut speaking = false;
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
                        let core = &mut *self.core;
                        let reset = core.app.factory_reset(&mut core.store).await;
                        self.adopt_app_identity(reset);
                    }
                    if let Change::Settings(_) | Change::FactoryReset = change {
                        self.set_volume();
                    }
                }
                Action::Log(record) => {
                    self.append_log(&record).await;
                    self.core.app.logged(&record);
                }
                Action::DriveBolt { to, motor } => {
                    if to == BoltPosition::Unlocked {
                        // The door opens: nobody is left to look for.
                        self.stop_searches();
                    }
                    self.drive(to, motor);
                }
                Action::StopMotor => self.stop_motor(),
                Action::Prompt(p) => {
                    // The batch's first prompt cuts what still plays; the
                    // rest follow it, each after the one before.
                    if !speaking {
                        self.links.cut();
                        speaking = true;
                    }
                    if !self.links.say(map::announcement(&p)) {
                        warn!("sound queue full: a prompt was dropped");
                    }
                }
                Action::Keypad(backlight) => self.show(backlight),
                Action::Module(command) => self.order(command),
                Action::Siren(on) => {
                    if let Err(e) = self.hw.siren.set(on) {
                        warn!("siren failed: {:?}", e.kind());
                    }
                }
                Action::Notify(notice) => {
                    let core = &mut *self.core;
                    if let Err(e) = core.app.notify(&notice, &mut core.store).await {
                        warn!("app notice failed: {:?}", e.kind());
                    }
                }
                Action::Reply(reply) => {
                    let core = &mut *self.core;
                    if let Err(e) = core.app.reply(&reply, &mut core.store).await {
                        warn!("app reply failed: {:?}", e.kind());
                    }
                }
                Action::Pairing(open) => {
                    if let Err(e) = self.app.pairing(open).await {
                        warn!("pairing window failed: {:?}", e.kind());
                    }
                }
                // R-NRG-1: the core's hourly wake.
                Action::MeasureBattery => {
                    if let Some(percent) = self.measure_battery().await {
                        self.queue(Event::Battery(percent));
                    }
                }
                Action::ConfirmPairing => {
                    let now = self.now();
                    let core = &mut *self.core;
                    match core.app.confirm_pairing(now, &mut core.store).await {
                        // The pairing was stored: the core logs it and ends
                        // pairing mode after this batch.
                        Ok(Some(event)) => self.queue(app_event(event)),
                        Ok(None) => {}
                        Err(e) => warn!("pairing confirmation failed: {:?}", e.kind()),
                    }
                }
            }
        }
        // A deletion of a person without templates owes the modules nothing:
        // the store hears it is done (after any deletion still in flight).
        if owes_module_work {
            self.owed_settled().await;
        }
    }

    /// Hands a module command to its lane without waiting. An owed deletion
    /// or clear that finds the lane's queue full is left to the next boot
    /// (the store keeps it, S-ST-2) and told to the core as a fault.
    fn order(&mut self, command: ModuleCommand) {
        let (kind, order) = match command {
            ModuleCommand::Identify(kind) => (kind, Order::Identify),
            ModuleCommand::Enroll { kind, template } => (kind, Order::BeginEnroll(template)),
            ModuleCommand::CancelEnroll(kind) => (kind, Order::CancelEnroll),
            ModuleCommand::Delete { kind, template } => (kind, Order::Delete(template)),
            ModuleCommand::Clear(kind) => (kind, Order::Clear),
        };
        let owed = matches!(order, Order::Delete(_) | Order::Clear);
        if self.links.order(kind, order) {
            if owed {
                self.owed.outstanding = self.owed.outstanding.saturating_add(1);
            }
            return;
        }
        warn!("module queue full: a command was dropped");
        if owed {
            self.owed.failed = true;
        }
        self.queue(Event::Biometric(BiometricEvent::Fault { kind }));
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
        self.make_outputs_safe();
        let config = self.config;
        self.lock.fail_secure_in_place(config, None);
        self.start_core(false).await;
    }

    /// Motor unpowered, siren off, keypad dark, enrolments abandoned.
    fn make_outputs_safe(&mut self) {
        self.motor = None;
        if let Err(e) = self.hw.motor.brake() {
            warn!("motor brake failed: {:?}", e.kind());
        }
        self.coast();
        if let Err(e) = self.hw.siren.set(false) {
            warn!("siren failed: {:?}", e.kind());
        }
        self.pattern = None;
        self.set_backlight(0);
        for kind in BiometricKind::ALL {
            // A lane not enrolling ignores it.
            let _ = self.links.order(kind, Order::CancelEnroll);
        }
    }

    /// Starts a bolt movement (R-UNL-2), bounded by the end switch, the
    /// stall input and the core's travel limit (R-LCK-3).
    fn drive(&mut self, to: BoltPosition, direction: MotorDirection) {
        let now = self.now();
        if let Err(e) = self
            .hw
            .motor
            .drive(map::motor(direction), map::bolt_end(to))
        {
            error!("motor failed: {:?}", e.kind());
            self.coast();
            self.queue(Event::Bolt(BoltReport::Stalled));
            return;
        }
        self.motor = Some(MotorState::Running {
            blank_until: now + INRUSH_BLANK,
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

    /// Brakes, and leaves the motor unpowered [`BRAKE_TIME`] later (a timer
    /// of the loop: nothing waits for it) (R-LCK-3). Without a run under
    /// way the motor is only left unpowered.
    fn stop_motor(&mut self) {
        if self.motor_running() {
            if let Err(e) = self.hw.motor.brake() {
                warn!("motor brake failed: {:?}", e.kind());
            }
            self.motor = Some(MotorState::Braking {
                until: self.now() + BRAKE_TIME,
            });
        } else if self.motor.is_none() {
            self.coast();
        }
    }

    fn coast(&mut self) {
        if let Err(e) = self.hw.motor.coast() {
            error!("motor coast failed: {:?}", e.kind());
        }
    }

    fn set_volume(&mut self) {
        self.links
            .set_volume(map::volume(self.lock.settings().volume));
    }

    fn show(&mut self, backlight: BacklightAction) {
        let single_led = <B::Backlight as lock_hal::Backlight>::SINGLE_LED;
        let (mask, pattern) = pattern::start(backlight, self.now(), single_led);
        self.pattern = pattern;
        self.set_backlight(mask);
    }

    fn set_backlight(&mut self, mask: u16) {
        if let Err(e) = self.hw.backlight.set(mask) {
            warn!("backlight failed: {:?}", e.kind());
        }
    }

    /// Reads the battery for the core's low-battery prompt (R-ALM-3).
    async fn measure_battery(&mut self) -> Option<u8> {
        match self.hw.battery.measure().await {
            Ok(percent) => Some(percent.min(100)),
            Err(e) => {
                warn!("battery measurement failed: {:?}", e.kind());
                None
            }
        }
    }
}

/// The lane order an owed module command becomes; `None` for a command that
/// is never owed.
fn owed_order(command: ModuleCommand) -> Option<(BiometricKind, Order)> {
    match command {
        ModuleCommand::Delete { kind, template } => Some((kind, Order::Delete(template))),
        ModuleCommand::Clear(kind) => Some((kind, Order::Clear)),
        _ => None,
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
