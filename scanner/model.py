"""Typed data that crosses boundaries: observations (facts), results, and their vocabularies.

Everything here is a frozen pydantic model with one JSON form, so a scan file can be written,
read back and re-judged offline from the evidence alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Status(StrEnum):
    """Result statuses, after XCCDF. Only `pass` claims that something was verified."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # could not run or could not observe
    UNKNOWN = "unknown"  # ran, but the facts do not decide (e.g. needs root)
    NOT_APPLICABLE = "not_applicable"
    MANUAL = "manual"  # declared item, or needs a human
    INFO = "info"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self)


SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Outcome(StrEnum):
    """How a collector fared on one host: a closed set, so checks can map each to a status."""

    OK = "ok"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    AUTH_FAILED = "auth_failed"
    HOST_KEY_REJECTED = "host_key_rejected"
    PERMISSION_DENIED = "permission_denied"
    TOOL_MISSING = "tool_missing"
    NOT_COLLECTED = "not_collected"  # transport none, interrupted, or not planned
    ERROR = "error"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Observation(Frozen):
    """One collector's facts about one host (or endpoint), or why there are none."""

    collector: str
    outcome: Outcome
    detail: str = ""
    started: datetime
    ended: datetime
    data: dict[str, Any] = Field(default_factory=dict)
    # The zone the collector looked from, in a scan from several zones (None: the scan's one zone).
    vantage: str | None = None


class Message(Frozen):
    """A user-facing sentence as a catalog key plus parameters; reports translate it."""

    key: str
    params: dict[str, Any] = Field(default_factory=dict)


class Result(Frozen):
    check_id: str
    host: str  # "" for organisation-level (declared) checks
    target: str = ""  # e.g. "443/tcp": makes (host, check_id, target) a stable finding key
    status: Status
    severity: Severity
    survey_items: tuple[str, ...]
    message: Message | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    waiver: dict[str, Any] | None = None  # the accepted-risk waiver covering this failure, if any
    # The zone this verdict was seen from, for a check judged once per zone of a scan from several
    # zones (the port and zone checks); None otherwise.
    vantage: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        """The stable finding key: (host, check_id, target), and the zone when there is one."""
        return (self.host, self.check_id, self.target) + ((self.vantage,) if self.vantage else ())
