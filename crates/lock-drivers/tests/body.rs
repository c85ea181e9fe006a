//! The lock body: H-bridge, end switches and over-current input against
//! embedded-hal-mock pins and PWM channels, the shunt's stall sampling
//! against a scripted ADC, and the movement logic of `LockBody` with
//! scripted sensors.
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

use common::{ManualClock, run};
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use embedded_hal_mock::eh1::pwm::{Mock as PwmMock, Transaction as Pwm};
use lock_drivers::battery::RawAdc;
use lock_drivers::body::{
    EndSwitch, EndSwitches, Error, HBridge, OverCurrent, PwmHBridge, ShuntStall,
};
use lock_hal::{
    BoltEnd, BoltPosition, BoltSensor, Error as _, ErrorKind, Motor, MotorDirection, StallSensor,
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
    bridge
        .drive(MotorDirection::Forward, BoltEnd::Locked)
        .unwrap();
    bridge
        .drive(MotorDirection::Reverse, BoltEnd::Unlocked)
        .unwrap();
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
    bridge
        .drive(MotorDirection::Forward, BoltEnd::Locked)
        .unwrap();
    bridge.coast().unwrap();
    let (in1, in2, sleep) = bridge.release();
    done([in1, in2, sleep].into_iter());
}

#[test]
fn swapped_polarity_turns_forward_into_0_1() {
    let in1 = pins(&[Pin::set(Low)]);
    let in2 = pins(&[Pin::set(High)]);
    let mut bridge = HBridge::new(in1, in2).swap_polarity(true);
    bridge
        .drive(MotorDirection::Forward, BoltEnd::Locked)
        .unwrap();
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
    bridge
        .drive(MotorDirection::Forward, BoltEnd::Locked)
        .unwrap();
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
// The stall from a shunt on an ADC.

/// The shunt's ADC input: scripted readings, each noted with the time it
/// was taken.
struct ShuntAdc {
    readings: VecDeque<Result<u16, ErrorKind>>,
    clock: ManualClock,
    taken_at: Vec<u64>,
}

impl RawAdc for ShuntAdc {
    type Error = ErrorKind;
    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        self.taken_at.push(self.clock.now());
        self.readings.pop_front().expect("no reading scripted")
    }
}

/// The ESP32-C3 board's threshold: 1.5 A through 0.1 Ω, amplified 10×.
const STALL_RAW: u16 = 2457;

fn shunt(readings: &[Result<u16, ErrorKind>]) -> ShuntStall<ShuntAdc, ManualClock> {
    shunt_on(&ManualClock::new(), readings)
}

fn shunt_on(
    clock: &ManualClock,
    readings: &[Result<u16, ErrorKind>],
) -> ShuntStall<ShuntAdc, ManualClock> {
    let adc = ShuntAdc {
        readings: readings.iter().copied().collect(),
        clock: clock.clone(),
        taken_at: Vec::new(),
    };
    ShuntStall::new(adc, clock.clone(), STALL_RAW)
}

/// Asserts every scripted reading was taken, at these times.
fn taken_at(stall: ShuntStall<ShuntAdc, ManualClock>, times: &[u64]) {
    let (adc, _) = stall.release();
    assert!(adc.readings.is_empty(), "readings left: {:?}", adc.readings);
    assert_eq!(adc.taken_at, times);
}

#[test]
fn three_readings_in_a_row_at_the_threshold_are_a_stall_read_every_5_ms() {
    let mut stall = shunt(&[Ok(300), Ok(STALL_RAW), Ok(STALL_RAW + 1), Ok(4095)]);
    run(stall.wait_for_stall()).unwrap();
    taken_at(stall, &[0, 5, 10, 15]);
}

#[test]
fn a_reading_below_the_threshold_starts_the_count_again() {
    let mut stall = shunt(&[
        Ok(STALL_RAW),
        Ok(STALL_RAW),
        Ok(STALL_RAW - 1),
        Ok(STALL_RAW),
        Ok(STALL_RAW),
        Ok(STALL_RAW),
    ]);
    run(stall.wait_for_stall()).unwrap();
    taken_at(stall, &[0, 5, 10, 15, 20, 25]);
}

#[test]
fn an_adc_failure_ends_the_wait_with_its_kind() {
    let mut stall = shunt(&[Ok(STALL_RAW), Err(ErrorKind::Timeout)]);
    let error = run(stall.wait_for_stall()).unwrap_err();
    assert_eq!(error, Error::Adc(ErrorKind::Timeout));
    assert_eq!(error.kind(), ErrorKind::Timeout);
    taken_at(stall, &[0, 5]);
}

#[test]
fn r_lck_3_one_end_switch_reads_its_end_or_off_it() {
    // Locked only, active low: closed (low) is locked, open is "between",
    // which the lock takes as unlocked.
    let mut sensor = EndSwitch::locked(
        pins(&[
            Pin::get(Low),
            Pin::get(High),
            Pin::get(Low),
            Pin::wait_for_state(High),
            Pin::get(High),
        ]),
        true,
    );
    assert_eq!(sensor.position(), Ok(BoltPosition::Locked));
    assert_eq!(sensor.position(), Ok(BoltPosition::Between));
    assert_eq!(
        run(sensor.wait_for_change(BoltPosition::Locked)),
        Ok(BoltPosition::Between)
    );
    sensor.release().done();

    // Unlocked only, active high.
    let mut sensor = EndSwitch::unlocked(pins(&[Pin::get(High), Pin::get(Low)]), false);
    assert_eq!(sensor.position(), Ok(BoltPosition::Unlocked));
    assert_eq!(sensor.position(), Ok(BoltPosition::Between));
    sensor.release().done();
}
