"""What the reports read of a scan besides its results, worked out once when the scan file is made.

Reports render a scan file and derive nothing from facts: the host's OS and family, the versions
the port scan saw, disk and processing figures, every dated end it saw (a certificate's notAfter,
an OS release's end of support) and the thresholds applied with their legal basis are recorded
here. A report of an old scan file then renders the same way after a fact model, the EOL table or
a threshold has changed; a scan file written before this record existed gets one when it is read.
Pure: observations and results in, a summary out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from scanner.facts.capacity import Disks, Hardware, Listeners
from scanner.facts.ports import HostPortScan
from scanner.facts.reading import MissingFacts, read_fact
from scanner.facts.sshserver import SshServers
from scanner.facts.system import OsRelease
from scanner.facts.tls import TlsFacts
from scanner.facts.windows_logs import WindowsListeners
from scanner.facts.windows_system import WindowsOs
from scanner.inventory import Inventory
from scanner.model import Frozen, Observation, Result
from scanner.reachability import NOT_ZONED, AccessRowFacts, Reachability, access_rows, reachability
from scanner.survey import Answer, Readiness, answer_items, answer_rows, load_survey, readiness, row_key

FACT_TEXT_CAP = 200  # an OS name or a version from a target is short, or it is noise
OS_EOL_CHECK = "patch.os_eol"  # its evidence carries the support dates it judged by (checks/data/eol.yaml)
SOFTWARE_CHECK = "capacity.software"  # its evidence names the server software installed, with versions
F = TypeVar("F", bound=BaseModel)

# The distribution families a fix can be written for; a host's context names its OS under the key
# of its family only (`os_debian`), so a fix variant that uses `{os_debian}` applies to those hosts.
OS_FAMILIES = {"debian": ("debian", "ubuntu", "raspbian", "linuxmint"),
               "rhel": ("rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn"),
               "suse": ("suse", "sles", "opensuse", "opensuse-leap"),
               "windows": ("windows-server", "windows")}


class HostCapacity(Frozen):
    """Section VIII for one host: storage (real filesystems only) and processing figures."""

    filesystems: int
    total: int  # bytes
    used: int
    cpus: int | None = None
    memory: int | None = None  # bytes


class HostSummary(Frozen):
    platform: str | None = None  # linux or windows, as the inventory says (None: a file from before)
    os: str | None = None  # the release's own name ("Debian GNU/Linux 12 (bookworm)")
    os_id: str | None = None
    os_id_like: tuple[str, ...] = ()
    versions: dict[str, str] = Field(default_factory=dict)  # "443/tcp" -> "nginx 1.22.1", as the port scan saw them
    # What else tells a service's version: the SSH identification ("22" -> "OpenSSH 9.2p1
    # Debian-2+deb12u7"), and the process listening on a port, named by the installed package it
    # belongs to ("80" -> "nginx 1.22.1-9+deb12u11") or else by itself ("python3"). Nothing guessed.
    ssh_versions: dict[str, str] = Field(default_factory=dict)
    listening: dict[str, str] = Field(default_factory=dict)
    capacity: HostCapacity | None = None

    def context(self) -> dict[str, str]:
        """The values a fix or an evidence sentence may name about the host's OS: `os` and
        `os_<family>` (only the host's own family), and `platform` (the catalog's texts for a
        platform, `…evidence.windows.*`, come before the common ones)."""
        base = {"platform": self.platform} if self.platform else {}
        if not self.os:
            return base
        ids = {self.os_id or "", *self.os_id_like}
        out = base | {"os": self.os}
        family = next((f for f, members in OS_FAMILIES.items() if ids & set(members)), None)
        if family:
            out[f"os_{family}"] = self.os
        return out


class DatedEnd(Frozen):
    """A day after which something the scan saw no longer holds."""

    kind: Literal["certificate", "os_standard", "os_extended"]
    day: date  # the last day it holds
    host: str
    target: str = ""  # the endpoint of a certificate (443/tcp)
    what: str  # certificate subject or OS release: data from the target


class Basis(Frozen):
    """The thresholds the checks applied that a reader is told about, with their legal basis."""

    text: dict[str, str]  # by language
    population_db_min_level: int


class ScanSummary(Frozen):
    hosts: dict[str, HostSummary] = Field(default_factory=dict)
    ends: tuple[DatedEnd, ...] = ()
    basis: Basis
    answers: dict[str, Answer] = Field(default_factory=dict)  # survey item id -> the answer the scan gave
    row_answers: dict[str, Answer] = Field(default_factory=dict)  # "XI.3.1/services" -> the answer of that table row
    readiness: Readiness | None = None
    reachability: Reachability | None = None  # None: a file from before, or its inventory no longer reads


def host_facts(observations: Mapping[str, Observation], model: type[F]) -> F | None:
    """A typed fact of the host, or None when it was not gathered or does not validate."""
    try:
        return read_fact(observations, model)
    except (MissingFacts, ValidationError):
        return None


def _ssh_versions(observations: Mapping[str, Observation]) -> dict[str, str]:
    servers = host_facts(observations, SshServers)
    out = {}
    for ep in servers.endpoints if servers else ():
        ident = ep.identification
        if ident and ident.product:
            out[str(ep.port)] = " ".join(v for v in (ident.product, ident.version, ident.comments) if v)[:FACT_TEXT_CAP]
    return out


def _listening(observations: Mapping[str, Observation], software: list[tuple[str, str]]) -> dict[str, str]:
    listeners = host_facts(observations, Listeners)
    if listeners is None and (windows := host_facts(observations, WindowsListeners)) is not None:
        listeners = windows.as_listeners()
    out: dict[str, str] = {}
    for x in listeners.items if listeners else ():
        if not x.process or str(x.port) in out:
            continue
        process = x.process.lower()
        owner = next((f"{sw} {version}".strip() for sw, version in software
                      if process.startswith(sw.split()[0].lower()) or sw.lower().startswith(process)), None)
        out[str(x.port)] = (owner or x.process)[:FACT_TEXT_CAP]
    return out


def _software(results: Iterable[Result]) -> dict[str, list[tuple[str, str]]]:
    """host -> (software, version) running, as the capacity.software check found them."""
    out: dict[str, list[tuple[str, str]]] = {}
    for r in results:
        for sw in r.evidence.get("software", []) if r.check_id == SOFTWARE_CHECK else []:
            if isinstance(sw, dict) and sw.get("running"):
                version = next(iter((sw.get("packages") or {}).values()), "")
                out.setdefault(r.host, []).append((str(sw.get("name", "")), str(version)))
    return out


def windows_name(os: WindowsOs) -> str:
    """"Microsoft Windows Server 2019 Standard (build 17763.6893)": the name the host gives, and its
    build, which says the update level."""
    build = f"{os.build}.{os.ubr}" if os.build and os.ubr is not None else str(os.build or "")
    name = os.caption or os.product_name or (f"Windows Server {os.release}" if os.release else "Windows")
    return f"{name} (build {build})" if build else name


def _platform(inventory: Inventory | None, host: str) -> str | None:
    found = next((h for h in inventory.hosts if h.name == host), None) if inventory is not None else None
    return inventory.platform_of(found) if found is not None else None


def _host(observations: Mapping[str, Observation], software: list[tuple[str, str]],
          platform: str | None = None) -> HostSummary:
    osr = host_facts(observations, OsRelease)
    name = (osr.pretty_name or " ".join(v for v in (osr.id, osr.version_id) if v))[:FACT_TEXT_CAP] if osr else ""
    win = host_facts(observations, WindowsOs) if osr is None else None
    if win is not None and win.status == "ok":
        name = windows_name(win)[:FACT_TEXT_CAP]
        osr = OsRelease(id="windows-server" if win.server else "windows", version_id=win.release)
    ports = host_facts(observations, HostPortScan)
    versions = {f"{p.port}/{p.proto}": " ".join(v for v in (p.product, p.version) if v)[:FACT_TEXT_CAP] or p.service
                for p in ports.open_ports()} if ports else {}
    disks, hardware = host_facts(observations, Disks), host_facts(observations, Hardware)
    capacity = None
    if disks is not None and disks.storage:
        storage = disks.storage
        capacity = HostCapacity(
            filesystems=len(storage), total=sum(f.total_kb for f in storage) * 1024,
            used=sum(f.used_kb for f in storage) * 1024, cpus=hardware.cpu_count if hardware else None,
            memory=hardware.mem_total_kb * 1024 if hardware and hardware.mem_total_kb else None)
    return HostSummary(platform=platform, os=name or None, os_id=osr.id if osr else None, os_id_like=osr.id_like if osr else (),
                       versions=versions, ssh_versions=_ssh_versions(observations),
                       listening=_listening(observations, software), capacity=capacity)


def _iso_day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _certificate_ends(host: str, observations: Mapping[str, Observation]) -> list[DatedEnd]:
    tls = host_facts(observations, TlsFacts)
    out = []
    for endpoint in tls.endpoints if tls else ():
        chain = endpoint.certificate.chain if endpoint.certificate else ()
        for cert in chain:  # an intermediate that expires breaks the chain as surely as the leaf
            out.append(DatedEnd(kind="certificate", day=cert.not_after.date(), host=host, target=endpoint.target,
                                what=cert.subject[:FACT_TEXT_CAP]))
    return out


def _support_ends(results: Iterable[Result]) -> list[DatedEnd]:
    out = []
    for r in results:
        if r.check_id != OS_EOL_CHECK:
            continue
        what = str(r.evidence.get("release") or r.evidence.get("os") or "")[:FACT_TEXT_CAP]
        for kind in ("standard", "extended"):
            if (day := _iso_day(r.evidence.get(f"{kind}_end"))) is not None:
                out.append(DatedEnd(kind=f"os_{kind}", day=day, host=r.host, what=what))
    return out


SeenFrom = Mapping[str, Mapping[str, Mapping[str, Observation]]]  # host -> zone -> collector -> observation


def _reachability(inventory: Inventory, observations: Mapping[str, Mapping[str, Observation]],
                  seen_from: SeenFrom) -> Reachability:
    """The matrix: one column per zone the network facts were seen from (a scan from several
    zones), else one, the scanner's zone (NOT_ZONED when undeclared)."""
    zones = [z for z in inventory.scanner_zones if any(z in by_zone for by_zone in seen_from.values())]
    if not zones:
        return reachability(inventory, {inventory.vantage_zone or NOT_ZONED: {
            host: host_facts(obs, HostPortScan) for host, obs in observations.items()}})
    return reachability(inventory, {zone: {host: host_facts(seen_from.get(host, {}).get(zone, {}), HostPortScan)
                                           for host in observations} for zone in zones})


def summarize(observations: Mapping[str, Mapping[str, Observation]], results: Iterable[Result],
              thresholds, complete: bool = True, inventory: Inventory | None = None,
              seen_from: SeenFrom | None = None) -> ScanSummary:
    """The summary of a scan from its observations by host, its results and the thresholds
    (scanner.thresholds.Thresholds) it was judged with; `inventory` (the recorded one) adds the
    reachability matrix, from `seen_from` (host -> zone -> network facts) in a scan from several
    zones."""
    results = list(results)
    ends = [e for host, obs in observations.items() for e in _certificate_ends(host, obs)] + _support_ends(results)
    answers = answer_items(load_survey(), results)
    software = _software(results)
    reach = _reachability(inventory, observations, seen_from or {}) if inventory is not None else None
    return ScanSummary(
        answers={a.item.id: a.answer for a in answers}, readiness=readiness(answers, results, complete),
        row_answers=_row_answers(results, access_rows(reach, inventory)),
        hosts={host: _host(obs, software.get(host, []), _platform(inventory, host)) for host, obs in observations.items()},
        ends=tuple(sorted(set(ends), key=lambda e: (e.day, e.kind, e.host, e.target, e.what))),
        basis=Basis(text=dict(thresholds.basis), population_db_min_level=thresholds.population_db_min_level),
        reachability=reach)


def _row_answers(results: list[Result], matrix_rows: Mapping[str, AccessRowFacts] | None) -> dict[str, Answer]:
    """XI.3.1's rows as the form ticks them: from the reachability matrix where it speaks (every
    zone, every open port), else from each row's own checks."""
    survey = load_survey()
    answers = {key: a.answer for key, a in answer_rows(survey, results).items()}
    for item in survey.xi_items:
        for row in item.rows:
            if matrix_rows and row.key in matrix_rows:
                answers[row_key(item, row)] = matrix_rows[row.key].answer
    return answers
