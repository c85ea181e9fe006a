//! S-HW-2: what the option bytes say about the chip's protection, logged at
//! boot. Readout protection, write protection and proprietary code
//! protection are set by the integrator when provisioning (STM32CubeProgrammer
//! or probe-rs writing the option bytes); the firmware only reports them, so
//! a unit on the bench says what it is.
//!
//! Option bytes (RM0351, "Flash option bytes"): `FLASH_OPTR.RDP` 0xAA is
//! level 0, 0xCC level 2, anything else level 1. A WRP area covers pages
//! `STRT..=END` of its bank and is off while `STRT > END`; so is the PCROP
//! area (in double words).
//!
//! First, why the chip last started (RM0351, `RCC_CSR`): a watchdog's reset
//! means the firmware panicked or hung (README.md, Watchdog), so a unit
//! that keeps crashing says so; brown-outs show here too. Then whether the
//! option bytes let the independent watchdog count through STOP.

use defmt::{info, warn};
use embassy_stm32::pac;

/// Readout protection level 0: no protection.
const RDP_LEVEL_0: u8 = 0xAA;
/// Readout protection level 2: debug off for good, option bytes frozen.
const RDP_LEVEL_2: u8 = 0xCC;

/// Logs why the chip last started, then each protection and whether it
/// is on (S-HW-2; README.md, Security posture).
pub fn report() {
    report_reset();
    let flash = pac::FLASH;
    let optr = flash.optr().read();
    // Factory setting: counting in STOP and Standby, started by software.
    info!(
        "security: independent watchdog counts in STOP {}, started at reset by hardware {}",
        optr.iwdg_stop(),
        !optr.idwg_sw()
    );
    if !optr.iwdg_stop() {
        warn!(
            "security: IWDG_STOP is 0: the watchdog is frozen in STOP and misses an executor that never wakes from it"
        );
    }
    let rdp = match optr.rdp() {
        RDP_LEVEL_0 => 0u8,
        RDP_LEVEL_2 => 2,
        _ => 1,
    };
    info!(
        "security: readout protection level {} ({})",
        rdp,
        match rdp {
            0 => "flash readable over SWD",
            1 => "flash closed to SWD; regression to level 0 erases it",
            _ => "SWD disabled for good, option bytes frozen",
        }
    );

    let areas = [
        (
            "bank 1 area A",
            flash.wrp1ar().read().wrp1a_strt(),
            flash.wrp1ar().read().wrp1a_end(),
        ),
        (
            "bank 1 area B",
            flash.wrp1br().read().wrp1b_strt(),
            flash.wrp1br().read().wrp1b_end(),
        ),
        (
            "bank 2 area A",
            flash.wrp2ar().read().wrp2a_strt(),
            flash.wrp2ar().read().wrp2a_end(),
        ),
        (
            "bank 2 area B",
            flash.wrp2br().read().wrp2b_strt(),
            flash.wrp2br().read().wrp2b_end(),
        ),
    ];
    let mut protected = false;
    for (name, start, end) in areas {
        if start <= end {
            protected = true;
            info!(
                "security: write protection on {}: pages {}..={}",
                name, start, end
            );
        }
    }
    if !protected {
        info!("security: write protection off");
    }

    let pcrop_start = flash.pcrop1sr().read().pcrop1_strt();
    let pcrop_end = flash.pcrop1er().read().pcrop1_end();
    if pcrop_start <= pcrop_end {
        info!(
            "security: proprietary code protection on, double words {}..={}",
            pcrop_start, pcrop_end
        );
    } else {
        info!("security: proprietary code protection off");
    }
    info!(
        "security: dual bank {}, boot from bank 2 {}",
        optr.dualbank(),
        optr.bfb()
    );

    if rdp != 2 || !protected {
        warn!("security: not provisioned for the field (boards/stm32/README.md, S-HW-2)");
    }
}

/// Logs why the chip last started, from `RCC_CSR`'s reset flags, and clears
/// them: they add up over resets until a power-on, so without clearing a
/// watchdog reset would be reported again at every later start. Any reset
/// also pulls NRST low, so the pin's flag is the cause only when alone; a
/// power-on sets the brown-out flag.
fn report_reset() {
    let csr = pac::RCC.csr().read();
    if csr.iwdgrstf() {
        warn!("security: last reset by the independent watchdog: the firmware panicked or hung");
    } else {
        let cause = if csr.wwdgrstf() {
            "the window watchdog"
        } else if csr.lpwrrstf() {
            "an illegal low-power entry"
        } else if csr.fwrstf() {
            "the firewall"
        } else if csr.oblrstf() {
            "an option byte load"
        } else if csr.sftrstf() {
            "software (the flash-ECC NMI's other sources, or a debugger)"
        } else if csr.borrstf() {
            "power-on or brown-out"
        } else if csr.pinrstf() {
            "the NRST pin"
        } else {
            "unknown"
        };
        info!("security: last reset by {}", cause);
    }
    pac::RCC.csr().modify(|w| w.set_rmvf(true));
}
