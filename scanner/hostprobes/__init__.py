"""Read-only probes run on a host, each a fixed shell snippet plus a pure parser.

The host collector frames every probe with unforgeable markers and sends them all in one
script, so a host costs one round trip (two with `become: sudo`), not one per command. The
snippets contain no inventory data: nothing from the inventory reaches a remote shell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Probe:
    name: str  # also the key of its parsed facts in the host observation
    script: str  # POSIX sh, read-only; runs with LC_ALL=C
    parse: Callable[[str], BaseModel]  # pure: raw output -> typed facts
    root: bool = False  # sees more as root: run under sudo when `become: sudo`
    output_cap: int = 256 * 1024
    timeout: int = 30  # seconds, killed after (coreutils timeout on the host, where it exists)


class ProbeSet:
    def __init__(self) -> None:
        self._probes: dict[str, Probe] = {}

    def add(self, probe: Probe) -> None:
        if probe.name in self._probes:
            raise ValueError(f"probe {probe.name} registered twice")
        self._probes[probe.name] = probe

    def __iter__(self):
        return iter(self._probes.values())

    def get(self, name: str) -> Probe:
        return self._probes[name]


def parse_key_values(text: str, sep: str = "=") -> dict[str, Any]:
    """KEY=VALUE lines (os-release style), quotes removed, comments and junk skipped."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or sep not in line:
            continue
        key, _, value = line.partition(sep)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out
