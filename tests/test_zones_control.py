"""The control side of a scan from several zones: zone workers answer signed tasks, the control
worker keeps each report in PostgreSQL, and the stored reports become the facts the engine judges,
per zone. Real redis-server and PostgreSQL on loopback (tests/daemons.py); every worker is the
real `readyscan worker` in its own process with its own site key (`--zone mgmt`, `--zone edge`,
`--control`): Celery keeps worker state per process, so embedded workers would share it with the
other tests. This machine is scanned as from two zones."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import uuid

import pytest

celery = pytest.importorskip("celery", reason="the zones extra (celery[redis]) is not installed")
pytest.importorskip("sqlalchemy", reason="the zones extra (sqlalchemy) is not installed")


from checks import default_registry  # noqa: E402
from scanner.app.engine import Engine, judge, resolve_addresses  # noqa: E402
from scanner.app.store.api import Store  # noqa: E402
from scanner.app.zones.app import zone_app  # noqa: E402
from scanner.app.zones.control import assemble_facts  # noqa: E402
from scanner.app.zones.plan import plan_zone_tasks  # noqa: E402
from scanner.app.zones.security import issue_sites  # noqa: E402
from scanner.app.zones.tasks import send_collect  # noqa: E402
from scanner.collectors.base import ScanContext, ScanOptions  # noqa: E402
from scanner.collectors.catalog import default_collectors  # noqa: E402
from scanner.inventory import load_inventory  # noqa: E402
from scanner.model import Outcome, utcnow  # noqa: E402
from scanner.scanfile import load  # noqa: E402
from scanner.thresholds import load_thresholds  # noqa: E402
from tests.paths import ROOT  # noqa: E402

pytest_plugins = ["tests.daemonfixtures"]

ZONED = ROOT / "tests" / "fixtures" / "zones" / "localhost.yaml"  # 127.0.0.1 (local), scanners in mgmt and edge
ANSWER_SECONDS = 120  # a hang guard, not a benchmark
# How long a scan waits for a silent zone, from its last answer: longer than the host probes of
# this machine take on a busy one, or the zone that answers is given up too.
SILENCE_SECONDS = 8
CHECKS = ["ports.*", "system.identity"]
LOGINS = frozenset({"host"})  # the collectors that log in (HostCollector.logs_in)


def planned(scan_id: str):
    loaded = load_inventory(ZONED)
    registry, collectors = default_registry(), default_collectors()
    checks = registry.select(CHECKS)
    resolved, _ = resolve_addresses(loaded.inventory.hosts)
    ctx = ScanContext(loaded=loaded, options=ScanOptions(), addresses=resolved)
    engine = Engine(registry, collectors, load_thresholds())
    return loaded, checks, plan_zone_tasks(ctx, collectors, registry.collectors_for(checks),
                                           engine.gather_parts(checks), scan_id)


def test_a_silent_zone_leaves_its_hosts_with_an_error_that_names_it():
    loaded, _, plan = planned("s-1")
    started = utcnow()
    # Only the mgmt zone answered: the login and its port scan.
    stored = {"localhost": {(t.collector, t.vantage): _ok(t.collector, started) for t in plan["mgmt"]}}
    facts = assemble_facts(loaded.inventory, plan, stored, started, LOGINS)
    assert facts.silent == {"edge": len(plan["edge"])}
    edge = facts.seen_from["localhost"]["edge"]["ports"]
    assert edge.outcome == Outcome.ERROR and edge.detail == "no scanner answered in zone edge"
    assert edge.vantage == "edge"
    # The facts of record are those of the zone that administers the host.
    assert facts.observations["localhost"]["ports"] is facts.seen_from["localhost"]["mgmt"]["ports"]
    assert set(facts.observations["localhost"]) == {"host", "ports"}


def _ok(collector: str, when):
    from scanner.model import Observation

    return Observation(collector=collector, outcome=Outcome.OK, started=when, ended=when)


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The control site and one site per zone, each trusting the others (one CA issued them all)."""
    return issue_sites(tmp_path_factory.mktemp("zones-control-pki"), ("control", "mgmt", "edge"))


def worker(role: list[str], keys, broker: str, database: str = "") -> subprocess.Popen:
    """`readyscan worker INVENTORY <role>`, the URLs from the environment as in production."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("READYSCAN_")} | {"READYSCAN_BROKER_URL": broker}
    if database:
        env["READYSCAN_DATABASE_URL"] = database
    return subprocess.Popen([sys.executable, "-m", "scanner", "worker", str(ZONED), *role,
                             "--keys", str(keys.folder), "--lang", "en"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()  # warm shutdown, by the PID we started
    try:
        return proc.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1]


def started(proc: subprocess.Popen, seconds: float = 60) -> None:
    """Wait until a zone worker says it takes tasks: one still starting on a busy machine is not a
    silent zone (reads its stderr up to that line; stop() reads the rest)."""
    deadline = time.monotonic() + seconds
    seen = b""
    while time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stderr], [], [], 0.5)[0]:
            seen += os.read(proc.stderr.fileno(), 4096)  # as communicate() reads: no buffer in between
            if b"takes tasks from queue" in seen:
                return
    raise AssertionError(f"the worker did not start: {seen[-2000:]!r}")


def test_zone_reports_reach_the_store_and_are_judged_per_zone(redis, postgres_server, sites):
    database = postgres_server.create_database(f"ctl_{uuid.uuid4().hex[:8]}")
    store = Store(database)
    store.migrate()
    loaded = load_inventory(ZONED)
    scan_id = store.begin_scan(loaded.digest)
    loaded, checks, plan = planned(str(scan_id))
    assert {zone: {t.collector for t in tasks} for zone, tasks in plan.items()} == {
        "mgmt": {"host", "ports"}, "edge": {"ports"}}  # the host is administered from mgmt: logged in once
    sender = zone_app(redis, sites["control"], zones=loaded.inventory.scanner_zones,
                      timeouts=loaded.inventory.scan.timeouts)
    workers = {zone: worker(["--zone", zone], sites[zone], redis) for zone in loaded.inventory.scanner_zones}
    workers["control"] = worker(["--control"], sites["control"], redis, database)
    try:
        for tasks in plan.values():
            for task in tasks:
                send_collect(sender, task)
        expected = {(t.host_name, t.collector, t.vantage) for tasks in plan.values() for t in tasks}
        deadline = time.monotonic() + ANSWER_SECONDS
        while True:
            got = store.answered(scan_id)
            if got >= expected or time.monotonic() > deadline or any(p.poll() is not None for p in workers.values()):
                break
            time.sleep(0.2)
    finally:
        logs = {name: stop(proc) for name, proc in workers.items()}
    assert all(proc.returncode == 0 for proc in workers.values()), {z: log[-2000:] for z, log in logs.items()}
    assert "keeps them in the database" in logs["control"]
    assert got == expected
    stored = store.observations(scan_id)
    assert {(host, collector, zone) for host, by in stored.items() for collector, zone in by} == got
    facts = assemble_facts(loaded.inventory, plan, stored, utcnow(), LOGINS)
    assert facts.silent == {}
    ports = {zone: facts.seen_from["localhost"][zone]["ports"] for zone in ("mgmt", "edge")}
    assert {zone: obs.outcome for zone, obs in ports.items()} == {"mgmt": Outcome.OK, "edge": Outcome.OK}, \
        {zone: obs.detail for zone, obs in ports.items()}
    registry = default_registry()
    per_host, _ = judge(registry, checks, loaded.inventory, facts.observations, load_thresholds(), utcnow(),
                        seen_from=facts.seen_from)
    results = per_host["localhost"]
    # The port checks were judged once from each zone, and say which; the identity check once.
    assert {r.vantage for r in results if r.check_id == "ports.undeclared_open"} == {"mgmt", "edge"}
    assert [r.vantage for r in results if r.check_id == "system.identity"] == [None]
    assert all(r.status.value != "error" for r in results), [(r.check_id, r.message) for r in results
                                                             if r.status.value == "error"]
    store.close()


def test_a_worker_is_either_a_zones_or_the_control_one(tmp_path, capsys):
    from scanner.app.cli import main
    from scanner.app.exits import EXIT_INPUT

    for role in ([], ["--zone", "mgmt", "--control"]):
        assert main(["worker", str(ZONED), *role, "--keys", str(tmp_path), "--lang", "en"]) == EXIT_INPUT
        assert "exactly one of --zone ZONE" in " ".join(capsys.readouterr().err.split())


def test_readyscan_scan_from_two_zones_writes_one_scan_file(redis, postgres_server, sites, tmp_path):
    """`readyscan scan` on an inventory with scanners in mgmt and edge: the zone workers answer,
    the scan file keeps each zone's port facts, and the port checks say which zone they judge."""
    database = postgres_server.create_database(f"scan_{uuid.uuid4().hex[:8]}")
    workers = {zone: worker(["--zone", zone], sites[zone], redis) for zone in ("mgmt", "edge")}
    out = tmp_path / "zoned.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("READYSCAN_")} | {
        "READYSCAN_BROKER_URL": redis, "READYSCAN_DATABASE_URL": database, "CI": "true"}
    try:
        done = subprocess.run([sys.executable, "-m", "scanner", "scan", str(ZONED), "--keys", str(sites["control"].folder),
                               "--checks", *CHECKS, "-o", str(out), "--lang", "en"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=ANSWER_SECONDS * 2)
    finally:
        logs = {name: stop(proc) for name, proc in workers.items()}
    assert done.returncode in (0, 1), (done.stderr[-3000:], {z: log[-1500:] for z, log in logs.items()})
    scan = load(out)
    assert scan.complete
    record = scan.hosts["localhost"]
    assert set(record.seen_from) == {"mgmt", "edge"} and record.observations["host"].outcome == Outcome.OK
    assert {r.vantage for r in record.results if r.check_id == "ports.undeclared_open"} == {"mgmt", "edge"}
    assert scan.summary.reachability.vantages == ("mgmt", "edge")
    assert out.with_suffix(".html").exists()
    assert "Zone edge" in done.stderr  # progress per zone


def test_a_silent_zone_ends_its_hosts_as_errors_and_the_scan_incomplete(redis, postgres_server, sites):
    from scanner.app.zones.scan import ZoneLinks, zoned_scan
    from scanner.collectors.base import ScanOptions

    database = postgres_server.create_database(f"silent_{uuid.uuid4().hex[:8]}")
    loaded, checks, _ = planned("unused")
    registry, collectors = default_registry(), default_collectors()
    engine = Engine(registry, collectors, load_thresholds())
    ctx = ScanContext(loaded=loaded, options=ScanOptions())
    mgmt = worker(["--zone", "mgmt"], sites["mgmt"], redis)  # no worker stands in edge
    try:
        started(mgmt)
        scan = zoned_scan(engine, ctx, checks, ZoneLinks(redis, database, sites["control"]),
                          silence_seconds=SILENCE_SECONDS)
    finally:
        stop(mgmt)
    assert not scan.complete and scan.incomplete_reason == "no scanner answered in zone edge"
    edge = scan.hosts["localhost"].seen_from["edge"]["ports"]
    assert edge.outcome == Outcome.ERROR and "edge" in edge.detail
    zone_results = [r for r in scan.hosts["localhost"].results if r.vantage == "edge"]
    assert zone_results and all(r.status.value in ("error", "unknown") for r in zone_results)
    assert any(r.vantage == "mgmt" and r.status.value != "error" for r in scan.hosts["localhost"].results)


def test_a_worker_killed_mid_scan_leaves_its_zone_error_and_a_valid_scan_file(redis, postgres_server, sites,
                                                                              tmp_path):
    """kill -9 of the edge worker while the scan runs: it was frozen (SIGSTOP) as the tasks went
    out, so it never answers; after the zone's silence limit its hosts end `error`, the scan is
    incomplete (exit 3), and the scan file it writes reads back."""
    import signal
    import threading

    from scanner.app.cli import exit_code
    from scanner.app.exits import EXIT_INCOMPLETE
    from scanner.app.zones.scan import ZoneLinks, zoned_scan
    from scanner.collectors.base import ScanOptions
    from scanner.model import Severity
    from scanner.scanfile import save

    database = postgres_server.create_database(f"kill_{uuid.uuid4().hex[:8]}")
    loaded, checks, _ = planned("unused")
    engine = Engine(default_registry(), default_collectors(), load_thresholds())
    mgmt = worker(["--zone", "mgmt"], sites["mgmt"], redis)
    edge = worker(["--zone", "edge"], sites["edge"], redis)
    out: dict = {}
    try:
        time.sleep(3)  # both workers up and listening (a worker that is not yet is only slower)
        os.kill(edge.pid, signal.SIGSTOP)
        scanning = threading.Thread(target=lambda: out.update(scan=zoned_scan(
            engine, ScanContext(loaded=loaded, options=ScanOptions()), checks,
            ZoneLinks(redis, database, sites["control"]), silence_seconds=5)))
        scanning.start()
        time.sleep(1.5)  # the tasks are out; the edge worker holds or awaits its own
        os.kill(edge.pid, signal.SIGKILL)
        scanning.join(ANSWER_SECONDS)
        assert not scanning.is_alive()
    finally:
        stop(mgmt)
        edge.wait(timeout=30)
    scan = out["scan"]
    assert edge.returncode == -signal.SIGKILL
    assert not scan.complete and scan.incomplete_reason == "no scanner answered in zone edge"
    assert exit_code(scan, Severity.HIGH) == EXIT_INCOMPLETE
    assert scan.hosts["localhost"].seen_from["edge"]["ports"].outcome == Outcome.ERROR
    assert scan.hosts["localhost"].seen_from["mgmt"]["ports"].outcome == Outcome.OK
    path = tmp_path / "killed.json"
    save(scan, path)
    assert load(path).hosts["localhost"].seen_from["edge"]["ports"].detail == "no scanner answered in zone edge"
