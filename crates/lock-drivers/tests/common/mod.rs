//! Test helpers shared by the driver tests: a scripted UART, a manual clock,
//! and a way to run a future to completion.
//!
//! Clippy's exemption for tests does not reach helper functions, hence the
//! allow: a failed expectation here must panic, that is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{Future, pending};
use std::rc::Rc;

use lock_hal::Clock;

/// Runs a future to completion on this thread. Every future the drivers
/// build is ready at once or waits on a mock that never wakes it, so a
/// future still pending after many polls is a test bug.
pub fn run<F: Future>(future: F) -> F::Output {
    embassy_futures::block_on(future)
}

/// One step of a UART script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uart {
    /// The driver must write exactly these bytes (in one or more writes).
    Write(Vec<u8>),
    /// The module sends these bytes, read in one or more reads.
    Read(Vec<u8>),
    /// The next read fails with this error.
    ReadError(embedded_io::ErrorKind),
}

/// Hex bytes written as in PERIPHERALS.md: `"EF 01 FF FF"`.
pub fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect()
}

/// A scripted embedded-io(-async) serial port. Writes are checked against
/// the script byte for byte; reads hand out the scripted bytes (at most
/// `chunk` at a time, to exercise reassembly). When the next step is not a
/// read (or there is none), a read waits forever: the module is silent, and
/// the driver's deadline must end the wait. Clones share one script, so a
/// test keeps one to call [`ScriptedUart::done`] after the driver took the
/// other.
#[derive(Debug, Clone)]
pub struct ScriptedUart {
    steps: Rc<RefCell<VecDeque<Uart>>>,
    chunk: usize,
}

impl ScriptedUart {
    /// A port following `steps`.
    pub fn new(steps: &[Uart]) -> Self {
        ScriptedUart {
            steps: Rc::new(RefCell::new(steps.iter().cloned().collect())),
            chunk: usize::MAX,
        }
    }

    /// Hands out reads at most `chunk` bytes at a time.
    pub fn in_chunks_of(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Steps not yet played in full: a test that also drives pins can tell
    /// where in the UART exchange a pin changed.
    pub fn steps_left(&self) -> usize {
        self.steps.borrow().len()
    }

    /// Asserts that the whole script was played.
    pub fn done(&mut self) {
        let steps = self.steps.borrow();
        assert!(steps.is_empty(), "UART script not finished: {steps:?}");
    }
}

/// The mock's errors are embedded-io's error kinds themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UartError(pub embedded_io::ErrorKind);

impl std::fmt::Display for UartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for UartError {}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        self.0
    }
}

impl embedded_io::ErrorType for ScriptedUart {
    type Error = UartError;
}

impl embedded_io_async::Write for ScriptedUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        let mut steps = self.steps.borrow_mut();
        for (index, &byte) in buf.iter().enumerate() {
            match steps.front_mut() {
                Some(Uart::Write(expected)) if !expected.is_empty() => {
                    assert_eq!(
                        expected[0], byte,
                        "byte {index} of the write {buf:02X?} differs from the script"
                    );
                    expected.remove(0);
                    if expected.is_empty() {
                        steps.pop_front();
                    }
                }
                other => panic!("unexpected write {buf:02X?}; next scripted step: {other:?}"),
            }
        }
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), UartError> {
        Ok(())
    }
}

impl embedded_io_async::Read for ScriptedUart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        let outcome = {
            let mut steps = self.steps.borrow_mut();
            match steps.front_mut() {
                Some(Uart::Read(bytes)) => {
                    let n = bytes.len().min(buf.len()).min(self.chunk);
                    buf[..n].copy_from_slice(&bytes[..n]);
                    bytes.drain(..n);
                    if bytes.is_empty() {
                        steps.pop_front();
                    }
                    Some(Ok(n))
                }
                Some(Uart::ReadError(kind)) => {
                    let kind = *kind;
                    steps.pop_front();
                    Some(Err(UartError(kind)))
                }
                _ => None,
            }
        };
        match outcome {
            Some(result) => result,
            None => pending().await,
        }
    }
}

impl embedded_io::ErrorType for ScriptedWriter {
    type Error = Infallible;
}

/// A write-only port recording what was written, for modules that never
/// answer (JQ8900).
#[derive(Debug, Clone, Default)]
pub struct ScriptedWriter {
    pub written: Rc<RefCell<Vec<u8>>>,
}

impl embedded_io_async::Write for ScriptedWriter {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.written.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A clock that only moves when someone waits on it: `wait_until` jumps to
/// the deadline at once. A driver racing a silent bus against it therefore
/// times out immediately, and a polling loop runs through its timeline
/// without real time passing. Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Rc<Cell<u64>>,
}

impl ManualClock {
    /// A clock at 0 ms.
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// The current time.
    pub fn now(&self) -> u64 {
        self.now.get()
    }

    /// Moves time forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    async fn wait_until(&self, at_ms: u64) {
        if self.now.get() < at_ms {
            self.now.set(at_ms);
        }
    }
}

/// A clock that never reaches a deadline: an operation waiting on the
/// module stays pending, as one the lock drops half-way would be.
#[derive(Debug, Clone, Copy)]
pub struct Frozen;

impl Clock for Frozen {
    fn now_ms(&self) -> u64 {
        0
    }

    async fn wait_until(&self, _at_ms: u64) {
        pending::<()>().await;
    }
}

/// Each level a power switch was set to (true = high), with how many UART
/// steps were still to play then.
pub type Levels = Rc<RefCell<Vec<(bool, usize)>>>;

/// A module's power-switch pin, noting when it changes against the UART
/// script: so a test sees power go on before the first byte and off after
/// the last.
pub struct EnablePin {
    pub uart: ScriptedUart,
    pub levels: Levels,
}

impl embedded_hal::digital::ErrorType for EnablePin {
    type Error = Infallible;
}

impl embedded_hal::digital::OutputPin for EnablePin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.levels
            .borrow_mut()
            .push((false, self.uart.steps_left()));
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.levels
            .borrow_mut()
            .push((true, self.uart.steps_left()));
        Ok(())
    }
}
