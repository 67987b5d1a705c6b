"""Network access control as the port scan sees it (XI.3.1): open ports against the declared
services and zones, risky services, database ports and SSH outside the jump host.

Zones: a declared service may be reached from the zones in its `exposure` (empty: its own zone
only; `any`/`internet`: from everywhere). The scanner stands in `scan.from_zone`; without it,
zone rules cannot be judged and say so.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from checks.registry import HostContext, Registry, Verdict, failed, passed, verdict
from checks.settings import load_data
from scanner.facts.ports import HostPortScan, PortFact, parse_port_spec
from scanner.inventory import Host, Inventory, Service
from scanner.model import Severity, Status

EVERYWHERE = frozenset({"any", "internet"})
REQUIRES = ("ports",)


class RiskyService(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str
    ports: str
    proto: Literal["tcp", "udp"]
    category: Literal["cleartext", "file_sharing", "remote_access", "network_mgmt", "database",
                      "admin_panel", "container"]
    severity: Severity
    allowed_if_declared: bool
    source: str

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: str) -> str:
        parse_port_spec(value)
        return value

    def covers(self, port: int, proto: str) -> bool:
        return proto == self.proto and port in _ports_of(self.ports)


class PortsData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    risky: tuple[RiskyService, ...]


@lru_cache(maxsize=32)
def _ports_of(spec: str) -> frozenset[int]:
    return frozenset(parse_port_spec(spec))


@lru_cache(maxsize=1)
def ports_data() -> PortsData:
    return load_data("ports", PortsData)


def risky_row(port: int, proto: str, data: PortsData) -> RiskyService | None:
    return next((row for row in data.risky if row.covers(port, proto)), None)


def is_database(port: int, proto: str, service: Service | None, data: PortsData) -> bool:
    row = risky_row(port, proto, data)
    return (service is not None and service.kind == "db") or (row is not None and row.category == "database")


# -- zones ---------------------------------------------------------------------------------------

def allowed_zones(service: Service, host: Host) -> list[str]:
    return list(service.exposure) or [host.zone]


def reachable_by_design(service: Service, host: Host, from_zone: str | None) -> bool | None:
    """Whether the inventory allows the scanner's zone to reach the service; None when the
    scanner's zone is not known and the service is not open to everyone."""
    zones = set(allowed_zones(service, host))
    if zones & EVERYWHERE:
        return True
    if from_zone is None:
        return None
    return from_zone in zones


def declared_services(host: Host) -> dict[tuple[int, str], Service]:
    return {(s.port, s.proto): s for s in host.services}


def jump_zones(inventory: Inventory) -> set[str] | None:
    """Zones of the declared jump hosts (the management zones), or None when no jump host with
    hosts is declared."""
    decl = inventory.solutions.jump_host
    if decl is None or not decl.status or not decl.hosts:
        return None
    names = set(decl.hosts)
    return {h.zone for h in inventory.hosts if h.name in names}


# -- evidence --------------------------------------------------------------------------------------

def port_evidence(fact: PortFact, scan: HostPortScan, **extra) -> dict:
    evidence = {"port": fact.port, "proto": fact.proto, "state": fact.state, "reason": fact.reason,
                "service": fact.service, "service_method": fact.service_method}
    if fact.product or fact.version:
        evidence.update(product=fact.product, version=fact.version, extrainfo=fact.extrainfo)
    evidence.update(scan_method=scan.methods.get(fact.proto, ""), address=scan.address)
    evidence.update(extra)
    return evidence


def scan_summary(scan: HostPortScan, ctx: HostContext) -> dict:
    return {"address": scan.address, "open": [p.target for p in scan.open_ports()],
            "ports_scanned": {proto: len(parse_port_spec(spec)) for proto, spec in scan.scanned.items() if spec},
            "methods": scan.methods, "from_zone": ctx.inventory.scan.from_zone,
            "command_line": scan.command_line, "notes": list(scan.notes)}


def _state_or_unknown(scan: HostPortScan, port: int, proto: str) -> tuple[PortFact | None, Verdict | None]:
    """The port's state, or the verdict saying why it is not known."""
    target = f"{port}/{proto}"
    if not scan.was_scanned(port, proto):
        return None, verdict(Status.UNKNOWN, "not_scanned", target=target, port=port, proto=proto,
                             evidence={"scanned": list(scan.scanned), "notes": list(scan.notes)})
    fact = scan.state_of(port, proto)
    if fact is None:
        return None, verdict(Status.UNKNOWN, "state_unknown", target=target, port=port, proto=proto)
    return fact, None


def _judge_zone_rule(scan: HostPortScan, host: Host, service: Service, from_zone: str) -> Verdict:
    """A declared service the scanner's zone must not reach fails if open; one it may reach passes."""
    target, zones = f"{service.port}/{service.proto}", allowed_zones(service, host)
    if reachable_by_design(service, host, from_zone):
        return passed("allowed", target=target, port=service.port, proto=service.proto, zone=from_zone,
                      allowed=zones, evidence={"allowed_zones": zones, "from_zone": from_zone})
    fact, unknown = _state_or_unknown(scan, service.port, service.proto)
    if unknown:
        return unknown
    evidence = port_evidence(fact, scan, allowed_zones=zones, from_zone=from_zone, host_zone=host.zone,
                             declared_kind=service.kind, declared_name=service.name)
    if fact.is_open:
        return failed("reachable", target=fact.target, evidence=evidence, port=fact.port, proto=fact.proto,
                      zone=from_zone, allowed=zones)
    if fact.state == "open|filtered":
        return verdict(Status.UNKNOWN, "open_filtered", target=fact.target, evidence=evidence, port=fact.port)
    return passed("blocked", target=fact.target, evidence=evidence, port=fact.port, proto=fact.proto,
                  zone=from_zone, state=fact.state)


def register(registry: Registry) -> None:
    @registry.check("ports.undeclared_open", items=["XI.3.1", "XI.2.1.1"], severity=Severity.MEDIUM,
                    requires=REQUIRES)
    def undeclared_open(ctx: HostContext) -> list[Verdict]:
        scan = ctx.facts(HostPortScan)
        declared = declared_services(ctx.host)
        out = [failed("undeclared", target=p.target, evidence=port_evidence(p, scan), port=p.port, proto=p.proto,
                      service=p.service or "?")
               for p in scan.open_ports() if (p.port, p.proto) not in declared]
        return out or [passed("none_undeclared", evidence=scan_summary(scan, ctx), count=len(scan.open_ports()))]

    @registry.check("ports.declared_unreachable", items=["XI.3.1"], severity=Severity.LOW, requires=REQUIRES)
    def declared_unreachable(ctx: HostContext) -> list[Verdict]:
        scan = ctx.facts(HostPortScan)
        from_zone = ctx.inventory.scan.from_zone
        out = []
        for service in ctx.host.services:
            if reachable_by_design(service, ctx.host, from_zone) is False:
                continue  # not meant to be reachable from here: ports.zone_violation judges it
            fact, unknown = _state_or_unknown(scan, service.port, service.proto)
            if unknown:
                out.append(unknown)
                continue
            evidence = port_evidence(fact, scan, declared_kind=service.kind, declared_name=service.name,
                                     allowed_zones=allowed_zones(service, ctx.host), from_zone=from_zone)
            if fact.is_open:
                out.append(passed("open", target=fact.target, evidence=evidence, port=fact.port, proto=fact.proto))
            elif fact.state == "open|filtered":
                out.append(verdict(Status.UNKNOWN, "open_filtered", target=fact.target, evidence=evidence,
                                   port=fact.port))
            else:
                out.append(failed("not_open", target=fact.target, evidence=evidence, port=fact.port,
                                  proto=fact.proto, state=fact.state, reason=fact.reason or "?",
                                  name=service.name or service.kind))
        return out or [verdict(Status.NOT_APPLICABLE, "nothing_expected")]

    @registry.check("ports.risky_exposed", items=["XI.3.1", "XI.2.1.1"], severity=Severity.HIGH, requires=REQUIRES)
    def risky_exposed(ctx: HostContext) -> list[Verdict]:
        scan, data = ctx.facts(HostPortScan), ports_data()
        declared = declared_services(ctx.host)
        from_zone = ctx.inventory.scan.from_zone
        out = []
        for fact in scan.open_ports():
            row = risky_row(fact.port, fact.proto, data)
            if row is None:
                continue
            service = declared.get((fact.port, fact.proto))
            evidence = port_evidence(fact, scan, category=row.category, source=row.source,
                                     declared=service is not None, from_zone=from_zone,
                                     allowed_zones=allowed_zones(service, ctx.host) if service else None)
            by_design = reachable_by_design(service, ctx.host, from_zone) if service else False
            if row.allowed_if_declared and by_design:
                out.append(passed("allowed_declared", target=fact.target, evidence=evidence, port=fact.port,
                                  service=fact.service or row.key))
            elif row.allowed_if_declared and by_design is None:
                out.append(verdict(Status.UNKNOWN, "zone_unknown", target=fact.target, evidence=evidence,
                                   port=fact.port, service=fact.service or row.key))
            else:
                out.append(failed(row.key, target=fact.target, evidence=evidence, severity=row.severity,
                                  port=fact.port, proto=fact.proto, service=fact.service or row.key))
        return out or [passed("none_risky", evidence=scan_summary(scan, ctx), rows=len(data.risky))]

    @registry.check("ports.zone_violation", items=["XI.3.1", "XI.2.1.1"], severity=Severity.HIGH, requires=REQUIRES)
    def zone_violation(ctx: HostContext) -> list[Verdict]:
        from_zone = ctx.inventory.scan.from_zone
        if from_zone is None:
            return [verdict(Status.NOT_APPLICABLE, "from_zone_unset")]
        scan, data = ctx.facts(HostPortScan), ports_data()
        out = [_judge_zone_rule(scan, ctx.host, s, from_zone) for s in ctx.host.services
               if not is_database(s.port, s.proto, s, data)]
        return out or [verdict(Status.NOT_APPLICABLE, "no_declared_service", zone=from_zone)]

    @registry.check("ports.zone_violation.database", items=["XI.3.1", "XI.2.1.3", "XI.3.6.4"],
                    severity=Severity.HIGH, requires=REQUIRES)
    def database_zone(ctx: HostContext) -> list[Verdict]:
        from_zone = ctx.inventory.scan.from_zone
        if from_zone is None:
            return [verdict(Status.NOT_APPLICABLE, "from_zone_unset")]
        scan, data = ctx.facts(HostPortScan), ports_data()
        declared = declared_services(ctx.host)
        out = [_judge_zone_rule(scan, ctx.host, s, from_zone) for s in ctx.host.services
               if is_database(s.port, s.proto, s, data)]
        if from_zone != ctx.host.zone:
            # An undeclared database port has no exposure: by the inventory's rule, its own zone only.
            for fact in scan.open_ports():
                if (fact.port, fact.proto) not in declared and is_database(fact.port, fact.proto, None, data):
                    out.append(failed("undeclared_reachable", target=fact.target,
                                      evidence=port_evidence(fact, scan, from_zone=from_zone, host_zone=ctx.host.zone),
                                      port=fact.port, proto=fact.proto, service=fact.service or "?", zone=from_zone))
        return out or [verdict(Status.NOT_APPLICABLE, "no_database", zone=from_zone)]

    @registry.check("ports.zone_violation.jump_host", items=["XI.3.1", "XI.3.6.2"], severity=Severity.MEDIUM,
                    requires=REQUIRES)
    def ssh_outside_jump(ctx: HostContext) -> list[Verdict]:
        zones = jump_zones(ctx.inventory)
        from_zone = ctx.inventory.scan.from_zone
        if zones is None:
            return [verdict(Status.NOT_APPLICABLE, "no_jump_host")]
        if from_zone is None:
            return [verdict(Status.NOT_APPLICABLE, "from_zone_unset")]
        if ctx.host.name in set(ctx.inventory.solutions.jump_host.hosts):
            return [verdict(Status.NOT_APPLICABLE, "is_jump_host")]
        if from_zone in zones:
            return [verdict(Status.NOT_APPLICABLE, "scanner_in_management", zone=from_zone,
                            zones=sorted(zones))]
        scan = ctx.facts(HostPortScan)
        ssh_ports = {s.port for s in ctx.host.services if s.kind == "ssh" and s.proto == "tcp"}
        ssh_ports |= {p.port for p in scan.open_ports() if p.proto == "tcp" and p.service == "ssh"}
        if scan.was_scanned(22, "tcp"):
            ssh_ports.add(22)
        out = []
        for port in sorted(ssh_ports):
            fact, unknown = _state_or_unknown(scan, port, "tcp")
            if unknown:
                out.append(unknown)
                continue
            evidence = port_evidence(fact, scan, from_zone=from_zone, management_zones=sorted(zones),
                                     jump_hosts=list(ctx.inventory.solutions.jump_host.hosts))
            if fact.is_open:
                out.append(failed("ssh_reachable", target=fact.target, evidence=evidence, port=port, zone=from_zone,
                                  jump_hosts=list(ctx.inventory.solutions.jump_host.hosts)))
            else:
                out.append(passed("ssh_blocked", target=fact.target, evidence=evidence, port=port, zone=from_zone,
                                  state=fact.state))
        return out or [verdict(Status.NOT_APPLICABLE, "no_ssh")]
