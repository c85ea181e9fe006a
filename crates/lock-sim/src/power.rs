//! Battery life (R-NRG-2, R-NRG-3): the energy account's times
//! ([`crate::energy::Times`]) times each part's current on each board,
//! scaled to a day and set against two battery packs.
//!
//! Every current here is an estimate from datasheets and other cited
//! sources, or an assumption where none was found; `docs/ENERGY.md` lists
//! each figure with its source and marking (\[P\] primary, \[S\] secondary,
//! \[N/F\] not found, so assumed; \[calc\] arithmetic). Keep the two together.
//! Nothing here was measured on hardware.
//!
//! Method. Each part's charge is the time in each of its states times that
//! state's current, summed over the run. Currents are counted at the
//! battery as if every regulated part sat behind a linear regulator, whose
//! input current equals its output current plus its own quiescent current
//! (counted as a part): both packs are then compared by their mAh. A buck
//! converter would stretch the regulated parts' share by about V_bat/V_out
//! × its efficiency; that gain is not counted, so the figures lean long on
//! current and short on life. A run of a day or longer is scaled to 24 h;
//! a shorter run has the rest of the day added as idle time (everything at
//! rest, the radio as the runtime left it, the battery read hourly).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use lock_core::RadioListening;

use crate::energy::{DAY_MS, Times};
use crate::scenario;
use crate::sim::{Outcome, Sim};
use crate::world::{SimFlash, flash_layout};

// ----- shared parts (every board) -------------------------------------------

/// nA in a mA.
const MA: u64 = 1_000_000;
/// nA in a µA.
const UA: u64 = 1_000;

/// BS8116A-3 touch keypad, awake (scanning fast, keypad lit): \[N/F\],
/// assumed 1 mA.
pub const KEYPAD_AWAKE_NA: u64 = MA;
/// BS8116A-3 in its low-power auto-wake mode: \[N/F\], assumed 10 µA.
pub const KEYPAD_STANDBY_NA: u64 = 10 * UA;
/// One lit key's backlight LED: assumed 2 mA (a small SMD LED dimmed).
pub const LED_NA: u64 = 2 * MA;
/// R503 fingerprint module working (DC 3.3 V): 20 mA \[P\].
pub const FINGER_WORKING_NA: u64 = 20 * MA;
/// R503 in touch standby, main supply cut by its driver: 2 µA \[P\].
pub const FINGER_STANDBY_NA: u64 = 2 * UA;
/// FM225-class face module working: ≤ 400 mA \[S\] (DFRobot SEN0625, 5 V),
/// taken at its bound; power-gated (0) when not working.
pub const FACE_WORKING_NA: u64 = 400 * MA;
/// Palm vein runs on the combined face+palm module (PERIPHERALS.md): the
/// face module's figure.
pub const PALM_WORKING_NA: u64 = FACE_WORKING_NA;
/// WT588F playing, speaker driven: \[N/F\], assumed 60 mA.
pub const VOICE_PLAYING_NA: u64 = 60 * MA;
/// WT588F standby after a clip: \[N/F\]; the WT2003H's normal standby,
/// 4–5 mA \[S\], taken at 4.5 mA.
pub const VOICE_STANDBY_NA: u64 = 4_500 * UA;
/// WT588F asleep: \[N/F\]; the WT2003H's deep sleep, ≤ 3 µA \[S\].
pub const VOICE_SLEEP_NA: u64 = 3 * UA;
/// The lock motor (370 + worm gear) running: 0.6 A \[S\].
pub const MOTOR_RUNNING_NA: u64 = 600 * MA;
/// DRV8833 awake (nSLEEP high), running or braking: \[N/F\], assumed 2 mA.
pub const DRIVER_AWAKE_NA: u64 = 2 * MA;
/// DRV8833 asleep (nSLEEP low): 1.6 µA \[S\].
pub const DRIVER_SLEEP_NA: u64 = 1_600;
/// The siren sounding: \[N/F\], assumed 100 mA.
pub const SIREN_NA: u64 = 100 * MA;

/// Instructions the runtime runs for one wake-up: a key press through the
/// whole runtime, 11,388 on the Cortex-M3 (boards/qemu-mps2 README),
/// taken for every wake-up.
pub const INSTRUCTIONS_PER_WAKE: u64 = 11_400;
/// Cycles per ten instructions: 1.3 a instruction (qemu-mps2 README).
pub const CYCLES_PER_10_INSTRUCTIONS: u64 = 13;
/// Awake time a change written to flash costs: \[N/F\], assumed 1 ms (a
/// record programmed, a page erase now and then).
pub const FLASH_WRITE_US: u64 = 1_000;
/// Instructions a watchdog pet runs (each board at its own period,
/// [`Board::pet_every_ms`]): \[N/F\], assumed 200.
pub const WATCHDOG_INSTRUCTIONS: u64 = 200;
/// The advertising interval the lock uses, µs: lock-ble's
/// [`lock_ble::ADVERTISING_INTERVAL_US`] (1022.5 ms), which its GATT server
/// and the Pico W's pass to trouble-host \[P\].
pub const ADVERTISING_INTERVAL_US: u64 = lock_ble::ADVERTISING_INTERVAL_US;
/// The connection interval a phone picks for a session, µs: assumed 30 ms.
pub const CONNECTION_INTERVAL_US: u64 = 30_000;

/// 4 AA alkaline cells: 2,500 mAh at a lock's drain (the figure).
pub const AA_MAH: u64 = 2_500;
/// The seed lock's rechargeable pack: assumed a 2-cell 7.4 V Li-ion pack of
/// 4,200 mAh, as face-recognition locks ship.
pub const PACK_MAH: u64 = 4_200;

/// A radio figure `na` cited at one interval (µs), moved to another: the
/// part's floor between events (`floor_na`, the radio-off figure) stays,
/// the rest scales with the event rate.
const fn scaled(na: u64, floor_na: u64, cited_us: u64, used_us: u64) -> u64 {
    let events = na.saturating_sub(floor_na);
    floor_na.saturating_add(events.saturating_mul(cited_us) / used_us)
}

/// One board's processor and radio figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// Its name in the tables.
    pub name: &'static str,
    /// The processor running.
    pub run_na: u64,
    /// The processor asleep with the radio up (advertising or connected).
    pub sleep_radio_up_na: u64,
    /// The processor asleep with the radio off.
    pub sleep_radio_off_na: u64,
    /// Its clock, MHz.
    pub clock_mhz: u64,
    /// From its sleep to running code, µs.
    pub wake_latency_us: u64,
    /// How often its watchdog is fed, ms.
    pub pet_every_ms: u64,
    /// The host's extra awake time when a wake-up has to bring its HCI
    /// link to the radio controller back up, µs (0: no such link).
    pub hci_wake_us: u64,
    /// The radio advertising (on top of the processor).
    pub advertising_na: u64,
    /// The radio connected.
    pub connected_na: u64,
    /// The radio off.
    pub radio_off_na: u64,
    /// The regulator's quiescent current.
    pub regulator_na: u64,
}

impl Board {
    /// Awake time of one wake-up: its latency, its instructions and the
    /// HCI link's wake.
    pub fn wake_us(&self) -> u64 {
        self.wake_latency_us
            .saturating_add(cycles_us(INSTRUCTIONS_PER_WAKE, self.clock_mhz))
            .saturating_add(self.hci_wake_us)
    }

    /// Awake time of one watchdog pet.
    pub fn pet_us(&self) -> u64 {
        self.wake_latency_us
            .saturating_add(cycles_us(WATCHDOG_INSTRUCTIONS, self.clock_mhz))
    }
}

fn cycles_us(instructions: u64, mhz: u64) -> u64 {
    let cycles = instructions.saturating_mul(CYCLES_PER_10_INSTRUCTIONS) / 10;
    cycles.div_ceil(mhz.max(1))
}

/// ESP32-C3 (boards/esp32c3) at 80 MHz. Automatic light sleep is enabled
/// (esp-rtos's idle hook) but never reached with today's drivers:
/// esp-radio holds a wake lock while BLE is up, and esp-hal 1.2's `UartRx`
/// holds one for its whole life while lock-drivers' finger and face
/// drivers keep their UARTs. So the core idles in WFI at modem-sleep
/// current with the radio quiet too; quiet saves only the radio's share.
pub const ESP32C3: Board = Board {
    name: "ESP32-C3",
    // Modem-sleep, CPU running, 80 MHz: 17 mA [P].
    run_na: 17 * MA,
    // Modem-sleep, CPU idle (WFI), 80 MHz: 13 mA [P].
    sleep_radio_up_na: 13 * MA,
    // The same: the UARTs' wake locks keep it out of light sleep.
    sleep_radio_off_na: 13 * MA,
    clock_mhz: 80,
    // WFI exit: [N/F], assumed 1 µs.
    wake_latency_us: 1,
    // Fed every 30 s (boards/esp32c3).
    pet_every_ms: 30_000,
    hci_wake_us: 0,
    // No C3 BLE figure [N/F]: ~1.5 ms of radio an advertising event at the
    // 262 mA the ESP-IDF NimBLE power-save example gives as its maximum,
    // at 1022.5 ms [calc].
    advertising_na: scaled(262 * MA * 3 / 2, 0, 1_000, ADVERTISING_INTERVAL_US),
    // The same, ~1 ms a 30 ms connection event [calc].
    connected_na: scaled(262 * MA, 0, 1_000, CONNECTION_INTERVAL_US),
    // BLE torn down: its cost is the processor's.
    radio_off_na: 0,
    // A lock board's own low-Iq LDO: [N/F], assumed 5 µA.
    regulator_na: 5 * UA,
};

/// What-if, not in the tables: the ESP32-C3 with its module UARTs built
/// per operation, so that with the radio quiet nothing holds a wake lock
/// and it light-sleeps (130 µA \[P\], exit assumed 1 ms \[N/F\]).
pub const ESP32C3_LIGHT_SLEEP: Board = Board {
    name: "ESP32-C3 (light sleep)",
    sleep_radio_off_na: 130 * UA,
    wake_latency_us: 1_000,
    ..ESP32C3
};

/// STM32L476 (boards/stm32) in STOP 2 when idle, with a CYW20819-class HCI
/// controller: the host drops the HCI link while idle and the controller
/// wakes it by its host-wake line; the controller advertises on its own,
/// so advertising events do not wake the host. Module UARTs, RNG and PWM
/// are built per use.
pub const STM32L476: Board = Board {
    name: "STM32L476",
    // 100 µA/MHz at 48 MHz (MSI) [P, calc].
    run_na: 100 * UA * 48,
    // STOP 2 with RTC: 1.4 µA [P].
    sleep_radio_up_na: 1_400,
    sleep_radio_off_na: 1_400,
    clock_mhz: 48,
    // Stop wake-up: 4 µs [P].
    wake_latency_us: 4,
    // IWDG at 32.8 s, petted every 16 s (boards/stm32).
    pet_every_ms: 16_000,
    // The HCI link back up on a wake-up (UART rebuilt, the controller's
    // wake handshake): [N/F], assumed 2 ms, charged to every wake-up.
    hci_wake_us: 2_000,
    // CYW20819 [N/F]; the CYW20820-based Ezurio IF820 measured 290 µA
    // advertising at 250 ms [S], moved to 1022.5 ms [calc].
    advertising_na: scaled(290 * UA, 5 * UA, 250_000, ADVERTISING_INTERVAL_US),
    // The IF820 connected at 500 ms: 77 µA [S], moved to 30 ms [calc].
    connected_na: scaled(77 * UA, 5 * UA, 500_000, CONNECTION_INTERVAL_US),
    // Controller asleep, host-wake armed: [N/F], assumed 5 µA.
    radio_off_na: 5 * UA,
    // As the ESP32-C3's: [N/F], assumed 5 µA.
    regulator_na: 5 * UA,
};

/// Raspberry Pi Pico W (boards/rp2040): clk_sys at 48 MHz, idling in
/// SLEEP with the unused clocks gated; the CYW43439 in its own power save.
/// With the radio quiet it only stops advertising (cyw43 0.7 cannot power
/// the chip down).
pub const PICO_W: Board = Board {
    name: "Pico W",
    // Running code at 48 MHz: [N/F], assumed 10 mA (the Pico board idles
    // at 8.7 mA in BOOTSEL [P]).
    run_na: 10 * MA,
    // Pico board in SLEEP, VBUS 5 V: 1.3 mA [P] (its buck-boost included).
    sleep_radio_up_na: 1_300 * UA,
    sleep_radio_off_na: 1_300 * UA,
    clock_mhz: 48,
    // SLEEP exit: [N/F], assumed 10 µs.
    wake_latency_us: 10,
    // Fed every 4 s (boards/rp2040).
    pet_every_ms: 4_000,
    // cyw43's bus is driven from the RP2040 awake; counted in its wake-up.
    hci_wake_us: 0,
    // CYW43439 advertising at 1 s: ~93 µA [S], moved to 1022.5 ms [calc].
    advertising_na: scaled(93 * UA, 10 * UA, 1_000_000, ADVERTISING_INTERVAL_US),
    // Connected at 1 s: ~71 µA [S], moved to 30 ms [calc].
    connected_na: scaled(71 * UA, 10 * UA, 1_000_000, CONNECTION_INTERVAL_US),
    // CYW43439 powered, BLE quiet, in its own power save: [N/F], assumed
    // 10 µA.
    radio_off_na: 10 * UA,
    // In the board's SLEEP figure.
    regulator_na: 0,
};

/// The three boards, in the tables' order.
pub const BOARDS: [Board; 3] = [ESP32C3, STM32L476, PICO_W];

/// A part in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The processor, asleep and awake.
    Processor,
    /// The radio (or the HCI controller).
    Radio,
    /// The touch keypad controller.
    Keypad,
    /// The keys' backlight LEDs.
    Backlight,
    /// The face module.
    Face,
    /// The palm module.
    Palm,
    /// The fingerprint module.
    Finger,
    /// The voice module and speaker.
    Voice,
    /// The motor and its driver.
    Motor,
    /// The siren.
    Siren,
    /// The regulator's quiescent current.
    Regulator,
}

impl Part {
    /// Every part, in the tables' order.
    pub const ALL: [Part; 11] = [
        Part::Processor,
        Part::Radio,
        Part::Keypad,
        Part::Backlight,
        Part::Face,
        Part::Palm,
        Part::Finger,
        Part::Voice,
        Part::Motor,
        Part::Siren,
        Part::Regulator,
    ];

    /// Its name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Part::Processor => "processor",
            Part::Radio => "radio",
            Part::Keypad => "keypad controller",
            Part::Backlight => "backlight",
            Part::Face => "face module",
            Part::Palm => "palm module",
            Part::Finger => "finger module",
            Part::Voice => "voice",
            Part::Motor => "motor + driver",
            Part::Siren => "siren",
            Part::Regulator => "regulator",
        }
    }
}

/// Charge in nA·µs.
fn q(na: u64, ms: u64) -> u128 {
    u128::from(na)
        .saturating_mul(u128::from(ms))
        .saturating_mul(1_000)
}

fn q_us(na: u64, us: u64) -> u128 {
    u128::from(na).saturating_mul(u128::from(us))
}

/// R-NRG-2: each part's charge over `t` on `board` (time in each state ×
/// that state's current), nA·µs, in [`Part::ALL`]'s order.
pub fn charges(board: &Board, t: &Times) -> [u128; 11] {
    let total = t.total_ms;
    let up_ms = t.radio_up_ms();
    let off_ms = t.radio_off_ms;
    // The processor: awake while held (motor, module UART), for each
    // wake-up, each flash write and each watchdog pet; asleep otherwise,
    // at the current the radio's state allows.
    let awake_us = |held_ms: u64, wakes: u64, writes: u64, span_ms: u64| {
        held_ms
            .saturating_mul(1_000)
            .saturating_add(wakes.saturating_mul(board.wake_us()))
            .saturating_add(writes.saturating_mul(FLASH_WRITE_US))
            .saturating_add((span_ms / board.pet_every_ms.max(1)).saturating_mul(board.pet_us()))
            .min(span_ms.saturating_mul(1_000))
    };
    let awake_up = awake_us(t.held_ms.up, t.wakes.up, t.flash_writes.up, up_ms);
    let awake_off = awake_us(t.held_ms.off, t.wakes.off, t.flash_writes.off, off_ms);
    let asleep_up = up_ms.saturating_mul(1_000).saturating_sub(awake_up);
    let asleep_off = off_ms.saturating_mul(1_000).saturating_sub(awake_off);
    let processor = q_us(board.run_na, awake_up.saturating_add(awake_off))
        .saturating_add(q_us(board.sleep_radio_up_na, asleep_up))
        .saturating_add(q_us(board.sleep_radio_off_na, asleep_off));
    let radio = q(board.advertising_na, t.radio_advertising_ms)
        .saturating_add(q(board.connected_na, t.radio_connected_ms))
        .saturating_add(q(board.radio_off_na, off_ms));
    let keypad = q(KEYPAD_AWAKE_NA, t.keypad_awake_ms).saturating_add(q(
        KEYPAD_STANDBY_NA,
        total.saturating_sub(t.keypad_awake_ms),
    ));
    let backlight = q(LED_NA, t.backlight_key_ms);
    let [face_ms, palm_ms, finger_ms] = t.working_ms;
    let face = q(FACE_WORKING_NA, face_ms);
    let palm = q(PALM_WORKING_NA, palm_ms);
    let finger = q(FINGER_WORKING_NA, finger_ms)
        .saturating_add(q(FINGER_STANDBY_NA, total.saturating_sub(finger_ms)));
    let voice_awake = t.voice_playing_ms.saturating_add(t.voice_standby_ms);
    let voice = q(VOICE_PLAYING_NA, t.voice_playing_ms)
        .saturating_add(q(VOICE_STANDBY_NA, t.voice_standby_ms))
        .saturating_add(q(VOICE_SLEEP_NA, total.saturating_sub(voice_awake)));
    let driven = t.motor_running_ms.saturating_add(t.motor_braking_ms);
    let motor = q(MOTOR_RUNNING_NA, t.motor_running_ms)
        .saturating_add(q(DRIVER_AWAKE_NA, driven))
        .saturating_add(q(DRIVER_SLEEP_NA, total.saturating_sub(driven)));
    let siren = q(SIREN_NA, t.siren_ms);
    let regulator = q(board.regulator_na, total);
    [
        processor, radio, keypad, backlight, face, palm, finger, voice, motor, siren, regulator,
    ]
}

/// A board's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// Each part's charge in a day, nA·µs, in [`Part::ALL`]'s order.
    pub parts: [u128; 11],
}

/// nA·µs in a µAh.
const UAH: u128 = 3_600_000_000_000;
/// µs in a day.
const DAY_US: u128 = 86_400_000_000;

impl Day {
    /// `t` on `board` as a day: a run of a day or more scaled to 24 h; a
    /// shorter one with the rest of the day idle, the radio listening
    /// (`listening`) or off.
    pub fn of(board: &Board, t: &Times, listening: bool) -> Day {
        let parts = if t.total_ms >= DAY_MS {
            let run = charges(board, t);
            run.map(|c| c.saturating_mul(u128::from(DAY_MS)) / u128::from(t.total_ms.max(1)))
        } else {
            let rest = Times::idle(DAY_MS.saturating_sub(t.total_ms), listening);
            charges(board, &t.plus(&rest))
        };
        Day { parts }
    }

    /// All parts, nA·µs.
    pub fn total(&self) -> u128 {
        self.parts.iter().fold(0u128, |a, c| a.saturating_add(*c))
    }

    /// The average current, nA.
    pub fn average_na(&self) -> u128 {
        self.total() / DAY_US
    }

    /// Days a pack of `mah` lasts, in tenths.
    pub fn life_tenths(&self, mah: u64) -> u128 {
        let capacity = u128::from(mah).saturating_mul(UAH).saturating_mul(1_000);
        capacity.saturating_mul(10) / self.total().max(1)
    }

    /// The part that takes the most.
    pub fn dominant(&self) -> Part {
        let mut best = Part::Processor;
        let mut most = 0u128;
        for (part, c) in Part::ALL.iter().zip(self.parts) {
            if c > most {
                most = c;
                best = *part;
            }
        }
        best
    }
}

/// The radio settings of R-NRG-3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The radio always listens (the scenario as it runs).
    Always,
    /// The radio listens only while the lock is awake and
    /// `lock_runtime::RADIO_LINGER` after.
    WhileAwake,
}

impl Setting {
    /// Its title in the tables.
    pub fn title(self) -> &'static str {
        match self {
            Setting::Always => "radio always listening",
            Setting::WhileAwake => "radio listening only while awake and a minute after",
        }
    }
}

/// One run of a scenario for its energy account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The radio setting.
    pub setting: Setting,
    /// The account's times over the run.
    pub times: Times,
    /// The radio still listens at the end, as the runtime left it (a
    /// shorter run's rest of the day is idle with the radio so).
    pub listening: bool,
}

/// Runs `text` from a factory-fresh lock with the radio `setting`; its
/// energy account, or the outcome that was not a pass.
pub fn run(text: &str, setting: Setting) -> Result<Run, Outcome> {
    let lines = scenario::parse(text).map_err(|e| Outcome::Error {
        line: Some(e.line),
        message: e.message,
    })?;
    let (_, sectors) = flash_layout();
    let mut sim = Sim::unpowered(SimFlash::new(sectors));
    sim.config.radio = match setting {
        Setting::Always => RadioListening::Always,
        Setting::WhileAwake => RadioListening::WhileAwake,
    };
    sim.world.borrow_mut().count_energy();
    sim.boot().map_err(|e| Outcome::Error {
        line: None,
        message: e.0,
    })?;
    let outcome = sim.run_steps(&lines);
    if !outcome.passed() {
        return Err(outcome);
    }
    let mut w = sim.world.borrow_mut();
    w.energy_sync();
    let now = w.now;
    let Some(account) = w.energy.as_ref() else {
        return Err(Outcome::Error {
            line: None,
            message: "no energy account was kept".into(),
        });
    };
    let times = account.times_at(now);
    let listening = w.radio_listening;
    Ok(Run {
        setting,
        times,
        listening,
    })
}

/// R-NRG-3: runs `text` with both radio settings, so that each board states
/// its battery life for both.
pub fn run_both(text: &str) -> Result<[Run; 2], Outcome> {
    Ok([run(text, Setting::Always)?, run(text, Setting::WhileAwake)?])
}

// ----- the report ---------------------------------------------------------------

/// Label column of the plain table.
const LABEL: usize = 26;
/// Each board's column of the plain table (26 + 3 × 18 = 80).
const COLUMN: usize = 18;

fn thousands(n: u128) -> String {
    let digits = format!("{n}");
    let mut out = String::new();
    let len = digits.len();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `ms` as seconds with one decimal.
fn secs(ms: u64) -> String {
    format!(
        "{}.{} s",
        thousands(u128::from(ms / 1_000)),
        (ms % 1_000) / 100
    )
}

/// nA·µs as mAh with three decimals (rounded).
fn mah(c: u128) -> String {
    let uah = c.saturating_add(UAH / 2) / UAH;
    format!("{}.{:03}", thousands(uah / 1_000), uah % 1_000)
}

/// nA as mA with three decimals.
fn ma(na: u128) -> String {
    let ua = na.saturating_add(500) / 1_000;
    format!("{}.{:03}", thousands(ua / 1_000), ua % 1_000)
}

fn tenths(n: u128) -> String {
    format!("{}.{}", thousands(n / 10), n % 10)
}

/// `ms` as `24 h 03 min 12 s`.
fn span(ms: u64) -> String {
    let s = ms / 1_000;
    format!("{} h {:02} min {:02} s", s / 3_600, (s / 60) % 60, s % 60)
}

/// The time-in-state lines of a run.
fn states(t: &Times) -> Vec<(&'static str, String)> {
    let [face, palm, finger] = t.working_ms;
    Vec::from([
        ("keypad awake", secs(t.keypad_awake_ms)),
        ("backlight (lit keys x time)", secs(t.backlight_key_ms)),
        ("face module working", secs(face)),
        ("palm module working", secs(palm)),
        ("finger module working", secs(finger)),
        ("voice playing", secs(t.voice_playing_ms)),
        ("voice standby", secs(t.voice_standby_ms)),
        ("motor running", secs(t.motor_running_ms)),
        ("motor braking", secs(t.motor_braking_ms)),
        ("siren on", secs(t.siren_ms)),
        ("radio advertising", secs(t.radio_advertising_ms)),
        ("radio connected", secs(t.radio_connected_ms)),
        ("radio off", secs(t.radio_off_ms)),
        ("processor held awake", secs(t.held_ms.total())),
        ("processor wake-ups", thousands(u128::from(t.wakes.total()))),
        (
            "flash writes",
            thousands(u128::from(t.flash_writes.total())),
        ),
    ])
}

/// The energy table's rows: label, then one cell a board.
fn rows(days: &[Day; 3]) -> Vec<(String, [String; 3])> {
    let mut out = Vec::new();
    for (i, part) in Part::ALL.iter().enumerate() {
        out.push((
            String::from(part.name()),
            days.each_ref()
                .map(|d| mah(d.parts.get(i).copied().unwrap_or(0))),
        ));
    }
    out.push((
        String::from("total"),
        days.each_ref().map(|d| mah(d.total())),
    ));
    out.push((
        String::from("average current (mA)"),
        days.each_ref().map(|d| ma(d.average_na())),
    ));
    out.push((
        format!("days on 4 AA ({} mAh)", thousands(u128::from(AA_MAH))),
        days.each_ref().map(|d| tenths(d.life_tenths(AA_MAH))),
    ));
    out.push((
        format!("days on pack ({} mAh)", thousands(u128::from(PACK_MAH))),
        days.each_ref().map(|d| tenths(d.life_tenths(PACK_MAH))),
    ));
    out.push((
        String::from("dominant part"),
        days.each_ref().map(|d| String::from(d.dominant().name())),
    ));
    out
}

fn days(run: &Run) -> [Day; 3] {
    BOARDS.map(|b| Day::of(&b, &run.times, run.listening))
}

/// The what-if beside the radio-quiet table: the ESP32-C3 if its UARTs
/// were built per operation ([`ESP32C3_LIGHT_SLEEP`]), in two lines.
fn what_if(run: &Run) -> Option<[String; 2]> {
    if run.setting != Setting::WhileAwake {
        return None;
    }
    let day = Day::of(&ESP32C3_LIGHT_SLEEP, &run.times, run.listening);
    Some([
        String::from(
            "What-if, not in the table: the ESP32-C3, its module UARTs built \
             per operation",
        ),
        format!(
            "(light sleep, 130 uA, when quiet): {} mAh a day, {} days on 4 AA.",
            mah(day.total()),
            tenths(day.life_tenths(AA_MAH)),
        ),
    ])
}

fn how_scaled(t: &Times) -> String {
    if t.total_ms >= DAY_MS {
        format!(
            "simulated {}; the day is the run scaled to 24 h",
            span(t.total_ms)
        )
    } else {
        format!(
            "simulated {}; the day is the run plus the rest of 24 h idle",
            span(t.total_ms)
        )
    }
}

/// The report as plain text, 80 columns wide.
pub fn render_text(file: &str, runs: &[Run]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Energy for a day of use (R-NRG-2): {file}");
    let _ = writeln!(
        s,
        "Estimates from datasheet figures (docs/ENERGY.md), not measurements."
    );
    for run in runs {
        let _ = writeln!(s);
        let _ = writeln!(s, "== {} ==", run.setting.title());
        let _ = writeln!(s, "{}", how_scaled(&run.times));
        let _ = writeln!(s, "time in states (the run):");
        for (label, value) in states(&run.times) {
            let _ = writeln!(s, "  {label:<30}{value:>16}");
        }
        let [a, b, c] = BOARDS.map(|b| b.name);
        let _ = writeln!(
            s,
            "{:<LABEL$}{a:>COLUMN$}{b:>COLUMN$}{c:>COLUMN$}",
            "mAh a day"
        );
        for (label, [a, b, c]) in rows(&days(run)) {
            let _ = writeln!(s, "{label:<LABEL$}{a:>COLUMN$}{b:>COLUMN$}{c:>COLUMN$}");
        }
        if let Some([first, second]) = what_if(run) {
            let _ = writeln!(s, "{first}");
            let _ = writeln!(s, "{second}");
        }
    }
    s
}

/// The report as Markdown, for docs/ENERGY.md.
pub fn render_markdown(file: &str, runs: &[Run]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Generated by `lock-sim energy {file} --markdown` (scripts/energy.sh): \
         estimates from the figures below, not measurements."
    );
    for run in runs {
        let _ = writeln!(s);
        let _ = writeln!(s, "#### {}", capitalised(run.setting.title()));
        let _ = writeln!(s);
        let _ = writeln!(s, "{}.", capitalised(&how_scaled(&run.times)));
        let _ = writeln!(s);
        let _ = writeln!(s, "| state (the run) | time or count |");
        let _ = writeln!(s, "|---|---:|");
        for (label, value) in states(&run.times) {
            let _ = writeln!(s, "| {label} | {value} |");
        }
        let _ = writeln!(s);
        let [a, b, c] = BOARDS.map(|b| b.name);
        let _ = writeln!(s, "| mAh a day | {a} | {b} | {c} |");
        let _ = writeln!(s, "|---|---:|---:|---:|");
        for (label, [a, b, c]) in rows(&days(run)) {
            let _ = writeln!(s, "| {label} | {a} | {b} | {c} |");
        }
        if let Some([first, second]) = what_if(run) {
            let _ = writeln!(s);
            let _ = writeln!(s, "{first} {second}");
        }
    }
    s
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_nrg_2_an_idle_day_with_the_radio_off_costs_the_sum_of_the_floors() {
        // STM32L476: STOP 2, the controller asleep, the keypad, finger,
        // voice and driver in standby, the regulator; the watchdog's pets
        // every 16 s and the hourly reading add a few nA.
        let floors = 1_400 + 5_000 + 10_000 + 2_000 + 3_000 + 1_600 + 5_000;
        let day = Day::of(&STM32L476, &Times::idle(DAY_MS, false), false);
        let avg = day.average_na();
        assert!((floors..floors + 200).contains(&avg), "{avg} nA");
        // 2,500 mAh / (28.05 µA × 24 h) ≈ 3,713 days.
        let life = day.life_tenths(AA_MAH);
        assert!((37_000..37_200).contains(&life), "{life}");
        assert_eq!(day.dominant(), Part::Keypad);
    }

    #[test]
    fn r_nrg_2_a_short_run_gets_the_rest_of_the_day_idle() {
        let hour = Times::idle(3_600_000, true);
        let day = Day::of(&PICO_W, &hour, true);
        let whole = Day::of(&PICO_W, &Times::idle(DAY_MS, true), true);
        assert_eq!(day, whole);
        // Listening all day on the Pico W: its SLEEP floor dominates.
        assert_eq!(whole.dominant(), Part::Processor);
    }

    #[test]
    fn radio_figures_scale_with_the_event_rate() {
        // The floor stays; the events' share follows their rate.
        assert_eq!(scaled(93_000, 10_000, 1_000_000, 1_022_500), 91_173);
        assert_eq!(scaled(77_000, 5_000, 500_000, 30_000), 1_205_000);
        assert_eq!(ESP32C3.advertising_na, 384_352);
        assert_eq!(STM32L476.advertising_na, 74_682);
        assert_eq!(STM32L476.run_na, 4_800_000);
        // A wake-up: 11,400 instructions at 1.3 cycles, 48 MHz, + 4 µs,
        // + the HCI link's 2 ms.
        assert_eq!(STM32L476.wake_us(), 4 + 309 + 2_000);
        // The what-if differs from the ESP32-C3 only in its quiet sleep.
        assert_eq!(
            Board {
                name: ESP32C3.name,
                sleep_radio_off_na: ESP32C3.sleep_radio_off_na,
                wake_latency_us: ESP32C3.wake_latency_us,
                ..ESP32C3_LIGHT_SLEEP
            },
            ESP32C3
        );
    }

    #[test]
    fn numbers_print_with_separators_and_fixed_decimals() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(mah(UAH * 1_234_567), "1,234.567");
        assert_eq!(ma(18_947_400), "18.947");
        assert_eq!(tenths(1_114), "111.4");
        assert_eq!(secs(86_389_250), "86,389.2 s");
        assert_eq!(span(86_416_000), "24 h 00 min 16 s");
    }
}
