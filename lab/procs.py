"""Processes the lab started: identify them, tell whether they still run, and signal them.

A recorded process is (pid, start time). A PID alone can be reused by an unrelated process once
ours is gone, so every signal is sent through a pidfd opened on the PID and checked against the
recorded start time first: the lab never signals a process it did not start.
"""
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessId:
    pid: int
    start: int   # start time in clock ticks after boot (field 22 of /proc/<pid>/stat)

    def as_dict(self) -> dict:
        return {"pid": self.pid, "start": self.start}

    @classmethod
    def from_dict(cls, data: dict) -> "ProcessId":
        return cls(int(data["pid"]), int(data["start"]))


def read_stat(pid: int) -> tuple[str, str, int, int] | None:
    """(comm, state, ppid, start) of a process, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm is in parentheses and may itself contain spaces or parentheses.
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, fields[0], int(fields[1]), int(fields[19])


def identify(pid: int) -> ProcessId | None:
    stat = read_stat(pid)
    return ProcessId(pid, stat[3]) if stat else None


def is_running(proc: ProcessId) -> bool:
    """True if the recorded process still exists and is not a zombie."""
    stat = read_stat(proc.pid)
    return bool(stat) and stat[3] == proc.start and stat[1] not in ("Z", "X")


def send_signal(proc: ProcessId, sig: int) -> bool:
    """Signal the recorded process if (and only if) it is still the same process."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (ProcessLookupError, OSError):
        return False
    try:
        if not is_running(proc):
            return False
        signal.pidfd_send_signal(pidfd, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(pidfd)


def reap(proc: ProcessId) -> None:
    """Collect the exit status if the process is our own child (else it is someone else's job)."""
    try:
        os.waitpid(proc.pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_gone(procs: list[ProcessId], timeout: float) -> list[ProcessId]:
    """Wait until none of ``procs`` runs; return those still running at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        for proc in procs:
            reap(proc)
        alive = [proc for proc in procs if is_running(proc)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def inner_pid(pid: int) -> int | None:
    """The PID a process has inside its own (innermost) PID namespace."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def processes_by_pid_namespace() -> dict[str, list[tuple[ProcessId, str]]]:
    """Every process of the machine grouped by PID namespace: {ns: [(ProcessId, comm)]}."""
    groups: dict[str, list[tuple[ProcessId, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        namespace, stat = pid_namespace(pid), read_stat(pid)
        if namespace and stat and stat[1] not in ("Z", "X"):
            groups.setdefault(namespace, []).append((ProcessId(pid, stat[3]), stat[0]))
    return groups


def memory_kib(pid: int) -> int:
    """Proportional set size of a process (shared pages split among their users), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0
