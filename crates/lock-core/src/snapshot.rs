//! What the store keeps, and how the lock comes back from it at boot.

use heapless::Vec;

use crate::attempts::AttemptRecord;
use crate::person::{PEOPLE_CAPACITY, Person, PersonNumber};
use crate::settings::Settings;

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
            Change::FactoryReset => *self = Snapshot::default(),
        }
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
    /// A stored passcode breaks R-PIN-1/2/5.
    Passcode(PersonNumber),
    /// People are stored but none is an administrator.
    NoAdministrator,
}
