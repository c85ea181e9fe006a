//! The verdict on a credential — a passcode, a visitor code, a face, palm
//! or finger — checked twice, independently, before the motor runs; and
//! failures, which count towards a lockout.

use crate::action::{Action, Actions, Change, Method, ModuleCommand, Notice, Prompt, Refusal};
use crate::event::{AlarmKind, BiometricEvent, EnrollFailure};
use crate::log::LogEntry;
use crate::passcode::{Entry, Passcode, PasscodeKind, PasscodeMatch};
use crate::person::{BiometricKind, PersonNumber, Role, TemplateId};
use crate::time::{Instant, Timestamp};
use crate::visitor::{VisitorCodeMatch, VisitorCodes, record_use};

use super::Lock;
use super::keypad::Mode;
use super::menu::Screen;

/// The evidence behind an unlock, re-checked independently before the motor
/// runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Evidence {
    Passcode(PasscodeMatch),
    Template(BiometricKind, TemplateId),
}

/// A verdict of the first check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grant {
    pub(crate) person: PersonNumber,
    pub(crate) method: Method,
    pub(crate) evidence: Evidence,
    pub(crate) duress: bool,
}

/// A non-trivial constant for a granted check, so a single flipped bit or
/// skipped instruction cannot turn a refusal into a grant.
pub(crate) const GRANTED: u32 = 0x3CA5_5AC3;
pub(crate) const REFUSED: u32 = 0x0000_0000;

impl<V: VisitorCodes> Lock<V> {
    /// A passcode entry at the door (or, `for_menu`, after SET).
    ///
    /// Codes of people within their validity period are searched first: an
    /// expired code typed beside a valid one must not hide it. An expired
    /// code counts as outside its validity (refused, not counted) only when
    /// it is all that was typed; with extra digits around it the entry is a
    /// guess like any other and counts, or a former visitor could guess
    /// without limit behind their old code.
    pub(super) fn verify_passcode(
        &mut self,
        now: Instant,
        entry: &Entry,
        for_menu: bool,
        out: &mut Actions,
    ) {
        let clock = self.clock(now);
        let people = &self.stored.people;
        let admitted = |n| people.get(n).is_some_and(|p| p.admits(clock));
        let valid = self.stored.passcodes.find_among(entry, admitted);
        let expired = self.stored.passcodes.find_among(entry, |n| !admitted(n));
        let found = valid.or(expired.filter(|m| m.len == entry.len()));
        if found.is_none() && !for_menu {
            // An entry no person's code is in may hold a visitor code.
            if let Some(m) = self.find_visitor_code(now, entry) {
                self.visitor_code_verdict(now, m, entry, out);
                return;
            }
        }
        let grant = found.map(|m| Grant {
            person: m.owner,
            method: Method::Passcode,
            evidence: Evidence::Passcode(m),
            duress: m.kind == PasscodeKind::Duress,
        });
        // The prompt and the log said what happened.
        let _ = self.verdict(now, grant, Method::Passcode, Some(entry), for_menu, out);
    }

    /// SPEC §10, Matter: a passcode sent with an unlock from afar (a Matter
    /// controller's UnlockDoor with a PIN). It must be a stored person's
    /// code exactly: the extra digits allowed at the keypad guard against
    /// someone watching the keypad and do not apply to a code that never
    /// crossed it, and visitor codes are typed at the door only. A wrong
    /// code is a failed verification like one at the keypad, towards the
    /// same lockout: one count across channels.
    pub(super) fn verify_sent_passcode(
        &mut self,
        now: Instant,
        code: &Passcode,
        method: Method,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        let entry = Entry::from_digits(code.digits());
        let clock = self.clock(now);
        let people = &self.stored.people;
        let admitted = |n| people.get(n).is_some_and(|p| p.admits(clock));
        let exact = |m: &PasscodeMatch| m.len == entry.len();
        let valid = self.stored.passcodes.find_among(&entry, admitted);
        let expired = self.stored.passcodes.find_among(&entry, |n| !admitted(n));
        let found = valid.filter(exact).or(expired.filter(exact));
        let grant = found.map(|m| Grant {
            person: m.owner,
            method,
            evidence: Evidence::Passcode(m),
            duress: m.kind == PasscodeKind::Duress,
        });
        self.verdict(now, grant, method, Some(&entry), false, out)
    }

    /// S-VC-2: the visitor code in `entry`, if the clock is trusted: without
    /// it every time-bounded code fails closed, and the entry counts as any
    /// wrong guess. A code must also be open at the furthest the clock has
    /// reached, so setting the clock back never revives a window that had
    /// ended.
    fn find_visitor_code(&self, now: Instant, entry: &Entry) -> Option<VisitorCodeMatch> {
        let clock = self.clock(now)?;
        let used = &self.stored.visitor_codes_used;
        let found = self.visitor_codes.find(entry, clock.now, used)?;
        if clock.reached > clock.now
            && self.visitor_codes.find(entry, clock.reached, used) != Some(found)
        {
            return None;
        }
        Some(found)
    }

    /// Whether a lockout is running: every credential, by every method, is
    /// refused unchecked until it ends or an administrator lifts it.
    pub(super) fn locked_out(&self, now: Instant) -> bool {
        self.stored.attempts.lockout(now).is_some()
    }

    /// Refuses any credential without looking at it when the storage failed
    /// or a lockout is active: prompted, not logged (a flood cannot wear the
    /// flash) and not counted. The refusal, if refused.
    fn refused_unchecked(&self, now: Instant, out: &mut Actions) -> Result<(), Refusal> {
        if self.storage_fault {
            self.prompt(out, Prompt::Failure(Refusal::StorageFault));
            Err(Refusal::StorageFault)
        } else if self.locked_out(now) {
            self.prompt(out, Prompt::SystemLocked);
            Err(Refusal::SystemLocked)
        } else {
            Ok(())
        }
    }

    /// R-APP-4: opens for an offline visitor code after the second check; a
    /// one-time code is recorded as used, on flash before the door opens.
    /// A visitor code is no person's own credential and resets no count, so
    /// a visitor cannot interleave successes with guesses.
    fn visitor_code_verdict(
        &mut self,
        now: Instant,
        m: VisitorCodeMatch,
        entry: &Entry,
        out: &mut Actions,
    ) {
        if self.refused_unchecked(now, out).is_err() {
            return;
        }
        let first = GRANTED;
        let second = self.confirm_visitor_code(now, &m, entry);
        if first != GRANTED || second != GRANTED || (first ^ second) != 0 {
            self.fail(now, Method::VisitorCode, out);
            return;
        }
        if m.one_time {
            let at = self.wall.at(now).unwrap_or(Timestamp(0));
            if record_use(&mut self.stored.visitor_codes_used, m.code, at).is_err() {
                // Every slot holds a code still in its window: fail closed.
                self.log(
                    now,
                    out,
                    LogEntry::UnlockFailed {
                        person: None,
                        method: Method::VisitorCode,
                        reason: Refusal::CredentialStoreFull,
                    },
                );
                self.prompt(out, Prompt::Failure(Refusal::CredentialStoreFull));
                return;
            }
            out.push(Action::Persist(Change::VisitorCodeUsed {
                code: m.code,
                at,
            }));
        }
        self.unlock(now, None, Method::VisitorCode, out);
    }

    /// The second check of a visitor code: searched again from the stored
    /// state, the same code must come out.
    fn confirm_visitor_code(&self, now: Instant, m: &VisitorCodeMatch, entry: &Entry) -> u32 {
        if self.storage_fault || self.locked_out(now) {
            return REFUSED;
        }
        match self.find_visitor_code(now, entry) {
            Some(again) if again == *m && !self.stored.visitor_codes_used.contains(&m.code) => {
                GRANTED
            }
            _ => REFUSED,
        }
    }

    /// R-UNL-1: a biometric module's verdict (face, palm, finger), or its
    /// enrollment's progress and result.
    pub(super) fn biometric(&mut self, now: Instant, event: BiometricEvent, out: &mut Actions) {
        match event {
            BiometricEvent::Identified { kind, template } => {
                let Some(for_menu) = self.verifying() else {
                    return;
                };
                let grant = self.stored.people.owner_of(kind, template).map(|p| Grant {
                    person: p.number,
                    method: Method::from(kind),
                    evidence: Evidence::Template(kind, template),
                    duress: false,
                });
                if grant.is_none() {
                    // A template the lock does not know (left behind by a power
                    // cut during a deletion): remove it, and count the attempt.
                    out.push(Action::Module(ModuleCommand::Delete { kind, template }));
                }
                let _ = self.verdict(now, grant, Method::from(kind), None, for_menu, out);
            }
            BiometricEvent::NoMatch { kind } => {
                if let Some(for_menu) = self.verifying() {
                    let _ = self.verdict(now, None, Method::from(kind), None, for_menu, out);
                }
            }
            BiometricEvent::EnrollProgress { kind, step } => {
                if let Mode::Menu {
                    screen: Screen::Enrolling { kind: k, .. },
                    ..
                } = self.keypad.mode
                    && k == kind
                {
                    self.wake(now);
                    self.prompt(out, Prompt::Enroll(kind, step));
                }
            }
            BiometricEvent::Enrolled { kind, template } => {
                self.enrolled(now, kind, Ok(template), out)
            }
            BiometricEvent::EnrollFailed { kind, reason } => {
                self.enrolled(now, kind, Err(reason), out)
            }
            BiometricEvent::Fault { kind } => {
                self.log(now, out, LogEntry::ModuleFault(kind));
                self.enrolled(now, kind, Err(EnrollFailure::ModuleFault), out);
            }
        }
    }

    /// Whether a credential presented now is checked, and if so whether for
    /// the menu (`true`) or to open the door.
    fn verifying(&self) -> Option<bool> {
        match self.keypad.mode {
            Mode::Idle => Some(false),
            Mode::VerifyAdministrator => Some(true),
            _ => None,
        }
    }

    /// R-USR-1, R-USR-6: acts on a verification's first check: refuses (a
    /// person outside their validity period is refused and logged, not
    /// counted), counts a failure, opens the menu for an administrator
    /// only, or unlocks after the second check.
    fn verdict(
        &mut self,
        now: Instant,
        grant: Option<Grant>,
        method: Method,
        entry: Option<&Entry>,
        for_menu: bool,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        self.refused_unchecked(now, out)?;
        #[cfg(any(test, feature = "fault-injection"))]
        let grant = match self.forced_first_check.take() {
            Some((person, method)) => Some(Grant {
                person,
                method,
                evidence: Evidence::Template(BiometricKind::Finger, TemplateId(u16::MAX)),
                duress: false,
            }),
            None => grant,
        };
        let Some(grant) = grant else {
            self.fail(now, method, out);
            return Err(Refusal::NoMatch);
        };
        let Some(person) = self.stored.people.get(grant.person) else {
            self.fail(now, method, out);
            return Err(Refusal::NoMatch);
        };
        if !person.admits(self.clock(now)) {
            self.log(
                now,
                out,
                LogEntry::UnlockFailed {
                    person: Some(grant.person),
                    method,
                    reason: Refusal::OutsideValidity,
                },
            );
            self.prompt(out, Prompt::Failure(Refusal::OutsideValidity));
            return Err(Refusal::OutsideValidity);
        }
        let role = person.role;
        let first = GRANTED;
        let second = self.confirm(now, &grant, entry);
        if first != GRANTED || second != GRANTED || (first ^ second) != 0 {
            self.fail(now, method, out);
            return Err(Refusal::NoMatch);
        }
        if for_menu && guesses_around(role, &grant, entry) {
            self.fail(now, method, out);
            return Err(Refusal::NoMatch);
        }
        if self
            .stored
            .attempts
            .record_success(role == Role::Administrator)
        {
            self.stored.persist_attempts(out);
        }
        if for_menu {
            if role == Role::Administrator {
                self.prompt(out, Prompt::Menu);
                self.enter(Mode::Menu {
                    admin: grant.person,
                    screen: Screen::Top,
                });
                self.wake(now);
            } else {
                self.prompt(out, Prompt::Failure(Refusal::NotAdministrator));
                return Err(Refusal::NotAdministrator);
            }
            return Ok(());
        }
        self.unlock(now, Some(grant.person), grant.method, out);
        if grant.duress {
            self.raise_duress(now, out);
        }
        Ok(())
    }

    /// R-PIN-7: a duress code opens like the person's own code, silently
    /// at the door and loud in the app, until acknowledged.
    fn raise_duress(&mut self, now: Instant, out: &mut Actions) {
        self.set_alarm(now, out, AlarmKind::Duress, true);
    }

    /// S-HW-1: the second check re-derives the verdict from the stored state
    /// without reusing the first check's result.
    pub(super) fn confirm(&self, now: Instant, grant: &Grant, entry: Option<&Entry>) -> u32 {
        if self.storage_fault || self.locked_out(now) {
            return REFUSED;
        }
        let people = &self.stored.people;
        let Some(person) = people.get(grant.person) else {
            return REFUSED;
        };
        if !person.admits(self.clock(now)) {
            return REFUSED;
        }
        let evidence_holds = match (grant.evidence, entry) {
            (Evidence::Passcode(m), Some(entry)) => {
                m.owner == grant.person && self.stored.passcodes.confirm(entry, &m)
            }
            (Evidence::Template(kind, template), None) => {
                person.templates(kind).contains(&template)
                    && people.owner_of(kind, template).map(|p| p.number) == Some(grant.person)
            }
            _ => false,
        };
        if evidence_holds { GRANTED } else { REFUSED }
    }

    /// S-BF-2, R-ALM-2: records a failed verification: persisted before
    /// anything observable, then logged, then the lockout if it began, with
    /// its alarm reported to the app.
    fn fail(&mut self, now: Instant, method: Method, out: &mut Actions) {
        if self.storage_fault {
            return;
        }
        let protection = self.stored.settings.lockout_protection;
        let outcome = self.stored.attempts.record_failure(now, protection);
        self.stored.persist_attempts(out);
        self.log(
            now,
            out,
            LogEntry::UnlockFailed {
                person: None,
                method,
                reason: Refusal::NoMatch,
            },
        );
        if let Some(lockout) = outcome.lockout {
            let secs = u32::try_from(lockout.length.secs()).unwrap_or(u32::MAX);
            self.log(
                now,
                out,
                LogEntry::Lockout {
                    cause: lockout.cause,
                    secs,
                },
            );
            self.set_alarm(now, out, AlarmKind::SystemLocked, true);
            out.push(Action::Notify(Notice::Lockout(lockout.cause, secs)));
            self.prompt(out, Prompt::SystemLocked);
        } else {
            self.prompt(out, Prompt::Failure(Refusal::NoMatch));
        }
        self.keypad.entry.clear();
    }

    /// R-LKO-3: an administrator lifts the lockout from the app (or switches
    /// lockout protection off): the counts start again.
    pub(super) fn lift_lockout(&mut self, now: Instant, out: &mut Actions) {
        let was_locked = self.stored.attempts.deadline().is_some();
        self.stored.attempts.reset();
        self.stored.persist_attempts(out);
        if was_locked {
            self.log(now, out, LogEntry::LockoutLifted);
        }
        self.set_alarm(now, out, AlarmKind::SystemLocked, false);
    }
}

/// S-BF-3: the insider's guess budget. A user's own code with extra digits
/// around it, typed after SET, would test up to ten windows for an
/// administrator's code per entry, uncounted, the menu opening being the
/// answer: such an entry is a guess like any other.
fn guesses_around(role: Role, grant: &Grant, entry: Option<&Entry>) -> bool {
    let extra_digits = matches!(
        (grant.evidence, entry),
        (Evidence::Passcode(m), Some(e)) if e.len() != m.len
    );
    role != Role::Administrator && extra_digits
}
