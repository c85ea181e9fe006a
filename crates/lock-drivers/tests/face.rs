//! The EF AA face/palm driver against a scripted UART, with the byte vectors
//! of PERIPHERALS.md written out.
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
use lock_drivers::face::wire::{
    self, Command, Enrollment, FaceState, Frame, FrameReader, Message, Repr, ResultCode,
    SealedReader, direction,
};
use lock_drivers::face::{Config, Encryption, EncryptionError, Error, Face, Modality};
use lock_hal::{
    Biometric, EnrollRefusal, EnrollStatus, EnrollStep, Error as _, ErrorKind, Identification,
    TemplateId,
};

/// The 32 zero bytes of an empty user name.
macro_rules! name32 {
    () => {
        "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 \
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    };
}

// From PERIPHERALS.md.
const RESET: &str = "EF AA 10 00 00 10";
const VERIFY_0_10: &str = "EF AA 12 00 02 00 0A 1A";
const DELUSER_1: &str = "EF AA 20 00 02 00 01 23";
const DELALL: &str = "EF AA 21 00 00 21";
const REPLY_RESET_OK: &str = "EF AA 00 00 02 10 00 12";
const NOTE_READY: &str = "EF AA 01 00 01 00 00";
const REPLY_VERIFY_UNKNOWN_USER: &str = "EF AA 00 00 02 12 08 18";
// Derived by the same rule (parity = XOR of MsgID, Size and Data), worked
// out by hand; the data layouts are the SDKs'.
// GET_STATUS; its reply "standby": 03 ^ 11 = 12.
const GET_STATUS: &str = "EF AA 11 00 00 11";
const REPLY_STATUS_STANDBY: &str = "EF AA 00 00 03 11 00 00 12";
// POWERDOWN; its reply: 02 ^ ED = EF.
const POWERDOWN: &str = "EF AA ED 00 00 ED";
const REPLY_POWERDOWN_OK: &str = "EF AA 00 00 02 ED 00 EF";
// VERIFY replies: user 1, empty name, admin 0, id type 2 (palm):
// 26 ^ 12 ^ 01 ^ 02 = 37; user 4, id type 1 (face): 26 ^ 12 ^ 04 ^ 01 = 31.
const REPLY_VERIFY_PALM_1: &str = concat!("EF AA 00 00 26 12 00 00 01 ", name32!(), " 00 02 37");
const REPLY_VERIFY_FACE_4: &str = concat!("EF AA 00 00 26 12 00 00 04 ", name32!(), " 00 01 31");
const REPLY_VERIFY_TIMEOUT: &str = "EF AA 00 00 02 12 0D 1D";
const REPLY_VERIFY_LIVENESS: &str = "EF AA 00 00 02 12 0C 1C";
const REPLY_VERIFY_ENCRYPTION: &str = "EF AA 00 00 02 12 15 05";
const REPLY_VERIFY_REJECTED: &str = "EF AA 00 00 02 12 01 11";
// ENROLL(admin 0, empty name, direction, 10 s): 13 ^ 23 ^ direction ^ 0A.
const ENROLL_MIDDLE: &str = concat!("EF AA 13 00 23 00 ", name32!(), " 01 0A 3B");
const ENROLL_UP: &str = concat!("EF AA 13 00 23 00 ", name32!(), " 10 0A 2A");
const ENROLL_DOWN: &str = concat!("EF AA 13 00 23 00 ", name32!(), " 08 0A 32");
const ENROLL_LEFT: &str = concat!("EF AA 13 00 23 00 ", name32!(), " 04 0A 3E");
const ENROLL_RIGHT: &str = concat!("EF AA 13 00 23 00 ", name32!(), " 02 0A 38");
// ENROLL replies for user 3 with the directions captured so far.
const REPLY_ENROLL_01: &str = "EF AA 00 00 05 13 00 00 03 01 14";
const REPLY_ENROLL_11: &str = "EF AA 00 00 05 13 00 00 03 11 04";
const REPLY_ENROLL_19: &str = "EF AA 00 00 05 13 00 00 03 19 0C";
const REPLY_ENROLL_1D: &str = "EF AA 00 00 05 13 00 00 03 1D 08";
const REPLY_ENROLL_1F: &str = "EF AA 00 00 05 13 00 00 03 1F 0A";
const REPLY_ENROLL_TIMEOUT: &str = "EF AA 00 00 02 13 0D 1C";
const REPLY_ENROLL_DUPLICATE: &str = "EF AA 00 00 02 13 0A 1B";
const REPLY_ENROLL_MAX_USERS: &str = "EF AA 00 00 02 13 09 18";
// FACE_STATE notes (state, then seven zero i16): too far, too low.
const NOTE_TOO_FAR: &str = "EF AA 01 00 11 01 00 06 00 00 00 00 00 00 00 00 00 00 00 00 00 00 17";
const NOTE_TOO_DOWN: &str = "EF AA 01 00 11 01 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 12";
// PALM_ENROLL_ITG(admin 0, empty name, 0 0 0, 10 s): 27 ^ 25 ^ 0A = 08;
// its reply for user 9, direction 0, state 2 (palm done).
const PALM_ENROLL: &str = concat!("EF AA 27 00 25 00 ", name32!(), " 00 00 00 0A 08");
const REPLY_PALM_9: &str = "EF AA 00 00 06 27 00 00 09 00 02 2A";
// DELUSER / DELALL replies.
const REPLY_DELUSER_OK: &str = "EF AA 00 00 02 20 00 22";
const REPLY_DELUSER_UNKNOWN: &str = "EF AA 00 00 02 20 08 2A";
const REPLY_DELALL_OK: &str = "EF AA 00 00 02 21 00 23";

fn w(frame: &str) -> Uart {
    Uart::Write(hex(frame))
}

fn r(frame: &str) -> Uart {
    Uart::Read(hex(frame))
}

type Driver = Face<ScriptedUart, ManualClock>;

fn driver(script: &[Uart]) -> (Driver, ManualClock) {
    let clock = ManualClock::new();
    let face = Face::new(ScriptedUart::new(script), clock.clone(), Config::default());
    (face, clock)
}

fn finish<E: Encryption>(face: Face<ScriptedUart, ManualClock, E>) {
    let (mut uart, _, _) = face.release();
    uart.done();
}

// ---------------------------------------------------------------------------
// Codec against the vectors.

fn emitted(command: &Command) -> Vec<u8> {
    let mut out = [0u8; 64];
    let len = wire::emit_command(command, &mut out).unwrap();
    out[..len].to_vec()
}

#[test]
fn commands_emit_the_datasheet_bytes() {
    let cases = [
        (Command::Reset, RESET),
        (
            Command::Verify {
                power_down: false,
                timeout_s: 10,
            },
            VERIFY_0_10,
        ),
        (Command::DelUser { user: 1 }, DELUSER_1),
        (Command::DelAll, DELALL),
        (Command::GetStatus, GET_STATUS),
        (Command::PowerDown, POWERDOWN),
        (
            Command::Enroll(Enrollment {
                admin: false,
                name: [0; 32],
                direction: direction::MIDDLE,
                timeout_s: 10,
            }),
            ENROLL_MIDDLE,
        ),
        (
            Command::PalmEnrollItg {
                admin: false,
                name: [0; 32],
                timeout_s: 10,
            },
            PALM_ENROLL,
        ),
    ];
    for (command, expected) in cases {
        assert_eq!(emitted(&command), hex(expected), "{command:?}");
        let bytes = hex(expected);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        let repr = Repr::parse(&frame).unwrap();
        assert_eq!(Command::parse(&repr).unwrap(), command);
    }
}

fn message(text: &str) -> (u8, Vec<u8>) {
    let bytes = hex(text);
    let frame = Frame::new_checked(&bytes[..]).unwrap();
    let repr = Repr::parse(&frame).unwrap();
    (repr.msg_id, repr.data.to_vec())
}

#[test]
fn messages_parse_from_the_datasheet_bytes() {
    let (id, data) = message(REPLY_RESET_OK);
    let repr = Repr {
        msg_id: id,
        data: &data,
    };
    assert_eq!(
        Message::parse(&repr).unwrap(),
        Message::Reply {
            command: 0x10,
            result: ResultCode::SUCCESS,
            data: &[]
        }
    );
    let (id, data) = message(NOTE_READY);
    let repr = Repr {
        msg_id: id,
        data: &data,
    };
    assert_eq!(
        Message::parse(&repr).unwrap(),
        Message::Note {
            nid: 0x00,
            data: &[]
        }
    );
    let (id, data) = message(REPLY_VERIFY_UNKNOWN_USER);
    let repr = Repr {
        msg_id: id,
        data: &data,
    };
    assert_eq!(
        Message::parse(&repr).unwrap(),
        Message::Reply {
            command: 0x12,
            result: ResultCode::UNKNOWN_USER,
            data: &[]
        }
    );
    let (_, data) = message(NOTE_TOO_FAR);
    assert_eq!(FaceState::parse(&data[1..]).unwrap().state, 6);
}

#[test]
fn wrong_parity_truncated_oversized_and_malformed_frames_are_refused() {
    let bytes = hex("EF AA 10 00 00 11");
    let frame = Frame::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&frame), Err(wire::Error::Parity));

    let bytes = hex(VERIFY_0_10);
    for len in 0..bytes.len() {
        assert_eq!(
            Frame::new_checked(&bytes[..len]).err(),
            Some(wire::Error::Truncated)
        );
    }

    // Size 01 01: 257 bytes of data.
    let mut bytes = hex("EF AA 02 01 01");
    bytes.resize(5 + 257 + 1, 0);
    assert_eq!(
        Frame::new_checked(&bytes[..]).err(),
        Some(wire::Error::Oversized)
    );
    let mut reader = FrameReader::new();
    let outcome: Vec<_> = bytes
        .iter()
        .map(|&b| reader.push(b).map(|r| r.is_some()))
        .collect();
    assert_eq!(outcome[4], Err(wire::Error::Oversized));

    assert_eq!(
        Frame::new_checked(&hex("EF AB 10 00 00 10")[..]).err(),
        Some(wire::Error::Header)
    );
    // A reply without its result byte; a note without its id; an unknown
    // message id; a VERIFY with one byte; a FACE_STATE too short.
    fn parse(msg_id: u8, data: &[u8]) -> Result<Message<'_>, wire::Error> {
        Message::parse(&Repr { msg_id, data })
    }
    assert_eq!(parse(0x00, &[0x10]), Err(wire::Error::Malformed));
    assert_eq!(parse(0x01, &[]), Err(wire::Error::Malformed));
    assert_eq!(parse(0x07, &[]), Err(wire::Error::MessageId));
    assert_eq!(
        Command::parse(&Repr {
            msg_id: 0x12,
            data: &[0]
        }),
        Err(wire::Error::Malformed)
    );
    assert_eq!(FaceState::parse(&[0; 15]), Err(wire::Error::Malformed));
}

// ---------------------------------------------------------------------------
// The driver.

#[test]
fn reset_status_and_power_down() {
    let (mut face, _) = driver(&[
        w(RESET),
        r(REPLY_RESET_OK),
        w(GET_STATUS),
        r(REPLY_STATUS_STANDBY),
        w(POWERDOWN),
        r(REPLY_POWERDOWN_OK),
    ]);
    run(face.reset()).unwrap();
    assert_eq!(run(face.status()), Ok(0));
    run(face.power_down()).unwrap();
    finish(face);
}

#[test]
fn waits_for_the_ready_note_after_power_on() {
    let (mut face, _) = driver(&[r(NOTE_READY)]);
    run(face.wait_until_ready(2_000)).unwrap();
    finish(face);
}

#[test]
fn identify_returns_the_user_and_what_was_recognised() {
    let (mut face, _) = driver(&[
        w(VERIFY_0_10),
        r(REPLY_VERIFY_FACE_4),
        w(VERIFY_0_10),
        r(REPLY_VERIFY_PALM_1),
    ]);
    assert_eq!(
        run(face.identify()),
        Ok(Identification::Match(TemplateId(4)))
    );
    assert_eq!(face.last_match_kind(), Some(Modality::Face));
    assert_eq!(
        run(face.identify()),
        Ok(Identification::Match(TemplateId(1)))
    );
    assert_eq!(face.last_match_kind(), Some(Modality::Palm));
    finish(face);
}

#[test]
fn unknown_user_and_failed_liveness_are_failed_attempts() {
    let (mut face, _) = driver(&[
        w(VERIFY_0_10),
        r(REPLY_VERIFY_UNKNOWN_USER),
        w(VERIFY_0_10),
        r(REPLY_VERIFY_LIVENESS),
    ]);
    assert_eq!(run(face.identify()), Ok(Identification::NoMatch));
    assert_eq!(run(face.identify()), Ok(Identification::NoMatch));
    finish(face);
}

#[test]
fn a_module_timeout_is_no_sample() {
    let (mut face, _) = driver(&[w(VERIFY_0_10), r(NOTE_TOO_FAR), r(REPLY_VERIFY_TIMEOUT)]);
    assert_eq!(run(face.identify()), Ok(Identification::NoSample));
    assert_eq!(face.last_face_state().map(|s| s.state), Some(6));
    finish(face);
}

#[test]
fn a_silent_module_times_out_after_its_own_timeout_and_the_margin() {
    let (mut face, clock) = driver(&[w(VERIFY_0_10)]);
    let error = run(face.identify()).unwrap_err();
    assert_eq!(error, Error::Timeout);
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(clock.now(), 11_000);
    finish(face);
}

#[test]
fn rejected_and_encryption_required_are_errors() {
    let (mut face, _) = driver(&[
        w(VERIFY_0_10),
        r(REPLY_VERIFY_REJECTED),
        w(VERIFY_0_10),
        r(REPLY_VERIFY_ENCRYPTION),
    ]);
    let rejected = run(face.identify()).unwrap_err();
    assert_eq!(rejected, Error::Rejected);
    assert_eq!(rejected.kind(), ErrorKind::Busy);
    assert_eq!(run(face.identify()), Err(Error::EncryptionRequired));
    finish(face);
}

#[test]
fn a_late_reply_to_another_command_is_skipped() {
    let (mut face, _) = driver(&[
        w(VERIFY_0_10),
        r(REPLY_RESET_OK),
        r(NOTE_READY),
        r(REPLY_VERIFY_FACE_4),
    ]);
    assert_eq!(
        run(face.identify()),
        Ok(Identification::Match(TemplateId(4)))
    );
    finish(face);
}

#[test]
fn replies_arriving_byte_by_byte() {
    let clock = ManualClock::new();
    let uart = ScriptedUart::new(&[w(VERIFY_0_10), r(REPLY_VERIFY_FACE_4)]).in_chunks_of(1);
    let mut face = Face::new(uart, clock, Config::default());
    assert_eq!(
        run(face.identify()),
        Ok(Identification::Match(TemplateId(4)))
    );
    finish(face);
}

#[test]
fn a_corrupted_reply_is_a_protocol_error() {
    let (mut face, _) = driver(&[w(RESET), r("EF AA 00 00 02 10 00 13")]);
    let error = run(face.reset()).unwrap_err();
    assert_eq!(error, Error::Frame(wire::Error::Parity));
    assert_eq!(error.kind(), ErrorKind::Protocol);
    finish(face);
}

#[test]
fn face_enrollment_goes_through_the_five_directions() {
    let (mut face, _) = driver(&[
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_01),
        w(ENROLL_UP),
        r(REPLY_ENROLL_11),
        w(ENROLL_DOWN),
        r(REPLY_ENROLL_19),
        w(ENROLL_LEFT),
        r(REPLY_ENROLL_1D),
        w(ENROLL_RIGHT),
        r(REPLY_ENROLL_1F),
    ]);
    run(face.begin_enroll(TemplateId(0))).unwrap();
    // The driver counts the directions: five steps, no step number.
    let prompts: Vec<_> = (0..5).map(|_| run(face.enroll_step())).collect();
    assert_eq!(
        prompts,
        [
            Ok(EnrollStatus::Next(EnrollStep::HeadUp)),
            Ok(EnrollStatus::Next(EnrollStep::HeadDown)),
            Ok(EnrollStatus::Next(EnrollStep::HeadLeft)),
            Ok(EnrollStatus::Next(EnrollStep::HeadRight)),
            Ok(EnrollStatus::Enrolled(TemplateId(3))),
        ]
    );
    // Done: another step is refused and nothing is sent.
    assert!(!face.is_enrolling());
    assert_eq!(run(face.enroll_step()), Err(Error::NotEnrolling));
    finish(face);
}

#[test]
fn face_state_notes_become_prompts_and_the_direction_is_tried_again() {
    let (mut face, _) = driver(&[
        w(ENROLL_MIDDLE),
        r(NOTE_TOO_FAR),
        r(REPLY_ENROLL_TIMEOUT),
        w(ENROLL_MIDDLE),
        r(NOTE_TOO_DOWN),
        r(REPLY_ENROLL_TIMEOUT),
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_01),
    ]);
    run(face.begin_enroll(TemplateId(0))).unwrap();
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::Closer))
    );
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::HeadUp))
    );
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::HeadUp))
    );
    finish(face);
}

#[test]
fn a_direction_failing_three_times_ends_the_enrollment() {
    let (mut face, _) = driver(&[
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_TIMEOUT),
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_TIMEOUT),
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_TIMEOUT),
    ]);
    // No note: the prompt repeats the direction.
    run(face.begin_enroll(TemplateId(0))).unwrap();
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::LookStraight))
    );
    run(face.enroll_step()).unwrap();
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Refused(EnrollRefusal::Timeout))
    );
    assert_eq!(run(face.enroll_step()), Err(Error::NotEnrolling));
    finish(face);
}

#[test]
fn r_usr_7_an_enrolled_face_is_refused_as_a_duplicate() {
    let (mut face, _) = driver(&[
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_DUPLICATE),
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_MAX_USERS),
    ]);
    run(face.begin_enroll(TemplateId(0))).unwrap();
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Refused(EnrollRefusal::Duplicate))
    );
    // The refusal ended that enrollment: begun again, nothing to abandon.
    run(face.begin_enroll(TemplateId(0))).unwrap();
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Refused(EnrollRefusal::Full))
    );
    finish(face);
}

#[test]
fn cancel_resets_the_module() {
    let (mut face, _) = driver(&[
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_01),
        w(RESET),
        r(REPLY_RESET_OK),
    ]);
    run(face.begin_enroll(TemplateId(0))).unwrap();
    run(face.enroll_step()).unwrap();
    run(face.cancel_enroll()).unwrap();
    assert_eq!(run(face.enroll_step()), Err(Error::NotEnrolling));
    finish(face);
}

#[test]
fn a_step_without_an_enrollment_is_refused_and_nothing_is_sent() {
    let (mut face, _) = driver(&[]);
    let error = run(face.enroll_step()).unwrap_err();
    assert_eq!(error, Error::NotEnrolling);
    assert_eq!(error.kind(), ErrorKind::Other);
    assert_eq!(run(face.palm().enroll_step()), Err(Error::NotEnrolling));
    finish(face);
}

#[test]
fn begin_sends_nothing_unless_it_abandons_an_enrollment_under_way() {
    // The first face enrollment gets its middle direction; the second
    // begins with a RESET and starts again from the middle.
    let (mut face, _) = driver(&[
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_01),
        w(RESET),
        r(REPLY_RESET_OK),
        w(ENROLL_MIDDLE),
        r(REPLY_ENROLL_01),
    ]);
    run(face.begin_enroll(TemplateId(0))).unwrap();
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::HeadUp))
    );
    run(face.begin_enroll(TemplateId(0))).unwrap();
    assert_eq!(
        run(face.enroll_step()),
        Ok(EnrollStatus::Next(EnrollStep::HeadUp)),
        "the middle direction again: the count started over"
    );
    finish(face);
}

#[test]
fn palm_enrollment_is_one_step() {
    let (mut face, _) = driver(&[w(PALM_ENROLL), r(REPLY_PALM_9)]);
    run(face.palm().begin_enroll(TemplateId(0))).unwrap();
    // A face step does not continue a palm enrollment, nor end it.
    assert_eq!(run(face.enroll_step()), Err(Error::NotEnrolling));
    assert_eq!(
        run(face.palm().enroll_step()),
        Ok(EnrollStatus::Enrolled(TemplateId(9)))
    );
    assert_eq!(run(face.palm().enroll_step()), Err(Error::NotEnrolling));
    finish(face);
}

#[test]
fn delete_one_counts_unknown_as_deleted_and_clear_deletes_all() {
    let (mut face, _) = driver(&[
        w(DELUSER_1),
        r(REPLY_DELUSER_OK),
        w(DELUSER_1),
        r(REPLY_DELUSER_UNKNOWN),
        w(DELALL),
        r(REPLY_DELALL_OK),
    ]);
    run(face.delete(TemplateId(1))).unwrap();
    run(face.palm().delete(TemplateId(1))).unwrap();
    run(face.clear()).unwrap();
    finish(face);
}

/// A toy cipher for the hook: XOR with 5A. It only shows the framing.
struct Xor {
    active: bool,
}

impl Encryption for Xor {
    fn is_active(&self) -> bool {
        self.active
    }
    fn seal(&mut self, message: &[u8], out: &mut [u8]) -> Result<usize, EncryptionError> {
        for (o, m) in out.iter_mut().zip(message) {
            *o = m ^ 0x5A;
        }
        Ok(message.len())
    }
    fn open(&mut self, sealed: &[u8], out: &mut [u8]) -> Result<usize, EncryptionError> {
        self.seal(sealed, out)
    }
}

#[test]
fn the_encryption_hook_seals_and_opens_every_message() {
    // RESET's body 10 00 00 sealed: 4A 5A 5A; parity 00 ^ 03 ^ 4A ^ 5A ^ 5A = 49.
    // The reply's body 00 00 02 10 00 sealed: 5A 5A 58 4A 5A; parity 4D.
    let uart = ScriptedUart::new(&[
        w("EF AA 00 03 4A 5A 5A 49"),
        r("EF AA 00 05 5A 5A 58 4A 5A 4D"),
    ]);
    let mut face = Face::with_encryption(
        uart,
        ManualClock::new(),
        Config::default(),
        Xor { active: false },
    );
    face.encryption_mut().active = true;
    run(face.reset()).unwrap();
    finish(face);
}

// ---------------------------------------------------------------------------
// One module shared by a face part and a palm part (face::shared), powered
// for each operation.

mod shared_module {
    use super::*;

    use embedded_hal::digital;
    use embedded_hal_mock::eh1::MockError;
    use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
    use lock_drivers::face::Plain;
    use lock_drivers::face::shared::{self, FaceModule, SharedFace, SharedModule, SharedPalm};

    /// A module on a scripted UART and the pin above; the UART's clone (for
    /// `done`), the clock and the pin's record.
    fn module(
        script: &[Uart],
    ) -> (
        SharedModule<ScriptedUart, ManualClock, Plain, EnablePin>,
        ScriptedUart,
        ManualClock,
        Levels,
    ) {
        let uart = ScriptedUart::new(script);
        let clock = ManualClock::new();
        let levels = Levels::default();
        let enable = EnablePin {
            uart: uart.clone(),
            levels: levels.clone(),
        };
        let face = Face::new(uart.clone(), clock.clone(), Config::default());
        let module = SharedModule::new(FaceModule::new(face, enable));
        (module, uart, clock, levels)
    }

    /// A module on a scripted UART and an embedded-hal-mock pin.
    fn module_on_mock_pin(
        script: &[Uart],
        pin: &[Pin],
    ) -> SharedModule<ScriptedUart, ManualClock, Plain, PinMock> {
        let face = Face::new(
            ScriptedUart::new(script),
            ManualClock::new(),
            Config::default(),
        );
        SharedModule::new(FaceModule::new(face, PinMock::new(pin)))
    }

    fn finish_on_mock_pin(module: SharedModule<ScriptedUart, ManualClock, Plain, PinMock>) {
        let (face, mut pin) = module.into_inner().release();
        finish(face);
        pin.done();
    }

    /// One powered operation as the module sees it: READY after power-on,
    /// the exchange, then POWERDOWN answered.
    fn powered(exchange: &[Uart]) -> Vec<Uart> {
        let mut script = vec![r(NOTE_READY)];
        script.extend_from_slice(exchange);
        script.extend([w(POWERDOWN), r(REPLY_POWERDOWN_OK)]);
        script
    }

    fn broken() -> MockError {
        MockError::Io(std::io::ErrorKind::Other)
    }

    #[test]
    fn power_goes_on_before_ready_and_off_after_powerdown_for_each_operation() {
        let identify = powered(&[w(VERIFY_0_10), r(REPLY_VERIFY_FACE_4)]);
        let clear = powered(&[w(DELALL), r(REPLY_DELALL_OK)]);
        let script = [identify.clone(), clear.clone()].concat();
        let (module, mut uart, _, levels) = module(&script);
        assert_eq!(
            run(SharedFace(&module).identify()),
            Ok(Identification::Match(TemplateId(4)))
        );
        run(SharedPalm(&module).clear()).unwrap();
        let (all, second) = (script.len(), clear.len());
        assert_eq!(
            *levels.borrow(),
            [(true, all), (false, second), (true, second), (false, 0)],
            "on before READY, off after POWERDOWN's reply, each time"
        );
        uart.done();
    }

    #[test]
    fn r_nrg_2_a_search_dropped_half_way_is_stopped_with_powerdown_and_switched_off() {
        let uart = ScriptedUart::new(&[
            r(NOTE_READY),
            w(VERIFY_0_10),
            w(POWERDOWN),
            r(REPLY_POWERDOWN_OK),
        ]);
        let levels = Levels::default();
        let enable = EnablePin {
            uart: uart.clone(),
            levels: levels.clone(),
        };
        let face = Face::new(uart.clone(), common::Frozen, Config::default());
        let module = SharedModule::new(FaceModule::new(face, enable));
        {
            // The search runs (the module looks for 10 s) and is dropped.
            let mut side = SharedFace(&module);
            let mut search = core::pin::pin!(side.identify());
            assert!(embassy_futures::poll_once(search.as_mut()).is_pending());
        }
        assert_eq!(*levels.borrow(), [(true, 4)], "on, searching");
        run(SharedFace(&module).stop()).unwrap();
        assert_eq!(
            levels.borrow().last(),
            Some(&(false, 0)),
            "POWERDOWN, then off"
        );
        // At rest, a stop does nothing.
        run(SharedPalm(&module).stop()).unwrap();
        assert_eq!(levels.borrow().len(), 2);
        let mut uart = uart;
        uart.done();
    }

    #[test]
    fn both_sides_identify_with_verify() {
        let (module, mut uart, _, _) = module(
            &[
                powered(&[w(VERIFY_0_10), r(REPLY_VERIFY_PALM_1)]),
                powered(&[w(VERIFY_0_10), r(REPLY_VERIFY_FACE_4)]),
            ]
            .concat(),
        );
        assert_eq!(
            run(SharedPalm(&module).identify()),
            Ok(Identification::Match(TemplateId(1)))
        );
        assert_eq!(
            run(SharedFace(&module).identify()),
            Ok(Identification::Match(TemplateId(4)))
        );
        uart.done();
    }

    #[test]
    fn the_face_side_enrolls_a_face_and_the_palm_side_a_palm() {
        let (module, mut uart, _, _) = module(
            &[
                powered(&[w(ENROLL_MIDDLE), r(REPLY_ENROLL_01)]),
                powered(&[w(RESET), r(REPLY_RESET_OK)]),
                powered(&[w(PALM_ENROLL), r(REPLY_PALM_9)]),
            ]
            .concat(),
        );
        run(SharedFace(&module).begin_enroll(TemplateId(0))).unwrap();
        assert_eq!(
            run(SharedFace(&module).enroll_step()),
            Ok(EnrollStatus::Next(EnrollStep::HeadUp))
        );
        // The palm side's begin abandons the face enrollment: a RESET,
        // powered, before the palm capture.
        run(SharedPalm(&module).begin_enroll(TemplateId(0))).unwrap();
        assert_eq!(
            run(SharedPalm(&module).enroll_step()),
            Ok(EnrollStatus::Enrolled(TemplateId(9)))
        );
        uart.done();
    }

    #[test]
    fn cancel_delete_and_clear_act_on_the_one_user_table_from_either_side() {
        let (module, mut uart, _, _) = module(
            &[
                powered(&[w(RESET), r(REPLY_RESET_OK)]),
                powered(&[w(DELUSER_1), r(REPLY_DELUSER_OK)]),
                powered(&[w(DELALL), r(REPLY_DELALL_OK)]),
                powered(&[w(RESET), r(REPLY_RESET_OK)]),
                powered(&[w(DELUSER_1), r(REPLY_DELUSER_OK)]),
                powered(&[w(DELALL), r(REPLY_DELALL_OK)]),
            ]
            .concat(),
        );
        let (mut face, mut palm) = (SharedFace(&module), SharedPalm(&module));
        run(palm.cancel_enroll()).unwrap();
        run(palm.delete(TemplateId(1))).unwrap();
        run(palm.clear()).unwrap();
        run(face.cancel_enroll()).unwrap();
        run(face.delete(TemplateId(1))).unwrap();
        run(face.clear()).unwrap();
        uart.done();
    }

    #[test]
    fn no_ready_within_two_seconds_is_a_timeout_and_the_module_is_still_powered_down() {
        // The module stays silent: READY times out after 2 s, the POWERDOWN
        // sent anyway after 1 s more.
        let (module, mut uart, clock, levels) = module(&[w(POWERDOWN)]);
        let error = run(SharedFace(&module).identify()).unwrap_err();
        assert_eq!(error, shared::Error::Module(Error::Timeout));
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert_eq!(clock.now(), 3_000);
        assert_eq!(*levels.borrow(), [(true, 1), (false, 0)]);
        uart.done();
    }

    #[test]
    fn a_module_that_does_not_answer_powerdown_is_switched_off_all_the_same() {
        let (module, mut uart, clock, levels) =
            module(&[r(NOTE_READY), w(DELALL), r(REPLY_DELALL_OK), w(POWERDOWN)]);
        run(SharedPalm(&module).clear()).unwrap();
        assert_eq!(clock.now(), 1_000, "POWERDOWN's reply waited for 1 s");
        assert_eq!(levels.borrow().last(), Some(&(false, 0)));
        uart.done();
    }

    #[test]
    fn an_operation_error_wins_over_a_switch_that_cannot_power_off() {
        let module = module_on_mock_pin(
            &powered(&[w(VERIFY_0_10), r(REPLY_VERIFY_REJECTED)]),
            &[
                Pin::set(State::High),
                Pin::set(State::Low).with_error(broken()),
            ],
        );
        let error = run(SharedFace(&module).identify()).unwrap_err();
        assert_eq!(error, shared::Error::Module(Error::Rejected));
        assert_eq!(error.kind(), ErrorKind::Busy);
        finish_on_mock_pin(module);
    }

    #[test]
    fn a_switch_that_cannot_power_off_after_a_good_operation_is_a_bus_error() {
        let module = module_on_mock_pin(
            &powered(&[w(DELUSER_1), r(REPLY_DELUSER_OK)]),
            &[
                Pin::set(State::High),
                Pin::set(State::Low).with_error(broken()),
            ],
        );
        let error = run(SharedPalm(&module).delete(TemplateId(1))).unwrap_err();
        assert_eq!(error, shared::Error::Power(digital::ErrorKind::Other));
        assert_eq!(error.kind(), ErrorKind::Bus);
        finish_on_mock_pin(module);
    }

    #[test]
    fn a_switch_that_cannot_power_on_is_a_bus_error_and_nothing_is_sent() {
        let module = module_on_mock_pin(&[], &[Pin::set(State::High).with_error(broken())]);
        run(SharedFace(&module).begin_enroll(TemplateId(0))).unwrap();
        let error = run(SharedFace(&module).enroll_step()).unwrap_err();
        assert_eq!(error, shared::Error::Power(digital::ErrorKind::Other));
        assert_eq!(error.kind(), ErrorKind::Bus);
        finish_on_mock_pin(module);
    }

    #[test]
    fn beginning_with_nothing_to_abandon_leaves_the_module_off() {
        let module = module_on_mock_pin(&[], &[]);
        // The pin expects nothing: the module is never switched on.
        run(SharedPalm(&module).begin_enroll(TemplateId(0))).unwrap();
        finish_on_mock_pin(module);
    }

    #[test]
    fn a_step_without_an_enrollment_of_its_side_is_refused_with_the_module_off() {
        let module = module_on_mock_pin(&[], &[]);
        let error = run(SharedFace(&module).enroll_step()).unwrap_err();
        assert_eq!(error, shared::Error::Module(Error::NotEnrolling));
        run(SharedPalm(&module).begin_enroll(TemplateId(0))).unwrap();
        assert_eq!(
            run(SharedFace(&module).enroll_step()),
            Err(shared::Error::Module(Error::NotEnrolling))
        );
        finish_on_mock_pin(module);
    }
}

// ---------------------------------------------------------------------------
// Properties.

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn command() -> impl Strategy<Value = Command> {
        let enrollment = (any::<bool>(), any::<[u8; 32]>(), any::<u8>(), any::<u8>()).prop_map(
            |(admin, name, direction, timeout_s)| Enrollment {
                admin,
                name,
                direction,
                timeout_s,
            },
        );
        prop_oneof![
            Just(Command::Reset),
            Just(Command::GetStatus),
            (any::<bool>(), any::<u8>()).prop_map(|(power_down, timeout_s)| Command::Verify {
                power_down,
                timeout_s
            }),
            enrollment.clone().prop_map(Command::Enroll),
            enrollment.prop_map(Command::EnrollSingle),
            (any::<bool>(), any::<[u8; 32]>(), any::<u8>()).prop_map(|(admin, name, timeout_s)| {
                Command::PalmEnrollItg {
                    admin,
                    name,
                    timeout_s,
                }
            }),
            any::<u16>().prop_map(|user| Command::DelUser { user }),
            Just(Command::DelAll),
            Just(Command::GetAllUserId),
            Just(Command::GetVersion),
            Just(Command::PowerDown),
        ]
    }

    fn frame() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..=wire::MAX_DATA_LEN),
        )
            .prop_map(|(msg_id, data)| {
                let repr = Repr {
                    msg_id,
                    data: &data,
                };
                let mut bytes = vec![0; repr.buffer_len()];
                repr.emit(&mut Frame::new_unchecked(&mut bytes[..]))
                    .unwrap();
                bytes
            })
    }

    type Parsed = (u8, Vec<u8>);

    fn feed(bytes: &[u8]) -> Option<Result<Parsed, wire::Error>> {
        let mut reader = FrameReader::new();
        for &byte in bytes {
            match reader.push(byte) {
                Ok(None) => {}
                Ok(Some(repr)) => return Some(Ok((repr.msg_id, repr.data.to_vec()))),
                Err(error) => return Some(Err(error)),
            }
        }
        None
    }

    proptest! {
        #[test]
        fn repr_round_trips(msg_id in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..=wire::MAX_DATA_LEN)) {
            let repr = Repr { msg_id, data: &data };
            let mut bytes = vec![0; repr.buffer_len()];
            repr.emit(&mut Frame::new_unchecked(&mut bytes[..])).unwrap();
            let frame = Frame::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(Repr::parse(&frame).unwrap(), repr);
            prop_assert_eq!(Repr::parse_body(&bytes[2..bytes.len() - 1]).unwrap(), repr);
        }

        #[test]
        fn commands_round_trip(command in command()) {
            let bytes = emitted(&command);
            let frame = Frame::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(Command::parse(&Repr::parse(&frame).unwrap()).unwrap(), command);
        }

        #[test]
        fn messages_round_trip(kind in 0u8..3, id in any::<u8>(), code in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let message = match kind {
                0 => Message::Reply { command: id, result: ResultCode(code), data: &data },
                1 => Message::Note { nid: id, data: &data },
                _ => Message::Image(&data),
            };
            let mut out = [0u8; 80];
            let (msg_id, len) = message.emit(&mut out).unwrap();
            prop_assert_eq!(Message::parse(&Repr { msg_id, data: &out[..len] }).unwrap(), message);
        }

        #[test]
        fn face_states_round_trip(fields in any::<[i16; 8]>()) {
            let state = FaceState {
                state: fields[0], left: fields[1], top: fields[2], right: fields[3],
                bottom: fields[4], yaw: fields[5], pitch: fields[6], roll: fields[7],
            };
            let mut out = [0u8; 16];
            state.emit(&mut out).unwrap();
            prop_assert_eq!(FaceState::parse(&out).unwrap(), state);
        }

        #[test]
        fn sealed_frames_round_trip(sealed in proptest::collection::vec(any::<u8>(), 0..=wire::MAX_SEALED_LEN)) {
            let mut out = vec![0u8; sealed.len() + 5];
            let len = wire::emit_sealed(&sealed, &mut out).unwrap();
            prop_assert_eq!(wire::parse_sealed(&out[..len]).unwrap(), &sealed[..]);
            let mut reader = SealedReader::new();
            let mut got = None;
            for &byte in &out[..len] {
                if let Some(body) = reader.push(byte).unwrap() {
                    got = Some(body.to_vec());
                }
            }
            prop_assert_eq!(got, Some(sealed));
        }

        #[test]
        fn byte_by_byte_equals_whole_frame(bytes in frame()) {
            let frame = Frame::new_checked(&bytes[..]).unwrap();
            let whole = Repr::parse(&frame).unwrap();
            prop_assert_eq!(feed(&bytes), Some(Ok((whole.msg_id, whole.data.to_vec()))));
        }

        #[test]
        fn corrupted_frames_agree(bytes in frame(), at in any::<prop::sample::Index>(), value in any::<u8>()) {
            let mut bytes = bytes;
            let at = 2 + at.index(bytes.len() - 2);
            bytes[at] = value;
            let whole = Frame::new_checked(&bytes[..])
                .and_then(|frame| Repr::parse(&frame))
                .map(|repr| (repr.msg_id, repr.data.to_vec()));
            match whole {
                Err(wire::Error::Truncated) => prop_assert_eq!(feed(&bytes), None),
                whole => prop_assert_eq!(feed(&bytes), Some(whole)),
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Frame::new_checked(&bytes[..]).and_then(|frame| Repr::parse(&frame));
            let _ = Repr::parse_body(&bytes);
            let _ = wire::parse_sealed(&bytes);
            if let Some((&msg_id, data)) = bytes.split_first() {
                let repr = Repr { msg_id, data };
                let _ = Message::parse(&repr);
                let _ = Command::parse(&repr);
            }
            let _ = wire::Verified::parse(&bytes);
            let _ = wire::Enrolled::parse(&bytes);
            let _ = FaceState::parse(&bytes);
            let mut reader = FrameReader::new();
            let mut sealed = SealedReader::new();
            for byte in bytes {
                let _ = reader.push(byte);
                let _ = sealed.push(byte);
            }
        }
    }
}
