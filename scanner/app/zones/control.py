"""The control side of a scan from several zones: what the control worker does with each zone's
report (keep it in the store), and how the stored reports become the facts the engine judges.

`assemble_facts` is pure. Every task of the plan gets an observation: the one a zone sent back,
or, for a task no worker answered, an error that says which zone was silent (its hosts end
`error`, never `pass`). A host's login facts come from the zone that administers it; its network
facts are kept per zone (`seen_from`), and the checks judged once (TLS, HTTP, SSH server) read
each endpoint as the first zone that reached it saw it (`facts_of_record`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from scanner.app.zones.plan import record_zone
from scanner.app.zones.scope import ZoneReport, ZoneTask
from scanner.facts.ports import HostPortScan
from scanner.inventory import Inventory
from scanner.model import Observation, Outcome

log = logging.getLogger(__name__)
PORTS = HostPortScan.COLLECTOR
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
        order = [home, *inventory.scanner_zones] if home else list(inventory.scanner_zones)
        out.observations.setdefault(host.name, {}).update(facts_of_record(zones, order))
    return out


def facts_of_record(zones: Mapping[str, Mapping[str, Observation]], order: Sequence[str]) -> dict[str, Observation]:
    """The network facts the checks judged once read (TLS, HTTP, SSH server), from one host's
    facts per zone. A service's TLS or HTTP configuration does not depend on who looks, but only a
    zone that reaches its port can see it: each endpoint is taken from the first zone in `order`
    (the administering zone first) whose port scan found the port open, and says so
    (`seen_from`); an endpoint no zone reached keeps the first zone's attempt. The rest (the port
    scan itself) is the first zone's."""
    order = list(dict.fromkeys(zone for zone in order if zone in zones))
    if not order:
        return {}
    first = zones[order[0]]
    open_from = {zone: _open_ports(zones[zone].get(PORTS)) for zone in order}
    record = dict(first)
    for collector, obs in first.items():
        endpoints = _endpoints(obs)
        if collector == PORTS or endpoints is None:
            continue
        merged = []
        for endpoint in endpoints:
            key = (endpoint.get("port"), endpoint.get("proto", "tcp"))
            seen = next(((zone, theirs) for zone in order if key in open_from[zone]
                         for theirs in _endpoints(zones[zone].get(collector)) or ()
                         if (theirs.get("port"), theirs.get("proto", "tcp")) == key), None)
            zone, chosen = seen if seen else (order[0], endpoint)
            merged.append({**chosen, "seen_from": zone})
        record[collector] = obs.model_copy(update={"data": {**obs.data, "endpoints": merged}})
    return record


def _endpoints(obs: Observation | None) -> list[dict] | None:
    if obs is None or obs.outcome != Outcome.OK or not isinstance(obs.data, dict):
        return None
    endpoints = obs.data.get("endpoints")
    return endpoints if isinstance(endpoints, list) else None


def _open_ports(obs: Observation | None) -> set[tuple[int, str]]:
    if obs is None or obs.outcome != Outcome.OK:
        return set()
    try:
        scan = HostPortScan.model_validate(obs.data)
    except ValueError:  # a port scan that does not parse opens nothing
        return set()
    return {(fact.port, fact.proto) for fact in scan.open_ports()}
