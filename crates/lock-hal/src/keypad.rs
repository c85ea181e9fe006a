//! The keypad (touch or printed keys) and its backlights.

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

/// A key pressed, or held for the keypad's hold time: what a function of a
/// key the keypad lacks can be mapped to ([`Layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Gesture {
    /// Pressed and released.
    Press(Key),
    /// Held for the hold time.
    Hold(Key),
}

/// What a keypad is like, for the lock: how a key on a dark keypad counts,
/// and where the functions of keys it lacks are.
///
/// The lock's own gestures take precedence over none of these: map only
/// gestures the lock does not use (it uses every press, and holding `0` for
/// one-time mute, R-MNU-8); holding ↩ or ✓ is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Layout {
    /// Printed (mechanical) keys, which can be aimed at in the dark: a key
    /// pressed on a dark keypad wakes it and counts. On a touch pad
    /// (`false`) there is nothing to aim at in the dark, so the first
    /// contact only wakes it (R-MNU-1).
    pub mechanical: bool,
    /// Where SET's short press is on the keypad, besides (or instead of) a
    /// SET button on the rear panel (R-MNU-3). Holding SET at power-up
    /// (R-MNU-9) needs the button.
    pub set: Option<Gesture>,
    /// The leaving-home function (R-LCK-4); `None`: the lock has none.
    pub home: Option<Gesture>,
    /// The doorbell (R-ALM-5); `None`: the lock has none.
    pub bell: Option<Gesture>,
}

impl Layout {
    /// A touch keypad with `0`–`9`, ↩, ✓, leaving-home and bell keys (the
    /// BS8116A-3 panels): no SET on it.
    pub const TOUCH: Layout = Layout {
        mechanical: false,
        set: None,
        home: Some(Gesture::Press(Key::Home)),
        bell: Some(Gesture::Press(Key::Bell)),
    };

    /// A 4×3 printed keypad (`*` as ↩, `#` as ✓) and no rear SET button:
    /// holding ↩ is SET, holding ✓ leaving-home, and there is no bell.
    pub const MATRIX_12: Layout = Layout {
        mechanical: true,
        set: Some(Gesture::Hold(Key::Back)),
        home: Some(Gesture::Hold(Key::Ok)),
        bell: None,
    };

    /// The function `gesture` is mapped to, if any.
    pub fn function(&self, gesture: Gesture) -> Option<Function> {
        if self.set == Some(gesture) {
            Some(Function::Set)
        } else if self.home == Some(gesture) {
            Some(Function::Home)
        } else if self.bell == Some(gesture) {
            Some(Function::Bell)
        } else {
            None
        }
    }
}

/// A function [`Layout`] maps a gesture to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Function {
    /// SET's short press.
    Set,
    /// Leaving-home.
    Home,
    /// The doorbell.
    Bell,
}

/// The keypad's input side.
pub trait Keypad: ErrorType {
    /// What the keypad is like. Default: [`Layout::TOUCH`].
    const LAYOUT: Layout = Layout::TOUCH;

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
    /// One LED for the whole keypad (`set` lights it for any mask but
    /// `0`): the runtime then shows a number (a new person's) as blink
    /// counts, digit by digit, instead of lighting its digit keys in turn.
    const SINGLE_LED: bool = false;

    /// Lights exactly the keys in `mask`; `0` turns the keypad dark.
    fn set(&mut self, mask: u16) -> Result<(), Self::Error>;
}

impl<T: Keypad + ?Sized> Keypad for &mut T {
    const LAYOUT: Layout = T::LAYOUT;
    async fn wait_for_event(&mut self) -> Result<KeyEvent, Self::Error> {
        T::wait_for_event(self).await
    }
}

impl<T: Backlight + ?Sized> Backlight for &mut T {
    const SINGLE_LED: bool = T::SINGLE_LED;
    fn set(&mut self, mask: u16) -> Result<(), Self::Error> {
        T::set(self, mask)
    }
}
