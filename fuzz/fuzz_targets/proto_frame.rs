//! lock-proto's frame decoder with dispatch (S-PR-1…5, R-APP-7, S-HW-3):
//! `Protocol::handle_frame` over arbitrary bytes, and over frames built with
//! the crate's own phone side so that the fuzzer gets past the AEAD.
//!
//! The lock starts with three pairings (an administrator's, a user's whose
//! key is the crate docs' frame test vector key, and a visitor's with a
//! two-hour window); the phones holding their keys, and an impostor phone
//! with a wrong key, seal arbitrary requests with the next counter, the same
//! one again, older or huge ones; frames are mutated (a bit flipped,
//! truncated, extended), replayed from the history in any order, or are raw
//! bytes; the pairing window opens and closes around whole pairing exchanges
//! run by `PhonePairing`; time passes with and without a trusted wall clock;
//! the entropy source fails; power is cut (the protocol restored from what
//! it persisted) and the lock is reset. Every frame the lock sends is opened
//! by the phone it is for. After every step:
//!
//! - nothing panicked, and a call returns fewer than `OUTPUTS_CAPACITY`
//!   outputs (a full list may have dropped one: `push` ignores overflow);
//! - an `Output::Request` (and any other effect of a sealed request) comes
//!   only from a frame a phone sealed byte for byte, with the key of a pairing
//!   the lock holds, with a counter above every counter accepted from that
//!   pairing before (so replays and reorders are refused, also across power
//!   cycles); with that pairing's privilege, the command the phone sealed, a
//!   visitor only opening or locking, within the pairing's validity on the
//!   lock's clock, and, except for Status, the challenge the lock last issued
//!   to that pairing, unused and under 30 s old;
//! - a fresh, well-formed frame from a pairing the lock holds is answered;
//! - pairing messages are taken only while the window is open; a pairing
//!   completes only from the phone that ran the exchange, and both sides
//!   show the same code;
//! - every frame the lock sends opens on the phone it is for (no counter of
//!   the lock repeats, also across power cycles);
//! - what the protocol persisted is what it holds (`Output::Persist`
//!   replayed gives `Protocol::snapshot`; an authentic frame with a malformed
//!   body may move the counter in RAM only), and restores after a cut.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use lock_core::{
    AlarmKind, AppCommand, Instant, Link, PersonNumber, Privilege, Setting, Timestamp, Validity,
};
use lock_proto::crypto::{self, Direction, FrameKeys};
use lock_proto::message::{Challenge, Query};
use lock_proto::{
    ComparedPairing, FrameBuf, FrameError, FrameKind, FromLock, Identity, OUTPUTS_CAPACITY, Output,
    PairingRecord, Phone, PhonePairing, ProtoChange, ProtoRefusal, ProtoSnapshot, Protocol,
    Request, Response,
};

const WALL: u64 = 1_800_000_000;
const CHALLENGE_MS: u64 = 30_000;

/// A deterministic entropy source that fails when told to.
struct Rng {
    state: u64,
    fail: bool,
}

impl lock_hal::ErrorType for Rng {
    type Error = lock_hal::ErrorKind;
}

impl lock_hal::Entropy for Rng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), lock_hal::ErrorKind> {
        if self.fail {
            return Err(lock_hal::ErrorKind::Other);
        }
        for b in buf {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = self.state.to_le_bytes()[0];
        }
        Ok(())
    }
}

/// A phone the harness drives.
struct Handset {
    id: u16,
    /// The pairing key, once known (a pairing-made phone learns it from the
    /// lock's record of the pairing it completed).
    key: Option<[u8; 32]>,
    phone: Phone,
    /// The counter it sealed with last.
    sent: u64,
    /// The challenge it was given last, and when.
    challenge: Option<(Challenge, u64)>,
    /// The one before (a stale challenge to try).
    stale: Option<Challenge>,
}

/// A frame a phone sealed, as it left the phone.
#[derive(Clone)]
struct Sealed {
    handset: usize,
    counter: u64,
    /// The request, if the body is one (a raw sealed body may not be).
    request: Option<Request>,
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

fn record(id: u16, privilege: Privilege, validity: Validity, key: [u8; 32]) -> PairingRecord {
    PairingRecord {
        id,
        privilege,
        validity,
        key,
        received: 0,
        sent_reserved: 0,
    }
}

fn visitor_validity() -> Validity {
    Validity {
        from: Some(Timestamp(WALL)),
        until: Some(Timestamp(WALL + 2 * 3600)),
    }
}

/// The crate docs' frame test vector key: `00 01 … 1f`.
fn vector_key() -> [u8; 32] {
    core::array::from_fn(|i| i as u8)
}

fn fixture() -> ProtoSnapshot {
    let mut s = ProtoSnapshot {
        identity: Some(Identity {
            lock_id: [1, 2, 3, 4, 5, 6, 7, 8],
            secret: [0x11; 32],
            visitor_secret: vector_key(),
        }),
        ..ProtoSnapshot::default()
    };
    for r in [
        record(1, Privilege::Administrator, Validity::ALWAYS, [0xA1; 32]),
        record(3, Privilege::User, Validity::ALWAYS, vector_key()),
        record(5, Privilege::Visitor, visitor_validity(), [0xB5; 32]),
    ] {
        let _ = s.pairings.push(r);
    }
    s
}

fn command(a: u8, b: u8) -> AppCommand {
    let person = PersonNumber::new(b % 5 + 1).unwrap_or(PersonNumber::FIRST);
    match a % 10 {
        0 => AppCommand::Status,
        1 | 2 => AppCommand::Unlock,
        3 => AppCommand::Lock,
        4 => AppCommand::LiftLockout,
        5 => AppCommand::Configure(Setting::RemoteUnlock(b & 1 == 1)),
        6 => AppCommand::DeletePerson(person),
        7 => AppCommand::SetClock(Timestamp(WALL + u64::from(b) * 60)),
        8 => AppCommand::Acknowledge(AlarmKind::ALL[usize::from(b) % AlarmKind::ALL.len()]),
        _ => AppCommand::SetValidity {
            person,
            validity: visitor_validity(),
        },
    }
}

fn encode(value: &AppCommand) -> Vec<u8> {
    postcard::to_allocvec(value).expect("encodes")
}

struct Harness {
    protocol: Protocol,
    rng: Rng,
    phone_rng: Rng,
    now: u64,
    trusted_clock: bool,
    window: bool,
    /// What the protocol persisted, replayed.
    persisted: ProtoSnapshot,
    /// Pairings whose counter may be ahead in RAM (an authentic frame with a
    /// malformed body moved it without a Persist).
    ram_ahead: Vec<u16>,
    handsets: Vec<Handset>,
    /// Frames phones sealed, by their bytes.
    sealed: BTreeMap<Vec<u8>, Sealed>,
    history: Vec<Vec<u8>>,
    /// The highest counter the lock accepted, per (pairing, key).
    accepted: BTreeMap<(u16, [u8; 32]), u64>,
    pairing: Option<PhonePairing>,
    offer: Option<FrameBuf>,
    reveal: Option<FrameBuf>,
    spoken: Option<u32>,
    /// The handset a pairing exchange made, until the lock confirms it.
    confirming: Option<usize>,
    /// The exchange's handset opened the lock's welcome.
    welcomed: Option<usize>,
    /// Well-formed pairing messages the phone side built.
    plain: Vec<Vec<u8>>,
}

impl Harness {
    fn new() -> Harness {
        let persisted = fixture();
        let protocol = Protocol::restore(&persisted).expect("the fixture restores");
        let handsets = vec![
            handset(1, [0xA1; 32]),
            handset(3, vector_key()),
            handset(5, [0xB5; 32]),
            // An impostor: pairing 1's id, another key.
            handset(1, [0xEE; 32]),
        ];
        Harness {
            protocol,
            rng: Rng {
                state: 0x9e37_79b9_7f4a_7c15,
                fail: false,
            },
            phone_rng: Rng {
                state: 0x0123_4567_89ab_cdef,
                fail: false,
            },
            now: 1_000,
            trusted_clock: true,
            window: false,
            persisted,
            ram_ahead: Vec::new(),
            handsets,
            sealed: BTreeMap::new(),
            history: Vec::new(),
            accepted: BTreeMap::new(),
            pairing: None,
            offer: None,
            reveal: None,
            spoken: None,
            confirming: None,
            welcomed: None,
            plain: Vec::new(),
        }
    }

    /// The crate docs' frame test vector: pairing 3's phone, counter 1,
    /// Command(Status) without a challenge. The harness's pairing-3 phone
    /// seals the same bytes for the same request and counter.
    fn register_vector(&mut self) {
        let frame = "0110030001000000000000000300939e22ff3766d4e4c6f481faae533a05126f82";
        let bytes: Vec<u8> = (0..frame.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&frame[i..i + 2], 16).expect("hex"))
            .collect();
        let request = Request::Command {
            command: AppCommand::Status,
            challenge: None,
        };
        let mut phone = Phone::with_key(3, vector_key());
        let ours = phone.request_with_counter(&request, 1).expect("seals");
        assert_eq!(
            ours.to_vec(),
            bytes,
            "the phone side no longer seals the docs' test vector"
        );
        self.sealed.insert(
            bytes.clone(),
            Sealed {
                handset: 1,
                counter: 1,
                request: Some(request),
            },
        );
        self.history.push(bytes);
    }

    fn wall(&self) -> Option<Timestamp> {
        self.trusted_clock
            .then_some(Timestamp(WALL + self.now / 1000))
    }

    fn live(&self, id: u16) -> Option<&PairingRecord> {
        self.persisted.pairings.iter().find(|r| r.id == id)
    }

    /// Seals `request` from handset `h` with `counter`.
    fn seal(&mut self, h: usize, counter: u64, request: Request) -> Vec<u8> {
        let frame = self.handsets[h]
            .phone
            .request_with_counter(&request, counter)
            .expect("a request seals");
        self.remember(h, counter, frame, Some(request))
    }

    /// Seals any body bytes from handset `h` (one that knows its key) with
    /// `counter`; `request` is what they decode as, if anything.
    fn seal_body(
        &mut self,
        h: usize,
        counter: u64,
        body: &[u8],
        request: Option<Request>,
    ) -> Vec<u8> {
        let hs = &self.handsets[h];
        let Some(key) = hs.key else {
            return Vec::new();
        };
        let frame = crypto::seal(
            &FrameKeys::derive(&key),
            Direction::PhoneToLock,
            FrameKind::Request,
            hs.id,
            counter,
            body,
        )
        .expect("a body within MAX_BODY seals");
        self.remember(h, counter, frame, request)
    }

    fn remember(
        &mut self,
        h: usize,
        counter: u64,
        frame: FrameBuf,
        request: Option<Request>,
    ) -> Vec<u8> {
        let hs = &mut self.handsets[h];
        hs.sent = hs.sent.max(counter);
        let bytes = frame.to_vec();
        self.sealed.insert(
            bytes.clone(),
            Sealed {
                handset: h,
                counter,
                request,
            },
        );
        if self.history.len() < 64 {
            self.history.push(bytes.clone());
        }
        bytes
    }

    fn counter(&self, h: usize, mode: u8) -> u64 {
        let sent = self.handsets[h].sent;
        let k = u64::from(mode >> 2);
        match mode % 4 {
            0 => sent.saturating_add(1),
            1 => sent,
            2 => sent.saturating_sub(k),
            // Far ahead: the end of the counter space, or either side of
            // the largest step the lock accepts.
            _ if k % 2 == 0 => u64::MAX - k / 2,
            _ => sent.saturating_add(lock_proto::MAX_COUNTER_STEP + 1 - k / 2),
        }
    }

    fn request(&self, h: usize, b: &mut Bytes<'_>) -> Request {
        let (kind, a, c, d) = (b.byte(), b.byte(), b.byte(), b.byte());
        let hs = &self.handsets[h];
        let challenge: Option<Challenge> = match d % 4 {
            0 => hs.challenge.map(|(c, _)| c),
            1 => None,
            2 => Some([0; 16]),
            _ => hs.stale,
        };
        let given = challenge.unwrap_or([0; 16]);
        match kind % 10 {
            0 => Request::Challenge,
            1 => Request::ConfirmPairing,
            2 | 3 => Request::Command {
                command: command(a, c),
                challenge,
            },
            4 => Request::ListPairings { challenge: given },
            5 => Request::RevokePairing {
                pairing: u16::from(a % 8),
                challenge: given,
            },
            6 => Request::IssueKey {
                privilege: [
                    Privilege::Visitor,
                    Privilege::User,
                    Privilege::Administrator,
                ][usize::from(a % 3)],
                validity: if c & 1 == 0 {
                    visitor_validity()
                } else {
                    Validity::ALWAYS
                },
                challenge: given,
            },
            7 => Request::VisitorSecret { challenge: given },
            8 => Request::ListPeople {
                after: PersonNumber::new(a % 8),
                challenge: given,
            },
            _ => Request::ReadLog {
                before: (a & 1 == 1).then_some(u32::from(c)),
                challenge: given,
            },
        }
    }

    fn mutate(frame: &mut Vec<u8>, b: &mut Bytes<'_>) -> bool {
        let (m, at) = (b.byte(), usize::from(b.byte()));
        if frame.is_empty() {
            return false;
        }
        match m % 4 {
            0 => return false,
            1 => {
                let i = at % frame.len();
                frame[i] ^= 1 << (m >> 5);
            }
            2 => frame.truncate(at % frame.len()),
            _ => frame.push(m),
        }
        true
    }

    /// Hands `bytes` to the lock and checks everything that came of it.
    fn deliver(&mut self, bytes: &[u8], link: Link) {
        self.welcomed = None;
        let before = self.protocol.snapshot();
        let before_rec = |id: u16| before.pairings.iter().find(|r| r.id == id).cloned();
        let window = self.window;
        let wall = self.wall();
        let genuine = self.sealed.get(bytes).cloned();
        let result = self.protocol.handle_frame(
            Instant::from_millis(self.now),
            wall,
            link,
            bytes,
            &mut self.rng,
        );
        if trace() {
            eprintln!(
                "t={} window={} frame {:02x?}… → {result:?}",
                self.now,
                window,
                &bytes[..bytes.len().min(14)]
            );
        }
        let kind = bytes.get(1).copied();
        let header_id = u16::from_le_bytes([
            bytes.get(2).copied().unwrap_or(0),
            bytes.get(3).copied().unwrap_or(0),
        ]);
        let outputs = match result {
            Ok(outputs) => outputs,
            Err(e) => {
                if e == FrameError::Malformed && kind == Some(FrameKind::Request.byte()) {
                    // Authentic: the counter moved in RAM only.
                    self.ram_ahead.push(header_id);
                }
                self.check_refusal(e, bytes, genuine.as_ref(), &before);
                self.check_persisted();
                return;
            }
        };
        assert!(
            outputs.len() < OUTPUTS_CAPACITY,
            "{} outputs: a full list may have dropped one",
            outputs.len()
        );
        // Pairing messages only in pairing mode (S-PR-1).
        if matches!(kind, Some(0x01 | 0x03)) {
            assert!(window, "a pairing message was taken outside pairing mode");
        }
        // A sealed frame acted on must open under the key of the pairing its
        // header names, with a counter above every one accepted before.
        // (The fuzzer makes such frames itself at times: comparison tracing
        // shows it the tag the lock computes, which no one at the door sees.
        // Such a frame is as good as the phone's, and checked the same way.)
        let from = if kind == Some(FrameKind::Request.byte()) {
            match before_rec(header_id) {
                Some(rec) => {
                    let (counter, request) = authentic(&rec.key, bytes).unwrap_or_else(|| {
                        panic!(
                            "a frame that does not open under pairing {}'s key was accepted: {bytes:02x?}",
                            rec.id
                        )
                    });
                    let last = self.accepted.get(&(rec.id, rec.key)).copied().unwrap_or(0);
                    assert!(
                        counter > last && counter > rec.received,
                        "counter {counter} accepted after {last} (replay or reorder, S-PR-3)"
                    );
                    self.accepted.insert((rec.id, rec.key), counter);
                    Some((request, rec))
                }
                None => {
                    // Completing a pairing, in pairing mode (S-PR-1).
                    assert!(window, "a pairing completed outside pairing mode");
                    None
                }
            }
        } else {
            None
        };

        let mut responses = Vec::new();
        let mut requested = None;
        let mut queries = Vec::new();
        for output in &outputs {
            match output {
                Output::Persist(change) => {
                    self.persisted.apply(change);
                    if let ProtoChange::Pairing(r) = change {
                        self.ram_ahead.retain(|&id| id != r.id);
                    }
                }
                Output::Send(frame) => {
                    if let Some(r) = self.open(frame, &before) {
                        responses.push(r);
                    }
                }
                Output::Request { from: id, request } => {
                    let (sealed, rec) = from.clone().expect("a request output from a sealed frame");
                    assert_eq!(*id, rec.id);
                    assert_eq!(
                        request.privilege, rec.privilege,
                        "S-PR-4: not the pairing's privilege"
                    );
                    assert_eq!(request.link, link);
                    if rec.privilege == Privilege::Visitor {
                        assert!(
                            matches!(request.command, AppCommand::Unlock | AppCommand::Lock),
                            "S-VC-4: a visitor key ran {:?}",
                            request.command
                        );
                    }
                    match &sealed {
                        Some(Request::Command { command, .. }) => {
                            assert_eq!(
                                encode(command),
                                encode(&request.command),
                                "not the command sealed"
                            );
                        }
                        other => panic!("{other:?} became a lock command"),
                    }
                    requested = Some(());
                }
                Output::Query { from: id, query } => {
                    let (sealed, rec) = from.clone().expect("a query output from a sealed frame");
                    assert_eq!(*id, rec.id);
                    assert_eq!(
                        rec.privilege,
                        Privilege::Administrator,
                        "S-PR-4: a query from a {:?}",
                        rec.privilege
                    );
                    match (&sealed, query) {
                        (Some(Request::ListPeople { after, .. }), Query::People { after: a }) => {
                            assert_eq!(after, a)
                        }
                        (Some(Request::ReadLog { before, .. }), Query::Log { before: b }) => {
                            assert_eq!(before, b)
                        }
                        (other, q) => panic!("{other:?} became the query {q:?}"),
                    }
                    queries.push((*id, *query));
                    requested = Some(());
                }
                Output::Paired(id) => {
                    let rec = self
                        .live(*id)
                        .cloned()
                        .expect("a completed pairing is persisted first");
                    assert_eq!(rec.privilege, Privilege::Administrator);
                    let (counter, request) = authentic(&rec.key, bytes)
                        .expect("a pairing completed by a frame not sealed under its key");
                    assert!(
                        matches!(request, Some(Request::ConfirmPairing)),
                        "{request:?} completed a pairing"
                    );
                    // The exchange's phone holds the key if it opened the welcome.
                    if let Some(h) = self.welcomed.take() {
                        self.handsets[h].key = Some(rec.key);
                        self.handsets[h].id = *id;
                    }
                    self.confirming = None;
                    self.accepted.insert((*id, rec.key), counter);
                    self.window = false;
                }
                Output::VerificationCode(code) => self.spoken = Some(*code),
            }
        }
        // The runtime answers a query with a page (empty here: the people
        // and the log are the lock's); the phone must open it.
        for (id, query) in queries {
            let answer = match query {
                Query::People { .. } => self.protocol.encode_people(id, &[], false),
                Query::Log { .. } => self.protocol.encode_log(id, &[], false),
            };
            let answer = answer.unwrap_or_else(|e| panic!("an empty page does not encode: {e:?}"));
            let now_held = self.protocol.snapshot();
            for o in &answer {
                match o {
                    Output::Persist(change) => self.persisted.apply(change),
                    Output::Send(frame) => {
                        self.open(frame, &now_held);
                    }
                    other => panic!("an answer to a query output {other:?}"),
                }
            }
        }
        // What the lock answered, and its challenge bookkeeping (S-PR-3).
        if let Some((request, rec)) = &from {
            let request = *request;
            let hs = self
                .handsets
                .iter()
                .position(|h| h.id == rec.id && h.key == Some(rec.key));
            let refused = responses.iter().find_map(|r| match r {
                Response::Refused(why) => Some(*why),
                _ => None,
            });
            assert!(
                requested.is_some() || !responses.is_empty() || request.is_none(),
                "{request:?} from pairing {} went unanswered",
                rec.id
            );
            if let Some(request) = request {
                let exempt = matches!(
                    request,
                    Request::Challenge
                        | Request::ConfirmPairing
                        | Request::Command {
                            command: AppCommand::Status,
                            ..
                        }
                );
                let acted = requested.is_some() || (refused.is_none() && !responses.is_empty());
                if let (false, true, Some(hs)) = (exempt, acted, hs) {
                    let (issued, at) = self.handsets[hs]
                        .challenge
                        .expect("acted on without a challenge (S-PR-3)");
                    assert_eq!(
                        request.challenge(),
                        Some(issued),
                        "acted on with another challenge"
                    );
                    assert!(
                        self.now < at + CHALLENGE_MS,
                        "acted on with a late challenge"
                    );
                }
                if !rec.validity.admits(wall) {
                    assert!(
                        requested.is_none(),
                        "a request outside the pairing's validity"
                    );
                }
                // A non-exempt request that got past the privilege and validity
                // checks used up the outstanding challenge, right or wrong.
                let checked = !matches!(
                    refused,
                    Some(ProtoRefusal::NotPermitted | ProtoRefusal::OutsideValidity)
                );
                if let (false, true, Some(hs)) = (exempt, checked, hs) {
                    let h = &mut self.handsets[hs];
                    h.stale = h.challenge.take().map(|(c, _)| c).or(h.stale);
                }
            }
        }
        self.check_persisted();
    }

    /// A refusal: legitimate only if the frame was not a fresh, well-formed
    /// request from a pairing the lock holds.
    fn check_refusal(
        &self,
        e: FrameError,
        bytes: &[u8],
        genuine: Option<&Sealed>,
        before: &ProtoSnapshot,
    ) {
        if !self.window && self.plain.iter().any(|p| p == bytes) {
            assert_eq!(
                e,
                FrameError::NotPairing,
                "S-PR-1: a pairing message outside pairing mode"
            );
        }
        let Some(g) = genuine else { return };
        let hs = &self.handsets[g.handset];
        let Some(rec) = before.pairings.iter().find(|r| r.id == hs.id) else {
            return;
        };
        if Some(rec.key) != hs.key {
            assert!(
                matches!(e, FrameError::BadTag | FrameError::RateLimited),
                "a frame under a wrong key refused as {e:?}"
            );
            return;
        }
        if g.counter > rec.received.saturating_add(lock_proto::MAX_COUNTER_STEP) {
            assert_eq!(e, FrameError::CounterJump, "a counter jumping too far");
            return;
        }
        if g.counter > rec.received && g.request.is_some() {
            panic!(
                "a fresh well-formed {:?} (counter {} above {}) from pairing {} refused: {e:?} ({} bytes)",
                g.request,
                g.counter,
                rec.received,
                rec.id,
                bytes.len()
            );
        }
    }

    /// Opens a frame the lock sent with the phone it is for.
    fn open(&mut self, frame: &FrameBuf, before: &ProtoSnapshot) -> Option<Response> {
        let kind = frame.get(1).copied();
        let id = u16::from_le_bytes([frame[2], frame[3]]);
        match kind {
            Some(0x02) => {
                self.offer = Some(frame.clone());
                return None;
            }
            Some(0x04) => {
                self.reveal = Some(frame.clone());
                return None;
            }
            _ => {}
        }
        // The key the lock sealed with: the pairing's as it was, or the one
        // a confirmation just completed.
        let key = before
            .pairings
            .iter()
            .find(|r| r.id == id)
            .or_else(|| self.live(id))
            .map(|r| r.key);
        let keyed = self
            .handsets
            .iter()
            .position(|h| h.id == id && h.key.is_some() && h.key == key);
        let now = self.now;
        let opened = match keyed {
            Some(h) => self.handsets[h].phone.open(frame).unwrap_or_else(|e| {
                panic!("pairing {id}'s phone cannot open the lock's frame: {e:?}")
            }),
            None => {
                // A phone completing a pairing has no key yet: the welcome is
                // its if it opens it (a pairing the fuzzer completed with
                // frames of its own is nobody's).
                let c = self.confirming.filter(|&c| self.handsets[c].id == id)?;
                let opened = self.handsets[c].phone.open(frame).ok()?;
                self.welcomed = Some(c);
                opened
            }
        };
        let h = keyed.or(self.welcomed)?;
        let hs = &mut self.handsets[h];
        match opened {
            FromLock::Response(r) => {
                match &r {
                    Response::Challenge { challenge, .. } => {
                        hs.stale = hs.challenge.map(|(c, _)| c).or(hs.stale);
                        hs.challenge = Some((*challenge, now));
                    }
                    Response::KeyIssued { pairing, key } => {
                        if !self
                            .handsets
                            .iter()
                            .any(|h| h.id == *pairing && h.key == Some(*key))
                            && self.handsets.len() < 24
                        {
                            self.handsets.push(handset(*pairing, *key));
                        }
                    }
                    _ => {}
                }
                Some(r)
            }
            FromLock::Notice(_) => None,
        }
    }

    /// `Output::Persist` replayed is what the protocol holds.
    fn check_persisted(&self) {
        let held = self.protocol.snapshot();
        assert_eq!(
            held.identity
                .as_ref()
                .map(|i| (i.lock_id, i.secret, i.visitor_secret)),
            self.persisted
                .identity
                .as_ref()
                .map(|i| (i.lock_id, i.secret, i.visitor_secret))
        );
        assert_eq!(
            held.pairings.len(),
            self.persisted.pairings.len(),
            "pairings not persisted"
        );
        for r in &held.pairings {
            let p = self.live(r.id).expect("a pairing held but not persisted");
            assert!(
                p.key == r.key
                    && p.privilege == r.privilege
                    && p.validity == r.validity
                    && p.sent_reserved == r.sent_reserved,
                "pairing {} persisted as {p:?}, held as {r:?}",
                r.id
            );
            if self.ram_ahead.contains(&r.id) {
                assert!(p.received <= r.received);
            } else {
                assert_eq!(
                    p.received, r.received,
                    "pairing {}'s counter not persisted",
                    r.id
                );
            }
        }
    }

    fn power_cycle(&mut self) {
        self.protocol = Protocol::restore(&self.persisted)
            .unwrap_or_else(|e| panic!("what the protocol persisted does not restore: {e:?}"));
        self.window = false;
        self.pairing = None;
        self.confirming = None;
        self.ram_ahead.clear();
        for h in &mut self.handsets {
            // Challenges live in RAM only.
            h.stale = h.challenge.take().map(|(c, _)| c).or(h.stale);
        }
        self.check_persisted();
    }

    fn factory_reset(&mut self) {
        if let Ok(outputs) = self.protocol.factory_reset(&mut self.rng) {
            for o in &outputs {
                match o {
                    Output::Persist(c) => self.persisted.apply(c),
                    other => panic!("a reset output {other:?}"),
                }
            }
            self.window = false;
            self.pairing = None;
            self.confirming = None;
            self.ram_ahead.clear();
        }
        self.check_persisted();
    }
}

/// The counter and the request of a frame sealed phone-to-lock under
/// pairing key `key`; `None` if its tag does not hold under that key.
fn authentic(key: &[u8; 32], bytes: &[u8]) -> Option<(u64, Option<Request>)> {
    let frame = lock_proto::Frame::new_checked(bytes).ok()?;
    let repr = lock_proto::FrameRepr::parse(&frame).ok()?;
    let mut plain = [0u8; lock_proto::wire::MAX_BODY];
    let n = crypto::open(
        &FrameKeys::derive(key),
        Direction::PhoneToLock,
        frame.header(),
        repr.counter,
        frame.body(),
        frame.tag(),
        &mut plain,
    )
    .ok()?;
    Some((repr.counter, lock_proto::message::decode(&plain[..n]).ok()))
}

/// `PROTO_FRAME_TRACE=1 cargo fuzz run proto_frame <input>` prints every
/// frame and what the lock made of it.
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("PROTO_FRAME_TRACE").is_some())
}

fn handset(id: u16, key: [u8; 32]) -> Handset {
    Handset {
        id,
        key: Some(key),
        phone: Phone::with_key(id, key),
        sent: 0,
        challenge: None,
        stale: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut h = Harness::new();
    h.register_vector();
    let mut b = Bytes(data);
    let mut steps = 0;
    while !b.0.is_empty() && steps < 64 {
        steps += 1;
        let op = b.byte();
        let link = if op & 0x80 == 0 {
            Link::Bluetooth
        } else {
            Link::Remote
        };
        match op % 12 {
            // Raw bytes.
            0 => {
                let n = usize::from(b.byte());
                let frame = b.take(n).to_vec();
                h.deliver(&frame, link);
            }
            // A request sealed by a phone, perhaps altered on the way.
            1 | 2 => {
                let who = usize::from(b.byte()) % h.handsets.len();
                let counter = h.counter(who, b.byte());
                let request = h.request(who, &mut b);
                let mut frame = h.seal(who, counter, request);
                Harness::mutate(&mut frame, &mut b);
                h.deliver(&frame, link);
            }
            // Any body bytes, sealed (authentic but perhaps malformed).
            3 => {
                let who = usize::from(b.byte()) % h.handsets.len();
                let counter = h.counter(who, b.byte());
                let n = usize::from(b.byte() % 64);
                let body = b.take(n).to_vec();
                // What the lock will read it as, if anything.
                let request = lock_proto::message::decode::<Request>(&body).ok();
                let frame = h.seal_body(who, counter, &body, request);
                h.deliver(&frame, link);
            }
            // A replay of an earlier frame, in any order.
            4 => {
                let i = usize::from(b.byte());
                if let Some(frame) = h.history.get(i % h.history.len().max(1)).cloned() {
                    h.deliver(&frame, link);
                }
            }
            // Time passes; the wall clock is trusted or not.
            5 => {
                let dt = u64::from(b.byte());
                h.now += dt * dt * 50;
                h.trusted_clock = b.byte() & 1 == 0;
            }
            // Pairing mode (R-MNU-7).
            6 => {
                let open = b.byte() & 1 == 1;
                h.protocol.set_pairing_window(open);
                h.window = open;
                if !open {
                    h.confirming = None;
                }
            }
            // A pairing exchange, step by step.
            7 => {
                if let Ok((pairing, hello)) = PhonePairing::start(&mut h.phone_rng) {
                    h.pairing = Some(pairing);
                    h.offer = None;
                    h.reveal = None;
                    h.spoken = None;
                    h.plain.push(hello.to_vec());
                    h.deliver(&hello, link);
                }
            }
            8 => {
                if let (Some(pairing), Some(offer)) = (h.pairing.as_mut(), h.offer.clone()) {
                    if let Ok(nonce) = pairing.on_offer(&offer) {
                        h.plain.push(nonce.to_vec());
                        h.deliver(&nonce, link);
                    }
                }
            }
            9 => {
                if let (Some(pairing), Some(reveal)) = (h.pairing.take(), h.reveal.clone()) {
                    let compared: Result<ComparedPairing, _> = pairing.on_reveal(&reveal);
                    if let Ok(compared) = compared {
                        assert_eq!(
                            Some(compared.code),
                            h.spoken,
                            "the phone and the lock show different codes"
                        );
                        if let Ok((phone, confirm)) = compared.confirm() {
                            let id = phone.pairing();
                            h.handsets.push(Handset {
                                id,
                                key: None,
                                phone,
                                sent: 1,
                                challenge: None,
                                stale: None,
                            });
                            let i = h.handsets.len() - 1;
                            h.confirming = Some(i);
                            let bytes = confirm.to_vec();
                            h.sealed.insert(
                                bytes.clone(),
                                Sealed {
                                    handset: i,
                                    counter: 1,
                                    request: Some(Request::ConfirmPairing),
                                },
                            );
                            h.history.push(bytes.clone());
                            h.deliver(&bytes, link);
                        }
                    }
                }
            }
            10 => {
                if b.byte() & 1 == 0 {
                    h.power_cycle();
                } else {
                    h.factory_reset();
                }
            }
            _ => h.rng.fail = b.byte() & 1 == 1,
        }
    }
});
