#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]
//!
//! ## Why these crates
//!
//! - **ed25519-dalek 3** (`verify_strict`, no default features): the
//!   signature S-UP-1 names; the same curve25519-dalek 5 lock-proto already
//!   links for X25519. `verify_strict` refuses small-order keys and
//!   malleable signatures.
//! - **sha2 0.11, SHA-512**: Ed25519 hashes with SHA-512 internally, so the
//!   payload digest adds no hash code to the firmware. embassy-boot's
//!   `verify_and_mark_updated` also signs the SHA-512 of the firmware; it
//!   is not used here because it checks only after the whole download
//!   (this format checks the signed header before the first erase), carries
//!   no board id or security counter, and its `ed25519-dalek` feature needs
//!   ed25519-dalek 2 (a second curve25519-dalek in the firmware).
//! - **A fixed 128-byte header, signature right after it**: MCUboot puts
//!   its header in front and the signature in TLVs after the payload, which
//!   means hashing before trusting anything. Here the signed manifest comes
//!   first, so an unsigned, foreign-board or downgrade image is refused
//!   before any flash is erased, and the streaming digest ties the payload
//!   to it. The payload is the firmware exactly as the boot loader copies it
//!   into the active slot (no header in the slot, so no link offset).
//! - **embassy-boot 0.7** (feature `embassy-boot`): its `FirmwareState`
//!   marks and confirms, its `BootLoader` swaps page by page with progress
//!   in the STATE partition and reverts an unconfirmed image. 0.7 is the
//!   release built on the embassy-embedded-hal 0.6 and embassy-sync 0.8
//!   already in the lock file.
//! - **embedded-storage-async** `NorFlash`, like lock-store: the runtime is
//!   async; a blocking driver goes through embassy-embedded-hal's
//!   `BlockingAsync` (lock-store's `blocking` feature re-exports it).
//!
//! Written here: the format, the receiver, the `BootSlots` trait and its
//! embassy-boot mapping. Not written here: the crypto, the hash, the swap.
//!
//! ## The ESP32-C3
//!
//! The ESP-IDF second-stage boot loader does not swap: it boots one of two
//! OTA app partitions, chosen by the `otadata` partition, and with app
//! rollback enabled in its build it marks a `New` image `PendingVerify`
//! on its first boot and `Aborted` (rolled back) on the next unless the app
//! set it `Valid`. esp-bootloader-esp-idf's `ota` / `ota_updater` modules
//! (partition table, `OtaImageState`) map onto [`BootSlots`] like this
//! (`boards/esp32c3/src/ota.rs` implements it):
//!
//! - the staging flash: the next OTA app partition (esp-storage through the
//!   partition's region, wrapped in `BlockingAsync`);
//! - `mark_updated`: activate the next partition and set its state `New`;
//! - `state`: `PendingVerify` or `New` on the current slot → `Trial`;
//!   `Valid`/`Undefined` → `Confirmed`; a last slot `Aborted`/`Invalid` →
//!   `Reverted`;
//! - `mark_booted`: set the current slot `Valid`.
//!
//! Whether the prebuilt boot loader the board flashes has rollback enabled
//! decides whether an unconfirmed image is reverted: check it on the board.

mod error;
mod image;
mod receiver;
mod slots;

/// The error kind [`BootSlots`] and [`UpdateError::Flash`] carry
/// (embedded-storage's), re-exported so an implementer needs no other crate.
pub use embedded_storage_async::nor_flash::NorFlashErrorKind;
pub use error::UpdateError;
pub use image::{
    BOARD_ID_LEN, BoardId, DIGEST_LEN, FORMAT_VERSION, HEADER_LEN, Header, MAGIC, MANIFEST_LEN,
    SIGNATURE_LEN, Verifier, Version, payload_digest,
};
#[cfg(feature = "sign")]
pub use image::{public_key, sign_manifest};
pub use receiver::{Finished, MAX_WRITE_SIZE, Receiver};
#[cfg(feature = "embassy-boot")]
pub use slots::EmbassyBoot;
pub use slots::{BootSlots, BootState, confirm};
