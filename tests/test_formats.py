"""CSV and JUnit parse back with the expected counts; the terminal summary prints target strings as
they are (never as rich markup)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from reports import Texts
from reports.formats import CSV_COLUMNS, print_summary, render_csv, render_junit
from scanner.model import Status
from scanner.scanfile import load

SCANS = Path(__file__).resolve().parent / "fixtures" / "scans"


@pytest.fixture(scope="module")
def province():
    return load(SCANS / "province.json")


@pytest.fixture(scope="module")
def hostile():
    return load(SCANS / "hostile.json")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_has_one_row_per_result_with_the_statuses_of_the_scan(province):
    text = render_csv(province)
    rows = rows_of(text)
    results = province.all_results()
    assert tuple(csv.reader(io.StringIO(text)).__next__()) == CSV_COLUMNS
    assert len(rows) == len(results) == 81
    assert Counter(r["status"] for r in rows) == Counter(r.status.value for r in results)
    web = next(r for r in rows if r["host"] == "web-01" and r["check_id"] == "ports.undeclared_open")
    assert (web["address"], web["zone"], web["target"], web["severity"]) == ("10.0.1.10", "dmz", "3306/tcp", "medium")
    assert '"service": "mysql"' in web["evidence"] and web["survey_items"] == "XI.3.1 XI.2.1.1"
    org = [r for r in rows if r["host"] == ""]
    assert len(org) == len(province.org_results) and all(r["address"] == "" for r in org)
    waived = [r for r in rows if r["waived_until"]]
    assert [(r["host"], r["check_id"], r["waived_until"]) for r in waived] == [
        ("app-01", "malware.signatures_fresh", "2027-01-31")]
    # A failing row names its gap (the finding), a passing one names none.
    texts = Texts.for_lang("vi")
    assert all(r["finding"] == texts.finding(r["check_id"]) for r in rows if r["status"] == "fail")
    assert all(r["finding"] == "" for r in rows if r["status"] != "fail")
    # Titles and messages follow the language; the columns do not.
    en = rows_of(render_csv(province, lang="en"))
    assert list(en[0]) == list(CSV_COLUMNS)
    assert any("Declared" in r["message"] for r in en) and any("Đã kê khai" in r["message"] for r in rows)


def test_csv_defuses_formulas_and_keeps_hostile_text_intact(hostile):
    rows = rows_of(render_csv(hostile))
    formula = next(r for r in rows if r["check_id"] == "http.version_disclosure")
    assert formula["target"] == "'=HYPERLINK(\"http://example.invalid\")"
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())
    banner = next(r for r in rows if r["check_id"] == "sshd.version.outdated")
    assert "<script>alert(1)</script>" in banner["evidence"]
    assert len(banner["evidence"]) <= 4000 + 20  # capped, with the full length noted
    assert banner["evidence"].endswith("]")


def test_junit_counts_and_one_testcase_per_host_check_target(province):
    root = ET.fromstring(render_junit(province))
    results = province.all_results()
    statuses = Counter(r.status for r in results)
    waived = sum(1 for r in results if r.waiver)
    assert root.tag == "testsuites"
    assert int(root.get("tests")) == len(results) == len(root.findall(".//testcase"))
    assert int(root.get("failures")) == statuses[Status.FAIL] - waived == len(root.findall(".//failure"))
    assert int(root.get("errors")) == statuses[Status.ERROR] == len(root.findall(".//error"))
    skipped = statuses[Status.UNKNOWN] + statuses[Status.MANUAL] + statuses[Status.NOT_APPLICABLE] + waived
    assert int(root.get("skipped")) == skipped == len(root.findall(".//skipped"))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == set(province.hosts) | {"don-vi"}
    for name, record in province.hosts.items():
        suite = suites[name]
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(record.results) == len(cases)
        assert len({c.get("name") for c in cases}) == len(cases)  # host × check × target is unique
        assert suite.get("hostname") == record.address
    backup = suites["backup-01"]
    assert int(backup.get("errors")) == len(backup.findall(".//error")) == 7
    case = next(c for c in suites["web-01"] if c.get("name") == "ports.undeclared_open [3306/tcp]")
    assert case.find("failure") is not None and "mysql" in case.find("failure").text


def test_junit_survives_control_characters_and_markup(hostile):
    text = render_junit(hostile, lang="en")
    root = ET.fromstring(text)  # would raise on a NUL or a bell character
    assert "\x00" not in text and "\x07" not in text
    failure = next(c for c in root.iter("testcase") if c.get("name", "").startswith("sshd.version.outdated"))
    assert "<script>alert(1)</script>" in failure.find("failure").text  # as text, parsed back intact
    assert root.get("name") == "readyscan"


def test_terminal_summary_prints_strings_as_they_are(province, hostile):
    out = io.StringIO()
    console = Console(file=out, width=140, color_system=None, force_terminal=False)
    print_summary(hostile, console, lang="en")
    text = out.getvalue()
    assert "THIS SCAN IS INCOMPLETE" in text and "interrupted <script>alert(1)</script>" in text
    assert "Sở <script>alert(1)</script>" in text
    assert "Not ready" in text and "XI.3.3.3" in text

    out = io.StringIO()
    print_summary(province, Console(file=out, width=160, color_system=None), lang="vi",
                  previous=load(SCANS / "province_prev.json"))
    text = out.getvalue()
    assert "Chưa sẵn sàng" in text and "INCOMPLETE" not in text and "CHƯA HOÀN TẤT" not in text
    assert "2 đã khắc phục, 1 mới, 1 không đạt trở lại" in text
    assert "Rủi ro được chấp nhận: 1" in text
    # The most severe failing check comes first.
    assert text.index("Nghiêm trọng") < text.index("Trung bình")


def test_terminal_summary_does_not_read_markup_in_target_strings(hostile):
    record = Console(record=True, width=160, file=io.StringIO())
    scan = hostile.model_copy(update={"incomplete_reason": "[bold red]boom[/] [link=file:///etc/passwd]x[/link]"})
    print_summary(scan, record, lang="en")
    text = record.export_text()
    assert "[bold red]boom[/]" in text and "[link=file:///etc/passwd]x[/link]" in text
