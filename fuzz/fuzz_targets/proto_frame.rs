//! lock-proto's frame decoder with dispatch (S-BF-1, S-PR-1…6, S-PR-8, R-APP-7,
//! S-HW-3): `Protocol::handle_frame` over arbitrary bytes, and over frames
//! built with the crate's own phone side so that the fuzzer gets past the
//! AEAD, with a `lock_core::Lock` fed what the runtime feeds it.
//!
//! The lock starts with three pairings (an administrator's, a user's whose
//! key is the crate docs' frame test vector key, and a visitor's with a
//! two-hour window); the phones holding their keys, and an impostor phone
//! with a wrong key, seal arbitrary requests with the next counter, the same
//! one again, older or huge ones; frames are mutated (a bit flipped,
//! truncated, extended), replayed from the history in any order, or are raw
//! bytes, on either link; the pairing window opens and closes around whole
//! pairing exchanges run by `PhonePairing`, confirmed by the phone and by ✓
//! at the lock in either order; someone types wrong codes at the keypad;
//! time passes with and without a trusted wall clock; the entropy source
//! fails; power is cut (the protocol restored from what it persisted) and
//! the lock is reset. Requests, changes and pairing codes go to the lock,
//! its replies back through `encode_reply`; every frame the lock sends is
//! opened by the phone it is for. After every step:
//!
//! - nothing panicked, and a call returns fewer than `OUTPUTS_CAPACITY`
//!   outputs (a full list may have dropped one: `push` ignores overflow);
//! - (S-BF-1) a sealed frame for no pairing the lock holds or is pairing,
//!   or not sealed under its pairing's key, is refused (an `Err`, so no
//!   output), and no dropped or unauthenticated frame ever changes the
//!   lock's failure count (`Lock::failures_since_success`);
//! - an `Output::Request` (and any other effect of a sealed request) comes
//!   only from a frame sealed with the key of a pairing the lock holds, with
//!   a counter above every counter it accepted from that pairing in RAM
//!   (after a cut: above the one it persisted); with that pairing's
//!   privilege, link and pairing number, the command the phone sealed, a
//!   visitor only opening or locking, within the pairing's validity on the
//!   lock's clock, and, except for a challenge or Status, the challenge the
//!   lock last issued to that pairing, unused and under 30 s old; and no
//!   frame acts twice, also across power cycles (R-APP-7);
//! - (S-PR-8) no frame opens under a pairing other than its sender's: a
//!   request opens under at most one pairing the lock holds, a phone's
//!   under its own key only, and the lock is found to have taken it as
//!   that pairing's (the harness finds the sender by trying every key: the
//!   header names none in clear); a frame the lock sends opens for exactly
//!   one pairing; a sealed frame taken as no held pairing's is the pairing
//!   exchange's own confirmation;
//! - (S-PR-5) a challenge or Status request is granted exactly when the
//!   pairing's own budget (modelled here: 10 a minute) allows it, so one
//!   pairing's challenges never make another's refused as `RateLimited`;
//! - (S-PR-6) a request the protocol refuses persists nothing;
//! - a fresh, well-formed frame from a pairing the lock holds is answered,
//!   or refused without an answer (`FrameError::Refused`, `RateLimited`:
//!   an answer would have written);
//! - pairing messages are taken only while the window is open; a pairing is
//!   stored only after the exchange's phone confirmed with a frame sealed
//!   under the new key and ✓ was pressed at the lock, and both sides show
//!   the same code (S-PR-1);
//! - revocations and issued keys come from administrators and are on flash
//!   before they are announced (`Output::Changed`);
//! - every frame the lock sends opens on the phone it is for (no counter of
//!   the lock repeats, also across power cycles);
//! - what the protocol persisted is what it holds (`Output::Persist`
//!   replayed gives `Protocol::snapshot`, the records as on flash; a phone's
//!   counter may be ahead in RAM only), and restores after a cut;
//! - (S-VC-5) the lock's visitor-code verifier, refreshed at each
//!   `Output::VisitorCodes` as the runtime does, accepts exactly the
//!   administrators' pairings the protocol holds as making codes, at most
//!   `MAX_ISSUERS`, each persisted as such before the announcement; a
//!   visitor-code secret goes only to such a pairing, already on flash, and
//!   is that pairing's own (`issuer_secret` of its key).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use libfuzzer_sys::fuzz_target;
use lock_core::{
    Action, AlarmKind, AppChange, AppCommand, Config, Event, Instant, Key, Link, Lock,
    PersonNumber, Privilege, Setting, Timestamp, Validity,
};
use lock_proto::crypto::{self, Direction, FrameKeys};
use lock_proto::message::{Challenge, Query};
use lock_proto::{
    ComparedPairing, FrameBuf, FrameError, FrameKind, FromLock, Identity, OUTPUTS_CAPACITY, Output,
    PairingRecord, Phone, PhonePairing, ProtoChange, ProtoRefusal, ProtoSnapshot, Protocol,
    Request, Response, UpdateState, UpdateStep, VisitorCodeVerifier,
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
    /// The challenge an update answer carried, taken up once the frame
    /// that earned it is checked.
    next: Option<(Challenge, u64)>,
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
        visitor_codes: false,
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
        // A key record and its counter record, as the protocol writes them.
        s.apply(&ProtoChange::Pairing(r));
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

/// The lock's per-pairing budget as the harness models it: the same fixed
/// one-minute window as the protocol's, so a grant or refusal of a
/// challenge can be predicted from the pairing's own history alone (S-PR-5).
#[derive(Clone, Copy, Default)]
struct Budget {
    window_start: Option<u64>,
    count: u8,
}

impl Budget {
    fn allow(&mut self, now: u64, limit: u8) -> bool {
        if self
            .window_start
            .is_none_or(|s| now.saturating_sub(s) >= 60_000)
        {
            self.window_start = Some(now);
            self.count = 0;
        }
        if self.count >= limit {
            return false;
        }
        self.count += 1;
        true
    }
}

/// What the lock made of one call, for the checks after it.
#[derive(Default)]
struct Seen {
    responses: Vec<Response>,
    /// An `Output::Request`, with its command.
    requested: Option<AppCommand>,
    queried: bool,
    /// An `Output::Update`.
    updated: bool,
    changes: Vec<AppChange>,
    persists: usize,
}

struct Harness {
    protocol: Protocol,
    /// The lock itself, fed what the runtime feeds it: requests, changes,
    /// pairing codes, and now and then a wrong code at the keypad, so its
    /// failure count is not always zero (S-BF-1).
    lock: Lock<VisitorCodeVerifier>,
    rng: Rng,
    phone_rng: Rng,
    now: u64,
    trusted_clock: bool,
    window: bool,
    /// What the protocol persisted, replayed.
    persisted: ProtoSnapshot,
    /// The link the frame being delivered came over.
    link: Link,
    handsets: Vec<Handset>,
    /// Frames phones sealed, by their bytes.
    sealed: BTreeMap<Vec<u8>, Sealed>,
    history: Vec<Vec<u8>>,
    /// The highest counter the lock accepted in RAM, per (pairing, key):
    /// after a power cycle, what it persisted.
    accepted: BTreeMap<(u16, [u8; 32]), u64>,
    /// Each pairing's challenge budget, as modelled (S-PR-5).
    budgets: BTreeMap<u16, Budget>,
    /// Frames that acted (spent a challenge and did something): none may
    /// act again, also across power cycles (R-APP-7, S-PR-3).
    acted: BTreeSet<Vec<u8>>,
    pairing: Option<PhonePairing>,
    offer: Option<FrameBuf>,
    reveal: Option<FrameBuf>,
    spoken: Option<u32>,
    /// The id of the exchange in progress (from the lock's offer).
    pending_id: Option<u16>,
    /// ✓ was pressed at the lock for the exchange in progress (S-PR-1).
    checked_at_lock: bool,
    /// Sealed frames delivered for the exchange in progress.
    confirmations: Vec<Vec<u8>>,
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
        let config = Config {
            serial: 1,
            firmware: (0, 1, 0),
            verification_code: protocol.identity_code(),
            ..Config::default()
        };
        let lock = Lock::with_visitor_codes(config, protocol.visitor_code_verifier());
        let mut h = Harness {
            protocol,
            lock,
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
            link: Link::Bluetooth,
            handsets,
            sealed: BTreeMap::new(),
            history: Vec::new(),
            accepted: BTreeMap::new(),
            budgets: BTreeMap::new(),
            acted: BTreeSet::new(),
            pairing: None,
            offer: None,
            reveal: None,
            spoken: None,
            pending_id: None,
            checked_at_lock: false,
            confirmations: Vec::new(),
            confirming: None,
            welcomed: None,
            plain: Vec::new(),
        };
        // First start at the keypad: door direction, administrator 001.
        h.lock_event(Event::Boot { set_held: false }, None);
        for key in "k1k135790k135790kb".chars() {
            let key = match key {
                'k' => Key::Ok,
                'b' => Key::Back,
                d => Key::Digit(d.to_digit(10).map_or(0, |d| d as u8)),
            };
            h.lock_event(Event::Key(key), None);
        }
        h
    }

    /// The crate docs' frame test vector: pairing 3's phone, counter 1,
    /// Command(Status) without a challenge. The harness's pairing-3 phone
    /// seals the same bytes for the same request and counter.
    fn register_vector(&mut self) {
        let frame = "02109b4db250ff153583a3726000929e206690afb3ad4255a8cbeac9c651e84e3f21f2a0ef928a7044e0482b9ac2cf262f89ef4eefba75ccfe428598048d2d8d1064582d5348adcd11cfc607de9620c1c82a9fd89cbfa1a54fd58858d7102a98ffd68cf64debd68e0371b7a026b27f3f047d309317174576666b758a2a74";
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

    /// The phone counter persisted for pairing `id`: in its counter record
    /// (S-ST-6), not its key record.
    fn persisted_received(&self, id: u16) -> u64 {
        self.persisted
            .counters
            .iter()
            .find(|c| c.id == id)
            .map_or(0, |c| c.received)
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
        match kind % 11 {
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
            9 => Request::ReadLog {
                before: (a & 1 == 1).then_some(u32::from(c)),
                challenge: given,
            },
            _ => Request::Update {
                step: match a % 5 {
                    0 => UpdateStep::Begin {
                        header: heapless::Vec::from_slice(&[c; 8]).unwrap_or_default(),
                    },
                    1 => UpdateStep::Status,
                    2 => UpdateStep::Chunk {
                        offset: u32::from(c) * 64,
                        bytes: heapless::Vec::from_slice(&[d; 64]).unwrap_or_default(),
                    },
                    3 => UpdateStep::Finish,
                    _ => UpdateStep::Cancel,
                },
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

    /// One event to the lock, and what the runtime does with its actions:
    /// replies are sealed for the pairing the request came `from`, pairing
    /// mode goes to the protocol, ✓ at the lock confirms a pairing.
    fn lock_event(&mut self, event: Event, from: Option<u16>) -> Seen {
        let now = Instant::from_millis(self.now);
        let actions: Vec<Action> = self.lock.handle(now, event).into_iter().collect();
        let mut seen = Seen::default();
        for action in actions {
            match action {
                Action::Reply(reply) => {
                    let Some(from) = from else { continue };
                    let before = self.protocol.snapshot();
                    // A pairing that revoked itself has no keys left.
                    if let Ok(outputs) = self.protocol.encode_reply(from, reply) {
                        self.carry_out(outputs, None, &before, &mut seen);
                    }
                }
                Action::Pairing(open) => {
                    self.protocol.set_pairing_window(open);
                    self.window = open;
                    if !open {
                        self.exchange_over();
                    }
                }
                Action::ConfirmPairing => self.check_at_lock(),
                _ => {}
            }
        }
        seen
    }

    /// The exchange in progress is gone (closed, timed out, completed).
    fn exchange_over(&mut self) {
        self.confirming = None;
        self.pending_id = None;
        self.checked_at_lock = false;
        self.confirmations.clear();
    }

    /// ✓ at the lock (S-PR-1), as the runtime does on `Action::ConfirmPairing`.
    fn check_at_lock(&mut self) {
        self.welcomed = None;
        let before = self.protocol.snapshot();
        match self
            .protocol
            .confirm_at_lock(Instant::from_millis(self.now))
        {
            Ok(outputs) => {
                assert!(self.window, "S-PR-1: ✓ counted outside pairing mode");
                self.checked_at_lock = true;
                let mut seen = Seen::default();
                self.carry_out(outputs, None, &before, &mut seen);
            }
            Err(e) => assert_eq!(e, FrameError::NotPairing),
        }
        self.check_persisted();
    }

    /// A wrong passcode at the keypad: the lock's failure count moves, which
    /// no frame may do (S-BF-1).
    fn wrong_code(&mut self) {
        self.lock_event(Event::Touch, None);
        for d in [1, 3, 5, 7, 9, 2] {
            self.lock_event(Event::Key(Key::Digit(d)), None);
        }
        self.lock_event(Event::Key(Key::Ok), None);
    }

    /// Carries out the protocol's outputs as the runtime does and checks
    /// each. `frame` is what they came of, if a frame; `before` the
    /// pairings as they were.
    fn carry_out(
        &mut self,
        outputs: lock_proto::Outputs,
        frame: Option<(&[u8], Option<(Option<Request>, PairingRecord)>)>,
        before: &ProtoSnapshot,
        seen: &mut Seen,
    ) {
        assert!(
            outputs.len() < OUTPUTS_CAPACITY,
            "{} outputs: a full list may have dropped one",
            outputs.len()
        );
        let bytes = frame.as_ref().map(|(bytes, _)| *bytes);
        let from = frame.and_then(|(_, from)| from);
        let mut queries = Vec::new();
        let mut updates = Vec::new();
        for output in outputs {
            match output {
                Output::Persist(change) => {
                    seen.persists += 1;
                    self.persisted.apply(&change);
                }
                Output::Send(frame) => {
                    if let Some(r) = self.open(&frame, before) {
                        seen.responses.push(r);
                    }
                }
                Output::Request { from: id, request } => {
                    let (sealed, rec) = from.clone().expect("a request output from a sealed frame");
                    assert_eq!(id, rec.id);
                    assert_eq!(
                        request.privilege, rec.privilege,
                        "S-PR-4: not the pairing's privilege"
                    );
                    assert_eq!(request.pairing, rec.id);
                    assert_eq!(request.link, self.link);
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
                    seen.requested = Some(request.command);
                    let more = self.lock_event(Event::App(request), Some(id));
                    seen.responses.extend(more.responses);
                    seen.persists += more.persists;
                }
                Output::Query { from: id, query } => {
                    let (sealed, rec) = from.clone().expect("a query output from a sealed frame");
                    assert_eq!(id, rec.id);
                    assert_eq!(
                        rec.privilege,
                        Privilege::Administrator,
                        "S-PR-4: a query from a {:?}",
                        rec.privilege
                    );
                    match (&sealed, query) {
                        (Some(Request::ListPeople { after, .. }), Query::People { after: a }) => {
                            assert_eq!(*after, a)
                        }
                        (Some(Request::ReadLog { before, .. }), Query::Log { before: b }) => {
                            assert_eq!(*before, b)
                        }
                        (other, q) => panic!("{other:?} became the query {q:?}"),
                    }
                    queries.push((id, query));
                    seen.queried = true;
                }
                Output::Update { from: id, step } => {
                    let (sealed, rec) = from.clone().expect("an update output from a sealed frame");
                    assert_eq!(id, rec.id);
                    assert_eq!(
                        rec.privilege,
                        Privilege::Administrator,
                        "S-UP-4: an update step from a {:?}",
                        rec.privilege
                    );
                    match &sealed {
                        Some(Request::Update { step: sealed, .. }) => {
                            assert_eq!(*sealed, step, "not the step sealed")
                        }
                        other => panic!("{other:?} became the update step {step:?}"),
                    }
                    updates.push(id);
                    seen.updated = true;
                }
                Output::Changed(change) => {
                    self.changed(change, bytes, from.as_ref());
                    seen.changes.push(change);
                    let more = self.lock_event(Event::AppChanged(change), None);
                    seen.persists += more.persists;
                }
                Output::VerificationCode(code) => {
                    self.spoken = Some(code);
                    self.lock_event(Event::PairingCode(code), None);
                }
                Output::VisitorCodes => {
                    // S-VC-5: announced after the change is on flash.
                    let issuers = self.protocol.visitor_code_verifier();
                    let mut held: Vec<u16> = issuers.issuers().collect();
                    let mut persisted: Vec<u16> = self
                        .persisted
                        .pairings
                        .iter()
                        .filter(|r| r.visitor_codes)
                        .map(|r| r.id)
                        .collect();
                    held.sort_unstable();
                    persisted.sort_unstable();
                    assert_eq!(
                        held, persisted,
                        "S-VC-5: issuers announced before persisted"
                    );
                    *self.lock.visitor_codes_mut() = issuers;
                }
            }
        }
        self.check_issuers();
        // The runtime answers an update step with where its receiver is
        // (here: idle) and a fresh challenge; the phone must open it.
        for id in updates {
            let Ok(answer) = self.protocol.encode_update(
                Instant::from_millis(self.now),
                id,
                UpdateState::Idle,
                &mut self.rng,
            ) else {
                assert!(self.rng.fail, "an update answer not encoded with entropy");
                continue;
            };
            let now_held = self.protocol.snapshot();
            for o in &answer {
                match o {
                    Output::Send(frame) => {
                        self.open(frame, &now_held);
                    }
                    other => panic!("an answer to an update output {other:?}"),
                }
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
                    Output::Persist(change) => {
                        seen.persists += 1;
                        self.persisted.apply(change);
                    }
                    Output::Send(frame) => {
                        self.open(frame, &now_held);
                    }
                    other => panic!("an answer to a query output {other:?}"),
                }
            }
        }
    }

    /// The protocol changed its records: check what it says against what
    /// it persisted.
    fn changed(
        &mut self,
        change: AppChange,
        bytes: Option<&[u8]>,
        from: Option<&(Option<Request>, PairingRecord)>,
    ) {
        match change {
            AppChange::Paired { pairing: id } => {
                let rec = self
                    .live(id)
                    .cloned()
                    .expect("a completed pairing is persisted first");
                assert_eq!(rec.privilege, Privilege::Administrator);
                assert!(
                    self.window,
                    "S-PR-1: a pairing completed outside pairing mode"
                );
                assert_eq!(self.pending_id, Some(id), "a pairing nobody exchanged");
                // S-PR-1: both sides confirmed, the phone with a frame
                // sealed under the new key.
                let confirmed = |f: &[u8]| {
                    matches!(
                        authentic(rec.id, &rec.key, f),
                        Some((_, Some(Request::ConfirmPairing)))
                    )
                };
                match bytes {
                    Some(f) => {
                        assert!(confirmed(f), "a pairing completed by another frame");
                        assert!(self.checked_at_lock, "S-PR-1: stored without ✓ at the lock");
                    }
                    None => assert!(
                        self.confirmations.iter().any(|f| confirmed(f)),
                        "S-PR-1: stored on ✓ without the phone's confirmation"
                    ),
                }
                // The exchange's phone holds the key if it opened the welcome.
                if let Some(h) = self.welcomed.take() {
                    self.handsets[h].key = Some(rec.key);
                    self.handsets[h].id = id;
                }
                let received = self.persisted_received(id);
                self.accepted.insert((id, rec.key), received);
                self.budgets.remove(&id);
                self.window = false;
                self.exchange_over();
            }
            AppChange::Unpaired { pairing, by } => {
                let (_, rec) = from.cloned().expect("a revocation from a sealed frame");
                assert_eq!(by, rec.id);
                assert_eq!(rec.privilege, Privilege::Administrator, "S-PR-4");
                assert!(self.live(pairing).is_none(), "revoked but still persisted");
                self.budgets.remove(&pairing);
            }
            AppChange::KeyIssued {
                pairing,
                privilege,
                by,
                until,
            } => {
                let (_, rec) = from.cloned().expect("a key issued from a sealed frame");
                assert_eq!(by, rec.id);
                assert_eq!(rec.privilege, Privilege::Administrator, "S-PR-4");
                let issued = self
                    .live(pairing)
                    .cloned()
                    .expect("an issued key is persisted");
                assert_eq!(issued.privilege, privilege);
                assert_eq!(issued.validity.until, until, "the lock watches its end");
                assert_ne!(privilege, Privilege::Administrator);
                let received = self.persisted_received(pairing);
                self.accepted.insert((pairing, issued.key), received);
                self.budgets.remove(&pairing);
            }
        }
    }

    /// Hands `bytes` to the lock and checks everything that came of it.
    fn deliver(&mut self, bytes: &[u8], link: Link) {
        self.welcomed = None;
        self.link = link;
        let before = self.protocol.snapshot();
        let window = self.window;
        let wall = self.wall();
        let genuine = self.sealed.get(bytes).cloned();
        let failures = self.lock.failures_since_success();
        let kind = bytes.get(1).copied();
        let sealed_kind = kind == Some(FrameKind::Request.byte());
        // The frame as the lock will read it: authentic under the key of a
        // pairing it holds (its header names no pairing in clear, S-PR-8),
        // and fresh against what it accepted in RAM.
        let openers: Vec<(PairingRecord, (u64, Option<Request>))> = before
            .pairings
            .iter()
            .filter(|_| sealed_kind)
            .filter_map(|rec| authentic(rec.id, &rec.key, bytes).map(|o| (rec.clone(), o)))
            .collect();
        // S-PR-8: no frame opens under a pairing other than its sender's.
        assert!(
            openers.len() <= 1,
            "a frame opens under pairings {:?}",
            openers.iter().map(|(r, _)| r.id).collect::<Vec<_>>()
        );
        if let (Some(g), Some((rec, _))) = (&genuine, openers.first()) {
            let hs = &self.handsets[g.handset];
            assert!(
                hs.id == rec.id && hs.key == Some(rec.key),
                "S-PR-8: pairing {}'s frame opened as pairing {}",
                hs.id,
                rec.id
            );
        }
        let held = openers.first().map(|(rec, _)| rec.clone());
        let opened = openers.first().map(|(_, o)| o.clone());
        let ram = held.as_ref().map(|rec| {
            self.accepted
                .get(&(rec.id, rec.key))
                .copied()
                .unwrap_or_else(|| self.persisted_received(rec.id))
        });
        let fresh = match (&opened, ram) {
            (Some((counter, _)), Some(ram)) => {
                *counter > ram && counter - ram <= lock_proto::MAX_COUNTER_STEP
            }
            _ => false,
        };
        if sealed_kind && self.pending_id.is_some() && held.is_none() {
            self.confirmations.push(bytes.to_vec());
        }
        // S-PR-5: the pairing's own budget decides a challenge or Status,
        // whatever other pairings asked.
        let mut budget_says = None;
        if let (true, Some(rec), Some((_, Some(request)))) = (fresh, &held, opened.clone()) {
            let budgeted = match request {
                Request::Challenge => true,
                Request::Command {
                    command: AppCommand::Status,
                    ..
                } => rec.privilege >= Privilege::User,
                _ => false,
            };
            if budgeted && rec.validity.admits(wall) {
                let budget = self.budgets.entry(rec.id).or_default();
                budget_says = Some((
                    request,
                    budget.allow(self.now, lock_proto::CHALLENGES_PER_MINUTE),
                ));
            }
        }

        let result = self.protocol.handle_frame(
            Instant::from_millis(self.now),
            // The harness's clock never steps back: reached is now.
            wall.map(lock_core::WallClock::at),
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
        // An authentic, fresh frame moves the counter in RAM, taken or not.
        if let (true, Some(rec), Some((counter, _))) = (fresh, &held, &opened) {
            self.accepted.insert((rec.id, rec.key), *counter);
        }
        // (a) S-BF-1: a sealed frame for no pairing the lock holds or is
        // pairing, or one not sealed under its pairing's key, is refused
        // with nothing to carry out, and the lock's failure count stays.
        let unauthenticated = sealed_kind
            && held.is_none()
            && (self.pending_id.is_none()
                || genuine
                    .as_ref()
                    .is_some_and(|g| Some(g.handset) != self.confirming));
        if unauthenticated {
            assert!(
                result.is_err(),
                "an unauthenticated frame was taken: {bytes:02x?}"
            );
        }
        let outputs = match result {
            Ok(outputs) => outputs,
            Err(e) => {
                assert_eq!(
                    self.lock.failures_since_success(),
                    failures,
                    "S-BF-1: a dropped frame moved the lock's failure count"
                );
                if let Some((request, true)) = budget_says {
                    assert!(
                        self.rng.fail && matches!(request, Request::Challenge),
                        "S-PR-5: {request:?} within its pairing's budget dropped: {e:?}"
                    );
                }
                self.check_refusal(e, bytes, genuine.as_ref(), &before, ram);
                self.check_persisted();
                return;
            }
        };
        // Pairing messages only in pairing mode (S-PR-1).
        if matches!(kind, Some(0x01 | 0x03)) {
            assert!(window, "a pairing message was taken outside pairing mode");
        }
        // A sealed frame acted on must open under the key of the pairing its
        // header names, with a counter above every one accepted before.
        // (The fuzzer makes such frames itself at times: comparison tracing
        // shows it the tag the lock computes, which no one at the door sees.
        // Such a frame is as good as the phone's, and checked the same way.)
        let from = match (&held, opened) {
            (Some(rec), Some((_, request))) => {
                assert!(
                    fresh,
                    "counter not above {ram:?} accepted (replay or reorder, S-PR-3)"
                );
                Some((request, rec.clone()))
            }
            (Some(rec), None) => panic!(
                "a frame that does not open under pairing {}'s key was accepted: {bytes:02x?}",
                rec.id
            ),
            (None, _) => {
                if sealed_kind {
                    // Confirming a pairing, in pairing mode (S-PR-1).
                    assert!(
                        window,
                        "a sealed frame for no pairing taken outside pairing mode"
                    );
                    // S-PR-8: only the exchange's own phone's frame opens
                    // under the exchange's key.
                    assert!(
                        genuine
                            .as_ref()
                            .is_some_and(|g| Some(g.handset) == self.confirming),
                        "a sealed frame taken as the exchange's: {bytes:02x?}"
                    );
                }
                None
            }
        };
        if unauthenticated || !sealed_kind {
            assert_eq!(
                self.lock.failures_since_success(),
                failures,
                "S-BF-1: an unauthenticated frame moved the lock's failure count"
            );
        }

        let checked_at_lock = self.checked_at_lock;
        let mut seen = Seen::default();
        self.carry_out(outputs, Some((bytes, from.clone())), &before, &mut seen);
        if sealed_kind && held.is_none() {
            // A phone's confirmation: nothing answered before ✓ at the lock.
            assert!(
                checked_at_lock || seen.responses.is_empty(),
                "S-PR-1: answered before ✓ at the lock"
            );
        }

        // What the lock answered, and its challenge bookkeeping (S-PR-3).
        if let Some((request, rec)) = &from {
            let request = request.clone();
            let hs = self
                .handsets
                .iter()
                .position(|h| h.id == rec.id && h.key == Some(rec.key));
            let refused = seen.responses.iter().find_map(|r| match r {
                Response::Refused(why) => Some(*why),
                _ => None,
            });
            assert!(
                seen.requested.is_some()
                    || seen.queried
                    || seen.updated
                    || !seen.responses.is_empty()
                    || request.is_none(),
                "{request:?} from pairing {} went unanswered",
                rec.id
            );
            // (c) S-PR-6: a refused request writes nothing.
            if refused.is_some() {
                assert_eq!(seen.persists, 0, "S-PR-6: {refused:?} wrote");
            }
            // (b) S-PR-5: granted exactly when its own budget allows.
            if let Some((request, allowed)) = budget_says {
                let granted = seen.requested.is_some()
                    || seen
                        .responses
                        .iter()
                        .any(|r| matches!(r, Response::Challenge { .. }));
                if allowed && !(self.rng.fail && matches!(request, Request::Challenge)) {
                    assert!(
                        granted,
                        "S-PR-5: {request:?} within its pairing's budget refused: {refused:?}"
                    );
                }
                if !allowed {
                    assert!(!granted, "{request:?} past its pairing's budget granted");
                }
            }
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
                let acted = matches!(seen.requested, Some(c) if !matches!(c, AppCommand::Status))
                    || seen.queried
                    || seen.updated
                    || !seen.changes.is_empty()
                    || seen.responses.iter().any(|r| {
                        matches!(
                            r,
                            Response::Pairings(_)
                                | Response::KeyIssued { .. }
                                | Response::VisitorSecret { .. }
                                | Response::Done
                        )
                    });
                if acted {
                    assert!(!exempt, "{request:?} acted without a challenge");
                    assert!(
                        self.acted.insert(bytes.to_vec()),
                        "a frame acted twice (R-APP-7): {request:?}"
                    );
                    if let Some(hs) = hs {
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
                } else if !exempt && refused.is_none() && seen.requested.is_none() {
                    // Answered but not acted: only a refusal may do that.
                    assert!(
                        seen.responses.is_empty(),
                        "{request:?} answered {:?} without acting",
                        seen.responses
                    );
                }
                if !rec.validity.admits(wall) {
                    assert!(
                        seen.requested.is_none() && !acted,
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
        // An update answer's challenge is the next one (S-UP-4).
        for h in &mut self.handsets {
            if let Some(next) = h.next.take() {
                h.stale = h.challenge.map(|(c, _)| c).or(h.stale);
                h.challenge = Some(next);
            }
        }
        self.check_persisted();
    }

    /// A refusal: legitimate only if the frame was not a fresh, well-formed
    /// request from a pairing the lock holds, or was one the lock refused
    /// without an answer (S-PR-6). `ram` is the pairing's counter in RAM
    /// before the frame.
    fn check_refusal(
        &self,
        e: FrameError,
        bytes: &[u8],
        genuine: Option<&Sealed>,
        before: &ProtoSnapshot,
        ram: Option<u64>,
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
                matches!(
                    e,
                    FrameError::BadTag | FrameError::UnknownPairing | FrameError::RateLimited
                ),
                "a frame under a wrong key refused as {e:?}"
            );
            return;
        }
        let ram = ram.unwrap_or_else(|| self.persisted_received(rec.id));
        if g.counter > ram.saturating_add(lock_proto::MAX_COUNTER_STEP) {
            assert!(
                matches!(e, FrameError::CounterJump | FrameError::RateLimited),
                "a counter jumping too far refused as {e:?}"
            );
            return;
        }
        if g.counter > ram && g.request.is_some() {
            // Refused by the protocol and not answered: past the pairing's
            // refusals a minute, or with no counter reserved (S-PR-6).
            assert!(
                matches!(e, FrameError::Refused(_) | FrameError::RateLimited),
                "a fresh well-formed {:?} (counter {} above {}) from pairing {} refused: {e:?} ({} bytes)",
                g.request,
                g.counter,
                ram,
                rec.id,
                bytes.len()
            );
        }
    }

    /// Opens a frame the lock sent with the phone it is for.
    fn open(&mut self, frame: &FrameBuf, before: &ProtoSnapshot) -> Option<Response> {
        let kind = frame.get(1).copied();
        let clear_id = u16::from_le_bytes([frame[2], frame[3]]);
        match kind {
            Some(0x02) => {
                // A new exchange: its id, nothing confirmed yet.
                self.offer = Some(frame.clone());
                self.pending_id = Some(clear_id);
                self.checked_at_lock = false;
                self.confirmations.clear();
                return None;
            }
            Some(0x04) => {
                self.reveal = Some(frame.clone());
                return None;
            }
            _ => {}
        }
        // Whom it is for: the one pairing, as it was or as a confirmation
        // just completed it, under whose keys it opens (S-PR-8: never two).
        let senders = lock_senders(
            before.pairings.iter().chain(self.persisted.pairings.iter()),
            frame,
        );
        assert!(
            senders.len() == 1,
            "the lock sent a frame that opens for pairings {senders:?}"
        );
        let id = senders[0];
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
                    Response::Update { challenge, .. } => {
                        hs.next = Some((*challenge, now));
                    }
                    Response::VisitorSecret { lock_id, secret } => {
                        // S-VC-5: only to an administrator's pairing the
                        // lock already holds, on flash, as making codes; its
                        // own secret.
                        let record = self
                            .persisted
                            .pairings
                            .iter()
                            .find(|r| r.id == id)
                            .expect("a visitor secret for a pairing not on flash");
                        assert!(record.visitor_codes, "S-VC-5: secret sent before persisted");
                        assert_eq!(record.privilege, Privilege::Administrator);
                        let identity = self.persisted.identity.as_ref().expect("an identity");
                        assert_eq!(*lock_id, identity.lock_id);
                        assert_eq!(
                            *secret,
                            lock_proto::visitor::issuer_secret(
                                &identity.visitor_secret,
                                id,
                                &record.key
                            ),
                            "S-VC-5: not the pairing's own secret"
                        );
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

    /// `Output::Persist` replayed is what the protocol holds: the protocol's
    /// snapshot is its records as persisted (a phone's counter may be ahead
    /// in RAM, never on flash).
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
            assert!(p == r, "pairing {} persisted as {p:?}, held as {r:?}", r.id);
            let ram = self.accepted.get(&(r.id, r.key)).copied();
            let floor = self.persisted_received(r.id);
            assert!(
                ram.is_none_or(|ram| ram >= floor),
                "pairing {}: RAM counter {ram:?} below the persisted {floor}",
                r.id,
            );
        }
    }

    /// S-VC-5: the lock's verifier accepts the codes of exactly the
    /// administrators' pairings the protocol holds as making them, at most
    /// `MAX_ISSUERS`.
    fn check_issuers(&mut self) {
        let mut expected: Vec<u16> = self
            .protocol
            .snapshot()
            .pairings
            .iter()
            .filter(|r| r.visitor_codes)
            .inspect(|r| assert_eq!(r.privilege, Privilege::Administrator))
            .map(|r| r.id)
            .collect();
        assert!(expected.len() <= lock_proto::visitor::MAX_ISSUERS);
        let mut held: Vec<u16> = self.lock.visitor_codes_mut().issuers().collect();
        expected.sort_unstable();
        held.sort_unstable();
        assert_eq!(held, expected, "S-VC-5: the lock's verifier is stale");
    }

    fn power_cycle(&mut self) {
        self.protocol = Protocol::restore(&self.persisted)
            .unwrap_or_else(|e| panic!("what the protocol persisted does not restore: {e:?}"));
        // As the runtime does at boot.
        *self.lock.visitor_codes_mut() = self.protocol.visitor_code_verifier();
        self.window = false;
        self.pairing = None;
        self.exchange_over();
        // RAM state: counters restart from what was persisted, budgets
        // refill, challenges are gone.
        self.accepted.clear();
        self.budgets.clear();
        for h in &mut self.handsets {
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
            // As the runtime does after a reset: no issuer any more.
            *self.lock.visitor_codes_mut() = self.protocol.visitor_code_verifier();
            self.check_issuers();
            self.window = false;
            self.pairing = None;
            self.exchange_over();
            self.accepted.clear();
            self.budgets.clear();
        }
        self.check_persisted();
    }
}

/// The counter and the request of a frame sealed phone-to-lock under
/// pairing key `key`; `None` if its tag does not hold under that key.
fn authentic(id: u16, key: &[u8; 32], bytes: &[u8]) -> Option<(u64, Option<Request>)> {
    let frame = lock_proto::Frame::new_checked(bytes).ok()?;
    if frame.kind() != Some(FrameKind::Request) {
        return None;
    }
    let mut plain = [0u8; lock_proto::wire::MAX_BODY];
    let opened = crypto::open_any(
        [(id, &FrameKeys::derive(key))],
        Direction::PhoneToLock,
        &frame,
        &mut plain,
        &mut crypto::TrialWork::default(),
    )
    .ok()?;
    Some((
        opened.counter,
        lock_proto::message::decode(&plain[..opened.len]).ok(),
    ))
}

/// The pairings among `records` under whose keys a frame the lock sent
/// opens (S-PR-8: its header names none in clear).
fn lock_senders<'r>(records: impl Iterator<Item = &'r PairingRecord>, bytes: &[u8]) -> Vec<u16> {
    let Ok(frame) = lock_proto::Frame::new_checked(bytes) else {
        return Vec::new();
    };
    let mut plain = [0u8; lock_proto::wire::MAX_BODY];
    let mut ids: Vec<u16> = records
        .filter(|r| {
            crypto::open_any(
                [(r.id, &FrameKeys::derive(&r.key))],
                Direction::LockToPhone,
                &frame,
                &mut plain,
                &mut crypto::TrialWork::default(),
            )
            .is_ok()
        })
        .map(|r| r.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
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
        next: None,
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
            // Pairing mode (R-MNU-7), ✓ at the lock (S-PR-1), a wrong code
            // at the keypad (S-BF-1).
            6 => match b.byte() % 4 {
                0 => {
                    h.protocol.set_pairing_window(false);
                    h.window = false;
                    h.exchange_over();
                }
                1 => {
                    h.protocol.set_pairing_window(true);
                    h.window = true;
                }
                2 => h.check_at_lock(),
                _ => h.wrong_code(),
            },
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
                                next: None,
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
