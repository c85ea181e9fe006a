//! The STM32L476RG's flash layout: embassy-boot's boot loader and
//! partitions, and lock-store's region. One source for the firmware
//! (`src/main.rs`) and the boot loader (`boards/stm32-boot`, which includes
//! this file); `memory.x` of each says the same in linker terms and must
//! be kept in step by hand (README.md, Firmware updates).
//!
//! Offsets are from the start of flash (0x0800_0000), as embassy-stm32's
//! flash driver counts them. The flash is two 512 KiB banks of 2 KiB pages
//! (`dual-bank`, the factory option bytes):
//!
//! | what | offset | size | bank |
//! |---|---|---|---|
//! | boot loader (`boards/stm32-boot`) | 0x00000 | 16 KiB | 1 |
//! | ACTIVE: the running firmware | 0x04000 | 440 KiB | 1 |
//! | DFU: the staged image, ACTIVE + one page | 0x72000 | 442 KiB | 56 KiB in 1, the rest in 2 |
//! | STATE: embassy-boot's marks and swap progress | 0xE0800 | 8 KiB | 2 |
//! | (free) | 0xE2800 | 6 KiB | 2 |
//! | lock-store: state | 0xE4000 | 48 KiB | 2 |
//! | lock-store: log | 0xF0000 | 64 KiB | 2 |
//!
//! The code runs from bank 1; what the firmware writes while it runs (the
//! lock's state, STATE, all but the first 56 KiB of DFU) is in bank 2, so
//! erasing and writing it does not stall the code being fetched.

// Two packages include this file and each uses part of it.
#![allow(dead_code)]

/// Where the flash is mapped.
pub const FLASH_BASE: u32 = 0x0800_0000;
/// The whole flash: 1 MiB.
pub const FLASH_SIZE: u32 = 1024 * 1024;
/// The erase page, embassy-boot's swap unit.
pub const PAGE: u32 = 2048;
/// The programming unit: a 64-bit double word (and its 8 ECC bits).
pub const WORD: u32 = 8;
/// Where bank 2 starts.
pub const BANK_2: u32 = 512 * 1024;

/// The boot loader, where the chip starts.
pub const BOOT_LOADER_START: u32 = 0;
/// Room for the boot loader.
pub const BOOT_LOADER_SIZE: u32 = 16 * 1024;

/// ACTIVE: the firmware that runs; its `memory.x` FLASH.
pub const ACTIVE_START: u32 = BOOT_LOADER_START + BOOT_LOADER_SIZE;
/// The largest firmware image.
pub const ACTIVE_SIZE: u32 = 440 * 1024;

/// DFU: where an update is staged, one page more than ACTIVE (embassy-boot
/// swaps through it).
pub const DFU_START: u32 = ACTIVE_START + ACTIVE_SIZE;
/// ACTIVE and the swap's page.
pub const DFU_SIZE: u32 = ACTIVE_SIZE + PAGE;

/// STATE: embassy-boot's magic and the swap's progress words.
pub const STATE_START: u32 = DFU_START + DFU_SIZE;
/// Four pages: the progress of a swap of ACTIVE takes
/// `(2 + 4 × ACTIVE pages) × WORD` bytes (7,056 here).
pub const STATE_SIZE: u32 = 4 * PAGE;

/// lock-store's region: the last 112 KiB of bank 2, 48 KiB state and
/// 64 KiB log (src/main.rs, `STORE`).
pub const LOCK_REGION_START: u32 = 0x000E_4000;
/// Its size.
pub const LOCK_REGION_SIZE: u32 = 0x0001_C000;

const _: () = assert!(BOOT_LOADER_SIZE.is_multiple_of(PAGE));
const _: () = assert!(ACTIVE_START.is_multiple_of(PAGE) && ACTIVE_SIZE.is_multiple_of(PAGE));
const _: () = assert!(DFU_START.is_multiple_of(PAGE) && DFU_SIZE.is_multiple_of(PAGE));
const _: () = assert!(STATE_START.is_multiple_of(PAGE) && STATE_SIZE.is_multiple_of(PAGE));
// The vector table at ACTIVE's start: VTOR wants it aligned to its size
// rounded up to a power of two (98 entries: 512 bytes).
const _: () = assert!((FLASH_BASE + ACTIVE_START).is_multiple_of(512));
// embassy-boot's own checks (`assert_partitions`), here at compile time.
const _: () = assert!(DFU_SIZE >= ACTIVE_SIZE + PAGE);
const _: () = assert!(2 + 4 * (ACTIVE_SIZE / PAGE) <= STATE_SIZE / WORD);
// In this order, none overlapping, all before lock-store's region, which
// ends the flash and lies in bank 2.
const _: () = assert!(STATE_START + STATE_SIZE <= LOCK_REGION_START);
const _: () = assert!(STATE_START == 0x000E_0800);
const _: () = assert!(LOCK_REGION_START + LOCK_REGION_SIZE == FLASH_SIZE);
const _: () = assert!(LOCK_REGION_START >= BANK_2, "the region must be in bank 2");
const _: () = assert!(STATE_START >= BANK_2, "STATE must be in bank 2");
// The code runs from bank 1 only.
const _: () = assert!(ACTIVE_START + ACTIVE_SIZE <= BANK_2);
