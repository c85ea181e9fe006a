//! The rule tests of SPEC.md §1–6, one module per part of the spec. Every test
//! names the rule it covers in its name (`r_lko_1_…`), so `cargo test -p
//! lock-core --test rules r_lko_1` runs one rule's tests.
//!
//! The tests drive the public API only, through the small test language in
//! `rules/harness.rs`: a bench with the lock, a clock, simulated biometric
//! modules, a lock body and a store.
//!
//! The modules live in `rules/`; a test crate's root looks for modules beside
//! itself, hence the `#[path]`s.

// clippy.toml lets `#[test]` functions unwrap and panic, but not the helpers
// of an integration test crate: here a failing helper should fail the test
// loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
#[path = "rules/harness.rs"]
mod harness;

#[path = "rules/alarms.rs"]
mod alarms;
#[path = "rules/app.rs"]
mod app;
#[path = "rules/locking.rs"]
mod locking;
#[path = "rules/lockout.rs"]
mod lockout;
#[path = "rules/matter.rs"]
mod matter;
#[path = "rules/menu.rs"]
mod menu;
#[path = "rules/menu_people.rs"]
mod menu_people;
#[path = "rules/outside_review.rs"]
mod outside_review;
#[path = "rules/passcodes.rs"]
mod passcodes;
#[path = "rules/people.rs"]
mod people;
#[path = "rules/people_credentials.rs"]
mod people_credentials;
#[path = "rules/unlock.rs"]
mod unlock;
