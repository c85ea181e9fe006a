//! A board whose flash driver is blocking (embedded-storage's `NorFlash`)
//! runs the store through `lock_store::BlockingAsync` (feature `blocking`).

#![cfg(feature = "blocking")]
// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use lock_core::{Change, Person, PersonNumber, Role};
use lock_store::{BlockingAsync, Store, StoreConfig};

/// A blocking RAM flash: 4-byte words, 4 KiB sectors.
struct RamFlash(Vec<u8>);

impl ErrorType for RamFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = usize::try_from(offset).unwrap();
        bytes.copy_from_slice(
            self.0
                .get(at..at + bytes.len())
                .ok_or(NorFlashErrorKind::OutOfBounds)?,
        );
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.0.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (from, to) = (usize::try_from(from).unwrap(), usize::try_from(to).unwrap());
        self.0[from..to].fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = usize::try_from(offset).unwrap();
        for (cell, b) in self.0[at..at + bytes.len()].iter_mut().zip(bytes) {
            *cell &= b;
        }
        Ok(())
    }
}

#[test]
fn a_blocking_flash_runs_the_store_through_the_adapter() {
    let config = StoreConfig {
        state: 0..0x8000,
        log: 0x8000..0x10000,
    };
    let flash = BlockingAsync::new(RamFlash(vec![0xFF; 0x10000]));
    let mut store = Store::new(flash, config.clone()).unwrap();
    embassy_futures::block_on(async {
        store.load().await.unwrap();
        store.module_work_done().await.unwrap();
        let admin = Person::new(PersonNumber::FIRST, Role::Administrator);
        store.apply(&Change::Person(admin)).await.unwrap();
    });
    let mut store = Store::new(store.release(), config).unwrap();
    let loaded = embassy_futures::block_on(store.load()).unwrap();
    assert_eq!(loaded.snapshot.people.len(), 1);
}
