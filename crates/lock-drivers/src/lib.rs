#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Async methods in public traits, as embedded-hal-async and lock-hal have
// them: the drivers run on single-threaded executors, so no `Send` bound.
#![allow(async_fn_in_trait)]
#![doc = include_str!("../README.md")]

pub mod battery;
pub mod body;
pub mod buzzer;
#[cfg(feature = "embassy-time")]
pub mod clock;
mod deadline;
pub mod face;
pub mod fingerprint;
pub mod keypad;
pub mod matrix;
pub mod prompts;
pub mod switch;
pub mod voice;
