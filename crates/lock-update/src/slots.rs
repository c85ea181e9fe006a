//! The boot loader's side: marking a staged image for boot and confirming
//! it, behind a small trait each boot loader implements.

use embedded_storage_async::nor_flash::NorFlashErrorKind;

use crate::UpdateError;

/// Where the boot loader stands, as the running firmware sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootState {
    /// The running image is confirmed (or the only one): the staging area
    /// is free to take a new image.
    Confirmed,
    /// An image is marked and not confirmed: either it boots at the next
    /// reset, or it is running now on trial. A trial image calls
    /// [`confirm`] once it has restored the lock's state and passed its
    /// self-check; unconfirmed, it is rolled back at the next reset.
    Trial,
    /// The boot loader rolled a trial image back: the running image is the
    /// old one. The staging area is free again.
    Reverted,
}

/// A boot loader's A/B slots as the firmware drives them. Implemented by
/// [`EmbassyBoot`](crate::EmbassyBoot) (feature `embassy-boot`); the
/// ESP32-C3's ESP-IDF OTA slots map onto it as the crate docs say.
#[allow(async_fn_in_trait)] // Like embedded-storage-async: single-threaded executors, no `Send` bound wanted.
pub trait BootSlots {
    /// Where the boot loader stands.
    async fn state(&mut self) -> Result<BootState, NorFlashErrorKind>;
    /// Marks the staged image to be booted on trial at the next reset.
    /// Called only by [`Receiver::finish`](crate::Receiver::finish), after
    /// every check passed.
    async fn mark_updated(&mut self) -> Result<(), NorFlashErrorKind>;
    /// Confirms the running image: no rollback at the next reset.
    async fn mark_booted(&mut self) -> Result<(), NorFlashErrorKind>;
}

/// Confirms the running image if it is on trial; call it after the lock
/// booted, restored its state and passed its self-check. Returns the state
/// before: `Trial` if this call confirmed it, otherwise nothing was written.
///
/// Careful: `Trial` is also the state between [`Receiver::finish`](crate::Receiver::finish)
/// and the reset that boots the new image; confirming then would cancel the
/// trial (embassy-boot: no swap at all). Call this once at start-up only.
pub async fn confirm<S: BootSlots>(slots: &mut S) -> Result<BootState, UpdateError> {
    let state = slots.state().await.map_err(UpdateError::Flash)?;
    if state == BootState::Trial {
        slots.mark_booted().await.map_err(UpdateError::Flash)?;
    }
    Ok(state)
}

#[cfg(feature = "embassy-boot")]
pub use self::embassy::EmbassyBoot;

#[cfg(feature = "embassy-boot")]
mod embassy {
    use embassy_boot::{FirmwareState, FirmwareUpdaterError, State};
    use embedded_storage_async::nor_flash::{NorFlash, NorFlashErrorKind};

    use super::{BootSlots, BootState};

    /// [`BootSlots`] over embassy-boot's STATE partition. The staging area
    /// the [`Receiver`](crate::Receiver) writes is embassy-boot's DFU
    /// partition, cut to the ACTIVE partition's size (the DFU partition's
    /// last page is the swap's scratch page).
    ///
    /// embassy-boot's `FirmwareUpdater` is not used: the receiver writes
    /// the DFU partition itself, so it checks the signed header before the
    /// first erase, and refuses while an image is on trial as
    /// `write_firmware` does; and `FirmwareUpdater::mark_updated` is
    /// compiled out as soon as any crate enables embassy-boot's signature
    /// features, while `FirmwareState::mark_updated` is always there.
    pub struct EmbassyBoot<'d, STATE: NorFlash> {
        state: FirmwareState<'d, STATE>,
    }

    impl<'d, STATE: NorFlash> EmbassyBoot<'d, STATE> {
        /// Over the STATE partition, with a work buffer of exactly
        /// `max(STATE::WRITE_SIZE, STATE::READ_SIZE)` bytes (embassy-boot
        /// asserts it; `None` here instead of a panic), aligned as the
        /// flash driver needs (`embassy_boot::AlignedBuffer` is). A
        /// blocking STATE partition goes through embassy-embedded-hal's
        /// `BlockingAsync`.
        pub fn new(state: STATE, aligned: &'d mut [u8]) -> Option<Self> {
            if aligned.len() != STATE::WRITE_SIZE.max(STATE::READ_SIZE) {
                return None;
            }
            Some(EmbassyBoot {
                state: FirmwareState::new(state, aligned),
            })
        }
    }

    fn kind(e: FirmwareUpdaterError) -> NorFlashErrorKind {
        match e {
            FirmwareUpdaterError::Flash(kind) => kind,
            FirmwareUpdaterError::Signature(_) | FirmwareUpdaterError::BadState => {
                NorFlashErrorKind::Other
            }
        }
    }

    impl<STATE: NorFlash> BootSlots for EmbassyBoot<'_, STATE> {
        async fn state(&mut self) -> Result<BootState, NorFlashErrorKind> {
            Ok(match self.state.get_state().await.map_err(kind)? {
                // DfuDetach asks the boot loader for USB DFU, which the lock
                // does not use: nothing is staged or on trial.
                State::Boot | State::DfuDetach => BootState::Confirmed,
                State::Swap => BootState::Trial,
                State::Revert => BootState::Reverted,
            })
        }

        async fn mark_updated(&mut self) -> Result<(), NorFlashErrorKind> {
            self.state.mark_updated().await.map_err(kind)
        }

        async fn mark_booted(&mut self) -> Result<(), NorFlashErrorKind> {
            self.state.mark_booted().await.map_err(kind)
        }
    }
}
