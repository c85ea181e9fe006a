//! The lock body: H-bridge, end switches and over-current input against
//! embedded-hal-mock pins and PWM channels, and the movement logic of
//! `LockBody` with scripted sensors.
// Tests panic on failure by design; clippy's test exemption does not reach
// the helper functions of an integration test file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::VecDeque;
use std::future::pending;

use common::{ManualClock, run};
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use embedded_hal_mock::eh1::pwm::{Mock as PwmMock, Transaction as Pwm};
use lock_drivers::body::{
    EndSwitches, Error, HBridge, LockBody, OverCurrent, PwmHBridge, Travel, TravelConfig,
    TravelError,
};
use lock_hal::{
    BoltPosition, BoltSensor, Error as _, ErrorKind, ErrorType, Motor, MotorDirection, StallSensor,
};

use State::{High, Low};

fn pins(levels: &[Pin]) -> PinMock {
    PinMock::new(levels)
}

fn done(mut pins: impl Iterator<Item = PinMock>) {
    for pin in pins.by_ref() {
        let mut pin = pin;
        pin.done();
    }
}

#[test]
fn bridge_truth_table_coast_first_on_every_change() {
    // IN1/IN2 = 1/0 forward, 0/1 reverse, 1/1 brake, 0/0 coast.
    let in1 = pins(&[Pin::set(High), Pin::set(Low), Pin::set(High), Pin::set(Low)]);
    let in2 = pins(&[Pin::set(Low), Pin::set(High), Pin::set(High), Pin::set(Low)]);
    let mut bridge = HBridge::new(in1, in2);
    bridge.drive(MotorDirection::Forward).unwrap();
    bridge.drive(MotorDirection::Reverse).unwrap();
    bridge.brake().unwrap();
    bridge.coast().unwrap();
    let (in1, in2, _) = bridge.release();
    done([in1, in2].into_iter());
}

#[test]
fn bridge_wakes_to_drive_and_sleeps_when_coasting() {
    let in1 = pins(&[Pin::set(High), Pin::set(Low)]);
    let in2 = pins(&[Pin::set(Low), Pin::set(Low)]);
    let sleep = pins(&[Pin::set(High), Pin::set(Low)]);
    let mut bridge = HBridge::with_sleep(in1, in2, sleep);
    bridge.drive(MotorDirection::Forward).unwrap();
    bridge.coast().unwrap();
    let (in1, in2, sleep) = bridge.release();
    done([in1, in2, sleep].into_iter());
}

#[test]
fn swapped_polarity_turns_forward_into_0_1() {
    let in1 = pins(&[Pin::set(Low)]);
    let in2 = pins(&[Pin::set(High)]);
    let mut bridge = HBridge::new(in1, in2).swap_polarity(true);
    bridge.drive(MotorDirection::Forward).unwrap();
    let (in1, in2, _) = bridge.release();
    done([in1, in2].into_iter());
}

#[test]
fn pwm_bridge_drives_at_its_duty_brakes_full_and_coasts_off() {
    let in1 = PwmMock::new(&[
        Pwm::max_duty_cycle(1000),
        Pwm::set_duty_cycle(800),
        Pwm::max_duty_cycle(1000),
        Pwm::set_duty_cycle(1000),
        Pwm::set_duty_cycle(0),
    ]);
    let in2 = PwmMock::new(&[
        Pwm::set_duty_cycle(0),
        Pwm::max_duty_cycle(1000),
        Pwm::set_duty_cycle(1000),
        Pwm::set_duty_cycle(0),
    ]);
    let mut bridge = PwmHBridge::new(in1, in2, 80);
    bridge.drive(MotorDirection::Forward).unwrap();
    bridge.brake().unwrap();
    bridge.coast().unwrap();
    let (mut in1, mut in2) = bridge.release();
    in1.done();
    in2.done();
}

fn switches(locked: &[Pin], unlocked: &[Pin]) -> EndSwitches<PinMock, PinMock> {
    EndSwitches::new(pins(locked), pins(unlocked), true)
}

#[test]
fn end_switches_read_the_bolt_position() {
    // Active low: a closed switch reads low.
    let mut sensor = switches(
        &[Pin::get(Low), Pin::get(High), Pin::get(High), Pin::get(Low)],
        &[Pin::get(High), Pin::get(Low), Pin::get(High), Pin::get(Low)],
    );
    assert_eq!(sensor.position(), Ok(BoltPosition::Locked));
    assert_eq!(sensor.position(), Ok(BoltPosition::Unlocked));
    assert_eq!(sensor.position(), Ok(BoltPosition::Between));
    let fault = sensor.position().unwrap_err();
    assert_eq!(fault, Error::BothEnds);
    assert_eq!(fault.kind(), ErrorKind::Device);
    let (locked, unlocked) = sensor.release();
    done([locked, unlocked].into_iter());
}

#[test]
fn end_switches_wait_by_level_for_the_position_to_change() {
    // Locked; the wait arms on the locked switch going high (open); then
    // the bolt reads between.
    let mut sensor = switches(
        &[Pin::get(Low), Pin::wait_for_state(High), Pin::get(High)],
        &[Pin::get(High), Pin::get(High)],
    );
    assert_eq!(
        run(sensor.wait_for_change(BoltPosition::Locked)),
        Ok(BoltPosition::Between)
    );
    let (locked, unlocked) = sensor.release();
    done([locked, unlocked].into_iter());
}

#[test]
fn over_current_waits_for_its_active_level() {
    let mut stall = OverCurrent::new(pins(&[Pin::wait_for_state(High)]), false);
    run(stall.wait_for_stall()).unwrap();
    done([stall.release()].into_iter());
}

// ---------------------------------------------------------------------------
// Movements, with the real bridge on mock pins and scripted sensors.

/// A bolt that moves through scripted positions, one per wait; silent when
/// the script is out.
struct ScriptedBolt {
    now: BoltPosition,
    next: VecDeque<Result<BoltPosition, ErrorKind>>,
}

impl ErrorType for ScriptedBolt {
    type Error = ErrorKind;
}

impl BoltSensor for ScriptedBolt {
    fn position(&mut self) -> Result<BoltPosition, ErrorKind> {
        Ok(self.now)
    }
    async fn wait_for_change(&mut self, _last: BoltPosition) -> Result<BoltPosition, ErrorKind> {
        match self.next.pop_front() {
            Some(next) => {
                self.now = next?;
                Ok(self.now)
            }
            None => pending().await,
        }
    }
}

/// An over-current input that fires as soon as it is listened to, or never.
struct Stall(bool);

impl ErrorType for Stall {
    type Error = ErrorKind;
}

impl StallSensor for Stall {
    async fn wait_for_stall(&mut self) -> Result<(), ErrorKind> {
        if self.0 { Ok(()) } else { pending().await }
    }
}

type Body = LockBody<HBridge<PinMock, PinMock>, ScriptedBolt, Stall, ManualClock>;

/// A body driving in reverse, then braking and coasting.
fn body(
    from: BoltPosition,
    moves: Vec<Result<BoltPosition, ErrorKind>>,
    stall: bool,
) -> (Body, ManualClock) {
    let in1 = pins(&[Pin::set(Low), Pin::set(High), Pin::set(Low)]);
    let in2 = pins(&[Pin::set(High), Pin::set(High), Pin::set(Low)]);
    let clock = ManualClock::new();
    let body = LockBody::new(
        HBridge::new(in1, in2),
        ScriptedBolt {
            now: from,
            next: moves.into(),
        },
        Stall(stall),
        clock.clone(),
        TravelConfig::default(),
    );
    (body, clock)
}

fn finish(body: Body) {
    let (bridge, _, _, _) = body.release();
    let (in1, in2, _) = bridge.release();
    done([in1, in2].into_iter());
}

#[test]
fn r_lck_3_reaching_the_end_switch_stops_brakes_then_coasts() {
    let (mut body, clock) = body(
        BoltPosition::Locked,
        vec![Ok(BoltPosition::Between), Ok(BoltPosition::Unlocked)],
        false,
    );
    assert_eq!(
        run(body.drive_to(BoltPosition::Unlocked, MotorDirection::Reverse)),
        Ok(Travel::Reached(BoltPosition::Unlocked))
    );
    assert_eq!(clock.now(), 100, "reached at once, then 100 ms of braking");
    finish(body);
}

#[test]
fn r_lck_3_a_stall_after_the_inrush_blanking_is_a_jam() {
    // The comparator fires from the start (inrush), but is only heard after
    // 100 ms of blanking; then 100 ms of braking.
    let (mut body, clock) = body(BoltPosition::Locked, vec![Ok(BoltPosition::Between)], true);
    assert_eq!(
        run(body.drive_to(BoltPosition::Unlocked, MotorDirection::Reverse)),
        Ok(Travel::Stalled)
    );
    assert_eq!(clock.now(), 200);
    finish(body);
}

#[test]
fn r_lck_3_no_end_position_within_the_travel_time_is_a_timeout() {
    let (mut body, clock) = body(BoltPosition::Locked, vec![], false);
    assert_eq!(
        run(body.drive_to(BoltPosition::Unlocked, MotorDirection::Reverse)),
        Ok(Travel::TimedOut)
    );
    assert_eq!(clock.now(), 5_100);
    finish(body);
}

#[test]
fn a_sensor_failure_still_stops_the_motor() {
    let (mut body, _) = body(BoltPosition::Locked, vec![Err(ErrorKind::Bus)], false);
    let error = run(body.drive_to(BoltPosition::Unlocked, MotorDirection::Reverse)).unwrap_err();
    assert_eq!(error, TravelError::Sensor(ErrorKind::Bus));
    assert_eq!(error.kind(), ErrorKind::Bus);
    finish(body);
}
