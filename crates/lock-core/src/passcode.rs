//! Passcodes: the rules a new code must meet, the keypad entry with its
//! anti-peeping search, and the constant-time table every entry is checked
//! against.
//!
//! The search accepts an entry when a stored code occurs in it as one
//! contiguous run. It always visits every slot and every offset, comparing
//! all of a code's digits at once, and combines the results with
//! [`subtle`]'s constant-time operations, so its running time does not
//! depend on how much of a guess was right. Codes are kept in padded
//! fixed-length buffers for the same reason: each digit in four bits of one
//! `u64` (a code in 40 bits, an entry in all 64), so that testing a code at
//! one offset is a shift, an XOR and a mask.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::person::PersonNumber;

/// Fewest digits a passcode has.
pub(crate) const PASSCODE_MIN_DIGITS: usize = 6;
/// Most digits a passcode has.
pub(crate) const PASSCODE_MAX_DIGITS: usize = 10;
/// Most digits one keypad entry holds; further digits are ignored.
pub const ENTRY_MAX_DIGITS: usize = 16;
/// Passcodes the whole lock stores, duress codes included.
pub const PASSCODE_CAPACITY: usize = 50;

/// Why a new passcode is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PasscodeError {
    /// Fewer than six digits.
    TooShort,
    /// More than ten digits.
    TooLong,
    /// A value that is not a decimal digit.
    NotADigit,
    /// All digits equal, or a straight run up or down.
    TooWeak,
    /// Contains a stored code, or is contained in one.
    Overlaps,
    /// The second entry differs from the first.
    Mismatch,
    /// No free slot in the lock, or the person has theirs already.
    Full,
}

/// A passcode of 6 to 10 decimal digits, kept in a fixed-size zero-padded buffer.
///
/// It deliberately has no `PartialEq`: compare secrets with
/// [`ConstantTimeEq::ct_eq`]. It is `Copy` (it travels in `AppCommand`,
/// which events carry by value), so it is not wiped when dropped: the
/// table wipes a slot it frees, and [`Zeroize`] wipes one on request.
#[derive(Clone, Copy)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "PasscodeDigits", into = "PasscodeDigits")
)]
pub struct Passcode {
    digits: [u8; PASSCODE_MAX_DIGITS],
    len: u8,
}

impl core::fmt::Debug for Passcode {
    /// Never prints the digits: debug output ends up in logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Passcode({} digits)", self.len)
    }
}

/// Wipes the digits and the length.
impl Zeroize for Passcode {
    fn zeroize(&mut self) {
        self.digits.zeroize();
        self.len.zeroize();
    }
}

impl ConstantTimeEq for Passcode {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.digits.ct_eq(&other.digits) & self.len.ct_eq(&other.len)
    }
}

impl Passcode {
    /// R-PIN-1: a passcode from its digits (each `0..=9`), 6 to 10 of them;
    /// the length only. [`Passcode::check_strength`] refuses weak codes.
    pub fn new(digits: &[u8]) -> Result<Passcode, PasscodeError> {
        if digits.len() < PASSCODE_MIN_DIGITS {
            return Err(PasscodeError::TooShort);
        }
        if digits.len() > PASSCODE_MAX_DIGITS {
            return Err(PasscodeError::TooLong);
        }
        if digits.iter().any(|&d| d > 9) {
            return Err(PasscodeError::NotADigit);
        }
        let mut buf = [0u8; PASSCODE_MAX_DIGITS];
        for (slot, &d) in buf.iter_mut().zip(digits) {
            *slot = d;
        }
        Ok(Passcode {
            digits: buf,
            // Bounded by PASSCODE_MAX_DIGITS above.
            len: u8::try_from(digits.len()).unwrap_or(u8::MAX),
        })
    }

    /// A passcode from a string of ASCII digits, as a test or tool writes it.
    pub fn parse(text: &str) -> Result<Passcode, PasscodeError> {
        let mut buf = [0u8; PASSCODE_MAX_DIGITS + 1];
        let mut n = 0usize;
        for (slot, c) in buf.iter_mut().zip(text.bytes()) {
            if !c.is_ascii_digit() {
                return Err(PasscodeError::NotADigit);
            }
            *slot = c.wrapping_sub(b'0');
            n = n.saturating_add(1);
        }
        if text.len() > PASSCODE_MAX_DIGITS {
            return Err(PasscodeError::TooLong);
        }
        Passcode::new(buf.get(..n).unwrap_or(&[]))
    }

    /// The digits, `0..=9` each.
    pub fn digits(&self) -> &[u8] {
        self.digits
            .get(..usize::from(self.len))
            .unwrap_or(&self.digits)
    }

    /// Number of digits (6 to 10).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Never true: a passcode has at least six digits. Here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// R-PIN-2: refuses all digits equal, and runs where each digit is one more
    /// (or each one less) than the one before. There is no wrap-around, so
    /// `890123` is allowed.
    pub fn check_strength(&self) -> Result<(), PasscodeError> {
        let d = self.digits();
        let steps = || {
            d.windows(2).map(|w| match w {
                [a, b] => i16::from(*b) - i16::from(*a),
                _ => 0,
            })
        };
        if steps().all(|s| s == 0) || steps().all(|s| s == 1) || steps().all(|s| s == -1) {
            return Err(PasscodeError::TooWeak);
        }
        Ok(())
    }

    /// Whether either code occurs in the other as a contiguous run.
    pub fn overlaps(&self, other: &Passcode) -> bool {
        contains(self.digits(), other.digits()) || contains(other.digits(), self.digits())
    }

    /// The digits packed into nibbles, digit `i` in bits `4i..4i + 4`, zero
    /// past the code's end; all ten positions visited, whatever the length.
    fn packed(&self) -> u64 {
        pack(&self.digits, self.len, 0)
    }
}

/// A passcode's digits on the wire and on flash; decoding checks the length and
/// that every value is a digit, so no malformed code reaches the table.
#[cfg(feature = "serde")]
type PasscodeDigits = heapless::Vec<u8, PASSCODE_MAX_DIGITS>;

#[cfg(feature = "serde")]
impl TryFrom<PasscodeDigits> for Passcode {
    type Error = &'static str;
    fn try_from(digits: PasscodeDigits) -> Result<Passcode, &'static str> {
        Passcode::new(&digits).map_err(|_| "passcode: 6 to 10 digits 0-9")
    }
}

#[cfg(feature = "serde")]
impl From<Passcode> for PasscodeDigits {
    fn from(code: Passcode) -> PasscodeDigits {
        code.digits().iter().copied().collect()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The last offset at which a shortest code can start in a full entry.
const LAST_OFFSET: u8 = 10;
const _: () = assert!(LAST_OFFSET as usize == ENTRY_MAX_DIGITS - PASSCODE_MIN_DIGITS);
// A whole entry fits one `u64` in nibbles, and so does a code.
const _: () = assert!(ENTRY_MAX_DIGITS * NIBBLE as usize == u64::BITS as usize);
const _: () = assert!(PASSCODE_MAX_DIGITS <= ENTRY_MAX_DIGITS);

/// `0xFF` when `i < len`, else `0`, without a branch: the borrow of `i - len`
/// fills the high byte exactly when `i < len` (both are below 256).
const fn mask_below(i: u8, len: u8) -> u8 {
    let [_, high] = (i as u16).wrapping_sub(len as u16).to_le_bytes();
    high
}

/// Bits per digit in the packed form.
const NIBBLE: u32 = 4;
/// The nibble that stands for a position past the entry's end; never a digit.
const NIBBLE_PAD: u8 = 0xF;

/// Digit `i` of `digits` (the whole fixed buffer) in bits `4i..4i + 4`;
/// positions at or past `len` hold `pad` instead. Every position is visited,
/// without a branch on `len` or on a digit; last digit first, so that each
/// step is a shift by a constant (a variable `u64` shift is a dozen
/// instructions on a Cortex-M).
fn pack<const N: usize>(digits: &[u8; N], len: u8, pad: u8) -> u64 {
    let mut packed = 0u64;
    for (i, &d) in digits.iter().enumerate().rev() {
        // `i` is below `N` (at most 16).
        let typed = mask_below(u8::try_from(i).unwrap_or(u8::MAX), len);
        let nibble = ((d & typed) | (pad & !typed)) & 0xF;
        packed = (packed << NIBBLE) | u64::from(nibble);
    }
    packed
}

/// The bits of a packed code's first `len` digits (`len` at most 10:
/// [`PASSCODE_MAX_DIGITS`]); none for an empty slot.
fn code_mask(len: u8) -> u64 {
    !u64::MAX.wrapping_shl(u32::from(len) * NIBBLE)
}

/// Whether the packed `needle` of `needle_len` digits occurs in the packed
/// `haystack` of `haystack_len`: at each offset where it fits, one masked
/// XOR. Stops at the first hit; for the overlap rule, not for secrets.
fn packed_contains(haystack: u64, haystack_len: u8, needle: u64, needle_len: u8) -> bool {
    let Some(last) = haystack_len.checked_sub(needle_len) else {
        return false;
    };
    let mask = code_mask(needle_len);
    let mut window = haystack;
    for _ in 0..=last {
        if (window ^ needle) & mask == 0 {
            return true;
        }
        window >>= NIBBLE;
    }
    false
}

/// The entry seen from each offset a code can start at: window `k` holds
/// the entry's digits `k..` in its low nibbles and the pad nibble in every
/// position past the entry's end, so a code that would run past what was
/// typed cannot match there (a digit is never the pad).
type Windows = [u64; LAST_OFFSET as usize + 1];

/// 1 when the packed `code` of `len` digits occurs at some offset, else 0:
/// for each window the masked XOR is zero exactly when every digit agrees,
/// and `!(x | -x)` has its top bit set exactly when `x` is zero. Every
/// window is tested and the results OR'd together, without a branch; the
/// caller turns the bit into a [`Choice`].
fn occurs(windows: &Windows, code: u64, len: u8) -> u8 {
    let mask = code_mask(len);
    let at = |window: u64| {
        let diff = (window ^ code) & mask;
        !(diff | diff.wrapping_neg()) >> 63
    };
    // Written out rather than a loop: at opt-level "s" the loop's control
    // was 3 of the 14 instructions per offset on a Cortex-M3.
    let [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10] = *windows;
    let found = at(w0)
        | at(w1)
        | at(w2)
        | at(w3)
        | at(w4)
        | at(w5)
        | at(w6)
        | at(w7)
        | at(w8)
        | at(w9)
        | at(w10);
    let [bit, ..] = found.to_le_bytes();
    bit
}

/// What is typed at the keypad before ✓: at most 16 digits, further ones
/// ignored. Not `Copy`, and wiped when dropped or cleared.
#[derive(Clone, Default)]
pub struct Entry {
    digits: [u8; ENTRY_MAX_DIGITS],
    len: u8,
}

/// Wipes the digits and the length.
impl Zeroize for Entry {
    fn zeroize(&mut self) {
        self.digits.zeroize();
        self.len.zeroize();
    }
}

/// S-ST-6: a keypad entry is wiped when dropped. The keypad hands an entry
/// to a check by taking it (`mem::take`: its buffer is zeroed), and the
/// taken entry is wiped when the check is done; `Back`, a timeout and
/// leaving the keypad clear it in place. Stored passcodes stay `Copy`
/// (`AppCommand` carries them by value); the table wipes a slot it frees.
impl Drop for Entry {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Entry {}

impl core::fmt::Debug for Entry {
    /// Never prints the digits.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Entry({} digits)", self.len)
    }
}

impl Entry {
    /// An empty entry.
    pub const fn new() -> Entry {
        Entry {
            digits: [0; ENTRY_MAX_DIGITS],
            len: 0,
        }
    }

    /// An entry holding `digits` (beyond 16, ignored; values over 9 skipped).
    pub fn from_digits(digits: &[u8]) -> Entry {
        let mut e = Entry::new();
        for &d in digits {
            e.push(d);
        }
        e
    }

    /// Appends a digit. Returns false, changing nothing, when the entry is full
    /// or `digit` is not `0..=9`.
    pub(crate) fn push(&mut self, digit: u8) -> bool {
        if digit > 9 {
            return false;
        }
        match self.digits.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = digit;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    /// Forgets every digit, overwriting the buffer (volatile
    /// writes: not optimised away).
    pub(crate) fn clear(&mut self) {
        self.zeroize();
    }

    /// The digits typed so far.
    pub fn digits(&self) -> &[u8] {
        self.digits
            .get(..usize::from(self.len))
            .unwrap_or(&self.digits)
    }

    /// Number of digits typed (at most 16).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// The whole buffer, typed or not (tests of the wiping).
    // Not `#[cfg(test)]`: scripts/traceability.sh reads everything after
    // such a line as test code. Unused in firmware, so not linked.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn buffer(&self) -> (&[u8; ENTRY_MAX_DIGITS], u8) {
        (&self.digits, self.len)
    }

    /// No digit typed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `code` occurs in this entry as one contiguous run, in constant
    /// time: every offset is visited and all of the code's digits compared
    /// at each, whatever the code's length.
    ///
    /// Both are packed into nibbles first (`Entry::windows`); each offset
    /// is then branch-free arithmetic on one `u64` (XOR, mask the positions
    /// past the code's end, test for zero), and only the final result goes
    /// through `subtle`. That keeps the search cheap on a Cortex-M while its
    /// running time still depends on nothing secret.
    pub fn contains_ct(&self, code: &Passcode) -> Choice {
        let packed = code.packed();
        Choice::from(self.with_windows(|windows| occurs(windows, packed, code.len)))
    }

    /// `search` on the entry's [`Windows`], which are wiped afterwards: an
    /// entry is wiped when done with (`impl Drop for Entry`), and so is its
    /// packed copy on the stack.
    fn with_windows<T>(&self, search: impl FnOnce(&Windows) -> T) -> T {
        let mut windows = self.windows();
        let found = search(&windows);
        windows.zeroize();
        found
    }

    /// The entry packed into nibbles and seen from every offset a code can
    /// start at ([`Windows`]); computed once per search, whatever the entry.
    fn windows(&self) -> Windows {
        let mut next = pack(&self.digits, self.len, NIBBLE_PAD);
        let mut windows = [0u64; LAST_OFFSET as usize + 1];
        for window in &mut windows {
            *window = next;
            // One digit further on; the position shifted in from above lies
            // past the entry's end.
            next = (next >> NIBBLE) | (u64::from(NIBBLE_PAD) << (u64::BITS - NIBBLE));
        }
        windows
    }
}

/// Whether a stored code opens normally or also raises the silent duress alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PasscodeKind {
    /// An ordinary passcode.
    Normal,
    /// A duress passcode: opens, and alerts the app silently.
    Duress,
}

/// The entry matched this stored code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasscodeMatch {
    /// Whose code it is.
    pub owner: PersonNumber,
    /// Normal or duress.
    pub kind: PasscodeKind,
    /// The slot, for the second, independent check.
    pub slot: usize,
    /// How many digits the code has.
    pub len: usize,
}

#[derive(Clone, Copy)]
struct Slot {
    /// 1 when in use; a byte rather than a `Choice` so the table can be `const`.
    used: u8,
    /// The code packed ([`Passcode::packed`]), low word first: packed when
    /// stored, not at every search; two `u32`s rather than a `u64` keep the
    /// slot 4-byte aligned, 12 bytes (a `Passcode` was 11 of its 14).
    code: [u32; 2],
    /// How many digits the code has.
    len: u8,
    owner: u8,
    /// 1 for a duress code.
    duress: u8,
}

impl Slot {
    const EMPTY: Slot = Slot {
        used: 0,
        code: [0; 2],
        len: 0,
        owner: 0,
        duress: 0,
    };

    /// The stored code, packed.
    fn packed(&self) -> u64 {
        let [low, high] = self.code;
        u64::from(low) | (u64::from(high) << 32)
    }

    /// Whether either of the stored code and the packed `code` of `len`
    /// digits occurs in the other (the overlap rule: no secret comparison,
    /// so it may stop early).
    fn overlaps(&self, code: u64, len: u8) -> bool {
        let stored = self.packed();
        packed_contains(stored, self.len, code, len) || packed_contains(code, len, stored, self.len)
    }

    /// 1 when the stored code occurs in the entry seen through `windows`,
    /// else 0 ([`occurs`]).
    fn occurs_in(&self, windows: &Windows) -> u8 {
        occurs(windows, self.packed(), self.len)
    }

    /// Overwrites the code (volatile writes: not optimised away).
    fn wipe(&mut self) {
        self.code.zeroize();
        self.len.zeroize();
    }
}

/// Every stored passcode of the lock in fixed slots, searched in constant time.
#[derive(Clone)]
pub struct PasscodeTable {
    slots: [Slot; PASSCODE_CAPACITY],
}

impl Default for PasscodeTable {
    fn default() -> Self {
        PasscodeTable::new()
    }
}

impl core::fmt::Debug for PasscodeTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PasscodeTable({} stored)", self.len())
    }
}

impl PasscodeTable {
    /// An empty table.
    pub const fn new() -> PasscodeTable {
        PasscodeTable {
            slots: [Slot::EMPTY; PASSCODE_CAPACITY],
        }
    }

    /// Number of stored codes.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.used == 1).count()
    }

    /// No code stored.
    // For `internals` users and the tests; the lock itself never asks.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether all 50 slots are taken.
    pub fn is_full(&self) -> bool {
        self.len() >= PASSCODE_CAPACITY
    }

    /// Whether `code` contains, or is contained in, any stored code.
    pub fn overlaps(&self, code: &Passcode) -> bool {
        let packed = code.packed();
        self.slots
            .iter()
            .any(|s| s.used == 1 && s.overlaps(packed, code.len))
    }

    /// Stores `code` for `owner`. The caller has checked the rules
    /// ([`Passcode::check_strength`], [`PasscodeTable::overlaps`]); this refuses
    /// only a full table.
    pub fn insert(
        &mut self,
        code: Passcode,
        owner: PersonNumber,
        kind: PasscodeKind,
    ) -> Result<usize, PasscodeError> {
        let (index, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.used == 0)
            .ok_or(PasscodeError::Full)?;
        let [a, b, c, d, e, f, g, h] = code.packed().to_le_bytes();
        *slot = Slot {
            used: 1,
            code: [
                u32::from_le_bytes([a, b, c, d]),
                u32::from_le_bytes([e, f, g, h]),
            ],
            len: code.len,
            owner: owner.get(),
            duress: u8::from(kind == PasscodeKind::Duress),
        };
        Ok(index)
    }

    /// Removes every code of `owner`, overwriting the slots.
    pub fn remove_owner(&mut self, owner: PersonNumber) {
        for slot in self.slots.iter_mut() {
            if slot.used == 1 && slot.owner == owner.get() {
                // Volatile writes (not optimised away), then the empty slot.
                slot.wipe();
                *slot = Slot::EMPTY;
            }
        }
    }

    /// Forgets everything, overwriting every slot.
    pub fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.wipe();
            *slot = Slot::EMPTY;
        }
    }

    /// The anti-peeping search in constant time.
    ///
    /// Every slot is compared against every offset of the entry, used or not,
    /// and the matching slot is picked with conditional selection; there is no
    /// early exit. When several stored codes occur in one entry, the last slot
    /// wins (rare: no stored code may contain another).
    // For `internals` users (the bench) and the tests; the lock uses
    // `find_among`.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn find(&self, entry: &Entry) -> Option<PasscodeMatch> {
        self.find_among(entry, |_| true)
    }

    /// R-PIN-4, R-PIN-6, S-BF-4: the anti-peeping search, in constant time,
    /// over the slots whose owner `admit` accepts:
    /// the lock searches the codes of people within their validity period
    /// first, so an expired code typed beside a valid one cannot hide it.
    /// Whom a slot belongs to is no secret; the comparison stays constant-time.
    pub fn find_among(
        &self,
        entry: &Entry,
        admit: impl Fn(PersonNumber) -> bool,
    ) -> Option<PasscodeMatch> {
        let mut found = 0u8;
        let mut index = 0u8;
        let mut owner = 0u8;
        let mut duress = 0u8;
        let mut len = 0u8;
        // The entry is packed once; each slot's code was packed when stored.
        entry.with_windows(|windows| {
            for (i, slot) in (0u8..).zip(self.slots.iter()) {
                let admitted = PersonNumber::new(slot.owner).is_some_and(&admit);
                // Every slot is searched, used or not, admitted or not: the
                // barrier keeps the optimiser from skipping the search where the
                // gate below is 0. Each factor is 0 or 1, combined as bytes: one
                // `Choice` (one more barrier) per slot, for the selection.
                let occurs = core::hint::black_box(slot.occurs_in(windows));
                let bit = slot.used & u8::from(admitted) & occurs;
                let hit = Choice::from(bit);
                found |= bit;
                index.conditional_assign(&i, hit);
                owner.conditional_assign(&slot.owner, hit);
                duress.conditional_assign(&slot.duress, hit);
                len.conditional_assign(&slot.len, hit);
            }
        });
        if !bool::from(Choice::from(found)) {
            return None;
        }
        Some(PasscodeMatch {
            owner: PersonNumber::new(owner)?,
            kind: if duress == 1 {
                PasscodeKind::Duress
            } else {
                PasscodeKind::Normal
            },
            slot: usize::from(index),
            len: usize::from(len),
        })
    }

    /// The second, independent check of a match: slot `m.slot` is in
    /// use, belongs to `m.owner`, and its code occurs in `entry`.
    pub fn confirm(&self, entry: &Entry, m: &PasscodeMatch) -> bool {
        self.slots.get(m.slot).is_some_and(|slot| {
            let ok = Choice::from(slot.used & 1)
                & slot.owner.ct_eq(&m.owner.get())
                & Choice::from(entry.with_windows(|windows| slot.occurs_in(windows)));
            bool::from(ok)
        })
    }
}

#[cfg(test)]
mod tests;
