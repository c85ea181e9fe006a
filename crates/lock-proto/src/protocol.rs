//! The lock side: [`Protocol`], a sans-IO state machine over frames.

use lock_core::{
    AppChange, AppCommand, AppRequest, Duration, Instant, Link, Notice, Privilege, Reply, Validity,
    WallClock,
};
use lock_hal::Entropy;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::FrameError;
use crate::crypto::{self, Direction, FrameKeys};
use crate::message::{
    self, Challenge, LoggedRecord, PairHello, PairNonce, PairOffer, PairingInfo, PersonInfo,
    ProtoRefusal, Query, Request, Response, UpdateState, UpdateStep,
};
use crate::state::{
    Identity, MAX_PAIRINGS, PairingRecord, ProtoChange, ProtoSnapshot, pairing_slot,
};
use crate::visitor::{MAX_ISSUERS, VisitorCodeVerifier, issuer_secret};
use crate::wire::{Frame, FrameBuf, FrameKind, FrameRepr, MAX_BODY};

/// A challenge answers one request within this time (S-PR-3).
pub const CHALLENGE_VALIDITY: Duration = Duration::from_secs(30);
/// Challenges the lock hands one pairing per minute (S-PR-5), Status answers
/// included (the one other request answered without a challenge). Each
/// pairing has its own budget, in RAM only (a restart refills it): one key's
/// traffic never starves another's, so a visitor's key asking for challenges
/// as fast as it can still leaves an administrator's phone the challenges it
/// needs to lift a lockout or revoke that key. All pairings together the
/// lock hands out at most `MAX_PAIRINGS` × 10 = 160 a minute, each one 16
/// random bytes and one sealed answer. Every request that changes something
/// spends a challenge, and [`WRITES_BURST`] bounds those further (S-PR-6).
pub const CHALLENGES_PER_MINUTE: u8 = 10;
/// Requests that change something one pairing may make at once, each
/// (S-PR-6): a phone setting up a household adds its people in one go.
pub const WRITES_BURST: u8 = 100;
/// After a burst, one more such request per this much time: 60 an hour
/// kept up day and night. With [`CHALLENGES_PER_MINUTE`] alone a key could
/// make 600 an hour, each writing its counter and what it changes; an
/// administrator adding and deleting a person at that rate wore the busiest
/// page of the STM32L4's store to its rated 10,000 erases in 0.7 years
/// (tests/protocol/wear.rs prints the figures per board).
pub const WRITE_REFILL: Duration = Duration::from_mins(1);
/// Refusals the lock answers one pairing per minute (S-PR-6). Past them, or
/// once the counters reserved for the pairing are used up, a refused frame
/// is dropped unanswered ([`FrameError::RateLimited`], [`FrameError::Refused`]):
/// a refusal never makes the lock write (a new reservation), and answering
/// at most this many keeps a flood of refused frames from using up the
/// reservation a pairing's granted requests draw on.
pub const REFUSALS_PER_MINUTE: u8 = 10;

/// Failed authentications one link reports per minute (S-BF-1, S-PR-5).
///
/// A sealed frame that fails authentication — a bad tag, an unknown pairing,
/// a counter not above the last one accepted or jumping too far — presents
/// no credential: it is dropped and never counted with the lock's failures,
/// so a stranger in radio range cannot lock the owner out. Each link
/// (`Link::Bluetooth`, `Link::Remote`) has its own budget: the first this
/// many such frames in a minute are refused with their reason, the ones after
/// that with [`FrameError::RateLimited`], which tells the transport to drop
/// the connection that sent it. The budget never holds back an authentic
/// frame: every frame's tag is checked (the AEAD check costs about what
/// receiving the frame does), and a pairing's own frames are processed
/// whatever strangers send on either link.
pub const AUTH_FAILURES_PER_MINUTE: u8 = 3;
/// Pairing attempts one pairing window allows.
pub const PAIRING_ATTEMPTS: u8 = 3;
/// A pairing exchange must complete within this.
pub const PAIRING_TIMEOUT: Duration = Duration::from_secs(60);
/// How far one frame's counter may be above the last one accepted from its
/// pairing ([`FrameError::CounterJump`]): using up a pairing's 2^64 counters
/// would take 2^32 frames.
pub const MAX_COUNTER_STEP: u64 = 1 << 32;

/// The lock reserves its own counters this many at a time, so it persists a
/// pairing's sent counter once per this many frames.
pub const SENT_RESERVE: u64 = 64;

const MINUTE: Duration = Duration::from_mins(1);

/// Most outputs one call returns. The longest path is an administrator
/// revoking a phone that makes visitor codes: its counter, a new
/// reservation, the revocation, `VisitorCodes`, the answer and `Changed`
/// (six); one more is room the `proto_frame` fuzz target checks is never
/// used.
pub const OUTPUTS_CAPACITY: usize = 7;

/// One thing for the runtime to do, in order.
#[derive(Debug, Clone)]
// No heap to box into: the large variant is the point (a frame or a list
// travels by value, once).
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// Persist this before doing anything after it.
    Persist(ProtoChange),
    /// Send these bytes back to the phone the frame came from.
    Send(FrameBuf),
    /// Hand this to the lock as `Event::App(request)`; encode the
    /// `Action::Reply` it answers with by [`Protocol::encode_reply`]`(from, …)`.
    Request {
        /// The pairing it came from.
        from: u16,
        /// The authenticated request, with the pairing's privilege.
        request: AppRequest,
    },
    /// The protocol changed its records (a pairing confirmed, a key issued
    /// or revoked): send `Event::AppChanged` to the lock, which logs it
    /// (R-APP-6) and, for a pairing, ends pairing mode (R-MNU-7).
    Changed(AppChange),
    /// S-VC-5: the phones whose visitor codes the lock accepts changed (one
    /// asked for its secret, or an issuer's pairing was revoked): give the
    /// lock [`Protocol::visitor_code_verifier`]
    /// (`*lock.visitor_codes_mut() = …`) before it takes another entry.
    /// It follows the change's `Persist`.
    VisitorCodes,
    /// Send `Event::PairingCode` to the lock: it says this six-digit pairing
    /// code for the person to compare with the phone's, and a press of ✓
    /// at the lock ([`Protocol::confirm_at_lock`]) confirms it (S-PR-1).
    VerificationCode(u32),
    /// An administrator asked what the lock holds (R-APP-3, R-APP-6):
    /// answer with [`Protocol::encode_people`] or [`Protocol::encode_log`]
    /// `(from, …)`.
    Query {
        /// The pairing it came from.
        from: u16,
        /// What it asks.
        query: Query,
    },
    /// An administrator's firmware update step (S-UP-4): carry it out with
    /// the board's update receiver, then answer with
    /// [`Protocol::encode_update`]`(from, …)`.
    Update {
        /// The pairing it came from.
        from: u16,
        /// The step.
        step: UpdateStep,
    },
}

/// The outputs of one call, in order.
pub type Outputs = heapless::Vec<Output, OUTPUTS_CAPACITY>;

fn push(out: &mut Outputs, o: Output) {
    // Each path pushes at most OUTPUTS_CAPACITY outputs.
    let _ = out.push(o);
}

/// One of each per link (S-PR-5): a frame's link comes from the transport.
#[derive(Debug, Clone, Copy)]
struct PerLink<T> {
    bluetooth: T,
    remote: T,
}

impl<T> PerLink<T> {
    fn get_mut(&mut self, link: Link) -> &mut T {
        match link {
            Link::Bluetooth => &mut self.bluetooth,
            Link::Remote => &mut self.remote,
        }
    }
}

/// A fixed one-minute window counter.
#[derive(Debug, Clone, Copy)]
struct RateLimit {
    window_start: Option<Instant>,
    count: u8,
}

impl RateLimit {
    const fn new() -> RateLimit {
        RateLimit {
            window_start: None,
            count: 0,
        }
    }

    /// Counts one at `now`; false when `limit` were counted this minute.
    fn allow(&mut self, now: Instant, limit: u8) -> bool {
        let fresh = self
            .window_start
            .is_none_or(|start| now.saturating_since(start) >= MINUTE);
        if fresh {
            self.window_start = Some(now);
            self.count = 0;
        }
        if self.count >= limit {
            return false;
        }
        self.count = self.count.saturating_add(1);
        true
    }
}

/// A token bucket: [`WRITES_BURST`] at once, one more per
/// [`WRITE_REFILL`].
#[derive(Debug, Clone, Copy)]
struct WriteBudget {
    tokens: u8,
    /// When the last token was added (or the bucket made).
    since: Option<Instant>,
}

impl WriteBudget {
    const fn new() -> WriteBudget {
        WriteBudget {
            tokens: WRITES_BURST,
            since: None,
        }
    }

    /// Spends one token at `now`; false when none is left.
    fn spend(&mut self, now: Instant) -> bool {
        let since = *self.since.get_or_insert(now);
        let refill = WRITE_REFILL.millis().max(1);
        let earned = now.saturating_since(since).millis() / refill;
        if earned > 0 {
            let tokens = u64::from(self.tokens).saturating_add(earned);
            self.tokens = u8::try_from(tokens.min(u64::from(WRITES_BURST))).unwrap_or(WRITES_BURST);
            self.since = Some(since + Duration::from_millis(earned.saturating_mul(refill)));
        }
        if self.tokens == 0 {
            return false;
        }
        if self.tokens == WRITES_BURST {
            // A full bucket earns nothing while it waits.
            self.since = Some(now);
        }
        self.tokens -= 1;
        true
    }
}

#[derive(Debug, Clone)]
struct Pairing {
    /// The pairing as it was last persisted: `received` there is the floor
    /// a phone's counter must exceed after a restart.
    record: PairingRecord,
    /// The highest phone counter accepted, in RAM: at least
    /// `record.received`, ahead of it after frames that changed nothing
    /// (`Protocol::acts`, S-PR-6).
    received: u64,
    keys: FrameKeys,
    /// The next counter the lock sends with.
    next_sent: u64,
    /// This pairing's challenges and Status answers this minute (S-PR-5):
    /// its own, so no other pairing can use them up.
    challenge_limit: RateLimit,
    /// Refusals answered to this pairing this minute (S-PR-6).
    refusal_limit: RateLimit,
    /// Requests that change something this pairing may still make
    /// (S-PR-6).
    write_budget: WriteBudget,
}

impl Pairing {
    /// A pairing as restored: the lock continues above its reservation.
    fn new(record: PairingRecord) -> Pairing {
        Pairing {
            keys: FrameKeys::derive(&record.key),
            received: record.received,
            next_sent: record.sent_reserved,
            challenge_limit: RateLimit::new(),
            refusal_limit: RateLimit::new(),
            write_budget: WriteBudget::new(),
            record,
        }
    }

    /// A pairing or key just made: `record` goes to flash with its first
    /// [`SENT_RESERVE`] counters reserved, so its first answers write
    /// nothing more.
    fn fresh(mut record: PairingRecord) -> Pairing {
        record.sent_reserved = SENT_RESERVE;
        let mut pairing = Pairing::new(record);
        pairing.next_sent = 0;
        pairing
    }
}

#[derive(Clone)]
struct Pending {
    id: u16,
    phone: [u8; 32],
    /// The lock's ephemeral X25519 secret: wiped when dropped (S-ST-6).
    ephemeral: Zeroizing<[u8; 32]>,
    lock_nonce: [u8; 16],
    started: Instant,
    /// Once the nonces are exchanged: the new pairing key and its keys,
    /// wiped when dropped (S-ST-6).
    secrets: Option<(Zeroizing<[u8; 32]>, FrameKeys)>,
    /// The phone confirmed the code, with its frame's counter.
    phone_confirmed: Option<u64>,
    /// A person pressed ✓ at the lock.
    lock_confirmed: bool,
}

#[derive(Debug, Clone, Copy)]
struct Outstanding {
    pairing: u16,
    challenge: Challenge,
    expires: Instant,
}

/// The lock side of the app protocol.
///
/// Calling order: build with [`Protocol::new`] (first start, after
/// [`Identity::generate`]) or [`Protocol::restore`]; tell it when the lock
/// opens or closes pairing mode ([`Protocol::set_pairing_window`], from
/// `Action::Pairing`); hand it every received frame with
/// [`Protocol::handle_frame`] and carry out the [`Output`]s in order; encode
/// the lock's replies and notices with [`Protocol::encode_reply`] and
/// [`Protocol::encode_notice`]; when the lock asks for ✓ at the lock
/// (`Action::ConfirmPairing`), call [`Protocol::confirm_at_lock`]. A frame
/// error means: drop the frame; the lock hears nothing of it (a frame that
/// fails authentication presents no credential, S-BF-1), and on
/// [`FrameError::RateLimited`] the transport drops the connection that sent
/// it (S-PR-5).
pub struct Protocol {
    identity: Identity,
    pairings: heapless::Vec<Pairing, MAX_PAIRINGS>,
    pending: Option<Pending>,
    pairing_open: bool,
    pairing_attempts: u8,
    challenges: heapless::Vec<Outstanding, MAX_PAIRINGS>,
    /// Failed authentications this minute, per link (S-BF-1, S-PR-5).
    auth_limits: PerLink<RateLimit>,
    /// Why the last authentic request was refused, if it was.
    last_refusal: Option<ProtoRefusal>,
}

impl core::fmt::Debug for Protocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Protocol")
            .field("identity", &self.identity)
            .field("pairings", &self.pairings.len())
            .field("pairing_open", &self.pairing_open)
            .finish_non_exhaustive()
    }
}

/// Why a [`ProtoSnapshot`] could not be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RestoreError {
    /// No identity was stored: the lock never started, or the store lost it.
    #[error("no identity stored")]
    NoIdentity,
    /// Two pairings share an id, or an id is outside `1..=MAX_PAIRINGS`.
    #[error("pairing ids are not unique")]
    PairingId,
    /// A visitor key without an end to its window (S-VC-4): flash is
    /// untrusted, and the protocol never issues one.
    #[error("a visitor key without an end")]
    UnboundedVisitor,
    /// A pairing's key record without its counter record (S-ST-6): the
    /// protocol writes the counters first, so only damage leaves this, and
    /// restoring it would restart the lock's counters (S-PR-2).
    #[error("a pairing without its counters")]
    NoCounters,
    /// More than [`MAX_ISSUERS`] pairings make visitor codes, or one that
    /// is not an administrator's (S-VC-5): the protocol never stores that.
    #[error("visitor codes from too many pairings, or from one not an administrator's")]
    VisitorIssuers,
}

/// The entropy source failed: nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("the entropy source failed")]
pub struct EntropyError;

fn random<const N: usize, R: Entropy>(rng: &mut R) -> Result<[u8; N], EntropyError> {
    let mut b = [0u8; N];
    rng.fill(&mut b).map_err(|_| EntropyError)?;
    Ok(b)
}

impl Identity {
    /// A fresh identity from the board's entropy source.
    pub fn generate<R: Entropy>(rng: &mut R) -> Result<Identity, EntropyError> {
        Ok(Identity {
            lock_id: random(rng)?,
            secret: random(rng)?,
            visitor_secret: random(rng)?,
        })
    }
}

/// Builds an unsealed pairing frame (the lock's and the phone's).
pub(crate) fn plain_frame<T: serde::Serialize>(
    kind: FrameKind,
    pairing: u16,
    body: &T,
) -> Result<FrameBuf, FrameError> {
    let mut buf = [0u8; MAX_BODY];
    let n = message::encode(body, &mut buf)?;
    let body = buf.get(..n).ok_or(FrameError::TooLong)?;
    let repr = FrameRepr {
        kind,
        pairing,
        counter: 0,
        body_len: u16::try_from(n).map_err(|_| FrameError::TooLong)?,
    };
    let mut header = [0u8; crate::wire::HEADER_LEN];
    repr.emit(&mut header);
    let mut frame = FrameBuf::new();
    frame
        .extend_from_slice(&header)
        .and_then(|()| frame.extend_from_slice(body))
        .map_err(|_| FrameError::TooLong)?;
    Ok(frame)
}

impl Protocol {
    /// A lock with no pairings.
    pub fn new(identity: Identity) -> Protocol {
        Protocol {
            identity,
            pairings: heapless::Vec::new(),
            pending: None,
            pairing_open: false,
            pairing_attempts: 0,
            challenges: heapless::Vec::new(),
            auth_limits: PerLink {
                bluetooth: RateLimit::new(),
                remote: RateLimit::new(),
            },
            last_refusal: None,
        }
    }

    /// The protocol as the store kept it. Counters continue where they were:
    /// the phone's must go on rising, and the lock's own start after the last
    /// reservation, so no nonce is used twice.
    ///
    /// S-ST-6: each pairing's counters come from its counter record, which
    /// every key record must have ([`RestoreError::NoCounters`]); a counter
    /// record without its key record (a revocation cut between its two
    /// writes) is dropped: it holds no key and grants nothing.
    pub fn restore(snapshot: &ProtoSnapshot) -> Result<Protocol, RestoreError> {
        let identity = snapshot.identity.clone().ok_or(RestoreError::NoIdentity)?;
        let mut protocol = Protocol::new(identity);
        for (i, counters) in snapshot.counters.iter().enumerate() {
            let mut again = snapshot.counters.iter().skip(i + 1);
            if pairing_slot(counters.id).is_none() || again.any(|c| c.id == counters.id) {
                return Err(RestoreError::PairingId);
            }
        }
        for record in &snapshot.pairings {
            if pairing_slot(record.id).is_none() || protocol.pairing(record.id).is_some() {
                return Err(RestoreError::PairingId);
            }
            if record.privilege == Privilege::Visitor && record.validity.until.is_none() {
                return Err(RestoreError::UnboundedVisitor);
            }
            if record.visitor_codes
                && (record.privilege != Privilege::Administrator
                    || protocol.visitor_issuers() >= MAX_ISSUERS)
            {
                return Err(RestoreError::VisitorIssuers);
            }
            let counters = snapshot
                .counters
                .iter()
                .find(|c| c.id == record.id)
                .ok_or(RestoreError::NoCounters)?;
            let mut record = record.clone();
            record.received = counters.received;
            record.sent_reserved = counters.sent_reserved;
            // Cannot fail: both hold at most MAX_PAIRINGS.
            let _ = protocol.pairings.push(Pairing::new(record));
        }
        Ok(protocol)
    }

    /// What the store should hold now.
    pub fn snapshot(&self) -> ProtoSnapshot {
        let mut snapshot = ProtoSnapshot {
            identity: Some(self.identity.clone()),
            ..ProtoSnapshot::default()
        };
        for p in &self.pairings {
            snapshot.apply(&ProtoChange::Pairing(p.record.clone()));
        }
        snapshot
    }

    /// Factory reset (R-MNU-9, after `Change::FactoryReset`): every pairing
    /// goes and the lock gets a new identity and visitor secret, so no old
    /// phone, key or visitor code works any more. Give the new
    /// [`Protocol::visitor_code_verifier`] (which accepts no code until an
    /// administrator's phone asks for a secret) to the lock.
    pub fn factory_reset<R: Entropy>(&mut self, rng: &mut R) -> Result<Outputs, EntropyError> {
        let identity = Identity::generate(rng)?;
        *self = Protocol::new(identity.clone());
        let mut out = Outputs::new();
        push(&mut out, Output::Persist(ProtoChange::FactoryReset));
        push(&mut out, Output::Persist(ProtoChange::Identity(identity)));
        Ok(out)
    }

    /// S-VC-5: the verifier of offline visitor codes, for
    /// `lock_core::Lock::with_visitor_codes` (and again after each
    /// [`Output::VisitorCodes`] and [`Protocol::revoke`]): it accepts the
    /// codes of the administrators' pairings that asked for their secret,
    /// and none while no one has.
    pub fn visitor_code_verifier(&self) -> VisitorCodeVerifier {
        let mut verifier = VisitorCodeVerifier::new(self.identity.lock_id);
        for p in self.pairings.iter().filter(|p| p.record.visitor_codes) {
            // Cannot fail: `restore` and `dispatch` keep at most MAX_ISSUERS.
            let _ = verifier.add_issuer(p.record.id, self.issuer_secret(&p.record));
        }
        verifier
    }

    /// The visitor-code secret of `record`'s pairing (S-VC-5).
    fn issuer_secret(&self, record: &PairingRecord) -> [u8; 32] {
        issuer_secret(&self.identity.visitor_secret, record.id, &record.key)
    }

    /// How many pairings make visitor codes.
    fn visitor_issuers(&self) -> usize {
        self.pairings
            .iter()
            .filter(|p| p.record.visitor_codes)
            .count()
    }

    /// The lock's identity code, for `lock_core::Config::verification_code`
    /// (R-MNU-6).
    pub fn identity_code(&self) -> u32 {
        crypto::identity_code(&crypto::public_of(&self.identity.secret))
    }

    /// The lock's id.
    pub fn lock_id(&self) -> [u8; 8] {
        self.identity.lock_id
    }

    /// Opens or closes the pairing window, as the lock's `Action::Pairing`
    /// says (R-MNU-7). Closing drops a pairing in progress.
    pub fn set_pairing_window(&mut self, open: bool) {
        self.pairing_open = open;
        self.pairing_attempts = 0;
        if !open {
            self.pending = None;
        }
    }

    /// Whether the pairing window is open.
    pub fn pairing_window(&self) -> bool {
        self.pairing_open
    }

    /// The pairings and issued keys.
    pub fn pairings(&self) -> impl Iterator<Item = PairingInfo> + '_ {
        self.pairings.iter().map(|p| PairingInfo {
            pairing: p.record.id,
            privilege: p.record.privilege,
            validity: p.record.validity,
        })
    }

    /// The pairings a notice goes to: administrators' and users' phones.
    pub fn notice_recipients(&self) -> impl Iterator<Item = u16> + '_ {
        self.pairings
            .iter()
            .filter(|p| p.record.privilege >= Privilege::User)
            .map(|p| p.record.id)
    }

    /// Revokes one pairing or key at the lock (an administrator's request does
    /// the same). `None` if there is no such pairing. The codes its phone
    /// made stop opening (S-VC-5) once the lock holds the new
    /// [`Protocol::visitor_code_verifier`].
    pub fn revoke(&mut self, id: u16) -> Option<ProtoChange> {
        let before = self.pairings.len();
        self.pairings.retain(|p| p.record.id != id);
        self.challenges.retain(|c| c.pairing != id);
        (self.pairings.len() != before).then_some(ProtoChange::PairingRevoked(id))
    }

    fn pairing(&self, id: u16) -> Option<&Pairing> {
        self.pairings.iter().find(|p| p.record.id == id)
    }

    fn pairing_mut(&mut self, id: u16) -> Option<&mut Pairing> {
        self.pairings.iter_mut().find(|p| p.record.id == id)
    }

    fn free_id(&self) -> Option<u16> {
        if self.pairings.is_full() {
            return None;
        }
        let pending = self.pending.as_ref().map(|p| p.id);
        // Ids are store slots too (`state::pairing_slot`): 1..=MAX_PAIRINGS.
        (1u16..)
            .take(MAX_PAIRINGS)
            .find(|id| self.pairing(*id).is_none() && pending != Some(*id))
    }

    /// Encodes the lock's answer to the request that came `from` a pairing.
    pub fn encode_reply(&mut self, from: u16, reply: Reply) -> Result<Outputs, FrameError> {
        let mut out = Outputs::new();
        self.respond(from, &Response::Reply(reply), &mut out)?;
        Ok(out)
    }

    /// Encodes a page of people for the [`Output::Query`] that came `from`
    /// a pairing (R-APP-3): numbers, roles and names, no secret.
    pub fn encode_people(
        &mut self,
        from: u16,
        people: &[PersonInfo],
        more: bool,
    ) -> Result<Outputs, FrameError> {
        let people = heapless::Vec::from_slice(people).map_err(|_| FrameError::TooLong)?;
        let mut out = Outputs::new();
        self.respond(from, &Response::People { people, more }, &mut out)?;
        Ok(out)
    }

    /// Encodes a page of log records for the [`Output::Query`] that came
    /// `from` a pairing (R-APP-6).
    pub fn encode_log(
        &mut self,
        from: u16,
        records: &[LoggedRecord],
        more: bool,
    ) -> Result<Outputs, FrameError> {
        let records = heapless::Vec::from_slice(records).map_err(|_| FrameError::TooLong)?;
        let mut out = Outputs::new();
        self.respond(from, &Response::Log { records, more }, &mut out)?;
        Ok(out)
    }

    /// Encodes where a firmware update is for the [`Output::Update`] that
    /// came `from` a pairing, with a fresh challenge for its next step: the
    /// phone sends the next chunk without asking for one, so an image is
    /// not held to [`CHALLENGES_PER_MINUTE`]. Each challenge still answers
    /// one authenticated request of this pairing, and only one is
    /// outstanding per pairing (S-PR-3).
    pub fn encode_update<R: Entropy>(
        &mut self,
        now: Instant,
        from: u16,
        state: UpdateState,
        rng: &mut R,
    ) -> Result<Outputs, FrameError> {
        let mut out = Outputs::new();
        let (challenge, valid_ms) = self
            .issue_challenge(now, from, rng)
            .map_err(|_| FrameError::Malformed)?;
        let response = Response::Update {
            state,
            challenge,
            valid_ms,
        };
        self.respond(from, &response, &mut out)?;
        Ok(out)
    }

    /// A fresh challenge for pairing `id`, replacing any it had, and how
    /// long it stays valid in milliseconds.
    fn issue_challenge<R: Entropy>(
        &mut self,
        now: Instant,
        id: u16,
        rng: &mut R,
    ) -> Result<(Challenge, u32), EntropyError> {
        let challenge: Challenge = random(rng)?;
        self.challenges.retain(|c| c.pairing != id);
        let _ = self.challenges.push(Outstanding {
            pairing: id,
            challenge,
            expires: now + CHALLENGE_VALIDITY,
        });
        let valid_ms = u32::try_from(CHALLENGE_VALIDITY.millis()).unwrap_or(u32::MAX);
        Ok((challenge, valid_ms))
    }

    /// Encodes a notice for one pairing ([`Protocol::notice_recipients`]).
    pub fn encode_notice(&mut self, to: u16, notice: Notice) -> Result<Outputs, FrameError> {
        let mut out = Outputs::new();
        self.seal_to(to, FrameKind::Notice, &notice, &mut out)?;
        Ok(out)
    }

    fn respond(
        &mut self,
        to: u16,
        response: &Response,
        out: &mut Outputs,
    ) -> Result<(), FrameError> {
        self.seal_to(to, FrameKind::Response, response, out)
    }

    /// Seals `body` for pairing `to` with its next counter, reserving more
    /// counters (persisted first) when the reservation runs out.
    fn seal_to<T: serde::Serialize>(
        &mut self,
        to: u16,
        kind: FrameKind,
        body: &T,
        out: &mut Outputs,
    ) -> Result<(), FrameError> {
        let mut buf = [0u8; MAX_BODY];
        let n = message::encode(body, &mut buf)?;
        let plaintext = buf.get(..n).ok_or(FrameError::TooLong)?;
        let pairing = self.pairing_mut(to).ok_or(FrameError::UnknownPairing)?;
        let counter = pairing.next_sent;
        if counter >= pairing.record.sent_reserved {
            pairing.record.sent_reserved = counter.saturating_add(SENT_RESERVE);
            // The same write raises the floor of received counters.
            pairing.record.received = pairing.received;
            // S-ST-6: the counter record only, never the key again.
            push(
                out,
                Output::Persist(ProtoChange::Counters(pairing.record.counters())),
            );
        }
        let frame = crypto::seal(
            &pairing.keys,
            Direction::LockToPhone,
            kind,
            to,
            counter,
            plaintext,
        )?;
        pairing.next_sent = counter.saturating_add(1);
        push(out, Output::Send(frame));
        Ok(())
    }

    /// Handles one received frame at `now`. `clock` is the lock's trusted
    /// wall clock with the furthest it has reached (`Lock::clock`): a key's
    /// window end the clock has passed stays passed (S-VC-3). `link` is how
    /// the frame arrived (the
    /// transport knows; the frame does not say). Anything short, untagged,
    /// malformed, from an unknown pairing, of another protocol version, with a
    /// bad tag or an old counter is refused here with its reason, before any
    /// of it is acted on (S-PR-2, S-PR-3): every command from the app is
    /// authenticated and cannot be replayed (R-APP-7). Total on any bytes,
    /// fuzzed by the `proto_frame` target (S-HW-3).
    pub fn handle_frame<R: Entropy>(
        &mut self,
        now: Instant,
        clock: Option<WallClock>,
        link: Link,
        bytes: &[u8],
        rng: &mut R,
    ) -> Result<Outputs, FrameError> {
        self.last_refusal = None;
        let frame = Frame::new_checked(bytes)?;
        let repr = FrameRepr::parse(&frame)?;
        self.expire_pending(now);
        match repr.kind {
            FrameKind::PairHello => self.pair_hello(now, &frame, rng),
            FrameKind::PairNonce => self.pair_nonce(&frame, &repr),
            FrameKind::Request => self.request(now, clock, link, &frame, rng),
            FrameKind::PairOffer
            | FrameKind::PairReveal
            | FrameKind::Response
            | FrameKind::Notice => Err(FrameError::WrongDirection),
        }
    }

    /// Why the request in the last frame [`Protocol::handle_frame`] took
    /// was refused, answered or not; `None` when it was granted, or the
    /// frame was not an authentic request. A transport deciding whether a
    /// link has proved itself (S-PR-7) asks this: a key outside its window
    /// proves nothing worth keeping the radio for.
    pub fn last_refusal(&self) -> Option<ProtoRefusal> {
        self.last_refusal
    }

    fn expire_pending(&mut self, now: Instant) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| now.saturating_since(p.started) >= PAIRING_TIMEOUT)
        {
            self.pending = None;
        }
    }

    // ----- pairing (S-PR-1) ----------------------------------------------

    fn pair_hello<R: Entropy>(
        &mut self,
        now: Instant,
        frame: &Frame<&[u8]>,
        rng: &mut R,
    ) -> Result<Outputs, FrameError> {
        if !self.pairing_open {
            return Err(FrameError::NotPairing);
        }
        if self.pending.is_some() {
            return Err(FrameError::Busy);
        }
        if self.pairing_attempts >= PAIRING_ATTEMPTS {
            return Err(FrameError::RateLimited);
        }
        let hello: PairHello = message::decode(frame.body())?;
        let id = self.free_id().ok_or(FrameError::Full)?;
        let ephemeral = Zeroizing::new(random::<32, R>(rng).map_err(|_| FrameError::Entropy)?);
        let lock_nonce: [u8; 16] = random(rng).map_err(|_| FrameError::Entropy)?;
        self.pairing_attempts = self.pairing_attempts.saturating_add(1);
        let ephemeral_public = crypto::public_of(&ephemeral);
        let offer = PairOffer {
            lock_id: self.identity.lock_id,
            identity: crypto::public_of(&self.identity.secret),
            ephemeral: ephemeral_public,
            commitment: crypto::commitment(&ephemeral_public, &hello.phone, &lock_nonce),
        };
        self.pending = Some(Pending {
            id,
            phone: hello.phone,
            ephemeral,
            lock_nonce,
            started: now,
            secrets: None,
            phone_confirmed: None,
            lock_confirmed: false,
        });
        let mut out = Outputs::new();
        push(
            &mut out,
            Output::Send(plain_frame(FrameKind::PairOffer, id, &offer)?),
        );
        Ok(out)
    }

    fn pair_nonce(
        &mut self,
        frame: &Frame<&[u8]>,
        repr: &FrameRepr,
    ) -> Result<Outputs, FrameError> {
        if !self.pairing_open {
            return Err(FrameError::NotPairing);
        }
        let nonce: PairNonce = message::decode(frame.body())?;
        let lock_id = self.identity.lock_id;
        let identity_secret = Zeroizing::new(self.identity.secret);
        let pending = self
            .pending
            .as_mut()
            .filter(|p| p.id == repr.pairing && p.secrets.is_none())
            .ok_or(FrameError::UnknownPairing)?;
        let th = crypto::transcript(
            &lock_id,
            &pending.phone,
            &crypto::public_of(&identity_secret),
            &crypto::public_of(&pending.ephemeral),
            &nonce.nonce,
            &pending.lock_nonce,
        );
        let shared = crypto::dh(&pending.ephemeral, &pending.phone)
            .zip(crypto::dh(&identity_secret, &pending.phone));
        let Some((dh_e, dh_s)) = shared else {
            // A low-order point: no key could come of it.
            self.pending = None;
            return Err(FrameError::Malformed);
        };
        let secrets = crypto::pairing_secrets(&th, &dh_e, &dh_s);
        pending.secrets = Some((
            Zeroizing::new(secrets.pairing_key),
            FrameKeys::derive(&secrets.pairing_key),
        ));
        let reveal = PairNonce {
            nonce: pending.lock_nonce,
        };
        let mut out = Outputs::new();
        push(
            &mut out,
            Output::Send(plain_frame(FrameKind::PairReveal, pending.id, &reveal)?),
        );
        push(&mut out, Output::VerificationCode(secrets.code));
        Ok(out)
    }

    // ----- sealed requests ------------------------------------------------

    fn request<R: Entropy>(
        &mut self,
        now: Instant,
        clock: Option<WallClock>,
        link: Link,
        frame: &Frame<&[u8]>,
        rng: &mut R,
    ) -> Result<Outputs, FrameError> {
        // S-PR-8: the header does not say the pairing in clear; try each
        // pairing's header key, then the exchange being confirmed.
        let pending = self
            .pending
            .as_ref()
            .and_then(|p| p.secrets.as_ref().map(|(_, keys)| (p.id, keys)));
        let candidates = self
            .pairings
            .iter()
            .map(|p| (p.record.id, &p.keys))
            .chain(pending);
        let mut plain = [0u8; MAX_BODY];
        let opened = crypto::open_any(
            candidates,
            Direction::PhoneToLock,
            frame,
            &mut plain,
            &mut crypto::TrialWork::default(),
        );
        let (id, counter, n) = match opened {
            Ok(o) => (o.pairing, o.counter, o.len),
            Err(e @ (FrameError::BadTag | FrameError::UnknownPairing)) => {
                return Err(self.auth_failed(now, link, e));
            }
            Err(e) => return Err(e),
        };
        let body = plain.get(..n).ok_or(FrameError::Malformed)?;
        if self.pairing(id).is_none() {
            return match self.phone_confirms(counter, body) {
                Err(e @ FrameError::Replay) => Err(self.auth_failed(now, link, e)),
                done => done,
            };
        }
        let Some(received) = self.pairing(id).map(|p| p.received) else {
            return Err(self.auth_failed(now, link, FrameError::UnknownPairing));
        };
        if counter <= received {
            return Err(self.auth_failed(now, link, FrameError::Replay));
        }
        if counter - received > MAX_COUNTER_STEP {
            return Err(self.auth_failed(now, link, FrameError::CounterJump));
        }
        let Some(pairing) = self.pairing_mut(id) else {
            return Err(FrameError::UnknownPairing);
        };
        // Authentic and fresh: the counter moves in RAM even if the body
        // turns out malformed or the request is refused, so the frame is
        // never taken twice in this boot. It reaches flash only with a frame
        // that changes something (`Protocol::acts`, S-PR-6).
        pairing.received = counter;
        let record = pairing.record.clone();
        let request: Request = message::decode(body)?;
        let mut out = Outputs::new();
        let dispatched = self.dispatch(now, clock, link, &record, request, rng, &mut out);
        self.last_refusal = dispatched.as_ref().err().copied();
        match dispatched {
            Ok(Some(request)) => push(&mut out, Output::Request { from: id, request }),
            Ok(None) => {}
            Err(refusal) => self.refuse(now, id, refusal, &mut out)?,
        }
        Ok(out)
    }

    /// Answers a refused request, if that writes nothing (S-PR-6): within
    /// the pairing's [`REFUSALS_PER_MINUTE`] ([`FrameError::RateLimited`]
    /// past it) and within the counters already reserved for it
    /// ([`FrameError::Refused`] once they are used up). So no key — valid,
    /// expired or revoked — makes the lock write by being refused.
    fn refuse(
        &mut self,
        now: Instant,
        id: u16,
        refusal: ProtoRefusal,
        out: &mut Outputs,
    ) -> Result<(), FrameError> {
        let pairing = self.pairing_mut(id).ok_or(FrameError::UnknownPairing)?;
        if !pairing.refusal_limit.allow(now, REFUSALS_PER_MINUTE) {
            return Err(FrameError::RateLimited);
        }
        if pairing.next_sent >= pairing.record.sent_reserved {
            return Err(FrameError::Refused(refusal));
        }
        self.respond(id, &Response::Refused(refusal), out)
    }

    /// The request from pairing `id` passed every check and changes
    /// something: its counter goes to flash first (S-PR-3, S-PR-6).
    ///
    /// Only such frames write it. Each spent a fresh challenge and a token
    /// of the pairing's write budget (below); a
    /// refused frame, a malformed body, a challenge, Status, a list, the log
    /// or the visitor secret asked for again moves the counter in RAM only.
    /// That is safe against a replay after a power cut, when the lock
    /// restarts from the persisted counter, below some it had accepted: a
    /// frame captured then and sent again
    /// - was refused: it is refused again for the same reason (its key's
    ///   validity and privilege are on flash, and a restarted lock has no
    ///   trusted clock until one is set), or, if that reason has gone (the
    ///   clock since entered the key's window), it falls under one of the
    ///   two cases below;
    /// - carries a challenge: challenges live in RAM only and are random, so
    ///   none issued before the cut is outstanding after it
    ///   ([`ProtoRefusal::NoFreshChallenge`]);
    /// - carries none (Challenge, Status): it is answered sealed to the
    ///   pairing's own phone and changes nothing stored.
    ///
    /// No replayed frame acts, and one taken moves the RAM counter past it.
    /// (Reserving received counters ahead, as [`SENT_RESERVE`] does for sent
    /// ones, would make the phone's counter jump past the reservation after
    /// every restart of the lock, which the protocol has no message for.)
    ///
    /// S-PR-6: a pairing makes at most [`WRITES_BURST`] such requests at
    /// once and one more per [`WRITE_REFILL`] after that; past its budget
    /// the request is refused ([`ProtoRefusal::RateLimited`]) and writes
    /// nothing.
    fn acts(&mut self, now: Instant, id: u16, out: &mut Outputs) -> Result<(), ProtoRefusal> {
        let p = self.pairing_mut(id).ok_or(ProtoRefusal::NoSuchPairing)?;
        if !p.write_budget.spend(now) {
            return Err(ProtoRefusal::RateLimited);
        }
        p.record.received = p.received;
        // S-ST-6: the counter record only, never the key again.
        push(
            out,
            Output::Persist(ProtoChange::Counters(p.record.counters())),
        );
        Ok(())
    }

    /// A sealed frame failed authentication on `link` (S-BF-1): it presents
    /// no credential and the lock never hears of it. Past
    /// [`AUTH_FAILURES_PER_MINUTE`] on that link in a minute the error is
    /// [`FrameError::RateLimited`], for the transport to drop the connection.
    fn auth_failed(&mut self, now: Instant, link: Link, error: FrameError) -> FrameError {
        if self
            .auth_limits
            .get_mut(link)
            .allow(now, AUTH_FAILURES_PER_MINUTE)
        {
            error
        } else {
            FrameError::RateLimited
        }
    }

    /// The phone's half of S-PR-1's numeric comparison: its sealed
    /// `ConfirmPairing`. The pairing is stored once the person at the lock
    /// has pressed ✓ too, in either order.
    fn phone_confirms(&mut self, counter: u64, body: &[u8]) -> Result<Outputs, FrameError> {
        match message::decode::<Request>(body)? {
            Request::ConfirmPairing => {}
            _ => return Err(FrameError::Unexpected),
        }
        let pending = self.pending.as_mut().ok_or(FrameError::UnknownPairing)?;
        if pending.phone_confirmed.is_some_and(|c| counter <= c) {
            return Err(FrameError::Replay);
        }
        pending.phone_confirmed = Some(counter);
        if pending.lock_confirmed {
            self.store_pairing()
        } else {
            Ok(Outputs::new())
        }
    }

    /// The lock's half of S-PR-1's numeric comparison: a person pressed ✓
    /// at the lock after it said the code (`Action::ConfirmPairing`). Stores
    /// the pairing if the phone confirmed too, or waits for it within the
    /// exchange's [`PAIRING_TIMEOUT`]. Without a code spoken (no exchange
    /// past its nonces) there is nothing to confirm: [`FrameError::NotPairing`].
    pub fn confirm_at_lock(&mut self, now: Instant) -> Result<Outputs, FrameError> {
        self.expire_pending(now);
        if !self.pairing_open {
            return Err(FrameError::NotPairing);
        }
        let pending = self
            .pending
            .as_mut()
            .filter(|p| p.secrets.is_some())
            .ok_or(FrameError::NotPairing)?;
        pending.lock_confirmed = true;
        if pending.phone_confirmed.is_some() {
            self.store_pairing()
        } else {
            Ok(Outputs::new())
        }
    }

    /// Both sides confirmed the code: the pairing is stored, the phone
    /// welcomed and pairing mode ends.
    fn store_pairing(&mut self) -> Result<Outputs, FrameError> {
        let pending = self.pending.take().ok_or(FrameError::NotPairing)?;
        let (Some((key, _)), Some(counter)) = (pending.secrets, pending.phone_confirmed) else {
            return Err(FrameError::NotPairing);
        };
        let id = pending.id;
        let record = PairingRecord {
            id,
            // S-PR-1: pairing needs pairing mode, opened from the rear panel
            // inside; such a phone manages the lock. Users and visitors get
            // keys from an administrator instead.
            privilege: Privilege::Administrator,
            validity: Validity::ALWAYS,
            key: *key,
            received: counter,
            sent_reserved: 0,
            visitor_codes: false,
        };
        let pairing = Pairing::fresh(record);
        let record = pairing.record.clone();
        self.pairings.push(pairing).map_err(|_| FrameError::Full)?;
        self.pairing_open = false;
        let mut out = Outputs::new();
        push(&mut out, Output::Persist(ProtoChange::Pairing(record)));
        let welcome = Response::Welcome {
            pairing: id,
            privilege: Privilege::Administrator,
            lock_id: self.identity.lock_id,
            identity_code: self.identity_code(),
        };
        self.respond(id, &welcome, &mut out)?;
        push(&mut out, Output::Changed(AppChange::Paired { pairing: id }));
        Ok(out)
    }

    /// Checks an authenticated request's validity, privilege, rate limit and
    /// challenge, in that order and before anything is written (S-PR-6);
    /// returns the lock command to run, or answers it here. A refusal
    /// leaves `out` empty. The privilege check per command (S-PR-4): a
    /// visitor's key opens and locks only, within its window on the lock's
    /// clock (S-VC-4), and a bounded key is refused while the lock has no
    /// trusted time (S-VC-2).
    #[allow(clippy::too_many_arguments)]
    fn dispatch<R: Entropy>(
        &mut self,
        now: Instant,
        clock: Option<WallClock>,
        link: Link,
        record: &PairingRecord,
        request: Request,
        rng: &mut R,
        out: &mut Outputs,
    ) -> Result<Option<AppRequest>, ProtoRefusal> {
        let id = record.id;
        let privilege = record.privilege;
        if !record.validity.admits_at(clock) {
            // S-VC-4: expires on the lock's clock; no clock, no bounded key.
            return Err(ProtoRefusal::OutsideValidity);
        }
        let needed = match request {
            Request::Challenge => Privilege::Visitor,
            Request::ConfirmPairing => return Err(ProtoRefusal::Unexpected),
            // S-VC-4: a visitor key authenticates opening and locking only.
            Request::Command {
                command: AppCommand::Unlock | AppCommand::Lock,
                ..
            } => Privilege::Visitor,
            Request::Command { .. } => Privilege::User,
            Request::ListPairings { .. }
            | Request::RevokePairing { .. }
            | Request::IssueKey { .. }
            | Request::VisitorSecret { .. }
            | Request::ListPeople { .. }
            | Request::ReadLog { .. }
            // S-UP-4: only an administrator updates the firmware.
            | Request::Update { .. } => Privilege::Administrator,
        };
        if privilege < needed {
            return Err(ProtoRefusal::NotPermitted);
        }
        let unchallenged = matches!(
            request,
            Request::Challenge
                | Request::Command {
                    command: AppCommand::Status,
                    ..
                }
        );
        if unchallenged {
            // S-PR-5: this pairing's own budget, never another's. Status is
            // in it too: the one other request answered without a
            // challenge, so without it a key could make the lock answer
            // (and reserve counters) without limit (S-PR-6).
            let allowed = self
                .pairing_mut(id)
                .is_some_and(|p| p.challenge_limit.allow(now, CHALLENGES_PER_MINUTE));
            if !allowed {
                return Err(ProtoRefusal::RateLimited);
            }
        }
        if let Request::Challenge = request {
            let (challenge, valid_ms) = self
                .issue_challenge(now, id, rng)
                .map_err(|_| ProtoRefusal::RateLimited)?;
            self.respond(
                id,
                &Response::Challenge {
                    challenge,
                    valid_ms,
                },
                out,
            )
            .map_err(|_| ProtoRefusal::Unexpected)?;
            return Ok(None);
        }
        if !unchallenged {
            // S-PR-3: one-shot, this pairing's, unexpired.
            let outstanding = self
                .challenges
                .iter()
                .position(|c| c.pairing == id)
                .map(|i| self.challenges.swap_remove(i));
            let fresh = match (outstanding, request.challenge()) {
                (Some(o), Some(given)) => bool::from(o.challenge.ct_eq(&given)) && now < o.expires,
                _ => false,
            };
            if !fresh {
                return Err(ProtoRefusal::NoFreshChallenge);
            }
        }
        match request {
            Request::Command { command, .. } => {
                // Status reads; any other command may change the lock.
                if !unchallenged {
                    self.acts(now, id, out)?;
                }
                Ok(Some(AppRequest {
                    pairing: id,
                    privilege,
                    link,
                    command,
                }))
            }
            Request::ListPairings { .. } => {
                let list = self.pairings().collect();
                self.respond(id, &Response::Pairings(list), out)
                    .map_err(|_| ProtoRefusal::Unexpected)?;
                Ok(None)
            }
            Request::RevokePairing { pairing, .. } => {
                let Some(revoked) = self.pairing(pairing) else {
                    return Err(ProtoRefusal::NoSuchPairing);
                };
                let issuer = revoked.record.visitor_codes;
                self.acts(now, id, out)?;
                // Sealed before the keys go (a phone revoking itself still
                // hears back), sent after the revocation is on flash: a
                // phone told "done" never finds its key working again.
                let mut answer = Outputs::new();
                self.respond(id, &Response::Done, &mut answer)
                    .map_err(|_| ProtoRefusal::Unexpected)?;
                let (persists, sends): (Outputs, Outputs) = answer
                    .into_iter()
                    .partition(|o| matches!(o, Output::Persist(_)));
                for o in persists {
                    push(out, o);
                }
                if let Some(change) = self.revoke(pairing) {
                    push(out, Output::Persist(change));
                    if issuer {
                        // S-VC-5: its codes stop opening.
                        push(out, Output::VisitorCodes);
                    }
                }
                for o in sends {
                    push(out, o);
                }
                push(
                    out,
                    Output::Changed(AppChange::Unpaired { pairing, by: id }),
                );
                Ok(None)
            }
            Request::ListPeople { after, .. } => {
                push(
                    out,
                    Output::Query {
                        from: id,
                        query: Query::People { after },
                    },
                );
                Ok(None)
            }
            Request::ReadLog { before, .. } => {
                push(
                    out,
                    Output::Query {
                        from: id,
                        query: Query::Log { before },
                    },
                );
                Ok(None)
            }
            Request::Update { step, .. } => {
                // Starting one (an erase of the update slot) and finishing
                // one (a mark for boot) spend the pairing's write budget
                // (S-PR-6); chunks and status are held to one a challenge.
                if matches!(step, UpdateStep::Begin { .. } | UpdateStep::Finish) {
                    self.acts(now, id, out)?;
                }
                push(out, Output::Update { from: id, step });
                Ok(None)
            }
            Request::IssueKey {
                privilege: issued,
                validity,
                ..
            } => {
                let bounded = validity.until.is_some();
                let allowed = match issued {
                    Privilege::Visitor => bounded,
                    Privilege::User => true,
                    Privilege::Administrator => false,
                };
                if !allowed {
                    return Err(ProtoRefusal::BadKey);
                }
                let new_id = self.free_id().ok_or(ProtoRefusal::Full)?;
                let key: [u8; 32] = random(rng).map_err(|_| ProtoRefusal::Full)?;
                self.acts(now, id, out)?;
                let issued_key = Pairing::fresh(PairingRecord {
                    id: new_id,
                    privilege: issued,
                    validity,
                    key,
                    received: 0,
                    sent_reserved: 0,
                    visitor_codes: false,
                });
                let record = issued_key.record.clone();
                self.pairings
                    .push(issued_key)
                    .map_err(|_| ProtoRefusal::Full)?;
                push(out, Output::Persist(ProtoChange::Pairing(record)));
                self.respond(
                    id,
                    &Response::KeyIssued {
                        pairing: new_id,
                        key,
                    },
                    out,
                )
                .map_err(|_| ProtoRefusal::Unexpected)?;
                push(
                    out,
                    Output::Changed(AppChange::KeyIssued {
                        pairing: new_id,
                        privilege: issued,
                        by: id,
                        until: validity.until,
                    }),
                );
                Ok(None)
            }
            Request::VisitorSecret { .. } => {
                // S-VC-5: the pairing's own secret, and the lock accepts
                // its codes from now on: on flash before the secret leaves.
                // Asking again writes nothing.
                if !record.visitor_codes {
                    if self.visitor_issuers() >= MAX_ISSUERS {
                        return Err(ProtoRefusal::IssuersFull);
                    }
                    // What `acts` does, but the key record changes too: both
                    // records are written (S-ST-6), within the pairing's
                    // write budget (S-PR-6).
                    let p = self.pairing_mut(id).ok_or(ProtoRefusal::NoSuchPairing)?;
                    if !p.write_budget.spend(now) {
                        return Err(ProtoRefusal::RateLimited);
                    }
                    p.record.received = p.received;
                    p.record.visitor_codes = true;
                    push(out, Output::Persist(ProtoChange::Pairing(p.record.clone())));
                    push(out, Output::VisitorCodes);
                }
                let response = Response::VisitorSecret {
                    lock_id: self.identity.lock_id,
                    secret: self.issuer_secret(record),
                };
                self.respond(id, &response, out)
                    .map_err(|_| ProtoRefusal::Unexpected)?;
                Ok(None)
            }
            Request::Challenge | Request::ConfirmPairing => Err(ProtoRefusal::Unexpected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u16, privilege: Privilege, validity: Validity) -> PairingRecord {
        PairingRecord {
            id,
            privilege,
            validity,
            key: [id.to_le_bytes()[0]; 32],
            received: 5,
            sent_reserved: 64,
            visitor_codes: false,
        }
    }

    fn identity() -> Identity {
        Identity {
            lock_id: [1; 8],
            secret: [2; 32],
            visitor_secret: [3; 32],
        }
    }

    #[test]
    fn s_st_3_restore_refuses_what_the_protocol_never_stores() {
        let mut snapshot = ProtoSnapshot::default();
        assert_eq!(
            Protocol::restore(&snapshot).err(),
            Some(RestoreError::NoIdentity)
        );
        snapshot.identity = Some(identity());
        snapshot.apply(&ProtoChange::Pairing(record(
            1,
            Privilege::Administrator,
            Validity::ALWAYS,
        )));
        assert!(Protocol::restore(&snapshot).is_ok());
        let mut twice = snapshot.clone();
        twice
            .pairings
            .push(record(1, Privilege::User, Validity::ALWAYS).key_record())
            .ok();
        assert_eq!(
            Protocol::restore(&twice).err(),
            Some(RestoreError::PairingId)
        );
        let mut zero = snapshot.clone();
        zero.apply(&ProtoChange::Pairing(record(
            0,
            Privilege::User,
            Validity::ALWAYS,
        )));
        assert_eq!(
            Protocol::restore(&zero).err(),
            Some(RestoreError::PairingId)
        );
        let mut open_visitor = snapshot.clone();
        open_visitor.apply(&ProtoChange::Pairing(record(
            2,
            Privilege::Visitor,
            Validity::ALWAYS,
        )));
        assert_eq!(
            Protocol::restore(&open_visitor).err(),
            Some(RestoreError::UnboundedVisitor)
        );
        // S-VC-5: visitor codes from a user's pairing, or from more than
        // MAX_ISSUERS administrators' pairings.
        let mut user_issuer = snapshot.clone();
        let mut user = record(2, Privilege::User, Validity::ALWAYS);
        user.visitor_codes = true;
        user_issuer.apply(&ProtoChange::Pairing(user));
        assert_eq!(
            Protocol::restore(&user_issuer).err(),
            Some(RestoreError::VisitorIssuers)
        );
        let mut issuers = snapshot.clone();
        issuers.pairings.clear();
        issuers.counters.clear();
        for id in 1..=u16::try_from(MAX_ISSUERS).unwrap_or(0) {
            let mut admin = record(id, Privilege::Administrator, Validity::ALWAYS);
            admin.visitor_codes = true;
            issuers.apply(&ProtoChange::Pairing(admin));
        }
        let restored = Protocol::restore(&issuers).ok();
        let accepted = restored.map(|p| p.visitor_code_verifier().issuers().count());
        assert_eq!(accepted, Some(MAX_ISSUERS));
        let mut one_more = record(9, Privilege::Administrator, Validity::ALWAYS);
        one_more.visitor_codes = true;
        issuers.apply(&ProtoChange::Pairing(one_more));
        assert_eq!(
            Protocol::restore(&issuers).err(),
            Some(RestoreError::VisitorIssuers)
        );
    }

    #[test]
    fn the_snapshot_round_trips_through_postcard_and_restores_the_counters() {
        let mut snapshot = ProtoSnapshot {
            identity: Some(identity()),
            ..ProtoSnapshot::default()
        };
        snapshot.apply(&ProtoChange::Pairing(record(
            3,
            Privilege::User,
            Validity::ALWAYS,
        )));
        let mut buf = [0u8; 512];
        let bytes = postcard::to_slice(&snapshot, &mut buf)
            .map(|b| b.len())
            .unwrap_or(0);
        let back: ProtoSnapshot =
            postcard::from_bytes(buf.get(..bytes).unwrap_or(&[])).unwrap_or_default();
        assert_eq!(back, snapshot);
        let p = Protocol::restore(&back).ok();
        let next = p.as_ref().and_then(|p| p.pairing(3)).map(|p| p.next_sent);
        assert_eq!(next, Some(64), "the lock continues above its reservation");
    }

    #[test]
    fn rate_limit_counts_per_minute() {
        let mut r = RateLimit::new();
        let t = Instant::from_secs(10);
        assert!(r.allow(t, 2));
        assert!(r.allow(t, 2));
        assert!(!r.allow(t + Duration::from_secs(59), 2));
        assert!(r.allow(t + Duration::from_secs(60), 2));
    }
}
