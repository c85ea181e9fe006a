//! The app protocol end to end: a phone (the crate's phone side) talks to the
//! lock side, whose outputs a small runtime carries out against the real
//! `lock-core` state machine, with both stores kept as their change records
//! replayed (so a power cycle restores exactly what was persisted).

// Test code: a broken set-up should fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use lock_core::{
    Action, AlarmKind, AppCommand, BoltPosition, Config, Event, Instant, Key, Link, Lock,
    PersonNumber, Privilege, Refusal, Reply, Setting, Snapshot, Timestamp, Validity,
};
use lock_proto::crypto::{self, Direction, FrameKeys};
use lock_proto::message::Challenge;
use lock_proto::wire::VERSION;
use lock_proto::{
    Frame, FrameBuf, FrameError, FrameKind, FromLock, Identity, LOG_PAGE, LoggedRecord,
    MAX_COUNTER_STEP, Output, PEOPLE_PAGE, PersonInfo, Phone, PhonePairing, ProtoChange,
    ProtoRefusal, ProtoSnapshot, Protocol, Query, Request, Response, SavedPhone, UpdateState,
    UpdateStep, VisitorCodeBook, VisitorCodeVerifier,
};

#[path = "protocol/wear.rs"]
mod wear;

/// A deterministic entropy source (xorshift): tests must repeat.
struct TestRng(u64);

impl lock_hal::ErrorType for TestRng {
    type Error = core::convert::Infallible;
}

impl lock_hal::Entropy for TestRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Self::Error> {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        Ok(())
    }
}

/// The lock, its protocol, their stores, and what the runtime saw.
struct Bench {
    lock: Lock<VisitorCodeVerifier>,
    proto: Protocol,
    rng: TestRng,
    now: u64,
    core_flash: Snapshot,
    proto_flash: ProtoSnapshot,
    /// Frames the lock sent in the last step.
    sent: Vec<FrameBuf>,
    /// Codes the lock spoke in the last step.
    spoken: Vec<u32>,
    /// Every action of the lock in the last step.
    actions: Vec<Action>,
    /// Every log record the lock wrote, oldest first (sequence number: index).
    log: Vec<lock_core::LogRecord>,
    /// `Output::Persist`s the protocol asked for, ever (S-PR-6).
    persists: usize,
    /// Everything written to flash, in order: the wear it causes is
    /// measured on each board's store (`wear.rs`).
    journal: Vec<Written>,
}

/// One write the runtime would make to the store.
#[derive(Debug, Clone)]
enum Written {
    /// The lock's `Action::Persist`.
    Core(lock_core::Change),
    /// The lock's `Action::Log`.
    Log(lock_core::LogRecord),
    /// The protocol's `Output::Persist`.
    App(ProtoChange),
}

impl Bench {
    /// A lock with administrator 001 (passcode 135790), set up at the keypad.
    fn new() -> Bench {
        let mut rng = TestRng(0x9e37_79b9_7f4a_7c15);
        let identity = Identity::generate(&mut rng).unwrap();
        let proto = Protocol::new(identity.clone());
        let mut proto_flash = ProtoSnapshot::default();
        proto_flash.apply(&lock_proto::ProtoChange::Identity(identity));
        let lock = Lock::with_visitor_codes(config(&proto), proto.visitor_code_verifier());
        let mut b = Bench {
            lock,
            proto,
            rng,
            now: 0,
            core_flash: Snapshot::default(),
            proto_flash,
            sent: Vec::new(),
            spoken: Vec::new(),
            actions: Vec::new(),
            log: Vec::new(),
            persists: 0,
            journal: Vec::new(),
        };
        b.event(Event::Boot { set_held: false });
        for k in "k1k135790k135790kb".chars() {
            let key = match k {
                'k' => Key::Ok,
                'b' => Key::Back,
                d => Key::Digit(d.to_digit(10).unwrap() as u8),
            };
            b.event(Event::Key(key));
        }
        assert_eq!(b.lock.people().len(), 1);
        b
    }

    fn at(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    fn wait_ms(&mut self, ms: u64) {
        self.now += ms;
        self.event(Event::Tick);
    }

    /// One event to the lock, its actions carried out.
    fn event(&mut self, event: Event) -> Vec<Action> {
        self.now += 100;
        let actions: Vec<Action> = self.lock.handle(self.at(), event).into_iter().collect();
        for a in &actions {
            match a {
                Action::Persist(c) => {
                    self.core_flash.apply(c);
                    self.journal.push(Written::Core(c.clone()));
                }
                Action::Log(r) => {
                    self.log.push(*r);
                    self.journal.push(Written::Log(*r));
                }
                Action::Pairing(open) => self.proto.set_pairing_window(*open),
                _ => {}
            }
        }
        if actions.iter().any(|a| matches!(a, Action::ConfirmPairing)) {
            // ✓ at the lock (S-PR-1), as lock-runtime's ProtoApp does it.
            if let Ok(out) = self.proto.confirm_at_lock(self.at()) {
                self.run(out);
            }
        }
        self.actions.extend(actions.iter().cloned());
        actions
    }

    /// A frame from a phone, as the runtime handles it. Returns the error the
    /// protocol dropped it with, if it did.
    fn receive(&mut self, link: Link, frame: &[u8]) -> Result<(), FrameError> {
        self.sent.clear();
        self.spoken.clear();
        self.actions.clear();
        self.now += 100;
        let wall = self.lock.clock(self.at());
        // S-BF-1: a dropped frame presents no credential; the lock hears
        // nothing of it.
        let outputs = self
            .proto
            .handle_frame(self.at(), wall, link, frame, &mut self.rng)?;
        self.run(outputs);
        Ok(())
    }

    fn run(&mut self, outputs: lock_proto::Outputs) {
        for o in outputs {
            match o {
                Output::Persist(c) => {
                    self.persists += 1;
                    self.proto_flash.apply(&c);
                    self.journal.push(Written::App(c));
                }
                Output::Send(f) => self.sent.push(f),
                Output::VerificationCode(c) => {
                    self.spoken.push(c);
                    self.event(Event::PairingCode(c));
                }
                Output::Changed(change) => {
                    self.event(Event::AppChanged(change));
                }
                Output::VisitorCodes => {
                    *self.lock.visitor_codes_mut() = self.proto.visitor_code_verifier();
                }
                Output::Query { from, query } => {
                    // What lock-runtime's ProtoApp does, from the lock and
                    // its log store.
                    let out = match query {
                        Query::People { after } => {
                            let mut people = self
                                .lock
                                .people()
                                .iter()
                                .filter(|p| after.is_none_or(|a| p.number > a))
                                .map(PersonInfo::of)
                                .collect::<Vec<_>>();
                            people.sort_by_key(|p| p.number);
                            let more = people.len() > PEOPLE_PAGE;
                            people.truncate(PEOPLE_PAGE);
                            self.proto.encode_people(from, &people, more).unwrap()
                        }
                        Query::Log { before } => {
                            let mut records: Vec<LoggedRecord> = (0u32..)
                                .zip(self.log.iter())
                                .filter(|(seq, _)| before.is_none_or(|b| *seq < b))
                                .map(|(seq, record)| LoggedRecord {
                                    seq,
                                    record: *record,
                                })
                                .collect();
                            records.reverse();
                            let more = records.len() > LOG_PAGE;
                            records.truncate(LOG_PAGE);
                            self.proto.encode_log(from, &records, more).unwrap()
                        }
                    };
                    self.run(out);
                }
                Output::Update { from, step } => {
                    // What a board's update receiver would answer, kept to
                    // where the steps got (S-UP-4 is the protocol's part).
                    let state = match step {
                        UpdateStep::Chunk { offset, bytes } => UpdateState::Receiving {
                            have: offset + u32::try_from(bytes.len()).unwrap(),
                            length: 1 << 20,
                        },
                        _ => UpdateState::Idle,
                    };
                    let out = self
                        .proto
                        .encode_update(self.at(), from, state, &mut self.rng)
                        .unwrap();
                    self.run(out);
                }
                Output::Request { from, request } => {
                    let actions = self.event(Event::App(request));
                    for a in actions {
                        if let Action::Reply(reply) = a {
                            let out = self.proto.encode_reply(from, reply).unwrap();
                            self.run(out);
                        }
                    }
                }
            }
        }
    }

    /// Sends `frame` and returns what the phone makes of the one answer.
    fn ask(&mut self, phone: &mut Phone, link: Link, frame: &[u8]) -> Response {
        self.receive(link, frame).unwrap();
        assert_eq!(self.sent.len(), 1, "one answer");
        match phone.open(&self.sent[0]).unwrap() {
            FromLock::Response(r) => r,
            FromLock::Notice(n) => panic!("a notice instead: {n:?}"),
        }
    }

    fn challenge(&mut self, phone: &mut Phone, link: Link) -> Challenge {
        let frame = phone.request(&Request::Challenge).unwrap();
        match self.ask(phone, link, &frame) {
            Response::Challenge { challenge, .. } => challenge,
            other => panic!("no challenge: {other:?}"),
        }
    }

    /// A command with a fresh challenge.
    fn command(&mut self, phone: &mut Phone, link: Link, command: AppCommand) -> Response {
        let challenge = self.challenge(phone, link);
        let frame = phone
            .request(&Request::Command {
                command,
                challenge: Some(challenge),
            })
            .unwrap();
        self.ask(phone, link, &frame)
    }

    /// Long SET, then the whole pairing exchange; the person compares codes.
    fn pair(&mut self) -> Phone {
        self.event(Event::SetHeld);
        assert!(self.proto.pairing_window());
        let (mut pairing, hello) = PhonePairing::start(&mut self.rng).unwrap();
        self.receive(Link::Bluetooth, &hello).unwrap();
        let nonce = pairing.on_offer(&self.sent[0]).unwrap();
        self.receive(Link::Bluetooth, &nonce).unwrap();
        assert_eq!(self.spoken.len(), 1, "the lock says the code");
        let lock_code = self.spoken[0];
        let compared = pairing.on_reveal(&self.sent[0]).unwrap();
        assert_eq!(compared.code, lock_code, "both sides show the same code");
        assert_eq!(compared.identity_code, self.proto.identity_code());
        let (mut phone, confirm) = compared.confirm().unwrap();
        self.receive(Link::Bluetooth, &confirm).unwrap();
        assert!(self.sent.is_empty(), "nothing stored before ✓ at the lock");
        assert!(self.lock.pairing(), "pairing mode still open");
        self.sent.clear();
        self.event(Event::Key(Key::Ok));
        match phone.open(&self.sent[0]).unwrap() {
            FromLock::Response(Response::Welcome { privilege, .. }) => {
                assert_eq!(privilege, Privilege::Administrator)
            }
            other => panic!("no welcome: {other:?}"),
        }
        assert!(!self.lock.pairing(), "pairing mode ended");
        assert!(!self.proto.pairing_window());
        phone
    }

    fn unlocked(&self) -> bool {
        self.actions.iter().any(|a| {
            matches!(
                a,
                Action::DriveBolt {
                    to: BoltPosition::Unlocked,
                    ..
                }
            )
        })
    }

    /// Power lost and restored: both restored from what was persisted.
    fn power_cycle(&mut self) {
        self.now = 0;
        self.proto = Protocol::restore(&self.proto_flash).unwrap();
        self.lock = Lock::restore_with(
            config(&self.proto),
            self.proto.visitor_code_verifier(),
            &self.core_flash,
            Instant::ZERO,
        )
        .unwrap();
        self.event(Event::Boot { set_held: false });
    }

    fn set_clock(&mut self, phone: &mut Phone, secs: u64) {
        let r = self.command(
            phone,
            Link::Bluetooth,
            AppCommand::SetClock(Timestamp(secs)),
        );
        assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    }
}

fn config(proto: &Protocol) -> Config {
    Config {
        serial: 1,
        firmware: (0, 1, 0),
        verification_code: proto.identity_code(),
        ..Config::default()
    }
}

// ----- pairing (S-PR-1) ---------------------------------------------------

#[test]
fn s_pr_1_pairing_in_pairing_mode_gives_both_sides_one_code_and_an_administrator_key() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let r = b.command(&mut phone, Link::Bluetooth, AppCommand::Status);
    assert!(matches!(r, Response::Reply(Reply::Status(_))), "{r:?}");
    assert_eq!(b.proto.pairings().count(), 1);
    assert_eq!(b.proto_flash, b.proto.snapshot());
}

#[test]
fn s_pr_1_pairing_is_refused_outside_pairing_mode() {
    let mut b = Bench::new();
    let (_, hello) = PhonePairing::start(&mut b.rng).unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &hello),
        Err(FrameError::NotPairing)
    );
    assert!(b.sent.is_empty());
    // Pairing mode ends after three minutes (R-MNU-7); a hello then is refused too.
    b.event(Event::SetHeld);
    b.wait_ms(3 * 60 * 1000);
    assert!(!b.proto.pairing_window());
    assert_eq!(
        b.receive(Link::Bluetooth, &hello),
        Err(FrameError::NotPairing)
    );
}

#[test]
fn s_pr_1_a_mismatched_exchange_gives_different_codes() {
    // A man in the middle runs one exchange with the phone and another with
    // the lock: the codes differ, and the person does not confirm.
    let mut b = Bench::new();
    b.event(Event::SetHeld);
    let (mut phone, hello) = PhonePairing::start(&mut b.rng).unwrap();
    let (mut attacker, attacker_hello) = PhonePairing::start(&mut b.rng).unwrap();
    b.receive(Link::Bluetooth, &attacker_hello).unwrap();
    let offer = b.sent[0].clone();
    let attacker_nonce = attacker.on_offer(&offer).unwrap();
    // The phone gets the lock's offer relayed, but its hello was replaced.
    let _ = hello;
    let phone_nonce = phone.on_offer(&offer).unwrap();
    let _ = phone_nonce;
    b.receive(Link::Bluetooth, &attacker_nonce).unwrap();
    let reveal = b.sent[0].clone();
    let lock_code = b.spoken[0];
    let attacker_view = attacker.on_reveal(&reveal).unwrap();
    assert_eq!(attacker_view.code, lock_code);
    // The commitment was made to the attacker's key: the phone refuses it.
    assert_eq!(phone.on_reveal(&reveal).err(), Some(FrameError::BadTag));
}

#[test]
fn s_pr_1_a_phone_that_confirms_alone_gets_nothing_and_the_check_at_the_lock_may_come_first() {
    let mut b = Bench::new();
    b.event(Event::SetHeld);
    // Up to the phone's confirmation; returns it and the phone.
    let exchange = |b: &mut Bench| {
        let (mut pairing, hello) = PhonePairing::start(&mut b.rng).unwrap();
        b.receive(Link::Bluetooth, &hello).unwrap();
        let nonce = pairing.on_offer(&b.sent[0]).unwrap();
        b.receive(Link::Bluetooth, &nonce).unwrap();
        assert_eq!(b.spoken.len(), 1, "the lock says the code");
        pairing.on_reveal(&b.sent[0]).unwrap().confirm().unwrap()
    };
    // A phone in range confirms; nobody presses ✓ at the lock.
    let (mut stranger, confirm) = exchange(&mut b);
    b.receive(Link::Bluetooth, &confirm).unwrap();
    assert!(b.sent.is_empty());
    b.wait_ms(lock_proto::PAIRING_TIMEOUT.millis());
    assert_eq!(
        b.proto.confirm_at_lock(b.at()).err(),
        Some(FrameError::NotPairing),
        "the exchange timed out"
    );
    assert_eq!(b.proto.pairings().count(), 0);
    assert!(b.proto_flash.pairings.is_empty(), "nothing stored");
    let f = stranger.request(&Request::Challenge).unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &f),
        Err(FrameError::UnknownPairing)
    );
    // The owner's phone: ✓ at the lock first, then the phone confirms.
    let (mut phone, confirm) = exchange(&mut b);
    b.event(Event::Key(Key::Ok));
    assert_eq!(b.proto.pairings().count(), 0, "waiting for the phone");
    b.receive(Link::Bluetooth, &confirm).unwrap();
    assert!(matches!(
        phone.open(&b.sent[0]).unwrap(),
        FromLock::Response(Response::Welcome { .. })
    ));
    assert_eq!(b.proto.pairings().count(), 1);
    assert!(!b.lock.pairing(), "pairing mode ended");
    assert_eq!(b.proto_flash, b.proto.snapshot());
}

/// An unsealed pairing frame made by hand.
fn plain(kind: u8, pairing: u16, body: &[u8]) -> Vec<u8> {
    let mut f = vec![VERSION, kind];
    f.extend_from_slice(&pairing.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes());
    f.extend_from_slice(&(body.len() as u16).to_le_bytes());
    f.extend_from_slice(body);
    f
}

#[test]
fn s_pr_1_only_one_pairing_at_a_time_and_three_attempts_a_window() {
    let mut b = Bench::new();
    b.event(Event::SetHeld);
    let (_, hello) = PhonePairing::start(&mut b.rng).unwrap();
    b.receive(Link::Bluetooth, &hello).unwrap();
    assert_eq!(b.receive(Link::Bluetooth, &hello), Err(FrameError::Busy));
    // An abandoned exchange times out and frees the lock for another.
    b.wait_ms(61_000);
    // A phone key of low order (all zeros) gives no shared secret: the
    // exchange is dropped at once.
    let zero_hello = plain(0x01, 0, &[0; 32]);
    b.receive(Link::Bluetooth, &zero_hello).unwrap();
    let id = u16::from_le_bytes([b.sent[0][2], b.sent[0][3]]);
    let nonce = plain(0x03, id, &[1; 16]);
    assert_eq!(
        b.receive(Link::Bluetooth, &nonce),
        Err(FrameError::Malformed)
    );
    // That was the second attempt; a third goes, a fourth does not.
    b.receive(Link::Bluetooth, &zero_hello).unwrap();
    let id = u16::from_le_bytes([b.sent[0][2], b.sent[0][3]]);
    let nonce = plain(0x03, id, &[1; 16]);
    assert_eq!(
        b.receive(Link::Bluetooth, &nonce),
        Err(FrameError::Malformed)
    );
    assert_eq!(
        b.receive(Link::Bluetooth, &hello),
        Err(FrameError::RateLimited)
    );
}

// ----- frames (S-PR-2, S-PR-3) ------------------------------------------

#[test]
fn s_pr_3_a_replayed_frame_is_refused() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = phone
        .request(&Request::Command {
            command: AppCommand::Status,
            challenge: None,
        })
        .unwrap();
    b.receive(Link::Bluetooth, &status).unwrap();
    assert_eq!(b.receive(Link::Bluetooth, &status), Err(FrameError::Replay));
    assert!(b.sent.is_empty() && b.actions.is_empty());
}

#[test]
fn s_pr_6_a_phone_restored_from_what_it_saved_never_repeats_a_counter() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = Request::Command {
        command: AppCommand::Status,
        challenge: None,
    };
    let before = phone.request(&status).unwrap();
    let saved = SavedPhone::from_bytes(&phone.save().to_bytes()).unwrap();
    b.receive(Link::Bluetooth, &before).unwrap();
    b.sent.clear();

    // The app restarts: restored, its next frame is above every counter it
    // used, so the lock takes it and no nonce repeats under the key.
    let mut restored = Phone::restore(&saved);
    let after = restored.request(&status).unwrap();
    // The counter is masked on the wire (S-PR-8): read with the keys.
    let keys = FrameKeys::derive(&saved.key);
    let counter = |f: &[u8]| {
        crypto::unprotect(
            &keys,
            Direction::PhoneToLock,
            &Frame::new_checked(f).unwrap(),
        )
        .1
    };
    assert!(counter(&after) > counter(&before));
    b.receive(Link::Bluetooth, &after).unwrap();
    assert!(matches!(
        restored.open(&b.sent[0]).unwrap(),
        FromLock::Response(Response::Reply(Reply::Status(_)))
    ));

    // Started from the key alone it would reuse counter 1 and be refused.
    let mut forgetful = Phone::with_key(saved.pairing, saved.key);
    let reused = forgetful.request(&status).unwrap();
    assert_eq!(counter(&reused), 1);
    assert_eq!(b.receive(Link::Bluetooth, &reused), Err(FrameError::Replay));
}

#[test]
fn r_app_7_a_captured_unlock_opens_nothing_later() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let challenge = b.challenge(&mut phone, Link::Bluetooth);
    let unlock = phone
        .request(&Request::Command {
            command: AppCommand::Unlock,
            challenge: Some(challenge),
        })
        .unwrap();
    b.receive(Link::Bluetooth, &unlock).unwrap();
    assert!(b.unlocked());
    b.event(Event::LockButton);
    // Replayed at once, after a power cut, and later: nothing opens.
    assert_eq!(b.receive(Link::Bluetooth, &unlock), Err(FrameError::Replay));
    b.power_cycle();
    assert_eq!(b.receive(Link::Bluetooth, &unlock), Err(FrameError::Replay));
    assert!(!b.unlocked());
}

#[test]
fn s_pr_2_a_frame_with_one_flipped_bit_is_refused() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = phone
        .request(&Request::Command {
            command: AppCommand::Status,
            challenge: None,
        })
        .unwrap();
    for bit in 0..status.len() * 8 {
        let mut bad = status.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let r = b.receive(Link::Bluetooth, &bad);
        assert!(r.is_err(), "bit {bit} flipped was accepted");
        assert!(b.sent.is_empty() && b.actions.iter().all(|a| !matches!(a, Action::Reply(_))));
    }
    // The untouched frame still goes through: nothing above consumed it.
    b.receive(Link::Bluetooth, &status).unwrap();
    assert_eq!(b.sent.len(), 1);
}

#[test]
fn s_pr_3_a_counter_going_back_is_refused() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = Request::Command {
        command: AppCommand::Status,
        challenge: None,
    };
    let ten = phone.request_with_counter(&status, 10).unwrap();
    b.receive(Link::Bluetooth, &ten).unwrap();
    let nine = phone.request_with_counter(&status, 9).unwrap();
    assert_eq!(b.receive(Link::Bluetooth, &nine), Err(FrameError::Replay));
    // And across a power cycle: a frame that changed something persisted
    // its counter first, and nothing at or below it is taken again.
    let ask = phone.request_with_counter(&Request::Challenge, 11).unwrap();
    let Response::Challenge { challenge, .. } = b.ask(&mut phone, Link::Bluetooth, &ask) else {
        panic!("no challenge");
    };
    let lock = Request::Command {
        command: AppCommand::Lock,
        challenge: Some(challenge),
    };
    let twelve = phone.request_with_counter(&lock, 12).unwrap();
    let r = b.ask(&mut phone, Link::Bluetooth, &twelve);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    b.power_cycle();
    for frame in [&ten, &ask, &twelve] {
        assert_eq!(b.receive(Link::Bluetooth, frame), Err(FrameError::Replay));
    }
    let thirteen = phone.request_with_counter(&status, 13).unwrap();
    b.receive(Link::Bluetooth, &thirteen).unwrap();
}

#[test]
fn s_pr_3_a_counter_jumping_past_the_step_is_dropped_and_the_pairing_keeps_working() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = Request::Command {
        command: AppCommand::Status,
        challenge: None,
    };
    let first = phone.request_with_counter(&status, 5).unwrap();
    b.receive(Link::Bluetooth, &first).unwrap();
    // Authentic, but it would leave no later counter fresh.
    let last = phone.request_with_counter(&status, u64::MAX).unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &last),
        Err(FrameError::CounterJump)
    );
    let too_far = phone
        .request_with_counter(&status, 5 + MAX_COUNTER_STEP + 1)
        .unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &too_far),
        Err(FrameError::CounterJump)
    );
    assert!(b.sent.is_empty(), "neither was answered");
    // The furthest allowed step is taken, and the pairing goes on.
    let furthest = phone
        .request_with_counter(&status, 5 + MAX_COUNTER_STEP)
        .unwrap();
    b.receive(Link::Bluetooth, &furthest).unwrap();
    assert_eq!(b.sent.len(), 1);
    let next = phone
        .request_with_counter(&status, 6 + MAX_COUNTER_STEP)
        .unwrap();
    b.receive(Link::Bluetooth, &next).unwrap();
    assert_eq!(b.sent.len(), 1);
}

#[test]
fn s_pr_2_the_locks_own_counter_never_repeats_across_power_cycles() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = Request::Command {
        command: AppCommand::Status,
        challenge: None,
    };
    let f = phone.request(&status).unwrap();
    b.ask(&mut phone, Link::Bluetooth, &f);
    b.power_cycle();
    // The phone refuses a lock frame whose counter does not rise: after the
    // restart the lock continues above its persisted reservation.
    for _ in 0..3 {
        let f = phone.request(&status).unwrap();
        b.ask(&mut phone, Link::Bluetooth, &f);
    }
}

#[test]
fn s_pr_2_short_untagged_malformed_unknown_and_old_frames_are_dropped_before_dispatch() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let good = phone
        .request(&Request::Command {
            command: AppCommand::Status,
            challenge: None,
        })
        .unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &good[..5]),
        Err(FrameError::Short)
    );
    // Untagged: the tag cut off (the TTLock bug: short frames as plaintext).
    assert_eq!(
        b.receive(Link::Bluetooth, &good[..good.len() - 16]),
        Err(FrameError::Short)
    );
    let mut longer = good.clone();
    longer.push(0).unwrap();
    assert_eq!(b.receive(Link::Bluetooth, &longer), Err(FrameError::Length));
    let mut old = good.clone();
    old[0] = VERSION - 1;
    assert_eq!(
        b.receive(Link::Bluetooth, &old),
        Err(FrameError::OldVersion(VERSION - 1))
    );
    let mut unknown = good.clone();
    unknown[2] = 0x77;
    assert_eq!(
        b.receive(Link::Bluetooth, &unknown),
        Err(FrameError::UnknownPairing)
    );
    let mut kind = good.clone();
    kind[1] = 0x99;
    assert_eq!(
        b.receive(Link::Bluetooth, &kind),
        Err(FrameError::UnknownKind(0x99))
    );
    // A wrong tag: dropped and reported, nothing runs.
    let mut forged = good.clone();
    let len = forged.len();
    forged[len - 1] ^= 1;
    assert_eq!(b.receive(Link::Bluetooth, &forged), Err(FrameError::BadTag));
    assert!(b.actions.iter().all(|a| !matches!(a, Action::Reply(_))));
    // Authentic but not a request: malformed, nothing runs, and the counter
    // is spent so the frame can never come back.
    let c = b.challenge(&mut phone, Link::Bluetooth);
    let f = phone
        .request(&Request::IssueKey {
            privilege: Privilege::User,
            validity: Validity::ALWAYS,
            challenge: c,
        })
        .unwrap();
    let (id, key) = match b.ask(&mut phone, Link::Bluetooth, &f) {
        Response::KeyIssued { pairing, key } => (pairing, key),
        other => panic!("{other:?}"),
    };
    let keys = FrameKeys::derive(&key);
    let garbage = crypto::seal(
        &keys,
        Direction::PhoneToLock,
        FrameKind::Request,
        id,
        1,
        &[0xff; 5],
    )
    .unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &garbage),
        Err(FrameError::Malformed)
    );
    assert!(b.actions.is_empty());
    assert_eq!(
        b.receive(Link::Bluetooth, &garbage),
        Err(FrameError::Replay)
    );
}

#[test]
fn s_pr_2_random_bytes_never_panic_and_never_dispatch() {
    let mut b = Bench::new();
    let _phone = b.pair();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..5_000 {
        let len = (i % 80) as usize;
        let mut buf = vec![0u8; len];
        for byte in &mut buf {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = x as u8;
        }
        if len > 2 {
            buf[0] = VERSION; // get past the version check now and then
        }
        assert!(b.receive(Link::Bluetooth, &buf).is_err());
    }
}

// ----- challenges (S-PR-3, S-PR-5) ----------------------------------------

#[test]
fn s_pr_3_unlock_without_a_fresh_challenge_is_refused() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let no_challenge = phone
        .request(&Request::Command {
            command: AppCommand::Unlock,
            challenge: None,
        })
        .unwrap();
    let r = b.ask(&mut phone, Link::Bluetooth, &no_challenge);
    assert!(
        matches!(r, Response::Refused(ProtoRefusal::NoFreshChallenge)),
        "{r:?}"
    );
    assert!(!b.unlocked());
    // A made-up challenge, and a used one, are refused too.
    let _ = b.challenge(&mut phone, Link::Bluetooth);
    let made_up = phone
        .request(&Request::Command {
            command: AppCommand::Unlock,
            challenge: Some([7; 16]),
        })
        .unwrap();
    let r = b.ask(&mut phone, Link::Bluetooth, &made_up);
    assert!(
        matches!(r, Response::Refused(ProtoRefusal::NoFreshChallenge)),
        "{r:?}"
    );
    let c = b.challenge(&mut phone, Link::Bluetooth);
    let first = phone
        .request(&Request::Command {
            command: AppCommand::Unlock,
            challenge: Some(c),
        })
        .unwrap();
    b.ask(&mut phone, Link::Bluetooth, &first);
    assert!(b.unlocked());
    let again = phone
        .request(&Request::Command {
            command: AppCommand::Unlock,
            challenge: Some(c),
        })
        .unwrap();
    let r = b.ask(&mut phone, Link::Bluetooth, &again);
    assert!(
        matches!(r, Response::Refused(ProtoRefusal::NoFreshChallenge)),
        "{r:?}"
    );
}

#[test]
fn s_pr_3_a_late_challenge_is_refused() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let c = b.challenge(&mut phone, Link::Bluetooth);
    // The frame is captured and held back (a relay), then delivered late.
    let unlock = phone
        .request(&Request::Command {
            command: AppCommand::Unlock,
            challenge: Some(c),
        })
        .unwrap();
    b.wait_ms(lock_proto::CHALLENGE_VALIDITY.millis());
    let r = b.ask(&mut phone, Link::Bluetooth, &unlock);
    assert!(
        matches!(r, Response::Refused(ProtoRefusal::NoFreshChallenge)),
        "{r:?}"
    );
    assert!(!b.unlocked());
}

#[test]
fn s_pr_5_challenges_are_rate_limited() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    for _ in 0..lock_proto::CHALLENGES_PER_MINUTE {
        b.challenge(&mut phone, Link::Bluetooth);
    }
    let f = phone.request(&Request::Challenge).unwrap();
    let r = b.ask(&mut phone, Link::Bluetooth, &f);
    assert!(
        matches!(r, Response::Refused(ProtoRefusal::RateLimited)),
        "{r:?}"
    );
    b.wait_ms(60_000);
    b.challenge(&mut phone, Link::Bluetooth);
}

/// A wrong passcode at the keypad.
fn wrong_code(b: &mut Bench) {
    b.event(Event::Touch);
    for d in "135792".chars() {
        b.event(Event::Key(Key::Digit(d.to_digit(10).unwrap() as u8)));
    }
    b.event(Event::Key(Key::Ok));
    b.wait_ms(2_000);
}

#[test]
fn s_pr_5_a_visitor_flooding_challenges_never_blocks_the_administrator() {
    let (mut b, mut admin, mut visitor, _) = with_visitor_key(3_600);
    // Someone at the keypad guesses until the lock locks itself (R-LKO-1).
    while b.lock.lockout(b.at()).is_none() {
        wrong_code(&mut b);
    }
    // The visitor's key asks for challenges as fast as the lock answers:
    // it uses up its own budget, and only its own.
    for _ in 0..lock_proto::CHALLENGES_PER_MINUTE {
        b.challenge(&mut visitor, Link::Bluetooth);
    }
    for i in 0..20 {
        let f = visitor.request(&Request::Challenge).unwrap();
        if i < lock_proto::REFUSALS_PER_MINUTE {
            let r = b.ask(&mut visitor, Link::Bluetooth, &f);
            assert!(
                matches!(r, Response::Refused(ProtoRefusal::RateLimited)),
                "{r:?}"
            );
        } else {
            // Past the refusals a pairing is answered a minute (S-PR-6).
            assert_eq!(b.receive(Link::Bluetooth, &f), Err(FrameError::RateLimited));
        }
    }
    // The administrator still gets challenges: it lifts the lockout...
    let r = b.command(&mut admin, Link::Bluetooth, AppCommand::LiftLockout);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    assert!(b.lock.lockout(b.at()).is_none());
    // ...and revokes the visitor's key, within the same minute.
    let c = b.challenge(&mut admin, Link::Bluetooth);
    let f = admin
        .request(&Request::RevokePairing {
            pairing: visitor.pairing(),
            challenge: c,
        })
        .unwrap();
    let r = b.ask(&mut admin, Link::Bluetooth, &f);
    assert!(matches!(r, Response::Done), "{r:?}");
    let f = visitor.request(&Request::Challenge).unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &f),
        Err(FrameError::UnknownPairing)
    );
}

#[test]
fn s_bf_1_forged_frames_present_no_credential_and_never_lock_the_owner_out() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = phone
        .request(&Request::Command {
            command: AppCommand::Status,
            challenge: None,
        })
        .unwrap();
    let mut forged = status.clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x80;
    // A stranger's flood over several minutes: every frame is dropped and
    // none counts with the lock's failures (it was five in about a minute
    // to a keypad lockout before).
    for _ in 0..5 {
        for _ in 0..20 {
            assert!(b.receive(Link::Bluetooth, &forged).is_err());
        }
        b.wait_ms(60_000);
    }
    assert_eq!(b.lock.failures_since_success(), 0);
    assert!(b.lock.lockout(b.at()).is_none());
    assert!(!b.lock.alarms().contains(AlarmKind::SystemLocked));
    // The owner still opens.
    let r = b.command(&mut phone, Link::Bluetooth, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
}

#[test]
fn s_bf_1_failed_authentications_are_rate_limited_per_link() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = Request::Command {
        command: AppCommand::Status,
        challenge: None,
    };
    let mut forged = phone.request(&status).unwrap();
    let last = forged.len() - 1;
    forged[last] ^= 0x80;
    let mut stranger = forged.clone();
    stranger[2] = 0x0f; // a pairing the lock does not hold
    let limit = lock_proto::AUTH_FAILURES_PER_MINUTE;
    // A stranger floods Bluetooth with forged frames and frames for a
    // pairing that does not exist: each is refused with its reason up to
    // the link's budget, and as RateLimited after it (the transport drops
    // that connection).
    for i in 0..50 {
        let (frame, reason) = if i % 2 == 0 {
            (&forged, FrameError::BadTag)
        } else {
            (&stranger, FrameError::UnknownPairing)
        };
        let expected = if i < limit {
            reason
        } else {
            FrameError::RateLimited
        };
        assert_eq!(
            b.receive(Link::Bluetooth, frame),
            Err(expected),
            "frame {i}"
        );
        assert!(b.sent.is_empty() && b.actions.is_empty());
    }
    // The remote link has a budget of its own.
    for _ in 0..limit {
        assert_eq!(b.receive(Link::Remote, &forged), Err(FrameError::BadTag));
    }
    assert_eq!(
        b.receive(Link::Remote, &forged),
        Err(FrameError::RateLimited)
    );
    // Authentic frames are processed on both links, whatever the flood.
    for link in [Link::Bluetooth, Link::Remote] {
        let f = phone.request(&status).unwrap();
        let r = b.ask(&mut phone, link, &f);
        assert!(matches!(r, Response::Reply(Reply::Status(_))), "{r:?}");
    }
    let r = b.command(&mut phone, Link::Bluetooth, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    // None of it ever reached the lock's failure count (S-BF-1).
    assert_eq!(b.lock.failures_since_success(), 0);
    assert!(b.lock.lockout(b.at()).is_none());
    // A minute later the link reports reasons again.
    b.wait_ms(60_000);
    assert_eq!(b.receive(Link::Bluetooth, &forged), Err(FrameError::BadTag));
}

// ----- privileges and keys (S-PR-4, R-APP-2, R-APP-5, S-VC-4) -------------

/// An administrator issues a key; the returned phone holds it.
fn issue(b: &mut Bench, admin: &mut Phone, privilege: Privilege, validity: Validity) -> Phone {
    let c = b.challenge(admin, Link::Bluetooth);
    let f = admin
        .request(&Request::IssueKey {
            privilege,
            validity,
            challenge: c,
        })
        .unwrap();
    match b.ask(admin, Link::Bluetooth, &f) {
        Response::KeyIssued { pairing, key } => Phone::with_key(pairing, key),
        other => panic!("no key: {other:?}"),
    }
}

/// A paired administrator's phone, the clock at 1,000,000 s, and a visitor
/// key it issued for the `secs` after that: the bench, both phones and the
/// key's window.
fn with_visitor_key(secs: u64) -> (Bench, Phone, Phone, Validity) {
    let mut b = Bench::new();
    let mut admin = b.pair();
    b.set_clock(&mut admin, 1_000_000);
    let window = Validity {
        from: Some(Timestamp(1_000_000)),
        until: Some(Timestamp(1_000_000 + secs)),
    };
    let visitor = issue(&mut b, &mut admin, Privilege::Visitor, window);
    (b, admin, visitor, window)
}

#[test]
fn r_app_2_remote_unlock_is_refused_when_disabled() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let r = b.command(&mut phone, Link::Remote, AppCommand::Unlock);
    assert!(
        matches!(
            r,
            Response::Reply(Reply::Refused(Refusal::RemoteUnlockDisabled))
        ),
        "{r:?}"
    );
    assert!(!b.unlocked());
    let r = b.command(
        &mut phone,
        Link::Bluetooth,
        AppCommand::Configure(Setting::RemoteUnlock(true)),
    );
    assert!(matches!(r, Response::Reply(Reply::Done)));
    let r = b.command(&mut phone, Link::Remote, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    assert!(b.unlocked());
}

#[test]
fn s_vc_4_a_visitor_key_is_refused_for_admin_commands_after_expiry_and_after_revocation() {
    let (mut b, mut admin, mut visitor, window) = with_visitor_key(3_600);

    // Opens and locks (R-APP-5)...
    let r = b.command(&mut visitor, Link::Bluetooth, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    assert!(b.unlocked());
    // ...and nothing else: not at the protocol, and the lock would refuse too.
    for command in [
        AppCommand::Status,
        AppCommand::DeletePerson(PersonNumber::FIRST),
        AppCommand::SetClock(Timestamp(2_000_000)),
        AppCommand::Configure(Setting::RemoteUnlock(true)),
    ] {
        let c = b.challenge(&mut visitor, Link::Bluetooth);
        let f = visitor
            .request(&Request::Command {
                command,
                challenge: Some(c),
            })
            .unwrap();
        let r = b.ask(&mut visitor, Link::Bluetooth, &f);
        assert!(
            matches!(r, Response::Refused(ProtoRefusal::NotPermitted)),
            "{command:?}: {r:?}"
        );
    }
    for request in [
        Request::ListPairings { challenge: [0; 16] },
        Request::VisitorSecret { challenge: [0; 16] },
        Request::RevokePairing {
            pairing: 1,
            challenge: [0; 16],
        },
        Request::IssueKey {
            privilege: Privilege::Visitor,
            validity: window,
            challenge: [0; 16],
        },
    ] {
        let f = visitor.request(&request).unwrap();
        let r = b.ask(&mut visitor, Link::Bluetooth, &f);
        assert!(
            matches!(r, Response::Refused(ProtoRefusal::NotPermitted)),
            "{r:?}"
        );
    }
    assert_eq!(b.lock.people().len(), 1);

    // After expiry, on the lock's clock.
    b.wait_ms(3_600_000);
    let f = visitor.request(&Request::Challenge).unwrap();
    let r = b.ask(&mut visitor, Link::Bluetooth, &f);
    assert!(
        matches!(r, Response::Refused(ProtoRefusal::OutsideValidity)),
        "{r:?}"
    );

    // Without a trusted clock (power cut), a bounded key fails closed.
    let mut second = issue(
        &mut b,
        &mut admin,
        Privilege::Visitor,
        Validity {
            from: None,
            until: Some(Timestamp(9_000_000)),
        },
    );
    b.power_cycle();
    let f = second.request(&Request::Challenge).unwrap();
    // Refused; and not answered, since a restart left the key no reserved
    // counter and a refusal never writes a new reservation (S-PR-6).
    assert_eq!(
        b.receive(Link::Bluetooth, &f),
        Err(FrameError::Refused(ProtoRefusal::OutsideValidity))
    );

    // After revocation, one by one: the first key goes, the second stays.
    b.set_clock(&mut admin, 2_000_000);
    let c = b.challenge(&mut second, Link::Bluetooth);
    let _ = c;
    let c = b.challenge(&mut admin, Link::Bluetooth);
    let f = admin
        .request(&Request::RevokePairing {
            pairing: second.pairing(),
            challenge: c,
        })
        .unwrap();
    assert!(matches!(
        b.ask(&mut admin, Link::Bluetooth, &f),
        Response::Done
    ));
    let f = second.request(&Request::Challenge).unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &f),
        Err(FrameError::UnknownPairing)
    );
    assert_eq!(
        b.proto.pairings().count(),
        2,
        "the administrator and the expired key"
    );
    assert_eq!(b.proto_flash, b.proto.snapshot());
}

#[test]
fn s_pr_6_an_expired_visitor_key_writes_nothing() {
    let (mut b, mut admin, mut visitor, _) = with_visitor_key(3_600);
    let r = b.command(&mut visitor, Link::Bluetooth, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    let stale = b.challenge(&mut visitor, Link::Bluetooth);
    // Past the end of its window on the lock's clock.
    b.wait_ms(3_605_000);
    let flash = b.proto_flash.clone();
    let before = b.persists;
    // A thousand authentic frames from the expired key, each with a fresh
    // counter: challenges, unlocks, and what it was never allowed.
    let mut answered = 0;
    for i in 0..1_000 {
        let request = match i % 4 {
            0 => Request::Challenge,
            1 => Request::Command {
                command: AppCommand::Unlock,
                challenge: Some(stale),
            },
            2 => Request::Command {
                command: AppCommand::Status,
                challenge: None,
            },
            _ => Request::ListPairings { challenge: stale },
        };
        let f = visitor.request(&request).unwrap();
        match b.receive(Link::Bluetooth, &f) {
            Ok(()) => {
                answered += 1;
                assert_eq!(b.sent.len(), 1);
                let Ok(FromLock::Response(r)) = visitor.open(&b.sent[0]) else {
                    panic!("not a response");
                };
                assert!(
                    matches!(r, Response::Refused(ProtoRefusal::OutsideValidity)),
                    "{r:?}"
                );
            }
            Err(e) => assert!(
                matches!(
                    e,
                    FrameError::RateLimited | FrameError::Refused(ProtoRefusal::OutsideValidity)
                ),
                "{e:?}"
            ),
        }
        assert!(!b.unlocked());
    }
    // Each written the pairing's counter before (about 1,000 writes).
    assert_eq!(b.persists - before, 0, "writes for an expired key");
    assert_eq!(b.proto_flash, flash);
    assert_eq!(b.proto_flash, b.proto.snapshot());
    // The phone heard why, as long as that wrote nothing.
    assert!(answered > 0 && answered < 64, "{answered} answered");
    // The administrator's key still works, and writes only what acts.
    let r = b.command(&mut admin, Link::Bluetooth, AppCommand::Lock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    assert_eq!(b.persists - before, 1, "the lock command's counter");
}

#[test]
fn s_pr_6_refused_and_reading_frames_from_a_valid_key_write_nothing() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let mut user = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let r = b.command(&mut user, Link::Bluetooth, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    let before = b.persists;
    for i in 0..1_000 {
        let request = match i % 3 {
            // No challenge: refused.
            0 => Request::Command {
                command: AppCommand::Unlock,
                challenge: None,
            },
            // An administrator's request: refused.
            1 => Request::VisitorSecret { challenge: [0; 16] },
            // Reading: answered within the pairing's budget.
            _ => Request::Command {
                command: AppCommand::Status,
                challenge: None,
            },
        };
        let f = user.request(&request).unwrap();
        let _ = b.receive(Link::Bluetooth, &f);
    }
    assert_eq!(
        b.persists - before,
        0,
        "writes for refused and reading frames"
    );
    // A replay of a refused frame after a power cut, above the persisted
    // counter: refused again, and still writes nothing.
    let refused = user
        .request(&Request::Command {
            command: AppCommand::Unlock,
            challenge: Some([0; 16]),
        })
        .unwrap();
    let _ = b.receive(Link::Bluetooth, &refused);
    b.power_cycle();
    let before = b.persists;
    assert_eq!(
        b.receive(Link::Bluetooth, &refused),
        Err(FrameError::Refused(ProtoRefusal::NoFreshChallenge))
    );
    assert!(!b.unlocked());
    assert_eq!(b.persists, before);
}

#[test]
fn s_pr_4_a_users_key_opens_but_cannot_manage() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let mut user = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let r = b.command(&mut user, Link::Bluetooth, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)));
    let r = b.command(
        &mut user,
        Link::Bluetooth,
        AppCommand::DeletePerson(PersonNumber::FIRST),
    );
    assert!(
        matches!(r, Response::Reply(Reply::Refused(Refusal::NotPermitted))),
        "the lock's own check (S-PR-4): {r:?}"
    );
    let c = b.challenge(&mut user, Link::Bluetooth);
    let f = user
        .request(&Request::ListPairings { challenge: c })
        .unwrap();
    assert!(matches!(
        b.ask(&mut user, Link::Bluetooth, &f),
        Response::Refused(ProtoRefusal::NotPermitted)
    ));
    // Keys an administrator issues are never administrators', and a
    // visitor's must end.
    let c = b.challenge(&mut admin, Link::Bluetooth);
    let f = admin
        .request(&Request::IssueKey {
            privilege: Privilege::Visitor,
            validity: Validity::ALWAYS,
            challenge: c,
        })
        .unwrap();
    assert!(matches!(
        b.ask(&mut admin, Link::Bluetooth, &f),
        Response::Refused(ProtoRefusal::BadKey)
    ));
}

#[test]
fn pairings_are_listed_and_revoked_one_by_one() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let a = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let c = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let ch = b.challenge(&mut admin, Link::Bluetooth);
    let f = admin
        .request(&Request::ListPairings { challenge: ch })
        .unwrap();
    match b.ask(&mut admin, Link::Bluetooth, &f) {
        Response::Pairings(list) => {
            let ids: Vec<u16> = list.iter().map(|p| p.pairing).collect();
            assert_eq!(ids, vec![admin.pairing(), a.pairing(), c.pairing()]);
        }
        other => panic!("{other:?}"),
    }
    assert!(b.proto.revoke(a.pairing()).is_some());
    assert!(b.proto.revoke(a.pairing()).is_none());
    assert_eq!(b.proto.pairings().count(), 2);
}

#[test]
fn s_vc_4_a_revocation_is_on_flash_before_the_phone_hears_done() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let guest = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let ch = b.challenge(&mut admin, Link::Bluetooth);
    let f = admin
        .request(&Request::RevokePairing {
            pairing: guest.pairing(),
            challenge: ch,
        })
        .unwrap();
    b.now += 100;
    let outputs = b
        .proto
        .handle_frame(b.at(), None, Link::Bluetooth, &f, &mut b.rng)
        .unwrap();
    let revoked = outputs
        .iter()
        .position(|o| matches!(o, Output::Persist(ProtoChange::PairingRevoked(id)) if *id == guest.pairing()))
        .expect("the revocation is persisted");
    let answered = outputs
        .iter()
        .position(|o| matches!(o, Output::Send(_)))
        .expect("the phone is answered");
    assert!(revoked < answered, "{outputs:?}");
}

#[test]
fn r_app_3_people_are_listed_in_pages_without_their_secrets() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    for i in 0..7u32 {
        let code = format!("{}", 284_061 + i * 1_111);
        let reply = b.command(
            &mut admin,
            Link::Bluetooth,
            AppCommand::AddPerson {
                number: None,
                role: lock_core::Role::User,
                passcode: lock_core::Passcode::parse(&code).unwrap(),
                validity: Validity::ALWAYS,
            },
        );
        assert!(
            matches!(reply, Response::Reply(Reply::PersonAdded(_))),
            "{reply:?}"
        );
        // Under S-PR-5's ten challenges a minute.
        b.wait_ms(7_000);
    }
    let name = lock_core::Name::new("Grace").unwrap();
    let reply = b.command(
        &mut admin,
        Link::Bluetooth,
        AppCommand::NamePerson {
            person: PersonNumber::new(3).unwrap(),
            name,
        },
    );
    assert!(matches!(reply, Response::Reply(Reply::Done)), "{reply:?}");
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let ch = b.challenge(&mut admin, Link::Bluetooth);
        let f = admin
            .request(&Request::ListPeople {
                after,
                challenge: ch,
            })
            .unwrap();
        let Response::People { people, more } = b.ask(&mut admin, Link::Bluetooth, &f) else {
            panic!("no people");
        };
        assert!(people.len() <= PEOPLE_PAGE);
        seen.extend(people.iter().copied());
        after = people.last().map(|p| p.number);
        b.wait_ms(7_000);
        if !more {
            break;
        }
    }
    let numbers: Vec<u8> = seen.iter().map(|p| p.number.get()).collect();
    assert_eq!(numbers, (1..=8).collect::<Vec<u8>>());
    assert_eq!(seen[2].name, name);
    assert!(seen.iter().all(|p| p.passcode && !p.duress));
    // A user's key may not list anyone (S-PR-4).
    let mut user = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let ch = b.challenge(&mut user, Link::Bluetooth);
    let f = user
        .request(&Request::ListPeople {
            after: None,
            challenge: ch,
        })
        .unwrap();
    let refused = b.ask(&mut user, Link::Bluetooth, &f);
    assert!(
        matches!(refused, Response::Refused(ProtoRefusal::NotPermitted)),
        "{refused:?}"
    );
}

#[test]
fn r_app_6_the_log_is_read_newest_first_in_pages() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    for _ in 0..9 {
        b.command(&mut admin, Link::Bluetooth, AppCommand::Unlock);
        // Under S-PR-5's ten challenges a minute.
        b.wait_ms(7_000);
    }
    b.wait_ms(60_000);
    let total = b.log.len();
    assert!(total > LOG_PAGE, "{total} records");
    let mut seqs = Vec::new();
    let mut before = None;
    loop {
        let ch = b.challenge(&mut admin, Link::Bluetooth);
        let f = admin
            .request(&Request::ReadLog {
                before,
                challenge: ch,
            })
            .unwrap();
        let Response::Log { records, more } = b.ask(&mut admin, Link::Bluetooth, &f) else {
            panic!("no log");
        };
        seqs.extend(records.iter().map(|r| r.seq));
        before = records.last().map(|r| r.seq);
        b.wait_ms(7_000);
        if !more {
            break;
        }
    }
    // Everything logged before the last request, newest first, each once.
    let expected: Vec<u32> = (0..u32::try_from(total).unwrap()).rev().collect();
    assert_eq!(seqs[seqs.len() - expected.len()..], expected[..]);
    assert!(seqs.windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn r_app_4_an_administrator_gets_the_visitor_secret_and_makes_codes_the_lock_takes() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let ch = b.challenge(&mut admin, Link::Bluetooth);
    let f = admin
        .request(&Request::VisitorSecret { challenge: ch })
        .unwrap();
    let book = match b.ask(&mut admin, Link::Bluetooth, &f) {
        Response::VisitorSecret { lock_id, secret } => VisitorCodeBook::new(lock_id, secret),
        other => panic!("{other:?}"),
    };
    let start = 500_000u32;
    b.set_clock(&mut admin, u64::from(start) * 3600 + 60);
    let code = book
        .code(&lock_proto::VisitorCodeSpec {
            profile: 1,
            start_hour: start,
            sequence: 0,
        })
        .unwrap()
        .to_string();
    b.actions.clear();
    b.event(Event::Touch);
    for d in code.chars() {
        b.event(Event::Key(Key::Digit(d.to_digit(10).unwrap() as u8)));
    }
    b.event(Event::Key(Key::Ok));
    assert!(b.unlocked());
}

#[test]
fn notices_reach_administrators_and_users_sealed() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let recipients: Vec<u16> = b.proto.notice_recipients().collect();
    assert_eq!(recipients, vec![admin.pairing()]);
    let out = b
        .proto
        .encode_notice(admin.pairing(), lock_core::Notice::Doorbell)
        .unwrap();
    let frame = out
        .into_iter()
        .find_map(|o| match o {
            Output::Send(f) => Some(f),
            _ => None,
        })
        .unwrap();
    assert!(matches!(
        admin.open(&frame).unwrap(),
        FromLock::Notice(lock_core::Notice::Doorbell)
    ));
}

#[test]
fn factory_reset_forgets_every_pairing_and_changes_the_visitor_secret() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    visitor_book(&mut b, &mut admin).unwrap();
    assert_eq!(b.proto.visitor_code_verifier().issuers().count(), 1);
    let old_book = b.proto.visitor_code_verifier();
    let out = b.proto.factory_reset(&mut b.rng).unwrap();
    for o in out {
        if let Output::Persist(c) = o {
            b.proto_flash.apply(&c);
        }
    }
    assert_eq!(b.proto.pairings().count(), 0);
    assert_eq!(b.proto_flash, b.proto.snapshot());
    assert_ne!(b.proto.lock_id(), old_book.lock_id());
    assert_eq!(b.proto.visitor_code_verifier().issuers().count(), 0);
    let f = admin.request(&Request::Challenge).unwrap();
    assert_eq!(
        b.receive(Link::Bluetooth, &f),
        Err(FrameError::UnknownPairing)
    );
}

#[test]
fn s_vc_3_a_clock_step_back_never_revives_an_expired_visitor_key() {
    let (mut b, mut admin, mut visitor, _) = with_visitor_key(60);
    let r = b.command(&mut visitor, Link::Bluetooth, AppCommand::Unlock);
    assert!(matches!(r, Response::Reply(Reply::Done)), "{r:?}");
    // Two minutes on the key has expired; the administrator's phone sets
    // the clock back a minute and a half, within the step it may take.
    b.wait_ms(120_000);
    b.set_clock(&mut admin, 1_000_030);
    let f = visitor.request(&Request::Challenge).unwrap();
    b.receive(Link::Bluetooth, &f).ok();
    let answers: Vec<_> = b
        .sent
        .clone()
        .iter()
        .filter_map(|frame| visitor.open(frame).ok())
        .collect();
    assert!(
        answers
            .iter()
            .all(|a| !matches!(a, FromLock::Response(Response::Challenge { .. }))),
        "the expired key got a challenge again: {answers:?}"
    );
}

/// The pairing id and counter as they are on the wire (bytes 2..12).
fn clear_ids(frame: &[u8]) -> (u16, u64) {
    (
        u16::from_le_bytes([frame[2], frame[3]]),
        u64::from_le_bytes(frame[4..12].try_into().unwrap()),
    )
}

#[test]
fn s_pr_8_frames_of_an_administrator_and_a_visitor_carry_no_readable_pairing_or_counter() {
    let (mut b, mut admin, mut visitor, _) = with_visitor_key(3600);
    assert_ne!(admin.pairing(), visitor.pairing());
    let status = Request::Command {
        command: AppCommand::Status,
        challenge: None,
    };
    let mut headers = Vec::new();
    for phone in [&mut admin, &mut visitor] {
        let id = phone.pairing();
        let keys = FrameKeys::derive(&phone.save().key);
        for _ in 0..8 {
            let f = phone.request(&status).unwrap();
            let frame = Frame::new_checked(&f[..]).unwrap();
            // The keys read the real values back...
            let (pairing, counter, _) = crypto::unprotect(&keys, Direction::PhoneToLock, &frame);
            assert_eq!((pairing, counter), (id, phone.save().sent));
            // ...the bytes on the wire are neither.
            let (wire_id, wire_counter) = clear_ids(&f);
            assert_ne!(wire_id, id, "the pairing id is in clear");
            assert_ne!(wire_counter, counter, "the counter is in clear");
            assert!(
                !f[2..12].windows(2).any(|w| w == id.to_le_bytes()),
                "the pairing id appears in the header"
            );
            headers.push(f[..14].to_vec());
            // The lock still knows who sent it.
            b.ask(phone, Link::Bluetooth, &f);
        }
    }
    // Same kind, same length, same request: the headers differ from frame
    // to frame, and nothing in them tells the two pairings apart but noise.
    let mut unique = headers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), headers.len(), "a header repeats");
    for h in &headers {
        assert_eq!(h[0..2], headers[0][0..2], "version and kind");
        assert_eq!(h[12..14], headers[0][12..14], "the padded length");
    }
    // The lock's answers are masked too.
    let f = admin.request(&status).unwrap();
    b.receive(Link::Bluetooth, &f).unwrap();
    assert_ne!(clear_ids(&b.sent[0]).0, admin.pairing());
}

#[test]
fn s_pr_8_unlock_status_and_admin_requests_have_one_length() {
    let (mut b, mut admin, mut visitor, _) = with_visitor_key(3600);
    let given = [7u8; 16];
    let c = Some(given);
    let longest = [
        Request::Command {
            command: AppCommand::AddPerson {
                number: None,
                role: lock_core::Role::Administrator,
                passcode: lock_core::Passcode::new(&[9; 10]).unwrap(),
                validity: Validity {
                    from: Some(Timestamp(u64::MAX)),
                    until: Some(Timestamp(u64::MAX)),
                },
            },
            challenge: c,
        },
        Request::Command {
            command: AppCommand::NamePerson {
                person: PersonNumber::new(255).unwrap_or(PersonNumber::FIRST),
                name: lock_core::Name::new("ABCDEFGHIJKLMNOP").unwrap(),
            },
            challenge: c,
        },
        Request::IssueKey {
            privilege: Privilege::Administrator,
            validity: Validity {
                from: Some(Timestamp(u64::MAX)),
                until: Some(Timestamp(u64::MAX)),
            },
            challenge: given,
        },
        Request::ReadLog {
            before: Some(u32::MAX),
            challenge: given,
        },
    ];
    let everyday = [
        Request::Challenge,
        Request::Command {
            command: AppCommand::Status,
            challenge: None,
        },
        Request::Command {
            command: AppCommand::Unlock,
            challenge: c,
        },
        Request::Command {
            command: AppCommand::Lock,
            challenge: c,
        },
        Request::ListPairings { challenge: given },
        Request::VisitorSecret { challenge: given },
    ];
    // Every request fits the small size, with its length prefix.
    let mut buf = [0u8; lock_proto::wire::MAX_BODY];
    let bodies: Vec<usize> = longest
        .iter()
        .chain(&everyday)
        .map(|r| lock_proto::message::encode(r, &mut buf).unwrap())
        .collect();
    let most = bodies.iter().max().copied().unwrap();
    println!("S-PR-8: request bodies {bodies:?} bytes, the longest {most}");
    assert!(
        most + lock_proto::wire::LENGTH_PREFIX <= usize::from(lock_proto::wire::SEALED_SIZES[0])
    );
    let len = admin.request(&Request::Challenge).unwrap().len();
    for r in longest.iter().chain(&everyday) {
        assert_eq!(admin.request(r).unwrap().len(), len, "{r:?}");
        assert_eq!(visitor.request(r).unwrap().len(), len, "{r:?}");
    }
    assert_eq!(
        len,
        lock_proto::wire::HEADER_LEN
            + usize::from(lock_proto::wire::SEALED_SIZES[0])
            + lock_proto::wire::TAG_LEN
    );
    // The answers too: a challenge, a reply to Status and to Unlock.
    let ch = admin.request(&Request::Challenge).unwrap();
    b.receive(Link::Bluetooth, &ch).unwrap();
    let challenge_answer = b.sent[0].len();
    admin.open(&b.sent[0]).unwrap();
    let st = admin
        .request(&Request::Command {
            command: AppCommand::Status,
            challenge: None,
        })
        .unwrap();
    b.receive(Link::Bluetooth, &st).unwrap();
    let status_answer = b.sent.last().unwrap().len();
    assert_eq!(challenge_answer, len);
    assert_eq!(status_answer, len);
}

#[test]
fn s_pr_8_a_frame_under_one_pairing_is_never_taken_as_another() {
    let (mut b, mut admin, mut visitor, _) = with_visitor_key(3600);
    let mut user = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    let phones = [&mut admin, &mut visitor, &mut user];
    let keys: Vec<(u16, FrameKeys)> = phones
        .iter()
        .map(|p| (p.pairing(), FrameKeys::derive(&p.save().key)))
        .collect();
    for (i, phone) in phones.into_iter().enumerate() {
        for n in 0..50u8 {
            let f = phone
                .request(&Request::Command {
                    command: AppCommand::Unlock,
                    challenge: Some([n; 16]),
                })
                .unwrap();
            let frame = Frame::new_checked(&f[..]).unwrap();
            let mut out = [0u8; lock_proto::wire::MAX_BODY];
            for (j, (id, k)) in keys.iter().enumerate() {
                let mut work = crypto::TrialWork::default();
                let opened = crypto::open_any(
                    [(*id, k)],
                    Direction::PhoneToLock,
                    &frame,
                    &mut out,
                    &mut work,
                );
                if i == j {
                    assert_eq!(opened.map(|o| o.pairing), Ok(*id));
                } else {
                    assert!(
                        matches!(opened, Err(FrameError::UnknownPairing | FrameError::BadTag)),
                        "pairing {}'s frame opened as {id}: {opened:?}",
                        keys[i].0
                    );
                }
            }
            // All the lock's pairings tried together: the sender's only.
            let mut work = crypto::TrialWork::default();
            let opened = crypto::open_any(
                keys.iter().map(|(id, k)| (*id, k)),
                Direction::PhoneToLock,
                &frame,
                &mut out,
                &mut work,
            );
            assert_eq!(opened.map(|o| o.pairing), Ok(keys[i].0));
        }
    }
    // And the lock, end to end: the visitor's Unlock is a visitor's (its
    // refusals are a visitor's, never an administrator's grant).
    let c = b.challenge(&mut visitor, Link::Bluetooth);
    let f = visitor
        .request(&Request::Command {
            command: AppCommand::LiftLockout,
            challenge: Some(c),
        })
        .unwrap();
    let r = b.ask(&mut visitor, Link::Bluetooth, &f);
    assert!(
        matches!(r, Response::Refused(ProtoRefusal::NotPermitted)),
        "{r:?}"
    );
}

#[test]
fn s_pr_8_a_damaged_mask_is_refused_with_a_typed_error() {
    let mut b = Bench::new();
    let mut phone = b.pair();
    let status = Request::Command {
        command: AppCommand::Status,
        challenge: None,
    };
    // Every bit of the masked pairing id and counter, and of the sample the
    // mask is made from, flipped in turn.
    for bit in (2 * 8..12 * 8).chain(14 * 8..30 * 8) {
        let mut f = phone.request(&status).unwrap();
        f[bit / 8] ^= 1 << (bit % 8);
        b.wait_ms(60_000); // a fresh failure budget each time
        let e = b.receive(Link::Bluetooth, &f).unwrap_err();
        assert!(
            matches!(e, FrameError::UnknownPairing | FrameError::BadTag),
            "bit {bit}: {e:?}"
        );
        assert!(b.actions.is_empty());
    }
    // The pairing still works.
    let f = phone.request(&status).unwrap();
    b.ask(&mut phone, Link::Bluetooth, &f);
}

#[test]
fn s_pr_8_a_strangers_frame_costs_a_bounded_amount_of_work() {
    // The lock's most: MAX_PAIRINGS pairings and an exchange being made.
    let keys: Vec<(u16, FrameKeys)> = (1..=lock_proto::MAX_PAIRINGS as u16 + 1)
        .map(|id| (id, FrameKeys::derive(&[id as u8; 32])))
        .collect();
    assert_eq!(keys.len(), crypto::MAX_CANDIDATES);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut most = crypto::TrialWork::default();
    let mut opens = 0;
    for _ in 0..2_000 {
        let mut f = vec![VERSION, 0x10];
        for _ in 0..(12 + 96 + 16) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f.push(x as u8);
        }
        f[12..14].copy_from_slice(&96u16.to_le_bytes());
        let frame = Frame::new_checked(&f[..]).unwrap();
        let mut out = [0u8; lock_proto::wire::MAX_BODY];
        let mut work = crypto::TrialWork::default();
        let e = crypto::open_any(
            keys.iter().map(|(id, k)| (*id, k)),
            Direction::PhoneToLock,
            &frame,
            &mut out,
            &mut work,
        )
        .unwrap_err();
        assert!(matches!(e, FrameError::UnknownPairing | FrameError::BadTag));
        // One mask per candidate; an open only where a mask gave the
        // candidate's own id.
        assert_eq!(work.masks, crypto::MAX_CANDIDATES);
        assert!(work.opens <= crypto::MAX_CANDIDATES);
        opens += work.opens;
        most.opens = most.opens.max(work.opens);
    }
    // 2,000 frames × 17 candidates, each id matching one time in 65,536:
    // about 0.5 opens in all.
    println!(
        "S-PR-8: 2000 stranger frames cost {opens} AEAD opens, at most {} in one",
        most.opens
    );
    assert!(opens <= 5, "{opens} opens for 2000 stranger frames");
    // More candidates than the lock can hold are not tried.
    let many: Vec<(u16, FrameKeys)> = (1..=40u16)
        .map(|id| (id, FrameKeys::derive(&[id as u8; 32])))
        .collect();
    let f = Phone::with_key(40, [40; 32])
        .request(&Request::Challenge)
        .unwrap();
    let frame = Frame::new_checked(&f[..]).unwrap();
    let mut out = [0u8; lock_proto::wire::MAX_BODY];
    let mut work = crypto::TrialWork::default();
    let r = crypto::open_any(
        many.iter().map(|(id, k)| (*id, k)),
        Direction::PhoneToLock,
        &frame,
        &mut out,
        &mut work,
    );
    assert_eq!(work.masks, crypto::MAX_CANDIDATES);
    assert!(r.is_err());
}

// ----- visitor codes per phone (S-VC-5) -----------------------------------

/// The phone asks for its visitor-code secret: its book, or the refusal.
fn visitor_book(b: &mut Bench, phone: &mut Phone) -> Result<VisitorCodeBook, ProtoRefusal> {
    let ch = b.challenge(phone, Link::Bluetooth);
    let f = phone
        .request(&Request::VisitorSecret { challenge: ch })
        .unwrap();
    match b.ask(phone, Link::Bluetooth, &f) {
        Response::VisitorSecret { lock_id, secret } => Ok(VisitorCodeBook::new(lock_id, secret)),
        Response::Refused(refusal) => Err(refusal),
        other => panic!("{other:?}"),
    }
}

/// A window code (profile 4: 24 hours from `start`) of `book`, typed at the
/// keypad; whether the bolt was driven open. The bolt is locked again
/// after.
fn opens(b: &mut Bench, book: &VisitorCodeBook, start: u32, sequence: u8) -> bool {
    let code = book
        .code(&lock_proto::VisitorCodeSpec {
            profile: 4,
            start_hour: start,
            sequence,
        })
        .unwrap()
        .to_string();
    b.actions.clear();
    b.event(Event::Touch);
    for d in code.chars() {
        b.event(Event::Key(Key::Digit(d.to_digit(10).unwrap() as u8)));
    }
    b.event(Event::Key(Key::Ok));
    let opened = b.unlocked();
    b.wait_ms(10_000);
    b.event(Event::LockButton);
    b.wait_ms(10_000);
    opened
}

const HOUR_SECS: u64 = 3600;
const START: u32 = 500_000;

#[test]
fn s_vc_5_a_revoked_administrators_codes_stop_opening_while_anothers_keep_working() {
    let mut b = Bench::new();
    let mut alice = b.pair();
    let mut bob = b.pair();
    let alices = visitor_book(&mut b, &mut alice).unwrap();
    let bobs = visitor_book(&mut b, &mut bob).unwrap();
    b.set_clock(&mut alice, u64::from(START) * HOUR_SECS + 60);
    assert!(opens(&mut b, &alices, START, 0));
    assert!(opens(&mut b, &bobs, START, 0));
    // Both phones' pairings are recorded as making codes, on flash.
    assert_eq!(
        b.proto_flash
            .pairings
            .iter()
            .filter(|p| p.visitor_codes)
            .count(),
        2
    );

    // Alice revokes Bob's phone: his codes stop opening, made before or
    // after; hers keep working.
    let ch = b.challenge(&mut alice, Link::Bluetooth);
    let f = alice
        .request(&Request::RevokePairing {
            pairing: bob.pairing(),
            challenge: ch,
        })
        .unwrap();
    assert!(matches!(
        b.ask(&mut alice, Link::Bluetooth, &f),
        Response::Done
    ));
    assert!(!opens(&mut b, &bobs, START, 0));
    assert!(!opens(&mut b, &bobs, START, 1));
    assert!(opens(&mut b, &alices, START, 0));
    assert!(opens(&mut b, &alices, START, 1));

    // Also after a power cycle, with what was persisted.
    b.power_cycle();
    b.set_clock(&mut alice, u64::from(START) * HOUR_SECS + 120);
    assert!(!opens(&mut b, &bobs, START, 2));
    assert!(opens(&mut b, &alices, START, 2));
}

#[test]
fn s_vc_5_a_lock_where_nobody_asked_accepts_no_code_and_marks_no_hour() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    // The secret the lock would give this phone, computed from what it
    // holds: with nobody asked, its codes do not open.
    let identity = b.proto_flash.identity.clone().unwrap();
    let record = b.proto_flash.pairings[0].clone();
    let would_be = VisitorCodeBook::new(
        identity.lock_id,
        lock_proto::visitor::issuer_secret(&identity.visitor_secret, record.id, &record.key),
    );
    assert!(b.proto.visitor_code_verifier().issuers().next().is_none());
    // 7 minutes past the hour. The lock marks its clock in its hourly wake
    // (R-NRG-1), at whole hours; no visitor code window ends, so no
    // deadline is one of the clock's marks.
    b.set_clock(&mut admin, u64::from(START) * HOUR_SECS + 7 * 60);
    assert!(!opens(&mut b, &would_be, START, 0));
    let (marks, timers) = marks_for(&mut b, 3 * HOUR_SECS);
    assert_eq!(marks.len(), 3, "{marks:?}");
    assert!(
        timers.iter().all(|t| *t == lock_core::Timer::Hourly),
        "a window end with no visitor code possible: {timers:?}"
    );

    // Once the phone asks, its codes open, and windows end each hour
    // (S-VC-3), marked in the same hourly wake.
    let book = visitor_book(&mut b, &mut admin).unwrap();
    assert_eq!(book.lock_id(), would_be.lock_id());
    assert!(opens(&mut b, &book, START, 0));
    let (marks, timers) = marks_for(&mut b, 3 * HOUR_SECS);
    assert!(timers.contains(&lock_core::Timer::ClockMark), "{timers:?}");
    assert_eq!(marks.len(), 3, "one mark an hour: {marks:?}");
    assert!(marks.iter().all(|t| *t % HOUR_SECS == 0), "{marks:?}");
}

/// Runs the lock through its deadlines for `secs` seconds: the clock marks
/// it persisted (S-VC-3), in wall-clock seconds, and whose deadline each
/// wake was.
fn marks_for(b: &mut Bench, secs: u64) -> (Vec<u64>, Vec<lock_core::Timer>) {
    let end = b.now + secs * 1000;
    let mut marks = Vec::new();
    let mut timers = Vec::new();
    while let Some((due, timer)) = b.lock.next_timer() {
        let due = due.millis();
        if due > end {
            break;
        }
        timers.push(timer);
        b.now = b.now.max(due.saturating_sub(100));
        for a in b.event(Event::Tick) {
            if let Action::Persist(lock_core::Change::ClockMark(t)) = a {
                marks.push(t.0);
            }
        }
    }
    (marks, timers)
}

#[test]
fn s_vc_5_a_fifth_issuer_is_refused_and_nothing_is_written() {
    let mut b = Bench::new();
    let mut phones: Vec<Phone> = (0..5).map(|_| b.pair()).collect();
    let mut books = Vec::new();
    for phone in phones.iter_mut().take(lock_proto::visitor::MAX_ISSUERS) {
        books.push(visitor_book(&mut b, phone).unwrap());
    }
    // Asking again gives the same secret and writes nothing.
    let before = b.persists;
    let again = visitor_book(&mut b, &mut phones[0]).unwrap();
    let spec = lock_proto::VisitorCodeSpec {
        profile: 1,
        start_hour: START,
        sequence: 0,
    };
    assert_eq!(again.code(&spec), books[0].code(&spec));
    assert_eq!(b.persists, before, "a second request writes nothing");

    // The fifth is refused, with its reason, and nothing is written.
    let fifth = visitor_book(&mut b, &mut phones[4]);
    assert_eq!(fifth.err(), Some(ProtoRefusal::IssuersFull));
    assert_eq!(b.persists, before);
    assert_eq!(b.proto.visitor_code_verifier().issuers().count(), 4);

    // Once one of the four is revoked, the fifth may make codes.
    let gone = phones[1].pairing();
    let ch = b.challenge(&mut phones[0], Link::Bluetooth);
    let f = phones[0]
        .request(&Request::RevokePairing {
            pairing: gone,
            challenge: ch,
        })
        .unwrap();
    assert!(matches!(
        b.ask(&mut phones[0], Link::Bluetooth, &f),
        Response::Done
    ));
    assert!(visitor_book(&mut b, &mut phones[4]).is_ok());
    let issuers: Vec<u16> = b.proto.visitor_code_verifier().issuers().collect();
    assert!(!issuers.contains(&gone));
    assert!(issuers.contains(&phones[4].pairing()));
}

#[test]
fn s_vc_5_a_reused_pairing_id_never_gets_an_old_secret_back() {
    let mut b = Bench::new();
    let mut alice = b.pair();
    let mut bob = b.pair();
    let bobs = visitor_book(&mut b, &mut bob).unwrap();
    let ch = b.challenge(&mut alice, Link::Bluetooth);
    let f = alice
        .request(&Request::RevokePairing {
            pairing: bob.pairing(),
            challenge: ch,
        })
        .unwrap();
    b.ask(&mut alice, Link::Bluetooth, &f);
    // Carol pairs into Bob's old id.
    let mut carol = b.pair();
    assert_eq!(carol.pairing(), bob.pairing());
    let carols = visitor_book(&mut b, &mut carol).unwrap();
    let spec = lock_proto::VisitorCodeSpec {
        profile: 4,
        start_hour: START,
        sequence: 0,
    };
    assert_ne!(carols.code(&spec), bobs.code(&spec));
    b.set_clock(&mut alice, u64::from(START) * HOUR_SECS + 60);
    assert!(!opens(&mut b, &bobs, START, 0));
    assert!(opens(&mut b, &carols, START, 0));
}

fn update_step(
    b: &mut Bench,
    phone: &mut Phone,
    step: UpdateStep,
    challenge: Challenge,
) -> Response {
    let f = phone.request(&Request::Update { step, challenge }).unwrap();
    b.ask(phone, Link::Bluetooth, &f)
}

fn chunk(offset: u32) -> UpdateStep {
    UpdateStep::Chunk {
        offset,
        bytes: heapless::Vec::from_slice(&[0xA5; lock_proto::UPDATE_CHUNK]).unwrap(),
    }
}

#[test]
fn s_up_4_only_an_administrator_starts_an_update() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let ch = b.challenge(&mut admin, Link::Bluetooth);
    let header = heapless::Vec::from_slice(&[1, 2, 3]).unwrap();
    let answer = update_step(&mut b, &mut admin, UpdateStep::Begin { header }, ch);
    assert!(
        matches!(
            answer,
            Response::Update {
                state: UpdateState::Idle,
                ..
            }
        ),
        "{answer:?}"
    );
    let mut user = issue(&mut b, &mut admin, Privilege::User, Validity::ALWAYS);
    b.set_clock(&mut admin, 1_000_000);
    let window = Validity {
        from: Some(Timestamp(1_000_000)),
        until: Some(Timestamp(1_000_000 + 3_600)),
    };
    let mut visitor = issue(&mut b, &mut admin, Privilege::Visitor, window);
    for phone in [&mut user, &mut visitor] {
        b.wait_ms(7_000);
        let ch = b.challenge(phone, Link::Bluetooth);
        let header = heapless::Vec::from_slice(&[1, 2, 3]).unwrap();
        let answer = update_step(&mut b, phone, UpdateStep::Begin { header }, ch);
        assert!(
            matches!(answer, Response::Refused(ProtoRefusal::NotPermitted)),
            "{answer:?}"
        );
    }
}

#[test]
fn s_up_4_an_update_step_needs_a_fresh_challenge() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    // None asked for: refused.
    let answer = update_step(&mut b, &mut admin, UpdateStep::Status, [0; 16]);
    assert!(
        matches!(answer, Response::Refused(ProtoRefusal::NoFreshChallenge)),
        "{answer:?}"
    );
    // One used already: refused.
    let ch = b.challenge(&mut admin, Link::Bluetooth);
    let answer = update_step(&mut b, &mut admin, UpdateStep::Status, ch);
    assert!(matches!(answer, Response::Update { .. }), "{answer:?}");
    let answer = update_step(&mut b, &mut admin, UpdateStep::Status, ch);
    assert!(
        matches!(answer, Response::Refused(ProtoRefusal::NoFreshChallenge)),
        "{answer:?}"
    );
}

#[test]
fn s_up_4_each_update_answer_carries_the_next_steps_challenge() {
    let mut b = Bench::new();
    let mut admin = b.pair();
    let mut ch = b.challenge(&mut admin, Link::Bluetooth);
    let step = lock_proto::UPDATE_CHUNK as u32;
    // Far more steps than S-PR-5's challenges a minute, back to back.
    let steps = u32::from(lock_proto::CHALLENGES_PER_MINUTE) * 3;
    let mut replay = None;
    for n in 0..steps {
        let f = admin
            .request(&Request::Update {
                step: chunk(n * step),
                challenge: ch,
            })
            .unwrap();
        match b.ask(&mut admin, Link::Bluetooth, &f) {
            Response::Update {
                state: UpdateState::Receiving { have, .. },
                challenge,
                ..
            } => {
                assert_eq!(have, (n + 1) * step);
                ch = challenge;
            }
            other => panic!("step {n}: {other:?}"),
        }
        replay = Some(f);
    }
    // A step heard again is dropped before dispatch (its counter is spent;
    // its challenge too).
    assert_eq!(
        b.receive(Link::Bluetooth, &replay.unwrap()),
        Err(FrameError::Replay)
    );
}

#[test]
fn an_update_chunk_is_its_offset_its_length_then_its_bytes() {
    // The README's encoding: `2` Chunk { u32 offset, bytes }, postcard
    // varints, the bytes raw (as a sequence of u8 would be).
    let step = UpdateStep::Chunk {
        offset: 300,
        bytes: heapless::Vec::from_slice(&[7, 8, 9]).unwrap(),
    };
    let mut buf = [0u8; lock_proto::wire::MAX_BODY];
    let n = lock_proto::message::encode(&step, &mut buf).unwrap();
    assert_eq!(buf[..n], [2, 0xAC, 0x02, 3, 7, 8, 9]);
    let back: UpdateStep = lock_proto::message::decode(&buf[..n]).unwrap();
    assert_eq!(back, step);
    // More bytes than a chunk holds: malformed, not truncated.
    let mut long = vec![2, 0, 0x81, 0x03];
    long.extend(std::iter::repeat_n(0u8, 385));
    assert!(lock_proto::message::decode::<UpdateStep>(&long).is_err());
}
