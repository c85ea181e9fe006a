//! The scenario runner end to end, through the `lock-sim` binary: every file
//! in `scenarios/` passes, and a failing or malformed scenario is reported
//! with its file, line, the expectation and what was seen, exiting non-zero.

// A failing helper of an integration test should fail the test loudly, like
// the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn lock_sim(args: &[&Path]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lock-sim"));
    cmd.arg("run");
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lock-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_scenario_in_the_folder_passes() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lock"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "only {} scenarios", files.len());
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = lock_sim(&refs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.matches("PASS ").count(), files.len(), "{stdout}");
}

#[test]
fn a_failing_expectation_names_file_line_expectation_and_what_was_seen() {
    let bad = temp_file(
        "wrong-bolt.lock",
        "# the bolt does not open by itself\nkeys ok 1\nexpect bolt unlocked\n",
    );
    let good = temp_file("fresh.lock", "expect bolt locked\nexpect users 0\n");
    let out = lock_sim(&[&good, &bad]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("PASS {}", good.display())),
        "{stdout}"
    );
    let want = format!(
        "FAIL {}:3: expected `expect bolt unlocked`, saw bolt locked",
        bad.display()
    );
    assert!(stdout.contains(&want), "{stdout}");
}

#[test]
fn an_unknown_step_is_an_error_naming_its_line() {
    let bad = temp_file("unknown.lock", "touch\n\nfly away\n");
    let out = lock_sim(&[&bad]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("{}:3: unknown step `fly`", bad.display())),
        "{stdout}"
    );
}

#[test]
fn power_cycle_reloads_from_the_simulated_flash() {
    let file = temp_file(
        "power.lock",
        "keys ok 1\nkeys ok\nkeys 482915 ok 482915 ok\nkeys back\nexpect users 1\n\
         power-cycle\nexpect users 1\ntouch\nkeys 482915 ok\nexpect event unlock\n\
         wait 2s\nexpect bolt unlocked\n",
    );
    let out = lock_sim(&[&file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
