//! lock-proto's records on flash (S-ST-3, S-ST-6, S-HW-3): the identity, the
//! pairings' key records and their counter records the protocol keeps as
//! lock-store app records are untrusted when they are read back. Any
//! sequence of records (a slot, then its bytes or "emptied") replayed with
//! `ProtoSnapshot::add_record` / `remove_record`, then `Protocol::restore`:
//! nothing panics; a record taken is its slot's own (a key record in its
//! id's slot, a counter record in its id's counter slot); what restores
//! writes back, through `ProtoChange::records`, as records that read back to
//! the same snapshot; and no counter record ever holds a key (S-ST-6).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_proto::state::{APP_SLOTS_USED, BOOT_SLOT, IDENTITY_SLOT, counter_slot, pairing_slot};
use lock_proto::{ProtoChange, ProtoSnapshot, Protocol};

/// Whether `needle` occurs in `haystack`.
fn holds(haystack: &[u8], needle: &[u8; 32]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let mut snapshot = ProtoSnapshot::default();
    let mut rest = data;
    while let [slot, len, tail @ ..] = rest {
        // A few slots past the protocol's, to see them refused.
        let slot = slot % (APP_SLOTS_USED + 4);
        let ours = slot < APP_SLOTS_USED;
        if *len == 0xFF {
            let result = snapshot.remove_record(slot);
            assert_eq!(result.is_ok(), ours);
            rest = tail;
            continue;
        }
        let n = usize::from(*len).min(tail.len());
        let (bytes, tail) = tail.split_at(n);
        rest = tail;
        let taken = snapshot.add_record(slot, bytes).is_ok();
        assert!(
            !taken || ours,
            "a record taken into a slot not the protocol's"
        );
        if taken && slot != IDENTITY_SLOT && slot != BOOT_SLOT {
            assert!(
                snapshot
                    .pairings
                    .iter()
                    .any(|p| pairing_slot(p.id) == Some(slot))
                    || snapshot
                        .counters
                        .iter()
                        .any(|c| counter_slot(c.id) == Some(slot)),
                "a record taken into another slot's pairing"
            );
        }
    }
    // S-ST-6: a key record read back carries no counters.
    assert!(
        snapshot
            .pairings
            .iter()
            .all(|p| p.received == 0 && p.sent_reserved == 0)
    );
    let Ok(protocol) = Protocol::restore(&snapshot) else {
        return;
    };
    // Every key record restored has its counters; counters without a key
    // are dropped.
    let held = protocol.snapshot();
    assert_eq!(held.pairings.len(), held.counters.len());
    for p in &held.pairings {
        assert!(held.counters.iter().any(|c| c.id == p.id));
    }
    // What the protocol holds, written as records and read back; and the
    // counter updates every pairing would write from here.
    let mut changes = Vec::new();
    if let Some(identity) = held.identity.clone() {
        changes.push(ProtoChange::Identity(identity));
    }
    for c in &held.counters {
        changes.push(ProtoChange::Counters(*c));
    }
    for p in &held.pairings {
        let counters = held.counters.iter().find(|c| c.id == p.id).copied();
        let mut full = p.clone();
        if let Some(c) = counters {
            full.received = c.received;
            full.sent_reserved = c.sent_reserved;
        }
        changes.push(ProtoChange::Pairing(full));
    }
    let mut again = ProtoSnapshot::default();
    for change in &changes {
        let writes = change.records().expect("a held record encodes");
        assert!(!writes.is_empty(), "identity and pairings have slots");
        for (slot, record) in writes.iter() {
            let bytes = record.as_deref().expect("a record, not an emptied slot");
            // S-ST-6: a counter record never holds a key.
            if held
                .counters
                .iter()
                .any(|c| counter_slot(c.id) == Some(*slot))
            {
                for p in &held.pairings {
                    assert!(!holds(bytes, &p.key), "a key in a counter record");
                }
            }
            again
                .add_record(*slot, bytes)
                .expect("a record the protocol wrote reads back");
        }
    }
    assert_eq!(again, held, "records do not round-trip");
    assert!(Protocol::restore(&again).is_ok());
});
