//! The lock's own time types.
//!
//! Two clocks, both passed in by the caller (nothing in the core reads a clock):
//! - [`Instant`]: monotonic milliseconds since the lock last started. It drives
//!   every timer (keypad timeout, lockout, tamper alarm, bolt travel).
//! - [`Timestamp`]: wall-clock seconds (Unix time). Only validity periods need it,
//!   and only once an authenticated source has set the clock (S-VC-2).

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

/// A person's validity period (R-USR-6): from and until, both inclusive, wall clock.
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
    /// the period. A bounded period without a trusted clock fails closed (S-VC-2).
    pub fn admits(&self, now: Option<Timestamp>) -> bool {
        if self.is_unbounded() {
            return true;
        }
        let Some(now) = now else { return false };
        self.from.is_none_or(|from| now >= from) && self.until.is_none_or(|until| now <= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
