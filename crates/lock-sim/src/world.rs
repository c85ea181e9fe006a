//! The simulated hardware: one shared [`World`] that every part looks at,
//! behind the real `lock-hal` traits, on lock-store's mock NOR flash.
//!
//! Single-threaded (`Rc<RefCell<World>>`). Every part that answers the
//! runtime bumps [`World::progress`], so the runner can tell when the runtime
//! has nothing left to do; time moves only when the runner moves it.
//!
//! The parts take the time their datasheets give ([`crate::timing`],
//! `docs/LATENCIES.md`): a clip plays for its length, a module searches and
//! enrols for its time, waiting on the simulated clock as the runtime does.
//!
//! These are the project's only simulated parts: the simulator's runner
//! ([`crate::sim`]) and lock-runtime's test bench both drive them. Beyond
//! what a scenario needs, the world can make presses fleeting, give clips a
//! length, make the lock body stall or stay silent, make a module fail or
//! search for a while, and cut the power ([`World::dead`]); it records when
//! keys were pressed and read, and every motor, backlight and siren call.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::poll_fn;
use core::task::Poll;

use lock_core::{
    AlarmKind, Alarms, BiometricKind, BoltSwitches, Change, LogRecord, ModuleCommand, Snapshot,
};
use lock_drivers::prompts::{Clips, VoicePrompts, clips};
use lock_hal::{
    BoltEnd, BoltPosition, EnrollRefusal, EnrollStatus, EnrollStep, ErrorKind, ErrorType,
    Identification, KeyEvent, MotorDirection, Press, Received, TemplateId,
};
use lock_runtime::{Board, Hardware, LOG_PAGE, LogPage, ProtoApp, StateStore, StoreErrorKind};
use lock_store::mock_flash::SharedMockFlash;

use crate::energy::{self, MotorState, Observed};
use crate::timing;

/// How long the simulated lock body takes from one end to the other.
pub const TRAVEL_MS: u64 = 1_000;
/// How long the motor pushes a jammed (stuck) bolt before it stalls.
pub const STALL_MS: u64 = 300;
/// How long a failing module stays silent before its driver gives up.
pub const MODULE_TIMEOUT_MS: u64 = 2_000;

/// One biometric module: the names it holds a template for.
#[derive(Debug, Default, Clone)]
pub struct Module {
    /// Enrolled names with their template ids.
    pub templates: Vec<(String, u16)>,
    /// What lies on (stands before) the sensor, not yet taken.
    pub presented: Option<String>,
    /// The sample stays on the sensor after the module took it (a finger
    /// left resting), until a test lifts it.
    pub held: bool,
    /// Captures an enrolment takes, a lift between each (0 counts as 1):
    /// the simulator's modules take one, the runtime's tests two.
    pub captures: u8,
    /// Every operation times out: the module stays silent for
    /// [`MODULE_TIMEOUT_MS`] (world time jumps by it) and the sample is lost.
    pub failing: bool,
    /// How long an identification waits for a sample to come, in ms (0:
    /// with none presented it answers "no sample" at once).
    pub window_ms: u64,
    /// How long an identification that finds no match takes once it has
    /// the sample (a face module keeps looking until its own timeout), in
    /// ms.
    pub search_ms: u64,
    /// How long an identification that finds its match takes once it has
    /// the sample, in ms.
    pub match_ms: u64,
    /// How long one enrolment capture takes once it has the sample, in ms.
    pub capture_ms: u64,
    /// At work (searching or capturing): the module has not answered yet.
    pub busy: bool,
    /// The enrolment under way: its template and the captures taken.
    pub enrolling: Option<(u16, u8)>,
    /// When the search under way ends.
    pub searching_until: Option<u64>,
    /// What the runtime asked of it, in order: `identify`, `begin_enroll
    /// ID`, `enroll_step`, `cancel_enroll`, `delete ID`, `clear`.
    pub calls: Vec<String>,
}

impl Module {
    /// A module of `kind` as the simulator has it: one capture per
    /// enrolment, the times of its datasheet ([`timing`]).
    pub fn timed(kind: BiometricKind) -> Module {
        let search = timing::search(kind);
        Module {
            captures: 1,
            window_ms: search.window_ms,
            search_ms: if search.no_match_at_timeout {
                search.window_ms
            } else {
                search.answer_ms
            },
            match_ms: search.answer_ms,
            capture_ms: timing::enroll_step_ms(kind),
            ..Module::default()
        }
    }
}

/// What the motor was told ([`World::motor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotorCall {
    /// Drive in a direction.
    Drive(MotorDirection),
    /// Brake.
    Brake,
    /// Coast.
    Coast,
}

/// How a lock body that is not [`World::jammed`] answers a drive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Body {
    /// The bolt reaches its end after [`TRAVEL_MS`].
    #[default]
    Working,
    /// The bolt leaves its end and the motor stalls half-way.
    Stalls,
    /// The bolt never moves and nothing stalls (a broken wire).
    Silent,
}

/// What the runtime's lock core looked like after its last completed step.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// People stored.
    pub users: usize,
    /// Active alarms.
    pub alarms: Alarms,
    /// The keypad is awake.
    pub awake: bool,
    /// The door was set up as left-opening (the body is mounted mirrored).
    pub mirrored: bool,
    /// In the administrator menu.
    pub in_menu: bool,
    /// Leaving-home mode is armed.
    pub leaving_home: bool,
    /// One-time mute is on.
    pub muted: bool,
    /// Pairing mode is open.
    pub pairing: bool,
    /// Pairings and issued keys the app protocol holds.
    pub pairings: usize,
}

impl View {
    /// The names of the active alarms.
    pub fn alarm_names(&self) -> Vec<&'static str> {
        self.alarms.iter().map(AlarmKind::name).collect()
    }
}

/// Everything the simulated parts look at and record.
#[derive(Debug)]
pub struct World {
    /// Simulated milliseconds since the simulation started.
    pub now: u64,
    /// The clock wait the runtime is in, seen at the last poll.
    pub wakeup: Option<u64>,
    /// Bumped by every part that answers: no bump in a poll means idle.
    pub progress: u64,
    /// Power is off: every part that waits or answers asynchronously waits
    /// forever (the runtime is stopped where it is).
    pub dead: bool,

    /// Keypad events not yet read.
    pub keys: VecDeque<KeyEvent>,
    /// When each key press began (the driver notes it) and when the
    /// runtime read each key, in order.
    pub keys_pressed: Vec<u64>,
    /// See [`World::keys_pressed`].
    pub keys_read: Vec<u64>,
    /// A key or button press not read while it lasts is gone
    /// ([`World::release_presses`]), as on the BS8116A, which tells only
    /// which keys are down now, and on a button read as a level.
    pub presses_fleeting: bool,
    /// The lit keys (bit 0 is `0`, then ↩, ✓, leaving-home, bell).
    pub backlight: u16,
    /// Every backlight mask set, with when.
    pub backlight_log: Vec<(u64, u16)>,
    /// Face, palm, finger.
    pub modules: [Module; 3],

    /// Where the bolt is.
    pub bolt: BoltPosition,
    /// When the moving bolt arrives, and where.
    pub arrival: Option<(u64, BoltPosition)>,
    /// When a jammed drive stalls.
    pub stall_at: Option<u64>,
    /// A stall not yet read.
    pub stalled: bool,
    /// The bolt sticks: every drive stalls.
    pub jammed: bool,
    /// How the body answers when not jammed.
    pub body: Body,
    /// Which ends have a switch: what the bolt sensor can read.
    pub switches: BoltSwitches,
    /// The motor is powered.
    pub motor_on: bool,
    /// Every motor call, in order.
    pub motor: Vec<MotorCall>,
    /// When each of [`World::motor`] was made.
    pub motor_times: Vec<u64>,
    /// The body is mounted mirrored (left-opening door): forward throws.
    pub mirrored: bool,

    /// The door is open.
    pub door_open: bool,
    /// Tamper triggers not yet read.
    pub tampers: u32,
    /// Key turns not yet read.
    pub key_turns: u32,
    /// SET is held (read at power-up).
    pub set_held: bool,
    /// SET presses not yet read.
    pub set_presses: VecDeque<Press>,
    /// Inside lock-button presses not yet read.
    pub lock_presses: VecDeque<Press>,
    /// Battery percentage.
    pub battery: u8,
    /// Battery measurements taken.
    pub measurements: u32,
    /// USB-C power present.
    pub usb: bool,

    /// Every voice clip played, with when.
    pub clips: Vec<(u64, u16)>,
    /// How long every clip plays, in ms; `None`: each clip its own length
    /// ([`timing::clip_ms`]).
    pub clip_ms: Option<u64>,
    /// The clip playing, if one is (until [`World::playing_until`]).
    pub playing_clip: Option<u16>,
    /// When the clip playing ends.
    pub playing_until: u64,
    /// The voice volume.
    pub volume: Option<u8>,
    /// Every key click the runtime asked the sound for, with when.
    pub clicks: Vec<u64>,
    /// The siren sounds.
    pub siren: bool,
    /// Every siren switch, with when.
    pub siren_log: Vec<(u64, bool)>,

    /// Frames from phones not yet received, with whether each came from
    /// afar (`true`) or from the door.
    pub radio_in: VecDeque<(Vec<u8>, bool)>,
    /// Whether the frame the lock received last came from afar.
    pub radio_remote: bool,
    /// Frames the lock sent, not yet taken by a phone.
    pub radio_out: VecDeque<Vec<u8>>,
    /// A phone opened a radio link (`app connect`) the lock has not heard
    /// of yet; it hears of it before any frame sent after it.
    pub radio_connect: bool,
    /// The last link a phone opened: up (`Some(true)`), ended by the lock
    /// (`Some(false)`, S-PR-7), or none opened (`None`).
    pub radio_link_up: Option<bool>,
    /// The phone on the link takes no notifications (`app stall`): the
    /// lock's frames wait in a queue of [`STALLED_QUEUE`], and any more are
    /// dropped, as lock-ble's `BleTransport` does.
    pub radio_stalled: bool,
    /// R-NRG-3: the radio listens (advertises and takes new links). With
    /// it off and no link up, the radio is off. A lock starts listening,
    /// and does again after a power cut; the runtime switches it through
    /// its transport ([`World::set_radio_listening`]).
    pub radio_listening: bool,
    /// The simulated entropy source's state (deterministic, so scenarios
    /// repeat exactly; a real board uses its TRNG).
    pub entropy: u64,
    /// How long each part spent in each power state (R-NRG-2), when a run
    /// asks for it ([`World::count_energy`]); `None` otherwise, so that
    /// runs that do not ask pay nothing for it (qemu-mps2 counts the
    /// runner's instructions with the runtime's).
    pub energy: Option<energy::Account>,

    /// Every log record the store accepted, in order.
    pub log: Vec<LogRecord>,
    /// The lock core after the runtime's last step.
    pub view: View,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// A factory-fresh lock's surroundings: bolt locked, door closed, battery
    /// full.
    pub fn new() -> World {
        World {
            now: 0,
            wakeup: None,
            progress: 0,
            dead: false,
            keys: VecDeque::new(),
            keys_pressed: Vec::new(),
            keys_read: Vec::new(),
            presses_fleeting: false,
            backlight: 0,
            backlight_log: Vec::new(),
            modules: BiometricKind::ALL.map(Module::timed),
            bolt: BoltPosition::Locked,
            arrival: None,
            stall_at: None,
            stalled: false,
            jammed: false,
            body: Body::Working,
            switches: BoltSwitches::Both,
            motor_on: false,
            motor: Vec::new(),
            motor_times: Vec::new(),
            mirrored: false,
            door_open: false,
            tampers: 0,
            key_turns: 0,
            set_held: false,
            set_presses: VecDeque::new(),
            lock_presses: VecDeque::new(),
            battery: 100,
            measurements: 0,
            usb: false,
            clips: Vec::new(),
            clicks: Vec::new(),
            clip_ms: None,
            playing_clip: None,
            playing_until: 0,
            volume: None,
            siren: false,
            siren_log: Vec::new(),
            radio_in: VecDeque::new(),
            radio_remote: false,
            radio_out: VecDeque::new(),
            radio_connect: false,
            radio_link_up: None,
            radio_stalled: false,
            radio_listening: true,
            entropy: 0x5eed_10c4_d00d_2026,
            energy: None,
            log: Vec::new(),
            view: View::default(),
        }
    }

    fn bump(&mut self) {
        self.progress = self.progress.wrapping_add(1);
    }

    /// The clip playing now, if one is.
    pub fn playing(&self) -> Option<u16> {
        self.playing_clip.filter(|_| self.now < self.playing_until)
    }

    /// The module of `kind`.
    pub fn module(&mut self, kind: BiometricKind) -> Option<&mut Module> {
        self.modules.get_mut(index(kind))
    }

    /// The module of `kind`, always there.
    pub fn module_mut(&mut self, kind: BiometricKind) -> &mut Module {
        let [face, palm, finger] = &mut self.modules;
        match kind {
            BiometricKind::Face => face,
            BiometricKind::Palm => palm,
            BiometricKind::Finger => finger,
        }
    }

    /// Notes what the motor was told, and when.
    fn record_motor(&mut self, call: MotorCall) {
        self.motor.push(call);
        self.motor_times.push(self.now);
    }

    /// The end of a press: with [`World::presses_fleeting`], keys and
    /// button presses the runtime did not read are gone.
    pub fn release_presses(&mut self) {
        if self.presses_fleeting {
            self.keys.clear();
            self.lock_presses.clear();
            self.set_presses.clear();
        }
    }

    /// The next moment the world changes by itself.
    pub fn next_change(&self) -> Option<u64> {
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

    /// What the parts are doing now, for the energy account.
    pub fn energy_observed(&self) -> Observed {
        let motor = if self.motor_on {
            MotorState::Running
        } else if self.motor.last() == Some(&MotorCall::Brake) {
            MotorState::Braking
        } else {
            MotorState::Off
        };
        Observed {
            backlight_keys: self.backlight.count_ones(),
            motor,
            modules: self.modules.each_ref().map(|m| m.busy),
            voice_until: if self.playing_clip.is_some() {
                self.playing_until
            } else {
                0
            },
            siren: self.siren,
            link: self.radio_link_up,
            listening: self.radio_listening,
        }
    }

    /// Starts the energy account now, every part counted from its present
    /// state: before the lock boots, for a whole run.
    pub fn count_energy(&mut self) {
        self.energy = Some(energy::Account::new());
        self.energy_sync();
    }

    /// Shows the energy account, if one is kept, what the parts are doing
    /// now. The runner calls it whenever it has settled and before time
    /// moves ([`World::advance_to`]): time stands still while the runtime
    /// is polled, so every state is seen at the moment it began.
    pub fn energy_sync(&mut self) {
        if self.energy.is_some() {
            let obs = self.energy_observed();
            let now = self.now;
            if let Some(account) = self.energy.as_mut() {
                account.observe(now, obs);
            }
        }
    }

    /// Tells the energy account, if one is kept, of something that happened
    /// now (a wake-up, a flash write, a phone's frame), the parts seen first.
    pub fn energy_note(&mut self, f: impl FnOnce(&mut energy::Account, u64)) {
        self.energy_sync();
        let now = self.now;
        if let Some(account) = self.energy.as_mut() {
            f(account, now);
        }
    }

    /// R-NRG-3: the radio starts or stops listening now (what a transport's
    /// `listen` does to the simulated radio).
    pub fn set_radio_listening(&mut self, on: bool) {
        self.energy_sync();
        self.radio_listening = on;
        self.energy_sync();
    }

    /// Moves time to `t` (never back), with what happens by then.
    pub fn advance_to(&mut self, t: u64) {
        self.energy_sync();
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

    /// Power goes: moving parts stop, outputs go dark, queued inputs are
    /// lost. The flash, the modules' templates and the physical state stay.
    pub fn power_lost(&mut self) {
        self.energy_sync();
        self.arrival = None;
        self.stall_at = None;
        self.stalled = false;
        self.motor_on = false;
        self.siren = false;
        self.backlight = 0;
        self.keys.clear();
        self.set_presses.clear();
        self.lock_presses.clear();
        self.radio_in.clear();
        self.radio_out.clear();
        // A power cut ends every link.
        self.radio_connect = false;
        self.radio_link_up = None;
        self.radio_stalled = false;
        // A lock starts listening.
        self.radio_listening = true;
        self.wakeup = None;
        self.playing_until = self.now;
        self.playing_clip = None;
        for m in &mut self.modules {
            m.presented = None;
            m.enrolling = None;
            m.searching_until = None;
            m.busy = false;
        }
        self.energy_note(energy::Account::power_lost);
    }
}

fn index(kind: BiometricKind) -> usize {
    match kind {
        BiometricKind::Face => 0,
        BiometricKind::Palm => 1,
        BiometricKind::Finger => 2,
    }
}

/// The world, shared by every part.
pub type Shared = Rc<RefCell<World>>;

/// Waits until `ready` gives a value; forever once power is off
/// ([`World::dead`]). Public for the parts a test adds beside these (its
/// app side), so that their answers count as progress too.
pub async fn until<T>(world: &Shared, mut ready: impl FnMut(&mut World) -> Option<T>) -> T {
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

/// Waits until `ready` gives a value, or until `deadline` (then `None`),
/// asking the runner to wake it then as the clock does; forever once power
/// is off.
async fn until_or<T>(
    world: &Shared,
    deadline: u64,
    mut ready: impl FnMut(&mut World) -> Option<T>,
) -> Option<T> {
    poll_fn(|_| {
        let mut w = world.borrow_mut();
        if w.dead {
            return Poll::Pending;
        }
        if let Some(v) = ready(&mut w) {
            w.bump();
            return Poll::Ready(Some(v));
        }
        if w.now >= deadline {
            w.bump();
            return Poll::Ready(None);
        }
        w.wakeup = Some(w.wakeup.map_or(deadline, |t| t.min(deadline)));
        Poll::Pending
    })
    .await
}

/// Changes the world at once.
fn op<T>(world: &Shared, f: impl FnOnce(&mut World) -> T) -> T {
    let mut w = world.borrow_mut();
    w.bump();
    f(&mut w)
}

/// An operation that completes at once, unless power is off (then never).
pub async fn act<T>(world: &Shared, f: impl FnOnce(&mut World) -> T) -> T {
    let mut f = Some(f);
    until(world, |w| f.take().map(|f| f(w))).await
}

macro_rules! part {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(pub Shared);
        impl ErrorType for $name {
            type Error = ErrorKind;
        }
    )*};
}

part!(
    /// The touch keypad.
    SimKeypad,
    /// The keys' backlights.
    SimBacklight,
    /// The bolt motor.
    SimMotor,
    /// The bolt's end switches.
    SimBolt,
    /// The motor's over-current input.
    SimStall,
    /// The door contact.
    SimDoor,
    /// The front panel's tamper switch.
    SimTamper,
    /// The key cylinder.
    SimCylinder,
    /// SET on the rear panel.
    SimSet,
    /// The inside locking button.
    SimLockButton,
    /// The battery gauge.
    SimBattery,
    /// USB-C power at the front.
    SimUsb,
    /// The voice module (plays each clip for its length; clips are
    /// recorded). The board's sound is [`SimSound`] over it.
    SimVoice,
    /// The siren.
    SimSiren,
    /// The app radio: frames from the phones in, the lock's frames out.
    SimRadio,
    /// The entropy source.
    SimEntropy,
);

impl lock_hal::Keypad for SimKeypad {
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

impl lock_hal::Backlight for SimBacklight {
    fn set(&mut self, mask: u16) -> Result<(), ErrorKind> {
        op(&self.0, |w| {
            w.backlight = mask;
            let now = w.now;
            w.backlight_log.push((now, mask));
        });
        Ok(())
    }
}

impl lock_hal::Motor for SimMotor {
    fn drive(&mut self, direction: MotorDirection, _toward: BoltEnd) -> Result<(), ErrorKind> {
        op(&self.0, |w| {
            w.record_motor(MotorCall::Drive(direction));
            let forward_unlocks = !w.mirrored;
            let target = match (direction, forward_unlocks) {
                (MotorDirection::Forward, true) | (MotorDirection::Reverse, false) => {
                    BoltPosition::Unlocked
                }
                _ => BoltPosition::Locked,
            };
            w.motor_on = true;
            if w.bolt != target {
                if w.jammed {
                    // Stuck where it is: the motor stalls.
                    w.stall_at = Some(w.now.saturating_add(STALL_MS));
                    w.arrival = None;
                } else {
                    match w.body {
                        Body::Working => {
                            w.bolt = BoltPosition::Between;
                            w.arrival = Some((w.now.saturating_add(TRAVEL_MS), target));
                        }
                        Body::Stalls => {
                            w.bolt = BoltPosition::Between;
                            w.stall_at = Some(w.now.saturating_add(TRAVEL_MS / 2));
                        }
                        Body::Silent => {}
                    }
                }
            }
        });
        Ok(())
    }
    fn brake(&mut self) -> Result<(), ErrorKind> {
        op(&self.0, |w| {
            w.record_motor(MotorCall::Brake);
            w.motor_on = false;
            w.arrival = None;
            w.stall_at = None;
        });
        Ok(())
    }
    fn coast(&mut self) -> Result<(), ErrorKind> {
        op(&self.0, |w| {
            w.record_motor(MotorCall::Coast);
            w.motor_on = false;
            w.arrival = None;
            w.stall_at = None;
        });
        Ok(())
    }
}

impl World {
    /// What the bolt's switches read: where the bolt is, at an end that has
    /// a switch; between otherwise.
    pub fn bolt_reading(&self) -> BoltPosition {
        match self.bolt {
            BoltPosition::Locked if self.switches.at(lock_core::BoltPosition::Locked) => {
                BoltPosition::Locked
            }
            BoltPosition::Unlocked if self.switches.at(lock_core::BoltPosition::Unlocked) => {
                BoltPosition::Unlocked
            }
            _ => BoltPosition::Between,
        }
    }
}

impl lock_hal::BoltSensor for SimBolt {
    fn position(&mut self) -> Result<BoltPosition, ErrorKind> {
        Ok(self.0.borrow().bolt_reading())
    }
    async fn wait_for_change(&mut self, last: BoltPosition) -> Result<BoltPosition, ErrorKind> {
        Ok(until(&self.0, |w| {
            let now = w.bolt_reading();
            (now != last).then_some(now)
        })
        .await)
    }
}

impl lock_hal::StallSensor for SimStall {
    async fn wait_for_stall(&mut self) -> Result<(), ErrorKind> {
        until(&self.0, |w| core::mem::take(&mut w.stalled).then_some(())).await;
        Ok(())
    }
}

impl lock_hal::ContactSensor for SimDoor {
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

impl lock_hal::TriggerSensor for SimTamper {
    async fn wait_for_trigger(&mut self) -> Result<(), ErrorKind> {
        until(&self.0, |w| {
            (w.tampers > 0).then(|| w.tampers = w.tampers.saturating_sub(1))
        })
        .await;
        Ok(())
    }
}

impl lock_hal::TriggerSensor for SimCylinder {
    async fn wait_for_trigger(&mut self) -> Result<(), ErrorKind> {
        until(&self.0, |w| {
            (w.key_turns > 0).then(|| w.key_turns = w.key_turns.saturating_sub(1))
        })
        .await;
        Ok(())
    }
}

impl lock_hal::Button for SimSet {
    fn is_pressed(&mut self) -> Result<bool, ErrorKind> {
        Ok(self.0.borrow().set_held)
    }
    async fn wait_for_press(&mut self) -> Result<Press, ErrorKind> {
        Ok(until(&self.0, |w| w.set_presses.pop_front()).await)
    }
}

impl lock_hal::Button for SimLockButton {
    fn is_pressed(&mut self) -> Result<bool, ErrorKind> {
        Ok(false)
    }
    async fn wait_for_press(&mut self) -> Result<Press, ErrorKind> {
        Ok(until(&self.0, |w| w.lock_presses.pop_front()).await)
    }
}

impl lock_hal::Battery for SimBattery {
    async fn measure(&mut self) -> Result<u8, ErrorKind> {
        Ok(act(&self.0, |w| {
            w.measurements = w.measurements.saturating_add(1);
            w.battery
        })
        .await)
    }
}

impl lock_hal::UsbPower for SimUsb {
    fn is_present(&mut self) -> Result<bool, ErrorKind> {
        Ok(self.0.borrow().usb)
    }
    async fn wait_for_change(&mut self, last: bool) -> Result<bool, ErrorKind> {
        Ok(until(&self.0, |w| (w.usb != last).then_some(w.usb)).await)
    }
}

impl lock_hal::Voice for SimVoice {
    async fn play(&mut self, clip: u16) -> Result<(), ErrorKind> {
        act(&self.0, |w| {
            let now = w.now;
            w.clips.push((now, clip));
            // A new clip cuts the one playing.
            let length = w.clip_ms.unwrap_or_else(|| timing::clip_ms(clip));
            w.playing_clip = Some(clip);
            w.playing_until = now.saturating_add(length);
        })
        .await;
        Ok(())
    }
    async fn wait_until_done(&mut self) -> Result<(), ErrorKind> {
        // Until the clip playing now ends (a new one may cut it meanwhile).
        poll_fn(|_| {
            let mut w = self.0.borrow_mut();
            if w.dead {
                return Poll::Pending;
            }
            if w.now >= w.playing_until {
                w.playing_clip = None;
                w.bump();
                return Poll::Ready(());
            }
            let until = w.playing_until;
            w.wakeup = Some(w.wakeup.map_or(until, |t| t.min(until)));
            Poll::Pending
        })
        .await;
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ErrorKind> {
        act(&self.0, |w| {
            w.playing_until = w.now;
            w.playing_clip = None;
        })
        .await;
        Ok(())
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), ErrorKind> {
        act(&self.0, |w| w.volume = Some(level)).await;
        Ok(())
    }
}

impl lock_hal::Siren for SimSiren {
    fn set(&mut self, on: bool) -> Result<(), ErrorKind> {
        op(&self.0, |w| {
            w.siren = on;
            let now = w.now;
            w.siren_log.push((now, on));
        });
        Ok(())
    }
}

/// Frames that wait for a stalled phone before the next is dropped: lock-ble's
/// `QUEUE`.
pub const STALLED_QUEUE: usize = 2;

impl lock_hal::Transport for SimRadio {
    async fn receive(&mut self, buf: &mut [u8]) -> Result<Received, ErrorKind> {
        loop {
            let next = until(&self.0, |w| {
                if core::mem::take(&mut w.radio_connect) {
                    w.radio_link_up = Some(true);
                    w.radio_stalled = false;
                    Some(None)
                } else {
                    w.radio_in.pop_front().map(Some)
                }
            })
            .await;
            let Some((frame, remote)) = next else {
                return Ok(Received::LinkStarted);
            };
            // Longer than the buffer: dropped, as the trait says.
            if let Some(out) = buf.get_mut(..frame.len()) {
                out.copy_from_slice(&frame);
                self.0.borrow_mut().radio_remote = remote;
                return Ok(Received::Frame(frame.len()));
            }
        }
    }
    /// Never waits (S-PR-7): a stalled phone's queue full, the frame is
    /// dropped.
    async fn send(&mut self, frame: &[u8]) -> Result<(), ErrorKind> {
        op(&self.0, |w| {
            if w.radio_stalled && w.radio_out.len() >= STALLED_QUEUE {
                return Err(ErrorKind::Busy);
            }
            w.radio_out.push_back(frame.to_vec());
            Ok(())
        })
    }
    fn last_was_remote(&self) -> bool {
        self.0.borrow().radio_remote
    }
    /// S-PR-7: the lock ended the link; the phone must connect again.
    fn disconnect(&mut self) {
        op(&self.0, |w| {
            w.radio_link_up = Some(false);
            w.radio_in.clear();
        });
    }
    /// R-NRG-3: the runtime lets the radio go quiet or listen again.
    fn listen(&mut self, on: bool) {
        self.0.borrow_mut().set_radio_listening(on);
    }
}

impl lock_hal::Entropy for SimEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        splitmix_fill(&mut self.0.borrow_mut().entropy, buf);
        Ok(())
    }
}

/// Fills `buf` from splitmix64 at `state`: deterministic, so scenarios
/// repeat exactly. For the simulation only; a lock uses its TRNG.
pub fn splitmix_fill(state: &mut u64, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        for (b, v) in chunk.iter_mut().zip(z.to_le_bytes()) {
            *b = v;
        }
    }
}

/// The app side: lock-proto's protocol over the simulated radio.
pub type SimApp = ProtoApp<SimRadio, SimEntropy>;

/// The lock's app side on `w`'s radio.
pub fn app(w: &Shared) -> SimApp {
    ProtoApp::new(SimRadio(w.clone()), SimEntropy(w.clone()))
}

/// The monotonic clock: the runner moves it.
#[derive(Clone, Debug)]
pub struct SimClock(pub Shared);

/// The clock's delay, in whole milliseconds (rounded up): what the
/// board's [`SimSound`] gives up on a clip with.
impl embedded_hal_async::delay::DelayNs for SimClock {
    async fn delay_ns(&mut self, ns: u32) {
        let ms = u64::from(ns.div_ceil(1_000_000));
        let at = lock_hal::Clock::now_ms(self).saturating_add(ms);
        lock_hal::Clock::wait_until(self, at).await;
    }
    async fn delay_ms(&mut self, ms: u32) {
        let at = lock_hal::Clock::now_ms(self).saturating_add(u64::from(ms));
        lock_hal::Clock::wait_until(self, at).await;
    }
}

impl lock_hal::Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.0.borrow().now
    }
    async fn wait_until(&self, at_ms: u64) {
        // Several futures may wait at once (the control loop and the voice
        // lane): the runner sees the earliest of their wake-ups.
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
        .await;
    }
}

/// A fingerprint, face or palm module. Samples are names: an enrolment
/// takes [`Module::captures`] presented samples, a lift between each (a name
/// already enrolled is refused as a duplicate); identifying a known name
/// matches its template after [`Module::match_ms`], an unknown one finds no
/// match after [`Module::search_ms`]. The module counts its own captures.
#[derive(Clone, Debug)]
pub struct SimModule(pub Shared, pub BiometricKind);

impl ErrorType for SimModule {
    type Error = ErrorKind;
}

impl SimModule {
    /// A module operation, noted in [`Module::calls`]; a failing module
    /// stays silent for its whole timeout. With `sample`, it takes the
    /// presented sample, waiting up to [`Module::window_ms`] for one.
    async fn run<T>(
        &mut self,
        call: String,
        sample: bool,
        f: impl FnOnce(&mut Module, Option<String>) -> T,
    ) -> Result<T, ErrorKind> {
        let kind = self.1;
        let (failing, window) = act(&self.0, |w| {
            let m = w.module_mut(kind);
            m.calls.push(call);
            if m.failing {
                // The finger is lifted while the module stays silent.
                m.presented = None;
            }
            (m.failing, m.window_ms)
        })
        .await;
        if failing {
            // The module's own timeout passes before the driver gives up.
            act(&self.0, |w| {
                // Counted busy until the time out.
                w.energy_sync();
                w.now = w.now.saturating_add(MODULE_TIMEOUT_MS);
                w.energy_sync();
            })
            .await;
            return Err(ErrorKind::Timeout);
        }
        let taken = if sample {
            let deadline = self.0.borrow().now.saturating_add(window);
            until_or(&self.0, deadline, |w| {
                let m = w.module_mut(kind);
                if m.held {
                    m.presented.clone()
                } else {
                    m.presented.take()
                }
            })
            .await
        } else {
            None
        };
        Ok(act(&self.0, |w| f(w.module_mut(kind), taken)).await)
    }

    /// The module works for `ms` (a search, a capture): its answer comes
    /// then.
    async fn work(&self, ms: u64) {
        let kind = self.1;
        let end = act(&self.0, |w| {
            let end = w.now.saturating_add(ms);
            w.module_mut(kind).searching_until = Some(end);
            end
        })
        .await;
        until_or(&self.0, end, |_| None::<()>).await;
        act(&self.0, |w| w.module_mut(kind).searching_until = None).await;
    }

    /// Marks the module busy until the guard goes (the operation ends or
    /// is dropped).
    fn busy(&self) -> Busy {
        self.0.borrow_mut().module_mut(self.1).busy = true;
        Busy(self.0.clone(), self.1)
    }
}

/// A module at work; idle again when dropped.
struct Busy(Shared, BiometricKind);

impl Drop for Busy {
    fn drop(&mut self) {
        if let Ok(mut w) = self.0.try_borrow_mut() {
            // Also a search dropped half-way (the lock stopped it).
            let m = w.module_mut(self.1);
            m.busy = false;
            m.searching_until = None;
        }
    }
}

impl lock_hal::Biometric for SimModule {
    /// Looks for a sample for the module's window; a known one matches
    /// after [`Module::match_ms`], an unknown one finds no match after
    /// [`Module::search_ms`]; no sample at the window's end.
    async fn identify(&mut self) -> Result<Identification, ErrorKind> {
        let _busy = self.busy();
        let (identification, ms) = self
            .run("identify".to_string(), true, |m, sample| match sample {
                None => (Identification::NoSample, 0),
                Some(name) => match m.templates.iter().find(|(n, _)| *n == name) {
                    Some((_, id)) => (Identification::Match(TemplateId(*id)), m.match_ms),
                    None => (Identification::NoMatch, m.search_ms),
                },
            })
            .await?;
        if ms > 0 {
            self.work(ms).await;
        }
        Ok(identification)
    }
    async fn begin_enroll(&mut self, template: TemplateId) -> Result<(), ErrorKind> {
        let kind = self.1;
        act(&self.0, |w| {
            let m = w.module_mut(kind);
            m.calls.push(format!("begin_enroll {}", template.0));
            m.enrolling = Some((template.0, 0));
        })
        .await;
        Ok(())
    }
    /// Takes the sample (waiting the module's window for it), then one
    /// capture's time. Without an enrolment begun it refuses at once, the
    /// sample left where it is, as lock-hal allows: a bad capture.
    async fn enroll_step(&mut self) -> Result<EnrollStatus, ErrorKind> {
        let kind = self.1;
        let begun = self.0.borrow_mut().module_mut(kind).enrolling.is_some();
        if !begun {
            return self
                .run("enroll_step".to_string(), false, |_, _| {
                    EnrollStatus::Refused(EnrollRefusal::BadCapture)
                })
                .await;
        }
        let _busy = self.busy();
        let (status, ms) = self
            .run("enroll_step".to_string(), true, |m, sample| {
                let Some((template, taken)) = m.enrolling else {
                    return (EnrollStatus::Refused(EnrollRefusal::BadCapture), 0);
                };
                let Some(name) = sample else {
                    m.enrolling = None;
                    return (EnrollStatus::Refused(EnrollRefusal::Timeout), 0);
                };
                let status = if m.templates.iter().any(|(n, _)| *n == name) {
                    m.enrolling = None;
                    EnrollStatus::Refused(EnrollRefusal::Duplicate)
                } else if taken.saturating_add(1) < m.captures.max(1) {
                    m.enrolling = Some((template, taken.saturating_add(1)));
                    EnrollStatus::Next(EnrollStep::Lift)
                } else {
                    m.enrolling = None;
                    m.templates.retain(|(_, id)| *id != template);
                    m.templates.push((name, template));
                    EnrollStatus::Enrolled(TemplateId(template))
                };
                (status, m.capture_ms)
            })
            .await?;
        if ms > 0 {
            self.work(ms).await;
        }
        Ok(status)
    }
    async fn cancel_enroll(&mut self) -> Result<(), ErrorKind> {
        self.run("cancel_enroll".to_string(), false, |m, _| {
            m.enrolling = None;
        })
        .await
    }
    async fn delete(&mut self, template: TemplateId) -> Result<(), ErrorKind> {
        self.run(format!("delete {}", template.0), false, |m, _| {
            m.templates.retain(|(_, id)| *id != template.0);
        })
        .await
    }
    async fn clear(&mut self) -> Result<(), ErrorKind> {
        self.run("clear".to_string(), false, |m, _| m.templates.clear())
            .await
    }
}

/// What tells a module that a sample is presented (a finger's WAKEUP line,
/// a face module's presence sensor).
#[derive(Clone, Debug)]
pub struct SimSensor(pub Shared, pub BiometricKind);

impl ErrorType for SimSensor {
    type Error = ErrorKind;
}

impl lock_hal::SampleSensor for SimSensor {
    async fn wait_for_sample(&mut self) -> Result<(), ErrorKind> {
        let kind = self.1;
        until(&self.0, |w| {
            w.module_mut(kind).presented.is_some().then_some(())
        })
        .await;
        Ok(())
    }
    async fn wait_for_removal(&mut self) -> Result<(), ErrorKind> {
        let kind = self.1;
        until(&self.0, |w| {
            w.module_mut(kind).presented.is_none().then_some(())
        })
        .await;
        Ok(())
    }
}

/// The board's sound: lock-drivers' voice clip table played on the
/// simulated voice module, so the world records the clips a real module
/// would play; and the key clicks, which a voice module does not play,
/// noted in [`World::clicks`].
pub struct SimSound {
    voice: VoicePrompts<SimVoice, SimClock>,
    world: Shared,
}

impl SimSound {
    /// The sound of `w`'s voice module.
    pub fn new(w: &Shared) -> SimSound {
        SimSound {
            voice: VoicePrompts::new(SimVoice(w.clone()), SimClock(w.clone())),
            world: w.clone(),
        }
    }
}

impl ErrorType for SimSound {
    type Error = ErrorKind;
}

impl lock_hal::Sound for SimSound {
    async fn say(&mut self, what: &lock_hal::Announcement) -> Result<(), ErrorKind> {
        self.voice.say(what).await
    }
    async fn stop(&mut self) -> Result<(), ErrorKind> {
        self.voice.stop().await
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), ErrorKind> {
        self.voice.set_volume(level).await
    }
    async fn click(&mut self) -> Result<(), ErrorKind> {
        act(&self.world, |w| {
            let now = w.now;
            w.clicks.push(now);
        })
        .await;
        self.voice.click().await
    }
}

/// The clips the simulated board plays for the core's `prompt`: the
/// runtime's announcement of it, through lock-drivers' clip table.
pub fn prompt_clips(prompt: &lock_core::Prompt) -> Clips {
    clips(&lock_runtime::announcement(prompt))
}

/// The simulated board: every part a [`World`] view.
#[derive(Debug)]
pub struct SimBoard;

impl Board for SimBoard {
    type Keypad = SimKeypad;
    type Backlight = SimBacklight;
    type Face = SimModule;
    type Palm = SimModule;
    type Finger = SimModule;
    type FaceSensor = SimSensor;
    type PalmSensor = SimSensor;
    type FingerSensor = SimSensor;
    type Motor = SimMotor;
    type BoltSensor = SimBolt;
    type StallSensor = SimStall;
    type DoorSensor = SimDoor;
    type Tamper = SimTamper;
    type KeyCylinder = SimCylinder;
    type SetButton = SimSet;
    type LockButton = SimLockButton;
    type Battery = SimBattery;
    type UsbPower = SimUsb;
    type Sound = SimSound;
    type Siren = SimSiren;
    type Clock = SimClock;
}

/// The board's parts, all looking at `w`.
pub fn hardware(w: &Shared) -> Hardware<SimBoard> {
    Hardware {
        keypad: SimKeypad(w.clone()),
        backlight: SimBacklight(w.clone()),
        face: SimModule(w.clone(), BiometricKind::Face),
        palm: SimModule(w.clone(), BiometricKind::Palm),
        finger: SimModule(w.clone(), BiometricKind::Finger),
        face_sensor: SimSensor(w.clone(), BiometricKind::Face),
        palm_sensor: SimSensor(w.clone(), BiometricKind::Palm),
        finger_sensor: SimSensor(w.clone(), BiometricKind::Finger),
        motor: SimMotor(w.clone()),
        bolt: SimBolt(w.clone()),
        stall: SimStall(w.clone()),
        door: SimDoor(w.clone()),
        tamper: SimTamper(w.clone()),
        key_cylinder: SimCylinder(w.clone()),
        set_button: SimSet(w.clone()),
        lock_button: SimLockButton(w.clone()),
        battery: SimBattery(w.clone()),
        usb_power: SimUsb(w.clone()),
        sound: SimSound::new(w),
        siren: SimSiren(w.clone()),
        clock: SimClock(w.clone()),
    }
}

// ----- flash ---------------------------------------------------------------

/// Bytes per erase sector of the simulated flash.
pub const SECTOR: usize = 4096;
/// Bytes per word (write granularity).
pub const WORD: usize = 4;

/// The simulated flash: lock-store's strict mock NOR flash (ESP32-C3
/// geometry), shared so that it survives the runtime (a power cycle).
/// [`open_flash`] and [`save_flash`] keep it in a file.
pub type SimFlash = SharedMockFlash<WORD, SECTOR>;

/// The flash kept in `path`, or an erased one of `sectors` sectors when
/// the file does not exist or has another size.
#[cfg(feature = "std")]
pub fn open_flash(path: &std::path::Path, sectors: usize) -> SimFlash {
    SimFlash::from_image_or_erased(std::fs::read(path).ok().as_deref(), sectors)
}

/// Writes `flash`'s image to `path`.
#[cfg(feature = "std")]
pub fn save_flash(flash: &SimFlash, path: &std::path::Path) -> std::io::Result<()> {
    std::fs::write(path, flash.image())
}

// ----- store ---------------------------------------------------------------

/// The real `lock-store` on the simulated flash, as the runtime's
/// [`StateStore`]: module work a load reports (S-ST-2) is carried out on the
/// simulated modules at once, and every log record is also shown to the
/// world (for `expect event`).
pub struct SimStore {
    store: lock_store::Store<SimFlash>,
    world: Shared,
}

impl core::fmt::Debug for SimStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SimStore")
    }
}

/// Sectors of the simulated flash: the state range, then the log range.
pub fn flash_layout() -> (lock_store::StoreConfig, usize) {
    let state_bytes = lock_store::StoreConfig::min_state_bytes::<SimFlash>();
    let state_sectors = usize::try_from(state_bytes)
        .unwrap_or(usize::MAX)
        .div_ceil(SECTOR)
        .saturating_add(2);
    let log_sectors = 4;
    let sector = u32::try_from(SECTOR).unwrap_or(u32::MAX);
    let state_end = u32::try_from(state_sectors)
        .unwrap_or(0)
        .saturating_mul(sector);
    (
        lock_store::StoreConfig::state_then_log(state_end, sector.saturating_mul(log_sectors)),
        state_sectors.saturating_add(4),
    )
}

impl SimStore {
    /// The store on `flash`.
    pub fn new(flash: SimFlash, world: Shared) -> Result<SimStore, lock_store::ConfigError> {
        let (config, _) = flash_layout();
        Ok(SimStore {
            store: lock_store::Store::new(flash, config)?,
            world,
        })
    }
}

/// The store writes a change to flash: the energy account counts it (the
/// processor stays awake for the write).
fn flash_written(world: &Shared) {
    if let Ok(mut w) = world.try_borrow_mut() {
        w.energy_note(energy::Account::flash_write);
    }
}

fn kind_of<E>(e: &lock_store::StoreError<E>) -> StoreErrorKind {
    use lock_store::StoreError as E;
    match e {
        E::Flash(_) => StoreErrorKind::Flash,
        E::Corrupted | E::UnsupportedVersion(_) => StoreErrorKind::Corrupted,
        E::Full => StoreErrorKind::Full,
        _ => StoreErrorKind::Other,
    }
}

impl StateStore for SimStore {
    type Error = StoreErrorKind;

    async fn load(&mut self) -> Result<Snapshot, StoreErrorKind> {
        let mut snapshot = Snapshot::default();
        self.load_into(&mut snapshot).await?;
        Ok(snapshot)
    }

    // The runtime's boot path: lock-store fills the runtime's snapshot in
    // place, as on a board.
    async fn load_into(&mut self, snapshot: &mut Snapshot) -> Result<(), StoreErrorKind> {
        self.store
            .load_into(snapshot)
            .await
            .map_err(|e| kind_of(&e))?;
        let commands: Vec<ModuleCommand> = self.store.module_work().commands().collect();
        if !commands.is_empty() {
            {
                let mut w = self.world.borrow_mut();
                for command in commands {
                    match command {
                        ModuleCommand::Clear(kind) => {
                            if let Some(m) = w.module(kind) {
                                m.templates.clear();
                            }
                        }
                        ModuleCommand::Delete { kind, template } => {
                            if let Some(m) = w.module(kind) {
                                m.templates.retain(|(_, id)| *id != template.0);
                            }
                        }
                        _ => {}
                    }
                }
            }
            self.store
                .module_work_done()
                .await
                .map_err(|e| kind_of(&e))?;
        }
        Ok(())
    }

    async fn apply(&mut self, change: &Change) -> Result<(), StoreErrorKind> {
        flash_written(&self.world);
        self.store.apply(change).await.map_err(|e| kind_of(&e))
    }

    async fn log_page(&mut self, before: Option<u32>) -> Result<LogPage, StoreErrorKind> {
        let page = self
            .store
            .read_log::<LOG_PAGE>(before)
            .await
            .map_err(|e| kind_of(&e))?;
        Ok(page.iter().map(|l| (l.seq, l.record)).collect())
    }

    async fn read_app_record(
        &mut self,
        slot: u8,
        buf: &mut [u8],
    ) -> Result<Option<usize>, StoreErrorKind> {
        self.store
            .read_app(slot, buf)
            .await
            .map_err(|e| kind_of(&e))
    }

    async fn read_app_records(
        &mut self,
        f: &mut dyn FnMut(u8, Option<&[u8]>),
    ) -> Result<(), StoreErrorKind> {
        self.store.for_each_app(f).await.map_err(|e| kind_of(&e))
    }

    async fn write_app_record(
        &mut self,
        slot: u8,
        record: Option<&[u8]>,
    ) -> Result<(), StoreErrorKind> {
        flash_written(&self.world);
        self.store
            .write_app(slot, record)
            .await
            .map_err(|e| kind_of(&e))
    }

    async fn append_log(&mut self, record: &LogRecord) -> Result<(), StoreErrorKind> {
        flash_written(&self.world);
        self.store
            .append_log(record)
            .await
            .map_err(|e| kind_of(&e))?;
        op(&self.world, |w| w.log.push(*record));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::pin::pin;
    use core::task::{Context, Waker};
    use lock_hal::{Biometric as _, SampleSensor as _, Voice as _};

    /// Runs `f` to its end as the runner does: poll, and when it waits,
    /// move time to the moment it asked to be woken. Returns its output
    /// and when it ended.
    fn drive<T>(world: &Shared, f: impl Future<Output = T>) -> (T, u64) {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1_000 {
            world.borrow_mut().wakeup = None;
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return (v, world.borrow().now);
            }
            let at = world.borrow().wakeup.expect("a part waits for nothing");
            world.borrow_mut().advance_to(at);
        }
        panic!("never ended");
    }

    fn world_with(kind: BiometricKind, name: &str, id: u16) -> Shared {
        let w: Shared = Rc::new(RefCell::new(World::new()));
        if let Some(m) = w.borrow_mut().module(kind) {
            m.templates.push((name.into(), id));
        }
        w
    }

    fn present(w: &Shared, kind: BiometricKind, name: &str) {
        if let Some(m) = w.borrow_mut().module(kind) {
            m.presented = Some(name.into());
        }
    }

    #[test]
    fn a_clip_plays_for_its_length_and_a_new_one_cuts_it() {
        let w: Shared = Rc::new(RefCell::new(World::new()));
        let mut voice = SimVoice(w.clone());
        drive(&w, voice.play(30)).0.unwrap();
        assert_eq!(w.borrow().playing(), Some(30));
        let (done, ended) = drive(&w, voice.wait_until_done());
        assert_eq!(done, Ok(()));
        assert_eq!(ended, timing::clip_ms(30));
        assert_eq!(w.borrow().playing(), None);
        // Nothing playing: done at once.
        let (done, again) = drive(&w, voice.wait_until_done());
        assert_eq!(done, Ok(()));
        assert_eq!(again, ended);
        drive(&w, voice.play(25)).0.unwrap();
        drive(&w, voice.play(29)).0.unwrap();
        assert_eq!(w.borrow().playing(), Some(29));
        let (done, cut) = drive(&w, voice.wait_until_done());
        assert_eq!(done, Ok(()));
        assert_eq!(cut, ended + timing::clip_ms(29));
        drive(&w, voice.play(25)).0.unwrap();
        drive(&w, voice.stop()).0.unwrap();
        assert_eq!(w.borrow().playing(), None);
        assert_eq!(
            w.borrow().clips,
            [(0, 30), (ended, 25), (ended, 29), (cut, 25)]
        );
    }

    #[test]
    fn a_fingerprint_search_takes_half_a_second_hit_or_miss() {
        let kind = BiometricKind::Finger;
        let w = world_with(kind, "alice", 3);
        let mut finger = SimModule(w.clone(), kind);
        present(&w, kind, "alice");
        let (hit, at) = drive(&w, finger.identify());
        assert_eq!(hit, Ok(Identification::Match(TemplateId(3))));
        assert_eq!(at, 500);
        present(&w, kind, "mallory");
        let (miss, later) = drive(&w, finger.identify());
        assert_eq!(miss, Ok(Identification::NoMatch));
        assert_eq!(later, at + 500);
        // No finger: GenImg is asked until the driver's present timeout.
        let (none, end) = drive(&w, finger.identify());
        assert_eq!(none, Ok(Identification::NoSample));
        assert_eq!(end, later + timing::FINGER_PRESENT_TIMEOUT_MS);
    }

    #[test]
    fn a_face_search_matches_in_a_second_and_fails_only_at_its_timeout() {
        let kind = BiometricKind::Face;
        let w = world_with(kind, "alice", 1);
        let mut face = SimModule(w.clone(), kind);
        present(&w, kind, "alice");
        let (hit, at) = drive(&w, face.identify());
        assert_eq!(hit, Ok(Identification::Match(TemplateId(1))));
        assert_eq!(at, timing::FACE_MATCH_MS);
        present(&w, kind, "mallory");
        let (miss, later) = drive(&w, face.identify());
        assert_eq!(miss, Ok(Identification::NoMatch));
        assert_eq!(later, at + timing::FACE_SEARCH_TIMEOUT_MS);
        let (none, end) = drive(&w, face.identify());
        assert_eq!(none, Ok(Identification::NoSample));
        assert_eq!(end, later + timing::FACE_SEARCH_TIMEOUT_MS);
    }

    #[test]
    fn a_face_that_comes_during_the_search_is_matched_a_second_later() {
        let kind = BiometricKind::Face;
        let w = world_with(kind, "alice", 1);
        let mut face = SimModule(w.clone(), kind);
        let mut search = pin!(face.identify());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(search.as_mut().poll(&mut cx).is_pending());
        let busy = |w: &Shared| w.borrow_mut().module(kind).is_some_and(|m| m.busy);
        assert!(
            busy(&w),
            "searching: the runner holds a sample until the answer"
        );
        w.borrow_mut().advance_to(4_000);
        present(&w, kind, "alice");
        let (hit, at) = drive(&w, search);
        assert_eq!(hit, Ok(Identification::Match(TemplateId(1))));
        assert_eq!(at, 4_000 + timing::FACE_MATCH_MS);
        assert!(!busy(&w));
    }

    #[test]
    fn an_enrolment_step_takes_its_capture_time_and_needs_a_begin() {
        let kind = BiometricKind::Finger;
        let w = world_with(kind, "alice", 3);
        let mut finger = SimModule(w.clone(), kind);
        present(&w, kind, "bob");
        // Nothing begun: refused at once, the sample left where it is.
        let (refused, at) = drive(&w, finger.enroll_step());
        assert_eq!(
            refused,
            Ok(EnrollStatus::Refused(EnrollRefusal::BadCapture))
        );
        assert_eq!(at, 0);
        drive(&w, finger.begin_enroll(TemplateId(4))).0.unwrap();
        let (enrolled, at) = drive(&w, finger.enroll_step());
        assert_eq!(enrolled, Ok(EnrollStatus::Enrolled(TemplateId(4))));
        assert_eq!(at, timing::enroll_step_ms(kind));
        // A second begin abandons the first: the step enrols under the new id.
        drive(&w, finger.begin_enroll(TemplateId(7))).0.unwrap();
        drive(&w, finger.begin_enroll(TemplateId(8))).0.unwrap();
        present(&w, kind, "alice");
        let (duplicate, _) = drive(&w, finger.enroll_step());
        assert_eq!(
            duplicate,
            Ok(EnrollStatus::Refused(EnrollRefusal::Duplicate))
        );
        assert_eq!(w.borrow().modules[2].enrolling, None);
    }

    #[test]
    fn the_sensor_sees_a_sample_and_leaves_it_to_the_module() {
        let kind = BiometricKind::Palm;
        let w: Shared = Rc::new(RefCell::new(World::new()));
        let mut sensor = SimSensor(w.clone(), kind);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pin!(sensor.wait_for_sample()).poll(&mut cx).is_pending());
        present(&w, kind, "alice");
        assert!(pin!(sensor.wait_for_sample()).poll(&mut cx).is_ready());
        assert!(
            w.borrow_mut()
                .module(kind)
                .is_some_and(|m| m.presented.is_some())
        );
    }
}
