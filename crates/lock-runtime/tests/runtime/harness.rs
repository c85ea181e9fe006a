//! A test bench for the runtime: mock implementations of every lock-hal trait
//! the runtime uses, all looking at one scripted [`World`], a mock clock, a
//! store, and a small test language (`b.keys("482915 ok")`, `b.finger("alice")`,
//! `b.wait(secs(5))`, `b.power_cut()`).
//!
//! How it runs, deterministically:
//! - The runtime is one future (`Runtime::run`), polled by hand with a no-op
//!   waker. A step of the test changes the world (a key pressed, a finger on
//!   the sensor), then polls until the runtime is *idle*: a poll in which no
//!   mock answered anything.
//! - Time moves only when the runtime waits on the clock and nothing else can
//!   happen: [`Bench::wait`] jumps to the earliest of the runtime's clock wait
//!   and the world's own scheduled changes (the bolt reaching its end, a clip
//!   ending), settles, and goes on until the wait is over.
//! - A power cut ([`Bench::power_cut`]) drops the runtime future wherever it
//!   is; [`Bench::cut_power_after_attempts_written`] arranges one right after
//!   a store write completes. The store's contents survive; [`Bench::boot`]
//!   starts a new runtime on them.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use lock_core::{
    AppRequest, BiometricKind, Change, Config, Duration, LogEntry, LogRecord, ModuleCommand,
    NoVisitorCodes, Notice, Prompt, Reply, Snapshot,
};
use lock_hal::nor_flash;
use lock_hal::{
    BoltPosition, EnrollRefusal, EnrollStatus, EnrollStep, ErrorKind, ErrorType, Identification,
    Key, KeyEvent, MotorDirection, Press, TemplateId,
};
use lock_runtime::{
    App, AppContext, AppEvent, AppIdentity, Board, Hardware, LogPage, Runtime, StateStore,
    StoreErrorKind,
};
use lock_store::StoreConfig;
use lock_store::mock_flash::{MockFlash, MockFlashError};

pub const ADMIN_CODE: &str = "482915";
/// How long the mock lock body takes from one end to the other.
pub const TRAVEL: u64 = 1_000;
/// How long every voice clip plays.
pub const CLIP: u64 = 100;
/// How long a person takes per key or per presentation.
pub const PACE: u64 = 500;
/// How long the failing module takes to give up (its own timeout).
pub const MODULE_TIMEOUT: u64 = 2_000;

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

pub fn config() -> Config {
    Config {
        serial: 2026_0001,
        firmware: (1, 2, 3),
        verification_code: 482_071,
    }
}

/// What the motor was told, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotorCall {
    Drive(MotorDirection),
    Brake,
    Coast,
}

/// How the lock body answers a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// The bolt reaches its end after [`TRAVEL`].
    Working,
    /// The motor stalls half-way.
    Stalls,
    /// The bolt never arrives and nothing stalls.
    Silent,
}

/// One biometric module.
#[derive(Debug, Default)]
pub struct Module {
    /// Names it holds a template for, with the template id.
    pub templates: Vec<(String, u16)>,
    /// What lies on (stands before) the sensor, not yet taken.
    pub presented: Option<String>,
    /// Every operation times out after [`MODULE_TIMEOUT`].
    pub failing: bool,
    /// How long an identification that finds no match searches (a face
    /// module keeps looking until its own timeout), in ms.
    pub search_ms: u64,
    /// How long an identification that finds its match takes, in ms.
    pub match_ms: u64,
    /// The enrolment under way: its template and the captures taken.
    pub enrolling: Option<(u16, u8)>,
    /// When the search under way ends.
    pub searching_until: Option<u64>,
    /// What the runtime asked of it.
    pub calls: Vec<String>,
}

/// Everything the mocks look at and record.
pub struct World {
    pub now: u64,
    /// The clock wait the runtime is in, seen at the last poll.
    wakeup: Option<u64>,
    /// Bumped by every mock that answers: no bump in a poll means idle.
    progress: u64,
    answers_this_poll: u32,
    /// Power is off: every mock waits forever.
    pub dead: bool,
    /// Cut power right after the `n`th change matching the filter from now
    /// is stored.
    pub cut_after: Option<(ChangeFilter, u32)>,
    /// Every store write fails (a broken flash).
    pub store_fails: bool,
    /// Owed module commands the store reports after its own (as many as a
    /// test needs), until it hears the work is done.
    pub owed_extra: Vec<ModuleCommand>,
    /// Times the store heard that the owed module work is done.
    pub module_work_done: u32,

    pub keys: VecDeque<KeyEvent>,
    /// When each key press began ([`Bench::keys`]) and when the runtime read
    /// it, in order: R-RSP-1's "taken within 100 ms".
    pub keys_pressed: Vec<u64>,
    pub keys_read: Vec<u64>,
    /// How long each clip plays, in ms ([`CLIP`] unless a test says).
    pub clip_ms: u64,
    /// When the siren was switched, and to what.
    pub siren_log: Vec<(u64, bool)>,
    /// A key or button press not read while it lasts ([`PACE`]) is gone,
    /// as on the BS8116A, which tells only which keys are down now, and on
    /// a button read as a level.
    pub presses_fleeting: bool,
    pub backlight: u16,
    pub backlight_log: Vec<(u64, u16)>,
    pub modules: [Module; 3],

    pub body: Body,
    pub bolt: BoltPosition,
    pub arrival: Option<(u64, BoltPosition)>,
    pub stall_at: Option<u64>,
    pub stalled: bool,
    pub motor: Vec<MotorCall>,
    /// When each of `motor` was made.
    pub motor_times: Vec<u64>,

    pub door_open: bool,
    pub tampers: u32,
    pub key_turns: u32,
    pub set_held_at_power_up: bool,
    pub set_presses: VecDeque<Press>,
    pub lock_presses: VecDeque<Press>,
    pub battery: u8,
    pub measurements: u32,
    pub usb: bool,

    pub clips: Vec<(u64, u16)>,
    pub playing_until: u64,
    pub volume: Option<u8>,
    pub siren: bool,

    pub app_in: VecDeque<AppEvent>,
    pub notices: Vec<Notice>,
    pub replies: Vec<Reply>,
    pub pairing: bool,
    /// Times a person confirmed a pairing code at the lock (S-PR-1).
    pub pairing_confirmed: u32,
}

impl World {
    fn new() -> World {
        World {
            now: 0,
            wakeup: None,
            progress: 0,
            answers_this_poll: 0,
            dead: false,
            cut_after: None,
            store_fails: false,
            owed_extra: Vec::new(),
            module_work_done: 0,
            keys: VecDeque::new(),
            keys_pressed: Vec::new(),
            keys_read: Vec::new(),
            clip_ms: CLIP,
            siren_log: Vec::new(),
            presses_fleeting: false,
            backlight: 0,
            backlight_log: Vec::new(),
            modules: Default::default(),
            body: Body::Working,
            bolt: BoltPosition::Locked,
            arrival: None,
            stall_at: None,
            stalled: false,
            motor: Vec::new(),
            motor_times: Vec::new(),
            door_open: false,
            tampers: 0,
            key_turns: 0,
            set_held_at_power_up: false,
            set_presses: VecDeque::new(),
            lock_presses: VecDeque::new(),
            battery: 80,
            measurements: 0,
            usb: false,
            clips: Vec::new(),
            playing_until: 0,
            volume: None,
            siren: false,
            app_in: VecDeque::new(),
            notices: Vec::new(),
            replies: Vec::new(),
            pairing: false,
            pairing_confirmed: 0,
        }
    }

    fn bump(&mut self) {
        self.progress += 1;
        // A runtime that never returns from a poll (a timer that is always
        // due, say) would hang the test: fail it instead.
        self.answers_this_poll += 1;
        assert!(
            self.answers_this_poll < 100_000,
            "the runtime spins inside one poll"
        );
    }

    /// Notes what the motor was told, and when.
    fn record_motor(&mut self, call: MotorCall) {
        self.motor.push(call);
        self.motor_times.push(self.now);
    }

    pub fn module(&mut self, kind: BiometricKind) -> &mut Module {
        &mut self.modules[index(kind)]
    }

    /// The next moment the world changes by itself.
    fn next_change(&self) -> Option<u64> {
        [
            self.arrival.map(|(t, _)| t),
            self.stall_at,
            (self.playing_until > self.now).then_some(self.playing_until),
        ]
        .into_iter()
        .chain(self.modules.iter().map(|m| m.searching_until))
        .flatten()
        .min()
    }

    fn advance_to(&mut self, t: u64) {
        self.now = self.now.max(t);
        if let Some((at, position)) = self.arrival
            && at <= self.now
        {
            self.bolt = position;
            self.arrival = None;
        }
        if let Some(at) = self.stall_at
            && at <= self.now
        {
            self.stalled = true;
            self.stall_at = None;
        }
    }
}

fn index(kind: BiometricKind) -> usize {
    match kind {
        BiometricKind::Face => 0,
        BiometricKind::Palm => 1,
        BiometricKind::Finger => 2,
    }
}

type Shared = Rc<RefCell<World>>;

/// Waits until `ready` gives a value; forever once power is off.
async fn until<T>(world: &Shared, mut ready: impl FnMut(&mut World) -> Option<T>) -> T {
    poll_fn(|_| {
        let mut w = world.borrow_mut();
        if w.dead {
            return Poll::Pending;
        }
        match ready(&mut w) {
            Some(v) => {
                w.bump();
                Poll::Ready(v)
            }
            None => Poll::Pending,
        }
    })
    .await
}

/// An operation that completes at once (unless power is off).
async fn op<T>(world: &Shared, f: impl FnOnce(&mut World) -> T) -> T {
    let mut f = Some(f);
    until(world, |w| f.take().map(|f| f(w))).await
}

macro_rules! mock {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Clone)]
        pub struct $name(Shared);
        impl ErrorType for $name {
            type Error = ErrorKind;
        }
    )*};
}

mock!(
    MockKeypad,
    MockBacklight,
    MockMotor,
    MockBolt,
    MockStall,
    MockDoor,
    MockTamper,
    MockCylinder,
    MockSet,
    MockLockButton,
    MockBattery,
    MockUsb,
    MockVoice,
    MockSiren,
);

impl lock_hal::Keypad for MockKeypad {
    async fn wait_for_event(&mut self) -> Result<KeyEvent, ErrorKind> {
        Ok(until(&self.0, |w| {
            let key = w.keys.pop_front()?;
            let now = w.now;
            w.keys_read.push(now);
            Some(key)
        })
        .await)
    }
}

impl lock_hal::Backlight for MockBacklight {
    fn set(&mut self, mask: u16) -> Result<(), ErrorKind> {
        let mut w = self.0.borrow_mut();
        w.backlight = mask;
        let now = w.now;
        w.backlight_log.push((now, mask));
        w.bump();
        Ok(())
    }
}

impl lock_hal::Motor for MockMotor {
    fn drive(&mut self, direction: MotorDirection) -> Result<(), ErrorKind> {
        let mut w = self.0.borrow_mut();
        w.record_motor(MotorCall::Drive(direction));
        // A right-opening door (what the tests answer): forward unlocks.
        let target = match direction {
            MotorDirection::Forward => BoltPosition::Unlocked,
            MotorDirection::Reverse => BoltPosition::Locked,
        };
        if w.bolt != target {
            match w.body {
                Body::Working => {
                    w.bolt = BoltPosition::Between;
                    w.arrival = Some((w.now + TRAVEL, target));
                }
                Body::Stalls => {
                    w.bolt = BoltPosition::Between;
                    w.stall_at = Some(w.now + TRAVEL / 2);
                }
                Body::Silent => {}
            }
        }
        w.bump();
        Ok(())
    }
    fn brake(&mut self) -> Result<(), ErrorKind> {
        let mut w = self.0.borrow_mut();
        w.record_motor(MotorCall::Brake);
        w.arrival = None;
        w.stall_at = None;
        w.bump();
        Ok(())
    }
    fn coast(&mut self) -> Result<(), ErrorKind> {
        let mut w = self.0.borrow_mut();
        w.record_motor(MotorCall::Coast);
        w.arrival = None;
        w.stall_at = None;
        w.bump();
        Ok(())
    }
}

impl lock_hal::BoltSensor for MockBolt {
    fn position(&mut self) -> Result<BoltPosition, ErrorKind> {
        Ok(self.0.borrow().bolt)
    }
    async fn wait_for_change(&mut self, last: BoltPosition) -> Result<BoltPosition, ErrorKind> {
        Ok(until(&self.0, |w| (w.bolt != last).then_some(w.bolt)).await)
    }
}

impl lock_hal::StallSensor for MockStall {
    async fn wait_for_stall(&mut self) -> Result<(), ErrorKind> {
        until(&self.0, |w| std::mem::take(&mut w.stalled).then_some(())).await;
        Ok(())
    }
}

impl lock_hal::ContactSensor for MockDoor {
    fn is_open(&mut self) -> Result<bool, ErrorKind> {
        Ok(self.0.borrow().door_open)
    }
    async fn wait_for_change(&mut self, last_open: bool) -> Result<bool, ErrorKind> {
        Ok(until(&self.0, |w| {
            (w.door_open != last_open).then_some(w.door_open)
        })
        .await)
    }
}

impl lock_hal::TriggerSensor for MockTamper {
    async fn wait_for_trigger(&mut self) -> Result<(), ErrorKind> {
        until(&self.0, |w| {
            (w.tampers > 0).then(|| {
                w.tampers -= 1;
            })
        })
        .await;
        Ok(())
    }
}

impl lock_hal::TriggerSensor for MockCylinder {
    async fn wait_for_trigger(&mut self) -> Result<(), ErrorKind> {
        until(&self.0, |w| {
            (w.key_turns > 0).then(|| {
                w.key_turns -= 1;
            })
        })
        .await;
        Ok(())
    }
}

impl lock_hal::Button for MockSet {
    fn is_pressed(&mut self) -> Result<bool, ErrorKind> {
        Ok(self.0.borrow().set_held_at_power_up)
    }
    async fn wait_for_press(&mut self) -> Result<Press, ErrorKind> {
        Ok(until(&self.0, |w| w.set_presses.pop_front()).await)
    }
}

impl lock_hal::Button for MockLockButton {
    fn is_pressed(&mut self) -> Result<bool, ErrorKind> {
        Ok(false)
    }
    async fn wait_for_press(&mut self) -> Result<Press, ErrorKind> {
        Ok(until(&self.0, |w| w.lock_presses.pop_front()).await)
    }
}

impl lock_hal::Battery for MockBattery {
    async fn measure(&mut self) -> Result<u8, ErrorKind> {
        Ok(op(&self.0, |w| {
            w.measurements += 1;
            w.battery
        })
        .await)
    }
}

impl lock_hal::UsbPower for MockUsb {
    fn is_present(&mut self) -> Result<bool, ErrorKind> {
        Ok(self.0.borrow().usb)
    }
    async fn wait_for_change(&mut self, last: bool) -> Result<bool, ErrorKind> {
        Ok(until(&self.0, |w| (w.usb != last).then_some(w.usb)).await)
    }
}

impl lock_hal::Voice for MockVoice {
    async fn play(&mut self, clip: u16) -> Result<(), ErrorKind> {
        op(&self.0, |w| {
            let now = w.now;
            w.clips.push((now, clip));
            w.playing_until = now + w.clip_ms;
        })
        .await;
        Ok(())
    }
    async fn wait_until_done(&mut self) -> Result<(), ErrorKind> {
        until(&self.0, |w| (w.now >= w.playing_until).then_some(())).await;
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ErrorKind> {
        op(&self.0, |w| w.playing_until = w.now).await;
        Ok(())
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), ErrorKind> {
        op(&self.0, |w| w.volume = Some(level)).await;
        Ok(())
    }
}

impl lock_hal::Siren for MockSiren {
    fn set(&mut self, on: bool) -> Result<(), ErrorKind> {
        let mut w = self.0.borrow_mut();
        w.siren = on;
        let now = w.now;
        w.siren_log.push((now, on));
        w.bump();
        Ok(())
    }
}

/// The clock: [`Bench::wait`] moves it.
pub struct MockClock(Shared);

impl lock_hal::Clock for MockClock {
    fn now_ms(&self) -> u64 {
        self.0.borrow().now
    }
    async fn wait_until(&self, at_ms: u64) {
        poll_fn(|_| {
            let mut w = self.0.borrow_mut();
            if w.dead {
                return Poll::Pending;
            }
            if w.now >= at_ms {
                w.bump();
                Poll::Ready(())
            } else {
                w.wakeup = Some(w.wakeup.map_or(at_ms, |t| t.min(at_ms)));
                Poll::Pending
            }
        })
        .await
    }
}

/// A fingerprint, face or palm module. Samples are names: enrolling a name
/// takes two captures (the second after a lift); identifying a known name
/// matches its template.
pub struct MockModule(Shared, BiometricKind);

impl ErrorType for MockModule {
    type Error = ErrorKind;
}

impl MockModule {
    /// A module operation: takes the presented sample; a failing module
    /// stays silent for its whole timeout.
    async fn run<T>(
        &mut self,
        call: String,
        f: impl FnOnce(&mut Module, Option<String>) -> T,
    ) -> Result<T, ErrorKind> {
        let kind = self.1;
        let failing = op(&self.0, |w| {
            let m = w.module(kind);
            m.calls.push(call);
            if m.failing {
                // The finger is lifted while the module stays silent.
                m.presented = None;
            }
            m.failing
        })
        .await;
        if failing {
            // The module's own timeout passes before the driver gives up.
            op(&self.0, |w| w.now += MODULE_TIMEOUT).await;
            return Err(ErrorKind::Timeout);
        }
        Ok(op(&self.0, |w| {
            let m = w.module(kind);
            let sample = m.presented.take();
            f(m, sample)
        })
        .await)
    }
}

impl lock_hal::Biometric for MockModule {
    async fn identify(&mut self) -> Result<Identification, ErrorKind> {
        let found = self
            .run("identify".into(), |m, sample| match sample {
                None => (Identification::NoSample, 0),
                Some(name) => match m.templates.iter().find(|(n, _)| *n == name) {
                    Some((_, id)) => (Identification::Match(TemplateId(*id)), m.match_ms),
                    None => (Identification::NoMatch, m.search_ms),
                },
            })
            .await?;
        let (identification, searched) = found;
        if searched > 0 {
            // The module searches on; its lane waits for its answer.
            let kind = self.1;
            let end = op(&self.0, |w| {
                let end = w.now + searched;
                w.module(kind).searching_until = Some(end);
                end
            })
            .await;
            until(&self.0, |w| {
                (w.now >= end).then(|| w.module(kind).searching_until = None)
            })
            .await;
        }
        Ok(identification)
    }
    async fn begin_enroll(&mut self, template: TemplateId) -> Result<(), ErrorKind> {
        let kind = self.1;
        op(&self.0, |w| {
            let m = w.module(kind);
            m.calls.push(format!("begin_enroll {}", template.0));
            m.enrolling = Some((template.0, 0));
        })
        .await;
        Ok(())
    }
    async fn enroll_step(&mut self) -> Result<EnrollStatus, ErrorKind> {
        self.run("enroll_step".into(), |m, sample| {
            let Some((template, step)) = m.enrolling else {
                return EnrollStatus::Refused(EnrollRefusal::BadCapture);
            };
            let Some(name) = sample else {
                m.enrolling = None;
                return EnrollStatus::Refused(EnrollRefusal::Timeout);
            };
            if m.templates.iter().any(|(n, _)| *n == name) {
                m.enrolling = None;
                return EnrollStatus::Refused(EnrollRefusal::Duplicate);
            }
            if step == 0 {
                m.enrolling = Some((template, 1));
                EnrollStatus::Next(EnrollStep::Lift)
            } else {
                m.enrolling = None;
                m.templates.push((name, template));
                EnrollStatus::Enrolled(TemplateId(template))
            }
        })
        .await
    }
    async fn cancel_enroll(&mut self) -> Result<(), ErrorKind> {
        self.run("cancel_enroll".into(), |m, _| m.enrolling = None)
            .await
    }
    async fn delete(&mut self, template: TemplateId) -> Result<(), ErrorKind> {
        self.run(format!("delete {}", template.0), |m, _| {
            m.templates.retain(|(_, id)| *id != template.0)
        })
        .await
    }
    async fn clear(&mut self) -> Result<(), ErrorKind> {
        self.run("clear".into(), |m, _| m.templates.clear()).await
    }
}

/// What tells a module that a sample is presented (a finger's WAKEUP line).
pub struct MockSensor(Shared, BiometricKind);

impl ErrorType for MockSensor {
    type Error = ErrorKind;
}

impl lock_hal::SampleSensor for MockSensor {
    async fn wait_for_sample(&mut self) -> Result<(), ErrorKind> {
        let kind = self.1;
        until(&self.0, |w| {
            w.module(kind).presented.is_some().then_some(())
        })
        .await;
        Ok(())
    }
}

/// The app side: requests scripted in, notices and replies recorded.
pub struct MockApp(Shared, Option<AppEvent>);

impl ErrorType for MockApp {
    type Error = ErrorKind;
}

impl App for MockApp {
    type VisitorCodes = NoVisitorCodes;

    async fn start<S: StateStore>(
        &mut self,
        _store: &mut S,
    ) -> Result<AppIdentity<NoVisitorCodes>, ErrorKind> {
        Ok(AppIdentity {
            verification_code: None,
            visitor_codes: NoVisitorCodes,
            window_ends: heapless::Vec::new(),
        })
    }
    async fn factory_reset<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<NoVisitorCodes>, ErrorKind> {
        self.start(store).await
    }
    async fn wait(&mut self) -> Result<(), ErrorKind> {
        if self.1.is_none() {
            self.1 = Some(until(&self.0, |w| w.app_in.pop_front()).await);
        }
        Ok(())
    }
    async fn process<S: StateStore>(
        &mut self,
        _cx: &AppContext<'_>,
        _store: &mut S,
    ) -> Result<Option<AppEvent>, ErrorKind> {
        Ok(self.1.take())
    }
    async fn notify<S: StateStore>(
        &mut self,
        notice: &Notice,
        _store: &mut S,
    ) -> Result<(), ErrorKind> {
        op(&self.0, |w| w.notices.push(*notice)).await;
        Ok(())
    }
    async fn reply<S: StateStore>(
        &mut self,
        reply: &Reply,
        _store: &mut S,
    ) -> Result<(), ErrorKind> {
        op(&self.0, |w| w.replies.push(*reply)).await;
        Ok(())
    }
    async fn pairing(&mut self, open: bool) -> Result<(), ErrorKind> {
        op(&self.0, |w| w.pairing = open).await;
        Ok(())
    }
    /// The phone has always confirmed already: the pairing is stored.
    async fn confirm_pairing<S: StateStore>(
        &mut self,
        _now: lock_core::Instant,
        _store: &mut S,
    ) -> Result<Option<AppEvent>, ErrorKind> {
        op(&self.0, |w| w.pairing_confirmed += 1).await;
        Ok(Some(AppEvent::Changed(lock_core::AppChange::Paired {
            pairing: 1,
        })))
    }
}

/// The flash: lock-store's strict mock NOR flash with ESP32-C3 geometry,
/// shared so it outlives a runtime (what survives a power cut).
pub type Disk = Rc<RefCell<MockFlash<4, 4096>>>;

/// Where the store lives on the [`Disk`].
pub fn store_config() -> StoreConfig {
    let state = StoreConfig::min_state_bytes::<SharedFlash>().next_multiple_of(4096);
    StoreConfig {
        state: 0..state,
        log: state..state + 4 * 4096,
    }
}

fn new_disk() -> Disk {
    let c = store_config();
    Rc::new(RefCell::new(MockFlash::new(
        usize::try_from(c.log.end).unwrap() / 4096,
    )))
}

/// A handle on the shared [`Disk`]: the mock's operations finish at once,
/// so each runs to completion inside one borrow.
pub struct SharedFlash(Disk);

impl nor_flash::ErrorType for SharedFlash {
    type Error = MockFlashError;
}

impl nor_flash::ReadNorFlash for SharedFlash {
    const READ_SIZE: usize = 1;
    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), MockFlashError> {
        embassy_futures::block_on(self.0.borrow_mut().read(offset, bytes))
    }
    fn capacity(&self) -> usize {
        self.0.borrow().capacity()
    }
}

impl nor_flash::NorFlash for SharedFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;
    async fn erase(&mut self, from: u32, to: u32) -> Result<(), MockFlashError> {
        embassy_futures::block_on(self.0.borrow_mut().erase(from, to))
    }
    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), MockFlashError> {
        embassy_futures::block_on(self.0.borrow_mut().write(offset, bytes))
    }
}

/// Why a test store operation failed.
#[derive(Debug)]
pub enum TestStoreError {
    /// The bench made it fail ([`World::store_fails`]).
    Injected,
    /// The real store failed.
    Store(lock_store::StoreError<MockFlashError>),
}

impl lock_runtime::StoreError for TestStoreError {
    fn kind(&self) -> StoreErrorKind {
        match self {
            TestStoreError::Injected => StoreErrorKind::Flash,
            TestStoreError::Store(e) => e.kind(),
        }
    }
}

/// Which change a scheduled power cut follows.
pub type ChangeFilter = fn(&Change) -> bool;

/// The real lock-store on the shared flash, with the world's power cuts and
/// injected write failures around it, and a journal of the log records it
/// took (so tests need not page through the flash log).
pub struct TestStore {
    world: Shared,
    inner: lock_store::Store<SharedFlash>,
    journal: Rc<RefCell<Vec<LogRecord>>>,
}

impl StateStore for TestStore {
    type Error = TestStoreError;

    async fn load(&mut self) -> Result<Snapshot, TestStoreError> {
        op(&self.world, |_| ()).await;
        StateStore::load(&mut self.inner)
            .await
            .map_err(TestStoreError::Store)
    }

    async fn apply(&mut self, change: &Change) -> Result<(), TestStoreError> {
        if op(&self.world, |w| w.store_fails).await {
            return Err(TestStoreError::Injected);
        }
        StateStore::apply(&mut self.inner, change)
            .await
            .map_err(TestStoreError::Store)?;
        op(&self.world, |w| {
            if let Some((filter, n)) = w.cut_after.as_mut()
                && filter(change)
            {
                *n -= 1;
                if *n == 0 {
                    // Power goes right after the write completed.
                    w.dead = true;
                    w.cut_after = None;
                }
            }
        })
        .await;
        Ok(())
    }

    async fn read_log(&mut self, before: Option<u32>) -> Result<LogPage, TestStoreError> {
        StateStore::read_log(&mut self.inner, before)
            .await
            .map_err(TestStoreError::Store)
    }

    async fn read_app_record(
        &mut self,
        slot: u8,
        buf: &mut [u8],
    ) -> Result<Option<usize>, TestStoreError> {
        StateStore::read_app_record(&mut self.inner, slot, buf)
            .await
            .map_err(TestStoreError::Store)
    }

    async fn read_app_records(
        &mut self,
        f: &mut dyn FnMut(u8, Option<&[u8]>),
    ) -> Result<(), TestStoreError> {
        StateStore::read_app_records(&mut self.inner, f)
            .await
            .map_err(TestStoreError::Store)
    }

    async fn write_app_record(
        &mut self,
        slot: u8,
        record: Option<&[u8]>,
    ) -> Result<(), TestStoreError> {
        if op(&self.world, |w| w.store_fails).await {
            return Err(TestStoreError::Injected);
        }
        StateStore::write_app_record(&mut self.inner, slot, record)
            .await
            .map_err(TestStoreError::Store)
    }

    async fn append_log(&mut self, record: &LogRecord) -> Result<(), TestStoreError> {
        if op(&self.world, |w| w.store_fails).await {
            return Err(TestStoreError::Injected);
        }
        StateStore::append_log(&mut self.inner, record)
            .await
            .map_err(TestStoreError::Store)?;
        self.journal.borrow_mut().push(*record);
        Ok(())
    }

    fn owed_module_command(&self, n: usize) -> Option<ModuleCommand> {
        let real = (0..)
            .take_while(|i| self.inner.owed_module_command(*i).is_some())
            .count();
        match self.inner.owed_module_command(n) {
            Some(command) => Some(command),
            None => self.world.borrow().owed_extra.get(n - real).copied(),
        }
    }

    async fn module_work_done(&mut self) -> Result<(), TestStoreError> {
        op(&self.world, |w| {
            w.owed_extra.clear();
            w.module_work_done += 1;
        })
        .await;
        StateStore::module_work_done(&mut self.inner)
            .await
            .map_err(TestStoreError::Store)
    }
}

pub struct TestBoard;

impl Board for TestBoard {
    type Keypad = MockKeypad;
    type Backlight = MockBacklight;
    type Face = MockModule;
    type Palm = MockModule;
    type Finger = MockModule;
    type FaceSensor = MockSensor;
    type PalmSensor = MockSensor;
    type FingerSensor = MockSensor;
    type Motor = MockMotor;
    type BoltSensor = MockBolt;
    type StallSensor = MockStall;
    type DoorSensor = MockDoor;
    type Tamper = MockTamper;
    type KeyCylinder = MockCylinder;
    type SetButton = MockSet;
    type LockButton = MockLockButton;
    type Battery = MockBattery;
    type UsbPower = MockUsb;
    type Voice = MockVoice;
    type Siren = MockSiren;
    type Clock = MockClock;
}

fn hardware(w: &Shared) -> Hardware<TestBoard> {
    Hardware {
        keypad: MockKeypad(w.clone()),
        backlight: MockBacklight(w.clone()),
        face: MockModule(w.clone(), BiometricKind::Face),
        palm: MockModule(w.clone(), BiometricKind::Palm),
        finger: MockModule(w.clone(), BiometricKind::Finger),
        face_sensor: MockSensor(w.clone(), BiometricKind::Face),
        palm_sensor: MockSensor(w.clone(), BiometricKind::Palm),
        finger_sensor: MockSensor(w.clone(), BiometricKind::Finger),
        motor: MockMotor(w.clone()),
        bolt: MockBolt(w.clone()),
        stall: MockStall(w.clone()),
        door: MockDoor(w.clone()),
        tamper: MockTamper(w.clone()),
        key_cylinder: MockCylinder(w.clone()),
        set_button: MockSet(w.clone()),
        lock_button: MockLockButton(w.clone()),
        battery: MockBattery(w.clone()),
        usb_power: MockUsb(w.clone()),
        voice: MockVoice(w.clone()),
        siren: MockSiren(w.clone()),
        clock: MockClock(w.clone()),
    }
}

/// The lock on the bench.
pub struct Bench {
    pub world: Shared,
    pub disk: Disk,
    /// Every log record the store took, across power cycles.
    pub journal: Rc<RefCell<Vec<LogRecord>>>,
    runtime: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// Where the current step's observations start.
    clips_mark: usize,
    log_mark: usize,
}

impl Bench {
    /// A factory-fresh lock, booted.
    pub fn new() -> Bench {
        let mut b = Bench {
            world: Rc::new(RefCell::new(World::new())),
            disk: new_disk(),
            journal: Rc::new(RefCell::new(Vec::new())),
            runtime: None,
            clips_mark: 0,
            log_mark: 0,
        };
        b.boot();
        b
    }

    /// A lock through first start: right-opening door, administrator 001
    /// with [`ADMIN_CODE`], the menu left.
    pub fn installed() -> Bench {
        let mut b = Bench::new();
        b.keys("ok 1");
        b.keys(&format!("ok {ADMIN_CODE} ok {ADMIN_CODE} ok"));
        b.keys("back");
        b.wait(secs(25));
        b
    }

    /// Power comes up: a new runtime on the same store.
    pub fn boot(&mut self) {
        self.mark();
        let world = self.world.clone();
        let store = TestStore {
            world: world.clone(),
            inner: lock_store::Store::new(SharedFlash(self.disk.clone()), store_config()).unwrap(),
            journal: self.journal.clone(),
        };
        let hw = hardware(&world);
        let app = MockApp(world, None);
        self.runtime = Some(Box::pin(async move {
            let mut runtime = Runtime::new(hw, store, app, config());
            runtime.run().await;
        }));
        self.settle();
    }

    /// Power goes: the runtime stops wherever it is; the motor and siren
    /// lose power, the store keeps what it wrote.
    pub fn power_cut(&mut self) {
        self.runtime = None;
        let mut w = self.world.borrow_mut();
        w.dead = false;
        w.cut_after = None;
        w.arrival = None;
        w.stall_at = None;
        w.siren = false;
        w.backlight = 0;
        w.keys.clear();
        w.playing_until = w.now;
    }

    /// Power goes and comes back.
    pub fn power_cycle(&mut self) {
        self.power_cut();
        self.boot();
    }

    /// Power will go right after the `n`th `Attempts` change from now is
    /// written, before anything after it runs.
    pub fn cut_power_after_attempts_written(&mut self, n: u32) {
        self.cut_power_after_written(|c| matches!(c, Change::Attempts(_)), n);
    }

    /// Power will go right after the `n`th change matching `filter` from now
    /// is written.
    pub fn cut_power_after_written(&mut self, filter: ChangeFilter, n: u32) {
        self.world.borrow_mut().cut_after = Some((filter, n));
    }

    /// Whether power went (the runtime is stopped).
    pub fn is_dead(&self) -> bool {
        self.world.borrow().dead
    }

    fn mark(&mut self) {
        self.clips_mark = self.world.borrow().clips.len();
        self.log_mark = self.journal.borrow().len();
    }

    /// Polls the runtime until a poll in which no mock answered.
    pub fn settle(&mut self) {
        let Some(runtime) = self.runtime.as_mut() else {
            return;
        };
        // A future that yields (the store between sector erases) wakes
        // itself: it is polled again, as an executor would.
        let woken = Arc::new(Woken(AtomicBool::new(false)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..100_000 {
            let before = {
                let mut w = self.world.borrow_mut();
                w.wakeup = None;
                w.answers_this_poll = 0;
                w.progress
            };
            woken.0.store(false, Ordering::Relaxed);
            if runtime.as_mut().poll(&mut cx).is_ready() {
                panic!("the runtime returned");
            }
            if self.world.borrow().progress == before && !woken.0.load(Ordering::Relaxed) {
                return;
            }
        }
        panic!("the runtime never settles");
    }

    /// Lets `d` pass, the runtime handling everything that comes due.
    pub fn wait(&mut self, d: Duration) {
        let target = self.world.borrow().now + d.millis();
        for _ in 0..100_000 {
            self.settle();
            let next = {
                let w = self.world.borrow();
                [w.wakeup, w.next_change()].into_iter().flatten().min()
            };
            match next {
                Some(t) if t <= target => self.world.borrow_mut().advance_to(t),
                _ => {
                    self.world.borrow_mut().advance_to(target);
                    self.settle();
                    return;
                }
            }
        }
        panic!("time does not move");
    }

    /// Presses keys at a person's pace: `"482915 ok"`; names `0`–`9` (a run
    /// may be written together), `ok`, `back`, `home`, `bell`.
    pub fn keys(&mut self, text: &str) {
        self.mark();
        for word in text.split_whitespace() {
            let keys: Vec<Key> = match word {
                "ok" => vec![Key::Ok],
                "back" => vec![Key::Back],
                "home" => vec![Key::Home],
                "bell" => vec![Key::Bell],
                digits => digits
                    .chars()
                    .map(|c| Key::Digit(u8::try_from(c.to_digit(10).unwrap()).unwrap()))
                    .collect(),
            };
            for key in keys {
                {
                    let mut w = self.world.borrow_mut();
                    let now = w.now;
                    w.keys_pressed.push(now);
                    w.keys.push_back(KeyEvent::Press(key));
                }
                self.wait(millis(PACE));
                self.release_presses();
            }
        }
    }

    /// A short press of the inside lock button.
    pub fn press_lock_button(&mut self) {
        self.mark();
        self.world.borrow_mut().lock_presses.push_back(Press::Short);
        self.wait(millis(PACE));
        self.release_presses();
    }

    /// The end of a press: with [`World::presses_fleeting`], what the
    /// runtime did not read is gone.
    fn release_presses(&mut self) {
        let mut w = self.world.borrow_mut();
        if w.presses_fleeting {
            w.keys.clear();
            w.lock_presses.clear();
            w.set_presses.clear();
        }
    }

    /// A touch on the keypad.
    pub fn touch(&mut self) {
        self.mark();
        {
            let mut w = self.world.borrow_mut();
            let now = w.now;
            w.keys_pressed.push(now);
            w.keys.push_back(KeyEvent::Touch);
        }
        self.wait(millis(PACE));
        self.release_presses();
    }

    /// `name`'s finger on the fingerprint sensor.
    pub fn finger(&mut self, name: &str) {
        self.present(BiometricKind::Finger, name);
    }

    /// A sample presented to a module.
    pub fn present(&mut self, kind: BiometricKind, name: &str) {
        self.mark();
        self.world.borrow_mut().module(kind).presented = Some(name.into());
        self.wait(millis(PACE));
    }

    /// Whether the clips of `prompt` were played, in a row, in this step.
    pub fn heard(&self, prompt: Prompt) -> bool {
        let want = lock_runtime::prompt::clips(&prompt);
        let w = self.world.borrow();
        let played: Vec<u16> = w.clips[self.clips_mark..].iter().map(|(_, c)| *c).collect();
        played.windows(want.len()).any(|win| win == want.as_slice())
    }

    /// Every clip played in this step.
    pub fn clips(&self) -> Vec<u16> {
        self.world.borrow().clips[self.clips_mark..]
            .iter()
            .map(|(_, c)| *c)
            .collect()
    }

    /// Log entries written in this step.
    pub fn logged(&self) -> Vec<LogEntry> {
        self.journal.borrow()[self.log_mark..]
            .iter()
            .map(|r| r.entry)
            .collect()
    }

    /// What the store holds now: a second store loads a copy of the flash,
    /// as the next boot would.
    pub fn stored(&self) -> Snapshot {
        let copy = Rc::new(RefCell::new(self.disk.borrow().clone()));
        let mut store = lock_store::Store::new(SharedFlash(copy), store_config()).unwrap();
        embassy_futures::block_on(store.load()).unwrap().snapshot
    }

    /// Whether any log record the store took is `entry`.
    pub fn ever_logged(&self, entry: LogEntry) -> bool {
        self.journal.borrow().iter().any(|r| r.entry == entry)
    }

    pub fn bolt(&self) -> BoltPosition {
        self.world.borrow().bolt
    }

    pub fn motor_calls(&self) -> Vec<MotorCall> {
        self.world.borrow().motor.clone()
    }

    pub fn clear_motor_calls(&self) {
        let mut w = self.world.borrow_mut();
        w.motor.clear();
        w.motor_times.clear();
    }

    pub fn request(&mut self, request: AppRequest) {
        self.mark();
        self.world
            .borrow_mut()
            .app_in
            .push_back(AppEvent::Request(request));
        self.wait(millis(PACE));
    }

    /// Describes what happened in this step, for failure messages.
    pub fn describe(&self) -> String {
        let w = self.world.borrow();
        format!(
            "t={} clips={:?} motor={:?} bolt={:?} backlight={:#06x} log={:?}",
            w.now,
            &w.clips[self.clips_mark.min(w.clips.len())..],
            w.motor,
            w.bolt,
            w.backlight,
            self.logged()
        )
    }
}

/// A waker that remembers being woken.
struct Woken(AtomicBool);

impl std::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}
