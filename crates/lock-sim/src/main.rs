//! `lock-sim [--fresh] [--flash FILE] [--matter [--iface IFACE]]`: the
//! interactive lock in the terminal, its state kept in `FILE` (default
//! `lock-sim.flash`); with `--matter` (built with the `matter` feature) the
//! Matter Door Lock device runs beside it, as in `lock-sim matter`, and
//! the footer shows the pairing codes while commissioning is open.
//!
//! `lock-sim run FILE…`: runs scenario files (SPEC.md §8), each from a
//! factory-fresh lock, and prints `PASS file` or `FAIL file:line: …` per
//! file. Exits non-zero if any file failed.
//!
//! `lock-sim energy FILE [--markdown]`: runs one scenario with its energy
//! account, twice (the radio always listening, and listening only while
//! the lock is awake and a minute after: R-NRG-3), and prints each board's
//! day and battery life (R-NRG-2) as plain text, or as Markdown. Exits
//! non-zero, naming the failure, if the scenario does not pass.
//!
//! `lock-sim matter [--iface IFACE] [--fresh] [--flash FILE]` (built with
//! the `matter` feature): the lock in real time with a Matter Door Lock
//! beside it, stepped from stdin (tests/matter/README.md). Without the
//! feature it says so and exits 2.

use std::process::ExitCode;

use lock_sim::sim::{Outcome, run_text};

const USAGE: &str = "usage: lock-sim [--fresh] [--flash FILE] [--matter [--iface IFACE]]
                                            (the interactive lock)
       lock-sim run FILE…                   (run scenario files, SPEC.md §8)
       lock-sim energy FILE [--markdown]    (a day's energy, R-NRG-2)
       lock-sim matter [--iface IFACE] [--fresh] [--flash FILE]
                                            (the lock with a Matter Door Lock, SPEC §10)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((cmd, files)) if cmd == "run" && !files.is_empty() => run(files),
        Some((cmd, rest)) if cmd == "energy" => energy(rest),
        Some((cmd, rest)) if cmd == "matter" => matter(rest),
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
        matter: None,
    };
    let mut iface = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match (arg.as_str(), it.clone().next()) {
            ("--fresh", _) => options.fresh = true,
            ("--matter", _) => options.matter = Some(None),
            ("--iface", Some(name)) => {
                iface = Some(name.clone());
                it.next();
            }
            ("--flash", Some(path)) => {
                options.flash = path.into();
                it.next();
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match (&mut options.matter, iface) {
        (Some(on), iface) => *on = iface,
        (None, Some(_)) => {
            eprintln!("lock-sim: --iface is for --matter\n{USAGE}");
            return ExitCode::from(2);
        }
        (None, None) => {}
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

fn energy(args: &[String]) -> ExitCode {
    let mut markdown = false;
    let mut file = None;
    for arg in args {
        match arg.as_str() {
            "--markdown" => markdown = true,
            _ if file.is_none() && !arg.starts_with("--") => file = Some(arg.as_str()),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match std::fs::read_to_string(file) {
        Ok(text) => lock_sim::power::run_both(&text),
        Err(e) => Err(Outcome::Error {
            line: None,
            message: format!("cannot read: {e}"),
        }),
    };
    match result {
        Ok(runs) => {
            let out = if markdown {
                lock_sim::power::render_markdown(file, &runs)
            } else {
                lock_sim::power::render_text(file, &runs)
            };
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(outcome) => {
            eprintln!("{}", outcome.report(file));
            eprintln!("lock-sim energy: the scenario must pass to be measured");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "matter")]
fn matter(args: &[String]) -> ExitCode {
    let mut options = lock_sim::matter::Options {
        iface: None,
        fresh: false,
        flash: lock_sim::tui::DEFAULT_FLASH.into(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match (arg.as_str(), it.clone().next()) {
            ("--fresh", _) => options.fresh = true,
            ("--iface", Some(iface)) => {
                options.iface = Some(iface.clone());
                it.next();
            }
            ("--flash", Some(path)) => {
                options.flash = path.into();
                it.next();
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    // rs-matter's own log lines go to stderr (RUST_LOG, default warn);
    // stdout is the step protocol.
    env_logger::Builder::from_env(env_logger::Env::default().filter_or("RUST_LOG", "warn"))
        .target(env_logger::Target::Stderr)
        .init();
    match lock_sim::matter::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lock-sim matter: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "matter"))]
fn matter(_: &[String]) -> ExitCode {
    eprintln!("lock-sim: built without Matter (cargo build -p lock-sim --features matter)");
    ExitCode::from(2)
}
