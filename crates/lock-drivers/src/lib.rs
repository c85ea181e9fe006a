#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod body;
mod deadline;
pub mod face;
pub mod fingerprint;
pub mod keypad;
pub mod voice;
