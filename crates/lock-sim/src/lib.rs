//! The lock simulator. So far: the scenario file format of SPEC.md §8
//! ([`scenario`]); the runner and the terminal lock come with the simulator
//! work.

pub mod scenario;
