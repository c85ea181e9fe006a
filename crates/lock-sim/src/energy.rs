//! The energy account (R-NRG-2): how long each simulated part spends in
//! each of its power states, in simulated time.
//!
//! The [`crate::world::World`] holds one [`Account`] when a run asks for it
//! ([`crate::world::World::count_energy`], as `lock-sim energy` does) and
//! shows it what the parts are doing ([`Observed`]) every time the runner
//! settles and before time moves ([`crate::world::World::energy_sync`]). Time stands still
//! while the runner polls the runtime, so a state seen at the end of a
//! settle is the state from that moment until the next; states that end by
//! themselves (a clip's end, a phone closing its link) are ended at their
//! own moment. The radio listens or not as the runtime last told the
//! simulated transport (R-NRG-3's `Transport::listen`); the account takes
//! that from the world and adds only the links.
//!
//! The account holds times and counts only; [`crate::power`] turns them
//! into charge with each board's currents.

/// A phone closes its link this long after its last frame, unless the lock
/// ends it first (S-PR-7) or the power goes: an estimate of an app that
/// disconnects once its request is answered and the person looks away.
pub const LINK_IDLE_MS: u64 = 10_000;

/// The voice module stays in its normal standby this long after a clip
/// before it sleeps: the WT2003H's automatic deep sleep after 5 s idle,
/// taken for the WT588F, whose figure was not found (docs/ENERGY.md).
pub const VOICE_STANDBY_MS: u64 = 5_000;

/// One day, in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// What the motor's bridge does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MotorState {
    /// Coasting, the driver asleep.
    #[default]
    Off,
    /// Driving the bolt.
    Running,
    /// Braking (both low sides on) until the runtime lets it coast.
    Braking,
}

/// What the radio does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadioState {
    /// Advertising, taking new links.
    Advertising,
    /// A phone's link is up.
    Connected,
    /// Quiet: neither advertising nor connected.
    Off,
}

impl RadioState {
    /// The radio is up (advertising or connected): on the ESP32-C3 that
    /// keeps the processor out of light sleep.
    pub fn up(self) -> bool {
        self != RadioState::Off
    }
}

/// What the parts are doing at one moment, as the world shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Keys lit.
    pub backlight_keys: u32,
    /// The motor.
    pub motor: MotorState,
    /// The face, palm and finger modules are at work (searching or
    /// capturing).
    pub modules: [bool; 3],
    /// When the clip playing ends (0, or a moment past: none plays).
    pub voice_until: u64,
    /// The siren sounds.
    pub siren: bool,
    /// The world's link: up, ended by the lock, none.
    pub link: Option<bool>,
    /// The radio listens (`World::radio_listening`: what the runtime last
    /// told the transport, R-NRG-3).
    pub listening: bool,
}

impl Default for Observed {
    fn default() -> Self {
        Observed {
            backlight_keys: 0,
            motor: MotorState::Off,
            modules: [false; 3],
            voice_until: 0,
            siren: false,
            link: None,
            listening: true,
        }
    }
}

/// A count or a time split by whether the radio was up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByRadio {
    /// With the radio advertising or connected.
    pub up: u64,
    /// With the radio off.
    pub off: u64,
}

impl ByRadio {
    fn add(&mut self, up: bool, n: u64) {
        let slot = if up { &mut self.up } else { &mut self.off };
        *slot = slot.saturating_add(n);
    }

    /// Both together.
    pub fn total(&self) -> u64 {
        self.up.saturating_add(self.off)
    }

    fn plus(self, other: ByRadio) -> ByRadio {
        ByRadio {
            up: self.up.saturating_add(other.up),
            off: self.off.saturating_add(other.off),
        }
    }
}

/// Milliseconds in each power state, and the processor's wake-ups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    /// All of the run.
    pub total_ms: u64,
    /// The keypad awake (any key lit).
    pub keypad_awake_ms: u64,
    /// Keys lit × time: one key lit for a second is 1,000.
    pub backlight_key_ms: u64,
    /// The face, palm and finger modules at work.
    pub working_ms: [u64; 3],
    /// The voice playing a clip.
    pub voice_playing_ms: u64,
    /// The voice in its standby after a clip.
    pub voice_standby_ms: u64,
    /// The motor driving the bolt.
    pub motor_running_ms: u64,
    /// The motor braking.
    pub motor_braking_ms: u64,
    /// The siren sounding.
    pub siren_ms: u64,
    /// The radio advertising.
    pub radio_advertising_ms: u64,
    /// A link up.
    pub radio_connected_ms: u64,
    /// The radio quiet.
    pub radio_off_ms: u64,
    /// The processor held out of its sleep by the motor (stall sampling)
    /// or a module's UART transfer.
    pub held_ms: ByRadio,
    /// The runtime polled because an input came or its timer fired.
    pub wakes: ByRadio,
    /// Changes the store wrote to flash (state, log, app records).
    pub flash_writes: ByRadio,
}

impl Times {
    /// An idle stretch of `ms`: everything at rest, the radio advertising
    /// (`listening`) or off, the battery read once an hour (R-NRG-1).
    pub fn idle(ms: u64, listening: bool) -> Times {
        let wakes = ms / 3_600_000;
        let mut t = Times {
            total_ms: ms,
            ..Times::default()
        };
        if listening {
            t.radio_advertising_ms = ms;
        } else {
            t.radio_off_ms = ms;
        }
        t.wakes.add(listening, wakes);
        t
    }

    /// The radio advertising or connected.
    pub fn radio_up_ms(&self) -> u64 {
        self.radio_advertising_ms
            .saturating_add(self.radio_connected_ms)
    }

    /// Both stretches, one after the other.
    pub fn plus(&self, o: &Times) -> Times {
        let [a, b, c] = self.working_ms;
        let [d, e, f] = o.working_ms;
        Times {
            total_ms: self.total_ms.saturating_add(o.total_ms),
            keypad_awake_ms: self.keypad_awake_ms.saturating_add(o.keypad_awake_ms),
            backlight_key_ms: self.backlight_key_ms.saturating_add(o.backlight_key_ms),
            working_ms: [
                a.saturating_add(d),
                b.saturating_add(e),
                c.saturating_add(f),
            ],
            voice_playing_ms: self.voice_playing_ms.saturating_add(o.voice_playing_ms),
            voice_standby_ms: self.voice_standby_ms.saturating_add(o.voice_standby_ms),
            motor_running_ms: self.motor_running_ms.saturating_add(o.motor_running_ms),
            motor_braking_ms: self.motor_braking_ms.saturating_add(o.motor_braking_ms),
            siren_ms: self.siren_ms.saturating_add(o.siren_ms),
            radio_advertising_ms: self
                .radio_advertising_ms
                .saturating_add(o.radio_advertising_ms),
            radio_connected_ms: self.radio_connected_ms.saturating_add(o.radio_connected_ms),
            radio_off_ms: self.radio_off_ms.saturating_add(o.radio_off_ms),
            held_ms: self.held_ms.plus(o.held_ms),
            wakes: self.wakes.plus(o.wakes),
            flash_writes: self.flash_writes.plus(o.flash_writes),
        }
    }
}

/// What the voice module does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voice {
    Sleep,
    Playing { until: u64 },
    Standby { until: u64 },
}

/// R-NRG-2: the account of the time each part spends in each power state:
/// the state of every part since [`Account::at`], and the time spent in
/// each state before.
#[derive(Debug, Clone)]
pub struct Account {
    at: u64,
    seen: Observed,
    voice: Voice,
    /// A phone's link is up until then (extended by each of its frames).
    link_until: Option<u64>,
    times: Times,
}

impl Default for Account {
    fn default() -> Self {
        Account::new()
    }
}

impl Account {
    /// An account at time 0, every part at rest.
    pub fn new() -> Account {
        Account {
            at: 0,
            seen: Observed::default(),
            voice: Voice::Sleep,
            link_until: None,
            times: Times::default(),
        }
    }

    /// Up to when the account has counted.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// The times counted so far (up to [`Account::at`]).
    pub fn times(&self) -> Times {
        self.times
    }

    /// The times up to `now`: what has been counted, and the present
    /// states carried on to `now`.
    pub fn times_at(&self, now: u64) -> Times {
        let mut copy = self.clone();
        copy.advance(now);
        copy.times
    }

    /// What the radio does now.
    pub fn radio(&self) -> RadioState {
        if self.link_until.is_some() {
            RadioState::Connected
        } else if !self.seen.listening {
            RadioState::Off
        } else {
            RadioState::Advertising
        }
    }

    /// The parts at `now` are as `obs` says.
    pub fn observe(&mut self, now: u64, obs: Observed) {
        if obs == self.seen {
            // Nothing changed: the present states run on, and are counted
            // when something next happens (cheap, as the runner shows the
            // account every settle; qemu-mps2 counts the runner's
            // instructions with the runtime's).
            return;
        }
        self.advance(now);
        let now = self.at;
        if obs.voice_until > now {
            self.voice = Voice::Playing {
                until: obs.voice_until,
            };
        } else if matches!(self.voice, Voice::Playing { .. }) {
            // Cut, or the power went.
            self.voice = Voice::Standby {
                until: now.saturating_add(VOICE_STANDBY_MS),
            };
        }
        let was_up = self.seen.link == Some(true);
        let is_up = obs.link == Some(true);
        if was_up && !is_up {
            // The lock ended the link (S-PR-7), or the power went.
            self.link_until = None;
        } else if is_up && !was_up {
            // `app connect`: a phone opened a link (its frames may already
            // have set a later end).
            let end = now.saturating_add(LINK_IDLE_MS);
            self.link_until = Some(self.link_until.map_or(end, |u| u.max(end)));
        }
        self.seen = obs;
    }

    /// A phone sent a frame now: its link is up until [`LINK_IDLE_MS`]
    /// after it (a phone connects to send).
    pub fn phone_frame(&mut self, now: u64) {
        self.advance(now);
        self.link_until = Some(self.at.saturating_add(LINK_IDLE_MS));
    }

    /// Power went: every link ends.
    pub fn power_lost(&mut self, now: u64) {
        self.advance(now);
        self.link_until = None;
    }

    /// The runtime was polled now because an input came or its timer fired.
    pub fn wake(&mut self, now: u64) {
        self.advance(now);
        let up = self.radio().up();
        self.times.wakes.add(up, 1);
    }

    /// The store wrote a change to flash now.
    pub fn flash_write(&mut self, now: u64) {
        self.advance(now);
        let up = self.radio().up();
        self.times.flash_writes.add(up, 1);
    }

    /// Counts the present states up to `to` (never back), ending the states
    /// that end by themselves on the way.
    fn advance(&mut self, to: u64) {
        let to = to.max(self.at);
        loop {
            let voice_end = match self.voice {
                Voice::Playing { until } | Voice::Standby { until } => Some(until),
                Voice::Sleep => None,
            };
            let next = [voice_end, self.link_until].into_iter().flatten().min();
            let Some(t) = next.filter(|t| *t <= to) else {
                break;
            };
            let t = t.max(self.at);
            self.count(t.saturating_sub(self.at));
            self.at = t;
            match self.voice {
                Voice::Playing { until } if until <= t => {
                    self.voice = Voice::Standby {
                        until: until.saturating_add(VOICE_STANDBY_MS),
                    };
                }
                Voice::Standby { until } if until <= t => self.voice = Voice::Sleep,
                _ => {}
            }
            if self.link_until.is_some_and(|u| u <= t) {
                self.link_until = None;
            }
        }
        self.count(to.saturating_sub(self.at));
        self.at = to;
    }

    /// Adds `dt` ms of the present states.
    fn count(&mut self, dt: u64) {
        if dt == 0 {
            return;
        }
        let radio = self.radio();
        let seen = self.seen;
        let t = &mut self.times;
        let add = |slot: &mut u64, n: u64| *slot = slot.saturating_add(n);
        add(&mut t.total_ms, dt);
        if seen.backlight_keys > 0 {
            add(&mut t.keypad_awake_ms, dt);
            add(
                &mut t.backlight_key_ms,
                dt.saturating_mul(u64::from(seen.backlight_keys)),
            );
        }
        for (slot, working) in t.working_ms.iter_mut().zip(seen.modules) {
            if working {
                add(slot, dt);
            }
        }
        match self.voice {
            Voice::Playing { .. } => add(&mut t.voice_playing_ms, dt),
            Voice::Standby { .. } => add(&mut t.voice_standby_ms, dt),
            Voice::Sleep => {}
        }
        match seen.motor {
            MotorState::Running => add(&mut t.motor_running_ms, dt),
            MotorState::Braking => add(&mut t.motor_braking_ms, dt),
            MotorState::Off => {}
        }
        if seen.siren {
            add(&mut t.siren_ms, dt);
        }
        match radio {
            RadioState::Advertising => add(&mut t.radio_advertising_ms, dt),
            RadioState::Connected => add(&mut t.radio_connected_ms, dt),
            RadioState::Off => add(&mut t.radio_off_ms, dt),
        }
        let held = seen.motor != MotorState::Off || seen.modules.iter().any(|m| *m);
        if held {
            t.held_ms.add(radio.up(), dt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs() -> Observed {
        Observed::default()
    }

    #[test]
    fn r_nrg_2_a_motor_run_counts_from_drive_to_brake_and_coast() {
        let mut a = Account::new();
        a.observe(
            1_000,
            Observed {
                motor: MotorState::Running,
                ..obs()
            },
        );
        a.observe(
            2_050,
            Observed {
                motor: MotorState::Braking,
                ..obs()
            },
        );
        a.observe(2_150, obs());
        let t = a.times_at(10_000);
        assert_eq!(t.total_ms, 10_000);
        assert_eq!(t.motor_running_ms, 1_050);
        assert_eq!(t.motor_braking_ms, 100);
        assert_eq!(t.held_ms.up, 1_150);
        assert_eq!(t.radio_advertising_ms, 10_000);
    }

    #[test]
    fn r_nrg_2_a_clip_plays_then_the_voice_stands_by_then_sleeps() {
        let mut a = Account::new();
        a.observe(
            0,
            Observed {
                voice_until: 700,
                ..obs()
            },
        );
        // A second clip cuts in at 500 ms and plays 1 s.
        a.observe(
            500,
            Observed {
                voice_until: 1_500,
                ..obs()
            },
        );
        let t = a.times_at(60_000);
        assert_eq!(t.voice_playing_ms, 1_500);
        assert_eq!(t.voice_standby_ms, VOICE_STANDBY_MS);
    }

    #[test]
    fn r_nrg_2_a_link_lasts_until_the_phone_is_quiet_or_the_lock_ends_it() {
        let mut a = Account::new();
        a.phone_frame(1_000);
        a.phone_frame(3_000);
        assert_eq!(a.radio(), RadioState::Connected);
        let t = a.times_at(60_000);
        assert_eq!(t.radio_connected_ms, 2_000 + LINK_IDLE_MS);
        // `app connect`, then the lock ends the link (S-PR-7).
        let mut b = Account::new();
        let up = Observed {
            link: Some(true),
            ..obs()
        };
        b.observe(0, up);
        b.observe(
            4_000,
            Observed {
                link: Some(false),
                ..obs()
            },
        );
        assert_eq!(b.times_at(20_000).radio_connected_ms, 4_000);
    }

    #[test]
    fn r_nrg_2_r_nrg_3_the_radio_is_off_while_told_not_to_listen_unless_linked() {
        let quiet = Observed {
            listening: false,
            ..obs()
        };
        let mut a = Account::new();
        a.observe(20_000, quiet);
        assert_eq!(a.radio(), RadioState::Off);
        // A phone's frame over a link still up: connected, quiet or not.
        a.phone_frame(100_000);
        assert_eq!(a.radio(), RadioState::Connected);
        // Told to listen again (the runtime's next input).
        a.observe(200_000, obs());
        assert_eq!(a.radio(), RadioState::Advertising);
        let t = a.times_at(3_600_000);
        assert_eq!(t.radio_advertising_ms, 20_000 + 3_400_000);
        assert_eq!(t.radio_connected_ms, LINK_IDLE_MS);
        assert_eq!(t.radio_off_ms, 80_000 + 90_000);
        assert_eq!(t.total_ms, 3_600_000);
    }

    #[test]
    fn r_nrg_2_wakes_and_flash_writes_count_by_the_radio_state() {
        let mut a = Account::new();
        a.wake(10);
        a.flash_write(10);
        a.observe(
            20,
            Observed {
                listening: false,
                ..obs()
            },
        );
        a.wake(30);
        let t = a.times();
        assert_eq!(t.wakes, ByRadio { up: 1, off: 1 });
        assert_eq!(t.flash_writes, ByRadio { up: 1, off: 0 });
    }

    #[test]
    fn an_idle_stretch_reads_the_battery_hourly() {
        let t = Times::idle(DAY_MS, false);
        assert_eq!(t.wakes.off, 24);
        assert_eq!(t.radio_off_ms, DAY_MS);
        let both = t.plus(&Times::idle(3_600_000, true));
        assert_eq!(both.total_ms, DAY_MS + 3_600_000);
        assert_eq!(both.wakes.total(), 25);
    }
}
