//! The state machine: [`Lock`], and the dispatcher that hands each event to
//! the concern it belongs to.
//!
//! The lock's state is grouped by concern, each a type with its own methods
//! in its own file under `lock/`:
//!
//! | file | what |
//! |---|---|
//! | `stored.rs` | [`Stored`](stored::Stored): what the store's [`Snapshot`] holds, checked again at boot |
//! | `timers.rs` | [`Timers`](timers::Timers): every deadline, keyed by [`Timer`](timers::Timer), and the one `expire` |
//! | `clock.rs` | [`Wall`](clock::Wall): the trusted wall clock, how far it got, its mark on flash |
//! | `body.rs` | [`Body`](body::Body): bolt, door, the countdown lock, leaving-home mode |
//! | `keypad.rs` | [`Keypad`](keypad::Keypad): the dialogue at the door, first start, its [`Mode`](keypad::Mode) |
//! | `menu.rs` | the menu's screens |
//! | `people.rs` | storing and deleting people, settings, the factory reset |
//! | `verify.rs` | the verdict on a credential, checked twice; failures and lockout |
//! | `alarms.rs` | alarms, the tamper siren, battery and USB power |
//! | `app.rs` | the app's commands, pairing mode |
//!
//! Each rule's implementing function carries its id in its doc comment.

mod alarms;
mod app;
mod body;
mod clock;
mod keypad;
mod menu;
mod people;
mod stored;
mod timers;
mod verify;

use crate::action::{Action, Actions, Alarms, BoltState, KeyMask, LockMethod, Prompt, Status};
use crate::attempts::Lockout;
use crate::event::{AlarmKind, DoorState, Event};
use crate::log::{LogEntry, LogRecord};
use crate::person::{Modules, People};
use crate::settings::{RadioListening, Settings};
use crate::snapshot::{RestoreError, Snapshot};
use crate::time::{Instant, Timestamp, WallClock};
use crate::visitor::{NoVisitorCodes, VisitorCodes};

#[cfg(any(test, feature = "fault-injection"))]
use crate::{action::Method, person::PersonNumber};

pub use alarms::{CAMERA_MIN_BATTERY, TAMPER_ALARM};
pub use app::PAIRING_WINDOW;
pub use body::{BoltBody, BoltSwitches};
pub use clock::{CLOCK_MARK_INTERVAL, CLOCK_MAX_STEP_BACK, WATCHED_ENDS};
pub use keypad::KEYPAD_TIMEOUT;

use body::Body;
use clock::Wall;
use keypad::{Keypad, Mode};
use stored::Stored;
pub use timers::Timer;
use timers::Timers;

/// Who the lock is, for the menu's system information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Config {
    /// The serial number.
    pub serial: u64,
    /// Firmware version: major, minor, patch.
    pub firmware: (u8, u8, u8),
    /// The verification code the app shows when pairing, derived by the
    /// protocol layer from the lock's identity key.
    pub verification_code: u32,
    /// How the radio listens until an administrator chooses
    /// ([`Setting::Radio`](crate::Setting::Radio)): the board's default,
    /// for what its radio costs while the lock sleeps. Default: always.
    pub radio: RadioListening,
    /// The lock body: its switches and travel limit. Default: both
    /// switches, 6 s.
    pub bolt: BoltBody,
    /// The biometric modules fitted. Default: all three.
    pub modules: Modules,
    /// The Matter manual pairing code (11 digits, from the device's
    /// onboarding codes, as on its label) that system information speaks
    /// after the verification code, on a lock that is a Matter device
    /// (SPEC §10). Default: none.
    pub matter_code: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            serial: 0,
            firmware: (0, 1, 0),
            verification_code: 0,
            radio: RadioListening::Always,
            bolt: BoltBody::default(),
            modules: Modules::ALL,
            matter_code: None,
        }
    }
}

/// The whole lock, as a state machine.
///
/// Calling order: build with [`Lock::new`] (factory-fresh) or [`Lock::restore`]
/// (from the store's snapshot), send [`Event::Boot`], then every input with
/// [`Lock::handle`]; after each call, execute the returned [`Actions`] in order
/// (each [`Action::Persist`] and [`Action::Log`] completed before the next
/// action) and wait until [`Lock::next_deadline`] or the next input, whichever
/// comes first, then send [`Event::Tick`] for a deadline. Ticks that come late,
/// twice or for no reason do nothing harmful. `now` must not go backwards.
///
/// `V` checks offline visitor codes typed at the keypad; the default,
/// [`NoVisitorCodes`], accepts none. See [`Lock::with_visitor_codes`].
#[derive(Debug, Clone)]
pub struct Lock<V = NoVisitorCodes> {
    config: Config,
    visitor_codes: V,
    /// What survives a power cut, as the store holds it.
    stored: Stored,
    /// The stored state could not be read: the lock is fail-secure.
    storage_fault: bool,
    /// Every deadline.
    timers: Timers,
    /// The trusted wall clock.
    wall: Wall,
    /// The keypad dialogue.
    keypad: Keypad,
    /// Bolt, door and what they imply.
    body: Body,
    alarms: Alarms,
    battery: u8,
    usb_power: bool,

    #[cfg(any(test, feature = "fault-injection"))]
    forced_first_check: Option<(PersonNumber, Method)>,
}

impl Lock {
    /// A factory-fresh lock: no people, default settings, at the door-direction
    /// question once booted. It accepts no visitor codes.
    pub fn new(config: Config) -> Lock {
        Lock::with_visitor_codes(config, NoVisitorCodes)
    }

    /// [`Lock::restore_with`] for a lock that accepts no visitor codes.
    pub fn restore(
        config: Config,
        snapshot: &Snapshot,
        now: Instant,
    ) -> Result<Lock, RestoreError> {
        Lock::restore_with(config, NoVisitorCodes, snapshot, now)
    }

    /// [`Lock::fail_secure_with`] for a lock that accepts no visitor codes.
    pub fn fail_secure(config: Config) -> Lock {
        Lock::fail_secure_with(config, NoVisitorCodes)
    }
}

impl<V: VisitorCodes> Lock<V> {
    /// A factory-fresh lock that also accepts the offline visitor codes
    /// `visitor_codes` recognises.
    pub fn with_visitor_codes(config: Config, visitor_codes: V) -> Lock<V> {
        Lock {
            config,
            visitor_codes,
            stored: Stored::new(),
            storage_fault: false,
            timers: Timers::new(),
            wall: Wall::new(),
            keypad: Keypad::new(),
            body: Body::new(),
            alarms: Alarms::default(),
            battery: 100,
            usb_power: false,
            #[cfg(any(test, feature = "fault-injection"))]
            forced_first_check: None,
        }
    }

    /// A lock restored from the store's snapshot at `now`. Every record is
    /// checked again (flash is untrusted): capacities, duplicate numbers and
    /// template ids, passcode rules, an administrator among the people. On
    /// error, start with [`Lock::fail_secure_with`] instead.
    pub fn restore_with(
        config: Config,
        visitor_codes: V,
        snapshot: &Snapshot,
        now: Instant,
    ) -> Result<Lock<V>, RestoreError> {
        // As `with_visitor_codes` builds it, but for the stored state's
        // frame (`Stored::new_apart`).
        let mut lock = Lock {
            config,
            visitor_codes,
            stored: Stored::new_apart(),
            storage_fault: false,
            timers: Timers::new(),
            wall: Wall::new(),
            keypad: Keypad::new(),
            body: Body::new(),
            alarms: Alarms::default(),
            battery: 100,
            usb_power: false,
            #[cfg(any(test, feature = "fault-injection"))]
            forced_first_check: None,
        };
        lock.restore_stored(snapshot, now)?;
        Ok(lock)
    }

    /// [`Lock::restore_with`] into this lock, in place: what it held is
    /// forgotten. No lock-sized value is built on the stack (a `Lock` is
    /// about 13 KB), so a firmware that keeps its lock in a static restores
    /// it with this at boot. On error the lock is as
    /// [`Lock::fail_secure_with`] makes one, and the error says why.
    pub fn restore_in_place(
        &mut self,
        config: Config,
        visitor_codes: V,
        snapshot: &Snapshot,
        now: Instant,
    ) -> Result<(), RestoreError> {
        self.renew(config, visitor_codes);
        let restored = self.restore_stored(snapshot, now);
        if restored.is_err() {
            self.stored.reset();
            self.body = Body::new();
            self.alarms = Alarms::default();
            self.storage_fault = true;
        }
        restored
    }

    /// [`Lock::fail_secure_with`] into this lock, in place (see
    /// [`Lock::restore_in_place`]).
    pub fn fail_secure_in_place(&mut self, config: Config, visitor_codes: V) {
        self.renew(config, visitor_codes);
        self.storage_fault = true;
    }

    /// The stored state and what [`Armed`](crate::Armed) says, taken from
    /// `snapshot` into a factory-fresh lock. Not inlined: its frame stays
    /// its own instead of joining a caller's that holds a whole `Lock`.
    #[inline(never)]
    fn restore_stored(&mut self, snapshot: &Snapshot, now: Instant) -> Result<(), RestoreError> {
        self.stored.restore(snapshot, now)?;
        self.body.leaving_home = snapshot.armed.leaving_home;
        self.alarms.set(AlarmKind::Duress, snapshot.armed.duress);
        self.alarms
            .set(AlarmKind::Intrusion, snapshot.armed.intrusion);
        Ok(())
    }

    /// Back to what [`Lock::with_visitor_codes`] builds, in place.
    /// Exhaustive, so a new field cannot be forgotten here.
    fn renew(&mut self, config: Config, visitor_codes: V) {
        let Lock {
            config: my_config,
            visitor_codes: my_visitor_codes,
            stored,
            storage_fault,
            timers,
            wall,
            keypad,
            body,
            alarms,
            battery,
            usb_power,
            #[cfg(any(test, feature = "fault-injection"))]
            forced_first_check,
        } = self;
        *my_config = config;
        *my_visitor_codes = visitor_codes;
        stored.reset();
        *storage_fault = false;
        *timers = Timers::new();
        *wall = Wall::new();
        *keypad = Keypad::new();
        *body = Body::new();
        *alarms = Alarms::default();
        *battery = 100;
        *usb_power = false;
        #[cfg(any(test, feature = "fault-injection"))]
        {
            *forced_first_check = None;
        }
    }

    /// A lock whose stored state could not be read: it opens for no
    /// credential and offers no first start; only the mechanical key opens and
    /// only a factory reset brings it back.
    pub fn fail_secure_with(config: Config, visitor_codes: V) -> Lock<V> {
        let mut lock = Lock::with_visitor_codes(config, visitor_codes);
        lock.storage_fault = true;
        lock
    }

    /// The visitor-code verifier, to replace its secret after a factory reset
    /// of the app protocol.
    pub fn visitor_codes_mut(&mut self) -> &mut V {
        &mut self.visitor_codes
    }

    /// Sets the verification code after the app protocol's identity changed
    /// (its factory reset): [`Config::verification_code`] from now on.
    pub fn set_verification_code(&mut self, code: u32) {
        self.config.verification_code = code;
    }

    /// What the store should hold now: applying every change emitted so far to
    /// an empty snapshot gives the same value.
    pub fn snapshot(&self) -> Snapshot {
        self.stored.snapshot(self.armed())
    }

    /// The next moment the lock needs a [`Event::Tick`], if any. `None` when
    /// idle with the keypad dark and no timer running: an idle lock needs no
    /// periodic wake-ups, but one whose wall clock runs writes how far it has
    /// got every [`CLOCK_MARK_INTERVAL`].
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_timer().map(|(at, _)| at)
    }

    /// The next deadline and whose it is (the first in [`Timer::ALL`]'s
    /// order when several fall due at once): what a wake-up is for.
    pub fn next_timer(&self) -> Option<(Instant, Timer)> {
        Timer::ALL
            .into_iter()
            .filter_map(|timer| self.deadline(timer).map(|at| (at, timer)))
            .min_by_key(|&(at, _)| at)
    }

    /// Handles one event at `now`, returning what to do, in order.
    pub fn handle(&mut self, now: Instant, event: Event) -> Actions {
        let mut out = Actions::new();
        self.expire(now, &mut out);
        match event {
            Event::Boot { set_held } => self.boot(now, set_held, &mut out),
            Event::Touch => self.touch(now, &mut out),
            Event::Key(key) => self.key(now, key, &mut out),
            Event::KeyHeld(key) => self.key_held(now, key, &mut out),
            Event::Set => self.set_pressed(now, &mut out),
            Event::SetHeld => self.set_held(now, &mut out),
            Event::LockButton => self.lock_bolt(now, LockMethod::InsideButton, &mut out),
            Event::Biometric(b) => self.biometric(now, b, &mut out),
            Event::MechanicalKey => self.mechanical_key(now, &mut out),
            Event::Bolt(report) => self.bolt_report(now, report, &mut out),
            Event::Door(state) => self.door_changed(now, state, &mut out),
            Event::Tamper => self.tamper(now, &mut out),
            Event::Battery(percent) => self.battery_measured(now, percent.min(100), &mut out),
            Event::UsbPower(on) => self.usb_power = on,
            Event::App(request) => self.app(now, request, &mut out),
            Event::PairingCode(code) => self.pairing_code(code, &mut out),
            Event::AppChanged(change) => self.app_changed(now, change, &mut out),
            Event::Tick => {}
        }
        // A deadline derived from what the event changed (a clock set
        // needing its mark, a whole hour it crossed) may be due already.
        self.expire(now, &mut out);
        self.show_keypad(&mut out);
        out
    }

    // ----- queries -------------------------------------------------------

    /// The bolt as the lock believes it to be.
    pub fn bolt(&self) -> BoltState {
        self.body.bolt
    }

    /// The door sensor's last state.
    pub fn door(&self) -> DoorState {
        self.body.door
    }

    /// Active alarms.
    pub fn alarms(&self) -> Alarms {
        self.alarms
    }

    /// Everyone stored.
    pub fn people(&self) -> &People {
        &self.stored.people
    }

    /// R-NRG-3: how the radio listens: the setting, or the board's
    /// default until an administrator chose.
    pub fn radio_listening(&self) -> RadioListening {
        self.stored.settings.radio.unwrap_or(self.config.radio)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.stored.settings
    }

    /// The active lockout, if any.
    pub fn lockout(&self, now: Instant) -> Option<Lockout> {
        self.stored.attempts.lockout(now)
    }

    /// Failures counted since the last success.
    pub fn failures_since_success(&self) -> u16 {
        self.stored.attempts.since_success()
    }

    /// Failures counting towards the fast bound at `now`.
    pub fn recent_failures(&self, now: Instant) -> usize {
        self.stored.attempts.recent(now)
    }

    /// The lit keys, or `None` while the keypad is dark.
    pub fn keypad(&self) -> Option<KeyMask> {
        self.keypad.lit
    }

    /// Whether the menu is open.
    pub fn in_menu(&self) -> bool {
        matches!(self.keypad.mode, Mode::Menu { .. })
    }

    /// Whether leaving-home mode is armed.
    pub fn leaving_home(&self) -> bool {
        self.body.leaving_home
    }

    /// Whether one-time mute is on.
    pub fn muted(&self) -> bool {
        self.keypad.muted
    }

    /// Whether the pairing window is open.
    pub fn pairing(&self) -> bool {
        self.timers.is_set(timers::Timer::Pairing)
    }

    /// Whether the lock started fail-secure after unreadable storage.
    pub fn storage_fault(&self) -> bool {
        self.storage_fault
    }

    /// The wall clock at `now`, if a trusted source has set it.
    pub fn wall_clock(&self, now: Instant) -> Option<Timestamp> {
        self.wall.at(now)
    }

    /// The wall clock at `now` with the furthest it has reached: its
    /// high-water mark while powered and the mark on flash from before a
    /// restart. `None` without a trusted clock.
    pub fn clock(&self, now: Instant) -> Option<WallClock> {
        self.wall.clock(now, self.stored.clock_mark)
    }

    /// R-APP-1: the status the app sees.
    pub fn status(&self) -> Status {
        Status {
            battery: self.battery,
            usb_power: self.usb_power,
            bolt: self.body.bolt,
            door: self.body.door,
            alarms: self.alarms,
            people: u8::try_from(self.stored.people.len()).unwrap_or(u8::MAX),
        }
    }

    /// Forces the first unlock check to grant `person` by `method`, as a glitch
    /// on the comparison would. The second check must still refuse.
    #[cfg(any(test, feature = "fault-injection"))]
    pub fn inject_first_check(&mut self, person: PersonNumber, method: Method) {
        self.forced_first_check = Some((person, method));
    }

    // ----- output helpers, shared by every concern ------------------------

    /// A prompt, unless one-time mute is on.
    fn prompt(&self, out: &mut Actions, prompt: Prompt) {
        if !self.keypad.muted {
            out.push(Action::Prompt(prompt));
        }
    }

    /// A log record stamped with both clocks.
    fn log(&self, now: Instant, out: &mut Actions, entry: LogEntry) {
        out.push(Action::Log(LogRecord {
            at: now,
            wall: self.wall.at(now),
            entry,
        }));
    }
}

#[cfg(test)]
mod tests;
