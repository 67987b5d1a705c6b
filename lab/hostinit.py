#!/usr/bin/env python3
"""PID 1 of one lab host.

Started by ``python3 -m lab up`` as
``ip netns exec rslab-<host> unshare --pid --fork --mount-proc --uts --ipc --kill-child=SIGKILL
python3 hostinit.py <spec.json>``, so it runs in the host's own network, PID, mount, UTS and IPC
namespaces. It gives the host a private view of the machine (hostname; /run, /var/log, /home,
/tmp, /var/spool and /var/www bound from the host's state dir; its own /dev, so that rsyslog's
/dev/log and sshd's ptys never touch the machine's), starts the host's daemons, reports when they
answer, and then reaps children until told to stop. When it exits the kernel kills every process
of the host, so killing this one process tears the whole host down.

Standard library only, and independent of the ``lab`` package (it runs with ``python3 -I -S``).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

READY_TIMEOUT = 30.0
STOP_GRACE = 3.0
DAEMON_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "LANG": "C.UTF-8", "HOME": "/root"}
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9),
           "tty": (5, 0)}
LOG_DIR = "/run/lab"

daemons: dict[str, subprocess.Popen] = {}


def log(message: str) -> None:
    if not os.path.isdir(LOG_DIR):
        return
    with open(os.path.join(LOG_DIR, "init.log"), "a", encoding="utf-8") as out:
        out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")


def mount(*args: str) -> None:
    # -n: no /run/mount/utab bookkeeping (the first bind happens while /run is still the machine's)
    subprocess.run(["mount", "-n", *args], check=True, stdin=subprocess.DEVNULL)


def bind_private_dirs(binds: list[list[str]]) -> None:
    for source, target in binds:
        mount("--bind", source, target)


def private_dev() -> None:
    """Replace /dev with a small tmpfs holding only the usual character devices, a private
    devpts instance and /dev/shm: the host's rsyslog then creates its /dev/log here, not in the
    machine's /dev."""
    staging = "/run/.dev"
    os.makedirs(staging, exist_ok=True)
    mount("-t", "tmpfs", "-o", "mode=755,nosuid,noexec,size=1m", "lab-dev", staging)
    for name, (major, minor) in DEVICES.items():
        path = os.path.join(staging, name)
        os.mknod(path, 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(path, 0o666)
    os.makedirs(os.path.join(staging, "pts"))
    mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts",
          os.path.join(staging, "pts"))
    os.symlink("pts/ptmx", os.path.join(staging, "ptmx"))
    os.makedirs(os.path.join(staging, "shm"))
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev,size=16m", "shm", os.path.join(staging, "shm"))
    for index, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{index}", os.path.join(staging, name))
    os.symlink("/proc/self/fd", os.path.join(staging, "fd"))
    mount("--move", staging, "/dev")


def start_daemon(spec: dict) -> subprocess.Popen:
    output = open(os.path.join(LOG_DIR, f"{spec['name']}.log"), "ab")
    process = subprocess.Popen(spec["argv"], stdin=subprocess.DEVNULL, stdout=output,
                               stderr=subprocess.STDOUT, env=DAEMON_ENV, cwd="/",
                               start_new_session=True)
    output.close()
    log(f"started {spec['name']} pid {process.pid}: {' '.join(spec['argv'])}")
    return process


def answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_ready(specs: list[dict], address: str) -> list[str]:
    """Wait until every daemon listens on its ports (or has made its socket); return problems."""
    deadline = time.monotonic() + READY_TIMEOUT
    pending = {spec["name"]: spec for spec in specs}
    problems = []
    while pending and time.monotonic() < deadline:
        for name, spec in list(pending.items()):
            if daemons[name].poll() is not None:
                problems.append(f"{name} exited with status {daemons[name].returncode} "
                                f"(see {LOG_DIR}/{name}.log)")
                del pending[name]
            elif (all(answers(address, port) for port in spec.get("ports", []))
                  and all(os.path.exists(path) for path in spec.get("paths", []))):
                del pending[name]
        time.sleep(0.05)
    problems += [f"{name} not ready after {READY_TIMEOUT:.0f}s" for name in pending]
    return problems


def write_ready(path: str, problems: list[str]) -> None:
    report = {"ok": not problems, "problems": problems,
              "daemons": {name: process.pid for name, process in daemons.items()}}
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(report, out)
    os.replace(temporary, path)


def stop(signum, _frame) -> None:
    """Stop the daemons politely, then exit; the kernel kills whatever is left of the host."""
    log(f"signal {signum}: stopping")
    for process in daemons.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline and any(p.poll() is None for p in daemons.values()):
        time.sleep(0.05)
    os._exit(0)


def supervise() -> None:
    """Reap every child (PID 1 inherits all orphans of the host) and log daemons that die."""
    by_pid = {process.pid: name for name, process in daemons.items()}
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            signal.pause()
            continue
        if pid in by_pid:
            log(f"{by_pid[pid]} (pid {pid}) exited, status {status}")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as spec_file:
        spec = json.load(spec_file)
    try:
        boot(spec)
    except Exception as exc:   # report why the host could not boot, then let it die
        write_ready(spec["ready_file"], [f"hostinit failed: {exc!r}"])
        stop(signal.SIGTERM, None)
    supervise()


def boot(spec: dict) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    socket.sethostname(spec["hostname"])
    bind_private_dirs(spec["binds"])
    os.makedirs(LOG_DIR, exist_ok=True)
    private_dev()
    for daemon in spec["daemons"]:
        daemons[daemon["name"]] = start_daemon(daemon)
    problems = wait_ready(spec["daemons"], spec["address"])
    for problem in problems:
        log(problem)
    write_ready(spec["ready_file"], problems)


if __name__ == "__main__":
    main()
