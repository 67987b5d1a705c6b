"""Facts about a host's capacity (survey section VIII) and listening sockets (host collector)."""

from __future__ import annotations

import ipaddress
from typing import ClassVar, Literal

from scanner.facts.host import HostFact
from scanner.model import Frozen


class Filesystem(Frozen):
    device: str
    mount: str
    fstype: str | None = None  # from /proc/mounts
    total_kb: int
    used_kb: int
    available_kb: int
    used_percent: int | None = None  # df's Capacity column
    pseudo: bool = False  # tmpfs, overlay, squashfs, ...: not storage an inspector counts


class Disks(HostFact):
    PART: ClassVar[str] = "disks"
    items: tuple[Filesystem, ...] = ()
    df_missing: bool = False
    unparsed: tuple[str, ...] = ()

    @property
    def storage(self) -> list[Filesystem]:
        """Real filesystems, each device once (bind mounts repeat a device)."""
        seen: set[str] = set()
        out = []
        for fs in self.items:
            if fs.pseudo or fs.device in seen:
                continue
            seen.add(fs.device)
            out.append(fs)
        return out


class Hardware(HostFact):
    PART: ClassVar[str] = "hardware"
    cpu_count: int | None = None
    cpu_model: str | None = None
    mem_total_kb: int | None = None
    mem_available_kb: int | None = None
    swap_total_kb: int | None = None


class Listener(Frozen):
    proto: Literal["tcp", "udp"]
    address: str  # "0.0.0.0", "::", "127.0.0.1", "*"
    port: int
    interface: str | None = None  # ss shows %lo for sockets bound to one device
    process: str | None = None  # needs root for other users' sockets
    pid: int | None = None

    @property
    def target(self) -> str:
        return f"{self.port}/{self.proto}"

    @property
    def all_interfaces(self) -> bool:
        """Bound to every address of the host (0.0.0.0, ::, *), not pinned to one device."""
        return self.address in ("0.0.0.0", "::", "*", "[::]", "::ffff:0.0.0.0") and not self.interface

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.address.strip("[]").split("%")[0]).is_loopback
        except ValueError:
            return False


class Listeners(HostFact):
    PART: ClassVar[str] = "listeners"
    source: str | None = None  # ss | netstat | proc
    as_root: bool = False
    items: tuple[Listener, ...] = ()
    processes_visible: bool = False  # False: process names need root
    unparsed: tuple[str, ...] = ()
