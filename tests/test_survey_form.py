"""The filled survey form (HTML in the form's layout, and DOCX) and the inspection-day lapses.

Rendered from the hand-made scan files (tests/fixtures/scans) and from copies of them changed in
one respect each; the DOCX is opened back with python-docx and read like a person would read it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import get_args

import pytest
from docx import Document

from checks import default_registry
from reports import Texts
from reports.docx_export import BOX_OFF, BOX_ON, render_docx
from reports.html import inspection_lapses, render_html
from reports.survey_form import FilledForm, Question, build_form, form_number, render_survey_html
from scanner.facts.tls import Certificate, CertificateFacts, TlsEndpoint, TlsFacts
from scanner.inventory import AccessRow, Inventory
from scanner.model import Message, Observation, Outcome, Result, Severity, Status
from scanner.scanfile import ScanFile, load
from scanner.survey import Answer, load_survey
from scanner.waivers import Waiver, WaiverState
from tests.labscan import recorded_lab_scan
from tests.paths import ROOT, survey_seed
from tests.test_report_html import CHROMIUM, HOSTILE, Page, assert_inert, chromium

SCANS = ROOT / "tests" / "fixtures" / "scans"


@pytest.fixture(scope="module")
def province() -> ScanFile:
    return load(SCANS / "province.json")


@pytest.fixture(scope="module")
def hostile() -> ScanFile:
    return load(SCANS / "hostile.json")


def question(form: FilledForm, item_id: str) -> Question:
    return next(b for s in form.sections for b in s.blocks if b.kind == "question" and b.item_id == item_id)


def section(form: FilledForm, number: str):
    return next(s for s in form.sections if s.number == number)


def ticked(q: Question) -> list[str]:
    return [t.label for t in q.ticks if t.on]


def with_results(scan: ScanFile, host: str, keep=lambda r: True, add: tuple[Result, ...] = ()) -> ScanFile:
    """A copy of the scan where one host keeps only some of its results and gains others."""
    record = scan.hosts[host]
    results = [r for r in record.results if keep(r)] + list(add)
    return scan.model_copy(update={"hosts": {**scan.hosts, host: record.model_copy(update={"results": results})}})


def with_inventory(scan: ScanFile, **changes) -> ScanFile:
    data = {**scan.inventory.data, **changes}
    Inventory.model_validate(data)  # the change itself must be a valid inventory
    return scan.model_copy(update={"inventory": scan.inventory.model_copy(update={"data": data})})


def result(check_id: str, host: str, status: Status, items: tuple[str, ...], evidence: dict | None = None,
           target: str = "", message: Message | None = None) -> Result:
    return Result(check_id=check_id, host=host, target=target, status=status, severity=Severity.HIGH,
                  survey_items=items, message=message, evidence=evidence or {})


# -- the form's structure and words ----------------------------------------------------------------
def test_sections_follow_the_form_in_its_order(province):
    form = build_form(province)
    assert [s.number for s in form.sections] == ["I", "II", "VIII", "IX", "X", "XI", "XII", "XIII"]
    survey = load_survey()
    assert [s.title.rstrip(":") for s in form.sections] == [
        survey.item(n).vi.rstrip(":") if n != "XI" else survey.groups[0].vi
        for n in ("I", "II", "VIII", "IX", "X", "XI", "XII", "XIII")]
    xi = [b for b in section(form, "XI").blocks]
    numbers = [b.number for b in xi]
    assert numbers[:9] == ["1.", "2.", "2.1.", "(1)", "(2)", "(3)", "(4)", "(5)", "(6)"]
    assert numbers[9:14] == ["2.2.", "2.3.", "2.4.", "3.", "-"]  # 3.1-3.2 are elided in the form: "- Từ bên trong mạng"
    assert numbers[-1] == "4." and xi[-1].label == "Cần bổ sung giải pháp an ninh an toàn nào?"
    assert form_number("XI.3.6.2") == "-" and form_number("XI.3.3") == "3.3." and form_number("XI.2.1.4") == "(4)"


def test_labels_are_the_forms_own_words():
    seed = re.sub(r"\s+", " ", survey_seed().read_text(encoding="utf-8"))
    texts = Texts.for_lang("vi")
    keys = ["form.title", "form.subtitle_1", "form.subtitle_2", "form.xi1_question", "form.sign.unit",
            "form.sign.preparer", "form.i.provide", "form.i.diagram", "form.i.devices", "form.i.services",
            "form.i.staff", "form.i.note", "form.ii.components", "form.viii.records_label", "form.ix.not_started",
            "form.ix.started", "form.ix.if_started", "form.ix.name", "form.ix.operator", "form.x.later",
            "form.xii.other", "form.access.requirement", "form.access.option", "form.access.policy",
            "form.access.devices", "form.system_level", "form.system_contact", "capacity.total", "capacity.used",
            "system.name", "system.function", "system.location", "system.owner", "system.operator"]
    keys += [f"form.prompt.{k}" for k in ("if_any", "policy", "document", "devices", "specifics", "where")]
    missing = [k for k in keys if texts.t(k) not in seed]
    assert missing == []
    # The form italicises "(số văn bản, thời gian)"; the seed marks it with asterisks.
    assert texts.t("form.ix.proposed").replace("(", "(*").replace("):", "*):") in seed
    assert texts.t("form.ix.approved").replace("(", "(*").replace("):", "*):") in seed
    # The seed's "Đề đảm bảo" is a typo of "Để đảm bảo"; the rest of the sentence is the form's.
    assert texts.t("form.intro").removeprefix("Để ") in seed
    for item in load_survey().items:
        if item.id not in ("XI.3.1",):
            assert item.vi in seed, item.id


def test_boxes_answer_the_forms_question_with_its_own_options(province):
    form = build_form(province)
    assert ticked(question(form, "XI.1")) == ["Có"]
    assert ticked(question(form, "XI.2.1.3")) == ["Không"]
    # A policy declared with its document is Có; the hosts where the scan found gaps are remarks
    # naming the host and the finding, never a "partly" answer.
    network = question(form, "XI.2.1.1")
    assert network.answer == Answer.PARTLY and ticked(network) == ["Có"]
    assert "Chưa đạt: Có cổng mở không thuộc dịch vụ đã kê khai — web-01 (3306/tcp)" in [
        line.text for line in network.lines]
    # An evidence item holding on four hosts, undecided on the fifth: Có, and backup-01 to check.
    logging = question(form, "XI.3.3.1")
    assert logging.answer == Answer.UNDETERMINED and ticked(logging) == ["Có"]
    assert any(line.source == "missing" and line.text.startswith("Cần kiểm tra trực tiếp") and "backup-01" in line.text
               for line in logging.lines)
    # Not declared: no box, and a remark saying what the unit must settle.
    incident = question(form, "XI.2.3")
    assert ticked(incident) == [] and incident.lines[0].source == "missing"
    assert incident.lines[0].text.startswith("Đơn vị chưa kê khai nội dung này")
    # Items the form prints without boxes stay without.
    assert question(form, "XI.2.4").ticks == () and question(form, "XI.3.6.6").ticks == ()


def test_evidence_items_tick_no_where_no_host_holds_and_nothing_where_none_decides(province):
    undecided = with_results(province, "web-01", keep=lambda r: "XI.3.5" not in r.survey_items, add=(
        result("malware.installed", "web-01", Status.UNKNOWN, ("XI.3.5",)),))
    for host in ("app-01", "db-01", "jump-01", "backup-01"):
        undecided = with_results(undecided, host, keep=lambda r: "XI.3.5" not in r.survey_items)
    q = question(build_form(undecided), "XI.3.5")
    assert ticked(q) == [] and q.lines[0].text.startswith("Kết quả quét chưa đủ căn cứ")
    failing = with_results(undecided, "web-01", keep=lambda r: "XI.3.5" not in r.survey_items, add=(
        result("malware.installed", "web-01", Status.FAIL, ("XI.3.5",)),))
    assert ticked(question(build_form(failing), "XI.3.5")) == ["Không"]


def test_declared_yes_without_a_document_ticks_nothing_and_asks_for_it(province):
    solutions = {**province.inventory.data["solutions"], "jump_host": {"status": "yes", "hosts": ["jump-01"]}}
    changed = with_inventory(province, solutions=solutions)
    declared = result("declared.solution.jump_host", "", Status.FAIL, ("XI.3.6.2",),
                      {"basis": "declared", "status": "yes", "hosts": ["jump-01"]}, message=Message(key="_no_document"))
    changed = changed.model_copy(update={"org_results": [r for r in changed.org_results
                                                         if r.check_id != "declared.solution.jump_host"] + [declared]})
    q = question(build_form(changed), "XI.3.6.2")
    assert ticked(q) == [] and any(line.text.startswith("Đơn vị kê khai Có nhưng chưa nêu văn bản") for line in q.lines)


def test_declared_answers_are_marked_declared_with_document_and_date(province):
    form = build_form(province)
    network = question(form, "XI.2.1.1")
    assert network.prompt == "Chính sách cụ thể đã áp dụng:"
    declared = [line for line in network.lines if line.source == "declared"]
    assert len(declared) == 1 and "QĐ 45/QĐ-STTTT" in declared[0].text and "10/05/2025" in declared[0].text
    assert all(line.source == "scan" for line in network.lines if "web-01" in line.text)
    unit = question(form, "XI.1")
    assert "tự thành lập" in unit.lines[0].text and "3" in unit.lines[0].text
    # An item the inventory leaves out is said to be missing, never answered.
    assert any(line.source == "missing" for line in question(form, "XI.2.3").lines)


def without_matrix(scan: ScanFile) -> ScanFile:
    """The scan as a file from before the reachability matrix was recorded would read."""
    scan = scan.summarized_scan()
    return scan.model_copy(update={"summary": scan.summary.model_copy(update={"reachability": None})})


def test_access_table_rows_are_answered_by_their_own_checks_without_a_matrix(province):
    q = question(build_form(without_matrix(province)), "XI.3.1")
    rows = q.table.rows
    assert [r[0].text for r in rows] == ["Các dịch vụ, ứng dụng được truy cập", "Giới hạn truy cập", "Quản lý truy cập"]
    # Row 2: the database port reachable from outside its zone fails it (db-01); no host holds it.
    assert (rows[1][1].tick, rows[1][2].tick) == (False, True)
    assert "db-01" in rows[1][3].text and "5432/tcp" in rows[1][3].text
    # Row 1: 3306 open but undeclared on web-01 while app-01 holds it: Có, with web-01's gap noted.
    assert (rows[0][1].tick, rows[0][2].tick) == (True, False) and "Một phần" not in rows[0][3].text
    assert "Chưa đạt: Có cổng mở không thuộc dịch vụ đã kê khai — web-01 (3306/tcp)" in rows[0][3].text
    # Row 3: nothing decides it: no box, and a remark for a person.
    assert (rows[2][1].tick, rows[2][2].tick) == (False, False) and rows[2][3].text.startswith("Chưa có kết quả quét")
    # No device declared: the column says so, and never names the hosts that passed.
    assert {r[4].text for r in rows} == {"Đơn vị chưa kê khai thiết bị mạng, thiết bị bảo mật."}


def test_access_table_names_the_declared_devices_of_each_row(province):
    devices = [{"name": "FW-BIEN-01", "kind": "firewall", "model": "FortiGate 600E", "separates": ["internet", "dmz"],
                "enforces": ["services", "limits"]},
               {"name": "SW-LOI-01", "kind": "switch", "separates": ["dmz", "app"]}]
    rows = question(build_form(with_inventory(province, devices=devices)), "XI.3.1").table.rows
    assert [r[4].text for r in rows] == ["FW-BIEN-01 (tường lửa, FortiGate 600E)", "FW-BIEN-01 (tường lửa, FortiGate 600E)",
                                         "Chưa kê khai thiết bị thiết lập chính sách này."]
    assert rows[0][4].source == "declared" and rows[2][4].source == "missing"
    listed = next(b for b in section(build_form(with_inventory(province, devices=devices)), "I").blocks
                  if b.kind == "question" and b.label.startswith("Danh mục thiết bị")).table.rows
    assert [r[1].text for r in listed[:3]] == ["FW-BIEN-01", "SW-LOI-01", "web-01\n10.0.1.10"]
    assert listed[0][2].text == "tường lửa\nFortiGate 600E" and listed[0][3].text == "phân tách: internet, dmz"


def test_every_xi31_check_sits_in_exactly_one_row_of_the_access_table():
    # The mapping is data (checks/data/survey.yaml), named as the inventory's devices name the rows.
    rows = load_survey().item("XI.3.1").rows
    xi31 = {c.id for c in default_registry() if "XI.3.1" in c.survey_items}
    placed = [c for row in rows for c in row.checks]
    assert len(placed) == len(set(placed))
    assert xi31 == set(placed)
    assert tuple(row.key for row in rows) == get_args(AccessRow)


def test_retention_ticks_the_box_of_the_weakest_host(province):
    retention = load_survey().item("XI.3.3.3")
    # As scanned: backup-01 could not be measured, so no box is ticked.
    q = question(build_form(province), "XI.3.3.3")
    assert [t.label for t in q.ticks][:2] == ["03 tháng", "06 tháng"] and ticked(q) == []
    assert "backup-01" in " ".join(line.text for line in q.lines)
    # Without backup-01 and with app-01 fixed to 95 days, every host keeps three months or more.
    fixed = with_results(province, "backup-01", keep=lambda r: r.check_id != "logging.retention")
    fixed = with_results(fixed, "app-01", keep=lambda r: r.check_id != "logging.retention", add=(
        result("logging.retention", "app-01", Status.PASS, ("XI.3.3.3",), {"days": 95, "survey_bucket": "03 tháng"}),))
    q = question(build_form(fixed), "XI.3.3.3")
    assert ticked(q) == [retention.options[0]] and q.lines[0].source == "scan"
    assert q.lines[0].text.endswith("03 tháng — 91 ngày")  # db-01 keeps the least
    assert "app-01: 95 ngày" in q.lines[1].text
    # With app-01 as it was (28 days), "Khác" is ticked and says how long.
    other = with_results(province, "backup-01", keep=lambda r: r.check_id != "logging.retention")
    assert ticked(question(build_form(other), "XI.3.3.3")) == ["Khác: 28 ngày"]


def test_xi4_names_every_missing_solution_in_the_forms_order(province):
    lines = [line.text for line in question(build_form(province), "XI.4").lines]
    assert lines[-3:] == ["Phòng, chống thất thoát dữ liệu (DLP) (mục XI.3.6.3): đơn vị chưa triển khai.",
                          "Tường lửa cơ sở dữ liệu (DB Firewall) (mục XI.3.6.4): đơn vị chưa triển khai; chưa đạt trên db-01.",
                          "Quản lý tài khoản đặc quyền (PIM/PAM) (mục XI.3.6.5): đơn vị chưa triển khai; "
                          "chưa đạt trên app-01, db-01."]
    # app-01's stale signatures are an accepted risk, yet the measure is still short there.
    assert "Phần mềm phòng, chống mã độc cho máy chủ (mục XI.3.5): chưa đạt trên app-01, web-01." in lines
    # Solutions, never check titles, and no cut-off.
    assert not any(line.startswith("…") or "Cổng cơ sở dữ liệu truy cập được" in line for line in lines)
    solutions = [i for i in load_survey().xi_items if i.solution]
    assert len(lines) == len([a for a in solutions if question(build_form(province), a.id).answer
                              in (Answer.NO, Answer.PARTLY)])


def test_capacity_totals_and_what_was_not_gathered(province):
    viii = section(build_form(province), "VIII")
    total, used, records = viii.blocks
    assert total.lines[0].text == "1.354,0 GiB (4 phân vùng trên 3 máy chủ)"
    assert total.lines[1].source == "missing" and "jump-01, backup-01" in total.lines[1].text
    assert used.lines[0].text == "1.103,0 GiB (81 %)"
    assert records.lines[0].source == "declared" and records.lines[0].text.endswith("500 hồ sơ")
    assert [r[0].text for r in total.table.rows] == ["web-01", "app-01", "db-01"]


def test_section_i_lists_devices_services_and_says_what_is_missing(province):
    i = section(build_form(province), "I")
    assert [r[1].text for r in i.table.rows] == ["Cổng Dịch vụ công trực tuyến tỉnh", "Hệ thống quản lý văn bản và điều hành"]
    diagram, devices, services, staff = (b for b in i.blocks if b.kind == "question")
    assert diagram.lines[0].source == "missing"
    assert "Debian GNU/Linux 12 (bookworm)" in devices.table.rows[0][2].text
    service_names = [r[1].text for r in services.table.rows]
    assert "Cổng DVC (nginx) (443/tcp)" in service_names and "Chưa kê khai (3306/tcp)" in service_names
    assert staff.table.rows == () and staff.table.empty == "chưa kê khai"


def test_service_versions_come_from_what_the_host_shows_never_a_guess(province):
    """Without nmap versions: the SSH identification, else the process listening on the port, named
    by the running package it belongs to, else by itself."""
    at = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)

    def observed(collector: str, data: dict) -> Observation:
        return Observation(collector=collector, outcome=Outcome.OK, started=at, ended=at, data=data)

    def without_versions(record):
        ports = record.observations["ports"]
        data = {**ports.data, "ports": [{k: v for k, v in p.items() if k not in ("product", "version")}
                                        for p in ports.data["ports"]]}
        return {**record.observations, "ports": ports.model_copy(update={"data": data})}

    web, jump = province.hosts["web-01"], province.hosts["jump-01"]
    host = web.observations["host"]
    listeners = {"source": "ss", "as_root": True, "processes_visible": True, "items": [
        {"proto": "tcp", "address": "0.0.0.0", "port": 443, "process": "nginx", "pid": 900},
        {"proto": "tcp", "address": "0.0.0.0", "port": 80, "process": "python3", "pid": 901}]}
    web_obs = {**without_versions(web), "host": host.model_copy(update={"data": {
        **host.data, "parsed": {**host.data["parsed"], "listeners": listeners}}})}
    ident = {"raw": "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13", "protocol": "2.0", "software": "OpenSSH_9.6p1",
             "comments": "Ubuntu-3ubuntu13", "product": "OpenSSH", "version": "9.6p1"}
    jump_obs = {**without_versions(jump), "sshserver": observed("sshserver", {"endpoints": [
        {"port": 22, "address": "10.0.9.5", "outcome": "ok", "identification": ident}]})}
    software = result("capacity.software", "web-01", Status.INFO, ("I",), {"software": [
        {"name": "nginx", "kind": "web", "packages": {"nginx": "1.22.1-9+deb12u11"}, "running": True}]})
    changed = province.model_copy(update={"hosts": {
        **province.hosts, "web-01": web.model_copy(update={"observations": web_obs, "results": [*web.results, software]}),
        "jump-01": jump.model_copy(update={"observations": jump_obs})}})
    services = next(b for b in section(build_form(changed), "I").blocks if b.kind == "question" and b.table
                    and b.label.startswith("Danh mục các ứng dụng"))
    version = {(r[2].text.split()[0], r[1].text.rsplit("(", 1)[1].rstrip(")")): r[5].text for r in services.table.rows}
    assert version[("web-01", "443/tcp")] == "nginx 1.22.1-9+deb12u11"
    assert version[("web-01", "80/tcp")] == "python3"  # not nginx's, though nginx runs on the host
    assert version[("jump-01", "22/tcp")] == "OpenSSH 9.6p1 Ubuntu-3ubuntu13"
    assert version[("web-01", "3306/tcp")] == "mysql"  # nothing better known: nmap's service name, as seen


def test_inventory_form_fields_fill_ix_x_xii_xiii_and_the_signatures(province):
    inv = province.inventory.data
    systems = [dict(inv["systems"][0], connecting_component="Phân hệ xác thực (API app-01)",
                    level_proposal={"proposed_level": 3, "document": "Tờ trình 52/TTr-STTTT", "date": "2024-05-06",
                                    "approved_level": 3, "decision": "QĐ 1520/QĐ-UBND", "decision_date": "2024-08-19"}),
               inv["systems"][1]]
    survey_form = {"place": "Nghệ An", "prepared_by": "Nguyễn Văn An", "confirmed_by": "Giám đốc Sở Lê Văn D",
                   "diagram": "Sơ đồ TTDL tỉnh, bản 02/2025",
                   "staff": [{"name": "Phạm Văn E", "position": "Chuyên viên", "duty": "Vận hành tường lửa"}],
                   "roadmap": [{"year": 2027, "plan": "Triển khai PAM"}, {"year": 2026, "plan": "Bổ sung WAF",
                                                                          "budget": "1,2 tỷ đồng"}],
                   "other_needs": "Thông tin nơi cư trú", "recommendations": ["Đề nghị hỗ trợ tài liệu kết nối."]}
    form = build_form(with_inventory(province, systems=systems, survey_form=survey_form))
    ix = section(form, "IX").blocks
    assert ticked(ix[0]) == ["Đã triển khai"]
    texts = {b.label: [line.text for line in b.lines] for b in ix if b.kind == "question"}
    assert texts["Cấp độ đã đề xuất (số văn bản, thời gian):"] == [
        "Cổng Dịch vụ công trực tuyến tỉnh: Cấp độ 3 — Tờ trình 52/TTr-STTTT, 06/05/2024"]
    assert texts["Cấp độ đã được phê duyệt (số quyết định, thời gian):"] == [
        "Cổng Dịch vụ công trực tuyến tỉnh: Cấp độ 3 — QĐ 1520/QĐ-UBND, 19/08/2024"]
    first, later = section(form, "X").blocks
    assert first.label == "Năm 2026:" and first.lines[0].text == "Bổ sung WAF (kinh phí: 1,2 tỷ đồng)"
    assert [line.text for line in later.lines] == ["Năm 2027: Triển khai PAM"]
    xii = section(form, "XII").blocks
    assert [t.label for t in xii[0].ticks] == ["xác thực", "gợi ý số định danh", "khai thác thông tin"]
    assert xii[1].lines[0].text == "Thông tin nơi cư trú"
    xiii = section(form, "XIII").blocks[0].lines
    assert xiii == (type(xiii[0])("Đề nghị hỗ trợ tài liệu kết nối.", "declared"),)  # the unit's asks only
    assert section(form, "II").blocks[0].lines[0].text == "Cổng Dịch vụ công trực tuyến tỉnh: Phân hệ xác thực (API app-01)"
    assert form.place_date == "Nghệ An, ngày .... tháng .... năm 2026"
    assert [s.name for s in form.signatures] == ["Giám đốc Sở Lê Văn D", "Nguyễn Văn An"]
    staff = next(b for b in section(form, "I").blocks if b.kind == "question" and b.table and b.label.startswith("Nguồn"))
    assert staff.table.rows[0][1].text == "Phạm Văn E"


def test_inventory_form_fields_are_validated():
    base = {"organization": {"name": "Sở X"}, "hosts": [{"name": "a", "address": "127.0.0.1", "zone": "z",
                                                        "transport": "local"}]}
    Inventory.model_validate({**base, "survey_form": {"roadmap": [{"year": 2026, "plan": "x"}]}})
    for bad in ({"survey_form": {"roadmap": [{"year": 1999, "plan": "x"}]}},
                {"survey_form": {"staff": [{"name": "A", "email": "a@b"}]}},  # unknown key
                {"survey_form": {"recommendations": [" "]}},
                {"systems": [{"name": "S", "security_level": 3, "level_proposal": {"proposed_level": 6}}]}):
        with pytest.raises(ValueError):
            Inventory.model_validate({**base, **bad})


def test_example_inventory_with_the_form_fields_still_validates():
    done = subprocess.run([sys.executable, "-m", "scanner", "validate", "inventories/example.yaml"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = (ROOT / "inventories" / "example.yaml").read_text(encoding="utf-8")
    assert "level_proposal:" in text and "survey_form:" in text and "roadmap:" in text


# -- HTML ------------------------------------------------------------------------------------------
def test_html_form_is_inert_self_contained_and_in_the_forms_order(province):
    html = render_survey_html(province)
    page = assert_inert(html)
    text = page.text
    order = ["PHIẾU KHẢO SÁT", "I. Thống kê", "II. Thống kê", "VIII. Năng lực", "IX. Việc đề xuất", "X. Lộ trình",
             "XI. Điều kiện an ninh", "XII. Đơn vị có nhu cầu", "XIII. Kiến nghị", "XÁC NHẬN CỦA ĐƠN VỊ",
             "NGƯỜI LẬP PHIẾU"]
    positions = [text.index(word) for word in order]
    assert positions == sorted(positions)
    assert "Sở Thông tin và Truyền thông tỉnh Mẫu" in text
    assert "@page { size: A4" in html
    assert not re.search(r"\breport\.[a-z_]+\.", text)  # no catalog key left untranslated


def test_html_form_ticks_match_the_view(province):
    html = render_survey_html(province)
    page = Page(html)
    xi1 = page.text_of("form-XI-1")
    assert "✓" in xi1 and xi1.index("✓") < xi1.index("Có") < xi1.index("Không")
    retention = page.text_of("form-XI-3-3-3")
    assert "✓" not in retention and "Chưa đo được thời gian lưu trữ nhật ký trên mọi máy chủ" in retention


def test_hostile_strings_stay_text_in_the_html_and_docx_forms(hostile):
    html = render_survey_html(hostile)
    assert_inert(html)
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Sở " + HOSTILE in Page(html).text
    assert "LẦN QUÉT CHƯA HOÀN TẤT" in html  # the hostile scan was interrupted
    doc = Document(io.BytesIO(render_docx(hostile)))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "Sở " + HOSTILE in body and "LẦN QUÉT CHƯA HOÀN TẤT" in body


def test_english_form_uses_english_words(province):
    text = Page(render_survey_html(province, lang="en")).text
    assert "SURVEY FORM" in text and "CONFIRMED BY THE UNIT" in text
    assert "PHIẾU KHẢO SÁT" not in text and "Chính sách cụ thể đã áp dụng" not in text


# -- DOCX ------------------------------------------------------------------------------------------
def docx_tables_with(doc, header: str):
    return [t for t in doc.tables if t.rows and header in [c.text for c in t.rows[0].cells]]


def test_docx_reads_back_with_the_answers(province):
    doc = Document(io.BytesIO(render_docx(province)))
    paragraphs = [p.text for p in doc.paragraphs]
    assert "Đơn vị: Sở Thông tin và Truyền thông tỉnh Mẫu" in paragraphs
    assert paragraphs[:3] == ["PHIẾU KHẢO SÁT", "HỆ THỐNG CÁC ĐƠN VỊ PHỤC VỤ KẾT NỐI VỚI",
                              "CƠ SỞ DỮ LIỆU QUỐC GIA VỀ DÂN CƯ"]
    # XI.1: Có ticked, Không not.
    xi1 = paragraphs.index(next(p for p in paragraphs if p.startswith("1. Tổ chức bộ máy")))
    assert paragraphs[xi1 + 1].startswith(f"{BOX_ON} Có") and f"{BOX_OFF} Không" in paragraphs[xi1 + 1]
    assert paragraphs[xi1 + 3].startswith("[KK] Có; số văn bản: QĐ 12/QĐ-STTTT; ngày ban hành: 01/03/2025")
    # The XI.3 table: its three rows, with "Giới hạn truy cập" ticked Không.
    (access,) = docx_tables_with(doc, "Yêu cầu")
    rows = [[c.text for c in r.cells] for r in access.rows]
    assert rows[1][1:3] == ["Có", "Không"]
    assert [r[0] for r in rows[2:]] == ["Các dịch vụ, ứng dụng được truy cập", "Giới hạn truy cập", "Quản lý truy cập"]
    assert rows[3][1:3] == [BOX_OFF, BOX_ON]
    # XI.4 lines, the signature blocks, the page size.
    assert "[TH] Phòng, chống thất thoát dữ liệu (DLP) (mục XI.3.6.3): đơn vị chưa triển khai." in paragraphs
    signatures = [c.text for c in doc.tables[-1].rows[0].cells]
    assert "XÁC NHẬN CỦA ĐƠN VỊ" in signatures[0] and "NGƯỜI LẬP PHIẾU" in signatures[1]
    assert "ngày .... tháng .... năm 2026" in signatures[1]
    page = doc.sections[0]
    assert (round(page.page_width.mm), round(page.page_height.mm)) == (210, 297)


def test_docx_ticks_the_measured_retention_box(province):
    fixed = with_results(province, "backup-01", keep=lambda r: r.check_id != "logging.retention")
    fixed = with_results(fixed, "app-01", keep=lambda r: r.check_id != "logging.retention", add=(
        result("logging.retention", "app-01", Status.PASS, ("XI.3.3.3",), {"days": 95, "survey_bucket": "03 tháng"}),))
    paragraphs = [p.text for p in Document(io.BytesIO(render_docx(fixed))).paragraphs]
    label = paragraphs.index("- Thời gian lưu trữ nhật ký hệ thống")
    boxes = paragraphs[label + 1]
    assert boxes.startswith(f"{BOX_ON} 03 tháng") and f"{BOX_OFF} 06 tháng" in boxes and f"{BOX_OFF} Khác:" in boxes


def test_cli_writes_both_form_formats(tmp_path, province):
    scan = tmp_path / "province.json"
    shutil.copy(SCANS / "province.json", scan)
    for fmt, suffix in (("survey-html", ".survey.html"), ("survey-docx", ".survey.docx")):
        done = subprocess.run([sys.executable, "-m", "scanner", "report", str(scan), "--format", fmt], cwd=ROOT,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        out = Path(done.stdout.strip())
        assert out == scan.with_suffix(suffix) and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert Document(str(scan.with_suffix(".survey.docx"))).paragraphs[0].text == "PHIẾU KHẢO SÁT"
    assert "PHIẾU KHẢO SÁT" in scan.with_suffix(".survey.html").read_text(encoding="utf-8")


@pytest.mark.skipif(not Path(CHROMIUM).exists() or not shutil.which("pdfinfo"), reason="needs chromium and pdfinfo")
def test_chromium_prints_the_form_on_a4(tmp_path, province):
    page = tmp_path / "form.html"
    page.write_text(render_survey_html(province), encoding="utf-8")
    pdf = tmp_path / "form.pdf"
    done = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert pdf.exists(), done.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+59[45]\.\d* x 841\.\d* pts \(A4\)", info), info
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 4


# -- inspection day --------------------------------------------------------------------------------
def certificate(subject: str, not_after: dt.datetime) -> Certificate:
    return Certificate(subject=subject, issuer="CN=CA nội bộ", serial="01", not_before=not_after - dt.timedelta(days=365),
                       not_after=not_after, public_key_type="RSA", public_key_bits=2048)


def tls_observation(*certs_by_port: tuple[int, tuple[Certificate, ...]]) -> Observation:
    now = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)
    facts = TlsFacts(endpoints=tuple(
        TlsEndpoint(port=port, kind="https", address="10.0.1.10", server_name="dichvucong.example.gov.vn",
                    certificate=CertificateFacts(server_name="dichvucong.example.gov.vn", chain=chain))
        for port, chain in certs_by_port))
    return Observation(collector="tls", outcome=Outcome.OK, started=now, ended=now, data=facts.model_dump(mode="json"))


@pytest.fixture(scope="module")
def lapsing(province) -> ScanFile:
    """The province scan (20/11/2026, inspection 15/12/2026) with things lapsing around inspection day."""
    utc = dt.UTC
    obs = tls_observation(
        (443, (certificate("CN=dichvucong.example.gov.vn", dt.datetime(2026, 12, 1, 8, tzinfo=utc)),
               certificate("CN=CA trung gian", dt.datetime(2026, 12, 15, 23, tzinfo=utc)))),  # on the day: lapses
        (8443, (certificate("CN=quantri.example.gov.vn", dt.datetime(2027, 6, 1, tzinfo=utc)),)),  # after: fine
        (9443, (certificate("CN=cu.example.gov.vn", dt.datetime(2026, 11, 1, tzinfo=utc)),)))  # already expired
    web = province.hosts["web-01"]
    web = web.model_copy(update={"observations": {**web.observations, "tls": obs}})
    scan = province.model_copy(update={"hosts": {**province.hosts, "web-01": web}})
    scan = with_results(scan, "web-01", keep=lambda r: r.check_id != "patch.os_eol", add=(
        result("patch.os_eol", "web-01", Status.PASS, ("XI.2.1.2",),
               {"release": "Debian 12 (bookworm)", "standard_end": "2026-12-10", "extended_end": "2028-06-30"}),))
    scan = with_results(scan, "db-01", keep=lambda r: r.check_id != "patch.os_eol", add=(
        result("patch.os_eol", "db-01", Status.PASS, ("XI.2.1.2",),
               {"release": "Ubuntu 22.04 LTS", "standard_end": "2026-12-15", "extended_end": None}),))  # ends on the day
    waiver = {"justification": "Chờ thay thế thiết bị cũ", "approver": "Giám đốc", "check": "tls.cert.untrusted"}
    waivers = [WaiverState(waiver=Waiver(**waiver, host="web-01", expires=dt.date(2026, 12, 14)), state="active", matched=2),
               WaiverState(waiver=Waiver(**waiver, expires=dt.date(2026, 12, 15)), state="active", matched=1),  # holds on the day
               WaiverState(waiver=Waiver(**waiver, host="app-01", expires=dt.date(2026, 12, 1)), state="unused")]
    return scan.model_copy(update={"waivers": waivers})


def test_lapses_before_inspection_day(lapsing):
    lapses = inspection_lapses(lapsing, dt.date(2026, 12, 15))
    assert [(lp.kind, lp.day, lp.days_left, lp.host, lp.target, lp.what) for lp in lapses] == [
        ("certificate", dt.date(2026, 12, 1), 11, "web-01", "443/tcp", "CN=dichvucong.example.gov.vn"),
        ("os_standard", dt.date(2026, 12, 10), 20, "web-01", "", "Debian 12 (bookworm)"),
        ("waiver", dt.date(2026, 12, 14), 24, "web-01", "", "tls.cert.untrusted"),
        ("certificate", dt.date(2026, 12, 15), 25, "web-01", "443/tcp", "CN=CA trung gian"),
    ]
    assert inspection_lapses(lapsing, dt.date(2026, 11, 1)) == []  # an inspection already past


def test_cover_counts_down_and_lists_the_lapses(lapsing, province):
    # Rendered on the scan's own day (20/11/2026): the countdown runs from the rendering day.
    on_scan_day = dt.date(2026, 11, 20)
    page = Page(render_html(lapsing, today=on_scan_day))
    cover = page.text_of("lapses")
    assert "Sẽ hết hạn trước ngày kiểm tra 15/12/2026" in cover
    assert cover.index("01/12/2026") < cover.index("10/12/2026") < cover.index("14/12/2026")
    assert "CN=dichvucong.example.gov.vn" in cover and "Debian 12 (bookworm)" in cover
    assert "Chứng thư số hết hạn" in cover and "Hệ điều hành hết hỗ trợ tiêu chuẩn" in cover
    assert "còn 25 ngày" in page.text_of("cover")
    assert "Không có chứng thư số" in Page(render_html(province, today=on_scan_day)).text_of("lapses")
    # The form goes to the Ministry: what to renew before the inspection stays in the report, and
    # XIII holds only what the unit asks of the Ministry (dotted lines when it asks nothing).
    xiii = section(build_form(lapsing), "XIII").blocks[0]
    assert xiii.lines == () and xiii.dotted == 4


# -- the lab's form, read back as the Ministry reads it ----------------------------------------------
# Every box the form prints (XI: Có/Không and the retention periods, IX, XII): nothing else is ticked.
FORM_OPTIONS = {"Có", "Không", "03 tháng", "06 tháng", "Khác", "Chưa triển khai", "Đã triển khai", "xác thực",
                "gợi ý số định danh", "khai thác thông tin"}
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# Missing in the lab: declared absent (DLP, DB firewall, PAM) or short on hosts (the rest).
LAB_MISSING = ("XI.3.3.2", "XI.3.4", "XI.3.5", "XI.3.6.1", "XI.3.6.3", "XI.3.6.4", "XI.3.6.5")
LAB_DEVICES = ("lab-fw-bien", "lab-fw-noibo")


class FormPage(HTMLParser):
    """The HTML form as text (without its style sheet), and the label of every ticked box."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.ticked: list[str] = []
        self._in_style = False
        self._tick_on = False  # inside <span class="tick on">: its label follows the box
        self._cells: list[bool] = []  # the tick cells of the current table row (XI.3: Có, Không)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        self._in_style = tag == "style"
        if tag == "span" and cls.split() == ["tick", "on"]:
            self._tick_on = True
        if tag == "tr":
            self._cells = []
        if tag == "span" and "box" in cls.split() and self._cells is not None and self._in_cell:
            self._cells.append("on" in cls.split())
        self._in_cell = tag == "td" and cls == "tickcell" or (self._in_cell and tag == "span")

    _in_cell = False

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag == "tr" and self._cells:
            self.ticked += [("Có", "Không")[i] for i, on in enumerate(self._cells) if on]
            self._cells = []

    def handle_data(self, data):
        if self._in_style:
            return
        self.parts.append(data)
        if self._tick_on and data.strip() and data.strip() != "✓":
            self.ticked.append(data.strip())
            self._tick_on = False

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


def docx_read(doc) -> tuple[str, list[str]]:
    """The DOCX as text (paragraphs and every table cell), and the label of every ticked box."""
    ticked = [label.strip() for p in doc.paragraphs for label in re.findall(f"{BOX_ON} ([^{BOX_ON}{BOX_OFF}\u2003]+)", p.text)]
    cells = []
    for table in doc.tables:
        header = [c.text for c in table.rows[1].cells] if len(table.rows) > 1 else []
        for row in table.rows:
            for i, cell in enumerate(row.cells):
                cells.append(cell.text)
                if cell.text == BOX_ON:
                    ticked.append(header[i])
    return "\n".join([p.text for p in doc.paragraphs] + cells), ticked


def option(label: str) -> str:
    return label.split(":")[0]  # "Khác: 28 ngày" is the box "Khác" with its text


@pytest.fixture(scope="module")
def lab() -> ScanFile:
    return recorded_lab_scan()


def test_lab_form_read_back_answers_only_with_the_forms_options(lab):
    page = FormPage(render_survey_html(lab))
    text, docx_ticked = docx_read(Document(io.BytesIO(render_docx(lab))))
    for ticked_labels in (page.ticked, docx_ticked):
        assert ticked_labels and {option(label) for label in ticked_labels} <= FORM_OPTIONS, ticked_labels
    assert len(page.ticked) == len(docx_ticked) == render_survey_html(lab).count("✓")
    for body in (page.text, text):
        assert "Một phần" not in body and "Chưa xác định" not in body


def test_lab_form_xi4_lists_every_missing_solution_in_html_and_docx(lab):
    survey = load_survey()
    html = FormPage(render_survey_html(lab)).text
    xi4_html = html[html.index("4. Cần bổ sung giải pháp"):html.index("XII.")]
    text, _ = docx_read(Document(io.BytesIO(render_docx(lab))))
    xi4_docx = text[text.index("4. Cần bổ sung giải pháp"):text.index("XII.")]
    for item_id in LAB_MISSING:
        solution = survey.item(item_id).solution.vi
        assert f"{solution} (mục {item_id})" in xi4_html and f"{solution} (mục {item_id})" in xi4_docx
    assert "…" not in xi4_html and "khác (xem báo cáo" not in xi4_docx


def test_lab_form_policy_devices_are_the_declared_devices(lab):
    form = build_form(lab)
    column = [row[4].text for row in question(form, "XI.3.1").table.rows]
    assert all(any(d in cell for d in LAB_DEVICES) for cell in column)
    hosts = list(lab.hosts)
    assert not any(h in cell for h in hosts for cell in column)
    (access,) = docx_tables_with(Document(io.BytesIO(render_docx(lab))), "Yêu cầu")
    docx_column = [row.cells[4].text for row in access.rows[2:]]
    assert docx_column == column
    html = Page(render_survey_html(lab)).text_of("form-XI-3-1")
    assert "lab-fw-bien (tường lửa" in html and "lab-fw-noibo (tường lửa" in html


def test_lab_form_has_no_iso_dates_no_inventory_and_no_symbols_in_prose(lab):
    html = FormPage(render_survey_html(lab)).text
    text, _ = docx_read(Document(io.BytesIO(render_docx(lab))))
    for body in (html, text):
        assert not ISO_DAY.search(body), ISO_DAY.search(body)
        assert "inventory" not in body.lower()
        assert "<" not in body and ">" not in body
        for english in ("Partly", "Not determined", "level_proposal", "systems[]", "survey_form", " UTC "):
            assert english not in body
    # The lab's waivers expire 2030-12-31: shown the Vietnamese way.
    assert "31/12/2030" in html


def test_a_system_below_the_required_level_is_said_in_words(province):
    below = result("declared.population_db_level", "", Status.FAIL, ("II", "IX"),
                   {"system": "Cổng Dịch vụ công trực tuyến tỉnh", "security_level": 2, "minimum": 3},
                   target="Cổng Dịch vụ công trực tuyến tỉnh",
                   message=Message(key="below_minimum", params={"system": "Cổng Dịch vụ công trực tuyến tỉnh",
                                                                "level": 2, "minimum": 3}))
    scan = province.model_copy(update={"org_results": [*province.org_results, below]})
    form = build_form(scan)
    expected = ("Hệ thống \"Cổng Dịch vụ công trực tuyến tỉnh\" kết nối Cơ sở dữ liệu quốc gia về dân cư nhưng được "
                "kê khai cấp độ 2, thấp hơn cấp độ 3 yêu cầu.")
    for number in ("II", "IX"):
        texts = [line.text for b in section(form, number).blocks if b.kind == "question" for line in b.lines]
        assert expected in texts and not any("<" in t for t in texts)


def test_an_accepted_risk_shared_by_every_host_is_said_once(lab):
    malware = [line.text for line in question(build_form(lab), "XI.3.5").lines if line.text.startswith("Chưa đạt")]
    assert len(malware) == 1 and malware[0].count("Rủi ro được chấp nhận đến 31/12/2030") == 1
    assert malware[0].endswith("weakssh-01 (Rủi ro được chấp nhận đến 31/12/2030)")
