//! S-VC-3, the wall clock a visitor code's window is judged by: how far it
//! got is marked on flash every hour (R-NRG-1's hourly wake) and holds after a restart, and
//! setting it back (after a restart or a power cut) never revives a used or
//! expired code (with S-VC-1 for one-time codes).

use lock_core::{
    Action, Actions, AppCommand, AppRequest, CLOCK_MARK_INTERVAL, Change, Config, Event, Instant,
    Key, Link, Lock, Privilege, Timer, Timestamp,
};

use super::*;

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

/// A window code whose window (10,000–20,000) ends long before the clock
/// these tests take it to (50,000).
const ENDED_WINDOW: FakeCode = FakeCode {
    digits: "1357924680",
    id: 11,
    from: 10_000,
    until: 20_000,
    one_time: false,
};

#[test]
fn s_vc_3_how_far_the_clock_got_is_on_flash_and_holds_it_after_a_restart() {
    // A window code that ended long before the power cut.
    let window = ENDED_WINDOW;
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
fn s_vc_3_r_nrg_1_the_running_clock_is_marked_in_the_hourly_wake_at_whole_hours() {
    let mut door = Door::new(&[]);
    let out = door.step(Event::App(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Bluetooth,
        command: AppCommand::SetClock(Timestamp(1_000_000)),
    }));
    assert_eq!(clock_marks(&out), [1_000_000], "written when set");
    // Idle, the lock wakes once an hour, at a whole hour of its clock, at
    // least half an hour after the boot's reading: 1,000,800 is 13 minutes
    // on, too soon; 1,004,400 it is.
    let (due, timer) = door.lock.next_timer().expect("the hourly wake");
    assert_eq!(timer, Timer::Hourly);
    assert_eq!(door.lock.wall_clock(due), Some(Timestamp(1_004_400)));
    let out = door.lock.handle(due, Event::Tick);
    assert_eq!(clock_marks(&out), [1_004_400]);
    assert!(out.iter().any(|a| matches!(a, Action::MeasureBattery)));
    // The next a whole hour later, and nothing between.
    let (next, timer) = door.lock.next_timer().expect("the next hourly wake");
    assert_eq!(
        (next.millis() - due.millis(), timer),
        (CLOCK_MARK_INTERVAL.millis(), Timer::Hourly)
    );
    // Set back a little from the mark: allowed, nothing is written (the
    // mark only rises), and the hourly wake stays where it was: it follows
    // the furthest the clock reached, which a step back does not move.
    let out = door.lock.handle(
        due,
        Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::SetClock(Timestamp(1_004_400 - 60)),
        }),
    );
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::Reply(lock_core::Reply::Done)))
    );
    assert!(clock_marks(&out).is_empty());
    assert_eq!(door.lock.next_deadline(), Some(next));
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
        [1_004_400 + CLOCK_MARK_INTERVAL.secs()]
    );
}

#[test]
fn r_nrg_1_without_a_clock_the_hourly_wake_reads_the_battery_an_hour_after_the_last() {
    let mut door = Door::new(&[]);
    let boot = Instant::from_millis(300);
    let (due, timer) = door.lock.next_timer().expect("the hourly wake");
    assert_eq!((due, timer), (boot + CLOCK_MARK_INTERVAL, Timer::Hourly));
    let out = door.lock.handle(due, Event::Tick);
    assert!(out.iter().any(|a| matches!(a, Action::MeasureBattery)));
    assert!(clock_marks(&out).is_empty(), "no clock, no mark");
    assert_eq!(door.lock.next_deadline(), Some(due + CLOCK_MARK_INTERVAL));
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

/// Found by the `core_events` fuzz target: a restart left the lock with no
/// clock, only its mark on flash; a factory reset then erased the mark and
/// wrote nothing back, and the clock could be set back into a window that
/// had already ended.
#[test]
fn s_vc_3_a_factory_reset_after_a_restart_keeps_how_far_the_clock_got() {
    let window = ENDED_WINDOW;
    let mut door = Door::new(&[window]);
    door.set_clock(50_000);
    door.power_cycle(Fake {
        codes: vec![window],
    });
    assert_eq!(door.lock.wall_clock(Instant::from_millis(door.t)), None);
    door.step(Event::Boot { set_held: true });
    let out = door.step(Event::Key(Key::Ok));
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::Persist(Change::FactoryReset))),
        "the reset"
    );
    assert_eq!(door.flash.clock_mark, Some(Timestamp(50_000)), "kept");
    assert!(refused_clock(&mut door, 15_000), "set back into the window");
    assert!(!opens(&door.enter(window.digits)), "revived after a reset");
    assert!(!refused_clock(&mut door, 49_700), "a step back is allowed");
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
