//! The battery gauge: a resistor divider into an ADC.
//!
//! **Wiring.** The battery through a divider (1:2 keeps a 1-cell Li-ion,
//! ≤ 4.2 V, inside an ADC's range) into an ADC input: ESP32-C3 ADC1 on
//! GPIO0–4 at 11 dB attenuation (about 0–2500 mV), RP2040 GPIO26–29 (the
//! Pico measures VSYS/3 on GPIO29), an STM32 channel with VREFINT
//! calibration. Optionally a GPIO switching the divider on only while it is
//! read (a divider left on drains the battery through it).
//!
//! **Source.** The conversion rules and the vector of the project's
//! `PERIPHERALS.md` (C3: raw 2867 × 2500 / 4095 × 2 = 3500 mV) and the chips'
//! reference manuals for their full scales; any other ADC and divider is a
//! [`Chip::Any`] (its full scale and resolution) and a [`Divider`] ratio.
//!
//! **Pieces.** Pure conversions ([`millivolts`], [`stm32_vdda_mv`],
//! [`percent`] over a [`DischargeCurve`]); a trait for one ADC reading,
//! [`RawAdc`], since embedded-hal 1.0 has none; and [`DividerBattery`],
//! implementing lock-hal's [`Battery`]. Conversions multiply before they
//! divide (one rounding, down), so the C3 vector gives 3500 either way.

use embedded_hal::digital::OutputPin;
use embedded_hal_async::delay::DelayNs;
use lock_hal::{Battery, ErrorKind, ErrorType};

/// One ADC reading. embedded-hal 1.0 has no ADC trait: a board implements
/// this over its HAL's ADC (esp-hal `Adc::read_oneshot`, embassy-rp
/// `Adc::read`, embassy-stm32 `Adc::blocking_read`).
pub trait RawAdc {
    /// The ADC's error.
    type Error: lock_hal::Error;

    /// Converts once; returns the raw value (0 to the [`Chip::max_raw`] of
    /// the gauge's chip: 4095 for a 12-bit ADC).
    async fn read_raw(&mut self) -> Result<u16, Self::Error>;
}

impl<T: RawAdc + ?Sized> RawAdc for &mut T {
    type Error = T::Error;

    async fn read_raw(&mut self) -> Result<u16, Self::Error> {
        T::read_raw(self).await
    }
}

/// How a raw reading becomes millivolts at the ADC pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Chip {
    /// ESP32-C3 ADC1 at 11 dB: 4095 ≈ 2500 mV.
    Esp32c3,
    /// RP2040: 4095 = the 3.3 V reference.
    Rp2040,
    /// An STM32 whose VDDA (the ADC reference) was measured with
    /// [`stm32_vdda_mv`]: 4095 = VDDA.
    Stm32 {
        /// VDDA in millivolts.
        vdda_mv: u16,
    },
    /// Any other ADC: `max_raw` (1023 for 10 bits, 65535 for 16) reads
    /// `full_scale_mv` at the pin.
    Any {
        /// Millivolts at the pin for `max_raw`.
        full_scale_mv: u16,
        /// The highest raw value (at least 1).
        max_raw: u16,
    },
}

impl Chip {
    /// Millivolts at full scale ([`Chip::max_raw`]).
    pub fn full_scale_mv(self) -> u32 {
        match self {
            Chip::Esp32c3 => 2_500,
            Chip::Rp2040 => 3_300,
            Chip::Stm32 { vdda_mv } => u32::from(vdda_mv),
            Chip::Any { full_scale_mv, .. } => u32::from(full_scale_mv),
        }
    }

    /// The raw value at full scale: 4095 for the 12-bit ADCs named here.
    pub fn max_raw(self) -> u16 {
        match self {
            Chip::Esp32c3 | Chip::Rp2040 | Chip::Stm32 { .. } => 4095,
            Chip::Any { max_raw, .. } => max_raw.max(1),
        }
    }
}

/// The divider between the battery and the pin: battery = pin × `ratio`
/// (2 for 1:2, 3 for the Pico's VSYS/3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Divider {
    /// Battery volts per pin volt, numerator.
    pub numerator: u16,
    /// Denominator (1 for whole ratios).
    pub denominator: u16,
}

impl Divider {
    /// Two equal resistors.
    pub const HALF: Divider = Divider {
        numerator: 2,
        denominator: 1,
    };
    /// The Pico's VSYS/3.
    pub const THIRD: Divider = Divider {
        numerator: 3,
        denominator: 1,
    };
}

/// The battery's millivolts for a raw reading: raw × full scale × ratio /
/// max raw, rounded down once. A raw value above the chip's
/// [`Chip::max_raw`] is taken as it.
pub fn millivolts(chip: Chip, raw: u16, divider: Divider) -> u32 {
    let max = chip.max_raw();
    let raw = u64::from(raw.min(max));
    let numerator = raw * u64::from(chip.full_scale_mv()) * u64::from(divider.numerator);
    let denominator = u64::from(max) * u64::from(divider.denominator.max(1));
    u32::try_from(numerator / denominator).unwrap_or(u32::MAX)
}

/// An STM32's VDDA from its VREFINT reading: `cal_mv` × VREFINT_CAL /
/// reading, where VREFINT_CAL is the factory reading taken at `cal_mv`
/// (3000 mV on most families, 3300 on F4). `None` for a reading of 0.
pub fn stm32_vdda_mv(vrefint_cal: u16, vrefint_raw: u16, cal_mv: u16) -> Option<u16> {
    if vrefint_raw == 0 {
        return None;
    }
    let vdda = u32::from(cal_mv) * u32::from(vrefint_cal) / u32::from(vrefint_raw);
    u16::try_from(vdda).ok()
}

/// Charge left by voltage: points of (millivolts, percent), highest voltage
/// first; linear between them, 100 above the first, 0 below the last.
pub type DischargeCurve = [(u32, u8)];

/// A 1-cell Li-ion at rest (approximate; loaded cells read lower).
pub const LI_ION_1S: [(u32, u8); 9] = [
    (4_200, 100),
    (4_100, 90),
    (4_000, 78),
    (3_900, 65),
    (3_800, 50),
    (3_700, 32),
    (3_600, 15),
    (3_500, 5),
    (3_300, 0),
];

/// Four alkaline AA cells in series (approximate).
pub const ALKALINE_4AA: [(u32, u8); 6] = [
    (6_000, 100),
    (5_600, 80),
    (5_200, 50),
    (4_800, 20),
    (4_400, 5),
    (4_000, 0),
];

/// The charge left at `mv` on `curve`.
pub fn percent(mv: u32, curve: &DischargeCurve) -> u8 {
    let Some(&(top_mv, top_percent)) = curve.first() else {
        return 0;
    };
    if mv >= top_mv {
        return top_percent;
    }
    for pair in curve.windows(2) {
        let (&(high_mv, high_percent), &(low_mv, low_percent)) = match pair {
            [high, low] => (high, low),
            _ => continue,
        };
        if mv >= low_mv && high_mv > low_mv {
            let span = u32::from(high_percent.saturating_sub(low_percent));
            let above = (mv - low_mv) * span / (high_mv - low_mv);
            let value = u32::from(low_percent) + above;
            return u8::try_from(value).unwrap_or(high_percent);
        }
    }
    curve.last().map_or(0, |&(_, percent)| percent)
}

/// What went wrong measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error<E> {
    /// The ADC failed.
    #[error("ADC error: {0:?}")]
    Adc(E),
    /// The divider's enable pin failed.
    #[error("divider pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
}

impl<E: lock_hal::Error> lock_hal::Error for Error<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Adc(error) => error.kind(),
            Error::Pin(_) => ErrorKind::Bus,
        }
    }
}

/// Settings of a divider gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config<'a> {
    /// The chip's conversion.
    pub chip: Chip,
    /// The divider.
    pub divider: Divider,
    /// The cell chemistry.
    pub curve: &'a DischargeCurve,
    /// Readings averaged per measurement (at least 1).
    pub samples: u8,
    /// The wait after switching the divider on, for it to settle.
    pub settle_ms: u32,
}

/// A battery gauge: divider, enable pin (or
/// [`NoPin`](crate::body::NoPin)), ADC.
pub struct DividerBattery<'a, A, P, D> {
    adc: A,
    enable: P,
    delay: D,
    config: Config<'a>,
}

impl<'a, A: RawAdc, P: OutputPin, D: DelayNs> DividerBattery<'a, A, P, D> {
    /// Takes the ADC channel, the divider's enable pin and a delay.
    pub fn new(adc: A, enable: P, delay: D, config: Config<'a>) -> Self {
        DividerBattery {
            adc,
            enable,
            delay,
            config,
        }
    }

    /// Gives the parts back.
    pub fn release(self) -> (A, P, D) {
        (self.adc, self.enable, self.delay)
    }

    /// The battery's millivolts: divider on, settle, average, divider off
    /// (also when a reading failed).
    pub async fn measure_mv(&mut self) -> Result<u32, Error<A::Error>> {
        self.enable
            .set_high()
            .map_err(|error| Error::Pin(embedded_hal::digital::Error::kind(&error)))?;
        self.delay.delay_ms(self.config.settle_ms).await;
        let samples = self.config.samples.max(1);
        let mut sum = 0u32;
        let mut failure = None;
        for _ in 0..samples {
            match self.adc.read_raw().await {
                Ok(raw) => sum += u32::from(raw),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let off = self.enable.set_low();
        if let Some(error) = failure {
            return Err(Error::Adc(error));
        }
        off.map_err(|error| Error::Pin(embedded_hal::digital::Error::kind(&error)))?;
        let raw = u16::try_from(sum / u32::from(samples)).unwrap_or(u16::MAX);
        Ok(millivolts(self.config.chip, raw, self.config.divider))
    }
}

impl<A: RawAdc, P, D> ErrorType for DividerBattery<'_, A, P, D> {
    type Error = Error<A::Error>;
}

impl<A: RawAdc, P: OutputPin, D: DelayNs> Battery for DividerBattery<'_, A, P, D> {
    async fn measure(&mut self) -> Result<u8, Self::Error> {
        let mv = self.measure_mv().await?;
        Ok(percent(mv, self.config.curve))
    }
}
