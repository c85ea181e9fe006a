//! What the lock says and sounds: voice prompts and the siren.

use crate::ErrorType;

/// A voice module playing numbered clips from its own memory (JQ8900,
/// WT588F…). The runtime maps each prompt to clips; its table is documented in
/// `lock-runtime`.
pub trait Voice: ErrorType {
    /// Starts playing clip `clip`, replacing whatever plays. Returns once the
    /// module accepted the command; does not wait for the end.
    async fn play(&mut self, clip: u16) -> Result<(), Self::Error>;

    /// Waits until the current clip has ended (the BUSY line, or the module's
    /// report). Cancel-safe.
    async fn wait_until_done(&mut self) -> Result<(), Self::Error>;

    /// Stops playing.
    async fn stop(&mut self) -> Result<(), Self::Error>;

    /// Sets the loudness, 0 (silent) to 255 (loudest); the implementation
    /// scales it to the module's steps.
    async fn set_volume(&mut self, level: u8) -> Result<(), Self::Error>;
}

/// The alarm siren (or buzzer).
pub trait Siren: ErrorType {
    /// Sounds (`true`) or silences it. Quick and non-blocking.
    fn set(&mut self, on: bool) -> Result<(), Self::Error>;
}

impl<T: Voice + ?Sized> Voice for &mut T {
    async fn play(&mut self, clip: u16) -> Result<(), Self::Error> {
        T::play(self, clip).await
    }
    async fn wait_until_done(&mut self) -> Result<(), Self::Error> {
        T::wait_until_done(self).await
    }
    async fn stop(&mut self) -> Result<(), Self::Error> {
        T::stop(self).await
    }
    async fn set_volume(&mut self, level: u8) -> Result<(), Self::Error> {
        T::set_volume(self, level).await
    }
}

impl<T: Siren + ?Sized> Siren for &mut T {
    fn set(&mut self, on: bool) -> Result<(), Self::Error> {
        T::set(self, on)
    }
}
