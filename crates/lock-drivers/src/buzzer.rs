//! [`Buzzer`]: the lock's [`Sound`] on a piezo buzzer, for a lock without a
//! voice module. Each [`Announcement`] is a pattern of beeps; a refusal's
//! class and a number are counted out, so the person still hears why the
//! lock refused and which number a new person got.
//!
//! **Wiring.** A passive piezo (or a small speaker through a transistor) on
//! a PWM channel. embedded-hal 1.0's [`SetDutyCycle`] sets the duty only,
//! not the frequency, so the board sets the channel's frequency once when
//! it configures it: the piezo's resonance, typically 2–4 kHz (2.7 kHz for
//! the common 12 mm parts), where it is loudest. The driver switches the
//! tone by the duty: 0 is silence, half the period is the loudest square
//! wave; [`Sound::set_volume`] scales that half down. One pitch, so the
//! patterns differ by rhythm. An active buzzer (one with its own
//! oscillator) on a GPIO has a duty of 0 or 100 % only: wrap its pin in a
//! [`SetDutyCycle`] whose `max_duty_cycle` is 1, and the volume has two
//! steps (silent, on).
//!
//! **Timing.** An async [`DelayNs`] times the beeps (milliseconds: an
//! executor's latency only stretches a pause).
//!
//! **The patterns** ([`pattern`]). A *short* beep is 60 ms, a *long* one
//! 400 ms, beeps of one group 80 ms apart:
//!
//! | announcement | pattern |
//! |---|---|
//! | a key click ([`Sound::click`]) | one 8 ms tick |
//! | a question or menu, an enrolment step ([`Announcement::asks`]); "lift" | one short ("your turn"); "lift": two short |
//! | success, factory settings restored | one long |
//! | unlocked | two short, one long |
//! | locked | one long, two short |
//! | failure | three short (the failure sound), a 300 ms pause, then the [`RefusalClass`](lock_hal::RefusalClass) counted in 200 ms beeps: 1 not recognised, 2 not allowed, 3 full, 4 bad entry, 5 fault |
//! | system locked | three long |
//! | pairing mode | short, long, short |
//! | low battery | two short, a 300 ms pause, two short |
//! | doorbell chime | two long |
//! | leaving-home mode | one long, one short |
//! | bolt jammed | one 1.2 s beep |
//! | a number | a 600 ms pause, then each digit counted in 150 ms beeps 150 ms apart (0 is ten beeps), 700 ms between digits; a person number without its leading zeros (7 is seven beeps, 12 is one then two); the firmware version's parts 1.2 s apart (instead of the 600 ms pause) |
//!
//! **The alarm.** The siren is the runtime's other output ([`Siren`]), set
//! from the control loop while the buzzer plays in the sound lane. One
//! piezo serves both through a [`SharedPiezo`]: its [`SharedPiezo::sound`]
//! half goes to a `Buzzer`, its [`SharedPiezo::siren`] half is the board's
//! siren. While the alarm sounds, the piezo is on at its loudest, the one
//! continuous sound of the lock, whatever the volume; announcements and
//! clicks are silent meanwhile, so none cuts it.

use core::cell::{Cell, RefCell};

use embedded_hal::pwm::{self, SetDutyCycle};
use embedded_hal_async::delay::DelayNs;
use heapless::Vec;
use lock_hal::{Announcement, EnrollStep, ErrorKind, ErrorType, Siren, Sound};

use crate::prompts::{MATTER_CODE_DIGITS, VERIFICATION_CODE_DIGITS, decimal_digits};

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The PWM channel failed.
    #[error("PWM error: {0:?}")]
    Pwm(pwm::ErrorKind),
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Pwm(_) => ErrorKind::Bus,
        }
    }
}

fn pwm_error<E: pwm::Error>(error: E) -> Error {
    Error::Pwm(error.kind())
}

/// A short beep, ms.
pub const SHORT_MS: u16 = 60;
/// A long beep, ms.
pub const LONG_MS: u16 = 400;
/// Between the beeps of one group, ms.
pub const GAP_MS: u16 = 80;
/// The key click, ms.
pub const CLICK_MS: u16 = 8;
/// One counted beep of a refusal class, ms (and the gap after it: 120).
pub const CLASS_MS: u16 = 200;
/// One counted beep of a digit, ms (and the gap after it).
pub const COUNT_MS: u16 = 150;
/// Before a number, ms.
pub const BEFORE_NUMBER_MS: u16 = 600;
/// Between the digits of a number, ms.
pub const BETWEEN_DIGITS_MS: u16 = 700;
/// Between the parts of the firmware version, ms.
pub const BETWEEN_PARTS_MS: u16 = 1_200;
/// Between the parts of a two-part pattern, ms.
pub const PAUSE_MS: u16 = 300;
/// The jammed bolt's beep, ms.
pub const JAMMED_MS: u16 = 1_200;

/// One piece of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Phrase {
    /// `count` beeps of `on_ms`, `off_ms` apart (no silence after the last).
    Beeps {
        /// How many.
        count: u8,
        /// Each beep's length.
        on_ms: u16,
        /// The silence between two beeps.
        off_ms: u16,
    },
    /// Silence.
    Rest(u16),
}

/// Most phrases a pattern needs: a serial number's 20 digits, each with
/// the pause before it.
pub const MAX_PHRASES: usize = 44;

/// A pattern: phrases, played in order.
pub type Pattern = Vec<Phrase, MAX_PHRASES>;

/// One step of a pattern as the driver plays it: the tone on or off for
/// `ms` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Step {
    /// The tone sounds.
    pub on: bool,
    /// For this long.
    pub ms: u16,
}

fn beeps(out: &mut Pattern, count: u8, on_ms: u16, off_ms: u16) {
    // Cannot fail: the longest pattern is MAX_PHRASES long.
    let _ = out.push(Phrase::Beeps {
        count,
        on_ms,
        off_ms,
    });
}

fn rest(out: &mut Pattern, ms: u16) {
    let _ = out.push(Phrase::Rest(ms));
}

/// A number: a pause of `lead_ms`, then each digit counted (0 as ten),
/// digits apart.
fn number(out: &mut Pattern, n: u64, width: usize, lead_ms: u16) {
    for (i, d) in decimal_digits(n, width).into_iter().enumerate() {
        rest(out, if i == 0 { lead_ms } else { BETWEEN_DIGITS_MS });
        let count = if d == 0 { 10 } else { d };
        beeps(out, count, COUNT_MS, COUNT_MS);
    }
}

/// The pattern that says `what` (the table in the module docs).
pub fn pattern(what: &Announcement) -> Pattern {
    let mut out = Pattern::new();
    match *what {
        Announcement::Enroll(_, EnrollStep::Lift) => beeps(&mut out, 2, SHORT_MS, GAP_MS),
        Announcement::Success | Announcement::FactoryReset => beeps(&mut out, 1, LONG_MS, GAP_MS),
        Announcement::Unlocked => {
            beeps(&mut out, 2, SHORT_MS, GAP_MS);
            rest(&mut out, GAP_MS);
            beeps(&mut out, 1, LONG_MS, GAP_MS);
        }
        Announcement::Locked => {
            beeps(&mut out, 1, LONG_MS, GAP_MS);
            rest(&mut out, GAP_MS);
            beeps(&mut out, 2, SHORT_MS, GAP_MS);
        }
        Announcement::Failure(reason) => {
            beeps(&mut out, 3, SHORT_MS, GAP_MS);
            rest(&mut out, PAUSE_MS);
            beeps(&mut out, reason.class().index(), CLASS_MS, 120);
        }
        Announcement::SystemLocked => beeps(&mut out, 3, LONG_MS, GAP_MS),
        Announcement::PairingMode => {
            beeps(&mut out, 1, SHORT_MS, GAP_MS);
            rest(&mut out, GAP_MS);
            beeps(&mut out, 1, LONG_MS, GAP_MS);
            rest(&mut out, GAP_MS);
            beeps(&mut out, 1, SHORT_MS, GAP_MS);
        }
        Announcement::LowBattery => {
            beeps(&mut out, 2, SHORT_MS, GAP_MS);
            rest(&mut out, PAUSE_MS);
            beeps(&mut out, 2, SHORT_MS, GAP_MS);
        }
        Announcement::Chime => beeps(&mut out, 2, LONG_MS, GAP_MS),
        Announcement::LeavingHome => {
            beeps(&mut out, 1, LONG_MS, GAP_MS);
            rest(&mut out, GAP_MS);
            beeps(&mut out, 1, SHORT_MS, GAP_MS);
        }
        Announcement::Jammed => beeps(&mut out, 1, JAMMED_MS, GAP_MS),
        // Counted beeps: a person's number without its leading zeros (ten
        // beeps each); a code with them, to compare digit for digit.
        Announcement::PersonNumber(n) => number(&mut out, u64::from(n), 1, BEFORE_NUMBER_MS),
        Announcement::SerialNumber(n) => number(&mut out, n, 1, BEFORE_NUMBER_MS),
        Announcement::VerificationCode(n) => number(
            &mut out,
            u64::from(n),
            VERIFICATION_CODE_DIGITS,
            BEFORE_NUMBER_MS,
        ),
        Announcement::MatterCode(n) => {
            number(&mut out, n, MATTER_CODE_DIGITS, BEFORE_NUMBER_MS);
        }
        Announcement::FirmwareVersion(major, minor, patch) => {
            number(&mut out, u64::from(major), 1, BEFORE_NUMBER_MS);
            number(&mut out, u64::from(minor), 1, BETWEEN_PARTS_MS);
            number(&mut out, u64::from(patch), 1, BETWEEN_PARTS_MS);
        }
        // The cues that ask (`Announcement::asks`): "your turn".
        Announcement::DoorDirection
        | Announcement::CreateAdministrator
        | Announcement::EnterPasscode
        | Announcement::EnterPasscodeAgain
        | Announcement::VerifyAdministrator
        | Announcement::Menu
        | Announcement::ChooseCredential { .. }
        | Announcement::EnterPersonNumber
        | Announcement::SettingsMenu
        | Announcement::FactoryResetConfirm
        | Announcement::Enroll(..) => beeps(&mut out, 1, SHORT_MS, GAP_MS),
    }
    out
}

/// The steps of `pattern`, in order, as the driver plays them.
pub fn steps(pattern: &[Phrase]) -> impl Iterator<Item = Step> + '_ {
    pattern.iter().flat_map(|phrase| {
        let (count, on_ms, off_ms, rest_ms) = match *phrase {
            Phrase::Beeps {
                count,
                on_ms,
                off_ms,
            } => (count, on_ms, off_ms, 0),
            Phrase::Rest(ms) => (0, 0, 0, ms),
        };
        let beeps = (0..count).flat_map(move |i| {
            let off = (i > 0).then_some(Step {
                on: false,
                ms: off_ms,
            });
            off.into_iter().chain(core::iter::once(Step {
                on: true,
                ms: on_ms,
            }))
        });
        let silence = (rest_ms > 0).then_some(Step {
            on: false,
            ms: rest_ms,
        });
        beeps.chain(silence)
    })
}

/// The lock's [`Sound`] on a piezo buzzer (see the module docs).
pub struct Buzzer<P, D> {
    pwm: P,
    delay: D,
    /// The loudness, 0–255.
    level: u8,
}

impl<P: SetDutyCycle, D: DelayNs> Buzzer<P, D> {
    /// Takes the PWM channel (its frequency set to the piezo's) and a
    /// delay; silences the piezo. The volume starts at its loudest.
    pub fn new(mut pwm: P, delay: D) -> Result<Self, Error> {
        pwm.set_duty_cycle_fully_off().map_err(pwm_error)?;
        Ok(Buzzer {
            pwm,
            delay,
            level: u8::MAX,
        })
    }

    /// Gives the channel and the delay back.
    pub fn release(self) -> (P, D) {
        (self.pwm, self.delay)
    }

    fn tone(&mut self, on: bool) -> Result<(), Error> {
        if on && self.level > 0 {
            // Half the period is the loudest square wave; the volume
            // scales it down. At least 1 so a low volume is not silent.
            let max = u32::from(self.pwm.max_duty_cycle());
            let duty = (max * u32::from(self.level) / 255 / 2).max(1);
            let duty = u16::try_from(duty).unwrap_or(u16::MAX);
            self.pwm.set_duty_cycle(duty).map_err(pwm_error)
        } else {
            self.pwm.set_duty_cycle_fully_off().map_err(pwm_error)
        }
    }

    async fn play(&mut self, steps: impl Iterator<Item = Step>) -> Result<(), Error> {
        for step in steps {
            self.tone(step.on)?;
            self.delay.delay_ms(u32::from(step.ms)).await;
        }
        self.tone(false)
    }
}

impl<P, D> ErrorType for Buzzer<P, D> {
    type Error = Error;
}

impl<P: SetDutyCycle, D: DelayNs> Sound for Buzzer<P, D> {
    async fn say(&mut self, what: &Announcement) -> Result<(), Error> {
        let pattern = pattern(what);
        self.play(steps(&pattern)).await
    }

    async fn stop(&mut self) -> Result<(), Error> {
        self.tone(false)
    }

    async fn set_volume(&mut self, level: u8) -> Result<(), Error> {
        self.level = level;
        Ok(())
    }

    async fn click(&mut self) -> Result<(), Error> {
        let tick = Step {
            on: true,
            ms: CLICK_MS,
        };
        self.play(core::iter::once(tick)).await
    }
}

/// One piezo for both the [`Buzzer`] and the alarm siren (see the module
/// docs). Both halves borrow it, so a board keeps it where both live as
/// long as the runtime (a `static_cell::StaticCell`).
pub struct SharedPiezo<P> {
    pwm: RefCell<P>,
    alarm: Cell<bool>,
}

impl<P: SetDutyCycle> SharedPiezo<P> {
    /// Shares the PWM channel.
    pub fn new(pwm: P) -> Self {
        SharedPiezo {
            pwm: RefCell::new(pwm),
            alarm: Cell::new(false),
        }
    }

    /// The half that plays announcements: the channel for a [`Buzzer`].
    pub fn sound(&self) -> PiezoSound<'_, P> {
        PiezoSound(self)
    }

    /// The half that sounds the alarm: the board's [`Siren`].
    pub fn siren(&self) -> PiezoSiren<'_, P> {
        PiezoSiren(self)
    }

    /// Gives the channel back.
    pub fn release(self) -> P {
        self.pwm.into_inner()
    }

    fn with<T>(&self, f: impl FnOnce(&mut P) -> Result<T, P::Error>) -> Result<T, PiezoError> {
        // Never borrowed across an await, so never busy: each half only
        // sets the duty.
        let mut pwm = self.pwm.try_borrow_mut().map_err(|_| PiezoError::Busy)?;
        f(&mut pwm).map_err(|e| PiezoError::Pwm(pwm::Error::kind(&e)))
    }
}

/// The error of a [`SharedPiezo`]'s halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PiezoError {
    /// The PWM channel failed.
    #[error("PWM error: {0:?}")]
    Pwm(pwm::ErrorKind),
    /// The other half was using the channel.
    #[error("PWM channel busy")]
    Busy,
}

impl pwm::Error for PiezoError {
    fn kind(&self) -> pwm::ErrorKind {
        match self {
            PiezoError::Pwm(kind) => *kind,
            PiezoError::Busy => pwm::ErrorKind::Other,
        }
    }
}

impl lock_hal::Error for PiezoError {
    fn kind(&self) -> ErrorKind {
        match self {
            PiezoError::Pwm(_) => ErrorKind::Bus,
            PiezoError::Busy => ErrorKind::Busy,
        }
    }
}

/// A [`SharedPiezo`]'s announcement half: a PWM channel for a [`Buzzer`]
/// that stays silent while the alarm sounds.
pub struct PiezoSound<'a, P>(&'a SharedPiezo<P>);

impl<P: SetDutyCycle> pwm::ErrorType for PiezoSound<'_, P> {
    type Error = PiezoError;
}

impl<P: SetDutyCycle> SetDutyCycle for PiezoSound<'_, P> {
    fn max_duty_cycle(&self) -> u16 {
        self.0
            .pwm
            .try_borrow()
            .map_or(1, |pwm| pwm.max_duty_cycle())
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), PiezoError> {
        if self.0.alarm.get() {
            // The alarm owns the piezo.
            return Ok(());
        }
        self.0.with(|pwm| pwm.set_duty_cycle(duty))
    }
}

/// A [`SharedPiezo`]'s alarm half: the board's [`Siren`].
pub struct PiezoSiren<'a, P>(&'a SharedPiezo<P>);

impl<P: SetDutyCycle> ErrorType for PiezoSiren<'_, P> {
    type Error = PiezoError;
}

impl<P: SetDutyCycle> Siren for PiezoSiren<'_, P> {
    /// On: the piezo at its loudest, continuously; off: silent (an
    /// announcement under way goes on with its next beep).
    fn set(&mut self, on: bool) -> Result<(), PiezoError> {
        self.0.alarm.set(on);
        self.0.with(|pwm| {
            if on {
                pwm.set_duty_cycle_fraction(1, 2)
            } else {
                pwm.set_duty_cycle_fully_off()
            }
        })
    }
}
