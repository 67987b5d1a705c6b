"""The HTML report: rendered from the hand-made scan files in vi and en, escaped everywhere,
self-contained, honest about what could not be checked, and printable (headless Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from checks import default_registry
from reports import Texts
from reports.html import TEMPLATES, build_report, environment, evidence_rows, render_html
from scanner.i18n import default_catalog
from scanner.model import Status
from scanner.scanfile import load
from scanner.survey import Answer, load_survey
from tests.labscan import recorded_lab_scan
from tests.paths import ROOT

SCANS = Path(__file__).resolve().parent / "fixtures" / "scans"
HOSTILE = "<script>alert(1)</script>\"'&"
CHROMIUM = "/usr/bin/chromium"


class Page(HTMLParser):
    """The parsed report: every start tag with its attributes, the text, and text by element id."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self._open_ids: list[tuple[str, str, int]] = []  # (tag, id, depth)
        self._depth = 0
        self.by_id: dict[str, list[str]] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("meta", "br", "col", "rect", "input", "img", "link"):
            return
        self._depth += 1
        if a.get("id"):
            self._open_ids.append((tag, a["id"], self._depth))
            self.by_id[a["id"]] = []

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in ("meta", "br", "col", "rect", "input", "img", "link"):
            return
        while self._open_ids and self._open_ids[-1][2] >= self._depth:
            self._open_ids.pop()
        self._depth -= 1

    def handle_data(self, data):
        self.text_parts.append(data)
        for _, ident, _ in self._open_ids:
            self.by_id[ident].append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text_parts))

    def text_of(self, ident: str) -> str:
        return re.sub(r"\s+", " ", " ".join(self.by_id[ident]))

    def classes(self) -> list[str]:
        return [c for _, a in self.tags for c in (a.get("class") or "").split()]


@pytest.fixture(scope="module")
def province():
    return load(SCANS / "province.json")


@pytest.fixture(scope="module")
def previous():
    return load(SCANS / "province_prev.json")


@pytest.fixture(scope="module")
def hostile():
    return load(SCANS / "hostile.json")


def assert_inert(html: str) -> Page:
    """No script, no event handler, nothing fetched from anywhere: it opens on an air-gapped machine."""
    page = Page(html)
    names = [t for t, _ in page.tags]
    assert "script" not in names and "iframe" not in names and "object" not in names and "embed" not in names
    assert "link" not in names and "img" not in names
    for tag, attrs in page.tags:
        assert not [k for k in attrs if k.lower().startswith("on")], (tag, attrs)
        for key in ("src", "href", "action", "formaction", "xlink:href"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value or value.startswith("#"), (tag, key, value)
    csp = next(a.get("content") for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src" not in csp
    style = "".join(re.findall(r"<style>(.*?)</style>", html, re.S))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    return page


@pytest.mark.parametrize("name", ["province.json", "province_prev.json", "hostile.json"])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_fixture_renders_inert_in_both_languages(name, lang):
    html = render_html(load(SCANS / name), lang=lang)
    page = assert_inert(html)
    assert f'<html lang="{lang}">' in html
    title = Texts.for_lang(lang).t("doc_title")
    assert title in page.text
    assert not re.search(r"\breport\.[a-z_]+\.", page.text)  # no catalog key left untranslated


def test_hostile_strings_appear_as_text_never_as_markup(hostile):
    html = render_html(hostile)
    page = assert_inert(html)
    assert HOSTILE not in html  # never raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = page.text
    # Inventory names, message parameters, evidence (keys and values), targets and facts, all as text.
    assert "Sở " + HOSTILE in text  # organisation name
    assert "HTTT " + HOSTILE in text  # system name
    assert "DVC " + HOSTILE in text  # service name
    assert "SSH-2.0-OpenSSH_7.4 " + HOSTILE in text  # banner in evidence
    assert "<img src=x onerror=alert(4)>" in text  # an evidence key
    assert "Không quan sát được (" + HOSTILE + ": " + HOSTILE + "): " + HOSTILE in text  # message params
    assert '"><svg onload=alert(5)>' in text  # a target
    assert "interrupted " + HOSTILE in text  # the incomplete reason
    assert "Debian " + HOSTILE in text  # an OS name from the host's facts
    assert not [t for t, _ in page.tags if t == "svg" and False]
    svgs = [a for t, a in page.tags if t == "svg"]
    assert all(not any(k.startswith("on") for k in a) for a in svgs)


def test_long_evidence_is_folded_with_its_length_shown(hostile):
    rows = {r.key: r for r in evidence_rows(hostile.hosts["web-01"].results[0].evidence)}
    long = rows["long"]
    assert long.length == 6000 + len(HOSTILE) and long.full is not None and long.text.endswith("…")
    assert len(long.text) < 200
    html = render_html(hostile)
    assert f"({long.length} ký tự, bấm để xem)" in html
    assert "<details><summary>" in html


def test_autoescape_is_forced_for_j2_templates():
    env = environment(Texts.for_lang("vi"))
    assert env.autoescape is True
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert sorted(p.name for p in TEMPLATES.glob("*.html.j2"))  # the templates really end in .j2


def test_every_status_appears_and_nothing_undecided_counts_as_pass(province):
    html = render_html(province)
    page = assert_inert(html)
    classes = set(page.classes())
    for status in Status:
        assert f"st-{status.value}" in classes, status
    report = build_report(province, lang="vi")
    passes = sum(r.status == Status.PASS for r in province.all_results())
    assert report.status_counts[Status.PASS] == passes
    assert len(report.undetermined) == sum(r.status in (Status.ERROR, Status.UNKNOWN, Status.MANUAL)
                                           for r in province.all_results())
    # backup-01 could not be reached: logging (XI.3.3.1) passes everywhere else, yet is not a yes.
    logging = page.text_of("item-XI-3-3-1")
    assert "Chưa xác định" in logging and "backup-01" in logging
    undetermined = page.text_of("undetermined")
    assert "backup-01" in undetermined and "Lỗi kiểm tra" in undetermined and "Cần xác nhận" in undetermined


def test_summary_table_walks_every_xi_item_with_its_answer(province):
    page = Page(render_html(province))
    summary = page.text_of("summary")
    report = build_report(province, lang="vi")
    labels = {Answer.YES: "Có", Answer.NO: "Không", Answer.PARTLY: "Một phần", Answer.UNDETERMINED: "Chưa xác định",
              Answer.NOT_APPLICABLE: "Không áp dụng"}
    for a in report.answers:
        assert a.item.id in summary
        assert f"item-{a.item.id.replace('.', '-')}" in page.by_id
        assert labels[a.answer] in page.text_of(f"item-{a.item.id.replace('.', '-')}")
    assert "item-XI-4" in page.by_id


def test_declared_items_are_shown_as_declared_never_verified(province):
    page = Page(render_html(province))
    xi1 = page.text_of("item-XI-1")
    assert "Đã kê khai" in xi1 and "QĐ 12/QĐ-STTTT" in xi1 and "01/03/2025" in xi1
    assert "chưa được xác minh" in xi1
    en = Page(render_html(province, lang="en")).text_of("item-XI-1")
    assert "Declared" in en and "not verified" in en and "QĐ 12/QĐ-STTTT" in en


def _ticked(page: Page, html: str, item_id: str) -> list[str]:
    """The labels of the ticked boxes in the item's header."""
    block = html.split(f'id="item-{item_id}"', 1)[1].split('<div class="facts">', 1)[0]
    return re.findall(r'<span class="box on"></span>([^<]*)</span>', block)


def test_retention_ticks_follow_the_measured_buckets(province):
    html = render_html(province)
    page = Page(html)
    # backup-01 could not be measured: no box is ticked for the system, and it says why.
    assert _ticked(page, html, "XI-3-3-3") == []
    text = page.text_of("item-XI-3-3-3")
    assert "chưa đo được trên: backup-01" in text and "Khác: 28 ngày" not in text.split("Số ngày")[0]
    # Without backup-01 the weakest host (app-01, 28 days) decides: "Khác".
    hosts = {k: v for k, v in province.hosts.items() if k != "backup-01"}
    html = render_html(province.model_copy(update={"hosts": hosts}))
    assert _ticked(Page(html), html, "XI-3-3-3") == ["Khác"]
    assert "28 ngày" in Page(html).text_of("item-XI-3-3-3")
    # A yes/no item ticks Có or Không from its answer.
    html = render_html(province)
    assert _ticked(Page(html), html, "XI-1") == ["Có"]
    assert _ticked(Page(html), html, "XI-2-1-3") == ["Không"]


def test_xi4_lists_the_solutions_still_missing(province):
    page = Page(render_html(province))
    xi4 = page.text_of("item-XI-4")
    for item in ("XI.2.1.3", "XI.3.3.2", "XI.3.6.4"):
        assert item in xi4
    assert "XI.1 " not in xi4 and "XI.3.6.1" not in xi4


def test_fix_first_orders_by_severity(province):
    page = Page(render_html(province))
    text = page.text_of("priorities")
    assert text.index("Nghiêm trọng") < text.index("Cao") < text.index("Trung bình") < text.index("Thấp")


def test_incomplete_scan_says_so_at_the_top(province, hostile):
    html = render_html(hostile)
    banner = html.index("LẦN QUÉT CHƯA HOÀN TẤT")
    assert banner < html.index("Báo cáo mức độ sẵn sàng an ninh, an toàn thông tin</h1>")
    assert "LẦN QUÉT CHƯA HOÀN TẤT" not in render_html(province)
    assert "THIS SCAN IS INCOMPLETE" in render_html(hostile, lang="en")


def test_since_last_scan_appears_only_with_a_previous_scan(province, previous):
    assert 'id="changes"' not in render_html(province)
    page = Page(render_html(province, previous=previous))
    changes = page.text_of("changes")
    assert "Đã khắc phục" in changes and "Phát sinh mới" in changes and "mail-01" in changes and "backup-01" in changes
    assert "ports.undeclared_open" in changes or "Cổng" in changes


def test_section_i_and_viii_from_inventory_and_facts(province):
    page = Page(render_html(province))
    annex = page.text_of("section-i")
    assert "Cổng DVC (nginx)" in annex and "Debian GNU/Linux 12 (bookworm)" in annex and "nginx 1.22.1" in annex
    assert "Ubuntu 22.04.4 LTS" in annex and "Apache Tomcat 10.1.19" in annex
    assert "db-01: PostgreSQL DB 15.8 (5432/tcp)" in annex  # the database the web tier's system uses
    assert "Chưa kê khai" in annex  # 3306/tcp open on web-01 but not declared
    # Disk totals where gathered; "chưa thu thập" where not (jump-01 had no disk facts, backup-01 unreachable).
    assert "1,074.0 GiB" in annex and "chưa thu thập" in annex
    assert "500" in annex  # records at once, declared


def test_legal_basis_and_caveat_are_shown(province):
    page = Page(render_html(province))
    cover, method = page.text_of("cover"), page.text_of("method")
    # Each instrument by number and date, with what it says: the system must *meet* level 3.
    assert "Thông tư số 46/2022/TT-BCA" in method and "Điều 6" in method and "phải đáp ứng yêu cầu an toàn" in method
    assert "Nghị định số 85/2016/NĐ-CP ngày 01/7/2016" in method and "TCVN 11930:2017" in method
    assert "cần đối chiếu văn bản đang có hiệu lực" in method and "Căn cứ pháp lý" in cover
    assert "14423" not in page.text and "phê duyệt" not in method  # unsourced, and not what Điều 6 says
    # Page 1 says what the scan does not look at, so "ready" is not read as more than it is.
    assert "Không bao gồm: quét lỗ hổng theo mã CVE, kiểm thử xâm nhập" in cover and "thiết bị mạng" in cover
    assert "Linux và Windows Server" in cover  # what it does look at
    assert "check them against the texts in force" in Page(render_html(province, lang="en")).text


def test_english_report_has_no_vietnamese_ui_words(province):
    text = Page(render_html(province, lang="en")).text
    for word in ("Kết luận chung", "Tóm tắt mức độ sẵn sàng", "Ưu tiên khắc phục", "Chi tiết theo máy chủ"):
        assert word not in text
    assert "Readiness summary" in text and "What to fix first" in text


def test_every_catalog_key_the_templates_use_exists_in_both_languages():
    catalog = default_catalog()
    source = "".join(p.read_text(encoding="utf-8") for p in TEMPLATES.glob("*.j2"))
    keys = set(re.findall(r"""\bt\(["']([a-z0-9_.]+)["']""", source))
    keys = {k for k in keys if not k.endswith(".") and not k.endswith("_")}
    dynamic = {f"status.{s.value}" for s in Status} | {f"status_short.{s.value}" for s in Status} | {
        f"status_help.{s.value}" for s in Status} | {f"icon.{s.value}" for s in Status} | {
        f"answer.{a.value}" for a in Answer} | {f"answer_why.{a.value}" for a in Answer} | {
        f"icon.answer.{a.value}" for a in Answer} | {f"collector.{c}" for c in default_registry().collectors_for(
        default_registry())}
    missing = sorted(k for k in keys | dynamic if not catalog.has(f"report.{k}"))
    assert missing == []
    for key in keys | dynamic:
        entry = catalog.entries[f"report.{key}"]
        assert entry["vi"].strip() and entry["en"].strip(), key


# -- headless Chromium -----------------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed (Debian package chromium)")


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="readyscan-chromium-") as profile:
        argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def pdf_pages(path: Path) -> int:
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, timeout=60).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", path.read_bytes()))


@needs_chromium
def test_chromium_reads_the_report_and_finds_the_xi_table(tmp_path, province):
    page = tmp_path / "report.html"
    page.write_text(render_html(province), encoding="utf-8")
    done = chromium("--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert 'id="summary"' in dom and 'href="#item-XI-3-3-3"' in dom
    assert "Trả lời từng mục của phần XI" in dom and "XI.3.6.5" in dom


@needs_chromium
def test_chromium_prints_it_to_a4_with_a_page_per_part(tmp_path, province):
    page, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    page.write_text(render_html(province), encoding="utf-8")
    done = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    assert pdf.read_bytes().startswith(b"%PDF")
    # The cover, the summary and the survey walk each start a page; the other parts follow on.
    assert pdf_pages(pdf) >= 3
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
        width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
        assert abs(width - 595) < 2 and abs(height - 842) < 2  # A4


def test_accepted_risks_are_shown_as_waived_and_leave_the_fix_list(province):
    page = Page(render_html(province))
    waivers = page.text_of("waivers")
    assert "31/01/2027" in waivers and "Trần Thị B, Phó Giám đốc Sở" in waivers
    assert "Đã hết hạn" in waivers and "1 rủi ro được chấp nhận đã hết hạn" in waivers
    assert "malware.signatures_fresh" in waivers and "app-01" in waivers  # what the waiver covers, by check
    assert "malware.signatures_fresh" not in page.text_of("priorities")
    # The survey answer stays honest: XI.3.5 still fails on app-01's stale signatures.
    xi35 = page.text_of("item-XI-3-5")
    assert "Không đạt, rủi ro đã được chấp nhận trên: app-01" in xi35
    full = Page(render_html(province, detail="full"))
    assert "Rủi ro được chấp nhận đến 31/01/2027" in full.text_of("item-XI-3-5")
    assert "Rủi ro được chấp nhận đến 31/01/2027" in full.text_of("waivers")
    assert "waivers" not in Page(render_html(load(SCANS / "province_prev.json"))).by_id


def test_an_unreadable_inventory_still_renders_and_says_so(province):
    broken = province.model_copy(update={"inventory": province.inventory.model_copy(update={"data": {"hosts": "?"}})})
    page = assert_inert(render_html(broken))
    assert "Không đọc được nội dung tệp khai báo" in page.text
    assert "web-01" in page.text_of("hosts")  # the results are still all there


def test_the_countdown_runs_from_the_day_the_report_is_rendered(province):
    """Issue 13: a scan of 20/11 re-rendered on 05/12 said "25 days to go" for an inspection on
    15/12; it must say 10, and show the scan's date beside it."""
    from datetime import date
    assert build_report(province, lang="vi", today=date(2026, 11, 20)).inspection_days == 25
    later = render_html(province, lang="vi", today=date(2026, 12, 5))
    assert "còn 10 ngày" in later and "còn 25 ngày" not in later
    assert "tính đến ngày lập báo cáo 05/12/2026; dữ liệu quét ngày 20/11/2026" in later
    assert "15 days ago" in render_html(province, lang="en", today=date(2026, 12, 30))


# -- print that fits the occasion (issue 13): the lab's real scan, printed ------------------------------
RENDER_DAY = date(2026, 12, 5)  # the lab facts were recorded that day
SNAKE_KEY = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
CONFIG_WORDS = {"server_name", "pam_unix"}  # evidence keys that are also names a fix uses (nginx `server_name`, PAM `pam_unix.so`)


def _printed(tmp_path: Path, html: str, name: str) -> tuple[int, str]:
    page, pdf = tmp_path / f"{name}.html", tmp_path / f"{name}.pdf"
    page.write_text(html, encoding="utf-8")
    done = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri(), timeout=300)
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=120).stdout
    return pdf_pages(pdf), text


@needs_chromium
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext is not installed (Debian package poppler-utils)")
def test_the_lab_report_prints_within_30_pages_and_keeps_every_gap(tmp_path):
    scan = recorded_lab_scan()
    pages, text = _printed(tmp_path, render_html(scan, today=RENDER_DAY), "summary")
    assert pages <= 30, f"{pages} A4 pages"
    flat = " ".join(text.split())
    failing = {r.check_id for r in scan.all_results() if r.status in (Status.FAIL, Status.ERROR, Status.UNKNOWN)}
    assert failing and not [c for c in sorted(failing) if c not in flat]
    assert not re.search(r"\{[a-z_]+\}", text)  # no placeholder survives
    # The raw evidence stays on screen and in the scan file: none of its keys reaches the paper.
    keys = {k for r in scan.all_results() for k in r.evidence if SNAKE_KEY.match(k)} - CONFIG_WORDS
    assert keys and not sorted(k for k in keys if re.search(rf"\b{k}\b", flat))
    # The full report keeps everything, raw evidence included.
    full_pages, full_text = _printed(tmp_path, render_html(scan, today=RENDER_DAY, detail="full"), "full")
    assert full_pages > 2 * pages and "service_method" in full_text


def test_the_summary_folds_raw_evidence_and_tells_each_gap_once():
    scan = recorded_lab_scan()
    page = Page(render_html(scan, today=RENDER_DAY))
    html = render_html(scan, today=RENDER_DAY)
    # Raw evidence is there for the screen, folded; the full report opens it.
    assert '<details class="raw">' in html and '<details class="raw" open>' not in html
    assert '<details class="raw" open>' in render_html(scan, today=RENDER_DAY, detail="full")
    # A check that answers two items (TLS: servers, and data) details its gaps under the first only.
    xi_213 = page.text_of("item-XI-2-1-3")
    assert "Bằng chứng và cách khắc phục: xem mục" in xi_213
    # Passed checks are summarised per item, not repeated per host.
    assert "Các yêu cầu đã đạt" in page.text_of("item-XI-2-1-2")
    hosts = page.text_of("hosts")
    assert "weakssh-01" in hosts and "readyscan report --detail full" in hosts


def test_the_report_reads_the_recorded_summary_not_the_facts():
    """Issue 13 item 8: what the report shows besides results (OS, versions, capacity, dated ends,
    basis) is recorded in the scan file when it is written; with every observation removed, the
    report of that file still says the same."""
    scan = recorded_lab_scan()
    assert scan.summary is not None and scan.summary.hosts["legacy-01"].os == "Debian GNU/Linux 10 (buster)"
    bare = scan.model_copy(update={"hosts": {name: rec.model_copy(update={"observations": {}})
                                             for name, rec in scan.hosts.items()}})
    page, bare_page = Page(render_html(scan, today=RENDER_DAY)), Page(render_html(bare, today=RENDER_DAY))
    for part in ("section-i", "hosts", "method"):
        assert page.text_of(part) == bare_page.text_of(part), part
    assert "Debian GNU/Linux 10 (buster)" in bare_page.text_of("hosts")
    # A basis changed in a later version does not rewrite an old scan's report: it is the one recorded.
    old_basis = scan.summary.model_copy(update={"basis": scan.summary.basis.model_copy(
        update={"text": {"vi": "Căn cứ đã ghi khi quét", "en": "Basis recorded at scan time"}})})
    assert "Căn cứ đã ghi khi quét" in Page(render_html(scan.model_copy(update={"summary": old_basis}))).text_of("method")
    # So are the survey answers and the verdict: as judged when the file was written.
    assert scan.summary.answers["XI.3.5"] == Answer.NO and build_report(scan, lang="vi").answers
    judged_then = scan.summary.model_copy(update={"answers": {**scan.summary.answers, "XI.3.5": Answer.PARTLY}})
    report = build_report(scan.model_copy(update={"summary": judged_then}), lang="vi")
    assert next(a for a in report.answers if a.item.id == "XI.3.5").answer == Answer.PARTLY
    assert report.readiness == scan.summary.readiness
    # The XI.3 table's rows too: the filled survey ticks what the scan recorded for each row.
    assert set(scan.summary.row_answers) == {"XI.3.1/services", "XI.3.1/limits", "XI.3.1/management"}
    item = load_survey().item("XI.3.1")
    recorded = scan.summary.model_copy(update={"row_answers": {**scan.summary.row_answers, "XI.3.1/management": Answer.YES}})
    again = scan.model_copy(update={"summary": recorded})
    assert again.row_answer(item, item.rows[2], again.all_results()).answer == Answer.YES
    # A file written before the summary existed gets one when it is read.
    assert load(SCANS / "province.json").summary is None and load(SCANS / "province.json").summarized().hosts


def test_reports_render_the_scan_file_and_import_no_fact_model_or_setting():
    """Issue 13 item 8: what a report shows besides results is in the scan file (its summary), so no
    renderer reads a fact model, the thresholds or the EOL table: they may change, old scans may not."""
    import ast

    for path in sorted((ROOT / "reports").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("scanner.facts", "checks")), (path.name, node.module)
