"""The filled survey form (Phiếu khảo sát of letter 1335/QLHC-TTDLDC): sections I, II, VIII, IX, X,
XI, XII and XIII answered from the inventory and the scan, in the form's own order, numbering and
words.

This module only builds a typed view of the filled form. Labels are the form's wording
(checks/data/survey.yaml, reports/text/report.yaml); answers come from scanner.survey, and every
line says where it came from: declared by the unit (never shown as verified), observed by the
scan, or generated from the gaps. Only the form's own boxes are ticked (Có / Không, the retention
periods, the services of XII), the way the form's question reads (`form_tick`); gaps found on some
hosts are remarks under the item, naming the host and the finding, and an item nothing could
decide keeps its boxes empty with a remark saying what a person must check. The HTML template and
the DOCX writer lay out the same view and decide nothing. Pure: a scan in, a form out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Literal, get_args

from pydantic import ValidationError

from reports import Texts, plain, result_order
from reports.access import access_words
from reports.html import capacities, environment, service_rows
from scanner.inventory import AccessRow, Device, Inventory, PopulationService
from scanner.model import Result, Status
from scanner.scanfile import ScanFile
from scanner.survey import (
    NEUTRAL_STATUSES,
    ORG,
    UNDETERMINED_STATUSES,
    Answer,
    ItemAnswer,
    SurveyItem,
    load_survey,
    retention_answer,
)

Source = Literal["declared", "scan", "generated", "missing"]

# The form's own numbering where the item id does not give it (its copy elides 3.1-3.2).
NUMBERS = {"XI.3.1": "-"}
# The prompt the form prints under an item's boxes (report.form.prompt.<key>).
PROMPTS = {"XI.1": "if_any", "XI.2.1": "policy", "XI.2.2": "document", "XI.2.3": "document",
           "XI.3.3.1": "devices", "XI.3.3.2": "specifics", "XI.3.4": "where", "XI.3.5": "where",
           "XI.3.6": "specifics"}
NO_BOXES = frozenset({"XI.2.4", "XI.3.6.6", "XI.3.1", "XI.4"})  # the form gives these no Có/Không
POPULATION_SERVICES = get_args(PopulationService)  # XII's boxes, in the form's order
XIII_DOTTED = 4  # the dotted lines left in XIII when the unit asks nothing of the Ministry
HOSTS_SHOWN = 12


# -- the view ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    text: str
    source: Source


@dataclass(frozen=True)
class Tick:
    label: str
    on: bool


@dataclass(frozen=True)
class HeaderCell:
    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class Cell:
    text: str = ""  # may hold several lines
    tick: bool | None = None  # a tick box cell; None for text
    source: Source | None = None


@dataclass(frozen=True)
class Table:
    header: tuple[tuple[HeaderCell, ...], ...]
    rows: tuple[tuple[Cell, ...], ...]
    widths: tuple[int, ...]  # relative column widths
    empty: str = ""  # said instead of rows when there are none


@dataclass(frozen=True)
class Heading:
    kind: ClassVar[str] = "heading"
    number: str
    label: str


@dataclass(frozen=True)
class Question:
    """One question of the form: its boxes, the prompt under them and the answer lines."""

    kind: ClassVar[str] = "question"
    number: str  # "1.", "(1)", "2.2.", "-"
    label: str
    ticks: tuple[Tick, ...] = ()
    prompt: str | None = None
    lines: tuple[Line, ...] = ()
    table: Table | None = None
    answer: Answer | None = None  # the derived answer, where one was derived
    tick: Answer | None = None  # Có/Không ticked (YES or NO); None: no box ticked, or boxes of their own
    item_id: str | None = None
    dotted: int = 1  # dotted lines drawn when there is no answer line


Block = Heading | Question


@dataclass(frozen=True)
class Section:
    number: str  # I, II, VIII ...
    title: str
    blocks: tuple[Block, ...]
    table: Table | None = None  # the section's own table (I, II), before its questions
    note: str | None = None  # the form's remark closing the section


@dataclass(frozen=True)
class Signature:
    title: str
    name: str | None


@dataclass(frozen=True)
class FilledForm:
    lang: str
    title: tuple[str, ...]
    organization: str
    intro: str
    provenance: str
    legend: tuple[tuple[Source, str], ...]  # each mark and what it means
    incomplete: str | None  # the warning of a partial scan
    sections: tuple[Section, ...]
    elided: str  # where the form's sections III-VII would be
    place_date: str
    signatures: tuple[Signature, Signature]


# -- small formatting ------------------------------------------------------------------------------
def day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def number_text(value: float, lang: str, decimals: int = 1) -> str:
    """1,074.5 in English; 1.074,5 in Vietnamese (dấu chấm phân cách hàng nghìn, dấu phẩy thập phân)."""
    text = f"{value:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def gib(n: int, lang: str) -> str:
    return number_text(n / 1024 ** 3, lang) + " GiB"


def names(hosts: Sequence[str], texts: Texts) -> str:
    shown = [texts.t("org_level") if h == ORG else h for h in hosts[:HOSTS_SHOWN]]
    more = f" (+{len(hosts) - HOSTS_SHOWN})" if len(hosts) > HOSTS_SHOWN else ""
    return ", ".join(shown) + more


def _inventory(scan: ScanFile) -> Inventory | None:
    try:
        return Inventory.model_validate(scan.inventory.data)
    except ValidationError:
        return None


def form_number(item_id: str) -> str:
    """The number the form prints before an item or heading: 1., 2.1., (3), 3.4., -."""
    if item_id in NUMBERS:
        return NUMBERS[item_id]
    parts = item_id.removeprefix("XI.").split(".")
    if len(parts) <= 2:
        return ".".join(parts) + "."
    return f"({parts[2]})" if parts[:2] == ["2", "1"] else "-"


def _prompt(item_id: str, texts: Texts) -> str | None:
    key = next((PROMPTS[k] for k in sorted(PROMPTS, key=len, reverse=True)
                if item_id == k or item_id.startswith(k + ".")), None)
    return texts.t(f"form.prompt.{key}") if key else None


# -- answer lines --------------------------------------------------------------------------------
def declaration_text(ev: dict, texts: Texts) -> str:
    """A declaration as the form's specifics: Có/Không, document, date, details."""
    parts = [texts.t("declared.status_" + ("yes" if ev.get("status") == "yes" else "no"))]
    for key in ("document", "date", "product", "details", "kind", "headcount", "hosts"):
        value = ev.get(key)
        if value in (None, "", []):
            continue
        if key == "date":
            value = day(date.fromisoformat(str(value))) if _is_iso(value) else value
        if key == "kind":
            value = texts.t(f"form.unit_kind.{value}") if value in ("own", "assigned", "outsourced") else value
        parts.append(f"{texts.t('declared.' + key)}: {plain(value)}")
    return "; ".join(parts)


def _is_iso(value: object) -> bool:
    try:
        date.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def _waived(r: Result, texts: Texts) -> str:
    if not r.waiver:
        return ""
    expires = r.waiver.get("expires", "")
    return f" ({texts.t('waiver.badge', expires=day(date.fromisoformat(expires)) if _is_iso(expires) else expires)})"


def _where(results: Iterable[Result], texts: Texts) -> str:
    """Hosts (with their targets) of some results: legacy-01 (443/tcp, 8443/tcp), exposed-01. An
    accepted risk is said once after the hosts when every host shares it, else after each host."""
    by_host: dict[str, list[Result]] = {}
    for r in results:
        by_host.setdefault(r.host, []).append(r)
    shown = sorted(by_host)[:HOSTS_SHOWN]
    waived = {h: next((_waived(r, texts) for r in by_host[h] if r.waiver), "") for h in shown}
    shared = waived[shown[0]] if shown and len(set(waived.values())) == 1 else ""
    parts = []
    for host in shown:
        targets = sorted({r.target for r in by_host[host] if r.target})
        label = texts.t("org_level") if host == ORG else host
        parts.append(label + (f" ({', '.join(targets)})" if targets else "") + ("" if shared else waived[host]))
    if len(by_host) > HOSTS_SHOWN:
        parts.append(f"+{len(by_host) - HOSTS_SHOWN}")
    return ", ".join(parts) + shared


def remark_lines(results: Sequence[Result], texts: Texts) -> list[Line]:
    """Check by check, what the scan found wrong (the check's finding, where) and what it could
    not decide (the requirement a person must check, where)."""
    by_check: dict[str, list[Result]] = {}
    for r in sorted(results, key=result_order):
        by_check.setdefault(r.check_id, []).append(r)
    gaps, to_check = [], []
    for check_id, rs in by_check.items():
        failing = [r for r in rs if r.status == Status.FAIL]
        undecided = [r for r in rs if r.status in UNDETERMINED_STATUSES]
        if failing:
            gaps.append(Line(texts.t("form.gap_line", finding=texts.finding(check_id), where=_where(failing, texts)),
                             "scan"))
        if undecided:
            to_check.append(Line(texts.t("form.to_check", what=texts.title(check_id), where=_where(undecided, texts)),
                                 "missing"))
    return gaps + to_check


def evidence_lines(answer: ItemAnswer, texts: Texts) -> list[Line]:
    """The scan's part of an item's specifics: the hosts where it holds, then each gap (finding and
    host) and each thing left for a person to check."""
    host_results = [r for r in answer.results if r.host != ORG and r.status not in NEUTRAL_STATUSES]
    if not host_results:
        return []
    hosts = sorted({r.host for r in host_results})
    passing = [h for h in answer.passing_hosts if h != ORG]
    summary = texts.t("form.hosts_holding", n=len(passing), total=len(hosts)) + (
        f": {names(passing, texts)}" if passing else "")
    return [Line(summary + ".", "scan"), *remark_lines(host_results, texts)]


def form_tick(answer: ItemAnswer) -> Answer | None:
    """The box the form's question gets: YES (Có), NO (Không) or None (left empty, with a remark).

    A declared item (policies, the security unit, the solutions of 3.6) is answered by the unit's
    declaration: Có when declared with its document (or product, or details), Không when declared
    no; the scan's gaps on hosts are remarks under it. Declared yes with nothing to show for it, or
    not declared at all, leaves the boxes empty. An evidence item is Có where the measure holds on
    at least one host in scope (the hosts where it does not are remarks), Không where it holds on
    none, and empty where the results cannot decide."""
    if answer.item.declared:
        declared = answer.declarations
        if not declared:
            return None
        if declared[0].evidence.get("status") != "yes":
            return Answer.NO
        return Answer.YES if declared[0].status == Status.PASS else None
    return evidence_tick(answer)


def evidence_tick(answer: ItemAnswer) -> Answer | None:
    """The measure is in place (Có) where every check of the item holds on at least one host (the
    other hosts are remarks); Không where it fails on some host and holds on none; nothing is
    ticked where no host decides it (errors, unknowns, nothing to judge)."""
    hosts = [h for h in answer.passing_hosts if h != ORG]
    if hosts:
        return Answer.YES
    return Answer.NO if any(h != ORG for h in answer.failing_hosts) else None


def unsettled_lines(answer: ItemAnswer, tick: Answer | None, texts: Texts) -> list[Line]:
    """Why no box is ticked, and what a person must do about it."""
    if tick is not None:
        return []
    if answer.item.declared:
        key = "form.unsettled.no_document" if answer.declarations else "form.unsettled.undeclared"
    else:
        deciding = any(r.status not in NEUTRAL_STATUSES for r in answer.results)
        key = "form.unsettled.evidence" if deciding else "form.unsettled.no_result"
    return [Line(texts.t(key), "missing")]


def answer_lines(answer: ItemAnswer, tick: Answer | None, texts: Texts) -> list[Line]:
    lines = [Line(declaration_text(r.evidence, texts), "declared") for r in answer.declarations]
    return lines + unsettled_lines(answer, tick, texts) + evidence_lines(answer, texts)


def yes_no(tick: Answer | None, texts: Texts) -> tuple[Tick, ...]:
    return (Tick(texts.t("yes"), tick == Answer.YES), Tick(texts.t("no"), tick == Answer.NO))


# -- section XI ----------------------------------------------------------------------------------
def device_text(device: Device, texts: Texts) -> str:
    """A declared device as the form names it: FW-BIEN-01 (tường lửa, FortiGate 600E)."""
    kind = texts.t(f"form.device_kind.{device.kind}")
    return f"{device.name} ({kind}, {device.model})" if device.model else f"{device.name} ({kind})"


def row_devices(inv: Inventory | None, row: AccessRow, texts: Texts) -> Cell:
    """The "Thiết bị thiết lập chính sách" cell: the declared devices enforcing the row. The servers
    the scan looked at are never named here: a host passing a check is not the device setting the policy."""
    devices = inv.devices if inv else []
    if not devices:
        return Cell(texts.t("form.devices_undeclared"), source="missing")
    mine = [device_text(d, texts) for d in devices if row in d.enforces]
    return Cell("\n".join(mine), source="declared") if mine else Cell(texts.t("form.devices_none_for_row"), source="missing")


def access_table(item: SurveyItem, scan: ScanFile, results: Sequence[Result], inv: Inventory | None,
                 texts: Texts) -> Table:
    """XI.3 "Từ bên trong mạng": one row per requirement, answered from the reachability matrix zone
    by zone (reports.access), or by its own checks where the scan file has no matrix that saw anything."""
    header = ((HeaderCell(texts.t("form.access.requirement"), rowspan=2), HeaderCell(texts.t("form.access.option"), 2),
               HeaderCell(texts.t("form.access.policy"), rowspan=2), HeaderCell(texts.t("form.access.devices"), rowspan=2)),
              (HeaderCell(texts.t("yes")), HeaderCell(texts.t("no"))))
    rows = []
    matrix = access_words(scan, inv, texts)
    for label in item.rows:
        # The scan file's own mapping decides which results sit under a row, as it does for the item.
        row = scan.row_answer(item, label, results)  # as the scan recorded it
        words = matrix.get(label.key) if matrix else None
        if words is None:  # no matrix that saw anything: the row's checks answer it, as before
            tick = evidence_tick(row)
            policy = [line.text for line in unsettled_lines(row, tick, texts) + evidence_lines(row, texts)]
        else:
            # The matrix ticks the box: it saw every zone at once, every port, declared or not. The
            # row's checks stay as remarks: what they found wrong, and what a person must check.
            tick = words.tick
            hosts = [r for r in row.results if r.host != ORG and r.status not in NEUTRAL_STATUSES]
            policy = [text for text, _ in words.lines] + [line.text for line in remark_lines(hosts, texts)]
        rows.append((Cell(label.text(texts.lang)), Cell(tick=tick == Answer.YES), Cell(tick=tick == Answer.NO),
                     Cell("\n".join(policy), source="scan"), row_devices(inv, label.key, texts)))
    return Table(header, tuple(rows), (20, 9, 9, 40, 22))


def retention_question(item: SurveyItem, answer: ItemAnswer, results: Sequence[Result], texts: Texts) -> Question:
    ret = retention_answer(item, results)
    ticks = []
    for opt in item.options:
        label = opt
        if opt == item.options[-1]:  # "Khác:" carries the measured figure
            label = f"{opt}: {texts.t('retention.days', n=ret.days)}" if ret and ret.option == opt and ret.days \
                else f"{opt}:"
        ticks.append(Tick(label, bool(ret and ret.option == opt)))
    lines = []
    if ret and ret.option:
        shown = f"{ret.option}" + (f" — {texts.t('retention.days', n=ret.days)}" if ret.days is not None else "")
        lines.append(Line(f"{texts.t('retention.system')}: {shown}", "scan"))
    measured = [f"{h.host}: " + (texts.t("retention.days", n=h.days) if h.days is not None else h.bucket or "")
                for h in (ret.hosts if ret else ()) if h.option]
    if measured:
        lines.append(Line("; ".join(measured), "scan"))
    if ret and ret.unmeasured:
        lines.append(Line(f"{texts.t('retention.unmeasured')}: {names(ret.unmeasured, texts)}", "scan"))
    if not lines:
        lines.append(Line(texts.t("retention.no_results"), "missing"))
    if not (ret and ret.option):
        lines.insert(0, Line(texts.t("form.unsettled.retention"), "missing"))
    # Its boxes are periods, not Có/Không: `tick` stays None and the ticked Tick says which.
    return Question(form_number(item.id), item.text(texts.lang), tuple(ticks), None, tuple(lines),
                    answer=answer.answer, item_id=item.id)


def xi4_lines(answers: Sequence[ItemAnswer], texts: Texts) -> list[Line]:
    """XI.4 "Cần bổ sung giải pháp an ninh an toàn nào?": the solution of every item not fully in
    place, in the form's order, all of them: the unit declares it absent, or it falls short on a
    host. Accepted risks are gaps all the same: the measure is still missing. A measure declared
    without its document is not missing (the item's remark asks for the document)."""
    lines = []
    for a in answers:
        if a.item.solution is None or a.answer not in (Answer.NO, Answer.PARTLY):
            continue
        why = []
        if any(r.evidence.get("status") == "no" for r in a.declarations if r.status == Status.FAIL):
            why.append(texts.t("form.xi4.absent"))
        hosts = [h for h in a.failing_hosts if h != ORG]
        if hosts:
            why.append(texts.t("form.xi4.hosts", hosts=names(hosts, texts)))
        if not why:
            continue
        lines.append(Line(texts.t("form.xi4.line", solution=a.item.solution.text(texts.lang), item=a.item.id,
                                  why="; ".join(why)), "generated"))
    return lines or [Line(texts.t("xi4.none"), "generated")]


def section_xi(scan: ScanFile, results: Sequence[Result], inv: Inventory | None, texts: Texts) -> Section:
    """Section XI with the answers the scan recorded (items and table rows)."""
    survey = load_survey()
    answers = scan.item_answers(results)
    blocks: list[Block] = []
    seen: set[str] = set()
    by_id = {a.item.id: a for a in answers}
    for item in survey.xi_items:
        for g in survey.group_of(item):
            if g.id not in seen and "." in g.id:
                seen.add(g.id)
                blocks.append(Heading(form_number(g.id), g.text(texts.lang)))
        number, label = form_number(item.id), item.text(texts.lang)
        if item.answered == "generated":
            blocks.append(Question(number, label, lines=tuple(xi4_lines(answers, texts)), item_id=item.id, dotted=4))
            continue
        answer = by_id[item.id]
        if item.options:
            blocks.append(retention_question(item, answer, results, texts))
            continue
        if item.id == "XI.1":
            label = f"{label} {texts.t('form.xi1_question')}"
        elif item.id == "XI.3.6.6":
            label += ":"  # "- Giải pháp khác:", dotted lines follow
        if item.id in NO_BOXES:
            tick, ticks, prompt = None, (), None
            lines = [Line(declaration_text(r.evidence, texts), "declared") for r in answer.declarations]
            table = access_table(item, scan, results, inv, texts) if item.rows else None
            lines += evidence_lines(answer, texts)[:1] if table is not None else evidence_lines(answer, texts)
        else:
            tick = form_tick(answer)
            ticks, table, prompt = yes_no(tick, texts), None, _prompt(item.id, texts)
            lines = answer_lines(answer, tick, texts)
        blocks.append(Question(number, label, ticks, prompt, tuple(lines), table, answer.answer, tick, item.id))
    xi = next(g for g in survey.groups if g.id == "XI")
    return Section("XI", xi.text(texts.lang), tuple(blocks))


# -- sections I, II, VIII, IX, X, XII, XIII --------------------------------------------------------
def _title(item_id: str, texts: Texts) -> str:
    return load_survey().item(item_id).text(texts.lang)


def simple_table(texts: Texts, columns: Sequence[str], rows: Iterable[tuple[Cell, ...]], widths: tuple[int, ...],
                 empty: str = "") -> Table:
    """A table with one header row of catalog keys."""
    return Table((tuple(HeaderCell(texts.t(k)) for k in columns),), tuple(rows), widths, empty)


def systems_table(systems: Sequence, texts: Texts) -> Table:
    keys = ("col.no", "system.name", "system.function", "system.location", "system.owner", "system.operator",
            "form.system_level", "form.system_contact")
    rows = tuple((Cell(str(i)), Cell(s.name, source="declared"), Cell(s.function or "", source="declared"),
                  Cell(s.location or "", source="declared"), Cell(s.owner or "", source="declared"),
                  Cell(s.operator or "", source="declared"), Cell(str(s.security_level), source="declared"),
                  Cell(s.contact or "", source="declared"))
                 for i, s in enumerate(systems, 1))
    return simple_table(texts, keys, rows, (5, 16, 18, 13, 12, 12, 11, 13), texts.t("form.no_systems"))


def _declared_or_missing(text: str | None, texts: Texts) -> tuple[Line, ...]:
    return (Line(text, "declared"),) if text else (Line(texts.t("not_declared"), "missing"),)


def _versions(scan: ScanFile) -> tuple[dict[tuple[str, int], str], dict[tuple[str, int], str]]:
    """The SSH identification and the listening process of each (host, port), as the scan recorded them."""
    hosts = scan.summarized().hosts
    ssh = {(name, int(port)): v for name, h in hosts.items() for port, v in h.ssh_versions.items()}
    listening = {(name, int(port)): v for name, h in hosts.items() for port, v in h.listening.items()}
    return ssh, listening


def _has_version(text: str | None) -> bool:
    return bool(text) and any(ch.isdigit() for ch in text)


def zone_name(inv: Inventory, zone: str) -> str:
    """A zone as the unit describes it under `zones` ("Vùng DMZ (máy chủ công khai)"), else its name."""
    return (inv.zones or {}).get(zone) or zone


def device_rows(inv: Inventory | None, texts: Texts) -> list[tuple[Cell, ...]]:
    """Section I's list, first the declared network and security devices, then the servers."""
    rows = []
    for device in inv.devices if inv else []:
        kind = [texts.t(f"form.device_kind.{device.kind}"), device.model or ""]
        where = [device.location or ""]
        if device.separates:
            where.append(texts.t("form.separates", zones=", ".join(zone_name(inv, z) for z in device.separates)))
        rows.append((Cell(device.name, source="declared"), Cell("\n".join(k for k in kind if k), source="declared"),
                     Cell("\n".join(w for w in where if w), source="declared")))
    return rows


def section_i(scan: ScanFile, inv: Inventory | None, texts: Texts) -> Section:
    form = inv.survey_form if inv else None
    devices = [(Cell(str(i)), *row) for i, row in enumerate(device_rows(inv, texts), 1)]
    for i, host in enumerate(inv.hosts if inv else [], len(devices) + 1):
        seen = scan.summarized().hosts.get(host.name)
        cap = seen.capacity if seen else None
        kind = [host.role or "", (seen.os if seen else None) or host.os or ""]
        if cap and cap.cpus:
            kind.append(texts.t("form.hardware", cpus=cap.cpus, memory=gib(cap.memory, texts.lang) if cap.memory else "?"))
        systems = [s.location for s in inv.systems_of(host) if s.location]
        devices.append((Cell(str(i)), Cell(f"{host.name}\n{host.address}", source="declared"),
                        Cell("\n".join(k for k in kind if k), source="scan"),
                        Cell("\n".join([*sorted(set(systems)), texts.t("form.zone", zone=zone_name(inv, host.zone))]),
                             source="declared")))
    device_table = simple_table(texts, ("col.no", "form.device.name", "form.device.kind", "form.device.location"),
                                devices, (5, 25, 40, 30), texts.t("form.none"))
    services = []
    ssh, listening = _versions(scan)
    for i, s in enumerate(service_rows(scan, inv), 1):
        name = s.service if s.declared else texts.t("service.undeclared")
        port = int(s.port.split("/")[0])
        # The port scan's product and version first; a bare service name ("ssh") is no version.
        version = s.version if _has_version(s.version) else ssh.get((s.host, port)) or listening.get((s.host, port))
        services.append((Cell(str(i)), Cell(f"{name} ({s.port})", source="declared" if s.declared else "scan"),
                         Cell(f"{s.host}\n{s.address}"), Cell(s.location), Cell(s.os or texts.t("not_collected"), source="scan"),
                         Cell(version or s.version or texts.t("not_collected"), source="scan"), Cell(s.database or "—")))
    service_table = simple_table(texts, ("col.no", "service.name", "service.server", "service.location", "service.os",
                                         "service.version", "service.database"),
                                 services, (5, 19, 15, 15, 16, 15, 15), texts.t("annex.no_services"))
    staff = tuple((Cell(str(i)), Cell(m.name, source="declared"), Cell(m.position or "", source="declared"),
                   Cell(m.unit or "", source="declared"), Cell(m.duty or "", source="declared"),
                   Cell(m.phone or "", source="declared"))
                  for i, m in enumerate(form.staff if form else [], 1))
    staff_table = simple_table(texts, ("col.no", "form.staff.name", "form.staff.position", "form.staff.unit",
                                       "form.staff.duty", "form.staff.phone"),
                               staff, (5, 20, 15, 22, 24, 14), texts.t("not_declared"))
    blocks = (
        Heading("", texts.t("form.i.provide")),
        Question("-", texts.t("form.i.diagram"), lines=_declared_or_missing(form.diagram if form else None, texts)),
        Question("-", texts.t("form.i.devices"), table=device_table),
        Question("-", texts.t("form.i.services"), table=service_table),
        Question("-", texts.t("form.i.staff"), table=staff_table),
    )
    return Section("I", _title("I", texts), blocks, systems_table(inv.systems if inv else [], texts),
                   texts.t("form.i.note"))


def level_lines(results: Sequence[Result], texts: Texts) -> list[Line]:
    """Connecting systems declared below the level the population database requires, in words."""
    return [Line(texts.t("form.level_below", system=plain(r.evidence.get("system", r.target)),
                         level=plain(r.evidence.get("security_level", "")), minimum=plain(r.evidence.get("minimum", ""))),
                 "declared")
            for r in results if r.check_id == "declared.population_db_level" and r.status == Status.FAIL]


def section_ii(inv: Inventory | None, results: Sequence[Result], texts: Texts) -> Section:
    connecting = [s for s in inv.systems if s.connects_to_population_db] if inv else []
    lines = [Line(f"{s.name}: {s.connecting_component}", "declared") if s.connecting_component
             else Line(f"{s.name}: {texts.t('not_declared')}", "missing") for s in connecting]
    lines += level_lines(results, texts)
    block = Question("", texts.t("form.ii.components"), lines=tuple(lines))
    return Section("II", _title("II", texts), (block,), systems_table(connecting, texts))


def section_viii(scan: ScanFile, inv: Inventory | None, texts: Texts) -> Section:
    lang = texts.lang
    caps = capacities(scan)
    missing = [n for n in scan.hosts if n not in {c.host for c in caps}]
    total, used = sum(c.total for c in caps), sum(c.used for c in caps)
    suffix = [Line(f"{texts.t('form.not_gathered_on')}: {names(missing, texts)}", "missing")] if missing else []
    if caps:
        total_lines = [Line(texts.t("form.viii.total", size=gib(total, lang), n=len(caps),
                                    filesystems=sum(c.filesystems for c in caps)), "scan"), *suffix]
        share = number_text(100 * used / total, lang, 0) if total else "0"
        used_lines = [Line(texts.t("form.viii.used", size=gib(used, lang), percent=share), "scan"), *suffix]
    else:
        total_lines = used_lines = [Line(texts.t("not_collected"), "missing")]
    per_host = simple_table(texts, ("col.host", "capacity.filesystems", "capacity.total", "capacity.used"),
                            ((Cell(c.host), Cell(str(c.filesystems)), Cell(gib(c.total, lang), source="scan"),
                              Cell(gib(c.used, lang), source="scan")) for c in caps), (40, 16, 22, 22))
    records = [Line(texts.t("form.viii.records", system=s.name, n=number_text(s.max_concurrent_records, lang, 0)),
                    "declared") for s in (inv.systems if inv else []) if s.max_concurrent_records is not None]
    blocks = (Question("-", texts.t("capacity.total") + ":", lines=tuple(total_lines), table=per_host if caps else None),
              Question("-", texts.t("capacity.used") + ":", lines=tuple(used_lines)),
              Question("-", texts.t("form.viii.records_label"),
                       lines=tuple(records) or (Line(texts.t("not_declared"), "missing"),)))
    return Section("VIII", _title("VIII", texts), blocks)


def section_ix(inv: Inventory | None, results: Sequence[Result], texts: Texts) -> Section:
    systems = inv.systems if inv else []
    proposed = [s for s in systems if s.level_proposal]
    ticks = (Tick(texts.t("form.ix.not_started"), False), Tick(texts.t("form.ix.started"), bool(proposed)))
    lead = [] if proposed else [Line(texts.t("form.ix.undeclared"), "missing")]

    def level(n: int | None) -> str:
        return texts.t("system.level_n", n=n)

    def doc(number: str | None, when: date | None) -> str:
        return ", ".join(p for p in (number, day(when)) if p) or texts.t("not_declared")

    proposed_names = [Line(s.name, "declared") for s in proposed]
    proposals = [Line(f"{s.name}: {level(s.level_proposal.proposed_level)} — "
                      f"{doc(s.level_proposal.document, s.level_proposal.date)}", "declared") for s in proposed]
    approvals = [Line(f"{s.name}: {level(s.level_proposal.approved_level)} — "
                      f"{doc(s.level_proposal.decision, s.level_proposal.decision_date)}", "declared")
                 if s.level_proposal.approved_level else Line(f"{s.name}: {texts.t('form.ix.not_approved')}", "missing")
                 for s in proposed]
    operators = [Line(f"{s.name}: {s.operator}", "declared") for s in proposed if s.operator]
    below = level_lines(results, texts)
    blocks = (Question("", "", ticks, lines=tuple(lead + below)),
              Heading("", texts.t("form.ix.if_started")),
              Question("-", texts.t("form.ix.name"), lines=tuple(proposed_names)),
              Question("-", texts.t("form.ix.proposed"), lines=tuple(proposals)),
              Question("-", texts.t("form.ix.approved"), lines=tuple(approvals)),
              Question("-", texts.t("form.ix.operator"), lines=tuple(operators)))
    return Section("IX", _title("IX", texts), blocks)


def section_x(scan: ScanFile, inv: Inventory | None, texts: Texts) -> Section:
    steps = sorted(inv.survey_form.roadmap if inv and inv.survey_form else [], key=lambda s: s.year)

    def line(step) -> Line:
        budget = f" ({texts.t('form.x.budget')}: {step.budget})" if step.budget else ""
        return Line(step.plan + budget, "declared")

    first_year = steps[0].year if steps else scan.started.year
    first = [line(s) for s in steps if s.year == first_year] or [Line(texts.t("not_declared"), "missing")]
    later = [Line(f"{texts.t('form.x.year', year=s.year)} {line(s).text}", "declared") for s in steps if s.year > first_year]
    blocks = (Question("-", texts.t("form.x.year", year=first_year), lines=tuple(first)),
              Question("-", texts.t("form.x.later"), lines=tuple(later)))
    return Section("X", _title("X", texts) + ":", blocks)


def section_xii(inv: Inventory | None, texts: Texts) -> Section:
    connecting = [s for s in inv.systems if s.connects_to_population_db] if inv else []
    wanted = {svc for s in connecting for svc in s.population_db_services}
    ticks = tuple(Tick(texts.t(f"form.xii.{svc}"), svc in wanted) for svc in POPULATION_SERVICES)
    lines = [Line(f"{s.name}: " + (", ".join(texts.t(f"form.xii.{svc}") for svc in s.population_db_services)
                                   or texts.t("not_declared")), "declared") for s in connecting]
    other = inv.survey_form.other_needs if inv and inv.survey_form else None
    blocks = (Question("", "", ticks, lines=tuple(lines) or (Line(texts.t("not_declared"), "missing"),)),
              Question("", texts.t("form.xii.other"), lines=_declared_or_missing(other, texts)))
    return Section("XII", _title("XII", texts), blocks)


def section_xiii(inv: Inventory | None, texts: Texts) -> Section:
    """What the unit asks of the Ministry, as the unit wrote it; dotted lines when it asks nothing.
    The list of gaps to fix is the unit's own business and stays in the HTML report."""
    own = [Line(text, "declared") for text in (inv.survey_form.recommendations if inv and inv.survey_form else [])]
    return Section("XIII", _title("XIII", texts), (Question("", "", lines=tuple(own), dotted=XIII_DOTTED),))


# -- the whole form ------------------------------------------------------------------------------
def _signatures(scan: ScanFile, inv: Inventory | None, texts: Texts) -> tuple[str, tuple[Signature, Signature]]:
    form = inv.survey_form if inv else None
    signed = form.signed_on if form else None
    place_date = texts.t("form.place_date", place=(form.place if form and form.place else "....."),
                         d=f"{signed.day:02d}" if signed else "....", m=f"{signed.month:02d}" if signed else "....",
                         y=signed.year if signed else scan.started.year)
    return place_date, (Signature(texts.t("form.sign.unit"), form.confirmed_by if form else None),
                        Signature(texts.t("form.sign.preparer"), form.prepared_by if form else None))


def build_form(scan: ScanFile, *, lang: str = "vi") -> FilledForm:
    texts = Texts.for_lang(lang)
    scan = scan.summarized_scan()
    inv = _inventory(scan)
    results = sorted(scan.all_results(), key=result_order)
    place_date, signatures = _signatures(scan, inv, texts)
    organization = inv.organization.name if inv else str(scan.inventory.data.get("organization", ""))[:300]
    return FilledForm(
        lang=lang,
        title=(texts.t("form.title"), texts.t("form.subtitle_1"), texts.t("form.subtitle_2")),
        organization=organization,
        intro=texts.t("form.intro"),
        provenance=texts.t("form.provenance", tool=f"{scan.tool.name} {scan.tool.version}",
                           when=texts.t("form.at", time=scan.started.strftime("%H:%M"), day=day(scan.started.date())),
                           hosts=len(scan.hosts),
                           digest=scan.inventory.digest[:12]),
        legend=tuple((s, texts.t(f"form.legend.{s}")) for s in ("declared", "scan", "generated", "missing")),
        incomplete=texts.t("incomplete.why", reason=scan.incomplete_reason or texts.t("incomplete.no_reason"))
        if not scan.complete else None,
        sections=(section_i(scan, inv, texts), section_ii(inv, results, texts), section_viii(scan, inv, texts),
                  section_ix(inv, results, texts), section_x(scan, inv, texts), section_xi(scan, results, inv, texts),
                  section_xii(inv, texts), section_xiii(inv, texts)),
        elided=texts.t("form.elided"),
        place_date=place_date,
        signatures=signatures,
    )


def render_survey_html(scan: ScanFile, *, lang: str = "vi") -> str:
    """The filled form as one self-contained, printable HTML document."""
    form = build_form(scan, lang=lang)
    return environment(Texts.for_lang(lang)).get_template("survey_form.html.j2").render(f=form, lang=lang)
