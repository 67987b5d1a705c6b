"""The trend over re-scans (issue 17 item 4): which earlier scans count, the series, the day each
still-open finding was first seen, and the inline SVG chart."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reports import Texts
from reports.html import render_html
from reports.trend import ChartWords, Point, trend_svg
from scanner.history import first_seen, read_history, record_of, survey_group, trend_series
from scanner.model import Severity, Status
from scanner.scanfile import load

SCANS = Path(__file__).resolve().parent / "fixtures" / "scans"
DAY0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
SSH = ("web-01", "ssh.password_auth", "22/tcp")
TLS = ("web-01", "tls.protocol.legacy", "443/tcp")
TLS_DMZ = ("web-01", "tls.protocol.legacy", "443/tcp", "dmz")


def rec(day: int, *results):
    """One scan `day` days after DAY0 with (key, status) results, all high, group XI.3."""
    return record_of(DAY0 + timedelta(days=day), f"s{day}", "d",
                     [(k, st, Severity.HIGH, "XI.3") for k, st in results])


# -- first seen ------------------------------------------------------------------------------------
def test_a_finding_failing_throughout_dates_from_the_first_scan():
    seen = first_seen([rec(0, (SSH, Status.FAIL)), rec(10, (SSH, Status.FAIL)), rec(20, (SSH, Status.FAIL))])
    assert seen == {SSH: DAY0}


def test_a_new_finding_dates_from_the_scan_that_found_it():
    seen = first_seen([rec(0, (SSH, Status.PASS)), rec(10, (SSH, Status.PASS)), rec(20, (SSH, Status.FAIL))])
    assert seen[SSH] == DAY0 + timedelta(days=20)


def test_fixed_then_back_dates_from_its_return():
    seen = first_seen([rec(0, (SSH, Status.FAIL)), rec(10, (SSH, Status.PASS)), rec(20, (SSH, Status.FAIL)),
                       rec(30, (SSH, Status.FAIL))])
    assert seen[SSH] == DAY0 + timedelta(days=20)


def test_a_check_that_ran_and_no_longer_reports_the_target_ends_the_run():
    other = ("web-01", "ssh.password_auth", "2222/tcp")
    seen = first_seen([rec(0, (SSH, Status.FAIL)), rec(10, (other, Status.PASS)), rec(20, (SSH, Status.FAIL))])
    assert seen[SSH] == DAY0 + timedelta(days=20)


def test_a_scan_that_could_not_decide_neither_ends_nor_starts_the_run():
    seen = first_seen([rec(0, (SSH, Status.FAIL)), rec(10, (SSH, Status.ERROR)), rec(15), rec(20, (SSH, Status.FAIL))])
    assert seen[SSH] == DAY0  # an error, then a scan that did not reach the host: still the same run


def test_fixed_findings_have_no_date_and_vantages_are_separate_findings():
    seen = first_seen([rec(0, (TLS, Status.FAIL), (TLS_DMZ, Status.PASS), (SSH, Status.FAIL)),
                       rec(10, (TLS, Status.FAIL), (TLS_DMZ, Status.FAIL), (SSH, Status.PASS))])
    assert seen == {TLS: DAY0, TLS_DMZ: DAY0 + timedelta(days=10)}
    assert first_seen([]) == {}


# -- series ------------------------------------------------------------------------------------------
def test_series_counts_failures_per_group_and_severity_per_scan():
    a = record_of(DAY0, "a", "d", [(SSH, Status.FAIL, Severity.HIGH, "XI.3"), (TLS, Status.FAIL, Severity.HIGH, "XI.3"),
                                   (TLS_DMZ, Status.FAIL, Severity.MEDIUM, "XI.2"), (("", "x", ""), Status.ERROR, Severity.CRITICAL, "XI.2")])
    b = record_of(DAY0 + timedelta(days=1), "b", "d", [(SSH, Status.PASS, Severity.HIGH, "XI.3")])
    series = trend_series([a, b])
    assert [p.started for p in series] == [a.started, b.started]
    assert series[0].counts == {("XI.3", Severity.HIGH): 2, ("XI.2", Severity.MEDIUM): 1}
    assert not series[1].counts
    assert survey_group(("XI.3.3.2",)) == "XI.3" and survey_group(("VIII",)) == "VIII" and survey_group(()) == ""


# -- which earlier scans count -----------------------------------------------------------------------
def _write(folder: Path, name: str, raw: dict) -> Path:
    path = folder / name
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_history_reads_complete_scans_of_the_same_inventory_oldest_first_and_skips_broken_files(tmp_path):
    current = load(SCANS / "province.json")
    raw = json.loads((SCANS / "province_prev.json").read_text(encoding="utf-8"))
    for i in range(4):
        _write(tmp_path, f"province-{i}.json", raw | {"started": f"2026-10-0{i + 1}T02:00:00+00:00"})
    _write(tmp_path, "province-partial.json", raw | {"started": "2026-10-10T02:00:00+00:00", "complete": False})
    _write(tmp_path, "other.json", raw | {"inventory": raw["inventory"] | {"path": "/etc/readyscan/other.yaml"}})
    _write(tmp_path, "later.json", raw | {"started": "2026-12-01T02:00:00+00:00"})  # after the reported scan
    (tmp_path / "broken.json").write_text("{ not json", encoding="utf-8")
    _write(tmp_path, "wrongshape.json", raw | {"hosts": {"web-01": {"results": [{"check_id": 1}]}}})
    history = read_history(tmp_path, current)
    assert [r.started.day for r in history.records] == [1, 2, 3, 4]
    assert sorted(n.split(":")[0] for n in history.skipped) == ["broken.json", "wrongshape.json"]
    assert [r.started.day for r in read_history(tmp_path, current, limit=2).records] == [3, 4]
    # The reported file itself is never its own history.
    own = _write(tmp_path, "province-now.json", json.loads((SCANS / "province.json").read_text(encoding="utf-8")))
    assert len(read_history(tmp_path, current, exclude=own).records) == 4


# -- the SVG -----------------------------------------------------------------------------------------
WORDS = ChartWords("Failing <b>", "desc & more", {s: s.value for s in Severity})


def _svg(points, words=WORDS, uid="trend-XI-3"):
    out = str(trend_svg(points, words, uid))
    return out, ET.fromstring(out)  # well-formed XML, so nothing in it was left unescaped


def test_svg_escapes_every_text_and_carries_title_desc_and_labels():
    hostile = ChartWords('XI.3 </title><script>alert(1)</script>', 'a "quoted" <desc>', {Severity.HIGH: "<cao>"})
    out, tree = _svg([Point("01/11/2026<x>", {Severity.HIGH: 3})], hostile, uid='x"><script>')
    assert "<script" not in out and "&lt;script&gt;" in out and "&lt;cao&gt;" in out and "01/11/2026&lt;x&gt;" in out
    ns = "{http://www.w3.org/2000/svg}"
    assert tree.find(f"{ns}title").text.startswith("XI.3 </title>") and tree.find(f"{ns}desc") is not None
    assert tree.get("role") == "img" and 'id="xscript-high"' in out


def test_svg_tells_severities_apart_by_pattern_and_word_not_colour_alone():
    out, _ = _svg([Point("a", {Severity.CRITICAL: 1, Severity.HIGH: 2}), Point("b", {Severity.LOW: 1})])
    patterns = re.findall(r'<pattern id="([^"]+)"[^>]*>(.*?)</pattern>', out)
    assert [p for p, _ in patterns] == ["trend-XI-3-critical", "trend-XI-3-high", "trend-XI-3-low"]
    assert len({body for _, body in patterns}) == 3  # three different fills
    assert all(f">{s}</text>" in out for s in ("critical", "high", "low")) and ">medium</text>" not in out
    assert ">3</text>" in out and ">1</text>" in out  # each bar's total as text


def test_svg_of_one_scan_and_of_an_empty_series():
    one, _ = _svg([Point("20/11/2026", {Severity.HIGH: 4})])
    assert one.count("fill=\"url(") == 2 and ">20/11/2026</text>" in one  # the bar and the legend swatch
    empty, _ = _svg([])
    assert "url(" not in empty and "<title" in empty
    zero, _ = _svg([Point("a", {}), Point("b", {})])
    assert zero.count(">0</text>") == 2


def test_fifty_scans_keep_date_labels_apart():
    out, _ = _svg([Point(f"{i:02d}/11", {Severity.HIGH: i}) for i in range(51)])
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="123"', out)]
    assert len(xs) < 51 and all(b - a >= 40 for a, b in zip(xs, xs[1:], strict=False) if b != xs[-1])
    assert ">50</text>" in out  # the newest scan always labelled


# -- in the report ---------------------------------------------------------------------------------
def test_the_report_has_no_trend_without_history_and_one_with_it(tmp_path):
    current = load(SCANS / "province.json")
    assert 'id="trend"' not in render_html(current)
    raw = json.loads((SCANS / "province_prev.json").read_text(encoding="utf-8"))
    _write(tmp_path, "p1.json", raw)
    history = read_history(tmp_path, current)
    for lang, since in (("vi", "tồn tại từ 21/10/2026"), ("en", "open since 21/10/2026")):
        html = render_html(current, lang=lang, history=history)
        assert 'id="trend"' in html and "<svg class=\"trend\"" in html and since in html
        assert Texts.for_lang(lang).t("trend.title") in html


# -- three scans of one inventory, rendered by the CLI and read by Chromium -------------------------
def _set_status(raw: dict, host: str, check_id: str, status: str) -> dict:
    for r in raw["hosts"][host]["results"]:
        if r["check_id"] == check_id:
            r["status"] = status
    return raw


@pytest.fixture
def three_scans(tmp_path) -> Path:
    """The results folder after three scans of the province inventory: 01/10 (made from the 21/10
    file), 21/10 and 20/11 (the recorded fixtures). web-01's TLS finding fails throughout; its SSH
    password finding fails on 01/10, is fixed on 21/10 and is back on 20/11."""
    prev = json.loads((SCANS / "province_prev.json").read_text(encoding="utf-8"))
    first = json.loads(json.dumps(prev)) | {"started": "2026-10-01T02:00:00+00:00", "ended": "2026-10-01T02:20:00+00:00"}
    _write(tmp_path, "province-20261001T020000Z.json", _set_status(first, "web-01", "ssh.config.password_auth", "fail"))
    _write(tmp_path, "province-20261021T020000Z.json", _set_status(prev, "web-01", "ssh.config.password_auth", "pass"))
    return _write(tmp_path, "province-20261120T020000Z.json",
                  json.loads((SCANS / "province.json").read_text(encoding="utf-8")))


def test_cli_report_reads_the_history_from_the_scan_folder_unless_told_not_to(three_scans, tmp_path):
    from scanner.app.cli import main

    assert main(["report", str(three_scans), "-o", str(tmp_path / "with.html")]) == 0
    assert main(["report", str(three_scans), "--no-history", "-o", str(tmp_path / "without.html")]) == 0
    assert main(["report", str(three_scans), "--history", str(tmp_path / "nowhere"), "-o", str(tmp_path / "none.html")]) == 0
    assert 'id="trend"' in (tmp_path / "with.html").read_text(encoding="utf-8")
    assert 'id="trend"' not in (tmp_path / "without.html").read_text(encoding="utf-8")
    assert 'id="trend"' not in (tmp_path / "none.html").read_text(encoding="utf-8")


def _web01_first_seen(three_scans: Path) -> dict:
    history = read_history(three_scans.parent, load(three_scans), exclude=three_scans)
    from scanner.history import scan_record
    seen = first_seen([*history.records, scan_record(load(three_scans))])
    return {k[1]: v.strftime("%d/%m/%Y") for k, v in seen.items() if k[0] == "web-01"}


def test_first_seen_over_the_three_files(three_scans):
    seen = _web01_first_seen(three_scans)
    assert seen["tls.protocol.legacy"] == "01/10/2026"
    assert seen["ssh.config.password_auth"] == "20/11/2026"  # fixed on 21/10, back since


from tests.test_report_html import chromium, needs_chromium  # noqa: E402  (the suite's headless Chromium)


@needs_chromium
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext is not installed (Debian package poppler-utils)")
def test_chromium_shows_and_prints_the_trend_after_three_scans(three_scans, tmp_path):
    from scanner.app.cli import main

    page, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    assert main(["report", str(three_scans), "-o", str(page)]) == 0
    dom = chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    trend = dom.stdout[dom.stdout.index('id="trend"'):]
    trend = trend[:trend.index("</section>")]
    assert trend.count("<svg") >= 2 and "qua 3 lần quét" in trend
    assert "01/10/2026" in trend and "21/10/2026" in trend and "20/11/2026" in trend
    assert ">Cao</text>" in trend  # the legend names each severity in words
    done = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri(), timeout=300)
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=120).stdout
    flat = " ".join(text.split())
    assert "Diễn biến qua các lần quét" in flat and "Nhóm XI.3" in flat
    # The still-open TLS finding dates from the first scan; the SSH one from its return.
    assert "tồn tại từ 01/10/2026" in flat and "tồn tại từ 20/11/2026" in flat


def test_three_real_scans_of_this_machine_write_a_report_with_the_trend(tmp_path, capsys):
    """`readyscan scan` of localhost (local transport, declared items and sshd's configuration
    only), three times into one results folder: the third report draws three scans, and a broken
    file in the folder is named on stderr, not fatal."""
    from scanner.app.cli import main
    from tests.paths import ROOT

    inventory = str(ROOT / "inventories" / "localhost.yaml")
    for i in range(3):
        if i == 2:
            (tmp_path / "localhost-broken.json").write_text("{", encoding="utf-8")
        out = tmp_path / f"localhost-{i}.json"
        code = main(["scan", inventory, "--checks", "declared.*", "ssh.config.*", "--results-dir", str(tmp_path),
                     "-o", str(out), "--quiet"])
        assert code in (0, 1), code
    assert "localhost-broken.json" in capsys.readouterr().err
    first = load(tmp_path / "localhost-0.json")
    html = (tmp_path / "localhost-2.html").read_text(encoding="utf-8")
    assert 'id="trend"' in html and "qua 3 lần quét" in html
    assert 'id="trend"' not in (tmp_path / "localhost-0.html").read_text(encoding="utf-8")
    if any(r.status == Status.FAIL for r in first.all_results()):  # failing since the first scan, every time
        assert f"tồn tại từ {first.started:%d/%m/%Y}" in html


def test_hostile_ids_hosts_and_survey_items_reach_the_trend_as_text(tmp_path):
    from tests.test_report_html import assert_inert

    raw = json.loads((SCANS / "hostile.json").read_text(encoding="utf-8"))
    for r in next(iter(raw["hosts"].values()))["results"]:
        r["status"], r["survey_items"] = "fail", ['XI.<script>alert(1)</script>"']
    earlier = raw | {"started": "2020-01-01T00:00:00+00:00", "complete": True}
    _write(tmp_path, "earlier.json", earlier)
    current = load(SCANS / "hostile.json").model_validate(raw | {"complete": True})
    html = render_html(current, history=read_history(tmp_path, current))
    assert 'id="trend"' in html and "<svg class=\"trend\"" in html
    assert_inert(html)
    assert "<script>alert(1)" not in html and "XI.&lt;script&gt;" in html
