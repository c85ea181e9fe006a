//! R-NRG-1: why the runtime's clock woke the processor, counted by cause.
//!
//! Inputs (a key, a sensor, a frame) wake the lock because something
//! happened; the clock wakes it because the lock asked to be woken. The
//! second kind is what an idle lock must keep to a minimum: with nothing
//! due, the lock's own code wakes once an hour ([`Timer::Hourly`]: the
//! battery reading and the clock's mark). A board's watchdog feeding is
//! the board's and is not counted here.

use lock_core::Timer;

/// What a clock wake-up was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WakeCause {
    /// A deadline of the lock's state machine ([`Timer::Hourly`] is the
    /// periodic one; the others follow something that happened).
    Lock(Timer),
    /// The motor's travel limit or brake.
    Motor,
    /// The next step of a backlight pattern.
    Backlight,
    /// An input that failed is listened to again.
    Retry,
    /// The app side's deadline (a link that had its time, S-PR-7).
    App,
    /// R-NRG-3: the radio goes quiet a minute after the lock went idle.
    Radio,
}

impl WakeCause {
    /// Every cause, in [`Wakes::iter`]'s order.
    pub const ALL: [WakeCause; 13] = [
        WakeCause::Lock(Timer::ALL[0]),
        WakeCause::Lock(Timer::ALL[1]),
        WakeCause::Lock(Timer::ALL[2]),
        WakeCause::Lock(Timer::ALL[3]),
        WakeCause::Lock(Timer::ALL[4]),
        WakeCause::Lock(Timer::ALL[5]),
        WakeCause::Lock(Timer::ALL[6]),
        WakeCause::Lock(Timer::ALL[7]),
        WakeCause::Motor,
        WakeCause::Backlight,
        WakeCause::Retry,
        WakeCause::App,
        WakeCause::Radio,
    ];

    /// The cause's name, for reports.
    pub const fn name(self) -> &'static str {
        match self {
            WakeCause::Lock(timer) => timer.name(),
            WakeCause::Motor => "motor",
            WakeCause::Backlight => "backlight",
            WakeCause::Retry => "retry",
            WakeCause::App => "app",
            WakeCause::Radio => "radio",
        }
    }

    fn index(self) -> usize {
        match self {
            WakeCause::Lock(timer) => Timer::ALL.iter().position(|t| *t == timer).unwrap_or(0),
            WakeCause::Motor => 8,
            WakeCause::Backlight => 9,
            WakeCause::Retry => 10,
            WakeCause::App => 11,
            WakeCause::Radio => 12,
        }
    }
}

/// Clock wake-ups since boot, by cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wakes {
    counts: [u32; WakeCause::ALL.len()],
}

impl Wakes {
    /// Counts one wake-up for `cause`.
    pub(crate) fn count(&mut self, cause: WakeCause) {
        if let Some(n) = self.counts.get_mut(cause.index()) {
            *n = n.saturating_add(1);
        }
    }

    /// The wake-ups for `cause`.
    pub fn of(&self, cause: WakeCause) -> u32 {
        self.counts.get(cause.index()).copied().unwrap_or(0)
    }

    /// Every wake-up.
    pub fn total(&self) -> u32 {
        self.counts.iter().fold(0u32, |a, n| a.saturating_add(*n))
    }

    /// Each cause that woke the lock, with how often.
    pub fn iter(&self) -> impl Iterator<Item = (WakeCause, u32)> + '_ {
        WakeCause::ALL
            .into_iter()
            .zip(self.counts)
            .filter(|&(_, n)| n > 0)
    }
}
