//! The trusted wall clock, and how far it has got: time-bounded
//! credentials are judged by both, and the furthest is written to flash as
//! the clock passes each window end, so no clock set back — before or
//! after a power cut — revives what had expired.

use crate::action::{Action, Actions, Change, Refusal};
use crate::log::LogEntry;
use crate::time::{Duration, Instant, Timestamp, WallClock};
use crate::visitor::{VisitorCodes, clock_floor};

use super::Lock;

/// The wall clock may be set back by at most this much.
pub const CLOCK_MAX_STEP_BACK: Duration = Duration::from_mins(5);

/// Window ends of credentials kept outside the core (the app protocol's
/// Bluetooth keys) that the lock watches at once: one per pairing of
/// `lock-proto`.
pub const WATCHED_ENDS: usize = 16;

/// How much wall-clock time passes between two [`Change::ClockMark`]s while
/// the clock runs: the hourly wake ([`Timer::Hourly`](crate::Timer::Hourly))
/// writes it, at whole hours. After a restart the clock can be set back at
/// most this much (plus [`CLOCK_MAX_STEP_BACK`]) behind where it had got;
/// nothing that expires is revived by it, as every window end the lock knows
/// of is marked when the clock passes it. One small flash write an hour, in
/// the wake that reads the battery.
pub const CLOCK_MARK_INTERVAL: Duration = Duration::from_hours(1);

/// The hourly wake comes at least this long after the last one (at the
/// first whole hour of the clock past it).
const HOURLY_MIN_GAP: Duration = Duration::from_mins(30);

/// The wall clock in RAM. Its mark on flash is part of the stored state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wall {
    /// The monotonic instant it was set at, and its value then.
    set: Option<(Instant, Timestamp)>,
    /// The furthest the wall clock has been, anchored like `set`: a setting
    /// may step back from it by at most [`CLOCK_MAX_STEP_BACK`] in all, so
    /// repeated small steps cannot walk the clock back either.
    high: Option<(Instant, Timestamp)>,
    /// Ends of windows the app side keeps (Bluetooth keys), marked on flash
    /// as the clock passes them.
    watched_ends: heapless::Vec<Timestamp, WATCHED_ENDS>,
}

impl Wall {
    pub(crate) fn new() -> Wall {
        Wall::default()
    }

    /// The wall clock at `now`, if set.
    pub(crate) fn at(&self, now: Instant) -> Option<Timestamp> {
        self.set
            .map(|(set_at, value)| value.saturating_add(now.saturating_since(set_at)))
    }

    /// The high-water mark at `now`, if set.
    fn high(&self, now: Instant) -> Option<Timestamp> {
        self.high
            .map(|(at, value)| value.saturating_add(now.saturating_since(at)))
    }

    /// The clock at `now` with the furthest it has reached, counting the
    /// `mark` on flash.
    pub(crate) fn clock(&self, now: Instant, mark: Option<Timestamp>) -> Option<WallClock> {
        let wall = self.at(now)?;
        let reached = [Some(wall), self.high(now), mark]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(wall);
        Some(WallClock { now: wall, reached })
    }

    /// S-VC-3: sets the clock to `to` at `now`, unless that steps back by
    /// more than [`CLOCK_MAX_STEP_BACK`] from where it had got — while
    /// powered or, by the `mark` on flash, before a restart — or before
    /// `floor`, the end of a forgotten one-time code's window.
    fn set(
        &mut self,
        now: Instant,
        to: Timestamp,
        floor: Option<Timestamp>,
        mark: Option<Timestamp>,
    ) -> Result<(), Refusal> {
        let too_far_back =
            |from: Timestamp| to.0.saturating_add(CLOCK_MAX_STEP_BACK.secs()) < from.0;
        let high = self.high(now);
        if floor.is_some_and(|f| to < f)
            || mark.is_some_and(too_far_back)
            || high.is_some_and(too_far_back)
        {
            return Err(Refusal::ClockBackwards);
        }
        if high.is_none_or(|h| to > h) {
            self.high = Some((now, to));
        }
        self.set = Some((now, to));
        Ok(())
    }

    /// Watches `until`, dropping ends at or before the `mark`; with every
    /// slot taken, the earliest end gives way.
    fn watch(&mut self, until: Timestamp, mark: Option<Timestamp>) {
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

    /// A factory reset forgets the windows; the clock itself runs on.
    pub(crate) fn forget_windows(&mut self) {
        self.watched_ends.clear();
    }
}

impl<V: VisitorCodes> Lock<V> {
    /// Sets the wall clock from a trusted source (an authenticated app),
    /// with its mark on flash and a log record.
    pub(super) fn set_clock(
        &mut self,
        now: Instant,
        to: Timestamp,
        pairing: u16,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        let floor = clock_floor(&self.stored.visitor_codes_used);
        self.wall.set(now, to, floor, self.stored.clock_mark)?;
        self.mark_clock(to, out);
        self.log(now, out, LogEntry::ClockSet { to, by: pairing });
        Ok(())
    }

    /// Writes how far the clock has got once a window end or the mark's
    /// interval is due. Called after every event too, so an end that a
    /// setting of the clock or of a validity period put behind the clock is
    /// on flash in the same batch.
    pub(super) fn mark_clock_if_due(&mut self, now: Instant, out: &mut Actions) {
        if self.clock_mark_due().is_some_and(|t| now >= t)
            && let Some(clock) = self.clock(now)
        {
            self.mark_clock(clock.reached, out);
        }
    }

    /// When the furthest the clock has reached will be past the next
    /// window end the lock knows of after the mark on flash (a validity
    /// period's, an offline visitor code window's, a watched one); at once
    /// if there is no mark. The hourly wake marks the clock in between.
    /// `None` without a clock, without a store to write to, or with no
    /// window to come.
    pub(super) fn clock_mark_due(&self) -> Option<Instant> {
        let (at, value) = self.wall.high?;
        if self.storage_fault {
            return None;
        }
        let Some(mark) = self.stored.clock_mark else {
            return Some(at);
        };
        let due = self.next_window_end(mark)?;
        Some(at.saturating_add(Duration::from_secs(due.0.saturating_sub(value.0))))
    }

    /// [`Timer::Hourly`](crate::Timer::Hourly)'s deadline: with a clock the
    /// first whole hour of the furthest it has reached that comes at least
    /// [`HOURLY_MIN_GAP`] after the last run, else an hour after it. So a
    /// window end on a whole hour (an offline visitor code's) is marked in
    /// the same wake. `None` before the boot event.
    pub(super) fn hourly_due(&self) -> Option<Instant> {
        let last = self.timers.hourly_last()?;
        let Some((at, value)) = self.wall.high else {
            return Some(last.saturating_add(CLOCK_MARK_INTERVAL));
        };
        // In u64 milliseconds, saturating (no i128: a Cortex-M runs its
        // division in software, on every wake).
        let hour = CLOCK_MARK_INTERVAL.millis();
        let at = at.millis();
        let value = value.0.saturating_mul(1000);
        let earliest = last.millis().saturating_add(HOURLY_MIN_GAP.millis());
        // The clock as it runs on from `at`, also before it (`at` may come
        // after the last run: set since).
        let wall = if earliest >= at {
            value.saturating_add(earliest - at)
        } else {
            value.saturating_sub(at - earliest)
        };
        let whole_hour = wall.div_ceil(hour).saturating_mul(hour);
        let due = if whole_hour >= value {
            at.saturating_add(whole_hour - value)
        } else {
            at.saturating_sub(value - whole_hour)
        };
        Some(Instant::from_millis(due.max(earliest)))
    }

    /// The hourly wake (R-NRG-1): the battery reading and the clock's mark,
    /// in one.
    pub(super) fn hourly(&mut self, now: Instant, out: &mut Actions) {
        self.timers.hourly_ran(now);
        out.push(Action::MeasureBattery);
        if let Some(clock) = self.clock(now) {
            self.mark_clock(clock.reached, out);
        }
    }

    /// The first moment after `after` at which a time-bounded credential
    /// the lock knows of stops opening.
    fn next_window_end(&self, after: Timestamp) -> Option<Timestamp> {
        let validity_ends = self
            .stored
            .people
            .iter()
            .filter_map(|p| p.validity.until)
            .chain(self.wall.watched_ends.iter().copied())
            .map(|until| Timestamp(until.0.saturating_add(1)));
        validity_ends
            .chain(self.visitor_codes.next_window_end(after))
            .filter(|end| *end > after)
            .min()
    }

    /// Watches the end (`until`, its last second) of a window the app side
    /// keeps, a Bluetooth key's: the lock writes how far its clock has got
    /// when it passes, so no power cut and step back revives the key. The
    /// runtime hands it the keys' ends at boot; a key issued later arrives
    /// with [`AppChange::KeyIssued`](crate::AppChange::KeyIssued). Ends
    /// already on flash are dropped; with every slot taken, the earliest
    /// end gives way.
    pub fn watch_window_end(&mut self, until: Timestamp) {
        self.wall.watch(until, self.stored.clock_mark);
    }

    /// The clock has got to `wall`; on flash before anything after.
    pub(super) fn mark_clock(&mut self, wall: Timestamp, out: &mut Actions) {
        if self.storage_fault || self.stored.clock_mark.is_some_and(|m| m >= wall) {
            return;
        }
        self.stored.clock_mark = Some(wall);
        out.push(Action::Persist(Change::ClockMark(wall)));
    }
}
