//! Offline visitor codes (R-APP-4, S-VC-1, S-VC-2): the published test
//! vectors, and codes made by the phone side typed at the keypad of the real
//! state machine holding a `VisitorCodeBook`.

// Test code: a broken set-up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use lock_core::{
    Action, AppCommand, AppRequest, BoltPosition, Config, Entry, Event, Instant, Key, Link, Lock,
    LogEntry, Method, Privilege, Reply, Snapshot, Timestamp, VisitorCodes,
};
use lock_proto::visitor::{
    PROFILES, VisitorCodeBook, VisitorCodeError, VisitorCodeSpec, code_id, truncate,
};

/// The key of the crate docs' test vectors.
fn vector_book() -> VisitorCodeBook {
    let mut secret = [0u8; 32];
    for (i, b) in secret.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap();
    }
    VisitorCodeBook::new([1, 2, 3, 4, 5, 6, 7, 8], secret)
}

fn spec(profile: u8, start_hour: u32, sequence: u8) -> VisitorCodeSpec {
    VisitorCodeSpec {
        profile,
        start_hour,
        sequence,
    }
}

#[test]
fn visitor_code_test_vectors_match_the_crate_docs() {
    // The same table is in the crate docs; an independent HMAC-SHA256
    // (Python's `hmac`) produced the expected codes.
    let book = vector_book();
    for (s, expected) in [
        (spec(0, 493_000, 0), "0098440020"),
        (spec(4, 493_010, 1), "4195146105"),
        (spec(7, 493_020, 2), "7047049773"),
        (spec(8, 493_005, 3), "8049785446"),
    ] {
        assert_eq!(book.code(&s).unwrap().to_string(), expected, "{s:?}");
    }
}

#[test]
fn truncation_is_rfc_4226_dynamic_truncation() {
    // RFC 4226 §5.4's example: the 20-byte HMAC-SHA-1 tag, offset 0xa.
    let mut tag = [0u8; 32];
    let rfc = [
        0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19, 0xda,
        0x8e, 0x94, 0x5b, 0x55, 0x5a,
    ];
    tag[..20].copy_from_slice(&rfc);
    // Our tag is 32 bytes: the offset comes from its last byte.
    tag[31] = 0x5a;
    assert_eq!(truncate(&tag), 0x50ef_7f19);
    assert_eq!(truncate(&tag) % 1_000_000, 872_921);
}

#[test]
fn codes_need_an_aligned_start_a_known_profile_and_a_small_sequence() {
    let book = vector_book();
    assert_eq!(
        book.code(&spec(7, 493_001, 0)).err(),
        Some(VisitorCodeError::Unaligned)
    );
    assert_eq!(
        book.code(&spec(10, 493_000, 0)).err(),
        Some(VisitorCodeError::UnknownProfile)
    );
    assert_eq!(
        book.code(&spec(1, 493_000, 4)).err(),
        Some(VisitorCodeError::Sequence)
    );
    // Distinct sequences give distinct codes.
    let a = book.code(&spec(1, 493_000, 0)).unwrap();
    let b = book.code(&spec(1, 493_000, 1)).unwrap();
    assert_ne!(a, b);
    assert_eq!(PROFILES.len(), 10);
}

// ----- at the keypad ------------------------------------------------------

const HOUR: u64 = 3600;
const START: u32 = 493_020; // a multiple of every profile's step

struct Door {
    lock: Lock<VisitorCodeBook>,
    book: VisitorCodeBook,
    t: u64,
    flash: Snapshot,
}

impl Door {
    fn new() -> Door {
        let book = VisitorCodeBook::new(*b"lock0001", [0x42; 32]);
        let mut door = Door {
            lock: Lock::with_visitor_codes(Config::default(), book.clone()),
            book,
            t: 0,
            flash: Snapshot::default(),
        };
        door.step(Event::Boot { set_held: false });
        door.keys("k1 k 135790k 135790k b");
        assert_eq!(door.lock.people().len(), 1);
        door
    }

    fn step(&mut self, event: Event) -> Vec<Action> {
        self.t += 300;
        let out = self.lock.handle(Instant::from_millis(self.t), event);
        for a in &out {
            if let Action::Persist(change) = a {
                self.flash.apply(change);
            }
        }
        out.into_iter().collect()
    }

    fn keys(&mut self, keys: &str) -> Vec<Action> {
        let mut all = Vec::new();
        for c in keys.chars() {
            let key = match c {
                '0'..='9' => Key::Digit(u8::try_from(c.to_digit(10).unwrap()).unwrap()),
                'k' => Key::Ok,
                'b' => Key::Back,
                _ => continue,
            };
            all.extend(self.step(Event::Key(key)));
        }
        all
    }

    /// Types `code` with a digit before and after it (R-PIN-4), then ✓.
    fn opens_with(&mut self, code: &str) -> bool {
        self.step(Event::Touch);
        let out = self.keys(&format!("3{code}8k"));
        let opened = out.iter().any(|a| {
            matches!(
                a,
                Action::DriveBolt {
                    to: BoltPosition::Unlocked,
                    ..
                }
            )
        });
        if opened {
            assert!(out.iter().any(|a| matches!(
                a,
                Action::Log(r) if r.entry == LogEntry::Unlock { person: None, method: Method::VisitorCode }
            )));
        }
        opened
    }

    fn set_clock(&mut self, secs: u64) {
        let out = self.step(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::SetClock(Timestamp(secs)),
        }));
        assert!(out.iter().any(|a| matches!(a, Action::Reply(Reply::Done))));
    }

    fn code(&self, profile: u8, start_hour: u32, sequence: u8) -> String {
        self.book
            .code(&spec(profile, start_hour, sequence))
            .unwrap()
            .to_string()
    }

    fn power_cycle(&mut self) {
        self.t = 0;
        self.lock = Lock::restore_with(
            Config::default(),
            self.book.clone(),
            &self.flash,
            Instant::ZERO,
        )
        .unwrap();
        self.step(Event::Boot { set_held: false });
    }
}

fn at_hour(h: u32) -> u64 {
    u64::from(h) * HOUR
}

#[test]
fn r_app_4_a_code_made_offline_by_the_phone_opens_within_its_window() {
    let mut door = Door::new();
    let code = door.code(4, START, 2); // 24 hours from START
    door.set_clock(at_hour(START) + 5 * HOUR);
    assert!(door.opens_with(&code));
    assert!(door.opens_with(&code), "a window code opens again");
    assert_eq!(door.lock.failures_since_success(), 0);
}

#[test]
fn s_vc_2_a_code_is_refused_outside_its_window_and_when_the_clock_is_untrusted() {
    let mut door = Door::new();
    let code = door.code(2, START, 0); // 4 hours from START

    // No trusted clock (as after a power cut without an RTC): fail closed.
    assert!(!door.opens_with(&code));
    assert_eq!(door.lock.failures_since_success(), 1, "S-BF-1");

    // Typing takes the keypad a few seconds of the lock's clock: the margins
    // below leave room for them.
    door.set_clock(at_hour(START) - 320); // before the 5-minute early tolerance
    assert!(!door.opens_with(&code));
    door.set_clock(at_hour(START) - 290); // within it
    assert!(door.opens_with(&code));
    door.set_clock(at_hour(START + 4) - 10); // the window's last seconds
    assert!(door.opens_with(&code));
    door.set_clock(at_hour(START + 4)); // ended: no tolerance at the end
    assert!(!door.opens_with(&code));

    // Power lost: the clock is untrusted again, and so the code fails closed
    // even though the window would be open.
    let code = door.code(4, START + 4, 0);
    door.set_clock(at_hour(START + 5));
    assert!(door.opens_with(&code));
    door.power_cycle();
    assert!(!door.opens_with(&code));
}

#[test]
fn s_vc_1_a_one_time_code_is_refused_the_second_time_also_after_a_power_cycle() {
    let mut door = Door::new();
    let code = door.code(0, START, 1);
    door.set_clock(at_hour(START) + 2 * HOUR);
    assert!(door.opens_with(&code));
    assert!(!door.opens_with(&code), "the second time");
    door.power_cycle();
    door.set_clock(at_hour(START) + 3 * HOUR);
    assert!(!door.opens_with(&code), "after a power cycle");
    // Another sequence number of the same window is another code.
    let other = door.code(0, START, 2);
    assert!(door.opens_with(&other));
}

#[test]
fn r_app_4_a_weekly_code_opens_in_its_hours_of_every_week_and_not_between() {
    let mut door = Door::new();
    let code = door.code(8, START, 3); // 4 hours a week, 8 weeks
    door.set_clock(at_hour(START) + HOUR);
    assert!(door.opens_with(&code));
    door.set_clock(at_hour(START) + 5 * HOUR);
    assert!(!door.opens_with(&code), "between the weekly windows");
    door.set_clock(at_hour(START + 3 * 168) + 3 * HOUR);
    assert!(door.opens_with(&code), "the fourth week");
    door.set_clock(at_hour(START + 8 * 168) + HOUR);
    assert!(!door.opens_with(&code), "after the eighth week");
}

#[test]
fn s_vc_1_a_code_of_another_lock_or_a_guess_is_refused() {
    let mut door = Door::new();
    let neighbour = VisitorCodeBook::new(*b"lock0002", [0x42; 32]);
    let theirs = neighbour.code(&spec(4, START, 0)).unwrap().to_string();
    door.set_clock(at_hour(START) + HOUR);
    assert!(!door.opens_with(&theirs));
    assert!(!door.opens_with("4000000000"));
    assert_eq!(door.lock.failures_since_success(), 2);
}

#[test]
fn the_book_finds_a_code_anywhere_in_a_16_digit_entry_and_names_it_by_its_parameters() {
    let book = VisitorCodeBook::new(*b"lock0001", [7; 32]);
    let code = book.code(&spec(3, START, 1)).unwrap();
    let wall = Timestamp(at_hour(START) + HOUR);
    for offset in 0..=6 {
        let mut digits = vec![9u8; 16];
        digits[offset..offset + 10].copy_from_slice(code.digits());
        let m = book
            .find(&Entry::from_digits(&digits), wall, &[])
            .unwrap_or_else(|| panic!("offset {offset}"));
        assert_eq!(m.code.id, code_id(3, START, 1));
        assert_eq!(m.code.expires, Timestamp(at_hour(START + 12)));
        assert!(!m.one_time);
    }
    // Cut short by the 16-digit cap, it is not found.
    let mut digits = vec![9u8; 7];
    digits.extend_from_slice(code.digits());
    assert!(book.find(&Entry::from_digits(&digits), wall, &[]).is_none());
}
