//! Offline visitor codes at the keypad (R-APP-4, S-VC-1, S-VC-2, S-BF-1): the
//! lock consults its [`VisitorCodes`] verifier. The verifier here is a fake
//! with fixed codes, so these tests pin down what the lock does with a match;
//! the real verifier (HMAC, windows) is `lock_proto::VisitorCodeVerifier`, tested
//! there end to end against this state machine.
//!
//! The fake, the [`Door`] bench and the tests of what a code opens are here;
//! the wall clock a code's window is judged by (S-VC-3: how far it got, on
//! flash, and never set back far enough to revive a code) is tested in
//! `visitor_codes/clock.rs` (a test crate's root looks for modules beside
//! itself, hence the `#[path]`).

// Test code: a broken set-up should fail loudly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use lock_core::{
    Action, Actions, AppCommand, AppRequest, BoltPosition, Change, Config, Entry, Event, Instant,
    Key, Link, Lock, LogEntry, Method, Passcode, Privilege, Snapshot, Timestamp, VisitorCodeMatch,
    VisitorCodeUse, VisitorCodes,
};

#[path = "visitor_codes/clock.rs"]
mod clock;

/// A code the fake knows: its digits, id, window and kind.
#[derive(Debug, Clone, Copy)]
struct FakeCode {
    digits: &'static str,
    id: u64,
    from: u64,
    until: u64,
    one_time: bool,
}

#[derive(Debug, Clone, Default)]
struct Fake {
    codes: Vec<FakeCode>,
}

impl VisitorCodes for Fake {
    fn find(
        &self,
        entry: &Entry,
        wall: Timestamp,
        used: &[VisitorCodeUse],
    ) -> Option<VisitorCodeMatch> {
        self.codes.iter().find_map(|c| {
            let code = Passcode::parse(c.digits).unwrap();
            let m = VisitorCodeMatch {
                code: VisitorCodeUse {
                    id: c.id,
                    expires: Timestamp(c.until),
                },
                one_time: c.one_time,
            };
            let open = c.from <= wall.0 && wall.0 < c.until;
            let fresh = !used.iter().any(|u| u.id == c.id);
            (bool::from(entry.contains_ct(&code)) && open && fresh).then_some(m)
        })
    }

    fn next_window_end(&self, after: Timestamp) -> Option<Timestamp> {
        self.codes
            .iter()
            .map(|c| Timestamp(c.until))
            .filter(|end| *end > after)
            .min()
    }
}

const WINDOW: FakeCode = FakeCode {
    digits: "2468013579",
    id: 7,
    from: 1_000,
    until: 5_000,
    one_time: false,
};
const ONE_TIME: FakeCode = FakeCode {
    digits: "9753108642",
    id: 8,
    from: 1_000,
    until: 5_000,
    one_time: true,
};

struct Door {
    lock: Lock<Fake>,
    t: u64,
    flash: Snapshot,
}

impl Door {
    /// Administrator 001 (passcode 135790) set up at the keypad, menu left.
    fn new(codes: &[FakeCode]) -> Door {
        let fake = Fake {
            codes: codes.to_vec(),
        };
        let mut door = Door {
            lock: Lock::with_visitor_codes(Config::default(), fake),
            t: 0,
            flash: Snapshot::default(),
        };
        door.step(Event::Boot { set_held: false });
        door.keys("k1 k 135790k 135790k b");
        assert_eq!(door.lock.people().len(), 1);
        assert!(!door.lock.in_menu());
        door
    }

    fn step(&mut self, event: Event) -> Actions {
        self.t += 300;
        let out = self.lock.handle(Instant::from_millis(self.t), event);
        for a in &out {
            if let Action::Persist(change) = a {
                self.flash.apply(change);
            }
        }
        out
    }

    fn keys(&mut self, keys: &str) -> Vec<Action> {
        let mut all = Vec::new();
        for c in keys.chars() {
            let key = match c {
                '0'..='9' => Key::Digit(c.to_digit(10).unwrap().try_into().unwrap()),
                'k' => Key::Ok,
                'b' => Key::Back,
                _ => continue,
            };
            all.extend(self.step(Event::Key(key)));
        }
        all
    }

    /// Wakes the keypad, types `digits` and ✓.
    fn enter(&mut self, digits: &str) -> Vec<Action> {
        self.step(Event::Touch);
        self.keys(&format!("{digits}k"))
    }

    fn set_clock(&mut self, secs: u64) {
        let out = self.step(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::SetClock(Timestamp(secs)),
        }));
        assert!(
            out.iter()
                .any(|a| matches!(a, Action::Reply(lock_core::Reply::Done)))
        );
    }

    fn power_cycle(&mut self, fake: Fake) {
        self.t = 0;
        self.lock =
            Lock::restore_with(Config::default(), fake, &self.flash, Instant::ZERO).unwrap();
        self.step(Event::Boot { set_held: false });
    }
}

fn opens(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::DriveBolt {
                to: BoltPosition::Unlocked,
                ..
            }
        )
    })
}

fn logged_visitor_unlock(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::Log(r) if r.entry == LogEntry::Unlock { person: None, method: Method::VisitorCode }
        )
    })
}

#[test]
fn r_app_4_visitor_code_opens_within_its_window_with_extra_digits_around_it() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(1_000);
    let out = door.enter("7246801357931");
    assert!(opens(&out), "{out:?}");
    assert!(logged_visitor_unlock(&out), "R-APP-6: who and how: {out:?}");
    assert_eq!(door.lock.failures_since_success(), 0);
}

#[test]
fn s_vc_2_visitor_code_refused_without_a_trusted_clock_and_counted() {
    let mut door = Door::new(&[WINDOW]);
    let out = door.enter("2468013579");
    assert!(!opens(&out), "no clock, no visitor code: {out:?}");
    assert_eq!(
        door.lock.failures_since_success(),
        1,
        "S-BF-1: a refused visitor code is a failed guess like any other"
    );
    // The owner's passcode keeps working without a clock.
    assert!(opens(&door.enter("135790")));
}

#[test]
fn r_app_4_visitor_code_refused_outside_its_window() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(5_000);
    assert!(!opens(&door.enter("2468013579")));
    assert_eq!(door.lock.failures_since_success(), 1);
}

#[test]
fn s_vc_1_one_time_code_opens_once_also_after_a_power_cycle() {
    let mut door = Door::new(&[ONE_TIME]);
    door.set_clock(1_000);
    let out = door.enter("9753108642");
    assert!(opens(&out), "{out:?}");
    // Recorded as used on flash before the motor runs.
    let persisted = out
        .iter()
        .position(|a| matches!(a, Action::Persist(Change::VisitorCodeUsed { code, .. }) if code.id == ONE_TIME.id))
        .expect("the use is persisted");
    let driven = out
        .iter()
        .position(|a| matches!(a, Action::DriveBolt { .. }))
        .unwrap();
    assert!(persisted < driven);

    assert!(!opens(&door.enter("9753108642")), "the second time");
    assert_eq!(door.lock.failures_since_success(), 1);

    let fake = Fake {
        codes: vec![ONE_TIME],
    };
    door.power_cycle(fake);
    assert_eq!(door.flash.visitor_codes_used.len(), 1);
    door.set_clock(1_100);
    assert!(
        !opens(&door.enter("9753108642")),
        "still used after a power cycle"
    );
    assert_eq!(
        door.lock.snapshot().visitor_codes_used,
        door.flash.visitor_codes_used
    );
}

#[test]
fn s_vc_1_window_codes_open_again_within_their_window() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(1_000);
    assert!(opens(&door.enter("2468013579")));
    assert!(opens(&door.enter("2468013579")));
    assert!(door.flash.visitor_codes_used.is_empty());
}

#[test]
fn s_bf_1_wrong_visitor_codes_count_towards_the_lockout() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(1_000);
    for _ in 0..5 {
        assert!(!opens(&door.enter("1122334455")));
    }
    assert!(door.lock.lockout(Instant::from_millis(door.t)).is_some());
    let out = door.enter("2468013579");
    assert!(!opens(&out), "R-LKO-1: refused during the lockout: {out:?}");
}

#[test]
fn r_app_4_visitor_code_never_opens_the_menu() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(1_000);
    door.step(Event::Set);
    door.keys("2468013579k");
    assert!(!door.lock.in_menu());
}

#[test]
fn s_vc_1_used_one_time_codes_are_kept_until_their_window_ends() {
    // As many one-time codes as the table has slots (one of them is the
    // clock's floor once a code was forgotten; none was yet), all in
    // overlapping windows: each opens. One more finds
    // every slot taken by a code still in its window and is refused (fail
    // closed), not counted as a wrong guess.
    let slots = lock_core::VisitorCodesUsed::new().capacity();
    assert_eq!(slots, 32, "the bound the crate docs and SPEC quote");
    let digits: Vec<&'static str> = (0..=slots)
        .map(|i| &*String::leak(format!("86420{i:05}")))
        .collect();
    let codes: Vec<FakeCode> = digits
        .iter()
        .zip(100u64..)
        .map(|(d, id)| FakeCode {
            digits: d,
            id,
            ..ONE_TIME
        })
        .collect();
    let mut door = Door::new(&codes);
    door.set_clock(1_000);
    for d in &digits[..slots] {
        assert!(opens(&door.enter(d)), "{d}");
    }
    assert_eq!(door.lock.snapshot().visitor_codes_used.len(), slots);
    let out = door.enter(digits[slots]);
    assert!(!opens(&out));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Log(r) if matches!(
            r.entry,
            LogEntry::UnlockFailed {
                method: Method::VisitorCode,
                reason: lock_core::Refusal::CredentialStoreFull,
                ..
            }
        )
    )));
    assert_eq!(door.lock.failures_since_success(), 0);
    // Once their windows have ended (and the clock step-back margin), the
    // records go and a fresh code finds room.
    let later = FakeCode {
        digits: "8642097531",
        id: 999,
        from: 1_000,
        until: 99_999,
        one_time: true,
    };
    let mut all = codes.clone();
    all.push(later);
    door.lock.visitor_codes_mut().codes = all;
    door.set_clock(5_000 + 301);
    assert!(opens(&door.enter("8642097531")));
    // The fresh code, and the latest end of a forgotten window: the clock's
    // floor after a restart.
    assert_eq!(door.flash.visitor_codes_used.len(), 2);
    assert_eq!(
        lock_core::internals::clock_floor(&door.flash.visitor_codes_used),
        Some(Timestamp(5_000))
    );
}

#[test]
fn the_default_lock_accepts_no_visitor_code() {
    // `Lock` without a verifier: a 10-digit entry is a wrong guess.
    let entry = Entry::from_digits(&[2, 4, 6, 8, 0, 1, 3, 5, 7, 9]);
    assert!(
        lock_core::NoVisitorCodes
            .find(&entry, Timestamp(1), &[])
            .is_none()
    );
}

#[test]
fn r_lko_2_s_bf_3_a_visitor_code_resets_no_failure_count() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(WINDOW.from);
    for _ in 0..4 {
        let _ = door.enter("9090901");
    }
    assert!(opens(&door.enter(WINDOW.digits)));
    // The visitor's success cleared nothing: the fifth wrong entry within
    // five minutes locks (R-LKO-1), and the slow count holds all five.
    let _ = door.enter("9090901");
    assert_eq!(door.lock.failures_since_success(), 5);
    assert!(door.lock.lockout(Instant::from_millis(door.t)).is_some());
}
