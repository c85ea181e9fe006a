"""The lock as a Matter Door Lock, through the CHIP Python controller.

Each test starts a factory-fresh simulated lock (`lock-sim matter --fresh`),
does the first start at the keypad (administrator 001, passcode 482915) and,
where it needs one, commissions it from pairing mode. The cases follow the
Matter test plan's TC-DRLK-2.2 (LockDoor, wrong-code limit), 2.3 (UnlockDoor),
2.8 (users), 2.9 (credentials), 2.11 (credential types) and 2.5 / 2.7
(week-day and year-day schedules), and SPEC §10 (R-MTR-1..6); each names its
rules in its docstring.
"""

from __future__ import annotations

import time

import pytest

import chip.clusters as Clusters
from chip.clusters.Types import NullValue
from chip.interaction_model import InteractionModelError, Status

from conftest import ADMIN_PASSCODE

DL = Clusters.DoorLock
EP = 1  # the Door Lock endpoint
E = DL.Enums

WRONG_PIN = "135799"  # the scenarios' wrong passcode
NEW_PIN = "890123"  # not weak (no wrap-around, R-PIN-2), contains no stored code
TIMED_MS = 1000


# ---------------------------------------------------------------------------
# Helpers over the controller and the lock.


def rejected(call) -> object:
    """Run call(); return its failure (an IM error or a non-success DlStatus).

    Fails the test when the call succeeded.
    """
    try:
        res = call()
    except InteractionModelError as e:
        return e
    status = getattr(res, "status", None)
    assert status is not None and status != E.DlStatus.kSuccess, f"accepted: {res!r}"
    return status


def set_user(ctrl, node, index, op=E.DataOperationTypeEnum.kAdd, name=None,
             user_type=E.UserTypeEnum.kUnrestrictedUser):
    return ctrl.command(node, EP, DL.Commands.SetUser(
        operationType=op, userIndex=index, userName=NullValue if name is None else name,
        userUniqueID=NullValue,
        userStatus=E.UserStatusEnum.kOccupiedEnabled, userType=user_type,
        credentialRule=E.CredentialRuleEnum.kSingle), timed_ms=TIMED_MS)


def get_user(ctrl, node, index):
    return ctrl.command(node, EP, DL.Commands.GetUser(userIndex=index), timed_ms=None)


def creds(user_response) -> list:
    """A GetUserResponse's credentials: the field is nullable, and null
    (a truthy NullValue in the CHIP wheel) when the user holds none."""
    found = user_response.credentials
    return [] if found in (None, NullValue) else list(found)


def pin_credential(index):
    return DL.Structs.CredentialStruct(credentialType=E.CredentialTypeEnum.kPin, credentialIndex=index)


def credential_status(ctrl, node, index, kind=E.CredentialTypeEnum.kPin):
    cred = DL.Structs.CredentialStruct(credentialType=kind, credentialIndex=index)
    return ctrl.command(node, EP, DL.Commands.GetCredentialStatus(credential=cred), timed_ms=None)


def free_pin_index(ctrl, node) -> int:
    """The first PIN credential index not in use (the lock's own numbering).

    Found by asking each index: GetCredentialStatusResponse's
    NextCredentialIndex names the next *occupied* slot of the type (Matter
    Door Lock cluster, as the CHIP reference server fills it), never a free one.
    """
    for index in range(1, 51):
        if not credential_status(ctrl, node, index).credentialExists:
            return index
    raise AssertionError("no free PIN slot")


def set_pin(ctrl, node, user_index, pin: str, index=None):
    index = index or free_pin_index(ctrl, node)
    return ctrl.command(node, EP, DL.Commands.SetCredential(
        operationType=E.DataOperationTypeEnum.kAdd, credential=pin_credential(index),
        credentialData=pin.encode(), userIndex=user_index,
        userStatus=NullValue, userType=NullValue), timed_ms=TIMED_MS)


def unlock(ctrl, node, pin: str | None, timed_ms=TIMED_MS):
    payload = DL.Commands.UnlockDoor(PINCode=pin.encode() if pin is not None else None)
    return ctrl.command(node, EP, payload, timed_ms=timed_ms)


def lock_door(ctrl, node, timed_ms=TIMED_MS):
    return ctrl.command(node, EP, DL.Commands.LockDoor(), timed_ms=timed_ms)


def attr(ctrl, node, a):
    return ctrl.read(node, EP, a)


def remote_unlock(lock, on: bool) -> None:
    """R-APP-2 as the owner does it (scenario 36): the phone pairs once in
    pairing mode (SET held, ✓ at the keypad; pairing mode ends with it),
    then switches the setting. Run after the commissioning: pairing mode
    also opens a commissioning window, and the phone's pairing closes it."""
    if not getattr(lock, "phone_paired", False):
        lock.step("set-hold", "app pair", "keys ok", "expect reply paired")
        lock.phone_paired = True
    lock.step(f"app setting remote-unlock {'on' if on else 'off'}", "expect reply done")


def users(lock) -> int:
    """How many people the lock stores (asked with `expect users N`)."""
    for n in range(0, 12):
        if lock.send(f"expect users {n}") == "ok":
            return n
    raise AssertionError(f"expect users answered fail for 0..11\n{lock.tail()}")


def keypad_unlocks(lock, pin: str) -> bool:
    """Type a passcode at the keypad; True when the bolt went back."""
    lock.step("touch", f"keys {pin} ok", "wait 2s")
    return lock.send("expect bolt unlocked") == "ok"


def add_person_at_keypad(lock, pin: str) -> None:
    """Administrator menu, `2` add a user, `4` a passcode, twice (scenario 05)."""
    lock.step("set", f"keys {ADMIN_PASSCODE} ok", "expect prompt menu", "keys 2", "wait 3s",
              f"keys 4 {pin} ok {pin} ok", "expect event user-added", "keys back back")


def matter_logs(lock, since: int):
    return [line for line in lock.logs_since(since) if "matter" in line]


def assert_unreachable(ctrl, node) -> None:
    """The node cannot be reached any more (its fabric is gone).

    With fresh sessions the controller must find the node's operational
    record over mDNS first; a node that left the fabric no longer answers,
    and the stack itself gives up only after 45 s, so 15 s bound it here
    (operational discovery takes ~0.1 s in this namespace when it works).
    """
    ctrl.forget(node)
    with pytest.raises(Exception):
        ctrl.run(ctrl.dev.ReadAttribute(node, [(0, Clusters.BasicInformation.Attributes.VendorID)]), 15)


# ---------------------------------------------------------------------------
# Commissioning (R-MTR-1).


def test_r_mtr_1_commissioning_refused_outside_pairing_mode(lock, controller):
    """R-MTR-1, R-MNU-7: not commissionable until SET is held; closed again after."""
    lock.first_start()
    assert controller.discover(seconds=3) == [], "commissionable outside pairing mode"

    codes = lock.open_pairing()
    assert controller.discover(codes.discriminator), "not discoverable in pairing mode"

    # A power cut ends pairing mode; the codes no longer open a PASE session.
    since = len(lock.matter)
    lock.step("power-cycle")
    lock.wait_matter(r"^matter: commissioning closed$", since)
    assert controller.not_commissionable(codes.discriminator)
    # rs-matter drops a PASE request outside a window: the stack gives up in ~10 s.
    with pytest.raises(Exception):
        controller.pase("fd11:22::1", codes.passcode, timeout=30)


def test_r_mtr_1_commissioning_in_pairing_mode(lock, controller):
    """R-MTR-1: commissioned with the codes the lock shows in pairing mode."""
    lock.first_start()
    codes = lock.open_pairing()
    assert codes.qr.startswith("MT:"), codes
    assert len(codes.manual) in (11, 21) and codes.manual.isdigit(), codes
    node = controller.commission(codes)

    basic = Clusters.BasicInformation.Attributes
    assert controller.read(node, 0, basic.VendorID) == 0xFFF1
    types = controller.read(node, EP, Clusters.Descriptor.Attributes.DeviceTypeList)
    assert any(t.deviceType == 0x000A for t in types), types
    servers = controller.read(node, EP, Clusters.Descriptor.Attributes.ServerList)
    assert DL.id in servers and Clusters.Identify.id in servers, servers
    fabrics = controller.read(node, 0, Clusters.OperationalCredentials.Attributes.CommissionedFabrics)
    assert fabrics == 1


def test_r_mtr_1_an_administrators_window_outside_pairing_mode_closes(commissioned, controller):
    """R-MTR-1: a fabric's administrator may open a window (Administrator
    Commissioning), but outside pairing mode the device closes it at once."""
    lock, node = commissioned
    AC = Clusters.AdministratorCommissioning
    closed = AC.Enums.CommissioningWindowStatusEnum.kWindowNotOpen
    assert controller.read(node, 0, AC.Attributes.WindowStatus) == closed
    # Pairing mode ended with the commissioning (R-MNU-7): the window the
    # administrator opens is closed at the device's next look (50 ms).
    controller.command(node, 0, AC.Commands.OpenBasicCommissioningWindow(commissioningTimeout=180),
                       timed_ms=TIMED_MS)
    deadline = time.monotonic() + 5
    while controller.read(node, 0, AC.Attributes.WindowStatus) != closed:
        assert time.monotonic() < deadline, "the administrator's window stayed open"
        time.sleep(0.2)
    assert controller.not_commissionable()


# ---------------------------------------------------------------------------
# Attributes.


def test_r_mtr_4_sound_volume_and_auto_relock_time_are_the_locks_settings(commissioned, controller):
    """R-MTR-4: SoundVolume and AutoRelockTime written by a fabric are the
    lock's volume and countdown lock; values the lock has not are refused
    and change nothing."""
    lock, node = commissioned
    a = DL.Attributes
    assert controller.write(node, EP, a.SoundVolume, 1) == Status.Success
    assert attr(controller, node, a.SoundVolume) == 1
    # 0 (silent) and values past the cluster's are not the lock's.
    for value in (0, 4):
        assert controller.write(node, EP, a.SoundVolume, value) == Status.ConstraintError
    assert attr(controller, node, a.SoundVolume) == 1

    assert controller.write(node, EP, a.AutoRelockTime, 30) == Status.Success
    assert attr(controller, node, a.AutoRelockTime) == 30
    # The lock's countdown is 5 s to 1 h.
    for value in (2, 3601, 70000):
        assert controller.write(node, EP, a.AutoRelockTime, value) == Status.ConstraintError
    assert attr(controller, node, a.AutoRelockTime) == 30
    assert controller.write(node, EP, a.AutoRelockTime, 0) == Status.Success
    assert attr(controller, node, a.AutoRelockTime) == 0
    # Logged as any change of a setting, with the fabric that made it.
    changes = [line for line in lock.logs if "Volume(" in line or "AutoLock" in line]
    assert len(changes) == 4, lock.logs
    assert all("matter fabric" in line for line in changes), changes


def test_r_mtr_3_r_mtr_4_door_lock_attributes(commissioned, controller):
    """R-MTR-2..4, R-MTR-6, R-USR-3, R-PIN-1: the cluster's shape and the lock's numbers."""
    lock, node = commissioned
    a = DL.Attributes

    features = attr(controller, node, a.FeatureMap)
    F = DL.Bitmaps.Feature
    for bit in (F.kPinCredential, F.kUser, F.kDoorPositionSensor,
                F.kFingerCredentials, F.kFaceCredentials,
                F.kWeekDayAccessSchedules, F.kYearDayAccessSchedules):  # R-MTR-6
        assert features & bit, f"FeatureMap {features:#x} lacks {bit!r}"

    attributes = set(attr(controller, node, a.AttributeList))
    for required in (a.LockState, a.LockType, a.ActuatorEnabled, a.DoorState,
                     a.NumberOfTotalUsersSupported, a.NumberOfPINUsersSupported,
                     a.MaxPINCodeLength, a.MinPINCodeLength, a.CredentialRulesSupport,
                     a.NumberOfCredentialsSupportedPerUser, a.OperatingMode,
                     a.SupportedOperatingModes, a.WrongCodeEntryLimit,
                     a.UserCodeTemporaryDisableTime,
                     a.NumberOfWeekDaySchedulesSupportedPerUser,
                     a.NumberOfYearDaySchedulesSupportedPerUser):
        assert required.attribute_id in attributes, f"AttributeList lacks {required.__name__}"

    c = DL.Commands
    accepted = set(attr(controller, node, a.AcceptedCommandList))
    for cmd in (c.LockDoor, c.UnlockDoor, c.SetUser, c.GetUser, c.ClearUser,
                c.SetCredential, c.GetCredentialStatus, c.ClearCredential,
                c.SetWeekDaySchedule, c.GetWeekDaySchedule, c.ClearWeekDaySchedule,
                c.SetYearDaySchedule, c.GetYearDaySchedule, c.ClearYearDaySchedule):
        assert cmd.command_id in accepted, f"AcceptedCommandList lacks {cmd.__name__}"
    generated = set(attr(controller, node, a.GeneratedCommandList))
    for cmd in (c.GetUserResponse, c.SetCredentialResponse, c.GetCredentialStatusResponse,
                c.GetWeekDayScheduleResponse, c.GetYearDayScheduleResponse):
        assert cmd.command_id in generated, f"GeneratedCommandList lacks {cmd.__name__}"

    assert attr(controller, node, a.LockType) in set(E.DlLockType) - {E.DlLockType.kUnknownEnumValue}
    assert attr(controller, node, a.LockState) == E.DlLockState.kLocked
    assert attr(controller, node, a.ActuatorEnabled) is True
    assert attr(controller, node, a.WrongCodeEntryLimit) == 5  # R-LKO-1
    assert attr(controller, node, a.UserCodeTemporaryDisableTime) == 180  # R-LKO-1
    assert attr(controller, node, a.NumberOfTotalUsersSupported) >= 100  # R-USR-2
    assert attr(controller, node, a.NumberOfPINUsersSupported) == 50  # R-USR-3
    assert attr(controller, node, a.NumberOfCredentialsSupportedPerUser) >= 1
    assert attr(controller, node, a.MinPINCodeLength) == 6  # R-PIN-1
    assert attr(controller, node, a.MaxPINCodeLength) == 10  # R-PIN-1
    # R-MTR-6: one weekly window and one validity period per person.
    assert attr(controller, node, a.NumberOfWeekDaySchedulesSupportedPerUser) == 1
    assert attr(controller, node, a.NumberOfYearDaySchedulesSupportedPerUser) == 1

    # R-MTR-4: DoorState follows the door sensor.
    assert attr(controller, node, a.DoorState) == E.DoorStateEnum.kDoorClosed
    lock.step("door open")
    assert attr(controller, node, a.DoorState) == E.DoorStateEnum.kDoorOpen
    lock.step("door close")
    assert attr(controller, node, a.DoorState) == E.DoorStateEnum.kDoorClosed


# ---------------------------------------------------------------------------
# Users and credentials (TC-DRLK-2.8, 2.9, 2.11; R-MTR-2).


def test_tc_drlk_2_8_set_user_then_get_user(commissioned, controller):
    """TC-DRLK-2.8, R-MTR-2: SetUser at a free index reads back with GetUser."""
    lock, node = commissioned
    set_user(controller, node, 2, name="bob")
    got = get_user(controller, node, 2)
    assert got.userIndex == 2
    assert got.userStatus == E.UserStatusEnum.kOccupiedEnabled
    assert got.userType == E.UserTypeEnum.kUnrestrictedUser
    assert got.creatorFabricIndex not in (None, NullValue)

    free = get_user(controller, node, 5)
    assert free.userStatus in (None, NullValue), free
    # NextUserIndex: the next occupied index, or null after the last.
    assert get_user(controller, node, 1).nextUserIndex == 2
    assert free.nextUserIndex in (None, NullValue), free
    # TC-DRLK-2.8: index 0 is out of range.
    with pytest.raises(InteractionModelError) as e:
        get_user(controller, node, 0)
    assert e.value.status in (Status.InvalidCommand, Status.ConstraintError)


def test_tc_drlk_2_8_set_user_on_occupied_index(commissioned, controller):
    """TC-DRLK-2.8, R-MTR-2: adding at person 001's index answers Occupied."""
    lock, node = commissioned
    with pytest.raises(InteractionModelError) as e:
        set_user(controller, node, 1, name="intruder")
    assert e.value.clusterStatus == E.DlStatus.kOccupied, str(e.value)
    assert users(lock) == 1


def test_tc_drlk_2_9_set_pin_opens_at_the_keypad(commissioned, controller):
    """TC-DRLK-2.9, R-MTR-2, R-UNL-2: a PIN set over Matter opens at the keypad."""
    lock, node = commissioned
    set_user(controller, node, 2)
    logs = len(lock.logs)
    res = set_pin(controller, node, 2, NEW_PIN)
    assert res.status == E.DlStatus.kSuccess, res
    assert users(lock) == 2
    assert matter_logs(lock, logs), f"no log entry naming matter: {lock.logs_since(logs)}"

    got = get_user(controller, node, 2)
    kinds = [c.credentialType for c in creds(got)]
    assert E.CredentialTypeEnum.kPin in kinds, got

    assert keypad_unlocks(lock, NEW_PIN)
    lock.step("expect event unlock")


WEAK_OR_BAD_PINS = ["123456", "111111", "654321", "3456789", "12345", "12345678901"]


def test_r_pin_1_r_pin_2_weak_or_bad_length_pins_refused(commissioned, controller):
    """R-MTR-2, R-PIN-1, R-PIN-2: each refused with a failure status, nothing stored."""
    lock, node = commissioned
    set_user(controller, node, 2)
    before = users(lock)
    index = free_pin_index(controller, node)
    for pin in WEAK_OR_BAD_PINS:
        rejected(lambda: set_pin(controller, node, 2, pin, index))
        assert not credential_status(controller, node, index).credentialExists, pin
    assert users(lock) == before
    got = get_user(controller, node, 2)
    assert not [c for c in creds(got) if c.credentialType == E.CredentialTypeEnum.kPin]
    # Nothing opens at the keypad either (one failed verification, far from a lockout).
    assert not keypad_unlocks(lock, "123456")


def test_r_pin_5_containment_refused(commissioned, controller):
    """R-MTR-2, R-PIN-5 (scenario 06): a PIN containing, or inside, a stored one."""
    lock, node = commissioned
    set_user(controller, node, 2)
    rejected(lambda: set_pin(controller, node, 2, "1" + ADMIN_PASSCODE))  # contains 482915
    rejected(lambda: set_pin(controller, node, 2, ADMIN_PASSCODE))  # the same code
    res = set_pin(controller, node, 2, "829150")
    assert res.status == E.DlStatus.kSuccess, res
    set_user(controller, node, 3)
    rejected(lambda: set_pin(controller, node, 3, "48291507"))  # contains 829150
    got = get_user(controller, node, 3)
    assert not creds(got), got


def test_tc_drlk_2_9_get_credential_status(commissioned, controller):
    """TC-DRLK-2.9, R-MTR-2: person 001's passcode reads back as a PIN of user 1."""
    lock, node = commissioned
    admin = get_user(controller, node, 1)
    assert admin.userStatus == E.UserStatusEnum.kOccupiedEnabled
    pins = [c for c in creds(admin) if c.credentialType == E.CredentialTypeEnum.kPin]
    assert len(pins) == 1, admin

    st = credential_status(controller, node, pins[0].credentialIndex)
    assert st.credentialExists is True
    assert st.userIndex == 1
    # The secret itself never reads back.
    assert st.credentialData in (None, NullValue)

    # NextCredentialIndex names the next occupied PIN slot, null after the last.
    assert st.nextCredentialIndex in (None, NullValue), st
    res = set_pin(controller, node, NullValue, NEW_PIN)
    assert res.status == E.DlStatus.kSuccess, res
    st = credential_status(controller, node, pins[0].credentialIndex)
    assert st.nextCredentialIndex == res.userIndex, (st, res)
    assert credential_status(controller, node, st.nextCredentialIndex).credentialExists


def test_tc_drlk_2_11_fingerprint_and_pin_on_one_person(commissioned, controller):
    """TC-DRLK-2.11, R-MTR-2, R-USR-5: a keypad-enrolled fingerprint and a Matter
    PIN on one person; clearing the fingerprint over Matter leaves the PIN."""
    lock, node = commissioned
    lock.step("set", f"keys {ADMIN_PASSCODE} ok", "expect prompt menu", "keys 2 3",
              "finger alice", "expect event user-added", "keys back back")
    assert users(lock) == 2
    assert set_pin(controller, node, 2, NEW_PIN).status == E.DlStatus.kSuccess

    got = get_user(controller, node, 2)
    held = {c.credentialType: c.credentialIndex for c in creds(got)}
    assert set(held) == {E.CredentialTypeEnum.kFingerprint, E.CredentialTypeEnum.kPin}, got
    finger = credential_status(controller, node, held[E.CredentialTypeEnum.kFingerprint],
                               E.CredentialTypeEnum.kFingerprint)
    assert finger.credentialExists and finger.userIndex == 2, finger

    cred = DL.Structs.CredentialStruct(credentialType=E.CredentialTypeEnum.kFingerprint,
                                       credentialIndex=held[E.CredentialTypeEnum.kFingerprint])
    controller.command(node, EP, DL.Commands.ClearCredential(credential=cred), timed_ms=TIMED_MS)
    lock.step("finger alice", "expect event unlock-failed", "wait 2s", "expect bolt locked")
    assert users(lock) == 2
    assert keypad_unlocks(lock, NEW_PIN)


# ---------------------------------------------------------------------------
# Unlocking and locking (TC-DRLK-2.2, 2.3; R-MTR-3).


def test_tc_drlk_2_3_unlock_with_pin_when_remote_unlock_on(commissioned, controller):
    """TC-DRLK-2.3, R-MTR-3, R-APP-2: UnlockDoor with a person's PIN opens."""
    lock, node = commissioned
    remote_unlock(lock, True)
    unlock(controller, node, ADMIN_PASSCODE)
    lock.step("wait 2s", "expect bolt unlocked")
    assert attr(controller, node, DL.Attributes.LockState) == E.DlLockState.kUnlocked

    ops = controller.events(node, EP, DL.Events.LockOperation)
    last = ops[-1].Data
    assert last.lockOperationType == E.LockOperationTypeEnum.kUnlock
    assert last.operationSource == E.OperationSourceEnum.kRemote
    assert last.userIndex == 1

    lock_door(controller, node)
    lock.step("wait 2s", "expect bolt locked")
    assert attr(controller, node, DL.Attributes.LockState) == E.DlLockState.kLocked


def test_r_app_2_unlock_refused_when_remote_unlock_off(commissioned, controller):
    """R-MTR-3, R-APP-2: UnlockDoor is refused unless remote unlock is on."""
    lock, node = commissioned
    with pytest.raises(InteractionModelError):
        unlock(controller, node, ADMIN_PASSCODE)
    remote_unlock(lock, True)
    remote_unlock(lock, False)
    with pytest.raises(InteractionModelError):
        unlock(controller, node, ADMIN_PASSCODE)
    lock.step("wait 2s", "expect bolt locked")


def test_tc_drlk_2_2_lock_door_needs_a_timed_request(commissioned, controller):
    """TC-DRLK-2.2, R-MTR-3: LockDoor/UnlockDoor without a timed request."""
    lock, node = commissioned
    remote_unlock(lock, True)
    with pytest.raises(InteractionModelError) as e:
        lock_door(controller, node, timed_ms=None)
    assert e.value.status == Status.NeedsTimedInteraction
    with pytest.raises(InteractionModelError) as e:
        unlock(controller, node, ADMIN_PASSCODE, timed_ms=None)
    assert e.value.status == Status.NeedsTimedInteraction
    lock.step("wait 2s", "expect bolt locked")


def test_tc_drlk_2_2_wrong_pin_limit_locks_out(commissioned, controller):
    """TC-DRLK-2.2, R-MTR-3, R-LKO-1, R-ALM-2: five wrong PINs lock the system."""
    lock, node = commissioned
    remote_unlock(lock, True)
    for _ in range(5):
        with pytest.raises(InteractionModelError) as e:
            unlock(controller, node, WRONG_PIN)
        assert e.value.status == Status.Failure
    assert attr(controller, node, DL.Attributes.ActuatorEnabled) is False
    lock.step("expect alarm system-locked")

    # Every verification is refused meanwhile: the right PIN, over Matter and at the keypad.
    with pytest.raises(InteractionModelError):
        unlock(controller, node, ADMIN_PASSCODE)
    assert not keypad_unlocks(lock, ADMIN_PASSCODE)

    errors = controller.events(node, EP, DL.Events.LockOperationError)
    assert errors, "no LockOperationError event"
    assert errors[0].Data.operationSource == E.OperationSourceEnum.kRemote
    assert errors[0].Data.operationError == E.OperationErrorEnum.kInvalidCredential
    alarms = [e.Data.alarmCode for e in controller.events(node, EP, DL.Events.DoorLockAlarm)]
    assert E.AlarmCodeEnum.kWrongCodeEntryLimit in alarms, alarms


def test_r_lko_1_one_count_across_keypad_and_matter(commissioned, controller):
    """R-LKO-1, R-MTR-3: three keypad failures and two Matter failures make five."""
    lock, node = commissioned
    remote_unlock(lock, True)
    lock.step("touch")
    for _ in range(3):
        lock.step(f"keys {WRONG_PIN} ok")
    lock.step("expect no-alarm")
    assert attr(controller, node, DL.Attributes.ActuatorEnabled) is True
    for _ in range(2):
        with pytest.raises(InteractionModelError):
            unlock(controller, node, WRONG_PIN)
    lock.step("expect alarm system-locked")
    assert attr(controller, node, DL.Attributes.ActuatorEnabled) is False
    assert not keypad_unlocks(lock, ADMIN_PASSCODE)


# ---------------------------------------------------------------------------
# People added at the lock, deleted over Matter (R-MTR-2, R-USR-4, R-USR-5).


def test_r_mtr_2_person_added_at_the_keypad_reads_back(commissioned, controller):
    """R-MTR-2, R-MNU-4: a person added at the keypad is Matter user 2 with a PIN."""
    lock, node = commissioned
    add_person_at_keypad(lock, NEW_PIN)
    assert users(lock) == 2
    got = get_user(controller, node, 2)
    assert got.userStatus == E.UserStatusEnum.kOccupiedEnabled, got
    kinds = [c.credentialType for c in creds(got)]
    assert kinds == [E.CredentialTypeEnum.kPin], got

    changes = [e.Data for e in controller.events(node, EP, DL.Events.LockUserChange)]
    assert any(c.userIndex == 2 and c.dataOperationType == E.DataOperationTypeEnum.kAdd
               for c in changes), changes


def test_r_usr_5_person_cleared_over_matter_opens_nothing(commissioned, controller):
    """R-MTR-2, R-USR-4, R-USR-5: ClearUser deletes the person and their passcode."""
    lock, node = commissioned
    add_person_at_keypad(lock, NEW_PIN)
    assert users(lock) == 2
    logs = len(lock.logs)
    controller.command(node, EP, DL.Commands.ClearUser(userIndex=2), timed_ms=TIMED_MS)
    assert users(lock) == 1
    assert matter_logs(lock, logs), f"no log entry naming matter: {lock.logs_since(logs)}"
    assert get_user(controller, node, 2).userStatus in (None, NullValue)

    assert not keypad_unlocks(lock, NEW_PIN)
    lock.step("expect event unlock-failed")

    # R-USR-4: the last administrator (and only person) stays.
    with pytest.raises(InteractionModelError):
        controller.command(node, EP, DL.Commands.ClearUser(userIndex=1), timed_ms=TIMED_MS)
    assert users(lock) == 1

    changes = [e.Data for e in controller.events(node, EP, DL.Events.LockUserChange)]
    assert any(c.userIndex == 2 and c.dataOperationType == E.DataOperationTypeEnum.kClear
               for c in changes), changes


# ---------------------------------------------------------------------------
# Week-day and year-day schedules (TC-DRLK-2.5, 2.7; R-MTR-6).

MATTER_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z in Unix seconds
NOW = 1_796_083_200  # 2026-12-01T00:00:00Z: the wall clock the phone sets
DAY = 86_400
Days = DL.Bitmaps.DaysMaskMap


def stored_user(ctrl, node, lock, index=2, pin=NEW_PIN) -> None:
    """A person the lock stores at `index`: SetUser, then a PIN."""
    set_user(ctrl, node, index)
    assert set_pin(ctrl, node, index, pin).status == E.DlStatus.kSuccess
    assert users(lock) == 2


def set_week_day(ctrl, node, user, index=1, days=Days.kMonday | Days.kWednesday | Days.kSunday,
                 start=(8, 30), end=(17, 45)):
    return ctrl.command(node, EP, DL.Commands.SetWeekDaySchedule(
        weekDayIndex=index, userIndex=user, daysMask=days, startHour=start[0],
        startMinute=start[1], endHour=end[0], endMinute=end[1]), timed_ms=None)


def get_week_day(ctrl, node, user, index=1):
    return ctrl.command(node, EP, DL.Commands.GetWeekDaySchedule(weekDayIndex=index, userIndex=user),
                        timed_ms=None)


def set_year_day(ctrl, node, user, start, end, index=1):
    """start, end: Unix seconds (sent as Matter's epoch seconds)."""
    return ctrl.command(node, EP, DL.Commands.SetYearDaySchedule(
        yearDayIndex=index, userIndex=user, localStartTime=start - MATTER_EPOCH,
        localEndTime=end - MATTER_EPOCH), timed_ms=None)


def get_year_day(ctrl, node, user, index=1):
    return ctrl.command(node, EP, DL.Commands.GetYearDaySchedule(yearDayIndex=index, userIndex=user),
                        timed_ms=None)


def set_clock(lock, unix_secs: int) -> None:
    """The phone sets the lock's wall clock (R-APP-1), pairing first if it must."""
    if not getattr(lock, "phone_paired", False):
        lock.step("set-hold", "app pair", "keys ok", "expect reply paired")
        lock.phone_paired = True
    lock.step(f"app clock {unix_secs}", "expect reply done")


def test_tc_drlk_2_5_week_day_schedule_round_trip(commissioned, controller):
    """TC-DRLK-2.5, R-MTR-6, R-APP-3: SetWeekDaySchedule reads back with
    GetWeekDaySchedule; index 2 and bad fields are refused; Clear then Get is NotFound."""
    lock, node = commissioned
    stored_user(controller, node, lock)
    days = Days.kMonday | Days.kWednesday | Days.kSunday
    set_week_day(controller, node, 2, days=days, start=(8, 30), end=(17, 45))
    got = get_week_day(controller, node, 2)
    assert got.status == E.DlStatus.kSuccess, got
    assert (got.weekDayIndex, got.userIndex) == (1, 2), got
    assert got.daysMask == days, got
    assert (got.startHour, got.startMinute, got.endHour, got.endMinute) == (8, 30, 17, 45), got
    assert get_user(controller, node, 2).userType == E.UserTypeEnum.kWeekDayScheduleUser

    # One schedule per user: index 2 (and 0) is out of range.
    for index in (0, 2):
        with pytest.raises(InteractionModelError) as e:
            set_week_day(controller, node, 2, index=index)
        assert e.value.status == Status.InvalidCommand, index
        assert get_week_day(controller, node, 2, index=index).status == E.DlStatus.kInvalidField
    # The end before the start, no day: refused, nothing changed.
    for bad in (dict(start=(18, 0), end=(8, 0)), dict(days=0)):
        with pytest.raises(InteractionModelError) as e:
            set_week_day(controller, node, 2, **bad)
        assert e.value.status == Status.InvalidCommand, bad
    assert get_week_day(controller, node, 2).startHour == 8
    # A user index with no one stored.
    with pytest.raises(InteractionModelError) as e:
        set_week_day(controller, node, 5)
    assert e.value.status == Status.Failure
    assert get_week_day(controller, node, 5).status == E.DlStatus.kNotFound

    controller.command(node, EP, DL.Commands.ClearWeekDaySchedule(weekDayIndex=1, userIndex=2),
                       timed_ms=None)
    assert get_week_day(controller, node, 2).status == E.DlStatus.kNotFound
    assert get_user(controller, node, 2).userType == E.UserTypeEnum.kUnrestrictedUser
    assert keypad_unlocks(lock, NEW_PIN)


def test_tc_drlk_2_7_year_day_schedule_round_trip(commissioned, controller):
    """TC-DRLK-2.7, R-MTR-6, R-USR-6: SetYearDaySchedule reads back with
    GetYearDaySchedule; index 2 and an end before the start are refused;
    Clear then Get is NotFound."""
    lock, node = commissioned
    stored_user(controller, node, lock)
    start, end = NOW - DAY, NOW + 7 * DAY
    set_year_day(controller, node, 2, start, end)
    got = get_year_day(controller, node, 2)
    assert got.status == E.DlStatus.kSuccess, got
    assert (got.yearDayIndex, got.userIndex) == (1, 2), got
    assert (got.localStartTime, got.localEndTime) == (start - MATTER_EPOCH, end - MATTER_EPOCH), got
    assert get_user(controller, node, 2).userType == E.UserTypeEnum.kYearDayScheduleUser

    with pytest.raises(InteractionModelError) as e:
        set_year_day(controller, node, 2, start, end, index=2)
    assert e.value.status == Status.InvalidCommand
    assert get_year_day(controller, node, 2, index=2).status == E.DlStatus.kInvalidField
    for bad_end in (start, start - 1):
        with pytest.raises(InteractionModelError) as e:
            set_year_day(controller, node, 2, start, bad_end)
        assert e.value.status == Status.InvalidCommand
    assert get_year_day(controller, node, 2).localEndTime == end - MATTER_EPOCH
    with pytest.raises(InteractionModelError) as e:
        set_year_day(controller, node, 5, start, end)
    assert e.value.status == Status.Failure

    controller.command(node, EP, DL.Commands.ClearYearDaySchedule(yearDayIndex=1, userIndex=2),
                       timed_ms=None)
    assert get_year_day(controller, node, 2).status == E.DlStatus.kNotFound
    assert get_user(controller, node, 2).userType == E.UserTypeEnum.kUnrestrictedUser


def test_r_mtr_6_year_day_schedule_limits_the_keypad(commissioned, controller):
    """R-MTR-6, R-USR-6, R-MTR-5: a PIN opens at the keypad inside its year-day
    schedule only; outside it, the refusal is a LockOperationError (Restricted)."""
    lock, node = commissioned
    stored_user(controller, node, lock)
    set_clock(lock, NOW)

    set_year_day(controller, node, 2, NOW + DAY, NOW + 2 * DAY)  # not yet
    assert not keypad_unlocks(lock, NEW_PIN)
    lock.step("expect event unlock-failed")
    errs = [e.Data for e in controller.events(node, EP, DL.Events.LockOperationError)]
    assert any(e.operationSource == E.OperationSourceEnum.kKeypad
               and e.operationError == E.OperationErrorEnum.kRestricted
               and e.userIndex == 2 for e in errs), errs

    set_year_day(controller, node, 2, NOW - 2 * DAY, NOW - DAY)  # over
    assert not keypad_unlocks(lock, NEW_PIN)

    set_year_day(controller, node, 2, NOW - DAY, NOW + DAY)  # now
    assert keypad_unlocks(lock, NEW_PIN)
    lock.step("expect event unlock")


# ---------------------------------------------------------------------------
# Events (R-MTR-5).


def test_r_mtr_5_lock_operation_from_the_keypad(commissioned, controller):
    """R-MTR-5, R-UNL-2: a keypad unlock is a LockOperation with its person."""
    lock, node = commissioned
    assert keypad_unlocks(lock, ADMIN_PASSCODE)
    ops = [e.Data for e in controller.events(node, EP, DL.Events.LockOperation)]
    assert any(o.lockOperationType == E.LockOperationTypeEnum.kUnlock
               and o.operationSource == E.OperationSourceEnum.kKeypad
               and o.userIndex == 1 for o in ops), ops


def test_r_mtr_5_lock_operation_error_for_a_wrong_pin(commissioned, controller):
    """R-MTR-5: a wrong passcode at the keypad is a LockOperationError."""
    lock, node = commissioned
    assert not keypad_unlocks(lock, WRONG_PIN)
    errs = [e.Data for e in controller.events(node, EP, DL.Events.LockOperationError)]
    assert any(e.operationSource == E.OperationSourceEnum.kKeypad
               and e.operationError == E.OperationErrorEnum.kInvalidCredential for e in errs), errs


def test_r_mtr_5_tamper_alarm(commissioned, controller):
    """R-MTR-5, R-ALM-1: tamper is DoorLockAlarm FrontEsceutcheonRemoved."""
    lock, node = commissioned
    lock.step("tamper", "expect alarm tamper")
    alarms = [e.Data.alarmCode for e in controller.events(node, EP, DL.Events.DoorLockAlarm)]
    assert E.AlarmCodeEnum.kFrontEsceutcheonRemoved in alarms, alarms


def test_r_mtr_5_lock_user_change_for_set_and_clear(commissioned, controller):
    """R-MTR-5: SetUser + SetCredential and ClearUser are LockUserChange events."""
    lock, node = commissioned
    set_user(controller, node, 2)
    assert set_pin(controller, node, 2, NEW_PIN).status == E.DlStatus.kSuccess
    controller.command(node, EP, DL.Commands.ClearUser(userIndex=2), timed_ms=TIMED_MS)
    changes = [e.Data for e in controller.events(node, EP, DL.Events.LockUserChange)]
    mine = [c for c in changes if c.userIndex == 2]
    ops = {c.dataOperationType for c in mine}
    assert E.DataOperationTypeEnum.kAdd in ops and E.DataOperationTypeEnum.kClear in ops, changes
    assert any(c.operationSource == E.OperationSourceEnum.kRemote for c in mine), changes


# ---------------------------------------------------------------------------
# Factory reset (R-MTR-1, R-MNU-9).


def test_r_mtr_1_factory_reset_removes_the_fabric(commissioned, controller):
    """R-MTR-1, R-MNU-9 (scenario 21): after a reset the node is gone; the lock
    is commissionable again only in pairing mode."""
    lock, node = commissioned
    assert controller.read(node, 0, Clusters.BasicInformation.Attributes.VendorID) == 0xFFF1
    lock.step("power-cycle holding-set", "expect prompt factory-reset-confirm", "keys ok",
              "expect event factory-reset", "expect users 0")
    assert_unreachable(controller, node)

    # Back at first start: not commissionable until pairing mode.
    assert controller.not_commissionable()
    lock.step("wait 3s")
    lock.first_start()
    assert controller.discover(seconds=3) == []
    codes = lock.open_pairing()
    again = controller.commission(codes)
    assert controller.read(again, 0, Clusters.OperationalCredentials.Attributes.CommissionedFabrics) == 1
