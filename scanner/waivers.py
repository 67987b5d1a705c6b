"""Accepted risks (rủi ro được chấp nhận): a strictly validated waiver file next to the inventory.

A waived check still runs and its result is kept; a failing result covered by an active waiver is
marked with it and stops counting toward the exit code. An expired waiver no longer applies and
is reported loudly.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from scanner.model import Frozen, Result, Status
from scanner.validation import PathProblems, read_text, validate_text


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    check: str = Field(pattern=r"^[a-z0-9_.*]+$", description="check id, or a glob such as tls.cipher.*")
    host: str | None = None  # every host when absent
    target: str | None = None  # e.g. "8443/tcp"; every target when absent
    justification: str = Field(min_length=10, max_length=4000)
    approver: str = Field(min_length=2, max_length=300)
    compensating_control: str | None = Field(default=None, max_length=4000)
    expires: dt.date

    def covers(self, result: Result) -> bool:
        return (fnmatch.fnmatchcase(result.check_id, self.check)
                and self.host in (None, result.host) and self.target in (None, result.target))


class WaiverFile(Frozen):
    waivers: list[Waiver] = Field(default_factory=list)


class WaiverState(Frozen):
    waiver: Waiver
    state: str  # active | expired | unused
    matched: int = 0


def default_waiver_path(inventory_path: Path) -> Path:
    return inventory_path.with_name(f"{inventory_path.stem}.waivers.yaml")


def load_waivers(path: Path, check_ids: set[str], host_names: set[str]) -> list[Waiver]:
    """Read and validate a waiver file; every reference must name a known check and host."""
    _, text = read_text(path)

    def references(doc: WaiverFile) -> PathProblems:
        problems: PathProblems = []
        for i, waiver in enumerate(doc.waivers):
            if not any(fnmatch.fnmatchcase(c, waiver.check) for c in check_ids):
                problems.append((("waivers", i, "check"), f"no check matches '{waiver.check}'"))
            if waiver.host is not None and waiver.host not in host_names:
                problems.append((("waivers", i, "host"), f"unknown host '{waiver.host}'"))
        return problems

    return validate_text(text, str(path), WaiverFile, what="waiver file", doc="README.md (Accepted risks)",
                         cross_checks=references).waivers


def apply_waivers(results: list[Result], waivers: list[Waiver], today: dt.date) -> tuple[list[Result], list[WaiverState]]:
    """Mark failing results covered by an active waiver (pure)."""
    matched = [0] * len(waivers)
    out = []
    for result in results:
        if result.status == Status.FAIL:
            for i, waiver in enumerate(waivers):
                if waiver.covers(result):
                    matched[i] += 1
                    if waiver.expires >= today:
                        result = result.model_copy(update={"waiver": waiver.model_dump(mode="json")})
                        break
        out.append(result)
    states = [WaiverState(waiver=w, matched=matched[i],
                          state="expired" if w.expires < today else ("active" if matched[i] else "unused"))
              for i, w in enumerate(waivers)]
    return out, states
