"""Facts about the operating system itself (from the host collector)."""

from __future__ import annotations

from typing import ClassVar

from scanner.facts.host import HostFact


class OsRelease(HostFact):
    PART: ClassVar[str] = "os_release"
    id: str | None = None
    id_like: tuple[str, ...] = ()
    version_id: str | None = None
    pretty_name: str | None = None
    version_codename: str | None = None


class Kernel(HostFact):
    PART: ClassVar[str] = "kernel"
    release: str | None = None
    machine: str | None = None
    hostname: str | None = None
    uptime_seconds: float | None = None
