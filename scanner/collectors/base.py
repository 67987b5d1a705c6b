"""What every collector is: something that gathers one family of facts for many hosts at once.

A collector never judges and never raises into the engine: each host gets an Observation,
with outcome OK and typed data, or with the reason it has none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from scanner.inventory import Host, LoadedInventory
from scanner.model import Observation, Outcome, utcnow


@dataclass(frozen=True)
class ScanOptions:
    accept_new_host_keys: bool = False
    service_versions: bool | None = None  # None: as the inventory says
    udp: bool | None = None
    quiet: bool = False


@dataclass(frozen=True)
class PartialGather:
    parts: frozenset[str]
    previous: Observation


@dataclass
class ScanContext:
    loaded: LoadedInventory
    options: ScanOptions
    stop: threading.Event = field(default_factory=threading.Event)
    addresses: dict[str, str] = field(default_factory=dict)  # host name -> IP, resolved once at planning
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # env name -> value (connect.take_secrets)
    # For collectors that gather by parts (`gathers_parts = True`, a part is a host probe):
    # collector -> the parts the selected checks read, the only ones gathered (absent: all);
    parts: dict[str, frozenset[str]] = field(default_factory=dict)
    # and with --rescan-failed, (collector, host) -> the parts to gather again there (those the
    # checks that did not pass declare); the other parts come from the previous scan.
    partial: dict[tuple[str, str], PartialGather] = field(default_factory=dict)

    @property
    def inventory(self):
        return self.loaded.inventory

    def address(self, host: Host) -> str:
        return self.addresses.get(host.name, host.address)


Sink = Callable[[str, Observation], None]


class Collector(Protocol):
    name: str

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        """Whether this collector has anything to gather on the host (else: not_collected)."""

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        """Gather facts for `hosts`, calling sink(host_name, observation) as each is ready.
        Honour ctx.stop between units of work."""


def observation(collector: str, started: datetime, outcome: Outcome = Outcome.OK, detail: str = "",
                data: dict[str, Any] | None = None) -> Observation:
    return Observation(collector=collector, outcome=outcome, detail=detail, started=started,
                       ended=utcnow(), data=data or {})
