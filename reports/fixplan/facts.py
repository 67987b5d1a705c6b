"""A host's facts as the scan file recorded them (the host collector's parsed parts), read
without the collectors' models: a fix plan renders the scan file alone, like every report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scanner.scanfile import HostRecord
from scanner.summary import OS_FAMILIES

# A path from the scan file that a task may name: absolute, no spaces, quotes or shell characters
# (a validate command is split on spaces; a handler's shell line holds the PID file's path).
SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]+")


class NotAutomatic(Exception):
    """This result gets no automatic fix here; the message (a catalog key under
    `report.fixplan.why`) says why, and it is listed for a fix by hand."""

    def __init__(self, why: str, **params: Any):
        super().__init__(why)
        self.why = why
        self.params = params


@dataclass(frozen=True)
class HostFacts:
    parsed: dict[str, Any]
    log_server: dict[str, Any] | None = None  # the inventory's, for this host: address, port, protocol

    @classmethod
    def of(cls, record: HostRecord, log_server: dict[str, Any] | None = None) -> HostFacts:
        obs = record.observations.get("host")
        parsed = obs.data.get("parsed") if obs is not None else None
        return cls(parsed if isinstance(parsed, dict) else {}, log_server)

    def part(self, name: str) -> dict[str, Any]:
        value = self.parsed.get(name)
        if not isinstance(value, dict):
            raise NotAutomatic("no_facts", part=name)
        return value

    @property
    def family(self) -> str | None:
        """debian, rhel or suse (the OS families the reports know), from /etc/os-release."""
        osr = self.parsed.get("os_release")
        if not isinstance(osr, dict):
            return None
        ids = {str(osr.get("id") or ""), *(str(i) for i in osr.get("id_like") or [])}
        return next((f for f, members in OS_FAMILIES.items() if ids & set(members)), None)
