//! Battery conversion with the vector of PERIPHERALS.md, and the divider
//! gauge against a mock enable pin, a checked delay and a scripted ADC.
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

use common::run;
use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Delay};
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use lock_drivers::battery::{
    ALKALINE_4AA, Chip, Config, Divider, DividerBattery, Error, LI_ION_1S, RawAdc, millivolts,
    percent, stm32_vdda_mv,
};
use lock_hal::{Battery, Error as _, ErrorKind};

#[test]
fn any_adc_any_divider_any_full_scale() {
    // A 10-bit ADC on a 1.8 V reference behind a 10 k / 4.7 k divider
    // (battery = pin × 14.7 / 4.7): half scale is 900 mV at the pin.
    let chip = Chip::Any {
        full_scale_mv: 1_800,
        max_raw: 1023,
    };
    let divider = Divider {
        numerator: 147,
        denominator: 47,
    };
    assert_eq!(millivolts(chip, 1023, divider), 1_800 * 147 / 47);
    assert_eq!(
        millivolts(chip, 512, divider),
        512 * 1_800 * 147 / (1023 * 47)
    );
    // Above the resolution is full scale; a zero resolution cannot divide
    // by zero.
    assert_eq!(
        millivolts(chip, 4095, divider),
        millivolts(chip, 1023, divider)
    );
    let broken = Chip::Any {
        full_scale_mv: 1_800,
        max_raw: 0,
    };
    assert_eq!(millivolts(broken, 7, Divider::HALF), 3_600);
}

#[test]
fn esp32c3_vector_from_peripherals_md() {
    // C3 raw 2867 × 2500 / 4095 × 2 = 3500 mV.
    assert_eq!(millivolts(Chip::Esp32c3, 2867, Divider::HALF), 3500);
    assert_eq!(millivolts(Chip::Esp32c3, 4095, Divider::HALF), 5000);
    assert_eq!(millivolts(Chip::Esp32c3, 0, Divider::HALF), 0);
}

#[test]
fn rp2040_pico_vsys_over_three() {
    // 2068 × 3300 × 3 / 4095 = 4999.5…: USB's 5 V on VSYS.
    assert_eq!(millivolts(Chip::Rp2040, 2068, Divider::THIRD), 4999);
}

#[test]
fn stm32_with_vrefint_calibration() {
    // VREFINT_CAL 1655 taken at 3.0 V, read now as 1489: VDDA =
    // 3000 × 1655 / 1489 = 3334.4… mV. Battery pin 2048 through 1:2:
    // 2048 × 3334 × 2 / 4095 = 3334.8… mV.
    let vdda = stm32_vdda_mv(1655, 1489, 3000).unwrap();
    assert_eq!(vdda, 3334);
    assert_eq!(
        millivolts(Chip::Stm32 { vdda_mv: vdda }, 2048, Divider::HALF),
        3334
    );
    assert_eq!(stm32_vdda_mv(1655, 0, 3000), None);
}

#[test]
fn raw_values_past_full_scale_are_full_scale() {
    assert_eq!(
        millivolts(Chip::Esp32c3, u16::MAX, Divider::HALF),
        millivolts(Chip::Esp32c3, 4095, Divider::HALF)
    );
}

#[test]
fn percent_follows_the_curve() {
    assert_eq!(percent(4300, &LI_ION_1S), 100);
    assert_eq!(percent(4200, &LI_ION_1S), 100);
    assert_eq!(percent(3800, &LI_ION_1S), 50);
    assert_eq!(percent(3750, &LI_ION_1S), 41); // halfway from 32 to 50
    assert_eq!(percent(3500, &LI_ION_1S), 5);
    assert_eq!(percent(3000, &LI_ION_1S), 0);
    assert_eq!(percent(5400, &ALKALINE_4AA), 65);
    assert_eq!(percent(1000, &[]), 0);
}

/// An ADC handing out scripted readings.
struct ScriptedAdc(VecDeque<Result<u16, ErrorKind>>);

impl RawAdc for ScriptedAdc {
    type Error = ErrorKind;
    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        self.0.pop_front().expect("no reading scripted")
    }
}

fn config() -> Config<'static> {
    Config {
        chip: Chip::Esp32c3,
        divider: Divider::HALF,
        curve: &LI_ION_1S,
        samples: 4,
        settle_ms: 2,
    }
}

#[test]
fn a_measurement_switches_the_divider_on_averages_and_off() {
    let enable = PinMock::new(&[Pin::set(State::High), Pin::set(State::Low)]);
    let delay = CheckedDelay::new(&[Delay::delay_ms(2)]);
    // Readings around 2867 average to it: 3500 mV, 5 %.
    let adc = ScriptedAdc(VecDeque::from([Ok(2865), Ok(2869), Ok(2866), Ok(2868)]));
    let mut gauge = DividerBattery::new(adc, enable, delay, config());
    assert_eq!(run(gauge.measure_mv()), Ok(3500));
    let (adc, mut enable, mut delay) = gauge.release();
    assert!(adc.0.is_empty());
    enable.done();
    delay.done();
}

#[test]
fn the_battery_trait_gives_percent() {
    let enable = PinMock::new(&[Pin::set(State::High), Pin::set(State::Low)]);
    let delay = CheckedDelay::new(&[Delay::delay_ms(2)]);
    // 3276 × 5000 / 4095 = 4000 mV: 78 %.
    let adc = ScriptedAdc(VecDeque::from([Ok(3276); 4]));
    let mut gauge = DividerBattery::new(adc, enable, delay, config());
    assert_eq!(run(gauge.measure()), Ok(78));
    let (_, mut enable, mut delay) = gauge.release();
    enable.done();
    delay.done();
}

#[test]
fn an_adc_failure_still_switches_the_divider_off() {
    let enable = PinMock::new(&[Pin::set(State::High), Pin::set(State::Low)]);
    let delay = CheckedDelay::new(&[Delay::delay_ms(2)]);
    let adc = ScriptedAdc(VecDeque::from([Ok(2867), Err(ErrorKind::Timeout)]));
    let mut gauge = DividerBattery::new(adc, enable, delay, config());
    let error = run(gauge.measure()).unwrap_err();
    assert_eq!(error, Error::Adc(ErrorKind::Timeout));
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let (_, mut enable, mut delay) = gauge.release();
    enable.done();
    delay.done();
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn conversion_is_monotonic_and_bounded(raw in 0u16..4095) {
            let low = millivolts(Chip::Esp32c3, raw, Divider::HALF);
            let high = millivolts(Chip::Esp32c3, raw + 1, Divider::HALF);
            prop_assert!(low <= high);
            prop_assert!(high <= 5000);
        }

        #[test]
        fn percent_is_monotonic_and_at_most_100(mv in 0u32..7000) {
            prop_assert!(percent(mv, &LI_ION_1S) <= percent(mv + 1, &LI_ION_1S));
            prop_assert!(percent(mv, &ALKALINE_4AA) <= 100);
        }
    }
}
