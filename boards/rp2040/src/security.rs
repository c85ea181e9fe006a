//! S-HW-2: what protects this board, logged at boot. The RP2040 has no
//! fuses to read: no readout protection, no secure boot, no debug lock. So
//! the report is mostly what the chip cannot do, said every boot so that a
//! unit on the bench says what it is (README.md, Security posture).
//!
//! First, why the chip last started: a watchdog's reset means the firmware
//! panicked or hung (README.md, Watchdog), so a unit that keeps crashing
//! says so; brown-outs show here too.

use defmt::{info, warn};
use embassy_rp::pac;
use embassy_rp::watchdog::ResetReason;

/// Logs why the chip last started (`watchdog`: the watchdog's own record,
/// read before it was started), the chip, the flash and each protection
/// the board lacks (S-HW-2; README.md, Security posture).
pub fn report(flash_jedec_id: Option<u32>, watchdog: Option<ResetReason>) {
    match watchdog {
        Some(ResetReason::TimedOut) => {
            warn!("security: last reset by the watchdog: the firmware panicked or hung")
        }
        Some(ResetReason::Forced) => info!("security: last reset forced through the watchdog"),
        // WATCHDOG.REASON is cleared by a chip-level reset, whose cause
        // CHIP_RESET keeps (RP2040 datasheet, 2.10 and 4.7).
        None => {
            let chip = pac::VREG_AND_CHIP_RESET.chip_reset().read();
            let cause = if chip.had_por() {
                "power-on or brown-out"
            } else if chip.had_run() {
                "the RUN pin"
            } else if chip.had_psm_restart() {
                "the debug port"
            } else {
                "unknown"
            };
            info!("security: last reset by {=str}", cause);
        }
    }
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
