//! What a board hands the runtime: [`Board`] names its part types once,
//! [`Hardware`] holds the parts.

/// The types of a board's parts, named once so the runtime's type stays
/// short (`Runtime<MyBoard, MyStore, NoApp>`). A part the board lacks is
/// [`lock_hal::Absent`] where lock-hal allows it.
///
/// The crate docs show a whole board; `examples/port-a-board.rs` in the
/// repository is a runnable one.
pub trait Board {
    /// The touch keypad's input side.
    type Keypad: lock_hal::Keypad;
    /// The backlights behind the keys.
    type Backlight: lock_hal::Backlight;
    /// The 3D face module.
    type Face: lock_hal::Biometric;
    /// The palm-vein module.
    type Palm: lock_hal::Biometric;
    /// The fingerprint module.
    type Finger: lock_hal::Biometric;
    /// What tells that a face is in range, if anything
    /// ([`lock_hal::Absent`] when not: the face module then searches when
    /// the keypad is touched).
    type FaceSensor: lock_hal::SampleSensor;
    /// What tells that a hand is over the palm sensor, if anything.
    type PalmSensor: lock_hal::SampleSensor;
    /// What tells that a finger is on the sensor (its WAKEUP line), if
    /// anything.
    type FingerSensor: lock_hal::SampleSensor;
    /// The bolt motor's H-bridge.
    type Motor: lock_hal::Motor;
    /// The bolt's end switches.
    type BoltSensor: lock_hal::BoltSensor;
    /// The motor's over-current input.
    type StallSensor: lock_hal::StallSensor;
    /// The door contact (closed / open).
    type DoorSensor: lock_hal::ContactSensor;
    /// The front panel's tamper switch.
    type Tamper: lock_hal::TriggerSensor;
    /// The key-in-cylinder switch (R-UNL-1's mechanical key).
    type KeyCylinder: lock_hal::TriggerSensor;
    /// SET on the rear panel.
    type SetButton: lock_hal::Button;
    /// The inside electronic locking button (R-LCK-1).
    type LockButton: lock_hal::Button;
    /// The battery gauge.
    type Battery: lock_hal::Battery;
    /// The USB-C supply at the front (R-ALM-4).
    type UsbPower: lock_hal::UsbPower;
    /// The sound: a voice module (lock-drivers' `VoicePrompts` over its
    /// driver), a buzzer (lock-drivers' `Buzzer`), or
    /// [`lock_hal::Absent`].
    type Sound: lock_hal::Sound;
    /// The siren.
    type Siren: lock_hal::Siren;
    /// The monotonic clock and its timer.
    type Clock: lock_hal::Clock;
}

/// A board's parts, for [`Runtime::new`](crate::Runtime::new).
///
/// The app radio is not here: it belongs to the app protocol, which the
/// runtime reaches through [`App`](crate::App). A latch contact is not here
/// either: lock-core has no use for it yet.
#[allow(missing_docs)] // Each field is its `Board` type, documented there.
pub struct Hardware<B: Board> {
    pub keypad: B::Keypad,
    pub backlight: B::Backlight,
    pub face: B::Face,
    pub palm: B::Palm,
    pub finger: B::Finger,
    pub face_sensor: B::FaceSensor,
    pub palm_sensor: B::PalmSensor,
    pub finger_sensor: B::FingerSensor,
    pub motor: B::Motor,
    pub bolt: B::BoltSensor,
    pub stall: B::StallSensor,
    pub door: B::DoorSensor,
    pub tamper: B::Tamper,
    pub key_cylinder: B::KeyCylinder,
    pub set_button: B::SetButton,
    pub lock_button: B::LockButton,
    pub battery: B::Battery,
    pub usb_power: B::UsbPower,
    pub sound: B::Sound,
    pub siren: B::Siren,
    pub clock: B::Clock,
}
