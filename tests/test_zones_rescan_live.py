"""`readyscan scan --rescan-failed` from several zones, end to end: real redis-server and PostgreSQL
on loopback (tests/daemons.py), real `readyscan worker` processes per zone (as in
tests/test_zones_control.py). A first scan where the edge zone is silent, then the rescan with both
zones' workers up: only the edge's tasks go out, and the new scan file is complete, with the mgmt
zone's facts carried over as they were."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

pytest.importorskip("celery", reason="the zones extra (celery[redis]) is not installed")
pytest.importorskip("sqlalchemy", reason="the zones extra (sqlalchemy) is not installed")

from sqlalchemy import create_engine, text  # noqa: E402

from checks import default_registry  # noqa: E402
from scanner.app.engine import Engine  # noqa: E402
from scanner.app.store.api import Store, normalized_url  # noqa: E402
from scanner.app.zones.scan import ZoneLinks, zoned_scan  # noqa: E402
from scanner.collectors.base import ScanContext, ScanOptions  # noqa: E402
from scanner.collectors.catalog import default_collectors  # noqa: E402
from scanner.diff import diff_scans  # noqa: E402
from scanner.model import Outcome, Status  # noqa: E402
from scanner.scanfile import load, save  # noqa: E402
from scanner.thresholds import load_thresholds  # noqa: E402
from tests.paths import ROOT  # noqa: E402
from tests.test_zones_control import (  # noqa: E402,F401
    ANSWER_SECONDS,
    SILENCE_SECONDS,
    ZONED,
    planned,
    sites,
    started,
    stop,
    worker,
)

pytest_plugins = ["tests.daemonfixtures"]


def scan_ids(database: str) -> list[uuid.UUID]:
    """The scans the store holds, oldest first."""
    engine = create_engine(normalized_url(database))
    try:
        with engine.connect() as conn:
            return [row.id for row in conn.execute(text("SELECT id FROM scans ORDER BY started"))]
    finally:
        engine.dispose()


def test_a_rescan_asks_only_the_zone_that_was_silent(redis, postgres_server, sites, tmp_path):  # noqa: F811
    database = postgres_server.create_database(f"rescan_{uuid.uuid4().hex[:8]}")
    loaded, checks, _ = planned("unused")
    engine = Engine(default_registry(), default_collectors(), load_thresholds())
    links = ZoneLinks(redis, database, sites["control"])

    # 1. The edge zone is silent: no worker stands there.
    mgmt = worker(["--zone", "mgmt"], sites["mgmt"], redis)
    try:
        started(mgmt)
        first = zoned_scan(engine, ScanContext(loaded=loaded, options=ScanOptions()), checks, links,
                           silence_seconds=SILENCE_SECONDS)
    finally:
        stop(mgmt)
    assert first.incomplete_reason == "no scanner answered in zone edge"
    before_path = tmp_path / "before.json"
    save(first, before_path)
    before = load(before_path)

    # 2. Both zones up; the rescan through the command, as an administrator runs it.
    workers = {zone: worker(["--zone", zone], sites[zone], redis) for zone in ("mgmt", "edge")}
    after_path = tmp_path / "after.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("READYSCAN_")} | {
        "READYSCAN_BROKER_URL": redis, "READYSCAN_DATABASE_URL": database, "CI": "true"}
    try:
        done = subprocess.run([sys.executable, "-m", "scanner", "scan", str(ZONED), "--keys",
                               str(sites["control"].folder), "--rescan-failed", str(before_path),
                               "-o", str(after_path), "--lang", "en"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=ANSWER_SECONDS * 2)
    finally:
        logs = {name: stop(proc) for name, proc in workers.items()}
    assert done.returncode in (0, 1), (done.stderr[-3000:], {z: log[-1500:] for z, log in logs.items()})

    # Only the edge's task went out (the store keeps each scan's answers apart).
    first_id, rescan_id = scan_ids(database)
    with Store(database) as store:
        assert store.answered(rescan_id) == {("localhost", "ports", "edge")}
        # The first scan's edge task was taken off the broker when the zone was given up: the
        # edge worker did not run it for nothing before the rescan's.
        assert store.answered(first_id) == {("localhost", "host", "mgmt"), ("localhost", "ports", "mgmt")}
    assert "Zone edge: 1/1" in done.stderr and "Zone mgmt" not in done.stderr

    # A complete scan file: the edge seen now, the mgmt zone's facts and the login kept as they were.
    after = load(after_path)
    assert after.complete and after.rescan_of == before.started
    record, earlier = after.hosts["localhost"], before.hosts["localhost"]
    assert record.seen_from["mgmt"] == earlier.seen_from["mgmt"]
    assert record.observations["host"] == earlier.observations["host"]
    edge = record.seen_from["edge"]["ports"]
    assert edge.outcome == Outcome.OK and edge.started > before.started, edge.detail
    assert record.observations["ports"] == record.seen_from["mgmt"]["ports"]  # the facts of record: mgmt's
    assert {r.vantage for r in record.results if r.check_id == "ports.undeclared_open"} == {"mgmt", "edge"}
    assert all(r.status != Status.ERROR for r in record.results), [
        (r.check_id, r.vantage, r.message) for r in record.results if r.status == Status.ERROR]
    assert after.summary.reachability.vantages == ("mgmt", "edge")
    assert after_path.with_suffix(".html").exists() and after_path.with_suffix(".survey.docx").exists()

    # diff between the two: only the edge's verdicts changed.
    changes = diff_scans(before, after)
    moved = changes.fixed + changes.new + changes.regressed + changes.unverified
    assert not changes.hosts_gone and not changes.hosts_added and not changes.inventory_changed
    assert all(c.vantage == "edge" for c in moved), [c.key for c in moved]
    shown = subprocess.run([sys.executable, "-m", "scanner", "diff", str(before_path), str(after_path),
                            "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert shown.returncode in (0, 1), shown.stderr
    assert json.loads(shown.stdout)["counts"]["hosts_gone"] == 0
