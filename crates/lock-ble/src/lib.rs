//! The lock's Bluetooth LE link: one GATT service that carries lock-proto
//! frames, and [`BleTransport`], the `lock_hal::Transport` the app protocol
//! (lock-runtime's `ProtoApp`) talks to.
//!
//! # The service
//!
//! - **Write** characteristic [`RX_UUID`] (phone → lock): one write is one
//!   frame, up to [`MAX_FRAME`] bytes. A phone with an ATT MTU below
//!   `MAX_FRAME + 3` uses a long (queued) write; the whole frame arrives as
//!   one.
//! - **Notify** characteristic [`TX_UUID`] (lock → phone): a frame goes out
//!   as notifications of at most ATT MTU − 3 bytes each
//!   ([`notification_len`]), in order; the frame header's body length
//!   (lock-proto's format) tells the phone where it ends. A phone that
//!   negotiates an MTU of 481 or more gets one notification per frame.
//!
//! The service carries bytes only: pairing, encryption and replay
//! protection are lock-proto's, above it. The BLE link itself is not paired
//! or bonded.
//!
//! # Layers
//!
//! The transport side ([`BleLink`], [`BleTransport`]) does not depend on a
//! BLE host: received frames wait in a queue until the app protocol takes
//! them (so [`BleTransport::receive`] is cancel-safe), and frames to send
//! wait in another until the GATT server notifies them. With the `trouble`
//! feature, `gatt::run` is that server on trouble-host 0.7 over any HCI
//! controller (the ESP32-C3's radio, an external HCI UART controller). A
//! board whose radio does not start runs [`discard`] instead, and the lock
//! goes on without the app. A board tied to another trouble-host release by
//! its controller (the Pico W's cyw43 needs trouble-host 0.6) writes its own
//! thin server over the same [`BleLink`], constants and contract.
//!
//! # The radio cannot be held hostage (S-PR-7)
//!
//! The server serves one phone at a time and tells the transport when each
//! connection starts ([`lock_hal::Received::LinkStarted`], in order with
//! the frames). The app side above decides when a connection has had its
//! chance (lock-runtime's `ProtoApp`: no authenticated frame within its
//! `LINK_AUTH_TIMEOUT`, or frames past a rate limit) and calls
//! [`Transport::disconnect`]; the server ends that connection and
//! advertises again as soon as it is gone. Sending never waits for the
//! phone: with [`QUEUE`] frames waiting, the next is dropped
//! ([`BleTransport::send`]), so a phone that stops taking notifications
//! cannot hold the lock's loop.
//!
//! Why not a crate: trouble-host is the BLE host (used, not rewritten); what
//! is here is the lock's service on it and the glue to lock-hal, which no
//! crate could provide.

#![no_std]

#[macro_use]
mod fmt;

#[cfg(feature = "trouble")]
pub mod gatt;

/// The README's examples, run as doctests (the crate docs are above).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use lock_hal::{ErrorKind, ErrorType, Received, Transport};
pub use lock_proto::{FrameBuf, MAX_FRAME};

/// Frames each way that may wait for the other side.
pub const QUEUE: usize = 2;

/// Frames between the GATT server and the transport.
pub type FrameQueue = Channel<NoopRawMutex, FrameBuf, QUEUE>;

/// What the GATT server hands the transport, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
// No heap to box into: the queue holds frames by value, as `FrameQueue` does.
#[allow(clippy::large_enum_variant)]
pub enum Inbound {
    /// Connection number `n` started: the frames after it came over it.
    LinkStarted(u32),
    /// A frame the phone wrote.
    Frame(FrameBuf),
}

/// What passes between the GATT server and [`BleTransport`]: the frames the
/// phone wrote and each connection's start (in order), the frames for the
/// phone, and the app side's request to end a connection (S-PR-7). A board
/// makes one and lends it to both.
pub struct BleLink {
    received: Channel<NoopRawMutex, Inbound, QUEUE>,
    outgoing: FrameQueue,
    end: Signal<NoopRawMutex, u32>,
}

impl Default for BleLink {
    fn default() -> Self {
        BleLink::new()
    }
}

impl BleLink {
    /// Empty queues, no connection.
    pub const fn new() -> BleLink {
        BleLink {
            received: Channel::new(),
            outgoing: Channel::new(),
            end: Signal::new(),
        }
    }

    /// The GATT server's side: connection `number` started. What the last
    /// one wrote and the lock has not taken yet is dropped (its phone is
    /// gone), and so is a request to end an earlier connection; the
    /// transport hears of the new one before any of its frames.
    pub fn link_started(&self, number: u32) {
        self.received.clear();
        self.end.reset();
        // Cannot fail: the queue was just emptied.
        let _ = self.received.try_send(Inbound::LinkStarted(number));
    }

    /// The GATT server's side: the phone wrote a frame. `false` if it was
    /// dropped because the lock has not taken the last [`QUEUE`] ones yet.
    pub fn frame_received(&self, frame: FrameBuf) -> bool {
        self.received.try_send(Inbound::Frame(frame)).is_ok()
    }

    /// The GATT server's side: waits until the app side asks to end
    /// connection `number` ([`Transport::disconnect`], S-PR-7). Requests for
    /// other connections are ignored. Cancel-safe.
    pub async fn wait_for_end(&self, number: u32) {
        while self.end.wait().await != number {}
    }

    /// The GATT server's side: the frames the lock sends, for it to notify
    /// (or [`discard`]).
    pub fn outgoing(&self) -> &FrameQueue {
        &self.outgoing
    }

    /// What the GATT server received and the transport has not taken yet:
    /// frames and connection starts (for tests and diagnostics).
    pub fn try_take_received(&self) -> Option<Inbound> {
        self.received.try_receive().ok()
    }
}

/// The lock-proto service's UUID.
pub const SERVICE_UUID: &str = "6f6c0001-6f6f-7264-6f6f-726c6f636b00";
/// The write characteristic's UUID (phone → lock).
pub const RX_UUID: &str = "6f6c0002-6f6f-7264-6f6f-726c6f636b00";
/// The notify characteristic's UUID (lock → phone).
pub const TX_UUID: &str = "6f6c0003-6f6f-7264-6f6f-726c6f636b00";

/// [`SERVICE_UUID`] as a number.
pub const SERVICE_UUID_VALUE: u128 = uuid_value(SERVICE_UUID);
/// [`RX_UUID`] as a number.
pub const RX_UUID_VALUE: u128 = uuid_value(RX_UUID);
/// [`TX_UUID`] as a number.
pub const TX_UUID_VALUE: u128 = uuid_value(TX_UUID);
const _: () = assert!(SERVICE_UUID_VALUE != 0 && RX_UUID_VALUE != 0 && TX_UUID_VALUE != 0);

/// [`SERVICE_UUID`], little-endian, as advertisements carry it.
pub const SERVICE_UUID_LE: [u8; 16] = SERVICE_UUID_VALUE.to_le_bytes();

/// A UUID's canonical text (32 hex digits, dashes anywhere) as a number; 0
/// for anything else. For the constants above, at compile time.
pub const fn uuid_value(uuid: &str) -> u128 {
    let mut value = 0u128;
    let mut digits = 0u32;
    let mut rest = uuid.as_bytes();
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        let nibble = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'-' => continue,
            _ => return 0,
        };
        digits += 1;
        value = value << 4 | nibble as u128;
    }
    if digits == 32 { value } else { 0 }
}

/// The name the lock advertises.
pub const NAME: &str = "open door lock";

/// The largest ATT MTU the lock accepts.
pub const MAX_ATT_MTU: u16 = 512;

/// Frames up to this long fit one notification at the largest MTU the lock
/// accepts (L2CAP header 4, ATT header 3).
const _: () = assert!(MAX_FRAME <= MAX_ATT_MTU as usize - 4 - 3);

/// The most frame bytes one notification carries on a link with this ATT
/// MTU: MTU − 3 (the ATT header), at least 1.
pub fn notification_len(att_mtu: u16) -> usize {
    usize::from(att_mtu.saturating_sub(3)).max(1)
}

/// Drops every frame the lock sends, forever: what serves `outgoing` while
/// no phone listens, and in place of the GATT server on a board whose radio
/// did not start. ([`BleTransport::send`] never waits anyway, S-PR-7: this
/// keeps frames for no one from filling the queue ahead of a phone.)
pub async fn discard(outgoing: &FrameQueue) -> core::convert::Infallible {
    loop {
        let _ = outgoing.receive().await;
    }
}

/// Runs `f`, [`discard`]ing what the lock sends meanwhile: advertising while
/// no phone listens, a radio still starting.
pub async fn discarding<T>(outgoing: &FrameQueue, f: impl Future<Output = T>) -> T {
    match embassy_futures::select::select(f, discard(outgoing)).await {
        embassy_futures::select::Either::First(value) => value,
        embassy_futures::select::Either::Second(never) => match never {},
    }
}

/// A static random device address (the top two bits set) made from a
/// chip's unique 6 bytes (a MAC address, a serial number), little-endian.
pub fn static_random_address(unique: [u8; 6]) -> [u8; 6] {
    let mut address = unique;
    address[5] |= 0xC0;
    address
}

/// The app protocol's end of the link.
pub struct BleTransport<'a> {
    link: &'a BleLink,
    /// The connection the frames came over since the last
    /// [`Received::LinkStarted`], if any.
    current: Option<u32>,
}

impl<'a> BleTransport<'a> {
    /// The transport over the link the GATT server serves.
    pub fn new(link: &'a BleLink) -> Self {
        BleTransport {
            link,
            current: None,
        }
    }
}

impl ErrorType for BleTransport<'_> {
    type Error = ErrorKind;
}

impl Transport for BleTransport<'_> {
    /// The next received frame or connection start. A frame longer than
    /// `buf` is dropped with a warning and the next one awaited.
    /// Cancel-safe.
    async fn receive(&mut self, buf: &mut [u8]) -> Result<Received, ErrorKind> {
        loop {
            match self.link.received.receive().await {
                Inbound::LinkStarted(number) => {
                    self.current = Some(number);
                    return Ok(Received::LinkStarted);
                }
                Inbound::Frame(frame) => {
                    if let Some(into) = buf.get_mut(..frame.len()) {
                        into.copy_from_slice(&frame);
                        return Ok(Received::Frame(frame.len()));
                    }
                    warn!("ble: a {}-byte frame does not fit, dropped", frame.len());
                }
            }
        }
    }

    /// S-PR-7, R-RSP-1: queues a frame for the phone and returns at once.
    /// While [`QUEUE`] frames already wait (the phone does not take its
    /// notifications) the frame is dropped ([`ErrorKind::Busy`]): a stalled
    /// link never holds the lock's loop. A frame longer than [`MAX_FRAME`]
    /// is refused ([`ErrorKind::Other`]).
    async fn send(&mut self, frame: &[u8]) -> Result<(), ErrorKind> {
        let frame = FrameBuf::from_slice(frame).map_err(|_| ErrorKind::Other)?;
        self.link
            .outgoing
            .try_send(frame)
            .map_err(|_| ErrorKind::Busy)
    }

    /// S-PR-7: asks the GATT server to end the connection the frames since
    /// the last [`Received::LinkStarted`] came over; it advertises again
    /// once the connection is gone. Nothing to end before the first.
    fn disconnect(&mut self) {
        if let Some(number) = self.current.take() {
            self.link.end.signal(number);
        }
    }
}
