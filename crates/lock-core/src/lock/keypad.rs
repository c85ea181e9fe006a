//! The dialogue at the keypad: waking and going dark, first start, typing
//! a passcode at the door, and where the dialogue is ([`Mode`]).
//!
//! The mode changes in one way: [`Lock::enter`]. A key's handler takes the
//! mode it was pressed in (the lock rests at [`Mode::Idle`] meanwhile; no
//! copy of a menu's draft person per key) and enters the next one; the
//! menu's screens are in `menu.rs`.

use subtle::ConstantTimeEq;

use crate::action::{
    Action, Actions, Backlight, Change, KeyMask, LockMethod, ModuleCommand, Notice, Prompt, Refusal,
};
use crate::event::{AlarmKind, Key};
use crate::log::{Actor, LogEntry};
use crate::passcode::{Entry, PASSCODE_MIN_DIGITS, Passcode, PasscodeError};
use crate::person::{BiometricKind, Person, PersonNumber, Role};
use crate::settings::DoorDirection;
use crate::time::{Duration, Instant};
use crate::visitor::VisitorCodes;

use super::Lock;
use super::menu::Screen;
use super::timers::Timer;

/// The keypad goes dark this long after the last key.
pub const KEYPAD_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the keypad dialogue is.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// At the door: passcode entry, biometrics, locking keys.
    Idle,
    /// First start's question; `asked` once ✓ was pressed.
    DoorDirection { asked: bool },
    /// No administrator yet: ✓ creates one.
    FirstStart,
    /// Creating the first administrator's passcode; `first` once entered once.
    CreateAdministrator { first: Option<Passcode> },
    /// After SET: waiting for an administrator's credential.
    VerifyAdministrator,
    /// The menu, opened by this administrator.
    Menu { admin: PersonNumber, screen: Screen },
    /// Power returned with SET held: ✓ erases everything.
    FactoryResetPrompt,
}

/// The keypad's state.
#[derive(Debug, Clone)]
pub(crate) struct Keypad {
    pub(crate) mode: Mode,
    /// The digits typed so far.
    pub(crate) entry: Entry,
    /// The keys lit, as last shown; `None` while dark.
    pub(crate) lit: Option<KeyMask>,
    /// One-time mute: prompts are silent.
    pub(crate) muted: bool,
    /// The app protocol's pairing code was spoken and waits for ✓ at the
    /// lock.
    pub(crate) pairing_code: bool,
}

impl Keypad {
    pub(crate) fn new() -> Keypad {
        Keypad {
            mode: Mode::Idle,
            entry: Entry::new(),
            lit: None,
            muted: false,
            pairing_code: false,
        }
    }
}

/// How a passcode dialogue went after one key.
pub(crate) enum Dialogue {
    /// Still typing; the first entry if it was confirmed.
    Typing(Option<Passcode>),
    /// ↩ pressed.
    Cancelled,
    /// A rule refused the code; the failure prompt was played.
    Refused,
    /// Entered twice, the same both times, and it passed every rule.
    Confirmed(Passcode),
}

impl<V: VisitorCodes> Lock<V> {
    /// The dialogue goes to `mode`. The only place the mode changes.
    pub(super) fn enter(&mut self, mode: Mode) {
        self.keypad.mode = mode;
    }

    pub(super) fn wake(&mut self, now: Instant) {
        self.timers.set(Timer::Keypad, now + KEYPAD_TIMEOUT);
    }

    pub(super) fn sleep(&mut self) {
        self.timers.cancel(Timer::Keypad);
        self.keypad.entry.clear();
    }

    pub(super) fn awake(&self) -> bool {
        self.timers.is_set(Timer::Keypad)
    }

    /// The keys lit in the current mode.
    pub(super) fn mask(&self) -> KeyMask {
        match &self.keypad.mode {
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
    pub(super) fn show_keypad(&mut self, out: &mut Actions) {
        let want = self.awake().then(|| self.mask());
        if want != self.keypad.lit {
            self.keypad.lit = want;
            // Pairing mode shows its own blinking `0` until it ends.
            if !self.timers.is_set(Timer::Pairing) {
                out.push(Action::Keypad(match want {
                    Some(mask) => Backlight::Steady(mask),
                    None => Backlight::Off,
                }));
            }
        }
    }

    /// R-MNU-1: dark after [`KEYPAD_TIMEOUT`] without a key; whatever was
    /// unfinished is dropped.
    pub(super) fn keypad_timeout(&mut self, out: &mut Actions) {
        self.sleep();
        let next = match &self.keypad.mode {
            Mode::Menu {
                screen: Screen::Enrolling { kind, .. },
                ..
            } => {
                out.push(Action::Module(ModuleCommand::CancelEnroll(*kind)));
                Mode::Idle
            }
            Mode::DoorDirection { .. } => Mode::DoorDirection { asked: false },
            Mode::CreateAdministrator { .. } | Mode::FirstStart => Mode::FirstStart,
            Mode::FactoryResetPrompt => self.rest_mode(),
            _ => Mode::Idle,
        };
        self.enter(next);
    }

    /// Where the dialogue rests given what is stored.
    pub(super) fn rest_mode(&self) -> Mode {
        if self.stored.settings.door_direction.is_none() && !self.storage_fault {
            Mode::DoorDirection { asked: false }
        } else if self.stored.people.is_empty() && !self.storage_fault {
            Mode::FirstStart
        } else {
            Mode::Idle
        }
    }

    pub(super) fn boot(&mut self, now: Instant, set_held: bool, out: &mut Actions) {
        // The runtime read the battery as it started: the next in an hour.
        self.timers.hourly_ran(now);
        if self.locked_out(now) {
            self.alarms.set(AlarmKind::SystemLocked, true);
        }
        // Alarms kept across the power cut are announced again: the notice
        // sent before it may never have left the lock.
        for kind in [AlarmKind::Duress, AlarmKind::Intrusion] {
            if self.alarms.contains(kind) {
                out.push(Action::Notify(Notice::Alarm(kind)));
            }
        }
        if set_held {
            self.enter(Mode::FactoryResetPrompt);
            self.wake(now);
            self.prompt(out, Prompt::FactoryResetConfirm);
            return;
        }
        self.enter(self.rest_mode());
        if self.storage_fault {
            self.prompt(out, Prompt::Failure(Refusal::StorageFault));
        } else if let Mode::DoorDirection { .. } = self.keypad.mode {
            // On first start the keypad is awake and asks.
            self.wake(now);
            self.prompt(out, Prompt::DoorDirection);
        }
    }

    /// A touch wakes the keypad and, at the door, starts face
    /// recognition; the low-battery reminder plays on every wake.
    pub(super) fn touch(&mut self, now: Instant, out: &mut Actions) {
        let was_dark = !self.awake();
        self.wake(now);
        if !was_dark {
            return;
        }
        if self.alarms.contains(AlarmKind::LowBattery) {
            self.prompt(out, Prompt::LowBattery);
        }
        match self.keypad.mode {
            Mode::DoorDirection { .. } => self.prompt(out, Prompt::DoorDirection),
            Mode::FirstStart => self.prompt(out, Prompt::CreateAdministrator),
            Mode::Idle if !self.stored.people.is_empty() && !self.storage_fault => {
                self.search_face(out);
            }
            _ => {}
        }
    }

    pub(super) fn key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        if !self.awake() {
            // A dark keypad shows nothing to aim at: the first contact wakes it.
            self.touch(now, out);
            return;
        }
        self.wake(now);
        if self.keypad.pairing_code {
            self.pairing_code_key(now, key, out);
            return;
        }
        match core::mem::replace(&mut self.keypad.mode, Mode::Idle) {
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

    /// R-MNU-8: holding `0` at the door turns on one-time mute until the
    /// next verified unlock from outside; the keypad flashes twice.
    pub(super) fn key_held(&mut self, now: Instant, key: Key, out: &mut Actions) {
        if key == Key::Digit(0) && matches!(self.keypad.mode, Mode::Idle) && !self.storage_fault {
            self.wake(now);
            self.keypad.muted = true;
            self.keypad.entry.clear();
            out.push(Action::Keypad(Backlight::FlashTwice { then: self.mask() }));
        } else {
            self.key(now, key, out);
        }
    }

    /// At the door: digits, ✓ to check them (or to lock from outside), the
    /// leaving-home key and the bell.
    fn idle_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        match key {
            Key::Digit(d) => {
                self.keypad.entry.push(d);
            }
            Key::Back => self.keypad.entry.clear(),
            Key::Ok if self.keypad.entry.len() >= PASSCODE_MIN_DIGITS => {
                // Taken out (the keypad's buffer is zeroed), and
                // wiped when dropped after the check.
                let entry = core::mem::take(&mut self.keypad.entry);
                self.verify_passcode(now, &entry, false, out);
            }
            Key::Ok if self.keypad.entry.is_empty() && self.body.outside_lock_offer => {
                self.lock_bolt(now, LockMethod::Keypad, out);
            }
            // Fewer than six digits: ✓ does nothing.
            Key::Ok => {}
            Key::Home => self.leave_home(now, out),
            Key::Bell => self.doorbell(out),
        }
    }

    /// R-ALM-5: a chime and a notification to the app. A chime is the
    /// bell's whole point: one-time mute does not silence it.
    fn doorbell(&mut self, out: &mut Actions) {
        out.push(Action::Prompt(Prompt::Chime));
        out.push(Action::Notify(Notice::Doorbell));
    }

    /// R-UNL-3: first start asks for the door's direction before anything
    /// else (then first start proper follows), and it sets the motor's.
    fn door_direction_key(&mut self, now: Instant, asked: bool, key: Key, out: &mut Actions) {
        self.enter(Mode::DoorDirection { asked });
        let direction = match (asked, key) {
            (false, Key::Ok) => return self.enter(Mode::DoorDirection { asked: true }),
            (true, Key::Back) => return self.enter(Mode::DoorDirection { asked: false }),
            (true, Key::Digit(1)) => DoorDirection::Right,
            (true, Key::Digit(2)) => DoorDirection::Left,
            (true, _) => return self.prompt(out, Prompt::Failure(Refusal::OutOfRange)),
            (false, _) => return,
        };
        self.stored.settings.door_direction = Some(direction);
        out.push(Action::Persist(Change::Settings(self.stored.settings)));
        self.log(now, out, LogEntry::DoorDirection(direction));
        self.prompt(out, Prompt::Success);
        self.enter(self.rest_mode());
        if let Mode::FirstStart = self.keypad.mode {
            self.prompt(out, Prompt::CreateAdministrator);
        }
    }

    /// R-MNU-2: first start: ✓ creates the first administrator, ↩ leaves
    /// without creating.
    fn first_start_key(&mut self, key: Key, out: &mut Actions) {
        self.enter(Mode::FirstStart);
        match key {
            Key::Ok => {
                self.keypad.entry.clear();
                self.enter(Mode::CreateAdministrator { first: None });
                self.prompt(out, Prompt::EnterPasscode);
            }
            Key::Back => self.sleep(),
            _ => {}
        }
    }

    /// The first administrator's passcode, entered twice; they are `001`
    /// and the menu opens for them. A refused code goes back to first start.
    fn create_administrator_key(
        &mut self,
        now: Instant,
        first: Option<Passcode>,
        key: Key,
        out: &mut Actions,
    ) {
        let code = match self.passcode_dialogue(first, key, out) {
            Dialogue::Typing(first) => return self.enter(Mode::CreateAdministrator { first }),
            Dialogue::Cancelled | Dialogue::Refused => return self.enter(Mode::FirstStart),
            Dialogue::Confirmed(code) => code,
        };
        let Some(number) = self.stored.people.lowest_free() else {
            return self.enter(Mode::FirstStart);
        };
        let mut admin = Person::new(number, Role::Administrator);
        admin.passcode = Some(code);
        match self.store_person(now, admin, false, None, Actor::Person(number), out) {
            Ok(()) => {
                self.prompt(out, Prompt::Success);
                self.prompt(out, Prompt::Menu);
                self.enter(Mode::Menu {
                    admin: number,
                    screen: Screen::Top,
                });
            }
            Err(reason) => {
                self.prompt(out, Prompt::Failure(reason));
                self.enter(Mode::FirstStart);
            }
        }
    }

    /// R-PIN-3: a new passcode is entered twice, the rules checked at the
    /// first entry; a second entry that differs refuses. Shared by first
    /// start and the menu.
    pub(super) fn passcode_dialogue(
        &mut self,
        first: Option<Passcode>,
        key: Key,
        out: &mut Actions,
    ) -> Dialogue {
        match key {
            Key::Digit(d) => {
                self.keypad.entry.push(d);
                Dialogue::Typing(first)
            }
            Key::Back => {
                self.keypad.entry.clear();
                Dialogue::Cancelled
            }
            Key::Ok => {
                // Wiped when dropped (`Entry`).
                let typed = core::mem::take(&mut self.keypad.entry);
                let checked = Passcode::new(typed.digits()).and_then(|code| match first {
                    None => {
                        code.check_strength()?;
                        self.new_passcode_is_free(&code)?;
                        Ok(code)
                    }
                    Some(f) if bool::from(f.ct_eq(&code)) => {
                        // The app may have stored a code (a duress code) since
                        // the first entry: the containment rule holds for what
                        // is stored now, or the store would refuse to restore.
                        self.new_passcode_is_free(&code)?;
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

    /// After SET: an administrator's passcode opens the menu (as their face,
    /// palm or finger would, in `verify.rs`).
    fn verify_administrator_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        self.enter(Mode::VerifyAdministrator);
        match key {
            Key::Digit(d) => {
                self.keypad.entry.push(d);
            }
            Key::Back => {
                self.enter(Mode::Idle);
                self.sleep();
            }
            Key::Ok if self.keypad.entry.len() >= PASSCODE_MIN_DIGITS => {
                // Taken out and wiped, as above.
                let entry = core::mem::take(&mut self.keypad.entry);
                self.verify_passcode(now, &entry, true, out);
            }
            _ => {}
        }
    }

    fn factory_reset_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        match key {
            Key::Ok => self.factory_reset(now, out),
            _ => {
                self.enter(self.rest_mode());
                self.sleep();
            }
        }
    }

    /// A short press of SET, then an administrator's credential, opens the
    /// menu.
    pub(super) fn set_pressed(&mut self, now: Instant, out: &mut Actions) {
        if !matches!(self.keypad.mode, Mode::Idle)
            || self.stored.people.is_empty()
            || self.storage_fault
        {
            return;
        }
        self.enter(Mode::VerifyAdministrator);
        self.keypad.entry.clear();
        self.wake(now);
        self.prompt(out, Prompt::VerifyAdministrator);
        self.search_face(out);
    }

    /// A face search, when a face module is fitted: a face needs no touch
    /// of its own, so the keypad waking starts one.
    fn search_face(&self, out: &mut Actions) {
        if self.config.modules.face {
            out.push(Action::Module(ModuleCommand::Identify(BiometricKind::Face)));
        }
    }
}
