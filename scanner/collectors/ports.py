"""The port scan: ONE nmap run for all hosts (per address family), through python-nmap.

Planning is pure (which ports, which arguments), the XML parser is pure (facts from nmap's own
output), and only `run_nmap` (and, after it, identification of what answers on each open TCP
port: collectors/identify.py) touches the network. python-nmap's result dict drops what a check
needs (the "extraports" groups where a closed declared port usually hides, and the per-host
`timedout` flag), so the facts come from the XML nmap wrote, which python-nmap keeps.
"""

from __future__ import annotations

import ipaddress
import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nmap

from scanner.collectors.base import ScanContext, Sink, observation
from scanner.collectors.identify import PortToAsk, identify_all
from scanner.facts.ports import (
    ExtraPorts,
    ExtraReason,
    HostPortScan,
    PortFact,
    ServiceAnswer,
    format_port_spec,
    parse_port_spec,
)
from scanner.inventory import Host
from scanner.model import Outcome, utcnow

NMAP_SERVICES = Path("/usr/share/nmap/nmap-services")
NMAP_SEARCH_PATH = ("nmap", "/usr/bin/nmap", "/usr/local/bin/nmap")
TOP_SPECS = {"top100": 100, "top1000": 1000}
# UDP answers slowly (closed ports reply through rate-limited ICMP), so a top1000 UDP sweep
# would take most of an hour per host: UDP gets nmap's top 100 plus the declared UDP ports.
UDP_TOP = 100
KEPT_ERROR_CHARS = 4000


class PlanError(Exception):
    """The inventory asks for a scan we cannot build (e.g. nmap-services is missing)."""


# -- planning (pure) ---------------------------------------------------------------------------

def top_ports(count: int, proto: str, services_file: Path = NMAP_SERVICES) -> list[int]:
    """nmap's `--top-ports count` for one protocol, from its nmap-services frequency table.

    Same order as nmap (open-frequency descending, then port number), so the explicit list we
    pass equals what `--top-ports` would scan; an explicit list lets declared ports be added."""
    try:
        text = services_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise PlanError(f"cannot read {services_file}: {exc.strerror}") from None
    rows: list[tuple[float, int]] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or line.startswith("#"):
            continue
        port, _, row_proto = fields[1].partition("/")
        if row_proto != proto or not port.isdigit():
            continue
        try:
            rows.append((float(fields[2]), int(port)))
        except ValueError:
            continue
    rows.sort(key=lambda r: (-r[0], r[1]))
    return sorted(port for _, port in rows[:count])


def plan_ports(spec: str, declared: Iterable[tuple[int, str]], udp: bool,
               services_file: Path = NMAP_SERVICES) -> dict[str, list[int]]:
    """Ports to scan per protocol: the inventory's `scan.ports` plus every declared port. An
    explicit spec applies to UDP too; a top-N spec gives UDP at most its top UDP_TOP."""
    declared = list(declared)
    plan: dict[str, list[int]] = {}
    for proto in ("tcp", "udp") if udp else ("tcp",):
        if spec in TOP_SPECS:
            count = TOP_SPECS[spec] if proto == "tcp" else min(TOP_SPECS[spec], UDP_TOP)
            base = top_ports(count, proto, services_file)
        else:
            base = parse_port_spec(spec)
        plan[proto] = sorted(set(base) | {port for port, p in declared if p == proto})
    return plan


def nmap_port_argument(plan: dict[str, list[int]]) -> str:
    if set(plan) == {"tcp"}:
        return format_port_spec(plan["tcp"])
    return ",".join(f"{'T' if proto == 'tcp' else 'U'}:{format_port_spec(ports)}"
                    for proto, ports in plan.items() if ports)


def nmap_arguments(*, is_root: bool, udp: bool, service_versions: bool, host_timeout: float,
                   ipv6: bool = False) -> list[str]:
    """The options, from a fixed whitelist: nothing from the inventory but numbers."""
    args = ["-n", "-Pn", "-sS" if is_root else "-sT"]
    if udp:
        args.append("-sU")
    if service_versions:
        args += ["-sV", "--version-light"]
    if ipv6:
        args.append("-6")
    args += ["-T4", "--host-timeout", f"{max(1, int(host_timeout * 1000))}ms"]
    return args


def valid_target(address: str) -> str:
    """The address as nmap will print it; raises ValueError for anything but an IP address
    (a name, or a string starting with '-' that nmap would read as an option)."""
    return str(ipaddress.ip_address(address))


# -- parsing nmap's XML (pure) -----------------------------------------------------------------

@dataclass(frozen=True)
class NmapHost:
    address: str
    state: str
    timed_out: bool
    ports: tuple[PortFact, ...]
    extraports: tuple[ExtraPorts, ...]


@dataclass(frozen=True)
class NmapRun:
    args: str
    version: str
    scan_types: dict[str, str]  # proto -> syn | connect | udp
    scanned: dict[str, str]  # proto -> services spec as nmap echoes it
    hosts: dict[str, NmapHost]
    exit: str = ""
    errormsg: str = ""


def parse_nmap_xml(raw: bytes | str) -> NmapRun:
    """nmap's -oX output -> NmapRun. Raises ValueError when it is not nmap XML."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ValueError(f"nmap output is not XML: {exc}") from None
    if root.tag != "nmaprun":
        raise ValueError(f"not nmap XML (root element {root.tag!r})")
    scan_types, scanned = {}, {}
    for info in root.findall("scaninfo"):
        proto = info.get("protocol", "")
        scan_types[proto] = info.get("type", "")
        scanned[proto] = info.get("services", "")
    only_proto = next(iter(scanned)) if len(scanned) == 1 else ""
    hosts = {}
    for node in root.findall("host"):
        host = _parse_host(node, only_proto)
        if host is not None:
            hosts[host.address] = host
    finished = root.find("runstats/finished")
    return NmapRun(args=root.get("args", ""), version=root.get("version", ""), scan_types=scan_types,
                   scanned=scanned, hosts=hosts,
                   exit=finished.get("exit", "") if finished is not None else "",
                   errormsg=finished.get("errormsg", "") if finished is not None else "")


def _parse_host(node: ET.Element, only_proto: str) -> NmapHost | None:
    address = next((a.get("addr", "") for a in node.findall("address")
                    if a.get("addrtype") in ("ipv4", "ipv6")), "")
    if not address:
        return None
    status = node.find("status")
    ports = []
    for port in node.findall("ports/port"):
        state = port.find("state")
        service = port.find("service")
        svc = service.attrib if service is not None else {}
        ports.append(PortFact(
            port=int(port.get("portid", "0")), proto=port.get("protocol", "tcp"),
            state=state.get("state", "") if state is not None else "",
            reason=state.get("reason", "") if state is not None else "",
            service=svc.get("name", ""), service_method=svc.get("method", ""),
            product=svc.get("product", ""), version=svc.get("version", ""), extrainfo=svc.get("extrainfo", "")))
    extra = []
    for group in node.findall("ports/extraports"):
        reasons = [ExtraReason(reason=r.get("reason", ""), count=int(r.get("count", "0")), ports=r.get("ports", ""))
                   for r in group.findall("extrareasons")]
        proto = next((r.get("proto") for r in group.findall("extrareasons") if r.get("proto")), only_proto)
        if proto in ("tcp", "udp"):
            extra.append(ExtraPorts(proto=proto, state=group.get("state", ""), count=int(group.get("count", "0")),
                                    reasons=tuple(reasons)))
    return NmapHost(address=str(ipaddress.ip_address(address)),
                    state=status.get("state", "") if status is not None else "",
                    timed_out=node.get("timedout") == "true", ports=tuple(ports), extraports=tuple(extra))


# -- running ------------------------------------------------------------------------------------

@dataclass
class RunOutcome:
    """What one nmap run gave: parsed XML, or why there is none, plus nmap's complaints."""

    command_line: str = ""
    run: NmapRun | None = None
    outcome: Outcome = Outcome.OK
    detail: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_nmap(scanner: nmap.PortScanner, targets: list[str], ports: str, arguments: list[str],
             timeout: float) -> RunOutcome:
    """One nmap process over all targets. Never raises: failures come back as an outcome."""
    try:
        result = scanner.scan(hosts=" ".join(targets), ports=ports, arguments=" ".join(arguments),
                              timeout=timeout)
    except nmap.PortScannerTimeout:
        return RunOutcome(outcome=Outcome.TIMEOUT,
                          detail=f"nmap did not finish within {timeout:g}s (scan.timeouts.nmap); it was stopped")
    except nmap.PortScannerError as exc:
        # Raised when nmap wrote no valid XML; the message is nmap's stderr.
        return RunOutcome(outcome=Outcome.ERROR, detail=f"nmap failed: {str(exc)[:KEPT_ERROR_CHARS]}")
    return interpret(result, scanner.get_nmap_last_output(), scanner.command_line())


def interpret(result: dict, xml: bytes, command_line: str) -> RunOutcome:
    """python-nmap's result dict (for nmap's stderr, which it files under scaninfo) and the raw
    XML (for the facts) -> RunOutcome. Pure."""
    out = RunOutcome(command_line=command_line)
    info = result.get("nmap", {}).get("scaninfo", {})
    out.errors = list(dict.fromkeys(e.strip() for e in info.get("error", []) if e.strip()))
    out.warnings = list(dict.fromkeys(w.strip() for w in info.get("warning", []) if w.strip()))
    try:
        out.run = parse_nmap_xml(xml)
    except ValueError as exc:
        out.outcome, out.detail = Outcome.ERROR, str(exc)
        return out
    if out.run.exit == "error":
        out.errors.append(out.run.errormsg or "nmap reported exit=error")
    if out.errors:
        # Errors on stderr (e.g. packets that could not be sent) make closed/filtered states
        # untrustworthy: keep what was seen as evidence, but do not let a check pass on it.
        out.outcome = Outcome.ERROR
        out.detail = "nmap reported errors: " + " | ".join(out.errors)[:KEPT_ERROR_CHARS]
    return out


Answers = dict[tuple[str, int], ServiceAnswer]


def host_facts(address: str, host: NmapHost, plan: dict[str, list[int]], run: NmapRun, command_line: str,
               service_versions: bool, notes: list[str], answers: Answers | None = None) -> HostPortScan:
    answers = answers or {}
    facts = tuple(p.model_copy(update={"answer": answers[(address, p.port)]})
                  if p.proto == "tcp" and (address, p.port) in answers else p for p in host.ports)
    return HostPortScan(
        address=address, scanned={proto: format_port_spec(ports) for proto, ports in plan.items()},
        methods=dict(run.scan_types), service_versions=service_versions, ports=facts,
        extraports=host.extraports, command_line=command_line, nmap_version=run.version, notes=tuple(notes))


class PortsCollector:
    name = "ports"

    def __init__(self, nmap_search_path: tuple[str, ...] = NMAP_SEARCH_PATH,
                 services_file: Path = NMAP_SERVICES, is_root: bool | None = None):
        self.nmap_search_path = nmap_search_path
        self.services_file = services_file
        self.is_root = os.geteuid() == 0 if is_root is None else is_root

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        return True  # every host in the inventory is scanned: undeclared ports are the point

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        started = utcnow()
        scan = ctx.inventory.scan

        def fail_all(group: Iterable[Host], outcome: Outcome, detail: str) -> None:
            for h in group:
                sink(h.name, observation(self.name, started, outcome, detail))

        if ctx.stop.is_set():
            return fail_all(hosts, Outcome.NOT_COLLECTED, "interrupted")
        families: dict[int, dict[str, list[Host]]] = defaultdict(lambda: defaultdict(list))
        for host in hosts:
            try:
                address = valid_target(ctx.address(host))
            except ValueError:
                fail_all([host], Outcome.ERROR, f"not an IP address, not scanned: {ctx.address(host)[:200]!r}")
                continue
            families[ipaddress.ip_address(address).version][address].append(host)

        udp_wanted = scan.udp if ctx.options.udp is None else ctx.options.udp
        versions = scan.service_versions if ctx.options.service_versions is None else ctx.options.service_versions
        notes = []
        if udp_wanted and not self.is_root:
            notes.append("UDP not scanned: an nmap UDP scan needs root")
        udp = udp_wanted and self.is_root
        try:
            scanner = nmap.PortScanner(nmap_search_path=self.nmap_search_path)
        except nmap.PortScannerError as exc:
            return fail_all([h for f in families.values() for g in f.values() for h in g],
                            Outcome.TOOL_MISSING, str(exc)[:500])
        for version, by_address in sorted(families.items()):
            group = [h for g in by_address.values() for h in g]
            declared = {(s.port, s.proto) for h in group for s in h.services}
            try:
                plan = plan_ports(scan.ports, declared, udp, self.services_file)
            except (PlanError, ValueError) as exc:
                fail_all(group, Outcome.ERROR, str(exc))
                continue
            arguments = nmap_arguments(is_root=self.is_root, udp=udp, service_versions=versions,
                                       host_timeout=min(scan.timeouts.host, scan.timeouts.nmap), ipv6=version == 6)
            result = run_nmap(scanner, sorted(by_address), nmap_port_argument(plan), arguments, scan.timeouts.nmap)
            self._report(ctx, started, by_address, plan, result, versions, notes, sink)

    def _report(self, ctx: ScanContext, started: datetime, by_address: dict[str, list[Host]],
                plan: dict[str, list[int]], result: RunOutcome, versions: bool, notes: list[str], sink: Sink) -> None:
        answers = {} if ctx.stop.is_set() else identify_all(
            ports_to_identify(result, list(by_address)), ctx.inventory.scan.concurrency, ctx.stop)
        judged = host_outcomes(result, list(by_address), plan, versions, notes, answers)
        for address, group in by_address.items():
            outcome, detail, data = judged[address]
            if ctx.stop.is_set():
                outcome, detail = Outcome.NOT_COLLECTED, "interrupted"
            for h in group:
                sink(h.name, observation(self.name, started, outcome, detail, data))


def ports_to_identify(result: RunOutcome, addresses: list[str]) -> list[PortToAsk]:
    """The open TCP ports of the hosts nmap finished, with nmap's name for each (pure)."""
    if result.run is None or result.outcome != Outcome.OK:
        return []
    todo = []
    for address in addresses:
        host = result.run.hosts.get(address)
        if host is None or host.timed_out:
            continue
        todo += [PortToAsk(address, p.port, p.service) for p in host.ports if p.proto == "tcp" and p.is_open]
    return todo


def host_outcomes(result: RunOutcome, addresses: list[str], plan: dict[str, list[int]], versions: bool,
                  notes: list[str], answers: Answers | None = None) -> dict[str, tuple[Outcome, str, dict]]:
    """Per scanned address: (outcome, detail, facts as JSON). Pure. Facts are kept whenever nmap
    reported the host, even when the outcome is not OK, as evidence of what was seen."""
    out = {}
    for address in addresses:
        host = result.run.hosts.get(address) if result.run else None
        data: dict = {"command_line": result.command_line} if result.command_line else {}
        if result.run and host:
            data = host_facts(address, host, plan, result.run, result.command_line, versions,
                              notes + [f"nmap warning: {w}" for w in result.warnings],
                              answers).model_dump(mode="json")
        if result.outcome != Outcome.OK:
            out[address] = (result.outcome, result.detail, data)
        elif host is None:
            out[address] = (Outcome.ERROR, f"nmap reported nothing for {address}", data)
        elif host.timed_out:
            out[address] = (Outcome.TIMEOUT, f"nmap gave up on {address} after --host-timeout "
                                             "(the smaller of scan.timeouts.host and scan.timeouts.nmap)", data)
        else:
            out[address] = (Outcome.OK, "", data)
    return out
