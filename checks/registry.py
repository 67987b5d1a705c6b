"""The check registry: an object (no global mutable state), filled by the area modules.

A check is metadata plus a pure function from facts to verdicts. The registry refuses to judge
from facts a collector failed to gather: the verdict is then `error` or `unknown`, never `pass`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from scanner.inventory import Host, Inventory
from scanner.model import Message, Observation, Outcome, Result, Severity, Status

CHECK_ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
SURVEY_ITEM_RE = re.compile(r"^(I|II|VIII|IX|X|XII|XIII|XI(\.\d+)+)$")

F = TypeVar("F", bound=BaseModel)


@dataclass(frozen=True)
class Verdict:
    """What a check function returns; the registry turns it into a Result."""

    status: Status
    message: str | None = None  # key under the check's `messages` in the text catalog
    params: Mapping[str, Any] = field(default_factory=dict)
    target: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # only to lower/raise one finding, e.g. by how soon it lapses


def passed(message: str | None = None, target: str = "", evidence: Mapping[str, Any] | None = None,
           **params: Any) -> Verdict:
    return Verdict(Status.PASS, message, params, target, evidence or {})


def failed(message: str | None = None, target: str = "", evidence: Mapping[str, Any] | None = None,
           severity: Severity | None = None, **params: Any) -> Verdict:
    return Verdict(Status.FAIL, message, params, target, evidence or {}, severity)


def verdict(status: Status, message: str | None = None, target: str = "",
            evidence: Mapping[str, Any] | None = None, **params: Any) -> Verdict:
    return Verdict(status, message, params, target, evidence or {})


class MissingFacts(Exception):
    """Raised by a context when a check asks for facts that were not gathered."""

    def __init__(self, collector: str, outcome: Outcome, detail: str):
        super().__init__(detail)
        self.collector, self.outcome, self.detail = collector, outcome, detail


@dataclass
class HostContext:
    """What a host check sees: the inventory's word about the host and the facts gathered."""

    host: Host
    inventory: Inventory
    observations: Mapping[str, Observation]
    settings: Any  # checks.data.Thresholds
    now: datetime
    _cache: dict[type, Any] = field(default_factory=dict)
    # When a set: every (collector, part) the checks read; part "" is the whole observation.
    # --rescan-failed uses it to gather again only what the checks that did not pass looked at.
    reads: set[tuple[str, str]] | None = None

    def observation(self, collector: str, part: str = "") -> Observation:
        if self.reads is not None:
            self.reads.add((collector, part))
        obs = self.observations.get(collector)
        if obs is None:
            raise MissingFacts(collector, Outcome.NOT_COLLECTED, f"{collector}: not collected")
        if obs.outcome != Outcome.OK:
            raise MissingFacts(collector, obs.outcome, obs.detail)
        return obs

    def facts_or_none(self, model: type[F]) -> F | None:
        """The facts when they were gathered, None when they were not (for a check that uses
        them when it can and decides otherwise without them; the read is recorded either way)."""
        try:
            return self.facts(model)
        except MissingFacts:
            return None

    def facts(self, model: type[F]) -> F:
        """The collector's data as its typed fact model (model.COLLECTOR names the collector)."""
        part = getattr(model, "PART", "")
        data = self.observation(model.COLLECTOR, part).data  # also records the read
        if model not in self._cache:
            if part:
                if part not in data.get("parsed", {}):
                    reason = data.get("parse_errors", {}).get(part, "not gathered")
                    raise MissingFacts(model.COLLECTOR, Outcome.NOT_COLLECTED, f"{part}: {reason}")
                data = data["parsed"][part]
            self._cache[model] = model.model_validate(data)
        return self._cache[model]

    @property
    def security_level(self) -> int | None:
        return self.inventory.security_level_of(self.host)


@dataclass
class OrgContext:
    inventory: Inventory
    hosts: Mapping[str, HostContext]
    settings: Any
    now: datetime


CheckFn = Callable[[Any], Iterable[Verdict] | Verdict | None]


@dataclass(frozen=True)
class Check:
    id: str
    survey_items: tuple[str, ...]
    severity: Severity
    requires: tuple[str, ...]  # collectors whose facts the check reads
    scope: Literal["host", "org"]
    fn: CheckFn
    uses: tuple[str, ...] = ()  # collectors it reads when they have facts (planned, not required)

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def check(self, check_id: str, *, items: Iterable[str], severity: Severity | str,
              requires: Iterable[str] = (), scope: Literal["host", "org"] = "host",
              uses: Iterable[str] = ()) -> Callable[[CheckFn], CheckFn]:
        def register(fn: CheckFn) -> CheckFn:
            self.add(Check(check_id, tuple(items), Severity(severity), tuple(requires), scope, fn, tuple(uses)))
            return fn
        return register

    def add(self, check: Check) -> None:
        if not CHECK_ID_RE.match(check.id):
            raise ValueError(f"check id {check.id!r} is not dotted lower-case")
        if check.id in self._checks:
            raise ValueError(f"check id {check.id!r} registered twice")
        if not check.survey_items or not all(SURVEY_ITEM_RE.match(i) for i in check.survey_items):
            raise ValueError(f"check {check.id}: bad survey items {check.survey_items}")
        self._checks[check.id] = check

    def __iter__(self):
        return iter(sorted(self._checks.values(), key=lambda c: c.id))

    def __len__(self) -> int:
        return len(self._checks)

    def __contains__(self, check_id: str) -> bool:
        return check_id in self._checks

    def get(self, check_id: str) -> Check:
        return self._checks[check_id]

    def select(self, patterns: Iterable[str] | None) -> list[Check]:
        """Checks whose id matches any glob (`tls.*`); all of them when no pattern is given."""
        patterns = list(patterns or [])
        if not patterns:
            return list(self)
        return [c for c in self if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]

    def collectors_for(self, checks: Iterable[Check]) -> set[str]:
        return {name for c in checks for name in (*c.requires, *c.uses)}

    # -- judging ----------------------------------------------------------------------------
    def run_host_check(self, check: Check, ctx: HostContext) -> list[Result]:
        for name in check.requires:
            obs = ctx.observations.get(name)
            if obs is None or obs.outcome != Outcome.OK:
                return [self._missing(check, ctx.host.name, name, obs)]
        return self._run(check, ctx, ctx.host.name)

    def run_org_check(self, check: Check, ctx: OrgContext) -> list[Result]:
        return self._run(check, ctx, "")

    def _run(self, check: Check, ctx: Any, host: str) -> list[Result]:
        try:
            out = check.fn(ctx)
        except MissingFacts as exc:
            return [self._missing(check, host, exc.collector, None, exc)]
        except Exception as exc:  # a bug in one check must not lose the others' results
            return [self._result(check, host, Verdict(Status.ERROR, "_check_crashed",
                                                      {"error": f"{type(exc).__name__}: {exc}"}))]
        verdicts = [out] if isinstance(out, Verdict) else list(out or [])
        return [self._result(check, host, v) for v in verdicts]

    def _missing(self, check: Check, host: str, collector: str, obs: Observation | None,
                 exc: MissingFacts | None = None) -> Result:
        outcome = obs.outcome if obs else (exc.outcome if exc else Outcome.NOT_COLLECTED)
        detail = obs.detail if obs else (exc.detail if exc else "not collected")
        # Permission problems and deliberate non-collection are "could not decide"; the rest
        # (unreachable, timeouts, crashes) are "could not run".
        status = Status.UNKNOWN if outcome in (Outcome.PERMISSION_DENIED, Outcome.NOT_COLLECTED,
                                               Outcome.TOOL_MISSING) else Status.ERROR
        return self._result(check, host, Verdict(status, "_not_observed",
                                                 {"collector": collector, "outcome": outcome.value,
                                                  "detail": detail[:2000]}))

    @staticmethod
    def _result(check: Check, host: str, v: Verdict) -> Result:
        return Result(check_id=check.id, host=host, target=v.target, status=v.status,
                      severity=v.severity or check.severity, survey_items=check.survey_items,
                      message=Message(key=v.message, params=dict(v.params)) if v.message else None,
                      evidence=dict(v.evidence))
