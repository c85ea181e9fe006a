//! The receiver over any chunking, resume points and flash word size gives
//! the same staged image; a sender that lost its place resumes from the
//! offset the receiver names.
// Tests: a failure is a panic, sizes are small.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use common::{TEST_SECRET, board, firmware, image};
use embassy_futures::block_on;
use embedded_storage_async::nor_flash::{NorFlash, NorFlashErrorKind};
use lock_store::mock_flash::{Esp32c3Flash, MockFlash, Rp2040Flash, Stm32l4Flash};
use lock_update::{BootSlots, BootState, MANIFEST_LEN, Receiver, UpdateError, Verifier};
use proptest::prelude::*;

/// The least a boot loader implements: here, three states in RAM.
#[derive(Default)]
struct RamSlots {
    marked: bool,
}

impl BootSlots for RamSlots {
    async fn state(&mut self) -> Result<BootState, NorFlashErrorKind> {
        Ok(if self.marked {
            BootState::Trial
        } else {
            BootState::Confirmed
        })
    }
    async fn mark_updated(&mut self) -> Result<(), NorFlashErrorKind> {
        self.marked = true;
        Ok(())
    }
    async fn mark_booted(&mut self) -> Result<(), NorFlashErrorKind> {
        self.marked = false;
        Ok(())
    }
}

/// Sends the payload in `sizes`-long chunks (cycled); at each `drops`
/// point the sender loses its place and sends from `rewind` bytes earlier,
/// gets `WrongOffset`, and resumes where the receiver says.
fn send<const W: usize, const S: usize>(
    mut flash: MockFlash<W, S>,
    payload: &[u8],
    sizes: &[usize],
    drops: &[(usize, u32)],
) -> MockFlash<W, S> {
    let img = image(5, payload);
    let verifier = Verifier::new(lock_update::public_key(&TEST_SECRET), board(), 5);
    let mut slots = RamSlots::default();
    block_on(async {
        let mut rx = Receiver::begin(&verifier, &img[..MANIFEST_LEN], &flash, &mut slots)
            .await
            .unwrap();
        let mut offset = 0u32;
        let mut step = 0;
        while (offset as usize) < payload.len() {
            if let Some(&(_, rewind)) = drops.iter().find(|(at, _)| *at == step) {
                let wrong = offset.saturating_sub(rewind.max(1));
                if wrong != offset {
                    let len = sizes[step % sizes.len()].min(payload.len() - wrong as usize);
                    let err = rx
                        .chunk(&mut flash, wrong, &payload[wrong as usize..][..len])
                        .await
                        .unwrap_err();
                    assert_eq!(err, UpdateError::WrongOffset { expected: offset });
                    offset = rx.next_offset();
                }
            }
            let len = sizes[step % sizes.len()].min(payload.len() - offset as usize);
            offset = rx
                .chunk(&mut flash, offset, &payload[offset as usize..][..len])
                .await
                .unwrap();
            step += 1;
        }
        rx.finish(&mut flash, &mut slots).await.unwrap();
    });
    assert!(slots.marked);
    flash
}

fn staged<const W: usize, const S: usize>(flash: &MockFlash<W, S>, len: usize) -> &[u8] {
    &flash.bytes()[..len]
}

proptest! {
    #[test]
    fn any_chunking_and_resume_stages_the_same_image(
        len in 1usize..9000,
        sizes in prop::collection::vec(1usize..700, 1..6),
        drops in prop::collection::vec((0usize..40, 1u32..2000), 0..4),
        seed in any::<u8>(),
    ) {
        let payload = firmware(seed, len);
        let a = send(Rp2040Flash::new(3), &payload, &sizes, &drops);
        prop_assert_eq!(staged(&a, len), &payload[..]);
        let b = send(Esp32c3Flash::new(3), &payload, &sizes, &drops);
        prop_assert_eq!(staged(&b, len), &payload[..]);
        let c = send(Stm32l4Flash::new(5), &payload, &sizes, &drops);
        prop_assert_eq!(staged(&c, len), &payload[..]);
        // The last word is padded with erased bytes.
        let padded = len.div_ceil(<Stm32l4Flash as NorFlash>::WRITE_SIZE) * 8;
        prop_assert!(c.bytes()[len..padded].iter().all(|&b| b == 0xFF));
    }
}

#[test]
fn a_staging_area_written_before_is_erased_sector_by_sector() {
    // A restart after a power cut writes over the earlier attempt's bytes.
    let first = send(Stm32l4Flash::new(5), &firmware(1, 7000), &[333], &[]);
    let again = send(first, &firmware(2, 6000), &[100, 1000], &[]);
    assert_eq!(staged(&again, 6000), &firmware(2, 6000)[..]);
}

/// `finish_step` reads the staged image back a slice at a time (R-RSP-1:
/// the lock takes its inputs between slices), marks only after the last
/// slice, and refuses a byte that changed on the flash before its slice
/// was read (S-UP-1).
#[test]
fn s_up_1_finish_in_slices_reads_every_staged_byte_before_marking() {
    use lock_update::Finished;
    let payload = firmware(3, 7000);
    let img = image(5, &payload);
    let verifier = Verifier::new(lock_update::public_key(&TEST_SECRET), board(), 5);
    for tamper in [false, true] {
        let mut flash = Stm32l4Flash::new(5);
        let mut slots = RamSlots::default();
        let result = block_on(async {
            let mut rx = Receiver::begin(&verifier, &img[..MANIFEST_LEN], &flash, &mut slots)
                .await
                .unwrap();
            rx.chunk(&mut flash, 0, &payload).await.unwrap();
            let mut checked = Vec::new();
            loop {
                match rx.finish_step(&mut flash, &mut slots, 1000).await {
                    Ok(Finished::Checking(at)) => {
                        assert!(!slots.marked, "marked before every byte was read back");
                        assert_eq!(rx.checked(), Some(at));
                        checked.push(at);
                        if tamper && at == 3000 {
                            // A byte not read back yet changes on the flash.
                            flash.edit(|b| b[6500] ^= 0x10);
                        }
                    }
                    Ok(Finished::Marked(header)) => return Ok((header, checked)),
                    Err(e) => return Err(e),
                }
            }
        });
        if tamper {
            assert_eq!(result.unwrap_err(), UpdateError::BadDigest);
            assert!(!slots.marked);
        } else {
            let (header, checked) = result.unwrap();
            assert_eq!(header.payload_len, 7000);
            assert_eq!(checked, [1000, 2000, 3000, 4000, 5000, 6000]);
            assert!(slots.marked);
        }
    }
}
