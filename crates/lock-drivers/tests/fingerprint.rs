//! The EF 01 fingerprint driver against a scripted UART, with the byte
//! vectors of PERIPHERALS.md written out.
// Tests panic on failure by design; clippy's test exemption does not reach
// the helper functions of an integration test file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{EnablePin, Levels, ManualClock, ScriptedUart, Uart, hex, run};
use embedded_hal_mock::eh1::MockError;
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use lock_drivers::fingerprint::wire::{
    self, Ack, Aura, Code, Command, Frame, FrameReader, PacketId, Repr, SearchHit,
};
use lock_drivers::fingerprint::{Config, Error, Fingerprint, Wakeup};
use lock_hal::{
    Biometric, EnrollRefusal, EnrollStatus, EnrollStep, Error as _, ErrorKind, Identification,
    SampleSensor, TemplateId,
};

// Commands, from PERIPHERALS.md (✓ = matches public drivers' tests).
const GEN_IMG: &str = "EF 01 FF FF FF FF 01 00 03 01 00 05"; // ✓
const IMG2TZ_1: &str = "EF 01 FF FF FF FF 01 00 04 02 01 00 08"; // ✓
const REG_MODEL: &str = "EF 01 FF FF FF FF 01 00 03 05 00 09"; // ✓
const STORE_1_5: &str = "EF 01 FF FF FF FF 01 00 06 06 01 00 05 00 13";
const SEARCH_1_0_200: &str = "EF 01 FF FF FF FF 01 00 08 04 01 00 00 00 C8 00 D6";
const DELETE_5_1: &str = "EF 01 FF FF FF FF 01 00 07 0C 00 05 00 01 00 1A";
const EMPTY: &str = "EF 01 FF FF FF FF 01 00 03 0D 00 11";
const VFY_PWD_0: &str = "EF 01 FF FF FF FF 01 00 07 13 00 00 00 00 00 1B"; // ✓
const AURA_BREATHE_RED: &str = "EF 01 FF FF FF FF 01 00 07 35 01 AA 01 05 00 EE"; // ✓
// Acks, from PERIPHERALS.md.
const ACK_OK: &str = "EF 01 FF FF FF FF 07 00 03 00 00 0A"; // ✓
const ACK_NO_FINGER: &str = "EF 01 FF FF FF FF 07 00 03 02 00 0C";
const ACK_HIT_5_SCORE_100: &str = "EF 01 FF FF FF FF 07 00 07 00 00 05 00 64 00 77";
const ACK_SEARCH_MISS: &str = "EF 01 FF FF FF FF 07 00 07 09 00 00 00 00 00 17";
// Derived by the same rule (SUM = PID + LEN + Σ payload), worked out here.
// Img2Tz(2): 01 + 00 + 04 + 02 + 02 = 09.
const IMG2TZ_2: &str = "EF 01 FF FF FF FF 01 00 04 02 02 00 09";
// Ack 27 (already exists): 07 + 00 + 03 + 27 = 31.
const ACK_EXISTS: &str = "EF 01 FF FF FF FF 07 00 03 27 00 31";
// Ack 1F (library full): 07 + 03 + 1F = 29.
const ACK_FULL: &str = "EF 01 FF FF FF FF 07 00 03 1F 00 29";
// Ack 13 (wrong password): 07 + 03 + 13 = 1D.
const ACK_WRONG_PASSWORD: &str = "EF 01 FF FF FF FF 07 00 03 13 00 1D";
// Ack 06 (messy image): 07 + 03 + 06 = 10.
const ACK_MESSY: &str = "EF 01 FF FF FF FF 07 00 03 06 00 10";
// Ack 0A (enroll mismatch): 07 + 03 + 0A = 14.
const ACK_MISMATCH: &str = "EF 01 FF FF FF FF 07 00 03 0A 00 14";
// TemplateNum: 01 + 03 + 1D = 21; its ack with 3 templates: 07 + 05 + 03 = 0F.
const TEMPLATE_NUM: &str = "EF 01 FF FF FF FF 01 00 03 1D 00 21";
const ACK_COUNT_3: &str = "EF 01 FF FF FF FF 07 00 05 00 00 03 00 0F";
// HandShake: 01 + 03 + 40 = 44.
const HANDSHAKE: &str = "EF 01 FF FF FF FF 01 00 03 40 00 44";

fn w(frame: &str) -> Uart {
    Uart::Write(hex(frame))
}

fn r(frame: &str) -> Uart {
    Uart::Read(hex(frame))
}

type Driver = Fingerprint<ScriptedUart, ManualClock>;

/// A driver on a scripted UART, with short capture windows so the polling
/// loops are a few steps long.
fn driver(script: &[Uart]) -> (Driver, ScriptedUart, ManualClock) {
    driver_with(script, |uart| uart)
}

fn driver_with(
    script: &[Uart],
    shape: impl FnOnce(ScriptedUart) -> ScriptedUart,
) -> (Driver, ScriptedUart, ManualClock) {
    let uart = shape(ScriptedUart::new(script));
    let clock = ManualClock::new();
    let config = Config {
        present_timeout_ms: 300,
        lift_timeout_ms: 300,
        ..Config::default()
    };
    let driver = Fingerprint::new(uart.clone(), clock.clone(), config);
    (driver, uart, clock)
}

fn finish(driver: Driver) {
    let (mut uart, _clock) = driver.release();
    uart.done();
}

// ---------------------------------------------------------------------------
// Codec against the vectors.

#[test]
fn commands_emit_the_datasheet_bytes() {
    let cases = [
        (Command::GenImg, GEN_IMG),
        (Command::Img2Tz { buffer: 1 }, IMG2TZ_1),
        (Command::RegModel, REG_MODEL),
        (Command::Store { buffer: 1, page: 5 }, STORE_1_5),
        (
            Command::Search {
                buffer: 1,
                start: 0,
                count: 200,
            },
            SEARCH_1_0_200,
        ),
        (Command::DeleteChar { page: 5, count: 1 }, DELETE_5_1),
        (Command::Empty, EMPTY),
        (Command::VfyPwd { password: 0 }, VFY_PWD_0),
        (
            Command::AuraLed(Aura {
                control: 0x01,
                speed: 0xAA,
                colour: 0x01,
                count: 5,
            }),
            AURA_BREATHE_RED,
        ),
    ];
    for (command, expected) in cases {
        let mut out = [0u8; 32];
        let len = wire::emit_command(wire::DEFAULT_ADDRESS, &command, &mut out).unwrap();
        assert_eq!(&out[..len], &hex(expected)[..], "{command:?}");
        // And back.
        let bytes = hex(expected);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        let repr = Repr::parse(&frame).unwrap();
        assert_eq!(repr.packet_id, PacketId::Command);
        assert_eq!(Command::parse(repr.payload).unwrap(), command);
    }
}

#[test]
fn acks_parse_from_the_datasheet_bytes() {
    let parse = |text: &str| {
        let bytes = hex(text);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        let repr = Repr::parse(&frame).unwrap();
        assert_eq!(repr.packet_id, PacketId::Ack);
        assert_eq!(repr.address, 0xFFFF_FFFF);
        let ack = Ack::parse(repr.payload).unwrap();
        (ack.code, ack.data.to_vec())
    };
    assert_eq!(parse(ACK_OK), (Code::OK, vec![]));
    assert_eq!(parse(ACK_NO_FINGER), (Code::NO_FINGER, vec![]));
    let (code, data) = parse(ACK_HIT_5_SCORE_100);
    assert_eq!(code, Code::OK);
    assert_eq!(
        SearchHit::parse(&data).unwrap(),
        SearchHit {
            page: 5,
            score: 100
        }
    );
    assert_eq!(parse(ACK_SEARCH_MISS).0, Code::NOT_FOUND);
}

#[test]
fn wrong_checksum_is_refused() {
    let bytes = hex("EF 01 FF FF FF FF 07 00 03 00 00 0B");
    let frame = Frame::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&frame), Err(wire::Error::Checksum));
}

#[test]
fn truncated_frames_are_refused() {
    let bytes = hex(ACK_OK);
    for len in 0..bytes.len() {
        assert_eq!(
            Frame::new_checked(&bytes[..len]).err(),
            Some(wire::Error::Truncated),
            "{len} bytes"
        );
    }
}

#[test]
fn oversized_frames_are_refused() {
    // LEN 01 03: a 257-byte payload, one more than any module sends.
    let mut bytes = hex("EF 01 FF FF FF FF 02 01 03");
    bytes.resize(9 + 0x103, 0);
    assert_eq!(
        Frame::new_checked(&bytes[..]).err(),
        Some(wire::Error::Oversized)
    );
    let mut reader = FrameReader::new();
    let outcomes: Vec<_> = bytes
        .iter()
        .map(|&b| reader.push(b).map(|r| r.is_some()))
        .collect();
    assert_eq!(outcomes[8], Err(wire::Error::Oversized));
}

#[test]
fn malformed_frames_are_refused() {
    // A length field below the two checksum bytes.
    let bytes = hex("EF 01 FF FF FF FF 07 00 01 00");
    assert_eq!(
        Frame::new_checked(&bytes[..]).err(),
        Some(wire::Error::Malformed)
    );
    // Not EF 01.
    let bytes = hex("EF 02 FF FF FF FF 07 00 03 00 00 0A");
    assert_eq!(
        Frame::new_checked(&bytes[..]).err(),
        Some(wire::Error::Header)
    );
    // Packet id 03 does not exist (checksum made to match: 03 + 03 = 06).
    let bytes = hex("EF 01 FF FF FF FF 03 00 03 00 00 06");
    let frame = Frame::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&frame), Err(wire::Error::PacketId));
    // An ack without a confirmation code; a command with a missing argument;
    // an unknown instruction.
    assert_eq!(Ack::parse(&[]), Err(wire::Error::Malformed));
    assert_eq!(
        Command::parse(&[0x06, 0x01, 0x00]),
        Err(wire::Error::Malformed)
    );
    assert_eq!(Command::parse(&[0x31]), Err(wire::Error::Instruction));
    assert_eq!(SearchHit::parse(&[0, 5]), Err(wire::Error::Malformed));
}

#[test]
fn reader_skips_the_boot_byte_and_noise() {
    let mut bytes = hex("55 00 EF EF");
    bytes.extend(hex(&ACK_OK[3..])); // "01 FF FF …": the second EF starts it
    let mut reader = FrameReader::new();
    let mut frames = 0;
    for byte in bytes {
        if let Some(repr) = reader.push(byte).unwrap() {
            assert_eq!(repr.packet_id, PacketId::Ack);
            assert_eq!(repr.payload, &[0x00]);
            frames += 1;
        }
    }
    assert_eq!(frames, 1);
}

// ---------------------------------------------------------------------------
// The driver.

#[test]
fn verify_password_sends_vfypwd_and_accepts_ok() {
    let (mut fp, ..) = driver(&[w(VFY_PWD_0), r(ACK_OK)]);
    run(fp.verify_password()).unwrap();
    finish(fp);
}

#[test]
fn a_wrong_password_is_its_own_error() {
    let (mut fp, ..) = driver(&[w(VFY_PWD_0), r(ACK_WRONG_PASSWORD)]);
    assert_eq!(run(fp.verify_password()), Err(Error::WrongPassword));
    finish(fp);
}

#[test]
fn handshake_and_template_count() {
    let (mut fp, ..) = driver(&[w(HANDSHAKE), r(ACK_OK), w(TEMPLATE_NUM), r(ACK_COUNT_3)]);
    run(fp.handshake()).unwrap();
    assert_eq!(run(fp.template_count()), Ok(3));
    finish(fp);
}

#[test]
fn aura_led_sends_its_four_bytes() {
    let (mut fp, ..) = driver(&[w(AURA_BREATHE_RED), r(ACK_OK)]);
    run(fp.aura(Aura {
        control: 0x01,
        speed: 0xAA,
        colour: 0x01,
        count: 5,
    }))
    .unwrap();
    finish(fp);
}

#[test]
fn identify_captures_extracts_and_searches() {
    let (mut fp, ..) = driver(&[
        w(GEN_IMG),
        r(ACK_OK),
        w(IMG2TZ_1),
        r(ACK_OK),
        w(SEARCH_1_0_200),
        r(ACK_HIT_5_SCORE_100),
    ]);
    assert_eq!(run(fp.identify()), Ok(Identification::Match(TemplateId(5))));
    finish(fp);
}

#[test]
fn identify_miss_is_no_match() {
    let (mut fp, ..) = driver(&[
        w(GEN_IMG),
        r(ACK_OK),
        w(IMG2TZ_1),
        r(ACK_OK),
        w(SEARCH_1_0_200),
        r(ACK_SEARCH_MISS),
    ]);
    assert_eq!(run(fp.identify()), Ok(Identification::NoMatch));
    finish(fp);
}

#[test]
fn identify_polls_genimg_until_a_finger_then_gives_up_as_no_sample() {
    // Window 300 ms, polled every 100 ms: GenImg at 0, 100, 200, 300.
    let mut script = Vec::new();
    for _ in 0..4 {
        script.push(w(GEN_IMG));
        script.push(r(ACK_NO_FINGER));
    }
    let (mut fp, _, clock) = driver(&script);
    assert_eq!(run(fp.identify()), Ok(Identification::NoSample));
    assert_eq!(clock.now(), 300);
    finish(fp);
}

#[test]
fn identify_with_a_messy_image_is_no_sample_not_a_failure() {
    let (mut fp, ..) = driver(&[w(GEN_IMG), r(ACK_OK), w(IMG2TZ_1), r(ACK_MESSY)]);
    assert_eq!(run(fp.identify()), Ok(Identification::NoSample));
    finish(fp);
}

#[test]
fn replies_arriving_byte_by_byte_after_the_boot_byte() {
    let mut reply = hex("55");
    reply.extend(hex(ACK_HIT_5_SCORE_100));
    let (mut fp, ..) = driver_with(
        &[
            w(GEN_IMG),
            r(ACK_OK),
            w(IMG2TZ_1),
            r(ACK_OK),
            w(SEARCH_1_0_200),
            Uart::Read(reply),
        ],
        |uart| uart.in_chunks_of(1),
    );
    assert_eq!(run(fp.identify()), Ok(Identification::Match(TemplateId(5))));
    finish(fp);
}

#[test]
fn a_silent_module_times_out() {
    let (mut fp, _, clock) = driver(&[w(VFY_PWD_0)]);
    let error = run(fp.verify_password()).unwrap_err();
    assert_eq!(error, Error::Timeout);
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(clock.now(), 2_000, "the default reply timeout");
    finish(fp);
}

#[test]
fn a_half_reply_times_out() {
    let (mut fp, ..) = driver(&[w(VFY_PWD_0), r("EF 01 FF FF FF FF 07 00")]);
    assert_eq!(run(fp.verify_password()), Err(Error::Timeout));
    finish(fp);
}

#[test]
fn a_corrupted_reply_is_a_protocol_error() {
    let (mut fp, ..) = driver(&[w(VFY_PWD_0), r("EF 01 FF FF FF FF 07 00 03 00 00 0B")]);
    let error = run(fp.verify_password()).unwrap_err();
    assert_eq!(error, Error::Frame(wire::Error::Checksum));
    assert_eq!(error.kind(), ErrorKind::Protocol);
    finish(fp);
}

#[test]
fn a_uart_error_is_a_bus_error() {
    let (mut fp, ..) = driver(&[
        w(VFY_PWD_0),
        Uart::ReadError(embedded_io::ErrorKind::InvalidData),
    ]);
    let error = run(fp.verify_password()).unwrap_err();
    assert_eq!(error, Error::Uart(embedded_io::ErrorKind::InvalidData));
    assert_eq!(error.kind(), ErrorKind::Bus);
    finish(fp);
}

#[test]
fn enrollment_in_three_steps_with_lift_detection() {
    let (mut fp, ..) = driver(&[
        // Step 0: first capture.
        w(GEN_IMG),
        r(ACK_NO_FINGER),
        w(GEN_IMG),
        r(ACK_OK),
        w(IMG2TZ_1),
        r(ACK_OK),
        // Step 1: still on, then lifted.
        w(GEN_IMG),
        r(ACK_OK),
        w(GEN_IMG),
        r(ACK_NO_FINGER),
        // Step 2: second capture, merge, duplicate check, store.
        w(GEN_IMG),
        r(ACK_OK),
        w(IMG2TZ_2),
        r(ACK_OK),
        w(REG_MODEL),
        r(ACK_OK),
        w(SEARCH_1_0_200),
        r(ACK_SEARCH_MISS),
        w(STORE_1_5),
        r(ACK_OK),
    ]);
    run(fp.begin_enroll(TemplateId(5))).unwrap();
    assert!(fp.is_enrolling());
    assert_eq!(
        run(fp.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::Lift))
    );
    assert_eq!(
        run(fp.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::Present))
    );
    assert_eq!(
        run(fp.enroll_step()),
        Ok(EnrollStatus::Enrolled(TemplateId(5)))
    );
    // Done: the driver counted three steps and the enrollment is over.
    assert!(!fp.is_enrolling());
    assert_eq!(run(fp.enroll_step()), Err(Error::NotEnrolling));
    finish(fp);
}

fn through_merge() -> Vec<Uart> {
    vec![
        w(GEN_IMG),
        r(ACK_OK),
        w(IMG2TZ_1),
        r(ACK_OK),
        w(GEN_IMG),
        r(ACK_NO_FINGER),
        w(GEN_IMG),
        r(ACK_OK),
        w(IMG2TZ_2),
        r(ACK_OK),
        w(REG_MODEL),
        r(ACK_OK),
    ]
}

fn enroll_all(fp: &mut Driver) -> EnrollStatus {
    run(fp.begin_enroll(TemplateId(5))).unwrap();
    run(fp.enroll_step()).unwrap();
    run(fp.enroll_step()).unwrap();
    run(fp.enroll_step()).unwrap()
}

#[test]
fn r_usr_7_a_search_hit_refuses_the_enrollment_as_a_duplicate() {
    let mut script = through_merge();
    script.extend([w(SEARCH_1_0_200), r(ACK_HIT_5_SCORE_100)]);
    let (mut fp, ..) = driver(&script);
    assert_eq!(
        enroll_all(&mut fp),
        EnrollStatus::Refused(EnrollRefusal::Duplicate)
    );
    finish(fp);
}

#[test]
fn r_usr_7_code_27_from_store_is_a_duplicate() {
    let mut script = through_merge();
    script.extend([
        w(SEARCH_1_0_200),
        r(ACK_SEARCH_MISS),
        w(STORE_1_5),
        r(ACK_EXISTS),
    ]);
    let (mut fp, ..) = driver(&script);
    assert_eq!(
        enroll_all(&mut fp),
        EnrollStatus::Refused(EnrollRefusal::Duplicate)
    );
    finish(fp);
}

#[test]
fn a_full_library_refuses_the_enrollment() {
    let mut script = through_merge();
    script.extend([
        w(SEARCH_1_0_200),
        r(ACK_SEARCH_MISS),
        w(STORE_1_5),
        r(ACK_FULL),
    ]);
    let (mut fp, ..) = driver(&script);
    assert_eq!(
        enroll_all(&mut fp),
        EnrollStatus::Refused(EnrollRefusal::Full)
    );
    finish(fp);
}

#[test]
fn captures_that_do_not_combine_are_a_bad_capture() {
    let mut script = through_merge();
    script.pop();
    script.push(r(ACK_MISMATCH));
    let (mut fp, ..) = driver(&script);
    assert_eq!(
        enroll_all(&mut fp),
        EnrollStatus::Refused(EnrollRefusal::BadCapture)
    );
    finish(fp);
}

#[test]
fn a_finger_never_lifted_ends_the_enrollment_by_timeout() {
    let mut script = vec![w(GEN_IMG), r(ACK_OK), w(IMG2TZ_1), r(ACK_OK)];
    for _ in 0..4 {
        script.push(w(GEN_IMG));
        script.push(r(ACK_OK));
    }
    let (mut fp, ..) = driver(&script);
    run(fp.begin_enroll(TemplateId(5))).unwrap();
    run(fp.enroll_step()).unwrap();
    assert_eq!(
        run(fp.enroll_step()),
        Ok(EnrollStatus::Refused(EnrollRefusal::Timeout))
    );
    // The enrollment is over: another step is refused, nothing sent.
    assert_eq!(run(fp.enroll_step()), Err(Error::NotEnrolling));
    finish(fp);
}

#[test]
fn a_step_without_an_enrollment_or_after_cancel_is_refused() {
    let (mut fp, ..) = driver(&[w(GEN_IMG), r(ACK_OK), w(IMG2TZ_1), r(ACK_OK)]);
    // Nothing begun: a typed error, nothing sent.
    let error = run(fp.enroll_step()).unwrap_err();
    assert_eq!(error, Error::NotEnrolling);
    assert_eq!(error.kind(), ErrorKind::Other);
    run(fp.begin_enroll(TemplateId(5))).unwrap();
    run(fp.enroll_step()).unwrap();
    run(fp.cancel_enroll()).unwrap();
    assert!(!fp.is_enrolling());
    assert_eq!(run(fp.enroll_step()), Err(Error::NotEnrolling));
    finish(fp);
}

#[test]
fn a_page_outside_the_library_is_refused_at_begin() {
    let (mut fp, ..) = driver(&[]);
    assert_eq!(
        run(fp.begin_enroll(TemplateId(200))),
        Err(Error::TemplateRange)
    );
    assert!(!fp.is_enrolling());
    assert_eq!(run(fp.enroll_step()), Err(Error::NotEnrolling));
    finish(fp);
}

#[test]
fn begin_abandons_an_enrollment_under_way() {
    // The first enrollment (page 7) gets its first capture; a new one
    // (page 5) starts again from the first capture and stores to page 5.
    let mut script = vec![w(GEN_IMG), r(ACK_OK), w(IMG2TZ_1), r(ACK_OK)];
    script.extend(through_merge());
    script.extend([
        w(SEARCH_1_0_200),
        r(ACK_SEARCH_MISS),
        w(STORE_1_5),
        r(ACK_OK),
    ]);
    let (mut fp, ..) = driver(&script);
    run(fp.begin_enroll(TemplateId(7))).unwrap();
    assert_eq!(
        run(fp.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::Lift))
    );
    assert_eq!(enroll_all(&mut fp), EnrollStatus::Enrolled(TemplateId(5)));
    finish(fp);
}

#[test]
fn delete_and_clear() {
    let (mut fp, ..) = driver(&[w(DELETE_5_1), r(ACK_OK), w(EMPTY), r(ACK_OK)]);
    run(fp.delete(TemplateId(5))).unwrap();
    run(fp.clear()).unwrap();
    finish(fp);
}

#[test]
fn wakeup_waits_for_the_line_low() {
    let mut pin = PinMock::new(&[Pin::wait_for_state(State::Low)]);
    let mut wakeup = Wakeup::new(pin.clone());
    run(wakeup.wait_for_sample()).unwrap();
    drop(wakeup.release());
    pin.done();
}

#[test]
fn wakeup_active_high_waits_for_the_line_high() {
    let mut pin = PinMock::new(&[Pin::wait_for_state(State::High)]);
    let mut wakeup = Wakeup::active_high(pin.clone());
    run(wakeup.wait_for_sample()).unwrap();
    pin.done();
}

#[test]
fn wakeup_removal_waits_for_the_idle_level() {
    let mut pin = PinMock::new(&[
        Pin::wait_for_state(State::High),
        Pin::wait_for_state(State::Low),
    ]);
    run(Wakeup::new(pin.clone()).wait_for_removal()).unwrap();
    run(Wakeup::active_high(pin.clone()).wait_for_removal()).unwrap();
    pin.done();
}

#[test]
fn a_failing_wakeup_pin_is_a_bus_error() {
    let broken = MockError::Io(std::io::ErrorKind::NotConnected);
    let mut pin = PinMock::new(&[Pin::wait_for_state(State::Low).with_error(broken)]);
    let mut wakeup = Wakeup::new(pin.clone());
    let error = run(wakeup.wait_for_sample()).unwrap_err();
    assert_eq!(error, Error::Pin(embedded_hal::digital::ErrorKind::Other));
    assert_eq!(error.kind(), ErrorKind::Bus);
    const { assert!(<Wakeup<PinMock> as SampleSensor>::FITTED) };
    pin.done();
}

// ---------------------------------------------------------------------------
// A module whose main supply the driver switches (issue #20).

mod power {
    use super::*;

    use embedded_hal::digital;
    use lock_drivers::fingerprint::PowerSwitch;
    use proptest::prelude::*;

    type Switched = Fingerprint<ScriptedUart, ManualClock, EnablePin>;

    const BOOT: &str = "55";

    /// A switched driver on a scripted UART; the UART's clone (for `done`),
    /// the clock and the pin's record.
    fn switched(script: &[Uart]) -> (Switched, ScriptedUart, ManualClock, Levels) {
        let uart = ScriptedUart::new(script);
        let clock = ManualClock::new();
        let levels = Levels::default();
        let pin = EnablePin {
            uart: uart.clone(),
            levels: levels.clone(),
        };
        let config = Config {
            present_timeout_ms: 300,
            lift_timeout_ms: 300,
            ..Config::default()
        };
        let fp = Fingerprint::with_power(
            uart.clone(),
            clock.clone(),
            config,
            PowerSwitch::active_high(pin),
        )
        .unwrap();
        (fp, uart, clock, levels)
    }

    /// A switched driver on an embedded-hal-mock pin.
    fn on_mock_pin(
        script: &[Uart],
        pin: &[Pin],
        switch: fn(PinMock) -> PowerSwitch<PinMock>,
    ) -> Fingerprint<ScriptedUart, ManualClock, PinMock> {
        let uart = ScriptedUart::new(script);
        Fingerprint::with_power(
            uart,
            ManualClock::new(),
            Config::default(),
            switch(PinMock::new(pin)),
        )
        .unwrap()
    }

    fn finish_on_mock_pin(fp: Fingerprint<ScriptedUart, ManualClock, PinMock>) {
        let (mut uart, _, switch) = fp.release_all();
        uart.done();
        switch.unwrap().release().done();
    }

    fn broken() -> MockError {
        MockError::Io(std::io::ErrorKind::Other)
    }

    fn identify_hit() -> Vec<Uart> {
        vec![
            r(BOOT),
            w(GEN_IMG),
            r(ACK_OK),
            w(IMG2TZ_1),
            r(ACK_OK),
            w(SEARCH_1_0_200),
            r(ACK_HIT_5_SCORE_100),
        ]
    }

    #[test]
    fn power_goes_on_before_the_first_byte_and_off_after_identify() {
        let script = identify_hit();
        let (mut fp, mut uart, _, levels) = switched(&script);
        assert!(!fp.is_powered());
        assert_eq!(run(fp.identify()), Ok(Identification::Match(TemplateId(5))));
        assert!(!fp.is_powered());
        let all = script.len();
        assert_eq!(
            *levels.borrow(),
            [(false, all), (true, all), (false, 0)],
            "off at construction, on before the boot byte, off after the answer"
        );
        uart.done();
    }

    #[test]
    fn a_boot_byte_after_noise_and_in_pieces_is_found() {
        let mut script = identify_hit();
        script[0] = r("00 FF EF 01 55");
        let uart = ScriptedUart::new(&script).in_chunks_of(1);
        let levels = Levels::default();
        let pin = EnablePin {
            uart: uart.clone(),
            levels: levels.clone(),
        };
        let mut fp = Fingerprint::with_power(
            uart.clone(),
            ManualClock::new(),
            Config::default(),
            PowerSwitch::active_high(pin),
        )
        .unwrap();
        assert_eq!(run(fp.identify()), Ok(Identification::Match(TemplateId(5))));
        assert_eq!(levels.borrow().last(), Some(&(false, 0)));
        let (mut uart, ..) = fp.release_all();
        uart.done();
    }

    #[test]
    fn no_boot_byte_in_time_is_a_timeout_and_the_module_is_switched_off() {
        // The module stays silent: nothing is sent to it.
        let (mut fp, mut uart, clock, levels) = switched(&[]);
        let error = run(fp.identify()).unwrap_err();
        assert_eq!(error, Error::BootTimeout);
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert_eq!(clock.now(), 500, "the default boot timeout");
        assert!(!fp.is_powered());
        assert_eq!(*levels.borrow(), [(false, 0), (true, 0), (false, 0)]);
        uart.done();
    }

    #[test]
    fn a_uart_error_while_booting_is_an_error_and_the_module_is_switched_off() {
        let (mut fp, mut uart, _, levels) =
            switched(&[Uart::ReadError(embedded_io::ErrorKind::InvalidData)]);
        assert_eq!(
            run(fp.clear()),
            Err(Error::Uart(embedded_io::ErrorKind::InvalidData))
        );
        assert_eq!(levels.borrow().last(), Some(&(false, 0)));
        uart.done();
    }

    #[test]
    fn a_silent_module_mid_identify_is_switched_off() {
        // Booted, GenImg sent, no answer: a fault never leaves it on.
        let (mut fp, mut uart, clock, levels) = switched(&[r(BOOT), w(GEN_IMG)]);
        assert_eq!(run(fp.identify()), Err(Error::Timeout));
        assert_eq!(clock.now(), 2_000);
        assert!(!fp.is_powered());
        assert_eq!(*levels.borrow(), [(false, 2), (true, 2), (false, 0)]);
        uart.done();
    }

    #[test]
    fn r_nrg_2_an_identification_dropped_half_way_is_switched_off_by_stop() {
        let uart = ScriptedUart::new(&[r(BOOT), w(GEN_IMG)]);
        let levels = Levels::default();
        let pin = EnablePin {
            uart: uart.clone(),
            levels: levels.clone(),
        };
        let mut fp = Fingerprint::with_power(
            uart.clone(),
            common::Frozen,
            Config::default(),
            PowerSwitch::active_high(pin),
        )
        .unwrap();
        {
            let mut search = core::pin::pin!(fp.identify());
            assert!(embassy_futures::poll_once(search.as_mut()).is_pending());
        }
        assert!(fp.is_powered(), "left on by the drop");
        run(fp.stop()).unwrap();
        assert!(!fp.is_powered());
        assert_eq!(levels.borrow().last(), Some(&(false, 0)));
        // At rest, a stop switches nothing.
        run(fp.stop()).unwrap();
        assert_eq!(levels.borrow().len(), 3);
        let mut uart = uart;
        uart.done();
    }

    #[test]
    fn a_module_error_mid_identify_is_switched_off() {
        let (mut fp, mut uart, _, levels) = switched(&[
            r(BOOT),
            w(GEN_IMG),
            r(ACK_OK),
            w(IMG2TZ_1),
            r("EF 01 FF FF FF FF 07 00 03 00 00 0B"),
        ]);
        assert_eq!(run(fp.identify()), Err(Error::Frame(wire::Error::Checksum)));
        assert_eq!(levels.borrow().last(), Some(&(false, 0)));
        uart.done();
    }

    #[test]
    fn power_stays_on_across_enrollment_steps_and_goes_off_when_enrolled() {
        let mut script = vec![r(BOOT)];
        script.extend(through_merge());
        script.extend([
            w(SEARCH_1_0_200),
            r(ACK_SEARCH_MISS),
            w(STORE_1_5),
            r(ACK_OK),
        ]);
        let (mut fp, mut uart, _, levels) = switched(&script);
        run(fp.begin_enroll(TemplateId(5))).unwrap();
        assert!(fp.is_powered(), "on from begin_enroll");
        assert_eq!(
            run(fp.enroll_step()),
            Ok(EnrollStatus::Next(EnrollStep::Lift))
        );
        assert!(fp.is_powered(), "buffer 1 must survive until the merge");
        assert_eq!(
            run(fp.enroll_step()),
            Ok(EnrollStatus::Next(EnrollStep::Present))
        );
        assert!(fp.is_powered());
        assert_eq!(
            run(fp.enroll_step()),
            Ok(EnrollStatus::Enrolled(TemplateId(5)))
        );
        assert!(!fp.is_powered());
        let all = script.len();
        assert_eq!(
            *levels.borrow(),
            [(false, all), (true, all), (false, 0)],
            "switched on once, off after the last step"
        );
        uart.done();
    }

    #[test]
    fn cancel_switches_the_module_off() {
        let (mut fp, mut uart, _, levels) =
            switched(&[r(BOOT), w(GEN_IMG), r(ACK_OK), w(IMG2TZ_1), r(ACK_OK)]);
        run(fp.begin_enroll(TemplateId(5))).unwrap();
        run(fp.enroll_step()).unwrap();
        assert!(fp.is_powered());
        run(fp.cancel_enroll()).unwrap();
        assert!(!fp.is_powered());
        assert_eq!(*levels.borrow(), [(false, 5), (true, 5), (false, 0)]);
        // Cancelling again, or a step now, switches nothing.
        run(fp.cancel_enroll()).unwrap();
        assert_eq!(run(fp.enroll_step()), Err(Error::NotEnrolling));
        assert_eq!(levels.borrow().len(), 3);
        uart.done();
    }

    #[test]
    fn a_refused_enrollment_switches_the_module_off() {
        let mut script = vec![r(BOOT)];
        script.extend(through_merge());
        script.pop();
        script.push(r(ACK_MISMATCH));
        let (mut fp, mut uart, _, levels) = switched(&script);
        assert_eq!(
            enroll_switched(&mut fp),
            EnrollStatus::Refused(EnrollRefusal::BadCapture)
        );
        assert!(!fp.is_powered());
        assert_eq!(levels.borrow().last(), Some(&(false, 0)));
        uart.done();
    }

    fn enroll_switched(fp: &mut Switched) -> EnrollStatus {
        run(fp.begin_enroll(TemplateId(5))).unwrap();
        run(fp.enroll_step()).unwrap();
        run(fp.enroll_step()).unwrap();
        run(fp.enroll_step()).unwrap()
    }

    #[test]
    fn an_enrollment_error_switches_the_module_off() {
        // The first capture's Img2Tz fails on the UART.
        let (mut fp, mut uart, _, levels) = switched(&[
            r(BOOT),
            w(GEN_IMG),
            r(ACK_OK),
            w(IMG2TZ_1),
            Uart::ReadError(embedded_io::ErrorKind::Other),
        ]);
        run(fp.begin_enroll(TemplateId(5))).unwrap();
        assert_eq!(
            run(fp.enroll_step()),
            Err(Error::Uart(embedded_io::ErrorKind::Other))
        );
        assert!(!fp.is_enrolling());
        assert!(!fp.is_powered());
        assert_eq!(levels.borrow().last(), Some(&(false, 0)));
        uart.done();
    }

    #[test]
    fn a_page_outside_the_library_never_switches_the_module_on() {
        let (mut fp, mut uart, _, levels) = switched(&[]);
        assert_eq!(
            run(fp.begin_enroll(TemplateId(200))),
            Err(Error::TemplateRange)
        );
        assert_eq!(*levels.borrow(), [(false, 0)]);
        uart.done();
    }

    #[test]
    fn delete_and_clear_each_switch_the_module_on_and_off() {
        let (mut fp, mut uart, _, levels) = switched(&[
            r(BOOT),
            w(DELETE_5_1),
            r(ACK_OK),
            r(BOOT),
            w(EMPTY),
            r(ACK_OK),
        ]);
        run(fp.delete(TemplateId(5))).unwrap();
        run(fp.clear()).unwrap();
        assert_eq!(
            *levels.borrow(),
            [(false, 6), (true, 6), (false, 3), (true, 3), (false, 0)]
        );
        uart.done();
    }

    #[test]
    fn verify_password_switches_the_module_on_and_off() {
        let (mut fp, mut uart, _, levels) =
            switched(&[r(BOOT), w(VFY_PWD_0), r(ACK_WRONG_PASSWORD)]);
        assert_eq!(run(fp.verify_password()), Err(Error::WrongPassword));
        assert_eq!(*levels.borrow(), [(false, 3), (true, 3), (false, 0)]);
        uart.done();
    }

    #[test]
    fn power_up_holds_the_module_on_until_power_down() {
        let (mut fp, mut uart, _, levels) = switched(&[
            r(BOOT),
            w(AURA_BREATHE_RED),
            r(ACK_OK),
            w(HANDSHAKE),
            r(ACK_OK),
        ]);
        run(fp.power_up()).unwrap();
        let aura = Aura {
            control: 0x01,
            speed: 0xAA,
            colour: 0x01,
            count: 5,
        };
        run(fp.aura(aura)).unwrap();
        run(fp.handshake()).unwrap();
        assert!(fp.is_powered(), "held: the handshake leaves it on");
        run(fp.power_down()).unwrap();
        assert!(!fp.is_powered());
        assert_eq!(*levels.borrow(), [(false, 5), (true, 5), (false, 0)]);
        uart.done();
    }

    #[test]
    fn an_active_low_switch_drives_its_pin_low_for_on() {
        let fp = on_mock_pin(
            &[r(BOOT), w(EMPTY), r(ACK_OK)],
            &[
                Pin::set(State::High),
                Pin::set(State::Low),
                Pin::set(State::High),
            ],
            PowerSwitch::active_low,
        );
        let mut fp = fp;
        run(fp.clear()).unwrap();
        finish_on_mock_pin(fp);
    }

    #[test]
    fn a_switch_that_cannot_switch_on_is_a_bus_error_and_nothing_is_sent() {
        let mut fp = on_mock_pin(
            &[],
            &[
                Pin::set(State::Low),
                Pin::set(State::High).with_error(broken()),
                // Driven off all the same.
                Pin::set(State::Low),
            ],
            PowerSwitch::active_high,
        );
        let error = run(fp.begin_enroll(TemplateId(5))).unwrap_err();
        assert_eq!(error, Error::Power(digital::ErrorKind::Other));
        assert_eq!(error.kind(), ErrorKind::Bus);
        assert!(!fp.is_enrolling());
        assert!(!fp.is_powered());
        finish_on_mock_pin(fp);
    }

    #[test]
    fn a_switch_that_cannot_switch_off_after_a_good_operation_is_a_bus_error() {
        let mut fp = on_mock_pin(
            &[r(BOOT), w(DELETE_5_1), r(ACK_OK)],
            &[
                Pin::set(State::Low),
                Pin::set(State::High),
                Pin::set(State::Low).with_error(broken()),
            ],
            PowerSwitch::active_high,
        );
        assert_eq!(
            run(fp.delete(TemplateId(5))),
            Err(Error::Power(digital::ErrorKind::Other))
        );
        finish_on_mock_pin(fp);
    }

    #[test]
    fn an_operation_error_wins_over_a_switch_that_cannot_switch_off() {
        let mut fp = on_mock_pin(
            &[r(BOOT), w(EMPTY), r(ACK_FULL)],
            &[
                Pin::set(State::Low),
                Pin::set(State::High),
                Pin::set(State::Low).with_error(broken()),
            ],
            PowerSwitch::active_high,
        );
        assert_eq!(run(fp.clear()), Err(Error::Module(Code::LIBRARY_FULL)));
        finish_on_mock_pin(fp);
    }

    #[test]
    fn a_switch_that_cannot_start_off_fails_construction() {
        let mut pin = PinMock::new(&[Pin::set(State::Low).with_error(broken())]);
        let result = Fingerprint::with_power(
            ScriptedUart::new(&[]),
            ManualClock::new(),
            Config::default(),
            PowerSwitch::active_high(pin.clone()),
        );
        assert_eq!(result.err().map(|error| error.kind()), Some(ErrorKind::Bus));
        pin.done();
    }

    proptest! {
        /// Whatever noise comes before the boot byte (or instead of it) and
        /// whatever comes in reply, nothing panics and the module ends
        /// switched off.
        #[test]
        fn garbage_from_a_switched_module_never_panics_and_ends_off(
            noise in proptest::collection::vec(any::<u8>().prop_filter("not 55", |b| *b != 0x55), 0..64),
            booted in any::<bool>(),
            reply in proptest::collection::vec(any::<u8>(), 0..64),
            chunk in 1usize..8,
        ) {
            let mut boot = noise;
            if booted {
                boot.push(0x55);
            }
            let uart = ScriptedUart::new(&[Uart::Read(boot), w(GEN_IMG), Uart::Read(reply)])
                .in_chunks_of(chunk);
            let levels = Levels::default();
            let pin = EnablePin { uart: uart.clone(), levels: levels.clone() };
            let mut fp = Fingerprint::with_power(
                uart,
                ManualClock::new(),
                Config::default(),
                PowerSwitch::active_high(pin),
            )
            .unwrap();
            let _ = run(fp.identify());
            prop_assert!(!fp.is_powered());
            prop_assert_eq!(levels.borrow().last().map(|level| level.0), Some(false));
        }
    }
}

// ---------------------------------------------------------------------------
// Properties.

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn packet_id() -> impl Strategy<Value = PacketId> {
        prop_oneof![
            Just(PacketId::Command),
            Just(PacketId::Data),
            Just(PacketId::Ack),
            Just(PacketId::EndOfData),
        ]
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            Just(Command::GenImg),
            any::<u8>().prop_map(|buffer| Command::Img2Tz { buffer }),
            Just(Command::Match),
            (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(buffer, start, count)| {
                Command::Search {
                    buffer,
                    start,
                    count,
                }
            }),
            Just(Command::RegModel),
            (any::<u8>(), any::<u16>()).prop_map(|(buffer, page)| Command::Store { buffer, page }),
            (any::<u16>(), any::<u16>())
                .prop_map(|(page, count)| Command::DeleteChar { page, count }),
            Just(Command::Empty),
            any::<u32>().prop_map(|password| Command::VfyPwd { password }),
            Just(Command::TemplateNum),
            any::<[u8; 4]>().prop_map(|[control, speed, colour, count]| {
                Command::AuraLed(Aura {
                    control,
                    speed,
                    colour,
                    count,
                })
            }),
            Just(Command::HandShake),
        ]
    }

    fn frame() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<u32>(),
            packet_id(),
            proptest::collection::vec(any::<u8>(), 0..=wire::MAX_PAYLOAD_LEN),
        )
            .prop_map(|(address, packet_id, payload)| {
                let repr = Repr {
                    address,
                    packet_id,
                    payload: &payload,
                };
                let mut bytes = vec![0; repr.buffer_len()];
                repr.emit(&mut Frame::new_unchecked(&mut bytes[..]))
                    .unwrap();
                bytes
            })
    }

    /// A parsed frame's fields, owned.
    type Parsed = (u32, PacketId, Vec<u8>);

    /// The first frame or error a reader produces from `bytes`.
    fn feed(bytes: &[u8]) -> Option<Result<Parsed, wire::Error>> {
        let mut reader = FrameReader::new();
        for &byte in bytes {
            match reader.push(byte) {
                Ok(None) => {}
                Ok(Some(repr)) => {
                    return Some(Ok((repr.address, repr.packet_id, repr.payload.to_vec())));
                }
                Err(error) => return Some(Err(error)),
            }
        }
        None
    }

    proptest! {
        #[test]
        fn repr_round_trips(
            address in any::<u32>(),
            packet_id in packet_id(),
            payload in proptest::collection::vec(any::<u8>(), 0..=wire::MAX_PAYLOAD_LEN),
        ) {
            let repr = Repr { address, packet_id, payload: &payload };
            let mut bytes = vec![0; repr.buffer_len()];
            repr.emit(&mut Frame::new_unchecked(&mut bytes[..])).unwrap();
            let frame = Frame::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(Repr::parse(&frame).unwrap(), repr);
        }

        #[test]
        fn commands_round_trip(command in command(), address in any::<u32>()) {
            let mut bytes = [0u8; 32];
            let len = wire::emit_command(address, &command, &mut bytes).unwrap();
            let frame = Frame::new_checked(&bytes[..len]).unwrap();
            let repr = Repr::parse(&frame).unwrap();
            prop_assert_eq!(repr.address, address);
            prop_assert_eq!(Command::parse(repr.payload).unwrap(), command);
            prop_assert_eq!(command.buffer_len(), repr.payload.len());
        }

        #[test]
        fn acks_round_trip(code in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..16)) {
            let ack = Ack { code: Code(code), data: &data };
            let mut bytes = [0u8; 32];
            let len = ack.emit(&mut bytes).unwrap();
            prop_assert_eq!(len, ack.buffer_len());
            prop_assert_eq!(Ack::parse(&bytes[..len]).unwrap(), ack);
        }

        #[test]
        fn oversized_payloads_are_not_emitted(extra in 1usize..64) {
            let payload = vec![0u8; wire::MAX_PAYLOAD_LEN + extra];
            let repr = Repr { address: 0, packet_id: PacketId::Data, payload: &payload };
            let mut bytes = vec![0; repr.buffer_len()];
            prop_assert_eq!(
                repr.emit(&mut Frame::new_unchecked(&mut bytes[..])),
                Err(wire::Error::Oversized)
            );
        }

        #[test]
        fn byte_by_byte_equals_whole_frame(bytes in frame()) {
            let frame = Frame::new_checked(&bytes[..]).unwrap();
            let whole = Repr::parse(&frame).unwrap();
            prop_assert_eq!(
                feed(&bytes),
                Some(Ok((whole.address, whole.packet_id, whole.payload.to_vec())))
            );
        }

        /// One byte after the header changed: the reader and the whole-frame
        /// parser agree (a frame the whole parser finds truncated is one the
        /// reader is still waiting for).
        #[test]
        fn corrupted_frames_agree(bytes in frame(), at in any::<prop::sample::Index>(), value in any::<u8>()) {
            let mut bytes = bytes;
            let at = 2 + at.index(bytes.len() - 2);
            bytes[at] = value;
            let whole = Frame::new_checked(&bytes[..])
                .and_then(|frame| Repr::parse(&frame))
                .map(|repr| (repr.address, repr.packet_id, repr.payload.to_vec()));
            match whole {
                Err(wire::Error::Truncated) => prop_assert_eq!(feed(&bytes), None),
                whole => prop_assert_eq!(feed(&bytes), Some(whole)),
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Frame::new_checked(&bytes[..]).and_then(|frame| Repr::parse(&frame));
            let _ = Command::parse(&bytes);
            let _ = Ack::parse(&bytes);
            let mut reader = FrameReader::new();
            for byte in bytes {
                let _ = reader.push(byte);
            }
        }
    }
}
