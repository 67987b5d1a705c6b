"""The lab's zones (lab/zones.py) and `make demo-zones` (lab/zonedemo.py), the done-when of issue 15:
the lab scanned from every zone at once, by real workers standing in their zones' namespaces
behind the lab's zone firewall, reports every violation the lab seeds from the zone that sees it,
and no other.

The offline tests check the policy itself: that its rule is readyscan's rule, that the zoned
inventory is one readyscan accepts, and that each seeded hole is a violation of its own zone only.
"""

from __future__ import annotations

import ipaddress

import pytest

from lab import zones
from lab.hosts import DEFAULT_HOSTS, LAB_NETWORK, plan_hosts
from lab.inventory import zoned_inventory_text
from lab.profiles import PROFILES
from scanner.inventory import load_inventory
from scanner.model import Outcome, Status
from scanner.scanfile import load
from tests.labfixture import lab  # noqa: F401  (the session fixture)

HOSTS = plan_hosts(DEFAULT_HOSTS)


def test_the_lab_policy_reads_exposure_as_readyscan_does(tmp_path):
    """The lab computes its expected violations with its own copy of the exposure rule (it runs
    on the system Python); it must agree with readyscan's for every service and zone."""
    path = tmp_path / "zones.yaml"
    path.write_text(zoned_inventory_text(HOSTS, state_prefix=""), encoding="utf-8")
    inventory = load_inventory(path).inventory
    for host in inventory.hosts:
        lab_host = next(h for h in HOSTS if h.name == host.name)
        for service, declared in zip(host.services, zones._declared(lab_host), strict=True):
            for v in zones.VANTAGES:
                assert zones._allows(declared, v.zone, host.zone) == service.allows(v.zone, host.zone), \
                    (host.name, service.port, v.zone)


def test_the_zoned_inventory_gives_every_vantage_a_scanner_and_mgmt_every_login(tmp_path):
    path = tmp_path / "zones.yaml"
    path.write_text(zoned_inventory_text(HOSTS, state_prefix=""), encoding="utf-8")
    inventory = load_inventory(path).inventory
    assert inventory.scanner_zones == [v.zone for v in zones.VANTAGES]
    assert {inventory.managing_zone(h) for h in inventory.hosts} == {zones.MANAGED_FROM}
    assert [s.address for s in inventory.scanners] == [v.address for v in zones.VANTAGES]
    for v in zones.VANTAGES:  # between the bridge (.1) and the hosts (.10 up), inside the lab's range
        assert ipaddress.ip_address(v.address) in LAB_NETWORK and 1 < v.offset < 10


def test_each_seeded_hole_is_a_violation_of_its_own_zone_only():
    expected = zones.expected_violations(HOSTS)
    for hole in zones.SEEDED:
        host = next(h.name for h in HOSTS if h.profile == hole.profile)
        assert (host, hole.port) in expected[hole.zone]
        assert all((host, hole.port) not in cells for zone, cells in expected.items() if zone != hole.zone)
    # The DMZ reaches the app zone's undeclared listeners; no firewall hides them from it.
    exposed = next(h for h in HOSTS if h.profile == "exposed")
    undeclared = {listener["port"] for listener in PROFILES["exposed"]["listeners"]}
    assert undeclared <= {port for host, port in expected["dmz"] if host == exposed.name}
    # The management zone reaches monitoring, and SSH on the jump host only: all allowed from it.
    assert expected[zones.MANAGEMENT_ZONE] == set()


def test_without_its_holes_the_firewall_enforces_the_declared_policy(monkeypatch):
    monkeypatch.setattr(zones, "SEEDED", ())
    expected = zones.expected_violations(HOSTS)
    assert {z for z, cells in expected.items() if cells} == {"dmz"}  # the app zone's own undeclared ports


def test_the_firewall_opens_the_broker_to_every_zone_and_drops_the_rest():
    rules = zones.nft_ruleset(HOSTS)
    for v in zones.VANTAGES:
        chain = rules.split(f"chain from_{v.zone} {{", 1)[1].split("}\n", 1)[0]
        assert f"tcp dport {zones.BROKER_PORT} accept" in chain
        assert chain.rstrip().endswith("drop")


@pytest.mark.lab
def test_demo_zones_reports_every_seeded_violation_from_the_zone_that_sees_it(lab, tmp_path):  # noqa: F811
    from lab import zonedemo

    outcome = zonedemo.run(lang="en", results_dir=tmp_path, count=lab.count, log=lambda message: None)
    assert outcome.scan_file is not None, f"no scan file (exit {outcome.exit_code})"
    assert outcome.exit_code == 1  # complete, with failures
    assert outcome.missing == {} and outcome.unexpected == {}
    scan = load(outcome.scan_file)
    assert scan.complete and scan.summary.reachability.vantages == tuple(v.zone for v in zones.VANTAGES)
    db = scan.hosts[lab.of_profile("dbhost").name]
    verdicts = {r.vantage: r.status for r in db.results
                if r.check_id == "ports.zone_violation.database" and r.target == "5432/tcp"}
    assert verdicts["user"] == Status.FAIL and verdicts["dmz"] == Status.PASS
    # Administrators reach the servers through the jump host: SSH on the others is closed to mgmt.
    jump = {(h, r.status) for h, rec in scan.hosts.items() for r in rec.results
            if r.check_id == "ports.zone_violation.jump_host" and r.vantage == zones.MANAGEMENT_ZONE}
    assert {status for _, status in jump} <= {Status.PASS, Status.NOT_APPLICABLE} and len(jump) == len(scan.hosts)
    for record in scan.hosts.values():  # logged in once, from the DMZ; ports seen from every zone
        assert record.observations["host"].outcome == Outcome.OK
        assert set(record.seen_from) == {v.zone for v in zones.VANTAGES}
