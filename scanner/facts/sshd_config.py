"""The SSH daemon's configuration (from the host collector's `sshd_config` probe)."""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import HostFact
from scanner.model import Frozen


class SshSetting(Frozen):
    # One value per configuration line: list keywords (AllowUsers, AcceptEnv, ...) accumulate
    # lines; every other keyword keeps the first line sshd meets, as sshd does.
    values: tuple[str, ...]
    source: Literal["sshd -T", "file", "default"]
    location: str | None = None  # "path:line" where it is configured; None for defaults

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for v in self.values for w in v.split())


class SshMatchBlock(Frozen):
    """Settings that apply only to connections matching `criteria` (reported, never global)."""

    criteria: str
    location: str
    settings: dict[str, SshSetting]


class SshdConfig(HostFact):
    PART: ClassVar[str] = "sshd_config"
    installed: bool | None = None  # None: could not tell
    binary: str | None = None
    version: str | None = None  # "OpenSSH_9.2p1" as sshd says
    # Where the global settings came from: sshd's own answer, our reading of the files, or
    # nowhere (files unreadable and `sshd -T` refused, typically without root).
    effective_source: Literal["sshd -T", "files", "none"] = "none"
    sshd_t_error: str | None = None
    settings: dict[str, SshSetting] = {}  # effective global settings, lower-case keywords
    configured: dict[str, SshSetting] = {}  # what the files set explicitly (global part)
    match_blocks: tuple[SshMatchBlock, ...] = ()
    main_file: str | None = None
    files_read: tuple[str, ...] = ()
    files_denied: tuple[str, ...] = ()
    files_missing: tuple[str, ...] = ()
    unparsed_lines: tuple[str, ...] = ()

    def get(self, keyword: str) -> SshSetting | None:
        return self.settings.get(keyword.lower())
