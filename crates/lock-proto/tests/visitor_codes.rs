//! Offline visitor codes (R-APP-4, S-VC-1, S-VC-2, S-VC-5): the published
//! test vectors, the digits' uniformity, and codes made by the phone side
//! typed at the keypad of the real state machine holding a
//! `VisitorCodeVerifier`.

// Test code: a broken set-up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use lock_core::{
    Action, AppCommand, AppRequest, BoltPosition, Config, Entry, Event, Instant, Key, Link, Lock,
    LogEntry, Method, Privilege, Reply, Snapshot, Timestamp, VisitorCodes,
};
use lock_proto::visitor::{
    PROFILES, SEQUENCES, VisitorCodeBook, VisitorCodeError, VisitorCodeSpec, VisitorCodeVerifier,
    code_id, issuer_secret, reduce,
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
        (spec(0, 493_000, 0), "0472116129"),
        (spec(4, 493_010, 1), "4474049148"),
        (spec(7, 493_020, 2), "7550700465"),
        (spec(8, 493_005, 3), "8182128763"),
    ] {
        assert_eq!(book.code(&s).unwrap().to_string(), expected, "{s:?}");
    }
    // Step 4 on the first vector's tag.
    let tag: [u8; 32] = hex32("79a21f50be9b8ba19278f9e23bca6d1dd3722f40da6da24b4d58786a0b38844d");
    assert_eq!(reduce(&tag), 472_116_129);
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (b, i) in out.iter_mut().zip((0..s.len()).step_by(2)) {
        *b = u8::from_str_radix(&s[i..i + 2], 16).unwrap();
    }
    out
}

#[test]
fn s_vc_5_issuer_secret_test_vectors_match_the_crate_docs() {
    // Visitor secret 00..1f, pairing key 20..3f; Python's `hmac` HKDF
    // produced the expected secrets and code.
    let visitor: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
    let key: [u8; 32] = core::array::from_fn(|i| u8::try_from(i + 32).unwrap());
    let one = issuer_secret(&visitor, 1, &key);
    assert_eq!(
        one,
        hex32("2eaf980e2635129f816af59a7eeeac9e7ff0d3113dd20580f782da7915a4c154")
    );
    assert_eq!(
        issuer_secret(&visitor, 2, &key),
        hex32("ee52043281578e19e500f9cc2290c74e3238ae05f688d4614958e7843c556928")
    );
    let book = VisitorCodeBook::new([1, 2, 3, 4, 5, 6, 7, 8], one);
    assert_eq!(
        book.code(&spec(4, 493_010, 1)).unwrap().to_string(),
        "4760542293"
    );
}

#[test]
fn s_vc_5_the_reduction_is_uniform_within_an_exact_bound() {
    // `reduce` is the tag's first 8 bytes mod 10^9: 2^64 = q · 10^9 + r,
    // so r residues have q + 1 preimages and the others q. The most likely
    // code is more likely than the least by a factor (q + 1) / q, and than
    // a uniform one by (q + 1) · 10^9 / 2^64: both within 10^9 / 2^64.
    let m: u128 = 1_000_000_000;
    let all: u128 = 1 << 64;
    let (q, r) = (all / m, all % m);
    assert!(r > 0 && r < m);
    // (q + 1) / q − 1 = 1 / q ≤ 10^9 / 2^64 · (1 + 10^-9): 1/q vs m/all,
    // cross-multiplied: all ≤ q · m · (1 + 1/q) = q·m + m.
    assert!(all <= q * m + m);
    // Against uniform: (q + 1) · m / all − 1 = (q·m + m − all) / all, whose
    // numerator is m − r < m.
    assert!((q + 1) * m - all < m);
    let bound = m as f64 / all as f64;
    assert!(bound < 5.5e-11, "{bound}");
    // The reduction is exactly that map: the first 8 bytes, big-endian.
    for seed in 0u8..=255 {
        let tag: [u8; 32] = core::array::from_fn(|i| {
            seed.wrapping_mul(31)
                .wrapping_add(u8::try_from(i).unwrap().wrapping_mul(97))
        });
        let mut first = [0u8; 8];
        first.copy_from_slice(&tag[..8]);
        let expected = u64::from_be_bytes(first) % 1_000_000_000;
        assert_eq!(u64::from(reduce(&tag)), expected);
    }
    // What the old 31-bit truncation did, for the record: 2^31 mod 10^9 =
    // 147,483,648 low residues had 3 preimages of 2^31, the rest 2.
    let low = (1u128 << 31) % m;
    let old_share = 3.0 * low as f64 / (1u128 << 31) as f64;
    assert!((old_share - 0.206).abs() < 0.001, "{old_share}");
}

#[test]
fn s_vc_5_code_digits_are_uniform_over_many_codes() {
    // 120,000 codes of one phone (every profile, start and sequence over
    // weeks of starts): each of the nine MAC digits' positions is tested
    // for uniformity with a chi-square over its ten values, and the share
    // of codes below 147,483,648 (the old truncation's favoured range,
    // 20.6 % of its codes) must be near its uniform 14.7 %. Deterministic:
    // the same codes every run.
    let book = VisitorCodeBook::new(*b"lock0001", [0x5a; 32]);
    let mut counts = [[0u64; 10]; 9];
    let mut low = 0u64;
    let mut n = 0u64;
    'codes: for start in 493_020u32.. {
        for p in PROFILES {
            if start % u32::from(p.step) != 0 {
                continue;
            }
            for sequence in 0..SEQUENCES {
                let code = book.code(&spec(p.digit, start, sequence)).unwrap();
                let mac = &code.digits()[1..];
                let mut value = 0u64;
                for (pos, &d) in mac.iter().enumerate() {
                    counts[pos][usize::from(d)] += 1;
                    value = value * 10 + u64::from(d);
                }
                low += u64::from(value < 147_483_648);
                n += 1;
                if n == 120_000 {
                    break 'codes;
                }
            }
        }
    }
    let expected = n as f64 / 10.0;
    for (pos, c) in counts.iter().enumerate() {
        let chi2: f64 = c
            .iter()
            .map(|&k| (k as f64 - expected).powi(2) / expected)
            .sum();
        // 9 degrees of freedom: above 33.7 once in 10,000 for uniform
        // digits; the old truncation's bias gives the first digit a
        // chi-square in the thousands at this count.
        assert!(chi2 < 33.7, "MAC digit {pos}: chi-square {chi2}, {c:?}");
    }
    let share = low as f64 / n as f64;
    assert!((share - 0.1475).abs() < 0.005, "{share}");
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
    lock: Lock<VisitorCodeVerifier>,
    verifier: VisitorCodeVerifier,
    book: VisitorCodeBook,
    t: u64,
    flash: Snapshot,
}

/// The lock's verifier with pairing 1 making codes with `secret`.
fn verifier_of(secret: [u8; 32]) -> VisitorCodeVerifier {
    let mut v = VisitorCodeVerifier::new(*b"lock0001");
    v.add_issuer(1, secret).unwrap();
    v
}

impl Door {
    fn new() -> Door {
        Door::with(verifier_of([0x42; 32]))
    }

    /// A door whose lock checks codes with `verifier`; the phone's book
    /// makes pairing 1's codes.
    fn with(verifier: VisitorCodeVerifier) -> Door {
        let book = VisitorCodeBook::new(*b"lock0001", [0x42; 32]);
        let mut door = Door {
            lock: Lock::with_visitor_codes(Config::default(), verifier.clone()),
            verifier,
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
            self.verifier.clone(),
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
    // Another phone's secret, for this lock: not an issuer here.
    let stranger = VisitorCodeBook::new(*b"lock0001", [0x43; 32]);
    let strangers = stranger.code(&spec(4, START, 0)).unwrap().to_string();
    let theirs = neighbour.code(&spec(4, START, 0)).unwrap().to_string();
    door.set_clock(at_hour(START) + HOUR);
    assert!(!door.opens_with(&theirs));
    assert!(!door.opens_with(&strangers));
    assert!(!door.opens_with("4000000000"));
    assert_eq!(door.lock.failures_since_success(), 3);
}

#[test]
fn the_verifier_finds_a_code_anywhere_in_a_16_digit_entry_and_names_it_by_its_parameters() {
    let book = VisitorCodeBook::new(*b"lock0001", [7; 32]);
    let verifier = verifier_of([7; 32]);
    let code = book.code(&spec(3, START, 1)).unwrap();
    let wall = Timestamp(at_hour(START) + HOUR);
    for offset in 0..=6 {
        let mut digits = vec![9u8; 16];
        digits[offset..offset + 10].copy_from_slice(code.digits());
        let m = verifier
            .find(&Entry::from_digits(&digits), wall, &[])
            .unwrap_or_else(|| panic!("offset {offset}"));
        assert_eq!(m.code.id, code_id(1, 3, START, 1));
        assert_eq!(m.code.expires, Timestamp(at_hour(START + 12)));
        assert!(!m.one_time);
    }
    // Cut short by the 16-digit cap, it is not found.
    let mut digits = vec![9u8; 7];
    digits.extend_from_slice(code.digits());
    assert!(
        verifier
            .find(&Entry::from_digits(&digits), wall, &[])
            .is_none()
    );
}

#[test]
fn s_vc_5_a_lock_with_no_issuer_accepts_no_code_and_has_no_window_end() {
    // Nobody asked for a secret: the lock's verifier has no issuer. The
    // code a phone would make with pairing 1's secret does not open, and
    // the verifier names no window end, so the lock writes no clock mark
    // on the hour for visitor codes.
    let mut door = Door::with(VisitorCodeVerifier::new(*b"lock0001"));
    let code = door.code(4, START, 0);
    door.set_clock(at_hour(START) + HOUR);
    assert!(!door.opens_with(&code));
    assert_eq!(door.lock.failures_since_success(), 1, "S-BF-1");
    let none = VisitorCodeVerifier::new(*b"lock0001");
    assert_eq!(none.next_window_end(Timestamp(at_hour(START))), None);
    assert_eq!(
        verifier_of([0x42; 32]).next_window_end(Timestamp(at_hour(START) + 1)),
        Some(Timestamp(at_hour(START + 1)))
    );
    // The same code opens once pairing 1 makes codes.
    let mut door = Door::new();
    door.set_clock(at_hour(START) + HOUR);
    assert!(door.opens_with(&code));
}

#[test]
fn s_vc_5_one_time_codes_are_spent_per_issuer() {
    // Two phones' one-time codes with the same profile, start and sequence
    // are two codes: spending one leaves the other.
    let mut v = verifier_of([0x42; 32]);
    v.add_issuer(2, [0x43; 32]).unwrap();
    let mut door = Door::with(v);
    let mine = door.code(0, START, 0);
    let theirs = VisitorCodeBook::new(*b"lock0001", [0x43; 32])
        .code(&spec(0, START, 0))
        .unwrap()
        .to_string();
    door.set_clock(at_hour(START) + HOUR);
    assert!(door.opens_with(&mine));
    assert!(!door.opens_with(&mine), "spent");
    assert!(door.opens_with(&theirs), "the other phone's");
    assert!(!door.opens_with(&theirs), "spent too");
}
