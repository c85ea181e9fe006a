//! Wear (S-ST-4): 400,000 lock cycles (BHMA A156.40 grade A) with their log
//! records must stay within the flash's rated erase count, on each board's
//! flash geometry and the partition sizes the crate docs recommend.
//!
//! A lock cycle is what `lock_core::Lock` asks the store for when someone
//! unlocks with a passcode and the inside button locks again: an unlock log
//! record and a lock log record. The worst case adds a wrong passcode before
//! every unlock: a failure record, its log record, and the failure record
//! cleared by the success. The lock holds 100 people (the state to migrate
//! when pages rotate is as large as it gets). The test runs a few thousand
//! cycles after a warm-up that fills both partitions, counts the erases of
//! every sector, and extrapolates the busiest sector to 400,000 cycles.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use common::door::{ADMIN_CODE, Door, config};
use common::{Step, block_on, run};
use lock_core::{
    BiometricKind, Change, Instant, Lock, LogEntry, Passcode, Person, PersonNumber, Role, Snapshot,
    TemplateId,
};
use lock_store::mock_flash::MockFlash;
use lock_store::{Store, StoreConfig};

const LIFETIME_CYCLES: u64 = 400_000;

/// A full lock: administrator 001 and 49 users with passcodes (the lock's
/// 50 passcode slots), 50 users with a fingerprint each (its 50 fingers).
fn full_lock() -> Snapshot {
    let mut s = Snapshot::default();
    s.settings.door_direction = Some(lock_core::DoorDirection::Right);
    for i in 1..=100u8 {
        let role = if i == 1 {
            Role::Administrator
        } else {
            Role::User
        };
        let mut p = Person::new(PersonNumber::new(i).unwrap(), role);
        if i == 1 {
            p.passcode = Some(Passcode::parse(ADMIN_CODE).unwrap());
        } else if i <= 50 {
            let code = format!("6{:05}", 10_007 + u32::from(i) * 37);
            p.passcode = Some(Passcode::parse(&code).unwrap());
        } else {
            p.add_template(BiometricKind::Finger, TemplateId(u16::from(i)));
        }
        s.people.push(p).unwrap();
    }
    assert!(Lock::restore(config(), &s, Instant::ZERO).is_ok());
    s
}

/// The steps of one lock cycle, as the lock emits them: `with_failure`
/// puts a wrong passcode before the unlock.
fn cycle_steps(with_failure: bool) -> Vec<Step> {
    let lock = Lock::restore(config(), &full_lock(), Instant::ZERO).unwrap();
    let mut door = Door::restored(lock);
    door.steps.clear();
    if with_failure {
        door.wrong_code();
    }
    door.cycle(ADMIN_CODE);
    let steps = door.steps;
    let logs = steps.iter().filter(|s| matches!(s, Step::Log(_))).count();
    let failures = steps
        .iter()
        .filter(|s| matches!(s, Step::Apply(Change::Attempts(_))))
        .count();
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::Log(r) if matches!(r.entry, LogEntry::Unlock { .. })))
    );
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::Log(r) if matches!(r.entry, LogEntry::Locked(_))))
    );
    if with_failure {
        assert_eq!((logs, failures), (3, 2), "{steps:?}");
    } else {
        assert_eq!((logs, failures), (2, 0), "{steps:?}");
    }
    steps
}

struct Board {
    name: &'static str,
    /// Rated erase cycles per sector.
    endurance: u64,
    state_sectors: u32,
    log_sectors: u32,
}

struct Wear {
    state_max: u64,
    log_max: u64,
}

/// Runs `cycles` lock cycles after `warmup` ones on a `W`/`S` flash laid
/// out for `board`; returns the busiest state and log sector's erases per
/// 400,000 cycles.
fn simulate<const W: usize, const S: usize>(
    board: &Board,
    with_failure: bool,
    warmup: u32,
    cycles: u32,
) -> Wear {
    let sector = u32::try_from(S).unwrap();
    let config =
        StoreConfig::state_then_log(board.state_sectors * sector, board.log_sectors * sector);
    let sectors = usize::try_from(board.state_sectors + board.log_sectors).unwrap();
    let mut store = Store::new(MockFlash::<W, S>::new(sectors), config).unwrap();
    block_on(store.load()).unwrap();
    block_on(store.module_work_done()).unwrap();
    for p in full_lock().people.iter() {
        block_on(store.apply(&Change::Person(p.clone()))).unwrap();
    }
    let steps = cycle_steps(with_failure);
    for _ in 0..warmup {
        for step in &steps {
            run(&mut store, step).unwrap();
        }
    }
    let start: Vec<u32> = store.flash().erase_counts().to_vec();
    for _ in 0..cycles {
        for step in &steps {
            run(&mut store, step).unwrap();
        }
    }
    let erased: Vec<u64> = store
        .flash()
        .erase_counts()
        .iter()
        .zip(&start)
        .map(|(a, b)| u64::from(a - b))
        .collect();
    let (state, log) = erased.split_at(usize::try_from(board.state_sectors).unwrap());
    // Rounded up by one erase per sector, so that a short run never
    // flatters the figure.
    let project = |max: u64| (max + 1) * LIFETIME_CYCLES / u64::from(cycles);
    Wear {
        state_max: project(*state.iter().max().unwrap()),
        log_max: project(*log.iter().max().unwrap()),
    }
}

fn report<const W: usize, const S: usize>(board: &Board, warmup: u32, cycles: u32) {
    for with_failure in [false, true] {
        let wear = simulate::<W, S>(board, with_failure, warmup, cycles);
        println!(
            "{:<8} {:>3} KiB state + {:>3} KiB log, {}: busiest state sector {:>6} erases, \
             busiest log sector {:>6} erases per 400,000 cycles (rated {})",
            board.name,
            board.state_sectors * u32::try_from(S).unwrap() / 1024,
            board.log_sectors * u32::try_from(S).unwrap() / 1024,
            if with_failure {
                "a failure every cycle"
            } else {
                "plain cycles         "
            },
            wear.state_max,
            wear.log_max,
            board.endurance
        );
        assert!(
            wear.state_max < board.endurance,
            "{}: state wears out",
            board.name
        );
        assert!(
            wear.log_max < board.endurance,
            "{}: log wears out",
            board.name
        );
    }
}

#[test]
fn s_st_4_esp32c3_400k_cycles_within_rated_erases() {
    // 4 KiB sectors, 4-byte writes; SPI NOR rated 100,000 erase cycles.
    let board = Board {
        name: "ESP32-C3",
        endurance: 100_000,
        state_sectors: 12,
        log_sectors: 16,
    };
    report::<4, 4096>(&board, 1_500, 3_000);
}

#[test]
fn s_st_4_rp2040_400k_cycles_within_rated_erases() {
    // Pico W's W25Q16JV: 4 KiB sectors, byte writes, 100,000 erase cycles.
    let board = Board {
        name: "RP2040",
        endurance: 100_000,
        state_sectors: 12,
        log_sectors: 16,
    };
    report::<1, 4096>(&board, 1_500, 3_000);
}

#[test]
fn s_st_4_stm32l4_400k_cycles_within_rated_erases() {
    // STM32L4 internal flash: 2 KiB pages, 8-byte writes, 10,000 cycles;
    // boards/stm32's layout.
    let board = Board {
        name: "STM32L4",
        endurance: 10_000,
        state_sectors: 24,
        log_sectors: 32,
    };
    report::<8, 2048>(&board, 1_000, 3_000);
}
