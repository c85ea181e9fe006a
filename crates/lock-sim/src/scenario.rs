//! Scenario files (SPEC.md §8): one step a line, `#` starts a comment.
//!
//! [`parse`] turns a file into [`Step`]s, each with its line number; an unknown
//! or malformed step is a [`ParseError`] naming its line. Steps beyond §8 are
//! marked *extra* below and documented in the crate README.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use core::fmt;

use lock_core::{
    AlarmKind, AppCommand, Duration, Key, Name, Passcode, PersonNumber, Privilege, RadioListening,
    Role, Setting, Timestamp, Validity, WeeklySchedule,
};

/// The phone an `app` step uses when it names none.
pub const OWNER: &str = "owner";

/// What an *extra* `app` step has a phone do. Every one goes through the
/// real app protocol (`lock-proto`): the phone seals frames, the lock's
/// radio receives them, its replies come back sealed.
#[derive(Debug, Clone)]
pub enum AppAction {
    /// `app [as PHONE] pair`: the phone pairs (X25519) while the lock is in
    /// pairing mode (R-MNU-7, S-PR-1); the step fails unless the code the
    /// lock speaks is the code the phone shows.
    Pair,
    /// `app [as PHONE] [remote] COMMAND …`: a challenge, then the command
    /// answering it (R-APP-1…3, S-PR-3). `remote` sends it from afar.
    Command {
        /// From afar (Wi-Fi / internet) rather than at the door.
        remote: bool,
        /// The command.
        command: AppCommand,
    },
    /// `app [as PHONE] issue-key NAME user|visitor FROM UNTIL`: an
    /// administrator issues a Bluetooth key; the phone NAME gets it (R-APP-5).
    IssueKey {
        /// The phone that receives the key.
        to: String,
        /// `User` or `Visitor`.
        privilege: Privilege,
        /// When it works.
        validity: Validity,
    },
    /// `app [as PHONE] revoke NAME`: the pairing or key of the phone NAME is
    /// revoked (R-APP-5).
    Revoke {
        /// Whose.
        whose: String,
    },
    /// `app [as PHONE] visitor-code PROFILE START_HOUR SEQUENCE`: the phone
    /// computes an offline visitor code (R-APP-4) and the visitor types it
    /// at the keypad: a touch, the ten digits, ✓.
    VisitorCode {
        /// The profile digit (`lock_proto::visitor::PROFILES`).
        profile: u8,
        /// The first window's start, in hours since 1970.
        start_hour: u32,
        /// The sequence number.
        sequence: u8,
    },
    /// `app [as PHONE] replay`: the last frame the phone sent, sent again
    /// (R-APP-7).
    Replay,
    /// `app [as PHONE] list-people`: every page of the people list
    /// (R-APP-3); the reply is `people:N`, N people in all.
    ListPeople,
    /// `app [as PHONE] read-log`: every page of the event log (R-APP-6);
    /// the reply is `log:N`, N records in all.
    ReadLog,
    /// `app [as PHONE] forge COMMAND …`: the command's frame with one bit
    /// of its sealed body flipped (S-PR-2).
    Forge(AppCommand),
    /// `app [as PHONE] connect`: the phone opens a new radio link; the lock
    /// hears of it before the frames after it, and ends it unless it
    /// authenticates in time (S-PR-7). Until an `app connect`, frames come
    /// over no link the lock could end.
    Connect,
    /// `app [as PHONE] update IMAGE [until N%]`: the phone sends a firmware
    /// image (S-UP-4): its signed manifest, then chunks, each answer
    /// carrying the next step's challenge, then `Finish`; with `until N%`
    /// it stops once N % of the image is sent, as a dropped link would. The
    /// reply is the lock's last answer (`update:ready`,
    /// `update:receiving:BYTES`, `update:refused:REASON`, or the protocol's
    /// own refusal). IMAGE is one the simulator makes and signs with its
    /// TEST maker key (`firmware::image`): `v2`, `v0`, `broken`, `forged`,
    /// `unsigned`, `foreign`, `corrupt`.
    Update {
        /// The image's name.
        image: String,
        /// Stop after this percentage of the image.
        until: Option<u8>,
    },
    /// `app [as PHONE] stall`: the phone on the link stops taking the
    /// lock's notifications; two frames wait for it, the lock drops any more
    /// (S-PR-7). The next `app connect` ends the stall.
    Stall,
}

/// An *extra* `app` step: which phone does what.
#[derive(Debug, Clone)]
pub struct AppStep {
    /// The phone's name in the scenario ([`OWNER`] unless `as NAME`).
    pub phone: String,
    /// What it does.
    pub action: AppAction,
}

/// A biometric reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reader {
    /// The 3D face module.
    Face,
    /// The palm-vein module.
    Palm,
    /// The fingerprint module.
    Finger,
}

/// What an `expect` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// `expect bolt locked|unlocked`.
    Bolt {
        /// `true` for locked.
        locked: bool,
    },
    /// `expect alarm NAME`: an alarm with this scenario name is active.
    Alarm(String),
    /// `expect no-alarm`.
    NoAlarm,
    /// `expect users N`.
    Users(usize),
    /// `expect event KIND`: among the log entries written by the most recent
    /// step that wrote any, one is of this kind.
    Event(String),
    /// *extra* `expect prompt NAME`: the most recent step that played any
    /// prompt played this one (names as the simulator prints them).
    Prompt(String),
    /// *extra* `expect keypad lit|dark`.
    Keypad {
        /// `true` for lit.
        lit: bool,
    },
    /// *extra* `expect door open|closed`.
    Door {
        /// `true` for open.
        open: bool,
    },
    /// *extra* `expect reply done` / `expect reply refused:REASON` /
    /// `expect reply none`: the lock's answer to the most recent `app` step.
    Reply(String),
    /// *extra* `expect pairings N`: the lock holds N pairings and keys.
    Pairings(usize),
    /// *extra* `expect link up|dropped`: the link of the last `app
    /// connect` is still up, or the lock ended it (S-PR-7).
    Link {
        /// `true` for up.
        up: bool,
    },
    /// *extra* `expect firmware vN`: the image the lock runs has security
    /// counter N (S-UP-1…3).
    Firmware(u32),
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// `touch`.
    Touch,
    /// `keys 1 2 3 ok`, `keys 123456 ok`.
    Keys(Vec<Key>),
    /// `hold 0`.
    Hold(Key),
    /// `set`.
    Set,
    /// `set-hold`.
    SetHold,
    /// `lock-button`.
    LockButton,
    /// `face NAME`, `palm NAME`, `finger NAME`.
    Present(Reader, String),
    /// `key`: the mechanical key turned.
    MechanicalKey,
    /// `door open` / `door close`.
    Door {
        /// `true` for open.
        open: bool,
    },
    /// `tamper`.
    Tamper,
    /// `battery N`.
    Battery(u8),
    /// `power-cycle`, `power-cycle holding-set`.
    PowerCycle {
        /// SET held while power returns (R-MNU-9).
        holding_set: bool,
    },
    /// `wait D`.
    Wait(Duration),
    /// *extra* `jam` / `unjam`: the bolt sticks (or moves again).
    Jam(bool),
    /// *extra* `usb on` / `usb off`: USB-C power at the front.
    Usb(bool),
    /// *extra* `app [as PHONE] …`: a phone talks to the lock through the
    /// app protocol ([`AppAction`]).
    App(AppStep),
    /// `expect …`.
    Expect(Expectation),
}

/// A step with the line it came from (1-based).
#[derive(Debug, Clone)]
pub struct Line {
    /// Line number, from 1.
    pub number: usize,
    /// The step.
    pub step: Step,
    /// The line as written, without its comment.
    pub text: String,
}

/// An unknown or malformed step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl core::error::Error for ParseError {}

/// Parses a whole scenario file. Total: any text is steps or an error
/// naming its line, never a panic (S-HW-3, fuzz target `scenario_parse`).
pub fn parse(text: &str) -> Result<Vec<Line>, ParseError> {
    let mut steps = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index.saturating_add(1);
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let step = parse_step(content).map_err(|message| ParseError {
            line: number,
            message,
        })?;
        steps.push(Line {
            number,
            step,
            text: content.to_string(),
        });
    }
    Ok(steps)
}

/// Parses one step (no comment, trimmed).
pub fn parse_step(line: &str) -> Result<Step, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (&verb, args) = words
        .split_first()
        .ok_or_else(|| "empty step".to_string())?;
    let no_args = |step: Step| {
        if args.is_empty() {
            Ok(step)
        } else {
            Err(format!("`{verb}` takes no argument"))
        }
    };
    let one_arg = || match args {
        [a] => Ok(*a),
        _ => Err(format!("`{verb}` takes one argument")),
    };
    match verb {
        "touch" => no_args(Step::Touch),
        "keys" => {
            if args.is_empty() {
                return Err("`keys` needs at least one key".into());
            }
            let mut keys = Vec::new();
            for word in args {
                keys.extend(parse_keys(word)?);
            }
            Ok(Step::Keys(keys))
        }
        "hold" => match parse_keys(one_arg()?)?.as_slice() {
            [key] => Ok(Step::Hold(*key)),
            _ => Err("`hold` takes one key".into()),
        },
        "set" => no_args(Step::Set),
        "set-hold" => no_args(Step::SetHold),
        "lock-button" => no_args(Step::LockButton),
        "face" | "palm" | "finger" => {
            let reader = match verb {
                "face" => Reader::Face,
                "palm" => Reader::Palm,
                _ => Reader::Finger,
            };
            Ok(Step::Present(reader, one_arg()?.to_string()))
        }
        "key" => no_args(Step::MechanicalKey),
        "door" => match one_arg()? {
            "open" => Ok(Step::Door { open: true }),
            "close" | "closed" => Ok(Step::Door { open: false }),
            other => Err(format!("`door` takes open or close, not `{other}`")),
        },
        "tamper" => no_args(Step::Tamper),
        "battery" => {
            let n: u8 = one_arg()?
                .trim_end_matches('%')
                .parse()
                .map_err(|_| "`battery` takes a percentage 0 to 100".to_string())?;
            if n > 100 {
                return Err("`battery` takes a percentage 0 to 100".into());
            }
            Ok(Step::Battery(n))
        }
        "power-cycle" => match args {
            [] => Ok(Step::PowerCycle { holding_set: false }),
            ["holding-set"] => Ok(Step::PowerCycle { holding_set: true }),
            _ => Err("`power-cycle` takes nothing or `holding-set`".into()),
        },
        "wait" => Ok(Step::Wait(parse_duration(one_arg()?)?)),
        "jam" => no_args(Step::Jam(true)),
        "unjam" => no_args(Step::Jam(false)),
        "usb" => match one_arg()? {
            "on" => Ok(Step::Usb(true)),
            "off" => Ok(Step::Usb(false)),
            other => Err(format!("`usb` takes on or off, not `{other}`")),
        },
        "expect" => parse_expect(args).map(Step::Expect),
        "app" => parse_app(args).map(Step::App),
        other => Err(format!("unknown step `{other}`")),
    }
}

fn parse_expect(args: &[&str]) -> Result<Expectation, String> {
    match args {
        ["bolt", "locked"] => Ok(Expectation::Bolt { locked: true }),
        ["bolt", "unlocked"] => Ok(Expectation::Bolt { locked: false }),
        ["alarm", name] => Ok(Expectation::Alarm((*name).to_string())),
        ["no-alarm"] => Ok(Expectation::NoAlarm),
        ["users", n] => n
            .parse()
            .map(Expectation::Users)
            .map_err(|_| format!("`expect users` takes a number, not `{n}`")),
        ["event", kind] => Ok(Expectation::Event((*kind).to_string())),
        ["prompt", name] => Ok(Expectation::Prompt((*name).to_string())),
        ["keypad", "lit"] => Ok(Expectation::Keypad { lit: true }),
        ["keypad", "dark"] => Ok(Expectation::Keypad { lit: false }),
        ["door", "open"] => Ok(Expectation::Door { open: true }),
        ["door", "closed"] => Ok(Expectation::Door { open: false }),
        ["reply", what] => Ok(Expectation::Reply((*what).to_string())),
        ["pairings", n] => n
            .parse()
            .map(Expectation::Pairings)
            .map_err(|_| format!("`expect pairings` takes a number, not `{n}`")),
        ["link", "up"] => Ok(Expectation::Link { up: true }),
        ["link", "dropped"] => Ok(Expectation::Link { up: false }),
        ["firmware", version] => version
            .strip_prefix('v')
            .and_then(|n| n.parse().ok())
            .map(Expectation::Firmware)
            .ok_or_else(|| format!("`expect firmware` takes vN, not `{version}`")),
        _ => Err(format!("unknown expectation `expect {}`", args.join(" "))),
    }
}

fn parse_app(mut args: &[&str]) -> Result<AppStep, String> {
    let mut phone = OWNER.to_string();
    if let ["as", name, rest @ ..] = args {
        phone = (*name).to_string();
        args = rest;
    }
    let action = match args {
        ["pair"] => AppAction::Pair,
        ["replay"] => AppAction::Replay,
        ["connect"] => AppAction::Connect,
        ["stall"] => AppAction::Stall,
        ["update", image] => AppAction::Update {
            image: (*image).to_string(),
            until: None,
        },
        ["update", image, "until", percent] => AppAction::Update {
            image: (*image).to_string(),
            until: Some(
                percent
                    .strip_suffix('%')
                    .and_then(|p| p.parse::<u8>().ok())
                    .filter(|p| *p <= 100)
                    .ok_or_else(|| format!("`until` takes a percentage, not `{percent}`"))?,
            ),
        },
        ["list-people"] => AppAction::ListPeople,
        ["read-log"] => AppAction::ReadLog,
        ["forge", command @ ..] => AppAction::Forge(parse_command(command)?),
        ["revoke", whose] => AppAction::Revoke {
            whose: (*whose).to_string(),
        },
        ["issue-key", to, privilege, from, until] => AppAction::IssueKey {
            to: (*to).to_string(),
            privilege: match *privilege {
                "user" => Privilege::User,
                "visitor" => Privilege::Visitor,
                other => return Err(format!("a key is for a user or a visitor, not `{other}`")),
            },
            validity: Validity {
                from: parse_bound(from)?,
                until: parse_bound(until)?,
            },
        },
        ["visitor-code", profile, start, sequence] => AppAction::VisitorCode {
            profile: small_number(profile, "profile")?,
            start_hour: start
                .parse()
                .map_err(|_| format!("`{start}` is not a start hour"))?,
            sequence: small_number(sequence, "sequence number")?,
        },
        ["remote", command @ ..] => AppAction::Command {
            remote: true,
            command: parse_command(command)?,
        },
        command => AppAction::Command {
            remote: false,
            command: parse_command(command)?,
        },
    };
    Ok(AppStep { phone, action })
}

fn small_number(text: &str, what: &str) -> Result<u8, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a {what}"))
}

fn parse_command(args: &[&str]) -> Result<AppCommand, String> {
    let on_off = |w: &str| match w {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("expected on or off, not `{other}`")),
    };
    Ok(match args {
        ["status"] => AppCommand::Status,
        ["unlock"] => AppCommand::Unlock,
        ["lock"] => AppCommand::Lock,
        ["lift-lockout"] => AppCommand::LiftLockout,
        ["camera"] => AppCommand::LiveVideo,
        ["clock", secs] => AppCommand::SetClock(Timestamp(parse_number(secs)?)),
        ["delete", n] => AppCommand::DeletePerson(parse_person(n)?),
        ["duress", n, code] => AppCommand::SetDuressPasscode {
            person: parse_person(n)?,
            code: Passcode::parse(code).map_err(|e| format!("bad passcode `{code}`: {e:?}"))?,
        },
        ["validity", n, from, until] => AppCommand::SetValidity {
            person: parse_person(n)?,
            validity: Validity {
                from: parse_bound(from)?,
                until: parse_bound(until)?,
            },
        },
        ["add", role, code] => AppCommand::AddPerson {
            number: None,
            role: match *role {
                "user" => Role::User,
                "admin" | "administrator" => Role::Administrator,
                other => return Err(format!("`app add` takes user or admin, not `{other}`")),
            },
            passcode: Passcode::parse(code).map_err(|e| format!("bad passcode `{code}`: {e:?}"))?,
            validity: Validity::ALWAYS,
        },
        ["name", n, words @ ..] if !words.is_empty() => AppCommand::NamePerson {
            person: parse_person(n)?,
            name: Name::new(&words.join(" "))
                .map_err(|e| format!("bad name `{}`: {e:?}", words.join(" ")))?,
        },
        ["schedule", n, "none"] => AppCommand::SetSchedule {
            person: parse_person(n)?,
            schedule: None,
        },
        ["schedule", n, days, from, until, rest @ ..] => AppCommand::SetSchedule {
            person: parse_person(n)?,
            schedule: Some(WeeklySchedule {
                days: parse_days(days)?,
                from_minute: parse_clock(from)?,
                until_minute: parse_clock(until)?,
                utc_offset_minutes: match rest {
                    [] => 0,
                    [offset] => offset
                        .parse()
                        .map_err(|_| format!("`{offset}` is not an offset in minutes"))?,
                    _ => {
                        return Err("`app schedule` takes at most an offset after the hours".into());
                    }
                },
            }),
        },
        ["ack", alarm] => AppCommand::Acknowledge(
            AlarmKind::ALL
                .into_iter()
                .find(|k| k.name() == *alarm)
                .ok_or_else(|| format!("unknown alarm `{alarm}`"))?,
        ),
        ["setting", "remote-unlock", v] => AppCommand::Configure(Setting::RemoteUnlock(on_off(v)?)),
        ["setting", "auto-lock", v] => AppCommand::Configure(Setting::AutoLock(on_off(v)?)),
        ["setting", "auto-lock-secs", v] => AppCommand::Configure(Setting::AutoLockSecs(
            v.parse()
                .map_err(|_| format!("`{v}` is not a number of seconds"))?,
        )),
        ["setting", "lockout-protection", v] => {
            AppCommand::Configure(Setting::LockoutProtection(on_off(v)?))
        }
        ["setting", "low-battery", v] => AppCommand::Configure(Setting::LowBatteryPercent(
            v.parse()
                .map_err(|_| format!("`{v}` is not a percentage"))?,
        )),
        ["setting", "radio", v] => AppCommand::Configure(Setting::Radio(
            [RadioListening::Always, RadioListening::WhileAwake]
                .into_iter()
                .find(|r| r.name() == *v)
                .ok_or_else(|| format!("`{v}` is not `always` or `while-awake`"))?,
        )),
        _ => return Err(format!("unknown app command `{}`", args.join(" "))),
    })
}

/// `mon,tue,fri` or `mon-fri` (or `all`): a weekly schedule's days.
fn parse_days(text: &str) -> Result<u8, String> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let day = |name: &str| {
        NAMES
            .iter()
            .position(|d| *d == name)
            .ok_or_else(|| format!("`{name}` is not a day (mon … sun)"))
    };
    if text == "all" {
        return Ok(0x7f);
    }
    let mut days = 0u8;
    for part in text.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(part)?, day(part)?),
        };
        if last < first {
            return Err(format!("`{part}` runs backwards"));
        }
        for d in first..=last {
            days |= 1 << d;
        }
    }
    Ok(days)
}

/// `09:30` (or `24:00` for the end of the day): minutes since midnight.
fn parse_clock(text: &str) -> Result<u16, String> {
    let bad = || format!("`{text}` is not a time of day (09:30)");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    // Checked: a file may say `3666:22` (S-HW-3, the parser is total).
    h.checked_mul(60)
        .and_then(|minutes| minutes.checked_add(m))
        .filter(|&minutes| m < 60 && minutes <= 24 * 60)
        .ok_or_else(bad)
}

fn parse_number(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

/// `002`, `2`: a person number.
fn parse_person(text: &str) -> Result<PersonNumber, String> {
    text.parse::<u8>()
        .ok()
        .and_then(PersonNumber::new)
        .ok_or_else(|| format!("`{text}` is not a person number (001 to 100)"))
}

/// A validity bound in Unix seconds, or `-` for none.
fn parse_bound(text: &str) -> Result<Option<Timestamp>, String> {
    if text == "-" {
        Ok(None)
    } else {
        parse_number(text).map(|s| Some(Timestamp(s)))
    }
}

/// One word of a `keys` step: a key name, or a run of digits.
fn parse_keys(word: &str) -> Result<Vec<Key>, String> {
    let named = match word {
        "back" => Some(Key::Back),
        "ok" => Some(Key::Ok),
        "home" => Some(Key::Home),
        "bell" => Some(Key::Bell),
        _ => None,
    };
    if let Some(key) = named {
        return Ok(vec![key]);
    }
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(word.bytes().map(|b| Key::Digit(b - b'0')).collect());
    }
    Err(format!(
        "unknown key `{word}` (keys are 0-9, back, ok, home, bell)"
    ))
}

/// `500ms`, `20s`, `5m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (500ms, 20s, 5m, 1h)");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" | "min" => Ok(Duration::from_mins(n)),
        "h" => Ok(Duration::from_hours(n)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
// Test generators cut random numbers down to indices.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn every_step_of_spec_section_8_parses() {
        let text = "\
# a comment
touch
keys 1 2 3 4 5 6 ok
keys 123456 ok   # trailing comment
keys back home bell
hold 0
set
set-hold
lock-button
face alice
palm bob
finger carol
key
door open
door close
tamper
battery 9
power-cycle
power-cycle holding-set
wait 500ms
wait 20s
wait 5m
wait 1h
expect bolt locked
expect bolt unlocked
expect alarm system-locked
expect no-alarm
expect users 2
expect event unlock
";
        let steps = parse(text).unwrap();
        assert_eq!(steps.len(), 28);
        assert_eq!(steps[0].number, 2);
        let six = [1, 2, 3, 4, 5, 6].map(Key::Digit);
        let Step::Keys(keys) = &steps[2].step else {
            panic!("{:?}", steps[2])
        };
        assert_eq!(keys[..6], six);
        assert_eq!(keys[6], Key::Ok);
        let Step::Keys(apart) = &steps[1].step else {
            panic!()
        };
        assert_eq!(apart, keys, "digits together or apart");
        assert!(matches!(steps[4].step, Step::Hold(Key::Digit(0))));
        assert!(matches!(steps[18].step, Step::Wait(d) if d == Duration::from_millis(500)));
        assert!(matches!(steps[21].step, Step::Wait(d) if d == Duration::from_hours(1)));
        assert!(matches!(&steps[27].step, Step::Expect(Expectation::Event(k)) if k == "unlock"));
    }

    /// Found by the `scenario_parse` fuzz target: `app schedule 4 thu
    /// 3666:22 3:22` multiplied the hours past `u16` (a panic in a debug
    /// build, a wrong time of day in a release one).
    #[test]
    fn s_hw_3_a_time_of_day_with_hours_past_u16_minutes_is_refused_not_overflowed() {
        let err = parse("app schedule 4 thu 3666:22 3:22\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(parse("app schedule 4 thu 24:01 3:22\n").is_err());
        assert!(parse("app schedule 4 thu 24:00 3:22\n").is_ok());
        assert_eq!(parse_clock("24:00"), Ok(24 * 60));
        assert_eq!(parse_clock("09:30"), Ok(570));
        assert!(parse_clock("1092:00").is_err());
    }

    #[test]
    fn unknown_and_malformed_steps_name_their_line() {
        for (text, line, needle) in [
            ("touch\nfly away\n", 2, "unknown step `fly`"),
            ("keys 12x ok", 1, "unknown key `12x`"),
            ("\n\nwait 5 minutes", 3, "takes one argument"),
            ("wait 5y", 1, "not a duration"),
            ("battery 101", 1, "0 to 100"),
            ("expect bolt ajar", 1, "unknown expectation"),
            ("door slam", 1, "open or close"),
            ("touch now", 1, "no argument"),
            ("keys", 1, "at least one key"),
            ("expect users many", 1, "a number"),
            ("app fly", 1, "unknown app command"),
            ("app issue-key guest king - -", 1, "a user or a visitor"),
            ("app visitor-code x 1 1", 1, "not a profile"),
            ("app delete 000", 1, "not a person number"),
            ("app duress 001 123", 1, "bad passcode"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}");
            assert!(err.message.contains(needle), "{text:?}: {}", err.message);
        }
    }

    #[test]
    fn app_people_commands_parse() {
        let steps = parse(
            "app add user 290571\napp name 002 Ada L\napp schedule 002 mon-wed,sat 22:00 06:00 -60\n\
             app schedule 002 none\napp list-people\napp read-log\n",
        )
        .unwrap();
        let command = |i: usize| match &steps[i].step {
            Step::App(AppStep {
                action: AppAction::Command { command, .. },
                ..
            }) => *command,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            command(0),
            AppCommand::AddPerson {
                number: None,
                role: Role::User,
                ..
            }
        ));
        assert!(
            matches!(command(1), AppCommand::NamePerson { name, .. } if name.as_str() == "Ada L")
        );
        assert!(matches!(
            command(2),
            AppCommand::SetSchedule {
                schedule: Some(WeeklySchedule {
                    days: 0b010_0111,
                    from_minute: 1320,
                    until_minute: 360,
                    utc_offset_minutes: -60
                }),
                ..
            }
        ));
        assert!(matches!(
            command(3),
            AppCommand::SetSchedule { schedule: None, .. }
        ));
        assert!(matches!(
            &steps[4].step,
            Step::App(AppStep {
                action: AppAction::ListPeople,
                ..
            })
        ));
        assert!(matches!(
            &steps[5].step,
            Step::App(AppStep {
                action: AppAction::ReadLog,
                ..
            })
        ));
        for (text, why) in [
            ("app schedule 002 mon-xyz 09:00 17:00", "not a day"),
            ("app schedule 002 fri-mon 09:00 17:00", "backwards"),
            ("app schedule 002 mon 9h 17:00", "time of day"),
            ("app schedule 002 mon 09:00 24:01", "time of day"),
            ("app name 002 seventeen-bytes-xx", "bad name"),
            ("app add king 290571", "user or admin"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains(why), "{text}: {}", e.message);
        }
    }

    #[test]
    fn app_steps_name_a_phone_and_what_it_does() {
        let steps = parse(
            "app pair\napp as guest unlock\napp remote unlock\n\
             app validity 002 - 1799990000\napp issue-key guest visitor 1800000000 1800086400\n\
             app revoke guest\napp visitor-code 1 500000 3\napp as guest replay\n\
             app forge unlock\nexpect reply refused:not-permitted\nexpect pairings 2\n",
        )
        .unwrap();
        let app = |i: usize| match &steps[i].step {
            Step::App(a) => a.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(app(0).phone, OWNER);
        assert!(matches!(app(0).action, AppAction::Pair));
        assert_eq!(app(1).phone, "guest");
        assert!(matches!(
            app(1).action,
            AppAction::Command {
                remote: false,
                command: AppCommand::Unlock
            }
        ));
        assert!(matches!(
            app(2).action,
            AppAction::Command {
                remote: true,
                command: AppCommand::Unlock
            }
        ));
        assert!(matches!(
            app(3).action,
            AppAction::Command {
                command: AppCommand::SetValidity {
                    validity: Validity {
                        from: None,
                        until: Some(Timestamp(1_799_990_000))
                    },
                    ..
                },
                ..
            }
        ));
        assert!(matches!(
            app(4).action,
            AppAction::IssueKey { ref to, privilege: Privilege::Visitor, validity }
                if to == "guest" && validity.until == Some(Timestamp(1_800_086_400))
        ));
        assert!(matches!(app(5).action, AppAction::Revoke { ref whose } if whose == "guest"));
        assert!(matches!(
            app(6).action,
            AppAction::VisitorCode {
                profile: 1,
                start_hour: 500_000,
                sequence: 3
            }
        ));
        assert_eq!(app(7).phone, "guest");
        assert!(matches!(app(7).action, AppAction::Replay));
        assert!(matches!(
            app(8).action,
            AppAction::Forge(AppCommand::Unlock)
        ));
        assert!(matches!(
            &steps[9].step,
            Step::Expect(Expectation::Reply(r)) if r == "refused:not-permitted"
        ));
        assert!(matches!(
            &steps[10].step,
            Step::Expect(Expectation::Pairings(2))
        ));
    }

    #[test]
    fn parsing_arbitrary_text_never_panics() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet: Vec<char> = "keysto uchwai5m0123456789 #\nexpctbolarmhd-"
            .chars()
            .collect();
        for _ in 0..5_000 {
            let mut s = String::new();
            for _ in 0..40 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let _ = parse(&s);
        }
    }
}
