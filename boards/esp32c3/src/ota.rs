//! Firmware updates on the ESP32-C3 (S-UP-1…4, README.md, Firmware updates):
//! the ESP-IDF second-stage boot loader's OTA slots as lock-update's
//! [`BootSlots`], through esp-bootloader-esp-idf 0.6's `ota` module.
//!
//! The ESP-IDF boot loader does not swap: it boots one of the app
//! partitions `ota_0` / `ota_1`, the one the `otadata` partition selects
//! (its two entries, the higher sequence number wins). The staging area is
//! the app partition the lock is *not* running from; marking an image
//! selects that partition and sets its entry `New`; the new image confirms
//! itself by setting it `Valid`. A boot loader built with app rollback
//! (`CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE`) turns `New` into
//! `PendingVerify` at the first boot and marks it `Aborted`, booting the
//! other partition, at the next unless it was confirmed; one built
//! without it boots the new image for good (README.md, Not proven).
//!
//! The signature, board and security counter are checked by lock-update's
//! receiver before anything is marked, as on the other boards.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use esp_bootloader_esp_idf::ota::{Ota, OtaImageState};
use esp_bootloader_esp_idf::partitions::{
    AppPartitionSubType, DataPartitionSubType, Error, PARTITION_TABLE_MAX_LEN, PartitionType,
    read_partition_table,
};
use esp_storage::FlashStorage;
use lock_update::{BootSlots, BootState, NorFlashErrorKind};

/// The SPI flash, shared by the store's partition, the update's staging
/// partition and the OTA slots.
pub type SharedFlash<'d> = Mutex<NoopRawMutex, RefCell<FlashStorage<'d>>>;

/// Where an OTA app partition lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Its subtype (`ota_0`, `ota_1`).
    pub app: AppPartitionSubType,
    /// Its offset in flash.
    pub offset: u32,
    /// Its size.
    pub len: u32,
}

/// The ESP-IDF boot loader's OTA slots of this lock: the one it runs and
/// the other, the staging area.
pub struct EspOta<'a, 'd> {
    flash: &'a SharedFlash<'d>,
    booted: AppPartitionSubType,
    staging: AppPartitionSubType,
    /// This run selected the staging partition for the next boot.
    marked: bool,
}

impl<'a, 'd> EspOta<'a, 'd> {
    /// Reads the partition table: `Some((slots, staging))` when it has an
    /// `otadata` partition and exactly two OTA app partitions, one of
    /// which the chip booted from; `None` otherwise (an old table with a
    /// `factory` app: no updates).
    pub fn new(flash: &'a SharedFlash<'d>) -> Option<(Self, Slot)> {
        let (booted, staging) = flash.lock(|flash| {
            let mut flash = flash.borrow_mut();
            let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
            let table = read_partition_table(&mut flash, &mut table).ok()?;
            table
                .find_partition(PartitionType::Data(DataPartitionSubType::Ota))
                .ok()??;
            let booted = table.booted_partition().ok()??;
            let mut apps = table
                .iter()
                .filter_map(|entry| match entry.partition_type() {
                    PartitionType::App(
                        app @ (AppPartitionSubType::Ota0 | AppPartitionSubType::Ota1),
                    ) => Some(Slot {
                        app,
                        offset: entry.offset(),
                        len: entry.len(),
                    }),
                    _ => None,
                });
            let (first, second) = (apps.next()?, apps.next()?);
            if apps.next().is_some() {
                return None;
            }
            if booted.offset() == first.offset {
                Some((first, second))
            } else if booted.offset() == second.offset {
                Some((second, first))
            } else {
                None
            }
        })?;
        Some((
            EspOta {
                flash,
                booted: booted.app,
                staging: staging.app,
                marked: false,
            },
            staging,
        ))
    }

    /// Runs `f` on the `otadata` partition.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Ota<'_, '_>) -> Result<R, Error>,
    ) -> Result<R, NorFlashErrorKind> {
        self.flash
            .lock(|flash| {
                let mut flash = flash.borrow_mut();
                let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
                let table = read_partition_table(&mut flash, &mut table)?;
                let entry = table
                    .find_partition(PartitionType::Data(DataPartitionSubType::Ota))?
                    .ok_or(Error::Invalid)?;
                let mut ota = Ota::new(entry.as_flash_region(&mut flash), 2)?;
                f(&mut ota)
            })
            .map_err(|_| NorFlashErrorKind::Other)
    }
}

impl BootSlots for EspOta<'_, '_> {
    async fn state(&mut self) -> Result<BootState, NorFlashErrorKind> {
        let (selected, state) =
            self.with(|ota| Ok((ota.current_app_partition()?, ota.current_ota_state())))?;
        Ok(match state {
            // `otadata` blank: the boot loader runs `ota_0`, nothing marked.
            Err(Error::InvalidState) => BootState::Confirmed,
            Err(_) => return Err(NorFlashErrorKind::Other),
            Ok(OtaImageState::Valid | OtaImageState::Undefined) => BootState::Confirmed,
            Ok(OtaImageState::Aborted | OtaImageState::Invalid) => BootState::Reverted,
            Ok(OtaImageState::New | OtaImageState::PendingVerify) => {
                if selected == self.booted || self.marked {
                    // Running on trial, or marked by this run for the
                    // next boot.
                    BootState::Trial
                } else {
                    // Selected, not booted, not by this run: the boot
                    // loader did not take it (it checks each image's own
                    // digest). The staging area is free again.
                    BootState::Reverted
                }
            }
        })
    }

    async fn mark_updated(&mut self) -> Result<(), NorFlashErrorKind> {
        let (booted, staging) = (self.booted, self.staging);
        self.with(|ota| {
            // From a blank `otadata` select the running partition first:
            // esp-bootloader-esp-idf 0.6 would otherwise give `ota_1`
            // sequence number 0, which selects it only by wrapping round.
            if ota.current_app_partition()? == AppPartitionSubType::Factory {
                ota.set_current_app_partition(booted)?;
            }
            ota.set_current_app_partition(staging)?;
            ota.set_current_ota_state(OtaImageState::New)
        })?;
        self.marked = true;
        Ok(())
    }

    async fn mark_booted(&mut self) -> Result<(), NorFlashErrorKind> {
        let booted = self.booted;
        self.with(|ota| {
            // Only the entry of the partition running now.
            if ota.current_app_partition()? == booted {
                ota.set_current_ota_state(OtaImageState::Valid)
            } else {
                Ok(())
            }
        })
    }
}
