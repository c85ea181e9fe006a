//! [`Sim`]: the real `lock-runtime` (with `lock-core` and `lock-store`) on
//! the simulated [`World`], stepped by scenario steps.
//!
//! The runtime is one future, polled by hand with a no-op waker. A step
//! changes the world, then the runner polls until a poll in which no part
//! answered anything (the runtime waits on its inputs and the clock). Time
//! moves only in [`Sim::wait`]: it jumps to the earliest of the runtime's
//! clock wait and the world's own next change (the bolt arriving, a stall),
//! settles, and goes on until the wait is over.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use core::{cell::RefCell, fmt};

use lock_core::{
    AppCommand, BiometricKind, Config, DoorDirection, Duration, Key, Lock, PersonNumber, Prompt,
    Refusal, Reply, VisitorCodes,
};
use lock_drivers::prompts::{FAILURE, POINT};
use lock_hal::{BoltPosition, KeyEvent, Press};
use lock_proto::{
    FromLock, Phone, PhonePairing, Request, Response, UPDATE_CHUNK, UpdateState, UpdateStep,
    VisitorCodeBook, VisitorCodeSpec,
};
use lock_runtime::{ProtoApp, Runtime, SlotUpdater, Updater};
use lock_update::EmbassyBoot;

use crate::firmware::{Firmware, Partition, Running};

use crate::scenario::{AppAction, AppStep, Expectation, Line, Reader, Step};
use crate::world::{
    Shared, SimEntropy, SimFlash, SimRadio, SimStore, View, World, flash_layout, hardware,
    prompt_clips, splitmix_fill,
};

/// Pairings and keys the lock's app side holds.
fn pairings<U: Updater>(app: &ProtoApp<SimRadio, SimEntropy, U>) -> usize {
    app.protocol().map_or(0, |p| p.pairings().count())
}

/// The simulated lock's end of a firmware update: lock-update's receiver
/// over its program flash. A broken image never confirms itself: it fails
/// its self-check (`firmware::image("broken")`).
struct SimUpdater<'a> {
    slots: SlotUpdater<Partition, EmbassyBoot<'a, Partition>>,
    broken: bool,
}

impl Updater for SimUpdater<'_> {
    async fn step(&mut self, step: &UpdateStep) -> UpdateState {
        self.slots.step(step).await
    }

    async fn booted(&mut self) {
        if !self.broken {
            self.slots.booted().await;
        }
    }
}

/// How long a key press (and any other action of a person) takes.
pub const PACE_MS: u64 = 200;

/// How many more paces a presented sample may wait for a running motor to
/// stop: past the runtime's travel limit (6 s).
const MOTOR_PACES: u32 = 40;

/// How many more paces a person holds a presented sample for the module to
/// answer: 5 s, past a finger's search (0.5 s), a known face (1 s) and any
/// enrolment capture (a palm's, 3 s). An unknown face keeps the module
/// searching to its 10 s timeout: the person has turned away by then, and
/// the scenario goes on while it searches (R-RSP-1, R-RSP-2).
const ANSWER_PACES: u32 = 25;

/// How many paces a person listens for the lock to finish speaking: past
/// the longest prompt (the serial number, about 8 s).
const LISTEN_PACES: u32 = 60;

/// The lock's identity in the simulator.
pub fn config() -> Config {
    Config {
        serial: 2026_0001,
        firmware: (0, 1, 0),
        verification_code: 482_071,
        ..Config::default()
    }
}

/// Something went wrong in the simulator itself (not an expectation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError(pub String);

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for SimError {}

type RuntimeFuture = Pin<Box<dyn Future<Output = ()>>>;

/// A simulated lock: the world, its flash and the running runtime.
pub struct Sim {
    /// The simulated hardware.
    pub world: Shared,
    /// The simulated flash (survives power cycles).
    pub flash: SimFlash,
    runtime: Option<RuntimeFuture>,
    /// Where the current step's clips start.
    clips_mark: usize,
    /// Where the current step's log records start.
    log_mark: usize,
    /// The log records of the most recent step that wrote any.
    last_logged: core::ops::Range<usize>,
    /// The phones of the scenario, by name: they outlive power cycles.
    phones: BTreeMap<String, SimPhone>,
    /// The phones' entropy (deterministic, like the lock's).
    phone_entropy: PhoneEntropy,
    /// The lock's configuration ([`config`]; the energy report changes
    /// how its radio listens).
    pub config: Config,
    /// What the lock answered each `app` step, named ([`response_name`]).
    replies: Vec<String>,
    /// Replies before the most recent `app` step.
    replies_mark: usize,
    /// The lock's program flash: its image slots and boot loader.
    firmware: Firmware,
    /// The image that runs since the last boot.
    running: Option<Running>,
    /// The Matter device beside the lock (`lock-sim matter`): the runtime's
    /// app side is then lock-matter's `MatterApp` over this bridge.
    #[cfg(feature = "matter")]
    matter: Option<&'static MatterBridge>,
}

/// The bridge between the simulated lock and its Matter device, shared by
/// the lock's thread and Matter's.
#[cfg(feature = "matter")]
pub type MatterBridge =
    lock_matter::Bridge<embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex>;

/// A phone of a scenario.
#[derive(Default)]
struct SimPhone {
    /// Its pairing or issued key, once it has one.
    phone: Option<Phone>,
    /// The last frame it sent, for `app replay`.
    last_sent: Option<Vec<u8>>,
    /// The lock's visitor-code secret, once an administrator's phone asked.
    visitor_codes: Option<VisitorCodeBook>,
}

struct PhoneEntropy(u64);

impl lock_hal::ErrorType for PhoneEntropy {
    type Error = lock_hal::ErrorKind;
}

impl lock_hal::Entropy for PhoneEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), lock_hal::ErrorKind> {
        splitmix_fill(&mut self.0, buf);
        Ok(())
    }
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim").field("world", &self.world).finish()
    }
}

fn publish<V: VisitorCodes>(world: &Shared, lock: &Lock<V>, pairings: usize) {
    let mut w = world.borrow_mut();
    let mirrored = lock.settings().door_direction == Some(DoorDirection::Left);
    w.mirrored = mirrored;
    w.view = View {
        users: lock.people().len(),
        alarms: lock.alarms(),
        awake: lock.keypad().is_some(),
        mirrored,
        in_menu: lock.in_menu(),
        leaving_home: lock.leaving_home(),
        muted: lock.muted(),
        pairing: lock.pairing(),
        pairings,
    };
}

impl Sim {
    /// A factory-fresh lock on an erased in-memory flash, booted.
    pub fn new() -> Result<Sim, SimError> {
        let (_, sectors) = flash_layout();
        Sim::with_flash(SimFlash::new(sectors))
    }

    /// A lock on `flash` (a file's image, for the interactive lock), booted.
    pub fn with_flash(flash: SimFlash) -> Result<Sim, SimError> {
        let mut sim = Sim::unpowered(flash);
        sim.boot()?;
        Ok(sim)
    }

    /// A lock on `flash` that has not booted yet: set up the world, then
    /// [`Sim::boot`].
    pub fn unpowered(flash: SimFlash) -> Sim {
        Sim {
            world: Rc::new(RefCell::new(World::new())),
            flash,
            runtime: None,
            clips_mark: 0,
            log_mark: 0,
            last_logged: 0..0,
            phones: BTreeMap::new(),
            phone_entropy: PhoneEntropy(0x0070_4f4e_4553),
            config: config(),
            replies: Vec::new(),
            replies_mark: 0,
            firmware: Firmware::new(),
            running: None,
            #[cfg(feature = "matter")]
            matter: None,
        }
    }

    /// This lock with a Matter device beside it over `bridge`, from its
    /// next [`Sim::boot`] on (call before the first); system information
    /// speaks the device's manual pairing code `code` (R-MTR-1).
    #[cfg(feature = "matter")]
    pub fn with_matter(mut self, bridge: &'static MatterBridge, code: u64) -> Sim {
        self.matter = Some(bridge);
        self.config.matter_code = Some(code);
        self
    }

    /// Power comes up: a new runtime on the same flash.
    pub fn boot(&mut self) -> Result<(), SimError> {
        let world = self.world.clone();
        // The boot loader first: it swaps in a marked image or rolls back
        // one that never confirmed itself.
        let running = self.firmware.boot().map_err(SimError)?;
        self.running = Some(running);
        let verifier = Firmware::verifier(running)
            .ok_or_else(|| SimError("the simulated board's id".into()))?;
        let (staging, state) = (self.firmware.staging(), self.firmware.state());
        let store = SimStore::new(self.flash.clone(), world.clone())
            .map_err(|e| SimError(format!("flash layout: {e}")))?;
        let hw = hardware(&world);
        let lock_config = self.config;
        #[cfg(feature = "matter")]
        let matter = self.matter;
        let fut = async move {
            // embassy-boot's STATE work buffer, one word, lives as long as
            // the lock runs.
            let mut aligned = [0u8; 4];
            let Some(slots) = EmbassyBoot::new(state, &mut aligned) else {
                return;
            };
            let updater = SimUpdater {
                slots: SlotUpdater::new(verifier, staging, slots),
                broken: running.broken,
            };
            let app =
                ProtoApp::with_updater(SimRadio(world.clone()), SimEntropy(world.clone()), updater);
            #[cfg(feature = "matter")]
            if let Some(bridge) = matter {
                // The phone's protocol as before, the Door Lock handler's
                // requests beside it.
                let app = lock_matter::MatterApp::new(app, bridge);
                let mut runtime = Runtime::new(hw, store, app, lock_config);
                runtime
                    .run_with(|view| publish(&world, view.lock(), pairings(view.app().inner())))
                    .await;
                return;
            }
            let mut runtime = Runtime::new(hw, store, app, lock_config);
            runtime
                .run_with(|view| publish(&world, view.lock(), pairings(view.app())))
                .await;
        };
        self.runtime = Some(Box::pin(fut));
        self.settle()
    }

    /// Power goes (the runtime stops wherever it is) and comes back.
    pub fn power_cycle(&mut self, holding_set: bool) -> Result<(), SimError> {
        self.runtime = None;
        {
            let mut w = self.world.borrow_mut();
            w.power_lost();
            w.set_held = holding_set;
        }
        let r = self.boot();
        self.world.borrow_mut().set_held = false;
        r
    }

    /// Polls the runtime until a poll in which no part answered and that
    /// did not wake itself (a future that yields, as the store does between
    /// sector erases, asks to be polled again at once).
    pub fn settle(&mut self) -> Result<(), SimError> {
        let Some(runtime) = self.runtime.as_mut() else {
            return Ok(());
        };
        let woken = Arc::new(Woken(AtomicBool::new(false)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let start = self.world.borrow().progress;
        let mut ran = false;
        for _ in 0..100_000 {
            let before = {
                let mut w = self.world.borrow_mut();
                w.wakeup = None;
                w.progress
            };
            woken.0.store(false, Ordering::Relaxed);
            if let Poll::Ready(()) = runtime.as_mut().poll(&mut cx) {
                return Err(SimError("the runtime stopped".into()));
            }
            let woke_itself = woken.0.load(Ordering::Relaxed);
            ran |= woke_itself;
            if self.world.borrow().progress == before && !woke_itself {
                // One wake-up of the processor: an input came or a timer
                // fired and the runtime did something; a poll that found
                // nothing to do is no wake-up (a real board would not have
                // run it).
                let mut w = self.world.borrow_mut();
                if ran || w.progress != start {
                    w.energy_note(crate::energy::Account::wake);
                } else {
                    w.energy_sync();
                }
                return Ok(());
            }
        }
        Err(SimError("the runtime never settles (busy loop)".into()))
    }

    /// Lets `d` pass, the runtime handling everything that comes due.
    pub fn wait(&mut self, d: Duration) -> Result<(), SimError> {
        let target = self.world.borrow().now.saturating_add(d.millis());
        for _ in 0..1_000_000 {
            self.settle()?;
            let next = {
                let w = self.world.borrow();
                [w.wakeup, w.next_change()].into_iter().flatten().min()
            };
            match next {
                Some(t) if t <= target => self.world.borrow_mut().advance_to(t),
                _ => {
                    self.world.borrow_mut().advance_to(target);
                    return self.settle();
                }
            }
        }
        Err(SimError(
            "time does not move (the runtime keeps waking)".into(),
        ))
    }

    /// Simulated time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.world.borrow().now
    }

    fn pace(&mut self) -> Result<(), SimError> {
        self.wait(Duration::from_millis(PACE_MS))
    }

    /// Carries out one step that is not an `expect`.
    pub fn act(&mut self, step: &Step) -> Result<(), SimError> {
        self.begin_step(step);
        self.act_inner(step)?;
        self.end_step();
        Ok(())
    }

    /// Where a step's prompts and log records start: [`Sim::act`] calls
    /// it, and so does a runner that carries out a step itself (`lock-sim
    /// matter` waits in real time), then [`Sim::end_step`].
    pub fn begin_step(&mut self, step: &Step) {
        let w = self.world.borrow();
        // A prompt of several clips is said over seconds: a `wait`
        // lets the lock finish what the step before it began, so its
        // clips count with that step's.
        if !matches!(step, Step::Wait(_)) {
            self.clips_mark = w.clips.len();
        }
        self.log_mark = w.log.len();
    }

    /// The step begun with [`Sim::begin_step`] is over: its log records
    /// are what `expect event` looks at, if it wrote any.
    pub fn end_step(&mut self) {
        self.deliver_late_frames();
        let len = self.world.borrow().log.len();
        if len > self.log_mark {
            self.last_logged = self.log_mark..len;
        }
    }

    fn act_inner(&mut self, step: &Step) -> Result<(), SimError> {
        match step {
            Step::Touch => self.input(|w| w.keys.push_back(KeyEvent::Touch)),
            Step::Keys(keys) => {
                for key in keys {
                    let key = hal_key(*key);
                    self.input(|w| w.keys.push_back(KeyEvent::Press(key)))?;
                }
                Ok(())
            }
            Step::Hold(key) => {
                let key = hal_key(*key);
                self.input(|w| w.keys.push_back(KeyEvent::Hold(key)))
            }
            Step::Set => self.input(|w| w.set_presses.push_back(Press::Short)),
            Step::SetHold => self.input(|w| w.set_presses.push_back(Press::Long)),
            Step::LockButton => self.input(|w| w.lock_presses.push_back(Press::Short)),
            Step::Present(reader, name) => {
                let kind = match reader {
                    Reader::Face => BiometricKind::Face,
                    Reader::Palm => BiometricKind::Palm,
                    Reader::Finger => BiometricKind::Finger,
                };
                let name = name.clone();
                let motor_on = self.world.borrow().motor_on;
                self.input(move |w| {
                    if let Some(m) = w.module(kind) {
                        m.presented = Some(name);
                    }
                })?;
                // The runtime reads no sample while the motor runs (until
                // it has braked and coasted); the finger (face, palm) stays
                // until it does, so the step ends with the module's answer,
                // as SPEC.md §8 says.
                for _ in 0..MOTOR_PACES {
                    let untaken = {
                        let mut w = self.world.borrow_mut();
                        w.module(kind).is_some_and(|m| m.presented.is_some())
                    };
                    if !(motor_on && untaken) {
                        break;
                    }
                    self.pace()?;
                }
                // The person holds the sample until the module answers (a
                // finger half a second, a known face a second), for at most
                // [`ANSWER_PACES`]: an unknown face's search goes on after
                // the step.
                for _ in 0..ANSWER_PACES {
                    let busy = {
                        let mut w = self.world.borrow_mut();
                        w.module(kind).is_some_and(|m| m.busy)
                    };
                    if !busy {
                        break;
                    }
                    self.pace()?;
                }
                Ok(())
            }
            Step::MechanicalKey => self.input(|w| {
                w.key_turns = w.key_turns.saturating_add(1);
                // The key turns the bolt by hand.
                w.bolt = BoltPosition::Unlocked;
            }),
            Step::Door { open } => {
                let open = *open;
                self.input(move |w| w.door_open = open)
            }
            Step::Tamper => self.input(|w| w.tampers = w.tampers.saturating_add(1)),
            Step::Battery(n) => {
                let n = *n;
                self.input(move |w| w.battery = n)
            }
            Step::PowerCycle { holding_set } => self.power_cycle(*holding_set),
            Step::Wait(d) => self.wait(*d),
            Step::Jam(on) => {
                let on = *on;
                self.input(move |w| w.jammed = on)
            }
            Step::Usb(on) => {
                let on = *on;
                self.input(move |w| w.usb = on)
            }
            Step::App(step) => {
                self.replies_mark = self.replies.len();
                self.app_step(step)
            }
            Step::Expect(_) => Ok(()),
        }
    }

    /// One `app` step: the phone's frames through the lock's radio.
    fn app_step(&mut self, step: &AppStep) -> Result<(), SimError> {
        let name = step.phone.as_str();
        match &step.action {
            AppAction::Pair => self.pair(name),
            AppAction::Command { remote, command } => {
                self.command(name, *remote, *command, false).map(|_| ())
            }
            AppAction::Forge(command) => self.command(name, false, *command, true).map(|_| ()),
            AppAction::IssueKey {
                to,
                privilege,
                validity,
            } => {
                let request = |challenge| Request::IssueKey {
                    privilege: *privilege,
                    validity: *validity,
                    challenge,
                };
                for response in self.challenged(name, request)? {
                    if let Response::KeyIssued { pairing, key } = response {
                        self.phones.entry(to.clone()).or_default().phone =
                            Some(Phone::with_key(pairing, key));
                    }
                }
                Ok(())
            }
            AppAction::Revoke { whose } => {
                let pairing = self
                    .phones
                    .get(whose)
                    .and_then(|p| p.phone.as_ref())
                    .map(Phone::pairing)
                    .ok_or_else(|| SimError(format!("phone `{whose}` holds no pairing")))?;
                self.challenged(name, |challenge| Request::RevokePairing {
                    pairing,
                    challenge,
                })
                .map(|_| ())
            }
            AppAction::VisitorCode {
                profile,
                start_hour,
                sequence,
            } => {
                let known = self.phones.get(name).and_then(|p| p.visitor_codes.clone());
                let book = match known {
                    Some(book) => book,
                    None => {
                        let responses = self
                            .challenged(name, |challenge| Request::VisitorSecret { challenge })?;
                        let book = responses
                            .iter()
                            .find_map(|r| match r {
                                Response::VisitorSecret { lock_id, secret } => {
                                    Some(VisitorCodeBook::new(*lock_id, *secret))
                                }
                                _ => None,
                            })
                            .ok_or_else(|| {
                                SimError(format!("the lock gave `{name}` no visitor secret"))
                            })?;
                        self.phones
                            .entry(name.to_string())
                            .or_default()
                            .visitor_codes = Some(book.clone());
                        book
                    }
                };
                let spec = VisitorCodeSpec {
                    profile: *profile,
                    start_hour: *start_hour,
                    sequence: *sequence,
                };
                let code = book
                    .code(&spec)
                    .map_err(|e| SimError(format!("visitor code {spec:?}: {e}")))?;
                // The visitor at the door.
                self.input(|w| w.keys.push_back(KeyEvent::Touch))?;
                for d in code.digits() {
                    let key = lock_hal::Key::Digit(*d);
                    self.input(|w| w.keys.push_back(KeyEvent::Press(key)))?;
                }
                self.input(|w| w.keys.push_back(KeyEvent::Press(lock_hal::Key::Ok)))
            }
            AppAction::ListPeople => self.list(name, |challenge, after| Request::ListPeople {
                after: after
                    .and_then(|n| u8::try_from(n).ok())
                    .and_then(PersonNumber::new),
                challenge,
            }),
            AppAction::ReadLog => self.list(name, |challenge, before| Request::ReadLog {
                before: before.and_then(|n| u32::try_from(n).ok()),
                challenge,
            }),
            AppAction::Connect => self.input(|w| {
                w.energy_note(crate::energy::Account::phone_frame);
                w.radio_connect = true;
                w.radio_out.clear();
            }),
            AppAction::Stall => self.input(|w| w.radio_stalled = true),
            AppAction::Update { image, until } => self.update(name, image, *until),
            AppAction::Replay => {
                let frame = self
                    .phones
                    .get(name)
                    .and_then(|p| p.last_sent.clone())
                    .ok_or_else(|| SimError(format!("phone `{name}` sent nothing yet")))?;
                let responses = self.send(name, &frame, false)?;
                self.record(&responses);
                Ok(())
            }
        }
    }

    /// A firmware image from the phone (S-UP-4): the manifest, the chunks,
    /// `Finish`, each step answering the challenge the last answer carried.
    /// Stops at the first answer that is not "receiving", or once `until`
    /// percent of the image is sent. Never inlined: making and signing the
    /// image takes frames no other step needs (the QEMU bench measures the
    /// stack of every step).
    #[inline(never)]
    fn update(&mut self, name: &str, image: &str, until: Option<u8>) -> Result<(), SimError> {
        let bytes = crate::firmware::image(image).map_err(SimError)?;
        let (manifest, payload) = bytes.split_at(lock_update::MANIFEST_LEN.min(bytes.len()));
        let stop = until.map_or(payload.len(), |p| payload.len() * usize::from(p) / 100);
        let Some(mut challenge) = self.challenge(name)? else {
            return Ok(());
        };
        let header = heapless::Vec::from_slice(manifest)
            .map_err(|_| SimError("the manifest does not fit a step".into()))?;
        let mut state = self.update_step(name, UpdateStep::Begin { header }, &mut challenge)?;
        loop {
            let have = match state {
                Some(UpdateState::Receiving { have, .. }) => have as usize,
                // The lock checks the staged image a slice a step.
                Some(UpdateState::Checking { .. }) => {
                    state = self.update_step(name, UpdateStep::Finish, &mut challenge)?;
                    continue;
                }
                _ => break,
            };
            let step = if have < stop {
                let end = (have + UPDATE_CHUNK).min(payload.len());
                let bytes = heapless::Vec::from_slice(payload.get(have..end).unwrap_or_default())
                    .map_err(|_| SimError("a chunk does not fit a step".into()))?;
                UpdateStep::Chunk {
                    offset: u32::try_from(have).unwrap_or(u32::MAX),
                    bytes,
                }
            } else if until.is_none() {
                UpdateStep::Finish
            } else {
                break;
            };
            state = self.update_step(name, step, &mut challenge)?;
        }
        Ok(())
    }

    /// One update step; where the lock says the update is, and the next
    /// challenge in `challenge`. `None` if the protocol refused the step.
    /// Only the last step's answer stays the step's reply.
    fn update_step(
        &mut self,
        name: &str,
        step: UpdateStep,
        challenge: &mut lock_proto::message::Challenge,
    ) -> Result<Option<UpdateState>, SimError> {
        let frame = self.seal(
            name,
            &Request::Update {
                step,
                challenge: *challenge,
            },
        )?;
        let responses = self.exchange(name, &frame, false)?;
        self.replies.truncate(self.replies_mark);
        self.record(&responses);
        for response in responses {
            if let Response::Update {
                state,
                challenge: next,
                ..
            } = response
            {
                *challenge = next;
                return Ok(Some(state));
            }
        }
        Ok(None)
    }

    /// Every page of a list (people or log records), one challenge a page;
    /// the reply names the kind and the total (`people:8`, `log:21`).
    fn list(
        &mut self,
        name: &str,
        request: impl Fn(lock_proto::message::Challenge, Option<u64>) -> Request,
    ) -> Result<(), SimError> {
        let mut total = 0usize;
        let mut from = None;
        let mut kind;
        let mark = self.replies.len();
        loop {
            let responses = self.challenged(name, |c| request(c, from))?;
            let (count, last, more) = match responses.first() {
                Some(Response::People { people, more }) => {
                    kind = "people";
                    (
                        people.len(),
                        people.last().map(|p| u64::from(p.number.get())),
                        *more,
                    )
                }
                Some(Response::Log { records, more }) => {
                    kind = "log";
                    (
                        records.len(),
                        records.last().map(|r| u64::from(r.seq)),
                        *more,
                    )
                }
                _ => return Ok(()),
            };
            total += count;
            from = last;
            if !more || last.is_none() {
                break;
            }
            // S-PR-5: ten challenges a minute.
            self.wait(Duration::from_secs(6))?;
        }
        self.replies.truncate(mark);
        self.replies.push(format!("{kind}:{total}"));
        Ok(())
    }

    /// The phone's side of the pairing exchange (S-PR-1): hello, offer,
    /// nonces, the code compared, the phone's confirmation. The lock stores
    /// the pairing and welcomes the phone once a person also presses ✓ at
    /// the lock (`keys ok`, a later step).
    fn pair(&mut self, name: &str) -> Result<(), SimError> {
        let fail = |what: &str| SimError(format!("pairing `{name}`: {what}"));
        let clips_mark = self.world.borrow().clips.len();
        let (mut pairing, hello) =
            PhonePairing::start(&mut self.phone_entropy).map_err(|e| fail(&e.to_string()))?;
        let Some(offer) = self.radio(&hello, false)?.into_iter().next() else {
            // Refused (not in pairing mode, S-PR-1): the lock says nothing.
            self.replies.push("none".into());
            return Ok(());
        };
        let nonce = pairing.on_offer(&offer).map_err(|e| fail(&e.to_string()))?;
        let reveal = self
            .radio(&nonce, false)?
            .into_iter()
            .next()
            .ok_or_else(|| fail("no reveal"))?;
        let compared = pairing
            .on_reveal(&reveal)
            .map_err(|e| fail(&e.to_string()))?;
        // The person compares the code the lock speaks with the phone's,
        // listening until the lock has said all of it (a clip takes its
        // length: "verification code" and six digits take seconds).
        self.listen()?;
        let spoken = {
            let w = self.world.borrow();
            let clips: Vec<u16> = w
                .clips
                .get(clips_mark..)
                .unwrap_or_default()
                .iter()
                .map(|(_, c)| *c)
                .collect();
            decode_clips(&clips)
        };
        let said = spoken
            .iter()
            .filter_map(|p| p.strip_prefix("verification-code:"))
            .filter_map(|v| v.parse::<u32>().ok())
            .next_back();
        if said != Some(compared.code) {
            return Err(fail(&format!(
                "the lock said {said:?}, the phone shows {:06}",
                compared.code
            )));
        }
        let (phone, confirm) = compared.confirm().map_err(|e| fail(&e.to_string()))?;
        let entry = self.phones.entry(name.to_string()).or_default();
        entry.phone = Some(phone);
        entry.visitor_codes = None;
        let responses = self.exchange(name, &confirm, false)?;
        self.record(&responses);
        Ok(())
    }

    /// Paces until the voice is quiet, as a person listening to the lock
    /// does; at most [`LISTEN_PACES`].
    fn listen(&mut self) -> Result<(), SimError> {
        for _ in 0..LISTEN_PACES {
            if self.world.borrow().playing().is_none() {
                break;
            }
            self.pace()?;
        }
        Ok(())
    }

    /// A request answering a fresh challenge (S-PR-3); the responses.
    fn challenged(
        &mut self,
        name: &str,
        request: impl FnOnce(lock_proto::message::Challenge) -> Request,
    ) -> Result<Vec<Response>, SimError> {
        let Some(challenge) = self.challenge(name)? else {
            return Ok(Vec::new());
        };
        let frame = self.seal(name, &request(challenge))?;
        let responses = self.exchange(name, &frame, false)?;
        self.record(&responses);
        Ok(responses)
    }

    /// A command, with a challenge first; `forge` flips a bit of its sealed
    /// body on the way.
    fn command(
        &mut self,
        name: &str,
        remote: bool,
        command: AppCommand,
        forge: bool,
    ) -> Result<Vec<Response>, SimError> {
        let Some(challenge) = self.challenge(name)? else {
            return Ok(Vec::new());
        };
        let request = Request::Command {
            command,
            challenge: Some(challenge),
        };
        let mut frame = self.seal(name, &request)?;
        if forge {
            // The byte after the 14-byte header: the first of the body.
            if let Some(b) = frame.get_mut(lock_proto::wire::HEADER_LEN) {
                *b ^= 0x01;
            }
        }
        let responses = self.exchange(name, &frame, remote)?;
        self.record(&responses);
        Ok(responses)
    }

    /// Asks for a challenge; `None` (with the refusal recorded) if none came.
    fn challenge(
        &mut self,
        name: &str,
    ) -> Result<Option<lock_proto::message::Challenge>, SimError> {
        let frame = self.seal(name, &Request::Challenge)?;
        let responses = self.exchange(name, &frame, false)?;
        for response in &responses {
            if let Response::Challenge { challenge, .. } = response {
                return Ok(Some(*challenge));
            }
        }
        self.record(&responses);
        Ok(None)
    }

    /// Names what the lock answered a step (`none` for silence).
    fn record(&mut self, responses: &[Response]) {
        if responses.is_empty() {
            self.replies.push("none".into());
        }
        self.replies.extend(responses.iter().map(response_name));
    }

    fn seal(&mut self, name: &str, request: &Request) -> Result<Vec<u8>, SimError> {
        let phone = self
            .phones
            .get_mut(name)
            .and_then(|p| p.phone.as_mut())
            .ok_or_else(|| SimError(format!("phone `{name}` is not paired and holds no key")))?;
        phone
            .request(request)
            .map(|f| f.to_vec())
            .map_err(|e| SimError(format!("phone `{name}`: {e}")))
    }

    /// Frames the lock sent outside an `app` step's exchange reach the
    /// phone that can open them: the welcome after ✓ confirmed a pairing at
    /// the lock (S-PR-1) is a response to the `app pair` step before it.
    fn deliver_late_frames(&mut self) {
        if self.world.borrow().radio_stalled {
            return;
        }
        let late: Vec<Vec<u8>> = self.world.borrow_mut().radio_out.drain(..).collect();
        for bytes in late {
            for phone in self.phones.values_mut().filter_map(|p| p.phone.as_mut()) {
                if let Ok(FromLock::Response(r)) = phone.open(&bytes) {
                    self.replies.push(response_name(&r));
                    break;
                }
            }
        }
    }

    /// Sends a frame from `name` and returns the responses it could open.
    fn exchange(
        &mut self,
        name: &str,
        frame: &[u8],
        remote: bool,
    ) -> Result<Vec<Response>, SimError> {
        self.phones.entry(name.to_string()).or_default().last_sent = Some(frame.to_vec());
        self.send(name, frame, remote)
    }

    fn send(&mut self, name: &str, frame: &[u8], remote: bool) -> Result<Vec<Response>, SimError> {
        let out = self.radio(frame, remote)?;
        let mut responses = Vec::new();
        if let Some(phone) = self.phones.get_mut(name).and_then(|p| p.phone.as_mut()) {
            for bytes in out {
                if let Ok(FromLock::Response(r)) = phone.open(&bytes) {
                    responses.push(r);
                }
            }
        }
        Ok(responses)
    }

    /// One frame over the radio; what the lock sent back meanwhile.
    fn radio(&mut self, frame: &[u8], remote: bool) -> Result<Vec<Vec<u8>>, SimError> {
        let frame = frame.to_vec();
        self.input(move |w| {
            w.energy_note(crate::energy::Account::phone_frame);
            w.radio_in.push_back((frame, remote));
        })?;
        let mut w = self.world.borrow_mut();
        // A stalled phone takes nothing: the lock's frames wait (S-PR-7).
        if w.radio_stalled {
            return Ok(Vec::new());
        }
        Ok(w.radio_out.drain(..).collect())
    }

    /// Changes the world, then lets a person's pace of time pass.
    fn input(&mut self, f: impl FnOnce(&mut World)) -> Result<(), SimError> {
        f(&mut self.world.borrow_mut());
        self.pace()
    }

    /// Prompt names played by the last step that was not an `expect`.
    pub fn prompts(&self) -> Vec<String> {
        let w = self.world.borrow();
        let clips: Vec<u16> = w
            .clips
            .get(self.clips_mark..)
            .unwrap_or_default()
            .iter()
            .map(|(_, c)| *c)
            .collect();
        decode_clips(&clips)
    }

    /// Log kinds written by the most recent step that wrote any.
    pub fn events(&self) -> Vec<&'static str> {
        let w = self.world.borrow();
        w.log
            .get(self.last_logged.clone())
            .unwrap_or_default()
            .iter()
            .map(|r| r.entry.kind_name())
            .collect()
    }

    /// Checks one expectation: `Err(what was seen)` when it does not hold.
    pub fn check(&self, expectation: &Expectation) -> Result<(), String> {
        let w = self.world.borrow();
        let ok_or = |ok: bool, seen: String| if ok { Ok(()) } else { Err(seen) };
        match expectation {
            Expectation::Bolt { locked } => {
                let want = if *locked {
                    BoltPosition::Locked
                } else {
                    BoltPosition::Unlocked
                };
                ok_or(w.bolt == want, format!("bolt {}", bolt_name(w.bolt)))
            }
            Expectation::Alarm(name) => {
                let names = w.view.alarm_names();
                ok_or(
                    names.iter().any(|n| n == name),
                    format!("alarms [{}]", names.join(", ")),
                )
            }
            Expectation::NoAlarm => {
                let names = w.view.alarm_names();
                ok_or(names.is_empty(), format!("alarms [{}]", names.join(", ")))
            }
            Expectation::Users(n) => ok_or(w.view.users == *n, format!("users {}", w.view.users)),
            Expectation::Event(kind) => {
                drop(w);
                let events = self.events();
                ok_or(
                    events.iter().any(|e| e == kind),
                    format!("events [{}]", events.join(", ")),
                )
            }
            Expectation::Prompt(name) => {
                drop(w);
                let prompts = self.prompts();
                let hit = if name == "none" {
                    prompts.is_empty()
                } else {
                    prompts
                        .iter()
                        .any(|p| p == name || p.split(':').next() == Some(name.as_str()))
                };
                ok_or(hit, format!("prompts [{}]", prompts.join(", ")))
            }
            Expectation::Keypad { lit } => {
                let is_lit = w.backlight != 0 || w.view.awake;
                ok_or(
                    is_lit == *lit,
                    format!("keypad {}", if is_lit { "lit" } else { "dark" }),
                )
            }
            Expectation::Door { open } => ok_or(
                w.door_open == *open,
                format!("door {}", if w.door_open { "open" } else { "closed" }),
            ),
            Expectation::Reply(want) => {
                let seen = self.replies.get(self.replies_mark..).unwrap_or_default();
                ok_or(
                    seen.iter().any(|r| r == want),
                    format!("replies [{}]", seen.join(", ")),
                )
            }
            Expectation::Pairings(n) => ok_or(
                w.view.pairings == *n,
                format!("pairings {}", w.view.pairings),
            ),
            Expectation::Firmware(n) => {
                let counter = self.running.map(|r| r.counter);
                ok_or(
                    counter == Some(*n),
                    format!(
                        "firmware {}",
                        counter.map_or("none".into(), |c| format!("v{c}"))
                    ),
                )
            }
            Expectation::Link { up } => {
                let seen = match w.radio_link_up {
                    Some(true) => "up",
                    Some(false) => "dropped",
                    None => "none: no `app connect` yet",
                };
                ok_or(w.radio_link_up == Some(*up), format!("link {seen}"))
            }
        }
    }
}

fn hal_key(key: Key) -> lock_hal::Key {
    match key {
        Key::Digit(d) => lock_hal::Key::Digit(d),
        Key::Back => lock_hal::Key::Back,
        Key::Ok => lock_hal::Key::Ok,
        Key::Home => lock_hal::Key::Home,
        Key::Bell => lock_hal::Key::Bell,
    }
}

/// `locked`, `unlocked`, `between`.
pub fn bolt_name(b: BoltPosition) -> &'static str {
    match b {
        BoltPosition::Locked => "locked",
        BoltPosition::Unlocked => "unlocked",
        BoltPosition::Between => "between",
    }
}

/// `CamelCase` to `kebab-case`, as prompt names are written.
pub(crate) fn kebab(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A refusal's name: its innermost variant in kebab case (`too-weak`).
pub fn refusal_name(r: &Refusal) -> String {
    let debug = format!("{r:?}");
    let inner = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .rfind(|s| !s.is_empty())
        .unwrap_or("");
    kebab(inner)
}

/// A log record's entry as the terminal lock shows it: its kind (as
/// `expect event` names it), then who, how and why in the same kebab-case
/// names (`unlock 002 by passcode`, `unlock-failed by finger: no-match`).
pub fn describe(entry: &lock_core::LogEntry) -> String {
    use lock_core::LogEntry as E;
    let who = |p: &Option<PersonNumber>| p.map(|n| format!(" {n}")).unwrap_or_default();
    let name = |debug: String| kebab(&debug);
    let kind = entry.kind_name();
    match entry {
        E::Unlock { person, method } => {
            format!("{kind}{} by {}", who(person), name(format!("{method:?}")))
        }
        E::UnlockFailed {
            person,
            method,
            reason,
        } => format!(
            "{kind}{} by {}: {}",
            who(person),
            name(format!("{method:?}")),
            refusal_name(reason)
        ),
        E::Lockout { cause, secs } => format!("{kind} {secs} s ({})", name(format!("{cause:?}"))),
        E::UserAdded { person, role, by } => format!(
            "{kind} {person} ({}) by {}",
            name(format!("{role:?}")),
            actor(by)
        ),
        E::CredentialAdded {
            person,
            kind: k,
            by,
        } => format!(
            "{kind} {person}: {} by {}",
            k.map_or_else(|| "passcode".to_string(), |k| name(format!("{k:?}"))),
            actor(by)
        ),
        E::UserChanged { person, by } | E::UserDeleted { person, by } => {
            format!("{kind} {person} by {}", actor(by))
        }
        E::Alarm(alarm) => format!("{kind}: {}", alarm.name()),
        E::Locked(how) => format!("{kind} by {}", name(format!("{how:?}"))),
        E::SettingChanged { setting, by } => format!("{kind}: {setting:?} by {}", actor(by)),
        E::ClockSet { to, by } => format!("{kind}: {} by pairing {by}", to.0),
        E::Paired { pairing } => format!("{kind}: {}", actor(&lock_core::Actor::Pairing(*pairing))),
        E::Unpaired { pairing, by } => format!("{kind}: pairing {pairing} by pairing {by}"),
        E::KeyIssued {
            pairing,
            privilege,
            by,
        } => format!(
            "{kind}: pairing {pairing} ({}) by pairing {by}",
            name(format!("{privilege:?}"))
        ),
        E::DoorDirection(d) => format!("{kind}: {}", name(format!("{d:?}"))),
        E::ModuleFault(k) => format!("{kind}: {}", name(format!("{k:?}"))),
        E::LockoutEnded | E::LockoutLifted | E::FactoryReset => kind.to_string(),
    }
}

/// Who made a change, as the event log shows it.
fn actor(by: &lock_core::Actor) -> String {
    match by {
        lock_core::Actor::Person(n) => n.to_string(),
        lock_core::Actor::Pairing(p) => {
            // A fabric's changes are made under a pairing number of their
            // own (lock-matter's mapping): the log says which fabric.
            #[cfg(feature = "matter")]
            if let Some(fabric) = lock_matter::map::fabric_of_pairing(*p) {
                return format!("matter fabric {fabric}");
            }
            format!("pairing {p}")
        }
    }
}

/// A response's name: a reply's ([`reply_name`]), `paired`, `key-issued`,
/// `pairings`, `visitor-secret`, `challenge`, `refused:REASON` for the
/// protocol's own refusals, or an update's ([`update_state_name`]).
pub fn response_name(r: &Response) -> String {
    match r {
        Response::Reply(reply) => reply_name(reply),
        Response::Welcome { .. } => "paired".into(),
        Response::KeyIssued { .. } => "key-issued".into(),
        Response::Pairings(_) => "pairings".into(),
        Response::VisitorSecret { .. } => "visitor-secret".into(),
        Response::Challenge { .. } => "challenge".into(),
        Response::Done => "done".into(),
        Response::Refused(why) => format!("refused:{}", kebab(&format!("{why:?}"))),
        Response::People { people, .. } => format!("people:{}", people.len()),
        Response::Log { records, .. } => format!("log:{}", records.len()),
        Response::Update { state, .. } => update_state_name(state),
    }
}

/// An update answer's name: `update:idle`, `update:receiving:HAVE`,
/// `update:checking:CHECKED`, `update:ready`, `update:refused:REASON`.
pub fn update_state_name(state: &lock_proto::UpdateState) -> String {
    use lock_proto::UpdateState as U;
    match state {
        U::Idle => "update:idle".into(),
        U::Receiving { have, .. } => format!("update:receiving:{have}"),
        U::Ready => "update:ready".into(),
        U::Checking { checked, .. } => format!("update:checking:{checked}"),
        U::Refused(why) => format!("update:refused:{}", kebab(&format!("{why:?}"))),
    }
}

/// A reply's name: `done`, `status`, `refused:REASON`.
pub fn reply_name(r: &Reply) -> String {
    match r {
        Reply::Done => "done".into(),
        Reply::Status(_) => "status".into(),
        Reply::PersonAdded(n) => format!("added:{n}"),
        Reply::Refused(why) => format!("refused:{}", refusal_name(why)),
    }
}

/// Every refusal a failure prompt can carry.
pub const REFUSALS: [Refusal; 31] = {
    use lock_core::EnrollFailure as F;
    use lock_core::PasscodeError as P;
    [
        Refusal::NoMatch,
        Refusal::OutsideValidity,
        Refusal::SystemLocked,
        Refusal::NotAdministrator,
        Refusal::NotPermitted,
        Refusal::RemoteUnlockDisabled,
        Refusal::BatteryTooLow,
        Refusal::PeopleFull,
        Refusal::CredentialStoreFull,
        Refusal::PersonCredentialsFull,
        Refusal::NoSuchPerson,
        Refusal::LastAdministrator,
        Refusal::OnlyPerson,
        Refusal::OutOfRange,
        Refusal::DoorOpen,
        Refusal::CauseActive,
        Refusal::ClockBackwards,
        Refusal::StorageFault,
        Refusal::NotSetUp,
        Refusal::Passcode(P::TooShort),
        Refusal::Passcode(P::TooLong),
        Refusal::Passcode(P::NotADigit),
        Refusal::Passcode(P::TooWeak),
        Refusal::Passcode(P::Overlaps),
        Refusal::Passcode(P::Mismatch),
        Refusal::Passcode(P::Full),
        Refusal::Enroll(F::Duplicate),
        Refusal::Enroll(F::BadCapture),
        Refusal::Enroll(F::Timeout),
        Refusal::Enroll(F::ModuleFull),
        Refusal::Enroll(F::ModuleFault),
    ]
};

/// The prompts that carry no value (the credential choice with every
/// module fitted).
pub const SIMPLE_PROMPTS: [Prompt; 20] = [
    Prompt::DoorDirection,
    Prompt::CreateAdministrator,
    Prompt::EnterPasscode,
    Prompt::EnterPasscodeAgain,
    Prompt::VerifyAdministrator,
    Prompt::Menu,
    Prompt::ChooseCredential(lock_core::Modules::ALL),
    Prompt::EnterPersonNumber,
    Prompt::SettingsMenu,
    Prompt::Success,
    Prompt::Unlocked,
    Prompt::Locked,
    Prompt::SystemLocked,
    Prompt::PairingMode,
    Prompt::FactoryResetConfirm,
    Prompt::FactoryReset,
    Prompt::LowBattery,
    Prompt::Chime,
    Prompt::LeavingHome,
    Prompt::Jammed,
];

/// The refusal a failure prompt's second clip says.
fn refusal_for_clip(clip: u16) -> Option<String> {
    let all = REFUSALS;
    all.iter()
        .find(|r| prompt_clips(&Prompt::Failure(**r)).get(1) == Some(&clip))
        .map(refusal_name)
}

/// The prompts without a value, by their clip.
fn simple_prompt(clip: u16) -> Option<String> {
    let all = SIMPLE_PROMPTS;
    all.iter()
        .find(|p| prompt_clips(p).as_slice() == [clip])
        .map(|p| match p {
            Prompt::ChooseCredential(_) => "choose-credential".to_string(),
            p => kebab(&format!("{p:?}")),
        })
}

fn enroll_prompt(clip: u16) -> Option<String> {
    use lock_core::EnrollStep as S;
    let steps = [
        S::Present,
        S::Lift,
        S::LookStraight,
        S::HeadUp,
        S::HeadDown,
        S::HeadLeft,
        S::HeadRight,
        S::Closer,
        S::Further,
    ];
    for kind in BiometricKind::ALL {
        for step in steps {
            if prompt_clips(&Prompt::Enroll(kind, step)).as_slice() == [clip] {
                return Some(format!(
                    "enroll:{}-{}",
                    kebab(&format!("{kind:?}")),
                    kebab(&format!("{step:?}"))
                ));
            }
        }
    }
    None
}

fn digit_of(clip: u16) -> Option<char> {
    (1..=10)
        .contains(&clip)
        .then(|| char::from_digit(u32::from(clip.saturating_sub(1)), 10))
        .flatten()
}

/// Names one clip on its own, as the terminal lock shows the clip playing:
/// a prompt's name, a digit, "point", the failure sound or the reason after
/// it.
pub fn clip_name(clip: u16) -> String {
    if let Some(d) = digit_of(clip) {
        return format!("digit {d}");
    }
    if clip == POINT {
        return "point".into();
    }
    if clip == FAILURE {
        return "failure sound".into();
    }
    if let Some(reason) = refusal_for_clip(clip) {
        return format!("why: {reason}");
    }
    let named = decode_clips(&[clip]);
    // A number's name alone ("person-number:") has no digits yet.
    named
        .first()
        .map(|name| name.trim_end_matches(':').into())
        .unwrap_or_else(|| format!("clip-{clip}"))
}

/// Turns the clips a step played back into prompt names, as the crate README
/// names them (`unlocked`, `person-number:002`, `failure:too-weak`).
pub fn decode_clips(clips: &[u16]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&clip) = clips.get(i) {
        i = i.saturating_add(1);
        let numbered = match clip {
            40 => Some("person-number"),
            41 => Some("serial-number"),
            42 => Some("firmware-version"),
            43 => Some("verification-code"),
            48 => Some("matter-code"),
            _ => None,
        };
        if let Some(name) = numbered {
            let mut value = String::new();
            while let Some(&c) = clips.get(i) {
                if let Some(d) = digit_of(c) {
                    value.push(d);
                } else if c == POINT {
                    value.push('.');
                } else {
                    break;
                }
                i = i.saturating_add(1);
            }
            out.push(format!("{name}:{value}"));
        } else if clip == FAILURE {
            let reason = clips.get(i).and_then(|&c| refusal_for_clip(c));
            if reason.is_some() {
                i = i.saturating_add(1);
            }
            out.push(format!("failure:{}", reason.unwrap_or_default()));
        } else if let Some(name) = simple_prompt(clip).or_else(|| enroll_prompt(clip)) {
            out.push(name);
        } else {
            out.push(format!("clip-{clip}"));
        }
    }
    out
}

/// How one scenario file went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation held.
    Pass,
    /// An expectation did not hold.
    Fail {
        /// The line (1-based).
        line: usize,
        /// The expectation as written.
        expected: String,
        /// What was seen.
        seen: String,
    },
    /// The file could not be read or parsed, or the simulator failed.
    Error {
        /// The line, when one is to blame.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
}

impl Outcome {
    /// `true` for [`Outcome::Pass`].
    pub fn passed(&self) -> bool {
        *self == Outcome::Pass
    }

    /// The line `lock-sim run` prints for `file`: `PASS file`, `FAIL
    /// file:line: expected …, saw …` or `ERROR file[:line]: …`. Boards that
    /// run scenarios print the same (boards/qemu-mps2).
    pub fn report(&self, file: &str) -> String {
        match self {
            Outcome::Pass => format!("PASS {file}"),
            Outcome::Fail {
                line,
                expected,
                seen,
            } => format!("FAIL {file}:{line}: expected `{expected}`, saw {seen}"),
            Outcome::Error {
                line: Some(line),
                message,
            } => format!("ERROR {file}:{line}: {message}"),
            Outcome::Error {
                line: None,
                message,
            } => format!("ERROR {file}: {message}"),
        }
    }
}

/// Runs parsed steps on a factory-fresh lock.
pub fn run_steps(lines: &[Line]) -> Outcome {
    match Sim::new() {
        Ok(mut sim) => sim.run_steps(lines),
        Err(e) => Outcome::Error {
            line: None,
            message: e.0,
        },
    }
}

impl Sim {
    /// Runs parsed steps on this lock, as [`run_steps`] does on a
    /// factory-fresh one (`lock-sim energy` sets up the world first).
    pub fn run_steps(&mut self, lines: &[Line]) -> Outcome {
        run_lines(self, lines)
    }
}

fn run_lines(sim: &mut Sim, lines: &[Line]) -> Outcome {
    for line in lines {
        if let Step::Expect(expectation) = &line.step {
            if let Err(seen) = sim.check(expectation) {
                return Outcome::Fail {
                    line: line.number,
                    expected: line.text.clone(),
                    seen,
                };
            }
        } else if let Err(e) = sim.act(&line.step) {
            return Outcome::Error {
                line: Some(line.number),
                message: e.0,
            };
        }
    }
    Outcome::Pass
}

/// Runs a scenario's text.
pub fn run_text(text: &str) -> Outcome {
    match crate::scenario::parse(text) {
        Ok(lines) => run_steps(&lines),
        Err(e) => Outcome::Error {
            line: Some(e.line),
            message: e.message,
        },
    }
}

/// A waker that remembers being woken: what the runner's polls use to tell
/// a runtime waiting on the world from one that asked to run again.
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock_core::PasscodeError;

    fn named(prompt: Prompt) -> Vec<String> {
        decode_clips(&prompt_clips(&prompt))
    }

    #[test]
    fn prompts_are_named_back_from_their_clips() {
        assert_eq!(named(Prompt::Unlocked), ["unlocked"]);
        assert_eq!(named(Prompt::EnterPasscodeAgain), ["enter-passcode-again"]);
        assert_eq!(
            named(Prompt::PersonNumber(PersonNumber::new(2).unwrap())),
            ["person-number:002"]
        );
        assert_eq!(
            named(Prompt::FirmwareVersion(1, 12, 0)),
            ["firmware-version:1.12.0"]
        );
        assert_eq!(
            named(Prompt::Failure(Refusal::Passcode(PasscodeError::TooWeak))),
            ["failure:too-weak"]
        );
        assert_eq!(
            named(Prompt::Enroll(
                BiometricKind::Finger,
                lock_core::EnrollStep::Present
            )),
            ["enroll:finger-present"]
        );
        // A batch of several prompts, and a clip no prompt uses.
        let mut clips = prompt_clips(&Prompt::Success).to_vec();
        clips.extend(prompt_clips(&Prompt::Menu).iter());
        clips.push(999);
        assert_eq!(decode_clips(&clips), ["success", "menu", "clip-999"]);
        // One at a time, as the terminal lock shows the clip playing.
        let named: Vec<String> = [30, 40, 3, 11, 80, 81, 999]
            .into_iter()
            .map(clip_name)
            .collect();
        assert_eq!(
            named,
            [
                "unlocked",
                "person-number",
                "digit 2",
                "point",
                "failure sound",
                "why: no-match",
                "clip-999"
            ]
        );
    }

    #[test]
    fn log_entries_read_as_kind_who_how_and_why() {
        use lock_core::{LogEntry, Method};
        let n = PersonNumber::new(2).unwrap();
        assert_eq!(
            describe(&LogEntry::Unlock {
                person: Some(n),
                method: Method::Passcode
            }),
            "unlock 002 by passcode"
        );
        assert_eq!(
            describe(&LogEntry::UnlockFailed {
                person: None,
                method: Method::Finger,
                reason: Refusal::NoMatch
            }),
            "unlock-failed by finger: no-match"
        );
        assert_eq!(
            describe(&LogEntry::Alarm(lock_core::AlarmKind::Tamper)),
            "alarm: tamper"
        );
        assert_eq!(describe(&LogEntry::FactoryReset), "factory-reset");
    }

    #[test]
    fn replies_are_named_by_their_innermost_reason() {
        assert_eq!(reply_name(&Reply::Done), "done");
        assert_eq!(
            reply_name(&Reply::Refused(Refusal::RemoteUnlockDisabled)),
            "refused:remote-unlock-disabled"
        );
        assert_eq!(
            reply_name(&Reply::Refused(Refusal::Passcode(PasscodeError::Overlaps))),
            "refused:overlaps"
        );
    }

    #[test]
    fn a_fresh_lock_asks_the_door_direction_with_the_bolt_locked() {
        let sim = Sim::new().unwrap();
        // Power-up counts as the step before the first line.
        assert_eq!(sim.prompts(), ["door-direction"]);
        assert!(sim.check(&Expectation::Bolt { locked: true }).is_ok());
        assert!(sim.check(&Expectation::Users(0)).is_ok());
        assert_eq!(
            sim.check(&Expectation::Bolt { locked: false }),
            Err("bolt locked".into())
        );
    }

    #[test]
    fn a_wait_lets_the_lock_finish_the_prompt_of_the_step_before() {
        // The success sound (500 ms) comes before the next question: the
        // keys' step alone heard only the first; with the wait, both.
        let heard = "keys ok 1\nexpect prompt success\nexpect prompt create-administrator\n";
        assert!(!run_text(heard).passed());
        let waited =
            "keys ok 1\nwait 1s\nexpect prompt success\nexpect prompt create-administrator\n";
        assert!(
            run_text(waited).passed(),
            "{}",
            run_text(waited).report("wait")
        );
    }

    #[test]
    fn a_jammed_bolt_stays_put_and_the_motor_stalls() {
        let mut sim = Sim::new().unwrap();
        for step in [
            "keys ok 1",
            "keys ok 482915 ok 482915 ok",
            "keys back",
            "jam",
            "wait 30s",
            "touch",
            "keys 482915 ok",
            "wait 2s",
        ] {
            sim.act(&crate::scenario::parse_step(step).unwrap())
                .unwrap();
        }
        let w = sim.world.borrow();
        assert_eq!(w.bolt, BoltPosition::Locked);
        assert!(!w.motor_on, "the motor is not left powered");
        assert!(w.view.alarm_names().contains(&"jam"));
    }
}
