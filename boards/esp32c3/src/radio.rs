//! R-NRG-3 on this board: the BLE controller runs only while the lock
//! wants the radio to listen. When the lock goes quiet (`BleLink` ends
//! its listening: lock-ble's `until_quiet`) the controller is dropped, which
//! deinitialises esp-radio's controller, powers the modem down and releases
//! the radio's `WakeLock`; when it wants to listen again a new controller
//! starts, from its reset state, with a new address seed (README.md,
//! Energy).

use embassy_futures::select::select;
use esp_hal::peripherals::BT;
use esp_radio::ble::controller::BleConnector;
use lock_ble::{BleLink, discard, discarding};
use lock_hal::Entropy;
use log::{info, warn};
use trouble_host::prelude::ExternalController;

use crate::parts::ChipEntropy;

/// Runs the radio for as long as the lock runs: starts the controller and
/// serves lock-ble's GATT service until the lock wants quiet, stops it,
/// and starts it again once the lock wants to listen.
///
/// The first start happens in this future's first poll, without an await
/// before it (the lock listens from boot): `main` polls it before the
/// runtime, so the radio, which is also the RNG's entropy source, is up
/// before the runtime's first draw, as when the controller was built in
/// `main`.
pub async fn run(bt: &mut BT<'static>, link: &BleLink) -> ! {
    let outgoing = link.outgoing();
    loop {
        // A controller that does not start leaves the lock running without
        // the app (`discard` takes what it would send) rather than
        // restarting it over and over.
        let connector = match BleConnector::new(bt.reborrow(), Default::default()) {
            Ok(connector) => connector,
            Err(error) => {
                warn!("radio: the BLE controller did not start ({error:?}); no app link");
                match discard(outgoing).await {}
            }
        };
        // S-PR-8: the seed of this start's advertising addresses, fresh
        // from the RNG while the radio feeds it; without it no radio (never
        // an address made of the chip). Each start has its own, so an
        // address does not come back after the radio was off.
        let mut seed = [0u8; 32];
        if ChipEntropy.fill(&mut seed).is_err() {
            warn!("radio: the RNG gave no address seed; no app link");
            drop(connector);
            match discard(outgoing).await {}
        }
        let controller = ExternalController::<_, 1>::new(connector);
        // lock-ble's server stops advertising on quiet itself; here the
        // whole controller goes. The lock asks for quiet only with no phone
        // connected (lock-ble's contract). `until_quiet` comes first: the
        // link's change signal is taken by the first waiter polled, and the
        // server waits on it too, inside; polled first, this one sees every
        // change (both are in this task, so one wake polls both).
        select(
            link.until_quiet(),
            lock_ble::gatt::run(controller, seed, link),
        )
        .await;
        info!("radio: off until the lock listens again (R-NRG-3)");
        discarding(outgoing, link.until_listening()).await;
        info!("radio: on");
    }
}
