//! S-BF-3: the documented guess budget.
//!
//! An attacker at the keypad with the best schedule the rules allow: every
//! entry is 16 digits of fresh guesses (R-PIN-4's cap: up to eleven 6-digit
//! windows per entry), typed the moment the keypad accepts one, paced around
//! the fast and slow lockouts (R-LKO-1, R-LKO-5). The owner opens once a day,
//! which clears both counts (R-LKO-2), so the attacker's budget starts afresh
//! every day. The real state machine counts the entries it accepts for
//! checking in a day; the expected time to a 50 % chance of hitting one of 3
//! enrolled 6-digit codes follows from that.
//!
//! The insider (S-BF-3's second case) holds user 002's passcode and types it
//! whenever four failures stand, so the fast bound never locks; only an
//! administrator's own credential clears the slow count (R-LKO-5), so the
//! slow bound still paces them. Their targets are the two codes that are not
//! theirs (the administrator's, and another user's).

// Test code: a broken set-up should fail loudly.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use lock_core::{
    Action, BoltPosition, Change, Config, DoorDirection, Duration, Event, Instant, Key, Lock,
    Passcode, Person, PersonNumber, Role, Settings, Snapshot,
};

const DAY: Duration = Duration::from_hours(24);
/// Codes the attacker can test with one 16-digit entry: windows at offsets 0..=10.
const WINDOWS_PER_ENTRY: u64 = 11;
const ENROLLED_CODES: u64 = 3;
const CODE_SPACE: f64 = 1_000_000.0;

fn lock_with_three_codes() -> Lock {
    let mut snapshot = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    for (i, code) in ["482915", "730582", "196374"].into_iter().enumerate() {
        let number = PersonNumber::new(i as u8 + 1).unwrap();
        let role = if i == 0 {
            Role::Administrator
        } else {
            Role::User
        };
        let mut p = Person::new(number, role);
        p.passcode = Some(Passcode::parse(code).unwrap());
        snapshot.people.push(p).unwrap();
    }
    let mut lock = Lock::restore(Config::default(), &snapshot, Instant::ZERO).unwrap();
    lock.handle(Instant::ZERO, Event::Boot { set_held: false });
    lock
}

/// Types one entry and ✓; returns whether the lock checked it (a failure was
/// counted) rather than refusing it for a lockout.
fn attempt(lock: &mut Lock, now: Instant, digits: &[u8]) -> bool {
    lock.handle(now, Event::Touch);
    for &d in digits {
        lock.handle(now, Event::Key(Key::Digit(d)));
    }
    let out = lock.handle(now, Event::Key(Key::Ok));
    assert!(!out.iter().any(|a| matches!(
        a,
        Action::DriveBolt {
            to: BoltPosition::Unlocked,
            ..
        }
    )));
    out.iter()
        .any(|a| matches!(a, Action::Persist(Change::Attempts(_))))
}

/// Checked entries an attacker gets in one day from `start`. An insider
/// types `own_code` (exact, a valid user's passcode) whenever four failures
/// stand, so the fast bound never locks them.
fn attacker_day(lock: &mut Lock, start: Instant, own_code: Option<&[u8]>) -> u64 {
    let end = start + DAY;
    let mut now = start;
    let mut checked = 0;
    // None of these 16-digit entries contains an enrolled code.
    let guess = [0u8, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0];
    while now < end {
        match (lock.lockout(now), own_code) {
            (Some(l), _) => now = l.until,
            (None, Some(own)) if lock.recent_failures(now) >= 4 => {
                lock.handle(now, Event::Touch);
                for &d in own {
                    lock.handle(now, Event::Key(Key::Digit(d)));
                }
                lock.handle(now, Event::Key(Key::Ok));
                assert_eq!(
                    lock.recent_failures(now),
                    0,
                    "their success clears the fast count"
                );
                now = now + Duration::from_secs(3);
            }
            (None, _) => {
                if attempt(lock, now, &guess) {
                    checked += 1;
                }
                // Typing 17 keys takes a few seconds.
                now = now + Duration::from_secs(5);
            }
        }
        if let Some(deadline) = lock.next_deadline().filter(|&d| d <= now) {
            lock.handle(deadline, Event::Tick);
        }
    }
    checked
}

/// The owner comes home: waits out any lockout and opens with the
/// administrator's code, clearing both counts (R-LKO-2, R-LKO-5).
fn owner_opens(lock: &mut Lock, mut now: Instant) {
    if let Some(l) = lock.lockout(now) {
        now = l.until;
    }
    lock.handle(now, Event::Touch);
    for d in [4, 8, 2, 9, 1, 5] {
        lock.handle(now, Event::Key(Key::Digit(d)));
    }
    let out = lock.handle(now, Event::Key(Key::Ok));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::DriveBolt {
            to: BoltPosition::Unlocked,
            ..
        }
    )));
    assert_eq!(
        lock.failures_since_success(),
        0,
        "R-LKO-5: the administrator's success clears the counts"
    );
}

/// Days to a 50 % chance with `entries` checked entries a day against
/// `codes` target codes.
fn days_to_half(entries: u64, codes: u64) -> f64 {
    let p_day = (entries * WINDOWS_PER_ENTRY * codes) as f64 / CODE_SPACE;
    (0.5f64).ln() / (1.0 - p_day).ln()
}

#[test]
fn s_bf_3_insider_guess_budget_is_at_least_a_year() {
    let mut lock = lock_with_three_codes();
    let mut now = Instant::ZERO;
    let mut per_day = Vec::new();
    for _ in 0..3 {
        per_day.push(attacker_day(&mut lock, now, Some(&[7, 3, 0, 5, 8, 2])));
        now = now + DAY;
        owner_opens(&mut lock, now);
    }
    let entries = *per_day.iter().max().unwrap();
    let days = days_to_half(entries, ENROLLED_CODES - 1);
    println!(
        "S-BF-3 insider: {entries} checked entries a day x {WINDOWS_PER_ENTRY} windows against \
         {} codes not theirs, their own code typed between; 50 % chance after {days:.0} days \
         ({:.2} years)",
        ENROLLED_CODES - 1,
        days / 365.0
    );
    assert!(days >= 365.0, "{days} days ({per_day:?} entries a day)");
}

#[test]
fn s_bf_3_guess_budget_is_at_least_a_year() {
    let mut lock = lock_with_three_codes();
    let mut now = Instant::ZERO;
    let mut per_day = Vec::new();
    for _ in 0..3 {
        per_day.push(attacker_day(&mut lock, now, None));
        now = now + DAY;
        owner_opens(&mut lock, now);
    }
    let entries = *per_day.iter().max().unwrap();
    assert!(
        per_day.iter().all(|&d| d == entries),
        "every day alike: {per_day:?}"
    );

    let days = days_to_half(entries, ENROLLED_CODES);
    println!(
        "S-BF-3: {entries} checked entries a day x {WINDOWS_PER_ENTRY} windows = {} \
         guesses a day against {ENROLLED_CODES} codes; 50 % chance after {days:.0} days \
         ({:.2} years)",
        entries * WINDOWS_PER_ENTRY,
        days / 365.0
    );
    assert!(days >= 365.0, "{days} days");
}
