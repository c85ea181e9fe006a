//! The interactive lock driven through tmux (`send-keys`, `capture-pane`) in
//! an 80×24 terminal: first start, an administrator created, an unlock, and
//! the state still there after a restart. Skipped when tmux is missing.

// A failing helper of an integration test should fail the test loudly, like
// the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;
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

    /// Waits until the screen shows every one of `needles`.
    fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "never saw {needles:?} on:\n{screen}"
            );
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
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
    let session = format!("lock-sim-test-{}", std::process::id());
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
        "door-direction",
    ]);
    assert!(screen.contains("people 0"), "{screen}");
    // First start: right-opening door, then administrator 001.
    t.type_line("ok 1");
    t.wait_for(&["create-administrator"]);
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
    // 80×24: nothing drawn beyond.
    assert!(screen.lines().count() <= 24, "{screen}");
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    t.key("Escape");
    sleep(Duration::from_millis(500));
    drop(t);

    // The state is in the flash file: a restart knows administrator 001.
    assert!(Path::new(&flash).exists());
    let t = Tmux::start(&session, &command(false));
    let screen = t.wait_for(&["people 1"]);
    assert!(!screen.contains("door-direction"), "{screen}");
    t.key("Escape");
    sleep(Duration::from_millis(300));
}
