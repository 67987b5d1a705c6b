"""Checks and their registry.

A check is a module-level function from facts to verdicts, marked by the `@check` decorator
with its metadata: its id, survey items, severity and the fact models it reads (`reads`: it
cannot judge without them; `may_read`: it uses them when they were gathered). Fact models name
the collector that gathers them (`COLLECTOR`) and, for host facts, the probe (`PART`), so the
engine plans collectors and probes from what the selected checks read, as sslyze plans from its
scan commands. A registry is an object (no global mutable state) filled from the area modules.

The registry refuses to judge from facts a collector failed to gather: the verdict is then
`error` or `unknown`, never `pass`; and a check that reads a fact it did not declare is a bug
(`error`), so the declarations stay true.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from scanner.facts.reading import MissingFacts, collector_of, part_of, read_fact
from scanner.inventory import Host, Inventory
from scanner.model import Message, Observation, Outcome, Result, Severity, Status
from scanner.thresholds import Thresholds

CHECK_ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
SURVEY_ITEM_RE = re.compile(r"^(I|II|VIII|IX|X|XII|XIII|XI(\.\d+)+)$")

F = TypeVar("F", bound=BaseModel)
FactModel = type[BaseModel]  # a fact model class: COLLECTOR, and PART for a host probe's facts


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


class UndeclaredFact(Exception):
    """Raised when a check reads a fact model it did not declare (a bug in the check)."""


@dataclass
class HostContext:
    """What a host check sees: the inventory's word about the host and the facts gathered."""

    host: Host
    inventory: Inventory
    observations: Mapping[str, Observation]
    settings: Thresholds
    now: datetime
    _cache: dict[type, Any] = field(default_factory=dict)
    # The fact models the running check declared (None: any, for callers outside a check).
    declared: frozenset[FactModel] | None = None
    # The zone the network facts were seen from (a one-zone scan: the scanner's zone, or None).
    vantage: str | None = None

    def for_check(self, check: Check) -> HostContext:
        """The same host and facts (and parse cache), limited to what `check` declared."""
        return dataclasses.replace(self, declared=check.facts)

    def seen_from(self, zone: str, network: Mapping[str, Observation]) -> HostContext:
        """The host as a scanner in `zone` saw it: its network facts from there (own parse cache)."""
        return dataclasses.replace(self, observations={**self.observations, **network}, vantage=zone, _cache={})

    def facts_or_none(self, model: type[F]) -> F | None:
        """The facts when they were gathered, None when they were not (for a check that uses
        them when it can and decides otherwise without them)."""
        try:
            return self.facts(model)
        except MissingFacts:
            return None

    def facts(self, model: type[F]) -> F:
        """The collector's data as its typed fact model (model.COLLECTOR names the collector)."""
        if self.declared is not None and model not in self.declared:
            raise UndeclaredFact(f"{model.__name__} is not among the facts the check declared")
        return read_fact(self.observations, model, self._cache)

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


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class Variant:
    """How a check judges on another platform: its own function and facts, same id and meaning."""

    fn: CheckFn
    reads: tuple[FactModel, ...] = ()
    may_read: tuple[FactModel, ...] = ()


def platform_of(models: Iterable[FactModel]) -> str | None:
    """The platform whose host probes gather these facts (None: no host probe's, any platform)."""
    found = {getattr(m, "PLATFORM", None) for m in models if getattr(m, "COLLECTOR", None) == "host"} - {None}
    if len(found) > 1:
        raise ValueError(f"facts of several platforms in one check: {sorted(found)}")
    return found.pop() if found else None


@dataclass(frozen=True)
class Check:
    id: str
    survey_items: tuple[str, ...]
    severity: Severity
    scope: Literal["host", "org"]
    fn: CheckFn
    reads: tuple[FactModel, ...] = ()  # fact models it cannot judge without
    may_read: tuple[FactModel, ...] = ()  # fact models it uses when they were gathered
    # Judged once per zone of a scan from several zones (what it judges depends on where the scan
    # starts: the port and zone checks); once otherwise.
    per_vantage: bool = False
    # The platform the host facts it reads come from (None: it reads none, it judges any host), and
    # the same check on other platforms: ("windows", Variant) pairs.
    platform: str | None = None
    variants: tuple[tuple[str, Variant], ...] = ()

    def for_platform(self, platform: str) -> Check | None:
        """The check as it judges a host of `platform`; None: it has nothing to say there."""
        if self.platform in (None, platform):
            return dataclasses.replace(self, variants=()) if self.variants else self
        for name, variant in self.variants:
            if name == platform:
                return dataclasses.replace(self, fn=variant.fn, reads=variant.reads, may_read=variant.may_read,
                                           platform=platform, variants=())
        return None

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms it judges (empty: any)."""
        return () if self.platform is None else (self.platform, *(name for name, _ in self.variants))

    @property
    def _every_model(self) -> tuple[FactModel, ...]:
        return (*self.reads, *self.may_read, *(m for _, v in self.variants for m in (*v.reads, *v.may_read)))

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def facts(self) -> frozenset[FactModel]:
        return frozenset((*self.reads, *self.may_read))

    @property
    def requires(self) -> tuple[str, ...]:
        """Collectors whose facts the check cannot judge without, in the order declared."""
        return _unique(collector_of(m) for m in self.reads)

    @property
    def uses(self) -> tuple[str, ...]:
        """Collectors it reads only when they have facts."""
        return tuple(c for c in _unique(collector_of(m) for m in self.may_read) if c not in self.requires)

    @property
    def collectors(self) -> tuple[str, ...]:
        """Every collector it may read, on any platform (the engine runs each on the hosts it applies to)."""
        return _unique((*self.requires, *self.uses, *(collector_of(m) for m in self._every_model)))

    @property
    def gathers(self) -> tuple[str, ...]:
        """What running the check gathers, as `collector` or `collector/probe` ("host/sshd_config")."""
        return _unique(f"{collector_of(m)}/{part_of(m)}" if part_of(m) else collector_of(m)
                       for m in self._every_model)

    def parts(self, collector: str) -> frozenset[str]:
        """The parts (host probes) of `collector` the check reads on any platform; empty: none by part."""
        return frozenset(part_of(m) for m in self._every_model if collector_of(m) == collector and part_of(m))


def check(check_id: str, *, items: Iterable[str], severity: Severity | str, reads: Iterable[FactModel] = (),
          may_read: Iterable[FactModel] = (), scope: Literal["host", "org"] = "host",
          judge: Callable[[Callable], CheckFn] | None = None, per_vantage: bool = False) -> Callable[[Callable], Callable]:
    """Mark a module-level function as a check. The function stays what it is (importable and
    testable by name); `judge`, when given, turns it into what the engine calls with a context
    (e.g. one verdict per endpoint). Registry.add_area collects the marked functions."""
    def mark(fn: Callable) -> Callable:
        reads_, may_read_ = tuple(reads), tuple(may_read)
        fn.__check__ = Check(check_id, tuple(items), Severity(severity), scope,  # type: ignore[attr-defined]
                             judge(fn) if judge else fn, reads_, may_read_, per_vantage,
                             platform=platform_of((*reads_, *may_read_)))
        return fn
    return mark


def on_platform(base: Callable, *, reads: Iterable[FactModel], may_read: Iterable[FactModel] = (),
                judge: Callable[[Callable], CheckFn] | None = None) -> Callable[[Callable], Callable]:
    """Mark a function as check `base` judging hosts of another platform (the platform of the
    facts it reads): same id, survey items, severity and texts, so reports, the survey and diff
    need no platform of their own."""
    def mark(fn: Callable) -> Callable:
        reads_, may_read_ = tuple(reads), tuple(may_read)
        platform = platform_of((*reads_, *may_read_))
        found: Check = base.__check__  # type: ignore[attr-defined]
        if platform is None or platform in found.platforms:
            raise ValueError(f"check {found.id}: a variant must read host facts of a platform it lacks")
        base.__check__ = dataclasses.replace(  # type: ignore[attr-defined]
            found, variants=(*found.variants, (platform, Variant(judge(fn) if judge else fn, reads_, may_read_))))
        return fn
    return mark


def checks_in(namespace: Mapping[str, Any]) -> Iterator[Check]:
    """The checks marked in a module's namespace: functions, and tuples of them (generated checks)."""
    for value in namespace.values():
        for item in value if isinstance(value, tuple) else (value,):
            found = getattr(item, "__check__", None)
            if isinstance(found, Check):
                yield found


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def add_area(self, module: Any) -> None:
        """Every check marked in an area module (one imported from another area counts once)."""
        for found in checks_in(vars(module)):
            if self._checks.get(found.id) is not found:
                self.add(found)

    def add(self, check: Check) -> None:
        if not CHECK_ID_RE.match(check.id):
            raise ValueError(f"check id {check.id!r} is not dotted lower-case")
        if check.id in self._checks:
            raise ValueError(f"check id {check.id!r} registered twice")
        if not check.survey_items or not all(SURVEY_ITEM_RE.match(i) for i in check.survey_items):
            raise ValueError(f"check {check.id}: bad survey items {check.survey_items}")
        for model in (*check.reads, *check.may_read):
            if not isinstance(getattr(model, "COLLECTOR", None), str):
                raise ValueError(f"check {check.id}: {model!r} is not a fact model (no COLLECTOR)")
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

    @staticmethod
    def collectors_for(checks: Iterable[Check]) -> set[str]:
        return {name for c in checks for name in c.collectors}

    @staticmethod
    def parts_for(checks: Iterable[Check], collector: str) -> frozenset[str]:
        """The parts of `collector` the checks read (empty: none reads it by part)."""
        return frozenset(part for c in checks for part in c.parts(collector))

    # -- judging ----------------------------------------------------------------------------
    def run_host_check(self, check: Check, ctx: HostContext,
                       seen_from: Mapping[str, Mapping[str, Observation]] | None = None) -> list[Result]:
        """The check's results on the host; a per-vantage check with `seen_from` (zone -> the
        network facts seen from there) is judged once per zone, each result naming its zone. On a
        platform it does not judge (an sshd_config check on Windows) it has no result: the
        platform's own checks answer its survey items there."""
        chosen = check.for_platform(ctx.inventory.platform_of(ctx.host))
        if chosen is None:
            return []
        check = chosen
        if check.per_vantage and seen_from:
            return [r for zone, network in seen_from.items()
                    for r in self._run_host(check, ctx.seen_from(zone, network), zone)]
        return self._run_host(check, ctx, None)

    def _run_host(self, check: Check, ctx: HostContext, vantage: str | None) -> list[Result]:
        for name in check.requires:
            obs = ctx.observations.get(name)
            if obs is None or obs.outcome != Outcome.OK:
                return [self._missing(check, ctx.host.name, name, obs, vantage=vantage)]
        return self._run(check, ctx.for_check(check), ctx.host.name, vantage)

    def run_org_check(self, check: Check, ctx: OrgContext) -> list[Result]:
        return self._run(check, ctx, "")

    def _run(self, check: Check, ctx: Any, host: str, vantage: str | None = None) -> list[Result]:
        try:
            out = check.fn(ctx)
        except MissingFacts as exc:
            return [self._missing(check, host, exc.collector, None, exc, vantage)]
        except Exception as exc:  # a bug in one check must not lose the others' results
            return [self._result(check, host, Verdict(Status.ERROR, "_check_crashed",
                                                      {"error": f"{type(exc).__name__}: {exc}"}), vantage)]
        verdicts = [out] if isinstance(out, Verdict) else list(out or [])
        return [self._result(check, host, v, vantage) for v in verdicts]

    def _missing(self, check: Check, host: str, collector: str, obs: Observation | None,
                 exc: MissingFacts | None = None, vantage: str | None = None) -> Result:
        outcome = obs.outcome if obs else (exc.outcome if exc else Outcome.NOT_COLLECTED)
        detail = obs.detail if obs else (exc.detail if exc else "not collected")
        # Permission problems and deliberate non-collection are "could not decide"; the rest
        # (unreachable, timeouts, crashes) are "could not run".
        status = Status.UNKNOWN if outcome in (Outcome.PERMISSION_DENIED, Outcome.NOT_COLLECTED,
                                               Outcome.TOOL_MISSING) else Status.ERROR
        return self._result(check, host, Verdict(status, "_not_observed",
                                                 {"collector": collector, "outcome": outcome.value,
                                                  "detail": detail[:2000]}), vantage)

    @staticmethod
    def _result(check: Check, host: str, v: Verdict, vantage: str | None = None) -> Result:
        return Result(check_id=check.id, host=host, target=v.target, status=v.status,
                      severity=v.severity or check.severity, survey_items=check.survey_items,
                      message=Message(key=v.message, params=dict(v.params)) if v.message else None,
                      evidence=dict(v.evidence), vantage=vantage)
