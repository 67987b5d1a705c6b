"""`readyscan scan` on an inventory with scanners in several zones: plan per zone, start the
control worker, send the signed tasks, wait while the zones answer, then judge and write the same
scan file as a one-zone scan.

A zone that stays silent for the length of one task's hard time limit is given up: its
unanswered tasks become errors that name it (assemble_facts), those still queued are taken off the
broker, and the scan completes with what it has and says it is incomplete (exit 3). Celery and
SQLAlchemy are imported only here and below.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kombu.exceptions import OperationalError

from checks.registry import Check
from scanner.app.engine import Engine, resolve_addresses
from scanner.app.store.api import Store
from scanner.app.store.tables import ScanState
from scanner.app.zones.app import zone_app
from scanner.app.zones.broker import BROKER_ENV, task_time_limits, zone_queue
from scanner.app.zones.control import assemble_facts
from scanner.app.zones.plan import login_collectors, plan_zone_tasks
from scanner.app.zones.rescan import plan_zone_rescan
from scanner.app.zones.scope import text
from scanner.app.zones.security import SiteKeys
from scanner.app.zones.tasks import send_all, unsent_observation
from scanner.app.zones.worker import BROKER_CHECK_SECONDS, check_broker
from scanner.collectors.base import ScanContext
from scanner.model import utcnow
from scanner.scanfile import Phase, ScanFile
from scanner.waivers import Waiver

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
# A task killed at its hard limit sends no report; past the limit, the zone's next task has this
# long to answer before the zone is called silent.
SILENCE_MARGIN_SECONDS = 60
START_CHECK_SECONDS = 2.0  # the control worker checks its keys, the broker and the database at once
STOP_SECONDS = 30  # its warm shutdown finishes the report at hand


class ControlWorkerFailed(RuntimeError):
    """The control worker stopped at start (its one-sentence reason went to its own log)."""


@dataclass(frozen=True)
class ZoneLinks:
    """Where the broker and the store are, and this site's signing keys (never in the inventory)."""

    broker_url: str
    database_url: str
    keys: SiteKeys
    broker_ca: Path | None = None


def zoned_scan(engine: Engine, ctx: ScanContext, checks: list[Check], links: ZoneLinks, *,
               waivers: list[Waiver] | None = None, previous: ScanFile | None = None,
               silence_seconds: float | None = None,
               progress: Callable[[str, int, int], None] = lambda zone, done, total: None) -> ScanFile:
    """Gather from every zone and judge. With `previous` (--rescan-failed), send only the tasks
    that its results which did not pass need (rescan.py), keep its other facts zone by zone, and
    judge everything again. `silence_seconds`: how long a zone may stay silent before its
    remaining tasks are given up (default: one task's hard time limit)."""
    inv = ctx.inventory
    started = utcnow()
    resolved, unresolved = resolve_addresses(inv.hosts)
    ctx.addresses.update(resolved)
    with Store(links.database_url) as store:
        store.migrate()
        scan_id = store.begin_scan(ctx.loaded.digest, started)
        app = zone_app(links.broker_url, links.keys, zones=inv.scanner_zones, timeouts=inv.scan.timeouts,
                       broker_ca=links.broker_ca)
        check_broker(app)
        rescan = None if previous is None else plan_zone_rescan(
            ctx, engine.collectors, checks, engine.gather_parts(checks), previous, str(scan_id))
        plan = rescan.plan if rescan else plan_zone_tasks(
            ctx, engine.collectors, engine.registry.collectors_for(checks), engine.gather_parts(checks), str(scan_id))
        control = _start_control_worker(ctx.loaded.path, links)
        try:
            _check_started(control)
            # A task the broker did not take (away past the publish retries) ends as an error
            # that says so, kept as the zone's answer.
            unsent = send_all(app, [task for tasks in plan.values() for task in tasks])
            for task, why in unsent:
                store.put_observation(scan_id, task.host_name, task.vantage, unsent_observation(task, why))
            silence = silence_seconds if silence_seconds is not None else (
                task_time_limits(inv.scan.timeouts)[1] + SILENCE_MARGIN_SECONDS)
            _wait(store, scan_id, plan, silence, progress, alive=lambda: control.poll() is None)
            stopped = control.poll()  # the control worker ended by itself: no report is kept after that
        finally:
            _stop(control)
        phases = {zone: Phase(started=started, ended=utcnow(), hosts=len({t.host_name for t in tasks}))
                  for zone, tasks in plan.items()}
        logins = login_collectors(engine.collectors)
        stored = store.observations(scan_id)
        if rescan:
            stored = rescan.completed(stored, engine.collectors)
        facts = assemble_facts(inv, plan, stored, started, logins, rescan.kept if rescan else None)
        silent = sorted(facts.silent)
        _forget(app, silent)
        reason = f"no scanner answered in zone {', '.join(silent)}" if silent else None
        if stopped is not None and silent:  # the zones then look silent: the cause comes first
            reason = text("control_stopped", code=stopped)
        if unsent:
            reason = reason or text("unsent_reason", count=len(unsent))
        if unresolved:
            reason = reason or "some hosts could not be resolved"
        scan = engine.judged_file(ctx, checks, started, facts.observations, facts.seen_from, waivers, reason, phases,
                                  previous)
        store.end_scan(scan_id, _state(scan))
    return scan.with_summary(engine.settings)


def _forget(app, zones: list[str]) -> int:
    """Take the tasks still waiting in the queues of the zones given up off the broker: nobody
    waits for their answers any more, and a worker that comes back would first probe every host
    for nothing, then answer the next scan (a --rescan-failed) only after them. Returns how many;
    a broker that does not answer now leaves them (the scan is judged all the same)."""
    if not zones:
        return 0
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_CHECK_SECONDS)
            return sum(conn.default_channel.queue_purge(zone_queue(zone)) or 0 for zone in zones)
    except (OperationalError, OSError):
        log.warning("the tasks left for zone %s could not be taken off the broker", ", ".join(zones))
        return 0


def _state(scan: ScanFile) -> ScanState:
    return ScanState.COMPLETE if scan.complete else ScanState.INCOMPLETE


def _wait(store: Store, scan_id, plan, silence: float, progress, alive: Callable[[], bool]) -> None:
    """Poll the store (the answers' keys alone) until every planned task has an answer, a zone is
    silent too long, or the control worker that keeps the answers is gone (`alive`)."""
    expected = {zone: {(t.host_name, t.collector) for t in tasks} for zone, tasks in plan.items()}
    last_news = {zone: time.monotonic() for zone in plan}
    answered: dict[str, int] = {zone: 0 for zone in plan}
    while True:
        keys = store.answered(scan_id)
        now = time.monotonic()
        waiting = False
        for zone, wanted in expected.items():
            got = sum(1 for host, collector in wanted if (host, collector, zone) in keys)
            if got != answered[zone]:
                answered[zone], last_news[zone] = got, now
                progress(zone, got, len(wanted))
            if got < len(wanted) and now - last_news[zone] < silence:
                waiting = True
        if not waiting or not alive():
            return
        time.sleep(POLL_SECONDS)


def _start_control_worker(inventory: Path, links: ZoneLinks) -> subprocess.Popen:
    """`readyscan worker --control` in its own process (Celery keeps worker state per process)."""
    env = dict(os.environ) | {BROKER_ENV: links.broker_url, "READYSCAN_DATABASE_URL": links.database_url}
    env.pop(f"{BROKER_ENV}_FILE", None)
    env.pop("READYSCAN_DATABASE_URL_FILE", None)
    argv = [sys.executable, "-m", "scanner", "worker", str(inventory), "--control", "--keys", str(links.keys.folder)]
    if links.broker_ca:
        argv += ["--broker-ca", str(links.broker_ca)]
    # Its output is not read (a pipe nobody reads would fill and stop it); a failed start says to
    # run the command by hand, where its one sentence shows.
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_ends_with_this_process())


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _ends_with_this_process() -> Callable[[], None] | None:
    """On Linux, what makes the control worker get SIGTERM (its warm shutdown) when the scan that
    started it dies first, even killed with SIGKILL, which leaves no chance to stop it by PID.
    Resolved before the fork, so the child only makes the one system call."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the scan still stops it by PID when it can
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _check_started(control: subprocess.Popen) -> None:
    """Reports wait in the queue until the control worker takes them, so only an early death
    (bad keys, the broker or the database refused) needs catching before the tasks go out."""
    deadline = time.monotonic() + START_CHECK_SECONDS
    while time.monotonic() < deadline:
        if control.poll() is not None:
            raise ControlWorkerFailed(control.returncode)
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    """End the control worker we started, by its PID: a warm shutdown, then a kill."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
