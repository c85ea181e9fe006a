//! The keypad menu's screens: add a person with their credentials, delete,
//! settings, system information.
//!
//! Each screen's handler returns the screen that follows (`None` leaves
//! the menu); [`Lock::menu_key`] enters it.

use crate::action::{Action, Actions, Backlight, KeyMask, ModuleCommand, Prompt, Refusal};
use crate::event::{EnrollFailure, EnrollStep, Key};
use crate::log::Actor;
use crate::passcode::Passcode;
use crate::person::{BiometricKind, PeopleError, Person, PersonNumber, Role, TemplateId};
use crate::settings::Setting;
use crate::time::Instant;
use crate::visitor::VisitorCodes;

use super::Lock;
use super::keypad::{Dialogue, Mode};
use super::people::refusal_of;

/// A screen of the menu.
#[derive(Debug, Clone)]
pub(crate) enum Screen {
    Top,
    /// Choosing the next credential for `draft`; `stored` once it has one.
    Credential {
        draft: Person,
        stored: bool,
    },
    /// A module is enrolling for `draft`.
    Enrolling {
        draft: Person,
        stored: bool,
        kind: BiometricKind,
    },
    /// Typing a new passcode for `draft`, `first` once entered once.
    NewPasscode {
        draft: Person,
        stored: bool,
        first: Option<Passcode>,
    },
    Delete,
    Settings,
}

impl<V: VisitorCodes> Lock<V> {
    /// A key in the menu, opened by `admin`.
    pub(super) fn menu_key(
        &mut self,
        now: Instant,
        admin: PersonNumber,
        screen: Screen,
        key: Key,
        out: &mut Actions,
    ) {
        let next = match screen {
            Screen::Top => self.menu_top_key(key, out),
            Screen::Credential { draft, stored } => self.credential_key(draft, stored, key, out),
            Screen::Enrolling {
                draft,
                stored,
                kind,
            } => {
                if key == Key::Back {
                    out.push(Action::Module(ModuleCommand::CancelEnroll(kind)));
                    self.prompt(out, Prompt::ChooseCredential(self.config.modules));
                    Some(Screen::Credential { draft, stored })
                } else {
                    Some(Screen::Enrolling {
                        draft,
                        stored,
                        kind,
                    })
                }
            }
            Screen::NewPasscode {
                draft,
                stored,
                first,
            } => self.new_passcode_key(now, admin, draft, stored, first, key, out),
            Screen::Delete => self.delete_key(now, admin, key, out),
            Screen::Settings => self.settings_key(now, admin, key, out),
        };
        match next {
            Some(screen) => self.enter(Mode::Menu { admin, screen }),
            None => {
                self.sleep();
                self.enter(Mode::Idle);
            }
        }
    }

    /// R-MNU-3: the menu's top: `1` add administrator, `2` add user, `3`
    /// delete, `4` settings, `5` system information; ↩ leaves.
    fn menu_top_key(&mut self, key: Key, out: &mut Actions) -> Option<Screen> {
        match key {
            Key::Digit(d @ (1 | 2)) => {
                let role = if d == 1 {
                    Role::Administrator
                } else {
                    Role::User
                };
                let Some(number) = self.stored.people.lowest_free() else {
                    self.prompt(out, Prompt::Failure(Refusal::PeopleFull));
                    return Some(Screen::Top);
                };
                self.prompt(out, Prompt::PersonNumber(number));
                out.push(Action::Keypad(Backlight::Spell {
                    number,
                    then: KeyMask::ENTRY,
                }));
                self.prompt(out, Prompt::ChooseCredential(self.config.modules));
                Some(Screen::Credential {
                    draft: Person::new(number, role),
                    stored: false,
                })
            }
            Key::Digit(3) => {
                self.keypad.entry.clear();
                self.prompt(out, Prompt::EnterPersonNumber);
                Some(Screen::Delete)
            }
            Key::Digit(4) => {
                self.prompt(out, Prompt::SettingsMenu);
                Some(Screen::Settings)
            }
            Key::Digit(5) => {
                self.system_information(out);
                Some(Screen::Top)
            }
            Key::Back => None,
            _ => Some(Screen::Top),
        }
    }

    /// R-MNU-6: serial number, firmware version and verification code, then
    /// back to the menu; on a Matter device the manual pairing code after
    /// the verification code (R-MTR-1).
    fn system_information(&self, out: &mut Actions) {
        self.prompt(out, Prompt::SerialNumber(self.config.serial));
        let (major, minor, patch) = self.config.firmware;
        self.prompt(out, Prompt::FirmwareVersion(major, minor, patch));
        self.prompt(out, Prompt::VerificationCode(self.config.verification_code));
        if let Some(code) = self.config.matter_code {
            self.prompt(out, Prompt::MatterCode(code));
        }
        self.prompt(out, Prompt::Menu);
    }

    /// R-MNU-4: the new person's credentials, one after another: `1` face,
    /// `2` palm, `3` finger (each only if fitted), `4` passcode; ↩ back to the menu (before any
    /// credential, nobody is stored).
    fn credential_key(
        &mut self,
        draft: Person,
        stored: bool,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        let kind = match key {
            Key::Digit(1) => BiometricKind::Face,
            Key::Digit(2) => BiometricKind::Palm,
            Key::Digit(3) => BiometricKind::Finger,
            Key::Digit(4) => {
                let full = if draft.passcode.is_some() {
                    Some(Refusal::PersonCredentialsFull)
                } else if self.stored.passcodes.is_full() {
                    Some(Refusal::CredentialStoreFull)
                } else {
                    None
                };
                if let Some(reason) = full {
                    self.prompt(out, Prompt::Failure(reason));
                    self.prompt(out, Prompt::ChooseCredential(self.config.modules));
                    return Some(Screen::Credential { draft, stored });
                }
                self.keypad.entry.clear();
                self.prompt(out, Prompt::EnterPasscode);
                return Some(Screen::NewPasscode {
                    draft,
                    stored,
                    first: None,
                });
            }
            Key::Back => {
                self.prompt(out, Prompt::Menu);
                return Some(Screen::Top);
            }
            _ => return Some(Screen::Credential { draft, stored }),
        };
        if !self.config.modules.has(kind) {
            // Not fitted: the choices again, with what there is.
            self.prompt(out, Prompt::ChooseCredential(self.config.modules));
            return Some(Screen::Credential { draft, stored });
        }
        if let Err(e) = self.stored.people.can_add_template(Some(&draft), kind) {
            self.prompt(out, Prompt::Failure(refusal_of(e)));
            self.prompt(out, Prompt::ChooseCredential(self.config.modules));
            return Some(Screen::Credential { draft, stored });
        }
        out.push(Action::Module(ModuleCommand::Enroll {
            kind,
            template: self.stored.people.free_template(kind),
        }));
        self.prompt(out, Prompt::Enroll(kind, EnrollStep::Present));
        Some(Screen::Enrolling {
            draft,
            stored,
            kind,
        })
    }

    /// A passcode for the new person, entered twice; stored at once.
    #[allow(clippy::too_many_arguments)]
    fn new_passcode_key(
        &mut self,
        now: Instant,
        admin: PersonNumber,
        draft: Person,
        stored: bool,
        first: Option<Passcode>,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        let code = match self.passcode_dialogue(first, key, out) {
            Dialogue::Typing(first) => {
                return Some(Screen::NewPasscode {
                    draft,
                    stored,
                    first,
                });
            }
            Dialogue::Cancelled | Dialogue::Refused => {
                self.prompt(out, Prompt::ChooseCredential(self.config.modules));
                return Some(Screen::Credential { draft, stored });
            }
            Dialogue::Confirmed(code) => code,
        };
        let stored_now = self.draft_record(&draft, stored).and_then(|mut updated| {
            updated.passcode = Some(code);
            self.store_person(
                now,
                updated.clone(),
                stored,
                None,
                Actor::Person(admin),
                out,
            )
            .map(|()| updated)
        });
        match stored_now {
            Ok(updated) => {
                self.prompt(out, Prompt::Success);
                self.prompt(out, Prompt::ChooseCredential(self.config.modules));
                Some(Screen::Credential {
                    draft: updated,
                    stored: true,
                })
            }
            Err(reason) => {
                self.prompt(out, Prompt::Failure(reason));
                self.prompt(out, Prompt::ChooseCredential(self.config.modules));
                Some(Screen::Credential { draft, stored })
            }
        }
    }

    /// R-MNU-5: delete: the three-digit person number, ✓. A refusal plays
    /// the failure sound and waits for another number; ↩ goes back.
    fn delete_key(
        &mut self,
        now: Instant,
        admin: PersonNumber,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        match key {
            Key::Digit(d) => {
                self.keypad.entry.push(d);
                Some(Screen::Delete)
            }
            Key::Back => {
                self.keypad.entry.clear();
                self.prompt(out, Prompt::Menu);
                Some(Screen::Top)
            }
            Key::Ok => {
                let typed = core::mem::take(&mut self.keypad.entry);
                let number = match typed.digits() {
                    &[a, b, c] => a
                        .checked_mul(100)
                        .and_then(|n| n.checked_add(b.checked_mul(10)?))
                        .and_then(|n| n.checked_add(c))
                        .and_then(PersonNumber::new),
                    _ => None,
                };
                let result = number
                    .ok_or(PeopleError::NoSuchPerson)
                    .and_then(|n| self.stored.people.check_delete(n).map(|()| n));
                match result {
                    Ok(n) => {
                        self.delete_person(now, n, Actor::Person(admin), out);
                        self.prompt(out, Prompt::Success);
                        if n == admin {
                            // They deleted themselves: nobody holds the menu now.
                            return None;
                        }
                        self.prompt(out, Prompt::Menu);
                        Some(Screen::Top)
                    }
                    Err(e) => {
                        self.prompt(out, Prompt::Failure(refusal_of(e)));
                        Some(Screen::Delete)
                    }
                }
            }
            _ => Some(Screen::Delete),
        }
    }

    fn settings_key(
        &mut self,
        now: Instant,
        admin: PersonNumber,
        key: Key,
        out: &mut Actions,
    ) -> Option<Screen> {
        let settings = &self.stored.settings;
        let setting = match key {
            Key::Digit(1) => Setting::Volume(settings.volume.next()),
            Key::Digit(2) => Setting::AutoLock(!settings.auto_lock),
            Key::Digit(3) => Setting::RemoteUnlock(!settings.remote_unlock),
            Key::Back => {
                self.prompt(out, Prompt::Menu);
                return Some(Screen::Top);
            }
            _ => return Some(Screen::Settings),
        };
        match self.configure(now, setting, Actor::Person(admin), out) {
            Ok(()) => self.prompt(out, Prompt::Success),
            Err(r) => self.prompt(out, Prompt::Failure(r)),
        }
        Some(Screen::Settings)
    }

    /// R-USR-7: a module's enrollment result. A template the lock already
    /// maps to someone is a duplicate and is refused; a template nobody
    /// asked for (another module, the menu closed) is removed from the
    /// module. Back to the credential choice either way.
    pub(super) fn enrolled(
        &mut self,
        now: Instant,
        kind: BiometricKind,
        result: Result<TemplateId, EnrollFailure>,
        out: &mut Actions,
    ) {
        let Mode::Menu {
            admin,
            screen:
                Screen::Enrolling {
                    draft,
                    stored,
                    kind: k,
                },
        } = &self.keypad.mode
        else {
            if let Ok(template) = result {
                out.push(Action::Module(ModuleCommand::Delete { kind, template }));
            }
            return;
        };
        if *k != kind {
            if let Ok(template) = result {
                out.push(Action::Module(ModuleCommand::Delete { kind, template }));
            }
            return;
        }
        let (admin, mut draft, mut stored) = (*admin, draft.clone(), *stored);
        self.wake(now);
        let outcome = result.map_err(Refusal::Enroll).and_then(|template| {
            let mut updated = self.draft_record(&draft, stored).inspect_err(|_| {
                out.push(Action::Module(ModuleCommand::Delete { kind, template }))
            })?;
            if self.stored.people.owner_of(kind, template).is_some()
                || !updated.add_template(kind, template)
            {
                out.push(Action::Module(ModuleCommand::Delete { kind, template }));
                return Err(Refusal::Enroll(EnrollFailure::ModuleFault));
            }
            self.store_person(
                now,
                updated.clone(),
                stored,
                Some(kind),
                Actor::Person(admin),
                out,
            )
            .inspect_err(|_| out.push(Action::Module(ModuleCommand::Delete { kind, template })))?;
            Ok(updated)
        });
        match outcome {
            Ok(updated) => {
                draft = updated;
                stored = true;
                self.prompt(out, Prompt::Success);
            }
            Err(reason) => self.prompt(out, Prompt::Failure(reason)),
        }
        self.prompt(out, Prompt::ChooseCredential(self.config.modules));
        self.enter(Mode::Menu {
            admin,
            screen: Screen::Credential { draft, stored },
        });
    }
}
