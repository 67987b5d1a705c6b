"""Plain formats of a scan: CSV of results, JUnit XML, and the terminal summary.

CSV and JUnit are for machines (a spreadsheet, a CI server); their column and element names are
fixed, only titles and messages follow the language. Target strings stay data in every format:
CSV cells that a spreadsheet would run as a formula are defused, XML is built by ElementTree and
stripped of characters XML 1.0 cannot carry, and the terminal never reads them as rich markup.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reports import STATUS_ORDER, Texts, result_order
from scanner.diff import diff_scans
from scanner.model import Result, Status
from scanner.reachability import Reachability
from scanner.scanfile import ScanFile
from scanner.survey import ORG, Answer, Readiness, fix_first, readiness

CSV_COLUMNS = ("host", "address", "zone", "check_id", "title", "finding", "target", "status", "severity",
               "survey_items", "message", "evidence", "waived_until", "seen_from")
EVIDENCE_CAP = 4000  # characters of evidence JSON per CSV row / JUnit element
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs cells that start so
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

JUNIT_FAILURE = {Status.FAIL: "failure", Status.ERROR: "error", Status.UNKNOWN: "skipped", Status.MANUAL: "skipped",
                 Status.NOT_APPLICABLE: "skipped"}


def _results(scan: ScanFile) -> list[Result]:
    return sorted(scan.all_results(), key=lambda r: (r.host, r.check_id, r.target, r.vantage or ""))


def _evidence_json(r: Result) -> str:
    text = json.dumps(r.evidence, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= EVIDENCE_CAP else text[:EVIDENCE_CAP] + f"… [{len(text)}]"


def csv_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def render_csv(scan: ScanFile, *, lang: str = "vi") -> str:
    """One row per result (organisation-level results have an empty host)."""
    texts = Texts.for_lang(lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in _results(scan):
        record = scan.hosts.get(r.host)
        row = (r.host, record.address if record else "", record.zone if record else "", r.check_id,
               texts.title(r.check_id), texts.finding(r.check_id) if r.status == Status.FAIL else "", r.target,
               r.status.value, r.severity.value, " ".join(r.survey_items),
               texts.message(r), _evidence_json(r), (r.waiver or {}).get("expires", ""), r.vantage or "")
        writer.writerow([csv_cell(str(v)) for v in row])
    return out.getvalue()


def _xml(text: str) -> str:
    return XML_INVALID.sub("\ufffd", text)


def _junit_kind(r: Result) -> str | None:
    if r.status == Status.FAIL and r.waiver is not None:
        return "skipped"
    return JUNIT_FAILURE.get(r.status)


def render_junit(scan: ScanFile, *, lang: str = "vi") -> str:
    """One testsuite per host, one testcase per host × check × target: failures for fail, errors for
    error, skipped for unknown, manual and not applicable; pass and info pass. A failure under an
    active accepted-risk waiver is skipped with the waiver named, as it no longer fails the scan."""
    texts = Texts.for_lang(lang)
    by_suite: dict[str, list[Result]] = {}
    for r in _results(scan):
        by_suite.setdefault(r.host, []).append(r)
    root = ET.Element("testsuites", name="readyscan")
    totals: Counter[str] = Counter()
    for host, results in by_suite.items():
        suite_name = texts.t("junit.suite_org") if host == ORG else host
        kinds = Counter(_junit_kind(r) or "passed" for r in results)
        suite = ET.SubElement(root, "testsuite", name=_xml(suite_name), tests=str(len(results)),
                              failures=str(kinds["failure"]), errors=str(kinds["error"]),
                              skipped=str(kinds["skipped"]), timestamp=scan.started.isoformat())
        if host in scan.hosts:
            suite.set("hostname", _xml(scan.hosts[host].address))
        for r in results:
            name = f"{r.check_id} [{where}]" if (where := texts.where(r)) else r.check_id
            case = ET.SubElement(suite, "testcase", classname=_xml(suite_name), name=_xml(name))
            kind = _junit_kind(r)
            # A failure is named by its finding ("SSH accepts passwords"), anything else by the requirement.
            name_of = texts.finding if r.status == Status.FAIL else texts.title
            message = f"{name_of(r.check_id)}: {texts.message(r)}".rstrip(": ")
            if r.waiver:
                message += " — " + texts.t("waiver.badge", expires=r.waiver.get("expires", ""))
            message = _xml(message)
            if kind:
                child = ET.SubElement(case, kind, message=message,
                                      type=f"{r.status.value}/{'waived' if r.waiver else r.severity.value}")
                if kind != "skipped":
                    child.text = _xml(_evidence_json(r))
            elif r.status == Status.INFO:
                ET.SubElement(case, "system-out").text = message
        totals.update(kinds)
        totals["tests"] += len(results)
    for key in ("tests", "failure", "error", "skipped"):
        attr = {"failure": "failures", "error": "errors"}.get(key, key)
        root.set(attr, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- terminal ------------------------------------------------------------------------------------
STATUS_STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.ERROR: "dark_orange", Status.UNKNOWN: "grey62",
                Status.MANUAL: "magenta", Status.NOT_APPLICABLE: "grey50", Status.INFO: "blue"}
ANSWER_STYLE = {Answer.YES: "bold green", Answer.NO: "bold red", Answer.PARTLY: "bold yellow",
                Answer.UNDETERMINED: "grey62", Answer.NOT_APPLICABLE: "grey50"}
READINESS_STYLE = {Readiness.READY: "bold green", Readiness.UNCONFIRMED: "bold yellow",
                   Readiness.NOT_READY: "bold red"}
SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan",
                  "info": "grey50"}


MATRIX_ROWS = 40  # beyond this, the terminal shows the violating rows only (the report has them all)


def reachability_table(reach: Reachability, texts: Texts) -> Table:
    """The matrix of a scan from several zones, for a terminal: a row per service, a column per
    zone a scanner stood in; a violating cell is marked ✗ in red, an allowed open one in green."""
    t = texts.t
    table = Table(title=t("terminal.matrix"), title_justify="left")
    for key in ("col.host", "reach.col_service", "reach.col_allowed"):
        table.add_column(t(key), overflow="fold")
    for vantage in reach.vantages:
        table.add_column(vantage or t("reach.zone_unknown"), overflow="fold")
    shown = reach.services if len(reach.services) <= MATRIX_ROWS else [
        svc for svc in reach.services if any(cell.violation for cell in svc.cells.values())]
    for svc in shown:
        cells = []
        for vantage in reach.vantages:
            cell = svc.cells[vantage]
            style = "bold red" if cell.violation else "green" if cell.reachable else "grey50"
            cells.append(Text(("✗ " if cell.violation else "") + t(f"reach.state.{cell.state}"), style=style))
        service = f"{svc.target} {svc.kind}" + ("" if svc.declared else f" ({t('reach.undeclared')})")
        table.add_row(Text(svc.host), Text(service), Text(", ".join(svc.allowed_zones) or t("reach.nowhere")), *cells)
    if len(shown) < len(reach.services):
        table.caption = t("terminal.more", n=len(reach.services) - len(shown))
    return table


def print_summary(scan: ScanFile, console: Console, *, lang: str = "vi", previous: ScanFile | None = None,
                  top: int = 10) -> None:
    """A short readiness summary on `console` (write it to stderr: stdout is for the chosen format).
    Every value is a rich Text, so a banner full of [brackets] prints as it is."""
    scan = scan.summarized_scan()
    texts = Texts.for_lang(lang)
    t = texts.t
    results = sorted(scan.all_results(), key=result_order)
    answers = scan.item_answers(results)
    verdict = scan.summarized().readiness or readiness(answers, results, scan.complete)
    org = scan.inventory.data.get("organization", {}).get("name", "") if isinstance(
        scan.inventory.data.get("organization"), dict) else ""

    console.print(Text.assemble((t("terminal.title"), "bold"), " · ", str(org), " · ",
                                scan.started.strftime("%d/%m/%Y %H:%M UTC")))
    if not scan.complete:
        console.print(Text(t("incomplete.title"), style="bold white on red"))
        console.print(Text(t("incomplete.why", reason=scan.incomplete_reason or t("incomplete.no_reason")),
                           style="red"))
    console.print(Text.assemble((t("readiness.label") + ": ", "bold"),
                                (t(f"readiness.{verdict.value}.title"), READINESS_STYLE[verdict]),
                                " — ", t(f"readiness.{verdict.value}.why")))

    counts = Counter(r.status for r in results)
    waived = sum(1 for r in results if r.status == Status.FAIL and r.waiver is not None)
    console.print(Text.assemble((t("terminal.counts") + ": ", "bold"), *[
        part for s in STATUS_ORDER if counts[s]
        for part in ((f"{texts.status(s)} {counts[s]}", STATUS_STYLE[s]), ("  ", ""))],
        (f"({t('waiver.part')}: {waived})" if waived else "", "grey50")))

    table = Table(title=t("terminal.items"), title_justify="left", show_lines=False, expand=False)
    for key in ("item.id", "item.label", "item.answer", "item.failing", "item.undetermined"):
        table.add_column(t(key), overflow="fold", justify="right" if key in ("item.failing", "item.undetermined") else "left")
    for a in answers:
        table.add_row(Text(a.item.id), Text(a.item.text(lang)), Text(t(f"answer.{a.answer.value}"),
                                                                     style=ANSWER_STYLE[a.answer]),
                      Text(str(len(a.failing_hosts) or "")), Text(str(len(a.undetermined_hosts) or "")))
    console.print(table)

    reach = scan.summary.reachability if scan.summary else None
    if reach is not None and len(reach.vantages) > 1 and reach.services:
        console.print(reachability_table(reach, texts))

    priorities = fix_first(results)
    if priorities:
        fix = Table(title=t("terminal.top"), title_justify="left")
        for key in ("col.rank", "col.severity", "col.gap", "col.where"):
            fix.add_column(t(key), overflow="fold")
        for i, p in enumerate(priorities[:top], 1):
            hosts = ", ".join(texts.t("org_level") if h == ORG else h for h in p.hosts)
            fix.add_row(Text(str(i)), Text(texts.severity(p.severity), style=SEVERITY_STYLE[p.severity.value]),
                        Text.assemble(texts.finding(p.check_id), (f"  {p.check_id}" if texts.has_title(p.check_id) else "", "grey50")), Text(hosts))
        console.print(fix)
        if len(priorities) > top:
            console.print(Text(t("terminal.more", n=len(priorities) - top), style="grey50"))

    if previous is not None:
        d = diff_scans(previous, scan)
        console.print(Text(t("terminal.changes", fixed=len(d.fixed), new=len(d.new), regressed=len(d.regressed),
                             still=len(d.still_failing), unverified=len(d.unverified))))



