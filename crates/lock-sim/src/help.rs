//! The terminal lock's help (`?` or `help`): every step it takes as a
//! command (SPEC.md §8 and the crate README's extra steps), grouped by where
//! a person would do it, each with an example that runs as written.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A group of the help: a heading and its entries.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// The heading.
    pub title: &'static str,
    /// Example and what it does, one line each.
    pub entries: &'static [(&'static str, &'static str)],
    /// The examples are steps (the terminal's own keys are not).
    pub steps: bool,
}

/// The help's groups, in the order shown.
pub const GROUPS: &[Group] = &[
    Group {
        title: "this terminal",
        steps: false,
        entries: &[
            ("the » line", "what the lock waits for now: do as it says"),
            (
                "0-9 Enter Backspace",
                "on an empty line: press 0–9, ✓, ↩ at the lock",
            ),
            ("a letter first", "types a step; Enter runs it"),
            ("? or help", "this help; Esc closes it, PgDn/Space pages"),
            ("PgUp / PgDn", "page the event log back and forth"),
            ("Esc on a typed line", "clears the line"),
            (
                "Esc, Ctrl-C, quit",
                "leave (the lock keeps its state in its file)",
            ),
        ],
    },
    Group {
        title: "keypad (front)",
        steps: true,
        entries: &[
            ("touch", "touch the keypad: it wakes and lights"),
            ("keys 482915 ok", "press keys: 0-9 back ok home bell"),
            ("482915 ok", "the same: a bare run of keys"),
            ("ok 1", "✓ then 1 (first start: right-opening door)"),
            ("home", "leaving-home key: lock and arm the mode"),
            ("bell", "the doorbell"),
            ("hold 0", "hold a key until it acts (0: one-time mute)"),
        ],
    },
    Group {
        title: "rear panel (inside)",
        steps: true,
        entries: &[
            ("set", "SET: an administrator verifies, the menu opens"),
            ("set-hold", "hold SET: pairing mode for a phone"),
            ("lock-button", "the inside locking button"),
            ("key", "turn the mechanical key"),
        ],
    },
    Group {
        title: "biometrics",
        steps: true,
        entries: &[
            (
                "finger alice",
                "present a finger: opens, or enrols at the prompt",
            ),
            ("face bob", "show a face (a stranger's search takes 10 s)"),
            ("palm carol", "present a palm"),
        ],
    },
    Group {
        title: "world",
        steps: true,
        entries: &[
            ("door open", "open the door (`door close` shuts it)"),
            ("tamper", "force the front panel off"),
            ("battery 9", "the battery at 9 %"),
            ("usb on", "USB-C power at the front (`usb off`)"),
            ("jam", "the bolt sticks (`unjam` frees it)"),
            ("power-cycle", "power lost and back; state from flash"),
            (
                "power-cycle holding-set",
                "power back with SET held: factory reset",
            ),
        ],
    },
    Group {
        title: "app (a phone)",
        steps: true,
        entries: &[
            (
                "app pair",
                "pair `owner` in pairing mode; then ✓ at the lock",
            ),
            ("app status", "ask the lock's status"),
            ("app unlock", "unlock from the phone (`app lock` locks)"),
            ("app remote unlock", "unlock from afar (remote unlock on)"),
            ("app add user 135790", "add a user with a passcode"),
            ("app delete 002", "delete person 002"),
            (
                "app setting auto-lock on",
                "a setting (see the crate README)",
            ),
            ("app ack tamper", "acknowledge an alarm"),
            (
                "app issue-key bob user - -",
                "issue a key; then `app as bob unlock`",
            ),
            (
                "app visitor-code 1 493000 0",
                "a visitor types an offline code",
            ),
            (
                "app connect",
                "open a new radio link (`app stall` stalls it)",
            ),
            ("app list-people", "the people (`app read-log`: the log)"),
            (
                "app update v2",
                "send a signed image; it runs after `power-cycle`",
            ),
        ],
    },
    Group {
        title: "time",
        steps: true,
        entries: &[
            ("wait 30s", "let time pass: 500ms, 20s, 5m, 1h"),
            ("wait 6m", "e.g. a lockout's end, or the keypad going dark"),
        ],
    },
    Group {
        title: "checks (as in scenario files)",
        steps: true,
        entries: &[
            ("expect bolt unlocked", "bolt locked|unlocked"),
            (
                "expect prompt unlocked",
                "the last step's prompt, by its name",
            ),
            ("expect event unlock", "a log entry the last step wrote"),
            ("expect alarm tamper", "an alarm (`expect no-alarm`: none)"),
            ("expect users 2", "people stored"),
            ("expect keypad lit", "keypad lit|dark; `expect door open`"),
            ("expect reply done", "the last `app` step's answer"),
            ("expect pairings 1", "pairings and keys; `expect link up`"),
        ],
    },
];

/// Column of the meanings.
const EXAMPLE_WIDTH: usize = 28;

/// The help as lines of at most 78 columns: a heading per group, then its
/// entries, a blank line between groups.
pub fn lines() -> Vec<String> {
    let mut out = Vec::new();
    for (i, group) in GROUPS.iter().enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        out.push(group.title.into());
        for (example, what) in group.entries {
            out.push(format!("  {example:<EXAMPLE_WIDTH$}{what}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_step;

    /// Every example runs as written: it is a step the parser takes (a bare
    /// run of keys as the terminal takes it).
    #[test]
    fn every_example_is_a_step() {
        for group in GROUPS.iter().filter(|g| g.steps) {
            for (example, _) in group.entries {
                let parsed =
                    parse_step(example).or_else(|_| parse_step(&format!("keys {example}")));
                assert!(parsed.is_ok(), "{example}: {parsed:?}");
            }
        }
    }

    /// Every step the parser knows has an example.
    #[test]
    fn every_step_has_an_example() {
        let words = [
            "touch",
            "keys",
            "hold",
            "set",
            "set-hold",
            "lock-button",
            "face",
            "palm",
            "finger",
            "key",
            "door",
            "tamper",
            "battery",
            "power-cycle",
            "wait",
            "jam",
            "usb",
            "app",
            "expect",
        ];
        for word in words {
            let shown = GROUPS
                .iter()
                .flat_map(|g| g.entries.iter())
                .any(|(example, _)| example.split(' ').next() == Some(word));
            assert!(shown, "{word}");
        }
    }

    #[test]
    fn every_line_fits_the_frame() {
        for line in lines() {
            assert!(line.chars().count() <= 78, "{line}");
        }
    }
}
