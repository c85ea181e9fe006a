//! What survives a power cut: the state the store's [`Snapshot`] holds.

use subtle::ConstantTimeEq;

use crate::action::{Action, Actions, Armed, Change};
use crate::attempts::Attempts;
use crate::passcode::{Passcode, PasscodeKind, PasscodeTable};
use crate::person::People;
use crate::settings::Settings;
use crate::snapshot::{RestoreError, Snapshot};
use crate::time::{Instant, Timestamp};
use crate::visitor::VisitorCodesUsed;

/// The lock's stored state. Leaving-home mode and the alarms only an
/// acknowledgement ends are stored too ([`Armed`]), but live with the body
/// and the alarms they belong to.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) settings: Settings,
    pub(crate) people: People,
    /// Every person's passcodes, for the search at the keypad; derived from
    /// `people`.
    pub(crate) passcodes: PasscodeTable,
    pub(crate) attempts: Attempts,
    /// One-time visitor codes already used.
    pub(crate) visitor_codes_used: VisitorCodesUsed,
    /// The newest [`Change::ClockMark`] on flash: across a restart the
    /// clock is never set back far before it.
    pub(crate) clock_mark: Option<Timestamp>,
}

impl Stored {
    /// A factory-fresh lock's stored state.
    pub(crate) fn new() -> Stored {
        Stored {
            settings: Settings::default(),
            people: People::new(),
            passcodes: PasscodeTable::new(),
            attempts: Attempts::new(),
            visitor_codes_used: VisitorCodesUsed::new(),
            clock_mark: None,
        }
    }

    /// [`Stored::new`] in a frame of its own, for
    /// [`Lock::restore_with`](crate::Lock::restore_with): inlined there, the table of people was
    /// built twice more in its frame (36 KB in all, the returned lock
    /// included). Inlined into a caller that builds the lock where it is
    /// kept (the runtime's), [`Stored::new`] copies nothing.
    #[inline(never)]
    pub(crate) fn new_apart() -> Stored {
        Stored::new()
    }

    /// Back to [`Stored::new`] in place: a `Stored` built on the stack and
    /// moved in would cost its size (most of the lock's 12 KB) in every
    /// `handle` frame. Exhaustive, so a new field cannot be forgotten here.
    pub(crate) fn reset(&mut self) {
        let Stored {
            settings,
            people,
            passcodes,
            attempts,
            visitor_codes_used,
            clock_mark,
        } = self;
        *settings = Settings::default();
        people.clear();
        passcodes.clear();
        *attempts = Attempts::new();
        visitor_codes_used.clear();
        *clock_mark = None;
    }

    /// S-ST-3: takes the store's snapshot at `now`, checking every record
    /// again (flash is untrusted input): capacities, duplicate numbers and
    /// template ids, passcode rules, an administrator among the people.
    pub(crate) fn restore(
        &mut self,
        snapshot: &Snapshot,
        now: Instant,
    ) -> Result<(), RestoreError> {
        if !snapshot.settings.is_valid() {
            return Err(RestoreError::Settings);
        }
        self.settings = snapshot.settings;
        for person in snapshot.people.iter() {
            if self.people.get(person.number).is_some() {
                return Err(RestoreError::DuplicatePerson(person.number));
            }
            for code in person.passcode.iter().chain(person.duress.iter()) {
                if Passcode::new(code.digits()).is_err()
                    || code.check_strength().is_err()
                    || self.passcodes.overlaps(code)
                {
                    return Err(RestoreError::Passcode(person.number));
                }
                // Both slots of one person must not overlap each other either.
                let kind = if person.duress.is_some_and(|d| bool::from(d.ct_eq(code))) {
                    PasscodeKind::Duress
                } else {
                    PasscodeKind::Normal
                };
                self.passcodes
                    .insert(*code, person.number, kind)
                    .map_err(|_| RestoreError::Person(person.number))?;
            }
            if !person.name.is_valid() || person.schedule.is_some_and(|s| !s.is_valid()) {
                return Err(RestoreError::Person(person.number));
            }
            self.people
                .put(person.clone())
                .map_err(|_| RestoreError::Person(person.number))?;
        }
        if !self.people.is_empty() && self.people.administrators() == 0 {
            return Err(RestoreError::NoAdministrator);
        }
        self.attempts = Attempts::from_record(&snapshot.attempts, now);
        self.visitor_codes_used = snapshot.visitor_codes_used.clone();
        self.clock_mark = snapshot.clock_mark;
        Ok(())
    }

    /// The snapshot of this state, with what `armed` says.
    pub(crate) fn snapshot(&self, armed: Armed) -> Snapshot {
        let mut people = heapless::Vec::new();
        for p in self.people.iter() {
            // Cannot fail: both hold at most PEOPLE_CAPACITY.
            let _ = people.push(p.clone());
        }
        Snapshot {
            settings: self.settings,
            people,
            attempts: self.attempts.record(),
            visitor_codes_used: self.visitor_codes_used.clone(),
            clock_mark: self.clock_mark,
            armed,
        }
    }

    /// R-LKO-4: the failure counts, persisted before anything observable,
    /// so a power cut cannot reset them.
    pub(crate) fn persist_attempts(&self, out: &mut Actions) {
        out.push(Action::Persist(Change::Attempts(self.attempts.record())));
    }
}
