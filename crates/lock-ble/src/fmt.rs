//! Logging shim, as embassy crates have one: the macros route to `defmt` or
//! `log`, and compile to nothing (arguments still type-checked, never
//! formatted) when neither feature is on.
//!
//! The features are meant to be exclusive. Unlike embassy this is not a
//! `compile_error!`: the workspace's checks build with `--all-features`, so
//! when both are on, `defmt` wins. Messages use only `{}`/`{:?}` on values
//! that implement both `Debug` and `defmt::Format` (numbers, `bool`,
//! lock-hal's `ErrorKind`), or wrap them in [`Dbg`].
#![allow(unused_macros)]

#[cfg(feature = "defmt")]
macro_rules! log_at {
    ($level:ident, $($arg:tt)+) => { ::defmt::$level!($($arg)+) };
}

#[cfg(all(feature = "log", not(feature = "defmt")))]
macro_rules! log_at {
    ($level:ident, $($arg:tt)+) => { ::log::$level!($($arg)+) };
}

#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! log_at {
    ($level:ident, $fmt:literal $(, $arg:expr)* $(,)?) => {{
        // Type-check the arguments without formatting them.
        $( let _ = &$arg; )*
    }};
}

macro_rules! debug {
    ($($arg:tt)+) => { log_at!(debug, $($arg)+) };
}

macro_rules! info {
    ($($arg:tt)+) => { log_at!(info, $($arg)+) };
}

macro_rules! warn {
    ($($arg:tt)+) => { log_at!(warn, $($arg)+) };
}

macro_rules! error {
    ($($arg:tt)+) => { log_at!(error, $($arg)+) };
}

/// Logs a value that has only `Debug` (trouble-host's errors, whose
/// `defmt::Format` needs trouble-host's own `defmt` feature) with either
/// logger.
#[cfg_attr(not(feature = "trouble"), allow(dead_code))]
pub(crate) struct Dbg<'a, T: core::fmt::Debug>(pub &'a T);

impl<T: core::fmt::Debug> core::fmt::Debug for Dbg<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(feature = "defmt")]
impl<T: core::fmt::Debug> defmt::Format for Dbg<'_, T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Debug2Format(self.0));
    }
}
