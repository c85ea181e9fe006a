// written by the lock-core work
//! Placeholder until the lock-core work writes this example.

fn main() {}
