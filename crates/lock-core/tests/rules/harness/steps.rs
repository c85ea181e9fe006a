//! The steps a test takes on a [`Bench`]: one event, keys, a touch, SET,
//! the door, a finger, face or palm, an app command, time passing, power cuts
//! (with the store checked against the lock's own snapshot), and the set-up
//! shortcuts built from them (first start, opening the menu, adding people).

use super::*;

impl Bench {
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
}
