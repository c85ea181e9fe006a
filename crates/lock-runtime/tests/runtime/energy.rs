//! R-NRG-1 on the simulated board: idle means asleep. With the keypad
//! dark, no motor, no module working and no app link, the only thing that
//! wakes the lock's code is its hourly wake (the battery reading and the
//! clock's mark, batched); every clock wake-up is counted with its cause.

use lock_core::{
    AppCommand, AppRequest, Link, Privilege, RadioListening, Setting, Timer, Timestamp,
};
use lock_runtime::{RADIO_LINGER, WakeCause, Wakes};

use super::harness::{Bench, millis, secs};

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

fn set_radio(b: &mut Bench, radio: RadioListening) {
    b.request(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Bluetooth,
        command: AppCommand::Configure(Setting::Radio(radio)),
    });
}

fn listening(b: &Bench) -> bool {
    b.world.borrow().radio_listening
}

#[test]
fn r_nrg_3_set_to_listen_while_awake_the_radio_goes_quiet_a_minute_after_the_lock_went_idle() {
    let mut b = Bench::installed();
    assert!(listening(&b), "a lock starts listening");
    set_radio(&mut b, RadioListening::WhileAwake);
    // Idle (keypad dark): a minute on, the radio goes quiet, once.
    let before = b.wakes.borrow().clone();
    b.wait(millis(RADIO_LINGER.millis() - 1_000));
    assert!(listening(&b), "quiet too soon");
    b.wait(secs(2));
    assert!(!listening(&b), "still listening a minute after");
    let woke = since(&before, &b.wakes.borrow());
    assert_eq!(woke, [(WakeCause::Radio, 1)]);
    // A touch wakes the lock, and the radio listens at once; it stays on
    // while the keypad is lit, and goes quiet a minute after it went dark.
    b.touch();
    assert!(listening(&b), "a touch does not wake the radio");
    b.wait(secs(20));
    assert!(listening(&b));
    assert_eq!(b.world.borrow().backlight, 0, "the keypad went dark");
    b.wait(millis(RADIO_LINGER.millis() + 1_000));
    assert!(!listening(&b));
    // Quiet, an idle day still wakes the lock only hourly.
    idle_day(&mut b);
    assert!(!listening(&b));
}

#[test]
fn r_nrg_3_set_back_to_always_the_radio_listens_at_once_and_stays() {
    let mut b = Bench::installed();
    set_radio(&mut b, RadioListening::WhileAwake);
    b.wait(millis(RADIO_LINGER.millis() + 1_000));
    assert!(!listening(&b));
    // The administrator's phone reaches the lock over a link still up (or
    // over the relay), and chooses always.
    set_radio(&mut b, RadioListening::Always);
    assert!(listening(&b));
    b.wait(secs(3600));
    assert!(listening(&b));
    assert_eq!(
        b.stored().settings.radio,
        Some(RadioListening::Always),
        "kept on flash"
    );
}
