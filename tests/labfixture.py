"""The network-namespace lab as a pytest fixture.

``lab`` (session scope) makes sure the lab runs, with the same code as ``python3 -m lab up``, and
yields what tests need to reach it. Several test sessions may share the machine (and one lab):

- a lab that is already running is used as it is (a developer's ``make lab-up``, or a bigger
  benchmark lab whose first six hosts are the default six), repaired if broken, never resized;
- otherwise the default six-host lab is brought up, and marked as brought up by a fixture;
- each session holds a lease (``lab/.state/leases/<pid>-<start>``); at the end, the last live
  lease holder takes a fixture-made lab down again. A lab someone brought up by hand is left up.

Use it with ``from tests.labfixture import lab  # noqa: F401`` and mark the tests
``@pytest.mark.lab``. Without root, or where ``ip netns add`` is not allowed, the fixture skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import layout, lifecycle, procs
from lab.hosts import DEFAULT_HOSTS, LabHost, plan_hosts

LAB_TOOLS = ("ip", "unshare", "openssl", "ssh-keygen", "ssh", "/usr/sbin/sshd", "/usr/sbin/nginx",
             "/usr/sbin/rsyslogd")
LEASES = layout.STATE_DIR / "leases"
FIXTURE_OWNED = layout.STATE_DIR / "fixture-owned"


@dataclass(frozen=True)
class Lab:
    """What a test needs to reach the lab's hosts (the default six; ``count`` may be more)."""
    hosts: list[LabHost]
    count: int                 # hosts actually up (more than six when a bigger lab was running)
    inventory: Path            # lab/.state/inventory.yaml, for every host that is up
    committed_inventory: Path  # lab/inventory.yaml (the default lab, paths relative to lab/)
    expected: Path             # lab/expected.yaml
    known_hosts: Path
    key: Path
    ca: Path
    state_dir: Path
    ip_forward_before: str

    @property
    def addresses(self) -> dict[str, str]:
        return {host.name: host.address for host in self.hosts}

    def host(self, name: str) -> LabHost:
        return next(host for host in self.hosts if host.name == name)

    def of_profile(self, profile: str) -> LabHost:
        return next(host for host in self.hosts if host.profile == profile)

    def is_sole_owner(self) -> bool:
        """True when this session brought the lab up and no other session uses it: only then may
        a test take it down or rebuild hosts under everyone's feet."""
        return FIXTURE_OWNED.exists() and other_live_leases() == []

    def reclaim(self) -> None:
        """After a test took the lab down and up again: own it and hold the lease again."""
        FIXTURE_OWNED.touch()
        take_lease()


def unavailable_reason() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, mounts, daemons)"
    missing = [tool for tool in LAB_TOOLS if not shutil.which(tool)]
    if missing:
        return f"the lab needs {', '.join(missing)} (make install)"
    probe = f"{layout.PREFIX}-probe-{os.getpid()}"
    added = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if added.returncode != 0:
        return f"`ip netns add` is not possible here: {added.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def own_lease() -> Path:
    me = procs.identify(os.getpid())
    return LEASES / f"{me.pid}-{me.start}"


def take_lease() -> None:
    LEASES.mkdir(parents=True, exist_ok=True)
    own_lease().touch()


def other_live_leases() -> list[str]:
    if not LEASES.is_dir():
        return []
    live = []
    for lease in LEASES.iterdir():
        pid, _, start = lease.name.partition("-")
        holder = procs.ProcessId(int(pid), int(start))
        if lease != own_lease() and procs.is_running(holder):
            live.append(lease.name)
    return live


@pytest.fixture(scope="session")
def lab():
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    ip_forward = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    running = len(lifecycle.status()["hosts"])
    try:
        lifecycle.up(max(running, DEFAULT_HOSTS), log=lambda message: None)
    except Exception:
        if not running:  # leave nothing half-built behind a failed start
            lifecycle.down(log=lambda message: None)
        raise
    if not running:
        FIXTURE_OWNED.touch()
    take_lease()
    try:
        yield Lab(hosts=plan_hosts(DEFAULT_HOSTS), count=max(running, DEFAULT_HOSTS),
                  inventory=layout.STATE_INVENTORY, committed_inventory=layout.LAB_INVENTORY,
                  expected=layout.LAB_EXPECTED, known_hosts=layout.KNOWN_HOSTS,
                  key=layout.CLIENT_KEY, ca=layout.CA_CERT, state_dir=layout.STATE_DIR,
                  ip_forward_before=ip_forward)
    finally:
        own_lease().unlink(missing_ok=True)
        if FIXTURE_OWNED.exists() and not other_live_leases():
            lifecycle.down(log=lambda message: None)
