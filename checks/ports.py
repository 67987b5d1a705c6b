"""Network access control as the port scan sees it (XI.3.1): open ports against the declared
services and zones, risky services, database ports and SSH outside the jump host.

Zones: a declared service may be reached from the zones in its `exposure` (empty: its own zone
only; `any`/`internet`: from everywhere). The scanner stands in `ctx.vantage`: the zone of a
one-zone scan (`scan.from_zone`, or that of the scanners listed), or, in a scan from several zones,
each zone in turn (these checks are judged once per zone); without it, zone rules cannot be
judged and say so.

Risky services are judged from what answers, not from the port number (`assess`): the port's
identification answer (PortFact.answer), else nmap's -sV name (method "probed"), else, for UDP,
a reply to nmap's own protocol payload. A row of checks/data/ports.yaml applies wherever that
evidence matches it, on any port; the row's port numbers only say where an unidentified open
port leaves the question open (`unknown`), never a failure by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import field_validator

from checks.registry import HostContext, Verdict, check, failed, passed, verdict
from checks.settings import load_data
from scanner.facts.ports import PROTOCOLS, Access, HostPortScan, PortFact, parse_port_spec
from scanner.inventory import Host, Inventory, Service
from scanner.model import Frozen, Severity, Status
from scanner.reachability import managing_zones

Match = Literal["match", "undetermined", "protected", "no"]
MATCH_RANK: dict[str, int] = {"match": 0, "undetermined": 1, "protected": 2, "no": 3}


@dataclass(frozen=True)
class Evidence:
    """What answered on a port, from one source. None: that source cannot say (nmap -sV names
    no console product and never knows whether a password is asked)."""

    basis: Literal["answer", "nmap", "udp_reply"]
    protocol: str
    product: str | None
    access: str | None
    text: str  # what answered, for messages: "http (nginx/1.22.1)", "redis", "nmap -sV: telnet"


class AnswerMatch(Frozen):
    """An identification answer that makes a row apply: its protocol, and when given, one of
    `products` (what the answer names) and one of `access` (how it treats a stranger)."""

    protocol: str
    products: tuple[str, ...] = ()
    access: tuple[Access, ...] = ()

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value not in PROTOCOLS:
            raise ValueError(f"not a protocol identification names: {value!r} (one of {', '.join(PROTOCOLS)})")
        return value

    def judge(self, ev: Evidence) -> Match:
        if ev.protocol != self.protocol:
            return "no"
        if self.products and ev.product is not None and ev.product not in self.products:
            return "no"
        if self.access and ev.access and ev.access not in self.access:
            return "protected"  # the same service, answering a stranger the safe way
        if (self.products and ev.product is None) or (self.access and not ev.access):
            return "undetermined"
        return "match"


class RiskyService(Frozen):
    key: str
    ports: str
    proto: Literal["tcp", "udp"]
    category: Literal["cleartext", "file_sharing", "remote_access", "network_mgmt", "database",
                      "admin_panel", "container"]
    severity: Severity
    allowed_if_declared: bool
    source: str
    answers: tuple[AnswerMatch, ...] = ()  # identification answers that make the row apply
    nmap_names: tuple[str, ...] = ()  # nmap -sV service names that make it apply
    udp_reply_ports: str = ""  # UDP ports where nmap sends this protocol's own request (nmap-payloads)

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: str) -> str:
        parse_port_spec(value)
        return value

    @field_validator("udp_reply_ports")
    @classmethod
    def _udp_ports(cls, value: str) -> str:
        if value:
            parse_port_spec(value)
        return value

    def covers(self, port: int, proto: str) -> bool:
        return proto == self.proto and port in _ports_of(self.ports)

    def judge(self, ev: Evidence, port: int, proto: str) -> Match:
        if proto != self.proto:
            return "no"
        if ev.basis == "udp_reply":
            return "match" if self.udp_reply_ports and port in _ports_of(self.udp_reply_ports) else "no"
        if ev.basis == "nmap" and ev.protocol in self.nmap_names:
            return "match"
        return min((m.judge(ev) for m in self.answers), key=MATCH_RANK.__getitem__, default="no")


class PortsData(Frozen):
    risky: tuple[RiskyService, ...]


@lru_cache(maxsize=32)
def _ports_of(spec: str) -> frozenset[int]:
    return frozenset(parse_port_spec(spec))


def ports_data() -> PortsData:
    return load_data("ports", PortsData)


def risky_row(port: int, proto: str, data: PortsData) -> RiskyService | None:
    return next((row for row in data.risky if row.covers(port, proto)), None)


def is_database(port: int, proto: str, service: Service | None, data: PortsData) -> bool:
    row = risky_row(port, proto, data)
    return (service is not None and service.kind == "db") or (row is not None and row.category == "database")


# -- what answers -------------------------------------------------------------------------------

UNNAMED = frozenset({"", "unknown", "tcpwrapped"})  # nmap -sV names that name nothing


def evidence_of(fact: PortFact) -> Evidence | None:
    """The best evidence of what answers on an open port, or None when there is none but the
    port number."""
    got = fact.answer
    if got is not None and got.outcome == "identified":
        said = " ".join(x for x in (got.product, got.version or (got.http[0].server if got.http else "")) if x)
        name = "https" if got.protocol == "http" and got.tls else got.protocol
        return Evidence("answer", got.protocol, got.product, got.access, f"{name} ({said})" if said else name)
    if fact.service_method == "probed" and fact.service not in UNNAMED:
        said = " ".join(x for x in (fact.product, fact.version) if x)
        return Evidence("nmap", fact.service, None, None, f"nmap -sV: {fact.service}" + (f" ({said})" if said else ""))
    if fact.proto == "udp" and fact.reason == "udp-response":
        return Evidence("udp_reply", fact.service, None, None, f"UDP reply to nmap's {fact.service or '?'} request")
    return None


@dataclass(frozen=True)
class Assessment:
    match: Match | None  # None: no evidence but the port number
    row: RiskyService | None  # the row the evidence matches best, else the port number's row
    evidence: Evidence | None


def assess(fact: PortFact, data: PortsData) -> Assessment:
    """Which risky row, if any, what answers on this port makes apply (see the module doc)."""
    by_number = risky_row(fact.port, fact.proto, data)
    ev = evidence_of(fact)
    if ev is None:
        return Assessment(None, by_number, None)
    judged = [(row.judge(ev, fact.port, fact.proto), row) for row in data.risky]
    best = min(judged, key=lambda j: MATCH_RANK[j[0]], default=("no", None))
    if best[0] == "no" and ev.basis == "udp_reply":
        return Assessment(None, by_number, None)  # a reply to an empty datagram names nothing
    if best[0] == "no":
        return Assessment("no", by_number, ev)
    return Assessment(best[0], best[1], ev)


def answer_evidence(fact: PortFact) -> dict:
    """The identification answer as evidence (what was asked, what came back)."""
    got = fact.answer
    if got is None:
        return {"identification": "not recorded"}
    return {"identification": got.model_dump(mode="json", exclude_defaults=True)}


# -- zones ---------------------------------------------------------------------------------------

def allowed_zones(service: Service, host: Host) -> list[str]:
    return service.allowed_zones(host.zone)


def reachable_by_design(service: Service, host: Host, from_zone: str | None) -> bool | None:
    """Whether the inventory allows the scanner's zone to reach the service (Service.allows)."""
    return service.allows(from_zone, host.zone)


def expected_reachable(service: Service, host: Host, from_zone: str | None, inventory: Inventory) -> bool | None:
    """Whether the service must answer the scanner's zone. From one vantage: whenever the inventory
    allows it, so an Internet-wide service must answer wherever the scanner stands. From several:
    only the zones its declaration names (its host's zone when it names none): letting every zone
    in promises none of them a route, and the vantage standing for the Internet judges that one."""
    allowed = reachable_by_design(service, host, from_zone)
    if not allowed or not inventory.distributed:
        return allowed
    return from_zone in service.allowed_zones(host.zone)


def declared_services(host: Host) -> dict[tuple[int, str], Service]:
    return {(s.port, s.proto): s for s in host.services}


def jump_zones(inventory: Inventory) -> set[str] | None:
    """Zones of the declared jump hosts (the management zones), or None when no jump host with
    hosts is declared."""
    zones = managing_zones(inventory)  # one rule for this check and the form's management row
    return None if zones is None else set(zones)


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
            "methods": scan.methods, "from_zone": ctx.vantage,
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


NOT_IDENTIFIED = {"silent": "not_identified_silent", "unrecognised": "not_identified_unrecognised",
                  "refused": "not_identified_failed", "timeout": "not_identified_failed",
                  "error": "not_identified_failed"}


def _judge_risky(fact: PortFact, found: Assessment, scan: HostPortScan, ctx: HostContext) -> Verdict | None:
    """One open port against the risky rows: fail only when what answers matches a row."""
    row, ev = found.row, found.evidence
    if row is None:
        return None
    common = {"target": fact.target, "port": fact.port, "proto": fact.proto}
    evidence = port_evidence(fact, scan, row=row.key, category=row.category, source=row.source,
                             answered=ev.text if ev else None, basis=ev.basis if ev else "port_number",
                             **answer_evidence(fact))
    if found.match is None:
        outcome = fact.answer.outcome if fact.answer else "absent"
        banner = fact.answer.banner if fact.answer else ""
        detail = (fact.answer.detail if fact.answer else "") or "-"
        return verdict(Status.UNKNOWN, NOT_IDENTIFIED.get(outcome, "not_identified_absent"), evidence=evidence,
                       guess=fact.service or row.key, banner=banner or "-", detail=detail, **common)
    if found.match == "no":
        return passed("answered_other", evidence=evidence, answered=ev.text, guess=fact.service or row.key, **common)
    if found.match == "protected":
        key = "protected_denied" if ev.access == "denied" else "protected_auth"
        return passed(key, evidence=evidence, answered=ev.text, **common)
    if found.match == "undetermined":
        return verdict(Status.UNKNOWN, "undetermined", evidence=evidence, answered=ev.text, **common)
    service = declared_services(ctx.host).get((fact.port, fact.proto))
    from_zone = ctx.vantage
    evidence.update(declared=service is not None, from_zone=from_zone,
                    allowed_zones=allowed_zones(service, ctx.host) if service else None)
    by_design = reachable_by_design(service, ctx.host, from_zone) if service else False
    if row.allowed_if_declared and by_design:
        return passed("allowed_declared", evidence=evidence, service=ev.text, **common)
    if row.allowed_if_declared and by_design is None:
        return verdict(Status.UNKNOWN, "zone_unknown", evidence=evidence, service=ev.text, **common)
    return failed(row.key, evidence=evidence, severity=row.severity, service=ev.text, **common)


def undeclared_database(fact: PortFact, data: PortsData) -> bool | None:
    """Whether an undeclared open port is a database: from what answers (a database protocol
    counts whether or not it asks for a password: it is reachable); None when nothing but the
    port number speaks for it."""
    found = assess(fact, data)
    if found.match is None:
        return None if found.row is not None and found.row.category == "database" else False
    return found.match != "no" and found.row is not None and found.row.category == "database"



@check("ports.undeclared_open", items=["XI.3.1", "XI.2.1.1"], severity=Severity.MEDIUM,
       reads=(HostPortScan,), per_vantage=True)
def undeclared_open(ctx: HostContext) -> list[Verdict]:
    scan = ctx.facts(HostPortScan)
    declared = declared_services(ctx.host)
    out = [failed("undeclared", target=p.target, evidence=port_evidence(p, scan), port=p.port, proto=p.proto,
                  service=p.service or "?")
           for p in scan.open_ports() if (p.port, p.proto) not in declared]
    return out or [passed("none_undeclared", evidence=scan_summary(scan, ctx), count=len(scan.open_ports()))]


@check("ports.declared_unreachable", items=["XI.3.1"], severity=Severity.LOW, reads=(HostPortScan,), per_vantage=True)
def declared_unreachable(ctx: HostContext) -> list[Verdict]:
    scan = ctx.facts(HostPortScan)
    from_zone = ctx.vantage
    out = []
    for service in ctx.host.services:
        if expected_reachable(service, ctx.host, from_zone, ctx.inventory) is False:
            continue  # not meant to answer here: ports.zone_violation judges whether it does
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


@check("ports.risky_exposed", items=["XI.3.1", "XI.2.1.1"], severity=Severity.HIGH, reads=(HostPortScan,),
       per_vantage=True)
def risky_exposed(ctx: HostContext) -> list[Verdict]:
    scan, data = ctx.facts(HostPortScan), ports_data()
    out = [v for fact in scan.open_ports()
           if (v := _judge_risky(fact, assess(fact, data), scan, ctx)) is not None]
    return out or [passed("none_risky", evidence=scan_summary(scan, ctx), rows=len(data.risky))]


@check("ports.zone_violation", items=["XI.3.1", "XI.2.1.1"], severity=Severity.HIGH, reads=(HostPortScan,),
       per_vantage=True)
def zone_violation(ctx: HostContext) -> list[Verdict]:
    from_zone = ctx.vantage
    if from_zone is None:
        return [verdict(Status.NOT_APPLICABLE, "from_zone_unset")]
    scan, data = ctx.facts(HostPortScan), ports_data()
    out = [_judge_zone_rule(scan, ctx.host, s, from_zone) for s in ctx.host.services
           if not is_database(s.port, s.proto, s, data)]
    return out or [verdict(Status.NOT_APPLICABLE, "no_declared_service", zone=from_zone)]


@check("ports.zone_violation.database", items=["XI.3.1", "XI.2.1.3", "XI.3.6.4"],
       severity=Severity.HIGH, reads=(HostPortScan,), per_vantage=True)
def database_zone(ctx: HostContext) -> list[Verdict]:
    from_zone = ctx.vantage
    if from_zone is None:
        return [verdict(Status.NOT_APPLICABLE, "from_zone_unset")]
    scan, data = ctx.facts(HostPortScan), ports_data()
    declared = declared_services(ctx.host)
    out = [_judge_zone_rule(scan, ctx.host, s, from_zone) for s in ctx.host.services
           if is_database(s.port, s.proto, s, data)]
    if from_zone != ctx.host.zone:
        # An undeclared database has no exposure: by the inventory's rule, its own zone only.
        # Whether an undeclared port is a database is decided by what answers there.
        for fact in scan.open_ports():
            if (fact.port, fact.proto) in declared:
                continue
            is_db = undeclared_database(fact, data)
            if is_db is False:
                continue
            evidence = port_evidence(fact, scan, from_zone=from_zone, host_zone=ctx.host.zone,
                                     **answer_evidence(fact))
            if is_db is None:
                out.append(verdict(Status.UNKNOWN, "undeclared_unidentified", target=fact.target,
                                   evidence=evidence, port=fact.port, proto=fact.proto,
                                   service=fact.service or "?", zone=from_zone))
                continue
            ev = evidence_of(fact)
            out.append(failed("undeclared_reachable", target=fact.target, evidence=evidence, port=fact.port,
                              proto=fact.proto, service=ev.text if ev else fact.service or "?", zone=from_zone))
    return out or [verdict(Status.NOT_APPLICABLE, "no_database", zone=from_zone)]


@check("ports.zone_violation.jump_host", items=["XI.3.1", "XI.3.6.2"], severity=Severity.MEDIUM,
       reads=(HostPortScan,), per_vantage=True)
def ssh_outside_jump(ctx: HostContext) -> list[Verdict]:
    zones = jump_zones(ctx.inventory)
    from_zone = ctx.vantage
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
