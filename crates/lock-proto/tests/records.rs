//! S-ST-6: a pairing's key is in one record on flash, and gone from the raw
//! image once a revocation's page has rotated; secrets are wiped when their
//! holders are dropped. S-ST-3 for the split records: restoring refuses what
//! the protocol never writes.
//!
//! The protocol's records go through the real store (`lock_store::Store`)
//! onto its mock NOR flash, whose raw bytes the tests search.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use lock_core::{AppCommand, Instant, Link, Privilege, Validity};
use lock_proto::{
    FromLock, Identity, Output, PairingRecord, Phone, ProtoChange, ProtoSnapshot, Protocol,
    Request, Response, RestoreError, SavedPhone, VisitorCodeBook,
};
use lock_store::mock_flash::MockFlash;
use lock_store::{Store, StoreConfig};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Small 1 KiB sectors, so the state pages fill and rotate within a test.
type Flash = MockFlash<4, 1024>;

const SECTOR: u32 = 1024;

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

fn block_on<T>(f: impl Future<Output = T>) -> T {
    embassy_futures::block_on(f)
}

/// Thirty-two bytes that occur nowhere by chance.
fn key(seed: u8) -> [u8; 32] {
    core::array::from_fn(|i| seed ^ (i as u8).wrapping_mul(37).wrapping_add(0x5b))
}

/// How often `needle` occurs in the raw flash image.
fn occurrences(flash: &Flash, needle: &[u8]) -> usize {
    flash
        .bytes()
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// A lock whose protocol keeps its records in a store on the mock flash,
/// with an administrator's phone (pairing 1) and a user's key (pairing 2).
struct Lock {
    store: Store<Flash>,
    state_sectors: usize,
    proto: Protocol,
    rng: TestRng,
    now: Instant,
    admin: Phone,
    user: Phone,
    records_written: usize,
}

impl Lock {
    fn new() -> Lock {
        let state_end = StoreConfig::min_state_bytes::<Flash>().next_multiple_of(SECTOR);
        let config = StoreConfig::state_then_log(state_end, 4 * SECTOR);
        let flash = Flash::new((config.log.end / SECTOR) as usize);
        let mut store = Store::new(flash, config).unwrap();
        block_on(store.load()).unwrap();
        let identity = Identity {
            lock_id: [7; 8],
            secret: key(0x11),
            visitor_secret: key(0x22),
        };
        let mut snapshot = ProtoSnapshot::default();
        snapshot.apply(&ProtoChange::Identity(identity.clone()));
        let mut changes = vec![ProtoChange::Identity(identity)];
        for (id, privilege, seed) in [
            (1, Privilege::Administrator, 0xA1),
            (2, Privilege::User, 0xB2),
        ] {
            let change = ProtoChange::Pairing(PairingRecord {
                id,
                privilege,
                validity: Validity::ALWAYS,
                key: key(seed),
                received: 0,
                sent_reserved: 64,
                visitor_codes: false,
            });
            snapshot.apply(&change);
            changes.push(change);
        }
        let mut lock = Lock {
            store,
            state_sectors: (state_end / SECTOR) as usize,
            proto: Protocol::restore(&snapshot).unwrap(),
            rng: TestRng(0x5eed),
            now: Instant::from_secs(1_000),
            admin: Phone::with_key(1, key(0xA1)),
            user: Phone::with_key(2, key(0xB2)),
            records_written: 0,
        };
        for change in &changes {
            lock.persist(change);
        }
        lock
    }

    fn persist(&mut self, change: &ProtoChange) {
        for (slot, record) in change.records().unwrap().iter() {
            block_on(self.store.write_app(*slot, record.as_deref())).unwrap();
            self.records_written += 1;
        }
    }

    /// Hands a frame to the protocol, persists what it asks, and returns
    /// the frames it sends.
    fn frame(&mut self, frame: &[u8]) -> Vec<Output> {
        let out = self
            .proto
            .handle_frame(self.now, None, Link::Bluetooth, frame, &mut self.rng)
            .unwrap();
        for o in &out {
            if let Output::Persist(change) = o {
                self.persist(change);
            }
        }
        out.into_iter().collect()
    }

    /// One challenged command from `who`'s phone: a challenge, then the
    /// command, which persists the phone's counter (S-PR-3).
    fn command(&mut self, admin: bool, command: AppCommand) {
        // Within each pairing's challenge budget (S-PR-5) and write budget
        // (S-PR-6: one a minute kept up).
        self.now = self.now + lock_proto::WRITE_REFILL;
        let request = if admin {
            &mut self.admin
        } else {
            &mut self.user
        }
        .request(&Request::Challenge)
        .unwrap();
        let out = self.frame(&request);
        let phone = if admin {
            &mut self.admin
        } else {
            &mut self.user
        };
        let challenge = out
            .iter()
            .find_map(|o| match o {
                Output::Send(f) => match phone.open(f) {
                    Ok(FromLock::Response(Response::Challenge { challenge, .. })) => {
                        Some(challenge)
                    }
                    _ => None,
                },
                _ => None,
            })
            .expect("a challenge");
        let request = phone
            .request(&Request::Command {
                command,
                challenge: Some(challenge),
            })
            .unwrap();
        let out = self.frame(&request);
        assert!(
            out.iter().any(|o| matches!(o, Output::Request { .. })),
            "the command reaches the lock: {out:?}"
        );
    }

    fn erase_counts(&self) -> Vec<u32> {
        self.store.flash().erase_counts()[..self.state_sectors].to_vec()
    }
}

#[test]
fn s_st_6_a_pairing_key_is_in_one_record_on_flash_over_many_counter_updates() {
    let mut lock = Lock::new();
    let before = lock.erase_counts();
    let admin_key = key(0xA1);
    for i in 0..1_500 {
        lock.command(true, AppCommand::Unlock);
        if i % 50 == 0 {
            assert_eq!(
                occurrences(lock.store.flash(), &admin_key),
                1,
                "after {i} commands"
            );
        }
    }
    let rotated = lock
        .erase_counts()
        .iter()
        .zip(&before)
        .filter(|(now, then)| now > then)
        .count();
    println!(
        "{} records written, {rotated} of {} state pages rotated",
        lock.records_written, lock.state_sectors
    );
    assert!(
        rotated > 0,
        "the pages rotated: the key record was migrated"
    );
    assert_eq!(occurrences(lock.store.flash(), &admin_key), 1);
    assert_eq!(occurrences(lock.store.flash(), &key(0xB2)), 1);
    // And the store reads back what the protocol holds.
    let mut snapshot = ProtoSnapshot::default();
    block_on(lock.store.for_each_app(|slot, record| {
        match record {
            Some(bytes) => snapshot.add_record(slot, bytes),
            None => snapshot.remove_record(slot),
        }
        .unwrap();
    }))
    .unwrap();
    assert_eq!(snapshot, lock.proto.snapshot());
}

#[test]
fn s_st_6_a_revoked_key_is_gone_from_flash_once_its_page_rotates() {
    let mut lock = Lock::new();
    let user_key = key(0xB2);
    for _ in 0..20 {
        lock.command(false, AppCommand::Unlock);
    }
    assert_eq!(occurrences(lock.store.flash(), &user_key), 1);
    let change = lock.proto.revoke(2).expect("pairing 2 exists");
    lock.persist(&change);
    assert_eq!(
        occurrences(lock.store.flash(), &user_key),
        1,
        "still on flash until its page is erased"
    );
    let at_revocation = lock.erase_counts();
    let mut commands = 0;
    while lock
        .erase_counts()
        .iter()
        .zip(&at_revocation)
        .any(|(now, then)| now == then)
    {
        lock.command(true, AppCommand::Lock);
        commands += 1;
        assert!(commands < 20_000, "the state pages never all rotated");
    }
    println!(
        "every state page erased after {commands} further commands ({} records written)",
        lock.records_written
    );
    assert_eq!(occurrences(lock.store.flash(), &user_key), 0);
    assert_eq!(occurrences(lock.store.flash(), &key(0xA1)), 1);
}

#[test]
fn s_st_6_key_holders_are_wiped_when_dropped() {
    fn wiped_on_drop<T: ZeroizeOnDrop>() {}
    wiped_on_drop::<Identity>();
    wiped_on_drop::<PairingRecord>();
    wiped_on_drop::<SavedPhone>();
    wiped_on_drop::<VisitorCodeBook>();
    wiped_on_drop::<lock_proto::crypto::FrameKeys>();
    wiped_on_drop::<lock_proto::crypto::PairingSecrets>();
    // What each Drop does, seen on a live value: reading a dropped value's
    // memory would need unsafe code, which the workspace forbids.
    let mut record = PairingRecord {
        id: 3,
        privilege: Privilege::User,
        validity: Validity::ALWAYS,
        key: key(0xC3),
        received: 9,
        sent_reserved: 64,
        visitor_codes: false,
    };
    record.zeroize();
    assert_eq!(record.key, [0; 32]);
    let mut identity = Identity {
        lock_id: [7; 8],
        secret: key(0x11),
        visitor_secret: key(0x22),
    };
    identity.zeroize();
    assert_eq!(
        (identity.secret, identity.visitor_secret),
        ([0; 32], [0; 32])
    );
    // A change's encoded records hold the key; `records()` wipes them when
    // dropped, and a counter record never holds it.
    let change = ProtoChange::Counters(
        PairingRecord {
            key: key(0xC3),
            ..record.clone()
        }
        .counters(),
    );
    for (_, bytes) in change.records().unwrap().iter() {
        let bytes = bytes.as_deref().unwrap();
        assert!(!bytes.windows(32).any(|w| w == key(0xC3)));
    }
}

#[test]
fn s_st_6_restore_refuses_a_key_without_its_counters_and_drops_counters_without_a_key() {
    let identity = Identity {
        lock_id: [7; 8],
        secret: key(0x11),
        visitor_secret: key(0x22),
    };
    let record = PairingRecord {
        id: 4,
        privilege: Privilege::User,
        validity: Validity::ALWAYS,
        key: key(0xD4),
        received: 12,
        sent_reserved: 128,
        visitor_codes: false,
    };
    let mut snapshot = ProtoSnapshot::default();
    snapshot.apply(&ProtoChange::Identity(identity.clone()));
    snapshot.apply(&ProtoChange::Pairing(record.clone()));
    // Replayed record by record, as a boot reads them.
    let mut replayed = ProtoSnapshot::default();
    for change in [
        ProtoChange::Identity(identity),
        ProtoChange::Pairing(record.clone()),
    ] {
        for (slot, bytes) in change.records().unwrap().iter() {
            replayed
                .add_record(*slot, bytes.as_deref().unwrap())
                .unwrap();
        }
    }
    assert_eq!(replayed, snapshot);
    let restored = Protocol::restore(&replayed).unwrap();
    assert_eq!(restored.snapshot(), snapshot, "the counters come back");

    // A key record without its counter record: only damage leaves it.
    let mut no_counters = snapshot.clone();
    no_counters.counters.clear();
    assert_eq!(
        Protocol::restore(&no_counters).err(),
        Some(RestoreError::NoCounters)
    );
    // A counter record without its key record: a revocation cut between its
    // two writes (the key record goes first). It grants nothing and is
    // dropped.
    let mut cut = snapshot.clone();
    let revoke = ProtoChange::PairingRevoked(4).records().unwrap();
    let (key_slot, emptied) = &revoke[0];
    assert!(emptied.is_none());
    cut.remove_record(*key_slot).unwrap();
    assert_eq!(cut.counters.len(), 1);
    let restored = Protocol::restore(&cut).unwrap();
    assert_eq!(restored.pairings().count(), 0);
    // A key record carrying counters is not one the protocol writes.
    let mut bytes = [0u8; 96];
    bytes[0] = lock_proto::RECORD_VERSION;
    let n = postcard::to_slice(&record, &mut bytes[1..]).unwrap().len();
    assert_eq!(
        ProtoSnapshot::default().add_record(4, &bytes[..=n]),
        Err(lock_proto::RecordError::Malformed)
    );
    // Two counter records for one pairing, or one out of range.
    let mut twice = snapshot.clone();
    twice.counters.push(record.counters()).unwrap();
    assert_eq!(
        Protocol::restore(&twice).err(),
        Some(RestoreError::PairingId)
    );
}
