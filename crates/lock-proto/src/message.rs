//! Frame bodies: `postcard` encodings of these types (the crate docs list
//! them with their encodings).

use lock_core::{
    AppCommand, LogRecord, Name, Notice, Person, PersonNumber, Privilege, Reply, Role, Validity,
    WeeklySchedule,
};
use serde::{Deserialize, Serialize};

use crate::FrameError;
use crate::state::MAX_PAIRINGS;
use crate::wire::MAX_BODY;

/// A lock-issued challenge: 16 random bytes, valid once and briefly.
pub type Challenge = [u8; 16];

/// Phone → lock, in the clear: the phone's ephemeral X25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairHello {
    /// The phone's ephemeral public key.
    pub phone: [u8; 32],
}

/// Lock → phone, in the clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairOffer {
    /// The lock's id.
    pub lock_id: [u8; 8],
    /// The lock's identity public key.
    pub identity: [u8; 32],
    /// The lock's ephemeral public key for this pairing.
    pub ephemeral: [u8; 32],
    /// Commitment to the lock's nonce, sent before the phone's nonce is seen.
    pub commitment: [u8; 32],
}

/// Phone → lock (the phone's nonce) and lock → phone (the lock's nonce, which
/// opens the commitment), in the clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairNonce {
    /// 16 random bytes.
    pub nonce: [u8; 16],
}

/// A request, phone → lock, sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
// No heap to box into: an update chunk travels by value, once, like a
// frame (a request is decoded from one).
#[allow(clippy::large_enum_variant)]
pub enum Request {
    /// Ask for a challenge; every request but this one, `ConfirmPairing` and
    /// `Command(Status)` must carry a fresh one.
    Challenge,
    /// The person compared the codes and they matched: complete the pairing.
    /// Sealed under the new pairing's key, so it also proves the key.
    ConfirmPairing,
    /// A command for the lock itself (R-APP-1…6), checked by `lock-core` with
    /// the pairing's privilege (S-PR-4).
    Command {
        /// The command.
        command: AppCommand,
        /// The challenge it answers.
        challenge: Option<Challenge>,
    },
    /// List the pairings (administrator).
    ListPairings {
        /// The challenge it answers.
        challenge: Challenge,
    },
    /// Revoke one pairing or key (administrator).
    RevokePairing {
        /// Which.
        pairing: u16,
        /// The challenge it answers.
        challenge: Challenge,
    },
    /// Issue a key for another phone: a user's, or a visitor's scoped to
    /// open and lock within a bounded window (administrator; R-APP-5, S-VC-4).
    IssueKey {
        /// `User` or `Visitor`.
        privilege: Privilege,
        /// When it works, on the lock's clock. Bounded for visitors.
        validity: Validity,
        /// The challenge it answers.
        challenge: Challenge,
    },
    /// Send the lock's id and this pairing's visitor-code secret, to make
    /// offline visitor codes (administrator; R-APP-4). From then on the lock
    /// accepts this phone's codes, until its pairing is revoked (S-VC-5).
    VisitorSecret {
        /// The challenge it answers.
        challenge: Challenge,
    },
    /// List the people after `after`, a page of [`PEOPLE_PAGE`] at most
    /// (administrator; R-APP-3).
    ListPeople {
        /// Start after this person; `None` for the first page.
        after: Option<PersonNumber>,
        /// The challenge it answers.
        challenge: Challenge,
    },
    /// Read the event log, newest first, a page of [`LOG_PAGE`] records
    /// with sequence numbers below `before` (administrator; R-APP-6).
    ReadLog {
        /// Only records older than this sequence number; `None` for the
        /// newest page.
        before: Option<u32>,
        /// The challenge it answers.
        challenge: Challenge,
    },
    /// One step of a firmware update (administrator; S-UP-4). The answer,
    /// [`Response::Update`], carries the challenge for the next step, so
    /// an image goes in one round trip a chunk.
    Update {
        /// The step.
        step: UpdateStep,
        /// The challenge it answers.
        challenge: Challenge,
    },
}

/// Image bytes one [`UpdateStep`] carries at most: a sealed body holds a
/// request of up to [`MAX_BODY`] bytes, and a chunk's step, offset and
/// challenge take the rest.
pub const UPDATE_CHUNK: usize = 384;

/// One step of a firmware update, as an administrator's phone sends them.
/// The image's bytes are not lock-proto's business: the runtime hands them
/// to the update receiver, which checks the image (S-UP-1, S-UP-2) before
/// anything marks it for boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateStep {
    /// Start an update: the image's header. An update already under way
    /// with the same header goes on where it was (the answer says where);
    /// another header starts afresh.
    Begin {
        /// The header's bytes.
        #[serde(with = "bytes")]
        header: heapless::Vec<u8, UPDATE_CHUNK>,
    },
    /// Where the update is: after a dropped link, the phone asks and goes
    /// on from the offset the lock has.
    Status,
    /// Image bytes at `offset`, which must be where the lock is.
    Chunk {
        /// Where in the image these bytes go.
        offset: u32,
        /// The bytes.
        #[serde(with = "bytes")]
        bytes: heapless::Vec<u8, UPDATE_CHUNK>,
    },
    /// Every byte is sent: check the image and mark it for the next boot.
    Finish,
    /// Drop the update under way.
    Cancel,
}

/// A byte vector as serde's bytes rather than a sequence of `u8`: the same
/// postcard encoding (a varint length, then the bytes), decoded with one
/// copy instead of one call a byte.
mod bytes {
    use core::fmt;

    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        v: &heapless::Vec<u8, N>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<heapless::Vec<u8, N>, D::Error> {
        struct Bytes<const N: usize>;
        impl<const N: usize> Visitor<'_> for Bytes<N> {
            type Value = heapless::Vec<u8, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "at most {N} bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                heapless::Vec::from_slice(v).map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
        d.deserialize_bytes(Bytes::<N>)
    }
}

/// Where a firmware update is, as the lock answers each [`UpdateStep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateState {
    /// No update under way.
    Idle,
    /// Receiving: the lock has the image's bytes up to `have`.
    Receiving {
        /// The offset of the next byte the lock takes.
        have: u32,
        /// The image's length.
        length: u32,
    },
    /// Checked and marked: the lock runs it after its next restart, and
    /// goes back to the running image unless the new one confirms itself.
    Ready,
    /// The step was refused; the update under way, if any, is unchanged
    /// unless the refusal says otherwise.
    Refused(UpdateRefusal),
    /// Every byte came: the lock reads the staged image back and checks it
    /// a slice at a time, so it keeps taking its inputs meanwhile. Send
    /// `Finish` again.
    Checking {
        /// Bytes of the image checked so far.
        checked: u32,
        /// The image's length.
        length: u32,
    },
}

/// Why an update step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UpdateRefusal {
    /// This lock takes no firmware updates (its board has no update slot).
    Unsupported,
    /// The header is not an image's header.
    Malformed,
    /// The image is for another board.
    WrongBoard,
    /// The image's security version is below the running one's (S-UP-2).
    Downgrade,
    /// The image does not fit the lock's update slot.
    TooLarge,
    /// A chunk not at the offset the lock has (the answer says which).
    WrongOffset,
    /// No update under way (a chunk or `Finish` before `Begin`).
    NotStarted,
    /// `Finish` before every byte came.
    Incomplete,
    /// An image is marked or on trial already: the next reset decides it
    /// first.
    Pending,
    /// The image's bytes do not match its digest: the update is dropped.
    BadDigest,
    /// The signature is not the maker's (S-UP-1): the update is dropped.
    BadSignature,
    /// The update slot's flash failed.
    Flash,
}

/// People a [`Response::People`] page holds at most.
pub const PEOPLE_PAGE: usize = 6;
/// Log records a [`Response::Log`] page holds at most.
pub const LOG_PAGE: usize = 8;

/// One person, as the app lists them: never their passcodes or template ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonInfo {
    /// Their number.
    pub number: PersonNumber,
    /// Administrator or user.
    pub role: Role,
    /// Their name, as the app set it.
    pub name: Name,
    /// When their credentials open.
    pub validity: Validity,
    /// Their weekly hours, if limited.
    pub schedule: Option<WeeklySchedule>,
    /// Faces, palm veins and fingerprints enrolled.
    pub biometrics: [u8; 3],
    /// Whether they have a passcode.
    pub passcode: bool,
    /// Whether they have a duress passcode.
    pub duress: bool,
}

impl PersonInfo {
    /// What the app may see of `person`.
    pub fn of(person: &Person) -> PersonInfo {
        let count = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
        PersonInfo {
            number: person.number,
            role: person.role,
            name: person.name,
            validity: person.validity,
            schedule: person.schedule,
            biometrics: [
                count(person.faces.len()),
                count(person.palms.len()),
                count(person.fingers.len()),
            ],
            passcode: person.passcode.is_some(),
            duress: person.duress.is_some(),
        }
    }
}

/// One log record with its sequence number, as the app reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRecord {
    /// Its sequence number: ask for `before: Some(seq)` for the next page.
    pub seq: u32,
    /// The record.
    pub record: LogRecord,
}

/// A question the lock answers from what it holds, without deciding
/// anything ([`crate::Output::Query`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// The people after this one ([`Response::People`]).
    People {
        /// Start after this person.
        after: Option<PersonNumber>,
    },
    /// The log records older than this ([`Response::Log`]).
    Log {
        /// Only sequence numbers below this.
        before: Option<u32>,
    },
}

impl Request {
    /// The challenge the request carries, if any.
    pub fn challenge(&self) -> Option<Challenge> {
        match self {
            Request::Challenge | Request::ConfirmPairing => None,
            Request::Command { challenge, .. } => *challenge,
            Request::ListPairings { challenge }
            | Request::RevokePairing { challenge, .. }
            | Request::IssueKey { challenge, .. }
            | Request::VisitorSecret { challenge }
            | Request::ListPeople { challenge, .. }
            | Request::ReadLog { challenge, .. }
            | Request::Update { challenge, .. } => Some(*challenge),
        }
    }
}

/// One pairing, as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingInfo {
    /// Its id.
    pub pairing: u16,
    /// What it may do.
    pub privilege: Privilege,
    /// When it works.
    pub validity: Validity,
}

/// Why the protocol refused an authenticated request (the lock's own refusals
/// come as [`Response::Reply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProtoRefusal {
    /// No challenge, a wrong one, a used one, or one past its expiry (S-PR-3).
    NoFreshChallenge,
    /// Too many challenges asked for; try again in a minute (S-PR-5).
    RateLimited,
    /// The pairing's privilege does not allow this (S-PR-4, S-VC-4).
    NotPermitted,
    /// The key is outside its window, or the lock has no trusted clock to
    /// tell (S-VC-2, S-VC-4).
    OutsideValidity,
    /// No pairing has that id.
    NoSuchPairing,
    /// Every pairing slot is taken.
    Full,
    /// A visitor key needs an end to its window; an issued key cannot be an
    /// administrator's (those pair at the lock, S-PR-1).
    BadKey,
    /// Not expected now (a pairing confirmation from a paired phone).
    Unexpected,
    /// Visitor codes already come from `visitor::MAX_ISSUERS` administrators'
    /// phones: revoke one before another asks (S-VC-5).
    IssuersFull,
}

/// A response, lock → phone, sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
// No heap to box into: the large variant is the point (a frame or a list
// travels by value, once).
#[allow(clippy::large_enum_variant)]
pub enum Response {
    /// A challenge for the next request.
    Challenge {
        /// The challenge.
        challenge: Challenge,
        /// How long it stays valid, in milliseconds.
        valid_ms: u32,
    },
    /// The pairing is complete.
    Welcome {
        /// Its id.
        pairing: u16,
        /// What it may do.
        privilege: Privilege,
        /// The lock's id.
        lock_id: [u8; 8],
        /// The lock's identity code (R-MNU-6).
        identity_code: u32,
    },
    /// The lock's answer to a command.
    Reply(Reply),
    /// The pairings.
    Pairings(heapless::Vec<PairingInfo, MAX_PAIRINGS>),
    /// A key was issued: hand `pairing` and `key` to the other phone.
    KeyIssued {
        /// The new pairing's id.
        pairing: u16,
        /// Its 32-byte pairing key.
        key: [u8; 32],
    },
    /// The lock's id and the asking pairing's own visitor-code secret
    /// (`visitor::issuer_secret`, S-VC-5).
    VisitorSecret {
        /// The lock's id.
        lock_id: [u8; 8],
        /// The pairing's visitor-code secret.
        secret: [u8; 32],
    },
    /// Done.
    Done,
    /// Refused by the protocol.
    Refused(ProtoRefusal),
    /// A page of people, in number order.
    People {
        /// The page.
        people: heapless::Vec<PersonInfo, PEOPLE_PAGE>,
        /// More follow: ask again after the last one.
        more: bool,
    },
    /// A page of log records, newest first.
    Log {
        /// The page.
        records: heapless::Vec<LoggedRecord, LOG_PAGE>,
        /// Older records follow: ask again before the last one.
        more: bool,
    },
    /// Where the firmware update is, and the challenge for its next step.
    Update {
        /// Where it is.
        state: UpdateState,
        /// The challenge for the next step.
        challenge: Challenge,
        /// How long it stays valid, in milliseconds.
        valid_ms: u32,
    },
}

/// What a notice frame carries.
pub type NoticeBody = Notice;

/// Encodes `value` into at most [`MAX_BODY`] bytes.
pub fn encode<T: Serialize>(value: &T, buf: &mut [u8; MAX_BODY]) -> Result<usize, FrameError> {
    postcard::to_slice(value, buf)
        .map(|b| b.len())
        .map_err(|_| FrameError::TooLong)
}

/// Decodes a body that must be exactly one `T`: trailing bytes are
/// malformed too.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, FrameError> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(FrameError::Malformed),
    }
}
