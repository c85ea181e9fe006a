//! The lock body: bolt, door, the countdown lock and leaving-home mode.

use crate::action::{
    Action, Actions, Armed, BoltState, Change, LockMethod, Method, Prompt, Refusal,
};
use crate::event::{AlarmKind, BoltPosition, BoltReport, DoorState};
use crate::log::LogEntry;
use crate::person::PersonNumber;
use crate::time::{Duration, Instant};
use crate::visitor::VisitorCodes;

use super::Lock;
use super::timers::Timer;

/// Which ends of the bolt's travel have a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoltSwitches {
    /// A switch at each end: the lock always knows where the bolt is.
    Both,
    /// Only thrown is switched: not there reads as retracted.
    LockedOnly,
    /// Only retracted is switched: not there reads as thrown.
    UnlockedOnly,
    /// None: the lock knows the bolt from its own runs, a run to the end
    /// lasting the whole travel limit.
    None,
}

impl BoltSwitches {
    /// Whether `end` has a switch.
    pub const fn at(self, end: BoltPosition) -> bool {
        matches!(
            (self, end),
            (BoltSwitches::Both, _)
                | (BoltSwitches::LockedOnly, BoltPosition::Locked)
                | (BoltSwitches::UnlockedOnly, BoltPosition::Unlocked)
        )
    }

    /// With one switch, the end without it: where a bolt that is not at the
    /// switch is taken to be.
    const fn other_end(self) -> Option<BoltPosition> {
        match self {
            BoltSwitches::LockedOnly => Some(BoltPosition::Unlocked),
            BoltSwitches::UnlockedOnly => Some(BoltPosition::Locked),
            BoltSwitches::Both | BoltSwitches::None => None,
        }
    }
}

/// The lock body as the lock must know it: which ends have a
/// switch and how long the bolt may take to travel. The one bound on a
/// bolt movement: the runtime stops the motor when the lock says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BoltBody {
    /// The end switches there are.
    pub switches: BoltSwitches,
    /// Longest a movement may take: reaching a switch sooner ends it; then
    /// the motor stops, as a jam towards a switched end and as arrival
    /// towards one without. A gear motor slows as the battery sags: leave
    /// room for that (about 1.5 times the travel at full charge).
    pub travel_limit: Duration,
}

impl Default for BoltBody {
    /// Switches at both ends, 6 s of travel.
    fn default() -> Self {
        BoltBody {
            switches: BoltSwitches::Both,
            travel_limit: Duration::from_secs(6),
        }
    }
}

/// What the lock knows of its body.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub(crate) bolt: BoltState,
    pub(crate) door: DoorState,
    /// The bolt was last unlocked by a verified credential from outside.
    unlocked_from_outside: bool,
    /// The door was opened from inside since the last lock: ✓ outside locks.
    pub(crate) outside_lock_offer: bool,
    /// Leaving-home mode is armed; stored.
    pub(crate) leaving_home: bool,
}

impl Body {
    pub(crate) fn new() -> Body {
        Body {
            bolt: BoltState::At(BoltPosition::Locked),
            door: DoorState::Closed,
            unlocked_from_outside: false,
            outside_lock_offer: false,
            leaving_home: false,
        }
    }

    /// A factory reset forgets who came in and leaving-home mode; bolt and
    /// door stay where the sensors say.
    pub(crate) fn forget(&mut self) {
        self.unlocked_from_outside = false;
        self.outside_lock_offer = false;
        self.leaving_home = false;
    }

    /// Someone with a verified credential (or the key) is coming in from
    /// outside.
    fn entering(&mut self) {
        self.unlocked_from_outside = true;
        self.outside_lock_offer = false;
    }

    /// The bolt is locked: nobody is on their way in.
    fn locked(&mut self) {
        self.unlocked_from_outside = false;
        self.outside_lock_offer = false;
    }
}

impl<V: VisitorCodes> Lock<V> {
    /// What survives a power cut of leaving-home mode and the alarms only
    /// an acknowledgement ends.
    pub(super) fn armed(&self) -> Armed {
        Armed {
            leaving_home: self.body.leaving_home,
            duress: self.alarms.contains(AlarmKind::Duress),
            intrusion: self.alarms.contains(AlarmKind::Intrusion),
        }
    }

    /// R-LCK-4: leaving-home mode, armed from outside with the door closed:
    /// the bolt locks, and opening the door without a verified unlock from
    /// outside raises the intrusion alarm (in [`Lock::door_changed`]).
    pub(super) fn leave_home(&mut self, now: Instant, out: &mut Actions) {
        if self.body.door == DoorState::Closed && !self.storage_fault {
            self.lock_bolt(now, LockMethod::LeavingHome, out);
            self.set_leaving_home(true, out);
            self.prompt(out, Prompt::LeavingHome);
        } else {
            self.prompt(out, Prompt::Failure(Refusal::DoorOpen));
        }
    }

    fn set_leaving_home(&mut self, on: bool, out: &mut Actions) {
        if self.body.leaving_home != on {
            self.body.leaving_home = on;
            out.push(Action::Persist(Change::Armed(self.armed())));
        }
    }

    /// R-UNL-2: retracts the bolt for a verified unlock from outside, with
    /// the success prompt and a log record of who and how.
    pub(super) fn unlock(
        &mut self,
        now: Instant,
        person: Option<PersonNumber>,
        method: Method,
        out: &mut Actions,
    ) {
        self.log(now, out, LogEntry::Unlock { person, method });
        self.drive(now, BoltPosition::Unlocked, out);
        self.prompt(out, Prompt::Unlocked);
        // One-time mute and leaving-home mode end with a verified unlock
        // from outside.
        self.keypad.muted = false;
        self.set_leaving_home(false, out);
        self.body.entering();
        // An intrusion alarm stays until an administrator acknowledges it:
        // the owner coming home must not wipe a burglary away.
        self.start_countdown(now);
    }

    /// R-LCK-2: the countdown lock starts when the bolt is unlocked with
    /// the door closed (by any means) and counts again from the door
    /// closing; it never throws the bolt into an open door.
    pub(super) fn start_countdown(&mut self, now: Instant) {
        let settings = &self.stored.settings;
        if settings.auto_lock && self.body.door == DoorState::Closed {
            let delay = Duration::from_secs(u64::from(settings.auto_lock_secs));
            self.timers.set(Timer::AutoLock, now + delay);
        } else {
            self.timers.cancel(Timer::AutoLock);
        }
    }

    fn drive(&mut self, now: Instant, to: BoltPosition, out: &mut Actions) {
        let body = self.config.bolt;
        if self.body.bolt == BoltState::At(to) && body.switches.other_end() == Some(to) {
            // Already there, as the one switch says, and no switch would
            // tell it got there: a run would push the whole travel limit of
            // stall current into the end stop.
            return;
        }
        let motor = self
            .stored
            .settings
            .motor_direction(to == BoltPosition::Unlocked);
        out.push(Action::DriveBolt { to, motor });
        self.body.bolt = BoltState::Moving(to);
        self.timers.set(Timer::Bolt, now + body.travel_limit);
    }

    /// The travel limit passed without a report: arrival at an end without
    /// a switch, a jam otherwise ([`Lock::bolt_report`] has the rule).
    pub(super) fn travel_ended(&mut self, now: Instant, out: &mut Actions) {
        match self.body.bolt {
            BoltState::Moving(to) if !self.config.bolt.switches.at(to) => {
                self.timers.cancel(Timer::Bolt);
                out.push(Action::StopMotor);
                self.arrived(now, to, out);
            }
            _ => self.jammed(now, out),
        }
    }

    /// Throws the bolt, unless the door is open.
    pub(super) fn lock_bolt(&mut self, now: Instant, how: LockMethod, out: &mut Actions) {
        if self.body.door == DoorState::Open {
            self.prompt(out, Prompt::Failure(Refusal::DoorOpen));
            return;
        }
        self.log(now, out, LogEntry::Locked(how));
        self.drive(now, BoltPosition::Locked, out);
        self.prompt(out, Prompt::Locked);
        self.timers.cancel(Timer::AutoLock);
        self.body.locked();
    }

    /// The bolt did not get where it was driven: the motor stops.
    pub(super) fn jammed(&mut self, now: Instant, out: &mut Actions) {
        out.push(Action::StopMotor);
        self.stuck(now, out);
    }

    /// Nobody knows whether the bolt holds the door: jam alarm.
    fn stuck(&mut self, now: Instant, out: &mut Actions) {
        self.body.bolt = BoltState::Jammed;
        self.timers.cancel(Timer::Bolt);
        self.set_alarm(now, out, AlarmKind::Jam, true);
        self.prompt(out, Prompt::Jammed);
    }

    /// R-LCK-3: the lock body's report. The motor is not left powered: it
    /// stops at the end position, on a stall or at the travel limit, and a
    /// bolt found between positions stays put until someone verified asks.
    /// With one switch, "not at it" is the other end: a bolt leaving the
    /// switch by hand has been turned there.
    pub(super) fn bolt_report(&mut self, now: Instant, report: BoltReport, out: &mut Actions) {
        match report {
            BoltReport::Reached(position) => {
                if self.timers.cancel(Timer::Bolt) {
                    out.push(Action::StopMotor);
                }
                self.arrived(now, position, out);
            }
            BoltReport::Stalled => {
                if matches!(self.body.bolt, BoltState::Moving(_)) {
                    self.jammed(now, out);
                }
            }
            BoltReport::Between => match self.config.bolt.switches.other_end() {
                // Leaving the switch is how a run to the other end starts.
                Some(_) if matches!(self.body.bolt, BoltState::Moving(_)) => {}
                Some(other) => self.arrived(now, other, out),
                None if matches!(self.body.bolt, BoltState::Moving(_)) => {}
                None => self.stuck(now, out),
            },
        }
    }

    /// The bolt is at `position`, driven there or moved by hand or key.
    fn arrived(&mut self, now: Instant, position: BoltPosition, out: &mut Actions) {
        let expected = matches!(self.body.bolt, BoltState::Moving(p) if p == position);
        let moved = !expected && self.body.bolt != BoltState::At(position);
        if moved && position == BoltPosition::Locked {
            self.log(now, out, LogEntry::Locked(LockMethod::Manual));
            self.body.locked();
            self.timers.cancel(Timer::AutoLock);
        }
        if moved && position == BoltPosition::Unlocked {
            // Unlocked by hand or by the key counts down too.
            self.start_countdown(now);
        }
        self.body.bolt = BoltState::At(position);
        self.set_alarm(now, out, AlarmKind::Jam, false);
    }

    /// R-LCK-1: the door sensor. A door opened from inside offers ✓ outside
    /// to lock (lit by itself); whoever unlocked from outside comes in, and
    /// any later opening is from inside.
    pub(super) fn door_changed(&mut self, now: Instant, state: DoorState, out: &mut Actions) {
        if state == self.body.door {
            return;
        }
        self.body.door = state;
        match state {
            DoorState::Open => {
                self.timers.cancel(Timer::AutoLock);
                if self.body.leaving_home {
                    // Opened without a verified unlock from outside.
                    self.set_alarm(now, out, AlarmKind::Intrusion, true);
                }
                if self.body.unlocked_from_outside {
                    self.body.unlocked_from_outside = false;
                } else {
                    self.body.outside_lock_offer = true;
                }
            }
            DoorState::Closed => {
                if matches!(self.body.bolt, BoltState::At(BoltPosition::Unlocked)) {
                    self.start_countdown(now);
                }
            }
        }
        if self.body.outside_lock_offer {
            self.wake(now);
        }
    }

    /// The mechanical key moves the bolt itself; the sensor will report
    /// where it went.
    pub(super) fn mechanical_key(&mut self, now: Instant, out: &mut Actions) {
        self.log(
            now,
            out,
            LogEntry::Unlock {
                person: None,
                method: Method::MechanicalKey,
            },
        );
        self.set_leaving_home(false, out);
        self.body.entering();
    }
}
