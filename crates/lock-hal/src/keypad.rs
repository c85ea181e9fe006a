//! The touch keypad and its backlights.

use crate::ErrorType;

/// A key of the keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Key {
    /// `0` to `9`.
    Digit(u8),
    /// ↩.
    Back,
    /// ✓.
    Ok,
    /// The leaving-home key.
    Home,
    /// The doorbell key.
    Bell,
}

/// What the keypad reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyEvent {
    /// The keypad area was touched (a proximity or wake interrupt), or a key
    /// was touched while the backlight was off.
    Touch,
    /// A key was pressed and released.
    Press(Key),
    /// A key was held for the keypad's hold time (about 2 s) and is still
    /// down; no `Press` follows for it.
    Hold(Key),
}

/// The keypad's input side.
pub trait Keypad: ErrorType {
    /// Waits for the next event, debounced. Cancel-safe: events arriving while
    /// no one waits are queued by the implementation (a few at least; the
    /// runtime waits again at once after each).
    async fn wait_for_event(&mut self) -> Result<KeyEvent, Self::Error>;
}

/// The backlights behind the keys: one bit per key in the order `0`–`9`, ↩,
/// ✓, leaving-home, bell (bit 0 is `0`).
///
/// Blinking and spelling patterns are timed by the runtime; the board only
/// switches LEDs. Quick and non-blocking.
pub trait Backlight: ErrorType {
    /// Lights exactly the keys in `mask`; `0` turns the keypad dark.
    fn set(&mut self, mask: u16) -> Result<(), Self::Error>;
}

impl<T: Keypad + ?Sized> Keypad for &mut T {
    async fn wait_for_event(&mut self) -> Result<KeyEvent, Self::Error> {
        T::wait_for_event(self).await
    }
}

impl<T: Backlight + ?Sized> Backlight for &mut T {
    fn set(&mut self, mask: u16) -> Result<(), Self::Error> {
        T::set(self, mask)
    }
}
