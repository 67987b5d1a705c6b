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


def mount(*args: str, pass_fds: tuple[int, ...] = ()) -> None:
    # -n: no /run/mount/utab bookkeeping (the first bind happens while /run is still the machine's)
    subprocess.run(["mount", "-n", *args], check=True, stdin=subprocess.DEVNULL, pass_fds=pass_fds)


def pin(path: str, flags: int = os.O_PATH) -> int:
    """An open descriptor for `path`, taken before any bind: when the lab lives under /tmp, /run
    or /home, binding the host's own /tmp (…) hides the lab's files by path, not by descriptor."""
    return os.open(path, flags)


def bind_private_dirs(binds: list[list[str]]) -> None:
    sources = [pin(source, os.O_PATH | os.O_DIRECTORY) for source, _ in binds]
    for fd, (_, target) in zip(sources, binds, strict=True):
        # -c: hand the kernel /proc/self/fd/N as it is; it follows the descriptor, not a path.
        mount("-c", "--bind", f"/proc/self/fd/{fd}", target, pass_fds=(fd,))
        os.close(fd)


def pin_argv(argv: list[str], hidden: list[str]) -> tuple[list[str], tuple[int, ...]]:
    """Replace files of `argv` that a bind will hide (a listener script inside the lab's folder)
    by /dev/fd/N, with N opened now and inherited by the daemon."""
    out, fds = [], []
    for arg in argv:
        if arg.startswith("/") and any(arg == h or arg.startswith(h.rstrip("/") + "/") for h in hidden) \
                and os.path.isfile(arg):
            fd = pin(arg, os.O_RDONLY)
            os.set_inheritable(fd, True)
            fds.append(fd)
            arg = f"/dev/fd/{fd}"
        out.append(arg)
    return out, tuple(fds)


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
                               start_new_session=True, pass_fds=spec.get("pass_fds", ()))
    output.close()
    if spec.get("pidfile"):  # for a daemon that writes none, so that its init script can stop it
        with open(spec["pidfile"], "w", encoding="ascii") as pidfile:
            pidfile.write(f"{process.pid}\n")
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


def write_ready(folder_fd: int, name: str, problems: list[str]) -> None:
    """The readiness report, written through a descriptor of its folder taken before the binds."""
    report = {"ok": not problems, "problems": problems,
              "daemons": {name: process.pid for name, process in daemons.items()}}
    temporary = name + ".tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=folder_fd)
    with open(fd, "w", encoding="utf-8") as out:
        json.dump(report, out)
    os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)


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
    ready_folder = pin(os.path.dirname(spec["ready_file"]), os.O_RDONLY | os.O_DIRECTORY)
    ready_name = os.path.basename(spec["ready_file"])
    try:
        boot(spec, ready_folder, ready_name)
    except Exception as exc:   # report why the host could not boot, then let it die
        write_ready(ready_folder, ready_name, [f"hostinit failed: {exc!r}"])
        stop(signal.SIGTERM, None)
    supervise()


def boot(spec: dict, ready_folder: int, ready_name: str) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    socket.sethostname(spec["hostname"])
    hidden = [target for _, target in spec["binds"]]
    for daemon in spec["daemons"]:
        daemon["argv"], daemon["pass_fds"] = pin_argv(daemon["argv"], hidden)
    bind_private_dirs(spec["binds"])
    os.makedirs(LOG_DIR, exist_ok=True)
    private_dev()
    if spec.get("cgroup"):
        # `ip netns exec` mounts a sysfs of the namespace, where /sys/fs/cgroup is empty; systemd's
        # daemons (journald) find their cgroup there, as on any systemd host. Read-only: they only read.
        mount("-t", "cgroup2", "-o", "ro,nosuid,nodev,noexec", "cgroup2", "/sys/fs/cgroup")
    if spec.get("dev_log"):  # syslog(3) reaches journald, as systemd-journald-dev-log.socket links it
        os.symlink(spec["dev_log"], "/dev/log")
    for daemon in spec["daemons"]:
        daemons[daemon["name"]] = start_daemon(daemon)
    problems = wait_ready(spec["daemons"], spec["address"])
    for problem in problems:
        log(problem)
    write_ready(ready_folder, ready_name, problems)


if __name__ == "__main__":
    main()
