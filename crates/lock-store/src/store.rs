//! The store: a state map and a log queue on one NOR flash.

use core::ops::Range;

use embedded_storage_async::nor_flash::NorFlash;
use heapless::{Deque, Vec};
use lock_core::{
    BiometricKind, Change, LogRecord, PEOPLE_CAPACITY, Person, PersonNumber, Snapshot,
    TEMPLATES_PER_PERSON, TemplateId, Timestamp, VisitorCodeUse, VisitorCodesUsed,
    record_visitor_code_use,
};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};
use sequential_storage::queue::{QueueConfig, QueueStorage};

use crate::error::{ConfigError, StoreError};
use crate::record::{
    DecodeError, Encoded, FormatRecord, Intent, LogItem, MAGIC, ModuleWork, Stamp, StateRecord,
    decode, encode, key, mark,
};

/// The largest encoded person record (value bytes: version, stamp, record).
pub(crate) const MAX_PERSON_VALUE: usize = 120;
/// The largest encoded state record: the intent with a full module work list.
pub(crate) const MAX_STATE_VALUE: usize = 656;
/// The largest format, settings or attempts record.
pub(crate) const MAX_SMALL_VALUE: usize = 44;
/// The largest record of used visitor codes (all 32 slots: 651 bytes).
pub(crate) const MAX_VISITOR_VALUE: usize = 656;
/// The largest encoded app record: version, stamp, `Some`, length, bytes.
pub(crate) const MAX_APP_VALUE: usize = 1 + 10 + 1 + 2 + crate::APP_RECORD_MAX;
/// The largest encoded log item.
pub(crate) const MAX_LOG_VALUE: usize = 52;
/// sequential-storage's item header.
const ITEM_HEADER: usize = 8;
/// State keys other than people: format, settings, attempts, the clock's
/// mark (the intent is counted on its own).
const SMALL_KEYS: usize = 5;
/// Enough for a key and the largest value, rounded up to any word size.
const BUF_LEN: usize = 704;
const _: () = assert!(BUF_LEN >= (1 + MAX_STATE_VALUE).next_multiple_of(32));
const _: () = assert!(BUF_LEN >= MAX_LOG_VALUE.next_multiple_of(32));
const _: () = assert!(BUF_LEN >= (1 + MAX_VISITOR_VALUE).next_multiple_of(32));
/// Map keys are below this (person 100 is `0x74`, the last app slot `0x9f`).
const KEYS: usize = key::END as usize;

/// Aligned like the strictest flash word, for drivers that write straight
/// from RAM.
#[repr(align(32))]
struct Buffer([u8; BUF_LEN]);

type NoCache<K> = Cache<Uncached, Uncached, Uncached, K>;
type StateMap<'f, F> = MapStorage<u8, WordReads<'f, F>, NoCache<u8>>;
type LogQueue<'f, F> = QueueStorage<WordReads<'f, F>, NoCache<()>>;

/// The flash as sequential-storage sees it: reads in whole words.
///
/// sequential-storage tells a page's state from `READ_SIZE` bytes of its
/// first and last word. On flash that reads bytes but writes larger words
/// (STM32L4: 1 and 8, the mock: 1 and 4) a power cut while the last word (the
/// "closed" marker) is programmed can leave its first bytes written and its
/// last byte not: read alone, that byte says "open", and the next write of
/// the marker hits a word already programmed. Reading the whole word sees
/// the bits that were written. Reads in whole words are always allowed, and
/// sequential-storage's word size (the larger of the two) is unchanged, so
/// the format on flash is too.
struct WordReads<'f, F>(&'f mut F);

impl<F: NorFlash> embedded_storage_async::nor_flash::ErrorType for WordReads<'_, F> {
    type Error = F::Error;
}

impl<F: NorFlash> embedded_storage_async::nor_flash::ReadNorFlash for WordReads<'_, F> {
    const READ_SIZE: usize = word_size::<F>();

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> core::result::Result<(), F::Error> {
        self.0.read(offset, bytes).await
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> NorFlash for WordReads<'_, F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> core::result::Result<(), F::Error> {
        self.0.erase(from, to).await
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> core::result::Result<(), F::Error> {
        self.0.write(offset, bytes).await
    }
}
type Result<T, F> =
    core::result::Result<T, StoreError<<F as embedded_storage_async::nor_flash::ErrorType>::Error>>;

/// Where the store lives on the flash: two sector-aligned, non-overlapping
/// ranges (offsets into the flash the driver presents).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StoreConfig {
    /// The state: settings, attempts, people, the format and intent records.
    /// At least [`StoreConfig::min_state_bytes`].
    pub state: Range<u32>,
    /// The event log. At least two sectors; its size sets how many records
    /// are kept before the oldest are overwritten.
    pub log: Range<u32>,
}

const fn word_size<F: NorFlash>() -> usize {
    if F::WRITE_SIZE > F::READ_SIZE {
        F::WRITE_SIZE
    } else {
        F::READ_SIZE
    }
}

/// `bytes`, or `u32::MAX` when it does not fit.
const fn to_u32(bytes: usize) -> u32 {
    if bytes >= u32::MAX as usize {
        u32::MAX
    } else {
        // Cannot truncate: checked on the line above (`TryFrom` is not const).
        #[allow(clippy::cast_possible_truncation)]
        let b = bytes as u32;
        b
    }
}

/// Bytes an item with `data` bytes of key and value takes on flash.
const fn item_bytes<F: NorFlash>(data: usize) -> usize {
    let w = word_size::<F>();
    ITEM_HEADER.next_multiple_of(w) + data.next_multiple_of(w)
}

impl StoreConfig {
    /// The usual layout: `state_bytes` of state from the partition's start,
    /// then `log_bytes` of log right after it.
    pub const fn state_then_log(state_bytes: u32, log_bytes: u32) -> StoreConfig {
        StoreConfig {
            state: 0..state_bytes,
            log: state_bytes..state_bytes.saturating_add(log_bytes),
        }
    }

    /// The smallest state range that holds a full lock (100 people with every
    /// credential, settings, attempts and a full intent record) without ever
    /// reporting [`StoreError::Full`]: the live records, plus the largest
    /// record written while its old version still exists, spread over pages
    /// that each lose up to a record's length at their end, plus the page
    /// sequential-storage keeps erased and one spare so that a full map does
    /// not migrate on every write. More pages mean fewer erases per page
    /// (S-ST-4; see the crate docs for the figures).
    pub const fn min_state_bytes<F: NorFlash>() -> u32 {
        let person = item_bytes::<F>(1 + MAX_PERSON_VALUE);
        let intent = item_bytes::<F>(1 + MAX_STATE_VALUE);
        let small = item_bytes::<F>(1 + MAX_SMALL_VALUE);
        let visitor = item_bytes::<F>(1 + MAX_VISITOR_VALUE);
        let app = item_bytes::<F>(1 + MAX_APP_VALUE);
        let live = PEOPLE_CAPACITY * person
            + SMALL_KEYS * small
            + visitor
            + intent
            + crate::APP_SLOTS as usize * app;
        let usable = F::ERASE_SIZE.saturating_sub(2 * word_size::<F>());
        let per_page = usable.saturating_sub(person);
        if per_page == 0 || usable < intent {
            return u32::MAX;
        }
        let pages = (live + intent).div_ceil(per_page) + 2;
        to_u32(pages * F::ERASE_SIZE)
    }

    /// The smallest log range: two sectors, so that overwriting the oldest
    /// records never erases all of them at once.
    pub const fn min_log_bytes<F: NorFlash>() -> u32 {
        let usable = F::ERASE_SIZE.saturating_sub(2 * word_size::<F>());
        if usable < item_bytes::<F>(MAX_LOG_VALUE) {
            return u32::MAX;
        }
        to_u32(2 * F::ERASE_SIZE)
    }

    fn check<F: NorFlash>(&self, capacity: usize) -> core::result::Result<(), ConfigError> {
        let erase = u32::try_from(F::ERASE_SIZE).map_err(|_| ConfigError::OutOfFlash)?;
        let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
        if word_size::<F>() > 32 {
            return Err(ConfigError::WordTooLarge);
        }
        for r in [&self.state, &self.log] {
            if r.start > r.end || !r.start.is_multiple_of(erase) || !r.end.is_multiple_of(erase) {
                return Err(ConfigError::NotSectorAligned);
            }
            if r.end > capacity {
                return Err(ConfigError::OutOfFlash);
            }
        }
        if self.state.start < self.log.end && self.log.start < self.state.end {
            return Err(ConfigError::Overlap);
        }
        let needed = StoreConfig::min_state_bytes::<F>();
        if self.state.end - self.state.start < needed {
            return Err(ConfigError::StateTooSmall { needed });
        }
        let needed = StoreConfig::min_log_bytes::<F>();
        if self.log.end - self.log.start < needed {
            return Err(ConfigError::LogTooSmall { needed });
        }
        // What sequential-storage checks besides; the same conditions today.
        MapConfig::<F>::try_new(self.state.clone()).map_err(|_| ConfigError::NotSectorAligned)?;
        QueueConfig::<F>::try_new(self.log.clone()).map_err(|_| ConfigError::NotSectorAligned)?;
        Ok(())
    }
}

/// What [`Store::load`] found: the snapshot for [`lock_core::Lock::restore`]
/// and the module work a multi-record operation still owes.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The lock's state.
    pub snapshot: Snapshot,
    /// Biometric module commands to carry out before any credential is
    /// accepted (S-ST-2), then report with [`Store::module_work_done`].
    pub module_work: ModuleWork,
}

/// One log record with its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    /// Monotonic across restarts and factory resets: a later record always
    /// has a larger number.
    pub seq: u32,
    /// The record.
    pub record: LogRecord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Not loaded since it was made.
    Unloaded,
    /// A write failed (or a load could not read the flash): what is on
    /// flash may differ from what the store last knew. The next call reads
    /// it again first ([`Store::recover`]).
    Stale,
    /// The state could not be read: only a factory reset (and the log, if it
    /// could be read) work.
    Corrupted,
    /// Loaded.
    Ready,
}

/// What a pass over the log found.
#[derive(Debug, Clone, Copy, Default)]
struct LogScan {
    /// Items found.
    items: u32,
    /// One past the largest sequence number.
    next_seq: u32,
    /// The newest reset marker, and whether its completion marker or an
    /// event record follows it (records are appended only once a reset is
    /// finished).
    reset: Option<(u32, bool)>,
    /// The largest generation of any marker.
    max_generation: u32,
    /// The newest state write any record since the newest reset marker saw.
    state_seen: u32,
    /// The last item, in the queue's order.
    last: Option<LogItem>,
}

/// What a pass over the state map found besides the snapshot (which it
/// builds in place, when asked for one).
#[derive(Debug)]
struct StateScan {
    format: Option<FormatRecord>,
    intent: Option<Intent>,
    any_items: bool,
    /// A record did not decode, a newest record is missing (the digest does
    /// not match), or sequential-storage reported corruption.
    corrupted: bool,
    /// Each key's newest write number, 0 for none.
    wseqs: [u32; KEYS],
    /// The newest record of all.
    newest: Stamp,
    /// The digest of what was found.
    digest: u32,
}

impl StateScan {
    /// Back to [`StateScan::default`] in place: a scan is filled where the
    /// load's future keeps it, not returned through the stack (it is about
    /// 1.3 KB, and each move left a copy in the poll's frame). Exhaustive,
    /// so a new field cannot be forgotten here.
    fn reset(&mut self) {
        let StateScan {
            format,
            intent,
            any_items,
            corrupted,
            wseqs,
            newest,
            digest,
        } = self;
        *format = None;
        *intent = None;
        *any_items = false;
        *corrupted = false;
        *wseqs = [0; KEYS];
        *newest = Stamp::default();
        *digest = 0;
    }
}

impl Default for StateScan {
    fn default() -> Self {
        StateScan {
            format: None,
            intent: None,
            any_items: false,
            corrupted: false,
            wseqs: [0; KEYS],
            newest: Stamp::default(),
            digest: 0,
        }
    }
}

/// Empties `snapshot`, if there is one, in place.
fn clear(snapshot: Option<&mut Snapshot>) {
    if let Some(snapshot) = snapshot {
        snapshot.clear();
    }
}

/// A bit per map key.
#[derive(Default)]
struct KeySet([u128; 2]);

impl KeySet {
    fn set(&mut self, key: u8, on: bool) {
        let (word, bit) = (usize::from(key / 128), key % 128);
        if let Some(w) = self.0.get_mut(word) {
            if on {
                *w |= 1 << bit;
            } else {
                *w &= !(1 << bit);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
}

/// The lock's state and event log on a NOR flash. See the crate docs for the
/// calling protocol and the on-flash format.
pub struct Store<F> {
    flash: F,
    config: StoreConfig,
    buf: Buffer,
    status: Status,
    /// Whether the log could be read at the last load.
    log_ready: bool,
    /// A factory reset's marker is in the log and the reset is not finished:
    /// no event record may follow the marker until it is.
    reset_pending: bool,
    next_seq: u32,
    /// The largest reset generation seen on flash.
    generation: u32,
    /// The intent record as it is on flash.
    intent: Intent,
    /// The newest state write's number and digest ([`Stamp`]).
    stamp: Stamp,
    /// Each key's newest write number, 0 for none.
    wseqs: [u32; KEYS],
}

impl<F: NorFlash> Store<F> {
    /// A store on `flash` at `config`'s ranges. Reads nothing yet: call
    /// [`Store::load`] next.
    pub fn new(flash: F, config: StoreConfig) -> core::result::Result<Store<F>, ConfigError> {
        config.check::<F>(flash.capacity())?;
        Ok(Store {
            flash,
            config,
            buf: Buffer([0; BUF_LEN]),
            status: Status::Unloaded,
            log_ready: false,
            reset_pending: false,
            next_seq: 0,
            generation: 0,
            intent: Intent::default(),
            stamp: Stamp::default(),
            wseqs: [0; KEYS],
        })
    }

    /// Gives the flash back.
    pub fn release(self) -> F {
        self.flash
    }

    /// The flash, for tests and tools (erase counts, raw bytes).
    pub fn flash(&self) -> &F {
        &self.flash
    }

    /// The flash, for tests and tools (scheduling a power cut). Writing to it
    /// behind the store's back makes the store's view stale: load again.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Where the store lives.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The module work still owed (S-ST-2): carry out
    /// [`ModuleWork::commands`], then call [`Store::module_work_done`].
    pub fn module_work(&self) -> &ModuleWork {
        &self.intent.module_work
    }

    /// The sequence number the next log record gets.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    fn map(&mut self) -> Result<(StateMap<'_, F>, &mut [u8]), F> {
        let config =
            MapConfig::try_new(self.config.state.clone()).map_err(|_| StoreError::Corrupted)?;
        Ok((
            MapStorage::new(WordReads(&mut self.flash), config, Cache::new_uncached()),
            &mut self.buf.0,
        ))
    }

    fn queue(&mut self) -> Result<(LogQueue<'_, F>, &mut [u8]), F> {
        let config =
            QueueConfig::try_new(self.config.log.clone()).map_err(|_| StoreError::Corrupted)?;
        Ok((
            QueueStorage::new(WordReads(&mut self.flash), config, Cache::new_uncached()),
            &mut self.buf.0,
        ))
    }

    /// Reads the flash and finishes whatever a power cut interrupted, then
    /// returns the state for [`lock_core::Lock::restore`].
    ///
    /// - A factory reset that began (its marker is in the log) is finished:
    ///   the state range erased, the modules' clearing recorded as module
    ///   work. So is first start on an erased flash.
    /// - A person deletion that began (its intent record is there) is
    ///   finished: their record is deleted if it is still there, and their
    ///   templates are reported as module work.
    ///
    /// Loading twice gives the same result. On [`StoreError::Corrupted`]
    /// start the lock with [`lock_core::Lock::fail_secure`]; a factory reset
    /// ([`Change::FactoryReset`]) still works then and repairs the flash. On
    /// [`StoreError::UnsupportedVersion`] the flash is left untouched.
    pub async fn load(&mut self) -> Result<Loaded, F> {
        let mut snapshot = Snapshot::default();
        self.load_into(&mut snapshot).await?;
        Ok(Loaded {
            snapshot,
            module_work: self.intent.module_work.clone(),
        })
    }

    /// [`Store::load`] into a snapshot the caller owns: what it held is
    /// replaced record by record, and the module work is
    /// [`Store::module_work`]. Neither this call's future nor its result
    /// holds a [`Snapshot`] (about 12 KB), so a firmware that keeps one
    /// where the lock's boot can reach it loads without one on its stack.
    /// On an error the snapshot's content is unspecified: do not restore
    /// from it.
    pub async fn load_into(&mut self, snapshot: &mut Snapshot) -> Result<(), F> {
        self.read_back(Some(snapshot)).await
    }

    /// Reads the flash again as [`Store::load`] does, finishing what a power
    /// cut interrupted, without building the snapshot: for a store whose
    /// write failed, whose state the caller still has. Every call runs it
    /// by itself first after a failed write, so a caller only needs it to
    /// choose the moment.
    pub async fn recover(&mut self) -> Result<(), F> {
        self.read_back(None).await
    }

    /// [`Store::recover`] if a write failed since the last load.
    async fn recover_if_stale(&mut self) -> Result<(), F> {
        if self.status == Status::Stale {
            self.recover().await?;
        }
        Ok(())
    }

    /// A load, building `snapshot` if given one.
    async fn read_back(&mut self, snapshot: Option<&mut Snapshot>) -> Result<(), F> {
        self.status = Status::Unloaded;
        self.log_ready = false;
        self.reset_pending = false;
        // Nothing of an earlier load carries over.
        self.stamp = Stamp::default();
        self.wseqs = [0; KEYS];
        self.intent = Intent::default();
        let result = self.load_inner(snapshot).await;
        if let Err(e) = &result {
            self.status = match e {
                // The flash could not be read: try again at the next call.
                StoreError::Flash(_) => Status::Stale,
                // Nothing but a factory reset writes now (and the log, if it
                // was read).
                _ => Status::Corrupted,
            };
        }
        result
    }

    async fn load_inner(&mut self, mut snapshot: Option<&mut Snapshot>) -> Result<(), F> {
        let log = match self.scan_log().await {
            // A log without one item of ours is only ours if it is erased:
            // random bytes read as an empty queue too.
            Ok(log) if log.items == 0 && !self.is_blank(self.config.log.clone()).await? => None,
            Ok(log) => Some(log),
            Err(StoreError::Corrupted) => None,
            Err(e) => return Err(e),
        };
        let mut state = StateScan::default();
        self.scan_state(snapshot.as_deref_mut(), &mut state).await?;
        self.generation = state
            .format
            .map_or(0, |f| f.generation)
            .max(log.map_or(0, |l| l.max_generation));
        self.next_seq = state.format.map_or(0, |f| f.log_seq_floor);
        if let Some(log) = log {
            self.next_seq = self.next_seq.max(log.next_seq);
            self.log_ready = true;
            // S-ST-2: a factory reset that was not finished: no completion
            // marker or event record after its marker, and no format record
            // of its generation (written last, after the erase). Damage to
            // one of these alone must not wipe a lock.
            if let Some((generation, false)) = log.reset
                && state.format.map(|f| f.generation) != Some(generation)
            {
                self.reset_pending = true;
                clear(snapshot);
                return self.finish_reset(generation).await;
            }
        }
        let Some(format) = state.format else {
            // First start needs an erased state range, and no log saying
            // the lock had a state since its last reset: an erased state
            // partition must not turn a set-up lock into a new one that
            // anyone can become the administrator of.
            let had_state = log.is_some_and(|l| l.state_seen > 0);
            if had_state
                || state.any_items
                || state.corrupted
                || !self.is_blank(self.config.state.clone()).await?
            {
                return Err(StoreError::Corrupted);
            }
            // An erased state range: first start, as after a factory reset.
            // A log that is not ours is erased with it.
            clear(snapshot);
            return self.reset().await;
        };
        if state.corrupted || format.magic != MAGIC {
            return Err(StoreError::Corrupted);
        }
        match log {
            // S-ST-3: the log saw state writes the state no longer has (a
            // sector lost, rolled back).
            Some(log) if log.state_seen <= state.newest.wseq => {}
            _ => return Err(StoreError::Corrupted),
        }
        self.stamp = Stamp {
            wseq: state.newest.wseq,
            digest: state.digest,
        };
        self.wseqs = state.wseqs;
        self.intent = state.intent.take().unwrap_or_default();
        // S-ST-2: a deletion whose intent was written but whose record was not.
        if let Some(n) = self.intent.delete_person
            && self.fetch_person(n).await?.is_some()
        {
            self.store_state(key::person(n), &None::<Person>).await?;
            if let Some(snapshot) = snapshot {
                snapshot.people.retain(|p| p.number != n);
            }
            // The write may have made sequential-storage repair a damaged
            // page and drop records the scan counted: what this load returns
            // must be what the next one finds (S-ST-3).
            // The first scan is no longer needed: the second one reuses it.
            self.scan_state(None, &mut state).await?;
            if state.corrupted || state.newest != self.stamp || state.wseqs != self.wseqs {
                return Err(StoreError::Corrupted);
            }
        }
        self.status = Status::Ready;
        Ok(())
    }

    /// Writes one change record the lock emitted ([`lock_core::Action::Persist`]).
    /// When it returns `Ok` the change is on flash and survives any power cut
    /// (S-ST-1, R-LKO-4); a cut before that leaves the old state or the new
    /// one, never a third.
    ///
    /// [`Change::PersonDeleted`] and [`Change::FactoryReset`] leave module
    /// work ([`Store::module_work`]) for the runtime: the module commands the
    /// lock emits right after them in the same batch. Report them done with
    /// [`Store::module_work_done`].
    pub async fn apply(&mut self, change: &Change) -> Result<(), F> {
        let recovered = self.recover_if_stale().await;
        let allowed = match change {
            // A reset repairs what cannot be read.
            Change::FactoryReset => self.status != Status::Unloaded,
            _ => self.status == Status::Ready,
        };
        if !allowed {
            return Err(recovered.err().unwrap_or(StoreError::NotLoaded));
        }
        let result = match change {
            Change::FactoryReset => self.reset().await,
            Change::Person(p) => self.store_person(p).await,
            Change::PersonDeleted(n) => self.delete_person(*n).await,
            Change::Settings(s) => self.store_state(key::SETTINGS, s).await,
            Change::Attempts(a) => self.store_state(key::ATTEMPTS, a).await,
            Change::VisitorCodeUsed { code, at } => self.visitor_code_used(*code, *at).await,
            Change::ClockMark(t) => self.store_state(key::CLOCK_MARK, t).await,
            Change::Armed(a) => self.store_state(key::ARMED, a).await,
        };
        if result.is_err() {
            self.status = Status::Stale;
        }
        result
    }

    /// Records that the runtime carried out every command of
    /// [`Store::module_work`]: the intent record is cleared. Does nothing
    /// when no work is pending.
    pub async fn module_work_done(&mut self) -> Result<(), F> {
        self.recover_if_stale().await?;
        if self.status != Status::Ready {
            return Err(StoreError::NotLoaded);
        }
        if self.intent == Intent::default() {
            return Ok(());
        }
        let result = self.store_intent(Intent::default()).await;
        if result.is_err() {
            self.status = Status::Stale;
        }
        result
    }

    /// Appends a log record ([`lock_core::Action::Log`], R-APP-6), returning
    /// its sequence number. When the log is full the oldest records are
    /// overwritten, a sector at a time.
    pub async fn append_log(&mut self, record: &LogRecord) -> Result<u32, F> {
        self.recover_if_stale().await?;
        if self.status == Status::Unloaded || !self.log_ready || self.reset_pending {
            return Err(StoreError::NotLoaded);
        }
        let seq = self.next_seq;
        let next = seq.checked_add(1).ok_or(StoreError::Full)?;
        let result = self
            .push_log(&LogItem::Record {
                seq,
                state: self.stamp.wseq,
                record: *record,
            })
            .await;
        match result {
            Ok(()) => {
                self.next_seq = next;
                Ok(seq)
            }
            Err(e) => {
                self.status = Status::Stale;
                Err(e)
            }
        }
    }

    /// Up to `N` log records, newest first, with sequence numbers below
    /// `before` (all of them for `None`): pass the last `seq` of one page to
    /// get the next.
    pub async fn read_log<const N: usize>(
        &mut self,
        before: Option<u32>,
    ) -> Result<Vec<Logged, N>, F> {
        self.recover_if_stale().await?;
        if self.status == Status::Unloaded || !self.log_ready {
            return Err(StoreError::NotLoaded);
        }
        let mut newest: Deque<Logged, N> = Deque::new();
        let (mut queue, buf) = self.queue()?;
        let mut it = queue.iter().await?;
        while let Some(entry) = it.next(buf).await? {
            if let LogItem::Record { seq, record, .. } = decode_log(&entry)? {
                if before.is_some_and(|b| seq >= b) {
                    continue;
                }
                if newest.is_full() {
                    newest.pop_front();
                }
                let _ = newest.push_back(Logged { seq, record });
            }
        }
        let mut out = Vec::new();
        for logged in newest.iter().rev() {
            // Cannot fail: both hold N.
            let _ = out.push(*logged);
        }
        Ok(out)
    }

    // ----- app records ----------------------------------------------------

    /// Reads app record `slot` (`0..APP_SLOTS`) into `buf`, returning its
    /// length, or `None` if the slot is empty. App records belong to the app
    /// protocol (`lock-proto`'s identity and pairings); the store keeps them
    /// opaque, numbered and checksummed like every state record, and a
    /// factory reset erases them with the rest (S-ST-5).
    pub async fn read_app(&mut self, slot: u8, buf: &mut [u8]) -> Result<Option<usize>, F> {
        self.recover_if_stale().await?;
        if self.status != Status::Ready {
            return Err(StoreError::NotLoaded);
        }
        let key = key::app(slot).ok_or(StoreError::Invalid)?;
        let (mut map, mbuf) = self.map()?;
        let Some(bytes) = map.fetch_item::<&[u8]>(mbuf, &key).await? else {
            return Ok(None);
        };
        match StateRecord::decode(key, bytes) {
            Ok((_, StateRecord::App(Some(record)))) => {
                let out = buf.get_mut(..record.len()).ok_or(StoreError::Invalid)?;
                out.copy_from_slice(&record);
                Ok(Some(record.len()))
            }
            Ok((_, StateRecord::App(None))) => Ok(None),
            Ok(_) | Err(DecodeError::Corrupted) => Err(StoreError::Corrupted),
            Err(DecodeError::UnsupportedVersion(v)) => Err(StoreError::UnsupportedVersion(v)),
        }
    }

    /// Every app record on flash, in one pass over the state map: `f` gets
    /// `(slot, Some(bytes))` for a record and `(slot, None)` for a slot
    /// emptied, in the order they were written (a superseded record before
    /// the one that replaced it), so applying them in turn leaves each
    /// slot's current record. A boot reads the protocol's records this way
    /// instead of scanning the map once a slot.
    pub async fn for_each_app(&mut self, mut f: impl FnMut(u8, Option<&[u8]>)) -> Result<(), F> {
        self.recover_if_stale().await?;
        if self.status != Status::Ready {
            return Err(StoreError::NotLoaded);
        }
        let (mut map, buf) = self.map()?;
        let mut it = map.fetch_all_items(buf).await?;
        while let Some((key, bytes)) = it.next::<&[u8]>(buf).await? {
            let Some(slot) = key::app_slot(key) else {
                continue;
            };
            match StateRecord::decode(key, bytes) {
                Ok((_, StateRecord::App(record))) => f(slot, record.as_deref()),
                Ok(_) | Err(DecodeError::Corrupted) => return Err(StoreError::Corrupted),
                Err(DecodeError::UnsupportedVersion(v)) => {
                    return Err(StoreError::UnsupportedVersion(v));
                }
            }
        }
        Ok(())
    }

    /// Writes app record `slot` (`None` empties it). When it returns `Ok` the
    /// record is on flash; a cut before that leaves the old one. At most
    /// [`APP_RECORD_MAX`](crate::APP_RECORD_MAX) bytes.
    pub async fn write_app(&mut self, slot: u8, record: Option<&[u8]>) -> Result<(), F> {
        self.recover_if_stale().await?;
        if self.status != Status::Ready {
            return Err(StoreError::NotLoaded);
        }
        let key = key::app(slot).ok_or(StoreError::Invalid)?;
        if record.is_some_and(|r| r.len() > crate::APP_RECORD_MAX) {
            return Err(StoreError::Invalid);
        }
        let result = self.store_state(key, &record).await;
        if result.is_err() {
            self.status = Status::Stale;
        }
        result
    }

    // ----- state ----------------------------------------------------------

    /// Writes one state record, numbered and with the digest of the state
    /// it leaves ([`Stamp`]).
    async fn store_state<T: serde::Serialize + ?Sized>(
        &mut self,
        key: u8,
        value: &T,
    ) -> Result<(), F> {
        let previous = *self
            .wseqs
            .get(usize::from(key))
            .ok_or(StoreError::Invalid)?;
        let wseq = self.stamp.wseq.checked_add(1).ok_or(StoreError::Full)?;
        let mut digest = self.stamp.digest ^ mark(key, wseq);
        if previous != 0 {
            digest ^= mark(key, previous);
        }
        let (mut map, buf) = self.map()?;
        map.store_item(buf, &key, &Encoded(&(wseq, digest, value)))
            .await?;
        self.stamp = Stamp { wseq, digest };
        if let Some(w) = self.wseqs.get_mut(usize::from(key)) {
            *w = wseq;
        }
        Ok(())
    }

    async fn store_intent(&mut self, intent: Intent) -> Result<(), F> {
        self.store_state(key::INTENT, &intent).await?;
        self.intent = intent;
        Ok(())
    }

    async fn store_person(&mut self, person: &Person) -> Result<(), F> {
        if PersonNumber::new(person.number.get()).is_none() {
            return Err(StoreError::Invalid);
        }
        // The number, or a template, is handed out again: a pending deletion
        // must not reach the new holder.
        let mut intent = self.intent.clone();
        let mut changed = intent.module_work.keep_templates_of(person);
        if intent.delete_person == Some(person.number) {
            intent.delete_person = None;
            changed = true;
        }
        if changed {
            self.store_intent(intent).await?;
        }
        self.store_state(key::person(person.number), &Some(person))
            .await
    }

    /// R-USR-5 and S-ST-2: the intent record (who, and their templates) goes
    /// first; then their record is deleted. A person without templates is
    /// one write.
    async fn delete_person(&mut self, n: PersonNumber) -> Result<(), F> {
        if PersonNumber::new(n.get()).is_none() {
            return Err(StoreError::Invalid);
        }
        // Nobody there: nothing to do.
        let Some(person) = self.fetch_person(n).await? else {
            return Ok(());
        };
        let mut templates: Vec<(BiometricKind, TemplateId), TEMPLATES_PER_PERSON> = Vec::new();
        for t in person.all_templates() {
            templates.push(t).map_err(|_| StoreError::Corrupted)?;
        }
        if !templates.is_empty() {
            let mut intent = self.intent.clone();
            intent.delete_person = Some(n);
            for &(kind, template) in &templates {
                if !intent.module_work.add_delete(kind, template) {
                    return Err(StoreError::ModuleWorkFull);
                }
            }
            self.store_intent(intent).await?;
        }
        self.store_state(key::person(n), &None::<Person>).await
    }

    /// S-VC-1: the table of used one-time codes, updated as the lock updates
    /// its own.
    async fn visitor_code_used(&mut self, code: VisitorCodeUse, at: Timestamp) -> Result<(), F> {
        let (mut map, buf) = self.map()?;
        let key = key::VISITOR_CODES_USED;
        let mut used = match map.fetch_item::<&[u8]>(buf, &key).await? {
            None => VisitorCodesUsed::new(),
            Some(bytes) => match StateRecord::decode(key, bytes).map_err(decode_error)? {
                (_, StateRecord::VisitorCodesUsed(used)) => used,
                _ => return Err(StoreError::Corrupted),
            },
        };
        // The lock refused the code instead of emitting this when its table
        // was full, and this table is the same: it cannot fail.
        record_visitor_code_use(&mut used, code, at).map_err(|_| StoreError::Invalid)?;
        self.store_state(key, &used).await
    }

    async fn fetch_person(&mut self, n: PersonNumber) -> Result<Option<Person>, F> {
        let (mut map, buf) = self.map()?;
        let key = key::person(n);
        let Some(bytes) = map.fetch_item::<&[u8]>(buf, &key).await? else {
            return Ok(None);
        };
        match StateRecord::decode(key, bytes).map_err(decode_error)? {
            (_, StateRecord::Person(_, person)) => Ok(person),
            _ => Err(StoreError::Corrupted),
        }
    }

    /// One pass over the state map into `scan`, building `snapshot` if
    /// given one.
    async fn scan_state(
        &mut self,
        mut snapshot: Option<&mut Snapshot>,
        scan: &mut StateScan,
    ) -> Result<(), F> {
        clear(snapshot.as_deref_mut());
        scan.reset();
        let mut broken = KeySet::default();
        let (mut map, buf) = self.map()?;
        // sequential-storage 8.0.2's `fetch_all_items` does not repair what
        // a power cut left (its `?` returns before its auto-repair runs): a
        // page whose erase was cut reads as corrupted. `fetch_item` repairs,
        // so after such an error it runs once, and the scan starts again.
        let needs_repair = match map.fetch_all_items(buf).await {
            Ok(_) => false,
            Err(sequential_storage::Error::Storage { value, .. }) => {
                return Err(StoreError::Flash(value));
            }
            Err(_) => true,
        };
        if needs_repair {
            // Only a flash error matters here: the scan below decides.
            if let Err(sequential_storage::Error::Storage { value, .. }) =
                map.fetch_item::<&[u8]>(buf, &key::FORMAT).await
            {
                return Err(StoreError::Flash(value));
            }
        }
        let mut it = match map.fetch_all_items(buf).await {
            Ok(it) => it,
            Err(sequential_storage::Error::Storage { value, .. }) => {
                return Err(StoreError::Flash(value));
            }
            Err(_) => {
                scan.corrupted = true;
                return Ok(());
            }
        };
        loop {
            let (key, bytes) = match it.next::<&[u8]>(buf).await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(sequential_storage::Error::Storage { value, .. }) => {
                    return Err(StoreError::Flash(value));
                }
                Err(_) => {
                    scan.corrupted = true;
                    break;
                }
            };
            scan.any_items = true;
            let (stamp, record) = match StateRecord::decode(key, bytes) {
                Ok(record) => record,
                Err(DecodeError::UnsupportedVersion(v)) => {
                    return Err(StoreError::UnsupportedVersion(v));
                }
                Err(DecodeError::Corrupted) => {
                    broken.set(key, true);
                    if let (Some(n), Some(snapshot)) = (key::person_number(key), &mut snapshot) {
                        snapshot.people.retain(|p| p.number != n);
                    }
                    continue;
                }
            };
            broken.set(key, false);
            // Later items of a key are newer (a migrated copy is the same
            // record): an older number after a newer one is not ours.
            match scan.wseqs.get_mut(usize::from(key)) {
                Some(w) if *w <= stamp.wseq => *w = stamp.wseq,
                _ => {
                    scan.corrupted = true;
                    continue;
                }
            }
            if stamp.wseq >= scan.newest.wseq {
                scan.newest = stamp;
            }
            match (record, &mut snapshot) {
                (StateRecord::Format(f), _) => scan.format = Some(f),
                (StateRecord::Intent(i), _) => scan.intent = Some(i),
                // Without a snapshot to build, each record is only checked.
                (_, None) => {}
                (StateRecord::Settings(s), Some(snapshot)) => snapshot.settings = s,
                (StateRecord::Attempts(a), Some(snapshot)) => snapshot.attempts = a,
                (StateRecord::VisitorCodesUsed(v), Some(snapshot)) => {
                    snapshot.visitor_codes_used = v;
                }
                (StateRecord::ClockMark(t), Some(snapshot)) => snapshot.clock_mark = Some(t),
                (StateRecord::Armed(a), Some(snapshot)) => snapshot.armed = a,
                // Read when asked for (`Store::read_app`): checked, not kept.
                (StateRecord::App(_), Some(_)) => {}
                (StateRecord::Person(n, person), Some(snapshot)) => {
                    let people = &mut snapshot.people;
                    match (people.iter_mut().find(|p| p.number == n), person) {
                        (Some(slot), Some(p)) => *slot = p,
                        (None, Some(p)) => {
                            if people.push(p).is_err() {
                                scan.corrupted = true;
                            }
                        }
                        (_, None) => people.retain(|p| p.number != n),
                    }
                }
            }
        }
        scan.corrupted |= !broken.is_empty();
        for (key, &w) in (0u8..).zip(scan.wseqs.iter()) {
            if w != 0 {
                scan.digest ^= mark(key, w);
            }
        }
        // S-ST-3: the newest record vouches for every key's newest record.
        scan.corrupted |= scan.digest != scan.newest.digest;
        if let Some(snapshot) = snapshot {
            snapshot.people.sort_unstable_by_key(|p| p.number);
        }
        Ok(())
    }

    /// Whether every byte of `range` reads erased.
    async fn is_blank(&mut self, range: Range<u32>) -> Result<bool, F> {
        let mut at = range.start;
        while at < range.end {
            let len = (range.end - at).min(64);
            let chunk = usize::try_from(len)
                .ok()
                .and_then(|len| self.buf.0.get_mut(..len))
                .ok_or(StoreError::Corrupted)?;
            self.flash
                .read(at, chunk)
                .await
                .map_err(StoreError::Flash)?;
            if chunk.iter().any(|&b| b != 0xFF) {
                return Ok(false);
            }
            at += len;
        }
        Ok(true)
    }

    // ----- factory reset --------------------------------------------------

    /// S-ST-5 and S-ST-2: the reset marker goes to the log first (the commit
    /// point), then the whole state range is erased, then the module work
    /// and the format record are written, and the completion is logged.
    async fn reset(&mut self) -> Result<(), F> {
        let generation = self.generation.wrapping_add(1);
        // A log that could not be read (or is not ours) starts again.
        if !self.log_ready {
            self.erase_log().await?;
        }
        self.push_log_or_restart(&LogItem::Reset { generation })
            .await?;
        self.log_ready = true;
        self.reset_pending = true;
        self.finish_reset(generation).await
    }

    async fn finish_reset(&mut self, generation: u32) -> Result<(), F> {
        self.status = Status::Unloaded;
        self.erase(self.config.state.clone()).await?;
        self.stamp = Stamp::default();
        self.wseqs = [0; KEYS];
        self.store_intent(Intent {
            delete_person: None,
            module_work: ModuleWork::clear_all(),
        })
        .await?;
        self.store_state(
            key::FORMAT,
            &FormatRecord {
                magic: MAGIC,
                generation,
                log_seq_floor: self.next_seq,
            },
        )
        .await?;
        self.push_log_or_restart(&LogItem::ResetDone { generation })
            .await?;
        self.reset_pending = false;
        self.generation = self.generation.max(generation);
        self.status = Status::Ready;
        Ok(())
    }

    // ----- log ------------------------------------------------------------

    async fn push_log(&mut self, item: &LogItem) -> Result<(), F> {
        let len = encode(item, &mut self.buf.0).map_err(|_| StoreError::Corrupted)?;
        let config =
            QueueConfig::try_new(self.config.log.clone()).map_err(|_| StoreError::Corrupted)?;
        let mut queue: LogQueue<'_, F> =
            QueueStorage::new(WordReads(&mut self.flash), config, Cache::new_uncached());
        let data = self.buf.0.get(..len).ok_or(StoreError::Corrupted)?;
        queue.push(data, true).await?;
        Ok(())
    }

    /// For a factory reset, which must work whatever the flash holds (it is
    /// how a lock that failed secure comes back): a reset marker that cannot
    /// be appended (the log damaged so that its free space is not erased, or
    /// beyond repair), or that a scan of the log does not find as its last
    /// item, is appended to an erased log instead. Damage can hide the page
    /// a marker went to from the queue's iteration, or put the marker into
    /// an erased hole with older items after it; either way the next load
    /// would not see the reset as the newest thing that happened, and refuse
    /// the fresh state as rolled back. The log holds no secret; its sequence
    /// numbers carry on from the format record.
    async fn push_log_or_restart(&mut self, item: &LogItem) -> Result<(), F> {
        if self.push_log(item).await.is_ok()
            && self
                .scan_log()
                .await
                .is_ok_and(|scan| scan.last.as_ref() == Some(item))
        {
            return Ok(());
        }
        self.erase_log().await?;
        self.push_log(item).await
    }

    async fn erase_log(&mut self) -> Result<(), F> {
        self.erase(self.config.log.clone()).await
    }

    /// Erases `range` a sector at a time, yielding to the executor between
    /// sectors: a blocking flash (lock-store's `blocking` feature) erases a
    /// sector in up to ~400 ms (SPI NOR datasheets' worst case), and a whole
    /// range at once would hold the executor for seconds, long enough for a
    /// board's watchdog, fed by a future beside the lock's, to reset the
    /// chip in the middle of a factory reset (which the next boot resumes,
    /// and the watchdog would cut again).
    async fn erase(&mut self, range: Range<u32>) -> Result<(), F> {
        let sector = u32::try_from(F::ERASE_SIZE).map_err(|_| StoreError::Invalid)?;
        let mut at = range.start;
        while at < range.end {
            let next = at.saturating_add(sector).min(range.end);
            self.flash
                .erase(at, next)
                .await
                .map_err(StoreError::Flash)?;
            at = next;
            embassy_futures::yield_now().await;
        }
        Ok(())
    }

    async fn scan_log(&mut self) -> Result<LogScan, F> {
        let mut scan = LogScan::default();
        let (mut queue, buf) = self.queue()?;
        let mut it = queue.iter().await?;
        while let Some(entry) = it.next(buf).await? {
            scan.items = scan.items.saturating_add(1);
            let item = decode_log(&entry)?;
            scan.last = Some(item);
            match item {
                LogItem::Record { seq, state, .. } => {
                    scan.next_seq = scan.next_seq.max(seq.saturating_add(1));
                    scan.state_seen = scan.state_seen.max(state);
                    if let Some((_, finished)) = scan.reset.as_mut() {
                        *finished = true;
                    }
                }
                LogItem::Reset { generation } => {
                    // State writes start again from 1 after a reset.
                    scan.state_seen = 0;
                    scan.reset = Some((generation, false));
                    scan.max_generation = scan.max_generation.max(generation);
                }
                LogItem::ResetDone { generation } => {
                    if scan.reset.is_some_and(|(g, _)| g == generation) {
                        scan.reset = Some((generation, true));
                    }
                }
            }
        }
        Ok(scan)
    }
}

fn decode_log<E>(bytes: &[u8]) -> core::result::Result<LogItem, StoreError<E>> {
    decode(bytes).map_err(decode_error)
}

fn decode_error<E>(e: DecodeError) -> StoreError<E> {
    match e {
        DecodeError::Corrupted => StoreError::Corrupted,
        DecodeError::UnsupportedVersion(v) => StoreError::UnsupportedVersion(v),
    }
}
