//! What each voice prompt means and what the lock waits for after it, in
//! words a newcomer at the terminal lock can act on ([`meaning`]): "door
//! direction — ✓, then 1 right-opening or 2 left-opening".
//!
//! The text is keyed by the core's [`Prompt`] values, not by clip numbers,
//! so it does not move when the clip table does. The terminal lock sees
//! prompts by their names ([`crate::sim::decode_clips`]: `door-direction`,
//! `failure:too-weak`, `person-number:002`); [`meaning_of`] turns such a
//! name back into its prompt.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use lock_core::{
    BiometricKind, EnrollFailure, EnrollStep, PasscodeError, PersonNumber, Prompt, Refusal,
};

/// What a prompt says and what to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meaning {
    /// What the lock said, short (the voice panel's line).
    pub says: String,
    /// What the lock waits for now, or what follows.
    pub now: String,
}

impl fmt::Display for Meaning {
    /// `says — now`, or `says` alone when there is nothing to do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.now.is_empty() {
            f.write_str(&self.says)
        } else {
            write!(f, "{} — {}", self.says, self.now)
        }
    }
}

fn m(says: impl Into<String>, now: impl Into<String>) -> Meaning {
    Meaning {
        says: says.into(),
        now: now.into(),
    }
}

/// The step that presents a sample of `kind`, as the terminal takes it.
fn present(kind: BiometricKind) -> &'static str {
    match kind {
        BiometricKind::Face => "`face NAME`",
        BiometricKind::Palm => "`palm NAME`",
        BiometricKind::Finger => "`finger NAME`",
    }
}

fn sample(kind: BiometricKind) -> &'static str {
    match kind {
        BiometricKind::Face => "face",
        BiometricKind::Palm => "palm",
        BiometricKind::Finger => "finger",
    }
}

/// What `prompt` means: what the lock said, and what it waits for now.
/// Every prompt has one, failures with their reason and each enrolment
/// step included.
pub fn meaning(prompt: &Prompt) -> Meaning {
    match prompt {
        Prompt::DoorDirection => m(
            "door direction",
            "✓, then 1 right-opening or 2 left-opening",
        ),
        Prompt::CreateAdministrator => m(
            "create an administrator",
            "✓, then a 6–10 digit passcode ✓, the same again ✓",
        ),
        Prompt::EnterPasscode => m("enter a passcode", "6 to 10 digits, then ✓; ↩ cancels"),
        Prompt::EnterPasscodeAgain => m("enter it again", "the same digits, then ✓"),
        Prompt::VerifyAdministrator => m(
            "verify an administrator",
            "their passcode and ✓, or `finger NAME`",
        ),
        Prompt::Menu => m(
            "menu",
            "1 add admin, 2 add user, 3 delete, 4 settings, 5 info; ↩ leaves",
        ),
        Prompt::PersonNumber(n) => m(
            format!("new person {n}"),
            "their number; the credential choice follows",
        ),
        Prompt::ChooseCredential(modules) => {
            let mut choices = String::new();
            for (kind, choice) in [
                (BiometricKind::Face, "1 face, "),
                (BiometricKind::Palm, "2 palm, "),
                (BiometricKind::Finger, "3 fingerprint, "),
            ] {
                if modules.has(kind) {
                    choices.push_str(choice);
                }
            }
            choices.push_str("4 passcode; ↩ menu");
            m("choose a credential", choices)
        }
        Prompt::Enroll(kind, step) => enroll(*kind, *step),
        Prompt::EnterPersonNumber => m(
            "enter a person number",
            "three digits (e.g. 002), then ✓; ↩ back to the menu",
        ),
        Prompt::SettingsMenu => m(
            "settings",
            "1 volume, 2 auto-lock on/off, 3 remote unlock on/off; ↩ back",
        ),
        Prompt::SerialNumber(s) => m(format!("serial number {s}"), "the firmware version follows"),
        Prompt::FirmwareVersion(a, b, c) => m(
            format!("firmware {a}.{b}.{c}"),
            "the verification code follows",
        ),
        Prompt::VerificationCode(c) => m(
            format!("verification code {c:06}"),
            "the phone shows the same code when pairing",
        ),
        Prompt::MatterCode(c) => m(
            format!("Matter pairing code {c:011}"),
            "a Matter controller takes it while pairing mode is open",
        ),
        Prompt::Success => m("success", "done; the lock goes on"),
        Prompt::Failure(reason) => failure(reason),
        Prompt::Unlocked => m("unlocked", "the bolt draws back: `door open` to go in"),
        Prompt::Locked => m("locked", "the bolt is thrown"),
        Prompt::SystemLocked => m(
            "system locked",
            "too many wrong tries: wait out the lockout (`wait 6m`)",
        ),
        Prompt::PairingMode => m(
            "pairing mode",
            "`app pair` from a phone, then ✓ here; 3 minutes at most",
        ),
        Prompt::FactoryResetConfirm => m(
            "factory reset?",
            "✓ erases everyone and every setting; ↩ keeps them",
        ),
        Prompt::FactoryReset => m(
            "factory settings restored",
            "first start again: ✓, then the door direction",
        ),
        Prompt::LowBattery => m("battery low", "replace the batteries (`battery 100`)"),
        Prompt::Chime => m("ding-dong", "someone rang the bell; the app is told"),
        Prompt::LeavingHome => m(
            "leaving-home mode on",
            "locked; the door opened without an unlock alarms",
        ),
        Prompt::Jammed => m("bolt jammed", "`unjam`, then unlock or lock again"),
    }
}

fn enroll(kind: BiometricKind, step: EnrollStep) -> Meaning {
    let what = sample(kind);
    let then = format!("{} (any name) presents it; ↩ cancels", present(kind));
    match step {
        EnrollStep::Present => m(format!("enrol: present the {what}"), then),
        EnrollStep::Lift => m(
            format!("enrol: lift the {what}"),
            format!("then present it again: {}", present(kind)),
        ),
        EnrollStep::LookStraight => m("enrol: look straight", then),
        EnrollStep::HeadUp => m("enrol: head up", then),
        EnrollStep::HeadDown => m("enrol: head down", then),
        EnrollStep::HeadLeft => m("enrol: head left", then),
        EnrollStep::HeadRight => m("enrol: head right", then),
        EnrollStep::Closer => m(format!("enrol: {what} closer"), then),
        EnrollStep::Further => m(format!("enrol: {what} further away"), then),
    }
}

fn failure(reason: &Refusal) -> Meaning {
    let (why, now) = match reason {
        Refusal::NoMatch => (
            "not recognised",
            "try again: a passcode and ✓, or `finger NAME`",
        ),
        Refusal::OutsideValidity => ("not valid now", "this person may not open at this time"),
        Refusal::SystemLocked => ("system locked", "a lockout is on: wait it out"),
        Refusal::NotAdministrator => ("not an admin", "only an administrator may"),
        Refusal::NotPermitted => ("not permitted", "this phone's key does not allow it"),
        Refusal::RemoteUnlockDisabled => ("remote unlock off", "settings (menu 4), 3 turns it on"),
        Refusal::BatteryTooLow => ("battery too low", "replace the batteries (`battery 100`)"),
        Refusal::PeopleFull => ("people full", "all 100 numbers taken: delete one (menu 3)"),
        Refusal::CredentialStoreFull => ("store full", "no room for that kind: choose another"),
        Refusal::PersonCredentialsFull => ("has one already", "that kind is full: choose another"),
        Refusal::Passcode(e) => match e {
            PasscodeError::TooShort => ("passcode too short", "6 to 10 digits, then ✓"),
            PasscodeError::TooLong => ("passcode too long", "6 to 10 digits, then ✓"),
            PasscodeError::NotADigit => ("not a digit", "digits only, then ✓"),
            PasscodeError::TooWeak => ("passcode too weak", "no runs or repeats: try another"),
            PasscodeError::Overlaps => {
                ("overlaps a code", "it holds or is in another: try another")
            }
            PasscodeError::Mismatch => ("entries differ", "type the same digits both times"),
            PasscodeError::Full => ("no passcode slot", "the lock or person has no room"),
        },
        Refusal::Enroll(e) => match e {
            EnrollFailure::Duplicate => ("already enrolled", "someone has it: present another"),
            EnrollFailure::BadCapture => ("poor capture", "present it again, steadily"),
            EnrollFailure::Timeout => {
                ("nothing presented", "present it in time, e.g. `finger ann`")
            }
            EnrollFailure::ModuleFull => ("module full", "delete someone to make room"),
            EnrollFailure::ModuleFault => ("module fault", "the module did not answer: try again"),
        },
        Refusal::NoSuchPerson => ("no such person", "type a stored number, e.g. 002, then ✓"),
        Refusal::LastAdministrator => ("last administrator", "the last one cannot be deleted"),
        Refusal::OnlyPerson => ("only person", "the only person cannot be deleted"),
        Refusal::OutOfRange => ("out of range", "that is not one of the choices"),
        Refusal::DoorOpen => ("door open", "close it first (`door close`)"),
        Refusal::CauseActive => ("cause still there", "the alarm lasts while its cause does"),
        Refusal::ClockBackwards => ("clock backwards", "the clock may not go back that far"),
        Refusal::StorageFault => ("storage fault", "fails secure until a factory reset"),
        Refusal::NotSetUp => (
            "not set up",
            "finish first start: door direction, administrator",
        ),
    };
    m(format!("failed: {why}"), now)
}

/// Every prompt that carries no value, each failure and each enrolment
/// step: what [`meaning_of`] looks names up in.
pub fn catalogue() -> Vec<Prompt> {
    let mut all = Vec::from(crate::sim::SIMPLE_PROMPTS);
    all.extend(crate::sim::REFUSALS.map(Prompt::Failure));
    let steps = [
        EnrollStep::Present,
        EnrollStep::Lift,
        EnrollStep::LookStraight,
        EnrollStep::HeadUp,
        EnrollStep::HeadDown,
        EnrollStep::HeadLeft,
        EnrollStep::HeadRight,
        EnrollStep::Closer,
        EnrollStep::Further,
    ];
    for kind in BiometricKind::ALL {
        all.extend(steps.map(|s| Prompt::Enroll(kind, s)));
    }
    all
}

/// A prompt's name as scenarios and the terminal lock write it (crate
/// README, Names): `door-direction`, `failure:too-weak`,
/// `enroll:finger-present`, `person-number:002`.
pub fn prompt_name(prompt: &Prompt) -> String {
    match prompt {
        Prompt::Failure(r) => format!("failure:{}", crate::sim::refusal_name(r)),
        Prompt::Enroll(kind, step) => format!(
            "enroll:{}-{}",
            crate::sim::kebab(&format!("{kind:?}")),
            crate::sim::kebab(&format!("{step:?}"))
        ),
        Prompt::PersonNumber(n) => format!("person-number:{n}"),
        Prompt::SerialNumber(s) => format!("serial-number:{s}"),
        Prompt::FirmwareVersion(a, b, c) => format!("firmware-version:{a}.{b}.{c}"),
        Prompt::VerificationCode(c) => format!("verification-code:{c:06}"),
        Prompt::MatterCode(c) => format!("matter-code:{c:011}"),
        other => {
            // The variant's name, without any fields it may come to carry.
            let debug = format!("{other:?}");
            let variant = debug
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default();
            crate::sim::kebab(variant)
        }
    }
}

/// The prompt a name stands for, values parsed (`person-number:002`).
pub fn prompt_named(name: &str) -> Option<Prompt> {
    let (head, value) = name.split_once(':').unwrap_or((name, ""));
    match head {
        "person-number" => value
            .parse()
            .ok()
            .and_then(PersonNumber::new)
            .map(Prompt::PersonNumber),
        "serial-number" => value.parse().ok().map(Prompt::SerialNumber),
        "verification-code" => value.parse().ok().map(Prompt::VerificationCode),
        "matter-code" => value.parse().ok().map(Prompt::MatterCode),
        "firmware-version" => {
            let mut parts = value.split('.').map(|p| p.parse::<u8>().ok());
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => {
                    Some(Prompt::FirmwareVersion(a, b, c))
                }
                _ => None,
            }
        }
        _ => catalogue().into_iter().find(|p| prompt_name(p) == name),
    }
}

/// What the prompt called `name` means ([`meaning`]); a name no prompt
/// has (a clip the table gained since, a number cut short before its
/// digits) is shown in words as it is.
pub fn meaning_of(name: &str) -> Meaning {
    if name == "failure:" {
        // The failure sound, its reason cut off by what came next.
        return m("failed", "the event log says why");
    }
    prompt_named(name).map_or_else(
        // A number cut short has no value to say: its name in words.
        || m(name.trim_end_matches(':').replace('-', " "), String::new()),
        |p| meaning(&p),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::sim::decode_clips;

    /// Every prompt's name, as the runner decodes its clips, finds its
    /// meaning: the names here and the runner's agree.
    #[test]
    fn every_prompt_is_named_as_the_runner_names_it() {
        let mut valued = catalogue();
        valued.extend([
            Prompt::PersonNumber(PersonNumber::new(2).unwrap()),
            Prompt::SerialNumber(2026_0001),
            Prompt::FirmwareVersion(0, 1, 0),
            Prompt::VerificationCode(482_071),
            Prompt::VerificationCode(9_516),
            Prompt::MatterCode(34_970_112_332),
            Prompt::MatterCode(749_701_123),
        ]);
        for p in valued {
            let clips = crate::world::prompt_clips(&p);
            let names = decode_clips(clips.as_slice());
            assert_eq!(names, [prompt_name(&p)], "{p:?}");
            assert_eq!(prompt_named(&names[0]), Some(p), "{p:?}");
            assert_eq!(meaning_of(&names[0]), meaning(&p));
        }
    }

    /// The meaning fits the terminal's line (80 columns, less a marker),
    /// its first part the voice panel's, and each says what to do.
    #[test]
    fn every_meaning_fits_a_line_and_says_what_now() {
        let too_long: Vec<String> = catalogue()
            .iter()
            .map(meaning)
            .filter(|m| m.to_string().chars().count() > 76 || m.says.chars().count() > 26)
            .map(|m| m.to_string())
            .collect();
        assert!(too_long.is_empty(), "{too_long:#?}");
        assert!(catalogue().iter().all(|p| !meaning(p).now.is_empty()));
    }

    #[test]
    fn the_door_direction_says_what_to_press() {
        assert_eq!(
            meaning_of("door-direction").to_string(),
            "door direction — ✓, then 1 right-opening or 2 left-opening"
        );
        assert_eq!(
            meaning_of("failure:too-weak").says,
            "failed: passcode too weak"
        );
        assert_eq!(meaning_of("person-number:002").says, "new person 002");
        assert_eq!(meaning_of("clip-99").to_string(), "clip 99");
        assert_eq!(meaning_of("person-number:").to_string(), "person number");
        assert_eq!(meaning_of("failure:").says, "failed");
    }
}
