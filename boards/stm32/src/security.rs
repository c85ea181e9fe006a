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

use defmt::{info, warn};
use embassy_stm32::pac;

/// Readout protection level 0: no protection.
const RDP_LEVEL_0: u8 = 0xAA;
/// Readout protection level 2: debug off for good, option bytes frozen.
const RDP_LEVEL_2: u8 = 0xCC;

/// Logs each protection and whether it is on.
pub fn report() {
    let flash = pac::FLASH;
    let optr = flash.optr().read();
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
