//! The image format: a signed manifest (header + signature), then the payload.
//!
//! ```text
//! offset  size  field (little-endian)
//!      0     4  magic "ODLU"
//!      4     2  format version (1)
//!      6     2  reserved, zero
//!      8    16  board id (ASCII, zero-padded)
//!     24     4  firmware version: major u8, minor u8, patch u16
//!     28     4  security counter u32 (S-UP-2)
//!     32     4  payload length u32
//!     36    28  reserved, zero
//!     64    64  SHA-512 of the payload
//!    128    64  Ed25519 signature over bytes 0..128 (header with digest)
//!    192     …  payload: the firmware exactly as the boot loader copies it
//! ```

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

use crate::UpdateError;

/// The first four bytes of every image.
pub const MAGIC: [u8; 4] = *b"ODLU";
/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// The header's length: fixed, the signed part of the manifest.
pub const HEADER_LEN: usize = 128;
/// An Ed25519 signature's length.
pub const SIGNATURE_LEN: usize = 64;
/// The manifest (header + signature) that starts every image, and what
/// [`Receiver::begin`](crate::Receiver::begin) takes.
pub const MANIFEST_LEN: usize = HEADER_LEN + SIGNATURE_LEN;
/// A SHA-512 digest's length.
pub const DIGEST_LEN: usize = 64;
/// The longest board id, in bytes.
pub const BOARD_ID_LEN: usize = 16;

/// Which board an image is built for: up to 16 ASCII bytes, zero-padded
/// (`"nucleo-l476rg"`, `"pico-w"`, `"esp32c3-devkitm"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BoardId([u8; BOARD_ID_LEN]);

impl BoardId {
    /// A board id from its name; `None` if longer than 16 bytes, empty, or
    /// not printable ASCII.
    pub const fn new(name: &str) -> Option<BoardId> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > BOARD_ID_LEN {
            return None;
        }
        let mut id = [0u8; BOARD_ID_LEN];
        let mut i = 0;
        while i < bytes.len() {
            // `i < bytes.len() <= 16`: in bounds (a const fn cannot use `get`
            // on a mutable array).
            #[allow(clippy::indexing_slicing)]
            {
                let b = bytes[i];
                if b < 0x21 || b > 0x7E {
                    return None;
                }
                id[i] = b;
            }
            i += 1;
        }
        Some(BoardId(id))
    }

    /// The raw 16 bytes, as in the header.
    pub const fn to_bytes(self) -> [u8; BOARD_ID_LEN] {
        self.0
    }

    /// The name, without the zero padding (`None` if the bytes are not ASCII).
    pub fn as_str(&self) -> Option<&str> {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(BOARD_ID_LEN);
        core::str::from_utf8(self.0.get(..end)?).ok()
    }
}

/// A firmware version, for people and logs; ordering is the security
/// counter's job, not this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Patch.
    pub patch: u16,
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The signed header of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The board the image is for.
    pub board: BoardId,
    /// The firmware's version.
    pub version: Version,
    /// Monotonic: a lock refuses an image whose counter is below its
    /// running image's (S-UP-2). Raise it for each release that fixes a
    /// security bug; a release may keep it.
    pub security_counter: u32,
    /// The payload's length in bytes.
    pub payload_len: u32,
    /// The payload's SHA-512.
    pub digest: [u8; DIGEST_LEN],
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = bytes.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

impl Header {
    /// A header for `payload` (computes its length and digest); `None` if
    /// the payload is 4 GiB or more.
    pub fn for_payload(
        board: BoardId,
        version: Version,
        security_counter: u32,
        payload: &[u8],
    ) -> Option<Header> {
        Some(Header {
            board,
            version,
            security_counter,
            payload_len: u32::try_from(payload.len()).ok()?,
            digest: payload_digest(payload),
        })
    }

    /// The header's 128 bytes: the message the maker signs.
    pub fn emit(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let parts: [(usize, &[u8]); 8] = [
            (0, &MAGIC),
            (4, &FORMAT_VERSION.to_le_bytes()),
            (8, &self.board.0),
            (24, &[self.version.major, self.version.minor]),
            (26, &self.version.patch.to_le_bytes()),
            (28, &self.security_counter.to_le_bytes()),
            (32, &self.payload_len.to_le_bytes()),
            (64, &self.digest),
        ];
        for (at, bytes) in parts {
            if let Some(to) = out.get_mut(at..at + bytes.len()) {
                to.copy_from_slice(bytes);
            }
        }
        out
    }

    /// Reads a header's fields. Says nothing about authenticity: a lock
    /// only trusts a header through [`Verifier::check_manifest`].
    pub fn parse(bytes: &[u8]) -> Result<Header, UpdateError> {
        let bytes = bytes.get(..HEADER_LEN).ok_or(UpdateError::BadMagic)?;
        if field::<4>(bytes, 0) != MAGIC {
            return Err(UpdateError::BadMagic);
        }
        let format = u16::from_le_bytes(field(bytes, 4));
        let reserved_zero = field::<2>(bytes, 6) == [0; 2] && field::<28>(bytes, 36) == [0; 28];
        if format != FORMAT_VERSION || !reserved_zero {
            return Err(UpdateError::UnsupportedFormat(format));
        }
        let [major, minor] = field(bytes, 24);
        Ok(Header {
            board: BoardId(field(bytes, 8)),
            version: Version {
                major,
                minor,
                patch: u16::from_le_bytes(field(bytes, 26)),
            },
            security_counter: u32::from_le_bytes(field(bytes, 28)),
            payload_len: u32::from_le_bytes(field(bytes, 32)),
            digest: field(bytes, 64),
        })
    }
}

/// The SHA-512 of a payload, as the header carries it.
pub fn payload_digest(payload: &[u8]) -> [u8; DIGEST_LEN] {
    Sha512::digest(payload).into()
}

/// Signs `header` with the maker's 32-byte Ed25519 secret key: the
/// manifest that starts the image (header, then signature).
#[cfg(feature = "sign")]
pub fn sign_manifest(secret_key: &[u8; 32], header: &Header) -> [u8; MANIFEST_LEN] {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(secret_key);
    let message = header.emit();
    let signature = key.sign(&message).to_bytes();
    let mut out = [0u8; MANIFEST_LEN];
    let (head, sig) = out.split_at_mut(HEADER_LEN);
    head.copy_from_slice(&message);
    sig.copy_from_slice(&signature);
    out
}

/// The public key of a 32-byte Ed25519 secret key (what a firmware builds in).
#[cfg(feature = "sign")]
pub fn public_key(secret_key: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(secret_key)
        .verifying_key()
        .to_bytes()
}

/// What a lock accepts: the maker's public key it builds in, its own board
/// id, and the running image's security counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verifier {
    key: [u8; 32],
    board: BoardId,
    running_counter: u32,
}

impl Verifier {
    /// A verifier for a lock of `board` whose running image has
    /// `running_counter`, trusting the maker's Ed25519 `public_key`.
    pub const fn new(public_key: [u8; 32], board: BoardId, running_counter: u32) -> Verifier {
        Verifier {
            key: public_key,
            board,
            running_counter,
        }
    }

    /// Checks a manifest (the image's first [`MANIFEST_LEN`] bytes) in this
    /// order: magic and format, then the signature (nothing unsigned is
    /// looked at further), then board and security counter.
    ///
    /// Never inlined: the signature check's frame (point decompression and
    /// a double scalar multiplication) then exists only while it runs,
    /// instead of in the frame of every poll of the runtime it is called
    /// from.
    #[inline(never)]
    pub fn check_manifest(&self, manifest: &[u8]) -> Result<Header, UpdateError> {
        let header = Header::parse(manifest)?;
        self.check_signature(manifest)?;
        if header.board != self.board {
            return Err(UpdateError::WrongBoard);
        }
        if header.security_counter < self.running_counter {
            return Err(UpdateError::Downgrade {
                running: self.running_counter,
                offered: header.security_counter,
            });
        }
        if header.payload_len == 0 {
            return Err(UpdateError::Empty);
        }
        Ok(header)
    }

    /// The signature check alone: `verify_strict` (no small-order keys, no
    /// malleable signatures) over the header's 128 bytes.
    pub(crate) fn check_signature(&self, manifest: &[u8]) -> Result<(), UpdateError> {
        let message = manifest.get(..HEADER_LEN).ok_or(UpdateError::BadMagic)?;
        let signature = manifest
            .get(HEADER_LEN..MANIFEST_LEN)
            .and_then(|s| <[u8; SIGNATURE_LEN]>::try_from(s).ok())
            .ok_or(UpdateError::BadMagic)?;
        let key = VerifyingKey::from_bytes(&self.key).map_err(|_| UpdateError::BadSignature)?;
        key.verify_strict(message, &Signature::from_bytes(&signature))
            .map_err(|_| UpdateError::BadSignature)
    }

    /// Checks a whole image in memory (the host tool; the lock streams with
    /// [`Receiver`](crate::Receiver) instead): the manifest as above, then
    /// the payload's length and digest.
    pub fn check_image(&self, image: &[u8]) -> Result<Header, UpdateError> {
        let header = self.check_manifest(image)?;
        let payload = image.get(MANIFEST_LEN..).unwrap_or(&[]);
        let received = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        if received < header.payload_len {
            return Err(UpdateError::Truncated {
                received,
                expected: header.payload_len,
            });
        }
        if received > header.payload_len {
            return Err(UpdateError::PastEnd {
                len: header.payload_len,
            });
        }
        if payload_digest(payload) != header.digest {
            return Err(UpdateError::BadDigest);
        }
        Ok(header)
    }
}
