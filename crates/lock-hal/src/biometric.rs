//! A biometric module: fingerprint, 3D face or palm vein. Matching happens in
//! the module; the lock only keeps which template id belongs to whom.

use crate::ErrorType;

/// What the person should do next during an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnrollStep {
    /// Present the finger / palm / face (again).
    Present,
    /// Lift the finger off the sensor.
    Lift,
    /// Look straight at the camera.
    LookStraight,
    /// Raise the head.
    HeadUp,
    /// Lower the head.
    HeadDown,
    /// Turn the head left.
    HeadLeft,
    /// Turn the head right.
    HeadRight,
    /// Come closer.
    Closer,
    /// Move further away.
    Further,
}

/// Why an enrollment ended without a template. A module that already holds
/// the sample refuses it as [`EnrollRefusal::Duplicate`] (R-USR-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnrollRefusal {
    /// The module already holds this finger / face / palm (R-USR-7).
    Duplicate,
    /// The captures were poor or did not agree.
    BadCapture,
    /// Nothing was presented in the module's time.
    Timeout,
    /// The module's own store is full.
    Full,
}

/// The result of one enrollment step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnrollStatus {
    /// More captures are needed; tell the person this.
    Next(EnrollStep),
    /// Done: the template is stored under this id.
    Enrolled(u16),
    /// Ended without a template.
    Refused(EnrollRefusal),
}

/// The result of an identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Identification {
    /// The sample matched this template.
    Match(u16),
    /// A sample was taken and matched nothing: a failed verification.
    NoMatch,
    /// Nothing usable was presented after all (finger lifted, no face): not
    /// an attempt, nothing is counted.
    NoSample,
}

/// One biometric module.
///
/// The runtime waits for a sample with [`Biometric::wait_for_sample`]
/// (cancel-safe, inside its `select`), then runs [`Biometric::identify`] or the
/// next [`Biometric::enroll_step`] to completion: those talk to the module and
/// are **not** cancel-safe, so the runtime never drops them midway. Each must
/// end within the module's own timeout (10 s for a face module, about 2 s for
/// a fingerprint search) and return [`ErrorKind::Timeout`](crate::ErrorKind)
/// when the module stays silent: the lock then reports the module and goes on
/// with its other methods.
pub trait Biometric: ErrorType {
    /// Waits until a sample is presented: a finger on the sensor (its WAKEUP
    /// line), a face coming into range, a hand over the palm sensor. A module
    /// that cannot tell never returns; the runtime then starts identification
    /// on the lock's request instead (a touch on the keypad). Cancel-safe.
    async fn wait_for_sample(&mut self) -> Result<(), Self::Error>;

    /// Captures and identifies the presented sample. Not cancel-safe; bounded
    /// by the module's timeout.
    async fn identify(&mut self) -> Result<Identification, Self::Error>;

    /// Runs the next step of an enrollment that will store its template under
    /// `template` if the module lets the host choose (the result says where it
    /// was stored). `step` counts from 0 for a new enrollment. The first call
    /// starts; a call returning `Next` expects another with `step + 1` once a
    /// sample is presented again. Not cancel-safe; bounded.
    async fn enroll_step(&mut self, template: u16, step: u8) -> Result<EnrollStatus, Self::Error>;

    /// Abandons an enrollment in progress, discarding partial captures.
    async fn cancel_enroll(&mut self) -> Result<(), Self::Error>;

    /// Deletes one template. Deleting one that does not exist succeeds.
    async fn delete(&mut self, template: u16) -> Result<(), Self::Error>;

    /// Deletes every template (factory reset).
    async fn clear(&mut self) -> Result<(), Self::Error>;
}

impl<T: Biometric + ?Sized> Biometric for &mut T {
    async fn wait_for_sample(&mut self) -> Result<(), Self::Error> {
        T::wait_for_sample(self).await
    }
    async fn identify(&mut self) -> Result<Identification, Self::Error> {
        T::identify(self).await
    }
    async fn enroll_step(&mut self, template: u16, step: u8) -> Result<EnrollStatus, Self::Error> {
        T::enroll_step(self, template, step).await
    }
    async fn cancel_enroll(&mut self) -> Result<(), Self::Error> {
        T::cancel_enroll(self).await
    }
    async fn delete(&mut self, template: u16) -> Result<(), Self::Error> {
        T::delete(self, template).await
    }
    async fn clear(&mut self) -> Result<(), Self::Error> {
        T::clear(self).await
    }
}
