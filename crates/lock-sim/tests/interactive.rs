//! The interactive lock driven through tmux (`send-keys`, `capture-pane`) in
//! an 80×24 terminal: first start, an administrator created, an unlock, and
//! the state still there after a restart; the help, the keypad typed at
//! directly, and what a prompt means. Skipped when tmux is missing.

// A failing helper of an integration test should fail the test loudly, like
// the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(session: &str, command: &str) -> Tmux {
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                "80",
                "-y",
                "24",
                command,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux {
            session: session.to_string(),
        }
    }

    fn type_line(&self, line: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "-l", line])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "Enter"])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn key(&self, key: &str) {
        Command::new("tmux")
            .args(["send-keys", "-t", &self.session, key])
            .status()
            .unwrap();
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows every one of `needles` (generously: a
    /// loaded CI machine may be slow to start and draw).
    fn wait_for(&self, needles: &[&str]) -> String {
        self.wait_until(needles, &[])
    }

    /// Waits until the screen shows every one of `needles` and none of
    /// `gone`.
    fn wait_until(&self, needles: &[&str], gone: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if needles.iter().all(|n| screen.contains(n))
                && !gone.iter().any(|g| screen.contains(g))
            {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "never saw {needles:?} without {gone:?} on:\n{screen}"
            );
            sleep(Duration::from_millis(100));
        }
    }

    /// Types `text` key by key, with no Enter.
    fn type_keys(&self, text: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.session, "-l", text])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The session is gone already when the lock was quit.
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .stderr(Stdio::null())
            .status();
    }
}

/// The screen fits 80×24: nothing drawn beyond.
fn assert_fits(screen: &str) {
    assert!(screen.lines().count() <= 24, "{screen}");
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
}

/// A fresh lock-sim in its own tmux session and flash directory, so that
/// tests running at once do not meet.
fn start_fresh(name: &str) -> (Tmux, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("lock-sim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flash = dir.join("lock.flash");
    let bin = env!("CARGO_BIN_EXE_lock-sim");
    let session = format!("lock-sim-{name}-{}", std::process::id());
    let t = Tmux::start(
        &session,
        &format!("{bin} --fresh --flash {}", flash.display()),
    );
    (t, flash)
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn first_start_an_administrator_and_an_unlock_in_a_terminal() {
    if !tmux_available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("lock-sim-tui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flash = dir.join("lock.flash");
    let bin = env!("CARGO_BIN_EXE_lock-sim");
    let session = format!("lock-sim-test-first-{}", std::process::id());
    let command = |fresh: bool| {
        format!(
            "{bin} {}--flash {}",
            if fresh { "--fresh " } else { "" },
            flash.display()
        )
    };

    let t = Tmux::start(&session, &command(true));
    let screen = t.wait_for(&[
        "front",
        "rear / body",
        "voice",
        "event log",
        "door direction",
    ]);
    assert!(screen.contains("people 0"), "{screen}");
    // First start: right-opening door, then administrator 001.
    t.type_line("ok 1");
    t.wait_for(&["create an administrator"]);
    t.type_line("ok 482915 ok 482915 ok");
    let screen = t.wait_for(&["people 1", "menu", "user-added 001 (administrator)"]);
    assert!(screen.contains("mode   menu"), "{screen}");
    // Out of the menu, let the keypad go dark, then unlock.
    t.type_line("back");
    t.type_line("wait 30s");
    t.type_line("touch");
    t.type_line("482915 ok");
    t.wait_for(&["unlocked", "unlock 001 by passcode"]);
    t.type_line("wait 2s");
    let screen = t.wait_for(&["bolt   unlocked"]);
    assert_fits(&screen);
    t.key("Escape");
    sleep(Duration::from_millis(500));
    drop(t);

    // The state is in the flash file: a restart knows administrator 001.
    assert!(Path::new(&flash).exists());
    let t = Tmux::start(&session, &command(false));
    let screen = t.wait_for(&["people 1"]);
    assert!(!screen.contains("door direction"), "{screen}");
    t.key("Escape");
    sleep(Duration::from_millis(300));
}

/// A newcomer's way, from the screen alone: the first screen says to press
/// `?` and what the lock waits for; the help opens, pages and closes; the
/// keypad is typed at directly (digits as dots, Enter ✓, Backspace ↩); an
/// administrator, an unlock and a fingerprint enrolment follow what the
/// » line says.
#[test]
fn help_keypad_and_meanings_in_a_terminal() {
    if !tmux_available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let (t, _flash) = start_fresh("newcomer");
    let screen = t.wait_for(&[
        "press ? for help",
        "» door direction — ✓, then 1 right-opening or 2 left-opening",
        "PgUp/PgDn: log",
    ]);
    assert_fits(&screen);

    // The help over the whole screen, grouped, in pages.
    t.key("?");
    let screen = t.wait_for(&["help 1/", "keypad (front)", "keys 482915 ok"]);
    assert!(!screen.contains("rear / body"), "{screen}");
    assert_fits(&screen);
    t.key("PageDown");
    t.wait_for(&["help 2/", "biometrics", "finger alice"]);
    t.key("PageUp");
    t.wait_for(&["help 1/"]);
    t.key("Escape");
    t.wait_until(&["rear / body", "» door direction"], &["help 1/"]);

    // The keypad typed at directly: ✓ then 1 answers the door question.
    t.key("Enter");
    t.key("1");
    t.wait_for(&[
        "door-direction: right",
        "» create an administrator — ✓, then a 6–10 digit passcode",
    ]);
    t.key("Enter");
    t.wait_for(&["» enter a passcode — 6 to 10 digits, then ✓"]);
    t.type_keys("482915");
    let screen = t.wait_for(&["●●●●●●", "pressed 5"]);
    assert!(!screen.contains("●●●●●●●"), "{screen}");
    t.key("Enter");
    t.wait_until(&["» enter it again — the same digits, then ✓"], &["●"]);
    t.type_keys("482915");
    t.key("Enter");
    t.wait_for(&[
        "people 1",
        "user-added 001 (administrator)",
        "» menu — 1 add admin, 2 add user",
    ]);
    // Backspace is ↩: out of the menu; the keypad goes dark.
    t.key("BSpace");
    t.wait_for(&["mode   normal"]);
    t.type_line("wait 30s");
    t.wait_for(&["» keypad dark — type a passcode and Enter (✓) to open"]);

    // An unlock typed at the dark keypad: the first press wakes it too.
    t.type_keys("482915");
    t.wait_for(&["●●●●●●"]);
    t.key("Enter");
    t.wait_for(&["unlock 001 by passcode", "» unlocked"]);

    // A fingerprint enrolment, as the » line leads: `set`, the
    // administrator's passcode, 2 (add user), 3 (fingerprint), a finger.
    t.type_line("set");
    t.wait_for(&["» verify an administrator"]);
    t.type_keys("482915");
    t.key("Enter");
    t.wait_for(&["» menu — 1 add admin"]);
    t.key("2");
    t.wait_for(&["» choose a credential — 1 face, 2 palm, 3 fingerprint"]);
    t.key("3");
    t.wait_for(&["» enrol: present the finger — `finger NAME`"]);
    t.type_line("finger alice");
    let screen = t.wait_for(&["finger 1 stored", "people 2", "user-added 002 (user)"]);
    assert_fits(&screen);

    // A step that is not one says so, on screen.
    t.type_line("frobnicate");
    t.wait_for(&["not a step", "? for help"]);
    t.key("Escape");
    sleep(Duration::from_millis(300));
}
