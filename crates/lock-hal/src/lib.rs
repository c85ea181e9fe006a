#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Async methods in public traits, as embedded-hal-async has them: the
// implementations run on single-threaded executors, so no `Send` bound.
#![allow(async_fn_in_trait)]
#![doc = include_str!("../README.md")]

mod absent;
mod biometric;
mod body;
mod error;
mod health;
mod input;
mod keypad;
mod output;

pub use absent::Absent;
pub use biometric::{
    Biometric, EnrollRefusal, EnrollStatus, EnrollStep, Identification, SampleSensor, TemplateId,
};
pub use body::{
    BoltEnd, BoltPosition, BoltSensor, ContactSensor, Motor, MotorDirection, StallSensor,
    TriggerSensor,
};
pub use error::{Error, ErrorKind, ErrorType};
pub use health::{
    ALPHA_LOG2, HealthConfig, HealthFailure, HealthTest, HealthTested, MinEntropy,
    NON_BINARY_WINDOW, NoiseSource, STARTUP_SAMPLES,
};
pub use input::{Battery, Button, Clock, Entropy, Press, Received, Transport, UsbPower, WallClock};
pub use keypad::{Backlight, Function, Gesture, Key, KeyEvent, Keypad, Layout};
pub use output::{
    Announcement, EnrollReason, Modality, PasscodeReason, Reason, RefusalClass, Siren, Sound, Voice,
};

/// Flash is `embedded-storage-async`'s [`NorFlash`](embedded_storage_async::nor_flash::NorFlash):
/// every board's HAL implements it already (esp-storage, embassy-stm32,
/// embassy-rp), and `lock-store` keeps the lock's state on it.
pub use embedded_storage_async::nor_flash;
