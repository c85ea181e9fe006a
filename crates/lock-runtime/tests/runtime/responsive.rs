//! R-RSP-1 and R-RSP-2 on the mock clock, with fleeting keys (a key is
//! reported only while it is down, as on the BS8116A): the lock never goes
//! deaf while a clip plays or a module works, and a slower method never
//! delays a faster one.

use lock_core::{
    AppCommand, AppRequest, BiometricKind, Link, LockMethod, LogEntry, Method, ModuleCommand,
    Privilege, Prompt, Setting, TemplateId,
};
use lock_hal::{BoltPosition, MotorDirection};

use super::harness::{ADMIN_CODE, Bench, MotorCall, millis, secs};
use super::{enrol_alice, n, open_menu, wrong_code};

/// R-RSP-1's bound.
const WITHIN_MS: u64 = 100;

/// Every key pressed since `from` (an index into the presses) was read
/// within [`WITHIN_MS`] of its press.
fn every_key_taken(b: &Bench, from: usize) {
    let w = b.world.borrow();
    let pressed = &w.keys_pressed[from..];
    let read = w.keys_read.get(from..).unwrap_or(&[]);
    assert_eq!(pressed.len(), read.len(), "keys lost: {}", b.describe());
    for (p, r) in pressed.iter().zip(read) {
        assert!(
            r - p <= WITHIN_MS,
            "a key pressed at {p} ms was read at {r} ms"
        );
    }
}

fn presses(b: &Bench) -> usize {
    b.world.borrow().keys_pressed.len()
}

/// The first motor drive after `from` ms, and its direction.
fn drive_after(b: &Bench, from: u64) -> Option<(u64, MotorCall)> {
    let w = b.world.borrow();
    w.motor_times
        .iter()
        .zip(&w.motor)
        .find(|(t, c)| **t >= from && matches!(c, MotorCall::Drive(_)))
        .map(|(t, c)| (*t, *c))
}

fn now(b: &Bench) -> u64 {
    b.world.borrow().now
}

#[test]
fn r_rsp_1_every_key_typed_during_a_long_announcement_is_taken() {
    let mut b = Bench::installed();
    open_menu(&mut b);
    {
        let mut w = b.world.borrow_mut();
        // A second a clip: system information is 23 clips, 23 s.
        w.clip_ms = Some(1_000);
        w.presses_fleeting = true;
    }
    b.keys("5");
    let started = now(&b);
    let from = presses(&b);
    // Keys the menu's top ignores, then ↩ (leaves the menu, silently),
    // then the administrator's code: all while the announcement plays.
    b.keys("0 6 7 8 9 0 6 7 8 9 back");
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    let ok_at = now(&b) - super::harness::PACE;
    assert!(
        ok_at < started + 23_000,
        "the keys were typed during the announcement"
    );
    every_key_taken(&b, from);
    // ✓ opened at once, over the announcement.
    let (at, call) = drive_after(&b, ok_at).expect("the code opened");
    assert_eq!(call, MotorCall::Drive(MotorDirection::Forward));
    assert!(at - ok_at <= WITHIN_MS, "opened {} ms after ✓", at - ok_at);
    // Until the unlock cut it, each clip of the announcement played after
    // the one before had ended (a clip is never cut by its own batch).
    let w = b.world.borrow();
    let announced: Vec<u64> = w
        .clips
        .iter()
        .filter(|(t, _)| *t >= started && *t < at)
        .map(|(t, _)| *t)
        .collect();
    assert!(announced.len() >= 8, "{announced:?}");
    for pair in announced.windows(2) {
        assert!(pair[1] - pair[0] >= 1_000, "a clip was cut: {announced:?}");
    }
}

#[test]
fn r_rsp_1_r_rsp_2_r_nrg_2_a_code_typed_during_a_face_search_stops_it_and_opens_at_its_ok() {
    let mut b = Bench::installed();
    {
        let mut w = b.world.borrow_mut();
        // Someone the module does not know: the search runs its whole 10 s.
        w.module_mut(BiometricKind::Face).search_ms = 10_000;
        w.presses_fleeting = true;
    }
    b.present(BiometricKind::Face, "mallory");
    let from = presses(&b);
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    let ok_at = now(&b) - super::harness::PACE;
    {
        // A search began at the touch, and the first key stopped it
        // (R-NRG-2: nobody needs it now; the module goes back to rest).
        let w = b.world.borrow();
        let face = &w.modules[0];
        assert!(
            face.calls.iter().any(|c| c == "identify"),
            "no search began"
        );
        assert!(
            face.searching_until.is_none() && !face.busy,
            "the search runs on"
        );
    }
    every_key_taken(&b, from);
    let (at, _) = drive_after(&b, ok_at).expect("the code opened during the search");
    assert!(at - ok_at <= WITHIN_MS, "opened {} ms after ✓", at - ok_at);
    b.wait(secs(12));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
    assert!(b.ever_logged(LogEntry::Unlock {
        person: Some(n(1)),
        method: Method::Passcode
    }));
}

#[test]
fn r_rsp_1_tamper_and_the_door_during_a_face_search_are_handled_at_once() {
    let mut b = Bench::installed();
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Face)
        .search_ms = 10_000;
    b.present(BiometricKind::Face, "mallory");
    let t = now(&b);
    b.world.borrow_mut().tampers += 1;
    b.wait(millis(WITHIN_MS));
    assert!(
        b.world
            .borrow()
            .siren_log
            .iter()
            .any(|(at, on)| *on && *at >= t && *at - t <= WITHIN_MS),
        "the tamper alarm sounded within 100 ms: {:?}",
        b.world.borrow().siren_log
    );
    assert!(b.world.borrow().modules[0].searching_until.is_some());
    // The administrator comes in; later, while a stranger keeps the face
    // module searching, someone opens the door from inside: ✓ lights for
    // the outside lock at once (R-LCK-1).
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked);
    b.world.borrow_mut().door_open = true;
    b.wait(secs(1));
    b.world.borrow_mut().door_open = false;
    b.wait(secs(30));
    b.present(BiometricKind::Face, "mallory");
    let t = now(&b);
    b.world.borrow_mut().door_open = true;
    b.wait(millis(WITHIN_MS));
    assert!(
        b.world
            .borrow()
            .backlight_log
            .iter()
            .any(|(at, mask)| *mask != 0 && *at >= t && *at - t <= WITHIN_MS),
        "✓ lit within 100 ms of the door: {:?}",
        b.world.borrow().backlight_log
    );
    assert!(b.world.borrow().modules[0].searching_until.is_some());
    b.world.borrow_mut().door_open = false;
    b.wait(millis(WITHIN_MS));
    // The inside button during the same search locks at once too.
    let t = now(&b);
    b.press_lock_button();
    let (at, call) = drive_after(&b, t).expect("the button locked during the search");
    assert_eq!(call, MotorCall::Drive(MotorDirection::Reverse));
    assert!(at - t <= WITHIN_MS);
    assert!(b.world.borrow().modules[0].searching_until.is_some());
    b.wait(secs(2));
    assert!(b.ever_logged(LogEntry::Locked(LockMethod::InsideButton)));
}

#[test]
fn r_rsp_1_a_countdown_lock_comes_due_on_time_during_a_clip_and_a_search() {
    let mut b = Bench::installed();
    for setting in [Setting::AutoLockSecs(5), Setting::AutoLock(true)] {
        b.request(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::Configure(setting),
        });
    }
    {
        let mut w = b.world.borrow_mut();
        // Every clip takes 20 s: the "unlocked" prompt still plays when the
        // countdown ends.
        w.clip_ms = Some(20_000);
        w.module_mut(BiometricKind::Face).search_ms = 10_000;
    }
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
    let unlocked_at = {
        let w = b.world.borrow();
        w.motor_times[w
            .motor
            .iter()
            .rposition(|c| *c == MotorCall::Drive(MotorDirection::Forward))
            .unwrap()]
    };
    b.present(BiometricKind::Face, "mallory");
    b.wait(secs(6));
    let (at, call) = drive_after(&b, unlocked_at + 1).expect("the countdown locked");
    assert_eq!(call, MotorCall::Drive(MotorDirection::Reverse));
    let due = unlocked_at + 5_000;
    assert!(
        at >= due && at - due <= WITHIN_MS,
        "due at {due} ms, locked at {at} ms"
    );
    let w = b.world.borrow();
    assert!(w.playing_until > at, "a clip was playing");
    assert!(
        w.modules[0].searching_until.is_some_and(|t| t > at),
        "a search ran"
    );
}

#[test]
fn r_rsp_2_a_finger_presented_while_a_prompt_plays_opens_when_the_module_answers() {
    let mut b = Bench::installed();
    enrol_alice(&mut b);
    {
        let mut w = b.world.borrow_mut();
        w.clip_ms = Some(5_000);
        w.module_mut(BiometricKind::Finger).match_ms = 500;
    }
    // A wrong code: the failure sound and its reason, 10 s of speech.
    wrong_code(&mut b);
    assert!(b.world.borrow().playing_until > now(&b));
    let t = now(&b);
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Finger)
        .presented = Some("alice".into());
    b.wait(secs(1));
    let (at, call) = drive_after(&b, t).expect("the finger opened");
    assert_eq!(call, MotorCall::Drive(MotorDirection::Forward));
    assert!(
        at - t <= 500 + WITHIN_MS,
        "opened {} ms after the finger",
        at - t
    );
    assert!(b.ever_logged(LogEntry::Unlock {
        person: Some(n(2)),
        method: Method::Finger
    }));
}

#[test]
fn r_rsp_2_an_identification_that_ends_during_a_lockout_is_not_acted_on() {
    let mut b = Bench::installed();
    enrol_alice(&mut b);
    for _ in 0..4 {
        wrong_code(&mut b);
    }
    // Alice's finger is searched for 5 s; meanwhile the fifth wrong code
    // starts the lockout.
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Finger)
        .match_ms = 5_000;
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Finger)
        .presented = Some("alice".into());
    b.wait(millis(10));
    wrong_code(&mut b);
    assert!(b.heard(Prompt::SystemLocked), "{}", b.describe());
    b.clear_motor_calls();
    b.wait(secs(6));
    assert!(b.motor_calls().is_empty(), "{}", b.describe());
    assert_eq!(b.bolt(), BoltPosition::Locked);
}

#[test]
fn s_st_2_boot_hands_over_more_owed_work_than_a_lane_queue_holds() {
    let mut b = Bench::installed();
    enrol_alice(&mut b);
    // Sixty deletions owed to the fingerprint module (people deleted while
    // it failed, say): more than its lane's queue and the answers' queue
    // hold together, so boot must take answers while it hands work over.
    {
        b.desk.borrow_mut().owed_extra = (100..160)
            .map(|t| ModuleCommand::Delete {
                kind: BiometricKind::Finger,
                template: TemplateId(t),
            })
            .collect();
        let mut w = b.world.borrow_mut();
        w.module_mut(BiometricKind::Finger).calls.clear();
    }
    let done_before = b.desk.borrow().module_work_done;
    b.power_cycle();
    b.wait(secs(1));
    {
        let w = b.world.borrow();
        assert_eq!(w.modules[2].calls.len(), 60, "{:?}", w.modules[2].calls);
        assert_eq!(w.modules[2].calls[0], "delete 100");
        assert_eq!(
            b.desk.borrow().module_work_done,
            done_before + 1,
            "the store heard it is done"
        );
    }
    // The lock works, and the sensor listens again: Alice's finger opens.
    b.finger("alice");
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
}

#[test]
fn s_st_2_owed_work_on_a_failing_module_stays_owed() {
    let mut b = Bench::installed();
    {
        b.desk.borrow_mut().owed_extra = (0..3)
            .map(|t| ModuleCommand::Delete {
                kind: BiometricKind::Finger,
                template: TemplateId(t),
            })
            .collect();
        let mut w = b.world.borrow_mut();
        w.module_mut(BiometricKind::Finger).failing = true;
    }
    let done_before = b.desk.borrow().module_work_done;
    b.power_cycle();
    b.wait(secs(10));
    assert_eq!(b.desk.borrow().module_work_done, done_before);
    assert_eq!(
        b.desk.borrow().owed_extra.len(),
        3,
        "kept for the next boot"
    );
    // The keypad works meanwhile.
    b.touch();
    b.keys(&format!("{ADMIN_CODE} ok"));
    b.wait(secs(2));
    assert_eq!(b.bolt(), BoltPosition::Unlocked, "{}", b.describe());
}

#[test]
fn r_lko_1_a_finger_left_on_the_sensor_is_one_failed_attempt() {
    let mut b = Bench::installed();
    {
        let mut w = b.world.borrow_mut();
        let m = w.module_mut(BiometricKind::Finger);
        // A stranger's finger stays on the sensor after the module took it.
        m.held = true;
        m.presented = Some("mallory".into());
    }
    b.wait(secs(10));
    let failures = |b: &Bench| {
        b.journal
            .borrow()
            .iter()
            .filter(|r| matches!(r.entry, LogEntry::UnlockFailed { .. }))
            .count()
    };
    assert_eq!(failures(&b), 1, "{}", b.describe());
    assert!(!b.heard(Prompt::SystemLocked));
    // Lifted and put back: a second attempt.
    {
        let mut w = b.world.borrow_mut();
        let m = w.module_mut(BiometricKind::Finger);
        m.presented = None;
    }
    b.wait(millis(500));
    b.world
        .borrow_mut()
        .module_mut(BiometricKind::Finger)
        .presented = Some("mallory".into());
    b.wait(secs(10));
    assert_eq!(failures(&b), 2, "{}", b.describe());
}

#[test]
fn r_rsp_1_each_key_the_lock_takes_clicks_at_once_unless_a_prompt_plays() {
    let mut b = Bench::installed();
    b.touch();
    b.wait(secs(2));
    let quiet = b.world.borrow().clicks.len();
    // Typing a passcode: no prompt plays, each digit clicks as it is taken.
    b.keys("13579");
    {
        let w = b.world.borrow();
        let clicks = &w.clicks[quiet..];
        let pressed = &w.keys_pressed[w.keys_pressed.len() - 5..];
        assert_eq!(clicks.len(), 5, "{}", b.describe());
        for (p, c) in pressed.iter().zip(clicks) {
            assert!(
                c - p <= WITHIN_MS,
                "a key pressed at {p} ms clicked at {c} ms"
            );
        }
    }
    // ✓ clicks, then its failure plays; a key during the failure is taken
    // (R-RSP-1) but not clicked: the announcement answers it.
    b.world.borrow_mut().clip_ms = Some(2_000);
    b.keys("2 ok");
    let before = b.world.borrow().clicks.len();
    let from = presses(&b);
    b.keys("4");
    every_key_taken(&b, from);
    assert_eq!(b.world.borrow().clicks.len(), before, "{}", b.describe());
}
