//! What one event costs the state machine, on the host.
//!
//! ```text
//! cargo bench -p lock-core --bench core
//! ```
//!
//! - `passcode/find_50_codes_16_digit_entry`: the constant-time anti-peeping
//!   search alone, 50 passcodes stored, a full 16-digit entry that matches none.
//! - `passcode/lock_ok_50_codes_16_digit_entry`: the whole ✓ press through
//!   `Lock::handle` with the same table and entry (search, second check,
//!   failure count, actions).
//! - `keypad/lock_key_press`: one digit key on an awake keypad.
//!
//! On-target figures (instructions on a Cortex-M) come with the QEMU work.

// A benchmark set-up that fails should stop loudly.
#![allow(clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lock_core::internals::{PasscodeKind, PasscodeTable};
use lock_core::{
    AppCommand, AppRequest, Config, Entry, Event, Instant, Key, Link, Lock, Passcode, Person,
    PersonNumber, Privilege, Role, Setting, Settings, Snapshot,
};
use std::hint::black_box;

/// Fifty distinct six-digit codes that pass every rule: `NN7391`.
fn code(i: u8) -> Passcode {
    Passcode::new(&[i / 10, i % 10, 7, 3, 9, 1]).expect("a valid code")
}

/// A 16-digit entry that contains none of them.
const MISS: [u8; 16] = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5];

fn full_lock() -> Lock {
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(lock_core::DoorDirection::Right),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    for i in 0..50u8 {
        let number = PersonNumber::new(i + 1).expect("1..=50");
        let role = if i == 0 {
            Role::Administrator
        } else {
            Role::User
        };
        let mut p = Person::new(number, role);
        p.passcode = Some(code(i));
        snapshot.people.push(p).expect("capacity 100");
    }
    let mut lock = Lock::restore(Config::default(), &snapshot, Instant::ZERO).expect("valid");
    lock.handle(Instant::ZERO, Event::Boot { set_held: false });
    // Failures would lock the keypad after five; the benchmark measures the
    // check, not the lockout.
    lock.handle(
        Instant::ZERO,
        Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::Configure(Setting::LockoutProtection(false)),
        }),
    );
    lock
}

fn passcode(c: &mut Criterion) {
    let mut table = PasscodeTable::new();
    for i in 0..50u8 {
        let owner = PersonNumber::new(i + 1).expect("1..=50");
        table
            .insert(code(i), owner, PasscodeKind::Normal)
            .expect("room");
    }
    let entry = Entry::from_digits(&MISS);
    let mut group = c.benchmark_group("passcode");
    group.bench_function("find_50_codes_16_digit_entry", |b| {
        b.iter(|| black_box(&table).find(black_box(&entry)))
    });

    let mut typed = full_lock();
    let t = Instant::from_secs(1);
    typed.handle(t, Event::Touch);
    for d in MISS {
        typed.handle(t, Event::Key(Key::Digit(d)));
    }
    group.bench_function("lock_ok_50_codes_16_digit_entry", |b| {
        b.iter_batched_ref(
            || typed.clone(),
            |lock| black_box(lock.handle(t, Event::Key(Key::Ok))),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn keypad(c: &mut Criterion) {
    let mut awake = full_lock();
    let t = Instant::from_secs(1);
    awake.handle(t, Event::Touch);
    c.bench_function("keypad/lock_key_press", |b| {
        b.iter_batched_ref(
            || awake.clone(),
            |lock| black_box(lock.handle(t, Event::Key(Key::Digit(7)))),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, passcode, keypad);
criterion_main!(benches);
