"""The inventory's earlier scans in the results folder, read lightly, for the report's trend.

A scan file holds every fact and its raw evidence (tens of MB for a large survey); the trend needs
only each result's key, status, severity and survey group. `read_history` parses each file once
and keeps just that, so 50 earlier scans cost little more memory than one. Which scans count:
complete ones (an interrupted or checkpoint file says nothing about what it did not reach) of the
same inventory file (matched by its path, as `find_previous` does: an edited inventory is still the
unit's, its digest changes), the newest HISTORY_LIMIT by start time. A file that cannot be read is
skipped and named, never fatal.

Pure apart from reading the folder: `trend_series` and `first_seen` take the records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from scanner.model import Result, Severity, Status
from scanner.scanfile import SCHEMA_VERSION, ScanFile
from scanner.survey import NEUTRAL_STATUSES

HISTORY_LIMIT = 50  # earlier scans the trend reads at most (the figure; bench/trend.py measures it)
Key = tuple[str, ...]  # Result.key


def survey_group(items: tuple[str, ...] | list[str]) -> str:
    """The survey group a result counts under: the first two levels of its first item (XI.3.3.2 ->
    XI.3), or the item itself when it has one level (VIII)."""
    return ".".join(items[0].split(".")[:2]) if items else ""


@dataclass(frozen=True)
class ScanRecord:
    """What the trend keeps of one scan."""

    started: datetime
    path: str  # the scan file ("" for the scan being reported)
    digest: str  # the inventory's digest: it changes when the inventory was edited
    failing: dict[Key, tuple[str, Severity]]  # key -> (survey group, severity) of each failing result
    decided: frozenset[Key]  # keys judged pass or not applicable: a failing run ends there
    seen: frozenset[Key]  # every key the scan has a result for, whatever its status
    ran: frozenset[tuple[str, str]]  # (host, check id) pairs the scan judged


def record_of(started: datetime, path: str, digest: str, results: list[tuple[Key, Status, Severity, str]]) -> ScanRecord:
    failing = {k: (g, sev) for k, st, sev, g in results if st == Status.FAIL}
    decided = frozenset(k for k, st, _, _ in results if st == Status.PASS or st in NEUTRAL_STATUSES)
    seen = frozenset(k for k, *_ in results)
    return ScanRecord(started, path, digest, failing, decided, seen, frozenset((k[0], k[1]) for k in seen))


def scan_record(scan: ScanFile, path: str = "") -> ScanRecord:
    return record_of(scan.started, path, scan.inventory.digest,
                     [(r.key, r.status, r.severity, survey_group(r.survey_items)) for r in scan.all_results()])


class _Slim(BaseModel):
    """The part of a scan file the trend reads. Parsed straight from the file's bytes (pydantic's
    JSON parser): facts and raw evidence are skipped, never built as Python objects."""

    model_config = ConfigDict(extra="ignore")


class _SlimResult(_Slim):
    check_id: str
    host: str
    target: str = ""
    status: Status
    severity: Severity
    survey_items: tuple[str, ...]
    vantage: str | None = None


class _SlimHost(_Slim):
    results: list[_SlimResult] = []


class _SlimInventory(_Slim):
    path: str
    digest: str = ""


class _SlimScan(_Slim):
    schema_version: int
    started: datetime
    complete: bool
    inventory: _SlimInventory
    hosts: dict[str, _SlimHost] = {}
    org_results: list[_SlimResult] = []


def _read(path: Path, inventory_path: str) -> ScanRecord | None:
    """The record of one file, None when it is another inventory's or incomplete; ValueError or
    OSError when it cannot be read."""
    raw = _SlimScan.model_validate_json(path.read_bytes())
    if raw.schema_version != SCHEMA_VERSION:
        raise ValueError(f"not a readyscan scan file of schema version {SCHEMA_VERSION}")
    if raw.inventory.path != inventory_path or not raw.complete:
        return None
    # The key as Result.key makes it, so the trend and the diff name one finding alike.
    results = [(Result.key.fget(r), r.status, r.severity, survey_group(r.survey_items))  # type: ignore[attr-defined]
               for r in [*raw.org_results, *(r for h in raw.hosts.values() for r in h.results)]]
    return record_of(raw.started, str(path), raw.inventory.digest, results)


@dataclass(frozen=True)
class History:
    records: list[ScanRecord]  # earlier scans, oldest first
    skipped: list[str]  # files that could not be read: "name: why"


def read_history(folder: Path, current: ScanFile, exclude: Path | None = None, limit: int = HISTORY_LIMIT) -> History:
    """The complete earlier scans of `current`'s inventory in `folder`, oldest first, at most `limit`."""
    records, skipped = [], []
    for path in sorted(folder.glob("*.json")):
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        try:
            record = _read(path, current.inventory.path)
        except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            skipped.append(f"{path.name}: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}")
            continue
        if record is not None and record.started < current.started:
            records.append(record)
    records.sort(key=lambda r: r.started)
    return History(records[-limit:] if limit else [], skipped)


@dataclass(frozen=True)
class TrendPoint:
    started: datetime
    counts: Counter[tuple[str, Severity]]  # (survey group, severity) -> failing results


def trend_series(records: list[ScanRecord]) -> list[TrendPoint]:
    """Failing results per survey group and severity, one point per scan, in the records' order."""
    return [TrendPoint(r.started, Counter(r.failing.values())) for r in records]


def first_seen(records: list[ScanRecord]) -> dict[Key, datetime]:
    """For each result failing in the last record: the start of the scan that began its current run
    of failures. Walking back, a scan that judged it passing (or not applicable, or ran the check
    and no longer reported it) ends the run, so a finding that was fixed and came back dates from
    its return; a scan that could not decide it (error, unknown, host not reached) neither ends nor
    starts the run."""
    if not records:
        return {}
    out = {}
    for key in records[-1].failing:
        since = records[-1].started
        for rec in reversed(records[:-1]):
            if key in rec.failing:
                since = rec.started
            elif key in rec.decided or (key not in rec.seen and (key[0], key[1]) in rec.ran):
                break
        out[key] = since
    return out
