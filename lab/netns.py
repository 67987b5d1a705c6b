"""The lab network: bridge ``rslab0`` (10.203.0.1/24) in the root namespace, and per host a
network namespace ``rslab-<host>`` joined to the bridge by a veth pair (``rslabh<i>`` outside,
``eth0`` inside).

Nothing else in the root namespace is touched: no forwarding, NAT, routes or sysctls; only the
interfaces named with the lab prefix. The host ends get no IPv6 link-local address
(addrgenmode none), so the root namespace gains no address outside 10.203.0.0/24.
"""
import json
import subprocess

from .hosts import BRIDGE_ADDRESS, LAB_NETWORK, LabError, LabHost, require_lab_address
from .layout import BRIDGE, PREFIX


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise LabError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def lab_namespaces() -> list[str]:
    """Names of every network namespace carrying the lab prefix (ours, even from a crashed run)."""
    result = ip("-json", "netns", "list", check=False)
    entries = json.loads(result.stdout or "[]") if result.returncode == 0 else []
    return sorted(entry["name"] for entry in entries if entry["name"].startswith(PREFIX + "-"))


def lab_links() -> list[str]:
    """Root-namespace interfaces named with the lab prefix."""
    entries = json.loads(ip("-json", "link", "show").stdout or "[]")
    return sorted(entry["ifname"] for entry in entries if entry["ifname"].startswith(PREFIX))


def namespace_exists(name: str) -> bool:
    return name in lab_namespaces()


def bridge_is_up() -> bool:
    result = ip("-json", "addr", "show", "dev", BRIDGE, check=False)
    if result.returncode != 0:
        return False
    info = json.loads(result.stdout)[0]
    addresses = {a["local"] for a in info.get("addr_info", []) if a.get("family") == "inet"}
    return "UP" in info.get("flags", []) and str(BRIDGE_ADDRESS) in addresses


def ensure_bridge() -> None:
    require_lab_address(BRIDGE_ADDRESS)
    if bridge_is_up():
        return
    ip("link", "del", BRIDGE, check=False)   # a half-made bridge from a crashed run
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("link", "set", BRIDGE, "addrgenmode", "none")
    ip("addr", "add", f"{BRIDGE_ADDRESS}/{LAB_NETWORK.prefixlen}", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")


def remove_bridge() -> None:
    ip("link", "del", BRIDGE, check=False)


def create_host_network(host: LabHost) -> None:
    """Namespace, veth pair on the bridge, the host's address and loopback."""
    address = require_lab_address(host.address)
    ip("netns", "add", host.netns)
    # A fixed MAC per host: a rebuilt host answers at the same MAC, so the bridge address's
    # neighbour cache entry for it stays right (a new random MAC would strand it until it expires).
    ip("link", "add", host.veth, "type", "veth", "peer", "name", "eth0",
       "address", host_mac(host), "netns", host.netns)
    ip("link", "set", host.veth, "addrgenmode", "none")
    ip("link", "set", host.veth, "master", BRIDGE, "up")
    inside = (f"link set lo up\n"
              f"addr add {address}/{LAB_NETWORK.prefixlen} dev eth0\n"
              f"link set eth0 up\n")
    result = subprocess.run(["ip", "-n", host.netns, "-batch", "-"], input=inside,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"configuring {host.netns} failed: {result.stderr.strip()}")


def host_mac(host: LabHost) -> str:
    """Locally administered unicast MAC derived from the host's index: 02:72:73:00:hh:ll."""
    return f"02:72:73:00:{host.index >> 8:02x}:{host.index & 0xff:02x}"


def remove_host_network(netns: str, veth: str | None) -> None:
    """Delete the veth pair first (synchronous), then the namespace (its kernel cleanup is lazy)."""
    if veth:
        ip("link", "del", veth, check=False)
    ip("netns", "del", netns, check=False)


def register_namespace_dir() -> None:
    """Create /run/netns's shared mount once, before hosts are built in parallel: concurrent
    first-time ``ip netns add`` calls could each try to set it up."""
    if lab_namespaces():
        return
    probe = f"{PREFIX}-probe"
    ip("netns", "add", probe)
    ip("netns", "del", probe)

