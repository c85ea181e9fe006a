//! The lock on a Raspberry Pi Pico W: wiring, driver construction, runtime
//! start. The pin table, what is real and the security posture are in
//! `boards/rp2040/README.md`; the lock's behaviour is lock-core's, run by
//! lock-runtime.
//!
//! Everything runs in one task, joined: the watchdog's feeder, the
//! CYW43439's runner, the lock's runtime and the BLE host. Each waits on an
//! interrupt or a timer alarm, so when none has anything to do the executor
//! sleeps the core (WFE, in the chip's SLEEP state with the unused clocks
//! gated: `parts::gate_clocks_in_sleep`) until the keypad IRQ, a switch,
//! the fingerprint module's WAKEUP, a UART, the radio or the next deadline
//! (the feeder's, every 4 s) wakes it. The watchdog resets the chip when
//! that task stops being polled (README.md, Watchdog).

#![no_std]
#![no_main]

mod ble;
mod layout;
mod parts;
mod security;

use core::cell::RefCell;
use core::marker::PhantomData;
use core::pin::pin;

use aligned::{A4, Aligned};
use bt_hci::controller::ExternalController;
use cyw43_pio::{DEFAULT_CLOCK_DIVIDER, OVERCLOCK_CLOCK_DIVIDER, PioSpi};
use defmt::{error, info, warn};
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_futures::select::{Either, select};
use embassy_rp::adc::{self, Adc};
use embassy_rp::clocks::{ClockConfig, PllConfig, clk_sys_freq};
use embassy_rp::flash::{self, Flash};
use embassy_rp::gpio::{Input, Level, Output, Pull};
use embassy_rp::i2c::{self, I2c};
use embassy_rp::peripherals::{DMA_CH0, I2C0, PIO0, UART0, UART1};
use embassy_rp::pio::{self, Pio};
use embassy_rp::pwm::{self, Pwm, PwmOutput};
use embassy_rp::uart::{self, BufferedInterruptHandler, BufferedUart};
use embassy_rp::watchdog::Watchdog;
use embassy_rp::{bind_interrupts, dma};
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync_08::blocking_mutex::Mutex as FlashMutex;
use embassy_sync_08::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{Delay, Duration, Instant, with_deadline};
use lock_ble::{BleLink, BleTransport, FrameQueue};
use lock_drivers::battery::{self, Chip, Divider, DividerBattery, LI_ION_1S};
use lock_drivers::body::{EndSwitches, NoPin, PwmHBridge, ShuntStall};
use lock_drivers::clock::EmbassyClock;
use lock_drivers::face::shared::{FaceModule, SharedFace, SharedModule, SharedPalm};
use lock_drivers::face::{self, Face, Plain};
use lock_drivers::fingerprint::{self, Fingerprint, PowerSwitch, Wakeup};
use lock_drivers::keypad::{self, Bs8116a, GpioBacklight};
use lock_drivers::prompts::VoicePrompts;
use lock_drivers::switch::{GpioButton, GpioContact, GpioSiren, GpioTrigger, SwitchConfig};
use lock_drivers::voice::{Wt588f, Wt588fConfig};
use lock_hal::Absent;
use lock_runtime::SlotUpdater;
use lock_runtime::{Board, Hardware, ProtoApp, Runtime};
use lock_store::{BlockingAsync, Store, StoreConfig};
use lock_update::{BoardId, EmbassyBoot, Verifier};
use {defmt_rtt as _, panic_probe as _};

use crate::parts::{PinAdc, RadioStart, RoscEntropy, SharedAdc, VsysAdc, WlBus, WlGate};

bind_interrupts!(struct Irqs {
    PIO0_IRQ_0 => pio::InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>;
    UART0_IRQ => BufferedInterruptHandler<UART0>;
    UART1_IRQ => BufferedInterruptHandler<UART1>;
});

// ----- the radio's firmware (README.md, Firmware blobs) ---------------------

/// cyw43 wants its blobs 4-byte aligned; cyw43-firmware gives plain arrays.
static WIFI_FIRMWARE: Aligned<A4, [u8; cyw43_firmware::CYW43_43439A0.len()]> =
    Aligned(*cyw43_firmware::CYW43_43439A0);
static BT_FIRMWARE: Aligned<A4, [u8; cyw43_firmware::CYW43_43439A0_BTFW.len()]> =
    Aligned(*cyw43_firmware::CYW43_43439A0_BTFW);

// ----- the pin table (README.md) --------------------------------------------

/// Which keys each backlight output lights (bit 0 is `0`, lock-hal's order):
/// the digits, ↩ and ✓, home and bell together (GP15 went to the
/// fingerprint module's supply).
const LIGHT_GROUPS: [u16; 3] = [0x03FF, 0x0C00, 0x3000];

/// Stall: 1.5 A through 0.1 Ω, amplified ×10, is 1.5 V at GPIO26; the ADC
/// reads 4095 at 3.3 V.
const STALL_RAW: u16 = 1_861;

/// Motor PWM: 20 kHz (above hearing), driven at full duty.
const MOTOR_PWM_HZ: u32 = 20_000;
const MOTOR_DUTY_PERCENT: u8 = 100;

/// The Pico W's W25Q16JV.
const FLASH_SIZE: usize = 2 * 1024 * 1024;
/// The lock's 112 KiB at the end of the flash (`layout::LOCK_REGION_START`,
/// offsets 0x1E4000..0x200000, where they were before the boot loader),
/// kept out of FLASH in `memory.x` and out of the boot loader's partitions
/// by `layout`: 48 KiB state (lock-store needs 32 KiB on this flash; the
/// rest spreads the wear), 64 KiB log. Offsets within that region.
const STORE: StoreConfig = StoreConfig {
    state: 0..0xC000,
    log: 0xC000..0x1C000,
};
const _: () = assert!(FLASH_SIZE == layout::FLASH_SIZE as usize);
const _: () = assert!(STORE.log.end == layout::LOCK_REGION_SIZE);

/// Firmware updates (README.md, Firmware updates): the board an image must
/// be signed for (`lock-sign sign --board pico-w`).
const BOARD_ID: Option<BoardId> = BoardId::new("pico-w");
/// This firmware's security counter: an update signed with a lower one is
/// refused (S-UP-2). A maker raises it with each release that fixes a
/// security bug, and signs that release with the same number (`lock-sign
/// sign --counter`).
const SECURITY_COUNTER: u32 = 1;

// `MAKER_PUBLIC_KEY`: the maker's Ed25519 public key, built in by build.rs
// from `LOCK_MAKER_PUBLIC_KEY` (all zeros, refusing every image, without
// it). Never a secret key: that stays with the maker (`lock-sign keygen`).
include!(concat!(env!("OUT_DIR"), "/maker_key.rs"));

/// The flash, shared by the store, the update's staging area and STATE.
type ChipFlash = Flash<'static, embassy_rp::peripherals::FLASH, flash::Blocking, FLASH_SIZE>;
/// One partition of it, as lock-store and lock-update take it.
type FlashPart<'a> = BlockingAsync<BlockingPartition<'a, NoopRawMutex, ChipFlash>>;

/// UART buffers: the longest module reply (an EF AA VERIFY reply, a
/// fingerprint ack) with room to spare.
const UART_RX: usize = 256;
const UART_TX: usize = 64;

/// The watchdog (README.md, Watchdog) resets the chip when it is not fed
/// for `WATCHDOG_TIMEOUT`, just under the RP2040's longest (8.388607 s: a
/// 24-bit count of 1 µs ticks, two a tick by erratum RP2040-E1, which
/// embassy-rp allows for and panics beyond: checked here).
/// `parts::feed_watchdog`, joined with the lock, feeds it every
/// `WATCHDOG_FEED`, about half of it, so that feeding wakes the core as
/// seldom as the chip allows. The 4.3 s between the two is how long one
/// poll may keep the executor: the store's flash work blocks it, one sector
/// erase at a time (45 ms typical, 400 ms at worst on the W25Q16JV).
const WATCHDOG_TIMEOUT: Duration = Duration::from_millis(8_300);
const WATCHDOG_FEED: Duration = Duration::from_secs(4);
const _: () = assert!(WATCHDOG_TIMEOUT.as_micros() <= 0xFF_FFFF / 2);
const _: () = assert!(WATCHDOG_FEED.as_micros() * 2 <= WATCHDOG_TIMEOUT.as_micros());

/// The system clock (README.md, Energy): 48 MHz from the crystal's PLL
/// instead of embassy-rp's 125 MHz. Every block on `clk_sys` (the core,
/// the bus, PIO0, DMA, the UARTs through `clk_peri`) draws in proportion
/// to it (RP2040 datasheet Table 635, µA/MHz). The drivers take their
/// timing from `clk_sys_freq()` (UART baud, I2C, the motor's PWM period,
/// cyw43-pio's program choice), the TIMER and the watchdog count the 1 µs
/// tick from the 12 MHz crystal, and the ADC has its own 48 MHz clock.
const CLK_SYS_HZ: u32 = 48_000_000;
/// The Pico W's crystal.
const CRYSTAL_HZ: u32 = 12_000_000;
/// `CLK_SYS_HZ` from the crystal through the system PLL with its VCO at
/// 768 MHz (× 64), near the bottom of its 750–1600 MHz range, then ÷ 4 ÷ 4.
/// The RP2040 datasheet's PLL calculator (§2.18.2, `vcocalc.py --low-vco`)
/// takes a low VCO because it "reduces power consumption, at the cost of
/// increased jitter"; embassy-rp's `ClockConfig::system_freq` would take
/// the highest (1440 MHz ÷ 6 ÷ 5).
const SYS_PLL: PllConfig = PllConfig {
    refdiv: 1,
    fbdiv: 64,
    post_div1: 4,
    post_div2: 4,
};
const _: () = {
    let vco = CRYSTAL_HZ as u64 / SYS_PLL.refdiv as u64 * SYS_PLL.fbdiv as u64;
    assert!(vco >= 750_000_000 && vco <= 1_600_000_000);
    assert!(vco / (SYS_PLL.post_div1 as u64 * SYS_PLL.post_div2 as u64) == CLK_SYS_HZ as u64);
};

/// How long the CYW43439 may take to start, from power-up to BLE (its
/// firmware download and Wi-Fi's CLM load take well under a second).
const RADIO_START: Duration = Duration::from_secs(10);

// ----- the board's part types -----------------------------------------------

type FaceUart = BufferedUart;
type Module = SharedModule<FaceUart, EmbassyClock, Plain, Output<'static>>;

/// The Pico W with the lock's modules (README.md's pin table).
struct PicoW<'a>(PhantomData<&'a ()>);

impl<'a> Board for PicoW<'a> {
    type Keypad = Bs8116a<I2c<'static, I2C0, i2c::Blocking>, Input<'static>, EmbassyClock>;
    type Backlight = GpioBacklight<Output<'static>, 3>;
    type Face = SharedFace<'a, FaceUart, EmbassyClock, Plain, Output<'static>>;
    type Palm = SharedPalm<'a, FaceUart, EmbassyClock, Plain, Output<'static>>;
    type Finger = Fingerprint<BufferedUart, EmbassyClock, Output<'static>>;
    // The face+palm module cannot tell that someone stands before it (and
    // is off between operations): the lock searches on a touch.
    type FaceSensor = Absent;
    type PalmSensor = Absent;
    type FingerSensor = Wakeup<Input<'static>>;
    type Motor = PwmHBridge<PwmOutput<'static>, PwmOutput<'static>>;
    type BoltSensor = EndSwitches<Input<'static>, Input<'static>>;
    type StallSensor = ShuntStall<PinAdc<'a>, EmbassyClock>;
    type DoorSensor = GpioContact<Input<'static>, EmbassyClock>;
    type Tamper = GpioTrigger<Input<'static>, EmbassyClock>;
    type KeyCylinder = GpioTrigger<Input<'static>, EmbassyClock>;
    type SetButton = GpioButton<Input<'static>, EmbassyClock>;
    type LockButton = GpioButton<Input<'static>, EmbassyClock>;
    type Battery = DividerBattery<'a, VsysAdc<'a>, NoPin, Delay>;
    type UsbPower = Absent;
    // The WT588F's clips, played by lock-drivers' clip table.
    type Sound = VoicePrompts<Wt588f<Output<'static>, Input<'static>, Delay>, Delay>;
    type Siren = GpioSiren<Output<'static>>;
    type Clock = EmbassyClock;
}

/// A board that cannot be wired (a bad flash layout, a pin that will not
/// take its level) is not a lock: it says why and stays still, the motor
/// unpowered, until the watchdog, which nothing feeds here, restarts the
/// chip to try again. Before the motor's PWM is set up the bridge inputs
/// keep their reset pull-downs; after, both compare at 0 and drive low
/// (coast) until the runtime, which a halt never starts, drives them.
async fn halt(why: &str) -> ! {
    error!("board: {=str}; halted", why);
    core::future::pending().await
}

/// What the parts are built from besides pins: shared pieces owned by
/// `main` and borrowed by the parts.
struct Shared<'a> {
    adc: &'a SharedAdc,
    gate: &'a WlGate,
    face: &'a Module,
}

/// The chip's pins and peripherals the parts take.
struct Pins {
    finger_uart: BufferedUart,
    finger_power: Output<'static>,
    finger_wakeup: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_2>,
    keypad_irq: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_3>,
    voice_data: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_7>,
    i2c: I2c<'static, I2C0, i2c::Blocking>,
    voice_busy: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_10>,
    siren: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_11>,
    lights: [Output<'static>; 3],
    motor: Pwm<'static>,
    bolt_locked: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_18>,
    bolt_unlocked: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_19>,
    set: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_20>,
    lock_button: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_21>,
    tamper: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_22>,
    shunt: adc::Channel<'static>,
    door: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_27>,
    key_cylinder: embassy_rp::Peri<'static, embassy_rp::peripherals::PIN_28>,
}

/// Builds every part of the pin table and hands them over as the
/// runtime's hardware.
fn wire<'a>(shared: &Shared<'a>, pins: Pins) -> Result<Hardware<PicoW<'a>>, &'static str> {
    let clock = EmbassyClock;
    let mut keypad = Bs8116a::new(
        pins.i2c,
        Input::new(pins.keypad_irq, Pull::Up),
        clock,
        keypad::Config::default(),
    );
    if keypad.init().is_err() {
        // The runtime reports a keypad that keeps failing; the lock still
        // opens by finger, face and the key.
        error!("board: the BS8116A-3 did not take its settings");
    }

    let voice = Wt588f::new(
        Output::new(pins.voice_data, Level::High),
        Input::new(pins.voice_busy, Pull::Up),
        Delay,
        Wt588fConfig::default(),
    )
    .map_err(|_| "the voice data pin")?;

    let battery = DividerBattery::new(
        VsysAdc::new(shared.adc, shared.gate),
        NoPin,
        Delay,
        battery::Config {
            chip: Chip::Rp2040,
            divider: Divider::THIRD,
            curve: &LI_ION_1S,
            samples: 4,
            // The Pico's divider is always on.
            settle_ms: 0,
        },
    );

    // One slice: A and B at the same 20 kHz, both low (coast) until the
    // runtime drives them.
    let (Some(in1), Some(in2)) = pins.motor.split() else {
        return Err("the motor PWM channels");
    };

    Ok(Hardware {
        keypad,
        backlight: GpioBacklight::grouped(pins.lights, LIGHT_GROUPS, false),
        face: SharedFace(shared.face),
        palm: SharedPalm(shared.face),
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
        finger_sensor: Wakeup::new(Input::new(pins.finger_wakeup, Pull::Up)),
        motor: PwmHBridge::new(in1, in2, MOTOR_DUTY_PERCENT),
        bolt: EndSwitches::new(
            Input::new(pins.bolt_locked, Pull::Up),
            Input::new(pins.bolt_unlocked, Pull::Up),
            true,
        ),
        stall: ShuntStall::new(PinAdc::new(shared.adc, pins.shunt), clock, STALL_RAW),
        door: GpioContact::new(
            Input::new(pins.door, Pull::Up),
            clock,
            SwitchConfig::OPENS_HIGH,
        ),
        tamper: GpioTrigger::new(
            Input::new(pins.tamper, Pull::Up),
            clock,
            SwitchConfig::OPENS_HIGH,
        ),
        key_cylinder: GpioTrigger::new(
            Input::new(pins.key_cylinder, Pull::Up),
            clock,
            SwitchConfig::CLOSED_LOW,
        ),
        set_button: GpioButton::new(
            Input::new(pins.set, Pull::Up),
            clock,
            SwitchConfig::CLOSED_LOW,
        ),
        lock_button: GpioButton::new(
            Input::new(pins.lock_button, Pull::Up),
            clock,
            SwitchConfig::CLOSED_LOW,
        ),
        battery,
        usb_power: Absent,
        sound: VoicePrompts::new(voice, Delay),
        siren: GpioSiren::new(Output::new(pins.siren, Level::Low), false),
        clock,
    })
}

fn uart_config(baudrate: u32) -> uart::Config {
    let mut config = uart::Config::default();
    config.baudrate = baudrate;
    config
}

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) -> ! {
    // embassy-rp's crystal set-up with the system PLL at `SYS_PLL`
    // (48 MHz); the radio's divider follows what was set.
    let mut clocks = ClockConfig::crystal(CRYSTAL_HZ);
    if let Some(xosc) = clocks.xosc.as_mut() {
        xosc.sys_pll = Some(SYS_PLL);
    }
    let p = embassy_rp::init(embassy_rp::config::Config::new(clocks));
    // The watchdog, armed before anything that could panic or hang (the
    // radio's start-up among them); why the chip last started is read
    // first, for the security report. Fed from here on only by the joined
    // feeder. It pauses while a debugger halts the core (the reset default).
    let mut watchdog = Watchdog::new(p.WATCHDOG);
    let last_reset = watchdog.reset_reason();
    watchdog.start(WATCHDOG_TIMEOUT);
    info!("open door lock on Raspberry Pi Pico W");
    info!("board: clk_sys {=u32} MHz", clk_sys_freq() / 1_000_000);
    // SLEEP instead of a plain `wfe` at full clocks (README.md, Energy).
    match cortex_m::Peripherals::take() {
        Some(mut core) => parts::gate_clocks_in_sleep(&mut core.SCB),
        None => warn!("board: the core's peripherals were taken; idle at full clocks"),
    }

    // The flash: the board's unique id (the lock's serial number and BLE
    // address), the chip's id for the security report, then the store.
    let mut flash = Flash::<_, flash::Blocking, FLASH_SIZE>::new_blocking(p.FLASH);
    let mut unique = [0u8; 8];
    if flash.blocking_unique_id(&mut unique).is_err() {
        warn!("board: the flash gave no unique id; serial number 0");
    }
    security::report(flash.blocking_jedec_id().ok(), last_reset);
    let flash: FlashMutex<NoopRawMutex, RefCell<ChipFlash>> = FlashMutex::new(RefCell::new(flash));
    let region: FlashPart<'_> = BlockingAsync::new(BlockingPartition::new(
        &flash,
        layout::LOCK_REGION_START,
        layout::LOCK_REGION_SIZE,
    ));
    let Ok(store) = Store::new(region, STORE) else {
        halt("the lock's flash region does not fit lock-store").await
    };

    // The ADC: the motor's shunt on GPIO26, VSYS/3 on GPIO29 (through the
    // radio's gate, parts::VsysAdc).
    let adc: SharedAdc = BlockingMutex::new(RefCell::new(Adc::new_blocking(
        p.ADC,
        adc::Config::default(),
    )));
    let shunt = adc::Channel::new_pin(p.PIN_26, Pull::None);

    // The modules' UARTs: UART0 for the fingerprint, UART1 for the face.
    let (mut finger_tx, mut finger_rx) = ([0u8; UART_TX], [0u8; UART_RX]);
    let finger_uart = BufferedUart::new(
        p.UART0,
        p.PIN_0,
        p.PIN_1,
        Irqs,
        &mut finger_tx,
        &mut finger_rx,
        uart_config(57_600),
    );
    let (mut face_tx, mut face_rx) = ([0u8; UART_TX], [0u8; UART_RX]);
    let face_uart = BufferedUart::new(
        p.UART1,
        p.PIN_4,
        p.PIN_5,
        Irqs,
        &mut face_tx,
        &mut face_rx,
        uart_config(115_200),
    );
    // lock-drivers' embassy-sync (0.8), not this crate's 0.7: built through
    // the alias.
    let face: Module = SharedModule::new(FaceModule::new(
        Face::new(face_uart, EmbassyClock, face::Config::default()),
        Output::new(p.PIN_6, Level::Low),
    ));

    // I2C0 at 100 kHz (the BS8116A-3's limit): the keypad alone.
    let mut i2c_config = i2c::Config::default();
    i2c_config.frequency = 100_000;
    let i2c = I2c::new_blocking(p.I2C0, p.PIN_9, p.PIN_8, i2c_config);

    // The motor: PWM slice 0, 20 kHz from the system clock, both outputs
    // low until the runtime drives them.
    let Some(top) = clk_sys_freq()
        .checked_div(MOTOR_PWM_HZ)
        .and_then(|cycles| cycles.checked_sub(1))
        .and_then(|top| u16::try_from(top).ok())
    else {
        halt("the motor PWM period").await
    };
    let mut motor_config = pwm::Config::default();
    motor_config.top = top;
    let motor = Pwm::new_output_ab(p.PWM_SLICE0, p.PIN_16, p.PIN_17, motor_config);

    // The radio: the CYW43439 on PIO0 (PWR 23, DIO 24, CS 25, CLK 29).
    let gate: WlGate = Mutex::new(());
    let mut pio = Pio::new(p.PIO0, Irqs);
    // gSPI clock: PIO0 at clk_sys / divider, the bus at half of that. At
    // 48 MHz, divider 1: PIO0 at 48 MHz (cyw43-pio's low-speed program,
    // the one it runs at 44.3 MHz with its RM2 divider at 133 MHz), gSPI
    // at 24 MHz, under the CYW43439's 50 MHz. At 125 MHz, cyw43-pio's
    // default divider 2 (31.25 MHz gSPI).
    let radio_divider = if clk_sys_freq() <= CLK_SYS_HZ {
        // Divider 1 (the constant's name is for 133 MHz parts).
        OVERCLOCK_CLOCK_DIVIDER
    } else {
        DEFAULT_CLOCK_DIVIDER
    };
    let spi = PioSpi::new(
        &mut pio.common,
        pio.sm0,
        radio_divider,
        pio.irq0,
        Output::new(p.PIN_25, Level::High),
        p.PIN_24,
        p.PIN_29,
        dma::Channel::new(p.DMA_CH0, Irqs),
    );
    // The app protocol (lock-proto) over the BLE link, keys and challenges
    // from the ring oscillator.
    let ble_link = BleLink::new();
    let outgoing = ble_link.outgoing();
    let mut entropy = RoscEntropy::new(unique);
    match entropy.start() {
        Ok(()) => info!("entropy: the ring oscillator passed its start-up health test"),
        // Fails closed: no identity, pairing or challenge until a reset
        // finds it healthy; the lock itself runs on.
        Err(failure) => error!(
            "entropy: the ring oscillator failed its start-up health test: {}; the app is off",
            failure
        ),
    }
    // S-PR-8: the seed of this boot's advertising addresses, from the
    // checked source; without it no radio (never an address made of the
    // flash's id).
    let mut seed = [0u8; 32];
    let seeded = lock_hal::Entropy::fill(&mut entropy, &mut seed).is_ok();
    // Firmware updates: an administrator's signed image into DFU, marked in
    // STATE for boards/rp2040-boot to swap in at the next reset; the new
    // image confirms itself once the lock has restored its state.
    let Some(board_id) = BOARD_ID else {
        halt("the board id is not a valid one").await
    };
    if MAKER_PUBLIC_KEY == [0; 32] {
        warn!("update: no maker key built in (LOCK_MAKER_PUBLIC_KEY); every image is refused");
    }
    // embassy-boot's STATE work buffer: one programming unit (a byte here).
    let mut state_word = [0u8; 1];
    let staging: FlashPart<'_> = BlockingAsync::new(BlockingPartition::new(
        &flash,
        layout::DFU_START,
        layout::ACTIVE_SIZE,
    ));
    let state: FlashPart<'_> = BlockingAsync::new(BlockingPartition::new(
        &flash,
        layout::STATE_START,
        layout::STATE_SIZE,
    ));
    let Some(slots) = EmbassyBoot::new(state, &mut state_word) else {
        halt("embassy-boot's STATE work buffer").await
    };
    let updates = SlotUpdater::new(
        Verifier::new(MAKER_PUBLIC_KEY, board_id, SECURITY_COUNTER),
        staging,
        slots,
    );
    let app = ProtoApp::with_updater(BleTransport::new(&ble_link), entropy, updates);

    let shared = Shared {
        adc: &adc,
        gate: &gate,
        face: &face,
    };
    let pins = Pins {
        finger_uart,
        // GP15: the fingerprint module's main supply enable, off.
        finger_power: Output::new(p.PIN_15, Level::Low),
        finger_wakeup: p.PIN_2,
        keypad_irq: p.PIN_3,
        voice_data: p.PIN_7,
        i2c,
        voice_busy: p.PIN_10,
        siren: p.PIN_11,
        lights: [
            Output::new(p.PIN_12, Level::Low),
            Output::new(p.PIN_13, Level::Low),
            Output::new(p.PIN_14, Level::Low),
        ],
        motor,
        bolt_locked: p.PIN_18,
        bolt_unlocked: p.PIN_19,
        set: p.PIN_20,
        lock_button: p.PIN_21,
        tamper: p.PIN_22,
        shunt,
        door: p.PIN_27,
        key_cylinder: p.PIN_28,
    };
    let hardware = match wire(&shared, pins) {
        Ok(hardware) => hardware,
        Err(why) => halt(why).await,
    };

    let config = lock_core::Config {
        serial: u64::from_be_bytes(unique),
        // R-NRG-3: quiet would save only the CYW43439's advertising (cyw43
        // 0.7 cannot power it down), 5 % of a day: the app finds the lock
        // at any time (README.md, Energy).
        radio: lock_core::RadioListening::Always,
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

    // The radio starts beside the lock, not before it, and within
    // `RADIO_START`: a CYW43439 that does not answer (cyw43 polls for its
    // first answer without a timeout) leaves the lock without the app, not
    // without a lock. One whose start-up panicked last time (the watchdog
    // restarted the chip: parts::RadioStart) is not tried again until the
    // next reset.
    let radio_cut = last_reset.is_some() && RadioStart::was_cut();
    let mut radio_state = cyw43::State::new();
    // WL_ON: the CYW43439's power, lent to cyw43 and kept here, so that a
    // start that does not finish leaves the chip switched off.
    let mut radio_power = Output::new(p.PIN_23, Level::Low);
    let link = async {
        if radio_cut {
            warn!("radio: its last start-up did not finish; this start runs without BLE");
            match lock_ble::discard(outgoing).await {}
        }
        if !seeded {
            warn!("radio: no address seed from the entropy source; this start runs without BLE");
            match lock_ble::discard(outgoing).await {}
        }
        RadioStart::begin();
        let deadline = Instant::now() + RADIO_START;
        let started = with_deadline(
            deadline,
            lock_ble::discarding(
                outgoing,
                cyw43::new_with_bluetooth(
                    &mut radio_state,
                    &mut radio_power,
                    WlBus::new(spi, &gate),
                    &WIFI_FIRMWARE,
                    &BT_FIRMWARE,
                    &cyw43_setup::NVRAM,
                ),
            ),
        )
        .await;
        let Ok((_wifi, bluetooth, mut control, radio)) = started else {
            return without_radio(&mut radio_power, outgoing).await;
        };
        // Returns only if the radio is not up by the deadline; its runner
        // and control, which hold the power pin, end with it.
        let serve = async {
            let mut runner = pin!(radio.run());
            // Wi-Fi is brought up (the CLM load) as every CYW43439 BLE
            // set-up does, but joins nothing; power save while idle. The
            // runner serves `control` meanwhile.
            let up = async {
                control.init(cyw43_firmware::CYW43_43439A0_CLM).await;
                control
                    .set_power_management(cyw43::PowerManagementMode::PowerSave)
                    .await;
            };
            let within = with_deadline(
                deadline,
                lock_ble::discarding(outgoing, select(runner.as_mut(), up)),
            );
            match within.await {
                Ok(Either::First(never)) => match never {},
                Ok(Either::Second(())) => {}
                Err(timeout) => return timeout,
            }
            RadioStart::done();
            info!("radio: up");
            let controller: ExternalController<_, 10> = ExternalController::new(bluetooth);
            let (never, ()) =
                embassy_futures::join::join(runner, ble::run(controller, seed, &ble_link)).await;
            match never {}
        };
        let _late = serve.await;
        without_radio(&mut radio_power, outgoing).await
    };
    // The feeder first, so that it feeds before the runtime's first poll
    // (the boot's blocking store work).
    embassy_futures::join::join3(
        parts::feed_watchdog(&mut watchdog, WATCHDOG_TIMEOUT, WATCHDOG_FEED),
        runtime.run(),
        link,
    )
    .await;
    halt("the lock stopped").await
}

/// A radio that did not come up within `RADIO_START`: switched off, and
/// the lock runs on without the app until the next reset tries again.
async fn without_radio(power: &mut Output<'_>, outgoing: &FrameQueue) {
    power.set_low();
    RadioStart::done();
    warn!(
        "radio: not up within {=u64} s; this start runs without BLE",
        RADIO_START.as_secs()
    );
    match lock_ble::discard(outgoing).await {}
}
