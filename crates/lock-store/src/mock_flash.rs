//! An in-memory NOR flash for tests, the simulator and host tools (feature
//! `mock-flash`), in the spirit of sequential-storage's own `mock_flash.rs`.
//!
//! It is strict where real NOR flash is unforgiving, so a store that passes on
//! it does not rely on luck:
//! - **write once between erases**: a word that was programmed (even partly,
//!   even with `0xFF`) must be erased before it is programmed again
//!   ([`MockFlashError::NotErased`]); ECC flash such as the STM32L4's refuses
//!   exactly this;
//! - **alignment**: writes start and end on a word (`WORD` bytes), erases on a
//!   sector (`SECTOR` bytes);
//! - **erase counts per sector**, for wear figures (S-ST-4);
//! - **power cuts** ([`Cut`]): at byte `b` of the `n`-th mutating operation, or
//!   after `n` bytes in all. The bytes before the cut are applied, the byte at
//!   the cut is torn (a write clears half the bits it was to clear, rounded
//!   up; an erase sets the upper four bits), nothing after it, and every
//!   operation fails with [`MockFlashError::PowerCut`] until
//!   [`MockFlash::power_on`]: a restart.
//!
//! Reads are byte-granular (`READ_SIZE` 1), as on the boards' flash.
//!
//! [`SharedMockFlash`] is a handle on one such flash that outlives whoever
//! uses it: the lock's store is dropped at a power cut, the flash stays for
//! the next boot (the simulator, the runtime's tests). `no_std` + `alloc`,
//! so a board running the simulator on its target uses it too.

use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// ESP32-C3's SPI flash through esp-storage: 4-byte words, 4 KiB sectors.
pub type Esp32c3Flash = MockFlash<4, 4096>;
/// RP2040's QSPI flash through embassy-rp: byte writes, 4 KiB sectors.
pub type Rp2040Flash = MockFlash<1, 4096>;
/// STM32L4 internal flash through embassy-stm32: 8-byte (double-word) writes,
/// 2 KiB pages.
pub type Stm32l4Flash = MockFlash<8, 2048>;

/// Where power goes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// At byte `byte` of mutating operation number `operation` (writes and
    /// erases counted from 0 since the flash was made, see
    /// [`MockFlash::operations`]). A `byte` at or past the operation's end
    /// lets it complete, then cuts before the caller sees the result.
    At {
        /// Which write or erase.
        operation: u64,
        /// How many of its bytes are applied before the cut.
        byte: usize,
    },
    /// After this many more bytes written or erased, across operations.
    AfterBytes(u64),
}

/// Why an operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockFlashError {
    /// Power went off (or is still off).
    PowerCut,
    /// Not aligned to a word (writes) or a sector (erases).
    NotAligned,
    /// Outside the flash.
    OutOfBounds,
    /// This word was programmed since its last erase.
    NotErased {
        /// The word's address.
        address: u32,
    },
}

impl core::fmt::Display for MockFlashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

impl NorFlashError for MockFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            MockFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            MockFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            MockFlashError::PowerCut | MockFlashError::NotErased { .. } => NorFlashErrorKind::Other,
        }
    }
}

/// A mutating operation, as [`MockFlash::trace`] records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// Its number ([`Cut::At`]'s `operation`).
    pub index: u64,
    /// Write or erase.
    pub kind: OperationKind,
    /// Where it starts.
    pub offset: u32,
    /// How many bytes it covers.
    pub len: usize,
}

/// What an [`Operation`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// Programs bytes.
    Write,
    /// Erases sectors.
    Erase,
}

/// Counters since the flash was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Read calls.
    pub reads: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Write calls.
    pub writes: u64,
    /// Bytes programmed.
    pub bytes_written: u64,
    /// Sector erases (an erase call over three sectors counts three).
    pub sector_erases: u64,
}

/// An in-memory NOR flash of `WORD`-byte words and `SECTOR`-byte sectors.
#[derive(Debug, Clone)]
pub struct MockFlash<const WORD: usize, const SECTOR: usize> {
    data: Vec<u8>,
    /// Per word: programmed since its last erase.
    programmed: Vec<bool>,
    erases: Vec<u32>,
    stats: Stats,
    operations: u64,
    cut: Option<Cut>,
    powered: bool,
    trace: Option<Vec<Operation>>,
}

impl<const WORD: usize, const SECTOR: usize> MockFlash<WORD, SECTOR> {
    /// A flash of `sectors` erased sectors.
    pub fn new(sectors: usize) -> Self {
        const { assert!(WORD > 0 && SECTOR > 0 && SECTOR.is_multiple_of(WORD)) };
        let len = sectors.saturating_mul(SECTOR);
        MockFlash {
            data: vec![0xFF; len],
            programmed: vec![false; len / WORD],
            erases: vec![0; sectors],
            stats: Stats::default(),
            operations: 0,
            cut: None,
            powered: true,
            trace: None,
        }
    }

    /// A flash holding `image` (padded with erased bytes to whole sectors),
    /// as if it had been written by someone else: a word is programmed unless
    /// it reads all `0xFF`.
    pub fn from_image(image: &[u8]) -> Self {
        let sectors = image.len().div_ceil(SECTOR);
        let mut flash = MockFlash::new(sectors);
        flash.edit(|bytes| {
            for (to, from) in bytes.iter_mut().zip(image) {
                *to = *from;
            }
        });
        flash
    }

    /// The raw contents.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Changes the raw contents behind the store's back (corruption tests);
    /// afterwards a word counts as programmed unless it reads all `0xFF`.
    pub fn edit(&mut self, f: impl FnOnce(&mut [u8])) {
        f(&mut self.data);
        for (word, programmed) in self.data.chunks(WORD).zip(self.programmed.iter_mut()) {
            *programmed = word.iter().any(|&b| b != 0xFF);
        }
    }

    /// Damages the contents as `script` says, behind the store's back: the
    /// `store_image` fuzz target's input format, so a regression test replays
    /// what the fuzzer found. The script is read four bytes at a time (`op`,
    /// a big-endian offset in 8-byte units, a length), `op % 5` choosing:
    /// 0 raw bytes taken from the script, 1 up to four bytes XORed with the
    /// next script byte, 2 erased to `0xFF`, 3 zeroed, 4 the whole sector
    /// erased. Never panics, whatever the script.
    pub fn damage(&mut self, script: &[u8]) {
        let len = self.data.len();
        if len == 0 {
            return;
        }
        let mut rest = script;
        while let [op, hi, lo, n, tail @ ..] = rest {
            let at = usize::from(u16::from_be_bytes([*hi, *lo])) * 8 % len;
            let n = usize::from(*n).min(len - at);
            rest = tail;
            match op % 5 {
                0 => {
                    let take = n.min(rest.len());
                    let (bytes, tail) = rest.split_at(take);
                    self.edit(|b| {
                        if let Some(to) = b.get_mut(at..at + take) {
                            to.copy_from_slice(bytes);
                        }
                    });
                    rest = tail;
                }
                1 => {
                    let mask = rest.first().copied().unwrap_or(0x10).max(1);
                    let end = (at + 4).min(at + n);
                    self.edit(|b| b.iter_mut().take(end).skip(at).for_each(|x| *x ^= mask));
                    rest = rest.get(1..).unwrap_or(&[]);
                }
                2 => self.edit(|b| b.iter_mut().take(at + n).skip(at).for_each(|x| *x = 0xFF)),
                3 => self.edit(|b| b.iter_mut().take(at + n).skip(at).for_each(|x| *x = 0)),
                _ => {
                    let start = at / SECTOR * SECTOR;
                    self.edit(|b| {
                        b.iter_mut()
                            .take(start + SECTOR)
                            .skip(start)
                            .for_each(|x| *x = 0xFF)
                    });
                }
            }
        }
    }

    /// Erases per sector since the flash was made.
    pub fn erase_counts(&self) -> &[u32] {
        &self.erases
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Mutating operations (write and erase calls) so far: the numbering
    /// [`Cut::At`] uses.
    pub fn operations(&self) -> u64 {
        self.operations
    }

    /// Starts (or restarts, emptied) recording every write and erase, for
    /// tests that cut power at each of them.
    pub fn start_trace(&mut self) {
        self.trace = Some(Vec::new());
    }

    /// The operations recorded since [`MockFlash::start_trace`].
    pub fn trace(&self) -> &[Operation] {
        self.trace.as_deref().unwrap_or(&[])
    }

    fn record(&mut self, kind: OperationKind, offset: u32, len: usize) {
        let index = self.operations;
        if let Some(trace) = self.trace.as_mut() {
            trace.push(Operation {
                index,
                kind,
                offset,
                len,
            });
        }
    }

    /// Schedules a power cut, replacing any scheduled one.
    pub fn cut_power(&mut self, cut: Cut) {
        self.cut = Some(cut);
    }

    /// Whether power is on.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Power comes back (a restart): operations work again and any cut still
    /// scheduled is dropped.
    pub fn power_on(&mut self) {
        self.powered = true;
        self.cut = None;
    }

    /// How many bytes of an operation of `len` bytes run before power goes
    /// off: `None` for all of them with power staying on.
    fn cut_within(&mut self, len: usize) -> Option<usize> {
        let at = match self.cut? {
            Cut::At { operation, byte } if operation == self.operations => byte.min(len),
            Cut::At { .. } => return None,
            Cut::AfterBytes(n) => {
                let left = usize::try_from(n).unwrap_or(usize::MAX);
                if left >= len {
                    self.cut = Some(Cut::AfterBytes(n.saturating_sub(len as u64)));
                    return None;
                }
                left
            }
        };
        self.cut = None;
        Some(at)
    }

    fn check(&self, offset: u32, len: usize, align: usize) -> Result<usize, MockFlashError> {
        if !self.powered {
            return Err(MockFlashError::PowerCut);
        }
        let start = usize::try_from(offset).map_err(|_| MockFlashError::OutOfBounds)?;
        if start
            .checked_add(len)
            .is_none_or(|end| end > self.data.len())
        {
            return Err(MockFlashError::OutOfBounds);
        }
        if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(MockFlashError::NotAligned);
        }
        Ok(start)
    }
}

/// What programming `b` leaves when power goes in the middle: half of the
/// bits it clears (rounded up), so a byte that was to change does change.
fn torn(b: u8) -> u8 {
    let mut to_clear = !b;
    let mut keep = to_clear.count_ones().div_ceil(2);
    let mut cleared = 0u8;
    while keep > 0 && to_clear != 0 {
        let lowest = to_clear & to_clear.wrapping_neg();
        cleared |= lowest;
        to_clear &= !lowest;
        keep -= 1;
    }
    !cleared
}

impl<const WORD: usize, const SECTOR: usize> ErrorType for MockFlash<WORD, SECTOR> {
    type Error = MockFlashError;
}

impl<const WORD: usize, const SECTOR: usize> ReadNorFlash for MockFlash<WORD, SECTOR> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.read_now(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.data.len()
    }
}

impl<const WORD: usize, const SECTOR: usize> NorFlash for MockFlash<WORD, SECTOR> {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = SECTOR;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.erase_now(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.write_now(offset, bytes)
    }
}

// The operations finish at once: the trait's futures and the shared handle
// both run these.
impl<const WORD: usize, const SECTOR: usize> MockFlash<WORD, SECTOR> {
    fn read_now(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), MockFlashError> {
        let start = self.check(offset, bytes.len(), 1)?;
        self.stats.reads += 1;
        self.stats.bytes_read += bytes.len() as u64;
        let src = self
            .data
            .get(start..start + bytes.len())
            .ok_or(MockFlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn erase_now(&mut self, from: u32, to: u32) -> Result<(), MockFlashError> {
        if to < from {
            return Err(MockFlashError::OutOfBounds);
        }
        let start = self.check(from, (to - from) as usize, SECTOR)?;
        let len = (to - from) as usize;
        self.record(OperationKind::Erase, from, len);
        let cut = self.cut_within(len);
        self.operations += 1;
        let done = cut.unwrap_or(len);
        for sector in (start / SECTOR)..((start + done.max(1).min(len)).div_ceil(SECTOR)) {
            if let Some(count) = self.erases.get_mut(sector) {
                *count += 1;
                self.stats.sector_erases += 1;
            }
        }
        if let Some(bytes) = self.data.get_mut(start..start + done) {
            bytes.fill(0xFF);
        }
        for word in (start / WORD)..((start + done) / WORD) {
            if let Some(p) = self.programmed.get_mut(word) {
                *p = false;
            }
        }
        if let Some(at) = cut {
            // A cut at or past the end lets the erase complete: no byte is
            // torn (the byte after the range belongs to the next sector).
            if let Some(torn) = self.data.get_mut(start + at).filter(|_| at < len) {
                *torn |= 0xF0;
            }
            self.powered = false;
            return Err(MockFlashError::PowerCut);
        }
        Ok(())
    }

    fn write_now(&mut self, offset: u32, bytes: &[u8]) -> Result<(), MockFlashError> {
        let start = self.check(offset, bytes.len(), WORD)?;
        for word in (start / WORD)..((start + bytes.len()) / WORD) {
            if self.programmed.get(word).copied().unwrap_or(true) {
                return Err(MockFlashError::NotErased {
                    address: u32::try_from(word * WORD).unwrap_or(u32::MAX),
                });
            }
        }
        self.record(OperationKind::Write, offset, bytes.len());
        let cut = self.cut_within(bytes.len());
        self.operations += 1;
        self.stats.writes += 1;
        let done = cut.unwrap_or(bytes.len());
        for (i, &b) in bytes.iter().enumerate().take(done) {
            if let Some(cell) = self.data.get_mut(start + i) {
                *cell &= b;
            }
        }
        self.stats.bytes_written += done as u64;
        // A word touched at all is programmed: it cannot be written again.
        let touched_end = start + done + usize::from(cut.is_some_and(|at| at < bytes.len()));
        for word in (start / WORD)..touched_end.div_ceil(WORD) {
            if let Some(p) = self.programmed.get_mut(word) {
                *p = true;
            }
        }
        if let Some(at) = cut {
            if let (Some(cell), Some(&b)) = (self.data.get_mut(start + at), bytes.get(at)) {
                *cell &= torn(b);
            }
            self.powered = false;
            return Err(MockFlashError::PowerCut);
        }
        Ok(())
    }
}

/// One [`MockFlash`] shared by every handle on it: what survives the store
/// that used it (a power cycle). Erasing, writing and reading act on the
/// shared flash at once.
#[derive(Debug, Clone)]
pub struct SharedMockFlash<const WORD: usize, const SECTOR: usize>(
    /// The flash itself.
    pub Rc<RefCell<MockFlash<WORD, SECTOR>>>,
);

impl<const WORD: usize, const SECTOR: usize> SharedMockFlash<WORD, SECTOR> {
    /// A shared flash of `sectors` erased sectors.
    pub fn new(sectors: usize) -> Self {
        SharedMockFlash(Rc::new(RefCell::new(MockFlash::new(sectors))))
    }

    /// A shared flash holding `image` of exactly `sectors` sectors (a file
    /// the simulator kept), or an erased one when the image has another
    /// size.
    pub fn from_image_or_erased(image: Option<&[u8]>, sectors: usize) -> Self {
        match image {
            Some(image) if image.len() == sectors.saturating_mul(SECTOR) => {
                SharedMockFlash(Rc::new(RefCell::new(MockFlash::from_image(image))))
            }
            _ => SharedMockFlash::new(sectors),
        }
    }

    /// A second flash holding a copy of this one's contents and state, not
    /// shared with it.
    pub fn copy(&self) -> Self {
        SharedMockFlash(Rc::new(RefCell::new(self.0.borrow().clone())))
    }

    /// A copy of the raw contents (to keep in a file).
    pub fn image(&self) -> Vec<u8> {
        self.0.borrow().bytes().to_vec()
    }
}

impl<const WORD: usize, const SECTOR: usize> ErrorType for SharedMockFlash<WORD, SECTOR> {
    type Error = MockFlashError;
}

impl<const WORD: usize, const SECTOR: usize> ReadNorFlash for SharedMockFlash<WORD, SECTOR> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.0.borrow_mut().read_now(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.borrow().data.len()
    }
}

impl<const WORD: usize, const SECTOR: usize> NorFlash for SharedMockFlash<WORD, SECTOR> {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = SECTOR;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0.borrow_mut().erase_now(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.borrow_mut().write_now(offset, bytes)
    }
}

/// A window of a [`SharedMockFlash`]: one partition of it (the boot loader's
/// ACTIVE, DFU and STATE side by side, or the store's region), offsets
/// relative to its start, as embedded-storage's async and blocking
/// `NorFlash` (embassy-boot's boot loader is blocking; the mock's
/// operations finish at once). A cut counts the operations of every window
/// on the flash.
#[derive(Debug, Clone)]
pub struct MockRegion<const WORD: usize, const SECTOR: usize> {
    flash: SharedMockFlash<WORD, SECTOR>,
    start: u32,
    len: u32,
    zero_overwrite: bool,
}

impl<const WORD: usize, const SECTOR: usize> MockRegion<WORD, SECTOR> {
    /// The `len` bytes of `flash` from `start`.
    pub fn new(flash: &SharedMockFlash<WORD, SECTOR>, start: u32, len: u32) -> Self {
        MockRegion {
            flash: flash.clone(),
            start,
            len,
            zero_overwrite: false,
        }
    }

    /// The same window, taking an all-zero word over a programmed one as
    /// plain NOR takes it (bits only go from 1 to 0) and as the STM32L4
    /// does despite its ECC (RM0351: no PROGERR for an all-zero double
    /// word). embassy-boot's STATE partition relies on it: after a cut that
    /// tore a progress word it writes the word again with zeros. Such a
    /// write is not counted as an operation, so no cut falls in it.
    pub fn allowing_zero_overwrite(self) -> Self {
        MockRegion {
            zero_overwrite: true,
            ..self
        }
    }

    fn at(&self, offset: u32, len: usize) -> Result<u32, MockFlashError> {
        let end = u64::from(offset) + len as u64;
        if end > u64::from(self.len) {
            return Err(MockFlashError::OutOfBounds);
        }
        Ok(self.start + offset)
    }

    fn read_now(&self, offset: u32, bytes: &mut [u8]) -> Result<(), MockFlashError> {
        let at = self.at(offset, bytes.len())?;
        self.flash.0.borrow_mut().read_now(at, bytes)
    }

    fn erase_now(&self, from: u32, to: u32) -> Result<(), MockFlashError> {
        let at = self.at(from, to.saturating_sub(from) as usize)?;
        self.flash
            .0
            .borrow_mut()
            .erase_now(at, at + to.saturating_sub(from))
    }

    fn write_now(&self, offset: u32, bytes: &[u8]) -> Result<(), MockFlashError> {
        let at = self.at(offset, bytes.len())?;
        let mut flash = self.flash.0.borrow_mut();
        match flash.write_now(at, bytes) {
            Err(MockFlashError::NotErased { .. })
                if self.zero_overwrite && bytes.iter().all(|&b| b == 0) =>
            {
                let start = at as usize;
                flash.edit(|data| {
                    if let Some(cells) = data.get_mut(start..start + bytes.len()) {
                        cells.fill(0);
                    }
                });
                Ok(())
            }
            other => other,
        }
    }
}

impl<const WORD: usize, const SECTOR: usize> ErrorType for MockRegion<WORD, SECTOR> {
    type Error = MockFlashError;
}

impl<const WORD: usize, const SECTOR: usize> ReadNorFlash for MockRegion<WORD, SECTOR> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.read_now(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.len as usize
    }
}

impl<const WORD: usize, const SECTOR: usize> NorFlash for MockRegion<WORD, SECTOR> {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = SECTOR;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.erase_now(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.write_now(offset, bytes)
    }
}

// (embedded-storage-async's `ErrorType` is embedded-storage's: one impl
// serves both.)
impl<const WORD: usize, const SECTOR: usize> embedded_storage::nor_flash::ReadNorFlash
    for MockRegion<WORD, SECTOR>
{
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.read_now(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.len as usize
    }
}

impl<const WORD: usize, const SECTOR: usize> embedded_storage::nor_flash::NorFlash
    for MockRegion<WORD, SECTOR>
{
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = SECTOR;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.erase_now(from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.write_now(offset, bytes)
    }
}
