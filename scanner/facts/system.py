"""Facts about the operating system itself (from the host collector)."""

from __future__ import annotations

from typing import ClassVar

from scanner.model import Frozen


class HostFact(Frozen):
    """A fact model filled from one probe of the host collector: data['parsed'][PART]."""

    COLLECTOR: ClassVar[str] = "host"
    PART: ClassVar[str] = ""


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
