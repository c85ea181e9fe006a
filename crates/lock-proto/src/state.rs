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
    /// The visitor-code secret (R-APP-4).
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
