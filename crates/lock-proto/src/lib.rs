#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod crypto;
pub mod message;
pub mod phone;
mod protocol;
pub mod state;
pub mod visitor;
pub mod wire;

pub use message::{
    LOG_PAGE, LoggedRecord, PEOPLE_PAGE, PairingInfo, PersonInfo, ProtoRefusal, Query, Request,
    Response, UPDATE_CHUNK, UpdateRefusal, UpdateState, UpdateStep,
};
pub use phone::{ComparedPairing, FromLock, Phone, PhonePairing, SavedPhone};
pub use protocol::{
    AUTH_FAILURES_PER_MINUTE, CHALLENGE_VALIDITY, CHALLENGES_PER_MINUTE, EntropyError,
    MAX_COUNTER_STEP, OUTPUTS_CAPACITY, Output, Outputs, PAIRING_ATTEMPTS, PAIRING_TIMEOUT,
    Protocol, REFUSALS_PER_MINUTE, RestoreError, SENT_RESERVE, WRITE_REFILL, WRITES_BURST,
};
pub use state::{
    APP_SLOTS_USED, BOOT_SLOT, CounterRecord, IDENTITY_SLOT, Identity, MAX_PAIRINGS, PairingRecord,
    ProtoChange, ProtoSnapshot, RECORD_MAX, RECORD_VERSION, RecordBuf, RecordError, RecordWrites,
    boot_record, read_boot_record,
};
pub use visitor::{
    IssuersFull, VisitorCode, VisitorCodeBook, VisitorCodeError, VisitorCodeKind, VisitorCodeSpec,
    VisitorCodeVerifier,
};
pub use wire::{Frame, FrameBuf, FrameKind, FrameRepr, MAX_FRAME};

/// Why a received frame was dropped. Every one of these is decided before the
/// frame's content is acted on (S-PR-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FrameError {
    /// Shorter than its header, or than its header says.
    #[error("frame too short")]
    Short,
    /// Longer than its header says, or (S-PR-8) a sealed body of a length
    /// other than `wire::SEALED_SIZES`.
    #[error("frame length does not match its header")]
    Length,
    /// A body longer than the protocol allows.
    #[error("frame too long")]
    TooLong,
    /// An older protocol version: refused, never downgraded to.
    #[error("old protocol version {0}")]
    OldVersion(u8),
    /// A protocol version this lock does not know.
    #[error("unknown protocol version {0}")]
    UnknownVersion(u8),
    /// An unknown frame kind.
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    /// A kind that only goes the other way.
    #[error("frame kind goes the other way")]
    WrongDirection,
    /// No pairing has this id. For a sealed frame, a failed authentication
    /// (S-BF-1, [`AUTH_FAILURES_PER_MINUTE`]): no pairing's header key
    /// unmasks it to that pairing's own id (S-PR-8).
    #[error("unknown pairing")]
    UnknownPairing,
    /// The tag is wrong: tampered, or not sealed with this pairing's key.
    /// It presents no credential: dropped, never counted with the lock's
    /// failures, and rate-limited per link (S-BF-1,
    /// [`AUTH_FAILURES_PER_MINUTE`]).
    #[error("authentication failed")]
    BadTag,
    /// The counter is not above the last one accepted (S-PR-3).
    #[error("replayed or reordered frame")]
    Replay,
    /// The counter is more than [`MAX_COUNTER_STEP`] above the last one
    /// accepted. A phone counts up by one a frame; a frame that would use up
    /// its pairing's counters (one with counter `u64::MAX` would leave no
    /// later frame fresh) is dropped unread.
    #[error("counter jumps too far")]
    CounterJump,
    /// Authentic, but the body does not decode as what its kind carries.
    #[error("malformed body")]
    Malformed,
    /// A pairing message outside pairing mode (S-PR-1).
    #[error("not in pairing mode")]
    NotPairing,
    /// Another pairing is in progress.
    #[error("another pairing is in progress")]
    Busy,
    /// Every pairing slot is taken.
    #[error("no free pairing slot")]
    Full,
    /// Over a rate limit (S-PR-5): more pairing attempts than a window
    /// allows ([`PAIRING_ATTEMPTS`]), or more failed authentications on one
    /// link in a minute than [`AUTH_FAILURES_PER_MINUTE`]. Dropped without
    /// further work; the transport should drop the connection that sent it.
    #[error("rate limited")]
    RateLimited,
    /// Authentic and fresh, refused for this reason, and not answered: the
    /// lock's counters reserved for the pairing are used up, and answering
    /// would write a new reservation, which a refused frame never does
    /// (S-PR-6). The pairing's next granted request reserves again.
    #[error("refused without an answer: {0:?}")]
    Refused(ProtoRefusal),
    /// A message that does not fit the exchange's current step.
    #[error("unexpected message")]
    Unexpected,
    /// The entropy source failed.
    #[error("entropy source failed")]
    Entropy,
}
