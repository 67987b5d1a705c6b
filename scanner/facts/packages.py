"""Installed packages (from the host collector's `packages` probe)."""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import HostFact


class Packages(HostFact):
    PART: ClassVar[str] = "packages"
    manager: Literal["dpkg", "rpm", "apk", "unknown"]
    installed: dict[str, str]  # name -> version (rpm: version-release; the newest when several)
    # Why the list may be incomplete (tool missing, query failed, output cut off): never a guess.
    problems: tuple[str, ...] = ()
    unparsed_lines: tuple[str, ...] = ()
