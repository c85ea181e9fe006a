//! The EF AA message format of face and palm modules, shaped like smoltcp's
//! `wire` modules: a [`Frame`] view checked with [`Frame::new_checked`], a
//! [`Repr`] parsed from it and emitted into it, typed [`Command`]s (host to
//! module) and [`Message`]s (module to host), and a [`FrameReader`] for
//! bytes arriving in pieces.
//!
//! ```text
//! EF AA | MsgID | Size[2] BE | Data | Parity      Parity = XOR of MsgID, Size bytes and Data
//! ```
//!
//! In encrypted mode a module wraps the message: `EF AA | Size[2] | sealed |
//! Parity`, where `sealed` is the encrypted `MsgID | Size | Data` and the
//! parity covers the size bytes and `sealed` ([`parse_sealed`],
//! [`emit_sealed`], [`SealedReader`]). *Verify* on your module: this layout
//! is the one the public SDKs describe, not tested against hardware here.
//!
//! Every parser is a pure function over `&[u8]`: no state, no panic, a typed
//! [`Error`] for every refusal.

/// The two bytes every message starts with.
pub const SYNC: [u8; 2] = [0xEF, 0xAA];
/// Bytes before the data: sync, message id, size.
pub const HEADER_LEN: usize = 5;
/// The parity byte after the data.
pub const PARITY_LEN: usize = 1;
/// The largest data this codec accepts. Replies the driver asks for are far
/// smaller (a VERIFY reply is 38 bytes, GET_ALL_USERID for 100 users 201);
/// image uploads, which are larger, are never requested.
pub const MAX_DATA_LEN: usize = 256;
/// The largest plain frame.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_DATA_LEN + PARITY_LEN;
/// Bytes before the sealed body of an encrypted frame: sync, size.
pub const SEALED_HEADER_LEN: usize = 4;
/// The largest sealed body: a whole plain message and a cipher's padding.
pub const MAX_SEALED_LEN: usize = 3 + MAX_DATA_LEN + 32;
/// The length of a user name field.
pub const NAME_LEN: usize = 32;

/// Why bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the header, or than the size field announces.
    #[error("truncated frame")]
    Truncated,
    /// The frame does not start with `EF AA`.
    #[error("frame does not start with EF AA")]
    Header,
    /// The size field announces more than the codec accepts.
    #[error("frame too large")]
    Oversized,
    /// The parity byte does not match.
    #[error("parity mismatch")]
    Parity,
    /// The data does not have the shape its message needs.
    #[error("malformed message")]
    Malformed,
    /// A message id the codec does not know.
    #[error("unknown message id")]
    MessageId,
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    let hi = bytes.get(at).copied().unwrap_or(0);
    let lo = bytes.get(at.wrapping_add(1)).copied().unwrap_or(0);
    u16::from_be_bytes([hi, lo])
}

fn put(buffer: &mut [u8], at: usize, bytes: &[u8]) -> bool {
    match buffer.get_mut(at..at.saturating_add(bytes.len())) {
        Some(slot) => {
            slot.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

/// XOR of every byte.
pub fn parity(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, byte| acc ^ byte)
}

/// A read/write view of a plain EF AA frame in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without looking at it; accessors never panic.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer after checking the sync bytes, that the size is at
    /// most [`MAX_DATA_LEN`], and that the whole frame is there. The parity
    /// is [`Repr::parse`]'s to check. Bytes after the frame are ignored.
    /// No input panics (S-HW-3, fuzz target `face_frame`).
    pub fn new_checked(buffer: T) -> Result<Frame<T>, Error> {
        let frame = Frame::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// The checks of [`Frame::new_checked`].
    pub fn check_len(&self) -> Result<(), Error> {
        let bytes = self.buffer.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if bytes.get(..2) != Some(&SYNC[..]) {
            return Err(Error::Header);
        }
        if usize::from(self.size()) > MAX_DATA_LEN {
            return Err(Error::Oversized);
        }
        if bytes.len() < self.total_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The message id.
    pub fn msg_id(&self) -> u8 {
        self.buffer.as_ref().get(2).copied().unwrap_or(0)
    }

    /// The size field.
    pub fn size(&self) -> u16 {
        be16(self.buffer.as_ref(), 3)
    }

    /// The frame's length as its size field says.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.size()) + PARITY_LEN
    }

    /// The data.
    pub fn data(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.size());
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// The parity field.
    pub fn parity(&self) -> u8 {
        let at = self.total_len() - PARITY_LEN;
        self.buffer.as_ref().get(at).copied().unwrap_or(0)
    }

    /// Whether the parity field matches.
    pub fn verify_parity(&self) -> bool {
        let covered = self
            .buffer
            .as_ref()
            .get(2..self.total_len() - PARITY_LEN)
            .unwrap_or(&[]);
        parity(covered) == self.parity()
    }
}

/// A parsed message: its id and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The message id (`00` reply, `01` note, `10`… commands).
    pub msg_id: u8,
    /// The data.
    pub data: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a frame checked by [`Frame::new_checked`]: verifies parity.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &Frame<&'a T>) -> Result<Repr<'a>, Error> {
        let bytes: &'a [u8] = frame.buffer.as_ref();
        let checked = Frame::new_checked(bytes)?;
        if !checked.verify_parity() {
            return Err(Error::Parity);
        }
        let end = HEADER_LEN + usize::from(checked.size());
        Ok(Repr {
            msg_id: checked.msg_id(),
            data: bytes.get(HEADER_LEN..end).ok_or(Error::Truncated)?,
        })
    }

    /// Parses the body of a message without sync and parity, `MsgID |
    /// Size | Data`, as an encrypted frame carries it once opened. Bytes
    /// after the data (a cipher's padding) are ignored.
    pub fn parse_body(body: &'a [u8]) -> Result<Repr<'a>, Error> {
        let (&msg_id, rest) = body.split_first().ok_or(Error::Truncated)?;
        let size = usize::from(be16(rest, 0));
        if rest.len() < 2 {
            return Err(Error::Truncated);
        }
        if size > MAX_DATA_LEN {
            return Err(Error::Oversized);
        }
        Ok(Repr {
            msg_id,
            data: rest.get(2..2 + size).ok_or(Error::Truncated)?,
        })
    }

    /// The bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data.len() + PARITY_LEN
    }

    /// Writes the frame, parity included, at the start of `frame`'s buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) -> Result<(), Error> {
        if self.data.len() > MAX_DATA_LEN {
            return Err(Error::Oversized);
        }
        let size = u16::try_from(self.data.len()).map_err(|_| Error::Oversized)?;
        let buffer = frame.buffer.as_mut();
        let end = self.buffer_len() - PARITY_LEN;
        let written = put(buffer, 0, &SYNC)
            && put(buffer, 2, &[self.msg_id])
            && put(buffer, 3, &size.to_be_bytes())
            && put(buffer, HEADER_LEN, self.data);
        if !written {
            return Err(Error::Truncated);
        }
        let sum = parity(buffer.get(2..end).unwrap_or(&[]));
        if put(buffer, end, &[sum]) {
            Ok(())
        } else {
            Err(Error::Truncated)
        }
    }
}

/// Checks an encrypted frame `EF AA | Size | sealed | Parity` and returns
/// `sealed`.
pub fn parse_sealed(bytes: &[u8]) -> Result<&[u8], Error> {
    if bytes.len() < SEALED_HEADER_LEN {
        return Err(Error::Truncated);
    }
    if bytes.get(..2) != Some(&SYNC[..]) {
        return Err(Error::Header);
    }
    let size = usize::from(be16(bytes, 2));
    if size > MAX_SEALED_LEN {
        return Err(Error::Oversized);
    }
    let end = SEALED_HEADER_LEN + size;
    let covered = bytes.get(2..end).ok_or(Error::Truncated)?;
    let sum = bytes.get(end).copied().ok_or(Error::Truncated)?;
    if parity(covered) != sum {
        return Err(Error::Parity);
    }
    bytes.get(SEALED_HEADER_LEN..end).ok_or(Error::Truncated)
}

/// Writes an encrypted frame around `sealed` into `out`; returns its length.
pub fn emit_sealed(sealed: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(Error::Oversized);
    }
    let size = u16::try_from(sealed.len()).map_err(|_| Error::Oversized)?;
    let end = SEALED_HEADER_LEN + sealed.len();
    let written = put(out, 0, &SYNC) && put(out, 2, &size.to_be_bytes()) && put(out, 4, sealed);
    if !written {
        return Err(Error::Truncated);
    }
    let sum = parity(out.get(2..end).unwrap_or(&[]));
    if put(out, end, &[sum]) {
        Ok(end + PARITY_LEN)
    } else {
        Err(Error::Truncated)
    }
}

/// Message ids of the module's messages.
pub mod msg {
    /// A reply to a command.
    pub const REPLY: u8 = 0x00;
    /// A note (module ready, face state…).
    pub const NOTE: u8 = 0x01;
    /// Image data.
    pub const IMAGE: u8 = 0x02;
}

/// Note ids.
pub mod note {
    /// The module booted and is ready.
    pub const READY: u8 = 0x00;
    /// A face state with position and pose.
    pub const FACE_STATE: u8 = 0x01;
}

/// A reply's result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResultCode(pub u8);

impl ResultCode {
    /// 0: done.
    pub const SUCCESS: ResultCode = ResultCode(0);
    /// 1: the module rejected the command (busy with another).
    pub const REJECTED: ResultCode = ResultCode(1);
    /// 2: the algorithm was aborted.
    pub const ABORTED: ResultCode = ResultCode(2);
    /// 4: the camera failed.
    pub const CAMERA: ResultCode = ResultCode(4);
    /// 5: unknown failure.
    pub const UNKNOWN: ResultCode = ResultCode(5);
    /// 6: bad parameter.
    pub const INVALID_PARAMETER: ResultCode = ResultCode(6);
    /// 7: out of memory.
    pub const NO_MEMORY: ResultCode = ResultCode(7);
    /// 8: no enrolled user matches.
    pub const UNKNOWN_USER: ResultCode = ResultCode(8);
    /// 9: the user table is full.
    pub const MAX_USERS: ResultCode = ResultCode(9);
    /// 10: this face is enrolled already.
    pub const ALREADY_ENROLLED: ResultCode = ResultCode(10);
    /// 12: the liveness check failed (a photo, a mask).
    pub const LIVENESS: ResultCode = ResultCode(12);
    /// 13: nothing usable within the timeout.
    pub const TIMEOUT: ResultCode = ResultCode(13);
    /// 21: the module needs an encrypted session.
    pub const ENCRYPTION_REQUIRED: ResultCode = ResultCode(21);
}

/// Head directions of a face enrollment (bit flags, as the module reports
/// them accumulated).
pub mod direction {
    /// Looking straight.
    pub const MIDDLE: u8 = 0x01;
    /// Turned right.
    pub const RIGHT: u8 = 0x02;
    /// Turned left.
    pub const LEFT: u8 = 0x04;
    /// Head down.
    pub const DOWN: u8 = 0x08;
    /// Head up.
    pub const UP: u8 = 0x10;
    /// All five.
    pub const ALL: u8 = MIDDLE | RIGHT | LEFT | DOWN | UP;
}

/// A host-to-module command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command {
    /// `10`: stop whatever runs, back to standby.
    Reset,
    /// `11`: standby / busy / error.
    GetStatus,
    /// `12`: recognise a face (or palm).
    Verify {
        /// Power down right after.
        power_down: bool,
        /// Module-side timeout, seconds.
        timeout_s: u8,
    },
    /// `13`: enroll one head direction.
    Enroll(Enrollment),
    /// `1D`: enroll from a single frame.
    EnrollSingle(Enrollment),
    /// `27`: enroll a palm.
    PalmEnrollItg {
        /// Make the user an administrator (module-side flag; unused by the
        /// lock, which keeps roles itself).
        admin: bool,
        /// User name.
        name: [u8; NAME_LEN],
        /// Module-side timeout, seconds.
        timeout_s: u8,
    },
    /// `20`: delete one user.
    DelUser {
        /// The user id.
        user: u16,
    },
    /// `21`: delete every user.
    DelAll,
    /// `24`: list user ids.
    GetAllUserId,
    /// `30`: firmware version.
    GetVersion,
    /// `ED`: prepare for power off.
    PowerDown,
}

/// The 35 bytes of ENROLL and ENROLL_SINGLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Enrollment {
    /// Module-side administrator flag.
    pub admin: bool,
    /// User name.
    pub name: [u8; NAME_LEN],
    /// The head direction captured ([`direction`]).
    pub direction: u8,
    /// Module-side timeout, seconds.
    pub timeout_s: u8,
}

impl Enrollment {
    fn emit(&self, out: &mut [u8]) -> bool {
        put(out, 0, &[u8::from(self.admin)])
            && put(out, 1, &self.name)
            && put(out, 1 + NAME_LEN, &[self.direction, self.timeout_s])
    }

    fn parse(data: &[u8]) -> Result<Enrollment, Error> {
        match data {
            [admin, rest @ ..] if rest.len() == NAME_LEN + 2 => {
                let (name, tail) = rest.split_at(NAME_LEN);
                let mut enrollment = Enrollment {
                    admin: *admin != 0,
                    name: [0; NAME_LEN],
                    direction: tail.first().copied().unwrap_or(0),
                    timeout_s: tail.get(1).copied().unwrap_or(0),
                };
                enrollment.name.copy_from_slice(name);
                Ok(enrollment)
            }
            _ => Err(Error::Malformed),
        }
    }
}

impl Command {
    /// The longest command data (PALM_ENROLL_ITG).
    pub const MAX_LEN: usize = 1 + NAME_LEN + 4;

    /// Its message id.
    pub const fn msg_id(&self) -> u8 {
        match self {
            Command::Reset => 0x10,
            Command::GetStatus => 0x11,
            Command::Verify { .. } => 0x12,
            Command::Enroll(_) => 0x13,
            Command::EnrollSingle(_) => 0x1D,
            Command::PalmEnrollItg { .. } => 0x27,
            Command::DelUser { .. } => 0x20,
            Command::DelAll => 0x21,
            Command::GetAllUserId => 0x24,
            Command::GetVersion => 0x30,
            Command::PowerDown => 0xED,
        }
    }

    /// Writes the command's data into `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let (written, len) = match self {
            Command::Reset
            | Command::GetStatus
            | Command::DelAll
            | Command::GetAllUserId
            | Command::GetVersion
            | Command::PowerDown => (true, 0),
            Command::Verify {
                power_down,
                timeout_s,
            } => (put(out, 0, &[u8::from(*power_down), *timeout_s]), 2),
            Command::Enroll(enrollment) | Command::EnrollSingle(enrollment) => {
                (enrollment.emit(out), 1 + NAME_LEN + 2)
            }
            // admin, name, then direction, enroll type and duplicate flag,
            // which palm modules ignore (sent as 0), then the timeout.
            Command::PalmEnrollItg {
                admin,
                name,
                timeout_s,
            } => (
                put(out, 0, &[u8::from(*admin)])
                    && put(out, 1, name)
                    && put(out, 1 + NAME_LEN, &[0, 0, 0, *timeout_s]),
                Command::MAX_LEN,
            ),
            Command::DelUser { user } => (put(out, 0, &user.to_be_bytes()), 2),
        };
        if written {
            Ok(len)
        } else {
            Err(Error::Truncated)
        }
    }

    /// Parses a command message; its data length must be the command's.
    pub fn parse(repr: &Repr<'_>) -> Result<Command, Error> {
        let data = repr.data;
        let empty = |command: Command| {
            if data.is_empty() {
                Ok(command)
            } else {
                Err(Error::Malformed)
            }
        };
        match repr.msg_id {
            0x10 => empty(Command::Reset),
            0x11 => empty(Command::GetStatus),
            0x21 => empty(Command::DelAll),
            0x24 => empty(Command::GetAllUserId),
            0x30 => empty(Command::GetVersion),
            0xED => empty(Command::PowerDown),
            0x12 => match data {
                [power_down, timeout_s] => Ok(Command::Verify {
                    power_down: *power_down != 0,
                    timeout_s: *timeout_s,
                }),
                _ => Err(Error::Malformed),
            },
            0x13 => Enrollment::parse(data).map(Command::Enroll),
            0x1D => Enrollment::parse(data).map(Command::EnrollSingle),
            0x27 => match data {
                [admin, rest @ ..] if rest.len() == NAME_LEN + 4 => {
                    let (name_bytes, tail) = rest.split_at(NAME_LEN);
                    let mut name = [0; NAME_LEN];
                    name.copy_from_slice(name_bytes);
                    Ok(Command::PalmEnrollItg {
                        admin: *admin != 0,
                        name,
                        timeout_s: tail.get(3).copied().unwrap_or(0),
                    })
                }
                _ => Err(Error::Malformed),
            },
            0x20 => match data {
                [hi, lo] => Ok(Command::DelUser {
                    user: u16::from_be_bytes([*hi, *lo]),
                }),
                _ => Err(Error::Malformed),
            },
            _ => Err(Error::MessageId),
        }
    }
}

/// Writes the whole frame for `command` into `out`; returns its length.
pub fn emit_command(command: &Command, out: &mut [u8]) -> Result<usize, Error> {
    let mut data = [0u8; Command::MAX_LEN];
    let len = command.emit(&mut data)?;
    let repr = Repr {
        msg_id: command.msg_id(),
        data: data.get(..len).unwrap_or(&[]),
    };
    repr.emit(&mut Frame::new_unchecked(&mut *out))?;
    Ok(repr.buffer_len())
}

/// A module-to-host message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// `00`: the answer to a command.
    Reply {
        /// The command's message id.
        command: u8,
        /// How it went.
        result: ResultCode,
        /// What the command returns.
        data: &'a [u8],
    },
    /// `01`: something the module reports on its own.
    Note {
        /// The note id ([`note`]).
        nid: u8,
        /// Its data.
        data: &'a [u8],
    },
    /// `02`: image data.
    Image(&'a [u8]),
}

impl<'a> Message<'a> {
    /// Reads a message from a parsed frame.
    pub fn parse(repr: &Repr<'a>) -> Result<Message<'a>, Error> {
        match repr.msg_id {
            msg::REPLY => match repr.data {
                [command, result, data @ ..] => Ok(Message::Reply {
                    command: *command,
                    result: ResultCode(*result),
                    data,
                }),
                _ => Err(Error::Malformed),
            },
            msg::NOTE => match repr.data {
                [nid, data @ ..] => Ok(Message::Note { nid: *nid, data }),
                _ => Err(Error::Malformed),
            },
            msg::IMAGE => Ok(Message::Image(repr.data)),
            _ => Err(Error::MessageId),
        }
    }

    /// The bytes of data [`Message::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        match self {
            Message::Reply { data, .. } => 2 + data.len(),
            Message::Note { data, .. } => 1 + data.len(),
            Message::Image(data) => data.len(),
        }
    }

    /// Writes the message's data into `out`; returns its message id and
    /// length (what a simulated module sends).
    pub fn emit(&self, out: &mut [u8]) -> Result<(u8, usize), Error> {
        let written = match self {
            Message::Reply {
                command,
                result,
                data,
            } => put(out, 0, &[*command, result.0]) && put(out, 2, data),
            Message::Note { nid, data } => put(out, 0, &[*nid]) && put(out, 1, data),
            Message::Image(data) => put(out, 0, data),
        };
        let msg_id = match self {
            Message::Reply { .. } => msg::REPLY,
            Message::Note { .. } => msg::NOTE,
            Message::Image(_) => msg::IMAGE,
        };
        if written {
            Ok((msg_id, self.buffer_len()))
        } else {
            Err(Error::Truncated)
        }
    }
}

/// A FACE_STATE note: where the face is and how it is turned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FaceState {
    /// The state ([`face_state`]).
    pub state: i16,
    /// Face box, pixels.
    pub left: i16,
    /// Face box, pixels.
    pub top: i16,
    /// Face box, pixels.
    pub right: i16,
    /// Face box, pixels.
    pub bottom: i16,
    /// Yaw.
    pub yaw: i16,
    /// Pitch.
    pub pitch: i16,
    /// Roll.
    pub roll: i16,
}

impl FaceState {
    /// Its data length.
    pub const LEN: usize = 16;

    /// Parses the 16 bytes after the note id, big-endian like the rest of
    /// the protocol (*verify*: the SDKs send the C struct as laid out).
    pub fn parse(data: &[u8]) -> Result<FaceState, Error> {
        if data.len() < FaceState::LEN {
            return Err(Error::Malformed);
        }
        let field = |index: usize| i16::from_be_bytes(be16(data, index * 2).to_be_bytes());
        Ok(FaceState {
            state: field(0),
            left: field(1),
            top: field(2),
            right: field(3),
            bottom: field(4),
            yaw: field(5),
            pitch: field(6),
            roll: field(7),
        })
    }

    /// Writes the 16 bytes.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let fields = [
            self.state,
            self.left,
            self.top,
            self.right,
            self.bottom,
            self.yaw,
            self.pitch,
            self.roll,
        ];
        let mut ok = true;
        for (index, value) in fields.iter().enumerate() {
            ok &= put(out, index * 2, &value.to_be_bytes());
        }
        if ok {
            Ok(FaceState::LEN)
        } else {
            Err(Error::Truncated)
        }
    }
}

/// FACE_STATE values.
pub mod face_state {
    /// A usable face.
    pub const NORMAL: i16 = 0;
    /// No face in view.
    pub const NO_FACE: i16 = 1;
    /// The face is too near the top of the image.
    pub const TOO_UP: i16 = 2;
    /// Too near the bottom.
    pub const TOO_DOWN: i16 = 3;
    /// Too near the left edge.
    pub const TOO_LEFT: i16 = 4;
    /// Too near the right edge.
    pub const TOO_RIGHT: i16 = 5;
    /// Too far away.
    pub const TOO_FAR: i16 = 6;
    /// Too close.
    pub const TOO_CLOSE: i16 = 7;
    /// Eyebrows covered.
    pub const EYEBROW_OCCLUSION: i16 = 8;
    /// Eyes covered.
    pub const EYE_OCCLUSION: i16 = 9;
    /// Face covered.
    pub const FACE_OCCLUSION: i16 = 10;
    /// Turned the wrong way for the direction being enrolled.
    pub const DIRECTION_ERROR: i16 = 11;
}

/// The data of a successful VERIFY reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Verified {
    /// The user id.
    pub user: u16,
    /// The module-side administrator flag, if sent.
    pub admin: Option<bool>,
    /// `1` face, `2` palm, on palm-capable modules (*verify*: other modules
    /// send an unlock status, 200 or 204, in this byte).
    pub id_type: Option<u8>,
}

impl Verified {
    /// Parses `uid u16, name[32], admin u8, id_type u8`; only the id is
    /// required, the rest is read when present.
    pub fn parse(data: &[u8]) -> Result<Verified, Error> {
        if data.len() < 2 {
            return Err(Error::Malformed);
        }
        Ok(Verified {
            user: be16(data, 0),
            admin: data.get(2 + NAME_LEN).map(|&byte| byte != 0),
            id_type: data.get(3 + NAME_LEN).copied(),
        })
    }
}

/// The data of a successful ENROLL reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Enrolled {
    /// The user id the module chose.
    pub user: u16,
    /// The directions captured so far ([`direction`] flags), 0 if not sent.
    pub directions: u8,
}

impl Enrolled {
    /// Parses `uid u16, face_direction u8 (, enroll_state u8)`.
    pub fn parse(data: &[u8]) -> Result<Enrolled, Error> {
        if data.len() < 2 {
            return Err(Error::Malformed);
        }
        Ok(Enrolled {
            user: be16(data, 0),
            directions: data.get(2).copied().unwrap_or(0),
        })
    }
}

/// Frame assembly shared by the plain and sealed readers.
#[derive(Debug, Clone)]
struct Assembler<const N: usize> {
    buffer: [u8; N],
    len: usize,
    complete: bool,
    /// Where the size field is, and so how long the header is (+2).
    size_at: usize,
    max_size: usize,
}

impl<const N: usize> Assembler<N> {
    const fn new(size_at: usize, max_size: usize) -> Self {
        Assembler {
            buffer: [0; N],
            len: 0,
            complete: false,
            size_at,
            max_size,
        }
    }

    fn reset(&mut self) {
        self.len = 0;
        self.complete = false;
    }

    /// `Ok(Some(frame bytes))` once a whole frame (by its size field) is in.
    fn push(&mut self, byte: u8) -> Result<Option<&[u8]>, Error> {
        if self.complete {
            self.reset();
        }
        match self.len {
            0 if byte != SYNC[0] => return Ok(None),
            1 if byte != SYNC[1] => {
                self.len = usize::from(byte == SYNC[0]);
                return Ok(None);
            }
            _ => {}
        }
        let Some(slot) = self.buffer.get_mut(self.len) else {
            self.reset();
            return Err(Error::Oversized);
        };
        *slot = byte;
        self.len += 1;
        let header_len = self.size_at + 2;
        if self.len < header_len {
            return Ok(None);
        }
        let size = usize::from(be16(&self.buffer, self.size_at));
        if self.len == header_len && size > self.max_size {
            self.reset();
            return Err(Error::Oversized);
        }
        if self.len < header_len + size + PARITY_LEN {
            return Ok(None);
        }
        self.complete = true;
        Ok(Some(self.buffer.get(..self.len).unwrap_or(&[])))
    }
}

/// Reassembles plain frames from bytes arriving in pieces. Bytes before an
/// `EF AA` are skipped. A completed frame goes through the same
/// [`Frame::new_checked`] and [`Repr::parse`] as a whole one, so feeding a
/// frame byte by byte gives the same result as parsing it at once.
#[derive(Debug, Clone)]
pub struct FrameReader {
    assembler: Assembler<MAX_FRAME_LEN>,
}

impl Default for FrameReader {
    fn default() -> FrameReader {
        FrameReader::new()
    }
}

impl FrameReader {
    /// An empty reader.
    pub const fn new() -> FrameReader {
        FrameReader {
            assembler: Assembler::new(3, MAX_DATA_LEN),
        }
    }

    /// Forgets a partial frame.
    pub fn reset(&mut self) {
        self.assembler.reset();
    }

    /// Takes one byte; `Ok(Some(_))` when it completes a frame, `Err` when
    /// the frame (or its size field) is refused.
    pub fn push(&mut self, byte: u8) -> Result<Option<Repr<'_>>, Error> {
        match self.assembler.push(byte)? {
            None => Ok(None),
            Some(bytes) => Frame::new_checked(bytes)
                .and_then(|frame| Repr::parse(&frame))
                .map(Some),
        }
    }
}

/// Reassembles encrypted frames (`EF AA | Size | sealed | Parity`); yields
/// the sealed body, checked by [`parse_sealed`].
#[derive(Debug, Clone)]
pub struct SealedReader {
    assembler: Assembler<{ SEALED_HEADER_LEN + MAX_SEALED_LEN + PARITY_LEN }>,
}

impl Default for SealedReader {
    fn default() -> SealedReader {
        SealedReader::new()
    }
}

impl SealedReader {
    /// An empty reader.
    pub const fn new() -> SealedReader {
        SealedReader {
            assembler: Assembler::new(2, MAX_SEALED_LEN),
        }
    }

    /// Forgets a partial frame.
    pub fn reset(&mut self) {
        self.assembler.reset();
    }

    /// Takes one byte; `Ok(Some(sealed))` when it completes a frame.
    pub fn push(&mut self, byte: u8) -> Result<Option<&[u8]>, Error> {
        match self.assembler.push(byte)? {
            None => Ok(None),
            Some(bytes) => parse_sealed(bytes).map(Some),
        }
    }
}
