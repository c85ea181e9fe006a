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

/// Where a module keeps one template: a page of its own store. The lock
/// keeps which id belongs to whom; the module matches samples against its
/// templates and answers with the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TemplateId(pub u16);

/// The result of one enrollment step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EnrollStatus {
    /// More captures are needed; tell the person this.
    Next(EnrollStep),
    /// Done: the template is stored under this id.
    Enrolled(TemplateId),
    /// Ended without a template.
    Refused(EnrollRefusal),
}

/// The result of an identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Identification {
    /// The sample matched this template.
    Match(TemplateId),
    /// A sample was taken and matched nothing: a failed verification.
    NoMatch,
    /// Nothing usable was presented after all (finger lifted, no face): not
    /// an attempt, nothing is counted.
    NoSample,
}

/// One biometric module.
///
/// Every method talks to the module and is **not** cancel-safe: the runtime
/// runs each to completion, in a lane of its own beside the control loop, so
/// a slow module never holds up the keypad or the door (R-RSP-1). Each must
/// end within the module's own timeout (10 s for a face module, about 2 s
/// for a fingerprint search) and return [`ErrorKind::Timeout`](crate::ErrorKind)
/// when the module stays silent: the lock then reports the module and goes
/// on with its other methods.
///
/// A module that can tell when a sample is presented (a finger module's
/// WAKEUP line, a face module's presence note) has that as a
/// [`SampleSensor`] of its own; without one the lock identifies when the
/// person touches the keypad.
pub trait Biometric: ErrorType {
    /// Captures and identifies the presented sample. Bounded by the module's
    /// timeout.
    async fn identify(&mut self) -> Result<Identification, Self::Error>;

    /// Starts an enrollment that stores its template under `template` if the
    /// module lets the host choose (the final [`EnrollStatus::Enrolled`]
    /// says where it was stored). Abandons any enrollment under way.
    async fn begin_enroll(&mut self, template: TemplateId) -> Result<(), Self::Error>;

    /// Captures the presented sample for the enrollment under way and says
    /// what comes next: another capture ([`EnrollStatus::Next`]), or the
    /// end. The module counts its own captures and poses. Called without an
    /// enrollment under way it refuses with [`EnrollRefusal::BadCapture`] or
    /// an error of its own. Bounded by the module's timeout.
    ///
    /// After a step answered [`EnrollStep::Lift`], the next step waits for
    /// the sample to go (the finger lifted: a fingerprint module reads "no
    /// finger"), bounded by the module's lift timeout
    /// ([`EnrollRefusal::Timeout`] when it stays), and answers
    /// [`EnrollStep::Present`]; the step after that captures again. The
    /// runtime only calls `enroll_step` again and prompts with each answer,
    /// so the order of lifts and captures is the module's (lock-drivers'
    /// `Fingerprint` lifts once, between its two captures).
    async fn enroll_step(&mut self) -> Result<EnrollStatus, Self::Error>;

    /// Abandons an enrollment in progress, discarding partial captures.
    async fn cancel_enroll(&mut self) -> Result<(), Self::Error>;

    /// Deletes one template. Deleting one that does not exist succeeds.
    async fn delete(&mut self, template: TemplateId) -> Result<(), Self::Error>;

    /// Deletes every template (factory reset).
    async fn clear(&mut self) -> Result<(), Self::Error>;

    /// Puts the module back at rest after an [`Biometric::identify`] whose
    /// future was dropped before it ended: the lock stops a search nobody
    /// needs any more (a passcode is being typed, the door opened), so a
    /// face module does not look at an empty doorstep for the rest of its
    /// timeout at hundreds of milliamps (R-NRG-2). Powers the module down
    /// if the driver powers it per operation, or ends the search. Called
    /// at rest, it does nothing. The default does nothing, for a module
    /// that a dropped operation leaves at rest.
    async fn stop(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// How a biometric module tells that a sample is presented: a finger on the
/// sensor (its WAKEUP line), a face coming into range, a hand over the palm
/// sensor. Optional: a board whose module cannot tell uses
/// [`Absent`](crate::Absent), and the lock identifies when the person touches
/// the keypad instead.
pub trait SampleSensor: ErrorType {
    /// Whether the board has this sensor at all ([`Absent`](crate::Absent)
    /// says no).
    const FITTED: bool = true;

    /// Waits until a sample is presented. Cancel-safe: the runtime drops it
    /// whenever the lock asks the module for something else.
    async fn wait_for_sample(&mut self) -> Result<(), Self::Error>;

    /// Waits until the sample is gone (the finger lifted, the face out of
    /// range); at once when none is there. The runtime waits for it after
    /// each identification, so a finger left on the sensor is identified
    /// once, not again and again (each a failed attempt toward the
    /// lockout). Cancel-safe.
    async fn wait_for_removal(&mut self) -> Result<(), Self::Error>;
}

impl<T: Biometric + ?Sized> Biometric for &mut T {
    async fn identify(&mut self) -> Result<Identification, Self::Error> {
        T::identify(self).await
    }
    async fn begin_enroll(&mut self, template: TemplateId) -> Result<(), Self::Error> {
        T::begin_enroll(self, template).await
    }
    async fn enroll_step(&mut self) -> Result<EnrollStatus, Self::Error> {
        T::enroll_step(self).await
    }
    async fn cancel_enroll(&mut self) -> Result<(), Self::Error> {
        T::cancel_enroll(self).await
    }
    async fn delete(&mut self, template: TemplateId) -> Result<(), Self::Error> {
        T::delete(self, template).await
    }
    async fn clear(&mut self) -> Result<(), Self::Error> {
        T::clear(self).await
    }
    async fn stop(&mut self) -> Result<(), Self::Error> {
        T::stop(self).await
    }
}

impl<T: SampleSensor + ?Sized> SampleSensor for &mut T {
    const FITTED: bool = T::FITTED;
    async fn wait_for_sample(&mut self) -> Result<(), Self::Error> {
        T::wait_for_sample(self).await
    }
    async fn wait_for_removal(&mut self) -> Result<(), Self::Error> {
        T::wait_for_removal(self).await
    }
}
