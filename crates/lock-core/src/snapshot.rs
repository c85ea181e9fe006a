//! What the store keeps, and how the lock comes back from it at boot.

use heapless::Vec;

use crate::attempts::AttemptRecord;
use crate::person::{PEOPLE_CAPACITY, Person, PersonNumber};
use crate::settings::Settings;
use crate::time::Timestamp;
use crate::visitor::VisitorCodesUsed;

/// Everything the lock must remember across a power cut, as one value: the
/// store loads it at boot and hands it to [`Lock::restore`](crate::Lock::restore).
///
/// It is the result of applying every [`Change`](crate::Change) the lock
/// emitted, in order, to [`Snapshot::default`].
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    /// The settings.
    pub settings: Settings,
    /// Everyone, with their credentials, in any order.
    pub people: Vec<Person, PEOPLE_CAPACITY>,
    /// Failure counts and lockout.
    pub attempts: AttemptRecord,
    /// One-time visitor codes already used.
    pub visitor_codes_used: VisitorCodesUsed,
    /// How far the wall clock had got ([`Change::ClockMark`](crate::Change::ClockMark)).
    pub clock_mark: Option<Timestamp>,
    /// Leaving-home mode and unacknowledged alarms.
    pub armed: crate::Armed,
}

impl Snapshot {
    /// Applies one change record, as a store does when it replays them.
    pub fn apply(&mut self, change: &crate::Change) {
        use crate::Change;
        match change {
            Change::Person(p) => {
                if let Some(existing) = self.people.iter_mut().find(|q| q.number == p.number) {
                    *existing = p.clone();
                } else {
                    // A snapshot built from the lock's own changes never has
                    // more than PEOPLE_CAPACITY people; a longer one is dropped
                    // here and refused by `restore`'s checks on what remains.
                    let _ = self.people.push(p.clone());
                }
            }
            Change::PersonDeleted(n) => self.people.retain(|q| q.number != *n),
            Change::Settings(s) => self.settings = *s,
            Change::Attempts(a) => self.attempts = *a,
            Change::FactoryReset => self.clear(),
            Change::VisitorCodeUsed { code, at } => {
                // Cannot fail for the lock's own changes: it refused the code
                // instead of emitting this when the table was full.
                let _ = crate::visitor::record_use(&mut self.visitor_codes_used, *code, *at);
            }
            // The lock only writes a mark above the last one.
            Change::ClockMark(t) => self.clock_mark = Some(*t),
            Change::Armed(a) => self.armed = *a,
        }
    }

    /// Empties it in place, as [`Snapshot::default`] would be (without a
    /// second snapshot-sized value on the stack: it is the size of the whole
    /// lock).
    pub fn clear(&mut self) {
        let Snapshot {
            settings,
            people,
            attempts,
            visitor_codes_used,
            clock_mark,
            armed,
        } = self;
        *settings = Settings::default();
        people.clear();
        *attempts = AttemptRecord::default();
        visitor_codes_used.clear();
        *clock_mark = None;
        *armed = crate::Armed::default();
    }

    /// The person with this number.
    pub fn person(&self, number: PersonNumber) -> Option<&Person> {
        self.people.iter().find(|p| p.number == number)
    }
}

/// Why a snapshot could not be restored. The lock then starts fail-secure
/// ([`Lock::fail_secure`](crate::Lock::fail_secure)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RestoreError {
    /// A setting is out of range.
    Settings,
    /// Two records share a person number.
    DuplicatePerson(PersonNumber),
    /// A person breaks a capacity or shares a template id with another.
    Person(PersonNumber),
    /// A stored passcode breaks a passcode rule: length, strength, containment.
    Passcode(PersonNumber),
    /// People are stored but none is an administrator.
    NoAdministrator,
}

// Two attributes: clippy recognises a test module by a plain `cfg(test)`.
#[cfg(test)]
#[cfg(feature = "serde")]
mod tests {
    use super::*;
    use crate::passcode::Passcode;
    use crate::person::{BiometricKind, Role, TemplateId};

    fn sample() -> Snapshot {
        let mut s = Snapshot::default();
        let mut admin = Person::new(PersonNumber::FIRST, Role::Administrator);
        admin.passcode = Some(Passcode::parse("482915").unwrap());
        admin.add_template(BiometricKind::Finger, TemplateId(7));
        s.people.push(admin).unwrap();
        s
    }

    #[test]
    fn snapshot_round_trips_through_postcard() {
        let mut buf = [0u8; 512];
        let bytes = postcard::to_slice(&sample(), &mut buf).unwrap();
        let back: Snapshot = postcard::from_bytes(bytes).unwrap();
        let p = back.person(PersonNumber::FIRST).unwrap();
        assert_eq!(p.fingers.as_slice(), &[TemplateId(7)]);
        assert_eq!(p.passcode.unwrap().digits(), &[4, 8, 2, 9, 1, 5]);
        assert!(
            crate::Lock::restore(crate::Config::default(), &back, crate::Instant::ZERO).is_ok()
        );
    }

    #[test]
    fn clearing_in_place_gives_the_default() {
        let mut s = sample();
        s.clock_mark = Some(crate::Timestamp(5));
        s.attempts.since_success = 3;
        s.clear();
        let mut buf = [0u8; 512];
        let mut other = [0u8; 512];
        assert_eq!(
            postcard::to_slice(&s, &mut buf).unwrap(),
            postcard::to_slice(&Snapshot::default(), &mut other).unwrap()
        );
    }

    #[test]
    fn s_st_3_malformed_passcode_bytes_are_refused_not_misread() {
        let mut buf = [0u8; 512];
        let bytes = postcard::to_slice(&sample(), &mut buf).unwrap().to_vec();
        // The passcode is stored as a length and its digits: find "4 8 2 9 1 5".
        let at = bytes
            .windows(6)
            .position(|w| w == [4, 8, 2, 9, 1, 5])
            .unwrap();
        let mut bad_digit = bytes.clone();
        bad_digit[at] = 10;
        assert!(postcard::from_bytes::<Snapshot>(&bad_digit).is_err());
        let mut short = bytes.clone();
        short[at - 1] = 3;
        assert!(postcard::from_bytes::<Snapshot>(&short).is_err());
    }

    #[test]
    fn s_st_3_person_numbers_out_of_range_are_refused_on_decoding() {
        for bad in [0u8, 101, 255] {
            assert!(
                postcard::from_bytes::<PersonNumber>(&[bad]).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            postcard::from_bytes::<PersonNumber>(&[7]).ok(),
            PersonNumber::new(7)
        );
    }

    #[test]
    fn s_st_3_random_bytes_never_panic() {
        // A cheap deterministic generator: the fuzz target does this for real.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut buf = [0u8; 96];
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            if let Ok(s) = postcard::from_bytes::<Snapshot>(&buf) {
                let _ = crate::Lock::restore(crate::Config::default(), &s, crate::Instant::ZERO);
            }
        }
    }
}
