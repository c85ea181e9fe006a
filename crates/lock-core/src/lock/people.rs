//! Changing what is stored: people and their credentials, settings, and
//! the factory reset that erases it all.

use crate::action::{Action, Actions, Change, ModuleCommand, Notice, Prompt, Refusal};
use crate::event::{AlarmKind, EnrollFailure};
use crate::log::{Actor, LogEntry};
use crate::passcode::{Passcode, PasscodeError, PasscodeKind};
use crate::person::{BiometricKind, PeopleError, Person, PersonNumber};
use crate::settings::Setting;
use crate::time::Instant;
use crate::visitor::VisitorCodes;

use super::Lock;
use super::keypad::Mode;
use super::timers::Timer;

impl<V: VisitorCodes> Lock<V> {
    /// Applies a setting, stored and logged with who changed it.
    pub(super) fn configure(
        &mut self,
        now: Instant,
        setting: Setting,
        by: Actor,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        self.stored
            .settings
            .apply(setting)
            .map_err(|_| Refusal::OutOfRange)?;
        out.push(Action::Persist(Change::Settings(self.stored.settings)));
        self.log(now, out, LogEntry::SettingChanged { setting, by });
        match setting {
            Setting::LockoutProtection(false) => self.lift_lockout(now, out),
            Setting::LowBatteryPercent(_) => self.battery_measured(now, self.battery, out),
            Setting::AutoLock(false) => {
                self.timers.cancel(Timer::AutoLock);
            }
            _ => {}
        }
        Ok(())
    }

    /// R-PIN-5: a new code must neither contain nor be contained in any
    /// stored code, duress codes included.
    pub(super) fn new_passcode_is_free(&self, code: &Passcode) -> Result<(), PasscodeError> {
        if self.stored.passcodes.overlaps(code) {
            return Err(PasscodeError::Overlaps);
        }
        Ok(())
    }

    /// The record a menu session adds its next credential to: the draft until
    /// it is stored, then the stored record, which the app may have changed
    /// meanwhile (validity, duress code) or deleted. A stale draft would undo
    /// those or bring a deleted person back.
    pub(super) fn draft_record(&self, draft: &Person, stored: bool) -> Result<Person, Refusal> {
        if !stored {
            return Ok(draft.clone());
        }
        self.stored
            .people
            .get(draft.number)
            .cloned()
            .ok_or(Refusal::NoSuchPerson)
    }

    /// Stores `person` (new or changed) with its persistence and log record.
    /// `existing`: they were stored before. `kind`: the credential just added,
    /// `None` for a passcode.
    pub(super) fn store_person(
        &mut self,
        now: Instant,
        person: Person,
        existing: bool,
        kind: Option<BiometricKind>,
        by: Actor,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        let number = person.number;
        self.stored.people.put(person.clone()).map_err(refusal_of)?;
        let passcodes = &mut self.stored.passcodes;
        passcodes.remove_owner(number);
        for (code, kind) in [
            (person.passcode, PasscodeKind::Normal),
            (person.duress, PasscodeKind::Duress),
        ] {
            if let Some(code) = code {
                // Cannot fail: `put` checked the lock-wide passcode count.
                let _ = passcodes.insert(code, number, kind);
            }
        }
        out.push(Action::Persist(Change::Person(person.clone())));
        let entry = if existing {
            LogEntry::CredentialAdded {
                person: number,
                kind,
                by,
            }
        } else {
            LogEntry::UserAdded {
                person: number,
                role: person.role,
                by,
            }
        };
        self.log(now, out, entry);
        Ok(())
    }

    /// Changes a stored person's record (not their credentials), with its
    /// persistence and log record.
    pub(super) fn change_person(
        &mut self,
        now: Instant,
        number: PersonNumber,
        by: Actor,
        out: &mut Actions,
        change: impl FnOnce(&mut Person),
    ) -> Result<(), Refusal> {
        let mut p = self
            .stored
            .people
            .get(number)
            .cloned()
            .ok_or(Refusal::NoSuchPerson)?;
        change(&mut p);
        self.stored.people.put(p.clone()).map_err(refusal_of)?;
        out.push(Action::Persist(Change::Person(p)));
        self.log(now, out, LogEntry::UserChanged { person: number, by });
        Ok(())
    }

    /// R-USR-5: the person and every credential of theirs, in the store and
    /// in each module. The caller has checked that they may go.
    pub(super) fn delete_person(
        &mut self,
        now: Instant,
        number: PersonNumber,
        by: Actor,
        out: &mut Actions,
    ) {
        let Some(person) = self.stored.people.remove(number) else {
            return;
        };
        self.stored.passcodes.remove_owner(number);
        out.push(Action::Persist(Change::PersonDeleted(number)));
        for (kind, template) in person.all_templates() {
            out.push(Action::Module(ModuleCommand::Delete { kind, template }));
        }
        self.log(now, out, LogEntry::UserDeleted { person: number, by });
        if let Mode::Menu { admin, .. } = self.keypad.mode
            && admin == number
        {
            self.enter(Mode::Idle);
            self.sleep();
        }
    }

    /// R-MNU-9: erases every person, credential, template, key and setting;
    /// the lock is back at first start. What the hardware says (battery,
    /// USB power, bolt, door, the wall clock, a tamper alarm's siren) stays.
    pub(super) fn factory_reset(&mut self, now: Instant, out: &mut Actions) {
        out.push(Action::Persist(Change::FactoryReset));
        for kind in self.config.modules.fitted() {
            out.push(Action::Module(ModuleCommand::Clear(kind)));
        }
        self.log(now, out, LogEntry::FactoryReset);
        self.end_pairing(out);
        let alarms = self.alarms;
        // How far the clock has got outlives a reset — the running
        // clock's reach or, with no clock since a restart, the mark on
        // flash. Erased with the rest, it goes back on flash at once, or a
        // reset and a step back would revive a window already passed.
        let reached = self
            .clock(now)
            .map(|clock| clock.reached)
            .max(self.stored.clock_mark);
        self.forget_stored_state();
        if let Some(reached) = reached {
            self.mark_clock(reached, out);
        }
        for kind in [AlarmKind::Tamper, AlarmKind::LowBattery, AlarmKind::Jam] {
            self.alarms.set(kind, alarms.contains(kind));
        }
        for kind in alarms.iter() {
            if !self.alarms.contains(kind) {
                out.push(Action::Notify(Notice::AlarmCleared(kind)));
            }
        }
        self.prompt(out, Prompt::FactoryReset);
        self.enter(Mode::DoorDirection { asked: false });
        self.wake(now);
        self.prompt(out, Prompt::DoorDirection);
    }

    /// Back to a factory-fresh lock's state in place, keeping what the
    /// hardware says. Exhaustive, so a new concern cannot be forgotten.
    fn forget_stored_state(&mut self) {
        let Lock {
            config: _,
            visitor_codes: _,
            stored,
            storage_fault,
            timers,
            wall,
            keypad,
            body,
            alarms,
            battery: _,
            usb_power: _,
            #[cfg(any(test, feature = "fault-injection"))]
                forced_first_check: _,
        } = self;
        stored.reset();
        *storage_fault = false;
        // The tamper siren sounds on; every other timer ends.
        let tamper = timers.get(Timer::Tamper);
        timers.clear();
        if let Some(at) = tamper {
            timers.set(Timer::Tamper, at);
        }
        wall.forget_windows();
        *keypad = super::keypad::Keypad::new();
        body.forget();
        *alarms = crate::action::Alarms::default();
    }
}

/// The refusal a people-table error means to whoever asked.
pub(super) fn refusal_of(e: PeopleError) -> Refusal {
    match e {
        PeopleError::Full => Refusal::PeopleFull,
        PeopleError::NoSuchPerson => Refusal::NoSuchPerson,
        PeopleError::LastAdministrator => Refusal::LastAdministrator,
        PeopleError::OnlyPerson => Refusal::OnlyPerson,
        PeopleError::CredentialStoreFull => Refusal::CredentialStoreFull,
        PeopleError::PersonCredentialsFull => Refusal::PersonCredentialsFull,
        PeopleError::Duplicate => Refusal::Enroll(EnrollFailure::Duplicate),
    }
}
