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
//!
//! S-PR-8, as lock-ble's server: the service UUID and flags only, from an
//! address of lock-ble's `AddressRotation` (fresh each boot, changed after
//! `ADDRESS_ROTATION_SECS` of advertising and after each connection), every
//! `ADVERTISING_INTERVAL_US`.
//!
//! R-NRG-3, as lock-ble's server: it advertises only while the lock wants
//! the radio to listen (`BleLink::until_listening`) and stops advertising
//! when the lock wants quiet (`BleLink::until_quiet`); a connection that is
//! up runs on (the lock asks for quiet only without one). The CYW43439
//! stays powered: cyw43 0.7 starts it only once, with its firmware
//! download (README.md, Energy).

use bt_hci::cmd::le::LeSetRandomAddr;
use embassy_futures::select::{Either, select, select3};
use lock_ble::{
    ADDRESS_ROTATION_SECS, ADVERTISING_INTERVAL_US, AddressRotation, BleLink, FrameBuf, FrameQueue,
    NAME, SERVICE_UUID_LE, discard, discarding, notification_len,
};
use trouble_host::att::{AttClient, AttReq};
use trouble_host::prelude::*;

/// One connection at a time: the phone being used.
const CONNECTIONS: usize = 1;
/// L2CAP channels: signalling and ATT.
const L2CAP_CHANNELS: usize = 2;
/// Tries at changing the address: the controller refuses while the
/// advertising just stopped is still being disabled.
const ADDRESS_TRIES: u8 = 10;

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
/// connection when the app side asks (S-PR-7). `seed`: 32 bytes fresh from
/// the entropy source at this boot, from which the advertising addresses
/// come (S-PR-8).
pub async fn run<C: Controller>(controller: C, seed: [u8; 32], link: &BleLink) {
    let outgoing = link.outgoing();
    let mut addresses = AddressRotation::new(seed);
    let mut resources: HostResources<DefaultPacketPool, CONNECTIONS, L2CAP_CHANNELS> =
        HostResources::new();
    let stack = trouble_host::new(controller, &mut resources)
        .set_random_address(Address::random(addresses.current()));
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
            // R-NRG-3: quiet until the lock wants the radio to listen.
            discarding(outgoing, link.until_listening()).await;
            // S-PR-8: advertising stops after ADDRESS_ROTATION_SECS for a
            // new address, R-NRG-3 when the lock wants quiet (dropping the
            // advertiser disables it).
            let advertised = discarding(
                outgoing,
                select(
                    advertise(&mut peripheral, &server),
                    select(
                        embassy_time::Timer::after_secs(ADDRESS_ROTATION_SECS),
                        link.until_quiet(),
                    ),
                ),
            )
            .await;
            match advertised {
                Either::First(Ok(connection)) => {
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
                Either::First(Err(error)) => {
                    defmt::warn!("ble: advertising failed: {}", defmt::Debug2Format(&error));
                    embassy_time::Timer::after_secs(1).await;
                    continue;
                }
                // Rotation time, or quiet (R-NRG-3).
                Either::Second(_) => {}
            }
            // A connection showed the address to whoever listened; a long
            // advertisement too.
            let address = addresses.rotate();
            discarding(outgoing, set_address(&stack, address)).await;
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

/// S-PR-8: the controller's random address becomes `address` (HCI LE Set
/// Random Address), tried again while the controller is still stopping the
/// advertisement; if it never takes it, the lock advertises on with the
/// address it had, and says so.
async fn set_address<C: Controller>(stack: &Stack<'_, C, DefaultPacketPool>, address: [u8; 6]) {
    for _ in 0..ADDRESS_TRIES {
        match stack
            .command(LeSetRandomAddr::new(BdAddr::new(address)))
            .await
        {
            Ok(()) => return,
            Err(error) => {
                defmt::warn!(
                    "ble: address not changed yet: {}",
                    defmt::Debug2Format(&error)
                );
                embassy_time::Timer::after_millis(100).await;
            }
        }
    }
    defmt::warn!("ble: the controller kept its address");
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
    // S-PR-8: no name in the scan response: the service UUID is all a
    // phone needs to find a lock. lock-ble's interval, as its own server.
    let interval = embassy_time::Duration::from_micros(ADVERTISING_INTERVAL_US);
    let parameters = AdvertisementParameters {
        interval_min: interval,
        interval_max: interval,
        ..AdvertisementParameters::default()
    };
    let advertiser = peripheral
        .advertise(
            &parameters,
            Advertisement::ConnectableScannableUndirected {
                adv_data: adv_data.get(..adv_len).unwrap_or(&[]),
                scan_data: &[],
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
