//! The lock's settings: chosen at the keypad (menu `4`) or from the app.

/// Which way the door opens, chosen once after installation. It sets
/// the motor's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DoorDirection {
    /// Right-opening: key `1` at the question.
    Right,
    /// Left-opening: key `2` at the question.
    Left,
}

/// Which way to turn the motor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MotorDirection {
    /// Positive polarity.
    Forward,
    /// Negative polarity.
    Reverse,
}

/// Voice prompt loudness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Volume {
    /// Quiet.
    Low,
    /// The default.
    Medium,
    /// Loud.
    High,
}

impl Volume {
    /// The next level, wrapping: how the keypad setting cycles.
    pub const fn next(self) -> Volume {
        match self {
            Volume::Low => Volume::Medium,
            Volume::Medium => Volume::High,
            Volume::High => Volume::Low,
        }
    }
}

/// Shortest countdown the lock accepts.
pub(crate) const AUTO_LOCK_MIN_SECS: u16 = 5;
/// Longest countdown the lock accepts.
pub(crate) const AUTO_LOCK_MAX_SECS: u16 = 3600;

/// Every setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Settings {
    /// Unset until first start's question is answered.
    pub door_direction: Option<DoorDirection>,
    /// Voice prompt loudness.
    pub volume: Volume,
    /// Countdown lock on. Default off.
    pub auto_lock: bool,
    /// Countdown length in seconds.
    pub auto_lock_secs: u16,
    /// Remote unlock from the app allowed. Default off.
    pub remote_unlock: bool,
    /// Lockout protection on. Default on.
    pub lockout_protection: bool,
    /// Low-battery threshold in percent. Default 10.
    pub low_battery_percent: u8,
    /// How the radio listens; `None` until changed: the board's
    /// default ([`Config::radio`](crate::Config::radio)).
    pub radio: Option<RadioListening>,
}

/// How the radio listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RadioListening {
    /// Always: the app finds the lock at any time.
    Always,
    /// Only while the lock is awake and for a minute after (a touch, a
    /// button or a sensor wakes it), as battery locks whose radio cannot
    /// sleep do.
    WhileAwake,
}

impl RadioListening {
    /// The setting's name, for logs and the simulator.
    pub const fn name(self) -> &'static str {
        match self {
            RadioListening::Always => "always",
            RadioListening::WhileAwake => "while-awake",
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            door_direction: None,
            volume: Volume::Medium,
            auto_lock: false,
            auto_lock_secs: 30,
            remote_unlock: false,
            lockout_protection: true,
            low_battery_percent: 10,
            radio: None,
        }
    }
}

/// One setting changed, from the keypad or the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Setting {
    /// Prompt loudness.
    Volume(Volume),
    /// Countdown lock on or off.
    AutoLock(bool),
    /// Countdown length, 5 s to 1 h.
    AutoLockSecs(u16),
    /// Remote unlock allowed.
    RemoteUnlock(bool),
    /// Lockout protection on or off.
    LockoutProtection(bool),
    /// Low-battery threshold, 5 % to 50 %.
    LowBatteryPercent(u8),
    /// How the radio listens.
    Radio(RadioListening),
}

/// A setting's value is outside what the lock accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct OutOfRange;

impl Settings {
    /// Applies one change, refusing values out of range without changing anything.
    pub(crate) fn apply(&mut self, setting: Setting) -> Result<(), OutOfRange> {
        match setting {
            Setting::Volume(v) => self.volume = v,
            Setting::AutoLock(on) => self.auto_lock = on,
            Setting::AutoLockSecs(s) => {
                if !(AUTO_LOCK_MIN_SECS..=AUTO_LOCK_MAX_SECS).contains(&s) {
                    return Err(OutOfRange);
                }
                self.auto_lock_secs = s;
            }
            Setting::RemoteUnlock(on) => self.remote_unlock = on,
            Setting::LockoutProtection(on) => self.lockout_protection = on,
            Setting::LowBatteryPercent(p) => {
                if !(5..=50).contains(&p) {
                    return Err(OutOfRange);
                }
                self.low_battery_percent = p;
            }
            Setting::Radio(r) => self.radio = Some(r),
        }
        Ok(())
    }

    /// Whether every value is in range, for settings read back from flash.
    pub fn is_valid(&self) -> bool {
        (AUTO_LOCK_MIN_SECS..=AUTO_LOCK_MAX_SECS).contains(&self.auto_lock_secs)
            && (5..=50).contains(&self.low_battery_percent)
    }

    /// The motor direction that retracts (`to_unlock`) or throws the bolt, for
    /// this door. Left-opening doors mirror the lock body.
    pub fn motor_direction(&self, to_unlock: bool) -> MotorDirection {
        let mirrored = self.door_direction == Some(DoorDirection::Left);
        if to_unlock != mirrored {
            MotorDirection::Forward
        } else {
            MotorDirection::Reverse
        }
    }
}
