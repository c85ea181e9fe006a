//! The 4×3 matrix keypad against a simulated membrane: presses scripted on
//! the test's clock, rows and columns as small recording fakes (a scan reads
//! the columns dozens of times, which a transaction script cannot follow),
//! and the single LED against embedded-hal-mock's pin mock.
// Tests panic on failure by design; clippy's test exemption does not reach
// the helper functions of an integration test file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use common::{ManualClock, run};
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use lock_drivers::matrix::{Config, Error, KEYS, MatrixKeypad, SingleLed};
use lock_hal::{
    Backlight, Clock, Error as _, ErrorKind, Function, Gesture, Key, KeyEvent, Keypad, Layout,
};

/// What the driver did to the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A row driven high (`true`) or low.
    Row(usize, bool),
    /// A column read.
    Read(usize),
    /// A wait on a column's level began.
    Wait(usize),
}

/// The membrane: which keys are down when (on the test's clock), which
/// rows the driver drives low, and a log of what it did.
struct Membrane {
    clock: ManualClock,
    /// Row levels, `true` = high. Rows start high (as after reset with
    /// pull-ups; the driver must drive them low itself).
    rows: [bool; 4],
    /// Key (row, column) down from `.2` (inclusive) to `.3` (exclusive), ms.
    presses: Vec<(usize, usize, u64, u64)>,
    /// A column shorted to ground.
    stuck: Option<usize>,
    log: Vec<Op>,
}

impl Membrane {
    fn column_low(&self, column: usize) -> bool {
        let now = self.clock.now();
        self.stuck == Some(column)
            || self.presses.iter().any(|&(row, col, from, to)| {
                col == column && !self.rows[row] && from <= now && now < to
            })
    }

    fn any_column_low(&self) -> bool {
        (0..3).any(|column| self.column_low(column))
    }

    /// The next press to begin after now, if any.
    fn next_press(&self) -> Option<u64> {
        let now = self.clock.now();
        self.presses
            .iter()
            .map(|&(_, _, from, _)| from)
            .filter(|&from| from > now)
            .min()
    }
}

type Shared = Rc<RefCell<Membrane>>;

struct RowPin(Shared, usize);
struct ColumnPin(Shared, usize);

impl embedded_hal::digital::ErrorType for RowPin {
    type Error = Infallible;
}

impl embedded_hal::digital::OutputPin for RowPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        let mut membrane = self.0.borrow_mut();
        membrane.rows[self.1] = false;
        membrane.log.push(Op::Row(self.1, false));
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        let mut membrane = self.0.borrow_mut();
        membrane.rows[self.1] = true;
        membrane.log.push(Op::Row(self.1, true));
        Ok(())
    }
}

impl embedded_hal::digital::ErrorType for ColumnPin {
    type Error = Infallible;
}

impl embedded_hal::digital::InputPin for ColumnPin {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(!self.is_low()?)
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        let mut membrane = self.0.borrow_mut();
        membrane.log.push(Op::Read(self.1));
        Ok(membrane.column_low(self.1))
    }
}

impl embedded_hal_async::digital::Wait for ColumnPin {
    async fn wait_for_low(&mut self) -> Result<(), Infallible> {
        self.0.borrow_mut().log.push(Op::Wait(self.1));
        poll_fn(|cx| {
            let membrane = self.0.borrow();
            if membrane.column_low(self.1) {
                return Poll::Ready(Ok(()));
            }
            // Like ManualClock, time moves when everything waits: with the
            // whole keypad quiet, on to the next scripted press.
            if !membrane.any_column_low()
                && let Some(at) = membrane.next_press()
            {
                membrane.clock.advance(at - membrane.clock.now());
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }

    async fn wait_for_high(&mut self) -> Result<(), Infallible> {
        panic!("the driver waits for a column to go low only")
    }

    async fn wait_for_rising_edge(&mut self) -> Result<(), Infallible> {
        panic!("the driver waits on levels, not edges")
    }

    async fn wait_for_falling_edge(&mut self) -> Result<(), Infallible> {
        panic!("the driver waits on levels, not edges")
    }

    async fn wait_for_any_edge(&mut self) -> Result<(), Infallible> {
        panic!("the driver waits on levels, not edges")
    }
}

/// A clock whose waits stay pending until the test moves time: a wait on
/// it can be dropped half-way, as the runtime's `select` drops one.
#[derive(Clone)]
struct SteppedClock(ManualClock);

impl Clock for SteppedClock {
    fn now_ms(&self) -> u64 {
        self.0.now()
    }

    async fn wait_until(&self, at_ms: u64) {
        poll_fn(|_| {
            if self.0.now() >= at_ms {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// Where a printed key is: (row, column).
fn position(printed: char) -> (usize, usize) {
    let index = "123456789*0#"
        .find(printed)
        .unwrap_or_else(|| panic!("no key {printed:?} on a 4×3 keypad"));
    (index / 3, index % 3)
}

fn membrane(presses: &[(char, u64, u64)], clock: &ManualClock) -> Shared {
    Rc::new(RefCell::new(Membrane {
        clock: clock.clone(),
        rows: [true; 4],
        presses: presses
            .iter()
            .map(|&(printed, from, to)| {
                let (row, column) = position(printed);
                (row, column, from, to)
            })
            .collect(),
        stuck: None,
        log: Vec::new(),
    }))
}

fn pins(membrane: &Shared) -> ([RowPin; 4], [ColumnPin; 3]) {
    (
        [0, 1, 2, 3].map(|row| RowPin(membrane.clone(), row)),
        [0, 1, 2].map(|column| ColumnPin(membrane.clone(), column)),
    )
}

type Driver = MatrixKeypad<RowPin, ColumnPin, ManualClock>;

/// A keypad on the manual clock with these presses: (printed key, down at,
/// up at), in ms.
fn keypad(presses: &[(char, u64, u64)]) -> (Driver, ManualClock, Shared) {
    let clock = ManualClock::new();
    let membrane = membrane(presses, &clock);
    let (rows, columns) = pins(&membrane);
    let driver = MatrixKeypad::new(rows, columns, clock.clone(), Config::default());
    (driver, clock, membrane)
}

/// Polls a future once.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn the_layout_is_the_4x3_printed_one() {
    assert_eq!(Driver::LAYOUT, Layout::MATRIX_12);
    // What the lock makes of it: holding ↩ is SET, holding ✓ leaving-home.
    const { assert!(Driver::LAYOUT.mechanical) };
    assert_eq!(
        Driver::LAYOUT.function(Gesture::Hold(Key::Back)),
        Some(Function::Set)
    );
    assert_eq!(
        Driver::LAYOUT.function(Gesture::Hold(Key::Ok)),
        Some(Function::Home)
    );
    assert_eq!(KEYS[3], [Key::Back, Key::Digit(0), Key::Ok]);
}

#[test]
fn the_corner_keys_and_0_map_as_printed() {
    let (mut pad, clock, _) = keypad(&[
        ('1', 0, 100),
        ('3', 200, 300),
        ('*', 400, 500),
        ('#', 600, 700),
        ('0', 800, 900),
    ]);
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(1)))
    );
    // Released at 100, read up from then on: the release counts at 120.
    assert_eq!(clock.now(), 120);
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(3)))
    );
    assert_eq!(run(pad.wait_for_event()), Ok(KeyEvent::Press(Key::Back)));
    assert_eq!(run(pad.wait_for_event()), Ok(KeyEvent::Press(Key::Ok)));
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(0)))
    );
}

#[test]
fn a_scan_reads_one_bit_per_key_row_by_row() {
    let clock = ManualClock::new();
    let membrane = membrane(&[('#', 0, 100)], &clock);
    let (rows, columns) = pins(&membrane);
    let mut pad = MatrixKeypad::new(rows, columns, clock, Config::default());
    assert_eq!(pad.scan(), Ok(1 << 11));
    // One row low at a time, every row high again afterwards.
    assert_eq!(membrane.borrow().rows, [true; 4]);
    let lows: Vec<Op> = membrane
        .borrow()
        .log
        .iter()
        .copied()
        .filter(|op| matches!(op, Op::Row(_, false)))
        .collect();
    assert_eq!(
        lows,
        [
            Op::Row(0, false),
            Op::Row(1, false),
            Op::Row(2, false),
            Op::Row(3, false)
        ]
    );
}

#[test]
fn a_bounce_shorter_than_the_debounce_is_no_press() {
    // `2` makes contact for 10 ms only; then `5` is pressed properly.
    let (mut pad, clock, _) = keypad(&[('2', 0, 10), ('5', 100, 200)]);
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(5)))
    );
    assert_eq!(clock.now(), 220);
}

#[test]
fn a_key_held_gives_one_hold_and_no_press() {
    let (mut pad, clock, _) = keypad(&[('#', 0, 3_000), ('1', 4_000, 4_100)]);
    assert_eq!(run(pad.wait_for_event()), Ok(KeyEvent::Hold(Key::Ok)));
    // At the hold time from the first contact, while still down.
    assert_eq!(clock.now(), 2_000);
    // Its release gives nothing: the next event is the next key.
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(1)))
    );
    assert_eq!(clock.now(), 4_120);
}

#[test]
fn two_keys_at_once_give_nothing() {
    let (mut pad, _, _) = keypad(&[
        // `5` pressed while `1` is down.
        ('1', 0, 300),
        ('5', 100, 200),
        // `4` and `6` together.
        ('4', 1_000, 1_100),
        ('6', 1_000, 1_100),
        // A key alone after both pairs.
        ('9', 2_000, 2_100),
    ]);
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(9)))
    );
}

#[test]
fn a_second_key_refuses_a_hold_in_progress() {
    // `*` held towards SET, `2` touched before the hold time: no SET, and
    // no press of either.
    let (mut pad, _, _) = keypad(&[('*', 0, 2_500), ('2', 1_000, 1_200), ('8', 3_000, 3_100)]);
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(8)))
    );
}

#[test]
fn a_key_seen_down_before_the_wait_was_dropped_is_kept() {
    let manual = ManualClock::new();
    let membrane = membrane(&[('7', 0, 100)], &manual);
    let (rows, columns) = pins(&membrane);
    let mut pad = MatrixKeypad::new(
        rows,
        columns,
        SteppedClock(manual.clone()),
        Config::default(),
    );
    {
        // The runtime waits while `7` goes down and settles…
        let mut wait = pin!(pad.wait_for_event());
        for _ in 0..=30 {
            assert!(poll_once(wait.as_mut()).is_pending());
            manual.advance(1);
        }
        // …then another input comes first and the wait is dropped.
    }
    // `7` is released while no one waits; the next wait reports it.
    manual.advance(500);
    let mut wait = pin!(pad.wait_for_event());
    let event = loop {
        match poll_once(wait.as_mut()) {
            Poll::Ready(event) => break event,
            Poll::Pending => manual.advance(1),
        }
        assert!(manual.now() < 1_000, "the press was lost");
    };
    assert_eq!(event, Ok(KeyEvent::Press(Key::Digit(7))));
    // Seen up at the first scan (536, 5 ms after the wait began at 531),
    // settled 20 ms later.
    assert_eq!(manual.now(), 556);
}

#[test]
fn idle_it_drives_all_rows_low_and_waits_on_the_columns_without_scanning() {
    let (mut pad, clock, membrane) = keypad(&[('5', 0, 100)]);
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(5)))
    );
    let start = membrane.borrow().log.len();
    let mut wait = pin!(pad.wait_for_event());
    for _ in 0..10 {
        assert!(poll_once(wait.as_mut()).is_pending());
    }
    let membrane = membrane.borrow();
    assert_eq!(membrane.rows, [false; 4]);
    let idle = &membrane.log[start..];
    for column in 0..3 {
        assert!(idle.contains(&Op::Wait(column)), "no wait on {column}");
    }
    assert!(
        !idle.iter().any(|op| matches!(op, Op::Read(_))),
        "scanned while idle: {idle:?}"
    );
    // And no time passed: nothing waits on the clock.
    assert_eq!(clock.now(), 120);
}

#[test]
fn a_column_shorted_low_is_a_device_error() {
    let (mut pad, _, membrane) = keypad(&[]);
    membrane.borrow_mut().stuck = Some(1);
    let error = run(pad.wait_for_event()).unwrap_err();
    assert_eq!(error, Error::StuckColumn(1));
    assert_eq!(error.kind(), ErrorKind::Device);
}

#[test]
fn the_single_led_is_lit_for_any_mask_but_0() {
    let mut led = SingleLed::new(PinMock::new(&[
        Pin::set(State::High),
        Pin::set(State::High),
        Pin::set(State::Low),
    ]));
    led.set(1 << 3).unwrap();
    led.set(0x3FFF).unwrap();
    led.set(0).unwrap();
    led.release().done();
    // Checked when the test builds.
    const { assert!(<SingleLed<PinMock> as Backlight>::SINGLE_LED) };
}

#[test]
fn an_active_low_single_led() {
    let mut led =
        SingleLed::active_low(PinMock::new(&[Pin::set(State::Low), Pin::set(State::High)]));
    led.set(1).unwrap();
    led.set(0).unwrap();
    led.release().done();
}
