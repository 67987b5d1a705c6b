"""The survey's items (checks/data/survey.yaml) and the answers a scan gives them.

Everything here is pure: results in, answers out. A report renders these answers and never
decides one itself. The rules are the ones the form's readers need to trust:

- Có (yes) only where every result that decides the item passes, on every host in scope (for a
  declared item: the declaration stands and no evidence contradicts it);
- Không (no) where a failure exists and no host holds the item fully;
- một phần (partly) where hosts disagree: some fail it, others hold it;
- chưa xác định (not determined) where the results cannot decide: errors, unknowns, items
  waiting for a person, checks that found nothing to judge, or no result at all. Absence of
  evidence is never a yes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import Field, model_validator

from scanner.model import Frozen, Result, Severity, Status

SURVEY_FILE = Path(__file__).resolve().parent.parent / "checks" / "data" / "survey.yaml"

# Statuses that could not decide anything: never folded into a pass.
UNDETERMINED_STATUSES = frozenset({Status.ERROR, Status.UNKNOWN, Status.MANUAL})
# Statuses that carry no verdict on the item at all.
NEUTRAL_STATUSES = frozenset({Status.NOT_APPLICABLE, Status.INFO})
ORG = ""  # the host name of organisation-level (declared) results


class Label(Frozen):
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class OptionsFrom(Frozen):
    check: str  # the check whose evidence picks a tick box
    key: str  # the evidence key holding the box's text


class Group(Label):
    id: str


class Row(Label):
    """A row of an item's table (XI.3 "Từ bên trong mạng"): its words, the name the inventory's
    devices use for it (`enforces`), and the checks that answer it."""

    key: str = ""
    checks: tuple[str, ...] = ()


class SurveyItem(Label):
    id: str
    order: int
    answered: Literal["declared", "evidence", "declared+evidence", "generated"]
    area: str
    manual: bool = False  # no check is expected to answer it (the report or a person does)
    rows: tuple[Row, ...] = ()
    options: tuple[str, ...] = ()
    options_from: OptionsFrom | None = None
    solution: Label | None = None  # the solution XI.4 names when the item is not fully in place

    @property
    def is_xi(self) -> bool:
        return self.id.startswith("XI.")

    @property
    def declared(self) -> bool:
        return self.answered.startswith("declared")

    @model_validator(mode="after")
    def _options(self) -> SurveyItem:
        if self.options_from and not self.options:
            raise ValueError(f"{self.id}: options_from without options")
        return self


class Survey(Frozen):
    source: Label
    areas: tuple[str, ...]
    groups: tuple[Group, ...]
    items: tuple[SurveyItem, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Survey:
        ids = [i.id for i in self.items]
        orders = [i.order for i in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"survey item ids repeat: {sorted(k for k, n in Counter(ids).items() if n > 1)}")
        if len(set(orders)) != len(orders) or orders != sorted(orders):
            raise ValueError("survey item orders must be unique and listed in the form's order")
        unknown = sorted({i.area for i in self.items} - set(self.areas))
        if unknown:
            raise ValueError(f"survey items name unknown areas: {unknown}")
        return self

    def item(self, item_id: str) -> SurveyItem:
        return next(i for i in self.items if i.id == item_id)

    def has(self, item_id: str) -> bool:
        return any(i.id == item_id for i in self.items)

    @property
    def xi_items(self) -> list[SurveyItem]:
        return [i for i in self.items if i.is_xi]

    def group_of(self, item: SurveyItem) -> list[Group]:
        """The headings an item sits under, outermost first (XI, XI.3, XI.3.3)."""
        return [g for g in self.groups if item.id.startswith(g.id + ".")]


@lru_cache(maxsize=4)
def load_survey(path: Path = SURVEY_FILE) -> Survey:
    return Survey.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


# -- the mapping between checks and items --------------------------------------------------------
class CheckLike(Protocol):
    id: str
    survey_items: tuple[str, ...]


def validate_mapping(survey: Survey, checks: Iterable[CheckLike]) -> list[str]:
    """Problems in the mapping: a check naming an item the survey lacks, an item no check answers
    that is neither manual nor generated, tick boxes fed by a check that does not exist."""
    checks = list(checks)
    problems = [f"check {c.id}: survey item {i} is not in the survey"
                for c in checks for i in c.survey_items if not survey.has(i)]
    covered = {i for c in checks for i in c.survey_items}
    problems += [f"survey item {i.id} has no check and is not marked manual or generated"
                 for i in survey.items if i.id not in covered and not i.manual and i.answered != "generated"]
    ids = {c.id for c in checks}
    problems += [f"survey item {i.id}: options_from names check {i.options_from.check}, which is not registered"
                 for i in survey.items if i.options_from and i.options_from.check not in ids]
    return problems


# -- answers ---------------------------------------------------------------------------------------
class Answer(StrEnum):
    YES = "yes"  # Có
    NO = "no"  # Không
    PARTLY = "partly"  # một phần
    UNDETERMINED = "undetermined"  # chưa xác định
    NOT_APPLICABLE = "not_applicable"  # only not-applicable results: nothing to answer


@dataclass(frozen=True)
class ItemAnswer:
    item: SurveyItem
    answer: Answer
    results: tuple[Result, ...]
    failing_hosts: tuple[str, ...]  # "" stands for the organisation (a declaration)
    passing_hosts: tuple[str, ...]  # every deciding result on the host passed
    undetermined_hosts: tuple[str, ...]  # no failure, but something could not be decided

    @property
    def counts(self) -> Counter[Status]:
        return Counter(r.status for r in self.results)

    @property
    def declarations(self) -> list[Result]:
        """Organisation-level results carrying a declaration from the inventory."""
        return [r for r in self.results if r.host == ORG and r.evidence.get("basis") == "declared"]


def _host_states(results: Sequence[Result]) -> tuple[list[str], list[str], list[str]]:
    by_host: dict[str, set[Status]] = {}
    for r in results:
        if r.status not in NEUTRAL_STATUSES:
            by_host.setdefault(r.host, set()).add(r.status)
    failing = sorted(h for h, s in by_host.items() if Status.FAIL in s)
    passing = sorted(h for h, s in by_host.items() if s == {Status.PASS})
    undetermined = sorted(h for h, s in by_host.items() if Status.FAIL not in s and s & UNDETERMINED_STATUSES)
    return failing, passing, undetermined


def derive_answer(item: SurveyItem, results: Iterable[Result]) -> ItemAnswer:
    """The item's answer from the results that name it (results of other items are ignored)."""
    mine = tuple(r for r in results if item.id in r.survey_items)
    failing, passing, undetermined = _host_states(mine)
    deciding = [r for r in mine if r.status not in NEUTRAL_STATUSES]
    if not mine:
        answer = Answer.UNDETERMINED
    elif not deciding:
        # Only a declaration can make a whole item not applicable (the unit states it has nothing
        # of the kind); evidence checks that found nothing to judge leave the item undecided.
        answer = Answer.NOT_APPLICABLE if item.answered == "declared" else Answer.UNDETERMINED
    elif failing:
        # A failed declaration is the unit's own "no"; evidence from other hosts cannot make it "partly".
        host_passing = [h for h in passing if h != ORG]
        answer = Answer.PARTLY if ORG not in failing and host_passing else Answer.NO
    elif all(r.status == Status.PASS for r in deciding):
        answer = Answer.YES
    else:
        answer = Answer.UNDETERMINED
    return ItemAnswer(item, answer, mine, tuple(failing), tuple(passing), tuple(undetermined))


def row_key(item: SurveyItem, row: Row) -> str:
    return f"{item.id}/{row.key}"


def answer_row(item: SurveyItem, row: Row, results: Iterable[Result]) -> ItemAnswer:
    """A row of an item's table (XI.3's "Từ bên trong mạng"), answered by its own checks only."""
    return derive_answer(item, [r for r in results if r.check_id in row.checks and item.id in r.survey_items])


def answer_rows(survey: Survey, results: Iterable[Result]) -> dict[str, ItemAnswer]:
    results = list(results)
    return {row_key(i, row): answer_row(i, row, results) for i in survey.xi_items for row in i.rows if row.checks}


def answer_items(survey: Survey, results: Iterable[Result]) -> list[ItemAnswer]:
    """Answers for the XI items a scan can answer, in the form's order (XI.4 is generated)."""
    results = list(results)
    return [derive_answer(i, results) for i in survey.xi_items if i.answered != "generated"]


# -- XI.3.3.3: the retention tick box --------------------------------------------------------------
@dataclass(frozen=True)
class HostRetention:
    host: str
    option: str | None  # one of the item's options, None when not measured
    days: int | None
    bucket: str | None  # the evidence's own text ("Khác: 45 ngày")
    status: Status


@dataclass(frozen=True)
class RetentionAnswer:
    option: str | None  # the box to tick for the system: the weakest host decides; None: chưa xác định
    days: int | None  # the shortest measured retention
    hosts: tuple[HostRetention, ...]
    unmeasured: tuple[str, ...]  # hosts whose retention could not be measured


def _option_for(bucket: Any, options: Sequence[str]) -> str | None:
    if not isinstance(bucket, str):
        return None
    bucket = bucket.strip()
    # Longest option first, so "Khác: 45 ngày" matches "Khác" and never a shorter accidental prefix.
    return next((o for o in sorted(options, key=len, reverse=True) if bucket == o or bucket.startswith(o)), None)


def _days(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    return None


def retention_answer(item: SurveyItem, results: Iterable[Result]) -> RetentionAnswer | None:
    """Which of the item's tick boxes the measured values pick; None for an item without boxes."""
    if not item.options_from:
        return None
    source = item.options_from
    rows = []
    for r in results:
        if r.check_id != source.check or r.status in NEUTRAL_STATUSES:
            continue
        option = _option_for(r.evidence.get(source.key), item.options)
        bucket = r.evidence.get(source.key)
        rows.append(HostRetention(r.host, option, _days(r.evidence.get("days")) if option else None,
                                  bucket if isinstance(bucket, str) else None, r.status))
    rows.sort(key=lambda h: h.host)
    unmeasured = tuple(h.host for h in rows if h.option is None)
    measured = [h for h in rows if h.option is not None]
    if not measured or unmeasured:
        return RetentionAnswer(None, None, tuple(rows), unmeasured)
    # The system keeps logs only as long as its weakest host does. "Khác" may be shorter or longer
    # than the other boxes, so without every host's days only a unanimous box can be ticked.
    if all(h.days is not None for h in measured):
        weakest = min(measured, key=lambda h: h.days)
        return RetentionAnswer(weakest.option, weakest.days, tuple(rows), unmeasured)
    options = {h.option for h in measured}
    return RetentionAnswer(options.pop() if len(options) == 1 else None, None, tuple(rows), unmeasured)


# -- XI.4, readiness and priorities ----------------------------------------------------------------
def missing_solutions(answers: Iterable[ItemAnswer]) -> list[ItemAnswer]:
    """XI.4 "Cần bổ sung giải pháp an ninh an toàn nào?": the items that fail, in the form's order."""
    return [a for a in answers if a.answer in (Answer.NO, Answer.PARTLY)]


class Readiness(StrEnum):
    READY = "ready"  # every item answered yes (or not applicable) on a complete scan
    UNCONFIRMED = "unconfirmed"  # nothing fails, but something could not be decided
    NOT_READY = "not_ready"  # an item fails, or a critical/high finding stands


BLOCKING_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})


def readiness(answers: Iterable[ItemAnswer], results: Iterable[Result], complete: bool) -> Readiness:
    """The overall verdict. A waived (accepted-risk) finding still makes its item's answer honest,
    but by itself it no longer blocks, the way it no longer counts toward the exit code."""
    answers = list(answers)
    if any(a.answer in (Answer.NO, Answer.PARTLY) for a in answers) or any(
            r.status == Status.FAIL and r.waiver is None and r.severity in BLOCKING_SEVERITIES for r in results):
        return Readiness.NOT_READY
    if not complete or any(a.answer == Answer.UNDETERMINED for a in answers):
        return Readiness.UNCONFIRMED
    return Readiness.READY


@dataclass(frozen=True)
class Priority:
    """One check failing on one or more hosts: a line of "what to fix first"."""

    check_id: str
    severity: Severity
    survey_items: tuple[str, ...]
    results: tuple[Result, ...] = field(default_factory=tuple)

    @property
    def hosts(self) -> list[str]:
        return sorted({r.host for r in self.results})


def fix_first(results: Iterable[Result]) -> list[Priority]:
    """Failing results by check, the most severe first, then the ones on the most hosts. Waived
    (accepted-risk) failures are left out: they are listed with their waiver instead."""
    by_check: dict[str, list[Result]] = {}
    for r in results:
        if r.status == Status.FAIL and r.waiver is None:
            by_check.setdefault(r.check_id, []).append(r)
    out = [Priority(cid, max((r.severity for r in rs), key=lambda s: s.rank),
                    tuple(sorted({i for r in rs for i in r.survey_items})),
                    tuple(sorted(rs, key=lambda r: r.key)))
           for cid, rs in by_check.items()]
    out.sort(key=lambda p: (-p.severity.rank, -len(p.hosts), -len(p.results), p.check_id))
    return out
