//! What the two lock-store targets share: the flash (lock-store's strict mock
//! NOR flash, 4-byte words and 1 KiB sectors so pages fill and rotate within
//! a short input), the layout, a canonical form of a snapshot, and records
//! built from fuzzer bytes.

#![allow(dead_code)]

use lock_core::{
    AttemptRecord, BiometricKind, Change, DoorDirection, Instant, LockoutCause, LogEntry,
    LogRecord, Method, Passcode, Person, PersonNumber, RadioListening, Refusal, Role, Settings,
    Snapshot, TemplateId, Timestamp, Validity, VisitorCodeUse, Volume,
};
use lock_store::mock_flash::MockFlash;
use lock_store::{Store, StoreConfig};

pub type Flash = MockFlash<4, 1024>;
pub type FlashStore = Store<Flash>;

pub const SECTOR: u32 = 1024;

/// The smallest state range that holds a full lock plus four sectors, then
/// four sectors of log: 24 KiB in all (lock-store's own test layout).
pub fn layout() -> (StoreConfig, usize) {
    let state_end = StoreConfig::min_state_bytes::<Flash>().next_multiple_of(SECTOR) + 4 * SECTOR;
    let log_end = state_end + 4 * SECTOR;
    (
        StoreConfig {
            state: 0..state_end,
            log: state_end..log_end,
        },
        (log_end / SECTOR) as usize,
    )
}

pub fn erased() -> Flash {
    Flash::new(layout().1)
}

pub fn store(flash: Flash) -> FlashStore {
    Store::new(flash, layout().0).expect("the layout fits the flash")
}

pub fn block_on<T>(f: impl core::future::Future<Output = T>) -> T {
    embassy_futures::block_on(f)
}

/// A snapshot as bytes, people in number order (`Snapshot` has no
/// `PartialEq`: passcodes are compared in constant time only).
pub fn canon(snapshot: &Snapshot) -> Vec<u8> {
    let mut s = snapshot.clone();
    s.people.sort_unstable_by_key(|p| p.number);
    postcard::to_allocvec(&s).expect("a snapshot encodes")
}

/// Passcodes the records use.
const CODES: [&[u8]; 6] = [
    &[1, 3, 5, 7, 9, 2],
    &[2, 4, 6, 8, 1, 3],
    &[9, 7, 5, 3, 1, 8],
    &[8, 9, 0, 1, 2, 3, 4],
    &[5, 2, 9, 1, 7, 4, 6, 8],
    &[6, 4, 9, 2, 0, 5, 3, 1, 8, 7],
];

pub fn number(n: u8) -> PersonNumber {
    PersonNumber::new(n.clamp(1, 100)).unwrap_or(PersonNumber::FIRST)
}

pub fn kind(b: u8) -> BiometricKind {
    BiometricKind::ALL[usize::from(b % 3)]
}

/// A person from a few bytes: number `1..=n_max`, role, passcode, duress
/// code, validity and up to a full set of templates from a small pool (so
/// templates are handed out again after deletions).
pub fn person(b: [u8; 6], n_max: u8) -> Person {
    let mut p = Person::new(
        number(b[0] % n_max.max(1) + 1),
        if b[1] & 1 == 0 {
            Role::Administrator
        } else {
            Role::User
        },
    );
    if b[1] & 2 != 0 {
        p.passcode = Passcode::new(CODES[usize::from(b[2]) % CODES.len()]).ok();
    }
    if b[1] & 4 != 0 {
        p.duress = Passcode::new(CODES[usize::from(b[2] / 8) % CODES.len()]).ok();
    }
    if b[1] & 8 != 0 {
        p.validity = Validity {
            from: Some(Timestamp(1_800_000_000)),
            until: Some(Timestamp(1_800_000_000 + u64::from(b[5]) * 3600)),
        };
    }
    for i in 0..(b[3] % 11) {
        let k = kind(b[4].wrapping_add(i));
        let t = TemplateId(u16::from(b[4].wrapping_mul(3).wrapping_add(i) % 24));
        let _ = p.add_template(k, t);
    }
    p
}

pub fn settings(b: u8, secs: u16) -> Settings {
    Settings {
        door_direction: match b % 3 {
            0 => None,
            1 => Some(DoorDirection::Right),
            _ => Some(DoorDirection::Left),
        },
        volume: [Volume::Low, Volume::Medium, Volume::High][usize::from(b / 3 % 3)],
        auto_lock: b & 0x10 != 0,
        auto_lock_secs: secs,
        remote_unlock: b & 0x20 != 0,
        lockout_protection: b & 0x40 != 0,
        low_battery_percent: b % 60,
        radio: [
            None,
            Some(RadioListening::Always),
            Some(RadioListening::WhileAwake),
        ][usize::from(secs % 3)],
    }
}

pub fn attempts(recent: u8, since: u16, lockout: u32) -> Change {
    Change::Attempts(AttemptRecord {
        recent: recent % 5,
        since_success: since,
        lockout: (lockout != 0).then(|| {
            (
                u64::from(lockout),
                if lockout & 1 == 0 {
                    LockoutCause::Burst
                } else {
                    LockoutCause::SlowGuessing
                },
            )
        }),
    })
}

pub fn visitor_code_used(id: u64, expires: u32, at: u32) -> Change {
    Change::VisitorCodeUsed {
        code: VisitorCodeUse {
            id,
            expires: Timestamp(1_800_000_000 + u64::from(expires)),
        },
        at: Timestamp(1_800_000_000 + u64::from(at)),
    }
}

pub fn clock_mark(at: u32) -> Change {
    Change::ClockMark(Timestamp(1_800_000_000 + u64::from(at)))
}

pub fn log_record(b: u8, person: u8, at: u32) -> LogRecord {
    let who = number(person % 8 + 1);
    let entry = match b % 6 {
        0 => LogEntry::Unlock {
            person: Some(who),
            method: Method::Passcode,
        },
        1 => LogEntry::UnlockFailed {
            person: None,
            method: Method::Finger,
            reason: Refusal::NoMatch,
        },
        2 => LogEntry::UserAdded {
            person: who,
            role: Role::User,
            by: lock_core::Actor::Pairing(u16::from(person)),
        },
        3 => LogEntry::UserDeleted {
            person: who,
            by: lock_core::Actor::Person(number(1)),
        },
        4 => LogEntry::Lockout {
            cause: LockoutCause::Burst,
            secs: 180,
        },
        _ => LogEntry::LockoutLifted,
    };
    LogRecord {
        at: Instant::from_millis(u64::from(at)),
        wall: (b & 0x80 != 0).then_some(Timestamp(1_800_000_000 + u64::from(at))),
        entry,
    }
}
