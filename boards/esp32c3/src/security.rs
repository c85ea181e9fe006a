//! S-HW-2: what the chip's eFuses say about its protection, logged at boot.
//! Secure boot v2, flash encryption and the JTAG / download-mode fuses are
//! burnt by the integrator when provisioning (espefuse / espsecure); the
//! firmware only reports them, so a unit on the bench says what it is.

use esp_hal::efuse::{self, read_bit, read_field_le};
use log::{info, warn};

/// Logs each protection and whether it is on.
pub fn report() {
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

fn on(set: bool) -> &'static str {
    if set { "enabled" } else { "NOT enabled" }
}

fn off(disabled: bool) -> &'static str {
    if disabled { "disabled" } else { "open" }
}

fn yes(set: bool) -> &'static str {
    if set { "yes" } else { "no" }
}
