"""The collectors the engine can plan, by name (the names checks put in `requires`)."""

from __future__ import annotations

from scanner.collectors.base import Collector
from scanner.collectors.host import HostCollector


def default_collectors() -> dict[str, Collector]:
    collectors: list[Collector] = [HostCollector()]
    return {c.name: c for c in collectors}
