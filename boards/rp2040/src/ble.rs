//! The lock's GATT server on trouble-host 0.6, the release the CYW43439's
//! HCI (cyw43 0.7, bt-hci 0.8) fits; lock-ble's own server needs 0.7
//! (BOARDS.md). Everything else is lock-ble's: the `BleLink`, the transport
//! the app protocol talks to, the UUIDs, the name, the contract (one write
//! per frame, a frame in notifications of ATT MTU − 3 bytes, each
//! connection's start reported and a connection ended when the app side
//! asks, S-PR-7).
//!
//! trouble-host 0.6 answers long (queued) writes itself but does not
//! assemble them: each Prepare Write lands at offset 0. So a phone whose
//! ATT MTU is below `MAX_FRAME + 3` is served here: its Prepare Writes to
//! the write characteristic are gathered in order, and Execute Write hands
//! the whole frame to the lock, as lock-ble's contract says.

use embassy_futures::select::select3;
use lock_ble::{
    BleLink, FrameBuf, FrameQueue, NAME, SERVICE_UUID_LE, discard, discarding, notification_len,
    static_random_address,
};
use trouble_host::att::{AttClient, AttReq};
use trouble_host::prelude::*;

/// One connection at a time: the phone being used.
const CONNECTIONS: usize = 1;
/// L2CAP channels: signalling and ATT.
const L2CAP_CHANNELS: usize = 2;

/// The GATT server, in a module of its own for one lint: trouble-host-macros
/// 0.4's expansion borrows each characteristic's value where it could pass
/// it (`needless_borrows_for_generic_args`; 0.5, for trouble-host 0.7, does
/// not).
#[allow(clippy::needless_borrows_for_generic_args)]
mod server {
    use lock_ble::FrameBuf;
    use trouble_host::prelude::*;

    use lock_ble::{RX_UUID_VALUE, SERVICE_UUID_VALUE, TX_UUID_VALUE};

    /// The lock's GATT server.
    #[gatt_server]
    pub struct LockServer {
        pub lock: LockService,
    }

    /// The lock-proto service (lock-ble's `SERVICE_UUID`).
    #[gatt_service(uuid = SERVICE_UUID_VALUE)]
    pub struct LockService {
        /// Phone → lock (`RX_UUID`): one whole frame per write.
        #[characteristic(uuid = RX_UUID_VALUE, write)]
        pub rx: FrameBuf,
        /// Lock → phone (`TX_UUID`): frames, in notifications of up to ATT
        /// MTU − 3 bytes.
        #[characteristic(uuid = TX_UUID_VALUE, notify)]
        pub tx: FrameBuf,
    }
}

use server::LockServer;

/// Runs the BLE host forever: advertises, serves one phone at a time,
/// passes frames between the characteristics and `link`, and ends a
/// connection when the app side asks (S-PR-7). `unique`:
/// six bytes unique to the board, made into the static random address the
/// lock advertises.
pub async fn run<C: Controller>(controller: C, unique: [u8; 6], link: &BleLink) {
    let outgoing = link.outgoing();
    let mut resources: HostResources<DefaultPacketPool, CONNECTIONS, L2CAP_CHANNELS> =
        HostResources::new();
    let stack = trouble_host::new(controller, &mut resources)
        .set_random_address(Address::random(static_random_address(unique)));
    let Host {
        mut runner,
        mut peripheral,
        ..
    } = stack.build();
    let server = match LockServer::new_with_config(GapConfig::Peripheral(PeripheralConfig {
        name: NAME,
        appearance: &appearance::UNKNOWN,
    })) {
        Ok(server) => server,
        Err(error) => {
            defmt::warn!("ble: GATT server not built: {}; no radio", error);
            match discard(outgoing).await {}
        }
    };
    let host = async {
        loop {
            if let Err(error) = runner.run().await {
                defmt::warn!(
                    "ble: host stopped: {}; restarting",
                    defmt::Debug2Format(&error)
                );
            }
        }
    };
    let serve = async {
        let mut number: u32 = 0;
        loop {
            // Frames the lock sends while no phone listens are dropped.
            let connection = match discarding(outgoing, advertise(&mut peripheral, &server)).await {
                Ok(connection) => connection,
                Err(error) => {
                    defmt::warn!("ble: advertising failed: {}", defmt::Debug2Format(&error));
                    embassy_time::Timer::after_secs(1).await;
                    continue;
                }
            };
            defmt::info!("ble: phone connected");
            number = number.wrapping_add(1);
            link.link_started(number);
            select3(
                take_writes(&server, &connection, link),
                notify(&server, &connection, outgoing),
                end_on_request(&connection, link, number),
            )
            .await;
            defmt::info!("ble: phone gone");
        }
    };
    embassy_futures::join::join(host, serve).await;
}

/// Why advertising stopped short of a connection.
#[derive(Debug)]
enum AdvertiseError<E> {
    Host(BleHostError<E>),
    Encoding,
}

impl<E> From<BleHostError<E>> for AdvertiseError<E> {
    fn from(error: BleHostError<E>) -> Self {
        AdvertiseError::Host(error)
    }
}

impl<E> From<Error> for AdvertiseError<E> {
    fn from(error: Error) -> Self {
        AdvertiseError::Host(BleHostError::BleHost(error))
    }
}

async fn advertise<'values, 'server, C: Controller>(
    peripheral: &mut Peripheral<'values, C, DefaultPacketPool>,
    server: &'server LockServer<'values>,
) -> Result<GattConnection<'values, 'server, DefaultPacketPool>, AdvertiseError<C::Error>> {
    let mut adv_data = [0u8; 31];
    let adv_len = AdStructure::encode_slice(
        &[
            AdStructure::Flags(LE_GENERAL_DISCOVERABLE | BR_EDR_NOT_SUPPORTED),
            AdStructure::ServiceUuids128(&[SERVICE_UUID_LE]),
        ],
        &mut adv_data[..],
    )
    .map_err(|_| AdvertiseError::Encoding)?;
    let mut scan_data = [0u8; 31];
    let scan_len = AdStructure::encode_slice(
        &[AdStructure::CompleteLocalName(NAME.as_bytes())],
        &mut scan_data[..],
    )
    .map_err(|_| AdvertiseError::Encoding)?;
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

/// What one ATT request means for the frame being received.
enum Step {
    /// A whole frame in one write.
    Frame(Option<FrameBuf>),
    /// A piece of a long write, at its offset.
    Piece(u16, FrameBuf),
    /// Execute Write: deliver the pieces (`true`) or drop them.
    Execute(bool),
    /// Nothing to do with the frame.
    Other,
}

/// S-PR-7: when the app side asks to end connection `number`, asks the
/// controller to, then waits for [`take_writes`] to see it gone (at once
/// when the phone acknowledges, else the link's supervision timeout).
async fn end_on_request(
    connection: &GattConnection<'_, '_, DefaultPacketPool>,
    link: &BleLink,
    number: u32,
) {
    link.wait_for_end(number).await;
    defmt::info!("ble: ending the connection (S-PR-7)");
    connection.raw().disconnect();
    core::future::pending::<()>().await;
}

/// Until the phone leaves: every write to the write characteristic, whole
/// or long, becomes a queued frame (dropped, with a warning, if the lock is
/// not taking them).
async fn take_writes(
    server: &LockServer<'_>,
    connection: &GattConnection<'_, '_, DefaultPacketPool>,
    link: &BleLink,
) {
    let rx = server.lock.rx.handle;
    // A long write being gathered; `None` once a piece did not fit.
    let mut long: Option<FrameBuf> = Some(FrameBuf::new());
    loop {
        let event = match connection.next().await {
            GattConnectionEvent::Disconnected { .. } => return,
            GattConnectionEvent::Gatt { event } => event,
            _ => continue,
        };
        let step = match &event {
            GattEvent::Write(write) if write.handle() == rx => {
                Step::Frame(FrameBuf::from_slice(write.data()).ok())
            }
            GattEvent::Other(other) => match other.payload().incoming() {
                AttClient::Request(AttReq::PrepareWrite {
                    handle,
                    offset,
                    value,
                }) if handle == rx => match FrameBuf::from_slice(value) {
                    Ok(piece) => Step::Piece(offset, piece),
                    Err(_) => Step::Piece(u16::MAX, FrameBuf::new()),
                },
                AttClient::Request(AttReq::ExecuteWrite { flags }) => Step::Execute(flags == 1),
                _ => Step::Other,
            },
            _ => Step::Other,
        };
        // trouble-host answers (a Prepare Write is echoed, as ATT asks).
        match event.accept() {
            Ok(reply) => reply.send().await,
            Err(error) => defmt::warn!("ble: reply failed: {}", error),
        }
        let frame = match step {
            Step::Frame(frame) => frame,
            Step::Piece(offset, piece) => {
                // In order and within a frame, or the write is spoilt.
                long = long.and_then(|mut frame| {
                    let in_order = usize::from(offset) == frame.len();
                    (in_order && frame.extend_from_slice(&piece).is_ok()).then_some(frame)
                });
                None
            }
            Step::Execute(deliver) => {
                let frame = long.replace(FrameBuf::new());
                if deliver {
                    if frame.is_none() {
                        defmt::warn!("ble: a long write out of order or too long, dropped");
                    }
                    frame.filter(|frame| !frame.is_empty())
                } else {
                    None
                }
            }
            Step::Other => None,
        };
        if let Some(frame) = frame
            && !link.frame_received(frame)
        {
            defmt::warn!("ble: frame dropped, the lock is busy");
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
        let chunk = notification_len(connection.raw().att_mtu());
        for piece in frame.chunks(chunk) {
            let sent = match FrameBuf::from_slice(piece) {
                Ok(piece) => tx.notify(connection, &piece).await.is_ok(),
                Err(_) => false,
            };
            if !sent {
                // Not subscribed, or the link is going: the frame is lost,
                // as it would be in the air.
                break;
            }
        }
    }
}
