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
//!   negotiates an MTU of 483 or more gets one notification per frame.
//!
//! The service carries bytes only: pairing, encryption and replay
//! protection are lock-proto's, above it. The BLE link itself is not paired
//! or bonded.
//!
//! # Advertising (S-PR-8)
//!
//! The lock advertises the flags and [`SERVICE_UUID`], nothing else: no
//! name, no serial, no manufacturer data. Its address is a static random
//! one of [`AddressRotation`]: drawn from a seed fresh from the board's
//! entropy source at each boot, changed after [`ADDRESS_ROTATION_SECS`] (15
//! minutes) of advertising and after each connection, never the one
//! before, never made of the chip's MAC address or serial. So a sniffer
//! sees a lock (the UUID says that much) but cannot tell it from another
//! one or follow it across rotations and boots.
//!
//! A phone finds its lock by the service UUID and asks: it connects to
//! each lock it hears advertising the UUID and sends a sealed Challenge
//! request; its own lock answers, any other drops the frame unanswered (a
//! failed authentication, lock-proto's S-BF-1), so the phone moves on after
//! a short wait. No token in the advertisement: one a phone could check
//! would need both sides to agree on a time or counter, which a lock without
//! a trusted clock does not have, and in a house with one or two locks
//! trying is cheap.
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

use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Poll;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_sync::waitqueue::MultiWakerRegistration;
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
    /// R-NRG-3: whether the lock wants the radio to listen.
    listening: AtomicBool,
    /// Whoever waits for `listening` to change (the GATT server, a board's
    /// radio power task): each is woken at every change.
    listeners: BlockingMutex<NoopRawMutex, RefCell<MultiWakerRegistration<LISTENERS>>>,
}

/// Tasks that may wait on [`BleLink::until_listening`] or
/// [`BleLink::until_quiet`] at once (more still work: a full list wakes
/// everyone, and each waits again).
const LISTENERS: usize = 4;

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
            listening: AtomicBool::new(true),
            listeners: BlockingMutex::new(RefCell::new(MultiWakerRegistration::new())),
        }
    }

    /// R-NRG-3: whether the lock wants the radio to listen (advertise and
    /// take a phone); it starts listening. [`Transport::listen`] sets it.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// The GATT server's side: returns once the lock wants the radio to
    /// listen (at once if it does). Any number of tasks may wait.
    pub async fn until_listening(&self) {
        self.until_listening_is(true).await;
    }

    /// The GATT server's side: returns once the lock wants the radio quiet
    /// (at once if it does): the server stops advertising. A connection
    /// already up is not ended by it; the lock asks for quiet only with no
    /// link. Any number of tasks may wait.
    pub async fn until_quiet(&self) {
        self.until_listening_is(false).await;
    }

    async fn until_listening_is(&self, wanted: bool) {
        core::future::poll_fn(|cx| {
            if self.listening() == wanted {
                return Poll::Ready(());
            }
            self.listeners.lock(|l| l.borrow_mut().register(cx.waker()));
            Poll::Pending
        })
        .await;
    }

    fn set_listening(&self, on: bool) {
        // Load and store, not a swap: thumbv6m has no atomic swap, and
        // the link is used from one executor only.
        if self.listening() != on {
            self.listening.store(on, Ordering::Relaxed);
            self.listeners.lock(|l| l.borrow_mut().wake());
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

/// The lock's GAP device name, the same on every lock (S-PR-8: it is not
/// advertised; a connected phone may read it).
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

/// The advertising interval, in microseconds: 1022.5 ms, one of the
/// intervals Apple's accessory design guidelines list for a phone to find
/// an accessory quickly, and long enough that advertising is not what
/// empties a battery (the energy report, docs/ENERGY.md, shows its share).
pub const ADVERTISING_INTERVAL_US: u64 = 1_022_500;

/// S-PR-8: the longest the lock advertises under one address, in seconds:
/// 15 minutes, the Bluetooth Core's recommended time for a private address.
/// The address also changes at each boot and after each connection.
pub const ADDRESS_ROTATION_SECS: u64 = 15 * 60;

/// S-PR-8: the lock's advertising addresses. Each is a static random
/// device address (Core Vol 6 Part B §1.3.2.1: the top two bits set, the
/// other 46 neither all zeros nor all ones) made from `SHA-256("ODL-ADV1" ‖
/// seed ‖ epoch)`, where the seed is 32 bytes drawn from the board's
/// entropy source at each boot and the epoch counts rotations. Nothing in
/// it comes from the chip, its serial or the lock's identity, so a sniffer
/// cannot link two addresses (or two boots) without the seed, which never
/// leaves RAM.
///
/// Why static random and not a resolvable private address: an RPA is for
/// peers that bonded and hold the lock's IRK, and the BLE link is never
/// bonded (lock-proto pairs above it). Why a static address that changes
/// while powered (the Core asks a static address to change only at power
/// up): nothing bonds to it or reconnects to it by address; a phone finds
/// its lock by the service UUID and the lock's answer to a sealed request
/// (see the crate docs). A non-resolvable private address would do as
/// well on the air; not every controller takes one for connectable
/// advertising.
///
/// ```
/// use lock_ble::AddressRotation;
/// let mut addresses = AddressRotation::new([7; 32]);
/// let first = addresses.current();
/// let second = addresses.rotate();
/// assert_ne!(first, second);
/// assert_eq!(second[5] & 0xC0, 0xC0); // static random, little-endian
/// ```
#[derive(Clone)]
pub struct AddressRotation {
    seed: [u8; 32],
    epoch: u64,
    current: [u8; 6],
}

impl core::fmt::Debug for AddressRotation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AddressRotation")
            .field("epoch", &self.epoch)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl AddressRotation {
    /// The addresses of this boot: `seed` is 32 bytes fresh from the
    /// board's entropy source.
    pub fn new(seed: [u8; 32]) -> AddressRotation {
        AddressRotation {
            seed,
            epoch: 0,
            current: fresh_address(advertising_address(&seed, 0), None),
        }
    }

    /// The address to advertise with now (little-endian, as HCI takes it).
    pub fn current(&self) -> [u8; 6] {
        self.current
    }

    /// How many times it rotated.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// S-PR-8: the next address, never the one before it.
    pub fn rotate(&mut self) -> [u8; 6] {
        self.epoch = self.epoch.wrapping_add(1);
        self.current = fresh_address(
            advertising_address(&self.seed, self.epoch),
            Some(self.current),
        );
        self.current
    }
}

/// The 48 bits of address `epoch` of a boot's `seed`, before
/// [`fresh_address`] makes them a valid, new static random address:
/// the first six bytes of `SHA-256("ODL-ADV1" ‖ seed ‖ epoch as u64 LE)`.
pub fn advertising_address(seed: &[u8; 32], epoch: u64) -> [u8; 6] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"ODL-ADV1");
    h.update(seed);
    h.update(epoch.to_le_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut address = [0u8; 6];
    for (a, d) in address.iter_mut().zip(digest) {
        *a = d;
    }
    address
}

/// S-PR-8: `candidate` as a static random address (top two bits of the
/// last, most significant byte set; the random part neither all zeros nor
/// all ones) that differs from `previous`.
pub fn fresh_address(candidate: [u8; 6], previous: Option<[u8; 6]>) -> [u8; 6] {
    let mut address = candidate;
    address[5] |= 0xC0;
    // Four addresses that differ in the low three bits of the first byte:
    // at most one of them has a random part all zeros or all ones, at most
    // one is `previous`, so one of the first three checked is good.
    for flip in [0x01, 0x02, 0x04, 0x00] {
        if is_static_random(&address) && Some(address) != previous {
            break;
        }
        address[0] ^= flip;
    }
    address
}

/// Whether `address` (little-endian) is a static random device address: the
/// top two bits set, the 46 random bits neither all zeros nor all ones.
pub fn is_static_random(address: &[u8; 6]) -> bool {
    let top = address[5] & 0xC0 == 0xC0;
    let zeros = address[..5].iter().all(|b| *b == 0) && address[5] & 0x3F == 0;
    let ones = address[..5].iter().all(|b| *b == 0xFF) && address[5] & 0x3F == 0x3F;
    top && !zeros && !ones
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

    /// R-NRG-3: tells the GATT server to advertise (`true`) or to stop
    /// advertising (`false`) so the radio and the processor can sleep.
    fn listen(&mut self, on: bool) {
        self.link.set_listening(on);
    }
}
