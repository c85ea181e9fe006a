"""Fixtures for the Matter controller tests (SPEC §10).

Run through scripts/matter-test.sh, which makes the network namespace these
tests expect and sets:

- MATTER_TEST_IFACE: the interface the device binds its mDNS to (a veth end
  with the ULA fd11:22::1 and a link-local address);
- MATTER_TEST_SIM: the lock-sim binary built with `--features matter`;
- MATTER_TEST_DEVICE_CMD (smoke test only): any Matter device command line.

The simulator's contract (one line per step on stdin, one `ok` or
`fail: MESSAGE` per step on stdout, `log: …` and `matter: …` lines beside) is
in tests/matter/README.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import queue
import re
import shlex
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
PAA_DIR = HERE / "paa"

# The lock's first start as the scenarios do it (scenarios/01-first-start.lock):
# right-opening door, administrator 001 with passcode 482915, menu left.
ADMIN_PASSCODE = "482915"
FIRST_START = [
    "keys ok 1",
    "keys ok",
    f"keys {ADMIN_PASSCODE} ok {ADMIN_PASSCODE} ok",
    "keys back",
]

STEP_TIMEOUT = 20.0  # s; a step that takes simulated time (`wait 2s`) runs in real time
READY_TIMEOUT = 30.0  # s from spawn to `matter: ready`
CALL_TIMEOUT = 30.0  # s for one controller call

log = logging.getLogger("matter-test")

COMMISSIONING_OPEN = re.compile(
    r"^matter: commissioning open discriminator=(?P<discriminator>\d+) "
    r"passcode=(?P<passcode>\d+) qr=(?P<qr>\S+) manual=(?P<manual>\S+)$"
)


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run through scripts/matter-test.sh")
    return value


# ---------------------------------------------------------------------------
# A device process: lines in, classified lines out.


class StepFailed(AssertionError):
    """A step the simulator answered with `fail: …`."""


@dataclasses.dataclass
class Codes:
    """Onboarding codes from a `matter: commissioning open` line."""

    discriminator: int
    passcode: int
    qr: str
    manual: str


class Device:
    """A device on stdin/stdout, with a transcript of everything it printed.

    stdout lines are sorted as they arrive: `ok` / `fail: …` answer the
    oldest unanswered step, `log: …` go to `logs`, `matter: …` to `matter`,
    anything else only to the transcript. stderr goes to a file.
    """

    def __init__(self, argv: List[str], workdir: Path, env: Optional[dict] = None):
        self.argv = argv
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.transcript_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.logs: List[str] = []
        self.matter: List[str] = []
        self.replies: "queue.Queue[str]" = queue.Queue()
        self._cond = threading.Condition()
        self._closed = False
        self._transcript = open(self.transcript_path, "w", buffering=1)
        self._stderr = open(self.stderr_path, "w")
        log.info("spawn %s", shlex.join(argv))
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            env={**os.environ, **(env or {})},
            cwd=workdir,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            self._transcript.write(f"< {line}\n")
            with self._cond:
                if line == "ok" or line.startswith("fail:"):
                    self.replies.put(line)
                elif line.startswith("log: "):
                    self.logs.append(line[len("log: "):])
                elif line.startswith("matter: "):
                    self.matter.append(line)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- waiting for lines ------------------------------------------------

    def wait_for(self, predicate: Callable[[], Optional[object]], timeout: float, what: str):
        """Wait until predicate() returns something truthy; return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = predicate()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise AssertionError(
                        f"no {what} within {timeout:.0f} s"
                        f"{' (device exited)' if self._closed else ''}\n{self.tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def wait_matter(self, pattern: str, since: int = 0, timeout: float = STEP_TIMEOUT) -> re.Match:
        """The first `matter: …` line at index >= since matching pattern."""
        rx = re.compile(pattern)

        def found():
            for line in self.matter[since:]:
                m = rx.search(line)
                if m:
                    return m
            return None

        return self.wait_for(found, timeout, f"line matching {pattern!r}")

    def wait_ready(self) -> None:
        self.wait_matter(r"^matter: ready$", timeout=READY_TIMEOUT)

    def codes(self, since: int = 0, timeout: float = STEP_TIMEOUT) -> Codes:
        """Onboarding codes of the next commissioning window opened."""
        m = self.wait_matter(COMMISSIONING_OPEN.pattern, since, timeout)
        return Codes(int(m["discriminator"]), int(m["passcode"]), m["qr"], m["manual"])

    def tail(self, n: int = 40) -> str:
        try:
            out = self.transcript_path.read_text().splitlines()[-n:]
            err = self.stderr_path.read_text().splitlines()[-n:]
        except OSError:
            return ""
        return (
            f"--- last stdout lines ({self.transcript_path}):\n" + "\n".join(out)
            + f"\n--- last stderr lines ({self.stderr_path}):\n" + "\n".join(err)
        )

    # -- steps ----------------------------------------------------------------

    def send(self, line: str, timeout: float = STEP_TIMEOUT) -> str:
        """Send one step; return the simulator's answer (`ok` or `fail: …`)."""
        assert self.proc.stdin is not None
        self._transcript.write(f"> {line}\n")
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError as e:
            raise AssertionError(f"device exited before step {line!r}\n{self.tail()}") from e
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer to {line!r} within {timeout:.0f} s\n{self.tail()}")

    def step(self, *lines: str, timeout: float = STEP_TIMEOUT) -> None:
        """Send steps, each of which must answer `ok`."""
        for line in lines:
            reply = self.send(line, timeout)
            if reply != "ok":
                raise StepFailed(f"step {line!r}: {reply}\n{self.tail()}")

    # -- stopping ---------------------------------------------------------------

    def stop(self) -> None:
        """Close stdin (end of script), then terminate, then kill."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._reader.join(timeout=5)
        self._transcript.close()
        self._stderr.close()


class Lock(Device):
    """`lock-sim matter`: the simulated lock with its Matter Door Lock."""

    def first_start(self) -> None:
        self.step(*FIRST_START)
        self.step("expect users 1")

    def open_pairing(self) -> Codes:
        """Long press of SET (R-MNU-7): pairing mode, commissioning open."""
        since = len(self.matter)
        self.step("set-hold")
        return self.codes(since)

    def logs_since(self, n: int) -> List[str]:
        return self.logs[n:]


# ---------------------------------------------------------------------------
# The controller: one per session (the wheel keeps process-wide state).


class Controller:
    """The CHIP Python controller with its own asyncio loop.

    Every call runs to completion on one event loop (the wheel completes its
    futures with call_soon_threadsafe on the loop that awaited them).
    """

    _node_ids = itertools.count(0x1000)

    def __init__(self, storage: Path):
        import chip.logging
        import chip.native
        from chip.ChipStack import ChipStack
        from chip.CertificateAuthority import CertificateAuthorityManager

        chip.native.Init()
        # The stack's own log lines go through Python logging, so pytest shows
        # them only for a failing test; DETAIL is too much even there.
        chip.logging.RedirectToPythonLogging()
        chip.logging.SetLogFilter(chip.logging.LOG_CATEGORY_PROGRESS)
        self.loop = asyncio.new_event_loop()
        self.stack = ChipStack(persistentStoragePath=str(storage), enableServerInteractions=False)
        self.cam = CertificateAuthorityManager(chipStack=self.stack)
        ca = self.cam.NewCertificateAuthority()
        admin = ca.NewFabricAdmin(vendorId=0xFFF1, fabricId=1)
        self.dev = admin.NewController(nodeId=112233, paaTrustStorePath=str(PAA_DIR))

    def run(self, coro, timeout: float = CALL_TIMEOUT):
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def new_node_id(self) -> int:
        return next(self._node_ids)

    # -- commissioning ------------------------------------------------------------

    def commission(self, codes: Codes, node_id: Optional[int] = None, timeout: float = 60.0) -> int:
        """Commission over the network, found by its long discriminator."""
        from chip.ChipDeviceCtrl import DiscoveryFilterType

        node_id = node_id or self.new_node_id()
        start = time.monotonic()
        self.run(
            self.dev.CommissionOnNetwork(
                node_id,
                codes.passcode,
                filterType=DiscoveryFilterType.LONG_DISCRIMINATOR,
                filter=codes.discriminator,
                discoveryTimeoutMsec=15000,
            ),
            timeout,
        )
        log.info("commissioned node %#x in %.1f s", node_id, time.monotonic() - start)
        return node_id

    def pase(self, address: str, passcode: int, node_id: Optional[int] = None, timeout: float = 30.0) -> int:
        """PASE straight to an IP literal (no discovery)."""
        node_id = node_id or self.new_node_id()
        self.run(self.dev.EstablishPASESessionIP(address, passcode, node_id, 5540), timeout)
        return node_id

    def discover(self, discriminator: Optional[int] = None, seconds: int = 3):
        """Commissionable nodes seen over mDNS (all, or by long discriminator)."""
        from chip.ChipDeviceCtrl import DiscoveryFilterType

        if discriminator is None:
            kind, value = DiscoveryFilterType.NONE, None
        else:
            kind, value = DiscoveryFilterType.LONG_DISCRIMINATOR, discriminator
        found = self.run(
            self.dev.DiscoverCommissionableNodes(filterType=kind, filter=value, timeoutSecond=seconds),
            seconds + 15,
        )
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def not_commissionable(self, discriminator: Optional[int] = None, within: float = 12.0) -> bool:
        """True once discovery finds nothing (by discriminator, or at all).

        Polls: right after a window closes, the first browse can still get
        the device's last answer (seen with rs-matter: one browse, ~1 s).
        """
        deadline = time.monotonic() + within
        while True:
            found = self.discover(discriminator, seconds=2)
            if not found:
                return True
            if time.monotonic() > deadline:
                log.info("still commissionable: %r", found)
                return False
            time.sleep(1)

    # -- interactions ---------------------------------------------------------------

    def read(self, node_id: int, endpoint: int, attribute, **kw):
        """One attribute's value."""
        from chip.clusters.Attribute import ValueDecodeFailure

        res = self.run(self.dev.ReadAttribute(node_id, [(endpoint, attribute)], **kw))
        for attrs in res.get(endpoint, {}).values():
            if attribute in attrs:
                value = attrs[attribute]
                if isinstance(value, ValueDecodeFailure):
                    # An attribute status (e.g. UnsupportedAttribute) comes back here.
                    raise value.Reason or AssertionError(f"cannot decode {attribute.__name__}")
                return value
        raise AssertionError(f"{attribute.__qualname__} missing from the read: {res!r}")

    def read_cluster(self, node_id: int, endpoint: int, cluster):
        res = self.run(self.dev.ReadAttribute(node_id, [(endpoint, cluster)]))
        return res[endpoint][cluster]

    def write(self, node_id: int, endpoint: int, attribute, value):
        """Write one attribute; its Status (Status.Success when it took)."""
        res = self.run(self.dev.WriteAttribute(node_id, [(endpoint, attribute(value))]))
        return res[0].Status

    def command(self, node_id: int, endpoint: int, payload, timed_ms: Optional[int] = 1000, **kw):
        return self.run(
            self.dev.SendCommand(node_id, endpoint, payload, timedRequestTimeoutMs=timed_ms, **kw)
        )

    def events(self, node_id: int, endpoint: int, event, since: Optional[int] = None):
        """Events of one kind (e.g. Clusters.DoorLock.Events.LockOperation), oldest first."""
        res = self.run(
            self.dev.ReadEvent(node_id, [(endpoint, event, 0)], eventNumberFilter=since)
        )
        return [e for e in res if type(e.Data) is event]

    def forget(self, node_id: int) -> None:
        """Drop sessions to a node (e.g. one that was factory reset)."""
        try:
            self.dev.ExpireSessions(node_id)
        except Exception:  # noqa: BLE001 - best effort, the node may be gone
            pass

    def shutdown(self) -> None:
        self.dev.Shutdown()
        self.cam.Shutdown()
        self.stack.Shutdown()
        self.loop.close()


# ---------------------------------------------------------------------------
# Fixtures.


@pytest.fixture(scope="session")
def iface() -> str:
    return _env("MATTER_TEST_IFACE")


@pytest.fixture(scope="session")
def controller(tmp_path_factory) -> Controller:
    """One CHIP controller for the whole session (fabric admin vendor 0xFFF1)."""
    assert (PAA_DIR / "Chip-Test-PAA-FFF1-Cert.der").stat().st_size == 449
    ctrl = Controller(tmp_path_factory.mktemp("controller") / "chip-repl.json")
    yield ctrl
    ctrl.shutdown()


@pytest.fixture
def lock(iface, tmp_path, request) -> Lock:
    """A factory-fresh simulated lock (own flash file), up and listening.

    One per test: a lockout lasts three real minutes, so sharing a lock
    between tests would make them depend on each other's order.
    """
    sim = _env("MATTER_TEST_SIM")
    workdir = tmp_path / "lock"
    argv = [sim, "matter", "--iface", iface, "--fresh", "--flash", str(tmp_path / "flash.bin")]
    dev = Lock(argv, workdir, env={"RUST_LOG": os.environ.get("RUST_LOG", "info")})
    try:
        dev.wait_ready()
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def commissioned(lock, controller):
    """A lock after first start, commissioned into the controller's fabric.

    Returns (lock, node_id). If the lock keeps pairing mode open after the
    commissioning, the fixture leaves it with `keys back` so that the keypad
    steps of the test start from the idle lock.
    """
    lock.first_start()
    since = len(lock.matter)
    codes = lock.open_pairing()
    node_id = controller.commission(codes)
    try:
        lock.wait_matter(r"^matter: commissioning closed$", since, timeout=3)
    except AssertionError:
        lock.step("keys back")
    return lock, node_id
