//! Drives `lock-core` by hand, as a runtime would, and prints every Action:
//! first start (door direction, administrator 001 with a passcode), adding a
//! user with a fingerprint through a pretend fingerprint module, and an
//! unlock by that finger, then by the passcode with extra digits around it.
//!
//! ```text
//! cargo run -p lock-examples --example drive-the-core
//! ```

use lock_core::{
    Action, BiometricEvent, BiometricKind, BoltReport, Config, Event, Instant, Key, Lock,
    ModuleCommand,
};

/// The lock plus what stands around it: a clock and a one-finger module.
struct Door {
    lock: Lock,
    now: Instant,
    /// The template id the module was asked to enroll into, if enrolling.
    enrolling: Option<lock_core::TemplateId>,
    /// Alice's finger, once enrolled.
    alice: Option<lock_core::TemplateId>,
}

impl Door {
    fn step(&mut self, what: &str, event: Event) {
        self.now = self.now + lock_core::Duration::from_millis(400);
        println!("\n{:>8}  {what}   ({event:?})", self.now.to_string());
        let actions = self.lock.handle(self.now, event);
        let mut follow_up = None;
        for action in &actions {
            println!("          -> {action:?}");
            match action {
                Action::Module(ModuleCommand::Enroll { template, .. }) => {
                    self.enrolling = Some(*template)
                }
                // The lock body reports the end position straight away here.
                Action::DriveBolt { to, .. } => follow_up = Some(*to),
                _ => {}
            }
        }
        if let Some(to) = follow_up {
            self.step("bolt sensor", Event::Bolt(BoltReport::Reached(to)));
        }
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            let key = match c {
                '0'..='9' => Key::Digit((c as u8).wrapping_sub(b'0')),
                'k' => Key::Ok,
                'b' => Key::Back,
                _ => continue,
            };
            self.step(&format!("key {c}"), Event::Key(key));
        }
    }

    fn finger(&mut self) {
        let kind = BiometricKind::Finger;
        let event = match (self.enrolling.take(), self.alice) {
            (Some(template), _) => {
                self.alice = Some(template);
                BiometricEvent::Enrolled { kind, template }
            }
            (None, Some(template)) => BiometricEvent::Identified { kind, template },
            (None, None) => BiometricEvent::NoMatch { kind },
        };
        self.step("alice's finger on the sensor", Event::Biometric(event));
    }
}

fn main() {
    let mut door = Door {
        lock: Lock::new(Config {
            serial: 2026_0001,
            ..Config::default()
        }),
        now: Instant::ZERO,
        enrolling: None,
        alice: None,
    };

    println!("== power on: a factory-fresh lock asks for the door direction");
    door.step("power on", Event::Boot { set_held: false });
    println!("\n== ✓ then 1: right-opening; ✓ creates the administrator (R-MNU-2)");
    door.keys("k1k");
    println!("\n== passcode 482915, ✓, again, ✓: person 001 is stored and the menu opens");
    door.keys("482915k482915k");
    println!("\n== 2: add a user; 3: fingerprint; the module enrolls alice");
    door.keys("23");
    door.finger();
    println!("\n== ↩ ↩: back to the menu, and out of it");
    door.keys("bb");
    println!("\n== alice's finger opens the door (R-UNL-2)");
    door.finger();
    println!("\n== the inside button locks again");
    door.step("inside lock button", Event::LockButton);
    println!("\n== anti-peeping (R-PIN-4): 77 482915 3 opens too");
    door.step("touch", Event::Touch);
    door.keys("774829153k");

    println!(
        "\npeople stored: {}, bolt: {:?}, next deadline: {:?}",
        door.lock.people().len(),
        door.lock.bolt(),
        door.lock.next_deadline()
    );
}
