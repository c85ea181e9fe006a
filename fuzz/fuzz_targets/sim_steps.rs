//! The whole lock in the simulator — lock-runtime, lock-core and lock-store
//! on the simulated board — over arbitrary sequences of a person's steps
//! (SPEC §8: keys, holds, SET, the lock button, biometric samples, the
//! mechanical key, the door, tamper, battery, USB power, power cuts between
//! steps, time passing, a sticking bolt). The first byte chooses a factory-
//! fresh lock or one installed with administrator 001 and a user with a
//! finger; every further two bytes are one step. Checked:
//!
//! - every step settles: the runtime neither stops, nor spins inside one
//!   poll, nor keeps time from moving (`Sim::act` returns no error), and
//!   nothing panics;
//! - nothing the lock stored is lost: after the last step, power is cut and
//!   restored, and the lock holds as many people as before (S-ST-1, the
//!   runtime's persist-before-reacting order).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_core::{Duration, Key};
use lock_sim::scenario::{self, Line, Reader, Step};
use lock_sim::sim::Sim;

/// Administrator 001 (482915) and user 002 with Alice's finger.
const INSTALLED: &str = "keys ok 1
keys ok
keys 482915 ok
keys 482915 ok
keys 2
keys 3
finger alice
finger alice
keys back back
wait 25s
";

const NAMES: [&str; 3] = ["alice", "bob", "mallory"];

const KEYS: [Key; 14] = [
    Key::Digit(0),
    Key::Digit(1),
    Key::Digit(2),
    Key::Digit(4),
    Key::Digit(5),
    Key::Digit(8),
    Key::Digit(9),
    Key::Ok,
    Key::Back,
    Key::Home,
    Key::Bell,
    Key::Digit(3),
    Key::Digit(6),
    Key::Digit(7),
];

const WAITS_MS: [u64; 8] = [
    200, 1_000, 5_000, 20_000, 60_000, 180_000, 600_000, 3_600_000,
];

fn step(kind: u8, arg: u8) -> Step {
    let key = KEYS[usize::from(arg) % KEYS.len()];
    match kind % 17 {
        0 => Step::Touch,
        // Up to six digits of the administrator's 482915, then one key.
        1 => Step::Keys(
            [4, 8, 2, 9, 1, 5]
                .iter()
                .map(|&d| Key::Digit(d))
                .take(usize::from(arg / 14) % 7)
                .chain(core::iter::once(key))
                .collect(),
        ),
        2 => Step::Keys(vec![key]),
        3 => Step::Hold(key),
        4 => Step::Set,
        5 => Step::SetHold,
        6 => Step::LockButton,
        7 => {
            let reader = [Reader::Face, Reader::Palm, Reader::Finger][usize::from(arg % 3)];
            Step::Present(reader, NAMES[usize::from(arg / 3) % NAMES.len()].into())
        }
        8 => Step::MechanicalKey,
        9 => Step::Door { open: arg % 2 == 0 },
        10 => Step::Tamper,
        11 => Step::Battery(arg % 101),
        12 => Step::PowerCycle {
            holding_set: arg % 16 == 0,
        },
        13 | 14 => Step::Wait(Duration::from_millis(
            WAITS_MS[usize::from(arg) % WAITS_MS.len()],
        )),
        15 => Step::Jam(arg % 2 == 0),
        _ => Step::Usb(arg % 2 == 0),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut sim = Sim::new().expect("a fresh lock boots");
    if first % 2 == 1 {
        let lines: Vec<Line> = scenario::parse(INSTALLED).expect("the installation parses");
        for line in &lines {
            sim.act(&line.step).expect("the installation runs");
        }
    }
    // At most 64 steps: an hour's wait is a step too.
    for pair in rest.chunks_exact(2).take(64) {
        let step = step(pair[0], pair[1]);
        if let Err(e) = sim.act(&step) {
            panic!("{step:?}: {e}");
        }
    }
    let users = sim.world.borrow().view.users;
    sim.act(&Step::PowerCycle { holding_set: false })
        .expect("power comes back");
    let after = sim.world.borrow().view.users;
    assert_eq!(users, after, "people before the power cut and after");
});
