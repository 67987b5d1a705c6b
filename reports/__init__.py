"""Renderers of a scan file: HTML report, CSV, JUnit XML, terminal summary.

Reports render and never decide: answers, readiness and priorities come from scanner.survey,
changes from scanner.diff. Every user-facing word comes from the one vi/en catalog; every string
from a target or an inventory is data, escaped by whatever format carries it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scanner.i18n import LANGS, Catalog, default_catalog, placeholders
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
        """The requirement: what good looks like (the catalog, the list of what holds). A check
        without texts shows its id."""
        return self.catalog.text(f"{check_id}.title", self.lang) if self.has_title(check_id) else check_id

    def where(self, finding: Any) -> str:
        """Where a result (or a change) was seen: its target and, in a scan from several zones,
        the zone it was seen from ("5432/tcp, từ vùng dmz")."""
        zone = getattr(finding, "vantage", None)
        if not zone:
            return finding.target
        seen = self.t("vantage.from", zone=zone)
        return f"{finding.target}, {seen}" if finding.target else seen

    def finding(self, check_id: str) -> str:
        """The gap, as a list of gaps names it ("SSH accepts passwords"), for a check that fails
        somewhere; a single result's own finding is its message."""
        key = f"{check_id}.finding"
        return self.catalog.text(key, self.lang) if self.catalog.has(key) else self.title(check_id)

    def remediation(self, check_id: str) -> str:
        key = f"{check_id}.remediation"
        return self.catalog.text(key, self.lang) if self.catalog.has(key) else ""

    def message(self, r: Result) -> str:
        """The result's own sentence, from its message key and parameters (TextError if the key
        has no text or a parameter is missing: a stale text never reaches the page)."""
        if r.message is None:
            return ""
        if not self.has_title(r.check_id) and not r.message.key.startswith("_"):
            # A check this version does not know (a newer scan file, a forged one): its words are
            # not ours to render, so the key and values are shown as data.
            params = "; ".join(f"{k}={plain(v)}" for k, v in r.message.params.items())
            return f"{r.message.key} ({params})" if params else r.message.key
        return self.catalog.message(r.check_id, r.message.key, r.message.params, self.lang)

    def evidence(self, r: Result, context: Mapping[str, Any] | None = None) -> str:
        """How and where the result was observed, as a sentence: the first of the check's
        `evidence` variants whose every placeholder has a value ("" when none applies)."""
        return self._variant(f"{r.check_id}.evidence", r, context)

    def fix(self, r: Result, context: Mapping[str, Any] | None = None) -> str:
        """The fix for this result, naming its own port, file, service and distribution: the first
        of the check's `fix` variants whose every placeholder has a value ("" when none applies;
        the check's general remediation then stands)."""
        return self._variant(f"{r.check_id}.fix", r, context)

    def _variant(self, prefix: str, r: Result, context: Mapping[str, Any] | None) -> str:
        values = {k: v for k, v in {**r.evidence, **(r.message.params if r.message else {}), **(context or {})}.items()
                  if v not in (None, "", [], {})}
        values |= {k: v for k, v in (("host", r.host), ("target", r.target)) if v}
        # A platform's own variants (`<check>.fix.windows.*`) first: the common ones name Linux
        # files and commands.
        platform = (context or {}).get("platform")
        keys = [*(self.catalog.variants(f"{prefix}.{platform}") if platform else ()), *self.catalog.variants(prefix)]
        if platform == "windows":
            keys = [k for k in keys if k.startswith(f"{prefix}.windows.")]
        for key in keys:
            if placeholders(self.catalog.template(key, self.lang)) <= set(values):
                return self.catalog.text(key, self.lang, **values)
        return ""

    def status(self, status: Status) -> str:
        return self.t(f"status.{status.value}")

    def severity(self, severity: Severity) -> str:
        return self.t(f"severity.{severity.value}")
