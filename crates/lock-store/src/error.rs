//! What can go wrong.

/// Why a store operation failed. `E` is the flash driver's error.
///
/// After any error from a writing operation the store must be loaded again
/// ([`Store::load`](crate::Store::load)) before it writes anything else: what
/// it remembers of the flash may no longer be true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StoreError<E> {
    /// The flash driver failed.
    #[error("flash error: {0:?}")]
    Flash(E),
    /// The flash holds something that is not a store image of ours, or one
    /// damaged beyond what the checksums and the power-cut repair recover.
    /// The lock starts fail-secure ([`lock_core::Lock::fail_secure`]) until a
    /// factory reset (S-ST-3).
    #[error("flash contents are corrupted or foreign")]
    Corrupted,
    /// A partition is full: the state partition is smaller than
    /// [`StoreConfig::min_state_bytes`](crate::StoreConfig::min_state_bytes)
    /// allows for, or every log sequence number is used.
    #[error("a flash partition is full")]
    Full,
    /// The image was written by a newer format than this firmware reads: it
    /// is refused, not misread, and left untouched.
    #[error("the flash holds format version {0}, newer than this firmware reads")]
    UnsupportedVersion(u16),
    /// [`Store::load`](crate::Store::load) has not run since the store was
    /// made, or it found the state corrupted (then only a factory reset
    /// writes).
    #[error("the store is not loaded")]
    NotLoaded,
    /// More module template deletions are pending than the intent record
    /// holds: the runtime has not reported module work done
    /// ([`Store::module_work_done`](crate::Store::module_work_done)).
    /// Nothing was written.
    #[error("too much module work pending")]
    ModuleWorkFull,
    /// The change cannot be stored: a person number or app slot out of
    /// range, an app record too long or a buffer too short for it.
    #[error("a record is out of range")]
    Invalid,
}

/// Why a [`StoreConfig`](crate::StoreConfig) does not fit the flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// A range does not start and end on a sector boundary.
    #[error("a range does not start and end on a sector boundary")]
    NotSectorAligned,
    /// A range reaches past the end of the flash.
    #[error("a range reaches past the end of the flash")]
    OutOfFlash,
    /// The state and log ranges overlap.
    #[error("the state and log ranges overlap")]
    Overlap,
    /// The flash's words are larger than sequential-storage supports (32 bytes).
    #[error("flash words larger than 32 bytes")]
    WordTooLarge,
    /// The state range cannot hold a full lock: it needs this many bytes.
    #[error("the state range needs at least {needed} bytes")]
    StateTooSmall {
        /// Bytes needed.
        needed: u32,
    },
    /// The log range needs at least two sectors.
    #[error("the log range needs at least {needed} bytes")]
    LogTooSmall {
        /// Bytes needed.
        needed: u32,
    },
}

impl<E> From<sequential_storage::Error<E>> for StoreError<E> {
    fn from(e: sequential_storage::Error<E>) -> Self {
        match e {
            sequential_storage::Error::Storage { value, .. } => StoreError::Flash(value),
            sequential_storage::Error::FullStorage | sequential_storage::Error::ItemTooBig => {
                StoreError::Full
            }
            // Unrepairable corruption, an item longer than any we write, a
            // value that does not parse, or a bug the crate caught instead of
            // panicking: all mean "do not trust this flash".
            _ => StoreError::Corrupted,
        }
    }
}
