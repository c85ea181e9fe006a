//! S-HW-2: what protects this board, logged at boot. The RP2040 has no
//! fuses to read: no readout protection, no secure boot, no debug lock. So
//! the report is mostly what the chip cannot do, said every boot so that a
//! unit on the bench says what it is (README.md, Security posture).

use defmt::{info, warn};
use embassy_rp::pac;

/// Logs the chip, the flash and each protection the board lacks.
pub fn report(flash_jedec_id: Option<u32>) {
    let revision = pac::SYSINFO.chip_id().read().revision();
    info!("security: RP2040, chip revision {}", revision);
    match flash_jedec_id {
        Some(id) => info!("security: external QSPI flash, JEDEC id {:06x}", id),
        None => warn!("security: external QSPI flash did not give its JEDEC id"),
    }
    warn!(
        "security: flash readable by anyone holding the board (BOOTSEL USB, SWD, or the chip itself): the lock's state is not encrypted"
    );
    warn!("security: no secure boot: the boot ROM runs any image in flash");
    warn!("security: SWD debug port open: the RP2040 cannot lock it");
    warn!("security: Cortex-M0+: X25519 / Poly1305 multiplications not verified constant-time");
    warn!("security: not fit for the field as is (boards/rp2040/README.md, S-HW-2)");
}
