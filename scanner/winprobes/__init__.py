"""Windows host probes: read-only PowerShell commands and the pure parsers of what they print.

A probe is a few named *sections*, each one fixed PowerShell command (no inventory data in it),
and a parser from the sections' outputs to one typed fact. The script builder
(scanner/winprobes/script.py) runs every probe of a host in one PowerShell script, each probe in a
runspace of its own with its own time limit, and frames every section's output as one line of
ASCII JSON, so a host costs one round trip and nothing a target prints can forge a frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

# json: the command's objects, through `ConvertTo-Json -Compress`; the parser gets the JSON text.
# text: the command's output through `Out-String` (net.exe, auditpol.exe); the parser gets the text.
SectionKind = Literal["json", "text"]


@dataclass(frozen=True)
class Section:
    name: str  # [a-z_]+, unique within its probe
    command: str  # PowerShell, read-only; see tests/test_winprobes_script.py for what it may call
    kind: SectionKind = "json"
    depth: int = 3  # ConvertTo-Json -Depth: how deep nested objects are written


@dataclass(frozen=True)
class SectionOutput:
    """What one section gave: its text (JSON for a json section), or the error PowerShell raised."""

    text: str = ""
    error: str | None = None  # the error record as PowerShell formats it (`$_ | Out-String`)
    truncated: bool = False  # the probe's output cap cut this section


@dataclass(frozen=True)
class ProbeOutput:
    """A probe's sections as the script framed them, and when the host says it ran them."""

    sections: Mapping[str, SectionOutput] = field(default_factory=dict)
    now: int = 0  # the host's clock (epoch seconds, UTC) when the script started
    admin: bool | None = None  # the script ran with an administrator's token

    def text(self, name: str) -> str:
        """A section's output, or the error text in its place: the parsers read PowerShell's error
        records (an access refused, a cmdlet missing) where the output would be."""
        got = self.sections.get(name)
        if got is None:
            return ""
        return got.text if got.error is None else got.error


@dataclass(frozen=True)
class WinProbe:
    name: str  # the key of its facts in the host observation (the fact model's PART)
    sections: tuple[Section, ...]
    parse: Callable[[ProbeOutput], BaseModel]  # pure
    admin: bool = False  # sees all only with an administrator's token (preflight says what is lost)
    timeout: int = 30  # seconds for all its sections, then its runspace is stopped
    output_cap: int = 1024 * 1024  # characters of framed output kept for the probe


class WinProbeSet:
    def __init__(self, probes: tuple[WinProbe, ...] = ()) -> None:
        self._probes: dict[str, WinProbe] = {}
        for probe in probes:
            self.add(probe)

    def add(self, probe: WinProbe) -> None:
        if probe.name in self._probes:
            raise ValueError(f"Windows probe {probe.name} registered twice")
        self._probes[probe.name] = probe

    def __iter__(self):
        return iter(self._probes.values())

    def get(self, name: str) -> WinProbe:
        return self._probes[name]

    def names(self) -> frozenset[str]:
        return frozenset(self._probes)


