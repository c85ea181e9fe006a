//! Thin adapters from embassy-rp, cyw43 and embassy types to the traits the
//! runtime and the drivers take, where no implementation exists already,
//! the clocks gated in sleep, and the watchdog's feeder.

use core::cell::RefCell;

use cyw43::SpiBusCyw43;
use defmt::error;
use embassy_rp::adc::{self, Adc};
use embassy_rp::clocks::RoscRng;
use embassy_rp::pac;
use embassy_rp::watchdog::Watchdog;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::{Duration, Timer};
use lock_drivers::battery::RawAdc;
use lock_hal::{
    Entropy, Error, ErrorKind, ErrorType, HealthConfig, HealthFailure, HealthTested, MinEntropy,
    NoiseSource,
};
use sha2::{Digest, Sha256};

/// The ring oscillator's raw output: a byte of eight `RANDOMBIT` reads
/// back to back (embassy-rp's `RoscRng::next_u8`), not conditioned. What
/// the health tests see.
#[derive(Debug, Default)]
pub struct RoscBits;

impl NoiseSource for RoscBits {
    type Sample = u8;

    fn sample(&mut self) -> u8 {
        RoscRng::next_u8()
    }
}

/// S-HW-4: entropy from the ring oscillator, health-tested, then
/// conditioned, separated per unit.
///
/// The RP2040 has no true RNG; its ring oscillator's RANDOMBIT register
/// (read by embassy-rp's `RoscRng`) carries jitter, but the datasheet
/// (§2.17.5) does not call it fit for security use, and bits read back to
/// back at the bus clock are correlated. So:
///
/// - **Health tests.** Every raw byte ([`RoscBits`]) goes through lock-hal's
///   [`HealthTested`]: SP 800-90B's repetition count and adaptive
///   proportion tests, for [`RoscEntropy::CLAIM`] (1 bit of min-entropy per
///   raw byte: 21 equal bytes in a row, or 311 of a 512-byte window equal
///   to its first, fail), after a start-up test over the first 1024 bytes,
///   which are discarded. A failure is latched until the next reset: from
///   then on `fill` fails (and zeroes what it was given) rather than hand
///   out output from a stuck or biased oscillator.
/// - **Conditioning.** Each 32 bytes handed out are SHA-256 over a domain
///   label, the unit's id, a block counter and [`RoscEntropy::RAW_PER_BLOCK`]
///   raw bytes that passed: at the claimed 1 bit per raw byte, 256 bits of
///   entropy per 256-bit block. The claim was not measured here (README.md,
///   Entropy).
/// - **Per unit.** The unit's id is the QSPI flash's 64-bit unique id
///   (`Flash::blocking_unique_id`), so two units whose oscillators produced
///   the same raw bytes would still produce different output.
/// - **Per boot.** Every block also hashes the lock's boot count, which
///   the app side keeps on flash and hands over ([`Entropy::set_boot`])
///   before it draws anything: two boots of one unit differ even if the
///   oscillator gave the same raw bytes.
///
/// The ROSC runs in embassy-rp's default clock set-up (the system clock is
/// the crystal's PLL).
#[derive(Debug)]
pub struct RoscEntropy {
    raw: HealthTested<RoscBits>,
    unit: [u8; 8],
    boot: u32,
    block: u64,
}

impl RoscEntropy {
    /// Raw bytes of ring-oscillator bits per 32 bytes of output.
    pub const RAW_PER_BLOCK: usize = 256;

    /// The min-entropy claimed per raw byte, the health tests' cutoffs'
    /// basis: 1 bit, the same claim the conditioning rests on (2,048 raw
    /// bits per 256 output bits).
    pub const CLAIM: MinEntropy = MinEntropy::Bits1;

    /// Keeps the conditioner's output apart from any other use of SHA-256.
    const DOMAIN: &'static [u8] = b"open-door-lock rp2040 rosc entropy v1";

    /// The oscillator for the unit whose flash has `unique_id`. Reads
    /// nothing yet.
    pub fn new(unique_id: [u8; 8]) -> Self {
        RoscEntropy {
            raw: HealthTested::new(RoscBits, HealthConfig::non_binary(Self::CLAIM)),
            unit: unique_id,
            boot: 0,
            block: 0,
        }
    }

    /// Runs the start-up health test now (otherwise the first `fill` does).
    pub fn start(&mut self) -> Result<(), HealthFailure> {
        self.raw.start()
    }

    fn conditioned(&mut self, buf: &mut [u8]) -> Result<(), HealthFailure> {
        let mut raw = [0u8; 32];
        for out in buf.chunks_mut(32) {
            let mut hash = Sha256::new();
            hash.update(Self::DOMAIN);
            hash.update(self.unit);
            hash.update(self.boot.to_le_bytes());
            hash.update(self.block.to_le_bytes());
            self.block = self.block.wrapping_add(1);
            for _ in 0..Self::RAW_PER_BLOCK / raw.len() {
                self.raw.fill(&mut raw)?;
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

impl ErrorType for RoscEntropy {
    type Error = ErrorKind;
}

impl Entropy for RoscEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        let failed_before = self.raw.failure().is_some();
        self.conditioned(buf).map_err(|failure| {
            buf.fill(0);
            if !failed_before {
                error!(
                    "entropy: the ring oscillator failed its health test: {}",
                    failure
                );
            }
            failure.kind()
        })
    }

    /// S-HW-4: the boot count goes into every block from now on.
    fn set_boot(&mut self, boot: u32) {
        self.boot = boot;
    }
}

/// The ADC, shared by the motor's shunt and the VSYS reading: one blocking
/// conversion (2 µs) at a time, never held across an await.
pub type SharedAdc = BlockingMutex<NoopRawMutex, RefCell<Adc<'static, adc::Blocking>>>;

/// One ADC input on a pin of its own (GPIO26–28): the motor shunt's, for
/// lock-drivers' `ShuntStall`.
pub struct PinAdc<'a> {
    adc: &'a SharedAdc,
    channel: adc::Channel<'static>,
}

impl<'a> PinAdc<'a> {
    /// The channel, read through `adc`.
    pub fn new(adc: &'a SharedAdc, channel: adc::Channel<'static>) -> Self {
        PinAdc { adc, channel }
    }
}

impl RawAdc for PinAdc<'_> {
    type Error = ErrorKind;

    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        self.adc.lock(|adc| {
            adc.borrow_mut()
                .blocking_read(&mut self.channel)
                .map_err(|_| ErrorKind::Device)
        })
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

/// The clocks the chip keeps while both cores sleep (README.md, Energy).
/// With the core's SLEEPDEEP bit set, the executor's `wfe` puts the chip in
/// the RP2040's SLEEP state, where only the clocks enabled in
/// `CLOCKS.SLEEP_EN0/1` run (RP2040 datasheet §2.11.2, SLEEP state; §2.15, Clocks); core 1,
/// never started, waits in the boot ROM. An interrupt wakes the core and the
/// `WAKE_EN` clocks (all, the reset value) come back before it runs.
///
/// Gated in sleep: what only the awake core touches or nothing uses. The
/// ADC (blocking conversions), I2C0 (blocking transfers to the keypad),
/// I2C1, SPI0/1, PIO1, USB and the RTC (unused), the XIP cache and its
/// flash interface (code runs only while awake; cyw43's DMA reads RAM
/// buffers), the ROM, the ring oscillator's and TBMAN's and SYSINFO's
/// registers.
///
/// Kept: PIO0 and DMA (cyw43's gSPI transfers run while the core waits on
/// them, and PIO0 raises the CYW43439's host interrupt), the four SRAM
/// banks and the bus fabric they use, IO and pads (GPIO edges), the
/// TIMER (embassy-time's alarms), the WATCHDOG, both UARTs (the modules'
/// bytes arrive while the core sleeps), PWM (the motor's outputs hold
/// while the core sleeps between stall samples), SIO, JTAG (the debug
/// probe), and the clock, PLL, crystal, reset and regulator blocks.
pub fn gate_clocks_in_sleep(scb: &mut cortex_m::peripheral::SCB) {
    pac::CLOCKS.sleep_en0().modify(|w| {
        w.set_clk_sys_adc(false);
        w.set_clk_adc_adc(false);
        w.set_clk_sys_i2c0(false);
        w.set_clk_sys_i2c1(false);
        w.set_clk_sys_pio1(false);
        w.set_clk_sys_rom(false);
        w.set_clk_sys_rosc(false);
        w.set_clk_sys_rtc(false);
        w.set_clk_rtc_rtc(false);
        w.set_clk_sys_spi0(false);
        w.set_clk_peri_spi0(false);
        w.set_clk_sys_spi1(false);
        w.set_clk_peri_spi1(false);
    });
    pac::CLOCKS.sleep_en1().modify(|w| {
        w.set_clk_sys_sysinfo(false);
        w.set_clk_sys_tbman(false);
        w.set_clk_sys_usbctrl(false);
        w.set_clk_usb_usbctrl(false);
        w.set_clk_sys_xip(false);
    });
    scb.set_sleepdeep();
}

/// Feeds the watchdog (`timeout` again) every `period` for as long as the
/// executor polls this future. Joined with the lock in `main`'s one task,
/// it feeds only while that task is polled: a panic, a poll that never
/// returns or a dead executor stops the feeding and the watchdog resets the
/// chip (README.md, Watchdog).
pub async fn feed_watchdog(watchdog: &mut Watchdog, timeout: Duration, period: Duration) -> ! {
    loop {
        watchdog.feed(timeout);
        Timer::after(period).await;
    }
}

/// Whether the radio's last start-up finished, kept in the watchdog's
/// scratch register 0 (0 to 3 are free; the boot ROM reads 4 to 7). The
/// scratch registers survive a watchdog reset and are cleared by a power-on
/// or a RUN-pin reset, so a mark found at boot means the chip was reset
/// while the radio was starting: cyw43 0.7 panics (`unwrap`, `assert`) when
/// the CYW43439 does not come up, and the watchdog restarts the chip.
pub struct RadioStart;

impl RadioStart {
    /// "cy43": the radio is starting.
    const STARTING: u32 = 0x6379_3433;

    /// Whether the radio's last start-up was cut by a reset. Clears the
    /// mark, so that the next start tries the radio again.
    pub fn was_cut() -> bool {
        let cut = pac::WATCHDOG.scratch0().read() == Self::STARTING;
        Self::done();
        cut
    }

    /// The radio starts now.
    pub fn begin() {
        pac::WATCHDOG.scratch0().write_value(Self::STARTING);
    }

    /// The radio is up (or is not tried).
    pub fn done() {
        pac::WATCHDOG.scratch0().write_value(0);
    }
}
