//! A keypad-and-buzzer lock (`examples/src/buzzer_lock.rs`): a 4×3 printed
//! keypad with one LED and no SET button, a fingerprint module only, a
//! motor with one end switch, a piezo for every sound. A person sets it up
//! at the keypad, opens it with the passcode, enrols a finger and opens
//! with it; the run prints what the lock showed and sounded.
//!
//! ```text
//! cargo run -p lock-examples --example buzzer-lock
//! ```

use lock_examples::buzzer_lock::Sim;

fn main() {
    let mut sim = match Sim::new() {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("the board did not start: {e}");
            return;
        }
    };
    let steps: [(&str, &str); 7] = [
        (
            "first start: ✓ 1 (right-opening), administrator 001",
            "ok 1 ok 482915 ok 482915 ok back",
        ),
        ("the passcode at the dark keypad", "482915 ok"),
        ("hold ✓: leaving-home, the bolt thrown", "hold-ok"),
        (
            "hold ↩ (SET), verify, add a user: number 2 counted",
            "hold-back 482915 ok 2",
        ),
        (
            "3 fingerprint: the finger twice, lifted between",
            "3 finger bob lift finger bob lift back back",
        ),
        ("the finger opens", "finger bob lift"),
        (
            "five wrong passcodes: the lockout",
            "135790 ok 135790 ok 135790 ok 135790 ok 135790 ok",
        ),
    ];
    let mut t = 1_000;
    for (what, acts) in steps {
        let from = sim.door.borrow().beeps.len();
        t = sim.at(t, acts);
        t += 8_000;
        sim.run_until(t);
        let door = sim.door.borrow();
        let beeps: Vec<String> = door
            .beeps
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(|(_, ms)| format!("{ms}"))
            .collect();
        println!("{:>5.1} s  {what}", door.now as f64 / 1000.0);
        println!(
            "         bolt {:?}, people {}",
            door.bolt,
            sim.seen.borrow().people
        );
        println!("         beeps (ms): {}", beeps.join(" "));
    }
}
