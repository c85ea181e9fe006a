//! Fingerprint modules speaking the EF 01 protocol: Grow R503 / R502-A,
//! AS608, R307, ZFM-20, FPM383C.
//!
//! **Wiring.** The module's TX/RX to a UART at 57600 8N1 (its default), its
//! WAKEUP (touch) output to a GPIO with an edge/level interrupt, its power
//! from the board. The module sends `55` once booted; the frame reader skips
//! it. Pass the UART (anything implementing embedded-io-async 0.7 `Read` +
//! `Write`) and the lock's clock to [`Fingerprint`], and the WAKEUP pin
//! (embedded-hal-async `Wait`) to [`Wakeup`]: the lock waits on the pin
//! while it talks to the module, so they are two values.
//!
//! **Power.** An R503 left on idles at about 16 mA (measured, forum report
//! in `ENERGY.md` §4) against 2 µA in touch standby, when its main 3.3 V
//! supply is cut and only its separate touch supply 3.3VT stays on. Wire
//! 3.3VT to the always-on rail (it powers the touch ring and the WAKEUP
//! output, so a finger still wakes the lock) and the main 3.3 V through a
//! high-side switch: a P-MOSFET whose gate a GPIO pulls low to switch on
//! ([`PowerSwitch::active_low`]), or a load switch with an active-high
//! enable ([`PowerSwitch::active_high`]). Give the gate or enable a pull
//! resistor to the *off* level, so the module stays off while the MCU
//! resets. Then build the driver with [`Fingerprint::with_power`]:
//! - it switches the module off at construction;
//! - *identify*, *begin_enroll*, *delete*, *clear* (and `handshake`,
//!   `verify_password`, `template_count`) switch it on, wait for its boot
//!   byte `55` (at most [`Config::boot_timeout_ms`]; R503 sheets give
//!   ~50 ms, R503S ~10 ms), run, and switch it off again, whatever the
//!   outcome: after identify's answer, after a failure half-way;
//! - an enrollment keeps it on from `begin_enroll` to its end (enrolled,
//!   refused, an error, or `cancel_enroll`): the first capture waits in the
//!   module's buffer 1 for the second;
//! - [`Fingerprint::power_up`] holds it on (for [`Fingerprint::aura`] or
//!   [`Fingerprint::command`], which never switch power themselves) until
//!   [`Fingerprint::power_down`].
//!
//! A pin that fails is [`Error::Power`]; a module that does not send `55`
//! in time is [`Error::BootTimeout`]; both leave the switch driven off (as
//! far as the pin obeys). When an operation fails and the switch then fails
//! too, the operation's error is reported. Modules whose WAKEUP needs the
//! main supply (AS608 boards without a touch supply pin) cannot wake the
//! lock while switched off: power those permanently, or give the board
//! another way to start a search. [`Fingerprint::new`] is for a module
//! powered permanently: nothing is switched and no boot byte awaited.
//!
//! An operation dropped half-way (not awaited to its end) leaves the module
//! on until the next operation ends, which then switches it off; the
//! runtime awaits every module operation to its end.
//!
//! While the module is off, the MCU's TX line idling high can feed it a
//! little current through its RX pin; a board that cares sets that pin low
//! or to an input while the module is off (the driver does not own the UART
//! pins).
//!
//! **Protocol source.** The EF 01 packet format and instruction table of the
//! R503 / AS608 user manuals, as written out in the project's
//! `PERIPHERALS.md` with its byte vectors; the codec is in [`wire`]. The
//! vendor-specific `Auto*` instructions (`31`/`32`) are not used.
//!
//! **What it does.** [`Fingerprint`] implements
//! [`Biometric`], [`Wakeup`] implements [`SampleSensor`]:
//! - *identify*: GenImg (polled until a finger gives an image) → Img2Tz(1) →
//!   Search(1, 0, capacity). A hit is a match, `09` is a failed attempt; a
//!   lifted finger or an image without enough features is no sample (it is
//!   not counted against the person).
//! - *enroll*: `begin_enroll` checks the page and records it (nothing is
//!   sent: the next capture overwrites the module's buffers), then three
//!   `enroll_step`s, counted by the driver: the first GenImg until `00` →
//!   Img2Tz(1), answer "lift"; the second GenImg until `02` (no finger),
//!   answer "present"; the third GenImg → Img2Tz(2) → RegModel → Search(1,
//!   0, capacity) → Store(1, page). A search hit, or `27` from Store, is
//!   [`EnrollRefusal::Duplicate`] (R-USR-7). A step without an enrollment
//!   begun is [`Error::NotEnrolling`].
//! - *sample*: [`Wakeup`] waits for the WAKEUP line's touch level.
//! - *delete* DeleteChar(template, 1); *clear* Empty.
//!
//! Besides: [`Fingerprint::handshake`], [`Fingerprint::verify_password`],
//! [`Fingerprint::template_count`], [`Fingerprint::aura`], and
//! [`Fingerprint::command`] for any other instruction.
//!
//! **Choices where the protocol leaves room** (`PERIPHERALS.md` marks none
//! of these *verify*, but a board maker should know them):
//! - The duplicate check searches the *merged* template (after RegModel,
//!   before Store), not the first capture: the merged one matches more
//!   reliably, at the cost of a second touch before the refusal.
//! - WAKEUP is taken as active low, as `PERIPHERALS.md` says; R503 sheets
//!   describe it as active high, so [`Wakeup::active_high`] flips it.
//! - A switched module's boot is awaited by its `55`, not by a fixed
//!   delay: any bytes before it (line noise of a supply coming up) are
//!   skipped, and a UART error while waiting is an error like any other.
//! - Every reply is awaited for [`Config::reply_timeout_ms`] (2 s: a search
//!   of 200 templates takes well under 1 s on an R503). A module that stays
//!   silent gives [`Error::Timeout`]; the protocol has no sequence numbers,
//!   so a late answer would be taken for the next one. To limit that, the
//!   driver forgets every buffered byte before each command.

pub mod wire;

use core::convert::Infallible;

use embedded_hal::digital::{Error as _, OutputPin};
use embedded_hal_async::digital::Wait;
use embedded_io_async::{Error as _, Read, Write};
use lock_hal::{
    Biometric, Clock, EnrollRefusal, EnrollStatus, EnrollStep, ErrorKind, ErrorType,
    Identification, SampleSensor, TemplateId,
};

use crate::deadline::{after, before};
use wire::{Aura, CHECKSUM_LEN, Code, Command, FrameReader, HEADER_LEN, PacketId, SearchHit};

/// Settings of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Module address, [`wire::DEFAULT_ADDRESS`] out of the box.
    pub address: u32,
    /// Module password, 0 out of the box.
    pub password: u32,
    /// Library pages searched (R503: 200, AS608: 300 or 1000).
    pub capacity: u16,
    /// How long a reply may take.
    pub reply_timeout_ms: u32,
    /// How long a capture keeps asking for an image while no finger is on.
    pub present_timeout_ms: u32,
    /// How long an enrollment waits for the finger to be lifted.
    pub lift_timeout_ms: u32,
    /// The pause between two GenImg while waiting for a finger or a lift.
    pub poll_interval_ms: u32,
    /// How long a switched module may take, from power on, to send its
    /// boot byte `55` ([`Fingerprint::with_power`]). 500 ms: ten times the
    /// R503 manual's ~50 ms, and still short enough that a finger laid on
    /// a sensor that never boots is answered within a second.
    pub boot_timeout_ms: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            address: wire::DEFAULT_ADDRESS,
            password: 0,
            capacity: 200,
            reply_timeout_ms: 2_000,
            present_timeout_ms: 3_000,
            lift_timeout_ms: 10_000,
            poll_interval_ms: 100,
            boot_timeout_ms: 500,
        }
    }
}

/// What went wrong talking to the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The UART failed.
    #[error("UART error: {0:?}")]
    Uart(embedded_io::ErrorKind),
    /// The UART reported end of stream.
    #[error("UART closed")]
    Closed,
    /// The WAKEUP pin failed.
    #[error("WAKEUP pin error: {0:?}")]
    Pin(embedded_hal::digital::ErrorKind),
    /// No reply within [`Config::reply_timeout_ms`].
    #[error("no reply in time")]
    Timeout,
    /// A frame was refused.
    #[error("bad frame: {0}")]
    Frame(#[from] wire::Error),
    /// A reply that does not fit the command (unexpected data length).
    #[error("unexpected reply")]
    UnexpectedReply,
    /// VfyPwd was refused.
    #[error("wrong module password")]
    WrongPassword,
    /// The module answered with a confirmation code the operation cannot
    /// go on from.
    #[error("module reported {0:?}")]
    Module(Code),
    /// An enrollment step without an enrollment begun (or after it ended).
    #[error("no enrollment under way")]
    NotEnrolling,
    /// The template id is not below [`Config::capacity`].
    #[error("template id outside the library")]
    TemplateRange,
    /// The power switch's pin failed.
    #[error("power switch error: {0:?}")]
    Power(embedded_hal::digital::ErrorKind),
    /// A switched module sent no boot byte `55` within
    /// [`Config::boot_timeout_ms`].
    #[error("module did not boot in time")]
    BootTimeout,
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Uart(_) | Error::Closed | Error::Pin(_) | Error::Power(_) => ErrorKind::Bus,
            Error::Timeout | Error::BootTimeout => ErrorKind::Timeout,
            Error::Frame(_) | Error::UnexpectedReply => ErrorKind::Protocol,
            Error::Module(Code::LIBRARY_FULL) => ErrorKind::Full,
            Error::Module(Code::PACKET_ERROR) => ErrorKind::Protocol,
            Error::Module(_) => ErrorKind::Device,
            Error::WrongPassword | Error::NotEnrolling | Error::TemplateRange => ErrorKind::Other,
        }
    }
}

/// An ack: its confirmation code and data (at most 8 bytes: every
/// instruction this driver sends gets less).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The confirmation code.
    pub code: Code,
    /// The data after it.
    pub data: heapless::Vec<u8, 8>,
}

/// Where an enrollment stands between two steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Begun; the next step takes the first capture.
    Begun,
    /// The first capture is in buffer 1; the next step waits for the lift.
    Captured,
    /// Lifted; the next step takes the second capture and stores.
    Lifted,
}

/// An enrollment under way: the page it stores to and its stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Enrollment {
    page: u16,
    stage: Stage,
}

const COMMAND_FRAME_LEN: usize = HEADER_LEN + Command::MAX_LEN + CHECKSUM_LEN;

/// The module's boot byte, sent once after power on.
const BOOT_BYTE: u8 = 0x55;

/// The power switch of a module powered permanently: there is none. The
/// default pin type of [`Fingerprint`]; it has no values, so a driver built
/// by [`Fingerprint::new`] never switches anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlwaysPowered {}

impl embedded_hal::digital::ErrorType for AlwaysPowered {
    type Error = Infallible;
}

impl OutputPin for AlwaysPowered {
    fn set_low(&mut self) -> Result<(), Infallible> {
        match *self {}
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        match *self {}
    }
}

/// The output that switches the module's main supply, and the level that
/// switches it on.
#[derive(Debug)]
pub struct PowerSwitch<P> {
    pin: P,
    active_high: bool,
}

impl<P: OutputPin> PowerSwitch<P> {
    /// A switch on while the pin is high: a load switch's enable, or an
    /// N-MOSFET driving a P-MOSFET's gate.
    pub fn active_high(pin: P) -> Self {
        PowerSwitch {
            pin,
            active_high: true,
        }
    }

    /// A switch on while the pin is low: a P-MOSFET's gate driven directly.
    pub fn active_low(pin: P) -> Self {
        PowerSwitch {
            pin,
            active_high: false,
        }
    }

    /// Gives the pin back.
    pub fn release(self) -> P {
        self.pin
    }

    fn set(&mut self, on: bool) -> Result<(), Error> {
        let result = if on == self.active_high {
            self.pin.set_high()
        } else {
            self.pin.set_low()
        };
        result.map_err(|error| Error::Power(error.kind()))
    }
}

/// An EF 01 fingerprint module on a UART, powered permanently
/// ([`Fingerprint::new`]) or through a [`PowerSwitch`]
/// ([`Fingerprint::with_power`]).
pub struct Fingerprint<U, C, P = AlwaysPowered> {
    uart: U,
    clock: C,
    config: Config,
    reader: FrameReader,
    rx: [u8; 32],
    rx_start: usize,
    rx_end: usize,
    enrollment: Option<Enrollment>,
    power: Option<PowerSwitch<P>>,
    /// The switch is on (always false without one).
    powered: bool,
    /// [`Fingerprint::power_up`] holds the module on.
    held: bool,
}

impl<U, C> Fingerprint<U, C>
where
    U: Read + Write,
    C: Clock,
{
    /// Takes the UART and the clock of a module powered permanently. Sends
    /// nothing: call [`Fingerprint::verify_password`] (or
    /// [`Fingerprint::handshake`]) to check the module is there.
    pub fn new(uart: U, clock: C, config: Config) -> Self {
        Fingerprint::build(uart, clock, config, None)
    }

    /// Gives the UART and clock back.
    pub fn release(self) -> (U, C) {
        (self.uart, self.clock)
    }
}

impl<U, C, P> Fingerprint<U, C, P>
where
    U: Read + Write,
    C: Clock,
    P: OutputPin,
{
    /// Takes the UART, the clock and the switch of the module's main
    /// supply, and switches the module off. It is switched on only while it
    /// works (see the module docs). Fails only if the pin does.
    pub fn with_power(
        uart: U,
        clock: C,
        config: Config,
        power: PowerSwitch<P>,
    ) -> Result<Self, Error> {
        let mut fingerprint = Fingerprint::build(uart, clock, config, Some(power));
        fingerprint.switch_off()?;
        Ok(fingerprint)
    }

    fn build(uart: U, clock: C, config: Config, power: Option<PowerSwitch<P>>) -> Self {
        Fingerprint {
            uart,
            clock,
            config,
            reader: FrameReader::new(),
            rx: [0; 32],
            rx_start: 0,
            rx_end: 0,
            enrollment: None,
            power,
            powered: false,
            held: false,
        }
    }

    /// Gives the UART, the clock and the power switch back (`None` for a
    /// driver built by [`Fingerprint::new`]). The switch is left as it is.
    pub fn release_all(self) -> (U, C, Option<PowerSwitch<P>>) {
        (self.uart, self.clock, self.power)
    }

    /// Whether the driver has switched the module on (always `false` for a
    /// module powered permanently).
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Switches the module on (if it is switched and off), waits for its
    /// boot byte, and keeps it on until [`Fingerprint::power_down`]: for
    /// [`Fingerprint::aura`] and [`Fingerprint::command`], which do not
    /// switch power. Nothing for a module powered permanently.
    pub async fn power_up(&mut self) -> Result<(), Error> {
        self.wake().await?;
        self.held = true;
        Ok(())
    }

    /// Switches the module off (if it is switched), ending a hold of
    /// [`Fingerprint::power_up`] and any enrollment under way (the module
    /// forgets its buffers).
    pub async fn power_down(&mut self) -> Result<(), Error> {
        self.held = false;
        self.enrollment = None;
        self.switch_off()
    }

    /// Drives the switch off (if there is one).
    fn switch_off(&mut self) -> Result<(), Error> {
        self.powered = false;
        match &mut self.power {
            Some(power) => power.set(false),
            None => Ok(()),
        }
    }

    /// Switches a switched module on and waits for its boot byte, unless it
    /// is on already. A failure leaves the switch driven off.
    async fn wake(&mut self) -> Result<(), Error> {
        if self.powered {
            return Ok(());
        }
        let Some(power) = &mut self.power else {
            return Ok(());
        };
        self.powered = true;
        let booted = match power.set(true) {
            Ok(()) => self.wait_for_boot().await,
            Err(error) => Err(error),
        };
        if let Err(error) = booted {
            self.enrollment = None;
            self.held = false;
            // The first error says what happened; the switch is driven off
            // all the same.
            let _ = self.switch_off();
            return Err(error);
        }
        Ok(())
    }

    /// Reads until the boot byte `55`; anything before it is noise.
    async fn wait_for_boot(&mut self) -> Result<(), Error> {
        self.reader.reset();
        self.rx_start = self.rx_end;
        let deadline = after(&self.clock, self.config.boot_timeout_ms);
        loop {
            while let Some(&byte) = self
                .rx
                .get(self.rx_start)
                .filter(|_| self.rx_start < self.rx_end)
            {
                self.rx_start += 1;
                if byte == BOOT_BYTE {
                    return Ok(());
                }
            }
            self.refill(deadline, Error::BootTimeout).await?;
        }
    }

    /// Ends an operation: switches the module off unless an enrollment or
    /// a [`Fingerprint::power_up`] holds it on. The operation's error wins
    /// over the switch's.
    fn rest<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        let off = if self.powered && !self.held && self.enrollment.is_none() {
            self.switch_off()
        } else {
            Ok(())
        };
        let value = result?;
        off?;
        Ok(value)
    }

    /// Whether an enrollment is under way (begun and not yet ended).
    pub fn is_enrolling(&self) -> bool {
        self.enrollment.is_some()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sends one instruction and returns the module's ack. Any confirmation
    /// code is returned as it came; only the exchange itself can fail. Does
    /// not switch power ([`Fingerprint::power_up`] first for a switched
    /// module).
    pub async fn command(&mut self, command: &Command) -> Result<Reply, Error> {
        let mut frame = [0u8; COMMAND_FRAME_LEN];
        let len = wire::emit_command(self.config.address, command, &mut frame)?;
        // A late answer to an abandoned command must not pass for this one.
        self.reader.reset();
        self.rx_start = self.rx_end;
        let deadline = after(&self.clock, self.config.reply_timeout_ms);
        let bytes = frame.get(..len).unwrap_or(&[]);
        match before(&mut self.clock, deadline, self.uart.write_all(bytes)).await {
            None => return Err(Error::Timeout),
            Some(Err(error)) => return Err(Error::Uart(error.kind())),
            Some(Ok(())) => {}
        }
        self.read_ack(deadline).await
    }

    /// Refills the receive buffer with what the UART gives before
    /// `deadline`; `late` is the error a deadline that passes first gives.
    async fn refill(&mut self, deadline: u64, late: Error) -> Result<(), Error> {
        match before(&mut self.clock, deadline, self.uart.read(&mut self.rx)).await {
            None => Err(late),
            Some(Err(error)) => Err(Error::Uart(error.kind())),
            Some(Ok(0)) => Err(Error::Closed),
            Some(Ok(n)) => {
                self.rx_start = 0;
                self.rx_end = n.min(self.rx.len());
                Ok(())
            }
        }
    }

    async fn read_ack(&mut self, deadline: u64) -> Result<Reply, Error> {
        loop {
            while let Some(&byte) = self
                .rx
                .get(self.rx_start)
                .filter(|_| self.rx_start < self.rx_end)
            {
                self.rx_start += 1;
                if let Some(repr) = self.reader.push(byte)? {
                    // Data packets and other addresses are not for us.
                    if repr.packet_id != PacketId::Ack || repr.address != self.config.address {
                        continue;
                    }
                    let ack = wire::Ack::parse(repr.payload)?;
                    let data =
                        heapless::Vec::from_slice(ack.data).map_err(|_| Error::UnexpectedReply)?;
                    return Ok(Reply {
                        code: ack.code,
                        data,
                    });
                }
            }
            self.refill(deadline, Error::Timeout).await?;
        }
    }

    /// Sends a command whose only good answer is `00`.
    async fn expect_ok(&mut self, command: &Command) -> Result<(), Error> {
        let reply = self.command(command).await?;
        if reply.code == Code::OK {
            Ok(())
        } else {
            Err(Error::Module(reply.code))
        }
    }

    /// HandShake (`40`): whether the module answers. AS608 modules without
    /// it answer `01`; use [`Fingerprint::verify_password`] with those.
    pub async fn handshake(&mut self) -> Result<(), Error> {
        self.wake().await?;
        let result = self.expect_ok(&Command::HandShake).await;
        self.rest(result)
    }

    /// VfyPwd (`13`) with [`Config::password`].
    pub async fn verify_password(&mut self) -> Result<(), Error> {
        self.wake().await?;
        let result = self.check_password().await;
        self.rest(result)
    }

    async fn check_password(&mut self) -> Result<(), Error> {
        let password = self.config.password;
        let reply = self.command(&Command::VfyPwd { password }).await?;
        match reply.code {
            Code::OK => Ok(()),
            Code::WRONG_PASSWORD => Err(Error::WrongPassword),
            code => Err(Error::Module(code)),
        }
    }

    /// TemplateNum (`1D`): how many templates the library holds.
    pub async fn template_count(&mut self) -> Result<u16, Error> {
        self.wake().await?;
        let result = self.count_templates().await;
        self.rest(result)
    }

    async fn count_templates(&mut self) -> Result<u16, Error> {
        let reply = self.command(&Command::TemplateNum).await?;
        if reply.code != Code::OK {
            return Err(Error::Module(reply.code));
        }
        match reply.data.as_slice() {
            [hi, lo] => Ok(u16::from_be_bytes([*hi, *lo])),
            _ => Err(Error::UnexpectedReply),
        }
    }

    /// AuraLed (`35`): drives the ring LED of R503-class modules. Does not
    /// switch power: a switched module must be held on
    /// ([`Fingerprint::power_up`]) for the LED to light and stay lit.
    pub async fn aura(&mut self, aura: Aura) -> Result<(), Error> {
        self.expect_ok(&Command::AuraLed(aura)).await
    }

    async fn pause(&mut self) {
        let at = after(&self.clock, self.config.poll_interval_ms);
        self.clock.wait_until(at).await;
    }

    /// GenImg until an image is taken; `false` if no finger came within
    /// [`Config::present_timeout_ms`].
    async fn capture(&mut self) -> Result<bool, Error> {
        let deadline = after(&self.clock, self.config.present_timeout_ms);
        loop {
            let reply = self.command(&Command::GenImg).await?;
            match reply.code {
                Code::OK => return Ok(true),
                Code::NO_FINGER | Code::IMAGE_FAIL => {}
                code => return Err(Error::Module(code)),
            }
            if self.clock.now_ms() >= deadline {
                return Ok(false);
            }
            self.pause().await;
        }
    }

    /// GenImg until it reports no finger; `false` if the finger stayed
    /// beyond [`Config::lift_timeout_ms`].
    async fn wait_for_lift(&mut self) -> Result<bool, Error> {
        let deadline = after(&self.clock, self.config.lift_timeout_ms);
        loop {
            let reply = self.command(&Command::GenImg).await?;
            match reply.code {
                Code::NO_FINGER => return Ok(true),
                Code::OK | Code::IMAGE_FAIL => {}
                code => return Err(Error::Module(code)),
            }
            if self.clock.now_ms() >= deadline {
                return Ok(false);
            }
            self.pause().await;
        }
    }

    /// Img2Tz into `buffer`: `true` if features were extracted, `false` for
    /// a messy image or too few features.
    async fn extract(&mut self, buffer: u8) -> Result<bool, Error> {
        let reply = self.command(&Command::Img2Tz { buffer }).await?;
        match reply.code {
            Code::OK => Ok(true),
            Code::MESSY_IMAGE | Code::FEW_FEATURES | Code::IMAGE_FAIL => Ok(false),
            code => Err(Error::Module(code)),
        }
    }

    /// Searches the whole library for buffer 1.
    async fn search(&mut self) -> Result<Option<SearchHit>, Error> {
        let count = self.config.capacity;
        let reply = self
            .command(&Command::Search {
                buffer: 1,
                start: 0,
                count,
            })
            .await?;
        match reply.code {
            Code::OK => Ok(Some(SearchHit::parse(&reply.data)?)),
            Code::NOT_FOUND => Ok(None),
            code => Err(Error::Module(code)),
        }
    }

    /// The second capture of an enrollment: a finger the library already
    /// holds is refused as a duplicate (R-USR-7).
    async fn second_capture(&mut self, page: u16) -> Result<EnrollStatus, Error> {
        if !self.capture().await? {
            return Ok(EnrollStatus::Refused(EnrollRefusal::Timeout));
        }
        if !self.extract(2).await? {
            return Ok(EnrollStatus::Refused(EnrollRefusal::BadCapture));
        }
        let merged = self.command(&Command::RegModel).await?;
        match merged.code {
            Code::OK => {}
            Code::ENROLL_MISMATCH => return Ok(EnrollStatus::Refused(EnrollRefusal::BadCapture)),
            code => return Err(Error::Module(code)),
        }
        // R-USR-7: a finger the library already holds is refused.
        if self.search().await?.is_some() {
            return Ok(EnrollStatus::Refused(EnrollRefusal::Duplicate));
        }
        let stored = self.command(&Command::Store { buffer: 1, page }).await?;
        match stored.code {
            Code::OK => Ok(EnrollStatus::Enrolled(TemplateId(page))),
            Code::ALREADY_EXISTS => Ok(EnrollStatus::Refused(EnrollRefusal::Duplicate)),
            Code::LIBRARY_FULL => Ok(EnrollStatus::Refused(EnrollRefusal::Full)),
            Code::BAD_LOCATION => Err(Error::TemplateRange),
            code => Err(Error::Module(code)),
        }
    }
}

impl<U, C, P> ErrorType for Fingerprint<U, C, P> {
    type Error = Error;
}

// The operations themselves, without power: `Biometric` wraps each in
// `wake` … `rest`.
impl<U, C, P> Fingerprint<U, C, P>
where
    U: Read + Write,
    C: Clock,
    P: OutputPin,
{
    async fn identify_finger(&mut self) -> Result<Identification, Error> {
        if !self.capture().await? || !self.extract(1).await? {
            return Ok(Identification::NoSample);
        }
        Ok(match self.search().await? {
            Some(hit) => Identification::Match(TemplateId(hit.page)),
            None => Identification::NoMatch,
        })
    }

    async fn next_step(&mut self) -> Result<EnrollStatus, Error> {
        let Some(Enrollment { page, stage }) = self.enrollment.take() else {
            return Err(Error::NotEnrolling);
        };
        let next = |stage| Enrollment { page, stage };
        match stage {
            Stage::Begun => {
                if !self.capture().await? {
                    return Ok(EnrollStatus::Refused(EnrollRefusal::Timeout));
                }
                if !self.extract(1).await? {
                    return Ok(EnrollStatus::Refused(EnrollRefusal::BadCapture));
                }
                self.enrollment = Some(next(Stage::Captured));
                Ok(EnrollStatus::Next(EnrollStep::Lift))
            }
            Stage::Captured => {
                if !self.wait_for_lift().await? {
                    return Ok(EnrollStatus::Refused(EnrollRefusal::Timeout));
                }
                self.enrollment = Some(next(Stage::Lifted));
                Ok(EnrollStatus::Next(EnrollStep::Present))
            }
            Stage::Lifted => self.second_capture(page).await,
        }
    }
}

impl<U, C, P> Biometric for Fingerprint<U, C, P>
where
    U: Read + Write,
    C: Clock,
    P: OutputPin,
{
    /// A switched module is on from before the first GenImg until the
    /// answer.
    async fn identify(&mut self) -> Result<Identification, Error> {
        self.wake().await?;
        let result = self.identify_finger().await;
        self.rest(result)
    }

    /// An identification dropped half-way leaves a switched module on:
    /// it goes off (not during an enrollment, nor while held on by
    /// [`Fingerprint::power_up`]).
    async fn stop(&mut self) -> Result<(), Error> {
        if self.is_powered() && self.enrollment.is_none() && !self.held {
            return self.switch_off();
        }
        Ok(())
    }

    /// Records the page; sends nothing (the first capture overwrites the
    /// module's buffers, which abandons any enrollment under way). A
    /// switched module is switched on here and stays on until the
    /// enrollment ends.
    async fn begin_enroll(&mut self, template: TemplateId) -> Result<(), Error> {
        self.enrollment = None;
        if template.0 >= self.config.capacity {
            return self.rest(Err(Error::TemplateRange));
        }
        self.wake().await?;
        self.enrollment = Some(Enrollment {
            page: template.0,
            stage: Stage::Begun,
        });
        Ok(())
    }

    /// The next of the three steps. An answer other than
    /// [`EnrollStatus::Next`], or an error, ends the enrollment (and
    /// switches a switched module off).
    async fn enroll_step(&mut self) -> Result<EnrollStatus, Error> {
        if self.enrollment.is_none() {
            return Err(Error::NotEnrolling);
        }
        // On since `begin_enroll`; this only matters if a `power_down` came
        // between, which ended the enrollment anyway.
        self.wake().await?;
        let result = self.next_step().await;
        self.rest(result)
    }

    /// Forgets the enrollment and switches a switched module off; the
    /// module's buffers are overwritten by the next capture (or lost with
    /// the power), so nothing is sent.
    async fn cancel_enroll(&mut self) -> Result<(), Error> {
        self.enrollment = None;
        self.rest(Ok(()))
    }

    async fn delete(&mut self, template: TemplateId) -> Result<(), Error> {
        self.wake().await?;
        let result = self
            .expect_ok(&Command::DeleteChar {
                page: template.0,
                count: 1,
            })
            .await;
        self.rest(result)
    }

    async fn clear(&mut self) -> Result<(), Error> {
        self.wake().await?;
        let result = self.expect_ok(&Command::Empty).await;
        self.rest(result)
    }
}

/// The module's WAKEUP line, which shows a finger on the sensor. A value of
/// its own beside [`Fingerprint`]: the lock waits on it while the driver
/// talks to the module, and a board hands it to the runtime as the finger's
/// sample sensor. R-UNL-1: a finger laid on the sensor starts identification
/// by itself, no touch on the keypad needed.
pub struct Wakeup<W> {
    pin: W,
    active_low: bool,
}

impl<W: Wait> Wakeup<W> {
    /// A WAKEUP line that goes low on touch, as `PERIPHERALS.md` gives it.
    pub fn new(pin: W) -> Self {
        Wakeup {
            pin,
            active_low: true,
        }
    }

    /// A WAKEUP line that goes high on touch, as R503 sheets describe it.
    pub fn active_high(pin: W) -> Self {
        Wakeup {
            pin,
            active_low: false,
        }
    }

    /// Gives the pin back.
    pub fn release(self) -> W {
        self.pin
    }
}

impl<W> ErrorType for Wakeup<W> {
    type Error = Error;
}

impl<W: Wait> SampleSensor for Wakeup<W> {
    /// A level wait: cancel-safe, and a finger already on the sensor
    /// returns at once.
    async fn wait_for_sample(&mut self) -> Result<(), Error> {
        let level = if self.active_low {
            self.pin.wait_for_low().await
        } else {
            self.pin.wait_for_high().await
        };
        level.map_err(|error| Error::Pin(error.kind()))
    }

    /// A level wait for the line's idle level: the finger lifted.
    async fn wait_for_removal(&mut self) -> Result<(), Error> {
        let level = if self.active_low {
            self.pin.wait_for_high().await
        } else {
            self.pin.wait_for_low().await
        };
        level.map_err(|error| Error::Pin(error.kind()))
    }
}
