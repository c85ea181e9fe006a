//! Puts `memory.x` where the linker finds it and passes the board's link
//! arguments. They live here rather than in `.cargo/config.toml`, so that
//! `cargo build -p lock-rp2040 --target thumbv6m-none-eabi` from the
//! workspace root links too (cargo reads `.cargo/config.toml` from the
//! directory it runs in, not from the package's); `-bins` keeps them off
//! every other package of the workspace.
//!
//! It also builds in the maker's Ed25519 public key (`../maker_key.rs`).

use std::{env, error::Error, fs, path::PathBuf};

#[path = "../maker_key.rs"]
mod maker_key;

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);
    fs::write(out.join("memory.x"), include_bytes!("memory.x"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    // cortex-m-rt's sections and defmt's symbol table. Not embassy-rp's
    // link-rp.x: BOOT2 is the boot loader's (boards/rp2040-boot), and
    // memory.x discards this image's copy.
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");

    maker_key::write(&out)?;
    Ok(())
}
