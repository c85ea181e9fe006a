//! The TCA9555 I/O expander on the keypad's I2C bus: 16 pins as
//! embedded-hal pins, so lock-drivers' drivers take them like the chip's own.
//!
//! The DevKitM-1 has 13 free GPIOs once USB-Serial-JTAG has its two, and the
//! lock needs 23 signals: the slow ones (switches, enables, backlights, the
//! voice module's BUSY) are here. Inputs are interrupt-driven: the chip
//! pulls INT low when an input changes and releases it when the inputs are
//! read. [`Expander::watch`] waits on INT (a level wait: the core sleeps),
//! reads both ports and publishes them; each [`ExpanderInput`] waits on that
//! published value by level, so its waits are cancel-safe like a GPIO's.
//! Outputs are written through at once (a blocking I2C write, 0.3 ms).
//!
//! Registers (TI TCA9555 datasheet, §8.6): 0/1 input ports, 2/3 output
//! ports, 6/7 configuration (1 = input); pairs auto-increment.

use core::cell::{Cell, RefCell};

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::watch::{Receiver, Watch};
use embassy_time::Timer;
use embedded_hal::digital::{ErrorKind, ErrorType, InputPin, OutputPin};
use embedded_hal::i2c::I2c;
use embedded_hal_async::digital::Wait;

/// The address with A2–A0 tied low.
pub const ADDRESS: u8 = 0x20;
const INPUT: u8 = 0x00;
const OUTPUT: u8 = 0x02;
const CONFIG: u8 = 0x06;

/// Input pins that may wait at once (one receiver each).
pub const WAITERS: usize = 10;

/// The expander: its bus, the output latch and the last inputs read.
pub struct Expander<I> {
    i2c: Mutex<NoopRawMutex, RefCell<I>>,
    outputs: Mutex<NoopRawMutex, Cell<u16>>,
    inputs: Watch<NoopRawMutex, u16, WAITERS>,
}

/// An I2C failure, as an embedded-hal pin error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusError;

impl embedded_hal::digital::Error for BusError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl<I: I2c> Expander<I> {
    /// Sets `input_mask` as inputs and every other pin as an output driven
    /// low (outputs are written before they are enabled, so none glitches
    /// high), then reads the inputs once.
    pub fn new(i2c: I, input_mask: u16) -> Result<Self, BusError> {
        let expander = Expander {
            i2c: Mutex::new(RefCell::new(i2c)),
            outputs: Mutex::new(Cell::new(0)),
            inputs: Watch::new(),
        };
        expander.write_pair(OUTPUT, 0)?;
        expander.write_pair(CONFIG, input_mask)?;
        expander.refresh()?;
        Ok(expander)
    }

    fn write_pair(&self, register: u8, value: u16) -> Result<(), BusError> {
        let [low, high] = value.to_le_bytes();
        self.i2c.lock(|i2c| {
            i2c.borrow_mut()
                .write(ADDRESS, &[register, low, high])
                .map_err(|_| BusError)
        })
    }

    /// Reads both input ports (which releases INT) and publishes them.
    fn refresh(&self) -> Result<(), BusError> {
        let mut bytes = [0u8; 2];
        self.i2c.lock(|i2c| {
            i2c.borrow_mut()
                .write_read(ADDRESS, &[INPUT], &mut bytes)
                .map_err(|_| BusError)
        })?;
        self.inputs.sender().send(u16::from_le_bytes(bytes));
        Ok(())
    }

    /// Follows INT forever: runs beside the lock, asleep until an input
    /// changes. A failed read is retried after a pause, so a stuck bus
    /// cannot spin the core.
    pub async fn watch<P: Wait>(&self, mut int: P) -> ! {
        loop {
            if int.wait_for_low().await.is_err() || self.refresh().is_err() {
                Timer::after_millis(100).await;
            }
        }
    }

    /// Input pin `bit` (0–15), or `None` when every waiter slot is taken.
    pub fn input(&self, bit: u8) -> Option<ExpanderInput<'_>> {
        Some(ExpanderInput {
            inputs: &self.inputs,
            receiver: self.inputs.receiver()?,
            mask: 1u16.checked_shl(u32::from(bit))?,
        })
    }

    /// Output pin `bit` (0–15).
    pub fn output(&self, bit: u8) -> Option<ExpanderOutput<'_, I>> {
        Some(ExpanderOutput {
            expander: self,
            mask: 1u16.checked_shl(u32::from(bit))?,
        })
    }

    fn set_output(&self, mask: u16, high: bool) -> Result<(), BusError> {
        let latch = self.outputs.lock(|outputs| {
            let value = if high {
                outputs.get() | mask
            } else {
                outputs.get() & !mask
            };
            outputs.set(value);
            value
        });
        self.write_pair(OUTPUT, latch)
    }
}

/// One input pin of the expander.
pub struct ExpanderInput<'a> {
    inputs: &'a Watch<NoopRawMutex, u16, WAITERS>,
    receiver: Receiver<'a, NoopRawMutex, u16, WAITERS>,
    mask: u16,
}

impl ExpanderInput<'_> {
    async fn wait_for(&mut self, high: bool) {
        let mask = self.mask;
        self.receiver
            .get_and(|levels| (levels & mask != 0) == high)
            .await;
    }
}

impl ErrorType for ExpanderInput<'_> {
    type Error = BusError;
}

impl InputPin for ExpanderInput<'_> {
    fn is_high(&mut self) -> Result<bool, BusError> {
        let levels = self.inputs.try_get().ok_or(BusError)?;
        Ok(levels & self.mask != 0)
    }
    fn is_low(&mut self) -> Result<bool, BusError> {
        self.is_high().map(|high| !high)
    }
}

/// Level waits on the published inputs; the edge waits the drivers here do
/// not use are a level change from the current one.
impl Wait for ExpanderInput<'_> {
    async fn wait_for_high(&mut self) -> Result<(), BusError> {
        self.wait_for(true).await;
        Ok(())
    }
    async fn wait_for_low(&mut self) -> Result<(), BusError> {
        self.wait_for(false).await;
        Ok(())
    }
    async fn wait_for_rising_edge(&mut self) -> Result<(), BusError> {
        self.wait_for(false).await;
        self.wait_for(true).await;
        Ok(())
    }
    async fn wait_for_falling_edge(&mut self) -> Result<(), BusError> {
        self.wait_for(true).await;
        self.wait_for(false).await;
        Ok(())
    }
    async fn wait_for_any_edge(&mut self) -> Result<(), BusError> {
        let high = self.is_high()?;
        self.wait_for(!high).await;
        Ok(())
    }
}

/// One output pin of the expander.
pub struct ExpanderOutput<'a, I> {
    expander: &'a Expander<I>,
    mask: u16,
}

impl<I> ErrorType for ExpanderOutput<'_, I> {
    type Error = BusError;
}

impl<I: I2c> OutputPin for ExpanderOutput<'_, I> {
    fn set_high(&mut self) -> Result<(), BusError> {
        self.expander.set_output(self.mask, true)
    }
    fn set_low(&mut self) -> Result<(), BusError> {
        self.expander.set_output(self.mask, false)
    }
}
