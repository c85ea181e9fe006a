//! The lock on a Cortex-M3 in QEMU (`mps2-an385`, semihosting): lock-sim's
//! scenario runner — the same parser, simulated world and runner as the
//! host's `lock-sim run`, on the real lock-core, lock-store and lock-runtime —
//! built for `thumbv7m-none-eabi`.
//!
//! Arguments come through semihosting (`-semihosting-config
//! enable=on,target=native,arg=qemu-mps2,arg=run,arg=FILE…`):
//!
//! - `run FILE…` runs scenario files (SPEC.md §8), read from the host through
//!   semihosting, and prints what the host's `lock-sim run` prints —
//!   `PASS file`, `FAIL file:line: …` or `ERROR …` a file, then `N passed, N
//!   failed` — then the stack's high-water mark. Exits 0 when all passed.
//! - `bench` prints instructions and stack per representative step as a
//!   Markdown table (`-icount shift=7`, see `counter`).
//!
//! `bash scripts/qemu.sh` builds it and runs both.

#![no_std]
#![no_main]

extern crate alloc;

mod bench;
mod counter;
mod heap;
mod stack;

use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;

use cortex_m_rt::entry;
use lock_sim::sim::{Outcome, run_text};
use semihosting::{io::Read as _, println};

const USAGE: &str = "usage: qemu-mps2 run FILE…   (scenario files, SPEC.md §8)
       qemu-mps2 bench         (instructions and stack per step; needs -icount shift=7)";

/// The semihosting command line can be this long.
const COMMAND_LINE_BYTES: usize = 16 * 1024;

#[entry]
fn main() -> ! {
    heap::init();
    counter::start();
    let args = arguments();
    // Whatever reading the arguments used is painted over: the mark covers
    // the run alone.
    let painted = stack::paint();
    let status = match args.split_first() {
        Some((cmd, files)) if cmd == "run" && !files.is_empty() => run(files, painted),
        Some((cmd, rest)) if cmd == "bench" && rest.is_empty() => bench::run(),
        _ => {
            println!("{USAGE}");
            2
        }
    };
    semihosting::process::exit(status)
}

/// The arguments after the program name. Kept out of `main`'s frame: the
/// command line buffer is large.
#[inline(never)]
fn arguments() -> Vec<String> {
    match semihosting::experimental::env::args::<COMMAND_LINE_BYTES>() {
        Ok(args) => (&args)
            .skip(1)
            .filter_map(Result::ok)
            .map(String::from)
            .collect(),
        Err(e) => {
            println!("qemu-mps2: no command line through semihosting: {e:?}");
            Vec::new()
        }
    }
}

/// Reads a whole file from the host.
fn read(path: &str) -> Result<String, String> {
    let name = CString::new(path).map_err(|_| String::from("a NUL in the path"))?;
    let mut file = semihosting::fs::File::open(&name).map_err(|e| alloc::format!("{e}"))?;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = file.read(&mut chunk).map_err(|e| alloc::format!("{e}"))?;
        match chunk.get(..n) {
            Some(read) if n > 0 => bytes.extend_from_slice(read),
            _ => break,
        }
    }
    String::from_utf8(bytes).map_err(|_| String::from("not UTF-8"))
}

/// Runs scenario files as the host's `lock-sim run` does, with its output
/// ([`Outcome::report`]).
fn run(files: &[String], painted: stack::Painted) -> i32 {
    let mut failed = 0usize;
    for file in files {
        let outcome = match read(file) {
            Ok(text) => run_text(&text),
            Err(e) => Outcome::Error {
                line: None,
                message: alloc::format!("cannot read: {e}"),
            },
        };
        if !outcome.passed() {
            failed = failed.saturating_add(1);
        }
        println!("{}", outcome.report(file));
    }
    let passed = files.len().saturating_sub(failed);
    println!("{passed} passed, {failed} failed");
    println!(
        "stack: high-water mark {} bytes (of {} painted); heap in use at the end {} bytes",
        painted.high_water(),
        stack::size(),
        heap::used()
    );
    i32::from(failed != 0)
}
