//! `lock-sim [--fresh] [--flash FILE]`: the interactive lock in the terminal,
//! its state kept in `FILE` (default `lock-sim.flash`).
//!
//! `lock-sim run FILE…`: runs scenario files (SPEC.md §8), each from a
//! factory-fresh lock, and prints `PASS file` or `FAIL file:line: …` per
//! file. Exits non-zero if any file failed.

use std::process::ExitCode;

use lock_sim::sim::{Outcome, run_text};

const USAGE: &str = "usage: lock-sim [--fresh] [--flash FILE]   (the interactive lock)
       lock-sim run FILE…                   (run scenario files, SPEC.md §8)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((cmd, files)) if cmd == "run" && !files.is_empty() => run(files),
        Some((cmd, _)) if cmd == "-h" || cmd == "--help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => interactive(&args),
    }
}

fn interactive(args: &[String]) -> ExitCode {
    let mut options = lock_sim::tui::Options {
        flash: lock_sim::tui::DEFAULT_FLASH.into(),
        fresh: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--fresh" => options.fresh = true,
            "--flash" => match it.next() {
                Some(path) => options.flash = path.into(),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match lock_sim::tui::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lock-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(files: &[String]) -> ExitCode {
    let mut failed = 0usize;
    for file in files {
        let outcome = match std::fs::read_to_string(file) {
            Ok(text) => run_text(&text),
            Err(e) => Outcome::Error {
                line: None,
                message: format!("cannot read: {e}"),
            },
        };
        if !outcome.passed() {
            failed = failed.saturating_add(1);
        }
        println!("{}", outcome.report(file));
    }
    let passed = files.len().saturating_sub(failed);
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
