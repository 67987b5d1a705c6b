"""XI.3.1's rows ("Từ bên trong mạng": services reachable, access limited, access managed)
answered from the reachability matrix (issue 15), in the filled survey (HTML, DOCX) and the report.

Matrices are built from the recorded lab facts (tests/fixtures/lab/facts.json, scanned from the
dmz), as tests/test_reachability.py builds them: a second zone (app) sees the same facts, with some
ports filtered from one zone or the other the way a firewall between them would. The lab declares
weakssh-01 (dmz) its jump host: dmz is the management zone."""

from __future__ import annotations

import io

from docx import Document

from reports.docx_export import BOX_OFF, BOX_ON, render_docx
from reports.html import render_html
from reports.survey_form import build_form, render_survey_html
from scanner.facts.ports import HostPortScan
from scanner.inventory import load_inventory
from scanner.reachability import NOT_ZONED, Reachability, access_rows, reachability
from scanner.scanfile import ScanFile
from scanner.survey import Answer
from tests.labscan import INVENTORY, recorded_lab_scan
from tests.test_reachability import lab_scans
from tests.test_report_html import Page
from tests.test_survey_form import FormPage, question, without_matrix

UNDECLARED = {("exposed-01", 23), ("exposed-01", 3306), ("exposed-01", 6379), ("exposed-01", 8080)}


def filtered(scans: dict[str, HostPortScan | None], ports: set[tuple[str, int]],
             state: str = "filtered") -> dict[str, HostPortScan | None]:
    """The scans as seen through a firewall that drops `ports` (host, port)."""
    out = {}
    for name, scan in scans.items():
        out[name] = scan if scan is None else scan.model_copy(update={"ports": tuple(
            p.model_copy(update={"state": state}) if (name, p.port) in ports else p for p in scan.ports)})
    return out


def only(scans: dict[str, HostPortScan | None], host: str) -> dict[str, HostPortScan | None]:
    """A zone whose scanner saw one host only (the others' port scans did not reach it)."""
    return {name: scan if name == host else None for name, scan in scans.items()}


def matrix(vantages: dict[str, dict[str, HostPortScan | None]]) -> Reachability:
    return reachability(load_inventory(INVENTORY).inventory, vantages)


def with_matrix(reach: Reachability | None) -> ScanFile:
    scan = recorded_lab_scan()
    return scan.model_copy(update={"summary": scan.summary.model_copy(update={"reachability": reach})})


def rows_of(scan: ScanFile, lang: str = "vi") -> dict[str, tuple[tuple[bool, bool], str]]:
    """The XI.3.1 table of the filled survey: row key -> ((Có, Không) ticked, policy cell)."""
    table = question(build_form(scan, lang=lang), "XI.3.1").table
    return {key: ((row[1].tick, row[2].tick), row[3].text) for key, row in zip(("services", "limits", "management"),
                                                                                table.rows, strict=True)}


def clean_two_zones() -> Reachability:
    """dmz sees everything with the seeded violations filtered (the four undeclared ports of
    exposed-01, dbhost-01's database); app sees only dbhost-01, its SSH filtered, its database open."""
    dmz = filtered(lab_scans(), UNDECLARED | {("dbhost-01", 5432)})
    return matrix({"dmz": dmz, "app": filtered(only(lab_scans(), "dbhost-01"), {("dbhost-01", 22)})})


# -- one zone: the recorded lab ----------------------------------------------------------------------
def test_one_zone_rows_answer_from_the_matrix_in_vietnamese():
    rows = rows_of(recorded_lab_scan())
    services, limits, management = rows["services"], rows["limits"], rows["management"]
    # Four ports answer that nobody declared: Không, each named with its host and port.
    assert services[0] == (False, True)
    assert services[1].startswith("Quét từ vùng dmz: truy cập được 20/21 dịch vụ đã kê khai; cổng mở chưa kê khai: "
                                  "exposed-01 23/tcp (telnet), 3306/tcp (mysql), 6379/tcp (redis), 8080/tcp (http-proxy).")
    # Five cells answer from the dmz, which may not reach them: by the zones allowed, each named.
    assert limits[0] == (False, True)
    assert limits[1].startswith(
        "Quét từ vùng dmz: 5 dịch vụ truy cập được dù vùng này không được phép:\n"
        "– chưa kê khai, không vùng nào được phép: exposed-01 23/tcp (telnet), 3306/tcp (mysql), 6379/tcp (redis), "
        "8080/tcp (http-proxy).\n– chỉ được phép từ vùng app: dbhost-01 5432/tcp (db).\n")
    # The scanner stood in the management zone only: nothing shows SSH blocked elsewhere. No box.
    assert management[0] == (False, False)
    assert management[1].startswith("Chỉ quét từ vùng quản trị nên chưa kiểm chứng được")
    assert "Vùng quản trị: dmz, nơi đặt máy chủ trung gian quản trị đã kê khai (weakssh-01)" in management[1]
    assert "Quét từ vùng dmz (vùng quản trị): truy cập được 5/5 cổng quản trị từ xa (SSH), đúng thiết kế." \
        in management[1]


def test_one_zone_rows_in_english():
    rows = rows_of(recorded_lab_scan(), "en")
    assert rows["services"][0] == (False, True) and rows["limits"][0] == (False, True)
    assert "Scanned from zone dmz: 20 of 21 declared services reachable; open but not declared: exposed-01 23/tcp" \
        in rows["services"][1]
    assert "Scanned from zone dmz: 5 service(s) reachable though this zone is not allowed:" in rows["limits"][1]
    assert "– allowed only from zone(s) app: dbhost-01 5432/tcp (db)." in rows["limits"][1]
    assert rows["management"][1].startswith("Scanned from the management zone only")


def test_the_rows_checks_stay_under_the_matrix_as_remarks():
    # The matrix ticks the box; what the row's own checks found is still said, host by host.
    services = rows_of(recorded_lab_scan())["services"][1]
    assert "Chưa đạt: " in services and "exposed-01 (23/tcp" in services.split("Chưa đạt: ", 1)[1]
    # The host count of the check-based answer is not: the box no longer follows it.
    assert "Kết quả quét: đạt trên" not in services


# -- two zones -----------------------------------------------------------------------------------
def test_two_zones_each_say_what_they_saw_and_ssh_outside_the_management_zone_says_no():
    dmz = filtered(lab_scans(), {("dbhost-01", 5432)})  # a firewall keeps the dmz off the database
    reach = matrix({"dmz": dmz, "app": lab_scans()})
    rows = access_rows(reach, load_inventory(INVENTORY).inventory)
    limits = {z.zone: z for z in rows["limits"].zones}
    # From the dmz the database is no longer a violation; from app it is allowed, and SSH is not.
    assert ("dbhost-01", "5432/tcp") not in {(s.host, s.target) for s in limits["dmz"].flagged}
    assert ("dbhost-01", "5432/tcp") not in {(s.host, s.target) for s in limits["app"].flagged}
    assert ("dbhost-01", "22/tcp") in {(s.host, s.target) for s in limits["app"].flagged}
    management = {z.zone: z for z in rows["management"].zones}
    assert management["dmz"].managing and not management["dmz"].flagged
    # From app, every SSH answers but the jump host's own, which is not judged.
    assert {s.host for s in management["app"].flagged} == {"hard-01", "legacy-01", "badcert-01", "exposed-01",
                                                          "dbhost-01"}
    text = rows_of(with_matrix(reach))
    assert text["management"][0] == (False, True)
    assert "Quét từ vùng app: 5 cổng quản trị từ xa (SSH) truy cập được từ ngoài vùng quản trị: " \
           "hard-01 22/tcp (ssh);" in text["management"][1]
    assert "Quét từ vùng dmz (vùng quản trị)" in text["management"][1]
    assert "Quét từ vùng dmz: truy cập được" in text["services"][1] and "Quét từ vùng app: truy cập được" \
        in text["services"][1]
    english = rows_of(with_matrix(reach), "en")["limits"][1]
    assert "Scanned from zone app: 11 service(s) reachable though this zone is not allowed:\n" \
           "– allowed only from zone(s) mgmt, dmz: hard-01 22/tcp (ssh); legacy-01 22/tcp (ssh);" in english
    assert "– allowed only from zone(s) dmz: badcert-01 8443/tcp (https)." in english


def test_yes_only_when_no_zone_observed_a_violation():
    # The lab's results are left as judged from its real facts: where they disagree with this
    # matrix, the matrix ticks the box and the checks' findings stay below it as remarks.
    rows = rows_of(with_matrix(clean_two_zones()))
    assert rows["services"][0] == (True, False) and rows["limits"][0] == (True, False)
    assert rows["management"][0] == (True, False)
    assert "Quét từ vùng dmz: không dịch vụ nào truy cập được từ vùng không được phép (21 dịch vụ đã đối chiếu)." \
        in rows["limits"][1]
    # app saw one host: what it did not see is said, and does not stand in the way of the box.
    assert "Quét từ vùng app: còn 19 dịch vụ chưa xác định được trạng thái" in rows["limits"][1]
    assert "Quét từ vùng app: không cổng quản trị từ xa (SSH) nào truy cập được (1 cổng đã quét)." \
        in rows["management"][1]
    english = rows_of(with_matrix(clean_two_zones()), "en")
    assert "Scanned from zone app: no remote administration port (SSH) reachable (1 port(s) scanned)." \
        in english["management"][1]
    # The same two zones with dbhost-01's SSH answering app: no longer yes.
    open_ssh = matrix({"dmz": filtered(lab_scans(), UNDECLARED | {("dbhost-01", 5432)}),
                       "app": only(lab_scans(), "dbhost-01")})
    assert rows_of(with_matrix(open_ssh))["management"][0] == (False, True)
    # Nor when nmap cannot tell open from filtered: that is no sign of a block.
    unsure = matrix({"dmz": filtered(lab_scans(), UNDECLARED | {("dbhost-01", 5432)}),
                     "app": filtered(only(lab_scans(), "dbhost-01"), {("dbhost-01", 22)}, "open|filtered")})
    rows = access_rows(unsure, load_inventory(INVENTORY).inventory)
    assert (rows["management"].answer, rows["management"].unsettled) == (Answer.UNDETERMINED, "no_admin_port")


def test_a_scanner_of_unknown_zone_never_says_access_is_limited():
    clean = filtered(lab_scans(), UNDECLARED | {("dbhost-01", 5432)})
    rows = access_rows(matrix({NOT_ZONED: clean}), load_inventory(INVENTORY).inventory)
    assert rows["limits"].answer == Answer.UNDETERMINED and rows["limits"].unsettled == "zone_unknown"
    assert (rows["management"].answer, rows["management"].unsettled) == (Answer.UNDETERMINED, "zone_unknown")
    text = rows_of(with_matrix(matrix({NOT_ZONED: clean})))["limits"]
    assert text[0] == (False, False) and text[1].startswith("Chưa biết vùng đặt máy quét")
    # An open port nobody declared is allowed from nowhere, whatever the zone: Không.
    assert access_rows(matrix({NOT_ZONED: lab_scans()}), load_inventory(INVENTORY).inventory)["limits"].answer \
        == Answer.NO


def test_no_jump_host_declared_leaves_management_to_a_person():
    inv = load_inventory(INVENTORY).inventory
    inv = inv.model_copy(update={"solutions": inv.solutions.model_copy(update={"jump_host": None})})
    rows = access_rows(clean_two_zones(), inv)
    assert rows["management"].answer == Answer.UNDETERMINED and rows["management"].unsettled == "no_jump_host"
    assert rows["limits"].answer == Answer.YES


def test_a_file_without_a_matrix_or_without_port_scans_keeps_the_checks_answers():
    recorded = recorded_lab_scan()
    before = rows_of(without_matrix(recorded))
    nothing_seen = with_matrix(matrix({"dmz": {name: None for name in lab_scans()}}))
    assert access_rows(nothing_seen.summary.reachability, load_inventory(INVENTORY).inventory) is None
    assert rows_of(nothing_seen) == before
    # Today's answers: the row's checks, with the count of hosts holding it.
    assert before["services"][1].startswith("Kết quả quét: đạt trên") and before != rows_of(recorded)


# -- the printed survey and the report ------------------------------------------------------------
def test_the_printed_survey_ticks_the_rows_from_the_matrix_in_html_and_docx():
    scan = with_matrix(clean_two_zones())
    page = FormPage(render_survey_html(scan))
    assert "Quét từ vùng app: không cổng quản trị từ xa (SSH) nào truy cập được" in page.text
    doc = Document(io.BytesIO(render_docx(scan)))
    (access,) = [t for t in doc.tables if t.rows and "Yêu cầu" in [c.text for c in t.rows[0].cells]]
    cells = [[c.text for c in r.cells] for r in access.rows[2:]]
    assert [c[1:3] for c in cells] == [[BOX_ON, BOX_OFF]] * 3
    assert "Quét từ vùng dmz: không dịch vụ nào truy cập được từ vùng không được phép" in cells[1][3]
    lab = Document(io.BytesIO(render_docx(recorded_lab_scan(), lang="en")))
    (access,) = [t for t in lab.tables if t.rows and "Requirement" in [c.text for c in t.rows[0].cells]]
    cells = [[c.text for c in r.cells] for r in access.rows[2:]]
    assert [c[1:3] for c in cells] == [[BOX_OFF, BOX_ON], [BOX_OFF, BOX_ON], [BOX_OFF, BOX_OFF]]


def test_the_report_shows_each_rows_box_and_what_each_zone_saw():
    page = Page(render_html(with_matrix(clean_two_zones())))
    item = " ".join(page.text_of("item-XI-3-1").split())
    assert "— Giới hạn truy cập: Có" in item and "— Quản lý truy cập: Có" in item
    assert "Quét từ vùng app: không cổng quản trị từ xa (SSH) nào truy cập được" in item
    lab = " ".join(Page(render_html(recorded_lab_scan(), lang="en")).text_of("item-XI-3-1").split())
    assert "— Access limits: No" in lab and "— Access management: Not determined" in lab
    old = " ".join(Page(render_html(without_matrix(recorded_lab_scan()))).text_of("item-XI-3-1").split())
    assert "— Giới hạn truy cập" in old and "Quét từ vùng" not in old


def test_the_scan_file_records_the_rows_as_the_form_ticks_them():
    """The summary's recorded row answers come from the matrix too, so every reader of the scan
    file (the form, a script, diff) sees the same Có/Không; the rows' checks alone would say
    "partly", which the form cannot tick."""
    from scanner.survey import answer_rows, load_survey
    from tests.labscan import recorded_lab_scan

    scan = recorded_lab_scan()
    by_checks = {k: a.answer.value for k, a in answer_rows(load_survey(), scan.all_results()).items()}
    assert by_checks["XI.3.1/limits"] == "partly"
    rows = access_rows(scan.summary.reachability, load_inventory(INVENTORY).inventory)
    assert {k: v.value for k, v in scan.summary.row_answers.items()} == {
        f"XI.3.1/{key}": row.answer.value for key, row in rows.items()}
    assert scan.summary.row_answers["XI.3.1/limits"].value == "no"
