//! The board's link arguments live here rather than in `.cargo/config.toml`,
//! so that `cargo build -p lock-esp32c3 --target riscv32imc-unknown-none-elf`
//! from the workspace root links too (cargo reads `.cargo/config.toml` from the
//! directory it runs in, not from the package's).
//!
//! It also builds in the maker's Ed25519 public key (`../maker_key.rs`).

use std::{env, error::Error, path::PathBuf};

#[path = "../maker_key.rs"]
mod maker_key;

fn main() -> Result<(), Box<dyn Error>> {
    // esp-hal's linker script: memory map, sections, the ROM functions.
    println!("cargo:rustc-link-arg-bins=-Tlinkall.x");
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);

    maker_key::write(&out)?;
    Ok(())
}
