//! The lock's GATT server on trouble-host 0.7: advertises, serves one phone
//! at a time, passes frames between the characteristics and the
//! [`BleLink`]. What the lock sends while no phone is connected is
//! dropped (the protocol's challenges and counters make a stale frame
//! useless anyway). A connection the app side asks to end (S-PR-7) is
//! ended, and advertising resumes as soon as the controller reports it gone.
//!
//! S-PR-8: it advertises the service UUID and flags only (no name), from an
//! address of [`AddressRotation`]: fresh at each boot, changed after
//! [`ADDRESS_ROTATION_SECS`] of advertising and after each connection,
//! every [`ADVERTISING_INTERVAL_US`].
//!
//! R-NRG-3: it advertises only while the lock wants the radio to listen
//! ([`BleLink::listening`]); told to go quiet, it stops advertising (a
//! connection up runs on: the lock asks for quiet only without one).

use bt_hci::cmd::le::LeSetRandomAddr;
use embassy_futures::select::{Either, select, select3};
use trouble_host::prelude::*;

use crate::fmt::Dbg;
use crate::{
    ADDRESS_ROTATION_SECS, ADVERTISING_INTERVAL_US, AddressRotation, BleLink, FrameBuf, FrameQueue,
    NAME, RX_UUID_VALUE, SERVICE_UUID_LE, SERVICE_UUID_VALUE, TX_UUID_VALUE, discard, discarding,
    notification_len,
};

/// One connection at a time: the phone being used.
const CONNECTIONS: usize = 1;
/// L2CAP channels: signalling and ATT.
const L2CAP_CHANNELS: usize = 2;
/// Tries at changing the address: the controller refuses while the
/// advertising just stopped is still being disabled.
const ADDRESS_TRIES: u8 = 10;

/// The lock's GATT server.
#[gatt_server]
struct LockServer {
    lock: LockService,
}

/// The lock-proto service ([`crate::SERVICE_UUID`]).
#[gatt_service(uuid = SERVICE_UUID_VALUE)]
struct LockService {
    /// Phone → lock ([`crate::RX_UUID`]): one whole frame per write.
    #[characteristic(uuid = RX_UUID_VALUE, write)]
    rx: FrameBuf,
    /// Lock → phone ([`crate::TX_UUID`]): frames, in notifications of up to
    /// ATT MTU − 3 bytes.
    #[characteristic(uuid = TX_UUID_VALUE, notify)]
    tx: FrameBuf,
}

/// Runs the BLE host forever: advertises, serves one phone at a time,
/// passes frames between the GATT characteristics and `link`, and ends a
/// connection when the app side asks (S-PR-7). `seed` is 32 bytes fresh
/// from the board's entropy source at this boot: the lock's advertising
/// addresses come from it ([`AddressRotation`], S-PR-8), never from the chip.
pub async fn run<C: Controller>(controller: C, seed: [u8; 32], link: &BleLink) {
    let outgoing = link.outgoing();
    let mut addresses = AddressRotation::new(seed);
    let mut resources: HostResources<C, DefaultPacketPool, CONNECTIONS, L2CAP_CHANNELS> =
        HostResources::new();
    let stack = trouble_host::new(controller, &mut resources)
        .set_random_address(Address::random(addresses.current()))
        .build();
    let mut runner = stack.runner();
    let mut peripheral = stack.peripheral();
    let server = match LockServer::new_with_config(GapConfig::Peripheral(PeripheralConfig {
        name: NAME,
        appearance: &appearance::UNKNOWN,
    })) {
        Ok(server) => server,
        Err(error) => {
            warn!("ble: GATT server not built: {:?}; no radio", error);
            match discard(outgoing).await {}
        }
    };
    let host = async {
        loop {
            if let Err(error) = runner.run().await {
                warn!("ble: host stopped: {:?}; restarting", Dbg(&error));
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
                    info!("ble: phone connected");
                    number = number.wrapping_add(1);
                    link.link_started(number);
                    select3(
                        take_writes(&server, &connection, link),
                        notify(&server, &connection, outgoing),
                        end_on_request(&connection, link, number),
                    )
                    .await;
                    info!("ble: phone gone");
                }
                Either::First(Err(error)) => {
                    warn!("ble: advertising failed: {:?}", Dbg(&error));
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
                warn!("ble: address not changed yet: {:?}", Dbg(&error));
                embassy_time::Timer::after_millis(100).await;
            }
        }
    }
    warn!("ble: the controller kept its address");
}

async fn advertise<'values, 'server, C: Controller>(
    peripheral: &mut Peripheral<'values, C, DefaultPacketPool>,
    server: &'server LockServer<'values>,
) -> Result<GattConnection<'values, 'server, DefaultPacketPool>, BleHostError<C::Error>> {
    let mut adv_data = [0u8; 31];
    let adv_len = AdStructure::encode_slice(
        &[
            AdStructure::Flags(LE_GENERAL_DISCOVERABLE | BR_EDR_NOT_SUPPORTED),
            AdStructure::CompleteServiceUuids128(&[SERVICE_UUID_LE]),
        ],
        &mut adv_data[..],
    )?;
    // S-PR-8: no name in the scan response: the service UUID is all a
    // phone needs to find a lock.
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

/// S-PR-7: when the app side asks to end connection `number`, asks the
/// controller to, then waits for [`take_writes`] to see it gone (the
/// controller's terminate procedure: at once when the phone acknowledges,
/// else the link's supervision timeout).
async fn end_on_request(
    connection: &GattConnection<'_, '_, DefaultPacketPool>,
    link: &BleLink,
    number: u32,
) {
    link.wait_for_end(number).await;
    info!("ble: ending the connection (S-PR-7)");
    connection.raw().disconnect();
    core::future::pending::<()>().await;
}

/// Until the phone leaves: every write to the write characteristic becomes
/// a queued frame (dropped, with a warning, if the lock is not taking them).
async fn take_writes(
    server: &LockServer<'_>,
    connection: &GattConnection<'_, '_, DefaultPacketPool>,
    link: &BleLink,
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
                    Err(error) => warn!("ble: reply failed: {:?}", Dbg(&error)),
                }
                if let Some(frame) = frame
                    && !link.frame_received(frame)
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
        let chunk = notification_len(connection.raw().att_mtu());
        for piece in frame.chunks(chunk) {
            if tx.notify_raw(connection, piece, false).await.is_err() {
                // Not subscribed, or the link is going: the frame is lost,
                // as it would be in the air.
                break;
            }
        }
    }
}
