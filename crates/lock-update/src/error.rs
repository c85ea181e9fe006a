//! Why an update was refused.

use embedded_storage_async::nor_flash::NorFlashErrorKind;

/// Why an image, a chunk or a step of an update was refused.
///
/// Every refusal leaves the running image the one that boots: nothing is
/// marked for boot unless [`Receiver::finish`](crate::Receiver::finish)
/// returns `Ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The manifest is too short or does not start with [`MAGIC`](crate::MAGIC):
    /// not a lock firmware image.
    #[error("not a lock firmware image (bad magic or short manifest)")]
    BadMagic,
    /// A format version this firmware does not read, or version 1 with
    /// reserved bytes that are not zero (a later format's fields).
    #[error("image format version {0} (or its reserved fields) is not supported")]
    UnsupportedFormat(u16),
    /// The Ed25519 signature over the header does not verify with the
    /// built-in key (unsigned, signed by another key, or a changed header).
    #[error("the signature does not verify with the maker's key")]
    BadSignature,
    /// Signed, but for another board.
    #[error("the image is for another board")]
    WrongBoard,
    /// Signed, but its security counter is below the running image's (S-UP-2).
    #[error("security counter {offered} is below the running image's {running}")]
    Downgrade {
        /// The running image's security counter.
        running: u32,
        /// The offered image's.
        offered: u32,
    },
    /// The payload is larger than the staging area.
    #[error("a {len}-byte payload does not fit the {capacity}-byte staging area")]
    TooLarge {
        /// The payload's length.
        len: u32,
        /// The staging area's capacity.
        capacity: u32,
    },
    /// The header announces an empty payload.
    #[error("the image has no payload")]
    Empty,
    /// A chunk at another offset than the next one expected: resend from
    /// `expected` (a dropped link resumes there).
    #[error("chunk at the wrong offset: expected {expected}")]
    WrongOffset {
        /// The next payload offset the receiver takes.
        expected: u32,
    },
    /// A chunk goes past the payload length the header announced.
    #[error("a chunk goes past the {len}-byte payload")]
    PastEnd {
        /// The payload's length.
        len: u32,
    },
    /// `finish` before the whole payload arrived; send from `received` on.
    #[error("payload truncated: {received} of {expected} bytes received")]
    Truncated {
        /// Bytes received so far.
        received: u32,
        /// The payload's length.
        expected: u32,
    },
    /// The payload's SHA-512 (as received, or as read back from the
    /// staging flash) is not the signed one.
    #[error("the payload's digest is not the signed one")]
    BadDigest,
    /// An update is marked or on trial and not yet confirmed: the staging
    /// area may hold the image a revert needs, so it is not overwritten.
    #[error("an update is pending or on trial: confirm or reset first")]
    NotConfirmed,
    /// This transfer already ended (marked, or failed on a flash error or
    /// a bad digest); start a new one with [`Receiver::begin`](crate::Receiver::begin).
    #[error("this transfer has ended; begin a new one")]
    Ended,
    /// The staging flash or the boot loader's state failed.
    #[error("flash error: {0:?}")]
    Flash(NorFlashErrorKind),
}
