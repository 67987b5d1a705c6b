"""`readyscan checks` and `readyscan diff` as scripts read them: JSON or CSV with whole ids when the
output is not a terminal (or when asked), a table for a person, and the count of what was listed."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from rich.console import Console

from checks import default_registry
from reports import Texts
from reports.listing import Column, Listing, choose_format, print_table
from scanner.app.cli import main
from tests.paths import ROOT

SCANS = ROOT / "tests" / "fixtures" / "scans"


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_piped_checks_are_json_with_whole_ids_and_the_filtered_count():
    # A real pipe, as `readyscan checks 'tls.*' | cat` has: no table, nothing cut.
    out = subprocess.run([sys.executable, "-m", "scanner", "checks", "tls.*"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, check=True).stdout
    doc = json.loads(out)
    expected = [c.id for c in default_registry().select(["tls.*"])]
    assert doc["count"] == len(expected) == len(doc["checks"]) and len(expected) < len(default_registry())
    assert [c["id"] for c in doc["checks"]] == expected
    assert all(c["title"] and c["survey_items"] and c["severity"] for c in doc["checks"])


def test_checks_as_csv(capsys):
    code, out = run(capsys, "checks", "ssh.config.*", "--format", "csv", "--lang", "en")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["id"] for r in rows} == {c.id for c in default_registry().select(["ssh.config.*"])}
    assert rows[0].keys() == {"id", "survey_items", "severity", "title", "gathers"}
    assert all(r["survey_items"].startswith("XI.") for r in rows)
    # what `scan --checks 'ssh.config.*'` will gather: the sshd configuration probe alone
    assert {r["gathers"] for r in rows} == {"host/sshd_config"}


def test_table_title_counts_only_the_selected_checks_and_keeps_ids_whole(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    code, out = run(capsys, "checks", "ssh.config.*", "--lang", "en")
    selected = default_registry().select(["ssh.config.*"])
    assert code == 0 and f"Check catalog ({len(selected)})" in out
    assert all(c.id in out for c in selected)


def test_a_narrow_table_folds_titles_but_never_ids():
    long_id = "ssh.config.access_restricted"
    listing = Listing(kind="checks", title="t", columns=(Column("id", "Id", keep_whole=True), Column("title", "T")),
                      rows=({"id": long_id, "title": "word " * 30},))
    console = Console(width=40, record=True, color_system=None)
    print_table(listing, console)
    assert long_id in console.export_text()


def test_no_match_is_an_input_error(capsys):
    assert main(["checks", "nothing.like.this*"]) == 2


def test_format_choice():
    assert choose_format(None, True) == "table" and choose_format(None, False) == "json"
    assert choose_format("csv", True) == "csv"


def test_diff_as_json_and_csv(capsys):
    old, new = str(SCANS / "province_prev.json"), str(SCANS / "province.json")
    code, out = run(capsys, "diff", old, new, "--format", "json")
    doc = json.loads(out)
    assert code == 1  # a new finding and a regression
    assert doc["counts"]["new"] == 1 and doc["counts"]["regressed"] == 1 and doc["counts"]["fixed"] == 2
    new_rows = [c for c in doc["changes"] if c["change"] == "new"]
    assert new_rows == [{"change": "new", "host": "web-01", "check_id": "ports.undeclared_open", "target": "3306/tcp",
                         "severity": new_rows[0]["severity"], "before": None, "after": "fail",
                         "title": new_rows[0]["title"], "what": new_rows[0]["what"]}]
    # A new gap is named by its finding; a fixed one by the requirement it now meets.
    texts = Texts.for_lang("vi")
    assert new_rows[0]["what"] == texts.finding("ports.undeclared_open")
    fixed = next(c for c in doc["changes"] if c["change"] == "fixed")
    assert fixed["what"] == fixed["title"] == texts.title(fixed["check_id"])
    assert doc["count"] == len(doc["changes"])
    code, out = run(capsys, "diff", old, new, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == doc["count"] and {r["change"] for r in rows} >= {"new", "fixed", "regressed"}


def test_report_detail_summary_by_default_and_full_on_request(capsys, tmp_path):
    # `readyscan report --detail full` keeps the exhaustive view: every result, raw evidence open.
    summary, full = tmp_path / "summary.html", tmp_path / "full.html"
    assert run(capsys, "report", str(SCANS / "province.json"), "-o", str(summary))[0] == 0
    assert run(capsys, "report", str(SCANS / "province.json"), "--detail", "full", "-o", str(full))[0] == 0
    brief, whole = summary.read_text(encoding="utf-8"), full.read_text(encoding="utf-8")
    assert '<details class="raw" open>' in whole and '<details class="raw" open>' not in brief
    assert whole.count('class="st"') > brief.count('class="st"')  # host tables list passes too


def test_make_demo_finds_the_checkout_it_scans():
    """`make demo` runs scanner.app.demo: it imports, and its paths are the checkout's."""
    from scanner.app import demo

    assert demo.ROOT == ROOT
    assert (demo.ROOT / "inventories" / "localhost.yaml").is_file() and (demo.ROOT / "lab" / "__main__.py").is_file()
    done = subprocess.run([sys.executable, "-c", "import scanner.app.demo"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
