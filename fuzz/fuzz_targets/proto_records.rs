//! lock-proto's records on flash (S-ST-3, S-HW-3): the identity and pairings
//! the protocol keeps as lock-store app records are untrusted when they are
//! read back. Any sequence of records (a slot, then its bytes or "emptied")
//! replayed with `ProtoSnapshot::add_record` / `remove_record`, then
//! `Protocol::restore`: nothing panics; a record taken is its slot's own
//! (a pairing in its id's slot); and what restores writes back, through
//! `ProtoChange::record`, as records that read back to the same snapshot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_proto::state::{IDENTITY_SLOT, pairing_slot};
use lock_proto::{ProtoChange, ProtoSnapshot, Protocol};

fuzz_target!(|data: &[u8]| {
    let mut snapshot = ProtoSnapshot::default();
    let mut rest = data;
    while let [slot, len, tail @ ..] = rest {
        let slot = slot % 20;
        if *len == 0xFF {
            let result = snapshot.remove_record(slot);
            assert_eq!(
                result.is_ok(),
                slot == IDENTITY_SLOT || pairing_slot(u16::from(slot)).is_some()
            );
            rest = tail;
            continue;
        }
        let n = usize::from(*len).min(tail.len());
        let (bytes, tail) = tail.split_at(n);
        rest = tail;
        if snapshot.add_record(slot, bytes).is_ok() && slot != IDENTITY_SLOT {
            assert!(
                snapshot
                    .pairings
                    .iter()
                    .any(|p| pairing_slot(p.id) == Some(slot)),
                "a record taken into another slot's pairing"
            );
        }
    }
    let Ok(protocol) = Protocol::restore(&snapshot) else {
        return;
    };
    // What the protocol holds, written as records and read back.
    let held = protocol.snapshot();
    let mut changes = Vec::new();
    if let Some(identity) = held.identity.clone() {
        changes.push(ProtoChange::Identity(identity));
    }
    for p in &held.pairings {
        changes.push(ProtoChange::Pairing(p.clone()));
    }
    let mut again = ProtoSnapshot::default();
    for change in &changes {
        let (slot, record) = change
            .record()
            .expect("a held record encodes")
            .expect("identity and pairings have slots");
        let bytes = record.expect("a record, not an emptied slot");
        again
            .add_record(slot, &bytes)
            .expect("a record the protocol wrote reads back");
    }
    assert_eq!(again, held, "records do not round-trip");
    assert!(Protocol::restore(&again).is_ok());
});
