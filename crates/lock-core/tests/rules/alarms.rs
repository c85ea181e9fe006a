//! §6 Alarms and power: R-ALM-1…5.

use lock_core::{
    Action, AlarmKind, AppCommand, BoltPosition, CAMERA_MIN_BATTERY, Event, Key, Link,
    LockoutCause, Notice, Privilege, Prompt, Refusal, Reply, Setting, TAMPER_ALARM,
};

use crate::harness::*;

fn live_video(b: &mut Bench) -> Reply {
    b.app(Privilege::User, Link::Remote, AppCommand::LiveVideo)
}

// ----- R-ALM-1 ---------------------------------------------------------------

#[test]
fn r_alm_1_tamper_sounds_the_siren_for_one_minute_and_tells_the_app() {
    let mut b = Bench::set_up();
    b.event(Event::Tamper);
    assert_saw!(b, Action::Siren(true));
    assert_saw!(b, Action::Notify(Notice::Alarm(AlarmKind::Tamper)));
    assert!(b.logged("alarm"));
    assert!(b.lock.alarms().contains(AlarmKind::Tamper));
    assert_eq!(TAMPER_ALARM, mins(1));
    b.wait(just_before(TAMPER_ALARM));
    assert_not_saw!(b, Action::Siren(false));
    assert!(b.lock.alarms().contains(AlarmKind::Tamper));
    b.wait(millis(1));
    assert_saw!(b, Action::Siren(false));
    assert_saw!(b, Action::Notify(Notice::AlarmCleared(AlarmKind::Tamper)));
    assert!(!b.lock.alarms().contains(AlarmKind::Tamper));
}

#[test]
fn r_alm_1_tamper_siren_is_not_muted() {
    let mut b = Bench::set_up();
    b.touch();
    b.hold(Key::Digit(0));
    assert!(b.lock.muted());
    b.event(Event::Tamper);
    assert_saw!(b, Action::Siren(true));
}

#[test]
fn r_alm_1_administrator_may_silence_it_early() {
    let mut b = Bench::set_up();
    b.event(Event::Tamper);
    b.wait(secs(10));
    assert_eq!(
        b.admin_app(AppCommand::Acknowledge(AlarmKind::Tamper)),
        Reply::Done
    );
    assert_saw!(b, Action::Siren(false));
    assert!(!b.lock.alarms().contains(AlarmKind::Tamper));
    b.wait(mins(2));
    assert_not_saw!(b, Action::Siren(_));
}

// ----- R-ALM-2 ---------------------------------------------------------------

#[test]
fn r_alm_2_system_locked_alarm_reported_to_the_app() {
    let mut b = Bench::set_up();
    for _ in 0..4 {
        b.wrong_code();
        assert_not_saw!(b, Action::Notify(_));
    }
    b.wrong_code();
    assert_saw!(b, Action::Notify(Notice::Alarm(AlarmKind::SystemLocked)));
    assert_saw!(b, Action::Notify(Notice::Lockout(LockoutCause::Burst, 180)));
    assert!(b.lock.alarms().contains(AlarmKind::SystemLocked));
    assert_eq!(
        b.admin_app(AppCommand::Acknowledge(AlarmKind::SystemLocked)),
        Reply::Refused(Refusal::CauseActive),
        "lasts as long as the lockout"
    );
    b.wait(mins(3));
    assert_saw!(
        b,
        Action::Notify(Notice::AlarmCleared(AlarmKind::SystemLocked))
    );
    assert!(!b.lock.alarms().contains(AlarmKind::SystemLocked));
}

// ----- R-ALM-3 ---------------------------------------------------------------

#[test]
fn r_alm_3_low_battery_prompt_on_every_wake() {
    let mut b = Bench::set_up();
    b.event(Event::Battery(9));
    assert_prompted!(b, Prompt::LowBattery);
    assert_saw!(b, Action::Notify(Notice::Alarm(AlarmKind::LowBattery)));
    for _ in 0..3 {
        b.wait(secs(20));
        assert_eq!(b.lock.keypad(), None);
        b.touch();
        assert_prompted!(b, Prompt::LowBattery);
        // A touch on an awake keypad is no wake.
        b.touch();
        assert!(!b.prompted(Prompt::LowBattery));
    }
    // A key on a dark keypad wakes it too.
    b.wait(secs(20));
    b.raw_keys("5");
    assert_prompted!(b, Prompt::LowBattery);
    // A new measurement while still low does not repeat it at once.
    b.event(Event::Battery(8));
    assert!(!b.prompted(Prompt::LowBattery));
}

#[test]
fn r_alm_3_threshold_default_10_percent_and_settable() {
    let mut b = Bench::set_up();
    assert_eq!(b.lock.settings().low_battery_percent, 10);
    b.event(Event::Battery(10));
    assert!(!b.lock.alarms().contains(AlarmKind::LowBattery));
    b.wait(secs(20));
    b.touch();
    assert!(!b.prompted(Prompt::LowBattery));
    b.event(Event::Battery(9));
    assert!(b.lock.alarms().contains(AlarmKind::LowBattery));
    b.event(Event::Battery(60));
    assert_saw!(
        b,
        Action::Notify(Notice::AlarmCleared(AlarmKind::LowBattery))
    );
    b.wait(secs(20));
    b.touch();
    assert!(!b.prompted(Prompt::LowBattery), "no reminder once replaced");

    b.event(Event::Battery(25));
    assert!(!b.lock.alarms().contains(AlarmKind::LowBattery));
    assert_eq!(
        b.admin_app(AppCommand::Configure(Setting::LowBatteryPercent(30))),
        Reply::Done
    );
    assert!(b.lock.alarms().contains(AlarmKind::LowBattery), "25 < 30");
}

#[test]
fn r_alm_3_camera_refused_below_20_percent() {
    let mut b = Bench::set_up();
    assert_eq!(CAMERA_MIN_BATTERY, 20);
    b.event(Event::Battery(19));
    assert_eq!(live_video(&mut b), Reply::Refused(Refusal::BatteryTooLow));
    b.event(Event::Battery(20));
    assert_eq!(live_video(&mut b), Reply::Done);
    assert_eq!(
        b.app(Privilege::Visitor, Link::Bluetooth, AppCommand::LiveVideo),
        Reply::Refused(Refusal::NotPermitted)
    );
}

// ----- R-ALM-4 ---------------------------------------------------------------

#[test]
fn r_alm_4_usb_power_bridges_a_dead_battery() {
    let mut b = Bench::set_up();
    b.event(Event::Battery(0));
    assert!(b.lock.alarms().contains(AlarmKind::LowBattery));
    assert_eq!(live_video(&mut b), Reply::Refused(Refusal::BatteryTooLow));
    b.event(Event::UsbPower(true));
    assert!(b.lock.status().usb_power);
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
    b.event(Event::LockButton);
    assert!(b.drove(BoltPosition::Locked));
    assert_eq!(live_video(&mut b), Reply::Done, "works normally");
    b.event(Event::UsbPower(false));
    assert!(!b.lock.status().usb_power);
    assert_eq!(live_video(&mut b), Reply::Refused(Refusal::BatteryTooLow));
}

// ----- R-ALM-5 ---------------------------------------------------------------

#[test]
fn r_alm_5_doorbell_chimes_and_notifies_the_app() {
    let mut b = Bench::set_up();
    press!(b, "bell");
    assert_prompted!(b, Prompt::Chime);
    assert_saw!(b, Action::Notify(Notice::Doorbell));
    assert!(!b.logged("unlock-failed"), "ringing is no failed attempt");
    assert_eq!(b.lock.failures_since_success(), 0);
    press!(b, "bell");
    assert_prompted!(b, Prompt::Chime);
}

#[test]
fn r_alm_5_doorbell_chimes_even_when_muted() {
    // A decision of lock.rs: one-time mute silences voice prompts, not the
    // visitor's bell.
    let mut b = Bench::set_up();
    b.touch();
    b.hold(Key::Digit(0));
    press!(b, "bell");
    assert_prompted!(b, Prompt::Chime);
    assert_saw!(b, Action::Notify(Notice::Doorbell));
}
