"""The lab's hosts: names, profiles and addresses, and the guard on the address range.

The lab owns 10.203.0.0/24 and nothing else: the bridge in the root namespace is 10.203.0.1 and
hosts are 10.203.0.10 upwards. Every address the lab configures goes through
``require_lab_address`` first, so a bug cannot make it configure (or later probe) anything else.
"""
import ipaddress
from dataclasses import dataclass

from .layout import DOMAIN, PREFIX, netns_name
from .profiles import PROFILE_ORDER

LAB_NETWORK = ipaddress.ip_network("10.203.0.0/24")
BRIDGE_ADDRESS = ipaddress.ip_address("10.203.0.1")
FIRST_HOST_OFFSET = 10
MAX_HOSTS = LAB_NETWORK.num_addresses - 1 - FIRST_HOST_OFFSET   # .10 … .254
DEFAULT_HOSTS = len(PROFILE_ORDER)
VETH_MAX_LEN = 15   # IFNAMSIZ - 1


class LabError(Exception):
    """A lab operation that cannot go on; the CLI prints it and exits non-zero."""


def require_lab_address(address) -> ipaddress.IPv4Address:
    """Return ``address`` if it is a usable lab address, else refuse loudly."""
    addr = ipaddress.ip_address(str(address))
    if addr not in LAB_NETWORK or addr in (LAB_NETWORK.network_address,
                                           LAB_NETWORK.broadcast_address):
        raise LabError(f"refusing address {addr}: outside the lab range {LAB_NETWORK}")
    offset = int(addr) - int(LAB_NETWORK.network_address)
    if addr != BRIDGE_ADDRESS and offset < FIRST_HOST_OFFSET:
        raise LabError(f"refusing address {addr}: lab hosts start at offset {FIRST_HOST_OFFSET}")
    return addr


@dataclass(frozen=True)
class LabHost:
    name: str
    profile: str
    index: int
    address: str

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{DOMAIN}"

    @property
    def netns(self) -> str:
        return netns_name(self.name)

    @property
    def veth(self) -> str:
        """Root-namespace end of the host's veth pair (the other end is eth0 in the host)."""
        return f"{PREFIX}h{self.index}"


def host_address(index: int) -> str:
    return str(require_lab_address(LAB_NETWORK.network_address + FIRST_HOST_OFFSET + index))


def plan_hosts(count: int = DEFAULT_HOSTS) -> list[LabHost]:
    """Hosts of a lab of ``count``: the profiles repeat in order (hard-01, legacy-01, …, hard-02…)."""
    if not 1 <= count <= MAX_HOSTS:
        raise LabError(f"--hosts must be between 1 and {MAX_HOSTS}, not {count}")
    hosts = []
    for index in range(count):
        profile = PROFILE_ORDER[index % len(PROFILE_ORDER)]
        number = index // len(PROFILE_ORDER) + 1
        host = LabHost(f"{profile}-{number:02d}", profile, index, host_address(index))
        if len(host.veth) > VETH_MAX_LEN:
            raise LabError(f"interface name {host.veth} is longer than {VETH_MAX_LEN}")
        hosts.append(host)
    return hosts
