"""What a fix plan is made of: per host, the fixes (Ansible tasks for one failing result) and
the results left to do by hand. Plain data: the fixers build it, the renderer writes it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

# What applying a fix does to the running service: nothing visible, a reload (connections stay),
# a restart (connections drop), a reboot.
Disruption = Literal["none", "reload", "restart", "reboot"]
DISRUPTIONS: tuple[Disruption, ...] = ("none", "reload", "restart", "reboot")  # from least to most


class Unsafe(str):
    """A string that came from the scan file (a host's name, a path, a value it reported): written
    with YAML's `!unsafe` tag, so Ansible never evaluates a `{{ … }}` inside it."""


_JINJA_OPEN = re.compile(r"\{(?=[{%#])")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def inert(text: str) -> str:
    """A task or play name made of scan values, safe as a plain string: one line, and no Jinja
    delimiter left (`{{` becomes `{ {`), since Ansible renders names as templates. (Names are not
    tagged `!unsafe`: ansible-lint cannot match tagged names to its skip comments.)"""
    return _JINJA_OPEN.sub("{ ", CONTROL_CHARS.sub(" ", text))


class Step:
    """A task's name: a catalog key under `report.fixplan.step` and its values, put in the plan's
    language when the plan is built."""

    def __init__(self, key: str, **params: Any):
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Handler:
    """A reload or restart that runs once, after every change that notifies `listen`."""

    listen: str
    tasks: tuple[dict[str, Any], ...]  # each a full task (name, module, arguments)
    # what it does to a service beyond its fixer's usual disruption (a journald restart behind a
    # retention fix that is otherwise a logrotate edit)
    disruption: Disruption = "none"


@dataclass(frozen=True)
class Guarded:
    """Tasks with the rescue that undoes them when one fails (the fix block's `rescue`)."""

    tasks: list[dict[str, Any]]
    rescue: list[dict[str, Any]]


@dataclass(frozen=True)
class Fix:
    """The tasks that fix one failing result."""

    check_id: str
    target: str
    survey_items: tuple[str, ...]
    finding: str  # the result's own sentence, in the plan's language
    disruption: Disruption
    tasks: tuple[dict[str, Any], ...]
    handlers: tuple[Handler, ...] = ()
    rescue: tuple[dict[str, Any], ...] = ()  # run when a task fails: it puts back what the fix changed


@dataclass(frozen=True)
class Manual:
    """A failing result the plan does not fix: what to do by hand."""

    check_id: str
    host: str
    target: str
    finding: str
    fix: str
    why: str  # why it is not automatic


@dataclass(frozen=True)
class Covered:
    """A failing result another check's fix on the same host also ends (the network's view of a
    setting the plan changes): nothing to do but re-scan."""

    check_id: str
    host: str
    target: str
    finding: str
    by: str  # the check id whose fix ends it


@dataclass
class HostPlan:
    name: str
    address: str
    port: int | None
    fixes: list[Fix] = field(default_factory=list)


@dataclass
class Plan:
    organization: str
    scan_started: str
    scan_file: str
    lang: str
    hosts: list[HostPlan]
    manual: list[Manual]
    covered: list[Covered]
    waived: int  # failing results left out because a waiver accepts them
