"""The scan file: the versioned JSON record of one scan (facts and results), written atomically.

It holds the evidence as well as the verdicts, so reports can be re-rendered and checks re-run
offline. Written to a temporary file in the same folder, fsynced, then renamed over the target:
a crash, kill -9 or full disk never leaves a half-written file, and the previous one survives.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scanner import __version__
from scanner.inventory import Inventory
from scanner.model import Observation, Result
from scanner.summary import ScanSummary, summarize
from scanner.survey import ItemAnswer, Row, SurveyItem, answer_items, answer_row, load_survey, row_key
from scanner.thresholds import load_thresholds
from scanner.waivers import WaiverState

SCHEMA_VERSION = 1


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    started: datetime
    ended: datetime | None = None
    hosts: int = 0


class HostRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str
    zone: str
    # The facts judged once: the host collector's, and the network collectors' of a one-zone scan.
    observations: dict[str, Observation] = Field(default_factory=dict)
    # A scan from several zones: zone -> collector -> the network facts seen from that zone; the
    # port and zone checks are judged once per zone from these.
    seen_from: dict[str, dict[str, Observation]] = Field(default_factory=dict)
    results: list[Result] = Field(default_factory=list)


class InventoryRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    digest: str
    data: dict[str, Any]  # the validated inventory: it holds names of secrets, never secrets


class ToolRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "readyscan"
    version: str = __version__


class ScanFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    tool: ToolRecord = Field(default_factory=ToolRecord)
    started: datetime
    ended: datetime | None = None
    complete: bool
    incomplete_reason: str | None = None
    checks_selected: list[str] = Field(default_factory=list)
    rescan_of: datetime | None = None  # start time of the scan this one re-ran the failures of
    inventory: InventoryRecord
    phases: dict[str, Phase] = Field(default_factory=dict)
    hosts: dict[str, HostRecord] = Field(default_factory=dict)
    org_results: list[Result] = Field(default_factory=list)
    waivers: list[WaiverState] = Field(default_factory=list)
    # What the reports read besides the results (OS, versions, capacity, dated ends, thresholds and
    # their basis), fixed when the scan is written; None in a checkpoint or a file from before.
    summary: ScanSummary | None = None

    def all_results(self) -> list[Result]:
        return list(self.org_results) + [r for h in self.hosts.values() for r in h.results]

    def summarized(self) -> ScanSummary:
        """The recorded summary, or one worked out now for a file that has none."""
        return self.summary if self.summary is not None else self.with_summary(load_thresholds()).summary

    def summarized_scan(self) -> ScanFile:
        """This scan with a summary to read: itself, or a copy with one worked out now. A renderer
        takes it once, so an old file's summary is not worked out again for every part."""
        return self if self.summary is not None else self.with_summary(load_thresholds())

    def item_answers(self, results: Iterable[Result] | None = None) -> list[ItemAnswer]:
        """The survey items with the answers the scan recorded and the results under them
        (`results`: the scan's own, in the order the caller lists them)."""
        recorded = self.summarized().answers
        return [replace(a, answer=recorded.get(a.item.id, a.answer))
                for a in answer_items(load_survey(), self.all_results() if results is None else results)]

    def row_answer(self, item: SurveyItem, row: Row, results: Iterable[Result]) -> ItemAnswer:
        """A table row of an item with the answer the scan recorded for it."""
        answer = answer_row(item, row, results)
        return replace(answer, answer=self.summarized().row_answers.get(row_key(item, row), answer.answer))

    def with_summary(self, thresholds) -> ScanFile:
        """A copy with its summary worked out from its facts and results (`thresholds`: the
        scanner.thresholds.Thresholds it was judged with)."""
        try:
            inventory = Inventory.model_validate(self.inventory.data)
        except ValidationError:  # a file whose inventory today's model no longer reads
            inventory = None
        return self.model_copy(update={"summary": summarize(
            {name: rec.observations for name, rec in self.hosts.items()}, self.all_results(), thresholds,
            self.complete, inventory, {name: rec.seen_from for name, rec in self.hosts.items() if rec.seen_from})})


class ScanFileError(Exception):
    pass


def write_atomic(path: Path, payload: bytes | Iterable[bytes], mode: int = 0o600) -> None:
    """Replace `path` with `payload` (bytes, or pieces of it) all at once, or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            for piece in [payload] if isinstance(payload, bytes) else payload:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save(scan: ScanFile, path: Path) -> None:
    try:
        # Bytes straight from the serializer: a 100-host scan file is tens of MB, and a str
        # encoded afterwards would be held twice.
        write_atomic(path, ScanFile.__pydantic_serializer__.to_json(scan, indent=1))
    except OSError as exc:
        raise ScanFileError(f"cannot write scan file {path}: {exc.strerror or exc}") from None


def load(path: Path) -> ScanFile:
    try:
        raw = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ScanFileError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise ScanFileError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
        raise ScanFileError(f"{path}: not a readyscan scan file of schema version {SCHEMA_VERSION}")
    try:
        return ScanFile.model_validate(raw)
    except ValueError as exc:
        raise ScanFileError(f"{path}: invalid scan file: {exc}") from None
