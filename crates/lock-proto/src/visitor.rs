//! Offline visitor codes (R-APP-4, S-VC-1, S-VC-2, S-VC-5): computed by an
//! administrator's phone with no connection to the lock, checked by the lock
//! at the keypad through [`lock_core::VisitorCodes`].
//!
//! The algorithm, the digit table and the test vectors are in the crate docs
//! ("Offline visitor codes"); this module is their implementation, on both
//! sides: [`VisitorCodeBook::code`] for the phone, and
//! [`VisitorCodeVerifier`] for the lock, which accepts the codes of the
//! administrators' phones that asked for a secret ([`issuer_secret`]).

use core::fmt;

use hkdf::Hkdf;
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

/// S-VC-5: phones whose visitor codes the lock accepts at once. Each one
/// multiplies the codes a keypad entry is compared against, and so the
/// chance that a guess opens (the crate docs' "Guessing"); a fifth
/// administrator asking for a secret is refused
/// (`ProtoRefusal::IssuersFull`) until one of the four is revoked.
pub const MAX_ISSUERS: usize = 4;

/// The MAC input's first bytes: the code algorithm's version.
const DOMAIN: &[u8; 7] = b"ODL-VC2";
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
/// be open now (at most 88, profile 9's in the early tolerance), times
/// [`SEQUENCES`], for each phone that makes codes.
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

/// A visitor-code secret and the lock's id: an administrator's phone makes
/// codes with it ([`VisitorCodeBook::code`]). Each administrator's phone
/// gets a secret of its own, derived for its pairing ([`issuer_secret`],
/// S-VC-5); the lock checks typed codes with a [`VisitorCodeVerifier`]
/// holding the secrets of the pairings that asked. A visitor never gets one.
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
    /// The book of the lock `lock_id` with a visitor-code secret (the one
    /// `Response::VisitorSecret` carried).
    pub const fn new(lock_id: [u8; 8], secret: [u8; 32]) -> VisitorCodeBook {
        VisitorCodeBook { lock_id, secret }
    }

    /// The lock's id.
    pub fn lock_id(&self) -> [u8; 8] {
        self.lock_id
    }

    /// The code for `spec`: an HMAC-SHA256 over the lock's id, the window,
    /// the kind and the sequence under the book's secret (S-VC-1), reduced
    /// to nine uniform digits ([`reduce`], S-VC-5).
    pub fn code(&self, spec: &VisitorCodeSpec) -> Result<VisitorCode, VisitorCodeError> {
        let profile = Profile::of_digit(spec.profile).ok_or(VisitorCodeError::UnknownProfile)?;
        if !spec.start_hour.is_multiple_of(u32::from(profile.step)) {
            return Err(VisitorCodeError::Unaligned);
        }
        if spec.sequence >= SEQUENCES {
            return Err(VisitorCodeError::Sequence);
        }
        Ok(code_of(
            &keyed(&self.secret),
            &self.lock_id,
            &profile,
            spec.start_hour,
            spec.sequence,
        ))
    }
}

fn keyed(secret: &[u8; 32]) -> HmacSha256 {
    // HMAC pads a key shorter than the hash's 64-byte block with zeros
    // (RFC 2104 §2), so this is HMAC under the 32-byte secret, without
    // the fallible variable-length constructor.
    let mut block = [0u8; 64];
    for (b, s) in block.iter_mut().zip(secret.iter()) {
        *b = *s;
    }
    <HmacSha256 as KeyInit>::new(&block.into())
}

/// S-VC-5: the nine MAC digits of a code, as a number below 10^9: the tag's
/// first eight bytes, read big-endian, mod 10^9.
///
/// Uniform within 10^9 / 2^64 (5.4 · 10⁻¹¹): of the 2^64 values, each
/// residue has ⌊2^64 / 10^9⌋ or one more preimages, so no code is more
/// likely than another by more than that fraction. (RFC 4226's dynamic
/// truncation, used before, keeps 31 bits: 2^31 mod 10^9 made the
/// residues below 147,483,648 half again as likely as the rest, 20.7 % of
/// codes instead of 14.7 %.)
pub fn reduce(tag: &[u8; 32]) -> u32 {
    let mut bytes = [0u8; 8];
    for (b, t) in bytes.iter_mut().zip(tag.iter()) {
        *b = *t;
    }
    let n = u64::from_be_bytes(bytes) % u64::from(MODULUS);
    // Below 10^9 < 2^32: cannot fail.
    u32::try_from(n).unwrap_or(0)
}

/// S-VC-5: the visitor-code secret the lock gives the administrator's
/// pairing `pairing` with pairing key `pairing_key`:
/// `HKDF-SHA256(salt = visitor secret, IKM = pairing key)` expanded with
/// `"ODL-VC2 issuer"` ‖ `pairing` (u16 big-endian) to 32 bytes.
///
/// One per pairing: every pairing key is fresh (X25519 and random nonces),
/// so a pairing id used again after a revocation never gets an old secret
/// back, and one phone's secret tells nothing of another's (each needs the
/// lock's visitor secret, which no phone gets).
pub fn issuer_secret(visitor_secret: &[u8; 32], pairing: u16, pairing_key: &[u8; 32]) -> [u8; 32] {
    let prk = Hkdf::<Sha256>::new(Some(visitor_secret), pairing_key);
    let mut info = [0u8; ISSUER_INFO.len() + 2];
    for (i, b) in info
        .iter_mut()
        .zip(ISSUER_INFO.iter().chain(pairing.to_be_bytes().iter()))
    {
        *i = *b;
    }
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 8160: this cannot fail.
    let _ = prk.expand(&info, &mut out);
    out
}

const ISSUER_INFO: &[u8; 14] = b"ODL-VC2 issuer";

/// Every issuer slot of a [`VisitorCodeVerifier`] is taken
/// ([`MAX_ISSUERS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("visitor codes already come from {MAX_ISSUERS} phones")]
pub struct IssuersFull;

/// One phone whose visitor codes the lock accepts.
#[derive(Clone)]
struct Issuer {
    pairing: u16,
    secret: [u8; 32],
}

/// S-VC-5: the lock's check of typed visitor codes, through
/// [`lock_core::VisitorCodes`]: the lock's id and the secrets of the
/// administrators' pairings that asked for one ([`issuer_secret`]), at most
/// [`MAX_ISSUERS`].
///
/// A code opens only while the phone that made it is paired and had asked:
/// revoking the pairing removes its issuer, and with it every code it made,
/// while other phones' codes keep working. With no issuer (nobody ever asked
/// for a secret) it matches nothing and has no window ends, so a lock whose
/// owner never made a visitor code accepts none and marks no hourly clock
/// for them.
#[derive(Clone)]
pub struct VisitorCodeVerifier {
    lock_id: [u8; 8],
    issuers: heapless::Vec<Issuer, MAX_ISSUERS>,
}

impl fmt::Debug for VisitorCodeVerifier {
    /// Never prints a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VisitorCodeVerifier")
            .field("lock_id", &self.lock_id)
            .field(
                "issuers",
                &self
                    .issuers
                    .iter()
                    .map(|i| i.pairing)
                    .collect::<heapless::Vec<u16, MAX_ISSUERS>>(),
            )
            .finish()
    }
}

impl VisitorCodeVerifier {
    /// The verifier of the lock `lock_id` with no issuer: it accepts nothing.
    pub const fn new(lock_id: [u8; 8]) -> VisitorCodeVerifier {
        VisitorCodeVerifier {
            lock_id,
            issuers: heapless::Vec::new(),
        }
    }

    /// Accepts the codes made with `secret` (pairing `pairing`'s,
    /// [`issuer_secret`]); a pairing already here gets its secret replaced.
    pub fn add_issuer(&mut self, pairing: u16, secret: [u8; 32]) -> Result<(), IssuersFull> {
        if let Some(issuer) = self.issuers.iter_mut().find(|i| i.pairing == pairing) {
            issuer.secret = secret;
            return Ok(());
        }
        self.issuers
            .push(Issuer { pairing, secret })
            .map_err(|_| IssuersFull)
    }

    /// The pairings whose codes it accepts.
    pub fn issuers(&self) -> impl Iterator<Item = u16> + '_ {
        self.issuers.iter().map(|i| i.pairing)
    }

    /// The lock's id.
    pub fn lock_id(&self) -> [u8; 8] {
        self.lock_id
    }
}

/// The lock's check of a typed visitor code (R-APP-4): for each issuer,
/// every code that could be open now, at most one time step early (S-VC-1),
/// is made and compared in constant time with no early exit, whether one
/// matches or not (S-BF-4). Which issuers there are is no secret (how many
/// phones asked); which one matched is.
impl VisitorCodes for VisitorCodeVerifier {
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
        // Only profiles whose digit starts a 10-digit run of the entry can
        // match; which ones those are is what was typed, not a secret.
        let last_offset = typed.len() - VISITOR_CODE_DIGITS;
        let runs = typed.get(..=last_offset).unwrap_or_default();
        let mut found: Option<VisitorCodeMatch> = None;
        for issuer in &self.issuers {
            let keyed = keyed(&issuer.secret);
            for p in PROFILES {
                if !runs.contains(&p.digit) {
                    continue;
                }
                let candidates = OpenStarts::new(&p, wall.0);
                for start in candidates {
                    for sequence in 0..SEQUENCES {
                        let code = code_of(&keyed, &self.lock_id, &p, start, sequence);
                        let Some(pass) = code.to_passcode() else {
                            continue;
                        };
                        if !bool::from(entry.contains_ct(&pass)) {
                            continue;
                        }
                        let id = code_id(issuer.pairing, p.digit, start, sequence);
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

    /// Every window ends on a whole hour (UTC): the next one after `after`,
    /// while some phone may have made codes; `None` with no issuer (S-VC-5).
    fn next_window_end(&self, after: Timestamp) -> Option<Timestamp> {
        if self.issuers.is_empty() {
            return None;
        }
        let next = (after.0 / HOUR).checked_add(1)?.checked_mul(HOUR)?;
        Some(Timestamp(next))
    }
}

/// The starts of a profile's codes that are open at wall-clock second `t`
/// (the lock tries these): each week's occurrence of an hour from
/// `hours − 1` before now to now, or the next hour within the early
/// tolerance, that is a multiple of the profile's step.
struct OpenStarts {
    profile: Profile,
    t: u64,
    earliest: u64,
    latest: u64,
    week: u64,
    occurrence: u64,
}

impl OpenStarts {
    fn new(p: &Profile, t: u64) -> OpenStarts {
        let now_hour = t / HOUR;
        let earliest = (now_hour + 1).saturating_sub(u64::from(p.hours));
        OpenStarts {
            profile: *p,
            t,
            earliest,
            latest: t.saturating_add(EARLY_TOLERANCE_SECS) / HOUR,
            week: 0,
            occurrence: earliest,
        }
    }
}

impl Iterator for OpenStarts {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let p = self.profile;
        while self.week < u64::from(p.weeks) {
            while self.occurrence <= self.latest {
                let occurrence = self.occurrence;
                self.occurrence += 1;
                let Some(start) = occurrence.checked_sub(self.week * u64::from(WEEK_HOURS)) else {
                    continue;
                };
                let Ok(start) = u32::try_from(start) else {
                    continue;
                };
                if start.is_multiple_of(u32::from(p.step)) && p.is_open(start, self.t) {
                    return Some(start);
                }
            }
            self.week += 1;
            self.occurrence = self.earliest;
        }
        None
    }
}

/// A code's identifier in the lock's record of used one-time codes: the
/// issuer's pairing id, the profile digit, the start hour and the sequence
/// number, not its digits (bits 48–63, 40–43, 8–39 and 0–7). One-time
/// codes are spent per issuer. Bits 44–47 are always zero, so no id is
/// `lock_core::CLOCK_FLOOR_ID` (all ones).
pub fn code_id(issuer: u16, profile: u8, start_hour: u32, sequence: u8) -> u64 {
    (u64::from(issuer) << 48)
        | (u64::from(profile & 0x0f) << 40)
        | (u64::from(start_hour) << 8)
        | u64::from(sequence)
}

/// One code under a keyed HMAC. Last of the non-test items: its test hook's
/// `#[cfg(test)]` marks the rest of the file as test code for
/// scripts/traceability.sh.
fn code_of(
    keyed: &HmacSha256,
    lock_id: &[u8; 8],
    p: &Profile,
    start_hour: u32,
    sequence: u8,
) -> VisitorCode {
    #[cfg(test)]
    tests::MACS.with(|n| n.set(n.get() + 1));
    let mut mac = keyed.clone();
    mac.update(DOMAIN);
    mac.update(lock_id);
    mac.update(&[p.kind.byte()]);
    mac.update(&start_hour.to_be_bytes());
    mac.update(&p.hours.to_be_bytes());
    mac.update(&[p.weeks, sequence]);
    let tag: [u8; 32] = mac.finalize().into_bytes().into();
    let mut n = reduce(&tag);
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

#[cfg(test)]
mod tests {
    use core::cell::Cell;

    use super::*;

    /// The longest entry the keypad keeps (R-PIN-4's anti-peeping cap), as
    /// lock-core's `Entry` has it.
    fn entry_max_digits() -> usize {
        Entry::from_digits(&[0; 64]).digits().len()
    }

    std::thread_local! {
        /// Codes made on this thread (by `code_of`), to see how many
        /// candidates a search compared.
        pub(super) static MACS: Cell<usize> = const { Cell::new(0) };
    }

    fn verifier(issuers: u16) -> VisitorCodeVerifier {
        let mut v = VisitorCodeVerifier::new(*b"lock0001");
        for pairing in 1..=issuers {
            let secret = issuer_secret(&[7; 32], pairing, &[pairing.to_le_bytes()[0]; 32]);
            v.add_issuer(pairing, secret).unwrap();
        }
        v
    }

    /// Searches `digits` at `wall`; whether a code matched, and how many
    /// candidate codes the search made.
    fn search(v: &VisitorCodeVerifier, digits: &[u8], wall: Timestamp) -> (Option<u64>, usize) {
        MACS.with(|n| n.set(0));
        let found = v.find(&Entry::from_digits(digits), wall, &[]);
        (found.map(|m| m.code.id), MACS.with(Cell::get))
    }

    #[test]
    fn s_bf_4_a_visitor_code_search_makes_every_candidate_whether_or_not_one_matches() {
        // Profile 3: 12-hour windows on every hour, so at `now` twelve starts
        // can be open, each with SEQUENCES codes, for each of two issuers.
        // The search's first candidate is the first issuer's earliest
        // start's sequence 0, its last the second issuer's latest start's
        // last sequence.
        let v = verifier(2);
        let book = |pairing: u16| {
            let secret = issuer_secret(&[7; 32], pairing, &[pairing.to_le_bytes()[0]; 32]);
            VisitorCodeBook::new(*b"lock0001", secret)
        };
        let now_hour: u32 = 493_020;
        let wall = Timestamp(u64::from(now_hour) * HOUR + 60);
        let earliest = now_hour - 11;
        let last = SEQUENCES - 1;
        let code = |pairing, start_hour, sequence| {
            let spec = VisitorCodeSpec {
                profile: 3,
                start_hour,
                sequence,
            };
            book(pairing).code(&spec).map(|c| *c.digits())
        };
        let first = code(1, earliest, 0).unwrap();
        let latest = code(2, now_hour, last).unwrap();
        // A near miss: the first candidate with its last digit wrong, so the
        // same profiles are tried (a profile is tried when its digit was
        // typed, which is no secret).
        let mut miss = first;
        miss[VISITOR_CODE_DIGITS - 1] = (miss[VISITOR_CODE_DIGITS - 1] + 1) % 10;

        let (found_first, made_first) = search(&v, &first, wall);
        let (found_latest, made_latest) = search(&v, &latest, wall);
        let (found_miss, made_miss) = search(&v, &miss, wall);

        assert_eq!(found_first, Some(code_id(1, 3, earliest, 0)));
        assert_eq!(found_latest, Some(code_id(2, 3, now_hour, last)));
        assert_eq!(found_miss, None);
        // No early exit: a match on the first candidate, on the last one and
        // none at all each made and compared every candidate.
        assert_eq!(made_first, 2 * 12 * usize::from(SEQUENCES));
        assert_eq!(made_latest, made_first);
        assert_eq!(made_miss, made_first);
    }

    /// For every hour of a week (every step's alignment: the steps are 1,
    /// 3, 7 and 30 hours, each at most 168) at minute 58: the candidates an
    /// entry of one profile's digit is compared against, for each profile,
    /// with one issuer. Minute 58 is within the early tolerance, when the
    /// next hour's starts are tried too: every start open earlier in the
    /// hour is still open then (windows end on whole hours), so no moment
    /// of an hour has more.
    fn candidates_per_profile() -> Vec<(u64, [usize; 10])> {
        let v = verifier(1);
        let first_hour = 493_920; // a Monday 00:00 UTC; any hour would do
        let mut out = Vec::new();
        for hour in first_hour..first_hour + u64::from(WEEK_HOURS) {
            {
                let wall = Timestamp(hour * HOUR + 58 * 60);
                let mut counts = [0; 10];
                for (count, p) in counts.iter_mut().zip(PROFILES) {
                    let (_, made) = search(&v, &vec![p.digit; entry_max_digits()], wall);
                    *count = made;
                }
                out.push((wall.0, counts));
            }
        }
        out
    }

    #[test]
    fn s_vc_5_the_documented_guess_rate_is_the_measured_one() {
        let readme = include_str!("../README.md");
        let sweep = candidates_per_profile();
        // The most candidates of one profile an entry is compared against,
        // at the worst time of the week, for one issuer.
        let mut most = [0usize; 10];
        for (_, counts) in &sweep {
            for (m, c) in most.iter_mut().zip(counts) {
                *m = (*m).max(*c);
            }
        }
        assert_eq!(most, [28, 8, 20, 52, 100, 100, 100, 100, 160, 352]);
        // Mid-hour, fewer: the early tolerance's next hour is not tried.
        let (_, mid_hour) = search(&verifier(1), &[9; 16], Timestamp(sweep[0].0 - 28 * 60));
        assert_eq!(mid_hour, 320);
        let per_profile = most.iter().copied().max().unwrap();
        // Each ten-digit run of an entry can match only codes of the
        // profile its first digit names: an entry whose first seven digits
        // are all 9s puts each of its runs against the most codes.
        let runs = entry_max_digits() - VISITOR_CODE_DIGITS + 1;
        assert_eq!(runs, 7);
        let per_entry = runs * per_profile;
        let chance = per_entry as f64 / f64::from(MODULUS);
        let with_all = chance * MAX_ISSUERS as f64;
        for figure in [
            format!("at most {per_profile} codes of profile 9"),
            format!("`{runs} · {per_profile} / 10^9`"),
            format!("{:.2} · 10⁻⁶", chance * 1e6),
            format!("{:.2} · 10⁻⁶", with_all * 1e6),
        ] {
            assert!(
                readme.contains(&figure),
                "the README does not say {figure:?}"
            );
        }

        // What an entry costs the lock: the most candidates one entry makes
        // (seven different profile digits starting its seven runs), at the
        // worst time, with one issuer and with every issuer slot taken. The
        // sum of the seven largest counts of a moment, measured by typing
        // those seven digits.
        let (worst_at, worst_digits, worst_sum) = sweep
            .iter()
            .map(|(t, counts)| {
                let mut by_count: Vec<(usize, u8)> = counts.iter().copied().zip(0u8..).collect();
                by_count.sort_unstable_by(|a, b| b.cmp(a));
                let top: Vec<(usize, u8)> = by_count.into_iter().take(runs).collect();
                let digits: Vec<u8> = top.iter().map(|(_, d)| *d).collect();
                (*t, digits, top.iter().map(|(c, _)| c).sum::<usize>())
            })
            .max_by_key(|(_, _, sum)| *sum)
            .unwrap();
        let mut entry = worst_digits.clone();
        entry.resize(entry_max_digits(), 0);
        let (_, one) = search(&verifier(1), &entry, Timestamp(worst_at));
        let (_, all) = search(
            &verifier(u16::try_from(MAX_ISSUERS).unwrap()),
            &entry,
            Timestamp(worst_at),
        );
        assert_eq!(one, worst_sum);
        assert_eq!(all, MAX_ISSUERS * worst_sum);
        for figure in [
            format!("{one} codes with one"),
            format!("{all} with {MAX_ISSUERS}"),
        ] {
            assert!(
                readme.contains(&figure),
                "the README does not say {figure:?}"
            );
        }
    }

    #[test]
    fn s_vc_5_code_ids_name_their_issuer_and_are_never_the_clock_floor() {
        let mut ids = std::collections::BTreeSet::new();
        for issuer in [0, 1, 2, 16, u16::MAX] {
            for profile in [0, 9, 15, u8::MAX] {
                for start in [0, 493_020, u32::MAX] {
                    for sequence in [0, 3, u8::MAX] {
                        let id = code_id(issuer, profile, start, sequence);
                        assert_ne!(id, lock_core::CLOCK_FLOOR_ID);
                        assert_eq!(id >> 48, u64::from(issuer));
                        ids.insert(id);
                    }
                }
            }
        }
        // Distinct parameters (profiles taken mod 16) give distinct ids.
        assert_eq!(ids.len(), 5 * 3 * 3 * 3);
    }
}
