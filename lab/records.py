"""``lab/.state/pids.json``: what the lab started, so that ``down`` ends exactly that.

Per host: profile, address, namespace and veth, the configuration fingerprint, whether it came up,
its firewall, and its processes (the ``unshare`` launcher, the namespace init, the named daemons
and every other process seen in its PID namespace), each as (pid, start time). Also the central
log collector. Saved atomically after every change, so a crash never leaves a started process
unrecorded for longer than it takes to write the file.
"""
import contextlib
import fcntl
import json
import os
import threading

from . import procs
from .layout import LOCK_FILE, PIDS_FILE, STATE_DIR

# Hosts built beside the lab (lab/hostile.py) are recorded under their own key: `up`, which makes
# the lab exactly its N hosts, leaves them alone, and `down` ends them with everything else.
SIDE_HOSTS = "hostile"


class Record:
    """The contents of pids.json; thread-safe (hosts are built in parallel)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data = {"version": 1, "hosts": {}}
        if PIDS_FILE.exists():
            self.data = json.loads(PIDS_FILE.read_text())

    @property
    def hosts(self) -> dict:
        return self.data["hosts"]

    @property
    def side_hosts(self) -> dict:
        return self.data.get(SIDE_HOSTS, {})

    @property
    def collector(self) -> procs.ProcessId | None:
        entry = self.data.get("collector")
        return procs.ProcessId.from_dict(entry) if entry else None

    def set_host(self, name: str, entry: dict) -> None:
        with self.lock:
            self.hosts[name] = entry
            self.save()

    def update_host(self, name: str, **fields) -> None:
        with self.lock:
            self.hosts[name] = {**self.hosts[name], **fields}
            self.save()

    def drop_host(self, name: str) -> None:
        with self.lock:
            self.hosts.pop(name, None)
            self.save()

    @property
    def zones(self) -> dict | None:
        """The zone firewall and vantages (lab/zones.py), when they are up."""
        return self.data.get("zones")

    def set_zones(self, entry: dict | None) -> None:
        with self.lock:
            if entry is None:
                self.data.pop("zones", None)
            else:
                self.data["zones"] = entry
            self.save()

    def set_collector(self, proc: procs.ProcessId) -> None:
        with self.lock:
            self.data["collector"] = proc.as_dict()
            self.save()

    def save(self) -> None:
        temporary = PIDS_FILE.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(temporary, PIDS_FILE)


def host_processes(entry: dict) -> list[procs.ProcessId]:
    """Every process recorded for a host, the namespace init and its launcher first."""
    recorded = [entry.get("init"), entry.get("unshare")] + list(entry.get("daemons", {}).values())
    recorded += entry.get("processes", [])
    return [procs.ProcessId.from_dict(item) for item in recorded if item]


def recorded_processes() -> list[procs.ProcessId]:
    """Every process pids.json names (hosts, side hosts and collector); empty when there is no
    record."""
    if not PIDS_FILE.exists():
        return []
    record = Record()
    entries = [*record.hosts.values(), *record.side_hosts.values()]
    found = [proc for entry in entries for proc in host_processes(entry)]
    return found + ([record.collector] if record.collector else [])


@contextlib.contextmanager
def state_lock():
    """One lab command at a time (two `up`s racing would build the same hosts twice)."""
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield
