//! R-NRG-2 end to end: the energy account over real scenarios on the real
//! runtime, and `lock-sim energy` through the binary.

// A failing helper of an integration test should fail the test loudly, like
// the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lock_core::RadioListening;
use lock_runtime::RADIO_LINGER;
use lock_sim::energy::{DAY_MS, Times};
use lock_sim::power::{self, BOARDS, Day, Part, Setting};
use lock_sim::scenario::parse_step;
use lock_sim::sim::Sim;
use lock_sim::world::{SimFlash, TRAVEL_MS, flash_layout};

/// First start: right-opening door, administrator 001 with passcode 482915.
const FIRST_START: [&str; 4] = [
    "keys ok 1",
    "keys ok",
    "keys 482915 ok 482915 ok",
    "keys back",
];

fn day_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/day-in-the-life.lock")
}

/// A factory-fresh lock keeping an energy account from power-up, after
/// `steps`.
fn sim_after(steps: &[&str]) -> Sim {
    sim_listening(RadioListening::Always, steps)
}

/// As [`sim_after`], the radio set to listen as `radio` says.
fn sim_listening(radio: RadioListening, steps: &[&str]) -> Sim {
    let (_, sectors) = flash_layout();
    let mut sim = Sim::unpowered(SimFlash::new(sectors));
    sim.config.radio = radio;
    sim.world.borrow_mut().count_energy();
    sim.boot().unwrap();
    for step in steps {
        sim.act(&parse_step(step).unwrap()).unwrap();
    }
    sim
}

fn times(sim: &Sim) -> Times {
    let mut w = sim.world.borrow_mut();
    w.energy_sync();
    let now = w.now;
    w.energy.as_ref().unwrap().times_at(now)
}

/// `lock-sim ARGS…` from the repository's root.
fn lock_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lock-sim"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lock-sim-energy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn r_nrg_2_an_unlock_runs_the_motor_for_the_bolt_travel() {
    let mut steps = FIRST_START.to_vec();
    steps.extend(["wait 1m", "touch", "keys 482915 ok", "wait 5s"]);
    let sim = sim_after(&steps);
    let t = times(&sim);
    // From the drive to the end switch, and the runtime's brake after it.
    assert!(
        (TRAVEL_MS..TRAVEL_MS + 50).contains(&t.motor_running_ms),
        "{t:?}"
    );
    assert!(t.motor_braking_ms > 0 && t.motor_braking_ms <= 500, "{t:?}");
    // The processor is held awake at least while the motor turns.
    assert!(t.held_ms.total() >= t.motor_running_ms);
    assert!(t.wakes.total() > 0 && t.flash_writes.total() > 0);
}

#[test]
fn r_nrg_1_r_nrg_2_an_idle_hour_costs_the_floor_and_the_hourly_battery_reading() {
    let mut steps = FIRST_START.to_vec();
    // The keypad goes dark and every prompt ends.
    steps.push("wait 5m");
    let mut sim = sim_after(&steps);
    let before = times(&sim);
    sim.act(&parse_step("wait 1h").unwrap()).unwrap();
    let after = times(&sim);
    let hour = 3_600_000;
    assert_eq!(after.total_ms - before.total_ms, hour);
    // R-NRG-1: the lock's own code wakes at most once an hour.
    let wakes = after.wakes.total() - before.wakes.total();
    assert!(wakes <= 1, "{wakes} wake-ups in an idle hour");
    assert_eq!(after.keypad_awake_ms, before.keypad_awake_ms);
    assert_eq!(after.working_ms, before.working_ms);
    assert_eq!(after.motor_running_ms, before.motor_running_ms);
    assert_eq!(after.voice_playing_ms, before.voice_playing_ms);
    assert_eq!(after.held_ms, before.held_ms);
    assert_eq!(
        after.radio_advertising_ms - before.radio_advertising_ms,
        hour
    );
    // So the hour costs what the idle floor says, on every board.
    let mut idle = Times::idle(hour, true);
    idle.wakes.up = wakes;
    for board in &BOARDS {
        let run = power::charges(board, &after);
        let first = power::charges(board, &before);
        let floor = power::charges(board, &idle);
        for ((r, f), i) in run.iter().zip(first).zip(floor) {
            let diff = r - f;
            // Whole-millisecond rounding of the wake-up-free stretches.
            assert!(diff.abs_diff(i) <= i / 1_000 + 1_000_000, "{board:?}");
        }
    }
}

#[test]
fn r_nrg_2_r_nrg_3_the_day_adds_up_and_each_setting_says_what_dominates() {
    let text = std::fs::read_to_string(day_file()).unwrap();
    let [always, while_awake] = power::run_both(&text).unwrap();
    for run in [&always, &while_awake] {
        let t = &run.times;
        assert!(t.total_ms >= DAY_MS, "the scenario covers a day");
        assert_eq!(
            t.radio_advertising_ms + t.radio_connected_ms + t.radio_off_ms,
            t.total_ms
        );
        // Ten unlocks and their locks: twenty bolt travels.
        assert!(
            (20 * TRAVEL_MS..20 * TRAVEL_MS + 1_000).contains(&t.motor_running_ms),
            "{t:?}"
        );
        assert!(t.radio_connected_ms > 0, "the app session's link");
        for board in &BOARDS {
            let day = Day::of(board, t, run.listening);
            let sum: u128 = day.parts.iter().sum();
            assert_eq!(sum, day.total());
            assert!(day.life_tenths(power::PACK_MAH) > day.life_tenths(power::AA_MAH));
        }
    }
    // Everything but the radio is the same in both runs (the runtime's
    // timer that quiets the radio adds its own wake-ups).
    assert_eq!(always.times.working_ms, while_awake.times.working_ms);
    assert_eq!(
        always.times.keypad_awake_ms,
        while_awake.times.keypad_awake_ms
    );
    assert!(always.times.wakes.total() <= while_awake.times.wakes.total());
    assert_eq!(always.times.radio_off_ms, 0);
    assert!(always.listening);
    // R-NRG-3: quiet most of the day, and listening less than an hour.
    assert!(while_awake.times.radio_off_ms > DAY_MS - 3_600_000);
    assert_eq!(while_awake.setting, Setting::WhileAwake);
    // On the ESP32-C3 the processor dominates either way: the UARTs' wake
    // locks keep it out of light sleep, so quiet saves only the radio's
    // share.
    let c3_always = Day::of(&BOARDS[0], &always.times, always.listening);
    let c3_quiet = Day::of(&BOARDS[0], &while_awake.times, while_awake.listening);
    assert_eq!(c3_always.dominant(), Part::Processor);
    assert_eq!(c3_quiet.dominant(), Part::Processor);
    let c3_processor = c3_always.parts[0];
    assert!(c3_processor.abs_diff(c3_quiet.parts[0]) < c3_processor / 10_000);
    assert!(c3_quiet.total() < c3_always.total());
    // Elsewhere quiet is the longer life too.
    for board in &BOARDS {
        let a = Day::of(board, &always.times, always.listening);
        let q = Day::of(board, &while_awake.times, while_awake.listening);
        assert!(q.life_tenths(power::AA_MAH) >= a.life_tenths(power::AA_MAH));
    }
    assert_eq!(always.setting, Setting::Always);
}

#[test]
fn r_nrg_2_the_report_is_the_same_every_run_and_fits_80_columns() {
    let file = "scenarios/day-in-the-life.lock";
    let first = lock_sim(&["energy", file]);
    let second = lock_sim(&["energy", file]);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(first.stdout, second.stdout);
    let text = String::from_utf8(first.stdout).unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    for want in [
        "radio always listening",
        "radio listening only while awake and a minute after",
        "days on 4 AA (2,500 mAh)",
        "days on pack (4,200 mAh)",
        "dominant part",
        "ESP32-C3",
        "STM32L476",
        "Pico W",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let markdown = lock_sim(&["energy", "--markdown", file]);
    assert!(markdown.status.success());
    let markdown = String::from_utf8(markdown.stdout).unwrap();
    assert!(markdown.contains("| mAh a day | ESP32-C3 | STM32L476 | Pico W |"));
    assert!(markdown.contains("|---|---:|---:|---:|"));
}

#[test]
fn r_nrg_2_a_failing_scenario_is_reported_and_gives_no_figures() {
    let bad = temp_file(
        "no-unlock.lock",
        "keys ok 1\nkeys ok\nkeys 482915 ok 482915 ok\nkeys back\n\
         touch\nkeys 135799 ok\nexpect event unlock\n",
    );
    let out = lock_sim(&["energy", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "no table for a day that did not happen"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!("FAIL {}:7: expected `expect event unlock`", bad.display());
    assert!(stderr.contains(&want), "{stderr}");
    // A missing file and a bad step: errors, not panics.
    let missing = lock_sim(&["energy", "/nonexistent/day.lock"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
    let unknown = temp_file("unknown.lock", "touch\nfly away\n");
    let out = lock_sim(&["energy", unknown.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2: unknown step `fly`"));
    // No file at all: usage.
    assert_eq!(lock_sim(&["energy"]).status.code(), Some(2));
}

#[test]
fn a_run_that_does_not_ask_keeps_no_account() {
    let mut sim = Sim::new().unwrap();
    sim.act(&parse_step("keys ok 1").unwrap()).unwrap();
    assert!(sim.world.borrow().energy.is_none());
}

#[test]
fn r_nrg_2_a_radio_told_not_to_listen_is_off_until_a_power_cut() {
    let mut steps = FIRST_START.to_vec();
    steps.push("wait 5m");
    let mut sim = sim_after(&steps);
    let before = times(&sim);
    // What the runtime's `Transport::listen(false)` does to the radio.
    sim.world.borrow_mut().set_radio_listening(false);
    sim.act(&parse_step("wait 1h").unwrap()).unwrap();
    let quiet = times(&sim);
    assert_eq!(quiet.radio_off_ms - before.radio_off_ms, 3_600_000);
    assert_eq!(quiet.radio_advertising_ms, before.radio_advertising_ms);
    // A lock starts listening.
    sim.act(&parse_step("power-cycle").unwrap()).unwrap();
    assert!(sim.world.borrow().radio_listening);
    sim.act(&parse_step("wait 1h").unwrap()).unwrap();
    let after = times(&sim);
    assert_eq!(after.radio_off_ms, quiet.radio_off_ms);
    assert_eq!(
        after.radio_advertising_ms - quiet.radio_advertising_ms,
        3_600_000
    );
}

#[test]
fn r_nrg_3_while_awake_the_radio_is_off_from_a_minute_after_the_keypad_went_dark() {
    let linger = RADIO_LINGER.millis();
    let mut steps = FIRST_START.to_vec();
    steps.push("wait 5m");
    let mut sim = sim_listening(RadioListening::WhileAwake, &steps);
    // Five idle minutes: the runtime has told the radio to be quiet.
    assert!(!sim.world.borrow().radio_listening);
    let before = times(&sim);
    sim.act(&parse_step("wait 1h").unwrap()).unwrap();
    let quiet = times(&sim);
    assert_eq!(quiet.radio_off_ms - before.radio_off_ms, 3_600_000);
    // A touch wakes the keypad and the radio listens at once.
    sim.act(&parse_step("touch").unwrap()).unwrap();
    assert!(sim.world.borrow().radio_listening);
    sim.act(&parse_step("wait 1h").unwrap()).unwrap();
    let after = times(&sim);
    assert!(!sim.world.borrow().radio_listening);
    let hour = after.total_ms - quiet.total_ms;
    let lit = after.keypad_awake_ms - quiet.keypad_awake_ms;
    assert!(lit > 0);
    // Off for the idle time less the linger after the keypad went dark
    // (a few milliseconds of settling either way).
    let off = after.radio_off_ms - quiet.radio_off_ms;
    let want = hour - lit - linger;
    assert!(off.abs_diff(want) <= 50, "off {off} ms, want {want} ms");
    assert_eq!(
        after.radio_advertising_ms - quiet.radio_advertising_ms,
        hour - off
    );
    // Set to listen always, the same hour keeps it advertising.
    let mut always = sim_after(&steps);
    let start = times(&always);
    always.act(&parse_step("wait 1h").unwrap()).unwrap();
    assert!(always.world.borrow().radio_listening);
    assert_eq!(times(&always).radio_off_ms, start.radio_off_ms);
}
