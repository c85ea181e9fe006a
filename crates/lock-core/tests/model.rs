//! Model-based test (`proptest-state-machine`) of the keypad menu, the
//! lockout and the people store against a small reference model.
//!
//! The reference model is written from SPEC.md, not from `lock.rs`: a
//! keypad that is awake or dark (R-MNU-1), one entry of at most 16 digits
//! (R-PIN-4), the modes idle / administrator check / menu with its screens
//! (R-MNU-3, R-MNU-4 passcode credentials, R-MNU-5 deletion, settings),
//! people as number → role and passcode (R-USR-2 lowest free number,
//! R-USR-4 deletion refusals, R-PIN-1/2/3/5 for new codes), and the failure
//! counts with their two bounds (R-LKO-1 five in five minutes → three
//! minutes, R-LKO-2 success resets and old failures expire, R-LKO-3 lifted
//! from the app, R-LKO-5 ten, then every five more → six minutes doubling to
//! a day), kept across power cuts as the persisted record says (R-LKO-4,
//! as lock-core's DECISIONS.md has it: recent failures count from
//! boot, an active lockout starts again in full).
//!
//! Transitions are what a person and the app do: digits (stored codes with
//! extra digits around them, new codes, wrong ones, person numbers), single
//! keys, touch, SET, time passing (with the runtime's ticks at every
//! deadline), a power cut, and an administrator's app lifting the lockout or
//! deleting someone. After every transition the lock must agree with the
//! model on: who opened (R-UNL-2's log) and whether a lockout began, the
//! failures logged, the lockout and its end, the failure count and what of
//! it reached flash, whether the menu is open and the keypad lit, and every
//! person with their role and passcode.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: here a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, VecDeque};

use lock_core::{
    Action, AppCommand, AppRequest, BoltReport, Config, DoorDirection, Event, Instant, Key, Link,
    Lock, LockoutCause, LogEntry, Passcode, Person, PersonNumber, Privilege, Role, Settings,
    Snapshot,
};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

// ----- the reference model -------------------------------------------------

const KEY_GAP_MS: u64 = 300;
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
struct Draft {
    number: u8,
    role: Role,
    /// Already stored (with their first credential, R-MNU-4).
    stored: bool,
    has_code: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    Top,
    Credential(Draft),
    Enrolling(Draft),
    NewPasscode(Draft, Option<Vec<u8>>),
    Delete,
    Settings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
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
struct Outcome {
    /// People who opened (R-UNL-2's log record names them).
    unlocked_by: Vec<u8>,
    /// Failures logged (R-LKO-1).
    failures: usize,
    /// A lockout began, and why.
    lockouts: Vec<LockoutCause>,
}

/// The persisted failure record: recent failures, failures since the last
/// success, the active lockout's length (R-LKO-4).
type AttemptsOnFlash = (u8, u16, Option<(u64, LockoutCause)>);

#[derive(Debug, Clone)]
struct Model {
    now: u64,
    awake_until: Option<u64>,
    mode: Mode,
    entry: Vec<u8>,
    /// Number → role and passcode.
    people: BTreeMap<u8, (Role, Option<Vec<u8>>)>,
    /// Failures of the fast window, oldest first (forgotten lazily, when
    /// the next failure is counted).
    recent: VecDeque<u64>,
    since_success: u16,
    lockout: Option<(u64, u64, LockoutCause)>,
    on_flash: AttemptsOnFlash,
    outcome: Outcome,
    /// An entry held the codes of two people: which one the lock takes is
    /// its own business, so such transitions are not generated.
    ambiguous: bool,
}

const ADMIN: &str = "135792";
const USER: &str = "246813";

/// Codes the transitions type. None holds `00`.
const POOL: [&str; 15] = [
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

fn digits(code: &str) -> Vec<u8> {
    code.bytes().map(|b| b - b'0').collect()
}

impl Model {
    fn initial() -> Model {
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

    fn locked_out(&self) -> bool {
        self.lockout.is_some_and(|(until, _, _)| self.now < until)
    }

    fn persist_attempts(&mut self) {
        self.on_flash = (
            u8::try_from(self.recent.len()).unwrap(),
            self.since_success,
            self.lockout.map(|(_, length, cause)| (length, cause)),
        );
    }

    /// Timers that ran out by now: the keypad goes dark and drops the
    /// dialogue (R-MNU-1); a lockout ends by itself (R-LKO-1).
    fn expire(&mut self) {
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

    fn wake(&mut self) {
        self.awake_until = Some(self.now + KEYPAD_MS);
    }

    fn push_digit(&mut self, d: u8) {
        if self.entry.len() < ENTRY_MAX {
            self.entry.push(d);
        }
    }

    fn codes(&self) -> impl Iterator<Item = &Vec<u8>> {
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
    fn may_delete(&self, n: u8) -> bool {
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

    fn delete(&mut self, n: u8) {
        self.people.remove(&n);
        if let Mode::Menu { admin, .. } = self.mode
            && admin == n
        {
            self.mode = Mode::Idle;
            self.sleep();
        }
    }

    fn key(&mut self, key: Key) {
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

    fn power_cycle(&mut self) {
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

#[derive(Debug, Clone)]
enum Transition {
    /// Digit keys, one after another.
    Digits(Vec<u8>),
    /// Digit keys, then ✓: a code typed in full.
    Entry(Vec<u8>),
    Key(Key),
    Touch,
    Set,
    /// Time passes; the runtime ticks at every deadline on the way.
    Wait(u64),
    PowerCycle,
    /// An administrator's app lifts the lockout (R-LKO-3).
    AppLiftLockout,
    /// An administrator's app deletes a person (R-USR-4).
    AppDelete(u8),
}

struct Reference;

fn code_with_extras(code: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(0u8..=9, 0..=4),
        prop::collection::vec(0u8..=9, 0..=4),
    )
        .prop_map(move |(before, after)| {
            let mut d = before;
            d.extend(&code);
            d.extend(after);
            d
        })
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::initial()).boxed()
    }

    /// What a person does next depends on where the dialogue is, as it
    /// would: at the menu they choose, at a passcode prompt they type one.
    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        let stored: Vec<Vec<u8>> = state.codes().cloned().collect();
        let stored_code = prop::sample::select(stored).prop_flat_map(code_with_extras);
        let pool_code = || prop::sample::select(POOL.to_vec()).prop_map(digits);
        let wrong = prop::collection::vec(0u8..=9, 1..=10);
        let key = |d: u8| Just(Transition::Key(Key::Digit(d)));
        let common = prop_oneof![
            4 => Just(Transition::Key(Key::Ok)),
            2 => Just(Transition::Key(Key::Back)),
            1 => Just(Transition::Touch),
            2 => Just(Transition::Set),
            3 => prop_oneof![
                0u64..3_000,
                15_000u64..30_000,
                60_000u64..400_000,
                3_600_000u64..30 * 3_600_000,
            ]
            .prop_map(Transition::Wait),
            1 => Just(Transition::PowerCycle),
            1 => Just(Transition::AppLiftLockout),
            1 => (1u8..=6).prop_map(Transition::AppDelete),
            1 => (1u8..=5).prop_map(|d| Transition::Key(Key::Digit(d))),
        ];
        // Once someone is guessing, they tend to go on (R-LKO-5 needs ten
        // failures without a success), waiting out each lockout.
        let guessing = state.since_success >= 2;
        let owner_weight = if guessing { 1 } else { 5 };
        if state.locked_out() && guessing {
            return prop_oneof![
                3 => (60_000u64..400_000).prop_map(Transition::Wait),
                1 => wrong.prop_map(Transition::Entry),
                1 => Just(Transition::AppLiftLockout),
                1 => Just(Transition::PowerCycle),
            ]
            .boxed();
        }
        let here: BoxedStrategy<Transition> = match &state.mode {
            Mode::Idle | Mode::Verify => prop_oneof![
                owner_weight => stored_code.prop_map(Transition::Entry),
                6 => wrong.clone().prop_map(Transition::Entry),
                1 => pool_code().prop_map(Transition::Entry),
                2 => wrong.prop_map(Transition::Digits),
            ]
            .boxed(),
            Mode::Menu { screen, .. } => match screen {
                Screen::Top => {
                    prop_oneof![4 => key(1), 4 => key(2), 3 => key(3), 1 => key(4), 1 => key(5)]
                        .boxed()
                }
                Screen::Credential(_) => prop_oneof![6 => key(4), 1 => key(3)].boxed(),
                Screen::NewPasscode(_, None) => pool_code().prop_map(Transition::Entry).boxed(),
                Screen::NewPasscode(_, Some(first)) => prop_oneof![
                    6 => Just(Transition::Entry(first.clone())),
                    1 => pool_code().prop_map(Transition::Entry),
                ]
                .boxed(),
                Screen::Delete => (0u8..=7)
                    .prop_map(|n| Transition::Entry(vec![0, 0, n]))
                    .boxed(),
                Screen::Enrolling(_) | Screen::Settings => prop_oneof![
                    1 => (1u8..=3).prop_map(|d| Transition::Key(Key::Digit(d))),
                    1 => Just(Transition::Key(Key::Back)),
                ]
                .boxed(),
            },
        };
        prop_oneof![3 => here, 2 => common].boxed()
    }

    fn preconditions(state: &Model, transition: &Transition) -> bool {
        !Self::apply(state.clone(), transition).ambiguous
    }

    fn apply(mut state: Model, transition: &Transition) -> Model {
        state.outcome = Outcome::default();
        match transition {
            Transition::Digits(ds) => {
                for &d in ds {
                    state.key(Key::Digit(d));
                }
            }
            Transition::Entry(ds) => {
                for &d in ds {
                    state.key(Key::Digit(d));
                }
                state.key(Key::Ok);
            }
            Transition::Key(k) => state.key(*k),
            Transition::Touch => {
                state.now += KEY_GAP_MS;
                state.expire();
                state.wake();
            }
            Transition::Set => {
                state.now += KEY_GAP_MS;
                state.expire();
                if state.mode == Mode::Idle && !state.people.is_empty() {
                    state.mode = Mode::Verify;
                    state.entry.clear();
                    state.wake();
                }
            }
            Transition::Wait(ms) => {
                let target = state.now + ms;
                loop {
                    let next = [state.awake_until, state.lockout.map(|l| l.0)]
                        .into_iter()
                        .flatten()
                        .filter(|&t| t <= target)
                        .min();
                    let Some(t) = next else { break };
                    state.now = state.now.max(t);
                    state.expire();
                }
                state.now = target;
            }
            Transition::PowerCycle => state.power_cycle(),
            Transition::AppLiftLockout => {
                state.now += KEY_GAP_MS;
                state.expire();
                state.recent.clear();
                state.since_success = 0;
                state.lockout = None;
                state.persist_attempts();
            }
            Transition::AppDelete(n) => {
                state.now += KEY_GAP_MS;
                state.expire();
                if state.may_delete(*n) {
                    state.delete(*n);
                }
            }
        }
        state
    }
}

// ----- the lock under test ---------------------------------------------------

struct Bench {
    lock: Lock,
    now: Instant,
    /// Every `Persist` applied: what a restart finds.
    flash: Snapshot,
    /// Log entries of the current transition.
    log: Vec<LogEntry>,
}

fn snapshot(model: &Model) -> Snapshot {
    let mut s = Snapshot {
        settings: Settings {
            door_direction: Some(DoorDirection::Right),
            ..Settings::default()
        },
        ..Snapshot::default()
    };
    for (&n, (role, code)) in &model.people {
        let mut p = Person::new(PersonNumber::new(n).unwrap(), *role);
        p.passcode = code.as_ref().map(|c| Passcode::new(c).unwrap());
        s.people.push(p).unwrap();
    }
    s
}

impl Bench {
    fn handle(&mut self, event: Event) {
        let actions: Vec<Action> = self.lock.handle(self.now, event).into_iter().collect();
        for a in &actions {
            match a {
                Action::Persist(change) => self.flash.apply(change),
                Action::Log(record) => self.log.push(record.entry),
                _ => {}
            }
        }
        // The lock body reaches where it is driven at once.
        for a in &actions {
            if let Action::DriveBolt { to, .. } = a {
                let more = self
                    .lock
                    .handle(self.now, Event::Bolt(BoltReport::Reached(*to)));
                for a in more.iter() {
                    match a {
                        Action::Persist(change) => self.flash.apply(change),
                        Action::Log(record) => self.log.push(record.entry),
                        _ => {}
                    }
                }
            }
        }
    }

    fn key(&mut self, key: Key) {
        self.now = self.now + lock_core::Duration::from_millis(KEY_GAP_MS);
        self.handle(Event::Key(key));
    }

    fn app(&mut self, command: AppCommand) {
        self.now = self.now + lock_core::Duration::from_millis(KEY_GAP_MS);
        self.handle(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command,
        }));
    }
}

struct LockMatchesModel;

impl StateMachineTest for LockMatchesModel {
    type SystemUnderTest = Bench;
    type Reference = Reference;

    fn init_test(model: &Model) -> Bench {
        let flash = snapshot(model);
        let now = Instant::from_millis(model.now);
        let lock = Lock::restore(Config::default(), &flash, now).unwrap();
        let mut bench = Bench {
            lock,
            now,
            flash,
            log: Vec::new(),
        };
        bench.handle(Event::Boot { set_held: false });
        bench
    }

    fn apply(mut bench: Bench, model: &Model, transition: Transition) -> Bench {
        bench.log.clear();
        match transition {
            Transition::Digits(ds) => {
                for d in ds {
                    bench.key(Key::Digit(d));
                }
            }
            Transition::Entry(ds) => {
                for d in ds {
                    bench.key(Key::Digit(d));
                }
                bench.key(Key::Ok);
            }
            Transition::Key(k) => bench.key(k),
            Transition::Touch => {
                bench.now = bench.now + lock_core::Duration::from_millis(KEY_GAP_MS);
                bench.handle(Event::Touch);
            }
            Transition::Set => {
                bench.now = bench.now + lock_core::Duration::from_millis(KEY_GAP_MS);
                bench.handle(Event::Set);
            }
            Transition::Wait(ms) => {
                let target = bench.now + lock_core::Duration::from_millis(ms);
                while let Some(d) = bench.lock.next_deadline().filter(|&d| d <= target) {
                    bench.now = bench.now.max(d);
                    bench.handle(Event::Tick);
                }
                bench.now = target;
            }
            Transition::PowerCycle => {
                bench.now = Instant::ZERO;
                bench.lock = Lock::restore(Config::default(), &bench.flash, bench.now)
                    .expect("R-LKO-4: what the lock persisted restores");
                bench.handle(Event::Boot { set_held: false });
            }
            Transition::AppLiftLockout => bench.app(AppCommand::LiftLockout),
            Transition::AppDelete(n) => {
                bench.app(AppCommand::DeletePerson(PersonNumber::new(n).unwrap()));
            }
        }
        assert_eq!(
            bench.now.millis(),
            model.now,
            "the bench and the model keep one clock"
        );
        check(&bench, model);
        bench
    }
}

/// The lock agrees with the model on everything the transition could change.
fn check(bench: &Bench, model: &Model) {
    let lock = &bench.lock;
    // R-UNL-2: who opened; R-LKO-1/5: failures and lockouts logged.
    let unlocked: Vec<u8> = bench
        .log
        .iter()
        .filter_map(|e| match e {
            LogEntry::Unlock {
                person: Some(n), ..
            } => Some(n.get()),
            _ => None,
        })
        .collect();
    assert_eq!(unlocked, model.outcome.unlocked_by, "who opened");
    let failures = bench
        .log
        .iter()
        .filter(|e| matches!(e, LogEntry::UnlockFailed { .. }))
        .count();
    assert_eq!(failures, model.outcome.failures, "failures logged");
    let lockouts: Vec<LockoutCause> = bench
        .log
        .iter()
        .filter_map(|e| match e {
            LogEntry::Lockout { cause, .. } => Some(*cause),
            _ => None,
        })
        .collect();
    assert_eq!(lockouts, model.outcome.lockouts, "lockouts that began");
    // R-LKO-1…5: the lockout, its end, and the count.
    let expected_lockout = model
        .lockout
        .filter(|(until, _, _)| model.now < *until)
        .map(|(until, _, cause)| (until, cause));
    let actual_lockout = lock.lockout(bench.now).map(|l| (l.until.millis(), l.cause));
    assert_eq!(actual_lockout, expected_lockout, "the lockout");
    assert_eq!(
        lock.failures_since_success(),
        model.since_success,
        "failures since the last success"
    );
    // R-LKO-4: what reached flash.
    let a = bench.flash.attempts;
    assert_eq!(
        (a.recent, a.since_success, a.lockout),
        model.on_flash,
        "the failure record on flash"
    );
    // R-MNU-1/3: menu and keypad.
    assert_eq!(
        lock.in_menu(),
        matches!(model.mode, Mode::Menu { .. }),
        "menu open"
    );
    assert_eq!(
        lock.keypad().is_some(),
        model.awake_until.is_some(),
        "keypad lit"
    );
    // R-USR-2/4, R-MNU-4/5, R-PIN-1/2/3/5: the people.
    let people: BTreeMap<u8, (Role, Option<Vec<u8>>)> = lock
        .people()
        .iter()
        .map(|p| {
            (
                p.number.get(),
                (p.role, p.passcode.map(|c| c.digits().to_vec())),
            )
        })
        .collect();
    assert_eq!(people, model.people, "the people");
    assert_eq!(
        bench.flash.people.len(),
        model.people.len(),
        "the people on flash"
    );
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        max_shrink_iters: 4096,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// R-MNU-1, R-MNU-3, R-MNU-4, R-MNU-5, R-USR-2, R-USR-4, R-PIN-1…5,
    /// R-LKO-1…5, R-UNL-2: the lock matches the reference model after every
    /// transition of up to 80.
    #[test]
    fn r_lko_1_5_r_mnu_1_5_r_usr_2_4_lock_matches_a_reference_model_of_menu_lockout_and_people(
        sequential 1..80 => LockMatchesModel
    );
}

/// The transitions reach the states the model is about: a menu, a person
/// added and deleted, every kind of lockout, a power cut during one.
#[test]
fn r_lko_5_r_mnu_4_model_transitions_reach_menus_people_and_both_lockouts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = Reference::sequential_strategy(60..80);
    let mut seen = BTreeMap::<&str, usize>::new();
    for _ in 0..150 {
        let (mut state, transitions, _) = strategy.new_tree(&mut runner).unwrap().current();
        for t in &transitions {
            let before = state.clone();
            state = Reference::apply(state, t);
            let mut count = |what| *seen.entry(what).or_default() += 1;
            if matches!(state.mode, Mode::Menu { .. }) && !matches!(before.mode, Mode::Menu { .. })
            {
                count("menu opened");
            }
            if state.people.len() > before.people.len() {
                count("person added");
            }
            if state.people.len() < before.people.len() {
                count("person deleted");
            }
            if !state.outcome.unlocked_by.is_empty() {
                count("unlock");
            }
            for cause in &state.outcome.lockouts {
                count(match cause {
                    LockoutCause::Burst => "burst lockout",
                    LockoutCause::SlowGuessing => "slow-guessing lockout",
                });
            }
            if matches!(t, Transition::PowerCycle) && before.locked_out() {
                count("power cut during a lockout");
            }
            if matches!(t, Transition::AppLiftLockout) && before.locked_out() {
                count("lockout lifted");
            }
        }
    }
    for what in [
        "menu opened",
        "person added",
        "person deleted",
        "unlock",
        "burst lockout",
        "slow-guessing lockout",
        "power cut during a lockout",
        "lockout lifted",
    ] {
        assert!(
            seen.get(what).is_some_and(|&n| n > 0),
            "never reached: {what}; {seen:?}"
        );
    }
    eprintln!("{seen:#?}");
}
