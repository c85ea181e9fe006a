//! S-UP-1 and S-UP-2: what is refused, and that a refused image is never
//! marked (the boot loader keeps booting the old image).
// Tests: a failure is a panic, sizes are small.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use common::*;
use embassy_futures::block_on;
use lock_update::{BootState, MANIFEST_LEN, Receiver, UpdateError};

const OLD_LEN: usize = 6000;
const NEW_LEN: usize = 5000;

/// Runs `image` through the receiver on a lock running counter 5 and
/// checks that whatever was refused left nothing marked: the next boot is
/// the old image.
fn refused(image: &[u8]) -> UpdateError {
    let old = firmware(1, OLD_LEN);
    let flash = lock_flash(&old);
    let err = update(&flash, &verifier(5), image, 244).expect_err("accepted");
    assert_eq!(
        state(&flash),
        BootState::Confirmed,
        "{err:?} left something marked"
    );
    assert_eq!(boot(&flash).unwrap(), embassy_boot::State::Boot);
    assert_eq!(
        active(&flash, OLD_LEN),
        old,
        "{err:?}: the old image no longer boots"
    );
    err
}

#[test]
fn s_up_1_a_valid_image_is_accepted_marked_and_swapped_in() {
    let new = firmware(2, NEW_LEN);
    let flash = lock_flash(&firmware(1, OLD_LEN));
    let header = update(&flash, &verifier(5), &image(5, &new), 244).unwrap();
    assert_eq!(header.payload_len as usize, NEW_LEN);
    assert_eq!(state(&flash), BootState::Trial);
    assert_eq!(boot(&flash).unwrap(), embassy_boot::State::Swap);
    assert_eq!(active(&flash, NEW_LEN), new);
    // The host tool's check agrees with the lock's.
    assert_eq!(verifier(5).check_image(&image(5, &new)).unwrap(), header);
}

#[test]
fn s_up_1_an_unsigned_image_is_refused() {
    let mut img = image(5, &firmware(2, NEW_LEN));
    img[128..MANIFEST_LEN].fill(0);
    assert_eq!(refused(&img), UpdateError::BadSignature);
}

#[test]
fn s_up_1_an_image_signed_with_another_key_is_refused() {
    let img = image_with(&OTHER_TEST_SECRET, board(), 5, &firmware(2, NEW_LEN));
    assert_eq!(refused(&img), UpdateError::BadSignature);
    assert_eq!(
        verifier(5).check_image(&img),
        Err(UpdateError::BadSignature)
    );
}

#[test]
fn s_up_1_an_image_for_another_board_is_refused() {
    let pico = lock_update::BoardId::new("pico-w").unwrap();
    let img = image_with(&TEST_SECRET, pico, 5, &firmware(2, NEW_LEN));
    assert_eq!(refused(&img), UpdateError::WrongBoard);
}

#[test]
fn s_up_1_a_truncated_image_is_refused_and_can_be_completed() {
    let new = firmware(2, NEW_LEN);
    let img = image(5, &new);
    let cut = &img[..img.len() - 100];
    assert_eq!(
        refused(cut),
        UpdateError::Truncated {
            received: NEW_LEN as u32 - 100,
            expected: NEW_LEN as u32
        }
    );
    // The same receiver takes the rest after a `Truncated`.
    let flash = lock_flash(&firmware(1, OLD_LEN));
    let mut aligned = [0u8; WORD];
    let mut slots = slots(&flash, &mut aligned);
    let mut staging = staging(&flash);
    block_on(async {
        let mut rx = Receiver::begin(&verifier(5), &img[..MANIFEST_LEN], &staging, &mut slots)
            .await
            .unwrap();
        rx.chunk(&mut staging, 0, &new[..NEW_LEN - 100])
            .await
            .unwrap();
        assert!(matches!(
            rx.finish(&mut staging, &mut slots).await,
            Err(UpdateError::Truncated { .. })
        ));
        rx.chunk(&mut staging, NEW_LEN as u32 - 100, &new[NEW_LEN - 100..])
            .await
            .unwrap();
        rx.finish(&mut staging, &mut slots).await.unwrap();
    });
    assert_eq!(state(&flash), BootState::Trial);
    // A manifest alone, or less, is refused too.
    assert_eq!(refused(&img[..MANIFEST_LEN - 1]), UpdateError::BadMagic);
    assert!(matches!(
        refused(&img[..MANIFEST_LEN]),
        UpdateError::Truncated { received: 0, .. }
    ));
}

#[test]
fn s_up_1_a_flipped_bit_anywhere_in_the_manifest_is_refused() {
    let img = image(5, &firmware(2, 600));
    for bit in 0..MANIFEST_LEN * 8 {
        let mut bad = img.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let err = verifier(5)
            .check_manifest(&bad[..MANIFEST_LEN])
            .expect_err("a flipped manifest bit was accepted");
        assert!(
            matches!(
                err,
                UpdateError::BadMagic
                    | UpdateError::UnsupportedFormat(_)
                    | UpdateError::BadSignature
            ),
            "bit {bit}: {err:?}"
        );
    }
    // And through the receiver, one bit in each field.
    for byte in [0, 4, 6, 8, 24, 28, 32, 40, 64, 127, 128, 191] {
        let mut bad = img.clone();
        bad[byte] ^= 0x04;
        refused(&bad);
    }
}

#[test]
fn s_up_1_a_flipped_bit_in_the_payload_is_refused() {
    let img = image(5, &firmware(2, NEW_LEN));
    for at in [
        MANIFEST_LEN,
        MANIFEST_LEN + 1,
        MANIFEST_LEN + 2047,
        MANIFEST_LEN + 2048,
        img.len() - 1,
    ] {
        for bit in [0, 7] {
            let mut bad = img.clone();
            bad[at] ^= 1 << bit;
            assert_eq!(refused(&bad), UpdateError::BadDigest, "byte {at} bit {bit}");
            assert_eq!(verifier(5).check_image(&bad), Err(UpdateError::BadDigest));
        }
    }
}

#[test]
fn s_up_1_staging_flash_that_differs_from_what_was_received_is_refused() {
    // The digest is checked again on what the boot loader will copy.
    let new = firmware(2, NEW_LEN);
    let img = image(5, &new);
    let flash = lock_flash(&firmware(1, OLD_LEN));
    let mut aligned = [0u8; WORD];
    let mut slots = slots(&flash, &mut aligned);
    let mut staging = staging(&flash);
    let err = block_on(async {
        let mut rx = Receiver::begin(&verifier(5), &img[..MANIFEST_LEN], &staging, &mut slots)
            .await
            .unwrap();
        rx.chunk(&mut staging, 0, &new).await.unwrap();
        flash
            .0
            .borrow_mut()
            .edit(|bytes| bytes[DFU.0 as usize + 1000] ^= 0x20);
        rx.finish(&mut staging, &mut slots).await.unwrap_err()
    });
    assert_eq!(err, UpdateError::BadDigest);
    assert_eq!(state(&flash), BootState::Confirmed);
}

#[test]
fn s_up_1_chunks_out_of_order_or_past_the_end_are_refused_without_effect() {
    let new = firmware(2, 1000);
    let img = image(5, &new);
    let flash = lock_flash(&firmware(1, OLD_LEN));
    let mut aligned = [0u8; WORD];
    let mut slots = slots(&flash, &mut aligned);
    let mut staging = staging(&flash);
    block_on(async {
        let mut rx = Receiver::begin(&verifier(5), &img[..MANIFEST_LEN], &staging, &mut slots)
            .await
            .unwrap();
        assert_eq!(rx.chunk(&mut staging, 0, &new[..300]).await, Ok(300));
        assert_eq!(
            rx.chunk(&mut staging, 0, &new[..300]).await,
            Err(UpdateError::WrongOffset { expected: 300 })
        );
        assert_eq!(
            rx.chunk(&mut staging, 301, &new[301..400]).await,
            Err(UpdateError::WrongOffset { expected: 300 })
        );
        assert_eq!(
            rx.chunk(&mut staging, 300, &[0; 701]).await,
            Err(UpdateError::PastEnd { len: 1000 })
        );
        assert_eq!(rx.next_offset(), 300);
        assert_eq!(rx.chunk(&mut staging, 300, &new[300..]).await, Ok(1000));
        rx.finish(&mut staging, &mut slots).await.unwrap();
        assert_eq!(
            rx.chunk(&mut staging, 1000, &[]).await,
            Err(UpdateError::Ended)
        );
    });
}

#[test]
fn s_up_1_an_image_larger_than_the_staging_area_is_refused() {
    let img = image(5, &firmware(2, ACTIVE.1 as usize + 1));
    assert_eq!(
        refused(&img),
        UpdateError::TooLarge {
            len: ACTIVE.1 + 1,
            capacity: ACTIVE.1
        }
    );
}

#[test]
fn s_up_2_an_older_security_counter_is_refused() {
    let img = image(4, &firmware(2, NEW_LEN));
    assert_eq!(
        refused(&img),
        UpdateError::Downgrade {
            running: 5,
            offered: 4
        }
    );
    let img = image(0, &firmware(2, NEW_LEN));
    assert_eq!(
        refused(&img),
        UpdateError::Downgrade {
            running: 5,
            offered: 0
        }
    );
}

#[test]
fn s_up_2_an_equal_or_higher_security_counter_is_accepted() {
    for counter in [5, 6, u32::MAX] {
        let flash = lock_flash(&firmware(1, OLD_LEN));
        let header = update(
            &flash,
            &verifier(5),
            &image(counter, &firmware(2, NEW_LEN)),
            244,
        )
        .unwrap();
        assert_eq!(header.security_counter, counter);
        assert_eq!(state(&flash), BootState::Trial);
    }
}

#[test]
fn s_up_3_no_transfer_starts_while_an_image_is_on_trial() {
    // The staging area then holds the old image the revert needs.
    let old = firmware(1, OLD_LEN);
    let flash = lock_flash(&old);
    update(&flash, &verifier(5), &image(5, &firmware(2, NEW_LEN)), 244).unwrap();
    assert_eq!(
        update(&flash, &verifier(5), &image(6, &firmware(3, NEW_LEN)), 244),
        Err(UpdateError::NotConfirmed)
    );
    boot(&flash).unwrap();
    assert_eq!(
        update(&flash, &verifier(5), &image(6, &firmware(3, NEW_LEN)), 244),
        Err(UpdateError::NotConfirmed)
    );
    assert_eq!(confirm(&flash), Ok(BootState::Trial));
    update(&flash, &verifier(5), &image(6, &firmware(3, NEW_LEN)), 244).unwrap();
}
