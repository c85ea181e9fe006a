//! Firmware updates (S-UP-1…4): the board's receiving end, as [`ProtoApp`]
//! drives it.
//!
//! lock-proto checks who asks (an administrator's authenticated, freshly
//! challenged request, S-UP-4) and never reads the image; the board's
//! [`Updater`] takes the steps, checks the image (its signature by the
//! maker's key, S-UP-1; its security version, S-UP-2; its board) and marks
//! it for the boot loader (S-UP-3). lock-update's receiver is one.
//!
//! [`ProtoApp`]: crate::ProtoApp

use lock_proto::{UpdateRefusal, UpdateState, UpdateStep};

/// The board's end of a firmware update.
///
/// [`ProtoApp`](crate::ProtoApp) calls it from the control loop, one step a
/// frame, so a step's work is bounded (R-RSP-1: the lock answers its keys
/// within 100 ms): a chunk writes its bytes (erasing the slot's next sector
/// when it reaches one), `Begin` erases nothing ahead, and `Finish` reads
/// the image back a slice at a time, answering `Checking` until the last.
pub trait Updater {
    /// Carries out one step; returns where the update is now, or why the
    /// step was refused.
    async fn step(&mut self, step: &UpdateStep) -> UpdateState;

    /// The lock booted, restored its state and started its app side (its
    /// self-check): an image on trial confirms itself here, and one that
    /// never gets here is rolled back at the next reset (S-UP-3). Called
    /// once a start. The default does nothing.
    async fn booted(&mut self) {}
}

impl<U: Updater + ?Sized> Updater for &mut U {
    async fn step(&mut self, step: &UpdateStep) -> UpdateState {
        U::step(self, step).await
    }

    async fn booted(&mut self) {
        U::booted(self).await
    }
}

/// A board without an update slot: every step is refused
/// ([`UpdateRefusal::Unsupported`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoUpdates;

impl Updater for NoUpdates {
    async fn step(&mut self, _step: &UpdateStep) -> UpdateState {
        UpdateState::Refused(UpdateRefusal::Unsupported)
    }
}

#[cfg(feature = "lock-update")]
pub use slots::SlotUpdater;

#[cfg(feature = "lock-update")]
mod slots {
    use embedded_storage_async::nor_flash::NorFlash;
    use lock_proto::{UPDATE_CHUNK, UpdateRefusal, UpdateState, UpdateStep};
    use lock_update::{
        BootSlots, BootState, Finished, MANIFEST_LEN, Receiver, UpdateError, Verifier,
    };

    use super::Updater;

    // A step's header is the whole manifest.
    const _: () = assert!(MANIFEST_LEN <= UPDATE_CHUNK);

    /// Staged bytes one `Finish` step reads back and hashes at most: SHA-512
    /// takes about 94 instructions a byte (Cortex-M3 in QEMU), so 8 KiB is
    /// about 0.8 million, some 20 ms at 48 MHz (R-RSP-1: 100 ms). The step
    /// that reads the last bytes also checks the signature again (1.7
    /// million instructions).
    const FINISH_SLICE: u32 = 8 * 1024;

    /// lock-update's receiver over the board's staging area and boot slots,
    /// as [`ProtoApp`](crate::ProtoApp)'s [`Updater`].
    ///
    /// `Begin` checks the signed manifest (S-UP-1, S-UP-2, the board)
    /// before anything is erased; a `Begin` with the manifest under way
    /// goes on where it was, another one starts afresh. Chunks are written
    /// as they come (the receiver erases a sector when it reaches one);
    /// `Finish` checks the staged bytes against the signed digest and marks
    /// them for the boot loader. After the reset the new image confirms
    /// itself in [`Updater::booted`]. Progress is kept in RAM: after a
    /// power cut the phone begins again.
    pub struct SlotUpdater<F, S> {
        verifier: Verifier,
        staging: F,
        slots: S,
        receiver: Option<Receiver<F>>,
        /// The manifest of the update under way.
        manifest: [u8; MANIFEST_LEN],
        /// An image is checked and marked: it runs after the next reset.
        ready: bool,
    }

    impl<F: NorFlash, S: BootSlots> SlotUpdater<F, S> {
        /// Takes images `verifier` accepts (the maker's public key, this
        /// board, the running image's security counter) into `staging`,
        /// marking them through `slots`.
        pub fn new(verifier: Verifier, staging: F, slots: S) -> Self {
            SlotUpdater {
                verifier,
                staging,
                slots,
                receiver: None,
                manifest: [0; MANIFEST_LEN],
                ready: false,
            }
        }

        /// The boot slots (to read where the boot loader stands).
        pub fn slots(&mut self) -> &mut S {
            &mut self.slots
        }

        fn receiving(&self) -> UpdateState {
            match &self.receiver {
                Some(r) => match r.checked() {
                    Some(checked) => UpdateState::Checking {
                        checked,
                        length: r.header().payload_len,
                    },
                    None => UpdateState::Receiving {
                        have: r.next_offset(),
                        length: r.header().payload_len,
                    },
                },
                None if self.ready => UpdateState::Ready,
                None => UpdateState::Idle,
            }
        }

        async fn begin(&mut self, manifest: &[u8]) -> UpdateState {
            if self.receiver.is_some() && self.manifest.get(..) == Some(manifest) {
                return self.receiving();
            }
            self.receiver = None;
            match Receiver::begin(&self.verifier, manifest, &self.staging, &mut self.slots).await {
                Ok(receiver) => {
                    if let Some(m) = manifest.get(..MANIFEST_LEN) {
                        self.manifest.copy_from_slice(m);
                    }
                    info!("update: receiving {} bytes", receiver.header().payload_len);
                    self.receiver = Some(receiver);
                    self.receiving()
                }
                Err(e) => refused(e),
            }
        }
    }

    /// A step's refusal for a receiver's error.
    fn refused(e: UpdateError) -> UpdateState {
        let (refusal, why) = match e {
            UpdateError::BadMagic | UpdateError::UnsupportedFormat(_) | UpdateError::Empty => {
                (UpdateRefusal::Malformed, "not an image")
            }
            UpdateError::BadSignature => (UpdateRefusal::BadSignature, "not the maker's signature"),
            UpdateError::WrongBoard => (UpdateRefusal::WrongBoard, "another board's image"),
            UpdateError::Downgrade { .. } => {
                (UpdateRefusal::Downgrade, "an older security version")
            }
            UpdateError::TooLarge { .. } | UpdateError::PastEnd { .. } => {
                (UpdateRefusal::TooLarge, "larger than the slot or the image")
            }
            UpdateError::WrongOffset { .. } => (UpdateRefusal::WrongOffset, "a chunk out of order"),
            UpdateError::Truncated { .. } => (UpdateRefusal::Incomplete, "finished before the end"),
            UpdateError::BadDigest => (
                UpdateRefusal::BadDigest,
                "the bytes are not the signed ones",
            ),
            // An update marked or on trial: the next reset decides first.
            UpdateError::NotConfirmed => (UpdateRefusal::Pending, "an image is pending"),
            UpdateError::Ended => (UpdateRefusal::NotStarted, "no update under way"),
            UpdateError::Flash(_) => (UpdateRefusal::Flash, "the staging flash failed"),
            _ => (UpdateRefusal::Malformed, "refused"),
        };
        warn!("update refused: {}", why);
        UpdateState::Refused(refusal)
    }

    impl<F: NorFlash, S: BootSlots> Updater for SlotUpdater<F, S> {
        async fn step(&mut self, step: &UpdateStep) -> UpdateState {
            match step {
                UpdateStep::Begin { header } => self.begin(header).await,
                UpdateStep::Status => self.receiving(),
                UpdateStep::Chunk { offset, bytes } => {
                    let Some(receiver) = self.receiver.as_mut() else {
                        return UpdateState::Refused(UpdateRefusal::NotStarted);
                    };
                    match receiver.chunk(&mut self.staging, *offset, bytes).await {
                        Ok(_) => self.receiving(),
                        Err(
                            e @ (UpdateError::WrongOffset { .. } | UpdateError::PastEnd { .. }),
                        ) => {
                            // The update under way stands: the phone asks
                            // where it is and goes on from there.
                            refused(e)
                        }
                        Err(e) => {
                            // The staged bytes are not what was sent.
                            self.receiver = None;
                            refused(e)
                        }
                    }
                }
                UpdateStep::Finish => {
                    let Some(receiver) = self.receiver.as_mut() else {
                        return UpdateState::Refused(UpdateRefusal::NotStarted);
                    };
                    let step =
                        receiver.finish_step(&mut self.staging, &mut self.slots, FINISH_SLICE);
                    match step.await {
                        Ok(Finished::Checking(_)) => self.receiving(),
                        Ok(Finished::Marked(header)) => {
                            info!(
                                "update: image {}.{}.{} marked for the next boot",
                                header.version.major, header.version.minor, header.version.patch
                            );
                            self.receiver = None;
                            self.ready = true;
                            UpdateState::Ready
                        }
                        Err(e @ UpdateError::Truncated { .. }) => refused(e),
                        Err(e) => {
                            self.receiver = None;
                            refused(e)
                        }
                    }
                }
                UpdateStep::Cancel => {
                    self.receiver = None;
                    self.receiving()
                }
            }
        }

        async fn booted(&mut self) {
            match lock_update::confirm(&mut self.slots).await {
                Ok(BootState::Trial) => info!("update: the new image confirmed itself"),
                Ok(BootState::Reverted) => {
                    warn!("update: the last image did not confirm itself and was rolled back")
                }
                Ok(BootState::Confirmed) => {}
                Err(_) => warn!("update: the boot slots cannot be read"),
            }
        }
    }
}
