//! Offline visitor codes (R-APP-4, S-VC-1, S-VC-2): computed by an
//! administrator's phone with no connection to the lock, checked by the lock
//! at the keypad through [`lock_core::VisitorCodes`].
//!
//! The algorithm, the digit table and the test vectors are in the crate docs
//! ("Offline visitor codes"); this module is their implementation, on both
//! sides: [`VisitorCodeBook::code`] for the phone, and the
//! [`lock_core::VisitorCodes`] impl for the lock.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use lock_core::{Entry, Passcode, Timestamp, VisitorCodeMatch, VisitorCodeUse, VisitorCodes};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Digits of a visitor code: a profile digit and nine MAC digits.
pub const VISITOR_CODE_DIGITS: usize = 10;
/// Codes with the same profile and start are told apart by a sequence number
/// `0..SEQUENCES`: this many distinct codes per profile and start hour.
pub const SEQUENCES: u8 = 4;
/// A code is accepted this many seconds before its window starts, for a lock
/// clock running behind the phone's. Less than one time step (an hour), as
/// S-VC-1 allows; there is no tolerance at the end of a window.
pub const EARLY_TOLERANCE_SECS: u64 = 300;
/// Seconds in a time step.
pub const HOUR: u64 = 3600;
/// Hours in a week.
pub const WEEK_HOURS: u32 = 168;

const DOMAIN: &[u8; 7] = b"ODL-VC1";
const MODULUS: u32 = 1_000_000_000;

/// How a visitor code may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VisitorCodeKind {
    /// Opens once, at its first use within its window.
    OneTime,
    /// Opens any number of times within its window.
    Window,
    /// Opens within the same hours of the week, for a number of weeks.
    Weekly,
}

impl VisitorCodeKind {
    /// The byte the MAC input carries.
    pub const fn byte(self) -> u8 {
        match self {
            VisitorCodeKind::OneTime => 1,
            VisitorCodeKind::Window => 2,
            VisitorCodeKind::Weekly => 3,
        }
    }
}

/// What a code's first digit stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Profile {
    /// The code's first digit.
    pub digit: u8,
    /// How it may be used.
    pub kind: VisitorCodeKind,
    /// Length of the window (of each weekly window) in hours.
    pub hours: u16,
    /// The start hour is a multiple of this (hours since 1970-01-01 00:00 UTC).
    pub step: u16,
    /// Weekly: for how many weeks; 1 for the other kinds.
    pub weeks: u8,
}

/// The ten profiles. The lock tries only the starts a profile allows that could
/// be open now (at most 80), times [`SEQUENCES`].
pub const PROFILES: [Profile; 10] = [
    profile(0, VisitorCodeKind::OneTime, 6, 1, 1),
    profile(1, VisitorCodeKind::Window, 1, 1, 1),
    profile(2, VisitorCodeKind::Window, 4, 1, 1),
    profile(3, VisitorCodeKind::Window, 12, 1, 1),
    profile(4, VisitorCodeKind::Window, 24, 1, 1),
    profile(5, VisitorCodeKind::Window, 72, 3, 1),
    profile(6, VisitorCodeKind::Window, 168, 7, 1),
    profile(7, VisitorCodeKind::Window, 720, 30, 1),
    profile(8, VisitorCodeKind::Weekly, 4, 1, 8),
    profile(9, VisitorCodeKind::Weekly, 10, 1, 8),
];

const fn profile(digit: u8, kind: VisitorCodeKind, hours: u16, step: u16, weeks: u8) -> Profile {
    Profile {
        digit,
        kind,
        hours,
        step,
        weeks,
    }
}

impl Profile {
    /// The profile of a first digit.
    pub fn of_digit(digit: u8) -> Option<Profile> {
        PROFILES.get(usize::from(digit)).copied()
    }

    /// Whether a code of this profile starting at `start_hour` is open at
    /// wall-clock second `t`.
    pub fn is_open(&self, start_hour: u32, t: u64) -> bool {
        (0..u32::from(self.weeks)).any(|k| {
            let begin = u64::from(start_hour) + u64::from(k) * u64::from(WEEK_HOURS);
            let end = begin + u64::from(self.hours);
            begin * HOUR <= t.saturating_add(EARLY_TOLERANCE_SECS) && t < end * HOUR
        })
    }

    /// When the code's last window ends, in wall-clock seconds.
    pub fn expires(&self, start_hour: u32) -> Timestamp {
        let weeks = u64::from(self.weeks.saturating_sub(1));
        let end = u64::from(start_hour) + weeks * u64::from(WEEK_HOURS) + u64::from(self.hours);
        Timestamp(end * HOUR)
    }
}

/// Which code to make: its profile (first digit), start and sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct VisitorCodeSpec {
    /// The profile's digit, `0..=9` ([`PROFILES`]).
    pub profile: u8,
    /// The first window's start, in hours since 1970-01-01 00:00 UTC; a
    /// multiple of the profile's step.
    pub start_hour: u32,
    /// `0..SEQUENCES`: tells codes with the same profile and start apart.
    pub sequence: u8,
}

/// Why a code cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum VisitorCodeError {
    /// The profile digit is not 0 to 9.
    #[error("no such visitor-code profile")]
    UnknownProfile,
    /// The start hour is not a multiple of the profile's step.
    #[error("the start is not a multiple of the profile's step")]
    Unaligned,
    /// The sequence number is not below [`SEQUENCES`].
    #[error("sequence number out of range")]
    Sequence,
}

/// A visitor code's ten digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisitorCode {
    digits: [u8; VISITOR_CODE_DIGITS],
}

impl VisitorCode {
    /// The digits, `0..=9` each.
    pub fn digits(&self) -> &[u8; VISITOR_CODE_DIGITS] {
        &self.digits
    }

    /// As a lock passcode (10 digits), to search an entry for it.
    pub fn to_passcode(&self) -> Option<Passcode> {
        Passcode::new(&self.digits).ok()
    }
}

impl fmt::Display for VisitorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.digits {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for VisitorCode {
    /// Never prints the digits: debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VisitorCode(profile {:?})", self.digits.first())
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The per-lock secret behind offline visitor codes, with the lock's id: the
/// phone makes codes with it ([`VisitorCodeBook::code`]), the lock checks
/// them (its [`lock_core::VisitorCodes`] impl). A visitor never gets it.
#[derive(Clone)]
pub struct VisitorCodeBook {
    lock_id: [u8; 8],
    secret: [u8; 32],
}

/// S-ST-6: the visitor secret is wiped when a book is dropped.
impl Drop for VisitorCodeBook {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

impl zeroize::ZeroizeOnDrop for VisitorCodeBook {}

impl fmt::Debug for VisitorCodeBook {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VisitorCodeBook(lock {:02x?})", self.lock_id)
    }
}

impl VisitorCodeBook {
    /// The book of the lock `lock_id` with its visitor secret.
    pub const fn new(lock_id: [u8; 8], secret: [u8; 32]) -> VisitorCodeBook {
        VisitorCodeBook { lock_id, secret }
    }

    /// The lock's id.
    pub fn lock_id(&self) -> [u8; 8] {
        self.lock_id
    }

    /// The code for `spec`: a truncated HMAC-SHA256 over the lock's id, the
    /// window, the kind and the sequence under the lock's secret (S-VC-1).
    pub fn code(&self, spec: &VisitorCodeSpec) -> Result<VisitorCode, VisitorCodeError> {
        let profile = Profile::of_digit(spec.profile).ok_or(VisitorCodeError::UnknownProfile)?;
        if !spec.start_hour.is_multiple_of(u32::from(profile.step)) {
            return Err(VisitorCodeError::Unaligned);
        }
        if spec.sequence >= SEQUENCES {
            return Err(VisitorCodeError::Sequence);
        }
        Ok(self.code_of(&self.keyed(), &profile, spec.start_hour, spec.sequence))
    }

    fn keyed(&self) -> HmacSha256 {
        // HMAC pads a key shorter than the hash's 64-byte block with zeros
        // (RFC 2104 §2), so this is HMAC under the 32-byte secret, without
        // the fallible variable-length constructor.
        let mut block = [0u8; 64];
        for (b, s) in block.iter_mut().zip(self.secret.iter()) {
            *b = *s;
        }
        <HmacSha256 as KeyInit>::new(&block.into())
    }

    fn code_of(
        &self,
        keyed: &HmacSha256,
        p: &Profile,
        start_hour: u32,
        sequence: u8,
    ) -> VisitorCode {
        #[cfg(test)]
        tests::MACS.with(|n| n.set(n.get() + 1));
        let mut mac = keyed.clone();
        mac.update(DOMAIN);
        mac.update(&self.lock_id);
        mac.update(&[p.kind.byte()]);
        mac.update(&start_hour.to_be_bytes());
        mac.update(&p.hours.to_be_bytes());
        mac.update(&[p.weeks, sequence]);
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        let mut n = truncate(&tag) % MODULUS;
        let mut digits = [0u8; VISITOR_CODE_DIGITS];
        for d in digits.iter_mut().rev() {
            // `n % 10` is below 10: the cast cannot truncate.
            *d = u8::try_from(n % 10).unwrap_or(0);
            n /= 10;
        }
        if let Some(first) = digits.first_mut() {
            *first = p.digit;
        }
        VisitorCode { digits }
    }
}

/// RFC 4226 §5.3 dynamic truncation, on a SHA-256 tag (as RFC 6238 does): the
/// low nibble of the last byte picks four bytes, read big-endian, top bit
/// cleared.
pub fn truncate(tag: &[u8; 32]) -> u32 {
    let offset = usize::from(tag.last().copied().unwrap_or(0) & 0x0f);
    let mut bytes = [0u8; 4];
    for (b, t) in bytes.iter_mut().zip(tag.iter().skip(offset)) {
        *b = *t;
    }
    u32::from_be_bytes(bytes) & 0x7fff_ffff
}

/// The lock's check of a typed visitor code (R-APP-4): every code that could
/// be open now, at most one time step early (S-VC-1), is made and compared in
/// constant time with no early exit, whether one matches or not (S-BF-4).
impl VisitorCodes for VisitorCodeBook {
    fn find(
        &self,
        entry: &Entry,
        wall: Timestamp,
        used: &[VisitorCodeUse],
    ) -> Option<VisitorCodeMatch> {
        let typed = entry.digits();
        if typed.len() < VISITOR_CODE_DIGITS {
            return None;
        }
        let t = wall.0;
        let keyed = self.keyed();
        let mut found: Option<VisitorCodeMatch> = None;
        for p in PROFILES {
            // Only profiles whose digit starts a 10-digit run of the entry can
            // match; which ones those are is what was typed, not a secret.
            let last_offset = typed.len() - VISITOR_CODE_DIGITS;
            if !typed.iter().take(last_offset + 1).any(|&d| d == p.digit) {
                continue;
            }
            let now_hour = t / HOUR;
            let latest = (t.saturating_add(EARLY_TOLERANCE_SECS)) / HOUR;
            let earliest = (now_hour + 1).saturating_sub(u64::from(p.hours));
            for k in 0..u64::from(p.weeks) {
                for occurrence in earliest..=latest {
                    let Some(start) = occurrence.checked_sub(k * u64::from(WEEK_HOURS)) else {
                        continue;
                    };
                    let Ok(start) = u32::try_from(start) else {
                        continue;
                    };
                    if !start.is_multiple_of(u32::from(p.step)) || !p.is_open(start, t) {
                        continue;
                    }
                    for sequence in 0..SEQUENCES {
                        let code = self.code_of(&keyed, &p, start, sequence);
                        let Some(pass) = code.to_passcode() else {
                            continue;
                        };
                        if !bool::from(entry.contains_ct(&pass)) {
                            continue;
                        }
                        let id = code_id(p.digit, start, sequence);
                        let one_time = p.kind == VisitorCodeKind::OneTime;
                        let spent = used.iter().any(|u| bool::from(u.id.ct_eq(&id)));
                        if one_time && spent {
                            continue;
                        }
                        // A weekly code's start may be found for two weeks
                        // only if its windows overlapped, which they cannot
                        // (hours < 168): the first match stands.
                        found = found.or(Some(VisitorCodeMatch {
                            code: VisitorCodeUse {
                                id,
                                expires: p.expires(start),
                            },
                            one_time,
                        }));
                    }
                }
            }
        }
        found
    }

    /// Every window ends on a whole hour (UTC): the next one after `after`.
    fn next_window_end(&self, after: Timestamp) -> Option<Timestamp> {
        let next = (after.0 / HOUR).checked_add(1)?.checked_mul(HOUR)?;
        Some(Timestamp(next))
    }
}

/// A code's identifier in the lock's record of used one-time codes: profile
/// digit, start hour and sequence number, not its digits.
pub fn code_id(profile: u8, start_hour: u32, sequence: u8) -> u64 {
    (u64::from(profile) << 40) | (u64::from(start_hour) << 8) | u64::from(sequence)
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;

    use super::*;

    std::thread_local! {
        /// Codes made on this thread (by `code_of`), to see how many
        /// candidates a search compared.
        pub(super) static MACS: Cell<usize> = const { Cell::new(0) };
    }

    /// Searches `digits` at `wall`; whether a code matched, and how many
    /// candidate codes the search made.
    fn search(book: &VisitorCodeBook, digits: &[u8], wall: Timestamp) -> (Option<u64>, usize) {
        MACS.with(|n| n.set(0));
        let found = book.find(&Entry::from_digits(digits), wall, &[]);
        (found.map(|m| m.code.id), MACS.with(Cell::get))
    }

    #[test]
    fn s_bf_4_a_visitor_code_search_makes_every_candidate_whether_or_not_one_matches() {
        // Profile 3: 12-hour windows on every hour, so at `now` twelve starts
        // can be open, each with SEQUENCES codes. The search's first
        // candidate is the earliest start's sequence 0, its last the latest
        // start's last sequence.
        let book = VisitorCodeBook::new(*b"lock0001", [7; 32]);
        let now_hour: u32 = 493_020;
        let wall = Timestamp(u64::from(now_hour) * HOUR + 60);
        let earliest = now_hour - 11;
        let last = SEQUENCES - 1;
        let code = |start_hour, sequence| {
            let spec = VisitorCodeSpec {
                profile: 3,
                start_hour,
                sequence,
            };
            book.code(&spec).map(|c| *c.digits())
        };
        let first = code(earliest, 0).unwrap();
        let latest = code(now_hour, last).unwrap();
        // A near miss: the first candidate with its last digit wrong, so the
        // same profiles are tried (a profile is tried when its digit was
        // typed, which is no secret).
        let mut miss = first;
        miss[VISITOR_CODE_DIGITS - 1] = (miss[VISITOR_CODE_DIGITS - 1] + 1) % 10;

        let (found_first, made_first) = search(&book, &first, wall);
        let (found_latest, made_latest) = search(&book, &latest, wall);
        let (found_miss, made_miss) = search(&book, &miss, wall);

        assert_eq!(found_first, Some(code_id(3, earliest, 0)));
        assert_eq!(found_latest, Some(code_id(3, now_hour, last)));
        assert_eq!(found_miss, None);
        // No early exit: a match on the first candidate, on the last one and
        // none at all each made and compared every candidate.
        assert_eq!(made_first, 12 * usize::from(SEQUENCES));
        assert_eq!(made_latest, made_first);
        assert_eq!(made_miss, made_first);
    }
}
