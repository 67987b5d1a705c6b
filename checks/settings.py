"""Thresholds from checks/data/thresholds.yaml, typed; never literals inside checks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

DATA = Path(__file__).resolve().parent / "data"


class TlsThresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    cert_expiry_warn_days: int
    min_rsa_bits: int
    min_ec_bits: int
    hsts_min_max_age: int


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
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


def load_data(name: str, model: type[BaseModel]) -> BaseModel:
    """An area's own data file, checks/data/<name>.yaml, validated against its typed model."""
    return model.model_validate(yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8")))
