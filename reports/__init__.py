"""Renderers of a scan file: HTML report, CSV, JUnit XML, terminal summary.

Reports render and never decide: answers, readiness and priorities come from scanner.survey,
changes from scanner.diff. Every user-facing word comes from the one vi/en catalog; every string
from a target or an inventory is data, escaped by whatever format carries it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scanner.i18n import LANGS, Catalog, default_catalog
from scanner.model import Result, Severity, Status

# Worst first: the order results are listed in, on host pages and in tables.
STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.UNKNOWN, Status.MANUAL, Status.PASS, Status.INFO,
                Status.NOT_APPLICABLE)
SEVERITY_DESC = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)


def result_order(r: Result) -> tuple[int, int, str, str, str]:
    return (STATUS_ORDER.index(r.status), -r.severity.rank, r.check_id, r.host, r.target)


def plain(value: Any) -> str:
    """A value from evidence or params as one line of text (structures as compact JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))


@dataclass(frozen=True)
class Texts:
    """The catalog seen in one language: report strings, check titles, result messages."""

    lang: str
    catalog: Catalog

    @classmethod
    def for_lang(cls, lang: str, catalog: Catalog | None = None) -> Texts:
        if lang not in LANGS:
            raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
        return cls(lang, catalog or default_catalog())

    def t(self, key: str, **params: Any) -> str:
        return self.catalog.text(f"report.{key}", self.lang, **params)

    def has_title(self, check_id: str) -> bool:
        return self.catalog.has(f"{check_id}.title")

    def title(self, check_id: str) -> str:
        """The check's title; its id when the catalog has none (the id is then shown once)."""
        return self.catalog.text(f"{check_id}.title", self.lang) if self.has_title(check_id) else check_id

    def remediation(self, check_id: str) -> str:
        key = f"{check_id}.remediation"
        return self.catalog.text(key, self.lang) if self.catalog.has(key) else ""

    def message(self, r: Result) -> str:
        if r.message is None:
            return ""
        key = r.message.key
        full = f"common.{key[1:]}" if key.startswith("_") else f"{r.check_id}.messages.{key}"
        if self.catalog.has(full):
            return self.catalog.message(r.check_id, key, r.message.params, self.lang)
        # A message without text (a check whose texts are not in the catalog): show it raw, as data.
        params = "; ".join(f"{k}={plain(v)}" for k, v in r.message.params.items())
        return f"{key} ({params})" if params else key

    def status(self, status: Status) -> str:
        return self.t(f"status.{status.value}")

    def severity(self, severity: Severity) -> str:
        return self.t(f"severity.{severity.value}")
