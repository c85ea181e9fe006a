//! Thin adapters from embassy-rp, cyw43 and embassy types to the traits the
//! runtime and the drivers take, where no implementation exists already.

use core::cell::RefCell;

use cyw43::SpiBusCyw43;
use embassy_rp::adc::{self, Adc};
use embassy_rp::clocks::RoscRng;
use embassy_rp::pac;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::{Instant, Timer};
use embedded_hal::digital::OutputPin;
use lock_drivers::battery::RawAdc;
use lock_drivers::face::{Encryption, Face};
use lock_hal::{
    Biometric, Clock, EnrollStatus, Entropy, ErrorKind, ErrorType, Identification, StallSensor,
};
use sha2::{Digest, Sha256};

/// The lock's clock: embassy-time on embassy-rp's timer (1 MHz ticks). A
/// wait arms one alarm and the core sleeps (WFE) until it or an interrupt
/// fires.
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

/// Entropy from the ring oscillator, conditioned.
///
/// The RP2040 has no true RNG; its ring oscillator's RANDOMBIT register
/// (read by embassy-rp's `RoscRng`) carries jitter, but the datasheet
/// (§2.17.5) does not call it fit for security use, and bits read back to
/// back at the bus clock are correlated. So each 32 bytes handed out are
/// SHA-256 over [`RoscEntropy::RAW_PER_BLOCK`] raw bytes (eight raw bits
/// per output bit) and a block counter: the output is uniform as long as
/// those 2,048 raw bits hold 256 bits of entropy between them. That was
/// not measured here (README.md, Entropy). The ROSC runs in embassy-rp's
/// default clock set-up (the system clock is the crystal's PLL).
#[derive(Debug, Default)]
pub struct RoscEntropy {
    block: u32,
}

impl RoscEntropy {
    /// Raw bytes of ring-oscillator bits per 32 bytes of output.
    pub const RAW_PER_BLOCK: usize = 256;
}

impl ErrorType for RoscEntropy {
    type Error = ErrorKind;
}

impl Entropy for RoscEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        let mut raw = [0u8; 32];
        for out in buf.chunks_mut(32) {
            let mut hash = Sha256::new();
            hash.update(self.block.to_le_bytes());
            self.block = self.block.wrapping_add(1);
            for _ in 0..Self::RAW_PER_BLOCK / raw.len() {
                RoscRng.fill_bytes(&mut raw);
                hash.update(raw);
            }
            let digest = hash.finalize();
            for (into, from) in out.iter_mut().zip(digest.iter()) {
                *into = *from;
            }
        }
        Ok(())
    }
}

/// The ADC, shared by the motor's shunt and the VSYS reading: one blocking
/// conversion (2 µs) at a time, never held across an await.
pub type SharedAdc = BlockingMutex<NoopRawMutex, RefCell<Adc<'static, adc::Blocking>>>;

/// One ADC input on a pin of its own (GPIO26–28).
pub struct PinAdc<'a> {
    adc: &'a SharedAdc,
    channel: adc::Channel<'static>,
}

impl<'a> PinAdc<'a> {
    /// The channel, read through `adc`.
    pub fn new(adc: &'a SharedAdc, channel: adc::Channel<'static>) -> Self {
        PinAdc { adc, channel }
    }

    fn convert(&mut self) -> Result<u16, ErrorKind> {
        self.adc.lock(|adc| {
            adc.borrow_mut()
                .blocking_read(&mut self.channel)
                .map_err(|_| ErrorKind::Device)
        })
    }
}

/// The motor's stall: the shunt voltage on the ADC, sampled every
/// [`ShuntStall::PERIOD_MS`] only while the runtime waits for a stall (it
/// does only while the motor runs), a stall being [`ShuntStall::SAMPLES`]
/// readings in a row at or above the threshold.
pub struct ShuntStall<'a> {
    input: PinAdc<'a>,
    threshold_raw: u16,
}

impl<'a> ShuntStall<'a> {
    /// How often the shunt is read while the motor runs.
    pub const PERIOD_MS: u64 = 5;
    /// Readings in a row over the threshold that make a stall.
    pub const SAMPLES: u8 = 3;

    /// `threshold_raw`: the raw reading of the stall current through the
    /// board's shunt and amplifier.
    pub fn new(input: PinAdc<'a>, threshold_raw: u16) -> Self {
        ShuntStall {
            input,
            threshold_raw,
        }
    }
}

impl ErrorType for ShuntStall<'_> {
    type Error = ErrorKind;
}

impl StallSensor for ShuntStall<'_> {
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

/// Held while the CYW43439's SPI bus is in a transaction: GPIO29 is that
/// bus's clock and also the VSYS/3 divider's ADC input, so the two take
/// turns ([`WlBus`], [`VsysAdc`]).
pub type WlGate = Mutex<NoopRawMutex, ()>;

/// cyw43-pio's SPI bus, each transaction inside the [`WlGate`].
pub struct WlBus<'a, S> {
    spi: S,
    gate: &'a WlGate,
}

impl<'a, S> WlBus<'a, S> {
    /// `spi` taking turns with the VSYS reading through `gate`.
    pub fn new(spi: S, gate: &'a WlGate) -> Self {
        WlBus { spi, gate }
    }
}

impl<S: SpiBusCyw43> SpiBusCyw43 for WlBus<'_, S> {
    async fn cmd_write(&mut self, write: &[u32]) -> u32 {
        let _turn = self.gate.lock().await;
        self.spi.cmd_write(write).await
    }

    async fn cmd_read(&mut self, write: u32, read: &mut [u32]) -> u32 {
        let _turn = self.gate.lock().await;
        self.spi.cmd_read(write, read).await
    }

    /// Outside the gate: between transactions the chip signals on the data
    /// line (GPIO24), not on the clock.
    async fn wait_for_event(&mut self) {
        self.spi.wait_for_event().await;
    }
}

/// The Pico W's VSYS/3 divider on ADC3 (GPIO29), read as the pico-sdk
/// does: while no SPI transaction runs (the chip select, GPIO25, is high,
/// which on the Pico W also connects the divider), GPIO29 is switched from
/// the PIO to the ADC, read, and switched back. cyw43-pio owns the pin, so
/// the switch goes through the registers (embassy-rp's PAC) and puts back
/// exactly what was there.
pub struct VsysAdc<'a> {
    adc: &'a SharedAdc,
    gate: &'a WlGate,
}

/// GPIO29 and its ADC channel.
const VSYS_PIN: usize = 29;
const VSYS_CHANNEL: u8 = 3;
/// IO_BANK0 function 31: the pin's digital functions off.
const FUNCSEL_NULL: u8 = 0x1f;
/// Polls of the ADC's ready flag before a reading is a timeout (one
/// conversion takes 96 ADC clocks, 2 µs).
const CONVERSION_SPINS: u32 = 10_000;

impl<'a> VsysAdc<'a> {
    /// VSYS through `adc`, taking turns with the radio through `gate`.
    pub fn new(adc: &'a SharedAdc, gate: &'a WlGate) -> Self {
        VsysAdc { adc, gate }
    }
}

impl RawAdc for VsysAdc<'_> {
    type Error = ErrorKind;

    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        let _turn = self.gate.lock().await;
        // No await from here on: the radio's next transaction waits.
        self.adc.lock(|_adc| {
            let pad = pac::PADS_BANK0.gpio(VSYS_PIN);
            let ctrl = pac::IO_BANK0.gpio(VSYS_PIN).ctrl();
            let (pad_was, ctrl_was) = (pad.read(), ctrl.read());
            // RP2040 datasheet §4.9.1: an ADC input's digital input off,
            // its output disabled, no pulls.
            pad.modify(|w| {
                w.set_ie(false);
                w.set_od(true);
                w.set_pue(false);
                w.set_pde(false);
            });
            ctrl.modify(|w| w.set_funcsel(FUNCSEL_NULL));
            let adc = pac::ADC;
            adc.cs().modify(|w| {
                w.set_ainsel(VSYS_CHANNEL);
                w.set_err(true);
                w.set_start_once(true);
            });
            let mut reading = Err(ErrorKind::Timeout);
            for _ in 0..CONVERSION_SPINS {
                let cs = adc.cs().read();
                if cs.ready() {
                    reading = if cs.err() {
                        Err(ErrorKind::Device)
                    } else {
                        Ok(adc.result().read().result())
                    };
                    break;
                }
            }
            ctrl.write_value(ctrl_was);
            pad.write_value(pad_was);
            reading
        })
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
/// The same as boards/esp32c3's: it belongs in lock-drivers (README.md,
/// What is real).
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
