//! Errors, shaped like embedded-hal's: a driver's own error type says what
//! kind of failure it was, so generic code (the runtime) can react without
//! knowing the driver.

/// A driver's error.
pub trait Error: core::fmt::Debug {
    /// What kind of failure this is.
    fn kind(&self) -> ErrorKind;
}

/// Kinds of failure generic code can react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The device did not answer in time.
    Timeout,
    /// The device answered with something that does not follow its protocol
    /// (bad checksum, unexpected frame).
    Protocol,
    /// The device is busy with something else.
    Busy,
    /// The device's own store is full.
    Full,
    /// The device reported a fault of its own (sensor, flash, camera).
    Device,
    /// The bus itself failed (I2C NACK, UART overrun).
    Bus,
    /// Anything else.
    Other,
}

impl Error for ErrorKind {
    fn kind(&self) -> ErrorKind {
        *self
    }
}

impl Error for core::convert::Infallible {
    fn kind(&self) -> ErrorKind {
        match *self {}
    }
}

/// Names a trait implementor's error type.
pub trait ErrorType {
    /// The error its methods return.
    type Error: Error;
}

impl<T: ErrorType + ?Sized> ErrorType for &mut T {
    type Error = T::Error;
}
