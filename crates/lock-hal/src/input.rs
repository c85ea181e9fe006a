//! Buttons, power, radio, entropy and time.

use crate::ErrorType;

/// How a button was pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Press {
    /// Pressed and released within about 1.5 s.
    Short,
    /// Held for about 3 s (reported while still held).
    Long,
}

/// A push button: SET on the rear panel, the inside locking button.
pub trait Button: ErrorType {
    /// Whether it is held down right now (SET at power-up: R-MNU-9).
    fn is_pressed(&mut self) -> Result<bool, Self::Error>;

    /// Waits for the next press, debounced and classified. Cancel-safe.
    async fn wait_for_press(&mut self) -> Result<Press, Self::Error>;
}

/// The battery gauge.
pub trait Battery: ErrorType {
    /// Measures the charge left, 0 to 100 %. May take a few milliseconds (an
    /// ADC conversion); not cancel-safe.
    async fn measure(&mut self) -> Result<u8, Self::Error>;
}

/// The USB-C supply at the front (R-ALM-4).
pub trait UsbPower: ErrorType {
    /// Whether USB power is present now.
    fn is_present(&mut self) -> Result<bool, Self::Error>;

    /// Waits until presence differs from `last`. Cancel-safe.
    async fn wait_for_change(&mut self, last: bool) -> Result<bool, Self::Error>;
}

/// What [`Transport::receive`] took from the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Received {
    /// A frame of this many bytes, copied into the buffer.
    Frame(usize),
    /// A new link started (a phone connected): the frames after this came
    /// over it, until the next `LinkStarted`. The app side starts its clock
    /// here: a link that has not authenticated in time is ended with
    /// [`Transport::disconnect`] (S-PR-7). A transport with no connections
    /// of its own (a relay socket) never reports one.
    LinkStarted,
}

/// The app's radio link (a BLE GATT characteristic, a Wi-Fi socket): whole
/// frames in and out, and the start and end of each connection. What the
/// frames mean is `lock-proto`'s business.
///
/// S-PR-7, R-RSP-1: nothing here waits on the other end. [`Transport::send`]
/// returns at once whether or not the link takes the frame, and
/// [`Transport::disconnect`] only asks; so a stalled or hostile link never
/// holds the lock's loop.
pub trait Transport: ErrorType {
    /// Waits for the next frame or link start, in the order the link saw
    /// them, and copies a frame into `buf`. A frame longer than `buf` is
    /// dropped by the implementation (it returns what comes next).
    /// Cancel-safe: frames are queued by the radio stack.
    async fn receive(&mut self, buf: &mut [u8]) -> Result<Received, Self::Error>;

    /// Sends one frame over the current link. Never waits for the link:
    /// queues the frame and returns, or, when the link cannot take it now
    /// (its queue is full, no phone listens), drops it and returns an error
    /// ([`ErrorKind::Busy`](crate::ErrorKind::Busy) by convention), as a
    /// frame lost in the air would be.
    async fn send(&mut self, frame: &[u8]) -> Result<(), Self::Error>;

    /// Whether the frame [`Transport::receive`] returned last came from afar
    /// (relayed over Wi-Fi or the internet) rather than from a phone at the
    /// door (Bluetooth). The frame cannot tell; the link can. The lock
    /// allows remote unlock only when its setting says so (R-APP-2). The
    /// default: at the door.
    fn last_was_remote(&self) -> bool {
        false
    }

    /// S-PR-7: ends the link the frames since the last
    /// [`Received::LinkStarted`] came over (the app side decided it holds
    /// the radio hostage), and lets another phone connect at once. Returns
    /// at once: the radio carries it out. A request for a link that has
    /// already gone does nothing to the next one. The default does nothing,
    /// for a transport whose links are not the lock's to end (one that
    /// never reports [`Received::LinkStarted`]).
    fn disconnect(&mut self) {}

    /// R-NRG-3: whether the radio listens — advertises and takes new links
    /// (`true`), or goes quiet so the processor and the radio can sleep
    /// (`false`). The runtime asks for quiet only with no link up, when
    /// the lock's setting says the radio listens only while the lock is
    /// awake, a minute after the lock went idle; it asks to listen again
    /// as soon as a touch, a button or a sensor wakes the lock. Returns at
    /// once: the radio carries it out. A transport starts listening. The
    /// default does nothing, for a transport that is always reachable at
    /// no cost worth saving (a wired link, a test double).
    fn listen(&mut self, on: bool) {
        let _ = on;
    }
}

/// A true random number generator (the SoC's TRNG, a ring oscillator). Keys
/// and challenges are drawn from it. A raw noise source goes through
/// [`HealthTested`](crate::HealthTested) before it is conditioned.
pub trait Entropy: ErrorType {
    /// Fills `buf` with random bytes. Fails rather than return weak output
    /// (a health test that did not pass, say).
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Self::Error>;

    /// S-HW-4 (per-boot separation): which start of the lock this is, a
    /// count kept on flash that is one higher at every boot. lock-runtime's
    /// `ProtoApp` tells the source before it draws anything. A source that
    /// conditions a weak noise source mixes it into every output block, so
    /// two boots never hand out the same bytes even if the noise repeated;
    /// a source whose output owes nothing to earlier boots (a TRNG with its
    /// own checks) ignores it, as the default does.
    fn set_boot(&mut self, boot: u32) {
        let _ = boot;
    }
}

/// The monotonic clock, in milliseconds since start, and a timer on it.
pub trait Clock {
    /// Milliseconds since start; never goes back.
    fn now_ms(&self) -> u64;

    /// Waits until `now_ms() >= at_ms`; returns at once if it already is.
    /// Cancel-safe (the runtime drops it whenever an input comes first).
    /// Several may wait at once (the control loop and the voice lane), so it
    /// takes `&self`. A board may sleep here: nothing else runs until an
    /// input wakes it.
    async fn wait_until(&self, at_ms: u64);
}

/// A battery-backed wall clock, if the board has one.
pub trait WallClock: ErrorType {
    /// Seconds since 1970-01-01 UTC, or `None` when it lost its time.
    fn now_secs(&mut self) -> Result<Option<u64>, Self::Error>;
}

impl<T: Button + ?Sized> Button for &mut T {
    fn is_pressed(&mut self) -> Result<bool, Self::Error> {
        T::is_pressed(self)
    }
    async fn wait_for_press(&mut self) -> Result<Press, Self::Error> {
        T::wait_for_press(self).await
    }
}

impl<T: Battery + ?Sized> Battery for &mut T {
    async fn measure(&mut self) -> Result<u8, Self::Error> {
        T::measure(self).await
    }
}

impl<T: UsbPower + ?Sized> UsbPower for &mut T {
    fn is_present(&mut self) -> Result<bool, Self::Error> {
        T::is_present(self)
    }
    async fn wait_for_change(&mut self, last: bool) -> Result<bool, Self::Error> {
        T::wait_for_change(self, last).await
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    async fn receive(&mut self, buf: &mut [u8]) -> Result<Received, Self::Error> {
        T::receive(self, buf).await
    }
    async fn send(&mut self, frame: &[u8]) -> Result<(), Self::Error> {
        T::send(self, frame).await
    }
    fn last_was_remote(&self) -> bool {
        T::last_was_remote(self)
    }
    fn disconnect(&mut self) {
        T::disconnect(self)
    }
}

impl<T: Entropy + ?Sized> Entropy for &mut T {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Self::Error> {
        T::fill(self, buf)
    }
    fn set_boot(&mut self, boot: u32) {
        T::set_boot(self, boot)
    }
}

impl<T: Clock + ?Sized> Clock for &mut T {
    fn now_ms(&self) -> u64 {
        T::now_ms(self)
    }
    async fn wait_until(&self, at_ms: u64) {
        T::wait_until(self, at_ms).await
    }
}

impl<T: WallClock + ?Sized> WallClock for &mut T {
    fn now_secs(&mut self) -> Result<Option<u64>, Self::Error> {
        T::now_secs(self)
    }
}
