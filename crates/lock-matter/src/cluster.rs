//! The Door Lock cluster (0x0101) on rs-matter: the handler a Matter
//! device puts on its Door Lock endpoint (feature `rs-matter`).
//!
//! Reads come from the [`LockView`](crate::LockView) the lock published
//! last; every command that changes something goes to the lock's core over
//! the [`Bridge`] as the fabric's own request, and comes back with the
//! core's reply, so the rules that hold at the keypad and for the phone
//! hold here (SPEC §10). Events
//! are the log records' (map::event_of), reported by [`DoorLockHandler`]'s
//! background task.
//!
//! Features: PIN credential, User, door position sensor, fingerprint and
//! face credentials (read back; they are enrolled at the lock), week-day
//! and year-day access schedules (one of each per user: the person's weekly
//! hours and validity period, R-MTR-6). The Aliro and RFID features,
//! unbolting and the holiday schedules are not offered: those commands are
//! not in the endpoint's AcceptedCommandList, and rs-matter refuses them
//! before they reach the handler.
//!
//! A user added with SetUser and no credential yet waits here, in RAM,
//! until SetCredential gives them a PIN: the lock stores people with a
//! credential. Such a user does not outlive a restart.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use lock_core::{
    AppCommand, Name, Passcode, PersonNumber, Privilege, Refusal, Reply, Role, Setting, Validity,
};
use rs_matter::dm::clusters::decl::door_lock::{
    self, AlarmCodeEnum, ClearCredentialRequest, ClearHolidayScheduleRequest, ClearUserRequest,
    ClearWeekDayScheduleRequest, ClearYearDayScheduleRequest, CredentialRuleEnum,
    CredentialTypeEnum, DataOperationTypeEnum, DlLockState, DlLockType, DlStatus as MatterStatus,
    DoorStateEnum, GetCredentialStatusRequest, GetCredentialStatusResponseBuilder,
    GetHolidayScheduleRequest, GetHolidayScheduleResponseBuilder, GetUserRequest,
    GetUserResponseBuilder, GetWeekDayScheduleRequest, GetWeekDayScheduleResponseBuilder,
    GetYearDayScheduleRequest, GetYearDayScheduleResponseBuilder, LockDataTypeEnum,
    LockDoorRequest, LockOperationTypeEnum, OperatingModeEnum, OperationErrorEnum,
    OperationSourceEnum, SetAliroReaderConfigRequest, SetCredentialRequest,
    SetCredentialResponseBuilder, SetHolidayScheduleRequest, SetUserRequest,
    SetWeekDayScheduleRequest, SetYearDayScheduleRequest, UnboltDoorRequest, UnlockDoorRequest,
    UnlockWithTimeoutRequest, UserStatusEnum, UserTypeEnum,
};
use rs_matter::dm::{
    Cluster, Dataver, EndptId, HandlerContext, InvokeContext, OperationContext, ReadContext,
    WriteContext,
};
use rs_matter::error::{Error, ErrorCode};
use rs_matter::im::EventPriority;
use rs_matter::im::events::EVENT_DATA_TAG;
use rs_matter::tlv::{Nullable, Utf8Str};
use rs_matter::with;

use crate::bridge::{Answer, Bridge, Request};
use crate::map::{
    self, AlarmCode, Credential, CredentialType, DataOperation, DlStatus, DoorLockEvent,
    DoorStateValue, LockDataType, LockOperationType, LockState, OperationError, OperationSource,
    UserType,
};

/// Users added with SetUser that have no credential yet.
const PENDING_USERS: usize = 4;

/// A user known to Matter only, until their first PIN.
#[derive(Debug, Clone, Copy)]
struct Pending {
    number: PersonNumber,
    name: Name,
    role: Role,
    /// The fabric that set it up (CreatorFabricIndex).
    fabric: u8,
}

/// The Door Lock cluster's handler over a [`Bridge`] to the lock.
pub struct DoorLockHandler<'a, M: RawMutex> {
    dataver: Dataver,
    endpoint: EndptId,
    bridge: &'a Bridge<M>,
    pending: BlockingMutex<M, RefCell<heapless::Vec<Pending, PENDING_USERS>>>,
}

impl<'a, M: RawMutex> DoorLockHandler<'a, M> {
    /// The cluster as this lock offers it: PIN, User, door position,
    /// fingerprint and face features, week-day and year-day schedules; the
    /// attributes and commands those need (SPEC §10).
    pub const CLUSTER: Cluster<'static> = door_lock::FULL_CLUSTER
        .with_features(
            door_lock::Feature::PIN_CREDENTIAL.bits()
                | door_lock::Feature::USER.bits()
                | door_lock::Feature::DOOR_POSITION_SENSOR.bits()
                | door_lock::Feature::FINGER_CREDENTIALS.bits()
                | door_lock::Feature::FACE_CREDENTIALS.bits()
                | door_lock::Feature::WEEK_DAY_ACCESS_SCHEDULES.bits()
                | door_lock::Feature::YEAR_DAY_ACCESS_SCHEDULES.bits(),
        )
        .with_attrs(with!(
            required;
            door_lock::AttributeId::DoorState
                | door_lock::AttributeId::NumberOfTotalUsersSupported
                | door_lock::AttributeId::NumberOfPINUsersSupported
                | door_lock::AttributeId::MaxPINCodeLength
                | door_lock::AttributeId::MinPINCodeLength
                | door_lock::AttributeId::CredentialRulesSupport
                | door_lock::AttributeId::NumberOfCredentialsSupportedPerUser
                | door_lock::AttributeId::NumberOfWeekDaySchedulesSupportedPerUser
                | door_lock::AttributeId::NumberOfYearDaySchedulesSupportedPerUser
                | door_lock::AttributeId::AutoRelockTime
                | door_lock::AttributeId::SoundVolume
                | door_lock::AttributeId::WrongCodeEntryLimit
                | door_lock::AttributeId::UserCodeTemporaryDisableTime
        ))
        .with_cmds(with!(
            door_lock::CommandId::LockDoor
                | door_lock::CommandId::UnlockDoor
                | door_lock::CommandId::SetUser
                | door_lock::CommandId::GetUser
                | door_lock::CommandId::ClearUser
                | door_lock::CommandId::SetCredential
                | door_lock::CommandId::GetCredentialStatus
                | door_lock::CommandId::ClearCredential
                | door_lock::CommandId::SetWeekDaySchedule
                | door_lock::CommandId::GetWeekDaySchedule
                | door_lock::CommandId::ClearWeekDaySchedule
                | door_lock::CommandId::SetYearDaySchedule
                | door_lock::CommandId::GetYearDaySchedule
                | door_lock::CommandId::ClearYearDaySchedule
        ));

    /// A handler for endpoint `endpoint` over `bridge`.
    pub fn new(dataver: Dataver, endpoint: EndptId, bridge: &'a Bridge<M>) -> Self {
        DoorLockHandler {
            dataver,
            endpoint,
            bridge,
            pending: BlockingMutex::new(RefCell::new(heapless::Vec::new())),
        }
    }

    /// The attributes, or Busy before the lock has booted.
    fn view(&self) -> Result<crate::LockView, Error> {
        self.bridge.view().ok_or_else(|| ErrorCode::Busy.into())
    }

    fn pending(&self, number: PersonNumber) -> Option<Pending> {
        self.pending
            .lock(|p| p.borrow().iter().find(|u| u.number == number).copied())
    }

    fn forget_pending(&self, number: PersonNumber) {
        self.pending
            .lock(|p| p.borrow_mut().retain(|u| u.number != number));
    }

    /// Asks the core, as the fabric of `ctx`, and returns its reply.
    async fn command(
        &self,
        ctx: &impl OperationContext,
        privilege: Privilege,
        command: AppCommand,
    ) -> Result<Reply, Error> {
        let fabric = ctx.accessor()?.fab_idx()?.get();
        match self
            .bridge
            .ask(Request::Command {
                fabric,
                privilege,
                command,
            })
            .await
        {
            Answer::Reply(reply) => Ok(reply),
            _ => Err(ErrorCode::Busy.into()),
        }
    }

    /// A setting written by a fabric's administrator: a value the core
    /// refuses is a ConstraintError, any other refusal a Failure.
    async fn configure(&self, ctx: &impl OperationContext, setting: Setting) -> Result<(), Error> {
        match self
            .command(
                ctx,
                Privilege::Administrator,
                AppCommand::Configure(setting),
            )
            .await?
        {
            Reply::Refused(Refusal::OutOfRange) => Err(ErrorCode::ConstraintError.into()),
            Reply::Refused(_) => Err(ErrorCode::Failure.into()),
            _ => Ok(()),
        }
    }

    async fn user(&self, number: PersonNumber) -> Result<Option<crate::UserRecord>, Error> {
        match self.bridge.ask(Request::User(number)).await {
            Answer::User(user) => Ok(user),
            _ => Err(ErrorCode::Busy.into()),
        }
    }

    /// The stored person a Get…Schedule names, or the status to answer: a
    /// schedule index other than 1 or a user index out of range first, then
    /// NotFound for a user nobody holds.
    async fn schedule_owner(
        &self,
        index: u8,
        user_index: u16,
    ) -> Result<Result<crate::UserRecord, DlStatus>, Error> {
        Ok(
            match (map::schedule_index(index), map::person_of_index(user_index)) {
                (Ok(()), Ok(number)) => self.user(number).await?.ok_or(DlStatus::NotFound),
                (Err(status), _) | (_, Err(status)) => Err(status),
            },
        )
    }

    /// NextUserIndex after `index`: the lowest occupied above it, stored
    /// or waiting for its first PIN.
    async fn next_user(&self, index: u16) -> Result<Option<u16>, Error> {
        let stored = match self.bridge.ask(Request::NextUser(index)).await {
            Answer::Next(next) => next,
            _ => return Err(ErrorCode::Busy.into()),
        };
        let waiting = self.pending.lock(|p| {
            p.borrow()
                .iter()
                .map(|u| map::user_index(u.number))
                .filter(|i| *i > index)
                .min()
        });
        Ok(match (stored, waiting) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// NextCredentialIndex after `credential`: the lowest index of its type
    /// above its own that a stored credential occupies.
    async fn next_credential(&self, credential: Credential) -> Result<Option<u16>, Error> {
        match self.bridge.ask(Request::NextCredential(credential)).await {
            Answer::Next(next) => Ok(next),
            _ => Err(ErrorCode::Busy.into()),
        }
    }

    async fn holder(&self, credential: Credential) -> Result<Option<PersonNumber>, Error> {
        match self.bridge.ask(Request::Holder(credential)).await {
            Answer::Holder(who) => Ok(who),
            _ => Err(ErrorCode::Busy.into()),
        }
    }

    /// R-MTR-6: the stored person a Set or Clear schedule command names,
    /// after its schedule index passed `index_ok`. An index out of range is
    /// INVALID_COMMAND; a user index with no stored person FAILURE, as the
    /// CHIP reference server answers (a user still waiting for their first
    /// PIN is not stored yet, and has no schedule to change).
    async fn scheduled_person(
        &self,
        index_ok: Result<(), DlStatus>,
        user_index: u16,
    ) -> Result<crate::UserRecord, Error> {
        index_ok.map_err(|_| Error::from(ErrorCode::InvalidCommand))?;
        let number = person(user_index)?;
        self.user(number)
            .await?
            .ok_or_else(|| ErrorCode::Failure.into())
    }

    /// R-MTR-6: hands a person's new weekly hours or validity period to the
    /// core, as the fabric's administrator command.
    async fn set_limit(&self, ctx: &impl InvokeContext, command: AppCommand) -> Result<(), Error> {
        match self.command(ctx, Privilege::Administrator, command).await? {
            // Checked here before it was sent; the core agrees.
            Reply::Refused(Refusal::OutOfRange) => Err(ErrorCode::InvalidCommand.into()),
            // Deleted meanwhile: as if they had not been there.
            Reply::Refused(Refusal::NoSuchPerson) => Err(ErrorCode::Failure.into()),
            reply => done(ctx, reply),
        }
    }

    /// Reports the queued events and the changed attributes.
    fn report(&self, ctx: &impl HandlerContext) -> Result<(), Error> {
        self.dataver.changed();
        ctx.notify_cluster_changed(self.endpoint, door_lock::FULL_CLUSTER.id);
        while let Some(event) = self.bridge.take_event() {
            emit(ctx, self.endpoint, &event)?;
        }
        Ok(())
    }
}

/// A refusal as the command's status: FAILURE with the cluster status for
/// Duplicate and Occupied, the IM status for the others.
fn refused(ctx: &impl InvokeContext, status: DlStatus) -> Error {
    match status {
        DlStatus::Duplicate | DlStatus::Occupied => {
            ctx.cmd().set_cluster_status(status as u8);
            ErrorCode::Failure.into()
        }
        DlStatus::InvalidField => ErrorCode::InvalidCommand.into(),
        DlStatus::ResourceExhausted => ErrorCode::ResourceExhausted.into(),
        DlStatus::NotFound => ErrorCode::NotFound.into(),
        DlStatus::Success | DlStatus::Failure => ErrorCode::Failure.into(),
    }
}

fn done(ctx: &impl InvokeContext, reply: Reply) -> Result<(), Error> {
    match reply {
        Reply::Refused(r) => Err(refused(ctx, map::status_of(r))),
        _ => Ok(()),
    }
}

fn person(index: u16) -> Result<PersonNumber, Error> {
    map::person_of_index(index).map_err(|_| ErrorCode::InvalidCommand.into())
}

fn lock_state(s: LockState) -> DlLockState {
    match s {
        LockState::NotFullyLocked => DlLockState::NotFullyLocked,
        LockState::Locked => DlLockState::Locked,
        LockState::Unlocked => DlLockState::Unlocked,
    }
}

fn door_state(s: DoorStateValue) -> DoorStateEnum {
    match s {
        DoorStateValue::Open => DoorStateEnum::DoorOpen,
        DoorStateValue::Closed => DoorStateEnum::DoorClosed,
        DoorStateValue::ForcedOpen => DoorStateEnum::DoorForcedOpen,
    }
}

fn source(s: OperationSource) -> OperationSourceEnum {
    match s {
        OperationSource::Unspecified => OperationSourceEnum::Unspecified,
        OperationSource::Manual => OperationSourceEnum::Manual,
        OperationSource::ProprietaryRemote => OperationSourceEnum::ProprietaryRemote,
        OperationSource::Keypad => OperationSourceEnum::Keypad,
        OperationSource::Auto => OperationSourceEnum::Auto,
        OperationSource::Button => OperationSourceEnum::Button,
        OperationSource::Remote => OperationSourceEnum::Remote,
        OperationSource::Biometric => OperationSourceEnum::Biometric,
    }
}

fn operation(k: LockOperationType) -> LockOperationTypeEnum {
    match k {
        LockOperationType::Lock => LockOperationTypeEnum::Lock,
        LockOperationType::Unlock => LockOperationTypeEnum::Unlock,
    }
}

fn operation_error(e: OperationError) -> OperationErrorEnum {
    match e {
        OperationError::Unspecified => OperationErrorEnum::Unspecified,
        OperationError::InvalidCredential => OperationErrorEnum::InvalidCredential,
        OperationError::DisabledUserDenied => OperationErrorEnum::DisabledUserDenied,
        OperationError::Restricted => OperationErrorEnum::Restricted,
        OperationError::InsufficientBattery => OperationErrorEnum::InsufficientBattery,
    }
}

fn alarm(a: AlarmCode) -> AlarmCodeEnum {
    match a {
        AlarmCode::LockJammed => AlarmCodeEnum::LockJammed,
        AlarmCode::LockFactoryReset => AlarmCodeEnum::LockFactoryReset,
        AlarmCode::WrongCodeEntryLimit => AlarmCodeEnum::WrongCodeEntryLimit,
        AlarmCode::FrontEscutcheonRemoved => AlarmCodeEnum::FrontEsceutcheonRemoved,
        AlarmCode::DoorForcedOpen => AlarmCodeEnum::DoorForcedOpen,
        AlarmCode::ForcedUser => AlarmCodeEnum::ForcedUser,
    }
}

fn data_type(d: LockDataType) -> LockDataTypeEnum {
    match d {
        LockDataType::UserIndex => LockDataTypeEnum::UserIndex,
        LockDataType::Pin => LockDataTypeEnum::PIN,
        LockDataType::Fingerprint => LockDataTypeEnum::Fingerprint,
        LockDataType::Face => LockDataTypeEnum::Face,
        LockDataType::Unspecified => LockDataTypeEnum::Unspecified,
    }
}

fn data_operation(o: DataOperation) -> DataOperationTypeEnum {
    match o {
        DataOperation::Add => DataOperationTypeEnum::Add,
        DataOperation::Clear => DataOperationTypeEnum::Clear,
        DataOperation::Modify => DataOperationTypeEnum::Modify,
    }
}

fn user_type(t: UserType) -> UserTypeEnum {
    match t {
        UserType::Unrestricted => UserTypeEnum::UnrestrictedUser,
        UserType::YearDaySchedule => UserTypeEnum::YearDayScheduleUser,
        UserType::WeekDaySchedule => UserTypeEnum::WeekDayScheduleUser,
        UserType::Programming => UserTypeEnum::ProgrammingUser,
    }
}

fn credential_type(t: CredentialType) -> CredentialTypeEnum {
    match t {
        CredentialType::Pin => CredentialTypeEnum::PIN,
        CredentialType::Fingerprint => CredentialTypeEnum::Fingerprint,
        CredentialType::Face => CredentialTypeEnum::Face,
    }
}

fn credential_of(t: CredentialTypeEnum, index: u16) -> Option<Credential> {
    CredentialType::of(t as u8).map(|kind| Credential { kind, index })
}

fn user_type_value(t: Nullable<UserTypeEnum>) -> Result<Option<Role>, Error> {
    t.into_option()
        .map(|t| map::role_of_user_type(t as u8).map_err(|_| ErrorCode::InvalidCommand.into()))
        .transpose()
}

fn name_of(name: Nullable<Utf8Str<'_>>) -> Result<Option<Name>, Error> {
    name.into_option()
        .map(|n| Name::new(n).map_err(|_| ErrorCode::ConstraintError.into()))
        .transpose()
}

/// Emits one Door Lock event.
fn emit(ctx: &impl HandlerContext, endpoint: EndptId, event: &DoorLockEvent) -> Result<(), Error> {
    let cluster = door_lock::FULL_CLUSTER.id;
    let id = |e: door_lock::EventId| e as u32;
    let user = |u: Option<u16>| Nullable::new(u);
    match *event {
        DoorLockEvent::Alarm(code) => ctx.emit_event(
            endpoint,
            cluster,
            id(door_lock::EventId::DoorLockAlarm),
            EventPriority::Critical,
            |tw| {
                door_lock::DoorLockAlarmBuilder::new(tw, &EVENT_DATA_TAG)?
                    .alarm_code(alarm(code))?
                    .end()
                    .map(|_| ())
            },
        ),
        DoorLockEvent::Operation {
            kind,
            source: s,
            user: u,
        } => ctx.emit_event(
            endpoint,
            cluster,
            id(door_lock::EventId::LockOperation),
            EventPriority::Critical,
            |tw| {
                door_lock::LockOperationBuilder::new(tw, &EVENT_DATA_TAG)?
                    .lock_operation_type(operation(kind))?
                    .operation_source(source(s))?
                    .user_index(user(u))?
                    .fabric_index(Nullable::none())?
                    .source_node(Nullable::none())?
                    .credentials()?
                    .none()
                    .end()
                    .map(|_| ())
            },
        ),
        DoorLockEvent::OperationError {
            kind,
            source: s,
            error,
            user: u,
        } => ctx.emit_event(
            endpoint,
            cluster,
            id(door_lock::EventId::LockOperationError),
            EventPriority::Critical,
            |tw| {
                door_lock::LockOperationErrorBuilder::new(tw, &EVENT_DATA_TAG)?
                    .lock_operation_type(operation(kind))?
                    .operation_source(source(s))?
                    .operation_error(operation_error(error))?
                    .user_index(user(u))?
                    .fabric_index(Nullable::none())?
                    .source_node(Nullable::none())?
                    .credentials()?
                    .none()
                    .end()
                    .map(|_| ())
            },
        ),
        DoorLockEvent::UserChange {
            data,
            operation: op,
            source: s,
            fabric,
            user: u,
        } => ctx.emit_event(
            endpoint,
            cluster,
            id(door_lock::EventId::LockUserChange),
            EventPriority::Info,
            |tw| {
                door_lock::LockUserChangeBuilder::new(tw, &EVENT_DATA_TAG)?
                    .lock_data_type(data_type(data))?
                    .data_operation_type(data_operation(op))?
                    .operation_source(source(s))?
                    .user_index(Nullable::some(u))?
                    .fabric_index(Nullable::new(fabric))?
                    .source_node(Nullable::none())?
                    .data_index(Nullable::some(u))?
                    .end()
                    .map(|_| ())
            },
        ),
    }
    .map(|_| ())
}

impl<M: RawMutex> door_lock::ClusterAsyncHandler for DoorLockHandler<'_, M> {
    const CLUSTER: Cluster<'static> = Self::CLUSTER;

    fn dataver(&self) -> u32 {
        self.dataver.get()
    }

    fn dataver_changed(&self) {
        self.dataver.changed();
    }

    async fn run(&self, ctx: impl HandlerContext) -> Result<(), Error> {
        let mut resets = self.bridge.factory_resets();
        loop {
            self.bridge.changed().await;
            let now = self.bridge.factory_resets();
            if now != resets {
                // R-MNU-9: the people are gone; so are the users waiting
                // for a PIN. The device removes the fabrics.
                resets = now;
                self.pending.lock(|p| p.borrow_mut().clear());
            }
            self.report(&ctx)?;
        }
    }

    async fn lock_state(&self, _ctx: impl ReadContext) -> Result<Nullable<DlLockState>, Error> {
        Ok(Nullable::some(lock_state(self.view()?.lock_state)))
    }

    async fn lock_type(&self, _ctx: impl ReadContext) -> Result<DlLockType, Error> {
        Ok(DlLockType::DeadBolt)
    }

    async fn actuator_enabled(&self, _ctx: impl ReadContext) -> Result<bool, Error> {
        Ok(self.view()?.actuator_enabled)
    }

    async fn door_state(&self, _ctx: impl ReadContext) -> Result<Nullable<DoorStateEnum>, Error> {
        Ok(Nullable::some(door_state(self.view()?.door)))
    }

    async fn number_of_total_users_supported(&self, _ctx: impl ReadContext) -> Result<u16, Error> {
        Ok(map::USERS_SUPPORTED)
    }

    async fn number_of_pin_users_supported(&self, _ctx: impl ReadContext) -> Result<u16, Error> {
        Ok(map::PIN_USERS_SUPPORTED)
    }

    async fn max_pin_code_length(&self, _ctx: impl ReadContext) -> Result<u8, Error> {
        Ok(map::MAX_PIN_LENGTH)
    }

    async fn min_pin_code_length(&self, _ctx: impl ReadContext) -> Result<u8, Error> {
        Ok(map::MIN_PIN_LENGTH)
    }

    async fn credential_rules_support(
        &self,
        _ctx: impl ReadContext,
    ) -> Result<door_lock::DlCredentialRuleMask, Error> {
        Ok(door_lock::DlCredentialRuleMask::SINGLE)
    }

    async fn number_of_credentials_supported_per_user(
        &self,
        _ctx: impl ReadContext,
    ) -> Result<u8, Error> {
        // Bounded by CREDENTIALS_PER_USER (9).
        #[allow(clippy::cast_possible_truncation)]
        Ok(crate::bridge::CREDENTIALS_PER_USER as u8)
    }

    async fn number_of_week_day_schedules_supported_per_user(
        &self,
        _ctx: impl ReadContext,
    ) -> Result<u8, Error> {
        Ok(map::WEEK_DAY_SCHEDULES_PER_USER)
    }

    async fn number_of_year_day_schedules_supported_per_user(
        &self,
        _ctx: impl ReadContext,
    ) -> Result<u8, Error> {
        Ok(map::YEAR_DAY_SCHEDULES_PER_USER)
    }

    async fn auto_relock_time(&self, _ctx: impl ReadContext) -> Result<u32, Error> {
        Ok(self.view()?.auto_relock_secs)
    }

    async fn sound_volume(&self, _ctx: impl ReadContext) -> Result<u8, Error> {
        Ok(map::sound_volume(self.view()?.volume))
    }

    async fn set_sound_volume(&self, ctx: impl WriteContext, value: u8) -> Result<(), Error> {
        // R-MTR-4: the lock's volume setting, as the keypad's menu sets it.
        let volume = map::volume_of_sound_volume(value).ok_or(ErrorCode::ConstraintError)?;
        self.configure(&ctx, Setting::Volume(volume)).await
    }

    async fn set_auto_relock_time(&self, ctx: impl WriteContext, value: u32) -> Result<(), Error> {
        // R-MTR-4: the countdown lock; its length first, so that a length
        // the lock refuses leaves it as it was.
        let settings =
            map::settings_of_auto_relock_time(value).ok_or(ErrorCode::ConstraintError)?;
        for setting in settings {
            self.configure(&ctx, setting).await?;
        }
        Ok(())
    }

    async fn operating_mode(&self, _ctx: impl ReadContext) -> Result<OperatingModeEnum, Error> {
        Ok(OperatingModeEnum::Normal)
    }

    async fn set_operating_mode(
        &self,
        _ctx: impl WriteContext,
        mode: OperatingModeEnum,
    ) -> Result<(), Error> {
        // The lock has one mode: every rule always applies.
        match mode {
            OperatingModeEnum::Normal => Ok(()),
            _ => Err(ErrorCode::ConstraintError.into()),
        }
    }

    async fn supported_operating_modes(
        &self,
        _ctx: impl ReadContext,
    ) -> Result<door_lock::DlSupportedOperatingModes, Error> {
        // The bitmap's bits are "not supported" (inverted); Normal and
        // Vacation are mandatory.
        Ok(door_lock::DlSupportedOperatingModes::from_bits_retain(
            0xFFFC,
        ))
    }

    async fn wrong_code_entry_limit(&self, _ctx: impl ReadContext) -> Result<u8, Error> {
        Ok(map::WRONG_CODE_ENTRY_LIMIT)
    }

    async fn user_code_temporary_disable_time(&self, _ctx: impl ReadContext) -> Result<u8, Error> {
        Ok(map::USER_CODE_TEMPORARY_DISABLE_TIME)
    }

    async fn handle_lock_door(
        &self,
        ctx: impl InvokeContext,
        _request: LockDoorRequest<'_>,
    ) -> Result<(), Error> {
        // Locking needs no code: anyone at the door can lock it too.
        let reply = self
            .command(&ctx, Privilege::User, AppCommand::Lock)
            .await?;
        match reply {
            Reply::Refused(_) => Err(ErrorCode::Failure.into()),
            _ => Ok(()),
        }
    }

    async fn handle_unlock_door(
        &self,
        ctx: impl InvokeContext,
        request: UnlockDoorRequest<'_>,
    ) -> Result<(), Error> {
        let command = match request.pin_code()? {
            // A PIN that is not 6 to 10 digits matches no stored code: it
            // is sent on as six zeros, a code too weak ever to be stored
            // and never matched but exactly, so it counts as a wrong code
            // (R-LKO-1) rather than being a free probe.
            Some(pin) => map::pin_of_octets(pin.0)
                .or_else(|_| Passcode::new(&[0; 6]))
                .map(AppCommand::UnlockWithPasscode)
                .map_err(|_| Error::from(ErrorCode::Failure))?,
            None => AppCommand::Unlock,
        };
        match self.command(&ctx, Privilege::User, command).await? {
            Reply::Refused(_) => Err(ErrorCode::Failure.into()),
            _ => Ok(()),
        }
    }

    async fn handle_unlock_with_timeout(
        &self,
        _ctx: impl InvokeContext,
        _request: UnlockWithTimeoutRequest<'_>,
    ) -> Result<(), Error> {
        Err(ErrorCode::CommandNotFound.into())
    }

    async fn handle_set_week_day_schedule(
        &self,
        ctx: impl InvokeContext,
        request: SetWeekDayScheduleRequest<'_>,
    ) -> Result<(), Error> {
        let user = self
            .scheduled_person(
                map::schedule_index(request.week_day_index()?),
                request.user_index()?,
            )
            .await?;
        let fields = map::WeekDaySchedule {
            days_mask: request.days_mask()?.bits(),
            start_hour: request.start_hour()?,
            start_minute: request.start_minute()?,
            end_hour: request.end_hour()?,
            end_minute: request.end_minute()?,
        };
        // Matter's hours are local: they keep the person's offset from UTC
        // (0 when they have no hours yet; no Time Synchronization cluster).
        let offset = user.schedule.map_or(0, |s| s.utc_offset_minutes);
        let schedule = map::weekly_schedule(fields, offset)
            .map_err(|_| Error::from(ErrorCode::InvalidCommand))?;
        self.set_limit(
            &ctx,
            AppCommand::SetSchedule {
                person: user.number,
                schedule: Some(schedule),
            },
        )
        .await
    }

    async fn handle_get_week_day_schedule<P: rs_matter::tlv::TLVBuilderParent>(
        &self,
        _ctx: impl InvokeContext,
        request: GetWeekDayScheduleRequest<'_>,
        response: GetWeekDayScheduleResponseBuilder<P>,
    ) -> Result<P, Error> {
        let index = request.week_day_index()?;
        let user_index = request.user_index()?;
        let found = self
            .schedule_owner(index, user_index)
            .await?
            .and_then(|user| user.schedule.ok_or(DlStatus::NotFound));
        let read = found.and_then(|s| map::week_day_schedule(&s));
        let (status, fields) = match read {
            Ok(fields) => (DlStatus::Success, Some(fields)),
            Err(status) => (status, None),
        };
        response
            .week_day_index(index)?
            .user_index(user_index)?
            .status(matter_status(status))?
            .days_mask(fields.map(|f| door_lock::DaysMaskMap::from_bits_retain(f.days_mask)))?
            .start_hour(fields.map(|f| f.start_hour))?
            .start_minute(fields.map(|f| f.start_minute))?
            .end_hour(fields.map(|f| f.end_hour))?
            .end_minute(fields.map(|f| f.end_minute))?
            .end()
    }

    async fn handle_clear_week_day_schedule(
        &self,
        ctx: impl InvokeContext,
        request: ClearWeekDayScheduleRequest<'_>,
    ) -> Result<(), Error> {
        let user = self
            .scheduled_person(
                map::clear_schedule_index(request.week_day_index()?),
                request.user_index()?,
            )
            .await?;
        if user.schedule.is_none() {
            return Ok(());
        }
        self.set_limit(
            &ctx,
            AppCommand::SetSchedule {
                person: user.number,
                schedule: None,
            },
        )
        .await
    }

    async fn handle_set_year_day_schedule(
        &self,
        ctx: impl InvokeContext,
        request: SetYearDayScheduleRequest<'_>,
    ) -> Result<(), Error> {
        let user = self
            .scheduled_person(
                map::schedule_index(request.year_day_index()?),
                request.user_index()?,
            )
            .await?;
        let validity =
            map::validity_of_year_day(request.local_start_time()?, request.local_end_time()?)
                .map_err(|_| Error::from(ErrorCode::InvalidCommand))?;
        self.set_limit(
            &ctx,
            AppCommand::SetValidity {
                person: user.number,
                validity,
            },
        )
        .await
    }

    async fn handle_get_year_day_schedule<P: rs_matter::tlv::TLVBuilderParent>(
        &self,
        _ctx: impl InvokeContext,
        request: GetYearDayScheduleRequest<'_>,
        response: GetYearDayScheduleResponseBuilder<P>,
    ) -> Result<P, Error> {
        let index = request.year_day_index()?;
        let user_index = request.user_index()?;
        let found = self
            .schedule_owner(index, user_index)
            .await?
            .and_then(|user| map::year_day_of_validity(&user.validity).ok_or(DlStatus::NotFound));
        let (status, times) = match found {
            Ok(times) => (DlStatus::Success, Some(times)),
            Err(status) => (status, None),
        };
        response
            .year_day_index(index)?
            .user_index(user_index)?
            .status(matter_status(status))?
            .local_start_time(times.map(|t| t.0))?
            .local_end_time(times.map(|t| t.1))?
            .end()
    }

    async fn handle_clear_year_day_schedule(
        &self,
        ctx: impl InvokeContext,
        request: ClearYearDayScheduleRequest<'_>,
    ) -> Result<(), Error> {
        let user = self
            .scheduled_person(
                map::clear_schedule_index(request.year_day_index()?),
                request.user_index()?,
            )
            .await?;
        if user.validity == Validity::ALWAYS {
            return Ok(());
        }
        self.set_limit(
            &ctx,
            AppCommand::SetValidity {
                person: user.number,
                validity: Validity::ALWAYS,
            },
        )
        .await
    }

    async fn handle_set_holiday_schedule(
        &self,
        _ctx: impl InvokeContext,
        _request: SetHolidayScheduleRequest<'_>,
    ) -> Result<(), Error> {
        Err(ErrorCode::CommandNotFound.into())
    }

    async fn handle_get_holiday_schedule<P: rs_matter::tlv::TLVBuilderParent>(
        &self,
        _ctx: impl InvokeContext,
        _request: GetHolidayScheduleRequest<'_>,
        _response: GetHolidayScheduleResponseBuilder<P>,
    ) -> Result<P, Error> {
        Err(ErrorCode::CommandNotFound.into())
    }

    async fn handle_clear_holiday_schedule(
        &self,
        _ctx: impl InvokeContext,
        _request: ClearHolidayScheduleRequest<'_>,
    ) -> Result<(), Error> {
        Err(ErrorCode::CommandNotFound.into())
    }

    async fn handle_set_user(
        &self,
        ctx: impl InvokeContext,
        request: SetUserRequest<'_>,
    ) -> Result<(), Error> {
        let number = person(request.user_index()?)?;
        let name = name_of(request.user_name()?)?;
        let role = user_type_value(request.user_type()?)?;
        let stored = self.user(number).await?;
        match request.operation_type()? {
            DataOperationTypeEnum::Add => {
                if stored.is_some() || self.pending(number).is_some() {
                    return Err(refused(&ctx, DlStatus::Occupied));
                }
                let user = Pending {
                    number,
                    name: name.unwrap_or_default(),
                    role: role.unwrap_or(Role::User),
                    fabric: ctx.accessor()?.fab_idx()?.get(),
                };
                let pushed = self.pending.lock(|p| p.borrow_mut().push(user));
                pushed.map_err(|_| refused(&ctx, DlStatus::ResourceExhausted))
            }
            DataOperationTypeEnum::Modify => match (stored, self.pending(number)) {
                (Some(user), _) => {
                    if role.is_some_and(|r| {
                        (r == Role::Administrator) != (user.user_type == UserType::Programming)
                    }) {
                        // The core keeps a person's role for life.
                        return Err(ErrorCode::ConstraintError.into());
                    }
                    match name {
                        Some(name) => {
                            let reply = self
                                .command(
                                    &ctx,
                                    Privilege::Administrator,
                                    AppCommand::NamePerson {
                                        person: number,
                                        name,
                                    },
                                )
                                .await?;
                            done(&ctx, reply)
                        }
                        None => Ok(()),
                    }
                }
                (None, Some(mut user)) => {
                    if let Some(name) = name {
                        user.name = name;
                    }
                    if let Some(role) = role {
                        user.role = role;
                    }
                    self.pending.lock(|p| {
                        if let Some(u) = p.borrow_mut().iter_mut().find(|u| u.number == number) {
                            *u = user;
                        }
                    });
                    Ok(())
                }
                (None, None) => Err(ErrorCode::NotFound.into()),
            },
            DataOperationTypeEnum::Clear => Err(ErrorCode::InvalidCommand.into()),
        }
    }

    async fn handle_get_user<P: rs_matter::tlv::TLVBuilderParent>(
        &self,
        _ctx: impl InvokeContext,
        request: GetUserRequest<'_>,
        response: GetUserResponseBuilder<P>,
    ) -> Result<P, Error> {
        let index = request.user_index()?;
        let number = person(index)?;
        let stored = self.user(number).await?;
        let pending = self.pending(number);
        let next = self.next_user(index).await?;
        let response = response.user_index(index)?;
        match (stored, pending) {
            (Some(user), _) => {
                let mut list = response
                    .user_name(Nullable::some(user.name.as_str()))?
                    .user_unique_id(Nullable::none())?
                    .user_status(Nullable::some(UserStatusEnum::OccupiedEnabled))?
                    .user_type(Nullable::some(user_type(user.user_type)))?
                    .credential_rule(Nullable::some(CredentialRuleEnum::Single))?
                    .credentials()?
                    .non_null()?;
                for c in &user.credentials {
                    list = list
                        .push()?
                        .credential_type(credential_type(c.kind))?
                        .credential_index(c.index)?
                        .end()?;
                }
                list.end()?
                    .creator_fabric_index(Nullable::none())?
                    .last_modified_fabric_index(Nullable::none())?
                    .next_user_index(Nullable::new(next))?
                    .end()
            }
            (None, Some(user)) => response
                .user_name(Nullable::some(user.name.as_str()))?
                .user_unique_id(Nullable::none())?
                .user_status(Nullable::some(UserStatusEnum::OccupiedEnabled))?
                .user_type(Nullable::some(match user.role {
                    Role::Administrator => UserTypeEnum::ProgrammingUser,
                    Role::User => UserTypeEnum::UnrestrictedUser,
                }))?
                .credential_rule(Nullable::some(CredentialRuleEnum::Single))?
                .credentials()?
                .null()?
                .creator_fabric_index(Nullable::some(user.fabric))?
                .last_modified_fabric_index(Nullable::some(user.fabric))?
                .next_user_index(Nullable::new(next))?
                .end(),
            (None, None) => response
                .user_name(Nullable::none())?
                .user_unique_id(Nullable::none())?
                .user_status(Nullable::none())?
                .user_type(Nullable::none())?
                .credential_rule(Nullable::none())?
                .credentials()?
                .null()?
                .creator_fabric_index(Nullable::none())?
                .last_modified_fabric_index(Nullable::none())?
                .next_user_index(Nullable::new(next))?
                .end(),
        }
    }

    async fn handle_clear_user(
        &self,
        ctx: impl InvokeContext,
        request: ClearUserRequest<'_>,
    ) -> Result<(), Error> {
        let number = person(request.user_index()?)?;
        if self.pending(number).is_some() {
            self.forget_pending(number);
            return Ok(());
        }
        let reply = self
            .command(
                &ctx,
                Privilege::Administrator,
                AppCommand::DeletePerson(number),
            )
            .await?;
        match reply {
            // Clearing an empty slot succeeds (nothing to clear).
            Reply::Refused(Refusal::NoSuchPerson) => Ok(()),
            reply => done(&ctx, reply),
        }
    }

    async fn handle_set_credential<P: rs_matter::tlv::TLVBuilderParent>(
        &self,
        ctx: impl InvokeContext,
        request: SetCredentialRequest<'_>,
        response: SetCredentialResponseBuilder<P>,
    ) -> Result<P, Error> {
        let credential = request.credential()?;
        let kind = credential.credential_type()?;
        let answer =
            |response: SetCredentialResponseBuilder<P>, status: DlStatus, user: Option<u16>| {
                response
                    .status(matter_status(status))?
                    .user_index(Nullable::new(user))?
                    .next_credential_index(Nullable::none())?
                    .end()
            };
        if kind != CredentialTypeEnum::PIN {
            // Faces and fingers are enrolled at the lock (R-USR-2).
            return answer(response, DlStatus::InvalidField, None);
        }
        if request.operation_type()? != DataOperationTypeEnum::Add {
            // A PIN is changed at the lock (R-PIN-3), not from afar.
            return answer(response, DlStatus::InvalidField, None);
        }
        let pin = match map::pin_of_octets(request.credential_data()?.0) {
            Ok(pin) => pin,
            Err(status) => return answer(response, status, None),
        };
        let (number, pending) = match request.user_index()?.into_option() {
            Some(index) => match map::person_of_index(index) {
                Ok(n) => (Some(n), self.pending(n)),
                Err(status) => return answer(response, status, None),
            },
            None => (None, None),
        };
        if let Some(n) = number
            && pending.is_none()
        {
            // A stored person: a PIN if they have none (one each).
            let Some(user) = self.user(n).await? else {
                return answer(response, DlStatus::NotFound, None);
            };
            if user
                .credentials
                .iter()
                .any(|c| c.kind == CredentialType::Pin)
            {
                return answer(response, DlStatus::Occupied, None);
            }
            let reply = self
                .command(
                    &ctx,
                    Privilege::Administrator,
                    AppCommand::AddPasscode {
                        person: n,
                        passcode: pin,
                    },
                )
                .await?;
            return match reply {
                Reply::Refused(r) => answer(response, map::status_of(r), None),
                _ => answer(response, DlStatus::Success, Some(map::user_index(n))),
            };
        }
        let role = match (pending, user_type_value(request.user_type()?)?) {
            (Some(p), _) => p.role,
            (None, Some(r)) => r,
            (None, None) => Role::User,
        };
        let reply = self
            .command(
                &ctx,
                Privilege::Administrator,
                AppCommand::AddPerson {
                    number,
                    role,
                    passcode: pin,
                    validity: Validity::ALWAYS,
                },
            )
            .await?;
        let added = match reply {
            Reply::PersonAdded(n) => n,
            Reply::Refused(r) => return answer(response, map::status_of(r), None),
            _ => return answer(response, DlStatus::Failure, None),
        };
        if let Some(p) = pending {
            self.forget_pending(added);
            if !p.name.as_str().is_empty() {
                let _ = self
                    .command(
                        &ctx,
                        Privilege::Administrator,
                        AppCommand::NamePerson {
                            person: added,
                            name: p.name,
                        },
                    )
                    .await?;
            }
        }
        answer(response, DlStatus::Success, Some(map::user_index(added)))
    }

    async fn handle_get_credential_status<P: rs_matter::tlv::TLVBuilderParent>(
        &self,
        _ctx: impl InvokeContext,
        request: GetCredentialStatusRequest<'_>,
        response: GetCredentialStatusResponseBuilder<P>,
    ) -> Result<P, Error> {
        let credential = request.credential()?;
        let (holder, next) = match credential_of(
            credential.credential_type()?,
            credential.credential_index()?,
        ) {
            Some(c) => (self.holder(c).await?, self.next_credential(c).await?),
            None => (None, None),
        };
        response
            .credential_exists(holder.is_some())?
            .user_index(Nullable::new(holder.map(map::user_index)))?
            .creator_fabric_index(Nullable::none())?
            .last_modified_fabric_index(Nullable::none())?
            .next_credential_index(Nullable::new(next))?
            .credential_data(None)?
            .end()
    }

    async fn handle_clear_credential(
        &self,
        ctx: impl InvokeContext,
        request: ClearCredentialRequest<'_>,
    ) -> Result<(), Error> {
        let Some(credential) = request.credential()?.into_option() else {
            // Clearing every credential would clear every person.
            return Err(ErrorCode::InvalidCommand.into());
        };
        let Some(c) = credential_of(
            credential.credential_type()?,
            credential.credential_index()?,
        ) else {
            return Err(ErrorCode::InvalidCommand.into());
        };
        let Some(holder) = self.holder(c).await? else {
            return Ok(());
        };
        let others = self
            .user(holder)
            .await?
            .map_or(0, |u| u.credentials.len().saturating_sub(1));
        let command = match (others, c.kind.biometric(), map::template_of_index(c.index)) {
            // A person's last credential goes with the person (the lock
            // stores no one without one).
            (0, _, _) => AppCommand::DeletePerson(holder),
            (_, Some(kind), Some(template)) => AppCommand::RemoveTemplate {
                person: holder,
                kind,
                template,
            },
            // One PIN of a person who keeps other credentials is removed
            // at the lock.
            _ => return Err(ErrorCode::InvalidCommand.into()),
        };
        let reply = self
            .command(&ctx, Privilege::Administrator, command)
            .await?;
        done(&ctx, reply)
    }

    async fn handle_unbolt_door(
        &self,
        _ctx: impl InvokeContext,
        _request: UnboltDoorRequest<'_>,
    ) -> Result<(), Error> {
        Err(ErrorCode::CommandNotFound.into())
    }

    async fn handle_set_aliro_reader_config(
        &self,
        _ctx: impl InvokeContext,
        _request: SetAliroReaderConfigRequest<'_>,
    ) -> Result<(), Error> {
        Err(ErrorCode::CommandNotFound.into())
    }

    async fn handle_clear_aliro_reader_config(
        &self,
        _ctx: impl InvokeContext,
    ) -> Result<(), Error> {
        Err(ErrorCode::CommandNotFound.into())
    }
}

fn matter_status(s: DlStatus) -> MatterStatus {
    match s {
        DlStatus::Success => MatterStatus::Success,
        DlStatus::Failure => MatterStatus::Failure,
        DlStatus::Duplicate => MatterStatus::Duplicate,
        DlStatus::Occupied => MatterStatus::Occupied,
        DlStatus::InvalidField => MatterStatus::InvalidField,
        DlStatus::ResourceExhausted => MatterStatus::ResourceExhausted,
        DlStatus::NotFound => MatterStatus::NotFound,
    }
}
