"""`--rescan-failed` for a scan from several zones, planned without a broker (pure): which tasks go
to which zone again, which facts of the previous scan are kept, zone by zone, and which previous
scan files the command refuses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from checks import default_registry
from scanner.app.engine import Engine, resolve_addresses
from scanner.app.zones.control import assemble_facts
from scanner.app.zones.plan import login_collectors, plan_zone_tasks
from scanner.app.zones.rescan import plan_zone_rescan
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.facts.host import HostObservation
from scanner.inventory import LoadedInventory, parse_inventory
from scanner.model import Observation, Outcome, Status, utcnow
from scanner.scanfile import ScanFile
from scanner.thresholds import load_thresholds
from tests.test_inventory import ZONED

# web-01 is administered from the dmz (a scanner stands there), app-01 from mgmt, and fw-mgmt
# (transport none) by no one: its facts of record come from the first zone listed, mgmt.
HOST_DATA = HostObservation.model_validate({
    "parsed": {"sshd_config": {"old": 1}, "os_release": {"old": 2}},
    "commands": [{"name": "sshd_config"}, {"name": "os_release"}]}).model_dump(mode="json")


class Scene:
    """One inventory, its checks, and a first scan from both zones built from chosen answers."""

    def __init__(self, patterns: list[str] | None = None, text: str = ZONED):
        self.registry, self.collectors = default_registry(), default_collectors()
        self.checks = self.registry.select(patterns)
        self.loaded = LoadedInventory(parse_inventory(text, "zoned.yaml"), Path("/nowhere/zoned.yaml"), "0" * 64)
        self.engine = Engine(self.registry, self.collectors, load_thresholds())
        self.started = utcnow() - timedelta(hours=1)

    def ctx(self) -> ScanContext:
        resolved, _ = resolve_addresses(self.loaded.inventory.hosts)  # IP addresses only: no lookup
        return ScanContext(loaded=self.loaded, options=ScanOptions(), addresses=resolved)

    def full_plan(self, scan_id: str = "s-1"):
        return plan_zone_tasks(self.ctx(), self.collectors, self.registry.collectors_for(self.checks),
                               self.engine.gather_parts(self.checks), scan_id)

    def first_scan(self, answered=lambda task: True, status=lambda result: Status.PASS) -> ScanFile:
        """The previous scan: the tasks `answered` says got an answer (an empty one, outcome ok;
        the host collector's with HOST_DATA), judged, each result's status then set by `status`."""
        plan = self.full_plan()
        stored: dict = {}
        for tasks in plan.values():
            for t in (t for t in tasks if answered(t)):
                stored.setdefault(t.host_name, {})[(t.collector, t.vantage)] = Observation(
                    collector=t.collector, outcome=Outcome.OK, started=self.started, ended=self.started,
                    vantage=t.vantage, data=HOST_DATA if t.collector == "host" else {})
        facts = assemble_facts(self.loaded.inventory, plan, stored, self.started, login_collectors(self.collectors))
        scan = self.engine.judged_file(self.ctx(), self.checks, self.started, facts.observations, facts.seen_from,
                                       None, None, {})
        for record in scan.hosts.values():
            record.results = [r.model_copy(update={"status": status(r)}) for r in record.results]
        return scan

    def rescan(self, previous: ScanFile):
        return plan_zone_rescan(self.ctx(), self.collectors, self.checks, self.engine.gather_parts(self.checks),
                                previous, "s-2")


def sent(rescan) -> set[tuple[str, str, str, tuple[str, ...] | None]]:
    return {(t.host_name, t.collector, t.vantage, t.parts) for tasks in rescan.plan.values() for t in tasks}


def failing(check_id: str, host: str, vantage: str | None = None):
    return lambda r: Status.FAIL if (r.check_id, r.host, r.vantage) == (check_id, host, vantage) else Status.PASS


def test_everything_settled_sends_nothing_and_keeps_every_zones_facts():
    scene = Scene()
    previous = scene.first_scan()
    rescan = scene.rescan(previous)
    assert rescan.plan == {} and rescan.partial == {}
    for name, record in previous.hosts.items():
        assert rescan.kept.seen_from[name] == record.seen_from
        assert rescan.kept.observations[name] == {k: v for k, v in record.observations.items() if k == "host"}


def test_a_result_seen_from_one_zone_is_gathered_again_from_that_zone_only():
    scene = Scene(["ports.*"])
    rescan = scene.rescan(scene.first_scan(status=failing("ports.undeclared_open", "web-01", "dmz")))
    assert sent(rescan) == {("web-01", "ports", "dmz", None)}
    assert list(rescan.plan) == ["dmz"] and all(t.scan_id == "s-2" for t in rescan.plan["dmz"])


def test_a_result_judged_once_is_gathered_again_from_every_zone():
    """Its endpoints were each read from the first zone that reached them (facts_of_record): a
    fix may change which zone that is, so every zone is asked again, for that host and collector."""
    scene = Scene(["tls.*"])
    [check] = [c for c in scene.checks if c.id == "tls.protocol.legacy"]
    assert not check.per_vantage
    # the web server facts the check may read (the server blocks behind the port) are read again too,
    # through the one login from the zone that administers the host; fw-mgmt has no login
    logins = {"app-01": {("app-01", "host", "mgmt", ("apache", "nginx"))},
              "web-01": {("web-01", "host", "dmz", ("apache", "nginx"))},
              "fw-mgmt": set()}
    for host in ("app-01", "web-01", "fw-mgmt"):
        rescan = scene.rescan(scene.first_scan(status=failing(check.id, host)))
        assert sent(rescan) == {(host, "tls", zone, None) for zone in ("mgmt", "dmz")} | logins[host], host


def test_a_login_check_runs_again_from_the_managing_zone_with_only_its_probes():
    """The probes the unsettled check reads run again; the others' facts are kept from before and
    the previous observation completes the worker's answer."""
    scene = Scene(["ssh.config.*", "system.identity"])
    previous = scene.first_scan(status=failing("ssh.config.root_login", "web-01"))
    rescan = scene.rescan(previous)
    assert sent(rescan) == {("web-01", "host", "dmz", ("sshd_config",))}
    now = utcnow()
    fresh = HostObservation.model_validate({"parsed": {"sshd_config": {"new": 1}},
                                            "commands": [{"name": "sshd_config"}]}).model_dump(mode="json")
    stored = {"web-01": {("host", "dmz"): Observation(collector="host", outcome=Outcome.OK, started=now, ended=now,
                                                      vantage="dmz", data=fresh)}}
    data = HostObservation.model_validate(rescan.completed(stored, scene.collectors)["web-01"][("host", "dmz")].data)
    assert data.parsed == {"sshd_config": {"new": 1}, "os_release": {"old": 2}}
    assert data.kept_from_previous == ("os_release",)
    # A failed answer is not completed: the host was not observed this time.
    failed = {"web-01": {("host", "dmz"): Observation(collector="host", outcome=Outcome.ERROR, started=now,
                                                      ended=now, detail="sudo refused")}}
    assert rescan.completed(failed, scene.collectors) == failed


def test_a_per_zone_check_that_reads_a_login_fact_gathers_it_from_the_managing_zone():
    scene = Scene(["exposure.*"])
    rescan = scene.rescan(scene.first_scan(status=failing("exposure.listener_all_interfaces", "app-01", "dmz")))
    assert sent(rescan) == {("app-01", "ports", "dmz", None), ("app-01", "host", "mgmt", ("listeners",))}


def test_a_silent_zone_is_asked_again_for_everything_it_owed():
    """The dmz did not answer the first scan. Even with every result forced to pass, the rescan
    sends exactly the dmz's tasks of a full scan again, and nothing to mgmt."""
    scene = Scene()
    previous = scene.first_scan(answered=lambda t: t.vantage == "mgmt")
    assert previous.hosts["web-01"].seen_from["dmz"]["ports"].detail == "no scanner answered in zone dmz"
    rescan = scene.rescan(previous)
    assert list(rescan.plan) == ["dmz"]
    full = scene.full_plan("s-2")
    assert sent(rescan) == {(t.host_name, t.collector, t.vantage, t.parts) for t in full["dmz"]}
    assert rescan.partial == {}  # the host's previous observation was an error: all its probes run


def test_a_host_added_since_is_gathered_whole_and_a_host_removed_is_forgotten():
    scene = Scene(["ports.*", "ssh.config.*"])
    previous = scene.first_scan()
    edited = ZONED.replace("  - {name: fw-mgmt, address: 10.0.2.1, zone: app, transport: none}\n",
                           "  - {name: db-01, address: 10.0.3.10, zone: app, managed_from: mgmt}\n")
    later = Scene(["ports.*", "ssh.config.*"], edited)
    rescan = later.rescan(previous)
    assert sent(rescan) == {("db-01", "ports", "mgmt", None), ("db-01", "ports", "dmz", None),
                            ("db-01", "host", "mgmt", ("sshd_config",))}
    assert set(rescan.kept.seen_from) == {"web-01", "app-01"}


def test_the_kept_facts_and_the_answers_make_every_zones_facts():
    """assemble_facts with the kept facts: the answers replace what they re-gathered, the rest is
    the previous scan's, and the facts of record follow the zone that administers the host."""
    scene = Scene(["ports.*", "tls.*"])
    previous = scene.first_scan(answered=lambda t: t.vantage == "mgmt")
    rescan = scene.rescan(previous)
    now = utcnow()
    stored = {t.host_name: {} for tasks in rescan.plan.values() for t in tasks}
    for t in (t for tasks in rescan.plan.values() for t in tasks):
        stored[t.host_name][(t.collector, t.vantage)] = Observation(collector=t.collector, outcome=Outcome.OK,
                                                                    started=now, ended=now, vantage=t.vantage)
    facts = assemble_facts(scene.loaded.inventory, rescan.plan, stored, now, login_collectors(scene.collectors),
                           rescan.kept)
    assert facts.silent == {}
    for host in ("web-01", "app-01", "fw-mgmt"):
        assert facts.seen_from[host]["mgmt"] == previous.hosts[host].seen_from["mgmt"]  # kept as it was
        assert all(obs.started == now and obs.outcome == Outcome.OK for obs in facts.seen_from[host]["dmz"].values())
    assert facts.observations["web-01"]["tls"] is facts.seen_from["web-01"]["dmz"]["tls"]
    assert facts.observations["app-01"]["tls"] is facts.seen_from["app-01"]["mgmt"]["tls"]


# -- which previous scan files the command refuses -------------------------------------------

def zoned_scan_file(tmp_path, text: str = ZONED):
    """A zoned inventory on disk and a previous scan file of it."""
    inventory = tmp_path / "zoned.yaml"
    inventory.write_text(text, encoding="utf-8")
    scene = Scene(None, text)
    previous = tmp_path / "previous.json"
    from scanner.scanfile import save
    save(scene.first_scan(), previous)
    return inventory, previous


@pytest.mark.parametrize("case,edit,message", [
    ("another organisation", lambda t: t.replace("Sở A", "Sở B"), "is a scan of another inventory"),
    ("no host in common", lambda t: t.replace("web-01", "web-11").replace("app-01", "app-11")
     .replace("name: fw-mgmt", "name: fw-2"), "is a scan of another inventory"),
    ("one zone now", lambda t: t.replace("  - {name: quet-dmz, zone: dmz, address: 10.0.1.250}\n", "")
     .replace(", managed_from: mgmt", ""), "is a scan from several zones"),
])
def test_a_previous_scan_file_that_does_not_fit_is_refused_by_name(tmp_path, capsys, case, edit, message):
    from scanner.app.cli import main
    from scanner.app.exits import EXIT_INPUT

    inventory, previous = zoned_scan_file(tmp_path)
    inventory.write_text(edit(ZONED), encoding="utf-8")
    code = main(["scan", str(inventory), "--rescan-failed", str(previous), "-o", str(tmp_path / "new.json"),
                 "--keys", str(tmp_path), "--lang", "en"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_INPUT, err
    assert message in err and str(previous) in err, err
    assert not (tmp_path / "new.json").exists()


def test_a_one_zone_scan_file_is_refused_for_an_inventory_with_zones(tmp_path, capsys):
    from scanner.app.cli import main
    from scanner.app.exits import EXIT_INPUT

    one_zone = ZONED.replace("  - {name: quet-dmz, zone: dmz, address: 10.0.1.250}\n", "").replace(
        ", managed_from: mgmt", "")
    inventory, previous = zoned_scan_file(tmp_path, one_zone)
    inventory.write_text(ZONED, encoding="utf-8")
    code = main(["scan", str(inventory), "--rescan-failed", str(previous), "--keys", str(tmp_path), "--lang", "vi"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_INPUT
    assert f"{previous} là kết quả quét từ một vùng" in err, err


def test_an_edited_copy_of_the_inventory_is_no_other_inventory(tmp_path):
    from scanner.app.cli import rescan_refusal
    from scanner.inventory import load_inventory
    from scanner.scanfile import load

    inventory, previous = zoned_scan_file(tmp_path)
    copy = tmp_path / "elsewhere" / "edited.yaml"
    copy.parent.mkdir()
    copy.write_text(ZONED.replace("  - {name: fw-mgmt", "  - {name: db-01, address: 10.0.3.10, zone: app, "
                                  "managed_from: mgmt}\n  - {name: fw-mgmt"), encoding="utf-8")
    assert rescan_refusal(load(previous), load_inventory(copy)) is None
    assert rescan_refusal(load(previous), load_inventory(inventory)) is None
