//! Update images and chunk streams are untrusted input (S-UP-1):
//! `lock_update::Receiver` on a mock NOR flash (STM32L4-shaped: 8-byte
//! words, 2 KiB sectors), the first input byte choosing:
//!
//! - 0: raw bytes as the manifest, then a chunk stream read from the input
//!   (each chunk: a flag byte, a big-endian u16 offset, a length; the
//!   flag's low bit sends at the receiver's next offset instead, 0xFF
//!   finishes). Never panics; nothing is ever marked: the input cannot
//!   carry a signature of the TEST key;
//! - 1: a valid image (payload and chunk sizes from the input), signed with
//!   a TEST key, sent in the input's chunking with wrong-offset resends
//!   mixed in: it must verify, be marked, and the staging flash must hold
//!   the payload;
//! - 2: the same valid manifest, then an arbitrary chunk stream as in 0:
//!   never panics; if it is marked, the staging flash holds exactly the
//!   signed payload.
#![no_main]

use embassy_futures::block_on;
use libfuzzer_sys::fuzz_target;
use lock_store::mock_flash::Stm32l4Flash;
use lock_update::{
    BoardId, BootSlots, BootState, Header, MANIFEST_LEN, NorFlashErrorKind, Receiver, UpdateError,
    Verifier, Version,
};

/// A TEST key, never a maker's.
const TEST_SECRET: [u8; 32] = *b"update_stream fuzz TEST key only";

#[derive(Default)]
struct Slots {
    marked: bool,
}

impl BootSlots for Slots {
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

fn board() -> BoardId {
    BoardId::new("nucleo-l476rg").expect("a valid board id")
}

fn verifier() -> Verifier {
    Verifier::new(lock_update::public_key(&TEST_SECRET), board(), 3)
}

/// Six sectors: 12 KiB of staging area.
fn flash() -> Stm32l4Flash {
    Stm32l4Flash::new(6)
}

/// Feeds an arbitrary chunk stream; returns whether `finish` marked.
fn stream(
    rx: &mut Receiver<Stm32l4Flash>,
    flash: &mut Stm32l4Flash,
    slots: &mut Slots,
    mut ops: &[u8],
) -> bool {
    block_on(async {
        while let [flag, hi, lo, len, rest @ ..] = ops {
            if *flag == 0xFF {
                ops = rest;
                if rx.finish(flash, slots).await.is_ok() {
                    return true;
                }
                continue;
            }
            let offset = if flag & 1 == 1 {
                rx.next_offset()
            } else {
                u32::from(u16::from_be_bytes([*hi, *lo]))
            };
            let take = usize::from(*len).min(rest.len());
            let (data, tail) = rest.split_at(take);
            ops = tail;
            let before = rx.next_offset();
            match rx.chunk(flash, offset, data).await {
                Ok(next) => assert_eq!(next as usize, before as usize + data.len()),
                Err(UpdateError::WrongOffset { expected }) => assert_eq!(expected, before),
                Err(_) => assert_eq!(rx.next_offset(), before, "a refused chunk moved the offset"),
            }
        }
        rx.finish(flash, slots).await.is_ok()
    })
}

fn signed(payload: &[u8]) -> Vec<u8> {
    let version = Version {
        major: 1,
        minor: 0,
        patch: 0,
    };
    let header = Header::for_payload(board(), version, 3, payload).expect("small payload");
    lock_update::sign_manifest(&TEST_SECRET, &header).to_vec()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let mut flash = flash();
    let mut slots = Slots::default();
    match mode % 3 {
        0 => {
            let (manifest, ops) = input.split_at(input.len().min(MANIFEST_LEN));
            let _ = Header::parse(manifest);
            let Ok(mut rx) = block_on(Receiver::begin(&verifier(), manifest, &flash, &mut slots))
            else {
                return;
            };
            // Only a TEST-key signature gets here: the input cannot forge one.
            assert!(
                !stream(&mut rx, &mut flash, &mut slots, ops),
                "a forged image was marked"
            );
        }
        1 => {
            let [a, b, sizes @ ..] = input else {
                return;
            };
            let len = usize::from(u16::from_be_bytes([*a, *b])) % 12_000 + 1;
            let payload: Vec<u8> = (0..len)
                .map(|i| (i as u8).wrapping_mul(31) ^ sizes.first().copied().unwrap_or(0))
                .collect();
            let manifest = signed(&payload);
            let mut rx = block_on(Receiver::begin(&verifier(), &manifest, &flash, &mut slots))
                .expect("a valid manifest");
            let mut offset = 0usize;
            let mut step = 0usize;
            block_on(async {
                while offset < len {
                    let size = sizes.get(step % sizes.len().max(1)).copied().unwrap_or(200);
                    step += 1;
                    // A size byte above 0xF0 resends an earlier chunk first, as a sender that lost an ack.
                    if size > 0xF0 && offset > 0 {
                        let back = offset - (usize::from(size - 0xF0)).min(offset);
                        let err = rx
                            .chunk(&mut flash, back as u32, &payload[back..offset])
                            .await;
                        assert_eq!(
                            err,
                            Err(UpdateError::WrongOffset {
                                expected: offset as u32
                            })
                        );
                    }
                    let n = usize::from(size).max(1).min(len - offset);
                    rx.chunk(&mut flash, offset as u32, &payload[offset..offset + n])
                        .await
                        .expect("an in-order chunk");
                    offset += n;
                }
                rx.finish(&mut flash, &mut slots)
                    .await
                    .expect("a valid image in any chunking verifies");
            });
            assert!(slots.marked);
            assert_eq!(&flash.bytes()[..len], &payload[..]);
        }
        _ => {
            let [a, b, ops @ ..] = input else {
                return;
            };
            let len = usize::from(u16::from_be_bytes([*a, *b])) % 600 + 1;
            let payload: Vec<u8> = (0..len).map(|i| (i as u8) ^ 0x5A).collect();
            let manifest = signed(&payload);
            let mut rx = block_on(Receiver::begin(&verifier(), &manifest, &flash, &mut slots))
                .expect("a valid manifest");
            if stream(&mut rx, &mut flash, &mut slots, ops) {
                assert!(slots.marked);
                assert_eq!(
                    &flash.bytes()[..len],
                    &payload[..],
                    "marked with other bytes staged"
                );
            } else {
                assert!(!slots.marked);
            }
        }
    }
});
