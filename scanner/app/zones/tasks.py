"""The two tasks of the distributed mode.

`readyscan.zones.collect` runs in a zone's worker: ONE collector for ONE host of the inventory the
worker was started with, and returns the observation, which Celery hands to the task's `link`:
`readyscan.zones.control` on the control queue, where the control side receives it.

Even a correctly signed task cannot make a worker scan something else: `admit` refuses a task
that names another inventory (by digest), another zone, a host or an address outside the
inventory, or a collector the worker does not have. A refusal is logged at WARNING and runs
nothing; it travels back as a report marked `refused`, so the control side learns at once that,
say, a worker still runs last week's inventory, instead of waiting for the zone's time limit.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from celery import Celery
from celery.exceptions import Reject, SoftTimeLimitExceeded
from pydantic import Field, ValidationError, field_validator

from scanner.app.zones.broker import COLLECT_TASK, CONTROL_QUEUE, CONTROL_TASK, zone_queue
from scanner.collectors.base import Collector, ScanContext, ScanOptions, observation
from scanner.i18n import default_catalog
from scanner.inventory import NAME_RE, Host, LoadedInventory
from scanner.model import Frozen, Observation, Outcome, utcnow

log = logging.getLogger(__name__)

SCAN_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$"
DIGEST_RE = r"^[0-9a-f]{64}$"
MAX_PARTS = 64


class ZoneTask(Frozen):
    """What the control side asks of a zone worker: no secret, only names and one address."""

    scan_id: str = Field(pattern=SCAN_ID_RE)
    inventory_digest: str = Field(pattern=DIGEST_RE)
    host_name: str = Field(pattern=NAME_RE)
    address: str
    collector: str = Field(pattern=NAME_RE)
    vantage: str = Field(pattern=NAME_RE)
    # The parts (host probes) the selected checks read; None: all of them.
    parts: tuple[str, ...] | None = Field(default=None, max_length=MAX_PARTS)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return str(ipaddress.ip_address(value))  # the control side resolved names at planning

    @field_validator("parts")
    @classmethod
    def _parts(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not all(re.match(NAME_RE, p) for p in value):
            raise ValueError("a part is a probe name")
        return value


class Refusal(StrEnum):
    """Why a worker refused a signed task (a closed set: the control side maps each)."""

    INVENTORY = "inventory"
    VANTAGE = "vantage"
    HOST = "host"
    ADDRESS = "address"
    COLLECTOR = "collector"


class ZoneReport(Frozen):
    """A zone worker's answer to one task: the observation, or why it refused to gather one."""

    scan_id: str = Field(pattern=SCAN_ID_RE)
    inventory_digest: str = Field(pattern=DIGEST_RE)
    host_name: str = Field(pattern=NAME_RE)
    collector: str = Field(pattern=NAME_RE)
    vantage: str = Field(pattern=NAME_RE)
    observation: Observation
    refused: Refusal | None = None


Resolver = Callable[[str], set[str]]


def resolve_name(name: str) -> set[str]:
    """The addresses a DNS name of the inventory has from this worker's zone (split DNS differs)."""
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return set()


@dataclass
class ZoneScope:
    """What a zone worker was started with, and all it will ever scan."""

    loaded: LoadedInventory
    zone: str
    collectors: Mapping[str, Collector]
    options: ScanOptions = field(default_factory=ScanOptions)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # the worker's own (connect.take_secrets)
    resolve: Resolver = resolve_name

    def host(self, name: str) -> Host | None:
        return next((h for h in self.loaded.inventory.hosts if h.name == name), None)


def _text(key: str, **params) -> str:
    return default_catalog().text(f"zones.{key}", "en", **params)


def admit(scope: ZoneScope, task: ZoneTask) -> tuple[Refusal, str] | None:
    """None when the worker may run the task; else why not (the reason and a sentence)."""
    if task.inventory_digest != scope.loaded.digest:
        return Refusal.INVENTORY, _text("refusal.inventory", theirs=task.inventory_digest[:12],
                                        ours=scope.loaded.digest[:12])
    if task.vantage != scope.zone:
        return Refusal.VANTAGE, _text("refusal.vantage", theirs=task.vantage, ours=scope.zone)
    host = scope.host(task.host_name)
    if host is None:
        return Refusal.HOST, _text("refusal.host", host=task.host_name)
    try:
        allowed = {str(ipaddress.ip_address(host.address))}
    except ValueError:  # the inventory gives a name: what it resolves to from here
        allowed = scope.resolve(host.address)
    if task.address not in allowed:
        return Refusal.ADDRESS, _text("refusal.address", address=task.address, host=task.host_name)
    if task.collector not in scope.collectors:
        return Refusal.COLLECTOR, _text("refusal.collector", collector=task.collector)
    return None


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
        return observation(collector.name, started, Outcome.TIMEOUT, _text("task_time_limit"))
    except Exception as exc:  # a collector bug becomes an observation, as in the engine
        return observation(collector.name, started, Outcome.ERROR, f"collector failed: {type(exc).__name__}: {exc}")
    if not seen:
        return observation(collector.name, started, Outcome.ERROR, _text("no_observation"))
    return seen[-1]


def handle(scope: ZoneScope, task: ZoneTask) -> ZoneReport:
    """Admit, then gather; a refusal is logged and gathers nothing."""
    keys = task.model_dump(include={"scan_id", "inventory_digest", "host_name", "collector", "vantage"})
    refusal = admit(scope, task)
    if refusal is not None:
        reason, sentence = refusal
        log.warning(_text("refused", reason=sentence, host=task.host_name, address=task.address,
                          collector=task.collector, zone=task.vantage))
        now = utcnow()
        return ZoneReport(**keys, refused=reason, observation=Observation(
            collector=task.collector, outcome=Outcome.ERROR, detail=sentence, started=now, ended=now))
    return ZoneReport(**keys, observation=gather(scope, task))


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
            log.warning(_text("malformed", errors=exc.error_count(), host=str(host_name)[:80]))
            raise Reject("malformed task", requeue=False) from None
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
            log.warning(_text("malformed_report", errors=exc.error_count()))
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
