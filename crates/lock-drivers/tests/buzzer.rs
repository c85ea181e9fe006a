//! `Buzzer`: the beep patterns of each announcement, played on a recording
//! PWM channel with a delay that moves a fake clock; and one piezo shared
//! with the alarm siren.
// Tests panic on failure by design; clippy's test exemption does not reach
// the helper functions of an integration test file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::rc::Rc;

use common::run;
use lock_drivers::buzzer::{
    BEFORE_NUMBER_MS, BETWEEN_DIGITS_MS, BETWEEN_PARTS_MS, Buzzer, CLASS_MS, CLICK_MS, COUNT_MS,
    Phrase, SharedPiezo, Step, pattern, steps,
};
use lock_hal::{
    Announcement, EnrollReason, EnrollStep, Modality, PasscodeReason, Reason, RefusalClass, Siren,
    Sound,
};

/// The steps of `what`'s pattern.
fn played(what: &Announcement) -> Vec<Step> {
    steps(&pattern(what)).collect()
}

/// How many beeps of `ms` the steps hold.
fn beeps_of(steps: &[Step], ms: u16) -> usize {
    steps.iter().filter(|s| s.on && s.ms == ms).count()
}

/// The counted groups of a number: the beeps of `COUNT_MS` between pauses.
fn counted(steps: &[Step]) -> Vec<usize> {
    let mut groups = Vec::new();
    for step in steps {
        if !step.on && step.ms != COUNT_MS {
            groups.push(0);
        } else if step.on
            && step.ms == COUNT_MS
            && let Some(last) = groups.last_mut()
        {
            *last += 1;
        }
    }
    groups
}

#[test]
fn a_number_is_counted_digit_by_digit_without_leading_zeros() {
    let seven = played(&Announcement::PersonNumber(7));
    assert_eq!(
        seven.first(),
        Some(&Step {
            on: false,
            ms: BEFORE_NUMBER_MS
        }),
        "a pause before the number"
    );
    assert_eq!(counted(&seven), [7]);
    let twelve = played(&Announcement::PersonNumber(12));
    assert_eq!(counted(&twelve), [1, 2]);
    assert!(twelve.contains(&Step {
        on: false,
        ms: BETWEEN_DIGITS_MS
    }));
    // Zero is ten beeps.
    assert_eq!(
        counted(&played(&Announcement::PersonNumber(100))),
        [1, 10, 10]
    );
    assert_eq!(
        counted(&played(&Announcement::VerificationCode(409_516))),
        [4, 10, 9, 5, 1, 6]
    );
    // Codes keep their leading zeros (ten beeps each).
    assert_eq!(
        counted(&played(&Announcement::VerificationCode(9_516))),
        [10, 10, 9, 5, 1, 6]
    );
    assert_eq!(
        counted(&played(&Announcement::MatterCode(749_701_123))),
        [10, 10, 7, 4, 9, 7, 10, 1, 1, 2, 3]
    );
    let version = played(&Announcement::FirmwareVersion(1, 12, 0));
    assert_eq!(counted(&version), [1, 1, 2, 10]);
    assert_eq!(
        version
            .iter()
            .filter(|s| !s.on && s.ms == BETWEEN_PARTS_MS)
            .count(),
        2
    );
    // The longest number fits the pattern.
    assert_eq!(
        counted(&played(&Announcement::SerialNumber(u64::MAX))).len(),
        20
    );
}

#[test]
fn a_failure_counts_its_refusal_class_and_the_classes_differ() {
    let examples = [
        Reason::NoMatch,
        Reason::OutsideValidity,
        Reason::PeopleFull,
        Reason::Passcode(PasscodeReason::TooWeak),
        Reason::Enroll(EnrollReason::ModuleFault),
    ];
    let mut patterns = Vec::new();
    for (reason, class) in examples.into_iter().zip(RefusalClass::ALL) {
        assert_eq!(reason.class(), class);
        let failure = played(&Announcement::Failure(reason));
        // The failure sound: three short beeps first.
        assert!(failure[..5].iter().step_by(2).all(|s| s.on && s.ms == 60));
        assert_eq!(beeps_of(&failure, CLASS_MS), usize::from(class.index()));
        patterns.push(failure);
    }
    for (i, a) in patterns.iter().enumerate() {
        for b in &patterns[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // Reasons of one class sound alike.
    assert_eq!(
        played(&Announcement::Failure(Reason::Passcode(
            PasscodeReason::Mismatch
        ))),
        played(&Announcement::Failure(Reason::OutOfRange))
    );
}

#[test]
fn the_plain_cues_sound_different() {
    let cues = [
        Announcement::EnterPasscode,
        Announcement::Enroll(Modality::Finger, EnrollStep::Lift),
        Announcement::Success,
        Announcement::Unlocked,
        Announcement::Locked,
        Announcement::SystemLocked,
        Announcement::PairingMode,
        Announcement::LowBattery,
        Announcement::Chime,
        Announcement::LeavingHome,
        Announcement::Jammed,
        Announcement::Failure(Reason::NoMatch),
    ];
    let patterns: Vec<Vec<Step>> = cues.iter().map(played).collect();
    for (i, a) in patterns.iter().enumerate() {
        for (j, b) in patterns.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "{:?} sounds like {:?}", cues[i], cues[j]);
        }
    }
    // Every question is the one short "your turn" beep.
    let your_turn = [Step { on: true, ms: 60 }];
    for asking in [
        Announcement::Menu,
        Announcement::ChooseCredential {
            face: false,
            palm: true,
            finger: true,
        },
        Announcement::Enroll(Modality::Face, EnrollStep::HeadLeft),
        Announcement::FactoryResetConfirm,
    ] {
        assert!(asking.asks());
        assert_eq!(played(&asking), your_turn);
    }
    assert_eq!(
        pattern(&Announcement::Success).as_slice(),
        &[Phrase::Beeps {
            count: 1,
            on_ms: 400,
            off_ms: 80
        }]
    );
}

/// A PWM channel that notes each duty with the fake clock's time.
struct Pwm {
    now: Rc<Cell<u64>>,
    duties: Rc<RefCell<Vec<(u64, u16)>>>,
}

impl embedded_hal::pwm::ErrorType for Pwm {
    type Error = Infallible;
}

impl embedded_hal::pwm::SetDutyCycle for Pwm {
    fn max_duty_cycle(&self) -> u16 {
        1000
    }
    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), Infallible> {
        self.duties.borrow_mut().push((self.now.get(), duty));
        Ok(())
    }
}

/// A delay that moves the fake clock.
struct Delay(Rc<Cell<u64>>);

impl embedded_hal_async::delay::DelayNs for Delay {
    async fn delay_ns(&mut self, ns: u32) {
        self.0.set(self.0.get() + u64::from(ns.div_ceil(1_000_000)));
    }
    async fn delay_ms(&mut self, ms: u32) {
        self.0.set(self.0.get() + u64::from(ms));
    }
}

type Duties = Rc<RefCell<Vec<(u64, u16)>>>;

fn pwm_and_delay() -> (Pwm, Delay, Duties) {
    let now = Rc::new(Cell::new(0));
    let duties = Duties::default();
    let pwm = Pwm {
        now: now.clone(),
        duties: duties.clone(),
    };
    (pwm, Delay(now), duties)
}

#[test]
fn the_driver_plays_the_pattern_in_time_and_ends_silent() {
    let (pwm, delay, duties) = pwm_and_delay();
    let mut buzzer = Buzzer::new(pwm, delay).unwrap();
    run(buzzer.say(&Announcement::PersonNumber(2))).unwrap();
    // Silenced at start; the pause; two beeps of 150 ms, 150 ms apart at
    // half the period (the loudest); silent at the end.
    let on = 500;
    assert_eq!(
        *duties.borrow(),
        [(0, 0), (0, 0), (600, on), (750, 0), (900, on), (1050, 0)]
    );
    duties.borrow_mut().clear();
    run(buzzer.click()).unwrap();
    assert_eq!(
        *duties.borrow(),
        [(1050, on), (1050 + u64::from(CLICK_MS), 0)]
    );
}

#[test]
fn the_volume_scales_the_duty_and_zero_is_silent() {
    let (pwm, delay, duties) = pwm_and_delay();
    let mut buzzer = Buzzer::new(pwm, delay).unwrap();
    run(buzzer.set_volume(85)).unwrap();
    run(buzzer.say(&Announcement::Success)).unwrap();
    assert_eq!(duties.borrow()[1], (0, 166));
    duties.borrow_mut().clear();
    run(buzzer.set_volume(0)).unwrap();
    run(buzzer.say(&Announcement::Chime)).unwrap();
    assert!(duties.borrow().iter().all(|&(_, duty)| duty == 0));
    run(buzzer.stop()).unwrap();
    // Silent beeps still take their time: 400 ms, then 400 + 80 + 400.
    assert_eq!(duties.borrow().last(), Some(&(1_280, 0)));
}

#[test]
fn one_piezo_is_the_siren_too_and_the_alarm_is_not_cut() {
    let (pwm, delay, duties) = pwm_and_delay();
    let piezo = SharedPiezo::new(pwm);
    let mut siren = piezo.siren();
    let mut buzzer = Buzzer::new(piezo.sound(), delay).unwrap();
    siren.set(true).unwrap();
    let alarm = duties.borrow().len();
    assert_eq!(duties.borrow().last(), Some(&(0, 500)));
    // An announcement during the alarm leaves the piezo alone.
    run(buzzer.say(&Announcement::Unlocked)).unwrap();
    run(buzzer.click()).unwrap();
    assert_eq!(duties.borrow().len(), alarm);
    siren.set(false).unwrap();
    run(buzzer.say(&Announcement::Success)).unwrap();
    let after: Vec<u16> = duties.borrow()[alarm..].iter().map(|d| d.1).collect();
    assert_eq!(after, [0, 500, 0]);
    // Both halves given back, the channel is the board's again.
    let _ = buzzer.release();
    let pwm = piezo.release();
    assert_eq!(pwm.duties.borrow().len(), alarm + 3);
}
