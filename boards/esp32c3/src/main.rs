//! The lock on an ESP32-C3-DevKitM-1: wiring, driver construction, runtime
//! start. The pin table, what is real and the security posture are in
//! `boards/esp32c3/README.md`; the lock's behaviour is lock-core's, run by
//! lock-runtime.
//!
//! Everything runs in one task, joined: the watchdog's feeder, the runtime,
//! the BLE host and the I/O expander's interrupt follower (and, with the
//! feature `matter`, the Matter stack over Wi-Fi: `matter.rs`, whose
//! pairing-mode follower also wakes the chip once a second). Each waits on an
//! interrupt or a timer alarm, so when none has anything to do esp-rtos's
//! idle hook halts the core (WFI; light sleep once no `WakeLock` is held,
//! README.md, Energy) until the keypad IRQ, the expander's INT
//! (fingerprint WAKEUP, buttons, switches), a UART, the radio or the next
//! deadline (the feeder's, every 30 s) wakes it. The RTC watchdog resets
//! the chip when that task stops being polled (README.md, Watchdog).

#![no_std]
#![no_main]

mod expander;
#[cfg(feature = "matter")]
mod matter;
mod ota;
mod parts;
mod radio;
mod security;

use core::cell::RefCell;
use core::marker::PhantomData;

use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_embedded_hal::shared_bus::blocking::i2c::I2cDevice;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::Delay;
use esp_backtrace as _;
use esp_bootloader_esp_idf::partitions::{PARTITION_TABLE_MAX_LEN, read_partition_table};
use esp_hal::analog::adc::{Adc, AdcConfig, Attenuation};
use esp_hal::clock::CpuClock;
use esp_hal::efuse::{self, InterfaceMacAddress};
use esp_hal::gpio::{DriveMode, Input, InputConfig, Level, Output, OutputConfig, Pull};
use esp_hal::i2c::master::I2c;
use esp_hal::ledc::channel::{self, Channel, ChannelIFace};
use esp_hal::ledc::timer::{self, TimerIFace};
use esp_hal::ledc::{LSGlobalClkSource, Ledc, LowSpeed};
use esp_hal::peripherals::{GPIO0, GPIO1};
use esp_hal::rtc_cntl::{Rtc, RwdtStage};
use esp_hal::time::Rate;
use esp_hal::timer::timg::TimerGroup;
use esp_hal::uart::{self, Uart};
use esp_hal::{Async, Blocking};
use esp_storage::FlashStorage;
use lock_ble::{BleLink, BleTransport};
use lock_drivers::battery::{self, Chip, Divider, DividerBattery, LI_ION_1S};
use lock_drivers::body::{EndSwitches, PwmHBridge, ShuntStall};
use lock_drivers::clock::EmbassyClock;
use lock_drivers::face::shared::{FaceModule, SharedFace, SharedModule, SharedPalm};
use lock_drivers::face::{self, Face, Plain};
use lock_drivers::fingerprint::{self, Fingerprint, PowerSwitch, Wakeup};
use lock_drivers::keypad::{self, Bs8116a, GpioBacklight};
use lock_drivers::prompts::VoicePrompts;
use lock_drivers::switch::{GpioButton, GpioContact, GpioSiren, GpioTrigger, SwitchConfig};
use lock_drivers::voice::{Wt588f, Wt588fConfig};
use lock_hal::Absent;
use lock_proto::{UpdateRefusal, UpdateState, UpdateStep};
use lock_runtime::{Board, Hardware, ProtoApp, Runtime, SlotUpdater, Updater};
use lock_store::{BlockingAsync, Store, StoreConfig};
use lock_update::{BoardId, Verifier};
use log::{error, info, warn};

use crate::expander::{Expander, ExpanderInput, ExpanderOutput};
use crate::parts::{AdcInput, ChipEntropy, SharedAdc};

esp_bootloader_esp_idf::esp_app_desc!();

// ----- the pin table (README.md) --------------------------------------------

/// The TCA9555's pins: inputs P00–P10, outputs P11–P17.
mod pin {
    pub const SET: u8 = 0;
    pub const LOCK_BUTTON: u8 = 1;
    pub const TAMPER: u8 = 2;
    pub const DOOR: u8 = 3;
    pub const KEY_CYLINDER: u8 = 4;
    pub const BOLT_LOCKED: u8 = 5;
    pub const BOLT_UNLOCKED: u8 = 6;
    pub const FINGER_WAKEUP: u8 = 7;
    pub const VOICE_BUSY: u8 = 8;
    pub const FACE_ENABLE: u8 = 9;
    pub const DIVIDER_ENABLE: u8 = 10;
    pub const LIGHT_DIGITS: u8 = 11;
    pub const LIGHT_BACK_OK: u8 = 12;
    /// Home and bell, one group: P16 went to the fingerprint module's supply.
    pub const LIGHT_HOME_BELL: u8 = 13;
    /// P16: the fingerprint module's main supply enable (`Expander::new`
    /// drives it low, off, like every pin that is not an input).
    pub const FINGER_POWER: u8 = 14;
    pub const SIREN: u8 = 15;
    /// P00–P10 are inputs.
    pub const INPUTS: u16 = 0x01FF;
}

/// Which keys each backlight output lights (bit 0 is `0`, lock-hal's order):
/// the digits, ↩ and ✓, home and bell together.
const LIGHT_GROUPS: [u16; 3] = [0x03FF, 0x0C00, 0x3000];

/// Stall: 1.5 A through 0.1 Ω, amplified ×10, is 1.5 V at GPIO1; ADC1 at
/// 11 dB reads 4095 at about 2500 mV.
const STALL_RAW: u16 = 2_457;

/// Motor PWM: 20 kHz (above hearing), 10-bit duty, driven at full duty.
const MOTOR_PWM_KHZ: u32 = 20;
const MOTOR_DUTY_PERCENT: u8 = 100;

/// The lock's partition (`partitions.csv`): 48 KiB state (lock-store needs
/// 32 KiB on this flash; the rest spreads the wear), 64 KiB log.
const LOCK_PARTITION: &str = "lock";
const STORE: StoreConfig = StoreConfig {
    state: 0..0xC000,
    log: 0xC000..0x1C000,
};
/// The SPI flash's erase sector: partitions of it must be aligned to it.
const SECTOR: u32 = 4096;

/// Firmware updates (README.md, Firmware updates): the board an image must
/// be signed for (`lock-sign sign --board esp32c3-devkitm`).
const BOARD_ID: Option<BoardId> = BoardId::new("esp32c3-devkitm");
/// This firmware's security counter: an update signed with a lower one is
/// refused (S-UP-2). A maker raises it with each release that fixes a
/// security bug, and signs that release with the same number (`lock-sign
/// sign --counter`).
const SECURITY_COUNTER: u32 = 1;

// `MAKER_PUBLIC_KEY`: the maker's Ed25519 public key, built in by build.rs
// from `LOCK_MAKER_PUBLIC_KEY` (all zeros, refusing every image, without
// it). Never a secret key: that stays with the maker (`lock-sign keygen`).
include!(concat!(env!("OUT_DIR"), "/maker_key.rs"));

/// A partition of the shared SPI flash, as lock-store and lock-update take it.
type FlashPart<'a, 'd> = BlockingAsync<BlockingPartition<'a, NoopRawMutex, FlashStorage<'d>>>;

/// The board's end of an update: lock-update's receiver over the OTA
/// partition the lock does not run from, or nothing when the partition
/// table has no OTA partitions (every step refused).
struct EspUpdater<'a, 'd>(Option<SlotUpdater<FlashPart<'a, 'd>, ota::EspOta<'a, 'd>>>);

impl Updater for EspUpdater<'_, '_> {
    async fn step(&mut self, step: &UpdateStep) -> UpdateState {
        match &mut self.0 {
            Some(updater) => updater.step(step).await,
            None => UpdateState::Refused(UpdateRefusal::Unsupported),
        }
    }

    async fn booted(&mut self) {
        if let Some(updater) = &mut self.0 {
            updater.booted().await;
        }
    }
}

/// The CPU clock: 80 MHz, the lowest esp-radio starts at (it panics below
/// 80 MHz: `esp-radio` 1.0.0-beta.1, `lib.rs`, `init`). The ESP32-C3
/// Series Datasheet v2.4, Table 5-8, gives modem-sleep currents of 13 mA
/// idle and 17 mA running at 80 MHz against 16 mA and 23 mA at 160 MHz.
/// The APB clock, which the UARTs, I2C and the motor's LEDC count, is
/// 80 MHz at either.
const CPU_CLOCK: CpuClock = CpuClock::_80MHz;

/// The radio's heap (BOARDS.md: 72 KiB).
const HEAP_BYTES: usize = 72 * 1024;

/// With Matter (README.md, Matter over Wi-Fi), a second heap region for
/// Wi-Fi's frame buffers and rs-matter's certificate work, placed in the
/// RAM the second-stage boot loader used (`.dram2_uninit`, 66,320 B on
/// the ESP32-C3), so the stack keeps what it has.
#[cfg(feature = "matter")]
const MATTER_HEAP_BYTES: usize = 64_000;

/// The RTC watchdog (README.md, Watchdog) resets the chip when it is not
/// fed for `WATCHDOG_TIMEOUT`; `parts::feed_watchdog`, joined with the
/// lock, feeds it every `WATCHDOG_FEED`, half of it. A minute, not the
/// ~8.8 h esp-hal 1.2 could set (2^32 RC slow-clock ticks): a panic spins
/// in esp-backtrace until the watchdog fires, and a lock dead for hours is
/// worse than two wake-ups a minute on a chip that cannot light-sleep with
/// its radio or module UARTs up anyway (README.md, Energy). Between a feed
/// and the timeout one poll may keep the executor 30 s; the longest it
/// does is one sector erase (45 ms typical, 400 ms at worst).
const WATCHDOG_TIMEOUT: esp_hal::time::Duration = esp_hal::time::Duration::from_secs(60);
const WATCHDOG_FEED: embassy_time::Duration = embassy_time::Duration::from_secs(30);
/// The RC slow clock, with room above its nominal 136 kHz (ESP32-C3
/// Technical Reference Manual, Reset and Clock: RC_SLOW_CLK).
const SLOW_CLOCK_BOUND_HZ: u64 = 200_000;
const _: () = assert!(WATCHDOG_TIMEOUT.as_micros() * SLOW_CLOCK_BOUND_HZ / 1_000_000 < 1 << 32);
const _: () = assert!(WATCHDOG_FEED.as_micros() * 2 <= WATCHDOG_TIMEOUT.as_micros());

// ----- the board's part types -----------------------------------------------

type I2cBus = BlockingMutex<NoopRawMutex, RefCell<I2c<'static, Blocking>>>;
type SharedI2c<'a> = I2cDevice<'a, NoopRawMutex, I2c<'static, Blocking>>;
type In<'a> = ExpanderInput<'a>;
type Out<'a> = ExpanderOutput<'a, SharedI2c<'a>>;
type FaceUart = Uart<'static, Async>;
type Module<'a> = SharedModule<FaceUart, EmbassyClock, Plain, Out<'a>>;

/// The DevKitM-1 with the lock's modules (README.md's pin table).
struct DevKitM1<'a>(PhantomData<&'a ()>);

impl<'a> Board for DevKitM1<'a> {
    type Keypad = Bs8116a<SharedI2c<'a>, Input<'static>, EmbassyClock>;
    type Backlight = GpioBacklight<Out<'a>, 3>;
    type Face = SharedFace<'a, FaceUart, EmbassyClock, Plain, Out<'a>>;
    type Palm = SharedPalm<'a, FaceUart, EmbassyClock, Plain, Out<'a>>;
    type Finger = Fingerprint<Uart<'static, Async>, EmbassyClock, Out<'a>>;
    // The face+palm module cannot tell that someone stands before it (and
    // is off between operations): the lock searches on a touch.
    type FaceSensor = Absent;
    type PalmSensor = Absent;
    type FingerSensor = Wakeup<In<'a>>;
    type Motor = PwmHBridge<Channel<'a, LowSpeed>, Channel<'a, LowSpeed>>;
    type BoltSensor = EndSwitches<In<'a>, In<'a>>;
    type StallSensor = ShuntStall<AdcInput<'a, GPIO1<'static>>, EmbassyClock>;
    type DoorSensor = GpioContact<In<'a>, EmbassyClock>;
    type Tamper = GpioTrigger<In<'a>, EmbassyClock>;
    type KeyCylinder = GpioTrigger<In<'a>, EmbassyClock>;
    type SetButton = GpioButton<In<'a>, EmbassyClock>;
    type LockButton = GpioButton<In<'a>, EmbassyClock>;
    type Battery = DividerBattery<'a, AdcInput<'a, GPIO0<'static>>, Out<'a>, Delay>;
    type UsbPower = Absent;
    // The WT588F's clips, played by lock-drivers' clip table.
    type Sound = VoicePrompts<Wt588f<Output<'static>, In<'a>, Delay>, Delay>;
    type Siren = GpioSiren<Out<'a>>;
    type Clock = EmbassyClock;
}

/// A board that cannot be wired (a missing partition, a dead bus) is not a
/// lock: it says why and stays still, the motor unpowered, until the
/// watchdog, which nothing feeds here, restarts the chip to try again.
async fn halt(why: &str) -> ! {
    error!("board: {why}; halted");
    core::future::pending().await
}

/// What the parts are built from: the buses and the shared pieces, owned by
/// `main` and borrowed by the parts.
struct Buses<'a> {
    i2c: &'a I2cBus,
    expander: &'a Expander<SharedI2c<'a>>,
    adc: &'a SharedAdc,
    face: &'a Module<'a>,
    motor_timer: &'a timer::Timer<'static, LowSpeed>,
}

/// The chip's pins and peripherals the parts take.
struct Pins {
    keypad_irq: esp_hal::peripherals::GPIO2<'static>,
    in1: esp_hal::peripherals::GPIO5<'static>,
    in2: esp_hal::peripherals::GPIO6<'static>,
    voice_data: esp_hal::peripherals::GPIO7<'static>,
    battery: esp_hal::analog::adc::AdcPin<GPIO0<'static>, esp_hal::peripherals::ADC1<'static>>,
    shunt: esp_hal::analog::adc::AdcPin<GPIO1<'static>, esp_hal::peripherals::ADC1<'static>>,
    finger_uart: Uart<'static, Async>,
}

/// Builds every part of the pin table and hands them over as the
/// runtime's hardware.
fn wire<'a>(
    buses: &Buses<'a>,
    pins: Pins,
    ledc: &Ledc<'static>,
) -> Result<Hardware<DevKitM1<'a>>, &'static str> {
    let clock = EmbassyClock;
    let expander = buses.expander;
    let input = |bit| expander.input(bit).ok_or("an expander input");
    let output = |bit| expander.output(bit).ok_or("an expander output");

    let mut keypad = Bs8116a::new(
        I2cDevice::new(buses.i2c),
        Input::new(pins.keypad_irq, InputConfig::default().with_pull(Pull::Up)),
        clock,
        keypad::Config::default(),
    );
    if keypad.init().is_err() {
        // The runtime reports a keypad that keeps failing; the lock still
        // opens by finger, face and the key.
        error!("board: the BS8116A-3 did not take its settings");
    }
    let backlight = GpioBacklight::grouped(
        [
            output(pin::LIGHT_DIGITS)?,
            output(pin::LIGHT_BACK_OK)?,
            output(pin::LIGHT_HOME_BELL)?,
        ],
        LIGHT_GROUPS,
        false,
    );

    let mut in1 = ledc.channel(channel::Number::Channel0, pins.in1);
    let mut in2 = ledc.channel(channel::Number::Channel1, pins.in2);
    for channel in [&mut in1, &mut in2] {
        channel
            .configure(channel::config::Config {
                timer: buses.motor_timer,
                duty_pct: 0,
                drive_mode: DriveMode::PushPull,
            })
            .map_err(|_| "a motor PWM channel")?;
    }

    let battery = DividerBattery::new(
        AdcInput::new(buses.adc, pins.battery),
        output(pin::DIVIDER_ENABLE)?,
        Delay,
        battery::Config {
            chip: Chip::Esp32c3,
            divider: Divider::HALF,
            curve: &LI_ION_1S,
            samples: 4,
            settle_ms: 5,
        },
    );

    let voice = Wt588f::new(
        Output::new(pins.voice_data, Level::High, OutputConfig::default()),
        input(pin::VOICE_BUSY)?,
        Delay,
        Wt588fConfig::default(),
    )
    .map_err(|_| "the voice data pin")?;

    Ok(Hardware {
        keypad,
        backlight,
        face: SharedFace(buses.face),
        palm: SharedPalm(buses.face),
        // The R503's main supply through a load switch, on only while it
        // works (its touch supply stays on for WAKEUP).
        finger: Fingerprint::with_power(
            pins.finger_uart,
            clock,
            fingerprint::Config::default(),
            PowerSwitch::active_high(output(pin::FINGER_POWER)?),
        )
        .map_err(|_| "the fingerprint power pin")?,
        face_sensor: Absent,
        palm_sensor: Absent,
        finger_sensor: Wakeup::new(input(pin::FINGER_WAKEUP)?),
        motor: PwmHBridge::new(in1, in2, MOTOR_DUTY_PERCENT),
        bolt: EndSwitches::new(input(pin::BOLT_LOCKED)?, input(pin::BOLT_UNLOCKED)?, true),
        stall: ShuntStall::new(AdcInput::new(buses.adc, pins.shunt), clock, STALL_RAW),
        door: GpioContact::new(input(pin::DOOR)?, clock, SwitchConfig::OPENS_HIGH),
        tamper: GpioTrigger::new(input(pin::TAMPER)?, clock, SwitchConfig::OPENS_HIGH),
        key_cylinder: GpioTrigger::new(input(pin::KEY_CYLINDER)?, clock, SwitchConfig::CLOSED_LOW),
        set_button: GpioButton::new(input(pin::SET)?, clock, SwitchConfig::CLOSED_LOW),
        lock_button: GpioButton::new(input(pin::LOCK_BUTTON)?, clock, SwitchConfig::CLOSED_LOW),
        battery,
        usb_power: Absent,
        sound: VoicePrompts::new(voice, Delay),
        siren: GpioSiren::new(output(pin::SIREN)?, false),
        clock,
    })
}

fn uart(
    uart: impl uart::Instance + 'static,
    baud: u32,
    rx: impl esp_hal::gpio::interconnect::PeripheralInput<'static>,
    tx: impl esp_hal::gpio::interconnect::PeripheralOutput<'static>,
) -> Option<Uart<'static, Async>> {
    let config = uart::Config::default().with_baudrate(baud);
    Some(
        Uart::new(uart, config)
            .ok()?
            .with_rx(rx)
            .with_tx(tx)
            .into_async(),
    )
}

#[esp_rtos::main]
async fn main(_spawner: embassy_executor::Spawner) -> ! {
    esp_println::logger::init_logger_from_env();
    // 80 MHz, the lowest clock esp-radio takes (README.md, Energy).
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CPU_CLOCK));
    // The RTC watchdog (esp_hal::init turns every watchdog off), armed
    // before anything that could panic or hang: its own RC clock, stage 0
    // resets the whole chip. Fed from here on only by the joined feeder.
    let mut rtc = Rtc::new(peripherals.RTC_TIMER);
    rtc.rwdt.set_timeout(RwdtStage::Stage0, WATCHDOG_TIMEOUT);
    rtc.rwdt.enable();
    rtc.rwdt.feed();
    esp_alloc::heap_allocator!(size: HEAP_BYTES);
    #[cfg(feature = "matter")]
    esp_alloc::heap_allocator!(#[unsafe(link_section = ".dram2_uninit")] size: MATTER_HEAP_BYTES);
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    // esp-rtos's automatic light sleep: when nothing is due for at least
    // 1 ms and no `WakeLock` is held, the idle hook puts the chip in light
    // sleep until the next timer or a listening pin; otherwise `wfi`. The
    // radio (from its start to its stop) and each UART (for its whole
    // life) hold a `WakeLock`, so with BLE up, or the modules' UARTs
    // built, the hook always takes `wfi` (README.md, Energy).
    let sleep = esp_rtos::sleep::configure(peripherals.LPWR);
    esp_rtos::start_with_idle_hook(
        timg0.timer0,
        peripherals.FROM_CPU_INTR0,
        sleep.light_sleep_hook,
    );
    info!("open door lock on ESP32-C3-DevKitM-1");
    security::report();

    // I2C at 100 kHz (the BS8116A-3's limit): the keypad and the expander.
    let i2c_config = esp_hal::i2c::master::Config::default().with_frequency(Rate::from_khz(100));
    let Ok(i2c) = I2c::new(peripherals.I2C0, i2c_config) else {
        halt("I2C0").await
    };
    let i2c: I2cBus = BlockingMutex::new(RefCell::new(
        i2c.with_sda(peripherals.GPIO3).with_scl(peripherals.GPIO4),
    ));
    let Ok(expander) = Expander::new(I2cDevice::new(&i2c), pin::INPUTS) else {
        halt("the TCA9555 does not answer").await
    };
    let expander_int = Input::new(
        peripherals.GPIO8,
        InputConfig::default().with_pull(Pull::Up),
    );

    // ADC1 at 11 dB: the battery divider and the motor's shunt.
    let mut adc_config = AdcConfig::new();
    let battery_pin = adc_config.enable_pin(peripherals.GPIO0, Attenuation::_11dB);
    let shunt_pin = adc_config.enable_pin(peripherals.GPIO1, Attenuation::_11dB);
    let adc: SharedAdc = BlockingMutex::new(RefCell::new(Adc::new(peripherals.ADC1, adc_config)));

    // LEDC: one 20 kHz timer for both bridge inputs.
    let mut ledc = Ledc::new(peripherals.LEDC);
    ledc.set_global_slow_clock(LSGlobalClkSource::APBClk);
    let mut motor_timer = ledc.timer::<LowSpeed>(timer::Number::Timer0);
    if motor_timer
        .configure(timer::config::Config {
            duty: timer::config::Duty::Duty10Bit,
            clock_source: timer::LSClockSource::APBClk,
            frequency: Rate::from_khz(MOTOR_PWM_KHZ),
        })
        .is_err()
    {
        halt("the motor PWM timer").await
    }

    // The modules' UARTs: UART0 for the face module (its pins carry the ROM's
    // boot log while the module is still off), UART1 for the fingerprint.
    let Some(face_uart) = uart(
        peripherals.UART0,
        115_200,
        peripherals.GPIO20,
        peripherals.GPIO21,
    ) else {
        halt("UART0").await
    };
    let Some(finger_uart) = uart(
        peripherals.UART1,
        57_600,
        peripherals.GPIO9,
        peripherals.GPIO10,
    ) else {
        halt("UART1").await
    };
    let Some(face_enable) = expander.output(pin::FACE_ENABLE) else {
        halt("the face module's enable pin").await
    };
    let face: Module<'_> = SharedModule::new(FaceModule::new(
        Face::new(face_uart, EmbassyClock, face::Config::default()),
        face_enable,
    ));

    // The lock's state: lock-store on the `lock` partition.
    let mut flash = FlashStorage::new(peripherals.FLASH);
    let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
    let partition = read_partition_table(&mut flash, &mut table)
        .ok()
        .and_then(|table| {
            table
                .iter()
                .find(|entry| entry.label_as_str() == LOCK_PARTITION)
        });
    let Some(partition) = partition else {
        halt("no `lock` partition: flash with partitions.csv").await
    };
    let (lock_offset, lock_len) = (partition.offset(), partition.len());
    if partition
        .as_flash_region(&mut flash)
        .as_nor_flash()
        .is_err()
    {
        halt("the `lock` partition is encrypted: lock-store needs 4-byte writes").await
    }
    if !lock_offset.is_multiple_of(SECTOR) || !lock_len.is_multiple_of(SECTOR) {
        halt("the `lock` partition is not sector-aligned").await
    }
    // One flash for the store, the update's staging partition and
    // `otadata`, each taking it for one operation at a time.
    let flash: ota::SharedFlash<'_> = BlockingMutex::new(RefCell::new(flash));
    let region: FlashPart<'_, '_> =
        BlockingAsync::new(BlockingPartition::new(&flash, lock_offset, lock_len));
    let Ok(store) = Store::new(region, STORE) else {
        halt("the `lock` partition is smaller than 96 KiB").await
    };

    let mut address = [0u8; 6];
    address.copy_from_slice(
        efuse::interface_mac_address(InterfaceMacAddress::Bluetooth)
            .as_bytes()
            .get(..6)
            .unwrap_or(&[0; 6]),
    );
    // BLE: the app's link, over lock-proto frames, on a controller that
    // runs only while the lock listens (`radio`, R-NRG-3). The app protocol
    // (lock-proto) takes keys and challenges from the chip's RNG, whose
    // entropy source is the radio.
    let link = BleLink::new();
    let mut bt = peripherals.BT;
    // Matter's Wi-Fi starts before BLE, for the two to share the radio
    // (`matter::start`).
    #[cfg(feature = "matter")]
    let station = matter::start(peripherals.WIFI);
    // Firmware updates: an administrator's signed image into the OTA
    // partition the lock does not run from, selected in `otadata` for the
    // ESP-IDF boot loader to boot at the next reset; the new image
    // confirms itself once the lock has restored its state (`ota`).
    let Some(board_id) = BOARD_ID else {
        halt("the board id is not a valid one").await
    };
    if MAKER_PUBLIC_KEY == [0; 32] {
        warn!("update: no maker key built in (LOCK_MAKER_PUBLIC_KEY); every image is refused");
    }
    let updates = match ota::EspOta::new(&flash) {
        Some((slots, staging))
            if staging.offset.is_multiple_of(SECTOR) && staging.len.is_multiple_of(SECTOR) =>
        {
            let staging: FlashPart<'_, '_> =
                BlockingAsync::new(BlockingPartition::new(&flash, staging.offset, staging.len));
            Some(SlotUpdater::new(
                Verifier::new(MAKER_PUBLIC_KEY, board_id, SECURITY_COUNTER),
                staging,
                slots,
            ))
        }
        _ => {
            warn!("update: no ota_0, ota_1 and otadata partitions to boot from; updates refused");
            None
        }
    };
    let app = ProtoApp::with_updater(BleTransport::new(&link), ChipEntropy, EspUpdater(updates));
    // With Matter, the runtime's app side also takes the Door Lock
    // cluster's requests (lock-matter's `MatterApp`), over a bridge the
    // cluster's handler shares: both run in this one task.
    #[cfg(feature = "matter")]
    let bridge = lock_matter::Bridge::<NoopRawMutex>::new();
    #[cfg(feature = "matter")]
    let app = lock_matter::MatterApp::new(app, &bridge);

    let buses = Buses {
        i2c: &i2c,
        expander: &expander,
        adc: &adc,
        face: &face,
        motor_timer: &motor_timer,
    };
    let pins = Pins {
        keypad_irq: peripherals.GPIO2,
        in1: peripherals.GPIO5,
        in2: peripherals.GPIO6,
        voice_data: peripherals.GPIO7,
        battery: battery_pin,
        shunt: shunt_pin,
        finger_uart,
    };
    let hardware = match wire(&buses, pins, &ledc) {
        Ok(hardware) => hardware,
        Err(why) => halt(why).await,
    };

    let config = lock_core::Config {
        serial: address
            .iter()
            .fold(0u64, |serial, &byte| serial << 8 | u64::from(byte)),
        // R-NRG-3: this chip's BLE cannot sleep (README.md, Energy): the
        // radio listens while the lock is awake and a minute after, unless
        // an administrator chooses always.
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
        // R-MTR-1: system information speaks the manual pairing code when
        // the lock is a Matter device (the test codes: README.md).
        #[cfg(feature = "matter")]
        matter_code: station.as_ref().map(|_| matter::manual_code()),
        // Firmware 0.1.0; the verification code comes from the app side
        // once it has started.
        ..lock_core::Config::default()
    };
    let mut runtime = Runtime::new(hardware, store, app, config);
    info!("board: wired; the lock starts");
    // The feeder first, so that it feeds before the runtime's first poll
    // (the boot's blocking store work); then the radio, whose first poll
    // starts the controller, so that the RNG has its entropy source before
    // the runtime's first draw (`radio::run`).
    let lock = embassy_futures::join::join4(
        parts::feed_watchdog(&mut rtc.rwdt, WATCHDOG_FEED),
        radio::run(&mut bt, &link),
        runtime.run(),
        expander.watch(expander_int),
    );
    // Matter over Wi-Fi beside the lock (README.md, Matter over Wi-Fi).
    #[cfg(feature = "matter")]
    embassy_futures::join::join(lock, matter::run(station, &bridge)).await;
    #[cfg(not(feature = "matter"))]
    lock.await;
    halt("the lock stopped").await
}
