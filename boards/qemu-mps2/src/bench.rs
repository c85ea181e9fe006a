//! Instructions and stack per representative step, on the target ISA.
//!
//! Each figure is one run of the step (the count is exact and the same on
//! every run, `counter`), less the cost of the measurement itself. Two
//! levels:
//!
//! - *core*: `Lock::handle` / `Lock::restore` alone, set up as the host's
//!   `cargo bench -p lock-core` does (50 passcodes stored; a 16-digit entry
//!   that matches none, and one holding the 50th code at its end), and the
//!   passcode search alone on the same table (`PasscodeTable::find_among`,
//!   which a ✓ runs twice; `Entry::contains_ct`; the second check).
//! - *step*: a whole scenario step through lock-sim's runner on a lock whose
//!   store is full (100 people; 50 passcodes, 50 faces, 50 palms, 50
//!   fingerprints; the log wrapped): the runtime, the core, the store on the
//!   simulated NOR flash and the simulated peripherals, including the
//!   runner's 200 ms of simulated pacing after the input.
//!
//! The stack column is what the step used below the measuring frame
//! (painted, `stack`).

use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::hint::black_box;

use lock_core::internals::{PasscodeKind, PasscodeTable};
use lock_core::{
    AppCommand, AppRequest, Config, DoorDirection, Entry, Event, Instant, Key, Link, Lock,
    NoVisitorCodes, Passcode, Person, PersonNumber, Privilege, Role, Setting, Settings, Snapshot,
};
use lock_sim::scenario::{Expectation, parse_step};
use lock_sim::sim::Sim;
use lock_sim::world::{SimFlash, flash_layout};
use semihosting::println;

use crate::{counter, stack};

/// One measured figure.
struct Row {
    what: String,
    instructions: u64,
    stack: usize,
}

/// What measuring nothing costs: its instructions are taken off every
/// figure; its stack is the least a figure can show (the painter's margin).
struct Overhead {
    instructions: u64,
    stack: usize,
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, u64, usize) {
    let painted = stack::paint();
    let at = counter::mark();
    let out = f();
    let n = at.elapsed();
    (out, n, painted.used())
}

impl Overhead {
    fn new() -> Overhead {
        let ((), instructions, stack) = measure(|| black_box(()));
        Overhead {
            instructions,
            stack,
        }
    }

    fn row<T>(&self, rows: &mut Vec<Row>, what: &str, f: impl FnOnce() -> T) -> T {
        let (out, n, stack) = measure(f);
        rows.push(Row {
            what: what.into(),
            instructions: n.saturating_sub(self.instructions),
            stack,
        });
        out
    }
}

/// Fifty distinct six-digit codes that pass every rule: `NN7391` (as the
/// host benchmark).
fn code(i: u8) -> Option<Passcode> {
    Passcode::new(&[i / 10, i % 10, 7, 3, 9, 1]).ok()
}

/// A 16-digit entry that contains none of them.
const MISS: [u8; 16] = [5; 16];

/// A 16-digit entry holding the last slot's code (`497391`) at its end, the
/// last offset; none of the others.
const MATCH: [u8; 16] = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 9, 7, 3, 9, 1];

/// The host benchmark's lock: 50 people with a passcode each, booted,
/// lockout protection off (the figure is the check, not the lockout).
fn core_lock() -> Result<Lock, String> {
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    for i in 0..50u8 {
        let number = PersonNumber::new(i.saturating_add(1)).ok_or("person number")?;
        let role = if i == 0 {
            Role::Administrator
        } else {
            Role::User
        };
        let mut p = Person::new(number, role);
        p.passcode = Some(code(i).ok_or("passcode")?);
        snapshot.people.push(p).map_err(|_| "people full")?;
    }
    let mut lock = Lock::restore(Config::default(), &snapshot, Instant::ZERO)
        .map_err(|e| format!("restore: {e:?}"))?;
    lock.handle(Instant::ZERO, Event::Boot { set_held: false });
    lock.handle(
        Instant::ZERO,
        Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::Configure(Setting::LockoutProtection(false)),
        }),
    );
    Ok(lock)
}

/// The search alone, on the host benchmark's table: what `Lock::handle`
/// does twice per ✓ (the codes within their validity, then the others).
fn search_rows(o: &Overhead, rows: &mut Vec<Row>) -> Result<(), String> {
    let mut table = PasscodeTable::new();
    for i in 0..50u8 {
        let owner = PersonNumber::new(i.saturating_add(1)).ok_or("person number")?;
        table
            .insert(code(i).ok_or("passcode")?, owner, PasscodeKind::Normal)
            .map_err(|e| format!("insert: {e:?}"))?;
    }
    let miss = Entry::from_digits(&MISS);
    let hit = Entry::from_digits(&MATCH);
    let admit = |n: PersonNumber| black_box(n.get()) > 0;
    let found = o.row(
        rows,
        "passcode search, core (`PasscodeTable::find_among`, 16 digits matching none of 50 codes)",
        || black_box(table.find_among(black_box(&miss), admit)),
    );
    if found.is_some() {
        return Err("the search found a code in the missing entry".into());
    }
    let found = o.row(
        rows,
        "passcode search, core (`PasscodeTable::find_among`, 16 digits holding the 50th code at their end)",
        || black_box(table.find_among(black_box(&hit), admit)),
    );
    let m = found.ok_or("the search missed the code")?;
    let last = code(49).ok_or("passcode")?;
    o.row(
        rows,
        "passcode search, core (`Entry::contains_ct`, one code, 16 digits)",
        || black_box(black_box(&hit).contains_ct(black_box(&last))),
    );
    let confirmed = o.row(
        rows,
        "passcode search, core (`PasscodeTable::confirm`, the second check)",
        || black_box(table.confirm(black_box(&hit), &m)),
    );
    if !confirmed {
        return Err("the second check refused the match".into());
    }
    Ok(())
}

fn core_rows(o: &Overhead, rows: &mut Vec<Row>) -> Result<(), String> {
    search_rows(o, rows)?;
    let t = Instant::from_secs(1);
    let mut awake = core_lock()?;
    awake.handle(t, Event::Touch);
    let mut typed = awake.clone();
    for d in MISS {
        typed.handle(t, Event::Key(Key::Digit(d)));
    }
    let mut typed_match = awake.clone();
    for d in MATCH {
        typed_match.handle(t, Event::Key(Key::Digit(d)));
    }

    let mut lock = awake.clone();
    o.row(rows, "key press, core (`Lock::handle`, a digit)", || {
        black_box(lock.handle(t, Event::Key(Key::Digit(7))))
    });
    let mut lock = typed.clone();
    o.row(
        rows,
        "passcode check, core (`Lock::handle`, ✓ after 16 digits, 50 codes)",
        || black_box(lock.handle(t, Event::Key(Key::Ok))),
    );
    let mut lock = typed_match.clone();
    o.row(
        rows,
        "passcode check, core (`Lock::handle`, ✓ after 16 digits holding the 50th code, 50 codes: unlock)",
        || black_box(lock.handle(t, Event::Key(Key::Ok))),
    );
    Ok(())
}

/// A scenario step on `sim`.
fn step(sim: &mut Sim, text: &str) -> Result<(), String> {
    let step = parse_step(text).map_err(|e| format!("`{text}`: {e}"))?;
    sim.act(&step).map_err(|e| format!("`{text}`: {}", e.0))
}

fn steps(sim: &mut Sim, texts: &[&str]) -> Result<(), String> {
    texts.iter().try_for_each(|t| step(sim, t))
}

/// A lock whose store is full, through the keypad menu: administrator 001
/// (482915), users 002–050 with a passcode each, users 051–100 with a
/// fingerprint, a face and a palm each.
fn full_sim() -> Result<Sim, String> {
    let mut sim = Sim::new().map_err(|e| e.0)?;
    steps(
        &mut sim,
        &[
            "keys ok 1",
            "keys ok",
            "keys 482915 ok 482915 ok",
            "keys back",
            "set",
            "keys 482915 ok",
        ],
    )?;
    for i in 1..50u8 {
        let code = format!("{}{}7391", i / 10, i % 10);
        step(&mut sim, "keys 2")?;
        step(&mut sim, &format!("keys 4 {code} ok {code} ok"))?;
        step(&mut sim, "keys back")?;
    }
    for i in 51..=100u8 {
        steps(
            &mut sim,
            &[
                "keys 2",
                "keys 3",
                &format!("finger f{i}"),
                "keys 1",
                &format!("face x{i}"),
                "keys 2",
                &format!("palm p{i}"),
                "keys back",
            ],
        )?;
    }
    steps(&mut sim, &["keys back", "wait 1m"])?;
    sim.check(&Expectation::Users(100))
        .map_err(|seen| format!("the store is not full: {seen}"))?;
    Ok(sim)
}

fn step_rows(o: &Overhead, rows: &mut Vec<Row>) -> Result<(), String> {
    // For scale: a boot with the administrator alone.
    let mut sim = Sim::new().map_err(|e| e.0)?;
    steps(
        &mut sim,
        &[
            "keys ok 1",
            "keys ok",
            "keys 482915 ok 482915 ok",
            "keys back",
            "wait 1m",
        ],
    )?;
    let step_power = parse_step("power-cycle")?;
    let booted = o.row(
        rows,
        "boot restore, step (`power-cycle`, the administrator alone)",
        || sim.act(&step_power),
    );
    booted.map_err(|e| e.0)?;

    let mut sim = full_sim()?;

    // Boot with the full store: loading alone (on a copy of the flash, so
    // that the lock's own is untouched), restoring the core alone, and the
    // whole power cycle.
    let image = sim.flash.copy();
    let (config, _) = flash_layout();
    let mut store = lock_store::Store::new(image, config).map_err(|e| format!("{e:?}"))?;
    let loaded = o.row(
        rows,
        "boot restore, store (`Store::load`, full store)",
        || embassy_futures::block_on(store.load()),
    );
    let mut snapshot = loaded.map_err(|e| format!("load: {e:?}"))?.snapshot;
    let loaded = o.row(
        rows,
        "boot restore, store (`Store::load_into`, full store)",
        || embassy_futures::block_on(store.load_into(&mut snapshot)),
    );
    loaded.map_err(|e| format!("load_into: {e:?}"))?;
    let read = o.row(
        rows,
        "boot restore, app records (`Store::for_each_app`, one pass, full store)",
        || {
            embassy_futures::block_on(async {
                let mut records = 0usize;
                store
                    .for_each_app(|_, record| records += usize::from(record.is_some()))
                    .await?;
                Ok::<_, lock_store::StoreError<_>>(records)
            })
        },
    );
    let records = read.map_err(|e| format!("for_each_app: {e:?}"))?;
    println!("app records read at boot: {records}");
    let restored = o.row(
        rows,
        "boot restore, core (`Lock::restore`, full store)",
        || Lock::restore(lock_sim::sim::config(), &snapshot, Instant::ZERO).map(black_box),
    );
    let mut lock = restored.map_err(|e| format!("restore: {e:?}"))?;
    let restored = o.row(
        rows,
        "boot restore, core (`Lock::restore_in_place`, full store)",
        || {
            lock.restore_in_place(
                lock_sim::sim::config(),
                NoVisitorCodes,
                &snapshot,
                Instant::ZERO,
            )
        },
    );
    restored.map_err(|e| format!("restore in place: {e:?}"))?;
    let booted = o.row(
        rows,
        "boot restore, step (`power-cycle`: load, restore, boot, full store)",
        || sim.act(&step_power),
    );
    booted.map_err(|e| e.0)?;
    sim.check(&Expectation::Users(100))
        .map_err(|seen| format!("after the power cycle: {seen}"))?;

    step(&mut sim, "touch")?;
    let digit = parse_step("keys 5")?;
    let pressed = o.row(rows, "key press, step (`keys 5`)", || sim.act(&digit));
    pressed.map_err(|e| e.0)?;
    step(&mut sim, "keys 555555555555555")?;
    let ok = parse_step("keys ok")?;
    let checked = o.row(
        rows,
        "passcode check, step (`keys ok` after 16 digits matching none of 50 codes)",
        || sim.act(&ok),
    );
    checked.map_err(|e| e.0)?;
    sim.check(&Expectation::Event("unlock-failed".into()))
        .map_err(|seen| format!("the wrong entry: {seen}"))?;
    steps(&mut sim, &["wait 5s", "touch", "keys 555555548291555"])?;
    let unlocked = o.row(
        rows,
        "passcode check, step (`keys ok` after 16 digits holding 482915, 50 codes)",
        || sim.act(&ok),
    );
    unlocked.map_err(|e| e.0)?;
    sim.check(&Expectation::Event("unlock".into()))
        .map_err(|seen| format!("the right entry: {seen}"))?;
    Ok(())
}

/// Prints the table; 0 when every figure was taken.
pub fn run() -> i32 {
    let loop_count = counter::calibration();
    if !(1_980_000..=2_020_000).contains(&loop_count) {
        println!(
            "qemu-mps2 bench: the timer does not count instructions (a loop of 2,000,002 measured {loop_count}): run QEMU with -icount shift={}",
            counter::ICOUNT_SHIFT
        );
        return 1;
    }
    let o = Overhead::new();
    println!(
        "instruction counter: a loop of 2,000,002 instructions measured {}; measuring nothing measured {} instructions (taken off every figure) and {} bytes of stack",
        thousands(loop_count),
        o.instructions,
        o.stack
    );
    println!(
        "sizes: Lock {} bytes, Actions {} bytes, Snapshot {} bytes",
        size_of::<Lock>(),
        size_of::<lock_core::Actions>(),
        size_of::<Snapshot>()
    );
    future_sizes();
    let mut rows = Vec::new();
    let result = core_rows(&o, &mut rows)
        .and_then(|()| update_rows(&o, &mut rows))
        .and_then(|()| step_rows(&o, &mut rows));
    println!("| step | instructions | stack (bytes) |");
    println!("|---|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {} | {} |",
            row.what,
            thousands(row.instructions),
            thousands(u64::try_from(row.stack).unwrap_or(u64::MAX))
        );
    }
    match result {
        Ok(()) => 0,
        Err(e) => {
            println!("qemu-mps2 bench: {e}");
            1
        }
    }
}

/// A firmware update's two bursts of work (S-UP-1…4, issue 23), each in
/// one step of the control loop: `Begin` checks the manifest's Ed25519
/// signature; `Finish` hashes the staged payload as read back from flash
/// (SHA-512) and checks the signature again. The simulator's 12 KiB image:
/// a board's payload is about 50 times longer, and its read-back hash with
/// it.
fn update_rows(o: &Overhead, rows: &mut Vec<Row>) -> Result<(), String> {
    use lock_sim::firmware::{Firmware, Running, image};
    let image = image("v2")?;
    let (manifest, payload) = image.split_at(lock_update::MANIFEST_LEN);
    let verifier = Firmware::verifier(Running {
        counter: 1,
        broken: false,
    })
    .ok_or("no verifier")?;
    let checked = o.row(
        rows,
        "update, `Begin` (`Verifier::check_manifest`: Ed25519 `verify_strict` of the manifest)",
        || black_box(verifier.check_manifest(black_box(manifest))),
    );
    checked.map_err(|e| format!("the manifest was refused: {e}"))?;
    let digest = o.row(
        rows,
        "update, `Finish`'s hash (`payload_digest`: SHA-512 of a 12 KiB payload)",
        || black_box(lock_update::payload_digest(black_box(payload))),
    );
    if digest.len() != lock_update::DIGEST_LEN {
        return Err("no digest".into());
    }
    Ok(())
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = format!("{n}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The runtime's futures, as the simulator builds them.
fn future_sizes() {
    let world = Rc::new(RefCell::new(lock_sim::world::World::new()));
    let (_, sectors) = flash_layout();
    let Ok(store) = lock_sim::world::SimStore::new(SimFlash::new(sectors), world.clone()) else {
        return;
    };
    let mut runtime = lock_runtime::Runtime::new(
        lock_sim::world::hardware(&world),
        store,
        lock_sim::world::app(&world),
        lock_sim::sim::config(),
    );
    let runtime_bytes = size_of_val(&runtime);
    // The whole lock's future: the control loop (boot and steps) joined
    // with the lanes of the modules and the voice.
    let run_bytes = size_of_val(&runtime.run());
    println!(
        "sizes: Runtime {runtime_bytes} bytes, its run() future (control loop and lanes) {run_bytes} bytes"
    );
}
