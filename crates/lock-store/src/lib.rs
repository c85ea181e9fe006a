#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests build small numbers from loop counters and random bytes.
#![cfg_attr(test, allow(clippy::cast_possible_truncation))]
#![doc = include_str!("../README.md")]

#[cfg(feature = "mock-flash")]
extern crate alloc;

mod error;
#[cfg(feature = "mock-flash")]
pub mod mock_flash;
mod record;
mod store;

pub use error::{ConfigError, StoreError};
pub use record::{FORMAT_VERSION, MODULE_WORK_CAPACITY, ModuleWork};
pub use store::{Loaded, Logged, Store, StoreConfig};

/// App record slots the store keeps for the app protocol (`lock-proto`: its
/// identity, each pairing's key record and counter record, the boot count):
/// `0..APP_SLOTS`.
pub const APP_SLOTS: u8 = 34;

/// The largest app record, in bytes.
pub const APP_RECORD_MAX: usize = 128;

/// Runs the store on a blocking flash driver (embedded-storage's
/// `NorFlash`): `Store::new(BlockingAsync::new(flash), config)`. Each
/// operation blocks the executor for the flash's write or erase time.
#[cfg(feature = "blocking")]
pub use embassy_embedded_hal::adapter::BlockingAsync;
