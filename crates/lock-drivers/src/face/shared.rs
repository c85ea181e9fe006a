//! One EF AA module that recognises faces and palms, shared by a lock's face
//! part and its palm part, and switched on only while it works.
//!
//! [`Face::palm`] gives the palm side as a view borrowing the driver, but a
//! runtime that holds a face part and a palm part (lock-runtime's `Hardware`
//! does) needs two values. So the driver and the module's power switch go
//! into a [`FaceModule`], that into a [`SharedModule`] (an embassy-sync
//! async [`Mutex`]), and [`SharedFace`] and [`SharedPalm`] each borrow it and
//! implement [`Biometric`]. One operation runs at a time; the runtime never
//! asks for two at once, so the lock only exists because both parts hold the
//! module.
//!
//! **Power.** The module draws far too much to stay on in a battery lock.
//! Each operation switches the enable pin high, waits up to 2 s for the
//! READY note ([`Face::wait_until_ready`]), runs, sends POWERDOWN
//! ([`Face::power_down`]) and switches the pin low — the last two whatever
//! happened, a module that does not answer POWERDOWN being cut all the same.
//! A switch that cannot power the module on ends the operation before
//! anything is sent. The operation's error wins over the switch's: an
//! operation that failed and could not switch the module off reports the
//! operation's error.
//!
//! **Face and palm.** Identification is VERIFY on either side (the module
//! recognises a face or a palm to the same command). Enrollment differs:
//! five head directions for a face, one PALM_ENROLL_ITG for a palm; the
//! driver counts them across power cycles. `begin_enroll` powers the module
//! only to abandon an enrollment under way; otherwise it records the side
//! and sends nothing, and an `enroll_step` of a side with no enrollment is
//! refused with the module left off. Cancel, delete and clear act on the module's one user
//! table, so both sides send the same commands.
//!
//! **Sample detection.** The module cannot tell that a face or a hand came
//! into range (and is off between operations), so a board gives the runtime
//! [`lock_hal::Absent`] as the face and palm sample sensors.
//!
//! **The mutex.** [`SharedModule`] is a [`Mutex`] of lock-drivers' own
//! embassy-sync release (0.8) over [`NoopRawMutex`]: the face and palm parts
//! run on one executor, and nothing else touches the module. Build it
//! through the alias — `SharedModule::new(FaceModule::new(face, enable))` —
//! so that a board depending on another embassy-sync release (the Pico W's
//! trouble-host 0.6 wants 0.7) still builds the type these parts take.
//!
//! **Cancellation.** An operation is not cancel-safe: dropped half-way, it
//! leaves the module powered, and the next operation then times out waiting
//! for a READY that was sent before (and powers the module off). The runtime
//! awaits every module operation to its end.
//!
//! ```
//! use embedded_hal::digital::OutputPin;
//! use embedded_io_async::{Read, Write};
//! use lock_drivers::face::shared::{FaceModule, SharedFace, SharedModule, SharedPalm};
//! use lock_drivers::face::{Config, Face};
//! use lock_hal::{Biometric, Clock, Identification};
//!
//! async fn face_then_palm<U, C, P>(uart: U, clock: C, enable: P) -> Option<Identification>
//! where
//!     U: Read + Write,
//!     C: Clock,
//!     P: OutputPin,
//! {
//!     let face = Face::new(uart, clock, Config::default());
//!     let module = SharedModule::new(FaceModule::new(face, enable));
//!     // Two parts over one module, as the runtime takes them.
//!     let (mut face, mut palm) = (SharedFace(&module), SharedPalm(&module));
//!     match face.identify().await {
//!         Ok(Identification::Match(id)) => Some(Identification::Match(id)),
//!         _ => palm.identify().await.ok(),
//!     }
//! }
//! ```

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embedded_hal::digital::OutputPin;
use embedded_io_async::{Read, Write};
use lock_hal::{Biometric, Clock, EnrollStatus, ErrorKind, ErrorType, Identification, TemplateId};

use super::{Encryption, Face, Modality};

/// How long the module may take to boot and send READY.
const BOOT_MS: u32 = 2_000;

/// The driver and the module's power switch, to be put in a
/// [`SharedModule`].
pub struct FaceModule<U, C, E, P> {
    face: Face<U, C, E>,
    enable: P,
    /// The switch is on: an operation runs, or one was dropped half-way
    /// (until [`Biometric::stop`]).
    on: bool,
}

impl<U, C, E, P> FaceModule<U, C, E, P> {
    /// The driver and the module's power switch (an output driven high to
    /// power the module; it should start low).
    pub fn new(face: Face<U, C, E>, enable: P) -> Self {
        FaceModule {
            face,
            enable,
            on: false,
        }
    }

    /// Gives the driver and the switch back.
    pub fn release(self) -> (Face<U, C, E>, P) {
        (self.face, self.enable)
    }
}

/// A [`FaceModule`] behind an async mutex, which [`SharedFace`] and
/// [`SharedPalm`] borrow.
pub type SharedModule<U, C, E, P> = Mutex<NoopRawMutex, FaceModule<U, C, E, P>>;

/// What [`SharedFace`] and [`SharedPalm`] report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The driver's error.
    #[error("face module: {0}")]
    Module(#[from] super::Error),
    /// The power switch failed.
    #[error("power switch error: {0:?}")]
    Power(embedded_hal::digital::ErrorKind),
}

impl lock_hal::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Module(error) => lock_hal::Error::kind(error),
            Error::Power(_) => ErrorKind::Bus,
        }
    }
}

fn power<E: embedded_hal::digital::Error>(error: E) -> Error {
    Error::Power(error.kind())
}

/// Which side of the module an operation is for.
#[derive(Clone, Copy)]
enum Side {
    Face,
    Palm,
}

impl Side {
    fn modality(self) -> Modality {
        match self {
            Side::Face => Modality::Face,
            Side::Palm => Modality::Palm,
        }
    }
}

/// One biometric operation on the module.
enum Operation {
    Identify,
    Begin(TemplateId),
    Step,
    Cancel,
    Delete(TemplateId),
    Clear,
}

enum Outcome {
    Identified(Identification),
    Enrolled(EnrollStatus),
    Done,
}

/// Powers the module, runs `operation` on `side`, powers it down. One
/// function for every operation and both sides, so the power sequence is
/// compiled once (an async closure per operation would copy it ten times).
async fn run<U, C, E, P>(
    module: &SharedModule<U, C, E, P>,
    side: Side,
    operation: Operation,
) -> Result<Outcome, Error>
where
    U: Read + Write,
    C: Clock,
    E: Encryption,
    P: OutputPin,
{
    let mut module = module.lock().await;
    let FaceModule { face, enable, on } = &mut *module;
    // What the driver decides alone needs no power: a begin with nothing
    // to abandon only records the side, a step of a side not enrolling is
    // refused.
    match operation {
        Operation::Begin(template) if !face.is_enrolling() => {
            return Ok(begin(face, side, template).await.map(|()| Outcome::Done)?);
        }
        Operation::Step if face.enrolling() != Some(side.modality()) => {
            return Err(Error::Module(super::Error::NotEnrolling));
        }
        _ => {}
    }
    enable.set_high().map_err(power)?;
    *on = true;
    let outcome = match face.wait_until_ready(BOOT_MS).await {
        Ok(()) => match (side, operation) {
            (Side::Face, Operation::Identify) => face.identify().await.map(Outcome::Identified),
            (Side::Palm, Operation::Identify) => {
                face.palm().identify().await.map(Outcome::Identified)
            }
            (_, Operation::Begin(template)) => {
                begin(face, side, template).await.map(|()| Outcome::Done)
            }
            (Side::Face, Operation::Step) => face.enroll_step().await.map(Outcome::Enrolled),
            (Side::Palm, Operation::Step) => face.palm().enroll_step().await.map(Outcome::Enrolled),
            (_, Operation::Cancel) => face.cancel_enroll().await.map(|()| Outcome::Done),
            (_, Operation::Delete(template)) => face.delete(template).await.map(|()| Outcome::Done),
            (_, Operation::Clear) => face.clear().await.map(|()| Outcome::Done),
        },
        Err(error) => Err(error),
    };
    // Power goes off whatever happened.
    let off = switch_off(face, enable, on).await;
    let outcome = outcome.map_err(Error::Module)?;
    off?;
    Ok(outcome)
}

/// POWERDOWN, then the switch off; a module that did not answer POWERDOWN
/// is cut all the same.
async fn switch_off<U, C, E, P>(
    face: &mut Face<U, C, E>,
    enable: &mut P,
    on: &mut bool,
) -> Result<(), Error>
where
    U: Read + Write,
    C: Clock,
    E: Encryption,
    P: OutputPin,
{
    let _ = face.power_down().await;
    enable.set_low().map_err(power)?;
    *on = false;
    Ok(())
}

/// Switches the module off after an operation dropped half-way; nothing
/// if it is off.
async fn stop<U, C, E, P>(module: &SharedModule<U, C, E, P>) -> Result<(), Error>
where
    U: Read + Write,
    C: Clock,
    E: Encryption,
    P: OutputPin,
{
    let mut module = module.lock().await;
    let FaceModule { face, enable, on } = &mut *module;
    if *on {
        switch_off(face, enable, on).await?;
    }
    Ok(())
}

/// Begins an enrollment on `side`.
async fn begin<U, C, E>(
    face: &mut Face<U, C, E>,
    side: Side,
    template: TemplateId,
) -> Result<(), super::Error>
where
    U: Read + Write,
    C: Clock,
    E: Encryption,
{
    match side {
        Side::Face => face.begin_enroll(template).await,
        Side::Palm => face.palm().begin_enroll(template).await,
    }
}

// The two sides differ only in the `Side` they pass to `run`.
macro_rules! module_side {
    ($name:ident, $side:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name<'a, U, C, E, P>(pub &'a SharedModule<U, C, E, P>);

        impl<U, C, E, P> ErrorType for $name<'_, U, C, E, P> {
            type Error = Error;
        }

        impl<U, C, E, P> Biometric for $name<'_, U, C, E, P>
        where
            U: Read + Write,
            C: Clock,
            E: Encryption,
            P: OutputPin,
        {
            async fn identify(&mut self) -> Result<Identification, Error> {
                match run(self.0, $side, Operation::Identify).await? {
                    Outcome::Identified(identification) => Ok(identification),
                    _ => Ok(Identification::NoSample),
                }
            }
            async fn begin_enroll(&mut self, template: TemplateId) -> Result<(), Error> {
                run(self.0, $side, Operation::Begin(template))
                    .await
                    .map(|_| ())
            }
            async fn enroll_step(&mut self) -> Result<EnrollStatus, Error> {
                match run(self.0, $side, Operation::Step).await? {
                    Outcome::Enrolled(status) => Ok(status),
                    _ => Err(Error::Module(super::Error::Timeout)),
                }
            }
            async fn cancel_enroll(&mut self) -> Result<(), Error> {
                run(self.0, $side, Operation::Cancel).await.map(|_| ())
            }
            async fn delete(&mut self, template: TemplateId) -> Result<(), Error> {
                run(self.0, $side, Operation::Delete(template))
                    .await
                    .map(|_| ())
            }
            async fn clear(&mut self) -> Result<(), Error> {
                run(self.0, $side, Operation::Clear).await.map(|_| ())
            }
            /// An operation dropped half-way left the module on: POWERDOWN
            /// and off.
            async fn stop(&mut self) -> Result<(), Error> {
                stop(self.0).await
            }
        }
    };
}

module_side!(
    SharedFace,
    Side::Face,
    "The face side of a [`SharedModule`]: faces are enrolled, faces or palms identified."
);
module_side!(
    SharedPalm,
    Side::Palm,
    "The palm side of a [`SharedModule`]: palms are enrolled, faces or palms identified."
);
