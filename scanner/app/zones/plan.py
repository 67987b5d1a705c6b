"""Which tasks a scan from several zones sends to which zone (pure; no Celery here).

A host is logged in to once, from the zone that administers it (`Inventory.managing_zone`): its
host probes, only those the selected checks read. Every network collector the selected checks
need runs from every zone a scanner stands in, for every host it applies to: what a port is
depends on where the scan starts, and that difference is what a scan from several zones is for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scanner.app.zones.scope import ZoneTask
from scanner.collectors.base import Collector, ScanContext
from scanner.inventory import Host, Inventory


def logs_in(collector: Collector) -> bool:
    """Whether the collector logs in to a host (its facts are no zone's view: gathered once)."""
    return getattr(collector, "logs_in", False)


def login_collectors(collectors: Mapping[str, Collector]) -> frozenset[str]:
    """The names of the collectors that log in (assemble_facts keeps their facts apart)."""
    return frozenset(name for name, c in collectors.items() if logs_in(c))


def serving_zones(inv: Inventory, collector: Collector, host: Host) -> list[str]:
    """The zones a collector runs from for a host: a login collector from the zone that
    administers it (none when no scanner can), a network one from every zone."""
    if logs_in(collector):
        zone = inv.managing_zone(host)
        return [zone] if zone is not None else []
    return inv.scanner_zones


def record_zone(inv: Inventory, host: Host) -> str:
    """The zone whose network facts are the host's facts of record, those the checks judged once
    (TLS, HTTP, SSH server) read: the zone that administers it, else the first zone listed."""
    return inv.managing_zone(host) or inv.scanner_zones[0]


def zone_task(ctx: ScanContext, host: Host, collector: str, zone: str, parts: Iterable[str] | None,
              scan_id: str) -> ZoneTask:
    """One task: one collector for one host, from one zone (`parts`: the probes to run; None: all)."""
    return ZoneTask(scan_id=scan_id, inventory_digest=ctx.loaded.digest, host_name=host.name,
                    address=ctx.addresses[host.name], collector=collector, vantage=zone,
                    parts=tuple(sorted(parts)) if parts is not None else None)


def plan_zone_tasks(ctx: ScanContext, collectors: Mapping[str, Collector], needed: Iterable[str],
                    parts: Mapping[str, frozenset[str]], scan_id: str) -> dict[str, list[ZoneTask]]:
    """Zone -> its tasks, one per (host, collector). `needed`: the collectors the selected checks
    read; `parts`: for collectors that gather by parts, the parts they read (Engine.gather_parts);
    `ctx.addresses`: each host's address, resolved once by the control side."""
    inv = ctx.inventory
    plan: dict[str, list[ZoneTask]] = {zone: [] for zone in inv.scanner_zones}
    for name in sorted(needed):
        collector = collectors[name]
        for host in inv.hosts:
            if host.name not in ctx.addresses or not collector.applies_to(ctx, host):
                continue
            for zone in serving_zones(inv, collector, host):
                plan[zone].append(zone_task(ctx, host, name, zone, parts_of(collector, name, parts, ctx, host),
                                            scan_id))
    return plan


def parts_of(collector: Collector, name: str, parts: Mapping[str, frozenset[str]], ctx: ScanContext,
             host: Host) -> frozenset[str] | None:
    """The parts a collector that gathers by parts runs on `host` (None: all of them, or it has
    none): only its platform's, so a task names the probes that will run."""
    if not getattr(collector, "gathers_parts", False):
        return None
    found = parts.get(name)
    own = getattr(collector, "parts_of_host", None)
    return own(ctx.inventory, host, found) if found is not None and own is not None else found
