//! What the protocol keeps across power cuts, as one serde value
//! ([`ProtoSnapshot`]) and the change records that build it ([`ProtoChange`]),
//! the way `lock-core` has `Snapshot` and `Change`: every
//! [`Output::Persist`](crate::Output::Persist) must reach flash before the
//! outputs after it run, and replaying them in order onto
//! [`ProtoSnapshot::default`] gives [`Protocol::snapshot`](crate::Protocol::snapshot).

use lock_core::{Privilege, Validity};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

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

/// S-ST-6: wipes the identity secret and the visitor secret (the lock id
/// is public).
impl Zeroize for Identity {
    fn zeroize(&mut self) {
        self.secret.zeroize();
        self.visitor_secret.zeroize();
    }
}

/// S-ST-6: the identity secret and the visitor secret are wiped when an
/// `Identity` is dropped (each clone wipes its own copy).
impl Drop for Identity {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Identity {}

impl core::fmt::Debug for Identity {
    /// Never prints a secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Identity(lock {:02x?})", self.lock_id)
    }
}

/// One pairing or issued key, as the protocol holds it.
///
/// On flash it is two records (S-ST-6): its key record, this record with its
/// counters zero, written when the pairing is made or changed; and its
/// [`CounterRecord`], which takes every counter update. So the key is in
/// one record on flash whatever the traffic, and a revoked key is gone once
/// the page of that one record is erased.
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

/// S-ST-6: wipes the pairing key.
impl Zeroize for PairingRecord {
    fn zeroize(&mut self) {
        self.key.zeroize();
    }
}

/// S-ST-6: the pairing key is wiped when a record is dropped.
impl Drop for PairingRecord {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for PairingRecord {}

impl PairingRecord {
    /// Its counter record.
    pub fn counters(&self) -> CounterRecord {
        CounterRecord {
            id: self.id,
            received: self.received,
            sent_reserved: self.sent_reserved,
        }
    }

    /// Its key record: this record with the counters zero (they live in the
    /// [`CounterRecord`]). Every other field, one added later too, is
    /// persisted with the key.
    pub fn key_record(&self) -> PairingRecord {
        let mut record = self.clone();
        record.received = 0;
        record.sent_reserved = 0;
        record
    }

    fn is_key_record(&self) -> bool {
        self.received == 0 && self.sent_reserved == 0
    }
}

/// A pairing's counters, as persisted in a record of their own (S-ST-6):
/// no key in it, so the frequent counter updates never copy the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterRecord {
    /// The pairing's id.
    pub id: u16,
    /// [`PairingRecord::received`].
    pub received: u64,
    /// [`PairingRecord::sent_reserved`].
    pub sent_reserved: u64,
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
    /// Store or replace this pairing (new or changed): its counter record,
    /// then its key record.
    Pairing(PairingRecord),
    /// A pairing's counters moved: its counter record only (S-ST-6).
    Counters(CounterRecord),
    /// Delete this pairing.
    PairingRevoked(u16),
    /// Erase every pairing (the identity follows as its own change).
    FactoryReset,
}

/// Everything the protocol must remember, record for record as it is on
/// flash: a pairing's key record and its counter record are apart, as they
/// are read back apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtoSnapshot {
    /// The identity, once made.
    pub identity: Option<Identity>,
    /// The pairings' key records ([`PairingRecord::key_record`]: counters
    /// zero), in any order.
    pub pairings: heapless::Vec<PairingRecord, MAX_PAIRINGS>,
    /// The pairings' counter records, in any order. One without its key
    /// record is what a power cut between a revocation's two writes leaves
    /// (the key record goes first): restoring drops it.
    pub counters: heapless::Vec<CounterRecord, MAX_PAIRINGS>,
}

impl ProtoSnapshot {
    /// Applies one change, as a store does when it replays them.
    pub fn apply(&mut self, change: &ProtoChange) {
        match change {
            ProtoChange::Identity(identity) => self.identity = Some(identity.clone()),
            ProtoChange::Pairing(record) => {
                self.set_counters(record.counters());
                self.set_key_record(record.key_record());
            }
            ProtoChange::Counters(counters) => self.set_counters(*counters),
            ProtoChange::PairingRevoked(id) => {
                self.pairings.retain(|p| p.id != *id);
                self.counters.retain(|c| c.id != *id);
            }
            ProtoChange::FactoryReset => {
                self.pairings.clear();
                self.counters.clear();
            }
        }
    }

    fn set_key_record(&mut self, record: PairingRecord) {
        if let Some(existing) = self.pairings.iter_mut().find(|p| p.id == record.id) {
            *existing = record;
        } else {
            // The protocol never has more than MAX_PAIRINGS; a longer
            // replay is dropped here.
            let _ = self.pairings.push(record);
        }
    }

    fn set_counters(&mut self, counters: CounterRecord) {
        if let Some(existing) = self.counters.iter_mut().find(|c| c.id == counters.id) {
            *existing = counters;
        } else {
            let _ = self.counters.push(counters);
        }
    }
}

/// The app record slot of the identity; pairing `n`'s key record is in slot
/// `n` (`1..=MAX_PAIRINGS`), its counter record in slot `MAX_PAIRINGS + n`
/// ([`counter_slot`]).
pub const IDENTITY_SLOT: u8 = 0;

/// [`MAX_PAIRINGS`] as a slot offset.
// Cannot truncate: MAX_PAIRINGS is asserted below 128 at the end of this file.
#[allow(clippy::cast_possible_truncation)]
const PAIRINGS: u8 = MAX_PAIRINGS as u8;

/// The slot of the lock's boot count ([`boot_record`]), after the
/// pairings' counter records.
pub const BOOT_SLOT: u8 = 1 + 2 * PAIRINGS;

/// App record slots the protocol uses: `0..APP_SLOTS_USED`.
pub const APP_SLOTS_USED: u8 = BOOT_SLOT + 1;

/// S-HW-4 (per-boot separation): the record of the lock's boot count in
/// [`BOOT_SLOT`], written at every start before anything is drawn from the
/// entropy source, which mixes the count into its output
/// (`lock_hal::Entropy::set_boot`). It holds no secret and is not part of
/// [`ProtoSnapshot`] ([`ProtoSnapshot::add_record`] checks it and keeps
/// nothing); a factory reset erases it with the other app records.
pub fn boot_record(boot: u32) -> Result<RecordBuf, RecordError> {
    encode_record(&boot)
}

/// The boot count a [`boot_record`] holds.
pub fn read_boot_record(bytes: &[u8]) -> Result<u32, RecordError> {
    decode_record(bytes)
}

/// The format of a stored record: its first byte. Version 2: a pairing's
/// counters are in a record of their own (S-ST-6), and its key record says
/// whether it makes visitor codes (S-VC-5).
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
    // Wiped when dropped: it may hold a key (S-ST-6).
    let mut buf = zeroize::Zeroizing::new([0u8; RECORD_MAX]);
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

/// The slot of pairing `id`'s key record, if it has one.
pub fn pairing_slot(id: u16) -> Option<u8> {
    u8::try_from(id)
        .ok()
        .filter(|s| *s >= 1 && usize::from(*s) <= MAX_PAIRINGS)
}

/// The slot of pairing `id`'s counter record, if it has one:
/// `MAX_PAIRINGS + id`.
pub fn counter_slot(id: u16) -> Option<u8> {
    pairing_slot(id)?.checked_add(PAIRINGS)
}

/// What a slot holds.
enum SlotKind {
    Identity,
    Key(u16),
    Counters(u16),
    Boot,
}

fn slot_kind(slot: u8) -> Option<SlotKind> {
    if slot == IDENTITY_SLOT {
        return Some(SlotKind::Identity);
    }
    if slot == BOOT_SLOT {
        return Some(SlotKind::Boot);
    }
    if let Some(id) = pairing_slot(u16::from(slot)) {
        return Some(SlotKind::Key(u16::from(id)));
    }
    let id = u16::from(slot.checked_sub(PAIRINGS)?);
    pairing_slot(id).map(|_| SlotKind::Counters(id))
}

/// The store writes of one change, in order: a slot and its new record
/// (`None` empties it). The records are wiped when this is dropped (a key
/// record holds a key, S-ST-6).
#[derive(Default)]
pub struct RecordWrites(heapless::Vec<(u8, Option<RecordBuf>), 2>);

impl RecordWrites {
    fn push(&mut self, slot: u8, record: Option<RecordBuf>) {
        // At most two per change.
        let _ = self.0.push((slot, record));
    }
}

impl core::ops::Deref for RecordWrites {
    type Target = [(u8, Option<RecordBuf>)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// S-ST-6: the encoded records are wiped when dropped.
impl Drop for RecordWrites {
    fn drop(&mut self) {
        for (_, record) in self.0.iter_mut() {
            if let Some(bytes) = record {
                bytes.as_mut_slice().zeroize();
            }
        }
    }
}

impl ProtoChange {
    /// What this change writes to the store, in order. Nothing for
    /// [`ProtoChange::FactoryReset`], which the store's own factory reset
    /// carries out (it erases every app record, S-ST-5).
    ///
    /// S-ST-6: a pairing's key is written only by [`ProtoChange::Pairing`],
    /// once per pairing made or changed; counter updates
    /// ([`ProtoChange::Counters`]) write the key-less counter record. A new
    /// pairing writes its counter record first and a revocation empties the
    /// key record first, so a power cut between the two writes leaves at
    /// most a counter record without its key, never a key without its
    /// counters (which would restart the lock's counters, S-PR-2).
    pub fn records(&self) -> Result<RecordWrites, RecordError> {
        let mut writes = RecordWrites::default();
        match self {
            ProtoChange::Identity(identity) => {
                writes.push(IDENTITY_SLOT, Some(encode_record(identity)?));
            }
            ProtoChange::Pairing(record) => {
                let slot = pairing_slot(record.id).ok_or(RecordError::Slot)?;
                let counters = counter_slot(record.id).ok_or(RecordError::Slot)?;
                writes.push(counters, Some(encode_record(&record.counters())?));
                writes.push(slot, Some(encode_record(&record.key_record())?));
            }
            ProtoChange::Counters(record) => {
                let slot = counter_slot(record.id).ok_or(RecordError::Slot)?;
                writes.push(slot, Some(encode_record(record)?));
            }
            ProtoChange::PairingRevoked(id) => {
                writes.push(pairing_slot(*id).ok_or(RecordError::Slot)?, None);
                writes.push(counter_slot(*id).ok_or(RecordError::Slot)?, None);
            }
            ProtoChange::FactoryReset => {}
        }
        Ok(writes)
    }
}

impl ProtoSnapshot {
    /// Empties `slot` (a store replaying records in order: the record was
    /// deleted). A slot that is not the protocol's is an error.
    pub fn remove_record(&mut self, slot: u8) -> Result<(), RecordError> {
        match slot_kind(slot).ok_or(RecordError::Slot)? {
            SlotKind::Identity => self.identity = None,
            SlotKind::Key(id) => self.pairings.retain(|p| p.id != id),
            SlotKind::Counters(id) => self.counters.retain(|c| c.id != id),
            // The boot count is not the protocol's state.
            SlotKind::Boot => {}
        }
        Ok(())
    }

    /// Adds the record read from `slot`. The record must be the slot's own
    /// (a pairing's key record in its id's slot, with zero counters; a
    /// counter record in its id's counter slot): flash is untrusted
    /// (S-ST-3).
    pub fn add_record(&mut self, slot: u8, bytes: &[u8]) -> Result<(), RecordError> {
        match slot_kind(slot).ok_or(RecordError::Slot)? {
            SlotKind::Identity => self.identity = Some(decode_record(bytes)?),
            SlotKind::Key(id) => {
                let record: PairingRecord = decode_record(bytes)?;
                if record.id != id {
                    return Err(RecordError::Slot);
                }
                if !record.is_key_record() {
                    return Err(RecordError::Malformed);
                }
                self.set_key_record(record);
            }
            SlotKind::Counters(id) => {
                let record: CounterRecord = decode_record(bytes)?;
                if record.id != id {
                    return Err(RecordError::Slot);
                }
                self.set_counters(record);
            }
            // Read to be checked, not kept: the boot count is not the
            // protocol's state.
            SlotKind::Boot => {
                read_boot_record(bytes)?;
            }
        }
        Ok(())
    }
}

const _: () = assert!(2 * MAX_PAIRINGS < u8::MAX as usize);
