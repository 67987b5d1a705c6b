"""The port scan: planning and parsing against recorded nmap XML (tests/fixtures/nmap/, see
record.py there for how each file was made), the checks against facts, and real nmap runs
against listeners this module starts on 127.0.0.1/127.0.0.2 (free ports of 22200-22299)."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.app.engine import judge
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.ports import (
    PortsCollector,
    host_outcomes,
    interpret,
    nmap_arguments,
    nmap_port_argument,
    parse_nmap_xml,
    plan_ports,
    top_ports,
    valid_target,
)
from scanner.facts.ports import HostPortScan, format_port_spec, parse_port_spec
from scanner.inventory import LoadedInventory, parse_inventory
from scanner.model import Observation, Outcome, Status
from scanner.thresholds import load_thresholds

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nmap"
NOW = datetime(2026, 11, 26, tzinfo=UTC)
needs_nmap = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")


def xml(name: str) -> bytes:
    return (FIXTURES / f"{name}.xml").read_bytes()


def inventory(body: str):
    return parse_inventory("organization: {name: Thử nghiệm}\ndefaults: {transport: none}\n" + body, "test.yaml")


def run_checks(registry, inv, observations: dict[str, dict[str, Observation]], pattern: str = "ports.*"):
    per_host, _ = judge(registry, registry.select([pattern]), inv, observations, load_thresholds(), NOW)
    return per_host


def statuses(results, check_id: str) -> dict[str, str]:
    return {r.target: r.status.value for r in results if r.check_id == check_id}


def ok(facts: dict) -> Observation:
    return Observation(collector="ports", outcome=Outcome.OK, started=NOW, ended=NOW, data=facts)


def assert_messages_exist(catalog, results) -> None:
    for r in results:
        if r.message:
            full = (f"common.{r.message.key[1:]}" if r.message.key.startswith("_")
                    else f"{r.check_id}.messages.{r.message.key}")
            assert catalog.has(full), full
            for lang in ("vi", "en"):
                assert "{" not in catalog.message(r.check_id, r.message.key, r.message.params, lang), (full, lang)


# -- port specs and planning -------------------------------------------------------------------------

@given(st.sets(st.integers(min_value=1, max_value=65535), min_size=1, max_size=300))
def test_port_spec_round_trip(ports):
    spec = format_port_spec(ports)
    assert parse_port_spec(spec) == sorted(ports)
    assert format_port_spec(parse_port_spec(spec)) == spec


@pytest.mark.parametrize("spec", ["", "0", "65536", "5-3", "1,,2", "-1", "1-", "a", "1-70000", "T:22", "22;id"])
def test_port_spec_rejects_garbage(spec):
    with pytest.raises(ValueError):
        parse_port_spec(spec)


@pytest.mark.parametrize(("fixture", "count", "proto"), [("top1000-tcp", 1000, "tcp"), ("top100-tcp", 100, "tcp"),
                                                         ("top100-udp", 100, "udp")])
def test_top_ports_equal_nmaps_own_top_ports(fixture, count, proto):
    run = parse_nmap_xml(xml(fixture))
    assert parse_port_spec(run.scanned[proto]) == top_ports(count, proto)


def test_plan_adds_declared_ports_to_top_ports():
    plan = plan_ports("top100", [(22999, "tcp"), (161, "udp"), (80, "tcp")], udp=False)
    assert set(plan) == {"tcp"}
    assert 22999 in plan["tcp"] and 80 in plan["tcp"] and len(plan["tcp"]) == 101
    plan = plan_ports("top1000", [(22999, "tcp"), (16161, "udp")], udp=True)
    assert len(plan["tcp"]) == 1001 and 16161 in plan["udp"] and len(plan["udp"]) == 101  # UDP capped at top 100
    plan = plan_ports("1-1024,8080", [(9999, "tcp")], udp=False)
    assert plan["tcp"] == list(range(1, 1025)) + [8080, 9999]


def test_plan_without_nmap_services_is_an_error(tmp_path):
    from scanner.collectors.ports import PlanError
    with pytest.raises(PlanError):
        plan_ports("top100", [], udp=False, services_file=tmp_path / "absent")


def test_arguments_follow_privilege_and_options():
    assert nmap_arguments(is_root=False, udp=False, service_versions=False, host_timeout=300) == \
        ["-n", "-Pn", "-sT", "-T4", "--host-timeout", "300000ms"]
    assert nmap_arguments(is_root=True, udp=True, service_versions=True, host_timeout=1.5, ipv6=True) == \
        ["-n", "-Pn", "-sS", "-sU", "-sV", "--version-light", "-6", "-T4", "--host-timeout", "1500ms"]
    assert nmap_port_argument({"tcp": [22, 23, 24, 80]}) == "22-24,80"
    assert nmap_port_argument({"tcp": [22], "udp": [53, 161]}) == "T:22,U:53,161"


@pytest.mark.parametrize("bad", ["-oX /tmp/x", "--script=evil", "host.example", "127.0.0.1 127.0.0.2",
                                 "127.0.0.1/24", "", "127.0.0.1;id"])
def test_only_ip_addresses_reach_nmap(bad):
    with pytest.raises(ValueError):
        valid_target(bad)
    assert valid_target("127.0.0.1") == "127.0.0.1"
    assert valid_target("2001:DB8:0::1") == "2001:db8::1"  # normalised the way the XML parser keys hosts


# -- parsing recorded nmap output -----------------------------------------------------------------

def test_parse_syn_scan_of_two_hosts_and_extraports():
    run = parse_nmap_xml(xml("syn-two-hosts"))
    assert run.scan_types == {"tcp": "syn"} and run.version == "7.93" and run.exit == "success"
    assert set(run.hosts) == {"127.0.0.1", "127.0.0.2"}
    one = run.hosts["127.0.0.1"]
    assert [(p.port, p.state, p.reason) for p in one.ports] == [(22301, "open", "syn-ack"), (22302, "open", "syn-ack")]
    assert one.extraports[0].state == "closed" and one.extraports[0].reasons[0].ports == "22300,22303-22340"
    facts = HostPortScan(address="127.0.0.1", scanned={"tcp": run.scanned["tcp"]}, methods=run.scan_types,
                         ports=one.ports, extraports=one.extraports)
    assert facts.state_of(22300, "tcp").state == "closed" and facts.state_of(22300, "tcp").reason == "reset"
    assert facts.state_of(22301, "tcp").is_open
    assert facts.state_of(22341, "tcp") is None and not facts.was_scanned(22341, "tcp")
    assert facts.state_of(22301, "udp") is None
    assert run.hosts["127.0.0.2"].ports[0].service == "wnn6_Kr"  # nmap's table name for 22305


def test_parse_old_nmap_extraports_without_port_lists():
    # nmap before 7.80 wrote <extrareasons> without a ports attribute: emulate by removing it.
    old = xml("syn-two-hosts").replace(b' ports="22300,22303-22340"', b"")
    host = parse_nmap_xml(old).hosts["127.0.0.1"]
    facts = HostPortScan(address="127.0.0.1", scanned={"tcp": "22300-22340"}, methods={"tcp": "syn"},
                         ports=host.ports, extraports=host.extraports)
    assert facts.state_of(22340, "tcp").state == "closed"
    assert facts.state_of(22301, "tcp").state == "open"


def test_parse_service_versions_and_udp():
    ssh = parse_nmap_xml(xml("service-versions")).hosts["127.0.0.1"].ports[0]
    assert (ssh.service, ssh.product, ssh.service_method) == ("ssh", "OpenSSH", "probed")
    assert ssh.version.startswith("9.2p1")
    run = parse_nmap_xml(xml("tcp-udp"))
    assert run.scan_types == {"tcp": "syn", "udp": "udp"}
    udp = {p.port: p.state for p in run.hosts["127.0.0.1"].ports if p.proto == "udp"}
    assert udp == {22320: "open|filtered", 22321: "closed", 22322: "closed"}


@pytest.mark.parametrize("raw", [b"", b"<html><body>503</body></html>", b"<nmaprun><host>", b"\x00\xff garbage"])
def test_malformed_output_is_an_error_not_a_result(raw):
    with pytest.raises(ValueError):
        parse_nmap_xml(raw)
    result = interpret({}, raw, "nmap -oX - 127.0.0.1")
    assert result.outcome == Outcome.ERROR and result.run is None


def test_truncated_output_is_an_error():
    raw = xml("syn-two-hosts")
    assert interpret({}, raw[: len(raw) // 2], "nmap").outcome == Outcome.ERROR


def test_host_timeout_becomes_a_timeout_observation():
    result = interpret({}, xml("host-timeout"), "nmap ...")
    assert result.outcome == Outcome.OK
    outcome, detail, data = host_outcomes(result, ["127.0.0.1"], {"tcp": [22301, 22399]}, True, [])["127.0.0.1"]
    assert outcome == Outcome.TIMEOUT and "host-timeout" in detail
    assert data["command_line"] == "nmap ..."


def test_errors_on_stderr_fail_the_run_but_keep_evidence():
    recorded = json.loads((FIXTURES / "stderr-error.result.json").read_text())["result"]
    result = interpret(recorded, xml("stderr-error"), recorded["nmap"]["command_line"])
    assert result.outcome == Outcome.ERROR and "Illegal netmask" in result.detail
    outcome, _, data = host_outcomes(result, ["127.0.0.1"], {"tcp": [22301]}, False, [])["127.0.0.1"]
    assert outcome == Outcome.ERROR
    assert data["ports"][0]["port"] == 22301  # what nmap saw stays as evidence


def test_a_host_nmap_did_not_report_is_an_error():
    result = interpret({}, xml("connect-scan"), "nmap")
    judged = host_outcomes(result, ["127.0.0.1", "127.0.0.9"], {"tcp": [22301]}, False, [])
    assert judged["127.0.0.1"][0] == Outcome.OK
    assert judged["127.0.0.9"][0] == Outcome.ERROR and "nothing" in judged["127.0.0.9"][1]


# -- checks over facts ----------------------------------------------------------------------------------

ZONED = """
solutions:
  jump_host: {status: yes, hosts: [jump]}
scan: {from_zone: dmz, ports: "1-1024,2375,3306,5432,6379,8443"}
hosts:
  - name: jump
    address: 192.0.2.5
    zone: mgmt
  - name: db
    address: 192.0.2.31
    zone: db
    services:
      - {port: 22, kind: ssh, exposure: [mgmt]}
      - {port: 23, kind: telnet, exposure: [dmz]}
      - {port: 5432, kind: db, exposure: [app]}
      - {port: 8443, kind: https, exposure: [app]}
      - {port: 443, kind: https, exposure: [internet]}
      - {port: 161, proto: udp, kind: snmp, exposure: [mgmt]}
"""


def facts_fixture(name: str) -> dict:
    doc = json.loads((FIXTURES / "facts" / f"{name}.json").read_text())
    assert doc["source"]
    return doc["facts"]


RECORDINGS = Path(__file__).resolve().parent / "fixtures" / "identify" / "recordings.json"


def recorded_answer(name: str) -> dict:
    """The identification answer recorded from a real server (tests/fixtures/identify/record.py)."""
    doc = next(r for r in json.loads(RECORDINGS.read_text()) if r["name"] == name)
    assert doc["source"]
    return doc["answer"]


def answered(facts: dict, answers: dict[int, str]) -> dict:
    """The facts with the recorded answer `answers[port]` on those TCP ports."""
    ports = [dict(p, answer=recorded_answer(answers[p["port"]])) if p["proto"] == "tcp" and p["port"] in answers
             else p for p in facts["ports"]]
    return dict(facts, ports=ports)


# What answers on the risky host's open TCP ports, as recorded from real servers and the lab's
# stand-ins. 2375 (Docker) has no recording: nothing here runs a Docker API.
RISKY_HOST_ANSWERS = {23: "lab-telnet", 3306: "lab-mysql", 6379: "redis-open", 5432: "lab-postgres"}


def test_checks_on_a_risky_host_from_the_dmz(registry, catalog):
    inv = inventory(ZONED)
    facts = answered(facts_fixture("risky-db-host"), RISKY_HOST_ANSWERS)
    results = run_checks(registry, inv, {"db": {"ports": ok(facts)}})["db"]
    assert_messages_exist(catalog, results)
    assert statuses(results, "ports.undeclared_open") == {"2375/tcp": "fail", "3306/tcp": "fail", "6379/tcp": "fail"}
    # What answers decides: telnet's login prompt, a MySQL handshake, Redis answering PING, a
    # PostgreSQL server. 2375 answered nothing here: a port number alone is not a failure.
    assert statuses(results, "ports.risky_exposed") == {"23/tcp": "fail", "2375/tcp": "unknown", "3306/tcp": "fail",
                                                        "6379/tcp": "fail", "5432/tcp": "fail"}
    severities = {r.target: r.severity.value for r in results if r.check_id == "ports.risky_exposed"}
    assert severities["6379/tcp"] == "critical"
    assert severities["23/tcp"] == "high"  # declared and allowed from here, but telnet is never acceptable
    redis = next(r for r in results if r.check_id == "ports.risky_exposed" and r.target == "6379/tcp")
    assert redis.evidence["basis"] == "answer" and redis.evidence["identification"]["banner"] == "+PONG\\r\\n"
    undeclared = next(r for r in results if r.check_id == "ports.undeclared_open" and r.target == "3306/tcp")
    assert undeclared.evidence["service"] == "mysql" and undeclared.evidence["state"] == "open"
    # 22 open to the dmz though declared for mgmt; 8443 declared for app is filtered: the firewall holds.
    assert statuses(results, "ports.zone_violation") == {"22/tcp": "fail", "8443/tcp": "pass", "161/udp": "unknown",
                                                         "443/tcp": "pass", "23/tcp": "pass"}
    blocked = next(r for r in results if r.check_id == "ports.zone_violation" and r.target == "8443/tcp")
    assert blocked.message.key == "blocked" and blocked.evidence["state"] == "filtered"
    assert statuses(results, "ports.zone_violation.database") == {"5432/tcp": "fail", "3306/tcp": "fail",
                                                                  "6379/tcp": "fail"}
    assert statuses(results, "ports.zone_violation.jump_host") == {"22/tcp": "fail"}
    assert statuses(results, "ports.declared_unreachable") == {"443/tcp": "fail", "23/tcp": "pass"}
    reached = next(r for r in results if r.check_id == "ports.zone_violation.database" and r.target == "5432/tcp")
    assert reached.evidence["allowed_zones"] == ["app"] and reached.evidence["from_zone"] == "dmz"
    assert set(reached.survey_items) == {"XI.3.1", "XI.2.1.3", "XI.3.6.4"}


def test_port_numbers_alone_are_not_failures(registry, catalog):
    """The same host from a scan file without identification (older, or interrupted): every
    risky row is only a port-number guess, so nothing fails and each says what is missing."""
    inv = inventory(ZONED)
    results = run_checks(registry, inv, {"db": {"ports": ok(facts_fixture("risky-db-host"))}})["db"]
    assert_messages_exist(catalog, results)
    risky = {r.target: (r.status.value, r.message.key) for r in results if r.check_id == "ports.risky_exposed"}
    assert risky == {t: ("unknown", "not_identified_absent") for t in
                     ("23/tcp", "2375/tcp", "3306/tcp", "6379/tcp", "5432/tcp")}
    # Undeclared database ports: unknown; the declared database (5432, kind db) is judged as declared.
    assert statuses(results, "ports.zone_violation.database") == {"5432/tcp": "fail", "3306/tcp": "unknown",
                                                                  "6379/tcp": "unknown"}


def test_zone_checks_need_from_zone(registry, catalog):
    inv = inventory(ZONED.replace("from_zone: dmz, ", ""))
    facts = answered(facts_fixture("risky-db-host"), RISKY_HOST_ANSWERS)
    results = run_checks(registry, inv, {"db": {"ports": ok(facts)}})["db"]
    assert_messages_exist(catalog, results)
    for check_id in ("ports.zone_violation", "ports.zone_violation.database", "ports.zone_violation.jump_host"):
        (result,) = [r for r in results if r.check_id == check_id]
        assert result.status == Status.NOT_APPLICABLE and result.message.key == "from_zone_unset"
    # Without the scanner's zone, a declared database open to "app" cannot be judged either way.
    assert statuses(results, "ports.risky_exposed")["5432/tcp"] == "unknown"


def test_allowed_database_passes_and_scanner_in_management_zone(registry, catalog):
    inv = inventory(ZONED.replace("from_zone: dmz", "from_zone: app"))
    facts = answered(facts_fixture("risky-db-host"), RISKY_HOST_ANSWERS)
    results = run_checks(registry, inv, {"db": {"ports": ok(facts)}})["db"]
    assert_messages_exist(catalog, results)
    assert statuses(results, "ports.risky_exposed")["5432/tcp"] == "pass"
    assert statuses(results, "ports.zone_violation.database")["5432/tcp"] == "pass"
    inv = inventory(ZONED.replace("from_zone: dmz", "from_zone: mgmt"))
    results = run_checks(registry, inv, {"db": {"ports": ok(facts_fixture("risky-db-host"))}})["db"]
    (jump,) = [r for r in results if r.check_id == "ports.zone_violation.jump_host"]
    assert jump.status == Status.NOT_APPLICABLE and jump.message.key == "scanner_in_management"


def test_a_failed_scan_never_passes(registry):
    inv = inventory(ZONED)
    failed = Observation(collector="ports", outcome=Outcome.TIMEOUT, detail="nmap did not finish", started=NOW,
                         ended=NOW)
    results = run_checks(registry, inv, {"db": {"ports": failed}})["db"]
    assert results and {r.status for r in results} == {Status.ERROR}


def test_every_risky_row_has_its_message_and_every_check_its_texts(registry, catalog):
    from checks.ports import ports_data
    for row in ports_data().risky:
        assert catalog.has(f"ports.risky_exposed.messages.{row.key}"), row.key
        assert row.source
    for check in registry.select(["ports.*"]):
        for part in ("title", "remediation"):
            for lang in ("vi", "en"):
                assert catalog.text(f"{check.id}.{part}", lang) != f"{check.id}.{part}", (check.id, part)
        assert "XI.3.1" in check.survey_items


# -- real nmap against loopback listeners ---------------------------------------------------------------

PORT_RANGE = range(22200, 22300)  # this module's loopback ports


_HANDED_OUT: set[int] = set()


def free_port(address: str = "127.0.0.1") -> int:
    """A port of PORT_RANGE nothing listens on now (random order: a concurrent run of the suite
    picks other ports), and not handed out before: a test asking for three distinct ports in a row
    must not get one twice (seen in CI: 'service 22238/tcp already declared')."""
    if len(_HANDED_OUT) > len(PORT_RANGE) // 2:
        _HANDED_OUT.clear()
    for port in random.sample(PORT_RANGE, len(PORT_RANGE)):
        if port in _HANDED_OUT:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((address, port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port in the test range")


@pytest.fixture
def listen():
    """listen(address) -> port: a listener that never accepts (the kernel completes handshakes,
    nothing is ever said), closed at the end of the test."""
    opened: list[socket.socket] = []

    def open_listener(address: str = "127.0.0.1") -> int:
        for _ in range(20):
            sock = socket.socket()
            try:
                sock.bind((address, free_port(address)))
            except OSError:  # taken between the check and the bind
                sock.close()
                continue
            sock.listen(8)
            opened.append(sock)
            return sock.getsockname()[1]
        raise RuntimeError("no free port in the test range")

    yield open_listener
    for sock in opened:
        sock.close()


def context(inv) -> ScanContext:
    return ScanContext(LoadedInventory(inv, Path("/nonexistent/test.yaml"), "test"), ScanOptions())


def collect(collector, inv) -> dict[str, Observation]:
    got: dict[str, Observation] = {}
    collector.collect(context(inv), list(inv.hosts), lambda host, obs: got.__setitem__(host, obs))
    return got


LIVE = """
scan: {{from_zone: dmz, ports: "{scan}", {options}timeouts: {{nmap: {nmap}, host: 30}}}}
hosts:
  - name: web
    address: 127.0.0.1
    zone: dmz
    services:
      - {{port: {open}, kind: https, exposure: [dmz]}}
      - {{port: {closed}, kind: http, exposure: [dmz]}}
  - name: db
    address: 127.0.0.2
    zone: db
    services:
      - {{port: {db}, kind: db, exposure: [app]}}
"""


def live_inventory(open: int, closed: int, db: int, extra: tuple[int, ...] = (), options: str = "", nmap: int = 60):
    return inventory(LIVE.format(scan=format_port_spec([open, closed, db, *extra]), open=open, closed=closed, db=db,
                                 options=options, nmap=nmap))


@needs_nmap
def test_real_scan_declared_undeclared_and_closed(registry, catalog, listen):
    declared, undeclared = listen(), listen()  # declared and open; open but not declared
    db = listen("127.0.0.2")  # a database declared for zone app, open to the scanner in dmz
    closed = free_port()  # declared, nothing listens there
    inv = live_inventory(declared, closed, db, extra=(undeclared,))
    got = collect(PortsCollector(), inv)
    assert {h: o.outcome for h, o in got.items()} == {"web": Outcome.OK, "db": Outcome.OK}, got
    facts = HostPortScan.model_validate(got["web"].data)
    assert facts.methods == {"tcp": "syn" if os.geteuid() == 0 else "connect"}
    assert "-n" in facts.command_line.split() and "-Pn" in facts.command_line.split()
    assert facts.scanned["tcp"] == format_port_spec([declared, undeclared, closed, db])
    results = run_checks(registry, inv, {h: {"ports": o} for h, o in got.items()})
    assert_messages_exist(catalog, results["web"] + results["db"])
    web = results["web"]
    assert statuses(web, "ports.undeclared_open") == {f"{undeclared}/tcp": "fail"}
    assert statuses(web, "ports.declared_unreachable") == {f"{declared}/tcp": "pass", f"{closed}/tcp": "fail"}
    shut = next(r for r in web if r.check_id == "ports.declared_unreachable" and r.target == f"{closed}/tcp")
    assert shut.evidence["state"] == "closed" and shut.evidence["reason"] in ("reset", "conn-refused")
    assert statuses(web, "ports.risky_exposed") == {"": "pass"}
    db_results = results["db"]
    assert statuses(db_results, "ports.zone_violation.database") == {f"{db}/tcp": "fail"}
    assert statuses(db_results, "ports.undeclared_open") == {"": "pass"}


@needs_nmap
def test_one_nmap_run_for_all_hosts(listen):
    inv = live_inventory(listen(), free_port(), free_port())
    got = collect(PortsCollector(), inv)
    lines = {o.data["command_line"] for o in got.values()}
    assert len(lines) == 1
    assert lines.pop().split()[-2:] == ["127.0.0.1", "127.0.0.2"]


def test_missing_nmap_is_tool_missing_and_checks_say_unknown(registry):
    inv = live_inventory(22201, 22202, 22203)  # never scanned
    got = collect(PortsCollector(nmap_search_path=("/nonexistent/nmap",)), inv)
    assert {o.outcome for o in got.values()} == {Outcome.TOOL_MISSING}
    results = run_checks(registry, inv, {h: {"ports": o} for h, o in got.items()})
    assert {r.status for r in results["web"]} == {Status.UNKNOWN}


@needs_nmap
def test_nmap_that_runs_too_long_is_stopped(registry, listen):
    # -sV waits several seconds on a port that never speaks; the run is allowed 1 second.
    inv = live_inventory(listen(), free_port(), free_port(), options="service_versions: true, ", nmap=1)
    got = collect(PortsCollector(), inv)
    assert {o.outcome for o in got.values()} == {Outcome.TIMEOUT}
    assert "scan.timeouts.nmap" in got["web"].detail
    results = run_checks(registry, inv, {h: {"ports": o} for h, o in got.items()})
    assert {r.status for r in results["web"]} == {Status.ERROR}


@needs_nmap
def test_an_address_that_is_not_an_ip_never_reaches_nmap():
    inv = live_inventory(free_port(), free_port(), free_port())
    ctx = context(inv)
    ctx.addresses["web"] = "--script=evil 127.0.0.1"  # a planning bug must not become an nmap option
    got: dict[str, Observation] = {}
    PortsCollector().collect(ctx, list(inv.hosts), lambda host, obs: got.__setitem__(host, obs))
    assert got["web"].outcome == Outcome.ERROR and "not an IP address" in got["web"].detail
    assert got["db"].outcome == Outcome.OK
    assert "evil" not in got["db"].data["command_line"]


@needs_nmap
def test_without_root_a_connect_scan_and_no_udp(listen):
    declared, closed = listen(), free_port()
    inv = live_inventory(declared, closed, free_port(), options="udp: true, ")
    got = collect(PortsCollector(is_root=False), inv)
    facts = HostPortScan.model_validate(got["web"].data)
    assert got["web"].outcome == Outcome.OK
    assert facts.methods == {"tcp": "connect"} and "-sT" in facts.command_line.split()
    assert "-sU" not in facts.command_line.split() and set(facts.scanned) == {"tcp"}
    assert any("UDP not scanned" in note for note in facts.notes)
    assert facts.state_of(declared, "tcp").reason == "syn-ack" and facts.state_of(closed, "tcp").state == "closed"
