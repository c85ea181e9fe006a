//! The lock's own time types.
//!
//! Two clocks, both passed in by the caller (nothing in the core reads a clock):
//! - [`Instant`]: monotonic milliseconds since the lock last started. It drives
//!   every timer (keypad timeout, lockout, tamper alarm, bolt travel).
//! - [`Timestamp`]: wall-clock seconds (Unix time). Only validity periods need it,
//!   and only once an authenticated source has set the clock.

use core::fmt;
use core::ops;

/// A point on the monotonic clock, in milliseconds since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Instant {
    millis: u64,
}

impl Instant {
    /// The moment the lock started.
    pub const ZERO: Instant = Instant { millis: 0 };

    /// An instant `millis` milliseconds after start.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant { millis }
    }

    /// An instant `secs` seconds after start.
    pub const fn from_secs(secs: u64) -> Instant {
        Instant {
            millis: secs.saturating_mul(1000),
        }
    }

    /// Milliseconds since start.
    pub const fn millis(self) -> u64 {
        self.millis
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.millis.saturating_sub(earlier.millis))
    }

    /// `self + d`, saturating at the end of time instead of overflowing.
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant {
            millis: self.millis.saturating_add(d.millis),
        }
    }

    /// `self - d`, or [`Instant::ZERO`] if that is before start.
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant {
            millis: self.millis.saturating_sub(d.millis),
        }
    }
}

impl ops::Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating: a deadline past the end of time never fires rather than wrapping.
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.millis / 1000, self.millis % 1000)
    }
}

/// A span of monotonic time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Duration {
    millis: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { millis: 0 };

    /// `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Duration {
        Duration { millis }
    }

    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> Duration {
        Duration {
            millis: secs.saturating_mul(1000),
        }
    }

    /// `mins` minutes.
    pub const fn from_mins(mins: u64) -> Duration {
        Duration::from_secs(mins.saturating_mul(60))
    }

    /// `hours` hours.
    pub const fn from_hours(hours: u64) -> Duration {
        Duration::from_mins(hours.saturating_mul(60))
    }

    /// Length in milliseconds.
    pub const fn millis(self) -> u64 {
        self.millis
    }

    /// Length in whole seconds.
    pub const fn secs(self) -> u64 {
        self.millis / 1000
    }

    /// `self * 2`, saturating.
    pub const fn doubled(self) -> Duration {
        Duration {
            millis: self.millis.saturating_mul(2),
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.millis / 1000, self.millis % 1000)
    }
}

/// Wall-clock time: seconds since 1970-01-01 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// `self + d` rounded down to whole seconds, saturating.
    pub const fn saturating_add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.secs()))
    }
}

/// The lock's trusted wall clock as a time-bounded credential is judged by:
/// the time `now`, and the furthest the clock has ever `reached`,
/// across steps back and power cuts. A credential opens only if it is open
/// `now` and its end is not behind `reached`: a window end the clock has
/// passed stays passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WallClock {
    /// What the clock says now.
    pub now: Timestamp,
    /// The furthest it has been, never before `now`.
    pub reached: Timestamp,
}

impl WallClock {
    /// A clock that never stepped back.
    pub const fn at(now: Timestamp) -> WallClock {
        WallClock { now, reached: now }
    }
}

/// A person's validity period: from and until, both inclusive, wall clock.
///
/// Either end may be open. A period whose `until` is before its `from` admits no
/// moment at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Validity {
    /// First second the person may open, if bounded.
    pub from: Option<Timestamp>,
    /// Last second the person may open, if bounded.
    pub until: Option<Timestamp>,
}

impl Validity {
    /// No bound at either end: always valid.
    pub const ALWAYS: Validity = Validity {
        from: None,
        until: None,
    };

    /// True when neither end is bounded.
    pub const fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// Whether `now` (the lock's wall clock, if it has a trusted one) lies within
    /// the period. A bounded period without a trusted clock fails closed.
    pub fn admits(&self, now: Option<Timestamp>) -> bool {
        if self.is_unbounded() {
            return true;
        }
        let Some(now) = now else { return false };
        self.from.is_none_or(|from| now >= from) && self.until.is_none_or(|until| now <= until)
    }

    /// [`Validity::admits`] by a clock that may have stepped back:
    /// open `now`, and its end not passed at the furthest the clock reached.
    pub fn admits_at(&self, clock: Option<WallClock>) -> bool {
        self.admits(clock.map(|c| c.now))
            && (self.until.is_none() || self.admits(clock.map(|c| c.reached.max(c.now))))
    }
}

/// Minutes in a day.
pub(crate) const DAY_MINUTES: u16 = 24 * 60;
/// The largest offset of local time from UTC a schedule may carry (UTC+14).
pub(crate) const MAX_UTC_OFFSET_MINUTES: i16 = 14 * 60;

/// The hours of the week a person may open: on
/// the `days` set, from `from_minute` to before `until_minute` of the day, in
/// the local time `utc_offset_minutes` from UTC. A window with `until_minute`
/// before `from_minute` runs overnight into the next day (it belongs to the
/// day it starts on).
///
/// The lock's wall clock is UTC; the app converts the person's local hours
/// with the offset in force and sends the schedule again when daylight
/// saving time changes it. Like a validity period, a schedule fails closed
/// without a trusted clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WeeklySchedule {
    /// Bit 0 Monday … bit 6 Sunday.
    pub days: u8,
    /// First minute of the day, `0..1440`.
    pub from_minute: u16,
    /// The minute the window ends (not included), `0..=1440`.
    pub until_minute: u16,
    /// Local time minus UTC, in minutes.
    pub utc_offset_minutes: i16,
}

impl WeeklySchedule {
    /// Whether the fields are in range: some day, no eighth bit, minutes
    /// within a day, a window of some length, an offset within ±14 h.
    pub fn is_valid(&self) -> bool {
        self.days != 0
            && self.days & 0x80 == 0
            && self.from_minute < DAY_MINUTES
            && self.until_minute <= DAY_MINUTES
            && self.from_minute != self.until_minute
            && self.utc_offset_minutes.unsigned_abs() <= MAX_UTC_OFFSET_MINUTES.unsigned_abs()
    }

    /// Whether `now` lies in one of the windows; `false` without a trusted
    /// clock or when the schedule is not valid.
    pub fn admits(&self, now: Option<Timestamp>) -> bool {
        let Some(now) = now else { return false };
        if !self.is_valid() {
            return false;
        }
        let offset = i64::from(self.utc_offset_minutes) * 60;
        let Some(local) = i64::try_from(now.0)
            .ok()
            .and_then(|t| t.checked_add(offset))
        else {
            return false;
        };
        let days = local.div_euclid(86_400);
        let minute = local.rem_euclid(86_400) / 60;
        // 1970-01-01 was a Thursday: day 0 is weekday 3 (Monday = 0).
        let weekday = (days + 3).rem_euclid(7);
        let on = |weekday: i64| self.days & (1u8 << weekday) != 0;
        let (from, until) = (i64::from(self.from_minute), i64::from(self.until_minute));
        if from < until {
            on(weekday) && (from..until).contains(&minute)
        } else {
            (on(weekday) && minute >= from) || (on((weekday + 6) % 7) && minute < until)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_app_3_weekly_schedules_follow_local_days_and_hours() {
        // Monday to Friday, 09:00 to 17:00 at UTC+1.
        let office = WeeklySchedule {
            days: 0b001_1111,
            from_minute: 9 * 60,
            until_minute: 17 * 60,
            utc_offset_minutes: 60,
        };
        // 2027-01-04 was a Monday; 00:00 UTC is 1_799_020_800.
        let monday = 1_799_020_800;
        let at =
            |day: u64, h: u64, m: u64| Some(Timestamp(monday + day * 86_400 + h * 3600 + m * 60));
        assert!(!office.admits(at(0, 7, 59)), "08:59 local");
        assert!(office.admits(at(0, 8, 0)), "09:00 local");
        assert!(office.admits(at(4, 15, 59)), "Friday 16:59 local");
        assert!(!office.admits(at(4, 16, 0)), "Friday 17:00 local");
        assert!(!office.admits(at(5, 10, 0)), "Saturday");
        assert!(!office.admits(None), "no trusted clock: fails closed");
        // Overnight, Saturday 22:00 to 06:00 UTC: belongs to Saturday.
        let night = WeeklySchedule {
            days: 1 << 5,
            from_minute: 22 * 60,
            until_minute: 6 * 60,
            utc_offset_minutes: 0,
        };
        assert!(night.admits(at(5, 23, 0)));
        assert!(
            night.admits(at(6, 5, 59)),
            "Sunday morning, Saturday's window"
        );
        assert!(!night.admits(at(6, 6, 0)));
        assert!(
            !night.admits(at(6, 23, 0)),
            "Sunday night is not on the set"
        );
        assert!(!night.admits(at(0, 1, 0)));
    }

    #[test]
    fn invalid_schedules_admit_nothing() {
        let ok = WeeklySchedule {
            days: 1,
            from_minute: 0,
            until_minute: DAY_MINUTES,
            utc_offset_minutes: 0,
        };
        assert!(ok.is_valid());
        for bad in [
            WeeklySchedule { days: 0, ..ok },
            WeeklySchedule { days: 0x80, ..ok },
            WeeklySchedule {
                from_minute: DAY_MINUTES,
                ..ok
            },
            WeeklySchedule {
                until_minute: DAY_MINUTES + 1,
                ..ok
            },
            WeeklySchedule {
                until_minute: 0,
                ..ok
            },
            WeeklySchedule {
                utc_offset_minutes: 15 * 60,
                ..ok
            },
            WeeklySchedule {
                utc_offset_minutes: i16::MIN,
                ..ok
            },
        ] {
            assert!(!bad.is_valid(), "{bad:?}");
            assert!(!bad.admits(Some(Timestamp(1_799_020_800))), "{bad:?}");
        }
    }

    #[test]
    fn instant_arithmetic_saturates() {
        let end = Instant::from_millis(u64::MAX);
        assert_eq!(end + Duration::from_secs(1), end);
        assert_eq!(Instant::ZERO.saturating_since(end), Duration::ZERO);
        assert_eq!(
            Instant::from_secs(3).saturating_since(Instant::from_secs(1)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn r_usr_6_validity_bounds_are_inclusive_and_fail_closed_without_clock() {
        let v = Validity {
            from: Some(Timestamp(100)),
            until: Some(Timestamp(200)),
        };
        assert!(!v.admits(Some(Timestamp(99))));
        assert!(v.admits(Some(Timestamp(100))));
        assert!(v.admits(Some(Timestamp(200))));
        assert!(!v.admits(Some(Timestamp(201))));
        assert!(
            !v.admits(None),
            "S-VC-2: no trusted clock, bounded period refuses"
        );
        assert!(
            Validity::ALWAYS.admits(None),
            "owners keep working without a clock"
        );
    }
}
