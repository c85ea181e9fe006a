#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Async methods in public traits, as embedded-hal-async has them: the
// implementations run on single-threaded executors, so no `Send` bound.
#![allow(async_fn_in_trait)]
#![doc = include_str!("../README.md")]

// First: its macros are used by the modules below.
#[macro_use]
mod fmt;

mod app;
mod board;
mod lanes;
mod link;
mod map;
mod pattern;
#[cfg(feature = "lock-proto")]
mod proto;
mod runtime;
mod store;
#[cfg(feature = "lock-proto")]
mod update;
mod wakes;

pub use app::{App, AppContext, AppEvent, AppIdentity, NoApp};
pub use board::{Board, Hardware};
pub use lanes::{INPUT_BACKOFF_FIRST, INPUT_BACKOFF_MAX};
pub use link::{FrameVerdict, LINK_AUTH_TIMEOUT, LINK_PAIRING_GRACE, LinkGuard, LinkState};
pub use map::announcement;
pub use pattern::{BLINK_HALF_PERIOD, FLASH, SPELL_DIGIT, SPELL_GAP};
#[cfg(feature = "lock-proto")]
pub use proto::{ProtoApp, ProtoAppError};
pub use runtime::{
    BRAKE_TIME, Boot, BootFault, INRUSH_BLANK, LOAD_ATTEMPTS, RADIO_LINGER, Runtime, STORE_RETRIES,
    View,
};
pub use store::{
    APP_RECORD_MAX, APP_SLOTS, LOG_PAGE, LogPage, MEMORY_LOG_CAPACITY, MemoryStore,
    MemoryStoreError, StateStore, StoreError, StoreErrorKind,
};
#[cfg(feature = "lock-update")]
pub use update::SlotUpdater;
#[cfg(feature = "lock-proto")]
pub use update::{NoUpdates, Updater};
pub use wakes::{WakeCause, Wakes};
