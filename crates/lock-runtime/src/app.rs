//! The app side, as the runtime sees it: [`App`]. `lock-proto` implements it
//! over a [`Transport`](lock_hal::Transport) (pairing, authenticated frames,
//! replay protection); [`NoApp`] stands in for a lock without one.

use core::convert::Infallible;
use core::future::pending;

use lock_core::{AppRequest, Notice, Reply};
use lock_hal::ErrorType;

/// What the app side hands the lock.
#[derive(Debug, Clone, Copy)]
pub enum AppEvent {
    /// An authenticated command, with the privilege it was authenticated for
    /// (S-PR-4). The runtime answers it with exactly one [`App::reply`]
    /// before it asks for the next event.
    Request(AppRequest),
    /// A frame's authentication or a PIN it carried was wrong: counted with
    /// every other failure (S-BF-1).
    AuthFailed,
    /// A pairing completed; pairing mode ends (R-MNU-7).
    Paired,
}

/// The app protocol, as a hook the runtime calls.
///
/// The runtime waits on [`App::wait`] together with every other input, and
/// calls the other methods while it executes the core's actions, in order.
pub trait App: ErrorType {
    /// Waits for the next thing the app side has for the lock. Cancel-safe:
    /// the runtime drops it whenever another input comes first; a frame
    /// received meanwhile must be kept for the next call.
    async fn wait(&mut self) -> Result<AppEvent, Self::Error>;

    /// Tells the app something without being asked (an alarm, a lockout, the
    /// doorbell). Returns once queued; bounded; not cancelled by the runtime.
    async fn notify(&mut self, notice: &Notice) -> Result<(), Self::Error>;

    /// Answers the request last returned by [`App::wait`]. Returns once
    /// queued; bounded; not cancelled by the runtime.
    async fn reply(&mut self, reply: &Reply) -> Result<(), Self::Error>;

    /// Opens (`true`) or closes the pairing window (R-MNU-7): only while it
    /// is open may a new phone pair (S-PR-1).
    async fn pairing(&mut self, open: bool) -> Result<(), Self::Error>;
}

impl<T: App + ?Sized> App for &mut T {
    async fn wait(&mut self) -> Result<AppEvent, Self::Error> {
        T::wait(self).await
    }
    async fn notify(&mut self, notice: &Notice) -> Result<(), Self::Error> {
        T::notify(self, notice).await
    }
    async fn reply(&mut self, reply: &Reply) -> Result<(), Self::Error> {
        T::reply(self, reply).await
    }
    async fn pairing(&mut self, open: bool) -> Result<(), Self::Error> {
        T::pairing(self, open).await
    }
}

/// A lock without an app: it never hears a request and drops every notice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoApp;

impl ErrorType for NoApp {
    type Error = Infallible;
}

impl App for NoApp {
    async fn wait(&mut self) -> Result<AppEvent, Infallible> {
        pending().await
    }
    async fn notify(&mut self, _notice: &Notice) -> Result<(), Infallible> {
        Ok(())
    }
    async fn reply(&mut self, _reply: &Reply) -> Result<(), Infallible> {
        Ok(())
    }
    async fn pairing(&mut self, _open: bool) -> Result<(), Infallible> {
        Ok(())
    }
}
