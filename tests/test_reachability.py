"""The reachability matrix (issue 15 item 3): every declared service, and every open port nobody
declared, against every zone a scanner looked from; what the inventory allows beside what the
port scan saw. Built from recorded lab facts (tests/fixtures/lab/facts.json, one vantage: dmz)
and, for several vantages, from those facts with one port's state changed as a second zone would
see it."""

from __future__ import annotations

from reports.html import render_html
from scanner.facts.ports import HostPortScan
from scanner.inventory import load_inventory
from scanner.reachability import NOT_ZONED, reachability
from scanner.summary import host_facts
from tests.labscan import INVENTORY, recorded_lab_scan

LAB_VIOLATIONS = {("exposed-01", "23/tcp"), ("exposed-01", "3306/tcp"), ("exposed-01", "6379/tcp"),
                  ("exposed-01", "8080/tcp"), ("dbhost-01", "5432/tcp")}


def lab_scans() -> dict[str, HostPortScan | None]:
    scan = recorded_lab_scan()
    return {name: host_facts(record.observations, HostPortScan) for name, record in scan.hosts.items()}


def test_the_lab_matrix_marks_the_seeded_violations_from_the_dmz():
    matrix = recorded_lab_scan().summary.reachability
    assert matrix.vantages == ("dmz",)
    assert {(s.host, s.target) for s, _ in matrix.violations()} == LAB_VIOLATIONS
    by_target = {(s.host, s.target): s for s in matrix.services}
    db = by_target[("dbhost-01", "5432/tcp")]
    assert db.declared and db.allowed_zones == ("app",) and db.cells["dmz"].state == "open"
    exporter = by_target[("hard-01", "9100/tcp")]  # not allowed from the dmz, and closed: no violation
    assert exporter.cells["dmz"].allowed is False and exporter.cells["dmz"].state == "closed"
    assert not exporter.cells["dmz"].violation
    telnet = by_target[("exposed-01", "23/tcp")]  # open, declared nowhere
    assert not telnet.declared and telnet.allowed_zones == () and telnet.kind == "telnet"


def test_each_vantage_is_judged_by_what_it_saw_and_what_it_is_allowed():
    inv = load_inventory(INVENTORY).inventory
    dmz = lab_scans()
    db = dmz["dbhost-01"]
    # From the app zone the database answers too, and app is the zone allowed to reach it.
    matrix = reachability(inv, {"dmz": dmz, "app": dmz})
    cell = {(s.host, s.target): s for s in matrix.services}[("dbhost-01", "5432/tcp")].cells
    assert (cell["dmz"].violation, cell["app"].violation, cell["app"].allowed) == (True, False, True)
    # A firewall that closes 5432 towards the dmz: the dmz cell is no longer a violation.
    closed = db.model_copy(update={"ports": tuple(p.model_copy(update={"state": "filtered"}) if p.port == 5432 else p
                                                  for p in db.ports)})
    matrix = reachability(inv, {"dmz": {**dmz, "dbhost-01": closed}, "app": dmz})
    cell = {(s.host, s.target): s for s in matrix.services}[("dbhost-01", "5432/tcp")].cells
    assert (cell["dmz"].state, cell["dmz"].violation, cell["app"].state) == ("filtered", False, "open")
    # A host whose port scan failed from a zone says so in that zone's cell.
    matrix = reachability(inv, {"dmz": {**dmz, "dbhost-01": None}})
    assert {(s.host, s.target): s for s in matrix.services}[("dbhost-01", "5432/tcp")].cells["dmz"].state == \
        "not_observed"


def test_without_a_scanner_zone_nothing_is_called_a_violation_but_open_to_all_is_allowed():
    inv = load_inventory(INVENTORY).inventory
    matrix = reachability(inv, {NOT_ZONED: lab_scans()})
    assert matrix.violations() == [(s, NOT_ZONED) for s in matrix.services if not s.declared
                                   and s.cells[NOT_ZONED].state == "open"]  # undeclared stays: allowed nowhere
    https = {(s.host, s.target): s for s in matrix.services}[("hard-01", "443/tcp")]
    assert https.cells[NOT_ZONED].allowed is True  # exposure lists internet: every zone may reach it
    ssh = {(s.host, s.target): s for s in matrix.services}[("hard-01", "22/tcp")]
    assert ssh.cells[NOT_ZONED].allowed is None


def test_the_report_prints_the_matrix_with_its_violations_marked():
    html = render_html(recorded_lab_scan())
    part = html[html.index('id="reachability"'):]
    part = part[:part.index("</section>")]
    assert part.count('class="small violation"') == len(LAB_VIOLATIONS)
    assert "5 vi phạm" in part and "chưa kê khai" in part
    english = render_html(recorded_lab_scan(), lang="en")
    assert "Reachability between network zones" in english and "5 violation(s)" in english


def test_a_scan_file_from_before_the_matrix_renders_without_it():
    old = recorded_lab_scan()
    old = old.model_copy(update={"summary": old.summary.model_copy(update={"reachability": None})})
    assert 'id="reachability"' not in render_html(old)
