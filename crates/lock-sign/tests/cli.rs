//! The tool end to end: a throwaway key in a temporary directory, a signed
//! image, verification by the lock's own verifier, and clear refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lock-sign"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh directory under the system temp dir (no tempfile dependency).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lock-sign-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn public_of(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("public key: "))
        .expect("a public key line");
    line.trim_start_matches("public key: ").to_owned()
}

#[test]
fn keygen_sign_verify_and_refusals() {
    let dir = scratch("flow");
    let keygen = run(&dir, &["keygen", "test.key"]);
    assert!(keygen.status.success(), "{}", text(&keygen));
    let mode = std::fs::metadata(dir.join("test.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(text(&keygen).contains("[u8; 32] = [0x"));
    let public = public_of(&keygen);

    // An existing key is never overwritten.
    let again = run(&dir, &["keygen", "test.key"]);
    assert!(!again.status.success());

    std::fs::write(dir.join("fw.bin"), vec![0x5Au8; 3000]).unwrap();
    let args = [
        "sign",
        "--key",
        "test.key",
        "--version",
        "1.2.3",
        "--counter",
        "4",
        "--board",
        "pico-w",
        "fw.bin",
        "fw.odlu",
    ];
    let sign = run(&dir, &args);
    assert!(sign.status.success(), "{}", text(&sign));

    let ok = run(
        &dir,
        &[
            "verify",
            "--public",
            &public,
            "--board",
            "pico-w",
            "--counter",
            "4",
            "fw.odlu",
        ],
    );
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("valid"));

    // What the lock would refuse, the tool refuses.
    for (extra, why) in [
        (vec!["--board", "nucleo-l476rg"], "another board"),
        (vec!["--counter", "5"], "security counter"),
    ] {
        let mut args = vec!["verify", "--public", public.as_str()];
        args.extend(extra);
        args.push("fw.odlu");
        let out = run(&dir, &args);
        assert!(!out.status.success());
        assert!(text(&out).contains(why), "{}", text(&out));
    }
    let mut image = std::fs::read(dir.join("fw.odlu")).unwrap();
    image[500] ^= 1;
    std::fs::write(dir.join("bad.odlu"), &image).unwrap();
    let bad = run(&dir, &["verify", "--public", &public, "bad.odlu"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("digest"), "{}", text(&bad));

    let other = public_of(&run(&dir, &["keygen", "other.key"]));
    let wrong = run(&dir, &["verify", "--public", &other, "fw.odlu"]);
    assert!(!wrong.status.success());
    assert!(text(&wrong).contains("signature"), "{}", text(&wrong));

    for args in [
        vec!["sign", "--key", "test.key", "fw.bin"],
        vec!["verify", "--public", "zz", "fw.odlu"],
        vec!["frobnicate"],
    ] {
        let out = run(&dir, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
