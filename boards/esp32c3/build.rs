//! The board's link arguments live here rather than in `.cargo/config.toml`,
//! so that `cargo build -p lock-esp32c3 --target riscv32imc-unknown-none-elf`
//! from the workspace root links too (cargo reads `.cargo/config.toml` from the
//! directory it runs in, not from the package's).

fn main() {
    // esp-hal's linker script: memory map, sections, the ROM functions.
    println!("cargo:rustc-link-arg-bins=-Tlinkall.x");
}
