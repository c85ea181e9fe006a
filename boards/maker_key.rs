//! The maker's Ed25519 public key, built into each board's firmware by its
//! `build.rs` (`#[path = "../maker_key.rs"] mod maker_key;`): firmware
//! updates must be signed with its secret half. `LOCK_MAKER_PUBLIC_KEY`,
//! 64 hex digits as `lock-sign keygen` prints them (each board's README,
//! Firmware updates). Without it the key is all zeros, which
//! `verify_strict` refuses as a small-order key: such a firmware refuses
//! every update, and the build says so.

use std::{env, error::Error, fs, path::Path};

/// Writes `maker_key.rs` (`const MAKER_PUBLIC_KEY: [u8; 32]`) into `out`
/// for the firmware to `include!`.
pub fn write(out: &Path) -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-env-changed=LOCK_MAKER_PUBLIC_KEY");
    println!("cargo:rerun-if-changed=../maker_key.rs");
    let key = match env::var("LOCK_MAKER_PUBLIC_KEY") {
        Ok(hex) => parse_key(&hex)?,
        Err(env::VarError::NotPresent) => {
            println!(
                "cargo:warning=LOCK_MAKER_PUBLIC_KEY is not set: this firmware refuses every update"
            );
            [0; 32]
        }
        Err(e) => return Err(format!("LOCK_MAKER_PUBLIC_KEY: {e}").into()),
    };
    fs::write(
        out.join("maker_key.rs"),
        format!(
            "/// The maker's Ed25519 public key, from `LOCK_MAKER_PUBLIC_KEY` at build\n\
             /// time (build.rs); all zeros, which refuses every image, without it.\n\
             const MAKER_PUBLIC_KEY: [u8; 32] = {key:?};\n"
        ),
    )?;
    Ok(())
}

/// 64 hex digits (spaces and a `0x` prefix allowed) into the key's bytes.
fn parse_key(text: &str) -> Result<[u8; 32], Box<dyn Error>> {
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(
            "LOCK_MAKER_PUBLIC_KEY must be 64 hex digits (lock-sign keygen prints it)".into(),
        );
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(digits.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair)?, 16)?;
    }
    Ok(key)
}
