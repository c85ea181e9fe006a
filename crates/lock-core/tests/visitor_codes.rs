//! Offline visitor codes at the keypad (R-APP-4, S-VC-1, S-VC-2, S-BF-1): the
//! lock consults its [`VisitorCodes`] verifier. The verifier here is a fake
//! with fixed codes, so these tests pin down what the lock does with a match;
//! the real verifier (HMAC, windows) is `lock_proto::VisitorCodeBook`, tested
//! there end to end against this state machine.

// Test code: a broken set-up should fail loudly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use lock_core::{
    Action, Actions, AppCommand, AppRequest, BoltPosition, CLOCK_MARK_INTERVAL, Change, Config,
    Entry, Event, Instant, Key, Link, Lock, LogEntry, Method, Passcode, Privilege, Snapshot,
    Timestamp, VisitorCodeMatch, VisitorCodeUse, VisitorCodes,
};

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
    // 17 one-time codes with distinct ids: the 17th finds every slot taken by
    // a code still in its window and is refused (fail closed), not counted.
    let digits: [&'static str; 17] = [
        "1357924680",
        "1357924681",
        "1357924682",
        "1357924683",
        "1357924684",
        "1357924685",
        "1357924686",
        "1357924687",
        "1357924688",
        "1357924689",
        "1357924670",
        "1357924671",
        "1357924672",
        "1357924673",
        "1357924674",
        "1357924675",
        "1357924676",
    ];
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
    for d in &digits[..16] {
        assert!(opens(&door.enter(d)), "{d}");
    }
    let out = door.enter(digits[16]);
    assert!(!opens(&out));
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

/// Found by the `core_events` fuzz target: a one-time code used, forgotten
/// once its window had ended (a later one-time code made room), then power
/// lost; the lock came back with no clock and no memory of how far it had
/// gone, an administrator's phone set the clock back into the first code's
/// window, and the code opened a second time.
#[test]
fn s_vc_1_s_vc_3_a_forgotten_one_time_code_is_not_revived_by_setting_the_clock_back_after_a_restart()
 {
    let later = FakeCode {
        digits: "8642097531",
        id: 9,
        from: 1_000,
        until: 99_999,
        one_time: true,
    };
    let fake = Fake {
        codes: vec![ONE_TIME, later],
    };
    let mut door = Door::new(&fake.codes);
    door.set_clock(1_000);
    assert!(opens(&door.enter(ONE_TIME.digits)));
    door.set_clock(5_000 + 301);
    assert!(
        opens(&door.enter(later.digits)),
        "the first code is forgotten"
    );
    door.power_cycle(fake);
    for back in [1_000, 4_999] {
        let out = door.step(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::SetClock(Timestamp(back)),
        }));
        assert!(
            out.iter().any(|a| matches!(
                a,
                Action::Reply(lock_core::Reply::Refused(
                    lock_core::Refusal::ClockBackwards
                ))
            )),
            "the clock was set back to {back}: {out:?}"
        );
        assert!(!opens(&door.enter(ONE_TIME.digits)), "revived at {back}");
    }
    // Set no earlier than the end of its window (and no further back than
    // a step from where the clock had got, S-VC-3), the code stays shut.
    door.set_clock(5_001);
    assert!(!opens(&door.enter(ONE_TIME.digits)));
}

fn clock_marks(actions: &Actions) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Persist(Change::ClockMark(t)) => Some(t.0),
            _ => None,
        })
        .collect()
}

fn refused_clock(door: &mut Door, secs: u64) -> bool {
    let out = door.step(Event::App(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Bluetooth,
        command: AppCommand::SetClock(Timestamp(secs)),
    }));
    out.iter().any(|a| {
        matches!(
            a,
            Action::Reply(lock_core::Reply::Refused(
                lock_core::Refusal::ClockBackwards
            ))
        )
    })
}

#[test]
fn s_vc_3_how_far_the_clock_got_is_on_flash_and_holds_it_after_a_restart() {
    // A window code that ended long before the power cut.
    let window = FakeCode {
        digits: "1357924680",
        id: 11,
        from: 10_000,
        until: 20_000,
        one_time: false,
    };
    let fake = Fake {
        codes: vec![window],
    };
    let mut door = Door::new(&fake.codes);
    door.set_clock(15_000);
    assert!(opens(&door.enter(window.digits)));
    door.set_clock(50_000);
    assert_eq!(door.flash.clock_mark, Some(Timestamp(50_000)));
    door.power_cycle(fake);
    // After the restart the lock has no clock; an administrator's phone
    // cannot take it back into the window, nor by more than a step.
    for back in [15_000, 49_699] {
        assert!(refused_clock(&mut door, back), "set back to {back}");
        assert!(!opens(&door.enter(window.digits)), "revived at {back}");
    }
    assert!(!refused_clock(&mut door, 49_700), "a step back is allowed");
}

#[test]
fn s_vc_3_the_running_clock_is_marked_every_quarter_hour() {
    let mut door = Door::new(&[]);
    let out = door.step(Event::App(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Bluetooth,
        command: AppCommand::SetClock(Timestamp(1_000_000)),
    }));
    assert_eq!(clock_marks(&out), [1_000_000], "written when set");
    // Idle, the lock still wakes to write the mark: 15 minutes on.
    let due = door
        .lock
        .next_deadline()
        .expect("a deadline while the clock runs");
    let set_at = door.t;
    assert_eq!(
        due.millis() - set_at,
        CLOCK_MARK_INTERVAL.millis(),
        "due a quarter hour after the setting"
    );
    let out = door.lock.handle(due, Event::Tick);
    assert_eq!(clock_marks(&out), [1_000_000 + CLOCK_MARK_INTERVAL.secs()]);
    // Set back a little from the mark: allowed, and nothing is written
    // (the mark only rises).
    let mark = 1_000_000 + CLOCK_MARK_INTERVAL.secs();
    let out = door.lock.handle(
        due,
        Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::SetClock(Timestamp(mark - 60)),
        }),
    );
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::Reply(lock_core::Reply::Done)))
    );
    assert!(clock_marks(&out).is_empty());
    // The next mark is a quarter hour past the last one, on the furthest
    // the clock has reached (a step back does not postpone it).
    let next = door.lock.next_deadline().expect("the next mark");
    assert_eq!(next.millis() - due.millis(), CLOCK_MARK_INTERVAL.millis());
    assert!(
        clock_marks(
            &door
                .lock
                .handle(Instant::from_millis(next.millis() - 1), Event::Tick)
        )
        .is_empty()
    );
    assert_eq!(
        clock_marks(&door.lock.handle(next, Event::Tick)),
        [mark + CLOCK_MARK_INTERVAL.secs()]
    );
}

#[test]
fn s_vc_3_a_lock_without_storage_writes_no_clock_mark() {
    let mut lock: Lock = Lock::fail_secure(Config::default());
    let out = lock.handle(
        Instant::ZERO,
        Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::SetClock(Timestamp(1_000_000)),
        }),
    );
    assert!(clock_marks(&out).is_empty());
    assert_eq!(lock.next_deadline(), None);
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
fn s_vc_3_a_factory_reset_while_the_clock_runs_writes_its_mark_again() {
    // Found by the core_events fuzz target: the reset erased the mark and
    // left its deadline in the past.
    let mut door = Door::new(&[]);
    door.set_clock(1_000_000);
    door.step(Event::Boot { set_held: true });
    let out = door.step(Event::Key(Key::Ok));
    let reset = out
        .iter()
        .position(|a| matches!(a, Action::Persist(Change::FactoryReset)))
        .expect("the reset");
    let mark = out
        .iter()
        .position(|a| matches!(a, Action::Persist(Change::ClockMark(_))))
        .expect("the mark again");
    assert!(reset < mark, "after the erase, not before");
    assert!(door.flash.clock_mark.is_some());
    let now = Instant::from_millis(door.t);
    assert!(door.lock.next_deadline().is_some_and(|d| d > now));
}

impl Door {
    /// Simulated time passes, with the lock's deadlines on the way.
    fn wait_secs(&mut self, secs: u64) {
        let target = self.t + secs * 1000;
        while let Some(d) = self.lock.next_deadline() {
            if d.millis() > target {
                break;
            }
            self.t = self.t.max(d.millis());
            let out = self.lock.handle(Instant::from_millis(self.t), Event::Tick);
            for a in &out {
                if let Action::Persist(change) = a {
                    self.flash.apply(change);
                }
            }
        }
        self.t = target;
    }
}

#[test]
fn s_vc_3_a_clock_step_back_never_revives_an_expired_visitor_code() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(WINDOW.until - 100);
    assert!(opens(&door.enter(WINDOW.digits)));
    door.wait_secs(200);
    assert!(!opens(&door.enter(WINDOW.digits)), "its window ended");
    // Four minutes back, within the step the clock may take: still ended.
    door.set_clock(WINDOW.until - 140);
    assert!(!opens(&door.enter(WINDOW.digits)), "revived by a step back");
}

#[test]
fn s_vc_3_a_power_cut_and_a_step_back_never_revive_an_expired_visitor_code() {
    let mut door = Door::new(&[WINDOW]);
    door.set_clock(WINDOW.until - 600);
    // The window ends while nobody is at the door; power is cut a minute
    // later, before anyone tried the code.
    door.wait_secs(660);
    assert!(
        door.flash.clock_mark.is_some_and(|m| m.0 >= WINDOW.until),
        "the end is on flash: {:?}",
        door.flash.clock_mark
    );
    door.power_cycle(Fake {
        codes: vec![WINDOW],
    });
    door.set_clock(WINDOW.until - 60);
    assert!(
        !opens(&door.enter(WINDOW.digits)),
        "revived after a power cut"
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
