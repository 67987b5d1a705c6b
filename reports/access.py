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


def _listed(parts: Sequence[str]) -> str:
    more = f" (+{len(parts) - LISTED})" if len(parts) > LISTED else ""
    return "; ".join(parts[:LISTED]) + more


def _port(s: ServiceReach) -> str:
    return f"{s.host} {s.target}" + (f" ({s.kind})" if s.kind else "")


def _violation(s: ServiceReach, texts: Texts) -> str:
    if not s.declared:
        return texts.t("reach_rows.limits.cell_undeclared", port=_port(s))
    return texts.t("reach_rows.limits.cell", port=_port(s), allowed=", ".join(s.allowed_zones))


def _zone_lines(key: str, z: ZoneRow, texts: Texts) -> list[str]:
    seen = seen_from(z.zone, texts)
    if not z.observed and not z.flagged:
        return [texts.t("reach_rows.not_observed", seen=seen, n=z.unobserved)] if z.unobserved else \
            [texts.t(f"reach_rows.{key}.none", seen=seen)]
    if key == "services":
        line = texts.t("reach_rows.services.undeclared" if z.flagged else "reach_rows.services.clean", seen=seen,
                       open=z.open, total=z.observed, ports=_listed([_port(s) for s in z.flagged]))
    elif key == "limits":
        line = texts.t("reach_rows.limits.violations", seen=seen, count=len(z.flagged),
                       cells=_listed([_violation(s, texts) for s in z.flagged])) if z.flagged else \
            texts.t("reach_rows.limits.clean", seen=seen, n=z.observed) if z.zone != NOT_ZONED else \
            texts.t("reach_rows.limits.unzoned", seen=seen, n=z.observed)
    elif z.managing:
        line = texts.t("reach_rows.management.managing", seen=seen, open=z.open, total=z.observed)
    elif z.flagged:
        line = texts.t("reach_rows.management.violations", seen=seen, count=len(z.flagged),
                       ports=_listed([_port(s) for s in z.flagged]))
    else:
        line = texts.t("reach_rows.management.clean" if not z.open else "reach_rows.management.reachable", seen=seen,
                       open=z.open, total=z.observed)
    partly = [texts.t("reach_rows.partly_observed", seen=seen, n=z.unobserved)] if z.unobserved else []
    return [line, *partly]


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
