//! The store's behaviour without power cuts: first start, the story round
//! trip, the log (R-APP-6), the module work protocol (S-ST-2), formats and
//! versions (S-ST-3), configuration.

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

use common::door::{Door, USER_CODE, config};
use common::{Step, TestFlash, block_on, canon, replay, run, seen, store, test_flash, test_layout};
use lock_core::{
    BiometricKind, Change, Instant, Lock, LogEntry, LogRecord, ModuleCommand, Person, PersonNumber,
    Role, Snapshot, TemplateId,
};
use lock_store::{ConfigError, Store, StoreConfig, StoreError};

fn record(i: u32) -> LogRecord {
    LogRecord {
        at: Instant::from_millis(u64::from(i)),
        wall: None,
        entry: LogEntry::Locked(lock_core::LockMethod::Countdown),
    }
}

fn n(x: u8) -> PersonNumber {
    PersonNumber::new(x).unwrap()
}

#[test]
fn first_start_on_erased_flash_is_a_fresh_lock_that_clears_the_modules() {
    let mut s = store(test_flash());
    let loaded = block_on(s.load()).unwrap();
    assert_eq!(canon(&loaded.snapshot), canon(&Snapshot::default()));
    // Modules may hold templates from the factory: the lock knows no one.
    let commands: Vec<_> = loaded.module_work.commands().collect();
    assert_eq!(
        commands,
        BiometricKind::ALL.map(ModuleCommand::Clear).to_vec()
    );
    block_on(s.module_work_done()).unwrap();
    assert!(s.module_work().is_empty());
    let mut s = store(s.release());
    let again = block_on(s.load()).unwrap();
    assert!(again.module_work.is_empty());
    assert!(Lock::restore(config(), &again.snapshot, Instant::ZERO).is_ok());
}

#[test]
fn the_story_round_trips_step_by_step() {
    // After every step a restarted store returns what the lock holds.
    let story = Door::story();
    let marks = story
        .iter()
        .filter(|s| matches!(s, Step::Apply(Change::ClockMark(_))))
        .count();
    assert_eq!(marks, 2, "the clock's mark when set and a quarter hour on");
    let mut s = store(test_flash());
    seen(&mut s).unwrap();
    let mut model = Snapshot::default();
    for step in &story {
        run(&mut s, step).unwrap();
        if let Step::Apply(change) = step {
            model.apply(change);
        }
        let mut restarted = store(s.release());
        let loaded = block_on(restarted.load()).unwrap();
        assert_eq!(canon(&loaded.snapshot), canon(&model), "after {step:?}");
        s = restarted;
    }
}

#[test]
fn r_app_6_log_reads_back_newest_first_a_page_at_a_time() {
    let mut s = store(test_flash());
    seen(&mut s).unwrap();
    for i in 0..30 {
        assert_eq!(block_on(s.append_log(&record(i))).unwrap(), i);
    }
    let page = block_on(s.read_log::<10>(None)).unwrap();
    let seqs: Vec<u32> = page.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, (20..30).rev().collect::<Vec<_>>());
    assert_eq!(page[0].record, record(29));
    let next = block_on(s.read_log::<10>(Some(20))).unwrap();
    assert_eq!(next.first().unwrap().seq, 19);
    assert_eq!(next.last().unwrap().seq, 10);
    let last = block_on(s.read_log::<100>(Some(3))).unwrap();
    assert_eq!(last.len(), 3);
}

#[test]
fn r_app_6_oldest_records_overwritten_and_numbers_monotonic_across_restarts() {
    let mut s = store(test_flash());
    seen(&mut s).unwrap();
    for i in 0..600 {
        block_on(s.append_log(&record(i))).unwrap();
    }
    let mut s = store(s.release());
    let all = common::seen(&mut s).unwrap().log;
    assert!(all.len() < 600, "the log wrapped");
    println!(
        "a 4 KiB log of 1 KiB sectors keeps the newest {} records",
        all.len()
    );
    assert_eq!(all[0].seq, 599);
    // Newest first, no gap: only the oldest went.
    for w in all.windows(2) {
        assert_eq!(w[0].seq, w[1].seq + 1);
    }
    assert_eq!(block_on(s.append_log(&record(600))).unwrap(), 600);
    // A factory reset keeps the log and its numbering.
    block_on(s.apply(&Change::FactoryReset)).unwrap();
    let mut s = store(s.release());
    block_on(s.load()).unwrap();
    assert_eq!(block_on(s.append_log(&record(601))).unwrap(), 601);
}

#[test]
fn s_st_2_module_work_is_reported_until_done() {
    let mut s = store(test_flash());
    seen(&mut s).unwrap();
    block_on(s.module_work_done()).unwrap();
    let mut p = Person::new(n(2), Role::User);
    p.add_template(BiometricKind::Finger, TemplateId(0x4242));
    p.add_template(BiometricKind::Face, TemplateId(0x1717));
    block_on(s.apply(&Change::Person(p))).unwrap();
    block_on(s.apply(&Change::PersonDeleted(n(2)))).unwrap();
    let owed = [
        ModuleCommand::Delete {
            kind: BiometricKind::Face,
            template: TemplateId(0x1717),
        },
        ModuleCommand::Delete {
            kind: BiometricKind::Finger,
            template: TemplateId(0x4242),
        },
    ];
    let mut commands: Vec<_> = s.module_work().commands().collect();
    commands.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(commands, owed);
    // The runtime did not get to them: a restart reports them again.
    let mut s = store(s.release());
    let loaded = block_on(s.load()).unwrap();
    assert!(loaded.snapshot.person(n(2)).is_none());
    assert_eq!(loaded.module_work.deletions().len(), 2);
    block_on(s.module_work_done()).unwrap();
    let mut s = store(s.release());
    assert!(block_on(s.load()).unwrap().module_work.is_empty());
}

#[test]
fn s_st_2_a_template_handed_out_again_is_not_deleted_from_its_new_holder() {
    let mut s = store(test_flash());
    seen(&mut s).unwrap();
    block_on(s.module_work_done()).unwrap();
    let mut p = Person::new(n(2), Role::User);
    p.add_template(BiometricKind::Finger, TemplateId(9));
    block_on(s.apply(&Change::Person(p))).unwrap();
    block_on(s.apply(&Change::PersonDeleted(n(2)))).unwrap();
    // The runtime skipped `module_work_done`; the lock gives id 9 to 003.
    let mut q = Person::new(n(3), Role::User);
    q.add_template(BiometricKind::Finger, TemplateId(9));
    block_on(s.apply(&Change::Person(q))).unwrap();
    assert!(s.module_work().is_empty());
    let mut s = store(s.release());
    assert!(block_on(s.load()).unwrap().module_work.is_empty());
}

#[test]
fn deleting_someone_without_templates_is_one_write_and_no_work() {
    let mut s = store(test_flash());
    seen(&mut s).unwrap();
    block_on(s.module_work_done()).unwrap();
    let mut p = Person::new(n(4), Role::User);
    p.passcode = Some(lock_core::Passcode::parse(USER_CODE).unwrap());
    block_on(s.apply(&Change::Person(p))).unwrap();
    let writes = s.flash().stats().writes;
    block_on(s.apply(&Change::PersonDeleted(n(4)))).unwrap();
    assert!(s.module_work().is_empty());
    // One item: its header, its data, its padded tail.
    assert!(s.flash().stats().writes - writes <= 3);
    // Nobody there: nothing written.
    let writes = s.flash().stats().writes;
    block_on(s.apply(&Change::PersonDeleted(n(4)))).unwrap();
    assert_eq!(s.flash().stats().writes, writes);
}

#[test]
fn a_full_lock_fits_the_smallest_state_range_and_keeps_working() {
    // 100 people with every credential, rewritten many times over: the
    // minimum the configuration demands never runs out.
    let (config, sectors) = common::layout::<TestFlash>(0, 2);
    let mut s = Store::new(TestFlash::new(sectors), config).unwrap();
    block_on(s.load()).unwrap();
    let kinds = [
        (BiometricKind::Face, 1usize),
        (BiometricKind::Palm, 1),
        (BiometricKind::Finger, 1),
    ];
    for round in 0..3u16 {
        for i in 1..=100u8 {
            let mut p = Person::new(
                n(i),
                if i == 1 {
                    Role::Administrator
                } else {
                    Role::User
                },
            );
            p.validity.until = Some(lock_core::Timestamp(u64::MAX - u64::from(round)));
            for (kind, _) in kinds {
                for j in 0..kind.per_person() {
                    let id = u16::from(i) * 16 + u16::try_from(j).unwrap() + 0x8000;
                    p.add_template(kind, TemplateId(id));
                }
            }
            block_on(s.apply(&Change::Person(p))).unwrap();
        }
    }
    let mut s = store_like(s);
    let loaded = block_on(s.load()).unwrap();
    assert_eq!(loaded.snapshot.people.len(), 100);
}

fn store_like(s: Store<TestFlash>) -> Store<TestFlash> {
    let config = s.config().clone();
    Store::new(s.release(), config).unwrap()
}

#[test]
fn configurations_that_do_not_fit_are_refused() {
    let (good, sectors) = test_layout();
    let flash = || TestFlash::new(sectors);
    let sector = 1024;
    let bad = |state: std::ops::Range<u32>, log: std::ops::Range<u32>| {
        Store::new(flash(), StoreConfig { state, log })
            .err()
            .unwrap()
    };
    assert!(Store::new(flash(), good.clone()).is_ok());
    assert_eq!(
        bad(good.state.start + 4..good.state.end, good.log.clone()),
        ConfigError::NotSectorAligned
    );
    assert_eq!(
        bad(good.state.clone(), good.log.start..good.log.end + sector),
        ConfigError::OutOfFlash
    );
    assert_eq!(
        bad(good.state.clone(), good.state.end - sector..good.log.end),
        ConfigError::Overlap
    );
    assert!(matches!(
        bad(0..8 * sector, good.log.clone()),
        ConfigError::StateTooSmall { .. }
    ));
    assert!(matches!(
        bad(good.state.clone(), good.log.start..good.log.start + sector),
        ConfigError::LogTooSmall { .. }
    ));
}

#[test]
fn nothing_is_written_before_a_load() {
    let mut s = store(test_flash());
    assert_eq!(
        block_on(s.apply(&Change::Attempts(Default::default()))),
        Err(StoreError::NotLoaded)
    );
    assert_eq!(
        block_on(s.append_log(&record(0))),
        Err(StoreError::NotLoaded)
    );
    assert_eq!(s.flash().stats().writes, 0);
}

#[test]
fn the_sizes_each_board_needs() {
    use lock_store::mock_flash::{Esp32c3Flash, Rp2040Flash, Stm32l4Flash};
    let esp = StoreConfig::min_state_bytes::<Esp32c3Flash>();
    let rp = StoreConfig::min_state_bytes::<Rp2040Flash>();
    let stm = StoreConfig::min_state_bytes::<Stm32l4Flash>();
    println!("smallest state range: ESP32-C3 {esp}, RP2040 {rp}, STM32L4 {stm} bytes");
    // The crate docs quote these.
    assert_eq!(esp, 8 * 4096);
    assert_eq!(rp, 8 * 4096);
    assert_eq!(stm, 14 * 2048);
}

#[test]
fn s_st_3_a_newer_format_is_refused_untouched_until_a_factory_reset() {
    // Version 4 records (first byte of the value: the version varint).
    let mut s = store(test_flash());
    let story = Door::story();
    seen(&mut s).unwrap();
    for step in &story[..10] {
        run(&mut s, step).unwrap();
    }
    let mut flash = s.release();
    let image = rewrite_versions(&flash, 4);
    flash.edit(|b| b.copy_from_slice(&image));
    let mut s = store(flash);
    assert_eq!(
        block_on(s.load()).err(),
        Some(StoreError::UnsupportedVersion(4))
    );
    assert_eq!(s.flash().bytes(), &image[..], "refused, not rewritten");
    assert_eq!(
        block_on(s.apply(&Change::Attempts(Default::default()))),
        Err(StoreError::NotLoaded)
    );
    // A person at the door holding SET consents to losing it all.
    block_on(s.apply(&Change::FactoryReset)).unwrap();
    let mut s = store(s.release());
    let loaded = block_on(s.load()).unwrap();
    assert_eq!(canon(&loaded.snapshot), canon(&Snapshot::default()));
}

/// A copy of the image in which every state item written as version 3 says
/// `version` instead, with its checksum fixed: what a newer firmware would
/// leave. Uses sequential-storage itself to rewrite the items.
fn rewrite_versions(flash: &TestFlash, version: u8) -> Vec<u8> {
    use sequential_storage::cache::Cache;
    use sequential_storage::map::{MapConfig, MapStorage};
    let (config, _) = test_layout();
    let mut source = flash.clone();
    let mut items: Vec<(u8, Vec<u8>)> = Vec::new();
    block_on(async {
        let mut map = MapStorage::<u8, _, _>::new(
            &mut source,
            MapConfig::new(config.state.clone()),
            Cache::new_uncached(),
        );
        let mut buf = [0u8; 1024];
        let mut it = map.fetch_all_items(&mut buf).await.unwrap();
        while let Some((k, v)) = it.next::<&[u8]>(&mut buf).await.unwrap() {
            items.push((k, v.to_vec()));
        }
    });
    let mut target = flash.clone();
    block_on(async {
        use embedded_storage_async::nor_flash::NorFlash;
        target
            .erase(config.state.start, config.state.end)
            .await
            .unwrap();
        let mut map = MapStorage::<u8, _, _>::new(
            &mut target,
            MapConfig::new(config.state.clone()),
            Cache::new_uncached(),
        );
        let mut buf = [0u8; 1024];
        for (k, mut v) in items {
            v[0] = version;
            map.store_item(&mut buf, &k, &v.as_slice()).await.unwrap();
        }
    });
    target.bytes().to_vec()
}

#[test]
fn s_st_3_a_foreign_image_loads_as_corrupted_and_a_factory_reset_repairs_it() {
    let mut rng = common::Rng(0xf0e1_d2c3);
    let image: Vec<u8> = (0..test_layout().1 * 1024)
        .map(|_| u8::try_from(rng.next() & 0xff).unwrap())
        .collect();
    let mut s = store(TestFlash::from_image(&image));
    assert_eq!(block_on(s.load()).err(), Some(StoreError::Corrupted));
    // The runtime starts the lock fail-secure: nothing opens.
    let lock = Lock::fail_secure(config());
    assert!(lock.storage_fault());
    block_on(s.apply(&Change::FactoryReset)).unwrap();
    let mut s = store(s.release());
    let loaded = block_on(s.load()).unwrap();
    assert_eq!(canon(&loaded.snapshot), canon(&Snapshot::default()));
    assert!(Lock::restore(config(), &loaded.snapshot, Instant::ZERO).is_ok());
}

/// Where in the raw image `needle` occurs.
fn find(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn s_st_3_a_lost_newest_record_is_reported_not_silently_reverted() {
    // Person 002 gets a passcode, then changes it; later writes follow. A
    // flipped bit in the newest 002 record makes sequential-storage skip it:
    // without the digest the old passcode would come back.
    let mut s = store(test_flash());
    seen(&mut s).unwrap();
    let mut p = Person::new(n(2), Role::User);
    p.passcode = Some(lock_core::Passcode::parse("135792").unwrap());
    block_on(s.apply(&Change::Person(p.clone()))).unwrap();
    p.passcode = Some(lock_core::Passcode::parse("864209").unwrap());
    block_on(s.apply(&Change::Person(p))).unwrap();
    block_on(s.apply(&Change::Attempts(Default::default()))).unwrap();
    let clean = s.release();
    let at = find(clean.bytes(), &[8, 6, 4, 2, 0, 9]);
    assert_eq!(at.len(), 1);
    let mut flash = clean.clone();
    flash.edit(|b| b[at[0]] ^= 0x01);
    let mut s = store(flash);
    assert_eq!(block_on(s.load()).err(), Some(StoreError::Corrupted));

    // The same flip in the superseded record changes nothing.
    let old = find(clean.bytes(), &[1, 3, 5, 7, 9, 2]);
    let mut flash = clean.clone();
    flash.edit(|b| b[old[0]] ^= 0x01);
    let mut s = store(flash);
    let loaded = block_on(s.load()).unwrap();
    let code = loaded.snapshot.person(n(2)).unwrap().passcode.unwrap();
    assert_eq!(code.digits(), &[8, 6, 4, 2, 0, 9]);
}

#[test]
fn two_stores_on_one_flash_replay_to_the_same_answers() {
    let story = Door::story();
    let (_, a) = replay(test_flash(), &story);
    let (_, b) = replay(test_flash(), &story);
    assert_eq!(a.bytes(), b.bytes(), "the store is deterministic");
}

// ----- app records (lock-proto's identity and pairings) --------------------

fn read_app<F: embedded_storage_async::nor_flash::NorFlash>(
    s: &mut Store<F>,
    slot: u8,
) -> Option<Vec<u8>> {
    let mut buf = [0u8; lock_store::APP_RECORD_MAX];
    block_on(s.read_app(slot, &mut buf))
        .unwrap()
        .map(|n| buf[..n].to_vec())
}

#[test]
fn app_records_round_trip_and_survive_a_restart() {
    let mut s = store(test_flash());
    block_on(s.load()).unwrap();
    assert_eq!(read_app(&mut s, 0), None);
    block_on(s.write_app(0, Some(b"identity"))).unwrap();
    block_on(s.write_app(3, Some(&[7u8; lock_store::APP_RECORD_MAX]))).unwrap();
    block_on(s.write_app(3, Some(b"pairing three, newer"))).unwrap();
    block_on(s.write_app(5, Some(b"revoked soon"))).unwrap();
    block_on(s.write_app(5, None)).unwrap();
    // The people's records are untouched by app records, and the other way.
    block_on(s.apply(&Change::Person(Person::new(n(1), Role::Administrator)))).unwrap();

    let mut s = store(s.release());
    let loaded = block_on(s.load()).unwrap();
    assert_eq!(loaded.snapshot.people.len(), 1);
    assert_eq!(read_app(&mut s, 0).as_deref(), Some(&b"identity"[..]));
    assert_eq!(
        read_app(&mut s, 3).as_deref(),
        Some(&b"pairing three, newer"[..])
    );
    assert_eq!(read_app(&mut s, 5), None);
    assert_eq!(read_app(&mut s, lock_store::APP_SLOTS - 1), None);
}

#[test]
fn app_records_out_of_range_are_refused_and_nothing_is_written() {
    let mut s = store(test_flash());
    block_on(s.load()).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(
        block_on(s.write_app(lock_store::APP_SLOTS, Some(b"x"))),
        Err(StoreError::Invalid)
    );
    assert_eq!(
        block_on(s.write_app(1, Some(&[0u8; lock_store::APP_RECORD_MAX + 1]))),
        Err(StoreError::Invalid)
    );
    assert_eq!(
        block_on(s.read_app(lock_store::APP_SLOTS, &mut buf)),
        Err(StoreError::Invalid)
    );
    // A buffer too short for the record is refused, not truncated.
    let mut s = store(s.release());
    block_on(s.load()).unwrap();
    block_on(s.write_app(1, Some(b"longer than four"))).unwrap();
    assert_eq!(block_on(s.read_app(1, &mut buf)), Err(StoreError::Invalid));
    assert_eq!(
        read_app(&mut s, 1).as_deref(),
        Some(&b"longer than four"[..])
    );
}

#[test]
fn app_records_need_a_loaded_store() {
    let mut s = store(test_flash());
    let mut buf = [0u8; 8];
    assert_eq!(
        block_on(s.read_app(0, &mut buf)),
        Err(StoreError::NotLoaded)
    );
    assert_eq!(
        block_on(s.write_app(0, Some(b"x"))),
        Err(StoreError::NotLoaded)
    );
}

/// S-ST-5: a factory reset erases the pairing keys with everything else.
#[test]
fn s_st_5_factory_reset_erases_app_records() {
    let mut s = store(test_flash());
    block_on(s.load()).unwrap();
    for slot in 0..lock_store::APP_SLOTS {
        block_on(s.write_app(slot, Some(&[slot; 64]))).unwrap();
    }
    block_on(s.apply(&Change::FactoryReset)).unwrap();
    for slot in 0..lock_store::APP_SLOTS {
        assert_eq!(read_app(&mut s, slot), None, "slot {slot} after the reset");
    }
    let mut s = store(s.release());
    block_on(s.load()).unwrap();
    for slot in 0..lock_store::APP_SLOTS {
        assert_eq!(read_app(&mut s, slot), None, "slot {slot} after a restart");
    }
}

#[test]
fn app_records_in_one_pass_replay_to_each_slots_current_record() {
    let mut s = store(test_flash());
    block_on(s.load()).unwrap();
    block_on(s.write_app(0, Some(b"identity"))).unwrap();
    block_on(s.write_app(2, Some(b"two, first"))).unwrap();
    block_on(s.write_app(4, Some(b"four"))).unwrap();
    block_on(s.write_app(2, Some(b"two, second"))).unwrap();
    block_on(s.write_app(4, None)).unwrap();
    let mut s = store(s.release());
    block_on(s.load()).unwrap();
    let mut slots: std::collections::BTreeMap<u8, Option<Vec<u8>>> = Default::default();
    block_on(s.for_each_app(|slot, bytes| {
        slots.insert(slot, bytes.map(<[u8]>::to_vec));
    }))
    .unwrap();
    for (slot, current) in &slots {
        assert_eq!(*current, read_app(&mut s, *slot), "slot {slot}");
    }
    assert_eq!(slots.get(&2), Some(&Some(b"two, second".to_vec())));
    assert_eq!(slots.get(&4), Some(&None));
    assert_eq!(slots.len(), 3);
}
