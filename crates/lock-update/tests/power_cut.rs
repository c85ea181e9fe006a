//! S-UP-3: a power cut at every write and erase of an update (the
//! transfer, the mark, embassy-boot's swap, the confirmation and the
//! revert) leaves a lock that boots the old image or the new one, never a
//! mix; an image that never confirms itself is rolled back at the next
//! boot. The boot loader is embassy-boot's own `BootLoader` on lock-store's
//! mock flash (write once between erases, torn bytes at the cut).
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
use embassy_boot::State;
use lock_store::mock_flash::Cut;
use lock_update::BootState;

const OLD_LEN: usize = 7000;
const NEW_LEN: usize = 6500;

/// Each operation is cut after half its bytes (a torn write or erase) and
/// after all of them (done, but the caller never hears of it).
fn cuts(first: u64, last: u64) -> impl Iterator<Item = Cut> {
    (first..last).flat_map(|operation| {
        [
            Cut::At { operation, byte: 3 },
            Cut::At {
                operation,
                byte: usize::MAX,
            },
        ]
    })
}

/// Boots until the boot loader finishes (a cut during the boot loader's
/// own work is covered by the tests below), checking it never fails.
fn boot_ok(flash: &Flash) -> State {
    boot(flash).unwrap_or_else(|e| panic!("the boot loader failed: {e:?}"))
}

/// The running image is exactly `old` or `new`.
fn old_or_new(flash: &Flash, old: &[u8], new: &[u8]) -> bool {
    let running = active(flash, OLD_LEN.max(NEW_LEN));
    if running[..new.len()] == *new {
        true
    } else if running[..old.len()] == *old {
        false
    } else {
        panic!("the active slot holds neither image");
    }
}

#[test]
fn s_up_3_a_cut_at_every_write_and_erase_of_the_transfer_and_mark_leaves_old_or_new() {
    let (old, new) = (firmware(1, OLD_LEN), firmware(2, NEW_LEN));
    let img = image(5, &new);
    let base = lock_flash(&old);
    let before = operations(&base);
    let dry = base.copy();
    update(&dry, &verifier(5), &img, 300).unwrap();
    let total = operations(&dry) - before;
    assert!(total > 20, "only {total} operations");
    for cut in cuts(before, before + total) {
        let flash = base.copy();
        flash.0.borrow_mut().cut_power(cut);
        let result = update(&flash, &verifier(5), &img, 300);
        flash.0.borrow_mut().power_on();
        let state = boot_ok(&flash);
        let running_new = old_or_new(&flash, &old, &new);
        assert_eq!(
            running_new,
            state == State::Swap,
            "{cut:?}: {result:?}, {state:?}"
        );
        if !running_new {
            // Not marked: the transfer starts again from the beginning.
            assert_eq!(state, State::Boot);
            update(&flash, &verifier(5), &img, 300)
                .unwrap_or_else(|e| panic!("{cut:?}: restart: {e:?}"));
            assert_eq!(boot_ok(&flash), State::Swap);
            assert!(
                old_or_new(&flash, &old, &new),
                "{cut:?}: restarted, not swapped"
            );
        }
        assert_eq!(confirm(&flash), Ok(BootState::Trial));
        assert_eq!(boot_ok(&flash), State::Boot);
        assert!(old_or_new(&flash, &old, &new));
    }
}

/// A lock whose transfer and mark are done: the next reset swaps.
fn marked() -> (Flash, Vec<u8>, Vec<u8>) {
    let (old, new) = (firmware(1, OLD_LEN), firmware(2, NEW_LEN));
    let flash = lock_flash(&old);
    update(&flash, &verifier(5), &image(5, &new), 1000).unwrap();
    (flash, old, new)
}

#[test]
fn s_up_3_a_cut_at_every_step_of_the_swap_boots_old_or_new_never_a_mix() {
    let (base, old, new) = marked();
    let before = operations(&base);
    let dry = base.copy();
    assert_eq!(boot_ok(&dry), State::Swap);
    let total = operations(&dry) - before;
    assert!(total > 40, "only {total} operations");
    let mut reverted = 0;
    for cut in cuts(before, before + total) {
        let flash = base.copy();
        flash.0.borrow_mut().cut_power(cut);
        let _ = boot(&flash);
        flash.0.borrow_mut().power_on();
        // The boot loader picks the swap up where it was cut.
        boot_ok(&flash);
        if old_or_new(&flash, &old, &new) {
            assert_eq!(state(&flash), BootState::Trial, "{cut:?}");
        } else {
            // Cut after the swap's last step: the boot loader cannot tell
            // this from a new image that ran and did not confirm, and
            // reverts. The old image boots; the update can be sent again.
            assert_eq!(state(&flash), BootState::Reverted, "{cut:?}");
            update(&flash, &verifier(5), &image(5, &new), 700).unwrap();
            reverted += 1;
        }
    }
    assert!(reverted <= 2, "{reverted} cuts reverted");
}

/// The gap the boot loader's `zero_overwrite` covers: on a flash that
/// refuses any second write to a word, embassy-boot 0.7 fails to boot after
/// a cut that tore a STATE word (it rewrites the word). Nothing else fails.
/// The STM32L4 accepts that rewrite (all zeros); a flash that does not must
/// not hold embassy-boot's STATE partition.
#[test]
fn embassy_boot_needs_zero_overwrite_of_state_words_after_a_torn_write() {
    let (base, _, _) = marked();
    let dry = base.copy();
    dry.0.borrow_mut().start_trace();
    assert_eq!(boot_strict(&dry), Ok(State::Swap));
    let trace = dry.0.borrow().trace().to_vec();
    let mut failed = 0;
    for op in &trace {
        let flash = base.copy();
        flash.0.borrow_mut().cut_power(Cut::At {
            operation: op.index,
            byte: 3,
        });
        let _ = boot_strict(&flash);
        flash.0.borrow_mut().power_on();
        if boot_strict(&flash).is_err() {
            assert!(
                op.offset < STATE.1,
                "a failure after a cut outside STATE: {op:?}"
            );
            failed += 1;
        }
    }
    assert!(
        failed > 0,
        "embassy-boot no longer rewrites torn STATE words: drop `zero_overwrite`"
    );
}

#[test]
fn s_up_3_an_image_that_never_confirms_is_reverted_even_with_a_cut_at_every_step() {
    let (base, old, new) = marked();
    assert_eq!(boot_ok(&base), State::Swap);
    assert!(old_or_new(&base, &old, &new));
    // The new image runs but never confirms; at the next reset:
    let before = operations(&base);
    let dry = base.copy();
    boot_ok(&dry);
    assert!(
        !old_or_new(&dry, &old, &new),
        "an unconfirmed image was kept"
    );
    assert_eq!(state(&dry), BootState::Reverted);
    let total = operations(&dry) - before;
    for cut in cuts(before, before + total) {
        let flash = base.copy();
        flash.0.borrow_mut().cut_power(cut);
        let _ = boot(&flash);
        flash.0.borrow_mut().power_on();
        boot(&flash).unwrap_or_else(|e| {
            panic!("{cut:?}: the boot loader failed after a cut in the revert: {e:?}")
        });
        assert!(
            !old_or_new(&flash, &old, &new),
            "{cut:?}: the unconfirmed image was kept"
        );
        // The reverted lock takes the next update.
        update(&flash, &verifier(5), &image(6, &new), 500)
            .unwrap_or_else(|e| panic!("{cut:?}: {e:?}"));
    }
}

#[test]
fn s_up_3_a_cut_at_every_step_of_the_confirmation_leaves_old_or_new() {
    let (base, old, new) = marked();
    assert_eq!(boot_ok(&base), State::Swap);
    let before = operations(&base);
    let dry = base.copy();
    assert_eq!(confirm(&dry), Ok(BootState::Trial));
    assert_eq!(boot_ok(&dry), State::Boot);
    assert!(
        old_or_new(&dry, &old, &new),
        "a confirmed image was reverted"
    );
    let total = operations(&dry) - before;
    for cut in cuts(before, before + total) {
        let flash = base.copy();
        flash.0.borrow_mut().cut_power(cut);
        let _ = confirm(&flash);
        flash.0.borrow_mut().power_on();
        let state =
            boot(&flash).unwrap_or_else(|e| panic!("{cut:?}: the boot loader failed: {e:?}"));
        let running_new = old_or_new(&flash, &old, &new);
        // Twice more: whatever runs now keeps running.
        confirm(&flash).unwrap();
        boot_ok(&flash);
        assert_eq!(
            old_or_new(&flash, &old, &new),
            running_new,
            "{cut:?}, {state:?}"
        );
    }
}
