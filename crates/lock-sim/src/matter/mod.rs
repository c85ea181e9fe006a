//! `lock-sim matter`: the simulated lock in real time with a Matter Door
//! Lock device beside it (SPEC §10), driven line by line on stdin: the
//! contract the controller tests rely on (tests/matter/README.md).
//!
//! - The lock runs on the main thread (the simulator is single-threaded),
//!   its virtual clock following the wall clock: every ~10 ms, or when a
//!   line arrives, it is moved on by the real time elapsed. A step takes
//!   its pace (200 ms) of lock time at once; `wait D` takes D of real time.
//! - Stdin is read on a thread of its own. Each line is a scenario step or
//!   expect (SPEC §8) and gets exactly one `ok` or `fail: MESSAGE` on
//!   stdout; a failed expect does not end the process; end of input does.
//!   The flash (and `FILE.world`) is saved after every line.
//! - Every log record the lock writes is printed as `log: …` (before the
//!   answer to the step that wrote it); a fabric's read `matter fabric N`.
//! - The Matter device ([`device`]) runs on a thread of its own and meets
//!   the lock over lock-matter's bridge, with the runtime's app side
//!   lock-matter's `MatterApp`.

pub mod device;
pub mod onboarding;

use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use lock_core::Duration;

use crate::scenario::{Step, parse_step};
use crate::sim::{MatterBridge, Sim, SimError, describe};
use crate::tui::{load_world, save, world_path};
use crate::world::{flash_layout, open_flash};

/// How often the lock's clock catches up with the wall clock when no line
/// comes.
const TICK: StdDuration = StdDuration::from_millis(10);

/// `lock-sim matter`'s options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The interface the device's mDNS binds to.
    pub iface: Option<String>,
    /// Start factory-new: the flash, the world, the onboarding codes and
    /// the fabrics are replaced.
    pub fresh: bool,
    /// The flash image file; the rest lives beside it.
    pub flash: PathBuf,
}

/// `FILE` + `suffix`.
fn beside(flash: &Path, suffix: &str) -> PathBuf {
    let mut p = flash.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Where the fabrics are kept: `FILE.matter/`.
pub fn kv_dir(flash: &Path) -> PathBuf {
    beside(flash, ".matter")
}

/// Where the onboarding codes are kept: `FILE.onboarding`.
pub fn onboarding_path(flash: &Path) -> PathBuf {
    beside(flash, ".onboarding")
}

fn remove(path: &Path) -> io::Result<()> {
    let r = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match r {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes the device's files beside `flash` (its onboarding codes and
/// fabrics): the next start is a factory-new device.
pub fn remove_files(flash: &Path) -> io::Result<()> {
    remove(&onboarding_path(flash))?;
    remove(&kv_dir(flash))
}

/// The Matter device's half of a simulated lock: the bridge the lock's
/// runtime serves and the count of power cycles the device follows, both
/// shared with the device's thread for the life of the process.
#[derive(Clone, Copy)]
pub struct Beside {
    bridge: &'static MatterBridge,
    power_cycles: &'static AtomicU32,
    codes: onboarding::Onboarding,
}

impl Beside {
    /// A bridge and a count for the device of the lock whose flash file is
    /// `flash` (leaked: its thread runs until the process ends), with its
    /// onboarding codes, kept beside the flash (drawn at the first start).
    pub fn new(flash: &Path) -> io::Result<Beside> {
        Ok(Beside {
            bridge: Box::leak(Box::new(MatterBridge::new())),
            power_cycles: Box::leak(Box::new(AtomicU32::new(0))),
            codes: onboarding::Onboarding::load_or_draw(&onboarding_path(flash))?,
        })
    }

    /// `sim`, its runtime's app side serving the device and its system
    /// information speaking the manual pairing code (before it boots).
    pub fn serve(&self, sim: Sim) -> Sim {
        sim.with_matter(self.bridge, self.codes.manual_code())
    }

    /// The lock was power-cycled: the device closes its window (R-MNU-7).
    pub fn power_cycled(&self) {
        self.power_cycles.fetch_add(1, Ordering::AcqRel);
    }

    /// Starts the device (after the lock booted): its fabrics beside
    /// `flash`, mDNS on `iface`, what it says to `say`.
    pub fn start(
        &self,
        flash: &Path,
        iface: Option<String>,
        say: impl Fn(device::Said) + Send + 'static,
    ) -> Result<(), Box<dyn std::error::Error>> {
        device::spawn(device::Device {
            iface,
            kv_dir: kv_dir(flash),
            codes: self.codes,
            bridge: self.bridge,
            power_cycles: self.power_cycles,
            say: Box::new(say),
        })?;
        Ok(())
    }
}

/// Runs the lock and its device until stdin ends.
pub fn run(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let flash_path = &options.flash;
    if options.fresh {
        remove(flash_path)?;
        remove(&world_path(flash_path))?;
        remove_files(flash_path)?;
    }
    let beside = Beside::new(flash_path)?;
    let (_, sectors) = flash_layout();
    let mut sim = beside.serve(Sim::unpowered(open_flash(flash_path, sectors)));
    load_world(&sim, flash_path);
    sim.boot()?;
    beside.start(flash_path, options.iface.clone(), |said| println!("{said}"))?;

    let lines = stdin_lines()?;
    let mut live = Live {
        sim,
        clock: Clock::new(0),
        printed: 0,
        beside,
    };
    live.clock = Clock::new(live.sim.now_ms());
    live.print_logs();
    loop {
        match lines.recv_timeout(TICK) {
            Ok(line) => {
                live.follow()?;
                let answer = live.line(&line)?;
                live.print_logs();
                // Kept after every line, as the terminal lock does: a
                // process that is killed loses no step.
                save(&live.sim, flash_path)?;
                println!("{answer}");
            }
            Err(RecvTimeoutError::Timeout) => live.follow()?,
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    save(&live.sim, flash_path)?;
    Ok(())
}

/// Stdin's lines, read on a thread of their own; the channel closes at
/// the end of input.
fn stdin_lines() -> io::Result<mpsc::Receiver<String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}

/// The lock's clock against the wall clock.
struct Clock {
    /// Wall clock at `base_ms`.
    started: StdInstant,
    /// Lock time at `started`.
    base_ms: u64,
}

impl Clock {
    fn new(now_ms: u64) -> Clock {
        Clock {
            started: StdInstant::now(),
            base_ms: now_ms,
        }
    }

    /// The lock time the wall clock says it is.
    fn target_ms(&self) -> u64 {
        let real = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.base_ms.saturating_add(real)
    }
}

/// The running lock with its printer.
struct Live {
    sim: Sim,
    clock: Clock,
    /// Log records printed so far.
    printed: usize,
    beside: Beside,
}

impl Live {
    /// Lock time catches up with the wall clock, and whatever the Matter
    /// side asked meanwhile is handled (the runtime is polled even when no
    /// time passes).
    fn follow(&mut self) -> Result<(), SimError> {
        let now = self.sim.now_ms();
        let target = self.clock.target_ms();
        self.sim
            .wait(Duration::from_millis(target.saturating_sub(now)))?;
        self.print_logs();
        Ok(())
    }

    /// Prints the log records written since the last call.
    fn print_logs(&mut self) {
        let w = self.sim.world.borrow();
        for record in w.log.get(self.printed..).unwrap_or_default() {
            println!("log: {}", describe(&record.entry));
        }
        self.printed = w.log.len();
    }

    /// One line of input: its answer (`ok`, `fail: …`). An `Err` is the
    /// simulator's own failure (the runtime stopped): the process ends.
    fn line(&mut self, line: &str) -> Result<String, SimError> {
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            return Ok("ok".into());
        }
        let step = match parse_step(text) {
            Ok(step) => step,
            Err(e) => return Ok(format!("fail: {e}")),
        };
        let answer = match &step {
            Step::Expect(expectation) => match self.sim.check(expectation) {
                Ok(()) => "ok".into(),
                Err(seen) => format!("fail: {text}: saw {seen}"),
            },
            Step::Wait(d) => {
                self.wait_real_time(&step, *d)?;
                "ok".into()
            }
            _ => {
                let r = self.sim.act(&step);
                if let Step::PowerCycle { .. } = step {
                    self.beside.power_cycled();
                }
                match r {
                    Ok(()) => "ok".into(),
                    Err(e) => format!("fail: {e}"),
                }
            }
        };
        // The step's pace is lock time already spent: the wall clock goes
        // on from here.
        self.clock = Clock::new(self.sim.now_ms());
        Ok(answer)
    }

    /// `wait D` in real time: D passes on the wall clock, the lock
    /// following it (and the Matter side served) as usual.
    fn wait_real_time(&mut self, step: &Step, d: Duration) -> Result<(), SimError> {
        self.sim.begin_step(step);
        let start = self.sim.now_ms();
        let until = StdInstant::now() + StdDuration::from_millis(d.millis());
        loop {
            let left = until.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(TICK));
            self.follow()?;
        }
        // At least D of lock time, whatever the wall clock did.
        let end = start.saturating_add(d.millis());
        let now = self.sim.now_ms();
        if end > now {
            self.sim
                .wait(Duration::from_millis(end.saturating_sub(now)))?;
        }
        self.sim.end_step();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::SimFlash;

    #[test]
    fn r_mtr_1_system_information_speaks_the_devices_pairing_code() {
        let (_, sectors) = flash_layout();
        let bridge: &'static MatterBridge = Box::leak(Box::new(MatterBridge::new()));
        let mut sim = Sim::unpowered(SimFlash::new(sectors)).with_matter(bridge, 749_701_123);
        sim.boot().unwrap();
        // First start, then the menu's system information (R-MNU-6).
        for line in [
            "keys ok 1",
            "keys ok",
            "keys 482915 ok 482915 ok",
            "keys back",
            "set",
            "keys 482915 ok",
            "keys 5",
            "wait 30s",
        ] {
            sim.act(&parse_step(line).unwrap()).unwrap();
        }
        for expect in [
            "expect prompt verification-code",
            "expect prompt matter-code:00749701123",
            "expect prompt menu",
        ] {
            let Step::Expect(e) = parse_step(expect).unwrap() else {
                panic!("{expect} is no expectation");
            };
            sim.check(&e).unwrap();
        }
    }
}
