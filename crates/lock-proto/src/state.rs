//! What the protocol keeps across power cuts, as one serde value
//! ([`ProtoSnapshot`]) and the change records that build it ([`ProtoChange`]),
//! the way `lock-core` has `Snapshot` and `Change`: every
//! [`Output::Persist`](crate::Output::Persist) must reach flash before the
//! outputs after it run, and replaying them in order onto
//! [`ProtoSnapshot::default`] gives [`Protocol::snapshot`](crate::Protocol::snapshot).

use lock_core::{Privilege, Validity};
use serde::{Deserialize, Serialize};

/// Pairings and issued keys the lock holds at once.
pub const MAX_PAIRINGS: usize = 16;

/// The lock's own secrets, made at its first start and at every factory reset.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The lock's id: random, public, part of every visitor code.
    pub lock_id: [u8; 8],
    /// The X25519 identity secret.
    pub secret: [u8; 32],
    /// The visitor-code secret (R-APP-4): no phone gets it; each
    /// administrator's phone that asks gets a secret derived from it for
    /// its pairing (`visitor::issuer_secret`, S-VC-5).
    pub visitor_secret: [u8; 32],
}

impl core::fmt::Debug for Identity {
    /// Never prints a secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Identity(lock {:02x?})", self.lock_id)
    }
}

/// One pairing or issued key, as persisted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingRecord {
    /// Its id, `1..`; frames carry it.
    pub id: u16,
    /// What it may do (S-PR-4).
    pub privilege: Privilege,
    /// When it works, on the lock's clock (S-VC-4).
    pub validity: Validity,
    /// The pairing key the frame keys derive from.
    pub key: [u8; 32],
    /// The highest phone counter accepted (S-PR-3): a frame must carry more.
    pub received: u64,
    /// The lock's counters below this may have been used: after a restart the
    /// lock continues from here, so no nonce repeats (S-PR-2).
    pub sent_reserved: u64,
    /// S-VC-5: this administrator's phone asked for its visitor-code secret,
    /// so the lock accepts the codes it makes (persisted before the secret
    /// is sent), until the pairing is revoked.
    pub visitor_codes: bool,
}

impl core::fmt::Debug for PairingRecord {
    /// Never prints the key.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PairingRecord")
            .field("id", &self.id)
            .field("privilege", &self.privilege)
            .field("validity", &self.validity)
            .field("received", &self.received)
            .field("sent_reserved", &self.sent_reserved)
            .field("visitor_codes", &self.visitor_codes)
            .finish_non_exhaustive()
    }
}

/// A change to persist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtoChange {
    /// The lock's identity as it now is.
    Identity(Identity),
    /// Store or replace this pairing (new, or a counter moved).
    Pairing(PairingRecord),
    /// Delete this pairing.
    PairingRevoked(u16),
    /// Erase every pairing (the identity follows as its own change).
    FactoryReset,
}

/// Everything the protocol must remember.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtoSnapshot {
    /// The identity, once made.
    pub identity: Option<Identity>,
    /// The pairings, in any order.
    pub pairings: heapless::Vec<PairingRecord, MAX_PAIRINGS>,
}

impl ProtoSnapshot {
    /// Applies one change, as a store does when it replays them.
    pub fn apply(&mut self, change: &ProtoChange) {
        match change {
            ProtoChange::Identity(identity) => self.identity = Some(identity.clone()),
            ProtoChange::Pairing(record) => {
                if let Some(existing) = self.pairings.iter_mut().find(|p| p.id == record.id) {
                    *existing = record.clone();
                } else {
                    // The protocol never has more than MAX_PAIRINGS; a longer
                    // replay is dropped here.
                    let _ = self.pairings.push(record.clone());
                }
            }
            ProtoChange::PairingRevoked(id) => self.pairings.retain(|p| p.id != *id),
            ProtoChange::FactoryReset => self.pairings.clear(),
        }
    }
}

/// The app record slot of the identity; pairing `n` is in slot `n`
/// (`1..=MAX_PAIRINGS`).
pub const IDENTITY_SLOT: u8 = 0;

/// The format of a stored record: its first byte.
pub const RECORD_VERSION: u8 = 2;

/// The largest stored record: the version byte and a postcard
/// [`PairingRecord`] or [`Identity`].
pub const RECORD_MAX: usize = 96;

/// One record as the store keeps it.
pub type RecordBuf = heapless::Vec<u8, RECORD_MAX>;

/// A stored record that cannot be read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RecordError {
    /// A record version this firmware does not read.
    #[error("record version {0} unknown")]
    Version(u8),
    /// Not a record of its slot, or damaged.
    #[error("malformed record")]
    Malformed,
    /// A pairing id outside `1..=MAX_PAIRINGS`.
    #[error("pairing id out of range")]
    Slot,
}

fn encode_record<T: Serialize>(value: &T) -> Result<RecordBuf, RecordError> {
    let mut buf = [0u8; RECORD_MAX];
    let (version, body) = buf.split_first_mut().ok_or(RecordError::Malformed)?;
    *version = RECORD_VERSION;
    let n = postcard::to_slice(value, body)
        .map_err(|_| RecordError::Malformed)?
        .len();
    RecordBuf::from_slice(buf.get(..=n).ok_or(RecordError::Malformed)?)
        .map_err(|_| RecordError::Malformed)
}

fn decode_record<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, RecordError> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, body)) => match postcard::take_from_bytes(body) {
            Ok((value, [])) => Ok(value),
            _ => Err(RecordError::Malformed),
        },
        Some((&v, _)) => Err(RecordError::Version(v)),
        None => Err(RecordError::Malformed),
    }
}

/// The slot of pairing `id`, if it has one.
pub fn pairing_slot(id: u16) -> Option<u8> {
    u8::try_from(id)
        .ok()
        .filter(|s| *s >= 1 && usize::from(*s) <= MAX_PAIRINGS)
}

impl ProtoChange {
    /// What this change writes to the store: a slot and its new record
    /// (`None` empties it). `None` for [`ProtoChange::FactoryReset`], which
    /// the store's own factory reset carries out (it erases every app
    /// record, S-ST-5).
    pub fn record(&self) -> Result<Option<(u8, Option<RecordBuf>)>, RecordError> {
        Ok(match self {
            ProtoChange::Identity(identity) => {
                Some((IDENTITY_SLOT, Some(encode_record(identity)?)))
            }
            ProtoChange::Pairing(record) => {
                let slot = pairing_slot(record.id).ok_or(RecordError::Slot)?;
                Some((slot, Some(encode_record(record)?)))
            }
            ProtoChange::PairingRevoked(id) => {
                Some((pairing_slot(*id).ok_or(RecordError::Slot)?, None))
            }
            ProtoChange::FactoryReset => None,
        })
    }
}

impl ProtoSnapshot {
    /// Empties `slot` (a store replaying records in order: the record was
    /// deleted). A slot that is not the protocol's is an error.
    pub fn remove_record(&mut self, slot: u8) -> Result<(), RecordError> {
        if slot == IDENTITY_SLOT {
            self.identity = None;
            return Ok(());
        }
        let id = pairing_slot(u16::from(slot)).ok_or(RecordError::Slot)?;
        self.apply(&ProtoChange::PairingRevoked(u16::from(id)));
        Ok(())
    }

    /// Adds the record read from `slot`. The record must be the slot's own
    /// (a pairing in its id's slot): flash is untrusted (S-ST-3).
    pub fn add_record(&mut self, slot: u8, bytes: &[u8]) -> Result<(), RecordError> {
        if slot == IDENTITY_SLOT {
            self.identity = Some(decode_record(bytes)?);
            return Ok(());
        }
        let record: PairingRecord = decode_record(bytes)?;
        if pairing_slot(record.id) != Some(slot) {
            return Err(RecordError::Slot);
        }
        self.apply(&ProtoChange::Pairing(record));
        Ok(())
    }
}

const _: () = assert!(MAX_PAIRINGS < u8::MAX as usize);
