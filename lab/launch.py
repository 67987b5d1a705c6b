"""Starting and ending the lab's processes.

A host is started as ``ip netns exec rslab-<host> unshare --pid --fork --mount-proc --uts --ipc
--kill-child=SIGKILL python3 hostinit.py <spec>``: hostinit.py becomes PID 1 of the host and
starts the daemons its spec lists. The central log collector runs in the root namespace, bound to
the bridge address only. Everything is detached (own session) and recorded as it starts;
everything is ended by recorded PID and start time only.
"""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import hostfiles, procs
from .hosts import BRIDGE_ADDRESS, LabError, LabHost, require_lab_address
from .layout import (
    COLLECTOR_LOG,
    COLLECTOR_SCRIPT,
    HOSTINIT_SCRIPT,
    HOSTS_STATE_DIR,
    JOURNALD,
    JOURNALD_PIDFILE,
    LISTENER_SCRIPT,
    STATE_DIR,
    host_state,
)
from .profiles import PROFILES, daemons_of, listener_certificate
from .records import Record, host_processes

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LANG": "C.UTF-8"}
SYSLOG_PORT = 514
READY_TIMEOUT_BASE = 60.0
READY_TIMEOUT_PER_HOST = 0.5
STOP_TIMEOUT = 5.0
KILL_TIMEOUT = 2.0
# Popen objects of the detached processes, kept referenced: a collected Popen of a live process
# warns, and in a long-lived caller (pytest) this also lets `down` reap them.
LAUNCHERS: list[subprocess.Popen] = []


def detach(argv: list[str], output: Path) -> subprocess.Popen:
    with open(output, "ab") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, env=CLEAN_ENV, start_new_session=True)
    LAUNCHERS.append(process)
    return process


# --- the central log collector ----------------------------------------------------------------
def ensure_collector(record: Record) -> None:
    """Start the syslog collector on the bridge address unless it already runs."""
    if record.collector and procs.is_running(record.collector):
        return
    address = str(require_lab_address(BRIDGE_ADDRESS))
    process = detach([PYTHON, "-I", "-S", str(COLLECTOR_SCRIPT), "--listen", address,
                      "--port", str(SYSLOG_PORT), "--output", str(COLLECTOR_LOG)],
                     STATE_DIR / "collector.out")
    record.set_collector(procs.identify(process.pid) or procs.ProcessId(process.pid, -1))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((address, SYSLOG_PORT), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise LabError(f"the log collector did not start (see {STATE_DIR / 'collector.out'})")


# --- hosts ------------------------------------------------------------------------------------
def init_output(host: LabHost) -> Path:
    return host_state(host.name) / "init.out"


def start_host(host: LabHost, record: Record, spec: dict | None = None) -> None:
    """Launch the host's init (with its profile's spec unless given one); record the launcher at
    once, then the init once it has forked."""
    spec_path = host_state(host.name) / "init.json"
    spec_path.write_text(json.dumps(spec or init_spec(host), indent=1))
    launcher = detach(["ip", "netns", "exec", host.netns, "unshare", "--pid", "--fork",
                       "--mount-proc", "--uts", "--ipc", "--kill-child=SIGKILL",
                       PYTHON, "-I", "-S", str(HOSTINIT_SCRIPT), str(spec_path)],
                      init_output(host))
    unshare = procs.identify(launcher.pid) or procs.ProcessId(launcher.pid, -1)
    record.update_host(host.name, unshare=unshare.as_dict())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and launcher.poll() is None:
        children = procs.children(launcher.pid)
        if children and (init := procs.identify(children[0])):
            record.update_host(host.name, init=init.as_dict())
            return
        time.sleep(0.01)
    raise LabError(f"{host.name}: the namespace init did not start (see {init_output(host)})")


def init_spec(host: LabHost) -> dict:
    """What hostinit.py needs: hostname, private dirs, and the daemons with their ports."""
    prof = PROFILES[host.profile]
    daemons = [{"name": "sshd", "argv": ["/usr/sbin/sshd", "-D", "-f", "/etc/ssh/sshd_config"],
                "ports": [22]}]
    if prof["web"]:
        ports = (([80] if prof["web"]["http"] else []) + [v["port"] for v in prof["web"]["https"]]
                 + list(prof["web"].get("plain", [])))
        daemons.append({"name": "nginx", "ports": ports,
                        "argv": ["/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf",
                                 "-e", "/var/log/nginx/error.log", "-g", "daemon off;"]})
    if prof.get("ftp"):
        daemons.append({"name": "vsftpd", "ports": [21], "argv": ["/usr/sbin/vsftpd", "/etc/vsftpd.conf"]})
    if prof["logging"]["rsyslog"]:
        daemons.append({"name": "rsyslogd", "paths": ["/dev/log"],
                        "argv": ["/usr/sbin/rsyslogd", "-n", "-i", "/run/rsyslogd.pid",
                                 "-f", "/etc/rsyslog.conf"]})
    journald = bool(prof["logging"].get("journald_daemon"))
    if journald:
        # not socket-activated: journald makes its sockets itself; its PID file is for the init
        # script a fix plan's restart goes through (journald writes none)
        daemons.append({"name": "systemd-journald", "paths": ["/run/systemd/journal/socket"],
                        "argv": [JOURNALD], "pidfile": JOURNALD_PIDFILE})
    if prof["listeners"]:
        services = [f"{item['kind']}:{item['port']}" for item in prof["listeners"]]
        tls = (["--tls-cert", hostfiles.LISTENER_CERT, "--tls-key", hostfiles.LISTENER_KEY]
               if listener_certificate(host.profile) else [])
        daemons.append({"name": "listener", "ports": [item["port"] for item in prof["listeners"]],
                        "argv": [PYTHON, "-I", "-S", str(LISTENER_SCRIPT), "--hostname", host.name,
                                 *tls, *services]})
    return {"hostname": host.name, "address": host.address, "binds": hostfiles.bind_pairs(host),
            "daemons": daemons, "cgroup": journald, "dev_log": "/run/systemd/journal/dev-log" if journald else None,
            "ready_file": str(ready_file(host.name))}


def ready_file(host_name: str) -> Path:
    return host_state(host_name) / "ready.json"


def wait_until_ready(hosts: list[LabHost]) -> None:
    """Wait for every host's readiness report; fail with every problem at once."""
    deadline = time.monotonic() + READY_TIMEOUT_BASE + READY_TIMEOUT_PER_HOST * len(hosts)
    pending = {host.name for host in hosts}
    problems = []
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            if ready_file(name).exists():
                report = json.loads(ready_file(name).read_text())
                problems += [f"{name}: {problem}" for problem in report["problems"]]
                pending.discard(name)
        time.sleep(0.05)
    problems += [f"{name}: no readiness report (see {host_state(name)}/init.out)" for name in pending]
    if problems:
        raise LabError("hosts not ready:\n  " + "\n  ".join(problems)
                       + f"\n(daemon logs: {HOSTS_STATE_DIR}/<host>/run/lab/; "
                         "`python3 -m lab down` cleans up)")


def record_processes(record: Record, hosts: list[LabHost]) -> None:
    """Record every process of each new host (seen from the root namespace), naming the daemons
    by the PIDs hostinit.py reported from inside."""
    by_namespace = procs.processes_by_pid_namespace()
    for host in hosts:
        entry = record.hosts[host.name]
        init = procs.ProcessId.from_dict(entry["init"])
        inner = json.loads(ready_file(host.name).read_text())["daemons"]
        names_by_inner_pid = {pid: name for name, pid in inner.items()}
        daemons, others = {}, []
        for proc, _comm in by_namespace.get(procs.pid_namespace(init.pid) or "", []):
            if proc == init:
                continue
            others.append(proc.as_dict())
            if name := names_by_inner_pid.get(procs.inner_pid(proc.pid)):
                daemons[name] = proc.as_dict()
        record.update_host(host.name, daemons=daemons, processes=others,
                           ready=set(daemons) == set(daemons_of(host.profile)))


# --- ending -----------------------------------------------------------------------------------
def stop_processes(entries: list[dict], extras: list[procs.ProcessId] = ()) -> list[procs.ProcessId]:
    """End the recorded processes of these hosts (and ``extras``); return any still running.

    SIGTERM to each host's init lets it stop its daemons; when it exits the kernel kills the rest
    of its PID namespace. Whatever is left gets SIGKILL. Only recorded processes are signalled,
    each checked against its recorded start time."""
    inits = [procs.ProcessId.from_dict(e["init"]) for e in entries if e.get("init")] + list(extras)
    for init in inits:
        procs.send_signal(init, 15)
    for init in procs.wait_gone(inits, STOP_TIMEOUT):
        procs.send_signal(init, 9)
    everything = [proc for entry in entries for proc in host_processes(entry)] + list(extras)
    for proc in procs.wait_gone(everything, KILL_TIMEOUT):
        procs.send_signal(proc, 9)
    return procs.wait_gone(everything, KILL_TIMEOUT)


def unrecorded_in_namespace(namespace: str) -> list[int]:
    """PIDs of processes inside a lab network namespace: reported, never killed by the lab
    unless its record names them."""
    try:
        inode = os.stat(f"/run/netns/{namespace}").st_ino
    except FileNotFoundError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                    found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return found
