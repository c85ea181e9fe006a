//! The BS8116A-3 keypad against embedded-hal-mock's I2C and pin mocks, with
//! the byte vectors of PERIPHERALS.md written out.
// Tests panic on failure by design; clippy's test exemption does not reach
// the helper functions of an integration test file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{ManualClock, hex, run};
use embedded_hal::i2c::ErrorKind as I2cErrorKind;
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as I2c};
use lock_drivers::keypad::{
    Bs8116a, Config, DEFAULT_KEYS, Error, GpioBacklight, Settings, key_bitmap,
};
use lock_hal::{Backlight, Error as _, ErrorKind, Key, KeyEvent, Keypad};

// From PERIPHERALS.md.
const SETTINGS_WRITE: &str = "B0 00 00 83 F3 D8 08 08 08 08 08 08 08 08 08 08 08 08 08 08 08 08 CE";

fn keys(bytes: &str) -> I2c {
    I2c::write_read(0x50, vec![0x08], hex(bytes))
}

type Driver = Bs8116a<I2cMock, PinMock, ManualClock>;

fn keypad(i2c: &[I2c], irq: &[Pin], config: Config) -> (Driver, ManualClock) {
    let clock = ManualClock::new();
    let driver = Bs8116a::new(I2cMock::new(i2c), PinMock::new(irq), clock.clone(), config);
    (driver, clock)
}

fn finish(driver: Driver) {
    let (mut i2c, mut irq, _) = driver.release();
    i2c.done();
    irq.done();
}

#[test]
fn the_settings_block_and_its_checksum() {
    assert_eq!(Settings::DEFAULT.to_bytes().to_vec(), hex(SETTINGS_WRITE));
    assert_eq!(Settings::DEFAULT.checksum(), 0xCE);
}

#[test]
fn init_writes_the_settings_block() {
    let (mut pad, _) = keypad(
        &[I2c::write(0x50, hex(SETTINGS_WRITE))],
        &[],
        Config::default(),
    );
    pad.init().unwrap();
    finish(pad);
}

#[test]
fn the_key_bitmap_is_little_endian_bit_0_is_key_1() {
    // From PERIPHERALS.md: read [01 00] → key 1 pressed.
    assert_eq!(key_bitmap([0x01, 0x00]), 0x0001);
    assert_eq!(key_bitmap([0x00, 0x20]), 1 << 13);
    let (mut pad, _) = keypad(&[keys("01 00")], &[], Config::default());
    assert_eq!(pad.read_keys(), Ok(1));
    finish(pad);
}

#[test]
fn a_press_is_debounced_and_reported_on_release() {
    // IRQ at 0 ms: key 1 read; again at 20 ms (debounced: down); polled at
    // 70 ms: up; again at 90 ms: released → Press(1).
    let (mut pad, clock) = keypad(
        &[keys("01 00"), keys("01 00"), keys("00 00"), keys("00 00")],
        &[Pin::wait_for_state(State::Low)],
        Config::default(),
    );
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(1)))
    );
    assert_eq!(clock.now(), 90);
    finish(pad);
}

#[test]
fn a_bounce_shorter_than_the_debounce_is_ignored() {
    // Key 2 read once, then gone at the debounce read: nothing counted. Then
    // the ✓ key (K12) is pressed properly.
    let (mut pad, _) = keypad(
        &[
            keys("02 00"),
            keys("00 00"),
            keys("00 08"),
            keys("00 08"),
            keys("00 00"),
            keys("00 00"),
        ],
        &[
            Pin::wait_for_state(State::Low),
            Pin::wait_for_state(State::Low),
        ],
        Config::default(),
    );
    assert_eq!(run(pad.wait_for_event()), Ok(KeyEvent::Press(Key::Ok)));
    finish(pad);
}

#[test]
fn a_key_held_is_a_hold_and_no_press_follows() {
    let config = Config {
        hold_ms: 100,
        ..Config::default()
    };
    // Key 10 (digit 0) touched at 0, confirmed at 20, polled at 70, held at
    // 100 (the hold counts from the first contact). Released: read at 150
    // and 170, no press. Then key 1 pressed.
    let (mut pad, clock) = keypad(
        &[
            keys("00 02"),
            keys("00 02"),
            keys("00 02"),
            keys("00 02"),
            keys("00 00"),
            keys("00 00"),
            keys("01 00"),
            keys("01 00"),
            keys("00 00"),
            keys("00 00"),
        ],
        &[
            Pin::wait_for_state(State::Low),
            Pin::wait_for_state(State::Low),
        ],
        config,
    );
    assert_eq!(run(pad.wait_for_event()), Ok(KeyEvent::Hold(Key::Digit(0))));
    assert_eq!(clock.now(), 100);
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(1)))
    );
    finish(pad);
}

#[test]
fn two_keys_released_together_queue_two_presses() {
    let (mut pad, _) = keypad(
        &[keys("03 00"), keys("03 00"), keys("00 00"), keys("00 00")],
        &[Pin::wait_for_state(State::Low)],
        Config::default(),
    );
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(1)))
    );
    // The second comes from the queue: no bus traffic.
    assert_eq!(
        run(pad.wait_for_event()),
        Ok(KeyEvent::Press(Key::Digit(2)))
    );
    finish(pad);
}

#[test]
fn unmapped_electrodes_are_ignored() {
    // K15 touched (unused in the default layout), then K14 (the bell).
    let (mut pad, _) = keypad(
        &[
            keys("00 40"),
            keys("00 20"),
            keys("00 20"),
            keys("00 00"),
            keys("00 00"),
        ],
        &[
            Pin::wait_for_state(State::Low),
            Pin::wait_for_state(State::Low),
        ],
        Config::default(),
    );
    assert_eq!(run(pad.wait_for_event()), Ok(KeyEvent::Press(Key::Bell)));
    finish(pad);
}

#[test]
fn a_bus_error_is_reported_as_a_bus_error() {
    let (mut pad, _) = keypad(
        &[keys("00 00").with_error(I2cErrorKind::Other)],
        &[Pin::wait_for_state(State::Low)],
        Config::default(),
    );
    let error = run(pad.wait_for_event()).unwrap_err();
    assert_eq!(error, Error::I2c(I2cErrorKind::Other));
    assert_eq!(error.kind(), ErrorKind::Bus);
    finish(pad);
}

#[test]
fn a_custom_layout_maps_electrodes_to_keys() {
    let mut layout = [None; 16];
    layout[4] = Some(Key::Back);
    let (mut pad, _) = keypad(
        &[keys("10 00"), keys("10 00"), keys("00 00"), keys("00 00")],
        &[Pin::wait_for_state(State::Low)],
        Config {
            keys: layout,
            ..Config::default()
        },
    );
    assert_eq!(run(pad.wait_for_event()), Ok(KeyEvent::Press(Key::Back)));
    finish(pad);
    assert_eq!(DEFAULT_KEYS[9], Some(Key::Digit(0)));
}

#[test]
fn per_key_backlights_light_exactly_the_mask() {
    let pins = [
        PinMock::new(&[Pin::set(State::High), Pin::set(State::Low)]),
        PinMock::new(&[Pin::set(State::Low), Pin::set(State::Low)]),
        PinMock::new(&[Pin::set(State::High), Pin::set(State::Low)]),
    ];
    let mut backlight = GpioBacklight::per_key(pins);
    backlight.set(0b101).unwrap();
    backlight.set(0).unwrap();
    for mut pin in backlight.release() {
        pin.done();
    }
}

#[test]
fn grouped_active_low_backlights() {
    // One LED string for the digits, one for the other keys, lit low.
    let pins = [
        PinMock::new(&[Pin::set(State::Low)]),
        PinMock::new(&[Pin::set(State::High)]),
    ];
    let mut backlight = GpioBacklight::grouped(pins, [0x03FF, 0x3C00], true);
    backlight.set(1 << 3).unwrap();
    for mut pin in backlight.release() {
        pin.done();
    }
}
