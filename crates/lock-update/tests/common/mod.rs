//! Shared by the tests: a TEST key, images, one mock flash cut into the
//! boot loader's partitions, and the receiver driven end to end.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use embassy_boot::{BootError, BootLoader, BootLoaderConfig, State};
use embassy_futures::block_on;
use lock_store::mock_flash::{MockRegion, SharedMockFlash};
use lock_update::{
    BoardId, EmbassyBoot, Header, MANIFEST_LEN, Receiver, UpdateError, Verifier, Version,
};

/// A TEST secret key: never a maker's key.
pub const TEST_SECRET: [u8; 32] = *b"lock-update TEST key, not a real";
/// Another TEST key, for "signed by someone else".
pub const OTHER_TEST_SECRET: [u8; 32] = *b"another TEST key, also not real!";

pub fn board() -> BoardId {
    BoardId::new("nucleo-l476rg").unwrap()
}

/// A signed image: manifest, then `payload`.
pub fn image_with(secret: &[u8; 32], board: BoardId, counter: u32, payload: &[u8]) -> Vec<u8> {
    let version = Version {
        major: 1,
        minor: 0,
        patch: u16::try_from(counter).unwrap_or(0),
    };
    let header = Header::for_payload(board, version, counter, payload).unwrap();
    let mut image = lock_update::sign_manifest(secret, &header).to_vec();
    image.extend_from_slice(payload);
    image
}

pub fn image(counter: u32, payload: &[u8]) -> Vec<u8> {
    image_with(&TEST_SECRET, board(), counter, payload)
}

pub fn verifier(running_counter: u32) -> Verifier {
    Verifier::new(
        lock_update::public_key(&TEST_SECRET),
        board(),
        running_counter,
    )
}

/// Firmware-looking bytes: distinct per `seed`, no long runs of 0xFF.
pub fn firmware(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(u32::from(seed) * 97)
                .to_le_bytes()[1]
                & 0x7F
        })
        .collect()
}

// STM32L4-shaped flash: 8-byte words, 2 KiB pages.
pub const WORD: usize = 8;
pub const PAGE: usize = 2048;
pub type Flash = SharedMockFlash<WORD, PAGE>;

/// STATE (1 page), ACTIVE (4 pages), DFU (ACTIVE + 1 page, embassy-boot's
/// scratch page), side by side on one flash, so a cut counts every
/// operation of all three.
pub const STATE: (u32, u32) = (0, PAGE as u32);
pub const ACTIVE: (u32, u32) = (PAGE as u32, 4 * PAGE as u32);
pub const DFU: (u32, u32) = (5 * PAGE as u32, 5 * PAGE as u32);
pub const SECTORS: usize = 10;

/// A window of the shared mock flash, as async and as blocking NorFlash
/// (embassy-boot's BootLoader is blocking).
pub type Region = MockRegion<WORD, PAGE>;

pub fn region(flash: &Flash, (start, len): (u32, u32)) -> Region {
    MockRegion::new(flash, start, len)
}

/// A lock's flash: `old` programmed into ACTIVE (as a programmer would),
/// STATE and DFU erased.
pub fn lock_flash(old: &[u8]) -> Flash {
    let flash = Flash::new(SECTORS);
    flash.0.borrow_mut().edit(|bytes| {
        bytes[ACTIVE.0 as usize..][..old.len()].copy_from_slice(old);
    });
    flash
}

/// The staging area: DFU cut to ACTIVE's size.
pub fn staging(flash: &Flash) -> Region {
    region(flash, (DFU.0, ACTIVE.1))
}

pub fn slots<'a>(flash: &Flash, aligned: &'a mut [u8; WORD]) -> EmbassyBoot<'a, Region> {
    EmbassyBoot::new(region(flash, STATE), aligned).unwrap()
}

/// Sends `image` in `chunk`-byte chunks and finishes: what the runtime does.
pub fn update(
    flash: &Flash,
    verifier: &Verifier,
    image: &[u8],
    chunk: usize,
) -> Result<Header, UpdateError> {
    let mut aligned = [0u8; WORD];
    let mut slots = slots(flash, &mut aligned);
    let mut staging = staging(flash);
    block_on(async {
        let (manifest, payload) = image.split_at(MANIFEST_LEN.min(image.len()));
        let mut rx = Receiver::begin(verifier, manifest, &staging, &mut slots).await?;
        let mut offset = 0u32;
        for part in payload.chunks(chunk.max(1)) {
            offset = rx.chunk(&mut staging, offset, part).await?;
        }
        rx.finish(&mut staging, &mut slots).await
    })
}

/// What the boot loader does at reset: embassy-boot's own BootLoader.
///
/// Its STATE partition allows an all-zero word over a programmed one:
/// after a cut that tore a progress word, embassy-boot 0.7 redoes that
/// page and writes the word again (zeros), and on a strictly
/// write-once flash it then fails (`tests/power_cut.rs` shows where).
pub fn boot(flash: &Flash) -> Result<State, BootError> {
    boot_on(flash, true)
}

/// The boot loader on a STATE partition that refuses any second write.
pub fn boot_strict(flash: &Flash) -> Result<State, BootError> {
    boot_on(flash, false)
}

fn boot_on(flash: &Flash, zero_overwrite: bool) -> Result<State, BootError> {
    let mut loader = BootLoader::new(BootLoaderConfig {
        active: region(flash, ACTIVE),
        dfu: region(flash, DFU),
        // STATE takes an all-zero word over a programmed one, as plain NOR
        // and the STM32L4 do (`MockRegion::allowing_zero_overwrite`).
        state: if zero_overwrite {
            region(flash, STATE).allowing_zero_overwrite()
        } else {
            region(flash, STATE)
        },
    });
    let mut buf = [0u8; 256];
    loader.prepare_boot(&mut buf)
}

/// The running image's first `len` bytes.
pub fn active(flash: &Flash, len: usize) -> Vec<u8> {
    flash.0.borrow().bytes()[ACTIVE.0 as usize..][..len].to_vec()
}

pub fn state(flash: &Flash) -> lock_update::BootState {
    let mut aligned = [0u8; WORD];
    let mut slots = slots(flash, &mut aligned);
    block_on(lock_update::BootSlots::state(&mut slots)).unwrap()
}

pub fn confirm(flash: &Flash) -> Result<lock_update::BootState, UpdateError> {
    let mut aligned = [0u8; WORD];
    let mut slots = slots(flash, &mut aligned);
    block_on(lock_update::confirm(&mut slots))
}

pub fn operations(flash: &Flash) -> u64 {
    flash.0.borrow().operations()
}
