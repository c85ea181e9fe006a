"""The README's walk-through: the simulated lock commissioned by the CHIP
controller, then driven over Matter, each step printed.

Run it through `bash scripts/matter-test.sh --demo`, which makes the private
IPv6 network namespace and sets MATTER_TEST_IFACE and MATTER_TEST_SIM (as for
the tests). What it does is what a person does by hand with the controller:
start the lock, open pairing mode at it (SET held), commission it with the
discriminator and passcode it shows, then read and command the Door Lock.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chip.clusters as Clusters  # noqa: E402
from chip.clusters.Types import NullValue  # noqa: E402

from conftest import Controller, Lock  # noqa: E402

DoorLock = Clusters.DoorLock


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="lock-demo-", dir=os.environ.get("MATTER_DEMO_DIR")))
    sim, iface = os.environ["MATTER_TEST_SIM"], os.environ["MATTER_TEST_IFACE"]
    argv = [sim, "matter", "--iface", iface, "--fresh", "--flash", str(work / "flash.bin")]
    print(f"$ {' '.join(argv)}")
    lock = Lock(argv, work / "lock")
    controller = Controller(work / "chip-repl.json")
    try:
        lock.wait_ready()
        print("lock: first start (door opens right, administrator 001, passcode 482915)")
        lock.first_start()
        print("lock: SET held: pairing mode")
        codes = lock.open_pairing()
        print(f"lock: {lock.matter[-1]}")
        node = controller.commission(codes)
        print(f"controller: commissioned node {node:#x} (discriminator {codes.discriminator})")
        state = controller.read(node, 1, DoorLock.Attributes.LockState)
        print(f"controller: LockState = {state!r}")
        controller.command(node, 1, DoorLock.Commands.SetCredential(
            operationType=DoorLock.Enums.DataOperationTypeEnum.kAdd,
            credential=DoorLock.Structs.CredentialStruct(
                credentialType=DoorLock.Enums.CredentialTypeEnum.kPin, credentialIndex=2),
            credentialData=b"730418",
            userIndex=NullValue, userStatus=NullValue, userType=NullValue))
        print("controller: SetCredential PIN 730418 for a new user")
        lock.step("wait 1s", "expect users 2", "touch", "keys 730418 ok", "wait 2s", "expect bolt unlocked")
        print("lock: 730418 typed at the keypad opens the door")
        for line in lock.logs:
            print(f"lock: {line}")
        return 0
    finally:
        controller.shutdown()
        lock.stop()


if __name__ == "__main__":
    sys.exit(main())
