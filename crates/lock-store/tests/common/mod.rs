//! What the integration tests share: a flash layout, a store on the mock
//! flash, a way to see everything a store holds (to compare "old" and "new"),
//! and a door driven through `lock_core::Lock` that produces realistic change
//! records and log records.

// Each test crate uses part of this.
#![allow(dead_code)]

pub mod door;

use embedded_storage_async::nor_flash::NorFlash;
use lock_core::{Change, LogRecord, Snapshot};
use lock_store::mock_flash::MockFlash;
use lock_store::{Logged, ModuleWork, Store, StoreConfig, StoreError};

/// The test flash: 4-byte words and small 1 KiB sectors, so pages fill and
/// rotate (migrations, page erases) within a short scenario.
pub type TestFlash = MockFlash<4, 1024>;
pub type TestStore = Store<TestFlash>;
pub type Error = StoreError<lock_store::mock_flash::MockFlashError>;

/// State first (the smallest range that holds a full lock, plus `extra`
/// sectors), then the log (`log_sectors`).
pub fn layout<F: NorFlash>(extra: u32, log_sectors: u32) -> (StoreConfig, usize) {
    let sector = u32::try_from(F::ERASE_SIZE).unwrap();
    let state_end = StoreConfig::min_state_bytes::<F>().next_multiple_of(sector) + extra * sector;
    let config = StoreConfig::state_then_log(state_end, log_sectors * sector);
    let sectors = usize::try_from(config.log.end / sector).unwrap();
    (config, sectors)
}

/// The test layout: 16 KiB of state (the minimum) plus 4, 4 KiB of log.
pub fn test_layout() -> (StoreConfig, usize) {
    layout::<TestFlash>(4, 4)
}

pub fn test_flash() -> TestFlash {
    TestFlash::new(test_layout().1)
}

/// A store on a mock flash laid out as [`test_layout`] lays out the test
/// flash, for any geometry.
pub fn store<const W: usize, const S: usize>(flash: MockFlash<W, S>) -> Store<MockFlash<W, S>> {
    Store::new(flash, layout::<MockFlash<W, S>>(4, 4).0).unwrap()
}

/// An erased flash of that layout, for any geometry.
pub fn flash_for<const W: usize, const S: usize>() -> MockFlash<W, S> {
    MockFlash::new(layout::<MockFlash<W, S>>(4, 4).1)
}

pub fn block_on<T>(f: impl Future<Output = T>) -> T {
    embassy_futures::block_on(f)
}

/// A snapshot as bytes, people in number order: `Snapshot` has no
/// `PartialEq` (passcodes are compared in constant time only).
pub fn canon(snapshot: &Snapshot) -> Vec<u8> {
    let mut s = snapshot.clone();
    s.people.sort_unstable_by_key(|p| p.number);
    postcard::to_allocvec(&s).unwrap()
}

/// Everything a store holds, as a restarted lock would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub snapshot: Vec<u8>,
    pub module_work: ModuleWork,
    /// Newest first.
    pub log: Vec<Logged>,
}

/// Loads and reads the whole log.
pub fn seen<F: NorFlash>(store: &mut Store<F>) -> Result<Seen, StoreError<F::Error>> {
    block_on(async {
        let loaded = store.load().await?;
        let log = store.read_log::<1024>(None).await?;
        Ok(Seen {
            snapshot: canon(&loaded.snapshot),
            module_work: loaded.module_work,
            log: log.into_iter().collect(),
        })
    })
}

/// One thing a runtime asks of the store.
#[derive(Debug, Clone)]
pub enum Step {
    /// `Action::Persist`.
    Apply(Change),
    /// `Action::Log`.
    Log(LogRecord),
    /// The module commands of a deletion or reset were carried out.
    ModuleDone,
}

impl Step {
    /// What kind of operation this is, in the words.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Apply(Change::Person(_)) => "person",
            Step::Apply(Change::PersonDeleted(_)) => "delete person",
            Step::Apply(Change::Settings(_)) => "settings",
            Step::Apply(Change::Attempts(_)) => "record a failure",
            Step::Apply(Change::FactoryReset) => "factory reset",
            Step::Apply(Change::VisitorCodeUsed { .. }) => "visitor code used",
            Step::Apply(Change::ClockMark(_)) => "clock mark",
            Step::Apply(Change::Armed(_)) => "leaving-home mode and alarms",
            Step::Log(_) => "append a log record",
            Step::ModuleDone => "module work done",
        }
    }
}

/// Carries out one step; a log record's sequence number comes back.
pub fn run<F: NorFlash>(
    store: &mut Store<F>,
    step: &Step,
) -> Result<Option<u32>, StoreError<F::Error>> {
    block_on(async {
        match step {
            Step::Apply(change) => store.apply(change).await.map(|()| None),
            Step::Log(record) => store.append_log(record).await.map(Some),
            Step::ModuleDone => store.module_work_done().await.map(|()| None),
        }
    })
}

/// A small deterministic generator (xorshift64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// In `lo..hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + usize::try_from(self.next() % u64::try_from(hi - lo).unwrap()).unwrap()
    }
}

/// Replays steps on a fresh store, returning the flash before each step and
/// the flash after the last one.
pub fn replay<const W: usize, const S: usize>(
    flash: MockFlash<W, S>,
    steps: &[Step],
) -> (Vec<MockFlash<W, S>>, MockFlash<W, S>) {
    let mut s = store(flash);
    seen(&mut s).unwrap();
    let mut before = Vec::new();
    for step in steps {
        before.push(s.flash().clone());
        run(&mut s, step).unwrap_or_else(|e| panic!("{step:?}: {e:?}"));
    }
    (before, s.release())
}
