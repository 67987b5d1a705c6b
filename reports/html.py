"""The HTML readiness report: one self-contained file (inline CSS and SVG, no script, no font or
asset from elsewhere) that opens on an air-gapped machine and prints to A4.

This module turns a scan file into plain view data; the templates only lay it out. Jinja2 runs
with autoescape forced on for every template and StrictUndefined, and nothing here builds markup
from strings: a banner or an inventory name can only ever reach the page as escaped text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from pydantic import ValidationError

from reports import SEVERITY_DESC, STATUS_ORDER, Texts, plain, result_order
from reports.access import RowWords, access_words
from reports.trend import TrendView, trend_view
from scanner.diff import ScanDiff, diff_scans
from scanner.history import History
from scanner.i18n import render_value
from scanner.inventory import Inventory
from scanner.model import Result, Status
from scanner.scanfile import ScanFile
from scanner.summary import HostSummary
from scanner.survey import (
    ORG,
    UNDETERMINED_STATUSES,
    Answer,
    Group,
    ItemAnswer,
    Priority,
    Readiness,
    RetentionAnswer,
    Survey,
    SurveyItem,
    fix_first,
    load_survey,
    missing_solutions,
    readiness,
    retention_answer,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
EVIDENCE_INLINE = 160  # characters of a value shown inline; longer values fold into <details>
EVIDENCE_FULL_CAP = 8000  # characters of one value the report carries at all (its length is shown)
EVIDENCE_MAX_KEYS = 40
DETAILS = ("summary", "full")  # summary: what an inspection needs, fits in print; full: every result and its raw evidence
FIRST_FIXES = 5  # fixes shown on the cover page
ANSWER_ORDER = (Answer.YES, Answer.PARTLY, Answer.NO, Answer.UNDETERMINED, Answer.NOT_APPLICABLE)


# -- evidence ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvidenceRow:
    key: str
    text: str  # what is shown inline: the whole value, or its start
    full: str | None  # the value (up to the cap) folded in <details> when it is long
    length: int  # characters in the whole value
    cut: bool  # `full` stops at the cap


def evidence_rows(evidence: dict[str, Any]) -> list[EvidenceRow]:
    rows = []
    for key, value in list(evidence.items())[:EVIDENCE_MAX_KEYS]:
        text = plain(value)
        if len(text) <= EVIDENCE_INLINE:
            rows.append(EvidenceRow(str(key), text, None, len(text), False))
        else:
            rows.append(EvidenceRow(str(key), text[:EVIDENCE_INLINE] + "…", text[:EVIDENCE_FULL_CAP], len(text),
                                    len(text) > EVIDENCE_FULL_CAP))
    return rows


# -- what the scan recorded besides its results (scanner.summary) ---------------------------------
@dataclass(frozen=True)
class Capacity:
    """Section VIII for one host: storage (real filesystems only) and processing figures."""

    host: str
    filesystems: int
    total: int  # bytes
    used: int
    cpus: int | None
    memory: int | None  # bytes


def _capacity(name: str, host: HostSummary) -> Capacity | None:
    c = host.capacity
    return Capacity(name, c.filesystems, c.total, c.used, c.cpus, c.memory) if c else None


def capacities(scan: ScanFile) -> list[Capacity]:
    """Section VIII: the hosts whose disk figures the scan recorded, in the scan's order."""
    return [c for name, h in scan.summarized().hosts.items() if (c := _capacity(name, h))]


# -- inspection day: what lapses before it ---------------------------------------------------------
@dataclass(frozen=True)
class Lapse:
    """Something that holds at the scan but will have lapsed by inspection day."""

    kind: str  # certificate | waiver | os_standard | os_extended
    day: date  # the last day it holds (certificate notAfter, waiver expiry, end of support)
    days_left: int  # from the scan's day
    host: str  # "" for a waiver that covers every host
    target: str  # the endpoint (443/tcp), the waived check id, or empty
    what: str  # certificate subject, waived check, OS release: data from the target or the inventory


def inspection_lapses(scan: ScanFile, inspection: date) -> list[Lapse]:
    """Certificates, accepted risks and OS support that hold on the scan's day and will have
    lapsed by inspection day, soonest first, from the dated ends the scan recorded."""
    today = scan.started.date()
    # Support and waivers hold through their last day, so they lapse when it falls before inspection
    # day; a certificate ends at a time of its last day, so one ending on inspection day counts too.
    lapses = [Lapse(e.kind, e.day, (e.day - today).days, e.host, e.target, e.what)
              for e in scan.summarized().ends
              if today <= e.day and (e.day <= inspection if e.kind == "certificate" else e.day < inspection)]
    # Only a waiver that covers a finding changes anything when it lapses.
    lapses += [Lapse("waiver", st.waiver.expires, (st.waiver.expires - today).days, st.waiver.host or "",
                     st.waiver.target or "", st.waiver.check)
               for st in scan.waivers if st.matched and today <= st.waiver.expires < inspection]
    return sorted(set(lapses), key=lambda lp: (lp.day, lp.kind, lp.host, lp.target, lp.what))


# -- views ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HostView:
    name: str
    address: str
    zone: str
    role: str | None
    os: str | None
    systems: list[str]
    collectors: list[tuple[str, str, str]]  # (collector, outcome, detail)
    results: list[Result]
    counts: Counter[Status]

    @property
    def problems(self) -> list[Result]:
        """What a person must act on or decide: failures, errors, unknowns and manual checks."""
        return [r for r in self.results if r.status in (Status.FAIL, Status.ERROR, Status.UNKNOWN, Status.MANUAL)]


@dataclass(frozen=True)
class ServiceRow:
    service: str
    port: str
    host: str
    address: str
    location: str
    os: str | None
    version: str | None
    database: str
    declared: bool  # False: seen open by the port scan but not in the inventory


@dataclass(frozen=True)
class ProblemRow:
    """Results of one check on one host that say the same thing (the same header missing on
    four ports): one row naming every target, so a reader sees the finding once."""

    results: tuple[Result, ...]

    @property
    def first(self) -> Result:
        return self.results[0]

    targets: tuple[str, ...] = ()  # where each result was seen (Texts.where), those that say where


def problem_rows(results: list[Result], texts: Texts) -> list[ProblemRow]:
    rows: dict[tuple, list[Result]] = {}
    for r in results:
        key = (r.host, r.status, r.severity, texts.message(r), r.waiver is not None)
        rows.setdefault(key, []).append(r)
    return [ProblemRow(tuple(rs), tuple(w for r in rs if (w := texts.where(r)))) for rs in rows.values()]


@dataclass(frozen=True)
class CheckBlock:
    """One check's results under one survey item: what fails in detail, what passes by name."""

    check_id: str
    problems: list[Result]  # everything that is not a pass, worst first
    passing: list[str]  # hosts where it passes
    counts: Counter[Status]
    rows: list[ProblemRow]  # the problems to show (not neutral), alike ones on a host folded together
    shown_at: str | None = None  # an earlier item that already shows this check's problems in detail


@dataclass(frozen=True)
class WalkEntry:
    headings: list[Group]  # headings this item opens (the form's 2., 2.1., 3., 3.3. ...)
    item: SurveyItem
    answer: ItemAnswer | None  # None for the generated XI.4
    blocks: list[CheckBlock]


@dataclass(frozen=True)
class BarSegment:
    answer: Answer
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class AreaBar:
    area: str
    total: int
    segments: list[BarSegment]


BAR_WIDTH = 220.0


def area_bars(survey: Survey, answers: list[ItemAnswer]) -> list[AreaBar]:
    bars = []
    for area in survey.areas:
        mine = [a.answer for a in answers if a.item.area == area]
        if not mine:
            continue
        counts = Counter(mine)
        x, segments = 0.0, []
        for ans in ANSWER_ORDER:
            if counts[ans]:
                width = BAR_WIDTH * counts[ans] / len(mine)
                segments.append(BarSegment(ans, counts[ans], round(x, 2), round(width, 2)))
                x += width
        bars.append(AreaBar(area, len(mine), segments))
    return bars


NEUTRAL = (Status.NOT_APPLICABLE, Status.INFO)


def _blocks(answer: ItemAnswer, texts: Texts) -> list[CheckBlock]:
    by_check: dict[str, list[Result]] = {}
    for r in answer.results:
        by_check.setdefault(r.check_id, []).append(r)
    blocks = []
    for check_id, results in by_check.items():
        problems = sorted((r for r in results if r.status != Status.PASS), key=result_order)
        passing = sorted({r.host for r in results if r.status == Status.PASS})
        rows = problem_rows([r for r in problems if r.status not in NEUTRAL], texts)
        blocks.append(CheckBlock(check_id, problems, passing, Counter(r.status for r in results), rows))
    # Failing checks first, then the undecided, then the ones that hold.
    return sorted(blocks, key=lambda b: (min(STATUS_ORDER.index(s) for s in b.counts), b.check_id))


def walk(survey: Survey, answers: list[ItemAnswer], texts: Texts) -> list[WalkEntry]:
    by_id = {a.item.id: a for a in answers}
    seen: set[str] = set()
    detailed: dict[str, str] = {}  # check id -> the item that shows its problems first
    out = []
    for item in survey.xi_items:
        # Section XI itself is the part's title: its sub-headings open inside it.
        groups = [g for g in survey.group_of(item) if g.id not in seen and "." in g.id]
        seen.update(g.id for g in groups)
        answer = by_id.get(item.id)
        blocks = []
        for b in _blocks(answer, texts) if answer else []:
            # A check answers several items (TLS: servers and data); its problems are told once,
            # at the first, and the others point there.
            blocks.append(replace(b, shown_at=detailed[b.check_id]) if b.check_id in detailed and b.rows else b)
            if b.rows:
                detailed.setdefault(b.check_id, item.id)
        out.append(WalkEntry(groups, item, answer, blocks))
    return out


def _inventory(scan: ScanFile) -> tuple[Inventory | None, str | None]:
    try:
        return Inventory.model_validate(scan.inventory.data), None
    except ValidationError as exc:
        return None, f"{exc.error_count()} × {exc.errors(include_url=False)[0]['msg']}"[:300]


def host_views(scan: ScanFile, inv: Inventory | None) -> list[HostView]:
    views = []
    hosts = scan.summarized().hosts
    for name, record in scan.hosts.items():
        host = next((h for h in inv.hosts if h.name == name), None) if inv else None
        views.append(HostView(
            name=name, address=record.address, zone=record.zone, role=host.role if host else None,
            os=hosts[name].os if name in hosts else None, systems=[s.name for s in inv.systems if name in s.hosts] if inv else [],
            collectors=[(o.collector, o.outcome.value, o.detail[:300]) for o in record.observations.values()],
            results=sorted(record.results, key=result_order), counts=Counter(r.status for r in record.results)))
    return views


def service_rows(scan: ScanFile, inv: Inventory | None) -> list[ServiceRow]:
    """Section I attachment: the applications and services, declared and detected."""
    if inv is None:
        return []
    rows = []
    db_of_system: dict[str, list[str]] = {}
    summary = scan.summarized().hosts
    versions = {name: {(int(key.split("/")[0]), key.split("/")[1]): v for key, v in h.versions.items()}
                for name, h in summary.items()}
    for system in inv.systems:
        for host in (h for h in inv.hosts if h.name in system.hosts):
            for svc in host.services:
                if svc.kind == "db":
                    product = versions.get(host.name, {}).get((svc.port, svc.proto)) or svc.name or "db"
                    db_of_system.setdefault(system.name, []).append(f"{host.name}: {product} ({svc.port}/{svc.proto})")
    for host in inv.hosts:
        record = scan.hosts.get(host.name)
        seen = versions.get(host.name, {})
        systems = inv.systems_of(host)
        location = "; ".join(sorted({s.location for s in systems if s.location})) or host.zone
        databases = sorted({d for s in systems for d in db_of_system.get(s.name, [])})
        osn = summary[host.name].os if record and host.name in summary else None
        for svc in host.services:
            own = seen.get((svc.port, svc.proto))
            database = (own or svc.name or "") if svc.kind == "db" else "; ".join(databases)
            rows.append(ServiceRow(svc.name or svc.kind, f"{svc.port}/{svc.proto}", host.name, host.address, location,
                                   osn, own, database, True))
        declared = {(s.port, s.proto) for s in host.services}
        for (port, proto), version in sorted(seen.items()):
            if (port, proto) not in declared:
                rows.append(ServiceRow("", f"{port}/{proto}", host.name, host.address, location, osn, version, "",
                                       False))
    return rows


@dataclass(frozen=True)
class Report:
    scan: ScanFile
    lang: str
    inventory: Inventory | None
    inventory_error: str | None
    survey: Survey
    answers: list[ItemAnswer]
    walk: list[WalkEntry]
    retention: RetentionAnswer | None
    missing: list[ItemAnswer]
    readiness: Readiness
    priorities: list[Priority]
    results: list[Result]
    undetermined: list[Result]
    waived: list[Result]  # failures covered by an active accepted-risk waiver
    status_counts: Counter[Status]
    answer_counts: Counter[Answer]
    matrix: dict[str, Counter[Status]]  # severity -> status counts
    bars: list[AreaBar]
    hosts: list[HostView]
    services: list[ServiceRow]
    capacities: list[Capacity]
    uncollected_capacity: list[str]
    diff: ScanDiff | None
    previous: ScanFile | None
    basis: str
    min_level: int  # the lowest security level a system connecting to the population database may have
    inspection_days: int | None  # from the day the report is rendered, not the scan's
    rendered_on: date
    lapses: list[Lapse]  # what lapses between the scan and inspection day
    failing_checks_of: dict[str, list[str]]  # item id -> failing check ids (for XI.4)
    detail: str  # one of DETAILS
    contexts: dict[str, dict[str, str]]  # host -> what its fixes may name (OS and family)
    access: dict[str, RowWords] | None  # XI.3.1's rows from the reachability matrix; None: their checks answer
    trend: TrendView | None = None  # the earlier scans of the inventory: charts and first-seen dates


def build_report(scan: ScanFile, *, lang: str, previous: ScanFile | None = None,
                 today: date | None = None, detail: str = "summary", history: History | None = None) -> Report:
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    scan = scan.summarized_scan()
    survey = load_survey()
    inv, inv_error = _inventory(scan)
    results = sorted(scan.all_results(), key=result_order)
    summary = scan.summarized()
    answers = scan.item_answers(results)  # as the scan recorded them
    retention_item = next((i for i in survey.items if i.options_from), None)
    missing = missing_solutions(answers)
    # A report re-rendered ten days later must not still say "25 days to go": the countdown runs
    # from the day it is rendered, and the cover shows the scan's own date beside it.
    rendered_on = today or date.today()
    inspection_days = (inv.inspection_date - rendered_on).days if inv and inv.inspection_date else None
    host_capacities = capacities(scan)
    return Report(
        scan=scan, lang=lang, inventory=inv, inventory_error=inv_error, survey=survey, answers=answers,
        walk=walk(survey, answers, Texts.for_lang(lang)),
        retention=retention_answer(retention_item, results) if retention_item else None,
        missing=missing, readiness=summary.readiness or readiness(answers, results, scan.complete), priorities=fix_first(results),
        results=results, undetermined=[r for r in results if r.status in UNDETERMINED_STATUSES],
        waived=[r for r in results if r.status == Status.FAIL and r.waiver is not None],
        status_counts=Counter(r.status for r in results), answer_counts=Counter(a.answer for a in answers),
        matrix={s.value: Counter(r.status for r in results if r.severity == s) for s in SEVERITY_DESC},
        bars=area_bars(survey, answers), hosts=host_views(scan, inv), services=service_rows(scan, inv),
        capacities=host_capacities,
        uncollected_capacity=[n for n in scan.hosts if n not in {c.host for c in host_capacities}],
        diff=diff_scans(previous, scan) if previous else None, previous=previous,
        basis=summary.basis.text.get(lang, ""), min_level=summary.basis.population_db_min_level,
        inspection_days=inspection_days, rendered_on=rendered_on,
        lapses=inspection_lapses(scan, inv.inspection_date) if inv and inv.inspection_date else [],
        failing_checks_of={a.item.id: sorted({r.check_id for r in a.results if r.status == Status.FAIL})
                           for a in missing},
        detail=detail, contexts={name: h.context() for name, h in summary.hosts.items()},
        access=access_words(scan, inv, Texts.for_lang(lang)),
        trend=trend_view(scan, history, Texts.for_lang(lang)) if history else None,
    )


# -- rendering -------------------------------------------------------------------------------------
def _when(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M UTC") if value else ""


def _gib(n: int) -> str:
    return f"{n / 1024 ** 3:,.1f} GiB"


def _slug(value: str) -> str:
    """A fragment id from any text (host names, item ids): letters, digits and dashes only."""
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in value)[:80]


# Control characters from a target (NUL, BEL, terminal escapes) are shown as \xNN, never passed on.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def visible_controls(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def environment(texts: Texts) -> Environment:
    # autoescape=True, not select_autoescape: our templates end in .j2, which select_autoescape
    # would leave unescaped. Every printed value also passes visible_controls.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.do"],
                      trim_blocks=True, lstrip_blocks=True, finalize=visible_controls)
    env.filters.update(evidence_of=texts.evidence, fix_of=texts.fix, where=texts.where,
                       value=lambda v: render_value(v, texts.lang) if isinstance(v, (str, list)) else plain(v))
    env.globals.update(
        t=texts.t, title=texts.title, has_title=texts.has_title, remediation=texts.remediation, message=texts.message,
        has_text=texts.catalog.has, finding=texts.finding, FIRST_FIXES=FIRST_FIXES,
        status_label=texts.status, severity_label=texts.severity, evidence_rows=evidence_rows, plain=plain,
        when=_when, gib=_gib, slug=_slug, ORG=ORG, Status=Status, Answer=Answer, Readiness=Readiness,
        STATUS_ORDER=STATUS_ORDER, SEVERITY_DESC=SEVERITY_DESC, BAR_WIDTH=BAR_WIDTH, ANSWER_ORDER=ANSWER_ORDER,
    )
    return env


def stream_html(scan: ScanFile, *, lang: str = "vi", previous: ScanFile | None = None,
                today: date | None = None, detail: str = "summary", history: History | None = None) -> Iterator[str]:
    """The whole report as one HTML document (vi by default, or en), in pieces as the template
    produces them: a 100-host report is tens of MB, which need not be held whole. `summary` prints
    every result that is not a pass with its evidence sentence and fix, and passes as counts;
    `full` adds every result and its raw evidence."""
    texts = Texts.for_lang(lang)
    report = build_report(scan, lang=lang, previous=previous, today=today, detail=detail, history=history)
    return environment(texts).get_template("report.html.j2").generate(r=report, lang=lang)


def render_html(scan: ScanFile, *, lang: str = "vi", previous: ScanFile | None = None,
                today: date | None = None, detail: str = "summary", history: History | None = None) -> str:
    return "".join(stream_html(scan, lang=lang, previous=previous, today=today, detail=detail, history=history))
