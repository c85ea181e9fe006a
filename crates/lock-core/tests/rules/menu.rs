//! §5 The keypad menu: R-MNU-1…3 and R-MNU-6…9: the keypad waking and going
//! dark, the first start, opening the menu and its choices, system
//! information, pairing, muting and the factory reset. Adding and deleting
//! people at the menu (R-MNU-4, R-MNU-5) is in `menu_people.rs`.

use lock_core::{
    Action, Backlight, BiometricKind, BoltPosition, Change, DoorDirection, Event, KEYPAD_TIMEOUT,
    Key, KeyMask, LogEntry, ModuleCommand, PAIRING_WINDOW, PasscodeError, Prompt, Refusal, Role,
    Settings,
};

use crate::harness::*;

fn ok_and_back() -> KeyMask {
    KeyMask::of(Key::Ok).with(Key::Back)
}

// ----- R-MNU-1 ---------------------------------------------------------------

#[test]
fn r_mnu_1_keypad_wakes_on_touch_and_goes_dark_after_20_seconds() {
    let mut b = Bench::set_up();
    assert_eq!(b.lock.keypad(), None);
    b.touch();
    assert!(b.lock.keypad().is_some());
    assert_saw!(b, Action::Keypad(Backlight::Steady(_)));
    assert_eq!(KEYPAD_TIMEOUT, secs(20));
    b.wait(millis(19_999));
    assert!(b.lock.keypad().is_some());
    assert_not_saw!(b, Action::Keypad(Backlight::Off));
    b.wait(millis(1));
    assert_eq!(b.lock.keypad(), None);
    assert_saw!(b, Action::Keypad(Backlight::Off));
}

#[test]
fn r_mnu_1_each_key_restarts_the_20_seconds() {
    let mut b = Bench::set_up();
    b.touch();
    b.wait(secs(15));
    b.raw_keys("7");
    b.wait(secs(15));
    assert!(b.lock.keypad().is_some(), "15 s after the last key");
    b.wait(secs(5));
    assert_eq!(b.lock.keypad(), None);
}

#[test]
fn r_mnu_1_unfinished_entry_is_discarded() {
    let mut b = Bench::set_up();
    press!(b, "482");
    b.wait(secs(20));
    // Had "482" stayed, "482" + "915482" would hold 482915 and open.
    press!(b, "915482 ok");
    assert!(!b.drove(BoltPosition::Unlocked), "{}", b.describe());
    assert!(b.logged("unlock-failed"));

    // Just before the timeout the entry is still there.
    press!(b, "482");
    b.wait(millis(19_999));
    press!(b, "915 ok");
    assert!(b.drove(BoltPosition::Unlocked), "{}", b.describe());
}

#[test]
fn r_mnu_1_first_key_on_a_dark_keypad_only_wakes_it() {
    let mut b = Bench::set_up();
    b.raw_keys("4");
    assert!(b.lock.keypad().is_some());
    b.raw_keys("82915 ok");
    assert!(
        !b.drove(BoltPosition::Unlocked),
        "the waking `4` was not typed"
    );
}

#[test]
fn r_mnu_1_timeout_leaves_the_menu_and_stores_no_one() {
    let mut b = Bench::set_up();
    b.open_menu();
    b.menu_new_person(Role::User);
    press!(b, "4 730418 ok");
    b.wait(KEYPAD_TIMEOUT);
    assert!(!b.lock.in_menu());
    assert_eq!(b.lock.keypad(), None);
    assert_eq!(
        b.lock.people().len(),
        1,
        "the half-entered person is dropped"
    );
    // Back at the door: the dropped code does not open.
    press!(b, "730418 ok");
    assert!(!b.drove(BoltPosition::Unlocked));
}

#[test]
fn r_mnu_1_timeout_cancels_a_running_enrollment() {
    let mut b = Bench::set_up();
    b.open_menu();
    b.menu_new_person(Role::User);
    press!(b, "3");
    assert!(b.module_enrolling(BiometricKind::Finger));
    b.wait(KEYPAD_TIMEOUT);
    assert_saw!(
        b,
        Action::Module(ModuleCommand::CancelEnroll(BiometricKind::Finger))
    );
    assert!(!b.lock.in_menu());
    assert!(!b.module_enrolling(BiometricKind::Finger));
}

// ----- R-MNU-2 ---------------------------------------------------------------

#[test]
fn r_mnu_2_first_start_creates_administrator_001_and_opens_the_menu() {
    let mut b = Bench::fresh();
    press!(b, "ok 1");
    assert_prompted!(b, Prompt::CreateAdministrator);
    assert_eq!(b.lock.keypad(), Some(ok_and_back()), "↩ and ✓ lit");
    press!(b, "ok");
    assert_prompted!(b, Prompt::EnterPasscode);
    press!(b, "482915 ok");
    assert_prompted!(b, Prompt::EnterPasscodeAgain);
    assert!(b.lock.people().is_empty());
    press!(b, "482915 ok");
    assert_prompted!(b, Prompt::Success);
    assert_prompted!(b, Prompt::Menu);
    assert!(b.lock.in_menu());
    let admin = b.lock.people().get(n(1)).unwrap();
    assert_eq!(admin.role, Role::Administrator);
    assert!(admin.passcode.is_some());
    assert!(b.logs().contains(&LogEntry::UserAdded {
        person: n(1),
        role: Role::Administrator,
        by: Actor::Person(n(1)),
    }));
    assert!(b.flash.person(n(1)).is_some(), "on flash");
    // The menu is theirs: `2` adds a user.
    assert_eq!(b.menu_new_person(Role::User), n(2));
}

#[test]
fn r_mnu_2_touch_lights_back_and_ok_and_back_leaves_without_creating() {
    let mut b = Bench::fresh();
    press!(b, "ok 2");
    press!(b, "back");
    assert_eq!(b.lock.keypad(), None, "↩ leaves");
    assert!(b.lock.people().is_empty());
    assert!(!b.saw(|a| matches!(a, Action::Persist(_))));
    b.touch();
    assert_prompted!(b, Prompt::CreateAdministrator);
    assert_saw!(b, Action::Keypad(Backlight::Steady(m)) if *m == ok_and_back());
    // SET does nothing before there is an administrator.
    b.set();
    assert!(!b.prompted(Prompt::VerifyAdministrator));
    press!(b, "ok 482915 ok 482915 ok");
    assert!(b.lock.in_menu());
    assert_eq!(b.lock.people().len(), 1);
}

#[test]
fn r_mnu_2_refused_passcode_ends_the_attempt_and_ok_starts_again() {
    let mut b = Bench::fresh();
    press!(b, "ok 1");
    for (typed, why) in [
        ("ok 123456 ok", PasscodeError::TooWeak),
        ("ok 48291 ok", PasscodeError::TooShort),
        ("ok 482915 ok 482916 ok", PasscodeError::Mismatch),
    ] {
        press!(b, typed);
        assert_prompted!(b, Prompt::Failure(Refusal::Passcode(why)));
        assert!(!b.prompted(Prompt::Success));
        assert!(b.lock.people().is_empty(), "{typed}");
        assert!(!b.lock.in_menu());
    }
    // The refusal ended the attempt: digits now are not a passcode entry.
    press!(b, "482915 ok");
    assert_prompted!(b, Prompt::EnterPasscode);
    assert!(!b.prompted(Prompt::EnterPasscodeAgain));
    press!(b, "482915 ok 482915 ok");
    assert!(b.lock.in_menu());
    assert_eq!(b.lock.people().len(), 1);
}

#[test]
fn r_mnu_2_not_offered_once_an_administrator_exists() {
    let mut b = Bench::set_up();
    b.power_cycle();
    b.touch();
    assert!(!b.prompted(Prompt::CreateAdministrator));
    assert!(!b.prompted(Prompt::DoorDirection));
    assert_eq!(b.lock.keypad(), Some(KeyMask::ALL));
    press!(b, "ok 482915 ok 482915 ok");
    assert_eq!(b.lock.people().len(), 1, "no second first start");
}

// ----- R-MNU-3 ---------------------------------------------------------------

#[test]
fn r_mnu_3_set_then_administrator_passcode_opens_the_menu() {
    let mut b = Bench::set_up();
    b.set();
    assert_prompted!(b, Prompt::VerifyAdministrator);
    assert_saw!(
        b,
        Action::Module(ModuleCommand::Identify(BiometricKind::Face))
    );
    assert!(!b.lock.in_menu());
    press!(b, "482915 ok");
    assert_prompted!(b, Prompt::Menu);
    assert!(b.lock.in_menu());
    assert!(
        !b.drove(BoltPosition::Unlocked),
        "opening the menu is no unlock"
    );
}

#[test]
fn r_mnu_3_any_administrator_credential_opens_the_menu() {
    let mut b = Bench::set_up();
    b.add_person(
        Role::Administrator,
        &[Cred::Finger("ann"), Cred::Face("ann"), Cred::Palm("ann")],
    );
    for kind in BiometricKind::ALL {
        b.set();
        b.present(kind, "ann");
        assert!(b.lock.in_menu(), "{kind:?}:\n{}", b.describe());
        press!(b, "back");
        assert!(!b.lock.in_menu());
    }
}

#[test]
fn r_mnu_3_wrong_credential_after_set_is_a_failed_verification() {
    let mut b = Bench::set_up();
    b.set();
    b.finger("stranger");
    assert!(!b.lock.in_menu());
    assert!(b.logged("unlock-failed"));
    assert_eq!(b.lock.failures_since_success(), 1);
}

#[test]
fn r_mnu_3_choices_and_back_one_level() {
    let mut b = Bench::set_up();
    b.open_menu();
    press!(b, "4");
    assert_prompted!(b, Prompt::SettingsMenu);
    press!(b, "back");
    assert_prompted!(b, Prompt::Menu);
    assert!(b.lock.in_menu());
    press!(b, "3");
    assert_prompted!(b, Prompt::EnterPersonNumber);
    press!(b, "back");
    assert_prompted!(b, Prompt::Menu);
    assert_eq!(b.menu_new_person(Role::Administrator), n(2));
    press!(b, "back");
    assert_prompted!(b, Prompt::Menu);
    assert!(b.lock.in_menu());
    // From the top, ↩ leaves the menu.
    press!(b, "back");
    assert!(!b.lock.in_menu());
    assert_eq!(b.lock.keypad(), None);
}

#[test]
fn r_mnu_3_keypad_settings_change_and_persist() {
    let mut b = Bench::set_up();
    b.open_menu();
    press!(b, "4 2");
    assert_prompted!(b, Prompt::Success);
    assert!(
        b.lock.settings().auto_lock,
        "`2` toggles the countdown lock"
    );
    assert!(b.persisted(|c| matches!(c, Change::Settings(s) if s.auto_lock)));
    assert!(b.logged("setting-changed"));
    press!(b, "3");
    assert!(b.lock.settings().remote_unlock);
}

// ----- R-MNU-6 ---------------------------------------------------------------

#[test]
fn r_mnu_6_system_information_then_back_to_the_menu() {
    let mut b = Bench::set_up();
    b.open_menu();
    press!(b, "5");
    let c = config();
    assert_eq!(
        b.prompts(),
        vec![
            Prompt::SerialNumber(c.serial),
            Prompt::FirmwareVersion(c.firmware.0, c.firmware.1, c.firmware.2),
            Prompt::VerificationCode(c.verification_code),
            Prompt::Menu,
        ]
    );
    assert!(b.lock.in_menu());
    assert_eq!(b.menu_new_person(Role::User), n(2), "the top menu answers");
}

// ----- R-MNU-7 ---------------------------------------------------------------

#[test]
fn r_mnu_7_long_set_opens_pairing_for_three_minutes_at_most() {
    let mut b = Bench::set_up();
    b.set_hold();
    assert_saw!(b, Action::Pairing(true));
    assert_saw!(b, Action::Keypad(Backlight::Blink(m)) if *m == KeyMask::of(Key::Digit(0)));
    assert_prompted!(b, Prompt::PairingMode);
    assert!(b.lock.pairing());
    assert_eq!(PAIRING_WINDOW, mins(3));
    b.wait(just_before(PAIRING_WINDOW));
    assert!(b.lock.pairing());
    assert_not_saw!(b, Action::Pairing(false));
    b.wait(millis(1));
    assert!(!b.lock.pairing());
    assert_saw!(b, Action::Pairing(false));
    assert_saw!(b, Action::Keypad(Backlight::Off));
}

#[test]
fn r_mnu_7_pairing_ends_when_paired() {
    let mut b = Bench::set_up();
    b.set_hold();
    b.wait(secs(30));
    b.event(Event::AppChanged(AppChange::Paired { pairing: 1 }));
    assert_saw!(b, Action::Pairing(false));
    assert!(!b.lock.pairing());
    b.wait(mins(5));
    assert_not_saw!(b, Action::Pairing(_));
}

#[test]
fn r_mnu_7_no_pairing_before_first_start() {
    let mut b = Bench::fresh();
    b.set_hold();
    assert_not_saw!(b, Action::Pairing(true));
    assert!(!b.lock.pairing());
    assert_prompted!(b, Prompt::Failure(Refusal::NotSetUp));
}

// ----- R-MNU-8 ---------------------------------------------------------------

#[test]
fn r_mnu_8_holding_0_mutes_prompts_until_the_next_verified_unlock() {
    let mut b = Bench::set_up();
    b.touch();
    b.hold(Key::Digit(0));
    assert_saw!(b, Action::Keypad(Backlight::FlashTwice { .. }));
    assert!(b.lock.muted());

    b.wrong_code();
    assert!(b.logged("unlock-failed"), "still counted and logged");
    assert_not_saw!(b, Action::Prompt(_));
    b.finger("nobody");
    assert_not_saw!(b, Action::Prompt(_));
    b.event(Event::LockButton);
    assert!(b.drove(BoltPosition::Locked));
    assert_not_saw!(b, Action::Prompt(_));
    assert!(
        b.lock.muted(),
        "the inside button is no unlock from outside"
    );
    b.event(Event::Battery(9));
    assert!(b.lock.alarms().contains(lock_core::AlarmKind::LowBattery));
    assert_not_saw!(b, Action::Prompt(_));

    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(b.drove(BoltPosition::Unlocked));
    assert!(!b.lock.muted());
    b.wrong_code();
    assert_prompted!(b, Prompt::Failure(Refusal::NoMatch));
}

#[test]
fn r_mnu_8_mute_silences_the_lockout_prompt_not_the_app() {
    let mut b = Bench::set_up();
    b.touch();
    b.hold(Key::Digit(0));
    for _ in 0..5 {
        b.wrong_code();
        assert_not_saw!(b, Action::Prompt(_));
    }
    assert!(b.lock.lockout(b.now).is_some());
    assert!(b.notified(lock_core::Notice::Alarm(lock_core::AlarmKind::SystemLocked)));
    press!(b, &format!("{ADMIN_CODE} ok"));
    assert!(!b.drove(BoltPosition::Unlocked));
    assert_not_saw!(b, Action::Prompt(_));
    assert!(b.lock.muted(), "a refused attempt is no unlock");
}

// ----- R-MNU-9 ---------------------------------------------------------------

#[test]
fn r_mnu_9_set_held_at_power_up_then_ok_erases_everything() {
    let mut b = Bench::set_up();
    b.add_person(Role::User, &[Cred::Finger("eve"), Cred::Code("730418")]);
    b.admin_app(lock_core::AppCommand::Configure(
        lock_core::Setting::AutoLock(true),
    ));
    b.wrong_code();
    assert_eq!(b.lock.failures_since_success(), 1);

    b.power_cycle_holding_set();
    assert_prompted!(b, Prompt::FactoryResetConfirm);
    assert_eq!(b.lock.people().len(), 2, "nothing erased before ✓");
    b.raw_keys("ok");
    assert!(b.persisted(|c| matches!(c, Change::FactoryReset)));
    for kind in BiometricKind::ALL {
        assert_saw!(b, Action::Module(ModuleCommand::Clear(k)) if *k == kind);
    }
    assert!(b.logged("factory-reset"));
    assert_prompted!(b, Prompt::FactoryReset);
    assert_prompted!(b, Prompt::DoorDirection);

    assert!(b.lock.people().is_empty());
    assert_eq!(*b.lock.settings(), Settings::default());
    assert_eq!(b.lock.failures_since_success(), 0);
    assert!(b.flash.people.is_empty());
    assert_eq!(b.flash.settings, Settings::default());
    assert_eq!(b.template_of(BiometricKind::Finger, "eve"), None);

    // Back at first start, also after another restart.
    b.power_cycle();
    assert_prompted!(b, Prompt::DoorDirection);
    b.finger("eve");
    assert!(!b.drove(BoltPosition::Unlocked));
    b.first_start(DoorDirection::Left, "730418");
    assert_eq!(b.lock.people().len(), 1);
}

#[test]
fn r_mnu_9_any_other_key_at_the_prompt_keeps_everything() {
    let mut b = Bench::set_up();
    b.add_user_with_passcode("730418");
    b.power_cycle_holding_set();
    assert_prompted!(b, Prompt::FactoryResetConfirm);
    b.raw_keys("back");
    assert!(!b.persisted(|c| matches!(c, Change::FactoryReset)));
    assert_eq!(b.lock.people().len(), 2);
    press!(b, "730418 ok");
    assert!(b.drove(BoltPosition::Unlocked));
}

#[test]
fn r_mnu_9_prompt_only_with_set_held_at_power_up() {
    let mut b = Bench::set_up();
    b.power_cycle();
    assert!(!b.prompted(Prompt::FactoryResetConfirm));
    press!(b, "ok");
    assert!(!b.persisted(|c| matches!(c, Change::FactoryReset)));
    assert_eq!(b.lock.people().len(), 1);
}

#[test]
fn r_mnu_7_pairing_closes_an_open_menu_first() {
    // Pairing keeps the keypad lit for minutes; an administrator's menu left
    // open behind it would let the next person add an administrator.
    let mut b = Bench::set_up();
    b.open_menu();
    press!(b, "2 3");
    assert!(b.module_enrolling(BiometricKind::Finger));
    b.set_hold();
    assert!(b.lock.pairing());
    assert!(!b.lock.in_menu());
    assert_saw!(
        b,
        Action::Module(ModuleCommand::CancelEnroll(BiometricKind::Finger))
    );
    b.wait(mins(2));
    press!(b, "1");
    assert!(!b.lock.in_menu());
    assert_not_saw!(b, Action::Prompt(Prompt::PersonNumber(_)));
}
