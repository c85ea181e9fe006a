//! The printed keypad many makers build their lock with: a generic 4×3
//! membrane matrix (`1 2 3 / 4 5 6 / 7 8 9 / * 0 #`) on seven GPIOs, and a
//! single LED instead of per-key backlights.
//!
//! **Parts.** The generic 4×3 membrane keypads sold for microcontroller
//! projects (a 7-way ribbon, no diodes, no electronics): each key joins
//! one row line to one column line. Any keypad wired as a 4×3 matrix works,
//! mechanical key switches included.
//!
//! **Wiring.** The four row lines (top row `1 2 3` first) to push-pull
//! outputs, the three column lines (left column `1 4 7 *` first) to inputs
//! with pull-ups and an interrupt (embedded-hal-async [`Wait`]), so a
//! column reads low only while a pressed key joins it to a row driven low.
//! The pins are arrays, `[R; 4]` and `[C; 3]`, in that order: on embassy,
//! esp-hal and most HALs an `Output<'_>` / `Input<'_>` erases the pin
//! number, so the pins fit one array type. A board wired in another order
//! lists its pins in this one. The LED (through its resistor or a
//! transistor) to an `OutputPin`, driven by [`SingleLed`].
//!
//! **What the lock does with it.** [`MatrixKeypad`] declares
//! [`Layout::MATRIX_12`]: `*` is reported as [`Key::Back`] (↩), `#` as
//! [`Key::Ok`] (✓); holding ↩ is SET and holding ✓ leaving-home; there is no
//! doorbell. The keys are printed, so the lock counts a key pressed on the
//! dark keypad (it can be aimed at) instead of taking it as a wake touch.
//! [`SingleLed`] declares [`Backlight::SINGLE_LED`]: the lock lights it for
//! any non-empty mask and shows numbers as blink counts.
//!
//! **Scanning.** Idle (no key down), all rows are driven low and the driver
//! waits for any column to read low: a level wait on the three column
//! interrupts, so the chip sleeps and a key already down when the wait
//! starts (or pressed while no one waited) is seen at once. When a column
//! goes low, the driver scans: all rows high, then one row low at a time
//! with the columns read, then that row high again. A key is in the
//! reading when its column reads low while its row alone is low. While any
//! key is down, or a reading has not settled, it scans again every
//! [`Config::scan_ms`] on the lock's [`Clock`]; once every key is up and
//! settled, it drives the rows low and waits on the columns again. There is
//! no polling while idle.
//!
//! **Settling.** A column pulled low through a key rises again only
//! through its pull-up (a few microseconds with a ribbon cable); a fast
//! chip reading the next row at once would see the previous row's key
//! there too. So after each row is released the driver reads the columns
//! until all read high, at most [`Config::settle_reads`] times, instead of
//! a delay of a guessed length. A column still low then is shorted to
//! ground or to a row: [`Error::StuckColumn`].
//!
//! **Timing.** A reading counts once every scan has read the same for
//! [`Config::debounce_ms`] (20 ms): a contact bouncing shorter than that is
//! no press. Released before [`Config::hold_ms`] (2 s, as the touch keypad),
//! a key gives [`KeyEvent::Press`] on its release; still down at
//! [`Config::hold_ms`] after its first contact, it gives [`KeyEvent::Hold`]
//! at once and nothing on release. A hold is reported only when a scan sees
//! the key still down at the hold time.
//!
//! **Two keys at once are refused.** A matrix without diodes cannot tell
//! three keys down from four (three keys at the corners of a rectangle join
//! the fourth corner's row and column), and no single-key reading is right
//! when two are down. So a settled reading of two or more keys voids the
//! gesture: no press and no hold (a hold already reported stays reported),
//! and nothing counts until every key is up. The driver refuses; it does not
//! guess which key was meant.
//!
//! **No [`KeyEvent::Touch`].** A printed keypad has no proximity sense: the
//! driver never reports `Touch`, and the lock takes the first key on a dark
//! keypad as a key ([`Layout::mechanical`]).
//!
//! **Power.** Idle, the rows are low and the columns pulled up: no current
//! flows unless a key is pressed, then only through that key and its
//! column's pull-up (about 0.1 mA with a 30–50 kΩ internal pull-up at
//! 3.3 V). Between scans while a key is down the rows are high, so a held
//! key draws nothing then.
//!
//! **Cancel-safety.** [`Keypad::wait_for_event`] awaits only the column
//! levels and the clock, and keeps what it has seen (the reading, since
//! when, the key down and whether its hold was reported) in the driver, not
//! in the future. Events are queued (a few) before they are returned. A
//! wait dropped half-way loses nothing already seen: a key seen down before
//! the drop gives its press when the next wait sees it released. A press
//! that came and went entirely while no one waited is not seen (the pins
//! have no latch).

use embassy_futures::select::select_array;
use embedded_hal::digital::{InputPin, OutputPin, PinState};
use embedded_hal_async::digital::Wait;
use lock_hal::{Backlight, Clock, ErrorKind, ErrorType, Key, KeyEvent, Keypad, Layout};

/// Row lines: `1 2 3`, `4 5 6`, `7 8 9`, `* 0 #`.
pub const ROWS: usize = 4;
/// Column lines: `1 4 7 *`, `2 5 8 0`, `3 6 9 #`.
pub const COLUMNS: usize = 3;

/// The key at each row and column, as printed: `*` is ↩, `#` is ✓.
pub const KEYS: [[Key; COLUMNS]; ROWS] = [
    [Key::Digit(1), Key::Digit(2), Key::Digit(3)],
    [Key::Digit(4), Key::Digit(5), Key::Digit(6)],
    [Key::Digit(7), Key::Digit(8), Key::Digit(9)],
    [Key::Back, Key::Digit(0), Key::Ok],
];

/// Timing of the keypad driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Every scan must read the same for this long before a reading counts.
    pub debounce_ms: u32,
    /// A key down this long after its first contact is a hold.
    pub hold_ms: u32,
    /// How often the matrix is scanned while a key is down or a reading
    /// settles.
    pub scan_ms: u32,
    /// After a row is released, how many times the columns may be read
    /// before one still low is a fault.
    pub settle_reads: u32,
}

impl Config {
    /// 20 ms debounce, hold at 2 s, a scan every 5 ms while a key is down,
    /// up to 1000 reads for the columns to settle (tens of µs on a fast
    /// chip, far beyond a ribbon's rise time).
    pub const DEFAULT: Config = Config {
        debounce_ms: 20,
        hold_ms: 2_000,
        scan_ms: 5,
        settle_reads: 1_000,
    };
}

impl Default for Config {
    /// [`Config::DEFAULT`].
    fn default() -> Config {
        Config::DEFAULT
    }
}

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A row, column or LED pin failed.
    #[error("pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
    /// This column (0 = left) still read low with every row released: the
    /// line is shorted to ground or to a row.
    #[error("column {0} stays low with every row released")]
    StuckColumn(u8),
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Pin(_) => ErrorKind::Bus,
            Error::StuckColumn(_) => ErrorKind::Device,
        }
    }
}

fn pin<E: embedded_hal::digital::Error>(error: E) -> Error {
    Error::Pin(error.kind())
}

/// Events a scan may leave before the runtime takes them.
const QUEUE: usize = 4;

/// The key of reading bit `bit` (`row * 3 + column`).
fn key_of(bit: u32) -> Option<Key> {
    let bit = usize::try_from(bit).ok()?;
    KEYS.get(bit / COLUMNS)?.get(bit % COLUMNS).copied()
}

/// What the keys down since the keypad was last quiet amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gesture {
    /// No key down.
    None,
    /// One key (reading bit) down since `since`; `held` once its hold was
    /// reported.
    Key { bit: u32, since: u64, held: bool },
    /// Two keys were down at once: nothing counts until all are up.
    Refused,
}

/// A 4×3 printed matrix keypad: `[R; 4]` row outputs, `[C; 3]` column
/// inputs (pulled up, active low, with interrupts) and the lock's clock.
pub struct MatrixKeypad<R, C, K> {
    rows: [R; ROWS],
    columns: [C; COLUMNS],
    clock: K,
    config: Config,
    /// The settled reading (one bit per key, `row * 3 + column`).
    stable: u16,
    /// The last reading, and since when every scan has read it.
    candidate: u16,
    candidate_since: u64,
    gesture: Gesture,
    queue: heapless::Deque<KeyEvent, QUEUE>,
}

impl<R, C, K> MatrixKeypad<R, C, K>
where
    R: OutputPin,
    C: InputPin + Wait,
    K: Clock,
{
    /// Takes the row outputs (top row first), the column inputs (left
    /// column first) and the clock. Drives nothing until the first wait.
    pub fn new(rows: [R; ROWS], columns: [C; COLUMNS], clock: K, config: Config) -> Self {
        MatrixKeypad {
            rows,
            columns,
            clock,
            config,
            stable: 0,
            candidate: 0,
            candidate_since: 0,
            gesture: Gesture::None,
            queue: heapless::Deque::new(),
        }
    }

    /// Gives the pins and the clock back.
    pub fn release(self) -> ([R; ROWS], [C; COLUMNS], K) {
        (self.rows, self.columns, self.clock)
    }

    /// Scans the matrix once: one bit per key down, `row * 3 + column`
    /// (bit 0 is `1`, bit 9 `*`, bit 11 `#`). Leaves every row high.
    pub fn scan(&mut self) -> Result<u16, Error> {
        for row in self.rows.iter_mut() {
            row.set_high().map_err(pin)?;
        }
        settle(&mut self.columns, self.config.settle_reads)?;
        let mut reading = 0u16;
        let mut bit = 0u32;
        for row in self.rows.iter_mut() {
            row.set_low().map_err(pin)?;
            for column in self.columns.iter_mut() {
                if column.is_low().map_err(pin)? {
                    reading |= 1u16.checked_shl(bit).unwrap_or(0);
                }
                bit = bit.saturating_add(1);
            }
            row.set_high().map_err(pin)?;
            settle(&mut self.columns, self.config.settle_reads)?;
        }
        Ok(reading)
    }

    /// Nothing down, nothing settling: wait on the columns.
    fn is_idle(&self) -> bool {
        self.stable == 0 && self.candidate == 0 && self.gesture == Gesture::None
    }

    /// When to scan next while not idle: the next scan, the end of the
    /// debounce or the hold, whichever is first.
    fn deadline(&self, now: u64) -> u64 {
        let mut at = now.saturating_add(u64::from(self.config.scan_ms.max(1)));
        if self.candidate != self.stable {
            at = at.min(
                self.candidate_since
                    .saturating_add(u64::from(self.config.debounce_ms)),
            );
        }
        if let Gesture::Key {
            since, held: false, ..
        } = self.gesture
        {
            at = at.min(since.saturating_add(u64::from(self.config.hold_ms)));
        }
        at.max(now)
    }

    /// Scans and turns what changed into queued events.
    fn sample(&mut self) -> Result<(), Error> {
        let reading = self.scan()?;
        let now = self.clock.now_ms();
        if reading != self.candidate {
            self.candidate = reading;
            self.candidate_since = now;
        }
        let settled = now
            >= self
                .candidate_since
                .saturating_add(u64::from(self.config.debounce_ms));
        if settled && self.candidate != self.stable {
            self.settle_to(self.candidate);
        }
        if let Gesture::Key {
            bit,
            since,
            held: false,
        } = self.gesture
            && self.candidate == self.stable
            && now >= since.saturating_add(u64::from(self.config.hold_ms))
        {
            self.gesture = Gesture::Key {
                bit,
                since,
                held: true,
            };
            self.push(bit, KeyEvent::Hold);
        }
        Ok(())
    }

    /// The reading `reading` has settled: end or start gestures.
    fn settle_to(&mut self, reading: u16) {
        self.stable = reading;
        let single = (reading.count_ones() == 1).then(|| reading.trailing_zeros());
        self.gesture = match (self.gesture, reading, single) {
            // All up: a key not held and not refused was pressed.
            (Gesture::Key { bit, held, .. }, 0, _) => {
                if !held {
                    self.push(bit, KeyEvent::Press);
                }
                Gesture::None
            }
            (_, 0, _) => Gesture::None,
            // Another key alone: the first was released in between.
            (Gesture::Key { bit, held, .. }, _, Some(next)) if next != bit => {
                if !held {
                    self.push(bit, KeyEvent::Press);
                }
                Gesture::Key {
                    bit: next,
                    since: self.candidate_since,
                    held: false,
                }
            }
            (Gesture::None, _, Some(next)) => Gesture::Key {
                bit: next,
                since: self.candidate_since,
                held: false,
            },
            (gesture @ Gesture::Key { .. }, _, Some(_)) => gesture,
            // Two or more keys: refused until all are up.
            (_, _, None) | (Gesture::Refused, _, _) => Gesture::Refused,
        };
    }

    fn push(&mut self, bit: u32, event: fn(Key) -> KeyEvent) {
        if let Some(key) = key_of(bit) {
            // A full queue drops the newest event: the runtime waits again
            // after each one, so it means a stall.
            let _ = self.queue.push_back(event(key));
        }
    }

    /// Idle: all rows low, then wait until any column reads low.
    async fn wait_for_contact(&mut self) -> Result<(), Error> {
        for row in self.rows.iter_mut() {
            row.set_low().map_err(pin)?;
        }
        let waits = self.columns.each_mut().map(|column| column.wait_for_low());
        let (result, _) = select_array(waits).await;
        result.map_err(pin)
    }
}

/// Reads the columns until all read high, at most `reads` times.
fn settle<C: InputPin>(columns: &mut [C; COLUMNS], reads: u32) -> Result<(), Error> {
    let mut low = None;
    for _ in 0..reads.max(1) {
        low = None;
        for (index, column) in (0u8..).zip(columns.iter_mut()) {
            if column.is_low().map_err(pin)? {
                low = Some(index);
                break;
            }
        }
        if low.is_none() {
            return Ok(());
        }
    }
    match low {
        Some(index) => Err(Error::StuckColumn(index)),
        None => Ok(()),
    }
}

impl<R, C, K> ErrorType for MatrixKeypad<R, C, K> {
    type Error = Error;
}

impl<R, C, K> Keypad for MatrixKeypad<R, C, K>
where
    R: OutputPin,
    C: InputPin + Wait,
    K: Clock,
{
    const LAYOUT: Layout = Layout::MATRIX_12;

    async fn wait_for_event(&mut self) -> Result<KeyEvent, Error> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            if self.is_idle() {
                self.wait_for_contact().await?;
            } else {
                let at = self.deadline(self.clock.now_ms());
                self.clock.wait_until(at).await;
            }
            self.sample()?;
        }
    }
}

/// One LED for the whole keypad: lit for any mask but `0`.
pub struct SingleLed<P> {
    pin: P,
    active_low: bool,
}

impl<P: OutputPin> SingleLed<P> {
    /// An LED lit by driving the pin high.
    pub fn new(pin: P) -> Self {
        SingleLed {
            pin,
            active_low: false,
        }
    }

    /// An LED lit by driving the pin low (wired from the supply, or behind
    /// a P-MOSFET).
    pub fn active_low(pin: P) -> Self {
        SingleLed {
            pin,
            active_low: true,
        }
    }

    /// Gives the pin back.
    pub fn release(self) -> P {
        self.pin
    }
}

impl<P> ErrorType for SingleLed<P> {
    type Error = Error;
}

impl<P: OutputPin> Backlight for SingleLed<P> {
    const SINGLE_LED: bool = true;

    fn set(&mut self, mask: u16) -> Result<(), Error> {
        let lit = mask != 0;
        self.pin
            .set_state(PinState::from(lit != self.active_low))
            .map_err(pin)
    }
}
