//! The boot loader of boards/rp2040 (Pico W): embassy-boot's, which at
//! every reset swaps in an image the firmware marked (lock-update's
//! `EmbassyBoot` over STATE), reverts one that ran and never confirmed
//! itself, and then starts the firmware at ACTIVE. The layout is
//! boards/rp2040/src/layout.rs, included here, so the boot loader and the
//! firmware cannot disagree on it; lock-store's region lies outside every
//! partition and is never touched here. BOOT2 comes first in this image,
//! where the boot ROM looks for it.
//!
//! The swap copies sector by sector and records its progress in STATE, so
//! a power cut anywhere in it resumes at the next reset (crates/lock-update's
//! power-cut tests run this same logic on a mock flash). The watchdog runs
//! through it, fed at every flash operation (embassy-boot-rp's
//! `WatchdogFlash`), and is still running when the firmware starts, which
//! takes it over (boards/rp2040, Watchdog). Nothing here checks a
//! signature: the firmware verified the image (Ed25519, board, security
//! counter) before it marked it (README.md, Firmware updates).

#![no_std]
#![no_main]

#[path = "../../rp2040/src/layout.rs"]
mod layout;

use core::cell::RefCell;

use embassy_boot_rp::{BootLoader, BootLoaderConfig, WatchdogFlash};
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::Duration;

/// The flash's size, as embassy-rp's driver takes it.
const FLASH_SIZE: usize = 2 * 1024 * 1024;
const _: () = assert!(FLASH_SIZE == layout::FLASH_SIZE as usize);

/// The watchdog's time-out while the boot loader works: a sector's erase
/// takes 400 ms at worst (W25Q16JV), and the watchdog is fed at each; just
/// under the 8.39 s embassy-rp allows (RP2040-E1), like the firmware's, so
/// that the firmware has that long to take it over.
const WATCHDOG: Duration = Duration::from_millis(8_000);

#[cortex_m_rt::entry]
fn main() -> ! {
    let p = embassy_rp::init(embassy_rp::config::Config::default());
    let flash: Mutex<NoopRawMutex, RefCell<WatchdogFlash<'_, FLASH_SIZE>>> = Mutex::new(
        RefCell::new(WatchdogFlash::start(p.FLASH, p.WATCHDOG, WATCHDOG)),
    );
    let config = BootLoaderConfig {
        active: BlockingPartition::new(&flash, layout::ACTIVE_START, layout::ACTIVE_SIZE),
        dfu: BlockingPartition::new(&flash, layout::DFU_START, layout::DFU_SIZE),
        state: BlockingPartition::new(&flash, layout::STATE_START, layout::STATE_SIZE),
    };
    // The swap's work buffer is one sector (embassy-boot-rp's default).
    let loader = match BootLoader::<4096>::try_prepare(config) {
        Ok(loader) => loader,
        // A flash error part-way: start again; the swap resumes where its
        // progress in STATE says. Starting ACTIVE now could run half of
        // each image.
        Err(_) => cortex_m::peripheral::SCB::sys_reset(),
    };
    // SAFETY: ACTIVE holds a firmware image linked for that address
    // (boards/rp2040/memory.x: FLASH = ACTIVE), its vector table first; the
    // partitions are no longer used. `load` sets VTOR, the stack pointer
    // and jumps to its reset handler.
    #[allow(unsafe_code)]
    unsafe {
        loader.load(layout::FLASH_BASE + layout::ACTIVE_START)
    }
}

/// A fault starts the chip again instead of spinning until the watchdog
/// does.
// SAFETY (of the definition): cortex-m-rt's signature for HardFault; it
// only resets.
#[allow(unsafe_code)]
#[cortex_m_rt::exception]
unsafe fn HardFault(_frame: &cortex_m_rt::ExceptionFrame) -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}

/// A panic (embassy-boot's partition checks) starts again too.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}
