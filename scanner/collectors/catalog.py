"""The collectors the engine can plan, by name (the names checks put in `requires`)."""

from __future__ import annotations

from scanner.collectors.base import Collector
from scanner.collectors.host import HostCollector
from scanner.collectors.http import HttpCollector
from scanner.collectors.ports import PortsCollector
from scanner.collectors.sshserver import SshServerCollector
from scanner.collectors.tls import TlsCollector


def default_collectors() -> dict[str, Collector]:
    collectors: list[Collector] = [HostCollector(), PortsCollector(), SshServerCollector(), TlsCollector(), HttpCollector()]
    return {c.name: c for c in collectors}
