"""What a fix plan is made of: per host, the fixes (Ansible tasks for one failing result) and
the results left to do by hand. Plain data: the fixers build it, the renderer writes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# What applying a fix does to the running service: nothing visible, a reload (connections stay),
# a restart (connections drop), a reboot.
Disruption = Literal["none", "reload", "restart", "reboot"]


class Unsafe(str):
    """A string that came from the scan file (a host's name, a path, a value it reported): written
    with YAML's `!unsafe` tag, so Ansible never evaluates a `{{ … }}` inside it."""


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


@dataclass(frozen=True)
class Manual:
    """A failing result the plan does not fix: what to do by hand."""

    check_id: str
    host: str
    target: str
    finding: str
    fix: str
    why: str  # why it is not automatic


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
    waived: int  # failing results left out because a waiver accepts them
