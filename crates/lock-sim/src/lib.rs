//! The lock simulator: simulated hardware behind the real `lock-hal` traits
//! ([`world`]), running the real `lock-runtime` with `lock-core` and
//! `lock-store` ([`sim`]), driven by scenario files ([`scenario`], SPEC.md
//! §8), and an interactive lock in the terminal ([`tui`]).
//! `cargo run -p lock-sim -- run FILE…` runs scenarios; `cargo run -p
//! lock-sim` starts the interactive lock.

pub mod scenario;
pub mod sim;
pub mod tui;
pub mod world;
