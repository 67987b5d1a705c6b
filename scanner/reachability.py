"""The reachability matrix: for every declared service and every zone a scanner looked from, what
the inventory allows (`exposure`) beside what the port scan saw, and every open port the inventory
does not declare (allowed from nowhere). A cell is a violation when the port answered from a zone
the inventory does not allow. Pure: built from the inventory and the
port-scan facts of each vantage; the scan summary records it, so reports render the scan file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from scanner.facts.ports import HostPortScan
from scanner.inventory import Inventory
from scanner.model import Frozen
from scanner.survey import Answer

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


# -- the XI.3.1 table's rows ("Từ bên trong mạng") answered from the matrix -------------------------
AccessKey = Literal["services", "limits", "management"]
ADMIN_KINDS = frozenset({"ssh"})  # remote administration, as ports.zone_violation.jump_host judges it
# States that tell nothing of whether the port answers from there (open|filtered: nmap could not tell).
UNOBSERVED: frozenset[str] = frozenset({"not_observed", "not_scanned", "unknown", "open|filtered"})
Unsettled = Literal["zone_unknown", "no_jump_host", "managing_only", "no_admin_port", "nothing_observed"]


class ZoneRow(Frozen):
    """One row's facts as one zone saw them: the row's cells seen (with a port state) and not,
    how many of those seen answered, and the cells that speak against the row (an undeclared open
    port; a violation; an admin port open outside the management zones)."""

    zone: str
    observed: int
    unobserved: int
    open: int
    flagged: tuple[ServiceReach, ...] = ()
    managing: bool = False  # management row: the zone is a management zone, admin ports may answer here


class AccessRowFacts(Frozen):
    key: AccessKey
    answer: Answer  # YES, NO or UNDETERMINED (then `unsettled` says why)
    unsettled: Unsettled | None = None
    zones: tuple[ZoneRow, ...]
    managing_zones: tuple[str, ...] = ()  # management row: the zones of the declared jump hosts
    jump_hosts: tuple[str, ...] = ()  # management row: the declared jump hosts, whose own admin ports are not judged


def managing_zones(inventory: Inventory) -> tuple[str, ...] | None:
    """The zones of the declared jump hosts, or None when no jump host is declared."""
    decl = inventory.solutions.jump_host
    if decl is None or not decl.status or not decl.hosts:
        return None
    return tuple(sorted({h.zone for h in inventory.hosts if h.name in set(decl.hosts)}))


def _zone_row(zone: str, counted: list[ServiceReach], flagged: Iterable[ServiceReach], managing: bool = False) -> ZoneRow:
    cells = [s.cells[zone] for s in counted]
    seen = [c for c in cells if c.state not in UNOBSERVED]
    return ZoneRow(zone=zone, observed=len(seen), unobserved=len(cells) - len(seen),
                   open=sum(c.reachable for c in seen), flagged=tuple(flagged), managing=managing)


def _decide(key: AccessKey, zones: list[ZoneRow], judging: list[ZoneRow], unsettled: Unsettled,
            **extra) -> AccessRowFacts:
    """No where a zone flags a cell; yes where a judging zone saw a cell of the row and none
    flags; else undetermined, never yes."""
    if any(z.flagged for z in zones):
        answer, why = Answer.NO, None
    elif any(z.observed for z in judging):
        answer, why = Answer.YES, None
    else:
        answer, why = Answer.UNDETERMINED, unsettled
    return AccessRowFacts(key=key, answer=answer, unsettled=why, zones=tuple(zones), **extra)


def access_rows(matrix: Reachability | None, inventory: Inventory | None) -> dict[AccessKey, AccessRowFacts] | None:
    """The three rows of XI.3.1 from the matrix, zone by zone; None where the matrix cannot speak
    (a file from before it, or no port scan seen from any zone): the rows keep their checks' answers.

    - services: every open port is a declared service (an undeclared one reachable from a zone says no);
    - limits: no zone reaches a service it is not allowed to (`ReachCell.violation`); yes needs a
      zone the inventory names (a scanner of unknown zone cannot compare), never a guess;
    - management: remote administration (SSH) answers only from the zones of the declared jump
      hosts (the jump hosts themselves excepted); yes needs a zone outside them that saw an admin port.
    """
    if matrix is None or not any(c.state not in UNOBSERVED for s in matrix.services for c in s.cells.values()):
        return None
    declared = [s for s in matrix.services if s.declared]
    services = [_zone_row(v, declared, (s for s in matrix.services if not s.declared and s.cells[v].reachable))
                for v in matrix.vantages]
    limits = [_zone_row(v, list(matrix.services), (s for s in matrix.services if s.cells[v].violation))
              for v in matrix.vantages]
    rows = {"services": _decide("services", services, services, "nothing_observed"),
            "limits": _decide("limits", limits, [z for z in limits if z.zone != NOT_ZONED], "zone_unknown")}
    managing = managing_zones(inventory) if inventory is not None else None
    jump_hosts = tuple(inventory.solutions.jump_host.hosts) if managing is not None else ()
    admin = [s for s in matrix.services if s.kind in ADMIN_KINDS and s.proto == "tcp" and s.host not in jump_hosts]
    management = []
    for v in matrix.vantages:
        judged = managing is not None and v != NOT_ZONED and v not in managing  # admin ports must not answer here
        management.append(_zone_row(v, admin, (s for s in admin if judged and s.cells[v].reachable),
                                    managing=v in (managing or ())))
    outside = [z for z in management if z.zone != NOT_ZONED and not z.managing] if managing is not None else []
    why: Unsettled = ("no_jump_host" if managing is None else "no_admin_port" if outside
                      else "managing_only" if any(z.managing for z in management) else "zone_unknown")
    rows["management"] = _decide("management", management, outside, why, managing_zones=managing or (),
                                 jump_hosts=jump_hosts)
    return rows
