//! The reference model, written from SPEC.md and not from `lock.rs`: the
//! keypad awake or dark (R-MNU-1), one entry of at most 16 digits (R-PIN-4),
//! the modes idle / administrator check / menu with its screens (R-MNU-3,
//! R-MNU-4, R-MNU-5, settings), the people as number → role and passcode
//! (R-USR-2, R-USR-4, R-PIN-1/2/3/5) and the failure counts with their two
//! bounds and what of them reaches flash (R-LKO-1…5).

use std::collections::{BTreeMap, VecDeque};

use lock_core::{Key, LockoutCause, Role};

pub(crate) const KEY_GAP_MS: u64 = 300;
/// R-MNU-1: dark after about 20 s without a key.
const KEYPAD_MS: u64 = 20_000;
/// R-LKO-1: five failures within five minutes lock for three.
const FAST_COUNT: usize = 5;
const FAST_WINDOW_MS: u64 = 5 * 60_000;
const FAST_LOCKOUT_MS: u64 = 3 * 60_000;
/// R-LKO-5: at 10 failures without a success, and every 5 more, 6 minutes
/// doubling up to 24 hours.
const SLOW_FIRST: u16 = 10;
const SLOW_STEP: u16 = 5;
const SLOW_LOCKOUT_MS: u64 = 6 * 60_000;
const DAY_MS: u64 = 24 * 3_600_000;
/// R-PIN-4: an entry holds 16 digits; R-PIN-1: codes of 6 to 10.
const ENTRY_MAX: usize = 16;

fn slow_lockout_ms(n: u16) -> Option<u64> {
    if n < SLOW_FIRST || !(n - SLOW_FIRST).is_multiple_of(SLOW_STEP) {
        return None;
    }
    let doublings = u32::from((n - SLOW_FIRST) / SLOW_STEP);
    Some(
        SLOW_LOCKOUT_MS
            .checked_shl(doublings.min(20))
            .unwrap_or(DAY_MS)
            .min(DAY_MS),
    )
}

/// R-PIN-2: all equal, or each digit one more, or each one less.
fn too_weak(code: &[u8]) -> bool {
    let steps: Vec<i16> = code
        .windows(2)
        .map(|w| i16::from(w[1]) - i16::from(w[0]))
        .collect();
    [0, 1, -1].iter().any(|s| steps.iter().all(|x| x == s))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// R-PIN-5: one code inside the other.
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    contains(a, b) || contains(b, a)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Draft {
    number: u8,
    role: Role,
    /// Already stored (with their first credential, R-MNU-4).
    stored: bool,
    has_code: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Screen {
    Top,
    Credential(Draft),
    Enrolling(Draft),
    NewPasscode(Draft, Option<Vec<u8>>),
    Delete,
    Settings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Idle,
    /// After SET: waiting for an administrator's credential (R-MNU-3).
    Verify,
    Menu {
        admin: u8,
        screen: Screen,
    },
}

/// What one transition should have caused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// People who opened (R-UNL-2's log record names them).
    pub(crate) unlocked_by: Vec<u8>,
    /// Failures logged (R-LKO-1).
    pub(crate) failures: usize,
    /// A lockout began, and why.
    pub(crate) lockouts: Vec<LockoutCause>,
}

/// The persisted failure record: recent failures, failures since the last
/// success, the active lockout's length (R-LKO-4).
type AttemptsOnFlash = (u8, u16, Option<(u64, LockoutCause)>);

#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) now: u64,
    pub(crate) awake_until: Option<u64>,
    pub(crate) mode: Mode,
    pub(crate) entry: Vec<u8>,
    /// Number → role and passcode.
    pub(crate) people: BTreeMap<u8, (Role, Option<Vec<u8>>)>,
    /// Failures of the fast window, oldest first (forgotten lazily, when
    /// the next failure is counted).
    pub(crate) recent: VecDeque<u64>,
    pub(crate) since_success: u16,
    pub(crate) lockout: Option<(u64, u64, LockoutCause)>,
    pub(crate) on_flash: AttemptsOnFlash,
    pub(crate) outcome: Outcome,
    /// An entry held the codes of two people: which one the lock takes is
    /// its own business, so such transitions are not generated.
    pub(crate) ambiguous: bool,
}

const ADMIN: &str = "135792";
const USER: &str = "246813";

/// Codes the transitions type. None holds `00`.
pub(crate) const POOL: [&str; 15] = [
    ADMIN,
    USER,
    "975318",
    "8901234",
    "1357924", // contains ADMIN: refused while it is stored (R-PIN-5)
    "52917468",
    "2468135", // contains USER
    "649205318",
    "291746",      // inside 52917468
    "920531",      // inside 649205318
    "111111",      // too weak (R-PIN-2)
    "876543",      // too weak
    "35792",       // too short (R-PIN-1)
    "79135",       // too short
    "12468024681", // too long
];

pub(crate) fn digits(code: &str) -> Vec<u8> {
    code.bytes().map(|b| b - b'0').collect()
}

impl Model {
    pub(crate) fn initial() -> Model {
        let mut people = BTreeMap::new();
        people.insert(1, (Role::Administrator, Some(digits(ADMIN))));
        people.insert(2, (Role::User, Some(digits(USER))));
        Model {
            now: 1_000,
            awake_until: None,
            mode: Mode::Idle,
            entry: Vec::new(),
            people,
            recent: VecDeque::new(),
            since_success: 0,
            lockout: None,
            on_flash: (0, 0, None),
            outcome: Outcome::default(),
            ambiguous: false,
        }
    }

    pub(crate) fn locked_out(&self) -> bool {
        self.lockout.is_some_and(|(until, _, _)| self.now < until)
    }

    pub(crate) fn persist_attempts(&mut self) {
        self.on_flash = (
            u8::try_from(self.recent.len()).unwrap(),
            self.since_success,
            self.lockout.map(|(_, length, cause)| (length, cause)),
        );
    }

    /// Timers that ran out by now: the keypad goes dark and drops the
    /// dialogue (R-MNU-1); a lockout ends by itself (R-LKO-1).
    pub(crate) fn expire(&mut self) {
        if self.awake_until.is_some_and(|t| self.now >= t) {
            self.sleep();
            self.mode = Mode::Idle;
        }
        if self.lockout.is_some_and(|(until, _, _)| self.now >= until) {
            self.lockout = None;
            self.persist_attempts();
        }
    }

    fn sleep(&mut self) {
        self.awake_until = None;
        self.entry.clear();
    }

    pub(crate) fn wake(&mut self) {
        self.awake_until = Some(self.now + KEYPAD_MS);
    }

    fn push_digit(&mut self, d: u8) {
        if self.entry.len() < ENTRY_MAX {
            self.entry.push(d);
        }
    }

    pub(crate) fn codes(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.people.values().filter_map(|(_, c)| c.as_ref())
    }

    /// R-LKO-1/5: a failure counted, perhaps a lockout.
    fn fail(&mut self) {
        while self
            .recent
            .front()
            .is_some_and(|&t| self.now - t >= FAST_WINDOW_MS)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(self.now);
        self.since_success = self.since_success.saturating_add(1);
        let mut lockout = None;
        if self.recent.len() >= FAST_COUNT {
            self.recent.clear();
            lockout = Some((FAST_LOCKOUT_MS, LockoutCause::Burst));
        }
        if let Some(slow) = slow_lockout_ms(self.since_success)
            && lockout.is_none_or(|(fast, _)| slow > fast)
        {
            lockout = Some((slow, LockoutCause::SlowGuessing));
        }
        if let Some((length, cause)) = lockout {
            self.lockout = Some((self.now + length, length, cause));
            self.outcome.lockouts.push(cause);
        }
        self.persist_attempts();
        self.outcome.failures += 1;
        self.entry.clear();
    }

    /// R-LKO-2: a person's own success clears the fast count; R-LKO-5: only
    /// an administrator's clears the slow one too.
    fn succeed(&mut self, role: Role) {
        let administrator = role == Role::Administrator;
        let changed = !self.recent.is_empty() || (administrator && self.since_success != 0);
        self.recent.clear();
        if administrator {
            self.since_success = 0;
        }
        if changed {
            self.persist_attempts();
        }
    }

    /// ✓ with an entry of at least six digits (R-PIN-4), at the door or
    /// after SET.
    fn verify(&mut self, entry: &[u8], for_menu: bool) {
        if self.locked_out() {
            // R-LKO-1: refused unchecked, not counted.
            return;
        }
        let owners: Vec<(u8, Role, usize)> = self
            .people
            .iter()
            .filter_map(|(&n, (role, code))| {
                code.as_ref()
                    .filter(|c| contains(entry, c))
                    .map(|c| (n, *role, c.len()))
            })
            .collect();
        match owners.as_slice() {
            [] => self.fail(),
            // S-BF-3: a user's code with extra digits at SET is a guess.
            [(_, Role::User, len)] if for_menu && *len != entry.len() => self.fail(),
            [(n, role, _)] => {
                self.succeed(*role);
                if !for_menu {
                    self.outcome.unlocked_by.push(*n);
                } else if *role == Role::Administrator {
                    self.mode = Mode::Menu {
                        admin: *n,
                        screen: Screen::Top,
                    };
                    self.wake();
                }
            }
            _ => self.ambiguous = true,
        }
    }

    /// R-USR-4 / R-MNU-5: whether `n` may be deleted.
    pub(crate) fn may_delete(&self, n: u8) -> bool {
        let Some((role, _)) = self.people.get(&n) else {
            return false;
        };
        let admins = self
            .people
            .values()
            .filter(|(r, _)| *r == Role::Administrator)
            .count();
        self.people.len() > 1 && !(*role == Role::Administrator && admins <= 1)
    }

    pub(crate) fn delete(&mut self, n: u8) {
        self.people.remove(&n);
        if let Mode::Menu { admin, .. } = self.mode
            && admin == n
        {
            self.mode = Mode::Idle;
            self.sleep();
        }
    }

    pub(crate) fn key(&mut self, key: Key) {
        self.now += KEY_GAP_MS;
        self.expire();
        if self.awake_until.is_none() {
            // A key on a dark keypad only wakes it.
            self.wake();
            return;
        }
        self.wake();
        let mode = std::mem::replace(&mut self.mode, Mode::Idle);
        self.mode = match mode {
            Mode::Idle => {
                match key {
                    Key::Digit(d) => self.push_digit(d),
                    Key::Back => self.entry.clear(),
                    Key::Ok if self.entry.len() >= 6 => {
                        let entry = std::mem::take(&mut self.entry);
                        self.mode = Mode::Idle;
                        self.verify(&entry, false);
                        return;
                    }
                    _ => {}
                }
                Mode::Idle
            }
            Mode::Verify => match key {
                Key::Digit(d) => {
                    self.push_digit(d);
                    Mode::Verify
                }
                Key::Back => {
                    self.sleep();
                    Mode::Idle
                }
                Key::Ok if self.entry.len() >= 6 => {
                    let entry = std::mem::take(&mut self.entry);
                    self.mode = Mode::Verify;
                    self.verify(&entry, true);
                    return;
                }
                _ => Mode::Verify,
            },
            Mode::Menu { admin, screen } => match self.menu_key(screen, key) {
                Some(screen) => Mode::Menu { admin, screen },
                None => {
                    self.sleep();
                    Mode::Idle
                }
            },
        };
        if let Mode::Menu { admin, .. } = self.mode
            && !self.people.contains_key(&admin)
        {
            // They deleted themselves (R-MNU-5): nobody holds the menu.
            self.mode = Mode::Idle;
            self.sleep();
        }
    }

    fn menu_key(&mut self, screen: Screen, key: Key) -> Option<Screen> {
        Some(match screen {
            Screen::Top => match key {
                Key::Digit(d @ (1 | 2)) => {
                    // R-USR-2: the lowest free number.
                    let number = (1..=100u8).find(|n| !self.people.contains_key(n)).unwrap();
                    Screen::Credential(Draft {
                        number,
                        role: if d == 1 {
                            Role::Administrator
                        } else {
                            Role::User
                        },
                        stored: false,
                        has_code: false,
                    })
                }
                Key::Digit(3) => {
                    self.entry.clear();
                    Screen::Delete
                }
                Key::Digit(4) => Screen::Settings,
                Key::Back => return None,
                _ => Screen::Top,
            },
            Screen::Credential(draft) => match key {
                Key::Digit(1..=3) => Screen::Enrolling(draft),
                Key::Digit(4) if !draft.has_code => {
                    self.entry.clear();
                    Screen::NewPasscode(draft, None)
                }
                // R-MNU-4: ↩ goes back to the menu; before any credential,
                // no one was stored.
                Key::Back => Screen::Top,
                _ => Screen::Credential(draft),
            },
            Screen::Enrolling(draft) => match key {
                Key::Back => Screen::Credential(draft),
                _ => Screen::Enrolling(draft),
            },
            Screen::NewPasscode(draft, first) => match key {
                Key::Digit(d) => {
                    self.push_digit(d);
                    Screen::NewPasscode(draft, first)
                }
                Key::Back => {
                    self.entry.clear();
                    Screen::Credential(draft)
                }
                Key::Ok => {
                    let typed = std::mem::take(&mut self.entry);
                    self.new_passcode(draft, first, typed)
                }
                _ => Screen::NewPasscode(draft, first),
            },
            Screen::Delete => match key {
                Key::Digit(d) => {
                    self.push_digit(d);
                    Screen::Delete
                }
                Key::Back => {
                    self.entry.clear();
                    Screen::Top
                }
                Key::Ok => {
                    let typed = std::mem::take(&mut self.entry);
                    let number = match typed.as_slice() {
                        &[a, b, c] => Some(u16::from(a) * 100 + u16::from(b) * 10 + u16::from(c)),
                        _ => None,
                    }
                    .and_then(|n| u8::try_from(n).ok());
                    match number.filter(|&n| self.may_delete(n)) {
                        Some(n) => {
                            self.delete(n);
                            Screen::Top
                        }
                        // R-MNU-5: refused; the lock waits for another number.
                        None => Screen::Delete,
                    }
                }
                _ => Screen::Delete,
            },
            Screen::Settings => match key {
                Key::Back => Screen::Top,
                _ => Screen::Settings,
            },
        })
    }

    /// R-PIN-1/2/3/5 at the menu: the first entry checked at once, the second
    /// must be the same; stored with it (R-MNU-4).
    fn new_passcode(&mut self, draft: Draft, first: Option<Vec<u8>>, typed: Vec<u8>) -> Screen {
        let valid_length = (6..=10).contains(&typed.len());
        let overlapping = self.codes().any(|c| overlaps(c, &typed));
        match first {
            None if valid_length && !too_weak(&typed) && !overlapping => {
                Screen::NewPasscode(draft, Some(typed))
            }
            None => Screen::Credential(draft),
            Some(first) if first == typed && valid_length && !overlapping => {
                if draft.stored && !self.people.contains_key(&draft.number) {
                    // Deleted from the app meanwhile: refused.
                    return Screen::Credential(draft);
                }
                self.people.insert(draft.number, (draft.role, Some(typed)));
                Screen::Credential(Draft {
                    stored: true,
                    has_code: true,
                    ..draft
                })
            }
            Some(_) => Screen::Credential(draft),
        }
    }

    pub(crate) fn power_cycle(&mut self) {
        // Monotonic time starts again at zero; the failure record comes back
        // from flash: recent failures as if at boot (at most four, or they
        // would have locked), an active lockout again in full (R-LKO-4).
        self.now = 0;
        let (recent, since, lockout) = self.on_flash;
        self.recent = std::iter::repeat_n(0, usize::from(recent).min(FAST_COUNT - 1)).collect();
        self.since_success = since;
        self.lockout = lockout.map(|(length, cause)| {
            let length = length.min(DAY_MS);
            (length, length, cause)
        });
        self.mode = Mode::Idle;
        self.sleep();
    }
}
