//! The runtime driving the real lock core and a store through lock-sim's
//! simulated hardware on its clock: first start, enrolment of a fingerprint
//! through a simulated module, unlocking, a lockout and its end, a power cut between a failed
//! attempt and its prompt, a module that times out, a jammed bolt, a face
//! search while the motor runs (started by a sample or asked for after a
//! touch), a code typed and the lock button pressed during a face search, a
//! store that stops writing, module work owed at boot. The store is the real
//! lock-store on its strict mock NOR flash. Each test names the rule it
//! shows.
//!
//! The bench (the test language, the store's power cuts, the app's side)
//! is in `runtime/harness.rs`; the simulated parts are `lock_sim::world`.

// clippy.toml lets `#[test]` functions unwrap and panic, but not the helpers
// of an integration test crate: here a failing helper should fail the test
// loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "runtime/energy.rs"]
mod energy;
#[path = "runtime/harness.rs"]
#[allow(dead_code)] // Not every scenario uses every part of the bench.
mod harness;
#[path = "runtime/responsive.rs"]
mod responsive;

use harness::{ADMIN_CODE, Bench, Body, MotorCall, millis, secs};
use lock_core::{
    AppCommand, AppRequest, BiometricKind, BoltSwitches, EnrollFailure, EnrollStep, Link, LogEntry,
    Method, PersonNumber, Privilege, Prompt, Refusal, Reply, Role, TemplateId,
};
use lock_drivers::prompts::FAILURE;
use lock_hal::{BoltPosition, MotorDirection};

fn n(x: u8) -> PersonNumber {
    PersonNumber::new(x).unwrap()
}

/// Opens the menu with SET and the administrator's code.
fn open_menu(b: &mut Bench) {
    b.world
        .borrow_mut()
        .set_presses
        .push_back(lock_hal::Press::Short);
    b.wait(millis(500));
    b.keys(&format!("{ADMIN_CODE} ok"));
    assert!(b.heard(Prompt::Menu), "{}", b.describe());
}

/// Adds user 002 with Alice's finger through the menu.
fn enrol_alice(b: &mut Bench) {
    open_menu(b);
    b.keys("2");
    b.keys("3");
    b.finger("alice");
    b.finger("alice");
    b.keys("back back");
    b.wait(secs(25));
}

fn wrong_code(b: &mut Bench) {
    b.touch();
    b.keys("135792 ok");
}

#[test]
fn r_unl_3_r_mnu_2_first_start_asks_the_door_then_creates_administrator_001() {
    let mut b = Bench::new();
    // R-UNL-3: awake and asking at first start.
    assert!(b.heard(Prompt::DoorDirection), "{}", b.describe());
    assert_ne!(b.world.borrow().backlight, 0, "the keypad is lit");
    assert_eq!(b.world.borrow().volume, Some(170), "default volume set");
    // S-ST-2: an erased flash is a first start, as after a factory reset:
    // the store owes the modules' clearing, done before anything else.
    for module in &b.world.borrow().modules {
        assert_eq!(module.calls, ["clear"]);
    }
    b.keys("ok 1");
    assert!(b.heard(Prompt::Success));
    assert!(b.heard(Prompt::CreateAdministrator));
    assert_eq!(
        b.stored().settings.door_direction,
        Some(lock_core::DoorDirection::Right)
    );
    b.keys(&format!("ok {ADMIN_CODE} ok"));
    assert!(b.heard(Prompt::EnterPasscodeAgain));
    b.keys(&format!("{ADMIN_CODE} ok"));
    assert!(b.heard(Prompt::Menu), "{}", b.describe());
    // Administrator 001 is on flash, and the log says so.
    let stored = b.stored();
    let admin = stored.person(n(1)).expect("administrator 001 stored");
    assert_eq!(admin.role, Role::Administrator);
    assert!(b.logged().contains(&LogEntry::UserAdded {
        person: n(1),
        role: Role::Administrator,
        by: lock_core::Actor::Person(n(1)),
    }));
    // It survives a power cycle: the lock comes back set up, asking nothing.
    b.power_cycle();
    assert!(!b.heard(Prompt::DoorDirection), "{}", b.describe());
    assert_eq!(b.world.borrow().backlight, 0, "dark after boot");
}

#[test]
fn r_mnu_4_fingerprint_enrolment_runs_step_by_step_through_the_module() {
    let mut b = Bench::installed();
    open_menu(&mut b);
    b.keys("2");
    // R-MNU-4: the new number announced, spoken and spelled on the keys.
    assert!(b.heard(Prompt::PersonNumber(n(2))), "{}", b.describe());
    b.keys("3");
    assert!(b.heard(Prompt::Enroll(BiometricKind::Finger, EnrollStep::Present)));
    b.finger("alice");
    // The module's first capture asks for a lift; the runtime prompts it.
    assert!(
        b.heard(Prompt::Enroll(BiometricKind::Finger, EnrollStep::Lift)),
        "{}",
        b.describe()
    );
    b.finger("alice");
    assert!(b.heard(Prompt::Success), "{}", b.describe());
    assert!(b.heard(Prompt::ChooseCredential(lock_core::Modules::ALL)));
    // (Before: the store's first start on erased flash had the modules
    // cleared, as after a factory reset.)
    let calls = b.world.borrow().modules[2].calls.clone();
    assert_eq!(
        calls,
        ["clear", "begin_enroll 0", "enroll_step", "enroll_step"]
    );
    // Stored with the template id the module reported.
    let stored = b.stored();
    let alice = stored.person(n(2)).expect("user 002 stored");
    assert_eq!(alice.role, Role::User);
    assert_eq!(alice.fingers.as_slice(), &[TemplateId(0)]);

    // R-USR-7: the same finger again is refused as a duplicate.
    b.keys("3");
    b.finger("alice");
    assert!(
        b.heard(Prompt::Failure(Refusal::Enroll(EnrollFailure::Duplicate))),
        "{}",
        b.describe()
    );
    assert_eq!(b.stored().person(n(2)).unwrap().fingers.len(), 1);
}

#[test]
fn r_unl_2_finger_and_passcode_unlock_drive_the_motor_to_the_end_switch() {
    let mut b = Bench::installed();
    enrol_alice(&mut b);
    b.clear_motor_calls();
    b.finger("alice");
    assert!(b.heard(Prompt::Unlocked), "{}", b.describe());
    assert!(b.logged().contains(&LogEntry::Unlock {
        person: Some(n(2)),
        method: Method::Finger
    }));
    b.wait(secs(2));
    // Driven until the end switch, then braked and left unpowered (R-LCK-3).
    assert_eq!(b.bolt(), BoltPosition::Unlocked);
    assert_eq!(
        b.motor_calls(),
        [
            MotorCall::Drive(MotorDirection::Forward),
            MotorCall::Brake,
            MotorCall::Coast
        ]
    );

    // The inside button locks again; a passcode with extra digits reopens.
    b.world
        .borrow_mut()
        .lock_presses
        .push_back(lock_hal::Press::Short);
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Locked);
    b.wait(secs(30));
    b.touch();
    b.keys(&format!("07{ADMIN_CODE}3 ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
    assert_eq!(b.world.borrow().motor.last(), Some(&MotorCall::Coast));
}

#[test]
fn r_lko_1_five_failures_lock_for_three_minutes_then_the_lock_opens_again() {
    let mut b = Bench::installed();
    for _ in 0..4 {
        wrong_code(&mut b);
        assert!(
            b.heard(Prompt::Failure(Refusal::NoMatch)),
            "{}",
            b.describe()
        );
    }
    wrong_code(&mut b);
    assert!(b.heard(Prompt::SystemLocked), "{}", b.describe());
    assert!(b.desk.borrow().notices.contains(&lock_core::Notice::Alarm(
        lock_core::AlarmKind::SystemLocked
    )));
    // During the lockout the right code does not open.
    b.wait(secs(30));
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Locked);
    assert!(b.heard(Prompt::SystemLocked));
    // It ends by itself: the runtime wakes for the core's deadline.
    b.wait(secs(150));
    assert!(b.ever_logged(LogEntry::LockoutEnded), "{}", b.describe());
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
}

#[test]
fn r_lko_4_s_bf_2_power_cut_between_a_failed_attempt_and_its_prompt_keeps_the_failure() {
    let mut b = Bench::installed();
    wrong_code(&mut b);
    wrong_code(&mut b);
    assert_eq!(b.stored().attempts, {
        let mut s = b.stored();
        s.attempts = b.stored().attempts;
        s.attempts
    });
    // Power goes the moment the third failure is on flash.
    b.cut_power_after_attempts_written(1);
    wrong_code(&mut b);
    assert!(b.is_dead(), "the cut happened");
    // S-BF-2: nothing observable came before the write.
    assert!(
        !b.clips().contains(&FAILURE),
        "a failure prompt played before the failure was stored: {}",
        b.describe()
    );
    // R-LKO-4: after the restart the count includes it: two more make five.
    b.power_cycle();
    let restored =
        lock_core::Lock::restore(harness::config(), &b.stored(), lock_core::Instant::ZERO).unwrap();
    assert_eq!(restored.failures_since_success(), 3);
    wrong_code(&mut b);
    assert!(!b.heard(Prompt::SystemLocked));
    wrong_code(&mut b);
    assert!(b.heard(Prompt::SystemLocked), "{}", b.describe());
}

#[test]
fn r_unl_1_a_module_that_times_out_is_reported_and_passcodes_still_open() {
    let mut b = Bench::installed();
    enrol_alice(&mut b);
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Finger)
        .failing = true;
    b.finger("alice");
    b.wait(secs(3));
    // Reported and logged, nothing counted, nothing opened.
    assert!(
        b.ever_logged(LogEntry::ModuleFault(BiometricKind::Finger)),
        "{}",
        b.describe()
    );
    assert_eq!(b.bolt(), BoltPosition::Locked);
    assert!(!b.clips().contains(&FAILURE));
    // The lock keeps working with its other methods.
    b.wait(secs(30));
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
}

#[test]
fn r_lck_3_a_face_search_never_keeps_a_running_motor_from_its_end_switch() {
    let mut b = Bench::installed();
    // Someone the face module does not know stands at the door: each search
    // runs the module's whole 10 s before it answers.
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Face)
        .search_ms = 10_000;
    b.clear_motor_calls();
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    assert_eq!(b.motor_calls(), [MotorCall::Drive(MotorDirection::Forward)]);
    b.present(BiometricKind::Face, "mallory");
    b.wait(secs(12));
    assert_eq!(b.bolt(), BoltPosition::Unlocked);
    let w = b.world.borrow();
    assert_eq!(
        w.motor[..3],
        [
            MotorCall::Drive(MotorDirection::Forward),
            MotorCall::Brake,
            MotorCall::Coast
        ]
    );
    // Braked when the bolt reached its end, not after the search.
    let ran = w.motor_times[1] - w.motor_times[0];
    assert!(ran <= harness::TRAVEL + 100, "the motor ran {ran} ms");
    // The face was searched for, in its lane, while the motor ran.
    assert!(
        w.modules[0].calls.contains(&"identify".to_string()),
        "{:?}",
        w.modules[0].calls
    );
}

#[test]
fn r_lck_3_a_face_search_asked_for_while_the_motor_runs_runs_beside_it() {
    let mut b = Bench::installed();
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(30));
    assert_eq!(b.bolt(), BoltPosition::Unlocked);
    assert_eq!(b.world.borrow().backlight, 0, "the keypad is dark again");
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Face)
        .search_ms = 10_000;
    b.clear_motor_calls();
    // Locked from inside; while the bolt moves, someone outside touches the
    // dark keypad, which starts a face search (R-UNL-1), of someone the
    // module does not know.
    b.world
        .borrow_mut()
        .lock_presses
        .push_back(lock_hal::Press::Short);
    b.wait(millis(100));
    assert_eq!(b.motor_calls(), [MotorCall::Drive(MotorDirection::Reverse)]);
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Face)
        .presented = Some("mallory".into());
    b.touch();
    b.wait(secs(12));
    assert_eq!(b.bolt(), BoltPosition::Locked);
    let w = b.world.borrow();
    // Braked when the bolt reached its end, not after the search.
    let ran = w.motor_times[1] - w.motor_times[0];
    assert!(ran <= harness::TRAVEL + 100, "the motor ran {ran} ms");
    // The search ran, beside the motor.
    assert!(
        w.modules[0].calls.contains(&"identify".to_string()),
        "{:?}",
        w.modules[0].calls
    );
}

#[test]
fn r_lck_3_a_stall_stops_the_motor_and_is_a_jam() {
    let mut b = Bench::installed();
    b.world.borrow_mut().body = Body::Stalls;
    b.clear_motor_calls();
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Between);
    assert_eq!(
        b.motor_calls()[..3],
        [
            MotorCall::Drive(MotorDirection::Forward),
            MotorCall::Brake,
            MotorCall::Coast
        ]
    );
    assert_eq!(b.world.borrow().motor.last(), Some(&MotorCall::Coast));
    assert!(b.heard(Prompt::Jammed), "{}", b.describe());
    assert!(
        b.desk
            .borrow()
            .notices
            .contains(&lock_core::Notice::Alarm(lock_core::AlarmKind::Jam))
    );
}

/// When the jam was announced, in ms after `since`.
fn jam_heard_after(b: &Bench, since: u64) -> u64 {
    let jammed = lock_sim::world::prompt_clips(&Prompt::Jammed)[0];
    b.world
        .borrow()
        .clips
        .iter()
        .find(|(_, c)| *c == jammed)
        .map(|(t, _)| *t - since)
        .unwrap()
}

#[test]
fn r_lck_3_a_silent_body_is_stopped_at_its_travel_limit() {
    let mut b = Bench::installed();
    b.world.borrow_mut().body = Body::Silent;
    b.clear_motor_calls();
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(10));
    assert!(b.heard(Prompt::Jammed), "{}", b.describe());
    assert_eq!(b.world.borrow().motor.last(), Some(&MotorCall::Coast));
    // The body's limit in the lock's configuration (6 s by default), the
    // one bound on a movement.
    let started = b.world.borrow().motor_times[0];
    let after = jam_heard_after(&b, started);
    assert!((6_000..6_500).contains(&after), "jam after {after} ms");
}

#[test]
fn r_lck_3_a_body_with_only_a_locked_switch_arrives_unlocked_at_its_travel_limit() {
    let mut b = Bench::installed_with(|w| w.switches = BoltSwitches::LockedOnly);
    b.clear_motor_calls();
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(10));
    // Off the switch at once, at the far end a second later, and the motor
    // stopped at the limit: arrival, not a jam.
    assert!(b.heard(Prompt::Unlocked), "{}", b.describe());
    assert!(!b.heard(Prompt::Jammed), "{}", b.describe());
    assert_eq!(b.bolt(), BoltPosition::Unlocked);
    assert_eq!(
        b.motor_calls()[..3],
        [
            MotorCall::Drive(MotorDirection::Forward),
            MotorCall::Brake,
            MotorCall::Coast
        ]
    );
    let times = b.world.borrow().motor_times.clone();
    let run = times[times.len() - 2] - times[times.len() - 3];
    assert!((6_000..6_000 + 500).contains(&run), "ran {run} ms");

    // Back to the switch: the switch ends the run, long before the limit.
    b.clear_motor_calls();
    b.press_lock_button();
    b.wait(secs(3));
    assert_eq!(b.bolt(), BoltPosition::Locked);
    assert!(!b.heard(Prompt::Jammed), "{}", b.describe());
}

#[test]
fn s_bf_2_a_failure_that_cannot_be_stored_is_not_reacted_to_and_the_lock_fails_secure() {
    let mut b = Bench::installed();
    b.desk.borrow_mut().store_fails = true;
    b.clear_motor_calls();
    wrong_code(&mut b);
    // The failure could not be made durable: its prompt never plays, and
    // the lock restarted fail-secure, saying why.
    assert!(
        !b.heard(Prompt::Failure(Refusal::NoMatch)),
        "{}",
        b.describe()
    );
    assert!(
        b.heard(Prompt::Failure(Refusal::StorageFault)),
        "{}",
        b.describe()
    );
    // Fail-secure: even the right code does not open now.
    b.desk.borrow_mut().store_fails = false;
    b.wait(secs(30));
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Locked);
    assert!(
        b.motor_calls()
            .iter()
            .all(|c| !matches!(c, MotorCall::Drive(_)))
    );
    // A power cycle reads the store again, and the lock works.
    b.power_cycle();
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
}

#[test]
fn r_alm_3_battery_is_measured_at_boot_on_every_wake_and_every_hour() {
    let mut b = Bench::installed();
    let at_start = b.world.borrow().measurements;
    b.touch();
    assert_eq!(b.world.borrow().measurements, at_start + 1);
    b.wait(secs(30));
    b.world.borrow_mut().battery = 5;
    b.wait(secs(3600));
    assert_eq!(b.world.borrow().measurements, at_start + 2);
    assert!(
        b.desk
            .borrow()
            .notices
            .contains(&lock_core::Notice::Alarm(lock_core::AlarmKind::LowBattery))
    );
    // R-ALM-3: reminded on every wake.
    b.touch();
    assert!(b.heard(Prompt::LowBattery), "{}", b.describe());
}

#[test]
fn r_app_1_app_requests_are_answered_through_the_app_hook() {
    let mut b = Bench::installed();
    b.request(AppRequest {
        pairing: 1,
        privilege: Privilege::User,
        link: Link::Bluetooth,
        command: AppCommand::Status,
    });
    let replies = b.desk.borrow().replies.clone();
    let [Reply::Status(status)] = replies.as_slice() else {
        panic!("one status reply expected: {replies:?}");
    };
    assert_eq!(status.people, 1);
    assert_eq!(status.battery, 80);
}

#[test]
fn r_alm_1_tamper_sounds_the_siren_for_a_minute() {
    let mut b = Bench::installed();
    b.world.borrow_mut().tampers = 1;
    b.wait(secs(1));
    assert!(b.world.borrow().siren);
    b.wait(secs(60));
    assert!(!b.world.borrow().siren);
}

#[test]
fn s_st_2_module_work_left_by_a_power_cut_is_done_at_boot_before_any_credential() {
    let mut b = Bench::installed();
    enrol_alice(&mut b);
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Finger)
        .calls
        .clear();
    // Power goes right after Alice's deletion is on flash, before the
    // module's template is deleted.
    b.cut_power_after_written(|c| matches!(c, lock_core::Change::PersonDeleted(_)), 1);
    b.request(AppRequest {
        pairing: 1,
        privilege: Privilege::Administrator,
        link: Link::Bluetooth,
        command: AppCommand::DeletePerson(n(2)),
    });
    assert!(b.is_dead());
    assert!(b.world.borrow().modules[2].calls.is_empty());
    assert_eq!(b.world.borrow().modules[2].templates.len(), 1);
    // The store owes the module work; boot carries it out first.
    b.power_cycle();
    assert_eq!(b.world.borrow().modules[2].calls, ["delete 0"]);
    assert!(b.world.borrow().modules[2].templates.is_empty());
    assert!(b.stored().person(n(2)).is_none());
    b.finger("alice");
    assert_eq!(b.bolt(), BoltPosition::Locked);
}

// ----- a printed 4×3 keypad (lock-hal `Layout::MATRIX_12`) -------------------

/// A lock through first start on a board whose keypad is printed.
fn printed_installed() -> Bench {
    let mut b = Bench::new();
    b.printed = true;
    b.power_cycle();
    b.keys("ok 1");
    b.keys(&format!("ok {ADMIN_CODE} ok {ADMIN_CODE} ok"));
    b.keys("back");
    b.wait(secs(25));
    b
}

#[test]
fn r_mnu_1_a_printed_key_on_a_dark_keypad_wakes_it_and_counts() {
    // Printed keys can be aimed at in the dark: the first digit counts.
    let mut b = printed_installed();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert!(b.heard(Prompt::Unlocked), "{}", b.describe());
    // On a touch pad the first contact only wakes it: five digits are left,
    // too few to check.
    let mut b = Bench::installed();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert!(!b.heard(Prompt::Unlocked), "{}", b.describe());
}

#[test]
fn r_mnu_3_holding_back_on_a_printed_keypad_is_set() {
    let mut b = printed_installed();
    b.hold(lock_hal::Key::Back);
    assert!(b.heard(Prompt::VerifyAdministrator), "{}", b.describe());
    b.keys(&format!("{ADMIN_CODE} ok"));
    assert!(b.heard(Prompt::Menu), "{}", b.describe());
}

#[test]
fn r_lck_4_holding_ok_on_a_printed_keypad_is_leaving_home() {
    let mut b = printed_installed();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(10));
    b.hold(lock_hal::Key::Ok);
    b.wait(secs(3));
    assert!(b.heard(Prompt::LeavingHome), "{}", b.describe());
    assert_eq!(b.bolt(), BoltPosition::Locked);
}
