"""The lab's network zones: where readyscan's zone workers stand, and the firewall between them.

A province's data centre is cut into zones by firewalls. The lab models that beside its flat
bridge, without touching the hosts or the root namespace's rules:

- a **vantage** per scanner zone (mgmt, internet, dmz, user): network namespace
  ``rslab-z-<zone>`` with one address of the lab range below the hosts' (10.203.0.2–.9), where a
  ``readyscan worker --zone <zone>`` runs;
- the **zone firewall**: namespace ``rslab-fw`` holding bridge ``fw0``, which joins every vantage
  (port ``z-<zone>``) to the lab bridge ``rslab0`` (port ``uplink``, whose root end is
  ``rslabfw``). Its nftables ``bridge`` table filters what each vantage sends: what the zone
  policy below lets through, the broker (the one opening a zone worker needs), ARP and ICMP.
  Everything else is dropped, as a firewall does, so the port scan sees it ``filtered``.
  Replies are not filtered: only the direction a connection is opened in is.

The policy is the inventory's declared exposure, plus the permissive rules and holes a real
province's firewalls carry (``SEEDED``): each one makes a violation that only one vantage sees.
``expected_violations`` says, from the profiles, which (zone, host, port) cells a scan must mark
as violations, and no others.
"""
from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass

from . import netns
from .hosts import BRIDGE_ADDRESS, FIRST_HOST_OFFSET, LAB_NETWORK, LabError, LabHost
from .layout import BRIDGE, PREFIX
from .profiles import MGMT_STATION, PROFILES

FIREWALL_NETNS = f"{PREFIX}-fw"
FIREWALL_BRIDGE = "fw0"
UPLINK_ROOT = f"{PREFIX}fw"  # on rslab0, in the root namespace
UPLINK_FIREWALL = "uplink"
NFT_TABLE = "rslab_zones"
BROKER_PORT = 6390  # the lab's broker listens on the bridge address, 10.203.0.1, on this port
EVERYONE = "internet"  # a service open to the Internet is open to every zone
# Administrators sit in mgmt and reach the servers through the jump host, which stands in the
# DMZ: so the DMZ's scanner logs in to every host, as an administrator's session does.
MANAGEMENT_ZONE = "mgmt"
MANAGED_FROM = "dmz"


@dataclass(frozen=True)
class Vantage:
    zone: str
    offset: int  # the address is 10.203.0.<offset>
    name: str  # the scanner's name in the inventory
    label: str  # the zone's name in the inventory (Vietnamese, as the report prints it)

    @property
    def address(self) -> str:
        return str(LAB_NETWORK.network_address + self.offset)

    @property
    def netns(self) -> str:
        return f"{PREFIX}-z-{self.zone}"

    @property
    def port(self) -> str:
        """The vantage's port on the firewall bridge."""
        return f"z-{self.zone}"


# mgmt is the administrators' station, which the hardened profile already opens 9100 to.
VANTAGES = (
    Vantage("mgmt", int(ipaddress.ip_address(MGMT_STATION)) - int(LAB_NETWORK.network_address),
            "quet-quantri", "Vùng quản trị"),
    Vantage("internet", 3, "quet-internet", "Internet"),
    Vantage("dmz", 4, "quet-dmz", "Vùng DMZ"),
    Vantage("user", 5, "quet-nguoidung", "Vùng người dùng"),
)
HOST_ZONE_LABELS = {"dmz": "Vùng DMZ", "app": "Vùng ứng dụng", "db": "Vùng cơ sở dữ liệu"}

# The zone policy beyond the declared exposure: what each zone's firewall lets through anyway.
MONITORING_PORT = 9100  # the management zone reaches every host's monitoring, and SSH on the jump host only
TRUSTED_SEGMENTS = {"dmz": ("dmz", "app")}  # the DMZ reaches every port of the DMZ and app hosts


@dataclass(frozen=True)
class Hole:
    """A rule a real firewall carries by mistake: `zone` reaches `port` on hosts of `profile`."""
    zone: str
    profile: str
    port: int
    why: str


SEEDED = (
    Hole("internet", "weakssh", 22, "the jump host's SSH is published to the Internet"),
    Hole("internet", "badcert", 8443, "the content administration page is published to the Internet"),
    Hole("user", "dbhost", 5432, "the user LAN reaches the database, which only the app zone may"),
)


def _require_vantage_addresses() -> None:
    """Vantages take the lab range's addresses below the hosts' (the bridge is .1), never others."""
    for v in VANTAGES:
        if not 1 < v.offset < FIRST_HOST_OFFSET:
            raise LabError(f"vantage {v.zone}: 10.203.0.{v.offset} is not between the bridge and the hosts")


def vantage(zone: str) -> Vantage:
    return next(v for v in VANTAGES if v.zone == zone)


# --- the policy (pure) --------------------------------------------------------------------------
def _declared(host: LabHost) -> list[dict]:
    return PROFILES[host.profile]["services"]


def _allows(service: dict, zone: str, host_zone: str) -> bool:
    """The inventory's rule (scanner.inventory.Service.allows), for the lab's own services."""
    zones = service.get("exposure") or [host_zone]
    return EVERYONE in zones or zone in zones


def _listening(host: LabHost) -> set[int]:
    """Every TCP port the host's profile listens on, declared or not."""
    profile = PROFILES[host.profile]
    ports = {22} if profile.get("ssh") else set()
    web = profile.get("web")
    if web:
        ports |= {80} | {site["port"] for site in web.get("https", [])} | set(web.get("plain", []))
    if profile.get("ftp"):
        ports.add(21)
    return ports | {listener["port"] for listener in profile.get("listeners", [])}


def allowed_ports(zone: str, host: LabHost) -> set[int] | None:
    """TCP ports of `host` the zone firewall lets `zone` reach; None: every port."""
    host_zone = PROFILES[host.profile]["zone"]
    if host_zone in TRUSTED_SEGMENTS.get(zone, ()):
        return None
    ports = {s["port"] for s in _declared(host) if s["proto"] == "tcp" and _allows(s, zone, host_zone)}
    if zone == MANAGEMENT_ZONE:
        ports = {MONITORING_PORT} | ({22} if PROFILES[host.profile]["role"] == "bastion" else set())
    return ports | {hole.port for hole in SEEDED if hole.zone == zone and hole.profile == host.profile}


def host_firewall_admits(host: LabHost, port: int, source: str) -> bool:
    """The host's own nftables (profiles' "firewall"): default deny, then its rules."""
    rules = PROFILES[host.profile]["firewall"]
    if not rules:
        return True
    return any(rule["tcp"] == port and (not rule.get("from") or ipaddress.ip_address(source)
                                        in ipaddress.ip_network(rule["from"])) for rule in rules)


def expected_violations(hosts: list[LabHost]) -> dict[str, set[tuple[str, int]]]:
    """Per vantage zone, the (host, port) cells a scan must mark as violations: ports the host
    listens on, that both firewalls let the zone reach, and that the inventory does not allow."""
    out: dict[str, set[tuple[str, int]]] = {}
    for v in VANTAGES:
        cells = set()
        for host in hosts:
            through = allowed_ports(v.zone, host)
            host_zone = PROFILES[host.profile]["zone"]
            declared = {s["port"]: s for s in _declared(host) if s["proto"] == "tcp"}
            for port in _listening(host):
                if through is not None and port not in through:
                    continue
                if not host_firewall_admits(host, port, v.address):
                    continue
                service = declared.get(port)
                if service is None or not _allows(service, v.zone, host_zone):
                    cells.add((host.name, port))
        out[v.zone] = cells
    return out


def nft_ruleset(hosts: list[LabHost]) -> str:
    """The zone firewall's rules: a chain per vantage, entered by the bridge port it came in on."""
    lines = [f"table bridge {NFT_TABLE} {{",
             "  chain forward {",
             "    type filter hook forward priority 0; policy accept;"]
    lines += [f'    iifname "{v.port}" jump from_{v.zone}' for v in VANTAGES]
    lines.append("  }")
    for v in VANTAGES:
        lines += [f"  chain from_{v.zone} {{",
                  "    ether type arp accept",
                  "    ip protocol icmp accept",
                  f"    ip daddr {BRIDGE_ADDRESS} tcp dport {BROKER_PORT} accept"]
        for host in hosts:
            ports = allowed_ports(v.zone, host)
            if ports is None:
                lines.append(f"    ip daddr {host.address} accept")
            elif ports:
                lines.append(f"    ip daddr {host.address} tcp dport {{ {', '.join(map(str, sorted(ports)))} }} accept")
        lines += ["    drop", "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- the network (root) -------------------------------------------------------------------------
def fingerprint(hosts: list[LabHost]) -> str:
    return json.dumps({"rules": nft_ruleset(hosts), "vantages": [v.__dict__ for v in VANTAGES]}, sort_keys=True)


def is_up(record_entry: dict | None, hosts: list[LabHost]) -> bool:
    if not record_entry or record_entry.get("fingerprint") != fingerprint(hosts):
        return False
    present = set(netns.lab_namespaces())
    return {FIREWALL_NETNS, *(v.netns for v in VANTAGES)} <= present and UPLINK_ROOT in netns.lab_links()


def namespaces() -> list[str]:
    return [FIREWALL_NETNS, *(v.netns for v in VANTAGES)]


def remove() -> None:
    netns.ip("link", "del", UPLINK_ROOT, check=False)
    for name in namespaces():
        netns.ip("netns", "del", name, check=False)


def build(hosts: list[LabHost], nft: str) -> dict:
    """(Re)build the firewall namespace, its bridge and uplink, and every vantage. Returns the
    record entry."""
    _require_vantage_addresses()
    remove()
    netns.ip("netns", "add", FIREWALL_NETNS)
    batch = [f"link add {FIREWALL_BRIDGE} type bridge",
             f"link set {FIREWALL_BRIDGE} addrgenmode none",
             f"link set {FIREWALL_BRIDGE} up"]
    _batch(FIREWALL_NETNS, batch)
    netns.ip("link", "add", UPLINK_ROOT, "type", "veth", "peer", "name", UPLINK_FIREWALL, "netns", FIREWALL_NETNS)
    netns.ip("link", "set", UPLINK_ROOT, "addrgenmode", "none")
    netns.ip("link", "set", UPLINK_ROOT, "master", BRIDGE, "up")
    _batch(FIREWALL_NETNS, [f"link set {UPLINK_FIREWALL} addrgenmode none",
                            f"link set {UPLINK_FIREWALL} master {FIREWALL_BRIDGE} up"])
    for v in VANTAGES:
        netns.ip("netns", "add", v.netns)
        netns.ip("-n", FIREWALL_NETNS, "link", "add", v.port, "type", "veth", "peer", "name", "eth0", "netns", v.netns)
        _batch(FIREWALL_NETNS, [f"link set {v.port} addrgenmode none", f"link set {v.port} master {FIREWALL_BRIDGE} up"])
        _batch(v.netns, ["link set lo up", f"addr add {v.address}/{LAB_NETWORK.prefixlen} dev eth0",
                         "link set eth0 up"])
    loaded = subprocess.run(["ip", "netns", "exec", FIREWALL_NETNS, nft, "-f", "-"], input=nft_ruleset(hosts),
                            capture_output=True, text=True, check=False)
    if loaded.returncode != 0:
        raise LabError(f"the zone firewall's rules did not load: {loaded.stderr.strip()}")
    return {"fingerprint": fingerprint(hosts), "namespaces": namespaces(), "uplink": UPLINK_ROOT,
            "vantages": {v.zone: v.address for v in VANTAGES}}


def _batch(namespace: str, commands: list[str]) -> None:
    done = subprocess.run(["ip", "-n", namespace, "-batch", "-"], input="\n".join(commands) + "\n",
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"configuring {namespace} failed: {done.stderr.strip()}")
