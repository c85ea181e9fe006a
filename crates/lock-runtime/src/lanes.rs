//! The lanes: each slow device (the face, palm and finger modules, the
//! sound) runs as a future of its own, joined beside the control loop, so a
//! 10 s face search or a 30-clip announcement never makes the lock deaf (R-RSP-1)
//! and a slow method never delays a fast one (R-RSP-2).
//!
//! The control loop hands a lane work through a bounded channel and never
//! waits for it; a module lane's answer comes back through [`Links::reports`]
//! as one more input of the control loop's select. Every channel is an
//! `embassy-sync` one on `NoopRawMutex`: the lanes and the loop are polled by
//! the same task, so there is no executor, no heap and no critical section.

use core::cell::Cell;
use core::future::pending;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use lock_core::{BiometricEvent, BiometricKind, Duration, TemplateId};
use lock_hal::{
    Announcement, Biometric, Clock, EnrollStatus, Error as _, ErrorKind, Identification,
    SampleSensor, Sound,
};

use crate::map;

/// After an input fails, the runtime stops listening to it for this long,
/// doubling with every further failure up to [`INPUT_BACKOFF_MAX`]: a broken
/// sensor must not spin the loop or fill the log.
pub const INPUT_BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest an input that keeps failing is left alone.
pub const INPUT_BACKOFF_MAX: Duration = Duration::from_mins(10);

/// Orders waiting for one module: a person's deletion (up to one per
/// template) and an identification or enrolment step behind it. A full queue
/// is a fault the runtime handles (see `Control::order`).
pub(crate) const ORDER_QUEUE: usize = 16;
/// Announcements waiting to be played: a whole batch (the longest, system
/// information, is a few) fits.
pub(crate) const ANNOUNCEMENT_QUEUE: usize = 16;
/// Answers waiting for the control loop. A lane that finds the queue full
/// waits: the control loop takes one per step.
const REPORT_QUEUE: usize = 4;

/// What the control loop asks of a module lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Start listening to the sample sensor: boot has handed over the work
    /// a deletion owes the module, which comes first (S-ST-2).
    Listen,
    /// Identify the presented sample (the core asks on a keypad touch, for a
    /// module that cannot tell a sample is there).
    Identify,
    /// Start an enrolment into this template.
    BeginEnroll(TemplateId),
    /// Abandon the enrolment under way, if any.
    CancelEnroll,
    /// Delete one template (owed work, S-ST-2).
    Delete(TemplateId),
    /// Delete every template (owed work, S-ST-2).
    Clear,
}

/// What a module lane answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    /// Something for the core: a match, no match, an enrolment step, a
    /// fault.
    Event(BiometricEvent),
    /// An owed [`Order::Delete`] or [`Order::Clear`] ended, and whether it
    /// succeeded.
    Done(bool),
}

/// One module lane's side of the links.
struct ModuleLink {
    orders: Channel<NoopRawMutex, Order, ORDER_QUEUE>,
    /// The module works on a sample, or an identification is queued for it:
    /// a second one would only repeat it.
    busy: Cell<bool>,
    /// The control loop no longer needs the identification under way.
    stop: Signal<NoopRawMutex, ()>,
}

impl ModuleLink {
    const fn new() -> Self {
        ModuleLink {
            orders: Channel::new(),
            busy: Cell::new(false),
            stop: Signal::new(),
        }
    }
}

/// What the lanes and the control loop share: the clock and the channels.
pub(crate) struct Links<C> {
    pub(crate) clock: C,
    face: ModuleLink,
    palm: ModuleLink,
    finger: ModuleLink,
    pub(crate) reports: Channel<NoopRawMutex, (BiometricKind, Report), REPORT_QUEUE>,
    announcements: Channel<NoopRawMutex, Announcement, ANNOUNCEMENT_QUEUE>,
    /// A new batch of prompts: the announcement playing now is cut.
    cut: Signal<NoopRawMutex, ()>,
    volume: Signal<NoopRawMutex, u8>,
    /// A key press the lock took.
    click: Signal<NoopRawMutex, ()>,
}

impl<C: Clock> Links<C> {
    pub(crate) fn new(clock: C) -> Self {
        Links {
            clock,
            face: ModuleLink::new(),
            palm: ModuleLink::new(),
            finger: ModuleLink::new(),
            reports: Channel::new(),
            announcements: Channel::new(),
            cut: Signal::new(),
            volume: Signal::new(),
            click: Signal::new(),
        }
    }

    /// Hands `order` to the module's lane without waiting; `false` when its
    /// queue is full. An identification the module is already busy with is
    /// dropped (it would only repeat it).
    pub(crate) fn order(&self, kind: BiometricKind, order: Order) -> bool {
        let link = self.module(kind);
        let identify = order == Order::Identify;
        if identify && link.busy.get() {
            return true;
        }
        let sent = link.orders.try_send(order).is_ok();
        if identify && sent {
            link.busy.set(true);
        }
        sent
    }

    /// Stops the identification `kind`'s module is at, if any (R-NRG-2: a
    /// face search nobody needs costs hundreds of milliamps): its lane
    /// drops it and puts the module at rest ([`Biometric::stop`]). One
    /// asked for and not begun yet is dropped too.
    pub(crate) fn stop_search(&self, kind: BiometricKind) {
        let link = self.module(kind);
        if link.busy.get() {
            link.stop.signal(());
        }
    }

    fn module(&self, kind: BiometricKind) -> &ModuleLink {
        match kind {
            BiometricKind::Face => &self.face,
            BiometricKind::Palm => &self.palm,
            BiometricKind::Finger => &self.finger,
        }
    }

    /// Hands `order` to the module's lane, waiting while its queue is full
    /// (at boot only: the owed work of an interrupted deletion).
    pub(crate) async fn order_waiting(&self, kind: BiometricKind, order: Order) {
        self.module(kind).orders.send(order).await;
    }

    /// Starts a new batch of speech: what plays now and what is queued is
    /// cut, so a new prompt is heard at once.
    pub(crate) fn cut(&self) {
        self.announcements.clear();
        self.cut.signal(());
    }

    /// Queues an announcement after the ones already queued; `false` when
    /// the queue is full (it is not heard).
    pub(crate) fn say(&self, what: Announcement) -> bool {
        self.announcements.try_send(what).is_ok()
    }

    /// Asks for a key click. Not queued: clicks asked for while one is
    /// due are one click.
    pub(crate) fn click(&self) {
        self.click.signal(());
    }

    pub(crate) fn set_volume(&self, level: u8) {
        self.volume.signal(level);
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}

pub(crate) fn index(kind: BiometricKind) -> usize {
    match kind {
        BiometricKind::Face => 0,
        BiometricKind::Palm => 1,
        BiometricKind::Finger => 2,
    }
}

/// Stops listening to an input that keeps failing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub(crate) quiet_until: Option<u64>,
    next: Duration,
}

impl Backoff {
    pub(crate) const NEW: Backoff = Backoff {
        quiet_until: None,
        next: INPUT_BACKOFF_FIRST,
    };

    /// Whether the input is listened to at `now`.
    pub(crate) fn listening(&self, now: u64) -> bool {
        self.quiet_until.is_none_or(|t| now >= t)
    }

    /// The input failed at `now`: quiet for a while, longer each time.
    pub(crate) fn fail(&mut self, now: u64) {
        self.quiet_until = Some(now.saturating_add(self.next.millis()));
        let doubled = self.next.doubled().millis();
        self.next = Duration::from_millis(doubled.min(INPUT_BACKOFF_MAX.millis()));
    }
}

/// Polls the futures in order and returns the first output, as nested
/// `select`s would, in one poll function: each arm `name = future`, every
/// future giving the same type. (Fourteen nested `select`s cost flash: a
/// state machine and an `Either` per level.)
macro_rules! race {
    ($($name:ident = $future:expr),+ $(,)?) => {
        async {
            $( let mut $name = core::pin::pin!($future); )+
            core::future::poll_fn(|cx| {
                $(
                    if let core::task::Poll::Ready(output) = $name.as_mut().poll(cx) {
                        return core::task::Poll::Ready(output);
                    }
                )+
                core::task::Poll::Pending
            })
            .await
        }
    };
}
pub(crate) use race;

/// Waits for `f`, or forever when `open` is false.
pub(crate) async fn gate<T>(open: bool, f: impl Future<Output = T>) -> T {
    if open { f.await } else { pending().await }
}

/// What woke a module lane.
enum ModuleWake {
    Order(Order),
    Sample(Result<(), ErrorKind>),
    /// The sample identified last is gone.
    Removed(Result<(), ErrorKind>),
    /// The sensor's back-off ended.
    QuietOver,
}

/// One module's lane: waits for an order or a presented sample and runs
/// each operation to completion (they are not cancel-safe), the control loop
/// listening meanwhile. It owns the module's enrolment state: a sample
/// during an enrolment is its next step.
pub(crate) async fn module_lane<M, P, C>(
    kind: BiometricKind,
    module: &mut M,
    sensor: &mut P,
    links: &Links<C>,
) -> !
where
    M: Biometric,
    P: SampleSensor,
    C: Clock,
{
    let link = links.module(kind);
    let mut enrolling = false;
    // Not before boot says so: no sample counts before the owed work.
    let mut started = false;
    // A sample was identified and may still be there: the sensor is asked
    // for its removal before for a new sample, so a finger left on the
    // sensor is one attempt, not one every half second.
    let mut lingering = false;
    let mut backoff = Backoff::NEW;
    loop {
        let now = links.now_ms();
        let listening = P::FITTED && started && backoff.listening(now);
        let quiet = backoff.quiet_until.filter(|t| *t > now);
        let wake = race!(
            order = async { ModuleWake::Order(link.orders.receive().await) },
            sample = async {
                if lingering {
                    let r = gate(listening, sensor.wait_for_removal()).await;
                    ModuleWake::Removed(r.map_err(|e| e.kind()))
                } else {
                    let r = gate(listening, sensor.wait_for_sample()).await;
                    ModuleWake::Sample(r.map_err(|e| e.kind()))
                }
            },
            listen = async {
                match quiet {
                    Some(t) => links.clock.wait_until(t).await,
                    None => pending().await,
                }
                ModuleWake::QuietOver
            },
        )
        .await;
        let report = match wake {
            ModuleWake::Order(Order::Identify) | ModuleWake::Sample(Ok(())) => {
                link.busy.set(true);
                let event = if enrolling {
                    // The module's own steps ask for the lift between
                    // captures: the next sample is the next step.
                    let status = module.enroll_step().await.map_err(|e| e.kind());
                    enrolling = matches!(status, Ok(EnrollStatus::Next(_)));
                    enroll_event(kind, status)
                } else {
                    lingering = P::FITTED;
                    let stopped = race!(
                        identified = async { Some(module.identify().await) },
                        stop = async {
                            link.stop.wait().await;
                            None
                        },
                    )
                    .await;
                    match stopped {
                        Some(result) => identify_event(kind, result.map_err(|e| e.kind())),
                        None => {
                            // Dropped half-way: the module back at rest.
                            if let Err(e) = module.stop().await {
                                warn!("module not stopped: {:?}", e.kind());
                            }
                            None
                        }
                    }
                };
                link.busy.set(false);
                // A stop that came as the search ended, or during an
                // enrolment step (which is not stopped), is for no one: left
                // standing it would end the next search at once.
                link.stop.reset();
                if matches!(event, Some(BiometricEvent::Fault { .. })) {
                    // A module that stops answering is left alone for a
                    // while, so a stuck sample line cannot keep it in
                    // timeouts.
                    backoff.fail(links.now_ms());
                }
                event.map(Report::Event)
            }
            ModuleWake::Removed(Ok(())) => {
                lingering = false;
                None
            }
            ModuleWake::Sample(Err(e)) | ModuleWake::Removed(Err(e)) => {
                warn!("sample sensor failed: {:?}", e);
                lingering = false;
                backoff.fail(links.now_ms());
                Some(Report::Event(BiometricEvent::Fault { kind }))
            }
            ModuleWake::QuietOver | ModuleWake::Order(Order::Listen) => {
                started = true;
                backoff.quiet_until = None;
                None
            }
            ModuleWake::Order(Order::BeginEnroll(template)) => {
                match module.begin_enroll(hal_template(template)).await {
                    Ok(()) => {
                        enrolling = true;
                        None
                    }
                    Err(e) => {
                        warn!("enrolment could not start: {:?}", e.kind());
                        enrolling = false;
                        Some(Report::Event(BiometricEvent::Fault { kind }))
                    }
                }
            }
            ModuleWake::Order(Order::CancelEnroll) => {
                if core::mem::take(&mut enrolling)
                    && let Err(e) = module.cancel_enroll().await
                {
                    warn!("enrolment cancel failed: {:?}", e.kind());
                }
                None
            }
            ModuleWake::Order(Order::Delete(template)) => {
                let r = module.delete(hal_template(template)).await;
                Some(Report::Done(done(r.map_err(|e| e.kind()))))
            }
            ModuleWake::Order(Order::Clear) => {
                enrolling = false;
                let r = module.clear().await;
                Some(Report::Done(done(r.map_err(|e| e.kind()))))
            }
        };
        if let Some(report) = report {
            links.reports.send((kind, report)).await;
        }
    }
}

fn done(result: Result<(), ErrorKind>) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => {
            warn!("module command failed: {:?}", e);
            false
        }
    }
}

fn hal_template(template: TemplateId) -> lock_hal::TemplateId {
    lock_hal::TemplateId(template.0)
}

fn core_template(template: lock_hal::TemplateId) -> TemplateId {
    TemplateId(template.0)
}

/// What the core hears of an identification; nothing when no sample was
/// there after all.
fn identify_event(
    kind: BiometricKind,
    result: Result<Identification, ErrorKind>,
) -> Option<BiometricEvent> {
    Some(match result {
        Ok(Identification::Match(id)) => BiometricEvent::Identified {
            kind,
            template: core_template(id),
        },
        Ok(Identification::NoMatch) => BiometricEvent::NoMatch { kind },
        Ok(Identification::NoSample) => return None,
        Err(e) => {
            warn!("identification failed: {:?}", e);
            BiometricEvent::Fault { kind }
        }
    })
}

/// What the core hears of an enrolment step.
fn enroll_event(
    kind: BiometricKind,
    result: Result<EnrollStatus, ErrorKind>,
) -> Option<BiometricEvent> {
    Some(match result {
        Ok(EnrollStatus::Next(step)) => BiometricEvent::EnrollProgress {
            kind,
            step: map::enroll_step(step),
        },
        Ok(EnrollStatus::Enrolled(id)) => BiometricEvent::Enrolled {
            kind,
            template: core_template(id),
        },
        Ok(EnrollStatus::Refused(reason)) => BiometricEvent::EnrollFailed {
            kind,
            reason: map::enroll_refusal(reason),
        },
        Err(e) => {
            warn!("enrolment step failed: {:?}", e);
            BiometricEvent::Fault { kind }
        }
    })
}

/// What woke the sound lane.
enum SoundWake {
    Cut,
    Volume(u8),
    Click,
    Say(Announcement),
}

/// The sound's lane: plays the queued announcements one after the other
/// ([`Sound::say`] returns when one has ended), so a failure is not cut off
/// by the one that follows it; a new batch ([`Links::cut`]) drops the one
/// playing, stops the sound and starts at once. A volume change or a key
/// click waits for the announcement playing to end or be cut (the volume
/// changes in the same batch as a prompt, which cuts); clicks asked for
/// during an announcement are not heard (the announcement answers the
/// key).
pub(crate) async fn sound_lane<S: Sound, C: Clock>(sound: &mut S, links: &Links<C>) -> ! {
    loop {
        let wake = race!(
            cut = async {
                links.cut.wait().await;
                SoundWake::Cut
            },
            volume = async { SoundWake::Volume(links.volume.wait().await) },
            click = async {
                links.click.wait().await;
                SoundWake::Click
            },
            next = async { SoundWake::Say(links.announcements.receive().await) },
        )
        .await;
        match wake {
            // Nothing plays between announcements: nothing to cut.
            SoundWake::Cut => {}
            SoundWake::Volume(level) => {
                if let Err(e) = sound.set_volume(level).await {
                    warn!("sound volume failed: {:?}", e.kind());
                }
            }
            SoundWake::Click => {
                if let Err(e) = sound.click().await {
                    warn!("key click failed: {:?}", e.kind());
                }
            }
            SoundWake::Say(what) => {
                let cut = race!(
                    said = async {
                        if let Err(e) = sound.say(&what).await {
                            warn!("sound failed: {:?}", e.kind());
                        }
                        false
                    },
                    cut = async {
                        links.cut.wait().await;
                        true
                    },
                )
                .await;
                if cut && let Err(e) = sound.stop().await {
                    warn!("sound stop failed: {:?}", e.kind());
                }
                links.click.reset();
            }
        }
    }
}
