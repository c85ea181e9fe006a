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

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

pub use lock_core::{Actor, AppChange};

use lock_core::{
    Action, AppCommand, AppRequest, BiometricEvent, BiometricKind, BoltPosition, BoltReport,
    Change, Config, DoorDirection, DoorState, Duration, EnrollFailure, Event, Instant, Key, Link,
    Lock, LogEntry, LogRecord, ModuleCommand, Notice, Passcode, Person, PersonNumber, Privilege,
    Prompt, Reply, Role, Settings, Snapshot, TemplateId,
};

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
    fn with_lock(lock: Lock, flash: Snapshot) -> Bench {
        let mut modules = HashMap::new();
        for kind in BiometricKind::ALL {
            modules.insert(kind, Module::default());
        }
        Bench {
            lock,
            config: config(),
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
        let mut b = Bench::with_lock(Lock::new(config()), Snapshot::default());
        b.send(Event::Boot { set_held: false });
        b
    }

    /// A fresh lock after first start: right-opening, administrator 001 with
    /// [`ADMIN_CODE`], menu left, keypad dark.
    pub fn set_up() -> Bench {
        let mut b = Bench::fresh();
        b.first_start(DoorDirection::Right, ADMIN_CODE);
        b
    }

    /// A lock restored from `snapshot` (as if the store held it) and booted.
    /// The modules hold a template for every id in it, named `finger#3`,
    /// `face#0`, … (see [`template_name`]).
    pub fn restored(snapshot: Snapshot) -> Bench {
        let lock = Lock::restore(config(), &snapshot, Instant::ZERO).unwrap();
        let mut b = Bench::with_lock(lock, snapshot.clone());
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

    /// One step: any event, as is.
    pub fn event(&mut self, event: Event) {
        self.begin();
        self.send(event);
    }

    /// One step: keys pressed in turn (see [`parse_keys`]). A finger on a
    /// dark keypad touches it first, so the step begins with a `Touch` then.
    pub fn keys(&mut self, text: &str) {
        self.begin();
        if self.lock.keypad().is_none() {
            self.send(Event::Touch);
        }
        for key in parse_keys(text) {
            self.send(Event::Key(key));
        }
    }

    /// One step: keys exactly as given, with no touch first.
    pub fn raw_keys(&mut self, text: &str) {
        self.begin();
        for key in parse_keys(text) {
            self.send(Event::Key(key));
        }
    }

    pub fn touch(&mut self) {
        self.event(Event::Touch);
    }

    pub fn hold(&mut self, key: Key) {
        self.event(Event::KeyHeld(key));
    }

    /// Short press of SET.
    pub fn set(&mut self) {
        self.event(Event::Set);
    }

    /// Long press of SET.
    pub fn set_hold(&mut self) {
        self.event(Event::SetHeld);
    }

    pub fn open_door(&mut self) {
        self.event(Event::Door(DoorState::Open));
    }

    pub fn close_door(&mut self) {
        self.event(Event::Door(DoorState::Closed));
    }

    /// Presents a biometric sample of `name` to the `kind` module.
    pub fn present(&mut self, kind: BiometricKind, name: &str) {
        let module = self.module(kind);
        let event = if let Some(template) = module.enrolling.take() {
            if module.templates.iter().any(|(m, _)| m == name) {
                BiometricEvent::EnrollFailed {
                    kind,
                    reason: EnrollFailure::Duplicate,
                }
            } else {
                module.templates.push((name.to_string(), template));
                BiometricEvent::Enrolled { kind, template }
            }
        } else if let Some(&(_, template)) = module.templates.iter().find(|(m, _)| m == name) {
            BiometricEvent::Identified { kind, template }
        } else {
            BiometricEvent::NoMatch { kind }
        };
        self.event(Event::Biometric(event));
    }

    pub fn finger(&mut self, name: &str) {
        self.present(BiometricKind::Finger, name);
    }

    pub fn face(&mut self, name: &str) {
        self.present(BiometricKind::Face, name);
    }

    pub fn palm(&mut self, name: &str) {
        self.present(BiometricKind::Palm, name);
    }

    /// The template the `kind` module holds for `name`.
    pub fn template_of(&self, kind: BiometricKind, name: &str) -> Option<TemplateId> {
        self.modules
            .get(&kind)
            .and_then(|m| m.templates.iter().find(|(m, _)| m == name))
            .map(|&(_, t)| t)
    }

    /// Whether the `kind` module is enrolling.
    pub fn module_enrolling(&self, kind: BiometricKind) -> bool {
        self.modules
            .get(&kind)
            .is_some_and(|m| m.enrolling.is_some())
    }

    /// One step: an app command; returns the lock's reply to it.
    pub fn app(&mut self, privilege: Privilege, link: Link, command: AppCommand) -> Reply {
        self.event(Event::App(AppRequest {
            pairing: 1,
            privilege,
            link,
            command,
        }));
        self.reply()
            .unwrap_or_else(|| panic!("no reply to {command:?}:\n{}", self.describe()))
    }

    /// An administrator's phone next to the door.
    pub fn admin_app(&mut self, command: AppCommand) -> Reply {
        self.app(Privilege::Administrator, Link::Bluetooth, command)
    }

    /// One step: time passes by `d`; a `Tick` is sent at every deadline on the
    /// way, as a runtime would.
    pub fn wait(&mut self, d: Duration) {
        let target = self.now + d;
        self.wait_until(target);
    }

    /// One step: time passes until `target`, with ticks on the way.
    pub fn wait_until(&mut self, target: Instant) {
        assert!(target >= self.now, "time does not go backwards");
        self.begin();
        for _ in 0..10_000 {
            match self.lock.next_deadline() {
                Some(deadline) if deadline <= target => {
                    self.now = self.now.max(deadline);
                    self.send(Event::Tick);
                    if self.lock.next_deadline().is_some_and(|d| d <= self.now) {
                        panic!("a tick at {deadline} left the deadline in place");
                    }
                }
                _ => {
                    self.now = target;
                    return;
                }
            }
        }
        panic!("more than 10 000 deadlines before {target}");
    }

    /// Power is lost and comes back: the lock is rebuilt from what the store
    /// holds and booted. Monotonic time starts again at zero; the modules and
    /// the lock body keep what they hold.
    pub fn power_cycle(&mut self) {
        self.restart(false);
    }

    /// Power returns while SET is held (R-MNU-9).
    pub fn power_cycle_holding_set(&mut self) {
        self.restart(true);
    }

    fn restart(&mut self, set_held: bool) {
        self.check_store();
        self.now = Instant::ZERO;
        self.lock = Lock::restore(self.config, &self.flash, self.now).unwrap();
        self.event(Event::Boot { set_held });
    }

    /// Sends `event`, but power is cut once the persistence at the front of its
    /// batch reached flash and before anything else of the batch ran; then the
    /// lock restarts from flash. Returns the actions the lock asked for.
    pub fn cut_power_during(&mut self, event: Event) -> Vec<Action> {
        self.begin();
        let actions: Vec<Action> = self.lock.handle(self.now, event).into_iter().collect();
        for action in actions.iter().take_while(|a| a.is_persistence()) {
            if let Action::Persist(change) = action {
                self.flash.apply(change);
            }
        }
        self.now = Instant::ZERO;
        self.lock = Lock::restore(self.config, &self.flash, self.now).unwrap();
        self.send(Event::Boot { set_held: false });
        actions
    }

    /// The store and the lock agree on what must survive a restart.
    fn check_store(&self) {
        let ours = self.lock.snapshot();
        let mut stored: Vec<u8> = self.flash.people.iter().map(|p| p.number.get()).collect();
        stored.sort_unstable();
        let lock: Vec<u8> = ours.people.iter().map(|p| p.number.get()).collect();
        assert_eq!(stored, lock, "people on flash vs in the lock");
        assert_eq!(self.flash.attempts, ours.attempts, "attempts on flash");
        assert_eq!(self.flash.settings, ours.settings, "settings on flash");
    }

    // ----- set-up helpers -----------------------------------------------

    /// First start (R-UNL-3, R-MNU-2): answers the door question, creates
    /// administrator 001 with `admin_code`, and leaves the menu.
    pub fn first_start(&mut self, direction: DoorDirection, admin_code: &str) {
        let digit = match direction {
            DoorDirection::Right => 1,
            DoorDirection::Left => 2,
        };
        self.keys(&format!("ok {digit}"));
        assert_eq!(self.lock.settings().door_direction, Some(direction));
        self.keys(&format!("ok {admin_code} ok {admin_code} ok"));
        assert!(self.lock.in_menu(), "first start:\n{}", self.describe());
        assert_eq!(self.lock.people().len(), 1);
        self.admin_code = admin_code.to_string();
        self.keys("back");
        assert!(!self.lock.in_menu());
    }

    /// SET, then the administrator code: the menu is open.
    pub fn open_menu(&mut self) {
        assert!(!self.lock.in_menu(), "the menu is open already");
        self.set();
        assert!(
            self.prompted(Prompt::VerifyAdministrator),
            "SET did not ask for an administrator:\n{}",
            self.describe()
        );
        let code = self.admin_code.clone();
        self.keys(&format!("{code} ok"));
        assert!(
            self.lock.in_menu(),
            "menu did not open:\n{}",
            self.describe()
        );
    }

    /// In the menu's top screen: `1` or `2`; returns the number announced.
    pub fn menu_new_person(&mut self, role: Role) -> PersonNumber {
        self.keys(match role {
            Role::Administrator => "1",
            Role::User => "2",
        });
        self.prompts()
            .into_iter()
            .find_map(|p| match p {
                Prompt::PersonNumber(n) => Some(n),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no person number announced:\n{}", self.describe()))
    }

    /// At the credential choice: adds one credential (one step for a
    /// passcode, two for a biometric: choose, present).
    pub fn menu_credential(&mut self, cred: Cred<'_>) {
        match cred {
            Cred::Code(c) => self.keys(&format!("4 {c} ok {c} ok")),
            Cred::Face(name) => {
                self.keys("1");
                self.face(name);
            }
            Cred::Palm(name) => {
                self.keys("2");
                self.palm(name);
            }
            Cred::Finger(name) => {
                self.keys("3");
                self.finger(name);
            }
        }
    }

    /// Adds a person with these credentials through the menu and leaves it;
    /// every credential must be accepted.
    pub fn add_person(&mut self, role: Role, creds: &[Cred<'_>]) -> PersonNumber {
        self.open_menu();
        let number = self.menu_new_person(role);
        for &cred in creds {
            self.menu_credential(cred);
            assert!(
                self.prompted(Prompt::Success),
                "{cred:?} was not added:\n{}",
                self.describe()
            );
        }
        self.keys("back back");
        assert!(!self.lock.in_menu());
        number
    }

    pub fn add_user_with_passcode(&mut self, code: &str) -> PersonNumber {
        self.add_person(Role::User, &[Cred::Code(code)])
    }

    pub fn add_finger(&mut self, role: Role, name: &str) -> PersonNumber {
        self.add_person(role, &[Cred::Finger(name)])
    }

    /// A failed verification: a passcode nobody has.
    pub fn wrong_code(&mut self) {
        self.keys("909090 ok");
    }

    /// Sets the wall clock from the administrator's app.
    pub fn set_clock(&mut self, at: u64) {
        let reply = self.admin_app(AppCommand::SetClock(lock_core::Timestamp(at)));
        assert_eq!(reply, Reply::Done);
    }

    // ----- what the last step did ---------------------------------------

    /// The batches of the last step.
    pub fn batches(&self) -> &[Batch] {
        &self.step
    }

    /// Every action of the last step, in order.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.step.iter().flat_map(|b| b.actions.iter())
    }

    pub fn saw(&self, pred: impl Fn(&Action) -> bool) -> bool {
        self.actions().any(pred)
    }

    pub fn prompts(&self) -> Vec<Prompt> {
        self.actions()
            .filter_map(|a| match a {
                Action::Prompt(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    pub fn prompted(&self, prompt: Prompt) -> bool {
        self.prompts().contains(&prompt)
    }

    /// Log entries written by the last step.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.actions()
            .filter_map(|a| match a {
                Action::Log(r) => Some(r.entry),
                _ => None,
            })
            .collect()
    }

    /// Whether the last step logged an entry of this kind (SPEC §8 names).
    pub fn logged(&self, kind: &str) -> bool {
        self.logs().iter().any(|e| e.kind_name() == kind)
    }

    pub fn notified(&self, notice: Notice) -> bool {
        self.saw(|a| matches!(a, Action::Notify(x) if *x == notice))
    }

    /// The last reply of the last step.
    pub fn reply(&self) -> Option<Reply> {
        self.actions()
            .filter_map(|a| match a {
                Action::Reply(r) => Some(*r),
                _ => None,
            })
            .last()
    }

    /// Whether the last step drove the bolt towards `to`.
    pub fn drove(&self, to: BoltPosition) -> bool {
        self.saw(|a| matches!(a, Action::DriveBolt { to: t, .. } if *t == to))
    }

    pub fn persisted(&self, pred: impl Fn(&Change) -> bool) -> bool {
        self.saw(|a| matches!(a, Action::Persist(c) if pred(c)))
    }

    pub fn module_commands(&self) -> Vec<ModuleCommand> {
        self.actions()
            .filter_map(|a| match a {
                Action::Module(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// The last step, readable, for assertion messages.
    pub fn describe(&self) -> String {
        let mut s = format!("at {}:\n", self.now);
        for batch in &self.step {
            let _ = writeln!(s, "  {:?}", batch.event);
            for a in &batch.actions {
                let _ = writeln!(s, "      -> {a:?}");
            }
        }
        s
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
