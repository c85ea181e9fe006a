//! S-PR-6 and S-ST-4 under attack: the most flash writes an hour that any key
//! (an administrator's, a user's, a visitor's, expired, revoked) or a link
//! with no key can cause, and what that does to each board's flash.
//!
//! Each attacker sends a frame every second of the lock's clock (60 a
//! minute: a challenge and a command take two, and the protocol grants a
//! pairing 10 a minute, so faster sending writes no more), for
//! one hour of the lock's clock, the requests that write the most it is
//! allowed: an administrator adds a person and deletes them again, a user or
//! a visitor unlocks and locks. Everything the runtime would write (the
//! lock's changes and log records, the protocol's app records) is kept in
//! the bench's journal; the hour's writes are then replayed onto lock-store
//! on each board's flash geometry and partition sizes, hour after hour, and
//! the busiest sector's erases give how long the flash lasts under that
//! attack, kept up day and night.

use lock_core::{
    AppCommand, Change, Link, Passcode, PersonNumber, Privilege, Reply, Role, Validity,
};
use lock_proto::{FromLock, Phone, Request, Response};
use lock_store::mock_flash::MockFlash;
use lock_store::{Store, StoreConfig};

use super::{Bench, Written, issue, with_visitor_key};

/// The attack lasts this long on the lock's clock.
const HOUR_MS: u64 = 3_600_000;
/// Hours in a year.
const YEAR_HOURS: u64 = 8_766;

/// What an attacker with a key asks for, the most writing request it may.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Adds a person with a passcode, then deletes them, and again.
    AddAndDelete,
    /// Unlocks and locks.
    UnlockAndLock,
    /// Frames that open under no key (garbage, or a stranger's key).
    NoKey,
}

/// The writes of one attacker's second hour: the first spends the
/// pairing's burst (`WRITES_BURST`), the second is what it keeps up.
fn steady_hour_of(b: &mut Bench, phone: &mut Phone, attack: Attack) -> Vec<Written> {
    let _burst = hour_of(b, phone, attack);
    hour_of(b, phone, attack)
}

/// The writes of one attacker's hour.
fn hour_of(b: &mut Bench, phone: &mut Phone, attack: Attack) -> Vec<Written> {
    let start_journal = b.journal.len();
    let start = b.now;
    let mut challenge = None;
    let mut next_add = true;
    let mut added: Option<PersonNumber> = None;
    let mut n: u32 = 0;
    while b.now - start < HOUR_MS {
        n += 1;
        b.wait_ms(700);
        let frame = match (attack, challenge.take()) {
            (Attack::NoKey, _) => {
                // A frame under a key the lock never issued.
                let mut stranger = Phone::with_key(1, [n as u8; 32]);
                stranger.request(&Request::Challenge).unwrap()
            }
            (_, None) => phone.request(&Request::Challenge).unwrap(),
            (Attack::AddAndDelete, Some(c)) => {
                let command = match (next_add, added) {
                    (false, Some(person)) => AppCommand::DeletePerson(person),
                    _ => AppCommand::AddPerson {
                        number: None,
                        role: Role::User,
                        passcode: Passcode::parse(&format!("{:08}", 20_000_000 + n)).unwrap(),
                        validity: Validity::ALWAYS,
                    },
                };
                phone
                    .request(&Request::Command {
                        command,
                        challenge: Some(c),
                    })
                    .unwrap()
            }
            (Attack::UnlockAndLock, Some(c)) => {
                let command = if n % 4 == 1 {
                    AppCommand::Unlock
                } else {
                    AppCommand::Lock
                };
                phone
                    .request(&Request::Command {
                        command,
                        challenge: Some(c),
                    })
                    .unwrap()
            }
        };
        if b.receive(Link::Bluetooth, &frame).is_err() {
            continue;
        }
        let Some(sent) = b.sent.first() else {
            continue;
        };
        match phone.open(sent) {
            Ok(FromLock::Response(Response::Challenge { challenge: c, .. })) => challenge = Some(c),
            Ok(FromLock::Response(Response::Reply(Reply::PersonAdded(person)))) => {
                added = Some(person);
                next_add = false;
            }
            Ok(FromLock::Response(Response::Reply(Reply::Done))) if !next_add => {
                added = None;
                next_add = true;
            }
            _ => {}
        }
    }
    // The lock's own clock marks (S-VC-3) are written whether or not anyone
    // attacks: not the attacker's.
    b.journal[start_journal..]
        .iter()
        .filter(|w| !matches!(w, Written::Core(Change::ClockMark(_))))
        .cloned()
        .collect()
}

/// A board's flash: its geometry, rating and the partition sizes its crate
/// uses (lock-store's README; the boards' `StoreConfig`s).
struct Board {
    name: &'static str,
    endurance: u64,
    state_sectors: u32,
    log_sectors: u32,
}

const ESP32C3: Board = Board {
    name: "ESP32-C3",
    endurance: 100_000,
    state_sectors: 12,
    log_sectors: 16,
};
const RP2040: Board = Board {
    name: "RP2040",
    endurance: 100_000,
    state_sectors: 12,
    log_sectors: 16,
};
const STM32L4: Board = Board {
    name: "STM32L4",
    endurance: 10_000,
    state_sectors: 24,
    log_sectors: 32,
};

fn block_on<F: core::future::Future>(f: F) -> F::Output {
    embassy_futures::block_on(f)
}

fn write<const W: usize, const S: usize>(store: &mut Store<MockFlash<W, S>>, w: &Written) {
    match w {
        Written::Core(change) => {
            block_on(store.apply(change)).unwrap();
            if matches!(change, Change::PersonDeleted(_) | Change::FactoryReset) {
                block_on(store.module_work_done()).unwrap();
            }
        }
        Written::Log(record) => {
            block_on(store.append_log(record)).unwrap();
        }
        Written::App(change) => {
            for (slot, record) in change.records().unwrap().iter() {
                block_on(store.write_app(*slot, record.as_deref())).unwrap();
            }
        }
    }
}

/// Erases an hour of the attack costs the busiest state and log sector:
/// the hour is replayed after the set-up until the busiest state sector has
/// been erased [`ROTATIONS`] times and the busiest log sector once (or for
/// [`MAX_HOURS`]).
fn erases_per_hour<const W: usize, const S: usize>(
    board: &Board,
    setup: &[Written],
    hour: &[Written],
) -> (f64, f64) {
    let sector = u32::try_from(S).unwrap();
    let config =
        StoreConfig::state_then_log(board.state_sectors * sector, board.log_sectors * sector);
    let sectors = usize::try_from(board.state_sectors + board.log_sectors).unwrap();
    let mut store = Store::new(MockFlash::<W, S>::new(sectors), config).unwrap();
    block_on(store.load()).unwrap();
    block_on(store.module_work_done()).unwrap();
    for w in setup.iter().chain(hour) {
        write(&mut store, w);
    }
    let state_sectors = usize::try_from(board.state_sectors).unwrap();
    let before: Vec<u32> = store.flash().erase_counts().to_vec();
    let busiest = |store: &Store<MockFlash<W, S>>| {
        let erased: Vec<u32> = store
            .flash()
            .erase_counts()
            .iter()
            .zip(&before)
            .map(|(a, b)| a - b)
            .collect();
        let (state, log) = erased.split_at(state_sectors);
        (*state.iter().max().unwrap(), *log.iter().max().unwrap())
    };
    let mut hours = 0;
    let (state, log) = loop {
        for w in hour {
            write(&mut store, w);
        }
        hours += 1;
        let (state, log) = busiest(&store);
        if (state >= ROTATIONS && log >= 1) || hours >= MAX_HOURS {
            break (state, log);
        }
    };
    // One erase added to each, so a short run never flatters the figure.
    let per_hour = |max: u32| f64::from(max + 1) / f64::from(hours);
    (per_hour(state), per_hour(log))
}

/// Erases of the busiest state sector a replay waits for.
const ROTATIONS: u32 = 4;
/// The longest replay, in hours of the attack.
const MAX_HOURS: u32 = 100;

/// Years of the attack, day and night, before the busiest sector reaches
/// its rated erases.
fn years(board: &Board, per_hour: f64) -> f64 {
    board.endurance as f64 / per_hour / YEAR_HOURS as f64
}

struct Attacker {
    name: &'static str,
    setup: Vec<Written>,
    hour: Vec<Written>,
}

fn attackers() -> Vec<Attacker> {
    let mut out = Vec::new();

    // An administrator (paired at the lock): the most it may write.
    let mut b = Bench::new();
    let mut admin = b.pair();
    let setup = b.journal.clone();
    let hour = steady_hour_of(&mut b, &mut admin, Attack::AddAndDelete);
    out.push(Attacker {
        name: "administrator",
        setup,
        hour,
    });

    // A user's key.
    let mut b = Bench::new();
    let mut admin = b.pair();
    let mut user = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let setup = b.journal.clone();
    let hour = steady_hour_of(&mut b, &mut user, Attack::UnlockAndLock);
    out.push(Attacker {
        name: "user key",
        setup,
        hour,
    });

    // A visitor's key within its window.
    let (mut b, _admin, mut visitor, _) = with_visitor_key(10 * 3_600);
    let setup = b.journal.clone();
    let hour = steady_hour_of(&mut b, &mut visitor, Attack::UnlockAndLock);
    out.push(Attacker {
        name: "visitor key",
        setup,
        hour,
    });

    // The same visitor key after its window ended.
    let (mut b, _admin, mut visitor, _) = with_visitor_key(3_600);
    b.wait_ms(3_605_000);
    let setup = b.journal.clone();
    let hour = steady_hour_of(&mut b, &mut visitor, Attack::UnlockAndLock);
    out.push(Attacker {
        name: "expired key",
        setup,
        hour,
    });

    // A revoked administrator.
    let mut b = Bench::new();
    let mut owner = b.pair();
    // A second administrator, paired the same way.
    let mut revoked = b.pair();
    let c = b.challenge(&mut owner, Link::Bluetooth);
    let f = owner
        .request(&Request::RevokePairing {
            pairing: revoked.pairing(),
            challenge: c,
        })
        .unwrap();
    let r = b.ask(&mut owner, Link::Bluetooth, &f);
    assert!(matches!(r, Response::Done), "{r:?}");
    let setup = b.journal.clone();
    let hour = steady_hour_of(&mut b, &mut revoked, Attack::AddAndDelete);
    out.push(Attacker {
        name: "revoked key",
        setup,
        hour,
    });

    // No key at all.
    let mut b = Bench::new();
    let mut admin = b.pair();
    let setup = b.journal.clone();
    let hour = steady_hour_of(&mut b, &mut admin, Attack::NoKey);
    out.push(Attacker {
        name: "no key",
        setup,
        hour,
    });
    out
}

#[test]
fn s_pr_6_s_st_4_no_key_wears_the_flash_out_even_attacking_day_and_night() {
    let attackers = attackers();
    println!("attacker          writes/h  (app, lock, log)");
    for a in &attackers {
        let app = a
            .hour
            .iter()
            .filter(|w| matches!(w, Written::App(_)))
            .count();
        let core = a
            .hour
            .iter()
            .filter(|w| matches!(w, Written::Core(_)))
            .count();
        let log = a
            .hour
            .iter()
            .filter(|w| matches!(w, Written::Log(_)))
            .count();
        println!("{:<16} {:>9}  ({app}, {core}, {log})", a.name, a.hour.len());
        if matches!(a.name, "expired key" | "revoked key" | "no key") {
            assert!(a.hour.is_empty(), "{}: {:?}", a.name, a.hour);
        } else {
            assert!(!a.hour.is_empty(), "{}: the attack acted", a.name);
        }
    }
    // A visitor's key may ask for no more than a user's (opening and
    // locking): the user's figures stand for both.
    let count = |name: &str| {
        attackers
            .iter()
            .find(|a| a.name == name)
            .unwrap()
            .hour
            .len()
    };
    assert!(count("visitor key") <= count("user key"));
    for a in attackers
        .iter()
        .filter(|a| matches!(a.name, "administrator" | "user key"))
    {
        let results = [
            (
                &ESP32C3,
                erases_per_hour::<4, 4096>(&ESP32C3, &a.setup, &a.hour),
            ),
            (
                &RP2040,
                erases_per_hour::<1, 4096>(&RP2040, &a.setup, &a.hour),
            ),
            (
                &STM32L4,
                erases_per_hour::<8, 2048>(&STM32L4, &a.setup, &a.hour),
            ),
        ];
        for (board, (state, log)) in results {
            let state_years = years(board, state);
            let log_years = years(board, log);
            println!(
                "{:<16} {:<8} busiest state sector {state:>5.2} erases/h ({state_years:>5.1} years), \
                 busiest log sector {log:>5.2} erases/h ({log_years:>5.1} years), rated {}",
                a.name, board.name, board.endurance
            );
            // The floor: a year of the attack kept up without a pause
            // before any sector reaches its rating (a lock that is attacked
            // like this logs every act, and the owner can revoke the key).
            assert!(
                state_years >= 1.0 && log_years >= 1.0,
                "{} on {}",
                a.name,
                board.name
            );
        }
    }
}

#[test]
fn s_pr_6_a_key_past_its_write_budget_is_refused_and_writes_nothing() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let mut user = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let start = b.now;
    let mut granted: u64 = 0;
    let (refused, written) = loop {
        let before = b.journal.len();
        match b.command(&mut user, Link::Bluetooth, AppCommand::Lock) {
            Response::Reply(Reply::Done) => granted += 1,
            other => break (other, b.journal.len() - before),
        }
        // Within every per-minute budget: six seconds apart.
        b.wait_ms(6_000);
    };
    // The burst, and one more for each whole minute the burst took.
    let minutes = (b.now - start) / lock_proto::WRITE_REFILL.millis();
    let burst = u64::from(lock_proto::WRITES_BURST);
    assert!(
        (burst..=burst + minutes).contains(&granted),
        "{granted} granted in {minutes} minutes"
    );
    assert!(
        matches!(
            refused,
            Response::Refused(lock_proto::ProtoRefusal::RateLimited)
        ),
        "{refused:?}"
    );
    assert_eq!(written, 0, "a refused request writes nothing");
    // One more after each refill, and not two.
    b.wait_ms(lock_proto::WRITE_REFILL.millis());
    let r = b.command(&mut user, Link::Bluetooth, AppCommand::Lock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    let r = b.command(&mut user, Link::Bluetooth, AppCommand::Lock);
    assert!(
        matches!(r, Response::Refused(lock_proto::ProtoRefusal::RateLimited)),
        "{r:?}"
    );
    // The administrator's own budget is untouched.
    let r = b.command(&mut admin, Link::Bluetooth, AppCommand::Lock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
}
