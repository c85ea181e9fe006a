//! A lock on a door, driven through `lock_core::Lock` the way a runtime
//! drives it, recording what the runtime would hand the store: every
//! `Action::Persist` and `Action::Log` in order, and a `ModuleDone` after a
//! batch whose module commands belong to a deletion or a reset.

use lock_core::{
    Action, AppCommand, AppRequest, BiometricEvent, BiometricKind, BoltReport, Change, Config,
    Duration, Event, Instant, Key, Link, Lock, ModuleCommand, Privilege, TemplateId, Timestamp,
};

use super::Step;

pub const ADMIN_CODE: &str = "482915";
pub const USER_CODE: &str = "730418";

pub fn config() -> Config {
    Config {
        serial: 2026_0002,
        firmware: (1, 0, 0),
        verification_code: 314_159,
        ..Config::default()
    }
}

pub struct Door {
    pub lock: Lock,
    pub now: Instant,
    pub steps: Vec<Step>,
    enrolling: Option<(BiometricKind, TemplateId)>,
    /// Template ids the simulated modules hand out, per kind: distinctive
    /// two-byte values, so a scan of the flash for them means something.
    next_template: [u16; 3],
}

fn kind_index(kind: BiometricKind) -> usize {
    match kind {
        BiometricKind::Face => 0,
        BiometricKind::Palm => 1,
        BiometricKind::Finger => 2,
    }
}

impl Door {
    /// A factory-fresh lock, booted.
    pub fn fresh() -> Door {
        let mut door = Door {
            lock: Lock::new(config()),
            now: Instant::ZERO,
            steps: Vec::new(),
            enrolling: None,
            next_template: [0x2a51, 0x3b62, 0x4c73],
        };
        door.send(Event::Boot { set_held: false });
        door
    }

    /// A lock restored from a snapshot, booted.
    pub fn restored(lock: Lock) -> Door {
        let mut door = Door {
            lock,
            now: Instant::ZERO,
            steps: Vec::new(),
            enrolling: None,
            next_template: [0x2a51, 0x3b62, 0x4c73],
        };
        door.send(Event::Boot { set_held: false });
        door
    }

    /// Hands an event to the lock and answers what the hardware answers.
    pub fn send(&mut self, event: Event) {
        let mut queue = vec![event];
        while let Some(event) = queue.pop() {
            let actions = self.lock.handle(self.now, event);
            assert_eq!(actions.dropped(), 0);
            let mut owes_module_work = false;
            let mut module_work = false;
            for action in actions.iter() {
                match action {
                    Action::Persist(change) => {
                        owes_module_work |=
                            matches!(change, Change::PersonDeleted(_) | Change::FactoryReset);
                        self.steps.push(Step::Apply(change.clone()));
                    }
                    Action::Log(record) => self.steps.push(Step::Log(*record)),
                    Action::DriveBolt { to, .. } => {
                        queue.push(Event::Bolt(BoltReport::Reached(*to)));
                    }
                    Action::Module(ModuleCommand::Enroll { kind, template }) => {
                        self.enrolling = Some((*kind, *template));
                    }
                    Action::Module(ModuleCommand::Delete { .. } | ModuleCommand::Clear(_)) => {
                        module_work = true;
                    }
                    _ => {}
                }
            }
            if owes_module_work && module_work {
                self.steps.push(Step::ModuleDone);
            }
        }
    }

    /// Keys, as `"482915 ok"`; a dark keypad is touched first.
    pub fn keys(&mut self, text: &str) {
        if self.lock.keypad().is_none() {
            self.send(Event::Touch);
        }
        for word in text.split_whitespace() {
            let keys: Vec<Key> = match word {
                "ok" => vec![Key::Ok],
                "back" => vec![Key::Back],
                digits => digits
                    .chars()
                    .map(|c| Key::Digit(u8::try_from(c.to_digit(10).unwrap()).unwrap()))
                    .collect(),
            };
            for key in keys {
                self.now = self.now + Duration::from_millis(300);
                self.send(Event::Key(key));
            }
        }
    }

    /// Completes the enrollment the lock asked a module for, under a
    /// distinctive template id of the module's choosing.
    pub fn enroll(&mut self) -> TemplateId {
        let (kind, _) = self.enrolling.take().expect("no enrollment running");
        let slot = &mut self.next_template[kind_index(kind)];
        let template = TemplateId(*slot);
        *slot += 0x0101;
        self.send(Event::Biometric(BiometricEvent::Enrolled {
            kind,
            template,
        }));
        template
    }

    /// Power off and on: the lock comes back from its own snapshot (what a
    /// store that works returns) at time zero.
    pub fn power_cycle(&mut self, set_held: bool) {
        self.now = Instant::ZERO;
        self.lock = Lock::restore(config(), &self.lock.snapshot(), self.now).unwrap();
        self.send(Event::Boot { set_held });
    }

    /// An administrator's phone sets the wall clock.
    pub fn set_clock(&mut self, secs: u64) {
        self.send(Event::App(AppRequest {
            pairing: 1,
            privilege: Privilege::Administrator,
            link: Link::Bluetooth,
            command: AppCommand::SetClock(Timestamp(secs)),
        }));
    }

    pub fn wait(&mut self, d: Duration) {
        self.now = self.now + d;
        self.send(Event::Tick);
    }

    /// First start: right-opening door, administrator 001 with `code`.
    pub fn first_start(&mut self, code: &str) {
        self.keys("ok 1");
        self.keys(&format!("ok {code} ok {code} ok"));
        assert!(self.lock.in_menu());
        self.keys("back");
    }

    /// SET, then the administrator code.
    pub fn open_menu(&mut self, admin_code: &str) {
        self.send(Event::Set);
        self.keys(&format!("{admin_code} ok"));
        assert!(self.lock.in_menu());
    }

    /// A wrong passcode: a failure.
    pub fn wrong_code(&mut self) {
        self.keys("909090 ok");
    }

    /// One lock cycle: unlock with `code`, then the inside button locks.
    pub fn cycle(&mut self, code: &str) {
        self.keys(&format!("{code} ok"));
        self.wait(Duration::from_secs(5));
        self.send(Event::LockButton);
        self.wait(Duration::from_secs(30));
    }

    /// The whole story the power-cut tests replay: first start, people added
    /// with passcodes and every kind of template, credentials added to an
    /// existing person, failures up to a lockout, unlocks, a deletion, a
    /// factory reset and a second first start.
    pub fn story() -> Vec<Step> {
        let mut d = Door::fresh();
        d.first_start(ADMIN_CODE);
        // The phone sets the clock (S-VC-3: its mark is written).
        d.set_clock(1_800_000_000);
        // Person 002 with a passcode, then a fingerprint added to them.
        d.open_menu(ADMIN_CODE);
        d.keys("2");
        d.keys(&format!("4 {USER_CODE} ok {USER_CODE} ok"));
        d.keys("3");
        d.enroll();
        d.keys("back back");
        // Person 003 with a face, a palm and a finger.
        d.open_menu(ADMIN_CODE);
        d.keys("2 1");
        d.enroll();
        d.keys("2");
        d.enroll();
        d.keys("3");
        d.enroll();
        d.keys("back back");
        // Failures, an unlock that resets them, lock cycles.
        d.wrong_code();
        d.wrong_code();
        d.cycle(USER_CODE);
        for _ in 0..5 {
            d.wrong_code();
        }
        d.wait(Duration::from_mins(4));
        d.cycle(ADMIN_CODE);
        // A quarter hour on, the clock's mark again.
        d.wait(Duration::from_mins(16));
        // Delete 003 (templates in three modules), then 002.
        d.open_menu(ADMIN_CODE);
        d.keys("3 003 ok");
        d.keys("002 ok");
        d.keys("back");
        d.cycle(ADMIN_CODE);
        // Factory reset, and a new owner.
        d.power_cycle(true);
        d.send(Event::Key(Key::Ok));
        d.first_start("571046");
        d.cycle("571046");
        d.steps
    }
}
