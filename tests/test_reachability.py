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


# -- several vantages: facts seen from each zone, the port and zone checks judged per zone --------
def zoned_lab():
    """The lab's inventory with scanners in the dmz and in app (as a scan from both would be
    planned), and dbhost-01's recorded port facts as both zones saw them."""
    from scanner.inventory import Scanner

    inv = load_inventory(INVENTORY).inventory
    inv = inv.model_copy(update={"scanners": [Scanner(name="quet-dmz", zone="dmz"), Scanner(name="quet-app", zone="app")],
                                 "scan": inv.scan.model_copy(update={"from_zone": None})})
    scan = recorded_lab_scan()
    ports = scan.hosts["dbhost-01"].observations["ports"]
    seen_from = {"dbhost-01": {"dmz": {"ports": ports.model_copy(update={"vantage": "dmz"})},
                               "app": {"ports": ports.model_copy(update={"vantage": "app"})}}}
    return inv, scan, seen_from


def judged_per_zone(inv, scan, seen_from):
    """Every check over the recorded lab facts, dbhost-01's ports as seen from each zone."""
    from checks import default_registry
    from scanner.app.engine import judge
    from scanner.thresholds import load_thresholds

    registry = default_registry()
    observations = {name: record.observations for name, record in scan.hosts.items()}
    per_host, _ = judge(registry, list(registry), inv, observations, load_thresholds(), scan.started,
                        seen_from=seen_from)
    return per_host


def test_the_zone_checks_are_judged_once_per_zone_and_say_which():

    inv, scan, seen_from = zoned_lab()
    per_host = judged_per_zone(inv, scan, seen_from)
    db = [r for r in per_host["dbhost-01"] if r.check_id == "ports.zone_violation.database"]
    by_zone = {r.vantage: r for r in db if r.target == "5432/tcp"}
    # From the dmz the database answers though only app may reach it; from app it is allowed.
    assert by_zone["dmz"].status.value == "fail" and by_zone["dmz"].message.params["zone"] == "dmz"
    assert by_zone["app"].status.value == "pass"
    assert by_zone["dmz"].key == ("dbhost-01", "ports.zone_violation.database", "5432/tcp", "dmz")
    # A check that does not depend on where the scan starts is judged once, from the facts of record.
    tls = [r for r in per_host["dbhost-01"] if r.check_id == "tls.protocol.legacy"]
    assert tls and {r.vantage for r in tls} == {None}
    # A host without facts from the zones is judged once, and with no scanner zone of its own
    # (scanners stand in two zones) the zone rule says it cannot decide.
    web = [r for r in per_host["hard-01"] if r.check_id == "ports.zone_violation"]
    assert [(r.vantage, r.message.key) for r in web] == [(None, "from_zone_unset")]


def test_the_matrix_has_a_column_per_zone_the_facts_were_seen_from():
    from scanner.summary import summarize
    from scanner.thresholds import load_thresholds

    inv, scan, seen_from = zoned_lab()
    observations = {name: record.observations for name, record in scan.hosts.items()}
    matrix = summarize(observations, scan.all_results(), load_thresholds(), True, inv, seen_from).reachability
    assert matrix.vantages == ("dmz", "app")
    db = {(s.host, s.target): s for s in matrix.services}[("dbhost-01", "5432/tcp")]
    assert (db.cells["dmz"].violation, db.cells["app"].violation, db.cells["app"].allowed) == (True, False, True)
    # The other hosts were not seen from either zone in this file: their cells say so.
    assert {(s.host, s.target): s for s in matrix.services}[("hard-01", "22/tcp")].cells["app"].state == "not_observed"


def test_reports_say_which_zone_a_finding_was_seen_from():
    import csv
    import io

    from reports.formats import render_csv, render_junit
    from scanner.diff import diff_scans

    inv, scan, seen_from = zoned_lab()
    per_host = judged_per_zone(inv, scan, seen_from)
    db = scan.hosts["dbhost-01"].model_copy(update={"results": per_host["dbhost-01"], "seen_from": seen_from["dbhost-01"]})
    zoned = scan.model_copy(update={"hosts": {**scan.hosts, "dbhost-01": db}})
    html = render_html(zoned, lang="en", detail="full")
    assert "5432/tcp, from zone dmz" in html and "5432/tcp, from zone app" in html
    rows = [r for r in csv.DictReader(io.StringIO(render_csv(zoned, lang="en")))
            if r["check_id"] == "ports.zone_violation.database" and r["host"] == "dbhost-01"]
    assert {(r["target"], r["seen_from"], r["status"]) for r in rows} >= {("5432/tcp", "dmz", "fail"),
                                                                           ("5432/tcp", "app", "pass")}
    assert "ports.zone_violation.database [5432/tcp, from zone dmz]" in render_junit(zoned, lang="en")
    # Findings from different zones are different findings: the one-zone scan's is "fixed" (its
    # key had no zone), the two seen from zones are new or passing.
    changes = diff_scans(scan, zoned)
    assert ("dbhost-01", "ports.zone_violation.database", "5432/tcp", "dmz") in {c.key for c in changes.new}
    new = {c.key for c in changes.new if c.host == "dbhost-01"}
    assert all(len(key) == 4 for key in new)
    # Seen from app, dbhost-01's SSH (allowed from mgmt and dmz only) answers: a finding the dmz
    # scanner could not have made.
    assert ("dbhost-01", "ports.zone_violation", "22/tcp", "app") in new


def test_from_several_zones_a_service_must_answer_only_the_zones_its_declaration_names():
    """An Internet-wide service lets every zone in but promises none of them a route: from several
    vantages, ports.declared_unreachable judges it from the zones its exposure names (and the
    Internet's vantage); from one vantage, wherever the scanner stands, as before."""
    from scanner.inventory import Scanner

    inv, scan, _ = zoned_lab()
    inv = inv.model_copy(update={"scanners": [*inv.scanners, Scanner(name="quet-qt", zone="mgmt")]})
    ports = scan.hosts["hard-01"].observations["ports"]
    web_filtered = ports.model_copy(update={"vantage": "mgmt", "data": {
        **ports.data, "ports": [p | {"state": "filtered"} if p["port"] in (80, 443) else p for p in ports.data["ports"]]}})
    seen_from = {"hard-01": {"mgmt": {"ports": web_filtered}, "dmz": {"ports": web_filtered}}}
    results = [r for r in judged_per_zone(inv, scan, seen_from)["hard-01"] if r.check_id == "ports.declared_unreachable"]
    by_zone = {(r.vantage, r.target): r.status.value for r in results}
    # 80/443 are declared for internet, dmz and app: the dmz is promised them, mgmt is not.
    assert by_zone[("dmz", "80/tcp")] == "fail" and by_zone[("dmz", "443/tcp")] == "fail"
    assert ("mgmt", "80/tcp") not in by_zone and ("mgmt", "443/tcp") not in by_zone
    assert by_zone[("mgmt", "22/tcp")] == "pass"  # SSH names mgmt, and answered it
