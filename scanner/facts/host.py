"""The host collector's observation: how its probes ran, and each probe's parsed facts or why
there are none. Every host fact model (`HostFact`) is one probe's part of it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from scanner.model import Frozen


class HostFact(Frozen):
    """A fact model filled from one probe of the host collector: `HostObservation.parsed[PART]`."""

    COLLECTOR: ClassVar[str] = "host"
    PART: ClassVar[str] = ""
    PLATFORM: ClassVar[str] = "linux"  # the hosts whose probes gather it


class WindowsFact(HostFact):
    """A fact of a Windows host's PowerShell probes (scanner/winprobes)."""

    PLATFORM: ClassVar[str] = "windows"


class ProbeRecord(Frozen):
    """One probe's run as the scan file keeps it (its raw output, capped, is the evidence)."""

    name: str
    exit_status: int | None = None
    seconds: float | None = None
    privileged: bool = False
    truncated: bool = False
    output: str = ""


class PartMissing(Exception):
    """A probe's facts are not in the observation; the message says why."""


class WindowsSession(Frozen):
    """Who ran a Windows host's script, in which PowerShell (its first line)."""

    language: str | None = None  # FullLanguage, ConstrainedLanguage, ...
    admin: bool | None = None  # an administrator's token
    now: int | None = None  # the host's clock, epoch seconds
    ps_version: str | None = None
    execution_policy: str | None = None


class HostObservation(Frozen):
    """The envelope of the host collector's data (`Observation.data` of collector "host")."""

    COLLECTOR: ClassVar[str] = "host"

    transport: str = ""
    is_root: bool = False
    become: bool = False
    round_trips: int = 0
    notes: tuple[str, ...] = ()  # why probes are missing: cut off, sudo refused...
    commands: tuple[ProbeRecord, ...] = ()
    parsed: dict[str, dict[str, Any]] = Field(default_factory=dict)  # probe name -> its fact model, as JSON
    parse_errors: dict[str, str] = Field(default_factory=dict)  # probe name -> why it has no facts
    windows: WindowsSession | None = None  # a Windows host: the PowerShell session the probes ran in
    # --rescan-failed: the probes whose facts were carried over from the previous scan
    kept_from_previous: tuple[str, ...] = ()

    def part(self, name: str) -> dict[str, Any]:
        """One probe's parsed facts; PartMissing says why when there are none."""
        if name not in self.parsed:
            raise PartMissing(f"{name}: {self.parse_errors.get(name, 'not gathered')}")
        return self.parsed[name]

    def with_parts_from(self, previous: HostObservation, parts: frozenset[str]) -> HostObservation:
        """This observation, of only `parts` gathered again, completed with every other probe's
        facts, errors and records from `previous`, named in `kept_from_previous` so the evidence
        says which facts are older (pure)."""
        def older(section: Mapping[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in section.items() if k not in parts}

        return self.model_copy(update={
            "parsed": older(previous.parsed) | self.parsed,
            "parse_errors": older(previous.parse_errors) | self.parse_errors,
            "commands": tuple(c for c in previous.commands if c.name not in parts) + self.commands,
            "kept_from_previous": tuple(sorted(older(previous.parsed) | older(previous.parse_errors))),
        })
