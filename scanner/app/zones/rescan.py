"""`--rescan-failed` for a scan from several zones: which tasks to send again, and which facts of
the previous scan to keep (pure; no Celery here, tested without a broker).

A result says where its facts came from, and so which task gathers them again:
- a per-vantage result (the port and zone checks) names its zone: the network collectors it
  reads are gathered again from that zone only;
- a result judged once read the facts of record, each endpoint as the first zone that reached it
  saw it (`control.facts_of_record`): its network collectors are gathered again from every zone;
- either way, the login collectors it reads run again from the zone that administers the host,
  and for a collector that gathers by parts (host probes), only the parts the unsettled checks
  read; the other parts are kept from the previous observation (`HostCollector.completed`).
Facts the previous scan did not gather (a new host, a check or a zone added since; a zone that was
silent, whose tasks ended `error`; a task cut at its time limit) are gathered again whole, whatever
the results say. Everything else is kept, zone by zone, and everything is judged again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from checks.registry import Check, Registry
from scanner.app.engine import settled
from scanner.app.zones.control import Gathered, StoredFacts
from scanner.app.zones.plan import login_collectors, logs_in, parts_of, serving_zones, zone_task
from scanner.app.zones.scope import ZoneTask
from scanner.collectors.base import Collector, PartialGather, ScanContext
from scanner.inventory import Host, Inventory
from scanner.model import Observation, Outcome
from scanner.scanfile import HostRecord, ScanFile

Need = tuple[str, str, str]  # (host, collector, zone)
EVERYTHING = None  # a need of every part the selected checks read, not only some checks'
# The scanner could not gather (a silent zone's tasks, a task's time limit, a collector's failure):
# asked again whatever the results say, as a fact never gathered is. An unreachable host is an
# observation of the network, asked again only when a result needs it.
NOT_GATHERED = frozenset({Outcome.ERROR, Outcome.TIMEOUT})


@dataclass(frozen=True)
class ZoneRescan:
    """What a rescan from several zones sends, and what it keeps."""

    plan: dict[str, list[ZoneTask]]  # zone -> its tasks; only zones with something to gather again
    kept: Gathered  # the previous scan's facts, for the hosts still in the inventory
    partial: dict[Need, PartialGather]  # tasks that gather some parts; the others come from before

    def completed(self, stored: StoredFacts, collectors: Mapping[str, Collector]) -> StoredFacts:
        """The workers' answers, those of a partial task completed with the previous parts."""
        out = {host: dict(answers) for host, answers in stored.items()}
        for (host, name, zone), partial in self.partial.items():
            fresh = out.get(host, {}).get((name, zone))
            if fresh is not None:
                out[host][(name, zone)] = collectors[name].completed(fresh, partial)  # type: ignore[attr-defined]
        return out


def plan_zone_rescan(ctx: ScanContext, collectors: Mapping[str, Collector], checks: list[Check],
                     parts: Mapping[str, frozenset[str]], previous: ScanFile, scan_id: str) -> ZoneRescan:
    """The tasks that gather again what the results of `previous` that did not pass read, zone by
    zone (`parts`: Engine.gather_parts of the checks; `ctx.addresses`: resolved once)."""
    inv = ctx.inventory
    logins = login_collectors(collectors)
    needs = _needs(ctx, collectors, checks, previous, logins)
    plan: dict[str, list[ZoneTask]] = {}
    partial: dict[Need, PartialGather] = {}
    for need in sorted(needs):
        host_name, name, zone = need
        collector = collectors[name]
        gather = parts_of(collector, name, parts, ctx, inv.host(host_name))
        before = _previous(previous.hosts.get(host_name), name, zone, logins)
        causes = needs[need]
        if gather is not None and causes is not EVERYTHING and before is not None and before.outcome == Outcome.OK:
            some = Registry.parts_for(causes, name)
            if some:
                partial[need] = PartialGather(some, before)
                gather = some
        plan.setdefault(zone, []).append(zone_task(ctx, inv.host(host_name), name, zone, gather, scan_id))
    ordered = {zone: plan[zone] for zone in inv.scanner_zones if zone in plan}
    return ZoneRescan(plan=ordered, kept=kept_facts(previous, inv, logins), partial=partial)


def _needs(ctx: ScanContext, collectors: Mapping[str, Collector], checks: list[Check], previous: ScanFile,
           logins: frozenset[str]) -> dict[Need, set[Check] | None]:
    """(host, collector, zone) -> the unsettled checks that read it there, or EVERYTHING for facts
    the previous scan did not gather."""
    inv = ctx.inventory
    needs: dict[Need, set[Check] | None] = {}
    for host in inv.hosts:
        if host.name not in ctx.addresses:
            continue
        record = previous.hosts.get(host.name)
        for name in sorted(Registry.collectors_for(checks)):  # not gathered before: gather whole
            collector = collectors[name]
            if collector.applies_to(ctx, host):
                for zone in serving_zones(inv, collector, host):
                    before = _previous(record, name, zone, logins)
                    if before is None or before.outcome in NOT_GATHERED:
                        needs[(host.name, name, zone)] = EVERYTHING
        if record is None:
            continue
        for found, zones in _unsettled(checks, record, inv, host):
            if (check := found.for_platform(inv.platform_of(host))) is None:
                continue
            for name in check.collectors:
                collector = collectors[name]
                if not collector.applies_to(ctx, host):
                    continue
                for zone in serving_zones(inv, collector, host) if logs_in(collector) else zones:
                    if needs.get((host.name, name, zone), set()) is not EVERYTHING:
                        needs.setdefault((host.name, name, zone), set()).add(check)
    return needs


def kept_facts(previous: ScanFile, inv: Inventory, logins: frozenset[str]) -> Gathered:
    """The previous scan's facts of the hosts and zones still in the inventory: the login facts,
    and the network facts per zone (the facts of record are worked out again from these)."""
    out = Gathered()
    for host in inv.hosts:
        record = previous.hosts.get(host.name)
        if record is None:
            continue
        out.observations[host.name] = {name: obs for name, obs in record.observations.items() if name in logins}
        out.seen_from[host.name] = {zone: dict(facts) for zone, facts in record.seen_from.items()
                                    if zone in inv.scanner_zones}
    return out


def _previous(record: HostRecord | None, collector: str, zone: str, logins: frozenset[str]) -> Observation | None:
    """The previous scan's observation a task of `collector` from `zone` would replace."""
    if record is None:
        return None
    if collector in logins:
        return record.observations.get(collector)
    return record.seen_from.get(zone, {}).get(collector)


def _unsettled(checks: Iterable[Check], record: HostRecord, inv: Inventory, host: Host) -> list[tuple[Check, list[str]]]:
    """The host checks to judge again on a host, each with the zones whose network facts its
    unsettled results read: a per-vantage result its own zone, a result judged once every zone (its
    endpoints may each come from another); a check with no result there (added since) every zone."""
    verdicts: dict[tuple[str, str | None], bool] = {}
    for result in record.results:
        key = (result.check_id, result.vantage)
        verdicts[key] = verdicts.get(key, True) and settled(result)
    out = []
    for check in checks:
        if check.scope != "host":
            continue
        judged = {vantage: ok for (check_id, vantage), ok in verdicts.items() if check_id == check.id}
        # A result judged once read each endpoint from whichever zone reached it (facts_of_record):
        # every zone is asked again, and the endpoints are chosen again from the fresh answers.
        zones = list(inv.scanner_zones) if not judged else [
            zone for vantage, ok in judged.items() if not ok
            for zone in (inv.scanner_zones if vantage is None else [vantage])]
        zones = [zone for zone in dict.fromkeys(zones) if zone in inv.scanner_zones]
        if zones:
            out.append((check, zones))
    return out
