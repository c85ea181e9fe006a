//! The boot loader of boards/stm32 (STM32L476RG): embassy-boot's, which at
//! every reset swaps in an image the firmware marked (lock-update's
//! `EmbassyBoot` over STATE), reverts one that ran and never confirmed
//! itself, and then starts the firmware at ACTIVE. The layout is
//! boards/stm32/src/layout.rs, included here, so the boot loader and the
//! firmware cannot disagree on it; lock-store's region lies outside every
//! partition and is never touched here.
//!
//! The swap copies page by page and records its progress in STATE, so a
//! power cut anywhere in it resumes at the next reset (crates/lock-update's
//! power-cut tests run this same logic on a mock flash). Nothing here
//! checks a signature: the firmware verified the image (Ed25519, board,
//! security counter) before it marked it, and only a marked image is
//! swapped in (README.md, Firmware updates).

#![no_std]
#![no_main]

#[path = "../../stm32/src/layout.rs"]
mod layout;

use core::cell::RefCell;

use embassy_boot_stm32::{BootLoader, BootLoaderConfig, State};
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_stm32::flash::{Blocking, Flash};
use embassy_stm32::pac;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;

/// The swap's work buffer: one page (embassy-boot wants a divisor of the
/// page that is a multiple of the programming unit; a whole page is the
/// fewest flash calls). On the stack, which has the whole RAM.
const BUFFER: usize = 2048;
const _: () = assert!(BUFFER == layout::PAGE as usize);

#[cortex_m_rt::entry]
fn main() -> ! {
    // No `embassy_stm32::init`: it would set up the clocks, and with them
    // the RTC's clock source in the backup domain, which differs from the
    // firmware's (the LSE) and would then be reset at every boot, losing
    // the time. The flash needs nothing of it (its interface clock is on
    // from reset; the blocking driver only polls its registers).
    // SAFETY: the only peripheral this program takes, once.
    #[allow(unsafe_code)]
    let flash_peripheral = unsafe { embassy_stm32::peripherals::FLASH::steal() };
    // embassy-stm32's flash driver panics when the option bytes' bank mode
    // is not the one it was built for (`dual-bank`, the factory setting),
    // and the layout's offsets assume it. In single-bank mode nothing is
    // swapped: the firmware starts and says why it halts.
    let mut loader = BootLoader { state: State::Boot };
    if pac::FLASH.optr().read().dualbank() {
        let flash: Mutex<NoopRawMutex, RefCell<Flash<'_, Blocking>>> =
            Mutex::new(RefCell::new(Flash::new_blocking(flash_peripheral)));
        let config = BootLoaderConfig {
            active: BlockingPartition::new(&flash, layout::ACTIVE_START, layout::ACTIVE_SIZE),
            dfu: BlockingPartition::new(&flash, layout::DFU_START, layout::DFU_SIZE),
            state: BlockingPartition::new(&flash, layout::STATE_START, layout::STATE_SIZE),
        };
        match BootLoader::try_prepare::<_, _, _, BUFFER>(config) {
            Ok(prepared) => loader = prepared,
            // A flash error part-way: start again; the swap resumes where
            // its progress in STATE says. Starting ACTIVE now could run
            // half of each image.
            Err(_) => cortex_m::peripheral::SCB::sys_reset(),
        }
    }
    // SAFETY: ACTIVE holds a firmware image linked for that address
    // (boards/stm32/memory.x: FLASH = ACTIVE), its vector table first; the
    // flash driver and the partitions are no longer used. `load` sets VTOR,
    // the stack pointer and jumps to its reset handler.
    #[allow(unsafe_code)]
    unsafe {
        loader.load(layout::FLASH_BASE + layout::ACTIVE_START)
    }
}

/// An uncorrectable ECC error (a double word torn by a power cut, RM0351
/// "Error code correction") raises an NMI on every read of it; cortex-m-rt's
/// default handler would spin there at every boot. As in the firmware
/// (boards/stm32/src/ecc.rs): clear the flag and return, so the read
/// completes with the damaged bytes. embassy-boot rewrites a torn progress
/// word and redoes a torn page. Any other NMI source: start again.
// SAFETY (of the definition): cortex-m-rt asks for `unsafe fn` because an
// NMI can interrupt anything; this touches only the flash's ECC register.
#[allow(unsafe_code)]
#[cortex_m_rt::exception]
unsafe fn NonMaskableInt() {
    let flash = pac::FLASH;
    if flash.eccr().read().eccd() {
        // Write-one-to-clear.
        flash.eccr().modify(|w| w.set_eccd(true));
        return;
    }
    cortex_m::peripheral::SCB::sys_reset();
}

/// A fault starts the chip again instead of spinning until a power cycle
/// (no watchdog runs yet: the firmware arms it).
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
