"""The two tasks of the distributed mode.

`readyscan.zones.collect` runs in a zone's worker: ONE collector for ONE host of the inventory the
worker was started with, and returns the observation, which Celery hands to the task's `link`:
`readyscan.zones.control` on the control queue, where the control side receives it.

A task the worker does not admit (scope.admit) is logged at WARNING and runs nothing; it travels
back as a report marked `refused`, so the control side learns at once that, say, a worker still
runs last week's inventory, instead of waiting for the zone's time limit.

Every delivery of a collect task is counted in the broker (its id is kept across redeliveries).
With acks_late and reject_on_worker_lost a task whose run kills its pool process goes back to the
queue; past MAX_DELIVERIES deliveries the worker reports an error for that host and collector
instead of running it again, so a host that reliably kills the task cannot loop a zone forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from celery import Celery
from celery.exceptions import Reject, SoftTimeLimitExceeded
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from scanner.app.zones.broker import (
    COLLECT_TASK,
    CONTROL_QUEUE,
    CONTROL_TASK,
    MAX_DELIVERIES,
    deliveries_expiry,
    deliveries_key,
    over_delivery_cap,
    zone_queue,
)
from scanner.app.zones.scope import ZoneReport, ZoneScope, ZoneTask, admit, text
from scanner.collectors.base import ScanContext, observation
from scanner.model import Observation, Outcome, utcnow

log = logging.getLogger(__name__)


def gather(scope: ZoneScope, task: ZoneTask) -> Observation:
    """Run the task's collector on its host (admitted beforehand); never raises, as in the engine."""
    host = scope.host(task.host_name)
    collector = scope.collectors[task.collector]
    assert host is not None
    started = utcnow()
    ctx = ScanContext(scope.loaded, scope.options, addresses={host.name: task.address}, secrets=scope.secrets)
    if task.parts is not None:
        ctx.parts[collector.name] = frozenset(task.parts)
    if not collector.applies_to(ctx, host):
        return observation(collector.name, started, Outcome.NOT_COLLECTED,
                           "not applicable to this host (transport or services)")
    seen: list[Observation] = []

    def sink(host_name: str, obs: Observation) -> None:
        if host_name == host.name:
            seen.append(obs)

    try:
        collector.collect(ctx, [host], sink)
    except SoftTimeLimitExceeded:
        ctx.stop.set()  # the collector's threads stop at their next unit of work
        return observation(collector.name, started, Outcome.TIMEOUT, text("task_time_limit"))
    except Exception as exc:  # a collector bug becomes an observation, as in the engine
        return observation(collector.name, started, Outcome.ERROR, f"collector failed: {type(exc).__name__}: {exc}")
    if not seen:
        return observation(collector.name, started, Outcome.ERROR, text("no_observation"))
    return seen[-1]


def handle(scope: ZoneScope, task: ZoneTask) -> ZoneReport:
    """Admit, then gather; a refusal is logged and gathers nothing."""
    refusal = admit(scope, task)
    if refusal is not None:
        reason, sentence = refusal
        log.warning(text("refused", reason=sentence, host=task.host_name, address=task.address,
                          collector=task.collector, zone=task.vantage))
        return _error_report(task, sentence).model_copy(update={"refused": reason})
    return ZoneReport(**_report_keys(task), observation=gather(scope, task))


def _report_keys(task: ZoneTask) -> dict:
    return task.model_dump(include={"scan_id", "inventory_digest", "host_name", "collector", "vantage"})


def _error_report(task: ZoneTask, detail: str) -> ZoneReport:
    """An error for the task's host and collector, without running anything."""
    now = utcnow()
    return ZoneReport(**_report_keys(task), observation=Observation(collector=task.collector, outcome=Outcome.ERROR, detail=detail,
                                                      started=now, ended=now))


def count_delivery(app: Celery, task_id: str) -> int | None:
    """This delivery's number for the task (1 the first time), counted in the broker, which every
    worker of the zone shares and which outlives a worker killed whole. None when the broker
    cannot count now: the task then runs, as it would without the cap."""
    key = deliveries_key(task_id)
    try:
        with app.pool.acquire(block=True, timeout=10) as conn:
            pipe = conn.default_channel.client.pipeline()
            pipe.incr(key)
            pipe.expire(key, deliveries_expiry(app.conf.task_time_limit))
            count, _ = pipe.execute()
        return int(count)
    except Exception as exc:  # the broker's client raises its own errors, not kombu's
        log.warning(text("delivery_not_counted", reason=f"{type(exc).__name__}: {exc}"))
        return None


def register_zone_task(app: Celery, scope: ZoneScope):
    """The collect task, bound to this worker's scope."""

    @app.task(name=COLLECT_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def collect(self, inventory_digest: str, host_name: str, address: str, collector: str, vantage: str,
                scan_id: str, parts: list[str] | None = None) -> dict:
        try:
            task = ZoneTask(scan_id=scan_id, inventory_digest=inventory_digest, host_name=host_name,
                            address=address, collector=collector, vantage=vantage,
                            parts=tuple(parts) if parts is not None else None)
        except ValidationError as exc:
            log.warning(text("malformed", errors=exc.error_count(), host=str(host_name)[:80]))
            raise Reject("malformed task", requeue=False) from None
        deliveries = count_delivery(self.app, self.request.id)
        if deliveries is not None and over_delivery_cap(deliveries):
            detail = text("delivery_cap", deliveries=deliveries - 1, cap=MAX_DELIVERIES)
            log.warning(text("delivery_cap_log", host=task.host_name, collector=task.collector, detail=detail))
            return _error_report(task, detail).model_dump(mode="json")
        # Returned, not stored (no result backend): Celery passes it to the link, a control task.
        return handle(scope, task).model_dump(mode="json")

    return collect


Receiver = Callable[[ZoneReport], None]


def register_control_task(app: Celery, receive: Receiver):
    """The control task: each report reaches `receive` (the control side's store, later)."""

    @app.task(name=CONTROL_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def control(report: dict) -> None:
        try:
            parsed = ZoneReport.model_validate(report)
        except ValidationError as exc:
            log.warning(text("malformed_report", errors=exc.error_count()))
            raise Reject("malformed report", requeue=False) from None
        receive(parsed)

    return control


def send_collect(app: Celery, task: ZoneTask):
    """Queue a task for its zone's worker, its answer linked to the control queue."""
    reply = app.signature(CONTROL_TASK, queue=CONTROL_QUEUE, routing_key=CONTROL_QUEUE)
    queue = zone_queue(task.vantage)
    kwargs = task.model_dump(mode="json")
    if task.parts is None:
        kwargs.pop("parts")
    return app.send_task(COLLECT_TASK, kwargs=kwargs, queue=queue, routing_key=queue, link=reply)


def send_all(app: Celery, tasks: Iterable[ZoneTask]) -> list[tuple[ZoneTask, str]]:
    """Queue every task (each publication retries through a broker restart); the tasks the broker
    did not take, each with the reason. After one failure the rest are not tried: the broker has
    been away longer than the retry window, and each attempt would wait that long again."""
    unsent: list[tuple[ZoneTask, str]] = []
    for task in tasks:
        if unsent:
            unsent.append((task, unsent[0][1]))
            continue
        try:
            send_collect(app, task)
        except (OperationalError, OSError) as exc:
            unsent.append((task, str(exc) or type(exc).__name__))
    return unsent


def unsent_observation(task: ZoneTask, reason: str) -> Observation:
    """What stands for a task the broker did not take: an error that says so, from its zone."""
    return _error_report(task, text("unsent", reason=reason)).observation.model_copy(update={"vantage": task.vantage})
