//! The EF 01 packet format, shaped like smoltcp's `wire` modules: a
//! [`Frame`] view over bytes checked with [`Frame::new_checked`], a
//! [`Repr`] parsed from it and emitted into it, typed [`Command`]s and
//! [`Ack`]s for the payload, and a [`FrameReader`] for bytes arriving in
//! pieces.
//!
//! ```text
//! EF 01 | ADDR[4] | PID | LEN[2] | payload | SUM[2]        all big-endian
//! LEN = payload length + 2;  SUM = (PID + LEN_hi + LEN_lo + Σ payload) & 0xFFFF
//! ```
//!
//! Every parser here is a pure function over `&[u8]`: no state, no panic,
//! a typed [`Error`] for every refusal.

/// The two bytes every packet starts with.
pub const HEADER: [u8; 2] = [0xEF, 0x01];
/// The address modules answer to out of the box.
pub const DEFAULT_ADDRESS: u32 = 0xFFFF_FFFF;
/// Bytes before the payload: header, address, packet id, length.
pub const HEADER_LEN: usize = 9;
/// Bytes of the checksum after the payload.
pub const CHECKSUM_LEN: usize = 2;
/// The largest payload a module of the family sends (a data packet of the
/// largest packet size, 256 bytes). Anything longer is refused as
/// [`Error::Oversized`].
pub const MAX_PAYLOAD_LEN: usize = 256;
/// The largest frame: header, largest payload, checksum.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN + CHECKSUM_LEN;

mod field {
    use core::ops::Range;

    pub(super) const HEADER: Range<usize> = 0..2;
    pub(super) const ADDRESS: Range<usize> = 2..6;
    pub(super) const PID: usize = 6;
    pub(super) const LENGTH: Range<usize> = 7..9;
}

/// Why bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the header, or than the length field announces.
    #[error("truncated frame")]
    Truncated,
    /// The frame does not start with `EF 01`.
    #[error("frame does not start with EF 01")]
    Header,
    /// The length field is below 2 (it must count the checksum), or a
    /// payload does not have the shape its command or reply needs.
    #[error("malformed frame or payload")]
    Malformed,
    /// The length field announces more than [`MAX_PAYLOAD_LEN`] bytes.
    #[error("payload longer than 256 bytes")]
    Oversized,
    /// The checksum does not match the bytes.
    #[error("checksum mismatch")]
    Checksum,
    /// The packet identifier is none of command, data, ack, end of data.
    #[error("unknown packet identifier")]
    PacketId,
    /// A command payload starts with an instruction code this codec does
    /// not know.
    #[error("unknown instruction code")]
    Instruction,
}

/// Big-endian u16 at `at`, 0 past the end (only reached on unchecked frames).
fn be16(bytes: &[u8], at: usize) -> u16 {
    let hi = bytes.get(at).copied().unwrap_or(0);
    let lo = bytes.get(at.wrapping_add(1)).copied().unwrap_or(0);
    u16::from_be_bytes([hi, lo])
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    (u32::from(be16(bytes, at)) << 16) | u32::from(be16(bytes, at.wrapping_add(2)))
}

/// Writes `bytes` at `at` if they fit; returns whether they did.
fn put(buffer: &mut [u8], at: usize, bytes: &[u8]) -> bool {
    match buffer.get_mut(at..at.saturating_add(bytes.len())) {
        Some(slot) => {
            slot.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

/// The checksum over a packet id, a length field and a payload.
pub fn checksum(packet_id: u8, length: u16, payload: &[u8]) -> u16 {
    let [hi, lo] = length.to_be_bytes();
    payload.iter().fold(
        u16::from(packet_id)
            .wrapping_add(u16::from(hi))
            .wrapping_add(u16::from(lo)),
        |sum, &byte| sum.wrapping_add(u16::from(byte)),
    )
}

/// A read/write view of an EF 01 packet in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without looking at it. Accessors on an unchecked frame
    /// never panic; they read 0 or an empty slice past the end.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer after checking that it holds a whole frame: header
    /// `EF 01`, a length field of at least 2 and at most
    /// [`MAX_PAYLOAD_LEN`] + 2, and that many bytes. The checksum and packet
    /// id are [`Repr::parse`]'s to check. Bytes after the frame are ignored.
    /// No input panics (S-HW-3, fuzz target `fingerprint_frame`).
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
        if bytes.get(field::HEADER) != Some(&HEADER[..]) {
            return Err(Error::Header);
        }
        let length = usize::from(self.length());
        if length < CHECKSUM_LEN {
            return Err(Error::Malformed);
        }
        if length - CHECKSUM_LEN > MAX_PAYLOAD_LEN {
            return Err(Error::Oversized);
        }
        if bytes.len() < HEADER_LEN + length {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The module address.
    pub fn address(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ADDRESS.start)
    }

    /// The raw packet identifier.
    pub fn packet_id(&self) -> u8 {
        self.buffer.as_ref().get(field::PID).copied().unwrap_or(0)
    }

    /// The length field: payload length + 2.
    pub fn length(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The whole frame's length as its length field says.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length())
    }

    /// The payload (empty on a frame that fails its checks).
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.length()).saturating_sub(CHECKSUM_LEN);
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(
            self.buffer.as_ref(),
            self.total_len().saturating_sub(CHECKSUM_LEN),
        )
    }

    /// Whether the checksum field matches the bytes.
    pub fn verify_checksum(&self) -> bool {
        self.checksum() == checksum(self.packet_id(), self.length(), self.payload())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Writes the header, address, packet id and length field, and copies
    /// `payload` after them. The buffer must hold the whole frame.
    fn fill(&mut self, address: u32, packet_id: u8, payload: &[u8]) -> Result<(), Error> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(Error::Oversized);
        }
        let length = u16::try_from(payload.len() + CHECKSUM_LEN).map_err(|_| Error::Oversized)?;
        let buffer = self.buffer.as_mut();
        if buffer.len() < HEADER_LEN + usize::from(length) {
            return Err(Error::Truncated);
        }
        let written = put(buffer, field::HEADER.start, &HEADER)
            && put(buffer, field::ADDRESS.start, &address.to_be_bytes())
            && put(buffer, field::PID, &[packet_id])
            && put(buffer, field::LENGTH.start, &length.to_be_bytes())
            && put(buffer, HEADER_LEN, payload);
        if !written {
            return Err(Error::Truncated);
        }
        self.fill_checksum();
        Ok(())
    }

    /// Computes the checksum over the frame's bytes and writes it.
    pub fn fill_checksum(&mut self) {
        let sum = checksum(self.packet_id(), self.length(), self.payload());
        let at = self.total_len().saturating_sub(CHECKSUM_LEN);
        // A buffer too short for its own length field gets no checksum: it
        // fails `new_checked` anyway.
        let _ = put(self.buffer.as_mut(), at, &sum.to_be_bytes());
    }
}

/// What kind of packet it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PacketId {
    /// `01`: host to module.
    Command,
    /// `02`: a data packet with more to follow.
    Data,
    /// `07`: the module's answer to a command.
    Ack,
    /// `08`: the last data packet.
    EndOfData,
}

impl PacketId {
    /// Its byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            PacketId::Command => 0x01,
            PacketId::Data => 0x02,
            PacketId::Ack => 0x07,
            PacketId::EndOfData => 0x08,
        }
    }

    /// The packet id a byte stands for.
    pub const fn from_byte(byte: u8) -> Result<PacketId, Error> {
        match byte {
            0x01 => Ok(PacketId::Command),
            0x02 => Ok(PacketId::Data),
            0x07 => Ok(PacketId::Ack),
            0x08 => Ok(PacketId::EndOfData),
            _ => Err(Error::PacketId),
        }
    }
}

/// A parsed packet: who, what kind, which payload bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The module address.
    pub address: u32,
    /// The packet kind.
    pub packet_id: PacketId,
    /// The payload (a command, an ack, or data).
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a frame checked by [`Frame::new_checked`]: verifies the
    /// checksum and the packet id.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &Frame<&'a T>) -> Result<Repr<'a>, Error> {
        let bytes: &'a [u8] = frame.buffer.as_ref();
        let checked = Frame::new_checked(bytes)?;
        if !checked.verify_checksum() {
            return Err(Error::Checksum);
        }
        let packet_id = PacketId::from_byte(checked.packet_id())?;
        let end = checked.total_len() - CHECKSUM_LEN;
        Ok(Repr {
            address: checked.address(),
            packet_id,
            payload: bytes.get(HEADER_LEN..end).ok_or(Error::Truncated)?,
        })
    }

    /// The bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len() + CHECKSUM_LEN
    }

    /// Writes the packet, checksum included, at the start of `frame`'s
    /// buffer. Refuses a payload over [`MAX_PAYLOAD_LEN`] and a buffer
    /// shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) -> Result<(), Error> {
        frame.fill(self.address, self.packet_id.to_byte(), self.payload)
    }
}

/// A confirmation code: the first payload byte of an ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Code(pub u8);

impl Code {
    /// `00`: done.
    pub const OK: Code = Code(0x00);
    /// `01`: the module could not read the packet.
    pub const PACKET_ERROR: Code = Code(0x01);
    /// `02`: no finger on the sensor.
    pub const NO_FINGER: Code = Code(0x02);
    /// `03`: the image could not be taken.
    pub const IMAGE_FAIL: Code = Code(0x03);
    /// `06`: the image is too messy to extract features.
    pub const MESSY_IMAGE: Code = Code(0x06);
    /// `07`: too few features in the image.
    pub const FEW_FEATURES: Code = Code(0x07);
    /// `08`: the two buffers do not match.
    pub const NO_MATCH: Code = Code(0x08);
    /// `09`: the search found nothing.
    pub const NOT_FOUND: Code = Code(0x09);
    /// `0A`: the two captures of an enrollment do not combine.
    pub const ENROLL_MISMATCH: Code = Code(0x0A);
    /// `0B`: the page is outside the library.
    pub const BAD_LOCATION: Code = Code(0x0B);
    /// `13`: wrong password.
    pub const WRONG_PASSWORD: Code = Code(0x13);
    /// `18`: flash write failed.
    pub const FLASH_ERROR: Code = Code(0x18);
    /// `1F`: the library is full.
    pub const LIBRARY_FULL: Code = Code(0x1F);
    /// `27`: the fingerprint already exists (modules that check on store).
    pub const ALREADY_EXISTS: Code = Code(0x27);
}

/// An ack payload: a confirmation code, then data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack<'a> {
    /// The confirmation code.
    pub code: Code,
    /// What follows it (a search hit, a count…).
    pub data: &'a [u8],
}

impl<'a> Ack<'a> {
    /// Parses an ack payload; an empty one is [`Error::Malformed`].
    pub fn parse(payload: &'a [u8]) -> Result<Ack<'a>, Error> {
        match payload.split_first() {
            Some((&code, data)) => Ok(Ack {
                code: Code(code),
                data,
            }),
            None => Err(Error::Malformed),
        }
    }

    /// The bytes [`Ack::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        1 + self.data.len()
    }

    /// Writes the payload into `payload`; returns its length.
    pub fn emit(&self, payload: &mut [u8]) -> Result<usize, Error> {
        if put(payload, 0, &[self.code.0]) && put(payload, 1, self.data) {
            Ok(self.buffer_len())
        } else {
            Err(Error::Truncated)
        }
    }
}

/// The data of a successful Search ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SearchHit {
    /// The library page (template id) that matched.
    pub page: u16,
    /// The match score.
    pub score: u16,
}

impl SearchHit {
    /// Parses the 4 data bytes after the confirmation code.
    pub fn parse(data: &[u8]) -> Result<SearchHit, Error> {
        if data.len() != 4 {
            return Err(Error::Malformed);
        }
        Ok(SearchHit {
            page: be16(data, 0),
            score: be16(data, 2),
        })
    }
}

/// The aura LED's behaviour (R503 family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Aura {
    /// `01` breathing, `02` flashing, `03` on, `04` off, `05` fade in,
    /// `06` fade out.
    pub control: u8,
    /// Speed, `00`–`FF`.
    pub speed: u8,
    /// `01` red, `02` blue, `03` purple (and more on some modules).
    pub colour: u8,
    /// Number of cycles, `00` = forever.
    pub count: u8,
}

/// A host-to-module instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Command {
    /// `01`: capture an image.
    GenImg,
    /// `02`: extract features of the image into a character buffer (1 or 2).
    Img2Tz {
        /// The character buffer.
        buffer: u8,
    },
    /// `03`: compare the two character buffers.
    Match,
    /// `04`: search the library for a buffer.
    Search {
        /// The character buffer.
        buffer: u8,
        /// First page searched.
        start: u16,
        /// Pages searched.
        count: u16,
    },
    /// `05`: combine the two buffers into a template.
    RegModel,
    /// `06`: store a buffer's template at a page.
    Store {
        /// The character buffer.
        buffer: u8,
        /// The library page (template id).
        page: u16,
    },
    /// `0C`: delete `count` templates from `page` on.
    DeleteChar {
        /// First page.
        page: u16,
        /// How many.
        count: u16,
    },
    /// `0D`: delete every template.
    Empty,
    /// `13`: verify the module password.
    VfyPwd {
        /// The password (0 out of the box).
        password: u32,
    },
    /// `1D`: how many templates are stored.
    TemplateNum,
    /// `35`: drive the aura LED.
    AuraLed(Aura),
    /// `40`: is the module there.
    HandShake,
}

impl Command {
    /// The longest command payload (VfyPwd, AuraLed, Search with 7 or 8
    /// bytes; this leaves room).
    pub const MAX_LEN: usize = 8;

    /// Its instruction code.
    pub const fn code(&self) -> u8 {
        match self {
            Command::GenImg => 0x01,
            Command::Img2Tz { .. } => 0x02,
            Command::Match => 0x03,
            Command::Search { .. } => 0x04,
            Command::RegModel => 0x05,
            Command::Store { .. } => 0x06,
            Command::DeleteChar { .. } => 0x0C,
            Command::Empty => 0x0D,
            Command::VfyPwd { .. } => 0x13,
            Command::TemplateNum => 0x1D,
            Command::AuraLed(_) => 0x35,
            Command::HandShake => 0x40,
        }
    }

    /// Parses a command payload; its length must be exactly the command's.
    pub fn parse(payload: &[u8]) -> Result<Command, Error> {
        let (&code, args) = payload.split_first().ok_or(Error::Malformed)?;
        let byte = |at: usize| args.get(at).copied().unwrap_or(0);
        let (command, len) = match code {
            0x01 => (Command::GenImg, 0),
            0x02 => (Command::Img2Tz { buffer: byte(0) }, 1),
            0x03 => (Command::Match, 0),
            0x04 => (
                Command::Search {
                    buffer: byte(0),
                    start: be16(args, 1),
                    count: be16(args, 3),
                },
                5,
            ),
            0x05 => (Command::RegModel, 0),
            0x06 => (
                Command::Store {
                    buffer: byte(0),
                    page: be16(args, 1),
                },
                3,
            ),
            0x0C => (
                Command::DeleteChar {
                    page: be16(args, 0),
                    count: be16(args, 2),
                },
                4,
            ),
            0x0D => (Command::Empty, 0),
            0x13 => (
                Command::VfyPwd {
                    password: be32(args, 0),
                },
                4,
            ),
            0x1D => (Command::TemplateNum, 0),
            0x35 => (
                Command::AuraLed(Aura {
                    control: byte(0),
                    speed: byte(1),
                    colour: byte(2),
                    count: byte(3),
                }),
                4,
            ),
            0x40 => (Command::HandShake, 0),
            _ => return Err(Error::Instruction),
        };
        if args.len() == len {
            Ok(command)
        } else {
            Err(Error::Malformed)
        }
    }

    /// Writes the payload into `payload`; returns its length.
    pub fn emit(&self, payload: &mut [u8]) -> Result<usize, Error> {
        let (bytes, len): ([u8; Command::MAX_LEN - 1], usize) = match *self {
            Command::GenImg
            | Command::Match
            | Command::RegModel
            | Command::Empty
            | Command::TemplateNum
            | Command::HandShake => ([0; 7], 0),
            Command::Img2Tz { buffer } => ([buffer, 0, 0, 0, 0, 0, 0], 1),
            Command::Search {
                buffer,
                start,
                count,
            } => {
                let [s0, s1] = start.to_be_bytes();
                let [c0, c1] = count.to_be_bytes();
                ([buffer, s0, s1, c0, c1, 0, 0], 5)
            }
            Command::Store { buffer, page } => {
                let [p0, p1] = page.to_be_bytes();
                ([buffer, p0, p1, 0, 0, 0, 0], 3)
            }
            Command::DeleteChar { page, count } => {
                let [p0, p1] = page.to_be_bytes();
                let [c0, c1] = count.to_be_bytes();
                ([p0, p1, c0, c1, 0, 0, 0], 4)
            }
            Command::VfyPwd { password } => {
                let [a, b, c, d] = password.to_be_bytes();
                ([a, b, c, d, 0, 0, 0], 4)
            }
            Command::AuraLed(aura) => (
                [aura.control, aura.speed, aura.colour, aura.count, 0, 0, 0],
                4,
            ),
        };
        let args = bytes.get(..len).unwrap_or(&[]);
        if put(payload, 0, &[self.code()]) && put(payload, 1, args) {
            Ok(1 + args.len())
        } else {
            Err(Error::Truncated)
        }
    }

    /// The payload length [`Command::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let mut scratch = [0u8; Command::MAX_LEN];
        self.emit(&mut scratch).unwrap_or(0)
    }
}

/// Writes the whole command frame for `command` to `address` into `out`;
/// returns its length.
pub fn emit_command(address: u32, command: &Command, out: &mut [u8]) -> Result<usize, Error> {
    let mut payload = [0u8; Command::MAX_LEN];
    let len = command.emit(&mut payload)?;
    let repr = Repr {
        address,
        packet_id: PacketId::Command,
        payload: payload.get(..len).unwrap_or(&[]),
    };
    repr.emit(&mut Frame::new_unchecked(&mut *out))?;
    Ok(repr.buffer_len())
}

/// Reassembles frames from bytes arriving in pieces (UART reads of any
/// size). Bytes before an `EF 01` header are skipped, so the module's boot
/// byte `55` and line noise cost nothing. A completed frame goes through the
/// same [`Frame::new_checked`] and [`Repr::parse`] as a whole one, so feeding
/// a frame byte by byte gives the same result as parsing it at once.
#[derive(Debug, Clone)]
pub struct FrameReader {
    buffer: [u8; MAX_FRAME_LEN],
    len: usize,
    /// The last push completed a frame: the next push starts a new one.
    complete: bool,
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
            buffer: [0; MAX_FRAME_LEN],
            len: 0,
            complete: false,
        }
    }

    /// Forgets a partial frame.
    pub fn reset(&mut self) {
        self.len = 0;
        self.complete = false;
    }

    /// Whether part of a frame is buffered.
    pub fn is_partial(&self) -> bool {
        self.len > 0 && !self.complete
    }

    /// Takes one byte. `Ok(Some(_))` when it completes a frame; `Err` when
    /// the frame it completes (or its length field) is refused, after which
    /// the reader hunts for the next header.
    pub fn push(&mut self, byte: u8) -> Result<Option<Repr<'_>>, Error> {
        if self.complete {
            self.reset();
        }
        match self.len {
            0 if byte != HEADER[0] => return Ok(None),
            1 if byte != HEADER[1] => {
                // `EF EF 01`: the second EF may start the real header.
                self.len = usize::from(byte == HEADER[0]);
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
        if self.len < HEADER_LEN {
            return Ok(None);
        }
        let frame = Frame::new_unchecked(self.buffer.get(..self.len).unwrap_or(&[]));
        let length = usize::from(frame.length());
        if self.len == HEADER_LEN {
            if length < CHECKSUM_LEN {
                self.reset();
                return Err(Error::Malformed);
            }
            if length - CHECKSUM_LEN > MAX_PAYLOAD_LEN {
                self.reset();
                return Err(Error::Oversized);
            }
        }
        if self.len < HEADER_LEN + length {
            return Ok(None);
        }
        // Field by field (not `self.reset()`): the frame borrows `buffer`.
        let whole = self.buffer.get(..self.len).unwrap_or(&[]);
        match Frame::new_checked(whole).and_then(|frame| Repr::parse(&frame)) {
            Ok(repr) => {
                self.complete = true;
                Ok(Some(repr))
            }
            Err(error) => {
                self.len = 0;
                self.complete = false;
                Err(error)
            }
        }
    }
}
