//! R-NRG-1 on the simulated board: idle means asleep. With the keypad
//! dark, no motor, no module working and no app link, the only thing that
//! wakes the lock's code is its hourly wake (the battery reading and the
//! clock's mark, batched); every clock wake-up is counted with its cause.

use lock_core::{AppCommand, AppRequest, Link, Privilege, Timer, Timestamp};
use lock_runtime::{WakeCause, Wakes};

use super::harness::{Bench, secs};

/// The wake-ups between two counts, by cause.
fn since(before: &Wakes, after: &Wakes) -> Vec<(WakeCause, u32)> {
    WakeCause::ALL
        .into_iter()
        .map(|c| (c, after.of(c).saturating_sub(before.of(c))))
        .filter(|&(_, n)| n > 0)
        .collect()
}

fn idle_day(b: &mut Bench) -> Vec<(WakeCause, u32)> {
    let before = b.wakes.borrow().clone();
    let measured = b.world.borrow().measurements;
    for _ in 0..24 {
        b.wait(secs(3600));
    }
    let woke = since(&before, &b.wakes.borrow());
    let total: u32 = woke.iter().map(|(_, n)| n).sum();
    assert!(total <= 24, "{total} wake-ups in an idle day: {woke:?}");
    assert!(total >= 23, "the battery is still read hourly: {woke:?}");
    assert_eq!(
        woke,
        [(WakeCause::Lock(Timer::Hourly), total)],
        "only the hourly wake"
    );
    // Each hourly wake read the battery: nothing else did.
    assert_eq!(b.world.borrow().measurements - measured, total);
    woke
}

#[test]
fn r_nrg_1_an_idle_day_wakes_the_lock_once_an_hour_for_its_hourly_work() {
    let mut b = Bench::installed();
    // The keypad went dark after the set-up; nothing else is due.
    assert_eq!(b.world.borrow().backlight, 0);
    idle_day(&mut b);
}

#[test]
fn r_nrg_1_with_the_wall_clock_running_its_mark_rides_the_hourly_wake() {
    let mut b = Bench::installed();
    b.request(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Bluetooth,
        command: AppCommand::SetClock(Timestamp(1_800_000_000 + 7 * 60)),
    });
    assert!(b.stored().clock_mark.is_some(), "marked when set");
    idle_day(&mut b);
    // The mark went on flash in those wakes, at whole hours of the clock.
    let mark = b.stored().clock_mark.expect("the clock's mark");
    assert_eq!(mark.0 % 3600, 0, "{mark:?}");
    assert!(mark.0 >= 1_800_000_000 + 23 * 3600, "{mark:?}");
}
