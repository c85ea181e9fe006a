//! The touch keypad: Holtek BS8116A-3, 16 capacitive keys over I2C, and its
//! backlights on GPIOs.
//!
//! **Wiring.** The chip's SDA/SCL to an I2C bus at ≤ 100 kHz (address
//! `0x50`), its active-low IRQ output to a GPIO with an interrupt
//! (embedded-hal-async `Wait`), the key electrodes K1–K16 to the keypad's
//! pads in whatever order the board has: [`Config::keys`] says which
//! [`Key`] sits on which electrode. 14 keys are needed (0–9, back, confirm,
//! leaving-home, bell), so a 12-electrode chip such as the MPR121 is too
//! small. The chip has no LED driver: the backlights are GPIOs (or a shift
//! register behind `OutputPin`s), driven by [`GpioBacklight`].
//!
//! **Protocol source.** The BS8116A-3 datasheet as written out in the
//! project's `PERIPHERALS.md`: a settings block of 21 bytes and a checksum
//! (the low byte of their sum) written at `0xB0`; the key bitmap read by
//! writing `08` and reading 2 bytes, little-endian, bit 0 = K1.
//!
//! **Blocking bus.** The driver takes a blocking embedded-hal [`I2c`], as
//! reading two bytes at 100 kHz takes about half a millisecond, and a blocking read cannot be dropped halfway,
//! which keeps [`Keypad::wait_for_event`] cancel-safe — its only await points
//! are the IRQ line and the clock, and every bitmap it reads is turned into
//! queued events before the next await.
//!
//! **Events.** A key counts as down once two reads [`Config::debounce_ms`]
//! apart agree. Released before [`Config::hold_ms`], it gives
//! [`KeyEvent::Press`]; still down at [`Config::hold_ms`], it gives
//! [`KeyEvent::Hold`] at once and nothing on release. While a key is down
//! the driver also reads every [`Config::poll_ms`], so a release is seen
//! whatever the chip's IRQ mode. This chip has no proximity electrode, so
//! the driver never reports [`KeyEvent::Touch`]: the lock treats a key on a
//! dark keypad as the touch that wakes it.
//!
//! **Choices on details marked *verify*.** Option byte 5 of the settings
//! block is `D8` (as in `PERIPHERALS.md`'s vector), not `98`: the two differ
//! in bit 6, which one public BS8116A-3 library names the low-power (LSC)
//! bit; a battery lock wants the chip's low-power scanning. The driver does
//! not depend on it: it reads on the IRQ's level when idle and polls while a
//! key is down, which works with either IRQ mode. [`Settings`] is public for
//! boards that need other thresholds or options.

use embassy_futures::select::{Either, select};
use embedded_hal::digital::{Error as _, OutputPin};
use embedded_hal::i2c::{Error as _, I2c};
use embedded_hal_async::digital::Wait;
use lock_hal::{Backlight, Clock, ErrorKind, ErrorType, Key, KeyEvent, Keypad};

/// The chip's I2C address (7-bit).
pub const ADDRESS: u8 = 0x50;
/// Where the settings block is written.
pub const SETTINGS_REGISTER: u8 = 0xB0;
/// Where the key bitmap is read.
pub const KEYS_REGISTER: u8 = 0x08;

/// The settings block: 5 option bytes and 16 key thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Settings {
    /// Option bytes 1–5 (IRQ mode, low power, sensitivity…).
    pub options: [u8; 5],
    /// One threshold byte per key, K1 first.
    pub thresholds: [u8; 16],
}

impl Settings {
    /// The block of `PERIPHERALS.md`: options `00 00 83 F3 D8`, every
    /// threshold `08`.
    pub const DEFAULT: Settings = Settings {
        options: [0x00, 0x00, 0x83, 0xF3, 0xD8],
        thresholds: [0x08; 16],
    };

    /// The low byte of the sum of the 21 bytes.
    pub fn checksum(&self) -> u8 {
        self.options
            .iter()
            .chain(self.thresholds.iter())
            .fold(0u8, |sum, &byte| sum.wrapping_add(byte))
    }

    /// The whole I2C write: register `B0`, the 21 bytes, the checksum.
    pub fn to_bytes(&self) -> [u8; 23] {
        let mut out = [0u8; 23];
        let bytes = core::iter::once(SETTINGS_REGISTER)
            .chain(self.options.iter().copied())
            .chain(self.thresholds.iter().copied())
            .chain(core::iter::once(self.checksum()));
        for (slot, byte) in out.iter_mut().zip(bytes) {
            *slot = byte;
        }
        out
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::DEFAULT
    }
}

/// The key bitmap from the two bytes read at `08`: little-endian, bit 0 = K1.
pub const fn key_bitmap(bytes: [u8; 2]) -> u16 {
    u16::from_le_bytes(bytes)
}

/// A common layout: K1–K10 are `1`…`9`, `0`; then back, ✓, leaving-home,
/// bell; K15 and K16 unused.
pub const DEFAULT_KEYS: [Option<Key>; 16] = [
    Some(Key::Digit(1)),
    Some(Key::Digit(2)),
    Some(Key::Digit(3)),
    Some(Key::Digit(4)),
    Some(Key::Digit(5)),
    Some(Key::Digit(6)),
    Some(Key::Digit(7)),
    Some(Key::Digit(8)),
    Some(Key::Digit(9)),
    Some(Key::Digit(0)),
    Some(Key::Back),
    Some(Key::Ok),
    Some(Key::Home),
    Some(Key::Bell),
    None,
    None,
];

/// Settings of the keypad driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The settings block written by [`Bs8116a::init`].
    pub settings: Settings,
    /// Which key sits on which electrode, K1 first; `None` for unused ones.
    pub keys: [Option<Key>; 16],
    /// Two reads this far apart must agree before a change counts.
    pub debounce_ms: u32,
    /// A key down this long is a hold.
    pub hold_ms: u32,
    /// How often the bitmap is read while a key is down.
    pub poll_ms: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            settings: Settings::DEFAULT,
            keys: DEFAULT_KEYS,
            debounce_ms: 20,
            hold_ms: 2_000,
            poll_ms: 50,
        }
    }
}

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The I2C transfer failed (the chip did not acknowledge…).
    #[error("I2C error: {0:?}")]
    I2c(embedded_hal::i2c::ErrorKind),
    /// The IRQ pin failed.
    #[error("IRQ pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Bus
    }
}

/// Events a burst of changes may leave before the runtime takes them.
const QUEUE: usize = 8;

/// A BS8116A-3 touch keypad.
pub struct Bs8116a<I, Q, C> {
    i2c: I,
    irq: Q,
    clock: C,
    config: Config,
    /// Debounced keys down.
    stable: u16,
    /// The last bitmap read, and since when it reads so.
    candidate: u16,
    candidate_since: u64,
    /// When each key went down.
    down_since: [u64; 16],
    /// Keys whose hold was reported (no press follows).
    held: u16,
    queue: heapless::Deque<KeyEvent, QUEUE>,
}

impl<I, Q, C> Bs8116a<I, Q, C>
where
    I: I2c,
    Q: Wait,
    C: Clock,
{
    /// Takes the bus, the IRQ pin and the clock. Writes nothing: call
    /// [`Bs8116a::init`].
    pub fn new(i2c: I, irq: Q, clock: C, config: Config) -> Self {
        Bs8116a {
            i2c,
            irq,
            clock,
            config,
            stable: 0,
            candidate: 0,
            candidate_since: 0,
            down_since: [0; 16],
            held: 0,
            queue: heapless::Deque::new(),
        }
    }

    /// Gives the bus, pin and clock back.
    pub fn release(self) -> (I, Q, C) {
        (self.i2c, self.irq, self.clock)
    }

    /// Writes the settings block (with its checksum).
    pub fn init(&mut self) -> Result<(), Error> {
        let bytes = self.config.settings.to_bytes();
        self.i2c
            .write(ADDRESS, &bytes)
            .map_err(|error| Error::I2c(error.kind()))
    }

    /// Reads the raw key bitmap.
    pub fn read_keys(&mut self) -> Result<u16, Error> {
        let mut bytes = [0u8; 2];
        self.i2c
            .write_read(ADDRESS, &[KEYS_REGISTER], &mut bytes)
            .map_err(|error| Error::I2c(error.kind()))?;
        Ok(key_bitmap(bytes))
    }

    fn key(&self, bit: usize) -> Option<Key> {
        self.config.keys.get(bit).copied().flatten()
    }

    fn mapped(&self) -> u16 {
        self.config
            .keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.is_some())
            .fold(0, |mask, (bit, _)| mask | (1 << bit))
    }

    /// When the driver must look again without an interrupt: the end of a
    /// debounce, the next hold, the next poll while a key is down.
    fn deadline(&self, now: u64) -> Option<u64> {
        if self.candidate != self.stable {
            return Some(
                self.candidate_since
                    .saturating_add(u64::from(self.config.debounce_ms)),
            );
        }
        if self.stable == 0 {
            return None;
        }
        let poll = now.saturating_add(u64::from(self.config.poll_ms));
        let hold = (0..16)
            .filter(|bit| self.stable & !self.held & (1 << bit) != 0)
            .filter_map(|bit| self.down_since.get(bit).copied())
            .map(|since| since.saturating_add(u64::from(self.config.hold_ms)))
            .min();
        Some(hold.map_or(poll, |hold| hold.min(poll)))
    }

    /// Reads the bitmap and turns what changed into queued events.
    fn sample(&mut self) -> Result<(), Error> {
        let raw = self.read_keys()? & self.mapped();
        let now = self.clock.now_ms();
        if raw != self.candidate {
            self.candidate = raw;
            self.candidate_since = now;
        }
        let settled = now
            >= self
                .candidate_since
                .saturating_add(u64::from(self.config.debounce_ms));
        if self.candidate != self.stable && settled {
            let changed = self.candidate ^ self.stable;
            for bit in 0..16 {
                let mask = 1u16 << bit;
                if changed & mask == 0 {
                    continue;
                }
                if self.candidate & mask != 0 {
                    if let Some(since) = self.down_since.get_mut(bit) {
                        *since = self.candidate_since;
                    }
                } else if self.held & mask == 0
                    && let Some(key) = self.key(bit)
                {
                    // A full queue drops the newest event: the runtime
                    // waits again after each one, so it means a stall.
                    let _ = self.queue.push_back(KeyEvent::Press(key));
                }
                self.held &= !mask;
            }
            self.stable = self.candidate;
        }
        for bit in 0..16 {
            let mask = 1u16 << bit;
            if self.stable & !self.held & mask == 0 {
                continue;
            }
            let since = self.down_since.get(bit).copied().unwrap_or(now);
            if now >= since.saturating_add(u64::from(self.config.hold_ms)) {
                self.held |= mask;
                if let Some(key) = self.key(bit) {
                    let _ = self.queue.push_back(KeyEvent::Hold(key));
                }
            }
        }
        Ok(())
    }
}

impl<I, Q, C> ErrorType for Bs8116a<I, Q, C> {
    type Error = Error;
}

impl<I, Q, C> Keypad for Bs8116a<I, Q, C>
where
    I: I2c,
    Q: Wait,
    C: Clock,
{
    async fn wait_for_event(&mut self) -> Result<KeyEvent, Error> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            match self.deadline(self.clock.now_ms()) {
                // Idle: the IRQ's level, so an interrupt raised while no one
                // waited is not missed.
                None => self
                    .irq
                    .wait_for_low()
                    .await
                    .map_err(|error| Error::Pin(error.kind()))?,
                Some(at) => {
                    if let Either::Second(Err(error)) =
                        select(self.clock.wait_until(at), self.irq.wait_for_falling_edge()).await
                    {
                        return Err(Error::Pin(error.kind()));
                    }
                }
            }
            self.sample()?;
        }
    }
}

/// Backlights on GPIOs: each pin lights the keys of its group.
pub struct GpioBacklight<P, const N: usize> {
    pins: [P; N],
    groups: [u16; N],
    active_low: bool,
}

impl<P: OutputPin, const N: usize> GpioBacklight<P, N> {
    /// One pin per key: pin `i` lights mask bit `i` (`0`–`9`, ↩, ✓,
    /// leaving-home, bell), driven high to light.
    pub fn per_key(pins: [P; N]) -> Self {
        let mut groups = [0u16; N];
        for (bit, group) in groups.iter_mut().enumerate() {
            *group = 1u16
                .checked_shl(u32::try_from(bit).unwrap_or(u32::MAX))
                .unwrap_or(0);
        }
        GpioBacklight {
            pins,
            groups,
            active_low: false,
        }
    }

    /// Pins lighting groups of keys (a pin is lit when any key of its group
    /// is in the mask); `active_low` for LEDs that light on a low level.
    pub fn grouped(pins: [P; N], groups: [u16; N], active_low: bool) -> Self {
        GpioBacklight {
            pins,
            groups,
            active_low,
        }
    }

    /// Gives the pins back.
    pub fn release(self) -> [P; N] {
        self.pins
    }
}

impl<P, const N: usize> ErrorType for GpioBacklight<P, N> {
    type Error = Error;
}

impl<P: OutputPin, const N: usize> Backlight for GpioBacklight<P, N> {
    fn set(&mut self, mask: u16) -> Result<(), Error> {
        for (pin, group) in self.pins.iter_mut().zip(self.groups) {
            let lit = mask & group != 0;
            let result = if lit != self.active_low {
                pin.set_high()
            } else {
                pin.set_low()
            };
            result.map_err(|error| Error::Pin(error.kind()))?;
        }
        Ok(())
    }
}
