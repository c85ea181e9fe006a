//! Wrong attempts and the lockout they cause.
//!
//! One count for every way of presenting a credential: face, palm, finger,
//! passcode, visitor code. A frame that fails the app protocol's
//! authentication presents no credential and never reaches the core. Two
//! bounds apply together:
//! - fast: five failures in a row within five minutes lock for three minutes;
//! - slow: failures with no success between them, counted without a window; at
//!   ten, and at every five more, the lock locks for six minutes, doubling each
//!   time up to 24 hours, and the app is alerted.
//!
//! Monotonic time restarts at zero after a power cut, so the persisted
//! [`AttemptRecord`] keeps counts and the lockout's length, not instants. On
//! restore the recent failures are taken to have happened at boot and an active
//! lockout starts again in full: both err towards the attacker's cost, never the
//! other way.

use crate::time::{Duration, Instant};

/// Failures in a row that lock the keypad.
pub(crate) const FAST_LIMIT: usize = 5;
/// The window those failures must fall in.
pub const FAST_WINDOW: Duration = Duration::from_mins(5);
/// How long the fast lockout lasts.
pub const FAST_LOCKOUT: Duration = Duration::from_mins(3);
/// Failures without success at which the slow bound first locks.
pub(crate) const SLOW_FIRST: u16 = 10;
/// Every this many further failures, the slow bound locks again.
pub(crate) const SLOW_STEP: u16 = 5;
/// The first slow lockout.
pub const SLOW_LOCKOUT: Duration = Duration::from_mins(6);
/// The longest slow lockout.
pub const SLOW_LOCKOUT_MAX: Duration = Duration::from_hours(24);

/// Which bound caused a lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LockoutCause {
    /// Five in a row within five minutes.
    Burst,
    /// Slow guessing.
    SlowGuessing,
}

/// An active lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// When it ends by itself.
    pub until: Instant,
    /// Its full length, as persisted.
    pub length: Duration,
    /// What caused it.
    pub cause: LockoutCause,
}

/// The persisted form of the failure counts and the lockout: counts
/// and the lockout's length, not instants, since monotonic time starts again
/// at zero after a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AttemptRecord {
    /// Failures in the current fast window (0 to 4).
    pub recent: u8,
    /// Failures since the last success.
    pub since_success: u16,
    /// The active lockout's length in milliseconds and its cause, if any.
    pub lockout: Option<(u64, LockoutCause)>,
}

/// What one recorded failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailureOutcome {
    /// A lockout began with this failure.
    pub lockout: Option<Lockout>,
}

/// The failure counts and the lockout, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attempts {
    /// Instants of the failures in the fast window, oldest first.
    recent: heapless::Deque<Instant, FAST_LIMIT>,
    since_success: u16,
    lockout: Option<Lockout>,
}

impl Attempts {
    /// No failures, no lockout.
    pub const fn new() -> Attempts {
        Attempts {
            recent: heapless::Deque::new(),
            since_success: 0,
            lockout: None,
        }
    }

    /// Rebuilds the counts after a restart at `now` (see the module docs).
    pub fn from_record(record: &AttemptRecord, now: Instant) -> Attempts {
        let mut a = Attempts::new();
        for _ in 0..usize::from(record.recent).min(FAST_LIMIT.saturating_sub(1)) {
            // Cannot fail: bounded below the deque's capacity.
            let _ = a.recent.push_back(now);
        }
        a.since_success = record.since_success;
        a.lockout = record.lockout.map(|(millis, cause)| {
            let length = Duration::from_millis(millis).min(SLOW_LOCKOUT_MAX);
            Lockout {
                until: now + length,
                length,
                cause,
            }
        });
        a
    }

    /// The persisted form.
    pub fn record(&self) -> AttemptRecord {
        AttemptRecord {
            recent: u8::try_from(self.recent.len()).unwrap_or(u8::MAX),
            since_success: self.since_success,
            lockout: self.lockout.map(|l| (l.length.millis(), l.cause)),
        }
    }

    /// The active lockout, if `now` is before its end.
    pub fn lockout(&self, now: Instant) -> Option<Lockout> {
        self.lockout.filter(|l| now < l.until)
    }

    /// Clears an expired or lifted lockout. The counts stay:
    /// the slow bound keeps counting until a success.
    pub fn end_lockout(&mut self) {
        self.lockout = None;
    }

    /// When the recorded lockout ends, for the lock's next deadline.
    pub fn deadline(&self) -> Option<Instant> {
        self.lockout.map(|l| l.until)
    }

    /// Failures since the last success.
    pub fn since_success(&self) -> u16 {
        self.since_success
    }

    /// Failures counting towards the fast bound at `now`.
    pub fn recent(&self, now: Instant) -> usize {
        self.recent
            .iter()
            .filter(|&&t| now.saturating_since(t) < FAST_WINDOW)
            .count()
    }

    /// R-LKO-1, R-LKO-5, S-BF-1: records one failure at `now`, whatever
    /// the channel: five within five minutes lock for three, and slow
    /// guessing locks for longer and longer. With `protection` off it is
    /// counted but never locks.
    pub fn record_failure(&mut self, now: Instant, protection: bool) -> FailureOutcome {
        while self
            .recent
            .front()
            .is_some_and(|&t| now.saturating_since(t) >= FAST_WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.is_full() {
            self.recent.pop_front();
        }
        // Cannot fail: one slot was freed above if needed.
        let _ = self.recent.push_back(now);
        self.since_success = self.since_success.saturating_add(1);

        let mut length = None;
        if self.recent.len() >= FAST_LIMIT {
            self.recent.clear();
            length = Some((FAST_LOCKOUT, LockoutCause::Burst));
        }
        if let Some(slow) = slow_lockout(self.since_success)
            && length.is_none_or(|(l, _)| slow > l)
        {
            length = Some((slow, LockoutCause::SlowGuessing));
        }
        let lockout = match length {
            Some((length, cause)) if protection => {
                let l = Lockout {
                    until: now + length,
                    length,
                    cause,
                };
                self.lockout = Some(l);
                Some(l)
            }
            _ => None,
        };
        FailureOutcome { lockout }
    }

    /// R-LKO-2: a stored person's own credential verified: the fast count
    /// is cleared; the slow count only by an `administrator`'s, so
    /// a user holding a valid passcode or finger cannot interleave their own
    /// successes with guesses at an administrator's code for ever. Visitor
    /// codes, Bluetooth keys and app commands call nothing here. Returns
    /// whether anything changed, i.e. whether to persist.
    pub fn record_success(&mut self, administrator: bool) -> bool {
        let slow = administrator && self.since_success != 0;
        let changed = !self.recent.is_empty() || slow;
        self.recent.clear();
        if administrator {
            self.since_success = 0;
        }
        changed
    }

    /// Forgets everything (factory reset, or an administrator lifting the
    /// lockout from the app).
    pub fn reset(&mut self) {
        *self = Attempts::new();
    }
}

/// The slow bound's lockout for the `n`th failure without success, if it locks.
pub(crate) fn slow_lockout(n: u16) -> Option<Duration> {
    if n < SLOW_FIRST || !(n - SLOW_FIRST).is_multiple_of(SLOW_STEP) {
        return None;
    }
    let mut length = SLOW_LOCKOUT;
    for _ in 0..(n - SLOW_FIRST) / SLOW_STEP {
        length = length.doubled();
        if length >= SLOW_LOCKOUT_MAX {
            return Some(SLOW_LOCKOUT_MAX);
        }
    }
    Some(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::from_secs(secs)
    }

    #[test]
    fn r_lko_1_five_in_five_minutes_lock_three_minutes() {
        let mut a = Attempts::new();
        for i in 0..4 {
            assert_eq!(a.record_failure(at(i * 60), true).lockout, None);
        }
        let l = a.record_failure(at(4 * 60 + 59), true).lockout.unwrap();
        assert_eq!(l.cause, LockoutCause::Burst);
        assert_eq!(l.until, at(4 * 60 + 59 + 180));
        assert!(a.lockout(at(4 * 60 + 59 + 179)).is_some());
        assert!(a.lockout(at(4 * 60 + 59 + 180)).is_none(), "ends by itself");
    }

    #[test]
    fn r_lko_2_old_failures_stop_counting_and_success_resets() {
        let mut a = Attempts::new();
        for i in 0..4 {
            a.record_failure(at(i), true);
        }
        assert_eq!(
            a.record_failure(at(301), true).lockout,
            None,
            "the four are over 5 min old"
        );
        for i in 0..3 {
            a.record_failure(at(302 + i), true);
        }
        assert!(a.record_success(true));
        for i in 0..4 {
            assert_eq!(a.record_failure(at(400 + i), true).lockout, None);
        }
        assert_eq!(a.since_success(), 4);
        // A user's own success clears the fast count only.
        assert!(a.record_success(false));
        assert_eq!(a.recent(at(404)), 0);
        assert_eq!(a.since_success(), 4);
        assert!(!a.record_success(false), "nothing left to clear");
    }

    #[test]
    fn r_lko_3_protection_off_never_locks() {
        let mut a = Attempts::new();
        for i in 0..30 {
            assert_eq!(a.record_failure(at(i), false).lockout, None);
        }
    }

    #[test]
    fn r_lko_4_record_round_trip_restarts_lockout_in_full() {
        let mut a = Attempts::new();
        for i in 0..5 {
            a.record_failure(at(i), true);
        }
        let rec = a.record();
        assert_eq!(
            rec.lockout,
            Some((FAST_LOCKOUT.millis(), LockoutCause::Burst))
        );
        let b = Attempts::from_record(&rec, at(1));
        assert_eq!(b.lockout(at(1)).unwrap().until, at(181));
        let mut c = Attempts::new();
        for i in 0..3 {
            c.record_failure(at(i), true);
        }
        let mut d = Attempts::from_record(&c.record(), at(0));
        assert_eq!(d.since_success(), 3);
        d.record_failure(at(10), true);
        assert!(
            d.record_failure(at(11), true).lockout.is_some(),
            "restored failures still count"
        );
    }

    #[test]
    fn r_lko_5_slow_guessing_schedule_doubles_to_a_day() {
        assert_eq!(slow_lockout(9), None);
        assert_eq!(slow_lockout(10), Some(Duration::from_mins(6)));
        assert_eq!(slow_lockout(11), None);
        assert_eq!(slow_lockout(15), Some(Duration::from_mins(12)));
        assert_eq!(slow_lockout(20), Some(Duration::from_mins(24)));
        assert_eq!(slow_lockout(45), Some(Duration::from_mins(6 * 128)));
        assert_eq!(slow_lockout(50), Some(Duration::from_hours(24)));
        assert_eq!(slow_lockout(u16::MAX - 5), Some(Duration::from_hours(24)));
        // Paced slowly, one failure every 10 minutes: only the slow bound acts.
        let mut a = Attempts::new();
        let mut locks = 0;
        for i in 0..20u64 {
            if let Some(l) = a.record_failure(at(i * 600), true).lockout {
                assert_eq!(l.cause, LockoutCause::SlowGuessing);
                locks += 1;
            }
        }
        assert_eq!(locks, 3, "at 10, 15 and 20");
    }
}
