//! Every deadline the lock keeps, in one table keyed by [`Timer`], and the
//! one place they expire.

use crate::action::{Action, Actions, LockMethod};
use crate::event::AlarmKind;
use crate::log::LogEntry;
use crate::time::Instant;
use crate::visitor::VisitorCodes;

use super::Lock;

/// A deadline of the lock ([`Lock::next_timer`]). When several fall due
/// in one call they are handled in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The keypad goes dark.
    Keypad,
    /// A lockout ends; kept by the failure counts, which are stored.
    Lockout,
    /// The tamper siren stops.
    Tamper,
    /// The pairing window closes.
    Pairing,
    /// The bolt should have reached its end position by now.
    Bolt,
    /// The countdown lock throws the bolt.
    AutoLock,
    /// The wall clock's progress is due on flash: it has none yet, or a
    /// window the lock knows of ends; derived from the clock and the
    /// windows.
    ClockMark,
    /// The hourly wake, the lock's only periodic one: the battery
    /// reading ([`Action::MeasureBattery`]) and the clock's mark, batched.
    /// With a wall clock at whole hours of it (where offline visitor code
    /// windows end, so their marks come in the same wake), the first one at
    /// least half an hour after the last; without one an hour after the
    /// last (or the boot).
    Hourly,
}

impl Timer {
    /// Every timer, in the order they are handled.
    pub const ALL: [Timer; 8] = [
        Timer::Keypad,
        Timer::Lockout,
        Timer::Tamper,
        Timer::Pairing,
        Timer::Bolt,
        Timer::AutoLock,
        Timer::ClockMark,
        Timer::Hourly,
    ];

    /// The timer's name, for logs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Timer::Keypad => "keypad",
            Timer::Lockout => "lockout",
            Timer::Tamper => "tamper",
            Timer::Pairing => "pairing",
            Timer::Bolt => "bolt",
            Timer::AutoLock => "auto-lock",
            Timer::ClockMark => "clock-mark",
            Timer::Hourly => "hourly",
        }
    }
}

/// The deadlines kept in RAM. [`Timer::Lockout`], [`Timer::ClockMark`] and
/// [`Timer::Hourly`] are derived from the state they belong to, so they
/// cannot disagree with it; setting them here does nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    keypad: Option<Instant>,
    tamper: Option<Instant>,
    pairing: Option<Instant>,
    bolt: Option<Instant>,
    auto_lock: Option<Instant>,
    /// When [`Timer::Hourly`] last ran, or the boot; `None` before it.
    hourly_last: Option<Instant>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers::default()
    }

    /// The slot of a timer the table keeps itself.
    fn slot(&mut self, timer: Timer) -> Option<&mut Option<Instant>> {
        match timer {
            Timer::Keypad => Some(&mut self.keypad),
            Timer::Tamper => Some(&mut self.tamper),
            Timer::Pairing => Some(&mut self.pairing),
            Timer::Bolt => Some(&mut self.bolt),
            Timer::AutoLock => Some(&mut self.auto_lock),
            Timer::Lockout | Timer::ClockMark | Timer::Hourly => None,
        }
    }

    /// When `timer` is due, if it runs.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        match timer {
            Timer::Keypad => self.keypad,
            Timer::Tamper => self.tamper,
            Timer::Pairing => self.pairing,
            Timer::Bolt => self.bolt,
            Timer::AutoLock => self.auto_lock,
            Timer::Lockout | Timer::ClockMark | Timer::Hourly => None,
        }
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// Starts (or restarts) `timer` to fall due at `at`.
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(slot) = self.slot(timer) {
            *slot = Some(at);
        }
    }

    /// Stops `timer`; whether it was running.
    pub(crate) fn cancel(&mut self, timer: Timer) -> bool {
        self.slot(timer).and_then(Option::take).is_some()
    }

    /// Stops every timer. The hourly wake runs on: it belongs to the
    /// hardware (the battery) and the clock, not to what was stored.
    pub(crate) fn clear(&mut self) {
        *self = Timers {
            hourly_last: self.hourly_last,
            ..Timers::default()
        };
    }

    /// The hourly wake ran (or the lock booted) at `now`.
    pub(crate) fn hourly_ran(&mut self, now: Instant) {
        self.hourly_last = Some(now);
    }

    /// When the hourly wake last ran, or the boot.
    pub(crate) fn hourly_last(&self) -> Option<Instant> {
        self.hourly_last
    }
}

impl<V: VisitorCodes> Lock<V> {
    /// When `timer` falls due, if it runs.
    pub(super) fn deadline(&self, timer: Timer) -> Option<Instant> {
        match timer {
            Timer::Lockout => self.stored.attempts.deadline(),
            Timer::ClockMark => self.clock_mark_due(),
            Timer::Hourly => self.hourly_due(),
            _ => self.timers.get(timer),
        }
    }

    /// Runs every timer whose time has come. Called first for every event, so
    /// a late or missing tick only delays, and a spurious one does nothing.
    pub(super) fn expire(&mut self, now: Instant, out: &mut Actions) {
        for timer in Timer::ALL {
            if self.deadline(timer).is_some_and(|t| now >= t) {
                self.fire(now, timer, out);
            }
        }
    }

    fn fire(&mut self, now: Instant, timer: Timer, out: &mut Actions) {
        match timer {
            Timer::Keypad => self.keypad_timeout(out),
            Timer::Lockout => {
                self.stored.attempts.end_lockout();
                self.stored.persist_attempts(out);
                self.log(now, out, LogEntry::LockoutEnded);
                self.set_alarm(now, out, AlarmKind::SystemLocked, false);
            }
            Timer::Tamper => {
                self.timers.cancel(Timer::Tamper);
                out.push(Action::Siren(false));
                self.set_alarm(now, out, AlarmKind::Tamper, false);
            }
            Timer::Pairing => self.end_pairing(out),
            Timer::Bolt => self.travel_ended(now, out),
            Timer::AutoLock => {
                self.timers.cancel(Timer::AutoLock);
                self.lock_bolt(now, LockMethod::Countdown, out);
            }
            Timer::ClockMark => self.mark_clock_if_due(now, out),
            Timer::Hourly => self.hourly(now, out),
        }
    }
}
