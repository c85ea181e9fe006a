//! Size probe: the whole lock over opaque board parts.
//!
//! It is never flashed. `scripts/size-report.sh` builds it in release for
//! `thumbv6m-none-eabi` (Cortex-M0+) and `thumbv7em-none-eabihf` (Cortex-M4F)
//! and groups its symbols by crate, so the report can say what each of the
//! lock's own crates costs where a board uses them: lock-runtime's `Runtime`
//! over lock-drivers' drivers (the STM32 board's choice of parts: a BS8116A
//! keypad, a face-and-palm module shared by two drivers, a fingerprint
//! module, an H-bridge with two end switches and a shunt, debounced
//! contacts and buttons, a divider battery gauge, a WT588F voice), lock-store
//! with sequential-storage on a NOR flash, and lock-proto's lock side behind
//! `ProtoApp`.
//!
//! The board's parts are opaque: pins, buses, UARTs, the ADC, the flash, the
//! clock and the radio hand out [`black_box`] values and their futures are
//! ready when a `black_box` says so. The optimiser can fold none of the
//! lock's code away and no HAL's code is in the figures. The executor is
//! embassy-executor's thread-mode executor, as on the Cortex-M boards, so the
//! runtime and its future live in the task's static memory and `.bss` is the
//! lock's static RAM.

#![no_std]
#![no_main]

// The critical-section implementation for one core.
use cortex_m as _;

use core::convert::Infallible;
use core::future::poll_fn;
use core::hint::black_box;
use core::marker::PhantomData;
use core::task::Poll;

use embedded_io_async::{ErrorType as IoErrorType, Read, Write};
use embedded_storage_async::nor_flash::{
    ErrorType as FlashErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash,
};
use lock_drivers::battery::{self, Chip, Divider, DividerBattery, LI_ION_1S, RawAdc};
use lock_drivers::body::{EndSwitches, HBridge, ShuntStall};
use lock_drivers::face::shared::{FaceModule, SharedFace, SharedModule, SharedPalm};
use lock_drivers::face::{self, Face, Plain};
use lock_drivers::fingerprint::{self, Fingerprint, PowerSwitch, Wakeup};
use lock_drivers::keypad::{self, Bs8116a, GpioBacklight};
use lock_drivers::prompts::VoicePrompts;
use lock_drivers::switch::{
    GpioButton, GpioContact, GpioSiren, GpioTrigger, GpioUsbSense, SwitchConfig,
};
use lock_drivers::voice::{Wt588f, Wt588fConfig};
use lock_hal::{Absent, Clock, Entropy, ErrorKind, Received, Transport};
use lock_runtime::{Board, Hardware, ProtoApp, Runtime};
use lock_store::{Store, StoreConfig};

/// A future that is ready when an opaque value says so.
async fn opaque() {
    poll_fn(|_| {
        if black_box(false) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Any pin, bus, UART, timer or ADC of the board.
#[derive(Clone, Copy)]
struct Part;

impl embedded_hal::digital::ErrorType for Part {
    type Error = Infallible;
}

impl embedded_hal::digital::InputPin for Part {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(black_box(false))
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(black_box(true))
    }
}

impl embedded_hal::digital::OutputPin for Part {
    fn set_low(&mut self) -> Result<(), Infallible> {
        black_box(0u8);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        black_box(1u8);
        Ok(())
    }
}

impl embedded_hal_async::digital::Wait for Part {
    async fn wait_for_high(&mut self) -> Result<(), Infallible> {
        opaque().await;
        Ok(())
    }

    async fn wait_for_low(&mut self) -> Result<(), Infallible> {
        opaque().await;
        Ok(())
    }

    async fn wait_for_rising_edge(&mut self) -> Result<(), Infallible> {
        opaque().await;
        Ok(())
    }

    async fn wait_for_falling_edge(&mut self) -> Result<(), Infallible> {
        opaque().await;
        Ok(())
    }

    async fn wait_for_any_edge(&mut self) -> Result<(), Infallible> {
        opaque().await;
        Ok(())
    }
}

impl embedded_hal::i2c::ErrorType for Part {
    type Error = Infallible;
}

impl embedded_hal::i2c::I2c for Part {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [embedded_hal::i2c::Operation<'_>],
    ) -> Result<(), Infallible> {
        black_box(address);
        for operation in operations {
            if let embedded_hal::i2c::Operation::Read(buf) = operation {
                for byte in buf.iter_mut() {
                    *byte = black_box(0);
                }
            } else {
                black_box(&operation);
            }
        }
        Ok(())
    }
}

impl IoErrorType for Part {
    type Error = embedded_io::ErrorKind;
}

impl Read for Part {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, embedded_io::ErrorKind> {
        opaque().await;
        for byte in buf.iter_mut() {
            *byte = black_box(0);
        }
        Ok(black_box(buf.len()))
    }
}

impl Write for Part {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, embedded_io::ErrorKind> {
        opaque().await;
        black_box(buf);
        Ok(black_box(buf.len()))
    }

    async fn flush(&mut self) -> Result<(), embedded_io::ErrorKind> {
        opaque().await;
        Ok(())
    }
}

impl embedded_hal::delay::DelayNs for Part {
    fn delay_ns(&mut self, ns: u32) {
        black_box(ns);
    }
}

impl embedded_hal_async::delay::DelayNs for Part {
    async fn delay_ns(&mut self, ns: u32) {
        black_box(ns);
        opaque().await;
    }
}

impl RawAdc for Part {
    type Error = ErrorKind;

    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        opaque().await;
        Ok(black_box(2_048))
    }
}

impl Clock for Part {
    fn now_ms(&self) -> u64 {
        black_box(0)
    }

    async fn wait_until(&self, at_ms: u64) {
        black_box(at_ms);
        opaque().await;
    }
}

/// The lock's flash region: the STM32L4's 8-byte words and 2 KiB pages.
struct Flash;

impl FlashErrorType for Flash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for Flash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), NorFlashErrorKind> {
        black_box(offset);
        opaque().await;
        for byte in bytes.iter_mut() {
            *byte = black_box(0xFF);
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        black_box(112 * 1024)
    }
}

impl NorFlash for Flash {
    const WRITE_SIZE: usize = 8;
    const ERASE_SIZE: usize = 2048;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), NorFlashErrorKind> {
        black_box((from, to));
        opaque().await;
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), NorFlashErrorKind> {
        black_box((offset, bytes));
        opaque().await;
        Ok(())
    }
}

/// The app's radio link and the random source.
struct Radio;

impl lock_hal::ErrorType for Radio {
    type Error = ErrorKind;
}

impl Transport for Radio {
    async fn receive(&mut self, buf: &mut [u8]) -> Result<Received, ErrorKind> {
        opaque().await;
        for byte in buf.iter_mut() {
            *byte = black_box(0);
        }
        if black_box(false) {
            Ok(Received::LinkStarted)
        } else {
            Ok(Received::Frame(black_box(buf.len())))
        }
    }

    async fn send(&mut self, frame: &[u8]) -> Result<(), ErrorKind> {
        black_box(frame);
        Ok(())
    }

    fn last_was_remote(&self) -> bool {
        black_box(false)
    }

    fn disconnect(&mut self) {
        black_box(0u8);
    }

    fn listen(&mut self, on: bool) {
        black_box(on);
    }
}

impl Entropy for Radio {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ErrorKind> {
        for byte in buf.iter_mut() {
            *byte = black_box(0);
        }
        Ok(())
    }
}

type Module = SharedModule<Part, Part, Plain, Part>;

/// The probe's board: the STM32 board's drivers over opaque parts.
struct Probe<'a>(PhantomData<&'a ()>);

impl<'a> Board for Probe<'a> {
    type Keypad = Bs8116a<Part, Part, Part>;
    type Backlight = GpioBacklight<Part, 4>;
    type Face = SharedFace<'a, Part, Part, Plain, Part>;
    type Palm = SharedPalm<'a, Part, Part, Plain, Part>;
    type Finger = Fingerprint<Part, Part, Part>;
    type FaceSensor = Absent;
    type PalmSensor = Absent;
    type FingerSensor = Wakeup<Part>;
    type Motor = HBridge<Part, Part>;
    type BoltSensor = EndSwitches<Part, Part>;
    type StallSensor = ShuntStall<Part, Part>;
    type DoorSensor = GpioContact<Part, Part>;
    type Tamper = GpioTrigger<Part, Part>;
    type KeyCylinder = GpioTrigger<Part, Part>;
    type SetButton = GpioButton<Part, Part>;
    type LockButton = GpioButton<Part, Part>;
    type Battery = DividerBattery<'a, Part, Part, Part>;
    type UsbPower = GpioUsbSense<Part, Part>;
    type Sound = VoicePrompts<Wt588f<Part, Part, Part>, Part>;
    type Siren = GpioSiren<Part>;
    type Clock = Part;
}

/// Every part of the board, as the STM32 board wires them.
fn hardware(face: &Module) -> Option<Hardware<Probe<'_>>> {
    let voice = Wt588f::new(Part, Part, Part, Wt588fConfig::default()).ok()?;
    let finger = Fingerprint::with_power(
        Part,
        Part,
        fingerprint::Config::default(),
        PowerSwitch::active_high(Part),
    )
    .ok()?;
    Some(Hardware {
        keypad: Bs8116a::new(Part, Part, Part, keypad::Config::default()),
        backlight: GpioBacklight::grouped([Part; 4], [0x03FF, 0x0C00, 0x1000, 0x2000], false),
        face: SharedFace(face),
        palm: SharedPalm(face),
        finger,
        face_sensor: Absent,
        palm_sensor: Absent,
        finger_sensor: Wakeup::new(Part),
        motor: HBridge::new(Part, Part),
        bolt: EndSwitches::new(Part, Part, true),
        stall: ShuntStall::new(Part, Part, black_box(1_000)),
        door: GpioContact::new(Part, Part, SwitchConfig::OPENS_HIGH),
        tamper: GpioTrigger::new(Part, Part, SwitchConfig::OPENS_HIGH),
        key_cylinder: GpioTrigger::new(Part, Part, SwitchConfig::CLOSED_LOW),
        set_button: GpioButton::new(Part, Part, SwitchConfig::CLOSED_LOW),
        lock_button: GpioButton::new(Part, Part, SwitchConfig::CLOSED_LOW),
        battery: DividerBattery::new(
            Part,
            Part,
            Part,
            battery::Config {
                chip: Chip::Stm32 { vdda_mv: 3_000 },
                divider: Divider::HALF,
                curve: &LI_ION_1S,
                samples: 4,
                settle_ms: 5,
            },
        ),
        usb_power: GpioUsbSense::new(Part, Part, SwitchConfig::OPENS_HIGH),
        sound: VoicePrompts::new(voice, Part),
        siren: GpioSiren::new(Part, false),
        clock: Part,
    })
}

/// The STM32 board's split of its 112 KiB region.
const STORE: StoreConfig = StoreConfig {
    state: 0..0xC000,
    log: 0xC000..0x1C000,
};

#[embassy_executor::main(entry = "cortex_m_rt::entry")]
async fn main(_spawner: embassy_executor::Spawner) -> ! {
    let face: Module = SharedModule::new(FaceModule::new(
        Face::new(Part, Part, face::Config::default()),
        Part,
    ));
    if let (Some(hardware), Ok(store)) = (hardware(&face), Store::new(Flash, STORE)) {
        let app = ProtoApp::new(Radio, Radio);
        let mut runtime = Runtime::new(
            hardware,
            store,
            app,
            black_box(lock_core::Config::default()),
        );
        runtime.run().await;
    }
    loop {
        opaque().await;
    }
}

/// Loops forever: the probe only has to link, and a panic crate would add
/// its own code to the figures.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
