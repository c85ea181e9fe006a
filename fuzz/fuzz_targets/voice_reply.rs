//! JQ8900 frames (S-HW-3). The module's frames (`AA cmd len data… sum8`, its
//! replies and the commands a simulated module receives) are parsed by
//! `jq8900::Command::parse`, the one JQ8900 parser in lock-drivers (the driver
//! itself only writes). Two parts, on every input:
//!
//! 1. the bytes as one frame: parsing never panics, and a frame that parses
//!    is exactly the canonical frame of its command (emit gives the same
//!    bytes back: no two byte strings mean one command);
//! 2. the bytes as a script for the public driver API (`Voice::play`,
//!    `stop`, `set_volume`, `wait_until_done`) over a mock UART that accepts
//!    short writes, fails or never completes, and a mock BUSY pin: nothing
//!    panics or hangs, every command that returned `Ok` put exactly its frame
//!    on the wire (parsed back to the command the call meant), a failed one
//!    at most a prefix of it, and clip 0 nothing at all.
#![no_main]

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, pending};
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use lock_drivers::voice::jq8900::{Command, MAX_FRAME_LEN};
use lock_drivers::voice::{BusyLevel, Error, Jq8900, Jq8900Config, scale_volume};
use lock_hal::{Clock, Voice};

/// What the mock UART does with each write call, taken from the input.
#[derive(Default)]
struct Line {
    /// Behaviour bytes; when they run out, every write takes everything.
    script: Vec<u8>,
    at: usize,
    /// Everything written.
    wire: Vec<u8>,
}

#[derive(Clone, Default)]
struct Uart(Rc<RefCell<Line>>);

impl embedded_io::ErrorType for Uart {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io_async::Write for Uart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let step = {
            let mut line = self.0.borrow_mut();
            let step = line.script.get(line.at).copied();
            line.at += 1;
            step
        };
        match step {
            // The module's RX is gone: the write never completes, the
            // driver's deadline must end it.
            Some(0) => pending().await,
            Some(1) => Err(embedded_io::ErrorKind::Other),
            other => {
                // 1..=len bytes: a UART may take a frame a byte at a time.
                let n = match other {
                    Some(b) => usize::from(b % 4 + 1).min(buf.len()),
                    None => buf.len(),
                };
                self.0.borrow_mut().wire.extend_from_slice(&buf[..n]);
                Ok(n)
            }
        }
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// BUSY: each wait answers at once (the level is there).
struct Busy;

impl embedded_hal::digital::ErrorType for Busy {
    type Error = Infallible;
}

impl embedded_hal_async::digital::Wait for Busy {
    async fn wait_for_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn wait_for_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn wait_for_rising_edge(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn wait_for_falling_edge(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn wait_for_any_edge(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A clock whose waits return at once, moving time to the deadline.
struct Jump(core::cell::Cell<u64>);

impl Clock for Jump {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    async fn wait_until(&self, at_ms: u64) {
        self.0.set(self.0.get().max(at_ms));
    }
}

fn run<F: Future>(f: F) -> F::Output {
    embassy_futures::block_on(f)
}

fn frame_of(command: Command) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME_LEN];
    let n = command
        .emit(&mut out)
        .expect("every command fits MAX_FRAME_LEN");
    out[..n].to_vec()
}

fn frame_part(data: &[u8]) {
    match Command::parse(data) {
        Ok(command) => {
            let canonical = frame_of(command);
            assert!(
                data.starts_with(&canonical),
                "{data:02x?} parsed as {command:?}, whose frame is {canonical:02x?}"
            );
            assert_eq!(Command::parse(&canonical), Ok(command));
        }
        Err(_) => {}
    }
}

fn driver_part(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (ops, uart_script) = rest.split_at(split);
    let uart = Uart::default();
    uart.0.borrow_mut().script = uart_script.to_vec();
    let config = Jq8900Config {
        busy: if split % 2 == 0 {
            BusyLevel::High
        } else {
            BusyLevel::Low
        },
        ..Jq8900Config::default()
    };
    let mut voice = Jq8900::new(uart.clone(), Busy, Jump(core::cell::Cell::new(0)), config);
    for chunk in ops.chunks(3) {
        let (op, a, b) = (
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        );
        let before = uart.0.borrow().wire.len();
        let (result, expected) = match op % 4 {
            0 => {
                let clip = u16::from_be_bytes([a, b]) % 300;
                let expected = (clip != 0).then_some(Command::PlayTrack(clip));
                (run(voice.play(clip)), expected)
            }
            1 => (run(voice.stop()), Some(Command::Stop)),
            2 => {
                let v = scale_volume(a, 30);
                assert!(v <= 30, "volume {v} out of the module's 0–30");
                (run(voice.set_volume(a)), Some(Command::Volume(v)))
            }
            _ => (run(voice.wait_until_done()), None),
        };
        let wire = uart.0.borrow().wire[before..].to_vec();
        match (expected, result) {
            (Some(command), Ok(())) => {
                assert_eq!(wire, frame_of(command), "{command:?}");
                assert_eq!(Command::parse(&wire), Ok(command));
            }
            (Some(command), Err(e)) => {
                assert!(
                    matches!(e, Error::Uart(_) | Error::Timeout),
                    "{command:?}: {e:?}"
                );
                assert!(
                    frame_of(command).starts_with(&wire),
                    "{command:?}: {wire:02x?}"
                );
            }
            (None, Err(Error::Clip(0))) if op % 4 == 0 => assert!(wire.is_empty()),
            (None, result) => {
                assert!(op % 4 == 3, "{op}: {result:?}");
                assert!(wire.is_empty(), "waiting wrote {wire:02x?}");
            }
        }
    }
    let _ = voice.release();
}

fuzz_target!(|data: &[u8]| {
    frame_part(data);
    driver_part(data);
});
