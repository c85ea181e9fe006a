//! The state machine: [`Lock`].

use subtle::ConstantTimeEq;

use crate::action::{
    Action, Actions, Alarms, Armed, Backlight, BoltState, Change, KeyMask, LockMethod, Method,
    ModuleCommand, Notice, Prompt, Refusal, Reply, Status,
};
use crate::attempts::{Attempts, Lockout};
use crate::event::{
    AlarmKind, AppChange, AppCommand, AppRequest, BiometricEvent, BoltPosition, BoltReport,
    DoorState, EnrollFailure, EnrollStep, Event, Key, Link, Privilege,
};
use crate::log::{Actor, LogEntry, LogRecord};
use crate::passcode::{Entry, Passcode, PasscodeError, PasscodeKind, PasscodeMatch, PasscodeTable};
use crate::person::{BiometricKind, People, PeopleError, Person, PersonNumber, Role, TemplateId};
use crate::settings::{DoorDirection, Setting, Settings};
use crate::snapshot::{RestoreError, Snapshot};
use crate::time::{Duration, Instant, Timestamp, WallClock};
use crate::visitor::{
    NoVisitorCodes, VisitorCodeMatch, VisitorCodes, VisitorCodesUsed, record_use,
};

/// The keypad goes dark this long after the last key (R-MNU-1).
pub const KEYPAD_TIMEOUT: Duration = Duration::from_secs(20);
/// Pairing mode lasts at most this long (R-MNU-7).
pub const PAIRING_WINDOW: Duration = Duration::from_mins(3);
/// The tamper siren sounds this long (R-ALM-1).
pub const TAMPER_ALARM: Duration = Duration::from_mins(1);
/// If the lock body has not reported an end position this long after a drive
/// began, the lock stops the motor itself and calls it a jam (R-LCK-3). The
/// body's own travel timeout should be shorter; this is the backstop.
pub const BOLT_TRAVEL_LIMIT: Duration = Duration::from_secs(8);
/// Below this battery level the camera is refused (R-ALM-3).
pub const CAMERA_MIN_BATTERY: u8 = 20;
/// The wall clock may be set back by at most this much (S-VC-3).
pub const CLOCK_MAX_STEP_BACK: Duration = Duration::from_mins(5);

/// Window ends of credentials kept outside the core (the app protocol's
/// Bluetooth keys) that the lock watches at once (S-VC-3): one per pairing
/// of `lock-proto`.
pub const WATCHED_ENDS: usize = 16;

/// How much wall-clock time passes between two [`Change::ClockMark`]s while
/// the clock runs (S-VC-3). After a restart the clock can be set back at
/// most this much (plus [`CLOCK_MAX_STEP_BACK`]) behind where it had got:
/// the bound on reviving something that expired just before a power cut,
/// for one small flash write per quarter hour.
pub const CLOCK_MARK_INTERVAL: Duration = Duration::from_mins(15);

/// Who the lock is, for R-MNU-6's system information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Config {
    /// The serial number.
    pub serial: u64,
    /// Firmware version: major, minor, patch.
    pub firmware: (u8, u8, u8),
    /// The verification code the app shows when pairing (R-MNU-6), derived by
    /// the protocol layer from the lock's identity key.
    pub verification_code: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            serial: 0,
            firmware: (0, 1, 0),
            verification_code: 0,
        }
    }
}

/// Where the keypad dialogue is.
#[derive(Debug, Clone)]
enum Mode {
    /// At the door: passcode entry, biometrics, locking keys.
    Idle,
    /// First start's question (R-UNL-3); `asked` once ✓ was pressed.
    DoorDirection { asked: bool },
    /// No administrator yet (R-MNU-2): ✓ creates one.
    FirstStart,
    /// Creating the first administrator's passcode; `first` once entered once.
    CreateAdministrator { first: Option<Passcode> },
    /// After SET: waiting for an administrator's credential (R-MNU-3).
    VerifyAdministrator,
    /// The menu, opened by this administrator.
    Menu { admin: PersonNumber, screen: Screen },
    /// Power returned with SET held: ✓ erases everything (R-MNU-9).
    FactoryResetPrompt,
}

/// A screen of the menu (R-MNU-3…6).
#[derive(Debug, Clone)]
enum Screen {
    Top,
    /// Choosing the next credential for `draft`; `stored` once it has one.
    Credential {
        draft: Person,
        stored: bool,
    },
    /// A module is enrolling for `draft`.
    Enrolling {
        draft: Person,
        stored: bool,
        kind: BiometricKind,
    },
    /// Typing a new passcode for `draft`, `first` once entered once.
    NewPasscode {
        draft: Person,
        stored: bool,
        first: Option<Passcode>,
    },
    Delete,
    Settings,
}

/// The evidence behind an unlock, re-checked independently before the motor
/// runs (S-HW-1).
#[derive(Debug, Clone, Copy)]
enum Evidence {
    Passcode(PasscodeMatch),
    Template(BiometricKind, TemplateId),
}

/// A verdict of the first check.
#[derive(Debug, Clone, Copy)]
struct Grant {
    person: PersonNumber,
    method: Method,
    evidence: Evidence,
    duress: bool,
}

/// A non-trivial constant for a granted check, so a single flipped bit or
/// skipped instruction cannot turn a refusal into a grant (S-HW-1).
const GRANTED: u32 = 0x3CA5_5AC3;
const REFUSED: u32 = 0x0000_0000;

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
/// `V` checks offline visitor codes typed at the keypad (R-APP-4); the default,
/// [`NoVisitorCodes`], accepts none. See [`Lock::with_visitor_codes`].
#[derive(Debug, Clone)]
pub struct Lock<V = NoVisitorCodes> {
    config: Config,
    visitor_codes: V,
    /// One-time visitor codes already used (S-VC-1), persisted.
    visitor_codes_used: VisitorCodesUsed,
    settings: Settings,
    people: People,
    passcodes: PasscodeTable,
    attempts: Attempts,
    storage_fault: bool,

    mode: Mode,
    entry: Entry,
    /// When the keypad goes dark; `None` while dark.
    awake_until: Option<Instant>,
    lit: Option<KeyMask>,

    bolt: BoltState,
    bolt_deadline: Option<Instant>,
    door: DoorState,
    auto_lock_at: Option<Instant>,
    /// The bolt was last unlocked by a verified credential from outside.
    unlocked_from_outside: bool,
    /// The door was opened from inside since the last lock: ✓ outside locks
    /// (R-LCK-1).
    outside_lock_offer: bool,
    leaving_home: bool,

    alarms: Alarms,
    tamper_until: Option<Instant>,
    pairing_until: Option<Instant>,
    /// The app protocol's pairing code was spoken and waits for ✓ at the
    /// lock (S-PR-1).
    pairing_code: bool,
    muted: bool,
    battery: u8,
    usb_power: bool,
    /// Wall clock: the monotonic instant it was set at, and its value then.
    wall: Option<(Instant, Timestamp)>,
    /// The furthest the wall clock has been, anchored like `wall`: a setting
    /// may step back from it by at most [`CLOCK_MAX_STEP_BACK`] in all, so
    /// repeated small steps cannot walk the clock back either (S-VC-3).
    wall_high: Option<(Instant, Timestamp)>,
    /// The newest [`Change::ClockMark`] on flash: across a restart the clock
    /// is never set back further than [`CLOCK_MAX_STEP_BACK`] before it.
    clock_mark: Option<Timestamp>,
    /// Ends of windows the app side keeps (Bluetooth keys), marked on flash
    /// as the clock passes them ([`Lock::watch_window_end`]).
    watched_ends: heapless::Vec<Timestamp, WATCHED_ENDS>,

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
    /// `visitor_codes` recognises (R-APP-4).
    pub fn with_visitor_codes(config: Config, visitor_codes: V) -> Lock<V> {
        Lock {
            config,
            visitor_codes,
            visitor_codes_used: VisitorCodesUsed::new(),
            settings: Settings::default(),
            people: People::new(),
            passcodes: PasscodeTable::new(),
            attempts: Attempts::new(),
            storage_fault: false,
            mode: Mode::Idle,
            entry: Entry::new(),
            awake_until: None,
            lit: None,
            bolt: BoltState::At(BoltPosition::Locked),
            bolt_deadline: None,
            door: DoorState::Closed,
            auto_lock_at: None,
            unlocked_from_outside: false,
            outside_lock_offer: false,
            leaving_home: false,
            alarms: Alarms::default(),
            tamper_until: None,
            pairing_until: None,
            pairing_code: false,
            muted: false,
            battery: 100,
            usb_power: false,
            wall: None,
            wall_high: None,
            clock_mark: None,
            watched_ends: heapless::Vec::new(),
            #[cfg(any(test, feature = "fault-injection"))]
            forced_first_check: None,
        }
    }

    /// A lock restored from the store's snapshot at `now`. Every record is
    /// checked again (flash is untrusted, S-ST-3): capacities, duplicate
    /// numbers and template ids, passcode rules, an administrator among the
    /// people. On error, start with [`Lock::fail_secure_with`] instead.
    pub fn restore_with(
        config: Config,
        visitor_codes: V,
        snapshot: &Snapshot,
        now: Instant,
    ) -> Result<Lock<V>, RestoreError> {
        let mut lock = Lock::with_visitor_codes(config, visitor_codes);
        if !snapshot.settings.is_valid() {
            return Err(RestoreError::Settings);
        }
        lock.settings = snapshot.settings;
        for person in snapshot.people.iter() {
            if lock.people.get(person.number).is_some() {
                return Err(RestoreError::DuplicatePerson(person.number));
            }
            for code in person.passcode.iter().chain(person.duress.iter()) {
                if Passcode::new(code.digits()).is_err()
                    || code.check_strength().is_err()
                    || lock.passcodes.overlaps(code)
                {
                    return Err(RestoreError::Passcode(person.number));
                }
                // Both slots of one person must not overlap each other either.
                let kind = if person.duress.is_some_and(|d| bool::from(d.ct_eq(code))) {
                    PasscodeKind::Duress
                } else {
                    PasscodeKind::Normal
                };
                lock.passcodes
                    .insert(*code, person.number, kind)
                    .map_err(|_| RestoreError::Person(person.number))?;
            }
            if !person.name.is_valid() || person.schedule.is_some_and(|s| !s.is_valid()) {
                return Err(RestoreError::Person(person.number));
            }
            lock.people
                .put(person.clone())
                .map_err(|_| RestoreError::Person(person.number))?;
        }
        if !lock.people.is_empty() && lock.people.administrators() == 0 {
            return Err(RestoreError::NoAdministrator);
        }
        lock.attempts = Attempts::from_record(&snapshot.attempts, now);
        lock.visitor_codes_used = snapshot.visitor_codes_used.clone();
        lock.clock_mark = snapshot.clock_mark;
        lock.leaving_home = snapshot.armed.leaving_home;
        lock.alarms.set(AlarmKind::Duress, snapshot.armed.duress);
        lock.alarms
            .set(AlarmKind::Intrusion, snapshot.armed.intrusion);
        Ok(lock)
    }

    /// A lock whose stored state could not be read (S-ST-3): it opens for no
    /// credential and offers no first start; only the mechanical key opens and
    /// only a factory reset (R-MNU-9) brings it back.
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

    /// Sets the verification code (R-MNU-6) after the app protocol's
    /// identity changed (its factory reset): [`Config::verification_code`]
    /// from now on.
    pub fn set_verification_code(&mut self, code: u32) {
        self.config.verification_code = code;
    }

    /// What the store should hold now: applying every change emitted so far to
    /// an empty snapshot gives the same value.
    pub fn snapshot(&self) -> Snapshot {
        let mut people = heapless::Vec::new();
        for p in self.people.iter() {
            // Cannot fail: both hold at most PEOPLE_CAPACITY.
            let _ = people.push(p.clone());
        }
        Snapshot {
            settings: self.settings,
            people,
            attempts: self.attempts.record(),
            visitor_codes_used: self.visitor_codes_used.clone(),
            clock_mark: self.clock_mark,
            armed: self.armed(),
        }
    }

    /// The next moment the lock needs a [`Event::Tick`], if any. `None` when
    /// idle with the keypad dark and no timer running: an idle lock needs no
    /// periodic wake-ups, but one whose wall clock runs writes how far it has
    /// got every [`CLOCK_MARK_INTERVAL`] (S-VC-3).
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.awake_until,
            self.attempts.deadline(),
            self.tamper_until,
            self.pairing_until,
            self.bolt_deadline,
            self.auto_lock_at,
            self.clock_mark_due(),
        ]
        .into_iter()
        .flatten()
        .min()
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
        self.mark_clock_if_due(now, &mut out);
        self.show_keypad(&mut out);
        out
    }

    // ----- queries -------------------------------------------------------

    /// The bolt as the lock believes it to be.
    pub fn bolt(&self) -> BoltState {
        self.bolt
    }

    /// The door sensor's last state.
    pub fn door(&self) -> DoorState {
        self.door
    }

    /// Active alarms.
    pub fn alarms(&self) -> Alarms {
        self.alarms
    }

    /// Everyone stored.
    pub fn people(&self) -> &People {
        &self.people
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The active lockout, if any.
    pub fn lockout(&self, now: Instant) -> Option<Lockout> {
        self.attempts.lockout(now)
    }

    /// Failures counted since the last success (R-LKO-5).
    pub fn failures_since_success(&self) -> u16 {
        self.attempts.since_success()
    }

    /// Failures counting towards the fast bound at `now` (R-LKO-1).
    pub fn recent_failures(&self, now: Instant) -> usize {
        self.attempts.recent(now)
    }

    /// The lit keys, or `None` while the keypad is dark.
    pub fn keypad(&self) -> Option<KeyMask> {
        self.lit
    }

    /// Whether the menu (R-MNU-3) is open.
    pub fn in_menu(&self) -> bool {
        matches!(self.mode, Mode::Menu { .. })
    }

    /// Whether leaving-home mode is armed (R-LCK-4).
    pub fn leaving_home(&self) -> bool {
        self.leaving_home
    }

    /// Whether one-time mute is on (R-MNU-8).
    pub fn muted(&self) -> bool {
        self.muted
    }

    /// Whether the pairing window is open (R-MNU-7).
    pub fn pairing(&self) -> bool {
        self.pairing_until.is_some()
    }

    /// Whether the lock started fail-secure after unreadable storage.
    pub fn storage_fault(&self) -> bool {
        self.storage_fault
    }

    /// The wall clock at `now`, if a trusted source has set it.
    pub fn wall_clock(&self, now: Instant) -> Option<Timestamp> {
        self.wall
            .map(|(set_at, value)| value.saturating_add(now.saturating_since(set_at)))
    }

    /// The wall clock at `now` with the furthest it has reached (S-VC-3):
    /// its high-water mark while powered and the mark on flash from before
    /// a restart. `None` without a trusted clock.
    pub fn clock(&self, now: Instant) -> Option<WallClock> {
        let wall = self.wall_clock(now)?;
        let high = self
            .wall_high
            .map(|(at, value)| value.saturating_add(now.saturating_since(at)));
        let reached = [Some(wall), high, self.clock_mark]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(wall);
        Some(WallClock { now: wall, reached })
    }

    /// The status the app sees (R-APP-1).
    pub fn status(&self) -> Status {
        Status {
            battery: self.battery,
            usb_power: self.usb_power,
            bolt: self.bolt,
            door: self.door,
            alarms: self.alarms,
            people: u8::try_from(self.people.len()).unwrap_or(u8::MAX),
        }
    }

    /// Forces the first unlock check to grant `person` by `method`, as a glitch
    /// on the comparison would (S-HW-1). The second check must still refuse.
    #[cfg(any(test, feature = "fault-injection"))]
    pub fn inject_first_check(&mut self, person: PersonNumber, method: Method) {
        self.forced_first_check = Some((person, method));
    }

    // ----- helpers -------------------------------------------------------

    fn prompt(&self, out: &mut Actions, prompt: Prompt) {
        if !self.muted {
            out.push(Action::Prompt(prompt));
        }
    }

    fn log(&self, now: Instant, out: &mut Actions, entry: LogEntry) {
        out.push(Action::Log(LogRecord {
            at: now,
            wall: self.wall_clock(now),
            entry,
        }));
    }

    /// What survives a power cut of leaving-home mode and the alarms only
    /// an acknowledgement ends (R-LCK-4, R-PIN-7).
    fn armed(&self) -> Armed {
        Armed {
            leaving_home: self.leaving_home,
            duress: self.alarms.contains(AlarmKind::Duress),
            intrusion: self.alarms.contains(AlarmKind::Intrusion),
        }
    }

    fn set_leaving_home(&mut self, on: bool, out: &mut Actions) {
        if self.leaving_home != on {
            self.leaving_home = on;
            out.push(Action::Persist(Change::Armed(self.armed())));
        }
    }

    fn set_alarm(&mut self, now: Instant, out: &mut Actions, kind: AlarmKind, on: bool) {
        if self.alarms.set(kind, on) {
            if matches!(kind, AlarmKind::Duress | AlarmKind::Intrusion) {
                // On flash before the notice or anything else (R-PIN-7,
                // R-LCK-4): a power cut must not clear it.
                out.push(Action::Persist(Change::Armed(self.armed())));
            }
            if on {
                self.log(now, out, LogEntry::Alarm(kind));
                out.push(Action::Notify(Notice::Alarm(kind)));
            } else {
                out.push(Action::Notify(Notice::AlarmCleared(kind)));
            }
        }
    }

    fn persist_attempts(&self, out: &mut Actions) {
        out.push(Action::Persist(Change::Attempts(self.attempts.record())));
    }

    fn wake(&mut self, now: Instant) {
        self.awake_until = Some(now + KEYPAD_TIMEOUT);
    }

    fn sleep(&mut self) {
        self.awake_until = None;
        self.entry.clear();
    }

    /// The keys lit in the current mode.
    fn mask(&self) -> KeyMask {
        match &self.mode {
            Mode::DoorDirection { asked: false } | Mode::FactoryResetPrompt => {
                KeyMask::of(Key::Ok).with(Key::Back)
            }
            Mode::DoorDirection { asked: true } => KeyMask::of(Key::Digit(1))
                .with(Key::Digit(2))
                .with(Key::Back),
            Mode::FirstStart => KeyMask::of(Key::Back).with(Key::Ok),
            Mode::Idle => KeyMask::ALL,
            _ => KeyMask::ENTRY,
        }
    }

    /// Emits the backlight when it changed.
    fn show_keypad(&mut self, out: &mut Actions) {
        let want = self.awake_until.map(|_| self.mask());
        if want != self.lit {
            self.lit = want;
            // Pairing mode shows its own blinking `0` until it ends.
            if self.pairing_until.is_none() {
                out.push(Action::Keypad(match want {
                    Some(mask) => Backlight::Steady(mask),
                    None => Backlight::Off,
                }));
            }
        }
    }

    /// Runs every timer whose time has come. Called first for every event, so
    /// a late or missing tick only delays, and a spurious one does nothing.
    fn expire(&mut self, now: Instant, out: &mut Actions) {
        if self.awake_until.is_some_and(|t| now >= t) {
            self.keypad_timeout(out);
        }
        if self.attempts.lockout_expired(now) {
            self.attempts.end_lockout();
            self.persist_attempts(out);
            self.log(now, out, LogEntry::LockoutEnded);
            self.set_alarm(now, out, AlarmKind::SystemLocked, false);
        }
        if self.tamper_until.is_some_and(|t| now >= t) {
            self.tamper_until = None;
            out.push(Action::Siren(false));
            self.set_alarm(now, out, AlarmKind::Tamper, false);
        }
        if self.pairing_until.is_some_and(|t| now >= t) {
            self.end_pairing(out);
        }
        if self.bolt_deadline.is_some_and(|t| now >= t) {
            self.jammed(now, out);
        }
        if self.auto_lock_at.is_some_and(|t| now >= t) {
            self.auto_lock_at = None;
            self.lock_bolt(now, LockMethod::Countdown, out);
        }
    }

    /// S-VC-3: writes how far the clock has got once a window end or the
    /// mark's interval is due. Called after every event, so an end that a
    /// setting of the clock or of a validity period put behind the clock is
    /// on flash in the same batch, ahead of everything observable.
    fn mark_clock_if_due(&mut self, now: Instant, out: &mut Actions) {
        if self.clock_mark_due().is_some_and(|t| now >= t)
            && let Some(clock) = self.clock(now)
        {
            self.mark_clock(clock.reached, out);
        }
    }

    /// When the furthest the clock has reached will be past the next
    /// window end the lock knows of (a validity period's, an offline
    /// visitor code window's) or [`CLOCK_MARK_INTERVAL`] past the mark on
    /// flash, whichever comes first (at once if there is no mark). `None`
    /// without a clock, or without a store to write to.
    ///
    /// S-VC-3: so a window end the clock passes is on flash before the lock
    /// acts on anything after it, and no power cut followed by setting the
    /// clock back can revive what had just expired.
    fn clock_mark_due(&self) -> Option<Instant> {
        let (at, value) = self.wall_high?;
        if self.storage_fault {
            return None;
        }
        let Some(mark) = self.clock_mark else {
            return Some(at);
        };
        let interval = mark.saturating_add(CLOCK_MARK_INTERVAL);
        let due = self
            .next_window_end(mark)
            .map_or(interval, |end| end.min(interval));
        Some(at.saturating_add(Duration::from_secs(due.0.saturating_sub(value.0))))
    }

    /// The first moment after `after` at which a time-bounded credential
    /// the lock knows of stops opening.
    fn next_window_end(&self, after: Timestamp) -> Option<Timestamp> {
        let validity_ends = self
            .people
            .iter()
            .filter_map(|p| p.validity.until)
            .chain(self.watched_ends.iter().copied())
            .map(|until| Timestamp(until.0.saturating_add(1)));
        validity_ends
            .chain(self.visitor_codes.next_window_end(after))
            .filter(|end| *end > after)
            .min()
    }

    /// Watches the end (`until`, its last second) of a window the app side
    /// keeps, a Bluetooth key's: the lock writes how far its clock has got
    /// when it passes, so no power cut and step back revives the key
    /// (S-VC-3). The runtime hands it the keys' ends at boot; a key issued
    /// later arrives with [`AppChange::KeyIssued`]. Ends already on flash are
    /// dropped; with every slot taken, the earliest end gives way.
    pub fn watch_window_end(&mut self, until: Timestamp) {
        let mark = self.clock_mark;
        self.watched_ends
            .retain(|e| mark.is_none_or(|m| e.0.saturating_add(1) > m.0));
        if self.watched_ends.contains(&until) {
            return;
        }
        if self.watched_ends.is_full()
            && let Some(i) = (0..self.watched_ends.len()).min_by_key(|&i| self.watched_ends.get(i))
        {
            self.watched_ends.swap_remove(i);
        }
        // Cannot fail: a slot was freed above if none was.
        let _ = self.watched_ends.push(until);
    }

    /// S-VC-3: the clock has got to `wall`; on flash before anything after.
    fn mark_clock(&mut self, wall: Timestamp, out: &mut Actions) {
        if self.storage_fault || self.clock_mark.is_some_and(|m| m >= wall) {
            return;
        }
        self.clock_mark = Some(wall);
        out.push(Action::Persist(Change::ClockMark(wall)));
    }

    /// R-MNU-1: dark after 20 s without a key; whatever was unfinished is
    /// dropped.
    fn keypad_timeout(&mut self, out: &mut Actions) {
        self.sleep();
        self.mode = match core::mem::replace(&mut self.mode, Mode::Idle) {
            Mode::Menu {
                screen: Screen::Enrolling { kind, .. },
                ..
            } => {
                out.push(Action::Module(ModuleCommand::CancelEnroll(kind)));
                Mode::Idle
            }
            Mode::DoorDirection { .. } => Mode::DoorDirection { asked: false },
            Mode::CreateAdministrator { .. } | Mode::FirstStart => Mode::FirstStart,
            Mode::FactoryResetPrompt => self.rest_mode(),
            _ => Mode::Idle,
        };
    }

    /// Where the dialogue rests given what is stored.
    fn rest_mode(&self) -> Mode {
        if self.settings.door_direction.is_none() && !self.storage_fault {
            Mode::DoorDirection { asked: false }
        } else if self.people.is_empty() && !self.storage_fault {
            Mode::FirstStart
        } else {
            Mode::Idle
        }
    }

    // ----- boot, keypad --------------------------------------------------

    fn boot(&mut self, now: Instant, set_held: bool, out: &mut Actions) {
        if self.attempts.lockout(now).is_some() {
            self.alarms.set(AlarmKind::SystemLocked, true);
        }
        // Alarms kept across the power cut are announced again: the notice
        // sent before it may never have left the lock (R-PIN-7, R-LCK-4).
        for kind in [AlarmKind::Duress, AlarmKind::Intrusion] {
            if self.alarms.contains(kind) {
                out.push(Action::Notify(Notice::Alarm(kind)));
            }
        }
        if set_held {
            self.mode = Mode::FactoryResetPrompt;
            self.wake(now);
            self.prompt(out, Prompt::FactoryResetConfirm);
            return;
        }
        self.mode = self.rest_mode();
        if self.storage_fault {
            self.prompt(out, Prompt::Failure(Refusal::StorageFault));
        } else if let Mode::DoorDirection { .. } = self.mode {
            // R-UNL-3: on first start the keypad is awake and asks.
            self.wake(now);
            self.prompt(out, Prompt::DoorDirection);
        }
    }

    fn touch(&mut self, now: Instant, out: &mut Actions) {
        let was_dark = self.awake_until.is_none();
        self.wake(now);
        if !was_dark {
            return;
        }
        if self.alarms.contains(AlarmKind::LowBattery) {
            self.prompt(out, Prompt::LowBattery);
        }
        match self.mode {
            Mode::DoorDirection { .. } => self.prompt(out, Prompt::DoorDirection),
            Mode::FirstStart => self.prompt(out, Prompt::CreateAdministrator),
            Mode::Idle if !self.people.is_empty() && !self.storage_fault => {
                // R-UNL-1: face recognition also starts after a touch.
                out.push(Action::Module(ModuleCommand::Identify(BiometricKind::Face)));
            }
            _ => {}
        }
    }

    fn key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        if self.awake_until.is_none() {
            // A dark keypad shows nothing to aim at: the first contact wakes it.
            self.touch(now, out);
            return;
        }
        self.wake(now);
        if self.pairing_code {
            self.pairing_code_key(now, key, out);
            return;
        }
        match core::mem::replace(&mut self.mode, Mode::Idle) {
            Mode::Idle => self.idle_key(now, key, out),
            Mode::DoorDirection { asked } => self.door_direction_key(now, asked, key, out),
            Mode::FirstStart => self.first_start_key(key, out),
            Mode::CreateAdministrator { first } => {
                self.create_administrator_key(now, first, key, out)
            }
            Mode::VerifyAdministrator => self.verify_administrator_key(now, key, out),
            Mode::Menu { admin, screen } => self.menu_key(now, admin, screen, key, out),
            Mode::FactoryResetPrompt => self.factory_reset_key(now, key, out),
        }
    }

    fn key_held(&mut self, now: Instant, key: Key, out: &mut Actions) {
        if key == Key::Digit(0) && matches!(self.mode, Mode::Idle) && !self.storage_fault {
            // R-MNU-8: one-time mute until the next verified unlock from outside.
            self.wake(now);
            self.muted = true;
            self.entry.clear();
            out.push(Action::Keypad(Backlight::FlashTwice { then: self.mask() }));
        } else {
            self.key(now, key, out);
        }
    }

    fn idle_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        self.mode = Mode::Idle;
        match key {
            Key::Digit(d) => {
                self.entry.push(d);
            }
            Key::Back => self.entry.clear(),
            Key::Ok if self.entry.len() >= crate::passcode::PASSCODE_MIN_DIGITS => {
                let entry = self.entry;
                self.entry.clear();
                self.verify_passcode(now, &entry, false, out);
            }
            Key::Ok if self.entry.is_empty() && self.outside_lock_offer => {
                self.lock_bolt(now, LockMethod::Keypad, out);
            }
            // R-PIN-4: ✓ with fewer than six digits does nothing.
            Key::Ok => {}
            Key::Home => {
                if self.door == DoorState::Closed && !self.storage_fault {
                    self.lock_bolt(now, LockMethod::LeavingHome, out);
                    self.set_leaving_home(true, out);
                    self.prompt(out, Prompt::LeavingHome);
                } else {
                    self.prompt(out, Prompt::Failure(Refusal::DoorOpen));
                }
            }
            Key::Bell => {
                // A chime is the bell's whole point: one-time mute does not
                // silence it.
                out.push(Action::Prompt(Prompt::Chime));
                out.push(Action::Notify(Notice::Doorbell));
            }
        }
    }

    fn door_direction_key(&mut self, now: Instant, asked: bool, key: Key, out: &mut Actions) {
        self.mode = Mode::DoorDirection { asked };
        let direction = match (asked, key) {
            (false, Key::Ok) => {
                self.mode = Mode::DoorDirection { asked: true };
                return;
            }
            (true, Key::Back) => {
                self.mode = Mode::DoorDirection { asked: false };
                return;
            }
            (true, Key::Digit(1)) => DoorDirection::Right,
            (true, Key::Digit(2)) => DoorDirection::Left,
            (true, _) => {
                self.prompt(out, Prompt::Failure(Refusal::OutOfRange));
                return;
            }
            (false, _) => return,
        };
        self.settings.door_direction = Some(direction);
        out.push(Action::Persist(Change::Settings(self.settings)));
        self.log(now, out, LogEntry::DoorDirection(direction));
        self.prompt(out, Prompt::Success);
        // R-UNL-3: only then does R-MNU-2 follow.
        self.mode = self.rest_mode();
        if let Mode::FirstStart = self.mode {
            self.prompt(out, Prompt::CreateAdministrator);
        }
    }

    fn first_start_key(&mut self, key: Key, out: &mut Actions) {
        self.mode = Mode::FirstStart;
        match key {
            Key::Ok => {
                self.entry.clear();
                self.mode = Mode::CreateAdministrator { first: None };
                self.prompt(out, Prompt::EnterPasscode);
            }
            // R-MNU-2: ↩ instead of ✓ leaves without creating.
            Key::Back => self.sleep(),
            _ => {}
        }
    }

    fn create_administrator_key(
        &mut self,
        now: Instant,
        first: Option<Passcode>,
        key: Key,
        out: &mut Actions,
    ) {
        self.mode = Mode::CreateAdministrator { first };
        match self.passcode_dialogue(first, key, out) {
            Dialogue::Typing(first) => self.mode = Mode::CreateAdministrator { first },
            Dialogue::Cancelled | Dialogue::Refused => self.mode = Mode::FirstStart,
            Dialogue::Confirmed(code) => {
                let Some(number) = self.people.lowest_free() else {
                    self.mode = Mode::FirstStart;
                    return;
                };
                let mut admin = Person::new(number, Role::Administrator);
                admin.passcode = Some(code);
                match self.store_person(now, admin, false, None, Actor::Person(number), out) {
                    Ok(()) => {
                        self.prompt(out, Prompt::Success);
                        self.prompt(out, Prompt::Menu);
                        self.mode = Mode::Menu {
                            admin: number,
                            screen: Screen::Top,
                        };
                    }
                    Err(reason) => {
                        self.prompt(out, Prompt::Failure(reason));
                        self.mode = Mode::FirstStart;
                    }
                }
            }
        }
    }

    /// The shared "enter twice" dialogue for a new passcode (R-PIN-3).
    fn passcode_dialogue(
        &mut self,
        first: Option<Passcode>,
        key: Key,
        out: &mut Actions,
    ) -> Dialogue {
        match key {
            Key::Digit(d) => {
                self.entry.push(d);
                Dialogue::Typing(first)
            }
            Key::Back => {
                self.entry.clear();
                Dialogue::Cancelled
            }
            Key::Ok => {
                let typed = self.entry;
                self.entry.clear();
                let checked = Passcode::new(typed.digits()).and_then(|code| match first {
                    None => {
                        code.check_strength()?;
                        if self.passcodes.overlaps(&code) {
                            return Err(PasscodeError::Overlaps);
                        }
                        Ok(code)
                    }
                    Some(f) if bool::from(f.ct_eq(&code)) => {
                        // The app may have stored a code (a duress code) since
                        // the first entry: R-PIN-5 holds for what is stored now,
                        // or the store would refuse to restore (S-ST-3).
                        if self.passcodes.overlaps(&code) {
                            return Err(PasscodeError::Overlaps);
                        }
                        Ok(code)
                    }
                    Some(_) => Err(PasscodeError::Mismatch),
                });
                match (checked, first) {
                    (Ok(code), None) => {
                        self.prompt(out, Prompt::EnterPasscodeAgain);
                        Dialogue::Typing(Some(code))
                    }
                    (Ok(code), Some(_)) => Dialogue::Confirmed(code),
                    (Err(e), _) => {
                        self.prompt(out, Prompt::Failure(Refusal::Passcode(e)));
                        Dialogue::Refused
                    }
                }
            }
            Key::Home | Key::Bell => Dialogue::Typing(first),
        }
    }

    fn verify_administrator_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        self.mode = Mode::VerifyAdministrator;
        match key {
            Key::Digit(d) => {
                self.entry.push(d);
            }
            Key::Back => {
                self.mode = Mode::Idle;
                self.sleep();
            }
            Key::Ok if self.entry.len() >= crate::passcode::PASSCODE_MIN_DIGITS => {
                let entry = self.entry;
                self.entry.clear();
                self.verify_passcode(now, &entry, true, out);
            }
            _ => {}
        }
    }

    fn factory_reset_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        match key {
            Key::Ok => self.factory_reset(now, out),
            _ => {
                self.mode = self.rest_mode();
                self.sleep();
            }
        }
    }

    fn set_pressed(&mut self, now: Instant, out: &mut Actions) {
        if !matches!(self.mode, Mode::Idle) || self.people.is_empty() || self.storage_fault {
            return;
        }
        self.mode = Mode::VerifyAdministrator;
        self.entry.clear();
        self.wake(now);
        self.prompt(out, Prompt::VerifyAdministrator);
        out.push(Action::Module(ModuleCommand::Identify(BiometricKind::Face)));
    }

    fn set_held(&mut self, now: Instant, out: &mut Actions) {
        if self.people.administrators() == 0 || self.storage_fault {
            self.prompt(out, Prompt::Failure(Refusal::NotSetUp));
            return;
        }
        if self.awake_until.is_some() {
            // Pairing keeps the keypad lit for minutes: whatever dialogue was
            // open (a menu, an enrolment) ends first, as after R-MNU-1's
            // timeout, so no one finds an administrator's menu left open.
            self.keypad_timeout(out);
        }
        let until = now + PAIRING_WINDOW;
        self.pairing_until = Some(until);
        self.awake_until = Some(until);
        self.lit = Some(self.mask());
        out.push(Action::Pairing(true));
        out.push(Action::Keypad(Backlight::Blink(KeyMask::of(Key::Digit(0)))));
        self.prompt(out, Prompt::PairingMode);
    }

    /// S-PR-1: the protocol and a phone derived this code; the lock speaks
    /// it (even when muted: it is the point of the window) and ✓ confirms
    /// it, ↩ refuses it. Outside pairing mode there is nothing to confirm.
    fn pairing_code(&mut self, code: u32, out: &mut Actions) {
        if self.pairing_until.is_none() {
            return;
        }
        self.pairing_code = true;
        out.push(Action::Prompt(Prompt::VerificationCode(code)));
    }

    /// ✓ or ↩ while a pairing code waits for the person at the lock.
    fn pairing_code_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        match key {
            Key::Ok => {
                self.pairing_code = false;
                out.push(Action::ConfirmPairing);
            }
            Key::Back => self.end_pairing(out),
            // The keypad stays lit for ✓ while the window lasts.
            _ => self.wake(now),
        }
    }

    /// What the app protocol changed on its own, for the log (R-APP-6).
    fn app_changed(&mut self, now: Instant, change: AppChange, out: &mut Actions) {
        let entry = match change {
            AppChange::Paired { pairing } => {
                self.end_pairing(out);
                LogEntry::Paired { pairing }
            }
            AppChange::Unpaired { pairing, by } => LogEntry::Unpaired { pairing, by },
            AppChange::KeyIssued {
                pairing,
                privilege,
                by,
                until,
            } => {
                if let Some(until) = until {
                    self.watch_window_end(until);
                }
                LogEntry::KeyIssued {
                    pairing,
                    privilege,
                    by,
                }
            }
        };
        self.log(now, out, entry);
    }

    fn end_pairing(&mut self, out: &mut Actions) {
        self.pairing_code = false;
        if self.pairing_until.take().is_some() {
            out.push(Action::Pairing(false));
            // The keypad goes dark, so whatever dialogue was open ends as after
            // the keypad's own timeout (R-MNU-1): a menu must not outlive it.
            self.keypad_timeout(out);
            self.lit = None;
            out.push(Action::Keypad(Backlight::Off));
        }
    }

    // ----- the menu ------------------------------------------------------

    fn menu_key(
        &mut self,
        now: Instant,
        admin: PersonNumber,
        screen: Screen,
        key: Key,
        out: &mut Actions,
    ) {
        let screen = match screen {
            Screen::Top => self.menu_top_key(admin, key, out),
            Screen::Credential { draft, stored } => self.credential_key(draft, stored, key, out),
            Screen::Enrolling {
                draft,
                stored,
                kind,
            } => {
                if key == Key::Back {
                    out.push(Action::Module(ModuleCommand::CancelEnroll(kind)));
                    self.prompt(out, Prompt::ChooseCredential);
                    Some(Screen::Credential { draft, stored })
                } else {
                    Some(Screen::Enrolling {
                        draft,
                        stored,
                        kind,
                    })
                }
            }
            Screen::NewPasscode {
                mut draft,
                stored,
                first,
            } => match self.passcode_dialogue(first, key, out) {
                Dialogue::Typing(first) => Some(Screen::NewPasscode {
                    draft,
                    stored,
                    first,
                }),
                Dialogue::Cancelled | Dialogue::Refused => {
                    self.prompt(out, Prompt::ChooseCredential);
                    Some(Screen::Credential { draft, stored })
                }
                Dialogue::Confirmed(code) => {
                    let stored_now = self.draft_record(&draft, stored).and_then(|mut updated| {
                        updated.passcode = Some(code);
                        self.store_person(
                            now,
                            updated.clone(),
                            stored,
                            None,
                            Actor::Person(admin),
                            out,
                        )
                        .map(|()| updated)
                    });
                    match stored_now {
                        Ok(updated) => {
                            draft = updated;
                            self.prompt(out, Prompt::Success);
                            self.prompt(out, Prompt::ChooseCredential);
                            Some(Screen::Credential {
                                draft,
                                stored: true,
                            })
                        }
                        Err(reason) => {
                            self.prompt(out, Prompt::Failure(reason));
                            self.prompt(out, Prompt::ChooseCredential);
                            Some(Screen::Credential { draft, stored })
                        }
                    }
                }
            },
            Screen::Delete => self.delete_key(now, admin, key, out),
            Screen::Settings => self.settings_key(now, admin, key, out),
        };
        self.mode = match screen {
            Some(screen) => Mode::Menu { admin, screen },
            None => {
                self.sleep();
                Mode::Idle
            }
        };
    }

    fn menu_top_key(
        &mut self,
        _admin: PersonNumber,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        match key {
            Key::Digit(d @ (1 | 2)) => {
                let role = if d == 1 {
                    Role::Administrator
                } else {
                    Role::User
                };
                let Some(number) = self.people.lowest_free() else {
                    self.prompt(out, Prompt::Failure(Refusal::PeopleFull));
                    return Some(Screen::Top);
                };
                self.prompt(out, Prompt::PersonNumber(number));
                out.push(Action::Keypad(Backlight::Spell {
                    number,
                    then: KeyMask::ENTRY,
                }));
                self.prompt(out, Prompt::ChooseCredential);
                Some(Screen::Credential {
                    draft: Person::new(number, role),
                    stored: false,
                })
            }
            Key::Digit(3) => {
                self.entry.clear();
                self.prompt(out, Prompt::EnterPersonNumber);
                Some(Screen::Delete)
            }
            Key::Digit(4) => {
                self.prompt(out, Prompt::SettingsMenu);
                Some(Screen::Settings)
            }
            Key::Digit(5) => {
                self.prompt(out, Prompt::SerialNumber(self.config.serial));
                let (major, minor, patch) = self.config.firmware;
                self.prompt(out, Prompt::FirmwareVersion(major, minor, patch));
                self.prompt(out, Prompt::VerificationCode(self.config.verification_code));
                self.prompt(out, Prompt::Menu);
                Some(Screen::Top)
            }
            Key::Back => None,
            _ => Some(Screen::Top),
        }
    }

    fn credential_key(
        &mut self,
        draft: Person,
        stored: bool,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        let kind = match key {
            Key::Digit(1) => BiometricKind::Face,
            Key::Digit(2) => BiometricKind::Palm,
            Key::Digit(3) => BiometricKind::Finger,
            Key::Digit(4) => {
                let full = if draft.passcode.is_some() {
                    Some(Refusal::PersonCredentialsFull)
                } else if self.passcodes.is_full() {
                    Some(Refusal::CredentialStoreFull)
                } else {
                    None
                };
                if let Some(reason) = full {
                    self.prompt(out, Prompt::Failure(reason));
                    self.prompt(out, Prompt::ChooseCredential);
                    return Some(Screen::Credential { draft, stored });
                }
                self.entry.clear();
                self.prompt(out, Prompt::EnterPasscode);
                return Some(Screen::NewPasscode {
                    draft,
                    stored,
                    first: None,
                });
            }
            Key::Back => {
                // R-MNU-4: leaving before any credential stores no one.
                self.prompt(out, Prompt::Menu);
                return Some(Screen::Top);
            }
            _ => return Some(Screen::Credential { draft, stored }),
        };
        if let Err(e) = self.people.can_add_template(Some(&draft), kind) {
            self.prompt(out, Prompt::Failure(refusal_of(e)));
            self.prompt(out, Prompt::ChooseCredential);
            return Some(Screen::Credential { draft, stored });
        }
        out.push(Action::Module(ModuleCommand::Enroll {
            kind,
            template: self.people.free_template(kind),
        }));
        self.prompt(out, Prompt::Enroll(kind, EnrollStep::Present));
        Some(Screen::Enrolling {
            draft,
            stored,
            kind,
        })
    }

    fn delete_key(
        &mut self,
        now: Instant,
        admin: PersonNumber,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        match key {
            Key::Digit(d) => {
                self.entry.push(d);
                Some(Screen::Delete)
            }
            Key::Back => {
                self.entry.clear();
                self.prompt(out, Prompt::Menu);
                Some(Screen::Top)
            }
            Key::Ok => {
                let typed = self.entry;
                self.entry.clear();
                let number = match typed.digits() {
                    &[a, b, c] => a
                        .checked_mul(100)
                        .and_then(|n| n.checked_add(b.checked_mul(10)?))
                        .and_then(|n| n.checked_add(c))
                        .and_then(PersonNumber::new),
                    _ => None,
                };
                let result = number
                    .ok_or(PeopleError::NoSuchPerson)
                    .and_then(|n| self.people.check_delete(n).map(|()| n));
                match result {
                    Ok(n) => {
                        self.delete_person(now, n, Actor::Person(admin), out);
                        self.prompt(out, Prompt::Success);
                        if n == admin {
                            // They deleted themselves: nobody holds the menu now.
                            return None;
                        }
                        self.prompt(out, Prompt::Menu);
                        Some(Screen::Top)
                    }
                    Err(e) => {
                        // R-MNU-5: failure sound, then wait for another number.
                        self.prompt(out, Prompt::Failure(refusal_of(e)));
                        Some(Screen::Delete)
                    }
                }
            }
            _ => Some(Screen::Delete),
        }
    }

    fn settings_key(
        &mut self,
        now: Instant,
        admin: PersonNumber,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        let setting = match key {
            Key::Digit(1) => Setting::Volume(self.settings.volume.next()),
            Key::Digit(2) => Setting::AutoLock(!self.settings.auto_lock),
            Key::Digit(3) => Setting::RemoteUnlock(!self.settings.remote_unlock),
            Key::Back => {
                self.prompt(out, Prompt::Menu);
                return Some(Screen::Top);
            }
            _ => return Some(Screen::Settings),
        };
        match self.configure(now, setting, Actor::Person(admin), out) {
            Ok(()) => self.prompt(out, Prompt::Success),
            Err(r) => self.prompt(out, Prompt::Failure(r)),
        }
        Some(Screen::Settings)
    }

    fn configure(
        &mut self,
        now: Instant,
        setting: Setting,
        by: Actor,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        self.settings
            .apply(setting)
            .map_err(|_| Refusal::OutOfRange)?;
        out.push(Action::Persist(Change::Settings(self.settings)));
        self.log(now, out, LogEntry::SettingChanged { setting, by });
        match setting {
            Setting::LockoutProtection(false) => self.lift_lockout(now, out),
            Setting::LowBatteryPercent(_) => self.battery_measured(now, self.battery, out),
            Setting::AutoLock(false) => self.auto_lock_at = None,
            _ => {}
        }
        Ok(())
    }

    /// The record a menu session adds its next credential to: the draft until
    /// it is stored, then the stored record, which the app may have changed
    /// meanwhile (validity, duress code) or deleted. A stale draft would undo
    /// those (R-APP-3) or bring a deleted person back (R-USR-5).
    fn draft_record(&self, draft: &Person, stored: bool) -> Result<Person, Refusal> {
        if !stored {
            return Ok(draft.clone());
        }
        self.people
            .get(draft.number)
            .cloned()
            .ok_or(Refusal::NoSuchPerson)
    }

    /// Stores `person` (new or changed) with its persistence and log record.
    /// `existing`: they were stored before. `kind`: the credential just added,
    /// `None` for a passcode.
    fn store_person(
        &mut self,
        now: Instant,
        person: Person,
        existing: bool,
        kind: Option<BiometricKind>,
        by: Actor,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        let number = person.number;
        self.people.put(person.clone()).map_err(refusal_of)?;
        self.passcodes.remove_owner(number);
        for (code, kind) in [
            (person.passcode, PasscodeKind::Normal),
            (person.duress, PasscodeKind::Duress),
        ] {
            if let Some(code) = code {
                // Cannot fail: `put` checked the lock-wide passcode count.
                let _ = self.passcodes.insert(code, number, kind);
            }
        }
        out.push(Action::Persist(Change::Person(person.clone())));
        let entry = if existing {
            LogEntry::CredentialAdded {
                person: number,
                kind,
                by,
            }
        } else {
            LogEntry::UserAdded {
                person: number,
                role: person.role,
                by,
            }
        };
        self.log(now, out, entry);
        Ok(())
    }

    /// Changes a stored person's record (not their credentials), with its
    /// persistence and log record.
    fn change_person(
        &mut self,
        now: Instant,
        number: PersonNumber,
        by: Actor,
        out: &mut Actions,
        change: impl FnOnce(&mut Person),
    ) -> Result<(), Refusal> {
        let mut p = self
            .people
            .get(number)
            .cloned()
            .ok_or(Refusal::NoSuchPerson)?;
        change(&mut p);
        self.people.put(p.clone()).map_err(refusal_of)?;
        out.push(Action::Persist(Change::Person(p)));
        self.log(now, out, LogEntry::UserChanged { person: number, by });
        Ok(())
    }

    /// R-USR-5: the person and every credential of theirs, in the store and in
    /// each module. The caller has checked R-USR-4.
    fn delete_person(&mut self, now: Instant, number: PersonNumber, by: Actor, out: &mut Actions) {
        let Some(person) = self.people.remove(number) else {
            return;
        };
        self.passcodes.remove_owner(number);
        out.push(Action::Persist(Change::PersonDeleted(number)));
        for (kind, template) in person.all_templates() {
            out.push(Action::Module(ModuleCommand::Delete { kind, template }));
        }
        self.log(now, out, LogEntry::UserDeleted { person: number, by });
        if let Mode::Menu { admin, .. } = self.mode
            && admin == number
        {
            self.mode = Mode::Idle;
            self.sleep();
        }
    }

    /// Back to a factory-fresh lock's state in place, keeping what the
    /// hardware says (battery, USB power, bolt, door, the wall clock, a
    /// tamper alarm's siren). In place: a whole `Lock` built on the stack and
    /// moved in would cost its size (12 KB) in every `handle` frame.
    /// Exhaustive, so a new field cannot be forgotten here.
    fn forget_stored_state(&mut self) {
        let Lock {
            config: _,
            visitor_codes: _,
            visitor_codes_used,
            settings,
            people,
            passcodes,
            attempts,
            storage_fault,
            mode,
            entry,
            awake_until,
            lit,
            bolt: _,
            bolt_deadline,
            door: _,
            auto_lock_at,
            unlocked_from_outside,
            outside_lock_offer,
            leaving_home,
            alarms,
            tamper_until: _,
            pairing_until,
            pairing_code,
            muted,
            battery: _,
            usb_power: _,
            wall: _,
            wall_high: _,
            clock_mark,
            watched_ends,
            #[cfg(any(test, feature = "fault-injection"))]
                forced_first_check: _,
        } = self;
        watched_ends.clear();
        visitor_codes_used.clear();
        *clock_mark = None;
        *settings = Settings::default();
        people.clear();
        passcodes.clear();
        *attempts = Attempts::new();
        *storage_fault = false;
        *mode = Mode::Idle;
        entry.clear();
        *awake_until = None;
        *lit = None;
        *bolt_deadline = None;
        *auto_lock_at = None;
        *unlocked_from_outside = false;
        *outside_lock_offer = false;
        *leaving_home = false;
        *alarms = Alarms::default();
        *pairing_until = None;
        *pairing_code = false;
        *muted = false;
    }

    fn factory_reset(&mut self, now: Instant, out: &mut Actions) {
        out.push(Action::Persist(Change::FactoryReset));
        for kind in BiometricKind::ALL {
            out.push(Action::Module(ModuleCommand::Clear(kind)));
        }
        self.log(now, out, LogEntry::FactoryReset);
        self.end_pairing(out);
        let alarms = self.alarms;
        self.forget_stored_state();
        // The clock runs on through a reset (S-VC-3): its mark, erased with
        // the rest, goes back on flash at once.
        if let Some(clock) = self.clock(now) {
            self.mark_clock(clock.reached, out);
        }
        for kind in [AlarmKind::Tamper, AlarmKind::LowBattery, AlarmKind::Jam] {
            self.alarms.set(kind, alarms.contains(kind));
        }
        for kind in alarms.iter() {
            if !self.alarms.contains(kind) {
                out.push(Action::Notify(Notice::AlarmCleared(kind)));
            }
        }
        self.prompt(out, Prompt::FactoryReset);
        self.mode = Mode::DoorDirection { asked: false };
        self.wake(now);
        self.prompt(out, Prompt::DoorDirection);
    }

    // ----- verification --------------------------------------------------

    fn verify_passcode(&mut self, now: Instant, entry: &Entry, for_menu: bool, out: &mut Actions) {
        // Codes of people within their validity period are searched first: an
        // expired code typed beside a valid one must not hide it. An expired
        // code counts as "outside validity" (refused, not counted, R-USR-6)
        // only when it is all that was typed; with extra digits around it the
        // entry is a guess like any other and counts (R-LKO-1), or a former
        // visitor could guess without limit behind their old code.
        let clock = self.clock(now);
        let admitted = |n| self.people.get(n).is_some_and(|p| p.admits(clock));
        let valid = self.passcodes.find_among(entry, admitted);
        let expired = self.passcodes.find_among(entry, |n| !admitted(n));
        let found = valid.or(expired.filter(|m| m.len == entry.len()));
        if found.is_none() && !for_menu {
            // R-APP-4: an entry no person's code is in may hold a visitor code.
            if let Some(m) = self.find_visitor_code(now, entry) {
                self.visitor_code_verdict(now, m, entry, out);
                return;
            }
        }
        let grant = found.map(|m| Grant {
            person: m.owner,
            method: Method::Passcode,
            evidence: Evidence::Passcode(m),
            duress: m.kind == PasscodeKind::Duress,
        });
        self.verdict(now, grant, Method::Passcode, Some(entry), for_menu, out);
    }

    /// The visitor code in `entry`, if the clock is trusted (S-VC-2: without
    /// it every time-bounded code fails closed, and the entry counts as any
    /// wrong guess).
    ///
    /// S-VC-3: a code must also be open at the furthest the clock has
    /// reached, so setting the clock back (before or after a power cut)
    /// never revives a window that had ended.
    fn find_visitor_code(&self, now: Instant, entry: &Entry) -> Option<VisitorCodeMatch> {
        let clock = self.clock(now)?;
        let used = &self.visitor_codes_used;
        let found = self.visitor_codes.find(entry, clock.now, used)?;
        if clock.reached > clock.now
            && self.visitor_codes.find(entry, clock.reached, used) != Some(found)
        {
            return None;
        }
        Some(found)
    }

    /// Refuses any credential without looking at it when the storage failed
    /// (S-ST-3) or a lockout is active (R-LKO-1): prompted, not logged (a
    /// flood cannot wear the flash) and not counted. True when refused.
    fn refused_unchecked(&self, now: Instant, out: &mut Actions) -> bool {
        if self.storage_fault {
            self.prompt(out, Prompt::Failure(Refusal::StorageFault));
        } else if self.attempts.lockout(now).is_some() {
            self.prompt(out, Prompt::SystemLocked);
        } else {
            return false;
        }
        true
    }

    /// Opens for a visitor code after the second check (S-HW-1); a one-time
    /// code is recorded as used, on flash before the door opens (S-VC-1).
    fn visitor_code_verdict(
        &mut self,
        now: Instant,
        m: VisitorCodeMatch,
        entry: &Entry,
        out: &mut Actions,
    ) {
        if self.refused_unchecked(now, out) {
            return;
        }
        let first = GRANTED;
        let second = self.confirm_visitor_code(now, &m, entry);
        if first != GRANTED || second != GRANTED || (first ^ second) != 0 {
            self.fail(now, None, Method::VisitorCode, true, out);
            return;
        }
        if m.one_time {
            let at = self.wall_clock(now).unwrap_or(Timestamp(0));
            if record_use(&mut self.visitor_codes_used, m.code, at).is_err() {
                // Every slot holds a code still in its window: fail closed.
                self.log(
                    now,
                    out,
                    LogEntry::UnlockFailed {
                        person: None,
                        method: Method::VisitorCode,
                        reason: Refusal::CredentialStoreFull,
                    },
                );
                self.prompt(out, Prompt::Failure(Refusal::CredentialStoreFull));
                return;
            }
            out.push(Action::Persist(Change::VisitorCodeUsed {
                code: m.code,
                at,
            }));
        }
        // R-LKO-2: a visitor code is no person's own credential and resets
        // no count, so a visitor cannot interleave successes with guesses.
        self.unlock(now, None, Method::VisitorCode, out);
    }

    /// The second check of a visitor code (S-HW-1): searched again from the
    /// stored state, the same code must come out.
    fn confirm_visitor_code(&self, now: Instant, m: &VisitorCodeMatch, entry: &Entry) -> u32 {
        if self.storage_fault || self.attempts.lockout(now).is_some() {
            return REFUSED;
        }
        match self.find_visitor_code(now, entry) {
            Some(again) if again == *m && !self.visitor_codes_used.contains(&m.code) => GRANTED,
            _ => REFUSED,
        }
    }

    fn biometric(&mut self, now: Instant, event: BiometricEvent, out: &mut Actions) {
        match event {
            BiometricEvent::Identified { kind, template } => {
                let Some(for_menu) = self.verifying() else {
                    return;
                };
                let grant = self.people.owner_of(kind, template).map(|p| Grant {
                    person: p.number,
                    method: Method::from(kind),
                    evidence: Evidence::Template(kind, template),
                    duress: false,
                });
                if grant.is_none() {
                    // A template the lock does not know (left behind by a power
                    // cut during a deletion): remove it, and count the attempt.
                    out.push(Action::Module(ModuleCommand::Delete { kind, template }));
                }
                self.verdict(now, grant, Method::from(kind), None, for_menu, out);
            }
            BiometricEvent::NoMatch { kind } => {
                if let Some(for_menu) = self.verifying() {
                    self.verdict(now, None, Method::from(kind), None, for_menu, out);
                }
            }
            BiometricEvent::EnrollProgress { kind, step } => {
                if let Mode::Menu {
                    screen: Screen::Enrolling { kind: k, .. },
                    ..
                } = self.mode
                    && k == kind
                {
                    self.wake(now);
                    self.prompt(out, Prompt::Enroll(kind, step));
                }
            }
            BiometricEvent::Enrolled { kind, template } => {
                self.enrolled(now, kind, Ok(template), out)
            }
            BiometricEvent::EnrollFailed { kind, reason } => {
                self.enrolled(now, kind, Err(reason), out)
            }
            BiometricEvent::Fault { kind } => {
                self.log(now, out, LogEntry::ModuleFault(kind));
                self.enrolled(now, kind, Err(EnrollFailure::ModuleFault), out);
            }
        }
    }

    /// Whether a credential presented now is checked, and if so whether for
    /// the menu (`true`) or to open the door.
    fn verifying(&self) -> Option<bool> {
        match self.mode {
            Mode::Idle => Some(false),
            Mode::VerifyAdministrator => Some(true),
            _ => None,
        }
    }

    fn enrolled(
        &mut self,
        now: Instant,
        kind: BiometricKind,
        result: Result<TemplateId, EnrollFailure>,
        out: &mut Actions,
    ) {
        let Mode::Menu {
            admin,
            screen:
                Screen::Enrolling {
                    draft,
                    stored,
                    kind: k,
                },
        } = &self.mode
        else {
            if let Ok(template) = result {
                // Nobody asked for it: do not leave an unknown template behind.
                out.push(Action::Module(ModuleCommand::Delete { kind, template }));
            }
            return;
        };
        if *k != kind {
            if let Ok(template) = result {
                // Another module than the one enrolling: not ours to keep.
                out.push(Action::Module(ModuleCommand::Delete { kind, template }));
            }
            return;
        }
        let (admin, mut draft, mut stored) = (*admin, draft.clone(), *stored);
        self.wake(now);
        let outcome = result.map_err(Refusal::Enroll).and_then(|template| {
            let mut updated = self.draft_record(&draft, stored).inspect_err(|_| {
                out.push(Action::Module(ModuleCommand::Delete { kind, template }))
            })?;
            if self.people.owner_of(kind, template).is_some()
                || !updated.add_template(kind, template)
            {
                out.push(Action::Module(ModuleCommand::Delete { kind, template }));
                return Err(Refusal::Enroll(EnrollFailure::ModuleFault));
            }
            self.store_person(
                now,
                updated.clone(),
                stored,
                Some(kind),
                Actor::Person(admin),
                out,
            )
            .inspect_err(|_| out.push(Action::Module(ModuleCommand::Delete { kind, template })))?;
            Ok(updated)
        });
        match outcome {
            Ok(updated) => {
                draft = updated;
                stored = true;
                self.prompt(out, Prompt::Success);
            }
            Err(reason) => self.prompt(out, Prompt::Failure(reason)),
        }
        self.prompt(out, Prompt::ChooseCredential);
        self.mode = Mode::Menu {
            admin,
            screen: Screen::Credential { draft, stored },
        };
    }

    /// Acts on a verification's first check: refuses, counts a failure, opens
    /// the menu, or unlocks after the second check.
    fn verdict(
        &mut self,
        now: Instant,
        grant: Option<Grant>,
        method: Method,
        entry: Option<&Entry>,
        for_menu: bool,
        out: &mut Actions,
    ) {
        if self.refused_unchecked(now, out) {
            return;
        }
        #[cfg(any(test, feature = "fault-injection"))]
        let grant = match self.forced_first_check.take() {
            Some((person, method)) => Some(Grant {
                person,
                method,
                evidence: Evidence::Template(BiometricKind::Finger, TemplateId(u16::MAX)),
                duress: false,
            }),
            None => grant,
        };
        let Some(grant) = grant else {
            self.fail(now, None, method, true, out);
            return;
        };
        let Some(person) = self.people.get(grant.person) else {
            self.fail(now, None, method, true, out);
            return;
        };
        if !person.admits(self.clock(now)) {
            // R-USR-6: refused, logged, not counted.
            self.log(
                now,
                out,
                LogEntry::UnlockFailed {
                    person: Some(grant.person),
                    method,
                    reason: Refusal::OutsideValidity,
                },
            );
            self.prompt(out, Prompt::Failure(Refusal::OutsideValidity));
            return;
        }
        let role = person.role;
        // S-HW-1: a second, independent derivation of the verdict.
        let first = GRANTED;
        let second = self.confirm(now, &grant, entry);
        if first != GRANTED || second != GRANTED || (first ^ second) != 0 {
            self.fail(now, None, method, true, out);
            return;
        }
        let extra_digits = matches!(
            (grant.evidence, entry),
            (Evidence::Passcode(m), Some(e)) if e.len() != m.len
        );
        if for_menu && role != Role::Administrator && extra_digits {
            // S-BF-3's insider: a user's own code with guesses around it at
            // SET would test up to ten windows for an administrator's code
            // per entry, uncounted, the menu opening being the answer. With
            // extra digits it is a guess like any other.
            self.fail(now, None, method, true, out);
            return;
        }
        if self.attempts.record_success(role == Role::Administrator) {
            self.persist_attempts(out);
        }
        if for_menu {
            if role == Role::Administrator {
                self.prompt(out, Prompt::Menu);
                self.mode = Mode::Menu {
                    admin: grant.person,
                    screen: Screen::Top,
                };
                self.wake(now);
            } else {
                self.prompt(out, Prompt::Failure(Refusal::NotAdministrator));
            }
            return;
        }
        self.unlock(now, Some(grant.person), grant.method, out);
        if grant.duress {
            // R-PIN-7: silent at the door, loud in the app.
            self.set_alarm(now, out, AlarmKind::Duress, true);
        }
    }

    /// The second check (S-HW-1): re-derives the verdict from the stored state
    /// without reusing the first check's result.
    fn confirm(&self, now: Instant, grant: &Grant, entry: Option<&Entry>) -> u32 {
        if self.storage_fault || self.attempts.lockout(now).is_some() {
            return REFUSED;
        }
        let Some(person) = self.people.get(grant.person) else {
            return REFUSED;
        };
        if !person.admits(self.clock(now)) {
            return REFUSED;
        }
        let evidence_holds = match (grant.evidence, entry) {
            (Evidence::Passcode(m), Some(entry)) => {
                m.owner == grant.person && self.passcodes.confirm(entry, &m)
            }
            (Evidence::Template(kind, template), None) => {
                person.templates(kind).contains(&template)
                    && self.people.owner_of(kind, template).map(|p| p.number) == Some(grant.person)
            }
            _ => false,
        };
        if evidence_holds { GRANTED } else { REFUSED }
    }

    /// Records a failed verification: persisted before anything observable
    /// (S-BF-2), then logged, then the lockout if it began.
    fn fail(
        &mut self,
        now: Instant,
        person: Option<PersonNumber>,
        method: Method,
        audible: bool,
        out: &mut Actions,
    ) {
        if self.storage_fault {
            return;
        }
        let outcome = self
            .attempts
            .record_failure(now, self.settings.lockout_protection);
        self.persist_attempts(out);
        self.log(
            now,
            out,
            LogEntry::UnlockFailed {
                person,
                method,
                reason: Refusal::NoMatch,
            },
        );
        if let Some(lockout) = outcome.lockout {
            let secs = u32::try_from(lockout.length.secs()).unwrap_or(u32::MAX);
            self.log(
                now,
                out,
                LogEntry::Lockout {
                    cause: lockout.cause,
                    secs,
                },
            );
            self.set_alarm(now, out, AlarmKind::SystemLocked, true);
            out.push(Action::Notify(Notice::Lockout(lockout.cause, secs)));
            if audible {
                self.prompt(out, Prompt::SystemLocked);
            }
        } else if audible {
            self.prompt(out, Prompt::Failure(Refusal::NoMatch));
        }
        self.entry.clear();
    }

    fn lift_lockout(&mut self, now: Instant, out: &mut Actions) {
        let was_locked = self.attempts.deadline().is_some();
        self.attempts.reset();
        self.persist_attempts(out);
        if was_locked {
            self.log(now, out, LogEntry::LockoutLifted);
        }
        self.set_alarm(now, out, AlarmKind::SystemLocked, false);
    }

    // ----- bolt and door -------------------------------------------------

    /// Retracts the bolt for a verified unlock from outside (R-UNL-2).
    fn unlock(
        &mut self,
        now: Instant,
        person: Option<PersonNumber>,
        method: Method,
        out: &mut Actions,
    ) {
        self.log(now, out, LogEntry::Unlock { person, method });
        self.drive(now, BoltPosition::Unlocked, out);
        self.prompt(out, Prompt::Unlocked);
        // R-MNU-8 and R-LCK-4 end with a verified unlock from outside.
        self.muted = false;
        self.set_leaving_home(false, out);
        self.unlocked_from_outside = true;
        self.outside_lock_offer = false;
        // An intrusion alarm stays until an administrator acknowledges it
        // (R-LCK-4): the owner coming home must not wipe a burglary away.
        self.start_countdown(now);
    }

    fn start_countdown(&mut self, now: Instant) {
        self.auto_lock_at = (self.settings.auto_lock && self.door == DoorState::Closed)
            .then(|| now + Duration::from_secs(u64::from(self.settings.auto_lock_secs)));
    }

    fn drive(&mut self, now: Instant, to: BoltPosition, out: &mut Actions) {
        let motor = self.settings.motor_direction(to == BoltPosition::Unlocked);
        out.push(Action::DriveBolt { to, motor });
        self.bolt = BoltState::Moving(to);
        self.bolt_deadline = Some(now + BOLT_TRAVEL_LIMIT);
    }

    fn lock_bolt(&mut self, now: Instant, how: LockMethod, out: &mut Actions) {
        if self.door == DoorState::Open {
            // Never throw the bolt into an open door.
            self.prompt(out, Prompt::Failure(Refusal::DoorOpen));
            return;
        }
        self.log(now, out, LogEntry::Locked(how));
        self.drive(now, BoltPosition::Locked, out);
        self.prompt(out, Prompt::Locked);
        self.auto_lock_at = None;
        self.unlocked_from_outside = false;
        self.outside_lock_offer = false;
    }

    fn jammed(&mut self, now: Instant, out: &mut Actions) {
        out.push(Action::StopMotor);
        self.bolt = BoltState::Jammed;
        self.bolt_deadline = None;
        self.set_alarm(now, out, AlarmKind::Jam, true);
        self.prompt(out, Prompt::Jammed);
    }

    fn bolt_report(&mut self, now: Instant, report: BoltReport, out: &mut Actions) {
        match report {
            BoltReport::Reached(position) => {
                if self.bolt_deadline.take().is_some() {
                    // R-LCK-3: the motor is not left powered.
                    out.push(Action::StopMotor);
                }
                let expected = matches!(self.bolt, BoltState::Moving(p) if p == position);
                if position == BoltPosition::Locked
                    && !expected
                    && self.bolt != BoltState::At(BoltPosition::Locked)
                {
                    self.log(now, out, LogEntry::Locked(LockMethod::Manual));
                    self.unlocked_from_outside = false;
                    self.outside_lock_offer = false;
                    self.auto_lock_at = None;
                }
                if position == BoltPosition::Unlocked
                    && !expected
                    && self.bolt != BoltState::At(BoltPosition::Unlocked)
                {
                    // R-LCK-2: unlocked by hand or by the key counts too.
                    self.start_countdown(now);
                }
                self.bolt = BoltState::At(position);
                self.set_alarm(now, out, AlarmKind::Jam, false);
            }
            BoltReport::Stalled | BoltReport::TimedOut => {
                if matches!(self.bolt, BoltState::Moving(_)) {
                    self.jammed(now, out);
                }
            }
            // R-LCK-3: nobody knows whether it holds the door; the motor is
            // off already and stays off until someone verified asks.
            BoltReport::Between => {
                if !matches!(self.bolt, BoltState::Moving(_)) {
                    self.bolt = BoltState::Jammed;
                    self.bolt_deadline = None;
                    self.set_alarm(now, out, AlarmKind::Jam, true);
                    self.prompt(out, Prompt::Jammed);
                }
            }
        }
    }

    fn door_changed(&mut self, now: Instant, state: DoorState, out: &mut Actions) {
        if state == self.door {
            return;
        }
        self.door = state;
        match state {
            DoorState::Open => {
                // R-LCK-2: never thrown while open; counts again from closing.
                self.auto_lock_at = None;
                if self.leaving_home {
                    // R-LCK-4: opened without a verified unlock from outside.
                    self.set_alarm(now, out, AlarmKind::Intrusion, true);
                }
                if self.unlocked_from_outside {
                    // Whoever unlocked from outside comes in; any later
                    // opening is from inside (R-LCK-1).
                    self.unlocked_from_outside = false;
                } else {
                    // R-LCK-1: opened from inside; ✓ outside will lock.
                    self.outside_lock_offer = true;
                }
            }
            DoorState::Closed => {
                if matches!(self.bolt, BoltState::At(BoltPosition::Unlocked)) {
                    self.start_countdown(now);
                }
            }
        }
        if self.outside_lock_offer {
            // R-LCK-1: ✓ lights by itself for whoever locks from outside.
            self.wake(now);
        }
    }

    fn mechanical_key(&mut self, now: Instant, out: &mut Actions) {
        // The key moves the bolt itself; the sensor will report where it went.
        self.log(
            now,
            out,
            LogEntry::Unlock {
                person: None,
                method: Method::MechanicalKey,
            },
        );
        self.set_leaving_home(false, out);
        self.unlocked_from_outside = true;
        self.outside_lock_offer = false;
    }

    // ----- alarms and power ----------------------------------------------

    fn tamper(&mut self, now: Instant, out: &mut Actions) {
        if self.tamper_until.is_none() {
            out.push(Action::Siren(true));
        }
        self.tamper_until = Some(now + TAMPER_ALARM);
        self.set_alarm(now, out, AlarmKind::Tamper, true);
    }

    fn battery_measured(&mut self, now: Instant, percent: u8, out: &mut Actions) {
        self.battery = percent;
        let low = percent < self.settings.low_battery_percent;
        let was = self.alarms.contains(AlarmKind::LowBattery);
        self.set_alarm(now, out, AlarmKind::LowBattery, low);
        if low && !was {
            self.prompt(out, Prompt::LowBattery);
        }
    }

    // ----- the app -------------------------------------------------------

    fn app(&mut self, now: Instant, request: AppRequest, out: &mut Actions) {
        let reply = match self.app_command(now, request, out) {
            Ok(reply) => reply,
            Err(refusal) => Reply::Refused(refusal),
        };
        out.push(Action::Reply(reply));
    }

    fn app_command(
        &mut self,
        now: Instant,
        request: AppRequest,
        out: &mut Actions,
    ) -> Result<Reply, Refusal> {
        let by = Actor::Pairing(request.pairing);
        let needed = match request.command {
            AppCommand::Unlock | AppCommand::Lock => Privilege::Visitor,
            AppCommand::Status | AppCommand::LiveVideo => Privilege::User,
            _ => Privilege::Administrator,
        };
        if request.privilege < needed {
            return Err(Refusal::NotPermitted);
        }
        // R-APP-5: a visitor's key acts over the local Bluetooth link only,
        // never from afar.
        if request.privilege == Privilege::Visitor && request.link == Link::Remote {
            return Err(Refusal::NotPermitted);
        }
        if self.storage_fault && !matches!(request.command, AppCommand::Status) {
            return Err(Refusal::StorageFault);
        }
        match request.command {
            AppCommand::Status => return Ok(Reply::Status(self.status())),
            AppCommand::Unlock => {
                if request.link == Link::Remote && !self.settings.remote_unlock {
                    return Err(Refusal::RemoteUnlockDisabled);
                }
                if self.attempts.lockout(now).is_some() {
                    return Err(Refusal::SystemLocked);
                }
                let method = match request.link {
                    Link::Bluetooth => Method::BluetoothKey,
                    Link::Remote => Method::Remote,
                };
                self.unlock(now, None, method, out);
            }
            AppCommand::Lock => {
                if self.door == DoorState::Open {
                    return Err(Refusal::DoorOpen);
                }
                self.lock_bolt(now, LockMethod::App, out);
            }
            AppCommand::LiftLockout => self.lift_lockout(now, out),
            AppCommand::Configure(setting) => self.configure(now, setting, by, out)?,
            AppCommand::SetValidity { person, validity } => {
                self.change_person(now, person, by, out, |p| p.validity = validity)?;
            }
            AppCommand::NamePerson { person, name } => {
                if !name.is_valid() {
                    return Err(Refusal::OutOfRange);
                }
                self.change_person(now, person, by, out, |p| p.name = name)?;
            }
            AppCommand::SetSchedule { person, schedule } => {
                if schedule.is_some_and(|s| !s.is_valid()) {
                    return Err(Refusal::OutOfRange);
                }
                self.change_person(now, person, by, out, |p| p.schedule = schedule)?;
            }
            AppCommand::AddPerson {
                role,
                passcode,
                validity,
            } => {
                // R-PIN-1/2/5, as at the keypad.
                Passcode::new(passcode.digits())?;
                passcode.check_strength()?;
                if self.passcodes.overlaps(&passcode) {
                    return Err(Refusal::Passcode(PasscodeError::Overlaps));
                }
                let number = self.people.lowest_free().ok_or(Refusal::PeopleFull)?;
                let mut person = Person::new(number, role);
                person.passcode = Some(passcode);
                person.validity = validity;
                self.store_person(now, person, false, None, by, out)?;
                return Ok(Reply::PersonAdded(number));
            }
            AppCommand::DeletePerson(person) => {
                self.people.check_delete(person).map_err(refusal_of)?;
                self.delete_person(now, person, by, out);
            }
            AppCommand::SetDuressPasscode { person, code } => {
                let mut p = self
                    .people
                    .get(person)
                    .cloned()
                    .ok_or(Refusal::NoSuchPerson)?;
                code.check_strength()?;
                let clashes = self.people.iter().any(|q| {
                    q.passcode
                        .iter()
                        .chain(q.duress.iter().filter(|_| q.number != person))
                        .any(|c| c.overlaps(&code))
                });
                if clashes {
                    return Err(Refusal::Passcode(PasscodeError::Overlaps));
                }
                p.duress = Some(code);
                self.store_person(now, p, true, None, by, out)?;
            }
            AppCommand::Acknowledge(kind) => match kind {
                AlarmKind::Duress | AlarmKind::Intrusion => self.set_alarm(now, out, kind, false),
                AlarmKind::Tamper => {
                    if self.tamper_until.take().is_some() {
                        out.push(Action::Siren(false));
                    }
                    self.set_alarm(now, out, kind, false);
                }
                // These last while their cause does.
                AlarmKind::SystemLocked | AlarmKind::LowBattery | AlarmKind::Jam => {
                    return Err(Refusal::CauseActive);
                }
            },
            AppCommand::SetClock(ts) => {
                // S-VC-1, S-VC-3: never before the end of a forgotten one-time
                // code's window, also after a restart (which forgets `wall_high`).
                if crate::visitor::clock_floor(&self.visitor_codes_used).is_some_and(|f| ts < f) {
                    return Err(Refusal::ClockBackwards);
                }
                // S-VC-3: nor back from where the clock had got before a
                // restart, by more than a step back allows while powered.
                if self
                    .clock_mark
                    .is_some_and(|m| ts.0.saturating_add(CLOCK_MAX_STEP_BACK.secs()) < m.0)
                {
                    return Err(Refusal::ClockBackwards);
                }
                let high = self
                    .wall_high
                    .map(|(at, value)| value.saturating_add(now.saturating_since(at)));
                if let Some(high) = high
                    && ts.0.saturating_add(CLOCK_MAX_STEP_BACK.secs()) < high.0
                {
                    return Err(Refusal::ClockBackwards);
                }
                if high.is_none_or(|h| ts > h) {
                    self.wall_high = Some((now, ts));
                }
                self.wall = Some((now, ts));
                self.mark_clock(ts, out);
                self.log(
                    now,
                    out,
                    LogEntry::ClockSet {
                        to: ts,
                        by: request.pairing,
                    },
                );
            }
            AppCommand::LiveVideo => {
                if self.battery < CAMERA_MIN_BATTERY && !self.usb_power {
                    return Err(Refusal::BatteryTooLow);
                }
            }
        }
        Ok(Reply::Done)
    }
}

/// How a passcode dialogue (R-PIN-3) went after one key.
enum Dialogue {
    /// Still typing; the first entry if it was confirmed.
    Typing(Option<Passcode>),
    /// ↩ pressed.
    Cancelled,
    /// A rule refused the code; the failure prompt was played.
    Refused,
    /// Entered twice, the same both times, and it passed every rule.
    Confirmed(Passcode),
}

fn refusal_of(e: PeopleError) -> Refusal {
    match e {
        PeopleError::Full => Refusal::PeopleFull,
        PeopleError::NoSuchPerson => Refusal::NoSuchPerson,
        PeopleError::LastAdministrator => Refusal::LastAdministrator,
        PeopleError::OnlyPerson => Refusal::OnlyPerson,
        PeopleError::CredentialStoreFull => Refusal::CredentialStoreFull,
        PeopleError::PersonCredentialsFull => Refusal::PersonCredentialsFull,
        PeopleError::Duplicate => Refusal::Enroll(EnrollFailure::Duplicate),
    }
}

#[cfg(test)]
#[path = "lock_tests.rs"]
mod tests;
