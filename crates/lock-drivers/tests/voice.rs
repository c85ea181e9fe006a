//! Voice modules: the JQ8900 against a scripted UART with the byte vectors
//! of PERIPHERALS.md written out, the WT588F against mock pins and a
//! checked delay.
// Tests panic on failure by design; clippy's test exemption does not reach
// the helper functions of an integration test file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{ManualClock, ScriptedUart, Uart, hex, run};
use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Delay};
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use lock_drivers::voice::jq8900::{self, FrameError};
use lock_drivers::voice::{
    BusyLevel, Error, Jq8900, Jq8900Config, Wt588f, Wt588fConfig, scale_volume,
};
use lock_hal::{Error as _, ErrorKind, Voice};

// From PERIPHERALS.md.
const PLAY_1: &str = "AA 07 02 00 01 B4";
const VOLUME_20: &str = "AA 13 01 14 D2";
const STOP: &str = "AA 04 00 AE";

fn jq(script: &[Uart], busy: &[Pin]) -> Jq8900<ScriptedUart, PinMock, ManualClock> {
    Jq8900::new(
        ScriptedUart::new(script),
        PinMock::new(busy),
        ManualClock::new(),
        Jq8900Config::default(),
    )
}

fn finish_jq(driver: Jq8900<ScriptedUart, PinMock, ManualClock>) {
    let (mut uart, mut busy, _) = driver.release();
    uart.done();
    busy.done();
}

#[test]
fn jq8900_frames_are_the_datasheet_bytes() {
    let cases = [
        (jq8900::Command::PlayTrack(1), PLAY_1),
        (jq8900::Command::Volume(20), VOLUME_20),
        (jq8900::Command::Stop, STOP),
        // Play (resume): AA + 02 + 00 = AC.
        (jq8900::Command::Play, "AA 02 00 AC"),
    ];
    for (command, expected) in cases {
        let mut out = [0u8; 8];
        let len = command.emit(&mut out).unwrap();
        assert_eq!(out[..len].to_vec(), hex(expected));
        assert_eq!(jq8900::Command::parse(&hex(expected)), Ok(command));
    }
}

#[test]
fn jq8900_bad_frames_are_refused() {
    use jq8900::Command;
    assert_eq!(
        Command::parse(&hex("AA 07 02 00 01 B5")),
        Err(FrameError::Checksum)
    );
    assert_eq!(
        Command::parse(&hex("AA 07 02 00 01")),
        Err(FrameError::Truncated)
    );
    assert_eq!(Command::parse(&hex("AB 04 00 AF")), Err(FrameError::Start));
    // Stop with a data byte: AA + 04 + 01 + 00 = AF.
    assert_eq!(
        Command::parse(&hex("AA 04 01 00 AF")),
        Err(FrameError::Malformed)
    );
    assert_eq!(Command::parse(&[]), Err(FrameError::Truncated));
}

#[test]
fn jq8900_plays_sets_volume_and_stops() {
    let mut voice = jq(
        &[
            Uart::Write(hex(PLAY_1)),
            Uart::Write(hex(VOLUME_20)),
            Uart::Write(hex(STOP)),
        ],
        &[],
    );
    run(voice.play(1)).unwrap();
    // 170 of 255 is 20 of 30.
    run(voice.set_volume(170)).unwrap();
    run(voice.stop()).unwrap();
    finish_jq(voice);
}

#[test]
fn jq8900_waits_for_busy_to_rise_then_fall() {
    let mut voice = jq(
        &[Uart::Write(hex(PLAY_1))],
        &[
            Pin::wait_for_state(State::High),
            Pin::wait_for_state(State::Low),
        ],
    );
    run(voice.play(1)).unwrap();
    run(voice.wait_until_done()).unwrap();
    finish_jq(voice);
}

#[test]
fn jq8900_refuses_clip_0() {
    let mut voice = jq(&[], &[]);
    let error = run(voice.play(0)).unwrap_err();
    assert_eq!(error, Error::Clip(0));
    assert_eq!(error.kind(), ErrorKind::Other);
    finish_jq(voice);
}

#[test]
fn volume_scaling_covers_the_range() {
    assert_eq!(scale_volume(0, 30), 0);
    assert_eq!(scale_volume(255, 30), 30);
    assert_eq!(scale_volume(255, 15), 15);
    assert_eq!(scale_volume(128, 30), 15);
}

/// The pin levels and delays of one WT588F byte: low 5 ms, 8 bits LSB
/// first (1 = high 600 µs / low 200 µs, 0 = high 200 µs / low 600 µs), high.
fn byte(value: u8, pins: &mut Vec<Pin>, delays: &mut Vec<Delay>) {
    pins.push(Pin::set(State::Low));
    delays.push(Delay::delay_ms(5));
    for bit in 0..8 {
        let (high, low) = if value & (1 << bit) != 0 {
            (600, 200)
        } else {
            (200, 600)
        };
        pins.push(Pin::set(State::High));
        delays.push(Delay::delay_us(high));
        pins.push(Pin::set(State::Low));
        delays.push(Delay::delay_us(low));
    }
    pins.push(Pin::set(State::High));
}

fn wt(pins: &[Pin], busy: &[Pin], delays: &[Delay]) -> Wt588f<PinMock, PinMock, CheckedDelay> {
    let mut all = vec![Pin::set(State::High)]; // idle high at start
    all.extend_from_slice(pins);
    Wt588f::new(
        PinMock::new(&all),
        PinMock::new(busy),
        CheckedDelay::new(delays),
        Wt588fConfig::default(),
    )
    .unwrap()
}

fn finish_wt(driver: Wt588f<PinMock, PinMock, CheckedDelay>) {
    let (mut data, mut busy, mut delay) = driver.release();
    data.done();
    busy.done();
    delay.done();
}

#[test]
fn wt588f_sends_a_clip_address_bit_by_bit() {
    let (mut pins, mut delays) = (vec![], vec![]);
    byte(0x05, &mut pins, &mut delays);
    let mut voice = wt(&pins, &[], &delays);
    run(voice.play(5)).unwrap();
    finish_wt(voice);
}

#[test]
fn wt588f_stop_is_fe_and_volume_is_e0_to_ef() {
    let (mut pins, mut delays) = (vec![], vec![]);
    byte(0xFE, &mut pins, &mut delays);
    byte(0xEF, &mut pins, &mut delays);
    byte(0xE0, &mut pins, &mut delays);
    let mut voice = wt(&pins, &[], &delays);
    run(voice.stop()).unwrap();
    run(voice.set_volume(255)).unwrap();
    run(voice.set_volume(0)).unwrap();
    finish_wt(voice);
}

#[test]
fn wt588f_chains_clips_with_f3() {
    let (mut pins, mut delays) = (vec![], vec![]);
    byte(0x01, &mut pins, &mut delays);
    delays.push(Delay::delay_ms(2));
    byte(0xF3, &mut pins, &mut delays);
    delays.push(Delay::delay_ms(2));
    byte(0x02, &mut pins, &mut delays);
    let mut voice = wt(&pins, &[], &delays);
    run(voice.play_sequence(&[1, 2])).unwrap();
    finish_wt(voice);
}

#[test]
fn wt588f_waits_for_busy_low_then_high() {
    let (mut pins, mut delays) = (vec![], vec![]);
    byte(0x07, &mut pins, &mut delays);
    let mut voice = wt(
        &pins,
        &[
            Pin::wait_for_state(State::Low),
            Pin::wait_for_state(State::High),
        ],
        &delays,
    );
    run(voice.play(7)).unwrap();
    run(voice.wait_until_done()).unwrap();
    finish_wt(voice);
}

#[test]
fn wt588f_refuses_addresses_that_are_commands() {
    let mut voice = wt(&[], &[], &[]);
    assert_eq!(run(voice.play(0xE0)), Err(Error::Clip(0xE0)));
    assert_eq!(run(voice.play(300)), Err(Error::Clip(300)));
    finish_wt(voice);
    assert_eq!(BusyLevel::Low, Wt588fConfig::default().busy);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn command() -> impl Strategy<Value = jq8900::Command> {
        prop_oneof![
            Just(jq8900::Command::Play),
            Just(jq8900::Command::Stop),
            any::<u16>().prop_map(jq8900::Command::PlayTrack),
            any::<u8>().prop_map(jq8900::Command::Volume),
        ]
    }

    proptest! {
        #[test]
        fn jq8900_commands_round_trip(command in command()) {
            let mut out = [0u8; 8];
            let len = command.emit(&mut out).unwrap();
            prop_assert_eq!(jq8900::Command::parse(&out[..len]), Ok(command));
        }

        #[test]
        fn jq8900_a_changed_byte_is_refused(command in command(), at in any::<prop::sample::Index>(), flip in 1u8..) {
            let mut out = [0u8; 8];
            let len = command.emit(&mut out).unwrap();
            let at = at.index(len);
            out[at] ^= flip;
            prop_assert_ne!(jq8900::Command::parse(&out[..len]), Ok(command));
        }

        #[test]
        fn jq8900_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = jq8900::Command::parse(&bytes);
        }
    }
}
