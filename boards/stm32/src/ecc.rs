//! The flash's ECC, for lock-store (S-ST-1, S-ST-3).
//!
//! The L4's flash stores each 64-bit double word with 8 ECC bits, written
//! together. A power cut while a double word is programmed can leave data
//! and ECC that disagree in two or more bits. Reading it then sets
//! `FLASH_ECCR.ECCD` and raises a non-maskable interrupt (RM0351, "Error
//! code correction"); cortex-m-rt's default handler would spin there for
//! ever, at every boot, as soon as lock-store reads that word. The handler
//! here clears the flag and returns, so the read completes with the damaged
//! bytes, which lock-store treats as any other damaged record (checksums,
//! sequential-storage's repair, `Corrupted` and fail-secure). A single-bit
//! error is corrected by the hardware and needs nothing.

use core::sync::atomic::{AtomicU32, Ordering};

use embassy_stm32::pac;
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

/// No double error seen since the last look.
const NONE: u32 = u32::MAX;

/// The address of the last double error, or [`NONE`].
static DOUBLE_ERROR: AtomicU32 = AtomicU32::new(NONE);

/// Where bank 2 starts when the flash is dual-bank.
const BANK_2: u32 = 0x0808_0000;
const FLASH_BASE: u32 = 0x0800_0000;

// SAFETY (of the definition): cortex-m-rt asks for `unsafe fn` because an
// NMI can interrupt anything, critical sections included. This handler
// touches only the flash's ECC register and an atomic, never a lock or the
// logger.
#[allow(unsafe_code)]
#[cortex_m_rt::exception]
unsafe fn NonMaskableInt() {
    let flash = pac::FLASH;
    let eccr = flash.eccr().read();
    if eccr.eccd() {
        let base = if eccr.bk_ecc() { BANK_2 } else { FLASH_BASE };
        DOUBLE_ERROR.store(base.wrapping_add(eccr.addr_ecc()), Ordering::Relaxed);
        // Write-one-to-clear; ADDR_ECC is captured again once it is clear.
        flash.eccr().modify(|w| w.set_eccd(true));
        return;
    }
    // The other sources (the HSE's clock security, SRAM2 parity when the
    // option bytes turn it on) mean the clock or the RAM cannot be trusted,
    // and returning would re-enter at once: start again instead.
    cortex_m::peripheral::SCB::sys_reset();
}

/// The lock's flash region as lock-store sees it, telling the log when a
/// read met a double error.
pub struct StoreFlash<F> {
    flash: F,
}

impl<F> StoreFlash<F> {
    /// The region lock-store lives in.
    pub fn new(flash: F) -> Self {
        StoreFlash { flash }
    }
}

impl<F: ErrorType> ErrorType for StoreFlash<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> ReadNorFlash for StoreFlash<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let result = self.flash.read(offset, bytes);
        let at = DOUBLE_ERROR.swap(NONE, Ordering::Relaxed);
        if at != NONE {
            defmt::warn!(
                "flash: uncorrectable ECC error at {=u32:#x} (an interrupted write); the store checks what it read",
                at
            );
        }
        result
    }

    fn capacity(&self) -> usize {
        self.flash.capacity()
    }
}

impl<F: NorFlash> NorFlash for StoreFlash<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.flash.erase(from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.flash.write(offset, bytes)
    }
}
