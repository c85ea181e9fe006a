//! R-PIN-4 at the lock: typing digits and ✓ with one to four stored codes,
//! the keypad accepts an entry exactly when a stored code is a contiguous run
//! of its first 16 digits.

use lock_core::{
    Action, BoltPosition, BoltReport, Config, DoorDirection, Duration, Event, Instant, Key, Lock,
    LogEntry, Passcode, Person, Role, Settings, Snapshot,
};
use proptest::prelude::*;

use crate::checks::*;
use crate::inputs::*;

// ----- R-PIN-4 at the lock ----------------------------------------------------------

/// Up to four codes that pass R-PIN-1/2/5 among themselves.
fn stored_codes() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(0u8..=9, 6..=10), 1..=4)
        .prop_map(|candidates| {
            let mut kept: Vec<Passcode> = Vec::new();
            for c in candidates {
                let code = Passcode::new(&c).unwrap();
                if code.check_strength().is_ok() && !kept.iter().any(|k| k.overlaps(&code)) {
                    kept.push(code);
                }
            }
            kept.iter().map(|c| c.digits().to_vec()).collect::<Vec<_>>()
        })
        // All candidates weak is possible (about one run in several thousand):
        // the test needs a code to type.
        .prop_filter("at least one strong code", |codes| !codes.is_empty())
}

#[derive(Debug, Clone)]
enum Press {
    Digits(Vec<u8>),
    /// A stored code's digits, by index.
    Code(usize),
    Ok,
    Back,
}

fn presses() -> impl Strategy<Value = Vec<Press>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::collection::vec(prop_oneof![10 => 0u8..=9, 1 => 10u8..=12], 1..=8).prop_map(Press::Digits),
            3 => any::<usize>().prop_map(Press::Code),
            4 => Just(Press::Ok),
            1 => Just(Press::Back),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// R-PIN-4 at the lock: ✓ unlocks exactly when a stored passcode (normal or
    /// duress) is a contiguous run of the first 16 digits typed since the last
    /// ✓ that acted or ↩; ✓ with fewer than six digits does nothing and the
    /// digits stay. Lockout protection is off so failures never lock.
    #[test]
    fn r_pin_4_entry_accepted_iff_contains_stored_code(
        codes in stored_codes(),
        duress_last in any::<bool>(),
        presses in presses(),
        gaps in prop::collection::vec(0u64..5_000, 64),
    ) {
        let cfg = Config::default();
        let mut snapshot = Snapshot {
            settings: Settings {
                door_direction: Some(DoorDirection::Right),
                lockout_protection: false,
                ..Settings::default()
            },
            ..Snapshot::default()
        };
        let mut owner: Vec<u8> = Vec::new();
        for (i, c) in codes.iter().enumerate() {
            let n = u8::try_from(i + 1).unwrap();
            let mut p = Person::new(number(n), if n == 1 { Role::Administrator } else { Role::User });
            let code = Passcode::new(c).unwrap();
            if duress_last && i + 1 == codes.len() && i > 0 {
                p.duress = Some(code);
            } else {
                p.passcode = Some(code);
            }
            snapshot.people.push(p).unwrap();
            owner.push(n);
        }
        let mut now = Instant::from_secs(1);
        let mut lock = Lock::restore(cfg, &snapshot, now).unwrap();
        lock.handle(now, Event::Boot { set_held: false });
        lock.handle(now, Event::Touch);

        let mut keys: Vec<Key> = Vec::new();
        for p in &presses {
            match p {
                Press::Digits(ds) => keys.extend(ds.iter().map(|&d| Key::Digit(d))),
                Press::Code(i) => keys.extend(codes[i % codes.len()].iter().map(|&d| Key::Digit(d))),
                Press::Ok => keys.push(Key::Ok),
                Press::Back => keys.push(Key::Back),
            }
        }
        // The model: the entry as R-PIN-4 describes it.
        let mut entry: Vec<u8> = Vec::new();
        for (i, key) in keys.into_iter().enumerate() {
            now = now + Duration::from_millis(gaps[i % gaps.len()]);
            let actions = lock.handle(now, Event::Key(key));
            match key {
                Key::Digit(d) => {
                    if d <= 9 && entry.len() < 16 {
                        entry.push(d);
                    }
                    prop_assert!(!unlocks(&actions));
                }
                Key::Back => {
                    entry.clear();
                    prop_assert!(!unlocks(&actions));
                }
                Key::Ok if entry.len() < 6 => {
                    prop_assert!(
                        actions.iter().all(|a| !matches!(a, Action::Log(_) | Action::Persist(_) | Action::DriveBolt { .. })),
                        "✓ after {} digits acted: {:?}", entry.len(), actions
                    );
                }
                Key::Ok => {
                    let hits: Vec<u8> = codes
                        .iter()
                        .zip(&owner)
                        .filter(|(c, _)| entry.windows(c.len()).any(|w| w == c.as_slice()))
                        .map(|(_, &n)| n)
                        .collect();
                    prop_assert_eq!(unlocks(&actions), !hits.is_empty(), "entry {:?}, codes {:?}", entry, codes);
                    let who = actions.iter().find_map(|a| match a {
                        Action::Log(r) => match r.entry {
                            LogEntry::Unlock { person, .. } => person,
                            _ => None,
                        },
                        _ => None,
                    });
                    if let Some(who) = who {
                        prop_assert!(hits.contains(&who.get()), "opened as {} for {:?}", who, entry);
                    }
                    entry.clear();
                }
                _ => unreachable!(),
            }
            // The bolt gets there at once, so the travel timer never interferes.
            if unlocks(&actions) {
                lock.handle(now, Event::Bolt(BoltReport::Reached(BoltPosition::Unlocked)));
            }
        }
    }
}
