//! The simulated lock's firmware slots and boot loader (S-UP-1…4).
//!
//! The lock's program flash is a mock NOR flash of its own, cut into
//! embassy-boot's partitions: STATE (one sector), ACTIVE (the running
//! image) and DFU (the staging area, one sector more than ACTIVE for the
//! swap). At every power-up embassy-boot's own `BootLoader` runs on it, as
//! on the Cortex-M boards, swapping in an image marked for boot or rolling
//! back one that never confirmed itself; then the lock starts, and
//! lock-runtime's `SlotUpdater` (lock-update's receiver) takes an
//! administrator's images into DFU and confirms a new image once the lock
//! restored its state.
//!
//! The simulator cannot run the image it received: every image runs this
//! same program. What an image *is* lives in its first bytes, which the
//! simulator reads from ACTIVE after the boot loader ran: its security
//! counter (the version the lock reports and checks updates against) and
//! whether it fails its self-check (a "broken" image, which never confirms
//! itself). The images themselves are made here, signed with a throwaway
//! TEST key ([`TEST_MAKER_KEY`]); `app update NAME` sends one.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use embassy_boot::{BootLoader, BootLoaderConfig, State};
use lock_store::mock_flash::{MockRegion, SharedMockFlash};
use lock_update::{BoardId, Header, Verifier, Version};

/// The program flash's shape: the ESP32-C3's SPI flash, 4-byte words and
/// 4 KiB sectors.
const WORD: usize = 4;
const SECTOR: usize = 4096;
const SECTOR_U32: u32 = 4096;
const _: () = assert!(SECTOR_U32 as usize == SECTOR);

/// The lock's program flash.
pub type FirmwareFlash = SharedMockFlash<WORD, SECTOR>;
/// One partition of it.
pub type Partition = MockRegion<WORD, SECTOR>;

/// Sectors of the running image's slot: a simulated image is
/// [`PAYLOAD_LEN`] bytes.
const ACTIVE_SECTORS: u32 = 4;
const STATE: (u32, u32) = (0, SECTOR_U32);
const ACTIVE: (u32, u32) = (SECTOR_U32, ACTIVE_SECTORS * SECTOR_U32);
const DFU: (u32, u32) = (
    (1 + ACTIVE_SECTORS) * SECTOR_U32,
    (ACTIVE_SECTORS + 1) * SECTOR_U32,
);
/// Sectors of the whole program flash.
const SECTORS: usize = 2 + 2 * ACTIVE_SECTORS as usize;

/// A simulated image's payload: the identity below, then filler.
pub const PAYLOAD_LEN: usize = 12 * 1024;

/// What starts every simulated payload.
const IDENTITY_MAGIC: [u8; 8] = *b"SIMLOCK1";

/// The board the simulated lock's images are for.
pub const BOARD: &str = "lock-sim";

/// The maker's key of the simulated lock: a TEST key, public in this
/// source, never a real maker's. A lock built by a maker trusts only the
/// public half of a key kept off the repository (`lock-sign keygen`).
pub const TEST_MAKER_KEY: [u8; 32] = *b"lock-sim TEST maker key, public!";

/// Someone else's key: an image signed with it is a forgery.
const TEST_FORGER_KEY: [u8; 32] = *b"lock-sim TEST forger key, public";

/// The factory image's security counter.
pub const FACTORY_COUNTER: u32 = 1;

/// The image a lock runs, as its first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    /// Its security counter (`v2` is counter 2).
    pub counter: u32,
    /// It fails its self-check: it never confirms itself.
    pub broken: bool,
}

fn board() -> Option<BoardId> {
    BoardId::new(BOARD)
}

/// A simulated payload: its identity, then bytes that differ per counter.
fn payload(counter: u32, broken: bool) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(PAYLOAD_LEN);
    bytes.extend_from_slice(&IDENTITY_MAGIC);
    bytes.extend_from_slice(&counter.to_le_bytes());
    bytes.push(u8::from(broken));
    let mut x = counter.wrapping_mul(0x9E37_79B9) | 1;
    while bytes.len() < PAYLOAD_LEN {
        // xorshift32: filler that is neither erased flash nor zeros.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x.to_le_bytes()[0]);
    }
    bytes
}

/// The identity at the start of an image slot.
fn identity(slot: &[u8]) -> Option<Running> {
    let magic = slot.get(..8)?;
    if magic != IDENTITY_MAGIC {
        return None;
    }
    let counter = u32::from_le_bytes(slot.get(8..12)?.try_into().ok()?);
    let broken = *slot.get(12)? != 0;
    Some(Running { counter, broken })
}

/// A signed image: the manifest, then the payload.
fn signed(
    secret: &[u8; 32],
    board: BoardId,
    counter: u32,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let version = Version {
        major: 1,
        minor: u8::try_from(counter).unwrap_or(u8::MAX),
        patch: 0,
    };
    let header = Header::for_payload(board, version, counter, payload)
        .ok_or_else(|| String::from("cannot make an image of that payload"))?;
    let mut image = lock_update::sign_manifest(secret, &header).to_vec();
    image.extend_from_slice(payload);
    Ok(image)
}

/// The image `name` stands for in a scenario:
/// - `vN`: a good image with security counter N (`v2`; `v0` is older than
///   the factory image's `v1`);
/// - `broken`: a good `v2` that fails its self-check after the reset;
/// - `forged`: a `v2` signed with someone else's key;
/// - `unsigned`: a `v2` whose signature is zeros;
/// - `foreign`: a `v2` for another board;
/// - `corrupt`: a `v2` with one payload byte changed after it was signed.
pub fn image(name: &str) -> Result<Vec<u8>, String> {
    let board = board().ok_or("the simulated board's id")?;
    let v2 = || payload(2, false);
    match name {
        "broken" => signed(&TEST_MAKER_KEY, board, 2, &payload(2, true)),
        "forged" => signed(&TEST_FORGER_KEY, board, 2, &v2()),
        "unsigned" => {
            let mut image = signed(&TEST_MAKER_KEY, board, 2, &v2())?;
            if let Some(signature) =
                image.get_mut(lock_update::HEADER_LEN..lock_update::MANIFEST_LEN)
            {
                signature.fill(0);
            }
            Ok(image)
        }
        "foreign" => {
            let other = BoardId::new("another-board").ok_or("another board's id")?;
            signed(&TEST_MAKER_KEY, other, 2, &v2())
        }
        "corrupt" => {
            let mut image = signed(&TEST_MAKER_KEY, board, 2, &v2())?;
            if let Some(byte) = image.get_mut(lock_update::MANIFEST_LEN + 100) {
                *byte ^= 0x01;
            }
            Ok(image)
        }
        _ => {
            let counter = name
                .strip_prefix('v')
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| {
                    format!("no image `{name}`: vN, broken, forged, unsigned, foreign or corrupt")
                })?;
            signed(&TEST_MAKER_KEY, board, counter, &payload(counter, false))
        }
    }
}

/// The lock's program flash and what runs from it.
#[derive(Debug, Clone)]
pub struct Firmware {
    flash: FirmwareFlash,
}

impl Default for Firmware {
    fn default() -> Self {
        Firmware::new()
    }
}

impl Firmware {
    /// A lock from the factory: the `v1` image in ACTIVE, STATE and DFU
    /// erased.
    pub fn new() -> Firmware {
        let flash = FirmwareFlash::new(SECTORS);
        let factory = payload(FACTORY_COUNTER, false);
        flash.0.borrow_mut().edit(|bytes| {
            let start = ACTIVE.0 as usize;
            if let Some(slot) = bytes.get_mut(start..start + factory.len()) {
                slot.copy_from_slice(&factory);
            }
        });
        Firmware { flash }
    }

    fn partition(&self, (start, len): (u32, u32)) -> Partition {
        Partition::new(&self.flash, start, len)
    }

    /// Power-up: embassy-boot's boot loader swaps in a marked image or
    /// rolls back one that did not confirm itself, then says what runs.
    /// Never inlined, so the boot loader's frames are not in the
    /// simulator's other steps.
    #[inline(never)]
    pub fn boot(&self) -> Result<Running, String> {
        let mut loader = BootLoader::new(BootLoaderConfig {
            active: self.partition(ACTIVE),
            dfu: self.partition(DFU),
            state: self.partition(STATE).allowing_zero_overwrite(),
        });
        let mut buf = [0u8; 256];
        let state: State = loader
            .prepare_boot(&mut buf)
            .map_err(|e| format!("the boot loader failed: {e:?}"))?;
        let _ = state;
        self.running()
            .ok_or_else(|| String::from("the active slot holds no image"))
    }

    /// What the active slot holds.
    pub fn running(&self) -> Option<Running> {
        let flash = self.flash.0.borrow();
        let start = ACTIVE.0 as usize;
        identity(flash.bytes().get(start..start + 16)?)
    }

    /// The verifier of the image that runs: the maker's key, this board,
    /// its security counter.
    pub fn verifier(running: Running) -> Option<Verifier> {
        Some(Verifier::new(
            lock_update::public_key(&TEST_MAKER_KEY),
            board()?,
            running.counter,
        ))
    }

    /// The staging area (DFU cut to ACTIVE's size) the receiver writes.
    pub fn staging(&self) -> Partition {
        self.partition((DFU.0, ACTIVE.1))
    }

    /// The STATE partition, where the running firmware marks and confirms
    /// an image (strictly write-once: only the boot loader rewrites a
    /// progress word).
    pub fn state(&self) -> Partition {
        self.partition(STATE)
    }
}
