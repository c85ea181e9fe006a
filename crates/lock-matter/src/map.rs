//! The Door Lock cluster's values and the lock's, both ways (SPEC.md §10).
//!
//! Every enum here carries the cluster's wire value (`as u8`), as the
//! Matter 1.4 Door Lock cluster (revision 7+) numbers them, so the handler
//! on a Matter stack converts by value and the mapping needs no stack to be
//! tested. Only the values the lock produces or accepts are listed.

use lock_core::{
    Actor, AlarmKind, BiometricKind, BoltPosition, BoltState, DoorState, LockMethod, LogEntry,
    Method, Passcode, PasscodeError, Person, PersonNumber, Refusal, Role, TemplateId, Timestamp,
    Validity, WeeklySchedule,
};

/// A Matter fabric's commands reach the lock as this pairing number plus
/// the fabric's index (1…254), so the log says which fabric did what and
/// an event names it. The app protocol numbers its own pairings from 1
/// upwards and never this high (its table holds a few dozen).
pub const FABRIC_PAIRING_BASE: u16 = 0xFF00;

/// The pairing number commands from fabric `fabric_index` carry.
pub const fn pairing_of_fabric(fabric_index: u8) -> u16 {
    FABRIC_PAIRING_BASE | fabric_index as u16
}

/// The fabric a pairing number stands for, if it is one.
pub fn fabric_of_pairing(pairing: u16) -> Option<u8> {
    let index = u8::try_from(pairing.checked_sub(FABRIC_PAIRING_BASE)?).ok()?;
    (1..=254).contains(&index).then_some(index)
}

/// R-MTR-3: WrongCodeEntryLimit, the core's five failures (R-LKO-1).
pub const WRONG_CODE_ENTRY_LIMIT: u8 = 5;
/// SPEC §10: UserCodeTemporaryDisableTime, the core's first lockout, seconds.
pub const USER_CODE_TEMPORARY_DISABLE_TIME: u8 = 180;
/// MinPINCodeLength and MaxPINCodeLength: R-PIN-1's 6 to 10 digits.
pub const MIN_PIN_LENGTH: u8 = 6;
/// See [`MIN_PIN_LENGTH`].
pub const MAX_PIN_LENGTH: u8 = 10;
/// `n` as a `u16` attribute value. Used in consts only, so a capacity
/// that does not fit fails the build instead of truncating.
const fn capacity_u16(n: usize) -> u16 {
    assert!(n <= u16::MAX as usize);
    #[allow(clippy::cast_possible_truncation)] // Checked just above.
    let n = n as u16;
    n
}

/// NumberOfPINUsersSupported: the passcodes the lock stores (R-USR-3).
pub const PIN_USERS_SUPPORTED: u16 = capacity_u16(lock_core::PASSCODE_CAPACITY);
/// NumberOfTotalUsersSupported: the people the lock stores (R-USR-3).
pub const USERS_SUPPORTED: u16 = capacity_u16(lock_core::PEOPLE_CAPACITY);

/// SPEC §10: SoundVolume from the lock's volume (the cluster's values:
/// 0 silent, 1 low, 2 high, 3 medium).
pub const fn sound_volume(volume: lock_core::Volume) -> u8 {
    match volume {
        lock_core::Volume::Low => 1,
        lock_core::Volume::Medium => 3,
        lock_core::Volume::High => 2,
    }
}

/// SoundVolume as a controller writes it: the lock's level, or `None` for a
/// value the lock has not (0, silent: the prompts are how the keypad talks
/// to the person at the door; 4 and up are no value of the cluster's).
pub const fn volume_of_sound_volume(value: u8) -> Option<lock_core::Volume> {
    match value {
        1 => Some(lock_core::Volume::Low),
        2 => Some(lock_core::Volume::High),
        3 => Some(lock_core::Volume::Medium),
        _ => None,
    }
}

/// AutoRelockTime as a controller writes it, in the lock's settings: 0
/// switches the countdown lock off; any other value sets its length and
/// switches it on (the core refuses a length outside its 5 s to 1 h);
/// `None` for a value no length can hold.
pub fn settings_of_auto_relock_time(secs: u32) -> Option<heapless::Vec<lock_core::Setting, 2>> {
    use lock_core::Setting;
    let mut out = heapless::Vec::new();
    match secs {
        0 => out.push(Setting::AutoLock(false)).ok()?,
        _ => {
            out.push(Setting::AutoLockSecs(u16::try_from(secs).ok()?))
                .ok()?;
            out.push(Setting::AutoLock(true)).ok()?;
        }
    }
    Some(out)
}

/// LockState (`DlLockState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LockState {
    /// The bolt is between its ends, or jammed.
    NotFullyLocked = 0,
    /// Thrown.
    Locked = 1,
    /// Retracted.
    Unlocked = 2,
}

/// R-MTR-4: LockState from the bolt. A bolt on its way reads as where it
/// was not yet: not fully locked, so no controller shows a door locked
/// before the bolt is home.
pub const fn lock_state(bolt: BoltState) -> LockState {
    match bolt {
        BoltState::At(BoltPosition::Locked) => LockState::Locked,
        BoltState::At(BoltPosition::Unlocked) => LockState::Unlocked,
        BoltState::Moving(_) | BoltState::Jammed => LockState::NotFullyLocked,
    }
}

/// DoorState (`DoorStateEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DoorStateValue {
    /// Open.
    Open = 0,
    /// Closed.
    Closed = 1,
    /// Open while leaving-home mode was armed (the intrusion alarm).
    ForcedOpen = 3,
}

/// SPEC §10: DoorState from the door sensor; an open door that raised the
/// intrusion alarm reads as forced open while the alarm lasts.
pub const fn door_state(door: DoorState, intrusion: bool) -> DoorStateValue {
    match door {
        DoorState::Closed => DoorStateValue::Closed,
        DoorState::Open if intrusion => DoorStateValue::ForcedOpen,
        DoorState::Open => DoorStateValue::Open,
    }
}

/// The operation source of an event (`OperationSourceEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OperationSource {
    /// Not known.
    Unspecified = 0,
    /// By hand: the mechanical key or the thumb turn.
    Manual = 1,
    /// The lock's own app over Bluetooth (not a Matter controller).
    ProprietaryRemote = 2,
    /// The keypad: a passcode or a visitor code.
    Keypad = 3,
    /// The lock itself: the countdown lock.
    Auto = 4,
    /// The inside locking button.
    Button = 5,
    /// From afar: a Matter controller, or the app through a hub.
    Remote = 7,
    /// A face, a palm or a finger.
    Biometric = 9,
}

/// SPEC §10: where an unlock (or a failed one) came from.
pub const fn unlock_source(method: Method) -> OperationSource {
    match method {
        Method::Face | Method::Palm | Method::Finger => OperationSource::Biometric,
        Method::Passcode | Method::VisitorCode => OperationSource::Keypad,
        Method::MechanicalKey => OperationSource::Manual,
        Method::BluetoothKey => OperationSource::ProprietaryRemote,
        Method::Remote => OperationSource::Remote,
    }
}

/// SPEC §10: where a lock came from.
pub const fn lock_source(method: LockMethod) -> OperationSource {
    match method {
        LockMethod::Keypad | LockMethod::LeavingHome => OperationSource::Keypad,
        LockMethod::InsideButton => OperationSource::Button,
        LockMethod::Countdown => OperationSource::Auto,
        LockMethod::App => OperationSource::Remote,
        LockMethod::Manual => OperationSource::Manual,
    }
}

/// Where a change to the people came from: at the lock, from a Matter
/// fabric, or from the lock's own app.
pub fn change_source(by: Actor) -> (OperationSource, Option<u8>) {
    match by {
        Actor::Person(_) => (OperationSource::Keypad, None),
        Actor::Pairing(p) => match fabric_of_pairing(p) {
            Some(fabric) => (OperationSource::Remote, Some(fabric)),
            None => (OperationSource::ProprietaryRemote, None),
        },
    }
}

/// LockOperationType (`LockOperationTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LockOperationType {
    /// The bolt was thrown.
    Lock = 0,
    /// The bolt was retracted.
    Unlock = 1,
}

/// OperationError (`OperationErrorEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OperationError {
    /// Any other refusal.
    Unspecified = 0,
    /// A wrong passcode or an unknown face, palm or finger (R-LKO-1).
    InvalidCredential = 1,
    /// Refused unchecked: a lockout is running.
    DisabledUserDenied = 2,
    /// A person outside their validity period or weekly hours (R-USR-6).
    Restricted = 3,
    /// The battery is too low for what was asked.
    InsufficientBattery = 4,
}

/// SPEC §10: the error a refused verification reports.
pub const fn operation_error(reason: Refusal) -> OperationError {
    match reason {
        Refusal::NoMatch => OperationError::InvalidCredential,
        Refusal::SystemLocked => OperationError::DisabledUserDenied,
        Refusal::OutsideValidity => OperationError::Restricted,
        Refusal::BatteryTooLow => OperationError::InsufficientBattery,
        _ => OperationError::Unspecified,
    }
}

/// DoorLockAlarm's code (`AlarmCodeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AlarmCode {
    /// The bolt jammed.
    LockJammed = 0,
    /// The lock was reset to factory settings.
    LockFactoryReset = 1,
    /// The wrong-code limit was reached: a lockout began.
    WrongCodeEntryLimit = 4,
    /// The front panel was forced off (the tamper alarm).
    FrontEscutcheonRemoved = 5,
    /// The door opened while leaving-home mode was armed.
    DoorForcedOpen = 6,
    /// A duress passcode was used.
    ForcedUser = 8,
}

/// SPEC §10: the alarm code of one of the lock's alarms. The low battery
/// has none: it is the Power Source cluster's to report.
pub const fn alarm_code(kind: AlarmKind) -> Option<AlarmCode> {
    match kind {
        AlarmKind::Jam => Some(AlarmCode::LockJammed),
        AlarmKind::SystemLocked => Some(AlarmCode::WrongCodeEntryLimit),
        AlarmKind::Tamper => Some(AlarmCode::FrontEscutcheonRemoved),
        AlarmKind::Intrusion => Some(AlarmCode::DoorForcedOpen),
        AlarmKind::Duress => Some(AlarmCode::ForcedUser),
        AlarmKind::LowBattery => None,
    }
}

/// LockUserChange's data type (`LockDataTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LockDataType {
    /// A person (user index).
    UserIndex = 2,
    /// A passcode.
    Pin = 6,
    /// A fingerprint.
    Fingerprint = 8,
    /// A face.
    Face = 10,
    /// A palm (the cluster has no palm-vein type).
    Unspecified = 0,
}

/// LockUserChange's operation (`DataOperationTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DataOperation {
    /// Added.
    Add = 0,
    /// Cleared.
    Clear = 1,
    /// Changed.
    Modify = 2,
}

/// A Door Lock event (SPEC §10), from one of the lock's log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorLockEvent {
    /// DoorLockAlarm.
    Alarm(AlarmCode),
    /// LockOperation: the bolt moved for someone.
    Operation {
        /// Locked or unlocked.
        kind: LockOperationType,
        /// How.
        source: OperationSource,
        /// Whose credential, if a person's.
        user: Option<u16>,
    },
    /// LockOperationError: a verification was refused.
    OperationError {
        /// What was tried (an unlock: the lock checks credentials only to
        /// open).
        kind: LockOperationType,
        /// How.
        source: OperationSource,
        /// Why it was refused.
        error: OperationError,
        /// Whose credential, if it was a person's (outside their hours).
        user: Option<u16>,
    },
    /// LockUserChange.
    UserChange {
        /// What changed.
        data: LockDataType,
        /// Added, changed or cleared.
        operation: DataOperation,
        /// Who changed it: at the lock, a fabric, the lock's app.
        source: OperationSource,
        /// The fabric that changed it, if one did.
        fabric: Option<u8>,
        /// Whose.
        user: u16,
    },
}

/// R-MTR-5: the event a log record raises, if any. Settings, clock,
/// pairings and lockout ends raise none (the attributes show them).
pub fn event_of(entry: &LogEntry) -> Option<DoorLockEvent> {
    let user = |p: Option<PersonNumber>| p.map(user_index);
    Some(match *entry {
        LogEntry::Unlock { person, method } => DoorLockEvent::Operation {
            kind: LockOperationType::Unlock,
            source: unlock_source(method),
            user: user(person),
        },
        LogEntry::Locked(method) => DoorLockEvent::Operation {
            kind: LockOperationType::Lock,
            source: lock_source(method),
            user: None,
        },
        LogEntry::UnlockFailed {
            person,
            method,
            reason,
        } => DoorLockEvent::OperationError {
            kind: LockOperationType::Unlock,
            source: unlock_source(method),
            error: operation_error(reason),
            user: user(person),
        },
        LogEntry::Alarm(kind) => DoorLockEvent::Alarm(alarm_code(kind)?),
        LogEntry::FactoryReset => DoorLockEvent::Alarm(AlarmCode::LockFactoryReset),
        LogEntry::UserAdded { person, by, .. } => {
            user_change(LockDataType::UserIndex, DataOperation::Add, person, by)
        }
        LogEntry::UserChanged { person, by } => {
            user_change(LockDataType::UserIndex, DataOperation::Modify, person, by)
        }
        LogEntry::UserDeleted { person, by } => {
            user_change(LockDataType::UserIndex, DataOperation::Clear, person, by)
        }
        LogEntry::CredentialAdded { person, kind, by } => {
            let data = match kind {
                None => LockDataType::Pin,
                Some(BiometricKind::Finger) => LockDataType::Fingerprint,
                Some(BiometricKind::Face) => LockDataType::Face,
                Some(BiometricKind::Palm) => LockDataType::Unspecified,
            };
            user_change(data, DataOperation::Add, person, by)
        }
        LogEntry::Lockout { .. }
        | LogEntry::LockoutEnded
        | LogEntry::LockoutLifted
        | LogEntry::SettingChanged { .. }
        | LogEntry::ClockSet { .. }
        | LogEntry::Paired { .. }
        | LogEntry::Unpaired { .. }
        | LogEntry::KeyIssued { .. }
        | LogEntry::DoorDirection(_)
        | LogEntry::ModuleFault(_) => return None,
    })
}

fn user_change(
    data: LockDataType,
    operation: DataOperation,
    person: PersonNumber,
    by: Actor,
) -> DoorLockEvent {
    let (source, fabric) = change_source(by);
    DoorLockEvent::UserChange {
        data,
        operation,
        source,
        fabric,
        user: user_index(person),
    }
}

/// A command's cluster status (`DlStatus`), in SetCredential's response
/// and as the cluster-specific status of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DlStatus {
    /// Done.
    Success = 0,
    /// Refused for a reason the cluster has no status for.
    Failure = 1,
    /// The PIN is in use: it contains a stored code or is contained in one
    /// (R-PIN-5).
    Duplicate = 2,
    /// The user index or credential slot is taken.
    Occupied = 3,
    /// A field is out of range, or the PIN breaks R-PIN-1 or 2.
    InvalidField = 0x85,
    /// The lock holds as many people or credentials as it can (R-USR-3).
    ResourceExhausted = 0x89,
    /// No such person or credential.
    NotFound = 0x8B,
}

/// R-MTR-2: the cluster status of one of the core's refusals.
pub const fn status_of(refusal: Refusal) -> DlStatus {
    match refusal {
        Refusal::Passcode(PasscodeError::Overlaps) => DlStatus::Duplicate,
        Refusal::Passcode(PasscodeError::Full)
        | Refusal::PeopleFull
        | Refusal::CredentialStoreFull
        | Refusal::PersonCredentialsFull => DlStatus::ResourceExhausted,
        Refusal::Passcode(_) => DlStatus::InvalidField,
        Refusal::OutOfRange => DlStatus::Occupied,
        Refusal::NoSuchPerson => DlStatus::NotFound,
        _ => DlStatus::Failure,
    }
}

/// SPEC §10: the user index of a person: their number.
pub const fn user_index(person: PersonNumber) -> u16 {
    person.get() as u16
}

/// SPEC §10: the person a user index names; out of 1…100 is InvalidField.
pub fn person_of_index(index: u16) -> Result<PersonNumber, DlStatus> {
    u8::try_from(index)
        .ok()
        .and_then(PersonNumber::new)
        .ok_or(DlStatus::InvalidField)
}

/// A PIN from a command's octet string: ASCII digits, R-PIN-1's 6 to 10 of
/// them. Anything else is InvalidField. Strength (R-PIN-2) and overlap
/// (R-PIN-5) are the core's to judge when the PIN is stored.
pub fn pin_of_octets(octets: &[u8]) -> Result<Passcode, DlStatus> {
    let mut digits = [0u8; MAX_PIN_LENGTH as usize];
    if octets.len() > digits.len() {
        return Err(DlStatus::InvalidField);
    }
    for (d, &o) in digits.iter_mut().zip(octets) {
        if !o.is_ascii_digit() {
            return Err(DlStatus::InvalidField);
        }
        *d = o - b'0';
    }
    let digits = digits.get(..octets.len()).ok_or(DlStatus::InvalidField)?;
    Passcode::new(digits).map_err(|_| DlStatus::InvalidField)
}

/// A user's type (`UserTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum UserType {
    /// A user with no limits.
    Unrestricted = 0,
    /// Limited to a validity period (R-USR-6): the cluster's year-day
    /// schedule.
    YearDaySchedule = 1,
    /// Limited to hours of the week (R-APP-3).
    WeekDaySchedule = 2,
    /// An administrator: may open the lock's menu (R-MNU-1).
    Programming = 3,
}

/// SPEC §10: the user type a person reads back as.
pub fn user_type(person: &Person) -> UserType {
    match person.role {
        Role::Administrator => UserType::Programming,
        Role::User if person.schedule.is_some() => UserType::WeekDaySchedule,
        Role::User if person.validity != lock_core::Validity::ALWAYS => UserType::YearDaySchedule,
        Role::User => UserType::Unrestricted,
    }
}

/// SPEC §10: the role a SetUser's user type asks for. The schedule types
/// are set with their schedules; the others (non-access, forced,
/// disposable, expiring, remote-only users) the lock does not have.
pub const fn role_of_user_type(value: u8) -> Result<Role, DlStatus> {
    match value {
        0..=2 => Ok(Role::User),
        3 => Ok(Role::Administrator),
        _ => Err(DlStatus::InvalidField),
    }
}

/// NumberOfWeekDaySchedulesSupportedPerUser: a person has at most one
/// weekly window (their hours of the week).
pub const WEEK_DAY_SCHEDULES_PER_USER: u8 = 1;
/// NumberOfYearDaySchedulesSupportedPerUser: a person has at most one
/// validity period.
pub const YEAR_DAY_SCHEDULES_PER_USER: u8 = 1;
/// The WeekDayIndex or YearDayIndex ClearWeekDaySchedule and
/// ClearYearDaySchedule take for "all of the user's schedules".
pub const ALL_SCHEDULES: u8 = 0xFE;
/// Seconds from the lock's epoch (1970-01-01, [`Timestamp`]) to Matter's
/// (2000-01-01), which LocalStartTime and LocalEndTime count from.
pub const MATTER_EPOCH_UNIX_SECS: u64 = 946_684_800;

/// R-MTR-6: a schedule index of a Set or Get command: 1, the only one a
/// person has; any other is out of range, InvalidField (the command's
/// INVALID_COMMAND).
pub const fn schedule_index(index: u8) -> Result<(), DlStatus> {
    if index == 1 {
        Ok(())
    } else {
        Err(DlStatus::InvalidField)
    }
}

/// R-MTR-6: a Clear command's schedule index: 1, or [`ALL_SCHEDULES`].
pub const fn clear_schedule_index(index: u8) -> Result<(), DlStatus> {
    match index {
        1 | ALL_SCHEDULES => Ok(()),
        _ => Err(DlStatus::InvalidField),
    }
}

/// The lock's days (bit 0 Monday … bit 6 Sunday) from a Matter DaysMask
/// (bit 0 Sunday … bit 6 Saturday). Bit 7, which neither has, is dropped.
pub const fn days_of_mask(mask: u8) -> u8 {
    ((mask >> 1) & 0x3F) | ((mask & 1) << 6)
}

/// A Matter DaysMask from the lock's days: [`days_of_mask`] backwards.
pub const fn mask_of_days(days: u8) -> u8 {
    ((days << 1) & 0x7E) | ((days >> 6) & 1)
}

/// A week-day schedule as the cluster carries it: the days (Matter's mask)
/// and, local time, a start and an end within one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekDaySchedule {
    /// DaysMask: bit 0 Sunday … bit 6 Saturday.
    pub days_mask: u8,
    /// StartHour, 0…23.
    pub start_hour: u8,
    /// StartMinute, 0…59.
    pub start_minute: u8,
    /// EndHour, 0…23.
    pub end_hour: u8,
    /// EndMinute, 0…59: the window ends as this minute begins.
    pub end_minute: u8,
}

/// R-MTR-6: the lock's weekly hours from SetWeekDaySchedule's fields.
///
/// Matter's times are local time; the lock's schedule carries its offset
/// from UTC, and without a Time Synchronization cluster the controller
/// does not say it: the caller passes the person's current offset (0 if
/// they have no schedule; the simulator runs in UTC). Refused with
/// InvalidField (INVALID_COMMAND, as the CHIP reference server does) when
/// no day is set or bit 7 is, an hour or minute is out of range, or the
/// end is not after the start (a Matter schedule does not run overnight).
pub fn weekly_schedule(
    s: WeekDaySchedule,
    utc_offset_minutes: i16,
) -> Result<WeeklySchedule, DlStatus> {
    if s.days_mask == 0
        || s.days_mask & 0x80 != 0
        || s.start_hour > 23
        || s.end_hour > 23
        || s.start_minute > 59
        || s.end_minute > 59
    {
        return Err(DlStatus::InvalidField);
    }
    let minute = |h: u8, m: u8| u16::from(h) * 60 + u16::from(m);
    let from_minute = minute(s.start_hour, s.start_minute);
    let until_minute = minute(s.end_hour, s.end_minute);
    if until_minute <= from_minute {
        return Err(DlStatus::InvalidField);
    }
    let schedule = WeeklySchedule {
        days: days_of_mask(s.days_mask),
        from_minute,
        until_minute,
        utc_offset_minutes,
    };
    if schedule.is_valid() {
        Ok(schedule)
    } else {
        Err(DlStatus::InvalidField)
    }
}

/// R-MTR-6: GetWeekDaySchedule's fields from the lock's weekly hours, in
/// the schedule's own local time. A window to midnight reads as ending at
/// 23:59. One the cluster cannot express (overnight, or only the last
/// minute of a day, set from the lock's app) or out of range is Failure:
/// the controller learns the person is limited without being told wrong
/// hours.
pub fn week_day_schedule(s: &WeeklySchedule) -> Result<WeekDaySchedule, DlStatus> {
    let until = s.until_minute.min(23 * 60 + 59);
    if !s.is_valid() || until <= s.from_minute {
        return Err(DlStatus::Failure);
    }
    let split = |m: u16| Some((u8::try_from(m / 60).ok()?, u8::try_from(m % 60).ok()?));
    let (Some((start_hour, start_minute)), Some((end_hour, end_minute))) =
        (split(s.from_minute), split(until))
    else {
        return Err(DlStatus::Failure);
    };
    Ok(WeekDaySchedule {
        days_mask: mask_of_days(s.days),
        start_hour,
        start_minute,
        end_hour,
        end_minute,
    })
}

/// R-MTR-6: the lock's validity period from SetYearDaySchedule's
/// LocalStartTime and LocalEndTime (seconds since 2000-01-01). Local time
/// is taken as UTC, the lock's wall clock (no Time Synchronization
/// cluster yet). Both ends are included, as the lock's are. An end not
/// after the start is InvalidField (INVALID_COMMAND).
pub fn validity_of_year_day(local_start: u32, local_end: u32) -> Result<Validity, DlStatus> {
    if local_end <= local_start {
        return Err(DlStatus::InvalidField);
    }
    let at = |secs: u32| Timestamp(MATTER_EPOCH_UNIX_SECS + u64::from(secs));
    Ok(Validity {
        from: Some(at(local_start)),
        until: Some(at(local_end)),
    })
}

/// R-MTR-6: GetYearDaySchedule's LocalStartTime and LocalEndTime from a
/// validity period; `None` (NotFound) for a person always valid. An open
/// or pre-2000 start reads as 0, an open or too distant end as
/// `u32::MAX`.
pub fn year_day_of_validity(v: &Validity) -> Option<(u32, u32)> {
    if v.is_unbounded() {
        return None;
    }
    let secs = |t: Timestamp| {
        u32::try_from(t.0.saturating_sub(MATTER_EPOCH_UNIX_SECS)).unwrap_or(u32::MAX)
    };
    Some((v.from.map_or(0, secs), v.until.map_or(u32::MAX, secs)))
}

/// A credential's type (`CredentialTypeEnum`) as the lock holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CredentialType {
    /// A passcode.
    Pin = 1,
    /// A fingerprint.
    Fingerprint = 3,
    /// A face.
    Face = 5,
}

impl CredentialType {
    /// The type of a command's credential, if the lock has it. RFID, finger
    /// vein, Aliro and programming PINs it does not.
    pub const fn of(value: u8) -> Option<CredentialType> {
        match value {
            1 => Some(CredentialType::Pin),
            3 => Some(CredentialType::Fingerprint),
            5 => Some(CredentialType::Face),
            _ => None,
        }
    }

    /// The biometric kind, for the enrolled types.
    pub const fn biometric(self) -> Option<BiometricKind> {
        match self {
            CredentialType::Pin => None,
            CredentialType::Fingerprint => Some(BiometricKind::Finger),
            CredentialType::Face => Some(BiometricKind::Face),
        }
    }
}

/// One credential as GetUser lists it and GetCredentialStatus finds it: a
/// PIN's index is its owner's person number (one passcode each); a face's
/// or finger's is its module template number plus one (indices start at 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    /// Its type.
    pub kind: CredentialType,
    /// Its index.
    pub index: u16,
}

/// SPEC §10: a person's credentials in the cluster's terms. Palms have no
/// Matter credential type and are not listed; a duress code is not a
/// credential the cluster can name apart from the PIN and is not listed.
pub fn credentials(person: &Person) -> impl Iterator<Item = Credential> + '_ {
    let pin = person.passcode.map(|_| Credential {
        kind: CredentialType::Pin,
        index: user_index(person.number),
    });
    let enrolled = |kind: CredentialType| {
        let templates = kind.biometric().map_or(&[][..], |b| person.templates(b));
        templates.iter().map(move |t| Credential {
            kind,
            index: t.0.saturating_add(1),
        })
    };
    pin.into_iter()
        .chain(enrolled(CredentialType::Fingerprint))
        .chain(enrolled(CredentialType::Face))
}

/// The template a face's or finger's credential index names.
pub const fn template_of_index(index: u16) -> Option<TemplateId> {
    match index.checked_sub(1) {
        Some(t) => Some(TemplateId(t)),
        None => None,
    }
}

/// NextUserIndex: the lowest user index above `index` that a stored person
/// occupies, if any.
pub fn next_user_index<'p>(
    people: impl IntoIterator<Item = &'p Person>,
    index: u16,
) -> Option<u16> {
    people
        .into_iter()
        .map(|p| user_index(p.number))
        .filter(|i| *i > index)
        .min()
}

/// NextCredentialIndex: the lowest index above `after.index` that a stored
/// credential of `after.kind` occupies, if any.
pub fn next_credential_index<'p>(
    people: impl IntoIterator<Item = &'p Person>,
    after: Credential,
) -> Option<u16> {
    people
        .into_iter()
        .flat_map(credentials)
        .filter(|c| c.kind == after.kind && c.index > after.index)
        .map(|c| c.index)
        .min()
}

/// The person holding a credential, if anyone does.
pub fn holder<'p>(
    people: impl IntoIterator<Item = &'p Person>,
    credential: Credential,
) -> Option<&'p Person> {
    people
        .into_iter()
        .find(|p| credentials(p).any(|c| c == credential))
}
