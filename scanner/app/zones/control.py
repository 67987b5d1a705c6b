"""The control side of a scan from several zones: what the control worker does with each zone's
report (keep it in the store), and how the stored reports become the facts the engine judges.

`assemble_facts` is pure. Every task of the plan gets an observation: the one a zone sent back,
or, for a task no worker answered, an error that says which zone was silent (its hosts end
`error`, never `pass`). A host's login facts come from the zone that administers it; its network
facts are kept per zone (`seen_from`), and the zone that administers the host (else the first
zone with scanners) gives the facts of record that the checks judged once (TLS, HTTP, SSH
server) read.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scanner.app.zones.plan import record_zone
from scanner.app.zones.scope import ZoneReport, ZoneTask
from scanner.inventory import Inventory
from scanner.model import Observation, Outcome

log = logging.getLogger(__name__)
StoredFacts = Mapping[str, Mapping[tuple[str, str], Observation]]  # host -> (collector, zone) -> observation


def store_report(put: Callable[[uuid.UUID, str, str, Observation], bool]) -> Callable[[ZoneReport], None]:
    """The control worker's receiver: each report into the store (Store.put_observation), the
    observation marked with its zone. A report the store cannot take is logged, not raised: a
    raised error would lose the report silently inside Celery."""
    def receive(report: ZoneReport) -> None:
        try:
            put(uuid.UUID(report.scan_id), report.host_name, report.vantage,
                report.observation.model_copy(update={"vantage": report.vantage}))
        except Exception:  # the store's or the database's, mid-statement: logged with its traceback
            log.exception("report of %s/%s from zone %s not stored", report.host_name, report.collector,
                          report.vantage)
    return receive


@dataclass
class Gathered:
    """The facts of a scan from several zones, as the engine judges them."""

    observations: dict[str, dict[str, Observation]] = field(default_factory=dict)  # judged once
    seen_from: dict[str, dict[str, dict[str, Observation]]] = field(default_factory=dict)  # host -> zone -> facts
    silent: dict[str, int] = field(default_factory=dict)  # zone -> tasks no worker answered


def assemble_facts(inventory: Inventory, plan: Mapping[str, list[ZoneTask]], stored: StoredFacts,
                   started: datetime, logins: frozenset[str], kept: Gathered | None = None) -> Gathered:
    """`logins`: the collectors that log in to a host (`logs_in`): their facts are no zone's view.
    `kept` (--rescan-failed): the previous scan's facts, which the answers to `plan` replace."""
    out = Gathered(observations={host: dict(facts) for host, facts in kept.observations.items()},
                   seen_from={host: {zone: dict(facts) for zone, facts in zones.items()}
                              for host, zones in kept.seen_from.items()}) if kept else Gathered()
    for zone, tasks in plan.items():
        for task in tasks:
            obs = stored.get(task.host_name, {}).get((task.collector, zone))
            if obs is None:
                out.silent[zone] = out.silent.get(zone, 0) + 1
                obs = Observation(collector=task.collector, outcome=Outcome.ERROR, started=started, ended=started,
                                  detail=f"no scanner answered in zone {zone}", vantage=zone)
            if task.collector in logins:
                out.observations.setdefault(task.host_name, {})[task.collector] = obs
            else:
                out.seen_from.setdefault(task.host_name, {}).setdefault(zone, {})[task.collector] = obs
    for host in inventory.hosts:
        zones = out.seen_from.get(host.name, {})
        home = record_zone(inventory, host)
        record = zones.get(home) if home in zones else next(iter(zones.values()), {})
        out.observations.setdefault(host.name, {}).update(record)
    return out
