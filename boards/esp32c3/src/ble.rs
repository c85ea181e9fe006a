//! The app's radio link: one GATT service carrying lock-proto frames, and
//! [`BleTransport`], the `lock_hal::Transport` the app protocol talks to.
//!
//! - **Write** characteristic (phone → lock): one write is one frame, up to
//!   [`MAX_FRAME`] bytes. A phone with an ATT MTU below `MAX_FRAME + 3` uses a
//!   long (queued) write; the whole frame arrives as one.
//! - **Notify** characteristic (lock → phone): a frame goes out as
//!   notifications of at most ATT MTU − 3 bytes each, in order; the frame
//!   header's body length (lock-proto's format) tells the phone where it
//!   ends. A phone that negotiates an MTU of 481 or more gets one
//!   notification per frame.
//!
//! Received frames wait in a channel until the transport takes them, so
//! [`BleTransport::receive`] is cancel-safe. What the lock sends while no
//! phone is connected is dropped (the protocol's challenges and counters
//! make a stale frame useless anyway).
//!
//! The service carries bytes only: pairing, encryption and replay
//! protection are lock-proto's, above it. The BLE link itself is not
//! paired or bonded.

use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::channel::{Channel, Receiver, Sender};
use lock_hal::{ErrorKind, ErrorType, Transport};
use lock_proto::{FrameBuf, MAX_FRAME};
use log::{info, warn};
use trouble_host::prelude::*;

/// Frames each way that may wait for the other side.
const QUEUE: usize = 2;

/// Frames between the GATT server and the transport.
pub type FrameQueue = Channel<NoopRawMutex, FrameBuf, QUEUE>;

/// One connection at a time: the phone being used.
const CONNECTIONS: usize = 1;
/// L2CAP channels: signalling and ATT.
const L2CAP_CHANNELS: usize = 2;

/// The lock's GATT server.
#[gatt_server]
pub struct LockServer {
    lock: LockService,
}

/// The lock-proto service.
#[gatt_service(uuid = "6f6c0001-6f6f-7264-6f6f-726c6f636b00")]
pub struct LockService {
    /// Phone → lock: one whole frame per write.
    #[characteristic(uuid = "6f6c0002-6f6f-7264-6f6f-726c6f636b00", write)]
    rx: FrameBuf,
    /// Lock → phone: frames, in notifications of up to ATT MTU − 3 bytes.
    #[characteristic(uuid = "6f6c0003-6f6f-7264-6f6f-726c6f636b00", notify)]
    tx: FrameBuf,
}

/// The service's UUID, little-endian, for the advertisement.
const SERVICE_UUID: [u8; 16] = [
    0x00, 0x6b, 0x63, 0x6f, 0x6c, 0x72, 0x6f, 0x6f, 0x64, 0x72, 0x6f, 0x6f, 0x01, 0x00, 0x6c, 0x6f,
];

/// The name the lock advertises.
const NAME: &str = "open door lock";

/// The app protocol's end of the link.
pub struct BleTransport<'a> {
    received: Receiver<'a, NoopRawMutex, FrameBuf, QUEUE>,
    outgoing: Sender<'a, NoopRawMutex, FrameBuf, QUEUE>,
}

impl<'a> BleTransport<'a> {
    /// The transport over the two queues [`run`] serves.
    pub fn new(received: &'a FrameQueue, outgoing: &'a FrameQueue) -> Self {
        BleTransport {
            received: received.receiver(),
            outgoing: outgoing.sender(),
        }
    }
}

impl ErrorType for BleTransport<'_> {
    type Error = ErrorKind;
}

impl Transport for BleTransport<'_> {
    async fn receive(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        loop {
            let frame = self.received.receive().await;
            if let Some(into) = buf.get_mut(..frame.len()) {
                into.copy_from_slice(&frame);
                return Ok(frame.len());
            }
            warn!("ble: a {}-byte frame does not fit, dropped", frame.len());
        }
    }

    async fn send(&mut self, frame: &[u8]) -> Result<(), ErrorKind> {
        let frame = FrameBuf::from_slice(frame).map_err(|_| ErrorKind::Other)?;
        self.outgoing.send(frame).await;
        Ok(())
    }
}

/// Runs the BLE host forever: advertises, serves one phone at a time,
/// passes frames between the GATT characteristics and the queues.
pub async fn run<C: Controller>(
    controller: C,
    address: [u8; 6],
    received: &FrameQueue,
    outgoing: &FrameQueue,
) {
    let mut resources: HostResources<C, DefaultPacketPool, CONNECTIONS, L2CAP_CHANNELS> =
        HostResources::new();
    // A static random address (top two bits set) from the chip's BT MAC.
    let mut address = address;
    if let Some(top) = address.last_mut() {
        *top |= 0xC0;
    }
    let stack = trouble_host::new(controller, &mut resources)
        .set_random_address(Address::random(address))
        .build();
    let mut runner = stack.runner();
    let mut peripheral = stack.peripheral();
    let server = match LockServer::new_with_config(GapConfig::Peripheral(PeripheralConfig {
        name: NAME,
        appearance: &appearance::UNKNOWN,
    })) {
        Ok(server) => server,
        Err(error) => {
            warn!("ble: GATT server not built: {error:?}; no radio");
            return core::future::pending().await;
        }
    };
    let host = async {
        loop {
            if let Err(error) = runner.run().await {
                warn!("ble: host stopped: {error:?}; restarting");
            }
        }
    };
    let serve = async {
        loop {
            // Frames the lock sends while no phone listens are dropped.
            let connection =
                match select(advertise(&mut peripheral, &server), drop_all(outgoing)).await {
                    Either::First(Ok(connection)) => connection,
                    Either::First(Err(error)) => {
                        warn!("ble: advertising failed: {error:?}");
                        embassy_time::Timer::after_secs(1).await;
                        continue;
                    }
                    Either::Second(never) => match never {},
                };
            info!("ble: phone connected");
            select(
                take_writes(&server, &connection, received),
                notify(&server, &connection, outgoing),
            )
            .await;
            info!("ble: phone gone");
        }
    };
    embassy_futures::join::join(host, serve).await;
}

async fn advertise<'values, 'server, C: Controller>(
    peripheral: &mut Peripheral<'values, C, DefaultPacketPool>,
    server: &'server LockServer<'values>,
) -> Result<GattConnection<'values, 'server, DefaultPacketPool>, BleHostError<C::Error>> {
    let mut adv_data = [0u8; 31];
    let adv_len = AdStructure::encode_slice(
        &[
            AdStructure::Flags(LE_GENERAL_DISCOVERABLE | BR_EDR_NOT_SUPPORTED),
            AdStructure::CompleteServiceUuids128(&[SERVICE_UUID]),
        ],
        &mut adv_data[..],
    )?;
    let mut scan_data = [0u8; 31];
    let scan_len = AdStructure::encode_slice(
        &[AdStructure::CompleteLocalName(NAME.as_bytes())],
        &mut scan_data[..],
    )?;
    let advertiser = peripheral
        .advertise(
            &AdvertisementParameters::default(),
            Advertisement::ConnectableScannableUndirected {
                adv_data: adv_data.get(..adv_len).unwrap_or(&[]),
                scan_data: scan_data.get(..scan_len).unwrap_or(&[]),
            },
        )
        .await?;
    Ok(advertiser.accept().await?.with_attribute_server(server)?)
}

async fn drop_all(outgoing: &FrameQueue) -> core::convert::Infallible {
    loop {
        let _ = outgoing.receive().await;
    }
}

/// Until the phone leaves: every write to the write characteristic becomes
/// a queued frame (dropped, with a warning, if the lock is not taking them).
async fn take_writes(
    server: &LockServer<'_>,
    connection: &GattConnection<'_, '_, DefaultPacketPool>,
    received: &FrameQueue,
) {
    let rx = server.lock.rx.handle;
    loop {
        match connection.next().await {
            GattConnectionEvent::Disconnected { .. } => return,
            GattConnectionEvent::Gatt { event } => {
                let frame = match &event {
                    GattEvent::Write(write) if write.handle() == rx => {
                        write.with_data(|offset, data| {
                            if offset == 0 {
                                FrameBuf::from_slice(data).ok()
                            } else {
                                None
                            }
                        })
                    }
                    _ => None,
                };
                match event.accept() {
                    Ok(reply) => reply.send().await,
                    Err(error) => warn!("ble: reply failed: {error:?}"),
                }
                if let Some(frame) = frame
                    && received.try_send(frame).is_err()
                {
                    warn!("ble: frame dropped, the lock is busy");
                }
            }
            _ => {}
        }
    }
}

/// Until the phone leaves: each frame the lock sends, in notifications of
/// at most ATT MTU − 3 bytes.
async fn notify(
    server: &LockServer<'_>,
    connection: &GattConnection<'_, '_, DefaultPacketPool>,
    outgoing: &FrameQueue,
) {
    let tx = &server.lock.tx;
    loop {
        let frame = outgoing.receive().await;
        let chunk = usize::from(connection.raw().att_mtu().saturating_sub(3)).max(1);
        for piece in frame.chunks(chunk) {
            if tx.notify_raw(connection, piece, false).await.is_err() {
                // Not subscribed, or the link is going: the frame is lost,
                // as it would be in the air.
                break;
            }
        }
    }
}

/// Frames up to this long fit one notification at the largest MTU the
/// lock accepts.
const _: () = assert!(MAX_FRAME <= 512 - 4 - 3);
