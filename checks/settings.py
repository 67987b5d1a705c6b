"""The checks' data files (checks/data/*.yaml), typed: thresholds and tables are never literals
inside checks, and each value carries the source it was taken from."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

from scanner.model import Frozen

DATA = Path(__file__).resolve().parent / "data"


class TlsThresholds(Frozen):
    cert_expiry_warn_days: int
    min_rsa_bits: int
    min_ec_bits: int
    hsts_min_max_age: int


class Thresholds(Frozen):
    basis: dict[str, str]
    population_db_min_level: int
    log_retention_days_by_level: dict[int, int | None]
    log_retention_default_days: int
    tls: TlsThresholds

    def log_retention_days(self, level: int | None, override: int | None = None) -> int | None:
        if override is not None:
            return override
        if level is None:
            return self.log_retention_default_days
        return self.log_retention_days_by_level.get(level)


@lru_cache(maxsize=1)
def load_thresholds(path: Path = DATA / "thresholds.yaml") -> Thresholds:
    return Thresholds.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


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
