//! UART links that exist only while there is traffic, so that an idle UART
//! never holds the chip out of STOP (README.md, Energy).
//!
//! embassy-stm32 0.6 counts a `BufferedUart` (a permanent STOP 1 refcount)
//! and a `RingBufferedUartRx` (a refcount and a DMA wake guard) against
//! STOP for as long as they live. So the drivers and the BLE host do not
//! hold the UART: they hold a [`PortIo`], an `embedded-io-async` reader and
//! writer over two byte pipes, and [`serve`] builds the UART from its pins
//! when a side has something to say and drops it again after [`IDLE`]
//! without traffic. What wakes a link that is down:
//!
//! - **the lock's side:** a write, or (for a module) a read waiting for a
//!   reply: [`Port`]'s `want` signal;
//! - **the far side:** for the HCI controller its host-wake line, on EXTI
//!   ([`HciWake`]); a module speaks only when spoken to ([`Silent`]).
//!
//! The HCI link's sequence, and why no byte is lost, is in README.md
//! (Energy, "The HCI link").

use core::cell::Cell;

use embassy_futures::select::{Either, Either3, select, select3};
use embassy_stm32::exti::ExtiInput;
use embassy_stm32::gpio::Output;
use embassy_stm32::mode::Async;
use embassy_stm32::rcc::{StopMode, WakeGuard};
use embassy_stm32::usart;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::pipe::Pipe;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Instant, Timer};
use embedded_io_async::{Read, ReadReady, Write};

/// How long a link stays up after its last byte in either direction (and,
/// for the HCI link, after the controller released its host-wake line).
pub const IDLE: Duration = Duration::from_millis(100);

/// The bytes the runner moves between the UART and the pipes at a time.
const CHUNK: usize = 64;

/// What the runner shares with the [`PortIo`] handles: the two pipes and
/// the signals between them. `RX` and `TX` are the pipes' sizes.
pub struct Port<const RX: usize, const TX: usize> {
    rx: Pipe<NoopRawMutex, RX>,
    tx: Pipe<NoopRawMutex, TX>,
    /// Raised by a handle that needs the link up (a write, a module read).
    want: Signal<NoopRawMutex, ()>,
    /// A receive error, handed to the next (or the waiting) read.
    error: Signal<NoopRawMutex, usart::Error>,
    /// Raised by the runner after each transmitted chunk (for `flush`).
    sent: Signal<NoopRawMutex, ()>,
    /// Raised when [`Port::set_sleeps`] changes the mode.
    mode: Signal<NoopRawMutex, ()>,
    /// Reads waiting for bytes (they keep a module's link up).
    reading: Cell<u8>,
    /// The runner holds bytes it has taken from the UART and not yet put
    /// into the receive pipe.
    rx_busy: Cell<bool>,
    /// The runner holds bytes it has taken from the transmit pipe and not
    /// yet sent.
    tx_busy: Cell<bool>,
    /// Whether a waiting read needs the link up and the chip awake: a
    /// module's reply comes only after a command, so a read that waits
    /// for one is work in progress; the HCI host reads all the time, and
    /// its controller says itself when it has something.
    reads_want_link: bool,
    /// The link goes down when idle (`false`: it stays up however idle, for
    /// an HCI controller without the sleep protocol, where nothing would
    /// say when it has something to send). `false` at first, so that a
    /// port starts as zeros (in `.bss`, not in flash's `.data`).
    sleeps: Cell<bool>,
}

impl<const RX: usize, const TX: usize> Port<RX, TX> {
    /// A module's port: a read waiting for a reply keeps the link up and
    /// the chip out of STOP.
    pub const fn module() -> Self {
        Self::new(true, true)
    }

    /// The HCI port: up all the time until [`Port::set_sleeps`] says the
    /// controller's host-wake line works.
    pub const fn hci() -> Self {
        Self::new(false, true)
    }

    const fn new(reads_want_link: bool, sleeps: bool) -> Self {
        Port {
            rx: Pipe::new(),
            tx: Pipe::new(),
            want: Signal::new(),
            error: Signal::new(),
            sent: Signal::new(),
            mode: Signal::new(),
            reading: Cell::new(0),
            rx_busy: Cell::new(false),
            tx_busy: Cell::new(false),
            reads_want_link,
            sleeps: Cell::new(sleeps),
        }
    }

    /// Lets the link go down when idle (`true`), or keeps it up whatever
    /// the traffic (`false`).
    pub fn set_sleeps(&self, sleeps: bool) {
        self.sleeps.set(sleeps);
        self.mode.signal(());
    }

    /// A reader and writer on this port.
    pub fn io(&self) -> PortIo<'_, RX, TX> {
        PortIo { port: self }
    }

    /// Whether the lock's side needs the link now.
    fn wanted(&self) -> bool {
        !self.sleeps.get()
            || !self.tx.is_empty()
            || self.rx_busy.get()
            || self.tx_busy.get()
            || (self.reads_want_link && self.reading.get() > 0)
    }
}

/// Keeps the chip out of STOP while a module transfer is under way.
fn awake() -> WakeGuard {
    WakeGuard::new(StopMode::Stop1)
}

/// Counts a waiting read for as long as it waits (also when the driver
/// drops it at its timeout).
struct Reading<'a>(&'a Cell<u8>);

impl<'a> Reading<'a> {
    fn new(count: &'a Cell<u8>) -> Self {
        count.set(count.get().saturating_add(1));
        Reading(count)
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// The drivers' and the BLE host's end of a [`Port`]: `embedded-io-async`
/// reads and writes on its pipes, for bt-hci's `SerialTransport` and
/// lock-drivers' module drivers.
///
/// For a module port every read, write and flush also holds a
/// [`WakeGuard`]: a reply can take over a second, long enough for the
/// executor to choose STOP, in which the UART has no clock.
pub struct PortIo<'a, const RX: usize, const TX: usize> {
    port: &'a Port<RX, TX>,
}

impl<const RX: usize, const TX: usize> PortIo<'_, RX, TX> {
    fn guard(&self) -> Option<WakeGuard> {
        self.port.reads_want_link.then(awake)
    }
}

impl<const RX: usize, const TX: usize> embedded_io_async::ErrorType for PortIo<'_, RX, TX> {
    type Error = usart::Error;
}

impl<const RX: usize, const TX: usize> Read for PortIo<'_, RX, TX> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, usart::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let _awake = self.guard();
        let _reading = Reading::new(&self.port.reading);
        if self.port.reads_want_link {
            self.port.want.signal(());
        }
        match select(self.port.rx.read(buf), self.port.error.wait()).await {
            Either::First(read) => Ok(read),
            Either::Second(error) => Err(error),
        }
    }
}

impl<const RX: usize, const TX: usize> Write for PortIo<'_, RX, TX> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, usart::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let _awake = self.guard();
        if self.port.reads_want_link {
            // A module's command starts a new exchange: a receive error
            // left from the last one (nobody was reading) is not this
            // one's.
            self.port.error.reset();
        }
        // Before a write that may wait for room, so that the link comes up
        // to make it.
        self.port.want.signal(());
        let written = self.port.tx.write(buf).await;
        self.port.want.signal(());
        Ok(written)
    }

    async fn flush(&mut self) -> Result<(), usart::Error> {
        let _awake = self.guard();
        while !self.port.tx.is_empty() || self.port.tx_busy.get() {
            self.port.sent.wait().await;
        }
        Ok(())
    }
}

/// A UART that can be built from its pins and dropped again: each
/// [`serve`] session opens it and drops the halves at the end.
pub trait Opener {
    /// The transmit half while open.
    type Tx<'a>: Write<Error = usart::Error>
    where
        Self: 'a;
    /// The receive half while open.
    type Rx<'a>: Read<Error = usart::Error> + ReadReady
    where
        Self: 'a;

    /// Builds the UART (enables and resets the peripheral, claims the pins).
    fn open(&mut self) -> Result<(Self::Tx<'_>, Self::Rx<'_>), usart::ConfigError>;
}

/// What the far side of a link does about sleep.
#[allow(async_fn_in_trait)] // Used only here, on one executor.
pub trait FarSide {
    /// Returns when the far side has something to send (never, for a side
    /// that speaks only when spoken to).
    async fn wants_link(&mut self);
    /// Whether the far side still has something to send.
    fn busy(&mut self) -> bool;
    /// Returns when the far side no longer has anything to send.
    async fn quiet(&mut self);
    /// Called before the UART is built; returns when the far side may be
    /// sent to.
    fn before_open(&mut self) -> Instant;
    /// Holds the far side's transmitter (`true`) or lets it send (`false`)
    /// while the UART is still built.
    fn hold(&mut self, hold: bool);
    /// Called after the UART is dropped.
    fn after_close(&mut self);
}

/// A module: it speaks only when spoken to, and has no flow control.
pub struct Silent;

impl FarSide for Silent {
    async fn wants_link(&mut self) {
        core::future::pending().await
    }
    fn busy(&mut self) -> bool {
        false
    }
    async fn quiet(&mut self) {}
    fn before_open(&mut self) -> Instant {
        Instant::now()
    }
    fn hold(&mut self, _hold: bool) {}
    fn after_close(&mut self) {}
}

/// Why a session ended.
enum End {
    /// Nothing to do for [`IDLE`]: the link may go down.
    Idle,
    /// The UART failed; the error went to the reader.
    Failed,
}

/// Runs a port for ever: builds the UART when either side needs it, moves
/// bytes between it and the pipes, and drops it after [`IDLE`] without
/// traffic, with nothing pending on either side.
pub async fn serve<O: Opener, F: FarSide, const RX: usize, const TX: usize>(
    port: &Port<RX, TX>,
    mut opener: O,
    mut far: F,
) -> ! {
    loop {
        // Down: nothing holds the chip awake here.
        while !port.wanted() {
            match select3(port.want.wait(), far.wants_link(), port.mode.wait()).await {
                Either3::First(()) | Either3::Third(()) => {}
                Either3::Second(()) => break,
            }
        }
        let ready_at = far.before_open();
        match opener.open() {
            Ok((mut tx, mut rx)) => loop {
                if let End::Failed = session(port, &mut tx, &mut rx, &mut far, ready_at).await {
                    // Start afresh, a moment later (a line that keeps
                    // failing must not spin the chip).
                    Timer::after(Duration::from_millis(10)).await;
                    break;
                }
                // Idle: hold the far side, take what it sent before it saw
                // the hold, and go down only if it has nothing more.
                far.hold(true);
                Timer::after(Duration::from_millis(1)).await;
                if drain(port, &mut rx).await.is_err() || (!far.busy() && !port.wanted()) {
                    break;
                }
                far.hold(false);
            },
            Err(_) => {
                defmt::error!("link: the UART did not take its settings");
                Timer::after(Duration::from_secs(1)).await;
            }
        }
        far.after_close();
    }
}

/// Moves the bytes already received into the receive pipe.
async fn drain<R: Read<Error = usart::Error> + ReadReady, const RX: usize, const TX: usize>(
    port: &Port<RX, TX>,
    rx: &mut R,
) -> Result<(), usart::Error> {
    let mut chunk = [0u8; CHUNK];
    while rx.read_ready()? {
        let read = rx.read(&mut chunk).await?;
        port.rx
            .write_all(chunk.get(..read).unwrap_or_default())
            .await;
    }
    Ok(())
}

/// One stretch of an open link, until it has been idle for [`IDLE`] or the
/// UART fails.
async fn session<T, R, F, const RX: usize, const TX: usize>(
    port: &Port<RX, TX>,
    tx: &mut T,
    rx: &mut R,
    far: &mut F,
    ready_at: Instant,
) -> End
where
    T: Write<Error = usart::Error>,
    R: Read<Error = usart::Error> + ReadReady,
    F: FarSide,
{
    let last = Cell::new(Instant::now());
    // The receive and transmit pumps each mark the runner busy while they
    // hold bytes not yet delivered, so that the idle check never ends a
    // session (and so drops them) in the middle.
    let receive = async {
        let mut chunk = [0u8; CHUNK];
        loop {
            match rx.read(&mut chunk).await {
                Ok(read) => {
                    port.rx_busy.set(true);
                    port.rx
                        .write_all(chunk.get(..read).unwrap_or_default())
                        .await;
                    port.rx_busy.set(false);
                    last.set(Instant::now());
                }
                Err(error) => {
                    defmt::warn!("link: receive error {}", error);
                    port.error.signal(error);
                    return End::Failed;
                }
            }
        }
    };
    let transmit = async {
        let mut chunk = [0u8; CHUNK];
        loop {
            let taken = port.tx.read(&mut chunk).await;
            port.tx_busy.set(true);
            Timer::at(ready_at).await;
            let sent = tx.write_all(chunk.get(..taken).unwrap_or_default()).await;
            let flushed = tx.flush().await;
            port.tx_busy.set(false);
            last.set(Instant::now());
            port.sent.signal(());
            if let Err(error) = sent.and(flushed) {
                defmt::warn!("link: transmit error {}", error);
                return End::Failed;
            }
        }
    };
    let idle = async {
        loop {
            if !port.sleeps.get() {
                port.mode.wait().await;
                continue;
            }
            Timer::at(last.get() + IDLE).await;
            if Instant::now() < last.get() + IDLE {
                continue;
            }
            if port.wanted() {
                // A module read waiting for its reply, or bytes on their
                // way: look again later.
                last.set(Instant::now());
                continue;
            }
            if far.busy() {
                // The controller still holds HOST_WAKE: it has more.
                far.quiet().await;
                last.set(Instant::now());
                continue;
            }
            return End::Idle;
        }
    };
    match select3(receive, transmit, idle).await {
        Either3::First(end) | Either3::Second(end) | Either3::Third(end) => end,
    }
}

/// The Infineon/Broadcom UART sleep protocol's two lines (README.md,
/// Energy): BT_HOST_WAKE (controller → host, active low: it has something
/// to send) on EXTI, BT_DEV_WAKE (host → controller, active low: stay
/// awake, the host is talking), and the host's RTS, driven "not ready"
/// whenever the receiver is not running.
pub struct HciWake {
    host_wake: ExtiInput<'static, Async>,
    dev_wake: Output<'static>,
}

/// How long the controller takes to wake after DEV_WAKE is asserted
/// (cyw43-driver `cyw43_bthci_uart.c`: 5 ms, "can't go lower than this").
const CONTROLLER_WAKE: Duration = Duration::from_millis(5);

impl HciWake {
    /// The host-wake input (pulled up: an absent line reads "nothing to
    /// send") and the DEV_WAKE output, released (high). Drives RTS "not
    /// ready" from now on until the UART is built.
    pub fn new(host_wake: ExtiInput<'static, Async>, dev_wake: Output<'static>) -> Self {
        rts_not_ready(true);
        HciWake {
            host_wake,
            dev_wake,
        }
    }
}

impl FarSide for HciWake {
    async fn wants_link(&mut self) {
        self.host_wake.wait_for_low().await;
    }

    fn busy(&mut self) -> bool {
        self.host_wake.is_low()
    }

    async fn quiet(&mut self) {
        self.host_wake.wait_for_high().await;
    }

    fn before_open(&mut self) -> Instant {
        self.dev_wake.set_low();
        Instant::now() + CONTROLLER_WAKE
    }

    fn hold(&mut self, hold: bool) {
        rts_not_ready(hold);
    }

    fn after_close(&mut self) {
        // The UART dropped its RTS pin (analog); drive it "not ready"
        // again at once (an external pull-up covers the microseconds in
        // between: README.md's pin table).
        rts_not_ready(true);
        self.dev_wake.set_high();
    }
}

/// The HCI RTS pin (PB14): driven high ("not ready", `true`) as a GPIO
/// output, or handed back to the USART (`false`, alternate function; its
/// AF number stays as the UART set it).
///
/// Register writes, not an `Output`: the pin belongs to the UART while it
/// is built, and the line must say "not ready" before the receiver stops
/// (README.md, Energy). GPIOB's other pins are not touched (one bit of
/// BSRR, two bits of MODER, inside a critical section as embassy's own
/// GPIO code does).
fn rts_not_ready(hold: bool) {
    use embassy_stm32::pac::GPIOB;
    use embassy_stm32::pac::gpio::vals::Moder;
    const RTS: usize = 14;
    cortex_m::interrupt::free(|_| {
        if hold {
            GPIOB.bsrr().write(|w| w.set_bs(RTS, true));
            GPIOB.moder().modify(|w| w.set_moder(RTS, Moder::OUTPUT));
        } else {
            GPIOB.moder().modify(|w| w.set_moder(RTS, Moder::ALTERNATE));
        }
    });
}
