//! Factory reset (S-ST-5, R-MNU-9): afterwards no passcode, template id or
//! person record is anywhere on the flash. A tombstone would not do: the
//! state partition is erased, and the raw bytes are scanned.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::door::Door;
use common::{Step, TestFlash, block_on, canon, replay, test_flash, test_layout};
use lock_core::{BiometricKind, Change, Person, Snapshot};
use lock_store::mock_flash::Cut;

/// Byte strings that must not survive a reset: each passcode as postcard
/// writes it (length, then digits) and as bare digits, each template list
/// as written (length, then varint ids), and each template id's varint.
fn secrets(people: &[Person]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut anywhere = Vec::new();
    let mut in_state = Vec::new();
    for p in people {
        for code in p.passcode.iter().chain(p.duress.iter()) {
            anywhere.push(postcard::to_allocvec(code).unwrap());
            anywhere.push(code.digits().to_vec());
        }
        for kind in BiometricKind::ALL {
            let ids = p.templates(kind);
            if ids.is_empty() {
                continue;
            }
            let list: heapless::Vec<_, 8> = ids.iter().copied().collect();
            anywhere.push(postcard::to_allocvec(&list).unwrap());
            for id in ids {
                // Two or three bytes: only the state partition is searched
                // for these, where they would mean a template id.
                in_state.push(postcard::to_allocvec(id).unwrap());
            }
        }
        anywhere.push(postcard::to_allocvec(p).unwrap());
    }
    (anywhere, in_state)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_scan(flash: &TestFlash, people: &[Person], present: bool) {
    let (anywhere, in_state) = secrets(people);
    let bytes = flash.bytes();
    let state_end = usize::try_from(test_layout().0.state.end).unwrap();
    let state = &bytes[..state_end];
    for needle in &anywhere {
        assert_eq!(contains(bytes, needle), present, "{needle:02x?}");
    }
    for needle in &in_state {
        assert_eq!(contains(state, needle), present, "{needle:02x?}");
    }
}

/// The story up to its factory reset: the steps before, and the reset's own
/// (the change, the lock's log record of it, the modules cleared).
fn story_split() -> (Vec<Step>, Vec<Step>) {
    let story = Door::story();
    let reset = story
        .iter()
        .position(|s| matches!(s, Step::Apply(Change::FactoryReset)))
        .unwrap();
    let done = reset
        + story[reset..]
            .iter()
            .position(|s| matches!(s, Step::ModuleDone))
            .unwrap();
    (story[..reset].to_vec(), story[reset..=done].to_vec())
}

/// Everyone the flash ever held before the reset (deleted people too: their
/// old records are still on flash until their pages are erased).
fn everyone(before: &[Step]) -> Vec<Person> {
    let mut people: Vec<Person> = Vec::new();
    for step in before {
        if let Step::Apply(Change::Person(p)) = step {
            people.push(p.clone());
        }
    }
    people
}

#[test]
fn s_st_5_factory_reset_leaves_no_passcode_template_or_person_on_flash() {
    let (before, reset) = story_split();
    let (_, flash) = replay(test_flash(), &before);
    let people = everyone(&before);
    assert!(people.iter().any(|p| p.passcode.is_some()));
    assert!(
        people
            .iter()
            .any(|p| !p.fingers.is_empty() && !p.faces.is_empty())
    );
    // The scan finds them before: it would see them after.
    assert_scan(&flash, &people, true);

    let (_, after) = replay(flash, &reset);
    assert_scan(&after, &people, false);
    // The state partition holds only the new format and intent records,
    // and the clock's mark (S-VC-3: how far the clock got outlives a reset).
    let state_end = usize::try_from(test_layout().0.state.end).unwrap();
    let written = after.bytes()[..state_end]
        .iter()
        .filter(|&&b| b != 0xFF)
        .count();
    assert!(
        written < 128,
        "{written} bytes written in the state partition"
    );
    let mut s = common::store(after);
    let loaded = block_on(s.load()).unwrap();
    let fresh = Snapshot {
        clock_mark: loaded.snapshot.clock_mark,
        ..Snapshot::default()
    };
    assert!(fresh.clock_mark.is_some(), "the clock's mark was lost");
    assert_eq!(canon(&loaded.snapshot), canon(&fresh));
}

#[test]
fn s_st_5_a_reset_cut_short_is_finished_at_boot_and_leaves_nothing() {
    // Power goes at every operation of the reset; the restart finishes it
    // (the marker was in the log) or it never began (then the lock still
    // holds everyone, and nothing has to be gone).
    let (before, reset) = story_split();
    let (_, flash) = replay(test_flash(), &before);
    let people = everyone(&before);
    let mut probe = common::store(flash.clone());
    block_on(probe.load()).unwrap();
    let first = probe.flash().operations();
    probe.flash_mut().start_trace();
    common::run(&mut probe, &reset[0]).unwrap();
    let ops = probe.flash().trace().to_vec();
    let mut finished = 0;
    for op in &ops {
        for byte in [0, op.len / 2, op.len] {
            let mut s = common::store(flash.clone());
            block_on(s.load()).unwrap();
            assert_eq!(s.flash().operations(), first);
            s.flash_mut().cut_power(Cut::At {
                operation: op.index,
                byte,
            });
            assert!(common::run(&mut s, &reset[0]).is_err());
            let mut cut = s.release();
            cut.power_on();
            let mut s = common::store(cut);
            let loaded = block_on(s.load()).unwrap();
            if loaded.snapshot.people.is_empty() {
                finished += 1;
                assert_scan(s.flash(), &people, false);
            } else {
                assert_eq!(loaded.snapshot.people.len(), 2);
            }
        }
    }
    assert!(finished > 0);
}

/// A blocking flash erases a sector in up to ~400 ms: a reset that erased
/// the whole state range in one call would hold the executor for seconds,
/// past a board's watchdog. It erases a sector at a time and lets the
/// executor run between them.
#[test]
fn a_factory_reset_erases_a_sector_at_a_time_and_yields_between() {
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};

    let (before, _) = story_split();
    let (_, flash) = replay(test_flash(), &before);
    let mut s = common::store(flash);
    block_on(s.load()).unwrap();
    s.flash_mut().start_trace();
    let mut pending = 0;
    {
        let mut reset = pin!(s.apply(&Change::FactoryReset));
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            match reset.as_mut().poll(&mut cx) {
                Poll::Ready(result) => break result.unwrap(),
                Poll::Pending => pending += 1,
            }
        }
    }
    let erases: Vec<_> = s
        .flash()
        .trace()
        .iter()
        .filter(|op| op.kind == lock_store::mock_flash::OperationKind::Erase)
        .collect();
    let sector = <TestFlash as embedded_storage_async::nor_flash::NorFlash>::ERASE_SIZE;
    let state_sectors = usize::try_from(test_layout().0.state.end).unwrap() / sector;
    assert!(erases.len() >= state_sectors, "{} erases", erases.len());
    assert!(erases.iter().all(|op| op.len == sector), "one sector each");
    assert!(
        pending >= erases.len(),
        "{pending} yields for {} erases",
        erases.len()
    );
}
