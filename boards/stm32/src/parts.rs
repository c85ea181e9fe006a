//! Thin adapters from embassy-stm32 and embassy types to the traits the
//! runtime and the drivers take, where no implementation exists already.

use core::cell::RefCell;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embassy_stm32::adc::{Adc, AdcChannel, SampleTime, VREF_CALIB_MV, VrefInt};
use embassy_stm32::peripherals::{ADC1, RNG};
use embassy_stm32::rcc::{StopMode, WakeGuard};
use embassy_stm32::rng::Rng;
use embassy_stm32::usart::{self, BufferedUart};
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::{Instant, Timer};
use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal_async::digital::Wait;
use lock_drivers::battery::{RawAdc, stm32_vdda_mv};
use lock_drivers::face::{Encryption, Face};
use lock_drivers::switch::GpioContact;
use lock_hal::{
    Biometric, Clock, ContactSensor, EnrollStatus, Entropy, ErrorKind, ErrorType, Identification,
    StallSensor, UsbPower,
};

/// The lock's clock: embassy-time on the chip's time driver (TIM15, 1 MHz
/// ticks; the RTC carries the count through STOP). A wait arms one alarm
/// and the executor sleeps until it or an interrupt fires.
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

/// Polls of the RNG's status a fill may take before it is called a
/// timeout. A 32-bit word takes about 46 cycles of the RNG's 48 MHz clock;
/// without that clock no word ever comes.
const RNG_POLLS: u32 = 100_000;

/// The RNG peripheral (a true RNG: analog noise through a conditioning
/// stage, with the reference manual's health checks). A seed or clock
/// error, or no word in time, refuses the fill: lock-hal's `Entropy` asks
/// for failure rather than weak output, and embassy-stm32's blocking reads
/// would instead retry for ever.
pub struct ChipEntropy<'d> {
    rng: Rng<'d, RNG>,
}

impl<'d> ChipEntropy<'d> {
    /// The RNG, reset and checked by `Rng::new`.
    pub fn new(rng: Rng<'d, RNG>) -> Self {
        ChipEntropy { rng }
    }
}

impl ErrorType for ChipEntropy<'_> {
    type Error = ErrorKind;
}

impl Entropy for ChipEntropy<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        // The driver's checked fill is async (it sleeps on the RNG's
        // interrupt between words); here it is polled in place, since the
        // next word is at most a few microseconds away.
        let mut fill = pin!(self.rng.async_fill_bytes(buf));
        let mut context = Context::from_waker(Waker::noop());
        for _ in 0..RNG_POLLS {
            if let Poll::Ready(result) = fill.as_mut().poll(&mut context) {
                return result.map_err(|_| ErrorKind::Device);
            }
        }
        Err(ErrorKind::Timeout)
    }
}

/// ADC1, shared by the battery divider and the motor's shunt: one blocking
/// conversion (tens of microseconds) at a time, never held across an await.
pub type SharedAdc = BlockingMutex<NoopRawMutex, RefCell<Adc<'static, ADC1>>>;

/// One ADC1 input whose readings are corrected for VDDA through VREFINT.
///
/// VDDA is the ADC's reference and, on a battery lock, follows the supply.
/// Each reading converts VREFINT too and returns what the input would have
/// read at [`VREF_CALIB_MV`] (3.0 V), where the factory measured VREFINT
/// (`VREFINT_CAL`): raw × VDDA / 3000, with VDDA from lock-drivers'
/// [`stm32_vdda_mv`]. So a gauge built with `Chip::Stm32 { vdda_mv: 3000 }`
/// converts it to millivolts whatever VDDA is. Inputs above 3.0 V read 4095
/// (a 1:2 divider on a 1-cell Li-ion stays under 2.1 V).
pub struct AdcInput<'a, P> {
    adc: &'a SharedAdc,
    pin: P,
    vrefint: VrefInt,
}

/// Long enough for a divider of some 100 kΩ and for VREFINT (at least 4 µs:
/// 640.5 cycles are 13 µs at 48 MHz).
const SAMPLE_TIME: SampleTime = SampleTime::CYCLES640_5;

impl<'a, P: AdcChannel<ADC1>> AdcInput<'a, P> {
    /// `pin` on `adc`; `vrefint` from `Adc::enable_vrefint`.
    pub fn new(adc: &'a SharedAdc, pin: P, vrefint: VrefInt) -> Self {
        AdcInput { adc, pin, vrefint }
    }

    fn convert(&mut self) -> Result<u16, ErrorKind> {
        let (reference, raw) = self.adc.lock(|adc| {
            let mut adc = adc.borrow_mut();
            let reference = adc.blocking_read(&mut self.vrefint, SAMPLE_TIME);
            (reference, adc.blocking_read(&mut self.pin, SAMPLE_TIME))
        });
        let calibration_mv = u16::try_from(VREF_CALIB_MV).map_err(|_| ErrorKind::Other)?;
        // A VREFINT reading of 0 means no reference: not a measurement.
        let vdda_mv = stm32_vdda_mv(self.vrefint.calibrated_value(), reference, calibration_mv)
            .ok_or(ErrorKind::Device)?;
        let at_calibration = u32::from(raw) * u32::from(vdda_mv) / u32::from(calibration_mv);
        Ok(u16::try_from(at_calibration.min(4095)).unwrap_or(4095))
    }
}

impl<P: AdcChannel<ADC1>> RawAdc for AdcInput<'_, P> {
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

impl<'a, P: AdcChannel<ADC1>> ShuntStall<'a, P> {
    /// How often the shunt is read while the motor runs.
    pub const PERIOD_MS: u64 = 5;
    /// Readings in a row over the threshold that make a stall.
    pub const SAMPLES: u8 = 3;

    /// `threshold_raw`: the reading (at 3.0 V VDDA, as [`AdcInput`] gives
    /// it) of the stall current through the board's shunt and amplifier.
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

impl<P: AdcChannel<ADC1>> StallSensor for ShuntStall<'_, P> {
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

/// A module's UART (interrupt-driven, buffered) that keeps the chip out of
/// STOP while a transfer is under way.
///
/// In STOP the USART has no clock: a reply arriving then would be lost, and
/// a command in the transmit buffer would stall. The drivers wait for a
/// reply with a timeout of a second or more, long enough for the executor
/// to choose STOP, so every read, write and flush holds a [`WakeGuard`]
/// (embassy-stm32's own DMA transfers hold one the same way). Between
/// operations nothing is read and the chip may stop.
pub struct ModuleUart<'d> {
    uart: BufferedUart<'d>,
}

impl<'d> ModuleUart<'d> {
    /// The buffered UART the module is on.
    pub fn new(uart: BufferedUart<'d>) -> Self {
        ModuleUart { uart }
    }
}

fn awake() -> WakeGuard {
    WakeGuard::new(StopMode::Stop1)
}

impl embedded_io_async::ErrorType for ModuleUart<'_> {
    type Error = usart::Error;
}

impl embedded_io_async::Read for ModuleUart<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, usart::Error> {
        let _awake = awake();
        embedded_io_async::Read::read(&mut self.uart, buf).await
    }
}

impl embedded_io_async::Write for ModuleUart<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, usart::Error> {
        let _awake = awake();
        embedded_io_async::Write::write(&mut self.uart, buf).await
    }

    async fn flush(&mut self) -> Result<(), usart::Error> {
        let _awake = awake();
        embedded_io_async::Write::flush(&mut self.uart).await
    }
}

/// The USB-C supply at the front (R-ALM-4): VBUS through a divider into an
/// input, high while powered, debounced like a contact (lock-drivers'
/// [`GpioContact`], "open" being "powered").
pub struct UsbSense<P, C>(GpioContact<P, C>);

impl<P: InputPin + Wait, C: Clock> UsbSense<P, C> {
    /// The contact over the sense pin, configured active high.
    pub fn new(contact: GpioContact<P, C>) -> Self {
        UsbSense(contact)
    }
}

impl<P, C> ErrorType for UsbSense<P, C> {
    type Error = lock_drivers::switch::Error;
}

impl<P: InputPin + Wait, C: Clock> UsbPower for UsbSense<P, C> {
    fn is_present(&mut self) -> Result<bool, Self::Error> {
        self.0.is_open()
    }

    async fn wait_for_change(&mut self, last: bool) -> Result<bool, Self::Error> {
        self.0.wait_for_change(last).await
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
///
/// The same adapter as boards/esp32c3's: it belongs in lock-drivers once a
/// third board needs it.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
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
