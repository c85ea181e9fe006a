//! Thin adapters from embassy-stm32 and embassy types to the traits the
//! runtime and the drivers take, where no implementation exists already,
//! and the watchdog's feeder.

use core::cell::RefCell;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embassy_stm32::adc::{Adc, AdcChannel, SampleTime, VREF_CALIB_MV, VrefInt};
use embassy_stm32::gpio::Pull;
use embassy_stm32::peripherals::{ADC1, IWDG, RNG};
use embassy_stm32::rng::Rng;
use embassy_stm32::usart::{self, BufferedUart, BufferedUartRx, BufferedUartTx};
use embassy_stm32::wdg::IndependentWatchdog;
use embassy_stm32::{Peri, interrupt};
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{Duration, Timer};
use lock_drivers::battery::{RawAdc, stm32_vdda_mv};
use lock_hal::{Entropy, ErrorKind, ErrorType};

use crate::link;

/// Polls of the RNG's status a fill may take before it is called a
/// timeout. A 32-bit word takes about 46 cycles of the RNG's 48 MHz clock;
/// without that clock no word ever comes.
const RNG_POLLS: u32 = 100_000;

/// The RNG peripheral (a true RNG: analog noise through a conditioning
/// stage). Its own fault detection (RM0351, `RNG_SR`'s `SECS` and `CECS`)
/// is what tests the noise: a seed error when the noise source gives more
/// than 64 equal bits in a row or more than 32 alternations of 0 and 1, a
/// clock error when the RNG's clock is below the bus clock / 16. The raw noise is not readable, so lock-hal's SP
/// 800-90B tests cannot run on it. A seed or clock error, a zero word (the
/// reference manual's check, embassy-stm32's `SeedError`) or no word in
/// time refuses the fill, its buffer zeroed: lock-hal's `Entropy` asks for
/// failure rather than weak output, and embassy-stm32's blocking reads
/// would instead retry for ever. The driver restarts the RNG after a seed
/// error, whose checks then run again: the next fill gets words only from
/// a source that passes them.
///
/// The driver exists only during a fill: embassy-stm32 0.6's `Rng::new`
/// enables the RNG with a STOP 1 refcount that only its `Drop` releases,
/// so an `Rng` kept for the lock's lifetime would keep the chip out of STOP
/// for ever. Each fill starts the RNG afresh (reset, first word discarded,
/// its checks run) and switches it off after.
pub struct ChipEntropy {
    rng: Peri<'static, RNG>,
}

impl ChipEntropy {
    /// The RNG peripheral, switched on for each fill.
    pub fn new(rng: Peri<'static, RNG>) -> Self {
        ChipEntropy { rng }
    }
}

impl ErrorType for ChipEntropy {
    type Error = ErrorKind;
}

impl Entropy for ChipEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        let mut rng = Rng::new(self.rng.reborrow(), crate::Irqs);
        // The driver's checked fill is async (it sleeps on the RNG's
        // interrupt between words); here it is polled in place, since the
        // next word is at most a few microseconds away.
        let result = {
            let mut fill = pin!(rng.async_fill_bytes(buf));
            let mut context = Context::from_waker(Waker::noop());
            let mut result = Err(ErrorKind::Timeout);
            for _ in 0..RNG_POLLS {
                if let Poll::Ready(done) = fill.as_mut().poll(&mut context) {
                    result = done.map_err(|_| ErrorKind::Device);
                    break;
                }
            }
            result
        };
        if result.is_err() {
            // Words read before the error are not handed out either.
            buf.fill(0);
        }
        result
    }
}

/// ADC1, shared by the battery divider and the motor's shunt: one blocking
/// conversion (tens of microseconds) at a time, never held across an await.
pub type SharedAdc = BlockingMutex<NoopRawMutex, RefCell<Adc<'static, ADC1>>>;

/// One ADC1 input whose readings are corrected for VDDA through VREFINT:
/// the battery divider's, or the motor shunt's (for lock-drivers'
/// `ShuntStall`, whose threshold is then a reading at 3.0 V).
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
}

impl<P: AdcChannel<ADC1>> RawAdc for AdcInput<'_, P> {
    type Error = ErrorKind;

    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
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

/// A module's UART (interrupt-driven, buffered), built only while the
/// module is spoken to ([`link::serve`]).
///
/// embassy-stm32 0.6's `BufferedUart` holds a STOP 1 refcount for as long
/// as it lives (it enables its USART with `enable_and_reset`), so one kept
/// for the lock's lifetime would keep the chip out of STOP for ever. The
/// drivers hold a [`link::PortIo`] instead, whose reads and writes hold a
/// `WakeGuard` while they wait (README.md, Energy).
pub struct ModuleUart<T: usart::Instance, R: usart::RxPin<T>, X: usart::TxPin<T>> {
    pub usart: Peri<'static, T>,
    pub rx: Peri<'static, R>,
    pub tx: Peri<'static, X>,
    pub rx_buf: &'static mut [u8],
    pub tx_buf: &'static mut [u8],
    pub baudrate: u32,
}

impl<T, R, X> link::Opener for ModuleUart<T, R, X>
where
    T: usart::Instance,
    R: usart::RxPin<T>,
    X: usart::TxPin<T>,
    crate::Irqs: interrupt::typelevel::Binding<T::Interrupt, usart::BufferedInterruptHandler<T>>,
{
    type Tx<'a> = BufferedUartTx<'a>;
    type Rx<'a> = BufferedUartRx<'a>;

    fn open(&mut self) -> Result<(Self::Tx<'_>, Self::Rx<'_>), usart::ConfigError> {
        // Receive lines idle high: a module switched off (or absent) must
        // not read as a stream of zero bytes.
        let mut config = usart::Config::default();
        config.rx_pull = Pull::Up;
        config.baudrate = self.baudrate;
        let uart = BufferedUart::new(
            self.usart.reborrow(),
            self.rx.reborrow(),
            self.tx.reborrow(),
            &mut *self.tx_buf,
            &mut *self.rx_buf,
            crate::Irqs,
            config,
        )?;
        Ok(uart.split())
    }
}

/// Pets the independent watchdog every `period` for as long as the executor
/// polls this future. Joined with the lock in `main`'s one task, it pets
/// only while that task is polled: a panic, a poll that never returns or a
/// dead executor stops the petting and the IWDG resets the chip
/// (README.md, Watchdog). Between pets the executor may still choose STOP
/// (`period` is above `min_stop_pause`); the IWDG counts on through it.
pub async fn pet_watchdog(iwdg: &mut IndependentWatchdog<'_, IWDG>, period: Duration) -> ! {
    loop {
        iwdg.pet();
        Timer::after(period).await;
    }
}

/// How long the LSE crystal may take to start (ST gives about 2 s at most
/// for a 32.768 kHz crystal at medium-high drive).
const LSE_START_MS: u32 = 3_000;

/// Whether the 32.768 kHz LSE crystal runs within [`LSE_START_MS`]: tried
/// before `embassy_stm32::init`, which waits for it without a timeout (a
/// missing or broken crystal would hang the chip before the IWDG is armed,
/// so no reset would ever end it). Runs on the reset clock (MSI, 4 MHz), at
/// the drive `LsConfig::default_lse` uses; a crystal that does not start is
/// switched off again, and the backup domain is left writable, as
/// embassy-stm32's own clock set-up leaves it.
pub fn lse_starts() -> bool {
    use embassy_stm32::pac::{PWR, RCC, rcc::vals::Lsedrv};
    RCC.apb1enr1().modify(|w| w.set_pwren(true));
    PWR.cr1().modify(|w| w.set_dbp(true));
    while !PWR.cr1().read().dbp() {}
    if RCC.bdcr().read().lserdy() {
        return true;
    }
    RCC.bdcr().modify(|w| {
        w.set_lsedrv(Lsedrv::MEDIUM_HIGH);
        w.set_lseon(true);
    });
    // 1 ms a round at 4 MHz (`delay` takes at least as many cycles).
    for _ in 0..LSE_START_MS {
        if RCC.bdcr().read().lserdy() {
            return true;
        }
        cortex_m::asm::delay(4_000);
    }
    RCC.bdcr().modify(|w| w.set_lseon(false));
    false
}
