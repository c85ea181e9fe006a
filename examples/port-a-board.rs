//! The least a new board implements to run the lock: a keypad with its
//! backlights, the bolt motor and its end switches, a battery gauge, a voice
//! module (its clips played by `lock_drivers::prompts::VoicePrompts`) and a
//! clock. Every other part is `lock_hal::Absent` (no face or
//! palm module, no fingerprint and no sensor telling a sample is presented,
//! no door or tamper sensor, no buttons, no radio), and the state lives in
//! `lock-store` on a flash partition.
//!
//! On a real board each type below wraps pins, a bus or a driver from
//! `lock-drivers`; here they print what the runtime asks of them, and a
//! simulated clock lets a person at the door act on a script: first start
//! (door direction, administrator 001), then an unlock by passcode.
//!
//! ```text
//! cargo run -p lock-examples --example port-a-board
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use lock_core::{Config, RadioListening};
use lock_drivers::prompts::VoicePrompts;
use lock_hal::{
    Absent, Backlight, Battery, BoltEnd, BoltPosition, BoltSensor, Clock, ErrorType, Key, KeyEvent,
    Keypad, Motor, MotorDirection, Voice,
};
use lock_runtime::{Board, Hardware, NoApp, Runtime};
use lock_store::mock_flash::MockFlash;
use lock_store::{Store, StoreConfig};

/// What the simulated world shares: the time, the person's script and the
/// bolt moving between its end switches.
/// How long the example runs: a minute of simulated time.
const RUN_MS: u64 = 60_000;

struct Door {
    now: u64,
    /// Key events and when the person makes them.
    script: VecDeque<(u64, KeyEvent)>,
    bolt: BoltPosition,
    /// When the moving bolt reaches which end.
    arrival: Option<(u64, BoltPosition)>,
    /// The earliest moment a clock wait asked for since time last moved.
    wakeup: Option<u64>,
}

type Shared = Rc<RefCell<Door>>;

fn say(door: &Shared, what: std::fmt::Arguments<'_>) {
    let now = door.borrow().now;
    println!("{:>4}.{:03}s  {what}", now / 1000, now % 1000);
}

// ----- the parts a board implements ---------------------------------------

/// The touch keypad (a BS8116A-3 on I2C, say). Cancel-safe: events wait in
/// the script until taken.
struct TouchKeys(Shared);
impl ErrorType for TouchKeys {
    type Error = Infallible;
}
impl Keypad for TouchKeys {
    async fn wait_for_event(&mut self) -> Result<KeyEvent, Infallible> {
        let event = poll_fn(|_| {
            let mut door = self.0.borrow_mut();
            match door.script.front() {
                Some(&(at, event)) if at <= door.now => {
                    door.script.pop_front();
                    Poll::Ready(event)
                }
                _ => Poll::Pending,
            }
        })
        .await;
        say(&self.0, format_args!("keypad   {event:?}"));
        Ok(event)
    }
}

/// The LEDs behind the keys: one bit per key.
struct KeyLights(Shared);
impl ErrorType for KeyLights {
    type Error = Infallible;
}
impl Backlight for KeyLights {
    fn set(&mut self, mask: u16) -> Result<(), Infallible> {
        say(&self.0, format_args!("lights   {mask:014b}"));
        Ok(())
    }
}

/// The H-bridge (a DRV8833): two GPIOs. Forward retracts the bolt on this
/// right-opening door.
struct Bridge(Shared);
impl ErrorType for Bridge {
    type Error = Infallible;
}
impl Motor for Bridge {
    fn drive(&mut self, direction: MotorDirection, _toward: BoltEnd) -> Result<(), Infallible> {
        say(&self.0, format_args!("motor    drive {direction:?}"));
        let mut door = self.0.borrow_mut();
        let to = match direction {
            MotorDirection::Forward => BoltPosition::Unlocked,
            MotorDirection::Reverse => BoltPosition::Locked,
        };
        if door.bolt != to {
            door.bolt = BoltPosition::Between;
            door.arrival = Some((door.now + 800, to));
        }
        Ok(())
    }
    fn brake(&mut self) -> Result<(), Infallible> {
        say(&self.0, format_args!("motor    brake"));
        Ok(())
    }
    fn coast(&mut self) -> Result<(), Infallible> {
        say(&self.0, format_args!("motor    coast"));
        Ok(())
    }
}

/// The bolt's two end switches on GPIO inputs.
struct EndSwitches(Shared);
impl ErrorType for EndSwitches {
    type Error = Infallible;
}
impl BoltSensor for EndSwitches {
    fn position(&mut self) -> Result<BoltPosition, Infallible> {
        Ok(self.0.borrow().bolt)
    }
    async fn wait_for_change(&mut self, last: BoltPosition) -> Result<BoltPosition, Infallible> {
        let now = poll_fn(|_| {
            let bolt = self.0.borrow().bolt;
            if bolt == last {
                Poll::Pending
            } else {
                Poll::Ready(bolt)
            }
        })
        .await;
        say(&self.0, format_args!("bolt     {now:?}"));
        Ok(now)
    }
}

/// A divider into an ADC.
struct Gauge(Shared);
impl ErrorType for Gauge {
    type Error = Infallible;
}
impl Battery for Gauge {
    async fn measure(&mut self) -> Result<u8, Infallible> {
        say(&self.0, format_args!("battery  87 %"));
        Ok(87)
    }
}

/// A voice module playing numbered clips (a JQ8900 on a UART). The board's
/// sound is `VoicePrompts` over it, which plays each announcement as the
/// clips of `lock_drivers::prompts`' table. A lock with a piezo instead
/// takes `lock_drivers::buzzer::Buzzer` on a PWM channel.
struct Speaker(Shared);
impl ErrorType for Speaker {
    type Error = Infallible;
}
impl Voice for Speaker {
    async fn play(&mut self, clip: u16) -> Result<(), Infallible> {
        say(&self.0, format_args!("voice    clip {clip}"));
        Ok(())
    }
    async fn wait_until_done(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), Infallible> {
        say(&self.0, format_args!("voice    volume {level}"));
        Ok(())
    }
}

/// `VoicePrompts` gives up on a clip whose end never comes after a delay.
/// On a board: embassy-time's `Delay`; here the simulated clock's.
impl embedded_hal_async::delay::DelayNs for SimClock {
    async fn delay_ns(&mut self, ns: u32) {
        let at = self
            .now_ms()
            .saturating_add(u64::from(ns.div_ceil(1_000_000)));
        self.wait_until(at).await;
    }
    async fn delay_ms(&mut self, ms: u32) {
        let at = self.now_ms().saturating_add(u64::from(ms));
        self.wait_until(at).await;
    }
}

/// The monotonic clock. On a board: embassy-time's `Timer::at`, sleeping
/// until an input's interrupt or the deadline. Here a wait notes when it is
/// due, and [`advance`] moves time once the runtime waits on everything.
struct SimClock(Shared);
impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.0.borrow().now
    }
    async fn wait_until(&self, at_ms: u64) {
        poll_fn(|_| {
            let mut door = self.0.borrow_mut();
            if door.now >= at_ms {
                return Poll::Ready(());
            }
            door.wakeup = Some(door.wakeup.map_or(at_ms, |t| t.min(at_ms)));
            Poll::Pending
        })
        .await
    }
}

/// Moves time to whichever comes first (a clock wait, the person's next
/// action, the bolt's arrival) once the runtime waits on its clock, which
/// its loop does only when it has nothing else to do (a store that yields
/// between erases does not); ready after [`RUN_MS`].
async fn advance(door: &Shared) {
    poll_fn(|_| {
        let mut door = door.borrow_mut();
        let Some(wakeup) = door.wakeup.take() else {
            return Poll::Pending;
        };
        let next_action = door.script.front().map(|&(t, _)| t);
        let arrival = door.arrival.map(|(t, _)| t);
        let next = [Some(wakeup), next_action, arrival]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(RUN_MS)
            .min(RUN_MS);
        door.now = door.now.max(next);
        if let Some((t, to)) = door.arrival
            && t <= door.now
        {
            door.bolt = to;
            door.arrival = None;
        }
        if door.now >= RUN_MS {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// The board: its part types, named once.
struct ExampleBoard;

impl Board for ExampleBoard {
    type Keypad = TouchKeys;
    type Backlight = KeyLights;
    type Face = Absent;
    type Palm = Absent;
    type Finger = Absent;
    type FaceSensor = Absent;
    type PalmSensor = Absent;
    type FingerSensor = Absent;
    type Motor = Bridge;
    type BoltSensor = EndSwitches;
    type StallSensor = Absent;
    type DoorSensor = Absent;
    type Tamper = Absent;
    type KeyCylinder = Absent;
    type SetButton = Absent;
    type LockButton = Absent;
    type Battery = Gauge;
    type UsbPower = Absent;
    type Sound = VoicePrompts<Speaker, SimClock>;
    type Siren = Absent;
    type Clock = SimClock;
}

/// The person at the door: each key half a second after the last.
fn script() -> VecDeque<(u64, KeyEvent)> {
    let mut t = 1_000;
    let mut events = VecDeque::new();
    let at = |t: u64, text: &str, events: &mut VecDeque<(u64, KeyEvent)>| {
        let mut t = t;
        for word in text.split_whitespace() {
            let keys: Vec<KeyEvent> = match word {
                "touch" => vec![KeyEvent::Touch],
                "ok" => vec![KeyEvent::Press(Key::Ok)],
                "back" => vec![KeyEvent::Press(Key::Back)],
                digits => digits
                    .bytes()
                    .map(|b| KeyEvent::Press(Key::Digit(b.wrapping_sub(b'0'))))
                    .collect(),
            };
            for key in keys {
                events.push_back((t, key));
                t += 500;
            }
        }
        t
    };
    // First start: ✓ 1 (right-opening), then administrator 001, then leave.
    t = at(t, "ok 1 ok 482915 ok 482915 ok back", &mut events);
    // Half a minute later: wake the keypad and open with the passcode.
    at(t + 30_000, "touch 482915 ok", &mut events);
    events
}

fn main() {
    let door = Rc::new(RefCell::new(Door {
        now: 0,
        script: script(),
        bolt: BoltPosition::Locked,
        arrival: None,
        wakeup: None,
    }));
    let hw = Hardware::<ExampleBoard> {
        keypad: TouchKeys(door.clone()),
        backlight: KeyLights(door.clone()),
        face: Absent,
        palm: Absent,
        finger: Absent,
        face_sensor: Absent,
        palm_sensor: Absent,
        finger_sensor: Absent,
        motor: Bridge(door.clone()),
        bolt: EndSwitches(door.clone()),
        stall: Absent,
        door: Absent,
        tamper: Absent,
        key_cylinder: Absent,
        set_button: Absent,
        lock_button: Absent,
        battery: Gauge(door.clone()),
        usb_power: Absent,
        sound: VoicePrompts::new(Speaker(door.clone()), SimClock(door.clone())),
        siren: Absent,
        clock: SimClock(door.clone()),
    };

    // The flash partition: on a board, esp-storage / embassy-rp / embassy-stm32
    // flash; here lock-store's mock NOR flash with ESP32-C3 geometry.
    type Flash = MockFlash<4, 4096>;
    let state = StoreConfig::min_state_bytes::<Flash>().next_multiple_of(4096);
    let config = StoreConfig::state_then_log(state, 4 * 4096);
    let sectors = usize::try_from(config.log.end).unwrap_or(0) / 4096;
    let Ok(store) = Store::new(Flash::new(sectors), config) else {
        eprintln!("the partitions do not fit the flash");
        return;
    };

    let lock = Config {
        serial: 2026_0001,
        firmware: (0, 1, 0),
        verification_code: 0,
        // R-NRG-3: this board has no radio; with one that cannot sleep,
        // `RadioListening::WhileAwake`.
        radio: RadioListening::Always,
        ..Config::default()
    };
    let mut runtime = Runtime::new(hw, store, NoApp, lock);
    let mut booted = false;
    // On a board: `runtime.run().await`, forever. Here: a minute of
    // simulated time, moved on whenever the runtime waits.
    embassy_futures::block_on(embassy_futures::select::select(
        runtime.run_with(|view| {
            if !booted {
                booted = true;
                println!("boot: {:?}", view.boot());
            }
        }),
        advance(&door),
    ));
    println!(
        "\nafter a minute: {} person(s), bolt {:?}",
        runtime.lock().people().len(),
        runtime.lock().bolt()
    );
}
