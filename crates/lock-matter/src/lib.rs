#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod bridge;
#[cfg(feature = "rs-matter")]
pub mod cluster;
pub mod commissioning;
pub mod map;

pub use bridge::{Answer, Bridge, LockView, MatterApp, Request, UserRecord};
pub use commissioning::{Fabrics, Look, Plan, Window};
