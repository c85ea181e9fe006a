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
/// when it reaches one), `Begin` erases nothing ahead, and only `Finish`
/// reads the image back to check it.
pub trait Updater {
    /// Carries out one step; returns where the update is now, or why the
    /// step was refused.
    async fn step(&mut self, step: &UpdateStep) -> UpdateState;
}

impl<U: Updater + ?Sized> Updater for &mut U {
    async fn step(&mut self, step: &UpdateStep) -> UpdateState {
        U::step(self, step).await
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
