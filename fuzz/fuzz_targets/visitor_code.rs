//! Offline visitor codes (R-APP-4, S-VC-1, S-VC-5, S-HW-3): lock-proto's
//! `VisitorCodeBook`, the phone side (`code`) against the lock side
//! (`VisitorCodeVerifier`'s `lock_core::VisitorCodes::find`), over
//! arbitrary secrets, issuers, specs, times, entries and records of used
//! codes. Nothing panics, and:
//!
//! - **sound**: whatever `find` returns is a real code: its id names an
//!   issuer the verifier holds and a spec whose code that issuer's phone
//!   makes, that code occurs in the entry as one run, it is open at that
//!   time, a one-time code is not among the used, and the id is never
//!   `lock_core::CLOCK_FLOOR_ID`;
//! - **complete**: a code the phone made, typed with up to six extra digits
//!   around it, is found whenever its window is open (5 minutes early at
//!   most, never late) and its phone is an issuer, and only then can it be
//!   the one found;
//! - **revoked** (S-VC-5): the code of a phone that is not an issuer (never
//!   asked, or revoked) is never found as its phone's, whatever the other
//!   issuers; a verifier with no issuer finds nothing and has no window end;
//! - **once**: a one-time code, once recorded as used the way the lock
//!   records it (`lock_core::record_visitor_code_use`), is never found again
//!   for its phone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lock_core::{
    CLOCK_FLOOR_ID, Entry, Timestamp, VisitorCodeMatch, VisitorCodeUse, VisitorCodes,
    VisitorCodesUsed, record_visitor_code_use,
};
use lock_proto::visitor::{HOUR, MAX_ISSUERS, PROFILES, Profile, SEQUENCES, code_id};
use lock_proto::{
    VisitorCodeBook, VisitorCodeError, VisitorCodeKind, VisitorCodeSpec, VisitorCodeVerifier,
};

/// The input, in a fixed layout so that seeds can be written by hand (the
/// crate docs' test vectors are in `fuzz/seeds/visitor_code.txt`):
///
/// | bytes | field |
/// |---|---|
/// | 0..8 | lock id |
/// | 8..40 | the phone's visitor-code secret |
/// | 40 | profile digit (`% 12`: 10 and 11 are no profile) |
/// | 41..45 | start hour, u32 big-endian |
/// | 45 | bit 0: round the start down to the profile's step |
/// | 46 | sequence number (`% 5`: 4 is out of range) |
/// | 47..51 | seconds from the window's start, i32 big-endian: `t` |
/// | 51..55 | seconds after `t` of a second attempt, u32 big-endian |
/// | 55 | digits typed before the code (`% 7`), and after it (`/ 7`, up to 16 in all) |
/// | 56..62 | the extra digits (`% 10`), before then after the code |
/// | 62..70 | a free-form time, u64 big-endian |
/// | 70 | how many free-form used codes (`% 17`), 16 bytes each after the entry |
/// | 71.. | a free-form entry: its length, then that many digits |
/// | then | the phone's pairing id (`% 16 + 1`) |
/// | then | bits 0–1: other issuers (their secrets the phone's with one byte changed); bit 2: the phone is not an issuer (never asked, or revoked) |
///
/// (Seeds written before the issuer bytes existed read them as zeros:
/// pairing 1, the only issuer.)
#[derive(Debug)]
struct Input {
    lock_id: [u8; 8],
    secret: [u8; 32],
    profile: u8,
    start_hour: u32,
    align: bool,
    sequence: u8,
    offset: i32,
    later: u32,
    before: usize,
    after: usize,
    extra: [u8; 6],
    raw_time: u64,
    raw_entry: Vec<u8>,
    raw_used: Vec<(u64, u64)>,
    pairing: u16,
    others: u8,
    revoked: bool,
}

/// Bytes from the front; zeros once they run out.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn byte(&mut self) -> u8 {
        self.take::<1>()[0]
    }
}

impl Input {
    fn parse(data: &[u8]) -> Input {
        let mut r = Reader(data);
        let lock_id = r.take();
        let secret = r.take();
        let profile = r.byte();
        let start_hour = u32::from_be_bytes(r.take());
        let align = r.byte() & 1 == 1;
        let sequence = r.byte();
        let offset = i32::from_be_bytes(r.take());
        let later = u32::from_be_bytes(r.take());
        let around = r.byte();
        let before = usize::from(around % 7);
        let after = usize::from(around / 7) % (7 - before);
        let extra = r.take();
        let raw_time = u64::from_be_bytes(r.take());
        let used = usize::from(r.byte() % 17);
        let len = usize::from(r.byte());
        let raw_entry = (0..len.min(r.0.len())).map(|_| r.byte()).collect();
        let raw_used = (0..used)
            .map(|_| (u64::from_be_bytes(r.take()), u64::from_be_bytes(r.take())))
            .collect();
        let pairing = u16::from(r.byte() % 16) + 1;
        let issuers = r.byte();
        Input {
            lock_id,
            secret,
            profile,
            start_hour,
            align,
            sequence,
            offset,
            later,
            before,
            after,
            extra,
            raw_time,
            raw_entry,
            raw_used,
            pairing,
            others: issuers & 3,
            revoked: issuers & 4 != 0,
        }
    }
}

/// The issuer and spec an id names.
fn spec_of(id: u64) -> (u16, VisitorCodeSpec) {
    let issuer = u16::try_from(id >> 48).unwrap_or(u16::MAX);
    let spec = VisitorCodeSpec {
        profile: u8::try_from((id >> 40) & 0xff).unwrap_or(u8::MAX),
        start_hour: u32::try_from((id >> 8) & 0xffff_ffff).unwrap_or(u32::MAX),
        sequence: u8::try_from(id & 0xff).unwrap_or(u8::MAX),
    };
    (issuer, spec)
}

/// The lock's side: its verifier, and each issuer's book (the phones').
struct Lock {
    verifier: VisitorCodeVerifier,
    books: Vec<(u16, VisitorCodeBook)>,
}

impl Lock {
    fn book(&self, issuer: u16) -> Option<&VisitorCodeBook> {
        self.books
            .iter()
            .find(|(p, _)| *p == issuer)
            .map(|(_, b)| b)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Soundness: `m` is a real code of an issuer in `entry`, open at `t`, not
/// used up.
fn check_sound(lock: &Lock, entry: &Entry, t: u64, used: &[VisitorCodeUse], m: &VisitorCodeMatch) {
    assert_ne!(
        m.code.id, CLOCK_FLOOR_ID,
        "a code named as the clock's floor"
    );
    let (issuer, spec) = spec_of(m.code.id);
    assert_eq!(
        code_id(issuer, spec.profile, spec.start_hour, spec.sequence),
        m.code.id,
        "an id that names no spec"
    );
    assert!(
        lock.verifier.issuers().any(|p| p == issuer),
        "S-VC-5: a match of pairing {issuer}, not an issuer"
    );
    let book = lock.book(issuer).expect("each issuer has its book");
    let code = book
        .code(&spec)
        .expect("a match names a spec the phone can make");
    assert!(
        contains(entry.digits(), code.digits()),
        "a match whose code was not typed"
    );
    let profile = Profile::of_digit(spec.profile).expect("valid profile");
    assert!(
        profile.is_open(spec.start_hour, t),
        "a match outside its window"
    );
    assert_eq!(m.code.expires, profile.expires(spec.start_hour));
    assert_eq!(m.one_time, profile.kind == VisitorCodeKind::OneTime);
    if m.one_time {
        assert!(
            !used.iter().any(|u| u.id == m.code.id),
            "a used one-time code matched again"
        );
    }
}

fn find(lock: &Lock, entry: &Entry, t: u64, used: &[VisitorCodeUse]) -> Option<VisitorCodeMatch> {
    let m = lock.verifier.find(entry, Timestamp(t), used);
    if let Some(m) = &m {
        check_sound(lock, entry, t, used, m);
    }
    if lock.verifier.issuers().next().is_none() {
        assert!(m.is_none(), "S-VC-5: a match with no issuer");
        assert_eq!(lock.verifier.next_window_end(Timestamp(t)), None);
    }
    m
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data);
    let book = VisitorCodeBook::new(input.lock_id, input.secret);
    // The lock: the phone (unless revoked) and up to three other issuers,
    // each with a secret of its own, on other pairing ids.
    let mut lock = Lock {
        verifier: VisitorCodeVerifier::new(input.lock_id),
        books: Vec::new(),
    };
    let mut issuers = Vec::new();
    if !input.revoked {
        issuers.push((input.pairing, input.secret));
    }
    for k in 1..=input.others {
        let mut secret = input.secret;
        secret[usize::from(k)] ^= 0x80 | k;
        issuers.push(((input.pairing + u16::from(k) * 5 - 1) % 16 + 1, secret));
    }
    for (pairing, secret) in issuers {
        lock.verifier
            .add_issuer(pairing, secret)
            .expect("at most four issuers");
        lock.books
            .push((pairing, VisitorCodeBook::new(input.lock_id, secret)));
    }
    assert!(lock.verifier.issuers().count() <= MAX_ISSUERS);

    // Free-form: any digits, time and used list.
    let entry = Entry::from_digits(&input.raw_entry);
    let used: Vec<VisitorCodeUse> = input
        .raw_used
        .iter()
        .map(|&(id, expires)| VisitorCodeUse {
            id,
            expires: Timestamp(expires),
        })
        .collect();
    find(&lock, &entry, input.raw_time, &used);

    // The phone makes a code.
    let mut spec = VisitorCodeSpec {
        profile: input.profile % 12,
        start_hour: input.start_hour,
        sequence: input.sequence % (SEQUENCES + 1),
    };
    let profile = Profile::of_digit(spec.profile);
    if let (Some(p), true) = (profile, input.align) {
        spec.start_hour -= spec.start_hour % u32::from(p.step);
    }
    let made = book.code(&spec);
    let expected_err = match profile {
        None => Some(VisitorCodeError::UnknownProfile),
        Some(p) if spec.start_hour % u32::from(p.step) != 0 => Some(VisitorCodeError::Unaligned),
        Some(_) if spec.sequence >= SEQUENCES => Some(VisitorCodeError::Sequence),
        Some(_) => None,
    };
    assert_eq!(made.err(), expected_err, "{spec:?}");
    let (Ok(code), Some(p)) = (made, profile) else {
        return;
    };
    assert_eq!(code.digits()[0], spec.profile);
    assert!(code.digits().iter().all(|&d| d <= 9));
    assert!(PROFILES.contains(&p));
    assert_eq!(code.to_passcode().map(|c| c.len()), Some(10));

    // Typed with extra digits around it, within the 16 an entry holds.
    let extra: Vec<u8> = input.extra.iter().map(|d| d % 10).collect();
    let (before, rest) = extra.split_at(input.before);
    let after = &rest[..input.after];
    let mut typed = before.to_vec();
    typed.extend_from_slice(code.digits());
    typed.extend_from_slice(after);
    let entry = Entry::from_digits(&typed);
    assert_eq!(entry.digits(), &typed[..]);

    let begin = u64::from(spec.start_hour) * HOUR;
    let t = if input.offset < 0 {
        begin.saturating_sub(u64::from(input.offset.unsigned_abs()))
    } else {
        begin + u64::from(input.offset.unsigned_abs())
    };
    let id = code_id(input.pairing, spec.profile, spec.start_hour, spec.sequence);
    let open = p.is_open(spec.start_hour, t);
    let found = find(&lock, &entry, t, &[]);
    if input.revoked {
        // S-VC-5: never the phone's own, whatever the other issuers.
        assert!(
            found.is_none_or(|m| m.code.id >> 48 != u64::from(input.pairing)),
            "S-VC-5: pairing {}'s code opened after its revocation",
            input.pairing
        );
    } else if open {
        assert!(
            found.is_some(),
            "{spec:?} not found at {t}, within its window"
        );
    } else {
        assert!(
            found.is_none_or(|m| m.code.id != id),
            "{spec:?} found at {t}, outside its window"
        );
    }

    // Once used, a one-time code is never found again, at any later time.
    if let Some(m) = found.filter(|m| m.code.id == id && m.one_time) {
        let mut used = VisitorCodesUsed::new();
        if record_visitor_code_use(&mut used, m.code, Timestamp(t)).is_ok() {
            let t2 = t.saturating_add(u64::from(input.later));
            let again = find(&lock, &entry, t2, &used);
            assert!(
                again.is_none_or(|m| m.code.id != id),
                "one-time {spec:?} opened twice"
            );
        }
    }
});
