"""Hostile and broken lab hosts (issue 8): targets that misbehave on purpose, so tests can prove
that a scan survives them.

They are never part of the default lab: ``python3 -m lab up`` neither builds nor removes them, so
``lab/inventory.yaml`` and ``lab/expected.yaml`` stay what they are. The test fixture
(tests/hostilefixture.py) or ``python3 -m lab up --with-hostile`` builds them beside a running
lab; ``python3 -m lab down`` removes them with everything else.

Each is a lab host like the others (own network, PID, mount and UTS namespaces; every process
recorded, under "hostile" in pids.json), at 10.203.0.240 and up (a ``--hosts 100`` lab ends at
.109), named ``hostile-*`` in namespaces ``rslab-hostile-*``. Its /etc comes from the ``hard``
profile (sshd_config, accounts, logging); what it runs, and how it misbehaves, is said here:

| host              | what misbehaves                                                          |
|-------------------|--------------------------------------------------------------------------|
| hostile-silent    | 22 (ssh) and 443 (https) accept a connection and never send a byte       |
| hostile-web       | 80 and 443 send markup, quotes and control characters in the status      |
|                   | line, headers and body, 443 with a certificate whose subject is markup;  |
|                   | 8443 answers a TLS ClientHello with garbage                              |
| hostile-banner    | 22 sends a 1 MiB SSH identification line                                 |
| hostile-spew      | sshd whose login shell answers the probe script with 50 MB and never     |
|                   | exits                                                                    |
| hostile-vanish    | sshd (and nginx on 443) whose login shell holds the probe script and     |
|                   | leaves a mark in /tmp; the test then takes the host off the network      |
| hostile-rekeyed   | sshd whose host key is not the one in hostile_known_hosts                |
| hostile-sudo      | sudo asks rsscan for its password (tests/test_secrets.py)                |
| hostile-void      | 10.203.0.250: an address of the lab range with nothing behind it         |

``.state/hostile.yaml`` is their inventory (with the default lab's ``hard-01`` as the sound host
whose results must stay complete) and ``.state/hostile_known_hosts`` its known_hosts.
"""
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import hostfiles, launch, lifecycle, netns, pki, procs, render
from . import inventory as lab_inventory
from .hosts import FIRST_HOST_OFFSET, LabError, LabHost, host_address, plan_hosts
from .layout import (
    CA_CERT,
    CA_KEY,
    KNOWN_HOSTS,
    LAB_DIR,
    PIDS_FILE,
    SCAN_USER,
    STATE_DIR,
    host_state,
    netns_etc,
)
from .profiles import SSH_ADMIN, WEB_HTTP, WEB_HTTPS
from .records import SIDE_HOSTS, Record, state_lock
from .yamltext import Flow, Note, dump

BASE_PROFILE = "hard"
CONTROL_HOST = plan_hosts()[0]     # hard-01 of the default lab: the sound host in the inventory
HOSTILE_INVENTORY = STATE_DIR / "hostile.yaml"
HOSTILE_KNOWN_HOSTS = STATE_DIR / "hostile_known_hosts"
HOSTILE_LISTENER_SCRIPT = LAB_DIR / "hostile_listener.py"
SHELL_DIR = "/home/.lab"           # inside a host: its private /home
TLS_DIR = "/run/lab-tls"           # inside a host: its private /run
PROBE_SCRIPT_MARK = "probe-script-started"   # left in the host's /tmp by the "hold" shell
SPEW_BYTES = 50 * 1000 * 1000
# The subject of hostile-web's certificate on 443 (issued by the lab CA, with the host's names as
# subjectAltName). In openssl's -subj syntax a "/" inside a value is escaped.
CERT_ORGANIZATION = "<script>alert('readyscan-cert')</script>"
CERT_UNIT = "\"quoted\" & 'single' <b onmouseover=\"alert(4)\">"

# Timeouts of the hostile inventory: short, so a scan that must wait them out stays quick.
TIMEOUTS = {"connect": 3, "command": 20, "host": 120, "nmap": 120, "tls": 90, "http": 5}
SCAN_PORTS = "22,80,443,8443"

# Login shells of the scanning user. sshd runs `<shell> -c '<command>'`; every command runs as
# usual except the scanner's probe script (`sh -s`, with or without sudo).
LOGIN_SHELLS = {
    "spew": f"""#!/bin/sh
# hostile-spew: the probe script gets {SPEW_BYTES} bytes of markup and control characters, then a
# shell that never exits.
case "$2" in
  *"sh -s"*)
    yes "$(printf '<script>alert(5)</script> "quoted" \\033[2J\\007')" | head -c {SPEW_BYTES}
    exec sleep 86400 ;;
esac
exec /bin/sh "$@"
""",
    "hold": f"""#!/bin/sh
# hostile-vanish: the probe script leaves a mark in /tmp and is held; meanwhile the test takes the
# host off the network.
case "$2" in
  *"sh -s"*) : > /tmp/{PROBE_SCRIPT_MARK}; exec sleep 600 ;;
esac
exec /bin/sh "$@"
""",
}


@dataclass(frozen=True)
class Hostile:
    name: str
    offset: int                          # the address is 10.203.0.<offset>
    summary: str
    daemons: tuple[str, ...] = ()        # the base profile's daemons it runs (sshd, nginx, rsyslogd)
    listeners: tuple[str, ...] = ()      # hostile_listener.py KIND:PORT
    services: tuple[dict, ...] = ()      # what its inventory entry declares
    role: str = "app"
    shell: str | None = None             # rsscan's login shell, from LOGIN_SHELLS
    sudo_password: bool = False          # sudo asks rsscan for its password
    stale_key: bool = False              # hostile_known_hosts holds another key for it
    void: bool = False                   # nothing at all behind the address
    host: LabHost = field(init=False)

    def __post_init__(self) -> None:
        index = self.offset - FIRST_HOST_OFFSET   # veth rslabh<index>, as for any lab host
        object.__setattr__(self, "host", LabHost(self.name, BASE_PROFILE, index, host_address(index)))


ADMIN_8443 = {"port": 8443, "proto": "tcp", "kind": "https", "name": "Trang quản trị", "exposure": ["dmz"]}
HOSTS = (
    Hostile("hostile-silent", 240, "22 and 443 accept a connection and never speak",
            listeners=("silent:22", "silent:443"), services=(SSH_ADMIN, WEB_HTTPS), role="web"),
    Hostile("hostile-web", 241, "hostile headers, body and certificate subject; 8443 answers TLS with garbage",
            daemons=("sshd",), listeners=("http-hostile:80", "https-hostile:443", "tls-garbage:8443"),
            services=(SSH_ADMIN, WEB_HTTP, WEB_HTTPS, ADMIN_8443), role="web"),
    Hostile("hostile-banner", 242, "22 sends a 1 MiB SSH identification line",
            listeners=("ssh-hugebanner:22",), services=(SSH_ADMIN,)),
    Hostile("hostile-spew", 243, "rsscan's shell answers the probe script with 50 MB and never exits",
            daemons=("sshd",), shell="spew", services=(SSH_ADMIN,)),
    Hostile("hostile-vanish", 244, "rsscan's shell holds the probe script; the test takes the host away",
            daemons=("sshd", "nginx"), shell="hold", services=(SSH_ADMIN, WEB_HTTPS), role="web"),
    Hostile("hostile-rekeyed", 245, "its host key no longer matches hostile_known_hosts",
            daemons=("sshd",), stale_key=True, services=(SSH_ADMIN,)),
    Hostile("hostile-sudo", 246, "sudo asks rsscan for its password",
            daemons=("sshd", "rsyslogd"), sudo_password=True, services=(SSH_ADMIN,)),
    Hostile("hostile-void", 250, "an address of the lab range with nothing behind it",
            void=True, services=(SSH_ADMIN, WEB_HTTPS)),
)
BY_NAME = {spec.name: spec for spec in HOSTS}


class HostileRecord(Record):
    """pids.json seen through its "hostile" section: the same bookkeeping as for lab hosts, kept
    apart so that `up` (which makes the lab exactly its N default hosts) leaves these alone."""

    @property
    def hosts(self) -> dict:
        return self.data.setdefault(SIDE_HOSTS, {})


# --- up ---------------------------------------------------------------------------------------
def up(sudo_password: str, names: Iterable[str] | None = None, log=print) -> dict:
    """Build the hostile hosts (all, or those named) beside the running lab, replacing any left
    from before, and write their inventory and known_hosts. The void host is only an address."""
    chosen = [BY_NAME[name] for name in names] if names is not None else list(HOSTS)
    real = [spec for spec in chosen if not spec.void]
    with state_lock():
        if not PIDS_FILE.exists() or not CA_CERT.exists():
            raise LabError("the lab is not up: hostile hosts use its bridge, CA and key "
                           "(`python3 -m lab up` first)")
        record = HostileRecord()
        taken = {entry["address"] for entry in Record().hosts.values()}
        clash = [spec.name for spec in chosen if spec.host.address in taken]
        if clash:
            raise LabError(f"the running lab is so big that its hosts use the addresses of {clash}")
        remove(record, list(record.hosts), log)
        account = hostfiles.ScanAccount.current()
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(real)))) as pool:
            futures = [pool.submit(build_host, spec, record, account, sudo_password) for spec in real]
        failures = [future.exception() for future in futures if future.exception()]
        if failures:
            raise LabError(f"{len(failures)} hostile host(s) failed to build; first: {failures[0]}")
        launch.wait_until_ready([spec.host for spec in real])
        launch.record_processes(record, [spec.host for spec in real])
        for spec in real:   # ready = the daemons this host was given, not its base profile's
            wanted = set(spec.daemons) | ({"listener"} if spec.listeners else set())
            record.update_host(spec.name, ready=set(record.hosts[spec.name]["daemons"]) == wanted)
        write_files(chosen)
    log(f"hostile hosts up: {', '.join(spec.name for spec in chosen)}")
    return {"hosts": [spec.name for spec in chosen], "inventory": str(HOSTILE_INVENTORY),
            "known_hosts": str(HOSTILE_KNOWN_HOSTS)}


def build_host(spec: Hostile, record: Record, account: hostfiles.ScanAccount, sudo_password: str) -> None:
    host = spec.host
    hostfiles.remove_host_files(host.name)
    hostfiles.make_private_dirs(host, account)
    hostfiles.write_etc_overlay(host, account)
    if spec.shell:
        install_login_shell(host, spec.shell, account)
    if spec.sudo_password:
        require_sudo_password(host, sudo_password)
    tls = hostile_certificate(host) if any(item.startswith("https-") for item in spec.listeners) else []
    record.set_host(host.name, {"profile": f"hostile ({BASE_PROFILE} files)", "index": host.index,
                                "address": host.address, "fqdn": host.fqdn, "netns": host.netns,
                                "veth": host.veth, "summary": spec.summary, "ready": False})
    netns.create_host_network(host)
    launch.start_host(host, record, init_spec(spec, tls))


def init_spec(spec: Hostile, tls_args: list[str]) -> dict:
    """The base profile's spec (binds, sshd and rsyslogd as they are) with only the daemons this
    host runs, plus its hostile listener."""
    base = launch.init_spec(spec.host)
    daemons = [daemon for daemon in base["daemons"] if daemon["name"] in spec.daemons]
    if spec.listeners:
        daemons.append({"name": "listener", "ports": [int(item.split(":")[1]) for item in spec.listeners],
                        "argv": [launch.PYTHON, "-I", "-S", str(HOSTILE_LISTENER_SCRIPT), *tls_args,
                                 *spec.listeners]})
    return {**base, "daemons": daemons}


def install_login_shell(host: LabHost, kind: str, account: hostfiles.ScanAccount) -> None:
    """Put the shell in the host's private /home and make it rsscan's login shell there."""
    shell = f"{SHELL_DIR}/{kind}-shell"
    path = host_state(host.name) / "home" / shell.removeprefix("/home/")
    hostfiles.write(path, LOGIN_SHELLS[kind], 0o755)
    scan_user, *others = account.passwd_lines
    lines = [scan_user.rsplit(":", 1)[0] + f":{shell}", *others]
    hostfiles.write(netns_etc(host.name) / "passwd", render.with_lab_accounts(Path("/etc/passwd").read_text(), lines))


def require_sudo_password(host: LabHost, password: str) -> None:
    """rsscan gets a password (its hash only, made with `openssl passwd -6` from stdin, so the
    password is on no command line) and sudo asks for it: PASSWD instead of NOPASSWD."""
    hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                            capture_output=True, text=True, check=True).stdout.strip()
    etc = netns_etc(host.name)
    lines = []
    for line in (etc / "shadow").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == SCAN_USER:
            fields[1] = hashed
        lines.append(":".join(fields))
    hostfiles.write(etc / "shadow", "\n".join(lines) + "\n", 0o640)
    shutil.chown(etc / "shadow", group="shadow")
    sudoers = render.sudoers(host)
    rule = f"{SCAN_USER}\tALL=(root) NOPASSWD: READYSCAN_READ, READYSCAN_PROBE\n"
    if rule not in sudoers:
        raise LabError("the lab's sudoers no longer has the rule hostile-sudo rewrites")
    hostfiles.write(etc / "sudoers", sudoers.replace(rule, "# hostile-sudo: rsscan must give its password\n"
                                                     + rule.replace("NOPASSWD: ", "PASSWD: ")), 0o440)


def hostile_certificate(host: LabHost) -> list[str]:
    """A lab-CA certificate for the host's names whose subject carries markup; returns the
    listener's --tls-cert/--tls-key arguments (paths inside the host)."""
    out = host_state(host.name) / "run" / TLS_DIR.removeprefix("/run/")
    out.mkdir(parents=True, exist_ok=True)
    key, crt = out / "hostile.key", out / "hostile.crt"
    subject = (f"/O={CERT_ORGANIZATION.replace('/', chr(92) + '/')}"
               f"/OU={CERT_UNIT.replace('/', chr(92) + '/')}/CN={host.fqdn}")
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        csr, ext = Path(tmp) / "req.csr", Path(tmp) / "ext.cnf"
        pki.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)])
        pki.run(["openssl", "req", "-new", "-utf8", "-key", str(key), "-subj", subject, "-out", str(csr)])
        ext.write_text(pki.leaf_extensions(f"DNS:{host.fqdn},IP:{host.address}", self_signed=False))
        pki.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(CA_CERT), "-CAkey", str(CA_KEY),
                 "-sha256", "-days", str(pki.LEAF_DAYS), "-extfile", str(ext),
                 "-set_serial", pki.random_serial(), "-out", str(crt)])
    key.chmod(0o600)
    return ["--tls-cert", f"{TLS_DIR}/{crt.name}", "--tls-key", f"{TLS_DIR}/{key.name}"]


# --- files for the scanner --------------------------------------------------------------------
def write_files(chosen: list[Hostile]) -> None:
    HOSTILE_KNOWN_HOSTS.write_text("\n".join(known_hosts_lines(chosen)) + "\n")
    HOSTILE_INVENTORY.write_text(inventory_text(chosen))


def known_hosts_lines(chosen: list[Hostile]) -> list[str]:
    """The control host's keys as the lab knows them, each hostile sshd's own keys, and a
    throwaway key for the rest: the rekeyed host (its real key changed since), and hosts with no
    sshd at all (an administrator would have a line for them, so the scan meets their port and
    not a missing known_hosts entry)."""
    lines = [line for line in KNOWN_HOSTS.read_text().splitlines()
             if line.split(" ", 1)[0] == CONTROL_HOST.address]
    with tempfile.TemporaryDirectory() as tmp:
        throwaway = Path(tmp) / "stale"
        pki.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "stale", "-f", str(throwaway)])
        for spec in chosen:
            real_sshd = "sshd" in spec.daemons and not spec.stale_key
            keys = (sorted((netns_etc(spec.name) / "ssh").glob("ssh_host_*_key.pub")) if real_sshd
                    else [throwaway.with_suffix(".pub")])
            lines += pki.known_hosts_lines(spec.host.address, keys)
    return lines


def inventory_document(chosen: list[Hostile]) -> dict:
    document = lab_inventory.inventory_document([CONTROL_HOST], state_prefix="")
    names = [spec.name for spec in chosen]
    document["systems"][0]["hosts"] = [CONTROL_HOST.name, *names]
    document["defaults"]["ssh"].update(known_hosts=HOSTILE_KNOWN_HOSTS.name, connect_timeout=TIMEOUTS["connect"],
                                       command_timeout=TIMEOUTS["command"])
    document["hosts"] += [{"name": spec.name, "address": spec.host.address, "fqdn": spec.host.fqdn,
                           "zone": "dmz", "role": spec.role,
                           "services": [Flow(service) for service in spec.services]} for spec in chosen]
    document["scan"].update(ports=Note(SCAN_PORTS, "the ports the hostile hosts misbehave on"),
                            timeouts=Flow(dict(TIMEOUTS)))
    return document


def inventory_text(chosen: list[Hostile]) -> str:
    return dump(inventory_document(chosen), [
        "Hostile and broken lab hosts, and the default lab's hard-01 as the sound one "
        "(written by lab/hostile.py).",
        *(f"  {spec.name} ({spec.host.address}): {spec.summary}" for spec in chosen),
    ])


# --- taking hosts away ------------------------------------------------------------------------
def remove(record: HostileRecord, names: list[str], log=print) -> None:
    """End the recorded processes of these hostile hosts and delete their network and files."""
    entries = {name: record.hosts[name] for name in names if name in record.hosts}
    lifecycle.remove_recorded_hosts(record, entries)
    if entries:
        log(f"removed hostile host(s): {', '.join(entries)}")


def down(log=print) -> None:
    """Remove every hostile host and its files; the default lab is left as it is."""
    with state_lock():
        if PIDS_FILE.exists():
            record = HostileRecord()
            remove(record, list(record.hosts), log)
        HOSTILE_INVENTORY.unlink(missing_ok=True)
        HOSTILE_KNOWN_HOSTS.unlink(missing_ok=True)


def vanish(name: str) -> None:
    """Take a hostile host away as a power cut would: first off the network (so nothing it sends
    while dying reaches anyone, and open connections just go quiet), then every process of it."""
    with state_lock():
        record = HostileRecord()
        entry = record.hosts[name]
        netns.ip("link", "del", entry["veth"], check=False)
        survivors = launch.stop_processes([entry])
        if survivors:
            raise LabError(f"{name}: processes still running: {[p.pid for p in survivors]}")
        netns.remove_host_network(entry["netns"], None)
        hostfiles.remove_host_files(name)
        record.drop_host(name)


def init_process(name: str) -> procs.ProcessId:
    """The recorded PID 1 of a hostile host (its PID namespace is the host's)."""
    return procs.ProcessId.from_dict(HostileRecord().hosts[name]["init"])
