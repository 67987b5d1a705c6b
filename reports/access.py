"""The XI.3.1 table's rows ("Từ bên trong mạng") in words, from the reachability matrix the scan
recorded: for each row the box to tick (Có, Không or none) and, zone by zone, what the scanners
saw. The answers come from scanner.reachability.access_rows; this module only says them, in the
catalog's sentences (report.reach_rows). The filled survey and the HTML report both use it.

Where the scan file has no matrix that saw anything (a file from before it, no port scan), there is
nothing to say here and the rows keep the answers of their checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reports import Texts
from scanner.inventory import Inventory
from scanner.reachability import NOT_ZONED, AccessRowFacts, ServiceReach, ZoneRow, access_rows
from scanner.scanfile import ScanFile
from scanner.survey import Answer

LISTED = 12  # cells named in one sentence; the rest are counted ("+3")


@dataclass(frozen=True)
class RowWords:
    key: str  # services | limits | management
    tick: Answer | None  # YES (Có), NO (Không), None: no box, a person settles it
    lines: tuple[tuple[str, Literal["scan", "missing"]], ...]  # sentence, and whether it is a fact or a to-do


def seen_from(zone: str, texts: Texts) -> str:
    """"từ vùng dmz", or where a scanner of undeclared zone stood."""
    return texts.t("vantage.from", zone=zone) if zone != NOT_ZONED else texts.t("reach_rows.unzoned")


def _ports(services: Sequence[ServiceReach]) -> str:
    """Ports by host: "exposed-01 23/tcp (telnet), 3306/tcp (mysql); dbhost-01 22/tcp (ssh)"."""
    by_host: dict[str, list[str]] = {}
    for s in services[:LISTED]:
        by_host.setdefault(s.host, []).append(s.target + (f" ({s.kind})" if s.kind else ""))
    more = f" (+{len(services) - LISTED})" if len(services) > LISTED else ""
    return "; ".join(f"{host} {', '.join(ports)}" for host, ports in by_host.items()) + more


def _violations(services: Sequence[ServiceReach], texts: Texts) -> list[str]:
    """The violating cells of a zone, one line per set of zones allowed (undeclared: none)."""
    groups: dict[tuple[str, ...] | None, list[ServiceReach]] = {}
    for s in services:
        groups.setdefault(s.allowed_zones if s.declared else None, []).append(s)
    return [texts.t("reach_rows.limits.group_undeclared", ports=_ports(group)) if allowed is None
            else texts.t("reach_rows.limits.group", allowed=", ".join(allowed), ports=_ports(group))
            for allowed, group in groups.items()]


def _zone_lines(key: str, z: ZoneRow, texts: Texts) -> list[str]:
    seen = seen_from(z.zone, texts)
    if not z.observed and not z.flagged:
        return [texts.t("reach_rows.not_observed", seen=seen, n=z.unobserved)] if z.unobserved else \
            [texts.t(f"reach_rows.{key}.none", seen=seen)]
    if key == "services":
        lines = [texts.t("reach_rows.services.undeclared" if z.flagged else "reach_rows.services.clean", seen=seen,
                         open=z.open, total=z.observed, ports=_ports(z.flagged))]
    elif key == "limits" and z.flagged:
        lines = [texts.t("reach_rows.limits.violations", seen=seen, count=len(z.flagged)),
                 *_violations(z.flagged, texts)]
    elif key == "limits":
        lines = [texts.t("reach_rows.limits.clean" if z.zone != NOT_ZONED else "reach_rows.limits.unzoned",
                         seen=seen, n=z.observed)]
    elif z.managing:
        lines = [texts.t("reach_rows.management.managing", seen=seen, open=z.open, total=z.observed)]
    elif z.flagged:
        lines = [texts.t("reach_rows.management.violations", seen=seen, count=len(z.flagged), ports=_ports(z.flagged))]
    else:
        lines = [texts.t("reach_rows.management.clean" if not z.open else "reach_rows.management.reachable",
                         seen=seen, open=z.open, total=z.observed)]
    partly = [texts.t("reach_rows.partly_observed", seen=seen, n=z.unobserved)] if z.unobserved else []
    return [*lines, *partly]


def row_words(row: AccessRowFacts, texts: Texts) -> RowWords:
    lines: list[tuple[str, Literal["scan", "missing"]]] = []
    if row.unsettled:
        lines.append((texts.t(f"reach_rows.unsettled.{row.unsettled}"), "missing"))
    if row.managing_zones:
        lines.append((texts.t("reach_rows.management.zones", zones=", ".join(row.managing_zones),
                              hosts=", ".join(row.jump_hosts)), "scan"))
    lines += [(line, "scan") for z in row.zones for line in _zone_lines(row.key, z, texts)]
    tick = row.answer if row.answer in (Answer.YES, Answer.NO) else None
    return RowWords(row.key, tick, tuple(lines))


def access_words(scan: ScanFile, inv: Inventory | None, texts: Texts) -> dict[str, RowWords] | None:
    """The rows' words by row key, or None when the scan file's matrix cannot answer them."""
    rows = access_rows(scan.summarized().reachability, inv)
    return {key: row_words(row, texts) for key, row in rows.items()} if rows is not None else None
