//! Property tests of [`Lock`](lock_core::Lock): invariants that hold after every event of an
//! arbitrary sequence.
//!
//! The sequences are built to reach the states that matter, not only noise:
//! - they start from a factory-fresh lock, from a lock set up at the keypad
//!   (door direction, first administrator, a user with a passcode, a user with a
//!   fingerprint, an administrator with a face), or from a restored lock that
//!   is one short of every capacity (R-USR-2/3);
//! - next to single random events (every [`Event`](lock_core::Event) kind, invalid digits,
//!   battery values above 100, every app command and privilege) they contain
//!   scripted chunks: typing a stored passcode with extra digits around it
//!   (R-PIN-4), presenting a stored template, completing the enrollment the
//!   lock asked for, opening the menu and adding a person with one to three
//!   credentials, deleting a person at the keypad, bursts of wrong entries,
//!   pairing, power cuts (restore from the snapshot, then `Boot`) and factory
//!   resets;
//! - time moves on by 0 ms to 30 min between inputs, with or without the tick
//!   a runtime sends at [`Lock::next_deadline`](lock_core::Lock::next_deadline).
//!
//! `coverage::sequences_reach_interesting_states` checks that they do reach
//! those states.
//!
//! The modules, in `properties/`:
//! - `inputs`: the passcode pool, the inputs a sequence is made of and the
//!   strategies for single events;
//! - `scripts`: the scripted chunks, how a sequence starts, whole sequences;
//! - `run`: the lock each start begins from, and running a sequence, one
//!   [`Step`](run::Step) per handled event;
//! - `checks`: what the properties look for in a step, and their proptest
//!   configuration;
//! - the tests: `invariants` (the properties over arbitrary sequences, with
//!   their persisted failure seeds beside them in
//!   `invariants.proptest-regressions`), `passcode_entry` (R-PIN-4 at the
//!   lock), `coverage` (the generator reaches what it should) and `found` (the
//!   cases the properties found, kept as plain tests).
//!
//! A test crate's root looks for modules beside itself, hence the `#[path]`s.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: here a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "properties/checks.rs"]
mod checks;
#[path = "properties/inputs.rs"]
mod inputs;
#[path = "properties/run.rs"]
mod run;
#[path = "properties/scripts.rs"]
mod scripts;

#[path = "properties/coverage.rs"]
mod coverage;
#[path = "properties/found.rs"]
mod found;
#[path = "properties/invariants.rs"]
mod invariants;
#[path = "properties/passcode_entry.rs"]
mod passcode_entry;
