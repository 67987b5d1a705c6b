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


def plan_zone_tasks(ctx: ScanContext, collectors: Mapping[str, Collector], needed: Iterable[str],
                    parts: Mapping[str, frozenset[str]], scan_id: str) -> dict[str, list[ZoneTask]]:
    """Zone -> its tasks, one per (host, collector). `needed`: the collectors the selected checks
    read; `parts`: for collectors that gather by parts, the parts they read (Engine.gather_parts);
    `ctx.addresses`: each host's address, resolved once by the control side."""
    inv = ctx.inventory
    plan: dict[str, list[ZoneTask]] = {zone: [] for zone in inv.scanner_zones}
    for name in sorted(needed):
        collector = collectors[name]
        by_parts, logs_in = getattr(collector, "gathers_parts", False), getattr(collector, "logs_in", False)
        for host in inv.hosts:
            if host.name not in ctx.addresses or not collector.applies_to(ctx, host):
                continue
            # A collector that logs in runs once, from the zone that administers the host; a
            # network one from every zone.
            zones = [inv.managing_zone(host)] if logs_in else inv.scanner_zones
            for zone in zones:
                if zone is None:
                    continue
                plan[zone].append(ZoneTask(
                    scan_id=scan_id, inventory_digest=ctx.loaded.digest, host_name=host.name,
                    address=ctx.addresses[host.name], collector=name, vantage=zone,
                    parts=tuple(sorted(parts[name])) if by_parts and name in parts else None))
    return plan
