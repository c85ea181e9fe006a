//! What SECURITY.md asks of every board that implements these traits, read
//! from the workspace's `boards/` (the board crates build only for their
//! targets, so their documentation is checked here, on the host).

use std::fs;
use std::path::{Path, PathBuf};

/// The text of a README's `## Security posture (S-HW-2)` section.
fn security_section(readme: &str) -> Option<String> {
    let start = readme.find("\n## Security posture (S-HW-2)\n")?;
    let body = &readme[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |i| i + 3);
    Some(body[..end].to_lowercase())
}

#[test]
fn s_hw_2_every_board_documents_readout_protection_secure_boot_and_timing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards");
    let mut boards: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    boards.sort();
    assert!(boards.len() >= 4, "boards found: {boards:?}");
    for board in &boards {
        let name = board.display();
        let readme = fs::read_to_string(board.join("README.md"))
            .unwrap_or_else(|e| panic!("{name}/README.md: {e}"));
        let section = security_section(&readme)
            .unwrap_or_else(|| panic!("{name}/README.md has no \"## Security posture (S-HW-2)\""));
        for (what, words) in [
            ("readout protection", &["readout", "readable"][..]),
            ("secure boot", &["secure boot"][..]),
            ("constant-time caveats of its core", &["constant-time"][..]),
        ] {
            assert!(
                words.iter().any(|w| section.contains(w)),
                "{name}/README.md's security posture does not say anything about {what}"
            );
        }
        // A board that runs on a chip reports its protection at boot; only
        // an emulator, which protects nothing, may leave that out, and a
        // boot loader (a `-boot` package), whose firmware reports it.
        let reports = fs::read_to_string(board.join("src/main.rs"))
            .is_ok_and(|main| main.contains("security::report("));
        let boot_loader = board
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("-boot"));
        assert!(
            reports
                || section.contains("emulator")
                || (boot_loader && section.contains("the firmware it starts reports")),
            "{name}: the firmware does not report its security posture at boot (security::report)"
        );
    }
}
