//! The lock simulator: simulated hardware behind the real `lock-hal` traits
//! ([`world`]), running the real `lock-runtime` with `lock-core` and
//! `lock-store` ([`sim`]), driven by scenario files ([`scenario`], SPEC.md
//! §8), and an interactive lock in the terminal ([`tui`], with its
//! [`help`] and the prompts' [`meaning`]s).
//! `cargo run -p lock-sim -- run FILE…` runs scenarios; `cargo run -p
//! lock-sim` starts the interactive lock.
//!
//! Without the default `std` feature the scenario parser, the simulated
//! world and the runner are `no_std` + `alloc`, so that a board (such as
//! `boards/qemu-mps2`) runs the same scenarios on its own target; `std` adds
//! the terminal lock and the file-backed flash. `matter` adds `lock-sim
//! matter` (module `matter`, only with the feature): the lock in real time
//! with an rs-matter Door Lock device beside it.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod energy;
pub mod firmware;
pub mod help;
#[cfg(feature = "matter")]
pub mod matter;
pub mod meaning;
pub mod power;
pub mod scenario;
pub mod sim;
pub mod timing;
#[cfg(feature = "std")]
pub mod tui;
pub mod world;

/// The README's examples, run as doctests (the crate docs are above).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
