//! The lock on an STM32L476RG (Nucleo-L476RG): wiring, driver construction,
//! runtime start. The pin table, what is real and the security posture are
//! in `boards/stm32/README.md`; the lock's behaviour is lock-core's, run by
//! lock-runtime.
//!
//! Everything runs in one task, joined: the watchdog's feeder, the runtime,
//! the BLE host (over an external HCI controller on USART3) and the three
//! UART links' runners (`link::serve`), which build each UART only while
//! there is traffic. Each waits on an interrupt or a timer alarm, so when
//! none has anything to do embassy-stm32's executor sleeps until an EXTI
//! line (keypad IRQ, fingerprint WAKEUP, buttons, switches, the BLE
//! controller's BT_HOST_WAKE), a UART or DMA transfer under way, or the
//! next deadline (the feeder's, every 16 s) wakes it: in STOP 2 when nothing
//! holds the chip awake, which is the idle case, in Sleep (WFI) otherwise
//! (README.md, Energy). The independent watchdog resets the chip when that
//! task stops being polled (README.md, Watchdog).

#![no_std]
#![no_main]

mod ecc;
mod hci;
mod layout;
mod link;
mod parts;
mod security;

use core::cell::RefCell;
use core::marker::PhantomData;

use bt_hci::controller::ExternalController;
use bt_hci::transport::SerialTransport;
use defmt::{error, info, warn};
use defmt_rtt as _;
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_stm32::adc::{Adc, VREF_CALIB_MV};
use embassy_stm32::exti::{self, ExtiInput};
use embassy_stm32::flash::{Blocking, Flash};
use embassy_stm32::gpio::{Level, Output, Pull, Speed};
use embassy_stm32::i2c::{self, I2c};
use embassy_stm32::mode::Async;
use embassy_stm32::peripherals::{self, PA0, PA1, PA9, PA10, PC0, PC1, UART4, USART1};
use embassy_stm32::rcc::{LsConfig, MSIRange, Sysclk, mux};
use embassy_stm32::rng;
use embassy_stm32::time::Hertz;
use embassy_stm32::usart;
use embassy_stm32::wdg::IndependentWatchdog;
use embassy_stm32::{Peri, bind_interrupts, dma, interrupt};
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{Delay, Duration};
use embedded_storage::nor_flash::NorFlash;
use lock_ble::{BleLink, BleTransport};
use lock_drivers::battery::{self, Chip, Divider, DividerBattery, LI_ION_1S};
use lock_drivers::body::{EndSwitches, HBridge, ShuntStall};
use lock_drivers::clock::EmbassyClock;
use lock_drivers::face::shared::{FaceModule, SharedFace, SharedModule, SharedPalm};
use lock_drivers::face::{self, Face, Plain};
use lock_drivers::fingerprint::{self, Fingerprint, PowerSwitch, Wakeup};
use lock_drivers::keypad::{self, Bs8116a, GpioBacklight};
use lock_drivers::prompts::VoicePrompts;
use lock_drivers::switch::{
    GpioButton, GpioContact, GpioSiren, GpioTrigger, GpioUsbSense, SwitchConfig,
};
use lock_drivers::voice::{Wt588f, Wt588fConfig};
use lock_hal::Absent;
use lock_runtime::SlotUpdater;
use lock_runtime::{Board, Hardware, ProtoApp, Runtime};
use lock_store::{BlockingAsync, Store, StoreConfig};
use lock_update::{BoardId, EmbassyBoot, Verifier};
use panic_probe as _;
use static_cell::{ConstStaticCell, StaticCell};

use crate::ecc::StoreFlash;
use crate::hci::HciUart;
use crate::layout::{
    ACTIVE_SIZE, DFU_START, LOCK_REGION_SIZE, LOCK_REGION_START, STATE_SIZE, STATE_START,
};
use crate::link::{HciWake, Port, PortIo, Silent};
use crate::parts::{AdcInput, ChipEntropy, ModuleUart, SharedAdc};

bind_interrupts!(struct Irqs {
    USART1 => usart::BufferedInterruptHandler<peripherals::USART1>;
    UART4 => usart::BufferedInterruptHandler<peripherals::UART4>;
    USART3 => usart::InterruptHandler<peripherals::USART3>;
    DMA1_CHANNEL2 => dma::InterruptHandler<peripherals::DMA1_CH2>;
    DMA1_CHANNEL3 => dma::InterruptHandler<peripherals::DMA1_CH3>;
    RNG => rng::InterruptHandler<peripherals::RNG>;
    EXTI0 => exti::InterruptHandler<interrupt::typelevel::EXTI0>;
    EXTI1 => exti::InterruptHandler<interrupt::typelevel::EXTI1>;
    EXTI2 => exti::InterruptHandler<interrupt::typelevel::EXTI2>;
    EXTI3 => exti::InterruptHandler<interrupt::typelevel::EXTI3>;
    EXTI4 => exti::InterruptHandler<interrupt::typelevel::EXTI4>;
    EXTI9_5 => exti::InterruptHandler<interrupt::typelevel::EXTI9_5>;
    EXTI15_10 => exti::InterruptHandler<interrupt::typelevel::EXTI15_10>;
});

// ----- settings (README.md's pin table) --------------------------------------

/// Which keys each backlight output lights (bit 0 is `0`, lock-hal's order).
const LIGHT_GROUPS: [u16; 4] = [0x03FF, 0x0C00, 0x1000, 0x2000];

/// Stall: 1.5 A through 0.1 Ω, amplified ×10, is 1.5 V at PC1, which reads
/// 2048 at the 3.0 V the ADC inputs are normalised to (`AdcInput`).
const STALL_RAW: u16 = 2_048;

/// The lock's flash region (`layout::LOCK_REGION_START`): the last
/// 112 KiB of bank 2, kept out of the linker's reach by `memory.x` and out
/// of the boot loader's partitions by `layout`: 48 KiB state, 64 KiB log,
/// as on the ESP32-C3; 24 and 32 of the L4's 2 KiB pages. The state needs
/// 28 KiB (checked below); the rest spreads the wear over more pages, which
/// the L4's 10,000-cycle flash needs more than SPI NOR does (README.md,
/// Flash).
const STORE: StoreConfig = StoreConfig {
    state: 0..0xC000,
    log: 0xC000..0x1C000,
};
/// The flash's erase page: `BlockingPartition::new` wants the region
/// aligned to it (checked here, at compile time).
#[allow(clippy::cast_possible_truncation)] // 2 KiB: no truncation (and `TryFrom` is not const).
const PAGE: u32 = <Flash<'static, Blocking> as NorFlash>::ERASE_SIZE as u32;
const _: () = assert!(LOCK_REGION_START.is_multiple_of(PAGE));
const _: () = assert!(LOCK_REGION_SIZE.is_multiple_of(PAGE));
const _: () = assert!(LOCK_REGION_START + LOCK_REGION_SIZE == 1024 * 1024);
const _: () = assert!(PAGE == layout::PAGE);
const _: () = assert!(STORE.log.end == LOCK_REGION_SIZE);
const _: () = assert!(
    STORE.state.end - STORE.state.start >= StoreConfig::min_state_bytes::<StoreNor<'static>>()
);
const _: () =
    assert!(STORE.log.end - STORE.log.start >= StoreConfig::min_log_bytes::<StoreNor<'static>>());

/// Firmware updates (README.md, Firmware updates): the board an image must
/// be signed for (`lock-sign sign --board nucleo-l476rg`).
const BOARD_ID: Option<BoardId> = BoardId::new("nucleo-l476rg");
/// This firmware's security counter: an update signed with a lower one is
/// refused (S-UP-2). A maker raises it with each release that fixes a
/// security bug, and signs that release with the same number (`lock-sign
/// sign --counter`).
const SECURITY_COUNTER: u32 = 1;

// `MAKER_PUBLIC_KEY`: the maker's Ed25519 public key, built in by build.rs
// from `LOCK_MAKER_PUBLIC_KEY` (all zeros, refusing every image, without
// it). Never a secret key: that stays with the maker (`lock-sign keygen`).
include!(concat!(env!("OUT_DIR"), "/maker_key.rs"));

/// embassy-boot's work buffer for STATE: one double word, aligned as the
/// flash driver writes it.
#[repr(C, align(8))]
struct StateWord([u8; 8]);

/// UART buffers: the longest module reply (an EF 01 data packet, 139 bytes)
/// fits the receive side with room to spare. The UART's own buffers and
/// the port's pipes (`link::Port`) have the same sizes.
const MODULE_RX: usize = 256;
const MODULE_TX: usize = 64;
/// The HCI link's DMA ring: what arrives between two polls of the link's
/// runner, which moves it into the port's receive pipe (`HCI_PIPE_RX`).
const HCI_RX: usize = 1024;
/// The HCI port's pipes: several full ACL packets of the default packet
/// pool's 512-byte MTU at 1 Mbit/s while the host is busy elsewhere; a
/// command or an ACL packet out.
const HCI_PIPE_RX: usize = 2048;
const HCI_PIPE_TX: usize = 512;

/// Commands the BLE host may have outstanding at the controller.
const HCI_SLOTS: usize = 4;

/// The independent watchdog (README.md, Watchdog), on the LSI (32 kHz
/// nominal), resets the chip when it is not petted for
/// `WATCHDOG_TIMEOUT_US`: the longest the IWDG allows (prescaler /256,
/// reload 4095: 4096 × 256 / 32 kHz = 32.768 s; 30.8 s at the LSI's 34 kHz
/// maximum). `parts::pet_watchdog`, joined with the lock, pets it every
/// `WATCHDOG_FEED`, about half of that, so that idle costs one wake-up
/// every 16 s (R-NRG-1 counts the watchdog apart). The at least 14.8 s
/// between a pet and the timeout is how long one poll may keep the
/// executor: the store's flash work blocks it, and a factory reset erases
/// up to the region's 56 pages in one go (about 1.2 s at 22 ms a page,
/// 1.4 s at the datasheet's 24.5 ms).
const WATCHDOG_TIMEOUT_US: u32 = 32_768_000;
const WATCHDOG_FEED: Duration = Duration::from_secs(16);

/// The UARTs' buffers, in statics so the UART types are `'static` like the
/// chip's peripherals.
static FINGER_RX: ConstStaticCell<[u8; MODULE_RX]> = ConstStaticCell::new([0; MODULE_RX]);
static FINGER_TX: ConstStaticCell<[u8; MODULE_TX]> = ConstStaticCell::new([0; MODULE_TX]);
static FACE_RX: ConstStaticCell<[u8; MODULE_RX]> = ConstStaticCell::new([0; MODULE_RX]);
static FACE_TX: ConstStaticCell<[u8; MODULE_TX]> = ConstStaticCell::new([0; MODULE_TX]);
static HCI_RING: ConstStaticCell<[u8; HCI_RX]> = ConstStaticCell::new([0; HCI_RX]);

/// The UARTs' ports: what the drivers and the BLE host read and write while
/// the UARTs themselves exist only during traffic (`link`).
/// Filled at start-up (`StaticCell`, in `.bss`), not from a constant
/// image in flash.
static FINGER_PORT: StaticCell<FingerPort> = StaticCell::new();
static FACE_PORT: StaticCell<FacePort> = StaticCell::new();
static HCI_PORT: StaticCell<HciPort> = StaticCell::new();

// ----- the board's part types -----------------------------------------------

type Exti = ExtiInput<'static, Async>;
type I2cBus = I2c<'static, embassy_stm32::mode::Blocking, i2c::Master>;
type FingerPort = Port<MODULE_RX, MODULE_TX>;
type FacePort = Port<MODULE_RX, MODULE_TX>;
type HciPort = Port<HCI_PIPE_RX, HCI_PIPE_TX>;
type ModuleIo = PortIo<'static, MODULE_RX, MODULE_TX>;
type HciIo = PortIo<'static, HCI_PIPE_RX, HCI_PIPE_TX>;
type Module = SharedModule<ModuleIo, EmbassyClock, Plain, Output<'static>>;
type StoreNor<'a> =
    BlockingAsync<StoreFlash<BlockingPartition<'a, NoopRawMutex, Flash<'static, Blocking>>>>;
/// The update's staging area (embassy-boot's DFU partition cut to ACTIVE's
/// size: its last page is the swap's) and embassy-boot's STATE, through the
/// same ECC-aware wrapper as the store.
type SlotNor<'a> = StoreNor<'a>;
type Updates<'a, 's> = SlotUpdater<SlotNor<'a>, EmbassyBoot<'s, SlotNor<'a>>>;
type HciTransport = SerialTransport<NoopRawMutex, HciIo, HciIo>;

/// The Nucleo-L476RG with the lock's modules (README.md's pin table).
struct NucleoL476<'a>(PhantomData<&'a ()>);

impl<'a> Board for NucleoL476<'a> {
    type Keypad = Bs8116a<I2cBus, Exti, EmbassyClock>;
    type Backlight = GpioBacklight<Output<'static>, 4>;
    type Face = SharedFace<'a, ModuleIo, EmbassyClock, Plain, Output<'static>>;
    type Palm = SharedPalm<'a, ModuleIo, EmbassyClock, Plain, Output<'static>>;
    type Finger = Fingerprint<ModuleIo, EmbassyClock, Output<'static>>;
    // The face+palm module cannot tell that someone stands before it (and
    // is off between operations): the lock searches on a touch.
    type FaceSensor = Absent;
    type PalmSensor = Absent;
    type FingerSensor = Wakeup<Exti>;
    type Motor = HBridge<Output<'static>, Output<'static>>;
    type BoltSensor = EndSwitches<Exti, Exti>;
    type StallSensor = ShuntStall<AdcInput<'a, Peri<'static, PC1>>, EmbassyClock>;
    type DoorSensor = GpioContact<Exti, EmbassyClock>;
    type Tamper = GpioTrigger<Exti, EmbassyClock>;
    type KeyCylinder = GpioTrigger<Exti, EmbassyClock>;
    type SetButton = GpioButton<Exti, EmbassyClock>;
    type LockButton = GpioButton<Exti, EmbassyClock>;
    type Battery = DividerBattery<'a, AdcInput<'a, Peri<'static, PC0>>, Output<'static>, Delay>;
    type UsbPower = GpioUsbSense<Exti, EmbassyClock>;
    // The WT588F's clips, played by lock-drivers' clip table.
    type Sound = VoicePrompts<Wt588f<Output<'static>, Exti, Delay>, Delay>;
    type Siren = GpioSiren<Output<'static>>;
    type Clock = EmbassyClock;
}

/// A board that cannot be wired (a dead bus, a flash region that does not
/// fit) is not a lock: it says why and stays still, the motor unpowered
/// (the bridge inputs are low, or not yet driven and held low by the
/// bridge's pull-downs), until the watchdog, which nothing pets here,
/// restarts the chip to try again.
async fn halt(why: &str) -> ! {
    error!("board: {}; halted", why);
    core::future::pending().await
}

/// The chip's inputs, outputs and buses as the pin table assigns them,
/// before they become drivers.
struct Pins {
    i2c: I2cBus,
    keypad_irq: Exti,
    backlights: [Output<'static>; 4],
    finger_uart: ModuleIo,
    finger_power: Output<'static>,
    finger_wakeup: Exti,
    in1: Output<'static>,
    in2: Output<'static>,
    bolt_locked: Exti,
    bolt_unlocked: Exti,
    battery: Peri<'static, PC0>,
    shunt: Peri<'static, PC1>,
    divider_enable: Output<'static>,
    door: Exti,
    tamper: Exti,
    key_cylinder: Exti,
    set_button: Exti,
    lock_button: Exti,
    usb_sense: Exti,
    voice_data: Output<'static>,
    voice_busy: Exti,
    siren: Output<'static>,
}

/// Builds every part of the pin table and hands them over as the
/// runtime's hardware.
fn wire<'a>(
    pins: Pins,
    adc: &'a SharedAdc,
    face: &'a Module,
) -> Result<Hardware<NucleoL476<'a>>, &'static str> {
    let clock = EmbassyClock;
    let vrefint = || adc.lock(|adc| adc.borrow().enable_vrefint());

    let mut keypad = Bs8116a::new(pins.i2c, pins.keypad_irq, clock, keypad::Config::default());
    if keypad.init().is_err() {
        // The runtime reports a keypad that keeps failing; the lock still
        // opens by finger, face and the key.
        error!("board: the BS8116A-3 did not take its settings");
    }

    let battery = DividerBattery::new(
        AdcInput::new(adc, pins.battery, vrefint()),
        pins.divider_enable,
        Delay,
        battery::Config {
            // AdcInput corrects each reading to VDDA = 3.0 V through
            // VREFINT; full scale is then 3.0 V.
            chip: Chip::Stm32 {
                vdda_mv: u16::try_from(VREF_CALIB_MV).map_err(|_| "VREF_CALIB_MV")?,
            },
            divider: Divider::HALF,
            curve: &LI_ION_1S,
            samples: 4,
            settle_ms: 5,
        },
    );

    let voice = Wt588f::new(
        pins.voice_data,
        pins.voice_busy,
        Delay,
        Wt588fConfig::default(),
    )
    .map_err(|_| "the voice data pin")?;

    Ok(Hardware {
        keypad,
        backlight: GpioBacklight::grouped(pins.backlights, LIGHT_GROUPS, false),
        face: SharedFace(face),
        palm: SharedPalm(face),
        // The R503's main supply through a load switch, on only while it
        // works (its touch supply stays on for WAKEUP).
        finger: Fingerprint::with_power(
            pins.finger_uart,
            clock,
            fingerprint::Config::default(),
            PowerSwitch::active_high(pins.finger_power),
        )
        .map_err(|_| "the fingerprint power pin")?,
        face_sensor: Absent,
        palm_sensor: Absent,
        finger_sensor: Wakeup::new(pins.finger_wakeup),
        motor: HBridge::new(pins.in1, pins.in2),
        bolt: EndSwitches::new(pins.bolt_locked, pins.bolt_unlocked, true),
        stall: ShuntStall::new(AdcInput::new(adc, pins.shunt, vrefint()), clock, STALL_RAW),
        door: GpioContact::new(pins.door, clock, SwitchConfig::OPENS_HIGH),
        tamper: GpioTrigger::new(pins.tamper, clock, SwitchConfig::OPENS_HIGH),
        key_cylinder: GpioTrigger::new(pins.key_cylinder, clock, SwitchConfig::CLOSED_LOW),
        set_button: GpioButton::new(pins.set_button, clock, SwitchConfig::CLOSED_LOW),
        lock_button: GpioButton::new(pins.lock_button, clock, SwitchConfig::CLOSED_LOW),
        battery,
        usb_power: GpioUsbSense::new(pins.usb_sense, clock, SwitchConfig::OPENS_HIGH),
        sound: VoicePrompts::new(voice, Delay),
        siren: GpioSiren::new(pins.siren, false),
        clock,
    })
}

/// Clocks: MSI at 48 MHz as the system clock, trimmed continuously by the
/// 32.768 kHz LSE crystal (MSI PLL mode), which also runs the RTC that
/// counts time through STOP. Without a running crystal (`lse` false:
/// `parts::lse_starts`) the RTC runs on the LSI and the MSI untrimmed: the
/// lock runs, its time and UART baud rates less exact (README.md, Clocks). No PLL: the MSI is what the chip wakes from
/// STOP on, at the range it had, so the clocks are right again at once
/// without embassy-stm32 setting them up again (it does not on the L4).
/// The RNG's 48 MHz and the ADC come from the MSI and SYSCLK.
fn config(lse: bool) -> embassy_stm32::Config {
    let mut config = embassy_stm32::Config::default();
    config.rcc.msi = Some(MSIRange::RANGE48M);
    config.rcc.sys = Sysclk::MSI;
    config.rcc.ls = if lse {
        LsConfig::default_lse()
    } else {
        LsConfig::default_lsi()
    };
    config.rcc.mux.clk48sel = mux::Clk48sel::MSI;
    config.rcc.mux.adcsel = mux::Adcsel::SYS;
    // STOP only when nothing is due for a while: entering and leaving
    // takes time, and the RTC's wake-up timer that ends it is coarser than
    // the 1 µs tick.
    config.min_stop_pause = Duration::from_millis(250);
    // Keeps SWD and RTT logs working through STOP (probe-rs stays
    // attached), at the cost of the debug domain's current. Turn off for
    // current measurements and in the field.
    config.enable_debug_during_sleep = true;
    config
}

/// Six bytes of the 96-bit unique ID (wafer position, wafer and lot
/// number), folded: the BLE static address's seed and the serial number.
fn unique() -> [u8; 6] {
    let uid = embassy_stm32::uid::uid();
    let mut unique = [0u8; 6];
    for (index, byte) in uid.iter().enumerate() {
        if let Some(slot) = unique.get_mut(index % 6) {
            *slot ^= byte;
        }
    }
    unique
}

#[embassy_executor::main(
    executor = "embassy_stm32::executor::Executor",
    entry = "cortex_m_rt::entry"
)]
async fn main(_spawner: embassy_executor::Spawner) -> ! {
    let lse = parts::lse_starts();
    let p = embassy_stm32::init(config(lse));
    // The independent watchdog, armed before anything that could panic or
    // hang; once started only a reset stops it. Petted from here on only by
    // the joined feeder. Frozen while a debugger halts the core (and only
    // then: DBGMCU), so that a breakpoint does not reset the chip.
    let mut watchdog = IndependentWatchdog::new(p.IWDG, WATCHDOG_TIMEOUT_US);
    watchdog.unleash();
    embassy_stm32::pac::DBGMCU
        .apb1fzr1()
        .modify(|w| w.set_iwdg(true));
    info!("open door lock on Nucleo-L476RG");
    if !lse {
        warn!("clocks: the LSE crystal did not start; RTC on the LSI, MSI untrimmed");
    }
    security::report();

    // I2C1 at 100 kHz (the BS8116A-3's limit): the keypad. A transfer is
    // a fraction of a millisecond; a stuck bus gives up after 20 ms.
    let mut i2c_config = i2c::Config::default();
    i2c_config.frequency = Hertz::khz(100);
    i2c_config.timeout = Duration::from_millis(20);
    let i2c = I2c::new_blocking(p.I2C1, p.PB8, p.PB9, i2c_config);

    // ADC1: the battery divider (PC0) and the motor's shunt (PC1), each
    // reading corrected through VREFINT.
    let adc: SharedAdc = BlockingMutex::new(RefCell::new(Adc::new(p.ADC1)));

    // The bridge inputs PA6 / PA7 as plain outputs, both low (coast). The
    // motor runs at full duty, so a timer (TIM3's PWM, which embassy-stm32
    // counts against STOP for as long as it lives) would only switch
    // levels. Neither pin has a pull-up at reset (unlike PA15 / PB4,
    // JTAG's), so the bridge's pull-downs keep the motor coasting until
    // they are driven.
    let in1 = Output::new(p.PA6, Level::Low, Speed::Low);
    let in2 = Output::new(p.PA7, Level::Low, Speed::Low);

    // The modules' UARTs: USART1 (PA9 TX, PA10 RX) for the fingerprint at
    // 57600, UART4 (PA0 TX, PA1 RX) for the face module at 115200, each
    // built only while its module is spoken to (`link`).
    let (
        Some(finger_rx),
        Some(finger_tx),
        Some(face_rx),
        Some(face_tx),
        Some(hci_ring),
        Some(finger_port),
        Some(face_port),
        Some(hci_port),
    ) = (
        FINGER_RX.try_take(),
        FINGER_TX.try_take(),
        FACE_RX.try_take(),
        FACE_TX.try_take(),
        HCI_RING.try_take(),
        FINGER_PORT.try_init(Port::module()),
        FACE_PORT.try_init(Port::module()),
        HCI_PORT.try_init(Port::hci()),
    )
    else {
        halt("the UART buffers are taken").await
    };
    let (finger_port, face_port, hci_port): (
        &'static FingerPort,
        &'static FacePort,
        &'static HciPort,
    ) = (finger_port, face_port, hci_port);
    let finger_uart: ModuleUart<USART1, PA10, PA9> = ModuleUart {
        usart: p.USART1,
        rx: p.PA10,
        tx: p.PA9,
        rx_buf: finger_rx,
        tx_buf: finger_tx,
        baudrate: 57_600,
    };
    let face_uart: ModuleUart<UART4, PA1, PA0> = ModuleUart {
        usart: p.UART4,
        rx: p.PA1,
        tx: p.PA0,
        rx_buf: face_rx,
        tx_buf: face_tx,
        baudrate: 115_200,
    };
    let face: Module = SharedModule::new(FaceModule::new(
        Face::new(face_port.io(), EmbassyClock, face::Config::default()),
        Output::new(p.PC9, Level::Low, Speed::Low),
    ));

    // The lock's state: lock-store on the reserved end of bank 2.
    // embassy-stm32's flash driver panics if the option bytes' bank mode is
    // not the one it was built for (`dual-bank`, the factory setting):
    // check first, and halt instead.
    if !embassy_stm32::pac::FLASH.optr().read().dualbank() {
        halt("the flash is in single-bank mode; set DUALBANK in the option bytes").await
    }
    let flash: BlockingMutex<NoopRawMutex, RefCell<Flash<'_, Blocking>>> =
        BlockingMutex::new(RefCell::new(Flash::new_blocking(p.FLASH)));
    let region = BlockingPartition::new(&flash, LOCK_REGION_START, LOCK_REGION_SIZE);
    let nor: StoreNor<'_> = BlockingAsync::new(StoreFlash::new(region));
    let Ok(store) = Store::new(nor, STORE) else {
        halt("the lock's flash region does not hold lock-store's ranges").await
    };

    // BLE: the app's link, over lock-proto frames, through an HCI
    // controller on USART3 (PC10 TX, PC11 RX, PB14 RTS, PB13 CTS), with
    // the controller's wake lines (PB12 BT_HOST_WAKE on EXTI12, PB11
    // BT_DEV_WAKE). The UART exists only while there is traffic once the
    // controller has taken its sleep mode (`hci::enable_sleep`; README.md,
    // Energy). Without a controller, CTS reads "not clear" and RX idles:
    // BLE stays down and the lock runs on.
    let hci_uart = HciUart {
        usart: p.USART3,
        rx: p.PC11,
        tx: p.PC10,
        rts: p.PB14,
        cts: p.PB13,
        tx_dma: p.DMA1_CH2,
        rx_dma: p.DMA1_CH3,
        ring: hci_ring,
    };
    let hci_wake = HciWake::new(
        ExtiInput::new(p.PB12, p.EXTI12, Pull::Up, Irqs),
        Output::new(p.PB11, Level::High, Speed::Low),
    );
    let transport: HciTransport = SerialTransport::new(hci_port.io(), hci_port.io());
    let controller: ExternalController<_, HCI_SLOTS> = ExternalController::new(transport);
    let unique = unique();
    let link = BleLink::new();
    // The app protocol (lock-proto) over the BLE link, keys and challenges
    // from the RNG.
    let mut entropy = ChipEntropy::new(p.RNG);
    // S-PR-8: the seed of this boot's advertising addresses, fresh from the
    // RNG; without it no radio (never an address made of the chip).
    let mut seed = [0u8; 32];
    let seeded = lock_hal::Entropy::fill(&mut entropy, &mut seed).is_ok();
    // Firmware updates: an administrator's signed image into DFU, marked in
    // STATE for boards/stm32-boot to swap in at the next reset; the new
    // image confirms itself once the lock has restored its state.
    let Some(board_id) = BOARD_ID else {
        halt("the board id is not a valid one").await
    };
    if MAKER_PUBLIC_KEY == [0; 32] {
        warn!("update: no maker key built in (LOCK_MAKER_PUBLIC_KEY); every image is refused");
    }
    let mut state_word = StateWord([0; 8]);
    let staging: SlotNor<'_> = BlockingAsync::new(StoreFlash::new(BlockingPartition::new(
        &flash,
        DFU_START,
        ACTIVE_SIZE,
    )));
    let state: SlotNor<'_> = BlockingAsync::new(StoreFlash::new(BlockingPartition::new(
        &flash,
        STATE_START,
        STATE_SIZE,
    )));
    let Some(slots) = EmbassyBoot::new(state, &mut state_word.0) else {
        halt("embassy-boot's STATE work buffer").await
    };
    let updates: Updates<'_, '_> = SlotUpdater::new(
        Verifier::new(MAKER_PUBLIC_KEY, board_id, SECURITY_COUNTER),
        staging,
        slots,
    );
    let app = ProtoApp::with_updater(BleTransport::new(&link), entropy, updates);

    let pins = Pins {
        i2c,
        keypad_irq: ExtiInput::new(p.PA8, p.EXTI8, Pull::Up, Irqs),
        backlights: [
            Output::new(p.PA11, Level::Low, Speed::Low),
            Output::new(p.PA12, Level::Low, Speed::Low),
            Output::new(p.PC12, Level::Low, Speed::Low),
            Output::new(p.PD2, Level::Low, Speed::Low),
        ],
        finger_uart: finger_port.io(),
        finger_power: Output::new(p.PB5, Level::Low, Speed::Low),
        finger_wakeup: ExtiInput::new(p.PA4, p.EXTI4, Pull::Up, Irqs),
        in1,
        in2,
        bolt_locked: ExtiInput::new(p.PC5, p.EXTI5, Pull::Up, Irqs),
        bolt_unlocked: ExtiInput::new(p.PC6, p.EXTI6, Pull::Up, Irqs),
        battery: p.PC0,
        shunt: p.PC1,
        divider_enable: Output::new(p.PC4, Level::Low, Speed::Low),
        door: ExtiInput::new(p.PB1, p.EXTI1, Pull::Up, Irqs),
        tamper: ExtiInput::new(p.PB0, p.EXTI0, Pull::Up, Irqs),
        key_cylinder: ExtiInput::new(p.PC2, p.EXTI2, Pull::Up, Irqs),
        // The Nucleo's blue button B1 (external pull-up) is SET.
        set_button: ExtiInput::new(p.PC13, p.EXTI13, Pull::Up, Irqs),
        lock_button: ExtiInput::new(p.PC3, p.EXTI3, Pull::Up, Irqs),
        usb_sense: ExtiInput::new(p.PB10, p.EXTI10, Pull::Down, Irqs),
        voice_data: Output::new(p.PC8, Level::High, Speed::Low),
        voice_busy: ExtiInput::new(p.PC7, p.EXTI7, Pull::Up, Irqs),
        siren: Output::new(p.PB15, Level::Low, Speed::Low),
    };
    let hardware = match wire(pins, &adc, &face) {
        Ok(hardware) => hardware,
        Err(why) => halt(why).await,
    };

    let config = lock_core::Config {
        serial: unique
            .iter()
            .fold(0u64, |serial, &byte| serial << 8 | u64::from(byte)),
        // R-NRG-3: listening always costs this board about two months of
        // its year on 4 AA cells (README.md, Energy): the radio listens
        // while the lock is awake and a minute after, unless an
        // administrator chooses always.
        radio: lock_core::RadioListening::WhileAwake,
        // R-LCK-3: `EndSwitches` at both ends; a gear motor's travel time
        // grows as the battery sags (PERIPHERALS.md): 6 s, not measured on
        // a body here, is the limit the runtime used before it was set.
        bolt: lock_core::BoltBody {
            switches: lock_core::BoltSwitches::Both,
            travel_limit: lock_core::Duration::from_secs(6),
        },
        // R-MNU-4: face, palm and fingerprint modules are all wired.
        modules: lock_core::Modules::ALL,
        // Firmware 0.1.0; the verification code comes from the app side
        // once it has started.
        ..lock_core::Config::default()
    };
    let mut runtime = Runtime::new(hardware, store, app, config);
    info!("board: wired; the lock starts");
    // The feeder first, so that it pets before the runtime's first poll
    // (the boot's blocking store work).
    embassy_futures::join::join3(
        parts::pet_watchdog(&mut watchdog, WATCHDOG_FEED),
        runtime.run(),
        embassy_futures::join::join4(
            async {
                if seeded {
                    hci::enable_sleep(&controller, hci_port).await;
                    lock_ble::gatt::run(controller, seed, &link).await;
                } else {
                    warn!("ble: the RNG gave no address seed; no app link");
                    // No host: nothing needs the HCI link up.
                    hci_port.set_sleeps(true);
                    match lock_ble::discard(link.outgoing()).await {}
                }
            },
            link::serve(hci_port, hci_uart, hci_wake),
            link::serve(finger_port, finger_uart, Silent),
            link::serve(face_port, face_uart, Silent),
        ),
    )
    .await;
    halt("the lock stopped").await
}
