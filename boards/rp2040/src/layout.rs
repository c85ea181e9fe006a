//! The Pico W's flash layout (a 2 MiB W25Q16JV of 4 KiB sectors):
//! embassy-boot's boot loader and partitions, and lock-store's region. One
//! source for the firmware (`src/main.rs`) and the boot loader
//! (`boards/rp2040-boot`, which includes this file); `memory.x` of each
//! says the same in linker terms and must be kept in step by hand
//! (README.md, Firmware updates).
//!
//! Offsets are from the start of flash (0x1000_0000), as embassy-rp's
//! flash driver counts them:
//!
//! | what | offset | size |
//! |---|---|---|
//! | BOOT2: the second-stage boot loader, first as the boot ROM wants it | 0x000000 | 256 B |
//! | boot loader (`boards/rp2040-boot`), BOOT2 included | 0x000000 | 32 KiB |
//! | STATE: embassy-boot's marks and swap progress | 0x008000 | 4 KiB |
//! | ACTIVE: the running firmware, the radio's blobs in it | 0x009000 | 948 KiB |
//! | DFU: the staged image, ACTIVE + one sector | 0x0F6000 | 952 KiB |
//! | lock-store: state | 0x1E4000 | 48 KiB |
//! | lock-store: log | 0x1F0000 | 64 KiB |

// Two packages include this file and each uses part of it.
#![allow(dead_code)]

/// Where the flash is mapped (execute in place).
pub const FLASH_BASE: u32 = 0x1000_0000;
/// The whole flash: 2 MiB.
pub const FLASH_SIZE: u32 = 2 * 1024 * 1024;
/// The erase sector, embassy-boot's swap unit.
pub const SECTOR: u32 = 4096;
/// The programming unit embassy-rp's driver offers (one byte).
pub const WORD: u32 = 1;

/// The boot loader, BOOT2 first, where the boot ROM starts.
pub const BOOT_LOADER_START: u32 = 0;
/// Room for the boot loader and BOOT2.
pub const BOOT_LOADER_SIZE: u32 = 32 * 1024;

/// STATE: embassy-boot's magic and the swap's progress bytes.
pub const STATE_START: u32 = BOOT_LOADER_START + BOOT_LOADER_SIZE;
/// One sector: a swap's progress takes `(2 + 4 × ACTIVE sectors) × WORD`
/// bytes (950 here).
pub const STATE_SIZE: u32 = SECTOR;

/// ACTIVE: the firmware that runs; its `memory.x` FLASH.
pub const ACTIVE_START: u32 = STATE_START + STATE_SIZE;
/// The largest firmware image.
pub const ACTIVE_SIZE: u32 = 948 * 1024;

/// DFU: where an update is staged, one sector more than ACTIVE
/// (embassy-boot swaps through it).
pub const DFU_START: u32 = ACTIVE_START + ACTIVE_SIZE;
/// ACTIVE and the swap's sector.
pub const DFU_SIZE: u32 = ACTIVE_SIZE + SECTOR;

/// lock-store's region: the last 112 KiB, 48 KiB state and 64 KiB log
/// (src/main.rs, `STORE`).
pub const LOCK_REGION_START: u32 = 0x1E_4000;
/// Its size.
pub const LOCK_REGION_SIZE: u32 = 0x1_C000;

const _: () = assert!(BOOT_LOADER_SIZE.is_multiple_of(SECTOR));
const _: () = assert!(STATE_START.is_multiple_of(SECTOR) && STATE_SIZE.is_multiple_of(SECTOR));
const _: () = assert!(ACTIVE_START.is_multiple_of(SECTOR) && ACTIVE_SIZE.is_multiple_of(SECTOR));
const _: () = assert!(DFU_START.is_multiple_of(SECTOR) && DFU_SIZE.is_multiple_of(SECTOR));
// The vector table at ACTIVE's start: the Cortex-M0+'s VTOR takes 256-byte
// aligned addresses.
const _: () = assert!((FLASH_BASE + ACTIVE_START).is_multiple_of(256));
// embassy-boot's own checks (`assert_partitions`), here at compile time.
const _: () = assert!(DFU_SIZE >= ACTIVE_SIZE + SECTOR);
const _: () = assert!(2 + 4 * (ACTIVE_SIZE / SECTOR) <= STATE_SIZE / WORD);
// In this order, none overlapping, lock-store's region last, ending the
// flash, where it was before the boot loader.
const _: () = assert!(DFU_START + DFU_SIZE <= LOCK_REGION_START);
const _: () = assert!(LOCK_REGION_START + LOCK_REGION_SIZE == FLASH_SIZE);
const _: () = assert!(LOCK_REGION_START == 0x1E_4000);
