"""The hostile and broken lab hosts (lab/hostile.py) as a pytest fixture.

``hostile_lab`` (module scope) needs the session fixture ``lab`` (the default lab gives the bridge,
CA, client key and log collector, and its hard-01 is the sound host of the hostile inventory).
It builds the hostile hosts a test module names in ``HOSTILE_HOSTS`` (default: all of them), with a
fresh random sudo password for hostile-sudo that no file holds, yields what tests need, and
removes the hosts again. Tests in other sessions may use the same addresses: one module at a time
holds ``lab/.state/hostile.lock`` while its hosts exist (a second one waits for it).

Use it with ``pytest_plugins = ["tests.labfixture", "tests.hostilefixture"]`` in the test module,
and mark the tests ``@pytest.mark.lab``.
"""

from __future__ import annotations

import fcntl
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import hostile, layout, procs
from lab.hosts import LabHost

LOCK = layout.STATE_DIR / "hostile.lock"
LOCK_WAIT_SECONDS = 900


@dataclass(frozen=True)
class HostileLab:
    hosts: dict[str, LabHost]      # every hostile host of this module, the void one included
    control: LabHost               # hard-01 of the default lab, the sound host in the inventory
    inventory: Path                # lab/.state/hostile.yaml
    known_hosts: Path
    key: Path
    ca: Path
    sudo_password: str             # hostile-sudo's, for tests/test_secrets.py only

    def state(self, name: str) -> Path:
        """The host's private folders (its /tmp, /var/log, … are subfolders) as seen from here."""
        return layout.host_state(name)

    def probe_script_mark(self, name: str) -> Path:
        """Where the "hold" login shell leaves its mark: the host's /tmp."""
        return self.state(name) / "tmp" / hostile.PROBE_SCRIPT_MARK

    def init(self, name: str) -> procs.ProcessId:
        return hostile.init_process(name)

    def vanish(self, name: str) -> None:
        hostile.vanish(name)


def hold_lock(wait: float):
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    handle = open(LOCK, "w")   # held until the module's hosts are gone
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                pytest.skip(f"another session has held the hostile hosts for {wait:.0f}s")
            time.sleep(1)


@pytest.fixture(scope="module")
def hostile_lab(lab, request):  # lab: the session fixture of tests/labfixture.py
    names = list(getattr(request.module, "HOSTILE_HOSTS", hostile.BY_NAME))
    handle = hold_lock(LOCK_WAIT_SECONDS)
    password = secrets.token_urlsafe(18)
    try:
        hostile.up(password, names, log=lambda message: None)
        yield HostileLab(hosts={name: hostile.BY_NAME[name].host for name in names}, control=hostile.CONTROL_HOST,
                         inventory=hostile.HOSTILE_INVENTORY, known_hosts=hostile.HOSTILE_KNOWN_HOSTS,
                         key=lab.key, ca=lab.ca, sudo_password=password)
    finally:
        try:
            hostile.down(log=lambda message: None)
        finally:
            handle.close()
