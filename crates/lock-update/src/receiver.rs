//! The streaming receiver: a manifest, then payload chunks at offsets, onto
//! a staging flash; at the end, every check, then the mark.

use core::marker::PhantomData;

use embedded_storage_async::nor_flash::{NorFlash, NorFlashError};
use sha2::{Digest, Sha512};

use crate::image::{HEADER_LEN, MANIFEST_LEN, SIGNATURE_LEN};
use crate::slots::{BootSlots, BootState};
use crate::{Header, UpdateError, Verifier};

/// The largest flash write unit the receiver buffers (STM32L4: 8, ESP32-C3:
/// 4, RP2040: 1; embassy-boot's own largest known is 32).
pub const MAX_WRITE_SIZE: usize = 32;

/// Read-back buffer: the digest is checked again on what the flash holds.
const READ_BACK: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Receiving,
    /// Every byte arrived and matched as received: the staged bytes are
    /// being read back and hashed, this far.
    Checking(u32),
    /// Marked for boot, or failed: a new transfer begins anew.
    Ended,
}

/// Where [`Receiver::finish_step`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Still reading the staged image back: this many bytes of it checked;
    /// call again.
    Checking(u32),
    /// Every check passed and the image is marked for boot.
    Marked(Header),
}

/// One transfer of one image into the staging area of flash `F`.
///
/// A state machine in the sans-IO spirit: it holds no flash and no link,
/// only the transfer's state (the header, the running digest, the next
/// offset, a partial flash word). The caller passes the staging flash (and,
/// at the ends, the [`BootSlots`]) to each call, so the runtime keeps
/// ownership of both. Calling order:
///
/// 1. [`Receiver::begin`] with the image's first [`MANIFEST_LEN`] bytes:
///    the signature, board and security counter are checked before any
///    flash is touched;
/// 2. [`Receiver::chunk`] with payload bytes at payload offsets from 0, in
///    any sizes. A chunk at another offset is refused with the offset
///    expected ([`UpdateError::WrongOffset`]), so a dropped link resumes
///    from [`Receiver::next_offset`]; each staging sector is erased just
///    before its first write;
/// 3. [`Receiver::finish`]: length, digest (as received and as read back),
///    signature again and the boot loader's state; only then the mark.
///    [`Receiver::finish_step`] does the same a bounded slice at a time.
///
/// After a power cut the transfer begins again from offset 0: the staging
/// area is not marked, so the old image still boots.
// Not `Clone`: two receivers on one staging area would program the same
// words twice.
#[derive(Debug)]
pub struct Receiver<F> {
    header: Header,
    manifest: [u8; MANIFEST_LEN],
    verifier: Verifier,
    hasher: Sha512,
    /// The digest of the staged bytes as read back, while checking.
    read_back: Sha512,
    /// Payload bytes taken.
    received: u32,
    /// Bytes programmed (whole words).
    written: u32,
    /// Staging bytes `[0, erased)` erased by this transfer.
    erased: u32,
    word: [u8; MAX_WRITE_SIZE],
    word_len: usize,
    stage: Stage,
    flash: PhantomData<fn(F)>,
}

fn flash_err<E: NorFlashError>(e: E) -> UpdateError {
    UpdateError::Flash(e.kind())
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<F: NorFlash> Receiver<F> {
    /// Starts a transfer: checks the manifest with `verifier` (magic,
    /// format, signature, board, security counter), that the payload fits
    /// `staging`, and that the boot loader has no unconfirmed image whose
    /// backup the staging area may hold. Writes nothing.
    pub async fn begin<S: BootSlots>(
        verifier: &Verifier,
        manifest: &[u8],
        staging: &F,
        slots: &mut S,
    ) -> Result<Self, UpdateError> {
        const { assert!(F::WRITE_SIZE <= MAX_WRITE_SIZE && READ_BACK.is_multiple_of(F::READ_SIZE)) };
        let header = verifier.check_manifest(manifest)?;
        let capacity = to_u32(staging.capacity());
        if header.payload_len > capacity {
            return Err(UpdateError::TooLarge {
                len: header.payload_len,
                capacity,
            });
        }
        if slots.state().await.map_err(UpdateError::Flash)? == BootState::Trial {
            return Err(UpdateError::NotConfirmed);
        }
        let mut kept = [0u8; MANIFEST_LEN];
        if let Some(m) = manifest.get(..MANIFEST_LEN) {
            kept.copy_from_slice(m);
        }
        Ok(Receiver {
            header,
            manifest: kept,
            verifier: *verifier,
            hasher: Sha512::new(),
            read_back: Sha512::new(),
            received: 0,
            written: 0,
            erased: 0,
            word: [0xFF; MAX_WRITE_SIZE],
            word_len: 0,
            stage: Stage::Receiving,
            flash: PhantomData,
        })
    }

    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload offset the next chunk must start at (what a sender
    /// resumes from).
    pub fn next_offset(&self) -> u32 {
        self.received
    }

    /// Takes payload bytes `data` at payload offset `offset`; returns the
    /// next offset. Refused without effect: a wrong offset, bytes past the
    /// announced length, an ended transfer. A flash error ends the transfer.
    pub async fn chunk(
        &mut self,
        staging: &mut F,
        offset: u32,
        data: &[u8],
    ) -> Result<u32, UpdateError> {
        if self.stage != Stage::Receiving {
            return Err(UpdateError::Ended);
        }
        if offset != self.received {
            return Err(UpdateError::WrongOffset {
                expected: self.received,
            });
        }
        let len = self.header.payload_len;
        let end = u32::try_from(data.len())
            .ok()
            .and_then(|n| self.received.checked_add(n))
            .filter(|&end| end <= len)
            .ok_or(UpdateError::PastEnd { len })?;
        if let Err(e) = self.program(staging, data).await {
            self.stage = Stage::Ended;
            return Err(e);
        }
        self.hasher.update(data);
        self.received = end;
        Ok(end)
    }

    /// Ends the transfer: every byte arrived, the digest of what was
    /// received and of what the staging flash holds is the signed one, the
    /// signature verifies again (a second, independent check against a
    /// glitched first one), and the boot loader has nothing unconfirmed;
    /// then marks the image for a trial boot at the next reset.
    /// `Truncated` leaves the transfer open (send the rest); any other error
    /// ends it.
    pub async fn finish<S: BootSlots>(
        &mut self,
        staging: &mut F,
        slots: &mut S,
    ) -> Result<Header, UpdateError> {
        loop {
            if let Finished::Marked(header) = self.finish_step(staging, slots, u32::MAX).await? {
                return Ok(header);
            }
        }
    }

    /// [`Receiver::finish`] a slice at a time, so a lock keeps taking its
    /// inputs between slices (R-RSP-1): each call reads back and hashes at
    /// most `budget` bytes of the staged image (a whole image is seconds of
    /// SHA-512 on a small core) and returns [`Finished::Checking`] until it
    /// has read all of it; the call that reads the last bytes also checks
    /// the signature again and marks. `Truncated` leaves the transfer open;
    /// any other error ends it.
    pub async fn finish_step<S: BootSlots>(
        &mut self,
        staging: &mut F,
        slots: &mut S,
        budget: u32,
    ) -> Result<Finished, UpdateError> {
        let len = self.header.payload_len;
        let at = match self.stage {
            Stage::Ended => return Err(UpdateError::Ended),
            Stage::Checking(at) => at,
            Stage::Receiving => {
                if self.received < len {
                    return Err(UpdateError::Truncated {
                        received: self.received,
                        expected: len,
                    });
                }
                self.stage = Stage::Ended;
                self.flush(staging).await?;
                let received: [u8; 64] = self.hasher.clone().finalize().into();
                if received != self.header.digest {
                    return Err(UpdateError::BadDigest);
                }
                self.read_back = Sha512::new();
                0
            }
        };
        self.stage = Stage::Ended;
        let end = at.saturating_add(budget.max(to_u32(READ_BACK))).min(len);
        self.read_back_range(staging, at, end).await?;
        if end < len {
            self.stage = Stage::Checking(end);
            return Ok(Finished::Checking(end));
        }
        let staged: [u8; 64] = self.read_back.clone().finalize().into();
        if staged != self.header.digest {
            return Err(UpdateError::BadDigest);
        }
        // Parsed again from the kept bytes, not taken from `self.header`.
        let again = self.verifier.check_manifest(&self.manifest)?;
        if again != self.header {
            return Err(UpdateError::BadSignature);
        }
        if slots.state().await.map_err(UpdateError::Flash)? == BootState::Trial {
            return Err(UpdateError::NotConfirmed);
        }
        slots.mark_updated().await.map_err(UpdateError::Flash)?;
        Ok(Finished::Marked(self.header))
    }

    /// How far [`Receiver::finish_step`] has read the staged image back, if
    /// it has begun.
    pub fn checked(&self) -> Option<u32> {
        match self.stage {
            Stage::Checking(at) => Some(at),
            _ => None,
        }
    }

    /// Buffers `data` into whole flash words and programs them.
    async fn program(&mut self, staging: &mut F, mut data: &[u8]) -> Result<(), UpdateError> {
        let w = F::WRITE_SIZE;
        if self.word_len > 0 {
            let take = (w - self.word_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(to) = self.word.get_mut(self.word_len..self.word_len + take) {
                to.copy_from_slice(head);
            }
            self.word_len += take;
            data = rest;
            if self.word_len < w {
                return Ok(());
            }
            let word = self.word;
            self.write(staging, word.get(..w).unwrap_or(&[])).await?;
            self.word_len = 0;
        }
        let whole = data.len() / w * w;
        let (words, rest) = data.split_at(whole);
        if !words.is_empty() {
            self.write(staging, words).await?;
        }
        if let Some(to) = self.word.get_mut(..rest.len()) {
            to.copy_from_slice(rest);
        }
        self.word_len = rest.len();
        Ok(())
    }

    /// Programs the last partial word, padded with erased bytes.
    async fn flush(&mut self, staging: &mut F) -> Result<(), UpdateError> {
        if self.word_len == 0 {
            return Ok(());
        }
        let mut word = self.word;
        if let Some(pad) = word.get_mut(self.word_len..) {
            pad.fill(0xFF);
        }
        self.write(staging, word.get(..F::WRITE_SIZE).unwrap_or(&[]))
            .await?;
        self.word_len = 0;
        Ok(())
    }

    /// Programs whole words at `written`, erasing each sector first.
    async fn write(&mut self, staging: &mut F, words: &[u8]) -> Result<(), UpdateError> {
        let end = self
            .written
            .checked_add(to_u32(words.len()))
            .ok_or(UpdateError::TooLarge {
                len: self.header.payload_len,
                capacity: to_u32(staging.capacity()),
            })?;
        while self.erased < end {
            let next = self.erased.saturating_add(to_u32(F::ERASE_SIZE));
            staging.erase(self.erased, next).await.map_err(flash_err)?;
            self.erased = next;
        }
        staging
            .write(self.written, words)
            .await
            .map_err(flash_err)?;
        self.written = end;
        Ok(())
    }

    /// Hashes the staged payload's bytes `[at, end)` as the flash holds
    /// them into the read-back digest.
    async fn read_back_range(
        &mut self,
        staging: &mut F,
        mut at: u32,
        end: u32,
    ) -> Result<(), UpdateError> {
        let mut buf = [0u8; READ_BACK];
        while at < end {
            let n = (end - at).min(to_u32(READ_BACK));
            // Reads are whole READ_SIZE units; the tail is padding (written,
            // so inside the staging area).
            let padded = usize::try_from(n)
                .unwrap_or(READ_BACK)
                .div_ceil(F::READ_SIZE)
                * F::READ_SIZE;
            let chunk = buf.get_mut(..padded).ok_or(UpdateError::BadDigest)?;
            staging.read(at, chunk).await.map_err(flash_err)?;
            self.read_back
                .update(chunk.get(..usize::try_from(n).unwrap_or(0)).unwrap_or(&[]));
            at += n;
        }
        Ok(())
    }
}

// The manifest's parts, checked at compile time against the layout above.
const _: () = assert!(MANIFEST_LEN == HEADER_LEN + SIGNATURE_LEN);
