//! The app side: commands from an authenticated phone, pairing mode, and
//! what the app protocol changed on its own.

use crate::action::{
    Action, Actions, Backlight, KeyMask, LockMethod, Method, Prompt, Refusal, Reply,
};
use crate::event::{AppChange, AppCommand, AppRequest, DoorState, Key, Link, Privilege};
use crate::log::{Actor, LogEntry};
use crate::passcode::{Passcode, PasscodeError};
use crate::person::{Person, PersonNumber, Role};
use crate::time::{Duration, Instant, Validity};
use crate::visitor::VisitorCodes;

use super::Lock;
use super::people::refusal_of;
use super::timers::Timer;

/// Pairing mode lasts at most this long.
pub const PAIRING_WINDOW: Duration = Duration::from_mins(3);

impl<V: VisitorCodes> Lock<V> {
    /// An authenticated request: always answered.
    pub(super) fn app(&mut self, now: Instant, request: AppRequest, out: &mut Actions) {
        let reply = self
            .app_command(now, request, out)
            .unwrap_or_else(Reply::Refused);
        out.push(Action::Reply(reply));
    }

    /// S-PR-4, S-VC-4, R-APP-5: the privilege each command needs: a visitor's key opens and
    /// locks, a user also reads the status and the camera, everything else
    /// is an administrator's. A visitor's key acts over the local Bluetooth
    /// link only, never from afar.
    fn permitted(request: &AppRequest) -> Result<(), Refusal> {
        let needed = match request.command {
            AppCommand::Unlock | AppCommand::UnlockWithPasscode(_) | AppCommand::Lock => {
                Privilege::Visitor
            }
            AppCommand::Status | AppCommand::LiveVideo => Privilege::User,
            _ => Privilege::Administrator,
        };
        if request.privilege < needed
            || (request.privilege == Privilege::Visitor && request.link == Link::Remote)
        {
            return Err(Refusal::NotPermitted);
        }
        Ok(())
    }

    fn app_command(
        &mut self,
        now: Instant,
        request: AppRequest,
        out: &mut Actions,
    ) -> Result<Reply, Refusal> {
        Self::permitted(&request)?;
        if self.storage_fault && !matches!(request.command, AppCommand::Status) {
            return Err(Refusal::StorageFault);
        }
        let by = Actor::Pairing(request.pairing);
        match request.command {
            AppCommand::Status => return Ok(Reply::Status(self.status())),
            AppCommand::Unlock => self.remote_unlock(now, request.link, None, out)?,
            AppCommand::UnlockWithPasscode(code) => {
                self.remote_unlock(now, request.link, Some(&code), out)?;
            }
            AppCommand::Lock => {
                if self.body.door == DoorState::Open {
                    return Err(Refusal::DoorOpen);
                }
                self.lock_bolt(now, LockMethod::App, out);
            }
            AppCommand::LiftLockout => self.lift_lockout(now, out),
            AppCommand::Configure(setting) => self.configure(now, setting, by, out)?,
            AppCommand::SetValidity { person, validity } => {
                self.change_person(now, person, by, out, |p| p.validity = validity)?;
            }
            AppCommand::NamePerson { person, name } => {
                if !name.is_valid() {
                    return Err(Refusal::OutOfRange);
                }
                self.change_person(now, person, by, out, |p| p.name = name)?;
            }
            AppCommand::SetSchedule { person, schedule } => {
                if schedule.is_some_and(|s| !s.is_valid()) {
                    return Err(Refusal::OutOfRange);
                }
                self.change_person(now, person, by, out, |p| p.schedule = schedule)?;
            }
            AppCommand::AddPerson {
                number,
                role,
                passcode,
                validity,
            } => {
                let number = self.add_person(now, number, role, passcode, validity, by, out)?;
                return Ok(Reply::PersonAdded(number));
            }
            AppCommand::DeletePerson(person) => {
                self.stored
                    .people
                    .check_delete(person)
                    .map_err(refusal_of)?;
                self.delete_person(now, person, by, out);
            }
            AppCommand::SetDuressPasscode { person, code } => {
                self.set_duress_passcode(now, person, code, by, out)?;
            }
            AppCommand::Acknowledge(kind) => self.acknowledge(now, kind, out)?,
            AppCommand::SetClock(ts) => self.set_clock(now, ts, request.pairing, out)?,
            AppCommand::LiveVideo => self.camera_allowed()?,
        }
        Ok(Reply::Done)
    }

    /// R-APP-2: an unlock from the app; from afar only when remote unlock
    /// is enabled in the settings, and never during a lockout. With a
    /// passcode (SPEC §10), the code is verified as a credential.
    fn remote_unlock(
        &mut self,
        now: Instant,
        link: Link,
        code: Option<&Passcode>,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        if link == Link::Remote && !self.stored.settings.remote_unlock {
            return Err(Refusal::RemoteUnlockDisabled);
        }
        if self.locked_out(now) {
            return Err(Refusal::SystemLocked);
        }
        let method = match link {
            Link::Bluetooth => Method::BluetoothKey,
            Link::Remote => Method::Remote,
        };
        match code {
            Some(code) => self.verify_sent_passcode(now, code, method, out)?,
            None => self.unlock(now, None, method, out),
        }
        Ok(())
    }

    /// R-APP-3: a person added from the app, with a passcode under the same
    /// rules as at the keypad; their biometrics are enrolled at the lock.
    #[allow(clippy::too_many_arguments)]
    fn add_person(
        &mut self,
        now: Instant,
        number: Option<PersonNumber>,
        role: Role,
        passcode: Passcode,
        validity: Validity,
        by: Actor,
        out: &mut Actions,
    ) -> Result<PersonNumber, Refusal> {
        Passcode::new(passcode.digits())?;
        passcode.check_strength()?;
        self.new_passcode_is_free(&passcode)?;
        let number = match number {
            Some(n) if self.stored.people.get(n).is_some() => return Err(Refusal::OutOfRange),
            Some(n) => n,
            None => self
                .stored
                .people
                .lowest_free()
                .ok_or(Refusal::PeopleFull)?,
        };
        let mut person = Person::new(number, role);
        person.passcode = Some(passcode);
        person.validity = validity;
        self.store_person(now, person, false, None, by, out)?;
        Ok(number)
    }

    /// A person's duress code, from the app: it must not overlap any other
    /// stored code (their own previous duress code aside).
    fn set_duress_passcode(
        &mut self,
        now: Instant,
        person: PersonNumber,
        code: Passcode,
        by: Actor,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        let people = &self.stored.people;
        let mut p = people.get(person).cloned().ok_or(Refusal::NoSuchPerson)?;
        code.check_strength()?;
        let clashes = people.iter().any(|q| {
            q.passcode
                .iter()
                .chain(q.duress.iter().filter(|_| q.number != person))
                .any(|c| c.overlaps(&code))
        });
        if clashes {
            return Err(Refusal::Passcode(PasscodeError::Overlaps));
        }
        p.duress = Some(code);
        self.store_person(now, p, true, None, by, out)
    }

    /// R-MNU-7: a long press of SET opens pairing mode for
    /// [`PAIRING_WINDOW`] at most (keypad `0` blinks); an open dialogue
    /// ends first, as after the keypad's timeout, so no one finds an
    /// administrator's menu left open.
    pub(super) fn set_held(&mut self, now: Instant, out: &mut Actions) {
        if self.stored.people.administrators() == 0 || self.storage_fault {
            self.prompt(out, Prompt::Failure(Refusal::NotSetUp));
            return;
        }
        if self.awake() {
            self.keypad_timeout(out);
        }
        let until = now + PAIRING_WINDOW;
        self.timers.set(Timer::Pairing, until);
        self.timers.set(Timer::Keypad, until);
        self.keypad.lit = Some(self.mask());
        out.push(Action::Pairing(true));
        out.push(Action::Keypad(Backlight::Blink(KeyMask::of(Key::Digit(0)))));
        self.prompt(out, Prompt::PairingMode);
    }

    /// S-PR-1: the protocol and a phone derived this code; the lock speaks
    /// it (even when muted: it is the point of the window) and ✓ confirms
    /// it, ↩ refuses it. Outside pairing mode there is nothing to confirm.
    pub(super) fn pairing_code(&mut self, code: u32, out: &mut Actions) {
        if !self.timers.is_set(Timer::Pairing) {
            return;
        }
        self.keypad.pairing_code = true;
        out.push(Action::Prompt(Prompt::VerificationCode(code)));
    }

    /// ✓ or ↩ while a pairing code waits for the person at the lock.
    pub(super) fn pairing_code_key(&mut self, now: Instant, key: Key, out: &mut Actions) {
        match key {
            Key::Ok => {
                self.keypad.pairing_code = false;
                out.push(Action::ConfirmPairing);
            }
            Key::Back => self.end_pairing(out),
            // The keypad stays lit for ✓ while the window lasts.
            _ => self.wake(now),
        }
    }

    /// R-APP-6: what the app protocol changed on its own, for the log with
    /// who did it.
    pub(super) fn app_changed(&mut self, now: Instant, change: AppChange, out: &mut Actions) {
        let entry = match change {
            AppChange::Paired { pairing } => {
                self.end_pairing(out);
                LogEntry::Paired { pairing }
            }
            AppChange::Unpaired { pairing, by } => LogEntry::Unpaired { pairing, by },
            AppChange::KeyIssued {
                pairing,
                privilege,
                by,
                until,
            } => {
                if let Some(until) = until {
                    self.watch_window_end(until);
                }
                LogEntry::KeyIssued {
                    pairing,
                    privilege,
                    by,
                }
            }
        };
        self.log(now, out, entry);
    }

    /// Pairing mode ends: the keypad goes dark, so whatever dialogue was
    /// open ends as after the keypad's own timeout; a menu must not outlive
    /// it.
    pub(super) fn end_pairing(&mut self, out: &mut Actions) {
        self.keypad.pairing_code = false;
        if self.timers.cancel(Timer::Pairing) {
            out.push(Action::Pairing(false));
            self.keypad_timeout(out);
            self.keypad.lit = None;
            out.push(Action::Keypad(Backlight::Off));
        }
    }
}
