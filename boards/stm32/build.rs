//! Puts `memory.x` where cortex-m-rt's `link.x` finds it and links with
//! `link.x` and defmt's `defmt.x`. The link arguments live here rather than in
//! `.cargo/config.toml`, so that `cargo build -p lock-stm32 --target
//! thumbv7em-none-eabihf` from the workspace root links the same image as
//! `cargo run` in this directory (cargo reads `.cargo/config.toml` from the
//! directory it runs in). They apply to the binary only (`-bins`), so nothing
//! leaks into other packages of the workspace.
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
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");

    maker_key::write(&out)?;
    Ok(())
}
