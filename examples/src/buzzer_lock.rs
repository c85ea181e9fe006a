//! A keypad-and-buzzer lock, as many makers build one: a 4×3 printed keypad
//! with one LED and no SET button, a fingerprint module only, a DC motor on
//! a DRV8833 with one end switch (locked) and a short travel, a piezo
//! instead of a voice module, a door contact, and no radio.
//!
//! The board layer is the part a port writes: each type wraps what a board
//! has (pins, a UART, an ADC) and lock-drivers supplies the rest: the
//! bridge ([`HBridge`]), the one switch ([`EndSwitch`]), the LED
//! ([`SingleLed`]), the piezo's
//! patterns ([`Buzzer`], one piezo also the siren through
//! [`SharedPiezo`]), the battery gauge on this chip's 10-bit ADC
//! ([`DividerBattery`] with [`Chip::Any`]). What the lock must know of the
//! body and the modules is its configuration ([`config`]). Here the pins,
//! the module and the ADC are simulated in one [`Door`]; on a board they
//! are the HAL's.
//!
//! `examples/buzzer-lock.rs` runs it; `examples/tests/buzzer_lock.rs`
//! drives it through first start, a passcode, a fingerprint and a lockout.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use embedded_hal::digital::{self, InputPin, OutputPin};
use embedded_hal::pwm::{self, SetDutyCycle};
use embedded_hal_async::delay::DelayNs;
use embedded_hal_async::digital::Wait;
use lock_core::{BoltBody, BoltSwitches, Config, Duration, Modules, RadioListening};
use lock_drivers::battery::{self, ALKALINE_4AA, Chip, Divider, DividerBattery, RawAdc};
use lock_drivers::body::{EndSwitch, HBridge, NoPin};
use lock_drivers::buzzer::{Buzzer, PiezoSiren, PiezoSound, SharedPiezo};
use lock_drivers::matrix::SingleLed;
use lock_hal::{
    Absent, Biometric, BoltPosition, Clock, EnrollRefusal, EnrollStatus, EnrollStep, ErrorKind,
    ErrorType, Identification, KeyEvent, Keypad, Layout, SampleSensor, TemplateId,
};
use lock_runtime::{Board, Hardware};

// ----- the board layer ---------------------------------------------------------
//
// What a port writes: the parts' types, how they are built, and what the
// lock must know of them. With chips rather than simulations, `Keys` is
// lock-drivers' `MatrixKeypad` and `Finger` its `Fingerprint`.

/// The piezo, shared by the buzzer's announcements and the siren.
pub type Piezo = SharedPiezo<Pin>;

/// The board: its part types, named once.
pub struct BuzzerLock;

impl Board for BuzzerLock {
    type Keypad = Keys;
    type Backlight = SingleLed<Pin>;
    type Face = Absent;
    type Palm = Absent;
    type Finger = Finger;
    type FaceSensor = Absent;
    type PalmSensor = Absent;
    type FingerSensor = FingerWake;
    type Motor = HBridge<Pin, Pin, NoPin>;
    type BoltSensor = EndSwitch<Pin>;
    type StallSensor = Absent;
    type DoorSensor = Absent;
    type Tamper = Absent;
    type KeyCylinder = Absent;
    type SetButton = Absent;
    type LockButton = Absent;
    type Battery = DividerBattery<'static, Adc, NoPin, SimDelay>;
    type UsbPower = Absent;
    type Sound = Buzzer<PiezoSound<'static, Pin>, SimDelay>;
    type Siren = PiezoSiren<'static, Pin>;
    type Clock = SimClock;
}

/// The board's parts on `door`; the piezo lives as long as the program
/// (a `StaticCell` on a board).
pub fn hardware(door: &Shared) -> Result<Hardware<BuzzerLock>, lock_drivers::buzzer::Error> {
    let pin = |line| Pin(door.clone(), line);
    let piezo: &'static Piezo = Box::leak(Box::new(SharedPiezo::new(pin(Line::Piezo))));
    let sound = Buzzer::new(piezo.sound(), SimDelay(door.clone()))?;
    Ok(Hardware {
        keypad: Keys(door.clone()),
        backlight: SingleLed::new(pin(Line::Led)),
        face: Absent,
        palm: Absent,
        finger: Finger(door.clone()),
        face_sensor: Absent,
        palm_sensor: Absent,
        finger_sensor: FingerWake(door.clone()),
        motor: HBridge::new(pin(Line::In1), pin(Line::In2)),
        bolt: EndSwitch::locked(pin(Line::LockedSwitch), true),
        stall: Absent,
        door: Absent,
        tamper: Absent,
        key_cylinder: Absent,
        set_button: Absent,
        lock_button: Absent,
        battery: DividerBattery::new(
            Adc,
            NoPin,
            SimDelay(door.clone()),
            battery::Config {
                chip: Chip::Any {
                    full_scale_mv: 1_800,
                    max_raw: 1023,
                },
                divider: Divider {
                    numerator: 47,
                    denominator: 10,
                },
                curve: &ALKALINE_4AA,
                samples: 1,
                settle_ms: 0,
            },
        ),
        usb_power: Absent,
        sound,
        siren: piezo.siren(),
        clock: SimClock(door.clone()),
    })
}

/// What the lock knows of this body and its modules.
pub fn config() -> Config {
    Config {
        serial: 2026_0042,
        // No radio.
        radio: RadioListening::Always,
        // One switch, at locked; the bolt travels in 0.8 s.
        bolt: BoltBody {
            switches: BoltSwitches::LockedOnly,
            travel_limit: Duration::from_millis(1_200),
        },
        modules: Modules {
            finger: true,
            ..Modules::NONE
        },
        ..Config::default()
    }
}

// ----- simulated chips ----------------------------------------------------------
//
// What stands in for the board's pins, ADC, fingerprint module and timer.

/// What the simulated door holds: the time, the person's script, the bolt,
/// the fingerprint module's memory, and what the lock showed and sounded.
#[derive(Debug)]
pub struct Door {
    /// Milliseconds since power-up.
    pub now: u64,
    /// The earliest clock wait since time last moved.
    pub wakeup: Option<u64>,
    /// What the person does, and when.
    pub script: VecDeque<(u64, Act)>,
    /// The bolt.
    pub bolt: BoltPosition,
    /// When a moving bolt reaches which end.
    pub arrival: Option<(u64, BoltPosition)>,
    /// The bridge's inputs, IN1 and IN2.
    pub bridge: [bool; 2],
    /// The finger on the sensor, by name.
    pub finger: Option<&'static str>,
    /// The module's templates: page and whose finger.
    pub templates: Vec<(u16, &'static str)>,
    /// The enrolment under way: its page, and the first capture with
    /// whether the finger lifted since.
    pub enrolling: Option<(u16, Option<(&'static str, bool)>)>,
    /// The LED.
    pub led: bool,
    /// Each beep of the piezo: when it began and how long it lasted.
    pub beeps: Vec<(u64, u64)>,
    /// A beep sounding since.
    pub beep_since: Option<u64>,
}

/// What the person at the door does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// A key pressed or held.
    Key(KeyEvent),
    /// A finger laid on the sensor.
    Finger(&'static str),
    /// The finger lifted.
    Lift,
}

/// The door, shared by every part.
pub type Shared = Rc<RefCell<Door>>;

/// A GPIO (or a PWM channel) of the simulated board, one of
/// [`Line`]'s.
#[derive(Clone)]
pub struct Pin(Shared, Line);

/// What a [`Pin`] is wired to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// The bridge's IN1 (1/0 forward: retracts on this door).
    In1,
    /// The bridge's IN2.
    In2,
    /// The locked end switch, active low.
    LockedSwitch,
    /// The keypad's LED.
    Led,
    /// The piezo's PWM channel.
    Piezo,
}

impl digital::ErrorType for Pin {
    type Error = Infallible;
}

impl OutputPin for Pin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set(true);
        Ok(())
    }
}

impl Pin {
    fn set(&self, high: bool) {
        let mut d = self.0.borrow_mut();
        match self.1 {
            Line::In1 => d.bridge[0] = high,
            Line::In2 => d.bridge[1] = high,
            Line::Led => d.led = high,
            _ => {}
        }
        d.motor();
    }

    /// The locked switch is closed to ground at locked: high off it.
    fn high(&self) -> bool {
        self.0.borrow().bolt != BoltPosition::Locked
    }
}

impl InputPin for Pin {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(self.high())
    }
    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!self.high())
    }
}

impl Wait for Pin {
    async fn wait_for_high(&mut self) -> Result<(), Infallible> {
        until(&self.0, |d| (d.bolt != BoltPosition::Locked).then_some(())).await;
        Ok(())
    }
    async fn wait_for_low(&mut self) -> Result<(), Infallible> {
        until(&self.0, |d| (d.bolt == BoltPosition::Locked).then_some(())).await;
        Ok(())
    }
    async fn wait_for_rising_edge(&mut self) -> Result<(), Infallible> {
        self.wait_for_high().await
    }
    async fn wait_for_falling_edge(&mut self) -> Result<(), Infallible> {
        self.wait_for_low().await
    }
    async fn wait_for_any_edge(&mut self) -> Result<(), Infallible> {
        let was = self.high();
        until(&self.0, |d| {
            ((d.bolt != BoltPosition::Locked) != was).then_some(())
        })
        .await;
        Ok(())
    }
}

impl pwm::ErrorType for Pin {
    type Error = Infallible;
}

impl SetDutyCycle for Pin {
    fn max_duty_cycle(&self) -> u16 {
        100
    }
    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), Infallible> {
        let mut d = self.0.borrow_mut();
        let now = d.now;
        match (duty > 0, d.beep_since) {
            (true, None) => d.beep_since = Some(now),
            (false, Some(since)) => {
                d.beeps.push((since, now - since));
                d.beep_since = None;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Door {
    /// Power-up: the bolt thrown, nothing else.
    fn new() -> Door {
        Door {
            now: 0,
            wakeup: None,
            script: VecDeque::new(),
            bolt: BoltPosition::Locked,
            arrival: None,
            bridge: [false; 2],
            finger: None,
            templates: Vec::new(),
            enrolling: None,
            led: false,
            beeps: Vec::new(),
            beep_since: None,
        }
    }

    /// The bridge stopped driving: the bolt stays where it got to.
    fn motor(&mut self) {
        if self.driving().is_none() {
            self.arrival = None;
        }
    }

    /// Where the bridge drives the bolt, if it does.
    fn driving(&self) -> Option<BoltPosition> {
        match self.bridge {
            [true, false] => Some(BoltPosition::Unlocked),
            [false, true] => Some(BoltPosition::Locked),
            _ => None,
        }
    }
}

/// Waits until `ready` says so, looking again whenever polled.
async fn until<T>(door: &Shared, mut ready: impl FnMut(&mut Door) -> Option<T>) -> T {
    poll_fn(|_| ready(&mut door.borrow_mut()).map_or(Poll::Pending, Poll::Ready)).await
}

/// The 4×3 printed keypad, scanned by the board (lock-drivers has a
/// scanning driver; here the scan is the script).
pub struct Keys(Shared);

impl ErrorType for Keys {
    type Error = Infallible;
}

impl Keypad for Keys {
    /// Printed keys count in the dark; holding ↩ is SET, holding ✓
    /// leaving-home; no bell.
    const LAYOUT: Layout = Layout::MATRIX_12;

    async fn wait_for_event(&mut self) -> Result<KeyEvent, Infallible> {
        Ok(until(&self.0, |d| match d.script.front() {
            Some(&(at, Act::Key(event))) if at <= d.now => {
                d.script.pop_front();
                Some(event)
            }
            _ => None,
        })
        .await)
    }
}

/// The fingerprint module (an R503 on a UART: lock-drivers' `Fingerprint`
/// on a board): two captures with a lift between, 1:N search.
pub struct Finger(Shared);

impl ErrorType for Finger {
    type Error = ErrorKind;
}

impl Finger {
    /// The finger on the sensor, at the next moment there is one.
    async fn capture(&self) -> &'static str {
        until(&self.0, |d| d.finger).await
    }
}

impl Biometric for Finger {
    async fn identify(&mut self) -> Result<Identification, ErrorKind> {
        let d = self.0.borrow();
        Ok(match d.finger {
            None => Identification::NoSample,
            Some(name) => d
                .templates
                .iter()
                .find(|(_, who)| *who == name)
                .map_or(Identification::NoMatch, |(page, _)| {
                    Identification::Match(TemplateId(*page))
                }),
        })
    }
    async fn begin_enroll(&mut self, template: TemplateId) -> Result<(), ErrorKind> {
        self.0.borrow_mut().enrolling = Some((template.0, None));
        Ok(())
    }
    async fn enroll_step(&mut self) -> Result<EnrollStatus, ErrorKind> {
        let Some((page, first)) = self.0.borrow().enrolling else {
            return Ok(EnrollStatus::Refused(EnrollRefusal::BadCapture));
        };
        // First capture, then "lift", then "present" once lifted, then the
        // second capture stores the template.
        let status = match first {
            None => {
                let name = self.capture().await;
                let mut d = self.0.borrow_mut();
                if d.templates.iter().any(|(_, who)| *who == name) {
                    d.enrolling = None;
                    return Ok(EnrollStatus::Refused(EnrollRefusal::Duplicate));
                }
                d.enrolling = Some((page, Some((name, false))));
                EnrollStatus::Next(EnrollStep::Lift)
            }
            Some((name, false)) => {
                until(&self.0, |d| d.finger.is_none().then_some(())).await;
                self.0.borrow_mut().enrolling = Some((page, Some((name, true))));
                EnrollStatus::Next(EnrollStep::Present)
            }
            Some((first, true)) => {
                let name = self.capture().await;
                let mut d = self.0.borrow_mut();
                d.enrolling = None;
                if name != first {
                    return Ok(EnrollStatus::Refused(EnrollRefusal::BadCapture));
                }
                d.templates.push((page, name));
                EnrollStatus::Enrolled(TemplateId(page))
            }
        };
        Ok(status)
    }
    async fn cancel_enroll(&mut self) -> Result<(), ErrorKind> {
        self.0.borrow_mut().enrolling = None;
        Ok(())
    }
    async fn delete(&mut self, template: TemplateId) -> Result<(), ErrorKind> {
        self.0
            .borrow_mut()
            .templates
            .retain(|(p, _)| *p != template.0);
        Ok(())
    }
    async fn clear(&mut self) -> Result<(), ErrorKind> {
        self.0.borrow_mut().templates.clear();
        Ok(())
    }
}

/// The module's WAKEUP line: a finger is on the sensor.
pub struct FingerWake(Shared);

impl ErrorType for FingerWake {
    type Error = Infallible;
}

impl SampleSensor for FingerWake {
    async fn wait_for_sample(&mut self) -> Result<(), Infallible> {
        until(&self.0, |d| d.finger.map(|_| ())).await;
        Ok(())
    }
    async fn wait_for_removal(&mut self) -> Result<(), Infallible> {
        until(&self.0, |d| d.finger.is_none().then_some(())).await;
        Ok(())
    }
}

/// The chip's 10-bit ADC behind the battery divider: 4 AA at 5.6 V.
pub struct Adc;

impl RawAdc for Adc {
    type Error = ErrorKind;
    async fn read_raw(&mut self) -> Result<u16, ErrorKind> {
        // 5.6 V × 10 k / 47 k = 1.19 V of 1.8 V full scale.
        Ok(677)
    }
}

/// The monotonic clock (embassy-time on a board); here a wait notes when
/// it is due and [`Sim::run_until`] moves time.
pub struct SimClock(Shared);

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.0.borrow().now
    }
    async fn wait_until(&self, at_ms: u64) {
        until(&self.0, |d| {
            if d.now >= at_ms {
                return Some(());
            }
            d.wakeup = Some(d.wakeup.map_or(at_ms, |t| t.min(at_ms)));
            None
        })
        .await
    }
}

/// embassy-time's `Delay` on a board: the buzzer times its beeps with it.
pub struct SimDelay(Shared);

impl DelayNs for SimDelay {
    async fn delay_ns(&mut self, ns: u32) {
        let at = self.0.borrow().now + u64::from(ns).div_ceil(1_000_000);
        SimClock(self.0.clone()).wait_until(at).await;
    }
}

// ----- the simulation -------------------------------------------------------
//
// Not part of a port: what stands in for the door, the person and time.

/// What the runtime showed of the lock after its last step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// People stored.
    pub people: usize,
    /// Where the lock thinks the bolt is.
    pub bolt: Option<lock_core::BoltState>,
    /// The lockout is on (R-LKO).
    pub system_locked: bool,
}

/// The lock running on [`BuzzerLock`] in simulated time.
pub struct Sim {
    /// The door its parts look at.
    pub door: Shared,
    /// What the runtime last showed.
    pub seen: Rc<RefCell<Seen>>,
    runtime: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
}

impl Sim {
    /// A factory-new lock, its bolt thrown, powered up.
    pub fn new() -> Result<Sim, String> {
        let door: Shared = Rc::new(RefCell::new(Door::new()));
        let hw = hardware(&door).map_err(|e| format!("{e}"))?;
        type Flash = lock_store::mock_flash::MockFlash<8, 4096>;
        let state = lock_store::StoreConfig::min_state_bytes::<Flash>().next_multiple_of(4096);
        let layout = lock_store::StoreConfig::state_then_log(state, 4 * 4096);
        let sectors = usize::try_from(layout.log.end).unwrap_or(0) / 4096;
        let store = lock_store::Store::new(Flash::new(sectors), layout)
            .map_err(|e| format!("flash: {e:?}"))?;
        let seen = Rc::new(RefCell::new(Seen::default()));
        let shown = seen.clone();
        let runtime = Box::pin(async move {
            let mut runtime = lock_runtime::Runtime::new(hw, store, lock_runtime::NoApp, config());
            runtime
                .run_with(|view| {
                    let lock = view.lock();
                    *shown.borrow_mut() = Seen {
                        people: lock.people().len(),
                        bolt: Some(lock.bolt()),
                        system_locked: lock.alarms().contains(lock_core::AlarmKind::SystemLocked),
                    };
                })
                .await;
        });
        Ok(Sim {
            door,
            seen,
            runtime,
        })
    }

    /// Queues what the person does at `at_ms`: `"482915 ok"`, `"hold-back"`
    /// (SET), `"hold-ok"`, `"finger alice"`, `"lift"`; each key half a
    /// second after the one before. Returns when the last one happens.
    pub fn at(&mut self, at_ms: u64, text: &str) -> u64 {
        let mut t = at_ms;
        let mut d = self.door.borrow_mut();
        let mut words = text.split_whitespace();
        while let Some(word) = words.next() {
            use lock_hal::Key;
            let acts: Vec<Act> = match word {
                "ok" => vec![Act::Key(KeyEvent::Press(Key::Ok))],
                "back" => vec![Act::Key(KeyEvent::Press(Key::Back))],
                "hold-back" => vec![Act::Key(KeyEvent::Hold(Key::Back))],
                "hold-ok" => vec![Act::Key(KeyEvent::Hold(Key::Ok))],
                "finger" => {
                    let name: &'static str = words.next().unwrap_or("someone").to_string().leak();
                    vec![Act::Finger(name)]
                }
                "lift" => vec![Act::Lift],
                digits => digits
                    .bytes()
                    .filter(u8::is_ascii_digit)
                    .map(|b| Act::Key(KeyEvent::Press(Key::Digit(b - b'0'))))
                    .collect(),
            };
            for act in acts {
                d.script.push_back((t, act));
                t += 500;
            }
        }
        t
    }

    /// Runs until `until_ms` of simulated time. Time moves only once the
    /// runtime has waited on its clock for two polls in a row with nothing
    /// else to do, to the first of that wait, the person's next act and
    /// the bolt's arrival.
    pub fn run_until(&mut self, until_ms: u64) {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut quiet = (None, 0);
        while self.door.borrow().now < until_ms {
            if self.runtime.as_mut().poll(&mut cx).is_ready() {
                return;
            }
            let mut d = self.door.borrow_mut();
            // The person's finger acts need no one to take them.
            while let Some(&(at, act)) = d.script.front() {
                match act {
                    Act::Finger(name) if at <= d.now => d.finger = Some(name),
                    Act::Lift if at <= d.now => d.finger = None,
                    _ => break,
                }
                d.script.pop_front();
            }
            // A bridge left driving moves the bolt; it travels 0.8 s.
            if let Some(to) = d.driving()
                && d.bolt != to
                && d.arrival.is_none()
            {
                d.bolt = BoltPosition::Between;
                d.arrival = Some((d.now + 800, to));
            }
            let wakeup = d.wakeup.take();
            quiet = if wakeup == quiet.0 {
                (wakeup, quiet.1 + 1)
            } else {
                (wakeup, 0)
            };
            if quiet.1 < 2 {
                continue;
            }
            let next = [
                wakeup,
                d.script.front().map(|&(t, _)| t),
                d.arrival.map(|(t, _)| t),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until_ms)
            .min(until_ms);
            d.now = d.now.max(next);
            if let Some((t, to)) = d.arrival
                && t <= d.now
            {
                d.bolt = to;
                d.arrival = None;
            }
            quiet = (None, 0);
        }
    }
}
