//! Thin adapters from esp-hal and embassy types to the traits the runtime
//! and the drivers take, where no implementation exists already.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::{Instant, Timer};
use embedded_hal::digital::OutputPin;
use esp_hal::Blocking;
use esp_hal::analog::adc::{Adc, AdcChannel, AdcPin};
use esp_hal::peripherals::ADC1;
use esp_hal::rng::Trng;
use lock_drivers::battery::RawAdc;
use lock_drivers::face::{Encryption, Face};
use lock_hal::{
    Biometric, Clock, EnrollStatus, Entropy, ErrorKind, ErrorType, Identification, StallSensor,
};

/// The lock's clock: embassy-time on esp-rtos's timer (1 MHz ticks). A wait
/// arms one alarm and the core sleeps (WFI) until it or an interrupt fires.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    fn now_ms(&self) -> u64 {
        Instant::now().as_millis()
    }

    async fn wait_until(&mut self, at_ms: u64) {
        match Instant::try_from_millis(at_ms) {
            Some(at) => Timer::at(at).await,
            // Beyond the tick counter's range: never.
            None => core::future::pending().await,
        }
    }
}

/// The on-chip RNG as a true RNG: its output mixes in RF noise while the
/// radio runs (esp-radio registers itself as the entropy source). When no
/// source is on, it refuses rather than hand out pseudo-random bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChipEntropy;

impl ErrorType for ChipEntropy {
    type Error = ErrorKind;
}

impl Entropy for ChipEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        let trng = Trng::try_new().map_err(|_| ErrorKind::Device)?;
        trng.read(buf);
        Ok(())
    }
}

/// ADC1, shared by the battery divider and the motor's shunt: one blocking
/// conversion (a few microseconds) at a time, never held across an await.
pub type SharedAdc = BlockingMutex<NoopRawMutex, RefCell<Adc<'static, ADC1<'static>, Blocking>>>;

/// Conversions a reading may spin for before it is called a timeout (one
/// takes well under a hundred).
const CONVERSION_SPINS: u32 = 10_000;

/// One ADC1 input.
pub struct AdcInput<'a, P> {
    adc: &'a SharedAdc,
    pin: AdcPin<P, ADC1<'static>>,
}

impl<'a, P: AdcChannel> AdcInput<'a, P> {
    /// The pin, enabled on `adc`'s configuration.
    pub fn new(adc: &'a SharedAdc, pin: AdcPin<P, ADC1<'static>>) -> Self {
        AdcInput { adc, pin }
    }

    fn convert(&mut self) -> Result<u16, ErrorKind> {
        self.adc.lock(|adc| {
            let mut adc = adc.borrow_mut();
            for _ in 0..CONVERSION_SPINS {
                match adc.read_oneshot(&mut self.pin) {
                    Ok(raw) => return Ok(raw),
                    Err(nb::Error::WouldBlock) => {}
                    Err(nb::Error::Other(())) => return Err(ErrorKind::Device),
                }
            }
            Err(ErrorKind::Timeout)
        })
    }
}

impl<P: AdcChannel> RawAdc for AdcInput<'_, P> {
    type Error = ErrorKind;

    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        self.convert()
    }
}

/// The motor's stall: the shunt voltage on ADC1, sampled every
/// [`ShuntStall::PERIOD_MS`] only while the runtime waits for a stall (it
/// does only while the motor runs), a stall being [`ShuntStall::SAMPLES`]
/// readings in a row at or above the threshold.
pub struct ShuntStall<'a, P> {
    input: AdcInput<'a, P>,
    threshold_raw: u16,
}

impl<'a, P: AdcChannel> ShuntStall<'a, P> {
    /// How often the shunt is read while the motor runs.
    pub const PERIOD_MS: u64 = 5;
    /// Readings in a row over the threshold that make a stall.
    pub const SAMPLES: u8 = 3;

    /// `threshold_raw`: the raw reading of the stall current through the
    /// board's shunt and amplifier.
    pub fn new(input: AdcInput<'a, P>, threshold_raw: u16) -> Self {
        ShuntStall {
            input,
            threshold_raw,
        }
    }
}

impl<P> ErrorType for ShuntStall<'_, P> {
    type Error = ErrorKind;
}

impl<P: AdcChannel> StallSensor for ShuntStall<'_, P> {
    async fn wait_for_stall(&mut self) -> Result<(), ErrorKind> {
        let mut over = 0u8;
        loop {
            if self.input.convert()? >= self.threshold_raw {
                over = over.saturating_add(1);
                if over >= Self::SAMPLES {
                    return Ok(());
                }
            } else {
                over = 0;
            }
            Timer::after_millis(Self::PERIOD_MS).await;
        }
    }
}

/// One EF AA module that recognises faces and palms, shared by the
/// runtime's face and palm parts (lock-drivers gives the palm as a borrowed
/// view of the face driver; the runtime wants two parts). The runtime runs
/// one module operation at a time, so the lock is never contended; it
/// exists because both parts hold the module.
///
/// It also switches the module's power: on before each operation (waiting
/// for its READY note), POWERDOWN and off after, since the module draws
/// far too much to stay on in a battery lock.
pub struct FaceModule<U, C, E, P> {
    face: Face<U, C, E>,
    enable: P,
}

impl<U, C, E, P> FaceModule<U, C, E, P> {
    /// The driver and the module's power switch.
    pub fn new(face: Face<U, C, E>, enable: P) -> Self {
        FaceModule { face, enable }
    }
}

/// How long the module may take to boot and send READY.
const FACE_BOOT_MS: u32 = 2_000;

/// What [`SharedFace`] and [`SharedPalm`] report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceError {
    /// The driver's error.
    Module(lock_drivers::face::Error),
    /// The power switch failed.
    Power,
}

impl lock_hal::Error for FaceError {
    fn kind(&self) -> ErrorKind {
        match self {
            FaceError::Module(error) => lock_hal::Error::kind(error),
            FaceError::Power => ErrorKind::Bus,
        }
    }
}

/// A [`FaceModule`] behind an async mutex.
pub type SharedModule<U, C, E, P> = Mutex<NoopRawMutex, FaceModule<U, C, E, P>>;

/// Which side of the module an operation is for.
#[derive(Clone, Copy)]
enum Side {
    Face,
    Palm,
}

/// One biometric operation on the module.
enum Operation {
    Identify,
    Enroll(u16, u8),
    Cancel,
    Delete(u16),
    Clear,
}

enum Outcome {
    Identified(Identification),
    Enrolled(EnrollStatus),
    Done,
}

async fn run<U, C, E, P>(
    module: &SharedModule<U, C, E, P>,
    side: Side,
    operation: Operation,
) -> Result<Outcome, FaceError>
where
    U: embedded_io_async::Read + embedded_io_async::Write,
    C: Clock,
    E: Encryption,
    P: OutputPin,
{
    let mut module = module.lock().await;
    let FaceModule { face, enable } = &mut *module;
    enable.set_high().map_err(|_| FaceError::Power)?;
    let outcome = match face.wait_until_ready(FACE_BOOT_MS).await {
        Ok(()) => match (side, operation) {
            (Side::Face, Operation::Identify) => face.identify().await.map(Outcome::Identified),
            (Side::Palm, Operation::Identify) => {
                face.palm().identify().await.map(Outcome::Identified)
            }
            (Side::Face, Operation::Enroll(template, step)) => face
                .enroll_step(template, step)
                .await
                .map(Outcome::Enrolled),
            (Side::Palm, Operation::Enroll(template, step)) => face
                .palm()
                .enroll_step(template, step)
                .await
                .map(Outcome::Enrolled),
            (_, Operation::Cancel) => face.cancel_enroll().await.map(|()| Outcome::Done),
            (_, Operation::Delete(template)) => face.delete(template).await.map(|()| Outcome::Done),
            (_, Operation::Clear) => face.clear().await.map(|()| Outcome::Done),
        },
        Err(error) => Err(error),
    };
    // Power goes off whatever happened; a module that did not answer
    // POWERDOWN is cut all the same.
    let _ = face.power_down().await;
    let off = enable.set_low().map_err(|_| FaceError::Power);
    let outcome = outcome.map_err(FaceError::Module)?;
    off?;
    Ok(outcome)
}

macro_rules! module_side {
    ($name:ident, $side:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name<'a, U, C, E, P>(pub &'a SharedModule<U, C, E, P>);

        impl<U, C, E, P> ErrorType for $name<'_, U, C, E, P> {
            type Error = FaceError;
        }

        impl<U, C, E, P> Biometric for $name<'_, U, C, E, P>
        where
            U: embedded_io_async::Read + embedded_io_async::Write,
            C: Clock,
            E: Encryption,
            P: OutputPin,
        {
            /// Never returns: the module cannot tell a face or hand came
            /// into range; the lock starts identification on a touch.
            async fn wait_for_sample(&mut self) -> Result<(), FaceError> {
                core::future::pending().await
            }
            async fn identify(&mut self) -> Result<Identification, FaceError> {
                match run(self.0, $side, Operation::Identify).await? {
                    Outcome::Identified(identification) => Ok(identification),
                    _ => Ok(Identification::NoSample),
                }
            }
            async fn enroll_step(
                &mut self,
                template: u16,
                step: u8,
            ) -> Result<EnrollStatus, FaceError> {
                match run(self.0, $side, Operation::Enroll(template, step)).await? {
                    Outcome::Enrolled(status) => Ok(status),
                    _ => Err(FaceError::Module(lock_drivers::face::Error::Timeout)),
                }
            }
            async fn cancel_enroll(&mut self) -> Result<(), FaceError> {
                run(self.0, $side, Operation::Cancel).await.map(|_| ())
            }
            async fn delete(&mut self, template: u16) -> Result<(), FaceError> {
                run(self.0, $side, Operation::Delete(template))
                    .await
                    .map(|_| ())
            }
            async fn clear(&mut self) -> Result<(), FaceError> {
                run(self.0, $side, Operation::Clear).await.map(|_| ())
            }
        }
    };
}

module_side!(
    SharedFace,
    Side::Face,
    "The face side of the shared module."
);
module_side!(
    SharedPalm,
    Side::Palm,
    "The palm side of the shared module."
);
