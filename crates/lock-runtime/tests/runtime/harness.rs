//! A test bench for the runtime: lock-sim's simulated board (every lock-hal
//! part looking at one scripted [`World`], its clock and its mock flash),
//! with what only these tests need beside it: a store with power-cut
//! filters and injected failures ([`TestStore`]), a scripted app
//! ([`MockApp`]), and a small test language (`b.keys("482915 ok")`,
//! `b.finger("alice")`, `b.wait(secs(5))`, `b.power_cut()`).
//!
//! How it runs, deterministically:
//! - The runtime is one future (`Runtime::run`), polled by hand with a no-op
//!   waker. A step of the test changes the world (a key pressed, a finger on
//!   the sensor), then polls until the runtime is *idle*: a poll in which no
//!   part answered anything.
//! - Time moves only when the runtime waits on the clock and nothing else can
//!   happen: [`Bench::wait`] jumps to the earliest of the runtime's clock wait
//!   and the world's own scheduled changes (the bolt reaching its end, a clip
//!   ending), settles, and goes on until the wait is over.
//! - A power cut ([`Bench::power_cut`]) drops the runtime future wherever it
//!   is; [`Bench::cut_power_after_attempts_written`] arranges one right after
//!   a store write completes. The store's contents survive; [`Bench::boot`]
//!   starts a new runtime on them.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Waker};

use lock_core::BiometricKind;
use lock_core::{
    AppRequest, Change, Config, Duration, LogEntry, LogRecord, ModuleCommand, NoVisitorCodes,
    Notice, Prompt, Reply, Snapshot,
};
use lock_hal::{BoltPosition, ErrorKind, ErrorType, Key, KeyEvent, Layout, Press};
use lock_runtime::{
    App, AppContext, AppEvent, AppIdentity, Board, Hardware, LogPage, Runtime, StateStore,
    StoreErrorKind, Wakes,
};
pub use lock_sim::world::{Body, MotorCall};
use lock_sim::world::{Shared, SimBoard, SimFlash, SimKeypad, World, act, hardware, until};
use lock_store::StoreConfig;
use lock_store::mock_flash::MockFlashError;

pub const ADMIN_CODE: &str = "482915";
/// How long the simulated lock body takes from one end to the other.
pub const TRAVEL: u64 = lock_sim::world::TRAVEL_MS;
/// How long every voice clip plays, unless a test says otherwise.
pub const CLIP: u64 = 100;
/// How long a person takes per key or per presentation.
pub const PACE: u64 = 500;
/// Captures the test modules take per enrolment (the second after a lift).
pub const CAPTURES: u8 = 2;

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
        ..Config::default()
    }
}

/// The lock's configuration for the body the world has: its switches, and
/// the default travel limit.
fn config_for(world: &World) -> Config {
    Config {
        bolt: lock_core::BoltBody {
            switches: world.switches,
            ..lock_core::BoltBody::default()
        },
        ..config()
    }
}

/// The world these tests start from: lock-sim's, with clips that take
/// [`CLIP`], modules that take [`CAPTURES`] and answer at once unless a test
/// gives them a search time, and a battery at 80 %.
fn test_world() -> World {
    let mut w = World::new();
    w.clip_ms = Some(CLIP);
    w.battery = 80;
    for m in &mut w.modules {
        m.captures = CAPTURES;
        m.window_ms = 0;
        m.search_ms = 0;
        m.match_ms = 0;
        m.capture_ms = 0;
    }
    w
}

/// What the bench scripts and records outside the simulated board: the
/// app's side, and the store's injected failures and power cuts.
#[derive(Default)]
pub struct Desk {
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

    pub app_in: std::collections::VecDeque<AppEvent>,
    pub notices: Vec<Notice>,
    pub replies: Vec<Reply>,
    pub pairing: bool,
    /// Times a person confirmed a pairing code at the lock (S-PR-1).
    pub pairing_confirmed: u32,
}

/// The app side: requests scripted in, notices and replies recorded.
pub struct MockApp(Shared, Rc<RefCell<Desk>>, Option<AppEvent>);

impl ErrorType for MockApp {
    type Error = ErrorKind;
}

impl App for MockApp {
    type VisitorCodes = NoVisitorCodes;

    fn listen(&mut self, on: bool) {
        self.0.borrow_mut().set_radio_listening(on);
    }

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
        if self.2.is_none() {
            let desk = &self.1;
            self.2 = Some(until(&self.0, |_| desk.borrow_mut().app_in.pop_front()).await);
        }
        Ok(())
    }
    async fn process<S: StateStore>(
        &mut self,
        _cx: &AppContext<'_>,
        _store: &mut S,
    ) -> Result<Option<AppEvent>, ErrorKind> {
        Ok(self.2.take())
    }
    async fn notify<S: StateStore>(
        &mut self,
        notice: &Notice,
        _store: &mut S,
    ) -> Result<(), ErrorKind> {
        act(&self.0, |_| self.1.borrow_mut().notices.push(*notice)).await;
        Ok(())
    }
    async fn reply<S: StateStore>(
        &mut self,
        reply: &Reply,
        _store: &mut S,
    ) -> Result<(), ErrorKind> {
        act(&self.0, |_| self.1.borrow_mut().replies.push(*reply)).await;
        Ok(())
    }
    async fn pairing(&mut self, open: bool) -> Result<(), ErrorKind> {
        act(&self.0, |_| self.1.borrow_mut().pairing = open).await;
        Ok(())
    }
    /// The phone has always confirmed already: the pairing is stored.
    async fn confirm_pairing<S: StateStore>(
        &mut self,
        _now: lock_core::Instant,
        _store: &mut S,
    ) -> Result<Option<AppEvent>, ErrorKind> {
        act(&self.0, |_| self.1.borrow_mut().pairing_confirmed += 1).await;
        Ok(Some(AppEvent::Changed(lock_core::AppChange::Paired {
            pairing: 1,
        })))
    }
}

/// The flash: lock-sim's, lock-store's strict mock NOR flash with ESP32-C3
/// geometry, shared so it outlives a runtime (what survives a power cut).
pub type Disk = SimFlash;

/// Where the store lives on the [`Disk`].
pub fn store_config() -> StoreConfig {
    let state = StoreConfig::min_state_bytes::<Disk>().next_multiple_of(4096);
    StoreConfig::state_then_log(state, 4 * 4096)
}

fn new_disk() -> Disk {
    let c = store_config();
    Disk::new(usize::try_from(c.log.end).unwrap() / 4096)
}

/// Why a test store operation failed.
#[derive(Debug)]
pub enum TestStoreError {
    /// The bench made it fail ([`Desk::store_fails`]).
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

/// The real lock-store on the shared flash, with the desk's power cuts and
/// injected write failures around it, and a journal of the log records it
/// took (so tests need not page through the flash log).
pub struct TestStore {
    world: Shared,
    desk: Rc<RefCell<Desk>>,
    inner: lock_store::Store<Disk>,
    journal: Rc<RefCell<Vec<LogRecord>>>,
}

impl StateStore for TestStore {
    type Error = TestStoreError;

    async fn load(&mut self) -> Result<Snapshot, TestStoreError> {
        act(&self.world, |_| ()).await;
        StateStore::load(&mut self.inner)
            .await
            .map_err(TestStoreError::Store)
    }

    async fn apply(&mut self, change: &Change) -> Result<(), TestStoreError> {
        if act(&self.world, |_| self.desk.borrow().store_fails).await {
            return Err(TestStoreError::Injected);
        }
        StateStore::apply(&mut self.inner, change)
            .await
            .map_err(TestStoreError::Store)?;
        act(&self.world, |w| {
            let mut desk = self.desk.borrow_mut();
            if let Some((filter, n)) = desk.cut_after.as_mut()
                && filter(change)
            {
                *n -= 1;
                if *n == 0 {
                    // Power goes right after the write completed.
                    w.dead = true;
                    desk.cut_after = None;
                }
            }
        })
        .await;
        Ok(())
    }

    async fn log_page(&mut self, before: Option<u32>) -> Result<LogPage, TestStoreError> {
        StateStore::log_page(&mut self.inner, before)
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
        if act(&self.world, |_| self.desk.borrow().store_fails).await {
            return Err(TestStoreError::Injected);
        }
        StateStore::write_app_record(&mut self.inner, slot, record)
            .await
            .map_err(TestStoreError::Store)
    }

    async fn append_log(&mut self, record: &LogRecord) -> Result<(), TestStoreError> {
        if act(&self.world, |_| self.desk.borrow().store_fails).await {
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
            None => self.desk.borrow().owed_extra.get(n - real).copied(),
        }
    }

    async fn module_work_done(&mut self) -> Result<(), TestStoreError> {
        act(&self.world, |_| {
            let mut desk = self.desk.borrow_mut();
            desk.owed_extra.clear();
            desk.module_work_done += 1;
        })
        .await;
        StateStore::module_work_done(&mut self.inner)
            .await
            .map_err(TestStoreError::Store)
    }
}

/// The lock on the bench.
pub struct Bench {
    pub world: Shared,
    pub desk: Rc<RefCell<Desk>>,
    pub disk: Disk,
    /// Every log record the store took, across power cycles.
    pub journal: Rc<RefCell<Vec<LogRecord>>>,
    /// The runtime's clock wake-ups since its boot, by cause (R-NRG-1).
    pub wakes: Rc<RefCell<Wakes>>,
    runtime: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// The board has a 4×3 printed keypad ([`PrintedBoard`]) instead of the
    /// touch keypad.
    pub printed: bool,
    /// Where the current step's observations start.
    clips_mark: usize,
    log_mark: usize,
}

impl Bench {
    /// A factory-fresh lock, booted.
    pub fn new() -> Bench {
        let mut b = Bench {
            world: Rc::new(RefCell::new(test_world())),
            desk: Rc::new(RefCell::new(Desk::default())),
            disk: new_disk(),
            journal: Rc::new(RefCell::new(Vec::new())),
            wakes: Rc::new(RefCell::new(Wakes::default())),
            runtime: None,
            printed: false,
            clips_mark: 0,
            log_mark: 0,
        };
        b.boot();
        b
    }

    /// A lock through first start: right-opening door, administrator 001
    /// with [`ADMIN_CODE`], the menu left.
    pub fn installed() -> Bench {
        Bench::installed_with(|_| {})
    }

    /// [`Bench::installed`] on a world `setup` changed first (another lock
    /// body, say): the lock is configured for it.
    pub fn installed_with(setup: impl FnOnce(&mut World)) -> Bench {
        let mut b = Bench::new();
        setup(&mut b.world.borrow_mut());
        b.power_cycle();
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
            desk: self.desk.clone(),
            inner: lock_store::Store::new(self.disk.clone(), store_config()).unwrap(),
            journal: self.journal.clone(),
        };
        let hw = hardware(&world);
        let config = config_for(&world.borrow());
        let app = MockApp(world, self.desk.clone(), None);
        let wakes = self.wakes.clone();
        self.runtime = Some(if self.printed {
            Box::pin(async move {
                let mut runtime = Runtime::new(printed(hw), store, app, config);
                runtime
                    .run_with(|view| wakes.borrow_mut().clone_from(view.wakes()))
                    .await;
            })
        } else {
            Box::pin(async move {
                let mut runtime = Runtime::new(hw, store, app, config);
                runtime
                    .run_with(|view| wakes.borrow_mut().clone_from(view.wakes()))
                    .await;
            })
        });
        self.settle();
    }

    /// Power goes: the runtime stops wherever it is; the motor and siren
    /// lose power, the store keeps what it wrote.
    pub fn power_cut(&mut self) {
        self.runtime = None;
        self.desk.borrow_mut().cut_after = None;
        let mut w = self.world.borrow_mut();
        w.dead = false;
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
        self.desk.borrow_mut().cut_after = Some((filter, n));
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
                w.progress
            };
            woken.0.store(false, Ordering::Relaxed);
            if runtime.as_mut().poll(&mut cx).is_ready() {
                panic!("the runtime returned");
            }
            let progress = self.world.borrow().progress;
            // A runtime that answers without end inside one poll (a timer
            // that is always due, say) fails the test.
            assert!(
                progress.wrapping_sub(before) < 100_000,
                "the runtime spins inside one poll"
            );
            if progress == before && !woken.0.load(Ordering::Relaxed) {
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

    /// A key held for the keypad's hold time.
    pub fn hold(&mut self, key: Key) {
        self.mark();
        self.world.borrow_mut().keys.push_back(KeyEvent::Hold(key));
        self.wait(millis(PACE));
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
        self.world.borrow_mut().release_presses();
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
        self.world.borrow_mut().module_mut(kind).presented = Some(name.into());
        self.wait(millis(PACE));
    }

    /// Whether the clips of `prompt` were played, in a row, in this step.
    pub fn heard(&self, prompt: Prompt) -> bool {
        let want = lock_sim::world::prompt_clips(&prompt);
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
        let mut store = lock_store::Store::new(self.disk.copy(), store_config()).unwrap();
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
        self.desk
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

/// lock-sim's keypad as a 4×3 printed one ([`Layout::MATRIX_12`]: keys count
/// in the dark, holding ↩ is SET, holding ✓ leaving-home, no bell).
pub struct PrintedKeys(SimKeypad);

impl ErrorType for PrintedKeys {
    type Error = ErrorKind;
}

impl lock_hal::Keypad for PrintedKeys {
    const LAYOUT: Layout = Layout::MATRIX_12;
    async fn wait_for_event(&mut self) -> Result<KeyEvent, ErrorKind> {
        self.0.wait_for_event().await
    }
}

/// lock-sim's board with [`PrintedKeys`].
pub struct PrintedBoard;

impl Board for PrintedBoard {
    type Keypad = PrintedKeys;
    type Backlight = <SimBoard as Board>::Backlight;
    type Face = <SimBoard as Board>::Face;
    type Palm = <SimBoard as Board>::Palm;
    type Finger = <SimBoard as Board>::Finger;
    type FaceSensor = <SimBoard as Board>::FaceSensor;
    type PalmSensor = <SimBoard as Board>::PalmSensor;
    type FingerSensor = <SimBoard as Board>::FingerSensor;
    type Motor = <SimBoard as Board>::Motor;
    type BoltSensor = <SimBoard as Board>::BoltSensor;
    type StallSensor = <SimBoard as Board>::StallSensor;
    type DoorSensor = <SimBoard as Board>::DoorSensor;
    type Tamper = <SimBoard as Board>::Tamper;
    type KeyCylinder = <SimBoard as Board>::KeyCylinder;
    type SetButton = <SimBoard as Board>::SetButton;
    type LockButton = <SimBoard as Board>::LockButton;
    type Battery = <SimBoard as Board>::Battery;
    type UsbPower = <SimBoard as Board>::UsbPower;
    type Sound = <SimBoard as Board>::Sound;
    type Siren = <SimBoard as Board>::Siren;
    type Clock = <SimBoard as Board>::Clock;
}

fn printed(hw: Hardware<SimBoard>) -> Hardware<PrintedBoard> {
    Hardware {
        keypad: PrintedKeys(hw.keypad),
        backlight: hw.backlight,
        face: hw.face,
        palm: hw.palm,
        finger: hw.finger,
        face_sensor: hw.face_sensor,
        palm_sensor: hw.palm_sensor,
        finger_sensor: hw.finger_sensor,
        motor: hw.motor,
        bolt: hw.bolt,
        stall: hw.stall,
        door: hw.door,
        tamper: hw.tamper,
        key_cylinder: hw.key_cylinder,
        set_button: hw.set_button,
        lock_button: hw.lock_button,
        battery: hw.battery,
        usb_power: hw.usb_power,
        sound: hw.sound,
        siren: hw.siren,
        clock: hw.clock,
    }
}
