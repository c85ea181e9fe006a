#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
//!
//! # What is here
//!
//! [`map`]: every value the Door Lock cluster and the lock exchange, as
//! plain functions over lock-core's types — user indices and person
//! numbers, PINs from a command's octets, user and credential types,
//! LockState and DoorState, each refusal's cluster status, and the event
//! each log record raises.
//!
//! [`bridge`]: [`Bridge`] and [`MatterApp`], between the Matter stack's
//! tasks and lock-runtime's control loop.
//!
//! `cluster` (feature `rs-matter`): the Door Lock cluster handler on
//! rs-matter 0.4.1, reading the bridge's view and asking the core.
//!
//! # Why not rs-matter's types here
//!
//! rs-matter generates every cluster of the Matter data model on each build
//! (about five minutes on the project's machines): the mapping keeps to
//! lock-core's types and the cluster's wire values, so its tests and its
//! fuzz target build in seconds and a board without Matter never compiles
//! the stack.

pub mod bridge;
#[cfg(feature = "rs-matter")]
pub mod cluster;
pub mod map;

pub use bridge::{Answer, Bridge, LockView, MatterApp, Request, UserRecord};
