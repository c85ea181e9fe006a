//! What the runtime needs from storage: [`StateStore`]. `lock-store` keeps
//! the lock's state and log on NOR flash and implements it; [`MemoryStore`]
//! keeps them in RAM for host tools.

use lock_core::{Change, LogRecord, ModuleCommand, Snapshot};

/// What kind of failure a store reports, so the runtime can react without
/// knowing the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// What is on flash cannot be read as the lock's state: checksum, format,
    /// an unknown future version (S-ST-3). Retrying will not help; the lock
    /// starts fail-secure.
    Corrupted,
    /// The flash itself failed (a read, write or erase error, a timeout).
    /// Retrying may help.
    Flash,
    /// No room left even after reclaiming space.
    Full,
    /// Anything else.
    Other,
}

/// A store's error.
pub trait StoreError: core::fmt::Debug {
    /// What kind of failure this is.
    fn kind(&self) -> StoreErrorKind;
}

impl StoreError for StoreErrorKind {
    fn kind(&self) -> StoreErrorKind {
        *self
    }
}

impl StoreError for core::convert::Infallible {
    fn kind(&self) -> StoreErrorKind {
        match *self {}
    }
}

/// App record slots a store keeps for the app side ([`crate::App`]):
/// `0..APP_SLOTS`.
pub const APP_SLOTS: u8 = 34;

/// The largest app record, in bytes.
pub const APP_RECORD_MAX: usize = 128;

/// Log records one [`StateStore::log_page`] returns at most.
pub const LOG_PAGE: usize = 8;

/// One page of the event log: sequence numbers with their records, newest
/// first.
pub type LogPage = heapless::Vec<(u32, LogRecord), LOG_PAGE>;

/// The lock's persistent state and event log, as the runtime uses them.
///
/// **None of these is cancel-safe, and the runtime never drops one midway**
/// (sequential-storage's warning: a cancelled flash operation can leave a
/// half-written item that costs a repair on the next boot). Each must return
/// within a bounded time. The runtime awaits every [`StateStore::apply`] and
/// [`StateStore::append_log`] to completion before it executes the next
/// action (S-BF-2, R-LKO-4).
pub trait StateStore {
    /// The store's error.
    type Error: StoreError;

    /// Reads what the lock must restore at boot. A store that holds
    /// multi-record operations (a deletion, a factory reset) finishes them
    /// here, before the lock accepts any credential (S-ST-2). An empty store
    /// (a new lock, or after a factory reset) gives [`Snapshot::default`].
    async fn load(&mut self) -> Result<Snapshot, Self::Error>;

    /// [`StateStore::load`] into a snapshot the caller owns, replacing what
    /// it held. A store that decodes record by record (lock-store's) fills
    /// it in place, so no second snapshot (about 12 KB) is built on the
    /// stack or kept in this call's future; the default goes through
    /// [`StateStore::load`]. On an error its content is unspecified.
    async fn load_into(&mut self, snapshot: &mut Snapshot) -> Result<(), Self::Error> {
        *snapshot = self.load().await?;
        Ok(())
    }

    /// Makes one change durable: when this returns `Ok`, a power cut at any
    /// later moment finds it on flash.
    async fn apply(&mut self, change: &Change) -> Result<(), Self::Error>;

    /// Appends one record to the event log (R-APP-6), the oldest overwritten
    /// when full.
    async fn append_log(&mut self, record: &LogRecord) -> Result<(), Self::Error>;

    /// One page of the log: the newest [`LOG_PAGE`] records with sequence
    /// numbers below `before` (all for `None`), newest first (R-APP-6: the
    /// app reads the log through this). Named apart from lock-store's
    /// `Store::read_log`, which fills a page of any size.
    async fn log_page(&mut self, before: Option<u32>) -> Result<LogPage, Self::Error>;

    /// Reads app record `slot` (`0..APP_SLOTS`) into `buf`, returning its
    /// length, or `None` for an empty slot. App records belong to the app
    /// side (`lock-proto`'s identity and pairings) and are opaque to the
    /// store. Only after a successful [`StateStore::load`].
    async fn read_app_record(
        &mut self,
        slot: u8,
        buf: &mut [u8],
    ) -> Result<Option<usize>, Self::Error>;

    /// Every app record, in one pass where the store can: `f` gets `(slot,
    /// Some(bytes))` for a record and `(slot, None)` for an emptied slot,
    /// such that applying them in the order given leaves each slot's
    /// current record. The default reads slot after slot with
    /// [`StateStore::read_app_record`].
    async fn read_app_records(
        &mut self,
        f: &mut dyn FnMut(u8, Option<&[u8]>),
    ) -> Result<(), Self::Error> {
        // S-ST-6: a record may hold a key; wiped when dropped.
        let mut buf = zeroize::Zeroizing::new([0u8; APP_RECORD_MAX]);
        for slot in 0..APP_SLOTS {
            let record = self.read_app_record(slot, buf.as_mut_slice()).await?;
            if let Some(n) = record {
                f(slot, buf.get(..n));
            }
        }
        Ok(())
    }

    /// Writes app record `slot` (`None` empties it), at most
    /// [`APP_RECORD_MAX`] bytes, durably like [`StateStore::apply`].
    /// [`Change::FactoryReset`] erases every app record (S-ST-5).
    async fn write_app_record(
        &mut self,
        slot: u8,
        record: Option<&[u8]>,
    ) -> Result<(), Self::Error>;

    /// The `n`th biometric module command (counting from 0) that a
    /// multi-record operation still owes: the template deletions of a
    /// person's deletion, the module clearing of a factory reset. The runtime
    /// carries them out after [`StateStore::load`], before the lock accepts
    /// any credential (S-ST-2), and reports them with
    /// [`StateStore::module_work_done`]. `None` past the last. A store that
    /// finishes no such operation keeps the default: none.
    fn owed_module_command(&self, n: usize) -> Option<ModuleCommand> {
        let _ = n;
        None
    }

    /// Every owed module command was carried out: the store forgets them.
    /// Also called after a batch that persisted [`Change::PersonDeleted`] or
    /// [`Change::FactoryReset`] once that batch's module commands succeeded.
    async fn module_work_done(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<T: StateStore + ?Sized> StateStore for &mut T {
    type Error = T::Error;
    async fn load(&mut self) -> Result<Snapshot, Self::Error> {
        T::load(self).await
    }
    async fn load_into(&mut self, snapshot: &mut Snapshot) -> Result<(), Self::Error> {
        T::load_into(self, snapshot).await
    }
    async fn apply(&mut self, change: &Change) -> Result<(), Self::Error> {
        T::apply(self, change).await
    }
    async fn append_log(&mut self, record: &LogRecord) -> Result<(), Self::Error> {
        T::append_log(self, record).await
    }
    async fn log_page(&mut self, before: Option<u32>) -> Result<LogPage, Self::Error> {
        T::log_page(self, before).await
    }
    async fn read_app_record(
        &mut self,
        slot: u8,
        buf: &mut [u8],
    ) -> Result<Option<usize>, Self::Error> {
        T::read_app_record(self, slot, buf).await
    }
    async fn read_app_records(
        &mut self,
        f: &mut dyn FnMut(u8, Option<&[u8]>),
    ) -> Result<(), Self::Error> {
        T::read_app_records(self, f).await
    }
    async fn write_app_record(
        &mut self,
        slot: u8,
        record: Option<&[u8]>,
    ) -> Result<(), Self::Error> {
        T::write_app_record(self, slot, record).await
    }
    fn owed_module_command(&self, n: usize) -> Option<ModuleCommand> {
        T::owed_module_command(self, n)
    }
    async fn module_work_done(&mut self) -> Result<(), Self::Error> {
        T::module_work_done(self).await
    }
}

/// Log records a [`MemoryStore`] keeps.
pub const MEMORY_LOG_CAPACITY: usize = 64;

type AppRecord = heapless::Vec<u8, APP_RECORD_MAX>;

/// A store in RAM: the snapshot every change was applied to, the app
/// records, and the newest [`MEMORY_LOG_CAPACITY`] log records. It forgets
/// everything when power goes, so it is for host tools and examples, never
/// for a lock.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    snapshot: Snapshot,
    app: [Option<AppRecord>; APP_SLOTS as usize],
    log: heapless::Deque<(u32, LogRecord), MEMORY_LOG_CAPACITY>,
    next_seq: u32,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore {
            snapshot: Snapshot::default(),
            app: core::array::from_fn(|_| None),
            log: heapless::Deque::new(),
            next_seq: 0,
        }
    }
}

/// S-ST-6: app records may hold keys; one replaced, emptied or dropped is
/// wiped.
fn wipe(record: &mut Option<AppRecord>) {
    if let Some(bytes) = record {
        zeroize::Zeroize::zeroize(bytes.as_mut_slice());
    }
    *record = None;
}

impl Drop for MemoryStore {
    fn drop(&mut self) {
        self.app.iter_mut().for_each(wipe);
    }
}

impl MemoryStore {
    /// An empty store: a new lock.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store holding `snapshot`.
    pub fn with_snapshot(snapshot: Snapshot) -> MemoryStore {
        let mut store = MemoryStore::default();
        store.snapshot = snapshot;
        store
    }

    /// What a load would return.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The kept log records, oldest first.
    pub fn log(&self) -> impl Iterator<Item = &LogRecord> {
        self.log.iter().map(|(_, r)| r)
    }
}

impl StateStore for MemoryStore {
    type Error = MemoryStoreError;

    async fn load(&mut self) -> Result<Snapshot, Self::Error> {
        Ok(self.snapshot.clone())
    }

    async fn apply(&mut self, change: &Change) -> Result<(), Self::Error> {
        if let Change::FactoryReset = change {
            self.app.iter_mut().for_each(wipe);
        }
        self.snapshot.apply(change);
        Ok(())
    }

    async fn append_log(&mut self, record: &LogRecord) -> Result<(), Self::Error> {
        if self.log.is_full() {
            self.log.pop_front();
        }
        // Cannot fail: there is room now.
        let _ = self.log.push_back((self.next_seq, *record));
        self.next_seq = self.next_seq.wrapping_add(1);
        Ok(())
    }

    async fn log_page(&mut self, before: Option<u32>) -> Result<LogPage, Self::Error> {
        let mut page = LogPage::new();
        for entry in self
            .log
            .iter()
            .rev()
            .filter(|(seq, _)| before.is_none_or(|b| *seq < b))
        {
            if page.push(*entry).is_err() {
                break;
            }
        }
        Ok(page)
    }

    async fn read_app_record(
        &mut self,
        slot: u8,
        buf: &mut [u8],
    ) -> Result<Option<usize>, Self::Error> {
        let Some(Some(record)) = self.app.get(usize::from(slot)) else {
            return Ok(None);
        };
        match buf.get_mut(..record.len()) {
            Some(out) => {
                out.copy_from_slice(record);
                Ok(Some(record.len()))
            }
            None => Err(MemoryStoreError::Invalid),
        }
    }

    async fn write_app_record(
        &mut self,
        slot: u8,
        record: Option<&[u8]>,
    ) -> Result<(), Self::Error> {
        let entry = self
            .app
            .get_mut(usize::from(slot))
            .ok_or(MemoryStoreError::Invalid)?;
        wipe(entry);
        *entry = match record {
            Some(bytes) => {
                Some(AppRecord::from_slice(bytes).map_err(|_| MemoryStoreError::Invalid)?)
            }
            None => None,
        };
        Ok(())
    }
}

/// A [`MemoryStore`]'s only failure: an app slot or record out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryStoreError {
    /// The slot is not below [`APP_SLOTS`], the record is longer than
    /// [`APP_RECORD_MAX`] or the buffer shorter than the record.
    Invalid,
}

impl StoreError for MemoryStoreError {
    fn kind(&self) -> StoreErrorKind {
        StoreErrorKind::Other
    }
}

/// lock-store's errors, by what the runtime does about them.
#[cfg(feature = "lock-store")]
impl<E: core::fmt::Debug> StoreError for lock_store::StoreError<E> {
    fn kind(&self) -> StoreErrorKind {
        use lock_store::StoreError as E;
        match self {
            E::Flash(_) => StoreErrorKind::Flash,
            // A newer format is refused, not misread: as untrusted as damage.
            E::Corrupted | E::UnsupportedVersion(_) => StoreErrorKind::Corrupted,
            E::Full | E::ModuleWorkFull => StoreErrorKind::Full,
            _ => StoreErrorKind::Other,
        }
    }
}

#[cfg(feature = "lock-store")]
const _: () =
    assert!(lock_store::APP_SLOTS == APP_SLOTS && lock_store::APP_RECORD_MAX == APP_RECORD_MAX);

/// The lock's state and log on NOR flash (lock-store). After a failed write
/// lock-store reads the flash back by itself before its next call, so the
/// runtime's retry needs nothing here.
#[cfg(feature = "lock-store")]
impl<F: lock_hal::nor_flash::NorFlash> StateStore for lock_store::Store<F> {
    type Error = lock_store::StoreError<F::Error>;

    async fn load(&mut self) -> Result<Snapshot, Self::Error> {
        Ok(lock_store::Store::load(self).await?.snapshot)
    }

    async fn load_into(&mut self, snapshot: &mut Snapshot) -> Result<(), Self::Error> {
        lock_store::Store::load_into(self, snapshot).await
    }

    async fn apply(&mut self, change: &Change) -> Result<(), Self::Error> {
        lock_store::Store::apply(self, change).await
    }

    async fn append_log(&mut self, record: &LogRecord) -> Result<(), Self::Error> {
        lock_store::Store::append_log(self, record)
            .await
            .map(|_seq| ())
    }

    async fn log_page(&mut self, before: Option<u32>) -> Result<LogPage, Self::Error> {
        let logged = lock_store::Store::read_log::<LOG_PAGE>(self, before).await?;
        Ok(logged.iter().map(|l| (l.seq, l.record)).collect())
    }

    async fn read_app_record(
        &mut self,
        slot: u8,
        buf: &mut [u8],
    ) -> Result<Option<usize>, Self::Error> {
        lock_store::Store::read_app(self, slot, buf).await
    }

    async fn read_app_records(
        &mut self,
        f: &mut dyn FnMut(u8, Option<&[u8]>),
    ) -> Result<(), Self::Error> {
        lock_store::Store::for_each_app(self, f).await
    }

    async fn write_app_record(
        &mut self,
        slot: u8,
        record: Option<&[u8]>,
    ) -> Result<(), Self::Error> {
        lock_store::Store::write_app(self, slot, record).await
    }

    fn owed_module_command(&self, n: usize) -> Option<ModuleCommand> {
        self.module_work().commands().nth(n)
    }

    async fn module_work_done(&mut self) -> Result<(), Self::Error> {
        lock_store::Store::module_work_done(self).await
    }
}
