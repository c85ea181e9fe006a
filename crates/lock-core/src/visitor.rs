//! Offline visitor codes typed at the keypad: the
//! hook through which the lock consults a verifier it holds.
//!
//! The core knows no cryptography. A verifier implementing [`VisitorCodes`]
//! (the app protocol's `lock_proto::VisitorCodeVerifier`, which holds the
//! secrets of the phones that make codes and computes their HMACs) is handed to
//! [`Lock::with_visitor_codes`](crate::Lock::with_visitor_codes); the lock asks
//! it only after no person's passcode matched an entry, only when the wall
//! clock is trusted (no clock, no visitor code), and only to open the
//! door, never the menu. Everything else is the lock's as for any passcode: the
//! anti-peeping entry of at most 16 digits, the one failure count and
//! lockout, the second check before the motor, and
//! the record of used one-time codes, persisted before the door opens
//! ([`Change::VisitorCodeUsed`](crate::Change::VisitorCodeUsed)) and restored
//! with the [`Snapshot`](crate::Snapshot), so a one-time code opens once, also
//! across power cuts.
//!
//! [`NoVisitorCodes`], the default, matches nothing: a `Lock` without a
//! verifier behaves exactly as before visitor codes existed.

use crate::lock::CLOCK_MAX_STEP_BACK;
use crate::passcode::Entry;
use crate::time::Timestamp;

/// One-time codes the lock remembers as used at once. A one-time code is
/// forgotten once its window has ended (it could not open any more), and the
/// latest such end is kept in one slot as the clock's floor
/// ([`CLOCK_FLOOR_ID`]); while all slots hold codes whose windows are still
/// open, a further one-time code is refused (fail closed), with
/// [`Refusal::CredentialStoreFull`](crate::Refusal::CredentialStoreFull).
///
/// The bound: 32 codes in windows still open (31 once a forgotten code's
/// end holds the floor slot). The shortest one-time window is six hours
/// (`lock_proto`'s profile 0), so that is 31 visitors within six hours and
/// five minutes before one is turned away. It is not larger because the
/// record is persisted whole on every use: at 32 slots its largest encoding
/// (651 bytes) still fits the store's largest state record, so the store
/// needs no bigger buffer (lock-store's `largest_records_fit_their_bounds`).
pub(crate) const VISITOR_CODES_USED_CAPACITY: usize = 32;

/// The id of the entry of [`VisitorCodesUsed`] that is not a code but the
/// clock's floor: its `expires` is the latest end of a window among the codes
/// forgotten. After a restart the lock has no clock and no memory of how far
/// it had gone; without the floor an administrator's phone could set the
/// clock back into a forgotten code's window and the code would open again.
/// The lock refuses to set its clock before the floor.
/// A verifier never gives a code this id.
pub const CLOCK_FLOOR_ID: u64 = u64::MAX;

/// A one-time visitor code that has been used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VisitorCodeUse {
    /// The verifier's identifier of the code (its parameters, not its digits).
    pub id: u64,
    /// When the code's window ends: after this it opens nothing anyway, and
    /// the record can go.
    pub expires: Timestamp,
}

/// The used one-time codes, as persisted ("one-time codes only once"):
/// at most 32.
pub type VisitorCodesUsed = heapless::Vec<VisitorCodeUse, VISITOR_CODES_USED_CAPACITY>;

/// S-VC-1: records `code` as used at wall-clock time `at`, first forgetting the codes
/// whose window ended before `at` by more than the clock may step back,
/// so setting the clock back cannot revive one; the latest end
/// among them becomes the clock's floor ([`CLOCK_FLOOR_ID`]), which holds the
/// clock after a restart. Fails, changing nothing, when every slot holds a
/// code still in its window.
///
/// The lock and [`Snapshot::apply`](crate::Snapshot::apply) both call this, so
/// replaying [`Change::VisitorCodeUsed`](crate::Change::VisitorCodeUsed)
/// records gives the lock's own table.
pub fn record_use(
    used: &mut VisitorCodesUsed,
    code: VisitorCodeUse,
    at: Timestamp,
) -> Result<(), VisitorCodesFull> {
    let mut floor = clock_floor(used);
    let mut kept = used.clone();
    kept.retain(|u| {
        let ended = u.expires.0.saturating_add(CLOCK_MAX_STEP_BACK.secs()) < at.0;
        if ended && u.id != CLOCK_FLOOR_ID {
            floor = floor.max(Some(u.expires));
        }
        !ended && u.id != CLOCK_FLOOR_ID
    });
    if let Some(expires) = floor {
        kept.push(VisitorCodeUse {
            id: CLOCK_FLOOR_ID,
            expires,
        })
        .map_err(|_| VisitorCodesFull)?;
    }
    kept.push(code).map_err(|_| VisitorCodesFull)?;
    *used = kept;
    Ok(())
}

/// The clock's floor ([`CLOCK_FLOOR_ID`]): the wall clock is never set
/// before it.
pub fn clock_floor(used: &[VisitorCodeUse]) -> Option<Timestamp> {
    used.iter()
        .filter(|u| u.id == CLOCK_FLOOR_ID)
        .map(|u| u.expires)
        .max()
}

/// Every slot of [`VisitorCodesUsed`] holds a code still in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisitorCodesFull;

/// A visitor code found in an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisitorCodeMatch {
    /// Which code, and when its window ends.
    pub code: VisitorCodeUse,
    /// A one-time code: it opens once.
    pub one_time: bool,
}

/// A verifier of offline visitor codes.
///
/// `find` must be pure (the same arguments give the same answer: the lock calls
/// it twice for the second check before the motor), must compare digits in constant time,
/// must search the entry for a code as one contiguous run, and must
/// skip one-time codes listed in `used`.
pub trait VisitorCodes: Clone + core::fmt::Debug {
    /// The visitor code in `entry` that is valid at the trusted wall-clock
    /// time `wall`, if any.
    fn find(
        &self,
        entry: &Entry,
        wall: Timestamp,
        used: &[VisitorCodeUse],
    ) -> Option<VisitorCodeMatch>;

    /// The first moment after `after` at which some code of this verifier
    /// could stop opening (a window's end), or `None` if it accepts none.
    /// The lock writes how far its clock has got at each such moment,
    /// so no power cut and step back revives a code that had just
    /// expired.
    fn next_window_end(&self, after: Timestamp) -> Option<Timestamp> {
        let _ = after;
        None
    }
}

/// `None` matches nothing: a lock whose app side has no secret yet (or could
/// not read it) accepts no visitor code.
impl<V: VisitorCodes> VisitorCodes for Option<V> {
    fn find(
        &self,
        entry: &Entry,
        wall: Timestamp,
        used: &[VisitorCodeUse],
    ) -> Option<VisitorCodeMatch> {
        self.as_ref()?.find(entry, wall, used)
    }

    fn next_window_end(&self, after: Timestamp) -> Option<Timestamp> {
        self.as_ref()?.next_window_end(after)
    }
}

/// No visitor codes: matches nothing. The default for [`Lock`](crate::Lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NoVisitorCodes;

impl VisitorCodes for NoVisitorCodes {
    fn find(&self, _: &Entry, _: Timestamp, _: &[VisitorCodeUse]) -> Option<VisitorCodeMatch> {
        None
    }
}
