"""Patch level facts (from the host collector's `patching` and `patching_reboot` probes).

Nothing here was refreshed: pending updates are what the package manager's existing cache says,
and the cache's age is recorded beside them so a check can say how far to trust the answer.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import HostFact
from scanner.model import Frozen

Manager = Literal["apt", "dnf", "yum", "zypper", "unknown"]
QueryStatus = Literal["ok", "error", "not_run", "cut_off"]


class PendingUpdate(Frozen):
    name: str  # package name (zypper security patches: the patch name)
    current: str | None = None  # installed version, when the tool says
    available: str | None = None
    origin: str | None = None  # apt origin(s), dnf/yum/zypper repository
    security: bool = False
    advisory: str | None = None  # RHSA-2024:1234, SUSE-SLE-...-2024-1234
    severity: str | None = None  # as the advisory says (Important, moderate, ...)
    interactive: str | None = None  # zypper: what the patch needs beyond installing (reboot, message, licence)


class FileTime(Frozen):
    path: str
    mtime: int  # epoch seconds, on the host's clock


class Patching(HostFact):
    PART: ClassVar[str] = "patching"
    now: int | None = None  # the host's clock when the probe ran (epoch seconds)
    manager: Manager = "unknown"
    updates_status: QueryStatus = "not_run"  # did the pending-updates query work
    updates_error: str | None = None
    updates: tuple[PendingUpdate, ...] = ()
    # Whether `security` flags can be trusted: a security query ran and worked. False on
    # repositories that publish no advisory data (CentOS Linux) or when the query failed.
    security_status: QueryStatus = "not_run"
    security_error: str | None = None
    kept_back: tuple[str, ...] = ()  # apt: held or kept-back packages
    metadata_files: tuple[FileTime, ...] = ()  # package lists / repository metadata
    last_change: int | None = None  # newest package install/upgrade (epoch seconds)
    last_change_source: str | None = None
    missing: tuple[str, ...] = ()  # tools that were not there
    unparsed_lines: tuple[str, ...] = ()

    @property
    def metadata_mtime(self) -> int | None:
        return max((f.mtime for f in self.metadata_files), default=None)

    @property
    def security_updates(self) -> tuple[PendingUpdate, ...]:
        return tuple(u for u in self.updates if u.security)


class RebootStatus(HostFact):
    PART: ClassVar[str] = "patching_reboot"
    now: int | None = None
    running_kernel: str | None = None
    installed_kernels: tuple[str, ...] = ()  # from /boot (or /lib/modules), newest last
    kernels_source: Literal["boot", "modules", "none"] = "none"
    newest_kernel: str | None = None
    running_is_newest: bool | None = None  # None: nothing to compare with (container, no /boot)
    reboot_required_flag: bool = False  # /var/run/reboot-required (Debian, Ubuntu) or reboot-needed (SUSE)
    reboot_required_packages: tuple[str, ...] = ()
    needs_restarting: Literal["reboot", "no_reboot", "missing", "error", "not_run"] = "not_run"
    needs_restarting_tool: str | None = None
    needs_restarting_output: tuple[str, ...] = ()
    unparsed_lines: tuple[str, ...] = ()
