//! Alarms, the tamper siren, battery and USB power.

use crate::action::{Action, Actions, Change, Notice, Prompt, Refusal};
use crate::event::AlarmKind;
use crate::log::LogEntry;
use crate::time::{Duration, Instant};
use crate::visitor::VisitorCodes;

use super::Lock;
use super::timers::Timer;

/// The tamper siren sounds this long.
pub const TAMPER_ALARM: Duration = Duration::from_mins(1);

/// Below this battery level the camera is refused.
pub const CAMERA_MIN_BATTERY: u8 = 20;

impl<V: VisitorCodes> Lock<V> {
    /// Raises or clears an alarm, telling the app. Duress and intrusion
    /// alarms last until acknowledged, so they are on flash before the
    /// notice or anything else: a power cut must not clear them.
    pub(super) fn set_alarm(&mut self, now: Instant, out: &mut Actions, kind: AlarmKind, on: bool) {
        if self.alarms.set(kind, on) {
            if matches!(kind, AlarmKind::Duress | AlarmKind::Intrusion) {
                out.push(Action::Persist(Change::Armed(self.armed())));
            }
            if on {
                self.log(now, out, LogEntry::Alarm(kind));
                out.push(Action::Notify(Notice::Alarm(kind)));
            } else {
                out.push(Action::Notify(Notice::AlarmCleared(kind)));
            }
        }
    }

    /// R-ALM-1: the front panel was forced off: the siren sounds for
    /// [`TAMPER_ALARM`] (again from the last removal) and the app is told.
    pub(super) fn tamper(&mut self, now: Instant, out: &mut Actions) {
        if !self.timers.is_set(Timer::Tamper) {
            out.push(Action::Siren(true));
        }
        self.timers.set(Timer::Tamper, now + TAMPER_ALARM);
        self.set_alarm(now, out, AlarmKind::Tamper, true);
    }

    /// An alarm the app acknowledges: duress and intrusion end, the tamper
    /// siren stops; the others last while their cause does.
    pub(super) fn acknowledge(
        &mut self,
        now: Instant,
        kind: AlarmKind,
        out: &mut Actions,
    ) -> Result<(), Refusal> {
        match kind {
            AlarmKind::Duress | AlarmKind::Intrusion => {}
            AlarmKind::Tamper => {
                if self.timers.cancel(Timer::Tamper) {
                    out.push(Action::Siren(false));
                }
            }
            AlarmKind::SystemLocked | AlarmKind::LowBattery | AlarmKind::Jam => {
                return Err(Refusal::CauseActive);
            }
        }
        self.set_alarm(now, out, kind, false);
        Ok(())
    }

    /// R-ALM-3: below the stored threshold the low-battery alarm is on and
    /// a prompt says so (and again on every wake, in `touch`).
    pub(super) fn battery_measured(&mut self, now: Instant, percent: u8, out: &mut Actions) {
        self.battery = percent;
        let low = percent < self.stored.settings.low_battery_percent;
        let was = self.alarms.contains(AlarmKind::LowBattery);
        self.set_alarm(now, out, AlarmKind::LowBattery, low);
        if low && !was {
            self.prompt(out, Prompt::LowBattery);
        }
    }

    /// R-ALM-4: USB power bridges a flat battery, and the lock works
    /// normally: even the camera, refused below [`CAMERA_MIN_BATTERY`] on
    /// the battery alone.
    pub(super) fn camera_allowed(&self) -> Result<(), Refusal> {
        if self.battery < CAMERA_MIN_BATTERY && !self.usb_power {
            return Err(Refusal::BatteryTooLow);
        }
        Ok(())
    }
}
