//! Voice modules playing numbered clips from their own flash: the JQ8900 /
//! JQ8400 over UART and the WT588F02B over one wire, each with its BUSY
//! output.
//!
//! **JQ8900 wiring.** The module's RX to a UART TX at 9600 8N1 (the driver
//! only writes: the commands used here get no answer), its BUSY output to a
//! GPIO with an interrupt. Clips are the files `00001.mp3`… in its flash,
//! played by number (1 and up).
//!
//! **WT588F wiring.** One GPIO to the module's one-wire data input (push-pull,
//! idle high), its BUSY output to a GPIO with an interrupt. Seen in lock
//! BOMs next to a DRV8870. Clips are the voice addresses of its flash image.
//!
//! **Protocol source.** `PERIPHERALS.md`'s tables: JQ8900 frames `AA cmd len
//! data… sum8` (the sum including `AA`) with `02` play, `04` stop, `07` play
//! track (u16 BE), `13` volume 0–30; WT588F: line low 5 ms, 8 bits LSB first
//! (`1` = high 600 µs then low 200 µs, `0` = high 200 µs then low 600 µs),
//! then high; `F3 nn` chains prompts, `FE` stops.
//!
//! **End of a clip.** Both modules drive BUSY while they play;
//! [`Voice::wait_until_done`] waits for it to go inactive, by level
//! (cancel-safe). Right after a play command BUSY may not be asserted yet, so
//! the first wait after [`Voice::play`] first waits up to
//! `start_timeout_ms` for it to become active.
//!
//! **Idle draw and sleep.** `PERIPHERALS.md` documents no sleep or standby
//! command for either module, nor that either sleeps by itself, and
//! `ENERGY.md` §4 has no measured idle figure for either (**[N/F]**). The
//! same vendors' siblings: the JQ8400 manual gives a sleeping mode "as low
//! as 600 µA", woken by a command it does not name here; the WT2003H sleeps
//! by itself after 5 s idle (≤3 µA deep sleep, 4–5 mA in normal standby)
//! and wakes on `FE` plus ≥100 ms. The drivers send nothing between clips
//! (the WT588F data line idles high, the JQ8900 UART stays silent), so a
//! module that does sleep by itself is let to; whether a WT588F then needs
//! a wake byte before a play, as the WT2003H does, is to verify on
//! hardware. They have no power switch:
//! a module's boot time after power on is not documented, nor whether it
//! keeps its volume across a power cycle.
//!
//! **Choices on details marked *verify* or left open:**
//! - JQ8900 BUSY is taken as high while playing (the vendor's sample code
//!   waits while it reads high); WT588F BUSY as low while playing. Both are
//!   settings ([`BusyLevel`]).
//! - WT588F: a clip is played by sending its address byte (`00`–`DF`);
//!   [`Wt588f::play_sequence`] sends the first address, then `F3 nn` for each
//!   following one; volume is `E0`–`EF` (16 steps); bytes of one command are
//!   2 ms apart, line high. Addresses above `DF` are refused (they are
//!   command codes).
//! - Bit timing uses a *blocking* [`DelayNs`](embedded_hal::delay::DelayNs):
//!   an async delay could be stretched by other tasks and corrupt a bit; a
//!   byte takes about 11 ms, of which the 5 ms start is an async delay.

use embassy_futures::select::{Either, select};
use embedded_hal::digital::OutputPin;
use embedded_hal_async::digital::Wait;
use embedded_io_async::{Error as _, Write};
use lock_hal::{Clock, ErrorKind, ErrorType, Voice};

use crate::deadline::{after, before};

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The UART failed.
    #[error("UART error: {0:?}")]
    Uart(embedded_io::ErrorKind),
    /// A pin failed.
    #[error("pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
    /// A write did not finish in time.
    #[error("write timed out")]
    Timeout,
    /// The module cannot play this clip number.
    #[error("no such clip: {0}")]
    Clip(u16),
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Uart(_) | Error::Pin(_) => ErrorKind::Bus,
            Error::Timeout => ErrorKind::Timeout,
            Error::Clip(_) => ErrorKind::Other,
        }
    }
}

fn pin<E: embedded_hal::digital::Error>(error: E) -> Error {
    Error::Pin(error.kind())
}

/// The BUSY level while a clip plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BusyLevel {
    /// High while playing.
    High,
    /// Low while playing.
    Low,
}

async fn wait_busy<B: Wait>(busy: &mut B, level: BusyLevel, playing: bool) -> Result<(), Error> {
    let high = (level == BusyLevel::High) == playing;
    let result = if high {
        busy.wait_for_high().await
    } else {
        busy.wait_for_low().await
    };
    result.map_err(pin)
}

/// Scales lock-hal's 0–255 loudness to `steps` (0..=steps), rounding.
pub fn scale_volume(level: u8, steps: u8) -> u8 {
    let scaled = (u32::from(level) * u32::from(steps) + 127) / 255;
    u8::try_from(scaled).unwrap_or(steps)
}

/// JQ8900 frames.
pub mod jq8900 {
    /// The first byte of every frame.
    pub const START: u8 = 0xAA;

    /// Why a frame was refused.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    #[non_exhaustive]
    pub enum FrameError {
        /// Shorter than its length byte says.
        #[error("truncated frame")]
        Truncated,
        /// Does not start with `AA`.
        #[error("frame does not start with AA")]
        Start,
        /// The sum does not match.
        #[error("checksum mismatch")]
        Checksum,
        /// A command this codec does not know, or the wrong data length.
        #[error("malformed command")]
        Malformed,
    }

    /// The commands the driver sends.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[cfg_attr(feature = "defmt", derive(defmt::Format))]
    pub enum Command {
        /// `02`: play (resume).
        Play,
        /// `04`: stop.
        Stop,
        /// `07`: play track n.
        PlayTrack(u16),
        /// `13`: volume 0–30.
        Volume(u8),
    }

    /// The longest frame: `AA 07 02 hi lo sum`.
    pub const MAX_FRAME_LEN: usize = 6;

    fn sum(bytes: &[u8]) -> u8 {
        bytes.iter().fold(0u8, |sum, &byte| sum.wrapping_add(byte))
    }

    impl Command {
        /// Writes the frame into `out`; returns its length.
        pub fn emit(&self, out: &mut [u8]) -> Result<usize, FrameError> {
            let (bytes, len): ([u8; MAX_FRAME_LEN], usize) = match *self {
                Command::Play => ([START, 0x02, 0x00, 0, 0, 0], 3),
                Command::Stop => ([START, 0x04, 0x00, 0, 0, 0], 3),
                Command::PlayTrack(track) => {
                    let [hi, lo] = track.to_be_bytes();
                    ([START, 0x07, 0x02, hi, lo, 0], 5)
                }
                Command::Volume(volume) => ([START, 0x13, 0x01, volume, 0, 0], 4),
            };
            let body = bytes.get(..len).unwrap_or(&[]);
            let slot = out.get_mut(..=len).ok_or(FrameError::Truncated)?;
            let (head, tail) = slot.split_at_mut(len);
            head.copy_from_slice(body);
            if let Some(last) = tail.first_mut() {
                *last = sum(body);
            }
            Ok(len + 1)
        }

        /// Parses a frame (what a simulated module receives). No input panics
        /// (S-HW-3, fuzz target `voice_reply`).
        pub fn parse(frame: &[u8]) -> Result<Command, FrameError> {
            let (&start, rest) = frame.split_first().ok_or(FrameError::Truncated)?;
            if start != START {
                return Err(FrameError::Start);
            }
            let (&command, rest) = rest.split_first().ok_or(FrameError::Truncated)?;
            let (&len, rest) = rest.split_first().ok_or(FrameError::Truncated)?;
            let len = usize::from(len);
            let data = rest.get(..len).ok_or(FrameError::Truncated)?;
            let &checksum = rest.get(len).ok_or(FrameError::Truncated)?;
            if sum(frame.get(..3 + len).unwrap_or(&[])) != checksum {
                return Err(FrameError::Checksum);
            }
            match (command, data) {
                (0x02, []) => Ok(Command::Play),
                (0x04, []) => Ok(Command::Stop),
                (0x07, [hi, lo]) => Ok(Command::PlayTrack(u16::from_be_bytes([*hi, *lo]))),
                (0x13, [volume]) => Ok(Command::Volume(*volume)),
                _ => Err(FrameError::Malformed),
            }
        }
    }
}

/// Settings of a JQ8900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Jq8900Config {
    /// BUSY's level while playing.
    pub busy: BusyLevel,
    /// How long BUSY may take to assert after a play command.
    pub start_timeout_ms: u32,
    /// How long a command write may take.
    pub write_timeout_ms: u32,
}

impl Default for Jq8900Config {
    fn default() -> Jq8900Config {
        Jq8900Config {
            busy: BusyLevel::High,
            start_timeout_ms: 200,
            write_timeout_ms: 100,
        }
    }
}

/// A JQ8900 / JQ8400 on a UART.
pub struct Jq8900<U, B, C> {
    uart: U,
    busy: B,
    clock: C,
    config: Jq8900Config,
    /// A play was sent and BUSY has not been seen active since.
    starting: bool,
}

impl<U: Write, B: Wait, C: Clock> Jq8900<U, B, C> {
    /// Takes the UART, the BUSY pin and the clock.
    pub fn new(uart: U, busy: B, clock: C, config: Jq8900Config) -> Self {
        Jq8900 {
            uart,
            busy,
            clock,
            config,
            starting: false,
        }
    }

    /// Gives the UART, pin and clock back.
    pub fn release(self) -> (U, B, C) {
        (self.uart, self.busy, self.clock)
    }

    /// Sends one command.
    pub async fn send(&mut self, command: jq8900::Command) -> Result<(), Error> {
        let mut frame = [0u8; jq8900::MAX_FRAME_LEN];
        let len = command
            .emit(&mut frame)
            .map_err(|_| Error::Uart(embedded_io::ErrorKind::InvalidInput))?;
        let bytes = frame.get(..len).unwrap_or(&[]);
        let deadline = after(&self.clock, self.config.write_timeout_ms);
        match before(&mut self.clock, deadline, self.uart.write_all(bytes)).await {
            None => Err(Error::Timeout),
            Some(result) => result.map_err(|error| Error::Uart(error.kind())),
        }
    }
}

impl<U, B, C> ErrorType for Jq8900<U, B, C> {
    type Error = Error;
}

impl<U: Write, B: Wait, C: Clock> Voice for Jq8900<U, B, C> {
    /// Play track `clip` (1 and up; 0 is refused).
    async fn play(&mut self, clip: u16) -> Result<(), Error> {
        if clip == 0 {
            return Err(Error::Clip(clip));
        }
        self.send(jq8900::Command::PlayTrack(clip)).await?;
        self.starting = true;
        Ok(())
    }

    async fn wait_until_done(&mut self) -> Result<(), Error> {
        if self.starting {
            let deadline = after(&self.clock, self.config.start_timeout_ms);
            let level = self.config.busy;
            if let Either::First(result) = select(
                wait_busy(&mut self.busy, level, true),
                self.clock.wait_until(deadline),
            )
            .await
            {
                result?;
            }
            self.starting = false;
        }
        wait_busy(&mut self.busy, self.config.busy, false).await
    }

    async fn stop(&mut self) -> Result<(), Error> {
        self.starting = false;
        self.send(jq8900::Command::Stop).await
    }

    /// Scaled to the module's 0–30.
    async fn set_volume(&mut self, level: u8) -> Result<(), Error> {
        self.send(jq8900::Command::Volume(scale_volume(level, 30)))
            .await
    }
}

/// WT588F command bytes.
pub mod wt588f {
    /// The highest voice address; the bytes above are commands.
    pub const MAX_CLIP: u8 = 0xDF;
    /// Volume `E0` (quietest) to `EF` (loudest).
    pub const VOLUME_MIN: u8 = 0xE0;
    /// Chain the next address after the current clip.
    pub const CHAIN: u8 = 0xF3;
    /// Stop playing.
    pub const STOP: u8 = 0xFE;
}

/// Settings of a WT588F.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Wt588fConfig {
    /// BUSY's level while playing.
    pub busy: BusyLevel,
    /// How long BUSY may take to assert after a play command, ms.
    pub start_timeout_ms: u32,
}

impl Default for Wt588fConfig {
    fn default() -> Wt588fConfig {
        Wt588fConfig {
            busy: BusyLevel::Low,
            start_timeout_ms: 200,
        }
    }
}

/// A WT588F02B on one wire, with its BUSY output.
pub struct Wt588f<P, B, D> {
    data: P,
    busy: B,
    delay: D,
    config: Wt588fConfig,
    starting: bool,
}

impl<P, B, D> Wt588f<P, B, D>
where
    P: OutputPin,
    B: Wait,
    D: embedded_hal::delay::DelayNs + embedded_hal_async::delay::DelayNs,
{
    /// Takes the data pin (set high, idle), the BUSY pin and a delay that
    /// can block (bit timing) and wait (the start and the gaps).
    pub fn new(mut data: P, busy: B, delay: D, config: Wt588fConfig) -> Result<Self, Error> {
        data.set_high().map_err(pin)?;
        Ok(Wt588f {
            data,
            busy,
            delay,
            config,
            starting: false,
        })
    }

    /// Gives the pins and the delay back.
    pub fn release(self) -> (P, B, D) {
        (self.data, self.busy, self.delay)
    }

    /// Sends one byte: low 5 ms, 8 bits LSB first, high.
    pub async fn send_byte(&mut self, byte: u8) -> Result<(), Error> {
        self.data.set_low().map_err(pin)?;
        embedded_hal_async::delay::DelayNs::delay_ms(&mut self.delay, 5).await;
        for bit in 0..8 {
            let one = byte & (1 << bit) != 0;
            let (high_us, low_us) = if one { (600, 200) } else { (200, 600) };
            self.data.set_high().map_err(pin)?;
            embedded_hal::delay::DelayNs::delay_us(&mut self.delay, high_us);
            self.data.set_low().map_err(pin)?;
            embedded_hal::delay::DelayNs::delay_us(&mut self.delay, low_us);
        }
        self.data.set_high().map_err(pin)
    }

    async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        for (index, &byte) in bytes.iter().enumerate() {
            if index > 0 {
                embedded_hal_async::delay::DelayNs::delay_ms(&mut self.delay, 2).await;
            }
            self.send_byte(byte).await?;
        }
        Ok(())
    }

    /// Plays `clips` one after another: the first address, then `F3 nn`
    /// for each following one.
    pub async fn play_sequence(&mut self, clips: &[u8]) -> Result<(), Error> {
        if let Some(&clip) = clips.iter().find(|&&clip| clip > wt588f::MAX_CLIP) {
            return Err(Error::Clip(u16::from(clip)));
        }
        for (index, &clip) in clips.iter().enumerate() {
            if index == 0 {
                self.send_bytes(&[clip]).await?;
            } else {
                embedded_hal_async::delay::DelayNs::delay_ms(&mut self.delay, 2).await;
                self.send_bytes(&[wt588f::CHAIN, clip]).await?;
            }
        }
        self.starting = !clips.is_empty();
        Ok(())
    }
}

impl<P, B, D> ErrorType for Wt588f<P, B, D> {
    type Error = Error;
}

impl<P, B, D> Voice for Wt588f<P, B, D>
where
    P: OutputPin,
    B: Wait,
    D: embedded_hal::delay::DelayNs + embedded_hal_async::delay::DelayNs,
{
    /// Plays voice address `clip` (`00`–`DF`).
    async fn play(&mut self, clip: u16) -> Result<(), Error> {
        let address = u8::try_from(clip)
            .ok()
            .filter(|&address| address <= wt588f::MAX_CLIP)
            .ok_or(Error::Clip(clip))?;
        self.play_sequence(&[address]).await
    }

    async fn wait_until_done(&mut self) -> Result<(), Error> {
        if self.starting {
            let level = self.config.busy;
            let start_timeout = self.config.start_timeout_ms;
            if let Either::First(result) = select(
                wait_busy(&mut self.busy, level, true),
                embedded_hal_async::delay::DelayNs::delay_ms(&mut self.delay, start_timeout),
            )
            .await
            {
                result?;
            }
            self.starting = false;
        }
        wait_busy(&mut self.busy, self.config.busy, false).await
    }

    async fn stop(&mut self) -> Result<(), Error> {
        self.starting = false;
        self.send_bytes(&[wt588f::STOP]).await
    }

    /// Scaled to the module's 16 steps, `E0`–`EF`.
    async fn set_volume(&mut self, level: u8) -> Result<(), Error> {
        let step = scale_volume(level, 15);
        self.send_bytes(&[wt588f::VOLUME_MIN.saturating_add(step)])
            .await
    }
}
