"""The reachability matrix: for every declared service and every zone a scanner looked from, what
the inventory allows (`exposure`) beside what the port scan saw, and every open port the inventory
does not declare (allowed from nowhere). A cell is a violation when the port answered from a zone
the inventory does not allow. Pure: built from the inventory and the
port-scan facts of each vantage; the scan summary records it, so reports render the scan file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from scanner.facts.ports import HostPortScan
from scanner.inventory import Inventory
from scanner.model import Frozen

CellState = Literal["open", "closed", "filtered", "open|filtered", "unfiltered", "closed|filtered",
                    "not_scanned", "unknown", "not_observed"]
NOT_ZONED = ""  # the vantage of a scan whose scanner's zone is not declared


class ReachCell(Frozen):
    """One service seen from one zone."""

    allowed: bool | None  # the inventory lets this zone reach it; None: the zone is not declared
    state: CellState  # what the port scan from this zone saw; not_observed: no port scan facts

    @property
    def violation(self) -> bool:
        return self.allowed is False and self.state == "open"

    @property
    def reachable(self) -> bool:
        return self.state == "open"


class ServiceReach(Frozen):
    host: str
    host_zone: str
    port: int
    proto: str
    declared: bool = True  # False: an open port the inventory does not list
    kind: str  # the declared kind; for an undeclared port, what nmap named it
    name: str | None = None
    allowed_zones: tuple[str, ...]
    cells: dict[str, ReachCell]  # vantage zone -> what was seen from there

    @property
    def target(self) -> str:
        return f"{self.port}/{self.proto}"


class Reachability(Frozen):
    vantages: tuple[str, ...]
    services: tuple[ServiceReach, ...] = ()

    def violations(self) -> list[tuple[ServiceReach, str]]:
        return [(s, v) for s in self.services for v, cell in s.cells.items() if cell.violation]


def _state(scan: HostPortScan | None, port: int, proto: str) -> CellState:
    if scan is None:
        return "not_observed"
    if not scan.was_scanned(port, proto):
        return "not_scanned"
    fact = scan.state_of(port, proto)
    return fact.state if fact is not None and fact.state in CellState.__args__ else "unknown"  # type: ignore[attr-defined]


def reachability(inventory: Inventory, scans: Mapping[str, Mapping[str, HostPortScan | None]]) -> Reachability:
    """`scans`: vantage zone -> host name -> that host's port scan from there (None: none)."""
    vantages = tuple(scans)
    services = []
    for host in inventory.hosts:
        declared = {(s.port, s.proto) for s in host.services}
        for service in host.services:
            cells = {vantage: ReachCell(allowed=service.allows(vantage or None, host.zone),
                                        state=_state(scans[vantage].get(host.name), service.port, service.proto))
                     for vantage in vantages}
            services.append(ServiceReach(host=host.name, host_zone=host.zone, port=service.port, proto=service.proto,
                                         kind=service.kind, name=service.name,
                                         allowed_zones=tuple(service.allowed_zones(host.zone)), cells=cells))
        seen = [scan for vantage in vantages if (scan := scans[vantage].get(host.name)) is not None]
        undeclared = {(f.port, f.proto): f.service for scan in seen for f in scan.open_ports()
                      if (f.port, f.proto) not in declared}
        for (port, proto), seen_as in sorted(undeclared.items()):
            cells = {vantage: ReachCell(allowed=False, state=_state(scans[vantage].get(host.name), port, proto))
                     for vantage in vantages}
            services.append(ServiceReach(host=host.name, host_zone=host.zone, port=port, proto=proto, declared=False,
                                         kind=seen_as or "", allowed_zones=(), cells=cells))
    return Reachability(vantages=vantages, services=tuple(services))
