//! S-HW-2: what the chip's eFuses say about its protection, logged at boot.
//! Secure boot v2, flash encryption and the JTAG / download-mode fuses are
//! burnt by the integrator when provisioning (espefuse / espsecure); the
//! firmware only reports them, so a unit on the bench says what it is.
//! First, why the chip last started: a watchdog's reset means the firmware
//! panicked or hung (README.md, Watchdog), so a unit that keeps crashing
//! says so; brown-outs and clock or power glitches show here too.

use esp_hal::efuse::{self, read_bit, read_field_le};
use esp_hal::rtc_cntl::{SocResetReason, reset_reason};
use esp_hal::system::Cpu;
use log::{info, warn};

/// Logs why the chip last started, then each protection and whether it is
/// on (S-HW-2; README.md, Security posture).
pub fn report() {
    match reset_reason(Cpu::ProCpu) {
        Some(reason) if by_watchdog(reason) => {
            warn!("security: last reset by a watchdog ({reason:?}): the firmware panicked or hung")
        }
        Some(reason) => info!("security: last reset {reason:?}"),
        None => info!("security: last reset of an unknown cause"),
    }

    let secure_boot = read_bit(efuse::SECURE_BOOT_EN);
    let flash_encryption = efuse::flash_encryption();
    let pad_jtag_off = read_bit(efuse::DIS_PAD_JTAG);
    let usb_jtag_off = read_bit(efuse::DIS_USB_JTAG);
    // JTAG soft-disabled while an odd number of its three bits is set (HMAC
    // can re-enable it).
    let jtag_soft_off = read_field_le::<u8>(efuse::SOFT_DIS_JTAG).count_ones() % 2 == 1;
    let download_off = read_bit(efuse::DIS_DOWNLOAD_MODE);
    let secure_download = read_bit(efuse::ENABLE_SECURITY_DOWNLOAD);
    let manual_encrypt_off = read_bit(efuse::DIS_DOWNLOAD_MANUAL_ENCRYPT);

    info!("security: secure boot v2 {}", on(secure_boot));
    info!("security: flash encryption {}", on(flash_encryption));
    info!(
        "security: JTAG pads {}, USB JTAG {}, soft-disabled {}",
        off(pad_jtag_off),
        off(usb_jtag_off),
        yes(jtag_soft_off)
    );
    info!(
        "security: ROM download mode {}, secure download {}, manual encryption in download mode {}",
        off(download_off),
        on(secure_download),
        off(manual_encrypt_off)
    );
    if !(secure_boot && flash_encryption && pad_jtag_off && usb_jtag_off) {
        warn!("security: not provisioned for the field (boards/esp32c3/README.md, S-HW-2)");
    }
}

/// The resets a watchdog makes: the RTC watchdog's (this firmware's), the
/// timer groups' and the super watchdog's (both left off here).
fn by_watchdog(reason: SocResetReason) -> bool {
    matches!(
        reason,
        SocResetReason::CoreMwdt0
            | SocResetReason::CoreMwdt1
            | SocResetReason::CoreRtcWdt
            | SocResetReason::Cpu0Mwdt0
            | SocResetReason::Cpu0Mwdt1
            | SocResetReason::Cpu0RtcWdt
            | SocResetReason::SysRtcWdt
            | SocResetReason::SysSuperWdt
    )
}

fn on(set: bool) -> &'static str {
    if set { "enabled" } else { "NOT enabled" }
}

fn off(disabled: bool) -> &'static str {
    if disabled { "disabled" } else { "open" }
}

fn yes(set: bool) -> &'static str {
    if set { "yes" } else { "no" }
}
