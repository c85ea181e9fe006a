//! `VoicePrompts`: the clip table a voice module's memory is loaded to, and
//! the playing of an announcement's clips on a recording voice module.
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
use std::future::pending;
use std::rc::Rc;

use common::run;
use lock_drivers::prompts::{
    CHOOSE_ANY, CHOOSE_FACE, CHOOSE_FINGER, CHOOSE_PASSCODE, CLIP_LIMIT_MS, FAILURE, POINT,
    VoicePrompts, clips,
};
use lock_hal::{
    Announcement, EnrollReason, EnrollStep, ErrorType, Modality, PasscodeReason, Reason, Sound,
    Voice,
};

/// What the module was told, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    Play(u16),
    /// The driver waited this long for a clip's end and gave up.
    GaveUp(u32),
    Stop,
    Volume(u8),
}

type Log = Rc<RefCell<Vec<Heard>>>;

/// A voice module whose clips end at once, or never (a BUSY line stuck
/// active).
struct Module {
    log: Log,
    stuck: bool,
}

impl ErrorType for Module {
    type Error = Infallible;
}

impl Voice for Module {
    async fn play(&mut self, clip: u16) -> Result<(), Infallible> {
        self.log.borrow_mut().push(Heard::Play(clip));
        Ok(())
    }
    async fn wait_until_done(&mut self) -> Result<(), Infallible> {
        if self.stuck {
            pending::<()>().await;
        }
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), Infallible> {
        self.log.borrow_mut().push(Heard::Stop);
        Ok(())
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), Infallible> {
        self.log.borrow_mut().push(Heard::Volume(level));
        Ok(())
    }
}

/// A delay that ends at once and notes the limit it timed (only a stuck
/// clip lets it win the race).
struct Limit(Log);

impl embedded_hal_async::delay::DelayNs for Limit {
    async fn delay_ns(&mut self, ns: u32) {
        self.0.borrow_mut().push(Heard::GaveUp(ns / 1_000_000));
    }
    async fn delay_ms(&mut self, ms: u32) {
        self.0.borrow_mut().push(Heard::GaveUp(ms));
    }
}

fn prompts(stuck: bool) -> (VoicePrompts<Module, Limit>, Log) {
    let log = Log::default();
    let module = Module {
        log: log.clone(),
        stuck,
    };
    (VoicePrompts::new(module, Limit(log.clone())), log)
}

#[test]
fn numbers_are_spoken_digit_by_digit() {
    assert_eq!(
        clips(&Announcement::PersonNumber(7)).as_slice(),
        &[40, 1, 1, 8]
    );
    assert_eq!(
        clips(&Announcement::PersonNumber(100)).as_slice(),
        &[40, 2, 1, 1]
    );
    assert_eq!(
        clips(&Announcement::SerialNumber(2026_0001)).as_slice(),
        &[41, 3, 1, 3, 7, 1, 1, 1, 2]
    );
    assert_eq!(
        clips(&Announcement::FirmwareVersion(1, 12, 0)).as_slice(),
        &[42, 2, POINT, 2, 3, POINT, 1]
    );
    assert_eq!(
        clips(&Announcement::VerificationCode(409_516)).as_slice(),
        &[43, 5, 1, 10, 6, 2, 7]
    );
    // Codes keep their leading zeros: six digits, and a Matter manual
    // pairing code's eleven.
    assert_eq!(
        clips(&Announcement::VerificationCode(9_516)).as_slice(),
        &[43, 1, 1, 10, 6, 2, 7]
    );
    assert_eq!(
        clips(&Announcement::MatterCode(34_970_112_332)).as_slice(),
        &[48, 4, 5, 10, 8, 1, 2, 2, 3, 4, 4, 3]
    );
    assert_eq!(
        clips(&Announcement::MatterCode(749_701_123)).as_slice(),
        &[48, 1, 1, 8, 5, 10, 8, 1, 2, 2, 3, 4]
    );
    assert_eq!(clips(&Announcement::SerialNumber(0)).as_slice(), &[41, 1]);
    assert_eq!(clips(&Announcement::SerialNumber(u64::MAX)).len(), 21);
}

#[test]
fn a_failure_says_the_sound_then_why() {
    assert_eq!(
        clips(&Announcement::Failure(Reason::Enroll(
            EnrollReason::Duplicate
        )))
        .as_slice(),
        &[FAILURE, 110]
    );
    assert_eq!(
        clips(&Announcement::Failure(Reason::NoMatch)).as_slice(),
        &[FAILURE, 81]
    );
    assert_eq!(
        clips(&Announcement::Failure(Reason::Passcode(
            PasscodeReason::Full
        )))
        .as_slice(),
        &[FAILURE, 106]
    );
    assert_eq!(
        clips(&Announcement::Failure(Reason::NotSetUp)).as_slice(),
        &[FAILURE, 99]
    );
    assert_eq!(
        clips(&Announcement::Enroll(Modality::Finger, EnrollStep::Lift)).as_slice(),
        &[71]
    );
    assert_eq!(
        clips(&Announcement::Enroll(Modality::Face, EnrollStep::Further)).as_slice(),
        &[58]
    );
}

#[test]
fn the_credential_choice_names_the_fitted_modules() {
    let all = Announcement::ChooseCredential {
        face: true,
        palm: true,
        finger: true,
    };
    assert_eq!(clips(&all).as_slice(), &[CHOOSE_ANY]);
    let face_and_finger = Announcement::ChooseCredential {
        face: true,
        palm: false,
        finger: true,
    };
    assert_eq!(
        clips(&face_and_finger).as_slice(),
        &[CHOOSE_FACE, CHOOSE_FINGER, CHOOSE_PASSCODE]
    );
    let none = Announcement::ChooseCredential {
        face: false,
        palm: false,
        finger: false,
    };
    assert_eq!(clips(&none).as_slice(), &[CHOOSE_PASSCODE]);
}

#[test]
fn each_clip_plays_after_the_one_before_has_ended() {
    let (mut sound, log) = prompts(false);
    run(sound.say(&Announcement::PersonNumber(42))).unwrap();
    assert_eq!(
        *log.borrow(),
        [40, 1, 5, 3].map(Heard::Play),
        "no clip was given up on"
    );
}

#[test]
fn a_clip_whose_end_never_comes_is_given_up_after_the_limit() {
    let (mut sound, log) = prompts(true);
    run(sound.say(&Announcement::Failure(Reason::DoorOpen))).unwrap();
    assert_eq!(
        *log.borrow(),
        [
            Heard::Play(FAILURE),
            Heard::GaveUp(CLIP_LIMIT_MS),
            Heard::Play(95),
            Heard::GaveUp(CLIP_LIMIT_MS),
        ]
    );
}

#[test]
fn stop_and_volume_reach_the_module_and_a_click_is_silent() {
    let (mut sound, log) = prompts(false);
    run(sound.set_volume(170)).unwrap();
    run(sound.click()).unwrap();
    run(sound.stop()).unwrap();
    assert_eq!(*log.borrow(), [Heard::Volume(170), Heard::Stop]);
    let (module, _) = sound.release();
    assert!(!module.stuck);
}
