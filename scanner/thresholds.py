"""Thresholds by security level (checks/data/thresholds.yaml), typed: the survey's limits that
checks judge by and the scan summary records (its legal basis, the minimum level of a system
connected to the population database). Data, so a model at the bottom floor; the file lives
with the checks' other data."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from scanner.model import Frozen

THRESHOLDS_FILE = Path(__file__).resolve().parent.parent / "checks" / "data" / "thresholds.yaml"


class TlsThresholds(Frozen):
    cert_expiry_warn_days: int
    min_rsa_bits: int
    min_ec_bits: int
    hsts_min_max_age: int
    recommended_ciphers: tuple[str, ...]  # what a fix plan writes for TLS 1.2 (OpenSSL names)


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
def load_thresholds(path: Path = THRESHOLDS_FILE) -> Thresholds:
    return Thresholds.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
