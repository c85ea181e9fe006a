//! A small test language for the lock's rules, in the spirit of smoltcp's
//! `send!`/`recv!`: a [`Bench`] holds the lock, the clock and the hardware
//! around it, each method is one step a person (or the app, or time) takes,
//! and the actions of the last step are kept for assertions.
//!
//! What the bench simulates, so tests read like scenarios:
//! - the lock body: every `DriveBolt` is answered with `Reached(to)`, unless
//!   [`Bench::body`] says it stalls or never reports;
//! - the biometric modules: names stand for fingers, faces and palms. While the
//!   lock has asked a module to enroll, presenting a name completes the
//!   enrollment (or reports a duplicate if that module knows the name);
//!   otherwise a known name is identified and an unknown one does not match;
//! - the store: every `Persist` is applied to a [`Snapshot`] (the flash), and
//!   [`Bench::power_cycle`] restores the lock from it, as a restart would;
//! - the runtime: [`Bench::wait`] sends `Tick` at every deadline on the way.
//!
//! The steps are in `harness/steps.rs`, what the last step did in
//! `harness/observe.rs`; the bench, its construction and how it sends an
//! event through the simulated hardware are here.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

pub use lock_core::{Actor, AppChange};

use lock_core::{
    Action, AppCommand, AppRequest, BiometricEvent, BiometricKind, BoltPosition, BoltReport,
    Change, Config, DoorDirection, DoorState, Duration, EnrollFailure, Event, Instant, Key, Link,
    Lock, LogEntry, LogRecord, ModuleCommand, Notice, Passcode, Person, PersonNumber, Privilege,
    Prompt, Reply, Role, Settings, Snapshot, TemplateId,
};

// A `#[path]` module's own modules are looked up beside it, as for a
// `mod.rs`: hence the `#[path]`s.
#[path = "harness/observe.rs"]
mod observe;
#[path = "harness/steps.rs"]
mod steps;

/// The first administrator's passcode in every set-up bench.
pub const ADMIN_CODE: &str = "482915";

/// Presses keys: `press!(b, "482915 ok")`. See [`Bench::keys`].
macro_rules! press {
    ($bench:expr, $keys:expr) => {
        $bench.keys($keys)
    };
}

/// Asserts that the last step produced an action matching the pattern.
macro_rules! assert_saw {
    ($bench:expr, $($pattern:tt)+) => {
        assert!(
            $bench.saw(|a| matches!(a, $($pattern)+)),
            "expected `{}` in the last step:\n{}",
            stringify!($($pattern)+),
            $bench.describe()
        )
    };
}

/// Asserts that the last step produced no action matching the pattern.
macro_rules! assert_not_saw {
    ($bench:expr, $($pattern:tt)+) => {
        assert!(
            !$bench.saw(|a| matches!(a, $($pattern)+)),
            "did not expect `{}` in the last step:\n{}",
            stringify!($($pattern)+),
            $bench.describe()
        )
    };
}

/// Asserts that the last step played this prompt.
macro_rules! assert_prompted {
    ($bench:expr, $prompt:expr) => {
        assert!(
            $bench.prompted($prompt),
            "expected prompt {:?} in the last step:\n{}",
            $prompt,
            $bench.describe()
        )
    };
}

/// One call of `Lock::handle`: the event and the actions it returned.
#[derive(Debug)]
pub struct Batch {
    pub event: Event,
    pub actions: Vec<Action>,
}

/// How the lock body answers a `DriveBolt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// The bolt reaches its end position at once.
    Working,
    /// The motor stalls (over-current).
    Stalls,
    /// Nothing is ever reported: only the lock's backstop can notice.
    Silent,
}

/// A credential to add at the menu's credential choice (R-MNU-4).
#[derive(Debug, Clone, Copy)]
pub enum Cred<'a> {
    Code(&'a str),
    Finger(&'a str),
    Face(&'a str),
    Palm(&'a str),
}

#[derive(Debug, Default)]
struct Module {
    /// Names the module holds a template for.
    templates: Vec<(String, TemplateId)>,
    /// The template id of a running enrollment.
    enrolling: Option<TemplateId>,
}

/// The lock on a test bench.
pub struct Bench {
    pub lock: Lock,
    pub config: Config,
    pub now: Instant,
    /// What the store holds: every persisted change applied in order.
    pub flash: Snapshot,
    /// Every log record written since the bench was built.
    pub journal: Vec<LogRecord>,
    /// How the lock body answers.
    pub body: Body,
    /// The administrator code [`Bench::open_menu`] uses.
    pub admin_code: String,
    modules: HashMap<BiometricKind, Module>,
    step: Vec<Batch>,
}

pub fn config() -> Config {
    Config {
        serial: 2026_0001,
        firmware: (1, 2, 3),
        verification_code: 482_071,
        ..Config::default()
    }
}

pub fn n(x: u8) -> PersonNumber {
    PersonNumber::new(x).unwrap()
}

pub fn code(s: &str) -> Passcode {
    Passcode::parse(s).unwrap()
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

pub fn mins(m: u64) -> Duration {
    Duration::from_mins(m)
}

/// Parses `"123 ok back"`: digits (a run may be written together), `ok`/`✓`,
/// `back`/`↩`, `home`, `bell`.
pub fn parse_keys(text: &str) -> Vec<Key> {
    let mut keys = Vec::new();
    for word in text.split_whitespace() {
        match word {
            "ok" | "✓" => keys.push(Key::Ok),
            "back" | "↩" => keys.push(Key::Back),
            "home" => keys.push(Key::Home),
            "bell" => keys.push(Key::Bell),
            digits => {
                for c in digits.chars() {
                    let d = c
                        .to_digit(10)
                        .unwrap_or_else(|| panic!("not a key: {word}"));
                    keys.push(Key::Digit(u8::try_from(d).unwrap()));
                }
            }
        }
    }
    keys
}

/// Settings of a lock whose door direction was answered (right-opening).
pub fn installed_settings() -> Settings {
    Settings {
        door_direction: Some(DoorDirection::Right),
        ..Settings::default()
    }
}

/// A person holding a passcode.
pub fn person_with_code(number: u8, role: Role, digits: &str) -> Person {
    let mut p = Person::new(n(number), role);
    p.passcode = Some(code(digits));
    p
}

/// A snapshot with administrator 001 holding [`ADMIN_CODE`], for tests that
/// build big stores directly instead of through the menu.
pub fn admin_snapshot() -> Snapshot {
    let mut s = Snapshot {
        settings: installed_settings(),
        ..Snapshot::default()
    };
    s.people
        .push(person_with_code(1, Role::Administrator, ADMIN_CODE))
        .unwrap();
    s
}

/// The `i`th of many distinct six-digit codes that pass R-PIN-2 and never
/// contain one another (same length) or [`ADMIN_CODE`].
pub fn nth_code(i: u16) -> String {
    let c = format!("6{:05}", 10_007 + u32::from(i) * 37);
    assert_eq!(code(&c).check_strength(), Ok(()), "{c}");
    assert_ne!(c, ADMIN_CODE);
    c
}

impl Bench {
    fn with_lock(lock: Lock, config: Config, flash: Snapshot) -> Bench {
        let mut modules = HashMap::new();
        for kind in BiometricKind::ALL {
            modules.insert(kind, Module::default());
        }
        Bench {
            lock,
            config,
            now: Instant::ZERO,
            flash,
            journal: Vec::new(),
            body: Body::Working,
            admin_code: ADMIN_CODE.to_string(),
            modules,
            step: Vec::new(),
        }
    }

    /// A factory-fresh lock, booted: it asks for the door direction.
    pub fn fresh() -> Bench {
        Bench::fresh_with(config())
    }

    /// A factory-fresh lock of another body or other modules, booted.
    pub fn fresh_with(config: Config) -> Bench {
        let mut b = Bench::with_lock(Lock::new(config), config, Snapshot::default());
        b.send(Event::Boot { set_held: false });
        b
    }

    /// A fresh lock after first start: right-opening, administrator 001 with
    /// [`ADMIN_CODE`], menu left, keypad dark.
    pub fn set_up() -> Bench {
        Bench::set_up_with(config())
    }

    /// [`Bench::set_up`] for a lock of another body or other modules.
    pub fn set_up_with(config: Config) -> Bench {
        let mut b = Bench::fresh_with(config);
        b.first_start(DoorDirection::Right, ADMIN_CODE);
        b
    }

    /// A lock restored from `snapshot` (as if the store held it) and booted.
    /// The modules hold a template for every id in it, named `finger#3`,
    /// `face#0`, … (see [`template_name`]).
    pub fn restored(snapshot: Snapshot) -> Bench {
        let lock = Lock::restore(config(), &snapshot, Instant::ZERO).unwrap();
        let mut b = Bench::with_lock(lock, config(), snapshot.clone());
        for p in snapshot.people.iter() {
            for (kind, t) in p.all_templates() {
                b.module(kind).templates.push((template_name(kind, t), t));
            }
        }
        b.send(Event::Boot { set_held: false });
        b
    }

    fn module(&mut self, kind: BiometricKind) -> &mut Module {
        self.modules.entry(kind).or_default()
    }

    // ----- sending ------------------------------------------------------

    fn begin(&mut self) {
        self.step.clear();
    }

    /// Hands one event to the lock, then whatever the simulated hardware
    /// answers, recording every batch in the current step.
    fn send(&mut self, event: Event) {
        let mut queue = VecDeque::from([event]);
        while let Some(event) = queue.pop_front() {
            let actions = self.lock.handle(self.now, event);
            assert_eq!(actions.dropped(), 0, "actions dropped for {event:?}");
            let actions: Vec<Action> = actions.into_iter().collect();
            for action in &actions {
                match action {
                    Action::Persist(change) => self.flash.apply(change),
                    Action::Log(record) => self.journal.push(*record),
                    Action::DriveBolt { to, .. } => match self.body {
                        Body::Working => {
                            queue.push_back(Event::Bolt(BoltReport::Reached(*to)));
                        }
                        Body::Stalls => queue.push_back(Event::Bolt(BoltReport::Stalled)),
                        Body::Silent => {}
                    },
                    Action::Module(command) => self.module_command(*command),
                    _ => {}
                }
            }
            self.step.push(Batch { event, actions });
        }
    }

    fn module_command(&mut self, command: ModuleCommand) {
        match command {
            ModuleCommand::Enroll { kind, template } => {
                self.module(kind).enrolling = Some(template)
            }
            ModuleCommand::CancelEnroll(kind) => self.module(kind).enrolling = None,
            ModuleCommand::Delete { kind, template } => {
                self.module(kind).templates.retain(|(_, t)| *t != template);
            }
            ModuleCommand::Clear(kind) => *self.module(kind) = Module::default(),
            // The module looks for a sample; tests present one explicitly.
            ModuleCommand::Identify(_) => {}
        }
    }
}

/// The name [`Bench::restored`] gives the module template `t` of `kind`.
pub fn template_name(kind: BiometricKind, t: TemplateId) -> String {
    let kind = match kind {
        BiometricKind::Face => "face",
        BiometricKind::Palm => "palm",
        BiometricKind::Finger => "finger",
    };
    format!("{kind}#{}", t.0)
}

/// One millisecond short of `d`.
pub fn just_before(d: Duration) -> Duration {
    Duration::from_millis(d.millis() - 1)
}

/// `a + b`.
pub fn plus(a: Duration, b: Duration) -> Duration {
    Duration::from_millis(a.millis() + b.millis())
}

/// `d` times `k`.
pub fn times(d: Duration, k: u64) -> Duration {
    Duration::from_millis(d.millis() * k)
}
