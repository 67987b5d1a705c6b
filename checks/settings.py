"""The checks' data files (checks/data/*.yaml), typed: tables and limits are never literals
inside checks, and each value carries the source it was taken from. The thresholds by security
level, which the scan summary reads too, are scanner.thresholds."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

from scanner.model import Frozen

DATA = Path(__file__).resolve().parent / "data"


class Sourced(Frozen):
    """A number from a data file, with where it comes from (shown as the evidence's basis)."""

    value: int
    source: str


M = TypeVar("M", bound=BaseModel)


@cache
def load_data(name: str, model: type[M]) -> M:
    """An area's own data file, checks/data/<name>.yaml, validated against its typed model (read
    once per process)."""
    return model.model_validate(yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8")))
