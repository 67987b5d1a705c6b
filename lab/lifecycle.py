"""Bring the lab up and take it down.

``up`` reconciles: hosts that already run with the same configuration are kept, missing, broken
or changed ones are (re)built in parallel, hosts beyond the requested count are removed, and
leftovers of a crashed run are cleaned up. Every process it starts is recorded in
``lab/.state/pids.json`` as soon as it exists (records.py); ``down`` ends exactly those processes,
then removes every ``rslab*`` link and namespace, the /etc/netns dirs and ``lab/.state/``.
"""
import hashlib
import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from . import hostfiles, inventory, launch, netns, pki, procs, zones
from .hosts import DEFAULT_HOSTS, LabError, LabHost, plan_hosts
from .layout import (
    CA_CERT,
    HOSTS_FILE,
    HOSTS_STATE_DIR,
    JOURNALD,
    KNOWN_HOSTS,
    LAB_DIR,
    NETNS_ETC_DIR,
    PIDS_FILE,
    PREFIX,
    STATE_DIR,
    STATE_EXPECTED,
    STATE_INVENTORY,
    STATE_WAIVERS,
    STATE_ZONED_INVENTORY,
    STATE_ZONED_WAIVERS,
    netns_etc,
)
from .profiles import PROFILES
from .records import Record, state_lock
from .status import format_status, status  # noqa: F401  (the CLI and tests use them from here)

REQUIRED_TOOLS = {"ip": "iproute2", "unshare": "util-linux", "mount": "mount",
                  "openssl": "openssl", "ssh-keygen": "openssh-client",
                  "/usr/sbin/sshd": "openssh-server", "/usr/sbin/nginx": "nginx",
                  "/usr/sbin/rsyslogd": "rsyslog", JOURNALD: "systemd"}
BUILD_WORKERS = 8
CREATED_NETNS_ETC_MARK = STATE_DIR / "created-etc-netns"
# The lab's own code that decides what a host is: an edit to any of these rebuilds the hosts.
HOST_SHAPING_SOURCES = ("profiles.py", "render.py", "hostfiles.py", "pki.py", "netns.py",
                        "hostinit.py", "listener.py", "launch.py")


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, mounts, daemons)")


def require_tools() -> None:
    missing = [f"{tool} (Debian package {package})" for tool, package in REQUIRED_TOOLS.items()
               if not shutil.which(tool)]
    if missing:
        raise LabError("missing tools: " + ", ".join(missing))


def nft_path() -> str | None:
    return shutil.which("nft")


# --- up ---------------------------------------------------------------------------------------
def up(count: int = DEFAULT_HOSTS, log=print, with_zones: bool = False) -> dict:
    """Make the lab exactly ``count`` hosts, all running. Returns a summary. ``with_zones`` adds
    the zone firewall and the scanners' vantages (lab/zones.py); once made, every ``up`` keeps
    them matching the hosts, until ``down``."""
    require_root()
    require_tools()
    hosts = plan_hosts(count)
    started = time.monotonic()
    with state_lock():
        record = prepare_shared_parts()
        account = hostfiles.ScanAccount.current()
        fingerprints = {host.name: fingerprint(host, account) for host in hosts}
        kept = {host.name for host in hosts
                if host_is_healthy(host, record.hosts.get(host.name), fingerprints[host.name])}
        remove_other_hosts(record, kept, log)
        to_build = [host for host in hosts if host.name not in kept]
        if to_build:
            log(f"building {len(to_build)} host(s), keeping {len(kept)}")
            build_hosts(to_build, record, account, fingerprints)
            launch.wait_until_ready(to_build)
            launch.record_processes(record, to_build)
        write_shared_files(hosts, record)
        if with_zones or record.zones:
            ensure_zones(hosts, record, log)
    elapsed = time.monotonic() - started
    log(f"lab up: {len(hosts)} host(s) ({len(to_build)} built, {len(kept)} kept) in {elapsed:.1f}s")
    return {"hosts": [host.name for host in hosts], "built": [host.name for host in to_build],
            "kept": sorted(kept), "seconds": elapsed}


def prepare_shared_parts() -> Record:
    """State dir, CA, client key, bridge and log collector: made once, kept across `up`s."""
    HOSTS_STATE_DIR.mkdir(parents=True, exist_ok=True)
    if not NETNS_ETC_DIR.exists():   # remember to remove it again: it was not the machine's
        NETNS_ETC_DIR.mkdir(mode=0o755)
        CREATED_NETNS_ETC_MARK.touch()
    pki.ensure_ca()
    pki.ensure_client_key()
    netns.ensure_bridge()
    netns.register_namespace_dir()
    record = Record()
    launch.ensure_collector(record)
    return record


def fingerprint(host: LabHost, account: hostfiles.ScanAccount) -> str:
    """Changes whenever anything that shapes the host changes: its profile, the CA, the client
    key, the scanning user's and the sysadmin's ids (and the sysadmin's password), whether nftables
    exists, or the lab's own code."""
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(host), PROFILES[host.profile], account.uid,
                              account.public_key, account.admin_uid, account.admin_hash, bool(nft_path())],
                             sort_keys=True,
                             default=str).encode())
    digest.update(CA_CERT.read_bytes())
    for source in HOST_SHAPING_SOURCES:
        digest.update((LAB_DIR / source).read_bytes())
    return digest.hexdigest()


def host_is_healthy(host: LabHost, entry: dict | None, wanted_fingerprint: str) -> bool:
    if not entry or entry.get("fingerprint") != wanted_fingerprint or not entry.get("ready"):
        return False
    if not netns.namespace_exists(host.netns) or not netns_etc(host.name).is_dir():
        return False
    vital = [entry["init"]] + list(entry.get("daemons", {}).values())
    return all(procs.is_running(procs.ProcessId.from_dict(item)) for item in vital)


def remove_other_hosts(record: Record, kept: set[str], log) -> None:
    """Tear down every lab host not kept: recorded ones, and leftovers of a crashed run."""
    doomed = {name: entry for name, entry in record.hosts.items() if name not in kept}
    if doomed:
        names = ", ".join(sorted(doomed)) if len(doomed) <= 8 else "…"
        log(f"removing {len(doomed)} host(s): {names}")
    remove_recorded_hosts(record, doomed)
    # Side hosts (lab/hostile.py) are not this lab's to shrink: their network and files stay.
    side = record.side_hosts
    kept_namespaces = ({f"{PREFIX}-{name}" for name in kept} | {entry["netns"] for entry in side.values()}
                       | set((record.zones or {}).get("namespaces", [])))
    kept_veths = {record.hosts[name]["veth"] for name in kept} | {entry["veth"] for entry in side.values()}
    for namespace in netns.lab_namespaces():
        if namespace not in kept_namespaces:
            warn_unrecorded(namespace, log)
            netns.remove_host_network(namespace, None)
    for link in netns.lab_links():
        if link.startswith(f"{PREFIX}h") and link not in kept_veths:
            netns.ip("link", "del", link, check=False)
    for directory in NETNS_ETC_DIR.glob(f"{PREFIX}-*"):
        if directory.name not in kept_namespaces:
            shutil.rmtree(directory, ignore_errors=True)
    for directory in HOSTS_STATE_DIR.iterdir():
        if directory.name not in kept and directory.name not in side:
            shutil.rmtree(directory, ignore_errors=True)


def remove_recorded_hosts(record: Record, doomed: dict[str, dict]) -> None:
    """End the recorded processes of these hosts, then delete their network, files and record."""
    survivors = launch.stop_processes(list(doomed.values()))
    if survivors:
        raise LabError(f"processes of removed hosts still running: {[p.pid for p in survivors]}")
    for name, entry in doomed.items():
        netns.remove_host_network(entry["netns"], entry.get("veth"))
        hostfiles.remove_host_files(name)
        record.drop_host(name)


def warn_unrecorded(namespace: str, log) -> None:
    strays = launch.unrecorded_in_namespace(namespace)
    if strays:
        log(f"warning: unrecorded processes in {namespace} left running: {strays}")


def build_hosts(hosts: list[LabHost], record: Record, account: hostfiles.ScanAccount,
                fingerprints: dict[str, str]) -> None:
    def build(host: LabHost) -> None:
        build_host(host, record, account, fingerprints[host.name])

    with ThreadPoolExecutor(max_workers=min(BUILD_WORKERS, len(hosts))) as pool:
        failures = [future.exception() for future in [pool.submit(build, h) for h in hosts]]
    failures = [failure for failure in failures if failure]
    if failures:
        raise LabError(f"{len(failures)} host(s) failed to build; first: {failures[0]}")


def build_host(host: LabHost, record: Record, account: hostfiles.ScanAccount,
               wanted_fingerprint: str) -> None:
    """Files, network, firewall, then the host's init (which starts its daemons)."""
    hostfiles.remove_host_files(host.name)
    hostfiles.make_private_dirs(host, account)
    hostfiles.write_etc_overlay(host, account)
    record.set_host(host.name, {"profile": host.profile, "index": host.index,
                                "address": host.address, "fqdn": host.fqdn, "netns": host.netns,
                                "veth": host.veth, "fingerprint": wanted_fingerprint,
                                "unbound_etc": hostfiles.unbindable_entries(host.name),
                                "ready": False})
    netns.create_host_network(host)
    record.update_host(host.name, firewall=load_firewall(host))
    launch.start_host(host, record)


def load_firewall(host: LabHost) -> str:
    """Load the profile's nftables rules into the host's own netns (never the root one)."""
    if not PROFILES[host.profile]["firewall"]:
        return "none"
    nft = nft_path()
    if not nft:
        return "skipped: nftables not installed"
    rules = netns_etc(host.name) / "nftables.conf"
    result = subprocess.run(["ip", "netns", "exec", host.netns, nft, "-f", str(rules)],
                            capture_output=True, text=True, env=launch.CLEAN_ENV)
    if result.returncode != 0:
        raise LabError(f"{host.name}: nft -f {rules} failed: {result.stderr.strip()}")
    return "nftables"


def write_shared_files(hosts: list[LabHost], record: Record) -> None:
    """known_hosts, the name map, and the inventory and expectations of the hosts that are up."""
    known_hosts, names = [], ["# readyscan lab hosts: name resolution for the lab only\n"]
    for host in hosts:
        public_keys = sorted((netns_etc(host.name) / "ssh").glob("ssh_host_*_key.pub"))
        known_hosts += pki.known_hosts_lines(host.address, public_keys)
        names.append(f"{host.address}\t{host.fqdn} {host.name}\n")
    KNOWN_HOSTS.write_text("\n".join(known_hosts) + "\n")
    HOSTS_FILE.write_text("".join(names))
    STATE_INVENTORY.write_text(inventory.inventory_text(hosts, state_prefix=""))
    STATE_WAIVERS.write_text(inventory.waivers_text())
    firewall_loaded = all(not entry.get("firewall", "").startswith("skipped")
                          for entry in record.hosts.values())
    STATE_EXPECTED.write_text(inventory.expected_text(hosts, firewall_loaded))


def ensure_zones(hosts: list[LabHost], record: Record, log) -> None:
    """The zone firewall and vantages for these hosts, and the inventory that scans from them."""
    if not zones.is_up(record.zones, hosts):
        nft = nft_path()
        if not nft:
            raise LabError("the lab's zones need nftables (Debian package nftables)")
        log(f"building the zone firewall and {len(zones.VANTAGES)} vantages")
        record.set_zones(None)
        record.set_zones(zones.build(hosts, nft))
    STATE_ZONED_INVENTORY.write_text(inventory.zoned_inventory_text(hosts, state_prefix=""))
    STATE_ZONED_WAIVERS.write_text(inventory.waivers_text())


# --- down -------------------------------------------------------------------------------------
def down(log=print) -> dict:
    """Remove everything the lab made. Safe to run when parts (or all) are already gone."""
    require_root()
    started = time.monotonic()
    with state_lock():
        removed = remove_everything(log)
    elapsed = time.monotonic() - started
    log(f"lab down: {removed} host(s) removed in {elapsed:.1f}s")
    return {"hosts": removed, "seconds": elapsed}


def remove_everything(log) -> int:
    entries, extras = [], []
    if PIDS_FILE.exists():
        record = Record()
        entries = [*record.hosts.values(), *record.side_hosts.values()]
        extras = [record.collector] if record.collector else []
    survivors = launch.stop_processes(entries, extras)
    for namespace in netns.lab_namespaces():
        warn_unrecorded(namespace, log)
    for link in sorted(netns.lab_links(), key=lambda name: name == netns.BRIDGE):  # veths first
        netns.ip("link", "del", link, check=False)
    for namespace in netns.lab_namespaces():
        netns.ip("netns", "del", namespace, check=False)
    for directory in NETNS_ETC_DIR.glob(f"{PREFIX}-*"):
        shutil.rmtree(directory, ignore_errors=True)
    if CREATED_NETNS_ETC_MARK.exists() and NETNS_ETC_DIR.is_dir() and not any(NETNS_ETC_DIR.iterdir()):
        NETNS_ETC_DIR.rmdir()
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    if survivors:
        raise LabError(f"processes still running after down: {[p.pid for p in survivors]}")
    return len(entries)
