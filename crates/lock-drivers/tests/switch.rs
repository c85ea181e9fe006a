//! Buttons, contacts, triggers and the siren against pins whose levels
//! change at scripted times, on a clock that moves only when every waiting
//! future is stuck (a small discrete-event world), so debouncing, short and
//! long presses and cancellation are exact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use lock_drivers::switch::{
    GpioButton, GpioContact, GpioSiren, GpioTrigger, GpioUsbSense, SwitchConfig,
};
use lock_hal::{Button, Clock, ContactSensor, Press, Siren, TriggerSensor, UsbPower};

#[derive(Default)]
struct World {
    now: u64,
    /// Deadlines someone waits for.
    deadlines: Vec<u64>,
}

type Shared = Rc<RefCell<World>>;

#[derive(Clone)]
struct SimClock(Shared);

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.0.borrow().now
    }
    async fn wait_until(&self, at_ms: u64) {
        poll_fn(|_| {
            let mut world = self.0.borrow_mut();
            if world.now >= at_ms {
                Poll::Ready(())
            } else {
                world.deadlines.push(at_ms);
                Poll::Pending
            }
        })
        .await
    }
}

/// A pin that reads high or low by the world's time: `edges` are (time,
/// level from then on), starting high (a pulled-up switch, open).
struct TimedPin {
    world: Shared,
    edges: Vec<(u64, bool)>,
}

impl TimedPin {
    fn high(&self) -> bool {
        let now = self.world.borrow().now;
        self.edges
            .iter()
            .rfind(|(at, _)| *at <= now)
            .is_none_or(|&(_, high)| high)
    }
    async fn wait_for(&self, high: bool) {
        poll_fn(|_| {
            if self.high() == high {
                return Poll::Ready(());
            }
            let now = self.world.borrow().now;
            if let Some(&(at, _)) = self.edges.iter().find(|(at, _)| *at > now) {
                self.world.borrow_mut().deadlines.push(at);
            }
            Poll::Pending
        })
        .await
    }
}

impl embedded_hal::digital::ErrorType for TimedPin {
    type Error = Infallible;
}
impl embedded_hal::digital::InputPin for TimedPin {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.high())
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.high())
    }
}
impl embedded_hal_async::digital::Wait for TimedPin {
    async fn wait_for_high(&mut self) -> Result<(), Infallible> {
        self.wait_for(true).await;
        Ok(())
    }
    async fn wait_for_low(&mut self) -> Result<(), Infallible> {
        self.wait_for(false).await;
        Ok(())
    }
    async fn wait_for_rising_edge(&mut self) -> Result<(), Infallible> {
        self.wait_for(false).await;
        self.wait_for(true).await;
        Ok(())
    }
    async fn wait_for_falling_edge(&mut self) -> Result<(), Infallible> {
        self.wait_for(true).await;
        self.wait_for(false).await;
        Ok(())
    }
    async fn wait_for_any_edge(&mut self) -> Result<(), Infallible> {
        let level = self.high();
        self.wait_for(!level).await;
        Ok(())
    }
}

fn world() -> Shared {
    Rc::new(RefCell::new(World::default()))
}

fn pin(world: &Shared, edges: &[(u64, bool)]) -> TimedPin {
    TimedPin {
        world: world.clone(),
        edges: edges.to_vec(),
    }
}

/// Runs `future` until it is done, or until time passes `limit` (then
/// `None`): whenever it is stuck, time jumps to the earliest deadline.
fn run_until<F: Future>(world: &Shared, limit: u64, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        let mut w = world.borrow_mut();
        let now = w.now;
        let next = w.deadlines.drain(..).filter(|&at| at > now).min();
        match next {
            Some(at) if at <= limit => w.now = at,
            _ => return None,
        }
    }
}

const CONFIG: SwitchConfig = SwitchConfig {
    active_low: true,
    debounce_ms: 30,
    short_max_ms: 1_500,
    long_ms: 3_000,
};

#[test]
fn a_tap_is_a_short_press_once_released() {
    let w = world();
    // Pressed at 100 with a bounce at 110, released at 600.
    let p = pin(&w, &[(100, false), (110, true), (115, false), (600, true)]);
    let mut button = GpioButton::new(p, SimClock(w.clone()), CONFIG);
    let press = run_until(&w, 10_000, button.wait_for_press()).unwrap();
    assert_eq!(press.unwrap(), Press::Short);
    // Reported after the release settled, not at the press.
    assert_eq!(w.borrow().now, 630);
}

#[test]
fn a_hold_is_a_long_press_while_still_held_and_its_release_says_nothing() {
    let w = world();
    let p = pin(
        &w,
        &[(100, false), (5_000, true), (6_000, false), (6_200, true)],
    );
    let mut button = GpioButton::new(p, SimClock(w.clone()), CONFIG);
    let press = run_until(&w, 10_000, button.wait_for_press()).unwrap();
    assert_eq!(press.unwrap(), Press::Long);
    assert_eq!(w.borrow().now, 3_100);
    // The next report is the tap at 6,000, not the release at 5,000.
    let press = run_until(&w, 10_000, button.wait_for_press()).unwrap();
    assert_eq!(press.unwrap(), Press::Short);
    assert_eq!(w.borrow().now, 6_230);
}

#[test]
fn a_press_between_short_and_long_reports_nothing() {
    let w = world();
    let p = pin(&w, &[(100, false), (2_000, true)]);
    let mut button = GpioButton::new(p, SimClock(w.clone()), CONFIG);
    assert!(run_until(&w, 10_000, button.wait_for_press()).is_none());
}

#[test]
fn a_press_survives_a_dropped_wait() {
    let w = world();
    let p = pin(&w, &[(100, false), (4_000, true)]);
    let mut button = GpioButton::new(p, SimClock(w.clone()), CONFIG);
    // The runtime's select drops the wait at 1,000, mid-press.
    assert!(run_until(&w, 1_000, button.wait_for_press()).is_none());
    w.borrow_mut().now = 1_000;
    // Waiting again still counts from 100: long at 3,100.
    let press = run_until(&w, 10_000, button.wait_for_press()).unwrap();
    assert_eq!(press.unwrap(), Press::Long);
    assert_eq!(w.borrow().now, 3_100);
}

#[test]
fn set_held_at_power_up_reads_pressed() {
    let w = world();
    let p = pin(&w, &[(0, false)]);
    let mut button = GpioButton::new(p, SimClock(w.clone()), CONFIG);
    assert!(button.is_pressed().unwrap());
}

#[test]
fn a_door_contact_reports_each_debounced_change() {
    let w = world();
    // Opens at 200 (bouncing), closes at 5,000.
    let p = pin(
        &w,
        &[(200, false), (205, true), (210, false), (5_000, true)],
    );
    let mut door = GpioContact::new(p, SimClock(w.clone()), CONFIG);
    assert!(!door.is_open().unwrap());
    let open = run_until(&w, 10_000, door.wait_for_change(false)).unwrap();
    assert!(open.unwrap());
    assert_eq!(w.borrow().now, 240);
    let open = run_until(&w, 10_000, door.wait_for_change(true)).unwrap();
    assert!(!open.unwrap());
    assert_eq!(w.borrow().now, 5_030);
}

#[test]
fn r_alm_4_usb_power_is_reported_present_and_gone_debounced() {
    let w = world();
    // Plugged in at 1,000 (bouncing), unplugged at 7,000; high while powered.
    let p = pin(
        &w,
        &[
            (0, false),
            (1_000, true),
            (1_004, false),
            (1_010, true),
            (7_000, false),
        ],
    );
    let mut usb = GpioUsbSense::new(p, SimClock(w.clone()), SwitchConfig::OPENS_HIGH);
    assert!(!usb.is_present().unwrap());
    let present = run_until(&w, 10_000, usb.wait_for_change(false)).unwrap();
    assert!(present.unwrap());
    assert_eq!(w.borrow().now, 1_040);
    assert!(usb.is_present().unwrap());
    let present = run_until(&w, 10_000, usb.wait_for_change(true)).unwrap();
    assert!(!present.unwrap());
    assert_eq!(w.borrow().now, 7_030);
}

#[test]
fn a_tamper_switch_left_open_reports_once() {
    let w = world();
    let p = pin(&w, &[(100, false), (8_000, true), (9_000, false)]);
    let mut tamper = GpioTrigger::new(p, SimClock(w.clone()), CONFIG);
    assert!(run_until(&w, 20_000, tamper.wait_for_trigger()).is_some());
    assert_eq!(w.borrow().now, 130);
    // Still open: nothing more until it closed and opened again.
    assert!(run_until(&w, 20_000, tamper.wait_for_trigger()).is_some());
    assert_eq!(w.borrow().now, 9_030);
}

#[test]
fn a_trigger_that_happened_while_no_one_waited_is_kept() {
    let w = world();
    let p = pin(&w, &[(100, false)]);
    let mut cylinder = GpioTrigger::new(p, SimClock(w.clone()), CONFIG);
    w.borrow_mut().now = 2_000;
    assert!(run_until(&w, 20_000, cylinder.wait_for_trigger()).is_some());
}

#[test]
fn the_siren_drives_its_pin() {
    let mut pin = PinMock::new(&[
        Pin::set(State::High),
        Pin::set(State::Low),
        Pin::set(State::Low),
        Pin::set(State::High),
    ]);
    let mut siren = GpioSiren::new(pin.clone(), false);
    siren.set(true).unwrap();
    siren.set(false).unwrap();
    let mut inverted = GpioSiren::new(pin.clone(), true);
    inverted.set(true).unwrap();
    inverted.set(false).unwrap();
    pin.done();
}
