//! Puts `memory.x` where the linker finds it and links with cortex-m-rt's
//! `link.x`. The link arguments apply to the binary only (`-bins`), so that
//! nothing leaks into other packages of the workspace.

use std::{env, error::Error, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);
    fs::write(out.join("memory.x"), include_bytes!("memory.x"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    // Line-table rows of the code the linker discarded point nowhere
    // instead of at address 0, so that scripts/size-report.sh can attribute
    // each instruction to the source file it came from.
    println!("cargo:rustc-link-arg-bins=-zdead-reloc-in-nonalloc=.debug_line=0xffffffff");
    Ok(())
}
