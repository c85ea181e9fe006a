//! The board's link arguments live here rather than in `.cargo/config.toml`,
//! so that `cargo build -p lock-esp32c3 --target riscv32imc-unknown-none-elf`
//! from the workspace root links too (cargo reads `.cargo/config.toml` from the
//! directory it runs in, not from the package's).
//!
//! It also builds in the maker's Ed25519 public key, which firmware updates
//! must be signed with: `LOCK_MAKER_PUBLIC_KEY`, 64 hex digits, as
//! `lock-sign keygen` prints it (README.md, Firmware updates). Without it
//! the key is all zeros, which `verify_strict` refuses as a small-order
//! key: such a firmware refuses every update.

use std::{env, error::Error, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    // esp-hal's linker script: memory map, sections, the ROM functions.
    println!("cargo:rustc-link-arg-bins=-Tlinkall.x");
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);

    println!("cargo:rerun-if-env-changed=LOCK_MAKER_PUBLIC_KEY");
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
