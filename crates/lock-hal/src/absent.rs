//! [`Absent`]: stands in for a part a board does not have.

use core::convert::Infallible;
use core::future::pending;

use crate::{
    Announcement, Backlight, Biometric, BoltPosition, BoltSensor, Button, ContactSensor,
    EnrollRefusal, EnrollStatus, ErrorType, Identification, Press, Received, SampleSensor, Siren,
    Sound, StallSensor, TemplateId, Transport, TriggerSensor, UsbPower, Voice, WallClock,
};

/// A part the board does not have: a sensor that never changes, a module
/// that never sees a sample, a radio that never receives. Its waits never
/// return, so the runtime simply never hears from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Absent;

impl ErrorType for Absent {
    type Error = Infallible;
}

impl ContactSensor for Absent {
    /// Reads closed: a door without a sensor is taken to be closed.
    fn is_open(&mut self) -> Result<bool, Infallible> {
        Ok(false)
    }
    async fn wait_for_change(&mut self, _last_open: bool) -> Result<bool, Infallible> {
        pending().await
    }
}

impl BoltSensor for Absent {
    /// At no switch: a body without switches (the lock knows its bolt from
    /// its own runs, and does not ask).
    fn position(&mut self) -> Result<BoltPosition, Infallible> {
        Ok(BoltPosition::Between)
    }
    async fn wait_for_change(&mut self, _last: BoltPosition) -> Result<BoltPosition, Infallible> {
        pending().await
    }
}

impl TriggerSensor for Absent {
    async fn wait_for_trigger(&mut self) -> Result<(), Infallible> {
        pending().await
    }
}

impl StallSensor for Absent {
    async fn wait_for_stall(&mut self) -> Result<(), Infallible> {
        pending().await
    }
}

impl Biometric for Absent {
    async fn identify(&mut self) -> Result<Identification, Infallible> {
        Ok(Identification::NoSample)
    }
    async fn begin_enroll(&mut self, _template: TemplateId) -> Result<(), Infallible> {
        Ok(())
    }
    /// Refuses: there is no module to enroll into.
    async fn enroll_step(&mut self) -> Result<EnrollStatus, Infallible> {
        Ok(EnrollStatus::Refused(EnrollRefusal::Full))
    }
    async fn cancel_enroll(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn delete(&mut self, _template: TemplateId) -> Result<(), Infallible> {
        Ok(())
    }
    async fn clear(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// No sensor: the module cannot tell when a sample is presented.
impl SampleSensor for Absent {
    const FITTED: bool = false;
    async fn wait_for_sample(&mut self) -> Result<(), Infallible> {
        pending().await
    }
    /// Nothing is ever there.
    async fn wait_for_removal(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl Button for Absent {
    fn is_pressed(&mut self) -> Result<bool, Infallible> {
        Ok(false)
    }
    async fn wait_for_press(&mut self) -> Result<Press, Infallible> {
        pending().await
    }
}

impl UsbPower for Absent {
    fn is_present(&mut self) -> Result<bool, Infallible> {
        Ok(false)
    }
    async fn wait_for_change(&mut self, _last: bool) -> Result<bool, Infallible> {
        pending().await
    }
}

impl Voice for Absent {
    async fn play(&mut self, _clip: u16) -> Result<(), Infallible> {
        Ok(())
    }
    async fn wait_until_done(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn set_volume(&mut self, _level: u8) -> Result<(), Infallible> {
        Ok(())
    }
}

/// No sound at all: every announcement is silent.
impl Sound for Absent {
    async fn say(&mut self, _what: &Announcement) -> Result<(), Infallible> {
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    async fn set_volume(&mut self, _level: u8) -> Result<(), Infallible> {
        Ok(())
    }
    async fn click(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl Siren for Absent {
    fn set(&mut self, _on: bool) -> Result<(), Infallible> {
        Ok(())
    }
}

impl Backlight for Absent {
    fn set(&mut self, _mask: u16) -> Result<(), Infallible> {
        Ok(())
    }
}

impl Transport for Absent {
    async fn receive(&mut self, _buf: &mut [u8]) -> Result<Received, Infallible> {
        pending().await
    }
    /// Drops the frame: there is no radio.
    async fn send(&mut self, _frame: &[u8]) -> Result<(), Infallible> {
        Ok(())
    }
}

impl WallClock for Absent {
    fn now_secs(&mut self) -> Result<Option<u64>, Infallible> {
        Ok(None)
    }
}
