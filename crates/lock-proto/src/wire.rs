//! The frame format (the crate docs' "Frames" section), in smoltcp's style: a
//! [`Frame`] view over bytes with [`Frame::new_checked`], and a [`FrameRepr`]
//! with [`FrameRepr::parse`], [`FrameRepr::emit`] and
//! [`FrameRepr::buffer_len`].
//!
//! ```text
//!  0      1        2          4          12         14       14+n     14+n+16
//!  +------+--------+----------+----------+----------+--------+--------+
//!  | ver  | kind   | pairing  | counter  | body len | body   | tag    |
//!  | u8   | u8     | u16 LE   | u64 LE   | u16 LE n | n bytes| sealed |
//!  +------+--------+----------+----------+----------+--------+--------+
//!                  |<- masked (sealed) ->|
//! ```
//!
//! In the three sealed kinds (S-PR-8) the pairing id and the counter are
//! masked ([`crate::crypto`]'s header protection, after QUIC's), and the
//! body is one of [`SEALED_SIZES`]: the real body's length travels inside
//! the ciphertext. So a [`Frame`]'s [`Frame::pairing`] and
//! [`Frame::counter`] are the bytes as sent: the clear values in the four
//! pairing messages, masked ones in sealed frames, which
//! [`crate::crypto::unprotect`] reads with the pairing's keys.

use crate::FrameError;

/// The protocol version this crate speaks. Older versions are refused (no
/// downgrade), newer ones too.
/// Version 2 masks the sealed frames' pairing id and counter and pads
/// their bodies (S-PR-8).
pub const VERSION: u8 = 2;
/// Bytes before the body.
pub const HEADER_LEN: usize = 14;
/// The Poly1305 tag after the body of a sealed frame.
pub const TAG_LEN: usize = 16;
/// The longest body a frame may carry: a list of all 16 pairings fits.
pub const MAX_BODY: usize = 448;
/// The bytes in front of a sealed body that say its length (u16 LE).
pub const LENGTH_PREFIX: usize = 2;
/// S-PR-8: the only body lengths a sealed frame has (ciphertext bytes,
/// before the tag). A body is sealed as its length (u16 LE), itself and
/// zeros up to the smallest of these that holds them, so a sniffer learns
/// only whether a frame is one of the lists (pairings, people, the log:
/// the large size) or anything else (every request, challenge, reply,
/// notice: the small one). The small size holds the longest request with
/// room to spare (`s_pr_8_every_request_fits_the_small_size`).
pub const SEALED_SIZES: [u16; 2] = [96, 450];
/// The largest sealed body: the length prefix and [`MAX_BODY`].
pub const MAX_SEALED: usize = LENGTH_PREFIX + MAX_BODY;
/// The ciphertext's first bytes from which the header mask is made
/// ([`crate::crypto::header_mask`]); every sealed size holds them.
pub const SAMPLE_LEN: usize = 16;
const _: () = assert!(SEALED_SIZES[0] as usize >= SAMPLE_LEN);
// The largest size holds the longest body.
const _: () = assert!(SEALED_SIZES[1] as usize == MAX_SEALED);
/// The longest frame.
pub const MAX_FRAME: usize = HEADER_LEN + MAX_SEALED + TAG_LEN;

/// S-PR-8: the sealed size a body of `len` bytes takes (length prefix
/// included); `None` past [`MAX_BODY`].
pub fn sealed_size(len: usize) -> Option<usize> {
    let need = len.checked_add(LENGTH_PREFIX)?;
    SEALED_SIZES
        .iter()
        .map(|s| usize::from(*s))
        .find(|s| *s >= need)
}

/// A frame's bytes, as sent or received.
pub type FrameBuf = heapless::Vec<u8, MAX_FRAME>;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Phone → lock, in the clear: the phone's ephemeral public key.
    PairHello,
    /// Lock → phone, in the clear: the lock's keys and a commitment to its nonce.
    PairOffer,
    /// Phone → lock, in the clear: the phone's nonce.
    PairNonce,
    /// Lock → phone, in the clear: the lock's nonce (opens the commitment).
    PairReveal,
    /// Phone → lock, sealed: a request.
    Request,
    /// Lock → phone, sealed: the answer to a request.
    Response,
    /// Lock → phone, sealed: something the app is told without asking.
    Notice,
}

impl FrameKind {
    /// The kind's byte on the wire.
    pub const fn byte(self) -> u8 {
        match self {
            FrameKind::PairHello => 0x01,
            FrameKind::PairOffer => 0x02,
            FrameKind::PairNonce => 0x03,
            FrameKind::PairReveal => 0x04,
            FrameKind::Request => 0x10,
            FrameKind::Response => 0x11,
            FrameKind::Notice => 0x12,
        }
    }

    /// The kind of a byte.
    pub const fn from_byte(b: u8) -> Option<FrameKind> {
        Some(match b {
            0x01 => FrameKind::PairHello,
            0x02 => FrameKind::PairOffer,
            0x03 => FrameKind::PairNonce,
            0x04 => FrameKind::PairReveal,
            0x10 => FrameKind::Request,
            0x11 => FrameKind::Response,
            0x12 => FrameKind::Notice,
            _ => return None,
        })
    }

    /// Whether the body is encrypted and followed by a tag. Only the four
    /// pairing messages are not, and the lock takes those only in pairing
    /// mode.
    pub const fn is_sealed(self) -> bool {
        matches!(
            self,
            FrameKind::Request | FrameKind::Response | FrameKind::Notice
        )
    }
}

/// A read-only or writable view of a frame's bytes.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut x = [0u8; 2];
    for (d, s) in x.iter_mut().zip(b.iter().skip(at)) {
        *d = *s;
    }
    u16::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    for (d, s) in x.iter_mut().zip(b.iter().skip(at)) {
        *d = *s;
    }
    u64::from_le_bytes(x)
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// A view without checks; the getters then read zeros past the end rather
    /// than panic.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// A view after checking the version, the kind, and that the length is
    /// exactly header + body + tag (for sealed kinds) with a body of at most
    /// [`MAX_BODY`] bytes, or for sealed kinds of one of [`SEALED_SIZES`]. Nothing else about the bytes is trusted yet: a
    /// short or malformed frame is dropped before dispatch (S-PR-2), and
    /// no input panics (S-HW-3).
    pub fn new_checked(buffer: T) -> Result<Frame<T>, FrameError> {
        let frame = Frame::new_unchecked(buffer);
        frame.check()?;
        Ok(frame)
    }

    fn check(&self) -> Result<(), FrameError> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(FrameError::Short);
        }
        let version = self.version();
        if version < VERSION {
            return Err(FrameError::OldVersion(version));
        }
        if version > VERSION {
            return Err(FrameError::UnknownVersion(version));
        }
        let kind = self
            .kind()
            .ok_or(FrameError::UnknownKind(self.kind_byte()))?;
        let body = usize::from(self.body_len());
        if body > MAX_BODY && !kind.is_sealed() || body > MAX_SEALED {
            return Err(FrameError::TooLong);
        }
        if kind.is_sealed() && !SEALED_SIZES.iter().any(|s| usize::from(*s) == body) {
            // S-PR-8: a sealed body has one of the padded sizes only.
            return Err(FrameError::Length);
        }
        let tag = if kind.is_sealed() { TAG_LEN } else { 0 };
        if b.len() != HEADER_LEN + body + tag {
            return Err(if b.len() < HEADER_LEN + body + tag {
                FrameError::Short
            } else {
                FrameError::Length
            });
        }
        Ok(())
    }

    /// The protocol version byte.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref().first().copied().unwrap_or(0)
    }

    /// The kind byte.
    pub fn kind_byte(&self) -> u8 {
        self.buffer.as_ref().get(1).copied().unwrap_or(0)
    }

    /// The kind, if known.
    pub fn kind(&self) -> Option<FrameKind> {
        FrameKind::from_byte(self.kind_byte())
    }

    /// The pairing the frame belongs to (0 for the first pairing messages);
    /// masked in sealed kinds (S-PR-8).
    pub fn pairing(&self) -> u16 {
        u16_at(self.buffer.as_ref(), 2)
    }

    /// The sender's counter; masked in sealed kinds (S-PR-8).
    pub fn counter(&self) -> u64 {
        u64_at(self.buffer.as_ref(), 4)
    }

    /// The body's length on the wire: for sealed kinds, the padded size.
    pub fn body_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), 12)
    }

    /// The header as sent (masked in sealed kinds).
    pub fn header(&self) -> &[u8] {
        self.buffer.as_ref().get(..HEADER_LEN).unwrap_or(&[])
    }

    /// The first [`SAMPLE_LEN`] bytes of a sealed frame's ciphertext, the
    /// header mask's input (zeros past the end of a short frame).
    pub fn sample(&self) -> [u8; SAMPLE_LEN] {
        let mut s = [0u8; SAMPLE_LEN];
        for (d, b) in s
            .iter_mut()
            .zip(self.buffer.as_ref().iter().skip(HEADER_LEN))
        {
            *d = *b;
        }
        s
    }

    /// The body (ciphertext for sealed kinds).
    pub fn body(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.body_len());
        self.buffer.as_ref().get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// The tag of a sealed frame (empty otherwise).
    pub fn tag(&self) -> &[u8] {
        let start = HEADER_LEN + usize::from(self.body_len());
        self.buffer.as_ref().get(start..).unwrap_or(&[])
    }

    /// The bytes.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// A frame's header fields, parsed. For a sealed frame, [`FrameRepr::parse`]
/// gives them as sent (the pairing and counter masked, the body length
/// padded) and [`crate::crypto::unprotect`] the real pairing and counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRepr {
    /// What it carries.
    pub kind: FrameKind,
    /// The pairing.
    pub pairing: u16,
    /// The sender's counter.
    pub counter: u64,
    /// The body's length on the wire (for sealed kinds, the padded size).
    pub body_len: u16,
}

impl FrameRepr {
    /// The header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<FrameRepr, FrameError> {
        frame.check()?;
        Ok(FrameRepr {
            kind: frame
                .kind()
                .ok_or(FrameError::UnknownKind(frame.kind_byte()))?,
            pairing: frame.pairing(),
            counter: frame.counter(),
            body_len: frame.body_len(),
        })
    }

    /// Bytes the whole frame takes.
    pub const fn buffer_len(&self) -> usize {
        let tag = if self.kind.is_sealed() { TAG_LEN } else { 0 };
        HEADER_LEN + self.body_len as usize + tag
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) {
        let mut header = [0u8; HEADER_LEN];
        header[0] = VERSION;
        header[1] = self.kind.byte();
        header[2..4].copy_from_slice(&self.pairing.to_le_bytes());
        header[4..12].copy_from_slice(&self.counter.to_le_bytes());
        header[12..14].copy_from_slice(&self.body_len.to_le_bytes());
        for (d, s) in buf.iter_mut().zip(header.iter()) {
            *d = *s;
        }
    }
}
