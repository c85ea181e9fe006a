//! Face and palm modules speaking the EF AA protocol: HLK-FM225 / FM223,
//! Kneron KL520-based modules, DFRobot AI10 — the message table several
//! independent lock-module SDKs share. Palm vein runs on combined face+palm
//! modules over the same protocol.
//!
//! **Wiring.** The module's TX/RX to a UART at 115200 8N1; its power through
//! a switch the board controls (an enable pin: the module draws far too much
//! to stay on). Send [`Face::power_down`] before cutting power; after
//! switching it on, [`Face::wait_until_ready`] waits for its READY note.
//! Pass the UART (embedded-io-async 0.7 `Read` + `Write`) and the lock's
//! clock.
//!
//! **Protocol source.** The EF AA framing, message and note ids, result
//! codes and host timeouts of the public module SDKs, as written out in the
//! project's `PERIPHERALS.md` with its byte vectors; the codec is in
//! [`wire`].
//!
//! **What it does.** [`Face`] implements [`Biometric`] for faces, and
//! [`Face::palm`] gives a view implementing it for palms:
//! - *identify*: VERIFY; the user id on success, a failed attempt on
//!   "unknown user" or a failed liveness check, no sample on a timeout. A
//!   palm-capable module recognises a face or a palm to the same command;
//!   [`Face::last_match_kind`] says which it was.
//! - *enroll (face)*: `begin_enroll` records that a face enrollment is
//!   under way (a RESET first if one was already, to abandon the module's
//!   partial captures), then one ENROLL per `enroll_step`, the driver
//!   counting the head directions in the order middle, up, down, left,
//!   right, each step answered with the next direction's prompt. When a direction fails (timeout, abort, liveness) the driver
//!   turns the last FACE_STATE note into a prompt ("come closer", "raise
//!   your head"…) and the next step tries the same direction again, at most
//!   [`Config::enroll_attempts`] times. "Already enrolled" (10) is
//!   [`EnrollRefusal::Duplicate`]; "max users" and "no memory" are
//!   [`EnrollRefusal::Full`].
//! - *enroll (palm)*: `begin_enroll`, then one PALM_ENROLL_ITG per
//!   `enroll_step`; the module guides the hand itself.
//! - An `enroll_step` without an enrollment begun (or of the other kind) is
//!   [`Error::NotEnrolling`]; nothing is sent.
//! - *delete* DELUSER (an unknown user counts as deleted), *clear* DELALL,
//!   *cancel* RESET. The module chooses user ids: the `template` argument of
//!   `begin_enroll` is not sent, the result carries the id to keep.
//! - *sample*: the module cannot tell that a face or a hand came into
//!   range, so a board gives the runtime [`lock_hal::Absent`] as its sample
//!   sensor and the lock searches on a touch (R-UNL-1).
//! - [`Face::reset`], [`Face::status`], [`Face::power_down`], and
//!   [`Face::command`] for anything else.
//!
//! **One module, two parts.** [`shared`] puts the driver and the module's
//! enable pin behind an async mutex and gives a face part and a palm part
//! over it, each operation powering the module on and off again.
//!
//! **Encrypted mode.** Some modules answer 21, "encryption required", until
//! the host opens an encrypted session; how the key is agreed differs by
//! vendor. [`Encryption`] is the hook: once it reports itself active, every
//! message is sealed by it before sending and opened by it after receiving,
//! in the framing of [`wire::parse_sealed`]. [`Plain`] (the default) leaves
//! messages as they are.
//!
//! **Choices on details marked *verify*:**
//! - FACE_STATE fields are read big-endian, like the rest of the protocol.
//! - The byte after `admin` in a VERIFY reply is read as the id type (1 face,
//!   2 palm); a module that sends an unlock status there (200 / 204) reports
//!   [`Face::last_match_kind`] as `None`.
//! - PALM_ENROLL_ITG is sent as admin, `name[32]`, three zero bytes (direction,
//!   enroll type, duplicate flag — ignored by palm modules), timeout.
//! - Left/right notes are taken as seen from the person: "too far left" asks
//!   to turn right. [`Config::mirrored`] swaps them for modules that report
//!   them as seen from the camera.
//! - Host-side waits: RESET 1 s, GET_STATUS 200 ms (the SDKs' figures);
//!   VERIFY / ENROLL the module's own timeout (10 s) plus
//!   [`Config::reply_margin_ms`]; DELUSER / DELALL 1 s (the SDKs allow
//!   200 ms; a flash erase can take longer).

pub mod shared;
pub mod wire;

use embedded_io_async::{Error as _, Read, Write};
use lock_hal::{
    Biometric, Clock, EnrollRefusal, EnrollStatus, EnrollStep, ErrorKind, ErrorType,
    Identification, TemplateId,
};

use crate::deadline::{after, before};
use wire::{
    Command, Enrolled, Enrollment, FaceState, FrameReader, Message, NAME_LEN, Repr, ResultCode,
    SealedReader, Verified, direction, face_state, note,
};

/// Settings of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// VERIFY's module-side timeout, seconds.
    pub verify_timeout_s: u8,
    /// ENROLL's module-side timeout per direction, seconds.
    pub enroll_timeout_s: u8,
    /// How much longer than the module's own timeout the host waits.
    pub reply_margin_ms: u32,
    /// Host wait for RESET's reply.
    pub reset_timeout_ms: u32,
    /// Host wait for GET_STATUS's reply.
    pub status_timeout_ms: u32,
    /// Host wait for DELUSER, DELALL and POWERDOWN.
    pub delete_timeout_ms: u32,
    /// Tries per enrollment direction (and per palm enrollment).
    pub enroll_attempts: u8,
    /// The module reports left/right as seen from the camera.
    pub mirrored: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            verify_timeout_s: 10,
            enroll_timeout_s: 10,
            reply_margin_ms: 1_000,
            reset_timeout_ms: 1_000,
            status_timeout_ms: 200,
            delete_timeout_ms: 1_000,
            enroll_attempts: 3,
            mirrored: false,
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
    /// No reply in time.
    #[error("no reply in time")]
    Timeout,
    /// A frame was refused.
    #[error("bad frame: {0}")]
    Frame(#[from] wire::Error),
    /// The module rejected the command (busy with another).
    #[error("command rejected")]
    Rejected,
    /// The module needs an encrypted session ([`Encryption`]).
    #[error("module requires encryption")]
    EncryptionRequired,
    /// The [`Encryption`] hook failed to seal or open a message.
    #[error("encryption hook failed")]
    Encryption,
    /// A result the operation cannot go on from.
    #[error("module reported {0:?}")]
    Module(ResultCode),
    /// An enrollment step without an enrollment of its kind begun (or
    /// after it ended).
    #[error("no enrollment under way")]
    NotEnrolling,
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Uart(_) | Error::Closed => ErrorKind::Bus,
            Error::Timeout => ErrorKind::Timeout,
            Error::Frame(_) | Error::Encryption => ErrorKind::Protocol,
            Error::Rejected => ErrorKind::Busy,
            Error::Module(ResultCode::MAX_USERS | ResultCode::NO_MEMORY) => ErrorKind::Full,
            Error::Module(_) => ErrorKind::Device,
            Error::EncryptionRequired | Error::NotEnrolling => ErrorKind::Other,
        }
    }
}

/// The [`Encryption`] hook could not seal or open a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EncryptionError;

/// The hook for modules that need an encrypted session. The owner agrees the
/// key with the module (vendor-specific commands, sent with
/// [`Face::command`]) and then reports itself active.
pub trait Encryption {
    /// Whether messages are sealed now.
    fn is_active(&self) -> bool;

    /// Seals a plain message body (`MsgID | Size | Data`) into `out`;
    /// returns the sealed length (at most [`wire::MAX_SEALED_LEN`]).
    fn seal(&mut self, message: &[u8], out: &mut [u8]) -> Result<usize, EncryptionError>;

    /// Opens a sealed body into `out`, giving back `MsgID | Size | Data`
    /// (padding after the data is ignored); returns its length.
    fn open(&mut self, sealed: &[u8], out: &mut [u8]) -> Result<usize, EncryptionError>;
}

/// No encryption: messages go as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plain;

impl Encryption for Plain {
    fn is_active(&self) -> bool {
        false
    }

    fn seal(&mut self, message: &[u8], out: &mut [u8]) -> Result<usize, EncryptionError> {
        let slot = out.get_mut(..message.len()).ok_or(EncryptionError)?;
        slot.copy_from_slice(message);
        Ok(message.len())
    }

    fn open(&mut self, sealed: &[u8], out: &mut [u8]) -> Result<usize, EncryptionError> {
        self.seal(sealed, out)
    }
}

/// Which kind of sample a module recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Modality {
    /// A face.
    Face,
    /// A palm.
    Palm,
}

/// A reply to a command: its result and the first 64 bytes of its data
/// (every reply the driver interprets is shorter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// How it went.
    pub result: ResultCode,
    /// What came with it.
    pub data: heapless::Vec<u8, 64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    modality: Modality,
    /// Directions captured ([`direction`] flags).
    done: u8,
    /// Failed tries of the current direction.
    failures: u8,
}

/// The enrollment order of head directions.
const DIRECTIONS: [u8; 5] = [
    direction::MIDDLE,
    direction::UP,
    direction::DOWN,
    direction::LEFT,
    direction::RIGHT,
];

fn direction_prompt(direction: u8) -> EnrollStep {
    match direction {
        direction::UP => EnrollStep::HeadUp,
        direction::DOWN => EnrollStep::HeadDown,
        direction::LEFT => EnrollStep::HeadLeft,
        direction::RIGHT => EnrollStep::HeadRight,
        _ => EnrollStep::LookStraight,
    }
}

/// The prompt that corrects a FACE_STATE, if there is one.
pub fn state_prompt(state: i16, mirrored: bool) -> Option<EnrollStep> {
    let (toward_right, toward_left) = if mirrored {
        (EnrollStep::HeadLeft, EnrollStep::HeadRight)
    } else {
        (EnrollStep::HeadRight, EnrollStep::HeadLeft)
    };
    match state {
        face_state::NO_FACE
        | face_state::EYEBROW_OCCLUSION
        | face_state::EYE_OCCLUSION
        | face_state::FACE_OCCLUSION => Some(EnrollStep::Present),
        face_state::TOO_UP => Some(EnrollStep::HeadDown),
        face_state::TOO_DOWN => Some(EnrollStep::HeadUp),
        face_state::TOO_LEFT => Some(toward_right),
        face_state::TOO_RIGHT => Some(toward_left),
        face_state::TOO_FAR => Some(EnrollStep::Closer),
        face_state::TOO_CLOSE => Some(EnrollStep::Further),
        _ => None,
    }
}

const OUT_LEN: usize = wire::SEALED_HEADER_LEN + wire::MAX_SEALED_LEN + wire::PARITY_LEN;

/// An EF AA face (and palm) module on a UART.
pub struct Face<U, C, E = Plain> {
    uart: U,
    clock: C,
    config: Config,
    encryption: E,
    reader: FrameReader,
    sealed_reader: SealedReader,
    rx: [u8; 32],
    rx_start: usize,
    rx_end: usize,
    progress: Option<Progress>,
    last_state: Option<FaceState>,
    last_kind: Option<Modality>,
}

impl<U, C> Face<U, C, Plain>
where
    U: Read + Write,
    C: Clock,
{
    /// Takes the UART and the clock; no encryption. Sends nothing.
    pub fn new(uart: U, clock: C, config: Config) -> Self {
        Face::with_encryption(uart, clock, config, Plain)
    }
}

impl<U, C, E> Face<U, C, E>
where
    U: Read + Write,
    C: Clock,
    E: Encryption,
{
    /// Takes the UART, the clock and an [`Encryption`] hook.
    pub fn with_encryption(uart: U, clock: C, config: Config, encryption: E) -> Self {
        Face {
            uart,
            clock,
            config,
            encryption,
            reader: FrameReader::new(),
            sealed_reader: SealedReader::new(),
            rx: [0; 32],
            rx_start: 0,
            rx_end: 0,
            progress: None,
            last_state: None,
            last_kind: None,
        }
    }

    /// Gives the UART, clock and hook back.
    pub fn release(self) -> (U, C, E) {
        (self.uart, self.clock, self.encryption)
    }

    /// The encryption hook, to start a session.
    pub fn encryption_mut(&mut self) -> &mut E {
        &mut self.encryption
    }

    /// The palm side of the module, as a [`Biometric`] of its own.
    pub fn palm(&mut self) -> Palm<'_, U, C, E> {
        Palm { face: self }
    }

    /// What the last successful identification recognised, when the module
    /// says (palm-capable modules do).
    pub fn last_match_kind(&self) -> Option<Modality> {
        self.last_kind
    }

    /// Whether an enrollment is under way (begun and not yet ended).
    pub fn is_enrolling(&self) -> bool {
        self.progress.is_some()
    }

    /// The kind of the enrollment under way, if one is.
    pub fn enrolling(&self) -> Option<Modality> {
        self.progress.map(|progress| progress.modality)
    }

    /// The last FACE_STATE note received.
    pub fn last_face_state(&self) -> Option<FaceState> {
        self.last_state
    }

    /// Sends a command and waits `timeout_ms` for its reply. Notes that
    /// arrive meanwhile are kept ([`Face::last_face_state`]); replies to
    /// other commands (late answers to abandoned ones) are skipped.
    pub async fn command(&mut self, command: &Command, timeout_ms: u32) -> Result<Reply, Error> {
        let mut plain = [0u8; wire::HEADER_LEN + Command::MAX_LEN + wire::PARITY_LEN];
        let plain_len = wire::emit_command(command, &mut plain)?;
        let mut out = [0u8; OUT_LEN];
        let bytes = if self.encryption.is_active() {
            let body = plain
                .get(2..plain_len - wire::PARITY_LEN)
                .ok_or(Error::Encryption)?;
            let mut sealed = [0u8; wire::MAX_SEALED_LEN];
            let sealed_len = self
                .encryption
                .seal(body, &mut sealed)
                .map_err(|_| Error::Encryption)?;
            let sealed = sealed.get(..sealed_len).ok_or(Error::Encryption)?;
            let len = wire::emit_sealed(sealed, &mut out)?;
            out.get(..len).unwrap_or(&[])
        } else {
            plain.get(..plain_len).unwrap_or(&[])
        };
        self.reader.reset();
        self.sealed_reader.reset();
        self.rx_start = self.rx_end;
        let deadline = after(&self.clock, timeout_ms);
        match before(&mut self.clock, deadline, self.uart.write_all(bytes)).await {
            None => return Err(Error::Timeout),
            Some(Err(error)) => return Err(Error::Uart(error.kind())),
            Some(Ok(())) => {}
        }
        let wanted = command.msg_id();
        loop {
            let message = self.next_message(deadline).await?;
            if let Received::Reply {
                command,
                result,
                data,
            } = message
                && command == wanted
            {
                return Ok(Reply { result, data });
            }
        }
    }

    /// Waits for the READY note a module sends after power-on.
    pub async fn wait_until_ready(&mut self, timeout_ms: u32) -> Result<(), Error> {
        let deadline = after(&self.clock, timeout_ms);
        loop {
            if self.next_message(deadline).await? == Received::Ready {
                return Ok(());
            }
        }
    }

    /// Reads until one whole message is in.
    async fn next_message(&mut self, deadline: u64) -> Result<Received, Error> {
        let sealed_mode = self.encryption.is_active();
        loop {
            while let Some(&byte) = self
                .rx
                .get(self.rx_start)
                .filter(|_| self.rx_start < self.rx_end)
            {
                self.rx_start += 1;
                let received = if sealed_mode {
                    match self.sealed_reader.push(byte)? {
                        None => None,
                        Some(sealed) => {
                            let mut opened = [0u8; wire::MAX_SEALED_LEN];
                            let len = self
                                .encryption
                                .open(sealed, &mut opened)
                                .map_err(|_| Error::Encryption)?;
                            let body = opened.get(..len).ok_or(Error::Encryption)?;
                            let repr = Repr::parse_body(body)?;
                            Some(Received::from_repr(&repr, &mut self.last_state)?)
                        }
                    }
                } else {
                    match self.reader.push(byte)? {
                        None => None,
                        Some(repr) => Some(Received::from_repr(&repr, &mut self.last_state)?),
                    }
                };
                if let Some(received) = received {
                    return Ok(received);
                }
            }
            let read = before(&mut self.clock, deadline, self.uart.read(&mut self.rx)).await;
            match read {
                None => return Err(Error::Timeout),
                Some(Err(error)) => return Err(Error::Uart(error.kind())),
                Some(Ok(0)) => return Err(Error::Closed),
                Some(Ok(n)) => {
                    self.rx_start = 0;
                    self.rx_end = n.min(self.rx.len());
                }
            }
        }
    }

    /// Sends a command whose only good answer is success.
    async fn expect_success(&mut self, command: &Command, timeout_ms: u32) -> Result<Reply, Error> {
        let reply = self.command(command, timeout_ms).await?;
        match reply.result {
            ResultCode::SUCCESS => Ok(reply),
            other => Err(failure(other)),
        }
    }

    /// RESET: stops whatever the module does.
    pub async fn reset(&mut self) -> Result<(), Error> {
        let timeout = self.config.reset_timeout_ms;
        self.expect_success(&Command::Reset, timeout).await?;
        Ok(())
    }

    /// GET_STATUS: 0 standby, 1 busy, 2 error, 3 invalid.
    pub async fn status(&mut self) -> Result<u8, Error> {
        let timeout = self.config.status_timeout_ms;
        let reply = self.expect_success(&Command::GetStatus, timeout).await?;
        reply
            .data
            .first()
            .copied()
            .ok_or(Error::Frame(wire::Error::Malformed))
    }

    /// POWERDOWN: the module may be switched off after this.
    pub async fn power_down(&mut self) -> Result<(), Error> {
        let timeout = self.config.delete_timeout_ms;
        self.expect_success(&Command::PowerDown, timeout).await?;
        Ok(())
    }

    fn long_timeout(&self, module_timeout_s: u8) -> u32 {
        u32::from(module_timeout_s)
            .saturating_mul(1_000)
            .saturating_add(self.config.reply_margin_ms)
    }

    async fn identify_any(&mut self) -> Result<Identification, Error> {
        self.last_kind = None;
        let timeout_s = self.config.verify_timeout_s;
        let command = Command::Verify {
            power_down: false,
            timeout_s,
        };
        let reply = self.command(&command, self.long_timeout(timeout_s)).await?;
        match reply.result {
            ResultCode::SUCCESS => {
                let verified = Verified::parse(&reply.data)?;
                self.last_kind = match verified.id_type {
                    Some(1) => Some(Modality::Face),
                    Some(2) => Some(Modality::Palm),
                    _ => None,
                };
                Ok(Identification::Match(TemplateId(verified.user)))
            }
            ResultCode::UNKNOWN_USER | ResultCode::LIVENESS => Ok(Identification::NoMatch),
            ResultCode::TIMEOUT | ResultCode::ABORTED => Ok(Identification::NoSample),
            other => Err(failure(other)),
        }
    }

    /// Starts an enrollment of `modality`. One under way is abandoned: the
    /// module is RESET so that its partial captures go too.
    async fn begin(&mut self, modality: Modality) -> Result<(), Error> {
        if self.progress.take().is_some() {
            self.reset().await?;
        }
        self.progress = Some(Progress {
            modality,
            done: 0,
            failures: 0,
        });
        Ok(())
    }

    /// The next enrollment step of either kind; a face or palm the module
    /// already holds is refused as a duplicate (R-USR-7). Any answer but
    /// [`EnrollStatus::Next`], or an error, ends the enrollment.
    async fn enroll(&mut self, modality: Modality) -> Result<EnrollStatus, Error> {
        let mut progress = match self.progress {
            Some(progress) if progress.modality == modality => progress,
            _ => return Err(Error::NotEnrolling),
        };
        self.progress = None;
        let timeout_s = self.config.enroll_timeout_s;
        let wanted = DIRECTIONS
            .iter()
            .copied()
            .find(|&d| progress.done & d == 0)
            .unwrap_or(direction::MIDDLE);
        let command = match modality {
            Modality::Face => Command::Enroll(Enrollment {
                admin: false,
                name: [0; NAME_LEN],
                direction: wanted,
                timeout_s,
            }),
            Modality::Palm => Command::PalmEnrollItg {
                admin: false,
                name: [0; NAME_LEN],
                timeout_s,
            },
        };
        self.last_state = None;
        let reply = self.command(&command, self.long_timeout(timeout_s)).await?;
        let refused = |refusal| Ok(EnrollStatus::Refused(refusal));
        match reply.result {
            ResultCode::SUCCESS => {
                let enrolled = Enrolled::parse(&reply.data)?;
                if modality == Modality::Palm {
                    return Ok(EnrollStatus::Enrolled(TemplateId(enrolled.user)));
                }
                progress.done |= wanted | (enrolled.directions & direction::ALL);
                progress.failures = 0;
                match DIRECTIONS.iter().copied().find(|&d| progress.done & d == 0) {
                    None => Ok(EnrollStatus::Enrolled(TemplateId(enrolled.user))),
                    Some(next) => {
                        self.progress = Some(progress);
                        Ok(EnrollStatus::Next(direction_prompt(next)))
                    }
                }
            }
            ResultCode::ALREADY_ENROLLED => refused(EnrollRefusal::Duplicate),
            ResultCode::MAX_USERS | ResultCode::NO_MEMORY => refused(EnrollRefusal::Full),
            code @ (ResultCode::TIMEOUT
            | ResultCode::ABORTED
            | ResultCode::LIVENESS
            | ResultCode::UNKNOWN) => {
                progress.failures = progress.failures.saturating_add(1);
                if progress.failures >= self.config.enroll_attempts {
                    return refused(if code == ResultCode::TIMEOUT {
                        EnrollRefusal::Timeout
                    } else {
                        EnrollRefusal::BadCapture
                    });
                }
                let prompt = match modality {
                    Modality::Palm => EnrollStep::Present,
                    Modality::Face => self
                        .last_state
                        .and_then(|state| state_prompt(state.state, self.config.mirrored))
                        .unwrap_or(direction_prompt(wanted)),
                };
                self.progress = Some(progress);
                Ok(EnrollStatus::Next(prompt))
            }
            other => Err(failure(other)),
        }
    }

    async fn cancel(&mut self) -> Result<(), Error> {
        self.progress = None;
        self.reset().await
    }

    async fn delete_user(&mut self, TemplateId(user): TemplateId) -> Result<(), Error> {
        let timeout = self.config.delete_timeout_ms;
        let reply = self.command(&Command::DelUser { user }, timeout).await?;
        match reply.result {
            ResultCode::SUCCESS | ResultCode::UNKNOWN_USER => Ok(()),
            other => Err(failure(other)),
        }
    }

    async fn delete_all(&mut self) -> Result<(), Error> {
        let timeout = self.config.delete_timeout_ms;
        self.expect_success(&Command::DelAll, timeout).await?;
        Ok(())
    }
}

/// The error for a result that is not a plain outcome.
fn failure(result: ResultCode) -> Error {
    match result {
        ResultCode::REJECTED => Error::Rejected,
        ResultCode::ENCRYPTION_REQUIRED => Error::EncryptionRequired,
        other => Error::Module(other),
    }
}

/// A message, owned, as far as the driver cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Received {
    Reply {
        command: u8,
        result: ResultCode,
        data: heapless::Vec<u8, 64>,
    },
    Ready,
    Other,
}

impl Received {
    fn from_repr(repr: &Repr<'_>, last_state: &mut Option<FaceState>) -> Result<Received, Error> {
        Ok(match Message::parse(repr)? {
            Message::Reply {
                command,
                result,
                data,
            } => {
                let kept = data.get(..data.len().min(64)).unwrap_or(&[]);
                Received::Reply {
                    command,
                    result,
                    data: heapless::Vec::from_slice(kept).unwrap_or_default(),
                }
            }
            Message::Note {
                nid: note::READY, ..
            } => Received::Ready,
            Message::Note {
                nid: note::FACE_STATE,
                data,
            } => {
                // A malformed note is only advice lost; the reply decides.
                if let Ok(state) = FaceState::parse(data) {
                    *last_state = Some(state);
                }
                Received::Other
            }
            Message::Note { .. } | Message::Image(_) => Received::Other,
        })
    }
}

impl<U, C, E> ErrorType for Face<U, C, E> {
    type Error = Error;
}

impl<U, C, E> Biometric for Face<U, C, E>
where
    U: Read + Write,
    C: Clock,
    E: Encryption,
{
    async fn identify(&mut self) -> Result<Identification, Error> {
        self.identify_any().await
    }

    /// `template` is not sent: the module chooses the user id, and
    /// `Enrolled` carries it.
    async fn begin_enroll(&mut self, _template: TemplateId) -> Result<(), Error> {
        self.begin(Modality::Face).await
    }

    /// The next head direction.
    async fn enroll_step(&mut self) -> Result<EnrollStatus, Error> {
        self.enroll(Modality::Face).await
    }

    async fn cancel_enroll(&mut self) -> Result<(), Error> {
        self.cancel().await
    }

    async fn delete(&mut self, template: TemplateId) -> Result<(), Error> {
        self.delete_user(template).await
    }

    async fn clear(&mut self) -> Result<(), Error> {
        self.delete_all().await
    }

    /// RESET ends a VERIFY the module may still be running for an
    /// identification dropped half-way (and, at rest, does nothing more).
    async fn stop(&mut self) -> Result<(), Error> {
        self.reset().await
    }
}

/// The palm side of a combined module ([`Face::palm`]). Face and palm users
/// share the module's user table, so deleting and clearing act on both.
pub struct Palm<'a, U, C, E> {
    face: &'a mut Face<U, C, E>,
}

impl<U, C, E> ErrorType for Palm<'_, U, C, E> {
    type Error = Error;
}

impl<U, C, E> Biometric for Palm<'_, U, C, E>
where
    U: Read + Write,
    C: Clock,
    E: Encryption,
{
    async fn identify(&mut self) -> Result<Identification, Error> {
        self.face.identify_any().await
    }

    /// `template` is not sent, as for faces.
    async fn begin_enroll(&mut self, _template: TemplateId) -> Result<(), Error> {
        self.face.begin(Modality::Palm).await
    }

    async fn enroll_step(&mut self) -> Result<EnrollStatus, Error> {
        self.face.enroll(Modality::Palm).await
    }

    async fn cancel_enroll(&mut self) -> Result<(), Error> {
        self.face.cancel().await
    }

    async fn delete(&mut self, template: TemplateId) -> Result<(), Error> {
        self.face.delete_user(template).await
    }

    async fn clear(&mut self) -> Result<(), Error> {
        self.face.delete_all().await
    }
}
